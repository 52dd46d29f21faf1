/* Test module "state", built twice (MOD_STATE_VERSION 1 and 2): a
 * counter that must survive a swap of the .so through the state
 * hand-off, a greeting that reload() changes in place, and a document
 * provider. It answers requests on "mod.state.ping" in the global
 * account with "v<version> count=<n> greeting=<text>"; "routez" is
 * answered with the version, the counter and the ticks seen.
 *
 * Configuration: greeting (string), fail_init (bool: init fails),
 * timer (a duration: a repeating timer that stops itself after three
 * runs; "mod.state.timer" answers "fires=<n>"). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/module.h>

#ifndef MOD_STATE_VERSION
#define MOD_STATE_VERSION 1
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

#define STATE_SCHEMA 0x53544154u   /* "STAT" */

typedef struct state {
    const tern_host_api *api;
    tern_module         *m;
    _Atomic uint64_t     count;
    _Atomic uint64_t     ticks;
    _Atomic int          fires;
    char                 greeting[64];
} state;

static const char *const keys[] = { "greeting", "fail_init", "timer", NULL };

static tern_rc read_conf(tern_module *m, const tern_host_api *api, const tern_config *conf,
                         char greeting[64], bool *fail)
{
    if (api->conf_check_keys(m, conf, keys) != TERN_OK)
        return TERN_EINVAL;
    const char *g = "hello";
    tern_rc rc = api->conf_str(m, api->conf_get(conf, "greeting"), &g);
    if (rc == TERN_EINVAL)
        return rc;
    if (strlen(g) >= 64)
        return api->conf_error(m, api->conf_get(conf, "greeting"), "greeting too long");
    if (greeting)
        snprintf(greeting, 64, "%s", g);
    bool f = false;
    if (api->conf_bool(m, api->conf_get(conf, "fail_init"), &f) == TERN_EINVAL)
        return TERN_EINVAL;
    if (fail)
        *fail = f;
    int64_t ms;
    if (api->conf_duration_ms(m, api->conf_get(conf, "timer"), &ms) == TERN_EINVAL)
        return TERN_EINVAL;
    return TERN_OK;
}

static void on_timer(tern_module *m, uint64_t id, void *ud)
{
    state *s = ud;
    if (atomic_fetch_add(&s->fires, 1) + 1 == 3)
        s->api->timer_stop(m, id);
}

static void on_timer_query(tern_module *m, const char *subject, const char *reply,
                           const void *data, size_t len, void *ud)
{
    (void)subject, (void)data, (void)len;
    state *s = ud;
    char text[32];
    int n = snprintf(text, sizeof text, "fires=%d", atomic_load(&s->fires));
    if (reply)
        s->api->publish(m, NULL, reply, NULL, text, (size_t)n);
}

static tern_rc state_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    return read_conf(m, api, conf, NULL, NULL);
}

static void on_ping(tern_module *m, const char *subject, const char *reply, const void *data,
                    size_t len, void *ud)
{
    (void)subject, (void)data, (void)len;
    state *s = ud;
    uint64_t n = atomic_fetch_add(&s->count, 1) + 1;
    if (!reply)
        return;
    char text[160];
    int tl = snprintf(text, sizeof text, "v%d count=%llu greeting=%s", MOD_STATE_VERSION,
                      (unsigned long long)n, s->greeting);
    s->api->publish(m, NULL, reply, NULL, text, (size_t)tl);
}

static tern_verdict on_event(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    state *s = ud;
    if (hdr->evt == TERN_EVT_TICK) {
        atomic_fetch_add(&s->ticks, 1);
        return TERN_VERDICT_IGNORE;
    }
    if (hdr->evt == TERN_EVT_INFO) {
        tern_evt_info *ev = (tern_evt_info *)hdr;
        if (strcmp(ev->name, "routez") != 0)
            return TERN_VERDICT_IGNORE;
        char text[128];
        snprintf(text, sizeof text,
                 "{\"module\":\"state\",\"version\":%d,\"count\":%llu,\"ticks\":%llu}",
                 MOD_STATE_VERSION, (unsigned long long)atomic_load(&s->count),
                 (unsigned long long)atomic_load(&s->ticks));
        ev->json = s->api->strdup(text);
        return TERN_VERDICT_ALLOW;
    }
    return TERN_VERDICT_IGNORE;
}

static tern_rc state_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                          void **self)
{
    state *s = api->alloc(sizeof *s);
    if (!s)
        return TERN_ENOMEM;
    memset(s, 0, sizeof *s);
    s->api = api;
    s->m = m;
    bool fail = false;
    tern_rc rc = read_conf(m, api, conf, s->greeting, &fail);
    if (rc == TERN_OK && fail) {
        api->set_error(m, "fail_init is set");
        rc = TERN_EINVAL;
    }
    if (rc == TERN_OK)
        rc = api->sub_add(m, NULL, "mod.state.ping", NULL, on_ping, s, NULL);
    if (rc == TERN_OK)
        rc = api->sub_add(m, NULL, "mod.state.timer", NULL, on_timer_query, s, NULL);
    int64_t ms = 0;
    if (rc == TERN_OK && api->conf_duration_ms(m, api->conf_get(conf, "timer"), &ms) == TERN_OK)
        rc = api->timer_start(m, (uint64_t)ms, (uint64_t)ms, on_timer, s, NULL);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_TICK, TERN_PRIO_DEFAULT, on_event, s);
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_INFO, TERN_PRIO_DEFAULT, on_event, s);
    if (rc != TERN_OK) {
        api->free(s);
        return rc;
    }
    api->log(m, TERN_LOG_LEVEL_INFO, "state v%d started", MOD_STATE_VERSION);
    *self = s;
    return TERN_OK;
}

static tern_rc state_reload(void *self, const tern_config *conf)
{
    state *s = self;
    char g[64];
    tern_rc rc = read_conf(s->m, s->api, conf, g, NULL);
    if (rc == TERN_OK)
        memcpy(s->greeting, g, sizeof g);   /* workers are paused: no reader now */
    return rc;
}

static void state_fini(void *self)
{
    state *s = self;
    s->api->free(s);
}

/* The blob is the counter as decimal text: both versions read it. */
static tern_rc state_export(void *self, tern_blob *out)
{
    state *s = self;
    char text[32];
    int n = snprintf(text, sizeof text, "%llu", (unsigned long long)atomic_load(&s->count));
    out->schema = STATE_SCHEMA;
    out->version = MOD_STATE_VERSION;
    out->data = s->api->alloc((size_t)n);
    if (!out->data)
        return TERN_ENOMEM;
    memcpy(out->data, text, (size_t)n);
    out->len = (size_t)n;
    return TERN_OK;
}

static tern_rc state_import(void *self, const tern_blob *in)
{
    state *s = self;
    if (in->schema != STATE_SCHEMA || in->version < 1 || in->version > 2 || in->len >= 32) {
        s->api->set_error(s->m, "unknown state format %u.%u", in->schema, in->version);
        return TERN_ENOTSUP;
    }
    char text[32];
    memcpy(text, in->data, in->len);
    text[in->len] = 0;
    atomic_store(&s->count, strtoull(text, NULL, 10));
    return TERN_OK;
}

TERN_MODULE_DEFINE(.name = "state", .version = STR(MOD_STATE_VERSION) ".0",
                   .description = "test module: state hand-off", .init = state_init,
                   .reload = state_reload, .fini = state_fini, .validate = state_validate,
                   .export_state = state_export, .import_state = state_import)
