/* Connections of modules (ABI 1.1, sdk/include/tern/module.h): protocols,
 * listeners, dials, buffered I/O with optional TLS (tls.h), and closing.
 *
 * A connection is owned by one loop: a worker's (LINK and other
 * protocols, assigned round robin like clients) or the main loop's
 * (TERN_PROTO_MAIN_THREAD). Its callbacks run there, one at a time.
 * Everything a connection does happens on its owner; other threads reach
 * it by id (the same id space as client cids) through posted tasks, so a
 * call naming a closed connection is a harmless TERN_ESTALE.
 *
 * Module unload (module.c): tern_modconn_module_gone closes the module's
 * listeners and connections and returns once every `closed` callback has
 * run on its connection's thread; only then is the module's fini called.
 * No callback of the module's protocols runs after that. */
#ifndef TERN_MODCONN_H
#define TERN_MODCONN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include <tern/module.h>

#include "buf.h"
#include "epoch.h"
#include "keymap.h"

typedef struct tern_worker tern_worker;
typedef struct tern_server tern_server;

/* A registered protocol. Never freed while the server runs: connections
 * in a grace period may still point at it. */
typedef struct tern_mproto {
    uint32_t     id;
    tern_module *m;
    tern_proto   p;          /* the module's struct, zero past its size */
    void        *ud;
    bool         dead;       /* its module is gone */
    char       **no_msgs_from;        /* copied names, NULL-ended */
    /* Bit id-1 set: no message from protocol id reaches this one
     * (no_msgs_from resolved; grows as protocols register). */
    _Atomic uint64_t not_from;
} tern_mproto;

typedef struct tern_mconn {
    uv_tcp_t       tcp;
    uv_timer_t     timer;        /* TLS handshake deadline */
    uv_connect_t   creq;
    uv_write_t     wreq;
    uv_shutdown_t  sreq;         /* lingering close */
    uv_loop_t     *loop;
    tern_worker   *w;            /* owner; NULL: the main thread */
    tern_mproto   *proto;
    uint64_t       id, origin;
    bool           outbound;
    bool           opened;       /* open returned OK: closed is owed */
    _Atomic bool   closing;      /* read by other workers' route code */
    bool           close_when_flushed;
    bool           writing;
    bool           in_flush;
    bool           tls_first;    /* handshake before open */
    int            handles_open;
    void          *ud;           /* the module's conn_ud */
    tern_buf       out, wbuf;
    tern_buf       held;         /* written during a TLS handshake */
    struct tern_tls_conn *tls;
    int64_t        tls_timeout_ms;
    struct tern_tls_ctx *tls_ctx; /* referenced: for conn_starttls */
    bool           tls_client;
    char          *server_name;  /* dial: SNI / name check */
    bool           tls_insecure;
    char          *close_reason;
    tern_keymap    lsubs;        /* link interest (link.c), owner only */
    /* link_group (1.3): 0 none; set by the owner, read by route code on
     * every worker (a message from a link never reaches another link of
     * the same non-zero group). */
    _Atomic uint64_t group;
    tern_retired   retired;
    struct tern_mconn *flush_next;
    char           ip[46];
    int            port;
    char          *host;         /* dial target */
} tern_mconn;

/* The API slots (module_api.c's table points here). */
tern_rc tern_modconn_proto_register(tern_module *m, const tern_proto *p, void *ud, uint32_t *id);
/* The name of protocol id (interest sources), NULL for 0 or an unknown
 * id. Protocols are never freed while the server runs, so the name
 * stays valid. Any thread. */
const char *tern_modconn_proto_name(uint32_t id);
/* Whether a protocol of that name was ever registered. Any thread. */
bool tern_modconn_proto_known(const char *name);
tern_rc tern_modconn_listen(tern_module *m, uint32_t proto, const char *host, int port,
                            const tern_tls_spec *tls, uint64_t *id, int *bound);
tern_rc tern_modconn_unlisten(tern_module *m, uint64_t id);
tern_rc tern_modconn_dial(tern_module *m, uint32_t proto, const char *host, int port,
                          const tern_tls_spec *tls, uint64_t *id);
tern_rc tern_modconn_write(tern_module *m, uint64_t conn, const void *bytes, size_t len);
tern_rc tern_modconn_starttls(tern_module *m, uint64_t conn);
tern_rc tern_modconn_close(tern_module *m, uint64_t conn, const char *reason);
tern_rc tern_modconn_link_group(tern_module *m, uint64_t conn, uint64_t group);

/* The connection by id when the calling thread owns it, else NULL (a
 * callback's own connection is found without a lookup). */
tern_mconn *tern_modconn_owned(uint64_t id);

/* Run the module callbacks with c as the thread's current connection. */
tern_mconn *tern_modconn_enter(tern_mconn *c);
void        tern_modconn_leave(tern_mconn *prev);

/* Mark c for writing at the end of its loop's iteration. */
void tern_modconn_mark_flush(tern_mconn *c);

/* End of a worker's loop iteration (worker.c): write the connections
 * marked on this thread, hand link messages over (link.c). */
void tern_modconn_worker_check(tern_worker *w);

/* Close everything module m owns and wait for the closed callbacks
 * (main thread, workers running). */
void tern_modconn_module_gone(tern_module *m);
/* Shutdown, after every module is gone (main thread). */
void tern_modconn_stop(void);
/* After the workers have stopped (main thread): free the protocols, TLS
 * contexts and link batch queues that workers may read until then. */
void tern_modconn_free(void);

#endif
