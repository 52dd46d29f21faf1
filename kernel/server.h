/* The server: configuration, the listener, signals, workers, accounts,
 * lame duck mode and shutdown. Runs on the main thread's loop. */
#ifndef TERN_SERVER_H
#define TERN_SERVER_H

#include <stdbool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include <tern/version.h>

#include "account.h"
#include "cli.h"
#include "nkeys.h"
#include "opts.h"
#include "worker.h"


typedef struct tern_server {
    uv_loop_t     loop;            /* the main thread's: signals, listener,
                                      lame duck, reload */
    /* Worker threads read opts and the INFO texts; the main thread changes
     * them only while every worker is paused (tern_server_pause_workers). */
    tern_opts     opts;
    int           argc;            /* the command line, parsed again on */
    char        **argv;            /* every reload so flags keep winning */
    char          server_id[TERN_NKEY_PUBLIC_LEN + 1];
    uv_poll_t    *listen_poll;     /* accepts, hands sockets to workers */
    int           listen_fd;       /* -1 when not accepting */
    int           port;            /* the bound port */
    uv_signal_t   signals[6];
    uv_timer_t    ldm_timer;
    uv_timer_t    imports_timer;   /* sweeps expired service responses (imports.h) */
    uv_async_t    main_wake;       /* workers → main: the last client left */
    tern_worker  *workers;
    int           nworkers;
    int           next_worker;
    tern_epoch    epoch;
    tern_account *gacc;            /* "$G" (accounts.global) */
    tern_accounts accounts;        /* every account (account.h); built at
                                      start from opts.auth's accounts */
    struct tern_tls_ctx *tls;      /* client TLS (tls.h); NULL: plain */
    _Atomic uint64_t next_cid;
    _Atomic size_t nclients;
    bool          ldm;             /* lame duck mode */
    _Atomic bool  ldm_closing;     /* grace period over: closing clients */
    size_t        ldm_batch;       /* clients closed per lame-duck tick */
    pthread_mutex_t pause_mu;      /* the reload barrier */
    pthread_cond_t  pause_cv;
    int           paused;
    bool          pause_release;
    bool          shutting_down;
    bool          workers_started;
    int           exit_code;
    char         *info_prefix;     /* INFO up to (not including) client fields */
    size_t        info_prefix_len;
    char         *ldm_info;        /* async INFO with "ldm":true */
    size_t        ldm_info_len;
    struct tern_sysacc *sysacc;    /* system account events and requests (sysacc.h) */
} tern_server;

/* Set up everything and bind (opts is copied). Returns 0 or -1 (logged). */
int  tern_server_init(tern_server *s, const tern_opts *opts, int argc, char **argv);
/* Run until shutdown; returns the process exit code. */
int  tern_server_run(tern_server *s);
void tern_server_free(tern_server *s);

/* Called by a worker when one of its clients is gone (lame duck progress). */
void tern_server_client_gone(tern_server *s);

/* Stop every worker at a safe point and hold it there until resume: the
 * main thread may then change what workers read (reload). */
void tern_server_pause_workers(tern_server *s);
void tern_server_resume_workers(tern_server *s);

/* Reload the configuration (SIGHUP, $SYS.REQ.SERVER.<id>.RELOAD): main
 * thread. 0 once applied, or -1 with the reason in err and nothing
 * changed. Logged either way. */
int tern_server_reload(tern_server *s, char *err, size_t errlen);

/* Build the configuration from the files and the flags (cli), as at
 * start and on reload. out is initialised here. Returns 0 or -1 with err
 * filled. */
int tern_server_load_opts(tern_cli *cli, tern_opts *out, char *err, size_t errlen);

/* Whether INFO (and /varz) say auth_required: the kernel's users or an
 * authenticating module. */
bool tern_server_auth_required(const tern_opts *o);

#endif
