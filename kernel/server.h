/* The server: configuration, the listener, signals, workers, accounts,
 * lame duck mode and shutdown. Runs on the main thread's loop. */
#ifndef TERN_SERVER_H
#define TERN_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include <tern/version.h>

#include "account.h"
#include "cli.h"
#include "nkeys.h"
#include "opts.h"
#include "worker.h"


typedef struct tern_server {
    uv_loop_t     loop;
    tern_opts     opts;
    int           argc;            /* the command line, parsed again on */
    char        **argv;            /* every reload so flags keep winning */
    char          server_id[TERN_NKEY_PUBLIC_LEN + 1];
    uv_tcp_t     *listener;        /* NULL when not accepting */
    int           port;            /* the bound port */
    uv_signal_t   signals[6];
    uv_timer_t    ldm_timer;
    tern_worker  *workers;
    int           nworkers;
    int           next_worker;
    tern_account *gacc;            /* "$G" */
    uint64_t      next_cid;
    size_t        nclients;
    bool          ldm;             /* lame duck mode */
    bool          ldm_closing;     /* grace period over: closing clients */
    size_t        ldm_batch;       /* clients closed per lame-duck tick */
    bool          shutting_down;
    int           exit_code;
    char         *info_prefix;     /* INFO up to (not including) client fields */
    size_t        info_prefix_len;
    char         *ldm_info;        /* async INFO with "ldm":true */
    size_t        ldm_info_len;
} tern_server;

/* Set up everything and bind (opts is copied). Returns 0 or -1 (logged). */
int  tern_server_init(tern_server *s, const tern_opts *opts, int argc, char **argv);
/* Run until shutdown; returns the process exit code. */
int  tern_server_run(tern_server *s);
void tern_server_free(tern_server *s);

/* Called by a client when it is gone (counts, lame duck progress). */
void tern_server_client_gone(tern_server *s);

/* Build the configuration from the files and the flags (cli), as at
 * start and on reload. out is initialised here. Returns 0 or -1 with err
 * filled. */
int tern_server_load_opts(tern_cli *cli, tern_opts *out, char *err, size_t errlen);

#endif
