/* Framing of the server-to-server ops (tern/wire.h). */
#include "tern/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tern_wire_buf_free(tern_wire_buf *b)
{
    free(b->b);
    memset(b, 0, sizeof *b);
}

void tern_wire_buf_reset(tern_wire_buf *b)
{
    b->len = 0;
    b->oom = false;
}

static bool reserve(tern_wire_buf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->len + n + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->b, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->b = p;
    b->cap = cap;
    return true;
}

void tern_wire_buf_add(tern_wire_buf *b, const void *p, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->b + b->len, p, n);
    b->len += n;
    b->b[b->len] = '\0';
}

void tern_wire_buf_str(tern_wire_buf *b, const char *s)
{
    tern_wire_buf_add(b, s, strlen(s));
}

void tern_wire_buf_fmt(tern_wire_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->b + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* RS+/LS+ [account] subject [queue weight], RS-/LS- [account] subject [queue]
 * (sub: with the weight) */
static void frame_interest(tern_wire_buf *b, const char *op, const char *account,
                           const char *subject, const char *queue, bool sub, uint32_t weight)
{
    tern_wire_buf_str(b, op);
    if (account) {
        tern_wire_buf_add(b, " ", 1);
        tern_wire_buf_str(b, account);
    }
    tern_wire_buf_add(b, " ", 1);
    tern_wire_buf_str(b, subject);
    if (queue) {
        tern_wire_buf_add(b, " ", 1);
        tern_wire_buf_str(b, queue);
        if (sub)
            tern_wire_buf_fmt(b, " %u", weight ? weight : 1);
    }
    tern_wire_buf_add(b, "\r\n", 2);
}

/* plain (RMSG/LMSG) or HMSG [account] subject [reply | + reply q… | `|` q…] [hdr] size */
static void frame_msg(tern_wire_buf *b, const char *plain, const char *account,
                      const char *subject, const char *reply, const char *const *queues,
                      size_t nqueues, const void *data, size_t hdr_len, size_t len,
                      bool peer_headers)
{
    const char *bytes = data;
    if (hdr_len && !peer_headers) {
        bytes += hdr_len;
        len -= hdr_len;
        hdr_len = 0;
    }
    tern_wire_buf_str(b, hdr_len ? "HMSG " : plain);
    if (account) {
        tern_wire_buf_str(b, account);
        tern_wire_buf_add(b, " ", 1);
    }
    tern_wire_buf_str(b, subject);
    if (nqueues) {
        if (reply) {
            tern_wire_buf_add(b, " + ", 3);
            tern_wire_buf_str(b, reply);
        } else {
            tern_wire_buf_add(b, " |", 2);
        }
        for (size_t i = 0; i < nqueues; i++) {
            tern_wire_buf_add(b, " ", 1);
            tern_wire_buf_str(b, queues[i]);
        }
    } else if (reply) {
        tern_wire_buf_add(b, " ", 1);
        tern_wire_buf_str(b, reply);
    }
    if (hdr_len)
        tern_wire_buf_fmt(b, " %zu %zu\r\n", hdr_len, len);
    else
        tern_wire_buf_fmt(b, " %zu\r\n", len);
    tern_wire_buf_add(b, bytes, len);
    tern_wire_buf_add(b, "\r\n", 2);
}

void tern_wire_frame_sub(tern_wire_buf *b, const char *account, const char *subject,
                         const char *queue, uint32_t weight)
{
    frame_interest(b, "RS+", account, subject, queue, true, weight);
}

void tern_wire_frame_unsub(tern_wire_buf *b, const char *account, const char *subject,
                           const char *queue)
{
    frame_interest(b, "RS-", account, subject, queue, false, 0);
}

void tern_wire_frame_msg(tern_wire_buf *b, const char *account, const char *subject,
                         const char *reply, const char *const *queues, size_t nqueues,
                         const void *data, size_t hdr_len, size_t len, bool peer_headers)
{
    frame_msg(b, "RMSG ", account, subject, reply, queues, nqueues, data, hdr_len, len,
              peer_headers);
}

void tern_wire_frame_leaf_sub(tern_wire_buf *b, const char *subject, const char *queue,
                              uint32_t weight)
{
    frame_interest(b, "LS+", NULL, subject, queue, true, weight);
}

void tern_wire_frame_leaf_unsub(tern_wire_buf *b, const char *subject, const char *queue)
{
    frame_interest(b, "LS-", NULL, subject, queue, false, 0);
}

void tern_wire_frame_leaf_msg(tern_wire_buf *b, const char *subject, const char *reply,
                              const char *const *queues, size_t nqueues, const void *data,
                              size_t hdr_len, size_t len, bool peer_headers)
{
    frame_msg(b, "LMSG ", NULL, subject, reply, queues, nqueues, data, hdr_len, len,
              peer_headers);
}
