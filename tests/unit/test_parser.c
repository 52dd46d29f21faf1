/* Unit tests for the NATS client-protocol parser (kernel/parser.c).
 *
 * Every op and every status; nats-server 2.9.10 quirks (each test says
 * what the real server answered when the bytes were sent to it over a
 * socket in one write); and, for every input checked here, the same
 * callback sequence and final status whether the bytes arrive whole, split
 * in two at every offset, one byte at a time, or with a pause after every
 * op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parser.h"

/* ---- a recorder for callbacks --------------------------------------- */

typedef struct rec {
    char *log; /* one line per op, bytes escaped */
    size_t len, cap;
    int nops;
    bool pause_each;    /* every callback returns PAUSE */
    int fail_at;        /* 1-based op number that returns fail_status */
    int fail_status;
    tern_parser *p;     /* for callbacks that change the parser's switches */
    bool connect_enables_headers;
} rec;

static void rec_put(rec *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->log = realloc(r->log, r->cap);
        assert_non_null(r->log);
    }
    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}

static void rec_str(rec *r, const char *s) { rec_put(r, s, strlen(s)); }

static void rec_bytes(rec *r, const char *s, size_t n)
{
    if (!s) {
        rec_str(r, "-");
        return;
    }
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        char e[8];
        if (c == '\r')
            rec_str(r, "\\r");
        else if (c == '\n')
            rec_str(r, "\\n");
        else if (c == '\\' || c == '|')
            snprintf(e, sizeof e, "\\%c", c), rec_str(r, e);
        else if (c < 0x20 || c >= 0x7f)
            snprintf(e, sizeof e, "\\x%02x", c), rec_str(r, e);
        else
            rec_put(r, (const char *)&c, 1);
    }
}

static int rec_done(rec *r)
{
    rec_str(r, "\n");
    r->nops++;
    if (r->fail_at && r->nops == r->fail_at)
        return r->fail_status;
    return r->pause_each ? TERN_PARSE_PAUSE : TERN_PARSE_OK;
}

static int cb_connect(void *ud, const char *j, size_t n)
{
    rec *r = ud;
    rec_str(r, "CONNECT ");
    rec_bytes(r, j, n);
    if (r->connect_enables_headers) {
        r->p->headers = true;
        r->p->require_connect = false;
    }
    return rec_done(r);
}

static int cb_info(void *ud, const char *j, size_t n)
{
    rec *r = ud;
    rec_str(r, "INFO ");
    rec_bytes(r, j, n);
    return rec_done(r);
}

static int cb_pub(void *ud, const tern_pub_args *m)
{
    rec *r = ud;
    char num[64];
    rec_str(r, m->hpub ? "HPUB " : "PUB ");
    rec_bytes(r, m->subject, m->subject_len);
    rec_str(r, "|");
    rec_bytes(r, m->reply, m->reply_len);
    if (m->hpub) {
        snprintf(num, sizeof num, "|%zu", m->hdr_len);
        rec_str(r, num);
    } else {
        assert_int_equal(m->hdr_len, 0);
    }
    rec_str(r, "|");
    rec_bytes(r, m->data, m->size);
    return rec_done(r);
}

static int cb_sub(void *ud, const char *s, size_t sn, const char *q, size_t qn, const char *sid,
                  size_t sidn)
{
    rec *r = ud;
    rec_str(r, "SUB ");
    rec_bytes(r, s, sn);
    rec_str(r, "|");
    rec_bytes(r, q, qn);
    rec_str(r, "|");
    rec_bytes(r, sid, sidn);
    return rec_done(r);
}

static int cb_unsub(void *ud, const char *sid, size_t n, int64_t max)
{
    rec *r = ud;
    char num[32];
    rec_str(r, "UNSUB ");
    rec_bytes(r, sid, n);
    snprintf(num, sizeof num, "|%lld", (long long)max);
    rec_str(r, num);
    return rec_done(r);
}

static int cb_ping(void *ud) { rec_str(ud, "PING"); return rec_done(ud); }
static int cb_pong(void *ud) { rec_str(ud, "PONG"); return rec_done(ud); }
static int cb_ok(void *ud) { rec_str(ud, "+OK"); return rec_done(ud); }

static int cb_err(void *ud, const char *t, size_t n)
{
    rec *r = ud;
    rec_str(r, "-ERR ");
    rec_bytes(r, t, n);
    return rec_done(r);
}

static const tern_parser_callbacks CB = {
    .on_connect = cb_connect,
    .on_info = cb_info,
    .on_pub = cb_pub,
    .on_sub = cb_sub,
    .on_unsub = cb_unsub,
    .on_ping = cb_ping,
    .on_pong = cb_pong,
    .on_ok = cb_ok,
    .on_err = cb_err,
};

/* ---- drivers -------------------------------------------------------- */

typedef struct cfg {
    int64_t mcl, max_payload;
    bool headers, require_connect, connect_enables_headers;
} cfg;

static const cfg DEF = {4096, 1024 * 1024, false, false, false};
static const cfg HDR = {4096, 1024 * 1024, true, false, false};

static void setup(tern_parser *p, rec *r, const cfg *c)
{
    tern_parser_init(p);
    p->max_control_line = c->mcl;
    p->max_payload = c->max_payload;
    p->headers = c->headers;
    p->require_connect = c->require_connect;
    memset(r, 0, sizeof *r);
    r->p = p;
    r->connect_enables_headers = c->connect_enables_headers;
    rec_str(r, "");
}

/* Feeds s[from, to), re-feeding after each pause. Returns the first status
 * other than OK/PAUSE, else OK. */
static int feed_range(tern_parser *p, rec *r, const char *s, size_t from, size_t to)
{
    while (from < to) {
        size_t used = (size_t)-1;
        tern_parse_status st = tern_parser_feed(p, s + from, to - from, &CB, r, &used);
        assert_true(used <= to - from);
        if (st == TERN_PARSE_PAUSE) {
            from += used;
            continue;
        }
        if (st != TERN_PARSE_OK)
            return st;
        assert_int_equal(used, to - from);
        return TERN_PARSE_OK;
    }
    return TERN_PARSE_OK;
}

typedef struct result {
    int status;
    char *log;
} result;

/* Feeds s cut at the given offsets (ascending, ncut of them). */
static result run_cuts(const cfg *c, const char *s, size_t n, const size_t *cut, int ncut,
                       bool pause_each)
{
    tern_parser p;
    rec r;
    setup(&p, &r, c);
    r.pause_each = pause_each;
    int st = TERN_PARSE_OK;
    size_t from = 0;
    for (int k = 0; k <= ncut && st == TERN_PARSE_OK; k++) {
        size_t to = k < ncut ? cut[k] : n;
        st = feed_range(&p, &r, s, from, to);
        from = to;
    }
    tern_parser_free(&p);
    assert_int_equal(tern_parser_held(&p), 0);
    return (result){st, r.log};
}

static result run_whole(const cfg *c, const char *s, size_t n)
{
    return run_cuts(c, s, n, NULL, 0, false);
}

static result run_bytes(const cfg *c, const char *s, size_t n)
{
    tern_parser p;
    rec r;
    setup(&p, &r, c);
    int st = TERN_PARSE_OK;
    for (size_t k = 0; k < n && st == TERN_PARSE_OK; k++) {
        /* a private copy of each byte, so ASan sees any read outside it */
        char *b = malloc(1);
        *b = s[k];
        st = feed_range(&p, &r, b, 0, 1);
        free(b);
    }
    tern_parser_free(&p);
    return (result){st, r.log};
}

static void same(const result *want, result got, const char *what, size_t at)
{
    if (got.status != want->status || strcmp(got.log, want->log) != 0)
        fail_msg("%s (cut %zu): status %d vs %d\n--- got\n%s--- want\n%s", what, at, got.status,
                 want->status, got.log, want->log);
    free(got.log);
}

/* The whole-feed result, checked against every other way of delivering
 * the same bytes. */
static result consistent(const cfg *c, const char *s, size_t n)
{
    /* Feed from a heap copy of exactly n bytes so ASan catches over-reads. */
    char *h = malloc(n ? n : 1);
    memcpy(h, s, n);
    result whole = run_whole(c, h, n);
    for (size_t cut = 0; cut <= n; cut++)
        same(&whole, run_cuts(c, h, n, &cut, 1, false), "split", cut);
    same(&whole, run_bytes(c, h, n), "byte-by-byte", 0);
    same(&whole, run_cuts(c, h, n, NULL, 0, true), "pause-each", 0);
    for (size_t cut = 0; cut <= n; cut += 7)
        same(&whole, run_cuts(c, h, n, &cut, 1, true), "split+pause", cut);
    free(h);
    return whole;
}

#define CHECK(c, input, want_status, want_log)                                          \
    do {                                                                                \
        static const char in_[] = input;                                                \
        result r_ = consistent((c), in_, sizeof in_ - 1);                               \
        if (r_.status != (want_status) || strcmp(r_.log, (want_log)) != 0)              \
            fail_msg("input %s: status %d (want %d)\n--- got\n%s--- want\n%s", #input, \
                     r_.status, (int)(want_status), r_.log, (want_log));                \
        free(r_.log);                                                                   \
    } while (0)

#define OK TERN_PARSE_OK
#define UNKNOWN TERN_PARSE_ERR_UNKNOWN_OP
#define PROTO TERN_PARSE_ERR_PROTO
#define MCL TERN_PARSE_ERR_MAX_CONTROL_LINE
#define MAXPAY TERN_PARSE_ERR_MAX_PAYLOAD

/* ---- every op ------------------------------------------------------- */

static void test_ops(void **state)
{
    (void)state;
    CHECK(&DEF, "CONNECT {\"verbose\":false}\r\n", OK, "CONNECT {\"verbose\":false}\n");
    CHECK(&DEF, "INFO {}\r\n", OK, "INFO {}\n");
    CHECK(&DEF, "PUB foo 2\r\nhi\r\n", OK, "PUB foo|-|hi\n");
    CHECK(&DEF, "PUB foo bar 2\r\nhi\r\n", OK, "PUB foo|bar|hi\n");
    CHECK(&DEF, "PUB foo 0\r\n\r\n", OK, "PUB foo|-|\n");
    CHECK(&HDR, "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", OK,
          "HPUB foo|-|12|NATS/1.0\\r\\n\\r\\nhi\n");
    CHECK(&HDR, "HPUB foo bar 12 12\r\nNATS/1.0\r\n\r\n\r\n", OK,
          "HPUB foo|bar|12|NATS/1.0\\r\\n\\r\\n\n");
    CHECK(&HDR, "HPUB foo 0 0\r\n\r\n", OK, "HPUB foo|-|0|\n");
    CHECK(&DEF, "SUB foo 1\r\n", OK, "SUB foo|-|1\n");
    CHECK(&DEF, "SUB foo q 1\r\n", OK, "SUB foo|q|1\n");
    CHECK(&DEF, "UNSUB 1\r\n", OK, "UNSUB 1|0\n");
    CHECK(&DEF, "UNSUB 1 5\r\n", OK, "UNSUB 1|5\n");
    CHECK(&DEF, "PING\r\n", OK, "PING\n");
    CHECK(&DEF, "PONG\r\n", OK, "PONG\n");
    CHECK(&DEF, "+OK\r\n", OK, "+OK\n");
    CHECK(&DEF, "-ERR 'x y'\r\n", OK, "-ERR 'x y'\n");
    /* Case-insensitive names, tab separators, runs of separators. */
    CHECK(&DEF, "pUb\t \tfoo \t 2  \r\nhi\r\nsub\ta\tq\t1\r\nuNsUb 1\r\nPiNg\r\npong\r\n+ok\r\n"
                "cOnNeCt {}\r\ninfo {}\r\n-err\t'e'\r\n",
          OK,
          "PUB foo|-|hi\nSUB a|q|1\nUNSUB 1|0\nPING\nPONG\n+OK\nCONNECT {}\nINFO {}\n-ERR 'e'\n");
    CHECK(&HDR, "hPuB a 0 1\r\nx\r\n", OK, "HPUB a|-|0|x\n");
    /* Bare LF ends a control line. */
    CHECK(&DEF, "PUB foo 2\nhi\r\nSUB a 1\nPING\n", OK, "PUB foo|-|hi\nSUB a|-|1\nPING\n");
    /* Payload bytes are opaque: CR, LF, NUL, op names inside. */
    CHECK(&DEF, "PUB a 9\r\n\r\nPING\r\n\0\r\n", OK, "PUB a|-|\\r\\nPING\\r\\n\\x00\n");
}

/* Tokens longer than a machine word, with control bytes (< 0x21 but not
 * separators) and high bytes inside, separators at every offset. */
static void test_tokens(void **state)
{
    (void)state;
    CHECK(&DEF, "SUB abcdefghijklmnop\tq\001rstuvwxyz0123456789 sid\r\n", OK,
          "SUB abcdefghijklmnop|q\\x01rstuvwxyz0123456789|sid\n");
    CHECK(&DEF, "PUB \x80\xff\001abcdefgh\037xyz\x7f\x20\x21 1\r\nx\r\n", OK,
          "PUB \\x80\\xff\\x01abcdefgh\\x1fxyz\\x7f|!|x\n");
    CHECK(&DEF, "SUB a\0b\0c\0d\0e\0f\0g\0h\0i\0 1\r\n", OK,
          "SUB a\\x00b\\x00c\\x00d\\x00e\\x00f\\x00g\\x00h\\x00i\\x00|-|1\n");
    /* `SUB abc\001 defghijklmn 1` then `PUB abc\001 1`: nats-server
     * delivered `MSG abc\001 1 1`: the control byte belongs to the subject
     * and the blank right after it separates. */
    CHECK(&DEF, "SUB abc\001 defghijklmn 1\r\n", OK, "SUB abc\\x01|defghijklmn|1\n");
    CHECK(&DEF, "SUB abc\001\001\001\001\001\001\001\001 q 1\r\n", OK,
          "SUB abc\\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01|q|1\n");
    /* PUB keeps CR inside a long subject; SUB splits there. */
    CHECK(&DEF, "PUB abcdefghij\rklmnopqrstu 1\r\nx\r\n", OK, "PUB abcdefghij\\rklmnopqrstu|-|x\n");
    CHECK(&DEF, "SUB abcdefghij\rklmnopqrstu 1\r\n", OK, "SUB abcdefghij|klmnopqrstu|1\n");
    /* a separator at each offset of a 24-byte subject */
    for (int at = 1; at < 24; at++) {
        char in[64], want[64];
        char subj[25];
        for (int k = 0; k < 24; k++)
            subj[k] = (char)('a' + k);
        subj[24] = '\0';
        snprintf(in, sizeof in, "SUB %.*s\t%s 9\r\n", at, subj, subj + at);
        snprintf(want, sizeof want, "SUB %.*s|%s|9\n", at, subj, subj + at);
        result r = consistent(&DEF, in, strlen(in));
        assert_int_equal(r.status, OK);
        assert_string_equal(r.log, want);
        free(r.log);
    }
}

/* ---- every status --------------------------------------------------- */

static void test_statuses(void **state)
{
    (void)state;
    CHECK(&DEF, "XYZ\r\n", UNKNOWN, "");
    CHECK(&DEF, "PING\r\nPUB foo 1\r\nxY\r\n", UNKNOWN, "PING\n");
    CHECK(&DEF, "SUB a\r\n", PROTO, "");
    cfg small = {16, 1024, false, false, false};
    CHECK(&small, "SUB aaaaaaaaaaaaaaaaa 1\r\n", MCL, "");
    CHECK(&small, "PUB a 1025\r\n", MAXPAY, "");
    cfg auth = {4096, 1024, false, true, true};
    CHECK(&auth, "PING\r\n", TERN_PARSE_ERR_AUTH, "");
    /* PAUSE, CLOSED and errors returned by callbacks are passed on,
     * *consumed right after the op. */
    static const char in[] = "PING\r\nSUB a 1\r\nPONG\r\n";
    for (int fs = TERN_PARSE_PAUSE; fs <= TERN_PARSE_ERR_AUTH; fs++) {
        tern_parser p;
        rec r;
        setup(&p, &r, &DEF);
        r.fail_at = 2;
        r.fail_status = fs;
        size_t used = 0;
        int st = tern_parser_feed(&p, in, sizeof in - 1, &CB, &r, &used);
        assert_int_equal(st, fs);
        assert_int_equal(used, strlen("PING\r\nSUB a 1\r\n"));
        assert_string_equal(r.log, "PING\nSUB a|-|1\n");
        tern_parser_free(&p);
        free(r.log);
    }
}

/* ---- nats-server 2.9.10 quirks ---------------------------------------
 * Comments give what the real server sent back to bytes written in one
 * write (telnet style, no CONNECT, so verbose is on), and whether it
 * closed the connection. */

static void test_quirks_pub(void **state)
{
    (void)state;
    /* `PUB foo\r\n`: nothing sent, closed. */
    CHECK(&DEF, "PUB foo\r\n", PROTO, "");
    /* `PUB foo -1\r\n`, `PUB foo 1x\r\n`, `PUB foo +1\r\n`: nothing, closed. */
    CHECK(&DEF, "PUB foo -1\r\n", PROTO, "");
    CHECK(&DEF, "PUB foo 1x\r\n", PROTO, "");
    CHECK(&DEF, "PUB foo +1\r\nx\r\n", PROTO, "");
    /* 9 digits `000000001`: +OK, open. 10 digits `0000000001`: closed. */
    CHECK(&DEF, "PUB foo 000000001\r\nx\r\n", OK, "PUB foo|-|x\n");
    CHECK(&DEF, "PUB foo 0000000001\r\nx\r\n", PROTO, "");
    /* `PUB foo 9999999999` (10 digits, > max_payload too): closed silently,
     * the size is invalid before it is too big. */
    CHECK(&DEF, "PUB foo 9999999999\r\n", PROTO, "");
    /* `PUB foo 999999999`: -ERR 'Maximum Payload Violation', closed,
     * decided on the control line alone. */
    CHECK(&DEF, "PUB foo 999999999\r\n", MAXPAY, "");
    /* `PUB foo 1048577` with max_payload 1048576: Maximum Payload Violation;
     * 1048576 is accepted (the server waits for the payload). */
    CHECK(&DEF, "PUB foo 1048577\r\n", MAXPAY, "");
    CHECK(&DEF, "PUB foo 1048576\r\nabc", OK, "");
    /* `PUB a b c 1`: closed silently. */
    CHECK(&DEF, "PUB a b c 1\r\nx\r\n", PROTO, "");
    /* `PUB\r\n` (no separator): -ERR 'Unknown Protocol Operation', closed. */
    CHECK(&DEF, "PUB\r\n", UNKNOWN, "");
    /* `PUBfoo 1`, `SUBfoo 1`, `HPUBfoo 0 1`, `UNSUBX 1`: Unknown Protocol
     * Operation, closed. `CONNECTX`: closed silently (JSON "X", the client
     * layer's call). */
    CHECK(&DEF, "PUBfoo 1\r\nx\r\n", UNKNOWN, "");
    CHECK(&DEF, "SUBfoo 1\r\n", UNKNOWN, "");
    CHECK(&HDR, "HPUBfoo 0 1\r\nx\r\n", UNKNOWN, "");
    CHECK(&DEF, "UNSUBX 1\r\n", UNKNOWN, "");
    CHECK(&DEF, "CONNECTX\r\n", OK, "CONNECT X\n");
    /* `PUB \r\n`: the CR is taken as the argument; closed silently. */
    CHECK(&DEF, "PUB \r\n", PROTO, "");
    /* `PUB \nfoo 1\r\nx\r\n`: +OK; the LF right after the separator is the
     * first byte of the subject. */
    CHECK(&DEF, "PUB \nfoo 1\r\nx\r\n", OK, "PUB \\nfoo|-|x\n");
    /* Payload not followed by CRLF: `hiXX`, `hi\n`, `hix\r\n` all get
     * -ERR 'Unknown Protocol Operation', closed; `hi` or `hi\r` alone: the
     * server waits. */
    CHECK(&DEF, "PUB foo 2\r\nhiXX", UNKNOWN, "");
    CHECK(&DEF, "PUB foo 2\r\nhi\n", UNKNOWN, "");
    CHECK(&DEF, "PUB foo 2\r\nhix\r\n", UNKNOWN, "");
    CHECK(&DEF, "PUB foo 2\r\nhi\rX", UNKNOWN, "");
    CHECK(&DEF, "PUB foo 2\r\nhi\r", OK, "");
    /* `PUB a\rb 1\r\nx\r\n`: +OK, subject "a\rb" (PUB splits on space/tab
     * only). */
    CHECK(&DEF, "PUB a\rb 1\r\nx\r\n", OK, "PUB a\\rb|-|x\n");
    /* `PUB a 1\rX\n`: closed silently: after a CR the byte before LF is
     * dropped, leaving size "1\r". */
    CHECK(&DEF, "PUB a 1\rX\nx\r\n", PROTO, "");
    /* `PUB a 1  \r\n`: trailing separators are fine (+OK). */
    CHECK(&DEF, "PUB a 1  \r\nx\r\n", OK, "PUB a|-|x\n");
}

static void test_quirks_hpub(void **state)
{
    (void)state;
    /* Without headers negotiated, `HPUB foo 12 14 …` and even `HPUB foo`:
     * nothing sent, closed. */
    CHECK(&DEF, "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", PROTO, "");
    CHECK(&DEF, "HPUB foo\r\n", PROTO, "");
    /* With headers (CONNECT {"headers":true}): hdr > total, 2 args, 5
     * args, bad hdr, bad total: closed silently. Bad hdr with a total above
     * max_payload: closed silently too. Total > max_payload: -ERR
     * 'Maximum Payload Violation'. `HPUB\r\n`: Unknown Protocol Operation. */
    CHECK(&HDR, "HPUB foo 12 10\r\n", PROTO, "");
    CHECK(&HDR, "HPUB foo 12\r\n", PROTO, "");
    CHECK(&HDR, "HPUB foo a b 12 14\r\n", PROTO, "");
    CHECK(&HDR, "HPUB foo x 14\r\n", PROTO, "");
    CHECK(&HDR, "HPUB foo 1 x\r\n", PROTO, "");
    CHECK(&HDR, "HPUB foo x 2000000\r\n", PROTO, "");
    CHECK(&HDR, "HPUB foo 1 2000000\r\n", MAXPAY, "");
    CHECK(&HDR, "HPUB\r\n", UNKNOWN, "");
    /* A CONNECT that negotiates headers enables HPUB for the rest of the
     * same read. */
    cfg later = {4096, 1024, false, false, true};
    CHECK(&later, "CONNECT {\"headers\":true}\r\nHPUB a 2 3\r\nhdx\r\n", OK,
          "CONNECT {\"headers\":true}\nHPUB a|-|2|hdx\n");
}

static void test_quirks_sub_unsub(void **state)
{
    (void)state;
    /* `SUB foo\r\n`, `SUB a b c d\r\n`: nothing sent, closed. */
    CHECK(&DEF, "SUB foo\r\n", PROTO, "");
    CHECK(&DEF, "SUB a b c d\r\n", PROTO, "");
    /* `SUB\r\n`: Unknown Protocol Operation. `SUB \r\n`: closed silently. */
    CHECK(&DEF, "SUB\r\n", UNKNOWN, "");
    CHECK(&DEF, "SUB \r\n", PROTO, "");
    /* `SUB a..b 1`: -ERR 'Invalid Subject', open: the client layer's call. */
    CHECK(&DEF, "SUB a..b 1\r\n", OK, "SUB a..b|-|1\n");
    /* `SUB a\0b 1`: +OK (NUL is an ordinary byte). */
    CHECK(&DEF, "SUB a\0b 1\r\n", OK, "SUB a\\x00b|-|1\n");
    /* `SUB a\rb 1\n` then `PUB a 1`: the server delivered `MSG a b 1`:
     * the CR separates arguments and the byte before LF is dropped. */
    CHECK(&DEF, "SUB a\rb 1\n", OK, "SUB a|-|b\n");
    /* `SUB \nfoo 1`: +OK, subject "foo" (LF leads, then separates). */
    CHECK(&DEF, "SUB \nfoo 1\r\n", OK, "SUB foo|-|1\n");
    /* `SUB a 1   \r\n`: +OK. */
    CHECK(&DEF, "SUB a 1   \r\n", OK, "SUB a|-|1\n");
    /* `UNSUB\r\n`: Unknown Protocol Operation. `UNSUB \r\n` and
     * `UNSUB 1 2 3\r\n`: closed silently. */
    CHECK(&DEF, "UNSUB\r\n", UNKNOWN, "");
    CHECK(&DEF, "UNSUB \r\n", PROTO, "");
    CHECK(&DEF, "UNSUB 1 2 3\r\n", PROTO, "");
    /* `UNSUB 1 x`, `UNSUB 1 -1`, `UNSUB 1 0000000001`: +OK, open (invalid
     * max = unsubscribe now). `UNSUB 1 0`: +OK, unsubscribes now. */
    CHECK(&DEF, "UNSUB 1 x\r\nUNSUB 1 -1\r\nUNSUB 1 0000000001\r\nUNSUB 1 0\r\n", OK,
          "UNSUB 1|-1\nUNSUB 1|-1\nUNSUB 1|-1\nUNSUB 1|0\n");
}

static void test_quirks_other_ops(void **state)
{
    (void)state;
    /* `MSG foo 1 1`, `RS+ foo 1`, `A+ foo`, `LS+ foo`, `FOO`, a NUL, an empty
     * line (`\r\n` or `\n`), a leading space, `PIN\r\n`, `+O\r\n`,
     * `-ERR\r\n`, `PI\rNG`: -ERR 'Unknown Protocol Operation', closed. */
    CHECK(&DEF, "MSG foo 1 1\r\nx\r\n", UNKNOWN, "");
    CHECK(&DEF, "RS+ foo 1\r\n", UNKNOWN, "");
    CHECK(&DEF, "A+ foo\r\n", UNKNOWN, "");
    CHECK(&DEF, "LS+ foo\r\n", UNKNOWN, "");
    CHECK(&DEF, "FOO\r\n", UNKNOWN, "");
    CHECK(&DEF, "\0\r\n", UNKNOWN, "");
    CHECK(&DEF, "\r\n", UNKNOWN, "");
    CHECK(&DEF, "\n", UNKNOWN, "");
    CHECK(&DEF, " PING\r\n", UNKNOWN, "");
    CHECK(&DEF, "PIN\r\n", UNKNOWN, "");
    CHECK(&DEF, "+O\r\n", UNKNOWN, "");
    CHECK(&DEF, "-ERR\r\n", UNKNOWN, "");
    CHECK(&DEF, "PI\rNG\r\n", UNKNOWN, "");
    /* `HMSG foo 1 0 0\r\n` alone: Unknown Protocol Operation, closed (when
     * `\r\n` follows in the same read nats-server takes it as an empty
     * publish and answers +OK; see parser.c). */
    CHECK(&DEF, "HMSG foo 1 0 0\r\n", UNKNOWN, "");
    CHECK(&DEF, "HMSG foo 1 0 0", OK, "");
    /* `PINGfoo bar`, `ping\n`, `+OKjunk`: PONG / nothing, open: bytes after
     * PING/PONG/+OK up to LF are ignored. */
    CHECK(&DEF, "PINGfoo bar\r\nping\n+OKjunk\r\nPONG PUB x\r\n", OK, "PING\nPING\n+OK\nPONG\n");
    /* `INFO {}` and `INFO{}`: nothing, open. `INFO\r\n`, `INFO {x`: closed
     * silently (JSON decoding, the client layer's call). */
    CHECK(&DEF, "INFO {}\r\nINFO{}\r\nINFO\r\n", OK, "INFO {}\nINFO {}\nINFO \\r\n");
    /* `CONNECT{"verbose":false}`: accepted. `CONNECT\r\n`: closed silently
     * (JSON "\r"). `CONNECT\n{}\r\n`: +OK: the LF is the JSON's first byte. */
    CHECK(&DEF, "CONNECT{\"verbose\":false}\r\nCONNECT\r\nCONNECT\n{}\r\n", OK,
          "CONNECT {\"verbose\":false}\nCONNECT \\r\nCONNECT \\n{}\n");
    CHECK(&DEF, "CONNECT\n", OK, "");
    /* `-ERR 'x'`, `-ERR\t'x'`: nothing, closed (the client layer closes). */
    CHECK(&DEF, "-ERR\t'x'\r\n", OK, "-ERR 'x'\n");
}

static void test_quirks_auth(void **state)
{
    (void)state;
    /* nats-server --user a --pass b: `PING`, `xyz`, `SUB a 1`, `\r\n` first:
     * -ERR 'Authorization Violation', closed. `CX\r\n`: Unknown Protocol
     * Operation. `connect {...}` (lower case): +OK. */
    cfg auth = {4096, 1024, false, true, false};
    CHECK(&auth, "PING\r\n", TERN_PARSE_ERR_AUTH, "");
    CHECK(&auth, "xyz\r\n", TERN_PARSE_ERR_AUTH, "");
    CHECK(&auth, "SUB a 1\r\n", TERN_PARSE_ERR_AUTH, "");
    CHECK(&auth, "\r\n", TERN_PARSE_ERR_AUTH, "");
    CHECK(&auth, "CX\r\n", UNKNOWN, "");
    /* Still required after the CONNECT when the owner did not clear it. */
    CHECK(&auth, "connect {}\r\nPING\r\n", TERN_PARSE_ERR_AUTH, "CONNECT {}\n");
    cfg cleared = {4096, 1024, false, true, true};
    CHECK(&cleared, "connect {}\r\nPING\r\n", OK, "CONNECT {}\nPING\n");
}

static void test_quirks_control_line(void **state)
{
    (void)state;
    /* max_control_line 4096 counts the arguments, without op name, the
     * separators after it and the CR LF: SUB with a 4096-byte argument
     * (CRLF or bare LF, any number of leading blanks): +OK; 4097 bytes,
     * including a trailing blank: -ERR 'maximum control line exceeded',
     * closed. Same for CONNECT's JSON. */
    enum { N = 4096 };
    static char line[N + 64];
    static const struct {
        const char *pre;
        size_t arg;
        const char *post;
        int status;
    } cases[] = {
        {"SUB ", N, "\r\n", OK},           {"SUB ", N + 1, "\r\n", MCL},
        {"SUB ", N, "\n", OK},             {"SUB ", N + 1, "\n", MCL},
        {"SUB       ", N, "\r\n", OK},     {"CONNECT ", N, "\r\n", OK},
        {"CONNECT ", N + 1, "\r\n", MCL},  {"SUB ", N + 20, "\r\n", MCL},
        /* Incomplete lines: 4096 bytes (also + CR) wait, 4097 fail. */
        {"SUB ", N, "", OK},               {"SUB ", N, "\r", OK},
        {"SUB ", N + 1, "", MCL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t pl = strlen(cases[k].pre), tl = strlen(cases[k].post);
        memcpy(line, cases[k].pre, pl);
        memset(line + pl, 'a', cases[k].arg);
        memcpy(line + pl + cases[k].arg - 2, " 1", 2); /* a valid SUB */
        memcpy(line + pl + cases[k].arg, cases[k].post, tl);
        size_t n = pl + cases[k].arg + tl;
        result w = run_whole(&DEF, line, n);
        assert_int_equal(w.status, cases[k].status);
        if (cases[k].status == OK && tl && cases[k].post[tl - 1] == '\n')
            assert_int_equal(strncmp(w.log, cases[k].pre[0] == 'S' ? "SUB " : "CONNECT ", 4), 0);
        free(w.log);
        /* and split anywhere, byte by byte too */
        for (size_t cut = 0; cut <= n; cut += 97) {
            result s = run_cuts(&DEF, line, n, &cut, 1, false);
            assert_int_equal(s.status, cases[k].status);
            free(s.log);
        }
        result b = run_bytes(&DEF, line, n);
        assert_int_equal(b.status, cases[k].status);
        free(b.log);
    }
    /* `PING` + 10000 bytes + CRLF: PONG, open: PING's tail has no limit. */
    char ping[10010];
    memcpy(ping, "PING", 4);
    memset(ping + 4, 'x', 10000);
    memcpy(ping + 10004, "\r\n", 2);
    result r = run_whole(&DEF, ping, 10006);
    assert_int_equal(r.status, OK);
    assert_string_equal(r.log, "PING\n");
    free(r.log);
    /* max_control_line <= 0: no limit. */
    cfg unl = {0, 0, false, false, false};
    static char big[20000];
    memcpy(big, "SUB ", 4);
    memset(big + 4, 'b', 19000);
    memcpy(big + 19004, " 1\r\n", 4);
    r = run_cuts(&unl, big, 19008, (size_t[]){7000}, 1, false);
    assert_int_equal(r.status, OK);
    free(r.log);
}

/* ---- corpus: split anywhere == whole ---------------------------------- */

static const struct {
    const cfg *c;
    const char *s;
    size_t n;
} corpus[] = {
#define S(c, x) {c, x, sizeof x - 1}
    S(&DEF, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n"),
    S(&DEF, "SUB foo 1\r\nPUB foo 5\r\nhello\r\nUNSUB 1\r\nPING\r\n"),
    S(&DEF, "PUB a 0\r\n\r\nPUB b 1\r\nx\r\nPUB c reply 3\r\nabc\r\n"),
    S(&HDR, "HPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\nHPUB a r 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\n"),
    S(&DEF, "sub a q 1\nsub b q 2\npub a 3\nxyz\r\nunsub 1 10\nunsub 2\nping\n"),
    S(&DEF, "PING\r\nPONG\r\n+OK\r\nINFO {\"a\":1}\r\nPING\r\n"),
    S(&DEF, "PUB a 8\r\nPING\r\n\r\n\r\nPING\r\n"),
    S(&DEF, "PUB\ta\t\t r \t 2 \r\nab\r\nSUB\t a \t 9 \r\n"),
    S(&DEF, "PUB a 2\r\nabX\r\nPING\r\n"),
    S(&DEF, "SUB a 1\r\nSUB b 2 3 4\r\nPING\r\n"),
    S(&DEF, "PINGjunk\r\nPONG\tx\r\n+OK more\nPING"),
    S(&DEF, "CONNECT\t{}\r\nCONNECT{}\nINFO\t \t{}\r\n-ERR 'Unknown Protocol Operation'\r\n"),
    S(&DEF, "PUB a\rb 1\r\nx\r\nSUB c\rd 1\nUNSUB 1\r2\n"),
    S(&DEF, "PUB a 3\r\n\0\0\0\r\nSUB \0 \0\r\n"),
    S(&DEF, "UNSUB 1 x\r\nUNSUB 2 999999999\r\nUNSUB 3 1000000000\r\n"),
    S(&DEF, "PUB a 1\r\nx\r\nMSG a 1 1\r\nx\r\n"),
    S(&DEF, "SUB a 1\r\nHMSG a 1 0 0\r\n\r\n"),
    S(&DEF, "PUB foo 2000000\r\n"),
    S(&DEF, "PUB a b c d\r\n"),
    S(&DEF, "SUB \nfoo 1\r\nPUB \nbar 1\r\nx\r\nCONNECT\n{}\r\n"),
    S(&DEF, "PING\r\nPUB a 10\r\n0123456789\r\nPUB a 10\r\n0123456789\n\r\n"),
    S(&HDR, "HPUB a 3 2\r\nab\r\n"),
    S(&DEF, "PUB a 1\r\nx\r\nHPUB a 0 1\r\nx\r\n"),
    S(&DEF, "SUB a 1\r\nPUB a 4\r\ndata\r\n\r\n"),
#undef S
};

static void test_corpus_splits(void **state)
{
    (void)state;
    assert_true(sizeof corpus / sizeof corpus[0] >= 20);
    for (size_t k = 0; k < sizeof corpus / sizeof corpus[0]; k++) {
        result r = consistent(corpus[k].c, corpus[k].s, corpus[k].n);
        free(r.log);
    }
    /* spot-check a few whole results */
    result r = run_whole(&DEF, corpus[1].s, corpus[1].n);
    assert_string_equal(r.log, "SUB foo|-|1\nPUB foo|-|hello\nUNSUB 1|0\nPING\n");
    free(r.log);
    r = run_whole(&DEF, corpus[8].s, corpus[8].n);
    assert_int_equal(r.status, UNKNOWN);
    free(r.log);
    r = run_whole(&DEF, corpus[12].s, corpus[12].n);
    assert_string_equal(r.log, "PUB a\\rb|-|x\nSUB c|-|d\nUNSUB 1|0\n");
    free(r.log);
}

/* ---- pause / resume ----------------------------------------------------- */

static void test_pause_resume(void **state)
{
    (void)state;
    static const char in[] = "PUB a 2\r\nhi\r\nPING\r\nSUB a 1\r\n";
    tern_parser p;
    rec r;
    setup(&p, &r, &DEF);
    r.pause_each = true;
    size_t used;
    size_t off = 0;
    const size_t ends[] = {13, 19, 28};
    for (int k = 0; k < 3; k++) {
        int st = tern_parser_feed(&p, in + off, sizeof in - 1 - off, &CB, &r, &used);
        assert_int_equal(st, TERN_PARSE_PAUSE);
        off += used;
        assert_int_equal(off, ends[k]);
        assert_int_equal(r.nops, k + 1);
    }
    assert_int_equal(tern_parser_feed(&p, in + off, 0, &CB, &r, &used), TERN_PARSE_OK);
    assert_int_equal(used, 0);
    assert_string_equal(r.log, "PUB a|-|hi\nPING\nSUB a|-|1\n");
    /* a pause on a payload that spanned reads */
    assert_int_equal(tern_parser_feed(&p, "PUB b 3\r\nx", 10, &CB, &r, &used), TERN_PARSE_OK);
    assert_int_equal(tern_parser_feed(&p, "yz\r\nPING\r\n", 10, &CB, &r, &used),
                     TERN_PARSE_PAUSE);
    assert_int_equal(used, 4);
    assert_int_equal(tern_parser_feed(&p, "PING\r\n", 6, &CB, &r, &used), TERN_PARSE_PAUSE);
    assert_string_equal(r.log, "PUB a|-|hi\nPING\nSUB a|-|1\nPUB b|-|xyz\nPING\n");
    tern_parser_free(&p);
    free(r.log);
}

/* ---- zero copy ---------------------------------------------------------- */

static const char *zc_buf;
static size_t zc_len;
static int zc_inside;

static int zc_pub(void *ud, const tern_pub_args *m)
{
    (void)ud;
    zc_inside = m->data >= zc_buf && m->data + m->size <= zc_buf + zc_len &&
                m->subject >= zc_buf && m->subject < zc_buf + zc_len;
    return TERN_PARSE_OK;
}

static void test_zero_copy(void **state)
{
    (void)state;
    tern_parser_callbacks cb = {.on_pub = zc_pub};
    tern_parser p;
    tern_parser_init(&p);
    static const char in[] = "PUB abc 3\r\nxyz\r\n";
    zc_buf = in;
    zc_len = sizeof in - 1;
    size_t used;
    assert_int_equal(tern_parser_feed(&p, in, zc_len, &cb, NULL, &used), TERN_PARSE_OK);
    assert_true(zc_inside);
    assert_int_equal(tern_parser_held(&p), 0); /* nothing copied */
    /* split: the data must come from the parser's copy */
    assert_int_equal(tern_parser_feed(&p, in, 12, &cb, NULL, &used), TERN_PARSE_OK);
    assert_int_equal(tern_parser_feed(&p, in + 12, zc_len - 12, &cb, NULL, &used),
                     TERN_PARSE_OK);
    assert_false(zc_inside);
    tern_parser_free(&p);
    /* NULL callbacks are skipped */
    tern_parser_callbacks none = {0};
    tern_parser_init(&p);
    assert_int_equal(tern_parser_feed(&p, "PING\r\nSUB a 1\r\nPUB a 0\r\n\r\n", 26, &none, NULL,
                                      &used),
                     TERN_PARSE_OK);
    tern_parser_free(&p);
}

/* ---- memory bounds ------------------------------------------------------ */

static void test_scratch_bounded(void **state)
{
    (void)state;
    char chunk[100];
    memset(chunk, 'a', sizeof chunk);
    for (int64_t mcl = 64; mcl <= 65536; mcl *= 32) {
        for (size_t step = 1; step <= 100; step += 99) {
            tern_parser p;
            rec r;
            setup(&p, &r, &DEF);
            p.max_control_line = mcl;
            size_t used;
            assert_int_equal(tern_parser_feed(&p, "SUB ", 4, &CB, &r, &used), TERN_PARSE_OK);
            size_t total = 0;
            int st = TERN_PARSE_OK;
            while (st == TERN_PARSE_OK && total < 10u * 1024 * 1024) {
                st = tern_parser_feed(&p, chunk, step, &CB, &r, &used);
                total += step;
                assert_true(tern_parser_held(&p) <= (size_t)mcl + 2);
            }
            assert_int_equal(st, MCL);
            assert_true(total <= (size_t)mcl + 1 + step);
            tern_parser_free(&p);
            free(r.log);
        }
    }
    /* an endless PING tail holds nothing */
    tern_parser p;
    tern_parser_init(&p);
    size_t used;
    assert_int_equal(tern_parser_feed(&p, "PING", 4, &CB, NULL, &used), TERN_PARSE_OK);
    for (int k = 0; k < 10000; k++) {
        assert_int_equal(tern_parser_feed(&p, chunk, sizeof chunk, &CB, NULL, &used),
                         TERN_PARSE_OK);
        assert_int_equal(tern_parser_held(&p), 0);
    }
    tern_parser_free(&p);
}

static uint64_t sum_seen;
static size_t size_seen;

static int sum_pub(void *ud, const tern_pub_args *m)
{
    (void)ud;
    uint64_t s = 0;
    for (size_t k = 0; k < m->size; k++)
        s = s * 31 + (unsigned char)m->data[k];
    sum_seen = s;
    size_seen = m->size;
    return TERN_PARSE_OK;
}

static void test_large_payload_released(void **state)
{
    (void)state;
    const size_t size = 5 * 1024 * 1024 + 3;
    char *msg = malloc(size + 64);
    int hl = snprintf(msg, 64, "PUB big 5242883\r\n");
    uint64_t want = 0;
    for (size_t k = 0; k < size; k++) {
        msg[hl + k] = (char)(k * 7 + 1);
        want = want * 31 + (unsigned char)msg[hl + k];
    }
    memcpy(msg + hl + size, "\r\n", 2);
    size_t n = (size_t)hl + size + 2;

    tern_parser_callbacks cb = {.on_pub = sum_pub};
    tern_parser p;
    tern_parser_init(&p);
    p.max_payload = 8 * 1024 * 1024;
    size_t used, off = 0, peak = 0;
    while (off < n) {
        size_t step = n - off < 65536 ? n - off : 65536;
        assert_int_equal(tern_parser_feed(&p, msg + off, step, &cb, NULL, &used), TERN_PARSE_OK);
        off += step;
        if (tern_parser_held(&p) > peak)
            peak = tern_parser_held(&p);
        assert_true(tern_parser_held(&p) <= size + 2 + 4096);
    }
    assert_int_equal(size_seen, size);
    assert_true(sum_seen == want);
    assert_true(peak >= size);
    /* the big buffer is gone once the message is delivered */
    assert_true(tern_parser_held(&p) <= 16 * 1024);
    /* a big declared size alone does not pin that much memory */
    assert_int_equal(tern_parser_feed(&p, "PUB x 8000000\r\nab", 17, &cb, NULL, &used),
                     TERN_PARSE_OK);
    assert_true(tern_parser_held(&p) <= 1024 * 1024 + 4096);
    tern_parser_free(&p);
    assert_int_equal(tern_parser_held(&p), 0);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_quirks_pub),
        cmocka_unit_test(test_quirks_hpub),
        cmocka_unit_test(test_quirks_sub_unsub),
        cmocka_unit_test(test_quirks_other_ops),
        cmocka_unit_test(test_quirks_auth),
        cmocka_unit_test(test_quirks_control_line),
        cmocka_unit_test(test_corpus_splits),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_scratch_bounded),
        cmocka_unit_test(test_large_payload_released),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
