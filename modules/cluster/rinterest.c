/* The interest routes are told (RS+/RS-): per (account, subject, queue)
 * the sum of local interest and that of the leaf nodes this server is
 * the hub for (the "leaf" protocol), as nats-server forwards a leaf
 * connection's subscriptions like a client's. Interest of other links —
 * routes, gateways, this server's own hubs ("leaf-spoke") — is never
 * re-announced.
 *
 * The sums are kept in c->agg, changed and announced under mu in one
 * step, so a new route's dump taken from it under mu, then the events
 * after it, leave the peer with the current state. */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The link protocol of the leafnode module's accepted connections. */
#define CL_LEAF_SOURCE "leaf"

enum { AGG_ACC, AGG_SUBJ, AGG_QUEUE, AGG_LOCAL, AGG_LEAF };

static char *agg_key(const char *account, const char *subject, const char *queue)
{
    size_t n = strlen(account) + strlen(subject) + (queue ? strlen(queue) : 0) + 3;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s %s%s%s", account, subject, queue ? " " : "", queue ? queue : "");
    return k;
}

static uint64_t agg_sum(const json_t *e)
{
    return (uint64_t)json_integer_value(json_array_get(e, AGG_LOCAL)) +
           (uint64_t)json_integer_value(json_array_get(e, AGG_LEAF));
}

/* Interest-only broadcast: a route still waiting for its dump is
 * skipped, the dump (taken later from c->agg) includes the change. */
static void broadcast_interest_locked(cl *c, const tern_wire_buf *b)
{
    if (!b->len || b->oom)
        return;
    for (cl_route *r = c->routes; r; r = r->next)
        if (r->state == CL_R_REGISTERED && !r->dumping)
            c->api->conn_write(c->m, r->id, b->b, b->len);
}

/* Under mu: the count of one source (slot) of a key is now count;
 * announce what changes for the sum. */
static void agg_set_locked(cl *c, const char *account, const char *subject, const char *queue,
                           int slot, uint32_t count)
{
    char *k = agg_key(account, subject, queue);
    if (!k)
        return;
    json_t *e = json_object_get(c->agg, k);
    if (!e && count) {
        e = json_pack("[s,s,s?,i,i]", account, subject, queue, (json_int_t)0, (json_int_t)0);
        if (!e || json_object_set_new(c->agg, k, e) < 0) {
            free(k);
            return;
        }
    }
    if (!e) {
        free(k);
        return;
    }
    uint64_t before = agg_sum(e);
    json_array_set_new(e, (size_t)slot, json_integer(count));
    uint64_t after = agg_sum(e);
    uint32_t weight = after > UINT32_MAX ? UINT32_MAX : (uint32_t)after;
    tern_wire_buf b = { .b = NULL };
    /* cluster.permissions import: interest in what this server may not
     * receive is not announced (workers run, so no reload changes conf) */
    if (before != after && cl_perm_allows(&c->conf.import_, subject)) {
        if (!after)
            tern_wire_frame_unsub(&b, account, subject, queue);
        else if (queue || !before)
            tern_wire_frame_sub(&b, account, subject, queue, weight);
    }
    broadcast_interest_locked(c, &b);
    tern_wire_buf_free(&b);
    if (!after)
        json_object_del(c->agg, k);
    free(k);
}

tern_verdict cl_on_interest(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    cl *c = ud;
    const tern_evt_interest *ev = (const tern_evt_interest *)hdr;
    const char *source_name =
        hdr->size >= offsetof(tern_evt_interest, source_name) + sizeof ev->source_name
            ? ev->source_name
            : NULL;
    int slot;
    if (ev->source == 0)
        slot = AGG_LOCAL;
    else if (source_name && !strcmp(source_name, CL_LEAF_SOURCE))
        slot = AGG_LEAF;
    else
        return TERN_VERDICT_IGNORE;
    pthread_mutex_lock(&c->mu);
    agg_set_locked(c, ev->account, ev->subject, ev->queue, slot,
                   hdr->evt == TERN_EVT_INTEREST_ADDED ? ev->count : 0);
    pthread_mutex_unlock(&c->mu);
    return TERN_VERDICT_IGNORE;
}

typedef struct walk_ctx {
    cl *c;
    int slot;
} walk_ctx;

static void walk_one(const char *account, const char *subject, const char *queue,
                     uint32_t count, void *ud)
{
    walk_ctx *w = ud;
    pthread_mutex_lock(&w->c->mu);
    agg_set_locked(w->c, account, subject, queue, w->slot, count);
    pthread_mutex_unlock(&w->c->mu);
}

void cl_interest_refresh(cl *c)
{
    /* The walks run under the kernel's interest lock: what they report
     * is at least as new as every event already handled. A key that is
     * gone keeps its count until its REMOVED event, which is never lost
     * once the hooks are in. */
    walk_ctx lw = { c, AGG_LOCAL };
    c->api->interest_walk(c->m, NULL, walk_one, &lw);
    if (TERN_API_HAS(c->api, interest_walk_source)) {
        walk_ctx fw = { c, AGG_LEAF };
        /* TERN_ENOENT: no leafnode module (yet): nothing to add */
        c->api->interest_walk_source(c->m, NULL, CL_LEAF_SOURCE, walk_one, &fw);
    }
}

void cl_interest_dump_locked(cl *c, tern_wire_buf *b)
{
    const char *k;
    json_t *e;
    json_object_foreach(c->agg, k, e) {
        const char *subject = json_string_value(json_array_get(e, AGG_SUBJ));
        uint64_t sum = agg_sum(e);
        if (!sum || !cl_perm_allows(&c->conf.import_, subject))
            continue;
        tern_wire_frame_sub(b, json_string_value(json_array_get(e, AGG_ACC)), subject,
                            json_string_value(json_array_get(e, AGG_QUEUE)),
                            sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum);
    }
}
