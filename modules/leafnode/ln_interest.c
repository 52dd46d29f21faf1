/* What each leaf connection is told: the interest of its bound account,
 * mirrored from the kernel's interest events (local interest, and that
 * of routes and gateways) plus the other leaf connections' interest,
 * which this module sets itself. A hub tells a leaf everything but the
 * leaf's own interest; a spoke tells its hub only local interest and
 * that of the leafs it is the hub for (nats-server's rules). */
#include "ln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- subjects ------------------------------------------------------------ */

bool ln_subject_matches(const char *pattern, const char *subject)
{
    const char *p = pattern, *s = subject;
    for (;;) {
        size_t pl = strcspn(p, "."), sl = strcspn(s, ".");
        if (pl == 1 && p[0] == '>')
            return sl > 0;
        if (!(pl == 1 && p[0] == '*') && (pl != sl || memcmp(p, s, pl)))
            return false;
        p += pl;
        s += sl;
        if (!*p || !*s)
            return !*p && !*s;
        p++, s++;
    }
}

bool ln_denied(char *const *list, size_t n, const char *subject)
{
    for (size_t i = 0; i < n; i++)
        if (ln_subject_matches(list[i], subject))
            return true;
    return false;
}

/* ---- the mirror ---------------------------------------------------------- */

static void conn_key(char *out, size_t n, const char *subject, const char *queue)
{
    snprintf(out, n, "%s%s%s", subject, queue ? " " : "", queue ? queue : "");
}

static char *acc_key(const char *account, const char *subject, const char *queue)
{
    size_t n = strlen(account) + strlen(subject) + (queue ? strlen(queue) : 0) + 3;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s\x1f%s%s%s", account, subject, queue ? "\x1f" : "", queue ? queue : "");
    return k;
}

static void mirror_set_locked(ln *l, const char *account, const char *subject,
                              const char *queue, uint32_t source, uint32_t count)
{
    char *k = acc_key(account, subject, queue);
    if (!k)
        return;
    char src[16];
    snprintf(src, sizeof src, "%u", source);
    json_t *e = json_object_get(l->interest, k);
    if (!e && count) {
        e = json_pack("{s:s,s:s,s:o}", "a", account, "s", subject, "src", json_object());
        if (e && queue)
            json_object_set_new(e, "q", json_string(queue));
        if (e)
            json_object_set_new(l->interest, k, e);
    }
    if (e) {
        json_t *srcs = json_object_get(e, "src");
        if (count)
            json_object_set_new(srcs, src, json_integer(count));
        else
            json_object_del(srcs, src);
        if (!json_object_size(srcs))
            json_object_del(l->interest, k);
    }
    free(k);
}

const char *ln_lds_locked(ln *l, const char *account)
{
    const char *s = json_string_value(json_object_get(l->lds, account));
    if (s)
        return s;
    char nuid[23], subj[32];
    ln_random_text(nuid, sizeof nuid);
    snprintf(subj, sizeof subj, "$LDS.%s", nuid);
    json_object_set_new(l->lds, account, json_string(subj));
    return json_string_value(json_object_get(l->lds, account));
}

/* Two leafs of one remote cluster (the CONNECTs named it) on this hub:
 * neither is told the other's interest. Each server of that cluster
 * reaches the other's subscribers over its routes, and the kernel never
 * passes a message between them (link_group), so interest announced
 * there would only draw messages (a queue group's pick among them) that
 * this hub must drop. */
static bool ln_same_cluster(const ln_conn *c, const ln_conn *x)
{
    return !c->outbound && !x->outbound && c->remote_cluster && x->remote_cluster &&
           !strcmp(c->remote_cluster, x->remote_cluster);
}

/* How much of key (account of c) c's peer must know: a count for a queue
 * group (its weight), > 0 for plain interest. */
static uint32_t desired_locked(ln *l, const ln_conn *c, const char *subject, const char *queue)
{
    if (c->ndeny_sub && ln_denied(c->deny_sub, c->ndeny_sub, subject))
        return 0;
    uint64_t total = 0;
    char *k = acc_key(c->account, subject, queue);
    json_t *e = k ? json_object_get(l->interest, k) : NULL;
    free(k);
    const char *src;
    json_t *v;
    json_object_foreach(json_object_get(e, "src"), src, v) {
        /* a spoke announces local interest only */
        if (c->outbound && strcmp(src, "0"))
            continue;
        total += (uint64_t)json_integer_value(v);
    }
    char ck[1024];
    conn_key(ck, sizeof ck, subject, queue);
    for (const ln_conn *x = l->conns; x; x = x->next) {
        if (x == c || x->state != LN_S_REGISTERED || strcmp(x->account, c->account))
            continue;
        if (c->outbound && x->outbound)
            continue;
        if (ln_same_cluster(c, x))
            continue;
        total += (uint64_t)json_integer_value(json_object_get(x->rsubs, ck));
    }
    return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

static void sync_key_locked(ln *l, ln_conn *c, const char *subject, const char *queue,
                            tern_wire_buf *b)
{
    char ck[1024];
    conn_key(ck, sizeof ck, subject, queue);
    uint32_t want = desired_locked(l, c, subject, queue);
    uint32_t have = (uint32_t)json_integer_value(json_object_get(c->smap, ck));
    if (!queue && want)
        want = 1;
    if (want == have)
        return;
    if (want) {
        tern_wire_frame_leaf_sub(b, subject, queue, want);
        json_object_set_new(c->smap, ck, json_integer(want));
    } else {
        tern_wire_frame_leaf_unsub(b, subject, queue);
        json_object_del(c->smap, ck);
    }
}

static void flush_locked(ln *l, ln_conn *c, tern_wire_buf *b)
{
    if (b->len && !b->oom)
        l->api->conn_write(l->m, c->id, b->b, b->len);
    tern_wire_buf_reset(b);
}

void ln_interest_changed_locked(ln *l, const char *account, const char *subject, const char *queue)
{
    tern_wire_buf b = { .b = NULL };
    for (ln_conn *c = l->conns; c; c = c->next) {
        if (c->state != LN_S_REGISTERED || strcmp(c->account, account))
            continue;
        sync_key_locked(l, c, subject, queue, &b);
        flush_locked(l, c, &b);
    }
    tern_wire_buf_free(&b);
}

void ln_interest_dump_locked(ln *l, ln_conn *c)
{
    tern_wire_buf b = { .b = NULL };
    /* loop detection first, as nats-server (its $LDS subscription) */
    const char *lds = ln_lds_locked(l, c->account);
    if (lds && !json_object_get(c->smap, lds)) {
        tern_wire_frame_leaf_sub(&b, lds, NULL, 0);
        json_object_set_new(c->smap, lds, json_integer(1));
    }
    size_t alen = strlen(c->account);
    const char *k;
    json_t *e;
    json_object_foreach(l->interest, k, e) {
        if (strncmp(k, c->account, alen) || k[alen] != '\x1f')
            continue;
        sync_key_locked(l, c, json_string_value(json_object_get(e, "s")),
                        json_string_value(json_object_get(e, "q")), &b);
    }
    for (ln_conn *x = l->conns; x; x = x->next) {
        if (x == c || x->state != LN_S_REGISTERED || strcmp(x->account, c->account) ||
            ln_same_cluster(c, x))
            continue;
        json_t *v;
        json_object_foreach(x->rsubs, k, v) {
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "%s", k);
            char *sp = strchr(tmp, ' ');
            if (sp)
                *sp++ = '\0';
            sync_key_locked(l, c, tmp, sp, &b);
        }
    }
    flush_locked(l, c, &b);
    tern_wire_buf_free(&b);
}

/* ---- events ---------------------------------------------------------------- */

tern_verdict ln_on_interest(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    ln *l = ud;
    const tern_evt_interest *ev = (const tern_evt_interest *)hdr;
    /* our own links' interest is set where it is received */
    if (ev->source == l->proto || ev->source == l->proto_spoke)
        return TERN_VERDICT_IGNORE;
    uint32_t count = hdr->evt == TERN_EVT_INTEREST_ADDED ? ev->count : 0;
    pthread_mutex_lock(&l->mu);
    mirror_set_locked(l, ev->account, ev->subject, ev->queue, ev->source, count);
    ln_interest_changed_locked(l, ev->account, ev->subject, ev->queue);
    pthread_mutex_unlock(&l->mu);
    return TERN_VERDICT_IGNORE;
}

static void seed_one(const char *account, const char *subject, const char *queue, uint32_t count,
                     void *ud)
{
    ln *l = ud;
    pthread_mutex_lock(&l->mu);
    mirror_set_locked(l, account, subject, queue, 0, count);
    pthread_mutex_unlock(&l->mu);
}

void ln_interest_seed(ln *l)
{
    if (l->api->interest_walk(l->m, NULL, seed_one, l) != TERN_OK)
        l->api->log(l->m, TERN_LOG_LEVEL_WARN, "interest_walk: %s", l->api->error(l->m));
}
