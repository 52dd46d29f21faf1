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

typedef struct tern_account_conf {
    char             *name;
    tern_export_conf *exports;
    size_t            nexports;
    tern_import_conf *imports;
    size_t            nimports;
    int64_t           max_connections; /* -1: no limit */
    int64_t           max_subscriptions;
    int64_t           max_payload;
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

/* ---- runtime ------------------------------------------------------------ */

struct tern_resp_map;
struct tern_isub;

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

/* The server's accounts, in configuration order ([0] is "$G"). */
typedef struct tern_accounts {
    tern_account **accs;
    size_t         n;
    tern_account  *global;
    tern_account  *system;
    tern_accounts_conf *conf;      /* referenced */
} tern_accounts;

/* Build the registry from conf (NULL: just "$G" and "$SYS"). */
void tern_accounts_build(tern_accounts *r, tern_accounts_conf *conf, int nworkers);
void tern_accounts_free(tern_accounts *r);
/* Worker `worker`'s quiescent point for every account's match cache
 * (sublist.h): results it retired since the last call are freed. */
void tern_accounts_quiesce(tern_accounts *r, int worker);
/* By name; NULL if unknown. */
tern_account *tern_accounts_find(const tern_accounts *r, const char *name);

#endif
