/* Stop signals: SIGINT exits with status 0 and SIGTERM with status 1, as
 * nats-server 2.9.10 does; connected clients are closed on the way out. */
#include "harness.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop_with(int sig, int want)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return;
    it_buf b = { 0 };
    int fd = it_raw_client(s.port, "{\"verbose\":false}", &b);
    IT_CHECK(fd >= 0, "client connects");
    IT_CHECK(it_server_signal(&s, sig) == 0, "send %s", strsignal(sig));
    IT_CHECK(it_server_wait_exit(&s, 10000), "server exits after %s", strsignal(sig));
    int code = s.exited && WIFEXITED(s.wstatus) ? WEXITSTATUS(s.wstatus) : -1;
    IT_CHECK(code == want, "exit status after %s: %d (signalled: %d), want %d", strsignal(sig),
             code, s.exited && WIFSIGNALED(s.wstatus) ? WTERMSIG(s.wstatus) : 0, want);
    if (fd >= 0) {
        it_buf_reset(&b);
        IT_CHECK(it_raw_read_to_close(fd, &b, 2000) == IT_CLOSED, "client connection closed");
        close(fd);
    }
    it_buf_free(&b);
    it_server_stop(&s);
}

int main(void)
{
    stop_with(SIGINT, 0);
    stop_with(SIGTERM, 1);
    return it_summary();
}
