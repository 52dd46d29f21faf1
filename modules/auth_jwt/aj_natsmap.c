/* nats-server's operator-mode keys → modules.auth_jwt (`ternd -c
 * nats-server.conf`). system_account stays the kernel's key: an account
 * public key there names the account this module resolves. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aj.h"

const char *const aj_nats_keys[] = { "operator", "operators", "root_operator", "root_operators",
                                     "resolver", "account_resolver", "accounts_resolver",
                                     "resolver_preload", "trusted", "trusted_keys", NULL };

/* A scalar or a list of scalars as a JSON array of strings. */
static json_t *strings(tern_module *m, const tern_host_api *api, const tern_config *v)
{
    json_t *out = json_array();
    size_t n = api->conf_type(v) == 3 ? api->conf_len(v) : 1;
    for (size_t i = 0; i < n; i++) {
        const tern_config *it = api->conf_type(v) == 3 ? api->conf_at(v, i) : v;
        const char *s;
        if (api->conf_str(m, it, &s) != TERN_OK) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, json_string(s));
    }
    return out;
}

static json_t *resolver(tern_module *m, const tern_host_api *api, const tern_config *v)
{
    json_t *r = json_object();
    const char *s;
    if (api->conf_type(v) == 1) {
        if (api->conf_str(m, v, &s) != TERN_OK)
            return json_decref(r), NULL;
        if (!strcasecmp(s, "MEMORY") || !strcasecmp(s, "MEM")) {
            json_object_set_new(r, "type", json_string("memory"));
        } else if (!strncasecmp(s, "URL(", 4) && s[strlen(s) - 1] == ')') {
            json_object_set_new(r, "type", json_string("url"));
            json_object_set_new(r, "url", json_stringn(s + 4, strlen(s) - 5));
        } else {
            api->conf_error(m, v, "resolver: expected MEMORY, URL(<url>) or a resolver block");
            return json_decref(r), NULL;
        }
        return r;
    }
    if (api->conf_type(v) != 2) {
        api->conf_error(m, v, "resolver: expected MEMORY, URL(<url>) or a resolver block");
        return json_decref(r), NULL;
    }
    for (size_t i = 0; i < api->conf_len(v); i++) {
        const char *k = api->conf_key_at(v, i);
        const tern_config *x = api->conf_at(v, i);
        bool b;
        int64_t n;
        if (!strcasecmp(k, "type") || !strcasecmp(k, "dir") || !strcasecmp(k, "url")) {
            if (api->conf_str(m, x, &s) != TERN_OK)
                return json_decref(r), NULL;
            char low[16];
            size_t j = 0;
            for (; !strcasecmp(k, "type") && s[j] && j < sizeof low - 1; j++)
                low[j] = (char)tolower((unsigned char)s[j]);
            low[j] = 0;
            json_object_set_new(r, !strcasecmp(k, "type") ? "type" : !strcasecmp(k, "dir") ? "dir"
                                                                                            : "url",
                                json_string(!strcasecmp(k, "type") ? low : s));
        } else if (!strcasecmp(k, "allow_delete") || !strcasecmp(k, "hard_delete")) {
            if (api->conf_bool(m, x, &b) != TERN_OK)
                return json_decref(r), NULL;
            json_object_set_new(r, !strcasecmp(k, "allow_delete") ? "allow_delete"
                                                                   : "hard_delete",
                                json_boolean(b));
        } else if (!strcasecmp(k, "limit")) {
            if (api->conf_int(m, x, &n) != TERN_OK)
                return json_decref(r), NULL;
            json_object_set_new(r, "limit", json_integer(n));
        } else if (!strcasecmp(k, "interval") || !strcasecmp(k, "ttl") ||
                   !strcasecmp(k, "timeout")) {
            if (api->conf_duration_ms(m, x, &n) != TERN_OK)
                return json_decref(r), NULL;
            char d[32];
            snprintf(d, sizeof d, "%lldms", (long long)n);
            json_object_set_new(r, !strcasecmp(k, "interval") ? "interval"
                                   : !strcasecmp(k, "ttl")    ? "ttl"
                                                              : "timeout",
                                json_string(d));
        } else {
            api->conf_error(m, x, "resolver: '%s' is not supported", k);
            return json_decref(r), NULL;
        }
    }
    return r;
}

tern_rc aj_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                    const tern_config *value, char **json)
{
    json_t *out = json_object(), *v = NULL;
    const char *name = NULL;
    if (!strcasecmp(key, "operator") || !strcasecmp(key, "operators") ||
        !strcasecmp(key, "root_operator") || !strcasecmp(key, "root_operators")) {
        name = "operator";
        v = strings(m, api, value);
    } else if (!strcasecmp(key, "trusted") || !strcasecmp(key, "trusted_keys")) {
        name = "trusted_keys";
        v = strings(m, api, value);
    } else if (!strcasecmp(key, "resolver_preload")) {
        name = "resolver_preload";
        if (api->conf_type(value) != 2) {
            json_decref(out);
            return api->conf_error(m, value, "resolver_preload: expected a map of account keys");
        }
        v = json_object();
        for (size_t i = 0; i < api->conf_len(value); i++) {
            const char *s;
            if (api->conf_str(m, api->conf_at(value, i), &s) != TERN_OK) {
                json_decref(v);
                v = NULL;
                break;
            }
            json_object_set_new(v, api->conf_key_at(value, i), json_string(s));
        }
    } else {
        name = "resolver";
        v = resolver(m, api, value);
    }
    if (!v) {
        json_decref(out);
        return TERN_EINVAL;
    }
    json_object_set_new(out, name, v);
    char *s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    *json = api->strdup(s);
    free(s);
    return TERN_OK;
}
