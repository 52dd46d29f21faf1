/* Lame duck mode (SIGUSR2): a connected client that sent CONNECT with
 * protocol:1 and had its PING answered receives an INFO with "ldm":true,
 * the listener stops accepting, the client is closed after the grace
 * period, and the server exits by itself with status 0.
 * nats-server refuses lame_duck_duration below 30 s; with one client it
 * still finishes about one second after the grace period. */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool ldm_seen;

static void on_lame_duck(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    pthread_mutex_lock(&lock);
    ldm_seen = true;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
}

static bool wait_ldm_callback(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&lock);
    while (!ldm_seen && pthread_cond_timedwait(&cond, &lock, &ts) == 0)
        ;
    bool seen = ldm_seen;
    pthread_mutex_unlock(&lock);
    return seen;
}

int main(void)
{
    it_server s;
    it_opts o = { .lame_duck_duration_ms = 30000, .lame_duck_grace_ms = 1000 };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server start"))
        return it_summary();
    it_buf b = { 0 };
    int fd = it_raw_client(s.port, "{\"verbose\":false,\"protocol\":1}", &b);
    if (!IT_CHECK(fd >= 0, "raw client connects")) {
        it_server_stop(&s);
        return it_summary();
    }
    /* protocol 0 (the default): no async INFO, only the close. */
    it_buf b0 = { 0 };
    int fd0 = it_raw_client(s.port, "{\"verbose\":false}", &b0);
    IT_CHECK(fd0 >= 0, "protocol 0 raw client connects");
    /* cnats announces protocol 1 and reports lame duck mode. */
    natsOptions *no = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&no);
    natsOptions_SetURL(no, s.url);
    natsOptions_SetAllowReconnect(no, false);
    natsOptions_SetLameDuckModeCB(no, on_lame_duck, NULL);
    IT_CHECK(natsConnection_Connect(&nc, no) == NATS_OK && natsConnection_Flush(nc) == NATS_OK,
             "cnats connects");

    it_buf_reset(&b);
    it_buf_reset(&b0);
    int64_t t0 = it_now_ms();
    IT_CHECK(it_server_signal(&s, SIGUSR2) == 0, "SIGUSR2 sent");

    IT_CHECK(it_raw_read_until(fd, &b, "\"ldm\":true", 5000) == IT_FOUND,
             "INFO with \"ldm\":true received: \"%s\"", b.data ? b.data : "");
    IT_CHECK(b.len && strncmp(b.data, "INFO {", 6) == 0, "async INFO line: \"%.40s\"",
             b.data ? b.data : "");

    /* The listener goes away and new connections are refused. */
    int64_t deadline = it_now_ms() + 5000;
    while (it_port_listening(s.port) && it_now_ms() < deadline)
        it_poll_pause();
    IT_CHECK(!it_port_listening(s.port), "listener closed in lame duck mode");
    int nfd = it_raw_connect(s.port, 0);
    IT_CHECK(nfd < 0, "new connection refused in lame duck mode");
    if (nfd >= 0)
        close(nfd);

    /* The client is closed after the grace period (answer PINGs until then
     * so only lame duck mode can close it). */
    int r;
    for (;;) {
        r = it_raw_read_until(fd, &b, "PING\r\n", 10000);
        if (r != IT_FOUND)
            break;
        it_raw_sends(fd, "PONG\r\n");
        char *p = memmem(b.data, b.len, "PING\r\n", 6);
        memcpy(p, "PINX", 4); /* consumed */
    }
    int64_t closed_at = it_now_ms() - t0;
    IT_CHECK(r == IT_CLOSED, "client closed by the server (%d)", r);
    IT_CHECK(closed_at >= 900, "client closed after %lld ms, before the 1 s grace period",
             (long long)closed_at);

    IT_CHECK(wait_ldm_callback(5000), "cnats lame duck callback called");
    if (fd0 >= 0) {
        int r0 = it_raw_read_to_close(fd0, &b0, 10000);
        IT_CHECK(r0 == IT_CLOSED, "protocol 0 client closed (%d)", r0);
        IT_CHECK(!it_buf_contains(&b0, "INFO"), "protocol 0 client got no INFO: \"%s\"",
                 b0.data ? b0.data : "");
        close(fd0);
    }

    IT_CHECK(it_server_wait_exit(&s, 10000), "server exits by itself");
    IT_CHECK(s.exited && WIFEXITED(s.wstatus) && WEXITSTATUS(s.wstatus) == 0,
             "exit status %d (signal %d), want 0", s.exited && WIFEXITED(s.wstatus) ? WEXITSTATUS(s.wstatus) : -1,
             s.exited && WIFSIGNALED(s.wstatus) ? WTERMSIG(s.wstatus) : 0);

    close(fd);
    it_buf_free(&b);
    it_buf_free(&b0);
    natsConnection_Destroy(nc);
    natsOptions_Destroy(no);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
