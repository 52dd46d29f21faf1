/* Routing inside the server: a message published in an account is matched
 * against the account's sublist and delivered to what matched —
 * client subscriptions (framed into their outbound buffers, or into a
 * batch for their worker), internal subscriptions (a callback), and
 * shadow subscriptions of stream imports (delivered to the importing
 * client with the subject transformed, imports.h).
 *
 * Everything here runs on a worker's thread: the publisher's. Match
 * results and the subscriptions they hold stay valid until that worker's
 * quiescent point (sublist.h, epoch.h). Per-publisher order holds on
 * every path: a publisher's deliveries to one connection go through one
 * buffer (the connection's own, or this worker's batch for its worker). */
#ifndef TERN_ROUTE_H
#define TERN_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "epoch.h"
#include "parser.h"

typedef struct tern_worker tern_worker;
typedef struct tern_client tern_client;
typedef struct tern_server tern_server;

enum tern_sub_kind {
    TERN_SUB_CLIENT = 0,     /* tern_csub (client.h) */
    TERN_SUB_INTERNAL,       /* tern_isub */
    TERN_SUB_SHADOW,         /* tern_shadow (imports.h) */
    TERN_SUB_LINK,           /* tern_lsub (link.h): a link's remote interest */
};

/* Flags for tern_route_publish_ex. */
enum {
    /* Skip shadow subscriptions: a message that entered the account
     * through a service import is not passed on by stream imports. */
    TERN_ROUTE_NO_SHADOWS = 1u << 0,
};

/* Publish m in acc on worker w. from: the publishing client (echo,
 * no-responders), NULL for a message the server publishes itself.
 * Returns the number of deliveries (a queue group counts once, an
 * internal subscription counts what its callback returns). Must run on
 * w's thread; to publish from the main thread, post a task to a worker
 * (tern_worker_post) and publish there. */
size_t tern_route_publish(tern_worker *w, tern_account *acc, tern_client *from,
                          const tern_pub_args *m);
size_t tern_route_publish_ex(tern_worker *w, tern_account *acc, tern_client *from,
                             const tern_pub_args *m, unsigned flags);

/* A message a link received (link.h): never back to that link, with the
 * link publish flags of the ABI (TERN_LINK_PUB_QUEUES_LISTED: only the
 * listed queue groups get a copy, and only from local members;
 * TERN_LINK_PUB_NO_SAME_PROTO: no link of the same protocol gets it). */
typedef struct tern_route_origin {
    const void        *link;     /* the tern_mconn it came from */
    uint32_t           proto;    /* its protocol id */
    uint32_t           flags;
    const char *const *queues;
    size_t             nqueues;
} tern_route_origin;

size_t tern_route_publish_link(tern_worker *w, tern_account *acc, const tern_route_origin *o,
                               const tern_pub_args *m);

/* Fill a tern_pub_args for a message the server publishes: hdr_len bytes
 * of headers (0: none) at the start of data, size bytes in all. txt
 * holds the size texts and must live as long as m. */
/* NUL-terminated copies of m's subject and reply for callbacks that take C
 * strings: in small when they fit, else allocated (free the result when
 * it is not small). *reply: NULL when m has none. */
char *tern_route_cstrs(const tern_pub_args *m, char *small, size_t n, const char **reply);

void tern_route_args(tern_pub_args *m, char txt[48], const char *subject, const char *reply,
                     const char *data, size_t hdr_len, size_t size);

/* ---- internal subscriptions --------------------------------------------- */

typedef struct tern_isub tern_isub;

/* Called for each message matching an internal subscription, on the
 * publishing worker's thread (any worker, concurrently with other
 * workers: the callback must be thread-safe), while that worker routes
 * the message: m and everything it points to is valid only during the
 * call (copy what you keep). from is the publishing client or NULL. The
 * callback may publish (tern_route_publish) on w, also into other
 * accounts; nesting is bounded. It must not block. Returns the number of
 * deliveries it made (0: the message counts as not delivered, e.g. for
 * no-responders). */
typedef size_t (*tern_isub_fn)(tern_worker *w, tern_isub *sub, tern_client *from,
                               const tern_pub_args *m);

struct tern_isub {
    tern_sub      s;         /* first: a sublist result's tern_sub* is a tern_isub* */
    tern_retired  retired;
    tern_account *acc;
    tern_isub_fn  cb;
    void         *arg;
    _Atomic bool  removed;
    char          mem[];
};

/* Subscribe the server itself in acc to subject (wildcards allowed),
 * optionally in a queue group (queue NULL: none) that it shares with
 * client members. Any thread. Returns NULL if the subject is invalid. */
tern_isub *tern_isub_add(tern_account *acc, const char *subject, const char *queue,
                         tern_isub_fn cb, void *arg);
/* Unsubscribe: no callback starts after this returns (one already
 * running on another worker may finish). The memory is reclaimed after
 * every worker passed a quiescent point. Any thread of a running server
 * (srv's workers reclaim it); use tern_isub_free only once the workers
 * are stopped. */
void tern_isub_remove(tern_server *srv, tern_isub *sub);
void tern_isub_free(tern_isub *sub);

#endif
