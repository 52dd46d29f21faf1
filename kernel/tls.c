/* TLS with OpenSSL over memory BIOs: the context built from server.tls and
 * the per-connection engine fed by the worker's read and write paths. */
#include "errf.h"
#include "tls.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>

#include "xalloc.h"

/* nats-server's defaultCipherSuites for TLS 1.2, in its order. TLS 1.3
 * suites are not configurable in Go; OpenSSL's default set matches them. */
#define DEFAULT_CIPHERS                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"         \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"         \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"

#define SEAL_CHUNK  (64 * 1024)   /* plaintext per SSL_write: bounds the BIO */
#define SPARE_KEEP  (64 * 1024)   /* scratch an idle connection keeps */

struct tern_tls_ctx {
    SSL_CTX *ssl;
};

struct tern_tls_conn {
    SSL     *ssl;
    BIO     *rbio;           /* ciphertext from the socket */
    BIO     *wbio;           /* ciphertext for the socket */
    bool     established;
    bool     first_seen;     /* the first byte from the peer was checked */
    bool     plain_done;     /* the plain text before the handshake went */
    tern_buf spare;          /* plaintext being sealed (reused) */
    char     err[256];
};

/* ---- errors ------------------------------------------------------------ */


/* The first reason OpenSSL queued (the most specific: later entries say
 * which layer passed it on), then the queue is emptied. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (r)
        snprintf(buf, len, "%s", r);
    else if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
    return buf;
}

/* Go's os errors read "open F: no such file or directory". */
static int check_readable(const char *path, char *why, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        return 0;
    }
    char e[128];
    snprintf(e, sizeof e, "%s", strerror(errno));
    e[0] = (char)tolower((unsigned char)e[0]);
    snprintf(why, len, "open %s: %s", path, e);
    return -1;
}

/* ---- context ------------------------------------------------------------ */

static int load_pair(SSL_CTX *ssl, const tern_tls_opts *o, char *err, size_t errlen)
{
    char why[512], r[256];
    if (check_readable(o->cert, why, sizeof why) < 0 || check_readable(o->key, why, sizeof why) < 0)
        return tern_errf(err, errlen, "error parsing X509 certificate/key pair: %s", why);
    if (SSL_CTX_use_certificate_chain_file(ssl, o->cert) != 1)
        return tern_errf(err, errlen, "error parsing X509 certificate/key pair: %s: %s", o->cert,
                    ssl_reason(r, sizeof r));
    if (SSL_CTX_use_PrivateKey_file(ssl, o->key, SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_error();
        if (ERR_GET_LIB(e) != ERR_LIB_X509 || (ERR_GET_REASON(e) != X509_R_KEY_VALUES_MISMATCH &&
                                               ERR_GET_REASON(e) != X509_R_KEY_TYPE_MISMATCH))
            return tern_errf(err, errlen, "error parsing X509 certificate/key pair: %s: %s", o->key,
                        ssl_reason(r, sizeof r));
    }
    if (ERR_peek_error() || SSL_CTX_check_private_key(ssl) != 1) {
        ERR_clear_error();
        return tern_errf(err, errlen,
                    "error parsing X509 certificate/key pair: private key does not match public key");
    }
    return 0;
}

static int load_ca(SSL_CTX *ssl, const char *ca, char *err, size_t errlen)
{
    char why[512];
    if (check_readable(ca, why, sizeof why) < 0)
        return tern_errf(err, errlen, "%s", why);
    if (SSL_CTX_load_verify_locations(ssl, ca, NULL) != 1) {
        ERR_clear_error();
        return tern_errf(err, errlen, "failed to parse root ca certificate");
    }
    /* Tell clients which CAs are acceptable (their libraries pick the
     * certificate to present from this list). */
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (names)
        SSL_CTX_set_client_CA_list(ssl, names);
    ERR_clear_error();
    return 0;
}

tern_tls_ctx *tern_tls_ctx_new(const tern_tls_opts *o, char *err, size_t errlen)
{
    if (!o->cert) {
        tern_errf(err, errlen, "TLS Server certificate must be present and valid");
        return NULL;
    }
    if (!o->key) {
        tern_errf(err, errlen, "TLS Server private key must be present and valid");
        return NULL;
    }
    ERR_clear_error();
    SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
    if (!ssl) {
        char r[256];
        tern_errf(err, errlen, "cannot create a TLS context: %s", ssl_reason(r, sizeof r));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ssl, o->min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    /* As Go's server: its cipher preference, no renegotiation. */
    SSL_CTX_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION);
    /* Idle connections give their record buffers back. */
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    static const unsigned char sid_ctx[] = "tern";
    SSL_CTX_set_session_id_context(ssl, sid_ctx, sizeof sid_ctx - 1);

    char r[256];
    if (SSL_CTX_set_cipher_list(ssl, o->ciphers ? o->ciphers : DEFAULT_CIPHERS) != 1) {
        tern_errf(err, errlen, "invalid cipher list: %s", ssl_reason(r, sizeof r));
        goto fail;
    }
    if (o->ciphersuites && SSL_CTX_set_ciphersuites(ssl, o->ciphersuites) != 1) {
        tern_errf(err, errlen, "invalid TLS 1.3 cipher suites: %s", ssl_reason(r, sizeof r));
        goto fail;
    }
    if (load_pair(ssl, o, err, errlen) < 0)
        goto fail;
    if (o->ca && load_ca(ssl, o->ca, err, errlen) < 0)
        goto fail;
    if (o->verify) {
        /* Go's RequireAndVerifyClientCert; without a CA file the system's
         * roots verify, as Go's nil ClientCAs does. */
        if (!o->ca)
            SSL_CTX_set_default_verify_paths(ssl);
        SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    ERR_clear_error();
    tern_tls_ctx *ctx = tern_xmalloc(sizeof *ctx);
    ctx->ssl = ssl;
    return ctx;
fail:
    SSL_CTX_free(ssl);
    ERR_clear_error();
    return NULL;
}

void tern_tls_ctx_free(tern_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

bool tern_tls_cipher_name(const char *name, char *out, size_t outlen, bool *tls13)
{
    SSL_CTX *tmp = SSL_CTX_new(TLS_server_method());
    if (!tmp)
        return false;
    bool ok = false;
    /* TLS 1.3 suites are spelled the same in every naming (OpenSSL takes
     * TLS 1.2 names there too, so check what the name stands for). */
    if (!strncmp(name, "TLS_", 4) && SSL_CTX_set_ciphersuites(tmp, name) == 1) {
        STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(tmp);
        for (int i = 0; all && i < sk_SSL_CIPHER_num(all); i++) {
            const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
            const char *std = SSL_CIPHER_standard_name(c);
            if (std && !strcmp(std, name) && !strcmp(SSL_CIPHER_get_version(c), "TLSv1.3")) {
                *tls13 = true;
                snprintf(out, outlen, "%s", name);
                ok = true;
                goto done;
            }
        }
    }
    *tls13 = false;
    const char *ossl = name;
    char alt[128];
    if (!strncmp(name, "TLS_", 4)) {
        ossl = OPENSSL_cipher_name(name);
        if (!strcmp(ossl, "(NONE)")) {
            /* Go's short CHACHA20 names drop the _SHA256 */
            snprintf(alt, sizeof alt, "%s_SHA256", name);
            ossl = OPENSSL_cipher_name(alt);
        }
        if (!strcmp(ossl, "(NONE)"))
            goto done;
    }
    if (strpbrk(ossl, ":, ") || SSL_CTX_set_cipher_list(tmp, ossl) != 1)
        goto done;
    snprintf(out, outlen, "%s", ossl);
    ok = true;
done:
    SSL_CTX_free(tmp);
    ERR_clear_error();
    return ok;
}

/* ---- connections ----------------------------------------------------- */

tern_tls_conn *tern_tls_conn_new(tern_tls_ctx *ctx)
{
    tern_tls_conn *t = tern_xcalloc(1, sizeof *t);
    t->ssl = SSL_new(ctx->ssl);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio)
        tern_oom();
    /* An empty read BIO means "wait for more", not end of stream. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    return t;
}

tern_tls_ctx *tern_tls_client_ctx_new(const char *cert, const char *key, const char *ca,
                                      bool verify, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ssl = SSL_CTX_new(TLS_client_method());
    char r[256];
    if (!ssl) {
        tern_errf(err, errlen, "cannot create a TLS context: %s", ssl_reason(r, sizeof r));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    tern_tls_opts o = { .cert = (char *)cert, .key = (char *)key };
    if ((cert || key) && (!cert || !key)) {
        tern_errf(err, errlen, "TLS: a certificate needs its key and the key its certificate");
        goto fail;
    }
    if (cert && load_pair(ssl, &o, err, errlen) < 0)
        goto fail;
    if (ca) {
        char why[512];
        if (check_readable(ca, why, sizeof why) < 0) {
            tern_errf(err, errlen, "%s", why);
            goto fail;
        }
        if (SSL_CTX_load_verify_locations(ssl, ca, NULL) != 1) {
            tern_errf(err, errlen, "failed to parse root ca certificate");
            goto fail;
        }
    } else {
        SSL_CTX_set_default_verify_paths(ssl);
    }
    SSL_CTX_set_verify(ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    ERR_clear_error();
    tern_tls_ctx *ctx = tern_xmalloc(sizeof *ctx);
    ctx->ssl = ssl;
    return ctx;
fail:
    SSL_CTX_free(ssl);
    ERR_clear_error();
    return NULL;
}

tern_tls_conn *tern_tls_conn_new_client(tern_tls_ctx *ctx, const char *server_name,
                                        bool check_name)
{
    tern_tls_conn *t = tern_tls_conn_new(ctx);
    SSL_set_connect_state(t->ssl);
    if (server_name && *server_name) {
        /* SNI is for names only; an address is checked as an IP SAN. */
        unsigned char ip[16];
        bool is_ip = inet_pton(AF_INET, server_name, ip) == 1 ||
                     inet_pton(AF_INET6, server_name, ip) == 1;
        if (!is_ip)
            SSL_set_tlsext_host_name(t->ssl, server_name);
        if (check_name) {
            X509_VERIFY_PARAM *p = SSL_get0_param(t->ssl);
            if (is_ip)
                X509_VERIFY_PARAM_set1_ip_asc(p, server_name);
            else
                SSL_set1_host(t->ssl, server_name);
        }
    }
    t->first_seen = true;   /* the first-record check is for servers */
    return t;
}

void tern_tls_conn_free(tern_tls_conn *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);   /* frees both BIOs */
    tern_buf_free(&t->spare);
    free(t);
}

static void set_error(tern_tls_conn *t, int ret, int e)
{
    char r[200];
    long v = SSL_get_verify_result(t->ssl);
    if (!t->established && v != X509_V_OK) {
        snprintf(t->err, sizeof t->err, "client certificate verification failed: %s",
                 X509_verify_cert_error_string(v));
        ERR_clear_error();
    } else if (e == SSL_ERROR_SSL) {
        snprintf(t->err, sizeof t->err, "%s", ssl_reason(r, sizeof r));
    } else {
        snprintf(t->err, sizeof t->err, "TLS error %d (return %d)", e, ret);
        ERR_clear_error();
    }
}

tern_tls_status tern_tls_conn_feed(tern_tls_conn *t, const char *cipher, size_t n, char *buf,
                                   size_t cap, const tern_tls_handlers *h, void *ud)
{
    t->err[0] = '\0';
    /* A plain-text client (CONNECT without TLS): say so as Go does rather
     * than with whatever OpenSSL makes of the bytes. */
    if (!t->first_seen && n > 0) {
        t->first_seen = true;
        if ((unsigned char)cipher[0] != 0x16) {
            snprintf(t->err, sizeof t->err, "first record does not look like a TLS handshake");
            return TERN_TLS_ERROR;
        }
    }
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        int w = BIO_write(t->rbio, cipher, chunk);
        if (w <= 0)
            tern_oom();
        cipher += w;
        n -= (size_t)w;
    }
    if (!t->established) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            int e = SSL_get_error(t->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return TERN_TLS_OK;
            set_error(t, r, e);
            return TERN_TLS_ERROR;
        }
        t->established = true;
        if (h->established)
            h->established(ud);
    }
    int rcap = cap > INT_MAX ? INT_MAX : (int)cap;
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(t->ssl, buf, rcap);
        if (r > 0) {
            if (!h->plain(ud, buf, (size_t)r))
                return TERN_TLS_STOPPED;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        /* WANT_WRITE cannot last with a memory BIO: its output (a
         * KeyUpdate answer, say) is already queued for the next seal. */
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return TERN_TLS_OK;
        if (e == SSL_ERROR_ZERO_RETURN)
            return TERN_TLS_CLOSED;
        set_error(t, r, e);
        return TERN_TLS_ERROR;
    }
}

static void drain(tern_tls_conn *t, tern_buf *out)
{
    size_t pend = BIO_ctrl_pending(t->wbio);
    while (pend > 0) {
        int chunk = pend > INT_MAX ? INT_MAX : (int)pend;
        tern_buf_reserve(out, (size_t)chunk);
        int r = BIO_read(t->wbio, out->data + out->len, chunk);
        if (r <= 0)
            break;
        out->len += (size_t)r;
        pend -= (size_t)r;
    }
}

int tern_tls_conn_seal(tern_tls_conn *t, tern_buf *out)
{
    if (!t->established) {
        /* The first seal sends what was queued before the handshake (the
         * INFO) as it is; after that nothing goes out in clear until the
         * handshake is done (nats-server writes nothing meanwhile). */
        if (t->plain_done)
            out->len = 0;
        t->plain_done = true;
        drain(t, out);
        return 0;
    }
    if (out->len == 0) {
        drain(t, out);
        return 0;
    }
    /* Take the plaintext out and refill *out with ciphertext. */
    tern_buf plain = *out;
    *out = t->spare;
    out->len = 0;
    int rc = 0;
    for (size_t off = 0; off < plain.len;) {
        size_t left = plain.len - off;
        int chunk = left > SEAL_CHUNK ? SEAL_CHUNK : (int)left;
        ERR_clear_error();
        int r = SSL_write(t->ssl, plain.data + off, chunk);
        if (r <= 0) {
            set_error(t, r, SSL_get_error(t->ssl, r));
            rc = -1;
            break;
        }
        off += (size_t)r;
        drain(t, out);
    }
    drain(t, out);
    plain.len = 0;
    tern_buf_reset(&plain, SPARE_KEEP);
    t->spare = plain;
    return rc;
}

bool tern_tls_conn_wants_write(const tern_tls_conn *t)
{
    return BIO_ctrl_pending(t->wbio) > 0;
}

bool tern_tls_conn_established(const tern_tls_conn *t)
{
    return t->established;
}

void tern_tls_conn_shutdown(tern_tls_conn *t)
{
    if (!t->established)
        return;
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl);   /* 0: close_notify queued, theirs not awaited */
    ERR_clear_error();
}

const char *tern_tls_conn_error(const tern_tls_conn *t)
{
    return t->err;
}

const char *tern_tls_conn_version(const tern_tls_conn *t)
{
    const char *v = SSL_get_version(t->ssl);
    return !strncmp(v, "TLSv", 4) ? v + 4 : v;
}

const char *tern_tls_conn_cipher(const tern_tls_conn *t)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
    const char *n = c ? SSL_CIPHER_standard_name(c) : NULL;
    return n ? n : "unknown";
}
