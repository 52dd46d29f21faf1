/* $SYS.REQ.CLAIMS.PACK: how full resolvers of a cluster converge, as
 * nats-server 2.9's DirAccResolver (server/accounts.go, Start) and its
 * DirJWTStore (server/dirstore.go):
 *  - the store's hash is the XOR of the SHA-256 of every <key>.jwt
 *    file's bytes (32 zero bytes for an empty dir);
 *  - every `interval` (and here also at start and when a peer's PACK
 *    interest appears) a resolver publishes PACK with its hash as the
 *    payload and a reply inbox;
 *  - a peer whose hash differs answers with every unexpired JWT of its
 *    dir, one "<key>|<jwt>" message each, then an empty message (the
 *    end); an equal hash gets the empty message alone;
 *  - the asker merges each JWT: kept unless its file holds one with the
 *    same jti or a later iat (nats-server's saveIfNewer). Tern also
 *    verifies the JWT against the trusted operators before storing it.
 * nats-server answers in the queue group "responder"; Tern's kernel
 * always hands a queue message to a local member first, so its own
 * request would only reach itself: Tern subscribes without a group
 * (every Tern peer answers, nats-server peers pick one member among
 * themselves) and ignores its own request.
 * Callbacks run on workers; the dir is read and written on the resolver
 * thread only. */
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj.h"

#define PACK_SUBJECT "$SYS.REQ.CLAIMS.PACK"
#define PACK_MAX_FILE (1u << 20)

typedef unsigned char pack_hash[crypto_hash_sha256_BYTES];

static void push(aj *a, int kind, const void *data, size_t len, const char *reply)
{
    aj_job *j = calloc(1, sizeof *j);
    j->kind = kind;
    if (data) {
        j->jwt = malloc(len + 1);
        memcpy(j->jwt, data, len);
        j->jwt[len] = 0;
        j->len = len;
    }
    j->reply = reply ? strdup(reply) : NULL;
    aj_job_push(a, j);
}

static bool is_full(aj *a)
{
    pthread_mutex_lock(&a->mu);
    bool full = a->conf.rtype == AJ_RES_FULL;
    pthread_mutex_unlock(&a->mu);
    return full;
}

/* ---- workers and main thread ------------------------------------------- */

static void on_pack_request(tern_module *m, const char *subject, const char *reply,
                            const void *data, size_t len, void *ud)
{
    (void)m, (void)subject;
    aj *a = ud;
    if (!reply || !strcmp(reply, a->pack_inbox) || !is_full(a))
        return;
    push(a, AJ_JOB_PACK_ANSWER, data, len, reply);
}

static void on_pack_answer(tern_module *m, const char *subject, const char *reply,
                           const void *data, size_t len, void *ud)
{
    (void)m, (void)subject, (void)reply;
    aj *a = ud;
    if (len == 0) {   /* the end of one peer's answer */
        a->api->log(a->m, TERN_LOG_LEVEL_DEBUG, "claims pack: a peer finished its answer");
        return;
    }
    if (is_full(a))
        push(a, AJ_JOB_PACK_MERGE, data, len, NULL);
}

static void on_timer(tern_module *m, uint64_t id, void *ud)
{
    (void)m, (void)id;
    push(ud, AJ_JOB_PACK_ASK, NULL, 0, NULL);
}

/* A peer's PACK subscription arrived over a link: it just joined (or
 * came back), so ask now rather than at the next interval. */
static tern_verdict on_interest(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    aj *a = ud;
    const tern_evt_interest *ev = (const tern_evt_interest *)hdr;
    if (hdr->size < offsetof(tern_evt_interest, source) + sizeof ev->source || !ev->source ||
        !ev->subject || strcmp(ev->subject, PACK_SUBJECT) != 0 || !ev->account ||
        strcmp(ev->account, a->sys_bind) != 0 || !is_full(a))
        return TERN_VERDICT_IGNORE;
    push(a, AJ_JOB_PACK_ASK, NULL, 0, NULL);
    return TERN_VERDICT_IGNORE;
}

tern_rc aj_pack_configure(aj *a)
{
    const tern_host_api *api = a->api;
    if (a->pack_timer) {
        api->timer_stop(a->m, a->pack_timer);
        a->pack_timer = 0;
    }
    if (a->conf.rtype != AJ_RES_FULL)
        return TERN_OK;
    tern_rc rc;
    if (!a->pack_on) {
        if (sodium_init() < 0) {
            api->set_error(a->m, "libsodium cannot start");
            return TERN_ENOMEM;
        }
        snprintf(a->pack_inbox, sizeof a->pack_inbox, "%sp", a->inbox);
        if ((rc = api->sub_add(a->m, a->sys_bind, PACK_SUBJECT, NULL, on_pack_request, a,
                               NULL)) != TERN_OK ||
            (rc = api->sub_add(a->m, a->sys_bind, a->pack_inbox, NULL, on_pack_answer, a,
                               NULL)) != TERN_OK)
            return rc;
        /* A server without interest events still syncs every interval. */
        api->hook_register(a->m, TERN_EVT_INTEREST_ADDED, TERN_PRIO_DEFAULT, on_interest, a);
        a->pack_on = true;
    }
    uint64_t every = (uint64_t)a->conf.interval_ms;
    return api->timer_start(a->m, 1, every, on_timer, a, &a->pack_timer);
}

/* ---- the resolver thread ------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(PACK_MAX_FILE + 1);
    size_t n = fread(buf, 1, PACK_MAX_FILE, f);
    bool bad = ferror(f) || !feof(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The dir's <key>.jwt files: fn(key, bytes) for each. */
typedef void (*jwt_fn)(const char *key, const char *bytes, size_t len, void *ud);

static int walk(const char *dir, jwt_fn fn, void *ud)
{
    DIR *d = aj_opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || e->d_name[0] == '.' || strcmp(e->d_name + l - 4, ".jwt") != 0)
            continue;
        char path[4096], key[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(key, sizeof key, "%.*s", (int)(l - 4), e->d_name);
        size_t n;
        char *bytes = read_all(path, &n);
        if (bytes)
            fn(key, bytes, n, ud);
        free(bytes);
    }
    closedir(d);
    return 0;
}

static void hash_one(const char *key, const char *bytes, size_t len, void *ud)
{
    (void)key;
    unsigned char *acc = ud;
    pack_hash h;
    crypto_hash_sha256(h, (const unsigned char *)bytes, len);
    for (size_t i = 0; i < sizeof h; i++)
        acc[i] ^= h[i];
}

static void store_hash(const char *dir, pack_hash out)
{
    memset(out, 0, sizeof(pack_hash));
    walk(dir, hash_one, out);
}

static char *dir_copy(aj *a)
{
    pthread_mutex_lock(&a->mu);
    char *dir = a->conf.dir && a->conf.rtype == AJ_RES_FULL ? strdup(a->conf.dir) : NULL;
    pthread_mutex_unlock(&a->mu);
    return dir;
}

static void ask(aj *a)
{
    char *dir = dir_copy(a);
    if (!dir)
        return;
    pack_hash h;
    store_hash(dir, h);
    free(dir);
    a->api->publish(a->m, a->sys_bind, PACK_SUBJECT, a->pack_inbox, h, sizeof h);
}

/* Claims of a JWT without the trust checks (its own signature only). */
static json_t *claims_of(aj *a, const char *jwt)
{
    char *text = NULL;
    if (a->api->jwt_decode(a->m, jwt, &text) != TERN_OK)
        return NULL;
    json_t *cl = json_loads(text, 0, NULL);
    a->api->free(text);
    return cl;
}

typedef struct answer { aj *a; const char *reply; size_t sent; } answer;

static void answer_one(const char *key, const char *bytes, size_t len, void *ud)
{
    answer *an = ud;
    aj *a = an->a;
    /* Expired JWTs stay out of the pack; one that does not decode goes
     * in (nats-server skips only what it knows has expired). */
    json_t *cl = claims_of(a, bytes);
    int64_t exp = json_integer_value(json_object_get(cl, "exp"));
    json_decref(cl);
    if (exp > 0 && exp < aj_now_s())
        return;
    size_t kl = strlen(key), n = kl + 1 + len;
    char *msg = malloc(n);
    memcpy(msg, key, kl);
    msg[kl] = '|';
    memcpy(msg + kl + 1, bytes, len);
    a->api->publish(a->m, a->sys_bind, an->reply, NULL, msg, n);
    free(msg);
    an->sent++;
}

static void answer_peer(aj *a, aj_job *j)
{
    char *dir = dir_copy(a);
    if (!dir)
        return;
    pack_hash ours;
    store_hash(dir, ours);
    if (j->len != sizeof ours || memcmp(j->jwt, ours, sizeof ours) != 0) {
        answer an = { a, j->reply, 0 };
        if (walk(dir, answer_one, &an) != 0) {
            /* as nats-server: no end message, the asker times out */
            a->api->log(a->m, TERN_LOG_LEVEL_ERROR, "claims pack: cannot read %s: %s", dir,
                        strerror(errno));
            free(dir);
            return;
        }
        a->api->log(a->m, TERN_LOG_LEVEL_DEBUG, "claims pack: sent %zu JWTs", an.sent);
    }
    free(dir);
    a->api->publish(a->m, a->sys_bind, j->reply, NULL, "", 0);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* One "<key>|<jwt>" of a pack: false on an error that ends the merge. */
static bool merge_one(aj *a, const char *dir, const char *key, const char *jwt)
{
    if (!a->api->nkey_valid_public(key, 'A')) {
        a->api->log(a->m, TERN_LOG_LEVEL_ERROR, "claims pack: \"%s\" is not an account key", key);
        return false;
    }
    char name[AJ_KEY + 8], path[4200];
    snprintf(name, sizeof name, "%s.jwt", key);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n;
    char *old = read_all(path, &n);
    if (old && !strcmp(old, jwt)) {
        free(old);
        return true;
    }
    json_t *ncl = NULL, *ocl = NULL;
    const char *err = NULL;
    bool keep_old = false;
    if (old) {
        /* nats-server's saveIfNewer */
        ncl = claims_of(a, jwt);
        ocl = claims_of(a, old);
        if (!ncl)
            err = "the JWT does not decode";
        else if (!ocl)
            ;   /* what is there does not decode: replaced */
        else if (str(ocl, "jti") && str(ncl, "jti") && !strcmp(str(ocl, "jti"), str(ncl, "jti")))
            keep_old = true;
        else if (json_integer_value(json_object_get(ocl, "iat")) >
                 json_integer_value(json_object_get(ncl, "iat")))
            keep_old = true;
        else if (!str(ncl, "sub") || strcmp(str(ncl, "sub"), key) != 0)
            err = "jwt subject nkey and provided nkey do not match";
        else if (!str(ocl, "sub") || strcmp(str(ocl, "sub"), str(ncl, "sub")) != 0)
            err = "subject of existing and new jwt do not match";
    }
    json_decref(ncl);
    json_decref(ocl);
    free(old);
    if (err) {
        a->api->log(a->m, TERN_LOG_LEVEL_ERROR, "claims pack: merging %s: %s", key, err);
        return false;
    }
    if (keep_old)
        return true;
    char why[256];
    pthread_mutex_lock(&a->mu);
    json_t *cl = aj_account_decode(a, &a->conf, jwt, key, why, sizeof why);
    pthread_mutex_unlock(&a->mu);
    if (!cl) {
        a->api->log(a->m, TERN_LOG_LEVEL_WARN, "claims pack: %s not kept: %s", key, why);
        return true;
    }
    if (aj_write_file(dir, name, jwt) != 0) {
        a->api->log(a->m, TERN_LOG_LEVEL_ERROR, "claims pack: cannot store %s: %s", key,
                    strerror(errno));
        pthread_mutex_lock(&a->mu);
        json_decref(cl);
        pthread_mutex_unlock(&a->mu);
        return false;
    }
    pthread_mutex_lock(&a->mu);
    aj_store(a, key, jwt, cl);
    json_decref(cl);   /* under the lock: see aj_claims.c, update() */
    pthread_mutex_unlock(&a->mu);
    a->api->log(a->m, TERN_LOG_LEVEL_INFO, "claims pack: account %s merged", key);
    aj_mq *q = calloc(1, sizeof *q);
    q->kind = AJ_MQ_APPLY;
    snprintf(q->pub, sizeof q->pub, "%s", key);
    aj_mq_push(a, q);
    return true;
}

static void merge(aj *a, aj_job *j)
{
    char *dir = dir_copy(a);
    if (!dir)
        return;
    char *save = NULL;
    for (char *line = strtok_r(j->jwt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *bar = strchr(line, '|');
        if (!bar || strchr(bar + 1, '|')) {
            a->api->log(a->m, TERN_LOG_LEVEL_ERROR,
                        "claims pack: a line does not hold 2 entries: \"%.80s\"", line);
            break;
        }
        *bar = 0;
        if (!merge_one(a, dir, line, bar + 1))
            break;
    }
    free(dir);
}

void aj_pack_run(aj *a, aj_job *j)
{
    if (j->kind == AJ_JOB_PACK_ASK)
        ask(a);
    else if (j->kind == AJ_JOB_PACK_ANSWER && j->reply)
        answer_peer(a, j);
    else if (j->kind == AJ_JOB_PACK_MERGE && j->jwt)
        merge(a, j);
}
