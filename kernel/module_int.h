/* What module.c (loader, registry, hooks), module_api.c (the host API
 * table) and module_natsmap.c (nats-server keys mapped by modules) share;
 * nothing else includes this. */
#ifndef TERN_MODULE_INT_H
#define TERN_MODULE_INT_H

#include "module.h"

/* The running server (set once modules start or reload). */
extern tern_server *tern_mod_srv;

/* The module's error text, set from any thread (err_mu): cleared before
 * a call, copied after it ("(no reason given)" when empty). */
void    tern_mod_clear_error(tern_module *m);
const char *tern_mod_error_text(tern_module *m, char *buf, size_t n);
void    tern_mod_set_error(tern_module *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
tern_rc tern_mod_hook_add(tern_module *m, uint32_t evt, int32_t prio, tern_hook_fn fn, void *ud);
tern_rc tern_mod_auth_complete(tern_async tok, tern_verdict v, const char *account);
tern_rc tern_mod_auth_complete_ex(tern_async tok, tern_verdict v, const char *account,
                                  const char *permissions, const char *user_name);
bool    tern_mod_is_loader_key(const char *k);
/* Drop the module's internal subscriptions (no callback starts after). */
void    tern_mod_unsubscribe_all(tern_module *m);
/* Subscribe what a staged generation asked for (commit, workers paused). */
void    tern_mod_activate_subs(tern_module *m);
/* Drop its subscriptions, stop its timers and fd watches (main thread). */
void    tern_mod_release_resources(tern_module *m);
/* Open a module's .so as the loader finds it (modules_dir, next to the
 * binary, the install dir), its descriptor and ABI checked, neither
 * validated nor initialised: for its pure calls. NULL with err. */
tern_module *tern_mod_open_only(const char *name, const char *modules_dir, char *err,
                                size_t errlen);
void    tern_mod_close_only(tern_module *m);
/* Free what removed subscriptions left for callbacks still running: only
 * after every worker passed a barrier since the removals. */
void    tern_mod_free_dead_subs(void);

#endif
