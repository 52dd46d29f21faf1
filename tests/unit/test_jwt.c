/* JWTs (kernel/jwt.c) against independent implementations:
 *  - tokens made by the npm packages nats-jwt 0.0.9 / nkeys.js 1.1.0
 *    (data/jwt_vectors.json, made by tests/js/jwt-vectors.mjs): every
 *    one decodes, verifies and yields the claims nats-jwt decoded;
 *  - two tokens made by Go's nats-io/jwt (nsc), whose jti we recompute;
 *  - our own tokens round-trip, and tampering is caught.
 * tests/js/jwt.test.mjs checks the other direction (ternctl's tokens
 * verified by nats-jwt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "test_data.h"

/* nsc-made (Go nats-io/jwt v2) user and operator tokens from public test
 * material: their jti is SHA-512/256 of the standard claims. */
static const char go_user[] =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJETFRGNFpLVVdNNFRPRkVNQko0UEUzTVFF"
    "VlhIUkJJN0xZNDdZNEMzNTNMWlJKSU5CUkJRIiwiaWF0IjoxNjI0ODg1NzMwLCJpc3MiOiJBQVlKRFZMWkdXTjdZM0ZC"
    "UENWWENSVlFaREZNWUdIVTRZWExHU1hYN1UyNTRLSDVTQzNSNVFLTSIsIm5hbWUiOiJ1c2VyIiwic3ViIjoiVUQzQkdX"
    "SUJQVTNDV0w0SE9VVTRWSkVRV1RVQVNBRUc2T0ozWEhNM0VFSk5BMlBBM1VWTllUWk4iLCJuYXRzIjp7InB1YiI6e30s"
    "InN1YiI6e30sInN1YnMiOi0xLCJkYXRhIjotMSwicGF5bG9hZCI6LTEsInR5cGUiOiJ1c2VyIiwidmVyc2lvbiI6Mn19"
    ".YmFL5nRMkEOXe77sQJPPRv_vwi89tzhVVl0AVjE4sXWyoWIHiCepNw28DbpJ0p_MlT8Qf0SY2cjAhIm-Qi7lDw";
static const char go_operator[] =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJleHAiOjE3ODE2MzI0NjUsImp0aSI6IkJWQVZUQkc1"
    "M01aMkFaSTVYUjRFNVlPS0xHTk5ZTE40SllYV0U3T1I1M0VQSDJOU0pFSEEiLCJpYXQiOjE2MjM5NTI0NjUsImlzcyI6"
    "Ik9DTENLS1UzS0lMWjZaRDRESDNWNTdUSkJESUdKSllMWk1RNEhKUU9DNFJFUVEyVkFUVU01SlA1IiwibmFtZSI6IklT"
    "ZWNMLW9wZXJhdG9yIiwic3ViIjoiT0NMQ0tLVTNLSUxaNlpENERIM1Y1N1RKQkRJR0pKWUxaTVE0SEpRT0M0UkVRUTJW"
    "QVRVTTVKUDUiLCJuYXRzIjp7InR5cGUiOiJvcGVyYXRvciIsInZlcnNpb24iOjJ9fQ.PDlhAwk1cLHpbCCAJhKGKvv36J"
    "_NXc2PSsn6i3znmjDYHXG3C_HhO9zxsln9Bd9ViolRw_L10N1QwoMjzCBtBQ";

static json_t *load_vectors(void)
{
    char dir[4096], path[4200];
    assert_int_equal(test_data_dir(dir, sizeof dir, NULL), 0);
    snprintf(path, sizeof path, "%s/jwt_vectors.json", dir);
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v)
        fprintf(stderr, "%s: %s\n", path, jerr.text);
    assert_non_null(v);
    return v;
}

static void test_npm_vectors(void **state)
{
    (void)state;
    json_t *all = load_vectors();
    json_t *vecs = json_object_get(all, "vectors");
    assert_true(json_array_size(vecs) >= 7);
    size_t i;
    json_t *v;
    json_array_foreach(vecs, i, v) {
        const char *what = json_string_value(json_object_get(v, "what"));
        const char *tok = json_string_value(json_object_get(v, "token"));
        json_t *want = json_object_get(v, "claims");
        tern_jwt j;
        char err[256] = "";
        int rc = tern_jwt_decode(tok, strlen(tok), &j, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", what, err);
        assert_int_equal(rc, 0);
        assert_true(json_equal(j.claims, want));
        assert_string_equal(j.iss, json_string_value(json_object_get(want, "iss")));
        assert_string_equal(j.sub, json_string_value(json_object_get(want, "sub")));
        if (!strcmp(what, "user_v1")) {
            assert_int_equal(j.version, 1);
            assert_int_equal(j.type, TERN_JWT_USER);
        } else {
            assert_int_equal(j.version, 2);
        }
        if (!strcmp(what, "operator"))
            assert_int_equal(j.type, TERN_JWT_OPERATOR);
        if (!strcmp(what, "account"))
            assert_int_equal(j.type, TERN_JWT_ACCOUNT);
        if (!strcmp(what, "user")) {
            assert_int_equal(j.type, TERN_JWT_USER);
            assert_true(j.exp > 0);
            assert_int_equal(tern_jwt_check_time(&j, j.exp, NULL, 0), 0);
            assert_int_equal(tern_jwt_check_time(&j, j.exp + 1, err, sizeof err), -1);
            assert_string_equal(err, "claim is expired");
        }
        if (!strcmp(what, "activation"))
            assert_int_equal(j.type, TERN_JWT_ACTIVATION);
        if (!strcmp(what, "generic")) {
            assert_int_equal(j.type, TERN_JWT_GENERIC);
            assert_string_equal(j.type_name, "delete");
        }
        tern_jwt_clear(&j);
    }
    json_decref(all);
}

/* The account JWT is signed by an operator signing key; a user JWT by an
 * account key: a token whose issuer kind cannot sign its type is refused
 * even when the signature is right. */
static void test_issuer_kind(void **state)
{
    (void)state;
    json_t *all = load_vectors();
    json_t *seeds = json_object_get(all, "seeds");
    tern_nkey_pair acc;
    assert_int_equal(tern_nkey_from_seed(json_string_value(json_object_get(seeds, "account")),
                                         &acc), 0);
    char err[256];
    json_t *c = json_pack("{s:s, s:{s:s}}", "sub", "OA3D3EH6WOJXUEVXJYO6YHDY2JFAX4ZMQQV7PYNXO5A2CCD3NOSUMJXI",
                          "nats", "type", "operator");
    assert_null(tern_jwt_encode(c, &acc, 1, err, sizeof err));
    json_decref(c);
    tern_nkey_pair_wipe(&acc);
    json_decref(all);
}

static void test_go_vectors(void **state)
{
    (void)state;
    const char *toks[] = { go_user, go_operator };
    const char *jtis[] = { "DLTF4ZKUWM4TOFEMBJ4PE3MQEVXHRBI7LY47Y4C353LZRJINBRBQ",
                           "BVAVTBG53MZ2AZI5XR4E5YOKLGNNYLN4JYXWE7OR53EPH2NSJEHA" };
    for (int i = 0; i < 2; i++) {
        tern_jwt j;
        char err[256] = "";
        assert_int_equal(tern_jwt_decode(toks[i], strlen(toks[i]), &j, err, sizeof err), 0);
        assert_string_equal(j.jti, jtis[i]);
        char id[TERN_JWT_ID_LEN + 1];
        assert_int_equal(tern_jwt_hash_id(j.claims, id), 0);
        assert_string_equal(id, jtis[i]);
        tern_jwt_clear(&j);
    }
    tern_jwt j;
    assert_int_equal(tern_jwt_decode(go_operator, strlen(go_operator), &j, NULL, 0), 0);
    assert_int_equal(j.exp, 1781632465);
    assert_int_equal(tern_jwt_check_time(&j, 1781632465, NULL, 0), 0);
    assert_int_equal(tern_jwt_check_time(&j, 1781632466, NULL, 0), -1);
    assert_int_equal(j.type, TERN_JWT_OPERATOR);
    assert_string_equal(j.name, "ISecL-operator");
    tern_jwt_clear(&j);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    tern_nkey_pair acc, user;
    assert_int_equal(tern_nkey_create(TERN_NKEY_PREFIX_ACCOUNT, &acc), 0);
    assert_int_equal(tern_nkey_create(TERN_NKEY_PREFIX_USER, &user), 0);
    char upub[TERN_NKEY_PUBLIC_LEN + 1], apub[TERN_NKEY_PUBLIC_LEN + 1];
    tern_nkey_pair_public(&user, upub);
    tern_nkey_pair_public(&acc, apub);
    json_t *c = json_pack("{s:s, s:s, s:I, s:{s:s, s:{s:[s]}, s:b}}", "name", "x <&> y", "sub",
                          upub, "exp", (json_int_t)2000000000, "nats", "type", "user", "pub",
                          "allow", "a.>", "bearer_token", 1);
    char err[256] = "";
    char *tok = tern_jwt_encode(c, &acc, 1700000000, err, sizeof err);
    assert_non_null(tok);
    tern_jwt j;
    assert_int_equal(tern_jwt_decode(tok, strlen(tok), &j, err, sizeof err), 0);
    assert_string_equal(j.iss, apub);
    assert_string_equal(j.sub, upub);
    assert_string_equal(j.name, "x <&> y");
    assert_int_equal(j.iat, 1700000000);
    assert_int_equal(j.exp, 2000000000);
    assert_int_equal(j.version, 2);
    assert_int_equal(j.type, TERN_JWT_USER);
    assert_true(json_is_true(json_object_get(j.nats, "bearer_token")));
    char id[TERN_JWT_ID_LEN + 1];
    assert_int_equal(tern_jwt_hash_id(j.claims, id), 0);
    assert_string_equal(j.jti, id);
    tern_jwt_clear(&j);

    /* The header is nats-io/jwt's, byte for byte. */
    assert_memory_equal(tok, "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.", 47);

    /* Tampering with any segment is caught. */
    char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    char *bad = strdup(tok);
    size_t at = (size_t)(d1 - tok) + 10;
    bad[at] = bad[at] == 'A' ? 'B' : 'A';
    assert_int_equal(tern_jwt_decode(bad, strlen(bad), &j, err, sizeof err), -1);
    strcpy(bad, tok);
    at = (size_t)(d2 - tok) + 5;
    bad[at] = bad[at] == 'A' ? 'B' : 'A';
    assert_int_equal(tern_jwt_decode(bad, strlen(bad), &j, err, sizeof err), -1);
    assert_non_null(strstr(err, "signature"));
    /* Missing a chunk, an extra chunk. */
    assert_int_equal(tern_jwt_decode(tok, (size_t)(d2 - tok), &j, err, sizeof err), -1);
    assert_string_equal(err, "expected 3 chunks");
    free(bad);
    size_t n = strlen(tok);
    bad = malloc(n + 3);
    memcpy(bad, tok, n);
    memcpy(bad + n, ".x", 3);
    assert_int_equal(tern_jwt_decode(bad, n + 2, &j, err, sizeof err), -1);
    free(bad);
    /* Another header algorithm. */
    char *hs = malloc(n + 64);
    snprintf(hs, n + 64, "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9%s", d1);   /* HS256 */
    assert_int_equal(tern_jwt_decode(hs, strlen(hs), &j, err, sizeof err), -1);
    assert_non_null(strstr(err, "algorithm"));
    free(hs);
    /* Signed by someone else than its iss. */
    tern_nkey_pair other;
    assert_int_equal(tern_nkey_create(TERN_NKEY_PREFIX_ACCOUNT, &other), 0);
    char *tok2 = tern_jwt_encode(c, &other, 1700000000, err, sizeof err);
    char *d2b = strrchr(tok2, '.');
    char *mix = malloc(n + 200);
    snprintf(mix, n + 200, "%.*s%s", (int)(d2 - tok), tok, d2b);
    assert_int_equal(tern_jwt_decode(mix, strlen(mix), &j, err, sizeof err), -1);
    free(mix);
    free(tok2);
    free(tok);
    json_decref(c);
    tern_nkey_pair_wipe(&acc);
    tern_nkey_pair_wipe(&user);
    tern_nkey_pair_wipe(&other);
}

static void test_creds(void **state)
{
    (void)state;
    json_t *all = load_vectors();
    const char *text = json_string_value(json_object_get(all, "creds"));
    const char *tok = json_string_value(
        json_object_get(json_array_get(json_object_get(all, "vectors"), 2), "token"));
    const char *seed = json_string_value(json_object_get(json_object_get(all, "seeds"), "user"));
    char *jwt, *sd;
    assert_int_equal(tern_creds_parse(text, strlen(text), &jwt, &sd), 0);
    assert_string_equal(jwt, tok);
    assert_string_equal(sd, seed);
    free(jwt);
    free(sd);
    /* Ours parses back, also with CRLF line ends. */
    char *mine = tern_creds_format(tok, seed);
    assert_int_equal(tern_creds_parse(mine, strlen(mine), &jwt, &sd), 0);
    assert_string_equal(jwt, tok);
    assert_string_equal(sd, seed);
    free(jwt);
    free(sd);
    char *crlf = malloc(strlen(mine) * 2 + 1), *o = crlf;
    for (const char *p = mine; *p; p++) {
        if (*p == '\n')
            *o++ = '\r';
        *o++ = *p;
    }
    *o = 0;
    assert_int_equal(tern_creds_parse(crlf, strlen(crlf), &jwt, &sd), 0);
    assert_string_equal(sd, seed);
    free(jwt);
    free(sd);
    free(crlf);
    free(mine);
    assert_int_equal(tern_creds_parse("-----X-----\nabc\n", 16, &jwt, &sd), -1);
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npm_vectors),
        cmocka_unit_test(test_issuer_kind),
        cmocka_unit_test(test_go_vectors),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_creds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
