/* Credentials files (JWT + nkey seed) and the nonce signature a
 * solicited leaf sends in its CONNECT. The seed is decoded here (base32,
 * prefix bytes, CRC-16) because the host API only verifies signatures;
 * the signing itself is libsodium's Ed25519. */
#include "ln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static int b32_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    unsigned buf = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        int v;
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= '2' && ch <= '7')
            v = ch - '2' + 26;
        else
            return -1;
        buf = (buf << 5) | (unsigned)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (unsigned char)(buf >> bits);
            buf &= (1u << bits) - 1;
        }
    }
    return (int)o;
}

/* nkeys' CRC-16 (XMODEM polynomial). */
static uint16_t crc16(const unsigned char *d, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(d[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* The text of the n-th "----- … -----" delimited block (0-based). */
static char *block(const char *text, int n)
{
    const char *p = text;
    for (int i = 0; p && *p; i++) {
        const char *open = strstr(p, "---");
        if (!open)
            return NULL;
        const char *eol = strchr(open, '\n');
        if (!eol)
            return NULL;
        const char *body = eol + 1;
        while (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n')
            body++;
        const char *end = strstr(body, "---");
        if (!end)
            return NULL;
        size_t len = (size_t)(end - body);
        while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
            len--;
        const char *after = strchr(end, '\n');
        if (i == n) {
            char *r = strndup(body, len);
            return r;
        }
        p = after ? after + 1 : NULL;
    }
    return NULL;
}

int ln_creds_read(const char *path, char **jwt, unsigned char sk[64], char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "credentials %s: cannot open", path);
        return -1;
    }
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *j = block(text, 0), *seed = block(text, 1);
    int rc = -1;
    unsigned char raw[40];
    int rn = seed ? b32_decode(seed, strlen(seed), raw, sizeof raw) : -1;
    if (!j || !seed) {
        snprintf(err, errlen, "credentials %s: expected a JWT and a seed block", path);
    } else if (seed[0] != 'S' || rn != 36 ||
               crc16(raw, 34) != (uint16_t)(raw[34] | (raw[35] << 8))) {
        snprintf(err, errlen, "credentials %s: the seed is not a valid nkey seed", path);
    } else {
        unsigned char pk[32];
        crypto_sign_seed_keypair(pk, sk, raw + 2);
        *jwt = j;
        j = NULL;
        rc = 0;
    }
    sodium_memzero(raw, sizeof raw);
    if (seed)
        sodium_memzero(seed, strlen(seed));
    free(seed);
    free(j);
    return rc;
}

char *ln_sign_nonce(const unsigned char sk[64], const char *nonce)
{
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)nonce, strlen(nonce), sk);
    size_t n = sodium_base64_ENCODED_LEN(sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(n);
    if (out)
        sodium_bin2base64(out, n, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}
