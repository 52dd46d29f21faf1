/* A gateway whose cluster has two ternd nodes (modules.cluster), against
 * a ternd west and then a nats-server west: east A dials west; east B
 * only listens and west dials B. B's outbound back to west is implicit
 * (learned from west's inbound INFO), so a client on either east node
 * reaches west and back: each node keeps its own outbound connection,
 * and announces to west the interest of the whole cluster (its routes'
 * too), as nats-server does.
 *
 * Exact counts: a message crosses each gateway once and is never sent
 * on by a server that got it over a route (gateway.md), which /gatewayz
 * shows as each node's outbound out_msgs. Queue groups prefer the own
 * cluster (a member over the route) over the other one, each message
 * delivered once; a queue message from west reaches a member that only
 * the other east node's route knows. */
#include "test_gateway.h"

#define MESH_MS 20000
#define N 100

typedef struct sc {
    gw_node a, b, w;
    int ma, mb, mw;               /* monitor ports */
    natsConnection *ca, *cb, *cw;
    cl_count fa, fb, fw;          /* "fence" on every node */
    int fences;                   /* each fence counter's expected value */
} sc;

/* Each node's outbound out_msgs (A and B to west, west to east). */
static void out_msgs(const sc *s, long v[3])
{
    v[0] = gw_out_stat(s->ma, "west", "out_msgs");
    v[1] = gw_out_stat(s->mb, "west", "out_msgs");
    v[2] = gw_out_stat(s->mw, "east", "out_msgs");
}

/* Two fences from pub, each awaited on every node: what a duplicate path
 * would have carried before the second fence has arrived by then. */
static bool fence(sc *s, natsConnection *pub)
{
    cl_count *f[3] = { &s->fa, &s->fb, &s->fw };
    for (int k = 0; k < 2; k++) {
        natsConnection_PublishString(pub, "fence", "f");
        natsConnection_Flush(pub);
        s->fences++;
        for (int i = 0; i < 3; i++)
            if (!cl_wait_count(f[i], s->fences, 10000)) {
                printf("fence %d: node %d counted %d\n", s->fences, i, atomic_load(&f[i]->n));
                return false;
            }
    }
    return true;
}

static void publish(natsConnection *pub, const char *subj, int n)
{
    for (int i = 0; i < n; i++)
        natsConnection_PublishString(pub, subj, "x");
    natsConnection_Flush(pub);
}

/* N plain messages from node `from` (0 A, 1 B, 2 west) reach a subscriber
 * on every node once; only the publisher's server sends them (and the
 * two fences) over its gateway. */
static void plain_burst(sc *s, int from, cl_count *d[3], int round)
{
    static const char *names[3] = { "A", "B", "west" };
    natsConnection *pub[3] = { s->ca, s->cb, s->cw };
    long before[3], after[3];
    out_msgs(s, before);
    publish(pub[from], "dup", N);
    IT_CHECK(fence(s, pub[from]), "fences from %s reach every node", names[from]);
    out_msgs(s, after);
    for (int i = 0; i < 3; i++) {
        IT_CHECK(atomic_load(&d[i]->n) == N * round, "from %s: %s's subscriber got %d of %d",
                 names[from], names[i], atomic_load(&d[i]->n), N * round);
        long want = i == from ? N + 2 : 0;
        IT_CHECK(before[i] >= 0 && after[i] - before[i] == want,
                 "from %s: %s's gateway sent %ld messages (want %ld)", names[from], names[i],
                 after[i] - before[i], want);
    }
}

static void scenario(bool nats_west)
{
    sc s = { 0 };
    s.a.gport = it_free_port();
    s.b.gport = it_free_port();
    s.w.gport = it_free_port();
    s.ma = it_free_port();
    s.mb = it_free_port();
    s.mw = it_free_port();
    int ra = it_free_port(), rb = it_free_port();
    char rem_a[160], rem_w[160], top_a[384], top_b[384], top_w[128];
    gw_remote(rem_a, sizeof rem_a, "west", NULL, s.w.gport);
    gw_remote(rem_w, sizeof rem_w, "east", NULL, s.b.gport);
    snprintf(top_a, sizeof top_a, "  cluster:\n    name: east\n    listen: \"127.0.0.1:%d\"\n"
                                  "    routes: [\"nats-route://127.0.0.1:%d\"]\n"
                                  "  monitor:\n    listen: \"127.0.0.1:%d\"\n", ra, rb, s.ma);
    snprintf(top_b, sizeof top_b, "  cluster:\n    name: east\n    listen: \"127.0.0.1:%d\"\n"
                                  "    routes: [\"nats-route://127.0.0.1:%d\"]\n"
                                  "  monitor:\n    listen: \"127.0.0.1:%d\"\n", rb, ra, s.mb);
    if (nats_west)
        snprintf(top_w, sizeof top_w, "http: \"127.0.0.1:%d\"\n", s.mw);
    else
        snprintf(top_w, sizeof top_w, "  monitor:\n    listen: \"127.0.0.1:%d\"\n", s.mw);
    printf("-- west is %s\n", nats_west ? "nats-server" : "ternd");
    if (!IT_CHECK(gw_start(&s.w, "west", rem_w, nats_west, NULL, top_w), "west starts") ||
        !IT_CHECK(gw_start(&s.a, "east", rem_a, false, NULL, top_a), "ternd east A starts") ||
        !IT_CHECK(gw_start(&s.b, "east", NULL, false, NULL, top_b), "ternd east B starts"))
        goto out;
    s.ca = it_nats_connect(&s.a.s);
    s.cb = it_nats_connect(&s.b.s);
    s.cw = it_nats_connect(&s.w.s);
    if (!IT_CHECK(s.ca && s.cb && s.cw, "clients connect"))
        goto out;
    natsConnection *all[3] = { s.ca, s.cb, s.cw };
    if (!IT_CHECK(cl_mesh(all, 3, MESH_MS), "every node reaches every other"))
        goto out;
    IT_CHECK(it_await_log_count(&s.b.s, "Outbound gateway connection to \"west\"", 1, 10000),
             "B made its own (implicit) outbound connection to west");

    /* plain messages: once on every node, from each node in turn */
    cl_count da = { 0 }, db = { 0 }, dw = { 0 };
    cl_count *d[3] = { &da, &db, &dw };
    cl_sub(s.ca, "dup", NULL, &da);
    cl_sub(s.cb, "dup", NULL, &db);
    cl_sub(s.cw, "dup", NULL, &dw);
    cl_sub(s.ca, "fence", NULL, &s.fa);
    cl_sub(s.cb, "fence", NULL, &s.fb);
    cl_sub(s.cw, "fence", NULL, &s.fw);
    if (!IT_CHECK(cl_mesh(all, 3, MESH_MS), "the subscribers' interest crosses"))
        goto out;
    plain_burst(&s, 2, d, 1);
    plain_burst(&s, 1, d, 2);
    plain_burst(&s, 0, d, 3);

    /* geo queue group: A's messages go to B's member over the route,
     * not to west's; to west's only when east has none */
    cl_count qb = { 0 }, qw = { 0 };
    cl_count *q[2] = { &qb, &qw };
    natsSubscription *qsub = cl_sub(s.cb, "geo", "g", &qb);
    cl_sub(s.cw, "geo", "g", &qw);
    IT_CHECK(cl_probe(s.ca, s.cb, MESH_MS) && cl_probe(s.ca, s.cw, MESH_MS),
             "queue interest reaches A");
    publish(s.ca, "geo", N);
    IT_CHECK(cl_wait_sum(q, 2, N, 10000) && fence(&s, s.ca) && cl_wait_sum(q, 2, N, 0),
             "A's queue messages delivered once: B %d, west %d", atomic_load(&qb.n),
             atomic_load(&qw.n));
    IT_CHECK(atomic_load(&qb.n) == N && atomic_load(&qw.n) == 0,
             "the own cluster's member first: B %d, west %d", atomic_load(&qb.n), atomic_load(&qw.n));
    natsSubscription_Unsubscribe(qsub);
    IT_CHECK(cl_probe(s.ca, s.cb, MESH_MS), "B's unsubscribe reaches A");
    publish(s.ca, "geo", N);
    IT_CHECK(cl_wait_sum(q, 2, 2 * N, 10000) && fence(&s, s.ca) && cl_wait_sum(q, 2, 2 * N, 0),
             "east without a member: once each, B %d, west %d", atomic_load(&qb.n),
             atomic_load(&qw.n));
    IT_CHECK(atomic_load(&qw.n) == N, "west's member got %d of %d", atomic_load(&qw.n), N);

    /* a queue message from west (groups listed) for a member only A has:
     * west's gateway delivers at B, which sends it on over the route */
    cl_count la = { 0 };
    cl_sub(s.ca, "listed", "h", &la);
    IT_CHECK(cl_probe(s.cw, s.ca, MESH_MS), "A's queue interest reaches west");
    publish(s.cw, "listed", N);
    IT_CHECK(cl_wait_count(&la, N, 10000) && fence(&s, s.cw) && cl_wait_count(&la, N, 0),
             "west's queue messages reach A over B's route once: %d of %d", atomic_load(&la.n), N);

    /* members on both east nodes, none in west: each of west's messages
     * once in east */
    cl_count ka = { 0 }, kb = { 0 };
    cl_count *k[2] = { &ka, &kb };
    cl_sub(s.ca, "both", "k", &ka);
    cl_sub(s.cb, "both", "k", &kb);
    IT_CHECK(cl_probe(s.cw, s.ca, MESH_MS) && cl_probe(s.cw, s.cb, MESH_MS),
             "both members' interest reaches west");
    publish(s.cw, "both", N);
    IT_CHECK(cl_wait_sum(k, 2, N, 10000) && fence(&s, s.cw) && cl_wait_sum(k, 2, N, 0),
             "west's messages for a group of two east members once: A %d + B %d", atomic_load(&ka.n),
             atomic_load(&kb.n));

    /* requests from both east nodes to a west service and back */
    cl_count svc = { .respond = true };
    cl_sub(s.cw, "svc", NULL, &svc);
    IT_CHECK(cl_probe(s.ca, s.cw, MESH_MS) && cl_probe(s.cb, s.cw, MESH_MS),
             "service interest reaches east");
    IT_CHECK(gw_inbox_ready(s.ca, "svc", "pong") && gw_inbox_ready(s.cb, "svc", "pong"),
             "a first request from A and from B answered");
    int ok = 0;
    for (int i = 0; i < 10; i++)
        ok += gw_request_ok(s.ca, "svc", "pong", 3000) + gw_request_ok(s.cb, "svc", "pong", 3000);
    IT_CHECK(ok == 20, "requests from A and B answered: %d of 20", ok);
out:
    cl_subs_free();
    natsConnection_Destroy(s.ca);
    natsConnection_Destroy(s.cb);
    natsConnection_Destroy(s.cw);
    gw_stop(&s.a);
    gw_stop(&s.b);
    gw_stop(&s.w);
}

int main(void)
{
    if (it_ternd_only())
        return 0;
    scenario(false);
    scenario(true);
    return it_summary();
}
