/* Framing of the route ops Tern sends: RS+, RS-, RMSG and HMSG (in
 * nats-server 2.9's exact spelling: single spaces, the RS- key equal to
 * the RS+ arguments minus the weight), into a growable byte buffer. */
#ifndef CL_RFRAME_H
#define CL_RFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cl_buf {
    char *b;
    size_t len, cap;
    bool oom;                    /* an append failed: the content is incomplete */
} cl_buf;

void cl_buf_free(cl_buf *b);
void cl_buf_reset(cl_buf *b);
void cl_buf_add(cl_buf *b, const void *p, size_t n);
void cl_buf_str(cl_buf *b, const char *s);
void cl_buf_fmt(cl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* RS+ account subject [queue weight] */
void cl_frame_sub(cl_buf *b, const char *account, const char *subject, const char *queue,
                  uint32_t weight);
/* RS- account subject [queue] */
void cl_frame_unsub(cl_buf *b, const char *account, const char *subject, const char *queue);

/* A message for a route: RMSG (no headers, or a peer without header
 * support: the header block is dropped) or HMSG, with `+ reply q…` /
 * `| q…` when queue groups are listed. data: hdr_len header bytes then
 * the payload, len in all. */
void cl_frame_msg(cl_buf *b, const char *account, const char *subject, const char *reply,
                  const char *const *queues, size_t nqueues, const void *data, size_t hdr_len,
                  size_t len, bool peer_headers);

#endif
