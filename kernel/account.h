/* Accounts: isolated subject spaces, each with its own sublist. Without
 * configured accounts every client is in the global account "$G"; the
 * system account ("$SYS" unless `system_account` names another) always
 * exists, as in nats-server 2.9.
 *
 * Two layers:
 * - tern_accounts_conf: what the configuration says (names, exports,
 *   imports, limits). Immutable once built, reference counted; it hangs
 *   off the authentication configuration (auth.h), whose users name an
 *   account by index into it.
 * - tern_account: the runtime object (sublist, per-worker match caches,
 *   connection counter, the imports that route through it). The server
 *   builds one per configured account at start (tern_accounts_build), in
 *   the order of the configuration: index 0 is "$G". */
#ifndef TERN_ACCOUNT_H
#define TERN_ACCOUNT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sublist.h"

#define TERN_GLOBAL_ACCOUNT "$G"
#define TERN_SYSTEM_ACCOUNT "$SYS"
/* nats-server's default response_threshold for service exports. */
#define TERN_DEFAULT_RESPONSE_THRESHOLD_MS (2 * 60 * 1000)

typedef enum tern_xkind { TERN_STREAM, TERN_SERVICE } tern_xkind;

typedef enum tern_resp_type {
    TERN_RESP_SINGLETON,
    TERN_RESP_STREAM,
    TERN_RESP_CHUNKED,
} tern_resp_type;

typedef struct tern_export_conf {
    tern_xkind     kind;
    char          *subject;        /* may hold wildcards */
    char         **accounts;       /* restricted to these importers; */
    size_t         naccounts;      /* 0: public */
    tern_resp_type resp;           /* services */
    int64_t        threshold_ms;   /* services: response_threshold */
} tern_export_conf;

typedef struct tern_import_conf {
    tern_xkind kind;
    int        exporter;           /* account index */
    char      *subject;            /* in the exporter's space */
    char      *local;              /* in the importer's space (prefix or `to`
                                      applied); == subject when neither */
    const tern_export_conf *export; /* the export it matched */
} tern_import_conf;

/* A subject mapping (accounts `mappings`): messages published to a
 * subject matching `src` are routed to one destination, chosen by
 * weight (mappings.c). */
typedef struct tern_map_dest {
    char *subject;                 /* transform pattern ($1, {{wildcard(1)}}) */
    int   weight;                  /* percent, 1..100 */
} tern_map_dest;

typedef struct tern_mapping {
    char          *src;
    tern_map_dest *dests;
    size_t         ndests;
    int            total;          /* sum of weights; < 100: the rest
                                      keeps the original subject */
} tern_mapping;

typedef struct tern_account_conf {
    char             *name;
    tern_export_conf *exports;
    size_t            nexports;
    tern_import_conf *imports;
    size_t            nimports;
    int64_t           max_connections; /* -1: no limit */
    int64_t           max_subscriptions;
    int64_t           max_payload;
    tern_mapping     *mappings;
    size_t            nmappings;
} tern_account_conf;

typedef struct tern_accounts_conf {
    int                refs;       /* atomic */
    tern_account_conf *accs;       /* [0] is "$G" */
    size_t             n;
    int                system;     /* index of the system account */
} tern_accounts_conf;

/* A configuration with "$G" and the system account named sys (created
 * unless another call adds it first: see tern_accounts_conf_add). */
tern_accounts_conf *tern_accounts_conf_new(void);
tern_accounts_conf *tern_accounts_conf_ref(tern_accounts_conf *c);
void tern_accounts_conf_unref(tern_accounts_conf *c);
/* Index of the named account, or -1. */
int tern_accounts_conf_find(const tern_accounts_conf *c, const char *name);
/* Add an account (no limits, nothing shared); returns its index. */
int tern_accounts_conf_add(tern_accounts_conf *c, const char *name);
/* Free what an account entry holds (not the entry itself). */
void tern_account_conf_clear(tern_account_conf *a);
/* A deep copy; imports point at the copy's exports. */
tern_accounts_conf *tern_accounts_conf_clone(const tern_accounts_conf *c);

/* ---- runtime ------------------------------------------------------------ */

struct tern_resp_map;
struct tern_isub;

/* Messages and bytes of one account on one worker: only that worker
 * writes them (plain loads and stores, no locked instructions); readers
 * sum every worker's. "in": published by the account's clients; "out":
 * delivered to them. */
typedef struct tern_account_stats {
    _Alignas(64) _Atomic uint64_t in_msgs;   /* a cache line per worker */
    _Atomic uint64_t in_bytes, out_msgs, out_bytes;
} tern_account_stats;

static inline void tern_account_stat_add(_Atomic uint64_t *x, uint64_t n)
{
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

typedef struct tern_account {
    char               *name;
    int                 index;     /* in the server's registry */
    tern_sublist       *sl;
    tern_sublist_cache **caches;   /* one per worker: matching never shares
                                      state between workers */
    int                 nworkers;
    const tern_account_conf *conf; /* NULL for an account built bare */
    struct tern_accounts *reg;     /* the registry it belongs to */
    int64_t             max_connections; /* -1: no limit */
    int64_t             max_subscriptions;
    int64_t             max_payload;
    _Atomic int64_t     nconns;    /* bound client connections */
    tern_account_stats *stats;     /* one per worker */
    bool                removed;   /* dropped by a reload: no new binds,
                                      kept until shutdown (pointers to it
                                      may still be in flight) */
    /* Service exports: "_R_.<prefix>." replies of requests that came
     * through a service import (imports.c). */
    char                resp_prefix[12];
    struct tern_resp_map *resp;
    struct tern_isub    *resp_isub;
    struct tern_isub   **import_isubs; /* service imports (importer side) */
    size_t              nimport_isubs;
} tern_account;

tern_account *tern_account_new(const char *name, int nworkers);
void tern_account_free(tern_account *a);

static inline tern_sublist_cache *tern_account_cache(tern_account *a, int worker)
{
    return a->caches[worker];
}

/* Sum of an account's per-worker counters. */
void tern_account_stats_sum(const tern_account *a, uint64_t *in_msgs, uint64_t *in_bytes,
                            uint64_t *out_msgs, uint64_t *out_bytes);

struct tern_acc_spec;

/* The server's accounts, in configuration order ([0] is "$G"): the
 * index of an account in accs is its index in conf (imports name their
 * exporter by it). */
typedef struct tern_accounts {
    tern_account **accs;
    size_t         n;
    tern_account  *global;
    tern_account  *system;
    tern_accounts_conf *conf;      /* referenced */
    int            nworkers;
    /* Kept until shutdown: accounts a reload removed, the arrays and
     * configurations it replaced (other threads may still read them). */
    tern_account **dead;
    size_t         ndead;
    void         **old;
    size_t         nold;
    tern_accounts_conf **old_confs;
    size_t         nold_confs;
    /* Accounts created by modules (account_apply): re-applied over the
     * file's accounts at each reload (account_apply.c). */
    struct tern_acc_spec *specs;
    size_t         nspecs;
} tern_accounts;

/* Build the registry from conf (NULL: just "$G" and "$SYS"). */
void tern_accounts_build(tern_accounts *r, tern_accounts_conf *conf, int nworkers);
void tern_accounts_free(tern_accounts *r);
/* Worker `worker`'s quiescent point for every account's match cache
 * (sublist.h): results it retired since the last call are freed. */
void tern_accounts_quiesce(tern_accounts *r, int worker);
/* By name; NULL if unknown. */
tern_account *tern_accounts_find(const tern_accounts *r, const char *name);

struct tern_server;
/* Make the running server's accounts those of conf (file accounts; the
 * modules' are applied over it): accounts are matched by name, so the
 * clients of an account that stays keep their connection and their
 * subscriptions; new accounts are created; the clients of removed
 * accounts are disconnected; exports, imports, limits and mappings apply
 * live. Main thread, workers paused (server.h). account_reload.c. */
void tern_accounts_reload(struct tern_server *s, tern_accounts_conf *conf);
/* The same for a complete configuration already merged (account_apply). */
void tern_accounts_switch(struct tern_server *s, tern_accounts_conf *conf);
/* Free the modules' account specs (shutdown). */
void tern_acc_specs_free(tern_accounts *r);

#endif
