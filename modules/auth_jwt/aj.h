/* The auth_jwt module: NATS operator mode (decentralized JWT security).
 *
 * Threads:
 *  - workers run the AUTH / CLIENT hooks and the $SYS CLAIMS message
 *    callbacks; they never block: what needs I/O goes to the resolver
 *    thread, what needs the main thread (api->account_apply) goes to the
 *    main queue;
 *  - the resolver thread (aj_resolver.c) waits on aj.cond for the
 *    full/cache resolvers' file writes and CLAIMS.PACK work;
 *  - the main thread drains the main queue from a short repeating timer
 *    (work posted by the other threads): it applies accounts and
 *    completes the authentications that waited for them. It also runs
 *    the url resolver's HTTP fetches (aj_url.c): libcurl's multi socket
 *    interface driven by fd watches and a timer on the main loop, whose
 *    finished fetches drain the queue at once.
 * Everything shared sits under aj.mu. */
#ifndef AJ_H
#define AJ_H

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <tern/module.h>

#define AJ_KEY 64                /* a public nkey (56) and its NUL */

enum aj_resolver_type { AJ_RES_MEMORY, AJ_RES_URL, AJ_RES_FULL, AJ_RES_CACHE };

typedef struct aj_conf {
    char  **trusted;             /* keys that may sign accounts */
    size_t  ntrusted;
    char  **operators;           /* operator identity keys (CLAIMS.DELETE) */
    size_t  nops;
    char   *system_account;      /* public key, NULL: none */
    int     rtype;
    char   *url;                 /* url resolver, ends with '/' */
    char   *dir;                 /* full/cache resolver */
    bool    allow_delete, hard_delete;
    int64_t timeout_ms;          /* account fetch timeout */
    int64_t interval_ms;         /* full: CLAIMS.PACK period */
    json_t *preload;             /* { pubkey: jwt } */
} aj_conf;

/* One account JWT the module knows. */
typedef struct aj_acc {
    struct aj_acc *next;
    char    pub[AJ_KEY];
    char   *jwt;
    json_t *claims;              /* immutable once stored: replaced whole */
    bool    applied;             /* account_apply done for this version */
    bool    deleted;             /* removed by CLAIMS.DELETE: refuse users */
} aj_acc;

/* An authentication waiting for its account. */
typedef struct aj_pend {
    struct aj_pend *next;
    tern_async token;
    char       account[AJ_KEY];
    json_t    *user;             /* the user claims */
    char       ip[64];           /* the client's address ("": unknown) */
    bool       sig_ok;           /* the nonce signature verified */
    int64_t    deadline_ms;      /* wall clock */
} aj_pend;

/* A connected client authenticated by the module. */
typedef struct aj_cli {
    struct aj_cli *next;
    uint64_t cid;
    char     user[AJ_KEY], account[AJ_KEY];
    int64_t  iat, exp;
} aj_cli;

/* Work for the main thread. FETCH: a url resolver lookup of pub. */
enum aj_mq_kind { AJ_MQ_APPLY, AJ_MQ_FAIL, AJ_MQ_COMPLETE, AJ_MQ_FETCH };
typedef struct aj_mq {
    struct aj_mq *next;
    int     kind;
    char    pub[AJ_KEY];
    char   *reply;               /* APPLY after an update: answer here */
    char   *message;             /* the answer's text */
    aj_pend *pend;               /* COMPLETE: an authentication to finish */
} aj_mq;

/* Work for the resolver thread. */
enum aj_job_kind { AJ_JOB_SAVE, AJ_JOB_DELETE, AJ_JOB_PACK_ASK,
                   AJ_JOB_PACK_ANSWER, AJ_JOB_PACK_MERGE };
typedef struct aj_job {
    struct aj_job *next;
    int     kind;
    char    pub[AJ_KEY];
    char   *jwt;                 /* SAVE; PACK_ANSWER: their hash; PACK_MERGE: the pack */
    size_t  len;                 /* PACK_ANSWER: the hash's bytes */
    char   *reply;               /* SAVE/DELETE: where to answer */
    json_t *accounts;            /* DELETE: the account keys */
} aj_job;

typedef struct aj {
    const tern_host_api *api;
    tern_module         *m;
    pthread_mutex_t      mu;
    pthread_cond_t       cond;       /* the resolver thread's wake-up (jobs, stop) */
    aj_conf              conf;
    aj_acc              *accs;
    aj_pend             *pend;
    aj_cli              *clis;
    aj_mq               *mq, *mq_tail;
    aj_job              *jobs;
    bool                 stop;
    pthread_t            thread;
    bool                 thread_started;
    void                *multi;      /* CURLM (main thread) */
    void                *inflight;   /* url fetches (main thread) */
    uint64_t             curl_timer; /* curl's timeout, 0: none (main thread) */
    bool                 curl_closing;
    char                 sys_bind[AJ_KEY];  /* the kernel account of the system account */
    char                 inbox[96];  /* LOOKUP replies: <inbox>.<pubkey> */
    char                 server_id[128];
    char                 pack_inbox[100];  /* CLAIMS.PACK answers to us */
    uint64_t             pack_timer;
    bool                 pack_on;    /* PACK subscriptions and hook in place */
} aj;

/* aj_conf.c */
extern const char *const aj_conf_keys[];
tern_rc aj_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                     aj_conf *out);
void aj_conf_free(aj_conf *c);
bool aj_trusted(const aj_conf *c, const char *key);
/* Decode and check an account JWT for pub (NULL: any): claims or NULL
 * with why. */
json_t *aj_account_decode(aj *a, const aj_conf *c, const char *jwt, const char *pub, char *why,
                          size_t whylen);

/* aj_verify.c */
int64_t aj_now_s(void);
int64_t aj_now_ms(void);
/* Checks that need only the user JWT and the connection. *sig_ok: the
 * nonce signature verified; a signing key's user may come without it
 * (a scope template's bearer_token waives it: known with the account). */
bool aj_user_precheck(aj *a, json_t *user, const tern_evt_auth *ev, bool *sig_ok, char *why,
                      size_t whylen);
/* Checks against the account; on success *perms (JSON or NULL, malloc)
 * and *until (when the user's connect time window ends, Unix seconds;
 * 0: no window). ip: the client's address (a scope template's src). */
bool aj_user_finish(aj *a, json_t *user, json_t *acc, bool deleted, const char *ip, bool sig_ok,
                    char **perms, int64_t *until, char *why, size_t whylen);
/* Whether the account's revocations cover a user JWT issued at iat. */
bool aj_revoked(json_t *acc, const char *user, int64_t iat);
bool aj_subject_matches(const char *pattern, const char *subject);
size_t aj_b64_decode(const char *in, unsigned char *out, size_t cap);

/* aj_template.c: a user_scope template with its functions ({{name()}},
 * {{tag(x)}}, ...) expanded for user of acc: a new object, or NULL with
 * why when the user must be refused. */
json_t *aj_template_apply(json_t *tmpl, json_t *user, json_t *acc, char *why, size_t whylen);

/* aj_tz.c: the UTC offset (seconds east) of IANA zone name ("", "UTC",
 * "Local" or a zoneinfo name) at unix time t; false: unknown zone. */
bool aj_tz_offset(const char *name, int64_t t, int32_t *off, char *why, size_t whylen);

/* aj_account.c (main thread) */
aj_acc *aj_find(aj *a, const char *pub);      /* under mu */
/* Store (or replace) an account JWT; under mu. */
void aj_store(aj *a, const char *pub, const char *jwt, json_t *claims);
void aj_apply(aj *a, const char *pub);
/* Close tracked clients of account pub that are revoked or whose account
 * is gone. */
void aj_sweep(aj *a, const char *pub);

/* aj_resolver.c: the resolver thread (file writes, CLAIMS.PACK) */
int aj_resolver_start(aj *a);
void aj_resolver_stop(aj *a);
void aj_job_push(aj *a, aj_job *j);           /* any thread */
/* Write dir/name through a temporary file and a rename. */
int aj_write_file(const char *dir, const char *name, const char *data);
/* opendir through open(O_DIRECTORY) + fdopendir: the same, but the
 * descriptor is created by open, which ThreadSanitizer models (a number
 * a worker's socket had before is reused here). */
DIR *aj_opendir(const char *dir);
int aj_dir_load(aj *a);                       /* init: the dir's JWTs into the store */

/* aj_url.c: the url resolver on the main loop (main thread) */
int aj_url_start(aj *a);
void aj_url_stop(aj *a);
/* GET <url><pub>; its outcome (APPLY or FAIL) is drained at once. */
void aj_url_fetch(aj *a, const char *pub);

/* aj_main.c */
void aj_mq_push(aj *a, aj_mq *q);             /* any thread */
void aj_mq_drain(aj *a);                      /* main thread: run the queue now */
/* Answer a CLAIMS request as nats-server does. acc NULL: none. */
void aj_respond(aj *a, const char *reply, const char *acc, const char *message,
                const char *error);
void aj_lookup_request(aj *a, const char *pub);

/* aj_claims.c */
tern_rc aj_claims_subscribe(aj *a);

/* aj_pack.c: CLAIMS.PACK between full resolvers */
/* Main thread (init, reload): subscriptions, interest hook and timer
 * as the resolver type and interval say. */
tern_rc aj_pack_configure(aj *a);
/* Resolver thread: the PACK_* jobs. */
void aj_pack_run(aj *a, aj_job *j);

/* aj_natsmap.c */
extern const char *const aj_nats_keys[];
tern_rc aj_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                    const tern_config *value, char **json);

#endif
