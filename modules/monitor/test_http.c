/* The monitor's HTTP layer on its own: bytes in as a socket delivers them
 * (whole, split at every offset, pipelined), answers out through the
 * writer, compared with what Go's net/http (nats-server) sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

typedef struct sink {
    char   out[1 << 16];
    size_t len;
    int    requests;
    char   last_path[256];
    char   last_query[256];
    char   last_method[16];
} sink;

static void handler(void *ud, const mon_http_req *req, mon_http_resp *resp)
{
    sink *s = ud;
    s->requests++;
    snprintf(s->last_path, sizeof s->last_path, "%s", req->path);
    snprintf(s->last_query, sizeof s->last_query, "%s", req->query);
    snprintf(s->last_method, sizeof s->last_method, "%s", req->method);
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = strdup("{\"status\":\"ok\"}");
    resp->len = strlen(resp->body);
}

static int writer(void *ud, const void *bytes, size_t len)
{
    sink *s = ud;
    assert_true(s->len + len <= sizeof s->out);
    memcpy(s->out + s->len, bytes, len);
    s->len += len;
    s->out[s->len] = '\0';
    return 0;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Feed text in one piece; the final verdict. */
static int feed_all(sink *s, const char *text)
{
    mon_http_conn *c = mon_http_conn_new(handler, writer, s);
    int r = mon_http_feed(c, text, strlen(text));
    mon_http_conn_free(c);
    return r;
}

static void test_get_keep_alive(void **state)
{
    (void)state;
    sink s = {0};
    mon_http_conn *c = mon_http_conn_new(handler, writer, &s);
    const char *req = "GET /varz?a=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(mon_http_feed(c, req, strlen(req)), MON_HTTP_OPEN);
    assert_int_equal(s.requests, 1);
    assert_string_equal(s.last_path, "/varz");
    assert_string_equal(s.last_query, "a=1");
    assert_non_null(strstr(s.out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(s.out, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(s.out, "Content-Length: 15\r\n"));
    assert_non_null(strstr(s.out, "\r\nDate: "));
    assert_null(strstr(s.out, "Connection:"));
    assert_non_null(strstr(s.out, "\r\n\r\n{\"status\":\"ok\"}"));
    /* the same connection serves the next request */
    assert_int_equal(mon_http_feed(c, req, strlen(req)), MON_HTTP_OPEN);
    assert_int_equal(s.requests, 2);
    mon_http_conn_free(c);
}

/* Every split point of a pipelined pair gives the same two answers. */
static void test_split_and_pipelined(void **state)
{
    (void)state;
    const char *req = "GET /a%20b HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n"
                      "HEAD /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    size_t len = strlen(req);
    for (size_t cut = 0; cut <= len; cut++) {
        sink s = {0};
        mon_http_conn *c = mon_http_conn_new(handler, writer, &s);
        int r1 = mon_http_feed(c, req, cut);
        int r2 = r1 == MON_HTTP_OPEN ? mon_http_feed(c, req + cut, len - cut) : r1;
        assert_int_equal(r2, MON_HTTP_CLOSE);
        assert_int_equal(s.requests, 2);
        assert_string_equal(s.last_path, "/c");
        assert_string_equal(s.last_method, "HEAD");
        assert_int_equal(count(s.out, "HTTP/1.1 200 OK"), 2);
        /* HEAD: the length of the body that was not sent */
        const char *second = strstr(s.out + 1, "HTTP/1.1 200 OK");
        assert_non_null(strstr(second, "Connection: close\r\n"));
        assert_true(s.len >= 15 && strcmp(s.out + s.len - 4, "\r\n\r\n") == 0);
        mon_http_conn_free(c);
    }
}

static void test_http10(void **state)
{
    (void)state;
    sink s = {0};
    assert_int_equal(feed_all(&s, "GET /healthz HTTP/1.0\r\n\r\n"), MON_HTTP_CLOSE);
    assert_int_equal(s.requests, 1);
    assert_non_null(strstr(s.out, "HTTP/1.0 200 OK\r\n"));
    sink k = {0};
    assert_int_equal(feed_all(&k, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
                     MON_HTTP_OPEN);
    assert_non_null(strstr(k.out, "Connection: keep-alive\r\n"));
}

static void expect_failure(const char *req, const char *status_line)
{
    sink s = {0};
    assert_int_equal(feed_all(&s, req), MON_HTTP_CLOSE);
    assert_int_equal(s.requests, 0);
    char want[512];
    snprintf(want, sizeof want,
             "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s",
             status_line, status_line);
    assert_string_equal(s.out, want);
}

/* The bytes Go's net/http sends for these (checked against nats-server). */
static void test_malformed(void **state)
{
    (void)state;
    expect_failure("GARBAGE\r\n\r\n", "400 Bad Request");
    expect_failure("\x01\x02\x03\r\n\r\n", "400 Bad Request");
    expect_failure("GET /varz HTTP/1.1\r\nHost\r\n\r\n", "400 Bad Request");
    expect_failure("GET /healthz HTTP/1.1\r\n\r\n",
                   "400 Bad Request: missing required Host header");
    expect_failure("GET /varz HTTP/9.9\r\nHost: x\r\n\r\n",
                   "505 HTTP Version Not Supported: unsupported protocol version");
}

static void test_limits(void **state)
{
    (void)state;
    size_t n = MON_HTTP_MAX_HEADER + 100;
    char *big = malloc(n + 64);
    int off = snprintf(big, n + 64, "GET /healthz HTTP/1.1\r\nHost: x\r\nX: ");
    memset(big + off, 'a', n);
    strcpy(big + off + n, "\r\n\r\n");
    sink s = {0};
    mon_http_conn *c = mon_http_conn_new(handler, writer, &s);
    /* as a socket delivers it: in pieces */
    int r = MON_HTTP_OPEN;
    for (size_t i = 0; i < strlen(big) && r == MON_HTTP_OPEN; i += 1000) {
        size_t len = strlen(big) - i < 1000 ? strlen(big) - i : 1000;
        r = mon_http_feed(c, big + i, len);
    }
    assert_int_equal(r, MON_HTTP_CLOSE);
    assert_int_equal(s.requests, 0);
    assert_non_null(strstr(s.out, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    /* later bytes are ignored */
    assert_int_equal(mon_http_feed(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), MON_HTTP_CLOSE);
    assert_int_equal(s.requests, 0);
    mon_http_conn_free(c);
    free(big);

    sink b = {0};
    char hdr[128];
    snprintf(hdr, sizeof hdr, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
             MON_HTTP_MAX_BODY + 1);
    c = mon_http_conn_new(handler, writer, &b);
    assert_int_equal(mon_http_feed(c, hdr, strlen(hdr)), MON_HTTP_OPEN);
    char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    r = MON_HTTP_OPEN;
    for (size_t sent = 0; sent <= MON_HTTP_MAX_BODY && r == MON_HTTP_OPEN; sent += sizeof chunk)
        r = mon_http_feed(c, chunk, sizeof chunk);
    assert_int_equal(r, MON_HTTP_CLOSE);
    assert_int_equal(b.requests, 0);
    assert_non_null(strstr(b.out, "413 Request Entity Too Large"));
    mon_http_conn_free(c);

    /* a small body is read and dropped; the request is answered */
    sink ok = {0};
    assert_int_equal(feed_all(&ok, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                                   "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"),
                     MON_HTTP_OPEN);
    assert_int_equal(ok.requests, 2);
    assert_string_equal(ok.last_path, "/x");
}

static void test_url_forms(void **state)
{
    (void)state;
    sink s = {0};
    feed_all(&s, "GET http://host:1/healthz?x=%41 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(s.requests, 1);
    assert_string_equal(s.last_path, "/healthz");
    assert_string_equal(s.last_query, "x=%41");
    sink bad = {0};
    assert_int_equal(feed_all(&bad, "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"), MON_HTTP_CLOSE);
    assert_int_equal(bad.requests, 0);
    assert_non_null(strstr(bad.out, "400 Bad Request"));
}

static void test_query_get(void **state)
{
    (void)state;
    char *v;
    assert_string_equal(v = mon_http_query_get("a=1&callback=f%20g+h&callback=z", "callback"),
                        "f g h");
    free(v);
    assert_string_equal(v = mon_http_query_get("subs", "subs"), "");
    free(v);
    assert_null(mon_http_query_get("a=1", "b"));
    assert_null(mon_http_query_get("", "b"));
    /* a bad escape or a ';' drops the pair, as Go's ParseQuery */
    assert_string_equal(v = mon_http_query_get("cb=%zz&cb=ok", "cb"), "ok");
    free(v);
    assert_null(mon_http_query_get("cb=x;y", "cb"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_keep_alive), cmocka_unit_test(test_split_and_pipelined),
        cmocka_unit_test(test_http10),         cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),         cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_query_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
