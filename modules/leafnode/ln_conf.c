/* Leafnode module configuration (ln_conf.h). */
#include "ln_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <tern/wire.h>

static const char *const ln_schemes[] = { "nats-leaf", "nats", "tls", NULL };
static const tern_wire_url_spec ln_url_spec = {
    .what = "leafnode", .schemes = ln_schemes, .schemes_text = "nats-leaf, nats or tls",
    .default_port = LN_DEFAULT_PORT,
};

int ln_url_parse(const char *text, ln_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *s = strstr(text, "://");
    size_t sl = s ? (size_t)(s - text) : 0;
    /* a known scheme, refused by name rather than as unknown */
    if (s && ((sl == 2 && !strncasecmp(text, "ws", 2)) || (sl == 3 && !strncasecmp(text, "wss", 3)))) {
        snprintf(err, errlen, "leafnode URL %s: websocket leaf node connections are not supported",
                 text);
        return -1;
    }
    tern_wire_url u;
    if (tern_wire_url_parse(text, &ln_url_spec, &u, err, errlen) < 0)
        return -1;
    *out = (ln_url){ .text = u.text, .host = u.host, .port = u.port, .user = u.user,
                     .pass = u.pass, .tls = !strcmp(u.scheme, "tls") };
    free(u.scheme);
    return 0;
}

void ln_url_free(ln_url *u)
{
    free(u->text);
    free(u->host);
    free(u->user);
    free(u->pass);
    memset(u, 0, sizeof *u);
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void tls_free(ln_tls_conf *t)
{
    free(t->cert);
    free(t->key);
    free(t->ca);
    memset(t, 0, sizeof *t);
}

void ln_remote_free(ln_remote *r)
{
    for (size_t i = 0; i < r->nurls; i++)
        ln_url_free(&r->urls[i]);
    free(r->urls);
    free(r->account);
    free(r->creds);
    free_strv(r->deny_imports, r->ndeny_imports);
    free_strv(r->deny_exports, r->ndeny_exports);
    tls_free(&r->tls);
}

void ln_conf_free(ln_conf *c)
{
    free(c->host);
    free(c->user);
    free(c->pass);
    free(c->account);
    for (size_t i = 0; i < c->nusers; i++) {
        free(c->users[i].user);
        free(c->users[i].pass);
        free(c->users[i].account);
    }
    free(c->users);
    tls_free(&c->tls);
    free(c->advertise);
    for (size_t i = 0; i < c->nremotes; i++)
        ln_remote_free(&c->remotes[i]);
    free(c->remotes);
    memset(c, 0, sizeof *c);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool strv_eq(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return true;
}

bool ln_remote_equal(const ln_remote *a, const ln_remote *b)
{
    if (a->nurls != b->nurls || !str_eq(a->account, b->account) || !str_eq(a->creds, b->creds) ||
        a->no_randomize != b->no_randomize ||
        !strv_eq(a->deny_imports, a->ndeny_imports, b->deny_imports, b->ndeny_imports) ||
        !strv_eq(a->deny_exports, a->ndeny_exports, b->deny_exports, b->ndeny_exports) ||
        a->tls.on != b->tls.on || !str_eq(a->tls.cert, b->tls.cert) ||
        !str_eq(a->tls.key, b->tls.key) || !str_eq(a->tls.ca, b->tls.ca) ||
        a->tls.verify != b->tls.verify || a->tls.insecure != b->tls.insecure)
        return false;
    for (size_t i = 0; i < a->nurls; i++)
        if (strcmp(a->urls[i].text, b->urls[i].text))
            return false;
    return true;
}

/* Keys nats-server has that Tern refuses, with why. */
static const char *const refused_top[] = {
    "compression", "S2 compression of leaf node links is not supported (nats-server 2.10)",
    "min_version", "leafnodes min_version is not supported",
    "websocket", "websocket leaf node connections are not supported",
    NULL,
};
static const char *const refused_remote[] = {
    "hub", "remotes hub: true (the hub dialing its spoke) is not supported",
    "ws_compression", "websocket leaf node connections are not supported",
    "ws_no_masking", "websocket leaf node connections are not supported",
    "jetstream_cluster_migrate", "JetStream is not supported",
    "compression", "S2 compression of leaf node links is not supported (nats-server 2.10)",
    NULL,
};

static const char *const top_keys[] = {
    "listen", "host", "port", "authorization", "tls", "advertise", "no_advertise", "reconnect",
    "remotes", "compression", "min_version", "websocket", NULL,
};
static const char *const auth_keys[] = { "user", "password", "account", "timeout", "users", NULL };
static const char *const user_keys[] = { "user", "password", "account", NULL };
static const char *const tls_keys[] = { "cert", "key", "ca", "verify", "timeout", NULL };
static const char *const rtls_keys[] = { "cert", "key", "ca", "verify", "insecure", "timeout", NULL };
static const char *const remote_keys[] = {
    "url", "urls", "account", "credentials", "tls", "no_randomize", "deny_imports",
    "deny_exports", "hub", "ws_compression", "ws_no_masking", "jetstream_cluster_migrate",
    "compression", NULL,
};

static tern_rc refuse(tern_module *m, const tern_host_api *api, const tern_config *map,
                      const char *const *table, const char *where)
{
    for (size_t i = 0; table[i]; i += 2) {
        const tern_config *n = api->conf_get(map, table[i]);
        if (n)
            return api->conf_error(m, n, "%s.%s: %s", where, table[i], table[i + 1]);
    }
    return TERN_OK;
}

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

static tern_rc opt_bool(tern_module *m, const tern_host_api *api, const tern_config *map,
                        const char *key, bool *out)
{
    tern_rc rc = api->conf_bool(m, api->conf_get(map, key), out);
    return rc == TERN_ENOENT ? TERN_OK : rc;
}

static tern_rc opt_ms(tern_module *m, const tern_host_api *api, const tern_config *map,
                      const char *key, int64_t *out)
{
    tern_rc rc = api->conf_duration_ms(m, api->conf_get(map, key), out);
    return rc == TERN_ENOENT ? TERN_OK : rc;
}

/* Account names must be accepted by the kernel (checked at connect). */
static tern_rc account_name(tern_module *m, const tern_host_api *api, const tern_config *map,
                            const char *key, char **out)
{
    tern_rc rc = opt_str(m, api, map, key, out);
    if (rc == TERN_OK && *out && (!**out || strpbrk(*out, " \t\r\n")))
        return api->conf_error(m, api->conf_get(map, key), "%s: invalid account name \"%s\"",
                               key, *out);
    return rc;
}

/* A subject or a list of subjects. */
static tern_rc subjects(tern_module *m, const tern_host_api *api, const tern_config *n,
                        char ***v, size_t *nv)
{
    if (!n || api->conf_type(n) == 0)
        return TERN_OK;
    bool list = api->conf_type(n) == 3;
    size_t cnt = list ? api->conf_len(n) : 1;
    char **w = calloc(cnt + 1, sizeof *w);
    if (!w)
        return TERN_ENOMEM;
    *v = w;
    for (size_t i = 0; i < cnt; i++) {
        const tern_config *it = list ? api->conf_at(n, i) : n;
        const char *s;
        tern_rc rc = api->conf_str(m, it, &s);
        if (rc)
            return rc;
        if (!*s || strpbrk(s, " \t\r\n"))
            return api->conf_error(m, it, "invalid subject \"%s\"", s);
        if (!(w[*nv] = strdup(s)))
            return TERN_ENOMEM;
        (*nv)++;
    }
    return TERN_OK;
}

static tern_rc read_tls(tern_module *m, const tern_host_api *api, const tern_config *n,
                        bool remote, ln_tls_conf *t)
{
    if (!n || api->conf_type(n) == 0)
        return TERN_OK;
    if (api->conf_type(n) != 2)
        return api->conf_error(m, n, "tls: expected a map");
    tern_rc rc = api->conf_check_keys(m, n, remote ? rtls_keys : tls_keys);
    t->on = true;
    t->timeout_ms = 2000;
    if (!rc)
        rc = opt_path(m, api, n, "cert", &t->cert);
    if (!rc)
        rc = opt_path(m, api, n, "key", &t->key);
    if (!rc)
        rc = opt_path(m, api, n, "ca", &t->ca);
    if (!rc)
        rc = opt_bool(m, api, n, "verify", &t->verify);
    if (!rc && remote)
        rc = opt_bool(m, api, n, "insecure", &t->insecure);
    if (!rc)
        rc = opt_ms(m, api, n, "timeout", &t->timeout_ms);
    if (!rc && !remote && (!t->cert || !t->key))
        rc = api->conf_error(m, n, "leafnode tls: cert and key are required");
    if (!rc && remote && (!t->cert) != (!t->key))
        rc = api->conf_error(m, n, "remote tls: cert and key go together");
    return rc;
}

static tern_rc read_remote(tern_module *m, const tern_host_api *api, const tern_config *n,
                           ln_remote *r)
{
    if (api->conf_type(n) != 2)
        return api->conf_error(m, n, "remotes: expected a list of maps");
    tern_rc rc = api->conf_check_keys(m, n, remote_keys);
    if (!rc)
        rc = refuse(m, api, n, refused_remote, "remotes");
    if (rc)
        return rc;
    const tern_config *u = api->conf_get(n, "url"), *us = api->conf_get(n, "urls");
    size_t cnt = (u ? 1 : 0) + (us && api->conf_type(us) == 3 ? api->conf_len(us) : us ? 1 : 0);
    if (!cnt)
        return api->conf_error(m, n, "remotes: url or urls is required");
    r->urls = calloc(cnt, sizeof *r->urls);
    if (!r->urls)
        return TERN_ENOMEM;
    for (size_t i = 0; i < cnt; i++) {
        const tern_config *it = u && i == 0 ? u
                                : api->conf_type(us) == 3 ? api->conf_at(us, i - (u ? 1 : 0)) : us;
        const char *s;
        if ((rc = api->conf_str(m, it, &s)))
            return rc;
        char err[300];
        if (ln_url_parse(s, &r->urls[r->nurls], err, sizeof err) < 0)
            return api->conf_error(m, it, "%s", err);
        r->nurls++;
    }
    if (!rc)
        rc = account_name(m, api, n, "account", &r->account);
    if (!rc)
        rc = opt_path(m, api, n, "credentials", &r->creds);
    if (!rc)
        rc = opt_bool(m, api, n, "no_randomize", &r->no_randomize);
    if (!rc)
        rc = subjects(m, api, api->conf_get(n, "deny_imports"), &r->deny_imports, &r->ndeny_imports);
    if (!rc)
        rc = subjects(m, api, api->conf_get(n, "deny_exports"), &r->deny_exports, &r->ndeny_exports);
    if (!rc)
        rc = read_tls(m, api, api->conf_get(n, "tls"), true, &r->tls);
    for (size_t i = 0; !rc && i < r->nurls; i++)
        r->tls.on = r->tls.on || r->urls[i].tls;
    if (!rc && r->tls.on && !r->tls.timeout_ms)
        r->tls.timeout_ms = 2000;
    return rc;
}

static tern_rc read_conf(tern_module *m, const tern_host_api *api, const tern_config *conf,
                         ln_conf *out)
{
    tern_rc rc = api->conf_check_keys(m, conf, top_keys);
    if (!rc)
        rc = refuse(m, api, conf, refused_top, "leafnode");
    if (rc)
        return rc;
    const tern_config *listen = api->conf_get(conf, "listen");
    if (listen && api->conf_type(listen) != 0) {
        const char *s;
        if ((rc = api->conf_str(m, listen, &s)))
            return rc;
        char *h = NULL;
        int p;
        bool bare = *s && strspn(s, "0123456789") == strlen(s);
        if (bare) {
            /* a bare port: every interface, as nats-server */
            out->port = atoi(s);
        } else if (tern_wire_url_hostport(s, strlen(s), -1, &h, &p) < 0 || p < 0) {
            free(h);
            return api->conf_error(m, listen, "listen: expected host:port");
        } else {
            free(out->host);
            out->host = h;
            out->port = p;
        }
    }
    if ((rc = opt_str(m, api, conf, "host", &out->host)))
        return rc;
    const tern_config *port = api->conf_get(conf, "port");
    if (port && api->conf_type(port) != 0) {
        int64_t p;
        if ((rc = api->conf_int(m, port, &p)))
            return rc;
        if (p < -1 || p > 65535)
            return api->conf_error(m, port, "port: out of range");
        /* -1 is nats-server's "random port" for leafnodes.port */
        out->port = p == -1 ? 0 : (int)p;
    }
    if (out->port < 0 && (api->conf_get(conf, "host") || listen))
        out->port = LN_DEFAULT_PORT;
    const tern_config *auth = api->conf_get(conf, "authorization");
    if (auth && api->conf_type(auth) != 0) {
        if (api->conf_type(auth) != 2)
            return api->conf_error(m, auth, "authorization: expected a map");
        if ((rc = api->conf_check_keys(m, auth, auth_keys)))
            return rc;
        if ((rc = opt_str(m, api, auth, "user", &out->user)) ||
            (rc = opt_str(m, api, auth, "password", &out->pass)) ||
            (rc = account_name(m, api, auth, "account", &out->account)) ||
            (rc = opt_ms(m, api, auth, "timeout", &out->auth_timeout_ms)))
            return rc;
        const tern_config *users = api->conf_get(auth, "users");
        if (users && api->conf_type(users) != 0) {
            if (api->conf_type(users) != 3)
                return api->conf_error(m, users, "authorization users: expected a list");
            if (out->user)
                return api->conf_error(m, users, "Can not have a single user/pass and a users array");
            size_t cnt = api->conf_len(users);
            out->users = calloc(cnt ? cnt : 1, sizeof *out->users);
            if (!out->users)
                return TERN_ENOMEM;
            for (size_t i = 0; i < cnt; i++) {
                const tern_config *it = api->conf_at(users, i);
                ln_user *u = &out->users[out->nusers++];
                if (api->conf_type(it) != 2)
                    return api->conf_error(m, it, "authorization users: expected maps");
                if ((rc = api->conf_check_keys(m, it, user_keys)) ||
                    (rc = opt_str(m, api, it, "user", &u->user)) ||
                    (rc = opt_str(m, api, it, "password", &u->pass)) ||
                    (rc = account_name(m, api, it, "account", &u->account)))
                    return rc;
                if (!u->user)
                    return api->conf_error(m, it, "authorization users: user is required");
            }
        }
    }
    if ((rc = read_tls(m, api, api->conf_get(conf, "tls"), false, &out->tls)))
        return rc;
    if (out->tls.on && out->auth_timeout_ms == 0)
        out->auth_timeout_ms = out->tls.timeout_ms + 1000;   /* nats-server: tls timeout + 1 s */
    if (!out->auth_timeout_ms)
        out->auth_timeout_ms = 2000;
    if ((rc = opt_str(m, api, conf, "advertise", &out->advertise)) ||
        (rc = opt_bool(m, api, conf, "no_advertise", &out->no_advertise)) ||
        (rc = opt_ms(m, api, conf, "reconnect", &out->reconnect_ms)))
        return rc;
    if (out->reconnect_ms <= 0)
        out->reconnect_ms = LN_DEFAULT_RECONNECT_MS;
    const tern_config *remotes = api->conf_get(conf, "remotes");
    if (remotes && api->conf_type(remotes) != 0) {
        if (api->conf_type(remotes) != 3)
            return api->conf_error(m, remotes, "remotes: expected a list");
        size_t cnt = api->conf_len(remotes);
        out->remotes = calloc(cnt ? cnt : 1, sizeof *out->remotes);
        if (!out->remotes)
            return TERN_ENOMEM;
        for (size_t i = 0; i < cnt; i++)
            if ((rc = read_remote(m, api, api->conf_at(remotes, i), &out->remotes[out->nremotes++])))
                return rc;
    }
    return TERN_OK;
}

tern_rc ln_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                     ln_conf *out)
{
    memset(out, 0, sizeof *out);
    out->host = strdup("0.0.0.0");
    out->port = -1;
    out->reconnect_ms = LN_DEFAULT_RECONNECT_MS;
    out->auth_timeout_ms = 2000;
    if (!out->host)
        return TERN_ENOMEM;
    if (!conf || api->conf_type(conf) == 0)
        return TERN_OK;
    if (api->conf_type(conf) != 2) {
        ln_conf_free(out);
        return api->conf_error(m, conf, "leafnode: expected a map");
    }
    out->auth_timeout_ms = 0;
    tern_rc rc = read_conf(m, api, conf, out);
    if (rc)
        ln_conf_free(out);
    return rc;
}
