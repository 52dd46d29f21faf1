/* modules/auth_jwt: $SYS.REQ.CLAIMS.PACK between full resolvers of a
 * cluster (modules/cluster routes).
 *  - two ternd with separate dirs: an account pushed with
 *    $SYS.REQ.CLAIMS.UPDATE to one lands in the other's dir (before any
 *    of its users asked there, so no LOOKUP did it) and its user logs in
 *    there; a third ternd started later catches up; an account pushed to
 *    the third reaches the first two;
 *  - a ternd and a nats-server 2.9 full resolver in one cluster sync
 *    both ways.
 * The JWTs come from the npm packages nats-jwt / nkeys.js (tests/js).
 * ternd only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_cluster.h"

static char fix[128];

static const char gen_js[] =
    "const J = process.argv[2], dir = process.argv[3];\n"
    "const jwt = require(J + '/node_modules/nats-jwt');\n"
    "const nk = require(J + '/node_modules/nkeys.js');\n"
    "const fs = require('fs');\n"
    "const w = (f, s) => fs.writeFileSync(dir + '/' + f, s);\n"
    "(async () => {\n"
    "  const op = nk.createOperator(), K = {}, U = {};\n"
    "  for (const n of ['SYS', 'A', 'B', 'C', 'D']) K[n] = nk.createAccount();\n"
    "  w('op.jwt', await jwt.encodeOperator('op', op, { system_account: K.SYS.getPublicKey() }));\n"
    "  const lim = { conn: -1, subs: -1, payload: -1, data: -1, imports: -1, exports: -1,\n"
    "    wildcards: true };\n"
    "  for (const n of ['SYS', 'A', 'B', 'C', 'D']) {\n"
    "    w(n + '.jwt', await jwt.encodeAccount(n, K[n], { limits: lim }, { signer: op }));\n"
    "    w(n + '.pub', K[n].getPublicKey());\n"
    "    const u = nk.createUser(), t = await jwt.encodeUser('u' + n, u, K[n], {}, {});\n"
    "    w('u' + n + '.creds', new TextDecoder().decode(jwt.fmtCreds(t, u)));\n"
    "  }\n"
    "  // an older version of A (issued an hour ago, other limits: another jti)\n"
    "  const realNow = Date.now;\n"
    "  Date.now = () => realNow() - 3600 * 1000;\n"
    "  w('A_old.jwt', await jwt.encodeAccount('A', K.A, { limits: { ...lim, conn: 5 } },\n"
    "    { signer: op }));\n"
    "  Date.now = realNow;\n"
    "})().catch((e) => { console.error(e); process.exit(1); });\n";

static char *fx(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", fix, name);
    char *s = it_read_file(p, NULL);
    for (size_t n = s ? strlen(s) : 0; n && (s[n - 1] == '\n' || s[n - 1] == '\r'); n--)
        s[n - 1] = 0;
    return s;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Put account acc's JWT (fixture file jwt_file) into resolver dir `dir`. */
static void seed(const char *dir, const char *acc, const char *jwt_file)
{
    char f[32], path[300];
    snprintf(f, sizeof f, "%s.pub", acc);
    char *pub = fx(f), *jwt = fx(jwt_file);
    snprintf(path, sizeof path, "%s/%s", fix, dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%s/%s.jwt", fix, dir, pub ? pub : "x");
    it_write_file(path, jwt ? jwt : "");
    free(jwt), free(pub);
}

/* A resolver dir holding the system account only. */
static void make_dir(const char *name)
{
    seed(name, "SYS", "SYS.jwt");
}

/* Whether dir holds the JWT of fixture file jwt_file for account acc,
 * waiting up to ms. */
static bool dir_has(const char *dir, const char *acc, const char *jwt_file, int ms)
{
    char f[32], path[300];
    snprintf(f, sizeof f, "%s.pub", acc);
    char *pub = fx(f);
    char *want = fx(jwt_file);
    snprintf(path, sizeof path, "%s/%s/%s.jwt", fix, dir, pub ? pub : "x");
    bool ok = false;
    for (int64_t end = it_now_ms() + ms; !ok;) {
        char *got = it_read_file(path, NULL);
        ok = got && want && !strcmp(got, want);
        free(got);
        if (ok || it_now_ms() >= end)
            break;
        it_poll_pause();
    }
    free(pub), free(want);
    return ok;
}

static bool dir_gets(const char *dir, const char *acc, int ms)
{
    char f[32];
    snprintf(f, sizeof f, "%s.jwt", acc);
    return dir_has(dir, acc, f, ms);
}

/* Whether the dirs keep holding the current A for ms (a merge of the
 * older A would replace it). */
static bool a_stays(const char *const *dirs, int ms)
{
    for (int64_t end = it_now_ms() + ms; it_now_ms() < end; it_poll_pause())
        for (int i = 0; dirs[i]; i++)
            if (!dir_has(dirs[i], "A", "A.jwt", 0))
                return false;
    return true;
}

static natsConnection *creds_connect(const cl_node *n, const char *user)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.creds", fix, user);
    natsConnection *nc = NULL;
    natsStatus st = NATS_ERR;
    /* cnats now and then omits the nonce signature (see test_auth_jwt.c):
     * a refusal is retried twice */
    for (int i = 0; i < 3 && st != NATS_OK; i++) {
        natsOptions *o = NULL;
        natsOptions_Create(&o);
        natsOptions_SetURL(o, n->s.url);
        natsOptions_SetAllowReconnect(o, false);
        natsOptions_SetTimeout(o, 5000);
        natsOptions_SetUserCredentialsFromFiles(o, path, NULL);
        natsConnection_Destroy(nc);
        nc = NULL;
        st = natsConnection_Connect(&nc, o);
        natsOptions_Destroy(o);
    }
    return st == NATS_OK ? nc : NULL;
}

/* CLAIMS.UPDATE of account acc through node n's system account. */
static bool push(const cl_node *n, const char *acc)
{
    natsConnection *sys = creds_connect(n, "uSYS");
    char f[32];
    snprintf(f, sizeof f, "%s.jwt", acc);
    char *jwt = fx(f);
    natsMsg *m = NULL;
    bool ok = sys && jwt &&
              natsConnection_RequestString(&m, sys, "$SYS.REQ.CLAIMS.UPDATE", jwt, 5000) ==
                  NATS_OK &&
              strstr(natsMsg_GetData(m), "jwt updated");
    natsMsg_Destroy(m);
    natsConnection_Destroy(sys);
    free(jwt);
    return ok;
}

static bool can_login(const cl_node *n, const char *user)
{
    natsConnection *nc = creds_connect(n, user);
    bool ok = nc && natsConnection_Flush(nc) == NATS_OK;
    natsConnection_Destroy(nc);
    return ok;
}

/* ternd's modules.auth_jwt section (after modules.cluster's keys), and
 * the system account named by its public key as on nats-server (the
 * account's name on the routes). */
static void tern_top(char *out, size_t cap, const char *dir)
{
    char *sys = fx("SYS.pub");
    snprintf(out, cap,
             "  auth_jwt:\n    path: %s\n    operator: %s/op.jwt\n"
             "    resolver: { type: full, dir: %s/%s, interval: 1s }\nsystem_account: %s\n",
             TERN_AUTH_JWT_SO, fix, fix, dir, sys ? sys : "");
    free(sys);
}

/* Node 2 starts with A in its dir, node 3 with an older A: only
 * CLAIMS.PACK moves those. */
static void tern_phase(void)
{
    cl_node n[3] = { 0 };
    char top[1024];
    make_dir("d1"), make_dir("d2"), make_dir("d3");
    seed("d2", "A", "A.jwt");
    seed("d3", "A", "A_old.jwt");
    tern_top(top, sizeof top, "d1");
    if (!IT_CHECK(cl_start(&n[0], "pk", NULL, false, NULL, top), "[tern] node 1 starts"))
        return;
    int seeds[] = { n[0].rport, 0 };
    tern_top(top, sizeof top, "d2");
    if (IT_CHECK(cl_start(&n[1], "pk", seeds, false, NULL, top), "[tern] node 2 starts")) {
        int64_t t0 = it_now_ms();
        /* before any user of A asked node 1: no LOOKUP brought it */
        IT_CHECK(dir_gets("d1", "A", 15000), "[tern] node 2's A reaches node 1's dir by PACK");
        printf("  (A synced in %lld ms)\n", (long long)(it_now_ms() - t0));
        IT_CHECK(can_login(&n[0], "uA"), "[tern] A's user logs in on node 1");
        IT_CHECK(push(&n[0], "B"), "[tern] CLAIMS.UPDATE stores B on node 1");
        IT_CHECK(dir_gets("d2", "B", 15000), "[tern] B reaches node 2's dir");
        IT_CHECK(can_login(&n[1], "uB"), "[tern] B's user logs in on node 2");
        IT_CHECK(!dir_gets("d2", "C", 0), "[tern] an account pushed nowhere is in no dir");

        tern_top(top, sizeof top, "d3");
        IT_CHECK(cl_start(&n[2], "pk", seeds, false, NULL, top), "[tern] node 3 starts later");
        IT_CHECK(dir_gets("d3", "B", 15000), "[tern] node 3 catches up with B");
        IT_CHECK(dir_gets("d3", "A", 15000), "[tern] node 3's older A is replaced by the newer");
        IT_CHECK(can_login(&n[2], "uB"), "[tern] B's user logs in on node 3");
        IT_CHECK(a_stays((const char *[]){ "d1", "d2", "d3", NULL }, 3000),
                 "[tern] node 3's older A replaces the newer nowhere");
    }
    for (int i = 2; i >= 0; i--)
        cl_stop(&n[i]);
}

static void nats_phase(void)
{
    cl_node t = { 0 }, g = { 0 };
    char top[1024], *sys = fx("SYS.pub");
    make_dir("dn"), make_dir("dt");
    seed("dn", "C", "C.jwt");
    seed("dt", "D", "D.jwt");
    snprintf(top, sizeof top,
             "operator: \"%s/op.jwt\"\nsystem_account: %s\n"
             "resolver: { type: full, dir: \"%s/dn\", interval: \"2s\" }\n",
             fix, sys ? sys : "", fix);
    free(sys);
    if (!IT_CHECK(cl_start(&g, "mix", NULL, true, NULL, top), "[nats] nats-server starts"))
        return;
    int seeds[] = { g.rport, 0 };
    tern_top(top, sizeof top, "dt");
    if (IT_CHECK(cl_start(&t, "mix", seeds, false, NULL, top), "[nats] ternd joins it")) {
        /* C starts in nats-server's dir, D in ternd's: only PACK moves them */
        IT_CHECK(dir_gets("dt", "C", 15000), "[nats] nats-server's C reaches ternd's dir");
        IT_CHECK(can_login(&t, "uC"), "[nats] C's user logs in on ternd");
        IT_CHECK(dir_gets("dn", "D", 15000), "[nats] ternd's D reaches nats-server's dir");
        IT_CHECK(can_login(&g, "uD"), "[nats] D's user logs in on nats-server");
        IT_CHECK(push(&t, "A"), "[nats] CLAIMS.UPDATE stores A on ternd");
        IT_CHECK(dir_gets("dn", "A", 15000), "[nats] A reaches nats-server's dir");
        IT_CHECK(push(&g, "B"), "[nats] CLAIMS.UPDATE stores B on nats-server");
        IT_CHECK(dir_gets("dt", "B", 15000), "[nats] B reaches ternd's dir");
    }
    cl_stop(&t);
    cl_stop(&g);
}

int main(void)
{
    if (strcmp(it_server_kind(), "ternd") != 0)
        return 0;   /* modules are Tern's */
    snprintf(fix, sizeof fix, "/tmp/tern-ajpack-XXXXXX");
    if (!IT_CHECK(mkdtemp(fix) != NULL, "a fixture folder"))
        return it_summary();
    char gen[256];
    snprintf(gen, sizeof gen, "%s/gen.js", fix);
    it_write_file(gen, gen_js);
    if (!IT_CHECK(sh("node %s %s %s", gen, TERN_JS_DIR, fix) == 0,
                  "nats-jwt makes the operator, accounts and users"))
        return it_summary();
    tern_phase();
    nats_phase();
    sh("rm -rf %s", fix);
    return it_summary();
}
