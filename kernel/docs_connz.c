/* /connz: open connections from the workers' snapshots, closed ones from
 * the ring, filtered, sorted and paged as nats-server 2.9.10's Connz()
 * does, quirks included (total counts before the user filter; cid with
 * state=all looks only at closed connections). */
#include "docs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "server.h"
#include "xalloc.h"

typedef enum sort_key {
    BY_CID, BY_SUBS, BY_PENDING, BY_MSGS_TO, BY_MSGS_FROM, BY_BYTES_TO, BY_BYTES_FROM,
    BY_LAST, BY_IDLE, BY_UPTIME, BY_STOP, BY_REASON,
} sort_key;

static const struct {
    const char *name;
    sort_key    key;
} sort_names[] = {
    {"cid", BY_CID},          {"start", BY_CID},          {"subs", BY_SUBS},
    {"pending", BY_PENDING},  {"msgs_to", BY_MSGS_TO},    {"msgs_from", BY_MSGS_FROM},
    {"bytes_to", BY_BYTES_TO}, {"bytes_from", BY_BYTES_FROM}, {"last", BY_LAST},
    {"idle", BY_IDLE},        {"uptime", BY_UPTIME},      {"stop", BY_STOP},
    {"reason", BY_REASON},
};

static void errf(char *err, size_t errlen, const char *fmt, const char *arg)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, arg);
}

int tern_docs_connz_parse(tern_docs_param_fn get, void *ud, tern_docs_connz_opts *o,
                          char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->sort = tern_docs_param(get, ud, "sort");
    /* nats-server's order of checks, so the first bad parameter is named. */
    if (tern_docs_param_bool(get, ud, "auth", &o->auth, err, errlen) != 0)
        return -1;
    const char *subs = tern_docs_param(get, ud, "subs");
    if (subs && !strcasecmp(subs, "detail"))
        o->subs_detail = true;
    else if (tern_docs_param_bool(get, ud, "subs", &o->subs, err, errlen) != 0)
        return -1;
    if (tern_docs_param_int(get, ud, "offset", &o->offset, err, errlen) != 0 ||
        tern_docs_param_int(get, ud, "limit", &o->limit, err, errlen) != 0 ||
        tern_docs_param_u64(get, ud, "cid", &o->cid, err, errlen) != 0)
        return -1;
    const char *state = tern_docs_param(get, ud, "state");
    if (!state || !strcasecmp(state, "open"))
        o->state = TERN_DOCS_OPEN;
    else if (!strcasecmp(state, "closed"))
        o->state = TERN_DOCS_CLOSED;
    else if (!strcasecmp(state, "any") || !strcasecmp(state, "all"))
        o->state = TERN_DOCS_ALL;
    else {
        errf(err, errlen, "Error decoding state for %s", state);
        return -1;
    }
    o->user = tern_docs_param(get, ud, "user");
    o->acc = tern_docs_param(get, ud, "acc");
    o->mqtt_client = tern_docs_param(get, ud, "mqtt_client");
    return 0;
}

/* ---- sorting ------------------------------------------------------------- */

typedef struct sort_ctx {
    sort_key key;
    int64_t  now;
} sort_ctx;

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }
static int cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

static int64_t uptime_of(const tern_docs_conn *c, int64_t now)
{
    return (c->stop_ns ? c->stop_ns : now) - c->start_ns;
}

/* Ties go by cid so pages are stable (Go's sort is not, so any order of
 * equal keys is nats-server's too). */
static int cmp_conn(const void *pa, const void *pb, void *arg)
{
    const tern_docs_conn *a = *(tern_docs_conn *const *)pa, *b = *(tern_docs_conn *const *)pb;
    const sort_ctx *ctx = arg;
    int r = 0;
    switch (ctx->key) {
    case BY_CID: break;
    case BY_SUBS: r = -cmp_u64(a->nsubs, b->nsubs); break;
    case BY_PENDING: r = -cmp_i64(a->pending, b->pending); break;
    case BY_MSGS_TO: r = -cmp_u64(a->out_msgs, b->out_msgs); break;
    case BY_MSGS_FROM: r = -cmp_u64(a->in_msgs, b->in_msgs); break;
    case BY_BYTES_TO: r = -cmp_u64(a->out_bytes, b->out_bytes); break;
    case BY_BYTES_FROM: r = -cmp_u64(a->in_bytes, b->in_bytes); break;
    case BY_LAST: r = -cmp_i64(a->last_ns, b->last_ns); break;
    /* nats-server orders "idle" by last activity minus start, descending. */
    case BY_IDLE: r = -cmp_i64(a->last_ns - a->start_ns, b->last_ns - b->start_ns); break;
    case BY_UPTIME: r = cmp_i64(uptime_of(a, ctx->now), uptime_of(b, ctx->now)); break;
    case BY_STOP: r = -cmp_i64(a->stop_ns, b->stop_ns); break;
    case BY_REASON: r = strcmp(a->reason ? a->reason : "", b->reason ? b->reason : ""); break;
    }
    return r ? r : cmp_u64(a->cid, b->cid);
}

/* ---- output -------------------------------------------------------------- */

static void put_str(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, tern_docs_str(v));
}

static json_t *sub_detail(const tern_docs_sub *s, uint64_t cid, const char *account)
{
    json_t *d = json_object();
    put_str(d, "account", account);
    json_object_set_new(d, "subject", tern_docs_str(s->subject));
    put_str(d, "qgroup", s->queue);
    json_object_set_new(d, "sid", tern_docs_str(s->sid));
    json_object_set_new(d, "msgs", json_integer((json_int_t)s->msgs));
    if (s->max)
        json_object_set_new(d, "max", json_integer((json_int_t)s->max));
    json_object_set_new(d, "cid", json_integer((json_int_t)cid));
    return d;
}

static json_t *conn_info(const tern_docs_conn *c, const tern_docs_connz_opts *o, int64_t now)
{
    bool closed = c->stop_ns != 0;
    int64_t end = closed ? c->stop_ns : now;
    char tmp[64];
    json_t *ci = json_object();
    json_object_set_new(ci, "cid", json_integer((json_int_t)c->cid));
    json_object_set_new(ci, "kind", json_string("Client"));
    json_object_set_new(ci, "type", json_string("nats"));
    json_object_set_new(ci, "ip", json_string(c->port ? c->ip : ""));
    json_object_set_new(ci, "port", json_integer(c->port));
    json_object_set_new(ci, "start", tern_docs_time(c->start_ns));
    json_object_set_new(ci, "last_activity", tern_docs_time(c->last_ns));
    if (closed) {
        json_object_set_new(ci, "stop", tern_docs_time(c->stop_ns));
        put_str(ci, "reason", c->reason);
    }
    /* RTT under a millisecond is shown in whole microseconds. */
    int64_t rtt = c->rtt_ns;
    if (rtt > 1000 && rtt < 1000000)
        rtt -= rtt % 1000;
    tern_docs_go_duration(rtt, tmp, sizeof tmp);
    json_object_set_new(ci, "rtt", json_string(tmp));
    tern_docs_uptime(end - c->start_ns, tmp, sizeof tmp);
    json_object_set_new(ci, "uptime", json_string(tmp));
    tern_docs_uptime(end - c->last_ns, tmp, sizeof tmp);
    json_object_set_new(ci, "idle", json_string(tmp));
    json_object_set_new(ci, "pending_bytes", json_integer(c->pending));
    json_object_set_new(ci, "in_msgs", json_integer((json_int_t)c->in_msgs));
    json_object_set_new(ci, "out_msgs", json_integer((json_int_t)c->out_msgs));
    json_object_set_new(ci, "in_bytes", json_integer((json_int_t)c->in_bytes));
    json_object_set_new(ci, "out_bytes", json_integer((json_int_t)c->out_bytes));
    json_object_set_new(ci, "subscriptions", json_integer(c->nsubs));
    put_str(ci, "name", c->name);
    put_str(ci, "lang", c->lang);
    put_str(ci, "version", c->version);
    put_str(ci, "tls_version", c->tls_version);
    put_str(ci, "tls_cipher_suite", c->tls_cipher);
    if (o->auth) {
        put_str(ci, "authorized_user", c->auth_user);
        if (c->account && strcmp(c->account, TERN_GLOBAL_ACCOUNT) != 0)
            put_str(ci, "account", c->account);
    }
    if (c->nsubs_copied && o->subs_detail) {
        json_t *l = json_array();
        /* A closed connection's details were recorded with the account. */
        for (size_t i = 0; i < c->nsubs_copied; i++)
            json_array_append_new(l, sub_detail(&c->subs[i], c->cid, closed ? c->account : NULL));
        json_object_set_new(ci, "subscriptions_list_detail", l);
    } else if (c->nsubs_copied && o->subs) {
        json_t *l = json_array();
        for (size_t i = 0; i < c->nsubs_copied; i++)
            json_array_append_new(l, tern_docs_str(c->subs[i].subject));
        json_object_set_new(ci, "subscriptions_list", l);
    }
    return ci;
}

static bool str_eq(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

/* The user and MQTT filters (the account one decides the scope). */
static bool passes(const tern_docs_conn *c, const tern_docs_connz_opts *o, bool closed)
{
    if (o->acc && *o->acc && !str_eq(c->account, o->acc))
        return false;
    if (o->user && *o->user && !str_eq(closed ? c->auth_user : c->username, o->user))
        return false;
    if (o->mqtt_client && *o->mqtt_client) /* no MQTT connections here */
        return false;
    return true;
}

json_t *tern_docs_connz(tern_server *s, const tern_docs_connz_opts *o, char *err, size_t errlen)
{
    sort_key key = BY_CID;
    if (o->sort && *o->sort) {
        size_t i = 0, n = sizeof sort_names / sizeof *sort_names;
        while (i < n && strcmp(sort_names[i].name, o->sort) != 0)
            i++;
        if (i == n) {
            errf(err, errlen, "invalid sorting option: %s", o->sort);
            return NULL;
        }
        key = sort_names[i].key;
    }
    if (key == BY_STOP && o->state != TERN_DOCS_CLOSED) {
        errf(err, errlen, "%s", "sort by stop only valid on closed connections");
        return NULL;
    }
    if (key == BY_REASON && o->state != TERN_DOCS_CLOSED) {
        errf(err, errlen, "%s", "sort by reason only valid on closed connections");
        return NULL;
    }
    int offset = o->offset < 0 ? 0 : o->offset;
    int limit = o->limit <= 0 ? TERN_DOCS_DEFAULT_LIMIT : o->limit;
    if (o->cid > 0)
        limit = 1;
    bool by_acc = o->acc && *o->acc;

    int64_t now = tern_docs_now_ns();
    json_t *doc = json_object();
    json_t *conns = NULL;
    size_t total = 0, returned = 0;
    tern_docs_snapshot snap = {0};
    tern_docs_conn *closed = NULL;
    size_t nclosed = 0;
    tern_docs_conn **list = NULL;
    size_t nlist = 0;

    tern_account *const *accs;
    size_t naccs = tern_docs_accounts(s, &accs);
    bool acc_known = !by_acc;
    for (size_t i = 0; i < naccs && !acc_known; i++)
        acc_known = !strcmp(accs[i]->name, o->acc);
    if (!acc_known) { /* nats-server answers an empty page without an id */
        json_object_set_new(doc, "server_id", json_string(""));
        json_object_set_new(doc, "now", tern_docs_time(now));
        json_object_set_new(doc, "num_connections", json_integer(0));
        json_object_set_new(doc, "total", json_integer(0));
        json_object_set_new(doc, "offset", json_integer(offset));
        json_object_set_new(doc, "limit", json_integer(limit));
        json_object_set_new(doc, "connections", json_null());
        return doc;
    }

    if (o->state != TERN_DOCS_CLOSED) {
        unsigned flags = TERN_DOCS_SNAP_CONNS;
        if (o->subs || o->subs_detail)
            flags |= TERN_DOCS_SNAP_SUBS;
        tern_docs_snapshot_take(s, flags, TERN_DOCS_WAIT_MS, &snap);
        for (size_t i = 0; i < snap.n; i++)
            if (!by_acc || str_eq(snap.conns[i].account, o->acc))
                total++;
    }
    if (o->state != TERN_DOCS_OPEN) {
        nclosed = tern_docs_closed_copy(&closed);
        for (size_t i = 0; i < nclosed; i++)
            if (!by_acc || str_eq(closed[i].account, o->acc))
                total++;
    }
    list = tern_xcalloc(snap.n + nclosed + 1, sizeof *list);
    if (o->cid > 0) {
        if (o->state != TERN_DOCS_OPEN) {
            for (size_t i = 0; i < nclosed && !nlist; i++)
                if (closed[i].cid == o->cid)
                    list[nlist++] = &closed[i];
        } else {
            for (size_t i = 0; i < snap.n && !nlist; i++)
                if (snap.conns[i].cid == o->cid)
                    list[nlist++] = &snap.conns[i];
        }
    } else {
        for (size_t i = 0; i < snap.n; i++)
            if (passes(&snap.conns[i], o, false))
                list[nlist++] = &snap.conns[i];
        for (size_t i = 0; i < nclosed; i++)
            if (passes(&closed[i], o, true))
                list[nlist++] = &closed[i];
    }

    conns = json_array();
    if (nlist) {
        sort_ctx ctx = {key, now};
        qsort_r(list, nlist, sizeof *list, cmp_conn, &ctx);
        size_t lo = (size_t)offset < nlist ? (size_t)offset : nlist;
        size_t hi = (size_t)offset + (size_t)limit < nlist ? (size_t)offset + (size_t)limit : nlist;
        for (size_t i = lo; i < hi; i++)
            json_array_append_new(conns, conn_info(list[i], o, now));
        returned = hi - lo;
    }
    json_object_set_new(doc, "server_id", json_string(s->server_id));
    json_object_set_new(doc, "now", tern_docs_time(now));
    json_object_set_new(doc, "num_connections", json_integer((json_int_t)returned));
    json_object_set_new(doc, "total", json_integer((json_int_t)total));
    json_object_set_new(doc, "offset", json_integer(offset));
    json_object_set_new(doc, "limit", json_integer(limit));
    json_object_set_new(doc, "connections", conns);

    free(list);
    for (size_t i = 0; i < nclosed; i++)
        tern_docs_conn_clear(&closed[i]);
    free(closed);
    tern_docs_snapshot_free(&snap);
    return doc;
}
