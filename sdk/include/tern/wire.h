/* The NATS server-to-server wire (nats-server 2.9's route, gateway and
 * leaf node ops) for modules that speak it: a resumable parser and the framing of
 * the ops sent. A small static library of the SDK (CMake: Tern::wire),
 * linked into the module; it uses nothing of the server and no module's
 * internals, so the route, gateway and leafnode modules share it.
 *
 * Parser: the ops INFO, CONNECT, PING, PONG, +OK, -ERR, RS+, RS-, LS+,
 * LS-, RMSG, HMSG, LMSG, A+, A- of routes and gateways, or (the leaf
 * dialect) those of a leaf connection, whose LS+, LS-, LMSG and HMSG
 * carry no account: a leaf connection is bound to one account. Bytes
 * are parsed in place; only an op split across reads is copied (into
 * the parser's pending buffer) until it is complete. Each op is handed to a callback with its arguments as
 * NUL-terminated strings and, for messages, the payload; all of it is
 * borrowed for the call.
 *
 * Framing: RS+, RS-, RMSG and HMSG, and a leaf connection's LS+, LS-,
 * LMSG and HMSG, in nats-server 2.9's exact spelling (single spaces,
 * the unsubscribe key equal to the subscribe arguments minus the
 * weight), into a growable byte buffer.
 *
 * Peer URLs: the URLs a route, gateway or leaf node dials
 * (scheme://[user[:pass]@]host[:port]), split as the modules and
 * nats-server (Go's url.Parse) read them. */
#ifndef TERN_WIRE_H
#define TERN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest control line accepted: routes have no max_control_line in
 * nats-server, but a line without end must not grow memory forever. */
#define TERN_WIRE_MAX_CONTROL_LINE (1024 * 1024)
/* Most queue names one message may list. */
#define TERN_WIRE_MAX_QUEUES 256

typedef enum tern_wire_op_kind {
    TERN_WIRE_OP_INFO = 1,
    TERN_WIRE_OP_CONNECT,
    TERN_WIRE_OP_PING,
    TERN_WIRE_OP_PONG,
    TERN_WIRE_OP_OK,
    TERN_WIRE_OP_ERR,
    TERN_WIRE_OP_SUB,      /* RS+ / LS+ */
    TERN_WIRE_OP_UNSUB,    /* RS- / LS- */
    TERN_WIRE_OP_MSG,      /* RMSG / HMSG / LMSG */
    TERN_WIRE_OP_ACCOUNT,  /* A+ / A- (gateway only: ignored on routes) */
} tern_wire_op_kind;

/* The grammar a parser accepts. */
typedef enum tern_wire_dialect {
    /* Routes and gateways: RS+ account subject [queue weight], RS-
     * account subject [queue], RMSG/HMSG account subject …, LS+/LMSG
     * with the origin cluster first, LS- as RS-, A+/A-. */
    TERN_WIRE_ROUTE = 0,
    /* Leaf connections: LS+ subject [queue weight], LS- subject [queue],
     * LMSG subject [reply | + reply q… | `|` q…] size, HMSG likewise
     * with a header size; RS±, RMSG and A± are unknown ops. */
    TERN_WIRE_LEAF,
} tern_wire_dialect;

typedef struct tern_wire_op {
    tern_wire_op_kind kind;
    /* INFO / CONNECT: the JSON text; -ERR: the text (quotes kept). */
    const char *arg;
    size_t arg_len;
    /* SUB, UNSUB, MSG */
    const char *origin;          /* a route's LS+ / LMSG: the leaf origin cluster, else NULL */
    const char *account;         /* NULL in the leaf dialect */
    const char *subject;
    const char *queue;           /* SUB / UNSUB: NULL for plain interest */
    uint32_t weight;             /* SUB with a queue: the member count (>= 1) */
    bool leaf;                   /* LS+ / LS- / LMSG, and every SUB/UNSUB/MSG of the leaf dialect */
    /* MSG */
    const char *reply;           /* NULL: none */
    const char *const *queues;   /* the groups the message is for */
    size_t nqueues;
    const char *data;            /* hdr_len header bytes, then the payload */
    size_t hdr_len;              /* 0: no headers (RMSG) */
    size_t len;                  /* all of data */
    bool headers;                /* a header size was given: HMSG, a route's LMSG */
} tern_wire_op;

/* Return 0 to go on, non-zero to stop parsing (tern_wire_parse_feed
 * returns it). */
typedef int (*tern_wire_op_fn)(void *ud, const tern_wire_op *op);

typedef struct tern_wire_parser {
    tern_wire_dialect dialect;
    char *pend;                  /* an op split across reads */
    size_t pend_len, pend_cap;
    size_t need;                 /* bytes the pending op needs in all, 0: unknown yet */
    char *line;                  /* the current control line, split into tokens */
    size_t line_cap;
    const char *qv[TERN_WIRE_MAX_QUEUES];
    char err[160];               /* why parsing failed */
} tern_wire_parser;

/* A parser of the route/gateway grammar. */
void tern_wire_parse_init(tern_wire_parser *p);
/* A parser of the given grammar. */
void tern_wire_parse_init_dialect(tern_wire_parser *p, tern_wire_dialect dialect);
void tern_wire_parse_free(tern_wire_parser *p);

/* Parse len bytes. Returns 0 when every complete op was handed to fn
 * (a partial one is kept for the next call), -1 on a protocol error
 * (p->err says why: the connection must close), or the callback's
 * non-zero value. */
int tern_wire_parse_feed(tern_wire_parser *p, const char *bytes, size_t len, tern_wire_op_fn fn,
                         void *ud);

/* ---- framing ---- */

typedef struct tern_wire_buf {
    char *b;
    size_t len, cap;
    bool oom;                    /* an append failed: the content is incomplete */
} tern_wire_buf;

void tern_wire_buf_free(tern_wire_buf *b);
void tern_wire_buf_reset(tern_wire_buf *b);
void tern_wire_buf_add(tern_wire_buf *b, const void *p, size_t n);
void tern_wire_buf_str(tern_wire_buf *b, const char *s);
void tern_wire_buf_fmt(tern_wire_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* RS+ account subject [queue weight] */
void tern_wire_frame_sub(tern_wire_buf *b, const char *account, const char *subject,
                         const char *queue, uint32_t weight);
/* RS- account subject [queue] */
void tern_wire_frame_unsub(tern_wire_buf *b, const char *account, const char *subject,
                           const char *queue);

/* A message for a route: RMSG (no headers, or a peer without header
 * support: the header block is dropped) or HMSG, with `+ reply q…` /
 * `| q…` when queue groups are listed. data: hdr_len header bytes then
 * the payload, len in all. */
void tern_wire_frame_msg(tern_wire_buf *b, const char *account, const char *subject,
                         const char *reply, const char *const *queues, size_t nqueues,
                         const void *data, size_t hdr_len, size_t len, bool peer_headers);

/* A leaf connection's ops: as above without the account, LMSG for a
 * message without headers. */
void tern_wire_frame_leaf_sub(tern_wire_buf *b, const char *subject, const char *queue,
                              uint32_t weight);
void tern_wire_frame_leaf_unsub(tern_wire_buf *b, const char *subject, const char *queue);
void tern_wire_frame_leaf_msg(tern_wire_buf *b, const char *subject, const char *reply,
                              const char *const *queues, size_t nqueues, const void *data,
                              size_t hdr_len, size_t len, bool peer_headers);

/* ---- peer URLs ---- */

/* A parsed peer URL; every string is owned (tern_wire_url_free). */
typedef struct tern_wire_url {
    char *text;                  /* as given */
    char *scheme;                /* lower-case; NULL: none given (a bare host:port) */
    char *user, *pass;           /* percent-decoded userinfo; NULL: none */
    char *host;                  /* without the brackets of an IPv6 address */
    int port;
} tern_wire_url;

/* What one kind of link accepts, and how its errors name the URL. */
typedef struct tern_wire_url_spec {
    const char *what;            /* errors read "<what> URL <text>: …" */
    const char *const *schemes;  /* accepted (any case), NULL-terminated; the
                                  * first is the one a URL without scheme is told */
    const char *schemes_text;    /* listed in "unsupported scheme (…)" */
    bool scheme_optional;        /* a bare [user[:pass]@]host:port is accepted */
    int default_port;            /* < 0: the port is required */
} tern_wire_url_spec;

/* Parse text as spec says: scheme, userinfo before the last '@'
 * (user:pass split at the first ':', %XX decoded), host:port (host may be
 * [v6]); a path, query or fragment is ignored. 0, or -1 with err set
 * ("route URL x: expected host:port", "… unsupported scheme (…)", "…
 * expected nats-route://host:port") and *out empty. */
int tern_wire_url_parse(const char *text, const tern_wire_url_spec *spec, tern_wire_url *out,
                        char *err, size_t errlen);
void tern_wire_url_free(tern_wire_url *u);

/* host:port of n bytes of s (host may be [v6]; the port 0..65535, at most
 * 5 digits); without a port, default_port unless it is < 0. 0 with *host
 * owned, or -1 when malformed (or out of memory). */
int tern_wire_url_hostport(const char *s, size_t n, int default_port, char **host, int *port);

#ifdef __cplusplus
}
#endif

/* ---- link module helpers (wire_link.c) ---------------------------------- */

/* Monotonic milliseconds and microseconds; wall-clock nanoseconds. */
uint64_t tern_wire_now_ms(void);
uint64_t tern_wire_now_us(void);
int64_t tern_wire_wall_ns(void);

/* The module's state by its tern_module handle: a dial that never opened
 * reaches the protocol's closed callback without conn_ud, and one .so
 * may run as several modules (generations during a reload). state NULL
 * forgets m. Up to 8 at once; any thread. */
void tern_wire_instance_set(const void *m, void *state);
void *tern_wire_instance(const void *m);

#endif
