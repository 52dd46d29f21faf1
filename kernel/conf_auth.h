/* The top-level `authorization:` and `no_auth_user:` keys (design.md §4),
 * read into tern_opts.auth with nats-server's checks and wording. */
#ifndef TERN_CONF_AUTH_H
#define TERN_CONF_AUTH_H

#include <stddef.h>

#include "conf.h"
#include "opts.h"

/* Whether key is one of the top-level keys read here. */
int tern_conf_is_auth_key(const char *key);

/* Read them from root into o (after the server section, whose
 * auth_timeout authorization.timeout aliases). 0, or -1 with err filled. */
int tern_conf_apply_auth(const tern_conf_node *root, tern_opts *o, char *err, size_t errlen);

#endif
