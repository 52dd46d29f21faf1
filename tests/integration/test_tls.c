/* TLS on the client port, with certificates made here by the `openssl`
 * command line (a CA, a server certificate for 127.0.0.1/localhost, a
 * client certificate, and a client certificate from a CA the server does
 * not trust):
 *   - INFO goes out in plain text with tls_required, then cnats upgrades;
 *     pub/sub works, and a 1 MiB message makes the round trip (the
 *     server's ciphertext exceeds the socket buffer: partial writes);
 *   - a plain client that sends CONNECT gets nothing more and is closed,
 *     as by nats-server;
 *   - a client that never starts the handshake is closed after the TLS
 *     timeout without a word, while a TLS client on the same server keeps
 *     being served the whole time;
 *   - with verify: tls_verify in INFO; a client certificate from the CA
 *     gets in, none or one from another CA is refused. */
#include "harness.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[128];
static char ca[256], srv_cert[256], srv_key[256], cli_cert[256], cli_key[256];
static char rogue_cert[256], rogue_key[256];

/* ---- certificates ------------------------------------------------------ */

static int make_certs(void)
{
    snprintf(dir, sizeof dir, "/tmp/tern-it-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(srv_cert, sizeof srv_cert, "%s/server.pem", dir);
    snprintf(srv_key, sizeof srv_key, "%s/server.key", dir);
    snprintf(cli_cert, sizeof cli_cert, "%s/client.pem", dir);
    snprintf(cli_key, sizeof cli_key, "%s/client.key", dir);
    snprintf(rogue_cert, sizeof rogue_cert, "%s/rogue.pem", dir);
    snprintf(rogue_key, sizeof rogue_key, "%s/rogue.key", dir);
    if (it_make_cert(dir, "ca", "Tern Test CA", NULL, NULL) ||
        it_make_cert(dir, "server", "localhost",
                     "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
                     "ca") ||
        it_make_cert(dir, "client", "tern-client", "extendedKeyUsage=clientAuth", "ca") ||
        it_make_cert(dir, "rogueca", "Rogue CA", NULL, NULL) ||
        it_make_cert(dir, "rogue", "rogue-client", "extendedKeyUsage=clientAuth", "rogueca"))
        return -1;
    return 0;
}

/* ---- clients --------------------------------------------------------- */

/* cnats over TLS trusting our CA; with a client certificate when given.
 * Returns the status of the connect. */
static natsStatus tls_connect(const it_server *s, const char *cert, const char *key,
                              natsConnection **nc)
{
    natsOptions *o = NULL;
    natsStatus st = natsOptions_Create(&o);
    if (st == NATS_OK)
        st = natsOptions_SetURL(o, s->url);
    if (st == NATS_OK)
        st = natsOptions_SetAllowReconnect(o, false);
    if (st == NATS_OK)
        st = natsOptions_SetTimeout(o, 5000);
    if (st == NATS_OK)
        st = natsOptions_SetSecure(o, true);
    if (st == NATS_OK)
        st = natsOptions_LoadCATrustedCertificates(o, ca);
    if (st == NATS_OK && cert)
        st = natsOptions_LoadCertificatesChain(o, cert, key);
    if (st == NATS_OK)
        st = natsConnection_Connect(nc, o);
    natsOptions_Destroy(o);
    return st;
}

static bool round_trip(natsConnection *nc, const char *subj, const char *data, int len)
{
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    bool ok = natsConnection_SubscribeSync(&sub, nc, subj) == NATS_OK &&
              natsConnection_Publish(nc, subj, data, len) == NATS_OK &&
              natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK &&
              natsMsg_GetDataLength(m) == len && memcmp(natsMsg_GetData(m), data, (size_t)len) == 0;
    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);
    return ok;
}

/* Read the plain INFO line a TLS server sends first. */
static int raw_info(const it_server *s, it_buf *b)
{
    int fd = it_raw_connect(s->port, 0);
    if (fd < 0)
        return -1;
    if (it_raw_read_until(fd, b, "\r\n", 3000) != IT_FOUND) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether fd's peer closed (EOF or reset) within wait_ms; bytes read
 * meanwhile are added to *extra. */
static bool peer_closed(int fd, int wait_ms, size_t *extra)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, wait_ms) <= 0)
        return false;
    char tmp[4096];
    ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n > 0) {
        *extra += (size_t)n;
        return false;
    }
    return true;
}

/* ---- scenarios -------------------------------------------------------- */

static void test_tls_basic(void)
{
    it_server s;
    it_opts o = { .tls_cert = srv_cert, .tls_key = srv_key, .tls_timeout_ms = 1000 };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "TLS server start"))
        return;

    it_buf b = { 0 };
    int fd = raw_info(&s, &b);
    IT_CHECK(fd >= 0 && strncmp(b.data, "INFO {", 6) == 0, "INFO in plain text before TLS");
    IT_CHECK(it_buf_contains(&b, "\"tls_required\":true"), "INFO has tls_required: %s", b.data);
    IT_CHECK(!it_buf_contains(&b, "tls_verify"), "no tls_verify without verification");
    if (fd >= 0) {
        /* A plain client: nats-server answers nothing and closes. */
        size_t before = b.len;
        it_raw_sends(fd, "CONNECT {\"verbose\":false}\r\nPING\r\n");
        int r = it_raw_read_to_close(fd, &b, 3000);
        IT_CHECK(r == IT_CLOSED, "plain CONNECT on a TLS port: connection closed");
        IT_CHECK(b.len == before, "plain CONNECT on a TLS port: nothing sent back (%zu bytes)",
                 b.len - before);
        close(fd);
    }

    natsConnection *nc = NULL;
    natsStatus st = tls_connect(&s, NULL, NULL, &nc);
    IT_CHECK(st == NATS_OK, "cnats connects over TLS: %s", natsStatus_GetText(st));
    if (nc) {
        IT_CHECK(round_trip(nc, "tls.small", "hello", 5), "pub/sub over TLS");

        /* 1 MiB both ways: the publish arrives in many reads, the
         * delivery leaves in many partial writes. */
        int big = 1024 * 1024;
        char *data = malloc((size_t)big);
        for (int i = 0; i < big; i++)
            data[i] = (char)('a' + (i * 7 + i / 1024) % 26);
        IT_CHECK(round_trip(nc, "tls.big", data, big), "1 MiB message round trip over TLS");

        /* Several at once: output queues up behind a blocked write. */
        natsSubscription *sub = NULL;
        int got = 0;
        if (natsConnection_SubscribeSync(&sub, nc, "tls.burst") == NATS_OK) {
            for (int i = 0; i < 8; i++)
                natsConnection_Publish(nc, "tls.burst", data, big / 2);
            natsMsg *m = NULL;
            while (got < 8 && natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK) {
                if (natsMsg_GetDataLength(m) == big / 2 && memcmp(natsMsg_GetData(m), data, (size_t)big / 2) == 0)
                    got++;
                natsMsg_Destroy(m);
                m = NULL;
            }
            natsSubscription_Destroy(sub);
        }
        IT_CHECK(got == 8, "8 × 512 KiB over TLS intact: %d", got);
        free(data);

        /* The handshake deadline: a client that never starts TLS is
         * dropped after ~1 s while this one keeps being served. */
        it_buf_reset(&b);
        int idle = raw_info(&s, &b);
        IT_CHECK(idle >= 0, "idle client gets INFO");
        if (idle >= 0) {
            int64_t t0 = it_now_ms(), worst = 0;
            size_t extra = 0;
            int flushes = 0;
            bool closed = false;
            while (!closed && it_now_ms() - t0 < 5000) {
                int64_t f0 = it_now_ms();
                if (natsConnection_PublishString(nc, "tls.live", "x") == NATS_OK &&
                    natsConnection_FlushTimeout(nc, 2000) == NATS_OK)
                    flushes++;
                int64_t took = it_now_ms() - f0;
                if (took > worst)
                    worst = took;
                closed = peer_closed(idle, 20, &extra);
            }
            int64_t after = it_now_ms() - t0;
            IT_CHECK(closed, "client without handshake closed (after %lld ms)", (long long)after);
            IT_CHECK(after >= 700 && after <= 3000, "closed after the 1 s TLS timeout: %lld ms",
                     (long long)after);
            IT_CHECK(extra == 0, "nothing sent to the client that never handshook (%zu bytes)", extra);
            IT_CHECK(flushes >= 10 && worst < 500,
                     "TLS client served meanwhile: %d flushes, slowest %lld ms", flushes,
                     (long long)worst);
            close(idle);
        }
        IT_CHECK(round_trip(nc, "tls.after", "still", 5), "TLS client works after the timeout");
        natsConnection_Destroy(nc);
    }
    char *log = it_server_log(&s);
    IT_CHECK(log && strstr(log, "TLS handshake"), "handshake failure/timeout logged");
    free(log);
    it_buf_free(&b);
    it_server_stop(&s);
}

static void test_tls_verify(void)
{
    it_server s;
    it_opts o = { .tls_cert = srv_cert, .tls_key = srv_key, .tls_ca = ca, .tls_verify = true };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "TLS verify server start"))
        return;

    it_buf b = { 0 };
    int fd = raw_info(&s, &b);
    IT_CHECK(fd >= 0 && it_buf_contains(&b, "\"tls_required\":true") &&
                 it_buf_contains(&b, "\"tls_verify\":true"),
             "INFO has tls_required and tls_verify: %s", b.data ? b.data : "");
    if (fd >= 0)
        close(fd);

    natsConnection *nc = NULL;
    natsStatus st = tls_connect(&s, cli_cert, cli_key, &nc);
    IT_CHECK(st == NATS_OK, "client certificate from the CA accepted: %s", natsStatus_GetText(st));
    if (nc) {
        IT_CHECK(round_trip(nc, "verify.ok", "certified", 9), "pub/sub with a client certificate");
        natsConnection_Destroy(nc);
        nc = NULL;
    }

    st = tls_connect(&s, NULL, NULL, &nc);
    IT_CHECK(st != NATS_OK, "no client certificate: refused (%s)", natsStatus_GetText(st));
    natsConnection_Destroy(nc);
    nc = NULL;

    st = tls_connect(&s, rogue_cert, rogue_key, &nc);
    IT_CHECK(st != NATS_OK, "client certificate from another CA: refused (%s)", natsStatus_GetText(st));
    natsConnection_Destroy(nc);

    char *log = it_server_log(&s);
    IT_CHECK(log && strstr(log, "TLS handshake error"), "refusals logged as TLS handshake errors");
    free(log);
    it_buf_free(&b);
    it_server_stop(&s);
}

int main(void)
{
    if (!IT_CHECK(make_certs() == 0, "test certificates made with openssl"))
        return it_summary();
    test_tls_basic();
    test_tls_verify();
    if (!getenv("TERN_TEST_KEEP"))
        it_remove_tree(dir);
    nats_Close();
    return it_summary();
}
