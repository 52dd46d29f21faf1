/* docs/reload.md's table, row by row (issue 6): for every configuration
 * key, change it with a reload (the $SYS request) while a publisher and a
 * subscriber (cnats, logged in as a kernel user) run, check the effect
 * the table documents, then change it back. The publisher, the subscriber and the system
 * account's client must never be disconnected, and the subscriber, whose
 * interest never changes, must get every message in order. ternd only. */
#include <fcntl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define MODDIR TERN_TEST_MODULES_DIR

static it_server S;
static natsConnection *sys_nc;
static char server_id[64];
static int other_port;         /* a free port for the listen rows */

/* ---- helpers ---------------------------------------------------------------- */

static const char *const OK_LINE = "Reloaded server configuration";

/* The log file may move (the log.file row): both are searched. */
static char alt_log[256];

static int count_log(const char *needle)
{
    return it_count_in_file(S.log_path, needle) + it_count_in_file(alt_log, needle);
}

static bool await_log(const char *needle, int n)
{
    int64_t deadline = it_now_ms() + 10000;
    while (count_log(needle) < n && it_now_ms() < deadline)
        it_poll_pause();
    return count_log(needle) >= n;
}

/* The $SYS request: its reply says when the reload is over and how it
 * went (SIGHUP would need the log, which the trace row floods). */
static bool reload(void)
{
    char subject[128];
    snprintf(subject, sizeof subject, "$SYS.REQ.SERVER.%s.RELOAD", server_id);
    natsMsg *m = NULL;
    if (natsConnection_RequestString(&m, sys_nc, subject, "", 20000) != NATS_OK)
        return false;
    json_t *j = json_loads(natsMsg_GetData(m), 0, NULL);
    bool ok = j && json_object_get(j, "server") && !json_object_get(j, "error");
    if (!ok)
        printf("reload: %s\n", natsMsg_GetData(m));
    json_decref(j);
    natsMsg_Destroy(m);
    return ok;
}

/* Write the override layer; @DIR@, @PORT@ and @MODDIR@ are replaced. */
static void layer(const char *text)
{
    char out[4096], port[16];
    snprintf(port, sizeof port, "%d", other_port);
    size_t o = 0;
    for (const char *p = text; *p && o < sizeof out - 300;) {
        const char *rep = NULL;
        size_t skip = 0;
        if (!strncmp(p, "@DIR@", 5))
            rep = S.dir, skip = 5;
        else if (!strncmp(p, "@PORT@", 6))
            rep = port, skip = 6;
        else if (!strncmp(p, "@MODDIR@", 8))
            rep = MODDIR, skip = 8;
        if (rep) {
            o += (size_t)snprintf(out + o, sizeof out - o, "%s", rep);
            p += skip;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = 0;
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/20-keys.yaml", S.dir);
    it_write_file(path, out);
}

static bool info_has(int port, const char *needle)
{
    char *i = it_info_line(port, 3000);
    bool ok = i && strstr(i, needle);
    if (!ok)
        printf("INFO on %d: %s (want %s)\n", port, i ? i : "(none)", needle);
    free(i);
    return ok;
}

/* A raw client logged in as t; -1 on failure. */
static int raw_t(void)
{
    it_buf b = {0};
    int fd = it_raw_client(S.port, "{\"verbose\":false,\"user\":\"t\",\"pass\":\"t\"}", &b);
    it_buf_free(&b);
    return fd;
}

/* Send text on fd and wait for needle in what comes back. */
static bool raw_expect(int fd, const char *text, const char *needle, int ms)
{
    it_buf b = {0};
    if (text)
        it_raw_sends(fd, text);
    bool ok = fd >= 0 && it_raw_read_until(fd, &b, needle, ms) == IT_FOUND;
    it_buf_free(&b);
    return ok;
}

static json_t *varz(void)
{
    char subject[128];
    snprintf(subject, sizeof subject, "$SYS.REQ.SERVER.%s.VARZ", server_id);
    natsMsg *m = NULL;
    if (natsConnection_RequestString(&m, sys_nc, subject, "", 3000) != NATS_OK)
        return NULL;
    json_t *j = json_loads(natsMsg_GetData(m), 0, NULL);
    natsMsg_Destroy(m);
    json_t *data = json_incref(json_object_get(j, "data"));
    json_decref(j);
    return data;
}

static bool varz_int(const char *key, long long want)
{
    json_t *v = varz();
    long long got = json_integer_value(json_object_get(v, key));
    json_decref(v);
    if (got != want)
        printf("varz %s = %lld, want %lld\n", key, got, want);
    return got == want;
}

static bool answers(const char *user, const char *subject, const char *want)
{
    natsConnection *nc = it_nats_login(&S, user, user);
    char *got = nc ? it_request(nc, subject, NULL, 2000) : NULL;
    bool ok = want ? got && strstr(got, want) : got == NULL;
    if (!ok)
        printf("%s answers '%s', want '%s'\n", subject, got ? got : "(nothing)",
               want ? want : "(nothing)");
    free(got);
    natsConnection_Destroy(nc);
    return ok;
}

/* ---- the rows' checks --------------------------------------------------------- */

static int raw_a = -1, raw_b = -1;   /* connections opened before a reload */

static bool c_name(void) { return info_has(S.port, "\"server_name\":\"renamed\""); }

static bool c_moved(void)
{
    return info_has(other_port, "\"port\":") && !it_port_listening(S.port);
}

static bool c_host(void) { return info_has(S.port, "\"host\":\"localhost\""); }

static bool c_workers(void)
{
    return await_log("the number of workers changes at the next start", 1);
}

static void before_conns(void)
{
    raw_a = raw_t();
    raw_b = raw_t();
}

static void close_raws(void)
{
    if (raw_a >= 0)
        close(raw_a);
    if (raw_b >= 0)
        close(raw_b);
    raw_a = raw_b = -1;
}

static bool c_max_payload(void)
{
    char pub[5100];
    int n = snprintf(pub, sizeof pub, "PUB x 5000\r\n");
    memset(pub + n, 'x', 5000);
    memcpy(pub + n + 5000, "\r\n", 3);
    bool ok = info_has(S.port, "\"max_payload\":4096") &&
              raw_expect(raw_a, pub, "Maximum Payload Violation", 3000);
    close_raws();
    return ok;
}

static bool c_max_control_line(void)
{
    char sub[400];
    int n = snprintf(sub, sizeof sub, "SUB ");
    memset(sub + n, 'a', 300);
    memcpy(sub + n + 300, " 1\r\n", 5);
    bool ok = raw_expect(raw_a, sub, "maximum control line exceeded", 3000);
    close_raws();
    return ok;
}

/* pub, sub, sys and raw_a, raw_b: the limit 4 closes raw_b, the newest. */
static bool c_max_connections(void)
{
    bool ok = raw_expect(raw_b, NULL, "maximum connections exceeded", 3000) &&
              raw_expect(raw_a, "PING\r\n", "PONG", 3000);
    int fd = it_raw_connect(S.port, 0);
    ok &= raw_expect(fd, NULL, "maximum connections exceeded", 3000);
    if (fd >= 0)
        close(fd);
    close_raws();
    return ok;
}

static bool c_max_pending(void) { return varz_int("max_pending", 2097152); }

static bool c_ping_interval(void)
{
    int fd = raw_t();
    bool ok = varz_int("ping_interval", 200000000) && raw_expect(fd, NULL, "PING\r\n", 1500);
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool c_ping_max(void) { return varz_int("ping_max", 7); }

static bool c_write_deadline(void) { return varz_int("write_deadline", 3000000000LL); }

static bool c_auth_timeout(void)
{
    int fd = it_raw_connect(S.port, 0);
    int64_t t0 = it_now_ms();
    bool ok = raw_expect(fd, NULL, "Authentication Timeout", 3000) && it_now_ms() - t0 < 1500;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool c_disable_short_first_ping(void)
{
    int fd = raw_t();
    bool ok = fd >= 0 && !raw_expect(fd, NULL, "PING\r\n", 2700);
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool c_lame_duck(void) { return true; }   /* read when lame duck mode starts */

static bool c_headers(void) { return info_has(S.port, "\"headers\":false"); }

/* The writer thread writes the reload's line after the switch: await it
 * in the new file itself. */
static bool c_log_file(void) { return it_await_file_count(alt_log, OK_LINE, 1, 10000); }

/* debug and trace log into files of their own: the traffic traced
 * would make the main log too long to search afterwards. */
static bool level_logged(const char *file, const char *needle)
{
    int fd = raw_t();
    if (fd >= 0)
        close(fd);
    char path[300];
    snprintf(path, sizeof path, "%s/%s", S.dir, file);
    return it_wait_file_contains(path, needle, 5000);
}

static bool c_log_debug(void) { return level_logged("debug.log", "[DBG]"); }

static bool c_log_trace(void) { return level_logged("trace.log", "[TRC]"); }

static bool c_log_time(void)
{
    char needle[64];
    snprintf(needle, sizeof needle, "[%d] [INF] %s", (int)S.pid, OK_LINE);
    return await_log(needle, 1);
}

static bool c_pid_file(void)
{
    char path[300], want[32];
    snprintf(path, sizeof path, "%s/other.pid", S.dir);
    snprintf(want, sizeof want, "%d", (int)S.pid);
    return it_wait_file_contains(path, want, 3000);
}

static bool c_ports_file(void)
{
    char path[300], want[64];
    snprintf(path, sizeof path, "%s/ports/ternd_%d.ports", S.dir, (int)S.pid);
    snprintf(want, sizeof want, ":%d\"", S.port);
    return it_wait_file_contains(path, want, 3000);
}

static bool c_modules_dir(void) { return answers("t", "natsmap.conf", "port=1 remotes=0"); }

static bool c_tls(void) { return info_has(S.port, "\"tls_required\":true"); }

static bool c_users(void)
{
    natsConnection *nc = it_nats_login(&S, "u2", "u2");
    natsConnection_Destroy(nc);
    return nc != NULL;
}

static bool c_no_auth_user(void)
{
    natsConnection *nc = it_nats_connect(&S);   /* no credentials */
    bool ok = nc != NULL && info_has(S.port, "\"max_payload\"") && !info_has(S.port, "auth_required");
    natsConnection_Destroy(nc);
    return ok;
}

static bool c_accounts(void)
{
    natsConnection *nc = it_nats_login(&S, "n", "n");
    bool ok = nc != NULL;
    /* Another account: its "traffic" never reaches the subscriber (whose
     * order check would catch it). */
    if (nc) {
        natsConnection_PublishString(nc, "traffic", "from another account");
        natsConnection_Flush(nc);
    }
    natsConnection_Destroy(nc);
    return ok;
}

static bool c_system_account(void)
{
    json_t *v = varz();   /* still the old system account until restart */
    bool ok = v != NULL && await_log("system_account \"SYS2\" takes effect at the next start", 1);
    json_decref(v);
    return ok;
}

static bool c_module_add(void) { return answers("t", "mod.state.ping", "v1 count=1 greeting=hi"); }
static bool c_module_key(void) { return answers("t", "mod.state.ping", "greeting=changed"); }
static bool c_module_off(void) { return answers("t", "mod.state.ping", NULL); }
static bool c_module_path(void) { return answers("t", "mod.state.ping", "v2 "); }

static bool c_module_priority(void)
{
    it_buf b = {0};
    int fd = it_raw_connect(S.port, 0);
    bool ok = fd >= 0 && it_raw_read_until(fd, &b, "\r\n", 3000) == IT_FOUND;
    it_raw_sends(fd, "CONNECT {\"verbose\":false,\"user\":\"pv\",\"pass\":\"x\"}\r\nPING\r\n");
    ok = ok && it_raw_read_until(fd, &b, "Authorization Violation", 3000) == IT_FOUND;
    if (fd >= 0)
        close(fd);
    it_buf_free(&b);
    return ok;
}

/* ---- the table ------------------------------------------------------------------ */

static const char state_on[] = "modules:\n  state: { path: @MODDIR@/mod_state_v1.so, greeting: hi }\n";
static const char votes[] =
    "modules:\n"
    "  vote_a: { path: @MODDIR@/mod_vote.so, verdict: deny, prio: 10, user: pv, tag: a }\n"
    "  vote_b: { path: @MODDIR@/mod_vote.so, verdict: allow, prio: -10, user: pv, tag: b }\n";

typedef struct row {
    const char *key;
    const char *base;          /* applied first (NULL: none) */
    const char *change;
    void (*before)(void);      /* after base, before change */
    bool (*check)(void);
} row;

static const row rows[] = {
    { "server.name", NULL, "server: { name: renamed }\n", NULL, c_name },
    { "server.listen", NULL, "server: { listen: \"127.0.0.1:@PORT@\" }\n", NULL, c_moved },
    { "server.host", NULL, "server: { host: localhost }\n", NULL, c_host },
    { "server.port", NULL, "server: { port: @PORT@ }\n", NULL, c_moved },
    { "server.workers", NULL, "server: { workers: 1 }\n", NULL, c_workers },
    { "server.max_payload", NULL, "server: { max_payload: 4KB }\n", before_conns, c_max_payload },
    { "server.max_control_line", NULL, "server: { max_control_line: 256 }\n", before_conns,
      c_max_control_line },
    { "server.max_connections", NULL, "server: { max_connections: 4 }\n", before_conns,
      c_max_connections },
    { "server.max_pending", NULL, "server: { max_pending: 2MB }\n", NULL, c_max_pending },
    { "server.ping_interval", NULL, "server: { ping_interval: 200ms }\n", NULL, c_ping_interval },
    { "server.ping_max", NULL, "server: { ping_max: 7 }\n", NULL, c_ping_max },
    { "server.write_deadline", NULL, "server: { write_deadline: 3s }\n", NULL, c_write_deadline },
    { "server.auth_timeout", NULL, "server: { auth_timeout: 300ms }\n", NULL, c_auth_timeout },
    { "server.lame_duck_duration", NULL, "server: { lame_duck_duration: 1m }\n", NULL,
      c_lame_duck },
    { "server.lame_duck_grace_period", NULL, "server: { lame_duck_grace_period: 5s }\n", NULL,
      c_lame_duck },
    { "server.disable_short_first_ping", NULL,
      "server: { ping_interval: 3s, disable_short_first_ping: true }\n", NULL,
      c_disable_short_first_ping },
    { "server.no_header_support", NULL, "server: { no_header_support: true }\n", NULL, c_headers },
    { "server.log.file", NULL, "server: { log: { file: @DIR@/other.log } }\n", NULL, c_log_file },
    { "server.log.debug", NULL, "server: { log: { file: @DIR@/debug.log, debug: true } }\n",
      NULL, c_log_debug },
    { "server.log.trace", NULL, "server: { log: { file: @DIR@/trace.log, trace: true } }\n",
      NULL, c_log_trace },
    { "server.log.time", NULL, "server: { log: { time: false } }\n", NULL, c_log_time },
    { "server.pid_file", NULL, "server: { pid_file: @DIR@/other.pid }\n", NULL, c_pid_file },
    { "server.ports_file_dir", NULL, "server: { ports_file_dir: @DIR@/ports }\n", NULL,
      c_ports_file },
    { "server.modules_dir", NULL,
      "server: { modules_dir: @MODDIR@/natsmap }\nmodules:\n  leafnode: { port: 1 }\n", NULL,
      c_modules_dir },
    { "server.tls", NULL, "server: { tls: { cert: @DIR@/c.pem, key: @DIR@/c.key } }\n", NULL,
      c_tls },
    { "authorization", NULL,
      "authorization: { users: [ { user: t, password: t }, { user: u2, password: u2 } ] }\n",
      NULL, c_users },
    { "no_auth_user", NULL, "no_auth_user: t\n", NULL, c_no_auth_user },
    { "accounts", NULL, "accounts:\n  NEW: { users: [ { user: n, password: n } ] }\n", NULL,
      c_accounts },
    { "system_account", NULL,
      "system_account: SYS2\naccounts:\n  SYS2: { users: [ { user: s2, password: s2 } ] }\n",
      NULL, c_system_account },
    { "modules.<name>", NULL, state_on, NULL, c_module_add },
    { "modules.<name>.<key>", state_on,
      "modules:\n  state: { path: @MODDIR@/mod_state_v1.so, greeting: changed }\n", NULL,
      c_module_key },
    { "modules.<name>.enabled", state_on,
      "modules:\n  state: { path: @MODDIR@/mod_state_v1.so, enabled: false }\n", NULL,
      c_module_off },
    { "modules.<name>.path", state_on, "modules:\n  state: { path: @MODDIR@/mod_state_v2.so }\n",
      NULL, c_module_path },
    { "modules.<name>.priority", votes,
      "modules:\n"
      "  vote_a: { path: @MODDIR@/mod_vote.so, verdict: deny, prio: 10, user: pv, tag: a, "
      "priority: -20 }\n"
      "  vote_b: { path: @MODDIR@/mod_vote.so, verdict: allow, prio: -10, user: pv, tag: b }\n",
      NULL, c_module_priority },
};

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    it_opts o = {
        .log_file = true,
        .auth_yaml = "system_account: SYS\n"
                     "accounts:\n"
                     "  SYS: { users: [ { user: sys, password: sys } ] }\n"
                     "authorization: { users: [ { user: t, password: t } ] }\n",
    };
    if (!IT_CHECK(it_server_start(&S, &o) == 0, "the server starts"))
        return it_summary();
    snprintf(alt_log, sizeof alt_log, "%s/other.log", S.dir);
    char ports_dir[160];
    snprintf(ports_dir, sizeof ports_dir, "%s/ports", S.dir);
    IT_CHECK(mkdir(ports_dir, 0700) == 0 && it_make_cert(S.dir, "c", "localhost", NULL, NULL) == 0,
             "a certificate made with openssl");
    other_port = it_free_port();

    it_traffic t = { 0 };
    sys_nc = it_nats_login(&S, "sys", "sys");
    natsConnection *pub = it_nats_login(&S, "t", "t"), *sub = it_nats_login(&S, "t", "t");
    if (!IT_CHECK(sys_nc && pub && sub && it_traffic_start(&t, pub, sub),
                  "system, publisher and subscriber connect"))
        goto out;
    natsConnection_GetConnectedServerId(sys_nc, server_id, sizeof server_id);

    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const row *r = &rows[i];
        long got0 = atomic_load(&t.got);
        if (r->base) {
            layer(r->base);
            IT_CHECK(reload(), "%s: the base configuration reloads", r->key);
        }
        if (r->before)
            r->before();
        layer(r->change);
        if (IT_CHECK(reload(), "%s: the change reloads", r->key))
            IT_CHECK(r->check(), "%s: the documented effect", r->key);
        layer("");
        IT_CHECK(reload(), "%s: the change is undone", r->key);
        IT_CHECK(!natsConnection_IsClosed(t.pub) && !natsConnection_IsClosed(t.sub) &&
                     !natsConnection_IsClosed(sys_nc),
                 "%s: no client of the traffic disconnected", r->key);
        /* Messages keep flowing across the row. */
        int64_t deadline = it_now_ms() + 5000;
        while (atomic_load(&t.got) <= got0 + 10 && it_now_ms() < deadline)
            it_poll_pause();
        IT_CHECK(atomic_load(&t.got) > got0 + 10, "%s: messages flow", r->key);
    }
    IT_CHECK(it_traffic_stop(&t, 10000), "every one of %ld messages arrived, in order (%ld)",
             atomic_load(&t.sent), atomic_load(&t.got));
    printf("%zu rows, %ld messages\n", sizeof rows / sizeof *rows, atomic_load(&t.sent));
out:
    it_traffic_stop(&t, 0);
    natsConnection_Destroy(pub);
    natsConnection_Destroy(sub);
    natsConnection_Destroy(sys_nc);
    it_server_stop(&S);
    return it_summary();
}
