/* Integration test harness: starts a real server process (ternd or the
 * reference nats-server) on a free loopback port in a private temp dir,
 * offers raw-socket helpers for wire-level checks, and counts checks.
 *
 * Which server: TERN_TEST_SERVER=nats-server runs the reference
 * (TERN_NATS_SERVER overrides its path); anything else runs ternd, found
 * in TERN_TERND (set by ctest) or the path compiled in at build time. */
#ifndef TERN_IT_HARNESS_H
#define TERN_IT_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nats/nats.h>

/* ---- checks ---------------------------------------------------------- */

/* Record one check; prints a FAIL line with the location when false.
 * Returns cond so a test can bail out when later steps depend on it. */
bool it_check_at(bool cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define IT_CHECK(cond, ...) it_check_at((cond), __FILE__, __LINE__, __VA_ARGS__)

/* Print "N passed, N failed" and return the process exit code. */
int it_summary(void);

/* Monotonic clock in milliseconds. */
int64_t it_now_ms(void);
/* A 5 ms pause between two polls of a condition (never a wait for time). */
void it_poll_pause(void);

/* ---- server ---------------------------------------------------------- */

/* Options mapped to both configuration formats; 0/false = server default.
 * Durations in milliseconds, sizes in bytes. */
typedef struct it_opts {
    int64_t max_payload;
    int64_t max_pending;
    int64_t max_connections;
    int64_t ping_interval_ms;
    int64_t ping_max;
    int64_t write_deadline_ms;
    int64_t lame_duck_duration_ms;
    int64_t lame_duck_grace_ms;
    bool    log_file;          /* log into <dir>/server.log via the config */
    bool    debug;
    bool    trace;
    /* TLS on the client port (absolute paths; tls_cert set = TLS on) */
    const char *tls_cert;
    const char *tls_key;
    const char *tls_ca;
    bool    tls_verify;
    int64_t tls_timeout_ms;
    /* Top-level text appended to the configuration as it is: auth_yaml for
     * ternd, auth_conf (nats-server format) for the reference. */
    const char *auth_yaml;
    const char *auth_conf;
} it_opts;

typedef struct it_server {
    pid_t pid;                 /* 0 once reaped */
    int   port;
    bool  is_nats;             /* running the reference nats-server */
    bool  exited;
    int   wstatus;             /* waitpid status once exited */
    char  dir[128];            /* private temp dir */
    char  log_path[256];       /* configured log file (log_file) */
    char  out_path[256];       /* captured stdout+stderr */
    char  url[64];             /* nats://127.0.0.1:PORT */
} it_server;

/* Name of the server under test, for messages ("ternd"/"nats-server"). */
const char *it_server_kind(void);

/* Start a server; waits (bounded) until its port listens. 0 on success. */
int it_server_start(it_server *s, const it_opts *o);
/* SIGTERM, wait, SIGKILL if needed, remove the temp dir. Safe to call after
 * the server exited on its own. */
void it_server_stop(it_server *s);
int it_server_signal(it_server *s, int sig);
/* Wait for the process to exit; true if it did (status in s->wstatus). */
bool it_server_wait_exit(it_server *s, int timeout_ms);
/* The server's log: the configured file if any, else captured output.
 * Caller frees; NULL if unreadable. */
char *it_server_log(const it_server *s);
/* Whether the port currently has a listening socket (/proc/net/tcp). */
bool it_port_listening(int port);
/* VmRSS of a process in KiB, -1 if unknown. */
long it_proc_rss_kb(pid_t pid);

/* Occurrences of needle in the server's log (it_server_log). */
int it_log_count(const it_server *s, const char *needle);
/* Poll until the server's log holds needle at least n times (bounded). */
bool it_await_log_count(const it_server *s, const char *needle, int n, int timeout_ms);

enum { IT_RELOADED = 1, IT_RELOAD_FAILED = 0 };   /* or IT_TIMEOUT */
/* SIGHUP, then wait (bounded) for the reload's outcome line in the log:
 * "Reloaded server configuration" or "Failed to reload server
 * configuration" appearing once more than before the signal. */
int it_server_reload(it_server *s, int timeout_ms);
/* it_server_reload (20 s) recorded as a check that it succeeded
 * (expect_ok) or failed; true when the outcome was the expected one. */
bool it_reload_expect_at(it_server *s, bool expect_ok, const char *file, int line);
#define IT_RELOAD(s, expect_ok) it_reload_expect_at((s), (expect_ok), __FILE__, __LINE__)

/* Read a whole file; NUL-terminated, length in *len if non-NULL. */
char *it_read_file(const char *path, size_t *len);
/* Poll until the file contains needle (bounded). */
bool it_wait_file_contains(const char *path, const char *needle, int timeout_ms);
/* Write text as the whole file; false (errno set) on failure. */
bool it_write_file(const char *path, const char *text);
/* Install from's bytes at to as a package manager does: write to.new,
 * then rename it over to (a running process keeps its old mapping). */
bool it_install_file(const char *from, const char *to);
/* Remove a directory tree (no error if it is gone); false on failure. */
bool it_remove_tree(const char *dir);
/* Non-overlapping occurrences of needle in the file (0 if unreadable). */
int it_count_in_file(const char *path, const char *needle);
/* Poll until the file holds needle at least n times (bounded). */
bool it_await_file_count(const char *path, const char *needle, int n, int timeout_ms);
/* Poll until the file holds a positive port number (the file is written
 * whole by the server or module); the port, or -1 after timeout_ms. */
int it_read_port_file(const char *path, int timeout_ms);

/* ---- processes and tools --------------------------------------------- */

/* The ternd and nats-server binaries the harness runs. */
const char *it_ternd_path(void);
const char *it_nats_server_path(void);
/* True (after printing why) when the server under test is nats-server
 * and the calling test is about ternd only: it then just summarises. */
bool it_ternd_only(void);
/* A loopback TCP port nothing listens on (bound once, then released);
 * -1 on failure. */
int it_free_port(void);
/* system() on a printf-formatted command; prints the command when it
 * fails. The wait status (0 = exit 0), or -1 if it did not fit. */
int it_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An EC key and certificate <dir>/<name>.key and .pem for CN cn, signed
 * by the CA <dir>/<ca>.pem/.key or self-signed (ca NULL), with the
 * openssl x509 extension lines ext (NULL: none). 0 on success. */
int it_make_cert(const char *dir, const char *name, const char *cn, const char *ext,
                 const char *ca);
/* Start argv (argv[0] searched in PATH) with stdout and stderr into
 * out_path (truncated); it is killed if the test process dies. The pid,
 * or -1. */
pid_t it_spawn(char *const argv[], const char *out_path);
/* Wait for a child to exit; after timeout_ms it is killed (SIGKILL).
 * Its wait status, or -1 when it had to be killed. */
int it_pid_wait(pid_t pid, int timeout_ms);
/* SIGTERM, SIGKILL after 10 s; the wait status (-1: killed, or pid <= 0). */
int it_pid_stop(pid_t pid);
/* Poll until port listens; false when pid exits first or after
 * timeout_ms. */
bool it_await_listening(int port, pid_t pid, int timeout_ms);

/* ---- raw sockets ----------------------------------------------------- */

typedef struct it_buf {
    char  *data;
    size_t len;
    size_t cap;
} it_buf;

void it_buf_free(it_buf *b);
void it_buf_reset(it_buf *b);
/* Count non-overlapping occurrences of needle. */
size_t it_buf_count(const it_buf *b, const char *needle);
bool it_buf_contains(const it_buf *b, const char *needle);

/* Connect to 127.0.0.1:port; rcvbuf > 0 sets SO_RCVBUF before connecting.
 * Returns the fd or -1. */
int it_raw_connect(int port, int rcvbuf);
/* Send all bytes; 0 on success. */
int it_raw_send(int fd, const void *data, size_t len);
int it_raw_sends(int fd, const char *s);

enum { IT_FOUND = 1, IT_CLOSED = 0, IT_TIMEOUT = -1 };
/* Append to b until it contains needle (searched from the start of b),
 * the peer closes, or the deadline passes. */
int it_raw_read_until(int fd, it_buf *b, const char *needle, int timeout_ms);
/* Append to b until the peer closes (IT_CLOSED) or the deadline passes. */
int it_raw_read_to_close(int fd, it_buf *b, int timeout_ms);

/* Connect, read INFO, send "CONNECT <json>\r\nPING\r\n" and wait for PONG.
 * The exchanged bytes stay in b. Returns the fd or -1. */
int it_raw_client(int port, const char *connect_json, it_buf *b);

/* The INFO line a new raw connection to port gets (with its CRLF; caller
 * frees), NULL if none within timeout_ms. */
char *it_info_line(int port, int timeout_ms);

/* ---- cnats ------------------------------------------------------------- */

/* Connect with reconnects off and a 5 s timeout; NULL (reason printed) on
 * failure. */
natsConnection *it_nats_connect(const it_server *s);
/* The same with user/password credentials (user NULL: none). */
natsConnection *it_nats_login(const it_server *s, const char *user, const char *pass);
/* Connect to 127.0.0.1:port with reconnects off and a 5 s timeout, with
 * user/password (user NULL: none) and/or a .creds file (NULL: none);
 * the connect's status, *nc NULL unless NATS_OK. Prints nothing. */
natsStatus it_nats_dial(int port, const char *user, const char *pass, const char *creds,
                        natsConnection **nc);
/* A request with body (NULL: empty); the reply's data as a string
 * (caller frees), NULL on failure or timeout. */
char *it_request(natsConnection *nc, const char *subject, const char *body, int timeout_ms);


/* Numbered messages published on "traffic" from pub to a subscription of
 * sub by a thread, flushed every 50 (the publisher never runs far ahead):
 * the clients a reload must neither disconnect nor disturb. */
typedef struct it_traffic {
    natsConnection   *pub, *sub;
    natsSubscription *subscription;
    pthread_t         thread;
    bool              running;
    _Atomic bool      stop;
    _Atomic long      sent, got;
    _Atomic bool      in_order;   /* each message was the next number */
} it_traffic;

/* Subscribe (no pending limits) and start publishing; false on failure. */
bool it_traffic_start(it_traffic *t, natsConnection *pub, natsConnection *sub);
/* Stop publishing, wait (bounded) until every message sent arrived and
 * drop the subscription; true when all arrived, in order. */
bool it_traffic_stop(it_traffic *t, int timeout_ms);

#endif
