/* The monitor module's configuration (modules.monitor) and the
 * nats-server keys it maps (http, https, http_port, monitor_port,
 * https_port, http_base_path).
 *
 *   listen: 127.0.0.1:8222     # or a port alone: the server's host
 *   https_listen: 8223         # HTTPS, needs tls
 *   tls: { cert: c.pem, key: k.pem, ca: ca.pem, verify: false, timeout: 2s }
 *   base_path: /mon            # prefixes every path (http_base_path)
 *
 * Neither listen nor https_listen: listen on port 8222. A port of -1 or 0
 * picks a free one (the log says which). */
#ifndef MON_CONF_H
#define MON_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include <tern/module.h>

#define MON_DEFAULT_PORT 8222

typedef struct mon_endpoint {
    bool on;
    bool has_host;                /* else the server's client host */
    char host[256];
    int  port;                    /* 0: any */
} mon_endpoint;

typedef struct mon_conf {
    mon_endpoint http, https;
    char         base_path[256];  /* normalised: "" or "/a/b" */
    char        *tls_cert, *tls_key, *tls_ca;   /* malloc'ed paths */
    bool         tls_verify;
    int64_t      tls_timeout_ms;
} mon_conf;

/* Read and check conf (NULL: defaults). TERN_EINVAL with file:line:column
 * in api->error(m). */
tern_rc mon_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                      mon_conf *out);
void    mon_conf_free(mon_conf *c);
/* Whether a and b listen on the same addresses with the same TLS. */
bool    mon_conf_same_listeners(const mon_conf *a, const mon_conf *b);

/* The descriptor's nats_keys / nats_map. */
extern const char *const mon_nats_keys[];
tern_rc mon_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                     const tern_config *value, char **json);

#endif
