/* Plain publish/subscribe through cnats: every subscriber gets every
 * message exactly once, in publish order, with its payload bytes intact
 * (binary bytes, CR/LF inside payloads, empty payloads). */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define N_MSGS 1000
#define N_SUBS 3

static int payload_len(int i) { return (i * 37) % 700; }

static void fill_payload(char *p, int i)
{
    for (int j = 0; j < payload_len(i); j++)
        p[j] = (char)((i * 7 + j * 13) & 0xff); /* includes \r, \n, NUL */
}

/* Receive until the "END" sentinel; check count, order and bytes. */
static void check_stream(natsSubscription *sub, int which)
{
    char want[1024];
    int got = 0, bad = 0;
    for (;;) {
        natsMsg *m = NULL;
        natsStatus st = natsSubscription_NextMsg(&m, sub, 5000);
        if (st != NATS_OK) {
            IT_CHECK(false, "sub %d: NextMsg after %d msgs: %s", which, got,
                     natsStatus_GetText(st));
            return;
        }
        int len = natsMsg_GetDataLength(m);
        if (len == 3 && memcmp(natsMsg_GetData(m), "END", 3) == 0) {
            natsMsg_Destroy(m);
            break;
        }
        if (got < N_MSGS) {
            fill_payload(want, got);
            if (len != payload_len(got) || memcmp(natsMsg_GetData(m), want, (size_t)len) != 0 ||
                strcmp(natsMsg_GetSubject(m), "ps.data") != 0)
                bad++;
        }
        got++;
        natsMsg_Destroy(m);
    }
    IT_CHECK(got == N_MSGS, "sub %d: delivered %d messages, want %d", which, got, N_MSGS);
    IT_CHECK(bad == 0, "sub %d: %d messages with wrong subject/length/bytes", which, bad);
}

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();

    natsConnection *subc[N_SUBS] = { 0 };
    natsSubscription *subs[N_SUBS] = { 0 };
    natsConnection *pub = it_nats_connect(&s);
    IT_CHECK(pub != NULL, "publisher connects");
    for (int i = 0; i < N_SUBS; i++) {
        subc[i] = it_nats_connect(&s);
        IT_CHECK(subc[i] && natsConnection_SubscribeSync(&subs[i], subc[i], "ps.data") == NATS_OK,
                 "subscriber %d", i);
        IT_CHECK(subc[i] && natsConnection_Flush(subc[i]) == NATS_OK, "subscriber %d flush", i);
    }
    /* A subscription on another subject must see none of it. */
    natsSubscription *other = NULL;
    IT_CHECK(subc[0] && natsConnection_SubscribeSync(&other, subc[0], "ps.other") == NATS_OK &&
                 natsConnection_Flush(subc[0]) == NATS_OK,
             "unrelated subscription");

    if (pub) {
        char p[1024];
        for (int i = 0; i < N_MSGS; i++) {
            fill_payload(p, i);
            if (natsConnection_Publish(pub, "ps.data", p, payload_len(i)) != NATS_OK) {
                IT_CHECK(false, "publish %d", i);
                break;
            }
        }
        IT_CHECK(natsConnection_Publish(pub, "ps.data", "END", 3) == NATS_OK, "publish END");
        IT_CHECK(natsConnection_Flush(pub) == NATS_OK, "publisher flush");
    }
    for (int i = 0; i < N_SUBS; i++)
        if (subs[i])
            check_stream(subs[i], i);

    if (other) {
        /* subs[0] saw END on the same connection, so anything for "other"
         * would already be queued. */
        uint64_t q = 0;
        natsSubscription_QueuedMsgs(other, &q);
        IT_CHECK(q == 0, "unrelated subscription got %llu messages", (unsigned long long)q);
    }

    for (int i = 0; i < N_SUBS; i++) {
        natsSubscription_Destroy(subs[i]);
        natsConnection_Destroy(subc[i]);
    }
    natsSubscription_Destroy(other);
    natsConnection_Destroy(pub);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
