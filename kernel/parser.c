/* The NATS client-protocol parser (client-protocol.md §2, §5, §6, §10).
 *
 * Accept/reject behaviour is nats-server 2.9.10's for a CLIENT connection
 * (server/parser.go, and the argument checks of processPub,
 * processHeaderPub, parseSub and processUnsub in server/client.go), checked
 * byte for byte against the installed server.
 *
 * What the parser decides and what it leaves to the client layer:
 *   parser  framing; op names; separators; control-line length; argument
 *           counts and sizes of PUB/HPUB/SUB/UNSUB; max_payload; HPUB
 *           without negotiated headers; the payload's CRLF; the first op
 *           while authentication is pending. The statuses say what the
 *           server answers: ERR_UNKNOWN_OP, ERR_MAX_CONTROL_LINE,
 *           ERR_MAX_PAYLOAD and ERR_AUTH send an -ERR and close, ERR_PROTO
 *           closes without a word (nats-server only logs those).
 *   client  everything about the content of well-framed ops: CONNECT and
 *           INFO JSON (nats-server closes silently when either does not
 *           decode, e.g. `CONNECT\r\n` or `INFO {x\r\n`), subject validity
 *           (`-ERR 'Invalid Subject'`, connection stays open), pedantic
 *           publish subjects, permissions, sid bookkeeping, verbose +OK,
 *           and a client's -ERR (logged, connection closed).
 *
 * nats-server quirks kept on purpose:
 *   - the first byte after PUB/HPUB/SUB/UNSUB/-ERR's separator run (or
 *     after CONNECT/INFO) starts the arguments even when it is CR or LF:
 *     `PUB \r\n` is PUB with argument "\r" (closed: no size), `CONNECT\n`
 *     waits for a second LF;
 *   - a CR anywhere inside the arguments makes the byte before the LF be
 *     dropped, whatever it is (`PUB a 1\rX\n` has argument "a 1\r" and is
 *     closed; `SUB a\rb 1\n` subscribes "a" with sid "b");
 *   - PUB/HPUB split arguments on space and tab only, SUB/UNSUB also on
 *     CR and LF;
 *   - an UNSUB max that is not 1-9 digits means "unsubscribe now".
 * Where nats-server's own answer depends on how TCP split the bytes, this
 * parser gives the answer nats-server gives when the op arrives in one
 * read, except HMSG: nats-server treats `HMSG <any>\r\n\r\n` arriving in one
 * read as an empty publish (+OK) but `HMSG <any>\r\n` alone as an unknown
 * op; here HMSG is always ERR_UNKNOWN_OP once its control line ends.
 *
 * Speed: op names are matched byte by byte, the rest by memchr: arguments
 * are found with one scan for LF and payloads are skipped by their byte
 * count. Arguments and payloads are handed out in place when the frame is
 * inside the caller's buffer; only the part of a frame that spans reads is
 * copied, into buffers bounded by max_control_line + 2 and the declared
 * size + 2, released again when they grew large. */
#include "parser.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

enum {
    ST_START,   /* first byte of an op */
    ST_P,       /* after P: PUB, PING or PONG */
    ST_H,       /* after H: HPUB or HMSG */
    ST_NAME,    /* inside an op name (op, drop) */
    ST_SEP,     /* the separator an op with arguments requires */
    ST_SPC,     /* separator run before the arguments */
    ST_ARG,     /* arguments, up to LF */
    ST_SKIP,    /* PING/PONG/+OK: anything up to LF */
    ST_PAYLOAD, /* a PUB/HPUB payload that spans reads */
};

enum {
    OP_PUB,
    OP_HPUB,
    OP_HMSG,
    OP_SUB,
    OP_UNSUB,
    OP_CONNECT,
    OP_INFO,
    OP_ERR,
    OP_PING,
    OP_PONG,
    OP_OK,
};

/* Names in lower case; the state entered once the name is complete. */
static const struct {
    const char *name;
    unsigned char len;
    unsigned char next;
} op_table[] = {
    [OP_PUB] = {"pub", 3, ST_SEP},         [OP_HPUB] = {"hpub", 4, ST_SEP},
    [OP_HMSG] = {"hmsg", 4, ST_SEP},       [OP_SUB] = {"sub", 3, ST_SEP},
    [OP_UNSUB] = {"unsub", 5, ST_SEP},     [OP_CONNECT] = {"connect", 7, ST_SPC},
    [OP_INFO] = {"info", 4, ST_SPC},       [OP_ERR] = {"-err", 4, ST_SEP},
    [OP_PING] = {"ping", 4, ST_SKIP},      [OP_PONG] = {"pong", 4, ST_SKIP},
    [OP_OK] = {"+ok", 3, ST_SKIP},
};

#define NO_START      ((size_t)-1) /* arguments so far are in scratch */
#define SCRATCH_MIN   256
#define SCRATCH_KEEP  (8 * 1024)  /* larger scratch is freed after use */
#define MSG_EAGER     (1024 * 1024) /* up to this, allocate the whole size */
#define MSG_KEEP      (16 * 1024) /* larger payload buffers are freed */

void tern_parser_init(tern_parser *p)
{
    memset(p, 0, sizeof *p);
    p->max_control_line = 4096;   /* nats-server defaults */
    p->max_payload = 1024 * 1024;
    p->state = ST_START;
}

void tern_parser_free(tern_parser *p)
{
    free(p->scratch);
    free(p->msg);
    p->scratch = p->msg = NULL;
    p->scratch_len = p->scratch_cap = p->msg_len = p->msg_cap = 0;
    p->state = ST_START;
}

size_t tern_parser_held(const tern_parser *p)
{
    return p->scratch_cap + p->msg_cap;
}

/* ---- buffers -------------------------------------------------------- */

/* Room for `need` bytes of scratch. Growth is geometric but never beyond
 * what the control-line limit can make necessary (need <= mcl + 2). */
static void scratch_reserve(tern_parser *p, size_t need)
{
    if (need <= p->scratch_cap)
        return;
    size_t cap = p->scratch_cap ? p->scratch_cap * 2 : SCRATCH_MIN;
    if (p->max_control_line > 0 && cap > (size_t)p->max_control_line + 2)
        cap = (size_t)p->max_control_line + 2;
    if (cap < need)
        cap = need;
    p->scratch = tern_xrealloc(p->scratch, cap);
    p->scratch_cap = cap;
}

static void scratch_append(tern_parser *p, const char *b, size_t n)
{
    if (n == 0)
        return;
    scratch_reserve(p, p->scratch_len + n);
    memcpy(p->scratch + p->scratch_len, b, n);
    p->scratch_len += n;
}

static void scratch_release(tern_parser *p)
{
    p->scratch_len = 0;
    if (p->scratch_cap > SCRATCH_KEEP) {
        free(p->scratch);
        p->scratch = NULL;
        p->scratch_cap = 0;
    }
}

/* Room for `want` bytes of a message that will total `need` bytes. Small
 * messages get their whole size at once; big ones grow with what actually
 * arrives, so a declared size alone does not pin memory. */
static void msg_reserve(tern_parser *p, size_t want, size_t need)
{
    if (want <= p->msg_cap)
        return;
    size_t cap = need <= MSG_EAGER ? need : (p->msg_cap ? p->msg_cap * 2 : MSG_EAGER);
    if (cap < want)
        cap = want;
    if (cap > need)
        cap = need;
    p->msg = tern_xrealloc(p->msg, cap);
    p->msg_cap = cap;
}

static void msg_release(tern_parser *p)
{
    p->msg_len = 0;
    if (p->msg_cap > MSG_KEEP) {
        free(p->msg);
        p->msg = NULL;
        p->msg_cap = 0;
    }
}

/* ---- arguments ------------------------------------------------------ */

typedef struct tok {
    const char *s;
    size_t n;
} tok;

/* Argument separators: SEP_BLANK for every op, SEP_CRLF only for SUB and
 * UNSUB (nats-server's processPub splits on space/tab, splitArg also on
 * CR/LF). */
enum { SEP_BLANK = 1, SEP_CRLF = 2 };
static const unsigned char sep_class[256] = {
    [' '] = SEP_BLANK, ['\t'] = SEP_BLANK, ['\r'] = SEP_CRLF, ['\n'] = SEP_CRLF,
};

/* End of the token that starts at u[k]. Every separator is <= 0x20, so
 * eight bytes at a time are tested for "some byte < 0x21" (the lowest
 * flagged byte is exact) and only such a byte is looked up. */
static size_t token_end(const unsigned char *u, size_t k, size_t n, unsigned mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (n - k >= 8) {
        uint64_t x;
        memcpy(&x, u + k, 8);
        uint64_t t = (x - ones * 0x21) & ~x & high;
        if (!t) {
            k += 8;
            continue;
        }
        k += (size_t)__builtin_ctzll(t) / 8;
        if (sep_class[u[k]] & mask)
            return k;
        k++;
    }
#endif
    while (k < n && !(sep_class[u[k]] & mask))
        k++;
    return k;
}

/* Splits s into at most max tokens; returns the token count, or max + 1
 * when there are more. */
static int split(const char *s, size_t n, tok *out, int max, unsigned mask)
{
    const unsigned char *u = (const unsigned char *)s;
    int cnt = 0;
    size_t k = 0;
    for (;;) {
        while (k < n && (sep_class[u[k]] & mask))
            k++;
        if (k == n)
            return cnt;
        if (cnt == max)
            return max + 1;
        size_t st = k;
        k = token_end(u, k, n, mask);
        out[cnt].s = s + st;
        out[cnt].n = k - st;
        cnt++;
    }
}

/* nats-server's parseSize: 1 to 9 ASCII digits, else -1. */
static int64_t parse_size(const tok *t)
{
    if (t->n == 0 || t->n > 9)
        return -1;
    int64_t v = 0;
    for (size_t k = 0; k < t->n; k++) {
        unsigned d = (unsigned char)t->s[k] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    return v;
}

/* PUB/HPUB control line → args, in processPub/processHeaderPub's order of
 * checks. */
static tern_parse_status parse_pub(const tern_parser *p, bool hpub, const char *a, size_t n,
                                   tern_pub_args *m)
{
    tok t[4];
    int lo = hpub ? 3 : 2;
    if (hpub && !p->headers)
        return TERN_PARSE_ERR_PROTO;
    int cnt = split(a, n, t, lo + 1, SEP_BLANK);
    if (cnt < lo || cnt > lo + 1)
        return TERN_PARSE_ERR_PROTO;
    int64_t hdr = 0;
    if (hpub && (hdr = parse_size(&t[cnt - 2])) < 0)
        return TERN_PARSE_ERR_PROTO;
    int64_t size = parse_size(&t[cnt - 1]);
    if (size < 0 || hdr > size)
        return TERN_PARSE_ERR_PROTO;
    if (p->max_payload > 0 && size > p->max_payload)
        return TERN_PARSE_ERR_MAX_PAYLOAD;
    m->subject = t[0].s;
    m->subject_len = t[0].n;
    m->reply = cnt == lo + 1 ? t[1].s : NULL;
    m->reply_len = cnt == lo + 1 ? t[1].n : 0;
    m->data = NULL;
    m->size = (size_t)size;
    m->hdr_len = (size_t)hdr;
    m->hpub = hpub;
    m->size_text = t[cnt - 1].s;
    m->size_text_len = t[cnt - 1].n;
    m->hdr_text = hpub ? t[cnt - 2].s : NULL;
    m->hdr_text_len = hpub ? t[cnt - 2].n : 0;
    return TERN_PARSE_OK;
}

/* A complete SUB/UNSUB/CONNECT/INFO/-ERR/HMSG line. */
static int line_op(tern_parser *p, const char *a, size_t n, const tern_parser_callbacks *cb,
                   void *ud)
{
    tok t[3];
    int cnt;
    switch (p->op) {
    case OP_SUB:
        cnt = split(a, n, t, 3, SEP_BLANK | SEP_CRLF);
        if (cnt < 2 || cnt > 3)
            return TERN_PARSE_ERR_PROTO;
        if (!cb->on_sub)
            return TERN_PARSE_OK;
        return cb->on_sub(ud, t[0].s, t[0].n, cnt == 3 ? t[1].s : NULL, cnt == 3 ? t[1].n : 0,
                          t[cnt - 1].s, t[cnt - 1].n);
    case OP_UNSUB:
        cnt = split(a, n, t, 2, SEP_BLANK | SEP_CRLF);
        if (cnt < 1 || cnt > 2)
            return TERN_PARSE_ERR_PROTO;
        if (!cb->on_unsub)
            return TERN_PARSE_OK;
        return cb->on_unsub(ud, t[0].s, t[0].n, cnt == 2 ? parse_size(&t[1]) : 0);
    case OP_CONNECT:
        return cb->on_connect ? cb->on_connect(ud, a, n) : TERN_PARSE_OK;
    case OP_INFO:
        return cb->on_info ? cb->on_info(ud, a, n) : TERN_PARSE_OK;
    case OP_ERR:
        return cb->on_err ? cb->on_err(ud, a, n) : TERN_PARSE_OK;
    default: /* OP_HMSG: a server-to-client op */
        return TERN_PARSE_ERR_UNKNOWN_OP;
    }
}

/* Keeps a PUB whose payload spans reads: its subject and reply must
 * outlive the caller's buffer, so they move into scratch unless the
 * control line is there already. */
static void keep_pub(tern_parser *p, const tern_pub_args *m, bool in_scratch)
{
    if (!in_scratch) {
        p->scratch_len = 0;
        scratch_reserve(p, m->subject_len + m->reply_len + m->hdr_text_len + m->size_text_len);
        p->pub_args_off[0] = 0;
        scratch_append(p, m->subject, m->subject_len);
        p->pub_args_off[1] = p->scratch_len;
        if (m->reply)
            scratch_append(p, m->reply, m->reply_len);
        p->pub_args_off[2] = p->scratch_len;
        if (m->hdr_text)
            scratch_append(p, m->hdr_text, m->hdr_text_len);
        p->pub_args_off[3] = p->scratch_len;
        scratch_append(p, m->size_text, m->size_text_len);
    } else {
        p->pub_args_off[0] = (size_t)(m->subject - p->scratch);
        p->pub_args_off[1] = m->reply ? (size_t)(m->reply - p->scratch) : 0;
        p->pub_args_off[2] = m->hdr_text ? (size_t)(m->hdr_text - p->scratch) : 0;
        p->pub_args_off[3] = (size_t)(m->size_text - p->scratch);
    }
    p->pub = *m;
}

/* ---- the state machine ---------------------------------------------- */

tern_parse_status tern_parser_feed(tern_parser *p, const char *buf, size_t len,
                                   const tern_parser_callbacks *cb, void *ud, size_t *consumed)
{
    size_t i = 0;
    size_t as = NO_START; /* where the arguments start in buf */
    int st = TERN_PARSE_OK;

    while (i < len) {
        switch (p->state) {
        case ST_START: {
            unsigned char b = (unsigned char)buf[i];
            if (p->require_connect && b != 'C' && b != 'c') {
                st = TERN_PARSE_ERR_AUTH;
                goto out;
            }
            /* Fast path for the ops of the data path when their name is
             * all here: straight to the arguments (same result as the
             * byte-wise states below). OR-ing 0x20 folds case for letters
             * only; the separator is compared as is. */
            if (len - i >= 6) {
                const unsigned char *u = (const unsigned char *)buf + i;
                unsigned c0 = u[0] | 0x20, c1 = u[1] | 0x20, c2 = u[2] | 0x20;
                unsigned c3 = u[3] | 0x20;
                if (c0 == 'p' && c1 == 'u' && c2 == 'b' && (u[3] == ' ' || u[3] == '\t')) {
                    p->op = OP_PUB;
                    i += 4;
                    p->state = ST_SPC;
                    goto spc;
                }
                if (c0 == 'h' && c1 == 'p' && c2 == 'u' && c3 == 'b' &&
                    (u[4] == ' ' || u[4] == '\t')) {
                    p->op = OP_HPUB;
                    i += 5;
                    p->state = ST_SPC;
                    goto spc;
                }
                if (c0 == 's' && c1 == 'u' && c2 == 'b' && (u[3] == ' ' || u[3] == '\t')) {
                    p->op = OP_SUB;
                    i += 4;
                    p->state = ST_SPC;
                    goto spc;
                }
                if (c0 == 'p' && (c1 == 'i' || c1 == 'o') && c2 == 'n' && c3 == 'g') {
                    p->op = c1 == 'i' ? OP_PING : OP_PONG;
                    i += 4;
                    p->state = ST_SKIP;
                    goto skip;
                }
            }
            switch (b) {
            case 'P': case 'p': p->state = ST_P; break;
            case 'H': case 'h': p->state = ST_H; break;
            case 'S': case 's': p->op = OP_SUB; goto name;
            case 'U': case 'u': p->op = OP_UNSUB; goto name;
            case 'C': case 'c': p->op = OP_CONNECT; goto name;
            case 'I': case 'i': p->op = OP_INFO; goto name;
            case '+': p->op = OP_OK; goto name;
            case '-': p->op = OP_ERR; goto name;
            default: /* includes the route/leaf ops R, A, L and MSG */
                st = TERN_PARSE_ERR_UNKNOWN_OP;
                goto out;
            }
            i++;
            break;
        name:
            p->drop = 1;
            p->state = ST_NAME;
            i++;
            break;
        }
        case ST_P:
            switch (buf[i] | 0x20) {
            case 'u': p->op = OP_PUB; break;
            case 'i': p->op = OP_PING; break;
            case 'o': p->op = OP_PONG; break;
            default: st = TERN_PARSE_ERR_UNKNOWN_OP; goto out;
            }
            p->drop = 2;
            p->state = ST_NAME;
            i++;
            break;
        case ST_H:
            switch (buf[i] | 0x20) {
            case 'p': p->op = OP_HPUB; break;
            case 'm': p->op = OP_HMSG; break;
            default: st = TERN_PARSE_ERR_UNKNOWN_OP; goto out;
            }
            p->drop = 2;
            p->state = ST_NAME;
            i++;
            break;
        case ST_NAME: {
            /* Name bytes after the first are letters, so OR-ing 0x20
             * matches exactly their two cases. */
            const char *nm = op_table[p->op].name;
            int nl = op_table[p->op].len;
            while (p->drop < nl && i < len) {
                if ((buf[i] | 0x20) != nm[p->drop]) {
                    st = TERN_PARSE_ERR_UNKNOWN_OP;
                    goto out;
                }
                p->drop++;
                i++;
            }
            if (p->drop == nl)
                p->state = op_table[p->op].next;
            break;
        }
        case ST_SEP:
            if (buf[i] != ' ' && buf[i] != '\t') {
                st = TERN_PARSE_ERR_UNKNOWN_OP;
                goto out;
            }
            p->state = ST_SPC;
            i++;
            break;
        case ST_SPC:
        spc:
            while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
                i++;
            if (i == len)
                break;
            /* The first argument byte is taken as is, even CR or LF. */
            as = i++;
            p->cr = false;
            p->scratch_len = 0;
            p->state = ST_ARG;
            /* fall through */
        case ST_ARG: {
            size_t have = as != NO_START ? i - as : p->scratch_len;
            size_t avail = len - i, win = avail;
            /* An LF further than mcl + 2 bytes from the argument start
             * can only end an over-long line: don't scan for it. */
            if (p->max_control_line > 0) {
                size_t lim = (size_t)p->max_control_line + 2;
                lim = lim > have ? lim - have : 0;
                if (win > lim)
                    win = lim;
            }
            const char *lf = win ? memchr(buf + i, '\n', win) : NULL;
            if (!lf) {
                if (win < avail) {
                    st = TERN_PARSE_ERR_MAX_CONTROL_LINE;
                    goto out;
                }
                /* Incomplete: keep it, within the limit nats-server
                 * applies to a line still being read. */
                if (!p->cr && avail && memchr(buf + i, '\r', avail))
                    p->cr = true;
                if (p->max_control_line > 0 &&
                    have + avail - p->cr > (size_t)p->max_control_line) {
                    st = TERN_PARSE_ERR_MAX_CONTROL_LINE;
                    goto out;
                }
                if (as != NO_START)
                    scratch_append(p, buf + as, len - as);
                else
                    scratch_append(p, buf + i, avail);
                i = len;
                as = NO_START;
                break;
            }
            size_t j = (size_t)(lf - buf);
            bool cr = p->cr || (j > i && buf[j - 1] == '\r') ||
                      (j > i && memchr(buf + i, '\r', j - i));
            const char *a;
            size_t n;
            bool in_scratch = as == NO_START;
            if (!in_scratch) {
                a = buf + as;
                n = j - as;
            } else {
                scratch_append(p, buf + i, j - i);
                a = p->scratch;
                n = p->scratch_len;
            }
            as = NO_START;
            n -= cr; /* nats-server drops the byte before LF once it saw a CR */
            if (p->max_control_line > 0 && n > (size_t)p->max_control_line) {
                st = TERN_PARSE_ERR_MAX_CONTROL_LINE;
                goto out;
            }
            i = j + 1;
            p->state = ST_START;

            if (p->op != OP_PUB && p->op != OP_HPUB) {
                st = line_op(p, a, n, cb, ud);
                scratch_release(p);
                if (st != TERN_PARSE_OK)
                    goto out;
                break;
            }

            tern_pub_args m;
            st = parse_pub(p, p->op == OP_HPUB, a, n, &m);
            if (st != TERN_PARSE_OK)
                goto out;
            avail = len - i;
            if (avail >= m.size + 2) {
                /* The whole payload is here: hand it out in place. */
                if (buf[i + m.size] != '\r') {
                    i += m.size;
                    st = TERN_PARSE_ERR_UNKNOWN_OP;
                    goto out;
                }
                if (buf[i + m.size + 1] != '\n') {
                    i += m.size + 1;
                    st = TERN_PARSE_ERR_UNKNOWN_OP;
                    goto out;
                }
                m.data = buf + i;
                i += m.size + 2;
                st = cb->on_pub ? cb->on_pub(ud, &m) : TERN_PARSE_OK;
                scratch_release(p);
                if (st != TERN_PARSE_OK)
                    goto out;
                break;
            }
            if (avail > m.size && buf[i + m.size] != '\r') {
                i += m.size;
                st = TERN_PARSE_ERR_UNKNOWN_OP;
                goto out;
            }
            keep_pub(p, &m, in_scratch);
            p->msg_len = 0;
            if (avail) {
                msg_reserve(p, avail, m.size + 2);
                memcpy(p->msg, buf + i, avail);
                p->msg_len = avail;
            }
            i = len;
            p->state = ST_PAYLOAD;
            break;
        }
        case ST_SKIP:
        skip: {
            const char *lf = memchr(buf + i, '\n', len - i);
            if (!lf) {
                i = len;
                break;
            }
            i = (size_t)(lf - buf) + 1;
            p->state = ST_START;
            int (*f)(void *) = p->op == OP_PING ? cb->on_ping
                               : p->op == OP_PONG ? cb->on_pong
                                                  : cb->on_ok;
            st = f ? f(ud) : TERN_PARSE_OK;
            if (st != TERN_PARSE_OK)
                goto out;
            break;
        }
        case ST_PAYLOAD: {
            size_t size = p->pub.size, need = size + 2;
            size_t take = need - p->msg_len;
            if (take > len - i)
                take = len - i;
            size_t from = p->msg_len, to = from + take;
            /* The CR and LF after the payload, where they land in this read. */
            if (from <= size && size < to && buf[i + (size - from)] != '\r') {
                i += size - from;
                st = TERN_PARSE_ERR_UNKNOWN_OP;
                goto out;
            }
            if (from <= size + 1 && size + 1 < to && buf[i + (size + 1 - from)] != '\n') {
                i += size + 1 - from;
                st = TERN_PARSE_ERR_UNKNOWN_OP;
                goto out;
            }
            msg_reserve(p, to, need);
            memcpy(p->msg + from, buf + i, take);
            p->msg_len = to;
            i += take;
            if (to < need)
                break;
            tern_pub_args m = p->pub;
            m.subject = p->scratch + p->pub_args_off[0];
            m.reply = m.reply ? p->scratch + p->pub_args_off[1] : NULL;
            m.hdr_text = m.hdr_text ? p->scratch + p->pub_args_off[2] : NULL;
            m.size_text = p->scratch + p->pub_args_off[3];
            m.data = p->msg;
            p->state = ST_START;
            st = cb->on_pub ? cb->on_pub(ud, &m) : TERN_PARSE_OK;
            msg_release(p);
            scratch_release(p);
            if (st != TERN_PARSE_OK)
                goto out;
            break;
        }
        default:
            st = TERN_PARSE_ERR_PROTO;
            goto out;
        }
    }
out:
    if (st != TERN_PARSE_OK && st != TERN_PARSE_PAUSE && st != TERN_PARSE_CLOSED) {
        /* The connection is done for; leave the parser reusable anyway. */
        p->state = ST_START;
        p->scratch_len = p->msg_len = 0;
    }
    *consumed = i;
    return (tern_parse_status)st;
}
