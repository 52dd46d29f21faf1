/* modules.auth_jwt: operators, trusted keys, the system account and the
 * resolver (the same function serves validate, init and reload). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aj.h"

const char *const aj_conf_keys[] = { "operator", "trusted_keys", "system_account", "resolver",
                                     "resolver_preload", NULL };
static const char *const resolver_keys[] = { "type", "preload", "url", "dir", "allow_delete",
                                             "hard_delete", "timeout", "interval", "limit",
                                             "ttl", NULL };

static void add_key(char ***list, size_t *n, const char *k)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*list)[i], k))
            return;
    *list = realloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = strdup(k);
}

bool aj_trusted(const aj_conf *c, const char *key)
{
    for (size_t i = 0; key && i < c->ntrusted; i++)
        if (!strcmp(c->trusted[i], key))
            return true;
    return false;
}

void aj_conf_free(aj_conf *c)
{
    for (size_t i = 0; i < c->ntrusted; i++)
        free(c->trusted[i]);
    for (size_t i = 0; i < c->nops; i++)
        free(c->operators[i]);
    free(c->trusted);
    free(c->operators);
    free(c->system_account);
    free(c->url);
    free(c->dir);
    json_decref(c->preload);
    memset(c, 0, sizeof *c);
}

/* The first JWT-looking token of a file (a bare .jwt, or nsc's decorated
 * form). */
static char *first_jwt(const char *text)
{
    for (const char *p = strstr(text, "eyJ"); p; p = strstr(p + 1, "eyJ")) {
        size_t n = 0, dots = 0;
        while (isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == '_' || p[n] == '.' ||
               p[n] == '=')
            dots += p[n++] == '.';
        if (dots == 2)
            return strndup(p, n);
    }
    return NULL;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0)
        if ((n += r) + 1 >= cap)
            buf = realloc(buf, cap *= 2);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* One `operator` item: an inline JWT or a file holding one. */
static tern_rc operator_item(tern_module *m, const tern_host_api *api, const tern_config *n,
                             aj_conf *out)
{
    const char *s;
    tern_rc rc = api->conf_str(m, n, &s);
    if (rc != TERN_OK)
        return rc;
    char *jwt = NULL;
    if (!strncmp(s, "eyJ", 3) && strchr(s, '.')) {
        jwt = strdup(s);
    } else {
        char *path;
        if ((rc = api->conf_path(m, n, &path)) != TERN_OK)
            return rc;
        char *text = read_file(path);
        api->free(path);
        if (!text)
            return api->conf_error(m, n, "cannot read operator JWT file \"%s\"", s);
        jwt = first_jwt(text);
        free(text);
        if (!jwt)
            return api->conf_error(m, n, "no JWT in operator file \"%s\"", s);
    }
    char *text = NULL;
    rc = api->jwt_decode(m, jwt, &text);
    free(jwt);
    if (rc != TERN_OK)
        return api->conf_error(m, n, "operator JWT: %s", api->error(m));
    json_t *cl = json_loads(text, 0, NULL);
    api->free(text);
    json_t *nats = json_object_get(cl, "nats");
    const char *type = json_string_value(json_object_get(nats, "type"));
    const char *iss = json_string_value(json_object_get(cl, "iss"));
    const char *sub = json_string_value(json_object_get(cl, "sub"));
    if (!type || strcmp(type, "operator") != 0 || !iss || !sub || strcmp(iss, sub) != 0) {
        json_decref(cl);
        return api->conf_error(m, n, "not a self-signed operator JWT");
    }
    int64_t exp = json_integer_value(json_object_get(cl, "exp"));
    if (exp > 0 && exp <= aj_now_s()) {
        json_decref(cl);
        return api->conf_error(m, n, "the operator JWT has expired");
    }
    add_key(&out->operators, &out->nops, sub);
    if (!json_is_true(json_object_get(nats, "strict_signing_key_usage")))
        add_key(&out->trusted, &out->ntrusted, sub);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(nats, "signing_keys"), i, k)
        if (json_is_string(k))
            add_key(&out->trusted, &out->ntrusted, json_string_value(k));
    const char *sys = json_string_value(json_object_get(nats, "system_account"));
    if (sys && !out->system_account)
        out->system_account = strdup(sys);
    json_decref(cl);
    return TERN_OK;
}

static tern_rc preload(tern_module *m, const tern_host_api *api, const tern_config *n,
                       aj_conf *out)
{
    if (!n || api->conf_type(n) == 0)
        return TERN_OK;
    if (api->conf_type(n) != 2)
        return api->conf_error(m, n, "preload must map account public keys to JWTs");
    for (size_t i = 0; i < api->conf_len(n); i++) {
        const char *key = api->conf_key_at(n, i), *jwt;
        const tern_config *v = api->conf_at(n, i);
        if (!api->nkey_valid_public(key, 'A'))
            return api->conf_error(m, v, "\"%s\" is not an account public key", key);
        tern_rc rc = api->conf_str(m, v, &jwt);
        if (rc != TERN_OK)
            return rc;
        json_object_set_new(out->preload, key, json_string(jwt));
    }
    return TERN_OK;
}

static tern_rc resolver(tern_module *m, const tern_host_api *api, const tern_config *r,
                        aj_conf *out)
{
    const char *type = "memory";
    const tern_config *tn = r;
    if (api->conf_type(r) == 2) {
        tern_rc rc = api->conf_check_keys(m, r, resolver_keys);
        if (rc != TERN_OK)
            return rc;
        tn = api->conf_get(r, "type");
    }
    if (tn && api->conf_str(m, tn, &type) != TERN_OK)
        return TERN_EINVAL;
    if (!strcasecmp(type, "memory") || !strcasecmp(type, "mem"))
        out->rtype = AJ_RES_MEMORY;
    else if (!strcasecmp(type, "url"))
        out->rtype = AJ_RES_URL;
    else if (!strcasecmp(type, "full"))
        out->rtype = AJ_RES_FULL;
    else if (!strcasecmp(type, "cache"))
        out->rtype = AJ_RES_CACHE;
    else
        return api->conf_error(m, tn, "unknown resolver type \"%s\" (memory, url, full, cache)",
                               type);
    if (api->conf_type(r) != 2)
        return TERN_OK;
    tern_rc rc = preload(m, api, api->conf_get(r, "preload"), out);
    if (rc != TERN_OK)
        return rc;
    const char *s;
    const tern_config *u = api->conf_get(r, "url");
    if ((rc = api->conf_str(m, u, &s)) == TERN_OK) {
        if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
            return api->conf_error(m, u, "the resolver url must be http:// or https://");
        size_t l = strlen(s);
        out->url = malloc(l + 2);
        snprintf(out->url, l + 2, "%s%s", s, l && s[l - 1] == '/' ? "" : "/");
    } else if (rc != TERN_ENOENT) {
        return rc;
    }
    const tern_config *d = api->conf_get(r, "dir");
    char *path;
    if ((rc = api->conf_path(m, d, &path)) == TERN_OK) {
        out->dir = strdup(path);
        api->free(path);
    } else if (rc != TERN_ENOENT) {
        return rc;
    }
    if ((rc = api->conf_bool(m, api->conf_get(r, "allow_delete"), &out->allow_delete)) ==
        TERN_EINVAL)
        return rc;
    if ((rc = api->conf_bool(m, api->conf_get(r, "hard_delete"), &out->hard_delete)) ==
        TERN_EINVAL)
        return rc;
    if ((rc = api->conf_duration_ms(m, api->conf_get(r, "timeout"), &out->timeout_ms)) ==
        TERN_EINVAL)
        return rc;
    if ((rc = api->conf_duration_ms(m, api->conf_get(r, "interval"), &out->interval_ms)) ==
        TERN_EINVAL)
        return rc;
    int64_t ignored;
    if (api->conf_duration_ms(m, api->conf_get(r, "ttl"), &ignored) == TERN_EINVAL ||
        api->conf_int(m, api->conf_get(r, "limit"), &ignored) == TERN_EINVAL)
        return TERN_EINVAL;
    if (out->rtype == AJ_RES_URL && !out->url)
        return api->conf_error(m, r, "a url resolver needs url");
    if ((out->rtype == AJ_RES_FULL || out->rtype == AJ_RES_CACHE) && !out->dir)
        return api->conf_error(m, r, "a %s resolver needs dir", type);
    return TERN_OK;
}

static tern_rc read_all(tern_module *m, const tern_host_api *api, const tern_config *conf,
                        aj_conf *out)
{
    tern_rc rc = api->conf_check_keys(m, conf, aj_conf_keys);
    if (rc != TERN_OK)
        return rc;
    out->preload = json_object();
    out->timeout_ms = 0;
    const tern_config *op = api->conf_get(conf, "operator");
    if (!op)
        return api->conf_error(m, conf, "missing key 'operator' (the trusted operator JWT)");
    const tern_config *sys = api->conf_get(conf, "system_account");
    const char *s;
    if ((rc = api->conf_str(m, sys, &s)) == TERN_OK) {
        if (!api->nkey_valid_public(s, 'A'))
            return api->conf_error(m, sys, "system_account must be an account public key");
        out->system_account = strdup(s);
    } else if (rc != TERN_ENOENT) {
        return rc;
    }
    if (api->conf_type(op) == 3) {
        for (size_t i = 0; i < api->conf_len(op); i++)
            if ((rc = operator_item(m, api, api->conf_at(op, i), out)) != TERN_OK)
                return rc;
    } else if ((rc = operator_item(m, api, op, out)) != TERN_OK) {
        return rc;
    }
    const tern_config *tk = api->conf_get(conf, "trusted_keys");
    for (size_t i = 0; tk && i < (api->conf_type(tk) == 3 ? api->conf_len(tk) : 1); i++) {
        const tern_config *k = api->conf_type(tk) == 3 ? api->conf_at(tk, i) : tk;
        if ((rc = api->conf_str(m, k, &s)) != TERN_OK)
            return rc;
        if (!api->nkey_valid_public(s, 'O'))
            return api->conf_error(m, k, "\"%s\" is not an operator public key", s);
        add_key(&out->trusted, &out->ntrusted, s);
    }
    const tern_config *r = api->conf_get(conf, "resolver");
    if (r && (rc = resolver(m, api, r, out)) != TERN_OK)
        return rc;
    if ((rc = preload(m, api, api->conf_get(conf, "resolver_preload"), out)) != TERN_OK)
        return rc;
    if (!out->ntrusted)
        return api->conf_error(m, op, "no trusted key: strict signing key usage without "
                                      "signing keys");
    if (out->timeout_ms <= 0)
        out->timeout_ms = 1900;   /* nats-server's account fetch timeout */
    if (out->interval_ms <= 0)
        out->interval_ms = 60000; /* nats-server's DirAccResolver sync interval */
    return TERN_OK;
}

tern_rc aj_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                     aj_conf *out)
{
    memset(out, 0, sizeof *out);
    if (!TERN_API_HAS(api, jwt_decode) || !TERN_API_HAS(api, auth_complete_ex) ||
        !TERN_API_HAS(api, client_close) || !TERN_API_HAS(api, account_apply)) {
        api->set_error(m, "auth_jwt needs a server with the module ABI 1.1 slots jwt_decode, "
                          "auth_complete_ex, client_close and account_apply");
        return TERN_ENOTSUP;
    }
    if (!conf)
        return api->set_error(m, "modules.auth_jwt needs 'operator'"), TERN_EINVAL;
    tern_rc rc = read_all(m, api, conf, out);
    if (rc != TERN_OK)
        aj_conf_free(out);
    return rc;
}

json_t *aj_account_decode(aj *a, const aj_conf *c, const char *jwt, const char *pub, char *why,
                          size_t whylen)
{
    char *text = NULL;
    if (a->api->jwt_decode(a->m, jwt, &text) != TERN_OK) {
        snprintf(why, whylen, "%s", a->api->error(a->m));
        return NULL;
    }
    json_t *cl = json_loads(text, 0, NULL);
    a->api->free(text);
    json_t *nats = json_object_get(cl, "nats");
    const char *type = json_string_value(json_object_get(nats, "type"));
    const char *sub = json_string_value(json_object_get(cl, "sub"));
    const char *iss = json_string_value(json_object_get(cl, "iss"));
    int64_t exp = json_integer_value(json_object_get(cl, "exp"));
    if (!type || strcmp(type, "account") != 0)
        snprintf(why, whylen, "not an account JWT");
    else if (!sub || !a->api->nkey_valid_public(sub, 'A'))
        snprintf(why, whylen, "the subject is not an account public key");
    else if (pub && strcmp(pub, sub) != 0)
        snprintf(why, whylen, "subject does not match jwt content");
    else if (!aj_trusted(c, iss))
        snprintf(why, whylen, "the account JWT is not signed by a trusted operator key");
    else if (exp > 0 && exp <= aj_now_s())
        snprintf(why, whylen, "the account JWT has expired");
    else
        return cl;
    json_decref(cl);
    return NULL;
}
