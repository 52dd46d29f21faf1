/* nats-server keys → Tern keys. The tables below name every key of
 * nats-server 2.9's processConfigFileLine, parseTLS, parseAuthorization and
 * parseUsers (keys are case-insensitive there, so here too). Values keep
 * their file:line:column, so the kernel's checks (conf_server.c,
 * conf_auth.c) report errors in the nats-server file.
 *
 * Types are checked where nats-server is stricter than Tern's readers
 * (a quoted "1MB" is not an integer for nats-server; lame_duck_duration
 * must be a string); relative paths are made absolute against the working
 * directory, because nats-server opens them relative to it (Tern's own
 * files are relative to their folder). */
#include "conf_nats_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "module_natsmap.h"
#include "xalloc.h"

typedef enum vtype {
    V_ANY,        /* checked by the kernel's reader */
    V_INT,        /* an integer (size suffixes already applied) */
    V_STRING,
    V_BOOL,
    V_DURATION,   /* a Go duration string, or an integer number of seconds */
    V_DURSTR,     /* a Go duration string only */
    V_PATH,       /* a string; relative to the working directory */
} vtype;

typedef enum kind {
    K_SET,          /* copied to the Tern path in `tern` */
    K_TLS,          /* server.tls, keys renamed */
    K_AUTHZ,        /* authorization, single user folded into users */
    K_ACCOUNTS,     /* accounts, users and exports/imports mapped */
    K_UNSUPPORTED,  /* `tern` says why */
    K_MODULE,       /* mapped by the module named in `tern` (its nats_map) */
} kind;

typedef struct nats_key {
    const char *name;
    kind kind;
    const char *tern;
    vtype type;
    bool false_ok;   /* unsupported, but `false` turns off what Tern lacks anyway */
} nats_key;

#define R_LEAF     "the leafnode module is needed (not shipped yet)"
#define R_ACCOUNTS "accounts are not supported yet"
#define R_NO_SYS   "running without a system account is not supported"
#define R_JS       "JetStream is not supported by Tern"
#define R_WS       "WebSocket is not supported by Tern"
#define R_MQTT     "MQTT is not supported by Tern"
#define R_OCSP     "OCSP stapling is not supported yet"

static const nats_key top_keys[] = {
    { "listen", K_SET, "server.listen", V_ANY, false },
    { "port", K_SET, "server.port", V_INT, false },
    { "host", K_SET, "server.host", V_STRING, false },
    { "net", K_SET, "server.host", V_STRING, false },
    { "server_name", K_SET, "server.name", V_STRING, false },
    { "debug", K_SET, "server.log.debug", V_BOOL, false },
    { "trace", K_SET, "server.log.trace", V_BOOL, false },
    { "trace_verbose", K_SET, "server.log.trace", V_BOOL, false },
    { "logtime", K_SET, "server.log.time", V_BOOL, false },
    { "logfile", K_SET, "server.log.file", V_PATH, false },
    { "log_file", K_SET, "server.log.file", V_PATH, false },
    { "syslog", K_SET, "server.log.syslog", V_BOOL, false },
    { "pidfile", K_SET, "server.pid_file", V_PATH, false },
    { "pid_file", K_SET, "server.pid_file", V_PATH, false },
    { "ports_file_dir", K_SET, "server.ports_file_dir", V_PATH, false },
    { "max_control_line", K_SET, "server.max_control_line", V_INT, false },
    { "max_payload", K_SET, "server.max_payload", V_INT, false },
    { "max_pending", K_SET, "server.max_pending", V_INT, false },
    { "max_connections", K_SET, "server.max_connections", V_INT, false },
    { "max_conn", K_SET, "server.max_connections", V_INT, false },
    { "ping_interval", K_SET, "server.ping_interval", V_DURATION, false },
    { "ping_max", K_SET, "server.ping_max", V_INT, false },
    { "write_deadline", K_SET, "server.write_deadline", V_DURATION, false },
    { "lame_duck_duration", K_SET, "server.lame_duck_duration", V_DURSTR, false },
    { "lame_duck_grace_period", K_SET, "server.lame_duck_grace_period", V_DURSTR, false },
    { "no_header_support", K_SET, "server.no_header_support", V_BOOL, false },
    { "no_auth_user", K_SET, "no_auth_user", V_STRING, false },
    { "tls", K_TLS, "server.tls", V_ANY, false },
    { "authorization", K_AUTHZ, "authorization", V_ANY, false },

    { "client_advertise", K_MODULE, "cluster", V_ANY, false },
    { "cluster", K_MODULE, "cluster", V_ANY, false },
    { "connect_error_reports", K_MODULE, "cluster", V_ANY, false },
    { "reconnect_error_reports", K_MODULE, "cluster", V_ANY, false },
    { "gateway", K_MODULE, "gateway", V_ANY, false },
    { "leaf", K_MODULE, "leafnode", V_ANY, false },
    { "leafnodes", K_MODULE, "leafnode", V_ANY, false },
    { "http", K_MODULE, "monitor", V_ANY, false },
    { "https", K_MODULE, "monitor", V_ANY, false },
    { "http_port", K_MODULE, "monitor", V_ANY, false },
    { "monitor_port", K_MODULE, "monitor", V_ANY, false },
    { "https_port", K_MODULE, "monitor", V_ANY, false },
    { "http_base_path", K_MODULE, "monitor", V_ANY, false },
    { "operator", K_MODULE, "auth_jwt", V_ANY, false },
    { "operators", K_MODULE, "auth_jwt", V_ANY, false },
    { "root", K_MODULE, "auth_jwt", V_ANY, false },
    { "roots", K_MODULE, "auth_jwt", V_ANY, false },
    { "root_operator", K_MODULE, "auth_jwt", V_ANY, false },
    { "root_operators", K_MODULE, "auth_jwt", V_ANY, false },
    { "resolver", K_MODULE, "auth_jwt", V_ANY, false },
    { "account_resolver", K_MODULE, "auth_jwt", V_ANY, false },
    { "accounts_resolver", K_MODULE, "auth_jwt", V_ANY, false },
    { "resolver_tls", K_MODULE, "auth_jwt", V_ANY, false },
    { "resolver_preload", K_MODULE, "auth_jwt", V_ANY, false },
    { "resolver_pinned_accounts", K_MODULE, "auth_jwt", V_ANY, false },
    { "trusted", K_MODULE, "auth_jwt", V_ANY, false },
    { "trusted_keys", K_MODULE, "auth_jwt", V_ANY, false },
    { "accounts", K_ACCOUNTS, "accounts", V_ANY, false },
    { "mappings", K_SET, "mappings", V_ANY, false },
    { "maps", K_SET, "mappings", V_ANY, false },
    { "system_account", K_SET, "system_account", V_STRING, false },
    { "system", K_SET, "system_account", V_STRING, false },
    { "no_system_account", K_UNSUPPORTED, R_NO_SYS, V_ANY, true },
    { "no_system", K_UNSUPPORTED, R_NO_SYS, V_ANY, true },
    { "no_sys_acc", K_UNSUPPORTED, R_NO_SYS, V_ANY, true },
    { "jetstream", K_UNSUPPORTED, R_JS, V_ANY, true },
    { "store_dir", K_UNSUPPORTED, R_JS, V_ANY, false },
    { "storedir", K_UNSUPPORTED, R_JS, V_ANY, false },
    { "default_js_domain", K_UNSUPPORTED, R_JS, V_ANY, false },
    { "websocket", K_UNSUPPORTED, R_WS, V_ANY, false },
    { "ws", K_UNSUPPORTED, R_WS, V_ANY, false },
    { "mqtt", K_UNSUPPORTED, R_MQTT, V_ANY, false },
    { "ocsp", K_UNSUPPORTED, R_OCSP, V_ANY, true },
    { "allow_non_tls", K_UNSUPPORTED, "mixing TLS and plain clients on one port is not supported", V_ANY, true },
    { "server_tags", K_UNSUPPORTED, "server tags are not supported (they place JetStream assets)", V_ANY, false },
    { "log_size_limit", K_UNSUPPORTED, "log size limits are not supported; rotate with logrotate and --signal reopen", V_ANY, false },
    { "logfile_size_limit", K_UNSUPPORTED, "log size limits are not supported; rotate with logrotate and --signal reopen", V_ANY, false },
    { "remote_syslog", K_UNSUPPORTED, "remote syslog logging is not supported", V_ANY, false },
    { "prof_port", K_UNSUPPORTED, "the Go profiling port does not exist in Tern", V_ANY, false },
    { "max_traced_msg_len", K_UNSUPPORTED, "limiting traced message length is not supported yet", V_ANY, false },
    { "max_subscriptions", K_UNSUPPORTED, "a per-connection subscription limit is not supported yet", V_ANY, false },
    { "max_subs", K_UNSUPPORTED, "a per-connection subscription limit is not supported yet", V_ANY, false },
    { "max_sub_tokens", K_UNSUPPORTED, "a subject token limit is not supported yet", V_ANY, false },
    { "max_subscription_tokens", K_UNSUPPORTED, "a subject token limit is not supported yet", V_ANY, false },
    { "disable_sublist_cache", K_UNSUPPORTED, "the subject match cache cannot be turned off", V_ANY, true },
    { "no_sublist_cache", K_UNSUPPORTED, "the subject match cache cannot be turned off", V_ANY, true },
};

/* tls {}: nats-server name → Tern's server.tls name. */
static const nats_key tls_keys[] = {
    { "cert_file", K_SET, "cert", V_PATH, false },
    { "key_file", K_SET, "key", V_PATH, false },
    { "ca_file", K_SET, "ca", V_PATH, false },
    { "verify", K_SET, "verify", V_BOOL, false },
    { "verify_and_map", K_SET, "verify_and_map", V_BOOL, false },
    { "timeout", K_SET, "timeout", V_ANY, false },
    { "cipher_suites", K_SET, "ciphers", V_ANY, false },
    { "insecure", K_UNSUPPORTED, "skipping certificate verification is not supported", V_ANY, true },
    { "verify_cert_and_check_known_urls", K_UNSUPPORTED, "checking certificates against known URLs is not supported yet", V_ANY, true },
    { "curve_preferences", K_UNSUPPORTED, "choosing TLS curves is not supported yet", V_ANY, false },
    { "connection_rate_limit", K_UNSUPPORTED, "a TLS connection rate limit is not supported yet", V_ANY, false },
    { "pinned_certs", K_UNSUPPORTED, "pinned certificates are not supported yet", V_ANY, false },
};

typedef struct ctx {
    const tern_nats_vars *vars;
    tern_nats_map_opts o;
    char *err;
    size_t errlen;
} ctx;

static const nats_key *lookup(const nats_key *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(t[i].name, name))
            return &t[i];
    return NULL;
}

static void default_warn(void *arg, const char *msg)
{
    (void)arg;
    tern_warnf("%s", msg);
}

static int unknown(ctx *c, const tern_conf_node *k, const tern_conf_node *v, const char *where)
{
    if (tern_nats_vars_used(c->vars, v))
        return 0;   /* a variable definition, as nats-server */
    if (where)
        return tern_conf_error(k, c->err, c->errlen, "unknown field \"%s\" in %s", k->value, where);
    return tern_conf_error(k, c->err, c->errlen, "unknown field \"%s\"", k->value);
}

static bool is_false(const tern_conf_node *v)
{
    return v->type == TERN_CONF_SCALAR && !v->quoted && !strcmp(v->value, "false");
}

static int unsupported(ctx *c, const tern_conf_node *k, const tern_conf_node *v, const char *path,
                       const nats_key *d)
{
    if (d->false_ok && is_false(v))
        return 0;
    char msg[TERN_CONF_ERR_MAX];
    snprintf(msg, sizeof msg, "%s:%d:%d: '%s' is not supported: %s", k->file, k->line, k->col,
             path, d->tern);
    if (!c->o.ignore_unsupported) {
        snprintf(c->err, c->errlen, "%s", msg);
        return -1;
    }
    char w[TERN_CONF_ERR_MAX + 64];
    snprintf(w, sizeof w, "%s (ignored: --ignore-unsupported)", msg);
    c->o.warn(c->o.warn_arg, w);
    return 0;
}

/* A key a module maps (K_MODULE): the module's subtree goes under
 * modules.<name>, so the loader loads it; without the module (or when
 * it does not claim the key) the key is unsupported, naming the module. */
static int map_module(ctx *c, tern_conf_node *out, const tern_conf_node *k,
                      const tern_conf_node *v, const nats_key *d)
{
    char why[TERN_CONF_ERR_MAX];
    tern_conf_node *sub = NULL;
    int rc = tern_nats_module_map(d->tern, d->name, k, v, &sub, why, sizeof why);
    if (rc < 0) {
        snprintf(c->err, c->errlen, "%s", why);
        return -1;
    }
    if (rc > 0) {
        nats_key u = *d;
        u.tern = why;
        return unsupported(c, k, v, d->name, &u);
    }
    tern_conf_node *wrap = tern_conf_new(TERN_CONF_MAP, k->file, k->line, k->col);
    tern_conf_map_set(wrap, d->tern, sub);
    tern_conf_merge(tern_conf_map_child(out, "modules"), wrap);
    return 0;
}

static bool is_integer_text(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static const char *describe(const tern_conf_node *v)
{
    if (v->type == TERN_CONF_MAP)
        return "a block";
    if (v->type == TERN_CONF_LIST)
        return "an array";
    if (v->quoted)
        return "a string";
    if (!strcmp(v->value, "true") || !strcmp(v->value, "false"))
        return "a boolean";
    return is_integer_text(v->value) ? "an integer" : "a number";
}

/* nats-server's type for the key; 0, or -1 naming the key and both types. */
static int check_type(ctx *c, const char *path, const tern_conf_node *v, vtype t)
{
    bool scalar = v->type == TERN_CONF_SCALAR;
    bool str = scalar && v->quoted;
    bool integer = scalar && !v->quoted && is_integer_text(v->value);
    bool boolean = scalar && !v->quoted && (!strcmp(v->value, "true") || !strcmp(v->value, "false"));
    const char *want = NULL;
    switch (t) {
    case V_ANY:
        return 0;
    case V_INT:
        want = integer ? NULL : "an integer";
        break;
    case V_STRING:
    case V_PATH:
        want = str ? NULL : "a string";
        break;
    case V_BOOL:
        want = boolean ? NULL : "a boolean";
        break;
    case V_DURATION:
        want = str || integer ? NULL : "a duration (\"10s\") or a number of seconds";
        break;
    case V_DURSTR:
        want = str ? NULL : "a duration string (\"30s\")";
        break;
    }
    if (!want)
        return 0;
    return tern_conf_error(v, c->err, c->errlen, "error parsing %s: expected %s, got %s", path, want,
                           describe(v));
}

/* A copy of v; a relative path is made absolute against the working
 * directory, where nats-server would open it. */
static tern_conf_node *value_copy(const tern_conf_node *v, vtype t)
{
    tern_conf_node *n = tern_conf_copy(v);
    if (t == V_PATH && n->value[0] && n->value[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (cwd) {
            char *abs = tern_xmalloc(strlen(cwd) + strlen(n->value) + 2);
            sprintf(abs, "%s/%s", cwd, n->value);
            free(n->value);
            n->value = abs;
            free(cwd);
        }
    }
    return n;
}

/* Set root[a][b]… = value along a dotted path (value is taken). */
static void set_path(tern_conf_node *root, const char *path, tern_conf_node *value)
{
    char *p = tern_xstrdup(path), *save = NULL;
    tern_conf_node *m = root;
    char *seg = strtok_r(p, ".", &save), *nextseg;
    while ((nextseg = strtok_r(NULL, ".", &save)) != NULL) {
        m = tern_conf_map_child(m, seg);
        seg = nextseg;
    }
    tern_conf_map_set(m, seg, value);
    free(p);
}

/* ---- tls ---------------------------------------------------------------- */

static int map_tls(ctx *c, tern_conf_node *out, const tern_conf_node *v)
{
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "error parsing tls: expected a block, got %s",
                               describe(v));
    tern_conf_node *tls = tern_conf_new(TERN_CONF_MAP, v->file, v->line, v->col);
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const nats_key *d = lookup(tls_keys, sizeof tls_keys / sizeof tls_keys[0], k->value);
        char path[128];
        snprintf(path, sizeof path, "tls.%s", k->value);
        int rc = 0;
        if (!d)
            rc = tern_conf_error(k, c->err, c->errlen,
                                 "error parsing tls config, unknown field [\"%s\"]", k->value);
        else if (d->kind == K_UNSUPPORTED)
            rc = unsupported(c, k, x, path, d);
        else if ((rc = check_type(c, path, x, d->type)) == 0)
            tern_conf_map_set(tls, d->tern, value_copy(x, d->type));
        if (rc < 0) {
            tern_conf_free(tls);
            return -1;
        }
    }
    set_path(out, "server.tls", tls);
    return 0;
}

/* ---- authorization ------------------------------------------------------ */

static int map_user(ctx *c, tern_conf_node *users, const tern_conf_node *u)
{
    if (u->type != TERN_CONF_MAP)
        return tern_conf_error(u, c->err, c->errlen, "Expected user entry to be a map/struct, got %s",
                               describe(u));
    tern_conf_node *e = tern_conf_new(TERN_CONF_MAP, u->file, u->line, u->col);
    for (size_t i = 0; i < u->n; i++) {
        const tern_conf_node *k = u->pairs[i].key, *x = u->pairs[i].value;
        const char *name = k->value, *to = NULL;
        vtype t = V_ANY;
        if (!strcasecmp(name, "nkey"))
            to = "nkey", t = V_STRING;
        else if (!strcasecmp(name, "user") || !strcasecmp(name, "username"))
            to = "user", t = V_STRING;
        else if (!strcasecmp(name, "pass") || !strcasecmp(name, "password"))
            to = "password", t = V_STRING;
        else if (!strcasecmp(name, "permission") || !strcasecmp(name, "permissions") ||
                 !strcasecmp(name, "authorization"))
            to = "permissions";        /* the kernel decides whether it has them */
        else if (!strcasecmp(name, "allowed_connection_types") ||
                 !strcasecmp(name, "connection_types") || !strcasecmp(name, "clients"))
            to = "allowed_connection_types";
        int rc = 0;
        if (!to) {
            rc = unknown(c, k, x, NULL);
        } else if ((rc = check_type(c, name, x, t)) == 0) {
            tern_conf_node *copy = value_copy(x, t);
            tern_conf_map_set(e, to, copy);
            /* the key keeps its own position, for errors about the key */
            tern_conf_pair *last = NULL;
            for (size_t j = 0; j < e->n; j++)
                if (!strcmp(e->pairs[j].key->value, to))
                    last = &e->pairs[j];
            if (last) {
                last->key->line = k->line;
                last->key->col = k->col;
            }
        }
        if (rc < 0) {
            tern_conf_free(e);
            return -1;
        }
    }
    tern_conf_node *items = users;
    if (items->n == items->cap) {
        items->cap = items->cap ? items->cap * 2 : 8;
        items->items = tern_xrealloc(items->items, items->cap * sizeof *items->items);
    }
    items->items[items->n++] = e;
    return 0;
}

static int map_authz(ctx *c, tern_conf_node *out, const tern_conf_node *v)
{
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen,
                               "error parsing authorization: expected a block, got %s", describe(v));
    tern_conf_node *a = tern_conf_new(TERN_CONF_MAP, v->file, v->line, v->col);
    const tern_conf_node *user = NULL, *pass = NULL, *token = NULL, *users = NULL;
    int rc = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const char *name = k->value;
        if (!strcasecmp(name, "user") || !strcasecmp(name, "username")) {
            if ((rc = check_type(c, "authorization.user", x, V_STRING)) == 0)
                user = x;
        } else if (!strcasecmp(name, "pass") || !strcasecmp(name, "password")) {
            if ((rc = check_type(c, "authorization.password", x, V_STRING)) == 0)
                pass = x;
        } else if (!strcasecmp(name, "token")) {
            if ((rc = check_type(c, "authorization.token", x, V_STRING)) == 0) {
                token = x;
                tern_conf_map_set(a, "token", tern_conf_copy(x));
            }
        } else if (!strcasecmp(name, "timeout")) {
            tern_conf_node *t = tern_conf_copy(x);
            if (x->type == TERN_CONF_SCALAR && x->quoted) {
                /* nats-server reads only numbers here; any string means 1 second */
                char w[TERN_CONF_ERR_MAX];
                snprintf(w, sizeof w, "%s:%d:%d: authorization.timeout \"%s\" is a string: nats-server "
                         "reads it as 1 second, and so does Tern; write a number of seconds",
                         x->file, x->line, x->col, x->value);
                c->o.warn(c->o.warn_arg, w);
                free(t->value);
                t->value = tern_xstrdup("1");
                t->quoted = false;
            }
            tern_conf_map_set(a, "timeout", t);
        } else if (!strcasecmp(name, "users")) {
            if (x->type != TERN_CONF_LIST) {
                rc = tern_conf_error(x, c->err, c->errlen, "Expected users field to be an array, got %s",
                                     describe(x));
                break;
            }
            users = x;
            tern_conf_node *list = tern_conf_new(TERN_CONF_LIST, x->file, x->line, x->col);
            for (size_t j = 0; j < x->n && rc == 0; j++)
                rc = map_user(c, list, x->items[j]);
            tern_conf_map_set(a, "users", list);
        } else if (!strcasecmp(name, "default_permission") || !strcasecmp(name, "default_permissions") ||
                   !strcasecmp(name, "permissions")) {
            tern_conf_map_set(a, "default_permissions", tern_conf_copy(x));
            a->pairs[a->n - 1].key->line = k->line;
            a->pairs[a->n - 1].key->col = k->col;
        } else {
            rc = unknown(c, k, x, "authorization");
        }
    }
    if (rc == 0 && (user || pass)) {
        if (token) {
            rc = tern_conf_error(v, c->err, c->errlen, "Cannot have a user/pass and token");
        } else if (users) {
            rc = tern_conf_error(v, c->err, c->errlen, "Can not have a single user/pass and a users array");
        } else {
            /* one user: the same as a users array of one */
            const tern_conf_node *at = user ? user : pass;
            tern_conf_node *list = tern_conf_new(TERN_CONF_LIST, v->file, v->line, v->col);
            tern_conf_node *e = tern_conf_new(TERN_CONF_MAP, at->file, at->line, at->col);
            tern_conf_map_set(e, "user", user ? tern_conf_copy(user)
                                              : tern_conf_new_scalar("", at->file, at->line, at->col));
            if (pass)
                tern_conf_map_set(e, "password", tern_conf_copy(pass));
            list->items = tern_xmalloc(sizeof *list->items);
            list->items[0] = e;
            list->n = list->cap = 1;
            tern_conf_map_set(a, "users", list);
        }
    }
    if (rc < 0) {
        tern_conf_free(a);
        return -1;
    }
    set_path(out, "authorization", a);
    return 0;
}

/* ---- accounts ----------------------------------------------------------- */

/* Keys of an account's blocks: nats-server name → Tern name. */
static const nats_key account_keys[] = {
    { "users", K_SET, "users", V_ANY, false },
    { "exports", K_SET, "exports", V_ANY, false },
    { "imports", K_SET, "imports", V_ANY, false },
    { "limits", K_SET, "limits", V_ANY, false },
    { "nkey", K_UNSUPPORTED, "account nkeys are not supported yet", V_ANY, false },
    { "default_permissions", K_SET, "default_permissions", V_ANY, false },
    { "jetstream", K_UNSUPPORTED, R_JS, V_ANY, true },
    { "mappings", K_SET, "mappings", V_ANY, false },
    { "maps", K_SET, "mappings", V_ANY, false },
};

static const nats_key export_keys[] = {
    { "stream", K_SET, "stream", V_STRING, false },
    { "service", K_SET, "service", V_STRING, false },
    { "accounts", K_SET, "accounts", V_ANY, false },
    { "response", K_SET, "response", V_STRING, false },
    { "response_type", K_SET, "response", V_STRING, false },
    { "threshold", K_SET, "response_threshold", V_DURSTR, false },
    { "response_threshold", K_SET, "response_threshold", V_DURSTR, false },
    { "response_max_time", K_SET, "response_threshold", V_DURSTR, false },
    { "response_time", K_SET, "response_threshold", V_DURSTR, false },
    { "latency", K_UNSUPPORTED, "service latency tracking is not supported yet", V_ANY, false },
    { "account_token_position", K_UNSUPPORTED, "account token positions are not supported yet", V_ANY, false },
};

static const nats_key import_keys[] = {
    { "stream", K_SET, "stream", V_ANY, false },
    { "service", K_SET, "service", V_ANY, false },
    { "prefix", K_SET, "prefix", V_STRING, false },
    { "to", K_SET, "to", V_STRING, false },
    { "share", K_UNSUPPORTED, "sharing the requester's information (Nats-Request-Info) is not supported yet", V_ANY, true },
};

static const nats_key limit_keys[] = {
    { "max_connections", K_SET, "max_connections", V_INT, false },
    { "max_conn", K_SET, "max_connections", V_INT, false },
    { "max_subscriptions", K_SET, "max_subscriptions", V_INT, false },
    { "max_subs", K_SET, "max_subscriptions", V_INT, false },
    { "max_payload", K_SET, "max_payload", V_INT, false },
    { "max_pay", K_SET, "max_payload", V_INT, false },
    { "max_leafnodes", K_UNSUPPORTED, R_LEAF, V_ANY, false },
    { "max_leafs", K_UNSUPPORTED, R_LEAF, V_ANY, false },
};

static char *join_path(const char *a, const char *b)
{
    char *p = tern_xmalloc(strlen(a) + strlen(b) + 2);
    sprintf(p, "%s.%s", a, b);
    return p;
}

/* A block whose keys come from table t (case-insensitive, renamed); what
 * is not in t is an unknown field of `where`. */
static int map_block(ctx *c, const nats_key *t, size_t n, const tern_conf_node *v, const char *where,
                     tern_conf_node **out)
{
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "error parsing %s: expected a block, got %s",
                               where, describe(v));
    tern_conf_node *m = tern_conf_new(TERN_CONF_MAP, v->file, v->line, v->col);
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const nats_key *d = lookup(t, n, k->value);
        char *path = join_path(where, k->value);
        int rc;
        if (!d)
            rc = unknown(c, k, x, where);
        else if (d->kind == K_UNSUPPORTED)
            rc = unsupported(c, k, x, path, d);
        else if ((rc = check_type(c, path, x, d->type)) == 0)
            tern_conf_map_set(m, d->tern, value_copy(x, d->type));
        free(path);
        if (rc < 0) {
            tern_conf_free(m);
            return -1;
        }
    }
    *out = m;
    return 0;
}

/* exports/imports: a list of blocks mapped with t. */
static int map_list(ctx *c, const nats_key *t, size_t n, const tern_conf_node *v, const char *where,
                    tern_conf_node **out)
{
    if (v->type != TERN_CONF_LIST)
        return tern_conf_error(v, c->err, c->errlen, "error parsing %s: expected an array, got %s",
                               where, describe(v));
    tern_conf_node *l = tern_conf_new(TERN_CONF_LIST, v->file, v->line, v->col);
    l->items = tern_xcalloc(v->n ? v->n : 1, sizeof *l->items);
    l->cap = v->n ? v->n : 1;
    for (size_t i = 0; i < v->n; i++) {
        tern_conf_node *e = NULL;
        if (map_block(c, t, n, v->items[i], where, &e) < 0) {
            tern_conf_free(l);
            return -1;
        }
        l->items[l->n++] = e;
    }
    *out = l;
    return 0;
}

static int map_account(ctx *c, const tern_conf_node *v, const char *name, tern_conf_node **out)
{
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "error parsing accounts.%s: expected a block, "
                               "got %s", name, describe(v));
    char *where = join_path("accounts", name);
    tern_conf_node *a = tern_conf_new(TERN_CONF_MAP, v->file, v->line, v->col);
    int rc = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const nats_key *d = lookup(account_keys, sizeof account_keys / sizeof *account_keys, k->value);
        char *path = join_path(where, k->value);
        tern_conf_node *m = NULL;
        if (!d) {
            rc = unknown(c, k, x, where);
        } else if (d->kind == K_UNSUPPORTED) {
            rc = unsupported(c, k, x, path, d);
        } else if (!strcmp(d->tern, "users") && x->type != TERN_CONF_LIST) {
            rc = tern_conf_error(x, c->err, c->errlen, "Expected users field to be an array, got %s",
                                 describe(x));
        } else if (!strcmp(d->tern, "users")) {
            m = tern_conf_new(TERN_CONF_LIST, x->file, x->line, x->col);
            for (size_t j = 0; j < x->n && rc == 0; j++)
                rc = map_user(c, m, x->items[j]);
        } else if (!strcmp(d->tern, "exports")) {
            rc = map_list(c, export_keys, sizeof export_keys / sizeof *export_keys, x, path, &m);
        } else if (!strcmp(d->tern, "imports")) {
            rc = map_list(c, import_keys, sizeof import_keys / sizeof *import_keys, x, path, &m);
        } else if (!strcmp(d->tern, "default_permissions") || !strcmp(d->tern, "mappings")) {
            m = tern_conf_copy(x);     /* the kernel reads them as they are */
        } else {
            rc = map_block(c, limit_keys, sizeof limit_keys / sizeof *limit_keys, x, path, &m);
        }
        if (m)
            tern_conf_map_set(a, d->tern, m);
        free(path);
    }
    free(where);
    if (rc < 0) {
        tern_conf_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

static int map_accounts(ctx *c, tern_conf_node *out, const tern_conf_node *v)
{
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "error parsing accounts: expected a block, got %s",
                               describe(v));
    tern_conf_node *accs = tern_conf_new(TERN_CONF_MAP, v->file, v->line, v->col);
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key;
        tern_conf_node *a = NULL;
        if (map_account(c, v->pairs[i].value, k->value, &a) < 0) {
            tern_conf_free(accs);
            return -1;
        }
        tern_conf_map_set(accs, k->value, a);
        /* the name keeps its position, for errors about the account */
        accs->pairs[accs->n - 1].key->line = k->line;
        accs->pairs[accs->n - 1].key->col = k->col;
    }
    set_path(out, "accounts", accs);
    return 0;
}

/* ---- top level ---------------------------------------------------------- */

tern_conf_node *tern_conf_nats_map(const tern_conf_node *nats, const tern_nats_vars *vars,
                                   const tern_nats_map_opts *o, char *err, size_t errlen)
{
    char scratch[TERN_CONF_ERR_MAX];
    ctx c = { .vars = vars, .err = err ? err : scratch, .errlen = err ? errlen : sizeof scratch };
    if (o)
        c.o = *o;
    if (!c.o.warn)
        c.o.warn = default_warn;
    if (!nats || nats->type != TERN_CONF_MAP) {
        snprintf(c.err, c.errlen, "the top level must be a block of keys");
        return NULL;
    }
    tern_conf_node *out = tern_conf_new(TERN_CONF_MAP, nats->file, nats->line, nats->col);
    for (size_t i = 0; i < nats->n; i++) {
        const tern_conf_node *k = nats->pairs[i].key, *v = nats->pairs[i].value;
        const nats_key *d = lookup(top_keys, sizeof top_keys / sizeof top_keys[0], k->value);
        int rc;
        if (!d)
            rc = unknown(&c, k, v, NULL);
        else if (d->kind == K_UNSUPPORTED)
            rc = unsupported(&c, k, v, d->name, d);
        else if (d->kind == K_MODULE)
            rc = map_module(&c, out, k, v, d);
        else if (d->kind == K_TLS)
            rc = map_tls(&c, out, v);
        else if (d->kind == K_AUTHZ)
            rc = map_authz(&c, out, v);
        else if (d->kind == K_ACCOUNTS)
            rc = map_accounts(&c, out, v);
        else if ((rc = check_type(&c, d->name, v, d->type)) == 0)
            set_path(out, d->tern, value_copy(v, d->type));
        if (rc < 0) {
            tern_conf_free(out);
            return NULL;
        }
    }
    return out;
}

tern_conf_node *tern_conf_load_nats(const char *path, const tern_nats_map_opts *o, char *err,
                                    size_t errlen)
{
    tern_nats_vars vars = { 0 };
    tern_conf_node *raw = tern_conf_load_nats_raw(path, &vars, err, errlen);
    tern_conf_node *out = raw ? tern_conf_nats_map(raw, &vars, o, err, errlen) : NULL;
    tern_conf_free(raw);
    tern_nats_vars_free(&vars);
    return out;
}
