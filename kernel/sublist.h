/* The sublist: one per account, a token trie mapping subscriptions to the
 * subjects they match, with `*` and `>` wildcards and queue groups.
 *
 * Writers (insert/remove) are serialised by the caller (the account's lock
 * once there are several workers). Matching goes through a per-worker
 * tern_sublist_cache: results are cached per subject and checked against
 * the sublist's generation, which every insert/remove bumps. A result
 * stays valid until the owning worker calls tern_sublist_cache_quiesce()
 * at the end of its loop iteration (its quiescent point), even if the
 * sublist changes meanwhile, so delivery can iterate a result while
 * subscriptions are being removed (auto-unsubscribe). The subscriptions
 * themselves are owned by their connection, which must likewise free a
 * removed tern_sub only after its worker's quiescent point. */
#ifndef TERN_SUBLIST_H
#define TERN_SUBLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One subscription as the sublist sees it. The owner fills subject/queue
 * before insert and must not change them while inserted. */
typedef struct tern_sub {
    const char *subject;
    uint32_t    subject_len;
    const char *queue;         /* NULL: plain subscription */
    uint32_t    queue_len;
    int32_t     weight;        /* queue weight: 1 for a client; a link's
                                  advertised member count for remote interest */
    void       *owner;         /* the connection that owns it */
    uint8_t     kind;          /* enum tern_sub_kind (route.h); 0: a
                                  client's subscription */
} tern_sub;

/* One queue group in a match result: its members (all with the same queue
 * name). Delivery picks one member per message. */
typedef struct tern_sublist_qgroup {
    tern_sub **subs;
    size_t     n;
} tern_sublist_qgroup;

typedef struct tern_sublist_result {
    tern_sub           **psubs;   /* plain subscriptions */
    size_t               npsubs;
    tern_sublist_qgroup *qgroups; /* one entry per distinct queue name */
    size_t               nqgroups;
} tern_sublist_result;

typedef struct tern_sublist tern_sublist;
typedef struct tern_sublist_cache tern_sublist_cache;

tern_sublist *tern_sublist_new(void);
void tern_sublist_free(tern_sublist *sl);

/* Insert/remove. The subject must be a valid subscription subject
 * (tern_subject_valid(…, true)); returns 0, or -1 if invalid (insert) or
 * not found (remove). Removing frees the trie nodes that become empty. */
int tern_sublist_insert(tern_sublist *sl, tern_sub *sub);
int tern_sublist_remove(tern_sublist *sl, tern_sub *sub);

size_t   tern_sublist_count(const tern_sublist *sl);
uint64_t tern_sublist_generation(const tern_sublist *sl);
/* Trie nodes currently allocated (0 once every subscription is removed):
 * for tests and statistics. */
size_t   tern_sublist_node_count(const tern_sublist *sl);

/* Per-worker match cache for one sublist (bounded; entries evicted when
 * full). Each worker keeps its own cache per account sublist.
 * max_entries 0 disables caching: every match builds a fresh result,
 * still valid until the next quiesce. */
tern_sublist_cache *tern_sublist_cache_new(size_t max_entries);
void tern_sublist_cache_free(tern_sublist_cache *c);
/* Frees results retired since the last call. Call at the worker's
 * quiescent point (end of a loop iteration), never while a result from
 * tern_sublist_match is still in use. */
void tern_sublist_cache_quiesce(tern_sublist_cache *c);
/* Entries currently cached (at most max_entries). */
size_t tern_sublist_cache_count(const tern_sublist_cache *c);

/* Monitoring (/subsz): inserts and removes since creation (any thread),
 * and one cache's lookups, fresh hits and the fan-out of its entries
 * (its owner worker only). */
typedef struct tern_sublist_cstats {
    uint64_t matches, hits;
    size_t   entries, fanout_total, fanout_max;
} tern_sublist_cstats;
void tern_sublist_stats(const tern_sublist *sl, uint64_t *inserts, uint64_t *removes);
void tern_sublist_cache_stats(const tern_sublist_cache *c, tern_sublist_cstats *out);

/* Interest observation (interest.h): fn is called after every successful
 * insert and remove, outside the sublist's lock, on the writer's thread.
 * NULL: none (the cost is one untaken branch). */
typedef void (*tern_sublist_observer)(const tern_sub *sub, bool added);
void tern_sublist_set_observer(tern_sublist_observer fn);
/* Call fn for every subscription, under the read lock (fn must not
 * change this sublist). */
void tern_sublist_walk(tern_sublist *sl, void (*fn)(tern_sub *sub, void *arg), void *arg);

/* Match a published subject (a literal; may contain `*`/`>` tokens, which
 * then only match wildcard subscriptions at those positions). A subject
 * with an empty token matches nothing. Never returns NULL. */
const tern_sublist_result *tern_sublist_match(tern_sublist *sl,
                                              tern_sublist_cache *c,
                                              const char *subject, size_t len);

/* Subject validity (client-protocol.md §11). wildcards=true: a
 * subscription subject (`*` anywhere as a whole token, `>` last);
 * wildcards=false: a literal (pedantic publish check). */
bool tern_subject_valid(const char *s, size_t len, bool wildcards);

/* Cheap random index in [0, n) for queue member selection (per-thread
 * state; not cryptographic). */
uint32_t tern_sublist_rand(uint32_t n);

#endif
