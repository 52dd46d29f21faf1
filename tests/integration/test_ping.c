/* Server PINGs: with ping_interval 1s and ping_max 2, a raw client that
 * answers each PING keeps its connection, and so does an idle cnats
 * connection (cnats answers the server's PINGs itself) past the point where
 * an unanswering client would have been dropped as stale. */
#include "harness.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int disconnects;

static void on_disconnect(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    pthread_mutex_lock(&lock);
    disconnects++;
    pthread_mutex_unlock(&lock);
}

int main(void)
{
    it_server s;
    it_opts o = { .ping_interval_ms = 1000, .ping_max = 2 };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server start"))
        return it_summary();

    natsOptions *no = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&no);
    natsOptions_SetURL(no, s.url);
    natsOptions_SetAllowReconnect(no, false);
    natsOptions_SetDisconnectedCB(no, on_disconnect, NULL);
    IT_CHECK(natsConnection_Connect(&nc, no) == NATS_OK, "cnats connects");

    it_buf b = { 0 };
    int fd = it_raw_client(s.port, "{\"verbose\":false,\"protocol\":1}", &b);
    if (IT_CHECK(fd >= 0, "raw client connects")) {
        it_buf_reset(&b);
        /* Answer 4 PINGs: 4 s, past the ~3 s a silent client survives. */
        int pings = 0;
        int64_t t0 = it_now_ms();
        while (pings < 4) {
            if (it_raw_read_until(fd, &b, "PING\r\n", 3000) != IT_FOUND)
                break;
            pings++;
            it_raw_sends(fd, "PONG\r\n");
            it_buf_reset(&b);
        }
        IT_CHECK(pings == 4, "raw client answered %d PINGs, want 4", pings);
        int64_t took = it_now_ms() - t0;
        IT_CHECK(took >= 3000, "4 PINGs within %lld ms with ping_interval 1s", (long long)took);
        IT_CHECK(it_raw_sends(fd, "PING\r\n") == 0 &&
                     it_raw_read_until(fd, &b, "PONG\r\n", 3000) == IT_FOUND &&
                     !it_buf_contains(&b, "-ERR"),
                 "raw client still served");
        close(fd);
    }

    pthread_mutex_lock(&lock);
    int d = disconnects;
    pthread_mutex_unlock(&lock);
    IT_CHECK(d == 0, "cnats disconnected %d times", d);
    IT_CHECK(nc && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED, "cnats still connected");
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    IT_CHECK(nc && natsConnection_SubscribeSync(&sub, nc, "ping.x") == NATS_OK &&
                 natsConnection_PublishString(nc, "ping.x", "y") == NATS_OK &&
                 natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK,
             "cnats connection works after the idle period");
    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(no);
    it_buf_free(&b);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
