/* nkeys against vectors made with the npm package nkeys.js 1.1.0
 * (tests/unit/data/nkeys-vectors.mjs): seeds and public keys of every
 * type, and Ed25519 signatures over a text, which our signing must
 * reproduce byte for byte (Ed25519 is deterministic). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "nkeys.h"

typedef struct vector {
    uint8_t type;
    const char *seed, *pub, *msg, *sig_hex;
} vector;

static const vector vectors[] = {
    {TERN_NKEY_PREFIX_USER, "SUAJ5DFIFHFL7KKS6NQBQRIZTF7I6WM6PWUBG3YNKSAPLUK24TREB7WUHY",
     "UBLEFVRS74IECMLNLVKR57BMDKF6KCF44PPF3LJKYAJQLLYBDCLNHW7I", "nonce-user",
     "a52d03935dd787fa0740bbb49813e432ff69d22b0b63d3d63fabd1511f03cfaa67ad782852ca0886cf0f287d95fe04d07d6ca4f3152f29e93f6272029efeb60f"},
    {TERN_NKEY_PREFIX_ACCOUNT, "SAANZD4ZJKV6JYIQV75NE4IAGFY37P7HB3AEVRTFGOWEVKGO6YMOSH3WNE",
     "AC5XT2F7ETSCDBG7W6H34IIMPMIL4FACYZFGYL775JJ5ZQW5TN24HXHN", "nonce-account",
     "7c8b3e684237f34b9d5d7c5ea7ee52fc9e197b7716ce2fefa7ed123690cf6f276e5e0fcd1fc01bc5e4671ddfe092cda7a759230295939f676f562a1c50f04a08"},
    {TERN_NKEY_PREFIX_OPERATOR, "SOAO3DOPLIEJ6IPPPXFBNBILDB235JYXKZNHYH5E36KMMXPWWTUTYJMCKU",
     "OC3RRUP6K2L4KDVLZL65JCIMTNAHDUFBKDKXI4D2NQIPFW2MM3RPJHSR", "nonce-operator",
     "1f2b29131c6c45ffbf3311f0053ac5dd40b52f550cff4ca4854ee11256fcdcb96588f9b197dc701ba65db7dfd1961f4e64dacbaee464fe375df879a4c6ea440a"},
    {TERN_NKEY_PREFIX_SERVER, "SNADQSAAXNTRG4QS5RFJOZ6QFNJVLEHEACDBEIBBEBYAA67N42DGBLM74Q",
     "NDY2PID4TX67JTWVMPJ3VJLNIGL7ZBSZFVOXQG3EYJEKLDWNJTDRDK2X", "nonce-server",
     "e5562648970bd2fcf3fb368b7a4a1970b7bfb228229d3e1d2c20b5c11527935c72a9badbf52a53819c3ac98ffc0f26bf51cbfb30aa57d29ede469aca71117007"},
    {TERN_NKEY_PREFIX_CLUSTER, "SCAN5VPPB76JYFKIOR6E52ZAJ4B4ACLPKZ53QAS2AU7F6P4NDW65GZSG2A",
     "CBXHWNMR7EKVRTEF2Q4Y3XWX37YT4BWMNHXDOJC6FMSVWUDNKO5ECONL", "nonce-cluster",
     "f50a41aeb4c5d444f8cba7ff24582cdc392253195a87f5a4494118da0ae37b6947b6fd208d10911d9f4b0ce4787375b169195a5eb77de051819ea31e18c9c605"},
};
#define NVEC (sizeof vectors / sizeof vectors[0])

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void test_seed_to_public_and_back(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++) {
        const vector *v = &vectors[i];
        tern_nkey_pair kp;
        assert_int_equal(tern_nkey_from_seed(v->seed, &kp), 0);
        assert_int_equal(kp.type, v->type);
        char pub[TERN_NKEY_PUBLIC_LEN + 1], seed[TERN_NKEY_SEED_LEN + 1];
        assert_int_equal(tern_nkey_pair_public(&kp, pub), 0);
        assert_string_equal(pub, v->pub);
        assert_int_equal(tern_nkey_pair_seed(&kp, seed), 0);
        assert_string_equal(seed, v->seed);
        tern_nkey_pair_wipe(&kp);

        uint8_t type, key[32];
        assert_int_equal(tern_nkey_decode_public(v->pub, &type, key), 0);
        assert_int_equal(type, v->type);
        assert_true(tern_nkey_is_valid_public(v->pub, v->type));
        assert_false(tern_nkey_is_valid_public(v->pub, v->type == TERN_NKEY_PREFIX_USER
                                                            ? TERN_NKEY_PREFIX_ACCOUNT
                                                            : TERN_NKEY_PREFIX_USER));
    }
}

static void test_signatures_match_nkeys_js(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++) {
        const vector *v = &vectors[i];
        uint8_t want[64], got[64];
        unhex(v->sig_hex, want, 64);
        tern_nkey_pair kp;
        assert_int_equal(tern_nkey_from_seed(v->seed, &kp), 0);
        tern_nkey_sign(&kp, v->msg, strlen(v->msg), got);
        assert_memory_equal(got, want, 64);
        tern_nkey_pair_wipe(&kp);
        assert_true(tern_nkey_verify(v->pub, v->msg, strlen(v->msg), want, 64));
        /* another message, another key, a truncated signature: refused */
        assert_false(tern_nkey_verify(v->pub, "other", 5, want, 64));
        assert_false(tern_nkey_verify(vectors[(i + 1) % NVEC].pub, v->msg, strlen(v->msg), want, 64));
        assert_false(tern_nkey_verify(v->pub, v->msg, strlen(v->msg), want, 63));
    }
}

static void test_rejects_damaged_keys(void **state)
{
    (void)state;
    uint8_t type, key[32], seed[32];
    char bad[80];
    /* one character changed: the CRC catches it */
    snprintf(bad, sizeof bad, "%s", vectors[0].pub);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    assert_int_equal(tern_nkey_decode_public(bad, &type, key), -1);
    /* wrong length, lower case, padding, a seed where a public key goes */
    snprintf(bad, sizeof bad, "%.55s", vectors[0].pub);
    assert_int_equal(tern_nkey_decode_public(bad, &type, key), -1);
    snprintf(bad, sizeof bad, "%s", vectors[0].pub);
    bad[0] = 'u';
    assert_int_equal(tern_nkey_decode_public(bad, &type, key), -1);
    snprintf(bad, sizeof bad, "%s=", vectors[0].pub);
    assert_int_equal(tern_nkey_decode_public(bad, &type, key), -1);
    assert_int_equal(tern_nkey_decode_public(vectors[0].seed, &type, key), -1);
    /* a public key is not a seed; a damaged seed fails */
    assert_int_equal(tern_nkey_decode_seed(vectors[0].pub, &type, seed), -1);
    snprintf(bad, sizeof bad, "%s", vectors[1].seed);
    bad[20] = bad[20] == 'Q' ? 'R' : 'Q';
    assert_int_equal(tern_nkey_decode_seed(bad, &type, seed), -1);
    tern_nkey_pair kp;
    assert_int_equal(tern_nkey_from_seed(bad, &kp), -1);
    assert_int_equal(tern_nkey_create(TERN_NKEY_PREFIX_SEED, &kp), -1);
}

static void test_fresh_keys_round_trip(void **state)
{
    (void)state;
    const uint8_t types[] = {TERN_NKEY_PREFIX_OPERATOR, TERN_NKEY_PREFIX_ACCOUNT,
                             TERN_NKEY_PREFIX_USER, TERN_NKEY_PREFIX_SERVER,
                             TERN_NKEY_PREFIX_CLUSTER, TERN_NKEY_PREFIX_CURVE};
    const char first[] = "OAUNCX";
    for (size_t i = 0; i < sizeof types; i++) {
        tern_nkey_pair kp, again;
        char pub[TERN_NKEY_PUBLIC_LEN + 1], seed[TERN_NKEY_SEED_LEN + 1], pub2[TERN_NKEY_PUBLIC_LEN + 1];
        assert_int_equal(tern_nkey_create(types[i], &kp), 0);
        assert_int_equal(tern_nkey_pair_public(&kp, pub), 0);
        assert_int_equal(tern_nkey_pair_seed(&kp, seed), 0);
        assert_int_equal(pub[0], first[i]);
        assert_int_equal(seed[0], 'S');
        assert_int_equal(seed[1], first[i]);
        assert_int_equal(tern_nkey_from_seed(seed, &again), 0);
        assert_int_equal(tern_nkey_pair_public(&again, pub2), 0);
        assert_string_equal(pub, pub2);
        uint8_t sig[64];
        tern_nkey_sign(&kp, "abc", 3, sig);
        assert_true(tern_nkey_verify(pub, "abc", 3, sig, 64));
        tern_nkey_pair_wipe(&kp);
        tern_nkey_pair_wipe(&again);
    }
    char id[TERN_NKEY_PUBLIC_LEN + 1];
    assert_int_equal(tern_nkey_new_server_id(id), 0);
    assert_true(tern_nkey_is_valid_public(id, TERN_NKEY_PREFIX_SERVER));
}

static void test_base32(void **state)
{
    (void)state;
    char out[32];
    uint8_t raw[16];
    assert_int_equal(tern_base32_encode((const uint8_t *)"foobar", 6, out, sizeof out), 10);
    assert_string_equal(out, "MZXW6YTBOI"); /* RFC 4648 without padding */
    assert_int_equal(tern_base32_decode("MZXW6YTBOI", 10, raw, sizeof raw), 6);
    assert_memory_equal(raw, "foobar", 6);
    assert_int_equal(tern_base32_decode("MZXW6YTBO1", 10, raw, sizeof raw), -1);
    assert_int_equal(tern_base32_decode("MZXW6YTBOI", 10, raw, 3), -1);
    assert_int_equal(tern_crc16((const uint8_t *)"123456789", 9), 0x31C3); /* XMODEM check value */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_to_public_and_back),
        cmocka_unit_test(test_signatures_match_nkeys_js),
        cmocka_unit_test(test_rejects_damaged_keys),
        cmocka_unit_test(test_fresh_keys_round_trip),
        cmocka_unit_test(test_base32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
