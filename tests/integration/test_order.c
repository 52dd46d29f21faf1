/* Per-publisher order on every path: with two workers, subscribers land
 * on the publisher's worker and on the other one (connections are handed
 * to workers in turn), through plain, wildcard and queue subscriptions.
 * Every subscriber must see the sequence numbers strictly increasing and,
 * for plain subscriptions, complete. Two publishers run at once so
 * cross-worker batches from both interleave. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_MSGS  20000
#define N_SUBS  4
#define N_PUBS  2

typedef struct sub_state {
    natsSubscription *plain, *wild, *queue;
    long last_plain[N_PUBS], last_wild[N_PUBS], last_queue[N_PUBS];
    long got_plain, got_wild, got_queue;
    bool ordered;
} sub_state;

static bool parse(natsMsg *m, int *pub, long *seq)
{
    const char *d = natsMsg_GetData(m);
    return d && sscanf(d, "%d:%ld", pub, seq) == 2 && *pub >= 0 && *pub < N_PUBS;
}

/* Drain one subscription until it has `want` messages or times out. */
static long drain(natsSubscription *sub, long *last, bool *ordered, long want)
{
    long got = 0;
    while (got < want) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 5000) != NATS_OK)
            break;
        int p;
        long seq;
        if (!parse(m, &p, &seq) || seq <= last[p])
            *ordered = false;
        else
            last[p] = seq;
        got++;
        natsMsg_Destroy(m);
    }
    return got;
}

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();

    natsConnection *sc[N_SUBS] = {0}, *pc[N_PUBS] = {0};
    sub_state st[N_SUBS];
    memset(st, 0, sizeof st);
    bool ok = true;
    for (int i = 0; i < N_SUBS; i++) {
        for (int p = 0; p < N_PUBS; p++)
            st[i].last_plain[p] = st[i].last_wild[p] = st[i].last_queue[p] = -1;
        st[i].ordered = true;
        sc[i] = it_nats_connect(&s);
        ok = ok && sc[i] && natsConnection_SubscribeSync(&st[i].plain, sc[i], "ord.x") == NATS_OK &&
             natsConnection_SubscribeSync(&st[i].wild, sc[i], "ord.*") == NATS_OK &&
             natsConnection_QueueSubscribeSync(&st[i].queue, sc[i], "ord.>", "grp") == NATS_OK &&
             natsSubscription_SetPendingLimits(st[i].plain, -1, -1) == NATS_OK &&
             natsSubscription_SetPendingLimits(st[i].wild, -1, -1) == NATS_OK &&
             natsSubscription_SetPendingLimits(st[i].queue, -1, -1) == NATS_OK &&
             natsConnection_Flush(sc[i]) == NATS_OK;
    }
    for (int p = 0; p < N_PUBS; p++) {
        pc[p] = it_nats_connect(&s);
        ok = ok && pc[p];
    }
    if (!IT_CHECK(ok, "connections and subscriptions")) {
        it_server_stop(&s);
        return it_summary();
    }

    char buf[32];
    for (long i = 0; i < N_MSGS; i++) {
        for (int p = 0; p < N_PUBS; p++) {
            int n = snprintf(buf, sizeof buf, "%d:%ld", p, i);
            if (natsConnection_Publish(pc[p], "ord.x", buf, n) != NATS_OK) {
                IT_CHECK(false, "publish %d:%ld", p, i);
                i = N_MSGS;
                break;
            }
        }
    }
    for (int p = 0; p < N_PUBS; p++)
        IT_CHECK(natsConnection_Flush(pc[p]) == NATS_OK, "flush publisher %d", p);

    long want = (long)N_MSGS * N_PUBS, queued = 0;
    for (int i = 0; i < N_SUBS; i++) {
        st[i].got_plain = drain(st[i].plain, st[i].last_plain, &st[i].ordered, want);
        st[i].got_wild = drain(st[i].wild, st[i].last_wild, &st[i].ordered, want);
        IT_CHECK(st[i].got_plain == want, "subscriber %d plain got %ld of %ld", i,
                 st[i].got_plain, want);
        IT_CHECK(st[i].got_wild == want, "subscriber %d wildcard got %ld of %ld", i,
                 st[i].got_wild, want);
    }
    /* Queue members: whatever each got, in order; together exactly once. */
    for (int i = 0; i < N_SUBS; i++) {
        for (;;) {
            natsMsg *m = NULL;
            if (natsSubscription_NextMsg(&m, st[i].queue, 300) != NATS_OK)
                break;
            int p;
            long seq;
            if (!parse(m, &p, &seq) || seq <= st[i].last_queue[p])
                st[i].ordered = false;
            else
                st[i].last_queue[p] = seq;
            st[i].got_queue++;
            natsMsg_Destroy(m);
        }
        queued += st[i].got_queue;
    }
    IT_CHECK(queued == want, "queue group got %ld of %ld", queued, want);
    for (int i = 0; i < N_SUBS; i++)
        IT_CHECK(st[i].ordered, "subscriber %d saw every publisher's messages in order", i);

    for (int i = 0; i < N_SUBS; i++) {
        natsSubscription_Destroy(st[i].plain);
        natsSubscription_Destroy(st[i].wild);
        natsSubscription_Destroy(st[i].queue);
        natsConnection_Destroy(sc[i]);
    }
    for (int p = 0; p < N_PUBS; p++)
        natsConnection_Destroy(pc[p]);
    it_server_stop(&s);
    return it_summary();
}
