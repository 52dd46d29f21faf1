/* The module ABI 1.1 authentication slots, through the test module
 * tests/modules/mod_jwtperm.c, synchronously (event out fields) and
 * asynchronously (auth_complete_ex from the module's thread):
 *  - INFO carries a nonce once a module authenticates;
 *  - CONNECT's jwt reaches the module; api->jwt_decode accepts a token
 *    made by nats-jwt and refuses a tampered one;
 *  - the permissions JSON it returns is enforced like a conf.d user's;
 *  - the user name shows in TERN_EVT_CLIENT_CONNECTED's user;
 *  - api->client_close closes a client with the reason as -ERR, and is
 *    TERN_ESTALE for a connection that never existed. ternd only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Made by nats-jwt (tests/unit/data/jwt_vectors.json, "user"): name
 * alice; pub allow a.> _INBOX.>, deny a.secret; sub allow b.*, "q.> workers". */
static const char alice_jwt[] =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJleHAiOjE3OTU3MDM4ODYsImF1ZCI6Ik5BVFMiLCJu"
    "YW1lIjoiYWxpY2UiLCJzdWIiOiJVQlVXV0ZGWFNJQU9TMkZRNjRRVkcyQ1hUQ1pHTkpCWE9EV1NHWlZPRlRHQ1ZGVlJU"
    "TVBLSU1QUyIsIm5hdHMiOnsiZGF0YSI6LTEsInBheWxvYWQiOi0xLCJzdWJzIjotMSwicHViIjp7ImFsbG93IjpbImEu"
    "PiIsIl9JTkJPWC4-Il0sImRlbnkiOlsiYS5zZWNyZXQiXX0sInN1YiI6eyJhbGxvdyI6WyJiLioiLCJxLj4gd29ya2Vy"
    "cyJdfSwicmVzcCI6eyJtYXgiOjEsInR0bCI6NTAwMDAwMDAwMH0sImJlYXJlcl90b2tlbiI6ZmFsc2UsInR5cGUiOiJ1"
    "c2VyIiwidmVyc2lvbiI6Mn0sImlzcyI6IkFERjVaNUpQVEdYNUJTTFFRSUE3U0lNTUxYSEVVVTdRNVJTRlRDSU1HNFBW"
    "V1lJVkRHVFVLNlZSIiwiaWF0IjoxNzk1NzAwMjg3LCJqdGkiOiJwTEZkNElDald5dHRtVzd3Ylc4Ry9UdDJiU05PMEVY"
    "S1UyV0lsdmtHNit2SS9QYXI2L1YwUWxMc2dtSzJObWtXaGdGSDBvR1pHMGVqTzgwOXN1NUZndz09In0.9NreBgYQN5CY"
    "ZSF078fRRECmqJwjMZbgIgg0v-mwNR4grq3G2aW7LIaHKw6-SYlgLEBGbVR34hTkKciGcNwUDg";

/* Read INFO, send CONNECT with jwt and a PING; b keeps the bytes. */
static int jwt_client(const it_server *s, const char *jwt, it_buf *b, long *cid)
{
    int fd = it_raw_connect(s->port, 0);
    if (fd < 0 || it_raw_read_until(fd, b, "\r\n", 5000) != IT_FOUND)
        return -1;
    const char *p = strstr(b->data, "\"client_id\":");
    *cid = p ? strtol(p + 12, NULL, 10) : 0;
    size_t n = strlen(jwt) + 128;
    char *line = malloc(n);
    snprintf(line, n, "CONNECT {\"verbose\":false,\"jwt\":\"%s\",\"sig\":\"x\"}\r\nPING\r\n", jwt);
    it_raw_sends(fd, line);
    free(line);
    return fd;
}

static char *request(natsConnection *nc, const char *subj, const char *body)
{
    natsMsg *m = NULL;
    if (natsConnection_RequestString(&m, nc, subj, body, 5000) != NATS_OK)
        return NULL;
    char *out = strndup(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
    return out;
}

static void run(bool async)
{
    const char *mode = async ? "async" : "sync";
    char yaml[512];
    snprintf(yaml, sizeof yaml, "modules:\n  jwtperm: { path: %s/mod_jwtperm.so, async: %s }\n",
             TERN_TEST_MODULES_DIR, async ? "true" : "false");
    it_server s;
    it_opts o = { .auth_yaml = yaml };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "[%s] ternd with mod_jwtperm starts", mode))
        return;
    natsConnection *admin = it_nats_connect(&s);   /* no jwt: the module ignores it */
    IT_CHECK(admin != NULL, "[%s] a client without jwt is left to the kernel", mode);

    it_buf b = {0};
    long cid = 0;
    int fd = jwt_client(&s, alice_jwt, &b, &cid);
    IT_CHECK(fd >= 0 && strstr(b.data, "\"nonce\":\""), "[%s] INFO carries a nonce", mode);
    IT_CHECK(fd >= 0 && it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND &&
                 !it_buf_contains(&b, "-ERR"),
             "[%s] a nats-jwt user JWT is accepted by the module", mode);
    if (fd >= 0) {
        it_buf_reset(&b);
        it_raw_sends(fd, "PUB a.secret 1\r\nx\r\nPUB a.ok 1\r\nx\r\nSUB c.x 1\r\nSUB b.x 2\r\n"
                         "SUB q.x 3\r\nSUB q.x workers 4\r\nPING\r\n");
        IT_CHECK(it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND, "[%s] PONG", mode);
        IT_CHECK(it_buf_contains(&b, "Permissions Violation for Publish to \"a.secret\""),
                 "[%s] the JWT's publish deny applies", mode);
        IT_CHECK(!it_buf_contains(&b, "\"a.ok\""), "[%s] the publish allow applies", mode);
        IT_CHECK(it_buf_contains(&b, "Permissions Violation for Subscription to \"c.x\""),
                 "[%s] the subscribe allow list applies", mode);
        IT_CHECK(!it_buf_contains(&b, "\"b.x\""), "[%s] b.* may be subscribed", mode);
        IT_CHECK(it_buf_contains(&b, "Subscription to \"q.x\"") &&
                     it_buf_count(&b, "Permissions Violation") == 3,
                 "[%s] q.> only in queue group workers", mode);
    }
    char *users = admin ? request(admin, "jwtperm.users", "") : NULL;
    IT_CHECK(users && strstr(users, "alice"),
             "[%s] CLIENT_CONNECTED's user is the module's user name (got %s)", mode,
             users ? users : "nothing");
    free(users);

    /* A tampered token: the server's signature check refuses it. */
    char *bad = strdup(alice_jwt);
    char *sig = strrchr(bad, '.') + 3;
    *sig = *sig == 'A' ? 'B' : 'A';
    it_buf b2 = {0};
    long cid2;
    int fd2 = jwt_client(&s, bad, &b2, &cid2);
    IT_CHECK(fd2 >= 0 && it_raw_read_until(fd2, &b2, "Authorization Violation", 5000) == IT_FOUND,
             "[%s] a tampered JWT is denied", mode);
    if (fd2 >= 0)
        close(fd2);
    free(bad);
    it_buf_free(&b2);

    /* client_close from the module, with its reason. */
    char num[32];
    snprintf(num, sizeof num, "%ld", cid);
    char *ans = admin ? request(admin, "jwtperm.close", num) : NULL;
    IT_CHECK(ans && !strcmp(ans, "ok"), "[%s] client_close accepts alice's cid", mode);
    free(ans);
    if (fd >= 0) {
        it_buf_reset(&b);
        it_raw_read_to_close(fd, &b, 5000);
        IT_CHECK(it_buf_contains(&b, "-ERR 'User Authentication Revoked'"),
                 "[%s] the client is closed with the module's reason", mode);
        close(fd);
    }
    ans = admin ? request(admin, "jwtperm.close", "987654321") : NULL;
    IT_CHECK(ans && !strcmp(ans, "stale"), "[%s] client_close of an unknown cid: ESTALE", mode);
    free(ans);
    it_buf_free(&b);
    if (admin)
        natsConnection_Destroy(admin);
    it_server_stop(&s);
}

int main(void)
{
    if (strcmp(it_server_kind(), "ternd") != 0)
        return 0;   /* modules are Tern's */
    run(false);
    run(true);
    return it_summary();
}
