/* INTEROP: leaf node links between ternd and nats-server 2.9 both ways —
 * a ternd hub with a nats-server leaf, a nats-server hub with a ternd
 * leaf — each bound on the hub to account A by its leafnodes user, with
 * the scenarios of test_leafnode.h (B on the hub must see nothing), and
 * /leafz of a ternd hub with nats-server's keys. */
#include "test_leafnode.h"

#include <jansson.h>

static const char *tern_auth =
    "    authorization:\n"
    "      users: [ { user: leaf, password: leaf, account: A } ]\n";
static const char *nats_auth =
    "  authorization { users = [ { user: leaf, password: leaf, account: A } ] }\n";

/* The keys of an object, sorted, comma-separated. */
static void keys_of(json_t *o, char *out, size_t n)
{
    const char *ks[64];
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) if (k < 64) ks[k++] = key;
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++)
            if (strcmp(ks[j], ks[i]) < 0) {
                const char *t = ks[i];
                ks[i] = ks[j];
                ks[j] = t;
            }
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k && off < n; i++)
        off += (size_t)snprintf(out + off, n - off, "%s%s", i ? "," : "", ks[i]);
}

/* The key sets of /leafz?subs=1 and of its first leaf. */
static bool leafz_keys(const ln_node *n, char *top, char *leaf, size_t len)
{
    char *d = ln_http(n, "/leafz?subs=1");
    json_t *j = d ? json_loads(d, 0, NULL) : NULL;
    free(d);
    if (!j)
        return false;
    keys_of(j, top, len);
    json_t *l0 = json_array_get(json_object_get(j, "leafs"), 0);
    if (l0)
        keys_of(l0, leaf, len);
    json_decref(j);
    return l0 != NULL;
}

static void pairing(bool tern_hub, char *top, char *leafk, size_t len)
{
    ln_node hub = { 0 }, leaf = { 0 };
    natsConnection *ha = NULL, *hb = NULL, *lc = NULL;
    const char *tag = tern_hub ? "ternd hub, nats-server leaf" : "nats-server hub, ternd leaf";
    if (!IT_CHECK(ln_start_hub(&hub, !tern_hub, tern_hub ? tern_auth : nats_auth,
                               tern_hub ? LN_ACCOUNTS_YAML : LN_ACCOUNTS_CONF),
                  "%s: hub starts", tag))
        goto out;
    char url[128];
    snprintf(url, sizeof url, "nats-leaf://leaf:leaf@127.0.0.1:%d", hub.lport);
    if (!IT_CHECK(ln_start_leaf(&leaf, tern_hub, url, NULL, NULL), "%s: leaf starts", tag))
        goto out;
    IT_CHECK(ln_wait_leafs(&hub, 1, LN_MS) && ln_wait_leafs(&leaf, 1, LN_MS), "%s: link up", tag);
    ha = it_nats_login(&hub.s, "a", "a");
    hb = it_nats_login(&hub.s, "b", "b");
    lc = it_nats_connect(&leaf.s);
    if (!IT_CHECK(ha && hb && lc, "%s: clients connect", tag))
        goto out;
    ln_scenarios(tag, &hub, &leaf, ha, hb, lc);
    IT_CHECK(leafz_keys(&hub, top, leafk, len), "%s: hub /leafz has a leaf", tag);
out:
    natsConnection_Destroy(ha);
    natsConnection_Destroy(hb);
    natsConnection_Destroy(lc);
    ln_stop(&leaf);
    ln_stop(&hub);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    char tt[512] = "", tl[512] = "", nt[512] = "", nl[512] = "";
    pairing(true, tt, tl, sizeof tt);
    pairing(false, nt, nl, sizeof nt);
    IT_CHECK(*tt && !strcmp(tt, nt), "/leafz keys: ternd {%s}, nats-server {%s}", tt, nt);
    IT_CHECK(*tl && !strcmp(tl, nl), "/leafz leaf keys: ternd {%s}, nats-server {%s}", tl, nl);
    return it_summary();
}
