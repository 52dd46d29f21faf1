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

#include "client.h"
#include "conf.h"
#include "conf_server.h"
#include "log.h"
#include "xalloc.h"

/* ---- configuration -------------------------------------------------- */

int tern_server_load_opts(tern_cli *cli, tern_opts *out, char *err, size_t errlen)
{
    tern_conf_node *root;
    if (cli->config) {
        root = tern_conf_load(cli->config, err, errlen);
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

static void on_connection(uv_stream_t *listener, int status)
{
    tern_server *s = listener->data;
    if (status < 0) {
        tern_errorf("Error accepting client connection: %s", uv_strerror(status));
        return;
    }
    tern_worker *w = &s->workers[s->next_worker];
    s->next_worker = (s->next_worker + 1) % s->nworkers;
    tern_client_accept(w, listener);
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

static void free_handle(uv_handle_t *h)
{
    free(h);
}

/* Returns a listening handle, or NULL (logged). */
static uv_tcp_t *bind_listener(tern_server *s, const char *host, int port, int *bound)
{
    struct sockaddr_storage ss;
    if (resolve(host, port < 0 ? 0 : port, &ss) != 0) {
        tern_errorf("Error listening on port: %s:%d, cannot resolve host", host, port);
        return NULL;
    }
    uv_tcp_t *tcp = tern_xmalloc(sizeof *tcp);
    uv_tcp_init(&s->loop, tcp);
    tcp->data = s;
    int rc = uv_tcp_bind(tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)tcp, 4096, on_connection);
    if (rc != 0) {
        tern_errorf("Error listening on port: %s:%d, \"%s\"", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)tcp, free_handle);
        return NULL;
    }
    int len = sizeof ss;
    uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len);
    *bound = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                     : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return tcp;
}

static void close_listener(tern_server *s)
{
    if (!s->listener)
        return;
    uv_close((uv_handle_t *)s->listener, free_handle);
    s->listener = NULL;
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

/* ---- shutdown and lame duck ---------------------------------------- */

static void close_all_clients(tern_server *s)
{
    for (int i = 0; i < s->nworkers; i++) {
        tern_client *c = s->workers[i].clients;
        while (c) {
            tern_client *next = c->next;
            tern_client_close(c, TERN_CLOSE_SERVER_SHUTDOWN);
            c = next;
        }
    }
}

static void shutdown_server(tern_server *s, int code)
{
    if (s->shutting_down)
        return;
    s->shutting_down = true;
    s->exit_code = code;
    tern_noticef("Initiating Shutdown...");
    close_listener(s);
    uv_timer_stop(&s->ldm_timer);
    uv_close((uv_handle_t *)&s->ldm_timer, NULL);
    for (size_t i = 0; i < sizeof s->signals / sizeof *s->signals; i++)
        uv_close((uv_handle_t *)&s->signals[i], NULL);
    close_all_clients(s);
    for (int i = 0; i < s->nworkers; i++)
        tern_worker_close(&s->workers[i]);
    remove_run_files(s);
    tern_noticef("Server Exiting..");
}

void tern_server_client_gone(tern_server *s)
{
    s->nclients--;
    if (s->ldm_closing && s->nclients == 0)
        shutdown_server(s, 0);
}

/* Close one batch of clients per tick, spreading the closes over
 * lame_duck_duration minus the grace period (at most 1 s apart). */
static void on_ldm_close_tick(uv_timer_t *t)
{
    tern_server *s = t->data;
    size_t left = s->ldm_batch;
    for (int i = 0; i < s->nworkers && left; i++) {
        for (tern_client *c = s->workers[i].clients; c && left; c = c->next) {
            if (!(c->flags & TERN_CF_CLOSING)) {
                tern_client_close(c, TERN_CLOSE_SERVER_SHUTDOWN);
                left--;
            }
        }
    }
    if (left == s->ldm_batch) { /* nobody left to close */
        uv_timer_stop(t);
        shutdown_server(s, 0);
    }
}

static size_t open_clients(tern_server *s)
{
    size_t n = 0;
    for (int i = 0; i < s->nworkers; i++)
        for (tern_client *c = s->workers[i].clients; c; c = c->next)
            n += !(c->flags & TERN_CF_CLOSING);
    return n;
}

static void on_ldm_grace_over(uv_timer_t *t)
{
    tern_server *s = t->data;
    s->ldm_closing = true;
    size_t n = open_clients(s);
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

static void enter_lame_duck(tern_server *s)
{
    if (s->ldm || s->shutting_down)
        return;
    s->ldm = true;
    tern_noticef("Entering lame duck mode, stop accepting new clients");
    close_listener(s);
    for (int i = 0; i < s->nworkers; i++)
        for (tern_client *c = s->workers[i].clients; c; c = c->next)
            tern_client_send_ldm_info(c);
    if (open_clients(s) == 0) {
        shutdown_server(s, 0);
        return;
    }
    int64_t grace = s->opts.lame_duck_grace_ms;
    if (grace < 0)
        grace = 0;
    tern_noticef("Waiting %lld ms before closing clients", (long long)grace);
    uv_timer_start(&s->ldm_timer, on_ldm_grace_over, (uint64_t)grace, 0);
}

/* ---- reload ---------------------------------------------------------- */

static void reload(tern_server *s)
{
    char err[TERN_CONF_ERR_MAX];
    tern_cli cli = {0};
    tern_opts next;
    if (tern_cli_parse(s->argc, s->argv, &cli, err, sizeof err) != 0 ||
        tern_server_load_opts(&cli, &next, err, sizeof err) != 0) {
        tern_errorf("Failed to reload server configuration: %s", err);
        tern_cli_free(&cli);
        return;
    }
    tern_cli_free(&cli);

    bool rebind = strcmp(next.host, s->opts.host) != 0 ||
                  (next.port != s->opts.port && !(next.port == -1 && s->opts.port == -1));
    if (rebind && s->listener && !s->ldm) {
        /* Bind the new address first: a failure keeps the old one. */
        int port;
        uv_tcp_t *fresh = bind_listener(s, next.host, next.port, &port);
        if (!fresh) {
            tern_errorf("Failed to reload server configuration: cannot listen on %s:%d",
                        next.host, next.port);
            tern_opts_free(&next);
            return;
        }
        close_listener(s);
        s->listener = fresh;
        s->port = port;
        tern_noticef("Listening for client connections on %s:%d", next.host, port);
    }
    if (next.workers != s->opts.workers)
        tern_noticef("Reload: workers changes apply at the next start");
    if (tern_log_configure(&next.log) != 0)
        tern_errorf("Reload: cannot open log file %s", next.log.file);
    tern_opts_free(&s->opts);
    s->opts = next;
    build_info(s);
    for (int i = 0; i < s->nworkers; i++) {
        for (tern_client *c = s->workers[i].clients; c; c = c->next) {
            c->parser.max_control_line = s->opts.max_control_line;
            c->parser.max_payload = s->opts.max_payload;
            c->max_pending = s->opts.max_pending;
        }
    }
    tern_noticef("Reloaded server configuration");
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
    case SIGHUP:
        tern_debugf("Trapped \"hangup\" signal");
        reload(s);
        break;
    }
}

/* ---- init / run ------------------------------------------------------- */

int tern_server_init(tern_server *s, const tern_opts *opts, int argc, char **argv)
{
    memset(s, 0, sizeof *s);
    s->argc = argc;
    s->argv = argv;
    tern_opts_copy(&s->opts, opts);
    if (uv_loop_init(&s->loop) != 0)
        return -1;
    if (tern_nkey_new_server_id(s->server_id) != 0) {
        tern_errorf("Cannot create the server identity");
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);

    tern_noticef("Starting ternd");
    tern_noticef("  Version:  %s (NATS protocol compatible with nats-server %s)", TERN_VERSION,
                 TERN_NATS_VERSION);
    tern_noticef("  ID:       %s", s->server_id);
    tern_noticef("  Name:     %s", s->opts.name ? s->opts.name : s->server_id);

    /* One worker on the main loop: the N-worker step adds threads. */
    s->nworkers = 1;
    s->workers = tern_xcalloc((size_t)s->nworkers, sizeof *s->workers);
    s->gacc = tern_account_new(TERN_GLOBAL_ACCOUNT, s->nworkers);
    for (int i = 0; i < s->nworkers; i++)
        tern_worker_init(&s->workers[i], s, &s->loop, i);

    s->listener = bind_listener(s, s->opts.host, s->opts.port, &s->port);
    if (!s->listener)
        return -1;
    build_info(s);
    tern_noticef("Listening for client connections on %s:%d", s->opts.host, s->port);

    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, 0};
    for (size_t i = 0; i < sizeof s->signals / sizeof *s->signals; i++) {
        uv_signal_init(&s->loop, &s->signals[i]);
        s->signals[i].data = s;
        if (sigs[i]) {
            uv_signal_start(&s->signals[i], on_signal, sigs[i]);
            uv_unref((uv_handle_t *)&s->signals[i]);
        }
    }
    uv_timer_init(&s->loop, &s->ldm_timer);
    s->ldm_timer.data = s;
    write_pid_file(s);
    write_ports_file(s);
    tern_noticef("Server is ready");
    return 0;
}

int tern_server_run(tern_server *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return s->exit_code;
}

void tern_server_free(tern_server *s)
{
    for (int i = 0; i < s->nworkers; i++)
        tern_worker_free(&s->workers[i]);
    uv_loop_close(&s->loop);
    tern_account_free(s->gacc);
    free(s->workers);
    free(s->info_prefix);
    free(s->ldm_info);
    tern_opts_free(&s->opts);
}
