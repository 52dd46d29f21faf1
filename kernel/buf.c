#include "buf.h"

#include "xalloc.h"

void tern_buf_reserve(tern_buf *b, size_t extra)
{
    size_t need = b->len + extra;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = tern_xrealloc(b->data, cap);
    b->cap = cap;
}

void tern_buf_free(tern_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void tern_buf_reset(tern_buf *b, size_t keep)
{
    if (b->cap > keep)
        tern_buf_free(b);
    else
        b->len = 0;
}

void tern_buf_append_u64(tern_buf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    tern_buf_append(b, tmp + i, sizeof(tmp) - i);
}
