/* Operator mode set up with ternctl alone, on ternd (modules/auth_jwt)
 * and on the reference nats-server 2.9:
 *  - memory resolver (`ternctl generate config`): ternctl-made .creds
 *    accepted through cnats (also a user signed by an account signing
 *    key), a revoked user refused; account B imports A's public stream,
 *    its private stream (activation token made by `add import`) and its
 *    private service (token from `generate activation`, given with
 *    --token): messages and request/reply flow across the accounts;
 *    `push` over NATS to a server without a full resolver fails;
 *  - the same keystore on nats-server (`generate config --nats`): the
 *    same users and flows; and its full resolver taking `ternctl push`;
 *  - full resolver (`generate config --resolver full`): `ternctl push`
 *    over NATS as the keystore's system user adds A, then a new account
 *    whose user can then connect; a revocation pushed live closes the
 *    connected user; `push --all --creds`;
 *  - url resolver: `ternctl push --all --url` to a small account server
 *    (python3) whose stored JWTs ternd then fetches.
 * It runs ternd and nats-server whatever TERN_TEST_SERVER says. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char ks[64];

/* ternctl with the test's keystore; its exit status (stdout into out
 * when non-NULL, else discarded; stderr to the test's). */
static int ctl_run(char **out, const char *fmt, va_list ap)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "TERNCTL_HOME=%s %s ", ks, TERN_TERNCTL);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    if (!out)
        strncat(cmd, " >/dev/null", sizeof cmd - strlen(cmd) - 1);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t cap = 1 << 16, len = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0)
        if ((len += r) + 1 >= cap)
            buf = realloc(buf, cap *= 2);
    buf[len] = 0;
    int rc = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ctl(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ctl_run(NULL, fmt, ap);
    va_end(ap);
    return rc;
}

/* ternctl's stdout (free) when it exits 0, else NULL. */
static char *ctl_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *ctl_out(const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = ctl_run(&out, fmt, ap);
    va_end(ap);
    if (rc != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static char *ks_file(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", ks, rel);
    char *s = it_read_file(p, NULL);
    if (s)
        s[strcspn(s, "\r\n")] = 0;
    return s;
}

/* An account's public key, from ternctl describe. */
static char *account_key(const char *name)
{
    char *d = ctl_out("describe %s/operators/op/accounts/%s/%s.jwt", ks, name, name);
    char *at = d ? strstr(d, "\"sub\": \"") : NULL;
    char *key = at ? strndup(at + 8, 56) : NULL;
    free(d);
    return key;
}

/* ---- servers ------------------------------------------------------------ */

static int nservers;

static bool await_listening(it_server *s)
{
    snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->port);
    if (s->pid > 0 && it_await_listening(s->port, s->pid, 15000))
        return true;
    char *log = it_server_log(s);
    fprintf(stderr, "---- %s ----\n%s\n", s->out_path, log ? log : "");
    free(log);
    return false;
}

/* ternd with conf.d/10-auth_jwt.yaml = ternctl's configuration, the
 * module's path added under modules.auth_jwt. */
static bool start_ternd(it_server *s, const char *generated)
{
    memset(s, 0, sizeof *s);
    s->port = it_free_port();
    snprintf(s->dir, sizeof s->dir, "%s/srv%d", ks, nservers++);
    char confd[256], path[300];
    snprintf(confd, sizeof confd, "%s/conf.d", s->dir);
    if (mkdir(s->dir, 0700) != 0 || mkdir(confd, 0700) != 0)
        return false;
    snprintf(s->out_path, sizeof s->out_path, "%s/out.log", s->dir);
    char server[300];
    snprintf(server, sizeof server,
             "server:\n  name: \"ternctl-%d\"\n  listen: \"127.0.0.1:%d\"\n  workers: 2\n",
             s->port, s->port);
    snprintf(path, sizeof path, "%s/00-server.yaml", confd);
    if (!it_write_file(path, server))
        return false;
    const char *at = strstr(generated, "  auth_jwt:\n");
    if (!at)
        return false;
    at += strlen("  auth_jwt:\n");
    size_t n = strlen(generated) + 512;
    char *yaml = malloc(n);
    snprintf(yaml, n, "%.*s    path: \"%s\"\n%s", (int)(at - generated), generated,
             TERN_AUTH_JWT_SO, at);
    snprintf(path, sizeof path, "%s/10-auth_jwt.yaml", confd);
    bool ok = it_write_file(path, yaml);
    free(yaml);
    if (!ok)
        return false;
    char *argv[] = { (char *)it_ternd_path(), "-c", confd, NULL };
    s->pid = it_spawn(argv, s->out_path);
    return await_listening(s);
}

static bool start_nats(it_server *s, const char *generated)
{
    memset(s, 0, sizeof *s);
    s->is_nats = true;
    s->port = it_free_port();
    snprintf(s->dir, sizeof s->dir, "%s/srv%d", ks, nservers++);
    if (mkdir(s->dir, 0700) != 0)
        return false;
    snprintf(s->out_path, sizeof s->out_path, "%s/out.log", s->dir);
    char path[300];
    snprintf(path, sizeof path, "%s/nats.conf", s->dir);
    size_t n = strlen(generated) + 128;
    char *conf = malloc(n);
    snprintf(conf, n, "listen: 127.0.0.1:%d\n%s", s->port, generated);
    bool ok = it_write_file(path, conf);
    free(conf);
    if (!ok)
        return false;
    char *argv[] = { (char *)it_nats_server_path(), "-c", path, NULL };
    s->pid = it_spawn(argv, s->out_path);
    return await_listening(s);
}

static void stop(it_server *s)
{
    it_pid_stop(s->pid);
    s->pid = 0;
}

/* ---- clients -------------------------------------------------------------- */

static natsStatus dial(const it_server *s, const char *user, natsConnection **nc)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.creds", ks, user);
    return it_nats_dial(s->port, NULL, NULL, path, nc);
}

/* cnats 3.4.1 now and then sends CONNECT without the nonce signature
 * (test_auth_jwt.c): a refused connection is retried twice first. */
static natsConnection *ok_connect(const it_server *s, const char *tag, const char *user)
{
    natsConnection *nc = NULL;
    natsStatus st = NATS_ERR;
    for (int i = 0; i < 3 && st != NATS_OK; i++)
        st = dial(s, user, &nc);
    IT_CHECK(st == NATS_OK, "[%s] %s connects with its ternctl .creds (%s: %s)", tag, user,
             natsStatus_GetText(st), st == NATS_OK ? "" : nats_GetLastError(NULL));
    return nc;
}

/* Refused with Authorization Violation; on ternd the module's log line
 * says why. */
static void refused(const it_server *s, const char *tag, const char *user, const char *reason)
{
    char needle[160];
    snprintf(needle, sizeof needle, "refused: %s", reason);
    int before = it_log_count(s, needle);
    natsConnection *nc = NULL;
    natsStatus st = dial(s, user, &nc);
    const char *err = nats_GetLastError(NULL);
    IT_CHECK(st != NATS_OK && err && strcasestr(err, "Authorization Violation"),
             "[%s] %s is refused with Authorization Violation (%s)", tag, user,
             err ? err : natsStatus_GetText(st));
    natsConnection_Destroy(nc);
    if (!s->is_nats)
        IT_CHECK(it_await_log_count(s, needle, before + 1, 5000), "[%s] %s: the log says \"%s\"",
                 tag, user, needle);
}

static bool wait_closed(natsConnection *nc)
{
    int64_t end = it_now_ms() + 5000;
    while (nc && natsConnection_Status(nc) != NATS_CONN_STATUS_CLOSED && it_now_ms() < end)
        it_poll_pause();
    return nc && natsConnection_Status(nc) == NATS_CONN_STATUS_CLOSED;
}

static void echo(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *ud)
{
    (void)sub, (void)ud;
    if (natsMsg_GetReply(m))
        natsConnection_PublishString(nc, natsMsg_GetReply(m), "pong");
    natsMsg_Destroy(m);
}

static bool stream_flows(natsConnection *from, natsConnection *to, const char *sub_subject,
                         const char *pub_subject)
{
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    bool ok = natsConnection_SubscribeSync(&sub, to, sub_subject) == NATS_OK &&
              natsConnection_Flush(to) == NATS_OK &&
              natsConnection_PublishString(from, pub_subject, "event") == NATS_OK &&
              natsConnection_Flush(from) == NATS_OK &&
              natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK &&
              !strcmp(natsMsg_GetSubject(m), pub_subject);
    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);
    return ok;
}

/* A's alice and carol, B's bsvc: the exports and imports ternctl wrote. */
static void cross_account(const char *tag, natsConnection *alice, natsConnection *carol,
                          natsConnection *bsvc)
{
    if (!alice || !carol || !bsvc)
        return;
    IT_CHECK(stream_flows(alice, bsvc, "ev.>", "ev.a"),
             "[%s] B receives A's public stream ev.> through its import", tag);
    IT_CHECK(stream_flows(alice, bsvc, "prv.x", "prv.x"),
             "[%s] B receives A's private stream prv.> (activation token made by add import)",
             tag);
    natsSubscription *svc = NULL;
    natsConnection_Subscribe(&svc, carol, "svc.echo", echo, NULL);
    natsConnection_Flush(carol);
    char *rep = it_request(bsvc, "svc.echo", "ping", 5000);
    IT_CHECK(rep && !strcmp(rep, "pong"),
             "[%s] B's request to A's private service svc.echo (token from generate "
             "activation) is answered by A's responder", tag);
    free(rep);
    natsSubscription_Destroy(svc);
}

/* ---- keystore --------------------------------------------------------------- */

static bool make_keystore(void)
{
    bool ok = true;
    ok &= IT_CHECK(ctl("init op") == 0, "ternctl init (operator, SYS and its user sys)");
    ok &= IT_CHECK(ctl("add account A") == 0 && ctl("add account B") == 0 &&
                       ctl("add account C") == 0, "ternctl add account A, B, C");
    ok &= IT_CHECK(ctl("add user alice --account A") == 0 && ctl("add user bob --account A") == 0,
                   "ternctl add user alice, bob");
    ok &= IT_CHECK(ctl("add signing-key --account A") == 0 && ctl("add user carol --account A") == 0,
                   "a user signed by A's signing key");
    ok &= IT_CHECK(ctl("add user bsvc --account B") == 0, "ternctl add user bsvc");
    ok &= IT_CHECK(ctl("add export --account A --subject 'ev.>'") == 0,
                   "ternctl add export: public stream");
    ok &= IT_CHECK(ctl("add export --account A --subject 'prv.>' --private") == 0,
                   "ternctl add export: private stream");
    ok &= IT_CHECK(ctl("add export --account A --subject svc.echo --service --private "
                       "--response-type singleton") == 0, "ternctl add export: private service");
    IT_CHECK(ctl("add export --account A --subject ev.x 2>/dev/null") != 0,
             "a stream export inside an existing one is refused");
    char *a_jwt = ctl_out("describe %s/operators/op/accounts/A/A.jwt", ks);
    IT_CHECK(a_jwt && strstr(a_jwt, "\"token_req\": true") &&
                 strstr(a_jwt, "\"response_type\": \"Singleton\"") &&
                 strstr(a_jwt, "\"type\": \"service\""),
             "A's JWT holds the exports with nats-io/jwt's fields (token_req, response_type)");
    free(a_jwt);

    ok &= IT_CHECK(ctl("add import --account B --src-account A --subject 'ev.>'") == 0,
                   "ternctl add import: public stream");
    ok &= IT_CHECK(ctl("add import --account B --src-account A --subject prv.x") == 0,
                   "ternctl add import: private stream, token generated from A's key");
    ok &= IT_CHECK(ctl("generate activation --account A --target-account B --subject svc.echo "
                       "--output %s/act.jwt", ks) == 0, "ternctl generate activation");
    char *act = ctl_out("describe %s/act.jwt", ks), *bkey = account_key("B");
    IT_CHECK(act && bkey && strstr(act, "\"type\": \"activation\"") &&
                 strstr(act, "\"kind\": \"service\"") && strstr(act, bkey),
             "the activation token is for B, kind service");
    free(act);
    IT_CHECK(ctl("add import --account C --src-account A --subject svc.echo --token %s/act.jwt "
                 "2>/dev/null", ks) != 0, "B's activation token is refused for C");
    ok &= IT_CHECK(ctl("add import --account B --src-account A --subject svc.echo --token "
                       "%s/act.jwt", ks) == 0, "ternctl add import --token: private service");
    char *b_jwt = ctl_out("describe %s/operators/op/accounts/B/B.jwt", ks);
    char *akey = account_key("A");
    IT_CHECK(b_jwt && akey && strstr(b_jwt, "\"imports\"") && strstr(b_jwt, "\"token\": \"eyJ") &&
                 strstr(b_jwt, akey), "B's JWT holds the imports from A with tokens");
    free(b_jwt), free(akey), free(bkey);

    ok &= IT_CHECK(ctl("revoke user bob --account A") == 0, "ternctl revoke user bob");
    const char *users[][2] = { { "alice", "A" }, { "bob", "A" }, { "carol", "A" },
                               { "bsvc", "B" }, { "sys", "SYS" } };
    for (int i = 0; i < 5; i++)
        ok &= IT_CHECK(ctl("generate creds %s --account %s --output %s/%s.creds", users[i][0],
                           users[i][1], ks, users[i][0]) == 0, "ternctl generate creds %s",
                       users[i][0]);
    return ok;
}

/* ---- phases --------------------------------------------------------------------- */

static void memory_phase(void)
{
    char *conf = ctl_out("generate config");
    it_server s;
    if (!IT_CHECK(conf && strstr(conf, "type: memory") && start_ternd(&s, conf),
                  "[ternd memory] ternd runs ternctl's generated configuration")) {
        free(conf);
        return;
    }
    natsConnection *alice = ok_connect(&s, "ternd memory", "alice");
    natsConnection *carol = ok_connect(&s, "ternd memory", "carol");
    natsConnection *bsvc = ok_connect(&s, "ternd memory", "bsvc");
    natsConnection *sys = ok_connect(&s, "ternd memory", "sys");
    refused(&s, "ternd memory", "bob", "user revoked");
    cross_account("ternd memory", alice, carol, bsvc);
    IT_CHECK(ctl("push --account A --server %s --timeout 1s 2>/dev/null", s.url) != 0,
             "[ternd memory] push over NATS fails without a full resolver");
    natsConnection_Destroy(alice);
    natsConnection_Destroy(carol);
    natsConnection_Destroy(bsvc);
    natsConnection_Destroy(sys);
    stop(&s);
    free(conf);
}

static void nats_phase(void)
{
    char *conf = ctl_out("generate config --nats");
    it_server s;
    if (!IT_CHECK(conf && strstr(conf, "resolver: MEMORY") && start_nats(&s, conf),
                  "[nats-server] nats-server runs ternctl's generated configuration")) {
        free(conf);
        return;
    }
    natsConnection *alice = ok_connect(&s, "nats-server", "alice");
    natsConnection *carol = ok_connect(&s, "nats-server", "carol");
    natsConnection *bsvc = ok_connect(&s, "nats-server", "bsvc");
    refused(&s, "nats-server", "bob", "user revoked");
    cross_account("nats-server", alice, carol, bsvc);
    natsConnection_Destroy(alice);
    natsConnection_Destroy(carol);
    natsConnection_Destroy(bsvc);
    stop(&s);
    free(conf);

    /* nats-server's full resolver takes ternctl's push. */
    conf = ctl_out("generate config --nats --resolver full --dir %s/natsjwt", ks);
    if (!IT_CHECK(conf && strstr(conf, "type: full") && start_nats(&s, conf),
                  "[nats-server full] nats-server runs ternctl's full-resolver configuration")) {
        free(conf);
        return;
    }
    char *out = ctl_out("push --all --server %s", s.url);
    IT_CHECK(out && strstr(out, "pushed A ") && strstr(out, "pushed B ") &&
                 strstr(out, "jwt updated"),
             "[nats-server full] ternctl push --all over NATS is taken (%s)", out ? out : "");
    free(out);
    alice = ok_connect(&s, "nats-server full", "alice");
    carol = ok_connect(&s, "nats-server full", "carol");
    bsvc = ok_connect(&s, "nats-server full", "bsvc");
    cross_account("nats-server full", alice, carol, bsvc);
    natsConnection_Destroy(alice);
    natsConnection_Destroy(carol);
    natsConnection_Destroy(bsvc);
    stop(&s);
    free(conf);
}

static void full_phase(void)
{
    char *conf = ctl_out("generate config --resolver full --dir %s/jwtstore", ks);
    it_server s;
    if (!IT_CHECK(conf && strstr(conf, "type: full") && start_ternd(&s, conf),
                  "[full] ternd runs ternctl's full-resolver configuration")) {
        free(conf);
        return;
    }
    const char *tag = "full";
    natsConnection *sys = ok_connect(&s, tag, "sys");   /* SYS is preloaded */
    refused(&s, tag, "alice", "account could not be resolved");
    char *out = ctl_out("push --account A --server %s", s.url);
    IT_CHECK(out && strstr(out, "pushed A") && strstr(out, "jwt updated"),
             "[full] ternctl push (NATS, keystore's system user) stores A (%s)", out ? out : "");
    free(out);
    char *akey = account_key("A"), path[400];
    snprintf(path, sizeof path, "%s/jwtstore/%s.jwt", ks, akey ? akey : "?");
    char *stored = it_read_file(path, NULL), *mine = ks_file("operators/op/accounts/A/A.jwt");
    IT_CHECK(stored && mine && !strcmp(stored, mine), "[full] A's JWT is in the resolver's dir");
    free(stored), free(mine), free(akey);
    natsConnection *alice = ok_connect(&s, tag, "alice");
    natsConnection *carol = ok_connect(&s, tag, "carol");

    /* A new account, pushed: its user connects. */
    bool made = ctl("add account NEW") == 0 && ctl("add user nu --account NEW") == 0 &&
                ctl("generate creds nu --account NEW --output %s/nu.creds", ks) == 0;
    IT_CHECK(made, "[full] ternctl makes account NEW and its user nu");
    refused(&s, tag, "nu", "account could not be resolved");
    out = ctl_out("push --account NEW --server %s", s.url);
    IT_CHECK(out && strstr(out, "jwt updated"), "[full] ternctl push NEW (%s)", out ? out : "");
    free(out);
    natsConnection *nu = ok_connect(&s, tag, "nu");

    /* A live revocation. */
    IT_CHECK(ctl("revoke user alice --account A") == 0, "[full] ternctl revoke user alice");
    out = ctl_out("push --account A --server %s", s.url);
    IT_CHECK(out && strstr(out, "jwt updated"), "[full] the revocation is pushed");
    free(out);
    IT_CHECK(wait_closed(alice), "[full] the connected alice is closed by the pushed revocation");
    IT_CHECK(it_await_log_count(&s, "User Authentication Revoked", 1, 5000),
             "[full] ... as revoked");
    IT_CHECK(carol && natsConnection_Status(carol) == NATS_CONN_STATUS_CONNECTED,
             "[full] carol of the same account stays connected");
    refused(&s, tag, "alice", "user revoked");

    /* push --all with explicit system-user creds. */
    out = ctl_out("push --all --server %s --creds %s/sys.creds", s.url, ks);
    const char *names[] = { "pushed SYS ", "pushed A ", "pushed B ", "pushed C ", "pushed NEW " };
    bool all = out != NULL;
    for (int i = 0; all && i < 5; i++)
        all = strstr(out, names[i]) != NULL;
    IT_CHECK(all, "[full] push --all --creds pushes every account (%s)", out ? out : "");
    free(out);
    natsConnection *bsvc = ok_connect(&s, tag, "bsvc");
    cross_account(tag, carol, carol, bsvc);   /* B's pushed imports */
    natsConnection_Destroy(alice);
    natsConnection_Destroy(carol);
    natsConnection_Destroy(nu);
    natsConnection_Destroy(bsvc);
    natsConnection_Destroy(sys);
    stop(&s);
    free(conf);
}

/* An account server: POST <prefix>/<pubkey> stores the JWT, GET answers
 * it. */
static const char acctsrv_py[] =
    "import http.server, os, sys\n"
    "d = sys.argv[1]\n"
    "P = '/jwt/v1/accounts/'\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def file(self):\n"
    "        if not self.path.startswith(P): return None\n"
    "        return os.path.join(d, os.path.basename(self.path) + '.jwt')\n"
    "    def do_POST(self):\n"
    "        f = self.file()\n"
    "        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))\n"
    "        if f is None: self.send_response(404); self.end_headers(); return\n"
    "        open(f, 'wb').write(body)\n"
    "        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()\n"
    "    def do_GET(self):\n"
    "        f = self.file()\n"
    "        if f is None or not os.path.exists(f):\n"
    "            self.send_response(404); self.end_headers(); return\n"
    "        body = open(f, 'rb').read()\n"
    "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers(); self.wfile.write(body)\n"
    "    def log_message(self, *a):\n"
    "        sys.stderr.write('%s %s\\n' % (self.command, self.path)); sys.stderr.flush()\n"
    "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
    "print(s.server_address[1], flush=True)\n"
    "s.serve_forever()\n";

static void url_phase(void)
{
    char py[256], dir[256], portf[256], logf[256], shout[256];
    snprintf(py, sizeof py, "%s/acctsrv.py", ks);
    snprintf(dir, sizeof dir, "%s/acctsrv", ks);
    snprintf(portf, sizeof portf, "%s/acctsrv.port", ks);
    snprintf(logf, sizeof logf, "%s/acctsrv.log", ks);
    snprintf(shout, sizeof shout, "%s/acctsrv.sh.out", ks);
    if (!IT_CHECK(it_write_file(py, acctsrv_py) && mkdir(dir, 0700) == 0, "[url] account server files"))
        return;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "exec python3 %s %s >%s 2>%s", py, dir, portf, logf);
    char *argv[] = { "sh", "-c", cmd, NULL };
    pid_t http = it_spawn(argv, shout);
    int port = it_read_port_file(portf, 10000);
    if (!IT_CHECK(http > 0 && port > 0, "[url] the account server runs")) {
        it_pid_stop(http);
        return;
    }
    char base[128];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/jwt/v1", port);
    char *out = ctl_out("push --all --url %s", base);
    IT_CHECK(out && strstr(out, "pushed A") && strstr(out, "pushed B"),
             "[url] ternctl push --all --url posts every account (%s)", out ? out : "");
    free(out);
    char *akey = account_key("A"), path[400];
    snprintf(path, sizeof path, "%s/%s.jwt", dir, akey ? akey : "?");
    char *stored = it_read_file(path, NULL), *mine = ks_file("operators/op/accounts/A/A.jwt");
    IT_CHECK(stored && mine && !strcmp(stored, mine), "[url] the account server holds A's JWT");
    free(stored), free(mine);

    char *conf = ctl_out("generate config --resolver url --url %s", base);
    it_server s;
    if (IT_CHECK(conf && strstr(conf, "type: url") && start_ternd(&s, conf),
                 "[url] ternd runs ternctl's url-resolver configuration")) {
        natsConnection *carol = ok_connect(&s, "url", "carol");
        char needle[200];
        snprintf(needle, sizeof needle, "GET /jwt/v1/accounts/%s", akey ? akey : "?");
        IT_CHECK(it_wait_file_contains(logf, needle, 5000),
                 "[url] ternd fetched the pushed A from the account server");
        natsConnection *bsvc = ok_connect(&s, "url", "bsvc");
        refused(&s, "url", "alice", "user revoked");
        cross_account("url", carol, carol, bsvc);
        natsConnection_Destroy(carol);
        natsConnection_Destroy(bsvc);
        stop(&s);
    }
    free(conf);
    free(akey);
    it_pid_stop(http);
}

int main(void)
{
    snprintf(ks, sizeof ks, "/tmp/tern-ternctl2-XXXXXX");
    if (!IT_CHECK(mkdtemp(ks) != NULL, "a keystore folder"))
        return it_summary();
    if (make_keystore()) {
        memory_phase();
        nats_phase();
        full_phase();
        url_phase();
    }
    if (!it_remove_tree(ks))
        fprintf(stderr, "could not remove %s\n", ks);
    return it_summary();
}
