/* TLS: the --tls* flags, server.tls in the configuration (with the auth
 * timeout default that follows it), and the memory-BIO engine driven
 * against an OpenSSL client in the same process — handshake, both
 * directions, 1 MiB through seal, pausing and resuming the plaintext,
 * a plain-text peer, client certificate verification, close_notify.
 * Certificates are made in a temp dir with the `openssl` command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "conf.h"
#include "conf_server.h"
#include "opts.h"
#include "server.h"
#include "tls.h"

static char dir[128];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static const char *path(const char *name)
{
    static char buf[8][256];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

/* name.key/name.pem, signed by ca (self-signed when NULL). */
static int make_cert(const char *name, const char *ca, const char *ext)
{
    if (!ca)
        return sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                  "-nodes -keyout %s.key -out %s.pem -days 2 -subj '/CN=%s' 2>/dev/null",
                  dir, name, name, name);
    if (sh("cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           "-keyout %s.key -out %s.csr -subj '/CN=%s' 2>/dev/null && printf '%%s\\n' '%s' > %s.ext",
           dir, name, name, name, ext, name))
        return -1;
    return sh("cd %s && openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial "
              "-out %s.pem -days 2 -extfile %s.ext 2>/dev/null", dir, name, ca, ca, name, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tern-unit-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    if (make_cert("ca", NULL, NULL) ||
        make_cert("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost") ||
        make_cert("client", "ca", "extendedKeyUsage=clientAuth") ||
        make_cert("rogueca", NULL, NULL) ||
        make_cert("rogue", "rogueca", "extendedKeyUsage=clientAuth") ||
        sh("echo 'not a certificate' > %s/junk.pem", dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sh("rm -rf %s", dir);
    return 0;
}

/* ---- flags --------------------------------------------------------- */

#define PARSE(cli, err, ...) \
    parse_list((cli), (err), (const char *const[]){ __VA_ARGS__, NULL })

static int parse_list(tern_cli *cli, char *err, const char *const *args)
{
    char *argv[20];
    int argc = 0;
    argv[argc++] = "ternd";
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    return tern_cli_parse(argc, argv, cli, err, TERN_CONF_ERR_MAX);
}

static const tern_conf_node *tls_node(const tern_cli *cli)
{
    return tern_conf_get(tern_conf_get(cli->overlay, "server"), "tls");
}

static const char *tls_val(const tern_cli *cli, const char *key)
{
    const tern_conf_node *n = tern_conf_get(tls_node(cli), key);
    return n ? n->value : NULL;
}

static void test_flags(void **state)
{
    (void)state;
    tern_cli cli;
    char err[TERN_CONF_ERR_MAX];
    assert_int_equal(PARSE(&cli, err, "--tls", "--tlscert", "c.pem", "-tlskey=k.pem", "--tlsverify",
                           "--tlscacert", "ca.pem"), 0);
    assert_non_null(tls_node(&cli));
    assert_int_equal(tls_node(&cli)->type, TERN_CONF_MAP);
    assert_string_equal(tls_val(&cli, "cert"), "c.pem");
    assert_string_equal(tls_val(&cli, "key"), "k.pem");
    assert_string_equal(tls_val(&cli, "ca"), "ca.pem");
    assert_string_equal(tls_val(&cli, "verify"), "true");
    tern_cli_free(&cli);

    /* any -tls* flag turns TLS on, -tlsverify=false too (nats-server) */
    assert_int_equal(PARSE(&cli, err, "--tlsverify=false"), 0);
    assert_non_null(tls_node(&cli));
    assert_string_equal(tls_val(&cli, "verify"), "false");
    tern_cli_free(&cli);

    /* -tls=false wins over the others, in any order */
    assert_int_equal(PARSE(&cli, err, "--tlscert", "c.pem", "--tls=false", "--tlskey", "k.pem"), 0);
    assert_non_null(tls_node(&cli));
    assert_int_equal(tls_node(&cli)->type, TERN_CONF_NULL);
    tern_cli_free(&cli);

    assert_int_equal(PARSE(&cli, err, "-p", "1"), 0);
    assert_null(tls_node(&cli));
    tern_cli_free(&cli);
}

/* ---- configuration ------------------------------------------------- */

static int apply(const char *text, tern_opts *o, char *err)
{
    tern_conf_node *n = tern_conf_parse_yaml(text, strlen(text), path("t.yaml"), err, TERN_CONF_ERR_MAX);
    if (!n)
        fail_msg("parse: %s", err);
    tern_opts_init(o);
    int r = tern_conf_apply(n, o, err, TERN_CONF_ERR_MAX);
    tern_conf_free(n);
    return r;
}

static void expect_error(const char *text, const char *want)
{
    char err[TERN_CONF_ERR_MAX] = "";
    tern_opts o;
    int r = apply(text, &o, err);
    tern_opts_free(&o);
    if (r == 0)
        fail_msg("applied, expected: %s\n%s", want, text);
    /* drop "file:line:col: " */
    const char *e = strstr(err, ".yaml:");
    e = e ? strchr(strchr(e + 6, ':') + 1, ':') + 2 : err;
    if (strcmp(e, want) != 0)
        fail_msg("got: %s\nwant: %s\n%s", err, want, text);
}

static void test_conf(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX] = "";
    tern_opts o;

    /* relative paths are relative to the file */
    if (apply("server:\n  tls:\n    cert: server.pem\n    key: server.key\n    ca: ca.pem\n"
              "    verify: true\n    timeout: 1.5\n    min_version: '1.3'\n"
              "    ciphers: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ECDHE-RSA-AES256-GCM-SHA384,\n"
              "              TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, TLS_AES_256_GCM_SHA384]\n",
              &o, err) != 0)
        fail_msg("%s", err);
    assert_true(o.tls.enabled);
    assert_string_equal(o.tls.cert, path("server.pem"));
    assert_string_equal(o.tls.key, path("server.key"));
    assert_string_equal(o.tls.ca, path("ca.pem"));
    assert_true(o.tls.verify);
    assert_int_equal(o.tls.timeout_ms, 1500);
    assert_int_equal(o.tls.min_version, 13);
    assert_string_equal(o.tls.ciphers,
                        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305");
    assert_string_equal(o.tls.ciphersuites, "TLS_AES_256_GCM_SHA384");
    /* auth_timeout follows TLS: tls timeout + 1 s */
    assert_false(o.auth_timeout_set);
    assert_int_equal(o.auth_timeout_ms, 2500);
    tern_opts copy;
    tern_opts_copy(&copy, &o);
    assert_string_equal(copy.tls.ciphersuites, o.tls.ciphersuites);
    tern_opts_free(&copy);
    tern_opts_free(&o);

    if (apply("server:\n  tls: {cert: server.pem, key: server.key, timeout: 5s}\n", &o, err) != 0)
        fail_msg("%s", err);
    assert_false(o.tls.verify);
    assert_null(o.tls.ca);
    assert_null(o.tls.ciphers);
    assert_int_equal(o.tls.min_version, 12);
    assert_int_equal(o.tls.timeout_ms, 5000);
    assert_int_equal(o.auth_timeout_ms, 6000);
    assert_int_equal(tern_opts_default_auth_timeout_ms(&o), 6000);
    tern_opts_free(&o);

    /* an explicit auth_timeout wins; without TLS the default is 2 s */
    if (apply("server:\n  auth_timeout: 1s\n  tls: {cert: server.pem, key: server.key}\n", &o, err) != 0)
        fail_msg("%s", err);
    assert_true(o.auth_timeout_set);
    assert_int_equal(o.auth_timeout_ms, 1000);
    tern_opts_free(&o);
    if (apply("server:\n  tls: ~\n  auth_timeout: 0\n", &o, err) != 0)
        fail_msg("%s", err);
    assert_false(o.tls.enabled);
    assert_int_equal(o.auth_timeout_ms, 2000);
    tern_opts_free(&o);
    if (apply("server:\n  tls: {cert: server.pem, key: server.key}\n", &o, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(o.tls.timeout_ms, 2000);
    assert_int_equal(o.auth_timeout_ms, 3000);
    tern_opts_free(&o);

    char want[1024];
    expect_error("server:\n  tls: {}\n", "TLS Server certificate must be present and valid");
    expect_error("server:\n  tls: {cert: server.pem}\n", "TLS Server private key must be present and valid");
    expect_error("server:\n  tls: true\n", "server.tls must be a mapping");
    snprintf(want, sizeof want,
             "error parsing X509 certificate/key pair: open %s: no such file or directory", path("nope.pem"));
    expect_error("server:\n  tls: {cert: nope.pem, key: server.key}\n", want);
    snprintf(want, sizeof want, "error parsing X509 certificate/key pair: %s: no start line", path("junk.pem"));
    expect_error("server:\n  tls: {cert: junk.pem, key: server.key}\n", want);
    expect_error("server:\n  tls: {cert: server.pem, key: client.key}\n",
                 "error parsing X509 certificate/key pair: private key does not match public key");
    snprintf(want, sizeof want, "open %s: no such file or directory", path("nope-ca.pem"));
    expect_error("server:\n  tls: {cert: server.pem, key: server.key, ca: nope-ca.pem}\n", want);
    expect_error("server:\n  tls: {cert: server.pem, key: server.key, ca: junk.pem}\n",
                 "failed to parse root ca certificate");
    expect_error("server:\n  tls: {cert_file: server.pem}\n",
                 "unknown key 'cert_file' in server.tls (Tern calls it 'cert')");
    expect_error("server:\n  tls: {pinned_certs: []}\n", "unknown key 'pinned_certs' in server.tls");
    expect_error("server:\n  tls: {ciphers: [TLS_BOGUS]}\n", "unrecognized cipher TLS_BOGUS");
    expect_error("server:\n  tls: {ciphers: []}\n", "tls.ciphers cannot be empty");
    expect_error("server:\n  tls: {ciphers: 'ALL'}\n", "tls.ciphers must be a list of cipher names");
    expect_error("server:\n  tls: {min_version: '1.1'}\n", "tls.min_version must be \"1.2\" or \"1.3\"");
    expect_error("server:\n  tls: {timeout: -1}\n", "tls.timeout value can not be negative");
    expect_error("server:\n  tls: {verify: maybe}\n",
                 "error parsing tls.verify: expected a boolean (true or false), got 'maybe'");
    expect_error("server:\n  tls: {verify_and_map: true}\n",
                 "tls.verify_and_map is not supported yet (client certificates cannot name users yet)");

    char cipher[128];
    bool t13;
    assert_true(tern_tls_cipher_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", cipher, sizeof cipher, &t13));
    assert_string_equal(cipher, "ECDHE-RSA-AES128-GCM-SHA256");
    assert_false(t13);
    assert_true(tern_tls_cipher_name("TLS_CHACHA20_POLY1305_SHA256", cipher, sizeof cipher, &t13));
    assert_true(t13);
    assert_false(tern_tls_cipher_name("NOPE-CIPHER", cipher, sizeof cipher, &t13));
    assert_false(tern_tls_cipher_name("ECDHE-RSA-AES128-GCM-SHA256:ALL", cipher, sizeof cipher, &t13));
}

static void test_flags_over_file(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX] = "", file[256];
    snprintf(file, sizeof file, "%s/over.yaml", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "server:\n  tls: {cert: server.pem, key: server.key, timeout: 3s}\n");
    fclose(f);
    tern_cli cli;
    tern_opts o;
    assert_int_equal(PARSE(&cli, err, "-c", file, "--tlsverify", "--tlscacert", path("ca.pem")), 0);
    if (tern_server_load_opts(&cli, &o, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(o.tls.enabled);
    assert_true(o.tls.verify);
    assert_string_equal(o.tls.cert, path("server.pem"));
    assert_string_equal(o.tls.ca, path("ca.pem"));
    assert_int_equal(o.tls.timeout_ms, 3000);
    tern_opts_free(&o);
    tern_cli_free(&cli);

    assert_int_equal(PARSE(&cli, err, "-c", file, "--tls=false"), 0);
    if (tern_server_load_opts(&cli, &o, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_false(o.tls.enabled);
    tern_opts_free(&o);
    tern_cli_free(&cli);
}

/* ---- the engine against an OpenSSL client ------------------------- */

typedef struct peer {
    SSL_CTX *ctx;
    SSL     *ssl;
    BIO     *rbio, *wbio;
} peer;

static void peer_new(peer *p, const char *cert)
{
    p->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(p->ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(p->ctx, path("ca.pem"), NULL), 1);
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER, NULL);
    if (cert) {
        char c[64], k[64];
        snprintf(c, sizeof c, "%s.pem", cert);
        snprintf(k, sizeof k, "%s.key", cert);
        assert_int_equal(SSL_CTX_use_certificate_file(p->ctx, path(c), SSL_FILETYPE_PEM), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(p->ctx, path(k), SSL_FILETYPE_PEM), 1);
    }
    p->ssl = SSL_new(p->ctx);
    p->rbio = BIO_new(BIO_s_mem());
    p->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(p->rbio, -1);
    SSL_set_bio(p->ssl, p->rbio, p->wbio);
    SSL_set_connect_state(p->ssl);
    SSL_set1_host(p->ssl, "localhost");
}

static void peer_free(peer *p)
{
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
}

typedef struct sink {
    tern_buf got;
    bool     stop;        /* ask the engine to stop after each chunk */
    int      chunks;
    int      established;
} sink;

static void on_established(void *ud)
{
    ((sink *)ud)->established++;
}

static bool on_plain(void *ud, const char *p, size_t n)
{
    sink *s = ud;
    tern_buf_append(&s->got, p, n);
    s->chunks++;
    return !s->stop;
}

static const tern_tls_handlers handlers = { on_established, on_plain };

/* Everything the client wrote, into the server engine. */
static tern_tls_status to_server(peer *c, tern_tls_conn *t, sink *s)
{
    tern_buf wire = { 0 };
    char tmp[4096];
    int n;
    while ((n = BIO_read(c->wbio, tmp, sizeof tmp)) > 0)
        tern_buf_append(&wire, tmp, (size_t)n);
    static char buf[16384];
    tern_tls_status st = tern_tls_conn_feed(t, wire.data, wire.len, buf, sizeof buf, &handlers, s);
    tern_buf_free(&wire);
    return st;
}

/* out sealed and handed to the client. */
static void to_client(tern_tls_conn *t, tern_buf *out, peer *c)
{
    assert_int_equal(tern_tls_conn_seal(t, out), 0);
    if (out->len)
        assert_int_equal(BIO_write(c->rbio, out->data, (int)out->len), (int)out->len);
    out->len = 0;
}

/* Drive both sides until the handshake is done (or fails). */
static tern_tls_status handshake(peer *c, tern_tls_conn *t, sink *s)
{
    tern_buf out = { 0 };
    tern_tls_status st = TERN_TLS_OK;
    for (int i = 0; i < 10 && st == TERN_TLS_OK; i++) {
        int r = SSL_do_handshake(c->ssl);
        st = to_server(c, t, s);
        to_client(t, &out, c);
        if (r == 1 && tern_tls_conn_established(t))
            break;
    }
    tern_buf_free(&out);
    return st;
}

static tern_tls_ctx *make_ctx(bool verify)
{
    tern_tls_opts o = { .enabled = true, .timeout_ms = 2000, .min_version = 12, .verify = verify };
    o.cert = (char *)path("server.pem");
    o.key = (char *)path("server.key");
    o.ca = verify ? (char *)path("ca.pem") : NULL;
    char err[512];
    tern_tls_ctx *ctx = tern_tls_ctx_new(&o, err, sizeof err);
    if (!ctx)
        fail_msg("%s", err);
    return ctx;
}

static void test_engine(void **state)
{
    (void)state;
    tern_tls_ctx *ctx = make_ctx(false);
    tern_tls_conn *t = tern_tls_conn_new(ctx);
    peer c;
    peer_new(&c, NULL);
    sink s = { 0 };

    /* Before the handshake, what is queued goes out as it is (INFO). */
    tern_buf out = { 0 };
    tern_buf_append_str(&out, "INFO {}\r\n");
    assert_int_equal(tern_tls_conn_seal(t, &out), 0);
    assert_int_equal(out.len, 9);
    assert_memory_equal(out.data, "INFO {}\r\n", 9);
    out.len = 0;
    assert_false(tern_tls_conn_wants_write(t));

    /* Once the handshake may have begun, nothing goes out in clear (an
     * -ERR from a timer, say): only handshake records. */
    assert_int_equal(SSL_do_handshake(c.ssl), -1);
    assert_int_equal(to_server(&c, t, &s), TERN_TLS_OK);
    tern_buf_append_str(&out, "-ERR 'Authentication Timeout'\r\n");
    assert_int_equal(tern_tls_conn_seal(t, &out), 0);
    assert_true(out.len > 0);
    assert_int_equal(out.data[0], 0x16);     /* a handshake record */
    assert_null(memmem(out.data, out.len, "-ERR", 4));
    assert_int_equal(BIO_write(c.rbio, out.data, (int)out.len), (int)out.len);
    out.len = 0;

    assert_int_equal(handshake(&c, t, &s), TERN_TLS_OK);
    assert_true(tern_tls_conn_established(t));
    assert_int_equal(s.established, 1);
    assert_string_equal(tern_tls_conn_version(t), "1.3");
    assert_string_equal(tern_tls_conn_error(t), "");

    /* client → server */
    assert_int_equal(SSL_write(c.ssl, "CONNECT {}\r\nPING\r\n", 18), 18);
    assert_int_equal(to_server(&c, t, &s), TERN_TLS_OK);
    assert_int_equal(s.got.len, 18);
    assert_memory_equal(s.got.data, "CONNECT {}\r\nPING\r\n", 18);

    /* server → client: 1 MiB through seal, in records */
    size_t big = 1024 * 1024;
    for (size_t i = 0; i < big; i++)
        tern_buf_append(&out, &(char){ (char)('A' + i % 23) }, 1);
    to_client(t, &out, &c);
    tern_buf recv = { 0 };
    char tmp[16384];
    int n;
    while ((n = SSL_read(c.ssl, tmp, sizeof tmp)) > 0)
        tern_buf_append(&recv, tmp, (size_t)n);
    assert_int_equal(recv.len, big);
    for (size_t i = 0; i < big; i += 4099)
        assert_int_equal(recv.data[i], (char)('A' + i % 23));

    /* Stop after the first chunk; the rest stays buffered until resumed. */
    s.got.len = 0;
    s.chunks = 0;
    s.stop = true;
    SSL_write(c.ssl, "one ", 4);
    SSL_write(c.ssl, "two ", 4);
    SSL_write(c.ssl, "three", 5);
    assert_int_equal(to_server(&c, t, &s), TERN_TLS_STOPPED);
    assert_int_equal(s.chunks, 1);
    assert_int_equal(s.got.len, 4);
    s.stop = false;
    static char buf[16384];
    assert_int_equal(tern_tls_conn_feed(t, NULL, 0, buf, sizeof buf, &handlers, &s), TERN_TLS_OK);
    assert_int_equal(s.got.len, 13);
    assert_memory_equal(s.got.data, "one two three", 13);

    /* The server's close_notify reaches the client. */
    tern_tls_conn_shutdown(t);
    assert_true(tern_tls_conn_wants_write(t));
    to_client(t, &out, &c);
    assert_int_equal(SSL_read(c.ssl, tmp, sizeof tmp), 0);
    assert_int_equal(SSL_get_error(c.ssl, 0), SSL_ERROR_ZERO_RETURN);
    tern_tls_conn_free(t);
    peer_free(&c);

    /* The client's close_notify: CLOSED. */
    t = tern_tls_conn_new(ctx);
    peer_new(&c, NULL);
    assert_int_equal(handshake(&c, t, &s), TERN_TLS_OK);
    SSL_shutdown(c.ssl);
    assert_int_equal(to_server(&c, t, &s), TERN_TLS_CLOSED);
    tern_tls_conn_free(t);
    peer_free(&c);

    /* A plain-text peer. */
    t = tern_tls_conn_new(ctx);
    assert_int_equal(tern_tls_conn_feed(t, "CONNECT {}\r\n", 12, buf, sizeof buf, &handlers, &s),
                     TERN_TLS_ERROR);
    assert_string_equal(tern_tls_conn_error(t), "first record does not look like a TLS handshake");
    assert_false(tern_tls_conn_established(t));
    tern_tls_conn_free(t);

    /* Garbage after a valid record header start. */
    t = tern_tls_conn_new(ctx);
    assert_int_equal(tern_tls_conn_feed(t, "\x16\x03\x01\x00\x05hello", 10, buf, sizeof buf, &handlers, &s),
                     TERN_TLS_ERROR);
    assert_string_not_equal(tern_tls_conn_error(t), "");
    tern_tls_conn_free(t);

    tern_buf_free(&out);
    tern_buf_free(&recv);
    tern_buf_free(&s.got);
    tern_tls_ctx_free(ctx);
}

static void test_verify(void **state)
{
    (void)state;
    tern_tls_ctx *ctx = make_ctx(true);
    sink s = { 0 };
    peer c;
    tern_tls_conn *t;

    peer_new(&c, "client");
    t = tern_tls_conn_new(ctx);
    assert_int_equal(handshake(&c, t, &s), TERN_TLS_OK);
    assert_true(tern_tls_conn_established(t));
    tern_tls_conn_free(t);
    peer_free(&c);

    peer_new(&c, NULL);
    t = tern_tls_conn_new(ctx);
    assert_int_equal(handshake(&c, t, &s), TERN_TLS_ERROR);
    assert_false(tern_tls_conn_established(t));
    if (!strstr(tern_tls_conn_error(t), "certificate"))
        fail_msg("error: %s", tern_tls_conn_error(t));
    tern_tls_conn_free(t);
    peer_free(&c);

    peer_new(&c, "rogue");
    t = tern_tls_conn_new(ctx);
    assert_int_equal(handshake(&c, t, &s), TERN_TLS_ERROR);
    assert_non_null(strstr(tern_tls_conn_error(t), "client certificate verification failed"));
    tern_tls_conn_free(t);
    peer_free(&c);

    tern_buf_free(&s.got);
    tern_tls_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_flags_over_file),
        cmocka_unit_test(test_engine),
        cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
