/* The leafnode module's configuration (modules.leafnode in conf.d), and
 * the mapping of nats-server's `leafnodes { }` block onto it. */
#ifndef LN_CONF_H
#define LN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tern/module.h>

#define LN_DEFAULT_PORT 7422
#define LN_DEFAULT_RECONNECT_MS 1000

/* nats-leaf://[user[:pass]@]host[:port] (also nats://, tls://) */
typedef struct ln_url {
    char *text;
    char *host;
    int port;
    char *user, *pass;
    bool tls;                    /* tls:// */
} ln_url;

typedef struct ln_user {
    char *user, *pass, *account; /* account NULL: the global account */
} ln_user;

typedef struct ln_tls_conf {
    bool on;
    char *cert, *key, *ca;
    bool verify, insecure;
    int64_t timeout_ms;
} ln_tls_conf;

typedef struct ln_remote {
    ln_url *urls;
    size_t nurls;
    char *account;               /* local account (NULL: global) */
    char *creds;                 /* path of a .creds file */
    bool no_randomize;
    char **deny_imports, **deny_exports;
    size_t ndeny_imports, ndeny_exports;
    ln_tls_conf tls;
} ln_remote;

typedef struct ln_conf {
    char *host;
    int port;                    /* -1: no listener, 0: any */
    char *user, *pass, *account; /* authorization { user, password, account } */
    ln_user *users;
    size_t nusers;
    int64_t auth_timeout_ms;
    ln_tls_conf tls;
    char *advertise;
    bool no_advertise;
    int64_t reconnect_ms;
    ln_remote *remotes;
    size_t nremotes;
} ln_conf;

int ln_url_parse(const char *text, ln_url *out, char *err, size_t errlen);
void ln_url_free(ln_url *u);

tern_rc ln_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                     ln_conf *out);
void ln_conf_free(ln_conf *c);
void ln_remote_free(ln_remote *r);
/* Whether the two remotes are configured alike (reload keeps its link). */
bool ln_remote_equal(const ln_remote *a, const ln_remote *b);

/* nats-server's `leafnodes` value → the module's subtree (api->alloc). */
tern_rc ln_conf_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                         const tern_config *value, char **json);

#endif
