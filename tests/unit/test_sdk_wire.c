/* Unit tests for the SDK's wire library (sdk/include/tern/wire.h, the
 * NATS server-to-server ops the cluster and gateway modules speak): the
 * resumable parser (every op, nats-server 2.9's argument rules, the same
 * ops whether bytes arrive whole, split at every offset, or one byte at
 * a time) and the framing of RS+/RS-/RMSG/HMSG.
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
static char *parse_all_ways(const char *in, size_t len, int *status)
{
    char *first = NULL;
    int first_rc = 0;
    for (size_t step = 0; step <= len; step++) {
        /* step 0: whole; step k: chunks of k bytes; then split at every offset */
        for (size_t split = 0; split <= (step == 0 ? len : 0); split++) {
            tern_wire_parser p;
            tern_wire_parse_init(&p);
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
    tern_wire_parser p;
    tern_wire_parse_init(&p);
    rec r = { .stop_at = 2 };
    const char *in = "PING\r\nPONG\r\nPING\r\n";
    assert_int_equal(tern_wire_parse_feed(&p, in, strlen(in), on_op, &r), 7);
    assert_string_equal(r.log.b, "PING\nPONG\n");
    tern_wire_buf_free(&r.log);
    tern_wire_parse_free(&p);
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
        tern_wire_parser p;
        tern_wire_parse_init(&p);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
