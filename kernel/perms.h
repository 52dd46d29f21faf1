/* Per-user publish/subscribe permissions, as nats-server 2.9.10 checks
 * them (accounts-and-security.md §3).
 *
 * A tern_perms is configuration: immutable once built and owned by the
 * authentication configuration (auth.h) it belongs to. Any worker may read
 * it. A tern_client_perms is one connection's view: a small cache of
 * publish decisions and the reply subjects it may answer
 * (allow_responses); only the connection's worker touches it.
 *
 * Matching follows nats-server's sublist semantics for permission lists:
 * a pattern token `*` matches any one token of the tested subject and `>`
 * the rest; the tested subject's own `*`/`>` tokens are compared as
 * literals (so a subscription to `foo.*` is allowed by `foo.*` or `foo.>`
 * but not by `foo.bar`). */
#ifndef TERN_PERMS_H
#define TERN_PERMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tern_perm_entry {
    char *subject;
    char *queue;             /* subscribe entries "subject queue"; NULL: none */
} tern_perm_entry;

typedef struct tern_perm_list {
    bool             set;    /* the list was given (an empty allow list
                                allows nothing) */
    tern_perm_entry *e;
    size_t           n;
} tern_perm_list;

typedef struct tern_perms {
    tern_perm_list pub_allow, pub_deny, sub_allow, sub_deny;
    bool    resp;            /* allow_responses */
    int64_t resp_max;        /* messages per reply subject */
    int64_t resp_expires_ms;
    /* Per-user limits a module grants (a user JWT's subs / payload):
     * subscriptions of one connection, payload bytes of one message
     * (0: empty messages only); -1: none. */
    int64_t max_subs, max_payload;
} tern_perms;

#define TERN_PERMS_RESP_MAX_DEFAULT        1
#define TERN_PERMS_RESP_EXPIRES_DEFAULT_MS (2 * 60 * 1000)

tern_perms *tern_perms_new(void);
void tern_perms_free(tern_perms *p);
/* A deep copy (default_permissions given to each user of an account). */
tern_perms *tern_perms_clone(const tern_perms *p);
/* Add "subject" or, for subscribe lists, "subject queue". Returns 0, or -1
 * when the subject is not a valid subscription subject. */
int tern_perms_add(tern_perm_list *l, const char *entry);
/* nats-server's rule: allow_responses without a publish allow list makes
 * the publish allow list empty. Call once the lists are complete. */
void tern_perms_finish(tern_perms *p);

/* Whether pattern matches subject (both valid subjects; see above). */
bool tern_perm_match(const char *pattern, const char *subject, size_t len);

/* Publish allowed by the lists (no response permissions). */
bool tern_perms_pub_allowed(const tern_perms *p, const char *subject, size_t len);
/* SUB allowed (queue NULL: plain subscription). */
bool tern_perms_sub_allowed(const tern_perms *p, const char *subject, size_t len,
                            const char *queue, size_t qlen);
/* A wildcard subscription that overlaps a denied subject: its deliveries
 * must be filtered with tern_perms_delivery_denied. */
bool tern_perms_sub_needs_filter(const tern_perms *p, const char *subject, size_t len);
/* A message on subject may not be delivered to this user. */
bool tern_perms_delivery_denied(const tern_perms *p, const char *subject, size_t len);

/* ---- per connection ------------------------------------------------------ */

typedef struct tern_client_perms tern_client_perms;

tern_client_perms *tern_client_perms_new(const tern_perms *p);
void tern_client_perms_free(tern_client_perms *cp);
const tern_perms *tern_client_perms_of(const tern_client_perms *cp);
/* PUB/HPUB to subject: the lists (cached per connection), then the reply
 * subjects handed to this connection (allow_responses). */
bool tern_client_perms_pub(tern_client_perms *cp, const char *subject, size_t len, uint64_t now_ms);
/* A message with reply subject `reply` was delivered to the connection. */
void tern_client_perms_note_reply(tern_client_perms *cp, const char *reply, size_t len,
                                  uint64_t now_ms);
/* Whether deliveries must record their reply subjects. */
bool tern_client_perms_wants_replies(const tern_client_perms *cp);

#endif
