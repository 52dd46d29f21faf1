#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

/* Lines queue up in `pending`; the writer swaps it with its own buffer
 * under the lock and writes outside it. The queue is bounded: past the
 * bound lines are dropped and counted rather than growing memory. */
#define LOG_QUEUE_MAX (8u * 1024 * 1024)

static struct {
    pthread_mutex_t mu;
    pthread_cond_t  cond;
    pthread_t       thread;
    bool            running;
    bool            stop;
    bool            reopen;
    tern_buf        pending;
    unsigned long   dropped;
    int             fd;         /* 2 = stderr */
    /* The writer writes outside the lock: an fd replaced meanwhile is
     * closed by the writer when it is done with it (closing it under its
     * feet would let the number be reused, and lines land elsewhere). */
    bool            writing;
    int             retired_fd; /* -1: none */
    char           *path;
    atomic_int      level;
    atomic_bool     time;
} L = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .fd = 2,
    .retired_fd = -1,
    .level = TERN_LOG_INFO,
    .time = true,
};

static const char *const labels[] = {"[FTL]", "[ERR]", "[WRN]", "[INF]", "[DBG]", "[TRC]"};

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing log */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void *writer_main(void *arg)
{
    (void)arg;
    tern_buf out = {0};
    pthread_mutex_lock(&L.mu);
    for (;;) {
        while (!L.stop && !L.reopen && L.pending.len == 0)
            pthread_cond_wait(&L.cond, &L.mu);
        if (L.reopen && L.path) {
            int fd = open_log(L.path);
            if (fd >= 0) {
                if (L.fd > 2)
                    close(L.fd);
                L.fd = fd;
            }
        }
        L.reopen = false;
        tern_buf tmp = out;
        out = L.pending;
        L.pending = tmp;
        L.pending.len = 0;
        unsigned long dropped = L.dropped;
        L.dropped = 0;
        int fd = L.fd;
        bool stop = L.stop;
        L.writing = true;
        pthread_mutex_unlock(&L.mu);
        if (out.len)
            write_all(fd, out.data, out.len);
        if (dropped) {
            char msg[96];
            int n = snprintf(msg, sizeof msg, "[%d] [WRN] %lu log lines dropped (writer too slow)\n",
                             (int)getpid(), dropped);
            write_all(fd, msg, (size_t)n);
        }
        tern_buf_reset(&out, 1 << 20);
        pthread_mutex_lock(&L.mu);
        L.writing = false;
        if (L.retired_fd > 2)
            close(L.retired_fd);
        L.retired_fd = -1;
        if (stop && L.pending.len == 0)
            break;
    }
    pthread_mutex_unlock(&L.mu);
    tern_buf_free(&out);
    return NULL;
}

int tern_log_configure(const tern_log_opts *o)
{
    int fd = 2;
    if (o->file) {
        fd = open_log(o->file);
        if (fd < 0)
            return -1;
    }
    pthread_mutex_lock(&L.mu);
    if (L.fd > 2) {
        /* Only the fd the writer took for its current write is in use;
         * one replaced since (retired_fd already set) never was. */
        if (L.writing && L.retired_fd < 0)
            L.retired_fd = L.fd;
        else
            close(L.fd);
    }
    L.fd = fd;
    free(L.path);
    L.path = tern_xstrdup(o->file);
    atomic_store(&L.level, o->trace ? TERN_LOG_TRACE : o->debug ? TERN_LOG_DEBUG : TERN_LOG_INFO);
    atomic_store(&L.time, o->time);
    if (!L.running) {
        L.stop = false;
        if (pthread_create(&L.thread, NULL, writer_main, NULL) == 0)
            L.running = true;
    }
    pthread_mutex_unlock(&L.mu);
    return 0;
}

void tern_log_reopen(void)
{
    pthread_mutex_lock(&L.mu);
    L.reopen = true;
    pthread_cond_signal(&L.cond);
    pthread_mutex_unlock(&L.mu);
}

void tern_log_shutdown(void)
{
    pthread_mutex_lock(&L.mu);
    bool running = L.running;
    L.stop = true;
    pthread_cond_signal(&L.cond);
    pthread_mutex_unlock(&L.mu);
    if (running)
        pthread_join(L.thread, NULL);
    pthread_mutex_lock(&L.mu);
    L.running = false;
    if (L.pending.len) /* logged without a writer: write directly */
        write_all(L.fd, L.pending.data, L.pending.len);
    tern_buf_free(&L.pending);
    if (L.fd > 2)
        close(L.fd);
    L.fd = 2;
    if (L.retired_fd > 2)
        close(L.retired_fd);
    L.retired_fd = -1;
    free(L.path);
    L.path = NULL;
    pthread_mutex_unlock(&L.mu);
}

bool tern_log_enabled(tern_log_level lvl)
{
    return (int)lvl <= atomic_load_explicit(&L.level, memory_order_relaxed);
}

void tern_log(tern_log_level lvl, const char *fmt, ...)
{
    if (!tern_log_enabled(lvl))
        return;
    char line[4096];
    int n = snprintf(line, sizeof line, "[%d] ", (int)getpid());
    if (atomic_load_explicit(&L.time, memory_order_relaxed)) {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        n += (int)strftime(line + n, sizeof line - (size_t)n, "%Y/%m/%d %H:%M:%S", &tm);
        n += snprintf(line + n, sizeof line - (size_t)n, ".%06ld ", (long)tv.tv_usec);
    }
    n += snprintf(line + n, sizeof line - (size_t)n, "%s ", labels[lvl]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';

    pthread_mutex_lock(&L.mu);
    if (!L.running) {
        pthread_mutex_unlock(&L.mu);
        write_all(2, line, (size_t)n); /* before configure or after shutdown */
        return;
    }
    if (L.pending.len + (size_t)n > LOG_QUEUE_MAX && lvl > TERN_LOG_ERROR) {
        L.dropped++;
    } else {
        tern_buf_append(&L.pending, line, (size_t)n);
        pthread_cond_signal(&L.cond);
    }
    pthread_mutex_unlock(&L.mu);
}
