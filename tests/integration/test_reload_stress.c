/* 100 reloads under traffic (issue 6): on two workers, a publisher and a
 * subscriber (cnats) run while the configuration is reloaded 100 times,
 * cycling through a module swap (a new .so installed over the file on
 * disk, v1 ↔ v2, its state handed over), a change of the module's and of
 * the kernel's configuration, an unload and a load. No client may be
 * disconnected, and the subscriber, whose interest never changes, must
 * receive every message in order. The suite also runs it under ASan and
 * TSan (tests/README, docs/reload.md). ternd only. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define MODDIR TERN_TEST_MODULES_DIR
#define RELOADS 100

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    char mdir[] = "/tmp/tern-stress-XXXXXX";
    if (!IT_CHECK(mkdtemp(mdir) != NULL, "temp dir"))
        return it_summary();
    char so[300], yaml[600], layer[300];
    snprintf(so, sizeof so, "%s/state.so", mdir);
    IT_CHECK(it_install_file(MODDIR "/mod_state_v1.so", so), "the module is installed");
    snprintf(yaml, sizeof yaml, "modules:\n  state: { path: %s, greeting: g }\n", so);
    it_server s;
    it_opts o = { .log_file = true, .auth_yaml = yaml };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "the server starts (two workers)"))
        goto cleanup;
    snprintf(layer, sizeof layer, "%s/conf.d/20-stress.yaml", s.dir);

    it_traffic t = { 0 };
    natsConnection *ctl = it_nats_connect(&s);
    natsConnection *pub = it_nats_connect(&s), *sub = it_nats_connect(&s);
    if (!IT_CHECK(ctl && pub && sub && it_traffic_start(&t, pub, sub), "clients connect"))
        goto out;
    int64_t t0 = it_now_ms();

    /* The cycle: swap, reconfigure (module and kernel), unload, load. */
    int version = 1, count = 0, bad_answers = 0;
    bool loaded = true, reloads_ok = true;
    char *first = it_request(ctl, "mod.state.ping", NULL, 5000);
    count = first ? 1 : 0;
    free(first);
    for (int i = 0; i < RELOADS && reloads_ok; i++) {
        char text[400];
        switch (i % 4) {
        case 0:   /* a new version of the file on disk: swapped, state handed over */
            version = version == 1 ? 2 : 1;
            it_install_file(version == 1 ? MODDIR "/mod_state_v1.so" : MODDIR "/mod_state_v2.so", so);
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
        it_write_file(layer, text);
        reloads_ok = it_server_reload(&s, 20000) == IT_RELOADED;
        loaded = i % 4 != 2;
        if (i % 4 == 3)
            count = 0;
        char *got = it_request(ctl, "mod.state.ping", NULL, 5000);
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
    bool all_arrived = it_traffic_stop(&t, 30000);
    printf("%d reloads, %ld messages in %lld ms\n", RELOADS, atomic_load(&t.sent),
           (long long)(it_now_ms() - t0));
    IT_CHECK(atomic_load(&t.sent) > 0 && all_arrived,
             "every message published during the reloads arrived, in order (%ld of %ld)",
             atomic_load(&t.got), atomic_load(&t.sent));
    IT_CHECK(!natsConnection_IsClosed(pub) && !natsConnection_IsClosed(sub) &&
                 !natsConnection_IsClosed(ctl),
             "no client was disconnected");
    IT_CHECK(it_log_count(&s, "Failed to reload") == 0, "no reload failed");
out:
    it_traffic_stop(&t, 0);
    natsConnection_Destroy(pub);
    natsConnection_Destroy(sub);
    natsConnection_Destroy(ctl);
    it_server_stop(&s);
cleanup:
    unlink(so);
    rmdir(mdir);
    return it_summary();
}
