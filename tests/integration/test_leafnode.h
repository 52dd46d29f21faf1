/* Helpers of the leaf node tests (test_leafnode*.c): hubs and leafs
 * (ternd with modules/leafnode, or the reference nats-server) on free
 * loopback ports, /leafz over HTTP, and the scenarios every pairing
 * runs: plain both ways, queue groups, request/reply, headers, interest
 * removal and account isolation. Counters and probes come from
 * test_cluster.h (a probe subscribed after other interest on the same
 * connection proves that interest crossed the link: LS+ are in order). */
#ifndef TERN_IT_LEAFNODE_H
#define TERN_IT_LEAFNODE_H

#include "test_cluster.h"

#include <sys/socket.h>

#define LN_MS 10000

typedef struct ln_node {
    it_server s;
    int lport;                    /* leaf listen port (hub), 0: none */
    int mport;                    /* monitoring port */
    bool up;
    bool nats;
} ln_node;

/* Hub accounts used by the scenarios: A (users a/a, bound leaf user
 * leaf/leaf), B (b/b, must see nothing). */
#define LN_ACCOUNTS_YAML                                                       \
    "accounts:\n"                                                              \
    "  A:\n    users: [ { user: a, password: a } ]\n"                          \
    "  B:\n    users: [ { user: b, password: b } ]\n"
#define LN_ACCOUNTS_CONF                                                       \
    "accounts {\n"                                                             \
    "  A { users = [ { user: a, password: a } ] }\n"                           \
    "  B { users = [ { user: b, password: b } ] }\n"                           \
    "}\n"

/* Start n: ternd (modules.leafnode with `leaf` as its YAML body, indented
 * by 4) or nats-server (leafnodes { leaf }); top: more top-level text.
 * A monitoring port is always configured. */
static inline bool ln_start(ln_node *n, bool nats, const char *leaf, const char *top)
{
    n->mport = it_free_port();
    /* top may carry an operator's JWTs */
    size_t cap = 8192 + (top ? strlen(top) : 0) + (leaf ? strlen(leaf) : 0);
    char *conf = malloc(cap);
    if (!conf)
        return false;
    it_opts o = { 0 };
    if (nats) {
        snprintf(conf, cap, "http: \"127.0.0.1:%d\"\nleafnodes {\n%s\n}\n%s", n->mport,
                 leaf ? leaf : "", top ? top : "");
        o.auth_conf = conf;
        setenv("TERN_TEST_SERVER", "nats-server", 1);
    } else {
        snprintf(conf, cap,
                 "modules:\n  monitor:\n    listen: \"127.0.0.1:%d\"\n  leafnode:\n%s\n%s", n->mport,
                 leaf ? leaf : "", top ? top : "");
        o.auth_yaml = conf;
    }
    int rc = it_server_start(&n->s, &o);
    if (nats)
        unsetenv("TERN_TEST_SERVER");
    n->nats = nats;
    n->up = rc == 0;
    if (!n->up)
        printf("server start failed, config:\n%s\n", conf);
    free(conf);
    return n->up;
}

/* A hub listening on n->lport (picked when 0) with extra leafnode keys. */
static inline bool ln_start_hub(ln_node *n, bool nats, const char *extra, const char *top)
{
    if (!n->lport)
        n->lport = it_free_port();
    char leaf[4096];
    if (nats)
        snprintf(leaf, sizeof leaf, "  listen: \"127.0.0.1:%d\"\n%s", n->lport, extra ? extra : "");
    else
        snprintf(leaf, sizeof leaf, "    listen: \"127.0.0.1:%d\"\n%s", n->lport, extra ? extra : "");
    /* a loaded machine may answer on the client port before the leaf port */
    return ln_start(n, nats, leaf, top) && it_await_listening(n->lport, n->s.pid, LN_MS);
}

/* A leaf soliciting url (user:pass inside) with extra remote keys. */
static inline bool ln_start_leaf(ln_node *n, bool nats, const char *url, const char *rextra,
                                 const char *top)
{
    char leaf[4096];
    if (nats)
        snprintf(leaf, sizeof leaf, "  remotes: [ { url: \"%s\"\n %s } ]\n  reconnect: 1\n", url,
                 rextra ? rextra : "");
    else
        snprintf(leaf, sizeof leaf, "    reconnect: 200ms\n    remotes: [ { url: \"%s\"%s%s } ]\n", url,
                 rextra && *rextra ? ", " : "", rextra ? rextra : "");
    return ln_start(n, nats, leaf, top);
}

static inline void ln_stop(ln_node *n)
{
    if (!n->up)
        return;
    if (!n->nats && it_server_signal(&n->s, SIGTERM) == 0 && it_server_wait_exit(&n->s, 10000)) {
        char *log = it_server_log(&n->s);
        IT_CHECK(!log || (!strstr(log, "AddressSanitizer") && !strstr(log, "LeakSanitizer") &&
                          !strstr(log, "runtime error") && !strstr(log, "ThreadSanitizer")),
                 "ternd on port %d exits without a sanitizer report:\n%s", n->s.port, log ? log : "");
        free(log);
    }
    it_server_stop(&n->s);
    n->up = false;
}

/* GET path from the node's monitoring port: the body (caller frees). */
static inline char *ln_http(const ln_node *n, const char *path)
{
    int fd = it_raw_connect(n->mport, 0);
    if (fd < 0)
        return NULL;
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    it_buf b = { 0 };
    char *body = NULL;
    if (it_raw_sends(fd, req) == 0 && it_raw_read_to_close(fd, &b, 5000) == IT_CLOSED && b.data) {
        char *p = strstr(b.data, "\r\n\r\n");
        if (p)
            body = strdup(p + 4);
    }
    it_buf_free(&b);
    close(fd);
    return body;
}

/* Poll /leafz?subs=1 until needle is (present) or is not (!present) in it. */
static inline bool ln_leafz_wait(const ln_node *n, const char *needle, bool present, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    for (;;) {
        char *d = ln_http(n, "/leafz?subs=1");
        bool has = d && strstr(d, needle);
        bool ok = d && has == present;
        free(d);
        if (ok)
            return true;
        if (it_now_ms() >= end)
            return false;
        it_poll_pause();
    }
}

/* Wait until n reports `want` leaf connections in /leafz. */
static inline bool ln_wait_leafs(const ln_node *n, int want, int timeout_ms)
{
    char needle[40];
    snprintf(needle, sizeof needle, "\"leafnodes\": %d", want);
    char needle2[40];
    snprintf(needle2, sizeof needle2, "\"leafnodes\":%d", want);
    int64_t end = it_now_ms() + timeout_ms;
    for (;;) {
        char *d = ln_http(n, "/leafz");
        bool ok = d && (strstr(d, needle) || strstr(d, needle2));
        free(d);
        if (ok)
            return true;
        if (it_now_ms() >= end)
            return false;
        it_poll_pause();
    }
}

/* Publish count messages on subj from pub, then a fence on fence; true
 * when the fence counter f reached want_fences. */
static inline bool ln_fenced(natsConnection *pub, const char *subj, int count, const char *fence,
                             cl_count *f, int want_fences)
{
    for (int i = 0; i < count; i++)
        natsConnection_PublishString(pub, subj, "x");
    natsConnection_PublishString(pub, fence, "f");
    natsConnection_Flush(pub);
    return cl_wait_count(f, want_fences, LN_MS);
}

/* The scenarios over a link between hub (clients ha in the account the
 * leaf is bound to, hb in another account, NULL to skip isolation) and
 * leaf (client lc in the leaf's account). tag names the pairing. */
static inline void ln_scenarios(const char *tag, const ln_node *hub, const ln_node *leaf,
                                natsConnection *ha, natsConnection *hb, natsConnection *lc)
{
    (void)hub;
    /* isolation watcher: account B sees nothing of it */
    cl_count iso = { 0 };
    if (hb) {
        cl_sub(hb, ">", NULL, &iso);
        natsConnection_Flush(hb);
    }

    /* plain, both directions */
    cl_count ph = { 0 }, pl = { 0 }, fh = { 0 }, fl = { 0 };
    cl_sub(ha, "plain", NULL, &ph);
    cl_sub(ha, "fence", NULL, &fh);
    cl_sub(lc, "plain", NULL, &pl);
    cl_sub(lc, "fence", NULL, &fl);
    IT_CHECK(cl_probe(lc, ha, LN_MS), "%s: hub interest reaches the leaf", tag);
    IT_CHECK(cl_probe(ha, lc, LN_MS), "%s: leaf interest reaches the hub", tag);
    IT_CHECK(ln_fenced(lc, "plain", 50, "fence", &fh, 1), "%s: fence leaf -> hub", tag);
    IT_CHECK(ln_fenced(ha, "plain", 50, "fence", &fl, 2), "%s: fence hub -> leaf", tag);
    IT_CHECK(cl_wait_count(&ph, 100, 3000), "%s: hub subscriber got %d of 100", tag, atomic_load(&ph.n));
    IT_CHECK(cl_wait_count(&pl, 100, 3000), "%s: leaf subscriber got %d of 100", tag, atomic_load(&pl.n));

    /* queue groups: members on both sides prefer local; on the far side
     * only, every message reaches exactly one member */
    cl_count qh[2] = { 0 }, ql[2] = { 0 }, qf[2] = { 0 };
    cl_sub(ha, "q.both", "g", &qh[0]);
    cl_sub(ha, "q.both", "g", &qh[1]);
    cl_sub(lc, "q.both", "g", &ql[0]);
    cl_sub(lc, "q.both", "g", &ql[1]);
    cl_sub(ha, "q.far", "g", &qf[0]);
    cl_sub(ha, "q.far", "g", &qf[1]);
    IT_CHECK(cl_probe(lc, ha, LN_MS) && cl_probe(ha, lc, LN_MS), "%s: queue interest crosses", tag);
    atomic_store(&fh.n, 0);
    atomic_store(&fl.n, 0);
    for (int i = 0; i < 100; i++) {
        natsConnection_PublishString(lc, "q.both", "x");
        natsConnection_PublishString(lc, "q.far", "x");
    }
    IT_CHECK(ln_fenced(lc, "none", 0, "fence", &fh, 1), "%s: fence after queue traffic", tag);
    cl_count *qlp[2] = { &ql[0], &ql[1] }, *qfp[2] = { &qf[0], &qf[1] };
    bool ok_far = cl_wait_sum(qfp, 2, 100, 3000);
    bool ok_local = cl_wait_sum(qlp, 2, 100, 3000);
    int far = atomic_load(&qf[0].n) + atomic_load(&qf[1].n);
    int local = atomic_load(&ql[0].n) + atomic_load(&ql[1].n);
    int remote = atomic_load(&qh[0].n) + atomic_load(&qh[1].n);
    IT_CHECK(ok_far && far == 100, "%s: far group got %d of 100 (once each)", tag, far);
    IT_CHECK(ok_local && local == 100 && remote == 0,
             "%s: local members preferred: leaf %d, hub %d of 100", tag, local, remote);

    /* request/reply both ways */
    cl_count rh = { .respond = true }, rl = { .respond = true };
    cl_sub(ha, "svc.hub", NULL, &rh);
    cl_sub(lc, "svc.leaf", NULL, &rl);
    IT_CHECK(cl_probe(lc, ha, LN_MS) && cl_probe(ha, lc, LN_MS), "%s: service interest crosses", tag);
    char *r1 = it_request(lc, "svc.hub", "ping", 5000);
    char *r2 = it_request(ha, "svc.leaf", "ping", 5000);
    IT_CHECK(r1 && !strcmp(r1, "pong"), "%s: leaf -> hub request answered (%s)", tag, r1 ? r1 : "none");
    IT_CHECK(r2 && !strcmp(r2, "pong"), "%s: hub -> leaf request answered (%s)", tag, r2 ? r2 : "none");
    free(r1);
    free(r2);

    /* headers both ways */
    natsSubscription *hs = NULL, *ls = NULL;
    natsConnection_SubscribeSync(&hs, ha, "hdr.up");
    natsConnection_SubscribeSync(&ls, lc, "hdr.down");
    IT_CHECK(cl_probe(lc, ha, LN_MS) && cl_probe(ha, lc, LN_MS), "%s: header interest crosses", tag);
    for (int dir = 0; dir < 2; dir++) {
        natsConnection *pub = dir ? ha : lc;
        natsSubscription *sub = dir ? ls : hs;
        natsMsg *m = NULL;
        natsMsg_Create(&m, dir ? "hdr.down" : "hdr.up", "r.x", "body", 4);
        natsMsgHeader_Set(m, "X-Tern", dir ? "down" : "up");
        natsConnection_PublishMsg(pub, m);
        natsConnection_Flush(pub);
        natsMsg_Destroy(m);
        m = NULL;
        const char *hv = NULL;
        bool got = natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK;
        if (got)
            natsMsgHeader_Get(m, "X-Tern", &hv);
        IT_CHECK(got && hv && !strcmp(hv, dir ? "down" : "up") && natsMsg_GetReply(m) &&
                     !strcmp(natsMsg_GetReply(m), "r.x") && natsMsg_GetDataLength(m) == 4,
                 "%s: header message %s with reply and body", tag, dir ? "hub -> leaf" : "leaf -> hub");
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(hs);
    natsSubscription_Destroy(ls);

    /* interest removal: the leaf forgets an unsubscribed hub subject */
    natsSubscription *gs = NULL;
    natsConnection_SubscribeSync(&gs, ha, "gone.subject");
    natsConnection_Flush(ha);
    IT_CHECK(ln_leafz_wait(leaf, "gone.subject", true, LN_MS), "%s: leaf's /leafz lists the hub's subject", tag);
    natsSubscription_Unsubscribe(gs);
    natsConnection_Flush(ha);
    IT_CHECK(ln_leafz_wait(leaf, "gone.subject", false, LN_MS), "%s: LS- removes it on the leaf", tag);
    natsSubscription_Destroy(gs);

    if (hb) {
        natsConnection_Flush(hb);
        IT_CHECK(atomic_load(&iso.n) == 0, "%s: account B saw %d messages", tag, atomic_load(&iso.n));
    }
    cl_subs_free();
}

#endif
