/* A module swapped on reload keeps its listening port: the monitor
 * module's .so is replaced on disk under a running ternd, SIGHUP swaps it,
 * and the new generation takes the old one's socket over (modconn.c)
 * instead of failing to bind the port the old one still holds. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* GET path on a fresh connection: whether the answer is 200. */
static bool http_ok(int port, const char *path)
{
    int fd = it_raw_connect(port, 0);
    if (fd < 0)
        return false;
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    it_buf b = {0};
    bool ok = it_raw_sends(fd, req) == 0 && it_raw_read_to_close(fd, &b, 5000) >= 0 &&
              b.len >= 12 && !memcmp(b.data, "HTTP/1.1 200", 12);
    close(fd);
    it_buf_free(&b);
    return ok;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/tern-it-swaplisten-XXXXXX";
    if (!IT_CHECK(mkdtemp(dir) != NULL, "temp dir"))
        return it_summary();
    char so[256];
    snprintf(so, sizeof so, "%s/monitor.so", dir);
    IT_CHECK(it_install_file(TERN_MONITOR_SO, so), "monitor.so installed in %s", dir);
    int hport = it_free_port();
    char yaml[512];
    snprintf(yaml, sizeof yaml, "modules:\n  monitor:\n    path: %s\n    listen: \"127.0.0.1:%d\"\n", so,
             hport);
    it_opts o = { .log_file = true, .debug = true, .auth_yaml = yaml };
    it_server s;
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "ternd starts with the monitor module"))
        goto out;
    bool up = false;
    for (int64_t end = it_now_ms() + 10000; !up && it_now_ms() < end; it_poll_pause())
        up = http_ok(hport, "/healthz");
    IT_CHECK(up, "monitor answers on %d", hport);

    for (size_t round = 1; round <= 3; round++) {
        IT_CHECK(it_install_file(TERN_MONITOR_SO, so), "a new monitor.so on disk (%zu)", round);
        IT_CHECK(it_server_signal(&s, SIGHUP) == 0, "SIGHUP");
        IT_CHECK(it_await_log_count(&s, "Module monitor swapped", (int)round, 10000), "swap %zu done", round);
        IT_CHECK(it_await_log_count(&s, "Took over the http listener", (int)round, 10000),
                 "the new generation took the listener over (%zu)", round);
        IT_CHECK(http_ok(hport, "/varz"), "monitor still answers after swap %zu", round);
    }
    char *log = it_server_log(&s);
    IT_CHECK(log && !strstr(log, "Failed to reload"), "no reload failed");
    free(log);
    it_server_stop(&s);
out:
    if (!it_remove_tree(dir))
        fprintf(stderr, "cannot remove %s\n", dir);
    return it_summary();
}
