/* Client authentication for the global account, as nats-server 2.9.10's
 * auth.go does it for a single account: users with plain or bcrypt
 * passwords, nkey users (Ed25519 signature over the INFO nonce), a token,
 * and no_auth_user.
 *
 * A tern_auth is the configuration: immutable once built, reference
 * counted, so options copies and in-flight decisions share it across a
 * reload. The decision (tern_auth_check) runs on the connection's worker
 * and is cheap unless a bcrypt hash must be computed: then it returns
 * TERN_AUTH_SLOW and the caller runs tern_auth_slow_start, which computes
 * the hash on libuv's thread pool and completes on the owning loop by the
 * connection's cid (docs/auth.md). */
#ifndef TERN_AUTH_H
#define TERN_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define TERN_AUTH_NONCE_LEN 15 /* 11 random bytes in base64url, no padding */

typedef struct tern_auth_user {
    char *name;                /* the nkey for nkey users */
    char *password;            /* plain text or a bcrypt hash */
    int   account;             /* index in accounts (account.h); 0: "$G" */
    struct tern_perms *perms;  /* owned; NULL: everything allowed */
} tern_auth_user;

typedef struct tern_auth {
    int             refs;      /* atomic */
    tern_auth_user *users;
    size_t          nusers;
    char          **nkeys;     /* public user keys ("U…") */
    size_t          nnkeys;
    tern_auth_user *nkey_users; /* parallel to nkeys: account, permissions */
    /* The accounts the users belong to (account.h); NULL: only "$G" and
     * the default system account. Owned (one reference). */
    struct tern_accounts_conf *accounts;
    char           *token;     /* plain text or a bcrypt hash; NULL: none */
    char           *no_auth_user; /* names one of users; NULL: none */
} tern_auth;

tern_auth *tern_auth_new(void);
tern_auth *tern_auth_ref(tern_auth *a);
void tern_auth_unref(tern_auth *a);           /* NULL is fine */
/* Builders used by the configuration (the strings are copied). */
void tern_auth_add_user(tern_auth *a, const char *name, const char *password);
void tern_auth_add_nkey(tern_auth *a, const char *nkey);
/* The same for a user of account index `account`, with permissions (taken
 * over; NULL: none). */
void tern_auth_add_account_user(tern_auth *a, const char *name, const char *password, int account,
                                struct tern_perms *perms);
void tern_auth_add_account_nkey(tern_auth *a, const char *nkey, int account,
                                struct tern_perms *perms);
/* Whether a user or nkey of that name exists in any account. */
bool tern_auth_has_name(const tern_auth *a, const char *name);
/* The user or nkey user of that name, or NULL (a NULL: none). */
const tern_auth_user *tern_auth_find(const tern_auth *a, const char *name);
bool tern_auth_has_user(const tern_auth *a, const char *name);

/* Whether clients must authenticate (a CONNECT first, the auth timer). */
bool tern_auth_required(const tern_auth *a);
/* INFO's auth_required: false when no_auth_user lets anyone in. */
bool tern_auth_info_required(const tern_auth *a);
/* Whether INFO carries a nonce (nkey users exist). */
bool tern_auth_nonce_required(const tern_auth *a);

/* A fresh nonce: 15 characters + NUL. */
void tern_auth_new_nonce(char out[TERN_AUTH_NONCE_LEN + 1]);

/* What a client presented, merged over CONNECTs as nats-server decodes a
 * CONNECT over its current options (a field absent or null keeps its
 * value). */
typedef struct tern_auth_creds {
    char *user, *pass, *token, *nkey, *sig;
    char *jwt;                 /* operator mode: the user JWT (modules) */
} tern_auth_creds;

/* Merge the credential fields of a decoded CONNECT object (field names
 * case-insensitive, as Go's decoder). Non-string values are ignored here:
 * the CONNECT decoder rejects them. */
void tern_auth_creds_merge(tern_auth_creds *c, const json_t *connect);
void tern_auth_creds_free(tern_auth_creds *c);

typedef enum tern_auth_result {
    TERN_AUTH_OK,
    TERN_AUTH_DENIED,
    TERN_AUTH_SLOW,            /* compare secret against the bcrypt hash */
} tern_auth_result;

/* A bcrypt comparison still to do, filled when TERN_AUTH_SLOW. */
typedef struct tern_auth_slow {
    char *hash;
    char *secret;
} tern_auth_slow;

/* The decision for a CONNECT. nonce: the one sent in INFO (NULL when none
 * was). As nats-server, binding no_auth_user copies its name and password
 * into creds. */
tern_auth_result tern_auth_check(const tern_auth *a, tern_auth_creds *creds, const char *nonce,
                                 tern_auth_slow *slow);
/* The same, and the user it decided for (*user; NULL when the token or
 * no authentication let the client in: account "$G", no permissions).
 * *user stays valid as long as a. With TERN_AUTH_SLOW *user is the user
 * the bcrypt comparison is for. */
tern_auth_result tern_auth_decide(const tern_auth *a, tern_auth_creds *creds, const char *nonce,
                                  tern_auth_slow *slow, const tern_auth_user **user);

/* nats-server's test for a bcrypt hash: "$2a$", "$2b$", "$2x$" or "$2y$",
 * two digits, "$". */
bool tern_auth_is_bcrypt(const char *s);
/* Compare without timing leaks: plain texts through fixed-size digests,
 * bcrypt through crypt_r (slow: never on a worker loop). */
bool tern_auth_plain_equal(const char *a, const char *b);
bool tern_auth_bcrypt_matches(const char *hash, const char *secret);

/* Run slow (taken over, freed here) on loop's thread pool. The job keeps
 * only the cid: on completion, back on loop, the cid is looked up in the
 * registry of pending decisions and done(owner, ok) runs if the
 * connection is still registered; tern_auth_forget (the connection goes)
 * turns a completion into a no-op. Returns 0, or -1 (slow freed, done
 * never called). */
typedef void (*tern_auth_done_fn)(void *owner, bool ok);
int tern_auth_slow_start(uv_loop_t *loop, uint64_t cid, void *owner, tern_auth_slow *slow,
                         tern_auth_done_fn done);
void tern_auth_forget(uint64_t cid);
void tern_auth_slow_free(tern_auth_slow *slow);

#endif
