/* TLS on leaf node links (INFO in plain, then the TLS handshake, as
 * nats-server's leaf port): a ternd hub with leafnodes tls and a
 * nats-server leaf verifying it through its CA, then a nats-server hub
 * with TLS and a ternd leaf (remote tls { ca }); messages cross both. A
 * ternd leaf without tls toward a TLS hub is refused with a clear log. */
#include "test_leafnode.h"

static char dir[64];

static void pair(bool tern_hub)
{
    const char *tag = tern_hub ? "ternd hub, nats-server leaf" : "nats-server hub, ternd leaf";
    char hub_tls[600], leaf_tls[600];
    if (tern_hub)
        snprintf(hub_tls, sizeof hub_tls, "    tls: { cert: \"%s/c.pem\", key: \"%s/c.key\" }\n", dir, dir);
    else
        snprintf(hub_tls, sizeof hub_tls, "  tls { cert_file: \"%s/c.pem\", key_file: \"%s/c.key\" }\n", dir, dir);
    if (tern_hub)
        snprintf(leaf_tls, sizeof leaf_tls, "tls { ca_file: \"%s/ca.pem\" }", dir);
    else
        snprintf(leaf_tls, sizeof leaf_tls, "tls: { ca: \"%s/ca.pem\" }", dir);
    ln_node hub = { 0 }, leaf = { 0 };
    natsConnection *hc = NULL, *lc = NULL;
    if (!IT_CHECK(ln_start_hub(&hub, !tern_hub, hub_tls, NULL), "%s: TLS hub starts", tag))
        goto out;
    char url[128];
    snprintf(url, sizeof url, "tls://localhost:%d", hub.lport);
    if (!IT_CHECK(ln_start_leaf(&leaf, tern_hub, url, leaf_tls, NULL), "%s: TLS leaf starts", tag))
        goto out;
    IT_CHECK(ln_wait_leafs(&hub, 1, LN_MS) && ln_wait_leafs(&leaf, 1, LN_MS), "%s: TLS link up", tag);
    hc = it_nats_connect(&hub.s);
    lc = it_nats_connect(&leaf.s);
    cl_count up = { 0 }, down = { 0 };
    cl_sub(hc, "t.up", NULL, &up);
    cl_sub(lc, "t.down", NULL, &down);
    IT_CHECK(hc && lc && cl_probe(lc, hc, LN_MS) && cl_probe(hc, lc, LN_MS), "%s: interest crosses", tag);
    natsConnection_PublishString(lc, "t.up", "x");
    natsConnection_PublishString(hc, "t.down", "x");
    natsConnection_Flush(lc);
    natsConnection_Flush(hc);
    IT_CHECK(cl_wait_count(&up, 1, LN_MS) && cl_wait_count(&down, 1, LN_MS), "%s: messages cross", tag);
    cl_subs_free();
    if (!tern_hub) {
        /* a ternd leaf without tls toward this hub */
        ln_node plain = { 0 };
        snprintf(url, sizeof url, "nats-leaf://127.0.0.1:%d", hub.lport);
        if (IT_CHECK(ln_start_leaf(&plain, false, url, NULL, NULL), "plain leaf starts"))
            IT_CHECK(it_await_log_count(&plain.s, "the hub requires TLS: configure the remote's tls", 1, LN_MS),
                     "a leaf without tls says why it cannot connect");
        ln_stop(&plain);
    }
out:
    natsConnection_Destroy(hc);
    natsConnection_Destroy(lc);
    ln_stop(&leaf);
    ln_stop(&hub);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    snprintf(dir, sizeof dir, "/tmp/tern-lntls-XXXXXX");
    if (!IT_CHECK(mkdtemp(dir) != NULL, "temp dir"))
        return it_summary();
    if (IT_CHECK(it_make_cert(dir, "ca", "ca", NULL, NULL) == 0 &&
                     it_make_cert(dir, "c", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost", "ca") == 0,
                 "certificates made with openssl")) {
        pair(true);
        pair(false);
    }
    it_remove_tree(dir);
    return it_summary();
}
