/* accounts: { NAME: { users, exports, imports, limits } }, system_account,
 * user entries and permissions, with the checks nats-server 2.9.10 makes
 * in parseAccounts / parseUsers / parseUserPermissions and when it adds
 * the imports (an import needs a matching export that allows the
 * importer; cycles are refused). */
#include "conf_accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "auth.h"
#include "imports.h"
#include "mappings.h"
#include "nkeys.h"
#include "perms.h"
#include "xalloc.h"

#define CYCLE_MAX_DEPTH 1024

typedef struct ctx {
    char  *err;
    size_t errlen;
} ctx;

int tern_conf_is_accounts_key(const char *key)
{
    return !strcmp(key, "accounts") || !strcmp(key, "system_account") || !strcmp(key, "mappings");
}

static int text(ctx *c, const char *what, const tern_conf_node *v, char **out)
{
    char e[TERN_CONF_ERR_MAX];
    if (tern_conf_string(v, out, e, sizeof e) < 0)
        return tern_conf_error(v, c->err, c->errlen, "%s must be a string", what);
    return 0;
}

/* ---- permissions --------------------------------------------------------- */

/* A list of subjects, or one subject, into l. */
static int subject_list(ctx *c, const tern_conf_node *v, tern_perm_list *l)
{
    l->set = true;
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type == TERN_CONF_SCALAR) {
        if (tern_perms_add(l, v->value) < 0)
            return tern_conf_error(v, c->err, c->errlen, "invalid permission subject \"%s\"", v->value);
        return 0;
    }
    if (v->type != TERN_CONF_LIST)
        return tern_conf_error(v, c->err, c->errlen, "expected a subject or a list of subjects");
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *x = v->items[i];
        if (x->type != TERN_CONF_SCALAR)
            return tern_conf_error(x, c->err, c->errlen, "expected a subject");
        if (tern_perms_add(l, x->value) < 0)
            return tern_conf_error(x, c->err, c->errlen, "invalid permission subject \"%s\"", x->value);
    }
    return 0;
}

/* publish/subscribe: a list (the allow list) or {allow, deny}. */
static int direction(ctx *c, const tern_conf_node *v, tern_perm_list *allow, tern_perm_list *deny)
{
    if (v->type != TERN_CONF_MAP)
        return subject_list(c, v, allow);
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        if (!strcasecmp(k->value, "allow")) {
            if (subject_list(c, x, allow) < 0)
                return -1;
        } else if (!strcasecmp(k->value, "deny")) {
            if (subject_list(c, x, deny) < 0)
                return -1;
            deny->set = deny->n > 0;
        } else {
            return tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in permissions", k->value);
        }
    }
    return 0;
}

static int responses(ctx *c, const tern_conf_node *v, tern_perms *p)
{
    char e[TERN_CONF_ERR_MAX];
    p->resp_max = TERN_PERMS_RESP_MAX_DEFAULT;
    p->resp_expires_ms = TERN_PERMS_RESP_EXPIRES_DEFAULT_MS;
    if (v->type != TERN_CONF_MAP) {
        bool on;
        if (tern_conf_bool(v, &on, e, sizeof e) < 0)
            return tern_conf_error(v, c->err, c->errlen,
                                   "allow_responses must be true, false or {max, expires}");
        p->resp = on;
        return 0;
    }
    p->resp = true;
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const char *key = k->value;
        int64_t n;
        if (!strcasecmp(key, "max") || !strcasecmp(key, "max_msgs") ||
            !strcasecmp(key, "max_messages") || !strcasecmp(key, "max_responses")) {
            if (tern_conf_int(x, &n, e, sizeof e) < 0)
                return tern_conf_error(x, c->err, c->errlen, "allow_responses.max must be an integer");
            if (n > 0)
                p->resp_max = n;
        } else if (!strcasecmp(key, "expires") || !strcasecmp(key, "expiration") ||
                   !strcasecmp(key, "ttl")) {
            if (tern_conf_duration_ms(x, &n, e, sizeof e) < 0)
                return tern_conf_error(x, c->err, c->errlen, "allow_responses.expires must be a duration");
            if (n > 0)
                p->resp_expires_ms = n;
        } else {
            return tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in allow_responses", key);
        }
    }
    return 0;
}

int tern_conf_permissions(const tern_conf_node *v, tern_perms **out, char *err, size_t errlen)
{
    ctx c = {err, errlen};
    *out = NULL;
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, err, errlen, "permissions must be a mapping");
    tern_perms *p = tern_perms_new();
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const char *key = k->value;
        int rc;
        if (!strcasecmp(key, "publish") || !strcasecmp(key, "pub") || !strcasecmp(key, "import"))
            rc = direction(&c, x, &p->pub_allow, &p->pub_deny);
        else if (!strcasecmp(key, "subscribe") || !strcasecmp(key, "sub") ||
                 !strcasecmp(key, "export"))
            rc = direction(&c, x, &p->sub_allow, &p->sub_deny);
        else if (!strcasecmp(key, "allow_responses") || !strcasecmp(key, "publish_allow_responses"))
            rc = responses(&c, x, p);
        else
            rc = tern_conf_error(k, err, errlen, "unknown key '%s' in permissions", key);
        if (rc < 0) {
            tern_perms_free(p);
            return -1;
        }
    }
    tern_perms_finish(p);
    *out = p;
    return 0;
}

/* ---- users --------------------------------------------------------------- */

static int user_entry(const tern_conf_node *u, tern_auth *a, int account,
                      const tern_perms *defaults, char *err, size_t errlen)
{
    ctx c = {err, errlen};
    if (u->type != TERN_CONF_MAP)
        return tern_conf_error(u, err, errlen, "expected user entry to be a mapping");
    char *name = NULL, *password = NULL, *nkey = NULL;
    tern_perms *perms = NULL;
    int rc = 0;
    for (size_t i = 0; i < u->n && rc == 0; i++) {
        const tern_conf_node *k = u->pairs[i].key, *v = u->pairs[i].value;
        const char *key = k->value;
        char **slot = !strcmp(key, "user") || !strcmp(key, "username") ? &name
                    : !strcmp(key, "password") || !strcmp(key, "pass") ? &password
                    : !strcmp(key, "nkey") ? &nkey : NULL;
        if (slot) {
            free(*slot);
            *slot = NULL;
            if (v->type != TERN_CONF_NULL)
                rc = text(&c, key, v, slot);
        } else if (!strcmp(key, "permissions") || !strcmp(key, "permission") ||
                   !strcmp(key, "authorization")) {
            tern_perms_free(perms);
            rc = tern_conf_permissions(v, &perms, err, errlen);
        } else if (!strcmp(key, "allowed_connection_types") || !strcmp(key, "connection_types") ||
                   !strcmp(key, "clients")) {
            rc = tern_conf_error(k, err, errlen, "allowed connection types are not supported yet");
        } else {
            rc = tern_conf_error(k, err, errlen, "unknown key '%s' in a user entry", key);
        }
    }
    if (rc == 0 && !perms && defaults)    /* the account's default_permissions */
        perms = tern_perms_clone(defaults);
    if (rc == 0) {
        bool has_nkey = nkey && *nkey, has_user = name && *name;
        if (!has_nkey && !has_user) {
            rc = tern_conf_error(u, err, errlen, "User entry requires a user");
        } else if (has_nkey && !tern_nkey_is_valid_public(nkey, TERN_NKEY_PREFIX_USER)) {
            rc = tern_conf_error(u, err, errlen, "Not a valid public nkey for a user");
        } else if (has_nkey && (has_user || (password && *password))) {
            rc = tern_conf_error(u, err, errlen, "Nkey users do not take usernames or passwords");
        } else if (tern_auth_has_name(a, has_nkey ? nkey : name)) {
            rc = tern_conf_error(u, err, errlen, "Duplicate %s \"%s\" detected",
                                 has_nkey ? "nkey" : "user", has_nkey ? nkey : name);
        } else if (has_nkey) {
            tern_auth_add_account_nkey(a, nkey, account, perms);
            perms = NULL;
        } else {
            tern_auth_add_account_user(a, name, password, account, perms);
            perms = NULL;
        }
    }
    tern_perms_free(perms);
    free(name);
    free(password);
    free(nkey);
    return rc;
}

int tern_conf_user_entry(const tern_conf_node *u, tern_auth *a, int account, char *err,
                         size_t errlen)
{
    return user_entry(u, a, account, NULL, err, errlen);
}

/* ---- exports and imports ------------------------------------------------- */

/* Where each import was written, for errors found once every account is
 * read (parallel to the accounts' import arrays). */
typedef struct import_pos {
    const tern_conf_node **nodes;
    char                 **accounts;   /* the exporter as written */
} import_pos;

static int string_list(ctx *c, const tern_conf_node *v, char ***out, size_t *n)
{
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_LIST)
        return tern_conf_error(v, c->err, c->errlen, "expected a list of account names");
    for (size_t i = 0; i < v->n; i++) {
        char *s = NULL;
        if (text(c, "an account name", v->items[i], &s) < 0)
            return -1;
        *out = tern_xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = s;
    }
    return 0;
}

static int export_entry(ctx *c, const tern_conf_node *v, tern_account_conf *ac)
{
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "expected an export to be a mapping");
    tern_export_conf x = {.threshold_ms = TERN_DEFAULT_RESPONSE_THRESHOLD_MS};
    const tern_conf_node *kind = NULL, *resp = NULL;
    int rc = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        const tern_conf_node *k = v->pairs[i].key, *y = v->pairs[i].value;
        const char *key = k->value;
        char e[TERN_CONF_ERR_MAX];
        if (!strcmp(key, "stream") || !strcmp(key, "service")) {
            if (kind)
                rc = tern_conf_error(k, c->err, c->errlen,
                                     "an export is either a stream or a service, not both");
            else if ((rc = text(c, key, y, &x.subject)) == 0 &&
                     !tern_subject_valid(x.subject, strlen(x.subject), true))
                rc = tern_conf_error(y, c->err, c->errlen, "invalid export subject \"%s\"", x.subject);
            kind = k;
            x.kind = !strcmp(key, "stream") ? TERN_STREAM : TERN_SERVICE;
        } else if (!strcmp(key, "accounts")) {
            rc = string_list(c, y, &x.accounts, &x.naccounts);
        } else if (!strcmp(key, "response") || !strcmp(key, "response_type")) {
            char *t = NULL;
            if ((rc = text(c, key, y, &t)) == 0) {
                resp = k;
                if (!strcasecmp(t, "singleton") || !strcasecmp(t, "single"))
                    x.resp = TERN_RESP_SINGLETON;
                else if (!strcasecmp(t, "stream"))
                    x.resp = TERN_RESP_STREAM;
                else if (!strcasecmp(t, "chunked"))
                    x.resp = TERN_RESP_CHUNKED;
                else
                    rc = tern_conf_error(y, c->err, c->errlen, "unknown response type: \"%s\"", t);
            }
            free(t);
        } else if (!strcmp(key, "response_threshold") || !strcmp(key, "threshold")) {
            resp = k;
            if (tern_conf_duration_ms(y, &x.threshold_ms, e, sizeof e) < 0 || x.threshold_ms <= 0)
                rc = tern_conf_error(y, c->err, c->errlen,
                                     "response_threshold must be a positive duration");
        } else if (!strcmp(key, "latency")) {
            rc = tern_conf_error(k, c->err, c->errlen, "service latency tracking is not supported");
        } else {
            rc = tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in an export", key);
        }
    }
    if (rc == 0 && !kind)
        rc = tern_conf_error(v, c->err, c->errlen, "an export needs a stream or a service subject");
    if (rc == 0 && resp && x.kind == TERN_STREAM)
        rc = tern_conf_error(resp, c->err, c->errlen,
                             "response types are only valid for service exports");
    if (rc < 0) {
        free(x.subject);
        for (size_t i = 0; i < x.naccounts; i++)
            free(x.accounts[i]);
        free(x.accounts);
        return -1;
    }
    ac->exports = tern_xrealloc(ac->exports, (ac->nexports + 1) * sizeof *ac->exports);
    ac->exports[ac->nexports++] = x;
    return 0;
}

static int count_wildcards(const char *s)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        if ((*p == '*' || *p == '>') && (p == s || p[-1] == '.') && (!p[1] || p[1] == '.'))
            n++;
    return n;
}

static int import_entry(ctx *c, const tern_conf_node *v, tern_account_conf *ac, import_pos *pos)
{
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "expected an import to be a mapping");
    tern_import_conf x = {.exporter = -1};
    char *account = NULL, *prefix = NULL, *to = NULL;
    const tern_conf_node *kind = NULL, *prefix_node = NULL, *to_node = NULL;
    int rc = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        const tern_conf_node *k = v->pairs[i].key, *y = v->pairs[i].value;
        const char *key = k->value;
        if (!strcmp(key, "stream") || !strcmp(key, "service")) {
            if (kind) {
                rc = tern_conf_error(k, c->err, c->errlen,
                                     "an import is either a stream or a service, not both");
                break;
            }
            kind = k;
            x.kind = !strcmp(key, "stream") ? TERN_STREAM : TERN_SERVICE;
            if (y->type != TERN_CONF_MAP) {
                rc = tern_conf_error(y, c->err, c->errlen, "expected {account, subject}");
                break;
            }
            for (size_t j = 0; j < y->n && rc == 0; j++) {
                const tern_conf_node *kk = y->pairs[j].key, *z = y->pairs[j].value;
                if (!strcmp(kk->value, "account"))
                    rc = text(c, "account", z, &account);
                else if (!strcmp(kk->value, "subject"))
                    rc = text(c, "subject", z, &x.subject);
                else
                    rc = tern_conf_error(kk, c->err, c->errlen, "unknown key '%s' in an import",
                                         kk->value);
            }
            if (rc == 0 && (!account || !x.subject))
                rc = tern_conf_error(y, c->err, c->errlen, "an import needs an account and a subject");
            if (rc == 0 && !tern_subject_valid(x.subject, strlen(x.subject), true))
                rc = tern_conf_error(y, c->err, c->errlen, "invalid import subject \"%s\"", x.subject);
        } else if (!strcmp(key, "prefix")) {
            prefix_node = y;
            rc = text(c, key, y, &prefix);
        } else if (!strcmp(key, "to") || !strcmp(key, "local_subject")) {
            to_node = y;
            rc = text(c, key, y, &to);
        } else if (!strcmp(key, "share")) {
            rc = tern_conf_error(k, c->err, c->errlen, "sharing the requester's information "
                                 "(share, the Nats-Request-Info header) is not supported");
        } else {
            rc = tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in an import", key);
        }
    }
    if (rc == 0 && !kind)
        rc = tern_conf_error(v, c->err, c->errlen, "an import needs a stream or a service");
    if (rc == 0 && prefix && x.kind == TERN_SERVICE)
        rc = tern_conf_error(prefix_node, c->err, c->errlen,
                             "prefix is only valid for stream imports (use to)");
    if (rc == 0 && prefix && to)
        rc = tern_conf_error(to_node, c->err, c->errlen, "an import takes a prefix or to, not both");
    if (rc == 0 && prefix) {
        size_t pl = strlen(prefix);
        while (pl && prefix[pl - 1] == '.')
            prefix[--pl] = '\0';
        if (!pl || !tern_subject_valid(prefix, pl, false))
            rc = tern_conf_error(prefix_node, c->err, c->errlen,
                                 "prefix \"%s\" must be a literal subject", prefix);
        else {
            x.local = tern_xmalloc(pl + 1 + strlen(x.subject) + 1);
            sprintf(x.local, "%s.%s", prefix, x.subject);
        }
    } else if (rc == 0 && to) {
        if (!tern_subject_valid(to, strlen(to), true))
            rc = tern_conf_error(to_node, c->err, c->errlen, "invalid subject \"%s\" in to", to);
        else if (count_wildcards(to) != count_wildcards(x.subject) &&
                 !strchr(to, '$'))
            rc = tern_conf_error(to_node, c->err, c->errlen,
                                 "to \"%s\" must have the wildcards of \"%s\"", to, x.subject);
        else
            x.local = tern_xstrdup(to);
    } else if (rc == 0) {
        x.local = tern_xstrdup(x.subject);
    }
    free(prefix);
    free(to);
    if (rc < 0) {
        free(account);
        free(x.subject);
        free(x.local);
        return -1;
    }
    ac->imports = tern_xrealloc(ac->imports, (ac->nimports + 1) * sizeof *ac->imports);
    ac->imports[ac->nimports] = x;
    pos->nodes = tern_xrealloc(pos->nodes, (ac->nimports + 1) * sizeof *pos->nodes);
    pos->accounts = tern_xrealloc(pos->accounts, (ac->nimports + 1) * sizeof *pos->accounts);
    pos->nodes[ac->nimports] = v;
    pos->accounts[ac->nimports] = account;
    ac->nimports++;
    return 0;
}

static int limits(ctx *c, const tern_conf_node *v, tern_account_conf *ac)
{
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "limits must be a mapping");
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *y = v->pairs[i].value;
        const char *key = k->value;
        char e[TERN_CONF_ERR_MAX];
        int64_t *slot = !strcmp(key, "max_connections") || !strcmp(key, "max_conn") ? &ac->max_connections
                      : !strcmp(key, "max_subscriptions") || !strcmp(key, "max_subs") ? &ac->max_subscriptions
                      : !strcmp(key, "max_payload") || !strcmp(key, "max_pay") ? &ac->max_payload : NULL;
        if (!slot)
            return tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in limits", key);
        int r = slot == &ac->max_payload ? tern_conf_size(y, slot, e, sizeof e)
                                         : tern_conf_int(y, slot, e, sizeof e);
        if (r < 0)
            return tern_conf_error(y, c->err, c->errlen, "%s must be a%s", key,
                                   slot == &ac->max_payload ? " size" : "n integer");
        if (*slot <= 0)
            *slot = -1;   /* 0 or negative: no limit, as nats-server */
    }
    return 0;
}

/* One account's entry into conf->accs[idx]; a: where its users go (NULL:
 * an account_apply spec, which has none). */
static int account_entry(ctx *c, const char *name, const tern_conf_node *v, tern_accounts_conf *conf,
                         tern_auth *a, int idx, import_pos *pos)
{
    tern_account_conf *ac = &conf->accs[idx];
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "account \"%s\" must be a mapping", name);
    /* default_permissions first: they apply to the users listed before it too. */
    tern_perms *defaults = NULL;
    const tern_conf_node *dp = tern_conf_get(v, "default_permissions");
    if (!dp)
        dp = tern_conf_get(v, "default_permission");
    if (dp && tern_conf_permissions(dp, &defaults, c->err, c->errlen) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        const tern_conf_node *kk = v->pairs[i].key, *y = v->pairs[i].value;
        const char *key = kk->value;
        if (!strcmp(key, "users")) {
            if (y->type == TERN_CONF_NULL)
                continue;
            if (!a)
                rc = tern_conf_error(kk, c->err, c->errlen, "an account spec takes no users");
            else if (y->type != TERN_CONF_LIST)
                rc = tern_conf_error(y, c->err, c->errlen, "expected users field to be a list");
            for (size_t j = 0; rc == 0 && j < y->n; j++)
                rc = user_entry(y->items[j], a, idx, defaults, c->err, c->errlen);
        } else if (!strcmp(key, "exports") || !strcmp(key, "imports")) {
            if (y->type == TERN_CONF_NULL)
                continue;
            if (y->type != TERN_CONF_LIST) {
                rc = tern_conf_error(y, c->err, c->errlen, "expected %s to be a list", key);
                break;
            }
            for (size_t j = 0; rc == 0 && j < y->n; j++)
                rc = key[0] == 'e' ? export_entry(c, y->items[j], ac)
                                   : import_entry(c, y->items[j], ac, pos);
        } else if (!strcmp(key, "limits")) {
            rc = limits(c, y, ac);
        } else if (!strcmp(key, "mappings") || !strcmp(key, "maps")) {
            rc = tern_conf_mappings(y, ac, c->err, c->errlen);
        } else if (!strcmp(key, "default_permissions") || !strcmp(key, "default_permission")) {
            continue;
        } else {
            rc = tern_conf_error(kk, c->err, c->errlen, "unknown key '%s' in account \"%s\"", key,
                                 name);
        }
    }
    tern_perms_free(defaults);
    return rc;
}

static bool export_allows(const tern_export_conf *x, const char *importer)
{
    if (!x->naccounts)
        return true;
    for (size_t i = 0; i < x->naccounts; i++)
        if (!strcmp(x->accounts[i], importer))
            return true;
    return false;
}

/* Resolve each import to its exporter and export. */
static int resolve_imports(ctx *c, tern_accounts_conf *conf, import_pos *pos)
{
    for (size_t i = 0; i < conf->n; i++) {
        tern_account_conf *ac = &conf->accs[i];
        for (size_t k = 0; k < ac->nimports; k++) {
            tern_import_conf *imp = &ac->imports[k];
            const tern_conf_node *at = pos[i].nodes[k];
            const char *name = pos[i].accounts[k];
            const char *kind = imp->kind == TERN_STREAM ? "stream" : "service";
            imp->exporter = tern_accounts_conf_find(conf, name);
            if (imp->exporter < 0)
                return tern_conf_error(at, c->err, c->errlen,
                                       "%s import of \"%s\": unknown account \"%s\"", kind,
                                       imp->subject, name);
            if ((size_t)imp->exporter == i)
                return tern_conf_error(at, c->err, c->errlen,
                                       "%s import of \"%s\": account \"%s\" imports from itself",
                                       kind, imp->subject, name);
            const tern_account_conf *ex = &conf->accs[imp->exporter];
            const tern_export_conf *match = NULL;
            bool refused = false;
            for (size_t j = 0; j < ex->nexports && !match; j++) {
                const tern_export_conf *x = &ex->exports[j];
                if (x->kind != imp->kind ||
                    !tern_perm_match(x->subject, imp->subject, strlen(imp->subject)))
                    continue;
                if (export_allows(x, ac->name))
                    match = x;
                else
                    refused = true;
            }
            if (!match && refused)
                return tern_conf_error(at, c->err, c->errlen,
                                       "%s import of \"%s\" from account \"%s\": the export is "
                                       "restricted and does not allow account \"%s\"",
                                       kind, imp->subject, name, ac->name);
            if (!match)
                return tern_conf_error(at, c->err, c->errlen,
                                       "%s import of \"%s\" from account \"%s\": no matching %s "
                                       "export", kind, imp->subject, name, kind);
            imp->export = match;
        }
    }
    return 0;
}

/* Whether following imports of `kind` from account `from`, whose local
 * subjects overlap `subject`, leads back to `target`. */
static bool leads_to(const tern_accounts_conf *conf, int from, const char *subject, int target,
                     tern_xkind kind, int depth)
{
    if (depth > CYCLE_MAX_DEPTH)
        return true;
    const tern_account_conf *ac = &conf->accs[from];
    for (size_t k = 0; k < ac->nimports; k++) {
        const tern_import_conf *imp = &ac->imports[k];
        if (imp->kind != kind || !tern_subjects_overlap(imp->local, subject))
            continue;
        if (imp->exporter == target ||
            leads_to(conf, imp->exporter, imp->subject, target, kind, depth + 1))
            return true;
    }
    return false;
}

static int check_cycles(ctx *c, const tern_accounts_conf *conf, import_pos *pos)
{
    for (size_t i = 0; i < conf->n; i++) {
        const tern_account_conf *ac = &conf->accs[i];
        for (size_t k = 0; k < ac->nimports; k++) {
            const tern_import_conf *imp = &ac->imports[k];
            if (leads_to(conf, imp->exporter, imp->subject, (int)i, imp->kind, 0))
                return tern_conf_error(pos[i].nodes[k], c->err, c->errlen,
                                       "%s import of \"%s\" from account \"%s\" forms a cycle",
                                       imp->kind == TERN_STREAM ? "stream" : "service",
                                       imp->subject, conf->accs[imp->exporter].name);
        }
    }
    return 0;
}

static void pos_free(import_pos *pos, const tern_accounts_conf *conf)
{
    for (size_t i = 0; i < conf->n; i++) {
        for (size_t k = 0; k < conf->accs[i].nimports; k++)
            free(pos[i].accounts[k]);
        free(pos[i].nodes);
        free(pos[i].accounts);
    }
    free(pos);
}

int tern_conf_apply_accounts(const tern_conf_node *root, tern_auth *a, char *err, size_t errlen)
{
    ctx c = {err, errlen};
    const tern_conf_node *accs = tern_conf_get(root, "accounts");
    const tern_conf_node *sys = tern_conf_get(root, "system_account");
    tern_accounts_conf *conf = tern_accounts_conf_new();
    tern_accounts_conf_unref(a->accounts);
    a->accounts = conf;
    if (accs && accs->type != TERN_CONF_NULL && accs->type != TERN_CONF_MAP)
        return tern_conf_error(accs, err, errlen, "accounts must be a mapping of account names");
    size_t nacc = accs && accs->type == TERN_CONF_MAP ? accs->n : 0;
    for (size_t i = 0; i < nacc; i++) {
        const tern_conf_node *k = accs->pairs[i].key;
        if (!k->value[0])
            return tern_conf_error(k, err, errlen, "an account name may not be empty");
        if (tern_accounts_conf_find(conf, k->value) >= 0)
            return tern_conf_error(k, err, errlen, "account \"%s\" is defined twice", k->value);
        tern_accounts_conf_add(conf, k->value);
    }
    import_pos *pos = tern_xcalloc(conf->n, sizeof *pos);
    int rc = 0;
    for (size_t i = 0; i < nacc && rc == 0; i++)
        rc = account_entry(&c, accs->pairs[i].key->value, accs->pairs[i].value, conf, a, (int)i + 1,
                           &pos[i + 1]);
    const tern_conf_node *maps = tern_conf_get(root, "mappings");
    if (rc == 0 && maps)        /* top-level mappings: the global account's */
        rc = tern_conf_mappings(maps, &conf->accs[0], err, errlen);
    if (rc == 0)
        rc = resolve_imports(&c, conf, pos);
    if (rc == 0)
        rc = check_cycles(&c, conf, pos);
    pos_free(pos, conf);
    if (rc < 0)
        return -1;

    char *name = NULL;
    if (sys && sys->type != TERN_CONF_NULL) {
        if (text(&c, "system_account", sys, &name) < 0)
            return -1;
        conf->system = tern_accounts_conf_find(conf, name);
        if (conf->system == 0) {
            free(name);
            return tern_conf_error(sys, err, errlen, "the global account can not be the system account");
        }
        /* Operator mode (nats-server's system_account: <account public
         * key>): the account comes from a resolver module, not from here. */
        if (conf->system < 0 && tern_nkey_is_valid_public(name, TERN_NKEY_PREFIX_ACCOUNT))
            conf->system = tern_accounts_conf_add(conf, name);
        if (conf->system < 0 && strcmp(name, TERN_SYSTEM_ACCOUNT) != 0) {
            int rc2 = tern_conf_error(sys, err, errlen, "system account \"%s\" is not defined in "
                                      "accounts", name);
            free(name);
            return rc2;
        }
    }
    if (conf->system < 0)
        conf->system = tern_accounts_conf_find(conf, TERN_SYSTEM_ACCOUNT);
    if (conf->system < 0)
        conf->system = tern_accounts_conf_add(conf, TERN_SYSTEM_ACCOUNT);
    free(name);
    return 0;
}

int tern_conf_account_spec(const tern_conf_node *v, tern_accounts_conf *conf, int idx, char *err,
                           size_t errlen)
{
    ctx c = {err, errlen};
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, err, errlen, "an account spec must be an object");
    /* The other accounts' imports are resolved again: this account's
     * exports may be new. Their errors point at the spec. */
    import_pos *pos = tern_xcalloc(conf->n, sizeof *pos);
    for (size_t i = 0; i < conf->n; i++) {
        tern_account_conf *ac = &conf->accs[i];
        if ((int)i == idx || !ac->nimports)
            continue;
        pos[i].nodes = tern_xcalloc(ac->nimports, sizeof *pos[i].nodes);
        pos[i].accounts = tern_xcalloc(ac->nimports, sizeof *pos[i].accounts);
        for (size_t k = 0; k < ac->nimports; k++) {
            pos[i].nodes[k] = v;
            pos[i].accounts[k] = tern_xstrdup(conf->accs[ac->imports[k].exporter].name);
        }
    }
    int rc = account_entry(&c, conf->accs[idx].name, v, conf, NULL, idx, &pos[idx]);
    if (rc == 0)
        rc = resolve_imports(&c, conf, pos);
    if (rc == 0)
        rc = check_cycles(&c, conf, pos);
    pos_free(pos, conf);
    return rc;
}
