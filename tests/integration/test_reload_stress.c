/* 100 reloads under traffic (issue 6): on two workers, a publisher and a
 * subscriber (cnats) run while the configuration is reloaded 100 times,
 * cycling through a module swap (a new .so installed over the file on
 * disk, v1 ↔ v2, its state handed over), a change of the module's and of
 * the kernel's configuration, an unload and a load. No client may be
 * disconnected, and the subscriber, whose interest never changes, must
 * receive every message in order. The suite also runs it under ASan and
 * TSan (tests/README, docs/reload.md). ternd only. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define MODDIR TERN_TEST_MODULES_DIR
#define RELOADS 100

static int count_log(const it_server *s, const char *needle)
{
    char *log = it_server_log(s);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(log);
    return n;
}

/* SIGHUP; wait for this reload's outcome (the n-th success). */
static bool reload(it_server *s, int n_ok)
{
    it_server_signal(s, SIGHUP);
    int64_t deadline = it_now_ms() + 20000;
    while (it_now_ms() < deadline) {
        if (count_log(s, "Reloaded server configuration") >= n_ok)
            return true;
        if (count_log(s, "Failed to reload server configuration") > 0)
            return false;
        it_poll_pause();
    }
    return false;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
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

typedef struct traffic {
    natsConnection *pub, *sub;
    _Atomic bool    stop;
    _Atomic long    sent, got;
    _Atomic bool    in_order;
} traffic;

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    traffic *t = closure;
    (void)nc, (void)sub;
    long want = atomic_load(&t->got);
    if (atol(natsMsg_GetData(m)) != want)
        atomic_store(&t->in_order, false);
    atomic_store(&t->got, want + 1);
    natsMsg_Destroy(m);
}

static void *publish_loop(void *arg)
{
    traffic *t = arg;
    while (!atomic_load(&t->stop)) {
        char body[24];
        snprintf(body, sizeof body, "%ld", atomic_load(&t->sent));
        if (natsConnection_PublishString(t->pub, "traffic", body) != NATS_OK)
            break;
        /* Flushed every 50: the publisher never runs far ahead. */
        if (atomic_fetch_add(&t->sent, 1) % 50 == 49 && natsConnection_Flush(t->pub) != NATS_OK)
            break;
    }
    natsConnection_Flush(t->pub);
    return NULL;
}

static char *request(natsConnection *nc, const char *subject)
{
    natsMsg *m = NULL;
    if (natsConnection_RequestString(&m, nc, subject, "", 5000) != NATS_OK)
        return NULL;
    char *text = strdup(natsMsg_GetData(m));
    natsMsg_Destroy(m);
    return text;
}

int main(void)
{
    if (!strcmp(it_server_kind(), "nats-server")) {
        printf("ternd only: skipped against nats-server\n");
        return it_summary();
    }
    char mdir[] = "/tmp/tern-stress-XXXXXX";
    if (!IT_CHECK(mkdtemp(mdir) != NULL, "temp dir"))
        return it_summary();
    char so[300], yaml[600], layer[300];
    snprintf(so, sizeof so, "%s/state.so", mdir);
    IT_CHECK(install(MODDIR "/mod_state_v1.so", so), "the module is installed");
    snprintf(yaml, sizeof yaml, "modules:\n  state: { path: %s, greeting: g }\n", so);
    it_server s;
    it_opts o = { .log_file = true, .auth_yaml = yaml };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "the server starts (two workers)"))
        goto cleanup;
    snprintf(layer, sizeof layer, "%s/conf.d/20-stress.yaml", s.dir);

    traffic t = { .in_order = true };
    natsConnection *ctl = it_nats_connect(&s);
    t.pub = it_nats_connect(&s);
    t.sub = it_nats_connect(&s);
    natsSubscription *sub = NULL;
    if (!IT_CHECK(ctl && t.pub && t.sub, "clients connect"))
        goto out;
    natsConnection_Subscribe(&sub, t.sub, "traffic", on_msg, &t);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsConnection_Flush(t.sub);
    pthread_t th;
    pthread_create(&th, NULL, publish_loop, &t);
    int64_t t0 = it_now_ms();

    /* The cycle: swap, reconfigure (module and kernel), unload, load. */
    int version = 1, count = 0, ok_reloads = 0, bad_answers = 0;
    bool loaded = true, reloads_ok = true;
    char *first = request(ctl, "mod.state.ping");
    count = first ? 1 : 0;
    free(first);
    for (int i = 0; i < RELOADS && reloads_ok; i++) {
        char text[400];
        switch (i % 4) {
        case 0:   /* a new version of the file on disk: swapped, state handed over */
            version = version == 1 ? 2 : 1;
            install(version == 1 ? MODDIR "/mod_state_v1.so" : MODDIR "/mod_state_v2.so", so);
            snprintf(text, sizeof text, "modules:\n  state: { greeting: r%d }\n", i);
            break;
        case 1:   /* configuration: the module's (reload in place) and the kernel's */
            snprintf(text, sizeof text,
                     "server: { max_pending: %dMB, ping_max: %d }\n"
                     "modules:\n  state: { greeting: r%d }\n", 32 + i % 7, 2 + i % 3, i);
            break;
        case 2:   /* unload */
            snprintf(text, sizeof text, "modules:\n  state: { enabled: false }\n");
            break;
        default:  /* load again: a cold start */
            snprintf(text, sizeof text, "modules:\n  state: { greeting: r%d }\n", i);
            break;
        }
        write_file(layer, text);
        reloads_ok = reload(&s, ++ok_reloads);
        loaded = i % 4 != 2;
        if (i % 4 == 3)
            count = 0;
        char *got = request(ctl, "mod.state.ping");
        char want[64];
        snprintf(want, sizeof want, "v%d count=%d greeting=r%d", version, ++count, i);
        if (loaded ? !got || strcmp(got, want) : got != NULL) {
            if (bad_answers++ < 5)
                printf("reload %d: '%s', want '%s'\n", i, got ? got : "(nothing)",
                       loaded ? want : "(nothing)");
        }
        if (!loaded)
            count = 0;
        free(got);
    }
    IT_CHECK(reloads_ok, "%d reloads succeed", RELOADS);
    IT_CHECK(bad_answers == 0, "the module answers as each reload left it (%d wrong)",
             bad_answers);
    atomic_store(&t.stop, true);
    pthread_join(th, NULL);
    int64_t deadline = it_now_ms() + 30000;
    while (atomic_load(&t.got) < atomic_load(&t.sent) && it_now_ms() < deadline)
        it_poll_pause();
    printf("%d reloads, %ld messages in %lld ms\n", RELOADS, atomic_load(&t.sent),
           (long long)(it_now_ms() - t0));
    IT_CHECK(atomic_load(&t.sent) > 0 && atomic_load(&t.got) == atomic_load(&t.sent) &&
                 atomic_load(&t.in_order),
             "every message published during the reloads arrived, in order (%ld of %ld)",
             atomic_load(&t.got), atomic_load(&t.sent));
    IT_CHECK(!natsConnection_IsClosed(t.pub) && !natsConnection_IsClosed(t.sub) &&
                 !natsConnection_IsClosed(ctl),
             "no client was disconnected");
    IT_CHECK(count_log(&s, "Failed to reload") == 0, "no reload failed");
out:
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(t.pub);
    natsConnection_Destroy(t.sub);
    natsConnection_Destroy(ctl);
    it_server_stop(&s);
cleanup:
    unlink(so);
    rmdir(mdir);
    return it_summary();
}
