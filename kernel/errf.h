/* Error messages into caller buffers: the kernel's convention is a
 * function returning -1 with the reason written into (err, errlen). */
#ifndef TERN_ERRF_H
#define TERN_ERRF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Format into err (when given) and return -1. */
static inline int tern_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int tern_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#endif
