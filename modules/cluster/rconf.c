/* Cluster module configuration (rconf.h). */
#include "rconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <tern/wire.h>

static const char *const route_schemes[] = { "nats-route", "nats", "tls", NULL };
static const tern_wire_url_spec route_url = {
    .what = "route", .schemes = route_schemes, .schemes_text = "nats-route, nats or tls",
    .default_port = -1,
};

int cl_url_parse(const char *text, cl_url *out, char *err, size_t errlen)
{
    return tern_wire_url_parse(text, &route_url, out, err, errlen);
}

void cl_url_free(cl_url *u)
{
    tern_wire_url_free(u);
}

bool cl_url_same(const cl_url *a, const cl_url *b)
{
    return a->port == b->port && a->host && b->host && !strcasecmp(a->host, b->host);
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void perm_free(cl_perm *p)
{
    strv_free(p->allow, p->nallow);
    strv_free(p->deny, p->ndeny);
    memset(p, 0, sizeof *p);
}

/* A pattern's token-wise match of subject, the subject's wildcards being
 * plain tokens that only a wildcard of the pattern covers. */
static bool subject_covered(const char *pat, const char *subj)
{
    for (;;) {
        const char *pe = strchr(pat, '.'), *se = strchr(subj, '.');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        size_t sl = se ? (size_t)(se - subj) : strlen(subj);
        if (pl == 1 && pat[0] == '>')
            return sl > 0;
        if (!(pl == 1 && pat[0] == '*') && (pl != sl || memcmp(pat, subj, pl)))
            return false;
        if (!pe || !se)
            return !pe && !se;
        pat = pe + 1;
        subj = se + 1;
    }
}

bool cl_perm_allows(const cl_perm *p, const char *subject)
{
    bool ok = !p->allow;
    for (size_t i = 0; !ok && i < p->nallow; i++)
        ok = subject_covered(p->allow[i], subject);
    for (size_t i = 0; ok && i < p->ndeny; i++)
        ok = !subject_covered(p->deny[i], subject);
    return ok;
}

bool cl_perm_set(const cl_perm *p)
{
    return p->allow || p->ndeny;
}

static bool strv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb || (!a) != (!b))
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return true;
}

bool cl_perm_equal(const cl_perm *a, const cl_perm *b)
{
    return strv_equal(a->allow, a->nallow, b->allow, b->nallow) &&
           strv_equal(a->deny, a->ndeny, b->deny, b->ndeny);
}

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *cl_perm_json(const cl_perm *p)
{
    if (!cl_perm_set(p))
        return NULL;
    json_t *o = json_object();
    if (p->allow)
        json_object_set_new(o, "allow", strv_json(p->allow, p->nallow));
    if (p->ndeny)
        json_object_set_new(o, "deny", strv_json(p->deny, p->ndeny));
    return o;
}

void cl_conf_free(cl_conf *c)
{
    perm_free(&c->import_);
    perm_free(&c->export_);
    free(c->name);
    free(c->host);
    for (size_t i = 0; i < c->nroutes; i++)
        cl_url_free(&c->routes[i]);
    free(c->routes);
    free(c->user);
    free(c->pass);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tls_ca);
    free(c->advertise);
    free(c->client_advertise);
    memset(c, 0, sizeof *c);
}

static const char *const top_keys[] = {
    "name", "listen", "routes", "authorization", "tls", "no_advertise", "connect_retries",
    "advertise", "client_advertise", "connect_error_reports", "reconnect_error_reports",
    "permissions", NULL,
};
static const char *const perm_keys[] = { "import", "export", NULL };
static const char *const perm_list_keys[] = { "allow", "deny", NULL };
static const char *const auth_keys[] = { "user", "password", "token", "timeout", NULL };
static const char *const tls_keys[] = { "cert", "key", "ca", "verify", "timeout", NULL };

/* An optional string: ENOENT leaves *out alone. */
static tern_rc opt_str(tern_module *m, const tern_host_api *api, const tern_config *map,
                       const char *key, char **out)
{
    const char *s;
    const tern_config *n = api->conf_get(map, key);
    if (!n || api->conf_type(n) == 0)
        return TERN_OK;              /* absent or null */
    tern_rc rc = api->conf_str(m, n, &s);
    if (rc)
        return rc;
    free(*out);
    *out = strdup(s);
    return *out ? TERN_OK : TERN_ENOMEM;
}

static tern_rc opt_path(tern_module *m, const tern_host_api *api, const tern_config *map,
                        const char *key, char **out)
{
    char *p;
    tern_rc rc = api->conf_path(m, api->conf_get(map, key), &p);
    if (rc == TERN_ENOENT)
        return TERN_OK;
    if (rc)
        return rc;
    free(*out);
    *out = strdup(p);
    api->free(p);
    return *out ? TERN_OK : TERN_ENOMEM;
}

/* A subject or a list of subjects, appended to *v. */
static tern_rc subject_list(tern_module *m, const tern_host_api *api, const tern_config *n,
                            char ***v, size_t *nv)
{
    bool list = api->conf_type(n) == 3;
    size_t cnt = list ? api->conf_len(n) : 1;
    char **nvv = realloc(*v, (*nv + cnt + 1) * sizeof **v);
    if (!nvv)
        return TERN_ENOMEM;
    *v = nvv;
    for (size_t i = 0; i < cnt; i++) {
        const tern_config *it = list ? api->conf_at(n, i) : n;
        const char *s;
        tern_rc rc = api->conf_str(m, it, &s);
        if (rc)
            return rc;
        if (!*s || strpbrk(s, " \t\r\n"))
            return api->conf_error(m, it, "permissions: invalid subject \"%s\"", s);
        if (!((*v)[*nv] = strdup(s)))
            return TERN_ENOMEM;
        (*nv)++;
    }
    return TERN_OK;
}

/* import/export: a subject, a list (the allow list), or {allow, deny}. */
static tern_rc read_perm(tern_module *m, const tern_host_api *api, const tern_config *n,
                         cl_perm *p)
{
    if (!n || api->conf_type(n) == 0)
        return TERN_OK;
    if (api->conf_type(n) != 2)
        return subject_list(m, api, n, &p->allow, &p->nallow);
    tern_rc rc = api->conf_check_keys(m, n, perm_list_keys);
    const tern_config *a = api->conf_get(n, "allow"), *d = api->conf_get(n, "deny");
    if (rc == TERN_OK && a && api->conf_type(a) != 0)
        rc = subject_list(m, api, a, &p->allow, &p->nallow);
    if (rc == TERN_OK && d && api->conf_type(d) != 0)
        rc = subject_list(m, api, d, &p->deny, &p->ndeny);
    return rc;
}

#define TRY(x)                  \
    do {                        \
        tern_rc rc_ = (x);      \
        if (rc_ != TERN_OK) {   \
            cl_conf_free(out);  \
            return rc_;         \
        }                       \
    } while (0)

tern_rc cl_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                     cl_conf *out)
{
    memset(out, 0, sizeof *out);
    out->host = strdup("0.0.0.0");
    out->port = -1;              /* no listen: solicit only */
    out->auth_timeout_ms = 2000;
    out->tls_timeout_ms = 2000;
    out->connect_error_reports = 3600;   /* nats-server's defaults */
    out->reconnect_error_reports = 1;
    if (!out->host)
        return TERN_ENOMEM;
    if (!conf || api->conf_type(conf) == 0)
        return TERN_OK;
    if (api->conf_type(conf) != 2) {
        cl_conf_free(out);
        return api->conf_error(m, conf, "cluster: expected a map");
    }
    TRY(api->conf_check_keys(m, conf, top_keys));
    TRY(opt_str(m, api, conf, "name", &out->name));
    if (out->name && (!*out->name || strpbrk(out->name, " \t\r\n"))) {
        const tern_config *n = api->conf_get(conf, "name");
        cl_conf_free(out);
        return api->conf_error(m, n, "cluster name cannot be empty or contain spaces");
    }
    const tern_config *listen = api->conf_get(conf, "listen");
    if (listen && api->conf_type(listen) == 1) {
        const char *s;
        TRY(api->conf_str(m, listen, &s));
        char *h = NULL;
        int p;
        if (tern_wire_url_hostport(s, strlen(s), -1, &h, &p) < 0) {
            cl_conf_free(out);
            return api->conf_error(m, listen, "listen: expected host:port");
        }
        free(out->host);
        out->host = h;
        out->port = p;
    }
    const tern_config *routes = api->conf_get(conf, "routes");
    if (routes && api->conf_type(routes) != 0) {
        if (api->conf_type(routes) != 3) {
            cl_conf_free(out);
            return api->conf_error(m, routes, "routes: expected a list of URLs");
        }
        size_t n = api->conf_len(routes);
        out->routes = calloc(n ? n : 1, sizeof *out->routes);
        if (!out->routes) {
            cl_conf_free(out);
            return TERN_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            const tern_config *it = api->conf_at(routes, i);
            const char *s;
            TRY(api->conf_str(m, it, &s));
            char err[256];
            cl_url u;
            if (cl_url_parse(s, &u, err, sizeof err) < 0) {
                cl_conf_free(out);
                return api->conf_error(m, it, "%s", err);
            }
            bool dup = false;
            for (size_t k = 0; k < out->nroutes; k++)
                dup = dup || !strcmp(out->routes[k].text, u.text);
            if (dup) {
                /* nats-server warns and skips duplicate entries */
                cl_url_free(&u);
                continue;
            }
            out->routes[out->nroutes++] = u;
        }
    }
    const tern_config *auth = api->conf_get(conf, "authorization");
    if (auth && api->conf_type(auth) != 0) {
        TRY(api->conf_check_keys(m, auth, auth_keys));
        if (api->conf_get(auth, "token")) {
            const tern_config *t = api->conf_get(auth, "token");
            cl_conf_free(out);
            /* nats-server's own refusal: the route CONNECT has no token */
            return api->conf_error(m, t, "Cluster authorization does not support tokens");
        }
        TRY(opt_str(m, api, auth, "user", &out->user));
        TRY(opt_str(m, api, auth, "password", &out->pass));
        tern_rc rc = api->conf_duration_ms(m, api->conf_get(auth, "timeout"), &out->auth_timeout_ms);
        if (rc != TERN_OK && rc != TERN_ENOENT)
            TRY(rc);
    }
    const tern_config *tls = api->conf_get(conf, "tls");
    if (tls && api->conf_type(tls) != 0) {
        TRY(api->conf_check_keys(m, tls, tls_keys));
        out->tls = true;
        TRY(opt_path(m, api, tls, "cert", &out->tls_cert));
        TRY(opt_path(m, api, tls, "key", &out->tls_key));
        TRY(opt_path(m, api, tls, "ca", &out->tls_ca));
        tern_rc rc = api->conf_bool(m, api->conf_get(tls, "verify"), &out->tls_verify);
        if (rc != TERN_OK && rc != TERN_ENOENT)
            TRY(rc);
        rc = api->conf_duration_ms(m, api->conf_get(tls, "timeout"), &out->tls_timeout_ms);
        if (rc != TERN_OK && rc != TERN_ENOENT)
            TRY(rc);
        if (!out->tls_cert || !out->tls_key) {
            cl_conf_free(out);
            return api->conf_error(m, tls, "cluster tls: cert and key are required");
        }
        if (out->auth_timeout_ms == 2000)   /* nats-server: tls timeout + 1 s */
            out->auth_timeout_ms = out->tls_timeout_ms + 1000;
    }
    const tern_config *perms = api->conf_get(conf, "permissions");
    if (perms && api->conf_type(perms) != 0) {
        if (api->conf_type(perms) != 2) {
            cl_conf_free(out);
            return api->conf_error(m, perms, "permissions: expected a map with import/export");
        }
        TRY(api->conf_check_keys(m, perms, perm_keys));
        TRY(read_perm(m, api, api->conf_get(perms, "import"), &out->import_));
        TRY(read_perm(m, api, api->conf_get(perms, "export"), &out->export_));
    }
    tern_rc rc = api->conf_bool(m, api->conf_get(conf, "no_advertise"), &out->no_advertise);
    if (rc != TERN_OK && rc != TERN_ENOENT)
        TRY(rc);
    rc = api->conf_int(m, api->conf_get(conf, "connect_retries"), &out->connect_retries);
    if (rc != TERN_OK && rc != TERN_ENOENT)
        TRY(rc);
    TRY(opt_str(m, api, conf, "advertise", &out->advertise));
    TRY(opt_str(m, api, conf, "client_advertise", &out->client_advertise));
    static const char *const reports[] = { "connect_error_reports", "reconnect_error_reports" };
    for (int i = 0; i < 2; i++) {
        int64_t *dst = i ? &out->reconnect_error_reports : &out->connect_error_reports;
        const tern_config *n = api->conf_get(conf, reports[i]);
        rc = api->conf_int(m, n, dst);
        if (rc != TERN_OK && rc != TERN_ENOENT)
            TRY(rc);
        if (rc == TERN_OK && *dst < 1) {
            cl_conf_free(out);
            return api->conf_error(m, n, "%s: must be at least 1", reports[i]);
        }
    }
    return TERN_OK;
}

/* ---- nats-server's cluster { } ------------------------------------------ */

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

static tern_rc map_auth(tern_module *m, const tern_host_api *api, const tern_config *v,
                        json_t *o)
{
    if (api->conf_type(v) != 2)
        return api->conf_error(m, v, "cluster authorization: expected a map");
    json_t *a = json_object();
    json_object_set_new(o, "authorization", a);
    for (size_t i = 0; i < api->conf_len(v); i++) {
        const char *k = api->conf_key_at(v, i);
        const tern_config *x = api->conf_at(v, i);
        json_t *j = NULL;
        if (!strcasecmp(k, "user") || !strcasecmp(k, "username")) {
            if (scalar_json(m, api, x, &j))
                return TERN_EINVAL;
            json_object_set_new(a, "user", j);
        } else if (!strcasecmp(k, "pass") || !strcasecmp(k, "password")) {
            if (scalar_json(m, api, x, &j))
                return TERN_EINVAL;
            json_object_set_new(a, "password", j);
        } else if (!strcasecmp(k, "timeout")) {
            if (scalar_json(m, api, x, &j))
                return TERN_EINVAL;
            json_object_set_new(a, "timeout", j);
        } else if (!strcasecmp(k, "token")) {
            return api->conf_error(m, x, "Cluster authorization does not support tokens");
        } else if (!strcasecmp(k, "users")) {
            return api->conf_error(m, x, "Cluster authorization does not allow multiple users");
        } else {
            return api->conf_error(m, x, "'cluster.authorization.%s' is not supported", k);
        }
    }
    return TERN_OK;
}

/* A nats-server permission value (subject, list, or {allow, deny}) as
 * JSON. */
static tern_rc perm_value_json(tern_module *m, const tern_host_api *api, const tern_config *v,
                               json_t **out)
{
    int t = api->conf_type(v);
    if (t == 1)
        return scalar_json(m, api, v, out);
    if (t == 3) {
        json_t *a = json_array();
        *out = a;
        for (size_t i = 0; i < api->conf_len(v); i++) {
            json_t *j;
            if (scalar_json(m, api, api->conf_at(v, i), &j))
                return TERN_EINVAL;
            json_array_append_new(a, j);
        }
        return TERN_OK;
    }
    if (t != 2)
        return api->conf_error(m, v, "cluster permissions: expected a subject, a list or a map");
    json_t *o = json_object();
    *out = o;
    for (size_t i = 0; i < api->conf_len(v); i++) {
        const char *k = api->conf_key_at(v, i);
        if (strcasecmp(k, "allow") && strcasecmp(k, "deny"))
            return api->conf_error(m, api->conf_at(v, i), "'cluster.permissions.%s' is not supported", k);
        json_t *j = NULL;
        if (perm_value_json(m, api, api->conf_at(v, i), &j)) {
            json_decref(j);
            return TERN_EINVAL;
        }
        json_object_set_new(o, !strcasecmp(k, "allow") ? "allow" : "deny", j);
    }
    return TERN_OK;
}

/* nats-server reads cluster.permissions as user permissions: publish
 * (pub, import) is the route's import, subscribe (sub, export) its
 * export. */
static tern_rc map_perms(tern_module *m, const tern_host_api *api, const tern_config *v, json_t *o)
{
    if (api->conf_type(v) != 2)
        return api->conf_error(m, v, "cluster permissions: expected a map");
    json_t *p = json_object();
    json_object_set_new(o, "permissions", p);
    for (size_t i = 0; i < api->conf_len(v); i++) {
        const char *k = api->conf_key_at(v, i);
        const tern_config *x = api->conf_at(v, i);
        const char *dst = (!strcasecmp(k, "import") || !strcasecmp(k, "publish") || !strcasecmp(k, "pub"))
                              ? "import"
                          : (!strcasecmp(k, "export") || !strcasecmp(k, "subscribe") || !strcasecmp(k, "sub"))
                              ? "export" : NULL;
        if (!dst)
            return api->conf_error(m, x, "'cluster.permissions.%s' is not supported", k);
        json_t *j = NULL;
        if (perm_value_json(m, api, x, &j)) {
            json_decref(j);
            return TERN_EINVAL;
        }
        json_object_set_new(p, dst, j);
    }
    return TERN_OK;
}

static tern_rc map_tls(tern_module *m, const tern_host_api *api, const tern_config *v, json_t *o)
{
    if (api->conf_type(v) != 2)
        return api->conf_error(m, v, "cluster tls: expected a map");
    json_t *t = json_object();
    json_object_set_new(o, "tls", t);
    for (size_t i = 0; i < api->conf_len(v); i++) {
        const char *k = api->conf_key_at(v, i);
        const tern_config *x = api->conf_at(v, i);
        const char *dst = !strcasecmp(k, "cert_file") ? "cert"
                        : !strcasecmp(k, "key_file")  ? "key"
                        : !strcasecmp(k, "ca_file")   ? "ca" : NULL;
        if (dst) {
            char *p;
            if (api->conf_path(m, x, &p))
                return TERN_EINVAL;
            json_object_set_new(t, dst, json_string(p));
            api->free(p);
        } else if (!strcasecmp(k, "verify")) {
            bool b;
            if (api->conf_bool(m, x, &b))
                return TERN_EINVAL;
            json_object_set_new(t, "verify", json_boolean(b));
        } else if (!strcasecmp(k, "timeout")) {
            json_t *j;
            if (scalar_json(m, api, x, &j))
                return TERN_EINVAL;
            json_object_set_new(t, "timeout", j);
        } else {
            return api->conf_error(m, x, "'cluster.tls.%s' is not supported", k);
        }
    }
    return TERN_OK;
}

tern_rc cl_conf_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                         const tern_config *value, char **json)
{
    if (!strcasecmp(key, "connect_error_reports") || !strcasecmp(key, "reconnect_error_reports")) {
        int64_t n;
        if (api->conf_int(m, value, &n))
            return TERN_EINVAL;
        json_t *o = json_pack("{sI}", key[0] == 'c' ? "connect_error_reports" : "reconnect_error_reports",
                              (json_int_t)n);
        char *t = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        *json = t ? api->strdup(t) : NULL;
        free(t);
        return *json ? TERN_OK : TERN_ENOMEM;
    }
    if (!strcasecmp(key, "client_advertise")) {
        const char *s;
        if (api->conf_str(m, value, &s))
            return TERN_EINVAL;
        json_t *o = json_pack("{ss}", "client_advertise", s);
        char *t = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        *json = t ? api->strdup(t) : NULL;
        free(t);
        return *json ? TERN_OK : TERN_ENOMEM;
    }
    if (api->conf_type(value) != 2)
        return api->conf_error(m, value, "Expected map to define cluster");
    json_t *o = json_object();
    const char *host = NULL;
    int64_t port = -2;
    tern_rc rc = TERN_OK;
    for (size_t i = 0; i < api->conf_len(value) && rc == TERN_OK; i++) {
        const char *k = api->conf_key_at(value, i);
        const tern_config *v = api->conf_at(value, i);
        json_t *j = NULL;
        if (!strcasecmp(k, "name")) {
            if (!(rc = scalar_json(m, api, v, &j)))
                json_object_set_new(o, "name", j);
        } else if (!strcasecmp(k, "listen")) {
            const char *s;
            if (!(rc = api->conf_str(m, v, &s))) {
                char *h;
                int p;
                if (tern_wire_url_hostport(s, strlen(s), -1, &h, &p) == 0) {
                    host = NULL;
                    free(h);
                    json_object_set_new(o, "listen", json_string(s));
                } else if (strspn(s, "0123456789") == strlen(s) && *s) {
                    port = atoll(s);       /* a bare port: every interface */
                } else {
                    rc = api->conf_error(m, v, "could not parse cluster listen address");
                }
            }
        } else if (!strcasecmp(k, "port")) {
            rc = api->conf_int(m, v, &port);
        } else if (!strcasecmp(k, "host") || !strcasecmp(k, "net")) {
            rc = api->conf_str(m, v, &host);
        } else if (!strcasecmp(k, "routes")) {
            if (api->conf_type(v) != 3) {
                rc = api->conf_error(m, v, "cluster routes: expected an array");
                break;
            }
            json_t *a = json_array();
            json_object_set_new(o, "routes", a);
            for (size_t r = 0; r < api->conf_len(v) && rc == TERN_OK; r++)
                if (!(rc = scalar_json(m, api, api->conf_at(v, r), &j)))
                    json_array_append_new(a, j);
        } else if (!strcasecmp(k, "authorization")) {
            rc = map_auth(m, api, v, o);
        } else if (!strcasecmp(k, "tls")) {
            rc = map_tls(m, api, v, o);
        } else if (!strcasecmp(k, "permissions")) {
            rc = map_perms(m, api, v, o);
        } else if (!strcasecmp(k, "advertise") || !strcasecmp(k, "cluster_advertise")) {
            if (!(rc = scalar_json(m, api, v, &j)))
                json_object_set_new(o, "advertise", j);
        } else if (!strcasecmp(k, "no_advertise")) {
            bool b;
            if (!(rc = api->conf_bool(m, v, &b)))
                json_object_set_new(o, "no_advertise", json_boolean(b));
        } else if (!strcasecmp(k, "connect_retries")) {
            int64_t n;
            if (!(rc = api->conf_int(m, v, &n)))
                json_object_set_new(o, "connect_retries", json_integer(n));
        } else {
            rc = api->conf_error(m, v, "'cluster.%s' is not supported", k);
        }
    }
    if (rc == TERN_OK && port != -2) {
        /* host/port (or a bare listen port) override parts of listen */
        char buf[300];
        const char *h = host ? host : "0.0.0.0";
        int64_t p = port < 0 ? 0 : port;
        const char *cur = json_string_value(json_object_get(o, "listen"));
        if (cur) {
            char *ch;
            int cp;
            if (tern_wire_url_hostport(cur, strlen(cur), -1, &ch, &cp) == 0) {
                snprintf(buf, sizeof buf, "%s", host ? host : ch);
                free(ch);
                h = NULL;
            }
        }
        char lbuf[340];
        const char *hh = h ? h : buf;
        if (strchr(hh, ':'))
            snprintf(lbuf, sizeof lbuf, "[%s]:%lld", hh, (long long)p);
        else
            snprintf(lbuf, sizeof lbuf, "%s:%lld", hh, (long long)p);
        json_object_set_new(o, "listen", json_string(lbuf));
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
