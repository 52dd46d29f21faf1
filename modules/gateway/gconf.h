/* The gateway module's configuration (modules.gateway in conf.d), and
 * the mapping of nats-server's `gateway { }` block onto it. */
#ifndef GW_GCONF_H
#define GW_GCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tern/module.h>

/* A gateway URL: nats://[user[:pass]@]host:port */
typedef struct gw_url {
    char *host;                  /* without brackets */
    int port;
    char *user, *pass;           /* NULL: none */
} gw_url;

typedef struct gw_remote_conf {
    char *name;
    gw_url *urls;
    size_t nurls;
} gw_remote_conf;

typedef struct gw_conf {
    char *name;                  /* this cluster's gateway name (required) */
    char *host;                  /* listen host */
    int port;                    /* listen port (0: any) */
    char *advertise;             /* host:port told to remotes instead */
    char *user, *pass;           /* authorization; NULL: none */
    int64_t auth_timeout_ms;
    int64_t connect_retries;     /* implicit gateways: dial rounds before they are dropped */
    gw_remote_conf *remotes;
    size_t nremotes;
} gw_conf;

/* host:port or [v6]:port. 0, or -1 when malformed. */
int gw_split_hostport(const char *s, size_t n, char **host, int *port);
/* Parse a gateway URL (nats://, or a bare host:port). 0, or -1 with err. */
int gw_url_parse(const char *text, gw_url *out, char *err, size_t errlen);
void gw_url_free(gw_url *u);
/* host:port text (IPv6 in brackets). */
void gw_hostport(char *out, size_t n, const char *host, int port);

tern_rc gw_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                     gw_conf *out);
void gw_conf_free(gw_conf *c);

/* nats-server's `gateway` value → the module's subtree as JSON text. */
tern_rc gw_conf_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                         const tern_config *value, char **json);

#endif
