/* Link connections (route, gateway, leaf node protocols of modules): the
 * remote interest a link reports lives in the account's sublist as
 * TERN_SUB_LINK subscriptions; local messages that match are handed to
 * the link's msg callback on its worker; what the link receives is
 * injected with the origin's exclusions (route.h tern_route_origin).
 *
 * Delivery keeps per-publisher order: a publisher on the link's own
 * worker calls msg right away; another worker frames the message into
 * its batch for the link's worker, handed over at the end of its loop
 * iteration (tern_link_worker_check) as one posted task, which the
 * owner runs in order. */
#ifndef TERN_LINK_H
#define TERN_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include <tern/module.h>

#include "account.h"
#include "epoch.h"
#include "parser.h"
#include "sublist.h"

typedef struct tern_worker tern_worker;
typedef struct tern_mconn tern_mconn;

/* A link's remote subscription: the sublist's view first. */
typedef struct tern_lsub {
    tern_sub      s;          /* kind TERN_SUB_LINK, owner the tern_mconn */
    tern_retired  retired;
    tern_account *acc;
    char          mem[];      /* subject\0queue\0 */
} tern_lsub;

/* API slots. */
tern_rc tern_link_interest(tern_module *m, uint64_t conn, const char *account,
                           const char *subject, const char *queue, uint32_t weight);
tern_rc tern_link_publish(tern_module *m, uint64_t conn, const char *account,
                          const char *subject, const char *reply, const void *data,
                          size_t hdr_len, size_t len, const char *const *queues, size_t nqueues,
                          uint32_t flags);

/* Route (publisher's worker): hand m to the links of hits, the matched
 * link subscriptions (plain ones, and the chosen member of each queue
 * group), grouped per link into one tern_link_msg. */
void tern_link_deliver(tern_worker *w, tern_account *acc, const tern_pub_args *m,
                       tern_sub *const *hits, size_t n);

/* The link is closing (its worker): its interest leaves the sublist. */
void tern_link_conn_closed(tern_mconn *c);
/* Before the first LINK protocol's connections (main thread). */
void tern_link_init(struct tern_server *s);
/* End of worker w's iteration: hand its link batches to their workers. */
void tern_link_worker_check(tern_worker *w);
/* Shutdown (main thread, after the workers stopped). */
void tern_link_stop(void);

#endif
