/* Sublist microbenchmark: insert, match (cache hit and cache miss) and
 * remove rates plus memory per subscription, for 10k, 100k and 1M
 * subscriptions in realistic shapes.
 *
 *   sublist_bench [N ...]        default: 10000 100000 1000000
 *
 * Subscription mix (per N):
 *   70 %  foo.<i>.bar                     plain, one subject each
 *   10 %  svc.<i % S>.req  queue "workers" (S = N/1000 services, ~100 members)
 *   10 %  _INBOX.<22 chars>.*             one response mux per client
 *   10 %  ev.<i % 16>.<i>.>               per-entity event streams
 *   plus  4 x foo.*.bar and 2 x foo.>     monitoring taps
 * Published subjects are drawn from the same shapes, so each match has a
 * few plain subscribers (the taps) or one queue group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sublist.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_bytes(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2)
        res = 0;
    fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void inbox_id(char *out, size_t i)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t x = (uint64_t)i * 0x2545f4914f6cdd1dull + 0x1234567ull;
    for (int k = 0; k < 22; k++) {
        out[k] = al[x % 62];
        x = x / 62 + (uint64_t)k * 0x9e3779b97f4a7c15ull + i;
    }
    out[22] = '\0';
}

/* The published subject for a draw r over the four shapes. */
static int publish_subject(char *buf, size_t cap, size_t n, uint64_t r)
{
    size_t nplain = n * 7 / 10, nsvc = n / 10, nsvcsubj = n / 1000 ? n / 1000 : 1;
    size_t i = (size_t)(r >> 8);
    char id[23];
    switch (r % 10) {
    case 0:
        return snprintf(buf, cap, "svc.%zu.req", i % nsvcsubj);
    case 1:
        inbox_id(id, nplain + nsvc + i % (n / 10));
        return snprintf(buf, cap, "_INBOX.%s.%zu", id, i % 1000);
    case 2: {
        size_t e = nplain + 2 * (n / 10) + i % (n - nplain - 2 * (n / 10));
        return snprintf(buf, cap, "ev.%zu.%zu.update.x", e % 16, e);
    }
    default:
        return snprintf(buf, cap, "foo.%zu.bar", i % nplain);
    }
}

typedef struct pubs {
    char  *buf;
    size_t *off, *len;
    size_t n;
} pubs;

static pubs make_pubs(size_t nsubs, size_t count, uint64_t seed)
{
    pubs p = { .buf = malloc(count * 64), .off = malloc(count * sizeof(size_t)),
               .len = malloc(count * sizeof(size_t)), .n = count };
    rng = seed;
    for (size_t k = 0; k < count; k++) {
        p.off[k] = k * 64;
        p.len[k] = (size_t)publish_subject(p.buf + k * 64, 64, nsubs, rnd());
    }
    return p;
}

static void free_pubs(pubs *p)
{
    free(p->buf);
    free(p->off);
    free(p->len);
}

/* Runs matches over `p` (cycling) for about `secs`; returns matches/s.
 * Quiesces every 256 matches, like a worker at the end of a read batch. */
static volatile size_t sink; /* keeps the result reads observable */

static double run_matches(tern_sublist *sl, tern_sublist_cache *c, const pubs *p,
                          double secs)
{
    size_t done = 0, k = 0, sum = 0;
    double t0 = now(), t;
    do {
        for (int b = 0; b < 4096; b++) {
            const tern_sublist_result *r =
                tern_sublist_match(sl, c, p->buf + p->off[k], p->len[k]);
            sum += r->npsubs + r->nqgroups;
            if (++k == p->n)
                k = 0;
            if ((b & 255) == 255)
                tern_sublist_cache_quiesce(c);
        }
        done += 4096;
        t = now();
    } while (t - t0 < secs);
    tern_sublist_cache_quiesce(c);
    sink += sum;
    return (double)done / (t - t0);
}

static void bench(size_t n)
{
    size_t nplain = n * 7 / 10, nsvc = n / 10, ninbox = n / 10;
    size_t nsvcsubj = n / 1000 ? n / 1000 : 1;
    size_t ntaps = 6, total = n + ntaps;

    tern_sub *subs = calloc(total, sizeof *subs);
    char *names = malloc(total * 48);
    for (size_t i = 0; i < total; i++) {
        char *s = names + i * 48;
        const char *q = NULL;
        if (i < nplain) {
            snprintf(s, 48, "foo.%zu.bar", i);
        } else if (i < nplain + nsvc) {
            snprintf(s, 48, "svc.%zu.req", i % nsvcsubj);
            q = "workers";
        } else if (i < nplain + nsvc + ninbox) {
            char id[23];
            inbox_id(id, i);
            snprintf(s, 48, "_INBOX.%s.*", id);
        } else if (i < n) {
            snprintf(s, 48, "ev.%zu.%zu.>", i % 16, i);
        } else {
            strcpy(s, i - n < 4 ? "foo.*.bar" : "foo.>");
        }
        subs[i].subject = s;
        subs[i].subject_len = (uint32_t)strlen(s);
        subs[i].queue = q;
        subs[i].queue_len = q ? (uint32_t)strlen(q) : 0;
        subs[i].weight = 1;
    }
    /* Shuffle insertion order so that nothing benefits from sorted input. */
    size_t *order = malloc(total * sizeof *order);
    for (size_t i = 0; i < total; i++)
        order[i] = i;
    rng = 42;
    for (size_t i = total - 1; i > 0; i--) {
        size_t j = (size_t)(rnd() % (i + 1));
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    pubs hot = make_pubs(n, 1000, 7);
    pubs cold = make_pubs(n, 1u << 20, 11);
    /* RSS growth over the inserts alone: the sublist's own memory (the
     * tern_subs and subject strings belong to their connections). */
    long rss1 = rss_bytes();

    tern_sublist *sl = tern_sublist_new();
    double t0 = now();
    for (size_t i = 0; i < total; i++)
        if (tern_sublist_insert(sl, &subs[order[i]]) != 0)
            abort();
    double tins = now() - t0;
    long rss2 = rss_bytes();
    size_t nodes = tern_sublist_node_count(sl);

    tern_sublist_cache *c = tern_sublist_cache_new(4096);
    run_matches(sl, c, &hot, 0.2); /* warm */
    double hit = run_matches(sl, c, &hot, 1.0);
    tern_sublist_cache_free(c);

    /* Miss path 1: caching disabled, every match walks the trie and builds. */
    c = tern_sublist_cache_new(0);
    double miss = run_matches(sl, c, &cold, 1.0);
    tern_sublist_cache_free(c);

    /* Miss path 2: a normal cache facing ~1M distinct subjects: lookup,
     * build, insert and the periodic half-eviction. */
    c = tern_sublist_cache_new(4096);
    double newsubj = run_matches(sl, c, &cold, 1.0);
    tern_sublist_cache_free(c);

    t0 = now();
    for (size_t i = 0; i < total; i++)
        if (tern_sublist_remove(sl, &subs[order[total - 1 - i]]) != 0)
            abort();
    double trem = now() - t0;
    if (tern_sublist_count(sl) != 0 || tern_sublist_node_count(sl) != 0)
        abort();
    tern_sublist_free(sl);

    printf("subs %8zu  insert %6.2f M/s  remove %6.2f M/s  "
           "match hit %6.2f M/s  miss %5.2f M/s  new-subject %5.2f M/s  "
           "nodes %zu  RSS +%.0f B/sub\n",
           total, total / tins / 1e6, total / trem / 1e6, hit / 1e6, miss / 1e6,
           newsubj / 1e6, nodes, (double)(rss2 - rss1) / (double)total);
    fflush(stdout);
    free_pubs(&hot);
    free_pubs(&cold);
    free(order);
    free(names);
    free(subs);
}

int main(int argc, char **argv)
{
    size_t sizes[16] = { 10000, 100000, 1000000 };
    int ns = 3;
    if (argc > 1) {
        ns = 0;
        for (int i = 1; i < argc && ns < 16; i++) {
            long v = atol(argv[i]);
            if (v < 1000) {
                fprintf(stderr, "usage: %s [N>=1000 ...]\n", argv[0]);
                return 2;
            }
            sizes[ns++] = (size_t)v;
        }
    }
    /* One child per size so that RSS figures start from a clean heap. */
    for (int i = 0; i < ns; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            bench(sizes[i]);
            _exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "run with %zu subscriptions failed\n", sizes[i]);
            return 1;
        }
    }
    return 0;
}
