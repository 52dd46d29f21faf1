/* A hub that is a two-node ternd cluster (modules.cluster) with a ternd
 * leaf attached to node 1: clients of node 2 receive what the leaf's
 * clients publish (node 2's interest crosses the route, then the leaf
 * link), and node 2's queue group members get each message once; the
 * leaf's interest crosses the route the other way (node 1 announces its
 * local and leaf interest summed), so node 2's publishers reach the
 * leaf exactly once, a queue group with members on the leaf and on
 * node 2 gets each message once overall, and interest removed on the
 * leaf stops the flow from node 2. */
#include "test_leafnode.h"

/* Poll node n's /routez?subs=1 until needle is (or is not) in it. */
static bool ln_routez_wait(const ln_node *n, const char *needle, bool present, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    for (;;) {
        char *d = ln_http(n, "/routez?subs=1");
        bool ok = d && (strstr(d, needle) != NULL) == present;
        free(d);
        if (ok)
            return true;
        if (it_now_ms() >= end)
            return false;
        it_poll_pause();
    }
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    ln_node h1 = { 0 }, h2 = { 0 }, leaf = { 0 };
    natsConnection *c1 = NULL, *c2 = NULL, *lc = NULL;
    int r1 = it_free_port(), r2 = it_free_port();
    char top1[512], top2[512];
    snprintf(top1, sizeof top1,
             "  cluster:\n    name: hubc\n    listen: \"127.0.0.1:%d\"\n    routes: [ \"nats-route://127.0.0.1:%d\" ]\n",
             r1, r2);
    snprintf(top2, sizeof top2,
             "    listen: \"127.0.0.1:0\"\n  cluster:\n    name: hubc\n    listen: \"127.0.0.1:%d\"\n    routes: [ \"nats-route://127.0.0.1:%d\" ]\n",
             r2, r1);
    /* node 1: hub listener; node 2: a leafnode listener too (unused) */
    if (!IT_CHECK(ln_start_hub(&h1, false, top1, NULL), "hub node 1 starts") ||
        !IT_CHECK(ln_start(&h2, false, top2, NULL), "hub node 2 starts"))
        goto out;
    char url[128];
    snprintf(url, sizeof url, "nats-leaf://127.0.0.1:%d", h1.lport);
    if (!IT_CHECK(ln_start_leaf(&leaf, false, url, NULL, NULL), "leaf starts"))
        goto out;
    IT_CHECK(ln_wait_leafs(&h1, 1, LN_MS), "the leaf is attached to node 1");
    c1 = it_nats_connect(&h1.s);
    c2 = it_nats_connect(&h2.s);
    lc = it_nats_connect(&leaf.s);
    if (!IT_CHECK(c1 && c2 && lc, "clients connect"))
        goto out;
    natsConnection *hubs[2] = { c1, c2 };
    IT_CHECK(cl_mesh(hubs, 2, LN_MS), "the hub nodes route to each other");

    cl_count on2 = { 0 };
    cl_sub(c2, "to.two", NULL, &on2);
    IT_CHECK(cl_probe(lc, c2, LN_MS), "node 2's interest reaches the leaf (route, then leaf)");
    for (int i = 0; i < 20; i++)
        natsConnection_PublishString(lc, "to.two", "x");
    natsConnection_Flush(lc);
    IT_CHECK(cl_wait_count(&on2, 20, LN_MS), "node 2 got %d of 20 from the leaf", atomic_load(&on2.n));

    /* a queue group on node 2: one copy per message */
    cl_count q[2] = { 0 };
    cl_sub(c2, "q.two", "g", &q[0]);
    cl_sub(c2, "q.two", "g", &q[1]);
    IT_CHECK(cl_probe(lc, c2, LN_MS), "queue interest reaches the leaf");
    for (int i = 0; i < 50; i++)
        natsConnection_PublishString(lc, "q.two", "x");
    natsConnection_Flush(lc);
    cl_count *qp[2] = { &q[0], &q[1] };
    bool qok = cl_wait_sum(qp, 2, 50, LN_MS);
    IT_CHECK(qok && atomic_load(&q[0].n) + atomic_load(&q[1].n) == 50, "node 2's group got %d of 50",
             atomic_load(&q[0].n) + atomic_load(&q[1].n));

    /* node 2 publishes, a leaf client receives: exactly N */
    cl_count onl = { 0 }, fence = { 0 };
    natsSubscription *ls = cl_sub(lc, "to.leaf", NULL, &onl);
    cl_sub(lc, "fence.leaf", NULL, &fence);
    IT_CHECK(cl_probe(c2, lc, LN_MS), "the leaf's interest reaches node 2 (leaf link, then route)");
    IT_CHECK(ln_fenced(c2, "to.leaf", 100, "fence.leaf", &fence, 1) &&
                 cl_wait_count(&onl, 100, LN_MS),
             "the leaf got %d of 100 from node 2", atomic_load(&onl.n));
    IT_CHECK(cl_probe(c2, lc, LN_MS) && atomic_load(&onl.n) == 100 && atomic_load(&fence.n) == 1,
             "no duplicates: %d messages, %d fences", atomic_load(&onl.n), atomic_load(&fence.n));

    /* a queue group with members on the leaf and on node 2 */
    cl_count g[3] = { 0 };
    cl_sub(lc, "q.both", "g", &g[0]);
    cl_sub(lc, "q.both", "g", &g[1]);
    cl_sub(c2, "q.both", "g", &g[2]);
    IT_CHECK(cl_probe(c2, lc, LN_MS) && cl_probe(c1, lc, LN_MS) && cl_probe(lc, c2, LN_MS),
             "queue interest is everywhere");
    cl_count *gp[3] = { &g[0], &g[1], &g[2] };
    for (int i = 0; i < 60; i++) {
        natsConnection_PublishString(c2, "q.both", "x");
        natsConnection_PublishString(c1, "q.both", "x");
        natsConnection_PublishString(lc, "q.both", "x");
    }
    natsConnection_Flush(c2);
    natsConnection_Flush(c1);
    natsConnection_Flush(lc);
    bool gok = cl_wait_sum(gp, 3, 180, LN_MS);
    IT_CHECK(cl_probe(c2, lc, LN_MS) && cl_probe(c1, lc, LN_MS) && cl_probe(lc, c2, LN_MS) && gok &&
                 atomic_load(&g[0].n) + atomic_load(&g[1].n) + atomic_load(&g[2].n) == 180,
             "the group got %d of 180 (leaf %d+%d, node 2 %d)",
             atomic_load(&g[0].n) + atomic_load(&g[1].n) + atomic_load(&g[2].n),
             atomic_load(&g[0].n), atomic_load(&g[1].n), atomic_load(&g[2].n));

    /* only the leaf's members: node 1's sum (local 0 + leaf 2) is the
     * weight node 2 routes by */
    cl_count g2[2] = { 0 };
    cl_sub(lc, "q.leaf", "h", &g2[0]);
    cl_sub(lc, "q.leaf", "h", &g2[1]);
    IT_CHECK(cl_probe(c2, lc, LN_MS), "the leaf's group reaches node 2");
    for (int i = 0; i < 40; i++)
        natsConnection_PublishString(c2, "q.leaf", "x");
    natsConnection_Flush(c2);
    cl_count *g2p[2] = { &g2[0], &g2[1] };
    bool g2ok = cl_wait_sum(g2p, 2, 40, LN_MS);
    IT_CHECK(cl_probe(c2, lc, LN_MS) && g2ok &&
                 atomic_load(&g2[0].n) + atomic_load(&g2[1].n) == 40,
             "the leaf's group got %d of 40 from node 2", atomic_load(&g2[0].n) + atomic_load(&g2[1].n));

    /* interest removed on the leaf: node 1 withdraws it from the route
     * (RS-, node 2's /routez no longer lists it), and what node 2 still
     * publishes goes nowhere */
    IT_CHECK(ln_routez_wait(&h2, "to.leaf", true, LN_MS), "node 2 lists the leaf's interest");
    natsSubscription_Unsubscribe(ls);
    natsConnection_Flush(lc);
    IT_CHECK(ln_routez_wait(&h2, "to.leaf", false, LN_MS),
             "node 2 drops the leaf's interest after the unsubscribe");
    cl_count late = { 0 };
    cl_sub(c1, "to.leaf", NULL, &late);   /* node 1 still wants it: the route stays open for it */
    IT_CHECK(cl_probe(c2, c1, LN_MS), "node 1's own interest reaches node 2");
    IT_CHECK(ln_fenced(c2, "to.leaf", 10, "fence.leaf", &fence, 2) && cl_wait_count(&late, 10, LN_MS),
             "node 1 got %d of 10", atomic_load(&late.n));
    IT_CHECK(atomic_load(&onl.n) == 100, "the leaf got nothing more: %d", atomic_load(&onl.n));
    cl_subs_free();
out:
    natsConnection_Destroy(c1);
    natsConnection_Destroy(c2);
    natsConnection_Destroy(lc);
    ln_stop(&leaf);
    ln_stop(&h2);
    ln_stop(&h1);
    return it_summary();
}
