/* Unit tests for the cluster module's route protocol pieces
 * (modules/cluster): the resumable parser (every op, nats-server 2.9's
 * argument rules, the same ops whether bytes arrive whole, split at every
 * offset, or one byte at a time), the framing of RS+/RS-/RMSG/HMSG, route
 * INFO/CONNECT JSON, route URLs and the client connect_urls list.
 *
 * Wire samples marked "2.9.10" were captured from the installed
 * nats-server over a raw route socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"
#include "rconf.h"
#include "rframe.h"
#include "rinfo.h"
#include "rparse.h"

/* ---- a recorder: one line per op ------------------------------------- */

typedef struct rec {
    cl_buf log;
    int stop_at;       /* 1-based op number whose callback returns 7 */
    int n;
} rec;

static void put_arg(cl_buf *b, const char *name, const char *v)
{
    if (v)
        cl_buf_fmt(b, " %s=%s", name, v);
}

static int on_op(void *ud, const cl_op *op)
{
    rec *r = ud;
    cl_buf *b = &r->log;
    r->n++;
    static const char *const names[] = { "?", "INFO", "CONNECT", "PING", "PONG", "OK", "ERR",
                                         "SUB", "UNSUB", "MSG", "ACCOUNT" };
    cl_buf_str(b, names[op->kind]);
    if (op->arg)
        cl_buf_fmt(b, " [%.*s]", (int)op->arg_len, op->arg);
    if (op->leaf)
        cl_buf_str(b, " leaf");
    put_arg(b, "origin", op->origin);
    put_arg(b, "acc", op->account);
    put_arg(b, "subj", op->subject);
    put_arg(b, "q", op->queue);
    if (op->kind == CL_OP_SUB && op->queue)
        cl_buf_fmt(b, " w=%u", op->weight);
    put_arg(b, "reply", op->reply);
    for (size_t i = 0; i < op->nqueues; i++)
        cl_buf_fmt(b, " q%zu=%s", i, op->queues[i]);
    if (op->kind == CL_OP_MSG)
        cl_buf_fmt(b, " hdr=%zu len=%zu data=[%.*s]", op->hdr_len, op->len, (int)op->len, op->data);
    cl_buf_str(b, "\n");
    return r->n == r->stop_at ? 7 : 0;
}

/* Parse in with every chunking; all must give the same log and status. */
static char *parse_all_ways(const char *in, size_t len, int *status)
{
    char *first = NULL;
    int first_rc = 0;
    for (size_t step = 0; step <= len; step++) {
        /* step 0: whole; step k: chunks of k bytes; then split at every offset */
        for (size_t split = 0; split <= (step == 0 ? len : 0); split++) {
            cl_parser p;
            cl_parse_init(&p);
            rec r = { .log = { .b = NULL } };
            int rc = 0;
            if (step == 0) {
                rc = cl_parse_feed(&p, in, split, on_op, &r);
                if (rc == 0)
                    rc = cl_parse_feed(&p, in + split, len - split, on_op, &r);
            } else {
                for (size_t off = 0; off < len && rc == 0; off += step) {
                    size_t n = len - off < step ? len - off : step;
                    rc = cl_parse_feed(&p, in + off, n, on_op, &r);
                }
            }
            cl_buf_str(&r.log, "");
            if (!first) {
                first = strdup(r.log.b ? r.log.b : "");
                first_rc = rc;
            } else {
                if (strcmp(first, r.log.b ? r.log.b : "") || rc != first_rc)
                    fail_msg("chunking step=%zu split=%zu differs:\n%s\nvs\n%s", step, split, first,
                             r.log.b);
            }
            cl_buf_free(&r.log);
            cl_parse_free(&p);
        }
    }
    *status = first_rc;
    return first;
}

static void expect_parse(const char *in, const char *want, int want_rc)
{
    int rc;
    char *got = parse_all_ways(in, strlen(in), &rc);
    if (strcmp(got, want)) {
        fprintf(stderr, "input: %s\ngot:\n%s\nwant:\n%s\n", in, got, want);
        fail();
    }
    assert_int_equal(rc, want_rc);
    free(got);
}

static void test_control_ops(void **state)
{
    (void)state;
    expect_parse("PING\r\nPONG\r\n+OK\r\nping\r\n-ERR 'Stale Connection'\r\n",
                 "PING\nPONG\nOK\nPING\nERR ['Stale Connection']\n", 0);
    expect_parse("INFO {\"server_id\":\"N1\",\"port\":1} \r\nCONNECT {\"name\":\"N2\"}\r\n",
                 "INFO [{\"server_id\":\"N1\",\"port\":1}]\nCONNECT [{\"name\":\"N2\"}]\n", 0);
    expect_parse("A+ acc\r\nA- acc\r\n", "ACCOUNT\nACCOUNT\n", 0);
    /* a partial op stays pending: nothing, no error */
    expect_parse("PIN", "", 0);
}

static void test_subs(void **state)
{
    (void)state;
    /* 2.9.10 sends these on a route */
    expect_parse("RS+ $G foo\r\nRS+ $G foo q 2\r\nRS- $G foo\r\nRS- $G foo q\r\n",
                 "SUB acc=$G subj=foo\n"
                 "SUB acc=$G subj=foo q=q w=2\n"
                 "UNSUB acc=$G subj=foo\n"
                 "UNSUB acc=$G subj=foo q=q\n", 0);
    expect_parse("rs+\tA  b.*\t\r\n", "SUB acc=A subj=b.*\n", 0);
    expect_parse("LS+ hub A x q 3\r\nLS- A x q\r\n",
                 "SUB leaf origin=hub acc=A subj=x q=q w=3\nUNSUB leaf acc=A subj=x q=q\n", 0);
    /* a weight that is no number counts as one member */
    expect_parse("RS+ A x q zz\r\n", "SUB acc=A subj=x q=q w=1\n", 0);
    /* wrong argument counts close the route */
    expect_parse("RS+ A\r\n", "", -1);
    expect_parse("RS+ A x q\r\n", "", -1);
    expect_parse("RS- A x q extra\r\n", "", -1);
}

static void test_msgs(void **state)
{
    (void)state;
    /* 2.9.10 forms */
    expect_parse("RMSG $G bar | q 1\r\nx\r\nRMSG $G bar + rr q 1\r\nx\r\n",
                 "MSG acc=$G subj=bar q0=q hdr=0 len=1 data=[x]\n"
                 "MSG acc=$G subj=bar reply=rr q0=q hdr=0 len=1 data=[x]\n", 0);
    expect_parse("RMSG A s 5\r\nhello\r\nRMSG A s r 0\r\n\r\n",
                 "MSG acc=A subj=s hdr=0 len=5 data=[hello]\n"
                 "MSG acc=A subj=s reply=r hdr=0 len=0 data=[]\n", 0);
    expect_parse("RMSG A s | q1 q2 q3 2\r\nab\r\n",
                 "MSG acc=A subj=s q0=q1 q1=q2 q2=q3 hdr=0 len=2 data=[ab]\n", 0);
    expect_parse("HMSG A s 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
                 "MSG acc=A subj=s hdr=12 len=14 data=[NATS/1.0\r\n\r\nhi]\n", 0);
    expect_parse("HMSG A s + r q 12 12\r\nNATS/1.0\r\n\r\n\r\n",
                 "MSG acc=A subj=s reply=r q0=q hdr=12 len=12 data=[NATS/1.0\r\n\r\n]\n", 0);
    expect_parse("LMSG hub A s | q 0 1\r\nz\r\n",
                 "MSG leaf origin=hub acc=A subj=s q0=q hdr=0 len=1 data=[z]\n", 0);
    /* payload bytes that look like ops are payload */
    expect_parse("RMSG A s 6\r\nPING\r\n\r\nPONG\r\n",
                 "MSG acc=A subj=s hdr=0 len=6 data=[PING\r\n]\nPONG\n", 0);
}

static void test_msg_errors(void **state)
{
    (void)state;
    expect_parse("RMSG A s\r\n", "", -1);                    /* no size */
    expect_parse("RMSG A s x q 1\r\nx\r\n", "", -1);          /* bad reply indicator */
    expect_parse("RMSG A s r 1x\r\n", "", -1);               /* bad size */
    expect_parse("RMSG A s 1234567890\r\n", "", -1);         /* more than 9 digits */
    expect_parse("HMSG A s 5 3\r\nabc\r\n", "", -1);         /* header larger than total */
    expect_parse("RMSG A s 1\r\nxy\r\n", "", -1);            /* no CRLF after the payload */
    expect_parse("FOO bar\r\n", "", -1);
    expect_parse("\r\n", "", -1);
}

static void test_callback_stops(void **state)
{
    (void)state;
    cl_parser p;
    cl_parse_init(&p);
    rec r = { .stop_at = 2 };
    const char *in = "PING\r\nPONG\r\nPING\r\n";
    assert_int_equal(cl_parse_feed(&p, in, strlen(in), on_op, &r), 7);
    assert_string_equal(r.log.b, "PING\nPONG\n");
    cl_buf_free(&r.log);
    cl_parse_free(&p);
}

static void test_large_payload(void **state)
{
    (void)state;
    size_t n = 200000;
    char *in = malloc(n + 64);
    int k = snprintf(in, 64, "RMSG A big %zu\r\n", n);
    memset(in + k, 'z', n);
    memcpy(in + k + n, "\r\nPING\r\n", 8);
    size_t len = (size_t)k + n + 8;
    for (size_t step = 1000; step <= 70000; step += 23000) {
        cl_parser p;
        cl_parse_init(&p);
        rec r = { .log = { .b = NULL } };
        for (size_t off = 0; off < len; off += step)
            assert_int_equal(cl_parse_feed(&p, in + off, len - off < step ? len - off : step, on_op, &r), 0);
        assert_int_equal(r.n, 2);
        assert_non_null(strstr(r.log.b, "len=200000"));
        cl_buf_free(&r.log);
        cl_parse_free(&p);
    }
    free(in);
}

/* ---- framing --------------------------------------------------------- */

static void test_frames(void **state)
{
    (void)state;
    cl_buf b = { .b = NULL };
    cl_frame_sub(&b, "$G", "foo", NULL, 0);
    cl_frame_sub(&b, "$G", "foo", "q", 3);
    cl_frame_unsub(&b, "$G", "foo", "q");
    cl_frame_unsub(&b, "$G", "foo", NULL);
    assert_string_equal(b.b, "RS+ $G foo\r\nRS+ $G foo q 3\r\nRS- $G foo q\r\nRS- $G foo\r\n");

    const char *q[] = { "q1", "q2" };
    cl_buf_reset(&b);
    cl_frame_msg(&b, "A", "s", NULL, NULL, 0, "hi", 0, 2, true);
    cl_frame_msg(&b, "A", "s", "r", NULL, 0, "hi", 0, 2, true);
    cl_frame_msg(&b, "A", "s", NULL, q, 1, "hi", 0, 2, true);
    cl_frame_msg(&b, "A", "s", "r", q, 2, "hi", 0, 2, true);
    assert_string_equal(b.b, "RMSG A s 2\r\nhi\r\n"
                             "RMSG A s r 2\r\nhi\r\n"
                             "RMSG A s | q1 2\r\nhi\r\n"
                             "RMSG A s + r q1 q2 2\r\nhi\r\n");

    const char *hm = "NATS/1.0\r\n\r\nhi";
    cl_buf_reset(&b);
    cl_frame_msg(&b, "A", "s", "r", q, 1, hm, 12, 14, true);
    assert_string_equal(b.b, "HMSG A s + r q1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    /* a peer without headers gets the payload only */
    cl_buf_reset(&b);
    cl_frame_msg(&b, "A", "s", NULL, NULL, 0, hm, 12, 14, false);
    assert_string_equal(b.b, "RMSG A s 2\r\nhi\r\n");

    /* what we frame, we parse back the same */
    cl_buf_reset(&b);
    cl_frame_msg(&b, "A", "s", "r", q, 2, hm, 12, 14, true);
    int rc;
    char *got = parse_all_ways(b.b, b.len, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "MSG acc=A subj=s reply=r q0=q1 q1=q2 hdr=12 len=14 data=[NATS/1.0\r\n\r\nhi]\n");
    free(got);
    cl_buf_free(&b);
}

/* ---- INFO / CONNECT -------------------------------------------------- */

static void test_info_line(void **state)
{
    (void)state;
    const char *urls[] = { "127.0.0.1:4222" };
    cl_self s = { .server_id = "NABC", .server_name = "n1", .version = "2.9.10", .host = "127.0.0.1",
                  .port = 6222, .max_payload = 1048576, .cluster = "c1", .connect_urls = urls,
                  .n_connect_urls = 1 };
    char *l = cl_info_line(&s, "nonce1");
    assert_string_equal(l, "INFO {\"server_id\":\"NABC\",\"server_name\":\"n1\",\"version\":\"2.9.10\","
                           "\"proto\":2,\"host\":\"127.0.0.1\",\"port\":6222,\"headers\":true,"
                           "\"max_payload\":1048576,\"nonce\":\"nonce1\",\"cluster\":\"c1\","
                           "\"connect_urls\":[\"127.0.0.1:4222\"],\"lnoc\":true} \r\n");
    free(l);
    s.auth_required = s.tls_required = s.dynamic = true;
    s.ip = "nats-route://10.0.0.1:7000/";
    s.n_connect_urls = 0;
    l = cl_info_line(&s, NULL);
    assert_non_null(strstr(l, "\"auth_required\":true,\"tls_required\":true,\"tls_verify\":true"));
    assert_non_null(strstr(l, "\"cluster_dynamic\":true,\"ip\":\"nats-route://10.0.0.1:7000/\""));
    assert_null(strstr(l, "nonce"));
    assert_null(strstr(l, "connect_urls"));
    assert_null(strstr(l, "ldm"));
    free(l);
    /* lame duck mode and cluster.permissions, where 2.9.10 puts them */
    json_t *imp = json_pack("{s[s]}", "allow", "foo.>");
    json_t *exp = json_pack("{s[s]}", "deny", "bar");
    s.ldm = true;
    s.import_ = imp;
    s.export_ = exp;
    l = cl_info_line(&s, NULL);
    assert_non_null(strstr(l, "\"ldm\":true,\"import\":{\"allow\":[\"foo.>\"]},"
                              "\"export\":{\"deny\":[\"bar\"]},\"lnoc\":true} \r\n"));
    free(l);
    json_decref(imp);
    json_decref(exp);
}

static void test_info_parse_and_gossip(void **state)
{
    (void)state;
    /* the INFO 2.9.10 sends on its route port */
    const char *in = "{\"server_id\":\"NDSC\",\"server_name\":\"NDSC\",\"version\":\"2.9.10\",\"proto\":2,"
                     "\"go\":\"go1.19.8\",\"host\":\"127.0.0.1\",\"port\":42661,\"headers\":true,"
                     "\"max_payload\":1048576,\"nonce\":\"6wcYHnY97WIkgkw\",\"cluster\":\"abc\","
                     "\"connect_urls\":[\"127.0.0.1:50947\"],\"lnoc\":true}";
    cl_info i;
    char err[200];
    assert_int_equal(cl_info_parse(in, strlen(in), &i, err, sizeof err), 0);
    assert_string_equal(i.server_id, "NDSC");
    assert_string_equal(i.cluster, "abc");
    assert_string_equal(i.host, "127.0.0.1");
    assert_int_equal(i.port, 42661);
    assert_int_equal(i.proto, 2);
    assert_true(i.headers);
    assert_true(i.lnoc);
    assert_false(i.auth_required);
    assert_null(i.ip);
    assert_int_equal(i.n_connect_urls, 1);
    assert_string_equal(i.connect_urls[0], "127.0.0.1:50947");
    char *g = cl_info_gossip_line(&i, "10.1.2.3");
    assert_null(strstr(g, "nonce"));
    assert_non_null(strstr(g, "\"ip\":\"nats-route://10.1.2.3:42661/\""));
    assert_int_equal(strncmp(g, "INFO {", 6), 0);
    assert_string_equal(g + strlen(g) - 4, "} \r\n");
    free(g);
    cl_info_free(&i);

    assert_int_equal(cl_info_parse("[1]", 3, &i, err, sizeof err), -1);
    assert_int_equal(cl_info_parse("{\"port\":1}", 10, &i, err, sizeof err), -1);
    assert_int_equal(cl_info_parse("{bad", 4, &i, err, sizeof err), -1);
}

static void test_connect(void **state)
{
    (void)state;
    cl_connect c = { .user = "ru", .pass = "rp", .headers = true, .name = "NME", .cluster = "c1" };
    char *l = cl_connect_line(&c);
    /* nats-server's connectInfo field order and omissions */
    assert_string_equal(l, "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"ru\","
                           "\"pass\":\"rp\",\"tls_required\":false,\"headers\":true,\"name\":\"NME\","
                           "\"cluster\":\"c1\",\"lnoc\":true}\r\n");
    free(l);
    cl_connect_in in;
    char err[100];
    const char *js = "{\"echo\":true,\"user\":\"u\",\"pass\":\"p\",\"name\":\"N9\",\"cluster\":\"c\","
                     "\"cluster_dynamic\":true,\"headers\":true,\"lang\":\"go\"}";
    assert_int_equal(cl_connect_parse(js, strlen(js), &in, err, sizeof err), 0);
    assert_string_equal(in.user, "u");
    assert_string_equal(in.pass, "p");
    assert_string_equal(in.name, "N9");
    assert_string_equal(in.cluster, "c");
    assert_string_equal(in.lang, "go");
    assert_true(in.dynamic);
    assert_true(in.headers);
    assert_null(in.gateway);
    cl_connect_free(&in);
    assert_int_equal(cl_connect_parse("nope", 4, &in, err, sizeof err), -1);
}

/* ---- URLs -------------------------------------------------------------- */

static void test_urls(void **state)
{
    (void)state;
    cl_url u;
    char err[200];
    assert_int_equal(cl_url_parse("nats-route://127.0.0.1:6222", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6222);
    assert_null(u.user);
    cl_url_free(&u);
    assert_int_equal(cl_url_parse("nats://r%40x:p%3Aw@Host.Example:7/", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "r@x");
    assert_string_equal(u.pass, "p:w");
    assert_string_equal(u.host, "Host.Example");
    assert_int_equal(u.port, 7);
    cl_url v;
    assert_int_equal(cl_url_parse("nats-route://host.example:7", &v, err, sizeof err), 0);
    assert_true(cl_url_same(&u, &v));
    cl_url_free(&u);
    cl_url_free(&v);
    assert_int_equal(cl_url_parse("nats-route://[::1]:4000", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 4000);
    cl_url_free(&u);
    assert_int_equal(cl_url_parse("127.0.0.1:6222", &u, err, sizeof err), -1);
    assert_int_equal(cl_url_parse("http://h:1", &u, err, sizeof err), -1);
    assert_int_equal(cl_url_parse("nats-route://h", &u, err, sizeof err), -1);
    assert_int_equal(cl_url_parse("nats-route://h:99999", &u, err, sizeof err), -1);

    char hp[64];
    cl_hostport(hp, sizeof hp, "Host", 5);
    assert_string_equal(hp, "host:5");
    cl_hostport(hp, sizeof hp, "::1", 5);
    assert_string_equal(hp, "[::1]:5");
}

static void test_connect_urls(void **state)
{
    (void)state;
    char *own[] = { "127.0.0.1:1" };
    const char *p1[] = { "127.0.0.1:2", "127.0.0.1:1" };
    const char *p2[] = { "127.0.0.1:3" };
    const char *const *lists[] = { p1, p2 };
    size_t lens[] = { 2, 1 };
    char *js = cl_urls_json(own, 1, lists, lens, 2);
    assert_string_equal(js, "[\"127.0.0.1:1\",\"127.0.0.1:2\",\"127.0.0.1:3\"]");
    free(js);
    js = cl_urls_json(own, 1, NULL, NULL, 0);
    assert_string_equal(js, "[\"127.0.0.1:1\"]");
    free(js);
}

/* cluster.permissions matching: nats-server's sublist match of a
 * (possibly wildcard) subject against allow/deny patterns. */
static void test_perms(void **state)
{
    (void)state;
    char *allow[] = { "foo.>", "bar.*", "baz" }, *deny[] = { "foo.secret", "bar.>" };
    cl_perm none = { 0 };
    assert_true(cl_perm_allows(&none, "anything.>"));
    assert_false(cl_perm_set(&none));
    cl_perm a = { .allow = allow, .nallow = 3 };
    assert_true(cl_perm_allows(&a, "foo.x"));
    assert_true(cl_perm_allows(&a, "foo.x.y"));
    assert_true(cl_perm_allows(&a, "foo.*"));
    assert_true(cl_perm_allows(&a, "foo.>"));
    assert_false(cl_perm_allows(&a, "foo"));
    assert_true(cl_perm_allows(&a, "bar.x"));
    assert_true(cl_perm_allows(&a, "bar.*"));
    assert_true(cl_perm_allows(&a, "bar.>"));       /* nats-server: '*' covers any one token */
    assert_false(cl_perm_allows(&a, "bar.x.y"));
    assert_true(cl_perm_allows(&a, "baz"));
    assert_false(cl_perm_allows(&a, "baz.x"));
    assert_false(cl_perm_allows(&a, ">"));
    cl_perm d = { .deny = deny, .ndeny = 2 };
    assert_true(cl_perm_set(&d));
    assert_false(cl_perm_allows(&d, "foo.secret"));
    assert_true(cl_perm_allows(&d, "foo.>"));        /* the message filter drops foo.secret */
    assert_false(cl_perm_allows(&d, "bar.x"));
    assert_true(cl_perm_allows(&d, "bar"));
    cl_perm ad = { .allow = allow, .nallow = 3, .deny = deny, .ndeny = 2 };
    assert_false(cl_perm_allows(&ad, "bar.x"));
    assert_true(cl_perm_allows(&ad, "foo.y"));
    assert_true(cl_perm_equal(&ad, &ad));
    assert_false(cl_perm_equal(&a, &ad));
    assert_false(cl_perm_equal(&none, &d));
    json_t *j = cl_perm_json(&ad);
    char *t = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(t, "{\"allow\":[\"foo.>\",\"bar.*\",\"baz\"],\"deny\":[\"foo.secret\",\"bar.>\"]}");
    free(t);
    json_decref(j);
    assert_null(cl_perm_json(&none));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_ops),
        cmocka_unit_test(test_subs),
        cmocka_unit_test(test_msgs),
        cmocka_unit_test(test_msg_errors),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_large_payload),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_info_line),
        cmocka_unit_test(test_info_parse_and_gossip),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_connect_urls),
        cmocka_unit_test(test_perms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
