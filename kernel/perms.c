/* Permissions (perms.h): nats-server 2.9.10's canSubscribe, pubAllowed
 * and response permissions, over short pattern lists. A user's lists are
 * a handful of entries, so a linear scan of token comparisons beats any
 * index; publish decisions are cached per connection besides. */
#include "perms.h"

#include <stdlib.h>
#include <string.h>

#include "sublist.h"
#include "xalloc.h"

#define PUB_CACHE_SLOTS   128     /* nats-server's maxPermCacheSize */
#define PUB_CACHE_MAX_LEN 128     /* longer subjects are not cached */
#define REPLIES_MAX       4096    /* nats-server prunes at replyPermLimit */

tern_perms *tern_perms_new(void)
{
    tern_perms *p = tern_xcalloc(1, sizeof *p);
    p->max_subs = p->max_payload = -1;
    return p;
}

static void list_free(tern_perm_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->e[i].subject);
        free(l->e[i].queue);
    }
    free(l->e);
}

void tern_perms_free(tern_perms *p)
{
    if (!p)
        return;
    list_free(&p->pub_allow);
    list_free(&p->pub_deny);
    list_free(&p->sub_allow);
    list_free(&p->sub_deny);
    free(p);
}

static void list_copy(tern_perm_list *d, const tern_perm_list *l)
{
    *d = *l;
    d->e = l->n ? tern_xcalloc(l->n, sizeof *d->e) : NULL;
    for (size_t i = 0; i < l->n; i++) {
        d->e[i].subject = tern_xstrdup(l->e[i].subject);
        d->e[i].queue = l->e[i].queue ? tern_xstrdup(l->e[i].queue) : NULL;
    }
}

tern_perms *tern_perms_clone(const tern_perms *p)
{
    tern_perms *d = tern_perms_new();
    *d = *p;
    list_copy(&d->pub_allow, &p->pub_allow);
    list_copy(&d->pub_deny, &p->pub_deny);
    list_copy(&d->sub_allow, &p->sub_allow);
    list_copy(&d->sub_deny, &p->sub_deny);
    return d;
}

int tern_perms_add(tern_perm_list *l, const char *entry)
{
    /* "subject queue": nats-server splits on whitespace */
    const char *s = entry;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t sl = strcspn(s, " \t");
    const char *q = s + sl;
    while (*q == ' ' || *q == '\t')
        q++;
    size_t ql = strcspn(q, " \t");
    if (!tern_subject_valid(s, sl, true))
        return -1;
    l->e = tern_xrealloc(l->e, (l->n + 1) * sizeof *l->e);
    tern_perm_entry *e = &l->e[l->n++];
    e->subject = tern_xstrndup(s, sl);
    e->queue = ql ? tern_xstrndup(q, ql) : NULL;
    l->set = true;
    return 0;
}

void tern_perms_finish(tern_perms *p)
{
    if (p->resp && !p->pub_allow.set)
        p->pub_allow.set = true; /* empty: only responses may be published */
}

bool tern_perm_match(const char *pattern, const char *subject, size_t len)
{
    const char *p = pattern, *s = subject, *end = subject + len;
    for (;;) {
        size_t pl = strcspn(p, ".");
        const char *dot = memchr(s, '.', (size_t)(end - s));
        size_t tl = dot ? (size_t)(dot - s) : (size_t)(end - s);
        if (pl == 1 && p[0] == '>')
            return true;                 /* the rest, at least one token */
        if (!(pl == 1 && p[0] == '*') && (pl != tl || memcmp(p, s, tl) != 0))
            return false;
        bool pmore = p[pl] == '.', smore = dot != NULL;
        if (!pmore || !smore)
            return pmore == smore;
        p += pl + 1;
        s = dot + 1;
    }
}

static bool list_match(const tern_perm_list *l, const char *subject, size_t len, bool plain_only)
{
    for (size_t i = 0; i < l->n; i++)
        if ((!plain_only || !l->e[i].queue) && tern_perm_match(l->e[i].subject, subject, len))
            return true;
    return false;
}

bool tern_perms_pub_allowed(const tern_perms *p, const char *subject, size_t len)
{
    if (p->pub_allow.set && !list_match(&p->pub_allow, subject, len, false))
        return false;
    return !list_match(&p->pub_deny, subject, len, false);
}

/* Queue entries of l whose subject matches: whether any does, and whether
 * the queue name matches one of their queue patterns. */
static bool queue_entries(const tern_perm_list *l, const char *subject, size_t len,
                          const char *queue, size_t qlen, bool *queue_match)
{
    bool any = false;
    *queue_match = false;
    for (size_t i = 0; i < l->n; i++) {
        const tern_perm_entry *e = &l->e[i];
        if (!e->queue || !tern_perm_match(e->subject, subject, len))
            continue;
        any = true;
        if (tern_perm_match(e->queue, queue, qlen))
            *queue_match = true;
    }
    return any;
}

bool tern_perms_sub_allowed(const tern_perms *p, const char *subject, size_t len,
                            const char *queue, size_t qlen)
{
    bool allowed = true, qm;
    if (p->sub_allow.set) {
        allowed = list_match(&p->sub_allow, subject, len, true);
        if (queue && queue_entries(&p->sub_allow, subject, len, queue, qlen, &qm))
            allowed = qm;
    }
    if (allowed && p->sub_deny.n) {
        allowed = !list_match(&p->sub_deny, subject, len, true);
        if (queue && queue_entries(&p->sub_deny, subject, len, queue, qlen, &qm))
            allowed = !qm;
    }
    return allowed;
}

static bool has_wildcard(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((s[i] == '*' || s[i] == '>') && (i == 0 || s[i - 1] == '.') &&
            (i + 1 == len || s[i + 1] == '.'))
            return true;
    return false;
}

bool tern_perms_sub_needs_filter(const tern_perms *p, const char *subject, size_t len)
{
    if (!p->sub_deny.n || !has_wildcard(subject, len))
        return false;
    char *pat = tern_xstrndup(subject, len);
    bool overlap = false;
    for (size_t i = 0; i < p->sub_deny.n && !overlap; i++) {
        const char *d = p->sub_deny.e[i].subject;
        overlap = tern_perm_match(pat, d, strlen(d));
    }
    free(pat);
    return overlap;
}

bool tern_perms_delivery_denied(const tern_perms *p, const char *subject, size_t len)
{
    return list_match(&p->sub_deny, subject, len, true);
}

/* ---- per connection ------------------------------------------------------ */

typedef struct pub_slot {
    char     subject[PUB_CACHE_MAX_LEN];
    uint32_t len;                /* 0: empty */
    bool     allowed;
} pub_slot;

typedef struct reply_perm {
    char    *subject;
    uint64_t granted_ms;
    int64_t  n;
} reply_perm;

struct tern_client_perms {
    const tern_perms *p;
    pub_slot         *cache;     /* PUB_CACHE_SLOTS, allocated on first use */
    reply_perm       *replies;   /* allow_responses: a small unordered set */
    size_t            nreplies, capreplies;
};

tern_client_perms *tern_client_perms_new(const tern_perms *p)
{
    tern_client_perms *cp = tern_xcalloc(1, sizeof *cp);
    cp->p = p;
    return cp;
}

void tern_client_perms_free(tern_client_perms *cp)
{
    if (!cp)
        return;
    for (size_t i = 0; i < cp->nreplies; i++)
        free(cp->replies[i].subject);
    free(cp->replies);
    free(cp->cache);
    free(cp);
}

const tern_perms *tern_client_perms_of(const tern_client_perms *cp)
{
    return cp->p;
}

bool tern_client_perms_wants_replies(const tern_client_perms *cp)
{
    return cp && cp->p->resp;
}

static uint32_t hash_subject(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static bool lists_allow(tern_client_perms *cp, const char *subject, size_t len)
{
    if (len >= PUB_CACHE_MAX_LEN)
        return tern_perms_pub_allowed(cp->p, subject, len);
    if (!cp->cache)
        cp->cache = tern_xcalloc(PUB_CACHE_SLOTS, sizeof *cp->cache);
    pub_slot *e = &cp->cache[hash_subject(subject, len) % PUB_CACHE_SLOTS];
    if (e->len == len && memcmp(e->subject, subject, len) == 0)
        return e->allowed;
    e->allowed = tern_perms_pub_allowed(cp->p, subject, len);
    memcpy(e->subject, subject, len);
    e->len = (uint32_t)len;
    return e->allowed;
}

static void reply_drop(tern_client_perms *cp, size_t i)
{
    free(cp->replies[i].subject);
    cp->replies[i] = cp->replies[--cp->nreplies];
}

static bool reply_expired(const tern_perms *p, const reply_perm *r, uint64_t now_ms)
{
    return (p->resp_max > 0 && r->n > p->resp_max) ||
           (p->resp_expires_ms > 0 && (int64_t)(now_ms - r->granted_ms) > p->resp_expires_ms);
}

bool tern_client_perms_pub(tern_client_perms *cp, const char *subject, size_t len, uint64_t now_ms)
{
    if (!cp->p->pub_allow.set && !cp->p->pub_deny.n)
        return true;                 /* only subscribe permissions */
    if (lists_allow(cp, subject, len))
        return true;
    if (!cp->p->resp)
        return false;
    for (size_t i = 0; i < cp->nreplies; i++) {
        reply_perm *r = &cp->replies[i];
        if (strlen(r->subject) != len || memcmp(r->subject, subject, len) != 0)
            continue;
        r->n++;
        if (reply_expired(cp->p, r, now_ms)) {
            reply_drop(cp, i);
            return false;
        }
        return true;
    }
    return false;
}

void tern_client_perms_note_reply(tern_client_perms *cp, const char *reply, size_t len,
                                  uint64_t now_ms)
{
    for (size_t i = 0; i < cp->nreplies; i++) {
        if (strlen(cp->replies[i].subject) == len && !memcmp(cp->replies[i].subject, reply, len)) {
            cp->replies[i].granted_ms = now_ms;
            cp->replies[i].n = 0;
            return;
        }
    }
    if (cp->nreplies >= REPLIES_MAX) {
        /* prune what expired, then the oldest half if still full */
        for (size_t i = cp->nreplies; i-- > 0;)
            if (reply_expired(cp->p, &cp->replies[i], now_ms))
                reply_drop(cp, i);
        while (cp->nreplies >= REPLIES_MAX / 2)
            reply_drop(cp, 0);
    }
    if (cp->nreplies == cp->capreplies) {
        cp->capreplies = cp->capreplies ? cp->capreplies * 2 : 8;
        cp->replies = tern_xrealloc(cp->replies, cp->capreplies * sizeof *cp->replies);
    }
    cp->replies[cp->nreplies++] = (reply_perm){tern_xstrndup(reply, len), now_ms, 0};
}
