/* max_payload: announced in INFO; cnats refuses a larger publish on the
 * client side; a raw PUB over the limit gets
 * -ERR 'Maximum Payload Violation' and the connection is closed. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIMIT 1024

int main(void)
{
    it_server s;
    it_opts o = { .max_payload = LIMIT };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server start"))
        return it_summary();
    natsConnection *pc = it_nats_connect(&s), *sc = it_nats_connect(&s);
    natsSubscription *sub = NULL;
    if (!IT_CHECK(pc && sc, "connect")) {
        it_server_stop(&s);
        return it_summary();
    }
    IT_CHECK(natsConnection_GetMaxPayload(pc) == LIMIT, "cnats sees max_payload %lld",
             (long long)natsConnection_GetMaxPayload(pc));
    IT_CHECK(natsConnection_SubscribeSync(&sub, sc, "mp.x") == NATS_OK &&
                 natsConnection_Flush(sc) == NATS_OK,
             "subscribe");

    char *big = calloc(1, LIMIT + 1);
    memset(big, 'p', LIMIT + 1);
    natsStatus st = natsConnection_Publish(pc, "mp.x", big, LIMIT + 1);
    IT_CHECK(st == NATS_MAX_PAYLOAD, "cnats publish of %d bytes: %s", LIMIT + 1,
             natsStatus_GetText(st));
    IT_CHECK(natsConnection_Publish(pc, "mp.x", big, LIMIT) == NATS_OK &&
                 natsConnection_Flush(pc) == NATS_OK,
             "publish of exactly max_payload");
    natsMsg *m = NULL;
    IT_CHECK(natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK &&
                 natsMsg_GetDataLength(m) == LIMIT,
             "message of exactly max_payload delivered");
    natsMsg_Destroy(m);
    IT_CHECK(natsConnection_Status(pc) == NATS_CONN_STATUS_CONNECTED, "publisher still connected");

    /* Raw: the size on the control line is checked before the payload. */
    it_buf b = { 0 };
    int fd = it_raw_client(s.port, "{\"verbose\":false}", &b);
    if (IT_CHECK(fd >= 0, "raw connect")) {
        char want[32];
        snprintf(want, sizeof want, "\"max_payload\":%d", LIMIT);
        IT_CHECK(it_buf_contains(&b, want), "INFO carries %s", want);
        it_buf_reset(&b);
        char line[64];
        snprintf(line, sizeof line, "PUB mp.x %d\r\n", LIMIT + 1);
        IT_CHECK(it_raw_sends(fd, line) == 0, "send oversized PUB");
        int r = it_raw_read_to_close(fd, &b, 5000);
        IT_CHECK(r == IT_CLOSED, "connection closed after oversized PUB (%d)", r);
        IT_CHECK(b.len && strcmp(b.data, "-ERR 'Maximum Payload Violation'\r\n") == 0,
                 "got \"%s\"", b.data ? b.data : "");
        close(fd);
    }
    it_buf_free(&b);
    free(big);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(sc);
    natsConnection_Destroy(pc);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
