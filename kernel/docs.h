/* The monitoring documents: /varz, /connz, /subsz, /statsz, /healthz,
 * /accountz, /accstatz and the /routez, /gatewayz, /leafz answers of a
 * server without those links, as jansson values with nats-server 2.9.10's
 * field names, types, order and query options (reference/monitoring.md).
 * The HTTP monitor module and the system account's $SYS.REQ.SERVER.*
 * services serve the same documents; docs/monitoring.md says how they are
 * gathered.
 *
 * Thread rule: call from any thread that is not a worker — normally the
 * main loop's, since opts and the listener are the main thread's and are
 * only stable there while a reload may run. Documents that need
 * per-connection data post a snapshot task to every worker and wait for
 * the copies (bounded: TERN_DOCS_WAIT_MS); a worker that does not answer
 * in time is left out rather than stalling the caller. */
#ifndef TERN_DOCS_H
#define TERN_DOCS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tern_server tern_server;
typedef struct tern_client tern_client;

#define TERN_DOCS_WAIT_MS        2000
#define TERN_DOCS_DEFAULT_LIMIT  1024   /* connz and subsz page size */
#define TERN_DOCS_MAX_CLOSED     10000  /* nats-server's max_closed_clients */

/* Query parameters as the caller has them (decoded); NULL or "" when the
 * parameter is absent, which means its default, as Go's Query().Get. */
typedef const char *(*tern_docs_param_fn)(void *ud, const char *name);

/* ---- /varz ------------------------------------------------------------ */

/* What only the HTTP side knows. NULL fields: host → the client host,
 * base path "", request counts {}. */
typedef struct tern_docs_http {
    const char *host;
    int         port;
    int         https_port;
    const char *base_path;
    json_t     *req_stats;      /* {path: count}; copied */
} tern_docs_http;

json_t *tern_docs_varz(tern_server *s, const tern_docs_http *http);

/* ---- /connz ----------------------------------------------------------- */

typedef enum tern_docs_state {
    TERN_DOCS_OPEN,
    TERN_DOCS_CLOSED,
    TERN_DOCS_ALL,
} tern_docs_state;

typedef struct tern_docs_connz_opts {
    const char     *sort;       /* NULL/"": by cid. cid, start, subs,
                                   pending, msgs_to, msgs_from, bytes_to,
                                   bytes_from, last, idle (descending but
                                   cid/start), uptime (ascending), stop,
                                   reason (closed only) */
    bool            auth;       /* authorized_user, account */
    bool            subs;       /* subscriptions_list */
    bool            subs_detail;/* subscriptions_list_detail */
    int             offset;
    int             limit;      /* <= 0: TERN_DOCS_DEFAULT_LIMIT */
    uint64_t        cid;        /* 0: every connection */
    tern_docs_state state;
    const char     *user;       /* filters; NULL or "": none */
    const char     *acc;
    const char     *mqtt_client;
} tern_docs_connz_opts;

/* Parse HTTP query parameters (sort, auth, subs, offset, limit, cid,
 * state, user, acc, mqtt_client). Returns 0, or -1 with nats-server's
 * 400 text in err ("Error decoding boolean for 'auth': …"). Strings in o
 * point into what get returned. */
int tern_docs_connz_parse(tern_docs_param_fn get, void *ud, tern_docs_connz_opts *o,
                          char *err, size_t errlen);
/* NULL with err (400 text) for invalid combinations ("sort by stop only
 * valid on closed connections", "invalid sorting option: x"). */
json_t *tern_docs_connz(tern_server *s, const tern_docs_connz_opts *o, char *err, size_t errlen);

/* ---- /subsz ----------------------------------------------------------- */

typedef struct tern_docs_subsz_opts {
    bool        subs;
    int         offset;
    int         limit;
    const char *test;           /* a literal publish subject */
    const char *acc;
} tern_docs_subsz_opts;

int tern_docs_subsz_parse(tern_docs_param_fn get, void *ud, tern_docs_subsz_opts *o,
                          char *err, size_t errlen);
/* Only the sublist statistics when the listing is empty (nats-server). */
json_t *tern_docs_subsz(tern_server *s, const tern_docs_subsz_opts *o, char *err, size_t errlen);

/* ---- /statsz (ServerStatsMsg, system-account.md §3) --------------------- */

/* seq: the sender's event sequence number (the events code owns it). */
json_t *tern_docs_statsz(tern_server *s, uint64_t seq);

/* ---- the rest ----------------------------------------------------------- */

/* {"status":"ok"} or {"status":"error","error":…}; *http_status 200 or 503.
 * Query: js-enabled, js-enabled-only, js-server-only (booleans; a bad one
 * → NULL with the 400 text). */
json_t *tern_docs_healthz(tern_server *s, tern_docs_param_fn get, void *ud, int *http_status,
                          char *err, size_t errlen);
/* acc NULL/"": the account names; else that account's detail, or NULL with
 * "Account <x> does not exist". */
json_t *tern_docs_accountz(tern_server *s, const char *acc, char *err, size_t errlen);
json_t *tern_docs_accstatz(tern_server *s, bool include_unused);
/* Routes, gateways and leaf nodes are modules; without them, these are
 * nats-server's answers when the feature is off. */
json_t *tern_docs_routez(tern_server *s);
json_t *tern_docs_gatewayz(tern_server *s);
json_t *tern_docs_leafz(tern_server *s);

/* One entry point for the HTTP and $SYS sides: name is "varz", "connz",
 * "subsz" (or "subscriptionsz"), "healthz", "accountz", "accstatz",
 * "routez", "gatewayz", "leafz", "statsz". Returns the document, or NULL
 * with *http_status 400 (err holds the text) or 404 (unknown name).
 * *http_status is 200, or 503 for an unhealthy /healthz. */
json_t *tern_docs_get(tern_server *s, const char *name, tern_docs_param_fn get, void *ud,
                      const tern_docs_http *http, int *http_status, char *err, size_t errlen);

/* Text as nats-server sends it: pretty = 2-space indent (the HTTP pages),
 * else compact. Reals with at most 15 significant digits. Caller frees. */
char *tern_docs_dumps(const json_t *doc, bool pretty);

/* ---- closed connections (docs_closed.c) --------------------------------- */

/* Keep the last max closed connections for connz?state=closed (0: none).
 * The default is TERN_DOCS_MAX_CLOSED; shrinking drops the oldest. */
void tern_docs_closed_configure(size_t max);
/* Record a closing client: called once by tern_client_close on the
 * client's worker (or a visitor holding its run lock), before its
 * subscriptions go. */
void tern_docs_closed_add(const tern_client *c);

/* ---- server clock (docs_misc.c) ----------------------------------------- */

/* The server's start and last configuration load, for varz/statsz. Until
 * marked, both are the process start time. */
void tern_docs_mark_start(void);
void tern_docs_mark_config_load(void);

#endif
