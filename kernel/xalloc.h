/* Allocation that never returns NULL: the kernel aborts with a message on
 * out-of-memory rather than threading NULL checks through the hot path. */
#ifndef TERN_XALLOC_H
#define TERN_XALLOC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void tern_oom(void)
{
    fputs("ternd: out of memory\n", stderr);
    abort();
}

static inline void *tern_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        tern_oom();
    return p;
}

static inline void *tern_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        tern_oom();
    return p;
}

static inline void *tern_xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n ? n : 1);
    if (!p)
        tern_oom();
    return p;
}

static inline char *tern_xstrndup(const char *s, size_t n)
{
    char *p = tern_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static inline char *tern_xstrdup(const char *s)
{
    return s ? tern_xstrndup(s, strlen(s)) : NULL;
}

#endif
