/* The cluster module's configuration (modules.cluster in conf.d), and
 * the mapping of nats-server's `cluster { }` block onto it. */
#ifndef CL_RCONF_H
#define CL_RCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <tern/module.h>
#include <tern/wire.h>

/* A route URL: nats-route://[user[:pass]@]host:port[/] (the wire library's peer URL) */
typedef tern_wire_url cl_url;

/* One direction of cluster.permissions: subjects allowed (NULL: all)
 * minus subjects denied. */
typedef struct cl_perm {
    char **allow;                /* NULL: no allow list (everything) */
    size_t nallow;
    char **deny;
    size_t ndeny;
} cl_perm;

typedef struct cl_conf {
    char *name;                  /* NULL: generated (dynamic) */
    char *host;                  /* listen host */
    int port;                    /* listen port (0: any, -1: no listener) */
    cl_url *routes;
    size_t nroutes;
    char *user, *pass;           /* authorization; NULL: none */
    int64_t auth_timeout_ms;
    bool tls;
    char *tls_cert, *tls_key, *tls_ca;
    bool tls_verify;
    int64_t tls_timeout_ms;
    bool no_advertise;
    int64_t connect_retries;
    char *advertise;             /* host[:port] announced instead of the listen address */
    int64_t connect_error_reports;    /* log every Nth failed dial of a never-connected seed */
    int64_t reconnect_error_reports;  /* … and of a route that was connected before */
    char *client_advertise;      /* host[:port] clients are told instead of the client listen address */
    /* cluster.permissions: import filters the interest this server
     * announces (what it receives), export the interest it accepts from
     * peers (what it sends), as nats-server's route permissions */
    cl_perm import_, export_;
} cl_conf;

/* Parse a route URL. 0, or -1 with err. */
int cl_url_parse(const char *text, cl_url *out, char *err, size_t errlen);
void cl_url_free(cl_url *u);
/* Whether two URLs name the same host:port (case-insensitive host). */
bool cl_url_same(const cl_url *a, const cl_url *b);

/* Whether subject (wildcards are tokens a pattern's wildcard must
 * cover, as nats-server's sublist match of a subscription subject) passes
 * p: allowed by the allow list (when there is one) and not denied. */
bool cl_perm_allows(const cl_perm *p, const char *subject);
/* Whether p has any rule. */
bool cl_perm_set(const cl_perm *p);
/* Whether two permission sets are equal. */
bool cl_perm_equal(const cl_perm *a, const cl_perm *b);
/* {"allow":[..],"deny":[..]} (only the lists present), NULL when unset. */
json_t *cl_perm_json(const cl_perm *p);

/* Read modules.cluster (conf may be NULL: defaults). TERN_EINVAL with
 * api->error(m) set. */
tern_rc cl_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                     cl_conf *out);
void cl_conf_free(cl_conf *c);

/* nats-server's `cluster` value → the module's subtree as JSON text
 * (api->alloc). */
tern_rc cl_conf_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                         const tern_config *value, char **json);

#endif
