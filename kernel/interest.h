/* Interest aggregation (TERN_EVT_INTEREST_ADDED/REMOVED, api->interest_walk):
 * subscriptions counted per (account, subject, queue, source). Source 0
 * is local interest — clients, internal subscriptions, stream-import
 * shadows — seen through the sublist's observer (sublist.h); other
 * sources are link protocols, whose weights link.c reports.
 *
 * The counts are kept only once enabled: when a LINK protocol or an
 * interest hook is registered (both from a module's init, on the main
 * thread). Enabling pauses the workers once to count what already
 * exists; until then a subscription change costs one untaken branch.
 *
 * Events of one key are dispatched in order: the count changes and its
 * event goes out under one (recursive) lock, on the thread where the
 * change happened. A hook may call back into the kernel, also to change
 * interest. */
#ifndef TERN_INTEREST_H
#define TERN_INTEREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tern/module.h>

typedef struct tern_account tern_account;

void tern_interest_enable(void);
bool tern_interest_enabled(void);

/* A link's interest changed by delta (weight units for a queue group,
 * 1 per link for a plain subscription). Any thread. */
void tern_interest_delta(tern_account *acc, const char *subject, size_t sl, const char *queue,
                         size_t ql, uint32_t source, int32_t delta);

/* api->interest_walk: every local interest, under the lock. */
tern_rc tern_interest_walk(tern_module *m, const char *account, tern_interest_fn fn, void *ud);

/* api->interest_walk_source: the interest the links of a protocol
 * (by name; NULL: local) announced, under the lock. */
tern_rc tern_interest_walk_source(tern_module *m, const char *account, const char *source_name,
                                  tern_interest_fn fn, void *ud);

/* api->account_walk: every account's name. */
tern_rc tern_account_walk(tern_module *m, tern_account_fn fn, void *ud);

/* Shutdown: forget the counts (main thread, workers stopped). */
void tern_interest_free(void);

#endif
