/* The resolver thread: libcurl's multi interface for the url resolver
 * (GET <url><pubkey>, nats-server's URL resolver) and the file writes of
 * the full/cache resolvers. It sleeps in curl_multi_poll; new work wakes
 * it with curl_multi_wakeup. Results go to the main queue, where the
 * accounts are applied and waiting authentications completed: neither
 * the workers nor the main loop ever wait on the network or the disk. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aj.h"

#define AJ_MAX_JWT (1u << 20)

typedef struct fetch {
    struct fetch *next;      /* in flight (resolver thread only) */
    CURL  *h;
    aj    *a;
    char   pub[AJ_KEY];
    char  *body;
    size_t len;
    bool   too_big;
} fetch;

void aj_job_push(aj *a, aj_job *j)
{
    pthread_mutex_lock(&a->mu);
    aj_job **p = &a->jobs;
    while (*p)
        p = &(*p)->next;
    *p = j;
    pthread_mutex_unlock(&a->mu);
    if (a->multi)
        curl_multi_wakeup(a->multi);
}

static void job_free(aj_job *j)
{
    free(j->jwt);
    free(j->reply);
    json_decref(j->accounts);
    free(j);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    fetch *f = ud;
    size_t add = size * n;
    if (f->len + add > AJ_MAX_JWT) {
        f->too_big = true;
        return 0;
    }
    f->body = realloc(f->body, f->len + add + 1);
    memcpy(f->body + f->len, p, add);
    f->len += add;
    f->body[f->len] = 0;
    return add;
}

static void mq(aj *a, int kind, const char *pub, const char *reply, const char *message)
{
    aj_mq *q = calloc(1, sizeof *q);
    q->kind = kind;
    snprintf(q->pub, sizeof q->pub, "%s", pub);
    q->reply = reply ? strdup(reply) : NULL;
    q->message = message ? strdup(message) : NULL;
    aj_mq_push(a, q);
}

static void start_fetch(aj *a, aj_job *j)
{
    fetch *f = calloc(1, sizeof *f);
    f->a = a;
    snprintf(f->pub, sizeof f->pub, "%s", j->pub);
    pthread_mutex_lock(&a->mu);
    size_t n = strlen(a->conf.url ? a->conf.url : "") + strlen(j->pub) + 1;
    char *url = malloc(n);
    snprintf(url, n, "%s%s", a->conf.url ? a->conf.url : "", j->pub);
    long timeout = (long)a->conf.timeout_ms;
    pthread_mutex_unlock(&a->mu);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_PRIVATE, f);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_multi_add_handle(a->multi, h);
    f->h = h;
    f->next = a->inflight;
    a->inflight = f;
    free(url);
}

static void fetch_done(aj *a, CURL *h, CURLcode res)
{
    fetch *f = NULL;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&f);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    char why[256] = "";
    json_t *cl = NULL;
    if (res != CURLE_OK)
        snprintf(why, sizeof why, "%s", curl_easy_strerror(res));
    else if (status != 200)
        snprintf(why, sizeof why, "HTTP status %ld", status);
    else if (!f->body)
        snprintf(why, sizeof why, "empty answer");
    if (!why[0]) {
        char *b = f->body;   /* the JWT, maybe with whitespace around it */
        while (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')
            b++;
        for (size_t l = strlen(b); l && (b[l - 1] == '\n' || b[l - 1] == '\r' || b[l - 1] == ' ');)
            b[--l] = 0;
        pthread_mutex_lock(&a->mu);
        cl = aj_account_decode(a, &a->conf, b, f->pub, why, sizeof why);
        if (cl)
            aj_store(a, f->pub, b, cl);
        pthread_mutex_unlock(&a->mu);
    }
    if (cl) {
        json_decref(cl);
        mq(a, AJ_MQ_APPLY, f->pub, NULL, NULL);
    } else {
        a->api->log(a->m, TERN_LOG_LEVEL_WARN, "could not fetch account %s: %s", f->pub, why);
        mq(a, AJ_MQ_FAIL, f->pub, NULL, NULL);
    }
    curl_multi_remove_handle(a->multi, h);
    curl_easy_cleanup(h);
    for (fetch **p = (fetch **)&a->inflight; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    free(f->body);
    free(f);
}

int aj_write_file(const char *dir, const char *name, const char *data)
{
    char tmp[4096], path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    bool ok = fputs(data, f) >= 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* An update for a full/cache resolver: stored in the dir, then applied
 * (the answer is sent once it applied). */
static void save(aj *a, aj_job *j)
{
    pthread_mutex_lock(&a->mu);
    char *dir = a->conf.dir ? strdup(a->conf.dir) : NULL;
    pthread_mutex_unlock(&a->mu);
    char name[AJ_KEY + 8], why[300] = "";
    snprintf(name, sizeof name, "%s.jwt", j->pub);
    if (!dir || aj_write_file(dir, name, j->jwt) != 0)
        snprintf(why, sizeof why, "could not store the jwt: %s", strerror(errno));
    free(dir);
    if (why[0]) {
        aj_respond(a, j->reply, j->pub, "jwt update resulted in error", why);
        return;
    }
    char w2[256];
    pthread_mutex_lock(&a->mu);
    json_t *cl = aj_account_decode(a, &a->conf, j->jwt, j->pub, w2, sizeof w2);
    if (cl)
        aj_store(a, j->pub, j->jwt, cl);
    pthread_mutex_unlock(&a->mu);
    json_decref(cl);
    mq(a, AJ_MQ_APPLY, j->pub, j->reply, "jwt updated");
}

static void delete_accounts(aj *a, aj_job *j)
{
    pthread_mutex_lock(&a->mu);
    char *dir = a->conf.dir ? strdup(a->conf.dir) : NULL;
    bool hard = a->conf.hard_delete;
    pthread_mutex_unlock(&a->mu);
    size_t i, ok = 0, n = json_array_size(j->accounts);
    json_t *v;
    json_array_foreach(j->accounts, i, v) {
        const char *pub = json_string_value(v);
        char path[4096], moved[4200];
        snprintf(path, sizeof path, "%s/%s.jwt", dir ? dir : ".", pub);
        snprintf(moved, sizeof moved, "%s.deleted", path);
        int rc = hard ? unlink(path) : rename(path, moved);
        if (rc == 0 || errno == ENOENT)
            ok++;
        pthread_mutex_lock(&a->mu);
        aj_acc *x = aj_find(a, pub);
        if (x)
            x->deleted = true;
        pthread_mutex_unlock(&a->mu);
        char msg[64];
        snprintf(msg, sizeof msg, "deleted %zu accounts", n);
        mq(a, AJ_MQ_APPLY, pub, i + 1 == n ? j->reply : NULL, i + 1 == n ? msg : NULL);
    }
    free(dir);
    (void)ok;
}

static void *run(void *arg)
{
    aj *a = arg;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        bool stop = a->stop;
        aj_job *jobs = a->jobs;
        a->jobs = NULL;
        pthread_mutex_unlock(&a->mu);
        while (jobs) {
            aj_job *j = jobs;
            jobs = j->next;
            if (!stop && j->kind == AJ_JOB_FETCH)
                start_fetch(a, j);
            else if (!stop && j->kind == AJ_JOB_SAVE)
                save(a, j);
            else if (!stop && j->kind == AJ_JOB_DELETE)
                delete_accounts(a, j);
            else if (!stop)
                aj_pack_run(a, j);
            job_free(j);
        }
        if (stop)
            break;
        int running = 0;
        curl_multi_perform(a->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(a->multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                fetch_done(a, msg->easy_handle, msg->data.result);
        curl_multi_poll(a->multi, NULL, 0, 1000, NULL);
    }
    /* Unfinished fetches are dropped: their authentications time out. */
    while (a->inflight) {
        fetch *f = a->inflight;
        a->inflight = f->next;
        curl_multi_remove_handle(a->multi, f->h);
        curl_easy_cleanup(f->h);
        free(f->body);
        free(f);
    }
    return NULL;
}

int aj_resolver_start(aj *a)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    a->multi = curl_multi_init();
    if (!a->multi)
        return -1;
    if (pthread_create(&a->thread, NULL, run, a) != 0)
        return -1;
    a->thread_started = true;
    return 0;
}

void aj_resolver_stop(aj *a)
{
    if (a->thread_started) {
        pthread_mutex_lock(&a->mu);
        a->stop = true;
        pthread_mutex_unlock(&a->mu);
        curl_multi_wakeup(a->multi);
        pthread_join(a->thread, NULL);
        a->thread_started = false;
    }
    if (a->multi)
        curl_multi_cleanup(a->multi);
    a->multi = NULL;
    while (a->jobs) {
        aj_job *j = a->jobs;
        a->jobs = j->next;
        job_free(j);
    }
}

static int mkdirs(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0700);
            *s = '/';
        }
    return mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int aj_dir_load(aj *a)
{
    const char *dir = a->conf.dir;
    if (mkdirs(dir) != 0) {
        a->api->set_error(a->m, "resolver dir %s: %s", dir, strerror(errno));
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        a->api->set_error(a->m, "resolver dir %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l != 56 + 4 || strcmp(e->d_name + 56, ".jwt") != 0)
            continue;
        char pub[AJ_KEY], path[4096];
        snprintf(pub, sizeof pub, "%.56s", e->d_name);
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        char *buf = calloc(1, AJ_MAX_JWT + 1);
        size_t n = fread(buf, 1, AJ_MAX_JWT, f);
        fclose(f);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            buf[--n] = 0;
        char why[256];
        json_t *cl = aj_account_decode(a, &a->conf, buf, pub, why, sizeof why);
        if (cl) {
            pthread_mutex_lock(&a->mu);
            aj_store(a, pub, buf, cl);
            pthread_mutex_unlock(&a->mu);
            json_decref(cl);
        } else {
            a->api->log(a->m, TERN_LOG_LEVEL_WARN, "%s: %s", path, why);
        }
        free(buf);
    }
    closedir(d);
    return 0;
}
