/* Exports and imports between accounts (accounts-and-security.md §2).
 *
 * Stream imports: when a client of the importing account subscribes to a
 * subject that overlaps an import's local subject, a shadow subscription
 * is inserted into the exporter's sublist, owned by the client's
 * subscription. A message published in the exporter that matches it is
 * delivered to that client with the subject transformed into the
 * importer's space (prefix or `to` mapping). Shadows go with their
 * subscription.
 *
 * Service imports: the importer holds an internal subscription on the
 * import's local subject. A request published there is re-published in
 * the exporter on the exported subject, with its reply rewritten to
 * "_R_.<6 chars>.<6 chars>": the first part fixed per exporting account
 * (which holds one internal subscription on "_R_.<prefix>.>"), the
 * second per request. The exporter's response map remembers the
 * requester's reply and account; a response to the "_R_" subject is
 * published in the importer on that reply. Mappings end per response
 * type: singleton after the first response; stream and chunked when
 * response_threshold passes without a response, or on an empty response
 * (no payload, no headers); any type when a response reaches nobody.
 * Expired mappings never answer; they are swept every second (the
 * server's main loop, tern_imports_sweep) and when the map is used. The `Nats-Request-Info` header nats-server
 * adds to imported requests is not added. */
#ifndef TERN_IMPORTS_H
#define TERN_IMPORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "client.h"
#include "epoch.h"

typedef struct tern_shadow {
    tern_sub                s;        /* first: in the exporter's sublist */
    tern_retired            retired;
    tern_csub              *csub;     /* the importing client's subscription */
    tern_account           *exporter;
    const tern_import_conf *imp;
    bool                    filter;   /* broader than the client's subject:
                                         check the transformed subject */
    struct tern_shadow     *next;     /* the subscription's other shadows */
    char                    mem[];
} tern_shadow;

/* Internal subscriptions for the registry's service imports and
 * response maps (called by tern_accounts_build). */
void tern_imports_build(tern_accounts *r);
/* One account's: its response map when it has service exports (kept
 * once made, so replies in flight across a reload still find it), and
 * its service import subscriptions from a->conf. */
void tern_imports_account_setup(tern_account *a);
/* A running server's reload: drop a's service import subscriptions
 * (tern_imports_account_setup makes the new ones); with all, also the
 * response subscription (the account is removed). */
void tern_imports_account_teardown(struct tern_server *srv, tern_account *a, bool all);
/* Free an account's import state at shutdown (no worker runs). */
void tern_imports_account_free(tern_account *a);

/* A subscription of client c (in c->acc) was added / is being removed;
 * on c's worker. */
void tern_imports_sub_added(tern_client *c, tern_csub *s);
void tern_imports_sub_removed(tern_client *c, tern_csub *s);

/* The delivered subject for a message on subject in the exporter: in
 * buf when it fits, else allocated (the caller frees what is not buf).
 * NULL when the subject does not fit the import. */
char *tern_shadow_subject(const tern_shadow *sh, const char *subject, size_t len, char *buf,
                          size_t cap, size_t *outlen);

/* Subject transform from pattern src to pattern dst: `*` tokens of src
 * capture one token each and fill dst's `*` tokens in order (or `$N`,
 * 1-based, in any order); `>` carries the rest. Returns the same
 * contract as tern_shadow_subject. */
char *tern_subject_transform(const char *src, const char *dst, const char *subject, size_t len,
                             char *buf, size_t cap, size_t *outlen);
/* Whether some subject matches both patterns. */
bool tern_subjects_overlap(const char *a, const char *b);

/* Drop the expired response mappings of every account (any thread;
 * the server's main loop calls it every second). now_ms: libuv's clock
 * (uv_now of any loop). */
void tern_imports_sweep(tern_accounts *r, uint64_t now_ms);

/* Response mappings currently held by an exporting account (tests,
 * statistics). */
size_t tern_imports_pending_responses(tern_account *exporter);

#endif
