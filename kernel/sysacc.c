/* System account events and requests (sysacc.h, docs/system-account.md).
 * Subjects, type strings and JSON keys follow nats-server 2.9.10
 * (shared reference system-account.md; key sets checked against the real
 * server by tests/integration/test_sysacc.c). */
#include "sysacc.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "docs.h"
#include "docs_int.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "worker.h"
#include "xalloc.h"

/* nats-server 2.9: the STATSZ heartbeat starts at 250 ms and doubles up
 * to 30 s; account connection counts repeat every 30 s while in use. */
#define STATSZ_FIRST_MS 250
#define STATSZ_MAX_MS   30000
#define CONNS_HB_MS     30000
/* Requests waiting for the main thread; more are dropped (any account
 * can send the imported PING requests). */
#define MAX_QUEUED      1024

#define EVT_CONNECT     "io.nats.server.advisory.v1.client_connect"
#define EVT_DISCONNECT  "io.nats.server.advisory.v1.client_disconnect"
#define EVT_CONNS       "io.nats.server.advisory.v1.account_connections"

/* What an internal subscription answers. */
typedef struct sub_ctx {
    tern_sysacc  *sa;
    tern_account *acc;       /* where it listens (replies go there too) */
    const char   *endpoint;  /* fixed endpoint; NULL: the subject's last token */
    bool          scoped;    /* an import: acc's own data only */
    bool          by_account;/* $SYS.REQ.ACCOUNT.<acc>.<endpoint> */
} sub_ctx;

/* A request copied off the worker for the main thread. */
typedef struct req_job {
    struct req_job *next;
    tern_account   *reply_acc;
    char           *endpoint;
    char           *acc;     /* account-scoped: the account; NULL: server */
    bool            scoped;
    char           *reply;   /* NULL: none */
    char           *body;
    size_t          body_len;
    int             worker;
} req_job;

struct tern_sysacc {
    tern_server    *s;
    tern_account   *sys;
    _Atomic uint64_t seq;
    uv_async_t      async;
    uv_timer_t      statsz_timer;
    uv_timer_t      conns_timer;
    uint64_t        statsz_ms;
    int             handles_open;
    bool            stopped;
    bool            freeing;
    pthread_mutex_t mu;      /* guards the queue */
    req_job        *head, *tail;
    size_t          queued;
    _Atomic bool    closed;  /* no more events or requests */
    tern_isub     **isubs;
    size_t          nisubs;
    sub_ctx       **ctxs;
    size_t          nctxs;
};

/* ---- common blocks -------------------------------------------------------- */

/* A NUID-shaped event id: 22 base-62 characters. */
static void event_id(char out[23])
{
    static const char digits[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 22; i++)
        out[i] = digits[randombytes_uniform(62)];
    out[22] = '\0';
}

/* ServerInfo, stamped with the next event sequence number. */
static json_t *server_info(tern_sysacc *sa)
{
    tern_server *s = sa->s;
    const tern_opts *o = &s->opts;
    json_t *si = json_object();
    json_object_set_new(si, "name", json_string(o->name ? o->name : s->server_id));
    json_object_set_new(si, "host", json_string(o->host ? o->host : ""));
    json_object_set_new(si, "id", json_string(s->server_id));
    json_object_set_new(si, "ver", json_string(TERN_NATS_VERSION));
    json_object_set_new(si, "seq", json_integer((json_int_t)(atomic_fetch_add(&sa->seq, 1) + 1)));
    json_object_set_new(si, "jetstream", json_false());
    json_object_set_new(si, "time", tern_docs_time(tern_docs_now_ns()));
    return si;
}

/* The TypedEvent header. */
static json_t *typed_event(const char *type, int64_t now_ns)
{
    char id[23];
    event_id(id);
    json_t *e = json_object();
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "id", json_string(id));
    json_object_set_new(e, "timestamp", tern_docs_time(now_ns));
    return e;
}

static json_t *data_stats(uint64_t msgs, uint64_t bytes)
{
    json_t *o = json_object();
    json_object_set_new(o, "msgs", json_integer((json_int_t)msgs));
    json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
    return o;
}

static void put_nonempty(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, tern_docs_str(v));
}

/* ClientInfo of c (its worker's thread). stop_ns 0: still connected. */
static json_t *client_info(const tern_client *c, int64_t stop_ns)
{
    json_t *ci = json_object();
    json_object_set_new(ci, "start", tern_docs_time(c->start_ns));
    put_nonempty(ci, "host", c->ip);
    json_object_set_new(ci, "id", json_integer((json_int_t)c->cid));
    json_object_set_new(ci, "acc", json_string(c->acc ? c->acc->name : TERN_GLOBAL_ACCOUNT));
    put_nonempty(ci, "user", tern_client_auth_user(c));
    put_nonempty(ci, "name", c->name);
    put_nonempty(ci, "lang", c->lang);
    put_nonempty(ci, "ver", c->version);
    if (stop_ns) {
        /* Before its first PONG nats-server has the INFO→CONNECT time as
         * RTT; the connection's age is that bound here (auth failures). */
        int64_t rtt = c->rtt_ns > 0 ? c->rtt_ns : stop_ns - c->start_ns;
        json_object_set_new(ci, "rtt", json_integer((json_int_t)(rtt > 0 ? rtt : 1)));
    }
    if (stop_ns)
        json_object_set_new(ci, "stop", tern_docs_time(stop_ns));
    json_object_set_new(ci, "kind", json_string("Client"));
    json_object_set_new(ci, "client_type", json_string("nats"));
    return ci;
}

/* ---- publishing ------------------------------------------------------------ */

typedef struct pub_task {
    tern_account *acc;
    char         *subject;
    char         *data;
    size_t        len;
} pub_task;

static void pub_task_run(tern_worker *w, void *arg)
{
    pub_task *t = arg;
    if (!w->stopping) {
        tern_pub_args m;
        char txt[48];
        tern_route_args(&m, txt, t->subject, NULL, t->data, 0, t->len);
        tern_route_publish(w, t->acc, NULL, &m);
    }
    free(t->subject);
    free(t->data);
    free(t);
}

/* Publish doc (taken) on subject in acc from worker w's thread, as a task:
 * never inside the routing of another message. */
static void post_doc(tern_worker *w, tern_account *acc, const char *subject, json_t *doc)
{
    pub_task *t = tern_xmalloc(sizeof *t);
    t->acc = acc;
    t->subject = tern_xstrdup(subject);
    t->data = tern_docs_dumps(doc, false);
    t->len = strlen(t->data);
    json_decref(doc);
    tern_worker_post(w, pub_task_run, t);
}

static tern_sysacc *sysacc_of(tern_server *s)
{
    return s ? s->sysacc : NULL;
}

/* ---- account connection counts ------------------------------------------- */

typedef struct conns_task {
    tern_sysacc  *sa;
    tern_account *acc;
} conns_task;

/* AccountNumConns on both subjects nats-server 2.9 uses; runs as a task so
 * the count is read after the change that triggered it. */
static void conns_publish(tern_worker *w, tern_sysacc *sa, tern_account *acc)
{
    int64_t n = atomic_load_explicit(&acc->nconns, memory_order_relaxed);
    uint64_t in_msgs, in_bytes, out_msgs, out_bytes;
    tern_account_stats_sum(acc, &in_msgs, &in_bytes, &out_msgs, &out_bytes);
    int64_t now = tern_docs_now_ns();
    char id[23];
    event_id(id);
    static const char *const fmts[] = {"$SYS.SERVER.ACCOUNT.%s.CONNS",
                                       "$SYS.ACCOUNT.%s.SERVER.CONNS"};
    for (size_t i = 0; i < 2; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "type", json_string(EVT_CONNS));
        json_object_set_new(e, "id", json_string(id));
        json_object_set_new(e, "timestamp", tern_docs_time(now));
        json_object_set_new(e, "server", server_info(sa));
        json_object_set_new(e, "acc", json_string(acc->name));
        json_object_set_new(e, "conns", json_integer((json_int_t)n));
        json_object_set_new(e, "leafnodes", json_integer(0));
        json_object_set_new(e, "total_conns", json_integer((json_int_t)n));
        /* "sent": delivered to the account's clients; "received": published by them. */
        json_object_set_new(e, "sent", data_stats(out_msgs, out_bytes));
        json_object_set_new(e, "received", data_stats(in_msgs, in_bytes));
        json_object_set_new(e, "slow_consumers", json_integer(0));
        char subject[300];
        snprintf(subject, sizeof subject, fmts[i], acc->name);
        char *data = tern_docs_dumps(e, false);
        json_decref(e);
        tern_pub_args m;
        char txt[48];
        tern_route_args(&m, txt, subject, NULL, data, 0, strlen(data));
        tern_route_publish(w, sa->sys, NULL, &m);
        free(data);
    }
}

static void conns_task_run(tern_worker *w, void *arg)
{
    conns_task *t = arg;
    if (!w->stopping)
        conns_publish(w, t->sa, t->acc);
    free(t);
}

static void post_conns(tern_worker *w, tern_sysacc *sa, tern_account *acc)
{
    conns_task *t = tern_xmalloc(sizeof *t);
    t->sa = sa;
    t->acc = acc;
    tern_worker_post(w, conns_task_run, t);
}

/* ---- client events ----------------------------------------------------------- */

void tern_sysacc_client_connected(tern_client *c)
{
    tern_sysacc *sa = sysacc_of(c->w->srv);
    if (!sa || sa->closed || !c->acc)
        return;
    if (c->acc_counted)
        post_conns(c->w, sa, c->acc);
    if (c->acc == c->w->srv->gacc)  /* nats-server: no events for "$G" */
        return;
    json_t *e = typed_event(EVT_CONNECT, tern_docs_now_ns());
    json_object_set_new(e, "server", server_info(sa));
    json_object_set_new(e, "client", client_info(c, 0));
    char subject[300];
    snprintf(subject, sizeof subject, "$SYS.ACCOUNT.%s.CONNECT", c->acc->name);
    post_doc(c->w, sa->sys, subject, e);
}

static json_t *disconnect_event(tern_sysacc *sa, const tern_client *c, const char *reason)
{
    int64_t now = tern_docs_now_ns();
    json_t *e = typed_event(EVT_DISCONNECT, now);
    json_object_set_new(e, "server", server_info(sa));
    json_object_set_new(e, "client", client_info(c, now));
    /* "sent" is what the client sent: the server's inbound counters. */
    json_object_set_new(e, "sent", data_stats(c->in_msgs, c->in_bytes));
    json_object_set_new(e, "received", data_stats(c->out_msgs, c->out_bytes));
    json_object_set_new(e, "reason", json_string(reason));
    return e;
}

void tern_sysacc_client_closed(tern_client *c, tern_close_reason reason)
{
    tern_server *s = c->w->srv;
    tern_sysacc *sa = sysacc_of(s);
    if (!sa || sa->closed)
        return;
    char subject[300];
    if (reason == TERN_CLOSE_AUTH_VIOLATION) {
        snprintf(subject, sizeof subject, "$SYS.SERVER.%s.CLIENT.AUTH.ERR", s->server_id);
        post_doc(c->w, sa->sys, subject,
                 disconnect_event(sa, c, tern_close_reason_str(TERN_CLOSE_AUTH_VIOLATION)));
    }
    if (!c->acc || !c->acc_counted)
        return;
    if (tern_client_has(c, TERN_CF_CONNECT_RECEIVED) && c->acc != s->gacc) {
        snprintf(subject, sizeof subject, "$SYS.ACCOUNT.%s.DISCONNECT", c->acc->name);
        post_doc(c->w, sa->sys, subject, disconnect_event(sa, c, tern_close_reason_str(reason)));
    }
    post_conns(c->w, sa, c->acc);
}

/* ---- requests: the worker side --------------------------------------------- */

/* Token i (0-based) of subject; NULL if there are fewer. */
static char *token_dup(const char *subject, size_t len, int i)
{
    const char *p = subject, *end = subject + len;
    for (; i > 0; i--) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        if (!dot)
            return NULL;
        p = dot + 1;
    }
    const char *dot = memchr(p, '.', (size_t)(end - p));
    return tern_xstrndup(p, (size_t)((dot ? dot : end) - p));
}

/* The endpoints nats-server 2.9 subscribes to; others have no responder. */
static bool known_endpoint(const char *ep, bool by_account)
{
    static const char *const server[] = {"STATSZ", "VARZ", "CONNZ", "SUBSZ", "ROUTEZ",
                                         "GATEWAYZ", "LEAFZ", "ACCOUNTZ", "HEALTHZ", "JSZ"};
    static const char *const account[] = {"CONNZ", "SUBSZ", "LEAFZ", "JSZ", "INFO", "STATZ"};
    const char *const *l = by_account ? account : server;
    size_t n = by_account ? sizeof account / sizeof *account : sizeof server / sizeof *server;
    for (size_t i = 0; ep && i < n; i++)
        if (!strcmp(ep, l[i]))
            return true;
    return false;
}

static size_t on_request(tern_worker *w, tern_isub *sub, tern_client *from,
                         const tern_pub_args *m)
{
    (void)from;
    sub_ctx *x = sub->arg;
    tern_sysacc *sa = x->sa;
    req_job *j = tern_xcalloc(1, sizeof *j);
    j->reply_acc = x->acc;
    j->scoped = x->scoped;
    /* $SYS.REQ.SERVER.{PING,<id>}.<endpoint>, $SYS.REQ.ACCOUNT.<acc>.<endpoint> */
    j->endpoint = x->endpoint ? tern_xstrdup(x->endpoint) : token_dup(m->subject, m->subject_len, 4);
    if (x->scoped)
        j->acc = tern_xstrdup(x->acc->name);
    else if (x->by_account)
        j->acc = token_dup(m->subject, m->subject_len, 3);
    if (m->reply && m->reply_len)
        j->reply = tern_xstrndup(m->reply, m->reply_len);
    j->body_len = m->size - m->hdr_len;
    j->body = tern_xmalloc(j->body_len + 1);
    memcpy(j->body, m->data + m->hdr_len, j->body_len);
    j->body[j->body_len] = '\0';
    j->worker = w->id;
    pthread_mutex_lock(&sa->mu);
    bool known = known_endpoint(j->endpoint, x->by_account) ||
                 (x->endpoint && !strcmp(x->endpoint, "RELOAD"));
    bool queued = known && !sa->closed && sa->queued < MAX_QUEUED;
    if (queued) {
        sa->queued++;
        if (sa->tail)
            sa->tail->next = j;
        else
            sa->head = j;
        sa->tail = j;
        uv_async_send(&sa->async);
    }
    pthread_mutex_unlock(&sa->mu);
    if (!queued) {
        free(j->endpoint);
        free(j->acc);
        free(j->reply);
        free(j->body);
        free(j);
    }
    return known ? 1 : 0;  /* unknown: no responders, as nats-server */
}

/* ---- requests: the main thread ----------------------------------------------- */

/* Query parameters of the docs builders read from the request's JSON
 * options (nats-server's *Options JSON names). */
typedef struct opts_view {
    json_t     *body;       /* object or NULL */
    const char *name;       /* docs name */
    const char *acc;        /* forced account filter; NULL: from the body */
    bool        subs;       /* force the subscription listing */
    const char *cid;        /* overrides the body's cid when set */
    char        buf[64];
} opts_view;

static const char *json_text(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_true(v))
        return "true";
    if (json_is_false(v))
        return "false";
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        snprintf(buf, cap, "%.17g", json_real_value(v));
        return buf;
    }
    return NULL;
}

static const char *opts_get(void *ud, const char *param)
{
    opts_view *o = ud;
    json_t *b = o->body;
    if (!strcmp(param, "acc") && o->acc)
        return o->acc;
    if (!strcmp(param, "cid") && o->cid)
        return o->cid;
    if (!strcmp(param, "subs") && o->subs)
        return "true";
    if (!b)
        return NULL;
    if (!strcmp(param, "subs")) {
        if (json_is_true(json_object_get(b, "subscriptions_detail")))
            return "detail";
        return json_text(json_object_get(b, "subscriptions"), o->buf, sizeof o->buf);
    }
    if (!strcmp(param, "accs"))
        return json_text(json_object_get(b, "accounts"), o->buf, sizeof o->buf);
    if (!strcmp(param, "state")) { /* Go's ConnState: 0 open, 1 closed, 2 all */
        json_t *v = json_object_get(b, "state");
        if (!json_is_integer(v))
            return json_text(v, o->buf, sizeof o->buf);
        switch (json_integer_value(v)) {
        case 0: return "open";
        case 1: return "closed";
        case 2: return "all";
        default: return "invalid";
        }
    }
    if (!strcmp(param, "acc"))
        return json_text(json_object_get(b, strcmp(o->name, "connz") ? "account" : "acc"),
                         o->buf, sizeof o->buf);
    return json_text(json_object_get(b, param), o->buf, sizeof o->buf);
}

/* EventFilterOptions: a server that does not match stays silent. */
static bool filter_match(tern_server *s, json_t *body)
{
    if (!body)
        return true;
    const char *name = s->opts.name ? s->opts.name : s->server_id;
    const char *v = json_string_value(json_object_get(body, "server_name"));
    if (v && *v && !strstr(name, v))
        return false;
    v = json_string_value(json_object_get(body, "host"));
    if (v && *v && !strstr(s->opts.host ? s->opts.host : "", v))
        return false;
    v = json_string_value(json_object_get(body, "cluster"));
    if (v && *v)
        return false;       /* no cluster name without the route module */
    v = json_string_value(json_object_get(body, "domain"));
    if (v && *v)
        return false;       /* no JetStream domain */
    json_t *tags = json_object_get(body, "tags");
    if (json_is_array(tags) && json_array_size(tags) > 0)
        return false;       /* no server tags */
    return true;
}

static json_t *api_response(tern_sysacc *sa, json_t *data, int code, const char *err)
{
    json_t *r = json_object();
    json_object_set_new(r, "server", server_info(sa));
    if (code == 400) {      /* bad JSON: nats-server sends no data key */
        json_t *e = json_object();
        json_object_set_new(e, "code", json_integer(code));
        json_object_set_new(e, "description", json_string(err));
        json_object_set_new(r, "error", e);
        return r;
    }
    json_object_set_new(r, "data", data ? data : json_null());
    if (!data) {
        json_t *e = json_object();
        json_object_set_new(e, "code", json_integer(code));
        json_object_set_new(e, "description", json_string(err));
        json_object_set_new(r, "error", e);
    }
    return r;
}

static const char *server_endpoint(const char *ep)
{
    static const char *const map[][2] = {
        {"VARZ", "varz"},     {"CONNZ", "connz"},       {"SUBSZ", "subsz"},
        {"ROUTEZ", "routez"}, {"GATEWAYZ", "gatewayz"}, {"LEAFZ", "leafz"},
        {"ACCOUNTZ", "accountz"}, {"HEALTHZ", "healthz"},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(ep, map[i][0]))
            return map[i][1];
    return NULL;
}

/* AccountStatz restricted to the named accounts (names: a JSON array of
 * strings, or one name). NULL when none is left and unused ones are not
 * wanted: nats-server does not answer then. */
static json_t *account_statz(tern_server *s, const char *one, json_t *names, bool unused)
{
    json_t *doc = tern_docs_accstatz(s, unused);
    json_t *list = json_object_get(doc, "account_statz");
    bool filter = one || (json_is_array(names) && json_array_size(names) > 0);
    if (filter) {
        for (size_t i = json_array_size(list); i-- > 0;) {
            const char *acc = json_string_value(json_object_get(json_array_get(list, i), "acc"));
            bool keep = one && acc && !strcmp(acc, one);
            size_t k;
            json_t *n;
            json_array_foreach(names, k, n)
                if (acc && json_is_string(n) && !strcmp(acc, json_string_value(n)))
                    keep = true;
            if (!keep)
                json_array_remove(list, i);
        }
    }
    if (json_array_size(list) == 0 && (one || !unused)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Over $SYS, nats-server sends subsz as its whole Subsz struct even
 * when the listing is empty (over HTTP only the statistics). */
static json_t *subsz_full(tern_server *s, json_t *doc, json_t *body)
{
    if (!doc || json_object_get(doc, "server_id"))
        return doc;
    json_t *full = json_object();
    json_object_set_new(full, "server_id", json_string(s->server_id));
    json_object_set_new(full, "now", tern_docs_time(tern_docs_now_ns()));
    json_object_update(full, doc);
    json_decref(doc);
    json_t *off = json_object_get(body, "offset"), *lim = json_object_get(body, "limit");
    json_int_t limit = json_is_integer(lim) ? json_integer_value(lim) : 0;
    json_object_set_new(full, "total", json_integer(0));
    json_object_set_new(full, "offset",
                        json_integer(json_is_integer(off) ? json_integer_value(off) : 0));
    json_object_set_new(full, "limit", json_integer(limit > 0 ? limit : TERN_DOCS_DEFAULT_LIMIT));
    return full;
}

/* JetStream is not part of the kernel: nats-server's JSZ with it off. */
static json_t *jsz_disabled(tern_server *s)
{
    json_t *d = json_object();
    json_object_set_new(d, "server_id", json_string(s->server_id));
    json_object_set_new(d, "now", tern_docs_time(tern_docs_now_ns()));
    json_object_set_new(d, "disabled", json_true());
    json_t *cfg = json_object();
    json_object_set_new(cfg, "max_memory", json_integer(0));
    json_object_set_new(cfg, "max_storage", json_integer(0));
    json_object_set_new(d, "config", cfg);
    static const char *const zeros1[] = {"memory", "storage", "reserved_memory",
                                         "reserved_storage", "accounts", "ha_assets"};
    for (size_t i = 0; i < sizeof zeros1 / sizeof *zeros1; i++)
        json_object_set_new(d, zeros1[i], json_integer(0));
    json_t *api = json_object();
    json_object_set_new(api, "total", json_integer(0));
    json_object_set_new(api, "errors", json_integer(0));
    json_object_set_new(d, "api", api);
    static const char *const zeros2[] = {"streams", "consumers", "messages", "bytes"};
    for (size_t i = 0; i < sizeof zeros2 / sizeof *zeros2; i++)
        json_object_set_new(d, zeros2[i], json_integer(0));
    return d;
}

/* Whether connection cid (open or closed) is in account acc. connz's cid
 * lookup ignores the account filter (as nats-server's does, which lets an
 * account see another's connection through the imported CONNZ); here the
 * account-scoped requests keep to their account. */
static bool cid_in_account(tern_server *s, json_int_t cid, const char *acc)
{
    tern_docs_connz_opts co = {.acc = acc, .limit = 1 << 30, .state = TERN_DOCS_ALL};
    char err[256];
    json_t *doc = tern_docs_connz(s, &co, err, sizeof err);
    bool found = false;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "connections"), i, c)
        if (json_integer_value(json_object_get(c, "cid")) == cid)
            found = true;
    json_decref(doc);
    return found;
}

/* $SYS.REQ.SERVER.<id>.RELOAD (nats-server 2.10; 2.9 lacks it): the same
 * reload as SIGHUP, answered once it is over: {"server":{..}}, or with
 * "error":{"code":500,"description":why} when nothing changed. As in
 * nats-server, a request without a reply subject reloads nothing. */
static json_t *reload_answer(tern_sysacc *sa, const req_job *j)
{
    if (!j->reply)
        return NULL;
    char err[TERN_CONF_ERR_MAX] = "";
    tern_debugf("Reload requested through $SYS.REQ.SERVER.%s.RELOAD", sa->s->server_id);
    int rc = tern_server_reload(sa->s, err, sizeof err);
    json_t *r = json_object();
    json_object_set_new(r, "server", server_info(sa));
    if (rc != 0) {
        json_t *e = json_object();
        json_object_set_new(e, "code", json_integer(500));
        json_object_set_new(e, "description", json_string(err));
        json_object_set_new(r, "error", e);
    }
    return r;
}

/* The answer to one request, or NULL for none. */
static json_t *answer(tern_sysacc *sa, req_job *j, json_t *body)
{
    tern_server *s = sa->s;
    char err[256] = "";
    int status = 200;
    opts_view ov = {.body = body};
    if (!j->acc) {                        /* $SYS.REQ.SERVER.… */
        if (!strcmp(j->endpoint, "RELOAD"))
            return reload_answer(sa, j);
        if (!strcmp(j->endpoint, "STATSZ"))
            return tern_docs_statsz(s, atomic_fetch_add(&sa->seq, 1) + 1);
        if (!strcmp(j->endpoint, "JSZ"))
            return api_response(sa, jsz_disabled(s), 0, NULL);
        const char *name = server_endpoint(j->endpoint);
        if (!name)
            return NULL;
        ov.name = name;
        json_t *doc = tern_docs_get(s, name, opts_get, &ov, NULL, &status, err, sizeof err);
        if (!strcmp(name, "subsz"))
            doc = subsz_full(s, doc, body);
        return api_response(sa, doc, 500, err);
    }
    bool unused = json_is_true(json_object_get(body, "include_unused"));
    if (!strcmp(j->endpoint, "STATZ")) {
        json_t *doc;
        if (!j->scoped && !strcmp(j->acc, "PING"))
            doc = account_statz(s, NULL, json_object_get(body, "accounts"), unused);
        else
            doc = account_statz(s, j->acc, NULL, unused);
        return doc ? api_response(sa, doc, 0, NULL) : NULL;
    }
    if (!strcmp(j->endpoint, "CONNZ") || !strcmp(j->endpoint, "SUBSZ")) {
        ov.name = !strcmp(j->endpoint, "CONNZ") ? "connz" : "subsz";
        ov.acc = j->acc;
        ov.subs = !strcmp(ov.name, "subsz"); /* nats-server lists the account's */
        json_t *cid = json_object_get(body, "cid");
        if (!strcmp(ov.name, "connz") && json_is_integer(cid) && json_integer_value(cid) > 0 &&
            !cid_in_account(s, json_integer_value(cid), j->acc))
            ov.cid = "18446744073709551615"; /* no such connection */
        json_t *doc = tern_docs_get(s, ov.name, opts_get, &ov, NULL, &status, err, sizeof err);
        if (!strcmp(ov.name, "subsz"))
            doc = subsz_full(s, doc, body);
        return api_response(sa, doc, 500, err);
    }
    if (!strcmp(j->endpoint, "LEAFZ"))
        return api_response(sa, tern_docs_leafz(s), 0, NULL);
    if (!strcmp(j->endpoint, "JSZ"))
        return api_response(sa, NULL, 500, "jetstream not enabled");
    if (!strcmp(j->endpoint, "INFO")) {
        json_t *doc = tern_docs_accountz(s, j->acc, err, sizeof err);
        if (doc) {    /* the account's detail, not the list wrapper */
            json_t *detail = json_object_get(doc, "account_detail");
            if (detail) {
                json_incref(detail);
                json_decref(doc);
                doc = detail;
            }
        }
        return api_response(sa, doc, 500, err);
    }
    return NULL;
}

static void serve(tern_sysacc *sa, req_job *j)
{
    tern_server *s = sa->s;
    json_t *body = NULL, *resp = NULL;
    if (j->body_len) {
        json_error_t je;
        body = json_loadb(j->body, j->body_len, 0, &je);
        if (!body || !json_is_object(body)) {
            json_decref(body);
            resp = api_response(sa, NULL, 400, je.text[0] ? je.text : "invalid request options");
            body = NULL;
            goto send;
        }
    }
    if (!filter_match(s, body))
        goto out;
    resp = answer(sa, j, body);
send:
    if (!resp)
        goto out;
    if (j->reply) {
        post_doc(&s->workers[j->worker], j->reply_acc, j->reply, resp);
    } else if (!strcmp(j->endpoint, "STATSZ") && !j->acc) {
        /* a PING without a reply: the answer goes on our STATSZ subject */
        char subject[128];
        snprintf(subject, sizeof subject, "$SYS.SERVER.%s.STATSZ", s->server_id);
        post_doc(&s->workers[j->worker], sa->sys, subject, resp);
    } else {
        json_decref(resp);
    }
out:
    json_decref(body);
}

static void job_free(req_job *j)
{
    free(j->endpoint);
    free(j->acc);
    free(j->reply);
    free(j->body);
    free(j);
}

static void on_async(uv_async_t *h)
{
    tern_sysacc *sa = h->data;
    pthread_mutex_lock(&sa->mu);
    req_job *j = sa->head;
    sa->head = sa->tail = NULL;
    sa->queued = 0;
    pthread_mutex_unlock(&sa->mu);
    while (j) {
        req_job *next = j->next;
        if (!sa->stopped)
            serve(sa, j);
        job_free(j);
        j = next;
    }
}

/* ---- timers ------------------------------------------------------------------- */

static void on_statsz_timer(uv_timer_t *t)
{
    tern_sysacc *sa = t->data;
    tern_server *s = sa->s;
    char subject[128];
    snprintf(subject, sizeof subject, "$SYS.SERVER.%s.STATSZ", s->server_id);
    post_doc(&s->workers[0], sa->sys, subject,
             tern_docs_statsz(s, atomic_fetch_add(&sa->seq, 1) + 1));
    if (sa->statsz_ms < STATSZ_MAX_MS) {
        sa->statsz_ms *= 2;
        if (sa->statsz_ms > STATSZ_MAX_MS)
            sa->statsz_ms = STATSZ_MAX_MS;
        uv_timer_start(&sa->statsz_timer, on_statsz_timer, sa->statsz_ms, 0);
    } else {
        uv_timer_start(&sa->statsz_timer, on_statsz_timer, STATSZ_MAX_MS, 0);
    }
}

static void on_conns_timer(uv_timer_t *t)
{
    tern_sysacc *sa = t->data;
    tern_accounts *r = &sa->s->accounts;
    for (size_t i = 0; i < r->n; i++)
        if (atomic_load_explicit(&r->accs[i]->nconns, memory_order_relaxed) > 0)
            post_conns(&sa->s->workers[0], sa, r->accs[i]);
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void subscribe(tern_sysacc *sa, tern_account *acc, const char *subject,
                      const char *endpoint, bool scoped, bool by_account)
{
    sub_ctx *x = tern_xcalloc(1, sizeof *x);
    x->sa = sa;
    x->acc = acc;
    x->endpoint = endpoint;
    x->scoped = scoped;
    x->by_account = by_account;
    tern_isub *sub = tern_isub_add(acc, subject, NULL, on_request, x);
    if (!sub) {
        tern_errorf("system account: cannot subscribe to %s", subject);
        free(x);
        return;
    }
    sa->ctxs = tern_xrealloc(sa->ctxs, (sa->nctxs + 1) * sizeof *sa->ctxs);
    sa->ctxs[sa->nctxs++] = x;
    sa->isubs = tern_xrealloc(sa->isubs, (sa->nisubs + 1) * sizeof *sa->isubs);
    sa->isubs[sa->nisubs++] = sub;
}

static void on_handle_closed(uv_handle_t *h)
{
    tern_sysacc *sa = h->data;
    if (--sa->handles_open == 0 && sa->freeing)
        tern_sysacc_free(sa->s);
}

/* nats-server 2.9's automatic imports: every other account reaches its
 * own connz and statz, and nothing else of $SYS. Accounts that have them
 * already (also one a reload removed and brought back) are skipped. */
static void auto_imports(tern_sysacc *sa)
{
    tern_server *s = sa->s;
    for (size_t i = 0; i < s->accounts.n; i++) {
        tern_account *a = s->accounts.accs[i];
        bool done = a == sa->sys;
        for (size_t k = 0; k < sa->nctxs && !done; k++)
            done = sa->ctxs[k]->acc == a && sa->ctxs[k]->scoped;
        if (done)
            continue;
        subscribe(sa, a, "$SYS.REQ.ACCOUNT.PING.CONNZ", "CONNZ", true, true);
        subscribe(sa, a, "$SYS.REQ.SERVER.PING.CONNZ", "CONNZ", true, true);
        subscribe(sa, a, "$SYS.REQ.ACCOUNT.PING.STATZ", "STATZ", true, true);
    }
}

void tern_sysacc_accounts_changed(tern_server *s)
{
    tern_sysacc *sa = sysacc_of(s);
    if (sa && !sa->stopped)
        auto_imports(sa);
}

int tern_sysacc_start(tern_server *s)
{
    tern_account *sys = s->accounts.system;
    if (!sys || s->sysacc)
        return sys ? 0 : -1;
    if (sodium_init() < 0)
        return -1;
    tern_sysacc *sa = tern_xcalloc(1, sizeof *sa);
    sa->s = s;
    sa->sys = sys;
    pthread_mutex_init(&sa->mu, NULL);
    uv_async_init(&s->loop, &sa->async, on_async);
    uv_timer_init(&s->loop, &sa->statsz_timer);
    uv_timer_init(&s->loop, &sa->conns_timer);
    sa->async.data = sa->statsz_timer.data = sa->conns_timer.data = sa;
    sa->handles_open = 3;
    /* The main loop ends when the server shuts down, not for these. */
    uv_unref((uv_handle_t *)&sa->async);
    uv_unref((uv_handle_t *)&sa->statsz_timer);
    uv_unref((uv_handle_t *)&sa->conns_timer);
    s->sysacc = sa;

    char subject[160];
    subscribe(sa, sys, "$SYS.REQ.SERVER.PING", "STATSZ", false, false);
    subscribe(sa, sys, "$SYS.REQ.SERVER.PING.*", NULL, false, false);
    snprintf(subject, sizeof subject, "$SYS.REQ.SERVER.%s.*", s->server_id);
    subscribe(sa, sys, subject, NULL, false, false);
    /* Its own subscription, as nats-server: never reached through PING. */
    snprintf(subject, sizeof subject, "$SYS.REQ.SERVER.%s.RELOAD", s->server_id);
    subscribe(sa, sys, subject, "RELOAD", false, false);
    subscribe(sa, sys, "$SYS.REQ.ACCOUNT.*.*", NULL, false, true);
    auto_imports(sa);
    sa->statsz_ms = STATSZ_FIRST_MS;
    uv_timer_start(&sa->statsz_timer, on_statsz_timer, STATSZ_FIRST_MS, 0);
    uv_timer_start(&sa->conns_timer, on_conns_timer, CONNS_HB_MS, CONNS_HB_MS);
    return 0;
}

static void close_handles(tern_sysacc *sa)
{
    pthread_mutex_lock(&sa->mu);
    sa->closed = true;
    pthread_mutex_unlock(&sa->mu);
    uv_close((uv_handle_t *)&sa->async, on_handle_closed);
    uv_close((uv_handle_t *)&sa->statsz_timer, on_handle_closed);
    uv_close((uv_handle_t *)&sa->conns_timer, on_handle_closed);
}

/* LAMEDUCK and SHUTDOWN carry the bare ServerInfo. */
static void post_server_event(tern_sysacc *sa, const char *what)
{
    char subject[160];
    snprintf(subject, sizeof subject, "$SYS.SERVER.%s.%s", sa->s->server_id, what);
    post_doc(&sa->s->workers[0], sa->sys, subject, server_info(sa));
}

void tern_sysacc_lame_duck(tern_server *s)
{
    tern_sysacc *sa = sysacc_of(s);
    if (sa && !sa->stopped)
        post_server_event(sa, "LAMEDUCK");
}

void tern_sysacc_stop(tern_server *s)
{
    tern_sysacc *sa = sysacc_of(s);
    if (!sa || sa->stopped)
        return;
    sa->stopped = true;
    post_server_event(sa, "SHUTDOWN");
    for (size_t i = 0; i < sa->nisubs; i++)
        tern_isub_remove(s, sa->isubs[i]);
    sa->nisubs = 0;   /* the workers reclaim them */
    close_handles(sa);
}

void tern_sysacc_free(tern_server *s)
{
    tern_sysacc *sa = sysacc_of(s);
    if (!sa)
        return;
    if (!sa->stopped) { /* never ran: the workers are gone already */
        sa->stopped = true;
        for (size_t i = 0; i < sa->nisubs; i++)
            tern_isub_free(sa->isubs[i]);
        sa->nisubs = 0;
        close_handles(sa);
    }
    if (sa->handles_open > 0) { /* the loop's close callbacks finish it */
        sa->freeing = true;
        return;
    }
    s->sysacc = NULL;
    req_job *j = sa->head;
    while (j) {
        req_job *next = j->next;
        job_free(j);
        j = next;
    }
    for (size_t i = 0; i < sa->nctxs; i++)
        free(sa->ctxs[i]);
    free(sa->ctxs);
    free(sa->isubs);
    pthread_mutex_destroy(&sa->mu);
    free(sa);
}
