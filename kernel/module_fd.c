/* Module fd watches: one uv_poll_t on the main loop per watched fd.
 * libuv allows a single poll handle per fd and loop, so a second watch
 * of the same fd by the same module re-arms the first one. A removed
 * watch is closed at once (no callback after) and freed by its close
 * callback. */
#include <stdbool.h>
#include <stdlib.h>

#include <uv.h>

#include "module_fd.h"
#include "module_int.h"
#include "server.h"
#include "xalloc.h"

typedef struct fd_watch {
    uv_poll_t        h;
    struct fd_watch *next;
    tern_module     *m;
    uint64_t         id;
    int              fd;
    uint32_t         events;
    tern_fd_fn       fn;
    void            *ud;
} fd_watch;

static fd_watch *g_watches;      /* live watches (main thread) */
static uint64_t  g_next_id;

static void watch_closed(uv_handle_t *h)
{
    free(h->data);
}

static void watch_remove(fd_watch *w)
{
    for (fd_watch **pp = &g_watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    uv_close((uv_handle_t *)&w->h, watch_closed);
}

static void on_poll(uv_poll_t *h, int status, int uv_events)
{
    fd_watch *w = h->data;
    uint32_t ready = 0;
    if (status < 0)
        ready = TERN_FD_ERROR | w->events;   /* let the owner find out by reading */
    else {
        if (uv_events & UV_READABLE)
            ready |= TERN_FD_READ;
        if (uv_events & UV_WRITABLE)
            ready |= TERN_FD_WRITE;
        ready &= w->events;
    }
    if (ready)
        w->fn(w->m, w->id, w->fd, ready, w->ud);
}

/* Start, restart or pause the poll for w->events. */
static tern_rc arm(fd_watch *w)
{
    int flags = (w->events & TERN_FD_READ ? UV_READABLE : 0) |
                (w->events & TERN_FD_WRITE ? UV_WRITABLE : 0);
    int rc = flags ? uv_poll_start(&w->h, flags, on_poll) : uv_poll_stop(&w->h);
    return rc == 0 ? TERN_OK : TERN_EINVAL;
}

tern_rc tern_mod_fd_watch(tern_module *m, int fd, uint32_t events, tern_fd_fn fn, void *ud,
                          uint64_t *id)
{
    if (!m || !fn || fd < 0 || !tern_mod_srv ||
        (events & ~(uint32_t)(TERN_FD_READ | TERN_FD_WRITE)))
        return TERN_EINVAL;
    for (fd_watch *w = g_watches; w; w = w->next) {
        if (w->fd != fd)
            continue;
        if (w->m != m)
            return TERN_EEXIST;
        w->events = events;
        w->fn = fn;
        w->ud = ud;
        if (id)
            *id = w->id;
        return arm(w);
    }
    fd_watch *w = tern_xcalloc(1, sizeof *w);
    int rc = uv_poll_init(&tern_mod_srv->loop, &w->h, fd);
    if (rc != 0) {
        free(w);
        if (rc == UV_EEXIST)
            return TERN_EEXIST;   /* the kernel polls it */
        tern_mod_set_error(m, "fd %d cannot be watched: %s", fd, uv_strerror(rc));
        return TERN_EINVAL;
    }
    w->h.data = w;
    w->m = m;
    w->id = ++g_next_id;
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->ud = ud;
    w->next = g_watches;
    uv_unref((uv_handle_t *)&w->h);   /* a module's watch never keeps the server up */
    g_watches = w;
    tern_rc r = arm(w);
    if (r != TERN_OK) {
        tern_mod_set_error(m, "fd %d cannot be watched", fd);
        watch_remove(w);
        return r;
    }
    if (id)
        *id = w->id;
    return TERN_OK;
}

tern_rc tern_mod_fd_unwatch(tern_module *m, uint64_t id)
{
    for (fd_watch *w = g_watches; w; w = w->next)
        if (w->id == id && w->m == m) {
            watch_remove(w);
            return TERN_OK;
        }
    return TERN_ENOENT;
}

void tern_mod_fd_release(tern_module *m)
{
    for (fd_watch *w = g_watches, *next; w; w = next) {
        next = w->next;
        if (w->m == m)
            watch_remove(w);
    }
}
