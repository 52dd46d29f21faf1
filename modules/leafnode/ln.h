/* The leafnode module's shared state: leaf connections (the "leaf" and
 * "leaf-spoke" link protocols), the remotes it solicits, and the
 * interest it mirrors to decide what each leaf is told (LS+/LS-).
 *
 * Threads: leaf callbacks run on the connection's worker, interest
 * events on any worker, timers, init, reload and fini on the main
 * thread. Every field below `mu` is guarded by it. Lock order: the
 * kernel's interest lock (held while an interest event runs) before mu;
 * so link_interest and link_publish are never called with mu held. */
#ifndef LN_LN_H
#define LN_LN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <tern/module.h>
#include <tern/wire.h>

#include "ln_conf.h"

#define LN_TICK_MS 100
#define LN_FIRST_PING_MS 1000
#define LN_PING_INTERVAL_MS 120000
#define LN_PING_MAX 2
#define LN_INFO_WAIT_MS 2000         /* the connect_info INFO after CONNECT */
#define LN_LOOP_DELAY_MS 30000       /* reconnect after a loop or a refusal */
#define LN_GLOBAL "$G"

typedef struct ln ln;

typedef enum ln_state {
    LN_S_NEW = 0,        /* accepted: waiting for CONNECT; solicited: for INFO */
    LN_S_WAIT_INFO,      /* solicited: CONNECT sent, waiting for connect_info */
    LN_S_REGISTERED,
} ln_state;

typedef struct ln_dial ln_dial;

typedef struct ln_conn {
    ln *ln;
    uint64_t id;
    bool outbound;               /* solicited: this side is the spoke */
    char ip[46];
    int port;
    tern_wire_parser parser;     /* the connection's thread: the leaf dialect */
    tern_wire_buf out;           /* the connection's thread: message framing */
    /* under ln->mu */
    ln_state state;
    ln_dial *dial;               /* solicited: its remote */
    char *account;               /* bound local account */
    char *remote_account;        /* solicited: what the hub bound us to */
    char *remote_id, *remote_name, *remote_cluster;
    char *user, *pass;           /* accepted: what it authenticated with */
    bool headers;
    bool info_on_connect;
    char nonce[24];
    bool dumping;                /* the initial LS+ dump runs: updates wait */
    json_t *smap;                /* what the peer was told: key -> count */
    json_t *rsubs;               /* the peer's interest: key -> weight */
    char **deny_pub;             /* subjects not to send (deny_exports, the peer's deny_pub) */
    size_t ndeny_pub;
    char **deny_sub;             /* interest not to announce (deny_imports) */
    size_t ndeny_sub;
    uint64_t created_ms, last_ping_ms, ping_sent_us;
    int pings_out;
    int64_t rtt_us;
    bool loop;                   /* closed for a loop: reconnect late */
    bool closing;                /* a timer closed it: not again */
    /* leafz counters: written on the connection's thread, read anywhere */
    _Atomic uint64_t in_msgs, out_msgs, in_bytes, out_bytes;
    struct ln_conn *next;
} ln_conn;

/* A configured remote: the hub we solicit. */
struct ln_dial {
    ln_remote conf;              /* a deep copy owned by the dial */
    size_t next_url;
    uint64_t conn;               /* the dial or connection serving it (0: none) */
    bool opened;
    bool removed;                /* dropped by a reload: not redialed */
    uint64_t due_ms;             /* next dial (0: none scheduled) */
    char *jwt;                   /* from the credentials file */
    unsigned char seed[64];      /* ed25519 secret key (libsodium layout) */
    bool has_seed;
    struct ln_dial *next;
};

struct ln {
    tern_module *m;
    const tern_host_api *api;
    uint32_t proto;              /* accepted connections (ln_leaf_proto) */
    uint32_t proto_spoke;        /* solicited ones (ln_spoke_proto) */
    uint64_t timer;
    unsigned seed;

    pthread_mutex_t mu;
    ln_conf conf;
    char server_id[64];
    char *server_name;
    /* this server's cluster (varz cluster.name; NULL: none), sent in the
     * spoke CONNECT; refreshed on the main thread before each dial */
    char *cluster_name;
    int64_t max_payload;
    bool client_auth;            /* clients must authenticate (varz auth_required) */
    uint64_t listener;
    int bound_port;
    ln_conn *conns;
    ln_dial *dials;
    /* Interest of every account known here but leaf links':
     * "acc\x1fsubj[\x1fqueue]" -> {"a":acc,"s":subj,"q":queue,"src":{"<id>":count}} */
    json_t *interest;
    json_t *lds;                 /* account -> its $LDS.<nuid> subject */
};

#define ln_now_ms tern_wire_now_ms
#define ln_now_us tern_wire_now_us
#define ln_wall_ns tern_wire_wall_ns
void ln_random_text(char *out, size_t n);
#define ln_instance(m) ((ln *)tern_wire_instance(m))

/* The two link protocols, one per side of a connection, because
 * nats-server treats them apart: interest and messages of connections
 * this server accepted (it is the hub; the peer is a leaf) cross routes
 * like a client's; those of connections it solicited (it is the spoke;
 * the peer is its hub) never do, and nothing that came over a route
 * goes up to the hub. The cluster module names them. */
#define LN_PROTO_HUB_SIDE "leaf"
#define LN_PROTO_SPOKE_SIDE "leaf-spoke"

/* ln_conn.c */
extern const tern_proto ln_leaf_proto;    /* accepted connections */
extern const tern_proto ln_spoke_proto;   /* solicited connections */
/* Under mu: the solicited connection failed or closed. */
void ln_dial_closed_locked(ln *l, ln_dial *d, bool loop);

/* ln_interest.c */
tern_verdict ln_on_interest(tern_module *m, const tern_evt_hdr *hdr, void *ud);
/* Seed the mirror with the local interest that exists (init). */
void ln_interest_seed(ln *l);
/* Under mu: the account's loop detection subject. */
const char *ln_lds_locked(ln *l, const char *account);
/* Under mu: send c its initial interest dump (LS+ for all it must know). */
void ln_interest_dump_locked(ln *l, ln_conn *c);
/* Under mu: key (subject[, queue]) of account changed: tell every leaf
 * of the account what it must now know. */
void ln_interest_changed_locked(ln *l, const char *account, const char *subject,
                                const char *queue);
/* Whether subject matches pattern (NATS wildcards, pattern side only is
 * a filter; subject may hold wildcards covered by the pattern). */
bool ln_subject_matches(const char *pattern, const char *subject);
bool ln_denied(char *const *list, size_t n, const char *subject);

/* ln_creds.c: read a .creds file: the JWT and the seed's ed25519 key. */
int ln_creds_read(const char *path, char **jwt, unsigned char sk[64], char *err, size_t errlen);
/* base64url (no padding) of the signature of nonce by sk. malloc'd. */
char *ln_sign_nonce(const unsigned char sk[64], const char *nonce);

/* ln_docs.c: "leafz". */
tern_verdict ln_on_info_doc(tern_module *m, const tern_evt_hdr *hdr, void *ud);

/* ln_natsmap.c */
tern_rc ln_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                    const tern_config *value, char **json);

#endif
