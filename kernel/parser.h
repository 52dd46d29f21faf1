/* The NATS client-protocol parser: a state machine over op names, with
 * memchr for line ends and byte counts for payloads, resumable at any byte
 * boundary and zero-copy where it can be.
 *
 * Arguments and payloads handed to callbacks point into the caller's read
 * buffer when the whole frame is inside it; when a frame spans reads, the
 * partial control line is copied into a scratch buffer (bounded by
 * max_control_line + 2) and the partial payload into a message buffer
 * (bounded by max_payload + 2). Pointers passed to a callback are valid only during
 * that callback.
 *
 * Semantics follow nats-server 2.9.10's server/parser.go for a CLIENT
 * connection (client-protocol.md §2, §10). */
#ifndef TERN_PARSER_H
#define TERN_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tern_parse_status {
    TERN_PARSE_OK = 0,
    TERN_PARSE_PAUSE,               /* a callback asked to stop after this op */
    TERN_PARSE_CLOSED,              /* a callback closed the connection */
    TERN_PARSE_ERR_UNKNOWN_OP,      /* -ERR 'Unknown Protocol Operation', close */
    TERN_PARSE_ERR_PROTO,           /* protocol violation: close, no -ERR */
    TERN_PARSE_ERR_MAX_CONTROL_LINE,/* -ERR 'maximum control line exceeded', close */
    TERN_PARSE_ERR_MAX_PAYLOAD,     /* -ERR 'Maximum Payload Violation', close */
    TERN_PARSE_ERR_AUTH,            /* first op not CONNECT while auth required:
                                       -ERR 'Authorization Violation', close */
} tern_parse_status;

/* A PUB or HPUB. For HPUB, data[0..hdr_len) is the header block and
 * data[hdr_len..size) the payload; for PUB hdr_len is 0. */
typedef struct tern_pub_args {
    const char *subject;
    size_t      subject_len;
    const char *reply;        /* NULL when absent */
    size_t      reply_len;
    const char *data;
    size_t      size;         /* total bytes (headers + payload) */
    size_t      hdr_len;
    bool        hpub;
    /* The size fields as the client wrote them: nats-server copies them
     * into MSG/HMSG byte for byte (a size "0002" is delivered as "0002"). */
    const char *size_text;
    size_t      size_text_len;
    const char *hdr_text;     /* HPUB only */
    size_t      hdr_text_len;
} tern_pub_args;

/* Every callback returns a tern_parse_status: TERN_PARSE_OK to go on,
 * TERN_PARSE_PAUSE to make tern_parser_feed return after this op (the
 * unconsumed rest is reported through *consumed), TERN_PARSE_CLOSED when
 * the connection was closed, or an error status to abort. */
typedef struct tern_parser_callbacks {
    int (*on_connect)(void *ud, const char *json, size_t len);
    int (*on_info)(void *ud, const char *json, size_t len);
    int (*on_pub)(void *ud, const tern_pub_args *m);
    int (*on_sub)(void *ud, const char *subject, size_t subject_len,
                  const char *queue, size_t queue_len, /* queue NULL: none */
                  const char *sid, size_t sid_len);
    /* max: > 0 auto-unsubscribe after max messages; 0 absent; -1 invalid
     * (nats-server treats an unparsable max as "unsubscribe now"). */
    int (*on_unsub)(void *ud, const char *sid, size_t sid_len, int64_t max);
    int (*on_ping)(void *ud);
    int (*on_pong)(void *ud);
    int (*on_ok)(void *ud);
    int (*on_err)(void *ud, const char *text, size_t len);
} tern_parser_callbacks;

typedef struct tern_parser {
    /* Limits and switches the owner sets (may change between feeds). */
    int64_t max_control_line;  /* bytes of arguments; <= 0: unlimited */
    int64_t max_payload;       /* total message bytes; <= 0: unlimited */
    bool    headers;           /* HPUB allowed (negotiated in CONNECT) */
    bool    require_connect;   /* auth required and no CONNECT seen yet */

    /* Private state (parser.c). */
    int      state;            /* where in the grammar the next byte lands */
    int      op;               /* op whose name/arguments are being read */
    int      drop;             /* bytes of the op name already matched */
    bool     cr;               /* a CR was seen inside the arguments */
    char    *scratch;          /* partial control line across reads; while a
                                  payload is split, the PUB/HPUB subject and
                                  reply */
    size_t   scratch_len, scratch_cap;
    char    *msg;              /* partial payload + CRLF across reads */
    size_t   msg_len, msg_cap;
    tern_pub_args pub;         /* PUB/HPUB args while the payload is split
                                  (subject/reply are rebuilt from offsets) */
    size_t   pub_args_off[4];  /* subject, reply, header-size and size
                                  offsets inside scratch */
} tern_parser;

void tern_parser_init(tern_parser *p);
void tern_parser_free(tern_parser *p);

/* Parse len bytes. Returns a status; *consumed is set to the number of
 * bytes consumed (all of them unless a callback paused, or on error). */
tern_parse_status tern_parser_feed(tern_parser *p, const char *buf, size_t len,
                                   const tern_parser_callbacks *cb, void *ud,
                                   size_t *consumed);

/* Bytes currently held by the parser (scratch + message buffers), for
 * memory accounting. */
size_t tern_parser_held(const tern_parser *p);

#endif
