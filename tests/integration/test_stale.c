/* Stale connection: with ping_interval 1s and ping_max 2 a client that
 * never answers PING gets ping_max PINGs, then -ERR 'Stale Connection' and
 * is closed (about 3 s after CONNECT). */
#include "harness.h"

#include <string.h>
#include <unistd.h>

int main(void)
{
    it_server s;
    it_opts o = { .ping_interval_ms = 1000, .ping_max = 2 };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server start"))
        return it_summary();
    it_buf b = { 0 };
    int fd = it_raw_connect(s.port, 0);
    bool ok = fd >= 0 && it_raw_read_until(fd, &b, "\r\n", 5000) == IT_FOUND;
    /* Nothing after CONNECT: no activity, no PONG. */
    ok = ok && it_raw_sends(fd, "CONNECT {\"verbose\":false,\"protocol\":1}\r\n") == 0;
    if (IT_CHECK(ok, "raw client connects")) {
        it_buf_reset(&b);
        int64_t t0 = it_now_ms();
        int r = it_raw_read_to_close(fd, &b, 10000);
        int64_t took = it_now_ms() - t0;
        IT_CHECK(r == IT_CLOSED, "connection closed (%d)", r);
        IT_CHECK(b.len && strcmp(b.data, "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n") == 0,
                 "got \"%s\", want 2 PINGs then -ERR 'Stale Connection'", b.data ? b.data : "");
        IT_CHECK(took >= 2500 && took <= 5000, "closed after %lld ms, want ~3 s", (long long)took);
    }
    if (fd >= 0)
        close(fd);
    it_buf_free(&b);
    it_server_stop(&s);
    return it_summary();
}
