/* Accounts across a two-node cluster: interest and messages carry the
 * account, so the same subject in two accounts stays apart on the route;
 * a service exported by account B and imported by account A answers a
 * requester on the other server. */
#include "test_cluster.h"

#define MESH_MS 10000

static const char *const accounts =
    "accounts:\n"
    "  A:\n"
    "    users: [ { user: a, password: a } ]\n"
    "    imports:\n"
    "      - { service: { account: B, subject: \"svc.>\" } }\n"
    "  B:\n"
    "    users: [ { user: b, password: b } ]\n"
    "    exports:\n"
    "      - { service: \"svc.>\" }\n";

int main(void)
{
    cl_node n1 = { 0 }, n2 = { 0 };
    natsConnection *a1 = NULL, *a2 = NULL, *b1 = NULL, *b2 = NULL;
    if (!IT_CHECK(cl_start(&n1, "acc", NULL, false, NULL, accounts), "node 1 starts"))
        goto out;
    int seed[] = { n1.rport, 0 };
    if (!IT_CHECK(cl_start(&n2, "acc", seed, false, NULL, accounts), "node 2 starts"))
        goto out;
    a1 = it_nats_login(&n1.s, "a", "a");
    a2 = it_nats_login(&n2.s, "a", "a");
    b1 = it_nats_login(&n1.s, "b", "b");
    b2 = it_nats_login(&n2.s, "b", "b");
    if (!IT_CHECK(a1 && a2 && b1 && b2, "users of A and B on both nodes"))
        goto out;
    natsConnection *as[2] = { a1, a2 }, *bs[2] = { b1, b2 };
    IT_CHECK(cl_mesh(as, 2, MESH_MS) && cl_mesh(bs, 2, MESH_MS), "both accounts cross the route");

    /* the same subject in two accounts */
    cl_count inA = { 0 }, inB = { 0 }, fA = { 0 }, fB = { 0 };
    cl_sub(a2, "same", NULL, &inA);
    cl_sub(a2, "fence", NULL, &fA);
    cl_sub(b2, "same", NULL, &inB);
    cl_sub(b2, "fence", NULL, &fB);
    IT_CHECK(cl_probe(a1, a2, MESH_MS) && cl_probe(b1, b2, MESH_MS), "interest of both accounts known");
    for (int i = 0; i < 30; i++)
        natsConnection_PublishString(a1, "same", "a");
    natsConnection_PublishString(a1, "fence", "f");
    natsConnection_Flush(a1);
    natsConnection_PublishString(b1, "fence", "f");
    natsConnection_Flush(b1);
    IT_CHECK(cl_wait_count(&fA, 1, 5000) && cl_wait_count(&fB, 1, 5000), "fences in both accounts");
    IT_CHECK(cl_wait_count(&inA, 30, 3000), "A's subscriber got %d of 30", atomic_load(&inA.n));
    IT_CHECK(atomic_load(&inB.n) == 0, "B's subscriber got %d of A's messages", atomic_load(&inB.n));

    /* a service of B on node 2, requested by A on node 1 through its import */
    cl_count svc = { .respond = true };
    cl_sub(b2, "svc.time", NULL, &svc);
    IT_CHECK(cl_probe(b1, b2, MESH_MS), "B's service interest known at node 1");
    natsMsg *r = NULL;
    natsStatus st = natsConnection_RequestString(&r, a1, "svc.time", "now?", 5000);
    IT_CHECK(st == NATS_OK && r && !strcmp(natsMsg_GetData(r), "pong"),
             "A on node 1 -> import -> B's service on node 2 -> reply: %s", natsStatus_GetText(st));
    natsMsg_Destroy(r);
out:
    natsConnection_Destroy(a1);
    natsConnection_Destroy(a2);
    natsConnection_Destroy(b1);
    natsConnection_Destroy(b2);
    cl_stop(&n1);
    cl_stop(&n2);
    cl_subs_free();
    nats_Close();
    return it_summary();
}
