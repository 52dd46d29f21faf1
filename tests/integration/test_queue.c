/* Queue groups: each message goes to exactly one member of the group;
 * every member gets a share; a plain subscription on the same subject
 * still gets every message, independently of the group. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_MSGS    600
#define N_MEMBERS 3

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();

    natsConnection *mc[N_MEMBERS] = { 0 }, *plainc = NULL, *pub = NULL;
    natsSubscription *member[N_MEMBERS] = { 0 }, *mend[N_MEMBERS] = { 0 };
    natsSubscription *plain = NULL, *pend = NULL, *other_group = NULL;
    bool ok = true;
    for (int i = 0; i < N_MEMBERS; i++) {
        mc[i] = it_nats_connect(&s);
        ok = ok && mc[i] &&
             natsConnection_QueueSubscribeSync(&member[i], mc[i], "q.work", "workers") == NATS_OK &&
             natsConnection_SubscribeSync(&mend[i], mc[i], "q.end") == NATS_OK &&
             natsConnection_Flush(mc[i]) == NATS_OK;
    }
    plainc = it_nats_connect(&s);
    ok = ok && plainc && natsConnection_SubscribeSync(&plain, plainc, "q.work") == NATS_OK &&
         natsConnection_QueueSubscribeSync(&other_group, plainc, "q.*", "others") == NATS_OK &&
         natsConnection_SubscribeSync(&pend, plainc, "q.end") == NATS_OK &&
         natsConnection_Flush(plainc) == NATS_OK;
    pub = it_nats_connect(&s);
    ok = ok && pub;
    if (!IT_CHECK(ok, "connections and subscriptions")) {
        it_server_stop(&s);
        return it_summary();
    }

    char p[32];
    for (int i = 0; i < N_MSGS; i++) {
        int n = snprintf(p, sizeof p, "%d", i);
        if (natsConnection_Publish(pub, "q.work", p, n) != NATS_OK) {
            IT_CHECK(false, "publish %d", i);
            break;
        }
    }
    IT_CHECK(natsConnection_PublishString(pub, "q.end", "END") == NATS_OK, "publish end");
    IT_CHECK(natsConnection_Flush(pub) == NATS_OK, "flush publisher");

    /* Per-publisher order: once a connection has its END, all of its
     * q.work deliveries are queued in the client. */
    int seen[N_MSGS] = { 0 }, per_member[N_MEMBERS] = { 0 }, total = 0;
    for (int i = 0; i < N_MEMBERS; i++) {
        natsMsg *m = NULL;
        IT_CHECK(natsSubscription_NextMsg(&m, mend[i], 5000) == NATS_OK, "member %d END", i);
        natsMsg_Destroy(m);
        uint64_t q = 0;
        natsSubscription_QueuedMsgs(member[i], &q);
        for (uint64_t k = 0; k < q; k++) {
            if (natsSubscription_NextMsg(&m, member[i], 1000) != NATS_OK)
                break;
            int idx = atoi(natsMsg_GetData(m));
            if (idx >= 0 && idx < N_MSGS)
                seen[idx]++;
            per_member[i]++;
            total++;
            natsMsg_Destroy(m);
        }
    }
    int dup = 0, missing = 0;
    for (int i = 0; i < N_MSGS; i++) {
        dup += seen[i] > 1;
        missing += seen[i] == 0;
    }
    IT_CHECK(total == N_MSGS, "group received %d messages in total, want %d", total, N_MSGS);
    IT_CHECK(dup == 0 && missing == 0, "group: %d duplicated, %d missing", dup, missing);
    for (int i = 0; i < N_MEMBERS; i++)
        IT_CHECK(per_member[i] > 0, "member %d got no message (shares %d/%d/%d)", i,
                 per_member[0], per_member[1], per_member[2]);

    /* Plain subscriber and a second group (one member, wildcard) on the
     * same subject: every message, in order. */
    natsMsg *m = NULL;
    IT_CHECK(natsSubscription_NextMsg(&m, pend, 5000) == NATS_OK, "plain END");
    natsMsg_Destroy(m);
    int in_order = 0, plain_total = 0, group2_total = 0;
    uint64_t q = 0;
    natsSubscription_QueuedMsgs(plain, &q);
    for (uint64_t k = 0; k < q && natsSubscription_NextMsg(&m, plain, 1000) == NATS_OK; k++) {
        in_order += atoi(natsMsg_GetData(m)) == plain_total;
        plain_total++;
        natsMsg_Destroy(m);
    }
    natsSubscription_QueuedMsgs(other_group, &q);
    for (uint64_t k = 0; k < q && natsSubscription_NextMsg(&m, other_group, 1000) == NATS_OK; k++) {
        group2_total += strcmp(natsMsg_GetSubject(m), "q.work") == 0;
        natsMsg_Destroy(m);
    }
    IT_CHECK(plain_total == N_MSGS && in_order == N_MSGS,
             "plain subscriber got %d messages (%d in order), want %d", plain_total, in_order,
             N_MSGS);
    /* q.end also matches q.* : the single-member group gets it too. */
    IT_CHECK(group2_total == N_MSGS, "second group got %d q.work messages, want %d",
             group2_total, N_MSGS);

    for (int i = 0; i < N_MEMBERS; i++) {
        natsSubscription_Destroy(member[i]);
        natsSubscription_Destroy(mend[i]);
        natsConnection_Destroy(mc[i]);
    }
    natsSubscription_Destroy(plain);
    natsSubscription_Destroy(pend);
    natsSubscription_Destroy(other_group);
    natsConnection_Destroy(plainc);
    natsConnection_Destroy(pub);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
