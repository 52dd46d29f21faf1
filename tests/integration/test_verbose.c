/* Verbose mode: +OK after each CONNECT, SUB, PUB and UNSUB, in order with
 * the deliveries; verbose is on by default (CONNECT without the field, and
 * a client that sends no CONNECT at all). */
#include "harness.h"

#include <string.h>
#include <unistd.h>

/* Send script after INFO and compare everything received up to the PONG. */
static void run(int port, const char *what, const char *script, const char *want)
{
    it_buf b = { 0 };
    int fd = it_raw_connect(port, 0);
    if (!IT_CHECK(fd >= 0 && it_raw_read_until(fd, &b, "\r\n", 5000) == IT_FOUND,
                  "%s: connect and INFO", what))
        goto out;
    it_buf_reset(&b);
    IT_CHECK(it_raw_sends(fd, script) == 0 && it_raw_read_until(fd, &b, "PONG\r\n", 5000) == IT_FOUND,
             "%s: PONG", what);
    IT_CHECK(b.len && strcmp(b.data, want) == 0, "%s: got \"%s\", want \"%s\"", what,
             b.data ? b.data : "", want);
out:
    if (fd >= 0)
        close(fd);
    it_buf_free(&b);
}

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();
    run(s.port, "verbose:true",
        "CONNECT {\"verbose\":true}\r\nSUB v.x 1\r\nPUB v.x 2\r\nhi\r\nUNSUB 1\r\n"
        "PUB v.x 2\r\nhi\r\nPING\r\n",
        "+OK\r\n+OK\r\n+OK\r\nMSG v.x 1 2\r\nhi\r\n+OK\r\n+OK\r\nPONG\r\n");
    run(s.port, "verbose by default",
        "CONNECT {}\r\nSUB v.y 5\r\nPUB v.y 0\r\n\r\nPING\r\n",
        "+OK\r\n+OK\r\n+OK\r\nMSG v.y 5 0\r\n\r\nPONG\r\n");
    run(s.port, "no CONNECT", "SUB v.z 1\r\nPUB v.z 2\r\nok\r\nPING\r\n",
        "+OK\r\n+OK\r\nMSG v.z 1 2\r\nok\r\nPONG\r\n");
    run(s.port, "verbose:false", "CONNECT {\"verbose\":false}\r\nSUB v.w 1\r\nPUB v.w 2\r\nok\r\nUNSUB 1\r\nPING\r\n",
        "MSG v.w 1 2\r\nok\r\nPONG\r\n");
    it_server_stop(&s);
    return it_summary();
}
