/* nkeys: NATS's Ed25519 key encoding — base32 (RFC 4648, no padding) of a
 * prefix byte, the key bytes and a CRC16 (XMODEM, little-endian).
 * accounts-and-security.md §4 has the format.
 *
 * Public keys of every type (operator O, account A, user U, server N,
 * cluster C, curve X) are 56 characters; seeds ("S" + type letter) are 58.
 * A key pair made from a seed signs; a public key verifies. This is the
 * one implementation the kernel, the JWT code and ternctl share. */
#ifndef TERN_NKEYS_H
#define TERN_NKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prefix bytes: the first base32 character of the encoding names the type. */
enum {
    TERN_NKEY_PREFIX_SEED     = 18 << 3, /* 'S' */
    TERN_NKEY_PREFIX_PRIVATE  = 15 << 3, /* 'P' */
    TERN_NKEY_PREFIX_OPERATOR = 14 << 3, /* 'O' */
    TERN_NKEY_PREFIX_SERVER   = 13 << 3, /* 'N' */
    TERN_NKEY_PREFIX_CLUSTER  = 2 << 3,  /* 'C' */
    TERN_NKEY_PREFIX_ACCOUNT  = 0,       /* 'A' */
    TERN_NKEY_PREFIX_USER     = 20 << 3, /* 'U' */
    TERN_NKEY_PREFIX_CURVE    = 23 << 3, /* 'X' */
};

/* A public key encodes to 56 characters, a seed to 58. */
#define TERN_NKEY_PUBLIC_LEN 56
#define TERN_NKEY_SEED_LEN   58
#define TERN_NKEY_SIG_LEN    64

/* A key pair: the type (a public prefix), the Ed25519 public key and the
 * libsodium secret key (seed ‖ public key). Wipe it when done. */
typedef struct tern_nkey_pair {
    uint8_t type;
    uint8_t pub[32];
    uint8_t secret[64];
} tern_nkey_pair;

uint16_t tern_crc16(const uint8_t *p, size_t n);

/* Base32 without padding; returns the encoded length, or 0 if out is too
 * small (needs ceil(n*8/5)+1 bytes including the NUL). */
size_t tern_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen);

/* Strict decoding of the upper-case alphabet without padding. Returns the
 * number of bytes written, or -1 on a bad character or a short out. */
long tern_base32_decode(const char *in, size_t n, uint8_t *out, size_t outlen);

/* Whether prefix is one of the public key types (O A U N C X). */
bool tern_nkey_is_public_prefix(uint8_t prefix);

/* Encode a 32-byte public key with its prefix: out gets 56 chars + NUL. */
int tern_nkey_encode_public(uint8_t prefix, const uint8_t key[32],
                            char out[TERN_NKEY_PUBLIC_LEN + 1]);

/* Decode a public key of any type: checks length, CRC and prefix. Returns
 * 0 with the type in *prefix (may be NULL) and the key, or -1. */
int tern_nkey_decode_public(const char *text, uint8_t *prefix, uint8_t key[32]);

/* Whether text is a valid public key of type prefix. */
bool tern_nkey_is_valid_public(const char *text, uint8_t prefix);

/* Encode / decode a seed of a public type. Decoding returns 0 or -1. */
int tern_nkey_encode_seed(uint8_t type, const uint8_t seed[32], char out[TERN_NKEY_SEED_LEN + 1]);
int tern_nkey_decode_seed(const char *text, uint8_t *type, uint8_t seed[32]);

/* A key pair from a seed's text / from 32 fresh random bytes. 0 or -1. */
int tern_nkey_from_seed(const char *seed_text, tern_nkey_pair *kp);
int tern_nkey_create(uint8_t type, tern_nkey_pair *kp);
int tern_nkey_pair_public(const tern_nkey_pair *kp, char out[TERN_NKEY_PUBLIC_LEN + 1]);
int tern_nkey_pair_seed(const tern_nkey_pair *kp, char out[TERN_NKEY_SEED_LEN + 1]);
void tern_nkey_pair_wipe(tern_nkey_pair *kp);

/* Ed25519 signature of msg (the NATS nonce is signed as its ASCII text). */
void tern_nkey_sign(const tern_nkey_pair *kp, const void *msg, size_t n,
                    uint8_t sig[TERN_NKEY_SIG_LEN]);

/* Verify sig over msg with the public key text (any type). true if valid. */
bool tern_nkey_verify(const char *public_text, const void *msg, size_t n,
                      const uint8_t *sig, size_t sig_len);

/* A fresh random server identity (public key only): "N…". */
int tern_nkey_new_server_id(char out[TERN_NKEY_PUBLIC_LEN + 1]);

#endif
