/* Test module "fdwatch": the ABI 1.2 fd_watch / fd_unwatch slots on a
 * pipe, as a script of steps on the main loop that logs each outcome
 * for tests/integration/test_fd_watch.c:
 *  1. a module thread writes '1': the read watch's callback gets it on
 *     the main thread;
 *  2. the watch is paused (events 0, same id) and '2' written: no
 *     callback while paused; re-armed, '2' arrives;
 *  3. the write end is watched for WRITE (ready at once), unwatched in
 *     its first callback (a second unwatch is ENOENT) and never called
 *     again although the pipe stays writable; '3' arrives on the read
 *     watch;
 *  4. a regular file cannot be watched (EINVAL);
 * and on unload, with the read watch still armed, fini finds it gone. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <tern/module.h>

#define CHECK_MS 30   /* how long "no callback" is watched for */

typedef struct st {
    const tern_host_api *api;
    tern_module *m;
    pthread_t    main, writer;
    int          p[2];
    uint64_t     rid, wid;
    bool         paused;
    int          writes;     /* write watch callbacks */
    bool         got2;
} st;

static void *write_one(void *arg)
{
    st *s = arg;
    ssize_t n = write(s->p[1], "1", 1);
    (void)n;
    return NULL;
}

static void put(st *s, char c)
{
    if (write(s->p[1], &c, 1) != 1)
        s->api->log(s->m, TERN_LOG_LEVEL_ERROR, "fdwatch: cannot write %c", c);
}

static void on_read(tern_module *m, uint64_t id, int fd, uint32_t events, void *ud);

static void write_check(tern_module *m, uint64_t id, void *ud)
{
    (void)id;
    st *s = ud;
    s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: write callbacks after unwatch: %d",
                s->writes - 1);
}

static void on_write(tern_module *m, uint64_t id, int fd, uint32_t events, void *ud)
{
    st *s = ud;
    if (++s->writes > 1)
        return;
    s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: writable %s (fd %s)",
                events == TERN_FD_WRITE ? "only" : "and more", fd == s->p[1] ? "ok" : "wrong");
    tern_rc a = s->api->fd_unwatch(m, id), b = s->api->fd_unwatch(m, id);
    s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: unwatch %s, again %s",
                a == TERN_OK ? "ok" : "failed", b == TERN_ENOENT ? "ENOENT" : "not ENOENT");
    put(s, '3');
    s->api->timer_start(m, CHECK_MS, 0, write_check, s, NULL);
}

/* Step 2's end: nothing arrived while paused; re-arm, then step 3. */
static void pause_check(tern_module *m, uint64_t id, void *ud)
{
    (void)id;
    st *s = ud;
    s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: %s while paused",
                s->got2 ? "a callback" : "no callback");
    s->paused = false;
    uint64_t again = 0;
    tern_rc rc = s->api->fd_watch(m, s->p[0], TERN_FD_READ, on_read, s, &again);
    s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: re-armed %s", rc == TERN_OK && again == s->rid
                ? "with the same id" : "WRONG");
    rc = s->api->fd_watch(m, s->p[1], TERN_FD_WRITE, on_write, s, &s->wid);
    if (rc != TERN_OK || s->wid == s->rid)
        s->api->log(m, TERN_LOG_LEVEL_ERROR, "fdwatch: cannot watch the write end (%d)", rc);
}

static void on_read(tern_module *m, uint64_t id, int fd, uint32_t events, void *ud)
{
    st *s = ud;
    char buf[16];
    ssize_t n = read(fd, buf, sizeof buf);
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '1') {
            s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: read 1 on the %s thread (%s)",
                        pthread_equal(pthread_self(), s->main) ? "main" : "WRONG",
                        events == TERN_FD_READ && id == s->rid ? "read event" : "WRONG event");
            uint64_t same = 0;
            tern_rc rc = s->api->fd_watch(m, fd, 0, on_read, s, &same);
            s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: paused %s",
                        rc == TERN_OK && same == s->rid ? "with the same id" : "WRONG");
            s->paused = true;
            put(s, '2');
            s->api->timer_start(m, CHECK_MS, 0, pause_check, s, NULL);
        } else if (buf[i] == '2') {
            s->got2 = true;
            s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: read 2 %s",
                        s->paused ? "WHILE PAUSED" : "after the re-arm");
        } else if (buf[i] == '3') {
            s->api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: read 3 after the unwatch");
        }
    }
}

static tern_rc fw_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                       void **self)
{
    (void)conf;
    if (!TERN_API_HAS(api, fd_unwatch)) {
        api->set_error(m, "fdwatch needs fd_watch (ABI 1.2)");
        return TERN_ENOTSUP;
    }
    st *s = calloc(1, sizeof *s);
    s->api = api;
    s->m = m;
    s->main = pthread_self();
    if (pipe2(s->p, O_NONBLOCK | O_CLOEXEC) != 0) {
        free(s);
        return TERN_ENOMEM;
    }
    tern_rc rc = api->fd_watch(m, s->p[0], TERN_FD_READ, on_read, s, &s->rid);
    FILE *f = tmpfile();
    uint64_t fid = 0;
    tern_rc frc = f ? api->fd_watch(m, fileno(f), TERN_FD_READ, on_read, s, &fid) : TERN_OK;
    api->log(m, TERN_LOG_LEVEL_INFO, "fdwatch: a regular file %s",
             frc == TERN_EINVAL ? "is refused" : "WAS ACCEPTED");
    if (f)
        fclose(f);
    if (rc != TERN_OK || pthread_create(&s->writer, NULL, write_one, s) != 0) {
        close(s->p[0]);
        close(s->p[1]);
        free(s);
        return TERN_EINVAL;
    }
    *self = s;
    return TERN_OK;
}

static void fw_fini(void *self)
{
    st *s = self;
    pthread_join(s->writer, NULL);
    tern_rc a = s->api->fd_unwatch(s->m, s->rid);
    s->api->log(s->m, TERN_LOG_LEVEL_INFO, "fdwatch: fini finds %s",
                a == TERN_ENOENT ? "no watch left" : "A WATCH LEFT");
    close(s->p[0]);
    close(s->p[1]);
    free(s);
}

TERN_MODULE_DEFINE(.name = "fdwatch", .version = "1.0",
                   .description = "test module: fd_watch / fd_unwatch on a pipe",
                   .init = fw_init, .fini = fw_fini);
