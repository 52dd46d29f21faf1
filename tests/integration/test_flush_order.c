/* A PONG comes after every message published before its PING.
 *
 * NATS clients rely on it (nats-server delivers synchronously): once a
 * publisher's PING is answered, the server has routed its messages, and a
 * subscriber's PING sent after that is answered only after those messages.
 * With two workers the publisher and the subscriber sit on different
 * workers, so the messages cross in a batch; the subscriber's PONG must
 * not overtake it. Large messages make the batches big. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ROUNDS   150
#define PER_ROUND 40
#define SIZE     16384

int main(void)
{
    it_server s;
    it_opts o = { 0 };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts"))
        return it_summary();
    it_buf sb = {0}, pb = {0};
    int sub = it_raw_client(s.port, "{\"verbose\":false}", &sb);
    int pub = it_raw_client(s.port, "{\"verbose\":false}", &pb);
    if (!IT_CHECK(sub >= 0 && pub >= 0, "two raw clients"))
        goto out;
    it_buf_reset(&sb);
    it_raw_sends(sub, "SUB order.x 1\r\nPING\r\n");
    IT_CHECK(it_raw_read_until(sub, &sb, "PONG\r\n", 5000) == IT_FOUND, "subscribed");
    it_buf_reset(&sb);

    char *payload = malloc(SIZE);
    memset(payload, 'x', SIZE);
    char head[64];
    int hl = snprintf(head, sizeof head, "PUB order.x %d\r\n", SIZE);
    size_t frame = (size_t)hl + SIZE + 2;
    char *batch = malloc(frame * PER_ROUND + 8);
    size_t n = 0;
    for (int i = 0; i < PER_ROUND; i++) {
        memcpy(batch + n, head, (size_t)hl);
        n += (size_t)hl;
        memcpy(batch + n, payload, SIZE);
        n += SIZE;
        memcpy(batch + n, "\r\n", 2);
        n += 2;
    }
    memcpy(batch + n, "PING\r\n", 6);
    n += 6;

    char mhead[64];
    snprintf(mhead, sizeof mhead, "MSG order.x 1 %d\r\n", SIZE);
    int bad = 0;
    size_t total = 0;
    for (int r = 0; r < ROUNDS && !bad; r++) {
        it_buf_reset(&pb);
        it_raw_send(pub, batch, n);
        if (it_raw_read_until(pub, &pb, "PONG\r\n", 10000) != IT_FOUND) {
            bad = -1;
            break;
        }
        total += PER_ROUND;
        /* the publisher's PONG came: the subscriber's PONG must follow
         * every one of those messages */
        it_raw_sends(sub, "PING\r\n");
        if (it_raw_read_until(sub, &sb, "PONG\r\n", 10000) != IT_FOUND) {
            bad = -2;
            break;
        }
        size_t got = it_buf_count(&sb, mhead);
        if (got != total) {
            printf("round %d: %zu messages before the PONG, %zu published\n", r, got, total);
            bad = r + 1;
        }
        /* keep only what follows the PONG (nothing is expected) */
        char *p = NULL;
        for (char *q = sb.data; (q = memmem(q, sb.len - (size_t)(q - sb.data), "PONG\r\n", 6)); q += 6)
            p = q + 6;
        size_t rest = sb.len - (size_t)(p - sb.data);
        memmove(sb.data, p, rest);
        sb.len = rest;
        total = 0;
    }
    IT_CHECK(bad == 0, "%d rounds of %d x %d bytes: every message before the subscriber's PONG (%d)",
             ROUNDS, PER_ROUND, SIZE, bad);
    free(batch);
    free(payload);
out:
    if (sub >= 0)
        close(sub);
    if (pub >= 0)
        close(pub);
    it_buf_free(&sb);
    it_buf_free(&pb);
    it_server_stop(&s);
    return it_summary();
}
