/* Cluster operations beyond the basics: this server's lame duck mode is
 * announced to its peers (ternd and nats-server drop its URL from the
 * connect_urls their clients get); /routez has nats-server 2.9's keys
 * (compared with a real nats-server cluster's, with and without
 * ?subs=1); cluster.permissions import/export stop subjects crossing;
 * leaf-origin interest and messages (LS+/LMSG) from a nats-server hub
 * reach ternd's clients; a reload whose new listen address cannot be
 * bound applies nothing (not even its new seed route). */
#include "test_cluster.h"

#include <sys/stat.h>

#define MESH_MS 10000

/* Read fd until an INFO line whose connect_urls holds (present) or lacks
 * url arrives. */
static bool await_info(int fd, const char *url, bool present, int timeout_ms)
{
    it_buf b = { 0 };
    size_t scanned = 0;
    bool found = false;
    int64_t end = it_now_ms() + timeout_ms;
    while (!found && it_now_ms() < end) {
        if (it_raw_read_until(fd, &b, "\r\n", 100) == IT_CLOSED)
            break;
        for (;;) {
            char *nl = b.len > scanned ? memmem(b.data + scanned, b.len - scanned, "\r\n", 2) : NULL;
            if (!nl)
                break;
            char *line = strndup(b.data + scanned, (size_t)(nl - (b.data + scanned)));
            scanned = (size_t)(nl + 2 - b.data);
            if (line && !strncmp(line, "INFO ", 5) && strstr(line, "connect_urls"))
                found = found || (strstr(line, url) != NULL) == present;
            if (line && !strncmp(line, "PING", 4))
                it_raw_sends(fd, "PONG\r\n");
            free(line);
        }
        /* it_raw_read_until searches from the start: keep only the
         * unfinished line */
        if (scanned) {
            memmove(b.data, b.data + scanned, b.len - scanned);
            b.len -= scanned;
            scanned = 0;
        }
    }
    it_buf_free(&b);
    return found;
}

static void url_of(char *out, size_t n, const cl_node *x)
{
    snprintf(out, n, "\"127.0.0.1:%d\"", x->s.port);
}

/* ---- lame duck ------------------------------------------------------------- */

static void test_lame_duck(void)
{
    cl_node A = { 0 }, B = { 0 }, N = { 0 };
    natsConnection *ca = NULL, *cb = NULL, *cn = NULL;
    int fb = -1, fn = -1;
    it_buf hb = { 0 }, hn = { 0 };
    if (!IT_CHECK(cl_start(&A, "ldm", NULL, false, NULL, NULL), "A starts"))
        return;
    int seed[] = { A.rport, 0 };
    if (!IT_CHECK(cl_start(&B, "ldm", seed, false, NULL, NULL), "B starts") ||
        !IT_CHECK(cl_start(&N, "ldm", seed, true, NULL, NULL), "nats-server N starts"))
        goto out;
    ca = it_nats_connect(&A.s);
    cb = it_nats_connect(&B.s);
    cn = it_nats_connect(&N.s);
    natsConnection *all[3] = { ca, cb, cn };
    if (!IT_CHECK(ca && cb && cn && cl_mesh(all, 3, MESH_MS), "mesh of A, B and nats-server N"))
        goto out;
    char ua[64];
    url_of(ua, sizeof ua, &A);
    fb = it_raw_client(B.s.port, "{\"verbose\":false,\"protocol\":1}", &hb);
    fn = it_raw_client(N.s.port, "{\"verbose\":false,\"protocol\":1}", &hn);
    if (!IT_CHECK(fb >= 0 && fn >= 0, "raw protocol-1 clients on B and N"))
        goto out;
    bool b_has = it_buf_contains(&hb, ua) || await_info(fb, ua, true, 5000);
    bool n_has = it_buf_contains(&hn, ua) || await_info(fn, ua, true, 5000);
    IT_CHECK(b_has && n_has, "B's and N's clients are told A's URL %s (B %d, N %d)", ua, b_has, n_has);
    /* A keeps a client, so it stays in lame duck mode instead of exiting */
    IT_CHECK(it_server_signal(&A.s, SIGUSR2) == 0, "SIGUSR2 to A");
    IT_CHECK(await_info(fb, ua, false, 5000), "ternd B's client gets an INFO without A's URL");
    IT_CHECK(await_info(fn, ua, false, 5000), "nats-server N's client gets an INFO without A's URL");
    /* told while A still serves (not because its routes closed at exit) */
    IT_CHECK(cl_probe(cn, ca, 3000) && cl_probe(cb, ca, 3000), "A, in lame duck mode, still routes");
    IT_CHECK(cl_probe(cb, cn, MESH_MS), "B and N still route to each other");
out:
    if (fb >= 0)
        close(fb);
    if (fn >= 0)
        close(fn);
    it_buf_free(&hb);
    it_buf_free(&hn);
    natsConnection_Destroy(ca);
    natsConnection_Destroy(cb);
    natsConnection_Destroy(cn);
    cl_stop(&A);
    cl_stop(&B);
    cl_stop(&N);
}

/* ---- routez and permissions ------------------------------------------------ */

static const char *py_routez =
    "import json, sys, time, urllib.request\n"
    "def get(port, q):\n"
    "    return json.load(urllib.request.urlopen('http://127.0.0.1:%d/routez%s' % (port, q), timeout=5))\n"
    "def shape(d):\n"
    "    return (sorted(d.keys()), [sorted(r.keys()) for r in d['routes']],\n"
    "            [sorted(r.get('subscriptions_list', [])) for r in d['routes']])\n"
    "pairs = [(int(a), int(b)) for a, b in (p.split(':') for p in sys.argv[1:])]\n"
    "end = time.time() + 10\n"
    "while True:\n"
    "    bad = []\n"
    "    for t, n in pairs:\n"
    "        for q in ('', '?subs=1'):\n"
    "            st, sn = shape(get(t, q)), shape(get(n, q))\n"
    "            if st != sn:\n"
    "                bad.append((t, n, q, st, sn))\n"
    "    if not bad:\n"
    "        print('routez key sets equal'); sys.exit(0)\n"
    "    if time.time() > end:\n"
    "        for b in bad: print('ternd %d vs nats-server %d %s:\\n  %s\\n  %s' % b)\n"
    "        sys.exit(1)\n"
    "    time.sleep(0.2)\n";

static void test_routez_and_permissions(const char *dir)
{
    cl_node T1 = { 0 }, T2 = { 0 }, N1 = { 0 }, N2 = { 0 };
    natsConnection *c1 = NULL, *c2 = NULL, *d1 = NULL, *d2 = NULL;
    int mt1 = it_free_port(), mt2 = it_free_port(), mn1 = it_free_port(), mn2 = it_free_port();
    const char *tperm = "    permissions: { import: { allow: [\"foo.>\", \"_INBOX.>\"] },"
                        " export: { allow: [\"bar.>\"], deny: [\"bar.secret\"] } }\n";
    const char *nperm = "  permissions { import: { allow: [\"foo.>\", \"_INBOX.>\"] },"
                        " export: { allow: [\"bar.>\"], deny: [\"bar.secret\"] } }\n";
    char top[4][128];
    snprintf(top[0], sizeof top[0], "  monitor:\n    listen: \"127.0.0.1:%d\"\n", mt1);
    snprintf(top[1], sizeof top[1], "  monitor:\n    listen: \"127.0.0.1:%d\"\n", mt2);
    snprintf(top[2], sizeof top[2], "http: \"127.0.0.1:%d\"\n", mn1);
    snprintf(top[3], sizeof top[3], "http: \"127.0.0.1:%d\"\n", mn2);
    if (!IT_CHECK(cl_start(&T1, "pz", NULL, false, tperm, top[0]), "ternd T1 with permissions starts"))
        return;
    int st[] = { T1.rport, 0 };
    if (!IT_CHECK(cl_start(&T2, "pz", st, false, NULL, top[1]), "ternd T2 starts") ||
        !IT_CHECK(cl_start(&N1, "pz2", NULL, true, nperm, top[2]), "nats-server N1 with permissions starts"))
        goto out;
    int sn[] = { N1.rport, 0 };
    if (!IT_CHECK(cl_start(&N2, "pz2", sn, true, NULL, top[3]), "nats-server N2 starts"))
        goto out;
    c1 = it_nats_connect(&T1.s);
    c2 = it_nats_connect(&T2.s);
    d1 = it_nats_connect(&N1.s);
    d2 = it_nats_connect(&N2.s);
    if (!IT_CHECK(c1 && c2 && d1 && d2, "clients connect"))
        goto out;

    /* the same subscriptions on the far side of both clusters */
    cl_count b1 = { 0 }, bsec = { 0 }, bwild = { 0 }, bf = { 0 }, f2 = { 0 }, baz = { 0 }, ff = { 0 };
    cl_count nb1 = { 0 }, nf = { 0 };
    cl_sub(c2, "bar.1", NULL, &b1);
    cl_sub(c2, "bar.secret", NULL, &bsec);
    cl_sub(c2, "bar.fence", NULL, &bf);
    cl_sub(c2, "foo.2", NULL, &f2);
    cl_sub(d2, "bar.1", NULL, &nb1);
    cl_sub(d2, "bar.fence", NULL, &nf);
    cl_sub(d2, "foo.2", NULL, &f2);
    /* T1 imports foo.> only: its interest in baz.1 is not announced */
    cl_sub(c1, "foo.1", NULL, &ff);
    cl_sub(c1, "baz.1", NULL, &baz);
    cl_sub(d1, "foo.1", NULL, &ff);
    cl_sub(d1, "baz.1", NULL, &baz);
    natsConnection_Flush(c1);
    natsConnection_Flush(d1);
    natsConnection_Flush(c2);
    natsConnection_Flush(d2);

    /* export: bar.1 crosses, bar.secret does not; the fence (bar.fence,
     * exported) comes after both from the same publisher */
    int64_t end = it_now_ms() + MESH_MS;
    while (atomic_load(&bf.n) == 0 && it_now_ms() < end) {
        natsConnection_PublishString(c1, "bar.fence", "f");
        natsConnection_Flush(c1);
        cl_wait_count(&bf, 1, 100);
    }
    IT_CHECK(atomic_load(&bf.n) > 0, "exported interest (bar.fence) crosses T2 -> T1");
    natsConnection_PublishString(c1, "bar.secret", "s");
    natsConnection_PublishString(c1, "bar.1", "x");
    atomic_store(&bf.n, 0);
    natsConnection_PublishString(c1, "bar.fence", "f");
    natsConnection_Flush(c1);
    IT_CHECK(cl_wait_count(&bf, 1, 5000), "fence after bar.1 and bar.secret");
    IT_CHECK(cl_wait_count(&b1, 1, 5000) && atomic_load(&b1.n) == 1 && atomic_load(&bsec.n) == 0,
             "export deny: bar.1 crossed (%d), bar.secret did not (%d)", atomic_load(&b1.n),
             atomic_load(&bsec.n));
    /* a wildcard interest is accepted, its denied subjects still filtered */
    cl_sub(c2, "bar.>", NULL, &bwild);
    natsConnection_Flush(c2);
    end = it_now_ms() + MESH_MS;
    while (atomic_load(&bwild.n) == 0 && it_now_ms() < end) {
        natsConnection_PublishString(c1, "bar.9", "p");
        natsConnection_Flush(c1);
        cl_wait_count(&bwild, 1, 100);
    }
    atomic_store(&bwild.n, 0);
    atomic_store(&bf.n, 0);
    natsConnection_PublishString(c1, "bar.secret", "s");
    natsConnection_PublishString(c1, "bar.fence", "f");
    natsConnection_Flush(c1);
    IT_CHECK(cl_wait_count(&bf, 1, 5000) && cl_wait_count(&bwild, 1, 3000),
             "bar.> on T2 got the fence only (%d), not bar.secret", atomic_load(&bwild.n));
    /* import: foo.1 interest of T1 is known at T2, baz.1's is not */
    end = it_now_ms() + MESH_MS;
    while (atomic_load(&ff.n) == 0 && it_now_ms() < end) {
        natsConnection_PublishString(c2, "foo.1", "x");
        natsConnection_Flush(c2);
        cl_wait_count(&ff, 1, 100);
    }
    IT_CHECK(atomic_load(&ff.n) > 0, "imported interest (foo.1) crosses T1 -> T2");
    atomic_store(&ff.n, 0);
    natsConnection_PublishString(c2, "baz.1", "x");
    natsConnection_PublishString(c2, "foo.1", "x");
    natsConnection_Flush(c2);
    IT_CHECK(cl_wait_count(&ff, 1, 5000), "foo.1 after baz.1 arrived");
    IT_CHECK(atomic_load(&baz.n) == 0, "import: baz.1 did not cross (%d)", atomic_load(&baz.n));
    cl_count nw = { 0 };
    cl_sub(d2, "bar.>", NULL, &nw);
    natsConnection_Flush(d2);
    end = it_now_ms() + MESH_MS;
    while (atomic_load(&nw.n) == 0 && it_now_ms() < end) {
        natsConnection_PublishString(d1, "bar.fence", "f");
        natsConnection_Flush(d1);
        cl_wait_count(&nw, 1, 100);
    }
    /* one message, two subscriptions: each has its own delivery thread */
    IT_CHECK(atomic_load(&nw.n) > 0 && cl_wait_count(&nf, 1, 5000), "the nats-server pair routes");

    /* routez: nats-server 2.9's keys, routes' subscriptions alike */
    char py[300];
    snprintf(py, sizeof py, "%s/routez.py", dir);
    if (IT_CHECK(it_write_file(py, py_routez), "routez script written"))
        IT_CHECK(it_sh("python3 %s %d:%d %d:%d", py, mt1, mn1, mt2, mn2) == 0,
                 "/routez and /routez?subs=1 of ternd have nats-server's keys and subscription lists");
out:
    natsConnection_Destroy(c1);
    natsConnection_Destroy(c2);
    natsConnection_Destroy(d1);
    natsConnection_Destroy(d2);
    cl_stop(&T1);
    cl_stop(&T2);
    cl_stop(&N1);
    cl_stop(&N2);
}

/* ---- leaf-origin interest and messages from a nats-server hub ------------- */

static void test_leaf_origin(void)
{
    cl_node H = { 0 }, T = { 0 }, L = { 0 };
    natsConnection *ct = NULL, *cl = NULL;
    int leafport = it_free_port();
    char htop[128], ltop[200];
    snprintf(htop, sizeof htop, "leafnodes { listen: \"127.0.0.1:%d\" }\n", leafport);
    snprintf(ltop, sizeof ltop, "leafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:%d\" } ] }\n", leafport);
    if (!IT_CHECK(cl_start(&H, "hub", NULL, true, NULL, htop), "nats-server hub H starts"))
        return;
    int seed[] = { H.rport, 0 };
    if (!IT_CHECK(cl_start(&T, "hub", seed, false, NULL, NULL), "ternd T routes to H") ||
        !IT_CHECK(cl_start(&L, "leafc", NULL, true, NULL, ltop), "nats-server leaf L (cluster leafc) starts"))
        goto out;
    char *info = it_info_line(T.rport, 3000);
    IT_CHECK(info && strstr(info, "\"lnoc\":true"), "ternd's route INFO advertises lnoc");
    free(info);
    ct = it_nats_connect(&T.s);
    cl = it_nats_connect(&L.s);
    if (!IT_CHECK(ct && cl, "clients on T and on the leaf"))
        goto out;
    /* the leaf's interest reaches T as LS+ leafc …, T's messages go back */
    IT_CHECK(cl_probe(ct, cl, MESH_MS), "ternd client -> leaf client (LS+ from H)");
    /* the leaf's messages reach T as LMSG leafc … */
    IT_CHECK(cl_probe(cl, ct, MESH_MS), "leaf client -> ternd client (LMSG from H)");
    /* queue members behind the leaf: once per message */
    cl_count q[2] = { 0 }, qf = { 0 };
    cl_sub(cl, "lq", "g", &q[0]);
    cl_sub(cl, "lq", "g", &q[1]);
    cl_sub(cl, "lq.fence", NULL, &qf);
    IT_CHECK(cl_probe(ct, cl, MESH_MS), "leaf queue interest known at T");
    for (int i = 0; i < 50; i++)
        natsConnection_PublishString(ct, "lq", "x");
    natsConnection_PublishString(ct, "lq.fence", "f");
    natsConnection_Flush(ct);
    cl_count *qp[2] = { &q[0], &q[1] };
    IT_CHECK(cl_wait_count(&qf, 1, 5000) && cl_wait_sum(qp, 2, 50, 3000),
             "leaf queue group got %d of 50", atomic_load(&q[0].n) + atomic_load(&q[1].n));
    /* headers and a request from the leaf answered on T */
    cl_count svc = { .respond = true };
    cl_sub(ct, "lsvc", NULL, &svc);
    IT_CHECK(cl_probe(cl, ct, MESH_MS), "T's service interest known at the leaf");
    natsMsg *r = NULL;
    natsStatus s = natsConnection_RequestString(&r, cl, "lsvc", "ping", 5000);
    IT_CHECK(s == NATS_OK && r && !strcmp(natsMsg_GetData(r), "pong"), "leaf request answered on T: %s",
             natsStatus_GetText(s));
    natsMsg_Destroy(r);
out:
    natsConnection_Destroy(ct);
    natsConnection_Destroy(cl);
    cl_stop(&L);
    cl_stop(&T);
    cl_stop(&H);
}

/* ---- reload: all or nothing --------------------------------------------------- */

static bool reload_with(cl_node *n, const char *yaml)
{
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/10-test.yaml", n->s.dir);
    return it_write_file(path, yaml) && it_server_signal(&n->s, SIGHUP) == 0;
}

static void test_reload_all_or_nothing(void)
{
    cl_node R = { 0 }, S = { 0 };
    natsConnection *cr = NULL, *cs = NULL;
    if (!IT_CHECK(cl_start(&R, "ron", NULL, false, NULL, NULL), "R starts alone") ||
        !IT_CHECK(cl_start(&S, "ron", NULL, false, NULL, NULL), "S starts alone"))
        goto out;
    cr = it_nats_connect(&R.s);
    cs = it_nats_connect(&S.s);
    if (!IT_CHECK(cr && cs, "clients connect"))
        goto out;
    /* a new seed route and a listen address that is taken (S's client port) */
    char yaml[300];
    snprintf(yaml, sizeof yaml,
             "modules:\n  cluster:\n    listen: \"127.0.0.1:%d\"\n    routes: [\"nats-route://127.0.0.1:%d\"]\n",
             S.s.port, S.rport);
    IT_CHECK(reload_with(&R, yaml), "R reloads with a taken listen address and a new seed");
    IT_CHECK(it_await_log_count(&R.s, "nothing of the reload applied", 1, 5000), "the reload fails");
    IT_CHECK(it_port_listening(R.rport), "R still listens on its route port %d", R.rport);
    IT_CHECK(!cl_probe(cr, cs, 1500), "the failed reload's seed route was not dialed");
    /* the same seed with a free address applies */
    int np = it_free_port();
    snprintf(yaml, sizeof yaml,
             "modules:\n  cluster:\n    listen: \"127.0.0.1:%d\"\n    routes: [\"nats-route://127.0.0.1:%d\"]\n",
             np, S.rport);
    IT_CHECK(reload_with(&R, yaml), "R reloads with a free address and the seed");
    IT_CHECK(cl_probe(cr, cs, MESH_MS) && cl_probe(cs, cr, MESH_MS), "now R routes to S");
    IT_CHECK(it_port_listening(np) && !it_port_listening(R.rport), "and listens on %d only", np);
out:
    natsConnection_Destroy(cr);
    natsConnection_Destroy(cs);
    cl_stop(&R);
    cl_stop(&S);
}

int main(void)
{
    char dir[] = "/tmp/tern-clops-XXXXXX";
    bool have_dir = mkdtemp(dir) != NULL;
    test_lame_duck();
    if (have_dir)
        test_routez_and_permissions(dir);
    test_leaf_origin();
    test_reload_all_or_nothing();
    if (have_dir && !it_remove_tree(dir))
        printf("could not remove %s\n", dir);
    cl_subs_free();
    nats_Close();
    return it_summary();
}
