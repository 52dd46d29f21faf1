/* ternctl's keystore: a directory like nsc's. Seeds live in
 * keys/<public key>.nk (mode 0600); JWTs in
 *   operators/<op>/<op>.jwt
 *   operators/<op>/accounts/<acc>/<acc>.jwt
 *   operators/<op>/accounts/<acc>/users/<user>.jwt
 * The directory is $TERNCTL_HOME, or --keystore, or ~/.ternctl. */
#ifndef TERNCTL_KEYSTORE_H
#define TERNCTL_KEYSTORE_H

#include <jansson.h>
#include <stdbool.h>

#include "jwt.h"
#include "nkeys.h"

typedef struct keystore {
    char root[1024];
} keystore;

int ks_open(keystore *ks, const char *dir);

/* Make a key of that type and keep its seed; pub gets its public key. */
int ks_new_key(const keystore *ks, uint8_t type, char pub[TERN_NKEY_PUBLIC_LEN + 1]);
/* The key pair of a public key kept in the store: 0 or -1. */
int ks_key(const keystore *ks, const char *pub, tern_nkey_pair *kp);
/* The seed text of a public key (free), or NULL. */
char *ks_seed(const keystore *ks, const char *pub);

/* Paths of the entities (static buffers: copy before the next call). */
const char *ks_operator_path(const keystore *ks, const char *op);
const char *ks_account_path(const keystore *ks, const char *op, const char *acc);
const char *ks_user_path(const keystore *ks, const char *op, const char *acc, const char *user);
/* The folder of the accounts of op / the users of acc. */
const char *ks_accounts_dir(const keystore *ks, const char *op);
const char *ks_users_dir(const keystore *ks, const char *op, const char *acc);

/* The only operator in the store, or NULL with a message printed. */
const char *ks_the_operator(const keystore *ks);

/* Every account of op whose JWT reads: fn(name, token, decoded JWT). */
void ks_each_account(const keystore *ks, const char *op,
                     void (*fn)(const char *name, const char *token, const tern_jwt *j, void *ud),
                     void *ud);
/* The account of op named, or whose public key is, name_or_key: its name
 * in out (256 bytes). 0, or -1 when the keystore does not hold it. */
int ks_account_name(const keystore *ks, const char *op, const char *name_or_key, char *out);

/* Read and decode (and verify) a JWT file: 0 or -1 (message printed). */
int ks_read_jwt(const char *path, char **token, tern_jwt *j);
/* Sign claims with the key pub and write the token to path (folders
 * made as needed); *token (may be NULL) gets it. 0 or -1. */
int ks_sign_write(const keystore *ks, const json_t *claims, const char *signer_pub,
                  const char *path, char **token);

/* Read a whole file (free), or NULL. */
char *ks_read_file(const char *path, size_t *len);
int ks_write_file(const char *path, const char *text, int mode);

#endif
