/* A spoke cluster: two ternd nodes routed to each other (modules.cluster),
 * each with its own leaf node remote to the same ternd hub. A message
 * from the hub reaches a subscriber on each spoke node exactly once
 * (each spoke gets it over its own link and does not pass it over the
 * route), one published on a spoke node reaches the hub exactly once
 * (the other spoke node does not send what crossed the route up to the
 * hub), and interest does not loop (the hub's interest is not announced
 * over the spoke cluster's route). */
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

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    ln_node hub = { 0 }, s1 = { 0 }, s2 = { 0 };
    natsConnection *ch = NULL, *c1 = NULL, *c2 = NULL;
    if (!IT_CHECK(ln_start_hub(&hub, false, NULL, NULL), "the hub starts"))
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
    return it_summary();
}
