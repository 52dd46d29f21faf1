/* A module swapped on reload keeps its listening port: the monitor
 * module's .so is replaced on disk under a running ternd, SIGHUP swaps it,
 * and the new generation takes the old one's socket over (modconn.c)
 * instead of failing to bind the port the old one still holds. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Install as a package manager does: a new file renamed over the old. */
static bool install(const char *from, const char *to)
{
    size_t len = 0;
    char *data = it_read_file(from, &len);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.new", to);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = data && fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0)
        close(fd);
    free(data);
    return ok && rename(tmp, to) == 0;
}

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

static bool log_count_reaches(it_server *s, const char *needle, size_t n)
{
    for (int64_t end = it_now_ms() + 10000; it_now_ms() < end; it_poll_pause()) {
        char *log = it_server_log(s);
        size_t c = 0;
        for (const char *p = log; p && (p = strstr(p, needle)); p++)
            c++;
        free(log);
        if (c >= n)
            return true;
    }
    return false;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/tern-it-swaplisten-XXXXXX";
    if (!IT_CHECK(mkdtemp(dir) != NULL, "temp dir"))
        return it_summary();
    char so[256];
    snprintf(so, sizeof so, "%s/monitor.so", dir);
    IT_CHECK(install(TERN_MONITOR_SO, so), "monitor.so installed in %s", dir);
    int hport = free_port();
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
        IT_CHECK(install(TERN_MONITOR_SO, so), "a new monitor.so on disk (%zu)", round);
        IT_CHECK(it_server_signal(&s, SIGHUP) == 0, "SIGHUP");
        IT_CHECK(log_count_reaches(&s, "Module monitor swapped", round), "swap %zu done", round);
        IT_CHECK(log_count_reaches(&s, "Took over the http listener", round),
                 "the new generation took the listener over (%zu)", round);
        IT_CHECK(http_ok(hport, "/varz"), "monitor still answers after swap %zu", round);
    }
    char *log = it_server_log(&s);
    IT_CHECK(log && !strstr(log, "Failed to reload"), "no reload failed");
    free(log);
    it_server_stop(&s);
out:;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return it_summary();
}
