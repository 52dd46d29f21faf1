/* accept_bench: connection set-up rate of a NATS server.
 *
 *   accept_bench --port P [--host 127.0.0.1] [--threads 4] [--seconds 5]
 *
 * Each thread loops: connect, read INFO, send CONNECT + PING, read PONG,
 * close. Prints connections per second and the set-up latency
 * percentiles (connect → PONG). Loopback only; bounded by --seconds. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port, threads = 4;
static double seconds = 5;

#define MAX_SAMPLES 2000000

typedef struct worker {
    pthread_t th;
    long      conns, errors;
    double   *lat;       /* microseconds */
    long      nlat;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read until `needle` has been seen; 0 on success. */
static int read_until(int fd, const char *needle)
{
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        if (strstr(buf, needle))
            return 0;
        if (have > sizeof buf / 2) { /* keep the tail */
            memmove(buf, buf + have - 64, 64);
            have = 64;
        }
    }
}

static int one_connection(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    int one = 1, rc = -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static const char hello[] = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n";
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && read_until(fd, "\r\n") == 0 &&
        write(fd, hello, sizeof hello - 1) == (ssize_t)(sizeof hello - 1) &&
        read_until(fd, "PONG\r\n") == 0)
        rc = 0;
    /* An abortive close keeps TIME_WAIT from exhausting ephemeral ports. */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    return rc;
}

static void *run(void *arg)
{
    worker *w = arg;
    double end = now_s() + seconds;
    while (now_s() < end) {
        double t0 = now_s();
        if (one_connection() == 0) {
            w->conns++;
            if (w->nlat < MAX_SAMPLES / threads)
                w->lat[w->nlat++] = (now_s() - t0) * 1e6;
        } else {
            w->errors++;
        }
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: accept_bench --port P [--host H] [--threads N] [--seconds S]\n");
            return 1;
        }
    }
    if (port <= 0 || threads <= 0 || seconds <= 0 || seconds > 600) {
        fprintf(stderr, "accept_bench: need --port, threads > 0, 0 < seconds <= 600\n");
        return 1;
    }
    worker *ws = calloc((size_t)threads, sizeof *ws);
    for (int i = 0; i < threads; i++) {
        ws[i].lat = malloc(sizeof(double) * (MAX_SAMPLES / threads + 1));
        pthread_create(&ws[i].th, NULL, run, &ws[i]);
    }
    long conns = 0, errors = 0, n = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ws[i].th, NULL);
        conns += ws[i].conns;
        errors += ws[i].errors;
        n += ws[i].nlat;
    }
    double *all = malloc(sizeof(double) * (size_t)(n + 1));
    long k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, ws[i].lat, sizeof(double) * (size_t)ws[i].nlat);
        k += ws[i].nlat;
        free(ws[i].lat);
    }
    qsort(all, (size_t)n, sizeof *all, cmp_double);
    printf("{\"conns_per_s\":%.0f,\"conns\":%ld,\"errors\":%ld,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
           (double)conns / seconds, conns, errors, n ? all[n / 2] : 0.0,
           n ? all[(long)(n * 0.99)] : 0.0);
    free(all);
    free(ws);
    return errors ? 2 : 0;
}
