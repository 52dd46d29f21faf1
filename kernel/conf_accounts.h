/* The top-level `accounts:` and `system_account:` keys (design.md §4,
 * docs/accounts.md), user entries (also those of `authorization.users`)
 * and their `permissions`, read into the authentication configuration
 * (auth.h) with its accounts (account.h). */
#ifndef TERN_CONF_ACCOUNTS_H
#define TERN_CONF_ACCOUNTS_H

#include <stddef.h>

#include "conf.h"

struct tern_auth;
struct tern_perms;

/* Whether key is one of the top-level keys read here. */
int tern_conf_is_accounts_key(const char *key);

/* Read `accounts` and `system_account` from root into a (a->accounts and
 * the accounts' users). Call before the global users are added: a user
 * name may be defined once in all. 0, or -1 with err filled. */
int tern_conf_apply_accounts(const tern_conf_node *root, struct tern_auth *a, char *err,
                             size_t errlen);

/* One user entry {user, password | nkey, permissions} of account index
 * `account` into a. 0, or -1 with err filled. */
int tern_conf_user_entry(const tern_conf_node *u, struct tern_auth *a, int account, char *err,
                         size_t errlen);

/* A `permissions` block: {publish, subscribe, allow_responses} (and
 * nats-server's aliases pub/import, sub/export,
 * publish_allow_responses). *out: NULL or the permissions. */
int tern_conf_permissions(const tern_conf_node *v, struct tern_perms **out, char *err,
                          size_t errlen);

struct tern_accounts_conf;
/* An account_apply spec (an `accounts.<name>` entry without users) into
 * conf->accs[idx], an entry with only its name; every import of conf is
 * resolved again against the exports. 0, or -1 with err filled. */
int tern_conf_account_spec(const tern_conf_node *v, struct tern_accounts_conf *conf, int idx,
                           char *err, size_t errlen);

#endif
