/* Stream and service imports (imports.h). */
#include "imports.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "perms.h"
#include "route.h"
#include "worker.h"
#include "xalloc.h"

#define RESP_TOKEN_LEN   6
#define RESP_SWEEP_MS    1000
#define MAX_TOKENS       64

/* ---- subject transforms ------------------------------------------------- */

typedef struct tok {
    const char *p;
    size_t      n;
} tok;

static size_t tokenize(const char *s, size_t len, tok *out, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (n == max)
            return max + 1;
        out[n++] = (tok){s + start, i - start};
        start = i + 1;
    }
    return n;
}

static bool is_tok(const tok *t, char c)
{
    return t->n == 1 && t->p[0] == c;
}

char *tern_subject_transform(const char *src, const char *dst, const char *subject, size_t len,
                             char *buf, size_t cap, size_t *outlen)
{
    tok st[MAX_TOKENS], dt[MAX_TOKENS], xt[MAX_TOKENS];
    size_t ns = tokenize(src, strlen(src), st, MAX_TOKENS);
    size_t nd = tokenize(dst, strlen(dst), dt, MAX_TOKENS);
    size_t nx = tokenize(subject, len, xt, MAX_TOKENS);
    if (ns > MAX_TOKENS || nd > MAX_TOKENS || nx > MAX_TOKENS)
        return NULL;
    tok caps[MAX_TOKENS];
    size_t ncaps = 0;
    const char *tail = NULL;
    size_t tail_len = 0;
    for (size_t i = 0; i < ns; i++) {
        if (is_tok(&st[i], '>')) {
            if (i >= nx)
                return NULL;
            tail = xt[i].p;
            tail_len = (size_t)(subject + len - tail);
            break;
        }
        if (i >= nx)
            return NULL;
        if (is_tok(&st[i], '*'))
            caps[ncaps++] = xt[i];
        else if (st[i].n != xt[i].n || memcmp(st[i].p, xt[i].p, xt[i].n) != 0)
            return NULL;
        if (i == ns - 1 && nx != ns)
            return NULL;
    }
    size_t need = len + strlen(dst) + 2;
    for (size_t i = 0; i < ncaps; i++)
        need += caps[i].n;
    char *out = need <= cap ? buf : tern_xmalloc(need);
    size_t o = 0, next_cap = 0;
    for (size_t i = 0; i < nd; i++) {
        if (i)
            out[o++] = '.';
        const tok *t = &dt[i];
        const tok *from = t;
        if (is_tok(t, '*') && next_cap < ncaps) {
            from = &caps[next_cap++];
        } else if (t->n >= 2 && t->p[0] == '$') {
            size_t k = (size_t)strtoul(t->p + 1, NULL, 10);
            if (k >= 1 && k <= ncaps)
                from = &caps[k - 1];
        } else if (is_tok(t, '>') && tail) {
            memcpy(out + o, tail, tail_len);
            o += tail_len;
            continue;
        }
        memcpy(out + o, from->p, from->n);
        o += from->n;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

bool tern_subjects_overlap(const char *a, const char *b)
{
    tok at[MAX_TOKENS], bt[MAX_TOKENS];
    size_t na = tokenize(a, strlen(a), at, MAX_TOKENS);
    size_t nb = tokenize(b, strlen(b), bt, MAX_TOKENS);
    if (na > MAX_TOKENS || nb > MAX_TOKENS)
        return false;
    for (size_t i = 0; i < na && i < nb; i++) {
        if (is_tok(&at[i], '>') || is_tok(&bt[i], '>'))
            return true;
        if (is_tok(&at[i], '*') || is_tok(&bt[i], '*'))
            continue;
        if (at[i].n != bt[i].n || memcmp(at[i].p, bt[i].p, at[i].n) != 0)
            return false;
    }
    return na == nb;
}

char *tern_shadow_subject(const tern_shadow *sh, const char *subject, size_t len, char *buf,
                          size_t cap, size_t *outlen)
{
    return tern_subject_transform(sh->imp->subject, sh->imp->local, subject, len, buf, cap, outlen);
}

/* ---- response maps ------------------------------------------------------ */

typedef struct resp_entry {
    struct resp_entry *next;
    char            token[RESP_TOKEN_LEN + 1];
    char           *reply;          /* the requester's, in the importer */
    tern_account   *importer;
    tern_resp_type  type;
    int64_t         threshold_ms;
    uint64_t        last_ms;
} resp_entry;

typedef struct tern_resp_map {
    pthread_mutex_t mu;
    resp_entry    **buckets;
    size_t          nbuckets, n;
    uint64_t        last_sweep_ms;
} tern_resp_map;

static uint32_t token_hash(const char *t)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < RESP_TOKEN_LEN && t[i]; i++)
        h = (h ^ (unsigned char)t[i]) * 16777619u;
    return h;
}

static void random_token(char out[RESP_TOKEN_LEN + 1])
{
    static const char b62[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (size_t i = 0; i < RESP_TOKEN_LEN; i++)
        out[i] = b62[tern_sublist_rand(62)];
    out[RESP_TOKEN_LEN] = '\0';
}

static void entry_free(resp_entry *e)
{
    free(e->reply);
    free(e);
}

static resp_entry **find_slot(tern_resp_map *m, const char *token)
{
    resp_entry **pp = &m->buckets[token_hash(token) % m->nbuckets];
    while (*pp && strcmp((*pp)->token, token) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void unlink_entry(tern_resp_map *m, resp_entry **pp)
{
    resp_entry *e = *pp;
    *pp = e->next;
    m->n--;
    entry_free(e);
}

static bool expired(const resp_entry *e, uint64_t now)
{
    return (int64_t)(now - e->last_ms) > e->threshold_ms;
}

static void sweep_locked(tern_resp_map *m, uint64_t now)
{
    if (now - m->last_sweep_ms < RESP_SWEEP_MS)
        return;
    m->last_sweep_ms = now;
    for (size_t i = 0; i < m->nbuckets; i++) {
        resp_entry **pp = &m->buckets[i];
        while (*pp) {
            if (expired(*pp, now))
                unlink_entry(m, pp);
            else
                pp = &(*pp)->next;
        }
    }
}

static void grow_locked(tern_resp_map *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
    resp_entry **b = tern_xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nbuckets; i++) {
        resp_entry *e = m->buckets[i];
        while (e) {
            resp_entry *next = e->next;
            size_t k = token_hash(e->token) % nb;
            e->next = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

/* A new mapping; its token into token. */
static void resp_add(tern_resp_map *m, const char *reply, size_t reply_len, tern_account *importer,
                     const tern_export_conf *ex, uint64_t now, char token[RESP_TOKEN_LEN + 1])
{
    resp_entry *e = tern_xcalloc(1, sizeof *e);
    e->reply = tern_xstrndup(reply, reply_len);
    e->importer = importer;
    e->type = ex ? ex->resp : TERN_RESP_SINGLETON;
    e->threshold_ms = ex && ex->threshold_ms > 0 ? ex->threshold_ms
                                                 : TERN_DEFAULT_RESPONSE_THRESHOLD_MS;
    e->last_ms = now;
    pthread_mutex_lock(&m->mu);
    sweep_locked(m, now);
    if (m->n + 1 > m->nbuckets)
        grow_locked(m);
    resp_entry **pp;
    do {
        random_token(e->token);
        pp = find_slot(m, e->token);
    } while (*pp);
    *pp = e;
    m->n++;
    pthread_mutex_unlock(&m->mu);
    memcpy(token, e->token, sizeof e->token);
}

static void resp_drop(tern_resp_map *m, const char *token)
{
    pthread_mutex_lock(&m->mu);
    resp_entry **pp = find_slot(m, token);
    if (*pp)
        unlink_entry(m, pp);
    pthread_mutex_unlock(&m->mu);
}

void tern_imports_sweep(tern_accounts *r, uint64_t now_ms)
{
    for (size_t i = 0; i < r->n; i++) {
        tern_resp_map *m = r->accs[i]->resp;
        if (!m)
            continue;
        pthread_mutex_lock(&m->mu);
        sweep_locked(m, now_ms);
        pthread_mutex_unlock(&m->mu);
    }
}

size_t tern_imports_pending_responses(tern_account *exporter)
{
    tern_resp_map *m = exporter->resp;
    if (!m)
        return 0;
    pthread_mutex_lock(&m->mu);
    size_t n = m->n;
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* A response to "_R_.<prefix>.<token>" in the exporting account: on to
 * the requester's reply in the importing account. */
static size_t on_response(tern_worker *w, tern_isub *sub, tern_client *from,
                          const tern_pub_args *m)
{
    (void)from;
    tern_account *exporter = sub->acc;
    tern_resp_map *map = exporter->resp;
    size_t plen = strlen(exporter->resp_prefix);
    if (m->subject_len != plen + RESP_TOKEN_LEN)
        return 0;
    char token[RESP_TOKEN_LEN + 1];
    memcpy(token, m->subject + plen, RESP_TOKEN_LEN);
    token[RESP_TOKEN_LEN] = '\0';
    uint64_t now = uv_now(&w->loop);
    bool last = false;
    char *reply = NULL;
    tern_account *importer = NULL;
    pthread_mutex_lock(&map->mu);
    sweep_locked(map, now);
    resp_entry **pp = map->nbuckets ? find_slot(map, token) : NULL;
    if (pp && *pp && expired(*pp, now)) {
        unlink_entry(map, pp);
    } else if (pp && *pp) {
        resp_entry *e = *pp;
        reply = tern_xstrdup(e->reply);
        importer = e->importer;
        e->last_ms = now;
        last = e->type == TERN_RESP_SINGLETON || m->size == 0;
        if (last)
            unlink_entry(map, pp);
    }
    pthread_mutex_unlock(&map->mu);
    if (!reply)
        return 0;
    tern_pub_args r = *m;
    r.subject = reply;
    r.subject_len = strlen(reply);
    r.reply = NULL;
    r.reply_len = 0;
    size_t n = tern_route_publish_ex(w, importer, NULL, &r, TERN_ROUTE_NO_SHADOWS);
    if (!n && !last)
        resp_drop(map, token);
    free(reply);
    return n;
}

/* A request to a service import's local subject in the importing account:
 * re-published in the exporter. */
static size_t on_service_request(tern_worker *w, tern_isub *sub, tern_client *from,
                                 const tern_pub_args *m)
{
    (void)from;
    const tern_import_conf *imp = sub->arg;
    tern_account *importer = sub->acc;
    tern_account *exporter = importer->reg->accs[imp->exporter];
    char sbuf[256];
    size_t slen = 0;
    char *subj = tern_subject_transform(imp->local, imp->subject, m->subject, m->subject_len, sbuf,
                                        sizeof sbuf, &slen);
    if (!subj)
        return 0;
    tern_pub_args r = *m;
    r.subject = subj;
    r.subject_len = slen;
    char reply[sizeof exporter->resp_prefix + RESP_TOKEN_LEN + 1];
    char token[RESP_TOKEN_LEN + 1] = "";
    if (m->reply && exporter->resp) {
        resp_add(exporter->resp, m->reply, m->reply_len, importer, imp->export, uv_now(&w->loop),
                 token);
        snprintf(reply, sizeof reply, "%s%s", exporter->resp_prefix, token);
        r.reply = reply;
        r.reply_len = strlen(reply);
    } else {
        r.reply = NULL;
        r.reply_len = 0;
    }
    size_t n = tern_route_publish_ex(w, exporter, NULL, &r, TERN_ROUTE_NO_SHADOWS);
    if (!n && token[0])
        resp_drop(exporter->resp, token);
    if (subj != sbuf)
        free(subj);
    /* As nats-server: the import took the request, so the requester gets
     * no no-responders status even when nobody in the exporter listens. */
    (void)n;
    return 1;
}

static bool has_service_exports(const tern_account_conf *ac)
{
    for (size_t i = 0; ac && i < ac->nexports; i++)
        if (ac->exports[i].kind == TERN_SERVICE)
            return true;
    return false;
}

void tern_imports_account_setup(tern_account *a)
{
    if (!a->resp && has_service_exports(a->conf)) {
        a->resp = tern_xcalloc(1, sizeof *a->resp);
        pthread_mutex_init(&a->resp->mu, NULL);
        char tok6[RESP_TOKEN_LEN + 1];
        random_token(tok6);
        snprintf(a->resp_prefix, sizeof a->resp_prefix, "_R_.%s.", tok6);
    }
    if (a->resp && !a->resp_isub) {
        char subject[32];
        snprintf(subject, sizeof subject, "%s>", a->resp_prefix);
        a->resp_isub = tern_isub_add(a, subject, NULL, on_response, NULL);
    }
    for (size_t k = 0; a->conf && k < a->conf->nimports; k++) {
        const tern_import_conf *imp = &a->conf->imports[k];
        if (imp->kind != TERN_SERVICE)
            continue;
        tern_isub *is = tern_isub_add(a, imp->local, NULL, on_service_request, (void *)imp);
        if (!is)
            continue;
        a->import_isubs = tern_xrealloc(a->import_isubs,
                                        (a->nimport_isubs + 1) * sizeof *a->import_isubs);
        a->import_isubs[a->nimport_isubs++] = is;
    }
}

void tern_imports_account_teardown(struct tern_server *srv, tern_account *a, bool all)
{
    for (size_t i = 0; i < a->nimport_isubs; i++)
        tern_isub_remove(srv, a->import_isubs[i]);
    free(a->import_isubs);
    a->import_isubs = NULL;
    a->nimport_isubs = 0;
    if (all && a->resp_isub) {
        tern_isub_remove(srv, a->resp_isub);
        a->resp_isub = NULL;
    }
}

void tern_imports_build(tern_accounts *r)
{
    for (size_t i = 0; i < r->n; i++)
        tern_imports_account_setup(r->accs[i]);
}

void tern_imports_account_free(tern_account *a)
{
    for (size_t i = 0; i < a->nimport_isubs; i++)
        tern_isub_free(a->import_isubs[i]);
    free(a->import_isubs);
    tern_isub_free(a->resp_isub);
    if (a->resp) {
        for (size_t i = 0; i < a->resp->nbuckets; i++)
            while (a->resp->buckets[i])
                unlink_entry(a->resp, &a->resp->buckets[i]);
        free(a->resp->buckets);
        pthread_mutex_destroy(&a->resp->mu);
        free(a->resp);
    }
}

/* ---- stream imports: shadow subscriptions ------------------------------- */

static void shadow_free_retired(tern_retired *r)
{
    free((char *)r - offsetof(tern_shadow, retired));
}

void tern_imports_sub_added(tern_client *c, tern_csub *s)
{
    tern_account *acc = c->acc;
    const tern_account_conf *ac = acc->conf;
    if (!ac || !ac->nimports)
        return;
    char *sub = tern_xstrndup(s->s.subject, s->s.subject_len);
    for (size_t k = 0; k < ac->nimports; k++) {
        const tern_import_conf *imp = &ac->imports[k];
        if (imp->kind != TERN_STREAM || !tern_subjects_overlap(sub, imp->local))
            continue;
        char buf[256];
        size_t n = 0;
        bool filter = false;
        char *x = NULL;
        if (tern_perm_match(imp->local, sub, s->s.subject_len))
            x = tern_subject_transform(imp->local, imp->subject, sub, s->s.subject_len, buf,
                                       sizeof buf, &n);
        if (!x) {        /* broader than the import: take all it offers */
            x = imp->subject;
            n = strlen(x);
            filter = true;
        }
        tern_shadow *sh = tern_xcalloc(1, sizeof *sh + n + 1 + s->s.queue_len + 1);
        memcpy(sh->mem, x, n);
        sh->s.subject = sh->mem;
        sh->s.subject_len = (uint32_t)n;
        if (s->s.queue) {
            memcpy(sh->mem + n + 1, s->s.queue, s->s.queue_len);
            sh->s.queue = sh->mem + n + 1;
            sh->s.queue_len = s->s.queue_len;
        }
        sh->s.weight = 1;
        sh->s.owner = c;
        sh->s.kind = TERN_SUB_SHADOW;
        sh->csub = s;
        sh->exporter = acc->reg->accs[imp->exporter];
        sh->imp = imp;
        sh->filter = filter;
        if (x != buf && x != imp->subject)
            free(x);
        if (tern_sublist_insert(sh->exporter->sl, &sh->s) != 0) {
            free(sh);
            continue;
        }
        sh->next = s->shadows;
        s->shadows = sh;
    }
    free(sub);
}

void tern_imports_sub_removed(tern_client *c, tern_csub *s)
{
    tern_shadow *sh = s->shadows;
    s->shadows = NULL;
    while (sh) {
        tern_shadow *next = sh->next;
        tern_sublist_remove(sh->exporter->sl, &sh->s);
        sh->retired.free_fn = shadow_free_retired;
        tern_worker_retire(c->w, &sh->retired);
        sh = next;
    }
}
