/* Connections of modules (modconn.h): protocols, listeners, dials,
 * buffered I/O with optional TLS, and closing. */
#include "modconn.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cidmap.h"
#include "interest.h"
#include "link.h"
#include "log.h"
#include "module_int.h"
#include "server.h"
#include "tls.h"
#include "tsan_fd.h"
#include "worker.h"
#include "xalloc.h"

#define MAX_PROTOS      64
#define OUT_KEEP_BYTES  (64 * 1024)
#define CLOSE_FLUSH_MS  5000          /* a close waits this long for queued bytes */
#define LINGER_MS       500           /* then this long for the peer's FIN */
#define TLS_TIMEOUT_MS  2000          /* tern_tls_spec.timeout_ms 0 */

/* ---- registry ---------------------------------------------------------- */

/* g_mu guards the id map and the protocol table's growth; g_gone_cv
 * tells module_gone that a connection left the map. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gone_cv = PTHREAD_COND_INITIALIZER;
static tern_cidmap g_conns;
static tern_mproto *g_protos[MAX_PROTOS + 1];   /* by id; [0] unused */
static uint32_t g_nprotos;

typedef struct listener {
    uv_poll_t        poll;
    int              fd;
    uint64_t         id;
    tern_mproto     *proto;
    struct tern_tls_ctx *tls;
    bool             tls_first;
    int64_t          tls_timeout_ms;
    struct listener *next;
} listener;

static listener *g_listeners;               /* main thread */

/* TLS contexts stay until shutdown: conn_starttls may need one after its
 * listener is gone. */
typedef struct ctx_ref {
    struct tern_tls_ctx *ctx;
    struct ctx_ref      *next;
} ctx_ref;
static ctx_ref *g_ctxs;                      /* main thread */

/* The main loop's side: tasks posted from other threads, and the end of
 * iteration where its connections are written. */
typedef struct main_task {
    struct main_task *next;
    void            (*fn)(void *arg);
    void             *arg;
} main_task;

static bool g_main_ready;
static uv_thread_t g_main_thread;
static uv_async_t g_main_async;
static uv_check_t g_main_check;
static pthread_mutex_t g_task_mu = PTHREAD_MUTEX_INITIALIZER;
static main_task *g_tasks, *g_tasks_tail;

static _Thread_local tern_mconn *t_cur;      /* the connection being called back */
static _Thread_local tern_mconn *t_flush;    /* marked on this thread */

static bool on_main_thread(void)
{
    uv_thread_t self = uv_thread_self();
    return g_main_ready && uv_thread_equal(&self, &g_main_thread);
}

static void flush_list(void);

static void on_main_async(uv_async_t *h)
{
    (void)h;
    pthread_mutex_lock(&g_task_mu);
    main_task *t = g_tasks;
    g_tasks = g_tasks_tail = NULL;
    pthread_mutex_unlock(&g_task_mu);
    while (t) {
        main_task *next = t->next;
        t->fn(t->arg);
        free(t);
        t = next;
    }
}

static void on_main_check(uv_check_t *h)
{
    (void)h;
    flush_list();
}

static void main_init(void)
{
    if (g_main_ready || !tern_mod_srv)
        return;
    g_main_thread = uv_thread_self();
    uv_async_init(&tern_mod_srv->loop, &g_main_async, on_main_async);
    uv_unref((uv_handle_t *)&g_main_async);
    uv_check_init(&tern_mod_srv->loop, &g_main_check);
    uv_check_start(&g_main_check, on_main_check);
    uv_unref((uv_handle_t *)&g_main_check);
    g_main_ready = true;
}

static void main_post(void (*fn)(void *), void *arg)
{
    main_task *t = tern_xcalloc(1, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_lock(&g_task_mu);
    if (g_tasks_tail)
        g_tasks_tail->next = t;
    else
        g_tasks = t;
    g_tasks_tail = t;
    pthread_mutex_unlock(&g_task_mu);
    uv_async_send(&g_main_async);
}

/* Run fn(id) on the connection's owner; false when it is gone. */
typedef struct id_task {
    uint64_t id;
    void   (*fn)(tern_mconn *c, void *arg);
    void    *arg;
} id_task;

static void run_id_task(id_task *t)
{
    pthread_mutex_lock(&g_mu);
    tern_mconn *c = tern_cidmap_get(&g_conns, t->id);
    pthread_mutex_unlock(&g_mu);
    t->fn(c, t->arg);   /* c NULL: gone (fn frees arg) */
    free(t);
}

static void id_task_worker(tern_worker *w, void *arg)
{
    (void)w;
    run_id_task(arg);
}

static void id_task_main(void *arg)
{
    run_id_task(arg);
}

static bool post_to_owner(uint64_t id, void (*fn)(tern_mconn *, void *), void *arg)
{
    pthread_mutex_lock(&g_mu);
    tern_mconn *c = tern_cidmap_get(&g_conns, id);
    tern_worker *w = c ? c->w : NULL;
    bool main = c && !c->w;
    pthread_mutex_unlock(&g_mu);
    if (!c)
        return false;
    id_task *t = tern_xmalloc(sizeof *t);
    *t = (id_task){ id, fn, arg };
    if (main)
        main_post(id_task_main, t);
    else
        tern_worker_post(w, id_task_worker, t);
    return true;
}

tern_mconn *tern_modconn_owned(uint64_t id)
{
    tern_mconn *c = t_cur;
    if (c && c->id == id)
        return c;
    pthread_mutex_lock(&g_mu);
    c = tern_cidmap_get(&g_conns, id);
    pthread_mutex_unlock(&g_mu);
    if (!c)
        return NULL;
    bool mine = c->w ? tern_worker_current() == c->w : on_main_thread();
    return mine ? c : NULL;
}

tern_mconn *tern_modconn_enter(tern_mconn *c)
{
    tern_mconn *prev = t_cur;
    t_cur = c;
    return prev;
}

void tern_modconn_leave(tern_mconn *prev)
{
    t_cur = prev;
}

/* ---- protocols ----------------------------------------------------------- */

static char **copy_names(const char *const *names)
{
    size_t n = 0;
    while (names && names[n])
        n++;
    if (!n)
        return NULL;
    char **v = tern_xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = tern_xstrdup(names[i]);
    return v;
}

static bool names_have(char *const *names, const char *name)
{
    for (size_t i = 0; names && names[i]; i++)
        if (!strcmp(names[i], name))
            return true;
    return false;
}

/* The exclusions between mp and every protocol registered so far, both
 * ways (a module may name a protocol whose module loads later). g_mu. */
static void resolve_not_from(tern_mproto *mp)
{
    for (uint32_t i = 1; i <= g_nprotos; i++) {
        tern_mproto *q = g_protos[i];
        if (names_have(mp->no_msgs_from, q->p.name))
            atomic_fetch_or_explicit(&mp->not_from, 1ull << (q->id - 1), memory_order_relaxed);
        if (names_have(q->no_msgs_from, mp->p.name))
            atomic_fetch_or_explicit(&q->not_from, 1ull << (mp->id - 1), memory_order_relaxed);
    }
}

tern_rc tern_modconn_proto_register(tern_module *m, const tern_proto *p, void *ud, uint32_t *id)
{
    if (!m || !p || p->size < offsetof(tern_proto, closed) + sizeof p->closed || !p->open ||
        !p->data || !p->closed) {
        tern_mod_set_error(m, "proto_register: open, data and closed are required");
        return TERN_EINVAL;
    }
    if (!m->registering) {
        tern_mod_set_error(m, "protocols can only be registered from init");
        return TERN_EINVAL;
    }
    tern_proto copy = {0};
    memcpy(&copy, p, p->size < sizeof copy ? p->size : sizeof copy);
    copy.size = sizeof copy;
    if ((copy.flags & TERN_PROTO_LINK) && !copy.msg) {
        tern_mod_set_error(m, "proto_register: a LINK protocol needs msg");
        return TERN_EINVAL;
    }
    if ((copy.flags & TERN_PROTO_LINK) && (copy.flags & TERN_PROTO_MAIN_THREAD)) {
        tern_mod_set_error(m, "proto_register: a LINK protocol cannot live on the main thread");
        return TERN_EINVAL;
    }
    main_init();
    pthread_mutex_lock(&g_mu);
    if (g_nprotos == MAX_PROTOS) {
        pthread_mutex_unlock(&g_mu);
        tern_mod_set_error(m, "proto_register: too many protocols");
        return TERN_EINVAL;
    }
    tern_mproto *mp = tern_xcalloc(1, sizeof *mp);
    mp->id = ++g_nprotos;
    mp->m = m;
    mp->p = copy;
    mp->p.name = tern_xstrdup(copy.name ? copy.name : "?");
    mp->no_msgs_from = copy_names(copy.no_msgs_from);
    mp->p.no_msgs_from = NULL;   /* the module's array may go with it */
    mp->ud = ud;
    g_protos[mp->id] = mp;
    resolve_not_from(mp);
    pthread_mutex_unlock(&g_mu);
    if (copy.flags & TERN_PROTO_LINK) {
        if (tern_mod_srv)
            tern_link_init(tern_mod_srv);
        tern_interest_enable();
    }   /* routes send their full interest: keep it counted */
    if (id)
        *id = mp->id;
    return TERN_OK;
}

static tern_mproto *proto_of(tern_module *m, uint32_t id)
{
    pthread_mutex_lock(&g_mu);
    tern_mproto *p = id >= 1 && id <= g_nprotos ? g_protos[id] : NULL;
    pthread_mutex_unlock(&g_mu);
    return p && p->m == m && !p->dead ? p : NULL;
}

const char *tern_modconn_proto_name(uint32_t id)
{
    pthread_mutex_lock(&g_mu);
    const char *name = id >= 1 && id <= g_nprotos ? g_protos[id]->p.name : NULL;
    pthread_mutex_unlock(&g_mu);
    return name;
}

bool tern_modconn_proto_known(const char *name)
{
    bool found = false;
    pthread_mutex_lock(&g_mu);
    for (uint32_t i = 1; name && i <= g_nprotos && !found; i++)
        found = !strcmp(g_protos[i]->p.name, name);
    pthread_mutex_unlock(&g_mu);
    return found;
}

/* ---- connections: creation ------------------------------------------------ */

static tern_mconn *conn_new(tern_mproto *p, uint64_t origin, bool outbound)
{
    tern_server *s = tern_mod_srv;
    tern_mconn *c = tern_xcalloc(1, sizeof *c);
    c->proto = p;
    c->origin = origin;
    c->outbound = outbound;
    c->id = atomic_fetch_add_explicit(&s->next_cid, 1, memory_order_relaxed) + 1;
    if (p->p.flags & TERN_PROTO_MAIN_THREAD) {
        c->w = NULL;
        c->loop = &s->loop;
    } else {
        c->w = &s->workers[s->next_worker];
        s->next_worker = (s->next_worker + 1) % s->nworkers;
        c->loop = &c->w->loop;
    }
    snprintf(c->ip, sizeof c->ip, "?");
    pthread_mutex_lock(&g_mu);
    tern_cidmap_put(&g_conns, c->id, c);
    pthread_mutex_unlock(&g_mu);
    return c;
}

static void on_handle_closed(uv_handle_t *h);
static void on_write(uv_write_t *req, int status);

/* On the owner: the handles exist from here on. */
static void conn_handles_init(tern_mconn *c)
{
    uv_tcp_init(c->loop, &c->tcp);
    uv_timer_init(c->loop, &c->timer);
    c->tcp.data = c->timer.data = c->wreq.data = c->creq.data = c;
    c->handles_open = 2;
}

static void peer_address(tern_mconn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, c->ip, sizeof c->ip);
        c->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, c->ip, sizeof c->ip);
        c->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
}

/* ---- connections: closing -------------------------------------------------- */

static void module_reason(tern_module *m, char *out, size_t n, const char *dflt)
{
    pthread_mutex_lock(&m->err_mu);
    snprintf(out, n, "%s", m->err[0] ? m->err : dflt);
    pthread_mutex_unlock(&m->err_mu);
}

static void clear_error(tern_module *m)
{
    pthread_mutex_lock(&m->err_mu);
    m->err[0] = 0;
    pthread_mutex_unlock(&m->err_mu);
}

static void flush_unlink(tern_mconn *c)
{
    if (!c->in_flush)
        return;
    for (tern_mconn **pp = &t_flush; *pp; pp = &(*pp)->flush_next)
        if (*pp == c) {
            *pp = c->flush_next;
            break;
        }
    c->in_flush = false;
    c->flush_next = NULL;
}

static void conn_free_retired(tern_retired *r)
{
    free((char *)r - offsetof(tern_mconn, retired));
}

static void conn_release(tern_mconn *c)
{
    tern_tls_conn_free(c->tls);
    tern_buf_free(&c->out);
    tern_buf_free(&c->wbuf);
    tern_buf_free(&c->held);
    free(c->close_reason);
    free(c->server_name);
    free(c->host);
    if (c->w) {
        /* Other workers may hold it in match results until their
         * quiescent point (its link subscriptions). */
        c->retired.free_fn = conn_free_retired;
        tern_worker_retire(c->w, &c->retired);
    } else {
        free(c);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    tern_mconn *c = h->data;
    if (--c->handles_open == 0)
        conn_release(c);
}

static void close_handles(tern_mconn *c)
{
    if (c->handles_open == 0) {     /* never adopted: no handles to close */
        conn_release(c);
        return;
    }
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    tern_uv_close_stream((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_close_deadline(uv_timer_t *t)
{
    tern_mconn *c = t->data;
    tern_uv_close_stream((uv_handle_t *)&c->tcp, on_handle_closed);   /* cancels the write */
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* ---- lingering close ----------------------------------------------------------
 * Closing a socket with unread input sends an RST, and the RST can destroy
 * the last bytes we wrote before the peer reads them (an HTTP error answer
 * to a request still being sent, an -ERR to a peer still writing). So a
 * flushed close sends FIN first and reads (and drops) what still arrives
 * until the peer's FIN or LINGER_MS, as Go's net/http and nginx do. */

static void on_linger_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        close_handles(s->data);
}

static void on_linger_shutdown(uv_shutdown_t *req, int status)
{
    if (status < 0 && status != UV_ECANCELED)
        close_handles(req->data);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void linger_then_close(tern_mconn *c)
{
    if (c->handles_open == 0 || uv_is_closing((uv_handle_t *)&c->tcp)) {
        close_handles(c);
        return;
    }
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_linger_shutdown) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_linger_read) != 0) {
        close_handles(c);
        return;
    }
    uv_timer_start(&c->timer, on_close_deadline, LINGER_MS, 0);
}

/* Close c on its owner: no callback of the module runs for it after
 * closed; the link's interest goes first. flush: write what is queued
 * (bounded by CLOSE_FLUSH_MS) before the socket closes. */
static void conn_close_now(tern_mconn *c, const char *reason, bool flush)
{
    if (atomic_load_explicit(&c->closing, memory_order_relaxed))
        return;
    atomic_store_explicit(&c->closing, true, memory_order_relaxed);
    c->close_reason = tern_xstrdup(reason ? reason : "closed");
    if (c->handles_open)
        uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    tern_link_conn_closed(c);
    tern_debugf("%s:%d - mid:%llu - %s connection closed: %s", c->ip, c->port,
                (unsigned long long)c->id, c->proto->p.name, c->close_reason);
    if (c->opened || (c->outbound && !c->opened)) {
        tern_mconn *prev = tern_modconn_enter(c);
        c->proto->p.closed(c->proto->m, c->id, c->ud, c->close_reason);
        tern_modconn_leave(prev);
    }
    flush_unlink(c);
    pthread_mutex_lock(&g_mu);
    tern_cidmap_take(&g_conns, c->id);
    if (g_conns.n == 0)
        tern_cidmap_free(&g_conns);
    pthread_cond_broadcast(&g_gone_cv);
    pthread_mutex_unlock(&g_mu);

    if (c->handles_open == 0 || uv_is_closing((uv_handle_t *)&c->tcp)) {
        close_handles(c);
        return;
    }
    if (flush && c->tls && tern_tls_conn_established(c->tls)) {
        tern_tls_conn_shutdown(c->tls);
        (void)tern_tls_conn_seal(c->tls, &c->out);
    } else if (flush && c->tls && c->out.len) {
        (void)tern_tls_conn_seal(c->tls, &c->out);
    }
    if (flush && !c->writing && c->out.len) {
        uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n > 0 && (size_t)n < c->out.len) {
            memmove(c->out.data, c->out.data + n, c->out.len - (size_t)n);
            c->out.len -= (size_t)n;
        } else if (n == (int)c->out.len) {
            c->out.len = 0;
        }
        if (n == UV_EAGAIN || (n > 0 && c->out.len)) {
            tern_buf tmp = c->wbuf;
            c->wbuf = c->out;
            c->out = tmp;
            c->out.len = 0;
            b = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
            if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) == 0)
                c->writing = true;
        }
    }
    if (flush && c->writing) {
        c->close_when_flushed = true;
        uv_timer_start(&c->timer, on_close_deadline, CLOSE_FLUSH_MS, 0);
        return;
    }
    if (flush)
        linger_then_close(c);
    else
        close_handles(c);
}

/* ---- connections: writing ------------------------------------------------- */

static void conn_flush(tern_mconn *c);

static void on_write(uv_write_t *req, int status)
{
    tern_mconn *c = req->data;
    c->writing = false;
    tern_buf_reset(&c->wbuf, OUT_KEEP_BYTES);
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->close_when_flushed) {
        if (status < 0)
            close_handles(c);
        else
            linger_then_close(c);
        return;
    }
    if (status < 0) {
        conn_close_now(c, "write error", false);
        return;
    }
    if (c->out.len || (c->tls && tern_tls_conn_wants_write(c->tls)))
        conn_flush(c);
}

static void conn_flush(tern_mconn *c)
{
    if (c->writing || c->handles_open == 0 || uv_is_closing((uv_handle_t *)&c->tcp) ||
        atomic_load_explicit(&c->closing, memory_order_relaxed))
        return;
    if (c->tls && tern_tls_conn_seal(c->tls, &c->out) != 0) {
        conn_close_now(c, "TLS write error", false);
        return;
    }
    if (c->out.len == 0)
        return;
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)c->out.len) {
        tern_buf_reset(&c->out, OUT_KEEP_BYTES);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        conn_close_now(c, "write error", false);
        return;
    }
    if (n < 0)
        n = 0;
    tern_buf tmp = c->wbuf;
    c->wbuf = c->out;
    c->out = tmp;
    c->out.len = 0;
    b = uv_buf_init(c->wbuf.data + n, (unsigned)(c->wbuf.len - (size_t)n));
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        conn_close_now(c, "write error", false);
        return;
    }
    c->writing = true;
}

void tern_modconn_mark_flush(tern_mconn *c)
{
    if (c->in_flush || atomic_load_explicit(&c->closing, memory_order_relaxed))
        return;
    c->in_flush = true;
    c->flush_next = t_flush;
    t_flush = c;
}

static void flush_list(void)
{
    while (t_flush) {
        tern_mconn *c = t_flush;
        t_flush = c->flush_next;
        c->flush_next = NULL;
        c->in_flush = false;
        conn_flush(c);
    }
}

void tern_modconn_worker_check(tern_worker *w)
{
    tern_link_worker_check(w);
    flush_list();
}

/* Past the server's max_pending a peer that does not read is cut off,
 * as a slow consumer client is. */
static bool conn_queue(tern_mconn *c, const void *bytes, size_t len)
{
    /* Bytes queued before a handshake go out in clear (conn_starttls);
     * the ones written during it wait for it to finish. */
    bool hold = c->tls && !tern_tls_conn_established(c->tls);
    tern_buf_append(hold ? &c->held : &c->out, bytes, len);
    size_t pending = c->out.len + c->held.len + (c->writing ? c->wbuf.len : 0);
    if ((int64_t)pending > tern_mod_srv->opts.max_pending) {
        tern_noticef("%s:%d - mid:%llu - Slow Consumer Detected: MaxPending of %lld Exceeded",
                     c->ip, c->port, (unsigned long long)c->id,
                     (long long)tern_mod_srv->opts.max_pending);
        conn_close_now(c, "Slow Consumer (Pending Bytes)", false);
        return false;
    }
    tern_modconn_mark_flush(c);
    return true;
}

typedef struct write_job {
    size_t len;
    char   data[];
} write_job;

static void write_task(tern_mconn *c, void *arg)
{
    write_job *j = arg;
    if (c && !atomic_load_explicit(&c->closing, memory_order_relaxed))
        conn_queue(c, j->data, j->len);
    free(j);
}

tern_rc tern_modconn_write(tern_module *m, uint64_t conn, const void *bytes, size_t len)
{
    (void)m;
    if (len && !bytes)
        return TERN_EINVAL;
    tern_mconn *c = tern_modconn_owned(conn);
    if (c) {
        if (atomic_load_explicit(&c->closing, memory_order_relaxed))
            return TERN_ESTALE;
        return conn_queue(c, bytes, len) ? TERN_OK : TERN_ESTALE;
    }
    /* Another thread (an interest hook on some worker, a module thread):
     * the owner appends it, in the order this thread wrote. */
    write_job *j = tern_xmalloc(sizeof *j + len);
    j->len = len;
    if (len)
        memcpy(j->data, bytes, len);
    if (!post_to_owner(conn, write_task, j)) {
        free(j);
        return TERN_ESTALE;
    }
    return TERN_OK;
}

/* ---- connections: reading --------------------------------------------------- */

static bool deliver_plain(tern_mconn *c, const char *p, size_t n)
{
    if (atomic_load_explicit(&c->closing, memory_order_relaxed))
        return false;
    tern_mconn *prev = tern_modconn_enter(c);
    clear_error(c->proto->m);
    tern_rc rc = c->proto->p.data(c->proto->m, c->id, c->ud, p, n);
    tern_modconn_leave(prev);
    if (rc != TERN_OK) {
        char why[512];
        module_reason(c->proto->m, why, sizeof why, "protocol error");
        conn_close_now(c, why, true);
        return false;
    }
    return !atomic_load_explicit(&c->closing, memory_order_relaxed);
}

static void conn_open(tern_mconn *c);

static void tls_established(void *ud)
{
    tern_mconn *c = ud;
    uv_timer_stop(&c->timer);
    tern_debugf("%s:%d - mid:%llu - TLS handshake complete (%s, %s)", c->ip, c->port,
                (unsigned long long)c->id, tern_tls_conn_version(c->tls),
                tern_tls_conn_cipher(c->tls));
    if (c->held.len) {
        tern_buf_append(&c->out, c->held.data, c->held.len);
        tern_buf_reset(&c->held, 0);
    }
    tern_modconn_mark_flush(c);
    if (c->tls_first)
        conn_open(c);
}

static bool tls_plain(void *ud, const char *p, size_t n)
{
    return deliver_plain(ud, p, n);
}

static const tern_tls_handlers tls_handlers = { tls_established, tls_plain };

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    static _Thread_local char rbuf[64 * 1024];
    (void)suggested;
    buf->base = rbuf;
    buf->len = sizeof rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    tern_mconn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_close_now(c, nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread), false);
        return;
    }
    if (!c->tls) {
        (void)deliver_plain(c, buf->base, (size_t)nread);
        return;
    }
    char plain[16 * 1024];
    tern_tls_status st =
        tern_tls_conn_feed(c->tls, buf->base, (size_t)nread, plain, sizeof plain, &tls_handlers, c);
    if (atomic_load_explicit(&c->closing, memory_order_relaxed))
        return;
    if (tern_tls_conn_wants_write(c->tls))
        tern_modconn_mark_flush(c);
    if (st == TERN_TLS_CLOSED) {
        conn_close_now(c, "closed by peer", false);
    } else if (st == TERN_TLS_ERROR) {
        char why[300];
        snprintf(why, sizeof why, "TLS %s: %s",
                 tern_tls_conn_established(c->tls) ? "error" : "handshake error",
                 tern_tls_conn_error(c->tls));
        conn_close_now(c, why, false);
    }
}

static void conn_open(tern_mconn *c)
{
    tern_conn_info ci = { sizeof ci, c->id, c->origin, c->outbound, c->ip, c->port };
    tern_mconn *prev = tern_modconn_enter(c);
    clear_error(c->proto->m);
    tern_rc rc = c->proto->p.open(c->proto->m, &ci, c->proto->ud, &c->ud);
    tern_modconn_leave(prev);
    if (rc != TERN_OK) {
        char why[512];
        module_reason(c->proto->m, why, sizeof why, "refused by the module");
        c->outbound = false;    /* no closed for a refused open */
        conn_close_now(c, why, true);
        return;
    }
    c->opened = true;
}

static void on_tls_timeout(uv_timer_t *t)
{
    conn_close_now(t->data, "TLS handshake timeout", false);
}

/* Start TLS on c (owner thread): the server side for an accepted
 * connection, the client side for a dial. */
static void tls_begin(tern_mconn *c)
{
    c->tls = c->tls_client ? tern_tls_conn_new_client(c->tls_ctx, c->server_name, !c->tls_insecure)
                           : tern_tls_conn_new(c->tls_ctx);
    uv_timer_start(&c->timer, on_tls_timeout, (uint64_t)c->tls_timeout_ms, 0);
    if (c->tls_client) {
        char scratch[256];
        /* A client speaks first: produce the ClientHello now. */
        (void)tern_tls_conn_feed(c->tls, NULL, 0, scratch, sizeof scratch, &tls_handlers, c);
    }
    tern_modconn_mark_flush(c);
}

/* The socket is connected (accepted or dialed): TLS first, or open. */
static void conn_ready(tern_mconn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    peer_address(c);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close_now(c, "read error", false);
        return;
    }
    if (c->tls_first && c->tls_ctx)
        tls_begin(c);
    else
        conn_open(c);
}

/* ---- listeners ------------------------------------------------------------ */

static void adopt_fd(tern_mconn *c, int fd)
{
    conn_handles_init(c);
    if (atomic_load_explicit(&c->closing, memory_order_relaxed)) {
        close(fd);
        close_handles(c);
        return;
    }
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        conn_close_now(c, "cannot adopt the socket", false);
        return;
    }
    conn_ready(c);
}

typedef struct adopt_job {
    tern_mconn *c;
    int         fd;
} adopt_job;

static void adopt_task(tern_worker *w, void *arg)
{
    adopt_job *j = arg;
    if (w->stopping) {
        close(j->fd);
        conn_close_now(j->c, "server shutdown", false);
    } else {
        adopt_fd(j->c, j->fd);
    }
    free(j);
}

static void on_listen_readable(uv_poll_t *h, int status, int events)
{
    listener *l = h->data;
    (void)events;
    if (status < 0)
        return;
    for (int i = 0; i < 64 && l->fd >= 0; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return;
        }
        tern_mconn *c = conn_new(l->proto, l->id, false);
        c->tls_ctx = l->tls;
        c->tls_first = l->tls_first;
        c->tls_timeout_ms = l->tls_timeout_ms;
        if (!c->w) {
            adopt_fd(c, fd);
        } else {
            adopt_job *j = tern_xmalloc(sizeof *j);
            *j = (adopt_job){ c, fd };
            tern_worker_post(c->w, adopt_task, j);
        }
    }
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host && *host ? host : NULL, ps, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* The TLS context of a spec, kept until shutdown. */
static tern_rc tls_ctx_of(tern_module *m, const tern_tls_spec *spec, bool client,
                          struct tern_tls_ctx **out)
{
    *out = NULL;
    if (!spec)
        return TERN_OK;
    if (spec->size < offsetof(tern_tls_spec, timeout_ms)) {
        tern_mod_set_error(m, "tern_tls_spec: size too small");
        return TERN_EINVAL;
    }
    tern_tls_spec s = {0};
    memcpy(&s, spec, spec->size < sizeof s ? spec->size : sizeof s);
    char err[512];
    struct tern_tls_ctx *ctx;
    if (client) {
        ctx = tern_tls_client_ctx_new(s.cert, s.key, s.ca, !s.insecure, err, sizeof err);
    } else {
        tern_tls_opts o = { .enabled = true, .cert = (char *)s.cert, .key = (char *)s.key,
                            .ca = (char *)s.ca, .verify = s.verify, .min_version = 12 };
        ctx = tern_tls_ctx_new(&o, err, sizeof err);
    }
    if (!ctx) {
        tern_mod_set_error(m, "%s", err);
        return TERN_EINVAL;
    }
    ctx_ref *r = tern_xmalloc(sizeof *r);
    r->ctx = ctx;
    r->next = g_ctxs;
    g_ctxs = r;
    *out = ctx;
    return TERN_OK;
}

static int64_t tls_timeout(const tern_tls_spec *spec)
{
    if (!spec || spec->size < offsetof(tern_tls_spec, timeout_ms) + sizeof spec->timeout_ms ||
        spec->timeout_ms <= 0)
        return TLS_TIMEOUT_MS;
    return spec->timeout_ms;
}

/* A module swapped on reload (module.c) initialises its new generation
 * while the old one still holds its listeners: a listen on the address
 * a listener of the same module name has bound hands that socket over
 * (new id, the new protocol and TLS), so the port never closes. The old
 * generation's connections stay its own and close when it unloads. */
static listener *take_over(tern_module *m, tern_mproto *p, const struct sockaddr_storage *want,
                           socklen_t want_len)
{
    for (listener *l = g_listeners; l; l = l->next) {
        tern_module *owner = l->proto->m;
        if (owner == m || strcmp(owner->name, m->name) != 0)
            continue;
        struct sockaddr_storage have;
        socklen_t len = sizeof have;
        if (getsockname(l->fd, (struct sockaddr *)&have, &len) != 0 || len != want_len ||
            memcmp(&have, want, len) != 0)
            continue;
        l->proto = p;
        l->id = atomic_fetch_add_explicit(&tern_mod_srv->next_cid, 1, memory_order_relaxed) + 1;
        return l;
    }
    return NULL;
}

tern_rc tern_modconn_listen(tern_module *m, uint32_t proto, const char *host, int port,
                            const tern_tls_spec *tls, uint64_t *id, int *bound)
{
    tern_mproto *p = proto_of(m, proto);
    if (!p || !tern_mod_srv) {
        tern_mod_set_error(m, "listen: unknown protocol %u", proto);
        return TERN_EINVAL;
    }
    if (!on_main_thread()) {
        tern_mod_set_error(m, "listen: main thread only");
        return TERN_EINVAL;
    }
    struct tern_tls_ctx *ctx;
    tern_rc rc = tls_ctx_of(m, tls, false, &ctx);
    if (rc != TERN_OK)
        return rc;
    struct sockaddr_storage ss;
    socklen_t len;
    if (resolve(host, port < 0 ? 0 : port, &ss, &len) != 0) {
        tern_mod_set_error(m, "listen: cannot resolve %s", host ? host : "(any)");
        return TERN_EINVAL;
    }
    listener *taken = port > 0 ? take_over(m, p, &ss, len) : NULL;
    if (taken) {
        /* a swap: the new generation gets the old one's socket */
        taken->tls = ctx;
        taken->tls_first = ctx && tls->first;
        taken->tls_timeout_ms = tls_timeout(tls);
        if (id)
            *id = taken->id;
        if (bound)
            *bound = port;
        tern_debugf("[%s] Took over the %s listener on %s:%d from the previous generation",
                    m->name, p->p.name, host && *host ? host : "0.0.0.0", port);
        return TERN_OK;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        tern_mod_set_error(m, "listen on %s:%d: %s", host ? host : "0.0.0.0", port,
                           strerror(errno));
        if (fd >= 0)
            close(fd);
        return TERN_EINVAL;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    int b = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                    : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    listener *l = tern_xcalloc(1, sizeof *l);
    l->fd = fd;
    l->proto = p;
    l->id = atomic_fetch_add_explicit(&tern_mod_srv->next_cid, 1, memory_order_relaxed) + 1;
    l->tls = ctx;
    l->tls_first = ctx && tls->first;
    l->tls_timeout_ms = tls_timeout(tls);
    uv_poll_init(&tern_mod_srv->loop, &l->poll, fd);
    l->poll.data = l;
    uv_poll_start(&l->poll, UV_READABLE, on_listen_readable);
    uv_unref((uv_handle_t *)&l->poll);    /* the server's life is not the module's */
    l->next = g_listeners;
    g_listeners = l;
    if (id)
        *id = l->id;
    if (bound)
        *bound = b;
    tern_debugf("[%s] Listening for %s connections on %s:%d%s", m->name, p->p.name,
                host && *host ? host : "0.0.0.0", b, ctx ? " (TLS)" : "");
    return TERN_OK;
}

static void on_listener_closed(uv_handle_t *h)
{
    listener *l = h->data;
    close(l->fd);
    free(l);
}

static void listener_close(listener *l)
{
    uv_poll_stop(&l->poll);
    uv_close((uv_handle_t *)&l->poll, on_listener_closed);
}

tern_rc tern_modconn_unlisten(tern_module *m, uint64_t id)
{
    for (listener **pp = &g_listeners; *pp; pp = &(*pp)->next) {
        listener *l = *pp;
        if (l->id == id && l->proto->m == m) {
            *pp = l->next;
            listener_close(l);
            return TERN_OK;
        }
    }
    return TERN_ESTALE;
}

/* ---- dials ----------------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status)
{
    tern_mconn *c = req->data;
    if (atomic_load_explicit(&c->closing, memory_order_relaxed))
        return;
    if (status < 0) {
        conn_close_now(c, uv_strerror(status), false);
        return;
    }
    conn_ready(c);
}

typedef struct resolve_job {
    uv_getaddrinfo_t req;
    uint64_t         id;
    int              port;
} resolve_job;

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_job *j = req->data;
    tern_mconn *c = tern_modconn_owned(j->id);
    if (c && !atomic_load_explicit(&c->closing, memory_order_relaxed)) {
        if (status < 0 || !res) {
            conn_close_now(c, status < 0 ? uv_strerror(status) : "no address", false);
        } else {
            struct sockaddr_storage ss;
            memcpy(&ss, res->ai_addr, res->ai_addrlen);
            if (ss.ss_family == AF_INET)
                ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)j->port);
            else
                ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)j->port);
            int rc = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&ss, on_connected);
            if (rc != 0)
                conn_close_now(c, uv_strerror(rc), false);
        }
    }
    uv_freeaddrinfo(res);
    free(j);
}

static void dial_start(tern_mconn *c)
{
    conn_handles_init(c);
    if (atomic_load_explicit(&c->closing, memory_order_relaxed)) {
        close_handles(c);
        return;
    }
    struct sockaddr_storage ss;
    if (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&ss) == 0) {
        int rc = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&ss, on_connected);
        if (rc != 0)
            conn_close_now(c, uv_strerror(rc), false);
        return;
    }
    resolve_job *j = tern_xcalloc(1, sizeof *j);
    j->id = c->id;
    j->port = c->port;
    j->req.data = j;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
    int rc = uv_getaddrinfo(c->loop, &j->req, on_resolved, c->host, NULL, &hints);
    if (rc != 0) {
        free(j);
        conn_close_now(c, uv_strerror(rc), false);
    }
}

static void dial_task(tern_worker *w, void *arg)
{
    (void)w;
    dial_start(arg);
}

tern_rc tern_modconn_dial(tern_module *m, uint32_t proto, const char *host, int port,
                          const tern_tls_spec *tls, uint64_t *id)
{
    tern_mproto *p = proto_of(m, proto);
    if (!p || !tern_mod_srv) {
        tern_mod_set_error(m, "dial: unknown protocol %u", proto);
        return TERN_EINVAL;
    }
    if (!host || !*host || port <= 0 || port > 65535) {
        tern_mod_set_error(m, "dial: invalid address %s:%d", host ? host : "", port);
        return TERN_EINVAL;
    }
    if (!on_main_thread()) {
        tern_mod_set_error(m, "dial: main thread only");
        return TERN_EINVAL;
    }
    struct tern_tls_ctx *ctx;
    tern_rc rc = tls_ctx_of(m, tls, true, &ctx);
    if (rc != TERN_OK)
        return rc;
    tern_mconn *c = conn_new(p, 0, true);
    c->host = tern_xstrdup(host);
    c->port = port;
    snprintf(c->ip, sizeof c->ip, "%s", host);
    if (ctx) {
        tern_tls_spec s = {0};
        memcpy(&s, tls, tls->size < sizeof s ? tls->size : sizeof s);
        c->tls_ctx = ctx;
        c->tls_client = true;
        c->tls_first = s.first;
        c->tls_insecure = s.insecure;
        c->server_name = tern_xstrdup(s.server_name ? s.server_name : host);
        c->tls_timeout_ms = tls_timeout(tls);
    }
    c->origin = c->id;
    if (id)
        *id = c->id;
    if (c->w)
        tern_worker_post(c->w, dial_task, c);
    else
        dial_start(c);
    return TERN_OK;
}

/* ---- TLS upgrade and close by id ------------------------------------------ */

tern_rc tern_modconn_starttls(tern_module *m, uint64_t conn)
{
    tern_mconn *c = tern_modconn_owned(conn);
    if (!c || atomic_load_explicit(&c->closing, memory_order_relaxed))
        return TERN_ESTALE;
    if (!c->tls_ctx || c->tls) {
        tern_mod_set_error(m, "conn_starttls: %s", c->tls ? "TLS already started"
                                                           : "no TLS configured for it");
        return TERN_EINVAL;
    }
    /* What is queued goes out in clear first (the seal's first call
     * passes it through, then the handshake follows). */
    tls_begin(c);
    return TERN_OK;
}

typedef struct close_job {
    char *reason;
} close_job;

static void close_task(tern_mconn *c, void *arg)
{
    close_job *j = arg;
    if (c)
        conn_close_now(c, j->reason, true);
    free(j->reason);
    free(j);
}

tern_rc tern_modconn_close(tern_module *m, uint64_t conn, const char *reason)
{
    (void)m;
    close_job *j = tern_xmalloc(sizeof *j);
    j->reason = tern_xstrdup(reason ? reason : "closed by the module");
    /* Always posted, also from the owner: the caller may be inside one of
     * the connection's callbacks, which must not see it go. */
    if (!post_to_owner(conn, close_task, j)) {
        free(j->reason);
        free(j);
        return TERN_ESTALE;
    }
    return TERN_OK;
}

tern_rc tern_modconn_link_group(tern_module *m, uint64_t conn, uint64_t group)
{
    tern_mconn *c = tern_modconn_owned(conn);
    if (!c || atomic_load_explicit(&c->closing, memory_order_relaxed))
        return TERN_ESTALE;
    if (!(c->proto->p.flags & TERN_PROTO_LINK)) {
        tern_mod_set_error(m, "link_group: not a LINK connection");
        return TERN_EINVAL;
    }
    /* read by route code of every worker: no lock, a relaxed store (a
     * message routed meanwhile sees the old group or the new one) */
    atomic_store_explicit(&c->group, group, memory_order_relaxed);
    return TERN_OK;
}

/* ---- unload and shutdown ----------------------------------------------------- */

static bool module_has_conns(tern_module *m)
{
    for (size_t i = 0; i < g_conns.cap; i++) {
        tern_mconn *c = g_conns.slots[i].cid ? g_conns.slots[i].value : NULL;
        if (c && c->proto->m == m)
            return true;
    }
    return false;
}

void tern_modconn_module_gone(tern_module *m)
{
    if (!g_main_ready)
        return;
    for (listener **pp = &g_listeners; *pp;) {
        listener *l = *pp;
        if (l->proto->m == m) {
            *pp = l->next;
            listener_close(l);
        } else {
            pp = &l->next;
        }
    }
    pthread_mutex_lock(&g_mu);
    for (uint32_t i = 1; i <= g_nprotos; i++)
        if (g_protos[i]->m == m)
            g_protos[i]->dead = true;
    /* Collect ids first: closing main-thread connections edits the map. */
    size_t n = 0;
    uint64_t *ids = tern_xcalloc(g_conns.n + 1, sizeof *ids);
    for (size_t i = 0; i < g_conns.cap; i++) {
        tern_mconn *c = g_conns.slots[i].cid ? g_conns.slots[i].value : NULL;
        if (c && c->proto->m == m)
            ids[n++] = c->id;
    }
    pthread_mutex_unlock(&g_mu);
    for (size_t i = 0; i < n; i++) {
        close_job *j = tern_xmalloc(sizeof *j);
        j->reason = tern_xstrdup("module unloaded");
        pthread_mutex_lock(&g_mu);
        tern_mconn *c = tern_cidmap_get(&g_conns, ids[i]);
        pthread_mutex_unlock(&g_mu);
        if (c && !c->w) {
            close_task(c, j);
        } else if (!post_to_owner(ids[i], close_task, j)) {
            free(j->reason);
            free(j);
        }
    }
    free(ids);
    /* The workers run the closes (and the closed callbacks) now; fini
     * must not start before the last one returned. */
    pthread_mutex_lock(&g_mu);
    while (module_has_conns(m))
        pthread_cond_wait(&g_gone_cv, &g_mu);
    pthread_mutex_unlock(&g_mu);
}

void tern_modconn_stop(void)
{
    if (!g_main_ready)
        return;
    while (g_listeners) {
        listener *l = g_listeners;
        g_listeners = l->next;
        listener_close(l);
    }
    on_main_async(&g_main_async);   /* what was posted: run it (closes, writes) */
    uv_close((uv_handle_t *)&g_main_async, NULL);
    uv_close((uv_handle_t *)&g_main_check, NULL);
    g_main_ready = false;
}

void tern_modconn_free(void)
{
    while (g_ctxs) {
        ctx_ref *r = g_ctxs;
        g_ctxs = r->next;
        tern_tls_ctx_free(r->ctx);
        free(r);
    }
    pthread_mutex_lock(&g_mu);
    for (uint32_t i = 1; i <= g_nprotos; i++) {
        for (size_t k = 0; g_protos[i]->no_msgs_from && g_protos[i]->no_msgs_from[k]; k++)
            free(g_protos[i]->no_msgs_from[k]);
        free(g_protos[i]->no_msgs_from);
        free((char *)g_protos[i]->p.name);
        free(g_protos[i]);
        g_protos[i] = NULL;
    }
    g_nprotos = 0;
    pthread_mutex_unlock(&g_mu);
    tern_link_stop();
}
