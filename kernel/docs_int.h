/* Internals shared by the docs_*.c files (docs.h is the interface): the
 * copied view of one connection, the worker snapshot, time formatting in
 * Go's forms, and the account list the documents walk. */
#ifndef TERN_DOCS_INT_H
#define TERN_DOCS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docs.h"
#include "sublist.h"

typedef struct tern_account tern_account;

/* One subscription as connz/subsz print it. */
typedef struct tern_docs_sub {
    char    *subject;
    char    *queue;         /* NULL: none */
    char    *sid;
    uint64_t msgs;
    uint64_t max;           /* 0: none */
} tern_docs_sub;

/* One connection, copied on its worker (or at close): everything a
 * ConnInfo needs, owned by this struct. Times are wall-clock ns. */
typedef struct tern_docs_conn {
    uint64_t      cid;
    char          ip[46];
    int           port;
    int64_t       start_ns;
    int64_t       last_ns;
    int64_t       stop_ns;      /* 0: open */
    const char   *reason;       /* static text; NULL while open */
    int64_t       rtt_ns;       /* 0: not measured */
    int64_t       pending;
    uint64_t      in_msgs, in_bytes, out_msgs, out_bytes;
    uint32_t      nsubs;
    char         *name, *lang, *version;
    char         *tls_version, *tls_cipher;
    char         *auth_user;    /* as nats-server's getRawAuthUser */
    char         *username;     /* CONNECT "user": the user filter */
    char         *account;
    tern_docs_sub *subs;        /* copied when asked (always when closed) */
    size_t        nsubs_copied;
} tern_docs_conn;

/* Fill out from c on c's worker thread. now_ns is the wall clock, now_ms
 * the worker loop's time (for the loop-time fields). */
void tern_docs_conn_fill(tern_docs_conn *out, const tern_client *c, int64_t now_ns,
                         uint64_t now_ms, bool subs);
void tern_docs_conn_clear(tern_docs_conn *c);
void tern_docs_conn_copy(tern_docs_conn *dst, const tern_docs_conn *src);

/* Closed connections, oldest first, deep copies (docs_closed.c). */
size_t tern_docs_closed_copy(tern_docs_conn **out);

/* ---- worker snapshot (docs_snap.c) -------------------------------------- */

enum {
    TERN_DOCS_SNAP_CONNS = 1u << 0,  /* the connections */
    TERN_DOCS_SNAP_SUBS  = 1u << 1,  /* … with their subscriptions */
};

typedef struct tern_docs_snapshot {
    tern_docs_conn *conns;
    size_t          n;
    /* Match-cache figures per account (tern_docs_accounts order), summed
     * over the workers (fanout_max: the largest): each cache is its
     * worker's to read. */
    tern_sublist_cstats *caches;
    size_t          naccounts;
    bool            complete;        /* every worker answered in time */
} tern_docs_snapshot;

/* Post a copy task to every worker and wait up to wait_ms for them; from
 * a worker thread, that worker's own part is copied inline. */
void tern_docs_snapshot_take(tern_server *s, unsigned flags, int wait_ms,
                             tern_docs_snapshot *out);
void tern_docs_snapshot_free(tern_docs_snapshot *snap);

/* ---- accounts ------------------------------------------------------------ */

/* The server's accounts in registry order ("$G" first): *out points into
 * the registry, which lives as long as the server. Returns the number. */
size_t tern_docs_accounts(tern_server *s, tern_account *const **out);
/* The system account's name, or NULL while there is none. */
const char *tern_docs_system_account(tern_server *s);

/* ---- sublist statistics -------------------------------------------------- */

typedef struct tern_docs_slstats {
    uint64_t num_subs, num_cache, num_inserts, num_removes, num_matches;
    uint64_t cache_hits;
    uint64_t max_fanout, tot_fanout, cache_cnt;
} tern_docs_slstats;

/* Account i of snap (tern_docs_accounts order) added into st. */
void tern_docs_slstats_add(tern_docs_slstats *st, tern_account *a, const tern_docs_snapshot *snap,
                           size_t i);
/* The SublistStats fields, appended to obj in nats-server's order. */
void tern_docs_slstats_put(json_t *obj, const tern_docs_slstats *st);

/* ---- counters (docs_varz.c) ---------------------------------------------- */

/* The per-worker counters summed (each is written by its worker only). */
typedef struct tern_docs_totals {
    uint64_t in_msgs, in_bytes, out_msgs, out_bytes, slow_consumers;
} tern_docs_totals;

tern_docs_totals tern_docs_sum_workers(tern_server *s);
/* Subscriptions over every account's sublist. */
uint64_t tern_docs_count_subscriptions(tern_server *s);

/* ---- formatting (docs_time.c) -------------------------------------------- */

int64_t tern_docs_now_ns(void);
/* RFC 3339 with nanoseconds, trailing zeros trimmed, UTC (Go's
 * time.RFC3339Nano as encoding/json writes it). */
json_t *tern_docs_time(int64_t ns);
/* Go's time.Duration.String(): "0s", "586µs", "1.5ms", "1h2m3.5s". */
void tern_docs_go_duration(int64_t ns, char *out, size_t outlen);
/* nats-server's myUptime: "1y2d3h4m5s", largest unit first, whole seconds. */
void tern_docs_uptime(int64_t ns, char *out, size_t outlen);
/* A JSON string of s (NULL: ""), invalid UTF-8 bytes as U+FFFD. */
json_t *tern_docs_str(const char *s);
/* A float64 as Go writes it: integral values without a fraction. */
json_t *tern_docs_number(double v);
/* Process start, RSS bytes, CPU percent, cores (docs_time.c). */
int64_t tern_docs_process_start_ns(void);
int64_t tern_docs_rss(void);
double  tern_docs_cpu_percent(void);
int     tern_docs_cores(void);
/* Server clock (docs_misc.c). */
int64_t tern_docs_start_ns(void);
int64_t tern_docs_config_load_ns(void);

/* ---- query parameters (docs_misc.c) -------------------------------------- */

/* Go's strconv.ParseBool / Atoi / ParseUint with nats-server's 400 texts.
 * An absent or empty parameter leaves *out unchanged and succeeds. */
int tern_docs_param_bool(tern_docs_param_fn get, void *ud, const char *name, bool *out,
                         char *err, size_t errlen);
int tern_docs_param_int(tern_docs_param_fn get, void *ud, const char *name, int *out,
                        char *err, size_t errlen);
int tern_docs_param_u64(tern_docs_param_fn get, void *ud, const char *name, uint64_t *out,
                        char *err, size_t errlen);
const char *tern_docs_param(tern_docs_param_fn get, void *ud, const char *name);

#endif
