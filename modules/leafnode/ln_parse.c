/* Leaf protocol parser (ln_parse.h). Argument rules follow nats-server
 * 2.9's processLeafSub, processLeafUnsub and processLeafMsgArgs /
 * processLeafHeaderMsgArgs. */
#include "ln_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { NEED_MORE = 1, DONE = 0, FAIL = -1 };

#define MAX_ARGS (LN_MAX_QUEUES + 6)

void ln_parse_init(ln_parser *p)
{
    memset(p, 0, sizeof *p);
}

void ln_parse_free(ln_parser *p)
{
    free(p->pend);
    free(p->line);
    memset(p, 0, sizeof *p);
}

static int fail(ln_parser *p, const char *what)
{
    snprintf(p->err, sizeof p->err, "%s", what);
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

static int parse_msg_args(ln_parser *p, ln_op *op, char **a, size_t n, bool hdr, long *hsz,
                          long *sz)
{
    size_t sizes = hdr ? 2 : 1;
    if (n < 1 + sizes)
        return fail(p, hdr ? "processLeafHeaderMsgArgs Parse Error" : "processLeafMsgArgs Parse Error");
    op->subject = a[0];
    op->reply = NULL;
    op->nqueues = 0;
    if (n == 2 + sizes) {
        op->reply = a[1];
    } else if (n > 2 + sizes) {
        if (strlen(a[1]) != 1 || (a[1][0] != '+' && a[1][0] != '|'))
            return fail(p, "Bad or Missing Reply Indicator");
        size_t first = 2;
        if (a[1][0] == '+') {
            op->reply = a[2];
            first = 3;
        }
        for (size_t i = first; i < n - sizes; i++)
            p->qv[op->nqueues++] = a[i];
    }
    *hsz = hdr ? parse_size(a[n - 2]) : 0;
    *sz = parse_size(a[n - 1]);
    if (*hsz < 0)
        return fail(p, "Bad or Missing Header Size");
    if (*sz < 0)
        return fail(p, "Bad or Missing Size");
    if (*hsz > *sz)
        return fail(p, "Header Size larger then TotalSize");
    op->queues = p->qv;
    return DONE;
}

static int parse_one(ln_parser *p, const char *buf, size_t len, size_t *used, size_t *need,
                     ln_op_fn fn, void *ud, int *cb_rc)
{
    *need = 0;
    const char *nl = memchr(buf, '\n', len);
    if (!nl) {
        if (len > LN_MAX_CONTROL_LINE)
            return fail(p, "Maximum Control Line Exceeded");
        return NEED_MORE;
    }
    size_t line_len = (size_t)(nl - buf);
    size_t after = line_len + 1;
    if (line_len && buf[line_len - 1] == '\r')
        line_len--;
    if (!grow(&p->line, &p->line_cap, line_len + 1))
        return fail(p, "out of memory");
    memcpy(p->line, buf, line_len);
    p->line[line_len] = '\0';

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

    ln_op op;
    memset(&op, 0, sizeof op);
    char *a[MAX_ARGS];
    size_t n;
    bool hdr = false;

    if (name_len == 0)
        return fail(p, "Unknown Protocol Operation");
    if (!strcasecmp(name, "PING")) {
        op.kind = LN_OP_PING;
    } else if (!strcasecmp(name, "PONG")) {
        op.kind = LN_OP_PONG;
    } else if (!strcasecmp(name, "+OK")) {
        op.kind = LN_OP_OK;
    } else if (!strcasecmp(name, "-ERR") || !strcasecmp(name, "INFO") ||
               !strcasecmp(name, "CONNECT")) {
        op.kind = name[0] == '-' ? LN_OP_ERR
                  : (name[0] == 'I' || name[0] == 'i') ? LN_OP_INFO : LN_OP_CONNECT;
        op.arg = rest;
        op.arg_len = strlen(rest);
        while (op.arg_len && is_sep(rest[op.arg_len - 1]))
            rest[--op.arg_len] = '\0';
    } else if (!strcasecmp(name, "LS+")) {
        n = split(rest, a, MAX_ARGS);
        if (n != 1 && n != 3)
            return fail(p, "processLeafSub Parse Error");
        op.kind = LN_OP_SUB;
        op.subject = a[0];
        op.weight = 1;
        if (n == 3) {
            op.queue = a[1];
            long w = parse_size(a[2]);
            op.weight = w < 1 ? 1 : (uint32_t)w;
        }
    } else if (!strcasecmp(name, "LS-")) {
        n = split(rest, a, MAX_ARGS);
        if (n != 1 && n != 2)
            return fail(p, "processLeafUnsub Parse Error");
        op.kind = LN_OP_UNSUB;
        op.subject = a[0];
        op.queue = n == 2 ? a[1] : NULL;
    } else if (!strcasecmp(name, "LMSG") || (hdr = !strcasecmp(name, "HMSG"))) {
        op.kind = LN_OP_MSG;
        n = split(rest, a, MAX_ARGS);
        if (n > MAX_ARGS)
            return fail(p, "too many queue names");
        long hsz = 0, sz = 0;
        if (parse_msg_args(p, &op, a, n, hdr, &hsz, &sz) < 0)
            return FAIL;
        size_t total = after + (size_t)sz + 2;
        if (len < total) {
            *need = total;
            return NEED_MORE;
        }
        if (buf[after + (size_t)sz] != '\r' || buf[after + (size_t)sz + 1] != '\n')
            return fail(p, "message payload not followed by CRLF");
        op.data = buf + after;
        op.len = (size_t)sz;
        op.hdr_len = (size_t)hsz;
        after = total;
    } else {
        return fail(p, "Unknown Protocol Operation");
    }
    *used = after;
    *cb_rc = fn(ud, &op);
    return DONE;
}

int ln_parse_feed(ln_parser *p, const char *bytes, size_t len, ln_op_fn fn, void *ud)
{
    while (len > 0) {
        size_t used = 0, need = 0;
        int cb_rc = 0, r;
        if (p->pend_len) {
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
                return fail(p, "out of memory");
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
                    return fail(p, "out of memory");
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
