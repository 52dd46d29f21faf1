/* Reloading users and permissions (issue 5, SIGHUP): a user removed or
 * whose password changed is disconnected with 'Authorization Violation'
 * (nats-server 2.9.10 sends it for a changed password; a removed user it
 * closes silently or not at all — Tern always disconnects with the error);
 * a user whose permissions changed keeps the connection with the new
 * permissions (subscriptions no longer allowed are removed with the
 * permissions error); everyone else is untouched; and 20 reloads under
 * traffic lose no message and drop no connection. (ternd only: the
 * configuration is rewritten in Tern's YAML.) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char before[] =
    "accounts:\n"
    "  A:\n"
    "    users:\n"
    "      - { user: keep, password: p }\n"
    "      - { user: gone, password: p }\n"
    "      - { user: chpw, password: p }\n"
    "      - { user: perm, password: p, permissions: { publish: [\"x.>\"], subscribe: [\"x.>\"] } }\n";

static const char after[] =
    "accounts:\n"
    "  A:\n"
    "    users:\n"
    "      - { user: keep, password: p }\n"
    "      - { user: chpw, password: new }\n"
    "      - { user: perm, password: p, permissions: { publish: [\"y.>\"], subscribe: [\"y.>\", x.kept] } }\n";

static void write_conf(const it_server *s, const char *text)
{
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/50-accounts.yaml", s->dir);
    IT_CHECK(it_write_file(path, text), "write %s", path);
}

static int login(const it_server *s, const char *user, const char *pass, it_buf *b)
{
    char json[256];
    snprintf(json, sizeof json, "{\"verbose\":false,\"user\":\"%s\",\"pass\":\"%s\"}", user, pass);
    int fd = it_raw_client(s->port, json, b);
    IT_CHECK(fd >= 0, "%s logs in", user);
    it_buf_reset(b);
    return fd;
}

static void test_changes(it_server *s)
{
    it_buf bk = {0}, bg = {0}, bc = {0}, bp = {0};
    int keep = login(s, "keep", "p", &bk), gone = login(s, "gone", "p", &bg);
    int chpw = login(s, "chpw", "p", &bc), perm = login(s, "perm", "p", &bp);
    if (keep < 0 || gone < 0 || chpw < 0 || perm < 0)
        goto out;
    it_raw_sends(perm, "SUB x.> 1\r\nSUB x.kept 2\r\nPING\r\n");
    it_raw_read_until(perm, &bp, "PONG\r\n", 5000);
    it_buf_reset(&bp);

    write_conf(s, after);
    if (!IT_RELOAD(s, true))
        goto out;
    int r = it_raw_read_to_close(gone, &bg, 5000);
    IT_CHECK(r == IT_CLOSED && it_buf_contains(&bg, "-ERR 'Authorization Violation'\r\n"),
             "the removed user is disconnected: [%.*s]", (int)bg.len, bg.data);
    r = it_raw_read_to_close(chpw, &bc, 5000);
    IT_CHECK(r == IT_CLOSED && it_buf_contains(&bc, "-ERR 'Authorization Violation'\r\n"),
             "the user whose password changed is disconnected: [%.*s]", (int)bc.len, bc.data);

    it_raw_sends(perm, "PING\r\n");
    r = it_raw_read_until(perm, &bp, "PONG\r\n", 5000);
    IT_CHECK(r == IT_FOUND && it_buf_contains(&bp, "-ERR 'Permissions Violation for Subscription to \"x.>\" (sid \"1\")'\r\n"),
             "the subscription no longer allowed is removed with the error: [%.*s]", (int)bp.len, bp.data);
    it_buf_reset(&bp);
    it_raw_sends(perm, "PUB x.a 1\r\na\r\nPUB y.a 1\r\nb\r\nSUB y.b 3\r\nPUB y.b 1\r\nc\r\nPING\r\n");
    r = it_raw_read_until(perm, &bp, "PONG\r\n", 5000);
    IT_CHECK(r == IT_FOUND && it_buf_contains(&bp, "-ERR 'Permissions Violation for Publish to \"x.a\"'") &&
             !it_buf_contains(&bp, "y.a\"") && it_buf_contains(&bp, "MSG y.b 3 1\r\nc\r\n"),
             "the new permissions apply to the live connection: [%.*s]", (int)bp.len, bp.data);
    /* x.kept, still allowed, still delivers */
    it_buf_reset(&bp);
    it_raw_sends(keep, "PUB x.kept 1\r\nk\r\nPING\r\n");
    it_raw_read_until(keep, &bk, "PONG\r\n", 5000);
    r = it_raw_read_until(perm, &bp, "MSG x.kept 2 1\r\nk\r\n", 5000);
    IT_CHECK(r == IT_FOUND, "the subscription still allowed keeps delivering");
    it_buf_reset(&bk);
    it_raw_sends(keep, "SUB k 1\r\nPUB k 2\r\nok\r\nPING\r\n");
    r = it_raw_read_until(keep, &bk, "PONG\r\n", 5000);
    IT_CHECK(r == IT_FOUND && it_buf_contains(&bk, "MSG k 1 2\r\nok\r\n"),
             "an unchanged user keeps its connection: [%.*s]", (int)bk.len, bk.data);
out:
    if (keep >= 0) close(keep);
    if (gone >= 0) close(gone);
    if (chpw >= 0) close(chpw);
    if (perm >= 0) close(perm);
    it_buf_free(&bk);
    it_buf_free(&bg);
    it_buf_free(&bc);
    it_buf_free(&bp);
}

/* 20 reloads while a publisher streams to a subscriber: every message
 * arrives, in order, and neither connection drops. */
static void test_reloads_under_traffic(it_server *s)
{
    natsOptions *o = NULL;
    natsConnection *pub = NULL, *sub = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, s->url);
    natsOptions_SetAllowReconnect(o, false);
    natsOptions_SetUserInfo(o, "keep", "p");
    natsConnection_Connect(&pub, o);
    natsConnection_Connect(&sub, o);
    natsOptions_Destroy(o);
    natsSubscription *ss = NULL;
    if (!IT_CHECK(pub && sub, "two clients connect"))
        goto out;
    natsConnection_SubscribeSync(&ss, sub, "traffic");
    natsSubscription_SetPendingLimits(ss, -1, -1);
    natsConnection_Flush(sub);
    int sent = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 500; i++) {
            char body[16];
            snprintf(body, sizeof body, "%d", sent++);
            natsConnection_PublishString(pub, "traffic", body);
        }
        natsConnection_Flush(pub);
        write_conf(s, round % 2 ? before : after);
        IT_RELOAD(s, true);
    }
    natsConnection_Flush(pub);
    int got = 0;
    bool ordered = true;
    natsMsg *m = NULL;
    while (got < sent && natsSubscription_NextMsg(&m, ss, 5000) == NATS_OK) {
        ordered &= atoi(natsMsg_GetData(m)) == got;
        got++;
        natsMsg_Destroy(m);
    }
    IT_CHECK(got == sent && ordered, "all %d messages arrive in order across 20 reloads (%d)", sent, got);
    IT_CHECK(!natsConnection_IsClosed(pub) && !natsConnection_IsClosed(sub),
             "no connection dropped");
out:
    natsSubscription_Destroy(ss);
    natsConnection_Destroy(pub);
    natsConnection_Destroy(sub);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    it_server s;
    it_opts o = {.auth_yaml = before, .log_file = true};
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts"))
        return it_summary();
    test_changes(&s);
    test_reloads_under_traffic(&s);
    it_server_stop(&s);
    return it_summary();
}
