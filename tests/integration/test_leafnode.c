/* Leaf nodes between two ternd: the hub binds the leaf to account A by
 * its leafnodes user (B stays isolated), the scenarios of
 * test_leafnode.h both ways, the hub's INFO and its refusals on the wire
 * (bad credentials, a client on the leaf port), the leaf reconnecting to
 * a restarted hub, a loop refused with nats-server's error, and a
 * remote's deny_imports / deny_exports. */
#include "test_leafnode.h"

static const char *hub_auth =
    "    authorization:\n"
    "      users:\n"
    "        - { user: leaf, password: leaf, account: A }\n"
    "        - { user: other, password: other, account: B }\n";

static void wire_checks(const ln_node *hub)
{
    /* the hub's INFO: nats-server's keys, a nonce, info_on_connect */
    char *info = it_info_line(hub->lport, 5000);
    IT_CHECK(info && strstr(info, "\"nonce\":\"") && strstr(info, "\"info_on_connect\":true") &&
                 strstr(info, "\"leafnode_urls\":[") && strstr(info, "\"auth_required\":true") &&
                 strstr(info, "\"client_id\":") && strstr(info, "} \r\n"),
             "hub INFO as nats-server's: %s", info ? info : "none");
    free(info);

    it_buf b = { 0 };
    int fd = it_raw_connect(hub->lport, 0);
    it_raw_read_until(fd, &b, "\r\n", 5000);
    it_raw_sends(fd, "CONNECT {\"user\":\"leaf\",\"pass\":\"wrong\",\"headers\":true}\r\n");
    IT_CHECK(it_raw_read_to_close(fd, &b, 5000) == IT_CLOSED &&
                 it_buf_contains(&b, "-ERR 'Authorization Violation'\r\n"),
             "a wrong password is refused and closed");
    close(fd);
    it_buf_reset(&b);

    fd = it_raw_connect(hub->lport, 0);
    it_raw_read_until(fd, &b, "\r\n", 5000);
    it_raw_sends(fd, "CONNECT {\"lang\":\"c\",\"user\":\"leaf\",\"pass\":\"leaf\"}\r\n");
    IT_CHECK(it_raw_read_to_close(fd, &b, 5000) == IT_CLOSED &&
                 it_buf_contains(&b, "-ERR 'attempted to connect to leaf node port'\r\n"),
             "a client on the leaf port is told so");
    close(fd);
    it_buf_reset(&b);

    /* a raw leaf: second INFO names the bound account, then LS+ ($LDS) */
    fd = it_raw_connect(hub->lport, 0);
    it_raw_read_until(fd, &b, "\r\n", 5000);
    it_raw_sends(fd, "CONNECT {\"user\":\"leaf\",\"pass\":\"leaf\",\"headers\":true,\"server_id\":\"NRAW\"}\r\n"
                     "LS+ raw.subject\r\nPING\r\n");
    IT_CHECK(it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND &&
                 it_buf_contains(&b, "\"connect_info\":true") &&
                 it_buf_contains(&b, "\"remote_account\":\"A\"") && it_buf_contains(&b, "LS+ $LDS."),
             "raw leaf bound to A and told the hub's $LDS: %s", b.data ? b.data : "");
    close(fd);
    it_buf_free(&b);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    ln_node hub = { 0 }, leaf = { 0 }, x = { 0 }, y = { 0 };
    natsConnection *ha = NULL, *hb = NULL, *lc = NULL;
    if (!IT_CHECK(ln_start_hub(&hub, false, hub_auth, LN_ACCOUNTS_YAML), "ternd hub starts"))
        goto out;
    wire_checks(&hub);

    char url[128];
    snprintf(url, sizeof url, "nats-leaf://leaf:leaf@127.0.0.1:%d", hub.lport);
    if (!IT_CHECK(ln_start_leaf(&leaf, false, url, NULL, NULL), "ternd leaf starts"))
        goto out;
    IT_CHECK(ln_wait_leafs(&hub, 1, LN_MS) && ln_wait_leafs(&leaf, 1, LN_MS), "the link is up on both sides");
    ha = it_nats_login(&hub.s, "a", "a");
    hb = it_nats_login(&hub.s, "b", "b");
    lc = it_nats_connect(&leaf.s);
    if (!IT_CHECK(ha && hb && lc, "clients connect"))
        goto out;
    ln_scenarios("ternd hub, ternd leaf", &hub, &leaf, ha, hb, lc);

    /* the hub goes away and comes back: the leaf reconnects */
    natsConnection_Destroy(ha);
    natsConnection_Destroy(hb);
    ha = hb = NULL;
    int hport = hub.s.port, lport = hub.lport;
    ln_stop(&hub);
    IT_CHECK(ln_wait_leafs(&leaf, 0, LN_MS), "the leaf notices the hub is gone");
    memset(&hub, 0, sizeof hub);
    hub.lport = lport;
    (void)hport;
    if (!IT_CHECK(ln_start_hub(&hub, false, hub_auth, LN_ACCOUNTS_YAML), "hub restarts on the same leaf port"))
        goto out;
    IT_CHECK(ln_wait_leafs(&leaf, 1, LN_MS), "the leaf reconnects");
    ha = it_nats_login(&hub.s, "a", "a");
    cl_count rc = { 0 };
    cl_sub(lc, "again", NULL, &rc);
    IT_CHECK(ha && cl_probe(ha, lc, LN_MS), "interest crosses the new link");
    natsConnection_PublishString(ha, "again", "x");
    natsConnection_Flush(ha);
    IT_CHECK(cl_wait_count(&rc, 1, LN_MS), "traffic flows after the reconnect");
    cl_subs_free();

    /* a loop: x and y solicit each other; nats-server's error refuses it */
    x.lport = it_free_port();
    y.lport = it_free_port();
    char xr[128], yr[128], xl[512], yl[512];
    snprintf(xr, sizeof xr, "nats-leaf://127.0.0.1:%d", y.lport);
    snprintf(yr, sizeof yr, "nats-leaf://127.0.0.1:%d", x.lport);
    snprintf(xl, sizeof xl, "    listen: \"127.0.0.1:%d\"\n    remotes: [ { url: \"%s\" } ]\n", x.lport, xr);
    snprintf(yl, sizeof yl, "    listen: \"127.0.0.1:%d\"\n    remotes: [ { url: \"%s\" } ]\n", y.lport, yr);
    IT_CHECK(ln_start(&x, false, xl, NULL) && ln_start(&y, false, yl, NULL), "loop servers start");
    bool seen = it_await_log_count(&x.s, "Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s", 1, LN_MS) ||
                it_await_log_count(&y.s, "Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s", 1, 100);
    IT_CHECK(seen, "the loop is detected with nats-server's error");
    ln_stop(&x);
    ln_stop(&y);

    /* deny_exports: not sent to the hub; deny_imports: not asked for */
    ln_node dh = { 0 }, dl = { 0 };
    natsConnection *dhc = NULL, *dlc = NULL;
    if (IT_CHECK(ln_start_hub(&dh, false, NULL, NULL), "deny hub starts")) {
        snprintf(url, sizeof url, "nats-leaf://127.0.0.1:%d", dh.lport);
        IT_CHECK(ln_start_leaf(&dl, false, url, "deny_imports: [ \"private.>\" ], deny_exports: [ \"secret.>\" ]",
                               NULL), "deny leaf starts");
        dhc = it_nats_connect(&dh.s);
        dlc = dl.up ? it_nats_connect(&dl.s) : NULL;
    }
    if (IT_CHECK(dhc && dlc, "deny clients connect")) {
        cl_count sec = { 0 }, ok = { 0 }, priv = { 0 }, f1 = { 0 }, f2 = { 0 };
        cl_sub(dhc, "secret.x", NULL, &sec);
        cl_sub(dhc, "open.x", NULL, &ok);
        cl_sub(dhc, "fence", NULL, &f1);
        cl_sub(dlc, "private.x", NULL, &priv);
        cl_sub(dlc, "fence", NULL, &f2);
        IT_CHECK(cl_probe(dlc, dhc, LN_MS) && cl_probe(dhc, dlc, LN_MS), "deny link carries interest");
        natsConnection_PublishString(dlc, "secret.x", "x");
        natsConnection_PublishString(dlc, "open.x", "x");
        IT_CHECK(ln_fenced(dlc, "none", 0, "fence", &f1, 1), "fence leaf -> hub");
        natsConnection_PublishString(dhc, "private.x", "x");
        IT_CHECK(ln_fenced(dhc, "none", 0, "fence", &f2, 2), "fence hub -> leaf");
        IT_CHECK(atomic_load(&ok.n) == 1 && atomic_load(&sec.n) == 0,
                 "deny_exports keeps secret.x on the leaf (%d), open.x crosses (%d)", atomic_load(&sec.n),
                 atomic_load(&ok.n));
        IT_CHECK(atomic_load(&priv.n) == 0, "deny_imports keeps private.x off the leaf (%d)", atomic_load(&priv.n));
        IT_CHECK(ln_leafz_wait(&dh, "private.x", false, 100), "the hub never hears of private.x");
        cl_subs_free();
    }
    natsConnection_Destroy(dhc);
    natsConnection_Destroy(dlc);
    ln_stop(&dl);
    ln_stop(&dh);

out:
    natsConnection_Destroy(ha);
    natsConnection_Destroy(hb);
    natsConnection_Destroy(lc);
    ln_stop(&x);
    ln_stop(&y);
    ln_stop(&leaf);
    ln_stop(&hub);
    return it_summary();
}
