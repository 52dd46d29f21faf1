/* The resolver thread: the file writes of the full/cache resolvers and
 * the CLAIMS.PACK work (aj_pack.c). It sleeps on aj.cond; new work
 * signals it. Results go to the main queue, where the accounts are
 * applied and waiting authentications completed: neither the workers
 * nor the main loop ever wait on the disk. (The url resolver's HTTP
 * runs on the main loop: aj_url.c.) */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aj.h"

#define AJ_MAX_JWT (1u << 20)

void aj_job_push(aj *a, aj_job *j)
{
    pthread_mutex_lock(&a->mu);
    aj_job **p = &a->jobs;
    while (*p)
        p = &(*p)->next;
    *p = j;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->mu);
}

static void job_free(aj_job *j)
{
    free(j->jwt);
    free(j->reply);
    json_decref(j->accounts);
    free(j);
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

DIR *aj_opendir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d)
        close(fd);
    return d;
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
        while (!a->stop && !a->jobs)
            pthread_cond_wait(&a->cond, &a->mu);
        bool stop = a->stop;
        aj_job *jobs = a->jobs;
        a->jobs = NULL;
        pthread_mutex_unlock(&a->mu);
        while (jobs) {
            aj_job *j = jobs;
            jobs = j->next;
            if (!stop && j->kind == AJ_JOB_SAVE)
                save(a, j);
            else if (!stop && j->kind == AJ_JOB_DELETE)
                delete_accounts(a, j);
            else if (!stop)
                aj_pack_run(a, j);
            job_free(j);
        }
        if (stop)
            return NULL;
    }
}

int aj_resolver_start(aj *a)
{
    if (aj_url_start(a) != 0 || pthread_create(&a->thread, NULL, run, a) != 0)
        return -1;
    a->thread_started = true;
    return 0;
}

void aj_resolver_stop(aj *a)
{
    if (a->thread_started) {
        pthread_mutex_lock(&a->mu);
        a->stop = true;
        pthread_cond_signal(&a->cond);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
        a->thread_started = false;
    }
    aj_url_stop(a);
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
    DIR *d = aj_opendir(dir);
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
