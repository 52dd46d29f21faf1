/* Auto-unsubscribe: after UNSUB <sid> <max> the server delivers exactly
 * <max> messages (counting those delivered before the UNSUB) and then
 * withdraws the interest. Checked with cnats and on the wire. */
#include "harness.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void publish_n(natsConnection *pc, const char *subj, int n)
{
    for (int i = 0; i < n; i++)
        natsConnection_PublishString(pc, subj, "x");
}

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();
    natsConnection *sc = it_nats_connect(&s), *pc = it_nats_connect(&s);
    natsSubscription *sub = NULL, *end = NULL;
    it_buf b = { 0 };
    int fd = it_raw_client(s.port, "{\"verbose\":false}", &b);
    if (!IT_CHECK(sc && pc && fd >= 0, "connect")) {
        it_server_stop(&s);
        return it_summary();
    }

    /* cnats: AutoUnsubscribe(5), then 10 published. */
    IT_CHECK(natsConnection_SubscribeSync(&sub, sc, "au.x") == NATS_OK &&
                 natsSubscription_AutoUnsubscribe(sub, 5) == NATS_OK &&
                 natsConnection_SubscribeSync(&end, sc, "au.end") == NATS_OK &&
                 natsConnection_Flush(sc) == NATS_OK,
             "subscribe with auto-unsubscribe");
    /* Raw: the same on the wire, plus an UNSUB whose max is already
     * reached by earlier deliveries (removes the sub at once). */
    it_buf_reset(&b);
    IT_CHECK(it_raw_sends(fd, "SUB au.x 1\r\nUNSUB 1 5\r\nSUB au.end 2\r\nSUB au.y 3\r\nPING\r\n") == 0 &&
                 it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND,
             "raw subscriptions");
    publish_n(pc, "au.y", 3);
    natsConnection_PublishString(pc, "au.end", "1");
    IT_CHECK(natsConnection_Flush(pc) == NATS_OK, "flush");
    IT_CHECK(it_raw_read_until(fd, &b, "MSG au.end 2 1\r\n1\r\n", 5000) == IT_FOUND,
             "raw sentinel 1");
    IT_CHECK(it_buf_count(&b, "MSG au.y 3 1\r\n") == 3, "au.y before UNSUB: %zu",
             it_buf_count(&b, "MSG au.y 3 1\r\n"));
    it_buf_reset(&b);
    IT_CHECK(it_raw_sends(fd, "UNSUB 3 2\r\nPING\r\n") == 0 &&
                 it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND,
             "UNSUB 3 2 after 3 deliveries");
    it_buf_reset(&b);

    publish_n(pc, "au.x", 10);
    publish_n(pc, "au.y", 4);
    natsConnection_PublishString(pc, "au.end", "2");
    IT_CHECK(natsConnection_Flush(pc) == NATS_OK, "flush");

    /* Raw: the sentinel comes after everything published before it. */
    IT_CHECK(it_raw_read_until(fd, &b, "MSG au.end 2 1\r\n2\r\n", 5000) == IT_FOUND,
             "raw sentinel 2");
    IT_CHECK(it_buf_count(&b, "MSG au.x 1 1\r\n") == 5, "raw sid 1 got %zu messages, want 5",
             it_buf_count(&b, "MSG au.x 1 1\r\n"));
    IT_CHECK(it_buf_count(&b, "MSG au.y 3") == 0, "raw sid 3 got %zu after UNSUB 3 2, want 0",
             it_buf_count(&b, "MSG au.y 3"));

    natsMsg *m = NULL;
    IT_CHECK(natsSubscription_NextMsg(&m, end, 5000) == NATS_OK, "cnats sentinel 1");
    natsMsg_Destroy(m);
    IT_CHECK(natsSubscription_NextMsg(&m, end, 5000) == NATS_OK, "cnats sentinel 2");
    natsMsg_Destroy(m);
    int got = 0;
    while (natsSubscription_NextMsg(&m, sub, 100) == NATS_OK) {
        got++;
        natsMsg_Destroy(m);
    }
    IT_CHECK(got == 5, "cnats auto-unsubscribed sub got %d messages, want 5", got);

    /* The server dropped both au.x interests: a request finds nobody. */
    natsMsg *reply = NULL;
    natsStatus st = natsConnection_RequestString(&reply, pc, "au.x", "?", 5000);
    IT_CHECK(st == NATS_NO_RESPONDERS, "request to au.x after auto-unsubscribe: %s",
             natsStatus_GetText(st));
    natsMsg_Destroy(reply);

    close(fd);
    it_buf_free(&b);
    natsSubscription_Destroy(sub);
    natsSubscription_Destroy(end);
    natsConnection_Destroy(sc);
    natsConnection_Destroy(pc);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
