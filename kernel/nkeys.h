/* nkeys: NATS's Ed25519 key encoding — base32 (RFC 4648, no padding) of a
 * prefix byte, the key bytes and a CRC16 (XMODEM, little-endian).
 * accounts-and-security.md has the format. */
#ifndef TERN_NKEYS_H
#define TERN_NKEYS_H

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
};

/* A public key encodes to 56 characters. */
#define TERN_NKEY_PUBLIC_LEN 56

uint16_t tern_crc16(const uint8_t *p, size_t n);

/* Base32 without padding; returns the encoded length, or 0 if out is too
 * small (needs ceil(n*8/5)+1 bytes including the NUL). */
size_t tern_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen);

/* Encode a 32-byte public key with its prefix: out gets 56 chars + NUL. */
int tern_nkey_encode_public(uint8_t prefix, const uint8_t key[32],
                            char out[TERN_NKEY_PUBLIC_LEN + 1]);

/* A fresh random server identity (public key only): "N…". */
int tern_nkey_new_server_id(char out[TERN_NKEY_PUBLIC_LEN + 1]);

#endif
