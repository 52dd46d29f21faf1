/* modules/auth_jwt: scoped signing keys' templates and times_location,
 * on ternd and on the reference nats-server 2.9.10 with the same JWTs
 * (memory resolver on both).
 *
 * The JWTs come from the npm packages nats-jwt / nkeys.js (tests/js),
 * made by a script this test writes and runs with node:
 *  - account "team" (tags region:eu, region:us) with user_scope signing
 *    keys whose templates use {{name()}}, {{subject()}}, {{account-name()}},
 *    {{account-subject()}}, {{tag(dept)}} x {{account-tag(region)}}
 *    (a cartesian product of two values each) in pub/sub allow/deny:
 *    each expanded subject is delivered, its neighbours get a
 *    Permissions Violation; a deny list with an unknown function or a
 *    missing tag refuses the user, an allow list that expands to nothing
 *    allows nothing; a scoped user carrying its own permissions is
 *    refused; a template's bearer_token admits a CONNECT without nonce
 *    signature; ternd refuses more than 4096 expanded subjects (nats-server
 *    2.9.10 has no cap: ternd only);
 *  - connect windows ("times") in a times_location: one window, open now
 *    in one zone and closed in another (the zones' local times come from
 *    node's own time zone data, so the test does not depend on the
 *    module's TZif reader), for a plain user and in a scope template; an
 *    unknown location or one with ".." refused, with or without times;
 *    a connection made in a window that ends soon is closed when it ends
 *    ("User Authentication Expired"). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char fix[128];

static const char gen_js[] =
    "const J = process.argv[2], dir = process.argv[3];\n"
    "const jwt = require(J + '/node_modules/nats-jwt');\n"
    "const nk = require(J + '/node_modules/nkeys.js');\n"
    "const fs = require('fs');\n"
    "const w = (f, s) => fs.writeFileSync(dir + '/' + f, s);\n"
    "const fmt = (z, d) => new Intl.DateTimeFormat('en-GB', { timeZone: z, hour: '2-digit',\n"
    "  minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(d);\n"
    "const secs = (s) => s.split(':').map(Number).reduce((a, v) => a * 60 + v, 0);\n"
    "const hms = (n) => [n / 3600 | 0, (n / 60 | 0) % 60, n % 60]\n"
    "  .map((v) => String(v).padStart(2, '0')).join(':');\n"
    "(async () => {\n"
    /* zones without daylight saving time nowadays, hours apart */
    "  const zones = ['Asia/Tokyo', 'America/Sao_Paulo', 'Asia/Kolkata', 'Pacific/Honolulu',\n"
    "    'Europe/Moscow'];\n"
    "  const local = zones.map((z) => secs(fmt(z, new Date())));\n"
    "  const i1 = local.findIndex((t) => t >= 7200 && t <= 79200);\n"
    "  const start = local[i1] - 1800, end = local[i1] + 1800;\n"
    "  const i2 = local.findIndex((t) => t < start - 1800 || t > end + 1800);\n"
    "  const win = [{ start: hms(start), end: hms(end) }], z1 = zones[i1], z2 = zones[i2];\n"
    /* windows that end soon, one per server (ternd runs first): a
     * connection made inside one ends with it */
    "  const brief = (s) => [{ start: hms(local[i1] - 60), end: hms(local[i1] + s) }];\n"
    "  w('brief_ternd_end', String(Date.now() + 12000));\n"
    "  w('brief_nats-server_end', String(Date.now() + 28000));\n"
    "  w('zones', `${hms(start)}-${hms(end)} open in ${z1}, closed in ${z2}`);\n"
    "  const op = nk.createOperator(), SYS = nk.createAccount(), T = nk.createAccount();\n"
    "  const sk = {};\n"
    "  for (const n of ['A', 'Bad', 'Miss', 'Empty', 'Limit', 'TzOpen', 'TzShut', 'Bear'])\n"
    "    sk[n] = nk.createAccount();\n"
    "  const scope = (n, template) => ({ kind: 'user_scope', key: sk[n].getPublicKey(),\n"
    "    role: n, template });\n"
    "  w('op.jwt', await jwt.encodeOperator('op', op, { system_account: SYS.getPublicKey() }));\n"
    "  const lim = { conn: -1, subs: -1, payload: -1, data: -1, imports: -1, exports: -1,\n"
    "    wildcards: true };\n"
    "  w('SYS.jwt', await jwt.encodeAccount('SYS', SYS, { limits: lim }, { signer: op }));\n"
    "  w('T.jwt', await jwt.encodeAccount('team', T, { limits: lim,\n"
    "    tags: ['region:eu', 'region:us', 'tier:gold'], signing_keys: [\n"
    "      scope('A', { pub: { allow: ['n.{{name()}}.>', 's.{{subject()}}',\n"
    "          'an.{{account-name()}}', 'as.{{Account-Subject()}}',\n"
    "          't.{{tag(Dept)}}.{{account-tag(region)}}', '_INBOX.>'],\n"
    "        deny: ['n.{{name()}}.secret'] },\n"
    "        sub: { allow: ['in.{{NAME()}}', '_INBOX.>'] }, subs: -1, data: -1, payload: -1 }),\n"
    "      scope('Bad', { pub: { deny: ['d.{{nope()}}'] } }),\n"
    "      scope('Miss', { pub: { deny: ['d.{{tag(missing)}}'] } }),\n"
    "      scope('Empty', { pub: { allow: ['x.{{tag(missing)}}'] } }),\n"
    "      scope('Limit', { pub: { allow: ['l.{{tag(a)}}.{{tag(b)}}.{{tag(c)}}'] } }),\n"
    "      scope('TzOpen', { times: win, times_location: z1 }),\n"
    "      scope('TzShut', { times: win, times_location: z2 }),\n"
    "      scope('Bear', { bearer_token: true }),\n"
    "    ] }, { signer: op }));\n"
    "  const many = [];\n"
    "  for (const t of ['a', 'b', 'c']) for (let i = 0; i < 17; i++) many.push(`${t}:${i}`);\n"
    "  const scoped = { alice: ['A', { tags: ['dept:eng', 'dept:ops', 'role:dev'] }],\n"
    "    bad: ['Bad', {}], miss: ['Miss', {}], empty: ['Empty', {}], many: ['Limit', { tags: many }],\n"
    "    pushy: ['A', { pub: { allow: ['>'] } }], tzok: ['TzOpen', {}], tzshut: ['TzShut', {}],\n"
    "    bear: ['Bear', {}] };\n"
    "  const plain = { watch: {}, open: { times: win, times_location: z1 },\n"
    "    shut: { times: win, times_location: z2 },\n"
    "    mars: { times: win, times_location: 'Mars/Olympus_Mons' },\n"
    "    marsnt: { times_location: 'Mars/Olympus_Mons' },\n"
    "    dots: { times: win, times_location: 'Europe/../Asia/Tokyo' },\n"
    "    brief_ternd: { times: brief(12), times_location: z1 },\n"
    "    'brief_nats-server': { times: brief(28), times_location: z1 } };\n"
    "  const all = Object.keys(scoped).concat(Object.keys(plain));\n"
    "  for (const n of all) {\n"
    "    const kp = nk.createUser();\n"
    "    const t = scoped[n]\n"
    "      ? await jwt.encodeUser(n, kp, T, scoped[n][1], { signer: sk[scoped[n][0]],\n"
    "        scopedUser: true })\n"
    "      : await jwt.encodeUser(n, kp, T, plain[n]);\n"
    "    w(n + '.creds', new TextDecoder().decode(jwt.fmtCreds(t, kp)));\n"
    "    w(n + '.pub', kp.getPublicKey());\n"
    "    w(n + '.jwt', t);\n"
    "  }\n"
    "  for (const [n, k] of [['SYS', SYS], ['T', T]]) w(n + '.pub', k.getPublicKey());\n"
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

/* One server under test: ternd (with its log) or nats-server. */
typedef struct target {
    const char *name;
    int         port;
    it_server   s;               /* ternd */
    pid_t       pid;             /* nats-server */
    bool        tern;
} target;

/* A connection with its async errors (Permissions Violations) counted. */
typedef struct errs {
    pthread_mutex_t mu;
    int             n;
    char            last[256];
} errs;

static void on_err(natsConnection *nc, natsSubscription *sub, natsStatus st, void *ud)
{
    (void)sub;
    errs *e = ud;
    const char *txt = NULL;
    natsConnection_GetLastError(nc, &txt);
    pthread_mutex_lock(&e->mu);
    if (st == NATS_NOT_PERMITTED) {
        e->n++;
        snprintf(e->last, sizeof e->last, "%s", txt ? txt : "");
    }
    pthread_mutex_unlock(&e->mu);
}

static natsStatus dial(const target *t, const char *user, errs *e, natsConnection **nc)
{
    char path[256], url[64];
    snprintf(path, sizeof path, "%s/%s.creds", fix, user);
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", t->port);
    natsOptions *o = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url);
    natsOptions_SetAllowReconnect(o, false);
    natsOptions_SetTimeout(o, 5000);
    natsOptions_SetUserCredentialsFromFiles(o, path, NULL);
    if (e)
        natsOptions_SetErrorHandler(o, on_err, e);
    *nc = NULL;
    natsStatus st = natsConnection_Connect(nc, o);
    natsOptions_Destroy(o);
    return st;
}

/* cnats 3.4.1 now and then sends CONNECT without the nonce signature
 * (both servers refuse it): a refused connection is retried twice. */
static natsConnection *accepted(const target *t, const char *user, errs *e)
{
    natsConnection *nc = NULL;
    natsStatus st = NATS_ERR;
    for (int i = 0; i < 3 && st != NATS_OK; i++) {
        natsConnection_Destroy(nc);
        st = dial(t, user, e, &nc);
    }
    IT_CHECK(st == NATS_OK, "[%s] %s connects (%s: %s)", t->name, user, natsStatus_GetText(st),
             nats_GetLastError(NULL));
    return st == NATS_OK ? nc : NULL;
}

/* Refused with Authorization Violation; on ternd the log gives reason. */
static void refused(const target *t, const char *user, const char *reason)
{
    char needle[200];
    snprintf(needle, sizeof needle, "refused: %s", reason);
    int before = t->tern ? it_log_count(&t->s, needle) : 0;
    bool violation = false;
    for (int i = 0; i < 3 && !violation; i++) {
        natsConnection *nc = NULL;
        natsStatus st = dial(t, user, NULL, &nc);
        const char *err = nats_GetLastError(NULL);
        violation = st != NATS_OK && err && strcasestr(err, "Authorization Violation");
        natsConnection_Destroy(nc);
        /* a missing nonce signature also gives a violation: on ternd the
         * log tells them apart */
        if (violation && t->tern && !it_await_log_count(&t->s, needle, before + 1, 2000))
            violation = false;
    }
    IT_CHECK(violation, "[%s] %s is refused with Authorization Violation%s%s", t->name, user,
             t->tern ? ", the log says " : "", t->tern ? needle : "");
}

static bool await_errs(errs *e, int n, char *last, size_t lastlen)
{
    int64_t end = it_now_ms() + 5000;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        bool ok = e->n >= n;
        snprintf(last, lastlen, "%s", e->last);
        pthread_mutex_unlock(&e->mu);
        if (ok || it_now_ms() >= end)
            return ok;
        it_poll_pause();
    }
}

/* Each forbidden subject, one at a time, gets its Permissions Violation;
 * then each allowed one reaches the watcher (the forbidden ones, sent
 * first on the same connection, never do). */
static void check_pub(const target *t, const char *user, natsConnection *nc, errs *e,
                      natsSubscription *watch, const char *const *allowed,
                      const char *const *forbidden)
{
    for (int i = 0; forbidden[i]; i++) {
        pthread_mutex_lock(&e->mu);
        int before = e->n;
        pthread_mutex_unlock(&e->mu);
        natsConnection_PublishString(nc, forbidden[i], "no");
        natsConnection_Flush(nc);
        char last[256], want[200];
        bool got = await_errs(e, before + 1, last, sizeof last);
        snprintf(want, sizeof want, "Publish to \"%s\"", forbidden[i]);
        IT_CHECK(got && strcasestr(last, "Permissions Violation") && strstr(last, want),
                 "[%s] %s: publishing %s is a Permissions Violation (%s)", t->name, user,
                 forbidden[i], last);
    }
    for (int i = 0; allowed[i]; i++)
        natsConnection_PublishString(nc, allowed[i], "yes");
    natsConnection_Flush(nc);
    for (int i = 0; allowed[i]; i++) {
        natsMsg *m = NULL;
        natsStatus st = natsSubscription_NextMsg(&m, watch, 5000);
        const char *subj = st == NATS_OK ? natsMsg_GetSubject(m) : "(nothing)";
        IT_CHECK(st == NATS_OK && !strcmp(subj, allowed[i]),
                 "[%s] %s: %s is delivered (got %s)", t->name, user, allowed[i], subj);
        natsMsg_Destroy(m);
    }
}

/* CONNECT with the user's JWT and no nonce signature: PONG, or the
 * Authorization Violation. */
static bool unsigned_accepted(const target *t, const char *user)
{
    char f[64];
    snprintf(f, sizeof f, "%s.jwt", user);
    char *jwt = fx(f);
    int fd = it_raw_connect(t->port, 0);
    it_buf b = { 0 };
    bool pong = false;
    if (jwt && fd >= 0 && it_raw_read_until(fd, &b, "\r\n", 5000) == IT_FOUND) {
        size_t n = strlen(jwt) + 100;
        char *line = malloc(n);
        snprintf(line, n, "CONNECT {\"verbose\":false,\"jwt\":\"%s\"}\r\nPING\r\n", jwt);
        it_raw_sends(fd, line);
        free(line);
        it_buf_reset(&b);
        it_raw_read_until(fd, &b, "\r\n", 5000);
        pong = it_buf_contains(&b, "PONG") && !it_buf_contains(&b, "-ERR");
        IT_CHECK(pong || it_buf_contains(&b, "-ERR 'Authorization Violation'"),
                 "[%s] %s without a signature: PONG or Authorization Violation", t->name, user);
    }
    if (fd >= 0)
        close(fd);
    it_buf_free(&b);
    free(jwt);
    return pong;
}

static void template_checks(target *t, natsConnection *watcher, natsSubscription *watch)
{
    char *alice_pub = fx("alice.pub"), *watch_pub = fx("watch.pub"), *tpub = fx("T.pub");
    char *sys_pub = fx("SYS.pub");
    char s_ok[80], s_no[80], as_ok[80], as_no[80];
    snprintf(s_ok, sizeof s_ok, "s.%s", alice_pub);
    snprintf(s_no, sizeof s_no, "s.%s", watch_pub);
    snprintf(as_ok, sizeof as_ok, "as.%s", tpub);
    snprintf(as_no, sizeof as_no, "as.%s", sys_pub);
    errs e = { .mu = PTHREAD_MUTEX_INITIALIZER };
    natsConnection *alice = accepted(t, "alice", &e);
    if (alice) {
        /* name(), subject(), account-name(), account-subject(), and
         * tag(dept) x account-tag(region): 2 x 2 subjects */
        const char *const allowed[] = { "n.alice.x", s_ok, "an.team", as_ok, "t.eng.eu",
                                        "t.eng.us", "t.ops.eu", "t.ops.us", NULL };
        const char *const forbidden[] = { "n.bob.x", "n.alice.secret", s_no, "an.other", as_no,
                                          "t.hr.eu", "t.eng.asia", "t.dev.eu", NULL };
        check_pub(t, "alice", alice, &e, watch, allowed, forbidden);
        /* sub allow in.{{NAME()}}: in.alice, not in.bob */
        natsSubscription *mine = NULL, *other = NULL;
        natsConnection_SubscribeSync(&mine, alice, "in.alice");
        natsConnection_Flush(alice);
        natsConnection_PublishString(watcher, "in.alice", "hi");
        natsConnection_Flush(watcher);
        natsMsg *m = NULL;
        IT_CHECK(natsSubscription_NextMsg(&m, mine, 5000) == NATS_OK,
                 "[%s] alice may subscribe to in.alice (sub allow in.{{NAME()}})", t->name);
        natsMsg_Destroy(m);
        pthread_mutex_lock(&e.mu);
        int before = e.n;
        pthread_mutex_unlock(&e.mu);
        natsConnection_SubscribeSync(&other, alice, "in.bob");
        natsConnection_Flush(alice);
        char last[256];
        bool got = await_errs(&e, before + 1, last, sizeof last);
        IT_CHECK(got && strstr(last, "Subscription to \"in.bob\""),
                 "[%s] alice subscribing to in.bob is a Permissions Violation (%s)", t->name,
                 last);
        natsSubscription_Destroy(mine);
        natsSubscription_Destroy(other);
        natsConnection_Destroy(alice);
    }
    /* an allow list whose only subject expands to nothing: deny > */
    errs e2 = { .mu = PTHREAD_MUTEX_INITIALIZER };
    natsConnection *empty = accepted(t, "empty", &e2);
    if (empty) {
        const char *const allowed[] = { NULL };
        const char *const forbidden[] = { "x.missing", "anything", NULL };
        check_pub(t, "empty", empty, &e2, watch, allowed, forbidden);
        natsConnection_Destroy(empty);
    }
    refused(t, "bad", "User JWT generated invalid permissions");
    refused(t, "miss", "User JWT generated invalid permissions");
    refused(t, "pushy", "scoped users require no permissions or limits set");
    IT_CHECK(unsigned_accepted(t, "bear"),
             "[%s] a template's bearer_token admits its user without a signature", t->name);
    IT_CHECK(!unsigned_accepted(t, "alice"),
             "[%s] a template without bearer_token needs the signature", t->name);
    if (t->tern)   /* nats-server 2.9.10 has no cap on the expansion */
        refused(t, "many", "User JWT generated invalid permissions: scope template generates "
                           "more than 4096 subjects");
    free(alice_pub), free(watch_pub), free(tpub), free(sys_pub);
}

static void times_checks(target *t)
{
    natsConnection *nc = accepted(t, "open", NULL);
    natsConnection_Destroy(nc);
    refused(t, "shut", "outside the user's connect times");
    nc = accepted(t, "tzok", NULL);   /* the same through a scope template */
    natsConnection_Destroy(nc);
    refused(t, "tzshut", "outside the user's connect times");
    refused(t, "mars", "unknown time zone \"Mars/Olympus_Mons\"");
    refused(t, "marsnt", "unknown time zone \"Mars/Olympus_Mons\"");
    refused(t, "dots", "invalid time zone name \"Europe/../Asia/Tokyo\"");
}

static char *preload_map(const char *sep)
{
    char *sys = fx("SYS.pub"), *sysj = fx("SYS.jwt"), *tp = fx("T.pub"), *tj = fx("T.jwt");
    size_t n = strlen(sysj) + strlen(tj) + 400;
    char *out = malloc(n);
    snprintf(out, n, "{ %s%s \"%s\", %s%s \"%s\" }", sys, sep, sysj, tp, sep, tj);
    free(sys), free(sysj), free(tp), free(tj);
    return out;
}

static bool start_ternd(target *t)
{
    it_opts o = { 0 };
    /* the module comes with a reload once ternd is ready */
    if (it_server_start(&t->s, &o) != 0 || !it_await_log_count(&t->s, "Server is ready", 1, 10000))
        return false;
    char *pl = preload_map(":");
    size_t n = strlen(pl) + 1024;
    char *y = malloc(n);
    snprintf(y, n, "modules:\n  auth_jwt:\n    path: %s\n    operator: %s/op.jwt\n"
             "    resolver: { type: memory, preload: %s }\n", TERN_AUTH_JWT_SO, fix, pl);
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/10-auth_jwt.yaml", t->s.dir);
    bool ok = it_write_file(path, y) && it_server_reload(&t->s, 20000) == IT_RELOADED;
    free(pl), free(y);
    t->port = t->s.port;
    return ok;
}

static bool start_nats(target *t)
{
    t->port = it_free_port();
    char *pl = preload_map(":"), *sys = fx("SYS.pub");
    size_t n = strlen(pl) + 1024;
    char *c = malloc(n), conf[256], out[256];
    snprintf(c, n, "listen: \"127.0.0.1:%d\"\noperator: \"%s/op.jwt\"\nsystem_account: %s\n"
             "resolver: MEMORY\nresolver_preload: %s\n", t->port, fix, sys, pl);
    snprintf(conf, sizeof conf, "%s/nats.conf", fix);
    snprintf(out, sizeof out, "%s/nats.log", fix);
    bool ok = it_write_file(conf, c);
    free(pl), free(sys), free(c);
    char *argv[] = { (char *)it_nats_server_path(), "-c", conf, NULL };
    t->pid = ok ? it_spawn(argv, out) : -1;
    return t->pid > 0 && it_await_listening(t->port, t->pid, 10000);
}

static void on_closed(natsConnection *nc, void *ud)
{
    (void)nc;
    atomic_store((atomic_bool *)ud, true);
}

/* A connection made inside a window is closed when the window ends, as
 * nats-server's expiration timer does ("User Authentication Expired"). */
static natsConnection *brief_connect(const target *t, atomic_bool *closed)
{
    char path[256], url[64];
    snprintf(path, sizeof path, "%s/brief_%s.creds", fix, t->name);
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", t->port);
    natsOptions *o = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url);
    natsOptions_SetAllowReconnect(o, false);
    natsOptions_SetUserCredentialsFromFiles(o, path, NULL);
    natsOptions_SetClosedCB(o, on_closed, closed);
    natsConnection *nc = NULL;
    natsStatus st = NATS_ERR;
    for (int i = 0; i < 3 && st != NATS_OK; i++) {   /* cnats' missing signature, as above */
        natsConnection_Destroy(nc);
        nc = NULL;
        st = natsConnection_Connect(&nc, o);
    }
    natsOptions_Destroy(o);
    IT_CHECK(st == NATS_OK, "[%s] brief connects inside its window", t->name);
    return st == NATS_OK ? nc : NULL;
}

static void brief_await(const target *t, natsConnection *nc, atomic_bool *closed)
{
    char name[64];
    snprintf(name, sizeof name, "brief_%s_end", t->name);
    char *endtxt = fx(name);
    int64_t end = endtxt ? strtoll(endtxt, NULL, 10) : 0;
    free(endtxt);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t deadline = it_now_ms() + (end > now ? end - now : 0) + 5000;
    while (!atomic_load(closed) && it_now_ms() < deadline)
        nats_Sleep(50);
    const char *err = NULL;
    natsConnection_GetLastError(nc, &err);
    IT_CHECK(atomic_load(closed) && err && strstr(err, "User Authentication Expired"),
             "[%s] brief is closed when its window ends (%s)", t->name, err ? err : "no error");
}

static void run(target *t)
{
    if (!IT_CHECK(t->tern ? start_ternd(t) : start_nats(t), "%s starts in operator mode",
                  t->name))
        goto out;
    atomic_bool brief_closed = false;
    natsConnection *brief = brief_connect(t, &brief_closed);
    natsConnection *watcher = accepted(t, "watch", NULL);
    natsSubscription *watch = NULL;
    if (watcher) {
        natsConnection_SubscribeSync(&watch, watcher, ">");
        natsConnection_Flush(watcher);
        template_checks(t, watcher, watch);
    }
    times_checks(t);
    if (brief)
        brief_await(t, brief, &brief_closed);
    natsConnection_Destroy(brief);
    natsSubscription_Destroy(watch);
    natsConnection_Destroy(watcher);
out:
    if (t->tern)
        it_server_stop(&t->s);
    else if (t->pid > 0)
        it_pid_stop(t->pid);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    snprintf(fix, sizeof fix, "/tmp/tern-ajscope-XXXXXX");
    if (!IT_CHECK(mkdtemp(fix) != NULL, "a fixture folder"))
        return it_summary();
    char gen[256];
    snprintf(gen, sizeof gen, "%s/gen.js", fix);
    if (!IT_CHECK(it_write_file(gen, gen_js) &&
                      it_sh("node %s %s %s", gen, TERN_JS_DIR, fix) == 0,
                  "nats-jwt makes the operator, the account and its users"))
        return it_summary();
    char *zones = fx("zones");
    printf("# connect window %s\n", zones ? zones : "?");
    free(zones);
    target tern = { .name = "ternd", .tern = true };
    target ref = { .name = "nats-server" };
    run(&tern);
    run(&ref);
    it_remove_tree(fix);
    return it_summary();
}
