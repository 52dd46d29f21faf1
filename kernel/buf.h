/* A growable byte buffer: outbound queues and scratch space. */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct tern_buf {
    char  *data;
    size_t len;
    size_t cap;
} tern_buf;

/* Make room for `extra` more bytes; aborts on out-of-memory like every
 * allocation in the kernel (a server without memory cannot answer). */
void tern_buf_reserve(tern_buf *b, size_t extra);
void tern_buf_free(tern_buf *b);
/* Drop the storage if it grew past keep bytes, else just empty it. */
void tern_buf_reset(tern_buf *b, size_t keep);

static inline void tern_buf_append(tern_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n)
        tern_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void tern_buf_append_str(tern_buf *b, const char *s)
{
    tern_buf_append(b, s, strlen(s));
}

/* Append the decimal form of v. */
void tern_buf_append_u64(tern_buf *b, unsigned long long v);

#endif
