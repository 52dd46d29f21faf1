/* Server lifecycle: configuration, listener, signals, lame duck mode,
 * reload and shutdown, on the main loop. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "client.h"
#include <stdint.h>
#include <sys/socket.h>
#include "conf.h"
#include "conf_server.h"
#include "imports.h"
#include "docs.h"
#include "errf.h"
#include "log.h"
#include "modconn.h"
#include "module.h"
#include "module_natsmap.h"
#include "sysacc.h"
#include "tls.h"
#include "xalloc.h"

/* ---- configuration -------------------------------------------------- */

int tern_server_load_opts(tern_cli *cli, tern_opts *out, char *err, size_t errlen)
{
    tern_conf_node *root;
    /* Modules map their nats-server keys; they are found as the loader
     * finds them, the --modules_dir flag first (module_natsmap.h). */
    const tern_conf_node *mdir = tern_conf_get(tern_conf_get(cli->overlay, "server"), "modules_dir");
    tern_nats_modules_dir_set(mdir && mdir->type == TERN_CONF_SCALAR ? mdir->value : NULL);
    if (cli->config) {
        root = tern_conf_load_ex(cli->config, cli->ignore_unsupported, err, errlen);
        if (!root)
            return -1;
    } else {
        root = tern_conf_new(TERN_CONF_MAP, "<defaults>", 0, 0);
    }
    /* Flags are the last layer, so they win; the merge consumes them. */
    if (cli->overlay) {
        tern_conf_merge(root, cli->overlay);
        cli->overlay = NULL;
    }
    tern_opts_init(out);
    int rc = tern_conf_apply(root, out, err, errlen);
    tern_conf_free(root);
    if (rc != 0)
        tern_opts_free(out);
    return rc;
}

/* INFO up to the per-client fields, built once per configuration. */
bool tern_server_auth_required(const tern_opts *o)
{
    /* A module deciding CONNECTs requires credentials as the kernel's
     * users do, unless no_auth_user lets anonymous clients in. */
    return tern_auth_info_required(o->auth) ||
           (tern_module_auth_active() && !(o->auth && o->auth->no_auth_user));
}

static void build_info(tern_server *s)
{
    const tern_opts *o = &s->opts;
    json_t *info = json_object();
    json_object_set_new(info, "server_id", json_string(s->server_id));
    json_object_set_new(info, "server_name", json_string(o->name ? o->name : s->server_id));
    json_object_set_new(info, "version", json_string(TERN_NATS_VERSION));
    json_object_set_new(info, "proto", json_integer(1));
    json_object_set_new(info, "host", json_string(o->host));
    json_object_set_new(info, "port", json_integer(s->port));
    json_object_set_new(info, "headers", json_boolean(!o->no_header_support));
    if (tern_server_auth_required(o))
        json_object_set_new(info, "auth_required", json_true());
    if (o->tls.enabled) {
        json_object_set_new(info, "tls_required", json_true());
        if (o->tls.verify)
            json_object_set_new(info, "tls_verify", json_true());
    }
    json_object_set_new(info, "max_payload", json_integer(o->max_payload));
    json_object_set_new(info, "tern_version", json_string(TERN_VERSION));
    char *text = json_dumps(info, JSON_COMPACT);
    size_t n = strlen(text);
    free(s->info_prefix);
    s->info_prefix = tern_xmalloc(n + 5);
    memcpy(s->info_prefix, "INFO ", 5);
    memcpy(s->info_prefix + 5, text, n - 1); /* without the closing brace */
    s->info_prefix_len = n + 4;

    json_object_set_new(info, "ldm", json_true());
    free(text);
    text = json_dumps(info, JSON_COMPACT);
    n = strlen(text);
    free(s->ldm_info);
    s->ldm_info = tern_xmalloc(n + 9);
    s->ldm_info_len = (size_t)snprintf(s->ldm_info, n + 9, "INFO %s \r\n", text);
    free(text);
    json_decref(info);
}

/* ---- listener ------------------------------------------------------- */

/* The main thread accepts and hands each socket to a worker, round robin
 * (docs/performance.md has the measurement against per-worker
 * SO_REUSEPORT listeners). */
static void accept_task(tern_worker *w, void *arg)
{
    int fd = (int)(intptr_t)arg;
    if (w->stopping) {
        close(fd);
        return;
    }
    tern_client_accept_fd(w, fd);
}

static void on_listen_readable(uv_poll_t *h, int status, int events)
{
    tern_server *s = h->data;
    (void)events;
    if (status < 0) {
        tern_errorf("Error accepting client connection: %s", uv_strerror(status));
        return;
    }
    for (int i = 0; i < 256 && s->listen_fd >= 0; i++) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                tern_errorf("Error accepting client connection: %s", strerror(errno));
            return;
        }
        tern_worker *w = &s->workers[s->next_worker];
        s->next_worker = (s->next_worker + 1) % s->nworkers;
        tern_worker_post(w, accept_task, (void *)(intptr_t)fd);
    }
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss)
{
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

/* Returns a listening socket, or -1 with the reason in err. */
static int bind_listener(const char *host, int port, int *bound, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    if (resolve(host, port < 0 ? 0 : port, &ss) != 0)
        return tern_errf(err, errlen, "Error listening on port: %s:%d, cannot resolve host",
                         host, port);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    socklen_t len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
        int e = errno;
        tern_errf(err, errlen, "Error listening on port: %s:%d, \"%s\"", host, port,
                  strerror(e));
        if (fd >= 0)
            close(fd);
        errno = e;
        return -1;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                     : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* The poll handle is allocated per listener: on a rebind the old one is
 * still closing (its callback closes its socket) when the new one starts. */
static void start_listening(tern_server *s, int fd)
{
    s->listen_fd = fd;
    s->listen_poll = tern_xcalloc(1, sizeof *s->listen_poll);
    uv_poll_init(&s->loop, s->listen_poll, fd);
    s->listen_poll->data = s;
    uv_poll_start(s->listen_poll, UV_READABLE, on_listen_readable);
}

static void on_listen_closed(uv_handle_t *h)
{
    if (h->data)
        close((int)(intptr_t)h->data);
    free(h);
}

/* keep_fd: the caller already closed the socket (a rebind that needs its
 * port back right away). */
static void release_listener(tern_server *s, bool keep_fd)
{
    if (s->listen_fd < 0)
        return;
    uv_poll_stop(s->listen_poll);
    if (keep_fd)
        close(s->listen_fd);
    s->listen_poll->data = keep_fd ? NULL : (void *)(intptr_t)s->listen_fd;
    uv_close((uv_handle_t *)s->listen_poll, on_listen_closed);
    s->listen_poll = NULL;
    s->listen_fd = -1;
}

static void close_listener(tern_server *s)
{
    release_listener(s, false);
}

static void write_pid_file(const tern_server *s)
{
    if (!s->opts.pid_file)
        return;
    FILE *f = fopen(s->opts.pid_file, "w");
    if (!f) {
        tern_errorf("Could not write pidfile: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d", (int)getpid());
    fclose(f);
}

/* nats-server's ports file: {"nats":["nats://host:port"]} in
 * <dir>/<prog>_<pid>.ports, for tools that start servers on port -1. */
static void write_ports_file(const tern_server *s)
{
    if (!s->opts.ports_file_dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/ternd_%d.ports", s->opts.ports_file_dir, (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) {
        tern_errorf("Error writing ports file (%s): %s", path, strerror(errno));
        return;
    }
    fprintf(f, "{\"nats\":[\"nats://%s:%d\"]}", s->opts.host, s->port);
    fclose(f);
}

static void remove_run_files(const tern_server *s)
{
    if (s->opts.pid_file)
        unlink(s->opts.pid_file);
    if (s->opts.ports_file_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/ternd_%d.ports", s->opts.ports_file_dir, (int)getpid());
        unlink(path);
    }
}

/* ---- pausing workers -------------------------------------------------- */

static void pause_task(tern_worker *w, void *arg)
{
    tern_server *s = w->srv;
    (void)arg;
    pthread_mutex_lock(&s->pause_mu);
    s->paused++;
    pthread_cond_broadcast(&s->pause_cv);
    while (!s->pause_release)
        pthread_cond_wait(&s->pause_cv, &s->pause_mu);
    s->paused--;
    pthread_cond_broadcast(&s->pause_cv);
    pthread_mutex_unlock(&s->pause_mu);
}

void tern_server_pause_workers(tern_server *s)
{
    for (int i = 0; i < s->nworkers; i++)
        tern_worker_post(&s->workers[i], pause_task, NULL);
    pthread_mutex_lock(&s->pause_mu);
    while (s->paused < s->nworkers)
        pthread_cond_wait(&s->pause_cv, &s->pause_mu);
    pthread_mutex_unlock(&s->pause_mu);
}

void tern_server_resume_workers(tern_server *s)
{
    pthread_mutex_lock(&s->pause_mu);
    s->pause_release = true;
    pthread_cond_broadcast(&s->pause_cv);
    while (s->paused > 0)
        pthread_cond_wait(&s->pause_cv, &s->pause_mu);
    s->pause_release = false;
    pthread_mutex_unlock(&s->pause_mu);
}

/* ---- shutdown and lame duck ---------------------------------------- */

/* Service response mappings that expired are swept here too, not only
 * when their account's map is used again (imports.h). */
static void on_imports_timer(uv_timer_t *t)
{
    tern_server *s = t->data;
    tern_imports_sweep(&s->accounts, uv_now(&s->loop));
}

static void shutdown_server(tern_server *s, int code)
{
    if (s->shutting_down)
        return;
    s->shutting_down = true;
    s->exit_code = code;
    tern_noticef("Initiating Shutdown...");
    close_listener(s);
    tern_modules_stop(s);
    uv_timer_stop(&s->ldm_timer);
    uv_close((uv_handle_t *)&s->ldm_timer, NULL);
    uv_timer_stop(&s->imports_timer);
    uv_close((uv_handle_t *)&s->imports_timer, NULL);
    uv_close((uv_handle_t *)&s->main_wake, NULL);
    for (size_t i = 0; i < sizeof s->signals / sizeof *s->signals; i++)
        uv_close((uv_handle_t *)&s->signals[i], NULL);
    tern_sysacc_stop(s); /* SHUTDOWN goes out before the workers stop */
    for (int i = 0; i < s->nworkers; i++)
        tern_worker_stop(&s->workers[i]);
}

void tern_server_client_gone(tern_server *s)
{
    size_t left = atomic_fetch_sub_explicit(&s->nclients, 1, memory_order_acq_rel) - 1;
    if (left == 0 && atomic_load_explicit(&s->ldm_closing, memory_order_acquire))
        uv_async_send(&s->main_wake);
}

static void on_main_wake(uv_async_t *h)
{
    tern_server *s = h->data;
    if (atomic_load(&s->ldm_closing) && atomic_load(&s->nclients) == 0)
        shutdown_server(s, 0);
}

static void ldm_close_task(tern_worker *w, void *arg)
{
    size_t left = (size_t)(uintptr_t)arg;
    for (tern_client *c = w->clients; c && left; c = c->next) {
        if (!(atomic_load(&c->flags) & TERN_CF_CLOSING)) {
            tern_client_close(c, TERN_CLOSE_SERVER_SHUTDOWN);
            left--;
        }
    }
}

/* Close one batch of clients per tick, spreading the closes over
 * lame_duck_duration minus the grace period (at most 1 s apart), taken
 * from the worker that has the most. */
static void on_ldm_close_tick(uv_timer_t *t)
{
    tern_server *s = t->data;
    if (atomic_load(&s->nclients) == 0) {
        shutdown_server(s, 0);
        return;
    }
    int best = 0;
    for (int i = 1; i < s->nworkers; i++)
        if (atomic_load(&s->workers[i].nclients) > atomic_load(&s->workers[best].nclients))
            best = i;
    tern_worker_post(&s->workers[best], ldm_close_task, (void *)(uintptr_t)s->ldm_batch);
}

static void on_ldm_grace_over(uv_timer_t *t)
{
    tern_server *s = t->data;
    atomic_store(&s->ldm_closing, true);
    size_t n = atomic_load(&s->nclients);
    if (n == 0) {
        shutdown_server(s, 0);
        return;
    }
    int64_t dur = s->opts.lame_duck_duration_ms - s->opts.lame_duck_grace_ms;
    if (dur <= 0)
        dur = 1000;
    uint64_t interval = (uint64_t)dur / n;
    s->ldm_batch = 1;
    if (interval < 1) { /* very many clients: close several per tick */
        interval = 1;
        s->ldm_batch = n / (size_t)dur + 1;
    }
    if (interval > 1000)
        interval = 1000;
    tern_noticef("Closing existing clients");
    uv_timer_start(&s->ldm_timer, on_ldm_close_tick, 0, interval);
}

static void ldm_info_task(tern_worker *w, void *arg)
{
    (void)arg;
    for (tern_client *c = w->clients; c; c = c->next)
        tern_client_send_ldm_info(c);
}

static void enter_lame_duck(tern_server *s)
{
    if (s->ldm || s->shutting_down)
        return;
    s->ldm = true;
    tern_noticef("Entering lame duck mode, stop accepting new clients");
    tern_sysacc_lame_duck(s);
    close_listener(s);
    if (atomic_load(&s->nclients) == 0) {
        shutdown_server(s, 0);
        return;
    }
    /* peers drop this server's client URLs (nats-server: LDM INFO to
     * routes, then to clients) */
    tern_modules_lame_duck();
    for (int i = 0; i < s->nworkers; i++)
        tern_worker_post(&s->workers[i], ldm_info_task, NULL);
    int64_t grace = s->opts.lame_duck_grace_ms;
    if (grace < 0)
        grace = 0;
    tern_noticef("Waiting %lld ms before closing clients", (long long)grace);
    uv_timer_start(&s->ldm_timer, on_ldm_grace_over, (uint64_t)grace, 0);
}

/* ---- reload ---------------------------------------------------------- */

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool log_opts_equal(const tern_log_opts *a, const tern_log_opts *b)
{
    return same_text(a->file, b->file) && a->debug == b->debug && a->trace == b->trace &&
           a->time == b->time && a->syslog == b->syslog;
}

/* The pid and ports files follow their keys (and the bound port). */
static void reload_run_files(tern_server *s, const tern_opts *old, int old_port)
{
    if (!same_text(old->pid_file, s->opts.pid_file)) {
        if (old->pid_file)
            unlink(old->pid_file);
        write_pid_file(s);
    }
    if (!same_text(old->ports_file_dir, s->opts.ports_file_dir) || old_port != s->port) {
        if (old->ports_file_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/ternd_%d.ports", old->ports_file_dir, (int)getpid());
            unlink(path);
        }
        write_ports_file(s);
    }
}

/* A lowered max_connections closes the newest connections past it, as
 * nats-server closes connections past the new limit. Tasks name a cid
 * range, not clients: a client may be gone by the time the task runs. */
typedef struct cid_range {
    uint64_t lo, hi;   /* (lo, hi] */
} cid_range;

static void close_excess_task(tern_worker *w, void *arg)
{
    cid_range *r = arg;
    for (tern_client *c = w->clients; c; c = c->next) {
        if (c->cid > r->lo && c->cid <= r->hi && !(atomic_load(&c->flags) & TERN_CF_CLOSING)) {
            tern_client_send_err(c, "maximum connections exceeded");
            tern_client_close(c, TERN_CLOSE_MAX_CONNECTIONS);
        }
    }
    free(r);
}

static int cmp_cid_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Workers paused. */
static void close_excess(tern_server *s)
{
    size_t n = 0, cap = 64;
    uint64_t *cids = tern_xmalloc(cap * sizeof *cids);
    for (int i = 0; i < s->nworkers; i++)
        for (tern_client *c = s->workers[i].clients; c; c = c->next) {
            if (atomic_load(&c->flags) & TERN_CF_CLOSING)
                continue;
            if (n == cap)
                cids = tern_xrealloc(cids, (cap *= 2) * sizeof *cids);
            cids[n++] = c->cid;
        }
    if (s->opts.max_connections >= 0 && n > (size_t)s->opts.max_connections) {
        qsort(cids, n, sizeof *cids, cmp_cid_desc);
        size_t excess = n - (size_t)s->opts.max_connections;
        tern_noticef("Reload: closing %zu connections past max_connections %lld", excess,
                     (long long)s->opts.max_connections);
        for (int i = 0; i < s->nworkers; i++) {
            cid_range *r = tern_xmalloc(sizeof *r);
            *r = (cid_range){ cids[excess - 1] - 1, cids[0] };
            tern_worker_post(&s->workers[i], close_excess_task, r);
        }
    }
    free(cids);
}

/* Every step that can fail runs before anything is swapped, each one
 * undoable: a failed reload leaves the running configuration whole. The
 * main thread runs one reload at a time, so a SIGHUP or a $SYS request
 * arriving during one is served after it. */
int tern_server_reload(tern_server *s, char *err, size_t errlen)
{
    if (s->shutting_down)
        return tern_errf(err, errlen, "the server is shutting down");
    tern_cli cli = {0};
    tern_opts next;
    if (tern_cli_parse(s->argc, s->argv, &cli, err, errlen) != 0 ||
        tern_server_load_opts(&cli, &next, err, errlen) != 0) {
        tern_cli_free(&cli);
        goto failed;
    }
    tern_cli_free(&cli);

    /* The new log file must open: a log cannot be put back. */
    if (next.log.file) {
        int lfd = open(next.log.file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (lfd < 0) {
            tern_errf(err, errlen, "cannot open log file %s: %s", next.log.file, strerror(errno));
            goto free_opts;
        }
        close(lfd);
    }
    /* New connections get the new TLS context; open ones keep theirs. */
    tern_tls_ctx *tls = NULL;
    if (next.tls.enabled && !(tls = tern_tls_ctx_new(&next.tls, err, errlen)))
        goto free_opts;
    /* Modules load and validate before anything is swapped (module.h). */
    tern_modules_plan *mods = tern_modules_prepare(s, &next, err, errlen);
    if (!mods)
        goto free_tls;
    /* Last fallible step: the new address is bound while the old one still
     * accepts, unless only the host's spelling changed (the old socket
     * holds the port): then the old one goes first, and comes back if the
     * new one cannot be bound. */
    bool rebind = strcmp(next.host, s->opts.host) != 0 ||
                  (next.port != s->opts.port && !(next.port == -1 && s->opts.port == -1));
    int port = s->port, fd = -1;
    if (rebind && s->listen_fd >= 0 && !s->ldm) {
        fd = bind_listener(next.host, next.port, &port, err, errlen);
        if (fd < 0 && errno == EADDRINUSE && next.port == s->port) {
            release_listener(s, true);
            fd = bind_listener(next.host, next.port, &port, err, errlen);
            if (fd < 0) {
                int back = bind_listener(s->opts.host, s->port, &port, NULL, 0);
                if (back >= 0)
                    start_listening(s, back);
                else
                    tern_errorf("Reload: cannot listen on %s:%d again", s->opts.host, s->port);
                port = s->port;
            }
        }
        if (fd < 0) {
            tern_modules_abort(mods);
            goto free_tls;
        }
    }
    /* Only when it changed: reconfiguring reopens the file under the
     * log's writer thread. */
    if (!log_opts_equal(&next.log, &s->opts.log) && tern_log_configure(&next.log) != 0)
        tern_errorf("Reload: cannot open log file %s", next.log.file);
    if (next.workers != s->opts.workers)
        tern_noticef("Reload: the number of workers changes at the next start");

    tern_server_pause_workers(s);
    tern_modules_commit(mods);
    tern_tls_ctx *old_tls = s->tls;
    s->tls = tls;
    tern_opts old = s->opts;
    int old_port = s->port;
    s->opts = next;
    s->port = port;
    /* Accounts by name: new ones appear, removed ones lose their clients,
     * the rest keep theirs with the new exports, imports and limits. */
    tern_accounts_reload(s, s->opts.auth ? s->opts.auth->accounts : NULL);
    build_info(s);
    for (int i = 0; i < s->nworkers; i++) {
        for (tern_client *c = s->workers[i].clients; c; c = c->next) {
            c->parser.max_control_line = s->opts.max_control_line;
            c->parser.max_payload = s->opts.max_payload;
            if (c->acc->max_payload >= 0 && c->acc->max_payload < c->parser.max_payload)
                c->parser.max_payload = c->acc->max_payload;   /* the account's limit */
            c->max_pending = s->opts.max_pending;
            tern_client_reload_auth(c, s->opts.auth);
        }
    }
    if (s->opts.max_connections < old.max_connections)
        close_excess(s);
    tern_server_resume_workers(s);
    if (fd >= 0) {
        if (s->listen_fd >= 0)   /* who already waits is let in first */
            on_listen_readable(s->listen_poll, 0, UV_READABLE);
        close_listener(s);
        start_listening(s, fd);
        tern_noticef("Listening for client connections on %s:%d", s->opts.host, s->port);
    }
    reload_run_files(s, &old, old_port);
    tern_opts_free(&old);
    tern_modules_finish(mods);
    tern_tls_ctx_free(old_tls);
    tern_docs_mark_config_load();
    tern_noticef("Reloaded server configuration");
    return 0;

free_tls:
    tern_tls_ctx_free(tls);
free_opts:
    tern_opts_free(&next);
failed:
    tern_errorf("Failed to reload server configuration: %s", err);
    return -1;
}

/* ---- signals ---------------------------------------------------------- */

static void on_signal(uv_signal_t *h, int signum)
{
    tern_server *s = h->data;
    switch (signum) {
    case SIGINT:
        tern_debugf("Trapped \"interrupt\" signal");
        shutdown_server(s, 0);
        break;
    case SIGTERM:
        tern_debugf("Trapped \"terminated\" signal");
        if (!s->ldm)
            shutdown_server(s, 1);
        break;
    case SIGUSR1:
        tern_log_reopen();
        tern_noticef("File log re-opened");
        break;
    case SIGUSR2:
        enter_lame_duck(s);
        break;
    case SIGHUP: {
        tern_debugf("Trapped \"hangup\" signal");
        char err[TERN_CONF_ERR_MAX];
        tern_server_reload(s, err, sizeof err);
        break;
    }
    }
}

/* ---- init / run ------------------------------------------------------- */

int tern_server_init(tern_server *s, const tern_opts *opts, int argc, char **argv)
{
    memset(s, 0, sizeof *s);
    s->argc = argc;
    s->argv = argv;
    s->listen_fd = -1;
    pthread_mutex_init(&s->pause_mu, NULL);
    pthread_cond_init(&s->pause_cv, NULL);
    tern_opts_copy(&s->opts, opts);
    if (uv_loop_init(&s->loop) != 0)
        return -1;
    if (tern_nkey_new_server_id(s->server_id) != 0) {
        tern_errorf("Cannot create the server identity");
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Before anything listens: a signal sent as soon as the port is open
     * (a reload, a stop) is handled once the loop runs, never fatal. */
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, 0};
    for (size_t i = 0; i < sizeof s->signals / sizeof *s->signals; i++) {
        uv_signal_init(&s->loop, &s->signals[i]);
        s->signals[i].data = s;
        if (sigs[i]) {
            uv_signal_start(&s->signals[i], on_signal, sigs[i]);
            uv_unref((uv_handle_t *)&s->signals[i]);
        }
    }

    tern_noticef("Starting ternd");
    tern_noticef("  Version:  %s (NATS protocol compatible with nats-server %s)", TERN_VERSION,
                 TERN_NATS_VERSION);
    tern_noticef("  ID:       %s", s->server_id);
    tern_noticef("  Name:     %s", s->opts.name ? s->opts.name : s->server_id);

    s->nworkers = s->opts.workers > 0 ? s->opts.workers : (int)uv_available_parallelism();
    if (s->nworkers < 1)
        s->nworkers = 1;
    tern_epoch_init(&s->epoch, s->nworkers);
    s->workers = tern_xcalloc((size_t)s->nworkers, sizeof *s->workers);
    tern_accounts_build(&s->accounts, s->opts.auth ? s->opts.auth->accounts : NULL, s->nworkers);
    s->gacc = s->accounts.global;
    for (int i = 0; i < s->nworkers; i++)
        if (tern_worker_init(&s->workers[i], s, i) != 0)
            return -1;

    if (s->opts.tls.enabled) {
        char err[TERN_CONF_ERR_MAX];
        s->tls = tern_tls_ctx_new(&s->opts.tls, err, sizeof err);
        if (!s->tls) {
            tern_errorf("%s", err);
            return -1;
        }
    }
    char berr[512];
    int fd = bind_listener(s->opts.host, s->opts.port, &s->port, berr, sizeof berr);
    if (fd < 0) {
        tern_errorf("%s", berr);
        return -1;
    }
    build_info(s);
    for (int i = 0; i < s->nworkers; i++)
        if (tern_worker_start(&s->workers[i]) != 0)
            return -1;
    s->workers_started = true;
    tern_modules_start(s);
    build_info(s);   /* again: an authenticating module sets auth_required */
    tern_sysacc_start(s);
    start_listening(s, fd);
    tern_noticef("Listening for client connections on %s:%d", s->opts.host, s->port);
    if (s->tls)
        tern_noticef("TLS required for client connections");
    tern_noticef("  Workers:  %d", s->nworkers);

    uv_timer_init(&s->loop, &s->ldm_timer);
    s->ldm_timer.data = s;
    uv_timer_init(&s->loop, &s->imports_timer);
    s->imports_timer.data = s;
    uv_timer_start(&s->imports_timer, on_imports_timer, 1000, 1000);
    uv_unref((uv_handle_t *)&s->imports_timer);
    uv_async_init(&s->loop, &s->main_wake, on_main_wake);
    s->main_wake.data = s;
    uv_unref((uv_handle_t *)&s->main_wake);
    write_pid_file(s);
    write_ports_file(s);
    tern_docs_mark_start();
    tern_noticef("Server is ready");
    return 0;
}

int tern_server_run(tern_server *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < s->nworkers; i++)
        uv_thread_join(&s->workers[i].thread);
    s->workers_started = false;
    tern_modconn_free();
    remove_run_files(s);
    tern_noticef("Server Exiting..");
    return s->exit_code;
}

void tern_server_free(tern_server *s)
{
    if (s->workers_started) { /* init failed half way: stop what runs */
        for (int i = 0; i < s->nworkers; i++)
            tern_worker_stop(&s->workers[i]);
        for (int i = 0; i < s->nworkers; i++)
            uv_thread_join(&s->workers[i].thread);
    }
    for (int i = 0; i < s->nworkers; i++)
        tern_worker_free(&s->workers[i]);
    tern_sysacc_free(s);   /* finished by the close callbacks below if needed */
    uv_run(&s->loop, UV_RUN_NOWAIT);
    uv_loop_close(&s->loop);
    tern_accounts_free(&s->accounts);
    s->gacc = NULL;
    tern_epoch_free(&s->epoch);
    free(s->workers);
    free(s->info_prefix);
    free(s->ldm_info);
    tern_tls_ctx_free(s->tls);
    tern_opts_free(&s->opts);
    pthread_mutex_destroy(&s->pause_mu);
    pthread_cond_destroy(&s->pause_cv);
}
