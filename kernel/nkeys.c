#include "nkeys.h"

#include <sodium.h>
#include <string.h>

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

int tern_nkey_encode_public(uint8_t prefix, const uint8_t key[32],
                            char out[TERN_NKEY_PUBLIC_LEN + 1])
{
    uint8_t raw[35];
    raw[0] = prefix;
    memcpy(raw + 1, key, 32);
    uint16_t crc = tern_crc16(raw, 33);
    raw[33] = (uint8_t)(crc & 0xff);
    raw[34] = (uint8_t)(crc >> 8);
    return tern_base32_encode(raw, sizeof raw, out, TERN_NKEY_PUBLIC_LEN + 1) ==
                   TERN_NKEY_PUBLIC_LEN
               ? 0
               : -1;
}

int tern_nkey_new_server_id(char out[TERN_NKEY_PUBLIC_LEN + 1])
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    if (sodium_init() < 0 || crypto_sign_keypair(pk, sk) != 0)
        return -1;
    sodium_memzero(sk, sizeof sk);
    return tern_nkey_encode_public(TERN_NKEY_PREFIX_SERVER, pk, out);
}
