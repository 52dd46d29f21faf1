/* INTEROP: one ternd and one nats-server 2.9 in one cluster, each seeded
 * with the other (both directions of the handshake race). Clients on each
 * side exchange plain, queue (with the groups listed in RMSG), headers
 * (HMSG) and request/reply traffic; each side's clients learn the other's
 * URL from connect_urls. */
#include "test_cluster.h"

#define MESH_MS 10000

static bool fenced(natsConnection *pub, const char *subj, int count, const char *fence,
                   cl_count *f, int want_fences)
{
    for (int i = 0; i < count; i++)
        natsConnection_PublishString(pub, subj, "x");
    natsConnection_PublishString(pub, fence, "f");
    natsConnection_Flush(pub);
    return cl_wait_count(f, want_fences, 10000);
}

int main(void)
{
    cl_node t = { 0 }, n = { 0 };
    natsConnection *ct = NULL, *cn = NULL, *ft = NULL, *fn = NULL;
    t.rport = it_free_port();
    n.rport = it_free_port();
    int seed_n[] = { n.rport, 0 }, seed_t[] = { t.rport, 0 };
    if (!IT_CHECK(cl_start(&n, "mix", seed_t, true, NULL, NULL), "nats-server starts") ||
        !IT_CHECK(cl_start(&t, "mix", seed_n, false, NULL, NULL), "ternd starts"))
        goto out;
    ct = it_nats_connect(&t.s);
    cn = it_nats_connect(&n.s);
    if (!IT_CHECK(ct && cn, "clients connect"))
        goto out;
    natsConnection *both[2] = { ct, cn };
    if (!IT_CHECK(cl_mesh(both, 2, MESH_MS), "ternd and nats-server route to each other"))
        goto out;

    /* plain, both ways */
    cl_count pt = { 0 }, pn = { 0 }, ftc = { 0 }, fnc = { 0 };
    cl_sub(ct, "plain", NULL, &pt);
    cl_sub(ct, "fence", NULL, &ftc);
    cl_sub(cn, "plain", NULL, &pn);
    cl_sub(cn, "fence", NULL, &fnc);
    IT_CHECK(cl_probe(cn, ct, MESH_MS) && cl_probe(ct, cn, MESH_MS), "interest crosses both ways");
    IT_CHECK(fenced(cn, "plain", 100, "fence", &ftc, 1), "fence nats-server -> ternd");
    IT_CHECK(fenced(ct, "plain", 100, "fence", &fnc, 2), "fence ternd -> nats-server");
    IT_CHECK(cl_wait_count(&ftc, 2, 10000), "ternd's own fence");
    IT_CHECK(cl_wait_count(&pt, 200, 3000), "ternd subscriber got %d of 200", atomic_load(&pt.n));
    IT_CHECK(cl_wait_count(&pn, 200, 3000), "nats-server subscriber got %d of 200", atomic_load(&pn.n));

    /* queue: members on the far side only, then on both sides */
    cl_count qt[2] = { 0 }, qn[2] = { 0 };
    cl_sub(cn, "q.a", "g", &qn[0]);
    cl_sub(cn, "q.a", "g", &qn[1]);
    cl_sub(ct, "q.b", "g", &qt[0]);
    cl_sub(ct, "q.b", "g", &qt[1]);
    atomic_store(&ftc.n, 0);
    atomic_store(&fnc.n, 0);
    IT_CHECK(cl_probe(ct, cn, MESH_MS) && cl_probe(cn, ct, MESH_MS), "queue interest crosses");
    IT_CHECK(fenced(ct, "q.a", 100, "fence", &fnc, 1), "fence after queue ternd -> nats-server");
    IT_CHECK(fenced(cn, "q.b", 100, "fence", &ftc, 2), "fence after queue nats-server -> ternd");
    cl_count *qnp[2] = { &qn[0], &qn[1] }, *qtp[2] = { &qt[0], &qt[1] };
    bool a_ok = cl_wait_sum(qnp, 2, 100, 3000), b_ok = cl_wait_sum(qtp, 2, 100, 3000);
    int a = atomic_load(&qn[0].n) + atomic_load(&qn[1].n);
    int b = atomic_load(&qt[0].n) + atomic_load(&qt[1].n);
    IT_CHECK(a_ok && a == 100, "nats-server's group got %d of 100 from ternd", a);
    IT_CHECK(b_ok && b == 100, "ternd's group got %d of 100 from nats-server", b);

    /* headers cross as HMSG */
    natsSubscription *hs = NULL;
    natsConnection_SubscribeSync(&hs, ct, "hdr");
    IT_CHECK(cl_probe(cn, ct, MESH_MS), "header subject interest crosses");
    natsMsg *m = NULL;
    natsMsg_Create(&m, "hdr", NULL, "body", 4);
    natsMsgHeader_Set(m, "X-Tern", "yes");
    natsConnection_PublishMsg(cn, m);
    natsConnection_Flush(cn);
    natsMsg_Destroy(m);
    m = NULL;
    const char *hv = NULL;
    IT_CHECK(natsSubscription_NextMsg(&m, hs, 5000) == NATS_OK && natsMsgHeader_Get(m, "X-Tern", &hv) == NATS_OK &&
             hv && !strcmp(hv, "yes") && natsMsg_GetDataLength(m) == 4,
             "header from nats-server arrives at ternd");
    natsMsg_Destroy(m);
    natsSubscription_Destroy(hs);

    /* request/reply both ways */
    cl_count st = { .respond = true }, sn = { .respond = true };
    cl_sub(ct, "svc.t", NULL, &st);
    cl_sub(cn, "svc.n", NULL, &sn);
    IT_CHECK(cl_probe(cn, ct, MESH_MS) && cl_probe(ct, cn, MESH_MS), "service interest crosses");
    natsMsg *r = NULL;
    natsStatus s1 = natsConnection_RequestString(&r, cn, "svc.t", "ping", 5000);
    IT_CHECK(s1 == NATS_OK && r && !strcmp(natsMsg_GetData(r), "pong"), "nats-server client -> ternd service: %s",
             natsStatus_GetText(s1));
    natsMsg_Destroy(r);
    r = NULL;
    s1 = natsConnection_RequestString(&r, ct, "svc.n", "ping", 5000);
    IT_CHECK(s1 == NATS_OK && r && !strcmp(natsMsg_GetData(r), "pong"), "ternd client -> nats-server service: %s",
             natsStatus_GetText(s1));
    natsMsg_Destroy(r);

    /* connect_urls: each side's clients learn the other server */
    ft = cl_follower(&t);
    fn = cl_follower(&n);
    IT_CHECK(ft && cl_wait_known(ft, 2, 5000), "ternd's client learned nats-server's URL");
    IT_CHECK(fn && cl_wait_known(fn, 2, 5000), "nats-server's client learned ternd's URL");
out:
    natsConnection_Destroy(ft);
    natsConnection_Destroy(fn);
    natsConnection_Destroy(ct);
    natsConnection_Destroy(cn);
    cl_stop(&t);
    cl_stop(&n);
    cl_subs_free();
    nats_Close();
    return it_summary();
}
