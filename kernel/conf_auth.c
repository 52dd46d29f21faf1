/* authorization: { users: [ {user, password} | {nkey} ], token, timeout }
 * and no_auth_user, as nats-server's parseAuthorization / parseUsers /
 * validateNoAuthUser read them. */
#include "conf_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "auth.h"
#include "conf_accounts.h"

typedef struct ctx {
    tern_auth *a;
    char *err;
    size_t errlen;
} ctx;

int tern_conf_is_auth_key(const char *key)
{
    return !strcmp(key, "authorization") || !strcmp(key, "no_auth_user");
}

/* A typed read's error e re-worded as "file:line:column: error parsing KEY: why". */
static int reword(ctx *c, const char *key, const tern_conf_node *v, const char *e)
{
    char prefix[TERN_CONF_ERR_MAX];
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", v->file, v->line, v->col);
    size_t pl = strlen(prefix);
    return tern_conf_error(v, c->err, c->errlen, "error parsing %s: %s", key,
                           strncmp(e, prefix, pl) ? e : e + pl);
}

static int text(ctx *c, const char *key, const tern_conf_node *v, char **out)
{
    char e[TERN_CONF_ERR_MAX];
    return tern_conf_string(v, out, e, sizeof e) < 0 ? reword(c, key, v, e) : 0;
}

static int users(ctx *c, const tern_conf_node *v)
{
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_LIST)
        return tern_conf_error(v, c->err, c->errlen, "expected users field to be a list");
    for (size_t i = 0; i < v->n; i++)
        if (tern_conf_user_entry(v->items[i], c->a, 0, c->err, c->errlen) < 0)
            return -1;
    return 0;
}

/* authorization.timeout is server.auth_timeout under nats-server's name:
 * both may be given only if they agree. */
static int timeout(ctx *c, const tern_conf_node *root, const tern_conf_node *v, tern_opts *o)
{
    if (v->type == TERN_CONF_NULL)
        return 0;
    char e[TERN_CONF_ERR_MAX];
    int64_t ms;
    if (tern_conf_duration_ms(v, &ms, e, sizeof e) < 0)
        return reword(c, "authorization.timeout", v, e);
    if (ms < 0)
        return tern_conf_error(v, c->err, c->errlen, "authorization.timeout value can not be negative");
    if (ms == 0)
        return 0; /* the default, as nats-server */
    const tern_conf_node *other = tern_conf_get(tern_conf_get(root, "server"), "auth_timeout");
    if (other && o->auth_timeout_set && o->auth_timeout_ms != ms)
        return tern_conf_error(v, c->err, c->errlen,
                               "authorization.timeout disagrees with server.auth_timeout "
                               "(%s:%d:%d); set one of them",
                               other->file, other->line, other->col);
    o->auth_timeout_ms = ms;
    o->auth_timeout_set = true;
    return 0;
}

static int authorization(ctx *c, const tern_conf_node *root, const tern_conf_node *v, tern_opts *o)
{
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "authorization must be a mapping");
    const tern_conf_node *token = NULL, *list = NULL;
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const char *key = k->value;
        if (!strcmp(key, "users")) {
            list = x;
            if (users(c, x) < 0)
                return -1;
        } else if (!strcmp(key, "token")) {
            char *t = NULL;
            if (x->type != TERN_CONF_NULL && text(c, "authorization.token", x, &t) < 0)
                return -1;
            free(c->a->token);
            c->a->token = t && *t ? t : NULL;
            if (!c->a->token)
                free(t);
            token = c->a->token ? x : NULL;
        } else if (!strcmp(key, "timeout")) {
            if (timeout(c, root, x, o) < 0)
                return -1;
        } else if (!strcmp(key, "permissions") || !strcmp(key, "default_permissions") ||
                   !strcmp(key, "default_permission")) {
            return tern_conf_error(k, c->err, c->errlen, "permissions are not supported yet");
        } else {
            return tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in authorization", key);
        }
    }
    if (token && list && list->type != TERN_CONF_NULL)
        return tern_conf_error(token, c->err, c->errlen, "Can not have a token and a users array");
    return 0;
}

static int no_auth_user(ctx *c, const tern_conf_node *v)
{
    char *name = NULL;
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (text(c, "no_auth_user", v, &name) < 0)
        return -1;
    if (!*name) {
        free(name);
        return 0;
    }
    int rc = 0;
    if (!c->a->nusers)
        rc = tern_conf_error(v, c->err, c->errlen, "no_auth_user: \"%s\" present, but users are not defined",
                             name);
    else if (!tern_auth_has_user(c->a, name))
        rc = tern_conf_error(v, c->err, c->errlen,
                             "no_auth_user: \"%s\" not present as user in authorization block or "
                             "account configuration", name);
    if (rc == 0)
        c->a->no_auth_user = name;
    else
        free(name);
    return rc;
}

int tern_conf_apply_auth(const tern_conf_node *root, tern_opts *o, char *err, size_t errlen)
{
    ctx c = { .a = tern_auth_new(), .err = err, .errlen = errlen };
    const tern_conf_node *authz = tern_conf_get(root, "authorization");
    const tern_conf_node *nau = tern_conf_get(root, "no_auth_user");
    /* accounts first: their users and the global ones share one name space */
    if (tern_conf_apply_accounts(root, c.a, err, errlen) < 0 ||
        (authz && authorization(&c, root, authz, o) < 0) || (nau && no_auth_user(&c, nau) < 0)) {
        tern_auth_unref(c.a);
        return -1;
    }
    tern_auth_unref(o->auth);
    o->auth = NULL;
    if (tern_auth_required(c.a) || tern_conf_get(root, "accounts") ||
        tern_conf_get(root, "system_account"))
        o->auth = c.a;
    else
        tern_auth_unref(c.a);
    return 0;
}
