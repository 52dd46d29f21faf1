/* Authentication (issue 3): users with plain and bcrypt passwords, token,
 * nkey users, no_auth_user, the auth timeout, the first op not CONNECT,
 * repeated CONNECTs, and bcrypt logins that must not stall other clients.
 * Real clients (cnats) and raw sockets; TERN_TEST_SERVER=nats-server runs
 * the same checks against the reference. */
#include <crypt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* A user key pair made with nkeys.js (tests/unit/test_nkeys.c has more). */
#define USER_SEED "SUAJ5DFIFHFL7KKS6NQBQRIZTF7I6WM6PWUBG3YNKSAPLUK24TREB7WUHY"
#define USER_PUB  "UBLEFVRS74IECMLNLVKR57BMDKF6KCF44PPF3LJKYAJQLLYBDCLNHW7I"
/* Another valid user key, not configured. */
#define OTHER_SEED "SUANTJIS5DW2XKHARAB3P6PHIJU7K3V56WMGSH4RPVU2WRRBPUR37QBA7Y"
#define OTHER_PUB  "UDOJ37OUFDUSU4TEZIYPP755NVNTKOMSG2RQOAHST6DIQPP5ANUDQKHA"

static char *bcrypt_hash(const char *password, unsigned long cost)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    if (!crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof salt))
        return NULL;
    const char *h = crypt_r(password, salt, &cd);
    return h && h[0] != '*' ? strdup(h) : NULL;
}

/* Both configuration formats for one authorization block. */
static void auth_cfg(it_opts *o, char *yaml, char *conf, size_t n, const char *users_yaml,
                     const char *users_conf, const char *extra_yaml, const char *extra_conf)
{
    snprintf(yaml, n, "authorization:\n  %s\n%s", users_yaml, extra_yaml ? extra_yaml : "");
    snprintf(conf, n, "authorization {\n  %s\n}\n%s", users_conf, extra_conf ? extra_conf : "");
    o->auth_yaml = yaml;
    o->auth_conf = conf;
}

static natsConnection *connect_with(const it_server *s, const char *user, const char *pass,
                                    const char *token, const char *seed_file, const char *nkey,
                                    natsStatus *st_out)
{
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&opts);
    natsOptions_SetURL(opts, s->url);
    natsOptions_SetAllowReconnect(opts, false);
    natsOptions_SetTimeout(opts, 5000);
    if (user)
        natsOptions_SetUserInfo(opts, user, pass);
    if (token)
        natsOptions_SetToken(opts, token);
    if (seed_file)
        natsOptions_SetNKeyFromSeed(opts, nkey, seed_file);
    natsStatus st = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    if (st_out)
        *st_out = st;
    return st == NATS_OK ? nc : NULL;
}

/* A round trip through the server proves the connection works. */
static bool roundtrip(natsConnection *nc)
{
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    bool ok = natsConnection_SubscribeSync(&sub, nc, "auth.rt") == NATS_OK &&
              natsConnection_PublishString(nc, "auth.rt", "hi") == NATS_OK &&
              natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK &&
              !strcmp(natsMsg_GetData(m), "hi");
    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);
    return ok;
}

static void expect_ok(const it_server *s, const char *what, const char *user, const char *pass,
                      const char *token, const char *seed_file, const char *nkey)
{
    natsStatus st;
    natsConnection *nc = connect_with(s, user, pass, token, seed_file, nkey, &st);
    if (IT_CHECK(nc != NULL, "%s: connects (%s)", what, natsStatus_GetText(st)))
        IT_CHECK(roundtrip(nc), "%s: pub/sub works", what);
    natsConnection_Destroy(nc);
}

static void expect_denied(const it_server *s, const char *what, const char *user,
                          const char *pass, const char *token, const char *seed_file,
                          const char *nkey)
{
    natsStatus st;
    natsConnection *nc = connect_with(s, user, pass, token, seed_file, nkey, &st);
    IT_CHECK(nc == NULL, "%s: refused", what);
    IT_CHECK(st == NATS_CONNECTION_AUTH_FAILED || st == NATS_NOT_PERMITTED,
             "%s: an authorization error (%s)", what, natsStatus_GetText(st));
    natsConnection_Destroy(nc);
}

/* Raw: connect, read INFO, send text, read to the close (or timeout). */
static void raw_exchange(int port, const char *send, it_buf *b, int timeout_ms)
{
    int fd = it_raw_connect(port, 0);
    if (fd < 0)
        return;
    it_raw_read_until(fd, b, "\r\n", 5000);
    if (send)
        it_raw_sends(fd, send);
    it_raw_read_to_close(fd, b, timeout_ms);
    close(fd);
}

static void test_users(void)
{
    char *hash = bcrypt_hash("s3cret", 10), *hash12 = bcrypt_hash("twelve", 12);
    if (!IT_CHECK(hash && hash12, "crypt_r makes bcrypt hashes"))
        return;
    char users_yaml[1024], users_conf[1024], yaml[2048], conf[2048];
    snprintf(users_yaml, sizeof users_yaml,
             "users: [ {user: a, password: b}, {user: bc, password: \"%s\"}, "
             "{user: b12, password: \"%s\"} ]", hash, hash12);
    snprintf(users_conf, sizeof users_conf,
             "users: [ {user: a, password: b}, {user: bc, password: \"%s\"}, "
             "{user: b12, password: \"%s\"} ]", hash, hash12);
    it_opts o = {0};
    auth_cfg(&o, yaml, conf, sizeof yaml, users_yaml, users_conf, NULL, NULL);
    it_server s;
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server with users starts"))
        return;

    it_buf b = {0};
    raw_exchange(s.port, "PING\r\n", &b, 5000);
    IT_CHECK(it_buf_contains(&b, "\"auth_required\":true"), "INFO has auth_required");
    IT_CHECK(!it_buf_contains(&b, "\"nonce\""), "no nonce without nkey users");
    IT_CHECK(it_buf_contains(&b, "-ERR 'Authorization Violation'\r\n"),
             "first op not CONNECT: Authorization Violation");

    expect_ok(&s, "plain password", "a", "b", NULL, NULL, NULL);
    expect_denied(&s, "wrong plain password", "a", "x", NULL, NULL, NULL);
    expect_denied(&s, "unknown user", "zz", "b", NULL, NULL, NULL);
    expect_denied(&s, "no credentials", NULL, NULL, NULL, NULL, NULL);
    expect_ok(&s, "bcrypt cost 10", "bc", "s3cret", NULL, NULL, NULL);
    expect_denied(&s, "wrong bcrypt password", "bc", "s3creT", NULL, NULL, NULL);
    expect_denied(&s, "the hash itself as password", "bc", hash, NULL, NULL, NULL);
    expect_ok(&s, "bcrypt cost 12", "b12", "twelve", NULL, NULL, NULL);

    /* Every CONNECT is authenticated, over the merged credentials. */
    it_buf_reset(&b);
    raw_exchange(s.port,
                 "CONNECT {\"user\":\"a\",\"pass\":\"b\",\"verbose\":true}\r\nPING\r\n"
                 "CONNECT {\"verbose\":false}\r\nPING\r\nCONNECT {\"pass\":\"x\"}\r\nPING\r\n",
                 &b, 5000);
    IT_CHECK(it_buf_count(&b, "PONG\r\n") == 2 && it_buf_count(&b, "+OK\r\n") == 1,
             "a second CONNECT keeps the credentials and applies its options");
    IT_CHECK(it_buf_contains(&b, "-ERR 'Authorization Violation'\r\n"),
             "a CONNECT with a wrong password after success: Authorization Violation");

    /* What follows a CONNECT in the same read waits for the (slow) decision. */
    it_buf_reset(&b);
    int fd = it_raw_connect(s.port, 0);
    it_raw_read_until(fd, &b, "\r\n", 5000);
    it_raw_sends(fd, "CONNECT {\"user\":\"bc\",\"pass\":\"s3cret\",\"verbose\":false}\r\n"
                     "SUB p 1\r\nPUB p 5\r\nhello\r\nPING\r\n");
    IT_CHECK(it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND &&
                 it_buf_contains(&b, "MSG p 1 5\r\nhello\r\n"),
             "ops pipelined behind a bcrypt CONNECT run after it, in order");
    close(fd);

    /* The decision comes before the protocol checks, as nats-server's. */
    it_buf_reset(&b);
    raw_exchange(s.port, "CONNECT {\"user\":\"a\",\"pass\":\"x\",\"protocol\":5}\r\n", &b, 5000);
    IT_CHECK(it_buf_contains(&b, "Authorization Violation"), "bad credentials win over bad protocol");
    it_buf_reset(&b);
    raw_exchange(s.port, "CONNECT {\"user\":\"a\",\"pass\":\"b\",\"protocol\":5}\r\n", &b, 5000);
    IT_CHECK(it_buf_contains(&b, "invalid client protocol"), "good credentials, bad protocol");
    it_buf_free(&b);
    it_server_stop(&s);
    free(hash);
    free(hash12);
}

static void test_token(void)
{
    char *hash = bcrypt_hash("tok", 10);
    const char *cases[][2] = {{"token: s3cr3t", "s3cr3t"}, {NULL, "tok"}};
    char bc[256];
    snprintf(bc, sizeof bc, "token: \"%s\"", hash ? hash : "");
    cases[1][0] = bc;
    for (int i = 0; i < 2; i++) {
        char yaml[1024], conf[1024];
        it_opts o = {0};
        auth_cfg(&o, yaml, conf, sizeof yaml, cases[i][0], cases[i][0], NULL, NULL);
        it_server s;
        if (!IT_CHECK(it_server_start(&s, &o) == 0, "server with a token starts"))
            continue;
        expect_ok(&s, i ? "bcrypt token" : "plain token", NULL, NULL, cases[i][1], NULL, NULL);
        expect_denied(&s, "wrong token", NULL, NULL, "nope", NULL, NULL);
        expect_denied(&s, "user instead of token", cases[i][1], cases[i][1], NULL, NULL, NULL);
        it_server_stop(&s);
    }
    free(hash);
}

static void test_nkeys(void)
{
    char yaml[1024], conf[1024];
    it_opts o = {0};
    auth_cfg(&o, yaml, conf, sizeof yaml, "users: [ {nkey: " USER_PUB "} ]",
             "users: [ {nkey: " USER_PUB "} ]", NULL, NULL);
    it_server s;
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server with an nkey user starts"))
        return;
    char good[300], other[300];
    snprintf(good, sizeof good, "%s/user.nk", s.dir);
    snprintf(other, sizeof other, "%s/other.nk", s.dir);
    FILE *f = fopen(good, "w");
    fputs(USER_SEED "\n", f);
    fclose(f);
    f = fopen(other, "w");
    fputs(OTHER_SEED "\n", f);
    fclose(f);

    it_buf b = {0}, b2 = {0};
    raw_exchange(s.port, NULL, &b, 100);
    raw_exchange(s.port, NULL, &b2, 100);
    const char *n1 = strstr(b.data ? b.data : "", "\"nonce\":\"");
    const char *n2 = strstr(b2.data ? b2.data : "", "\"nonce\":\"");
    if (IT_CHECK(n1 && n2, "INFO carries a nonce")) {
        const char *e = strchr(n1 + 9, '"');
        IT_CHECK(e && e - (n1 + 9) == 15, "the nonce is 15 characters");
        IT_CHECK(strncmp(n1, n2, 24) != 0, "each connection gets its own nonce");
    }
    expect_ok(&s, "nkey signature", NULL, NULL, NULL, good, USER_PUB);
    expect_denied(&s, "unknown nkey", NULL, NULL, NULL, other, OTHER_PUB);

    it_buf_reset(&b);
    raw_exchange(s.port, "CONNECT {\"nkey\":\"" USER_PUB "\",\"sig\":\"AAAA\"}\r\nPING\r\n", &b, 5000);
    IT_CHECK(it_buf_contains(&b, "-ERR 'Authorization Violation'"), "a bad signature is refused");
    it_buf_reset(&b);
    raw_exchange(s.port, "CONNECT {\"nkey\":\"" USER_PUB "\"}\r\nPING\r\n", &b, 5000);
    IT_CHECK(it_buf_contains(&b, "-ERR 'Authorization Violation'"), "a missing signature is refused");
    it_buf_free(&b);
    it_buf_free(&b2);
    it_server_stop(&s);
}

static void test_no_auth_user(void)
{
    char yaml[1024], conf[1024];
    it_opts o = {0};
    auth_cfg(&o, yaml, conf, sizeof yaml, "users: [ {user: a, password: b}, {user: g, password: x} ]",
             "users: [ {user: a, password: b}, {user: g, password: x} ]", "no_auth_user: g\n",
             "no_auth_user: g\n");
    it_server s;
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server with no_auth_user starts"))
        return;
    it_buf b = {0};
    int fd = it_raw_connect(s.port, 0);
    it_raw_sends(fd, "PING\r\n");
    IT_CHECK(it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND,
             "no_auth_user: ops before CONNECT are accepted");
    IT_CHECK(!it_buf_contains(&b, "auth_required"), "no_auth_user: INFO does not require auth");
    close(fd);
    expect_ok(&s, "no credentials bind no_auth_user", NULL, NULL, NULL, NULL, NULL);
    expect_ok(&s, "a configured user still logs in", "a", "b", NULL, NULL, NULL);
    expect_denied(&s, "a wrong password is still refused", "a", "c", NULL, NULL, NULL);
    it_buf_free(&b);
    it_server_stop(&s);
}

static void test_timeout(void)
{
    char yaml[1024], conf[1024];
    it_opts o = {0};
    auth_cfg(&o, yaml, conf, sizeof yaml, "users: [ {user: a, password: b} ]\n  timeout: 0.5",
             "users: [ {user: a, password: b} ]\n  timeout: 0.5", NULL, NULL);
    it_server s;
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server with a 0.5 s auth timeout starts"))
        return;
    it_buf b = {0};
    int64_t t0 = it_now_ms();
    raw_exchange(s.port, NULL, &b, 5000);
    int64_t took = it_now_ms() - t0;
    IT_CHECK(it_buf_contains(&b, "-ERR 'Authentication Timeout'\r\n"), "Authentication Timeout sent");
    IT_CHECK(took >= 400 && took < 3000, "closed after the timeout (%lld ms)", (long long)took);
    it_buf_free(&b);
    it_server_stop(&s);
}

/* ---- bcrypt logins off the message path ------------------------------ */

#define LOGINS 20

typedef struct login_run {
    int port;
    int ok;
} login_run;

static void *do_logins(void *arg)
{
    login_run *r = arg;
    int fds[LOGINS];
    it_buf b[LOGINS];
    memset(b, 0, sizeof b);
    for (int i = 0; i < LOGINS; i++) {
        fds[i] = it_raw_connect(r->port, 0);
        it_raw_read_until(fds[i], &b[i], "\r\n", 5000);
        it_raw_sends(fds[i], "CONNECT {\"user\":\"bc\",\"pass\":\"s3cret\",\"verbose\":false}\r\nPING\r\n");
    }
    for (int i = 0; i < LOGINS; i++) {
        r->ok += it_raw_read_until(fds[i], &b[i], "PONG\r\n", 20000) == IT_FOUND;
        close(fds[i]);
        it_buf_free(&b[i]);
    }
    return NULL;
}

/* Round trips (PUB + PING/PONG) completed by a publisher in ms. */
static double pub_rate(int fd, it_buf *b, int64_t ms, atomic_bool *stop)
{
    int64_t t0 = it_now_ms(), n = 0;
    while ((stop ? !atomic_load(stop) : true) && it_now_ms() - t0 < ms) {
        it_buf_reset(b);
        if (it_raw_sends(fd, "PUB rate 1\r\na\r\nPING\r\n") != 0 ||
            it_raw_read_until(fd, b, "PONG\r\n", 10000) != IT_FOUND)
            return -1;
        n++;
    }
    int64_t el = it_now_ms() - t0;
    return el > 0 ? (double)n * 1000.0 / (double)el : 0;
}

typedef struct watch {
    pthread_t th;
    login_run *r;
    atomic_bool done;
} watch;

static void *run_and_flag(void *arg)
{
    watch *w = arg;
    do_logins(w->r);
    atomic_store(&w->done, true);
    return NULL;
}

static void test_bcrypt_does_not_stall(void)
{
    char *hash = bcrypt_hash("s3cret", 11);
    if (!IT_CHECK(hash != NULL, "bcrypt hash for the load test"))
        return;
    char users[512], yaml[1024], conf[1024];
    snprintf(users, sizeof users, "users: [ {user: p, password: p}, {user: bc, password: \"%s\"} ]\n"
             "  timeout: 30", hash);
    it_opts o = {0};
    auth_cfg(&o, yaml, conf, sizeof yaml, users, users, NULL, NULL);
    it_server s;
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server for the bcrypt load test starts"))
        return;
    it_buf b = {0};
    int pub = it_raw_client(s.port, "{\"user\":\"p\",\"pass\":\"p\",\"verbose\":false}", &b);
    if (IT_CHECK(pub >= 0, "publisher connects")) {
        double base = pub_rate(pub, &b, 500, NULL);
        login_run r = {.port = s.port};
        watch w = {.r = &r};
        int64_t t0 = it_now_ms();
        pthread_create(&w.th, NULL, run_and_flag, &w);
        double during = pub_rate(pub, &b, 60000, &w.done);
        pthread_join(w.th, NULL);
        int64_t took = it_now_ms() - t0;
        printf("publisher: %.0f round trips/s before, %.0f during %d bcrypt logins (%lld ms)\n",
               base, during, LOGINS, (long long)took);
        IT_CHECK(r.ok == LOGINS, "all %d bcrypt logins succeed (%d)", LOGINS, r.ok);
        /* nats-server's goroutines hash on every core and starve the
         * publisher on a small machine: the check is Tern's promise. */
        if (!s.is_nats)
            IT_CHECK(base > 0 && during >= 0.5 * base,
                     "the publisher keeps at least half its rate during the logins (%.0f vs %.0f)",
                     during, base);
        close(pub);
    }
    it_buf_free(&b);
    it_server_stop(&s);
    free(hash);
}

int main(void)
{
    test_users();
    test_token();
    test_nkeys();
    test_no_auth_user();
    test_timeout();
    test_bcrypt_does_not_stall();
    return it_summary();
}
