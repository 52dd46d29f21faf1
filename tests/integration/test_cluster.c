/* A three-node ternd cluster (modules/cluster): B and C are seeded with A
 * only, gossip completes the mesh; exact delivery counts for plain and
 * queue subscribers across nodes; request/reply across servers; a client
 * given one URL learns the others (connect_urls) and fails over when its
 * server is killed; the killed node restarts and rejoins with interest
 * restored; a node added at runtime is found by everyone through gossip. */
#include "test_cluster.h"

#include <pthread.h>

#define MESH_MS 10000

static cl_node nodes[4];

/* Publish count messages on subj from each of pubs, then a fence; wait
 * until every fence subscriber saw all fences (same publisher, same
 * routes: the data is in before the fence). */
static bool publish_fenced(natsConnection **pubs, int npubs, const char *subj, int count,
                           const char *fence, cl_count *fences, int nfences)
{
    for (int p = 0; p < npubs; p++) {
        for (int i = 0; i < count; i++)
            natsConnection_PublishString(pubs[p], subj, "x");
        natsConnection_PublishString(pubs[p], fence, "f");
        natsConnection_Flush(pubs[p]);
    }
    bool ok = true;
    for (int f = 0; f < nfences; f++)
        ok = cl_wait_count(&fences[f], npubs, 10000) && ok;
    return ok;
}

static void reset(cl_count *c, int n)
{
    for (int i = 0; i < n; i++)
        atomic_store(&c[i].n, 0);
}

int main(void)
{
    cl_node *A = &nodes[0], *B = &nodes[1], *C = &nodes[2], *D = &nodes[3];
    int seedA[] = { 0, 0 };
    natsConnection *ca = NULL, *cb = NULL, *cc = NULL;
    if (!IT_CHECK(cl_start(A, "tc", NULL, false, NULL, NULL), "node A starts"))
        return it_summary();
    seedA[0] = A->rport;
    if (!IT_CHECK(cl_start(B, "tc", seedA, false, NULL, NULL), "node B starts") ||
        !IT_CHECK(cl_start(C, "tc", seedA, false, NULL, NULL), "node C starts"))
        goto out;

    ca = it_nats_connect(&A->s);
    cb = it_nats_connect(&B->s);
    cc = it_nats_connect(&C->s);
    if (!IT_CHECK(ca && cb && cc, "clients connect"))
        goto out;
    natsConnection *all[3] = { ca, cb, cc };
    /* B and C reach each other only over the route gossip made */
    if (!IT_CHECK(cl_mesh(all, 3, MESH_MS), "full mesh of 3 (B-C through gossip)"))
        goto out;

    /* ---- plain: every subscriber once per message ---------------------- */
    cl_count plain[3] = { 0 }, fence[3] = { 0 };
    for (int i = 0; i < 3; i++) {
        cl_sub(all[i], "cnt", NULL, &plain[i]);
        cl_sub(all[i], "fence.cnt", NULL, &fence[i]);
    }
    for (int p = 0; p < 3; p++)
        for (int s = 0; s < 3; s++)
            if (p != s)
                IT_CHECK(cl_probe(all[p], all[s], MESH_MS), "interest of %d known at %d", s, p);
    natsConnection *pubs2[2] = { ca, cb };
    IT_CHECK(publish_fenced(pubs2, 2, "cnt", 100, "fence.cnt", fence, 3), "fences arrive");
    for (int i = 0; i < 3; i++)
        IT_CHECK(cl_wait_count(&plain[i], 200, 3000), "node %d plain subscriber got %d of 200", i,
                 atomic_load(&plain[i].n));

    /* ---- queue: once per group, members on B and C, publisher on A ---- */
    cl_count q[4] = { 0 }, qf[2] = { 0 };
    cl_sub(cb, "work", "g", &q[0]);
    cl_sub(cb, "work", "g", &q[1]);
    cl_sub(cc, "work", "g", &q[2]);
    cl_sub(cc, "work", "g", &q[3]);
    cl_sub(cb, "fence.work", NULL, &qf[0]);
    cl_sub(cc, "fence.work", NULL, &qf[1]);
    IT_CHECK(cl_probe(ca, cb, MESH_MS) && cl_probe(ca, cc, MESH_MS), "queue interest known at A");
    IT_CHECK(publish_fenced(&ca, 1, "work", 300, "fence.work", qf, 2), "queue fences arrive");
    cl_count *qp[4] = { &q[0], &q[1], &q[2], &q[3] };
    bool q_ok = cl_wait_sum(qp, 4, 300, 3000);
    int onb = atomic_load(&q[0].n) + atomic_load(&q[1].n);
    int onc = atomic_load(&q[2].n) + atomic_load(&q[3].n);
    IT_CHECK(q_ok && onb + onc == 300, "queue group got %d of 300 (B %d, C %d)", onb + onc, onb, onc);
    IT_CHECK(onb > 0 && onc > 0, "both nodes' members served (B %d, C %d)", onb, onc);
    /* a publisher next to members: local members first */
    reset(q, 4);
    reset(qf, 2);
    IT_CHECK(publish_fenced(&cb, 1, "work", 50, "fence.work", qf, 2), "queue fences arrive (B)");
    IT_CHECK(cl_wait_sum(qp, 4, 50, 3000) &&
             atomic_load(&q[0].n) + atomic_load(&q[1].n) == 50 &&
             atomic_load(&q[2].n) + atomic_load(&q[3].n) == 0,
             "publisher on B: B's members got all 50 (C: %d)", atomic_load(&q[2].n) + atomic_load(&q[3].n));

    /* ---- request/reply across servers ------------------------------------ */
    cl_count svc = { .respond = true };
    cl_sub(cc, "svc", NULL, &svc);
    IT_CHECK(cl_probe(ca, cc, MESH_MS), "service interest known at A");
    natsMsg *reply = NULL;
    natsStatus st = natsConnection_RequestString(&reply, ca, "svc", "ping", 5000);
    IT_CHECK(st == NATS_OK && reply && !strcmp(natsMsg_GetData(reply), "pong"),
             "request on A answered from C: %s", natsStatus_GetText(st));
    natsMsg_Destroy(reply);

    /* ---- connect_urls and failover --------------------------------------- */
    natsConnection *f = cl_follower(C);
    if (!IT_CHECK(f != NULL, "follower connects to C"))
        goto out;
    IT_CHECK(cl_wait_known(f, 3, 5000), "follower learned the 3 servers (knows %d)", cl_known_servers(f));
    cl_count fo = { 0 }, fof = { 0 };
    cl_sub(f, "fo", NULL, &fo);
    natsConnection_Flush(f);
    natsConnection_Destroy(cc);
    cc = NULL;
    cl_stop(C);
    int64_t end = it_now_ms() + 10000;
    char url[128] = "";
    while (it_now_ms() < end) {
        if (natsConnection_Status(f) == NATS_CONN_STATUS_CONNECTED &&
            natsConnection_GetConnectedUrl(f, url, sizeof url) == NATS_OK && strstr(url, ":") &&
            !strstr(url, C->s.url + 7))
            break;
        it_poll_pause();
    }
    IT_CHECK(natsConnection_Status(f) == NATS_CONN_STATUS_CONNECTED && !strstr(url, C->s.url + 7),
             "follower failed over from C to %s", url);
    cl_sub(f, "fence.fo", NULL, &fof);
    IT_CHECK(cl_probe(ca, f, MESH_MS), "follower's interest known at A after failover");
    IT_CHECK(publish_fenced(&ca, 1, "fo", 10, "fence.fo", &fof, 1), "fence after failover");
    IT_CHECK(cl_wait_count(&fo, 10, 3000), "follower got %d of 10 after failover", atomic_load(&fo.n));

    /* ---- C restarts: rejoins, interest restored both ways ----------------- */
    if (!IT_CHECK(cl_start(C, "tc", seedA, false, NULL, NULL), "node C restarts"))
        goto out;
    cc = it_nats_connect(&C->s);
    all[2] = cc;
    IT_CHECK(cc && cl_mesh(all, 3, MESH_MS), "C rejoined the mesh");
    reset(plain, 3);
    reset(fence, 3);
    cl_count cnew = { 0 }, cnewf = { 0 };
    cl_sub(cc, "cnt", NULL, &cnew);
    cl_sub(cc, "fence.cnt", NULL, &cnewf);
    IT_CHECK(cl_probe(ca, cc, MESH_MS), "C's new interest known at A");
    /* A's and B's old subscriptions reach C's publisher after the restart */
    IT_CHECK(publish_fenced(&cc, 1, "cnt", 20, "fence.cnt", fence, 2), "fences from C");
    IT_CHECK(cl_wait_count(&plain[0], 20, 3000) && cl_wait_count(&plain[1], 20, 3000),
             "A and B subscribers got %d and %d of 20 from the restarted C", atomic_load(&plain[0].n),
             atomic_load(&plain[1].n));
    /* C's own subscriber saw C's messages (echo): count A's alone next */
    IT_CHECK(cl_wait_count(&cnewf, 1, 3000) && cl_wait_count(&cnew, 20, 3000), "C's local delivery");
    atomic_store(&cnew.n, 0);
    atomic_store(&cnewf.n, 0);
    IT_CHECK(publish_fenced(&ca, 1, "cnt", 20, "fence.cnt", &cnewf, 1), "fence to C");
    IT_CHECK(cl_wait_count(&cnew, 20, 3000), "C subscriber got %d of 20 from A", atomic_load(&cnew.n));

    /* ---- D added at runtime, seeded with A only: found by gossip ---------- */
    if (!IT_CHECK(cl_start(D, "tc", seedA, false, NULL, NULL), "node D starts"))
        goto out;
    natsConnection *cd = it_nats_connect(&D->s);
    natsConnection *four[4] = { ca, cb, cc, cd };
    IT_CHECK(cd && cl_mesh(four, 4, MESH_MS), "D reaches B and C directly (gossip)");
    natsConnection *fb = cl_follower(B);
    IT_CHECK(fb && cl_wait_known(fb, 4, 5000), "a client of B learns D's URL (knows %d)",
             fb ? cl_known_servers(fb) : -1);
    natsConnection_Destroy(fb);
    natsConnection_Destroy(cd);
    natsConnection_Destroy(f);

out:
    natsConnection_Destroy(ca);
    natsConnection_Destroy(cb);
    natsConnection_Destroy(cc);
    for (int i = 0; i < 4; i++)
        cl_stop(&nodes[i]);
    cl_subs_free();
    nats_Close();
    return it_summary();
}
