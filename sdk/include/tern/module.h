/* The Tern module ABI: everything a module (.so) sees of the server.
 *
 * A module exports exactly one symbol, tern_module_entry (use
 * TERN_MODULE_DEFINE), returning a static descriptor. The server checks
 * the descriptor's ABI version, then calls init with the host API table:
 * a struct of function pointers that only ever grows at its end
 * (append-only, the SQLite way). Modules never link kernel code; they are
 * built against these headers alone and loaded RTLD_NOW | RTLD_LOCAL from
 * a private copy of their file.
 *
 * Versioning: TERN_ABI_MAJOR changes only when something existing
 * changes (a slot's signature, a struct's layout): a module built for
 * another major is refused. TERN_ABI_MINOR grows when slots or events
 * are appended: a module built against minor N loads into any server
 * whose minor is >= N; a module that wants a newer slot optionally tests
 * TERN_API_HAS(api, slot) first.
 *
 * Threads (see sdk/README.md):
 *  - init, reload, fini, validate, export_state/import_state, timers, fd
 *    watches (1.2) and TERN_EVT_TICK / TERN_EVT_RELOADED hooks run on the
 *    server's main thread. reload runs while every worker is paused, so
 *    hooks never run concurrently with it.
 *  - Connection hooks (TERN_EVT_AUTH, TERN_EVT_CLIENT_CONNECTED,
 *    TERN_EVT_CLIENT_CLOSED) run on the worker thread owning the
 *    connection: several workers call them concurrently. They must not
 *    block.
 *  - Message callbacks of internal subscriptions run on the publishing
 *    worker's thread, concurrently.
 *  - Host API calls marked "any thread" may be called from threads the
 *    module created; the others only from a thread the server called the
 *    module on.
 * A module's own threads must be joined in fini. */
#ifndef TERN_SDK_MODULE_H
#define TERN_SDK_MODULE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tern/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_ABI_MAJOR 1
#define TERN_ABI_MINOR 3

#define TERN_MODULE_MAGIC 0x4e524554u        /* "TERN" little-endian */
#define TERN_MODULE_ENTRY_SYMBOL "tern_module_entry"

#define TERN_EXPORT __attribute__((visibility("default")))

/* ---- results --------------------------------------------------------- */

/* 0 or a negative errno-style code. */
typedef int32_t tern_rc;
#define TERN_OK       0
#define TERN_ENOENT   (-2)    /* absent (a config key, an account) */
#define TERN_ENOMEM   (-12)
#define TERN_EEXIST   (-17)
#define TERN_EINVAL   (-22)   /* details: api->error(m) */
#define TERN_ENOTSUP  (-95)
#define TERN_ESTALE   (-116)  /* the operation's target is gone */

/* A decision hook's answer. IGNORE: no opinion, the next hook (and at
 * last the kernel's own configuration) decides. */
typedef enum tern_verdict {
    TERN_VERDICT_IGNORE  = 0,
    TERN_VERDICT_ALLOW   = 1,
    TERN_VERDICT_DENY    = 2,
    TERN_VERDICT_PENDING = 3,   /* TERN_EVT_AUTH only: completed later */
} tern_verdict;

enum tern_module_log_level {
    TERN_LOG_LEVEL_ERROR = 0,
    TERN_LOG_LEVEL_WARN  = 1,
    TERN_LOG_LEVEL_INFO  = 2,
    TERN_LOG_LEVEL_DEBUG = 3,
};

/* Priorities: lower runs first; equal priorities run in load order. */
#define TERN_PRIO_FIRST   (-1000)
#define TERN_PRIO_DEFAULT 0
#define TERN_PRIO_LAST    1000

/* ---- opaque handles --------------------------------------------------- */

typedef struct tern_module tern_module;   /* one loaded generation of a module */
typedef struct tern_config tern_config;   /* a node of the module's YAML subtree */

/* The token of a pending asynchronous decision: plain values, never a
 * pointer; copy it freely to other threads. */
typedef struct tern_async {
    uint64_t cid;                 /* the connection */
    uint64_t op;                  /* the decision */
} tern_async;

/* A state blob handed from a retiring generation to its successor:
 * bytes only (never pointers into the old module). data is allocated
 * with api->alloc; the receiver does not free it. */
typedef struct tern_blob {
    uint32_t schema;              /* the module's own format id */
    uint32_t version;             /* the format's version */
    size_t   len;
    void    *data;
} tern_blob;

/* ---- events ------------------------------------------------------------ */

/* Event ids are numbered explicitly and never reused. */
enum tern_event_id {
    /* decision, asynchronous; worker thread. A CONNECT to authenticate. */
    TERN_EVT_AUTH             = 1,
    /* reserved: resolve an account by name (resolvers), asynchronous. */
    TERN_EVT_ACCOUNT_RESOLVE  = 2,
    /* notify; worker thread. A connection was authenticated. */
    TERN_EVT_CLIENT_CONNECTED = 3,
    /* notify; worker thread. A connection is closing. */
    TERN_EVT_CLIENT_CLOSED    = 4,
    /* notify (1.1); the worker thread where the change happened, several
     * concurrently. Interest in an account changed (tern_evt_interest). */
    TERN_EVT_INTEREST_ADDED   = 5,
    TERN_EVT_INTEREST_REMOVED = 6,
    /* notify; main thread, once a second. */
    TERN_EVT_TICK             = 7,
    /* notify; main thread, after a reload (SIGHUP) completed. */
    TERN_EVT_RELOADED         = 8,
    /* decision; any thread asking for a document (monitoring). */
    TERN_EVT_INFO             = 9,
    /* reserved: link protocols (route, gateway, leaf node) open / close. */
    TERN_EVT_LINK_OPEN        = 10,
    TERN_EVT_LINK_CLOSED      = 11,
    /* notify (1.1); main thread, once. The server entered lame duck mode
     * (SIGUSR2) and is about to move its clients away (tern_evt_tick). */
    TERN_EVT_LAME_DUCK        = 12,
    TERN_EVT_MAX_            = 13,
};

/* Every payload starts with this header: read fields only below
 * hdr.size (newer servers append fields). */
typedef struct tern_evt_hdr {
    uint32_t evt;
    uint32_t size;
} tern_evt_hdr;

/* TERN_EVT_AUTH. Strings are borrowed until the hook returns (NULL when
 * the client did not send them). To decide synchronously return ALLOW
 * (optionally setting account) or DENY. To decide later, copy token,
 * return PENDING and call api->auth_complete from any thread. The
 * client's input is paused meanwhile; the kernel's auth_timeout still
 * applies, and a completion after the client left is a no-op. */
typedef struct tern_evt_auth {
    tern_evt_hdr hdr;
    tern_async   token;
    const char  *user, *pass, *auth_token, *nkey, *sig;
    const char  *nonce;           /* the one sent in INFO, NULL when none */
    const char  *client_name;
    const char  *ip;
    int          port;
    /* out, ALLOW only: the account to bind the client to (NULL: the
     * global account); copied by the server before the hook returns. */
    const char  *account;
    /* -- 1.1 -- */
    const char  *jwt;             /* CONNECT's jwt (NULL: none) */
    /* out, ALLOW only (copied before the hook returns, or taken from
     * auth_complete_ex): the user's permissions as JSON text with the
     * shape of a conf.d user's `permissions` ({"publish":{"allow":[..],
     * "deny":[..]},"subscribe":{..},"allow_responses":{"max":1,
     * "expires":"5s"}}), plus optionally "limits":{"subs":N,"payload":N}
     * (N >= 0: the connection's subscriptions, a message's payload
     * bytes; the account's and server's limits still apply), NULL: none;
     * and the name the client is known by in monitoring and events
     * (NULL: the user/nkey it sent). */
    const char  *permissions;
    const char  *user_name;
} tern_evt_auth;

/* TERN_EVT_CLIENT_CONNECTED / TERN_EVT_CLIENT_CLOSED. */
typedef struct tern_evt_client {
    tern_evt_hdr hdr;
    uint64_t     cid;
    const char  *account;
    const char  *ip;
    int          port;
    const char  *reason;          /* CLOSED: why; CONNECTED: NULL */
    /* -- 1.1 -- */
    const char  *user;            /* the authenticated user/nkey, NULL: none */
} tern_evt_client;

/* TERN_EVT_TICK, TERN_EVT_RELOADED and TERN_EVT_LAME_DUCK. */
typedef struct tern_evt_tick {
    tern_evt_hdr hdr;
    uint64_t     now_ms;          /* monotonic */
} tern_evt_tick;

/* TERN_EVT_INFO: answer a document name ("routez", "gatewayz", "leafz",
 * or the module's own) by setting json to JSON text allocated with
 * api->alloc/strdup (the server frees it) and returning ALLOW; IGNORE
 * when the name is not yours. The first answer wins, except for "varz"
 * (1.3): every provider may answer it with a JSON object whose keys
 * replace the kernel's in /varz — a link module's section ("cluster",
 * "gateway", "leaf") and counts ("routes", "remotes", "leafnodes").
 * Do not ask for the "varz" document (api->document) from inside it. */
typedef struct tern_evt_info {
    tern_evt_hdr hdr;
    const char  *name;
    char        *json;            /* out */
    /* -- 1.1 -- */
    const char  *query;           /* the request's options as URL query
                                     text without '?' (routez: "subs=1"),
                                     NULL: none */
} tern_evt_info;

/* TERN_EVT_INTEREST_ADDED / TERN_EVT_INTEREST_REMOVED (1.1). The
 * kernel counts subscriptions per (account, subject, queue, source):
 * source 0 is local interest (clients, internal subscriptions, stream
 * imports), otherwise the id of the link protocol whose links reported
 * it (tern_proto_register). ADDED fires when the count leaves 0 and,
 * for a queue group, whenever it changes (count is the new total, the
 * queue weight a route announces); REMOVED when it returns to 0. Events
 * of one (account, subject, queue, source) are delivered in order. Hooks
 * only run when some module registered one (no cost otherwise). */
typedef struct tern_evt_interest {
    tern_evt_hdr hdr;
    const char  *account;
    const char  *subject;
    const char  *queue;           /* NULL: plain interest */
    uint32_t     count;           /* the new total (0 for REMOVED) */
    uint32_t     source;          /* 0 local, else a link protocol id */
    /* -- 1.3 -- */
    /* The name of source's protocol ("route", "leaf", …; ids differ
     * between generations of a module, names do not); NULL for local. */
    const char  *source_name;
} tern_evt_interest;

/* A hook: hdr points to the event's payload struct. */
typedef tern_verdict (*tern_hook_fn)(tern_module *m, const tern_evt_hdr *hdr, void *ud);
/* A timer callback (main thread). */
typedef void (*tern_timer_fn)(tern_module *m, uint64_t id, void *ud);
/* A message on an internal subscription (a worker thread, concurrently):
 * everything is borrowed for the call. reply: NULL when absent. */
typedef void (*tern_msg_fn)(tern_module *m, const char *subject, const char *reply,
                            const void *data, size_t len, void *ud);

/* ---- connections of modules (1.1) ----------------------------------------
 *
 * A module registers a protocol, then listens or dials with it; the
 * kernel owns the sockets, TLS, buffering and backpressure, and calls
 * the protocol's callbacks with the bytes. A LINK protocol (route,
 * gateway, leaf node) also carries messages: its module reports the
 * remote side's interest (api->link_interest), which the kernel keeps in
 * the account's sublist like a subscription, hands each matching local
 * message to the link's msg callback for framing, and injects what the
 * link receives (api->link_publish). A plain protocol (HTTP) only moves
 * bytes.
 *
 * Threads: a LINK connection is owned by one worker; its callbacks run
 * there, one at a time. A protocol with TERN_PROTO_MAIN_THREAD (e.g.
 * HTTP for monitoring, which reads documents) has its connections on
 * the main thread. Connection ids are plain numbers from the same space
 * as client cids: a call naming a closed one returns TERN_ESTALE. */

enum tern_proto_flags {
    TERN_PROTO_LINK        = 1u << 0,  /* carries interest and messages */
    TERN_PROTO_MAIN_THREAD = 1u << 1,  /* connections live on the main thread */
};

/* What open is told about a new connection; valid during the call. */
typedef struct tern_conn_info {
    uint32_t    size;
    uint64_t    id;               /* the connection */
    uint64_t    origin;           /* the listener's or dial's id */
    bool        outbound;         /* dialed by us */
    const char *ip;               /* the peer */
    int         port;
} tern_conn_info;

/* A local message for a link (msg callback; valid during the call). The
 * kernel already chose, per queue group, whether this link gets the
 * message (local members first, then remote ones by weight): queues
 * lists the groups this copy is for; plain is true when a non-queue
 * remote subscription of the link matched. data holds hdr_len bytes of
 * headers (0: none) then the payload, len bytes in all. */
typedef struct tern_link_msg {
    uint32_t           size;
    const char        *account;
    const char        *subject;
    const char        *reply;     /* NULL: none */
    const void        *data;
    size_t             hdr_len;
    size_t             len;
    const char *const *queues;
    size_t             nqueues;
    bool               plain;
} tern_link_msg;

typedef struct tern_proto {
    uint32_t    size;             /* sizeof(tern_proto) at build time */
    const char *name;             /* "route", "http", … (logs, monitoring) */
    uint32_t    flags;            /* tern_proto_flags */
    /* A connection is up (after TLS when the listener/dial asked for it
     * first). *conn_ud: the module's per-connection state. Non-OK closes
     * it. */
    tern_rc (*open)(tern_module *m, const tern_conn_info *ci, void *ud, void **conn_ud);
    /* Bytes arrived (after TLS). Keep what you need: the bytes are
     * borrowed. Non-OK closes the connection, api->error(m) the reason. */
    tern_rc (*data)(tern_module *m, uint64_t conn, void *conn_ud, const void *bytes,
                    size_t len);
    /* The connection is gone (peer, error, api->conn_close, unload):
     * free conn_ud. Its link interest is already removed. Called for
     * every connection whose open succeeded and for a dial that never
     * connected (conn_ud NULL), not when open failed. On unload every
     * closed has returned before fini starts. */
    void (*closed)(tern_module *m, uint64_t conn, void *conn_ud, const char *reason);
    /* LINK only: frame msg for the peer with api->conn_write. It may run
     * on the link's worker while the module is inside another link's
     * callback on the same worker (a publish made from that callback). */
    void (*msg)(tern_module *m, uint64_t conn, void *conn_ud, const tern_link_msg *msg);
    /* ---- ABI 1.3 ---- */
    /* LINK only: names of the protocols whose messages this link never
     * gets, NULL-ended (NULL: none; the strings are copied). A gateway
     * names "route": a message that crossed a route was already sent to
     * the other clusters by the server it was published on. A link's own
     * protocol is excluded per message by TERN_LINK_PUB_NO_SAME_PROTO. */
    const char *const *no_msgs_from;
    /* LINK only: a queue group's member behind this link is chosen only
     * when no local member and no member behind a link of a lower rank
     * can take the message. 0: inside the cluster (routes, leaf nodes);
     * a gateway: 1 (another cluster's members serve only when this
     * cluster has none). */
    uint32_t queue_rank;
} tern_proto;

/* TLS for a listener or a dial: the same keys as conf.d server.tls. */
typedef struct tern_tls_spec {
    uint32_t    size;
    const char *cert, *key, *ca;  /* paths; NULL: none */
    bool        verify;           /* require/verify the peer's certificate */
    bool        first;            /* handshake before open (HTTPS); else the
                                     module calls conn_starttls when its
                                     protocol says so */
    int64_t     timeout_ms;       /* 0: 2 s */
    const char *server_name;      /* dial only: SNI and name check */
    bool        insecure;         /* dial only: skip the peer name check */
} tern_tls_spec;

/* Flags for api->link_publish. */
enum tern_link_pub_flags {
    /* Deliver to local queue subscribers only for the groups named in
     * queues (a route's RMSG); without it a queue group gets one copy
     * chosen as for a local publish. */
    TERN_LINK_PUB_QUEUES_LISTED = 1u << 0,
    /* Do not pass the message to any link of the same protocol (routes
     * and gateways: one hop). The link it came from never gets it back. */
    TERN_LINK_PUB_NO_SAME_PROTO = 1u << 1,
};

/* One aggregated local interest (interest_walk). */
typedef void (*tern_interest_fn)(const char *account, const char *subject, const char *queue,
                                 uint32_t count, void *ud);
/* One account (account_walk). */
typedef void (*tern_account_fn)(const char *account, void *ud);

/* ---- file descriptors on the main loop (1.2) ------------------------------ */

/* What fd_watch waits for, and what its callback is told is ready.
 * TERN_FD_ERROR is only ever reported (an error or hang-up on the fd). */
enum tern_fd_events {
    TERN_FD_READ  = 1u << 0,
    TERN_FD_WRITE = 1u << 1,
    TERN_FD_ERROR = 1u << 2,
};
/* The watched fd is ready (main thread): events holds the ready
 * TERN_FD_* bits. Watches are level-triggered: it runs again on the next
 * loop iteration while the fd stays ready. It may call fd_watch and
 * fd_unwatch, also for this watch. */
typedef void (*tern_fd_fn)(tern_module *m, uint64_t id, int fd, uint32_t events, void *ud);

/* ---- the host API table ----------------------------------------------- */

/* Append-only: slots are never removed, reordered or changed; new ones
 * go at the end and raise TERN_ABI_MINOR (tests/data/module_api.golden
 * lists the order). */
typedef struct tern_host_api {
    uint32_t size;                /* sizeof the server's table */
    uint16_t abi_major, abi_minor;

    /* -- 1.0: logging and errors -- */
    /* Log a line prefixed with the module's name. Any thread. */
    void (*log)(tern_module *m, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* Set the text explaining a failure returned from init, reload,
     * validate or import_state. Any thread (per module: last one wins). */
    void (*set_error)(tern_module *m, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
    /* The module's last error text ("" when none): set by set_error or by
     * a failing config getter. Valid until the next call that sets one. */
    const char *(*error)(tern_module *m);

    /* -- 1.0: memory crossing the boundary. Any thread. -- */
    void *(*alloc)(size_t n);
    void  (*free)(void *p);
    char *(*strdup)(const char *s);

    /* -- 1.0: hooks -- */
    /* Register fn for event evt; only from init. Lower prio first (the
     * loader's priority: key overrides it). TERN_EEXIST for the same
     * (evt, fn, ud) twice; TERN_ENOTSUP for a reserved event id. */
    tern_rc (*hook_register)(tern_module *m, uint32_t evt, int32_t prio, tern_hook_fn fn,
                             void *ud);
    /* Complete a PENDING TERN_EVT_AUTH. Any thread; posts the result to
     * the connection's worker. TERN_ESTALE when the connection is gone or
     * already decided (then nothing happens). account as in the event. */
    tern_rc (*auth_complete)(tern_async token, tern_verdict v, const char *account);

    /* -- 1.0: configuration (the module's subtree; nodes live as long as
     * the configuration they came with: until reload/fini returns). -- */
    /* A map's value by key, or NULL (absent, or n is not a map). */
    const tern_config *(*conf_get)(const tern_config *map, const char *key);
    /* 0 null, 1 scalar, 2 map, 3 list (NULL: 0). */
    int (*conf_type)(const tern_config *n);
    /* Items of a list, or pairs of a map. */
    size_t (*conf_len)(const tern_config *n);
    /* The i-th item of a list, or the i-th value of a map. */
    const tern_config *(*conf_at)(const tern_config *n, size_t i);
    /* The i-th key of a map (NULL otherwise). */
    const char *(*conf_key_at)(const tern_config *n, size_t i);
    /* Typed reads: TERN_OK, TERN_ENOENT (n NULL) or TERN_EINVAL with
     * "file:line:column: reason" in api->error(m). str: borrowed like the
     * node. path: relative to the file's folder, allocated (api->free). */
    tern_rc (*conf_str)(tern_module *m, const tern_config *n, const char **out);
    tern_rc (*conf_bool)(tern_module *m, const tern_config *n, bool *out);
    tern_rc (*conf_int)(tern_module *m, const tern_config *n, int64_t *out);
    tern_rc (*conf_size)(tern_module *m, const tern_config *n, int64_t *out);
    tern_rc (*conf_duration_ms)(tern_module *m, const tern_config *n, int64_t *out);
    tern_rc (*conf_path)(tern_module *m, const tern_config *n, char **out);
    /* TERN_EINVAL naming the first key of map not in the NULL-terminated
     * allowed list (the loader's keys enabled/path/priority are skipped). */
    tern_rc (*conf_check_keys)(tern_module *m, const tern_config *map,
                               const char *const *allowed);
    /* Set "file:line:column: <text>" for node n as the error; returns
     * TERN_EINVAL. */
    tern_rc (*conf_error)(tern_module *m, const tern_config *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* -- 1.0: timers on the main loop, stopped when the module unloads.
     * Main thread. repeat_ms 0: once. -- */
    tern_rc (*timer_start)(tern_module *m, uint64_t first_ms, uint64_t repeat_ms,
                           tern_timer_fn fn, void *ud, uint64_t *id);
    tern_rc (*timer_stop)(tern_module *m, uint64_t id);

    /* -- 1.0: routing -- */
    /* Publish into an account (NULL: the global account). Any thread:
     * from a message callback it is routed right away, otherwise handed
     * to a worker. TERN_ENOENT: no such account. */
    tern_rc (*publish)(tern_module *m, const char *account, const char *subject,
                       const char *reply, const void *data, size_t len);
    /* Subscribe the module in an account (wildcards, optional queue
     * group). Main thread. Removed automatically when the module unloads. */
    tern_rc (*sub_add)(tern_module *m, const char *account, const char *subject,
                       const char *queue, tern_msg_fn fn, void *ud, uint64_t *id);
    tern_rc (*sub_remove)(tern_module *m, uint64_t id);
    /* Whether the account exists. Any thread. */
    bool (*account_exists)(tern_module *m, const char *name);

    /* -- 1.0: nkeys. Any thread. -- */
    /* Whether text is a valid public nkey of that kind ('U' user, 'A'
     * account, 'O' operator, 'N' server; 0: any). */
    bool (*nkey_valid_public)(const char *text, char kind);
    /* Verify an Ed25519 signature (raw 64 bytes) by a public nkey. */
    bool (*nkey_verify)(const char *public_key, const void *msg, size_t len,
                        const void *sig, size_t sig_len);

    /* -- 1.0: server facts. Any thread. -- */
    const char *(*server_id)(tern_module *m);

    /* -- 1.1: connections of modules (see "connections of modules"). -- */
    /* Register a protocol; only from init. *id: the protocol's id (the
     * source of its links' interest events). */
    tern_rc (*proto_register)(tern_module *m, const tern_proto *p, void *ud, uint32_t *id);
    /* Listen on host:port (port 0: any; *bound: the port bound). tls NULL:
     * plain. Main thread. Closed on unload; TERN_EINVAL with the reason
     * (e.g. the address is in use). During a swap, the new generation's
     * listen on an address the old generation bound takes that socket
     * over. */
    tern_rc (*listen)(tern_module *m, uint32_t proto, const char *host, int port,
                      const tern_tls_spec *tls, uint64_t *id, int *bound);
    tern_rc (*unlisten)(tern_module *m, uint64_t id);
    /* Connect to host:port; *id is the connection's id. open or closed
     * (with the reason, e.g. "connection refused") follows on the
     * connection's thread. Main thread. */
    tern_rc (*dial)(tern_module *m, uint32_t proto, const char *host, int port,
                    const tern_tls_spec *tls, uint64_t *id);
    /* Queue bytes for the peer (copied). Any thread: from another thread
     * the bytes are posted to the connection's owner, in call order. */
    tern_rc (*conn_write)(tern_module *m, uint64_t conn, const void *bytes, size_t len);
    /* Start the TLS handshake now (protocols that send INFO first);
     * bytes written before it go out in plain. The connection's thread. */
    tern_rc (*conn_starttls)(tern_module *m, uint64_t conn);
    /* Close after the queued bytes are written (reason: for logs and
     * closed). Any thread; it takes effect after the current callback. */
    tern_rc (*conn_close)(tern_module *m, uint64_t conn, const char *reason);
    /* Remote interest of a LINK connection in account: weight 0 removes,
     * otherwise sets (a plain subscription has weight 1, a queue group its
     * member count). The connection's thread. TERN_ENOENT: no such
     * account. */
    tern_rc (*link_interest)(tern_module *m, uint64_t conn, const char *account,
                             const char *subject, const char *queue, uint32_t weight);
    /* A message the link received, routed in account as a publish
     * (tern_link_pub_flags). The connection's thread. */
    tern_rc (*link_publish)(tern_module *m, uint64_t conn, const char *account,
                            const char *subject, const char *reply, const void *data,
                            size_t hdr_len, size_t len, const char *const *queues,
                            size_t nqueues, uint32_t flags);
    /* Every local interest (clients, internal subscriptions, imports),
     * aggregated per (account, subject, queue); account NULL: every
     * account. Any thread. TERN_ENOTSUP until the module registered a
     * LINK protocol or an interest hook (interest is counted from then
     * on). */
    tern_rc (*interest_walk)(tern_module *m, const char *account, tern_interest_fn fn,
                             void *ud);
    /* Every account's name. Any thread. */
    tern_rc (*account_walk)(tern_module *m, tern_account_fn fn, void *ud);

    /* -- 1.1: what clients are told. Main thread. -- */
    /* Set (json != NULL, a JSON value as text) or remove a key of the
     * INFO sent to clients, e.g. "connect_urls"; broadcast: also send
     * the new INFO to connected clients that asked for async INFO
     * (protocol 1, as nats-server). */
    tern_rc (*client_info_set)(tern_module *m, const char *key, const char *json,
                               bool broadcast);
    /* Close a client connection (e.g. its credentials were revoked).
     * Any thread. TERN_ESTALE: gone. */
    tern_rc (*client_close)(tern_module *m, uint64_t cid, const char *reason);
    /* Complete a PENDING TERN_EVT_AUTH with permissions and a user name
     * (as the event's out fields). Any thread. */
    tern_rc (*auth_complete_ex)(tern_async token, tern_verdict v, const char *account,
                                const char *permissions, const char *user_name);

    /* -- 1.1: accounts. Main thread. -- */
    /* Create or update an account from JSON text with the shape of a
     * conf.d `accounts.<name>` entry without users ({"exports":[..],
     * "imports":[..],"limits":{..}}): an update applies live to its
     * connected clients (limits, imports, exports). TERN_EINVAL with the
     * reason for a bad spec or an import of a missing export. */
    tern_rc (*account_apply)(tern_module *m, const char *name, const char *json);

    /* -- 1.1: documents. Main thread. -- */
    /* A monitoring document ("varz", "connz", "subsz", "healthz",
     * "accountz", "accstatz", "routez", "gatewayz", "leafz", "statsz", or
     * a module's info provider) for query (URL query text without '?',
     * NULL: none). *json: compact JSON text (api->free), *status: 200,
     * 400 (then *json is the error text), 404 or 503. */
    tern_rc (*document)(tern_module *m, const char *name, const char *query, int *status,
                        char **json);

    /* -- 1.1: JWT. Any thread. -- */
    /* Decode a NATS JWT, check its ed25519-nkey signature by its issuer
     * (the "iss" claim): *claims is the claims JSON text (api->free).
     * TERN_EINVAL with the reason in api->error(m) when malformed or
     * badly signed. Expiry is the caller's to check. */
    tern_rc (*jwt_decode)(tern_module *m, const char *jwt, char **claims);

    /* -- 1.2: file descriptors on the main loop. Main thread. -- */
    /* Watch fd (a socket or pipe the module owns, made non-blocking) for
     * events (TERN_FD_READ | TERN_FD_WRITE): fn runs on the main thread
     * when it is ready. Watching an fd this module already watches
     * re-arms that watch with the new events, fn and ud and keeps its id;
     * events 0 pauses it (nothing is reported until it is re-armed).
     * *id: the watch. TERN_EEXIST when another module watches fd,
     * TERN_EINVAL for an fd the loop cannot poll (a regular file). */
    tern_rc (*fd_watch)(tern_module *m, int fd, uint32_t events, tern_fd_fn fn, void *ud,
                        uint64_t *id);
    /* Stop watching (before closing the fd); no callback of the watch
     * runs after it returns. The fd stays the module's. TERN_ENOENT: no
     * such watch. Every watch of a module is removed when it unloads,
     * before fini. */
    tern_rc (*fd_unwatch)(tern_module *m, uint64_t id);

    /* -- 1.3: interest by source. Any thread. -- */
    /* As interest_walk, for the interest that the links of the protocol
     * named source_name announced (summed over its links and over the
     * generations of its module); NULL: local interest, as
     * interest_walk. Like the events, it runs under the kernel's
     * interest lock: fn must not wait for a thread that is delivering an
     * interest event. TERN_ENOENT: no protocol of that name was ever
     * registered (nothing to walk); TERN_ENOTSUP as interest_walk. */
    tern_rc (*interest_walk_source)(tern_module *m, const char *account,
                                    const char *source_name, tern_interest_fn fn, void *ud);

    /* -- 1.3: link groups. The connection's thread. -- */
    /* Put a LINK connection in group (0: none, the default). A message
     * that came in over a link of a non-zero group never goes out over
     * another link of the same group, plain or queue subscription (a
     * queue group then gets it from another eligible member, if any):
     * the links a leaf node hub accepted from the servers of one remote
     * cluster, each of which has its own way to the rest of its cluster.
     * Groups are compared across every link of every protocol: choose
     * values that cannot collide by accident (a hash). Set it before
     * the link announces interest or publishes; it holds until the
     * connection closes. TERN_ESTALE: gone; TERN_EINVAL: not a LINK
     * connection. */
    tern_rc (*link_group)(tern_module *m, uint64_t conn, uint64_t group);
} tern_host_api;

/* Whether the server's table has slot `fn` (a newer slot than the server
 * knows reads as absent). */
#define TERN_API_HAS(api, fn) \
    (offsetof(tern_host_api, fn) + sizeof((api)->fn) <= (api)->size && (api)->fn != NULL)

/* ---- the descriptor --------------------------------------------------- */

typedef struct tern_module_desc {
    uint32_t    magic;            /* TERN_MODULE_MAGIC */
    uint16_t    abi_major;        /* TERN_ABI_MAJOR at build time */
    uint16_t    abi_minor;        /* the minimum server minor needed */
    uint32_t    size;             /* sizeof(tern_module_desc) at build time */
    const char *name;             /* must equal the key under modules: */
    const char *version;          /* the module's own version */
    const char *description;
    /* Required. Read conf, register hooks, start what runs; *self is the
     * module's state passed back to the other calls. On failure return
     * an error (api->set_error says why): nothing is kept, the server
     * runs on without the module. Main thread. */
    tern_rc (*init)(tern_module *m, const tern_host_api *api, const tern_config *conf,
                    void **self);
    /* Optional. The module's configuration changed: apply it (workers are
     * paused). An error keeps the old configuration. NULL: the module is
     * swapped (fini + init) instead. */
    tern_rc (*reload)(void *self, const tern_config *conf);
    /* Required. Stop, join your threads, free everything. Hooks, timers
     * and subscriptions are already gone. Main thread. */
    void    (*fini)(void *self);
    /* Optional, pure: check conf without starting anything (ternd -t, and
     * before every load and reload). */
    tern_rc (*validate)(tern_module *m, const tern_host_api *api, const tern_config *conf);
    /* Optional: state hand-off when the .so is swapped on reload. After
     * the new generation's init, with workers paused, the old one
     * exports and the new one imports; an import error means a cold
     * start. */
    tern_rc (*export_state)(void *self, tern_blob *out);
    tern_rc (*import_state)(void *self, const tern_blob *in);
    /* -- 1.1 (taken from the reserved room: the size is unchanged) --
     * nats-server configuration keys this module maps (NULL-terminated
     * top-level names, e.g. {"cluster", NULL}). When `ternd -c` reads a
     * nats-server file with one of them, the module is loaded and
     * nats_map turns the value into the module's conf.d subtree: JSON
     * text (api->alloc) merged into modules.<name>. TERN_EINVAL with
     * api->conf_error for what cannot be mapped. Pure; main thread. */
    const char *const *nats_keys;
    tern_rc (*nats_map)(tern_module *m, const tern_host_api *api, const char *key,
                        const tern_config *value, char **json);
    void       *reserved[6];
} tern_module_desc;

/* The entry point every module exports. */
typedef const tern_module_desc *(*tern_module_entry_fn)(void);

/* Define the entry point for a descriptor built from the arguments:
 *   TERN_MODULE_DEFINE(.name = "x", .version = "1.0", .init = x_init, .fini = x_fini);
 */
#define TERN_MODULE_DEFINE(...)                                                     \
    TERN_EXPORT const tern_module_desc *tern_module_entry(void);                    \
    TERN_EXPORT const tern_module_desc *tern_module_entry(void)                     \
    {                                                                               \
        static const tern_module_desc d = {                                         \
            .magic = TERN_MODULE_MAGIC, .abi_major = TERN_ABI_MAJOR,                \
            .abi_minor = TERN_ABI_MINOR, .size = sizeof(tern_module_desc),          \
            __VA_ARGS__};                                                           \
        return &d;                                                                  \
    }

#ifdef __cplusplus
}
#endif

#endif
