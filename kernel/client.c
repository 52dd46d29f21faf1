/* Client connections: the protocol handlers behind the parser, message
 * delivery into subscribers' outbound buffers, and the connection's
 * lifecycle (pings, write deadlines, slow consumers, close).
 *
 * Wire behaviour follows nats-server 2.9.10 (client-protocol.md); where
 * the parser decides (framing, sizes), see parser.c. */
#include "client.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "auth.h"
#include "client_info.h"
#include "docs.h"
#include "imports.h"
#include "mappings.h"
#include "log.h"
#include "module.h"
#include "perms.h"
#include "route.h"
#include "server.h"
#include "sysacc.h"
#include "tls.h"
#include "tsan_fd.h"
#include "worker.h"
#include "xalloc.h"

#define OUT_KEEP_BYTES (64 * 1024) /* outbound storage an idle client keeps */
#define FIRST_PING_MS  2000        /* nats-server's firstClientPingInterval */
#define RTT_MEASURE_MS (60 * 60 * 1000)

static const tern_parser_callbacks client_callbacks;

static inline tern_server *srv_of(tern_client *c) { return c->w->srv; }
static inline const tern_opts *opts_of(tern_client *c) { return &c->w->srv->opts; }
static inline bool has(const tern_client *c, uint32_t f)
{
    return (atomic_load_explicit(&((tern_client *)c)->flags, memory_order_relaxed) & f) != 0;
}

/* Per-worker counters: written by their worker only, summed on read. */
static inline void stat_add(_Atomic uint64_t *v, uint64_t n)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Protocol tracing (-V), in nats-server's form: `"<<- [SUB foo 1]"` for
 * what the client sent, `"->> [-ERR …]"` for what it was answered. */
#define trace_in(c, fmt, ...)                                                               \
    tern_tracef("%s:%d - cid:%llu - \"<<- [" fmt "]\"", (c)->ip, (c)->port,                 \
                (unsigned long long)(c)->cid, __VA_ARGS__)

/* ---- outbound ------------------------------------------------------- */

static size_t pending_bytes(const tern_client *c)
{
    return c->out.len + (c->writing ? c->wbuf.len - c->woff : 0);
}

/* Past max_pending a client is a slow consumer: closed without -ERR, as
 * nats-server does, and never an unbounded queue. */
static bool check_pending(tern_client *c)
{
    if ((int64_t)pending_bytes(c) > c->max_pending) {
        stat_add(&c->w->stats.slow_consumers, 1);
        tern_noticef("%s:%d - cid:%llu - Slow Consumer Detected: MaxPending of %lld Exceeded",
                     c->ip, c->port, (unsigned long long)c->cid, (long long)c->max_pending);
        tern_client_close(c, TERN_CLOSE_SLOW_PENDING);
        return false;
    }
    return true;
}

void tern_client_send(tern_client *c, const char *p, size_t n)
{
    if (has(c, TERN_CF_CLOSING))
        return;
    tern_buf_append(&c->out, p, n);
    tern_worker_mark_flush(c->w, c);
}

void tern_client_send_err(tern_client *c, const char *text)
{
    tern_tracef("%s:%d - cid:%llu - \"->> [-ERR '%s']\"", c->ip, c->port,
                (unsigned long long)c->cid, text);
    tern_buf_append(&c->out, "-ERR '", 6);
    tern_buf_append_str(&c->out, text);
    tern_buf_append(&c->out, "'\r\n", 3);
    tern_worker_mark_flush(c->w, c);
}

static void blocked_add(tern_client *c)
{
    tern_worker *w = c->w;
    c->bprev = NULL;
    c->bnext = w->blocked;
    if (w->blocked)
        w->blocked->bprev = c;
    w->blocked = c;
    c->write_start_ms = uv_now(&w->loop);
}

static void blocked_remove(tern_client *c)
{
    if (c->bprev)
        c->bprev->bnext = c->bnext;
    else if (c->w->blocked == c)
        c->w->blocked = c->bnext;
    if (c->bnext)
        c->bnext->bprev = c->bprev;
    c->bprev = c->bnext = NULL;
}

static void on_write(uv_write_t *req, int status);

void tern_client_flush(tern_client *c)
{
    if (c->writing || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    /* TLS: encrypt what is queued (and add handshake output) just now. */
    if (c->tls && tern_tls_conn_seal(c->tls, &c->out) != 0) {
        tern_client_close(c, TERN_CLOSE_WRITE_ERROR);
        return;
    }
    if (c->out.len == 0)
        return;
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)c->out.len) {
        tern_buf_reset(&c->out, OUT_KEEP_BYTES);
        atomic_store_explicit(&c->local_pending, 0, memory_order_relaxed);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        tern_client_close(c, TERN_CLOSE_WRITE_ERROR);
        return;
    }
    if (n < 0)
        n = 0;
    /* The socket is full: hand the rest to libuv and keep filling `out`. */
    tern_buf tmp = c->wbuf;
    c->wbuf = c->out;
    c->out = tmp;
    c->out.len = 0;
    c->woff = (size_t)n;
    b = uv_buf_init(c->wbuf.data + n, (unsigned)(c->wbuf.len - (size_t)n));
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        tern_client_close(c, TERN_CLOSE_WRITE_ERROR);
        return;
    }
    c->writing = true;
    blocked_add(c);
    /* libuv registers the write interest on the owner's next iteration. */
    if (tern_worker_current() != c->w)
        c->w->needs_wake = true;
    atomic_store_explicit(&c->local_pending, pending_bytes(c), memory_order_relaxed);
}

static void finish_close(tern_client *c);

static void on_write(uv_write_t *req, int status)
{
    tern_client *c = req->data;
    c->writing = false;
    blocked_remove(c);
    tern_buf_reset(&c->wbuf, OUT_KEEP_BYTES);
    c->woff = 0;
    if (has(c, TERN_CF_CLOSING)) {
        finish_close(c);
        return;
    }
    if (status < 0) {
        tern_client_close(c, TERN_CLOSE_WRITE_ERROR);
        return;
    }
    atomic_store_explicit(&c->local_pending, c->out.len, memory_order_relaxed);
    if (c->out.len || (c->tls && tern_tls_conn_wants_write(c->tls)))
        tern_client_flush(c);
}

/* ---- close ---------------------------------------------------------- */

const char *tern_close_reason_str(tern_close_reason r)
{
    switch (r) {
    case TERN_CLOSE_CLIENT: return "Client Closed";
    case TERN_CLOSE_PROTOCOL: return "Protocol Violation";
    case TERN_CLOSE_PARSE_ERROR: return "Parse Error";
    case TERN_CLOSE_SLOW_PENDING: return "Slow Consumer (Pending Bytes)";
    case TERN_CLOSE_SLOW_DEADLINE: return "Slow Consumer (Write Deadline)";
    case TERN_CLOSE_STALE: return "Stale Connection";
    case TERN_CLOSE_MAX_PAYLOAD: return "Maximum Message Payload Exceeded";
    case TERN_CLOSE_MAX_CONTROL_LINE: return "Maximum Control Line Exceeded";
    case TERN_CLOSE_MAX_CONNECTIONS: return "Maximum Connections Exceeded";
    case TERN_CLOSE_AUTH_VIOLATION: return "Authentication Failure";
    case TERN_CLOSE_BAD_PROTOCOL: return "Bad Client Protocol Version";
    case TERN_CLOSE_SERVER_SHUTDOWN: return "Server Shutdown";
    case TERN_CLOSE_WRITE_ERROR: return "Write Error";
    case TERN_CLOSE_READ_ERROR: return "Read Error";
    case TERN_CLOSE_TLS_HANDSHAKE: return "TLS Handshake Failure";
    case TERN_CLOSE_AUTH_TIMEOUT: return "Authentication Timeout";
    }
    return "Unknown";
}

/* Other workers may still hold the pointer (framed deliveries in flight,
 * match results): the memory goes after a grace period (epoch.h). */
static void client_free_retired(tern_retired *r)
{
    tern_client *c = (tern_client *)((char *)r - offsetof(tern_client, retired));
    tern_client_perms_free(c->perms);  /* other workers read it until now */
    tern_auth_unref(c->auth_conf);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    tern_client *c = h->data;
    if (--c->handles_open > 0)
        return;
    tern_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub_explicit(&w->nclients, 1, memory_order_relaxed);
    tern_parser_free(&c->parser);
    tern_tls_conn_free(c->tls);
    tern_buf_free(&c->out);
    tern_buf_free(&c->wbuf);
    free(c->name);
    free(c->lang);
    free(c->version);
    c->retired.free_fn = client_free_retired;
    tern_worker_retire(w, &c->retired);
    tern_server_client_gone(w->srv);
}

static void finish_close(tern_client *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    tern_uv_close_stream((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->ping_timer, on_handle_closed);
}

static void csub_free_retired(tern_retired *r)
{
    free((char *)r - offsetof(tern_csub, retired));
}

static void remove_all_subs(tern_client *c)
{
    tern_sidmap *m = &c->subs;
    for (size_t i = 0; i < m->cap; i++) {
        tern_csub *s = m->slots[i].value;
        if (!s)
            continue;
        tern_sublist_remove(c->acc->sl, &s->s);
        tern_imports_sub_removed(c, s);
        s->removed = true;
        s->retired.free_fn = csub_free_retired;
        tern_worker_retire(c->w, &s->retired);
    }
    tern_sidmap_free(m);
}

static void auth_release(tern_client *c);

void tern_client_close(tern_client *c, tern_close_reason reason)
{
    if (has(c, TERN_CF_CLOSING))
        return;
    c->flags |= TERN_CF_CLOSING;
    c->close_reason = reason;
    tern_docs_closed_add(c); /* connz?state=closed, before the subs go */
    tern_module_client_event(c, TERN_EVT_CLIENT_CLOSED, tern_close_reason_str(reason));
    tern_sysacc_client_closed(c, reason); /* before the account count drops */
    if (tern_worker_current() != c->w) /* a visiting worker (worker.h) */
        c->w->needs_wake = true;
    uv_timer_stop(&c->ping_timer);
    auth_release(c);
    if (c->acc_counted) {
        atomic_fetch_sub_explicit(&c->acc->nconns, 1, memory_order_relaxed);
        c->acc_counted = false;
    }
    uv_read_stop((uv_stream_t *)&c->tcp);
    remove_all_subs(c);
    tern_debugf("%s:%d - cid:%llu - Client connection closed: %s", c->ip, c->port,
                (unsigned long long)c->cid, tern_close_reason_str(reason));

    /* Whatever was queued before an error (the -ERR itself) is written
     * when the socket takes it now; a slow consumer's backlog is not. */
    bool flush = reason != TERN_CLOSE_SLOW_PENDING && reason != TERN_CLOSE_SLOW_DEADLINE &&
                 reason != TERN_CLOSE_WRITE_ERROR && reason != TERN_CLOSE_READ_ERROR &&
                 reason != TERN_CLOSE_CLIENT;
    if (flush && c->tls && !c->writing) {
        tern_tls_conn_shutdown(c->tls);           /* close_notify after the rest */
        (void)tern_tls_conn_seal(c->tls, &c->out);
    }
    if (flush && c->out.len && !c->writing && !uv_is_closing((uv_handle_t *)&c->tcp)) {
        uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
    c->out.len = 0;
    if (c->writing) {
        /* Cancel the in-flight write; on_write finishes the close. */
        blocked_remove(c);
        tern_uv_close_stream((uv_handle_t *)&c->tcp, on_handle_closed);
        uv_close((uv_handle_t *)&c->ping_timer, on_handle_closed);
        return;
    }
    finish_close(c);
}

/* ---- subscriptions -------------------------------------------------- */

static void unsubscribe(tern_client *c, tern_csub *s)
{
    if (s->removed)
        return;
    s->removed = true;
    tern_sidmap_del(&c->subs, s->sid, s->sid_len);
    tern_sublist_remove(c->acc->sl, &s->s);
    tern_imports_sub_removed(c, s);
    s->retired.free_fn = csub_free_retired;
    tern_worker_retire(c->w, &s->retired);
}

/* ---- delivery (route.c frames; the owner's bookkeeping is here) ------ */

void tern_client_delivered(tern_client *c, tern_csub *s, size_t size)
{
    c->out_msgs++;
    c->out_bytes += size; /* payload bytes, as nats-server's outBytes */
    stat_add(&c->w->stats.out_msgs, 1);
    stat_add(&c->w->stats.out_bytes, size);
    tern_account_stats *as = &c->acc->stats[c->w->id];
    tern_account_stat_add(&as->out_msgs, 1);
    tern_account_stat_add(&as->out_bytes, size);
    tern_worker_mark_flush(c->w, c);
    if (++s->delivered == s->max)
        unsubscribe(c, s);
    check_pending(c);
}

/* ---- protocol handlers ---------------------------------------------- */

static void send_ok(tern_client *c)
{
    if (has(c, TERN_CF_VERBOSE))
        tern_client_send(c, "+OK\r\n", 5);
}

static bool has_prefix(const char *s, size_t n, const char *p)
{
    size_t pn = strlen(p);
    return n >= pn && memcmp(s, p, pn) == 0;
}

/* Go's %q for the subjects in permission errors. */
static void quote_go(tern_buf *b, const char *s, size_t n)
{
    tern_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            tern_buf_append(b, esc, 2);
        } else if (ch == '\n') {
            tern_buf_append(b, "\\n", 2);
        } else if (ch == '\r') {
            tern_buf_append(b, "\\r", 2);
        } else if (ch == '\t') {
            tern_buf_append(b, "\\t", 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", ch);
            tern_buf_append(b, esc, 4);
        } else {
            tern_buf_append(b, &s[i], 1);
        }
    }
    tern_buf_append(b, "\"", 1);
}

static void send_perm_err(tern_client *c, const char *what, const char *s, size_t n)
{
    tern_buf msg = {0};
    tern_buf_append_str(&msg, what);
    quote_go(&msg, s, n);
    tern_buf_append(&msg, "", 1);
    tern_client_send_err(c, msg.data);
    tern_buf_free(&msg);
}

static void send_sub_perm_err(tern_client *c, const char *subj, size_t subj_len, const char *queue,
                              size_t queue_len, const char *sid, size_t sid_len)
{
    tern_buf msg = {0};
    tern_buf_append_str(&msg, "Permissions Violation for Subscription to ");
    quote_go(&msg, subj, subj_len);
    if (queue) {
        tern_buf_append_str(&msg, " using queue ");
        quote_go(&msg, queue, queue_len);
    }
    tern_buf_append(&msg, "", 1);
    tern_errorf("%s:%d - cid:%llu - Subscription Violation - Subject \"%.*s\", SID %.*s", c->ip,
                c->port, (unsigned long long)c->cid, (int)subj_len, subj, (int)sid_len, sid);
    tern_client_send_err(c, msg.data);
    tern_buf_free(&msg);
}

static int publish(tern_client *c, const tern_pub_args *m);

static int on_pub(void *ud, const tern_pub_args *m)
{
    tern_client *c = ud;
    tern_worker *w = c->w;
    trace_in(c, "%s %.*s%s%.*s %zu", m->hpub ? "HPUB" : "PUB", (int)m->subject_len, m->subject,
             m->reply ? " " : "", (int)m->reply_len, m->reply ? m->reply : "", m->size);
    if (m->size > 0 && c->perms && tern_client_perms_of(c->perms)->max_payload == 0) {
        tern_client_send_err(c, "Maximum Payload Violation");   /* user_payload_limit */
        tern_client_close(c, TERN_CLOSE_MAX_PAYLOAD);
        return TERN_PARSE_CLOSED;
    }
    c->in_msgs++;
    c->in_bytes += m->size;
    stat_add(&w->stats.in_msgs, 1);
    stat_add(&w->stats.in_bytes, m->size);
    tern_account_stats *as = &c->acc->stats[w->id];
    tern_account_stat_add(&as->in_msgs, 1);
    tern_account_stat_add(&as->in_bytes, m->size);
    /* Subject mappings (mappings.h) rewrite the subject before anything
     * else looks at it. */
    if (!c->acc->conf || !c->acc->conf->nmappings)
        return publish(c, m);
    char buf[256];
    size_t n = 0;
    char *subj = tern_mappings_apply(c->acc->conf, m->subject, m->subject_len, buf, sizeof buf, &n);
    if (!subj)
        return publish(c, m);
    tern_pub_args mapped = *m;
    mapped.subject = subj;
    mapped.subject_len = n;
    int rc = publish(c, &mapped);
    if (subj != buf)
        free(subj);
    return rc;
}

static int publish(tern_client *c, const tern_pub_args *m)
{
    tern_worker *w = c->w;
    c->last_activity_ms = w->now_ms;

    if (has(c, TERN_CF_PEDANTIC) && !tern_subject_valid(m->subject, m->subject_len, false))
        tern_client_send_err(c, "Invalid Publish Subject"); /* still routed */

    /* Reserved prefixes (client-protocol.md §11). */
    if (has_prefix(m->subject, m->subject_len, "_GR_.")) {
        send_perm_err(c, "Permissions Violation for Publish to ", m->subject, m->subject_len);
        return TERN_PARSE_OK;
    }
    /* Permissions (perms.h) come before the reserved replies, as in
     * nats-server's processInboundClientMsg. */
    if (c->perms && !tern_client_perms_pub(c->perms, m->subject, m->subject_len, w->now_ms)) {
        tern_errorf("%s:%d - cid:%llu - Publish Violation - Subject \"%.*s\"", c->ip, c->port,
                    (unsigned long long)c->cid, (int)m->subject_len, m->subject);
        send_perm_err(c, "Permissions Violation for Publish to ", m->subject, m->subject_len);
        return TERN_PARSE_OK;
    }
    if (m->reply && (has_prefix(m->reply, m->reply_len, "_R_.") ||
                     has_prefix(m->reply, m->reply_len, "$JS.ACK.") ||
                     has_prefix(m->reply, m->reply_len, "_GR_."))) {
        send_perm_err(c, "Permissions Violation for Publish with Reply of ", m->reply, m->reply_len);
        return TERN_PARSE_OK;
    }
    send_ok(c);
    tern_route_publish(w, c->acc, c, m);
    return has(c, TERN_CF_CLOSING) ? TERN_PARSE_CLOSED : TERN_PARSE_OK;
}

static int on_sub(void *ud, const char *subj, size_t subj_len, const char *queue,
                  size_t queue_len, const char *sid, size_t sid_len)
{
    tern_client *c = ud;
    trace_in(c, "SUB %.*s%s%.*s %.*s", (int)subj_len, subj, queue ? " " : "", (int)queue_len,
             queue ? queue : "", (int)sid_len, sid);
    c->last_activity_ms = c->w->now_ms;
    /* nats-server's order: permissions, the account's subscription
     * limit, then the subject's validity. */
    if (c->perms && !tern_perms_sub_allowed(tern_client_perms_of(c->perms), subj, subj_len, queue,
                                            queue_len)) {
        send_sub_perm_err(c, subj, subj_len, queue, queue_len, sid, sid_len);
        return TERN_PARSE_OK;
    }
    const tern_perms *up = c->perms ? tern_client_perms_of(c->perms) : NULL;
    if ((c->acc->max_subscriptions >= 0 && (int64_t)c->subs.n >= c->acc->max_subscriptions) ||
        (up && up->max_subs >= 0 && (int64_t)c->subs.n >= up->max_subs)) {
        tern_client_send_err(c, "maximum subscriptions exceeded");
        return TERN_PARSE_OK;
    }
    /* nats-server checks the subject's tokens only; any queue name goes. */
    if (!tern_subject_valid(subj, subj_len, true)) {
        tern_client_send_err(c, "Invalid Subject");
        return TERN_PARSE_OK;
    }
    if (tern_sidmap_get(&c->subs, sid, sid_len)) { /* sid reuse: ignored */
        send_ok(c);
        return TERN_PARSE_OK;
    }
    tern_csub *s = tern_xcalloc(1, sizeof *s + subj_len + 1 + queue_len + 1 + sid_len + 1);
    char *p = s->mem;
    memcpy(p, subj, subj_len);
    s->s.subject = p;
    s->s.subject_len = (uint32_t)subj_len;
    p += subj_len + 1;
    if (queue) {
        memcpy(p, queue, queue_len);
        s->s.queue = p;
        s->s.queue_len = (uint32_t)queue_len;
        p += queue_len + 1;
    }
    memcpy(p, sid, sid_len);
    s->sid = p;
    s->sid_len = (uint32_t)sid_len;
    s->s.weight = 1;
    s->s.owner = c;
    s->deny_filter = c->perms &&
                     tern_perms_sub_needs_filter(tern_client_perms_of(c->perms), subj, subj_len);
    if (tern_sublist_insert(c->acc->sl, &s->s) != 0) {
        free(s);
        tern_client_send_err(c, "Invalid Subject");
        return TERN_PARSE_OK;
    }
    tern_sidmap_put(&c->subs, s->sid, s->sid_len, s);
    tern_imports_sub_added(c, s);
    send_ok(c);
    return TERN_PARSE_OK;
}

static int on_unsub(void *ud, const char *sid, size_t sid_len, int64_t max)
{
    tern_client *c = ud;
    trace_in(c, "UNSUB %.*s%s", (int)sid_len, sid, max ? " max" : "");
    c->last_activity_ms = c->w->now_ms;
    tern_csub *s = tern_sidmap_get(&c->subs, sid, sid_len);
    if (s) {
        if (max > 0 && (uint64_t)max > s->delivered)
            s->max = (uint64_t)max;
        else
            unsubscribe(c, s);
    }
    send_ok(c);
    return TERN_PARSE_OK;
}

static void arm_ping_timer(tern_client *c, uint64_t ms);
static void send_payload_info(tern_client *c);

static int on_ping(void *ud)
{
    tern_client *c = ud;
    trace_in(c, "%s", "PING");
    c->last_ping_in_ms = c->w->now_ms;
    /* Deliveries other workers handed over before this PING go first
     * (worker.h): the PONG promises them. */
    tern_worker_apply_batches(c->w);
    if (has(c, TERN_CF_CLOSING))
        return TERN_PARSE_CLOSED;
    bool first = !has(c, TERN_CF_FIRST_PONG_SENT) && has(c, TERN_CF_CONNECT_RECEIVED);
    tern_client_send(c, "PONG\r\n", 6);
    c->flags |= TERN_CF_FIRST_PONG_SENT;
    /* nats-server: after the first PONG, an INFO with the connection's
     * own max_payload when an account or user limit lowered it. */
    if (first && c->protocol >= 1)
        send_payload_info(c);
    return TERN_PARSE_OK;
}

static int on_pong(void *ud)
{
    tern_client *c = ud;
    trace_in(c, "%s", "PONG");
    c->pings_out = 0;
    if (c->rtt_start_ms) {
        c->rtt_ms = (int64_t)(uv_now(&c->w->loop) - c->rtt_start_ms);
        c->rtt_ns = (int64_t)(uv_hrtime() - c->rtt_sent_ns);
        c->rtt_start_ms = 0;
    }
    return TERN_PARSE_OK;
}

static int on_ok(void *ud)
{
    (void)ud;
    return TERN_PARSE_OK;
}

/* A client's INFO is decoded and ignored, as nats-server does: only JSON
 * that does not decode closes the connection. */
static int on_info(void *ud, const char *json, size_t len)
{
    tern_client *c = ud;
    json_error_t jerr;
    json_t *v = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v || !(json_is_object(v) || json_is_null(v))) {
        json_decref(v);
        tern_client_close(c, TERN_CLOSE_PROTOCOL);
        return TERN_PARSE_CLOSED;
    }
    json_decref(v);
    return TERN_PARSE_OK;
}

static int on_err(void *ud, const char *text, size_t len)
{
    tern_client *c = ud;
    tern_noticef("%s:%d - cid:%llu - Client Error %.*s", c->ip, c->port,
                 (unsigned long long)c->cid, (int)len, text);
    tern_client_close(c, TERN_CLOSE_PARSE_ERROR);
    return TERN_PARSE_CLOSED;
}

/* CONNECT options as nats-server decodes them: Go's encoding/json into a
 * struct pre-set with defaults. Field names match case-insensitively, a
 * JSON null leaves the default, and a value of the wrong type fails the
 * whole CONNECT (the connection is closed). */
typedef struct connect_opts {
    bool verbose, pedantic, echo, headers, no_responders;
    int64_t protocol;
    bool account_set;
    char *name, *lang, *version;    /* given by this CONNECT (owned) */
} connect_opts;

static bool json_bool_field(json_t *v, bool *out)
{
    if (json_is_null(v))
        return true;
    if (!json_is_boolean(v))
        return false;
    *out = json_is_true(v);
    return true;
}

/* Go's decoder replaces invalid UTF-8 with U+FFFD where jansson would
 * reject the document; do the same before parsing. Returns NULL when the
 * text is valid as it is. */
static char *utf8_repair(const char *s, size_t len, size_t *outlen)
{
    tern_buf b = {0};
    size_t i = 0, copied = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)s[i];
        size_t n = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
        bool ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++)
            ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
        if (ok && n > 1) {
            uint32_t cp = n == 2 ? (ch & 0x1fu) : n == 3 ? (ch & 0x0fu) : (ch & 0x07u);
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3fu);
            ok = !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000) &&
                 cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        }
        if (ok) {
            i += n;
            continue;
        }
        tern_buf_append(&b, s + copied, i - copied);
        tern_buf_append(&b, "\xef\xbf\xbd", 3);
        i++;
        copied = i;
    }
    if (!b.data)
        return NULL;
    tern_buf_append(&b, s + copied, len - copied);
    *outlen = b.len;
    return b.data;
}

static int parse_connect(const char *json, size_t len, connect_opts *o, tern_auth_creds *creds)
{
    json_error_t jerr;
    size_t fixed_len = 0;
    char *fixed = utf8_repair(json, len, &fixed_len);
    json_t *root = fixed ? json_loadb(fixed, fixed_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr)
                         : json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    free(fixed);
    if (!root)
        return -1;
    if (json_is_null(root)) {
        json_decref(root);
        return 0;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    static const char *const string_fields[] = {
        "auth_token", "user", "pass", "nkey", "jwt", "sig", "name", "lang", "version",
    };
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, key, v) {
        if (!strcasecmp(key, "verbose")) {
            if (!json_bool_field(v, &o->verbose)) rc = -1;
        } else if (!strcasecmp(key, "pedantic")) {
            if (!json_bool_field(v, &o->pedantic)) rc = -1;
        } else if (!strcasecmp(key, "echo")) {
            if (!json_bool_field(v, &o->echo)) rc = -1;
        } else if (!strcasecmp(key, "headers")) {
            if (!json_bool_field(v, &o->headers)) rc = -1;
        } else if (!strcasecmp(key, "no_responders")) {
            if (!json_bool_field(v, &o->no_responders)) rc = -1;
        } else if (!strcasecmp(key, "tls_required")) {
            bool ignored;
            if (!json_bool_field(v, &ignored)) rc = -1;
        } else if (!strcasecmp(key, "protocol")) {
            if (json_is_integer(v))
                o->protocol = json_integer_value(v);
            else if (!json_is_null(v))
                rc = -1;
        } else if (!strcasecmp(key, "account")) {
            if (json_is_string(v))
                o->account_set |= json_string_length(v) > 0;
            else if (!json_is_null(v))
                rc = -1;
        } else if (!strcasecmp(key, "new_account")) {
            bool b = false;
            if (!json_bool_field(v, &b)) rc = -1;
            o->account_set |= b;
        } else {
            for (size_t i = 0; i < sizeof string_fields / sizeof *string_fields; i++)
                if (!strcasecmp(key, string_fields[i]) && !json_is_string(v) && !json_is_null(v))
                    rc = -1;
        }
    }
    if (rc == 0 && creds)
        tern_auth_creds_merge(creds, root);
    json_object_foreach(root, key, v) { /* kept for monitoring (docs.h) */
        char **dst = !strcasecmp(key, "name") ? &o->name : !strcasecmp(key, "lang") ? &o->lang
                   : !strcasecmp(key, "version") ? &o->version : NULL;
        if (rc == 0 && dst && json_is_string(v)) {
            free(*dst);
            *dst = tern_xstrdup(json_string_value(v));
        }
    }
    json_decref(root);
    return rc;
}

/* The rest of a CONNECT once it is authenticated, in nats-server's order:
 * account, protocol, no_responders, then the options take effect. */
static int finish_connect(tern_client *c, const connect_opts *o)
{
    bool first = !has(c, TERN_CF_CONNECT_RECEIVED);
    if (o->account_set) {
        tern_client_send_err(c, "Authorization Violation");
        tern_client_close(c, TERN_CLOSE_AUTH_VIOLATION);
        return TERN_PARSE_CLOSED;
    }
    if (o->protocol < 0 || o->protocol > 1) {
        tern_client_send_err(c, "invalid client protocol");
        tern_client_close(c, TERN_CLOSE_BAD_PROTOCOL);
        return TERN_PARSE_CLOSED;
    }
    bool headers = o->headers && !opts_of(c)->no_header_support;
    if (o->no_responders && !headers) {
        tern_client_send_err(c, "no responders requires headers support");
        tern_client_close(c, TERN_CLOSE_PROTOCOL);
        return TERN_PARSE_CLOSED;
    }
    c->flags &= ~(TERN_CF_VERBOSE | TERN_CF_PEDANTIC | TERN_CF_ECHO | TERN_CF_HEADERS |
                  TERN_CF_NO_RESPONDERS);
    c->flags |= TERN_CF_CONNECT_RECEIVED | (o->verbose ? TERN_CF_VERBOSE : 0) |
                (o->pedantic ? TERN_CF_PEDANTIC : 0) | (o->echo ? TERN_CF_ECHO : 0) |
                (headers ? TERN_CF_HEADERS : 0) | (o->no_responders ? TERN_CF_NO_RESPONDERS : 0);
    c->protocol = (int)o->protocol;
    c->parser.headers = headers;
    c->parser.require_connect = false;
    send_ok(c);
    if (first) {
        tern_module_client_event(c, TERN_EVT_CLIENT_CONNECTED, NULL);
        tern_sysacc_client_connected(c);
    }
    return TERN_PARSE_OK;
}

/* ---- authentication (auth.h, docs/auth.md) --------------------------- */

/* Per-connection state while authentication is configured. Every CONNECT
 * is authenticated, as nats-server does, with the credentials merged over
 * the earlier CONNECTs. While a decision is pending the connection's
 * reads are stopped and what followed the CONNECT in the read buffer (the
 * worker's, shared) is kept in stash. */
typedef struct tern_client_auth {
    uv_timer_t      timer;      /* the deadline; its close callback frees this */
    tern_auth_creds creds;
    char            nonce[TERN_AUTH_NONCE_LEN + 1]; /* "" when INFO had none */
    tern_buf        stash;
    connect_opts    connect;    /* the CONNECT awaiting its decision */
    bool            pending;
    tern_auth      *conf;       /* referenced: the decision's configuration */
    const tern_auth_user *user; /* the decision's user (NULL: token or none) */
    char           *bound;      /* the name of the user the connection is
                                   bound to ("" for token or none) */
    tern_account   *module_acc; /* the account a module's decision named */
    char           *module;     /* the module that let the client in (NULL:
                                   the kernel's rules did) */
    char           *user_name;  /* that module's name for the user (NULL: none) */
} tern_client_auth;

static bool parse_input(tern_client *c, const char *p, size_t n);
static void read_tls(tern_client *c, const char *p, size_t n);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void auth_state_free(uv_handle_t *h)
{
    tern_client_auth *a = h->data;
    tern_auth_creds_free(&a->creds);
    tern_buf_free(&a->stash);
    tern_auth_unref(a->conf);
    free(a->bound);
    free(a->module);
    free(a->user_name);
    free(a);
}

static void auth_init(tern_client *c)
{
    tern_client_auth *a = tern_xcalloc(1, sizeof *a);
    uv_timer_init(&c->w->loop, &a->timer);
    a->timer.data = c;
    /* An authenticating module may check nkey signatures over it. */
    if (tern_auth_nonce_required(opts_of(c)->auth) || tern_module_auth_active())
        tern_auth_new_nonce(a->nonce);
    c->auth = a;
    c->parser.require_connect = true;
}

/* The connection goes: a decision still running completes into nothing
 * (its cid is no longer registered), and the state goes with the timer. */
static void auth_release(tern_client *c)
{
    tern_client_auth *a = c->auth;
    if (!a)
        return;
    if (a->pending) {
        tern_auth_forget(c->cid);
        tern_module_auth_forget(c->cid);
    }
    a->timer.data = a;
    uv_close((uv_handle_t *)&a->timer, auth_state_free);
    c->auth = NULL;
}

static void on_auth_timeout(uv_timer_t *t)
{
    tern_client *c = t->data;
    tern_debugf("%s:%d - cid:%llu - Authentication Timeout", c->ip, c->port,
                (unsigned long long)c->cid);
    tern_client_send_err(c, "Authentication Timeout");
    tern_client_close(c, TERN_CLOSE_AUTH_TIMEOUT);
}

/* Armed once the connection can talk (after the TLS handshake, as
 * nats-server does); stopped by the first successful decision. */
static void arm_auth_timer(tern_client *c)
{
    if (c->auth && !has(c, TERN_CF_CONNECT_RECEIVED))
        uv_timer_start(&c->auth->timer, on_auth_timeout, (uint64_t)opts_of(c)->auth_timeout_ms, 0);
}

static void account_count(tern_client *c, tern_account *acc)
{
    if (c->acc_counted)
        atomic_fetch_sub_explicit(&c->acc->nconns, 1, memory_order_relaxed);
    c->acc = acc;
    atomic_fetch_add_explicit(&acc->nconns, 1, memory_order_relaxed);
    c->acc_counted = true;
}

/* A module-granted user payload limit (perms.h) lowers the connection's.
 * A limit of 0 (empty messages only) is checked in on_pub: the parser
 * reads 0 as "no limit". */
static void user_payload_limit(tern_client *c)
{
    const tern_perms *p = c->perms ? tern_client_perms_of(c->perms) : NULL;
    if (p && p->max_payload > 0 &&
        (c->parser.max_payload <= 0 || p->max_payload < c->parser.max_payload))
        c->parser.max_payload = p->max_payload;
}

/* Bind the connection to the decision's user: its account (and that
 * account's limits) and its permissions. A later CONNECT may not switch
 * to another user. Returns false when the client must go (the error is
 * sent here). */
static bool bind_user(tern_client *c)
{
    tern_client_auth *a = c->auth;
    tern_server *srv = srv_of(c);
    const tern_auth_user *u = a->user;
    if (a->bound) {
        if (!strcmp(u ? u->name : "", a->bound))
            return true;
        tern_client_send_err(c, "Authorization Violation");
        tern_client_close(c, TERN_CLOSE_AUTH_VIOLATION);
        return false;
    }
    tern_account *acc = a->module_acc ? a->module_acc : srv->gacc;
    if (u && u->account > 0) {
        const tern_accounts_conf *conf = a->conf->accounts;
        acc = conf && (size_t)u->account < conf->n
                  ? tern_accounts_find(&srv->accounts, conf->accs[u->account].name) : NULL;
        if (!acc) { /* an account added by a reload: not served until restart */
            tern_client_send_err(c, "Authorization Violation");
            tern_client_close(c, TERN_CLOSE_AUTH_VIOLATION);
            return false;
        }
    }
    a->bound = tern_xstrdup(u ? u->name : "");
    if (acc != c->acc)
        account_count(c, acc);
    if (acc->max_connections >= 0 &&
        atomic_load_explicit(&acc->nconns, memory_order_relaxed) > acc->max_connections) {
        tern_errorf("%s:%d - cid:%llu - maximum account active connections exceeded", c->ip,
                    c->port, (unsigned long long)c->cid);
        tern_client_send_err(c, "maximum account active connections exceeded");
        tern_client_close(c, TERN_CLOSE_MAX_CONNECTIONS);
        return false;
    }
    if (acc->max_payload >= 0 && acc->max_payload < c->parser.max_payload)
        c->parser.max_payload = acc->max_payload;
    if (u && u->perms) {
        c->perms = tern_client_perms_new(u->perms);
        c->auth_conf = tern_auth_ref(a->conf);
    }
    user_payload_limit(c);
    return true;
}

/* ---- reload ------------------------------------------------------------ */

static void reload_close_task(tern_worker *w, void *arg)
{
    (void)w;
    tern_client *c = arg;
    if (has(c, TERN_CF_CLOSING))
        return;
    tern_client_send_err(c, "Authorization Violation");
    tern_client_close(c, TERN_CLOSE_AUTH_VIOLATION);
}

static const char *account_name_of(const tern_auth *auth, const tern_auth_user *u)
{
    if (!u || !auth->accounts || (size_t)u->account >= auth->accounts->n)
        return TERN_GLOBAL_ACCOUNT;
    return auth->accounts->accs[u->account].name;
}

void tern_client_reload_auth(tern_client *c, tern_auth *auth)
{
    tern_client_auth *a = c->auth;
    if (has(c, TERN_CF_CLOSING))
        return;
    if (!a) {         /* accepted without authentication: now required? */
        if (tern_auth_required(auth))
            tern_worker_post(c->w, reload_close_task, c);
        return;
    }
    if (!a->bound || a->pending)
        return;       /* not bound yet: decided with the configuration of its CONNECT */
    if (a->module) {
        /* The module that let it in is its authority: it stays while that
         * module is loaded and authenticates (the module may revoke it
         * itself with client_close); the kernel's users do not apply. */
        if (!tern_module_authenticates(a->module)) {
            tern_noticef("%s:%d - cid:%llu - module %s that authenticated the client was "
                         "unloaded", c->ip, c->port, (unsigned long long)c->cid, a->module);
            tern_worker_post(c->w, reload_close_task, c);
        }
        user_payload_limit(c);   /* the reload reset the connection's limit */
        return;
    }
    const tern_auth_user *old = a->bound[0] ? tern_auth_find(a->conf, a->bound) : NULL;
    const tern_auth_user *u = a->bound[0] ? tern_auth_find(auth, a->bound) : NULL;
    bool ok;
    if (a->bound[0])
        ok = old && u && !strcmp(old->password ? old->password : "", u->password ? u->password : "") &&
             !strcmp(account_name_of(auth, u), c->acc->name);
    else   /* the token, or no authentication at all */
        ok = !tern_auth_required(auth) ||
             (a->conf && a->conf->token && auth->token && !strcmp(a->conf->token, auth->token));
    if (!ok) {
        tern_worker_post(c->w, reload_close_task, c);
        return;
    }
    tern_auth_unref(a->conf);
    a->conf = tern_auth_ref(auth);
    /* Workers are paused: nobody reads the old permissions now. */
    tern_client_perms_free(c->perms);
    tern_auth_unref(c->auth_conf);
    c->perms = NULL;
    c->auth_conf = NULL;
    if (u && u->perms) {
        c->perms = tern_client_perms_new(u->perms);
        c->auth_conf = tern_auth_ref(auth);
    }
    const tern_perms *p = c->perms ? tern_client_perms_of(c->perms) : NULL;
    tern_sidmap *m = &c->subs;
    for (size_t i = 0; i < m->cap; i++) {
        tern_csub *s = m->slots[i].value;
        if (!s)
            continue;
        if (p && !tern_perms_sub_allowed(p, s->s.subject, s->s.subject_len, s->s.queue,
                                         s->s.queue_len)) {
            /* nats-server's wording on reload names the sid, not the queue */
            tern_buf msg = {0};
            tern_buf_append_str(&msg, "Permissions Violation for Subscription to ");
            quote_go(&msg, s->s.subject, s->s.subject_len);
            tern_buf_append_str(&msg, " (sid ");
            quote_go(&msg, s->sid, s->sid_len);
            tern_buf_append(&msg, ")", 2);
            tern_noticef("Removed sub \"%.*s\" (sid \"%.*s\") for User \"%s\" - not authorized",
                         (int)s->s.subject_len, s->s.subject, (int)s->sid_len, s->sid, a->bound);
            tern_client_send_err(c, msg.data);
            tern_buf_free(&msg);
            unsubscribe(c, s);
            i = (size_t)-1;     /* backward-shift deletion may move entries: rescan */
            continue;
        }
        s->deny_filter = p && tern_perms_sub_needs_filter(p, s->s.subject, s->s.subject_len);
    }
}

static int auth_decided(tern_client *c, const connect_opts *o, bool ok)
{
    if (ok && !bind_user(c))
        return TERN_PARSE_CLOSED;
    if (!ok) {
        tern_errorf("%s:%d - cid:%llu - authentication error - User \"%s\"", c->ip, c->port,
                    (unsigned long long)c->cid, c->auth->creds.nkey && *c->auth->creds.nkey
                        ? c->auth->creds.nkey : c->auth->creds.user ? c->auth->creds.user : "");
        tern_client_send_err(c, "Authorization Violation");
        tern_client_close(c, TERN_CLOSE_AUTH_VIOLATION);
        return TERN_PARSE_CLOSED;
    }
    uv_timer_stop(&c->auth->timer);
    return finish_connect(c, o);
}

/* Input after a CONNECT whose decision is pending waits in the stash. */
static void pause_input(tern_client *c, const char *rest, size_t n)
{
    if (n)
        tern_buf_append(&c->auth->stash, rest, n);
    uv_read_stop((uv_stream_t *)&c->tcp);
}

/* The decision is in: parse what waited, then read again. */
static void resume_input(tern_client *c)
{
    tern_buf stash = c->auth->stash;
    memset(&c->auth->stash, 0, sizeof c->auth->stash);
    bool go = stash.len == 0 || parse_input(c, stash.data, stash.len);
    tern_buf_free(&stash);
    if (!go || has(c, TERN_CF_CLOSING) || (c->auth && c->auth->pending))
        return;
    if (c->tls) {
        read_tls(c, NULL, 0);   /* plaintext the TLS engine still holds */
        if (has(c, TERN_CF_CLOSING) || (c->auth && c->auth->pending))
            return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        tern_client_close(c, TERN_CLOSE_READ_ERROR);
}

/* Completion of a bcrypt comparison, on this worker's loop; only called
 * while the connection is registered (not closed). */
static void on_auth_slow_done(void *owner, bool ok)
{
    tern_client *c = owner;
    c->auth->pending = false;
    c->w->now_ms = uv_now(&c->w->loop);
    connect_opts o = c->auth->connect;
    if (auth_decided(c, &o, ok) == TERN_PARSE_OK)
        resume_input(c);
}

/* A module's decision (module.h), on this worker's loop; only called
 * while the connection is registered. */
static void set_auth_module(tern_client_auth *a, const char *module)
{
    free(a->module);
    a->module = module ? tern_xstrdup(module) : NULL;
}

/* Take a module's grant: its permissions are held by a one-user
 * configuration, so bind_user and the connection's auth_conf keep them
 * alive exactly as they keep a conf.d user's. */
static void apply_grant(tern_client_auth *a, tern_module_grant *g)
{
    a->user = NULL;
    free(a->user_name);
    a->user_name = g->user_name;
    g->user_name = NULL;
    if (!g->perms)
        return;
    tern_auth *holder = tern_auth_new();
    tern_auth_add_account_user(holder, a->user_name ? a->user_name : "", NULL, 0, g->perms);
    g->perms = NULL;
    tern_auth_unref(a->conf);
    a->conf = holder;
    a->user = &holder->users[0];
}

static void on_auth_module_done(void *owner, bool ok, tern_account *acc, const char *module,
                                tern_module_grant *grant)
{
    tern_client *c = owner;
    c->auth->pending = false;
    c->auth->user = NULL;
    c->auth->module_acc = acc;
    if (ok) {
        set_auth_module(c->auth, module);
        apply_grant(c->auth, grant);
    }
    c->w->now_ms = uv_now(&c->w->loop);
    connect_opts o = c->auth->connect;
    if (auth_decided(c, &o, ok) == TERN_PARSE_OK)
        resume_input(c);
}

static int authenticate(tern_client *c, const connect_opts *o)
{
    tern_client_auth *a = c->auth;
    tern_auth_slow slow;
    tern_auth_unref(a->conf);
    a->conf = tern_auth_ref(opts_of(c)->auth);
    tern_account *macc = NULL;
    const char *module = NULL;
    tern_module_grant grant;
    switch (tern_module_auth_start(c, &a->creds, a->nonce, &macc, &module, &grant,
                                   on_auth_module_done)) {
    case TERN_MODAUTH_PENDING:
        a->connect = *o;
        a->pending = true;
        return TERN_PARSE_PAUSE;
    case TERN_MODAUTH_ALLOW:
        a->module_acc = macc;
        set_auth_module(a, module);
        apply_grant(a, &grant);
        return auth_decided(c, o, true);
    case TERN_MODAUTH_DENY:
        return auth_decided(c, o, false);
    }
    tern_auth_result r = tern_auth_decide(a->conf, &a->creds, a->nonce[0] ? a->nonce : NULL,
                                          &slow, &a->user);
    if (r != TERN_AUTH_SLOW)
        return auth_decided(c, o, r == TERN_AUTH_OK);
    a->connect = *o;
    a->pending = true;
    if (tern_auth_slow_start(&c->w->loop, c->cid, c, &slow, on_auth_slow_done) != 0) {
        a->pending = false;
        return auth_decided(c, o, false);
    }
    return TERN_PARSE_PAUSE;
}

/* no_auth_user lets a first op other than CONNECT through (telnet-style
 * use), binding the connection to that user as nats-server does. */
static bool bind_no_auth_user(tern_client *c)
{
    tern_auth *a = opts_of(c)->auth;
    if (!c->auth || !a || !a->no_auth_user)
        return false;
    tern_auth_unref(c->auth->conf);
    c->auth->conf = tern_auth_ref(a);
    c->auth->user = NULL;
    for (size_t i = 0; i < a->nusers; i++)
        if (!strcmp(a->users[i].name, a->no_auth_user))
            c->auth->user = &a->users[i];
    if (!bind_user(c))
        return false;
    uv_timer_stop(&c->auth->timer);
    c->flags |= TERN_CF_CONNECT_RECEIVED;
    c->parser.require_connect = false;
    return true;
}

const char *tern_client_auth_user(const tern_client *c)
{
    const tern_auth_creds *cr = c->auth ? &c->auth->creds : NULL;
    if (!cr)
        return NULL;
    if (c->auth->user_name)
        return c->auth->user_name;
    if (cr->nkey && *cr->nkey)
        return cr->nkey;
    if (cr->user && *cr->user)
        return cr->user;
    return cr->token && *cr->token ? cr->token : NULL;
}

const char *tern_client_connect_user(const tern_client *c)
{
    return c->auth ? c->auth->creds.user : NULL;
}

static int on_connect(void *ud, const char *json, size_t len)
{
    tern_client *c = ud;
    trace_in(c, "CONNECT %.*s", (int)len, json);
    /* As nats-server: a CONNECT is activity, and until a PONG measures it
     * the RTT is estimated as the time since the connection started. */
    c->last_activity_ms = c->w->now_ms;
    struct timespec now_ts;
    clock_gettime(CLOCK_REALTIME, &now_ts);
    int64_t since = (int64_t)now_ts.tv_sec * 1000000000 + now_ts.tv_nsec - c->start_ns;
    c->rtt_ns = since > 0 ? since : 1;
    /* Like nats-server, a CONNECT decodes over the current options: a
     * second CONNECT changes only the fields it names. */
    connect_opts o = {
        .verbose = has(c, TERN_CF_VERBOSE), .pedantic = has(c, TERN_CF_PEDANTIC),
        .echo = has(c, TERN_CF_ECHO), .headers = has(c, TERN_CF_HEADERS),
        .no_responders = has(c, TERN_CF_NO_RESPONDERS), .protocol = c->protocol,
    };
    int rc = parse_connect(json, len, &o, c->auth ? &c->auth->creds : NULL);
    char **mine[] = {&c->name, &c->lang, &c->version}, **given[] = {&o.name, &o.lang, &o.version};
    for (size_t i = 0; i < 3; i++) { /* a field left out keeps its value */
        if (*given[i]) {
            free(*mine[i]);
            *mine[i] = *given[i];
            *given[i] = NULL;
        }
    }
    if (rc != 0) {
        tern_client_close(c, TERN_CLOSE_PROTOCOL);
        return TERN_PARSE_CLOSED;
    }
    return c->auth ? authenticate(c, &o) : finish_connect(c, &o);
}

static const tern_parser_callbacks client_callbacks = {
    .on_connect = on_connect,
    .on_info = on_info,
    .on_pub = on_pub,
    .on_sub = on_sub,
    .on_unsub = on_unsub,
    .on_ping = on_ping,
    .on_pong = on_pong,
    .on_ok = on_ok,
    .on_err = on_err,
};

/* ---- reading -------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    tern_client *c = h->data;
    buf->base = c->w->rbuf;
    buf->len = c->w->rbuf_size;
}

static void handle_parse_error(tern_client *c, tern_parse_status st)
{
    switch (st) {
    case TERN_PARSE_ERR_UNKNOWN_OP:
        tern_client_send_err(c, "Unknown Protocol Operation");
        tern_client_close(c, TERN_CLOSE_PROTOCOL);
        break;
    case TERN_PARSE_ERR_MAX_CONTROL_LINE:
        tern_client_send_err(c, "maximum control line exceeded");
        tern_client_close(c, TERN_CLOSE_MAX_CONTROL_LINE);
        break;
    case TERN_PARSE_ERR_MAX_PAYLOAD:
        tern_client_send_err(c, "Maximum Payload Violation");
        tern_client_close(c, TERN_CLOSE_MAX_PAYLOAD);
        break;
    case TERN_PARSE_ERR_AUTH:
        tern_client_send_err(c, "Authorization Violation");
        tern_client_close(c, TERN_CLOSE_AUTH_VIOLATION);
        break;
    default:
        tern_client_close(c, TERN_CLOSE_PROTOCOL);
        break;
    }
}

/* Plaintext from the client into the parser. Returns false once reading
 * must stop (closed, a protocol error, or paused). */
static bool parse_input(tern_client *c, const char *p, size_t n)
{
    size_t consumed = 0;
    tern_parse_status st = tern_parser_feed(&c->parser, p, n, &client_callbacks, c, &consumed);
    if (st == TERN_PARSE_ERR_AUTH && bind_no_auth_user(c)) {
        p += consumed;
        n -= consumed;
        st = tern_parser_feed(&c->parser, p, n, &client_callbacks, c, &consumed);
    }
    if (st == TERN_PARSE_OK)
        return true;
    if (st == TERN_PARSE_CLOSED)
        return false;
    if (st == TERN_PARSE_PAUSE) {
        /* a CONNECT awaits its authentication decision */
        pause_input(c, p + consumed, n - consumed);
        return false;
    }
    if (!has(c, TERN_CF_CLOSING))
        handle_parse_error(c, st);
    return false;
}

/* ---- TLS (tls.h): the engine sits between the socket and the parser -- */

static void arm_ping_timer(tern_client *c, uint64_t ms);
static uint64_t first_ping_ms(const tern_opts *o);

/* nats-server closes without a word (its -ERR 'Secure Connection - TLS
 * Required' comes after the close and never reaches the client). */
static void on_tls_timeout(uv_timer_t *t)
{
    tern_client *c = t->data;
    tern_errorf("%s:%d - cid:%llu - TLS handshake timeout", c->ip, c->port,
                (unsigned long long)c->cid);
    c->out.len = 0;
    tern_client_close(c, TERN_CLOSE_TLS_HANDSHAKE);
}

static void start_tls(tern_client *c)
{
    tern_server *s = srv_of(c);
    tern_debugf("%s:%d - cid:%llu - Starting TLS client connection handshake", c->ip, c->port,
                (unsigned long long)c->cid);
    c->tls = tern_tls_conn_new(s->tls);
    /* The ping timer is the handshake deadline until the handshake is done. */
    uv_timer_start(&c->ping_timer, on_tls_timeout, (uint64_t)s->opts.tls.timeout_ms, 0);
}

static void tls_established(void *ud)
{
    tern_client *c = ud;
    tern_debugf("%s:%d - cid:%llu - TLS handshake complete", c->ip, c->port,
                (unsigned long long)c->cid);
    tern_debugf("%s:%d - cid:%llu - TLS version %s, cipher suite %s", c->ip, c->port,
                (unsigned long long)c->cid, tern_tls_conn_version(c->tls),
                tern_tls_conn_cipher(c->tls));
    arm_ping_timer(c, first_ping_ms(opts_of(c)));
    arm_auth_timer(c);
}

static bool tls_plain(void *ud, const char *p, size_t n)
{
    tern_client *c = ud;
    return !has(c, TERN_CF_CLOSING) && parse_input(c, p, n);
}

static const tern_tls_handlers tls_handlers = { tls_established, tls_plain };

/* Ciphertext from the socket (n = 0: decrypt what is still buffered, e.g.
 * after reads were paused). Plaintext is decrypted into the worker's read
 * buffer, which the parser never keeps. */
static void read_tls(tern_client *c, const char *p, size_t n)
{
    tern_tls_status st =
        tern_tls_conn_feed(c->tls, p, n, c->w->rbuf, c->w->rbuf_size, &tls_handlers, c);
    if (has(c, TERN_CF_CLOSING))
        return;
    if (tern_tls_conn_wants_write(c->tls))
        tern_worker_mark_flush(c->w, c);   /* handshake replies, alerts */
    if (st == TERN_TLS_CLOSED) {
        tern_client_close(c, TERN_CLOSE_CLIENT);
    } else if (st == TERN_TLS_ERROR && !tern_tls_conn_established(c->tls)) {
        tern_errorf("%s:%d - cid:%llu - TLS handshake error: %s", c->ip, c->port,
                    (unsigned long long)c->cid, tern_tls_conn_error(c->tls));
        tern_client_close(c, TERN_CLOSE_TLS_HANDSHAKE);
    } else if (st == TERN_TLS_ERROR) {
        tern_debugf("%s:%d - cid:%llu - TLS error: %s", c->ip, c->port,
                    (unsigned long long)c->cid, tern_tls_conn_error(c->tls));
        tern_client_close(c, TERN_CLOSE_READ_ERROR);
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    tern_client *c = stream->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        tern_client_close(c, nread == UV_EOF ? TERN_CLOSE_CLIENT : TERN_CLOSE_READ_ERROR);
        return;
    }
    c->w->now_ms = uv_now(&c->w->loop);
    if (c->tls)
        read_tls(c, buf->base, (size_t)nread);
    else
        (void)parse_input(c, buf->base, (size_t)nread);
}

/* ---- pings ---------------------------------------------------------- */

static void on_ping_timer(uv_timer_t *t)
{
    tern_client *c = t->data;
    const tern_opts *o = opts_of(c);
    uint64_t now = uv_now(&c->w->loop);
    uint64_t interval = (uint64_t)o->ping_interval_ms;
    bool need_rtt = c->rtt_ms < 0 || now - c->rtt_start_ms > RTT_MEASURE_MS;
    /* Recent traffic or a recent PING from the client make a PING moot,
     * once the RTT is known (nats-server's processPingTimer). */
    bool send = need_rtt || (now - c->last_activity_ms >= interval &&
                             now - c->last_ping_in_ms >= interval);
    if (send) {
        if (c->pings_out + 1 > o->ping_max) {
            tern_debugf("%s:%d - cid:%llu - Stale Client Connection - Closing", c->ip, c->port,
                        (unsigned long long)c->cid);
            tern_client_send_err(c, "Stale Connection");
            tern_client_close(c, TERN_CLOSE_STALE);
            return;
        }
        if (c->rtt_ms < 0 || !c->rtt_start_ms) {
            c->rtt_start_ms = now;
            c->rtt_sent_ns = uv_hrtime();
        }
        c->pings_out++;
        tern_client_send(c, "PING\r\n", 6);
    }
    arm_ping_timer(c, interval);
}

static void arm_ping_timer(tern_client *c, uint64_t ms)
{
    uv_timer_start(&c->ping_timer, on_ping_timer, ms ? ms : 1, 0);
}

/* The first PING comes early (~2 s, up to 20 % later) to measure RTT. */
static uint64_t first_ping_ms(const tern_opts *o)
{
    uint64_t d = (uint64_t)o->ping_interval_ms;
    if (!o->disable_short_first_ping && d > FIRST_PING_MS)
        d = FIRST_PING_MS;
    if (d >= 5)
        d += tern_sublist_rand((uint32_t)(d / 5));
    return d;
}

/* ---- accept --------------------------------------------------------- */

/* INFO in nats-server's key order: the server's fields, keys modules
 * set (client_info.h) around the client's own. The async INFO carries no
 * nonce, as nats-server's. */
static void append_info_ex(tern_client *c, tern_buf *b, bool nonce, int64_t max_payload)
{
    tern_server *s = srv_of(c);
    const char *pre = s->info_prefix, *end = pre + s->info_prefix_len;
    const char *mp =
        max_payload >= 0 ? memmem(pre, s->info_prefix_len, "\"max_payload\":", 14) : NULL;
    if (mp) {   /* this connection's limit in place of the server's */
        mp += 14;
        tern_buf_append(b, pre, (size_t)(mp - pre));
        tern_buf_append_u64(b, (uint64_t)max_payload);
        while (mp < end && *mp >= '0' && *mp <= '9')
            mp++;
        tern_buf_append(b, mp, (size_t)(end - mp));
    } else {
        tern_buf_append(b, pre, s->info_prefix_len);
    }
    tern_client_info_before(b);
    tern_buf_append_str(b, ",\"client_id\":");
    tern_buf_append_u64(b, c->cid);
    tern_buf_append_str(b, ",\"client_ip\":\"");
    tern_buf_append_str(b, c->ip);
    if (nonce && c->auth && c->auth->nonce[0]) {
        tern_buf_append_str(b, "\",\"nonce\":\"");
        tern_buf_append_str(b, c->auth->nonce);
    }
    tern_buf_append_str(b, "\"");
    tern_client_info_after(b);
    tern_buf_append_str(b, "} \r\n");
}

static void append_info(tern_client *c, tern_buf *b, bool nonce)
{
    append_info_ex(c, b, nonce, -1);
}

static void send_payload_info(tern_client *c)
{
    const tern_perms *p = c->perms ? tern_client_perms_of(c->perms) : NULL;
    int64_t mp = p && p->max_payload == 0 ? 0 : c->parser.max_payload;
    if (has(c, TERN_CF_CLOSING) || mp == srv_of(c)->opts.max_payload)
        return;
    append_info_ex(c, &c->out, false, mp);
    tern_worker_mark_flush(c->w, c);
}

static void send_info(tern_client *c)
{
    append_info(c, &c->out, true);
    tern_worker_mark_flush(c->w, c);
}

void tern_client_send_async_info(tern_client *c)
{
    if (has(c, TERN_CF_CLOSING) || c->protocol < 1 || !has(c, TERN_CF_FIRST_PONG_SENT))
        return;
    append_info(c, &c->out, false);
    tern_worker_mark_flush(c->w, c);
}

void tern_client_send_ldm_info(tern_client *c)
{
    tern_server *s = srv_of(c);
    if (has(c, TERN_CF_CLOSING) || c->protocol < 1 || !has(c, TERN_CF_FIRST_PONG_SENT))
        return;
    tern_client_send(c, s->ldm_info, s->ldm_info_len);
}

static void peer_address(tern_client *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    snprintf(c->ip, sizeof c->ip, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        uv_ip4_name(a, c->ip, sizeof c->ip);
        c->port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, c->ip, sizeof c->ip);
        c->port = ntohs(a->sin6_port);
    }
}

void tern_client_accept_fd(tern_worker *w, int fd)
{
    tern_server *s = w->srv;
    tern_client *c = tern_xcalloc(1, sizeof *c);
    c->w = w;
    c->acc = s->gacc;
    c->rtt_ms = -1;
    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);
    c->start_ns = (int64_t)started.tv_sec * 1000000000 + started.tv_nsec;
    c->max_pending = s->opts.max_pending;
    uv_tcp_init(&w->loop, &c->tcp);
    uv_timer_init(&w->loop, &c->ping_timer);
    c->tcp.data = c->ping_timer.data = c->wreq.data = c;
    c->handles_open = 2;
    c->next = w->clients;
    if (w->clients)
        w->clients->prev = c;
    w->clients = c;
    atomic_fetch_add_explicit(&w->nclients, 1, memory_order_relaxed);
    size_t total = atomic_fetch_add_explicit(&s->nclients, 1, memory_order_relaxed) + 1;
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        finish_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    account_count(c, s->gacc);   /* moved to the user's account on login */
    c->cid = atomic_fetch_add_explicit(&s->next_cid, 1, memory_order_relaxed) + 1;
    peer_address(c);
    /* Before CONNECT the defaults apply (telnet-style use): verbose and
     * pedantic on, echo on, no headers. */
    c->flags = TERN_CF_VERBOSE | TERN_CF_PEDANTIC | TERN_CF_ECHO;
    tern_parser_init(&c->parser);
    c->parser.max_control_line = s->opts.max_control_line;
    c->parser.max_payload = s->opts.max_payload;
    c->parser.headers = false;
    c->parser.require_connect = false;
    c->last_activity_ms = c->last_ping_in_ms = uv_now(&w->loop);
    if (tern_auth_required(s->opts.auth) || tern_module_auth_active())
        auth_init(c);

    send_info(c);
    if ((int64_t)total > s->opts.max_connections) {
        tern_client_send_err(c, "maximum connections exceeded");
        tern_client_close(c, TERN_CLOSE_MAX_CONNECTIONS);
        return;
    }
    tern_debugf("%s:%d - cid:%llu - Client connection created", c->ip, c->port,
                (unsigned long long)c->cid);
    if (s->tls) {
        start_tls(c);   /* the ping and auth timers start once the handshake is done */
    } else {
        arm_ping_timer(c, first_ping_ms(&s->opts));
        arm_auth_timer(c);
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        tern_client_close(c, TERN_CLOSE_READ_ERROR);
}
