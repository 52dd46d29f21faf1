/* The leaf node protocol parser: nats-server 2.9's ops on a leaf
 * connection (INFO, CONNECT, PING, PONG, +OK, -ERR, LS+, LS-, LMSG,
 * HMSG), resumable across reads. Leaf ops carry no account: everything
 * is in the account the connection is bound to.
 *
 * Bytes are parsed in place; only an op split across reads is copied
 * until it is complete. Each op goes to a callback with NUL-terminated
 * arguments and, for messages, the payload; all borrowed for the call. */
#ifndef LN_PARSE_H
#define LN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A line without end must not grow memory forever. */
#define LN_MAX_CONTROL_LINE (1024 * 1024)
#define LN_MAX_QUEUES 256

typedef enum ln_op_kind {
    LN_OP_INFO = 1,
    LN_OP_CONNECT,
    LN_OP_PING,
    LN_OP_PONG,
    LN_OP_OK,
    LN_OP_ERR,
    LN_OP_SUB,      /* LS+ */
    LN_OP_UNSUB,    /* LS- */
    LN_OP_MSG,      /* LMSG / HMSG */
} ln_op_kind;

typedef struct ln_op {
    ln_op_kind kind;
    const char *arg;             /* INFO / CONNECT JSON, -ERR text */
    size_t arg_len;
    const char *subject;
    const char *queue;           /* SUB / UNSUB: NULL for plain interest */
    uint32_t weight;             /* SUB with a queue (>= 1) */
    const char *reply;           /* MSG: NULL when none */
    const char *const *queues;
    size_t nqueues;
    const char *data;            /* hdr_len header bytes, then the payload */
    size_t hdr_len;
    size_t len;
} ln_op;

typedef int (*ln_op_fn)(void *ud, const ln_op *op);

typedef struct ln_parser {
    char *pend;
    size_t pend_len, pend_cap;
    size_t need;
    char *line;
    size_t line_cap;
    const char *qv[LN_MAX_QUEUES];
    char err[160];
} ln_parser;

void ln_parse_init(ln_parser *p);
void ln_parse_free(ln_parser *p);
/* 0: every complete op handed to fn; -1: protocol error (p->err); else
 * the callback's non-zero value. */
int ln_parse_feed(ln_parser *p, const char *bytes, size_t len, ln_op_fn fn, void *ud);

#endif
