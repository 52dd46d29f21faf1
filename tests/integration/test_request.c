/* Request/reply through cnats (a responder on another connection answers
 * each request on its reply inbox), and no responders: a request to a
 * subject nobody listens on fails fast with NATS_NO_RESPONDERS (the server
 * sends the 503 status message) instead of waiting for the timeout. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define N_REQ 50

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub;
    (void)closure;
    char out[256];
    int n = snprintf(out, sizeof out, "re:%.*s", natsMsg_GetDataLength(m), natsMsg_GetData(m));
    if (natsMsg_GetReply(m))
        natsConnection_Publish(nc, natsMsg_GetReply(m), out, n);
    natsMsg_Destroy(m);
}

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();
    natsConnection *rc = it_nats_connect(&s), *qc = it_nats_connect(&s);
    natsSubscription *svc = NULL;
    if (!IT_CHECK(rc && qc, "connect") ||
        !IT_CHECK(natsConnection_Subscribe(&svc, rc, "svc.echo", on_request, NULL) == NATS_OK &&
                      natsConnection_Flush(rc) == NATS_OK,
                  "responder subscribes")) {
        it_server_stop(&s);
        return it_summary();
    }

    int good = 0;
    for (int i = 0; i < N_REQ; i++) {
        char req[32], want[40];
        snprintf(req, sizeof req, "ping-%d", i);
        snprintf(want, sizeof want, "re:%s", req);
        natsMsg *reply = NULL;
        natsStatus st = natsConnection_RequestString(&reply, qc, "svc.echo", req, 5000);
        if (st == NATS_OK && natsMsg_GetDataLength(reply) == (int)strlen(want) &&
            memcmp(natsMsg_GetData(reply), want, strlen(want)) == 0)
            good++;
        else
            IT_CHECK(false, "request %d: %s", i, natsStatus_GetText(st));
        natsMsg_Destroy(reply);
    }
    IT_CHECK(good == N_REQ, "%d of %d requests answered correctly", good, N_REQ);

    /* No responders: a 503 comes back at once, long before the timeout. */
    natsMsg *reply = NULL;
    int64_t t0 = it_now_ms();
    natsStatus st = natsConnection_RequestString(&reply, qc, "svc.nobody", "hello", 5000);
    int64_t took = it_now_ms() - t0;
    IT_CHECK(st == NATS_NO_RESPONDERS, "request without responders: %s, want %s",
             natsStatus_GetText(st), natsStatus_GetText(NATS_NO_RESPONDERS));
    IT_CHECK(took < 1000, "no-responders answer took %lld ms", (long long)took);
    natsMsg_Destroy(reply);

    /* After the responder unsubscribes, its subject has no responders. */
    natsSubscription_Unsubscribe(svc);
    natsConnection_Flush(rc);
    st = natsConnection_RequestString(&reply, qc, "svc.echo", "x", 5000);
    IT_CHECK(st == NATS_NO_RESPONDERS, "request after unsubscribe: %s", natsStatus_GetText(st));
    natsMsg_Destroy(reply);

    natsSubscription_Destroy(svc);
    natsConnection_Destroy(rc);
    natsConnection_Destroy(qc);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
