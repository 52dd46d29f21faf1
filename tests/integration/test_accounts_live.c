/* Accounts that change while clients are connected, and what accounts
 * count and rewrite:
 * - a reload (SIGHUP) that adds an account, removes one (its clients are
 *   disconnected) and changes another's imports and limits (an import
 *   removed stops flowing, a new one starts) while the clients of the
 *   accounts that stay keep their connections and subscriptions;
 * - an account made by a module (api->account_apply, tests/modules/
 *   mod_acct.c) that a client joins through the module's auth hook, which
 *   survives a reload;
 * - per-account message counters in the system account's STATZ reply and
 *   CONNS event (values as nats-server 2.9.10 reports them);
 * - subject mappings, literal, wildcard and weighted;
 * - an account's default_permissions.
 * The counters, mappings and default permissions also run against
 * nats-server (TERN_TEST_SERVER=nats-server). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define MODDIR TERN_TEST_MODULES_DIR

static bool is_nats(void)
{
    return !strcmp(it_server_kind(), "nats-server");
}

static bool reload(it_server *s)
{
    /* signals are handled once the server is ready */
    it_await_log_count(s, "Server is ready", 1, 5000);
    return IT_RELOAD(s, true);
}

static void write_conf(const it_server *s, const char *text)
{
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/50-accounts.yaml", s->dir);
    IT_CHECK(it_write_file(path, text), "write %s", path);
}

/* A raw client logged in, its buffer emptied; -1 when refused. */
static int login(const it_server *s, const char *user, it_buf *b)
{
    char json[256];
    snprintf(json, sizeof json, "{\"verbose\":false,\"user\":\"%s\",\"pass\":\"p\"}", user);
    int fd = it_raw_client(s->port, json, b);
    it_buf_reset(b);
    return fd;
}

/* Send text then PING; true when the PONG came. */
static bool roundtrip(int fd, it_buf *b, const char *text)
{
    it_raw_sends(fd, text);
    it_raw_sends(fd, "PING\r\n");
    return it_raw_read_until(fd, b, "PONG\r\n", 5000) == IT_FOUND;
}

/* ---- reload of account definitions ------------------------------------ */

#define B_ACCOUNT \
    "  B:\n" \
    "    users: [ { user: b, password: p } ]\n" \
    "    exports:\n" \
    "      - { stream: \"b.events.>\" }\n" \
    "      - { stream: \"b.other.>\" }\n" \
    "      - { service: b.svc }\n"

static const char before[] =
    "accounts:\n"
    "  A:\n"
    "    users: [ { user: a, password: p } ]\n"
    B_ACCOUNT
    "  C:\n"
    "    users: [ { user: c, password: p } ]\n"
    "    imports:\n"
    "      - { stream: { account: B, subject: \"b.events.>\" } }\n";

static const char after[] =
    "accounts:\n"
    B_ACCOUNT
    "  C:\n"
    "    users: [ { user: c, password: p } ]\n"
    "    imports:\n"
    "      - { stream: { account: B, subject: \"b.other.>\" } }\n"
    "      - { service: { account: B, subject: b.svc } }\n"
    "    limits: { max_subscriptions: 2 }\n"
    "  D:\n"
    "    users: [ { user: d, password: p } ]\n";

static void test_reload(void)
{
    it_server s;
    it_opts o = {.log_file = true};
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts"))
        return;
    /* In a file of its own (conf.d files deep-merge): the first reload
     * brings every account in. */
    write_conf(&s, before);
    reload(&s);
    it_buf ba = {0}, bb = {0}, bc = {0}, bd = {0};
    int a = login(&s, "a", &ba), b = login(&s, "b", &bb), c = login(&s, "c", &bc);
    int d = login(&s, "d", &bd);
    IT_CHECK(d < 0 || !roundtrip(d, &bd, ""), "D does not exist yet");
    if (d >= 0)
        close(d);
    d = -1;
    if (!IT_CHECK(a >= 0 && b >= 0 && c >= 0, "a, b and c log in"))
        goto out;
    roundtrip(b, &bb, "SUB b.> 1\r\n");
    roundtrip(c, &bc, "SUB > 1\r\n");
    it_buf_reset(&bb);
    it_buf_reset(&bc);
    roundtrip(b, &bb, "PUB b.events.1 1\r\n1\r\n");
    IT_CHECK(it_raw_read_until(c, &bc, "MSG b.events.1 1 1\r\n1\r\n", 5000) == IT_FOUND,
             "C receives B's stream before the reload");

    write_conf(&s, after);
    if (!reload(&s))
        goto out;
    int r = it_raw_read_to_close(a, &ba, 5000);
    IT_CHECK(r == IT_CLOSED && it_buf_contains(&ba, "-ERR 'Authorization Violation'\r\n"),
             "the client of the removed account is disconnected: [%.*s]", (int)ba.len, ba.data);

    it_buf_reset(&bb);
    it_buf_reset(&bc);
    IT_CHECK(roundtrip(b, &bb, "PUB b.events.2 1\r\n2\r\nPUB b.other.3 1\r\n3\r\n") &&
                 it_buf_contains(&bb, "MSG b.events.2 1 1\r\n2\r\n") &&
                 it_buf_contains(&bb, "MSG b.other.3 1 1\r\n3\r\n"),
             "B's client keeps its connection and subscription: [%.*s]", (int)bb.len, bb.data);
    r = it_raw_read_until(c, &bc, "MSG b.other.3 1 1\r\n3\r\n", 5000);
    IT_CHECK(r == IT_FOUND && !it_buf_contains(&bc, "b.events.2"),
             "C's subscription stays: the new import flows, the removed one stops: [%.*s]",
             (int)bc.len, bc.data);

    /* the new service import, across the account boundary and back */
    it_buf_reset(&bb);
    it_buf_reset(&bc);
    it_raw_sends(c, "SUB rep 2\r\nPUB b.svc rep 2\r\nhi\r\nPING\r\n");
    r = it_raw_read_until(b, &bb, "\r\nhi\r\n", 5000);
    char reply[64] = "";
    const char *p = r == IT_FOUND ? strstr(bb.data, "MSG b.svc 1 ") : NULL;
    if (p)
        sscanf(p, "MSG b.svc 1 %63s", reply);
    if (IT_CHECK(!strncmp(reply, "_R_.", 4), "B gets the request with an _R_ reply: [%.*s]",
                 (int)bb.len, bb.data)) {
        char text[128];
        snprintf(text, sizeof text, "PUB %s 2\r\nok\r\n", reply);
        roundtrip(b, &bb, text);
        IT_CHECK(it_raw_read_until(c, &bc, "MSG rep 2 2\r\nok\r\n", 5000) == IT_FOUND,
                 "C gets B's answer through the new service import: [%.*s]", (int)bc.len, bc.data);
    }
    /* the new limit: C has 2 subscriptions, a third is refused */
    it_buf_reset(&bc);
    roundtrip(c, &bc, "SUB z 3\r\n");
    IT_CHECK(it_buf_contains(&bc, "-ERR 'maximum subscriptions exceeded'"),
             "the lowered subscription limit applies to new subscriptions: [%.*s]", (int)bc.len,
             bc.data);

    d = login(&s, "d", &bd);
    IT_CHECK(d >= 0 && roundtrip(d, &bd, "SUB q 1\r\nPUB q 1\r\nx\r\n") &&
                 it_buf_contains(&bd, "MSG q 1 1\r\nx\r\n"),
             "the new account D serves its user: [%.*s]", (int)bd.len, bd.data);
    IT_CHECK(it_await_log_count(&s, "account \"A\" removed", 1, 5000) &&
                 it_await_log_count(&s, "account \"D\" added", 1, 5000) &&
                 it_log_count(&s, "account \"A\" removed") == 1 &&
                 it_log_count(&s, "account \"D\" added") == 1,
             "the log names the accounts removed and added");
out:
    if (a >= 0) close(a);
    if (b >= 0) close(b);
    if (c >= 0) close(c);
    if (d >= 0) close(d);
    it_buf_free(&ba);
    it_buf_free(&bb);
    it_buf_free(&bc);
    it_buf_free(&bd);
    it_server_stop(&s);
}

/* ---- an account made by a module --------------------------------------- */

static const char module_yaml[] =
    "accounts:\n"
    B_ACCOUNT
    "modules:\n"
    "  acct:\n"
    "    path: " MODDIR "/mod_acct.so\n"
    "    account: MODACC\n"
    "    user: modu\n"
    "    spec: '{\"imports\":[{\"stream\":{\"account\":\"B\",\"subject\":\"b.other.>\"}}],"
    "\"limits\":{\"max_subscriptions\":2}}'\n"
    "    bad_spec: '{\"imports\":[{\"stream\":{\"account\":\"B\",\"subject\":\"nope\"}}]}'\n";

static void test_module_account(void)
{
    it_server s;
    it_opts o = {.auth_yaml = module_yaml, .log_file = true};
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server with mod_acct starts"))
        return;
    it_buf bm = {0}, bb = {0};
    int m = login(&s, "modu", &bm), b = login(&s, "b", &bb);
    if (!IT_CHECK(m >= 0 && b >= 0, "modu (through the module) and b log in"))
        goto out;
    IT_CHECK(roundtrip(m, &bm, "SUB b.other.> 1\r\nSUB own 2\r\nPUB own 1\r\nx\r\n") &&
                 it_buf_contains(&bm, "MSG own 2 1\r\nx\r\n"),
             "modu's client works in the module's account");
    it_buf_reset(&bm);
    roundtrip(b, &bb, "PUB b.other.1 1\r\n1\r\n");
    IT_CHECK(it_raw_read_until(m, &bm, "MSG b.other.1 1 1\r\n1\r\n", 5000) == IT_FOUND,
             "the spec's stream import flows into the module's account");
    it_buf_reset(&bm);
    roundtrip(m, &bm, "SUB third 3\r\n");
    IT_CHECK(it_buf_contains(&bm, "-ERR 'maximum subscriptions exceeded'"),
             "the spec's limit applies: [%.*s]", (int)bm.len, bm.data);
    IT_CHECK(it_await_log_count(&s, "bad spec refused:", 1, 5000) &&
                 it_log_count(&s, "bad spec refused:") == 1 &&
                 it_await_log_count(&s, "no matching stream export", 1, 5000),
             "a spec importing a missing export is refused with the reason");
    /* the module's account outlives a reload */
    if (reload(&s)) {
        it_buf_reset(&bm);
        roundtrip(b, &bb, "PUB b.other.2 1\r\n2\r\n");
        IT_CHECK(it_raw_read_until(m, &bm, "MSG b.other.2 1 1\r\n2\r\n", 5000) == IT_FOUND,
                 "after a reload the module's account and its client are still there: [%.*s]",
                 (int)bm.len, bm.data);
    }
out:
    if (m >= 0) close(m);
    if (b >= 0) close(b);
    it_buf_free(&bm);
    it_buf_free(&bb);
    it_server_stop(&s);
}

/* ---- per-account counters ----------------------------------------------- */

static void test_counters(void)
{
    it_server s;
    it_opts o = {
        .auth_yaml = "accounts:\n"
                     "  A: { users: [ { user: a, password: p } ] }\n"
                     "  SYS: { users: [ { user: s, password: p } ] }\n"
                     "system_account: SYS\n",
        .auth_conf = "accounts {\n"
                     "  A { users: [ { user: a, password: p } ] }\n"
                     "  SYS { users: [ { user: s, password: p } ] }\n"
                     "}\n"
                     "system_account: SYS\n",
    };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts"))
        return;
    it_buf b1 = {0}, b2 = {0}, bs = {0}, b3 = {0};
    int a1 = login(&s, "a", &b1), a2 = login(&s, "a", &b2), sys = login(&s, "s", &bs), a3 = -1;
    if (!IT_CHECK(a1 >= 0 && a2 >= 0 && sys >= 0, "clients log in"))
        goto out;
    roundtrip(a1, &b1, "SUB foo 1\r\n");
    roundtrip(a2, &b2, "PUB foo 5\r\nhello\r\nPUB foo 5\r\nhello\r\nPUB bar 3\r\nabc\r\n");
    it_raw_read_until(a1, &b1, "MSG foo 1 5\r\nhello\r\nMSG foo 1 5\r\nhello\r\n", 5000);
    /* 3 messages (13 bytes) published by A's clients, 2 (10 bytes)
     * delivered to them */
    it_buf_reset(&bs);
    it_raw_sends(sys, "SUB r 1\r\nPUB $SYS.REQ.ACCOUNT.A.STATZ r 0\r\n\r\n");
    int r = it_raw_read_until(sys, &bs, "\"slow_consumers\"", 5000);
    IT_CHECK(r == IT_FOUND && it_buf_contains(&bs, "\"acc\":\"A\"") &&
                 it_buf_contains(&bs, "\"sent\":{\"msgs\":2,\"bytes\":10}") &&
                 it_buf_contains(&bs, "\"received\":{\"msgs\":3,\"bytes\":13}"),
             "STATZ carries A's counters: [%.*s]", (int)bs.len, bs.data);
    it_buf_reset(&bs);
    roundtrip(sys, &bs, "SUB $SYS.ACCOUNT.A.SERVER.CONNS 2\r\n");
    a3 = login(&s, "a", &b3);
    r = it_raw_read_until(sys, &bs, "\"slow_consumers\"", 5000);
    IT_CHECK(r == IT_FOUND && it_buf_contains(&bs, "\"conns\":3") &&
                 it_buf_contains(&bs, "\"sent\":{\"msgs\":2,\"bytes\":10}") &&
                 it_buf_contains(&bs, "\"received\":{\"msgs\":3,\"bytes\":13}"),
             "the CONNS event carries them too: [%.*s]", (int)bs.len, bs.data);
out:
    if (a1 >= 0) close(a1);
    if (a2 >= 0) close(a2);
    if (a3 >= 0) close(a3);
    if (sys >= 0) close(sys);
    it_buf_free(&b1);
    it_buf_free(&b2);
    it_buf_free(&b3);
    it_buf_free(&bs);
    it_server_stop(&s);
}

/* ---- mappings and default permissions ---------------------------------- */

#define WEIGHTED_N 1000

static void test_mappings_and_defaults(void)
{
    it_server s;
    it_opts o = {
        .auth_yaml =
            "accounts:\n"
            "  M:\n"
            "    users: [ { user: m, password: p } ]\n"
            "    mappings:\n"
            "      m.in: m.out\n"
            "      \"w.*\": [ { destination: \"w1.$1\", weight: \"30%\" },\n"
            "               { destination: \"w2.$1\", weight: \"70%\" } ]\n"
            "      \"x.*.*\": \"y.{{wildcard(2)}}.{{wildcard(1)}}\"\n"
            "  P:\n"
            "    default_permissions: { publish: { deny: [\"secret.>\"] } }\n"
            "    users:\n"
            "      - { user: p1, password: p }\n"
            "      - { user: p2, password: p, permissions: { publish: [\">\"] } }\n",
        .auth_conf =
            "accounts {\n"
            "  M {\n"
            "    users: [ { user: m, password: p } ]\n"
            "    mappings: {\n"
            "      m.in: m.out\n"
            "      \"w.*\": [ { destination: \"w1.$1\", weight: 30% },\n"
            "               { destination: \"w2.$1\", weight: 70% } ]\n"
            "      \"x.*.*\": \"y.{{wildcard(2)}}.{{wildcard(1)}}\"\n"
            "    }\n"
            "  }\n"
            "  P {\n"
            "    default_permissions: { publish: { deny: [\"secret.>\"] } }\n"
            "    users: [ { user: p1, password: p },\n"
            "             { user: p2, password: p, permissions: { publish: [\">\"] } } ]\n"
            "  }\n"
            "}\n",
    };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts"))
        return;
    it_buf bm = {0}, b1 = {0}, b2 = {0};
    int m = login(&s, "m", &bm), p1 = login(&s, "p1", &b1), p2 = login(&s, "p2", &b2);
    if (!IT_CHECK(m >= 0 && p1 >= 0 && p2 >= 0, "clients log in"))
        goto out;
    roundtrip(m, &bm, "SUB m.> 1\r\nSUB w1.* 2\r\nSUB w2.* 3\r\nSUB y.> 4\r\nSUB x.> 5\r\n");
    it_buf_reset(&bm);
    it_raw_sends(m, "PUB m.in 1\r\na\r\nPUB x.a.b 1\r\nb\r\n");
    for (int i = 0; i < WEIGHTED_N; i++)
        it_raw_sends(m, "PUB w.k 0\r\n\r\n");
    IT_CHECK(roundtrip(m, &bm, ""), "PONG after the burst");
    size_t w1 = it_buf_count(&bm, "MSG w1.k 2 0\r\n"), w2 = it_buf_count(&bm, "MSG w2.k 3 0\r\n");
    IT_CHECK(it_buf_contains(&bm, "MSG m.out 1 1\r\na\r\n") && !it_buf_contains(&bm, "MSG m.in"),
             "a literal mapping moves the message");
    IT_CHECK(it_buf_contains(&bm, "MSG y.b.a 4 1\r\nb\r\n") && !it_buf_contains(&bm, "MSG x.a.b"),
             "{{wildcard(n)}} reorders the tokens");
    IT_CHECK(w1 + w2 == WEIGHTED_N && w1 >= 240 && w1 <= 360,
             "weighted destinations split %d messages 30/70 (w1 %zu, w2 %zu)", WEIGHTED_N, w1, w2);

    roundtrip(p1, &b1, "PUB secret.x 1\r\na\r\nPUB open.x 1\r\nb\r\n");
    IT_CHECK(it_buf_contains(&b1, "-ERR 'Permissions Violation for Publish to \"secret.x\"'") &&
                 !it_buf_contains(&b1, "open.x"),
             "a user without permissions gets the account's default_permissions: [%.*s]",
             (int)b1.len, b1.data);
    roundtrip(p2, &b2, "PUB secret.x 1\r\na\r\n");
    IT_CHECK(!it_buf_contains(&b2, "-ERR"), "a user with its own permissions does not: [%.*s]",
             (int)b2.len, b2.data);
out:
    if (m >= 0) close(m);
    if (p1 >= 0) close(p1);
    if (p2 >= 0) close(p2);
    it_buf_free(&bm);
    it_buf_free(&b1);
    it_buf_free(&b2);
    it_server_stop(&s);
}

int main(void)
{
    test_counters();
    test_mappings_and_defaults();
    if (is_nats()) {
        printf("reload and modules: ternd only\n");
        return it_summary();
    }
    test_reload();
    test_module_account();
    return it_summary();
}
