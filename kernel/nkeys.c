/* nkeys encoding, decoding, signing and verification (nkeys.h). */
#include "nkeys.h"

#include <sodium.h>
#include <string.h>

#define PUBLIC_RAW_LEN 35 /* prefix + key + crc */
#define SEED_RAW_LEN   36 /* two prefix bytes + seed + crc */

uint16_t tern_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)p[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

size_t tern_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t need = (n * 8 + 4) / 5;
    if (outlen < need + 1)
        return 0;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = alphabet[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}

long tern_base32_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        uint32_t v;
        if (ch >= 'A' && ch <= 'Z')
            v = (uint32_t)(ch - 'A');
        else if (ch >= '2' && ch <= '7')
            v = (uint32_t)(ch - '2' + 26);
        else
            return -1;
        acc = (acc << 5) | v;
        bits += 5;
        if (bits >= 8) {
            if (o >= outlen)
                return -1;
            out[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return (long)o;
}

bool tern_nkey_is_public_prefix(uint8_t prefix)
{
    switch (prefix) {
    case TERN_NKEY_PREFIX_OPERATOR:
    case TERN_NKEY_PREFIX_SERVER:
    case TERN_NKEY_PREFIX_CLUSTER:
    case TERN_NKEY_PREFIX_ACCOUNT:
    case TERN_NKEY_PREFIX_USER:
    case TERN_NKEY_PREFIX_CURVE:
        return true;
    default:
        return false;
    }
}

/* Append the CRC of raw[0..n) little-endian at raw[n]. */
static void put_crc(uint8_t *raw, size_t n)
{
    uint16_t crc = tern_crc16(raw, n);
    raw[n] = (uint8_t)(crc & 0xff);
    raw[n + 1] = (uint8_t)(crc >> 8);
}

/* Decode text into exactly want raw bytes with a valid trailing CRC. */
static int decode_checked(const char *text, uint8_t *raw, size_t want)
{
    size_t n = strlen(text);
    if (n != (want * 8 + 4) / 5 || tern_base32_decode(text, n, raw, want) != (long)want)
        return -1;
    uint16_t crc = (uint16_t)(raw[want - 2] | (raw[want - 1] << 8));
    return tern_crc16(raw, want - 2) == crc ? 0 : -1;
}

int tern_nkey_encode_public(uint8_t prefix, const uint8_t key[32],
                            char out[TERN_NKEY_PUBLIC_LEN + 1])
{
    uint8_t raw[PUBLIC_RAW_LEN];
    raw[0] = prefix;
    memcpy(raw + 1, key, 32);
    put_crc(raw, 33);
    return tern_base32_encode(raw, sizeof raw, out, TERN_NKEY_PUBLIC_LEN + 1) ==
                   TERN_NKEY_PUBLIC_LEN
               ? 0
               : -1;
}

int tern_nkey_decode_public(const char *text, uint8_t *prefix, uint8_t key[32])
{
    uint8_t raw[PUBLIC_RAW_LEN];
    if (decode_checked(text, raw, sizeof raw) < 0 || !tern_nkey_is_public_prefix(raw[0]))
        return -1;
    if (prefix)
        *prefix = raw[0];
    memcpy(key, raw + 1, 32);
    return 0;
}

bool tern_nkey_is_valid_public(const char *text, uint8_t prefix)
{
    uint8_t p, key[32];
    return tern_nkey_decode_public(text, &p, key) == 0 && p == prefix;
}

/* Seeds carry the seed prefix and the key type across two bytes. */
int tern_nkey_encode_seed(uint8_t type, const uint8_t seed[32], char out[TERN_NKEY_SEED_LEN + 1])
{
    if (!tern_nkey_is_public_prefix(type))
        return -1;
    uint8_t raw[SEED_RAW_LEN];
    raw[0] = (uint8_t)(TERN_NKEY_PREFIX_SEED | (type >> 5));
    raw[1] = (uint8_t)((type & 31) << 3);
    memcpy(raw + 2, seed, 32);
    put_crc(raw, 34);
    size_t n = tern_base32_encode(raw, sizeof raw, out, TERN_NKEY_SEED_LEN + 1);
    sodium_memzero(raw, sizeof raw);
    return n == TERN_NKEY_SEED_LEN ? 0 : -1;
}

int tern_nkey_decode_seed(const char *text, uint8_t *type, uint8_t seed[32])
{
    uint8_t raw[SEED_RAW_LEN];
    int rc = -1;
    if (decode_checked(text, raw, sizeof raw) == 0 && (raw[0] & 0xf8) == TERN_NKEY_PREFIX_SEED) {
        uint8_t t = (uint8_t)(((raw[0] & 7) << 5) | ((raw[1] & 0xf8) >> 3));
        if (tern_nkey_is_public_prefix(t)) {
            *type = t;
            memcpy(seed, raw + 2, 32);
            rc = 0;
        }
    }
    sodium_memzero(raw, sizeof raw);
    return rc;
}

static int pair_from_raw_seed(uint8_t type, const uint8_t seed[32], tern_nkey_pair *kp)
{
    if (sodium_init() < 0 || !tern_nkey_is_public_prefix(type))
        return -1;
    kp->type = type;
    return crypto_sign_seed_keypair(kp->pub, kp->secret, seed) == 0 ? 0 : -1;
}

int tern_nkey_from_seed(const char *seed_text, tern_nkey_pair *kp)
{
    uint8_t type, seed[32];
    int rc = tern_nkey_decode_seed(seed_text, &type, seed) == 0 ? pair_from_raw_seed(type, seed, kp)
                                                                : -1;
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int tern_nkey_create(uint8_t type, tern_nkey_pair *kp)
{
    uint8_t seed[32];
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(seed, sizeof seed);
    int rc = pair_from_raw_seed(type, seed, kp);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int tern_nkey_pair_public(const tern_nkey_pair *kp, char out[TERN_NKEY_PUBLIC_LEN + 1])
{
    return tern_nkey_encode_public(kp->type, kp->pub, out);
}

int tern_nkey_pair_seed(const tern_nkey_pair *kp, char out[TERN_NKEY_SEED_LEN + 1])
{
    /* libsodium's secret key starts with the 32-byte seed */
    return tern_nkey_encode_seed(kp->type, kp->secret, out);
}

void tern_nkey_pair_wipe(tern_nkey_pair *kp)
{
    sodium_memzero(kp, sizeof *kp);
}

void tern_nkey_sign(const tern_nkey_pair *kp, const void *msg, size_t n,
                    uint8_t sig[TERN_NKEY_SIG_LEN])
{
    crypto_sign_detached(sig, NULL, msg, n, kp->secret);
}

bool tern_nkey_verify(const char *public_text, const void *msg, size_t n, const uint8_t *sig,
                      size_t sig_len)
{
    uint8_t key[32];
    if (sig_len != TERN_NKEY_SIG_LEN || sodium_init() < 0 ||
        tern_nkey_decode_public(public_text, NULL, key) < 0)
        return false;
    return crypto_sign_verify_detached(sig, msg, n, key) == 0;
}

int tern_nkey_new_server_id(char out[TERN_NKEY_PUBLIC_LEN + 1])
{
    tern_nkey_pair kp;
    if (tern_nkey_create(TERN_NKEY_PREFIX_SERVER, &kp) != 0)
        return -1;
    int rc = tern_nkey_pair_public(&kp, out);
    tern_nkey_pair_wipe(&kp);
    return rc;
}
