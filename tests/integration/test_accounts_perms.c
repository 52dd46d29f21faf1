/* Permissions and account limits (issue 5), on the wire: publish and
 * subscribe allow/deny lists with wildcards (deny wins), queue-group
 * entries ("subject queue"), deliveries filtered for a wildcard
 * subscription that overlaps a denied subject, allow_responses with its
 * max, and the account limits max_subscriptions, max_connections and
 * max_payload — each with nats-server 2.9.10's exact -ERR text and
 * whether the connection stays. The same session bytes are expected from
 * nats-server with TERN_TEST_SERVER=nats-server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char yaml[] =
    "accounts:\n"
    "  A:\n"
    "    users:\n"
    "      - user: pub\n"
    "        password: p\n"
    "        permissions:\n"
    "          publish: { allow: [\"a.>\", \"req.*\"], deny: [a.secret] }\n"
    "          subscribe: { allow: [\"a.>\", \"q.> grp\", fence], deny: [a.hidden] }\n"
    "      - { user: all, password: p }\n"
    "      - user: resp\n"
    "        password: p\n"
    "        permissions: { subscribe: [\"req.*\"], allow_responses: { max: 2 } }\n"
    "  L:\n"
    "    users: [ {user: l, password: p} ]\n"
    "    limits: { max_connections: 2, max_subscriptions: 2, max_payload: 100 }\n";

static const char conf[] =
    "accounts {\n"
    "  A { users: [\n"
    "      {user: pub, password: p, permissions: {\n"
    "         publish: {allow: [\"a.>\", \"req.*\"], deny: [a.secret]},\n"
    "         subscribe: {allow: [\"a.>\", \"q.> grp\", fence], deny: [a.hidden]} } }\n"
    "      {user: all, password: p}\n"
    "      {user: resp, password: p, permissions: {subscribe: [\"req.*\"], allow_responses: {max: 2}}}\n"
    "  ] }\n"
    "  L { users: [ {user: l, password: p} ]\n"
    "      limits: { max_connections: 2, max_subscriptions: 2, max_payload: 100 } }\n"
    "}\n";

static int login(const it_server *s, const char *user, it_buf *b)
{
    char json[256];
    snprintf(json, sizeof json, "{\"verbose\":false,\"user\":\"%s\",\"pass\":\"p\"}", user);
    int fd = it_raw_client(s->port, json, b);
    IT_CHECK(fd >= 0, "%s logs in", user);
    it_buf_reset(b);
    return fd;
}

/* Send script + PING and compare everything up to the PONG. */
static void expect_session(int fd, it_buf *b, const char *script, const char *want, const char *what)
{
    it_buf_reset(b);
    it_raw_sends(fd, script);
    it_raw_sends(fd, "PING\r\n");
    int r = it_raw_read_until(fd, b, "PONG\r\n", 5000);
    IT_CHECK(r == IT_FOUND && b->len == strlen(want) && !memcmp(b->data, want, b->len),
             "%s: got [%.*s], want [%s]", what, (int)b->len, b->data ? b->data : "", want);
}

static void test_permissions(const it_server *s)
{
    it_buf b = {0}, ob = {0};
    int fd = login(s, "pub", &b), other = login(s, "all", &ob);
    if (fd < 0 || other < 0)
        goto out;
    expect_session(fd, &b, "PUB b.x 1\r\nx\r\nPUB a.secret 1\r\nx\r\n",
                   "-ERR 'Permissions Violation for Publish to \"b.x\"'\r\n"
                   "-ERR 'Permissions Violation for Publish to \"a.secret\"'\r\nPONG\r\n",
                   "publish outside the allow list and on a denied subject");
    expect_session(fd, &b, "SUB b.x 1\r\nSUB q.x 2\r\nSUB q.x grp 3\r\nSUB q.x other 4\r\n"
                   "SUB a.hidden 5\r\nSUB a.> 6\r\nSUB fence 7\r\n",
                   "-ERR 'Permissions Violation for Subscription to \"b.x\"'\r\n"
                   "-ERR 'Permissions Violation for Subscription to \"q.x\"'\r\n"
                   "-ERR 'Permissions Violation for Subscription to \"q.x\" using queue \"other\"'\r\n"
                   "-ERR 'Permissions Violation for Subscription to \"a.hidden\"'\r\nPONG\r\n",
                   "subscribe allow/deny and queue entries");
    /* a.> overlaps the denied a.hidden: those messages are filtered */
    it_buf_reset(&b);
    it_raw_sends(other, "PUB a.hidden 1\r\nh\r\nPUB a.vis 1\r\nv\r\nPUB q.x 1\r\nq\r\nPUB fence 1\r\nf\r\n");
    int r = it_raw_read_until(fd, &b, "MSG fence 7 1\r\nf\r\n", 5000);
    IT_CHECK(r == IT_FOUND && !it_buf_contains(&b, "a.hidden") && it_buf_contains(&b, "MSG a.vis 6 1\r\n") &&
             it_buf_contains(&b, "MSG q.x 3 1\r\n"),
             "a.hidden filtered, a.vis and the queue delivery pass: [%.*s]", (int)b.len, b.data);
    /* a publish that is allowed still routes */
    expect_session(fd, &b, "PUB a.own 2\r\nok\r\n", "MSG a.own 6 2\r\nok\r\nPONG\r\n",
                   "an allowed publish is delivered (echo)");
out:
    if (fd >= 0)
        close(fd);
    if (other >= 0)
        close(other);
    it_buf_free(&b);
    it_buf_free(&ob);
}

static void test_allow_responses(const it_server *s)
{
    it_buf b = {0}, rb = {0};
    int req = login(s, "all", &b), resp = login(s, "resp", &rb);
    if (req < 0 || resp < 0)
        goto out;
    expect_session(resp, &rb, "SUB req.* 1\r\nPUB other 1\r\nx\r\n",
                   "-ERR 'Permissions Violation for Publish to \"other\"'\r\nPONG\r\n",
                   "allow_responses alone allows no other publish");
    it_raw_sends(req, "SUB reply.> 9\r\nPUB req.x reply.1 1\r\nq\r\n");
    int r = it_raw_read_until(resp, &rb, "MSG req.x 1 reply.1 1\r\nq\r\n", 5000);
    IT_CHECK(r == IT_FOUND, "the responder gets the request");
    expect_session(resp, &rb, "PUB reply.1 2\r\nr1\r\nPUB reply.1 2\r\nr2\r\nPUB reply.1 2\r\nr3\r\n",
                   "-ERR 'Permissions Violation for Publish to \"reply.1\"'\r\nPONG\r\n",
                   "max 2 responses to the reply subject");
    it_buf_reset(&b);
    r = it_raw_read_until(req, &b, "MSG reply.1 9 2\r\nr2\r\n", 5000);
    IT_CHECK(r == IT_FOUND && !it_buf_contains(&b, "r3"), "the requester gets r1 and r2: [%.*s]",
             (int)b.len, b.data);
out:
    if (req >= 0)
        close(req);
    if (resp >= 0)
        close(resp);
    it_buf_free(&b);
    it_buf_free(&rb);
}

static void test_limits(const it_server *s)
{
    it_buf b = {0}, b2 = {0}, b3 = {0};
    int c1 = login(s, "l", &b), c2 = login(s, "l", &b2);
    if (c1 < 0 || c2 < 0)
        goto out;
    expect_session(c1, &b, "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\n",
                   "-ERR 'maximum subscriptions exceeded'\r\n"
                   "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n",
                   "max_subscriptions per connection");
    expect_session(c2, &b2, "SUB a 1\r\nSUB b 2\r\n", "PONG\r\n",
                   "another connection has its own count");
    /* a third connection of the account */
    int c3 = it_raw_connect(s->port, 0);
    if (IT_CHECK(c3 >= 0, "third connection")) {
        it_raw_read_until(c3, &b3, "\r\n", 5000);
        it_buf_reset(&b3);
        it_raw_sends(c3, "CONNECT {\"verbose\":false,\"user\":\"l\",\"pass\":\"p\"}\r\nPING\r\n");
        int r = it_raw_read_to_close(c3, &b3, 5000);
        IT_CHECK(r == IT_CLOSED && b3.len == strlen("-ERR 'maximum account active connections exceeded'\r\n") &&
                 !memcmp(b3.data, "-ERR 'maximum account active connections exceeded'\r\n", b3.len),
                 "max_connections: [%.*s], closed", (int)b3.len, b3.data);
        close(c3);
    }
    /* max_payload: the account's 100 bytes, below the server's */
    char big[300];
    memset(big, 'x', sizeof big);
    snprintf(big, sizeof big, "PUB a 101\r\n");
    size_t hl = strlen(big);
    memset(big + hl, 'x', 101);
    memcpy(big + hl + 101, "\r\n", 3);
    it_buf_reset(&b);
    it_raw_sends(c1, "PUB a 100\r\n");
    char hundred[103];
    memset(hundred, 'y', 100);
    memcpy(hundred + 100, "\r\n", 3);
    it_raw_sends(c1, hundred);
    it_raw_sends(c1, big);
    int r = it_raw_read_to_close(c1, &b, 5000);
    IT_CHECK(r == IT_CLOSED && it_buf_contains(&b, "MSG a 1 100\r\n") &&
             it_buf_contains(&b, "-ERR 'Maximum Payload Violation'\r\n"),
             "100 bytes pass, 101 close the connection: [%.*s]", (int)b.len, b.data);
    close(c1);
    c1 = -1;
out:
    if (c1 >= 0)
        close(c1);
    if (c2 >= 0)
        close(c2);
    it_buf_free(&b);
    it_buf_free(&b2);
    it_buf_free(&b3);
}

int main(void)
{
    it_server s;
    it_opts o = {.auth_yaml = yaml, .auth_conf = conf};
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts"))
        return it_summary();
    test_permissions(&s);
    test_allow_responses(&s);
    test_limits(&s);
    it_server_stop(&s);
    return it_summary();
}
