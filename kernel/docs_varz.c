/* /varz: configuration, process figures and counters. Counters are the
 * workers' (tern_worker_stats), summed on read; nothing here waits for a
 * worker. Blocks for features Tern runs as modules (cluster, gateway,
 * leaf, mqtt, websocket, jetstream) are empty, as nats-server prints them
 * when those are not configured. */
#include "docs_int.h"

#include "account.h"
#include "auth.h"
#include "module.h"
#include "server.h"

tern_docs_totals tern_docs_sum_workers(tern_server *s)
{
    tern_docs_totals t = {0};
    for (int i = 0; i < s->nworkers; i++) {
        tern_worker_stats *w = &s->workers[i].stats;
        t.in_msgs += atomic_load_explicit(&w->in_msgs, memory_order_relaxed);
        t.in_bytes += atomic_load_explicit(&w->in_bytes, memory_order_relaxed);
        t.out_msgs += atomic_load_explicit(&w->out_msgs, memory_order_relaxed);
        t.out_bytes += atomic_load_explicit(&w->out_bytes, memory_order_relaxed);
        t.slow_consumers += atomic_load_explicit(&w->slow_consumers, memory_order_relaxed);
    }
    return t;
}

uint64_t tern_docs_count_subscriptions(tern_server *s)
{
    tern_account *const *accs;
    size_t n = tern_docs_accounts(s, &accs);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += tern_sublist_count(accs[i]->sl);
    return total;
}

static json_t *seconds(int64_t ms)
{
    return tern_docs_number((double)ms / 1000.0);
}

json_t *tern_docs_varz(tern_server *s, const tern_docs_http *http)
{
    const tern_opts *o = &s->opts;
    int64_t now = tern_docs_now_ns();
    int64_t start = tern_docs_start_ns();
    char up[64];
    tern_docs_totals t = tern_docs_sum_workers(s);
    json_t *v = json_object();
    json_object_set_new(v, "server_id", json_string(s->server_id));
    json_object_set_new(v, "server_name", json_string(o->name ? o->name : s->server_id));
    json_object_set_new(v, "version", json_string(TERN_NATS_VERSION));
    json_object_set_new(v, "proto", json_integer(1));
    /* No Go runtime: the field stays for parsers that expect it. */
    json_object_set_new(v, "go", json_string(""));
    json_object_set_new(v, "host", json_string(o->host));
    json_object_set_new(v, "port", json_integer(s->port));
    if (tern_server_auth_required(o))
        json_object_set_new(v, "auth_required", json_true());
    if (o->tls.enabled) {
        json_object_set_new(v, "tls_required", json_true());
        if (o->tls.verify)
            json_object_set_new(v, "tls_verify", json_true());
    }
    json_object_set_new(v, "max_connections", json_integer(o->max_connections));
    json_object_set_new(v, "ping_interval", json_integer(o->ping_interval_ms * 1000000));
    json_object_set_new(v, "ping_max", json_integer(o->ping_max));
    json_object_set_new(v, "http_host",
                        json_string(http && http->host ? http->host : o->host));
    json_object_set_new(v, "http_port", json_integer(http ? http->port : 0));
    json_object_set_new(v, "http_base_path",
                        json_string(http && http->base_path ? http->base_path : ""));
    json_object_set_new(v, "https_port", json_integer(http ? http->https_port : 0));
    json_object_set_new(v, "auth_timeout", seconds(o->auth_timeout_ms));
    json_object_set_new(v, "max_control_line", json_integer(o->max_control_line));
    json_object_set_new(v, "max_payload", json_integer(o->max_payload));
    json_object_set_new(v, "max_pending", json_integer(o->max_pending));
    json_object_set_new(v, "cluster", json_object());
    json_object_set_new(v, "gateway", json_object());
    json_object_set_new(v, "leaf", json_object());
    json_object_set_new(v, "mqtt", json_object());
    json_object_set_new(v, "websocket", json_object());
    json_object_set_new(v, "jetstream", json_object());
    json_object_set_new(v, "tls_timeout", seconds(o->tls.timeout_ms));
    json_object_set_new(v, "write_deadline", json_integer(o->write_deadline_ms * 1000000));
    json_object_set_new(v, "start", tern_docs_time(start));
    json_object_set_new(v, "now", tern_docs_time(now));
    tern_docs_uptime(now - start, up, sizeof up);
    json_object_set_new(v, "uptime", json_string(up));
    json_object_set_new(v, "mem", json_integer(tern_docs_rss()));
    json_object_set_new(v, "cores", json_integer(tern_docs_cores()));
    json_object_set_new(v, "gomaxprocs", json_integer(s->nworkers));
    json_object_set_new(v, "cpu", tern_docs_number(tern_docs_cpu_percent()));
    json_object_set_new(v, "connections",
                        json_integer((json_int_t)atomic_load(&s->nclients)));
    json_object_set_new(v, "total_connections",
                        json_integer((json_int_t)atomic_load(&s->next_cid)));
    json_object_set_new(v, "routes", json_integer(0));
    json_object_set_new(v, "remotes", json_integer(0));
    json_object_set_new(v, "leafnodes", json_integer(0));
    json_object_set_new(v, "in_msgs", json_integer((json_int_t)t.in_msgs));
    json_object_set_new(v, "out_msgs", json_integer((json_int_t)t.out_msgs));
    json_object_set_new(v, "in_bytes", json_integer((json_int_t)t.in_bytes));
    json_object_set_new(v, "out_bytes", json_integer((json_int_t)t.out_bytes));
    json_object_set_new(v, "slow_consumers", json_integer((json_int_t)t.slow_consumers));
    json_object_set_new(v, "subscriptions", json_integer((json_int_t)tern_docs_count_subscriptions(s)));
    json_object_set_new(v, "http_req_stats", http && http->req_stats
                                                 ? json_deep_copy(http->req_stats)
                                                 : json_object());
    json_object_set_new(v, "config_load_time", tern_docs_time(tern_docs_config_load_ns()));
    const char *sys = tern_docs_system_account(s);
    if (sys)
        json_object_set_new(v, "system_account", json_string(sys));
    /* link modules fill in their sections and counts (cluster, routes …) */
    json_t *mods = tern_module_info_merged("varz");
    if (mods) {
        json_object_update(v, mods);
        json_decref(mods);
    }
    return v;
}
