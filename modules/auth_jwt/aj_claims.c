/* The account resolver protocol on the system account, with
 * nats-server 2.9's subjects and answers (server/accounts.go,
 * DirAccResolver.Start; server/events.go for the memory/url resolvers):
 *   $SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE, $SYS.ACCOUNT.<acc>.CLAIMS.UPDATE
 *                                     every resolver (memory/url: known accounts)
 *   $SYS.REQ.CLAIMS.UPDATE            full, cache
 *   $SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP  answered by full
 *   $SYS.REQ.CLAIMS.LIST, $SYS.REQ.CLAIMS.DELETE  full (DELETE: cache too)
 * Callbacks run on workers: they decode and check, then hand storing to
 * the resolver thread and applying to the main thread; the answer goes
 * out once the update applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj.h"

/* The payload without a NATS/1.0 header block, NUL-terminated (malloc). */
static char *body(const void *data, size_t len)
{
    const char *d = data;
    if (len >= 8 && !memcmp(d, "NATS/1.0", 8)) {
        const char *end = memmem(d, len, "\r\n\r\n", 4);
        if (end) {
            len -= (size_t)(end + 4 - d);
            d = end + 4;
        }
    }
    while (len && (d[len - 1] == '\n' || d[len - 1] == '\r' || d[len - 1] == ' '))
        len--;
    return strndup(d, len);
}

/* Token i (0-based) of a subject into out. */
static bool token(const char *subject, int i, char *out, size_t cap)
{
    const char *p = subject;
    for (; i > 0 && p; i--)
        if ((p = strchr(p, '.')))
            p++;
    if (!p)
        return false;
    const char *e = strchr(p, '.');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = 0;
    return true;
}

static void update(aj *a, const char *pub, const char *reply, char *jwt)
{
    char why[256];
    pthread_mutex_lock(&a->mu);
    int rtype = a->conf.rtype;
    json_t *cl = aj_account_decode(a, &a->conf, jwt, pub, why, sizeof why);
    const char *sub = cl ? json_string_value(json_object_get(cl, "sub")) : NULL;
    char acc[AJ_KEY];
    snprintf(acc, sizeof acc, "%s", sub ? sub : pub ? pub : "n/a");
    aj_acc *x = cl ? aj_find(a, acc) : NULL;
    bool known = x && !x->deleted;
    if (cl && rtype != AJ_RES_FULL && rtype != AJ_RES_CACHE && known)
        aj_store(a, acc, jwt, cl);
    /* Under the lock: the resolver thread may hold a reference to cl
     * (aj_store) and jansson's decref reads the count unlocked first. */
    bool decoded = cl != NULL;
    json_decref(cl);
    pthread_mutex_unlock(&a->mu);
    if (!decoded) {
        aj_respond(a, reply, acc, strstr(why, "expired") ? "jwt validation failed"
                                                         : "jwt update resulted in error", why);
        return;
    }
    if (rtype == AJ_RES_FULL || (rtype == AJ_RES_CACHE && known)) {
        aj_job *j = calloc(1, sizeof *j);
        j->kind = AJ_JOB_SAVE;
        snprintf(j->pub, sizeof j->pub, "%s", acc);
        j->jwt = strdup(jwt);
        j->reply = reply ? strdup(reply) : NULL;
        aj_job_push(a, j);
    } else if (!known) {
        aj_respond(a, reply, acc, rtype == AJ_RES_CACHE ? "jwt update cache skipped"
                                                        : "jwt update skipped", NULL);
    } else {
        aj_mq *q = calloc(1, sizeof *q);
        q->kind = AJ_MQ_APPLY;
        snprintf(q->pub, sizeof q->pub, "%s", acc);
        q->reply = reply ? strdup(reply) : NULL;
        q->message = strdup("jwt updated");
        aj_mq_push(a, q);
    }
}

static void on_update_acc(tern_module *m, const char *subject, const char *reply,
                          const void *data, size_t len, void *ud)
{
    (void)m;
    aj *a = ud;
    char pub[AJ_KEY];
    /* $SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE or $SYS.ACCOUNT.<acc>.CLAIMS.UPDATE */
    if (!token(subject, !strncmp(subject, "$SYS.REQ.", 9) ? 3 : 2, pub, sizeof pub))
        return;
    char *jwt = body(data, len);
    update(a, pub, reply, jwt);
    free(jwt);
}

static void on_update(tern_module *m, const char *subject, const char *reply, const void *data,
                      size_t len, void *ud)
{
    (void)m, (void)subject;
    aj *a = ud;
    if (a->conf.rtype != AJ_RES_FULL && a->conf.rtype != AJ_RES_CACHE)
        return;
    char *jwt = body(data, len);
    update(a, NULL, reply, jwt);
    free(jwt);
}

static void on_lookup(tern_module *m, const char *subject, const char *reply, const void *data,
                      size_t len, void *ud)
{
    (void)data, (void)len;
    aj *a = ud;
    char pub[AJ_KEY];
    if (!reply || a->conf.rtype != AJ_RES_FULL || !strncmp(reply, a->inbox, strlen(a->inbox)) ||
        !token(subject, 3, pub, sizeof pub))
        return;
    pthread_mutex_lock(&a->mu);
    aj_acc *x = aj_find(a, pub);
    char *jwt = x && !x->deleted ? strdup(x->jwt) : NULL;
    pthread_mutex_unlock(&a->mu);
    /* An empty answer says "not here", as nats-server. */
    a->api->publish(m, a->sys_bind, reply, NULL, jwt ? jwt : "", jwt ? strlen(jwt) : 0);
    free(jwt);
}

static void on_lookup_reply(tern_module *m, const char *subject, const char *reply,
                            const void *data, size_t len, void *ud)
{
    (void)m, (void)reply;
    aj *a = ud;
    char pub[AJ_KEY];
    const char *last = strrchr(subject, '.');
    if (!len || !last || snprintf(pub, sizeof pub, "%s", last + 1) >= (int)sizeof pub)
        return;
    char *jwt = body(data, len);
    char why[256];
    pthread_mutex_lock(&a->mu);
    json_t *cl = aj_account_decode(a, &a->conf, jwt, pub, why, sizeof why);
    if (cl)
        aj_store(a, pub, jwt, cl);
    bool dir = a->conf.rtype == AJ_RES_FULL || a->conf.rtype == AJ_RES_CACHE;
    pthread_mutex_unlock(&a->mu);
    if (cl && dir) {   /* kept in the dir; applied once stored */
        aj_job *j = calloc(1, sizeof *j);
        j->kind = AJ_JOB_SAVE;
        snprintf(j->pub, sizeof j->pub, "%s", pub);
        j->jwt = strdup(jwt);
        aj_job_push(a, j);
    } else if (cl) {
        aj_mq *q = calloc(1, sizeof *q);
        q->kind = AJ_MQ_APPLY;
        snprintf(q->pub, sizeof q->pub, "%s", pub);
        aj_mq_push(a, q);
    } else {
        a->api->log(a->m, TERN_LOG_LEVEL_WARN, "lookup of %s: %s", pub, why);
    }
    json_decref(cl);
    free(jwt);
}

static void on_list(tern_module *m, const char *subject, const char *reply, const void *data,
                    size_t len, void *ud)
{
    (void)m, (void)subject, (void)data, (void)len;
    aj *a = ud;
    if (!reply || a->conf.rtype != AJ_RES_FULL)
        return;
    json_t *list = json_array();
    pthread_mutex_lock(&a->mu);
    for (aj_acc *x = a->accs; x; x = x->next)
        if (!x->deleted)
            json_array_append_new(list, json_string(x->pub));
    pthread_mutex_unlock(&a->mu);
    json_t *r = json_object();
    json_t *srv = json_object();
    json_object_set_new(srv, "id", json_string(a->server_id));
    json_object_set_new(r, "server", srv);
    json_object_set_new(r, "data", list);
    char *s = json_dumps(r, JSON_COMPACT);
    a->api->publish(a->m, a->sys_bind, reply, NULL, s, strlen(s));
    free(s);
    json_decref(r);
}

static void on_delete(tern_module *m, const char *subject, const char *reply, const void *data,
                      size_t len, void *ud)
{
    (void)subject;
    aj *a = ud;
    if (a->conf.rtype != AJ_RES_FULL && a->conf.rtype != AJ_RES_CACHE)
        return;
    char *jwt = body(data, len), *text = NULL;
    const char *err = NULL;
    json_t *cl = NULL, *accounts = NULL;
    char who[AJ_KEY] = "";
    if (a->api->jwt_decode(m, jwt, &text) != TERN_OK) {
        err = a->api->error(m);
    } else {
        cl = json_loads(text, 0, NULL);
        a->api->free(text);
        const char *iss = json_string_value(json_object_get(cl, "iss"));
        const char *sub = json_string_value(json_object_get(cl, "sub"));
        snprintf(who, sizeof who, "%s", sub ? sub : "");
        accounts = json_object_get(json_object_get(cl, "nats"), "accounts");
        pthread_mutex_lock(&a->mu);
        bool op = false;
        for (size_t i = 0; iss && i < a->conf.nops; i++)
            op |= !strcmp(a->conf.operators[i], iss);
        bool allow = a->conf.allow_delete;
        const char *sys = a->conf.system_account;
        if (!allow)
            err = "delete must be enabled in server config";
        else if (!iss || !sub || strcmp(iss, sub) != 0)
            err = "not self signed";
        else if (!op && !aj_trusted(&a->conf, iss))
            err = "not trusted";
        else if (!json_array_size(accounts))
            err = "malformed request";
        size_t i;
        json_t *v;
        json_array_foreach(accounts, i, v) {
            if (err)
                break;
            const char *k = json_string_value(v);
            if (!k || !a->api->nkey_valid_public(k, 'A'))
                err = "malformed request";
            else if (sys && !strcmp(k, sys))
                err = "not allowed to delete system account";
        }
        pthread_mutex_unlock(&a->mu);
    }
    if (err) {
        char msg[160];
        snprintf(msg, sizeof msg, "delete accounts request by %s failed", who);
        aj_respond(a, reply, NULL, msg, err);
    } else {
        aj_job *j = calloc(1, sizeof *j);
        j->kind = AJ_JOB_DELETE;
        /* a copy of its own for the resolver thread: jansson's reference
         * counts are atomic, but the sanitizer cannot see that inside the
         * library and reports the last release as a race */
        j->accounts = json_deep_copy(accounts);
        j->reply = reply ? strdup(reply) : NULL;
        aj_job_push(a, j);
    }
    json_decref(cl);
    free(jwt);
}

tern_rc aj_claims_subscribe(aj *a)
{
    static const struct { const char *subject; tern_msg_fn fn; } subs[] = {
        { "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE", on_update_acc },
        { "$SYS.ACCOUNT.*.CLAIMS.UPDATE", on_update_acc },
        { "$SYS.REQ.CLAIMS.UPDATE", on_update },
        { "$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP", on_lookup },
        { "$SYS.REQ.CLAIMS.LIST", on_list },
        { "$SYS.REQ.CLAIMS.DELETE", on_delete },
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        tern_rc rc = a->api->sub_add(a->m, a->sys_bind, subs[i].subject, NULL, subs[i].fn, a,
                                     NULL);
        if (rc != TERN_OK)
            return rc;
    }
    char inbox[128];
    snprintf(inbox, sizeof inbox, "%s.*", a->inbox);
    return a->api->sub_add(a->m, a->sys_bind, inbox, NULL, on_lookup_reply, a, NULL);
}
