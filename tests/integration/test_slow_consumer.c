/* Slow consumer: a raw subscriber that never reads, with a small
 * max_pending, is closed by the server silently (no -ERR) while the
 * publisher keeps publishing; the server's memory stays bounded.
 * write_deadline is short too: nats-server, which flushes from the
 * publisher's read loop, usually hits it before max_pending; either way
 * the consumer is dropped silently. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PENDING (128 * 1024)
#define MSG_SIZE    8000
#define N_MSGS      6000             /* 48 MB through the server */
#define RSS_BOUND_KB (24 * 1024)     /* half of what was published */

int main(void)
{
    it_server s;
    it_opts o = { .max_pending = MAX_PENDING, .max_payload = 16 * 1024, .write_deadline_ms = 1000 };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server start"))
        return it_summary();

    /* Small receive buffer so the kernel holds little on our side. */
    it_buf b = { 0 };
    int fd = it_raw_connect(s.port, 4096);
    bool ok = fd >= 0 && it_raw_read_until(fd, &b, "\r\n", 5000) == IT_FOUND &&
              it_raw_sends(fd, "CONNECT {\"verbose\":false}\r\nSUB sc.x 1\r\nPING\r\n") == 0 &&
              it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND;
    natsConnection *pc = it_nats_connect(&s);
    if (!IT_CHECK(ok && pc, "slow subscriber and publisher connect")) {
        it_server_stop(&s);
        return it_summary();
    }
    it_buf_reset(&b);

    long rss0 = it_proc_rss_kb(s.pid), rss_max = rss0;
    char *payload = malloc(MSG_SIZE);
    memset(payload, 's', MSG_SIZE);
    int sent = 0;
    for (; sent < N_MSGS; sent++) {
        if (natsConnection_Publish(pc, "sc.x", payload, MSG_SIZE) != NATS_OK)
            break;
        if (sent % 500 == 499) {
            natsConnection_Flush(pc);
            long rss = it_proc_rss_kb(s.pid);
            if (rss > rss_max)
                rss_max = rss;
        }
    }
    IT_CHECK(sent == N_MSGS, "publisher kept publishing: %d of %d", sent, N_MSGS);
    IT_CHECK(natsConnection_Flush(pc) == NATS_OK &&
                 natsConnection_Status(pc) == NATS_CONN_STATUS_CONNECTED,
             "publisher still connected");
    printf("server VmRSS %ld KiB before, %ld KiB max while publishing %d MB\n", rss0, rss_max,
           N_MSGS * MSG_SIZE / 1000000);
    IT_CHECK(rss0 > 0 && rss_max - rss0 < RSS_BOUND_KB, "server RSS grew by %ld KiB",
             rss_max - rss0);

    /* Drain what the subscriber was sent: it must end in a close, well
     * before everything published, and without any -ERR. */
    int r = it_raw_read_to_close(fd, &b, 10000);
    IT_CHECK(r == IT_CLOSED, "slow consumer connection closed by the server (%d)", r);
    IT_CHECK(b.len < (size_t)N_MSGS * MSG_SIZE / 2, "slow consumer received %zu bytes", b.len);
    IT_CHECK(!it_buf_contains(&b, "-ERR"), "no -ERR sent to the slow consumer");

    /* The publisher and the server are fine: a fresh subscriber works. */
    natsConnection *sc = it_nats_connect(&s);
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    IT_CHECK(sc && natsConnection_SubscribeSync(&sub, sc, "sc.after") == NATS_OK &&
                 natsConnection_Flush(sc) == NATS_OK &&
                 natsConnection_PublishString(pc, "sc.after", "ok") == NATS_OK &&
                 natsConnection_Flush(pc) == NATS_OK &&
                 natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK,
             "publish/subscribe after the slow consumer was dropped");
    natsMsg_Destroy(m);

    close(fd);
    free(payload);
    it_buf_free(&b);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(sc);
    natsConnection_Destroy(pc);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
