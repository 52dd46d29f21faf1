/* Unit tests for the SDK's wire library (sdk/include/tern/wire.h, the
 * NATS server-to-server ops the cluster, gateway and leafnode modules
 * speak): the resumable parser in both dialects (every op, nats-server
 * 2.9's argument rules, the same ops whether bytes arrive whole, split
 * at every offset, or one byte at a time) and the framing of
 * RS+/RS-/RMSG/HMSG and of the leaf LS+/LS-/LMSG/HMSG.
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

#include <tern/wire.h>

/* ---- a recorder: one line per op ------------------------------------- */

typedef struct rec {
    tern_wire_buf log;
    int stop_at;       /* 1-based op number whose callback returns 7 */
    int n;
} rec;

static void put_arg(tern_wire_buf *b, const char *name, const char *v)
{
    if (v)
        tern_wire_buf_fmt(b, " %s=%s", name, v);
}

static int on_op(void *ud, const tern_wire_op *op)
{
    rec *r = ud;
    tern_wire_buf *b = &r->log;
    r->n++;
    static const char *const names[] = { "?", "INFO", "CONNECT", "PING", "PONG", "OK", "ERR",
                                         "SUB", "UNSUB", "MSG", "ACCOUNT" };
    tern_wire_buf_str(b, names[op->kind]);
    if (op->arg)
        tern_wire_buf_fmt(b, " [%.*s]", (int)op->arg_len, op->arg);
    if (op->leaf)
        tern_wire_buf_str(b, " leaf");
    put_arg(b, "origin", op->origin);
    put_arg(b, "acc", op->account);
    put_arg(b, "subj", op->subject);
    put_arg(b, "q", op->queue);
    if (op->kind == TERN_WIRE_OP_SUB && op->queue)
        tern_wire_buf_fmt(b, " w=%u", op->weight);
    put_arg(b, "reply", op->reply);
    for (size_t i = 0; i < op->nqueues; i++)
        tern_wire_buf_fmt(b, " q%zu=%s", i, op->queues[i]);
    if (op->kind == TERN_WIRE_OP_MSG)
        tern_wire_buf_fmt(b, " hdr=%zu len=%zu data=[%.*s]", op->hdr_len, op->len, (int)op->len, op->data);
    tern_wire_buf_str(b, "\n");
    return r->n == r->stop_at ? 7 : 0;
}

/* Parse in with every chunking; all must give the same log and status. */
static char *parse_all_ways_d(const char *in, size_t len, tern_wire_dialect dialect, int *status)
{
    char *first = NULL;
    int first_rc = 0;
    for (size_t step = 0; step <= len; step++) {
        /* step 0: whole; step k: chunks of k bytes; then split at every offset */
        for (size_t split = 0; split <= (step == 0 ? len : 0); split++) {
            tern_wire_parser p;
            tern_wire_parse_init_dialect(&p, dialect);
            rec r = { .log = { .b = NULL } };
            int rc = 0;
            if (step == 0) {
                rc = tern_wire_parse_feed(&p, in, split, on_op, &r);
                if (rc == 0)
                    rc = tern_wire_parse_feed(&p, in + split, len - split, on_op, &r);
            } else {
                for (size_t off = 0; off < len && rc == 0; off += step) {
                    size_t n = len - off < step ? len - off : step;
                    rc = tern_wire_parse_feed(&p, in + off, n, on_op, &r);
                }
            }
            tern_wire_buf_str(&r.log, "");
            if (!first) {
                first = strdup(r.log.b ? r.log.b : "");
                first_rc = rc;
            } else {
                if (strcmp(first, r.log.b ? r.log.b : "") || rc != first_rc)
                    fail_msg("chunking step=%zu split=%zu differs:\n%s\nvs\n%s", step, split, first,
                             r.log.b);
            }
            tern_wire_buf_free(&r.log);
            tern_wire_parse_free(&p);
        }
    }
    *status = first_rc;
    return first;
}

static char *parse_all_ways(const char *in, size_t len, int *status)
{
    return parse_all_ways_d(in, len, TERN_WIRE_ROUTE, status);
}

static void expect_parse_d(tern_wire_dialect dialect, const char *in, const char *want,
                           int want_rc)
{
    int rc;
    char *got = parse_all_ways_d(in, strlen(in), dialect, &rc);
    if (strcmp(got, want)) {
        fprintf(stderr, "input: %s\ngot:\n%s\nwant:\n%s\n", in, got, want);
        fail();
    }
    assert_int_equal(rc, want_rc);
    free(got);
}

static void expect_parse(const char *in, const char *want, int want_rc)
{
    expect_parse_d(TERN_WIRE_ROUTE, in, want, want_rc);
}

static void expect_leaf(const char *in, const char *want, int want_rc)
{
    expect_parse_d(TERN_WIRE_LEAF, in, want, want_rc);
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

/* A message may list TERN_WIRE_MAX_QUEUES queue names, no more. */
static void test_queue_limit(void **state)
{
    (void)state;
    for (int leaf = 0; leaf <= 1; leaf++) {
        for (size_t nq = TERN_WIRE_MAX_QUEUES - 1; nq <= TERN_WIRE_MAX_QUEUES + 4; nq++) {
            tern_wire_buf in = { .b = NULL };
            tern_wire_buf_str(&in, leaf ? "LMSG s |" : "RMSG A s |");
            for (size_t i = 0; i < nq; i++)
                tern_wire_buf_fmt(&in, " q%zu", i);
            tern_wire_buf_str(&in, " 1\r\nx\r\n");
            tern_wire_parser p;
            tern_wire_parse_init_dialect(&p, leaf ? TERN_WIRE_LEAF : TERN_WIRE_ROUTE);
            rec r = { .log = { .b = NULL } };
            int rc = tern_wire_parse_feed(&p, in.b, in.len, on_op, &r);
            if (nq <= TERN_WIRE_MAX_QUEUES) {
                assert_int_equal(rc, 0);
                assert_int_equal(r.n, 1);
                char last[32];
                snprintf(last, sizeof last, " q%zu=q%zu ", nq - 1, nq - 1);
                assert_non_null(strstr(r.log.b, last));
            } else {
                assert_int_equal(rc, -1);
                assert_int_equal(r.n, 0);
                assert_non_null(strstr(p.err, "too many queue names"));
            }
            tern_wire_buf_free(&r.log);
            tern_wire_buf_free(&in);
            tern_wire_parse_free(&p);
        }
    }
}

/* A control line without end is refused once it is longer than
 * TERN_WIRE_MAX_CONTROL_LINE, whether it came in one read or many. */
static void test_control_line_limit(void **state)
{
    (void)state;
    size_t max = TERN_WIRE_MAX_CONTROL_LINE;
    char *in = malloc(max + 1);
    memcpy(in, "LS+ ", 4);
    memset(in + 4, 'x', max - 3);
    for (int leaf = 0; leaf <= 1; leaf++) {
        tern_wire_dialect d = leaf ? TERN_WIRE_LEAF : TERN_WIRE_ROUTE;
        for (size_t step = 1000; step <= max + 1; step += max / 2) {
            /* max bytes: still waiting for the end */
            tern_wire_parser p;
            tern_wire_parse_init_dialect(&p, d);
            rec r = { .log = { .b = NULL } };
            int rc = 0;
            for (size_t off = 0; off < max && rc == 0; off += step)
                rc = tern_wire_parse_feed(&p, in + off, max - off < step ? max - off : step, on_op, &r);
            assert_int_equal(rc, 0);
            /* one more: refused */
            assert_int_equal(tern_wire_parse_feed(&p, in + max, 1, on_op, &r), -1);
            assert_string_equal(p.err, "Maximum Control Line Exceeded");
            assert_int_equal(r.n, 0);
            tern_wire_parse_free(&p);
            /* the same bytes in one read */
            tern_wire_parse_init_dialect(&p, d);
            assert_int_equal(tern_wire_parse_feed(&p, in, max + 1, on_op, &r), -1);
            assert_string_equal(p.err, "Maximum Control Line Exceeded");
            tern_wire_parse_free(&p);
        }
    }
    free(in);
}

/* ---- the leaf dialect ------------------------------------------------ */

static void test_leaf_control_ops(void **state)
{
    (void)state;
    expect_leaf("PING\r\nPONG\r\n+OK\r\npong\r\n-ERR 'Loop detected'\r\n",
                "PING\nPONG\nOK\nPONG\nERR ['Loop detected']\n", 0);
    expect_leaf("INFO {\"server_id\":\"H\",\"leafnode_urls\":[]} \r\nCONNECT {\"hub\":false}\r\n",
                "INFO [{\"server_id\":\"H\",\"leafnode_urls\":[]}]\nCONNECT [{\"hub\":false}]\n", 0);
    expect_leaf("PIN", "", 0);
    /* the ops of routes and gateways are unknown on a leaf connection */
    expect_leaf("RS+ $G foo\r\n", "", -1);
    expect_leaf("RS- $G foo\r\n", "", -1);
    expect_leaf("RMSG $G foo 1\r\nx\r\n", "", -1);
    expect_leaf("A+ acc\r\n", "", -1);
    expect_leaf("A- acc\r\n", "", -1);
    expect_leaf("FOO bar\r\n", "", -1);
    expect_leaf("\r\n", "", -1);
    /* what came before the bad op was handed on */
    expect_leaf("PING\r\nRS+ $G foo\r\n", "PING\n", -1);
}

static void test_leaf_subs(void **state)
{
    (void)state;
    expect_leaf("LS+ foo\r\nLS+ foo q 2\r\nLS- foo\r\nLS- foo q\r\nLS+ $LDS.abc\r\n",
                "SUB leaf subj=foo\n"
                "SUB leaf subj=foo q=q w=2\n"
                "UNSUB leaf subj=foo\n"
                "UNSUB leaf subj=foo q=q\n"
                "SUB leaf subj=$LDS.abc\n", 0);
    expect_leaf("ls+\tb.*  \t\r\nls-  b.>\n", "SUB leaf subj=b.*\nUNSUB leaf subj=b.>\n", 0);
    /* a weight that is no number (or 0) counts as one member */
    expect_leaf("LS+ x q zz\r\nLS+ x q 0\r\n", "SUB leaf subj=x q=q w=1\nSUB leaf subj=x q=q w=1\n", 0);
    /* wrong argument counts close the connection */
    expect_leaf("LS+\r\n", "", -1);
    expect_leaf("LS+ x q\r\n", "", -1);
    expect_leaf("LS+ x q 1 extra\r\n", "", -1);
    expect_leaf("LS-\r\n", "", -1);
    expect_leaf("LS- x q extra\r\n", "", -1);
    /* a route's LS+ (origin account subject queue weight): too many */
    expect_leaf("LS+ hub A x q 1\r\n", "", -1);
    /* and the route dialect still wants the account */
    expect_parse("LS- x\r\n", "", -1);
}

static void test_leaf_msgs(void **state)
{
    (void)state;
    expect_leaf("LMSG s 5\r\nhello\r\nLMSG s r 0\r\n\r\n",
                "MSG leaf subj=s hdr=0 len=5 data=[hello]\n"
                "MSG leaf subj=s reply=r hdr=0 len=0 data=[]\n", 0);
    expect_leaf("LMSG s | q1 q2 2\r\nab\r\nLMSG s + rr q1 1\r\nx\r\n",
                "MSG leaf subj=s q0=q1 q1=q2 hdr=0 len=2 data=[ab]\n"
                "MSG leaf subj=s reply=rr q0=q1 hdr=0 len=1 data=[x]\n", 0);
    expect_leaf("HMSG s 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
                "MSG leaf subj=s hdr=12 len=14 data=[NATS/1.0\r\n\r\nhi]\n", 0);
    expect_leaf("HMSG s r 12 12\r\nNATS/1.0\r\n\r\n\r\nHMSG s + r q 12 12\r\nNATS/1.0\r\n\r\n\r\n",
                "MSG leaf subj=s reply=r hdr=12 len=12 data=[NATS/1.0\r\n\r\n]\n"
                "MSG leaf subj=s reply=r q0=q hdr=12 len=12 data=[NATS/1.0\r\n\r\n]\n", 0);
    expect_leaf("HMSG s | q1 q2 0 2\r\nab\r\n",
                "MSG leaf subj=s q0=q1 q1=q2 hdr=0 len=2 data=[ab]\n", 0);
    /* payload bytes that look like ops are payload */
    expect_leaf("LMSG s 6\r\nPING\r\n\r\nPONG\r\n",
                "MSG leaf subj=s hdr=0 len=6 data=[PING\r\n]\nPONG\n", 0);
}

static void test_leaf_msg_errors(void **state)
{
    (void)state;
    expect_leaf("LMSG s\r\n", "", -1);                     /* no size */
    expect_leaf("LMSG\r\n", "", -1);
    expect_leaf("HMSG s 5\r\nhello\r\n", "", -1);          /* no header size */
    expect_leaf("LMSG s x q 1\r\nx\r\n", "", -1);          /* bad reply indicator */
    expect_leaf("LMSG s ++ r q 1\r\nx\r\n", "", -1);
    expect_leaf("LMSG s r 1x\r\n", "", -1);                /* bad size */
    expect_leaf("LMSG s 1234567890\r\n", "", -1);          /* more than 9 digits */
    expect_leaf("HMSG s x 3\r\nabc\r\n", "", -1);          /* bad header size */
    expect_leaf("HMSG s 5 3\r\nabc\r\n", "", -1);          /* header larger than total */
    expect_leaf("LMSG s 1\r\nxy\r\n", "", -1);             /* no CRLF after the payload */
    expect_leaf("LMSG s 1\r\nx\n\n", "", -1);
    /* a route's LMSG (origin account … header size) is no leaf LMSG */
    expect_leaf("LMSG hub A s 0 1\r\nz\r\n", "", -1);
}

static void test_callback_stops(void **state)
{
    (void)state;
    tern_wire_parser p;
    tern_wire_parse_init(&p);
    rec r = { .stop_at = 2 };
    const char *in = "PING\r\nPONG\r\nPING\r\n";
    assert_int_equal(tern_wire_parse_feed(&p, in, strlen(in), on_op, &r), 7);
    assert_string_equal(r.log.b, "PING\nPONG\n");
    tern_wire_buf_free(&r.log);
    tern_wire_parse_free(&p);

    tern_wire_parse_init_dialect(&p, TERN_WIRE_LEAF);
    r = (rec){ .stop_at = 2 };
    in = "LS+ a\r\nLMSG a 1\r\nx\r\nPING\r\n";
    assert_int_equal(tern_wire_parse_feed(&p, in, strlen(in), on_op, &r), 7);
    assert_string_equal(r.log.b, "SUB leaf subj=a\nMSG leaf subj=a hdr=0 len=1 data=[x]\n");
    tern_wire_buf_free(&r.log);
    tern_wire_parse_free(&p);
}

static void large_payload(tern_wire_dialect d, const char *op)
{
    size_t n = 200000;
    char *in = malloc(n + 64);
    int k = snprintf(in, 64, "%s big %zu\r\n", op, n);
    memset(in + k, 'z', n);
    memcpy(in + k + n, "\r\nPING\r\n", 8);
    size_t len = (size_t)k + n + 8;
    for (size_t step = 1000; step <= 70000; step += 23000) {
        tern_wire_parser p;
        tern_wire_parse_init_dialect(&p, d);
        rec r = { .log = { .b = NULL } };
        for (size_t off = 0; off < len; off += step)
            assert_int_equal(tern_wire_parse_feed(&p, in + off, len - off < step ? len - off : step, on_op, &r), 0);
        assert_int_equal(r.n, 2);
        assert_non_null(strstr(r.log.b, "len=200000"));
        tern_wire_buf_free(&r.log);
        tern_wire_parse_free(&p);
    }
    free(in);
}

static void test_large_payload(void **state)
{
    (void)state;
    large_payload(TERN_WIRE_ROUTE, "RMSG A");
    large_payload(TERN_WIRE_LEAF, "LMSG");
}

/* ---- framing --------------------------------------------------------- */

static void test_frames(void **state)
{
    (void)state;
    tern_wire_buf b = { .b = NULL };
    tern_wire_frame_sub(&b, "$G", "foo", NULL, 0);
    tern_wire_frame_sub(&b, "$G", "foo", "q", 3);
    tern_wire_frame_unsub(&b, "$G", "foo", "q");
    tern_wire_frame_unsub(&b, "$G", "foo", NULL);
    assert_string_equal(b.b, "RS+ $G foo\r\nRS+ $G foo q 3\r\nRS- $G foo q\r\nRS- $G foo\r\n");

    const char *q[] = { "q1", "q2" };
    tern_wire_buf_reset(&b);
    tern_wire_frame_msg(&b, "A", "s", NULL, NULL, 0, "hi", 0, 2, true);
    tern_wire_frame_msg(&b, "A", "s", "r", NULL, 0, "hi", 0, 2, true);
    tern_wire_frame_msg(&b, "A", "s", NULL, q, 1, "hi", 0, 2, true);
    tern_wire_frame_msg(&b, "A", "s", "r", q, 2, "hi", 0, 2, true);
    assert_string_equal(b.b, "RMSG A s 2\r\nhi\r\n"
                             "RMSG A s r 2\r\nhi\r\n"
                             "RMSG A s | q1 2\r\nhi\r\n"
                             "RMSG A s + r q1 q2 2\r\nhi\r\n");

    const char *hm = "NATS/1.0\r\n\r\nhi";
    tern_wire_buf_reset(&b);
    tern_wire_frame_msg(&b, "A", "s", "r", q, 1, hm, 12, 14, true);
    assert_string_equal(b.b, "HMSG A s + r q1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    /* a peer without headers gets the payload only */
    tern_wire_buf_reset(&b);
    tern_wire_frame_msg(&b, "A", "s", NULL, NULL, 0, hm, 12, 14, false);
    assert_string_equal(b.b, "RMSG A s 2\r\nhi\r\n");

    /* what we frame, we parse back the same */
    tern_wire_buf_reset(&b);
    tern_wire_frame_msg(&b, "A", "s", "r", q, 2, hm, 12, 14, true);
    int rc;
    char *got = parse_all_ways(b.b, b.len, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "MSG acc=A subj=s reply=r q0=q1 q1=q2 hdr=12 len=14 data=[NATS/1.0\r\n\r\nhi]\n");
    free(got);
    tern_wire_buf_free(&b);
}

static void test_leaf_frames(void **state)
{
    (void)state;
    tern_wire_buf b = { .b = NULL };
    tern_wire_frame_leaf_sub(&b, "foo", NULL, 0);
    tern_wire_frame_leaf_sub(&b, "foo", "q", 3);
    tern_wire_frame_leaf_sub(&b, "foo", "q", 0);
    tern_wire_frame_leaf_unsub(&b, "foo", "q");
    tern_wire_frame_leaf_unsub(&b, "foo", NULL);
    assert_string_equal(b.b, "LS+ foo\r\nLS+ foo q 3\r\nLS+ foo q 1\r\nLS- foo q\r\nLS- foo\r\n");

    const char *q[] = { "q1", "q2" };
    tern_wire_buf_reset(&b);
    tern_wire_frame_leaf_msg(&b, "s", NULL, NULL, 0, "hi", 0, 2, true);
    tern_wire_frame_leaf_msg(&b, "s", "r", NULL, 0, "hi", 0, 2, true);
    tern_wire_frame_leaf_msg(&b, "s", NULL, q, 1, "hi", 0, 2, true);
    tern_wire_frame_leaf_msg(&b, "s", "r", q, 2, "hi", 0, 2, true);
    assert_string_equal(b.b, "LMSG s 2\r\nhi\r\n"
                             "LMSG s r 2\r\nhi\r\n"
                             "LMSG s | q1 2\r\nhi\r\n"
                             "LMSG s + r q1 q2 2\r\nhi\r\n");

    const char *hm = "NATS/1.0\r\n\r\nhi";
    tern_wire_buf_reset(&b);
    tern_wire_frame_leaf_msg(&b, "s", "r", q, 1, hm, 12, 14, true);
    tern_wire_frame_leaf_msg(&b, "s", NULL, NULL, 0, hm, 12, 14, true);
    assert_string_equal(b.b, "HMSG s + r q1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
                             "HMSG s 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    /* a peer without headers gets the payload only */
    tern_wire_buf_reset(&b);
    tern_wire_frame_leaf_msg(&b, "s", NULL, NULL, 0, hm, 12, 14, false);
    assert_string_equal(b.b, "LMSG s 2\r\nhi\r\n");

    /* what we frame, we parse back the same */
    tern_wire_buf_reset(&b);
    tern_wire_frame_leaf_sub(&b, "foo", "q", 2);
    tern_wire_frame_leaf_msg(&b, "s", "r", q, 2, hm, 12, 14, true);
    tern_wire_frame_leaf_msg(&b, "s", NULL, q, 1, "hi", 0, 2, true);
    tern_wire_frame_leaf_unsub(&b, "foo", "q");
    int rc;
    char *got = parse_all_ways_d(b.b, b.len, TERN_WIRE_LEAF, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "SUB leaf subj=foo q=q w=2\n"
                             "MSG leaf subj=s reply=r q0=q1 q1=q2 hdr=12 len=14 data=[NATS/1.0\r\n\r\nhi]\n"
                             "MSG leaf subj=s q0=q1 hdr=0 len=2 data=[hi]\n"
                             "UNSUB leaf subj=foo q=q\n");
    free(got);
    tern_wire_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_ops),
        cmocka_unit_test(test_subs),
        cmocka_unit_test(test_msgs),
        cmocka_unit_test(test_msg_errors),
        cmocka_unit_test(test_queue_limit),
        cmocka_unit_test(test_control_line_limit),
        cmocka_unit_test(test_leaf_control_ops),
        cmocka_unit_test(test_leaf_subs),
        cmocka_unit_test(test_leaf_msgs),
        cmocka_unit_test(test_leaf_msg_errors),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_large_payload),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_leaf_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
