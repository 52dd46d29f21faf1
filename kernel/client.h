/* A client connection: protocol state, subscriptions, outbound buffer.
 * Owned by one worker; every function here runs on that worker. */
#ifndef TERN_CLIENT_H
#define TERN_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "epoch.h"
#include "parser.h"
#include "sidmap.h"
#include "sublist.h"

typedef struct tern_worker tern_worker;
typedef struct tern_account tern_account;

/* A client's subscription: the sublist's view first, so a tern_sub* from
 * a match result is a tern_csub*. Subject, queue and sid live inline.
 * Other workers read s, sid and max through match results; delivered and
 * removed belong to the owning worker. */
typedef struct tern_csub {
    tern_sub          s;
    tern_retired      retired;
    uint64_t          delivered;
    uint64_t          max;          /* auto-unsubscribe after max; 0: none */
    const char       *sid;
    uint32_t          sid_len;
    bool              removed;
    bool              deny_filter;  /* wildcard overlapping a denied subject:
                                       deliveries are checked (perms.h) */
    struct tern_shadow *shadows;    /* stream imports feeding it (imports.h) */
    char              mem[];
} tern_csub;

enum tern_client_flags {
    TERN_CF_CONNECT_RECEIVED = 1u << 0,
    TERN_CF_VERBOSE          = 1u << 1,
    TERN_CF_PEDANTIC         = 1u << 2,
    TERN_CF_ECHO             = 1u << 3,
    TERN_CF_HEADERS          = 1u << 4,
    TERN_CF_NO_RESPONDERS    = 1u << 5,
    TERN_CF_FIRST_PONG_SENT  = 1u << 6,
    TERN_CF_CLOSING          = 1u << 7,
};

typedef enum tern_close_reason {
    TERN_CLOSE_CLIENT,           /* the peer closed */
    TERN_CLOSE_PROTOCOL,         /* protocol violation */
    TERN_CLOSE_PARSE_ERROR,      /* the peer sent -ERR */
    TERN_CLOSE_SLOW_PENDING,     /* slow consumer (pending bytes) */
    TERN_CLOSE_SLOW_DEADLINE,    /* slow consumer (write deadline) */
    TERN_CLOSE_STALE,
    TERN_CLOSE_MAX_PAYLOAD,
    TERN_CLOSE_MAX_CONTROL_LINE,
    TERN_CLOSE_MAX_CONNECTIONS,
    TERN_CLOSE_AUTH_VIOLATION,
    TERN_CLOSE_BAD_PROTOCOL,
    TERN_CLOSE_SERVER_SHUTDOWN,
    TERN_CLOSE_WRITE_ERROR,
    TERN_CLOSE_READ_ERROR,
    TERN_CLOSE_TLS_HANDSHAKE,    /* failed or timed out */
    TERN_CLOSE_AUTH_TIMEOUT,     /* no authenticated CONNECT within auth_timeout */
} tern_close_reason;

typedef struct tern_client {
    uv_tcp_t      tcp;
    uv_timer_t    ping_timer;
    uv_write_t    wreq;
    tern_worker  *w;
    tern_account *acc;
    tern_retired  retired;
    uint64_t      cid;
    /* Flags are read by other workers when they frame a delivery (headers,
     * closing); only the owner writes them. */
    _Atomic uint32_t flags;
    bool          in_flush;         /* on the worker's flush list */
    bool          writing;          /* a uv_write is in flight */
    int           protocol;
    int           handles_open;     /* tcp + timer; freed when both closed */
    tern_close_reason close_reason;
    tern_parser   parser;
    struct tern_tls_conn *tls;      /* NULL: plain connection (tls.h) */
    struct tern_client_auth *auth;  /* NULL: no authentication configured at accept */
    /* Set once when the connection is bound to its user (authentication
     * done), then only read, also by other workers that deliver to it. */
    struct tern_client_perms *perms; /* NULL: no permissions (perms.h) */
    struct tern_auth *auth_conf;    /* the configuration perms come from */
    bool          acc_counted;      /* counted in acc->nconns */
    tern_sidmap   subs;
    tern_buf      out;              /* being filled */
    tern_buf      wbuf;             /* being written (uv_write in flight) */
    size_t        woff;             /* bytes of wbuf already written */
    int64_t       max_pending;
    /* Bytes other workers have framed for this client and not yet handed
     * over, and the owner's own backlog as last published: together they
     * let a producer on another worker enforce max_pending. */
    _Atomic size_t remote_pending;
    _Atomic size_t local_pending;
    _Atomic bool  slow_posted;
    uint64_t      write_start_ms;
    int           pings_out;
    uint64_t      last_activity_ms; /* PUB/HPUB/SUB/UNSUB */
    uint64_t      last_ping_in_ms;  /* client's PING */
    uint64_t      rtt_start_ms;
    int64_t       rtt_ms;           /* -1 until measured */
    char          ip[46];
    int           port;
    uint64_t      in_msgs, in_bytes, out_msgs, out_bytes;
    /* For the monitoring documents (docs.h): wall-clock start, the last
     * RTT in ns (0 until measured) and CONNECT's name/lang/version. */
    int64_t       start_ns;
    uint64_t      rtt_sent_ns;      /* uv_hrtime() of the RTT PING */
    int64_t       rtt_ns;
    char         *name, *lang, *version;
    struct tern_client *flush_next;
    struct tern_client *prev, *next;          /* worker's list */
    struct tern_client *bprev, *bnext;        /* worker's blocked list */
} tern_client;

/* Adopt an accepted socket on worker w (w's thread). */
void tern_client_accept_fd(tern_worker *w, int fd);

static inline bool tern_client_has(const tern_client *c, uint32_t f)
{
    return (atomic_load_explicit(&((tern_client *)c)->flags, memory_order_relaxed) & f) != 0;
}

/* Bookkeeping once a frame for subscription s landed in c's outbound
 * buffer (c's worker): counters, flush mark, auto-unsubscribe, the
 * max_pending check. */
void tern_client_delivered(tern_client *c, tern_csub *s, size_t size);

/* Take a batch of deliveries framed by another worker (w's thread;
 * route.c). */
void tern_client_deliver_batch(tern_worker *w, const char *data, size_t len);

/* Write everything queued (called once per batch by the worker). */
void tern_client_flush(tern_client *c);

/* Close: flushes what is queued when the reason allows it (errors sent
 * just before), then closes the socket. Idempotent. */
void tern_client_close(tern_client *c, tern_close_reason reason);

/* Queue bytes for the client and mark it for flush. */
void tern_client_send(tern_client *c, const char *p, size_t n);

/* Queue "-ERR '<text>'\r\n". */
void tern_client_send_err(tern_client *c, const char *text);

/* Reload (server.c, on the main thread while every worker is paused):
 * re-bind an authenticated client to its user in the new configuration
 * auth. A client whose user is gone, or whose password, token or account
 * changed, gets -ERR 'Authorization Violation' and is closed (on its
 * worker); the others get the new permissions at once, and their
 * subscriptions that are no longer allowed are removed with the
 * permissions violation error. */
void tern_client_reload_auth(tern_client *c, struct tern_auth *auth);

/* Queue the lame-duck INFO (ldm:true) if the client can take async INFO. */
void tern_client_send_ldm_info(tern_client *c);
/* Queue the current INFO (keys modules set included) if the client can
 * take async INFO (protocol 1, first PONG sent), as nats-server does
 * when its connect_urls change. */
void tern_client_send_async_info(tern_client *c);

const char *tern_close_reason_str(tern_close_reason r);

/* The user as monitoring shows it (nats-server's getRawAuthUser: the
 * nkey, user or token presented) and CONNECT's user; NULL when none. */
const char *tern_client_auth_user(const tern_client *c);
const char *tern_client_connect_user(const tern_client *c);

#endif
