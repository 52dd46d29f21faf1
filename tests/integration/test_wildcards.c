/* Wildcard subscriptions: `*` matches exactly one token, `>` one or more
 * trailing tokens; messages carry the published subject, never the
 * subscription's pattern. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

static const char *published[] = { "w", "w.a", "w.b", "w.b.c", "w.b.c.d", "x.b.y", "wa.b" };
#define N_PUB (sizeof published / sizeof published[0])

static const struct {
    const char *pattern;
    const char *expect; /* published subjects it must get, in order, '|'-joined */
} cases[] = {
    { "w.*", "w.a|w.b" },
    { "w.>", "w.a|w.b|w.b.c|w.b.c.d" },
    { "w.*.c", "w.b.c" },
    { "*.b.*", "w.b.c|x.b.y" },
    { "*.b", "w.b|wa.b" },
    { "w.b.c", "w.b.c" },
    { "*", "w" },
    { "w.*.>", "w.b.c|w.b.c.d" },
};
#define N_CASES (sizeof cases / sizeof cases[0])

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();
    natsConnection *sc = it_nats_connect(&s), *pc = it_nats_connect(&s);
    if (!IT_CHECK(sc && pc, "connect")) {
        it_server_stop(&s);
        return it_summary();
    }
    natsSubscription *subs[N_CASES] = { 0 }, *all = NULL;
    for (size_t i = 0; i < N_CASES; i++)
        IT_CHECK(natsConnection_SubscribeSync(&subs[i], sc, cases[i].pattern) == NATS_OK,
                 "subscribe %s", cases[i].pattern);
    /* `>` alone sees everything, the END sentinel last. */
    IT_CHECK(natsConnection_SubscribeSync(&all, sc, ">") == NATS_OK, "subscribe >");
    IT_CHECK(natsConnection_Flush(sc) == NATS_OK, "flush subscriber");

    for (size_t i = 0; i < N_PUB; i++)
        IT_CHECK(natsConnection_PublishString(pc, published[i], published[i]) == NATS_OK,
                 "publish %s", published[i]);
    IT_CHECK(natsConnection_PublishString(pc, "zz.end", "END") == NATS_OK, "publish end");
    IT_CHECK(natsConnection_Flush(pc) == NATS_OK, "flush publisher");

    /* `>`: every subject, in order, then the sentinel. */
    size_t seen = 0;
    for (;;) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, all, 5000) != NATS_OK) {
            IT_CHECK(false, "'>' timed out after %zu messages", seen);
            break;
        }
        const char *subj = natsMsg_GetSubject(m);
        if (strcmp(subj, "zz.end") == 0) {
            natsMsg_Destroy(m);
            break;
        }
        IT_CHECK(seen < N_PUB && strcmp(subj, published[seen]) == 0,
                 "'>' message %zu has subject %s", seen, subj);
        IT_CHECK(strcmp(natsMsg_GetData(m), subj) == 0, "'>' payload for %s", subj);
        seen++;
        natsMsg_Destroy(m);
    }
    IT_CHECK(seen == N_PUB, "'>' got %zu messages, want %zu", seen, N_PUB);

    /* Same connection: everything for the other patterns is queued by now. */
    for (size_t i = 0; i < N_CASES; i++) {
        char got[256] = "";
        uint64_t q = 0;
        natsSubscription_QueuedMsgs(subs[i], &q);
        for (uint64_t k = 0; k < q; k++) {
            natsMsg *m = NULL;
            if (natsSubscription_NextMsg(&m, subs[i], 1000) != NATS_OK)
                break;
            if (got[0])
                strcat(got, "|");
            strncat(got, natsMsg_GetSubject(m), sizeof got - strlen(got) - 2);
            natsMsg_Destroy(m);
        }
        IT_CHECK(strcmp(got, cases[i].expect) == 0, "pattern %s got \"%s\", want \"%s\"",
                 cases[i].pattern, got, cases[i].expect);
        natsSubscription_Destroy(subs[i]);
    }
    natsSubscription_Destroy(all);
    natsConnection_Destroy(sc);
    natsConnection_Destroy(pc);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
