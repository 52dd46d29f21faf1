/* ternd -c FILE.conf in nats-server's format: the same file runs ternd and
 * nats-server with the same client-visible behaviour (port, server name,
 * max_payload, users and no_auth_user, driven with cnats); `-t` accepts
 * and rejects what nats-server's `-t` does for the corpus of
 * tests/unit/data/nats; an unsupported key fails unless
 * --ignore-unsupported. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[128];

/* Run argv with output into out_path; wait when `wait` (returns the exit
 * code, 128 when it did not exit), else return the pid. */
static int run(char *const argv[], const char *out_path, bool wait)
{
    pid_t pid = it_spawn(argv, out_path);
    if (pid < 0 || !wait)
        return pid;
    int st = it_pid_wait(pid, 60000);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static natsConnection *connect_as(int port, const char *user, const char *pass, natsStatus *st)
{
    natsConnection *nc = NULL;
    *st = it_nats_dial(port, user, pass, NULL, &nc);
    return nc;
}

/* server -c conf, its output in <dir>/{tern,nats}<tag>.out; the pid once
 * it listens on port, else -1 (stopped). */
static pid_t start_from(const char *server, const char *conf, int port, const char *tag)
{
    char log[256];
    snprintf(log, sizeof log, "%s/%s%s.out", dir, strstr(server, "nats-server") ? "nats" : "tern", tag);
    char *argv[] = { (char *)server, "-c", (char *)conf, NULL };
    pid_t pid = run(argv, log, false);
    if (!IT_CHECK(it_await_listening(port, pid, 10000), "%s -c %s listens on %d", server, conf, port)) {
        it_pid_stop(pid);
        return -1;
    }
    return pid;
}

/* What a client sees of one server started from conf: returns a summary. */
static void observe(const char *server, const char *conf, int port, char *out, size_t outlen)
{
    out[0] = '\0';
    pid_t pid = start_from(server, conf, port, "");
    if (pid < 0)
        return;
    natsStatus st;
    size_t o = 0;
    natsConnection *nc = connect_as(port, "app", "app-pw", &st);
    o += (size_t)snprintf(out + o, outlen - o, "app:%s;", natsStatus_GetText(st));
    if (nc) {
        o += (size_t)snprintf(out + o, outlen - o, "max_payload:%lld;",
                              (long long)natsConnection_GetMaxPayload(nc));
        natsSubscription *sub = NULL;
        natsMsg *m = NULL;
        st = natsConnection_SubscribeSync(&sub, nc, "conf.x");
        if (st == NATS_OK)
            st = natsConnection_PublishString(nc, "conf.x", "hi");
        if (st == NATS_OK)
            st = natsSubscription_NextMsg(&m, sub, 5000);
        o += (size_t)snprintf(out + o, outlen - o, "pubsub:%s;", natsStatus_GetText(st));
        natsMsg_Destroy(m);
        natsSubscription_Destroy(sub);
        natsConnection_Destroy(nc);
    }
    nc = connect_as(port, "app", "wrong", &st);
    o += (size_t)snprintf(out + o, outlen - o, "wrong:%s;", natsStatus_GetText(st));
    natsConnection_Destroy(nc);
    /* no credentials: no_auth_user "guest" */
    nc = connect_as(port, NULL, NULL, &st);
    o += (size_t)snprintf(out + o, outlen - o, "anonymous:%s;", natsStatus_GetText(st));
    natsConnection_Destroy(nc);
    it_pid_stop(pid);
}

static void test_same_behaviour(void)
{
    int port = it_free_port();
    char conf[256], text[1024];
    snprintf(conf, sizeof conf, "%s/server.conf", dir);
    snprintf(text, sizeof text,
             "# nats-server syntax: variables, sizes, blocks, comments\n"
             "PORT = %d\n"
             "host: 127.0.0.1\n"
             "port: $PORT\n"
             "server_name: \"migrated\"\n"
             "max_payload: 64KB\n"
             "ping_interval: \"30s\"\n"
             "authorization {\n"
             "  users = [\n"
             "    {user: app, password: \"app-pw\"}\n"
             "    {user: guest, password: \"\"}\n"
             "  ]\n"
             "  timeout: 2\n"
             "}\n"
             "no_auth_user: guest\n",
             port);
    it_write_file(conf, text);
    char tern[512], nats[512];
    observe(it_ternd_path(), conf, port, tern, sizeof tern);
    printf("ternd:       %s\n", tern);
    IT_CHECK(strstr(tern, "app:OK;max_payload:65536;pubsub:OK;") != NULL, "ternd honours the file: %s", tern);
    IT_CHECK(strstr(tern, "wrong:Authentication Violation;") != NULL, "wrong password refused: %s", tern);
    IT_CHECK(strstr(tern, "anonymous:OK;") != NULL, "no_auth_user lets anonymous in: %s", tern);
    /* the reference, on the same port, from the same file */
    observe(it_nats_server_path(), conf, port, nats, sizeof nats);
    printf("nats-server: %s\n", nats);
    IT_CHECK(strcmp(tern, nats) == 0, "same client-visible behaviour:\n  ternd       %s\n  nats-server %s",
             tern, nats);

    /* ternd --convert: the same server from the printed conf.d YAML */
    char yaml[256], conv[512];
    snprintf(yaml, sizeof yaml, "%s/converted.yaml", dir);
    char *argv[] = { (char *)it_ternd_path(), "--convert", conf, NULL };
    IT_CHECK(run(argv, yaml, true) == 0, "--convert exits 0");
    char *ytext = it_read_file(yaml, NULL);
    IT_CHECK(ytext && strstr(ytext, "# conf.d YAML converted by ternd") && strstr(ytext, "no_auth_user: guest"),
             "converted YAML: %s", ytext ? ytext : "");
    free(ytext);
    observe(it_ternd_path(), yaml, port, conv, sizeof conv);
    IT_CHECK(strcmp(conv, tern) == 0, "converted YAML behaves the same:\n  .conf  %s\n  .yaml  %s", tern,
             conv);
}

/* What a client sees of accounts, sharing and permissions from conf. */
static void observe_accounts(const char *server, const char *conf, int port, char *out, size_t outlen)
{
    out[0] = '\0';
    pid_t pid = start_from(server, conf, port, "-acc");
    if (pid < 0)
        return;
    natsStatus st, st2;
    size_t o = 0;
    natsConnection *a = connect_as(port, "a", "a-pw", &st);
    natsConnection *b = connect_as(port, "b", "b-pw", &st2);
    o += (size_t)snprintf(out + o, outlen - o, "a:%s;b:%s;", natsStatus_GetText(st),
                          natsStatus_GetText(st2));
    if (a && b) {
        natsSubscription *stream = NULL, *iso = NULL, *svc = NULL, *denied = NULL;
        natsMsg *m = NULL;
        /* the stream A exports, seen in B under the import's prefix */
        natsConnection_SubscribeSync(&stream, b, "fromA.events.x");
        natsConnection_SubscribeSync(&iso, b, "a.x");
        natsConnection_Flush(b);
        natsConnection_PublishString(a, "events.x", "ev");
        st = natsSubscription_NextMsg(&m, stream, 5000);
        o += (size_t)snprintf(out + o, outlen - o, "stream:%s=%s;", natsStatus_GetText(st),
                              m ? natsMsg_GetSubject(m) : "");
        natsMsg_Destroy(m);
        m = NULL;
        /* A's own subject does not cross */
        natsConnection_PublishString(a, "a.x", "private");
        natsConnection_Flush(a);
        st = natsSubscription_NextMsg(&m, iso, 300);
        o += (size_t)snprintf(out + o, outlen - o, "isolation:%s;", natsStatus_GetText(st));
        natsMsg_Destroy(m);
        m = NULL;
        /* the service A exports, requested from B through its import */
        natsConnection_SubscribeSync(&svc, a, "svc.echo");
        natsConnection_Flush(a);
        natsMsg *reply = NULL;
        natsSubscription *rs = NULL;
        natsConnection_SubscribeSync(&rs, b, "_INBOX.conf.r1");
        natsConnection_Flush(b);
        natsConnection_PublishRequestString(b, "echo", "_INBOX.conf.r1", "ping");
        st = natsSubscription_NextMsg(&m, svc, 5000);
        if (st == NATS_OK) {
            /* the reply goes to the _R_ subject A was handed */
            natsConnection_PublishString(a, natsMsg_GetReply(m) ? natsMsg_GetReply(m) : "none", "pong");
            st = natsSubscription_NextMsg(&reply, rs, 5000);
        }
        natsMsg_Destroy(m);
        m = NULL;
        o += (size_t)snprintf(out + o, outlen - o, "service:%s=%s;", natsStatus_GetText(st),
                              reply ? natsMsg_GetData(reply) : "");
        natsMsg_Destroy(reply);
        /* permissions: a subscription A's user may not make */
        natsConnection_SubscribeSync(&denied, a, "forbidden.x");
        natsConnection_Flush(a);
        const char *text = "";
        for (int64_t end = it_now_ms() + 5000; it_now_ms() < end; it_poll_pause()) {
            if (natsConnection_GetLastError(a, &text) != NATS_OK)
                break;
        }
        o += (size_t)snprintf(out + o, outlen - o, "perm:%s;", text ? text : "");
        natsSubscription_Destroy(stream);
        natsSubscription_Destroy(iso);
        natsSubscription_Destroy(svc);
        natsSubscription_Destroy(rs);
        natsSubscription_Destroy(denied);
    }
    natsConnection_Destroy(a);
    natsConnection_Destroy(b);
    it_pid_stop(pid);
}

static void test_same_accounts(void)
{
    int port = it_free_port();
    char conf[256], text[2048];
    snprintf(conf, sizeof conf, "%s/accounts.conf", dir);
    snprintf(text, sizeof text,
             "listen: 127.0.0.1:%d\n"
             "accounts {\n"
             "  A {\n"
             "    users = [ { user: a, password: a-pw,\n"
             "                permissions { publish: { allow: [\"events.>\", \"a.>\", \"_INBOX.>\"] },\n"
             "                              subscribe: { allow: [\"svc.>\", \"a.>\"], deny: [\"forbidden.>\"] },\n"
             "                              allow_responses: true } } ]\n"
             "    exports = [\n"
             "      { stream: \"events.>\" }\n"
             "      { service: \"svc.echo\" }\n"
             "    ]\n"
             "  }\n"
             "  B {\n"
             "    users = [ { user: b, password: b-pw } ]\n"
             "    imports = [\n"
             "      { stream: { account: A, subject: \"events.>\" }, prefix: fromA }\n"
             "      { service: { account: A, subject: \"svc.echo\" }, to: echo }\n"
             "    ]\n"
             "  }\n"
             "}\n",
             port);
    it_write_file(conf, text);
    char tern[1024], nats[1024];
    observe_accounts(it_ternd_path(), conf, port, tern, sizeof tern);
    printf("ternd:       %s\n", tern);
    IT_CHECK(strstr(tern, "stream:OK=fromA.events.x;isolation:Timeout;service:OK=pong;") != NULL,
             "accounts share only what they export and import: %s", tern);
    IT_CHECK(strstr(tern, "perm:Permissions Violation for Subscription to \"forbidden.x\"") != NULL,
             "permission enforced: %s", tern);
    observe_accounts(it_nats_server_path(), conf, port, nats, sizeof nats);
    printf("nats-server: %s\n", nats);
    IT_CHECK(strcmp(tern, nats) == 0, "same client-visible behaviour:\n  ternd       %s\n  nats-server %s",
             tern, nats);
}

/* -t: accepted and refused alike. */
static int check_exit(const char *server, const char *conf, const char *extra)
{
    char out[256];
    snprintf(out, sizeof out, "%s/check.out", dir);
    char *argv[] = { (char *)server, "-t", "-c", (char *)conf, (char *)extra, NULL };
    return run(argv, out, true);
}

static void test_check_like_nats_server(void)
{
    char src[1024], corpus[1100];
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(corpus, sizeof corpus, "%s/../unit/data/nats", dirname(src));
    DIR *d = opendir(corpus);
    if (!IT_CHECK(d != NULL, "corpus %s", corpus))
        return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".conf"))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", corpus, e->d_name);
        int t = check_exit(it_ternd_path(), path, NULL), ns = check_exit(it_nats_server_path(), path, NULL);
        IT_CHECK((t == 0) == (ns == 0), "%s: ternd -t exits %d, nats-server -t %d", e->d_name, t, ns);
        n++;
    }
    closedir(d);
    IT_CHECK(n >= 15, "%d corpus files", n);

    /* bad files are refused by both */
    static const char *const bad[] = {
        "port: 4222\nprot: 1\n",
        "port: \"4222\"\n",
        "lame_duck_duration: 40\n",
        "a: [1, 2\n",
        "authorization { user: a, password: b, token: c }\n",
        "port: $NOT_DEFINED_ANYWHERE_X\n",
        "include nothere.conf\n",
    };
    char path[256];
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        it_write_file(path, bad[i]);
        int t = check_exit(it_ternd_path(), path, NULL), ns = check_exit(it_nats_server_path(), path, NULL);
        IT_CHECK(t != 0 && ns != 0, "refused by both (ternd %d, nats-server %d): %s", t, ns, bad[i]);
    }
}

static void test_ignore_unsupported(void)
{
    int port = it_free_port();
    char conf[256], text[256], out[256];
    snprintf(conf, sizeof conf, "%s/js.conf", dir);
    snprintf(text, sizeof text, "port: %d\nhost: 127.0.0.1\njetstream {\n  store_dir: /tmp/nowhere\n}\n", port);
    it_write_file(conf, text);
    IT_CHECK(check_exit(it_ternd_path(), conf, NULL) == 1, "jetstream refused by default");
    snprintf(out, sizeof out, "%s/check.out", dir);
    char *msg = it_read_file(out, NULL);
    char want[512];
    snprintf(want, sizeof want, "%s:3:1: 'jetstream' is not supported: JetStream is not supported by Tern", conf);
    IT_CHECK(msg && strstr(msg, want), "message names the key and place: %s", msg ? msg : "");
    free(msg);

    char log[256];
    snprintf(log, sizeof log, "%s/ignore.out", dir);
    char *argv[] = { (char *)it_ternd_path(), "--ignore-unsupported", "-c", conf, NULL };
    pid_t pid = run(argv, log, false);
    if (IT_CHECK(it_await_listening(port, pid, 10000), "starts with --ignore-unsupported")) {
        natsStatus st;
        natsConnection *nc = connect_as(port, NULL, NULL, &st);
        IT_CHECK(nc != NULL, "client connects: %s", natsStatus_GetText(st));
        natsConnection_Destroy(nc);
    }
    it_pid_stop(pid);
    msg = it_read_file(log, NULL);
    IT_CHECK(msg && strstr(msg, "[WRN]") && strstr(msg, "'jetstream' is not supported") &&
                 strstr(msg, "(ignored: --ignore-unsupported)"),
             "warning logged: %s", msg ? msg : "");
    free(msg);

    /* --convert refuses it too, or drops it with --ignore-unsupported */
    char *conv[] = { (char *)it_ternd_path(), "--convert", conf, NULL };
    IT_CHECK(run(conv, out, true) == 1, "--convert refuses jetstream");
    char *conv_ign[] = { (char *)it_ternd_path(), "--convert", conf, "--ignore-unsupported", NULL };
    IT_CHECK(run(conv_ign, out, true) == 0, "--convert --ignore-unsupported converts the rest");
    msg = it_read_file(out, NULL);
    IT_CHECK(msg && strstr(msg, "'jetstream' is not supported") && !strstr(msg, "store_dir"),
             "warning, and jetstream left out: %s", msg ? msg : "");
    free(msg);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/tern-it-natsconf-XXXXXX");
    if (!IT_CHECK(mkdtemp(dir) != NULL, "temp dir"))
        return it_summary();
    test_same_behaviour();
    test_same_accounts();
    test_check_like_nats_server();
    test_ignore_unsupported();
    if (!getenv("TERN_TEST_KEEP") && !it_remove_tree(dir))
        printf("could not remove %s\n", dir);
    nats_Close();
    return it_summary();
}
