/* The host API's `account_apply` slot (sdk/include/tern/module.h, 1.1):
 * a module creates or updates an account from a JSON spec, read into the
 * same configuration structures as a conf.d `accounts.<name>` entry and
 * applied live by the reload machinery (account.h). */
#ifndef TERN_ACCOUNT_APPLY_H
#define TERN_ACCOUNT_APPLY_H

#include <tern/module.h>

/* Main thread. TERN_EINVAL (reason in api->error(m)) for a bad name or
 * spec, TERN_ENOTSUP before the server runs. */
tern_rc tern_mod_account_apply(tern_module *m, const char *name, const char *json);

#endif
