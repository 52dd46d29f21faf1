/* Route op framing (rframe.h). */
#include "rframe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_buf_free(cl_buf *b)
{
    free(b->b);
    memset(b, 0, sizeof *b);
}

void cl_buf_reset(cl_buf *b)
{
    b->len = 0;
    b->oom = false;
}

static bool reserve(cl_buf *b, size_t n)
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

void cl_buf_add(cl_buf *b, const void *p, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->b + b->len, p, n);
    b->len += n;
    b->b[b->len] = '\0';
}

void cl_buf_str(cl_buf *b, const char *s)
{
    cl_buf_add(b, s, strlen(s));
}

void cl_buf_fmt(cl_buf *b, const char *fmt, ...)
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

void cl_frame_sub(cl_buf *b, const char *account, const char *subject, const char *queue,
                  uint32_t weight)
{
    if (queue)
        cl_buf_fmt(b, "RS+ %s %s %s %u\r\n", account, subject, queue, weight ? weight : 1);
    else
        cl_buf_fmt(b, "RS+ %s %s\r\n", account, subject);
}

void cl_frame_unsub(cl_buf *b, const char *account, const char *subject, const char *queue)
{
    if (queue)
        cl_buf_fmt(b, "RS- %s %s %s\r\n", account, subject, queue);
    else
        cl_buf_fmt(b, "RS- %s %s\r\n", account, subject);
}

void cl_frame_msg(cl_buf *b, const char *account, const char *subject, const char *reply,
                  const char *const *queues, size_t nqueues, const void *data, size_t hdr_len,
                  size_t len, bool peer_headers)
{
    const char *bytes = data;
    if (hdr_len && !peer_headers) {
        bytes += hdr_len;
        len -= hdr_len;
        hdr_len = 0;
    }
    cl_buf_str(b, hdr_len ? "HMSG " : "RMSG ");
    cl_buf_str(b, account);
    cl_buf_add(b, " ", 1);
    cl_buf_str(b, subject);
    if (nqueues) {
        if (reply) {
            cl_buf_add(b, " + ", 3);
            cl_buf_str(b, reply);
        } else {
            cl_buf_add(b, " |", 2);
        }
        for (size_t i = 0; i < nqueues; i++) {
            cl_buf_add(b, " ", 1);
            cl_buf_str(b, queues[i]);
        }
    } else if (reply) {
        cl_buf_add(b, " ", 1);
        cl_buf_str(b, reply);
    }
    if (hdr_len)
        cl_buf_fmt(b, " %zu %zu\r\n", hdr_len, len);
    else
        cl_buf_fmt(b, " %zu\r\n", len);
    cl_buf_add(b, bytes, len);
    cl_buf_add(b, "\r\n", 2);
}
