/* Test module "fwd": a minimal two-node forwarder built on the link
 * protocol ABI only, and a MAIN_THREAD echo protocol.
 *
 * Wire protocol of the link (lines end with \n):
 *   STARTTLS                       listener -> dialer (tls.first false):
 *                                  both sides start TLS here
 *   + <account> <subject>          plain interest
 *   + <account> <subject> <q> <n>  queue interest with weight n
 *   - <account> <subject> [<q>]    interest gone
 *   M <account> <subject> <reply|-> <hdr_len> <len> [<queue> ...]
 *   <len bytes>                    a message (then \n); plain delivery
 *                                  always, queue delivery to the listed
 *                                  groups only
 * On open each side sends its whole local interest (interest_walk), then
 * its local interest changes (TERN_EVT_INTEREST_*, source 0).
 *
 * Configuration:
 *   tag: names the stats subject "fwd.<tag>.stats" (default "fwd")
 *   listen: port to listen on (0: any); port_file: where the bound port
 *     is written
 *   dial: port on 127.0.0.1 to connect to
 *   tls: { cert, key, ca, first } (both sides: verify the peer)
 *   connect_urls: JSON text set as the clients' INFO key connect_urls
 *   echo_port_file: listen for the echo protocol (main thread) on any
 *     port and write it there; a line gets back "main=<0|1> <line>"
 *
 * "fwd.<tag>.stats" answers "links=<n> sent=<n> recv=<n> rsubs=<n> ksrc=<n>":
 * open links, messages framed to links (msg callbacks), messages
 * received, remote interest entries the module set, and the keys the
 * kernel reports as link interest of this protocol (interest events).
 * "fwd.<tag>.has" with "<account> <subject> [<queue>]" answers yes/no:
 * whether a link announced that interest.
 * "fwd.<tag>.close" closes every link (conn_close from a worker). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/module.h>

#define MAX_LINKS 16

typedef struct rsub {
    struct rsub *next;
    char        *key;               /* "acc subject queue" */
} rsub;

typedef struct fwd fwd;

typedef struct link_state {
    fwd     *f;
    uint64_t id;
    char    *buf;                   /* unparsed input */
    size_t   len, cap;
    rsub    *rsubs;
    bool     tls_pending;           /* dialer: waits for STARTTLS */
} link_state;

struct fwd {
    const tern_host_api *api;
    tern_module         *m;
    char                 tag[32];
    uint32_t             proto, echo;
    pthread_t            main_thread;
    pthread_mutex_t      mu;        /* the open links */
    uint64_t             links[MAX_LINKS];
    link_state          *lstates[MAX_LINKS];
    size_t               nlinks;
    _Atomic uint64_t     sent, recv;
    _Atomic int64_t      rsubs;
    rsub                *ksrc;      /* keys with link interest per the kernel's events */
    _Atomic int64_t      nksrc;
    bool                 tls, tls_first;
    char                 cert[256], key[256], ca[256];
};

static const char *const keys[] = { "tag", "listen", "port_file", "dial", "tls",
                                    "echo_port_file", "connect_urls", NULL };

/* ---- small helpers -------------------------------------------------------- */

static void out(fwd *f, uint64_t conn, const char *s)
{
    f->api->conn_write(f->m, conn, s, strlen(s));
}

static tern_rc conf_string(fwd *f, const tern_config *map, const char *key, char *dst, size_t n)
{
    const char *s = NULL;
    tern_rc rc = f->api->conf_str(f->m, f->api->conf_get(map, key), &s);
    if (rc == TERN_OK)
        snprintf(dst, n, "%s", s);
    return rc == TERN_ENOENT ? TERN_OK : rc;
}

static void write_port(const char *path, int port)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp)
        return;
    fprintf(fp, "%d\n", port);
    fclose(fp);
    rename(tmp, path);          /* readers never see half a number */
}

static tern_tls_spec tls_spec(fwd *f)
{
    tern_tls_spec s = { .size = sizeof s, .cert = f->cert, .key = f->key, .ca = f->ca,
                        .verify = true, .first = f->tls_first, .timeout_ms = 2000,
                        .server_name = "localhost" };
    return s;
}

/* ---- interest --------------------------------------------------------------- */

static void send_interest(fwd *f, uint64_t conn, const char *account, const char *subject,
                          const char *queue, uint32_t count, bool added)
{
    char line[1024];
    if (added && queue)
        snprintf(line, sizeof line, "+ %s %s %s %u\n", account, subject, queue, count);
    else if (added)
        snprintf(line, sizeof line, "+ %s %s\n", account, subject);
    else
        snprintf(line, sizeof line, "- %s %s%s%s\n", account, subject, queue ? " " : "",
                 queue ? queue : "");
    out(f, conn, line);
}

typedef struct walk_ctx {
    fwd     *f;
    uint64_t conn;
} walk_ctx;

static void on_walk(const char *account, const char *subject, const char *queue, uint32_t count,
                    void *ud)
{
    walk_ctx *w = ud;
    send_interest(w->f, w->conn, account, subject, queue, count, true);
}

static tern_verdict on_interest(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    fwd *f = ud;
    const tern_evt_interest *ev = (const tern_evt_interest *)hdr;
    pthread_mutex_lock(&f->mu);
    if (ev->source != 0) {                    /* one hop: only local interest goes out */
        if (ev->source == f->proto) {
            char key[1024];
            snprintf(key, sizeof key, "%s %s %s", ev->account, ev->subject,
                     ev->queue ? ev->queue : "");
            rsub **pp = &f->ksrc;
            while (*pp && strcmp((*pp)->key, key))
                pp = &(*pp)->next;
            if (hdr->evt == TERN_EVT_INTEREST_ADDED && !*pp) {
                *pp = calloc(1, sizeof **pp);
                (*pp)->key = strdup(key);
                atomic_fetch_add(&f->nksrc, 1);
            } else if (hdr->evt == TERN_EVT_INTEREST_REMOVED && *pp) {
                rsub *r = *pp;
                *pp = r->next;
                free(r->key);
                free(r);
                atomic_fetch_sub(&f->nksrc, 1);
            }
        }
        pthread_mutex_unlock(&f->mu);
        return TERN_VERDICT_IGNORE;
    }
    for (size_t i = 0; i < f->nlinks; i++)    /* conn_write from any thread */
        send_interest(f, f->links[i], ev->account, ev->subject, ev->queue, ev->count,
                      hdr->evt == TERN_EVT_INTEREST_ADDED);
    pthread_mutex_unlock(&f->mu);
    return TERN_VERDICT_IGNORE;
}

/* ls->rsubs is read by the "has" request from other threads: under f->mu. */
static void rsub_set(fwd *f, link_state *ls, const char *key, bool on)
{
    pthread_mutex_lock(&f->mu);
    rsub **pp = &ls->rsubs;
    while (*pp && strcmp((*pp)->key, key))
        pp = &(*pp)->next;
    if (on && !*pp) {
        rsub *r = calloc(1, sizeof *r);
        r->key = strdup(key);
        *pp = r;
        atomic_fetch_add(&f->rsubs, 1);
    } else if (!on && *pp) {
        rsub *r = *pp;
        *pp = r->next;
        free(r->key);
        free(r);
        atomic_fetch_sub(&f->rsubs, 1);
    }
    pthread_mutex_unlock(&f->mu);
}

/* ---- the link protocol ------------------------------------------------------- */

static void links_add(fwd *f, link_state *ls)
{
    pthread_mutex_lock(&f->mu);
    if (f->nlinks < MAX_LINKS) {
        f->lstates[f->nlinks] = ls;
        f->links[f->nlinks++] = ls->id;
    }
    pthread_mutex_unlock(&f->mu);
}

static void links_del(fwd *f, uint64_t id)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nlinks; i++)
        if (f->links[i] == id) {
            f->nlinks--;
            f->links[i] = f->links[f->nlinks];
            f->lstates[i] = f->lstates[f->nlinks];
            break;
        }
    pthread_mutex_unlock(&f->mu);
}

/* Interest goes out once the link is usable (after TLS when asked). */
static void link_start(fwd *f, link_state *ls)
{
    links_add(f, ls);
    walk_ctx w = { f, ls->id };
    f->api->interest_walk(f->m, NULL, on_walk, &w);
}

static tern_rc link_open(tern_module *m, const tern_conn_info *ci, void *ud, void **conn_ud)
{
    (void)m;
    fwd *f = ud;
    link_state *ls = calloc(1, sizeof *ls);
    ls->f = f;
    ls->id = ci->id;
    *conn_ud = ls;
    if (f->tls && !f->tls_first) {
        if (!ci->outbound) {
            out(f, ci->id, "STARTTLS\n");
            f->api->conn_starttls(f->m, ci->id);
        } else {
            ls->tls_pending = true;
            return TERN_OK;
        }
    }
    link_start(f, ls);
    return TERN_OK;
}

/* One complete frame at ls->buf; returns the bytes it used, 0 when more
 * are needed, -1 on a protocol error. */
static long parse_frame(fwd *f, link_state *ls)
{
    char *nl = memchr(ls->buf, '\n', ls->len);
    if (!nl)
        return 0;
    size_t line_len = (size_t)(nl - ls->buf);
    char line[2048];
    if (line_len >= sizeof line)
        return -1;
    memcpy(line, ls->buf, line_len);
    line[line_len] = 0;
    char *tok[40];
    int nt = 0;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t && nt < 40;
         t = strtok_r(NULL, " ", &save))
        tok[nt++] = t;
    if (nt == 1 && !strcmp(tok[0], "STARTTLS") && ls->tls_pending) {
        ls->tls_pending = false;
        if (f->api->conn_starttls(f->m, ls->id) != TERN_OK)
            return -1;
        link_start(f, ls);
        return (long)line_len + 1;
    }
    if ((nt == 3 || nt == 5) && !strcmp(tok[0], "+")) {
        uint32_t w = nt == 5 ? (uint32_t)strtoul(tok[4], NULL, 10) : 1;
        if (f->api->link_interest(f->m, ls->id, tok[1], tok[2], nt == 5 ? tok[3] : NULL, w) !=
            TERN_OK)
            return -1;
        char key[1024];
        snprintf(key, sizeof key, "%s %s %s", tok[1], tok[2], nt == 5 ? tok[3] : "");
        rsub_set(f, ls, key, true);
        return (long)line_len + 1;
    }
    if ((nt == 3 || nt == 4) && !strcmp(tok[0], "-")) {
        if (f->api->link_interest(f->m, ls->id, tok[1], tok[2], nt == 4 ? tok[3] : NULL, 0) !=
            TERN_OK)
            return -1;
        char key[1024];
        snprintf(key, sizeof key, "%s %s %s", tok[1], tok[2], nt == 4 ? tok[3] : "");
        rsub_set(f, ls, key, false);
        return (long)line_len + 1;
    }
    if (nt >= 6 && !strcmp(tok[0], "M")) {
        size_t hdr = strtoul(tok[4], NULL, 10), len = strtoul(tok[5], NULL, 10);
        if (ls->len < line_len + 1 + len + 1)
            return 0;
        const char *data = nl + 1;
        const char *queues[32];
        size_t nq = 0;
        for (int i = 6; i < nt && nq < 32; i++)
            queues[nq++] = tok[i];
        atomic_fetch_add(&f->recv, 1);
        tern_rc rc = f->api->link_publish(
            f->m, ls->id, tok[1], tok[2], strcmp(tok[3], "-") ? tok[3] : NULL, data, hdr, len,
            queues, nq, TERN_LINK_PUB_QUEUES_LISTED | TERN_LINK_PUB_NO_SAME_PROTO);
        if (rc != TERN_OK)
            return -1;
        return (long)(line_len + 1 + len + 1);
    }
    f->api->set_error(f->m, "fwd: bad frame '%.40s'", line);
    return -1;
}

static tern_rc link_data(tern_module *m, uint64_t conn, void *conn_ud, const void *bytes,
                         size_t len)
{
    (void)m, (void)conn;
    link_state *ls = conn_ud;
    if (ls->len + len > ls->cap) {
        ls->cap = (ls->len + len) * 2;
        ls->buf = realloc(ls->buf, ls->cap);
    }
    memcpy(ls->buf + ls->len, bytes, len);
    ls->len += len;
    for (;;) {
        long used = parse_frame(ls->f, ls);
        if (used < 0)
            return TERN_EINVAL;
        if (used == 0)
            return TERN_OK;
        memmove(ls->buf, ls->buf + used, ls->len - (size_t)used);
        ls->len -= (size_t)used;
    }
}

static void link_closed(tern_module *m, uint64_t conn, void *conn_ud, const char *reason)
{
    (void)m, (void)reason;
    link_state *ls = conn_ud;
    if (!ls)
        return;
    fwd *f = ls->f;
    links_del(f, conn);
    while (ls->rsubs)   /* the kernel already dropped their interest */
        rsub_set(f, ls, ls->rsubs->key, false);
    free(ls->buf);
    free(ls);
}

static void link_msg(tern_module *m, uint64_t conn, void *conn_ud, const tern_link_msg *msg)
{
    (void)m;
    link_state *ls = conn_ud;
    fwd *f = ls->f;
    char line[2048];
    int n = snprintf(line, sizeof line, "M %s %s %s %zu %zu", msg->account, msg->subject,
                     msg->reply ? msg->reply : "-", msg->hdr_len, msg->len);
    for (size_t i = 0; i < msg->nqueues && n < (int)sizeof line - 200; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %s", msg->queues[i]);
    snprintf(line + n, sizeof line - (size_t)n, "\n");
    out(f, conn, line);
    f->api->conn_write(f->m, conn, msg->data, msg->len);
    out(f, conn, "\n");
    atomic_fetch_add(&f->sent, 1);
}

/* ---- the echo protocol (main thread) ------------------------------------- */

static tern_rc echo_open(tern_module *m, const tern_conn_info *ci, void *ud, void **conn_ud)
{
    (void)m, (void)ci;
    *conn_ud = ud;
    return TERN_OK;
}

static tern_rc echo_data(tern_module *m, uint64_t conn, void *conn_ud, const void *bytes,
                         size_t len)
{
    (void)m;
    fwd *f = conn_ud;
    char head[16];
    snprintf(head, sizeof head, "main=%d ", pthread_equal(pthread_self(), f->main_thread) ? 1 : 0);
    out(f, conn, head);
    f->api->conn_write(f->m, conn, bytes, len);
    return TERN_OK;
}

static void echo_closed(tern_module *m, uint64_t conn, void *conn_ud, const char *reason)
{
    (void)m, (void)conn, (void)conn_ud, (void)reason;
}

/* ---- requests ----------------------------------------------------------------- */

static void on_stats(tern_module *m, const char *subject, const char *reply, const void *data,
                     size_t len, void *ud)
{
    (void)subject, (void)data, (void)len;
    fwd *f = ud;
    if (!reply)
        return;
    pthread_mutex_lock(&f->mu);
    size_t links = f->nlinks;
    pthread_mutex_unlock(&f->mu);
    char text[200];
    int n = snprintf(text, sizeof text, "links=%zu sent=%llu recv=%llu rsubs=%lld ksrc=%lld",
                     links, (unsigned long long)atomic_load(&f->sent),
                     (unsigned long long)atomic_load(&f->recv), (long long)atomic_load(&f->rsubs),
                     (long long)atomic_load(&f->nksrc));
    f->api->publish(m, NULL, reply, NULL, text, (size_t)n);
}

/* "has": payload "acc subject [queue]"; whether a link announced it. */
static void on_has(tern_module *m, const char *subject, const char *reply, const void *data,
                   size_t len, void *ud)
{
    (void)subject;
    fwd *f = ud;
    char key[1024];
    snprintf(key, sizeof key, "%.*s", (int)len, (const char *)data);
    if (!strchr(strchr(key, ' ') ? strchr(key, ' ') + 1 : key, ' '))
        strncat(key, " ", sizeof key - strlen(key) - 1);   /* plain: empty queue */
    bool found = false;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nlinks && !found; i++)
        for (rsub *r = f->lstates[i]->rsubs; r && !found; r = r->next)
            found = !strcmp(r->key, key);
    pthread_mutex_unlock(&f->mu);
    if (reply)
        f->api->publish(m, NULL, reply, NULL, found ? "yes" : "no", found ? 3 : 2);
}

static void on_close_req(tern_module *m, const char *subject, const char *reply, const void *data,
                         size_t len, void *ud)
{
    (void)subject, (void)data, (void)len;
    fwd *f = ud;
    pthread_mutex_lock(&f->mu);
    size_t n = 0;
    for (size_t i = 0; i < f->nlinks; i++)   /* any thread */
        n += f->api->conn_close(m, f->links[i], "closed by request") == TERN_OK;
    pthread_mutex_unlock(&f->mu);
    if (reply) {
        char text[32];
        int k = snprintf(text, sizeof text, "closing=%zu", n);
        f->api->publish(m, NULL, reply, NULL, text, (size_t)k);
    }
}

/* ---- lifecycle ---------------------------------------------------------------- */

static const tern_proto link_proto = {
    .size = sizeof(tern_proto), .name = "fwd", .flags = TERN_PROTO_LINK,
    .open = link_open, .data = link_data, .closed = link_closed, .msg = link_msg,
};

static const tern_proto echo_proto = {
    .size = sizeof(tern_proto), .name = "echo", .flags = TERN_PROTO_MAIN_THREAD,
    .open = echo_open, .data = echo_data, .closed = echo_closed,
};

static tern_rc fwd_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                        void **self)
{
    fwd *f = calloc(1, sizeof *f);
    f->api = api;
    f->m = m;
    f->main_thread = pthread_self();
    pthread_mutex_init(&f->mu, NULL);
    *self = f;
    snprintf(f->tag, sizeof f->tag, "fwd");
    char port_file[512] = "", echo_file[512] = "", urls[512] = "";
    int64_t listen_port = -1, dial_port = 0;
    tern_rc rc = api->conf_check_keys(m, conf, keys);
    if (rc == TERN_OK)
        rc = conf_string(f, conf, "tag", f->tag, sizeof f->tag);
    if (rc == TERN_OK)
        rc = conf_string(f, conf, "port_file", port_file, sizeof port_file);
    if (rc == TERN_OK)
        rc = conf_string(f, conf, "echo_port_file", echo_file, sizeof echo_file);
    if (rc == TERN_OK)
        rc = conf_string(f, conf, "connect_urls", urls, sizeof urls);
    if (rc == TERN_OK && *urls)
        rc = api->client_info_set(m, "connect_urls", urls, false);
    if (rc == TERN_OK && api->conf_get(conf, "listen"))
        rc = api->conf_int(m, api->conf_get(conf, "listen"), &listen_port);
    if (rc == TERN_OK && api->conf_get(conf, "dial"))
        rc = api->conf_int(m, api->conf_get(conf, "dial"), &dial_port);
    const tern_config *tls = api->conf_get(conf, "tls");
    if (rc == TERN_OK && tls) {
        f->tls = true;
        f->tls_first = true;
        rc = conf_string(f, tls, "cert", f->cert, sizeof f->cert);
        if (rc == TERN_OK)
            rc = conf_string(f, tls, "key", f->key, sizeof f->key);
        if (rc == TERN_OK)
            rc = conf_string(f, tls, "ca", f->ca, sizeof f->ca);
        if (rc == TERN_OK && api->conf_get(tls, "first"))
            rc = api->conf_bool(m, api->conf_get(tls, "first"), &f->tls_first);
    }
    if (rc != TERN_OK)
        return rc;
    if ((rc = api->proto_register(m, &link_proto, f, &f->proto)) != TERN_OK ||
        (rc = api->proto_register(m, &echo_proto, f, &f->echo)) != TERN_OK ||
        (rc = api->hook_register(m, TERN_EVT_INTEREST_ADDED, 0, on_interest, f)) != TERN_OK ||
        (rc = api->hook_register(m, TERN_EVT_INTEREST_REMOVED, 0, on_interest, f)) != TERN_OK)
        return rc;
    char subj[64];
    snprintf(subj, sizeof subj, "fwd.%s.stats", f->tag);
    if ((rc = api->sub_add(m, NULL, subj, NULL, on_stats, f, NULL)) != TERN_OK)
        return rc;
    snprintf(subj, sizeof subj, "fwd.%s.has", f->tag);
    if ((rc = api->sub_add(m, NULL, subj, NULL, on_has, f, NULL)) != TERN_OK)
        return rc;
    snprintf(subj, sizeof subj, "fwd.%s.close", f->tag);
    if ((rc = api->sub_add(m, NULL, subj, NULL, on_close_req, f, NULL)) != TERN_OK)
        return rc;
    tern_tls_spec spec = tls_spec(f);
    if (listen_port >= 0) {
        int bound = 0;
        rc = api->listen(m, f->proto, "127.0.0.1", (int)listen_port, f->tls ? &spec : NULL, NULL,
                         &bound);
        if (rc != TERN_OK)
            return rc;
        if (*port_file)
            write_port(port_file, bound);
    }
    if (dial_port > 0 &&
        (rc = api->dial(m, f->proto, "127.0.0.1", (int)dial_port, f->tls ? &spec : NULL,
                        NULL)) != TERN_OK)
        return rc;
    if (*echo_file) {
        int bound = 0;
        if ((rc = api->listen(m, f->echo, "127.0.0.1", 0, NULL, NULL, &bound)) != TERN_OK)
            return rc;
        write_port(echo_file, bound);
    }
    return TERN_OK;
}

static void fwd_fini(void *self)
{
    fwd *f = self;
    if (!f)
        return;
    while (f->ksrc) {
        rsub *r = f->ksrc;
        f->ksrc = r->next;
        free(r->key);
        free(r);
    }
    pthread_mutex_destroy(&f->mu);
    free(f);
}

TERN_MODULE_DEFINE(.name = "fwd", .version = "1.0",
                   .description = "test: a two-node forwarder on the link ABI",
                   .init = fwd_init, .fini = fwd_fini);
