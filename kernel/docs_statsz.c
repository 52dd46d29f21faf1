/* The ServerStatsMsg of system-account.md §3, which the system account's
 * $SYS.SERVER.<id>.STATSZ heartbeat and $SYS.REQ.SERVER.PING.STATSZ carry:
 * the sender's identity plus the counters of /varz. Routes and gateways
 * are modules: their arrays are left out (omitempty) until they report. */
#include "docs_int.h"

#include <string.h>

#include "account.h"
#include "server.h"

/* ServerStatsMsg: what a server's $SYS.SERVER.<id>.STATSZ carries. */
json_t *tern_docs_statsz(tern_server *s, uint64_t seq)
{
    const tern_opts *o = &s->opts;
    int64_t now = tern_docs_now_ns();
    tern_docs_totals t = tern_docs_sum_workers(s);
    tern_docs_snapshot snap;
    tern_docs_snapshot_take(s, TERN_DOCS_SNAP_CONNS, TERN_DOCS_WAIT_MS, &snap);
    tern_account *const *accs;
    size_t naccs = tern_docs_accounts(s, &accs);
    int active = 0;
    for (size_t a = 0; a < naccs; a++) {
        for (size_t i = 0; i < snap.n; i++) {
            if (snap.conns[i].account && !strcmp(snap.conns[i].account, accs[a]->name)) {
                active++;
                break;
            }
        }
    }
    tern_docs_snapshot_free(&snap);

    json_t *server = json_object();
    json_object_set_new(server, "name", json_string(o->name ? o->name : s->server_id));
    json_object_set_new(server, "host", json_string(o->host));
    json_object_set_new(server, "id", json_string(s->server_id));
    json_object_set_new(server, "ver", json_string(TERN_NATS_VERSION));
    json_object_set_new(server, "seq", json_integer((json_int_t)seq));
    json_object_set_new(server, "jetstream", json_false());
    json_object_set_new(server, "time", tern_docs_time(now));

    json_t *st = json_object();
    json_object_set_new(st, "start", tern_docs_time(tern_docs_start_ns()));
    json_object_set_new(st, "mem", json_integer(tern_docs_rss()));
    json_object_set_new(st, "cores", json_integer(tern_docs_cores()));
    json_object_set_new(st, "cpu", tern_docs_number(tern_docs_cpu_percent()));
    json_object_set_new(st, "connections", json_integer((json_int_t)atomic_load(&s->nclients)));
    json_object_set_new(st, "total_connections",
                        json_integer((json_int_t)atomic_load(&s->next_cid)));
    json_object_set_new(st, "active_accounts", json_integer(active));
    json_object_set_new(st, "subscriptions", json_integer((json_int_t)tern_docs_count_subscriptions(s)));
    json_t *sent = json_object(), *recv = json_object();
    json_object_set_new(sent, "msgs", json_integer((json_int_t)t.out_msgs));
    json_object_set_new(sent, "bytes", json_integer((json_int_t)t.out_bytes));
    json_object_set_new(recv, "msgs", json_integer((json_int_t)t.in_msgs));
    json_object_set_new(recv, "bytes", json_integer((json_int_t)t.in_bytes));
    json_object_set_new(st, "sent", sent);
    json_object_set_new(st, "received", recv);
    json_object_set_new(st, "slow_consumers", json_integer((json_int_t)t.slow_consumers));
    /* This server plus the remote ones it knows (none without routes). */
    json_object_set_new(st, "active_servers", json_integer(1));

    json_t *msg = json_object();
    json_object_set_new(msg, "server", server);
    json_object_set_new(msg, "statsz", st);
    return msg;
}
