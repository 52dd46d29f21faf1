/* Integration test harness: starts a real server process (ternd or the
 * reference nats-server) on a free loopback port in a private temp dir,
 * offers raw-socket helpers for wire-level checks, and counts checks.
 *
 * Which server: TERN_TEST_SERVER=nats-server runs the reference
 * (TERN_NATS_SERVER overrides its path); anything else runs ternd, found
 * in TERN_TERND (set by ctest) or the path compiled in at build time. */
#ifndef TERN_IT_HARNESS_H
#define TERN_IT_HARNESS_H

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

/* Read a whole file; NUL-terminated, length in *len if non-NULL. */
char *it_read_file(const char *path, size_t *len);
/* Poll until the file contains needle (bounded). */
bool it_wait_file_contains(const char *path, const char *needle, int timeout_ms);

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

/* ---- cnats ------------------------------------------------------------- */

/* Connect with reconnects off and a 5 s timeout; NULL (reason printed) on
 * failure. */
natsConnection *it_nats_connect(const it_server *s);
/* The same with user/password credentials (user NULL: none). */
natsConnection *it_nats_login(const it_server *s, const char *user, const char *pass);

#endif
