/* Subject mappings (nats-server's account `mappings` and top-level
 * `mappings` for the global account): a client's publish to a subject
 * matching a mapping's source goes to one of its destinations, chosen
 * at random by weight; with weights summing under 100% the rest keeps
 * the original subject. Destinations take the source's wildcards as $N
 * or {{wildcard(N)}} (1-based) and `*` tokens in order; `>` carries the
 * rest. Applied before permissions are checked, as nats-server does it
 * while parsing the PUB. */
#ifndef TERN_MAPPINGS_H
#define TERN_MAPPINGS_H

#include <stddef.h>

#include "account.h"
#include "conf.h"

/* `mappings: { src: dest | {destination, weight} | [ {..}, .. ] }` into
 * ac (appended). 0, or -1 with err filled. */
int tern_conf_mappings(const tern_conf_node *v, tern_account_conf *ac, char *err, size_t errlen);

/* The subject a publish on subject goes to: NULL when no mapping applies
 * (or the weighted draw kept the subject); in buf when it fits, else
 * allocated (the caller frees what is not buf). */
char *tern_mappings_apply(const tern_account_conf *ac, const char *subject, size_t len, char *buf,
                          size_t cap, size_t *outlen);

#endif
