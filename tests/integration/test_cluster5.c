/* Five ternd nodes seeded as a chain (each with the previous one only):
 * gossip makes the full mesh; every plain subscriber gets each message
 * exactly once, a queue group spread over four nodes gets each message
 * exactly once, and nothing loops back (one hop over routes). */
#include "test_cluster.h"

#define N 5
#define MESH_MS 15000

int main(void)
{
    cl_node nodes[N] = { 0 };
    natsConnection *nc[N] = { 0 };
    for (int i = 0; i < N; i++) {
        int seed[] = { i ? nodes[i - 1].rport : 0, 0 };
        if (!IT_CHECK(cl_start(&nodes[i], "five", seed, false, NULL, NULL), "node %d starts", i))
            goto out;
        nc[i] = it_nats_connect(&nodes[i].s);
        if (!IT_CHECK(nc[i] != NULL, "client %d connects", i))
            goto out;
    }
    if (!IT_CHECK(cl_mesh(nc, N, MESH_MS), "full mesh of 5 from a seed chain"))
        goto out;

    cl_count plain[N] = { 0 }, q[N] = { 0 }, fence[N] = { 0 };
    for (int i = 0; i < N; i++) {
        cl_sub(nc[i], "all", NULL, &plain[i]);
        if (i)
            cl_sub(nc[i], "jobs", "workers", &q[i]);
        cl_sub(nc[i], "fence", NULL, &fence[i]);
    }
    for (int p = 0; p < N; p++)
        for (int s = 0; s < N; s++)
            if (p != s && !IT_CHECK(cl_probe(nc[p], nc[s], MESH_MS), "interest of %d known at %d", s, p))
                goto out;
    /* 40 plain messages from every node, 200 queue messages from node 0 */
    for (int p = 0; p < N; p++) {
        for (int k = 0; k < 40; k++)
            natsConnection_PublishString(nc[p], "all", "x");
        if (p == 0)
            for (int k = 0; k < 200; k++)
                natsConnection_PublishString(nc[p], "jobs", "j");
        natsConnection_PublishString(nc[p], "fence", "f");
        natsConnection_Flush(nc[p]);
    }
    for (int i = 0; i < N; i++)
        IT_CHECK(cl_wait_count(&fence[i], N, 10000), "node %d saw %d of %d fences", i,
                 atomic_load(&fence[i].n), N);
    cl_count *qp[N];
    for (int i = 0; i < N; i++)
        qp[i] = &q[i];
    bool q_ok = cl_wait_sum(qp, N, 200, 3000);
    int total = 0, served = 0;
    for (int i = 0; i < N; i++) {
        IT_CHECK(cl_wait_count(&plain[i], 40 * N, 3000), "node %d plain subscriber got %d of %d", i,
                 atomic_load(&plain[i].n), 40 * N);
        total += atomic_load(&q[i].n);
        served += atomic_load(&q[i].n) > 0;
    }
    IT_CHECK(q_ok && total == 200, "queue group got %d of 200", total);
    IT_CHECK(served >= 2, "queue messages spread over %d remote nodes", served);
out:
    for (int i = 0; i < N; i++) {
        natsConnection_Destroy(nc[i]);
        cl_stop(&nodes[i]);
    }
    cl_subs_free();
    nats_Close();
    return it_summary();
}
