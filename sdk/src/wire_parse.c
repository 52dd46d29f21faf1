/* The server-to-server wire parser (tern/wire.h). Argument rules follow nats-server
 * 2.9's processRemoteSub, parseUnsubProto and processRouted*MsgArgs, and for the
 * leaf dialect processLeafSub, processLeafUnsub and processLeaf*MsgArgs: the same
 * rules without the account. */
#include "tern/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { NEED_MORE = 1, DONE = 0, FAIL = -1 };

#define MAX_ARGS (TERN_WIRE_MAX_QUEUES + 8)

void tern_wire_parse_init(tern_wire_parser *p)
{
    tern_wire_parse_init_dialect(p, TERN_WIRE_ROUTE);
}

void tern_wire_parse_init_dialect(tern_wire_parser *p, tern_wire_dialect dialect)
{
    memset(p, 0, sizeof *p);
    p->dialect = dialect;
}

void tern_wire_parse_free(tern_wire_parser *p)
{
    free(p->pend);
    free(p->line);
    memset(p, 0, sizeof *p);
}

static int fail(tern_wire_parser *p, const char *fmt, const char *what)
{
    snprintf(p->err, sizeof p->err, fmt, what);
    return FAIL;
}

static bool grow(char **buf, size_t *cap, size_t want)
{
    if (want <= *cap)
        return true;
    size_t n = *cap ? *cap : 256;
    while (n < want)
        n *= 2;
    char *b = realloc(*buf, n);
    if (!b)
        return false;
    *buf = b;
    *cap = n;
    return true;
}

/* nats-server's parseSize: 1 to 9 decimal digits, else -1. */
static long parse_size(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool is_sep(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Split line (NUL-terminated, modified) into at most max tokens; returns
 * the count, or max + 1 when there are more. */
static size_t split(char *line, char **argv, size_t max)
{
    size_t n = 0;
    char *s = line;
    for (;;) {
        while (*s && is_sep(*s))
            s++;
        if (!*s)
            return n;
        if (n == max)
            return max + 1;
        argv[n++] = s;
        while (*s && !is_sep(*s))
            s++;
        if (!*s)
            return n;
        *s++ = '\0';
    }
}

/* Arguments before the subject's: the account, which a leaf connection's
 * ops do not carry. */
static size_t account_args(const tern_wire_parser *p)
{
    return p->dialect == TERN_WIRE_LEAF ? 0 : 1;
}

static int parse_sub(tern_wire_parser *p, tern_wire_op *op, char **a, size_t n, bool origin)
{
    size_t acc = account_args(p);
    size_t off = (origin ? 1 : 0) + acc;   /* the subject's index */
    if (n != off + 1 && n != off + 3)
        return fail(p, "Parse Error: bad %s arguments", op->leaf ? "LS+" : "RS+");
    op->kind = TERN_WIRE_OP_SUB;
    op->origin = origin ? a[0] : NULL;
    op->account = acc ? a[off - 1] : NULL;
    op->subject = a[off];
    op->queue = NULL;
    op->weight = 1;
    if (n == off + 3) {
        op->queue = a[off + 1];
        long w = parse_size(a[off + 2]);
        /* nats-server stores what parseSize gives; a weight below 1 would
         * make the group unreachable, so count it as one member. */
        op->weight = w < 1 ? 1 : (uint32_t)w;
    }
    return DONE;
}

static int parse_unsub(tern_wire_parser *p, tern_wire_op *op, char **a, size_t n)
{
    size_t acc = account_args(p);
    if (n != acc + 1 && n != acc + 2)
        return fail(p, "Parse Error: bad %s arguments", op->leaf ? "LS-" : "RS-");
    op->kind = TERN_WIRE_OP_UNSUB;
    op->account = acc ? a[0] : NULL;
    op->subject = a[acc];
    op->queue = n == acc + 2 ? a[acc + 1] : NULL;
    return DONE;
}

/* RMSG / HMSG / LMSG arguments (after a route's LMSG origin). */
static int parse_msg_args(tern_wire_parser *p, tern_wire_op *op, char **a, size_t n, bool hdr,
                          long *hsz, long *sz)
{
    size_t acc = account_args(p);
    size_t sizes = hdr ? 2 : 1;
    if (n < acc + 1 + sizes)   /* (a route's LMSG has a header size too) */
        return fail(p, "Parse Error: bad %s arguments",
                    op->leaf && (acc || !hdr) ? "LMSG" : hdr ? "HMSG" : "RMSG");
    op->account = acc ? a[0] : NULL;
    op->subject = a[acc];
    op->reply = NULL;
    op->nqueues = 0;
    if (n == acc + 2 + sizes) {
        op->reply = a[acc + 1];
    } else if (n > acc + 2 + sizes) {
        const char *ind = a[acc + 1];
        if (strlen(ind) != 1 || (ind[0] != '+' && ind[0] != '|'))
            return fail(p, "Parse Error: Bad or Missing Reply Indicator: '%s'", ind);
        size_t first = acc + 2;
        if (ind[0] == '+') {
            op->reply = a[acc + 2];
            first = acc + 3;
        }
        if (n - sizes - first > TERN_WIRE_MAX_QUEUES)
            return fail(p, "Parse Error: too many queue names%s", "");
        for (size_t i = first; i < n - sizes; i++)
            p->qv[op->nqueues++] = a[i];
    }
    *hsz = hdr ? parse_size(a[n - 2]) : 0;
    *sz = parse_size(a[n - 1]);
    if (*hsz < 0)
        return fail(p, "Parse Error: Bad or Missing Header Size%s", "");
    if (*sz < 0)
        return fail(p, "Parse Error: Bad or Missing Size%s", "");
    if (*hsz > *sz)
        return fail(p, "Parse Error: Header Size larger then TotalSize%s", "");
    op->queues = p->qv;
    return DONE;
}

/* Parse one op from buf. DONE: *used bytes consumed, fn called.
 * NEED_MORE: incomplete (*need: the bytes it needs in all, 0: unknown). */
static int parse_one(tern_wire_parser *p, const char *buf, size_t len, size_t *used,
                     size_t *need, tern_wire_op_fn fn, void *ud, int *cb_rc)
{
    *need = 0;
    const char *nl = memchr(buf, '\n', len);
    if (!nl) {
        if (len > TERN_WIRE_MAX_CONTROL_LINE)
            return fail(p, "Maximum Control Line Exceeded%s", "");
        return NEED_MORE;
    }
    size_t line_len = (size_t)(nl - buf);
    size_t after = line_len + 1;
    if (line_len && buf[line_len - 1] == '\r')
        line_len--;
    if (!grow(&p->line, &p->line_cap, line_len + 1))
        return fail(p, "out of memory%s", "");
    memcpy(p->line, buf, line_len);
    p->line[line_len] = '\0';

    /* the op name */
    char *s = p->line;
    while (*s == ' ' || *s == '\t')
        s++;
    char *name = s;
    while (*s && !is_sep(*s))
        s++;
    size_t name_len = (size_t)(s - name);
    if (*s)
        *s++ = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    char *rest = s;

    tern_wire_op op;
    memset(&op, 0, sizeof op);
    char *a[MAX_ARGS];
    size_t n;
    bool hdr = false, origin = false, lmsg = false;
    bool leafd = p->dialect == TERN_WIRE_LEAF;

    if (name_len == 0)
        return fail(p, "Unknown Protocol Operation%s", "");
    if (!strcasecmp(name, "PING")) {
        op.kind = TERN_WIRE_OP_PING;
    } else if (!strcasecmp(name, "PONG")) {
        op.kind = TERN_WIRE_OP_PONG;
    } else if (!strcasecmp(name, "+OK")) {
        op.kind = TERN_WIRE_OP_OK;
    } else if (!strcasecmp(name, "-ERR") || !strcasecmp(name, "INFO") ||
               !strcasecmp(name, "CONNECT")) {
        op.kind = (name[0] == '-') ? TERN_WIRE_OP_ERR
                  : (name[0] == 'I' || name[0] == 'i') ? TERN_WIRE_OP_INFO : TERN_WIRE_OP_CONNECT;
        op.arg = rest;
        op.arg_len = strlen(rest);
        while (op.arg_len && is_sep(rest[op.arg_len - 1]))
            rest[--op.arg_len] = '\0';
    } else if ((!leafd && !strcasecmp(name, "RS+")) || !strcasecmp(name, "LS+")) {
        op.leaf = name[0] == 'L' || name[0] == 'l';
        n = split(rest, a, MAX_ARGS);
        /* a route's LS+ names the origin cluster; a leaf connection's does not */
        if (parse_sub(p, &op, a, n, op.leaf && !leafd) < 0)
            return FAIL;
    } else if ((!leafd && !strcasecmp(name, "RS-")) || !strcasecmp(name, "LS-")) {
        op.leaf = name[0] == 'L' || name[0] == 'l';
        n = split(rest, a, MAX_ARGS);
        if (parse_unsub(p, &op, a, n) < 0)
            return FAIL;
    } else if (!leafd && (!strcasecmp(name, "A+") || !strcasecmp(name, "A-"))) {
        op.kind = TERN_WIRE_OP_ACCOUNT;
    } else if ((!leafd && !strcasecmp(name, "RMSG")) || (hdr = !strcasecmp(name, "HMSG")) ||
               (lmsg = !strcasecmp(name, "LMSG"))) {
        op.kind = TERN_WIRE_OP_MSG;
        op.leaf = lmsg || leafd;
        /* a route's LMSG names the origin and always carries a header size;
         * a leaf connection's LMSG is its message without headers */
        origin = lmsg && !leafd;
        hdr = hdr || origin;
        n = split(rest, a, MAX_ARGS);
        if (n > MAX_ARGS)
            return fail(p, "Parse Error: too many queue names%s", "");
        char **args = a;
        if (origin) {
            if (n < 1)
                return fail(p, "Parse Error: bad LMSG arguments%s", "");
            op.origin = a[0];
            args++;
            n--;
        }
        long hsz, sz;
        if (parse_msg_args(p, &op, args, n, hdr, &hsz, &sz) < 0)
            return FAIL;
        size_t total = after + (size_t)sz + 2;
        if (len < total) {
            *need = total;
            return NEED_MORE;
        }
        if (buf[after + (size_t)sz] != '\r' || buf[after + (size_t)sz + 1] != '\n')
            return fail(p, "Parse Error: message payload not followed by CRLF%s", "");
        op.data = buf + after;
        op.len = (size_t)sz;
        op.hdr_len = (size_t)hsz;
        op.headers = hdr;
        after = total;
    } else {
        return fail(p, "Unknown Protocol Operation%s", "");
    }
    *used = after;
    *cb_rc = fn(ud, &op);
    return DONE;
}

int tern_wire_parse_feed(tern_wire_parser *p, const char *bytes, size_t len, tern_wire_op_fn fn,
                         void *ud)
{
    while (len > 0) {
        size_t used = 0, need = 0;
        int cb_rc = 0, r;
        if (p->pend_len) {
            /* complete the pending op: only the bytes it still lacks */
            size_t add;
            if (p->need) {
                add = p->need - p->pend_len;
                if (add > len)
                    add = len;
            } else {
                const char *nl = memchr(bytes, '\n', len);
                add = nl ? (size_t)(nl - bytes) + 1 : len;
            }
            if (!grow(&p->pend, &p->pend_cap, p->pend_len + add))
                return fail(p, "out of memory%s", "");
            memcpy(p->pend + p->pend_len, bytes, add);
            p->pend_len += add;
            bytes += add;
            len -= add;
            if (p->need && p->pend_len < p->need)
                return 0;
            r = parse_one(p, p->pend, p->pend_len, &used, &need, fn, ud, &cb_rc);
            if (r == FAIL)
                return -1;
            if (r == NEED_MORE) {
                p->need = need;
                continue;
            }
            p->pend_len = 0;
            p->need = 0;
        } else {
            r = parse_one(p, bytes, len, &used, &need, fn, ud, &cb_rc);
            if (r == FAIL)
                return -1;
            if (r == NEED_MORE) {
                if (!grow(&p->pend, &p->pend_cap, len))
                    return fail(p, "out of memory%s", "");
                memcpy(p->pend, bytes, len);
                p->pend_len = len;
                p->need = need;
                return 0;
            }
            bytes += used;
            len -= used;
        }
        if (cb_rc)
            return cb_rc;
    }
    return 0;
}
