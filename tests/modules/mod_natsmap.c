/* Test module for the nats-server key mapping (module.h 1.1: nats_keys,
 * nats_map), built as "leafnode" (NATSMAP_NAME) so that `ternd -c
 * file.conf` hands it the nats-server key `leafnodes` (and not `leaf`,
 * which it does not claim).
 *
 * nats_map("leafnodes", { port: N, remotes: [..], .. }) returns
 * {"port": N, "remotes": <count>}; a port that is not an integer is
 * refused with the value's position. Its conf.d keys are port and
 * remotes; "natsmap.conf" answers "port=<n> remotes=<n>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/module.h>

#ifndef NATSMAP_NAME
#define NATSMAP_NAME "leafnode"
#endif

typedef struct nm {
    const tern_host_api *api;
    int64_t              port, remotes;
} nm;

static const char *const keys[] = { "port", "remotes", NULL };

static tern_rc read_conf(tern_module *m, const tern_host_api *api, const tern_config *conf,
                         int64_t *port, int64_t *remotes)
{
    tern_rc rc = api->conf_check_keys(m, conf, keys);
    *port = 0;
    *remotes = 0;
    if (rc == TERN_OK && api->conf_int(m, api->conf_get(conf, "port"), port) == TERN_EINVAL)
        rc = TERN_EINVAL;
    if (rc == TERN_OK && api->conf_int(m, api->conf_get(conf, "remotes"), remotes) == TERN_EINVAL)
        rc = TERN_EINVAL;
    return rc;
}

static tern_rc nm_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    int64_t p, r;
    return read_conf(m, api, conf, &p, &r);
}

static tern_rc nm_map(tern_module *m, const tern_host_api *api, const char *key,
                      const tern_config *value, char **json)
{
    if (strcmp(key, "leafnodes") != 0)
        return api->conf_error(m, value, "unexpected key %s", key);
    if (api->conf_type(value) != 2)
        return api->conf_error(m, value, "leafnodes must be a block");
    int64_t port = 0;
    const tern_config *p = api->conf_get(value, "port");
    if (p && (api->conf_type(p) != 1 || api->conf_int(m, p, &port) != TERN_OK))
        return api->conf_error(m, p, "leafnodes.port must be an integer");
    const tern_config *r = api->conf_get(value, "remotes");
    size_t remotes = api->conf_type(r) == 3 ? api->conf_len(r) : 0;
    char text[128];
    snprintf(text, sizeof text, "{\"port\":%lld,\"remotes\":%zu}", (long long)port, remotes);
    *json = api->strdup(text);
    return *json ? TERN_OK : TERN_ENOMEM;
}

static void on_conf(tern_module *m, const char *subject, const char *reply, const void *data,
                    size_t len, void *ud)
{
    nm *s = ud;
    (void)subject, (void)data, (void)len;
    if (!reply)
        return;
    char text[128];
    int n = snprintf(text, sizeof text, "port=%lld remotes=%lld", (long long)s->port,
                     (long long)s->remotes);
    s->api->publish(m, NULL, reply, NULL, text, (size_t)n);
}

static tern_rc nm_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                       void **self)
{
    nm *s = calloc(1, sizeof *s);
    if (!s)
        return TERN_ENOMEM;
    s->api = api;
    tern_rc rc = read_conf(m, api, conf, &s->port, &s->remotes);
    if (rc == TERN_OK)
        rc = api->sub_add(m, NULL, "natsmap.conf", NULL, on_conf, s, NULL);
    if (rc != TERN_OK) {
        free(s);
        return rc;
    }
    *self = s;
    return TERN_OK;
}

static void nm_fini(void *self)
{
    free(self);
}

static const char *const nats_keys[] = { "leafnodes", NULL };

TERN_MODULE_DEFINE(.name = NATSMAP_NAME, .version = "1.0",
                   .description = "test module: nats-server key mapping", .init = nm_init,
                   .fini = nm_fini, .validate = nm_validate, .nats_keys = nats_keys,
                   .nats_map = nm_map);
