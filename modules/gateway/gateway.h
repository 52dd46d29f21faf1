/* The gateway module's shared state: gateway connections (the "gateway"
 * link protocol), the remote gateways (clusters) this server keeps one
 * outbound connection to, and the cluster-wide interest it announces.
 *
 * Threads: connection callbacks run on the connection's worker, interest
 * events on any worker, the tick, init, reload and fini on the main
 * thread. Fields marked "conn thread" belong to the connection's worker;
 * everything else below `mu` is guarded by it. Writes to an inbound
 * connection from other threads (interest) are made under mu, so their
 * order on the wire is the order they were decided in. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <tern/module.h>
#include <tern/wire.h>

#include "gconf.h"

/* nats-server 2.9's gateway timers. */
#define GW_FIRST_DIAL_MS 1000    /* outbound connections start after the cluster formed */
#define GW_RECONNECT_MS 1000     /* explicit gateways: before a redial */
#define GW_JITTER_MS 100
#define GW_FIRST_PING_MS 1000
#define GW_PING_MAX_MS 15000     /* min(ping_interval, 15 s) */
#define GW_PING_MAX 2
#define GW_TICK_MS 100
#define GW_RECENT_SUB_MS 2000    /* replies mapped with _GR_. for subs this recent */
#define GW_HASH_LEN 6

/* Interest modes of an account on an outbound connection (sender view). */
enum { GW_MODE_OPTIMISTIC = 0, GW_MODE_TRANSITIONING = 1, GW_MODE_INTEREST_ONLY = 2 };

typedef struct gw gw;

/* A remote gateway (cluster): configured, or learned from an inbound
 * connection / gossip (implicit). */
typedef struct gw_remote {
    char *name;
    bool explicit_;
    bool removed;                /* dropped from the configuration */
    gw_url *urls;                /* configured ones first (with credentials) */
    size_t nurls;
    uint64_t conn;               /* the outbound dial or connection, 0: none */
    bool opened;                 /* conn got past the dial */
    bool registered;             /* conn completed the handshake */
    int attempts;                /* failed dials in a row */
    size_t next_url;
    uint64_t due_ms;             /* next dial (0: none scheduled) */
    struct gw_remote *next;
} gw_remote;

typedef enum gw_conn_state {
    GW_C_NEW = 0,
    GW_C_REGISTERED,
} gw_conn_state;

typedef struct gw_conn {
    gw *g;
    uint64_t id;
    bool outbound;
    char ip[46];
    int port;
    /* conn thread */
    tern_wire_parser parser;
    tern_wire_buf out;
    json_t *modes;               /* outbound: account -> GW_MODE_* */
    json_t *ni;                  /* outbound: account -> {subject: true} (optimistic no-interest) */
    json_t *noacc;               /* outbound: accounts the remote sent A- for */
    /* under g->mu */
    gw_conn_state state;
    bool got_connect, got_info;
    bool timed_out;              /* no CONNECT in time: closing */
    char *rname;                 /* the remote gateway's name */
    char *remote_id, *remote_sname;
    char *user;                  /* what an inbound connection authenticated with */
    char *pass;
    bool headers, iom, nrp;
    json_t *switched;            /* inbound: accounts switched to interest-only */
    json_t *rsubs;               /* outbound: remote interest "acc subj [q]" registered */
    int pings_out;
    bool pinged;
    uint64_t created_ms, last_ping_ms, ping_sent_us;
    int64_t rtt_us;
    _Atomic uint64_t in_msgs, out_msgs, in_bytes, out_bytes;
    _Atomic int64_t last_ns;
    int64_t start_ns;
    struct gw_conn *next;
} gw_conn;

struct gw {
    tern_module *m;
    const tern_host_api *api;
    uint32_t proto;
    uint64_t timer;
    unsigned seed;
    uint64_t started_ms;

    pthread_mutex_t mu;
    gw_conf conf;
    char server_id[64];
    char *server_name;           /* configured server_name, "" when none */
    int64_t max_payload;
    bool headers;
    uint64_t listener;
    char *adv_host;              /* INFO host/port: listen or advertise */
    int adv_port;
    char self_url[300];          /* host:port of this server's gateway */
    char hash[GW_HASH_LEN + 1];  /* this cluster's name hash */
    char shash[GW_HASH_LEN + 1]; /* this server's id hash */
    char reply_pfx[32];          /* _GR_.<hash>.<shash>. */
    char old_pfx[16];            /* $GR.<4 hex>. */
    gw_remote *remotes;
    gw_conn *conns;
    json_t *tally;               /* "acc subj [q]" -> sources with interest */
    json_t *srcs;                /* "<src> acc subj [q]" -> true */
    json_t *recent;              /* account -> {subject: ms} plain local subs < 2 s old */
};

#define gw_now_ms tern_wire_now_ms
#define gw_now_us tern_wire_now_us
#define gw_wall_ns tern_wire_wall_ns
#define gw_instance(m) ((gw *)tern_wire_instance(m))
/* nats-server's 6-character name hash (SHA-256, digits[b % 62]). */
void gw_hash(const char *name, char out[GW_HASH_LEN + 1]);

/* gconn.c: the gateway protocol's callbacks. */
extern const tern_proto gw_proto;
tern_verdict gw_on_interest(tern_module *m, const tern_evt_hdr *hdr, void *ud);
/* Under mu: the INFO line of this server (cmd 0) or a command INFO. */
char *gw_info_line_locked(gw *g);

/* gateway.c, under mu */
gw_remote *gw_remote_find_locked(gw *g, const char *name);
/* Learn a remote gateway (implicit) or more URLs of a known one. */
void gw_remote_learn_locked(gw *g, const char *name, json_t *urls);
/* An outbound connection ended or never opened. */
void gw_remote_conn_closed_locked(gw *g, uint64_t conn, const char *reason);

/* gdocs.c: "gatewayz" (TERN_EVT_INFO). */
tern_verdict gw_on_info_doc(tern_module *m, const tern_evt_hdr *hdr, void *ud);

#endif
