/* The route protocol parser: nats-server 2.9's ops on a route connection
 * (INFO, CONNECT, PING, PONG, +OK, -ERR, RS+, RS-, LS+, LS-, RMSG, HMSG,
 * LMSG, A+, A-), resumable across reads.
 *
 * Bytes are parsed in place; only an op split across reads is copied
 * (into the parser's pending buffer) until it is complete. Each op is
 * handed to a callback with its arguments as NUL-terminated strings and,
 * for messages, the payload; all of it is borrowed for the call. */
#ifndef CL_RPARSE_H
#define CL_RPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest control line accepted: routes have no max_control_line in
 * nats-server, but a line without end must not grow memory forever. */
#define CL_MAX_CONTROL_LINE (1024 * 1024)
/* Most queue names one RMSG may list. */
#define CL_MAX_QUEUES 256

typedef enum cl_op_kind {
    CL_OP_INFO = 1,
    CL_OP_CONNECT,
    CL_OP_PING,
    CL_OP_PONG,
    CL_OP_OK,
    CL_OP_ERR,
    CL_OP_SUB,      /* RS+ / LS+ */
    CL_OP_UNSUB,    /* RS- / LS- */
    CL_OP_MSG,      /* RMSG / HMSG / LMSG */
    CL_OP_ACCOUNT,  /* A+ / A- (gateway only: ignored on routes) */
} cl_op_kind;

typedef struct cl_op {
    cl_op_kind kind;
    /* INFO / CONNECT: the JSON text; -ERR: the text (quotes kept). */
    const char *arg;
    size_t arg_len;
    /* SUB, UNSUB, MSG */
    const char *origin;          /* LS+ / LMSG: the leaf origin cluster, else NULL */
    const char *account;
    const char *subject;
    const char *queue;           /* SUB / UNSUB: NULL for plain interest */
    uint32_t weight;             /* SUB with a queue: the member count (>= 1) */
    bool leaf;                   /* LS+ / LS- / LMSG */
    /* MSG */
    const char *reply;           /* NULL: none */
    const char *const *queues;   /* the groups the message is for */
    size_t nqueues;
    const char *data;            /* hdr_len header bytes, then the payload */
    size_t hdr_len;              /* 0: no headers (RMSG) */
    size_t len;                  /* all of data */
    bool headers;                /* HMSG / LMSG (a header size was given) */
} cl_op;

/* Return 0 to go on, non-zero to stop parsing (cl_parse_feed returns it). */
typedef int (*cl_op_fn)(void *ud, const cl_op *op);

typedef struct cl_parser {
    char *pend;                  /* an op split across reads */
    size_t pend_len, pend_cap;
    size_t need;                 /* bytes the pending op needs in all, 0: unknown yet */
    char *line;                  /* the current control line, split into tokens */
    size_t line_cap;
    const char *qv[CL_MAX_QUEUES];
    char err[160];               /* why parsing failed */
} cl_parser;

void cl_parse_init(cl_parser *p);
void cl_parse_free(cl_parser *p);

/* Parse len bytes. Returns 0 when every complete op was handed to fn
 * (a partial one is kept for the next call), -1 on a protocol error
 * (p->err says why: the connection must close), or the callback's
 * non-zero value. */
int cl_parse_feed(cl_parser *p, const char *bytes, size_t len, cl_op_fn fn, void *ud);

#endif
