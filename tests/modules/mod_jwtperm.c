/* Test module "jwtperm": exercises the 1.1 authentication slots.
 *
 * A CONNECT with a jwt is decoded with api->jwt_decode (signature
 * checked by the server); its nats.pub / nats.sub lists become the
 * client's permissions and its "name" the user name. With async: true
 * the decision is completed from the module's own thread with
 * auth_complete_ex, otherwise through the event's out fields. A CONNECT
 * whose jwt does not decode is denied; without a jwt the module ignores
 * it. A request on "jwtperm.close" with a cid as payload closes that
 * client with api->client_close (reason "User Authentication Revoked").
 * "jwtperm.users" answers the user names seen by CLIENT_CONNECTED. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/module.h>

typedef struct job {
    struct job *next;
    tern_async  token;
    char       *perms, *name;
    bool        ok;
} job;

typedef struct jp {
    const tern_host_api *api;
    tern_module         *m;
    bool                 async;
    pthread_t            thread;
    pthread_mutex_t      mu;
    pthread_cond_t       cv;
    job                 *queue;
    bool                 stop;
    char                 users[1024];  /* under mu */
} jp;

static const char *const keys[] = { "async", NULL };

/* {"allow":[..],"deny":[..]} of the JWT → the same shape under a conf.d
 * direction name. */
static void direction(json_t *out, const char *name, json_t *in)
{
    if (!json_is_object(in) || json_object_size(in) == 0)
        return;
    json_t *d = json_object();
    json_t *v;
    if ((v = json_object_get(in, "allow")) && json_array_size(v))
        json_object_set(d, "allow", v);
    if ((v = json_object_get(in, "deny")) && json_array_size(v))
        json_object_set(d, "deny", v);
    json_object_set_new(out, name, d);
}

static bool decide(jp *p, const char *jwt, char **perms, char **name)
{
    char *text = NULL;
    *perms = *name = NULL;
    if (p->api->jwt_decode(p->m, jwt, &text) != TERN_OK) {
        p->api->log(p->m, TERN_LOG_LEVEL_INFO, "bad jwt: %s", p->api->error(p->m));
        return false;
    }
    json_t *claims = json_loads(text, 0, NULL);
    p->api->free(text);
    if (!claims)
        return false;
    json_t *nats = json_object_get(claims, "nats");
    json_t *out = json_object();
    direction(out, "publish", json_object_get(nats, "pub"));
    direction(out, "subscribe", json_object_get(nats, "sub"));
    if (json_object_size(out))
        *perms = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    const char *n = json_string_value(json_object_get(claims, "name"));
    *name = n ? strdup(n) : NULL;
    json_decref(claims);
    return true;
}

static void *run(void *arg)
{
    jp *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->queue && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        job *j = p->queue;
        if (j)
            p->queue = j->next;
        pthread_mutex_unlock(&p->mu);
        if (!j)
            return NULL;
        p->api->auth_complete_ex(j->token, j->ok ? TERN_VERDICT_ALLOW : TERN_VERDICT_DENY, NULL,
                                 j->perms, j->name);
        free(j->perms);
        free(j->name);
        free(j);
    }
}

static tern_verdict on_auth(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    jp *p = ud;
    const tern_evt_auth *ev = (const tern_evt_auth *)hdr;
    if (hdr->size < offsetof(tern_evt_auth, user_name) + sizeof ev->user_name || !ev->jwt)
        return TERN_VERDICT_IGNORE;
    char *perms, *name;
    bool ok = decide(p, ev->jwt, &perms, &name);
    if (p->async) {
        job *j = calloc(1, sizeof *j);
        *j = (job){ .token = ev->token, .perms = perms, .name = name, .ok = ok };
        pthread_mutex_lock(&p->mu);
        j->next = p->queue;
        p->queue = j;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return TERN_VERDICT_PENDING;
    }
    if (!ok)
        return TERN_VERDICT_DENY;
    /* The out fields are copied before the hook returns: a static
     * per-thread buffer is enough. */
    static __thread char pbuf[2048], nbuf[256];
    tern_evt_auth *out = (tern_evt_auth *)hdr;
    snprintf(pbuf, sizeof pbuf, "%s", perms ? perms : "");
    snprintf(nbuf, sizeof nbuf, "%s", name ? name : "");
    out->permissions = perms ? pbuf : NULL;
    out->user_name = name ? nbuf : NULL;
    free(perms);
    free(name);
    return TERN_VERDICT_ALLOW;
}

static tern_verdict on_connected(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    jp *p = ud;
    const tern_evt_client *ev = (const tern_evt_client *)hdr;
    if (hdr->size < offsetof(tern_evt_client, user) + sizeof ev->user || !ev->user)
        return TERN_VERDICT_IGNORE;
    pthread_mutex_lock(&p->mu);
    size_t n = strlen(p->users);
    snprintf(p->users + n, sizeof p->users - n, "%s%s", n ? "," : "", ev->user);
    pthread_mutex_unlock(&p->mu);
    return TERN_VERDICT_IGNORE;
}

static void on_close_req(tern_module *m, const char *subject, const char *reply, const void *data,
                         size_t len, void *ud)
{
    (void)subject;
    jp *p = ud;
    char num[32];
    snprintf(num, sizeof num, "%.*s", (int)(len < 31 ? len : 31), (const char *)data);
    tern_rc rc = p->api->client_close(m, strtoull(num, NULL, 10), "User Authentication Revoked");
    if (reply) {
        const char *ans = rc == TERN_OK ? "ok" : rc == TERN_ESTALE ? "stale" : "error";
        p->api->publish(m, NULL, reply, NULL, ans, strlen(ans));
    }
}

static void on_users_req(tern_module *m, const char *subject, const char *reply, const void *data,
                         size_t len, void *ud)
{
    (void)subject;
    (void)data;
    (void)len;
    jp *p = ud;
    if (!reply)
        return;
    char copy[1024];
    pthread_mutex_lock(&p->mu);
    snprintf(copy, sizeof copy, "%s", p->users);
    pthread_mutex_unlock(&p->mu);
    p->api->publish(m, NULL, reply, NULL, copy, strlen(copy));
}

static tern_rc jp_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                       void **self)
{
    if (!TERN_API_HAS(api, jwt_decode) || !TERN_API_HAS(api, auth_complete_ex) ||
        !TERN_API_HAS(api, client_close)) {
        api->set_error(m, "the server lacks the 1.1 auth slots");
        return TERN_ENOTSUP;
    }
    tern_rc rc = api->conf_check_keys(m, conf, keys);
    if (rc != TERN_OK)
        return rc;
    jp *p = calloc(1, sizeof *p);
    p->api = api;
    p->m = m;
    rc = api->conf_bool(m, api->conf_get(conf, "async"), &p->async);
    if (rc != TERN_OK && rc != TERN_ENOENT) {
        free(p);
        return rc;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_create(&p->thread, NULL, run, p);
    api->hook_register(m, TERN_EVT_AUTH, TERN_PRIO_DEFAULT, on_auth, p);
    api->hook_register(m, TERN_EVT_CLIENT_CONNECTED, TERN_PRIO_DEFAULT, on_connected, p);
    api->sub_add(m, NULL, "jwtperm.close", NULL, on_close_req, p, NULL);
    api->sub_add(m, NULL, "jwtperm.users", NULL, on_users_req, p, NULL);
    *self = p;
    return TERN_OK;
}

static void jp_fini(void *self)
{
    jp *p = self;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    while (p->queue) {
        job *j = p->queue;
        p->queue = j->next;
        free(j->perms);
        free(j->name);
        free(j);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

TERN_MODULE_DEFINE(.name = "jwtperm", .version = "1.0",
                   .description = "test: JWT permissions through the 1.1 auth slots",
                   .init = jp_init, .fini = jp_fini);
