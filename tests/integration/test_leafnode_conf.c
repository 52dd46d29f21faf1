/* The leafnode module's configuration: `ternd -t` refuses what it does
 * not support naming the key (websocket URLs, hub: true, compression,
 * min_version, an unreadable credentials file); a nats-server file's
 * `leafnodes { }` block runs a hub (accounts and leaf users in nats-server
 * syntax); SIGHUP applies a new leaf user list on the hub (a leaf whose
 * user is gone is closed and refused) and a new remote on the leaf (it
 * moves to another hub); a hub whose clients authenticate refuses leafs
 * when no leafnode authorization is configured. ternd only. */
#include "test_leafnode.h"

#include <sys/wait.h>

static char dir[64];

static void check_t(const char *what, const char *yaml, int want, const char *text)
{
    char path[128], out[128];
    snprintf(path, sizeof path, "%s/t.yaml", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    it_write_file(path, yaml);
    char *argv[] = { (char *)it_ternd_path(), "-t", "-c", path, NULL };
    int st = it_pid_wait(it_spawn(argv, out), 30000);
    char *o = it_read_file(out, NULL);
    int code = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    IT_CHECK(code == want && o && strstr(o, text), "%s: exit %d with '%s' (got %d: %s)", what, want,
             text, code, o ? o : "");
    free(o);
}

static bool reload_with(ln_node *n, const char *yaml)
{
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/10-test.yaml", n->s.dir);
    return it_write_file(path, yaml) && it_server_reload(&n->s, 20000) == IT_RELOADED;
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    snprintf(dir, sizeof dir, "/tmp/tern-lnconf-XXXXXX");
    if (!IT_CHECK(mkdtemp(dir) != NULL, "temp dir"))
        return it_summary();

    check_t("a plain hub", "modules:\n  leafnode:\n    listen: 127.0.0.1:7422\n", 0, "is valid");
    check_t("websocket URL",
            "modules:\n  leafnode:\n    remotes: [ { url: \"ws://127.0.0.1:8080\" } ]\n", 1,
            "t.yaml:3:23: leafnode URL ws://127.0.0.1:8080: websocket leaf node connections are not supported");
    check_t("hub: true", "modules:\n  leafnode:\n    remotes:\n      - { url: \"nats-leaf://h:7422\", hub: true }\n",
            1, "remotes.hub: remotes hub: true (the hub dialing its spoke) is not supported");
    check_t("compression", "modules:\n  leafnode:\n    compression: s2_auto\n", 1,
            "t.yaml:3:18: leafnode.compression: S2 compression of leaf node links is not supported");
    check_t("min_version", "modules:\n  leafnode:\n    min_version: 2.8.0\n", 1,
            "leafnode.min_version: leafnodes min_version is not supported");
    check_t("a typo", "modules:\n  leafnode:\n    lisen: 127.0.0.1:7422\n", 1, "lisen");
    check_t("missing credentials",
            "modules:\n  leafnode:\n    remotes: [ { url: \"nats-leaf://h\", credentials: /nonexistent.creds } ]\n",
            1, "/nonexistent.creds: cannot open");

    /* ---- a hub from a nats-server file ------------------------------------- */
    char conf[1024], path[128];
    int lport = it_free_port(), cport = it_free_port();
    snprintf(path, sizeof path, "%s/hub.conf", dir);
    snprintf(conf, sizeof conf,
             "listen: 127.0.0.1:%d\n" LN_ACCOUNTS_CONF
             "leafnodes {\n  listen: \"127.0.0.1:%d\"\n"
             "  authorization { users = [ { user: leaf, password: leaf, account: A } ] }\n}\n",
             cport, lport);
    it_write_file(path, conf);
    char out[128];
    snprintf(out, sizeof out, "%s/hub.out", dir);
    char *argv[] = { (char *)it_ternd_path(), "-c", path, NULL };
    pid_t hp = it_spawn(argv, out);
    IT_CHECK(it_await_listening(lport, hp, 10000), "ternd runs a nats-server file with leafnodes { }");
    ln_node leaf = { 0 }, hub = { 0 }, hub2 = { 0 };
    natsConnection *ha = NULL, *lc = NULL;
    char url[128];
    snprintf(url, sizeof url, "nats-leaf://leaf:leaf@127.0.0.1:%d", lport);
    if (IT_CHECK(ln_start_leaf(&leaf, false, url, NULL, NULL), "leaf starts")) {
        IT_CHECK(it_nats_dial(cport, "a", "a", NULL, &ha) == NATS_OK, "a logs in");
        lc = it_nats_connect(&leaf.s);
        cl_count n = { 0 };
        cl_sub(lc, "from.hub", NULL, &n);
        IT_CHECK(ha && lc && cl_probe(ha, lc, LN_MS), "the leaf is bound to A");
        cl_subs_free();
    }
    natsConnection_Destroy(ha);
    natsConnection_Destroy(lc);
    ha = lc = NULL;
    ln_stop(&leaf);
    it_pid_stop(hp);

    /* ---- reload on the hub: the leaf user list ----------------------------- */
    const char *users = "    authorization:\n      users: [ { user: leaf, password: leaf, account: A } ]\n";
    if (!IT_CHECK(ln_start_hub(&hub, false, users, LN_ACCOUNTS_YAML), "yaml hub starts"))
        goto out;
    snprintf(url, sizeof url, "nats-leaf://leaf:leaf@127.0.0.1:%d", hub.lport);
    if (!IT_CHECK(ln_start_leaf(&leaf, false, url, NULL, NULL), "leaf starts"))
        goto out;
    IT_CHECK(ln_wait_leafs(&hub, 1, LN_MS), "link up");
    IT_CHECK(reload_with(&hub, "modules:\n  leafnode:\n    authorization:\n      users: [ { user: other, password: x, account: A } ]\n"),
             "hub reloads without the leaf's user");
    IT_CHECK(ln_wait_leafs(&hub, 0, LN_MS), "the leaf's link is closed");
    IT_CHECK(it_await_log_count(&leaf.s, "Authorization Violation", 2, LN_MS),
             "the leaf's reconnects are refused");
    IT_CHECK(reload_with(&hub, "modules:\n  leafnode:\n    authorization:\n      users: [ { user: leaf, password: leaf, account: B } ]\n"),
             "hub reloads with the user bound to B");
    IT_CHECK(ln_wait_leafs(&hub, 1, LN_MS) && ln_leafz_wait(&hub, "\"account\": \"B\"", true, LN_MS),
             "the leaf reconnects, now bound to B");

    /* ---- reload on the leaf: another hub ------------------------------------- */
    if (!IT_CHECK(ln_start_hub(&hub2, false, NULL, NULL), "second hub starts"))
        goto out;
    char y[512];
    snprintf(y, sizeof y, "modules:\n  leafnode:\n    remotes: [ { url: \"nats-leaf://127.0.0.1:%d\" } ]\n", hub2.lport);
    IT_CHECK(reload_with(&leaf, y), "leaf reloads with a new remote");
    IT_CHECK(ln_wait_leafs(&hub2, 1, LN_MS) && ln_wait_leafs(&hub, 0, LN_MS), "the leaf moved to the second hub");
    ha = it_nats_connect(&hub2.s);
    lc = it_nats_connect(&leaf.s);
    cl_count n = { 0 };
    cl_sub(lc, "moved", NULL, &n);
    IT_CHECK(ha && lc && cl_probe(ha, lc, LN_MS), "traffic over the new link");
    cl_subs_free();

    /* clients authenticate, leafs have no users: refused, not let in */
    ln_node strict = { 0 }, sl = { 0 };
    if (IT_CHECK(ln_start_hub(&strict, false, NULL, LN_ACCOUNTS_YAML), "hub with client users starts")) {
        snprintf(url, sizeof url, "nats-leaf://127.0.0.1:%d", strict.lport);
        if (IT_CHECK(ln_start_leaf(&sl, false, url, NULL, NULL), "leaf starts")) {
            IT_CHECK(it_await_log_count(&strict.s, "leafnode authorization (user/password or users) must be configured", 1, LN_MS) &&
                         it_await_log_count(&sl.s, "Authorization Violation", 1, LN_MS),
                     "the leaf is refused, the hub says why");
            IT_CHECK(ln_wait_leafs(&strict, 0, 100), "no link");
        }
    }
    ln_stop(&sl);
    ln_stop(&strict);
out:
    natsConnection_Destroy(ha);
    natsConnection_Destroy(lc);
    ln_stop(&leaf);
    ln_stop(&hub);
    ln_stop(&hub2);
    it_remove_tree(dir);
    return it_summary();
}
