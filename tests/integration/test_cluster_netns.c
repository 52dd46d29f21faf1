/* Three hosts in network namespaces made by the test (ip netns, veth
 * pairs on a bridge in a fourth "switch" namespace), one ternd each.
 * Node C reaches its seed A through a userspace WAN delay proxy (this
 * kernel has no netem) running in C's namespace; B dials C at the
 * address A's gossip gave it. Checks: the mesh forms, exact plain and queue
 * counts across the hosts, and a request from A to C pays the WAN delay
 * both ways. Needs root (skipped otherwise). */
#include "test_cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#define MESH_MS 15000
#define DELAY_MS 40

static char ns[4][32];           /* a, b, c, switch */
static const char *const ip_of[3] = { "10.77.0.1", "10.77.0.2", "10.77.0.3" };
static int root_ns = -1;

/* Enter namespace i on the calling thread (-1: back to the root one). */
static bool enter(int i)
{
    if (i < 0)
        return setns(root_ns, CLONE_NEWNET) == 0;
    char path[64];
    snprintf(path, sizeof path, "/var/run/netns/%s", ns[i]);
    int fd = open(path, O_RDONLY);
    bool ok = fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void teardown(void)
{
    for (int i = 0; i < 4; i++)
        if (ns[i][0]) {
            char cmd[256];
            snprintf(cmd, sizeof cmd, "ip netns del %s 2>/dev/null", ns[i]);
            if (system(cmd) != 0)
                printf("could not delete namespace %s\n", ns[i]);
        }
}

static bool setup(void)
{
    int pid = (int)getpid();
    const char *tag = "abcs";
    for (int i = 0; i < 4; i++)
        snprintf(ns[i], sizeof ns[i], "tcl%d%c", pid, tag[i]);
    if (it_sh("ip netns add %s && ip netns exec %s ip link add br0 type bridge && "
           "ip netns exec %s ip link set br0 up", ns[3], ns[3], ns[3]))
        return false;
    for (int i = 0; i < 3; i++) {
        /* veth: "h" end in the host, "s" end on the switch's bridge */
        if (it_sh("ip netns add %s && ip netns exec %s ip link set lo up", ns[i], ns[i]) ||
            it_sh("ip link add tclh%d_%d type veth peer name tcls%d_%d", pid % 10000, i, pid % 10000, i) ||
            it_sh("ip link set tclh%d_%d netns %s && ip link set tcls%d_%d netns %s", pid % 10000, i, ns[i],
               pid % 10000, i, ns[3]) ||
            it_sh("ip netns exec %s ip addr add %s/24 dev tclh%d_%d && ip netns exec %s ip link set tclh%d_%d up",
               ns[i], ip_of[i], pid % 10000, i, ns[i], pid % 10000, i) ||
            it_sh("ip netns exec %s ip link set tcls%d_%d master br0 && ip netns exec %s ip link set tcls%d_%d up",
               ns[3], pid % 10000, i, ns[3], pid % 10000, i))
            return false;
    }
    return true;
}

/* ---- the WAN delay proxy: every chunk goes out DELAY_MS after it came in -- */

typedef struct chunk {
    struct chunk *next;
    int64_t due;
    size_t len;
    char data[];
} chunk;

typedef struct pipe_dir {
    int from, to;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk *head, *tail;
    bool eof;
} pipe_dir;

static void *reader(void *arg)
{
    pipe_dir *d = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = read(d->from, buf, sizeof buf);
        pthread_mutex_lock(&d->mu);
        if (n <= 0) {
            d->eof = true;
            pthread_cond_signal(&d->cv);
            pthread_mutex_unlock(&d->mu);
            return NULL;
        }
        chunk *c = malloc(sizeof *c + (size_t)n);
        c->next = NULL;
        c->due = it_now_ms() + DELAY_MS;
        c->len = (size_t)n;
        memcpy(c->data, buf, (size_t)n);
        if (d->tail)
            d->tail->next = c;
        else
            d->head = c;
        d->tail = c;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
}

static void *writer(void *arg)
{
    pipe_dir *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->head && !d->eof)
            pthread_cond_wait(&d->cv, &d->mu);
        if (!d->head)
            break;
        chunk *c = d->head;
        d->head = c->next;
        if (!d->head)
            d->tail = NULL;
        pthread_mutex_unlock(&d->mu);
        int64_t wait = c->due - it_now_ms();
        if (wait > 0) {
            /* the delay is what this proxy is for */
            struct timespec ts = { wait / 1000, (wait % 1000) * 1000000 };
            nanosleep(&ts, NULL);
        }
        size_t off = 0;
        while (off < c->len) {
            ssize_t w = write(d->to, c->data + off, c->len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        free(c);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    shutdown(d->to, SHUT_WR);
    /* the reader set eof under the lock and is gone: d is ours alone */
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
    return NULL;
}

typedef struct proxy {
    int lfd;
    int ns_index;
    char target_ip[32];
    int target_port;
    atomic_bool stop;
} proxy;

static void *proxy_main(void *arg)
{
    proxy *p = arg;
    enter(p->ns_index);
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = { p->lfd, POLLIN, 0 };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int in = accept(p->lfd, NULL, NULL);
        if (in < 0)
            continue;
        int out = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->target_port) };
        inet_pton(AF_INET, p->target_ip, &a.sin_addr);
        if (connect(out, (struct sockaddr *)&a, sizeof a) != 0) {
            close(in);
            close(out);
            continue;
        }
        pipe_dir *up = calloc(1, sizeof *up), *down = calloc(1, sizeof *down);
        *up = (pipe_dir){ .from = in, .to = out };
        *down = (pipe_dir){ .from = out, .to = in };
        pthread_mutex_init(&up->mu, NULL);
        pthread_cond_init(&up->cv, NULL);
        pthread_mutex_init(&down->mu, NULL);
        pthread_cond_init(&down->cv, NULL);
        pthread_t t;
        /* detached: they end when the connection does (servers stopped) */
        pthread_create(&t, NULL, reader, up);
        pthread_detach(t);
        pthread_create(&t, NULL, writer, up);
        pthread_detach(t);
        pthread_create(&t, NULL, reader, down);
        pthread_detach(t);
        pthread_create(&t, NULL, writer, down);
        pthread_detach(t);
    }
    return NULL;
}

/* Listen in namespace ns_index on ip:port (bound before the thread starts). */
static bool proxy_start(proxy *p, pthread_t *th, int ns_index, const char *ip, int port)
{
    if (!enter(ns_index))
        return false;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    bool ok = bind(p->lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(p->lfd, 8) == 0;
    enter(-1);
    p->ns_index = ns_index;
    return ok && pthread_create(th, NULL, proxy_main, p) == 0;
}

/* ---- nodes in namespaces ------------------------------------------------- */

static bool start_in(int i, cl_node *n, const char *seed_url)
{
    char extra[256] = "";
    if (seed_url)
        snprintf(extra, sizeof extra, "    routes: [\"%s\"]\n", seed_url);
    n->rport = 7244;      /* the same port in every namespace */
    if (!enter(i))
        return false;
    /* A learns C only from C's route through the proxy (the route is
     * registered before anyone could gossip C to A), so A-C stays on it */
    char conf[1024];
    snprintf(conf, sizeof conf,
             "modules:\n  cluster:\n    name: wan\n    listen: \"%s:%d\"\n%s", ip_of[i],
             n->rport, extra);
    it_opts o = { 0 };
    o.auth_yaml = conf;
    n->up = it_server_start(&n->s, &o) == 0;
    enter(-1);
    return n->up;
}

static natsConnection *connect_in(int i, cl_node *n)
{
    if (!enter(i))
        return NULL;
    natsConnection *nc = it_nats_connect(&n->s);
    enter(-1);
    return nc;
}

int main(void)
{
    if (geteuid() != 0) {
        printf("SKIP: network namespaces need root\n");
        return 0;
    }
    root_ns = open("/proc/self/ns/net", O_RDONLY);
    cl_node nodes[3] = { 0 };
    natsConnection *nc[3] = { 0 };
    proxy px = { .lfd = -1 };
    pthread_t pth;
    bool proxy_up = false;
    if (!IT_CHECK(root_ns >= 0 && setup(), "three hosts on a switch (ip netns, veth, bridge)"))
        goto out;

    /* A; B seeded with A; C seeded with A through the WAN proxy in C */
    if (!IT_CHECK(start_in(0, &nodes[0], NULL), "ternd on host A"))
        goto out;
    char url[96];
    snprintf(url, sizeof url, "nats-route://%s:7244", ip_of[0]);
    if (!IT_CHECK(start_in(1, &nodes[1], url), "ternd on host B"))
        goto out;
    snprintf(px.target_ip, sizeof px.target_ip, "%s", ip_of[0]);
    px.target_port = 7244;
    proxy_up = proxy_start(&px, &pth, 2, "127.0.0.1", 7300);
    if (!IT_CHECK(proxy_up, "delay proxy on host C"))
        goto out;
    if (!IT_CHECK(start_in(2, &nodes[2], "nats-route://127.0.0.1:7300"), "ternd on host C"))
        goto out;
    for (int i = 0; i < 3; i++)
        nc[i] = connect_in(i, &nodes[i]);
    if (!IT_CHECK(nc[0] && nc[1] && nc[2], "a client on each host"))
        goto out;
    if (!IT_CHECK(cl_mesh(nc, 3, MESH_MS), "full mesh across hosts (B-C by gossip)"))
        goto out;

    cl_count plain[3] = { 0 }, q[3] = { 0 }, fence[3] = { 0 };
    for (int i = 0; i < 3; i++) {
        cl_sub(nc[i], "wan.all", NULL, &plain[i]);
        if (i)
            cl_sub(nc[i], "wan.q", "g", &q[i]);
        cl_sub(nc[i], "wan.fence", NULL, &fence[i]);
    }
    for (int p = 0; p < 3; p++)
        for (int s = 0; s < 3; s++)
            if (p != s)
                IT_CHECK(cl_probe(nc[p], nc[s], MESH_MS), "interest of host %d known at host %d", s, p);
    for (int k = 0; k < 50; k++)
        natsConnection_PublishString(nc[0], "wan.all", "x");
    for (int k = 0; k < 100; k++)
        natsConnection_PublishString(nc[0], "wan.q", "x");
    natsConnection_PublishString(nc[0], "wan.fence", "f");
    natsConnection_Flush(nc[0]);
    for (int i = 0; i < 3; i++) {
        IT_CHECK(cl_wait_count(&fence[i], 1, 10000), "fence at host %d", i);
        IT_CHECK(cl_wait_count(&plain[i], 50, 3000), "host %d plain subscriber got %d of 50", i,
                 atomic_load(&plain[i].n));
    }
    cl_count *qp[2] = { &q[1], &q[2] };
    IT_CHECK(cl_wait_sum(qp, 2, 100, 3000), "queue group on B and C got %d of 100",
             atomic_load(&q[1].n) + atomic_load(&q[2].n));

    /* A -> C crosses the WAN link both ways */
    cl_count svc = { .respond = true };
    cl_sub(nc[2], "wan.svc", NULL, &svc);
    IT_CHECK(cl_probe(nc[0], nc[2], MESH_MS), "service on C known at A");
    int64_t t0 = it_now_ms();
    natsMsg *r = NULL;
    natsStatus st = natsConnection_RequestString(&r, nc[0], "wan.svc", "ping", 5000);
    int64_t rtt = it_now_ms() - t0;
    IT_CHECK(st == NATS_OK && r, "request from A answered on C: %s", natsStatus_GetText(st));
    IT_CHECK(rtt >= 2 * DELAY_MS, "round trip %lld ms includes the WAN delay (>= %d ms)", (long long)rtt,
             2 * DELAY_MS);
    natsMsg_Destroy(r);

out:
    for (int i = 0; i < 3; i++) {
        natsConnection_Destroy(nc[i]);
        cl_stop(&nodes[i]);
    }
    if (proxy_up) {
        atomic_store(&px.stop, true);
        pthread_join(pth, NULL);
        close(px.lfd);
    }
    teardown();
    cl_subs_free();
    nats_Close();
    return it_summary();
}
