/* Logging in nats-server's style:
 *   [PID] 2006/01/02 15:04:05.000000 [INF] message
 * (without the timestamp when log.time is false). Lines are formatted by
 * the caller and written by a dedicated thread, so a slow disk or a full
 * pipe never blocks a worker loop. SIGUSR1 → tern_log_reopen(). */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdbool.h>

#include "opts.h"

typedef enum tern_log_level {
    TERN_LOG_FATAL,
    TERN_LOG_ERROR,
    TERN_LOG_WARN,
    TERN_LOG_INFO,
    TERN_LOG_DEBUG,
    TERN_LOG_TRACE,
} tern_log_level;

/* Start (or reconfigure) logging. Returns 0, or -1 if the file cannot be
 * opened (the previous destination stays). */
int  tern_log_configure(const tern_log_opts *o);
/* Reopen the log file (after rotation). */
void tern_log_reopen(void);
/* Write everything queued and stop the writer thread. */
void tern_log_shutdown(void);

bool tern_log_enabled(tern_log_level lvl);
void tern_log(tern_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tern_errorf(...) tern_log(TERN_LOG_ERROR, __VA_ARGS__)
#define tern_warnf(...)  tern_log(TERN_LOG_WARN, __VA_ARGS__)
#define tern_noticef(...) tern_log(TERN_LOG_INFO, __VA_ARGS__)
#define tern_debugf(...) do { if (tern_log_enabled(TERN_LOG_DEBUG)) tern_log(TERN_LOG_DEBUG, __VA_ARGS__); } while (0)
#define tern_tracef(...) do { if (tern_log_enabled(TERN_LOG_TRACE)) tern_log(TERN_LOG_TRACE, __VA_ARGS__); } while (0)

#endif
