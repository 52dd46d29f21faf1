/* echo:false: a connection does not receive its own publishes on its own
 * subscriptions, but still receives other connections' messages; with the
 * default echo it does receive its own. */
#include "harness.h"

#include <string.h>
#include <unistd.h>

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();
    it_buf a = { 0 }, e = { 0 };
    int fa = it_raw_client(s.port, "{\"verbose\":false,\"echo\":false,\"protocol\":1}", &a);
    int fe = it_raw_client(s.port, "{\"verbose\":false,\"protocol\":1}", &e);
    natsConnection *nc = it_nats_connect(&s);
    if (!IT_CHECK(fa >= 0 && fe >= 0 && nc, "connect")) {
        it_server_stop(&s);
        return it_summary();
    }
    it_buf_reset(&a);
    it_buf_reset(&e);
    /* Deliveries to self are written before the PONG that follows. */
    IT_CHECK(it_raw_sends(fa, "SUB e.x 1\r\nPUB e.x 4\r\nself\r\nPING\r\n") == 0 &&
                 it_raw_read_until(fa, &a, "PONG\r\n", 5000) == IT_FOUND,
             "echo:false client PONG");
    IT_CHECK(a.len && strcmp(a.data, "PONG\r\n") == 0, "echo:false client got \"%s\"",
             a.data ? a.data : "");
    IT_CHECK(it_raw_sends(fe, "SUB e.x 1\r\nPUB e.x 4\r\nself\r\nPING\r\n") == 0 &&
                 it_raw_read_until(fe, &e, "PONG\r\n", 5000) == IT_FOUND,
             "echo client PONG");
    /* fe subscribed after fa's publish, so only its own message is here. */
    IT_CHECK(e.len && strcmp(e.data, "MSG e.x 1 4\r\nself\r\nPONG\r\n") == 0,
             "default echo client got \"%s\"", e.data ? e.data : "");
    it_buf_reset(&a);
    it_buf_reset(&e);

    IT_CHECK(natsConnection_PublishString(nc, "e.x", "other") == NATS_OK &&
                 natsConnection_Flush(nc) == NATS_OK,
             "cnats publishes");
    IT_CHECK(it_raw_read_until(fa, &a, "other\r\n", 5000) == IT_FOUND &&
                 strcmp(a.data, "MSG e.x 1 4\r\nself\r\nMSG e.x 1 5\r\nother\r\n") == 0,
             "echo:false client receives others' messages (fe's, then cnats'): \"%s\"",
             a.data ? a.data : "");
    IT_CHECK(it_raw_read_until(fe, &e, "other\r\n", 5000) == IT_FOUND, "echo client receives");

    /* cnats with NoEcho too. */
    natsOptions *no = NULL;
    natsConnection *quiet = NULL;
    natsSubscription *own = NULL, *end = NULL;
    natsMsg *m = NULL;
    natsOptions_Create(&no);
    natsOptions_SetURL(no, s.url);
    natsOptions_SetNoEcho(no, true);
    IT_CHECK(natsConnection_Connect(&quiet, no) == NATS_OK &&
                 natsConnection_SubscribeSync(&own, quiet, "e.q") == NATS_OK &&
                 natsConnection_SubscribeSync(&end, quiet, "e.end") == NATS_OK &&
                 natsConnection_PublishString(quiet, "e.q", "mine") == NATS_OK &&
                 natsConnection_Flush(quiet) == NATS_OK &&
                 natsConnection_PublishString(nc, "e.end", "end") == NATS_OK &&
                 natsConnection_Flush(nc) == NATS_OK &&
                 natsSubscription_NextMsg(&m, end, 5000) == NATS_OK,
             "cnats NoEcho connection");
    natsMsg_Destroy(m);
    uint64_t q = 1;
    if (own)
        natsSubscription_QueuedMsgs(own, &q);
    IT_CHECK(q == 0, "cnats NoEcho connection got %llu of its own messages", (unsigned long long)q);

    natsSubscription_Destroy(own);
    natsSubscription_Destroy(end);
    natsConnection_Destroy(quiet);
    natsOptions_Destroy(no);
    natsConnection_Destroy(nc);
    close(fa);
    close(fe);
    it_buf_free(&a);
    it_buf_free(&e);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
