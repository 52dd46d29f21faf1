/* Unit tests for the sublist (kernel/sublist.c): matching semantics of
 * nats-server's sublist.go, queue groups, removal and node pruning, the
 * per-worker cache (generation, eviction, results living until quiesce),
 * subject validity, and a randomized cross-check against a brute-force
 * matcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sublist.h"

/* ---- helpers --------------------------------------------------------- */

static tern_sub mksub(const char *subject, const char *queue)
{
    tern_sub s = {
        .subject = subject,
        .subject_len = (uint32_t)strlen(subject),
        .queue = queue,
        .queue_len = queue ? (uint32_t)strlen(queue) : 0,
        .weight = 1,
        .owner = NULL,
    };
    return s;
}

static const tern_sublist_result *match(tern_sublist *sl, tern_sublist_cache *c,
                                        const char *subject)
{
    return tern_sublist_match(sl, c, subject, strlen(subject));
}

static bool has_psub(const tern_sublist_result *r, const tern_sub *s)
{
    for (size_t i = 0; i < r->npsubs; i++)
        if (r->psubs[i] == s)
            return true;
    return false;
}

static const tern_sublist_qgroup *find_group(const tern_sublist_result *r,
                                             const char *name)
{
    for (size_t i = 0; i < r->nqgroups; i++) {
        const tern_sublist_qgroup *g = &r->qgroups[i];
        if (g->n > 0 && g->subs[0]->queue_len == strlen(name) &&
            memcmp(g->subs[0]->queue, name, g->subs[0]->queue_len) == 0)
            return g;
    }
    return NULL;
}

static bool group_has(const tern_sublist_qgroup *g, const tern_sub *s)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->subs[i] == s)
            return true;
    return false;
}

/* Asserts that `subject` matches exactly the plain subs in `want`. */
static void expect_plain(tern_sublist *sl, tern_sublist_cache *c, const char *subject,
                         tern_sub **want, size_t nwant)
{
    const tern_sublist_result *r = match(sl, c, subject);
    assert_non_null(r);
    if (r->npsubs != nwant)
        fail_msg("%s: %zu plain matches, want %zu", subject, r->npsubs, nwant);
    for (size_t i = 0; i < nwant; i++)
        if (!has_psub(r, want[i]))
            fail_msg("%s: missing %s", subject, want[i]->subject);
    assert_int_equal(r->nqgroups, 0);
}

struct fixture {
    tern_sublist       *sl;
    tern_sublist_cache *c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->sl = tern_sublist_new();
    f->c = tern_sublist_cache_new(1024);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tern_sublist_cache_free(f->c);
    tern_sublist_free(f->sl);
    free(f);
    return 0;
}

/* ---- matching semantics ---------------------------------------------- */

static void test_literal(void **state)
{
    struct fixture *f = *state;
    tern_sub a = mksub("foo", NULL), b = mksub("foo.bar", NULL),
             b2 = mksub("foo.bar", NULL), c = mksub("foo.bar.baz", NULL);
    assert_int_equal(tern_sublist_insert(f->sl, &a), 0);
    assert_int_equal(tern_sublist_insert(f->sl, &b), 0);
    assert_int_equal(tern_sublist_insert(f->sl, &b2), 0);
    assert_int_equal(tern_sublist_insert(f->sl, &c), 0);
    assert_int_equal(tern_sublist_count(f->sl), 4);

    expect_plain(f->sl, f->c, "foo", (tern_sub *[]){ &a }, 1);
    expect_plain(f->sl, f->c, "foo.bar", (tern_sub *[]){ &b, &b2 }, 2);
    expect_plain(f->sl, f->c, "foo.bar.baz", (tern_sub *[]){ &c }, 1);
    expect_plain(f->sl, f->c, "foo.baz", NULL, 0);
    expect_plain(f->sl, f->c, "fo", NULL, 0);
    expect_plain(f->sl, f->c, "foo.bar.baz.qux", NULL, 0);
    expect_plain(f->sl, f->c, "FOO", NULL, 0); /* case-sensitive */
    /* Cached lookups return the same result object. */
    assert_ptr_equal(match(f->sl, f->c, "foo.bar"), match(f->sl, f->c, "foo.bar"));
}

static void test_pwc(void **state)
{
    struct fixture *f = *state;
    tern_sub s1 = mksub("*", NULL), s2 = mksub("foo.*", NULL),
             s3 = mksub("*.bar", NULL), s4 = mksub("foo.*.baz", NULL),
             s5 = mksub("*.*", NULL);
    tern_sub *all[] = { &s1, &s2, &s3, &s4, &s5 };
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(tern_sublist_insert(f->sl, all[i]), 0);

    expect_plain(f->sl, f->c, "foo", (tern_sub *[]){ &s1 }, 1);
    expect_plain(f->sl, f->c, "foo.bar", (tern_sub *[]){ &s2, &s3, &s5 }, 3);
    expect_plain(f->sl, f->c, "foo.x", (tern_sub *[]){ &s2, &s5 }, 2);
    expect_plain(f->sl, f->c, "x.bar", (tern_sub *[]){ &s3, &s5 }, 2);
    expect_plain(f->sl, f->c, "foo.x.baz", (tern_sub *[]){ &s4 }, 1);
    expect_plain(f->sl, f->c, "foo.x.baz.y", NULL, 0);
    expect_plain(f->sl, f->c, "x.y.z", NULL, 0);
}

static void test_fwc(void **state)
{
    struct fixture *f = *state;
    tern_sub s1 = mksub(">", NULL), s2 = mksub("a.>", NULL),
             s3 = mksub("a.b.>", NULL), s4 = mksub("a.*.>", NULL);
    tern_sub *all[] = { &s1, &s2, &s3, &s4 };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(tern_sublist_insert(f->sl, all[i]), 0);

    /* `a.>` matches a.b and a.b.c but not a. */
    expect_plain(f->sl, f->c, "a", (tern_sub *[]){ &s1 }, 1);
    expect_plain(f->sl, f->c, "a.b", (tern_sub *[]){ &s1, &s2 }, 2);
    expect_plain(f->sl, f->c, "a.b.c", (tern_sub *[]){ &s1, &s2, &s3, &s4 }, 4);
    expect_plain(f->sl, f->c, "a.x.c.d", (tern_sub *[]){ &s1, &s2, &s4 }, 3);
    expect_plain(f->sl, f->c, "b", (tern_sub *[]){ &s1 }, 1);
    expect_plain(f->sl, f->c, "b.c.d", (tern_sub *[]){ &s1 }, 1);
}

static void test_mixed_and_literal_wildcard_tokens(void **state)
{
    struct fixture *f = *state;
    tern_sub lit = mksub("a.b.c", NULL), p = mksub("a.*.c", NULL),
             fw = mksub("a.>", NULL), star_lit = mksub("a*.b", NULL),
             gt_lit = mksub("a.b>", NULL), pp = mksub("*.b.*", NULL);
    tern_sub *all[] = { &lit, &p, &fw, &star_lit, &gt_lit, &pp };
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(tern_sublist_insert(f->sl, all[i]), 0);

    expect_plain(f->sl, f->c, "a.b.c", (tern_sub *[]){ &lit, &p, &fw, &pp }, 4);
    /* `a*` and `b>` are ordinary literal tokens. */
    expect_plain(f->sl, f->c, "a*.b", (tern_sub *[]){ &star_lit }, 1);
    expect_plain(f->sl, f->c, "ax.b", NULL, 0);
    expect_plain(f->sl, f->c, "a.b>", (tern_sub *[]){ &fw, &gt_lit }, 2);
    /* A literal `*` in a published subject only meets wildcard subs there:
     * not a.b.c, but a.*.c, a.> and *.b.*. */
    expect_plain(f->sl, f->c, "a.*.c", (tern_sub *[]){ &p, &fw }, 2);
    expect_plain(f->sl, f->c, "a.b.*", (tern_sub *[]){ &fw, &pp }, 2);
    /* A published `>` token is a single token here. */
    expect_plain(f->sl, f->c, "a.>", (tern_sub *[]){ &fw }, 1);
    expect_plain(f->sl, f->c, "*.b.c", (tern_sub *[]){ &pp }, 1);
}

static void test_empty_tokens_match_nothing(void **state)
{
    struct fixture *f = *state;
    tern_sub all = mksub(">", NULL), two = mksub("*.*", NULL), q = mksub(">", "q");
    assert_int_equal(tern_sublist_insert(f->sl, &all), 0);
    assert_int_equal(tern_sublist_insert(f->sl, &two), 0);
    assert_int_equal(tern_sublist_insert(f->sl, &q), 0);
    const char *bad[] = { "", ".", "a.", ".a", "a..b", "..", "a.b." };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (int rep = 0; rep < 2; rep++) {
            const tern_sublist_result *r = match(f->sl, f->c, bad[i]);
            assert_non_null(r);
            if (r->npsubs != 0 || r->nqgroups != 0)
                fail_msg("'%s' matched", bad[i]);
        }
    }
    /* Nothing was cached for them. */
    assert_int_equal(tern_sublist_cache_count(f->c), 0);
    const tern_sublist_result *r = match(f->sl, f->c, "a.b");
    assert_int_equal(r->npsubs, 2);
    assert_int_equal(r->nqgroups, 1);
}

/* A fresh cache whose first results have no plain subscribers. */
static void test_first_match_without_plain_subs(void **state)
{
    (void)state;
    tern_sublist *sl = tern_sublist_new();
    tern_sublist_cache *c = tern_sublist_cache_new(16);
    tern_sublist_cache *nc = tern_sublist_cache_new(0);
    tern_sub q = mksub("only.queue", "q");
    assert_int_equal(tern_sublist_insert(sl, &q), 0);
    tern_sublist_cache *caches[] = { c, nc };
    for (int i = 0; i < 2; i++) {
        const tern_sublist_result *r = match(sl, caches[i], "nothing.here");
        assert_int_equal(r->npsubs, 0);
        assert_int_equal(r->nqgroups, 0);
        r = match(sl, caches[i], "only.queue");
        assert_int_equal(r->npsubs, 0);
        assert_int_equal(r->nqgroups, 1);
        assert_int_equal(r->qgroups[0].n, 1);
        assert_ptr_equal(r->qgroups[0].subs[0], &q);
    }
    tern_sublist_cache_free(c);
    tern_sublist_cache_free(nc);
    tern_sublist_free(sl);
}

/* ---- queue groups ---------------------------------------------------- */

static void test_queue_groups(void **state)
{
    struct fixture *f = *state;
    tern_sub p = mksub("foo.bar", NULL);
    tern_sub q1a = mksub("foo.bar", "q1"), q1b = mksub("foo.bar", "q1"),
             q1c = mksub("foo.*", "q1"), q2a = mksub("foo.>", "q2"),
             q3a = mksub("foo.baz", "q3"), q1x = mksub("foo.bar", "q1x");
    tern_sub *all[] = { &p, &q1a, &q1b, &q1c, &q2a, &q3a, &q1x };
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(tern_sublist_insert(f->sl, all[i]), 0);

    const tern_sublist_result *r = match(f->sl, f->c, "foo.bar");
    assert_int_equal(r->npsubs, 1);
    assert_ptr_equal(r->psubs[0], &p);
    /* One group per distinct name, merged across foo.bar and foo.*. */
    assert_int_equal(r->nqgroups, 3);
    const tern_sublist_qgroup *g1 = find_group(r, "q1");
    assert_non_null(g1);
    assert_int_equal(g1->n, 3);
    assert_true(group_has(g1, &q1a) && group_has(g1, &q1b) && group_has(g1, &q1c));
    const tern_sublist_qgroup *g2 = find_group(r, "q2");
    assert_non_null(g2);
    assert_int_equal(g2->n, 1);
    assert_ptr_equal(g2->subs[0], &q2a);
    const tern_sublist_qgroup *gx = find_group(r, "q1x"); /* not a prefix match of q1 */
    assert_non_null(gx);
    assert_int_equal(gx->n, 1);
    assert_null(find_group(r, "q3"));

    r = match(f->sl, f->c, "foo.baz");
    assert_int_equal(r->npsubs, 0);
    assert_int_equal(r->nqgroups, 3); /* q1 (foo.*), q2, q3 */
    assert_int_equal(find_group(r, "q1")->n, 1);
    assert_int_equal(find_group(r, "q3")->n, 1);

    /* An empty queue name is a plain subscription. */
    tern_sub eq = mksub("foo.bar", "");
    assert_int_equal(tern_sublist_insert(f->sl, &eq), 0);
    r = match(f->sl, f->c, "foo.bar");
    assert_int_equal(r->npsubs, 2);
    assert_int_equal(tern_sublist_remove(f->sl, &eq), 0);

    /* Removing queue members shrinks and finally drops the group. */
    assert_int_equal(tern_sublist_remove(f->sl, &q1a), 0);
    r = match(f->sl, f->c, "foo.bar");
    assert_int_equal(find_group(r, "q1")->n, 2);
    assert_int_equal(tern_sublist_remove(f->sl, &q1b), 0);
    assert_int_equal(tern_sublist_remove(f->sl, &q1c), 0);
    r = match(f->sl, f->c, "foo.bar");
    assert_null(find_group(r, "q1"));
    assert_int_equal(r->nqgroups, 2);
    /* Removing with the wrong queue name does not find the sub. */
    tern_sub wrong = q2a;
    wrong.queue = "q9";
    assert_int_equal(tern_sublist_remove(f->sl, &wrong), -1);
}

/* ---- insert / remove ------------------------------------------------- */

static void test_insert_invalid(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = { "", "a..b", ".a", "a.", "a.>.b", ">.a", "a.>.>", "." };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tern_sub s = mksub(bad[i], NULL);
        assert_int_equal(tern_sublist_insert(f->sl, &s), -1);
    }
    assert_int_equal(tern_sublist_count(f->sl), 0);
    assert_int_equal(tern_sublist_node_count(f->sl), 0);
}

static void test_remove_and_reinsert(void **state)
{
    struct fixture *f = *state;
    tern_sub a = mksub("foo.bar", NULL), b = mksub("foo.*", NULL),
             c = mksub("foo.>", NULL), d = mksub("foo.bar", NULL);
    tern_sub *all[] = { &a, &b, &c, &d };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(tern_sublist_insert(f->sl, all[i]), 0);
    expect_plain(f->sl, f->c, "foo.bar", all, 4);

    assert_int_equal(tern_sublist_remove(f->sl, &a), 0);
    assert_int_equal(tern_sublist_remove(f->sl, &a), -1); /* already gone */
    assert_int_equal(tern_sublist_count(f->sl), 3);
    expect_plain(f->sl, f->c, "foo.bar", (tern_sub *[]){ &b, &c, &d }, 3);

    assert_int_equal(tern_sublist_remove(f->sl, &b), 0);
    assert_int_equal(tern_sublist_remove(f->sl, &c), 0);
    expect_plain(f->sl, f->c, "foo.bar", (tern_sub *[]){ &d }, 1);
    expect_plain(f->sl, f->c, "foo.baz", NULL, 0);

    /* Not found: unknown subject, or a sub never inserted on a live node. */
    tern_sub never = mksub("foo.bar", NULL), other = mksub("x.y", NULL);
    assert_int_equal(tern_sublist_remove(f->sl, &never), -1);
    assert_int_equal(tern_sublist_remove(f->sl, &other), -1);
    tern_sub invalid = mksub("a..b", NULL);
    assert_int_equal(tern_sublist_remove(f->sl, &invalid), -1);

    /* Re-insert what was removed. */
    assert_int_equal(tern_sublist_insert(f->sl, &a), 0);
    assert_int_equal(tern_sublist_insert(f->sl, &c), 0);
    expect_plain(f->sl, f->c, "foo.bar", (tern_sub *[]){ &a, &c, &d }, 3);
    expect_plain(f->sl, f->c, "foo.bar.baz", (tern_sub *[]){ &c }, 1);

    for (size_t i = 0; i < 4; i++)
        if (all[i] != &b)
            assert_int_equal(tern_sublist_remove(f->sl, all[i]), 0);
    assert_int_equal(tern_sublist_count(f->sl), 0);
    assert_int_equal(tern_sublist_node_count(f->sl), 0);
    expect_plain(f->sl, f->c, "foo.bar", NULL, 0);
}

static void test_nodes_freed_on_remove(void **state)
{
    struct fixture *f = *state;
    enum { N = 3000 };
    static char subj[N][40];
    static tern_sub subs[N];
    const char *queues[] = { NULL, "qa", "qb" };
    for (int i = 0; i < N; i++) {
        switch (i % 5) {
        case 0: snprintf(subj[i], sizeof subj[i], "foo.%d.bar", i); break;
        case 1: snprintf(subj[i], sizeof subj[i], "foo.%d.*", i % 97); break;
        case 2: snprintf(subj[i], sizeof subj[i], "foo.*.x%d.>", i % 13); break;
        case 3: snprintf(subj[i], sizeof subj[i], "svc.%d", i % 7); break;
        default: snprintf(subj[i], sizeof subj[i], "e.%d.%d.%d", i, i % 3, i % 11); break;
        }
        subs[i] = mksub(subj[i], queues[i % 3]);
        assert_int_equal(tern_sublist_insert(f->sl, &subs[i]), 0);
    }
    assert_int_equal(tern_sublist_count(f->sl), N);
    assert_true(tern_sublist_node_count(f->sl) > N);
    /* Remove in a scrambled order (stride coprime with N). */
    for (int k = 0; k < N; k++) {
        int i = (int)(((long)k * 1237) % N);
        assert_int_equal(tern_sublist_remove(f->sl, &subs[i]), 0);
    }
    assert_int_equal(tern_sublist_count(f->sl), 0);
    assert_int_equal(tern_sublist_node_count(f->sl), 0);

    /* A wide level (hash-table children) grows and shrinks back. */
    enum { W = 20000 };
    static char wsubj[W][24];
    static tern_sub wsubs[W];
    for (int i = 0; i < W; i++) {
        snprintf(wsubj[i], sizeof wsubj[i], "w.%d.z", i);
        wsubs[i] = mksub(wsubj[i], NULL);
        assert_int_equal(tern_sublist_insert(f->sl, &wsubs[i]), 0);
    }
    assert_int_equal(tern_sublist_node_count(f->sl), 1 + 2 * W);
    char buf[24];
    for (int i = 0; i < W; i += 997) {
        snprintf(buf, sizeof buf, "w.%d.z", i);
        const tern_sublist_result *r = match(f->sl, f->c, buf);
        assert_int_equal(r->npsubs, 1);
        assert_ptr_equal(r->psubs[0], &wsubs[i]);
    }
    for (int i = W - 1; i >= 0; i -= 2)
        assert_int_equal(tern_sublist_remove(f->sl, &wsubs[i]), 0);
    for (int i = 0; i < W; i += 2) {
        snprintf(buf, sizeof buf, "w.%d.z", i);
        assert_int_equal(match(f->sl, f->c, buf)->npsubs, 1);
        snprintf(buf, sizeof buf, "w.%d.z", i + 1);
        assert_int_equal(match(f->sl, f->c, buf)->npsubs, 0);
    }
    for (int i = 0; i < W; i += 2)
        assert_int_equal(tern_sublist_remove(f->sl, &wsubs[i]), 0);
    assert_int_equal(tern_sublist_node_count(f->sl), 0);
}

/* Many subscribers of one subject: removal through the pointer index. */
static void test_many_subs_one_subject(void **state)
{
    struct fixture *f = *state;
    enum { N = 5000 };
    tern_sub *subs = calloc(N, sizeof *subs);
    bool *in = calloc(N, sizeof *in);
    for (int i = 0; i < N; i++) {
        subs[i] = mksub("fan.out", (i % 2) ? "workers" : NULL);
        assert_int_equal(tern_sublist_insert(f->sl, &subs[i]), 0);
        in[i] = true;
    }
    size_t left = N;
    srand(7);
    for (int round = 0; round < 6; round++) {
        for (int k = 0; k < N / 8; k++) {
            int i = rand() % N;
            assert_int_equal(tern_sublist_remove(f->sl, &subs[i]), in[i] ? 0 : -1);
            if (in[i])
                left--;
            in[i] = false;
        }
        const tern_sublist_result *r = match(f->sl, f->c, "fan.out");
        size_t total = r->npsubs + (r->nqgroups ? r->qgroups[0].n : 0);
        assert_int_equal(total, left);
        for (size_t j = 0; j < r->npsubs; j++)
            assert_true(in[r->psubs[j] - subs]);
        for (size_t j = 0; r->nqgroups && j < r->qgroups[0].n; j++)
            assert_true(in[r->qgroups[0].subs[j] - subs]);
        tern_sublist_cache_quiesce(f->c);
    }
    for (int i = 0; i < N; i++)
        if (in[i])
            assert_int_equal(tern_sublist_remove(f->sl, &subs[i]), 0);
    assert_int_equal(tern_sublist_node_count(f->sl), 0);
    free(subs);
    free(in);
}

/* ---- cache ----------------------------------------------------------- */

static void test_generation_bump(void **state)
{
    struct fixture *f = *state;
    tern_sub a = mksub("g.h", NULL), b = mksub("g.*", NULL);
    uint64_t g0 = tern_sublist_generation(f->sl);
    assert_int_equal(tern_sublist_insert(f->sl, &a), 0);
    uint64_t g1 = tern_sublist_generation(f->sl);
    assert_true(g1 > g0);
    const tern_sublist_result *r1 = match(f->sl, f->c, "g.h");
    assert_int_equal(r1->npsubs, 1);
    /* A failed insert/remove does not bump. */
    tern_sub bad = mksub("g..h", NULL);
    assert_int_equal(tern_sublist_insert(f->sl, &bad), -1);
    assert_int_equal(tern_sublist_remove(f->sl, &b), -1);
    assert_int_equal(tern_sublist_generation(f->sl), g1);
    assert_ptr_equal(match(f->sl, f->c, "g.h"), r1);

    /* An insert elsewhere bumps and the stale entry is rebuilt. */
    assert_int_equal(tern_sublist_insert(f->sl, &b), 0);
    uint64_t g2 = tern_sublist_generation(f->sl);
    assert_true(g2 > g1);
    const tern_sublist_result *r2 = match(f->sl, f->c, "g.h");
    assert_ptr_not_equal(r2, r1);
    assert_int_equal(r2->npsubs, 2);
    assert_int_equal(r1->npsubs, 1); /* the old one is still intact */
    assert_ptr_equal(match(f->sl, f->c, "g.h"), r2);
    assert_int_equal(tern_sublist_remove(f->sl, &a), 0);
    assert_true(tern_sublist_generation(f->sl) > g2);
    expect_plain(f->sl, f->c, "g.h", (tern_sub *[]){ &b }, 1);
    tern_sublist_cache_quiesce(f->c);
    expect_plain(f->sl, f->c, "g.h", (tern_sub *[]){ &b }, 1);
}

/* Delivery iterates a result while subs are removed (auto-unsubscribe):
 * the result must stay valid and unchanged until quiesce. */
static void test_result_stable_until_quiesce(void **state)
{
    struct fixture *f = *state;
    tern_sub a = mksub("s.t", NULL), b = mksub("s.*", NULL), q = mksub("s.>", "q"),
             q2 = mksub("s.t", "q");
    tern_sub *all[] = { &a, &b, &q, &q2 };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(tern_sublist_insert(f->sl, all[i]), 0);
    const tern_sublist_result *r = match(f->sl, f->c, "s.t");
    tern_sublist_result snap = *r;
    tern_sub *ps[2] = { r->psubs[0], r->psubs[1] };
    tern_sub *qs[2] = { r->qgroups[0].subs[0], r->qgroups[0].subs[1] };
    assert_int_equal(snap.npsubs, 2);
    assert_int_equal(snap.nqgroups, 1);

    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(tern_sublist_remove(f->sl, all[i]), 0);
        /* Matching again (which replaces the cache entry) must not touch r. */
        const tern_sublist_result *now = match(f->sl, f->c, "s.t");
        assert_ptr_not_equal(now, r);
    }
    assert_int_equal(tern_sublist_node_count(f->sl), 0);
    assert_int_equal(match(f->sl, f->c, "s.t")->npsubs, 0);
    /* Fill the cache past its bound too: eviction retires, never frees. */
    char buf[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(buf, sizeof buf, "s.%d", i);
        match(f->sl, f->c, buf);
    }
    assert_true(tern_sublist_cache_count(f->c) <= 1024);
    assert_memory_equal(r, &snap, sizeof snap);
    assert_ptr_equal(r->psubs[0], ps[0]);
    assert_ptr_equal(r->psubs[1], ps[1]);
    assert_int_equal(r->qgroups[0].n, 2);
    assert_ptr_equal(r->qgroups[0].subs[0], qs[0]);
    assert_ptr_equal(r->qgroups[0].subs[1], qs[1]);
    tern_sublist_cache_quiesce(f->c);
}

static void test_cache_eviction(void **state)
{
    (void)state;
    tern_sublist *sl = tern_sublist_new();
    tern_sublist_cache *c = tern_sublist_cache_new(8);
    tern_sub all = mksub("ev.>", NULL), one = mksub("ev.5", NULL);
    assert_int_equal(tern_sublist_insert(sl, &all), 0);
    assert_int_equal(tern_sublist_insert(sl, &one), 0);
    enum { M = 200 };
    const tern_sublist_result *res[M];
    char buf[32];
    for (int i = 0; i < M; i++) {
        snprintf(buf, sizeof buf, "ev.%d", i);
        res[i] = match(sl, c, buf);
        assert_true(tern_sublist_cache_count(c) <= 8);
    }
    /* Every result handed out is still readable and right. */
    for (int i = 0; i < M; i++) {
        assert_int_equal(res[i]->npsubs, i == 5 ? 2 : 1);
        assert_true(has_psub(res[i], &all));
    }
    tern_sublist_cache_quiesce(c);
    /* Still correct after eviction + quiesce, and hits are stable. */
    for (int i = 0; i < M; i += 7) {
        snprintf(buf, sizeof buf, "ev.%d", i);
        const tern_sublist_result *r = match(sl, c, buf);
        assert_int_equal(r->npsubs, i == 5 ? 2 : 1);
        assert_ptr_equal(match(sl, c, buf), r);
    }
    assert_true(tern_sublist_cache_count(c) > 0);
    tern_sublist_cache_free(c);

    /* The bound holds however the random eviction falls, even at 1. */
    c = tern_sublist_cache_new(1);
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "ev.%d", i % 50);
        assert_int_equal(match(sl, c, buf)->npsubs, i % 50 == 5 ? 2 : 1);
        assert_int_equal(tern_sublist_cache_count(c), 1);
        if (i % 100 == 99)
            tern_sublist_cache_quiesce(c);
    }
    tern_sublist_cache_free(c);
    tern_sublist_free(sl);
}

static void test_no_cache_mode(void **state)
{
    (void)state;
    tern_sublist *sl = tern_sublist_new();
    tern_sublist_cache *c = tern_sublist_cache_new(0);
    tern_sub a = mksub("n.c", NULL);
    assert_int_equal(tern_sublist_insert(sl, &a), 0);
    const tern_sublist_result *r1 = match(sl, c, "n.c");
    const tern_sublist_result *r2 = match(sl, c, "n.c");
    assert_ptr_not_equal(r1, r2); /* fresh each time */
    assert_int_equal(r1->npsubs, 1);
    assert_int_equal(r2->npsubs, 1);
    assert_int_equal(tern_sublist_cache_count(c), 0);
    assert_int_equal(tern_sublist_remove(sl, &a), 0);
    assert_int_equal(r1->npsubs, 1); /* still valid until quiesce */
    tern_sublist_cache_quiesce(c);
    assert_int_equal(match(sl, c, "n.c")->npsubs, 0);
    tern_sublist_cache_free(c); /* frees the unquiesced result too (ASan) */
    tern_sublist_free(sl);
}

/* A cache handed a different sublist must not serve the other's results,
 * even when the generations happen to be equal. */
static void test_cache_rebind(void **state)
{
    (void)state;
    tern_sublist *s1 = tern_sublist_new(), *s2 = tern_sublist_new();
    tern_sublist_cache *c = tern_sublist_cache_new(16);
    tern_sub a = mksub("r.b", NULL), b = mksub("r.b", NULL);
    assert_int_equal(tern_sublist_insert(s1, &a), 0);
    assert_int_equal(tern_sublist_insert(s2, &b), 0);
    assert_int_equal(tern_sublist_generation(s1), tern_sublist_generation(s2));
    const tern_sublist_result *r = match(s1, c, "r.b");
    assert_ptr_equal(r->psubs[0], &a);
    r = match(s2, c, "r.b");
    assert_ptr_equal(r->psubs[0], &b);
    tern_sublist_cache_free(c);
    tern_sublist_free(s1);
    tern_sublist_free(s2);
}

/* ---- subject validity ------------------------------------------------ */

static void test_subject_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool sub;  /* valid with wildcards (subscription) */
        bool lit;  /* valid as a literal (pedantic publish) */
    } cases[] = {
        { "foo", true, true },
        { "foo.bar", true, true },
        { "foo.bar.baz.qux.quux", true, true },
        { "a", true, true },
        { "*", true, false },
        { ">", true, false },
        { "foo.*", true, false },
        { "foo.>", true, false },
        { "*.bar", true, false },
        { "*.*.>", true, false },
        { "foo.*.baz", true, false },
        { "foo.>.bar", false, false },
        { ">.foo", false, false },
        { ">.>", false, false },
        { "foo.>.>", false, false },
        { "a*", true, true },
        { "*a", true, true },
        { "a>", true, true },
        { ">a", true, true },
        { "a.**", true, true },
        { "a.>>", true, true },
        { "a.b*c.>", true, false },
        { "", false, false },
        { ".", false, false },
        { "..", false, false },
        { ".foo", false, false },
        { "foo.", false, false },
        { "foo..bar", false, false },
        { "foo.*.", false, false },
        /* Blanks inside tokens: separators never reach here from the
         * parser, and nats-server 2.9.10 accepts the rest (`SUB a\fb 1`). */
        { "foo bar", true, true },
        { "foo\tbar", true, true },
        { "foo\rbar", true, true },
        { "foo\fbar", true, true },
        { "foo\f.>", true, false },
        { "foo.\f.", false, false },
        { "$SYS.ACCOUNT.x.CONNECT", true, true },
        { "_INBOX.abcdefghijklmnopqrstuv.*", true, false },
        { "foo-bar_baz:9/x", true, true },
        { "\xc3\xa9t\xc3\xa9.caf\xc3\xa9", true, true },
        { "foo.\x01", true, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = strlen(cases[i].s);
        if (tern_subject_valid(cases[i].s, len, true) != cases[i].sub)
            fail_msg("case %zu '%s': wildcards=true want %d", i, cases[i].s, cases[i].sub);
        if (tern_subject_valid(cases[i].s, len, false) != cases[i].lit)
            fail_msg("case %zu '%s': wildcards=false want %d", i, cases[i].s, cases[i].lit);
    }
    /* Length is honoured (no NUL terminator needed, embedded bytes count). */
    assert_true(tern_subject_valid("foo.bar", 3, true));
    assert_false(tern_subject_valid("foo.bar", 4, true));
    assert_true(tern_subject_valid("a\0b", 3, false));
    assert_false(tern_subject_valid(NULL, 0, true));
}

/* ---- randomized cross-check ------------------------------------------ */

/* Splits s on '.' into at most max tokens; returns count or -1 on an
 * empty token. */
static int split(const char *s, const char **tok, size_t *tlen, int max)
{
    int n = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            if (p == start || n == max)
                return -1;
            tok[n] = start;
            tlen[n] = (size_t)(p - start);
            n++;
            if (*p == '\0')
                return n;
            start = p + 1;
        }
    }
}

static bool brute_match(const char *sub, const char *pub)
{
    const char *st[16], *pt[16];
    size_t sl[16], pl[16];
    int ns = split(sub, st, sl, 16), np = split(pub, pt, pl, 16);
    if (ns < 0 || np < 0)
        return false;
    for (int i = 0; i < ns; i++) {
        if (sl[i] == 1 && st[i][0] == '>')
            return np > i;
        if (i >= np)
            return false;
        if (sl[i] == 1 && st[i][0] == '*')
            continue;
        if (sl[i] != pl[i] || memcmp(st[i], pt[i], sl[i]) != 0)
            return false;
    }
    return ns == np;
}

enum { RN = 1000 };

struct rstate {
    char     subj[RN][32];
    tern_sub subs[RN];
    bool     in[RN];
};

static void random_subject(char *buf, size_t cap, bool wild)
{
    static const char *lit[] = { "a", "b", "c", "foo", "a*", "b>" };
    int nt = 1 + rand() % 4;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < nt; i++) {
        const char *t = lit[rand() % 6];
        int w = rand() % 10;
        if (wild && w == 0)
            t = "*";
        else if (wild && w == 1 && i == nt - 1)
            t = ">";
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "." : "", t);
    }
}

static void random_publish(char *buf, size_t cap)
{
    static const char *lit[] = { "a", "b", "c", "foo", "a*", "b>", "d", "*", ">" };
    int nt = 1 + rand() % 5;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < nt; i++) {
        int k = rand() % 40;
        const char *t = k < 36 ? lit[k % 7] : k < 38 ? "*" : k < 39 ? ">" : "";
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "." : "", t);
    }
}

static void cross_check(struct rstate *st, tern_sublist *sl, tern_sublist_cache *c,
                        int npub)
{
    char pub[64];
    for (int k = 0; k < npub; k++) {
        random_publish(pub, sizeof pub);
        const tern_sublist_result *r = match(sl, c, pub);
        /* Expected set, counted against the result. */
        size_t want_plain = 0, want_q = 0, got_q = 0;
        for (int i = 0; i < RN; i++) {
            if (!st->in[i] || !brute_match(st->subj[i], pub))
                continue;
            tern_sub *s = &st->subs[i];
            if (s->queue) {
                want_q++;
                const tern_sublist_qgroup *g = find_group(r, s->queue);
                if (!g || !group_has(g, s))
                    fail_msg("%s: queue sub %s (%s) missing", pub, s->subject, s->queue);
            } else {
                want_plain++;
                if (!has_psub(r, s))
                    fail_msg("%s: sub %s missing", pub, s->subject);
            }
        }
        if (r->npsubs != want_plain)
            fail_msg("%s: %zu plain, want %zu", pub, r->npsubs, want_plain);
        for (size_t g = 0; g < r->nqgroups; g++) {
            got_q += r->qgroups[g].n;
            for (size_t h = g + 1; h < r->nqgroups; h++)
                assert_string_not_equal(r->qgroups[g].subs[0]->queue,
                                        r->qgroups[h].subs[0]->queue);
            for (size_t m = 1; m < r->qgroups[g].n; m++)
                assert_string_equal(r->qgroups[g].subs[m]->queue,
                                    r->qgroups[g].subs[0]->queue);
        }
        if (got_q != want_q)
            fail_msg("%s: %zu queue members, want %zu", pub, got_q, want_q);
    }
}

static void test_randomized_cross_check(void **state)
{
    (void)state;
    static struct rstate st;
    static const char *queues[] = { NULL, NULL, NULL, "q1", "q2", "q3" };
    srand(12345);
    tern_sublist *sl = tern_sublist_new();
    tern_sublist_cache *hot = tern_sublist_cache_new(64);   /* evicts a lot */
    tern_sublist_cache *cold = tern_sublist_cache_new(0);   /* always builds */
    for (int i = 0; i < RN; i++) {
        random_subject(st.subj[i], sizeof st.subj[i], true);
        st.subs[i] = mksub(st.subj[i], queues[rand() % 6]);
        assert_int_equal(tern_sublist_insert(sl, &st.subs[i]), 0);
        st.in[i] = true;
    }
    assert_int_equal(tern_sublist_count(sl), RN);
    for (int round = 0; round < 8; round++) {
        cross_check(&st, sl, hot, 400);
        cross_check(&st, sl, cold, 100);
        tern_sublist_cache_quiesce(hot);
        tern_sublist_cache_quiesce(cold);
        /* Churn: flip a third of the subs in or out. */
        for (int k = 0; k < RN / 3; k++) {
            int i = rand() % RN;
            if (st.in[i])
                assert_int_equal(tern_sublist_remove(sl, &st.subs[i]), 0);
            else
                assert_int_equal(tern_sublist_insert(sl, &st.subs[i]), 0);
            st.in[i] = !st.in[i];
        }
    }
    for (int i = 0; i < RN; i++)
        if (st.in[i])
            assert_int_equal(tern_sublist_remove(sl, &st.subs[i]), 0);
    assert_int_equal(tern_sublist_count(sl), 0);
    assert_int_equal(tern_sublist_node_count(sl), 0);
    tern_sublist_cache_free(hot);
    tern_sublist_cache_free(cold);
    tern_sublist_free(sl);
}

/* ---- misc ------------------------------------------------------------ */

static void test_rand(void **state)
{
    (void)state;
    assert_int_equal(tern_sublist_rand(0), 0);
    assert_int_equal(tern_sublist_rand(1), 0);
    int seen[5] = { 0 };
    for (int i = 0; i < 5000; i++) {
        uint32_t v = tern_sublist_rand(5);
        assert_true(v < 5);
        seen[v]++;
    }
    for (int i = 0; i < 5; i++)
        assert_true(seen[i] > 700); /* 1000 expected; a stuck generator fails */
    for (int i = 0; i < 1000; i++)
        assert_true(tern_sublist_rand(UINT32_MAX) < UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pwc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fwc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_and_literal_wildcard_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_tokens_match_nothing, setup, teardown),
        cmocka_unit_test(test_first_match_without_plain_subs),
        cmocka_unit_test_setup_teardown(test_queue_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_and_reinsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nodes_freed_on_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_subs_one_subject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generation_bump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_stable_until_quiesce, setup, teardown),
        cmocka_unit_test(test_cache_eviction),
        cmocka_unit_test(test_no_cache_mode),
        cmocka_unit_test(test_cache_rebind),
        cmocka_unit_test(test_subject_valid),
        cmocka_unit_test(test_randomized_cross_check),
        cmocka_unit_test(test_rand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
