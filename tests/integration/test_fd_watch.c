/* The module ABI 1.2 fd watches (fd_watch / fd_unwatch), through the
 * test module tests/modules/mod_fdwatch.c, which runs its steps on the
 * main loop and logs each outcome:
 *  - bytes a module thread writes into a pipe reach the read watch's
 *    callback on the main thread;
 *  - a watch paused with events 0 keeps its id and reports nothing;
 *    re-armed, the pending bytes arrive;
 *  - an unwatched fd is never reported again (a second unwatch is
 *    ENOENT); a regular file is refused;
 *  - unloading the module while its watch is armed removes the watch
 *    before fini, the server keeps serving, and a reload loads it again.
 * ternd only. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char *const steps[] = {
    "[fdwatch] fdwatch: a regular file is refused",
    "[fdwatch] fdwatch: read 1 on the main thread (read event)",
    "[fdwatch] fdwatch: paused with the same id",
    "[fdwatch] fdwatch: no callback while paused",
    "[fdwatch] fdwatch: re-armed with the same id",
    "[fdwatch] fdwatch: read 2 after the re-arm",
    "[fdwatch] fdwatch: writable only (fd ok)",
    "[fdwatch] fdwatch: unwatch ok, again ENOENT",
    "[fdwatch] fdwatch: read 3 after the unwatch",
    "[fdwatch] fdwatch: write callbacks after unwatch: 0",
};

static bool write_conf(const it_server *s, bool on)
{
    char path[300], yaml[512];
    snprintf(path, sizeof path, "%s/conf.d/10-fdwatch.yaml", s->dir);
    if (!on)
        return unlink(path) == 0;
    snprintf(yaml, sizeof yaml, "modules:\n  fdwatch: { path: %s/mod_fdwatch.so }\n",
             TERN_TEST_MODULES_DIR);
    return it_write_file(path, yaml);
}

/* Every step logged n times (the n-th load of the module). */
static void check_steps(const it_server *s, int n)
{
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        IT_CHECK(it_await_log_count(s, steps[i], n, 5000), "[load %d] %s", n, steps[i] + 10);
    IT_CHECK(it_log_count(s, "WRONG") == 0 && it_log_count(s, "WHILE PAUSED") == 0 &&
                 it_log_count(s, "a callback while paused") == 0 &&
                 it_log_count(s, "WAS ACCEPTED") == 0,
             "[load %d] no step went wrong", n);
}

static bool ping(const it_server *s)
{
    it_buf b = { 0 };
    int fd = it_raw_client(s->port, "{\"verbose\":false}", &b);
    bool ok = fd >= 0;
    if (fd >= 0)
        close(fd);
    it_buf_free(&b);
    return ok;
}

int main(void)
{
    if (strcmp(it_server_kind(), "ternd") != 0)
        return 0;   /* modules are Tern's */
    it_server s;
    it_opts o = { 0 };
    if (!IT_CHECK(it_server_start(&s, &o) == 0 && it_await_log_count(&s, "Server is ready", 1,
                                                                       10000),
                  "ternd starts"))
        return it_summary();
    if (IT_CHECK(write_conf(&s, true), "conf.d file written") && IT_RELOAD(&s, true)) {
        check_steps(&s, 1);
        /* The read watch is still armed: unloading removes it before fini. */
        IT_CHECK(write_conf(&s, false), "conf.d file removed");
        IT_RELOAD(&s, true);
        IT_CHECK(it_await_log_count(&s, "[fdwatch] fdwatch: fini finds no watch left", 1, 5000),
                 "the module's watch is gone when fini runs");
        IT_CHECK(it_log_count(&s, "A WATCH LEFT") == 0, "no watch survives the unload");
        IT_CHECK(ping(&s), "the server serves clients after the unload");
        /* Loaded again: a fresh generation watches a fresh pipe. */
        IT_CHECK(write_conf(&s, true), "conf.d file written again");
        IT_RELOAD(&s, true);
        check_steps(&s, 2);
    }
    /* Shutdown with the watch armed: released with the module (ASan). */
    it_server_signal(&s, SIGINT);
    IT_CHECK(it_server_wait_exit(&s, 10000) && WIFEXITED(s.wstatus) &&
                 WEXITSTATUS(s.wstatus) == 0,
             "ternd exits cleanly with a module watch armed");
    IT_CHECK(it_log_count(&s, "[fdwatch] fdwatch: fini finds no watch left") == 2,
             "fini ran at shutdown and found no watch");
    it_server_stop(&s);
    return it_summary();
}
