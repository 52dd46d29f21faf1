/* INTEROP: a ternd gateway "east" and a nats-server 2.9 gateway "west",
 * once with ternd dialing and once with nats-server dialing (the other
 * side's outbound connection is then implicit). Clients on each side
 * exchange plain, header (HMSG), request/reply and queue traffic (a
 * queue group is served once, by a local member when there is one);
 * interest removed on one side stops the traffic on the wire; /gatewayz
 * has nats-server's keys. */
#include "test_gateway.h"

#define MESH_MS 15000

static const char *py_gatewayz =
    "import json, sys, time, urllib.request\n"
    "def get(port):\n"
    "    return json.load(urllib.request.urlopen('http://127.0.0.1:%d/gatewayz' % port, timeout=5))\n"
    "def shape(d):\n"
    "    conns = [c['connection'] for c in d['outbound_gateways'].values()]\n"
    "    conns += [c['connection'] for l in d['inbound_gateways'].values() for c in l]\n"
    "    return (sorted(d.keys()), sorted(d['outbound_gateways'].keys()),\n"
    "            sorted(d['inbound_gateways'].keys()), [sorted(c.keys()) for c in conns])\n"
    "t, n = int(sys.argv[1]), int(sys.argv[2])\n"
    "st, sn = shape(get(t)), shape(get(n))\n"
    "st = (st[0], ['x' for _ in st[1]], ['x' for _ in st[2]], st[3])\n"
    "sn = (sn[0], ['x' for _ in sn[1]], ['x' for _ in sn[2]], sn[3])\n"
    "if st != sn:\n"
    "    print('ternd:', st); print('nats-server:', sn); sys.exit(1)\n"
    "print('gatewayz key sets equal')\n";

static void scenario(bool ternd_dials, const char *dir)
{
    gw_node t = { 0 }, n = { 0 };
    natsConnection *ct = NULL, *cn = NULL;
    int mt = it_free_port(), mn = it_free_port();
    t.gport = it_free_port();
    n.gport = it_free_port();
    char rt[160] = "", rn[160] = "", topt[128], topn[128];
    if (ternd_dials)
        gw_remote(rt, sizeof rt, "west", NULL, n.gport);
    else
        gw_remote(rn, sizeof rn, "east", NULL, t.gport);
    snprintf(topt, sizeof topt, "  monitor:\n    listen: \"127.0.0.1:%d\"\n", mt);
    snprintf(topn, sizeof topn, "http: \"127.0.0.1:%d\"\n", mn);
    printf("-- %s dials\n", ternd_dials ? "ternd" : "nats-server");
    if (!IT_CHECK(gw_start(&n, "west", rn, true, NULL, topn), "nats-server west starts") ||
        !IT_CHECK(gw_start(&t, "east", rt, false, NULL, topt), "ternd east starts"))
        goto out;
    ct = it_nats_connect(&t.s);
    cn = it_nats_connect(&n.s);
    if (!IT_CHECK(ct && cn, "clients connect"))
        goto out;
    if (!IT_CHECK(cl_probe(ct, cn, MESH_MS) && cl_probe(cn, ct, MESH_MS),
                  "east and west reach each other"))
        goto out;

    /* plain, both ways */
    cl_count pt = { 0 }, pn = { 0 }, ft = { 0 }, fn = { 0 };
    cl_sub(ct, "plain", NULL, &pt);
    cl_sub(ct, "fence", NULL, &ft);
    cl_sub(cn, "plain", NULL, &pn);
    cl_sub(cn, "fence", NULL, &fn);
    IT_CHECK(cl_probe(cn, ct, MESH_MS) && cl_probe(ct, cn, MESH_MS), "interest crosses both ways");
    IT_CHECK(gw_fenced(cn, "plain", 100, "fence", &ft, 1), "fence west -> east");
    IT_CHECK(gw_fenced(ct, "plain", 100, "fence", &fn, 2), "fence east -> west");
    IT_CHECK(cl_wait_count(&pt, 200, 3000), "ternd subscriber got %d of 200", atomic_load(&pt.n));
    IT_CHECK(cl_wait_count(&pn, 200, 3000), "nats-server subscriber got %d of 200", atomic_load(&pn.n));

    /* headers cross as HMSG, both ways */
    natsSubscription *hs[2] = { NULL, NULL };
    natsConnection_SubscribeSync(&hs[0], ct, "hdr.e");
    natsConnection_SubscribeSync(&hs[1], cn, "hdr.w");
    IT_CHECK(cl_probe(cn, ct, MESH_MS) && cl_probe(ct, cn, MESH_MS), "header subject interest crosses");
    for (int i = 0; i < 2; i++) {
        natsMsg *m = NULL;
        natsMsg_Create(&m, i ? "hdr.w" : "hdr.e", NULL, "body", 4);
        natsMsgHeader_Set(m, "X-Tern", i ? "east" : "west");
        natsConnection_PublishMsg(i ? ct : cn, m);
        natsConnection_Flush(i ? ct : cn);
        natsMsg_Destroy(m);
        m = NULL;
        const char *hv = NULL;
        bool got = natsSubscription_NextMsg(&m, hs[i], 5000) == NATS_OK;
        IT_CHECK(got && natsMsgHeader_Get(m, "X-Tern", &hv) == NATS_OK && !strcmp(hv, i ? "east" : "west") &&
                     natsMsg_GetDataLength(m) == 4,
                 "header from %s arrives", i ? "east" : "west");
        natsMsg_Destroy(m);
        natsSubscription_Destroy(hs[i]);
    }

    /* request/reply both ways (fresh inboxes: the _GR_. reply mapping) */
    cl_count rt_ = { .respond = true }, rn_ = { .respond = true };
    cl_sub(ct, "svc.east", NULL, &rt_);
    cl_sub(cn, "svc.west", NULL, &rn_);
    IT_CHECK(cl_probe(cn, ct, MESH_MS) && cl_probe(ct, cn, MESH_MS), "service interest crosses");
    int okw = 0, oke = 0;
    for (int i = 0; i < 20; i++) {
        okw += gw_request_ok(ct, "svc.west", "pong", 3000);
        oke += gw_request_ok(cn, "svc.east", "pong", 3000);
    }
    IT_CHECK(okw == 20, "east -> west requests answered: %d of 20", okw);
    IT_CHECK(oke == 20, "west -> east requests answered: %d of 20", oke);

    /* queue groups: local members first, else the other cluster, once */
    cl_count qt = { 0 }, qn = { 0 }, qr = { 0 }, qr2 = { 0 };
    cl_sub(ct, "q.s", "g", &qt);
    cl_sub(cn, "q.s", "g", &qn);
    cl_sub(cn, "q.r", "g", &qr);
    cl_sub(ct, "q.w", "g", &qr2);
    atomic_store(&ft.n, 0);
    atomic_store(&fn.n, 0);
    IT_CHECK(cl_probe(ct, cn, MESH_MS) && cl_probe(cn, ct, MESH_MS), "queue interest crosses");
    IT_CHECK(gw_fenced(ct, "q.s", 100, "fence", &fn, 1), "fence after q.s from east");
    IT_CHECK(gw_fenced(cn, "q.s", 100, "fence", &ft, 2), "fence after q.s from west");
    IT_CHECK(cl_wait_count(&qt, 100, 3000) && cl_wait_count(&qn, 100, 3000),
             "each cluster's member got its own 100 (east %d, west %d)", atomic_load(&qt.n),
             atomic_load(&qn.n));
    IT_CHECK(gw_fenced(ct, "q.r", 100, "fence", &fn, 3), "fence after q.r from east");
    IT_CHECK(gw_fenced(cn, "q.w", 100, "fence", &ft, 4), "fence after q.w from west");
    IT_CHECK(cl_wait_count(&qr, 100, 3000), "west's only member got %d of 100", atomic_load(&qr.n));
    IT_CHECK(cl_wait_count(&qr2, 100, 3000), "east's only member got %d of 100", atomic_load(&qr2.n));

    /* interest removal: west unsubscribes, ternd stops sending */
    cl_count rm = { 0 };
    natsSubscription *rs = cl_sub(cn, "rm", NULL, &rm);
    IT_CHECK(cl_probe(ct, cn, MESH_MS), "rm interest crosses");
    IT_CHECK(gw_fenced(ct, "rm", 10, "fence", &fn, 5) && cl_wait_count(&rm, 10, 3000), "rm delivered");
    natsSubscription_Unsubscribe(rs);
    natsConnection_Flush(cn);
    IT_CHECK(cl_probe(ct, cn, MESH_MS), "unsubscribe crossed (a later interest did)");
    long before = gw_out_stat(mt, "west", "out_msgs");
    for (int i = 0; i < 50; i++)
        natsConnection_PublishString(ct, "rm", "x");
    IT_CHECK(gw_fenced(ct, "fence", 0, "fence", &fn, 6), "fence after rm");
    long after = gw_out_stat(mt, "west", "out_msgs");
    IT_CHECK(before >= 0 && after - before == 1, "ternd sent only the fence after RS- (%ld -> %ld)",
             before, after);

    /* reverse: ternd unsubscribes; nats-server stops sending */
    cl_count rm2 = { 0 };
    natsSubscription *rs2 = cl_sub(ct, "rm2", NULL, &rm2);
    IT_CHECK(cl_probe(cn, ct, MESH_MS), "rm2 interest crosses");
    natsSubscription_Unsubscribe(rs2);
    natsConnection_Flush(ct);
    IT_CHECK(cl_probe(cn, ct, MESH_MS), "unsubscribe crossed west");
    char *doc = gw_http_get(mn, "/gatewayz");
    const char *p = doc ? strstr(doc, "\"out_msgs\":") : NULL;
    long nb = p ? strtol(p + 11, NULL, 10) : -1;
    free(doc);
    for (int i = 0; i < 50; i++)
        natsConnection_PublishString(cn, "rm2", "x");
    IT_CHECK(gw_fenced(cn, "fence", 0, "fence", &ft, 7), "fence after rm2");
    doc = gw_http_get(mn, "/gatewayz");
    p = doc ? strstr(doc, "\"out_msgs\":") : NULL;
    long na = p ? strtol(p + 11, NULL, 10) : -1;
    free(doc);
    IT_CHECK(nb >= 0 && na - nb == 1, "nats-server sent only the fence after RS- (%ld -> %ld)", nb, na);
    IT_CHECK(atomic_load(&rm2.n) == 0, "nothing delivered after unsubscribe");

    /* gatewayz has nats-server's keys */
    char py[256];
    snprintf(py, sizeof py, "%s/gwz.py", dir);
    it_write_file(py, py_gatewayz);
    IT_CHECK(it_sh("python3 %s %d %d", py, mt, mn) == 0, "gatewayz key sets match nats-server's");
out:
    cl_subs_free();
    natsConnection_Destroy(ct);
    natsConnection_Destroy(cn);
    gw_stop(&t);
    gw_stop(&n);
}

int main(void)
{
    if (it_ternd_only()) {
        printf("SKIP: needs nats-server\n");
        return 0;
    }
    char dir[] = "/tmp/tern-gw-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    scenario(true, dir);
    scenario(false, dir);
    it_remove_tree(dir);
    return it_summary();
}
