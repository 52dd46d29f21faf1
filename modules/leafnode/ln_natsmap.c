/* nats-server's `leafnodes { }` (alias `leaf`) → modules.leafnode. Keys
 * and aliases as nats-server's parseLeafNodes / parseRemoteLeafNodes;
 * what Tern does not do is refused naming the key. */
#include "ln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct nm {
    tern_module *m;
    const tern_host_api *api;
} nm;

static tern_rc str_json(nm *x, const tern_config *v, json_t **out)
{
    const char *s;
    tern_rc rc = x->api->conf_str(x->m, v, &s);
    if (rc == TERN_OK)
        *out = json_string(s);
    return rc;
}

static tern_rc path_json(nm *x, const tern_config *v, json_t **out)
{
    char *p;
    tern_rc rc = x->api->conf_path(x->m, v, &p);
    if (rc == TERN_OK) {
        *out = json_string(p);
        x->api->free(p);
    }
    return rc;
}

static tern_rc bool_json(nm *x, const tern_config *v, json_t **out)
{
    bool b;
    tern_rc rc = x->api->conf_bool(x->m, v, &b);
    if (rc == TERN_OK)
        *out = json_boolean(b);
    return rc;
}

/* A subject or a list of them, as a list. */
static tern_rc list_json(nm *x, const tern_config *v, json_t **out)
{
    json_t *a = json_array();
    *out = a;
    if (x->api->conf_type(v) != 3) {
        json_t *j;
        if (str_json(x, v, &j))
            return TERN_EINVAL;
        json_array_append_new(a, j);
        return TERN_OK;
    }
    for (size_t i = 0; i < x->api->conf_len(v); i++) {
        json_t *j;
        if (str_json(x, x->api->conf_at(v, i), &j))
            return TERN_EINVAL;
        json_array_append_new(a, j);
    }
    return TERN_OK;
}

static tern_rc unsupported(nm *x, const tern_config *v, const char *path, const char *why)
{
    return x->api->conf_error(x->m, v, "'%s' is not supported: %s", path, why);
}

static tern_rc map_tls(nm *x, const tern_config *v, const char *path, json_t **out)
{
    if (x->api->conf_type(v) != 2)
        return x->api->conf_error(x->m, v, "%s: expected a map", path);
    json_t *t = json_object();
    *out = t;
    for (size_t i = 0; i < x->api->conf_len(v); i++) {
        const char *k = x->api->conf_key_at(v, i);
        const tern_config *e = x->api->conf_at(v, i);
        const char *dst = !strcasecmp(k, "cert_file") ? "cert"
                          : !strcasecmp(k, "key_file") ? "key"
                          : !strcasecmp(k, "ca_file") ? "ca" : NULL;
        json_t *j = NULL;
        tern_rc rc;
        if (dst) {
            rc = path_json(x, e, &j);
        } else if (!strcasecmp(k, "verify") || !strcasecmp(k, "insecure")) {
            dst = !strcasecmp(k, "verify") ? "verify" : "insecure";
            rc = bool_json(x, e, &j);
        } else if (!strcasecmp(k, "timeout")) {
            dst = "timeout";
            rc = str_json(x, e, &j);
        } else {
            char p[200];
            snprintf(p, sizeof p, "%s.%s", path, k);
            return unsupported(x, e, p, "this TLS option is not mapped");
        }
        if (rc)
            return rc;
        json_object_set_new(t, dst, j);
    }
    return TERN_OK;
}

static tern_rc map_user(nm *x, const tern_config *v, json_t **out)
{
    if (x->api->conf_type(v) != 2)
        return x->api->conf_error(x->m, v, "leafnodes authorization users: expected maps");
    json_t *u = json_object();
    *out = u;
    for (size_t i = 0; i < x->api->conf_len(v); i++) {
        const char *k = x->api->conf_key_at(v, i);
        const tern_config *e = x->api->conf_at(v, i);
        const char *dst = (!strcasecmp(k, "user") || !strcasecmp(k, "username")) ? "user"
                          : (!strcasecmp(k, "pass") || !strcasecmp(k, "password")) ? "password"
                          : !strcasecmp(k, "account") ? "account" : NULL;
        if (!dst) {
            char p[200];
            snprintf(p, sizeof p, "leafnodes.authorization.users.%s", k);
            return unsupported(x, e, p, "leaf users take user, password and account");
        }
        json_t *j;
        if (str_json(x, e, &j))
            return TERN_EINVAL;
        json_object_set_new(u, dst, j);
    }
    return TERN_OK;
}

static tern_rc map_auth(nm *x, const tern_config *v, json_t *o)
{
    if (x->api->conf_type(v) != 2)
        return x->api->conf_error(x->m, v, "leafnodes authorization: expected a map");
    json_t *a = json_object();
    json_object_set_new(o, "authorization", a);
    for (size_t i = 0; i < x->api->conf_len(v); i++) {
        const char *k = x->api->conf_key_at(v, i);
        const tern_config *e = x->api->conf_at(v, i);
        json_t *j = NULL;
        const char *dst = (!strcasecmp(k, "user") || !strcasecmp(k, "username")) ? "user"
                          : (!strcasecmp(k, "pass") || !strcasecmp(k, "password")) ? "password"
                          : !strcasecmp(k, "account") ? "account"
                          : !strcasecmp(k, "timeout") ? "timeout" : NULL;
        if (dst) {
            if (str_json(x, e, &j))
                return TERN_EINVAL;
            json_object_set_new(a, dst, j);
        } else if (!strcasecmp(k, "users")) {
            if (x->api->conf_type(e) != 3)
                return x->api->conf_error(x->m, e, "leafnodes authorization users: expected an array");
            json_t *list = json_array();
            json_object_set_new(a, "users", list);
            for (size_t u = 0; u < x->api->conf_len(e); u++) {
                if (map_user(x, x->api->conf_at(e, u), &j)) {
                    json_decref(j);
                    return TERN_EINVAL;
                }
                json_array_append_new(list, j);
            }
        } else {
            char p[200];
            snprintf(p, sizeof p, "leafnodes.authorization.%s", k);
            return unsupported(x, e, p, "leaf authorization takes user, password, account, timeout and users");
        }
    }
    return TERN_OK;
}

static tern_rc map_remote(nm *x, const tern_config *v, json_t **out)
{
    if (x->api->conf_type(v) != 2)
        return x->api->conf_error(x->m, v, "leafnodes remotes: expected maps");
    json_t *r = json_object();
    *out = r;
    for (size_t i = 0; i < x->api->conf_len(v); i++) {
        const char *k = x->api->conf_key_at(v, i);
        const tern_config *e = x->api->conf_at(v, i);
        json_t *j = NULL;
        const char *dst = NULL;
        tern_rc rc;
        char p[200];
        snprintf(p, sizeof p, "leafnodes.remotes.%s", k);
        if (!strcasecmp(k, "url")) {
            dst = "url";
            rc = str_json(x, e, &j);
        } else if (!strcasecmp(k, "urls")) {
            dst = "urls";
            rc = list_json(x, e, &j);
        } else if (!strcasecmp(k, "account") || !strcasecmp(k, "local")) {
            dst = "account";
            rc = str_json(x, e, &j);
        } else if (!strcasecmp(k, "creds") || !strcasecmp(k, "credentials")) {
            dst = "credentials";
            rc = path_json(x, e, &j);
        } else if (!strcasecmp(k, "no_randomize") || !strcasecmp(k, "dont_randomize")) {
            dst = "no_randomize";
            rc = bool_json(x, e, &j);
        } else if (!strcasecmp(k, "deny_imports") || !strcasecmp(k, "deny_import")) {
            dst = "deny_imports";
            rc = list_json(x, e, &j);
        } else if (!strcasecmp(k, "deny_exports") || !strcasecmp(k, "deny_export")) {
            dst = "deny_exports";
            rc = list_json(x, e, &j);
        } else if (!strcasecmp(k, "tls")) {
            dst = "tls";
            rc = map_tls(x, e, "leafnodes.remotes.tls", &j);
        } else if (!strcasecmp(k, "hub")) {
            json_decref(j);
            return unsupported(x, e, p, "a hub dialing its spoke is not supported");
        } else if (!strncasecmp(k, "ws_", 3) || !strncasecmp(k, "websocket_", 10)) {
            return unsupported(x, e, p, "websocket leaf node connections are not supported");
        } else if (!strcasecmp(k, "jetstream_cluster_migrate") || !strcasecmp(k, "js_cluster_migrate")) {
            return unsupported(x, e, p, "JetStream is not supported");
        } else {
            return unsupported(x, e, p, "unknown remote option");
        }
        if (rc) {
            json_decref(j);
            return rc;
        }
        json_object_set_new(r, dst, j);
    }
    return TERN_OK;
}

tern_rc ln_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                    const tern_config *value, char **json)
{
    (void)key;
    nm x = { m, api };
    if (api->conf_type(value) != 2)
        return api->conf_error(m, value, "Expected map to define leafnodes");
    json_t *o = json_object();
    const char *host = NULL;
    int64_t port = -2;
    tern_rc rc = TERN_OK;
    for (size_t i = 0; i < api->conf_len(value) && rc == TERN_OK; i++) {
        const char *k = api->conf_key_at(value, i);
        const tern_config *v = api->conf_at(value, i);
        json_t *j = NULL;
        char p[200];
        snprintf(p, sizeof p, "leafnodes.%s", k);
        if (!strcasecmp(k, "listen")) {
            const char *s;
            if (!(rc = api->conf_str(m, v, &s))) {
                if (*s && strspn(s, "0123456789") == strlen(s))
                    port = atoll(s);
                else
                    json_object_set_new(o, "listen", json_string(s));
            }
        } else if (!strcasecmp(k, "port")) {
            rc = api->conf_int(m, v, &port);
        } else if (!strcasecmp(k, "host") || !strcasecmp(k, "net")) {
            rc = api->conf_str(m, v, &host);
        } else if (!strcasecmp(k, "authorization")) {
            rc = map_auth(&x, v, o);
        } else if (!strcasecmp(k, "remotes")) {
            if (api->conf_type(v) != 3) {
                rc = api->conf_error(m, v, "leafnodes remotes: expected an array");
                break;
            }
            json_t *a = json_array();
            json_object_set_new(o, "remotes", a);
            for (size_t r = 0; r < api->conf_len(v) && rc == TERN_OK; r++) {
                j = NULL;
                if (!(rc = map_remote(&x, api->conf_at(v, r), &j)))
                    json_array_append_new(a, j);
                else
                    json_decref(j);
            }
        } else if (!strcasecmp(k, "reconnect") || !strcasecmp(k, "reconnect_delay") ||
                   !strcasecmp(k, "reconnect_interval")) {
            if (!(rc = str_json(&x, v, &j)))
                json_object_set_new(o, "reconnect", j);
        } else if (!strcasecmp(k, "tls")) {
            if (!(rc = map_tls(&x, v, "leafnodes.tls", &j)))
                json_object_set_new(o, "tls", j);
            else
                json_decref(j);
        } else if (!strcasecmp(k, "advertise") || !strcasecmp(k, "leafnode_advertise")) {
            if (!(rc = str_json(&x, v, &j)))
                json_object_set_new(o, "advertise", j);
        } else if (!strcasecmp(k, "no_advertise")) {
            if (!(rc = bool_json(&x, v, &j)))
                json_object_set_new(o, "no_advertise", j);
        } else if (!strcasecmp(k, "min_version") || !strcasecmp(k, "minimum_version")) {
            rc = unsupported(&x, v, p, "leaf connections are not refused by version");
        } else if (!strcasecmp(k, "compression")) {
            rc = unsupported(&x, v, p, "S2 compression of leaf node links is not supported");
        } else {
            rc = unsupported(&x, v, p, "unknown leafnodes option");
        }
    }
    if (rc == TERN_OK && port != -2) {
        char l[320];
        snprintf(l, sizeof l, "%s:%lld", host ? host : "0.0.0.0", (long long)(port < 0 ? 0 : port));
        json_object_set_new(o, "listen", json_string(l));
    } else if (rc == TERN_OK && host && !json_object_get(o, "listen")) {
        json_object_set_new(o, "host", json_string(host));
    }
    char *t = rc == TERN_OK ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (rc != TERN_OK)
        return rc;
    *json = t ? api->strdup(t) : NULL;
    free(t);
    return *json ? TERN_OK : TERN_ENOMEM;
}
