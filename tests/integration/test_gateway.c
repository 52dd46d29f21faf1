/* Two ternd gateways: east dials west (west's outbound back is implicit,
 * learned from east's INFO). Plain, header, request/reply and queue
 * traffic both ways (a queue group is served once, locally first);
 * accounts stay apart across the gateway; gateway authorization (the
 * credentials in the remote's URL; a wrong one is refused); an entry
 * with our own name is ignored; a client or a wrong-name gateway on the
 * gateway port is refused as by nats-server; west restarting on the same
 * port is reconnected. */
#include "test_gateway.h"

#define MESH_MS 15000

static const char *accounts =
    "accounts:\n"
    "  A:\n"
    "    users: [ { user: a, password: a } ]\n"
    "  B:\n"
    "    users: [ { user: b, password: b } ]\n";

static bool start_west(gw_node *w)
{
    char top[512];
    snprintf(top, sizeof top, "%s", accounts);
    return gw_start(w, "west", NULL, false, "    authorization: { user: gw, password: s3cret, timeout: 2s }\n",
                    top);
}

int main(void)
{
    if (it_ternd_only())
        return 0;
    gw_node e = { 0 }, w = { 0 };
    natsConnection *ea = NULL, *eb = NULL, *wa = NULL, *wb = NULL;
    e.gport = it_free_port();
    w.gport = it_free_port();
    int bogus = it_free_port();
    char r1[200], r2[200], remotes[420], top[512];
    gw_remote(r1, sizeof r1, "west", "gw:s3cret", w.gport);
    gw_remote(r2, sizeof r2, "east", NULL, bogus);   /* our own name: ignored */
    snprintf(remotes, sizeof remotes, "%s, %s", r1, r2);
    snprintf(top, sizeof top, "%s", accounts);
    if (!IT_CHECK(start_west(&w), "ternd west starts") ||
        !IT_CHECK(gw_start(&e, "east", remotes, false, NULL, top), "ternd east starts"))
        goto out;
    ea = it_nats_login(&e.s, "a", "a");
    eb = it_nats_login(&e.s, "b", "b");
    wa = it_nats_login(&w.s, "a", "a");
    wb = it_nats_login(&w.s, "b", "b");
    if (!IT_CHECK(ea && eb && wa && wb, "clients connect"))
        goto out;
    if (!IT_CHECK(cl_probe(ea, wa, MESH_MS) && cl_probe(wa, ea, MESH_MS), "east and west reach each other"))
        goto out;
    IT_CHECK(cl_probe(eb, wb, MESH_MS) && cl_probe(wb, eb, MESH_MS), "account B crosses too");

    /* plain both ways, accounts apart: B's subscribers on the same subject get nothing */
    cl_count pa_e = { 0 }, pa_w = { 0 }, pb_e = { 0 }, pb_w = { 0 }, fe = { 0 }, fw = { 0 };
    cl_sub(ea, "plain", NULL, &pa_e);
    cl_sub(wa, "plain", NULL, &pa_w);
    cl_sub(eb, "plain", NULL, &pb_e);
    cl_sub(wb, "plain", NULL, &pb_w);
    cl_sub(ea, "fence", NULL, &fe);
    cl_sub(wa, "fence", NULL, &fw);
    IT_CHECK(cl_probe(ea, wa, MESH_MS) && cl_probe(wa, ea, MESH_MS) && cl_probe(eb, wb, MESH_MS) &&
                 cl_probe(wb, eb, MESH_MS), "interest crosses");
    IT_CHECK(gw_fenced(ea, "plain", 100, "fence", &fw, 1), "fence east -> west");
    IT_CHECK(gw_fenced(wa, "plain", 100, "fence", &fe, 2), "fence west -> east");
    IT_CHECK(cl_wait_count(&pa_e, 200, 3000) && cl_wait_count(&pa_w, 200, 3000),
             "A's subscribers got 200 each, once (east %d, west %d)", atomic_load(&pa_e.n),
             atomic_load(&pa_w.n));
    IT_CHECK(atomic_load(&pb_e.n) == 0 && atomic_load(&pb_w.n) == 0, "B's subscribers got nothing of A's");

    /* headers */
    natsSubscription *hs = NULL;
    natsConnection_SubscribeSync(&hs, wa, "hdr");
    IT_CHECK(cl_probe(ea, wa, MESH_MS), "header interest crosses");
    natsMsg *m = NULL;
    natsMsg_Create(&m, "hdr", "reply.to", "body", 4);
    natsMsgHeader_Set(m, "X-Tern", "gw");
    natsConnection_PublishMsg(ea, m);
    natsConnection_Flush(ea);
    natsMsg_Destroy(m);
    m = NULL;
    const char *hv = NULL;
    bool got = natsSubscription_NextMsg(&m, hs, 5000) == NATS_OK;
    IT_CHECK(got && natsMsgHeader_Get(m, "X-Tern", &hv) == NATS_OK && !strcmp(hv, "gw") &&
                 natsMsg_GetReply(m) && !strcmp(natsMsg_GetReply(m), "reply.to"),
             "headers and reply cross");
    natsMsg_Destroy(m);
    natsSubscription_Destroy(hs);

    /* request/reply both ways, fresh inboxes each time */
    cl_count se = { .respond = true }, sw = { .respond = true };
    cl_sub(ea, "svc.e", NULL, &se);
    cl_sub(wa, "svc.w", NULL, &sw);
    IT_CHECK(cl_probe(ea, wa, MESH_MS) && cl_probe(wa, ea, MESH_MS), "service interest crosses");
    IT_CHECK(gw_inbox_ready(ea, "svc.w", "pong") && gw_inbox_ready(wa, "svc.e", "pong"),
             "a first request answered each way");
    atomic_store(&se.n, 0);
    atomic_store(&sw.n, 0);
    int ok1 = 0, ok2 = 0;
    for (int i = 0; i < 20; i++) {
        ok1 += gw_request_ok(ea, "svc.w", "pong", 3000);
        ok2 += gw_request_ok(wa, "svc.e", "pong", 3000);
    }
    IT_CHECK(ok1 == 20 && ok2 == 20, "requests answered across (%d, %d of 20)", ok1, ok2);
    IT_CHECK(atomic_load(&se.n) == 20 && atomic_load(&sw.n) == 20, "each request delivered once");

    /* queue groups: local first; the other cluster when none is local */
    cl_count qe = { 0 }, qw = { 0 }, qo = { 0 };
    cl_sub(ea, "q.s", "g", &qe);
    cl_sub(wa, "q.s", "g", &qw);
    cl_sub(wa, "q.o", "g", &qo);
    IT_CHECK(cl_probe(ea, wa, MESH_MS) && cl_probe(wa, ea, MESH_MS), "queue interest crosses");
    IT_CHECK(gw_fenced(ea, "q.s", 100, "fence", &fw, 3), "fence after q.s from east");
    IT_CHECK(gw_fenced(wa, "q.s", 100, "fence", &fe, 4), "fence after q.s from west");
    IT_CHECK(gw_fenced(ea, "q.o", 100, "fence", &fw, 5), "fence after q.o from east");
    IT_CHECK(cl_wait_count(&qe, 100, 3000) && cl_wait_count(&qw, 100, 3000),
             "local members preferred (east %d, west %d of 100)", atomic_load(&qe.n), atomic_load(&qw.n));
    IT_CHECK(cl_wait_count(&qo, 100, 3000), "remote-only group got %d of 100", atomic_load(&qo.n));

    /* the gateway port refuses clients, wrong credentials and wrong names */
    it_buf b = { 0 };
    int fd = it_raw_connect(w.gport, 0);
    it_raw_read_until(fd, &b, "\r\n", 3000);
    IT_CHECK(it_buf_contains(&b, "\"gateway\":\"west\"") && it_buf_contains(&b, "\"gateway_iom\":true") &&
                 it_buf_contains(&b, "\"auth_required\":true"),
             "gateway INFO announces name, interest-only mode and auth");
    it_buf_reset(&b);
    it_raw_sends(fd, "CONNECT {\"verbose\":false,\"lang\":\"c\"}\r\n");
    IT_CHECK(it_raw_read_to_close(fd, &b, 5000) >= 0 &&
                 it_buf_contains(&b, "-ERR 'attempted to connect to gateway port'"),
             "a client CONNECT is refused");
    close(fd);
    it_buf_reset(&b);
    fd = it_raw_connect(w.gport, 0);
    it_raw_sends(fd, "CONNECT {\"gateway\":\"x\",\"user\":\"gw\",\"pass\":\"bad\"}\r\n");
    IT_CHECK(it_raw_read_to_close(fd, &b, 5000) >= 0 && it_buf_contains(&b, "-ERR 'Authorization Violation'"),
             "a wrong password is refused");
    close(fd);
    it_buf_reset(&b);
    fd = it_raw_connect(w.gport, 0);
    it_raw_sends(fd, "PING\r\n");
    IT_CHECK(it_raw_read_to_close(fd, &b, 5000) >= 0 && it_buf_contains(&b, "-ERR 'Authorization Violation'"),
             "an op before CONNECT is refused");
    close(fd);
    it_buf_free(&b);
    IT_CHECK(it_log_count(&e.s, "\"east\"") == 0 || it_log_count(&e.s, "Error connecting to explicit gateway \"east\"") == 0,
             "the entry with our own name is never dialed");

    /* west goes away and comes back on the same port: east reconnects */
    gw_stop(&w);
    natsConnection_Destroy(wa);
    natsConnection_Destroy(wb);
    wa = wb = NULL;
    w.s.port = 0;
    if (!IT_CHECK(start_west(&w), "ternd west restarts on its gateway port"))
        goto out;
    wa = it_nats_login(&w.s, "a", "a");
    IT_CHECK(wa && cl_probe(ea, wa, MESH_MS) && cl_probe(wa, ea, MESH_MS), "east and west reach each other again");

    /* reload: west is dropped from east's list, its outbound closes; a
     * new name cannot be taken live and is said so */
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/00-server.yaml", e.s.dir);
    char *conf = it_read_file(path, NULL);
    char *g = conf ? strstr(conf, "    gateways: [") : NULL;
    char *eol = g ? strchr(g, '\n') : NULL;
    if (IT_CHECK(g && eol, "east's configuration has its gateways line")) {
        char next[8192];
        snprintf(next, sizeof next, "%.*s    gateways: []\n%s", (int)(g - conf), conf, eol + 1);
        char *nm = strstr(next, "    name: east");
        if (nm)
            memcpy(nm, "    name: eas2", 14);
        it_write_file(path, next);
        IT_RELOAD(&e.s, true);
        IT_CHECK(it_await_log_count(&e.s, "closed: Gateway Removed", 1, 10000),
                 "the removed gateway's outbound connection closes");
        IT_CHECK(it_await_log_count(&e.s, "cannot be reloaded", 1, 5000), "the name change is refused in the log");
    }
    free(conf);
out:
    cl_subs_free();
    natsConnection_Destroy(ea);
    natsConnection_Destroy(eb);
    natsConnection_Destroy(wa);
    natsConnection_Destroy(wb);
    gw_stop(&e);
    gw_stop(&w);
    return it_summary();
}
