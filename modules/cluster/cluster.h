/* The cluster module's shared state: routes (connections of the "route"
 * link protocol), solicited targets (seed routes and gossiped ones), and
 * what this server says about itself.
 *
 * Threads: route callbacks run on the route's worker, interest events on
 * any worker, timers, init, reload and fini on the main thread. Every
 * field below `mu` is guarded by it; a route's parser and framing
 * scratch belong to its own thread. Writes to a route from other threads
 * (interest, gossip, pings) are made under mu, so their order on the
 * wire is the order they were decided in. */
#ifndef CL_CLUSTER_H
#define CL_CLUSTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <tern/module.h>
#include <tern/wire.h>

#include "rconf.h"
#include "rinfo.h"

/* nats-server 2.9's route timers. */
#define CL_DIAL_DELAY_MS 1000     /* between failed dials; before an explicit reconnect */
#define CL_JITTER_MS 100
#define CL_FIRST_PING_MS 1000
#define CL_PING_INTERVAL_MS 120000
#define CL_PING_MAX 2
#define CL_TICK_MS 100

typedef enum cl_route_state {
    CL_R_NEW = 0,                /* waiting for CONNECT (accepted) / INFO */
    CL_R_REGISTERED,             /* INFO processed: a member of the mesh */
    CL_R_CLOSING,
} cl_route_state;

typedef struct cl cl;

typedef struct cl_route {
    cl *cl;
    uint64_t id;
    bool outbound;
    char ip[46];
    int port;
    /* the route's own thread */
    tern_wire_parser parser;
    tern_wire_buf out;
    /* under cl->mu */
    bool got_connect;
    cl_route_state state;
    bool got_info;
    bool headers;                /* the peer takes HMSG */
    char *remote_id;
    char *remote_name;
    char *user, *pass;           /* what an accepted route authenticated with */
    cl_info info;                /* the first INFO (gossiped to the others) */
    bool urls_counted;           /* its connect_urls are in the client list */
    bool dumping;                /* initial interest dump running: queue events */
    tern_wire_buf pend;
    bool pinged;                 /* the first PING went out */
    int pings_out;
    uint64_t created_ms, last_ping_ms;
    uint64_t ping_sent_us;       /* the unanswered PING's time (0: none) */
    int64_t rtt_us;              /* the last PING's round trip (-1: none yet) */
    json_t *rsubs;               /* the peer's interest kept: "acc subj [q]" -> subject */
    /* routez counters: written on the route's thread, read anywhere */
    _Atomic uint64_t in_msgs, out_msgs, in_bytes, out_bytes;
    _Atomic int64_t last_ns;     /* wall clock of the last inbound message or interest */
    int64_t start_ns;            /* wall clock of the connection */
    struct cl_route *next;
} cl_route;

/* A solicited target. It points at the connection serving it: the dial
 * in progress, the route it made, or the route it lost a duplicate race
 * to (then it is retried when that one closes). */
typedef struct cl_dial {
    cl_url url;
    bool explicit_;              /* configured: retried forever */
    bool self;                   /* led to ourselves: never dialed again */
    bool removed;                /* dropped from the configuration */
    bool opened;                 /* conn got past the dial */
    bool ever_opened;            /* connected once: failures are reconnect errors */
    int attempts;                /* failed dials in a row */
    uint64_t conn;
    uint64_t due_ms;             /* next dial (0: none scheduled) */
    char *remote_id;             /* the server it reached last */
    struct cl_dial *next;
} cl_dial;

struct cl {
    tern_module *m;
    const tern_host_api *api;
    uint32_t proto;
    uint64_t timer;
    unsigned seed;

    pthread_mutex_t mu;
    cl_conf conf;
    char server_id[64];
    char *server_name;
    char *version;
    int64_t max_payload;
    char *cluster_name;
    bool dynamic;
    uint64_t listener;           /* 0: none */
    char *adv_host;              /* what INFO says: host, port, ip */
    int adv_port;
    char *adv_ip;
    char **own_urls;             /* this server's client URLs */
    size_t n_own;
    bool urls_dirty;             /* connect_urls for clients to recompute */
    bool info_dirty;             /* the cluster name clients see changed */
    char *urls_sent;             /* the connect_urls JSON last given to clients */
    bool ldm;                    /* this server is in lame duck mode */
    cl_route *routes;
    cl_dial *dials;
    /* what routes are told: "acc subj[ queue]" -> [acc, subj, queue|null,
     * local count, leaf count] (rinterest.c) */
    json_t *agg;
};

#define cl_now_ms tern_wire_now_ms
#define cl_now_us tern_wire_now_us
/* Wall clock, ns since the epoch. */
#define cl_wall_ns tern_wire_wall_ns
/* n-1 random letters and digits, NUL-terminated. Any thread. */
void cl_random_text(char *out, size_t n);
/* The state of module m (for a dial that failed before open). */
#define cl_instance(m) ((cl *)tern_wire_instance(m))
/* 0..CL_JITTER_MS-1, under mu. */
uint64_t cl_jitter(cl *c);

/* rconn.c: the route protocol's callbacks. */
extern const tern_proto cl_route_proto;

/* rinterest.c: the interest hook (TERN_EVT_INTEREST_ADDED / _REMOVED). */
tern_verdict cl_on_interest(tern_module *m, const tern_evt_hdr *hdr, void *ud);
/* Not under mu: take the current local and leaf interest into the sums
 * (announcing what changed). */
void cl_interest_refresh(cl *c);
/* Under mu: RS+ for every interest routes carry. */
void cl_interest_dump_locked(cl *c, tern_wire_buf *b);
/* Under mu: write bytes to every registered route (queued while a route
 * dumps its initial interest). */
void cl_broadcast_locked(cl *c, const char *bytes, size_t len, const cl_route *except);

/* cluster.c */
/* Under mu: this server's INFO line (nonce NULL: none). malloc'd. */
char *cl_self_info_locked(cl *c, const char *nonce);
/* Under mu: an implicit (gossiped) route to try. */
void cl_dial_implicit_locked(cl *c, const cl_info *info);
/* Under mu: a connection ended: retry, park or drop the targets it served. */
void cl_dials_conn_closed_locked(cl *c, uint64_t conn, const char *remote_id, const char *reason);
/* Under mu: a route registered with remote_id; targets dialing the same
 * server are parked on it. */
void cl_dials_route_up_locked(cl *c, uint64_t conn, const char *remote_id);
/* Under mu: take a peer's cluster name (dynamic names), closing the other routes. */
void cl_adopt_name_locked(cl *c, const char *name, const cl_route *keep);

/* rdocs.c: "routez" for monitoring (TERN_EVT_INFO). */
tern_verdict cl_on_info_doc(tern_module *m, const tern_evt_hdr *hdr, void *ud);

/* rurls.c: the client connect_urls: own, then every registered peer's,
 * without duplicates, as a JSON array (malloc'd). */
char *cl_urls_json(char *const *own, size_t n_own, const char *const *const *peer_urls,
                   const size_t *peer_n, size_t npeers);

#endif
