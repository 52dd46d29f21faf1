/* The sublist: a token trie of subscriptions with `*`/`>` wildcards and
 * queue groups, plus the per-worker match cache (see sublist.h).
 *
 * Layout. Every trie node is one token. A node's children live in a
 * `kids` block: literal children in a table that is a short array scanned
 * linearly while small and an open-addressing hash table (linear probing,
 * backward-shift deletion) once large, so a million children under one
 * prefix stay O(1); the `*` and `>` children are held apart. The
 * subscriptions ending at a node live in a `subs` block (plain ones plus
 * one group per queue name). Both blocks are allocated only when needed
 * so that a chain such as `foo.<n>.bar` costs little per subscription.
 *
 * Matching walks the trie into per-cache scratch vectors and then copies
 * the result into ONE allocation (header, arrays and the subject key),
 * which the cache owns. A cache hit is a hash, a probe, a memcmp and one
 * atomic load of the generation: no allocation. Replaced or evicted
 * results go to a retired list that tern_sublist_cache_quiesce() frees,
 * so a result handed out stays valid and unchanged until then. */
#include "sublist.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- allocation ------------------------------------------------------ */

/* Routing cannot do anything useful without memory; like the rest of the
 * kernel we treat exhaustion as fatal rather than half-inserting. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* ---- hashing --------------------------------------------------------- */

/* A wyhash-style hash: 64x64->128 multiply folding, 16 bytes per round.
 * Subjects are short, so the tail handling matters more than the loop. */
#define H_K0 0xa0761d6478bd642full
#define H_K1 0xe7037ed1a0b428dbull
#define H_K2 0x8ebc6af09c88c6e3ull

static inline uint64_t h_mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t h_r8(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t h_r4(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t hash_bytes(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t seed = H_K0 ^ ((uint64_t)len * H_K2);
    uint64_t a, b;
    if (len <= 16) {
        if (len >= 4) {
            /* Two overlapping reads of 4..8 bytes each cover 4..16 bytes. */
            size_t q = (len >> 3) << 2;
            a = (h_r4(p) << 32) | h_r4(p + q);
            b = (h_r4(p + len - 4) << 32) | h_r4(p + len - 4 - q);
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        while (i > 16) {
            seed = h_mix(h_r8(p) ^ H_K1, h_r8(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = h_r8(p + i - 16);
        b = h_r8(p + i - 8);
    }
    return h_mix(H_K1 ^ len, h_mix(a ^ H_K1, b ^ seed));
}

static inline uint32_t hash_ptr(const void *p)
{
    uint64_t v = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(v >> 32);
}

/* ---- thread-local random --------------------------------------------- */

static _Thread_local uint64_t rand_state;

static uint64_t rand_next(void)
{
    uint64_t x = rand_state;
    if (x == 0) {
        /* Seed once per thread; distinct threads differ by the TLS address. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
            (uint64_t)(uintptr_t)&rand_state;
        x = h_mix(x ^ H_K0, H_K1);
        if (x == 0)
            x = H_K2;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rand_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint32_t tern_sublist_rand(uint32_t n)
{
    if (n <= 1)
        return 0;
    /* Multiply-shift range reduction: no division, negligible bias. */
    return (uint32_t)(((rand_next() >> 32) * (uint64_t)n) >> 32);
}

/* ---- subject validity ------------------------------------------------ */

bool tern_subject_valid(const char *s, size_t len, bool wildcards)
{
    if (!s || len == 0)
        return false;
    bool after_fwc = false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        /* Only the token structure counts, as on nats-server's protocol
         * path (2.9.10 accepts e.g. a form feed inside a token). */
        if (i < len && s[i] != '.')
            continue;
        size_t tl = i - start;
        if (tl == 0 || after_fwc)
            return false;
        if (tl == 1 && (s[start] == '*' || s[start] == '>')) {
            if (!wildcards)
                return false;
            if (s[start] == '>')
                after_fwc = true;
        }
        start = i + 1;
    }
    return true;
}

/* ---- subscription vectors -------------------------------------------- */

/* A growable array of subs. A single sub (the common case: one subscriber
 * per subject) is held inline, without an allocation. Once the array holds
 * more than SUBVEC_INDEX_MIN entries it also keeps a pointer-hash index
 * (slot = position + 1) so that removing one of 100k subscribers of one
 * subject is O(1), not a scan. */
#define SUBVEC_INDEX_MIN 16

typedef struct subvec {
    union {
        tern_sub **arr;    /* cap > 1 */
        tern_sub  *one;    /* cap <= 1 */
    } u;
    uint32_t  *idx;
    uint32_t   n, cap;
    uint32_t   icap;       /* power of two, or 0 without index */
} subvec;

static inline tern_sub **subvec_items(subvec *sv)
{
    return sv->cap <= 1 ? &sv->u.one : sv->u.arr;
}

static void subvec_index_put(subvec *sv, uint32_t pos)
{
    uint32_t mask = sv->icap - 1;
    uint32_t i = hash_ptr(sv->u.arr[pos]) & mask;
    while (sv->idx[i])
        i = (i + 1) & mask;
    sv->idx[i] = pos + 1;
}

static void subvec_index_build(subvec *sv, uint32_t icap)
{
    free(sv->idx);
    sv->icap = icap;
    sv->idx = xcalloc(icap, sizeof *sv->idx);
    for (uint32_t p = 0; p < sv->n; p++)
        subvec_index_put(sv, p);
}

static void subvec_add(subvec *sv, tern_sub *sub)
{
    if (sv->n == sv->cap) {
        if (sv->cap == 0) {
            sv->cap = 1;
        } else if (sv->cap == 1) {
            tern_sub **arr = xmalloc(2 * sizeof *arr);
            arr[0] = sv->u.one;
            sv->u.arr = arr;
            sv->cap = 2;
        } else {
            sv->cap *= 2;
            sv->u.arr = xrealloc(sv->u.arr, sv->cap * sizeof *sv->u.arr);
        }
    }
    subvec_items(sv)[sv->n++] = sub;
    if (sv->icap) {
        if (sv->n * 2 > sv->icap)
            subvec_index_build(sv, sv->icap * 2);
        else
            subvec_index_put(sv, sv->n - 1);
    } else if (sv->n > SUBVEC_INDEX_MIN) {
        subvec_index_build(sv, 64);
    }
}

/* Index slot holding `sub`, or UINT32_MAX. Only with an index. */
static uint32_t subvec_index_slot(const subvec *sv, const tern_sub *sub)
{
    uint32_t mask = sv->icap - 1;
    for (uint32_t i = hash_ptr(sub) & mask; sv->idx[i]; i = (i + 1) & mask)
        if (sv->u.arr[sv->idx[i] - 1] == sub)
            return i;
    return UINT32_MAX;
}

/* Backward-shift deletion (linear probing): no tombstones to clean up. */
static void subvec_index_delete_slot(subvec *sv, uint32_t i)
{
    uint32_t mask = sv->icap - 1;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!sv->idx[j])
            break;
        uint32_t home = hash_ptr(sv->u.arr[sv->idx[j] - 1]) & mask;
        /* Move j back into the hole at i unless its home lies in (i, j]. */
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            sv->idx[i] = sv->idx[j];
            i = j;
        }
    }
    sv->idx[i] = 0;
}

static void subvec_release(subvec *sv)
{
    if (sv->cap > 1)
        free(sv->u.arr);
    free(sv->idx);
    memset(sv, 0, sizeof *sv);
}

/* Removes `sub`; returns false if it is not there. Order is not kept. */
static bool subvec_del(subvec *sv, const tern_sub *sub)
{
    tern_sub **v = subvec_items(sv);
    uint32_t pos = UINT32_MAX, slot = UINT32_MAX;
    if (sv->icap) {
        slot = subvec_index_slot(sv, sub);
        if (slot != UINT32_MAX)
            pos = sv->idx[slot] - 1;
    } else {
        for (uint32_t p = 0; p < sv->n; p++)
            if (v[p] == sub) {
                pos = p;
                break;
            }
    }
    if (pos == UINT32_MAX)
        return false;
    uint32_t last = sv->n - 1;
    if (sv->icap) {
        subvec_index_delete_slot(sv, slot);
        if (pos != last)
            sv->idx[subvec_index_slot(sv, v[last])] = pos + 1;
    }
    v[pos] = v[last];
    sv->n--;
    if (sv->n == 0)
        subvec_release(sv);
    else if (sv->icap && sv->n * 8 < sv->icap && sv->icap > 64)
        subvec_index_build(sv, sv->icap / 2);
    return true;
}

/* ---- trie ------------------------------------------------------------ */

typedef struct qgroup {
    subvec   subs;
    uint32_t len;
    char     name[];
} qgroup;

typedef struct subs_block {
    subvec   plain;
    qgroup **q;
    uint32_t nq, qcap;
} subs_block;

struct node;

/* Literal children in one of three shapes, by cap:
 *   cap <= 1            the only child, inline (chains like foo.<n>.bar);
 *   2 .. KIDS_SMALL     a dense array [0, n) scanned linearly;
 *   > KIDS_SMALL        an open-addressing table (linear probing) of cap
 *                       node pointers followed by their cap token hashes,
 *                       so probes compare hashes without touching nodes. */
#define KIDS_SMALL 8

typedef struct kids {
    union {
        struct node **tab;
        struct node  *one;
    } u;
    uint32_t      n, cap;
    struct node  *pwc, *fwc;
} kids;

typedef struct node {
    kids       *kids;
    subs_block *subs;
    uint32_t    hash, len;
    char        tok[];
} node;

struct tern_sublist {
    pthread_rwlock_t  lock;       /* writers; readers only on a cache miss */
    kids             *root;       /* first-token level */
    size_t            count;      /* inserted subscriptions */
    uint64_t          inserts, removes; /* since creation (monitoring) */
    size_t            nodes;      /* allocated trie nodes */
    uint64_t          id;         /* tells caches which sublist they serve */
    _Atomic uint64_t  gen;        /* bumped by every insert/remove */
};

static _Atomic uint64_t sublist_ids = 1;

static inline uint32_t tok_hash(const char *t, size_t len)
{
    return (uint32_t)hash_bytes(t, len);
}

static inline bool is_pwc(const char *t, size_t len) { return len == 1 && t[0] == '*'; }
static inline bool is_fwc(const char *t, size_t len) { return len == 1 && t[0] == '>'; }

static inline node **kids_arr(kids *k)
{
    return k->cap <= 1 ? &k->u.one : k->u.tab;
}

static inline uint32_t *kids_hashes(const kids *k)
{
    return (uint32_t *)(k->u.tab + k->cap);
}

static node *kids_find(kids *k, const char *t, uint32_t len, uint32_t h)
{
    if (k->cap <= KIDS_SMALL) {
        node **a = kids_arr(k);
        for (uint32_t i = 0; i < k->n; i++) {
            node *c = a[i];
            if (c->hash == h && c->len == len && memcmp(c->tok, t, len) == 0)
                return c;
        }
        return NULL;
    }
    uint32_t mask = k->cap - 1;
    const uint32_t *hs = kids_hashes(k);
    for (uint32_t i = h & mask; k->u.tab[i]; i = (i + 1) & mask) {
        if (hs[i] != h)
            continue;
        node *c = k->u.tab[i];
        if (c->len == len && memcmp(c->tok, t, len) == 0)
            return c;
    }
    return NULL;
}

static void kids_put_hashed(node **tab, uint32_t cap, node *c)
{
    uint32_t mask = cap - 1;
    uint32_t *hs = (uint32_t *)(tab + cap);
    uint32_t i = c->hash & mask;
    while (tab[i])
        i = (i + 1) & mask;
    tab[i] = c;
    hs[i] = c->hash;
}

/* Re-lays the children at `cap` (>= 2: never back to inline). */
static void kids_resize(kids *k, uint32_t cap)
{
    size_t slot = cap > KIDS_SMALL ? sizeof(node *) + sizeof(uint32_t) : sizeof(node *);
    node **tab = xcalloc(cap, slot);
    uint32_t j = 0;
    if (k->cap <= KIDS_SMALL) {
        node **a = kids_arr(k);
        for (uint32_t i = 0; i < k->n; i++) {
            if (cap <= KIDS_SMALL)
                tab[j++] = a[i];
            else
                kids_put_hashed(tab, cap, a[i]);
        }
    } else {
        for (uint32_t i = 0; i < k->cap; i++) {
            node *c = k->u.tab[i];
            if (!c)
                continue;
            if (cap <= KIDS_SMALL)
                tab[j++] = c;
            else
                kids_put_hashed(tab, cap, c);
        }
    }
    if (k->cap > 1)
        free(k->u.tab);
    k->u.tab = tab;
    k->cap = cap;
}

static void kids_add(kids *k, node *c)
{
    if (k->cap == 0) {
        k->cap = 1;
    } else if (k->cap <= KIDS_SMALL) {
        /* Grow 1 (inline), 2, 4, 8, then a hash table of 32 (load 9/32). */
        if (k->n == k->cap)
            kids_resize(k, k->cap < KIDS_SMALL ? k->cap * 2 : 32);
    } else if ((k->n + 1) * 4 > k->cap * 3) {
        kids_resize(k, k->cap * 2);
    }
    if (k->cap <= KIDS_SMALL)
        kids_arr(k)[k->n] = c;
    else
        kids_put_hashed(k->u.tab, k->cap, c);
    k->n++;
}

static void kids_del(kids *k, node *c)
{
    if (k->cap <= KIDS_SMALL) {
        node **a = kids_arr(k);
        for (uint32_t i = 0; i < k->n; i++)
            if (a[i] == c) {
                a[i] = a[--k->n];
                return;
            }
        return;
    }
    node **tab = k->u.tab;
    uint32_t *hs = kids_hashes(k);
    uint32_t mask = k->cap - 1;
    uint32_t i = c->hash & mask;
    while (tab[i] != c)
        i = (i + 1) & mask;
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        if (!tab[j])
            break;
        uint32_t home = hs[j] & mask;
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            tab[i] = tab[j];
            hs[i] = hs[j];
            i = j;
        }
    }
    tab[i] = NULL;
    k->n--;
    /* Give memory back as a level empties (1M unsubscribes must not leave
     * a 2M-slot table behind). */
    if (k->n * 8 < k->cap) {
        uint32_t cap = k->cap / 2;
        while (cap > 32 && k->n * 8 < cap)
            cap /= 2;
        if (k->n <= KIDS_SMALL / 2)
            cap = KIDS_SMALL;
        kids_resize(k, cap);
    }
}

static bool kids_empty(const kids *k)
{
    return k->n == 0 && !k->pwc && !k->fwc;
}

static void kids_free(kids *k)
{
    if (k->cap > 1)
        free(k->u.tab);
    free(k);
}

static node *node_new(tern_sublist *sl, const char *t, uint32_t len, uint32_t h)
{
    node *n = xmalloc(sizeof *n + len);
    n->kids = NULL;
    n->subs = NULL;
    n->hash = h;
    n->len = len;
    memcpy(n->tok, t, len);
    sl->nodes++;
    return n;
}

static void subs_block_free(subs_block *b)
{
    subvec_release(&b->plain);
    for (uint32_t i = 0; i < b->nq; i++) {
        subvec_release(&b->q[i]->subs);
        free(b->q[i]);
    }
    free(b->q);
    free(b);
}

static void node_free_rec(tern_sublist *sl, node *n);

static void kids_free_rec(tern_sublist *sl, kids *k)
{
    if (k->cap <= KIDS_SMALL) {
        node **a = kids_arr(k);
        for (uint32_t i = 0; i < k->n; i++)
            node_free_rec(sl, a[i]);
    } else {
        for (uint32_t i = 0; i < k->cap; i++)
            if (k->u.tab[i])
                node_free_rec(sl, k->u.tab[i]);
    }
    if (k->pwc)
        node_free_rec(sl, k->pwc);
    if (k->fwc)
        node_free_rec(sl, k->fwc);
    kids_free(k);
}

static void node_free_rec(tern_sublist *sl, node *n)
{
    if (n->kids)
        kids_free_rec(sl, n->kids);
    if (n->subs)
        subs_block_free(n->subs);
    free(n);
    sl->nodes--;
}

tern_sublist *tern_sublist_new(void)
{
    tern_sublist *sl = xcalloc(1, sizeof *sl);
    sl->id = atomic_fetch_add(&sublist_ids, 1);
    atomic_init(&sl->gen, 1);
    pthread_rwlock_init(&sl->lock, NULL);
    return sl;
}

void tern_sublist_free(tern_sublist *sl)
{
    if (!sl)
        return;
    if (sl->root)
        kids_free_rec(sl, sl->root);
    pthread_rwlock_destroy(&sl->lock);
    free(sl);
}

size_t tern_sublist_count(const tern_sublist *sl)
{
    tern_sublist *w = (tern_sublist *)sl;
    pthread_rwlock_rdlock(&w->lock);
    size_t n = sl->count;
    pthread_rwlock_unlock(&w->lock);
    return n;
}

size_t tern_sublist_node_count(const tern_sublist *sl)
{
    tern_sublist *w = (tern_sublist *)sl;
    pthread_rwlock_rdlock(&w->lock);
    size_t n = sl->nodes;
    pthread_rwlock_unlock(&w->lock);
    return n;
}

uint64_t tern_sublist_generation(const tern_sublist *sl)
{
    return atomic_load_explicit(&((tern_sublist *)sl)->gen, memory_order_acquire);
}

static inline bool sub_is_queue(const tern_sub *sub)
{
    return sub->queue && sub->queue_len > 0;
}

static int insert_locked(tern_sublist *sl, tern_sub *sub);

static _Atomic(tern_sublist_observer) g_observer;

void tern_sublist_set_observer(tern_sublist_observer fn)
{
    atomic_store_explicit(&g_observer, fn, memory_order_release);
}

static inline void observe(const tern_sub *sub, bool added)
{
    tern_sublist_observer fn = atomic_load_explicit(&g_observer, memory_order_acquire);
    if (fn)
        fn(sub, added);
}

int tern_sublist_insert(tern_sublist *sl, tern_sub *sub)
{
    if (!sub || !tern_subject_valid(sub->subject, sub->subject_len, true))
        return -1;
    pthread_rwlock_wrlock(&sl->lock);
    int rc = insert_locked(sl, sub);
    pthread_rwlock_unlock(&sl->lock);
    if (rc == 0)
        observe(sub, true);
    return rc;
}

static int insert_locked(tern_sublist *sl, tern_sub *sub)
{
    const char *s = sub->subject;
    size_t len = sub->subject_len, start = 0;
    kids **kp = &sl->root;
    node *n = NULL;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        const char *t = s + start;
        uint32_t tl = (uint32_t)(i - start);
        start = i + 1;
        if (!*kp)
            *kp = xcalloc(1, sizeof **kp);
        kids *k = *kp;
        if (is_pwc(t, tl)) {
            if (!k->pwc)
                k->pwc = node_new(sl, t, tl, 0);
            n = k->pwc;
        } else if (is_fwc(t, tl)) {
            if (!k->fwc)
                k->fwc = node_new(sl, t, tl, 0);
            n = k->fwc;
        } else {
            uint32_t h = tok_hash(t, tl);
            node *c = kids_find(k, t, tl, h);
            if (!c) {
                c = node_new(sl, t, tl, h);
                kids_add(k, c);
            }
            n = c;
        }
        kp = &n->kids;
    }
    if (!n->subs)
        n->subs = xcalloc(1, sizeof *n->subs);
    subs_block *b = n->subs;
    if (!sub_is_queue(sub)) {
        subvec_add(&b->plain, sub);
    } else {
        qgroup *g = NULL;
        for (uint32_t i = 0; i < b->nq; i++)
            if (b->q[i]->len == sub->queue_len &&
                memcmp(b->q[i]->name, sub->queue, sub->queue_len) == 0) {
                g = b->q[i];
                break;
            }
        if (!g) {
            g = xcalloc(1, sizeof *g + sub->queue_len);
            g->len = sub->queue_len;
            memcpy(g->name, sub->queue, sub->queue_len);
            if (b->nq == b->qcap) {
                b->qcap = b->qcap ? b->qcap * 2 : 1;
                b->q = xrealloc(b->q, b->qcap * sizeof *b->q);
            }
            b->q[b->nq++] = g;
        }
        subvec_add(&g->subs, sub);
    }
    sl->count++;
    sl->inserts++;
    atomic_fetch_add_explicit(&sl->gen, 1, memory_order_release);
    return 0;
}

/* Removes sub from the subs block; false if absent. Frees what empties. */
static bool subs_block_del(node *n, const tern_sub *sub)
{
    subs_block *b = n->subs;
    if (!b)
        return false;
    if (!sub_is_queue(sub)) {
        if (!subvec_del(&b->plain, sub))
            return false;
    } else {
        uint32_t gi;
        for (gi = 0; gi < b->nq; gi++)
            if (b->q[gi]->len == sub->queue_len &&
                memcmp(b->q[gi]->name, sub->queue, sub->queue_len) == 0)
                break;
        if (gi == b->nq || !subvec_del(&b->q[gi]->subs, sub))
            return false;
        if (b->q[gi]->subs.n == 0) {
            free(b->q[gi]);
            b->q[gi] = b->q[--b->nq];
            if (b->nq == 0) {
                free(b->q);
                b->q = NULL;
                b->qcap = 0;
            }
        }
    }
    if (b->plain.n == 0 && b->nq == 0) {
        subs_block_free(b);
        n->subs = NULL;
    }
    return true;
}

/* Walks token by token (recursion depth = number of tokens) and prunes
 * the nodes left with neither subscriptions nor children on the way out. */
static bool remove_rec(tern_sublist *sl, kids **kp, const char *s, size_t len,
                       const tern_sub *sub)
{
    kids *k = *kp;
    if (!k)
        return false;
    const char *dot = memchr(s, '.', len);
    uint32_t tl = (uint32_t)(dot ? (size_t)(dot - s) : len);
    const char *rest = dot ? dot + 1 : NULL;
    size_t rlen = dot ? len - tl - 1 : 0;
    node *c;
    if (is_pwc(s, tl))
        c = k->pwc;
    else if (is_fwc(s, tl))
        c = k->fwc;
    else
        c = kids_find(k, s, tl, tok_hash(s, tl));
    if (!c)
        return false;
    if (!(rest ? remove_rec(sl, &c->kids, rest, rlen, sub) : subs_block_del(c, sub)))
        return false;
    if (!c->subs && (!c->kids || kids_empty(c->kids))) {
        if (c == k->pwc)
            k->pwc = NULL;
        else if (c == k->fwc)
            k->fwc = NULL;
        else
            kids_del(k, c);
        if (c->kids)
            kids_free(c->kids);
        free(c);
        sl->nodes--;
        if (kids_empty(k)) {
            kids_free(k);
            *kp = NULL;
        }
    }
    return true;
}

int tern_sublist_remove(tern_sublist *sl, tern_sub *sub)
{
    if (!sub || !tern_subject_valid(sub->subject, sub->subject_len, true))
        return -1;
    pthread_rwlock_wrlock(&sl->lock);
    int rc = -1;
    if (remove_rec(sl, &sl->root, sub->subject, sub->subject_len, sub)) {
        sl->count--;
        sl->removes++;
        atomic_fetch_add_explicit(&sl->gen, 1, memory_order_release);
        rc = 0;
    }
    pthread_rwlock_unlock(&sl->lock);
    if (rc == 0)
        observe(sub, false);
    return rc;
}

static void walk_node(node *n, void (*fn)(tern_sub *, void *), void *arg);

static void walk_kids(kids *k, void (*fn)(tern_sub *, void *), void *arg)
{
    if (k->cap <= KIDS_SMALL) {
        node **a = kids_arr(k);
        for (uint32_t i = 0; i < k->n; i++)
            walk_node(a[i], fn, arg);
    } else {
        for (uint32_t i = 0; i < k->cap; i++)
            if (k->u.tab[i])
                walk_node(k->u.tab[i], fn, arg);
    }
    if (k->pwc)
        walk_node(k->pwc, fn, arg);
    if (k->fwc)
        walk_node(k->fwc, fn, arg);
}

static void walk_node(node *n, void (*fn)(tern_sub *, void *), void *arg)
{
    if (n->subs) {
        subs_block *b = n->subs;
        tern_sub **v = subvec_items(&b->plain);
        for (uint32_t i = 0; i < b->plain.n; i++)
            fn(v[i], arg);
        for (uint32_t g = 0; g < b->nq; g++) {
            v = subvec_items(&b->q[g]->subs);
            for (uint32_t i = 0; i < b->q[g]->subs.n; i++)
                fn(v[i], arg);
        }
    }
    if (n->kids)
        walk_kids(n->kids, fn, arg);
}

void tern_sublist_walk(tern_sublist *sl, void (*fn)(tern_sub *sub, void *arg), void *arg)
{
    pthread_rwlock_rdlock(&sl->lock);
    if (sl->root)
        walk_kids(sl->root, fn, arg);
    pthread_rwlock_unlock(&sl->lock);
}

/* ---- match results and the cache ------------------------------------- */

/* One allocation: this header, then psubs, qgroups, the queue members and
 * the subject bytes (the cache key). */
typedef struct cres {
    tern_sublist_result r;
    struct cres        *next_retired;
    const char         *subject;
    size_t              len;
} cres;

typedef struct centry {
    uint64_t hash;
    uint64_t gen;
    cres    *res;      /* NULL: free slot */
} centry;

/* Scratch group while collecting: merged across nodes by queue name. */
typedef struct sgroup {
    const char *name;
    uint32_t    len;
    tern_sub  **v;
    size_t      n, cap;
} sgroup;

typedef struct tok {
    const char *t;
    uint32_t    len;
    uint32_t    hash;
} tok;

struct tern_sublist_cache {
    centry  *tab;
    uint32_t cap, n, max;
    uint64_t sl_id;          /* sublist these entries belong to */
    uint64_t matches, hits;  /* monitoring: lookups, fresh cached answers */
    cres    *retired;
    centry  *evict_tmp;      /* survivors while evicting */
    /* scratch for building results, reused across misses */
    tok       *toks;
    size_t     ntoks_cap;
    tern_sub **ps;
    size_t     nps, ps_cap;
    sgroup    *gs;
    size_t     ngs, gs_cap;
};

static const tern_sublist_result empty_result;

static void push_sub(tern_sub ***v, size_t *n, size_t *cap, tern_sub *const *src,
                     size_t cnt)
{
    if (*n + cnt > *cap) {
        size_t c = *cap ? *cap : 16;
        while (c < *n + cnt)
            c *= 2;
        *v = xrealloc(*v, c * sizeof **v);
        *cap = c;
    }
    memcpy(*v + *n, src, cnt * sizeof **v);
    *n += cnt;
}

static void collect_node(tern_sublist_cache *c, const node *n)
{
    subs_block *b = n->subs;
    if (!b)
        return;
    if (b->plain.n)
        push_sub(&c->ps, &c->nps, &c->ps_cap, subvec_items(&b->plain), b->plain.n);
    for (uint32_t i = 0; i < b->nq; i++) {
        qgroup *q = b->q[i];
        sgroup *g = NULL;
        for (size_t j = 0; j < c->ngs; j++)
            if (c->gs[j].len == q->len && memcmp(c->gs[j].name, q->name, q->len) == 0) {
                g = &c->gs[j];
                break;
            }
        if (!g) {
            if (c->ngs == c->gs_cap) {
                size_t nc = c->gs_cap ? c->gs_cap * 2 : 4;
                c->gs = xrealloc(c->gs, nc * sizeof *c->gs);
                memset(c->gs + c->gs_cap, 0, (nc - c->gs_cap) * sizeof *c->gs);
                c->gs_cap = nc;
            }
            g = &c->gs[c->ngs++];
            g->name = q->name;
            g->len = q->len;
            g->n = 0;
        }
        push_sub(&g->v, &g->n, &g->cap, subvec_items(&q->subs), q->subs.n);
    }
}

/* Mirrors nats-server's matchLevel: at each level, `>` takes everything
 * from here on, `*` consumes this token and recurses, and the literal
 * child continues the walk. A literal `*`/`>` in the published subject is
 * looked up as a literal, which never exists, so it only meets wildcards. */
static void match_kids(tern_sublist_cache *c, kids *k, size_t i, size_t nt)
{
    for (;;) {
        const tok *t = &c->toks[i];
        bool last = i + 1 == nt;
        if (k->fwc)
            collect_node(c, k->fwc);
        if (k->pwc) {
            if (last)
                collect_node(c, k->pwc);
            else if (k->pwc->kids)
                match_kids(c, k->pwc->kids, i + 1, nt);
        }
        const node *n = kids_find(k, t->t, t->len, t->hash);
        if (!n)
            return;
        if (last) {
            collect_node(c, n);
            return;
        }
        if (!n->kids)
            return;
        k = n->kids;
        i++;
    }
}

/* Builds a fresh result for `subject`, or NULL when a token is empty (the
 * subject matches nothing and is not worth a cache slot). */
static cres *build_result(tern_sublist *sl, tern_sublist_cache *c,
                          const char *subject, size_t len)
{
    if (len == 0)
        return NULL;
    size_t nt = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && subject[i] != '.')
            continue;
        if (i == start)
            return NULL;
        if (nt == c->ntoks_cap) {
            c->ntoks_cap = c->ntoks_cap ? c->ntoks_cap * 2 : 16;
            c->toks = xrealloc(c->toks, c->ntoks_cap * sizeof *c->toks);
        }
        c->toks[nt].t = subject + start;
        c->toks[nt].len = (uint32_t)(i - start);
        c->toks[nt].hash = tok_hash(subject + start, i - start);
        nt++;
        start = i + 1;
    }
    c->nps = 0;
    c->ngs = 0;
    if (sl->root)
        match_kids(c, sl->root, 0, nt);

    size_t nq = 0;
    for (size_t j = 0; j < c->ngs; j++)
        nq += c->gs[j].n;
    size_t sz = sizeof(cres) + c->nps * sizeof(tern_sub *) +
                c->ngs * sizeof(tern_sublist_qgroup) + nq * sizeof(tern_sub *) + len;
    cres *r = xmalloc(sz);
    char *p = (char *)(r + 1);
    r->r.psubs = (tern_sub **)p;
    r->r.npsubs = c->nps;
    if (c->nps) /* c->ps may still be NULL: memcpy(…, NULL, 0) is UB */
        memcpy(p, c->ps, c->nps * sizeof(tern_sub *));
    p += c->nps * sizeof(tern_sub *);
    r->r.qgroups = (tern_sublist_qgroup *)p;
    r->r.nqgroups = c->ngs;
    p += c->ngs * sizeof(tern_sublist_qgroup);
    for (size_t j = 0; j < c->ngs; j++) {
        r->r.qgroups[j].subs = (tern_sub **)p;
        r->r.qgroups[j].n = c->gs[j].n;
        memcpy(p, c->gs[j].v, c->gs[j].n * sizeof(tern_sub *));
        p += c->gs[j].n * sizeof(tern_sub *);
    }
    memcpy(p, subject, len);
    r->subject = p;
    r->len = len;
    r->next_retired = NULL;
    if (c->nps == 0)
        r->r.psubs = NULL;
    if (c->ngs == 0)
        r->r.qgroups = NULL;
    return r;
}

static void retire(tern_sublist_cache *c, cres *r)
{
    r->next_retired = c->retired;
    c->retired = r;
}

tern_sublist_cache *tern_sublist_cache_new(size_t max_entries)
{
    tern_sublist_cache *c = xcalloc(1, sizeof *c);
    if (max_entries > (1u << 30))
        max_entries = 1u << 30;
    c->max = (uint32_t)max_entries;
    if (c->max) {
        /* Load factor stays at or below 1/2. */
        uint32_t cap = 16;
        while (cap < c->max * 2)
            cap *= 2;
        c->cap = cap;
        c->tab = xcalloc(cap, sizeof *c->tab);
        c->evict_tmp = xmalloc((size_t)c->max * sizeof *c->evict_tmp);
    }
    return c;
}

static void cache_put(tern_sublist_cache *c, const centry *e)
{
    uint32_t mask = c->cap - 1;
    uint32_t i = (uint32_t)e->hash & mask;
    while (c->tab[i].res)
        i = (i + 1) & mask;
    c->tab[i] = *e;
    c->n++;
}

/* Evicts every stale entry and at least half of the rest, chosen at
 * random (cheap, and hot subjects come straight back). */
static void cache_evict(tern_sublist_cache *c, uint64_t gen, bool all)
{
    uint32_t keep = 0;
    uint64_t bits = 0;
    unsigned nbits = 0;
    for (uint32_t i = 0; i < c->cap; i++) {
        centry *e = &c->tab[i];
        if (!e->res)
            continue;
        if (nbits == 0) {
            bits = rand_next();
            nbits = 64;
        }
        bool coin = bits & 1;
        bits >>= 1;
        nbits--;
        /* Capping survivors at max/2 guarantees room; slots are in hash
         * order, so which ones survive is still effectively random. */
        if (all || e->gen != gen || coin || keep >= c->max / 2)
            retire(c, e->res);
        else
            c->evict_tmp[keep++] = *e;
    }
    memset(c->tab, 0, c->cap * sizeof *c->tab);
    c->n = 0;
    for (uint32_t i = 0; i < keep; i++)
        cache_put(c, &c->evict_tmp[i]);
}

void tern_sublist_cache_quiesce(tern_sublist_cache *c)
{
    cres *r = c->retired;
    c->retired = NULL;
    while (r) {
        cres *next = r->next_retired;
        free(r);
        r = next;
    }
}

void tern_sublist_cache_free(tern_sublist_cache *c)
{
    if (!c)
        return;
    if (c->tab)
        cache_evict(c, 0, true);
    tern_sublist_cache_quiesce(c);
    free(c->tab);
    free(c->evict_tmp);
    free(c->toks);
    free(c->ps);
    for (size_t j = 0; j < c->gs_cap; j++)
        free(c->gs[j].v);
    free(c->gs);
    free(c);
}

size_t tern_sublist_cache_count(const tern_sublist_cache *c)
{
    return c->n;
}

/* A cache miss walks the trie under the read lock; the generation read
 * under the same lock is the one the result is valid for. */
static cres *build_locked(tern_sublist *sl, tern_sublist_cache *c, const char *subject,
                          size_t len, uint64_t *gen)
{
    pthread_rwlock_rdlock(&sl->lock);
    *gen = atomic_load_explicit(&sl->gen, memory_order_acquire);
    cres *r = build_result(sl, c, subject, len);
    pthread_rwlock_unlock(&sl->lock);
    return r;
}

const tern_sublist_result *tern_sublist_match(tern_sublist *sl,
                                              tern_sublist_cache *c,
                                              const char *subject, size_t len)
{
    uint64_t gen = atomic_load_explicit(&sl->gen, memory_order_acquire);
    c->matches++;
    if (c->max == 0) {
        cres *r = build_locked(sl, c, subject, len, &gen);
        if (!r)
            return &empty_result;
        retire(c, r);
        return &r->r;
    }
    if (c->sl_id != sl->id) {
        /* A cache serves one sublist; rebinding drops what it held. */
        cache_evict(c, gen, true);
        c->sl_id = sl->id;
    }
    uint64_t h = hash_bytes(subject, len);
    uint32_t mask = c->cap - 1;
    uint32_t i = (uint32_t)h & mask;
    for (; c->tab[i].res; i = (i + 1) & mask) {
        centry *e = &c->tab[i];
        if (e->hash != h || e->res->len != len || memcmp(e->res->subject, subject, len) != 0)
            continue;
        if (e->gen == gen) {
            c->hits++;
            return &e->res->r;
        }
        /* Stale: rebuild in place; the old result lives until quiesce. */
        cres *r = build_locked(sl, c, subject, len, &gen);
        retire(c, e->res);
        e->res = r;
        e->gen = gen;
        return &r->r;
    }
    cres *r = build_locked(sl, c, subject, len, &gen);
    if (!r)
        return &empty_result;
    if (c->n >= c->max)
        cache_evict(c, gen, false);
    centry e = { .hash = h, .gen = gen, .res = r };
    cache_put(c, &e);
    return &r->r;
}

void tern_sublist_stats(const tern_sublist *sl, uint64_t *inserts, uint64_t *removes)
{
    tern_sublist *w = (tern_sublist *)sl;
    pthread_rwlock_rdlock(&w->lock);
    *inserts = sl->inserts;
    *removes = sl->removes;
    pthread_rwlock_unlock(&w->lock);
}

void tern_sublist_cache_stats(const tern_sublist_cache *c, tern_sublist_cstats *out)
{
    memset(out, 0, sizeof *out);
    out->matches = c->matches;
    out->hits = c->hits;
    for (uint32_t i = 0; i < c->cap; i++) {
        const cres *r = c->tab[i].res;
        if (!r)
            continue;
        /* nats-server's fan-out: plain subscriptions plus queue groups. */
        size_t f = r->r.npsubs + r->r.nqgroups;
        out->entries++;
        out->fanout_total += f;
        if (f > out->fanout_max)
            out->fanout_max = f;
    }
}
