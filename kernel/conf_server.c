/* The kernel's configuration sections: the top-level keys it knows and the
 * `server:` section mapped onto tern_opts, with nats-server's checks and
 * wording. A null value (`key:` or `key: ~`) means the default. */
#include "conf_server.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf_accounts.h"
#include "conf_auth.h"
#include "module.h"
#include "tls.h"
#include "units.h"

#define MAX_INT32 2147483647LL
#define MAX_WORKERS 1024

/* Nodes remembered for the checks that span keys. */
typedef struct apply_ctx {
    tern_opts *o;
    const tern_conf_node *max_payload, *max_pending;
    const tern_conf_node *ldm_duration, *ldm_grace;
    char *err;
    size_t errlen;
} apply_ctx;

typedef int (*key_fn)(apply_ctx *c, const char *key, const tern_conf_node *v);

/* Re-word a typed read's error as "file:line:column: error parsing KEY: why". */
static int reword(apply_ctx *c, const char *key, const tern_conf_node *v, const char *e)
{
    char prefix[TERN_CONF_ERR_MAX];
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", v->file, v->line, v->col);
    size_t pl = strlen(prefix);
    if (strncmp(e, prefix, pl) == 0)
        e += pl;
    return tern_conf_error(v, c->err, c->errlen, "error parsing %s: %s", key, e);
}

static int read_size(apply_ctx *c, const char *key, const tern_conf_node *v, int64_t *out)
{
    char e[TERN_CONF_ERR_MAX];
    if (tern_conf_size(v, out, e, sizeof e) < 0)
        return reword(c, key, v, e);
    if (*out < 0)
        return tern_conf_error(v, c->err, c->errlen, "%s value can not be negative", key);
    return 0;
}

static int read_int(apply_ctx *c, const char *key, const tern_conf_node *v, int64_t *out)
{
    char e[TERN_CONF_ERR_MAX];
    if (tern_conf_int(v, out, e, sizeof e) < 0)
        return reword(c, key, v, e);
    return 0;
}

static int read_duration(apply_ctx *c, const char *key, const tern_conf_node *v, int64_t *out)
{
    char e[TERN_CONF_ERR_MAX];
    if (tern_conf_duration_ms(v, out, e, sizeof e) < 0)
        return reword(c, key, v, e);
    return 0;
}

static int read_bool(apply_ctx *c, const char *key, const tern_conf_node *v, bool *out)
{
    char e[TERN_CONF_ERR_MAX];
    if (tern_conf_bool(v, out, e, sizeof e) < 0)
        return reword(c, key, v, e);
    return 0;
}

/* Replace *slot with v's text (empty text = unset); paths resolved
 * against the folder of v's file. */
static int read_text(apply_ctx *c, const char *key, const tern_conf_node *v, char **slot,
                     bool path, const char *dflt)
{
    char e[TERN_CONF_ERR_MAX], *s = NULL;
    if (v->type != TERN_CONF_NULL) {
        int r = path ? tern_conf_path(v, &s, e, sizeof e) : tern_conf_string(v, &s, e, sizeof e);
        if (r < 0)
            return reword(c, key, v, e);
        if (!*s) {
            free(s);
            s = NULL;
        }
    }
    if (!s && dflt)
        s = strdup(dflt);
    free(*slot);
    *slot = s;
    return 0;
}

static int check_port(apply_ctx *c, const tern_conf_node *v, int64_t port, int *out)
{
    if (port < -1 || port > 65535)
        return tern_conf_error(v, c->err, c->errlen,
                               "invalid port %lld: must be between 0 and 65535, or -1 for a random port",
                               (long long)port);
    *out = port == 0 ? TERN_DEFAULT_PORT : (int)port;   /* 0 = default, as nats-server */
    return 0;
}

/* ---- server keys ------------------------------------------------------ */

static int k_name(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return read_text(c, key, v, &c->o->name, false, NULL);
}

static int k_host(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return read_text(c, key, v, &c->o->host, false, TERN_DEFAULT_HOST);
}

static int k_port(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    int64_t port = 0;
    if (v->type != TERN_CONF_NULL && read_int(c, key, v, &port) < 0)
        return -1;
    return check_port(c, v, port, &c->o->port);
}

/* "host:port", "host", ":port", "[::1]:port", "[::1]", "::1" or a bare port. */
static int k_listen(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_SCALAR)
        return tern_conf_error(v, c->err, c->errlen, "expected port or host:port, got %s",
                               v->type == TERN_CONF_MAP ? "a mapping" : "a list");
    int64_t port;
    if (!v->quoted && tern_conf_int(v, &port, NULL, 0) == 0)
        return check_port(c, v, port, &c->o->port);

    const char *s = v->value, *host = s, *port_s = NULL;
    size_t hostlen;
    const char *colon = strchr(s, ':');
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (close[1] && close[1] != ':'))
            goto bad;
        host = s + 1;
        hostlen = (size_t)(close - host);
        if (close[1] == ':')
            port_s = close + 2;
    } else if (colon && strchr(colon + 1, ':')) {
        hostlen = strlen(s);     /* a bare IPv6 address */
    } else if (colon) {
        hostlen = (size_t)(colon - s);
        port_s = colon + 1;
    } else {
        hostlen = strlen(s);
    }
    (void)key;
    if (port_s) {
        char *end;
        if (!*port_s)
            return tern_conf_error(v, c->err, c->errlen, "could not parse port \"%s\"", port_s);
        long long p = strtoll(port_s, &end, 10);
        if (*end || *port_s == '+' || *port_s == ' ')
            return tern_conf_error(v, c->err, c->errlen, "could not parse port \"%s\"", port_s);
        if (check_port(c, v, p, &c->o->port) < 0)
            return -1;
    }
    if (hostlen) {
        char *h = strndup(host, hostlen);
        if (!h)
            abort();
        free(c->o->host);
        c->o->host = h;
    }
    return 0;
bad:
    return tern_conf_error(v, c->err, c->errlen, "could not parse address string \"%s\"", s);
}

static int k_workers(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    int64_t n = 0;
    if (v->type != TERN_CONF_NULL && read_int(c, key, v, &n) < 0)
        return -1;
    if (n < 0)
        return tern_conf_error(v, c->err, c->errlen, "%s value can not be negative", key);
    if (n > MAX_WORKERS)
        return tern_conf_error(v, c->err, c->errlen, "%s value is too big (at most %d)", key, MAX_WORKERS);
    c->o->workers = (int)n;
    return 0;
}

/* A size where 0 (or null) means the default, as in nats-server. */
static int size_or_default(apply_ctx *c, const char *key, const tern_conf_node *v, int64_t max,
                           int64_t dflt, int64_t *slot)
{
    int64_t n = 0;
    if (v->type != TERN_CONF_NULL && read_size(c, key, v, &n) < 0)
        return -1;
    if (n > max)
        return tern_conf_error(v, c->err, c->errlen, "%s value is too big", key);
    *slot = n ? n : dflt;
    return 0;
}

static int k_max_payload(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    c->max_payload = v->type == TERN_CONF_NULL ? NULL : v;
    return size_or_default(c, key, v, MAX_INT32, TERN_DEFAULT_MAX_PAYLOAD, &c->o->max_payload);
}

static int k_max_control_line(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return size_or_default(c, key, v, MAX_INT32, TERN_DEFAULT_MAX_CONTROL_LINE,
                           &c->o->max_control_line);
}

static int k_max_pending(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    c->max_pending = v->type == TERN_CONF_NULL ? NULL : v;
    return size_or_default(c, key, v, INT64_MAX, TERN_DEFAULT_MAX_PENDING, &c->o->max_pending);
}

static int k_max_connections(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return size_or_default(c, key, v, MAX_INT32, TERN_DEFAULT_MAX_CONNECTIONS,
                           &c->o->max_connections);
}

static int k_ping_max(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    int64_t n = 0;
    if (v->type != TERN_CONF_NULL && read_int(c, key, v, &n) < 0)
        return -1;
    if (n < 0)
        return tern_conf_error(v, c->err, c->errlen, "%s value can not be negative", key);
    if (n > MAX_INT32)
        return tern_conf_error(v, c->err, c->errlen, "%s value is too big", key);
    c->o->ping_max = n ? n : TERN_DEFAULT_PING_MAX;
    return 0;
}

/* A duration where 0 (or null) means the default, as in nats-server. */
static int duration_or_default(apply_ctx *c, const char *key, const tern_conf_node *v,
                               int64_t dflt, int64_t *slot)
{
    int64_t ms = 0;
    if (v->type != TERN_CONF_NULL && read_duration(c, key, v, &ms) < 0)
        return -1;
    if (ms < 0)
        return tern_conf_error(v, c->err, c->errlen, "%s value can not be negative", key);
    *slot = ms ? ms : dflt;
    return 0;
}

static int k_ping_interval(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return duration_or_default(c, key, v, TERN_DEFAULT_PING_INTERVAL_MS, &c->o->ping_interval_ms);
}

static int k_write_deadline(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return duration_or_default(c, key, v, TERN_DEFAULT_WRITE_DEADLINE_MS, &c->o->write_deadline_ms);
}

static int k_auth_timeout(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    if (duration_or_default(c, key, v, TERN_DEFAULT_AUTH_TIMEOUT_MS, &c->o->auth_timeout_ms) < 0)
        return -1;
    /* 0 and null mean the default, which depends on TLS (see validate) */
    int64_t ms = 0;
    c->o->auth_timeout_set = v->type != TERN_CONF_NULL && tern_conf_duration_ms(v, &ms, NULL, 0) == 0 && ms > 0;
    return 0;
}

static int k_lame_duck_duration(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    int64_t ms;
    if (v->type == TERN_CONF_NULL) {
        c->ldm_duration = NULL;
        c->o->lame_duck_duration_ms = TERN_DEFAULT_LDM_DURATION_MS;
        return 0;
    }
    if (read_duration(c, key, v, &ms) < 0)
        return -1;
    if (ms < 30 * 1000) {
        char d[64];
        tern_units_format_duration(ms, d, sizeof d);
        return tern_conf_error(v, c->err, c->errlen,
                               "invalid lame_duck_duration of %s, minimum is 30 seconds", d);
    }
    c->ldm_duration = v;
    c->o->lame_duck_duration_ms = ms;
    return 0;
}

static int k_lame_duck_grace_period(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    int64_t ms = 0;
    if (v->type != TERN_CONF_NULL && read_duration(c, key, v, &ms) < 0)
        return -1;
    if (ms < 0)
        return tern_conf_error(v, c->err, c->errlen, "invalid lame_duck_grace_period, needs to be positive");
    c->ldm_grace = v->type == TERN_CONF_NULL ? NULL : v;
    c->o->lame_duck_grace_ms = ms ? ms : TERN_DEFAULT_LDM_GRACE_MS;
    return 0;
}

static int k_disable_short_first_ping(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    c->o->disable_short_first_ping = false;
    return v->type == TERN_CONF_NULL ? 0 : read_bool(c, key, v, &c->o->disable_short_first_ping);
}

static int k_no_header_support(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    c->o->no_header_support = false;
    return v->type == TERN_CONF_NULL ? 0 : read_bool(c, key, v, &c->o->no_header_support);
}

static int k_pid_file(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return read_text(c, key, v, &c->o->pid_file, true, NULL);
}

static int k_ports_file_dir(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return read_text(c, key, v, &c->o->ports_file_dir, true, NULL);
}

static int k_modules_dir(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    return read_text(c, key, v, &c->o->modules_dir, true, NULL);
}

/* tls.ciphers: IANA/Go or OpenSSL names, sorted into the TLS 1.2 list
 * and the TLS 1.3 suites (OpenSSL keeps them apart). */
static int tls_ciphers(apply_ctx *c, const tern_conf_node *v, tern_tls_opts *t)
{
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_LIST)
        return tern_conf_error(v, c->err, c->errlen, "tls.ciphers must be a list of cipher names");
    if (v->n == 0)
        return tern_conf_error(v, c->err, c->errlen, "tls.ciphers cannot be empty");
    tern_buf l12 = {0}, l13 = {0};
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *x = v->items[i];
        char name[128];
        bool tls13;
        if (x->type != TERN_CONF_SCALAR || !tern_tls_cipher_name(x->value, name, sizeof name, &tls13)) {
            tern_buf_free(&l12);
            tern_buf_free(&l13);
            return tern_conf_error(x, c->err, c->errlen, "unrecognized cipher %s",
                                   x->type == TERN_CONF_SCALAR ? x->value : "(not a name)");
        }
        tern_buf *l = tls13 ? &l13 : &l12;
        if (l->len)
            tern_buf_append(l, ":", 1);
        tern_buf_append(l, name, strlen(name) + 1);
        l->len--;                 /* keep it NUL-terminated */
    }
    free(t->ciphers);
    free(t->ciphersuites);
    t->ciphers = l12.data;        /* NULL: the default TLS 1.2 list */
    t->ciphersuites = l13.data;
    return 0;
}

/* tls: { cert, key, ca, verify, timeout, ciphers, min_version }. A null
 * value turns TLS off; a mapping turns it on (so does any --tls* flag). */
static int k_tls(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    tern_tls_opts *t = &c->o->tls;
    (void)key;
    free(t->cert);
    free(t->key);
    free(t->ca);
    free(t->ciphers);
    free(t->ciphersuites);
    memset(t, 0, sizeof *t);
    t->timeout_ms = TERN_DEFAULT_TLS_TIMEOUT_MS;
    t->min_version = 12;
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "server.tls must be a mapping");
    t->enabled = true;
    static const char *const go_names[][2] = {
        { "cert_file", "cert" }, { "key_file", "key" }, { "ca_file", "ca" },
        { "cipher_suites", "ciphers" },
    };
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const char *name = k->value;
        int rc = 0;
        if (!strcmp(name, "cert")) {
            rc = read_text(c, "tls.cert", x, &t->cert, true, NULL);
        } else if (!strcmp(name, "key")) {
            rc = read_text(c, "tls.key", x, &t->key, true, NULL);
        } else if (!strcmp(name, "ca")) {
            rc = read_text(c, "tls.ca", x, &t->ca, true, NULL);
        } else if (!strcmp(name, "verify")) {
            t->verify = false;
            rc = x->type == TERN_CONF_NULL ? 0 : read_bool(c, "tls.verify", x, &t->verify);
        } else if (!strcmp(name, "timeout")) {
            rc = duration_or_default(c, "tls.timeout", x, TERN_DEFAULT_TLS_TIMEOUT_MS, &t->timeout_ms);
        } else if (!strcmp(name, "ciphers")) {
            rc = tls_ciphers(c, x, t);
        } else if (!strcmp(name, "min_version")) {
            if (x->type == TERN_CONF_NULL)
                t->min_version = 12;
            else if (x->type == TERN_CONF_SCALAR && !strcmp(x->value, "1.2"))
                t->min_version = 12;
            else if (x->type == TERN_CONF_SCALAR && !strcmp(x->value, "1.3"))
                t->min_version = 13;
            else
                rc = tern_conf_error(x, c->err, c->errlen, "tls.min_version must be \"1.2\" or \"1.3\"");
        } else if (!strcmp(name, "verify_and_map")) {
            bool map = false;
            rc = x->type == TERN_CONF_NULL ? 0 : read_bool(c, "tls.verify_and_map", x, &map);
            if (rc == 0 && map)
                rc = tern_conf_error(x, c->err, c->errlen,
                                     "tls.verify_and_map is not supported yet "
                                     "(client certificates cannot name users yet)");
        } else {
            for (size_t g = 0; g < sizeof go_names / sizeof go_names[0]; g++)
                if (!strcmp(name, go_names[g][0]))
                    return tern_conf_error(k, c->err, c->errlen,
                                           "unknown key '%s' in server.tls (Tern calls it '%s')",
                                           name, go_names[g][1]);
            return tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in server.tls", name);
        }
        if (rc < 0)
            return -1;
    }
    /* Load everything now, as nats-server does, so that -t and a reload
     * report a bad certificate instead of a server failing later. */
    char e[TERN_CONF_ERR_MAX];
    tern_tls_ctx *ctx = tern_tls_ctx_new(t, e, sizeof e);
    if (!ctx)
        return tern_conf_error(v, c->err, c->errlen, "%s", e);
    tern_tls_ctx_free(ctx);
    return 0;
}

/* log: { file, debug, trace, time, syslog } */
static int k_log(apply_ctx *c, const char *key, const tern_conf_node *v)
{
    tern_log_opts *l = &c->o->log;
    (void)key;
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, c->err, c->errlen, "server.log must be a mapping");
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const char *name = k->value;
        bool b;
        if (!strcmp(name, "file")) {
            if (read_text(c, "log.file", x, &l->file, true, NULL) < 0)
                return -1;
            continue;
        }
        bool *slot = !strcmp(name, "debug") ? &l->debug
                   : !strcmp(name, "trace") ? &l->trace
                   : !strcmp(name, "time") ? &l->time
                   : !strcmp(name, "syslog") ? &l->syslog : NULL;
        if (!slot)
            return tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in server.log", name);
        char full[64];
        snprintf(full, sizeof full, "log.%s", name);
        b = slot == &l->time;    /* null: the default */
        if (x->type != TERN_CONF_NULL && read_bool(c, full, x, &b) < 0)
            return -1;
        if (slot == &l->syslog && b)
            return tern_conf_error(x, c->err, c->errlen, "syslog logging is not supported");
        *slot = b;
    }
    return 0;
}

static const struct {
    const char *key;
    key_fn fn;
} server_keys[] = {
    { "name", k_name },
    { "listen", k_listen },
    { "host", k_host },
    { "port", k_port },
    { "workers", k_workers },
    { "max_payload", k_max_payload },
    { "max_control_line", k_max_control_line },
    { "max_connections", k_max_connections },
    { "max_pending", k_max_pending },
    { "ping_interval", k_ping_interval },
    { "ping_max", k_ping_max },
    { "write_deadline", k_write_deadline },
    { "auth_timeout", k_auth_timeout },
    { "lame_duck_duration", k_lame_duck_duration },
    { "lame_duck_grace_period", k_lame_duck_grace_period },
    { "disable_short_first_ping", k_disable_short_first_ping },
    { "no_header_support", k_no_header_support },
    { "log", k_log },
    { "pid_file", k_pid_file },
    { "ports_file_dir", k_ports_file_dir },
    { "modules_dir", k_modules_dir },
    { "tls", k_tls },
};

static key_fn find_key(const char *key)
{
    for (size_t i = 0; i < sizeof server_keys / sizeof server_keys[0]; i++)
        if (!strcmp(server_keys[i].key, key))
            return server_keys[i].fn;
    return NULL;
}

static int apply_server(apply_ctx *c, const tern_conf_node *server)
{
    if (server->type == TERN_CONF_NULL)
        return 0;
    if (server->type != TERN_CONF_MAP)
        return tern_conf_error(server, c->err, c->errlen, "server must be a mapping");
    for (size_t i = 0; i < server->n; i++) {
        const tern_conf_node *k = server->pairs[i].key;
        if (!find_key(k->value))
            return tern_conf_error(k, c->err, c->errlen, "unknown key '%s' in server", k->value);
    }
    /* listen first, so that host and port (the flags -a/-p among them)
     * override its parts whatever the order in the files */
    const tern_conf_node *listen = tern_conf_get(server, "listen");
    if (listen && k_listen(c, "listen", listen) < 0)
        return -1;
    for (size_t i = 0; i < server->n; i++) {
        const char *key = server->pairs[i].key->value;
        if (!strcmp(key, "listen"))
            continue;
        if (find_key(key)(c, key, server->pairs[i].value) < 0)
            return -1;
    }
    return 0;
}

/* nats-server's validateOptions, with the position of the key that set
 * the offending value when a file or flag set it. */
static int validate(apply_ctx *c)
{
    tern_opts *o = c->o;
    if (!o->auth_timeout_set)
        o->auth_timeout_ms = tern_opts_default_auth_timeout_ms(o);
    if (o->lame_duck_grace_ms >= o->lame_duck_duration_ms) {
        char g[64], d[64];
        tern_units_format_duration(o->lame_duck_grace_ms, g, sizeof g);
        tern_units_format_duration(o->lame_duck_duration_ms, d, sizeof d);
        return tern_conf_error(c->ldm_grace ? c->ldm_grace : c->ldm_duration, c->err, c->errlen,
                               "lame duck grace period (%s) should be strictly lower than "
                               "lame duck duration (%s)", g, d);
    }
    if (o->max_payload > o->max_pending)
        return tern_conf_error(c->max_payload ? c->max_payload : c->max_pending, c->err, c->errlen,
                               "max_payload (%lld) cannot be higher than max_pending (%lld)",
                               (long long)o->max_payload, (long long)o->max_pending);
    return 0;
}

int tern_conf_apply(const tern_conf_node *root, tern_opts *o, char *err, size_t errlen)
{
    apply_ctx c = { .o = o, .err = err, .errlen = errlen };
    if (!root)
        return validate(&c);
    if (root->type != TERN_CONF_MAP)
        return tern_conf_error(root, err, errlen, "the top level must be a mapping of keys");
    for (size_t i = 0; i < root->n; i++) {
        const tern_conf_node *k = root->pairs[i].key;
        if (strcmp(k->value, "server") != 0 && strcmp(k->value, "modules") != 0 &&
            !tern_conf_is_auth_key(k->value) && !tern_conf_is_accounts_key(k->value))
            return tern_conf_error(k, err, errlen, "unknown key '%s'", k->value);
    }
    const tern_conf_node *server = tern_conf_get(root, "server");
    if (server && apply_server(&c, server) < 0)
        return -1;
    if (tern_conf_apply_auth(root, o, err, errlen) < 0)
        return -1;
    /* The loader's keys are checked here; each module checks its own. */
    const tern_conf_node *mods = tern_conf_get(root, "modules");
    if (tern_modules_conf_check(mods, err, errlen) < 0)
        return -1;
    tern_conf_free(o->modules);
    o->modules = mods ? tern_conf_copy(mods) : NULL;
    return validate(&c);
}
