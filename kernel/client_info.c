/* Extra INFO keys of modules (client_info.h). */
#include "client_info.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "module_int.h"
#include "server.h"
#include "worker.h"
#include "xalloc.h"

/* nats-server's Info fields after max_payload, in its order; the ones
 * before client_id go in the first segment. */
static const char *const before_keys[] = { "git_commit", "go", "tls_available", "jetstream",
                                           "ip", NULL };
static const char *const after_keys[] = { "cluster", "cluster_dynamic", "domain",
                                          "connect_urls", "ws_connect_urls", NULL };
/* Keys the kernel writes itself. */
static const char *const own_keys[] = { "server_id", "server_name", "version", "proto", "host",
                                        "port", "headers", "auth_required", "tls_required",
                                        "tls_verify", "max_payload", "client_id", "client_ip",
                                        "nonce", "ldm", "tern_version", NULL };

typedef struct key_val {
    char *key;
    char *json;          /* compact JSON text */
} key_val;

static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static key_val *g_keys;           /* in first-set order */
static size_t g_nkeys;
static char *g_before, *g_after;  /* rendered segments (NULL: empty) */

static int rank(const char *const *list, const char *key)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], key))
            return i;
    return -1;
}

static void render_segment(tern_buf *b, const char *const *order, bool rest)
{
    for (int r = 0; order && order[r]; r++)
        for (size_t i = 0; i < g_nkeys; i++)
            if (!strcmp(g_keys[i].key, order[r])) {
                tern_buf_append_str(b, ",\"");
                tern_buf_append_str(b, g_keys[i].key);
                tern_buf_append_str(b, "\":");
                tern_buf_append_str(b, g_keys[i].json);
            }
    for (size_t i = 0; rest && i < g_nkeys; i++)
        if (rank(before_keys, g_keys[i].key) < 0 && rank(after_keys, g_keys[i].key) < 0) {
            tern_buf_append_str(b, ",\"");
            tern_buf_append_str(b, g_keys[i].key);
            tern_buf_append_str(b, "\":");
            tern_buf_append_str(b, g_keys[i].json);
        }
}

static char *render(const char *const *order, bool rest)
{
    tern_buf b = {0};
    render_segment(&b, order, rest);
    if (!b.len) {
        tern_buf_free(&b);
        return NULL;
    }
    tern_buf_append(&b, "", 1);
    return b.data;
}

void tern_client_info_before(tern_buf *b)
{
    pthread_rwlock_rdlock(&g_lock);
    if (g_before)
        tern_buf_append_str(b, g_before);
    pthread_rwlock_unlock(&g_lock);
}

void tern_client_info_after(tern_buf *b)
{
    pthread_rwlock_rdlock(&g_lock);
    if (g_after)
        tern_buf_append_str(b, g_after);
    pthread_rwlock_unlock(&g_lock);
}

/* The async INFO nats-server sends on such a change: the client's own
 * INFO without a nonce, to clients that said protocol 1 and got their
 * first PONG. */
static void broadcast_task(tern_worker *w, void *arg)
{
    (void)arg;
    for (tern_client *c = w->clients; c; c = c->next)
        tern_client_send_async_info(c);
}

tern_rc tern_client_info_set(tern_module *m, const char *key, const char *json, bool broadcast)
{
    if (!key || !*key || rank(own_keys, key) >= 0) {
        tern_mod_set_error(m, "client_info_set: '%s' is not a key modules may set",
                           key ? key : "");
        return TERN_EINVAL;
    }
    char *compact = NULL;
    if (json) {
        json_error_t jerr;
        json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
        if (!v) {
            tern_mod_set_error(m, "client_info_set: %s: invalid JSON: %s", key, jerr.text);
            return TERN_EINVAL;
        }
        compact = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(v);
    }
    pthread_rwlock_wrlock(&g_lock);
    size_t i = 0;
    while (i < g_nkeys && strcmp(g_keys[i].key, key))
        i++;
    if (i < g_nkeys && !compact) {
        free(g_keys[i].key);
        free(g_keys[i].json);
        memmove(&g_keys[i], &g_keys[i + 1], (g_nkeys - i - 1) * sizeof *g_keys);
        g_nkeys--;
    } else if (i < g_nkeys) {
        free(g_keys[i].json);
        g_keys[i].json = compact;
    } else if (compact) {
        g_keys = tern_xrealloc(g_keys, (g_nkeys + 1) * sizeof *g_keys);
        g_keys[g_nkeys++] = (key_val){ tern_xstrdup(key), compact };
    }
    free(g_before);
    free(g_after);
    g_before = render(before_keys, false);
    g_after = render(after_keys, true);
    pthread_rwlock_unlock(&g_lock);
    if (broadcast && tern_mod_srv)
        for (int w = 0; w < tern_mod_srv->nworkers; w++)
            tern_worker_post(&tern_mod_srv->workers[w], broadcast_task, NULL);
    return TERN_OK;
}

void tern_client_info_free(void)
{
    pthread_rwlock_wrlock(&g_lock);
    for (size_t i = 0; i < g_nkeys; i++) {
        free(g_keys[i].key);
        free(g_keys[i].json);
    }
    free(g_keys);
    g_keys = NULL;
    g_nkeys = 0;
    free(g_before);
    free(g_after);
    g_before = g_after = NULL;
    pthread_rwlock_unlock(&g_lock);
}
