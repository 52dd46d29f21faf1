/* The small documents (/healthz, /accountz, /accstatz, and /routez,
 * /gatewayz, /leafz as a server without those links answers), the query
 * parameter decoding shared by all documents, the dispatcher by name and
 * the text form. */
#include "docs_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "module.h"
#include "server.h"
#include "xalloc.h"

/* ---- server clock ---------------------------------------------------------- */

static _Atomic int64_t start_ns, config_load_ns;

void tern_docs_mark_start(void)
{
    int64_t now = tern_docs_now_ns();
    atomic_store(&start_ns, now);
    atomic_store(&config_load_ns, now);
}

void tern_docs_mark_config_load(void)
{
    atomic_store(&config_load_ns, tern_docs_now_ns());
}

int64_t tern_docs_start_ns(void)
{
    int64_t t = atomic_load(&start_ns);
    return t ? t : tern_docs_process_start_ns();
}

int64_t tern_docs_config_load_ns(void)
{
    int64_t t = atomic_load(&config_load_ns);
    return t ? t : tern_docs_start_ns();
}

/* ---- query parameters ------------------------------------------------------ */

const char *tern_docs_param(tern_docs_param_fn get, void *ud, const char *name)
{
    const char *v = get ? get(ud, name) : NULL;
    return v && *v ? v : NULL;
}

/* Go's %q of a parameter value, for the error texts. */
static void go_quote(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen < 3)
        return;
    out[o++] = '"';
    for (; *s && o + 6 < outlen; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (ch == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else if (ch == '\r') {
            out[o++] = '\\';
            out[o++] = 'r';
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

static int param_error(char *err, size_t errlen, const char *type, const char *name,
                       const char *func, const char *value, bool range)
{
    char q[256];
    go_quote(value, q, sizeof q);
    if (err && errlen)
        snprintf(err, errlen, "Error decoding %s for '%s': strconv.%s: parsing %s: %s", type,
                 name, func, q, range ? "value out of range" : "invalid syntax");
    return -1;
}

int tern_docs_param_bool(tern_docs_param_fn get, void *ud, const char *name, bool *out,
                         char *err, size_t errlen)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    const char *v = tern_docs_param(get, ud, name);
    if (!v)
        return 0;
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcmp(v, no[i])) {
            *out = false;
            return 0;
        }
    }
    return param_error(err, errlen, "boolean", name, "ParseBool", v, false);
}

/* Decimal digits with an optional sign (allowed or not); -1 on syntax,
 * -2 out of the 64-bit range. */
static int parse_dec(const char *v, bool sign_ok, bool *neg, uint64_t *mag)
{
    const char *p = v;
    *neg = false;
    if (sign_ok && (*p == '+' || *p == '-'))
        *neg = *p++ == '-';
    if (!*p)
        return -1;
    uint64_t m = 0;
    bool over = false;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (m > (UINT64_MAX - d) / 10)
            over = true;
        else
            m = m * 10 + d;
    }
    *mag = m;
    return over ? -2 : 0;
}

int tern_docs_param_int(tern_docs_param_fn get, void *ud, const char *name, int *out,
                        char *err, size_t errlen)
{
    const char *v = tern_docs_param(get, ud, name);
    if (!v)
        return 0;
    bool neg;
    uint64_t m;
    int rc = parse_dec(v, true, &neg, &m);
    if (rc == 0 && m > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        rc = -2;
    if (rc != 0)
        return param_error(err, errlen, "int", name, "Atoi", v, rc == -2);
    /* Go's int is 64 bits; beyond ours, the nearest bound means the same. */
    if (neg)
        *out = m > (uint64_t)INT_MAX + 1 ? INT_MIN : -(int)(m - 1) - 1;
    else
        *out = m > (uint64_t)INT_MAX ? INT_MAX : (int)m;
    return 0;
}

int tern_docs_param_u64(tern_docs_param_fn get, void *ud, const char *name, uint64_t *out,
                        char *err, size_t errlen)
{
    const char *v = tern_docs_param(get, ud, name);
    if (!v)
        return 0;
    bool neg;
    uint64_t m;
    int rc = parse_dec(v, false, &neg, &m);
    if (rc != 0)
        return param_error(err, errlen, "uint64", name, "ParseUint", v, rc == -2);
    *out = m;
    return 0;
}

/* ---- /healthz --------------------------------------------------------------- */

json_t *tern_docs_healthz(tern_server *s, tern_docs_param_fn get, void *ud, int *http_status,
                          char *err, size_t errlen)
{
    bool js_enabled = false, js_enabled_only = false, js_server_only = false;
    if (tern_docs_param_bool(get, ud, "js-enabled", &js_enabled, err, errlen) != 0 ||
        tern_docs_param_bool(get, ud, "js-enabled-only", &js_enabled_only, err, errlen) != 0 ||
        tern_docs_param_bool(get, ud, "js-server-only", &js_server_only, err, errlen) != 0) {
        *http_status = 400;
        return NULL;
    }
    json_t *h = json_object();
    /* Without JetStream the check is the client listener (nats-server's
     * readyForConnections); routes and the like are modules. */
    if (s->listen_fd >= 0) {
        json_object_set_new(h, "status", json_string("ok"));
        *http_status = 200;
    } else {
        json_object_set_new(h, "status", json_string("error"));
        json_object_set_new(h, "error",
                            json_string("failed to be ready for connections after 1ms: server"));
        *http_status = 503;
    }
    return h;
}

/* ---- accounts --------------------------------------------------------------- */

static tern_account *find_account(tern_server *s, const char *name, size_t *index)
{
    tern_account *const *accs;
    size_t n = tern_docs_accounts(s, &accs);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(accs[i]->name, name)) {
            *index = i;
            return accs[i];
        }
    }
    return NULL;
}

static size_t conns_in(const tern_docs_snapshot *snap, const char *acc)
{
    size_t n = 0;
    for (size_t i = 0; i < snap->n; i++)
        if (snap->conns[i].account && !strcmp(snap->conns[i].account, acc))
            n++;
    return n;
}

json_t *tern_docs_accountz(tern_server *s, const char *acc, char *err, size_t errlen)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "server_id", json_string(s->server_id));
    json_object_set_new(doc, "now", tern_docs_time(tern_docs_now_ns()));
    const char *sys = tern_docs_system_account(s);
    if (sys)
        json_object_set_new(doc, "system_account", json_string(sys));
    if (!acc || !*acc) {
        tern_account *const *accs;
        size_t n = tern_docs_accounts(s, &accs);
        json_t *names = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(names, json_string(accs[i]->name));
        json_object_set_new(doc, "accounts", names);
        return doc;
    }
    size_t index = 0;
    tern_account *a = find_account(s, acc, &index);
    if (!a) {
        json_decref(doc);
        if (err && errlen)
            snprintf(err, errlen, "Account %s does not exist", acc);
        return NULL;
    }
    tern_docs_snapshot snap;
    tern_docs_snapshot_take(s, TERN_DOCS_SNAP_CONNS, TERN_DOCS_WAIT_MS, &snap);
    tern_docs_slstats st = {0};
    tern_docs_slstats_add(&st, a, &snap, index);
    json_t *d = json_object();
    json_object_set_new(d, "account_name", json_string(a->name));
    /* Accounts are built with the server (and rebuilt by a reload). */
    json_object_set_new(d, "update_time", tern_docs_time(tern_docs_config_load_ns()));
    if (sys && !strcmp(sys, a->name))
        json_object_set_new(d, "is_system", json_true());
    json_object_set_new(d, "expired", json_false());
    json_object_set_new(d, "complete", json_true());
    json_object_set_new(d, "jetstream_enabled", json_false());
    json_object_set_new(d, "leafnode_connections", json_integer(0));
    json_object_set_new(d, "client_connections", json_integer((json_int_t)conns_in(&snap, a->name)));
    json_object_set_new(d, "subscriptions", json_integer((json_int_t)st.num_subs));
    json_t *sl = json_object();
    tern_docs_slstats_put(sl, &st);
    json_object_set_new(d, "sublist_stats", sl);
    json_object_set_new(doc, "account_detail", d);
    tern_docs_snapshot_free(&snap);
    return doc;
}

static json_t *data_stats(uint64_t msgs, uint64_t bytes)
{
    json_t *o = json_object();
    json_object_set_new(o, "msgs", json_integer((json_int_t)msgs));
    json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
    return o;
}

json_t *tern_docs_accstatz(tern_server *s, bool include_unused)
{
    tern_account *const *accs;
    size_t n = tern_docs_accounts(s, &accs);
    tern_docs_snapshot snap;
    tern_docs_snapshot_take(s, TERN_DOCS_SNAP_CONNS, TERN_DOCS_WAIT_MS, &snap);
    tern_docs_totals all = tern_docs_sum_workers(s);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        size_t conns = conns_in(&snap, accs[i]->name);
        if (!conns && !include_unused)
            continue;
        /* The account's own counters (account.h): published by its
         * clients ("received") and delivered to them ("sent"). */
        tern_docs_totals t = {0};
        tern_account_stats_sum(accs[i], &t.in_msgs, &t.in_bytes, &t.out_msgs, &t.out_bytes);
        if (n == 1)
            t.slow_consumers = all.slow_consumers;
        json_t *a = json_object();
        json_object_set_new(a, "acc", json_string(accs[i]->name));
        json_object_set_new(a, "conns", json_integer((json_int_t)conns));
        json_object_set_new(a, "leafnodes", json_integer(0));
        json_object_set_new(a, "total_conns", json_integer((json_int_t)conns));
        json_object_set_new(a, "sent", data_stats(t.out_msgs, t.out_bytes));
        json_object_set_new(a, "received", data_stats(t.in_msgs, t.in_bytes));
        json_object_set_new(a, "slow_consumers", json_integer((json_int_t)t.slow_consumers));
        json_array_append_new(list, a);
    }
    tern_docs_snapshot_free(&snap);
    json_t *doc = json_object();
    json_object_set_new(doc, "server_id", json_string(s->server_id));
    json_object_set_new(doc, "now", tern_docs_time(tern_docs_now_ns()));
    json_object_set_new(doc, "account_statz", list);
    return doc;
}

/* ---- links that are modules ------------------------------------------------- */

static json_t *head(tern_server *s)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "server_id", json_string(s->server_id));
    json_object_set_new(doc, "now", tern_docs_time(tern_docs_now_ns()));
    return doc;
}

json_t *tern_docs_routez(tern_server *s)
{
    json_t *doc = head(s);
    json_object_set_new(doc, "num_routes", json_integer(0));
    json_object_set_new(doc, "routes", json_array());
    return doc;
}

json_t *tern_docs_gatewayz(tern_server *s)
{
    json_t *doc = head(s);
    json_object_set_new(doc, "outbound_gateways", json_object());
    json_object_set_new(doc, "inbound_gateways", json_object());
    return doc;
}

json_t *tern_docs_leafz(tern_server *s)
{
    json_t *doc = head(s);
    json_object_set_new(doc, "leafnodes", json_integer(0));
    json_object_set_new(doc, "leafs", json_null());
    return doc;
}

/* ---- by name ------------------------------------------------------------------ */

/* routez, gatewayz, leafz: their query parameters are checked as
 * nats-server checks them (a bad value is a 400), then a link module that
 * provides the document answers, else the kernel's "feature off" one. */
static json_t *link_doc(tern_server *s, const char *name, tern_docs_param_fn get, void *ud,
                        char *err, size_t errlen)
{
    const char *param = !strcmp(name, "gatewayz") ? "accs" : "subs";
    const char *v = tern_docs_param(get, ud, param);
    bool ignored = false;
    /* routez also takes subs=detail, as connz does */
    bool detail = !strcmp(name, "routez") && v && !strcasecmp(v, "detail");
    if (!detail && tern_docs_param_bool(get, ud, param, &ignored, err, errlen) != 0)
        return NULL;
    char query[80];
    if (v)
        snprintf(query, sizeof query, "%s=%s", param, v);
    json_t *doc = tern_module_info_query(name, v ? query : NULL);
    if (doc)
        return doc;
    return !strcmp(name, "routez") ? tern_docs_routez(s)
           : !strcmp(name, "gatewayz") ? tern_docs_gatewayz(s)
                                       : tern_docs_leafz(s);
}

json_t *tern_docs_get(tern_server *s, const char *name, tern_docs_param_fn get, void *ud,
                      const tern_docs_http *http, int *http_status, char *err, size_t errlen)
{
    json_t *doc = NULL;
    *http_status = 200;
    if (err && errlen)
        err[0] = '\0';
    if (!strcmp(name, "varz")) {
        doc = tern_docs_varz(s, http);
    } else if (!strcmp(name, "connz")) {
        tern_docs_connz_opts o;
        if (tern_docs_connz_parse(get, ud, &o, err, errlen) == 0)
            doc = tern_docs_connz(s, &o, err, errlen);
    } else if (!strcmp(name, "subsz") || !strcmp(name, "subscriptionsz")) {
        tern_docs_subsz_opts o;
        if (tern_docs_subsz_parse(get, ud, &o, err, errlen) == 0)
            doc = tern_docs_subsz(s, &o, err, errlen);
    } else if (!strcmp(name, "healthz")) {
        return tern_docs_healthz(s, get, ud, http_status, err, errlen);
    } else if (!strcmp(name, "accountz")) {
        doc = tern_docs_accountz(s, tern_docs_param(get, ud, "acc"), err, errlen);
    } else if (!strcmp(name, "accstatz")) {
        bool unused = false;
        if (tern_docs_param_bool(get, ud, "unused", &unused, err, errlen) == 0)
            doc = tern_docs_accstatz(s, unused);
    } else if (!strcmp(name, "routez") || !strcmp(name, "gatewayz") || !strcmp(name, "leafz")) {
        doc = link_doc(s, name, get, ud, err, errlen);
    } else if (!strcmp(name, "statsz")) {
        doc = tern_docs_statsz(s, 0);
    } else {
        *http_status = 404;
        return NULL;
    }
    if (!doc)
        *http_status = 400;
    return doc;
}

char *tern_docs_dumps(const json_t *doc, bool pretty)
{
    size_t flags = (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_REAL_PRECISION(15);
    return json_dumps(doc, flags);
}
