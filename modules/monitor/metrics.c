/* /metrics: the Prometheus text exposition (format 0.0.4) built from the
 * same documents the JSON endpoints serve: /varz for the server, /accstatz
 * for accounts, /connz, /routez, /gatewayz and /leafz for the connection
 * kinds and the client histograms. Names follow Prometheus' conventions
 * (base units, counters end in _total) so `promtool check metrics` finds
 * nothing to say; docs/monitoring.md lists them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor.h"

#define NS "tern_"

typedef struct out {
    char  *s;
    size_t len, cap;
    bool   oom;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *s = realloc(o->s, cap);
        if (!s) {
            o->oom = true;
            return;
        }
        o->s = s;
        o->cap = cap;
    }
}

/* A label value with \, " and newline escaped. */
static void put_label(out *o, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\')
            put(o, "\\\\");
        else if (*v == '"')
            put(o, "\\\"");
        else if (*v == '\n')
            put(o, "\\n");
        else
            put(o, "%c", *v);
    }
}

static void family(out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP " NS "%s %s\n# TYPE " NS "%s %s\n", name, help, name, type);
}

static double num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : 0;
}

static double field(const json_t *doc, const char *key)
{
    return num(json_object_get(doc, key));
}

static void sample(out *o, const char *name, double v)
{
    put(o, NS "%s %.17g\n", name, v);
}

/* A family of one unlabelled sample. */
static void scalar(out *o, const char *name, const char *type, const char *help, double v)
{
    family(o, name, type, help);
    sample(o, name, v);
}

/* RFC 3339 UTC with optional fraction → Unix seconds; 0 when unreadable. */
static double unix_time(const char *s)
{
    struct tm tm = {0};
    int n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    double frac = 0;
    if (s[n] == '.')
        frac = strtod(s + n, NULL);
    return (double)timegm(&tm) + frac;
}

/* A Go duration string ("1.5ms", "830µs", "2m3s") → seconds; -1 when
 * unreadable. */
static double go_duration(const char *s)
{
    static const struct {
        const char *unit;
        double      secs;
    } units[] = { { "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 }, { "\xce\xbcs", 1e-6 },
                  { "ms", 1e-3 }, { "s", 1 },     { "m", 60 },            { "h", 3600 } };
    if (!s || !*s)
        return -1;
    if (!strcmp(s, "0") || !strcmp(s, "0s"))
        return 0;
    double total = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return -1;
        s = end;
        size_t best = 0;
        double mult = -1;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].unit);
            if (l > best && !strncmp(s, units[i].unit, l)) {
                best = l;
                mult = units[i].secs;
            }
        }
        if (mult < 0)
            return -1;
        total += v * mult;
        s += best;
    }
    return total;
}

/* ---- server -------------------------------------------------------------------- */

static void server_metrics(out *o, const json_t *v)
{
    family(o, "info", "gauge", "Server identity; the value is always 1.");
    put(o, NS "info{server_id=\"");
    put_label(o, json_string_value(json_object_get(v, "server_id")));
    put(o, "\",server_name=\"");
    put_label(o, json_string_value(json_object_get(v, "server_name")));
    put(o, "\",version=\"");
    put_label(o, json_string_value(json_object_get(v, "version")));
    put(o, "\"} 1\n");
    double start = unix_time(json_string_value(json_object_get(v, "start")));
    double now = unix_time(json_string_value(json_object_get(v, "now")));
    scalar(o, "start_time_seconds", "gauge", "When the server started, in Unix seconds.", start);
    scalar(o, "uptime_seconds", "gauge", "Seconds since the server started.",
           now > start ? now - start : 0);
    scalar(o, "config_load_time_seconds", "gauge",
           "When the configuration was last loaded, in Unix seconds.",
           unix_time(json_string_value(json_object_get(v, "config_load_time"))));
    scalar(o, "in_msgs_total", "counter", "Messages received from connections.",
           field(v, "in_msgs"));
    scalar(o, "out_msgs_total", "counter", "Messages sent to connections.", field(v, "out_msgs"));
    scalar(o, "in_bytes_total", "counter", "Payload bytes received from connections.",
           field(v, "in_bytes"));
    scalar(o, "out_bytes_total", "counter", "Payload bytes sent to connections.",
           field(v, "out_bytes"));
    scalar(o, "connections", "gauge", "Open client connections.", field(v, "connections"));
    scalar(o, "connections_total", "counter", "Client connections accepted since start.",
           field(v, "total_connections"));
    scalar(o, "subscriptions", "gauge", "Subscriptions in every account's sublist.",
           field(v, "subscriptions"));
    scalar(o, "slow_consumers_total", "counter", "Connections closed or dropped as slow consumers.",
           field(v, "slow_consumers"));
    scalar(o, "routes", "gauge", "Open route connections.", field(v, "routes"));
    scalar(o, "remotes", "gauge", "Remote servers of the cluster.", field(v, "remotes"));
    scalar(o, "leafnodes", "gauge", "Open leaf node connections.", field(v, "leafnodes"));
    scalar(o, "resident_memory_bytes", "gauge", "Resident set size of the process.",
           field(v, "mem"));
    scalar(o, "cpu_usage_ratio", "gauge",
           "Recent CPU use of the process, 1 being one core fully busy.", field(v, "cpu") / 100);
    scalar(o, "cores", "gauge", "CPU cores of the machine.", field(v, "cores"));
    scalar(o, "workers", "gauge", "I/O worker threads.", field(v, "gomaxprocs"));
    scalar(o, "max_connections", "gauge", "Configured maximum of client connections.",
           field(v, "max_connections"));
    scalar(o, "max_payload_bytes", "gauge", "Configured maximum message payload.",
           field(v, "max_payload"));
    const json_t *stats = json_object_get(v, "http_req_stats");
    family(o, "http_requests_total", "counter", "Monitoring HTTP requests by path.");
    const char *path;
    const json_t *n;
    json_object_foreach((json_t *)stats, path, n) {
        put(o, NS "http_requests_total{path=\"");
        put_label(o, path);
        put(o, "\"} %.17g\n", num(n));
    }
}

/* ---- accounts ------------------------------------------------------------------ */

static void account_family(out *o, const json_t *list, const char *name, const char *type,
                           const char *help, const char *key, const char *sub)
{
    family(o, name, type, help);
    size_t i;
    const json_t *a;
    json_array_foreach((json_t *)list, i, a) {
        const json_t *v = json_object_get(a, key);
        if (sub)
            v = json_object_get(v, sub);
        put(o, NS "%s{account=\"", name);
        put_label(o, json_string_value(json_object_get(a, "acc")));
        put(o, "\"} %.17g\n", num(v));
    }
}

static void account_metrics(out *o, const json_t *accstatz)
{
    const json_t *l = json_object_get(accstatz, "account_statz");
    account_family(o, l, "account_connections", "gauge", "Open client connections of the account.",
                   "conns", NULL);
    account_family(o, l, "account_leafnodes", "gauge", "Open leaf node connections of the account.",
                   "leafnodes", NULL);
    account_family(o, l, "account_sent_msgs_total", "counter",
                   "Messages sent to the account's connections.", "sent", "msgs");
    account_family(o, l, "account_sent_bytes_total", "counter",
                   "Payload bytes sent to the account's connections.", "sent", "bytes");
    account_family(o, l, "account_received_msgs_total", "counter",
                   "Messages received from the account's connections.", "received", "msgs");
    account_family(o, l, "account_received_bytes_total", "counter",
                   "Payload bytes received from the account's connections.", "received", "bytes");
    account_family(o, l, "account_slow_consumers_total", "counter",
                   "Slow consumers among the account's connections.", "slow_consumers", NULL);
}

/* ---- connection kinds and client histograms ---------------------------------------- */

typedef struct kind_stat {
    const char *kind;
    double      conns, pending, subs;
} kind_stat;

static void sum_list(kind_stat *k, const json_t *list, const char *pending_key)
{
    size_t i;
    const json_t *c;
    json_array_foreach((json_t *)list, i, c) {
        k->conns += 1;
        k->pending += field(c, pending_key);
        k->subs += field(c, "subscriptions");
    }
}

/* Gateway connections are maps of name → RemoteGatewayz (inbound: a list
 * of them); each carries its ConnInfo as "connection". */
static void sum_gateways(kind_stat *k, const json_t *gw)
{
    const char *name;
    const json_t *v;
    json_object_foreach(json_object_get((json_t *)gw, "outbound_gateways"), name, v) {
        const json_t *c = json_object_get(v, "connection");
        k->conns += 1;
        k->pending += field(c, "pending_bytes");
        k->subs += field(c, "subscriptions");
    }
    json_object_foreach(json_object_get((json_t *)gw, "inbound_gateways"), name, v) {
        size_t i;
        const json_t *r;
        json_array_foreach((json_t *)v, i, r) {
            const json_t *c = json_object_get(r, "connection");
            k->conns += 1;
            k->pending += field(c, "pending_bytes");
            k->subs += field(c, "subscriptions");
        }
    }
}

typedef struct histogram {
    const char   *name, *help;
    const double *bounds;
    size_t        nbounds;
    uint64_t      counts[16];   /* cumulative per bound, then +Inf */
    double        sum;
    uint64_t      count;
} histogram;

static void observe(histogram *h, double v)
{
    for (size_t i = 0; i < h->nbounds; i++)
        if (v <= h->bounds[i])
            h->counts[i]++;
    h->sum += v;
    h->count++;
}

static void put_histogram(out *o, const histogram *h)
{
    family(o, h->name, "histogram", h->help);
    for (size_t i = 0; i < h->nbounds; i++)
        put(o, NS "%s_bucket{le=\"%.10g\"} %llu\n", h->name, h->bounds[i],
            (unsigned long long)h->counts[i]);
    put(o, NS "%s_bucket{le=\"+Inf\"} %llu\n", h->name, (unsigned long long)h->count);
    put(o, NS "%s_sum %.17g\n", h->name, h->sum);
    put(o, NS "%s_count %llu\n", h->name, (unsigned long long)h->count);
}

static void kind_metrics(out *o, monitor *mon, const json_t *connz)
{
    static const char *const names[] = { "routez", "gatewayz", "leafz" };
    json_t *docs[3] = {0};
    for (size_t i = 0; i < 3; i++) {
        int status;
        char *err;
        docs[i] = mon_document(mon, names[i], NULL, &status, &err);
        free(err);
    }
    kind_stat k[4] = { { .kind = "client" }, { .kind = "route" }, { .kind = "gateway" },
                       { .kind = "leafnode" } };
    sum_list(&k[0], json_object_get(connz, "connections"), "pending_bytes");
    sum_list(&k[1], json_object_get(docs[0], "routes"), "pending_size");
    sum_gateways(&k[2], docs[1]);
    sum_list(&k[3], json_object_get(docs[2], "leafs"), "pending_bytes");
    struct {
        const char *name, *help;
        size_t      off;
    } fams[] = {
        { "kind_connections", "Open connections by kind.", offsetof(kind_stat, conns) },
        { "kind_pending_bytes", "Bytes waiting to be written, by connection kind.",
          offsetof(kind_stat, pending) },
        { "kind_subscriptions", "Subscriptions held by connections, by kind.",
          offsetof(kind_stat, subs) },
    };
    for (size_t f = 0; f < 3; f++) {
        family(o, fams[f].name, "gauge", fams[f].help);
        for (size_t i = 0; i < 4; i++)
            put(o, NS "%s{kind=\"%s\"} %.17g\n", fams[f].name, k[i].kind,
                *(const double *)((const char *)&k[i] + fams[f].off));
    }
    for (size_t i = 0; i < 3; i++)
        json_decref(docs[i]);
}

static void client_histograms(out *o, const json_t *connz)
{
    static const double rtt_bounds[] = { 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5 };
    static const double pend_bounds[] = { 0, 1024, 16384, 65536, 262144, 1048576, 8388608,
                                          67108864 };
    histogram rtt = { .name = "client_rtt_seconds",
                      .help = "Round-trip time of client connections (last PING/PONG).",
                      .bounds = rtt_bounds, .nbounds = sizeof rtt_bounds / sizeof rtt_bounds[0] };
    histogram pend = { .name = "client_pending_bytes",
                       .help = "Bytes waiting to be written to each client connection.",
                       .bounds = pend_bounds,
                       .nbounds = sizeof pend_bounds / sizeof pend_bounds[0] };
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get((json_t *)connz, "connections"), i, c) {
        double r = go_duration(json_string_value(json_object_get(c, "rtt")));
        if (r >= 0)
            observe(&rtt, r);
        observe(&pend, field(c, "pending_bytes"));
    }
    put_histogram(o, &rtt);
    put_histogram(o, &pend);
}

char *mon_metrics(monitor *mon, size_t *len)
{
    out o = {0};
    int status;
    char *err;
    json_t *varz = mon_document(mon, "varz", NULL, &status, &err);
    free(err);
    json_object_set(varz, "http_req_stats", mon->req_stats);
    json_t *acc = mon_document(mon, "accstatz", "unused=1", &status, &err);
    free(err);
    /* every open client: nothing is paged away from the histograms */
    json_t *connz = mon_document(mon, "connz", "limit=2147483647", &status, &err);
    free(err);
    server_metrics(&o, varz);
    account_metrics(&o, acc);
    kind_metrics(&o, mon, connz);
    client_histograms(&o, connz);
    json_decref(varz);
    json_decref(acc);
    json_decref(connz);
    if (o.oom) {
        free(o.s);
        return NULL;
    }
    *len = o.len;
    return o.s;
}
