/* Server options: the kernel's view of the `server:` configuration section
 * and of the command-line flags that override it.
 *
 * Defaults are nats-server 2.9.10's (client-protocol.md §15). Durations are
 * kept in milliseconds, sizes in bytes. */
#ifndef TERN_OPTS_H
#define TERN_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERN_DEFAULT_PORT              4222
#define TERN_DEFAULT_HOST              "0.0.0.0"
#define TERN_DEFAULT_MAX_PAYLOAD       (1024 * 1024)
#define TERN_DEFAULT_MAX_CONTROL_LINE  4096
#define TERN_DEFAULT_MAX_CONNECTIONS   65536
#define TERN_DEFAULT_MAX_PENDING       (64LL * 1024 * 1024)
#define TERN_DEFAULT_PING_INTERVAL_MS  (2 * 60 * 1000)
#define TERN_DEFAULT_PING_MAX          2
#define TERN_DEFAULT_WRITE_DEADLINE_MS (10 * 1000)
#define TERN_DEFAULT_AUTH_TIMEOUT_MS   (2 * 1000)
#define TERN_DEFAULT_TLS_TIMEOUT_MS    (2 * 1000)
#define TERN_DEFAULT_LDM_DURATION_MS   (2 * 60 * 1000)
#define TERN_DEFAULT_LDM_GRACE_MS      (10 * 1000)

/* Which fields were set explicitly (by a file or a flag); used so that
 * command-line flags win over files, also after a reload. */
typedef struct tern_log_opts {
    char *file;          /* NULL: stderr */
    bool debug;
    bool trace;
    bool time;           /* timestamps; default true, as nats-server */
    bool syslog;         /* refused: not supported (clear error) */
} tern_log_opts;

/* server.tls: TLS on the client port (--tls, --tlscert … set the same). */
typedef struct tern_tls_opts {
    bool    enabled;     /* TLS required of every client */
    char   *cert;        /* certificate chain (PEM) */
    char   *key;         /* its private key (PEM) */
    char   *ca;          /* CAs for client certificates; NULL: system */
    bool    verify;      /* require a valid client certificate */
    int64_t timeout_ms;  /* handshake deadline */
    char   *ciphers;     /* TLS 1.2 cipher list (OpenSSL names); NULL: default */
    char   *ciphersuites;/* TLS 1.3 suites; NULL: OpenSSL's default */
    int     min_version; /* 12 (default) or 13 */
} tern_tls_opts;

typedef struct tern_opts {
    char    *name;                 /* server_name; NULL = server_id */
    char    *host;                 /* listen host */
    int      port;                 /* listen port; -1 = random */
    int      workers;              /* 0 = number of CPUs */
    int64_t  max_payload;
    int64_t  max_control_line;
    int64_t  max_connections;
    int64_t  max_pending;
    int64_t  ping_interval_ms;
    int64_t  ping_max;
    int64_t  write_deadline_ms;
    int64_t  auth_timeout_ms;      /* effective value (see auth_timeout_set) */
    bool     auth_timeout_set;     /* given explicitly; otherwise it follows
                                      tern_opts_default_auth_timeout_ms() */
    int64_t  lame_duck_duration_ms;
    int64_t  lame_duck_grace_ms;
    bool     disable_short_first_ping;
    bool     no_header_support;
    tern_log_opts log;
    tern_tls_opts tls;
    struct tern_auth *auth;        /* authorization + no_auth_user (auth.h);
                                      NULL: no authentication. Shared, counted */
    char    *pid_file;
    char    *ports_file_dir;       /* write <prog>_<pid>.ports like nats-server */
    char    *modules_dir;
    struct tern_conf_node *modules; /* the `modules:` section (owned copy;
                                      NULL: none), read by module.c */
} tern_opts;

/* Fill with nats-server defaults. */
void tern_opts_init(tern_opts *o);
/* Free owned strings (the struct itself is the caller's). */
void tern_opts_free(tern_opts *o);
/* Deep copy: dst must be uninitialised or freed. */
void tern_opts_copy(tern_opts *dst, const tern_opts *src);
/* nats-server's default auth timeout: 2 s, or the TLS timeout + 1 s when
 * TLS is configured. */
int64_t tern_opts_default_auth_timeout_ms(const tern_opts *o);

#endif
