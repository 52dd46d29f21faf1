/* A spoke cluster: two ternd nodes routed to each other (modules.cluster),
 * each with its own leaf node remote to the same ternd hub. A message
 * from the hub reaches a subscriber on each spoke node exactly once
 * (each spoke gets it over its own link and does not pass it over the
 * route), one published on a spoke node reaches the hub exactly once
 * (the other spoke node does not send what crossed the route up to the
 * hub), and interest does not loop (the hub's interest is not announced
 * over the spoke cluster's route). The spokes name their cluster in the
 * leaf CONNECT, so the hub never passes what one spoke node sent up to
 * the other (which has it over the route): a message published on spoke
 * node 1 reaches a subscriber on spoke node 2 exactly once, and a queue
 * group spread over spoke node 2 and the hub gets it once. */
#include "test_leafnode.h"

/* Both counters reach want, then a round trip over every path proves
 * nothing more was on its way. */
static bool exact(natsConnection *pub, natsConnection *const *subs, int nsubs, cl_count *const *c,
                  int want)
{
    bool ok = true;
    for (int i = 0; i < nsubs; i++)
        ok = cl_wait_count(c[i], want, LN_MS) && ok;
    for (int i = 0; i < nsubs; i++)
        ok = cl_probe(pub, subs[i], LN_MS) && ok;
    for (int i = 0; i < nsubs; i++)
        ok = ok && atomic_load(&c[i]->n) == want;
    return ok;
}

/* Round trips over every path a copy of spoke node 1's messages could
 * take to spoke node 2 or the hub: over the route, up to the hub, and
 * from the hub down to spoke node 2 (each link keeps its order). */
static bool drained(natsConnection *c1, natsConnection *c2, natsConnection *ch)
{
    return cl_probe(c1, c2, LN_MS) && cl_probe(c1, ch, LN_MS) && cl_probe(ch, c2, LN_MS);
}

/* nats_hub: the hub is nats-server 2.9 (it applies its cluster-wide
 * no-echo to the cluster name the ternd spokes send). */
static void run(bool nats_hub)
{
    printf("-- hub: %s\n", nats_hub ? "nats-server" : "ternd");
    ln_node hub = { 0 }, s1 = { 0 }, s2 = { 0 };
    natsConnection *ch = NULL, *c1 = NULL, *c2 = NULL;
    if (!IT_CHECK(ln_start_hub(&hub, nats_hub, NULL, NULL), "the hub starts"))
        goto out;
    int r1 = it_free_port(), r2 = it_free_port();
    char url[128], top1[512], top2[512];
    snprintf(url, sizeof url, "nats-leaf://127.0.0.1:%d", hub.lport);
    snprintf(top1, sizeof top1,
             "  cluster:\n    name: spokes\n    listen: \"127.0.0.1:%d\"\n    routes: [ \"nats-route://127.0.0.1:%d\" ]\n",
             r1, r2);
    snprintf(top2, sizeof top2,
             "  cluster:\n    name: spokes\n    listen: \"127.0.0.1:%d\"\n    routes: [ \"nats-route://127.0.0.1:%d\" ]\n",
             r2, r1);
    if (!IT_CHECK(ln_start_leaf(&s1, false, url, NULL, top1), "spoke node 1 starts") ||
        !IT_CHECK(ln_start_leaf(&s2, false, url, NULL, top2), "spoke node 2 starts"))
        goto out;
    IT_CHECK(ln_wait_leafs(&hub, 2, LN_MS), "both spoke nodes are attached to the hub");
    ch = it_nats_connect(&hub.s);
    c1 = it_nats_connect(&s1.s);
    c2 = it_nats_connect(&s2.s);
    if (!IT_CHECK(ch && c1 && c2, "clients connect"))
        goto out;
    natsConnection *spokes[2] = { c1, c2 };
    IT_CHECK(cl_mesh(spokes, 2, LN_MS), "the spoke nodes route to each other");

    /* the hub publishes: each spoke subscriber once per message */
    cl_count a1 = { 0 }, a2 = { 0 };
    cl_sub(c1, "from.hub", NULL, &a1);
    cl_sub(c2, "from.hub", NULL, &a2);
    IT_CHECK(cl_probe(ch, c1, LN_MS) && cl_probe(ch, c2, LN_MS),
             "both spoke nodes' interest reaches the hub");
    for (int i = 0; i < 100; i++)
        natsConnection_PublishString(ch, "from.hub", "x");
    natsConnection_Flush(ch);
    cl_count *ap[2] = { &a1, &a2 };
    IT_CHECK(exact(ch, spokes, 2, ap, 100), "spoke 1 got %d, spoke 2 got %d of 100 from the hub",
             atomic_load(&a1.n), atomic_load(&a2.n));

    /* a queue group on both spoke nodes: the hub picks one member per
     * message, and the spoke it picked keeps it */
    cl_count q1 = { 0 }, q2 = { 0 };
    cl_sub(c1, "q.spokes", "g", &q1);
    cl_sub(c2, "q.spokes", "g", &q2);
    IT_CHECK(cl_probe(ch, c1, LN_MS) && cl_probe(ch, c2, LN_MS), "queue interest reaches the hub");
    for (int i = 0; i < 100; i++)
        natsConnection_PublishString(ch, "q.spokes", "x");
    natsConnection_Flush(ch);
    cl_count *qp[2] = { &q1, &q2 };
    bool qok = cl_wait_sum(qp, 2, 100, LN_MS);
    IT_CHECK(cl_probe(ch, c1, LN_MS) && cl_probe(ch, c2, LN_MS) && qok &&
                 atomic_load(&q1.n) + atomic_load(&q2.n) == 100,
             "the spokes' group got %d of 100 (%d + %d)", atomic_load(&q1.n) + atomic_load(&q2.n),
             atomic_load(&q1.n), atomic_load(&q2.n));

    /* spoke node 1 publishes: the hub subscriber once per message */
    cl_count h = { 0 };
    cl_sub(ch, "to.hub", NULL, &h);
    IT_CHECK(cl_probe(c1, ch, LN_MS) && cl_probe(c2, ch, LN_MS), "the hub's interest reaches both spokes");
    for (int i = 0; i < 100; i++)
        natsConnection_PublishString(c1, "to.hub", "x");
    natsConnection_Flush(c1);
    cl_count *hp[1] = { &h };
    IT_CHECK(exact(c1, &ch, 1, hp, 100), "the hub got %d of 100 from spoke node 1", atomic_load(&h.n));

    /* spoke node 1 publishes, subscribers on spoke node 2 and on the hub:
     * once each (the hub does not send spoke node 1's messages down to
     * spoke node 2, which has them over the route) */
    cl_count b2 = { 0 }, bh = { 0 };
    cl_sub(c2, "from.s1", NULL, &b2);
    cl_sub(ch, "from.s1", NULL, &bh);
    IT_CHECK(drained(c1, c2, ch), "interest in from.s1 crossed every path");
    for (int i = 0; i < 100; i++)
        natsConnection_PublishString(c1, "from.s1", "x");
    natsConnection_Flush(c1);
    bool bok = cl_wait_count(&b2, 100, LN_MS);
    bok = cl_wait_count(&bh, 100, LN_MS) && bok;
    bok = drained(c1, c2, ch) && bok;
    IT_CHECK(bok && atomic_load(&b2.n) == 100 && atomic_load(&bh.n) == 100,
             "of 100 from spoke node 1, spoke node 2 got %d and the hub %d", atomic_load(&b2.n),
             atomic_load(&bh.n));

    /* a queue group with members on spoke node 2 and on the hub: each of
     * spoke node 1's messages once overall */
    cl_count g2 = { 0 }, gh = { 0 };
    cl_sub(c2, "q.mixed", "g", &g2);
    cl_sub(ch, "q.mixed", "g", &gh);
    IT_CHECK(drained(c1, c2, ch), "interest in q.mixed crossed every path");
    for (int i = 0; i < 100; i++)
        natsConnection_PublishString(c1, "q.mixed", "x");
    natsConnection_Flush(c1);
    cl_count *gp[2] = { &g2, &gh };
    bool gok = cl_wait_sum(gp, 2, 100, LN_MS);
    gok = drained(c1, c2, ch) && gok;
    IT_CHECK(gok && atomic_load(&g2.n) + atomic_load(&gh.n) == 100,
             "the group on spoke node 2 and the hub got %d of 100 from spoke node 1 (%d + %d)",
             atomic_load(&g2.n) + atomic_load(&gh.n), atomic_load(&g2.n), atomic_load(&gh.n));

    /* a queue group on spoke node 2 only: none of spoke node 1's messages
     * is lost on the way through the hub (it is not told of the member) */
    cl_count o2 = { 0 };
    cl_sub(c2, "q.s2", "g", &o2);
    IT_CHECK(drained(c1, c2, ch), "interest in q.s2 crossed every path");
    for (int i = 0; i < 100; i++)
        natsConnection_PublishString(c1, "q.s2", "x");
    natsConnection_Flush(c1);
    bool ook = cl_wait_count(&o2, 100, LN_MS);
    ook = drained(c1, c2, ch) && ook;
    IT_CHECK(ook && atomic_load(&o2.n) == 100, "the group on spoke node 2 got %d of 100 from spoke node 1",
             atomic_load(&o2.n));

    /* the hub's interest is not announced over the spokes' route */
    char *rz = ln_http(&s2, "/routez?subs=1");
    IT_CHECK(rz && strstr(rz, "\"routes\"") && !strstr(rz, "to.hub"),
             "spoke node 2's route lists no hub interest: %s", rz ? rz : "(none)");
    free(rz);
    cl_subs_free();
out:
    natsConnection_Destroy(ch);
    natsConnection_Destroy(c1);
    natsConnection_Destroy(c2);
    ln_stop(&s2);
    ln_stop(&s1);
    ln_stop(&hub);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    run(false);
    if (it_nats_server_path() && access(it_nats_server_path(), X_OK) == 0)
        run(true);
    return it_summary();
}
