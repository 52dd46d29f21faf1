/* Helpers of the cluster tests (test_cluster*.c): nodes with the cluster
 * module on free loopback ports, the reference nats-server as a route
 * peer, cnats counters, and probes that wait for interest to cross the
 * mesh (a subscription made after others on the same connection is
 * announced after them on every route, so once a probe message arrives
 * the earlier interest is known there too). */
#ifndef TERN_IT_CLUSTER_H
#define TERN_IT_CLUSTER_H

#include "harness.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cl_node {
    it_server s;
    int rport;                    /* route listen port */
    bool up;
    bool nats;                    /* the reference nats-server */
} cl_node;

/* Start node n (ternd, or nats-server when nats) in cluster `name`, its
 * route port n->rport (picked when 0), soliciting the route ports in
 * seeds (0-terminated). extra: more YAML under modules.cluster (ternd) or
 * inside cluster { } (nats-server); top: more top-level text. */
static inline bool cl_start(cl_node *n, const char *name, const int *seeds, bool nats, const char *extra,
                     const char *top)
{
    if (!n->rport)
        n->rport = it_free_port();
    char routes[1024] = "";
    size_t off = 0;
    for (const int *p = seeds; p && *p; p++)
        off += (size_t)snprintf(routes + off, sizeof routes - off, "%s\"nats-route://127.0.0.1:%d\"",
                                off ? ", " : "", *p);
    char conf[4096];
    it_opts o = { 0 };
    if (nats) {
        snprintf(conf, sizeof conf, "cluster {\n  name: %s\n  listen: \"127.0.0.1:%d\"\n%s%s%s%s}\n%s",
                 name, n->rport, off ? "  routes: [" : "", routes, off ? "]\n" : "", extra ? extra : "",
                 top ? top : "");
        o.auth_conf = conf;
        setenv("TERN_TEST_SERVER", "nats-server", 1);
    } else {
        snprintf(conf, sizeof conf,
                 "modules:\n  cluster:\n    name: %s\n    listen: \"127.0.0.1:%d\"\n%s%s%s%s%s",
                 name, n->rport, off ? "    routes: [" : "", routes, off ? "]\n" : "", extra ? extra : "",
                 top ? top : "");
        o.auth_yaml = conf;
    }
    int rc = it_server_start(&n->s, &o);
    if (nats)
        unsetenv("TERN_TEST_SERVER");
    n->nats = nats;
    n->up = rc == 0;
    return n->up;
}

/* Stop node n; a ternd built with sanitizers must not have reported
 * anything (its output goes with its temp dir, so look first). */
static inline void cl_stop(cl_node *n)
{
    if (!n->up)
        return;
    if (!n->nats && it_server_signal(&n->s, SIGTERM) == 0 && it_server_wait_exit(&n->s, 10000)) {
        char *log = it_server_log(&n->s);
        IT_CHECK(!log || (!strstr(log, "AddressSanitizer") && !strstr(log, "LeakSanitizer") &&
                          !strstr(log, "runtime error")),
                 "ternd on port %d exits without a sanitizer report:\n%s", n->s.port, log ? log : "");
        free(log);
    }
    it_server_stop(&n->s);
    n->up = false;
}

/* ---- counters ----------------------------------------------------------- */

typedef struct cl_count {
    atomic_int n;
    atomic_int replies;           /* messages answered (responders) */
    bool respond;                 /* answer each message that has a reply */
} cl_count;

static inline void cl_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub;
    cl_count *c = closure;
    atomic_fetch_add(&c->n, 1);
    if (c->respond && natsMsg_GetReply(m)) {
        natsConnection_PublishString(nc, natsMsg_GetReply(m), "pong");
        atomic_fetch_add(&c->replies, 1);
    }
    natsMsg_Destroy(m);
}

/* Subscriptions made by cl_sub, destroyed by cl_subs_free. */
static natsSubscription *cl_subs[256];
static int cl_nsubs;

static inline void cl_subs_free(void)
{
    for (int i = 0; i < cl_nsubs; i++)
        natsSubscription_Destroy(cl_subs[i]);
    cl_nsubs = 0;
}

static inline natsSubscription *cl_sub(natsConnection *nc, const char *subj, const char *queue, cl_count *c)
{
    natsSubscription *s = NULL;
    natsStatus st = queue ? natsConnection_QueueSubscribe(&s, nc, subj, queue, cl_on_msg, c)
                          : natsConnection_Subscribe(&s, nc, subj, cl_on_msg, c);
    if (st != NATS_OK)
        printf("subscribe %s: %s\n", subj, natsStatus_GetText(st));
    natsSubscription_SetPendingLimits(s, -1, -1);
    if (s && cl_nsubs < (int)(sizeof cl_subs / sizeof cl_subs[0]))
        cl_subs[cl_nsubs++] = s;
    return s;
}

/* Wait until c counts want (or the deadline); true when exactly want. */
static inline bool cl_wait_count(cl_count *c, int want, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    while (atomic_load(&c->n) < want && it_now_ms() < end)
        it_poll_pause();
    return atomic_load(&c->n) == want;
}

/* Wait until the counters sum to want (cnats runs each async
 * subscription on its own thread: a fence seen on one subscription does
 * not mean another one's callbacks ran). True when exactly want. */
static inline bool cl_wait_sum(cl_count *const *c, int n, int want, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    int sum;
    for (;;) {
        sum = 0;
        for (int i = 0; i < n; i++)
            sum += atomic_load(&c[i]->n);
        if (sum >= want || it_now_ms() >= end)
            break;
        it_poll_pause();
    }
    return sum == want;
}

/* ---- probes ---------------------------------------------------------- */

/* Subscribe a fresh subject on sub, then publish on pub until a message
 * arrives there: interest made on sub before now has reached pub's
 * server. */
static inline bool cl_probe(natsConnection *pub, natsConnection *sub, int timeout_ms)
{
    static atomic_int seq;
    char subj[64];
    snprintf(subj, sizeof subj, "probe.%d.%d", (int)getpid(), atomic_fetch_add(&seq, 1));
    natsSubscription *s = NULL;
    if (natsConnection_SubscribeSync(&s, sub, subj) != NATS_OK)
        return false;
    natsConnection_Flush(sub);
    bool got = false;
    int64_t end = it_now_ms() + timeout_ms;
    while (!got && it_now_ms() < end) {
        natsConnection_PublishString(pub, subj, "p");
        natsConnection_Flush(pub);
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, s, 50) == NATS_OK) {
            got = true;
            natsMsg_Destroy(m);
        }
    }
    natsSubscription_Unsubscribe(s);
    natsSubscription_Destroy(s);
    return got;
}

/* Every ordered pair of conns reaches the other. */
static inline bool cl_mesh(natsConnection **conns, int n, int timeout_ms)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j && !cl_probe(conns[i], conns[j], timeout_ms)) {
                printf("no path from conn %d to conn %d\n", i, j);
                return false;
            }
    return true;
}

/* A cnats connection to node n that follows the cluster: a single URL,
 * reconnecting to the servers it learns from connect_urls. */
static inline natsConnection *cl_follower(const cl_node *n)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, n->s.url);
    natsOptions_SetMaxReconnect(o, 100);
    natsOptions_SetReconnectWait(o, 50);
    natsOptions_SetTimeout(o, 2000);
    natsStatus st = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    if (st != NATS_OK)
        printf("connect %s: %s\n", n->s.url, natsStatus_GetText(st));
    return nc;
}

/* The number of servers nc knows (its URL plus discovered ones). */
static inline int cl_known_servers(natsConnection *nc)
{
    char **servers = NULL;
    int count = 0;
    if (natsConnection_GetServers(nc, &servers, &count) != NATS_OK)
        return -1;
    for (int i = 0; i < count; i++)
        free(servers[i]);
    free(servers);
    return count;
}

static inline bool cl_wait_known(natsConnection *nc, int want, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    while (cl_known_servers(nc) < want && it_now_ms() < end)
        it_poll_pause();
    return cl_known_servers(nc) >= want;
}

#endif
