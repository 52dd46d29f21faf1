/* NATS JWTs (accounts-and-security.md §6): three base64url segments
 * without padding — header {"typ":"JWT","alg":"ed25519-nkey"}, the
 * claims JSON, and the Ed25519 signature of "<header>.<claims>" by the
 * issuer's nkey ("iss"). v1 tokens ("alg":"ed25519") were signed over
 * the claims segment only; they are still decoded.
 *
 * Claims stay JSON (jansson) with nats-io/jwt v2's field names: the
 * standard fields at the top level, the type's own under "nats". The
 * kernel (the jwt_decode ABI slot), modules through it and ternctl share
 * this one implementation, as they share nkeys.c. Also here: the .creds
 * file format (§7). */
#ifndef TERN_JWT_H
#define TERN_JWT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nkeys.h"

#define TERN_JWT_MAX_LEN (1024 * 1024)   /* as nats-io/jwt */
#define TERN_JWT_ALG     "ed25519-nkey"
#define TERN_JWT_ALG_V1  "ed25519"
/* A jti: base32 of a 32-byte hash. */
#define TERN_JWT_ID_LEN  52

typedef enum tern_jwt_type {
    TERN_JWT_GENERIC = 0,        /* any other type text */
    TERN_JWT_OPERATOR,
    TERN_JWT_ACCOUNT,
    TERN_JWT_USER,
    TERN_JWT_ACTIVATION,
    TERN_JWT_AUTHORIZATION,
} tern_jwt_type;

/* A decoded, signature-checked token. The strings point into claims
 * ("" when absent); free with tern_jwt_clear. */
typedef struct tern_jwt {
    json_t       *claims;        /* the whole claims object (owned) */
    json_t       *nats;          /* claims' "nats" object; v1: claims itself */
    int           version;       /* 1 or 2 */
    tern_jwt_type type;
    const char   *type_name;     /* "operator", "account", … as written */
    const char   *iss, *sub, *name, *aud, *jti;
    int64_t       iat, exp, nbf; /* unix seconds; 0: absent */
} tern_jwt;

tern_jwt_type tern_jwt_type_from_name(const char *name);
const char *tern_jwt_type_name(tern_jwt_type t);

/* Decode token (len bytes, need not be NUL-terminated), check its header
 * and the issuer's signature, and that the issuer has a kind allowed to
 * sign that claim type (operator, account: an operator key; user: an
 * account key; activation: an account or operator key). 0, or -1 with
 * the reason in err. Expiry is not checked: tern_jwt_check_time. */
int tern_jwt_decode(const char *token, size_t len, tern_jwt *out, char *err, size_t errlen);
void tern_jwt_clear(tern_jwt *j);

/* Whether the claims are valid at unix time now (exp, nbf): 0, or -1 with
 * "claim is expired" / "claim is not yet valid". */
int tern_jwt_check_time(const tern_jwt *j, int64_t now, char *err, size_t errlen);

/* Whether an issuer of key kind prefix may sign claims of type t. */
bool tern_jwt_issuer_allowed(tern_jwt_type t, uint8_t prefix);

/* nats-io/jwt's jti: base32 (no padding) of SHA-512/256 over the JSON of
 * the standard fields (aud exp iat iss name nbf sub, empty ones left
 * out) as Go's encoding/json writes them. 0 or -1. */
int tern_jwt_hash_id(const json_t *claims, char out[TERN_JWT_ID_LEN + 1]);

/* Sign claims (borrowed, not modified) with signer as a v2 token. The
 * claims must carry "sub" and "nats":{"type":…}; "iss" becomes the
 * signer's public key, "iat" is set to iat, "jti" computed and
 * "nats.version" set to 2. The signer's kind must fit the type
 * (tern_jwt_issuer_allowed). Returns the token (free), or NULL with err. */
char *tern_jwt_encode(const json_t *claims, const tern_nkey_pair *signer, int64_t iat, char *err,
                      size_t errlen);

/* A .creds file's text for a user JWT and its seed (free). */
char *tern_creds_format(const char *jwt, const char *seed);
/* The JWT and the seed of a .creds text (each free), located as the NATS
 * clients do: the first token between dash lines is the JWT, the second
 * the seed. 0, or -1 when either is missing. */
int tern_creds_parse(const char *text, size_t len, char **jwt, char **seed);

#endif
