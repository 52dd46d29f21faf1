/* Log reopen (SIGUSR1): with a log file configured, rename the file; lines
 * keep going to the renamed file until SIGUSR1, after which the server
 * writes to a new file at the original path. Debug logging is on so that
 * each client connection writes a line naming its address. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connect a raw client; its "127.0.0.1:<port>" is what the log shows. */
static int connect_tagged(int port, char *tag, size_t n)
{
    it_buf b = { 0 };
    int fd = it_raw_client(port, "{\"verbose\":false}", &b);
    it_buf_free(&b);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    snprintf(tag, n, "127.0.0.1:%d ", ntohs(a.sin_port));
    return fd;
}

int main(void)
{
    it_server s;
    it_opts o = { .log_file = true, .debug = true };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server start"))
        return it_summary();

    char tag1[64], tag2[64], rotated[300];
    int fd1 = connect_tagged(s.port, tag1, sizeof tag1);
    IT_CHECK(fd1 >= 0, "first client");
    IT_CHECK(it_wait_file_contains(s.log_path, tag1, 5000), "log file names %s", tag1);

    snprintf(rotated, sizeof rotated, "%s.1", s.log_path);
    IT_CHECK(rename(s.log_path, rotated) == 0, "rename the log file");

    /* Before the signal the server still writes to the renamed file. */
    int fd2 = connect_tagged(s.port, tag2, sizeof tag2);
    IT_CHECK(fd2 >= 0, "second client");
    IT_CHECK(it_wait_file_contains(rotated, tag2, 5000), "renamed file names %s", tag2);

    IT_CHECK(it_server_signal(&s, SIGUSR1) == 0, "SIGUSR1 sent");
    int64_t deadline = it_now_ms() + 5000;
    while (access(s.log_path, F_OK) != 0 && it_now_ms() < deadline)
        it_poll_pause();
    IT_CHECK(access(s.log_path, F_OK) == 0, "a new log file appears at the original path");

    char tag3[64];
    int fd3 = connect_tagged(s.port, tag3, sizeof tag3);
    IT_CHECK(fd3 >= 0, "third client");
    IT_CHECK(it_wait_file_contains(s.log_path, tag3, 5000), "new file names %s", tag3);
    size_t n = 0;
    char *old = it_read_file(rotated, &n);
    IT_CHECK(old && !memmem(old, n, tag3, strlen(tag3)), "renamed file does not get %s", tag3);
    free(old);

    if (fd1 >= 0)
        close(fd1);
    if (fd2 >= 0)
        close(fd2);
    if (fd3 >= 0)
        close(fd3);
    it_server_stop(&s);
    return it_summary();
}
