/* Modules (issue 6) through real .so files built from the SDK alone
 * (tests/modules/): ABI mismatches refused in both directions naming
 * both versions (at start and by ternd -t); a module whose init fails
 * leaves the server up; authentication hooks ordered by priority (and
 * by the loader's priority: on reload); asynchronous authentication
 * completed from a module thread, after the client left (a no-op), and
 * never (the kernel's auth_timeout); a v1→v2 swap whose state survives;
 * configuration reload in place; unload and load; and 20 reloads while
 * a publisher and a subscriber run, with no disconnect and no message
 * lost. (ternd only.) */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tern/module.h>

#include "harness.h"

#define MODDIR TERN_TEST_MODULES_DIR
#define ABI_STR_(x) #x
#define ABI_STR(x) ABI_STR_(x)
#define TERN_ABI_TEXT ABI_STR(TERN_ABI_MAJOR) "." ABI_STR(TERN_ABI_MINOR)

static bool log_has(const it_server *s, const char *needle)
{
    return it_log_count(s, needle) > 0;
}

/* The log is written by its own thread: poll (bounded) for a line. */
static bool await_log(const it_server *s, const char *needle)
{
    return it_await_log_count(s, needle, 1, 10000);
}

/* The override layer for reloads: conf.d merges it over 00-server.yaml. */
static void write_modules(const it_server *s, const char *text)
{
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/20-modules.yaml", s->dir);
    IT_CHECK(it_write_file(path, text), "write %s", path);
}

/* Install a module file the way a package manager does (the mapped copy
 * is private anyway). */
static void install(const char *from, const char *to)
{
    IT_CHECK(it_install_file(from, to), "install %s as %s", from, to);
}

static bool request_is(natsConnection *nc, const char *subject, const char *want)
{
    char *got = it_request(nc, subject, NULL, 3000);
    bool ok = got && !strcmp(got, want);
    IT_CHECK(ok, "%s answers '%s' (got '%s')", subject, want, got ? got : "(nothing)");
    free(got);
    return ok;
}

/* Poll a module's answer until it contains needle. */
static bool await_answer(natsConnection *nc, const char *subject, const char *needle)
{
    int64_t deadline = it_now_ms() + 5000;
    char *got = NULL;
    while (it_now_ms() < deadline) {
        free(got);
        got = it_request(nc, subject, NULL, 3000);
        if (got && strstr(got, needle)) {
            free(got);
            return true;
        }
        it_poll_pause();
    }
    IT_CHECK(false, "%s reaches '%s' (last '%s')", subject, needle, got ? got : "(nothing)");
    free(got);
    return false;
}

/* ---- ABI and init failure --------------------------------------------- */

static void test_refused_modules(void)
{
    it_server s;
    it_opts o = {
        .log_file = true,
        .auth_yaml = "modules:\n"
                     "  abi_new: { path: " MODDIR "/mod_abi_new.so }\n"
                     "  abi_old: { path: " MODDIR "/mod_abi_old.so }\n"
                     "  state: { path: " MODDIR "/mod_state_v1.so, fail_init: true }\n"
                     "  off: { enabled: false, path: /nonexistent.so }\n",
    };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "a server with refused modules starts"))
        return;
    natsConnection *nc = it_nats_connect(&s);
    IT_CHECK(nc != NULL, "clients connect");
    IT_CHECK(await_log(&s, "module abi_new (" MODDIR "/mod_abi_new.so) was built for module ABI "
                         "2.0, this ternd provides ABI " TERN_ABI_TEXT),
             "a newer major is refused naming both versions");
    IT_CHECK(await_log(&s, "module abi_old (" MODDIR "/mod_abi_old.so) was built for module ABI "
                         "0.9, this ternd provides ABI " TERN_ABI_TEXT),
             "an older major is refused naming both versions");
    IT_CHECK(await_log(&s, "module state (" MODDIR "/mod_state_v1.so): init failed") &&
                 await_log(&s, "fail_init is set; continuing without it"),
             "an init failure is logged with the module's reason");
    IT_CHECK(await_log(&s, "Server is ready") && !log_has(&s, "nonexistent"),
             "enabled: false skips the module");
    natsMsg *m = NULL;
    IT_CHECK(nc && natsConnection_RequestString(&m, nc, "mod.state.ping", "", 500) != NATS_OK,
             "the failed module left nothing subscribed");
    natsMsg_Destroy(m);
    natsConnection_Destroy(nc);
    it_server_stop(&s);
}

/* ternd -t runs the loader's checks and each module's validate. */
static void test_check_mode(void)
{
    char dir[] = "/tmp/tern-modcheck-XXXXXX";
    if (!IT_CHECK(mkdtemp(dir) != NULL, "temp dir"))
        return;
    char conf[300], out[300];
    snprintf(conf, sizeof conf, "%s/t.yaml", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    const char *bin = getenv("TERN_TERND");
    struct { const char *yaml, *want; int code; } cases[] = {
        { "modules:\n  abi: { path: " MODDIR "/mod_abi_new.so }\n",
          "was built for module ABI 2.0, this ternd provides ABI " TERN_ABI_TEXT, 1 },
        { "modules:\n  state: { greting: x, path: " MODDIR "/mod_state_v1.so }\n",
          "t.yaml:2:12: unknown key 'greting'", 1 },
        { "modules:\n  state: { path: " MODDIR "/mod_state_v1.so, greeting: x }\n",
          "is valid", 0 },
    };
    for (size_t i = 0; bin && i < sizeof cases / sizeof *cases; i++) {
        IT_CHECK(it_write_file(conf, cases[i].yaml), "write %s", conf);
        char *argv[] = { (char *)bin, "-t", "-c", conf, NULL };
        int st = it_pid_wait(it_spawn(argv, out), 60000);
        char *text = it_read_file(out, NULL);
        IT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == cases[i].code && text &&
                     strstr(text, cases[i].want),
                 "ternd -t case %zu: exit %d and '%s' (got %d: %s)", i, cases[i].code,
                 cases[i].want, WEXITSTATUS(st), text ? text : "");
        free(text);
    }
    IT_CHECK(bin != NULL, "TERN_TERND is set");
    unlink(conf);
    unlink(out);
    rmdir(dir);
}

/* ---- authentication hooks ------------------------------------------------- */

static int raw_login(const it_server *s, const char *user)
{
    char json[160];
    snprintf(json, sizeof json, "{\"verbose\":false,\"user\":\"%s\",\"pass\":\"x\"}", user);
    it_buf b = {0};
    int fd = it_raw_client(s->port, json, &b);
    it_buf_free(&b);
    return fd;
}

/* Connect and send CONNECT + PING without waiting for the answer. */
static int raw_start(const it_server *s, const char *user, it_buf *b)
{
    int fd = it_raw_connect(s->port, 0);
    if (fd < 0 || it_raw_read_until(fd, b, "\r\n", 5000) != IT_FOUND) {
        IT_CHECK(false, "%s gets INFO", user);
        return -1;
    }
    char line[200];
    snprintf(line, sizeof line, "CONNECT {\"verbose\":false,\"user\":\"%s\",\"pass\":\"x\"}\r\n"
             "PING\r\n", user);
    it_raw_sends(fd, line);
    return fd;
}

static const char vote_yaml[] =
    "accounts:\n"
    "  A: {}\n"
    "modules:\n"
    "  vote_a: { path: " MODDIR "/mod_vote.so, verdict: deny, prio: 10, user: alice, tag: a }\n"
    "  vote_b: { path: " MODDIR "/mod_vote.so, verdict: allow, prio: -10, user: alice, tag: b }\n"
    "  vote_c: { path: " MODDIR "/mod_vote.so, verdict: async, user: bob, tag: c, account: A }\n"
    "  vote_d: { path: " MODDIR "/mod_vote.so, verdict: hold, user: carol, tag: d }\n";

static void test_auth_hooks(void)
{
    it_server s;
    it_opts o = { .log_file = true, .auth_yaml = vote_yaml };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "a server with auth modules starts"))
        return;
    natsConnection *admin = it_nats_connect(&s);   /* no module decides: kernel rules */
    if (!IT_CHECK(admin != NULL, "a user no module decides for is let in by the kernel"))
        goto out;

    /* Hook priorities: vote_b (-10, allow) runs before vote_a (10, deny). */
    int fd = raw_login(&s, "alice");
    IT_CHECK(fd >= 0, "alice is allowed: the lower priority hook decides first");
    if (fd >= 0)
        close(fd);
    /* The loader's priority overrides the hooks' own. */
    write_modules(&s, "modules:\n  vote_a: { priority: -20 }\n");
    IT_RELOAD(&s, true);
    it_buf b = {0};
    fd = it_raw_connect(s.port, 0);
    if (fd >= 0) {
        it_raw_read_until(fd, &b, "\r\n", 5000);
        it_raw_sends(fd, "CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"x\"}\r\nPING\r\n");
        IT_CHECK(it_raw_read_until(fd, &b, "Authorization Violation", 5000) == IT_FOUND,
                 "alice is denied once vote_a runs first (priority: -20)");
        close(fd);
    }
    it_buf_reset(&b);

    /* Asynchronous: bob is completed from vote_c's thread, into account A. */
    natsOptions *no = NULL;
    natsConnection *bob = NULL, *bob2 = NULL;
    natsOptions_Create(&no);
    natsOptions_SetURL(no, s.url);
    natsOptions_SetAllowReconnect(no, false);
    natsOptions_SetUserInfo(no, "bob", "x");
    natsConnection_Connect(&bob, no);
    natsConnection_Connect(&bob2, no);
    natsOptions_Destroy(no);
    if (IT_CHECK(bob && bob2, "bob is let in by a completion from the module's thread")) {
        natsSubscription *sub = NULL;
        natsConnection_SubscribeSync(&sub, bob, "iso");
        natsConnection_Flush(bob);
        natsConnection_PublishString(admin, "iso", "from-global");
        natsConnection_Flush(admin);
        natsConnection_PublishString(bob2, "iso", "from-A");
        natsConnection_Flush(bob2);
        natsMsg *m = NULL;
        IT_CHECK(natsSubscription_NextMsg(&m, sub, 3000) == NATS_OK &&
                     !strcmp(natsMsg_GetData(m), "from-A"),
                 "bob is bound to the account the module named");
        natsMsg_Destroy(m);
        natsSubscription_Destroy(sub);
    }
    natsConnection_Destroy(bob);
    natsConnection_Destroy(bob2);

    /* Completion after the client left: a no-op (stale). */
    fd = raw_start(&s, "carol", &b);
    IT_CHECK(it_buf_contains(&b, "\"nonce\":\""), "INFO carries a nonce for the modules");
    await_answer(admin, "vote.d.stats", "held=1");
    char *st = it_request(admin, "vote.d.stats", NULL, 3000);
    unsigned long long conn0 = 0, closed0 = 0;
    if (st)
        sscanf(st, "connected=%llu closed=%llu", &conn0, &closed0);
    free(st);
    if (fd >= 0)
        close(fd);
    char want[64];
    snprintf(want, sizeof want, "closed=%llu", closed0 + 1);
    await_answer(admin, "vote.d.stats", want);
    request_is(admin, "vote.d.release", "ok=0 stale=1");

    /* Completion while the client waits: its input resumes. */
    it_buf_reset(&b);
    fd = raw_start(&s, "carol", &b);
    await_answer(admin, "vote.d.stats", "held=1");
    request_is(admin, "vote.d.release", "ok=1 stale=0");
    IT_CHECK(fd >= 0 && it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND,
             "carol's PING is answered once the module completes");
    if (fd >= 0)
        close(fd);

    /* Never completed: the kernel's auth_timeout ends it. */
    it_buf_reset(&b);
    fd = raw_start(&s, "carol", &b);
    IT_CHECK(fd >= 0 && it_raw_read_until(fd, &b, "Authentication Timeout", 6000) == IT_FOUND,
             "a decision never completed meets auth_timeout");
    if (fd >= 0)
        close(fd);
    request_is(admin, "vote.d.release", "ok=0 stale=1");
    it_buf_free(&b);
out:
    natsConnection_Destroy(admin);
    it_server_stop(&s);
}

/* ---- swap, reload, traffic --------------------------------------------- */

static void test_swap_and_reloads(void)
{
    char mdir[] = "/tmp/tern-modswap-XXXXXX";
    if (!IT_CHECK(mkdtemp(mdir) != NULL, "temp dir"))
        return;
    char so[300], yaml[600];
    snprintf(so, sizeof so, "%s/state.so", mdir);
    install(MODDIR "/mod_state_v1.so", so);
    snprintf(yaml, sizeof yaml, "modules:\n  state: { path: %s, greeting: g0, timer: 10ms }\n",
             so);
    it_server s;
    it_opts o = { .log_file = true, .auth_yaml = yaml };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "a server with the state module starts"))
        goto cleanup;
    natsConnection *nc = it_nats_connect(&s);
    if (!IT_CHECK(nc != NULL, "connect"))
        goto out;
    request_is(nc, "mod.state.ping", "v1 count=1 greeting=g0");
    /* A module timer, stopped from its own callback after three runs. */
    await_answer(nc, "mod.state.timer", "fires=3");

    /* Configuration change: reload() in place. */
    write_modules(&s, "modules:\n  state: { greeting: g1 }\n");
    IT_RELOAD(&s, true);
    IT_CHECK(log_has(&s, "Module state reconfigured"), "the module is reconfigured");
    request_is(nc, "mod.state.ping", "v1 count=2 greeting=g1");

    /* A failed reload changes nothing. */
    write_modules(&s, "modules:\n  state: { greeting: 7, bad_key: 1 }\n");
    IT_RELOAD(&s, false);
    IT_CHECK(log_has(&s, "unknown key 'bad_key'"), "the failure says why");
    request_is(nc, "mod.state.ping", "v1 count=3 greeting=g1");
    request_is(nc, "mod.state.timer", "fires=3");   /* it stopped itself */

    /* v1 → v2 swap: the counter crosses in the state blob. */
    write_modules(&s, "modules:\n  state: { greeting: g1 }\n");
    install(MODDIR "/mod_state_v2.so", so);
    IT_RELOAD(&s, true);
    IT_CHECK(log_has(&s, "Module state swapped to 2.0"), "the changed file is swapped");
    request_is(nc, "mod.state.ping", "v2 count=4 greeting=g1");

    /* Unload, then load again: a cold start. */
    write_modules(&s, "modules:\n  state: { enabled: false }\n");
    IT_RELOAD(&s, true);
    natsMsg *m = NULL;
    IT_CHECK(natsConnection_RequestString(&m, nc, "mod.state.ping", "", 300) != NATS_OK,
             "an unloaded module answers no more");
    natsMsg_Destroy(m);
    write_modules(&s, "modules:\n  state: { greeting: g2 }\n");
    IT_RELOAD(&s, true);
    request_is(nc, "mod.state.ping", "v2 count=1 greeting=g2");

    /* 20 reloads (swaps and configuration changes) under traffic. */
    natsConnection *pub = it_nats_connect(&s), *subc = it_nats_connect(&s);
    it_traffic t = { 0 };
    if (!IT_CHECK(pub && subc && it_traffic_start(&t, pub, subc), "publisher and subscriber connect"))
        goto traffic_out;
    int64_t t0 = it_now_ms();
    int count = 1;
    bool counts_ok = true;
    for (int round = 0; round < 20; round++) {
        char text[128];
        if (round % 2 == 0)
            install(round % 4 == 0 ? MODDIR "/mod_state_v1.so" : MODDIR "/mod_state_v2.so", so);
        snprintf(text, sizeof text, "modules:\n  state: { greeting: r%d }\n", round);
        write_modules(&s, text);
        if (!IT_RELOAD(&s, true))
            break;
        char *got = it_request(nc, "mod.state.ping", NULL, 3000);
        char want[64];
        snprintf(want, sizeof want, "count=%d greeting=r%d", ++count, round);
        counts_ok &= got && strlen(got) > 3 && !strcmp(got + 3, want);
        if (!counts_ok)
            printf("round %d: '%s', want '%s'\n", round, got ? got : "", want);
        free(got);
    }
    bool all_arrived = it_traffic_stop(&t, 30000);
    IT_CHECK(counts_ok, "the module's state survives 20 swaps and reconfigurations");
    printf("%ld messages published during 20 reloads (%lld ms)\n", atomic_load(&t.sent),
           (long long)(it_now_ms() - t0));
    IT_CHECK(atomic_load(&t.sent) > 0 && all_arrived,
             "all %ld messages published during the reloads arrive in order (%ld)",
             atomic_load(&t.sent), atomic_load(&t.got));
    IT_CHECK(!natsConnection_IsClosed(pub) && !natsConnection_IsClosed(subc) &&
                 !natsConnection_IsClosed(nc),
             "no client connection dropped");
traffic_out:
    it_traffic_stop(&t, 0);
    natsConnection_Destroy(pub);
    natsConnection_Destroy(subc);
out:
    natsConnection_Destroy(nc);
    it_server_stop(&s);
cleanup:
    unlink(so);
    rmdir(mdir);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    test_refused_modules();
    test_check_mode();
    test_auth_hooks();
    test_swap_and_reloads();
    return it_summary();
}
