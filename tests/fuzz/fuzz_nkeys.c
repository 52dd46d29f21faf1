/* libFuzzer target for the nkeys decoding and verification paths
 * (kernel/nkeys.h). The input is tried as a public key, as a seed, as
 * base32 text, as raw bytes to encode, and as message + signature to
 * verify. Invariants (a violation aborts):
 *   - base32: decode(encode(bytes)) gives the bytes back;
 *   - a public key that decodes re-encodes to the same text (56 characters
 *     carry no spare bits) and is valid for its type only;
 *   - a seed that decodes re-encodes to a seed decoding to the same type
 *     and key, makes a key pair, and that pair's signatures verify;
 *   - a signature made over the input verifies, one altered bit does not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nkeys.h"

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

static const uint8_t public_types[] = {
    TERN_NKEY_PREFIX_OPERATOR, TERN_NKEY_PREFIX_SERVER, TERN_NKEY_PREFIX_CLUSTER,
    TERN_NKEY_PREFIX_ACCOUNT,  TERN_NKEY_PREFIX_USER,   TERN_NKEY_PREFIX_CURVE,
};

static void check_base32(const uint8_t *data, size_t size)
{
    /* Text → bytes, into an exactly sized buffer and one byte short. */
    size_t cap = size * 5 / 8;
    uint8_t *out = malloc(cap + 1);
    CHECK(out);
    long n = tern_base32_decode((const char *)data, size, out, cap);
    CHECK(n < 0 || (size_t)n <= cap);
    if (cap)
        (void)tern_base32_decode((const char *)data, size, out, cap - 1);
    free(out);

    /* Bytes → text → bytes. */
    size_t tlen = (size * 8 + 4) / 5 + 1;
    char *text = malloc(tlen);
    uint8_t *back = malloc(size + 1);
    CHECK(text && back);
    size_t enc = tern_base32_encode(data, size, text, tlen);
    CHECK(enc == tlen - 1 && text[enc] == '\0');
    CHECK(tern_base32_decode(text, enc, back, size) == (long)size);
    CHECK(size == 0 || memcmp(back, data, size) == 0);
    CHECK(tern_base32_encode(data, size, text, tlen - 1) == 0);
    free(text);
    free(back);
}

static void check_public(const char *text)
{
    uint8_t prefix, key[32];
    if (tern_nkey_decode_public(text, &prefix, key) < 0) {
        for (size_t k = 0; k < sizeof public_types; k++)
            CHECK(!tern_nkey_is_valid_public(text, public_types[k]));
        return;
    }
    CHECK(tern_nkey_is_public_prefix(prefix));
    char again[TERN_NKEY_PUBLIC_LEN + 1];
    CHECK(tern_nkey_encode_public(prefix, key, again) == 0);
    CHECK(strcmp(again, text) == 0);
    for (size_t k = 0; k < sizeof public_types; k++)
        CHECK(tern_nkey_is_valid_public(text, public_types[k]) == (public_types[k] == prefix));
}

static void check_seed(const char *text)
{
    uint8_t type, seed[32];
    tern_nkey_pair kp;
    if (tern_nkey_decode_seed(text, &type, seed) < 0) {
        CHECK(tern_nkey_from_seed(text, &kp) < 0);
        return;
    }
    CHECK(tern_nkey_is_public_prefix(type));
    char again[TERN_NKEY_SEED_LEN + 1];
    CHECK(tern_nkey_encode_seed(type, seed, again) == 0);
    uint8_t type2, seed2[32];
    CHECK(tern_nkey_decode_seed(again, &type2, seed2) == 0);
    CHECK(type2 == type && memcmp(seed, seed2, 32) == 0);

    CHECK(tern_nkey_from_seed(text, &kp) == 0);
    CHECK(kp.type == type);
    char pub[TERN_NKEY_PUBLIC_LEN + 1];
    CHECK(tern_nkey_pair_public(&kp, pub) == 0);
    CHECK(tern_nkey_is_valid_public(pub, type));
    uint8_t sig[TERN_NKEY_SIG_LEN];
    tern_nkey_sign(&kp, text, strlen(text), sig);
    CHECK(tern_nkey_verify(pub, text, strlen(text), sig, sizeof sig));
    tern_nkey_pair_wipe(&kp);
}

/* A fixed user key signs the input; the input also serves as a
 * signature (its first 64 bytes) over the rest. */
static void check_verify(const char *text, const uint8_t *data, size_t size)
{
    static const uint8_t fixed_seed[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    char seed_text[TERN_NKEY_SEED_LEN + 1], pub[TERN_NKEY_PUBLIC_LEN + 1];
    tern_nkey_pair kp;
    CHECK(tern_nkey_encode_seed(TERN_NKEY_PREFIX_USER, fixed_seed, seed_text) == 0);
    CHECK(tern_nkey_from_seed(seed_text, &kp) == 0);
    CHECK(tern_nkey_pair_public(&kp, pub) == 0);

    uint8_t sig[TERN_NKEY_SIG_LEN];
    tern_nkey_sign(&kp, data, size, sig);
    CHECK(tern_nkey_verify(pub, data, size, sig, sizeof sig));
    CHECK(!tern_nkey_verify(pub, data, size, sig, sizeof sig - 1));
    sig[size % sizeof sig] ^= (uint8_t)(1u << (size % 8));
    CHECK(!tern_nkey_verify(pub, data, size, sig, sizeof sig));

    size_t slen = size < TERN_NKEY_SIG_LEN ? size : TERN_NKEY_SIG_LEN;
    (void)tern_nkey_verify(pub, data + slen, size - slen, data, slen);
    (void)tern_nkey_verify(text, data + slen, size - slen, data, slen);
    tern_nkey_pair_wipe(&kp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    CHECK(text);
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';

    check_base32(data, size);
    check_public(text);
    check_seed(text);
    check_verify(text, data, size);
    free(text);
    return 0;
}
