/* Reload triggers and outcomes (issue 6, docs/reload.md): the
 * $SYS.REQ.SERVER.<id>.RELOAD request of the system account (nats-server
 * 2.10's subject and reply: {"server":{..}}, or with
 * "error":{"code":500,"description":why}), answered after the reload;
 * `ternd --signal reload`; a reload sent during a reload waits for it; a
 * failed reload (bad YAML, a module whose init fails, a module whose
 * validate fails) says why and changes nothing, not even what the same
 * configuration changed beside the failure; INFO's auth_required when
 * only a module authenticates; and re-validation on reload of the
 * clients a module let in (docs/reload.md "Clients on reload"). ternd
 * only. */
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MODDIR TERN_TEST_MODULES_DIR

/* The override layer: conf.d merges it over 00-server.yaml. */
static void write_layer(const it_server *s, const char *text)
{
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/20-reload.yaml", s->dir);
    IT_CHECK(it_write_file(path, text), "write %s", path);
}

static const char *const OK_LINE = "Reloaded server configuration";
static const char *const BAD_LINE = "Failed to reload server configuration";

/* The reload request; the parsed reply (NULL: none). */
static json_t *reload_request(natsConnection *sys, const char *id)
{
    char subject[128];
    snprintf(subject, sizeof subject, "$SYS.REQ.SERVER.%s.RELOAD", id);
    char *text = it_request(sys, subject, NULL, 20000);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return j;
}

static bool reply_ok(const json_t *r, const char *id)
{
    const char *sid = json_string_value(json_object_get(json_object_get(r, "server"), "id"));
    return r && sid && !strcmp(sid, id) && !json_object_get(r, "error");
}

/* The failure's description, or NULL when the reply is not a failure. */
static const char *reply_error(const json_t *r)
{
    json_t *e = json_object_get(r, "error");
    if (json_integer_value(json_object_get(e, "code")) != 500 || !json_object_get(r, "server"))
        return NULL;
    return json_string_value(json_object_get(e, "description"));
}

static const char sys_yaml[] =
    "system_account: SYS\n"
    "accounts:\n"
    "  SYS: { users: [ { user: sys, password: sys } ] }\n"
    "  APP: { users: [ { user: app, password: app } ] }\n"
    "modules:\n"
    "  state: { path: " MODDIR "/mod_state_v1.so, greeting: g1 }\n";

/* ---- the request, the signal flag, failures ------------------------------ */

static void test_request_and_failures(void)
{
    it_server s;
    it_opts o = { .log_file = true, .auth_yaml = sys_yaml };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "a server with a system account starts"))
        return;
    natsConnection *sys = it_nats_login(&s, "sys", "sys");
    natsConnection *app = it_nats_login(&s, "app", "app");
    natsConnection *g = NULL;
    if (!IT_CHECK(sys && app, "system and application clients connect"))
        goto out;
    char id[64] = "";
    natsConnection_GetConnectedServerId(sys, id, sizeof id);

    /* Success: the reply comes once the reload is over. */
    int ok0 = it_log_count(&s, OK_LINE);
    json_t *r = reload_request(sys, id);
    IT_CHECK(reply_ok(r, id), "RELOAD answers {\"server\":{..}} without an error");
    /* the log writer is asynchronous: the line may land just after the reply */
    IT_CHECK(it_await_log_count(&s, OK_LINE, ok0 + 1, 5000) && it_log_count(&s, OK_LINE) == ok0 + 1,
             "the reload that was answered is logged once");
    json_decref(r);

    /* Only the server's own subject, only from the system account. */
    natsMsg *m = NULL;
    IT_CHECK(natsConnection_RequestString(&m, sys, "$SYS.REQ.SERVER.PING.RELOAD", "", 1000) ==
                 NATS_NO_RESPONDERS,
             "PING.RELOAD has no responders (a reload is per server)");
    char subject[128];
    snprintf(subject, sizeof subject, "$SYS.REQ.SERVER.%s.RELOAD", id);
    IT_CHECK(natsConnection_RequestString(&m, app, subject, "", 1000) == NATS_NO_RESPONDERS,
             "another account cannot reach RELOAD");
    IT_CHECK(natsConnection_PublishString(sys, subject, "") == NATS_OK &&
                 natsConnection_Flush(sys) == NATS_OK,
             "a RELOAD without a reply subject is published");
    IT_CHECK(it_log_count(&s, OK_LINE) == ok0 + 1,
             "a RELOAD without a reply subject reloads nothing (as nats-server)");

    /* Failures change nothing: the module's new greeting and the new
     * max_payload that came with the failing piece stay unapplied. */
    struct { const char *name, *yaml, *why; } bad[] = {
        { "bad YAML",
          "server: { max_payload: 1000 }\nmodules:\n  state: { greeting: g2 }\n  [oops\n",
          "20-reload.yaml:5:1: " },
        { "a module whose init fails",
          "server: { max_payload: 1000 }\nmodules:\n  state: { greeting: g2 }\n"
          "  other: { path: " MODDIR "/mod_state_v2.so, fail_init: true }\n",
          "init failed" },
        { "a module whose validate fails",
          "server: { max_payload: 1000 }\nmodules:\n  state: { greeting: g2, bad_key: 1 }\n",
          "unknown key 'bad_key'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_layer(&s, bad[i].yaml);
        int fails = it_log_count(&s, BAD_LINE);
        r = reload_request(sys, id);
        const char *why = reply_error(r);
        IT_CHECK(why && strstr(why, bad[i].why), "%s: the reply says why ('%s' in '%s')",
                 bad[i].name, bad[i].why, why ? why : "(no error)");
        IT_CHECK(it_await_log_count(&s, BAD_LINE, fails + 1, 5000) &&
                     it_log_count(&s, BAD_LINE) == fails + 1,
                 "%s: the failure is logged", bad[i].name);
        json_decref(r);
        char *info = it_info_line(s.port, 5000);
        IT_CHECK(info && strstr(info, "\"max_payload\":1048576"),
                 "%s: max_payload is unchanged for new connections", bad[i].name);
        free(info);
    }
    /* The global account's client sees the module: still greeting g1,
     * its state untouched (count goes on). */
    write_layer(&s, "authorization: { users: [ { user: g, password: g } ] }\n");
    IT_CHECK(IT_RELOAD(&s, true), "a good configuration reloads after the failures");
    g = it_nats_login(&s, "g", "g");
    char *got = g ? it_request(g, "mod.state.ping", NULL, 3000) : NULL;
    IT_CHECK(got && !strcmp(got, "v1 count=1 greeting=g1"),
             "the module kept its configuration through the failures (got '%s')",
             got ? got : "(nothing)");
    free(got);
    IT_CHECK(!natsConnection_IsClosed(sys) && !natsConnection_IsClosed(app),
             "the clients stayed through the failed reloads");

    /* ternd --signal reload=<pid> */
    const char *bin = getenv("TERN_TERND");
    if (IT_CHECK(bin != NULL, "TERN_TERND is set")) {
        int before = it_log_count(&s, OK_LINE);
        char arg[64];
        snprintf(arg, sizeof arg, "reload=%d", (int)s.pid);
        char *argv[] = { (char *)bin, "--signal", arg, NULL };
        int st = it_pid_wait(it_spawn(argv, "/dev/null"), 60000);
        IT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ternd --signal %s exits 0", arg);
        IT_CHECK(it_await_log_count(&s, OK_LINE, before + 1, 15000), "ternd --signal reload reloads");
    }
out:
    natsConnection_Destroy(g);
    natsConnection_Destroy(sys);
    natsConnection_Destroy(app);
    it_server_stop(&s);
}

/* ---- a reload during a reload ----------------------------------------------- */

typedef struct req_thread {
    natsConnection *nc;
    const char     *id;
    json_t         *reply;
    int64_t         done_ms;
} req_thread;

static void *reload_thread(void *arg)
{
    req_thread *t = arg;
    t->reply = reload_request(t->nc, t->id);
    t->done_ms = it_now_ms();
    return NULL;
}

static void test_reload_waits(void)
{
    it_server s;
    it_opts o = { .log_file = true, .auth_yaml = sys_yaml };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "a server with a system account starts"))
        return;
    natsConnection *a = it_nats_login(&s, "sys", "sys"), *b = it_nats_login(&s, "sys", "sys");
    if (!IT_CHECK(a && b, "two system clients connect"))
        goto out;
    char id[64] = "";
    natsConnection_GetConnectedServerId(a, id, sizeof id);
    int ok0 = it_log_count(&s, OK_LINE);
    /* The first reload loads a module whose init holds it open 800 ms. */
    write_layer(&s, "modules:\n  slow: { path: " MODDIR "/mod_slow.so, delay: 800ms }\n");
    req_thread first = { .nc = a, .id = id };
    pthread_t th;
    pthread_create(&th, NULL, reload_thread, &first);
    IT_CHECK(it_await_log_count(&s, "slow init starts", 1, 15000), "the first reload is under way");
    /* Meanwhile: a second request and a SIGHUP. */
    it_server_signal(&s, SIGHUP);
    req_thread second = { .nc = b, .id = id };
    reload_thread(&second);
    pthread_join(th, NULL);
    IT_CHECK(reply_ok(first.reply, id) && reply_ok(second.reply, id),
             "both reloads succeed");
    /* The replies come over two connections (two workers): a few ms of
     * skew between them is not an order; not waiting would be ~800 ms. */
    IT_CHECK(second.done_ms + 100 >= first.done_ms,
             "the reload sent during the first one is answered after it (%lld + 100 >= %lld)",
             (long long)second.done_ms, (long long)first.done_ms);
    IT_CHECK(it_await_log_count(&s, OK_LINE, ok0 + 3, 15000), "three reloads done, one after the other");
    char *log = it_server_log(&s);
    const char *end = log ? strstr(log, "slow init ends") : NULL;
    const char *start = log ? strstr(log, "slow init starts") : NULL;
    const char *first_ok = start ? strstr(start, OK_LINE) : NULL;
    IT_CHECK(end && first_ok && end < first_ok && it_log_count(&s, "slow init starts") == 1,
             "no reload finished while the first one ran; the later ones kept the module");
    free(log);
    json_decref(first.reply);
    json_decref(second.reply);
out:
    natsConnection_Destroy(a);
    natsConnection_Destroy(b);
    it_server_stop(&s);
}

/* ---- module authentication: INFO and re-validation --------------------------- */

static const char vote_layer[] =
    "modules:\n"
    "  vote: { path: " MODDIR "/mod_vote.so, verdict: allow, user: alice }\n";

/* A raw client: CONNECT as user, PING/PONG done. */
static int raw_login(const it_server *s, const char *user, const char *pass)
{
    char json[200];
    if (user)
        snprintf(json, sizeof json, "{\"verbose\":false,\"user\":\"%s\",\"pass\":\"%s\"}", user,
                 pass);
    else
        snprintf(json, sizeof json, "{\"verbose\":false}");
    it_buf b = {0};
    int fd = it_raw_client(s->port, json, &b);
    bool ok = fd >= 0 && it_buf_contains(&b, "PONG") && !it_buf_contains(&b, "-ERR");
    it_buf_free(&b);
    if (!ok && fd >= 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Whether the server closed fd after 'Authorization Violation' (true), or
 * it still answers a PING (false). */
static bool closed_for_auth(int fd)
{
    it_buf b = {0};
    it_raw_sends(fd, "PING\r\n");
    int r = it_raw_read_until(fd, &b, "PONG\r\n", 3000);
    bool violation = it_buf_contains(&b, "Authorization Violation");
    if (violation)
        r = it_raw_read_to_close(fd, &b, 3000);
    it_buf_free(&b);
    return violation && r == IT_CLOSED;
}

static void test_module_auth(void)
{
    it_server s;
    it_opts o = { .log_file = true, .auth_yaml = vote_layer };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "a server with an auth module starts"))
        return;
    char *info = it_info_line(s.port, 5000);
    IT_CHECK(info && strstr(info, "\"auth_required\":true") && strstr(info, "\"nonce\":\""),
             "INFO: auth_required and a nonce when only a module authenticates (%s)",
             info ? info : "");
    free(info);

    int alice = raw_login(&s, "alice", "x");    /* let in by the module */
    int anon = raw_login(&s, NULL, NULL);        /* the module ignores: no kernel auth */
    IT_CHECK(alice >= 0 && anon >= 0, "alice (module) and an anonymous client (kernel) log in");

    /* Kernel users added: the module's client stays, the anonymous one
     * goes (its credentials no longer validate, as in nats-server). */
    write_layer(&s, "authorization: { users: [ { user: carol, password: c } ] }\n");
    IT_RELOAD(&s, true);
    natsConnection *carol = it_nats_login(&s, "carol", "c");
    IT_CHECK(carol != NULL, "carol logs in with the kernel's users");
    IT_CHECK(anon >= 0 && closed_for_auth(anon),
             "the anonymous client is disconnected once the kernel requires auth");
    IT_CHECK(alice >= 0 && !closed_for_auth(alice),
             "alice, let in by the still loaded module, stays");

    /* The module removed: its client goes; the kernel's stays. */
    write_layer(&s, "authorization: { users: [ { user: carol, password: c } ] }\n"
                    "modules:\n  vote: { enabled: false }\n");
    IT_RELOAD(&s, true);
    IT_CHECK(alice >= 0 && closed_for_auth(alice),
             "alice is disconnected once the module that let her in is unloaded");
    IT_CHECK(carol && !natsConnection_IsClosed(carol) &&
                 natsConnection_Flush(carol) == NATS_OK,
             "carol (kernel user) stays");

    /* Only the kernel's users now: INFO still requires auth, no nonce. */
    info = it_info_line(s.port, 5000);
    IT_CHECK(info && strstr(info, "\"auth_required\":true") && !strstr(info, "\"nonce\""),
             "INFO without the module: the kernel's auth_required, no nonce");
    free(info);
    /* Nothing authenticates: no auth_required. */
    write_layer(&s, "modules:\n  vote: { enabled: false }\n");
    IT_RELOAD(&s, true);
    info = it_info_line(s.port, 5000);
    IT_CHECK(info && !strstr(info, "auth_required"), "INFO without any authentication");
    free(info);
    if (alice >= 0)
        close(alice);
    if (anon >= 0)
        close(anon);
    natsConnection_Destroy(carol);
    it_server_stop(&s);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    test_request_and_failures();
    test_reload_waits();
    test_module_auth();
    return it_summary();
}
