/* Command-line flags with Go's flag package semantics, as nats-server
 * 2.9.10 reads them (its ConfigureOptions), and --signal.
 *
 * Flags that configure the server become `server:` keys of an overlay
 * tree (file "<flags>", line = the flag's argv index) merged over the
 * files; nats-server flags for features Tern lacks fail with a message. */
#include "errf.h"
#include "cli.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#define FLAGS_FILE "<flags>"
#define PROCESS_NAME "ternd"

typedef enum flag_kind { F_BOOL, F_INT, F_STRING } flag_kind;

typedef enum flag_action {
    A_CONFIG, A_CHECK, A_VERSION, A_HELP, A_SIGNAL,
    A_HOST, A_PORT, A_NAME, A_PID, A_LOG, A_PORTS_DIR, A_WORKERS, A_MODULES_DIR,
    A_DEBUG, A_TRACE, A_DEBUG_TRACE, A_LOGTIME, A_IGNORE_UNSUPPORTED, A_CONVERT,
    A_TLS, A_TLS_VERIFY, A_TLS_CERT, A_TLS_KEY, A_TLS_CA,
    A_USER, A_PASS, A_AUTH,
    A_HTTP_PORT, A_HTTPS_PORT,
    A_CLUSTER, A_CLUSTER_NAME, A_ROUTES, A_NO_ADVERTISE, A_CLUSTER_ADVERTISE,
    A_CONNECT_RETRIES, A_CLIENT_ADVERTISE,
    A_REFUSE,
} flag_action;

#define R_JS      "JetStream is not supported by Tern"
#define R_SYSLOG  "syslog logging is not supported"

static const struct flag {
    const char *name;
    flag_kind kind;
    flag_action action;
    const char *refusal;
} flags[] = {
    /* server options */
    { "a", F_STRING, A_HOST, NULL },
    { "addr", F_STRING, A_HOST, NULL },
    { "net", F_STRING, A_HOST, NULL },
    { "p", F_INT, A_PORT, NULL },
    { "port", F_INT, A_PORT, NULL },
    { "n", F_STRING, A_NAME, NULL },
    { "name", F_STRING, A_NAME, NULL },
    { "server_name", F_STRING, A_NAME, NULL },
    { "P", F_STRING, A_PID, NULL },
    { "pid", F_STRING, A_PID, NULL },
    { "c", F_STRING, A_CONFIG, NULL },
    { "config", F_STRING, A_CONFIG, NULL },
    { "t", F_BOOL, A_CHECK, NULL },
    { "sl", F_STRING, A_SIGNAL, NULL },
    { "signal", F_STRING, A_SIGNAL, NULL },
    { "ports_file_dir", F_STRING, A_PORTS_DIR, NULL },
    /* Tern's own */
    { "workers", F_INT, A_WORKERS, NULL },
    { "modules_dir", F_STRING, A_MODULES_DIR, NULL },
    { "log_file", F_STRING, A_LOG, NULL },
    { "ignore-unsupported", F_BOOL, A_IGNORE_UNSUPPORTED, NULL },
    { "convert", F_STRING, A_CONVERT, NULL },
    /* logging */
    { "l", F_STRING, A_LOG, NULL },
    { "log", F_STRING, A_LOG, NULL },
    { "T", F_BOOL, A_LOGTIME, NULL },
    { "logtime", F_BOOL, A_LOGTIME, NULL },
    { "D", F_BOOL, A_DEBUG, NULL },
    { "debug", F_BOOL, A_DEBUG, NULL },
    { "V", F_BOOL, A_TRACE, NULL },
    { "trace", F_BOOL, A_TRACE, NULL },
    { "VV", F_BOOL, A_TRACE, NULL },          /* Tern has no separate system-account trace */
    { "DV", F_BOOL, A_DEBUG_TRACE, NULL },
    { "DVV", F_BOOL, A_DEBUG_TRACE, NULL },
    /* common */
    { "h", F_BOOL, A_HELP, NULL },
    { "help", F_BOOL, A_HELP, NULL },
    { "v", F_BOOL, A_VERSION, NULL },
    { "version", F_BOOL, A_VERSION, NULL },
    /* TLS: each becomes a server.tls key */
    { "tls", F_BOOL, A_TLS, NULL },
    { "tlsverify", F_BOOL, A_TLS_VERIFY, NULL },
    { "tlscert", F_STRING, A_TLS_CERT, NULL },
    { "tlskey", F_STRING, A_TLS_KEY, NULL },
    { "tlscacert", F_STRING, A_TLS_CA, NULL },
    /* authorization: the overlay's authorization.users / .token */
    { "user", F_STRING, A_USER, NULL },
    { "pass", F_STRING, A_PASS, NULL },
    { "auth", F_STRING, A_AUTH, NULL },
    /* monitoring: the monitor module's listeners (modules.monitor) */
    { "m", F_INT, A_HTTP_PORT, NULL },
    { "http_port", F_INT, A_HTTP_PORT, NULL },
    { "ms", F_INT, A_HTTPS_PORT, NULL },
    { "https_port", F_INT, A_HTTPS_PORT, NULL },
    /* clustering: the cluster module's keys (modules.cluster) */
    { "cluster", F_STRING, A_CLUSTER, NULL },
    { "cluster_listen", F_STRING, A_CLUSTER, NULL },
    { "cluster_name", F_STRING, A_CLUSTER_NAME, NULL },
    { "routes", F_STRING, A_ROUTES, NULL },
    { "no_advertise", F_BOOL, A_NO_ADVERTISE, NULL },
    { "cluster_advertise", F_STRING, A_CLUSTER_ADVERTISE, NULL },
    { "connect_retries", F_INT, A_CONNECT_RETRIES, NULL },
    { "client_advertise", F_STRING, A_CLIENT_ADVERTISE, NULL },
    /* refused: features Tern does not have (yet) */
    { "s", F_BOOL, A_REFUSE, R_SYSLOG },
    { "syslog", F_BOOL, A_REFUSE, R_SYSLOG },
    { "r", F_STRING, A_REFUSE, "remote " R_SYSLOG },
    { "remote_syslog", F_STRING, A_REFUSE, "remote " R_SYSLOG },
    { "log_size_limit", F_INT, A_REFUSE,
      "log size limits are not supported; rotate with logrotate and --signal reopen" },
    { "max_traced_msg_len", F_INT, A_REFUSE, "limiting traced message length is not supported yet" },
    { "profile", F_INT, A_REFUSE, "the Go profiling port does not exist in Tern" },
    { "js", F_BOOL, A_REFUSE, R_JS },
    { "jetstream", F_BOOL, A_REFUSE, R_JS },
    { "sd", F_STRING, A_REFUSE, R_JS },
    { "store_dir", F_STRING, A_REFUSE, R_JS },
    { "help_tls", F_BOOL, A_REFUSE, "the TLS cipher list help is not available; see docs/tls.md" },
};


static const struct flag *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len))
            return &flags[i];
    return NULL;
}

/* Go's strconv.ParseBool. */
static int go_bool(const char *s, bool *out)
{
    static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
    static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(s, t[i])) {
            *out = true;
            return 0;
        }
        if (!strcmp(s, f[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Go's strconv.ParseInt(s, 0, 64): sign, 0x/0o/0b/0 prefixes, single
 * underscores between digits (or after a prefix) as in Go literals.
 * Returns 0, -1 (syntax), -2 (range). */
static int go_int(const char *s, int64_t *out)
{
    bool neg = false;
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    unsigned base = 10;
    bool after_digit = false;   /* an underscore may follow */
    if (s[0] == '0' && s[1]) {
        char p = (char)tolower((unsigned char)s[1]);
        after_digit = true;
        if (p == 'x')
            base = 16, s += 2;
        else if (p == 'o')
            base = 8, s += 2;
        else if (p == 'b')
            base = 2, s += 2;
        else
            base = 8, s += 1;
    }
    if (!*s)
        return -1;
    uint64_t v = 0;
    bool overflow = false, any = false;
    for (; *s; s++) {
        if (*s == '_') {
            if (!after_digit)
                return -1;
            after_digit = false;
            continue;
        }
        unsigned d;
        char c = (char)tolower((unsigned char)*s);
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'z')
            d = (unsigned)(c - 'a' + 10);
        else
            return -1;
        if (d >= base)
            return -1;
        after_digit = true;
        any = true;
        if (v > (UINT64_MAX - d) / base)
            overflow = true;
        else
            v = v * base + d;
    }
    if (!any || !after_digit)
        return -1;
    if (overflow || v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return -2;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static tern_conf_node *server_map(tern_cli *cli)
{
    if (!cli->overlay)
        cli->overlay = tern_conf_new(TERN_CONF_MAP, FLAGS_FILE, 1, 1);
    return tern_conf_map_child(cli->overlay, "server");
}

static void set_scalar(tern_conf_node *map, const char *key, const char *value, bool quoted, int argi)
{
    tern_conf_node *n = tern_conf_new_scalar(value, FLAGS_FILE, argi, 1);
    n->quoted = quoted;
    tern_conf_map_set(map, key, n);
}

static void set_server(tern_cli *cli, const char *key, const char *value, bool quoted, int argi)
{
    set_scalar(server_map(cli), key, value, quoted, argi);
}

static void set_log(tern_cli *cli, const char *key, bool value, int argi)
{
    set_scalar(tern_conf_map_child(server_map(cli), "log"), key, value ? "true" : "false", false, argi);
}

/* The overlay's server.tls map. Any --tls* flag turns TLS on, except that
 * --tls=false turns it off whatever else is given (nats-server's rule):
 * then this returns NULL and the flag is ignored. */
static tern_conf_node *tls_map(tern_cli *cli, int argi)
{
    tern_conf_node *server = server_map(cli);
    tern_conf_node *cur = tern_conf_get(server, "tls");
    if (cur && cur->type == TERN_CONF_NULL)
        return NULL;
    if (cur && cur->type == TERN_CONF_MAP)
        return cur;
    cur = tern_conf_new(TERN_CONF_MAP, FLAGS_FILE, argi, 1);
    tern_conf_map_set(server, "tls", cur);
    return cur;
}

static void set_tls(tern_cli *cli, const char *key, const char *value, bool quoted, int argi)
{
    tern_conf_node *m = tls_map(cli, argi);
    if (m)
        set_scalar(m, key, value, quoted, argi);
}

/* --user/--pass are a single user (authorization.users: [{user, password}])
 * and --auth the token, as nats-server's flags; the flags' method replaces
 * the files' (the other one is set to null). */
static tern_conf_node *auth_map(tern_cli *cli)
{
    if (!cli->overlay)
        cli->overlay = tern_conf_new(TERN_CONF_MAP, FLAGS_FILE, 1, 1);
    return tern_conf_map_child(cli->overlay, "authorization");
}

static int set_flag_user(tern_cli *cli, const char *key, const char *value, int argi)
{
    tern_conf_node *authz = auth_map(cli);
    tern_conf_node *token = tern_conf_get(authz, "token");
    if (token && token->type == TERN_CONF_SCALAR)
        return -1;
    tern_conf_node *list = tern_conf_get(authz, "users");
    if (!list || list->type != TERN_CONF_LIST || list->n != 1) {
        list = tern_conf_new(TERN_CONF_LIST, FLAGS_FILE, argi, 1);
        list->items = malloc(sizeof *list->items);
        if (!list->items)
            abort();
        list->items[0] = tern_conf_new(TERN_CONF_MAP, FLAGS_FILE, argi, 1);
        list->n = list->cap = 1;
        tern_conf_map_set(authz, "users", list);
    }
    set_scalar(list->items[0], key, value, true, argi);
    tern_conf_map_set(authz, "token", tern_conf_new(TERN_CONF_NULL, FLAGS_FILE, argi, 1));
    return 0;
}

static int set_flag_token(tern_cli *cli, const char *value, int argi)
{
    tern_conf_node *authz = auth_map(cli);
    tern_conf_node *users = tern_conf_get(authz, "users");
    if (users && users->type == TERN_CONF_LIST)
        return -1;
    set_scalar(authz, "token", value, true, argi);
    tern_conf_map_set(authz, "users", tern_conf_new(TERN_CONF_NULL, FLAGS_FILE, argi, 1));
    return 0;
}

/* nats-server ignores --pass without --user (no authentication at all);
 * Tern refuses it rather than run open by mistake. */
static int check_auth_flags(tern_cli *cli, char *err, size_t errlen)
{
    tern_conf_node *authz = cli->overlay ? tern_conf_get(cli->overlay, "authorization") : NULL;
    tern_conf_node *users = tern_conf_get(authz, "users");
    bool have_users = users && users->type == TERN_CONF_LIST;
    if (have_users && !tern_conf_get(users->items[0], "user"))
        return tern_errf(err, errlen, "--pass: needs --user");
    return 0;
}

/* -m / -ms load the monitor module: modules.monitor.listen or
 * https_listen is the port alone, so the monitor binds the server's host
 * as nats-server's http_host defaults to its host. */
static void set_monitor(tern_cli *cli, const char *key, const char *port, int argi)
{
    if (!cli->overlay)
        cli->overlay = tern_conf_new(TERN_CONF_MAP, FLAGS_FILE, 1, 1);
    tern_conf_node *mods = tern_conf_map_child(cli->overlay, "modules");
    set_scalar(tern_conf_map_child(mods, "monitor"), key, port, false, argi);
}

/* nats-server's HTTPS monitor uses the client TLS certificate: with -ms,
 * the --tlscert/--tlskey/--tlscacert flags also become the monitor's. */
static void monitor_tls_from_flags(tern_cli *cli)
{
    tern_conf_node *mods = cli->overlay ? tern_conf_get(cli->overlay, "modules") : NULL;
    tern_conf_node *mon = tern_conf_get(mods, "monitor");
    tern_conf_node *server = cli->overlay ? tern_conf_get(cli->overlay, "server") : NULL;
    tern_conf_node *tls = tern_conf_get(server, "tls");
    if (!tern_conf_get(mon, "https_listen") || !tls || tls->type != TERN_CONF_MAP ||
        tern_conf_get(mon, "tls"))
        return;
    static const char *const keys[] = { "cert", "key", "ca" };
    tern_conf_node *mtls = tern_conf_map_child(mon, "tls");
    for (size_t i = 0; i < 3; i++) {
        tern_conf_node *v = tern_conf_get(tls, keys[i]);
        if (v && v->type == TERN_CONF_SCALAR)
            set_scalar(mtls, keys[i], v->value, true, v->line);
    }
}

/* --cluster, --routes … load the cluster module: modules.cluster keys. */
static tern_conf_node *cluster_map(tern_cli *cli)
{
    if (!cli->overlay)
        cli->overlay = tern_conf_new(TERN_CONF_MAP, FLAGS_FILE, 1, 1);
    return tern_conf_map_child(tern_conf_map_child(cli->overlay, "modules"), "cluster");
}

/* --cluster nats://[user:pass@]host:port as nats-server's overrideCluster:
 * the route listen address (port -1: any) and the route credentials. */
static int set_cluster_url(tern_cli *cli, const char *url, int argi, char *err, size_t errlen)
{
    tern_conf_node *cl = cluster_map(cli);
    if (!*url)
        return 0;
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    size_t n = strcspn(s, "/?#");
    const char *at = memrchr(s, '@', n);
    tern_conf_node *authz = tern_conf_map_child(cl, "authorization");
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (!colon)
            return tern_errf(err, errlen, "--cluster %s: expected cluster password to be set", url);
        char *user = strndup(s, (size_t)(colon - s));
        char *pass = strndup(colon + 1, (size_t)(at - colon - 1));
        if (!user || !pass)
            abort();
        set_scalar(authz, "user", user, true, argi);
        set_scalar(authz, "password", pass, true, argi);
        free(user);
        free(pass);
        n -= (size_t)(at + 1 - s);
        s = at + 1;
    } else {
        /* no credentials in the flag: none from the files either */
        tern_conf_map_set(authz, "user", tern_conf_new(TERN_CONF_NULL, FLAGS_FILE, argi, 1));
        tern_conf_map_set(authz, "password", tern_conf_new(TERN_CONF_NULL, FLAGS_FILE, argi, 1));
    }
    const char *colon = memrchr(s, ':', n);
    if (!colon || colon == s)
        return tern_errf(err, errlen, "--cluster %s: expected host:port", url);
    char hp[300];
    size_t hl = (size_t)(colon - s);
    const char *port = colon + 1;
    size_t pl = n - hl - 1;
    if (pl == 2 && !strncmp(port, "-1", 2))
        port = "0", pl = 1;
    snprintf(hp, sizeof hp, "%.*s:%.*s", (int)hl, s, (int)pl, port);
    set_scalar(cl, "listen", hp, true, argi);
    return 0;
}

/* --routes url,url: the seed routes (a list replaces the files'). */
static void set_routes(tern_cli *cli, const char *value, int argi)
{
    tern_conf_node *list = tern_conf_new(TERN_CONF_LIST, FLAGS_FILE, argi, 1);
    const char *s = value;
    while (*s) {
        size_t n = strcspn(s, ",");
        const char *b = s, *e = s + n;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (e > b) {
            char *u = strndup(b, (size_t)(e - b));
            tern_conf_node **items = realloc(list->items, (list->n + 1) * sizeof *items);
            if (!u || !items)
                abort();
            list->items = items;
            list->cap = list->n + 1;
            tern_conf_node *item = tern_conf_new_scalar(u, FLAGS_FILE, argi, 1);
            item->quoted = true;
            list->items[list->n++] = item;
            free(u);
        }
        s += n;
        if (*s == ',')
            s++;
    }
    tern_conf_map_set(cluster_map(cli), "routes", list);
}

static void replace(char **slot, const char *v)
{
    free(*slot);
    *slot = strdup(v);
    if (!*slot)
        abort();
}

/* Apply one parsed flag. `shown` is the flag as the user typed it. */
static int apply_flag(tern_cli *cli, const struct flag *f, const char *shown, const char *value,
                      bool bval, int64_t ival, int argi, char *err, size_t errlen)
{
    char num[32];
    switch (f->action) {
    case A_CONFIG:      replace(&cli->config, value); return 0;
    case A_SIGNAL:      replace(&cli->signal, value); return 0;
    case A_CHECK:       cli->check = bval; return 0;
    case A_VERSION:     cli->version = bval; return 0;
    case A_HELP:        cli->help = bval; return 0;
    case A_IGNORE_UNSUPPORTED: cli->ignore_unsupported = bval; return 0;
    case A_CONVERT:     replace(&cli->convert, value); return 0;
    case A_HOST:        set_server(cli, "host", value, true, argi); return 0;
    case A_NAME:        set_server(cli, "name", value, true, argi); return 0;
    case A_PID:         set_server(cli, "pid_file", value, true, argi); return 0;
    case A_PORTS_DIR:   set_server(cli, "ports_file_dir", value, true, argi); return 0;
    case A_MODULES_DIR: set_server(cli, "modules_dir", value, true, argi); return 0;
    case A_LOG:
        set_scalar(tern_conf_map_child(server_map(cli), "log"), "file", value, true, argi);
        return 0;
    case A_PORT:
        if (ival < -1 || ival > 65535)
            return tern_errf(err, errlen, "invalid value \"%s\" for flag -%s: port must be between 0 and 65535, "
                        "or -1 for a random port", value, f->name);
        snprintf(num, sizeof num, "%lld", (long long)ival);
        set_server(cli, "port", num, false, argi);
        return 0;
    case A_WORKERS:
        if (ival < 0)
            return tern_errf(err, errlen, "invalid value \"%s\" for flag -%s: can not be negative", value, f->name);
        snprintf(num, sizeof num, "%lld", (long long)ival);
        set_server(cli, "workers", num, false, argi);
        return 0;
    case A_DEBUG:       set_log(cli, "debug", bval, argi); return 0;
    case A_TRACE:       set_log(cli, "trace", bval, argi); return 0;
    case A_DEBUG_TRACE:
        set_log(cli, "debug", bval, argi);
        set_log(cli, "trace", bval, argi);
        return 0;
    case A_LOGTIME:     set_log(cli, "time", bval, argi); return 0;
    case A_TLS:
        if (bval)
            tls_map(cli, argi);
        else
            tern_conf_map_set(server_map(cli), "tls", tern_conf_new(TERN_CONF_NULL, FLAGS_FILE, argi, 1));
        return 0;
    case A_TLS_VERIFY:  set_tls(cli, "verify", bval ? "true" : "false", false, argi); return 0;
    case A_TLS_CERT:    set_tls(cli, "cert", value, true, argi); return 0;
    case A_TLS_KEY:     set_tls(cli, "key", value, true, argi); return 0;
    case A_TLS_CA:      set_tls(cli, "ca", value, true, argi); return 0;
    case A_USER:
    case A_PASS:
    case A_AUTH:
        if ((f->action == A_AUTH ? set_flag_token(cli, value, argi)
                                 : set_flag_user(cli, f->action == A_USER ? "user" : "password",
                                                 value, argi)) < 0)
            return tern_errf(err, errlen, "--user/--pass and --auth cannot be used together");
        return 0;
    case A_HTTP_PORT:
    case A_HTTPS_PORT:
        if (ival < -1 || ival > 65535)
            return tern_errf(err, errlen, "invalid value \"%s\" for flag -%s: port must be between 0 and 65535, "
                        "or -1 for a random port", value, f->name);
        snprintf(num, sizeof num, "%lld", (long long)ival);
        set_monitor(cli, f->action == A_HTTP_PORT ? "listen" : "https_listen", num, argi);
        return 0;
    case A_CLUSTER:
        return set_cluster_url(cli, value, argi, err, errlen);
    case A_CLUSTER_NAME:      set_scalar(cluster_map(cli), "name", value, true, argi); return 0;
    case A_CLUSTER_ADVERTISE: set_scalar(cluster_map(cli), "advertise", value, true, argi); return 0;
    case A_CLIENT_ADVERTISE:  set_scalar(cluster_map(cli), "client_advertise", value, true, argi); return 0;
    case A_ROUTES:            set_routes(cli, value, argi); return 0;
    case A_NO_ADVERTISE:
        set_scalar(cluster_map(cli), "no_advertise", bval ? "true" : "false", false, argi);
        return 0;
    case A_CONNECT_RETRIES:
        snprintf(num, sizeof num, "%lld", (long long)ival);
        set_scalar(cluster_map(cli), "connect_retries", num, false, argi);
        return 0;
    case A_REFUSE:
        /* -js=false and the like turn off what Tern lacks anyway */
        if (f->kind == F_BOOL && !bval)
            return 0;
        return tern_errf(err, errlen, "%s: %s", shown, f->refusal);
    }
    return 0;
}

static int parse_args(int argc, char **argv, tern_cli *cli, char *err, size_t errlen)
{
    int i = 1;
    while (i < argc) {
        const char *s = argv[i];
        if (strlen(s) < 2 || s[0] != '-')
            break;                           /* first non-flag argument */
        int dashes = 1;
        if (s[1] == '-') {
            dashes = 2;
            if (s[2] == '\0') {              /* "--" ends the flags */
                i++;
                break;
            }
        }
        const char *name = s + dashes;
        if (!*name || *name == '-' || *name == '=')
            return tern_errf(err, errlen, "bad flag syntax: %s", s);
        int argi = i++;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        const struct flag *f = find_flag(name, nlen);
        if (!f)
            return tern_errf(err, errlen, "flag provided but not defined: -%.*s", (int)nlen, name);
        char shown[64];
        snprintf(shown, sizeof shown, "%.*s", (int)(nlen + (size_t)dashes), s);

        bool bval = false;
        int64_t ival = 0;
        if (f->kind == F_BOOL) {
            bval = true;
            if (value && go_bool(value, &bval) < 0)
                return tern_errf(err, errlen, "invalid boolean value \"%s\" for -%s: parse error", value, f->name);
        } else {
            if (!value && f->action == A_REFUSE)
                return tern_errf(err, errlen, "%s: %s", shown, f->refusal);
            if (!value) {
                if (i >= argc)
                    return tern_errf(err, errlen, "flag needs an argument: -%s", f->name);
                value = argv[i++];           /* taken even when it starts with '-', as Go does */
            }
            if (f->kind == F_INT) {
                int r = go_int(value, &ival);
                if (r < 0 && f->action != A_REFUSE)
                    return tern_errf(err, errlen, "invalid value \"%s\" for flag -%s: %s", value, f->name,
                                r == -2 ? "value out of range" : "parse error");
            }
        }
        if (apply_flag(cli, f, shown, value, bval, ival, argi, err, errlen) < 0)
            return -1;
    }
    if (i < argc) {
        /* nats-server's ProcessCommandLineArgs: "version" and "help" commands */
        if (!strcasecmp(argv[i], "version"))
            cli->version = true;
        else if (!strcasecmp(argv[i], "help"))
            cli->help = true;
        else
            return tern_errf(err, errlen, "unrecognized command: \"%s\"", argv[i]);
    }
    if (check_auth_flags(cli, err, errlen) < 0)
        return -1;
    monitor_tls_from_flags(cli);
    if (cli->check && !cli->config && !cli->help && !cli->version)
        return tern_errf(err, errlen, "must specify [-c, --config] option to check configuration file syntax");
    return 0;
}

int tern_cli_parse(int argc, char **argv, tern_cli *cli, char *err, size_t errlen)
{
    memset(cli, 0, sizeof *cli);
    if (parse_args(argc, argv, cli, err, errlen) < 0) {
        tern_cli_free(cli);
        return -1;
    }
    if (!cli->overlay)
        cli->overlay = tern_conf_new(TERN_CONF_MAP, FLAGS_FILE, 1, 1);
    return 0;
}

void tern_cli_free(tern_cli *cli)
{
    free(cli->config);
    free(cli->convert);
    free(cli->signal);
    tern_conf_free(cli->overlay);
    memset(cli, 0, sizeof *cli);
}

const char *tern_cli_usage(void)
{
    return
        "\n"
        "Usage: ternd [options]\n"
        "\n"
        "Server Options:\n"
        "    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)\n"
        "    -p, --port <port>                Use port for clients (default: 4222, -1: random)\n"
        "    -n, --name\n"
        "        --server_name <server_name>  Server name (default: auto)\n"
        "    -P, --pid <file>                 File to store PID\n"
        "    -c, --config <file|dir>          Configuration: a conf.d directory, a .yaml file or a nats-server .conf file\n"
        "        --ignore-unsupported         nats-server .conf keys Tern lacks are warnings, not errors\n"
        "        --convert FILE               Print a nats-server .conf file as conf.d YAML and exit\n"
        "    -t                               Test configuration and exit\n"
        "    -sl,--signal <signal>[=<pid>]    Send signal to ternd process (ldm, stop, quit, term, reopen, reload)\n"
        "                                     <pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/ternd.pid)\n"
        "        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).\n"
        "        --workers <n>                Number of I/O worker threads (default: number of CPUs)\n"
        "        --modules_dir <dir>          Directory to load modules from\n"
        "\n"
        "Monitoring Options:\n"
        "    -m, --http_port <port>           Use port for http monitoring (loads the monitor module)\n"
        "    -ms,--https_port <port>          Use port for https monitoring (TLS from --tlscert/--tlskey)\n"
        "\n"
        "Cluster Options (load the cluster module):\n"
        "        --routes <rurl-1, rurl-2>    Routes to solicit and connect\n"
        "        --cluster <cluster-url>      Cluster URL for solicited routes\n"
        "        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated\n"
        "        --no_advertise <bool>        Do not advertise known cluster information to clients\n"
        "        --cluster_advertise <string> Cluster URL to advertise to other servers\n"
        "        --connect_retries <number>   For implicit routes, number of connect retries\n"
        "        --client_advertise <string>  Client URL to advertise to other servers\n"
        "\n"
        "Logging Options:\n"
        "    -l, --log <file>                 File to redirect log output\n"
        "    -T, --logtime                    Timestamp log entries (default: true)\n"
        "    -D, --debug                      Enable debugging output\n"
        "    -V, --trace                      Trace the raw protocol\n"
        "    -VV                              Verbose trace (same as -V in Tern)\n"
        "    -DV                              Debug and trace\n"
        "    -DVV                             Debug and verbose trace (same as -DV in Tern)\n"
        "\n"
        "Authorization Options:\n"
        "        --user <user>                User required for connections\n"
        "        --pass <password>            Password required for connections\n"
        "        --auth <token>               Authorization token required for connections\n"
        "\n"
        "TLS Options:\n"
        "        --tls                        Enable TLS, do not verify clients (default: false)\n"
        "        --tlscert <file>             Server certificate file\n"
        "        --tlskey <file>              Private key for server certificate\n"
        "        --tlsverify                  Enable TLS, verify client certificates\n"
        "        --tlscacert <file>           Client certificate CA for verification\n"
        "\n"
        "Common Options:\n"
        "    -h, --help                       Show this message\n"
        "    -v, --version                    Show version\n"
        "\n"
        "Other nats-server flags (JetStream,\n"
        "syslog, profiling) are refused with a message saying why; see docs/cli.md.\n";
}

/* ---- --signal --------------------------------------------------------- */

static const struct {
    const char *name;
    int sig;
} signal_commands[] = {
    { "stop", SIGKILL },
    { "quit", SIGINT },
    { "term", SIGTERM },
    { "reopen", SIGUSR1 },
    { "ldm", SIGUSR2 },
    { "reload", SIGHUP },
};

/* Go-style lower-case error text ("no such process"). */
static const char *os_error(int e, char *buf, size_t len)
{
    snprintf(buf, len, "%s", strerror(e));
    if (buf[0])
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

/* The contents of a pid file, trimmed, or NULL with errno set. */
static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[64];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = buf;
    while (isspace((unsigned char)*s))
        s++;
    size_t l = strlen(s);
    while (l && isspace((unsigned char)s[l - 1]))
        s[--l] = '\0';
    return strdup(s);
}

static int parse_pid(const char *s, pid_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v <= 0 || v > INT32_MAX)
        return -1;
    *out = (pid_t)v;
    return 0;
}

/* The running processes named PROCESS_NAME, this one excluded. */
static int find_pids(pid_t *pids, int max, int *count)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *e;
    pid_t self = getpid();
    *count = 0;
    while ((e = readdir(d))) {
        pid_t pid;
        if (parse_pid(e->d_name, &pid) < 0 || pid == self)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
        char *comm = read_small_file(path);
        if (!comm)
            continue;    /* gone meanwhile */
        if (!strcmp(comm, PROCESS_NAME)) {
            if (*count < max)
                pids[*count] = pid;
            (*count)++;
        }
        free(comm);
    }
    closedir(d);
    return 0;
}

int tern_cli_signal(const char *spec, const char *pid_file, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    size_t clen = eq ? (size_t)(eq - spec) : strlen(spec);
    if (eq && strchr(eq + 1, '=')) {
        /* nats-server prints the surplus parts as a Go slice */
        char extra[256];
        size_t o = 0;
        for (const char *p = strchr(eq + 1, '=') + 1; *p && o < sizeof extra - 1; p++)
            extra[o++] = *p == '=' ? ' ' : *p;
        extra[o] = '\0';
        return tern_errf(err, errlen, "invalid signal parameters: [%s]", extra);
    }
    int sig = 0;
    for (size_t i = 0; i < sizeof signal_commands / sizeof signal_commands[0]; i++)
        if (strlen(signal_commands[i].name) == clen && !strncmp(signal_commands[i].name, spec, clen))
            sig = signal_commands[i].sig;
    if (!sig)
        return tern_errf(err, errlen, "unknown signal \"%.*s\"", (int)clen, spec);

    pid_t pid;
    char ebuf[128];
    if (eq) {
        /* "=PID" or "=PIDFILE": a readable file wins, as nats-server's maybeReadPidFile */
        char *content = read_small_file(eq + 1);
        const char *p = content ? content : eq + 1;
        int r = parse_pid(p, &pid);
        if (r < 0)
            tern_errf(err, errlen, "invalid pid: %s", p);
        free(content);
        if (r < 0)
            return -1;
    } else if (pid_file && *pid_file) {
        char *content = read_small_file(pid_file);
        if (!content)
            return tern_errf(err, errlen, "could not read pid file %s: %s", pid_file,
                        os_error(errno, ebuf, sizeof ebuf));
        int r = parse_pid(content, &pid);
        if (r < 0)
            tern_errf(err, errlen, "invalid pid: %s", content);
        free(content);
        if (r < 0)
            return -1;
    } else {
        pid_t pids[16];
        int n;
        if (find_pids(pids, 16, &n) < 0)
            return tern_errf(err, errlen, "unable to resolve pid, try providing one");
        if (n == 0)
            return tern_errf(err, errlen, "no %s processes running", PROCESS_NAME);
        if (n > 1) {
            int off = snprintf(err, errlen, "multiple %s processes running:", PROCESS_NAME);
            for (int i = 0; i < n && i < 16 && off > 0 && (size_t)off < errlen; i++)
                off += snprintf(err + off, errlen - (size_t)off, "\n%d", (int)pids[i]);
            return -1;
        }
        pid = pids[0];
    }
    if (kill(pid, sig) < 0)
        return tern_errf(err, errlen, "%s", os_error(errno, ebuf, sizeof ebuf));
    return 0;
}
