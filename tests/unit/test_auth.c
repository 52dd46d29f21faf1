/* The authentication decision (auth.c), its configuration (conf_auth.c)
 * and the --user/--pass/--auth flags, without a network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cli.h"
#include "conf.h"
#include "conf_server.h"
#include "nkeys.h"
#include "opts.h"
#include "server.h"

#define USER_SEED "SUAJ5DFIFHFL7KKS6NQBQRIZTF7I6WM6PWUBG3YNKSAPLUK24TREB7WUHY"
#define USER_PUB  "UBLEFVRS74IECMLNLVKR57BMDKF6KCF44PPF3LJKYAJQLLYBDCLNHW7I"

static char *hash_of(const char *pw)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    assert_non_null(crypt_gensalt_rn("$2b$", 10, NULL, 0, salt, sizeof salt));
    return strdup(crypt_r(pw, salt, &cd));
}

static tern_auth_result check(const tern_auth *a, const char *json, const char *nonce,
                              tern_auth_creds *cr, tern_auth_slow *slow)
{
    json_t *o = json_loads(json, 0, NULL);
    tern_auth_creds_merge(cr, o);
    json_decref(o);
    return tern_auth_check(a, cr, nonce, slow);
}

static tern_auth_result once(const tern_auth *a, const char *json, const char *nonce)
{
    tern_auth_creds cr = {0};
    tern_auth_slow slow;
    tern_auth_result r = check(a, json, nonce, &cr, &slow);
    if (r == TERN_AUTH_SLOW)
        r = tern_auth_bcrypt_matches(slow.hash, slow.secret) ? TERN_AUTH_OK : TERN_AUTH_DENIED;
    tern_auth_slow_free(&slow);
    tern_auth_creds_free(&cr);
    return r;
}

static void test_users_plain_and_bcrypt(void **state)
{
    (void)state;
    char *h = hash_of("pw");
    tern_auth *a = tern_auth_new();
    tern_auth_add_user(a, "a", "b");
    tern_auth_add_user(a, "bc", h);
    assert_true(tern_auth_required(a));
    assert_true(tern_auth_info_required(a));
    assert_false(tern_auth_nonce_required(a));
    assert_int_equal(once(a, "{\"user\":\"a\",\"pass\":\"b\"}", NULL), TERN_AUTH_OK);
    assert_int_equal(once(a, "{\"USER\":\"a\",\"Pass\":\"b\"}", NULL), TERN_AUTH_OK);
    assert_int_equal(once(a, "{\"user\":\"a\",\"pass\":\"bb\"}", NULL), TERN_AUTH_DENIED);
    assert_int_equal(once(a, "{\"user\":\"a\"}", NULL), TERN_AUTH_DENIED);
    assert_int_equal(once(a, "{\"user\":\"x\",\"pass\":\"b\"}", NULL), TERN_AUTH_DENIED);
    assert_int_equal(once(a, "{}", NULL), TERN_AUTH_DENIED);
    assert_int_equal(once(a, "{\"auth_token\":\"b\"}", NULL), TERN_AUTH_DENIED);
    /* bcrypt is deferred: the loop never hashes */
    tern_auth_creds cr = {0};
    tern_auth_slow slow;
    assert_int_equal(check(a, "{\"user\":\"bc\",\"pass\":\"pw\"}", NULL, &cr, &slow), TERN_AUTH_SLOW);
    assert_string_equal(slow.hash, h);
    assert_string_equal(slow.secret, "pw");
    assert_true(tern_auth_bcrypt_matches(slow.hash, slow.secret));
    tern_auth_slow_free(&slow);
    /* credentials merge over CONNECTs */
    assert_int_equal(check(a, "{\"pass\":\"nope\"}", NULL, &cr, &slow), TERN_AUTH_SLOW);
    assert_false(tern_auth_bcrypt_matches(slow.hash, slow.secret));
    tern_auth_slow_free(&slow);
    tern_auth_creds_free(&cr);
    assert_int_equal(once(a, "{\"user\":\"bc\",\"pass\":\"pw\"}", NULL), TERN_AUTH_OK);
    assert_int_equal(once(a, "{\"user\":\"bc\",\"pass\":\"pW\"}", NULL), TERN_AUTH_DENIED);
    tern_auth_unref(a);
    free(h);
}

static void test_token(void **state)
{
    (void)state;
    tern_auth *a = tern_auth_new();
    a->token = strdup("t0k");
    assert_int_equal(once(a, "{\"auth_token\":\"t0k\"}", NULL), TERN_AUTH_OK);
    assert_int_equal(once(a, "{\"auth_token\":\"t0K\"}", NULL), TERN_AUTH_DENIED);
    assert_int_equal(once(a, "{\"user\":\"t0k\",\"pass\":\"t0k\"}", NULL), TERN_AUTH_DENIED);
    free(a->token);
    a->token = hash_of("t0k");
    assert_int_equal(once(a, "{\"auth_token\":\"t0k\"}", NULL), TERN_AUTH_OK);
    assert_int_equal(once(a, "{\"auth_token\":\"x\"}", NULL), TERN_AUTH_DENIED);
    tern_auth_unref(a);
}

static void test_nkey_signature(void **state)
{
    (void)state;
    tern_auth *a = tern_auth_new();
    tern_auth_add_nkey(a, USER_PUB);
    assert_true(tern_auth_nonce_required(a));
    char nonce[TERN_AUTH_NONCE_LEN + 1], other[TERN_AUTH_NONCE_LEN + 1];
    tern_auth_new_nonce(nonce);
    tern_auth_new_nonce(other);
    assert_int_equal(strlen(nonce), 15);
    assert_true(strcmp(nonce, other) != 0);
    for (const char *p = nonce; *p; p++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));

    tern_nkey_pair kp;
    assert_int_equal(tern_nkey_from_seed(USER_SEED, &kp), 0);
    uint8_t sig[64];
    tern_nkey_sign(&kp, nonce, strlen(nonce), sig);
    tern_nkey_pair_wipe(&kp);
    char url[100], std[100], json[400];
    sodium_bin2base64(url, sizeof url, sig, 64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(std, sizeof std, sig, 64, sodium_base64_VARIANT_ORIGINAL);
    snprintf(json, sizeof json, "{\"nkey\":\"%s\",\"sig\":\"%s\"}", USER_PUB, url);
    assert_int_equal(once(a, json, nonce), TERN_AUTH_OK);
    assert_int_equal(once(a, json, other), TERN_AUTH_DENIED);        /* another nonce */
    snprintf(json, sizeof json, "{\"nkey\":\"%s\",\"sig\":\"%s\"}", USER_PUB, std);
    assert_int_equal(once(a, json, nonce), TERN_AUTH_OK);            /* std base64 too */
    url[5] = url[5] == 'A' ? 'B' : 'A';
    snprintf(json, sizeof json, "{\"nkey\":\"%s\",\"sig\":\"%s\"}", USER_PUB, url);
    assert_int_equal(once(a, json, nonce), TERN_AUTH_DENIED);
    snprintf(json, sizeof json, "{\"nkey\":\"%s\"}", USER_PUB);
    assert_int_equal(once(a, json, nonce), TERN_AUTH_DENIED);
    assert_int_equal(once(a, "{\"nkey\":\"UDOJ37OUFDUSU4TEZIYPP755NVNTKOMSG2RQOAHST6DIQPP5ANUDQKHA\",\"sig\":\"AA\"}",
                          nonce), TERN_AUTH_DENIED);
    tern_auth_unref(a);
}

static void test_no_auth_user(void **state)
{
    (void)state;
    char *h = hash_of("pw");
    tern_auth *a = tern_auth_new();
    tern_auth_add_user(a, "a", "b");
    tern_auth_add_user(a, "g", "x");
    tern_auth_add_user(a, "hb", h);
    a->no_auth_user = strdup("g");
    assert_true(tern_auth_required(a));
    assert_false(tern_auth_info_required(a));
    assert_int_equal(once(a, "{}", NULL), TERN_AUTH_OK);
    assert_int_equal(once(a, "{\"user\":\"a\",\"pass\":\"b\"}", NULL), TERN_AUTH_OK);
    assert_int_equal(once(a, "{\"user\":\"a\",\"pass\":\"c\"}", NULL), TERN_AUTH_DENIED);
    assert_int_equal(once(a, "{\"pass\":\"c\"}", NULL), TERN_AUTH_DENIED);
    /* as nats-server: a bcrypt no-auth user's hash is compared with itself */
    free(a->no_auth_user);
    a->no_auth_user = strdup("hb");
    assert_int_equal(once(a, "{}", NULL), TERN_AUTH_DENIED);
    tern_auth_unref(a);
    free(h);
}

static void test_helpers(void **state)
{
    (void)state;
    assert_true(tern_auth_is_bcrypt("$2a$10$x"));
    assert_true(tern_auth_is_bcrypt("$2b$12$x"));
    assert_true(tern_auth_is_bcrypt("$2y$04$x"));
    assert_false(tern_auth_is_bcrypt("$2c$10$x"));
    assert_false(tern_auth_is_bcrypt("$2a$1$x"));
    assert_false(tern_auth_is_bcrypt("$2"));
    assert_false(tern_auth_is_bcrypt("plain"));
    assert_true(tern_auth_plain_equal("", ""));
    assert_true(tern_auth_plain_equal("abc", "abc"));
    assert_false(tern_auth_plain_equal("abc", "abcd"));
    assert_false(tern_auth_bcrypt_matches("$2b$10$garbage", "x"));
    assert_true(tern_auth_required(NULL) == false);
}

/* ---- configuration ------------------------------------------------------ */

static int apply(const char *yaml, tern_opts *o, char *err)
{
    tern_conf_node *root = tern_conf_parse_yaml(yaml, strlen(yaml), "t.yaml", err, TERN_CONF_ERR_MAX);
    assert_non_null(root);
    tern_opts_init(o);
    int rc = tern_conf_apply(root, o, err, TERN_CONF_ERR_MAX);
    tern_conf_free(root);
    return rc;
}

#define EXPECT_CONF_ERR(yaml, msg)                                                          \
    do {                                                                                    \
        tern_opts o_;                                                                       \
        char e_[TERN_CONF_ERR_MAX] = "";                                                    \
        assert_int_equal(apply(yaml, &o_, e_), -1);                                         \
        assert_string_equal(e_, msg);                                                       \
        tern_opts_free(&o_);                                                                \
    } while (0)

static void test_conf(void **state)
{
    (void)state;
    tern_opts o;
    char err[TERN_CONF_ERR_MAX];
    assert_int_equal(apply("authorization:\n  users:\n    - {user: a, password: b}\n    - {nkey: " USER_PUB "}\n"
                           "  timeout: 3\nno_auth_user: a\n", &o, err), 0);
    assert_non_null(o.auth);
    assert_int_equal(o.auth->nusers, 1);
    assert_int_equal(o.auth->nnkeys, 1);
    assert_string_equal(o.auth->no_auth_user, "a");
    assert_int_equal(o.auth_timeout_ms, 3000);
    tern_opts copy;
    tern_opts_copy(&copy, &o);
    assert_ptr_equal(copy.auth, o.auth);    /* shared, counted */
    tern_opts_free(&o);
    assert_int_equal(copy.auth->nusers, 1);
    tern_opts_free(&copy);

    assert_int_equal(apply("authorization: {token: s}\n", &o, err), 0);
    assert_string_equal(o.auth->token, "s");
    assert_int_equal(o.auth_timeout_ms, 2000);
    tern_opts_free(&o);
    assert_int_equal(apply("authorization: {users: []}\n", &o, err), 0);
    assert_null(o.auth);                    /* nothing to check: open */
    tern_opts_free(&o);
    assert_int_equal(apply("server: {auth_timeout: 4s}\nauthorization: {token: s, timeout: 4}\n", &o, err), 0);
    assert_int_equal(o.auth_timeout_ms, 4000);
    tern_opts_free(&o);

    EXPECT_CONF_ERR("authorization: {token: s, users: [{user: a}]}\n",
                    "t.yaml:1:24: Can not have a token and a users array");
    EXPECT_CONF_ERR("authorization: {users: [{user: a}]}\nno_auth_user: b\n",
                    "t.yaml:2:15: no_auth_user: \"b\" not present as user in authorization block or account configuration");
    EXPECT_CONF_ERR("no_auth_user: b\n", "t.yaml:1:15: no_auth_user: \"b\" present, but users are not defined");
    assert_int_equal(apply("authorization:\n  users:\n    - {user: a, permissions: {publish: x}}\n",
                           &o, err), 0);
    assert_non_null(o.auth->users[0].perms);   /* perms.h; tests/unit/test_perms.c */
    tern_opts_free(&o);
    EXPECT_CONF_ERR("authorization: {permissions: {}}\n", "t.yaml:1:17: permissions are not supported yet");
    EXPECT_CONF_ERR("authorization: {users: [{password: x}]}\n", "t.yaml:1:25: User entry requires a user");
    EXPECT_CONF_ERR("authorization: {users: [{nkey: UABC}]}\n", "t.yaml:1:25: Not a valid public nkey for a user");
    EXPECT_CONF_ERR("authorization: {users: [{nkey: " USER_PUB ", user: a}]}\n",
                    "t.yaml:1:25: Nkey users do not take usernames or passwords");
    EXPECT_CONF_ERR("authorization: {users: [{user: a}, {user: a}]}\n", "t.yaml:1:36: Duplicate user \"a\" detected");
    EXPECT_CONF_ERR("authorization: {tokn: x}\n", "t.yaml:1:17: unknown key 'tokn' in authorization");
    EXPECT_CONF_ERR("server: {auth_timeout: 4s}\nauthorization: {token: s, timeout: 5}\n",
                    "t.yaml:2:36: authorization.timeout disagrees with server.auth_timeout (t.yaml:1:24); set one of them");
}

/* ---- flags --------------------------------------------------------------- */

static int load(tern_opts *o, char *err, int argc, char **argv)
{
    tern_cli cli;
    if (tern_cli_parse(argc, argv, &cli, err, TERN_CONF_ERR_MAX) != 0)
        return -1;
    int rc = tern_server_load_opts(&cli, o, err, TERN_CONF_ERR_MAX);
    tern_cli_free(&cli);
    return rc;
}

static void test_flags(void **state)
{
    (void)state;
    tern_opts o;
    char err[TERN_CONF_ERR_MAX];
    char *a1[] = {"ternd", "--user", "u", "--pass", "p"};
    assert_int_equal(load(&o, err, 5, a1), 0);
    assert_int_equal(o.auth->nusers, 1);
    assert_string_equal(o.auth->users[0].name, "u");
    assert_string_equal(o.auth->users[0].password, "p");
    tern_opts_free(&o);
    char *a2[] = {"ternd", "--pass=p", "-user", "u"};   /* any order */
    assert_int_equal(load(&o, err, 4, a2), 0);
    assert_string_equal(o.auth->users[0].password, "p");
    tern_opts_free(&o);
    char *a3[] = {"ternd", "--user", "u"};               /* empty password, as nats-server */
    assert_int_equal(load(&o, err, 3, a3), 0);
    assert_string_equal(o.auth->users[0].password, "");
    assert_int_equal(once(o.auth, "{\"user\":\"u\"}", NULL), TERN_AUTH_OK);
    tern_opts_free(&o);
    char *a4[] = {"ternd", "--auth", "tok"};
    assert_int_equal(load(&o, err, 3, a4), 0);
    assert_string_equal(o.auth->token, "tok");
    assert_int_equal(o.auth->nusers, 0);
    tern_opts_free(&o);
    char *a5[] = {"ternd", "--pass", "p"};
    assert_int_equal(load(&o, err, 3, a5), -1);
    assert_string_equal(err, "--pass: needs --user");
    char *a6[] = {"ternd", "--auth", "t", "--user", "u"};
    assert_int_equal(load(&o, err, 5, a6), -1);
    assert_string_equal(err, "--user/--pass and --auth cannot be used together");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_plain_and_bcrypt),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_nkey_signature),
        cmocka_unit_test(test_no_auth_user),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
