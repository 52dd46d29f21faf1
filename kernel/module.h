/* Modules: the loader, the registry of loaded generations, hook dispatch
 * and hot reload. Modules meet the kernel only through the ABI in
 * sdk/include/tern/module.h; this header is the kernel's side.
 *
 * A generation is one dlopen of a private copy of a module's .so with
 * its configuration. The registry (main thread only) holds the active
 * generations in load order; the hook table built from them is an
 * immutable snapshot that workers read without locks. It is replaced
 * only while every worker is paused (the reload barrier), and a retired
 * generation is finalised only after that barrier, so no worker can
 * still be running its code (its threads are the module's to join in
 * fini). Retired code stays mapped (dlclose is a known crash source). */
#ifndef TERN_MODULE_H
#define TERN_MODULE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <tern/module.h>

#include "conf.h"

typedef struct tern_server tern_server;
typedef struct tern_client tern_client;
typedef struct tern_account tern_account;
typedef struct tern_opts tern_opts;
struct tern_auth_creds;

typedef struct tern_mod_hook {
    uint32_t     evt;
    int32_t      prio;
    tern_hook_fn fn;
    void        *ud;
} tern_mod_hook;

typedef struct tern_mod_timer tern_mod_timer;
typedef struct tern_mod_sub tern_mod_sub;

/* One generation of a module (the SDK's opaque tern_module). */
struct tern_module {
    char           *name;        /* the key under modules: */
    char           *path;        /* the .so it was loaded from */
    dev_t           dev;         /* identity of that file at load */
    ino_t           ino;
    off_t           fsize;
    struct timespec mtime;
    void           *dl;          /* NULL for a validation-only handle */
    const tern_module_desc *desc;
    void           *self;
    tern_conf_node *conf;        /* owned: the module's subtree (a map) */
    int32_t         priority;    /* the loader's priority: key */
    bool            has_priority;
    bool            registering; /* init is running: hooks may be added */
    bool            live;        /* init succeeded, fini not yet run */
    bool            staged;      /* loaded by a reload not yet committed:
                                    its subscriptions wait for the commit */
    uint64_t        seq;         /* load order, ties of equal priority */
    tern_mod_hook  *hooks;
    size_t          nhooks;
    tern_mod_timer *timers;
    tern_mod_sub   *subs;
    pthread_mutex_t err_mu;
    char            err[512];
};

/* The server's host API table (module_api.c). */
const tern_host_api *tern_module_host_api(void);

/* Whether a module built for ABI mmaj.mmin can run on host hmaj.hmin;
 * if not, err names both versions. */
bool tern_module_abi_ok(unsigned mmaj, unsigned mmin, unsigned hmaj, unsigned hmin,
                        const char *what, char *err, size_t errlen);

/* Check the loader's keys of a `modules:` section (conf_server.c):
 * a map of names to maps or null; enabled bool, path string, priority
 * integer. 0, or -1 with file:line:column in err. */
int tern_modules_conf_check(const tern_conf_node *modules, char *err, size_t errlen);

/* ternd -t: open every enabled module, check its ABI and run its
 * validate on its configuration; nothing is started. 0, or -1 with the
 * first error in err. */
int tern_modules_validate(const tern_conf_node *modules, const char *modules_dir, char *err,
                          size_t errlen);

/* Load the configured modules at start (main thread, workers running,
 * before the listener accepts). A module that fails to load is logged
 * and left out: the server runs on. */
void tern_modules_start(tern_server *s);
/* Shutdown: every module's fini (main thread, workers still running). */
void tern_modules_stop(tern_server *s);
/* TERN_EVT_LAME_DUCK: the server entered lame duck mode (main thread). */
void tern_modules_lame_duck(void);

/* Reload in three steps (server.c reload()): prepare loads what is new
 * or changed and validates everything without touching the running set
 * (NULL with err filled: nothing changed); commit runs while workers are
 * paused and installs the new set; finish, after the workers resumed,
 * finalises retired generations. abort undoes a prepared plan. */
typedef struct tern_modules_plan tern_modules_plan;
tern_modules_plan *tern_modules_prepare(tern_server *s, const tern_opts *next, char *err,
                                        size_t errlen);
void tern_modules_commit(tern_modules_plan *p);
void tern_modules_finish(tern_modules_plan *p);
void tern_modules_abort(tern_modules_plan *p);

/* ---- hooks the kernel calls --------------------------------------------- */

/* Whether some module authenticates CONNECTs (any thread). */
bool tern_module_auth_active(void);

enum {
    TERN_MODAUTH_NONE,           /* no module decided: the kernel's rules apply */
    TERN_MODAUTH_ALLOW,          /* *acc: the account to bind to (NULL: global) */
    TERN_MODAUTH_DENY,
    TERN_MODAUTH_PENDING,        /* done(owner, …) runs later on c's worker */
};
/* What an ALLOW grants besides the account (the event's permissions and
 * user_name out fields, or auth_complete_ex): the receiver owns both. */
typedef struct tern_module_grant {
    struct tern_perms *perms;    /* NULL: no permissions */
    char              *user_name; /* NULL: the user/nkey the client sent */
} tern_module_grant;
/* module: the name of the module that decided (borrowed for the call);
 * grant: filled when ok (taken over by done). */
typedef void (*tern_module_auth_done_fn)(void *owner, bool ok, tern_account *acc,
                                         const char *module, tern_module_grant *grant);
/* Ask the auth hooks about c's CONNECT (c's worker). While PENDING the
 * decision is registered by c's cid; tern_module_auth_forget (the client
 * goes) makes a later completion a no-op. On ALLOW/DENY *module names the
 * deciding module (valid until the next reload); on ALLOW *grant is
 * filled (the caller owns it). */
int tern_module_auth_start(tern_client *c, const struct tern_auth_creds *cr, const char *nonce,
                           tern_account **acc, const char **module, tern_module_grant *grant,
                           tern_module_auth_done_fn done);
/* A module's permissions JSON (tern_evt_auth.permissions) as the
 * permission structures of a conf.d user: 0, or -1 with err. */
int tern_module_perms_parse(const char *json, struct tern_perms **out, char *err, size_t errlen);
void tern_module_auth_forget(uint64_t cid);
/* Whether the loaded module `name` has an authentication hook: a client
 * it let in stays only while this holds (reload re-validation). Main
 * thread, or a worker while workers are paused. */
bool tern_module_authenticates(const char *name);

/* TERN_EVT_CLIENT_CONNECTED / _CLOSED for c (a worker thread). reason:
 * the close reason text, NULL for connected. */
void tern_module_client_event(tern_client *c, uint32_t evt, const char *reason);

/* TERN_EVT_INTEREST_ADDED / _REMOVED (interest.h; the thread where the
 * interest changed). hooked: whether some module listens. */
bool tern_module_interest_hooked(void);
void tern_module_interest_event(uint32_t evt, const char *account, const char *subject,
                                const char *queue, uint32_t count, uint32_t source);

/* A document answered by an info provider, or NULL. Any thread. */
json_t *tern_module_info(const char *name);
/* The same, telling the provider the request's query (NULL: none). */
json_t *tern_module_info_query(const char *name, const char *query);
/* Every provider's answer to name (JSON objects) merged, later keys
 * replacing earlier ones; NULL when none answered. Any thread. */
json_t *tern_module_info_merged(const char *name);

#endif
