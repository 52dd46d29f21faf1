/* Cluster configuration paths: route authorization (a seed with the
 * credentials joins, one without is refused with nats-server's -ERR);
 * reload (SIGHUP) adding a seed route, changing the route password (routes
 * with the old one are closed) and moving the route listener; ternd run
 * with nats-server's command-line flags (--cluster, --routes,
 * --cluster_name) and with a nats-server .conf file's cluster block; TLS
 * routes (handshake first, as nats-server) between ternd nodes and with
 * nats-server. */
#include "test_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MESH_MS 10000

/* Write <dir>/conf.d/10-test.yaml and reload. */
static bool reload_with(cl_node *n, const char *yaml)
{
    char path[300];
    snprintf(path, sizeof path, "%s/conf.d/10-test.yaml", n->s.dir);
    return it_write_file(path, yaml) && it_server_signal(&n->s, SIGHUP) == 0;
}

/* ternd with argv (argv[0] replaced), output in out; waits for port. */
static pid_t spawn(char **argv, const char *out, int port)
{
    argv[0] = (char *)it_ternd_path();
    pid_t pid = it_spawn(argv, out);
    it_await_listening(port, pid, 10000);
    return pid;
}

static natsConnection *connect_port(int port)
{
    natsConnection *nc = NULL;
    it_nats_dial(port, NULL, NULL, NULL, &nc);
    return nc;
}

int main(void)
{
    cl_node A = { 0 }, B = { 0 }, C = { 0 }, D = { 0 };
    natsConnection *ca = NULL, *cb = NULL, *cc = NULL, *cd = NULL, *cx = NULL;
    pid_t px = 0, py = 0;
    char dir[] = "/tmp/tern-cl-XXXXXX";
    bool have_dir = mkdtemp(dir) != NULL;

    /* ---- authorization ------------------------------------------------------- */
    const char *auth = "    authorization: { user: ru, password: rp }\n";
    if (!IT_CHECK(cl_start(&A, "auth", NULL, false, auth, NULL), "A starts with route authorization"))
        goto out;
    char seed_ok[128], seed_bad[128];
    snprintf(seed_ok, sizeof seed_ok, "    routes: [\"nats-route://ru:rp@127.0.0.1:%d\"]\n", A.rport);
    snprintf(seed_bad, sizeof seed_bad, "nats-route://ru:nope@127.0.0.1:%d", A.rport);
    /* B: credentials in the seed URL (the routes: key of cl_start is empty) */
    if (!IT_CHECK(cl_start(&B, "auth", NULL, false, seed_ok, NULL), "B starts"))
        goto out;
    ca = it_nats_connect(&A.s);
    cb = it_nats_connect(&B.s);
    natsConnection *ab[2] = { ca, cb };
    IT_CHECK(ca && cb && cl_mesh(ab, 2, MESH_MS), "B with the route credentials joins A");
    char extra_bad[200];
    snprintf(extra_bad, sizeof extra_bad, "    routes: [\"%s\"]\n", seed_bad);
    if (!IT_CHECK(cl_start(&C, "auth", NULL, false, extra_bad, NULL), "C starts"))
        goto out;
    IT_CHECK(it_await_log_count(&C.s, "Authorization Violation", 1, 5000),
             "C with a wrong password is refused with -ERR 'Authorization Violation'");
    cc = it_nats_connect(&C.s);
    IT_CHECK(cc && !cl_probe(cc, ca, 300), "no traffic from the refused C to A");

    /* ---- reload: a seed route added ----------------------------------------- */
    if (!IT_CHECK(cl_start(&D, "auth", NULL, false, NULL, NULL), "D starts alone"))
        goto out;
    cd = it_nats_connect(&D.s);
    char yaml[400];
    snprintf(yaml, sizeof yaml, "modules:\n  cluster:\n    routes: [\"nats-route://ru:rp@127.0.0.1:%d\"]\n",
             A.rport);
    IT_CHECK(reload_with(&D, yaml), "D reloads with a seed route");
    IT_CHECK(cd && cl_probe(cd, ca, MESH_MS) && cl_probe(ca, cd, MESH_MS), "D joined A after the reload");
    IT_CHECK(cl_probe(cd, cb, MESH_MS), "and B through gossip (with the cluster credentials)");

    /* ---- reload: the route password changes: old routes are closed ---------- */
    IT_CHECK(reload_with(&A, "modules:\n  cluster:\n    authorization: { user: ru, password: new }\n"),
             "A reloads with a new route password");
    IT_CHECK(it_await_log_count(&D.s, "Authorization Violation", 1, 5000), "D's route with the old password is closed");
    IT_CHECK(!cl_probe(cd, ca, 300), "no traffic from D to A any more");

    /* ---- reload: the route listener moves ----------------------------------- */
    int newport = it_free_port();
    snprintf(yaml, sizeof yaml,
             "modules:\n  cluster:\n    listen: \"127.0.0.1:%d\"\n    authorization: { user: ru, password: new }\n",
             newport);
    IT_CHECK(reload_with(&A, yaml), "A reloads with a new route listen port");
    int64_t end = it_now_ms() + 5000;
    while ((!it_port_listening(newport) || it_port_listening(A.rport)) && it_now_ms() < end)
        it_poll_pause();
    IT_CHECK(it_port_listening(newport) && !it_port_listening(A.rport),
             "route listener moved from %d to %d", A.rport, newport);

    /* ---- nats-server's flags ------------------------------------------------- */
    if (!have_dir)
        goto out;
    int xport = it_free_port(), xr = it_free_port();
    char xp[16], xcl[64], xroutes[64], out1[200];
    snprintf(xp, sizeof xp, "%d", xport);
    snprintf(xcl, sizeof xcl, "nats://127.0.0.1:%d", xr);
    snprintf(xroutes, sizeof xroutes, "nats://127.0.0.1:%d", B.rport);
    snprintf(out1, sizeof out1, "%s/flags.log", dir);
    char *argv1[] = { NULL, "-a", "127.0.0.1", "-p", xp, "--cluster", xcl, "--cluster_name", "auth",
                      "--routes", xroutes, NULL };
    px = spawn(argv1, out1, xport);
    cx = connect_port(xport);
    IT_CHECK(cx && cl_probe(cx, cb, MESH_MS) && cl_probe(cb, cx, MESH_MS),
             "ternd --cluster --routes --cluster_name joins B");

    /* ---- a nats-server .conf with a cluster block ----------------------------- */
    int yport = it_free_port(), yr = it_free_port();
    char conf[600], cpath[200], out2[200];
    snprintf(conf, sizeof conf,
             "listen: 127.0.0.1:%d\nserver_name: y\ncluster {\n  name: auth\n  port: %d\n  host: 127.0.0.1\n"
             "  routes = [\n    nats-route://127.0.0.1:%d\n  ]\n  no_advertise: true\n}\n",
             yport, yr, B.rport);
    snprintf(cpath, sizeof cpath, "%s/y.conf", dir);
    snprintf(out2, sizeof out2, "%s/conf.log", dir);
    it_write_file(cpath, conf);
    char *argv2[] = { NULL, "-c", cpath, NULL };
    py = spawn(argv2, out2, yport);
    natsConnection *cy = connect_port(yport);
    IT_CHECK(cy && cl_probe(cy, cb, MESH_MS) && cl_probe(cb, cy, MESH_MS),
             "ternd -c nats-server.conf with cluster { } joins B");
    if (!cy) {
        char *log = it_read_file(out2, NULL);
        printf("---- %s ----\n%s\n", out2, log ? log : "");
        free(log);
    }
    natsConnection_Destroy(cy);

    /* ---- TLS routes: ternd to ternd, and nats-server dialing ternd ----------- */
    if (!IT_CHECK(it_make_cert(dir, "ca", "ca", NULL, NULL) == 0 &&
                      it_make_cert(dir, "c", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                                   "ca") == 0,
                  "certificates made with openssl"))
        goto out;
    char tls_yaml[600], tls_conf[600];
    snprintf(tls_yaml, sizeof tls_yaml,
             "    tls: { cert: \"%s/c.pem\", key: \"%s/c.key\", ca: \"%s/ca.pem\", verify: true }\n", dir, dir,
             dir);
    snprintf(tls_conf, sizeof tls_conf,
             "  tls { cert_file: \"%s/c.pem\", key_file: \"%s/c.key\", ca_file: \"%s/ca.pem\", verify: true }\n",
             dir, dir, dir);
    cl_node T1 = { 0 }, T2 = { 0 }, N1 = { 0 };
    natsConnection *t1 = NULL, *t2 = NULL, *n1 = NULL;
    if (IT_CHECK(cl_start(&T1, "sec", NULL, false, tls_yaml, NULL), "TLS node 1 starts")) {
        int seed[] = { T1.rport, 0 };
        IT_CHECK(cl_start(&T2, "sec", seed, false, tls_yaml, NULL), "TLS node 2 starts");
        IT_CHECK(cl_start(&N1, "sec", seed, true, tls_conf, NULL), "nats-server with route TLS starts");
        t1 = it_nats_connect(&T1.s);
        t2 = T2.up ? it_nats_connect(&T2.s) : NULL;
        n1 = N1.up ? it_nats_connect(&N1.s) : NULL;
        natsConnection *three[3] = { t1, t2, n1 };
        IT_CHECK(t1 && t2 && n1 && cl_mesh(three, 3, MESH_MS),
                 "TLS routes: ternd-ternd, nats-server-ternd and (gossip) nats-server-ternd");
    }
    natsConnection_Destroy(t1);
    natsConnection_Destroy(t2);
    natsConnection_Destroy(n1);
    cl_stop(&T1);
    cl_stop(&T2);
    cl_stop(&N1);

out:
    natsConnection_Destroy(ca);
    natsConnection_Destroy(cb);
    natsConnection_Destroy(cc);
    natsConnection_Destroy(cd);
    natsConnection_Destroy(cx);
    it_pid_stop(px);
    it_pid_stop(py);
    cl_stop(&A);
    cl_stop(&B);
    cl_stop(&C);
    cl_stop(&D);
    if (have_dir) {
        if (!it_remove_tree(dir))
            printf("could not remove %s\n", dir);
    }
    cl_subs_free();
    nats_Close();
    return it_summary();
}
