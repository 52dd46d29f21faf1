/* TLS on client connections, with OpenSSL driven through memory BIOs.
 *
 * The socket stays libuv's: ciphertext read from it is handed to
 * tern_tls_conn_feed(), which advances the handshake and decrypts into a
 * caller buffer; plaintext to send is turned into ciphertext by
 * tern_tls_conn_seal() just before the socket write. Nothing here ever
 * touches a file descriptor or blocks, so a slow or stuck handshake costs
 * its own connection a timer and nothing else on the worker.
 *
 * A tern_tls_ctx is immutable once built and shared by every worker (the
 * SSL_CTX is reference counted: a connection keeps the context it started
 * with across a reload). A tern_tls_conn belongs to its connection's
 * worker. */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "opts.h"

typedef struct tern_tls_ctx tern_tls_ctx;
typedef struct tern_tls_conn tern_tls_conn;

/* Build the server context from o (certificate chain, key, client CA,
 * verification, versions, ciphers). Returns NULL with a reason in err,
 * worded as nats-server's where it has one ("error parsing X509
 * certificate/key pair: open c.pem: no such file or directory"). */
tern_tls_ctx *tern_tls_ctx_new(const tern_tls_opts *o, char *err, size_t errlen);
/* Drop a reference (connections hold their own). NULL is fine. */
void tern_tls_ctx_free(tern_tls_ctx *ctx);

/* Whether name is a cipher OpenSSL knows: an IANA/Go name such as
 * "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" or an OpenSSL name such as
 * "ECDHE-RSA-AES128-GCM-SHA256"; TLS 1.3 suites ("TLS_AES_128_GCM_SHA256")
 * too. *tls13 tells which list it belongs to. The OpenSSL spelling is
 * written into out. */
bool tern_tls_cipher_name(const char *name, char *out, size_t outlen, bool *tls13);

typedef enum tern_tls_status {
    TERN_TLS_OK,        /* everything available was consumed */
    TERN_TLS_STOPPED,   /* the plaintext handler asked to stop */
    TERN_TLS_CLOSED,    /* the peer sent close_notify */
    TERN_TLS_ERROR,     /* handshake or record error: close (reason in
                           tern_tls_conn_error) */
} tern_tls_status;

typedef struct tern_tls_handlers {
    /* The handshake just completed (called once, before any plaintext). */
    void (*established)(void *ud);
    /* Decrypted bytes; the buffer is reused after the call returns.
     * Return false to stop (connection closed or reads paused); what is
     * not decrypted yet stays buffered for the next feed. */
    bool (*plain)(void *ud, const char *p, size_t n);
} tern_tls_handlers;

tern_tls_conn *tern_tls_conn_new(tern_tls_ctx *ctx);

/* The client side, for connections the server dials (modules' links,
 * modconn.h): a context with an optional certificate, the CAs that
 * verify the peer (NULL: the system's) and whether to verify it at all;
 * a connection that sends server_name as SNI and, with check_name, also
 * requires the peer's certificate to match it. */
tern_tls_ctx *tern_tls_client_ctx_new(const char *cert, const char *key, const char *ca,
                                      bool verify, char *err, size_t errlen);
tern_tls_conn *tern_tls_conn_new_client(tern_tls_ctx *ctx, const char *server_name,
                                        bool check_name);
void tern_tls_conn_free(tern_tls_conn *t);

/* Take n bytes of ciphertext (copied first, so cipher may alias buf; n may
 * be 0 to resume after TERN_TLS_STOPPED), advance the handshake, then
 * decrypt into buf (cap bytes) and call h->plain per chunk. Handshake
 * replies and alerts wait inside for tern_tls_conn_seal(). */
tern_tls_status tern_tls_conn_feed(tern_tls_conn *t, const char *cipher, size_t n, char *buf,
                                   size_t cap, const tern_tls_handlers *h, void *ud);

/* Turn *out into the bytes to write to the socket: once the handshake is
 * done its plaintext is encrypted. Before, the first call leaves it as it
 * is (the plain INFO goes out ahead of the handshake) and later calls
 * drop it: nothing is written in clear once the handshake may have begun.
 * Pending TLS output is appended in order. Returns 0, or -1 on an
 * encryption error. */
int tern_tls_conn_seal(tern_tls_conn *t, tern_buf *out);

/* TLS output waiting for tern_tls_conn_seal() (handshake messages,
 * alerts, session tickets). */
bool tern_tls_conn_wants_write(const tern_tls_conn *t);

bool tern_tls_conn_established(const tern_tls_conn *t);

/* Queue a close_notify alert (only once the handshake is done). */
void tern_tls_conn_shutdown(tern_tls_conn *t);

/* Why the last feed or seal failed ("" when it did not). */
const char *tern_tls_conn_error(const tern_tls_conn *t);

/* "1.3" and the IANA cipher name of an established connection, for the
 * "TLS version …, cipher suite …" debug line. */
const char *tern_tls_conn_version(const tern_tls_conn *t);
const char *tern_tls_conn_cipher(const tern_tls_conn *t);

#endif
