/* Monitoring under load: does /connz with many connections stall traffic?
 *
 *   monitor_bench --port 4222 --http 8222 [--conns 10000] [--seconds 5]
 *
 * Opens --conns idle client connections, then runs one publisher and one
 * subscriber (flow-controlled by PING/PONG every 1000 messages) for
 * --seconds without monitoring and again while another thread fetches
 * /connz?limit=1024 back to back. Prints the message rate of each phase and
 * the /connz response times. Works against ternd (-m) and nats-server (-m)
 * alike. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int g_port, g_http;
static atomic_bool g_stop, g_monitor;
static atomic_long g_received;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Read until needle has been seen (the INFO, then PONG). */
static void read_until(int fd, const char *needle)
{
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r <= 0) {
            fprintf(stderr, "connection closed while waiting for %s\n", needle);
            exit(1);
        }
        have += (size_t)r;
        buf[have] = 0;
        if (strstr(buf, needle))
            return;
        if (have > sizeof buf / 2) {   /* keep the tail */
            memmove(buf, buf + have - 64, 64);
            have = 64;
        }
    }
}

static int client(const char *extra)
{
    int fd = dial(g_port);
    char hello[256];
    snprintf(hello, sizeof hello, "CONNECT {\"verbose\":false}\r\n%sPING\r\n", extra);
    send_all(fd, hello, strlen(hello));
    read_until(fd, "PONG\r\n");
    return fd;
}

static void *subscriber(void *arg)
{
    int fd = *(int *)arg;
    static const char frame[] = "MSG bench 1 16\r\n0123456789abcdef\r\n";
    const long size = (long)sizeof frame - 1;
    char buf[1 << 16];
    long bytes = 0;
    while (!atomic_load(&g_stop)) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            break;
        bytes += r;
        atomic_store(&g_received, bytes / size);
    }
    return NULL;
}

static void *publisher(void *arg)
{
    int fd = *(int *)arg;
    static const char msg[] = "PUB bench 16\r\n0123456789abcdef\r\n";
    char batch[1000 * (sizeof msg - 1) + 8];
    size_t n = 0;
    for (int i = 0; i < 1000; i++, n += sizeof msg - 1)
        memcpy(batch + n, msg, sizeof msg - 1);
    memcpy(batch + n, "PING\r\n", 6);
    n += 6;
    while (!atomic_load(&g_stop)) {
        send_all(fd, batch, n);
        read_until(fd, "PONG\r\n");
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double *g_lat;
static size_t g_nlat, g_caplat;

static void *monitor(void *arg)
{
    (void)arg;
    static char buf[1 << 20];
    while (!atomic_load(&g_stop)) {
        if (!atomic_load(&g_monitor)) {
            usleep(1000);   /* idle phase: nothing to do */
            continue;
        }
        double t0 = now_s();
        int fd = dial(g_http);
        const char *req = "GET /connz?limit=1024 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        send_all(fd, req, strlen(req));
        while (read(fd, buf, sizeof buf) > 0)
            ;
        close(fd);
        if (g_nlat == g_caplat) {
            g_caplat = g_caplat ? 2 * g_caplat : 1024;
            g_lat = realloc(g_lat, g_caplat * sizeof *g_lat);
        }
        g_lat[g_nlat++] = (now_s() - t0) * 1000;
    }
    return NULL;
}

static double phase(double seconds)
{
    long start = atomic_load(&g_received);
    double t0 = now_s();
    usleep((useconds_t)(seconds * 1e6));
    return (double)(atomic_load(&g_received) - start) / (now_s() - t0);
}

int main(int argc, char **argv)
{
    int conns = 10000;
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            g_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--http"))
            g_http = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
    }
    if (!g_port || !g_http) {
        fprintf(stderr, "usage: monitor_bench --port P --http H [--conns N] [--seconds S]\n");
        return 2;
    }
    int *idle = malloc((size_t)conns * sizeof *idle);
    double t0 = now_s();
    for (int i = 0; i < conns; i++)
        idle[i] = client("");
    printf("%d idle connections in %.1f s\n", conns, now_s() - t0);
    int sub = client("SUB bench 1\r\n"), pub = client("");
    pthread_t ts, tp, tm;
    pthread_create(&ts, NULL, subscriber, &sub);
    pthread_create(&tp, NULL, publisher, &pub);
    pthread_create(&tm, NULL, monitor, NULL);
    phase(1);   /* warm up */
    double quiet = phase(seconds);
    atomic_store(&g_monitor, true);
    double busy = phase(seconds);
    atomic_store(&g_stop, true);
    shutdown(sub, SHUT_RDWR);
    pthread_join(tp, NULL);
    pthread_join(ts, NULL);
    pthread_join(tm, NULL);
    qsort(g_lat, g_nlat, sizeof *g_lat, cmp_double);
    printf("messages/s without monitoring: %.0f\n", quiet);
    printf("messages/s while /connz is fetched back to back: %.0f (%.2fx)\n", busy, busy / quiet);
    if (g_nlat)
        printf("/connz?limit=1024 with %d connections: %zu requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               conns + 2, g_nlat, g_lat[g_nlat / 2], g_lat[g_nlat * 99 / 100], g_lat[g_nlat - 1]);
    for (int i = 0; i < conns; i++)
        close(idle[i]);
    free(idle);
    free(g_lat);
    return 0;
}
