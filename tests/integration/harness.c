/* Integration test harness; see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TERN_IT_TERND
#define TERN_IT_TERND "ternd"
#endif

#define IT_START_DEADLINE_MS 10000
#define IT_STOP_DEADLINE_MS  10000

/* Checks may run on a test's own threads. */
static atomic_int passed;
static atomic_int failed;

bool it_check_at(bool cond, const char *file, int line, const char *fmt, ...)
{
    if (cond) {
        passed++;
        return true;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s:%d [%s]: ", file, line, it_server_kind());
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    return false;
}

int it_summary(void)
{
    printf("%d passed, %d failed\n", atomic_load(&passed), atomic_load(&failed));
    fflush(stdout);
    return failed == 0 && passed > 0 ? 0 : 1;
}

int64_t it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_poll_pause(void)
{
    struct timespec ts = { 0, 5 * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

/* ---- server selection ------------------------------------------------ */

static bool use_nats(void)
{
    const char *v = getenv("TERN_TEST_SERVER");
    return v && strcmp(v, "nats-server") == 0;
}

const char *it_server_kind(void)
{
    return use_nats() ? "nats-server" : "ternd";
}

bool it_ternd_only(void)
{
    if (!use_nats())
        return false;
    printf("ternd only: skipped against nats-server\n");
    return true;
}

const char *it_nats_server_path(void)
{
    const char *v = getenv("TERN_NATS_SERVER");
    if (v && *v)
        return v;
    /* Debian installs it in /usr/sbin; other systems in /usr/bin. */
    if (access("/usr/bin/nats-server", X_OK) == 0)
        return "/usr/bin/nats-server";
    return "/usr/sbin/nats-server";
}

const char *it_ternd_path(void)
{
    const char *v = getenv("TERN_TERND");
    return v && *v ? v : TERN_IT_TERND;
}

/* ---- files ------------------------------------------------------------ */

char *it_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            p = realloc(p, cap + 1);
        }
        size_t r = fread(p + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    p[n] = '\0';
    if (len)
        *len = n;
    return p;
}

bool it_wait_file_contains(const char *path, const char *needle, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    do {
        size_t n;
        char *p = it_read_file(path, &n);
        bool hit = p && memmem(p, n, needle, strlen(needle)) != NULL;
        free(p);
        if (hit)
            return true;
        it_poll_pause();
    } while (it_now_ms() < deadline);
    return false;
}

bool it_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

bool it_install_file(const char *from, const char *to)
{
    size_t len = 0;
    char *data = it_read_file(from, &len);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.new", to) >= (int)sizeof tmp) {
        free(data);
        return false;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = data && fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    free(data);
    return ok && rename(tmp, to) == 0;
}

/* Non-overlapping occurrences of needle in text, which it frees. */
static int count_and_free(char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}

int it_count_in_file(const char *path, const char *needle)
{
    return count_and_free(it_read_file(path, NULL), needle);
}

bool it_await_file_count(const char *path, const char *needle, int n, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    while (it_count_in_file(path, needle) < n && it_now_ms() < deadline)
        it_poll_pause();
    return it_count_in_file(path, needle) >= n;
}

int it_read_port_file(const char *path, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    do {
        char *text = it_read_file(path, NULL);
        int port = text ? atoi(text) : 0;
        free(text);
        if (port > 0)
            return port;
        it_poll_pause();
    } while (it_now_ms() < deadline);
    return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

bool it_remove_tree(const char *dir)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT;
}

/* ---- configuration ---------------------------------------------------- */

/* Durations as "Ns" or "Nms": both formats read these strings. */
static void fmt_duration(char *out, size_t n, int64_t ms)
{
    if (ms % 1000 == 0)
        snprintf(out, n, "%llds", (long long)(ms / 1000));
    else
        snprintf(out, n, "%lldms", (long long)ms);
}

typedef struct confbuf {
    char text[4096];
    size_t len;
} confbuf;

static void cb_add(confbuf *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cb_add(confbuf *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->text + c->len, sizeof c->text - c->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof c->text - c->len)
        c->len += (size_t)n;
}

/* The options both formats spell the same way ("key: value"); indent puts
 * them under `server:` in YAML. */
static void add_common(confbuf *c, const it_opts *o, const char *indent)
{
    char d[32];
    if (o->max_payload)
        cb_add(c, "%smax_payload: %lld\n", indent, (long long)o->max_payload);
    if (o->max_pending)
        cb_add(c, "%smax_pending: %lld\n", indent, (long long)o->max_pending);
    if (o->max_connections)
        cb_add(c, "%smax_connections: %lld\n", indent, (long long)o->max_connections);
    if (o->ping_interval_ms) {
        fmt_duration(d, sizeof d, o->ping_interval_ms);
        cb_add(c, "%sping_interval: \"%s\"\n", indent, d);
    }
    if (o->ping_max)
        cb_add(c, "%sping_max: %lld\n", indent, (long long)o->ping_max);
    if (o->write_deadline_ms) {
        fmt_duration(d, sizeof d, o->write_deadline_ms);
        cb_add(c, "%swrite_deadline: \"%s\"\n", indent, d);
    }
    if (o->lame_duck_duration_ms) {
        fmt_duration(d, sizeof d, o->lame_duck_duration_ms);
        cb_add(c, "%slame_duck_duration: \"%s\"\n", indent, d);
    }
    if (o->lame_duck_grace_ms) {
        fmt_duration(d, sizeof d, o->lame_duck_grace_ms);
        cb_add(c, "%slame_duck_grace_period: \"%s\"\n", indent, d);
    }
}

static int write_config(it_server *s, const it_opts *o, char *conf_arg, size_t n)
{
    confbuf c = { .len = 0 };
    if (s->is_nats) {
        cb_add(&c, "server_name: \"it-%d\"\n", s->port);
        cb_add(&c, "listen: \"127.0.0.1:%d\"\n", s->port);
        add_common(&c, o, "");
        if (o->log_file)
            cb_add(&c, "log_file: \"%s\"\n", s->log_path);
        if (o->debug)
            cb_add(&c, "debug: true\n");
        if (o->trace)
            cb_add(&c, "trace: true\n");
        if (o->tls_cert) {
            cb_add(&c, "tls {\n  cert_file: \"%s\"\n  key_file: \"%s\"\n", o->tls_cert, o->tls_key);
            if (o->tls_ca)
                cb_add(&c, "  ca_file: \"%s\"\n", o->tls_ca);
            if (o->tls_verify)
                cb_add(&c, "  verify: true\n");
            if (o->tls_timeout_ms)
                cb_add(&c, "  timeout: %g\n", (double)o->tls_timeout_ms / 1000.0);
            cb_add(&c, "}\n");
        }
        if (o->auth_conf)
            cb_add(&c, "%s\n", o->auth_conf);
        snprintf(conf_arg, n, "%s/server.conf", s->dir);
        return it_write_file(conf_arg, c.text) ? 0 : -1;
    }
    cb_add(&c, "server:\n");
    cb_add(&c, "  name: \"it-%d\"\n", s->port);
    cb_add(&c, "  listen: \"127.0.0.1:%d\"\n", s->port);
    /* The suite runs ternd with two workers (cross-worker delivery on every
     * path); TERN_TEST_WORKERS overrides. */
    const char *workers = getenv("TERN_TEST_WORKERS");
    cb_add(&c, "  workers: %d\n", workers && *workers ? atoi(workers) : 2);
    add_common(&c, o, "  ");
    if (o->log_file || o->debug || o->trace) {
        cb_add(&c, "  log:\n");
        if (o->log_file)
            cb_add(&c, "    file: \"%s\"\n", s->log_path);
        if (o->debug)
            cb_add(&c, "    debug: true\n");
        if (o->trace)
            cb_add(&c, "    trace: true\n");
    }
    if (o->tls_cert) {
        cb_add(&c, "  tls:\n    cert: \"%s\"\n    key: \"%s\"\n", o->tls_cert, o->tls_key);
        if (o->tls_ca)
            cb_add(&c, "    ca: \"%s\"\n", o->tls_ca);
        if (o->tls_verify)
            cb_add(&c, "    verify: true\n");
        if (o->tls_timeout_ms) {
            char d[32];
            fmt_duration(d, sizeof d, o->tls_timeout_ms);
            cb_add(&c, "    timeout: \"%s\"\n", d);
        }
    }
    if (o->auth_yaml)
        cb_add(&c, "%s\n", o->auth_yaml);
    char confd[200];
    snprintf(confd, sizeof confd, "%s/conf.d", s->dir);
    if (mkdir(confd, 0700) != 0)
        return -1;
    char file[256];
    snprintf(file, sizeof file, "%s/00-server.yaml", confd);
    snprintf(conf_arg, n, "%s", confd);
    return it_write_file(file, c.text) ? 0 : -1;
}

/* ---- process control -------------------------------------------------- */

/* The kernel may hand the same ephemeral port out again once it is
 * closed: a test that takes a client and a cluster port before starting
 * a server must not get one port twice (seen: the cluster listener
 * failed with "address already in use"). */
static pthread_mutex_t g_ports_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_ports[256];
static size_t g_nports;

static bool port_given(int port)
{
    for (size_t i = 0; i < g_nports && i < sizeof g_ports / sizeof *g_ports; i++)
        if (g_ports[i] == port)
            return true;
    return false;
}

int it_free_port(void)
{
    int port = -1;
    pthread_mutex_lock(&g_ports_mu);
    for (int tries = 0; tries < 50; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            break;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        port = -1;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &len) == 0)
            port = ntohs(a.sin_port);
        close(fd);
        if (port < 0 || !port_given(port))
            break;
    }
    if (port > 0)
        g_ports[g_nports++ % (sizeof g_ports / sizeof *g_ports)] = port;
    pthread_mutex_unlock(&g_ports_mu);
    return port;
}

static bool proc_net_listening(const char *file, int port)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return false;
    }
    while (!found && fgets(line, sizeof line, f)) {
        char local[128];
        unsigned st;
        if (sscanf(line, "%*d: %127s %*s %x", local, &st) != 2)
            continue;
        const char *colon = strrchr(local, ':');
        if (colon && st == 0x0A && (int)strtol(colon + 1, NULL, 16) == port)
            found = true;
    }
    fclose(f);
    return found;
}

bool it_port_listening(int port)
{
    return proc_net_listening("/proc/net/tcp", port) ||
           proc_net_listening("/proc/net/tcp6", port);
}

long it_proc_rss_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    char *p = it_read_file(path, NULL);
    if (!p)
        return -1;
    long kb = -1;
    char *at = strstr(p, "VmRSS:");
    if (at)
        kb = strtol(at + 6, NULL, 10);
    free(p);
    return kb;
}

/* ---- child processes and tools ---------------------------------------- */

pid_t it_spawn(char *const argv[], const char *out_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        /* Under TSan ternd gets the server's suppressions (none of the
         * test clients' library ones: scripts/test.sh) */
        const char *srv_tsan = getenv("TERN_TSAN_SERVER_OPTIONS");
        const char *base = strrchr(argv[0], '/');
        if (srv_tsan && !strcmp(base ? base + 1 : argv[0], "ternd"))
            setenv("TSAN_OPTIONS", srv_tsan, 1);
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int it_pid_wait(pid_t pid, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    int st = 0;
    int64_t deadline = it_now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -1;
        if (it_now_ms() >= deadline)
            break;
        it_poll_pause();
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return -1;
}

int it_pid_stop(pid_t pid)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    return it_pid_wait(pid, IT_STOP_DEADLINE_MS);
}

bool it_await_listening(int port, pid_t pid, int timeout_ms)
{
    int st;
    int64_t deadline = it_now_ms() + timeout_ms;
    do {
        if (it_port_listening(port))
            return true;
        if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid)
            return false;
        it_poll_pause();
    } while (it_now_ms() < deadline);
    return it_port_listening(port);
}

int it_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd) {
        printf("command too long (%d bytes): %.200s...\n", n, cmd);
        return -1;
    }
    fflush(stdout);
    int rc = system(cmd);
    if (rc != 0)
        printf("command failed (%d): %s\n", rc, cmd);
    return rc;
}

int it_make_cert(const char *dir, const char *name, const char *cn, const char *ext,
                 const char *ca)
{
    /* EC keys: fast to generate. */
    if (!ca)
        return it_sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
                     "ec_paramgen_curve:prime256v1 -nodes -keyout %s.key -out %s.pem -days 2 "
                     "-subj '/CN=%s' 2>/dev/null",
                     dir, name, name, cn);
    if (it_sh("cd '%s' && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
              "-nodes -keyout %s.key -out %s.csr -subj '/CN=%s' 2>/dev/null",
              dir, name, name, cn))
        return -1;
    if (ext && it_sh("cd '%s' && printf '%%s\\n' '%s' > %s.ext", dir, ext, name))
        return -1;
    return it_sh("cd '%s' && openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key "
                 "-CAcreateserial -out %s.pem -days 2 %s%s%s 2>/dev/null",
                 dir, name, ca, ca, name, ext ? "-extfile " : "", ext ? name : "",
                 ext ? ".ext" : "");
}

static bool reap(it_server *s, bool block)
{
    if (s->exited)
        return true;
    int st;
    pid_t r = waitpid(s->pid, &st, block ? 0 : WNOHANG);
    if (r == s->pid) {
        s->exited = true;
        s->wstatus = st;
        return true;
    }
    return false;
}

bool it_server_wait_exit(it_server *s, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    while (!reap(s, false)) {
        if (it_now_ms() >= deadline)
            return false;
        it_poll_pause();
    }
    return true;
}

int it_server_signal(it_server *s, int sig)
{
    if (s->exited || s->pid <= 0)
        return -1;
    return kill(s->pid, sig);
}

char *it_server_log(const it_server *s)
{
    return it_read_file(s->log_path[0] && access(s->log_path, R_OK) == 0 ? s->log_path
                                                                          : s->out_path,
                        NULL);
}

int it_log_count(const it_server *s, const char *needle)
{
    return count_and_free(it_server_log(s), needle);
}

bool it_await_log_count(const it_server *s, const char *needle, int n, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    while (it_log_count(s, needle) < n && it_now_ms() < deadline)
        it_poll_pause();
    return it_log_count(s, needle) >= n;
}

int it_server_reload(it_server *s, int timeout_ms)
{
    static const char ok_line[] = "Reloaded server configuration";
    static const char bad_line[] = "Failed to reload server configuration";
    int ok = it_log_count(s, ok_line), bad = it_log_count(s, bad_line);
    if (it_server_signal(s, SIGHUP) != 0)
        return IT_TIMEOUT;
    int64_t deadline = it_now_ms() + timeout_ms;
    while (it_now_ms() < deadline) {
        if (it_log_count(s, ok_line) > ok)
            return IT_RELOADED;
        if (it_log_count(s, bad_line) > bad)
            return IT_RELOAD_FAILED;
        it_poll_pause();
    }
    return IT_TIMEOUT;
}

bool it_reload_expect_at(it_server *s, bool expect_ok, const char *file, int line)
{
    switch (it_server_reload(s, 20000)) {
    case IT_RELOADED:
        return it_check_at(expect_ok, file, line, "the reload succeeds");
    case IT_RELOAD_FAILED:
        return it_check_at(!expect_ok, file, line, "the reload fails");
    default:
        return it_check_at(false, file, line, "the server reloads");
    }
}

static int failed_at_start;

static void dump_tail(const char *title, const char *path)
{
    size_t n;
    char *p = it_read_file(path, &n);
    if (!p || n == 0) {
        free(p);
        return;
    }
    const size_t keep = 3000;
    printf("---- %s (last %zu bytes of %s) ----\n%s\n----\n", title, n > keep ? keep : n,
           path, n > keep ? p + n - keep : p);
    free(p);
}

int it_server_start(it_server *s, const it_opts *o)
{
    static const it_opts none;
    if (!o)
        o = &none;
    memset(s, 0, sizeof *s);
    s->is_nats = use_nats();
    failed_at_start = failed;
    snprintf(s->dir, sizeof s->dir, "/tmp/tern-it-XXXXXX");
    if (!mkdtemp(s->dir)) {
        perror("mkdtemp");
        return -1;
    }
    s->port = it_free_port();
    if (s->port <= 0)
        return -1;
    snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->port);
    snprintf(s->out_path, sizeof s->out_path, "%s/output.log", s->dir);
    if (o->log_file)
        snprintf(s->log_path, sizeof s->log_path, "%s/server.log", s->dir);

    char conf[256];
    if (write_config(s, o, conf, sizeof conf) != 0) {
        perror("write config");
        return -1;
    }
    const char *bin = s->is_nats ? it_nats_server_path() : it_ternd_path();

    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* No orphaned servers if the test process dies. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int out = open(s->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (out < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        execl(bin, bin, "-c", conf, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    s->pid = pid;
    printf("started %s -c %s (pid %d, port %d)\n", bin, conf, (int)pid, s->port);

    int64_t deadline = it_now_ms() + IT_START_DEADLINE_MS;
    while (!it_port_listening(s->port)) {
        if (reap(s, false) || it_now_ms() >= deadline) {
            printf("server %s did not start listening on %d\n", bin, s->port);
            dump_tail("server output", s->out_path);
            it_server_stop(s);
            return -1;
        }
        it_poll_pause();
    }
    return 0;
}

void it_server_stop(it_server *s)
{
    if (s->pid > 0 && !s->exited) {
        kill(s->pid, SIGTERM);
        if (!it_server_wait_exit(s, IT_STOP_DEADLINE_MS)) {
            printf("server pid %d ignored SIGTERM; killing\n", (int)s->pid);
            kill(s->pid, SIGKILL);
            reap(s, true);
        } else {
            /* Exit code 1 after SIGTERM, as nats-server: anything else is a
             * crash or a sanitizer report (leaks, races) at shutdown. */
            IT_CHECK(WIFEXITED(s->wstatus) && WEXITSTATUS(s->wstatus) == 1,
                     "server exits with code 1 after SIGTERM (status 0x%x)", s->wstatus);
        }
    }
    if (failed > failed_at_start) {
        dump_tail("server output", s->out_path);
        if (s->log_path[0])
            dump_tail("server log", s->log_path);
    }
    if (s->dir[0] && !getenv("TERN_TEST_KEEP"))
        it_remove_tree(s->dir);
    s->dir[0] = '\0';
    s->pid = 0;
}

/* ---- raw sockets -------------------------------------------------------- */

void it_buf_free(it_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void it_buf_reset(it_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

size_t it_buf_count(const it_buf *b, const char *needle)
{
    size_t n = 0, nl = strlen(needle), off = 0;
    while (off < b->len) {
        const char *hit = memmem(b->data + off, b->len - off, needle, nl);
        if (!hit)
            break;
        n++;
        off = (size_t)(hit - b->data) + nl;
    }
    return n;
}

bool it_buf_contains(const it_buf *b, const char *needle)
{
    return b->len && memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

static void buf_reserve(it_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = realloc(b->data, cap);
    b->cap = cap;
}

int it_raw_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int it_raw_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int it_raw_sends(int fd, const char *s)
{
    return it_raw_send(fd, s, strlen(s));
}

/* One bounded read into b: 1 data, 0 closed (EOF or reset), -1 deadline. */
static int read_some(int fd, it_buf *b, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - it_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? -1 : 0;
        buf_reserve(b, 65536);
        ssize_t n = recv(fd, b->data + b->len, 65536, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        b->len += (size_t)n;
        b->data[b->len] = '\0';
        return 1;
    }
}

int it_raw_read_until(int fd, it_buf *b, const char *needle, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    for (;;) {
        if (it_buf_contains(b, needle))
            return IT_FOUND;
        int r = read_some(fd, b, deadline);
        if (r == 0)
            return it_buf_contains(b, needle) ? IT_FOUND : IT_CLOSED;
        if (r < 0)
            return IT_TIMEOUT;
    }
}

int it_raw_read_to_close(int fd, it_buf *b, int timeout_ms)
{
    int64_t deadline = it_now_ms() + timeout_ms;
    for (;;) {
        int r = read_some(fd, b, deadline);
        if (r == 0)
            return IT_CLOSED;
        if (r < 0)
            return IT_TIMEOUT;
    }
}

int it_raw_client(int port, const char *connect_json, it_buf *b)
{
    int fd = it_raw_connect(port, 0);
    if (fd < 0)
        return -1;
    if (it_raw_read_until(fd, b, "\r\n", 5000) != IT_FOUND ||
        strncmp(b->data, "INFO ", 5) != 0)
        goto fail;
    char line[1024];
    snprintf(line, sizeof line, "CONNECT %s\r\nPING\r\n", connect_json);
    if (it_raw_sends(fd, line) != 0 || it_raw_read_until(fd, b, "PONG\r\n", 5000) != IT_FOUND)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

char *it_info_line(int port, int timeout_ms)
{
    it_buf b = { 0 };
    int fd = it_raw_connect(port, 0);
    char *line = NULL;
    if (fd >= 0 && it_raw_read_until(fd, &b, "\r\n", timeout_ms) == IT_FOUND)
        line = strndup(b.data, b.len);
    if (fd >= 0)
        close(fd);
    it_buf_free(&b);
    return line;
}

/* ---- cnats --------------------------------------------------------------- */

natsStatus it_nats_dial(int port, const char *user, const char *pass, const char *creds,
                        natsConnection **nc)
{
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    natsOptions *o = NULL;
    *nc = NULL;
    natsStatus st = natsOptions_Create(&o);
    if (st == NATS_OK)
        st = natsOptions_SetURL(o, url);
    if (st == NATS_OK)
        st = natsOptions_SetAllowReconnect(o, false);
    if (st == NATS_OK)
        st = natsOptions_SetTimeout(o, 5000);
    if (st == NATS_OK && user)
        st = natsOptions_SetUserInfo(o, user, pass);
    if (st == NATS_OK && creds)
        st = natsOptions_SetUserCredentialsFromFiles(o, creds, NULL);
    if (st == NATS_OK)
        st = natsConnection_Connect(nc, o);
    natsOptions_Destroy(o);
    return st;
}

natsConnection *it_nats_login(const it_server *s, const char *user, const char *pass)
{
    natsConnection *nc = NULL;
    natsStatus st = it_nats_dial(s->port, user, pass, NULL, &nc);
    if (st != NATS_OK)
        printf("cnats connect to %s%s%s: %s\n", s->url, user ? " as " : "", user ? user : "",
               natsStatus_GetText(st));
    return nc;
}

natsConnection *it_nats_connect(const it_server *s)
{
    return it_nats_login(s, NULL, NULL);
}

char *it_request(natsConnection *nc, const char *subject, const char *body, int timeout_ms)
{
    natsMsg *m = NULL;
    if (natsConnection_RequestString(&m, nc, subject, body ? body : "", timeout_ms) != NATS_OK)
        return NULL;
    char *text = strndup(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
    return text;
}

/* ---- traffic --------------------------------------------------------------- */

static void traffic_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    it_traffic *t = closure;
    (void)nc, (void)sub;
    const char *body = natsMsg_GetData(m);
    long want = atomic_load(&t->got);
    if (atol(body) != want || strspn(body, "0123456789") != strlen(body))
        atomic_store(&t->in_order, false);
    atomic_store(&t->got, want + 1);
    natsMsg_Destroy(m);
}

static void *traffic_publish(void *arg)
{
    it_traffic *t = arg;
    while (!atomic_load(&t->stop)) {
        char body[24];
        snprintf(body, sizeof body, "%ld", atomic_load(&t->sent));
        if (natsConnection_PublishString(t->pub, "traffic", body) != NATS_OK)
            break;
        if (atomic_fetch_add(&t->sent, 1) % 50 == 49 && natsConnection_Flush(t->pub) != NATS_OK)
            break;
    }
    natsConnection_Flush(t->pub);
    return NULL;
}

bool it_traffic_start(it_traffic *t, natsConnection *pub, natsConnection *sub)
{
    memset(t, 0, sizeof *t);
    t->pub = pub;
    t->sub = sub;
    atomic_store(&t->in_order, true);
    if (natsConnection_Subscribe(&t->subscription, sub, "traffic", traffic_msg, t) != NATS_OK ||
        natsSubscription_SetPendingLimits(t->subscription, -1, -1) != NATS_OK ||
        natsConnection_Flush(sub) != NATS_OK)
        return false;
    t->running = pthread_create(&t->thread, NULL, traffic_publish, t) == 0;
    return t->running;
}

bool it_traffic_stop(it_traffic *t, int timeout_ms)
{
    atomic_store(&t->stop, true);
    if (t->running)
        pthread_join(t->thread, NULL);
    t->running = false;
    int64_t deadline = it_now_ms() + timeout_ms;
    while (atomic_load(&t->got) < atomic_load(&t->sent) && it_now_ms() < deadline)
        it_poll_pause();
    natsSubscription_Destroy(t->subscription);
    t->subscription = NULL;
    return atomic_load(&t->got) == atomic_load(&t->sent) && atomic_load(&t->in_order);
}
