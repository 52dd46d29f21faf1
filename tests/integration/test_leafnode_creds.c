/* A ternd leaf soliciting a nats-server 2.9 hub in operator mode with a
 * `credentials` file: the leaf sends the user JWT and signs the hub's
 * nonce with the seed; the hub binds the link to the user's account and
 * messages flow both ways with a client of that account. The operator,
 * account and users are made by ternctl (found next to ternd). A leaf
 * with another account's creds cannot reach A's clients. */
#include "test_leafnode.h"

#include <libgen.h>
#include <sys/stat.h>

static char ks[160], ctlpath[512];

/* ternctl with the test's keystore; stdout discarded unless args
 * redirect it themselves. */
static int ctl(const char *args)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "TERNCTL_HOME=%s %s %s%s", ks, ctlpath, args,
             strchr(args, '>') ? "" : " >/dev/null");
    return it_sh("%s", cmd);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", it_ternd_path());
    snprintf(ctlpath, sizeof ctlpath, "%s/ternctl", dirname(tmp));
    snprintf(ks, sizeof ks, "/tmp/tern-it-lncreds-%d", (int)getpid());
    ln_node hub = { 0 }, leaf = { 0 };
    natsConnection *ha = NULL, *lc = NULL;
    char *opconf = NULL;
    it_remove_tree(ks);
    char args[600];
    bool made = mkdir(ks, 0700) == 0 && ctl("init op") == 0 && ctl("add account A") == 0 &&
                ctl("add account B") == 0 && ctl("add user lu --account A") == 0 &&
                ctl("add user alice --account A") == 0 && ctl("add user lb --account B") == 0;
    snprintf(args, sizeof args, "generate creds lu --account A --output %s/lu.creds", ks);
    made = made && ctl(args) == 0;
    snprintf(args, sizeof args, "generate creds lb --account B --output %s/lb.creds", ks);
    made = made && ctl(args) == 0;
    snprintf(args, sizeof args, "generate creds alice --account A --output %s/alice.creds", ks);
    made = made && ctl(args) == 0;
    snprintf(args, sizeof args, "generate config --nats > %s/op.conf", ks);
    made = made && ctl(args) == 0;
    char path[300];
    snprintf(path, sizeof path, "%s/op.conf", ks);
    opconf = made ? it_read_file(path, NULL) : NULL;
    if (!IT_CHECK(opconf && strstr(opconf, "operator:"), "ternctl makes an operator, accounts and creds (%s)", ctlpath))
        goto out;
    if (!IT_CHECK(ln_start_hub(&hub, true, NULL, opconf), "nats-server hub in operator mode starts"))
        goto out;
    char url[128], rextra[400];
    snprintf(url, sizeof url, "nats-leaf://127.0.0.1:%d", hub.lport);
    snprintf(rextra, sizeof rextra, "credentials: \"%s/lu.creds\"", ks);
    if (!IT_CHECK(ln_start_leaf(&leaf, false, url, rextra, NULL), "ternd leaf with credentials starts"))
        goto out;
    IT_CHECK(ln_wait_leafs(&hub, 1, LN_MS) && ln_wait_leafs(&leaf, 1, LN_MS),
             "the hub accepts the leaf's JWT and nonce signature");
    snprintf(path, sizeof path, "%s/alice.creds", ks);
    /* cnats 3.4.1 now and then sends its CONNECT without the nonce
     * signature, which nats-server refuses: a refused dial is retried */
    natsStatus st = NATS_ERR;
    for (int i = 0; i < 3 && st != NATS_OK; i++) {
        natsConnection_Destroy(ha);
        ha = NULL;
        st = it_nats_dial(hub.s.port, NULL, NULL, path, &ha);
    }
    lc = it_nats_connect(&leaf.s);
    if (!IT_CHECK(st == NATS_OK && ha && lc, "clients connect"))
        goto out;
    cl_count up = { 0 }, down = { 0 };
    cl_sub(ha, "c.up", NULL, &up);
    cl_sub(lc, "c.down", NULL, &down);
    IT_CHECK(cl_probe(lc, ha, LN_MS) && cl_probe(ha, lc, LN_MS), "interest crosses in account A");
    natsConnection_PublishString(lc, "c.up", "x");
    natsConnection_PublishString(ha, "c.down", "x");
    natsConnection_Flush(lc);
    natsConnection_Flush(ha);
    IT_CHECK(cl_wait_count(&up, 1, LN_MS) && cl_wait_count(&down, 1, LN_MS),
             "messages flow both ways (%d up, %d down)", atomic_load(&up.n), atomic_load(&down.n));
    cl_subs_free();
    /* A's public key: the preload entry after the "# A" comment */
    char akey_buf[64] = "", *akey = NULL;
    const char *pa = strstr(opconf, "# A\n");
    if (pa && sscanf(pa + 4, " %56[A-Z0-9]", akey_buf) == 1)
        akey = akey_buf;
    char *lz = ln_http(&hub, "/leafz");
    IT_CHECK(lz && akey && strstr(lz, akey), "the hub binds the link to A (%s): %s", akey ? akey : "?",
             lz ? lz : "");
    free(lz);

    /* lu's JWT with lb's seed: the nonce signature does not verify */
    snprintf(path, sizeof path, "%s/lu.creds", ks);
    char *lu = it_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/lb.creds", ks);
    char *lb = it_read_file(path, NULL);
    char *seed = lb ? strstr(lb, "-----BEGIN USER NKEY SEED") : NULL;
    char *cut = lu ? strstr(lu, "-----BEGIN USER NKEY SEED") : NULL;
    if (IT_CHECK(seed && cut, "creds files have seed blocks")) {
        *cut = '\0';
        char mixed[8192];
        snprintf(mixed, sizeof mixed, "%s%s", lu, seed);
        snprintf(path, sizeof path, "%s/mixed.creds", ks);
        it_write_file(path, mixed);
        ln_node bad = { 0 };
        snprintf(rextra, sizeof rextra, "credentials: \"%s\"", path);
        if (IT_CHECK(ln_start_leaf(&bad, false, url, rextra, NULL), "leaf with a wrong seed starts")) {
            IT_CHECK(it_await_log_count(&bad.s, "Authorization Violation", 1, LN_MS),
                     "the hub refuses a signature by another key");
            IT_CHECK(ln_wait_leafs(&hub, 1, 200) && ln_wait_leafs(&bad, 0, 200), "no link is made");
        }
        ln_stop(&bad);
    }
    free(lu);
    free(lb);
out:
    free(opconf);
    natsConnection_Destroy(ha);
    natsConnection_Destroy(lc);
    ln_stop(&leaf);
    ln_stop(&hub);
    it_remove_tree(ks);
    return it_summary();
}
