/* Account JWTs → kernel accounts (api->account_apply, main thread):
 * limits, exports and imports, activation tokens; and the clients an
 * update revokes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aj.h"

aj_acc *aj_find(aj *a, const char *pub)
{
    for (aj_acc *x = a->accs; x; x = x->next)
        if (!strcmp(x->pub, pub))
            return x;
    return NULL;
}

void aj_store(aj *a, const char *pub, const char *jwt, json_t *claims)
{
    aj_acc *x = aj_find(a, pub);
    if (!x) {
        x = calloc(1, sizeof *x);
        snprintf(x->pub, sizeof x->pub, "%s", pub);
        x->next = a->accs;
        a->accs = x;
    }
    free(x->jwt);
    json_decref(x->claims);
    x->jwt = strdup(jwt);
    /* A copy of its own: callers drop theirs outside the lock, and
     * jansson's decref reads the count before its atomic update. */
    x->claims = json_deep_copy(claims);
    x->applied = false;
    x->deleted = false;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Whether an activation token lets importer import subject from the
 * exporting account exp (nats-server: issuer, subject, kind, expiry,
 * the export's revocations). */
static bool activation_ok(aj *a, json_t *exporter, json_t *export, const char *importer,
                          const char *subject, const char *token)
{
    char *text = NULL;
    if (!token || a->api->jwt_decode(a->m, token, &text) != TERN_OK)
        return false;
    json_t *t = json_loads(text, 0, NULL);
    a->api->free(text);
    json_t *n = json_object_get(t, "nats");
    const char *exp_pub = str(exporter, "sub"), *iss = str(t, "iss");
    const char *ia = str(n, "issuer_account");
    bool ok = t && str(n, "type") && !strcmp(str(n, "type"), "activation") && str(t, "sub") &&
              !strcmp(str(t, "sub"), importer) && iss && str(n, "subject") &&
              aj_subject_matches(str(n, "subject"), subject);
    if (ok && strcmp(iss, exp_pub) != 0) {
        /* signed by one of the exporter's signing keys */
        bool sk = false;
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(json_object_get(exporter, "nats"), "signing_keys"), i,
                           k) {
            const char *s = json_is_string(k) ? json_string_value(k) : str(k, "key");
            sk |= s && !strcmp(s, iss);
        }
        ok = sk && (!ia || !strcmp(ia, exp_pub));
    }
    int64_t exp = json_integer_value(json_object_get(t, "exp"));
    if (ok && exp > 0 && exp <= aj_now_s())
        ok = false;
    if (ok) {
        json_t *rev = json_object_get(export, "revocations");
        int64_t iat = json_integer_value(json_object_get(t, "iat"));
        json_t *r = json_object_get(rev, importer);
        if (!r)
            r = json_object_get(rev, "*");
        if (json_is_integer(r) && iat <= json_integer_value(r))
            ok = false;
    }
    json_decref(t);
    return ok;
}

/* The importers of a token_req export: every known account whose import
 * of it carries a valid activation token. Under mu. */
static json_t *token_importers(aj *a, json_t *exporter, json_t *export)
{
    json_t *list = json_array();
    const char *exp_pub = str(exporter, "sub"), *esub = str(export, "subject");
    for (aj_acc *x = a->accs; x; x = x->next) {
        if (x->deleted || !strcmp(x->pub, exp_pub))
            continue;
        size_t i;
        json_t *imp;
        json_array_foreach(json_object_get(json_object_get(x->claims, "nats"), "imports"), i,
                           imp) {
            const char *acc = str(imp, "account"), *sub = str(imp, "subject");
            if (!acc || strcmp(acc, exp_pub) != 0 || !sub || !aj_subject_matches(esub, sub))
                continue;
            if (activation_ok(a, exporter, export, x->pub, sub, str(imp, "token"))) {
                json_array_append_new(list, json_string(x->pub));
                break;
            }
        }
    }
    return list;
}

static const char *resp_type(const char *t)
{
    if (t && !strcasecmp(t, "stream"))
        return "stream";
    if (t && !strcasecmp(t, "chunked"))
        return "chunked";
    return "singleton";
}

/* An account JWT's mappings ({src: [{subject, weight, cluster}]}) as
 * conf.d's ({src: [{destination, weight}]}); a weight of 0 or none is
 * 100% (the jwt library's GetWeight). Cluster-scoped destinations are
 * left out: Tern has no cluster-specific mappings. NULL: none. */
static json_t *mappings_of(json_t *jm)
{
    json_t *out = json_object();
    const char *src;
    json_t *list;
    json_object_foreach(jm, src, list) {
        json_t *dests = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(list, i, d) {
            const char *to = str(d, "subject"), *cluster = str(d, "cluster");
            if (!to || (cluster && *cluster))
                continue;
            json_int_t w = json_integer_value(json_object_get(d, "weight"));
            char wt[16];
            snprintf(wt, sizeof wt, "%lld%%", (long long)(w > 0 && w <= 100 ? w : 100));
            json_t *o = json_object();
            json_object_set_new(o, "destination", json_string(to));
            json_object_set_new(o, "weight", json_string(wt));
            json_array_append_new(dests, o);
        }
        if (json_array_size(dests))
            json_object_set_new(out, src, dests);
        else
            json_decref(dests);
    }
    if (!json_object_size(out)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* The account_apply spec of an account JWT. Under mu. with_imports:
 * false after the kernel refused the spec: without the imports and
 * mappings (the parts it may refuse). */
static char *spec_of(aj *a, aj_acc *x, bool with_imports)
{
    json_t *n = json_object_get(x->claims, "nats"), *spec = json_object();
    json_t *lim = json_object_get(n, "limits"), *l = json_object();
    static const char *const keys[][2] = { { "conn", "max_connections" },
                                           { "subs", "max_subscriptions" },
                                           { "payload", "max_payload" } };
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(lim, keys[i][0]);
        if (json_is_integer(v) && json_integer_value(v) > 0)
            json_object_set(l, keys[i][1], v);
    }
    json_object_set_new(spec, "limits", l);
    json_t *maps = with_imports ? mappings_of(json_object_get(n, "mappings")) : NULL;
    if (maps)
        json_object_set_new(spec, "mappings", maps);
    json_t *exports = json_array(), *imports = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(n, "exports"), i, e) {
        const char *type = str(e, "type"), *subject = str(e, "subject");
        if (!type || !subject)
            continue;
        json_t *o = json_object();
        bool service = !strcmp(type, "service");
        json_object_set_new(o, service ? "service" : "stream", json_string(subject));
        if (service) {
            json_object_set_new(o, "response_type", json_string(resp_type(str(e, "response_type"))));
            json_int_t th = json_integer_value(json_object_get(e, "response_threshold"));
            if (th > 0) {
                char d[32];
                snprintf(d, sizeof d, "%lldms", (long long)(th / 1000000 > 0 ? th / 1000000 : 1));
                json_object_set_new(o, "response_threshold", json_string(d));
            }
        }
        if (json_is_true(json_object_get(e, "token_req"))) {
            json_t *who = token_importers(a, x->claims, e);
            if (!json_array_size(who)) {   /* nobody holds a token: nothing to export */
                json_decref(who);
                json_decref(o);
                continue;
            }
            json_object_set_new(o, "accounts", who);
        }
        json_array_append_new(exports, o);
    }
    json_array_foreach(json_object_get(n, "imports"), i, e) {
        const char *type = str(e, "type"), *subject = str(e, "subject"), *acc = str(e, "account");
        if (!with_imports || !type || !subject || !acc || !strcmp(acc, x->pub))
            continue;
        aj_acc *ex = aj_find(a, acc);
        if (!ex || !ex->applied || ex->deleted)
            continue;    /* unknown exporter: the import is left out, as invalid */
        bool service = !strcmp(type, "service");
        json_t *o = json_object(), *from = json_object();
        json_object_set_new(from, "account", json_string(acc));
        json_object_set_new(from, "subject", json_string(subject));
        json_object_set_new(o, service ? "service" : "stream", from);
        const char *local = str(e, "local_subject"), *to = str(e, "to");
        if (local && *local)
            json_object_set_new(o, "to", json_string(local));
        else if (to && *to)
            json_object_set_new(o, service ? "to" : "prefix", json_string(to));
        json_array_append_new(imports, o);
    }
    json_object_set_new(spec, "exports", exports);
    json_object_set_new(spec, "imports", imports);
    char *s = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    return s;
}

static bool imports_from(aj_acc *x, const char *exporter, bool token_only)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(x->claims, "nats"), "imports"), i, e) {
        const char *acc = str(e, "account");
        if (acc && !strcmp(acc, exporter) && (!token_only || str(e, "token")))
            return true;
    }
    return false;
}

/* Never under mu: account_apply pauses the workers, which may be waiting
 * for mu in a hook. */
static void apply_one(aj *a, const char *pub)
{
    pthread_mutex_lock(&a->mu);
    aj_acc *x = aj_find(a, pub);
    if (!x || x->deleted) {
        pthread_mutex_unlock(&a->mu);
        return;
    }
    if (!strcmp(pub, a->sys_bind) || (a->conf.system_account && !strcmp(pub, a->conf.system_account))) {
        x->applied = true;   /* the kernel's system account is not the module's to change */
        pthread_mutex_unlock(&a->mu);
        return;
    }
    char *spec = spec_of(a, x, true), *bare = spec_of(a, x, false);
    json_t *version = json_incref(x->claims);
    pthread_mutex_unlock(&a->mu);
    tern_rc rc = a->api->account_apply(a->m, pub, spec);
    if (rc != TERN_OK) {
        a->api->log(a->m, TERN_LOG_LEVEL_WARN, "account %s: %s; applying it without imports and mappings",
                    pub, a->api->error(a->m));
        rc = a->api->account_apply(a->m, pub, bare);
    }
    if (rc != TERN_OK)
        a->api->log(a->m, TERN_LOG_LEVEL_ERROR, "account %s not applied: %s", pub,
                    a->api->error(a->m));
    else
        a->api->log(a->m, TERN_LOG_LEVEL_DEBUG, "account %s applied: %s", pub, spec);
    pthread_mutex_lock(&a->mu);
    x = aj_find(a, pub);
    if (x && x->claims == version)   /* not replaced meanwhile */
        x->applied = rc == TERN_OK;
    pthread_mutex_unlock(&a->mu);
    json_decref(version);
    free(spec);
    free(bare);
}

/* The exporters it needs first (those it holds tokens of again, for their
 * importer lists), itself, then the accounts that import from it. */
static void apply_rec(aj *a, const char *pub, int depth)
{
    char (*deps)[AJ_KEY] = NULL, (*users)[AJ_KEY] = NULL;
    size_t nd = 0, nu = 0;
    pthread_mutex_lock(&a->mu);
    aj_acc *x = aj_find(a, pub);
    if (!x || x->deleted) {
        pthread_mutex_unlock(&a->mu);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(x->claims, "nats"), "imports"), i, e) {
        const char *acc = str(e, "account");
        aj_acc *ex = acc && strcmp(acc, pub) != 0 ? aj_find(a, acc) : NULL;
        if (depth < 4 && ex && !ex->deleted && (!ex->applied || str(e, "token"))) {
            deps = realloc(deps, (nd + 1) * sizeof *deps);
            snprintf(deps[nd++], AJ_KEY, "%s", ex->pub);
        }
    }
    for (aj_acc *y = a->accs; depth == 0 && y; y = y->next)
        if (y != x && y->applied && !y->deleted && imports_from(y, pub, false)) {
            users = realloc(users, (nu + 1) * sizeof *users);
            snprintf(users[nu++], AJ_KEY, "%s", y->pub);
        }
    pthread_mutex_unlock(&a->mu);
    for (i = 0; i < nd; i++)
        apply_rec(a, deps[i], depth + 1);
    apply_one(a, pub);
    for (i = 0; i < nu; i++)
        apply_one(a, users[i]);
    free(deps);
    free(users);
}

void aj_apply(aj *a, const char *pub)
{
    apply_rec(a, pub, 0);
}

void aj_sweep(aj *a, const char *pub)
{
    typedef struct victim { uint64_t cid; const char *why; } victim;
    victim *v = NULL;
    size_t n = 0;
    pthread_mutex_lock(&a->mu);
    aj_acc *x = aj_find(a, pub);
    for (aj_cli *c = a->clis; c; c = c->next) {
        if (strcmp(c->account, pub) != 0)
            continue;
        const char *why = NULL;
        int64_t exp = x ? json_integer_value(json_object_get(x->claims, "exp")) : 0;
        if (!x || x->deleted || (exp > 0 && exp <= aj_now_s()))
            why = "Account Authentication Expired";
        else if (aj_revoked(x->claims, c->user, c->iat))
            why = "User Authentication Revoked";
        if (why) {
            v = realloc(v, (n + 1) * sizeof *v);
            v[n++] = (victim){ c->cid, why };
        }
    }
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n; i++) {
        a->api->log(a->m, TERN_LOG_LEVEL_INFO, "closing client %llu: %s",
                    (unsigned long long)v[i].cid, v[i].why);
        a->api->client_close(a->m, v[i].cid, v[i].why);
    }
    free(v);
}
