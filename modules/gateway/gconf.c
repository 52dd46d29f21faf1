/* Gateway module configuration (gconf.h). */
#include "gconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <tern/wire.h>

int gw_split_hostport(const char *s, size_t n, char **host, int *port)
{
    return tern_wire_url_hostport(s, n, -1, host, port);
}

void gw_hostport(char *out, size_t n, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(out, n, "[%s]:%d", host, port);
    else
        snprintf(out, n, "%s:%d", host, port);
}

/* tls:// is accepted too; the error names nats only. */
static const char *const gw_schemes[] = { "nats", "tls", NULL };
static const tern_wire_url_spec gw_url_spec = {
    .what = "gateway", .schemes = gw_schemes, .schemes_text = "nats", .scheme_optional = true,
    .default_port = -1,
};

int gw_url_parse(const char *text, gw_url *out, char *err, size_t errlen)
{
    tern_wire_url u;
    memset(out, 0, sizeof *out);
    if (tern_wire_url_parse(text, &gw_url_spec, &u, err, errlen) < 0)
        return -1;
    /* gateway.c fills gw_urls field by field: keep the module's own struct */
    *out = (gw_url){ .host = u.host, .port = u.port, .user = u.user, .pass = u.pass };
    free(u.text);
    free(u.scheme);
    return 0;
}

void gw_url_free(gw_url *u)
{
    free(u->host);
    free(u->user);
    free(u->pass);
    memset(u, 0, sizeof *u);
}

void gw_conf_free(gw_conf *c)
{
    free(c->name);
    free(c->host);
    free(c->advertise);
    free(c->user);
    free(c->pass);
    for (size_t i = 0; i < c->nremotes; i++) {
        free(c->remotes[i].name);
        for (size_t k = 0; k < c->remotes[i].nurls; k++)
            gw_url_free(&c->remotes[i].urls[k]);
        free(c->remotes[i].urls);
    }
    free(c->remotes);
    memset(c, 0, sizeof *c);
}

static const char *const top_keys[] = { "name", "listen", "advertise", "authorization",
                                        "connect_retries", "gateways", "tls",
                                        "reject_unknown_cluster", NULL };
static const char *const auth_keys[] = { "user", "password", "timeout", NULL };
static const char *const remote_keys[] = { "name", "urls", "url", "tls", NULL };

static tern_rc opt_str(tern_module *m, const tern_host_api *api, const tern_config *map,
                       const char *key, char **out)
{
    const char *s;
    const tern_config *n = api->conf_get(map, key);
    if (!n || api->conf_type(n) == 0)
        return TERN_OK;
    tern_rc rc = api->conf_str(m, n, &s);
    if (rc)
        return rc;
    free(*out);
    *out = strdup(s);
    return *out ? TERN_OK : TERN_ENOMEM;
}

static bool bad_name(const char *s)
{
    return !*s || strpbrk(s, " \t\r\n") != NULL;
}

static tern_rc add_url(tern_module *m, const tern_host_api *api, const tern_config *n,
                       gw_remote_conf *r)
{
    const char *s;
    tern_rc rc = api->conf_str(m, n, &s);
    if (rc)
        return rc;
    gw_url u;
    char err[300];
    if (gw_url_parse(s, &u, err, sizeof err) < 0)
        return api->conf_error(m, n, "%s", err);
    gw_url *v = realloc(r->urls, (r->nurls + 1) * sizeof *v);
    if (!v) {
        gw_url_free(&u);
        return TERN_ENOMEM;
    }
    r->urls = v;
    v[r->nurls++] = u;
    return TERN_OK;
}

static tern_rc read_remote(tern_module *m, const tern_host_api *api, const tern_config *n,
                           gw_remote_conf *r)
{
    if (api->conf_type(n) != 2)
        return api->conf_error(m, n, "gateways: each entry is a map with name and urls");
    tern_rc rc = api->conf_check_keys(m, n, remote_keys);
    if (rc)
        return rc;
    if (api->conf_get(n, "tls"))
        return api->conf_error(m, api->conf_get(n, "tls"),
                               "gateways.tls: TLS on gateway connections is not supported");
    rc = opt_str(m, api, n, "name", &r->name);
    if (rc)
        return rc;
    if (!r->name || bad_name(r->name))
        return api->conf_error(m, n, "gateways: name is required (no spaces)");
    const tern_config *url = api->conf_get(n, "url");
    if (url && api->conf_type(url) != 0 && (rc = add_url(m, api, url, r)))
        return rc;
    const tern_config *urls = api->conf_get(n, "urls");
    if (urls && api->conf_type(urls) != 0) {
        if (api->conf_type(urls) != 3)
            return add_url(m, api, urls, r);
        for (size_t i = 0; i < api->conf_len(urls); i++)
            if ((rc = add_url(m, api, api->conf_at(urls, i), r)))
                return rc;
    }
    if (!r->nurls)
        return api->conf_error(m, n, "gateway \"%s\": at least one URL is required", r->name);
    return TERN_OK;
}

#define TRY(x)                 \
    do {                       \
        tern_rc rc_ = (x);     \
        if (rc_ != TERN_OK) {  \
            gw_conf_free(out); \
            return rc_;        \
        }                      \
    } while (0)

tern_rc gw_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                     gw_conf *out)
{
    memset(out, 0, sizeof *out);
    out->auth_timeout_ms = 2000;
    if (!conf || api->conf_type(conf) != 2) {
        api->set_error(m, "gateway: expected a map with at least name and listen");
        return TERN_EINVAL;
    }
    TRY(api->conf_check_keys(m, conf, top_keys));
    if (api->conf_get(conf, "tls"))
        TRY(api->conf_error(m, api->conf_get(conf, "tls"),
                            "gateway.tls: TLS on gateway connections is not supported"));
    if (api->conf_get(conf, "reject_unknown_cluster"))
        TRY(api->conf_error(m, api->conf_get(conf, "reject_unknown_cluster"),
                            "gateway.reject_unknown_cluster is not supported"));
    TRY(opt_str(m, api, conf, "name", &out->name));
    if (!out->name || bad_name(out->name))
        TRY(api->conf_error(m, conf, "gateway: name is required (no spaces)"));
    const tern_config *listen = api->conf_get(conf, "listen");
    const char *ls;
    if (!listen || api->conf_str(m, listen, &ls) != TERN_OK)
        TRY(api->conf_error(m, conf, "gateway: listen (host:port) is required"));
    if (gw_split_hostport(ls, strlen(ls), &out->host, &out->port) < 0)
        TRY(api->conf_error(m, listen, "gateway listen: expected host:port"));
    TRY(opt_str(m, api, conf, "advertise", &out->advertise));
    if (out->advertise) {
        char *h;
        int p;
        if (gw_split_hostport(out->advertise, strlen(out->advertise), &h, &p) < 0)
            TRY(api->conf_error(m, api->conf_get(conf, "advertise"),
                                "gateway advertise: expected host:port"));
        free(h);
    }
    const tern_config *auth = api->conf_get(conf, "authorization");
    if (auth && api->conf_type(auth) != 0) {
        TRY(api->conf_check_keys(m, auth, auth_keys));
        TRY(opt_str(m, api, auth, "user", &out->user));
        TRY(opt_str(m, api, auth, "password", &out->pass));
        tern_rc rc = api->conf_duration_ms(m, api->conf_get(auth, "timeout"), &out->auth_timeout_ms);
        if (rc != TERN_OK && rc != TERN_ENOENT)
            TRY(rc);
        if (!out->user)
            TRY(api->conf_error(m, auth, "gateway authorization: user is required"));
    }
    tern_rc rc = api->conf_int(m, api->conf_get(conf, "connect_retries"), &out->connect_retries);
    if (rc != TERN_OK && rc != TERN_ENOENT)
        TRY(rc);
    const tern_config *gws = api->conf_get(conf, "gateways");
    if (gws && api->conf_type(gws) != 0) {
        if (api->conf_type(gws) != 3)
            TRY(api->conf_error(m, gws, "gateways: expected a list"));
        size_t n = api->conf_len(gws);
        out->remotes = calloc(n ? n : 1, sizeof *out->remotes);
        if (!out->remotes)
            TRY(TERN_ENOMEM);
        for (size_t i = 0; i < n; i++) {
            gw_remote_conf *r = &out->remotes[out->nremotes++];
            TRY(read_remote(m, api, api->conf_at(gws, i), r));
            for (size_t k = 0; k + 1 < out->nremotes; k++)
                if (!strcmp(out->remotes[k].name, r->name))
                    TRY(api->conf_error(m, api->conf_at(gws, i), "gateways: \"%s\" listed twice",
                                        r->name));
        }
    }
    return TERN_OK;
}

/* ---- nats-server's gateway { } ----------------------------------------- */

static tern_rc scalar_json(tern_module *m, const tern_host_api *api, const tern_config *n,
                           json_t **out)
{
    const char *s;
    tern_rc rc = api->conf_str(m, n, &s);
    if (rc)
        return rc;
    *out = json_string(s);
    return TERN_OK;
}

static tern_rc map_auth(tern_module *m, const tern_host_api *api, const tern_config *v, json_t *o)
{
    if (api->conf_type(v) != 2)
        return api->conf_error(m, v, "gateway authorization: expected a map");
    json_t *a = json_object();
    json_object_set_new(o, "authorization", a);
    for (size_t i = 0; i < api->conf_len(v); i++) {
        const char *k = api->conf_key_at(v, i);
        const tern_config *x = api->conf_at(v, i);
        const char *to = !strcasecmp(k, "user") || !strcasecmp(k, "username") ? "user"
                         : !strcasecmp(k, "pass") || !strcasecmp(k, "password") ? "password"
                         : !strcasecmp(k, "timeout") ? "timeout" : NULL;
        if (!strcasecmp(k, "token"))   /* nats-server's own refusal */
            return api->conf_error(m, x, "Gateway authorization does not support tokens");
        if (!to)
            return api->conf_error(m, x, "'gateway.authorization.%s' is not supported", k);
        json_t *j;
        if (scalar_json(m, api, x, &j))
            return TERN_EINVAL;
        json_object_set_new(a, to, j);
    }
    return TERN_OK;
}

static tern_rc map_remotes(tern_module *m, const tern_host_api *api, const tern_config *v, json_t *o)
{
    if (api->conf_type(v) != 3)
        return api->conf_error(m, v, "gateway gateways: expected an array");
    json_t *arr = json_array();
    json_object_set_new(o, "gateways", arr);
    for (size_t i = 0; i < api->conf_len(v); i++) {
        const tern_config *r = api->conf_at(v, i);
        if (api->conf_type(r) != 2)
            return api->conf_error(m, r, "gateway gateways: expected a map");
        json_t *e = json_object();
        json_array_append_new(arr, e);
        json_t *urls = json_array();
        json_object_set_new(e, "urls", urls);
        for (size_t k = 0; k < api->conf_len(r); k++) {
            const char *key = api->conf_key_at(r, k);
            const tern_config *x = api->conf_at(r, k);
            json_t *j;
            if (!strcasecmp(key, "name")) {
                if (scalar_json(m, api, x, &j))
                    return TERN_EINVAL;
                json_object_set_new(e, "name", j);
            } else if (!strcasecmp(key, "url")) {
                if (scalar_json(m, api, x, &j))
                    return TERN_EINVAL;
                json_array_append_new(urls, j);
            } else if (!strcasecmp(key, "urls")) {
                size_t nu = api->conf_type(x) == 3 ? api->conf_len(x) : 1;
                for (size_t u = 0; u < nu; u++) {
                    if (scalar_json(m, api, api->conf_type(x) == 3 ? api->conf_at(x, u) : x, &j))
                        return TERN_EINVAL;
                    json_array_append_new(urls, j);
                }
            } else if (!strcasecmp(key, "tls")) {
                return api->conf_error(m, x, "'gateway.gateways.tls' is not supported");
            } else {
                return api->conf_error(m, x, "'gateway.gateways.%s' is not supported", key);
            }
        }
    }
    return TERN_OK;
}

tern_rc gw_conf_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                         const tern_config *value, char **json)
{
    (void)key;
    if (api->conf_type(value) != 2)
        return api->conf_error(m, value, "Expected gateway to be a map");
    json_t *o = json_object();
    const char *host = NULL, *listen = NULL;
    int64_t port = -1;
    tern_rc rc = TERN_OK;
    for (size_t i = 0; i < api->conf_len(value) && rc == TERN_OK; i++) {
        const char *k = api->conf_key_at(value, i);
        const tern_config *v = api->conf_at(value, i);
        json_t *j = NULL;
        if (!strcasecmp(k, "name") || !strcasecmp(k, "advertise")) {
            if (!(rc = scalar_json(m, api, v, &j)))
                json_object_set_new(o, !strcasecmp(k, "name") ? "name" : "advertise", j);
        } else if (!strcasecmp(k, "listen")) {
            rc = api->conf_str(m, v, &listen);
        } else if (!strcasecmp(k, "port")) {
            rc = api->conf_int(m, v, &port);
        } else if (!strcasecmp(k, "host") || !strcasecmp(k, "net")) {
            rc = api->conf_str(m, v, &host);
        } else if (!strcasecmp(k, "authorization")) {
            rc = map_auth(m, api, v, o);
        } else if (!strcasecmp(k, "connect_retries")) {
            int64_t n;
            if (!(rc = api->conf_int(m, v, &n)))
                json_object_set_new(o, "connect_retries", json_integer(n));
        } else if (!strcasecmp(k, "gateways")) {
            rc = map_remotes(m, api, v, o);
        } else {
            rc = api->conf_error(m, v, "'gateway.%s' is not supported", k);
        }
    }
    if (rc == TERN_OK) {
        /* listen, or host/port parts of it (nats-server: port alone listens everywhere) */
        char *lh = NULL;
        int lp = 0;
        if (listen && gw_split_hostport(listen, strlen(listen), &lh, &lp) < 0) {
            if (strspn(listen, "0123456789") == strlen(listen) && *listen)
                lp = atoi(listen);
            else
                rc = api->conf_error(m, value, "could not parse gateway listen address");
        }
        if (rc == TERN_OK && (listen || port >= 0 || host)) {
            char hp[320];
            gw_hostport(hp, sizeof hp, host ? host : lh ? lh : "0.0.0.0",
                        port >= 0 ? (int)port : lp);
            json_object_set_new(o, "listen", json_string(hp));
        }
        free(lh);
    }
    if (rc != TERN_OK) {
        json_decref(o);
        return rc;
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return TERN_ENOMEM;
    *json = api->strdup(s);
    free(s);
    return *json ? TERN_OK : TERN_ENOMEM;
}
