/* Keys modules add to the INFO clients receive (api->client_info_set),
 * e.g. the cluster's connect_urls. They are placed where nats-server's
 * Info struct has them: a key that comes before client_id there (ip,
 * jetstream, tls_available, go, git_commit) goes after the server's own
 * fields, the others (cluster, cluster_dynamic, domain, connect_urls,
 * ws_connect_urls) after nonce in that order, and keys nats-server does
 * not have after those, in the order they were first set. */
#ifndef TERN_CLIENT_INFO_H
#define TERN_CLIENT_INFO_H

#include <stdbool.h>

#include <tern/module.h>

#include "buf.h"

typedef struct tern_client tern_client;

/* Append the keys of one segment (",\"k\":v" …) to b. Any thread. */
void tern_client_info_before(tern_buf *b);   /* before client_id */
void tern_client_info_after(tern_buf *b);    /* after nonce */

/* api->client_info_set (main thread). */
tern_rc tern_client_info_set(tern_module *m, const char *key, const char *json, bool broadcast);

/* Shutdown: forget the keys. */
void tern_client_info_free(void);

#endif
