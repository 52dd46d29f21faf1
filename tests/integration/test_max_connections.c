/* max_connections: the connection past the limit receives INFO, then
 * -ERR 'maximum connections exceeded', and is closed; once a client leaves,
 * a new one is accepted again. */
#include "harness.h"

#include <string.h>
#include <unistd.h>

#define LIMIT 3

int main(void)
{
    it_server s;
    it_opts o = { .max_connections = LIMIT };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server start"))
        return it_summary();
    it_buf b = { 0 };
    int fds[LIMIT];
    natsConnection *nc = it_nats_connect(&s);
    IT_CHECK(nc != NULL, "cnats client 1 of %d", LIMIT);
    for (int i = 1; i < LIMIT; i++) {
        it_buf_reset(&b);
        fds[i] = it_raw_client(s.port, "{\"verbose\":false}", &b);
        IT_CHECK(fds[i] >= 0, "raw client %d of %d", i + 1, LIMIT);
    }

    it_buf_reset(&b);
    int extra = it_raw_connect(s.port, 0);
    if (IT_CHECK(extra >= 0, "TCP connect past the limit")) {
        int r = it_raw_read_to_close(extra, &b, 5000);
        IT_CHECK(r == IT_CLOSED, "connection past the limit closed (%d)", r);
        const char *err = b.data ? strstr(b.data, "\r\n") : NULL;
        IT_CHECK(b.len && strncmp(b.data, "INFO {", 6) == 0 && err &&
                     strcmp(err + 2, "-ERR 'maximum connections exceeded'\r\n") == 0,
                 "got \"%s\"", b.data ? b.data : "");
        close(extra);
    }
    IT_CHECK(natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED &&
                 natsConnection_Flush(nc) == NATS_OK,
             "existing clients unaffected");
    natsConnection *refused = it_nats_connect(&s);
    IT_CHECK(refused == NULL, "cnats connection past the limit fails");
    natsConnection_Destroy(refused);

    /* A slot frees up once the server has processed a close; poll. */
    close(fds[1]);
    int again = -1;
    int64_t deadline = it_now_ms() + 5000;
    while (again < 0 && it_now_ms() < deadline) {
        it_buf_reset(&b);
        again = it_raw_client(s.port, "{\"verbose\":false}", &b);
        if (again < 0)
            it_poll_pause();
    }
    IT_CHECK(again >= 0, "a client is accepted after another left");
    if (again >= 0)
        close(again);
    for (int i = 2; i < LIMIT; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    natsConnection_Destroy(nc);
    it_buf_free(&b);
    it_server_stop(&s);
    nats_Close();
    return it_summary();
}
