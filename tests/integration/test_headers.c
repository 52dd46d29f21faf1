/* Headers: a message published with headers by cnats arrives intact at a
 * cnats subscriber (HMSG); a raw client that did not negotiate headers
 * gets it as a plain MSG with the header block stripped; a raw client that
 * did gets an HMSG whose sizes add up. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    it_server s;
    if (!IT_CHECK(it_server_start(&s, NULL) == 0, "server start"))
        return it_summary();
    natsConnection *sc = it_nats_connect(&s), *pc = it_nats_connect(&s);
    natsSubscription *sub = NULL;
    it_buf plain = { 0 }, hdr = { 0 };
    int fd_plain = it_raw_client(s.port, "{\"verbose\":false}", &plain);
    int fd_hdr = it_raw_client(s.port, "{\"verbose\":false,\"headers\":true,\"protocol\":1}", &hdr);
    if (!IT_CHECK(sc && pc && fd_plain >= 0 && fd_hdr >= 0, "connect") ||
        !IT_CHECK(natsConnection_SubscribeSync(&sub, sc, "h.test") == NATS_OK &&
                      natsConnection_Flush(sc) == NATS_OK,
                  "subscribe")) {
        it_server_stop(&s);
        return it_summary();
    }
    it_buf_reset(&plain);
    it_buf_reset(&hdr);
    IT_CHECK(it_raw_sends(fd_plain, "SUB h.test 7\r\nPING\r\n") == 0 &&
                 it_raw_read_until(fd_plain, &plain, "PONG\r\n", 5000) == IT_FOUND,
             "raw plain client subscribes");
    IT_CHECK(it_raw_sends(fd_hdr, "SUB h.test 9\r\nPING\r\n") == 0 &&
                 it_raw_read_until(fd_hdr, &hdr, "PONG\r\n", 5000) == IT_FOUND,
             "raw headers client subscribes");
    it_buf_reset(&plain);
    it_buf_reset(&hdr);

    natsMsg *m = NULL;
    IT_CHECK(natsMsg_Create(&m, "h.test", NULL, "hello", 5) == NATS_OK, "create message");
    IT_CHECK(natsMsgHeader_Set(m, "X-Key", "value 1") == NATS_OK &&
                 natsMsgHeader_Add(m, "X-Multi", "a") == NATS_OK &&
                 natsMsgHeader_Add(m, "X-Multi", "b") == NATS_OK,
             "set headers");
    IT_CHECK(natsConnection_PublishMsg(pc, m) == NATS_OK && natsConnection_Flush(pc) == NATS_OK,
             "publish with headers");
    natsMsg_Destroy(m);

    /* cnats subscriber: headers and payload intact. */
    m = NULL;
    if (IT_CHECK(natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK, "cnats receives")) {
        const char *v = NULL;
        const char **vals = NULL;
        int nvals = 0;
        IT_CHECK(natsMsgHeader_Get(m, "X-Key", &v) == NATS_OK && v && strcmp(v, "value 1") == 0,
                 "X-Key = \"%s\"", v ? v : "(none)");
        IT_CHECK(natsMsgHeader_Values(m, "X-Multi", &vals, &nvals) == NATS_OK && nvals == 2 &&
                     strcmp(vals[0], "a") == 0 && strcmp(vals[1], "b") == 0,
                 "X-Multi has %d values", nvals);
        free((void *)vals);
        IT_CHECK(natsMsg_GetDataLength(m) == 5 && memcmp(natsMsg_GetData(m), "hello", 5) == 0,
                 "payload intact");
        natsMsg_Destroy(m);
    }

    /* No headers negotiated: exactly a MSG with the payload only. */
    IT_CHECK(it_raw_read_until(fd_plain, &plain, "hello\r\n", 5000) == IT_FOUND,
             "raw plain client receives");
    IT_CHECK(plain.len > 0 && strcmp(plain.data, "MSG h.test 7 5\r\nhello\r\n") == 0,
             "plain client got \"%s\", want \"MSG h.test 7 5\\r\\nhello\\r\\n\"",
             plain.data ? plain.data : "");

    /* Headers negotiated: HMSG <subj> <sid> <hdr> <total>, header block
     * NATS/1.0 ... \r\n\r\n, then the payload. */
    IT_CHECK(it_raw_read_until(fd_hdr, &hdr, "hello\r\n", 5000) == IT_FOUND,
             "raw headers client receives");
    unsigned hlen = 0, tlen = 0;
    int off = 0;
    bool parsed = hdr.len > 0 && sscanf(hdr.data, "HMSG h.test 9 %u %u\r\n%n", &hlen, &tlen, &off) == 2 &&
                  off > 0;
    if (IT_CHECK(parsed, "HMSG line: \"%.60s\"", hdr.data ? hdr.data : "")) {
        const char *block = hdr.data + off;
        IT_CHECK(tlen - hlen == 5 && (size_t)off + tlen + 2 == hdr.len, "sizes %u/%u for %zu bytes",
                 hlen, tlen, hdr.len);
        IT_CHECK(strncmp(block, "NATS/1.0\r\n", 10) == 0, "header block starts NATS/1.0");
        IT_CHECK(hlen >= 4 && memcmp(block + hlen - 4, "\r\n\r\n", 4) == 0 &&
                     memcmp(block + hlen, "hello\r\n", 7) == 0,
                 "header block ends with an empty line, then the payload");
        IT_CHECK(memmem(block, hlen, "X-Key: value 1\r\n", 16) != NULL, "X-Key line present");
    }

    close(fd_plain);
    close(fd_hdr);
    it_buf_free(&plain);
    it_buf_free(&hdr);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(sc);
    natsConnection_Destroy(pc);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
