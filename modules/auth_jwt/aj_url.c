/* The url resolver (GET <url><pubkey>, nats-server's URL resolver) on
 * the server's main loop: libcurl's multi socket interface, its sockets
 * watched with api->fd_watch and its timeout kept with api->timer_start
 * (ABI 1.2). curl_multi_socket_action runs in those callbacks and never
 * blocks; a finished fetch is stored and its waiting authentications are
 * completed right there, on the main thread. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj.h"

#define AJ_MAX_JWT (1u << 20)

typedef struct fetch {
    struct fetch *next;      /* a->inflight */
    CURL  *h;
    char   pub[AJ_KEY];
    char  *body;
    size_t len;
} fetch;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    fetch *f = ud;
    size_t add = size * n;
    if (f->len + add > AJ_MAX_JWT)
        return 0;            /* too big: the transfer fails */
    char *b = realloc(f->body, f->len + add + 1);
    if (!b)
        return 0;
    f->body = b;
    memcpy(f->body + f->len, p, add);
    f->len += add;
    f->body[f->len] = 0;
    return add;
}

static void mq(aj *a, int kind, const char *pub)
{
    aj_mq *q = calloc(1, sizeof *q);
    q->kind = kind;
    snprintf(q->pub, sizeof q->pub, "%s", pub);
    aj_mq_push(a, q);
}

static void fetch_free(aj *a, fetch *f)
{
    for (fetch **p = (fetch **)&a->inflight; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    curl_multi_remove_handle(a->multi, f->h);
    curl_easy_cleanup(f->h);
    free(f->body);
    free(f);
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
        mq(a, AJ_MQ_APPLY, f->pub);
    } else {
        a->api->log(a->m, TERN_LOG_LEVEL_WARN, "could not fetch account %s: %s", f->pub, why);
        mq(a, AJ_MQ_FAIL, f->pub);
    }
    fetch_free(a, f);
}

/* After curl did some work: finished fetches are applied and their
 * authentications completed now. */
static void reap(aj *a)
{
    CURLMsg *msg;
    int left, done = 0;
    while ((msg = curl_multi_info_read(a->multi, &left)))
        if (msg->msg == CURLMSG_DONE) {
            fetch_done(a, msg->easy_handle, msg->data.result);
            done++;
        }
    if (done)
        aj_mq_drain(a);
}

static void on_fd(tern_module *m, uint64_t id, int fd, uint32_t events, void *ud)
{
    (void)m, (void)id;
    aj *a = ud;
    int flags = (events & TERN_FD_READ ? CURL_CSELECT_IN : 0) |
                (events & TERN_FD_WRITE ? CURL_CSELECT_OUT : 0) |
                (events & TERN_FD_ERROR ? CURL_CSELECT_ERR : 0);
    int running;
    curl_multi_socket_action(a->multi, fd, flags, &running);
    reap(a);
}

static void on_timeout(tern_module *m, uint64_t id, void *ud)
{
    (void)m, (void)id;
    aj *a = ud;
    a->curl_timer = 0;       /* one-shot: gone once it fired */
    int running;
    curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    reap(a);
}

/* CURLMOPT_SOCKETFUNCTION: what curl wants to wait for on s. The watch
 * id is kept as the socket's pointer (ids start at 1). */
static int on_socket(CURL *h, curl_socket_t s, int what, void *ud, void *sockp)
{
    (void)h;
    aj *a = ud;
    uint64_t id = (uint64_t)(uintptr_t)sockp;
    if (what == CURL_POLL_REMOVE) {
        if (id && !a->curl_closing)
            a->api->fd_unwatch(a->m, id);
        return 0;
    }
    if (a->curl_closing)
        return 0;
    uint32_t ev = (what & CURL_POLL_IN ? TERN_FD_READ : 0) |
                  (what & CURL_POLL_OUT ? TERN_FD_WRITE : 0);
    if (a->api->fd_watch(a->m, s, ev, on_fd, a, &id) != TERN_OK) {
        a->api->log(a->m, TERN_LOG_LEVEL_ERROR, "cannot watch the account server's socket: %s",
                    a->api->error(a->m));
        return -1;           /* curl fails the transfer */
    }
    curl_multi_assign(a->multi, s, (void *)(uintptr_t)id);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timeout for the whole multi handle; -1
 * removes it, 0 asks for a call as soon as possible (never from here). */
static int on_timer(CURLM *multi, long timeout_ms, void *ud)
{
    (void)multi;
    aj *a = ud;
    if (a->curl_closing)
        return 0;
    if (a->curl_timer)
        a->api->timer_stop(a->m, a->curl_timer);
    a->curl_timer = 0;
    if (timeout_ms >= 0 &&
        a->api->timer_start(a->m, (uint64_t)timeout_ms, 0, on_timeout, a, &a->curl_timer) !=
            TERN_OK)
        return -1;
    return 0;
}

void aj_url_fetch(aj *a, const char *pub)
{
    if (!a->multi)
        return;
    fetch *f = calloc(1, sizeof *f);
    snprintf(f->pub, sizeof f->pub, "%s", pub);
    const char *base = a->conf.url ? a->conf.url : "";
    size_t n = strlen(base) + strlen(pub) + 1;
    char *url = malloc(n);
    snprintf(url, n, "%s%s", base, pub);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_PRIVATE, f);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->conf.timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    free(url);
    f->h = h;
    f->next = a->inflight;
    a->inflight = f;
    if (curl_multi_add_handle(a->multi, h) != CURLM_OK) {
        a->api->log(a->m, TERN_LOG_LEVEL_WARN, "could not fetch account %s", pub);
        fetch_free(a, f);
        mq(a, AJ_MQ_FAIL, pub);
    }
}

int aj_url_start(aj *a)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    a->multi = curl_multi_init();
    if (!a->multi)
        return -1;
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
    return 0;
}

/* fini (the server already removed the module's watches and timers) or
 * a failed init: fetches still running are dropped, their
 * authentications refused by fini. */
void aj_url_stop(aj *a)
{
    if (!a->multi)
        return;
    a->curl_closing = true;  /* curl's callbacks must not watch or time anything now */
    while (a->inflight)
        fetch_free(a, a->inflight);
    curl_multi_cleanup(a->multi);
    a->multi = NULL;
}
