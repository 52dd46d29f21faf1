/* The monitor's HTTP/1.x server side of one connection: requests parsed
 * with http-parser from the bytes as they arrive, pipelined requests
 * answered in order, keep-alive as HTTP/1.0 and 1.1 define it, bounded
 * request sizes, and malformed requests answered as Go's net/http (which
 * nats-server uses) answers them: "400 Bad Request" and close.
 *
 * It knows nothing of the server: bytes go out through a writer
 * callback and requests reach a handler, so it is tested on its own. */
#ifndef MON_HTTP_H
#define MON_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define MON_HTTP_MAX_HEADER  (64 * 1024)   /* request line + headers: 431 */
#define MON_HTTP_MAX_BODY    (1024 * 1024) /* bodies are read and dropped: 413 */

typedef struct mon_http_req {
    const char *method;           /* "GET", "HEAD", … */
    const char *path;             /* percent-decoded */
    const char *query;            /* raw text after '?', "" when none */
    bool        head;             /* HEAD: the answer has no body */
} mon_http_req;

/* What the handler answers. body is malloc'ed (the connection frees it);
 * content_type NULL: none. */
typedef struct mon_http_resp {
    int         status;
    const char *content_type;
    bool        nosniff;          /* X-Content-Type-Options: nosniff */
    char       *body;
    size_t      len;
} mon_http_resp;

typedef void (*mon_http_handler_fn)(void *ud, const mon_http_req *req, mon_http_resp *resp);
/* Queue bytes for the peer; non-zero: the connection is failing. */
typedef int (*mon_http_write_fn)(void *ud, const void *bytes, size_t len);

typedef struct mon_http_conn mon_http_conn;

mon_http_conn *mon_http_conn_new(mon_http_handler_fn handler, mon_http_write_fn write, void *ud);
void           mon_http_conn_free(mon_http_conn *c);

enum { MON_HTTP_OPEN = 0, MON_HTTP_CLOSE = 1 };
/* Feed received bytes. MON_HTTP_CLOSE: close the connection after the
 * bytes written so far (the last request did not keep the connection
 * alive, or it was malformed); later bytes are ignored. */
int mon_http_feed(mon_http_conn *c, const void *bytes, size_t len);

/* The first value of a query parameter, decoded as Go's url.ParseQuery
 * ('+' a space, %XX a byte; a pair with a bad escape or ';' is
 * skipped), malloc'ed; NULL when absent. */
char *mon_http_query_get(const char *query, const char *name);
/* Percent-decode a path (no '+' rule); NULL for a bad escape. */
char *mon_http_path_decode(const char *s, size_t len);
/* "200 OK", "404 Not Found", … */
const char *mon_http_status_text(int status);

#endif
