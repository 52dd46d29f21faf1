/* Unit tests for the monitoring documents' building blocks (kernel/docs_*):
 * Go's duration and time forms, nats-server's uptime form, query
 * parameter decoding with nats-server's 400 texts, connz option checks
 * that need no server, and the closed-connection ring (order, bound,
 * recorded fields). test_docs_live.c runs the documents against a real
 * server and compares their keys with nats-server's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "docs.h"
#include "docs_int.h"
#include "worker.h"

/* ---- formatting -------------------------------------------------------- */

static void check_duration(int64_t ns, const char *want)
{
    char got[64];
    tern_docs_go_duration(ns, got, sizeof got);
    assert_string_equal(got, want);
}

static void test_go_duration(void **state)
{
    (void)state;
    check_duration(0, "0s");
    check_duration(1, "1ns");
    check_duration(999, "999ns");
    check_duration(1000, "1\xc2\xb5s");
    check_duration(586000, "586\xc2\xb5s");
    check_duration(1500, "1.5\xc2\xb5s");
    check_duration(1234567, "1.234567ms");
    check_duration(1000000, "1ms");
    check_duration(1500000000LL, "1.5s");
    check_duration(60000000000LL, "1m0s");
    check_duration(3600000000000LL, "1h0m0s");
    check_duration(3723500000000LL, "1h2m3.5s");
    check_duration(-2000000LL, "-2ms");
}

static void check_uptime(int64_t secs, const char *want)
{
    char got[64];
    tern_docs_uptime(secs * 1000000000LL, got, sizeof got);
    assert_string_equal(got, want);
}

static void test_uptime(void **state)
{
    (void)state;
    check_uptime(0, "0s");
    check_uptime(59, "59s");
    check_uptime(61, "1m1s");
    check_uptime(3661, "1h1m1s");
    check_uptime(86400 + 5, "1d0h0m5s");
    check_uptime(400LL * 86400, "1y35d0h0m0s");
}

static void check_time(int64_t ns, const char *want)
{
    json_t *t = tern_docs_time(ns);
    assert_string_equal(json_string_value(t), want);
    json_decref(t);
}

static void test_time(void **state)
{
    (void)state;
    check_time(0, "1970-01-01T00:00:00Z");
    check_time(1500000000LL, "1970-01-01T00:00:01.5Z");
    check_time(1795694505010878115LL, "2026-11-26T12:01:45.010878115Z");
    check_time(1795694505463526270LL, "2026-11-26T12:01:45.46352627Z");
}

static void test_number(void **state)
{
    (void)state;
    json_t *a = tern_docs_number(2.0), *b = tern_docs_number(0.8);
    assert_true(json_is_integer(a));
    assert_int_equal(json_integer_value(a), 2);
    assert_true(json_is_real(b));
    json_t *o = json_object();
    json_object_set_new(o, "a", a);
    json_object_set_new(o, "b", b);
    char *txt = tern_docs_dumps(o, false);
    assert_string_equal(txt, "{\"a\":2,\"b\":0.8}");
    free(txt);
    txt = tern_docs_dumps(o, true);
    assert_string_equal(txt, "{\n  \"a\": 2,\n  \"b\": 0.8\n}");
    free(txt);
    json_decref(o);
}

static void test_str(void **state)
{
    (void)state;
    json_t *v = tern_docs_str("a\xff" "b\xc3\xa9");
    assert_string_equal(json_string_value(v), "a\xef\xbf\xbd" "b\xc3\xa9");
    json_decref(v);
    v = tern_docs_str("\xed\xa0\x80"); /* a surrogate: three bad bytes */
    assert_string_equal(json_string_value(v), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(v);
    v = tern_docs_str(NULL);
    assert_string_equal(json_string_value(v), "");
    json_decref(v);
}

/* ---- query parameters --------------------------------------------------- */

typedef struct params {
    const char *kv[16]; /* name, value, … NULL */
} params;

static const char *get_param(void *ud, const char *name)
{
    const params *p = ud;
    for (size_t i = 0; p->kv[i]; i += 2)
        if (!strcmp(p->kv[i], name))
            return p->kv[i + 1];
    return NULL;
}

static void test_params(void **state)
{
    (void)state;
    char err[256];
    bool b = false;
    int n = 7;
    uint64_t u = 0;
    params p = {{"a", "true", "b", "maybe", "c", "-12", "d", "x1", "e", "99999999999999999999",
                 "f", "-1", "g", "18446744073709551615", NULL}};
    assert_int_equal(tern_docs_param_bool(get_param, &p, "a", &b, err, sizeof err), 0);
    assert_true(b);
    assert_int_equal(tern_docs_param_bool(get_param, &p, "b", &b, err, sizeof err), -1);
    assert_string_equal(err, "Error decoding boolean for 'b': strconv.ParseBool: parsing \"maybe\": "
                             "invalid syntax");
    assert_int_equal(tern_docs_param_int(get_param, &p, "missing", &n, err, sizeof err), 0);
    assert_int_equal(n, 7);
    assert_int_equal(tern_docs_param_int(get_param, &p, "c", &n, err, sizeof err), 0);
    assert_int_equal(n, -12);
    assert_int_equal(tern_docs_param_int(get_param, &p, "d", &n, err, sizeof err), -1);
    assert_string_equal(err, "Error decoding int for 'd': strconv.Atoi: parsing \"x1\": invalid syntax");
    assert_int_equal(tern_docs_param_int(get_param, &p, "e", &n, err, sizeof err), -1);
    assert_string_equal(err, "Error decoding int for 'e': strconv.Atoi: parsing "
                             "\"99999999999999999999\": value out of range");
    assert_int_equal(tern_docs_param_u64(get_param, &p, "f", &u, err, sizeof err), -1);
    assert_string_equal(err, "Error decoding uint64 for 'f': strconv.ParseUint: parsing \"-1\": "
                             "invalid syntax");
    assert_int_equal(tern_docs_param_u64(get_param, &p, "g", &u, err, sizeof err), 0);
    assert_true(u == UINT64_MAX);
}

static void test_connz_parse(void **state)
{
    (void)state;
    char err[256];
    tern_docs_connz_opts o;
    params ok = {{"subs", "DETAIL", "state", "Any", "offset", "-5", "limit", "3", "cid", "9",
                  "sort", "msgs_to", "acc", "A", NULL}};
    assert_int_equal(tern_docs_connz_parse(get_param, &ok, &o, err, sizeof err), 0);
    assert_true(o.subs_detail);
    assert_false(o.subs);
    assert_int_equal(o.state, TERN_DOCS_ALL);
    assert_int_equal(o.offset, -5);
    assert_int_equal(o.limit, 3);
    assert_true(o.cid == 9);
    assert_string_equal(o.sort, "msgs_to");
    assert_string_equal(o.acc, "A");

    params bad_state = {{"state", "bogus", NULL}};
    assert_int_equal(tern_docs_connz_parse(get_param, &bad_state, &o, err, sizeof err), -1);
    assert_string_equal(err, "Error decoding state for bogus");
    /* auth is decoded before subs, as nats-server does. */
    params bad_two = {{"subs", "x", "auth", "y", NULL}};
    assert_int_equal(tern_docs_connz_parse(get_param, &bad_two, &o, err, sizeof err), -1);
    assert_string_equal(err, "Error decoding boolean for 'auth': strconv.ParseBool: parsing \"y\": "
                             "invalid syntax");
    params bad_subs = {{"subs", "x", NULL}};
    assert_int_equal(tern_docs_connz_parse(get_param, &bad_subs, &o, err, sizeof err), -1);
    assert_string_equal(err, "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"x\": "
                             "invalid syntax");
}

/* Option checks happen before any server state is read. */
static void test_connz_invalid_options(void **state)
{
    (void)state;
    char err[256];
    tern_docs_connz_opts o = {.sort = "bogus"};
    assert_null(tern_docs_connz(NULL, &o, err, sizeof err));
    assert_string_equal(err, "invalid sorting option: bogus");
    o = (tern_docs_connz_opts){.sort = "stop", .state = TERN_DOCS_ALL};
    assert_null(tern_docs_connz(NULL, &o, err, sizeof err));
    assert_string_equal(err, "sort by stop only valid on closed connections");
    o = (tern_docs_connz_opts){.sort = "reason"};
    assert_null(tern_docs_connz(NULL, &o, err, sizeof err));
    assert_string_equal(err, "sort by reason only valid on closed connections");
}

/* ---- sublist figures behind /subsz ------------------------------------- */

static void test_sublist_stats(void **state)
{
    (void)state;
    tern_sublist *sl = tern_sublist_new();
    tern_sublist_cache *c = tern_sublist_cache_new(16);
    tern_sub a = {.subject = "foo", .subject_len = 3, .weight = 1};
    tern_sub b = {.subject = "foo", .subject_len = 3, .queue = "q", .queue_len = 1, .weight = 1};
    tern_sub d = {.subject = "*", .subject_len = 1, .weight = 1};
    assert_int_equal(tern_sublist_insert(sl, &a), 0);
    assert_int_equal(tern_sublist_insert(sl, &b), 0);
    assert_int_equal(tern_sublist_insert(sl, &d), 0);
    assert_int_equal(tern_sublist_remove(sl, &d), 0);
    uint64_t ins, rem;
    tern_sublist_stats(sl, &ins, &rem);
    assert_true(ins == 3 && rem == 1);
    tern_sublist_match(sl, c, "foo", 3);   /* miss, cached */
    tern_sublist_match(sl, c, "foo", 3);   /* hit */
    tern_sublist_match(sl, c, "bar", 3);   /* nothing matches */
    tern_sublist_cstats st;
    tern_sublist_cache_stats(c, &st);
    assert_true(st.matches == 3 && st.hits == 1);
    assert_true(st.entries == tern_sublist_cache_count(c));
    assert_true(st.fanout_max == 2); /* one plain subscription + one group */

    /* As /subsz prints them. */
    tern_docs_slstats ss = {.num_subs = 2, .num_matches = 4, .cache_hits = 1, .tot_fanout = 3,
                            .cache_cnt = 2, .max_fanout = 2};
    json_t *o = json_object();
    tern_docs_slstats_put(o, &ss);
    char *txt = tern_docs_dumps(o, false);
    assert_string_equal(txt, "{\"num_subscriptions\":2,\"num_cache\":0,\"num_inserts\":0,"
                             "\"num_removes\":0,\"num_matches\":4,\"cache_hit_rate\":0.25,"
                             "\"max_fanout\":2,\"avg_fanout\":1.5}");
    free(txt);
    json_decref(o);
    tern_sublist_cache_quiesce(c);
    tern_sublist_cache_free(c);
    tern_sublist_free(sl);
}

/* ---- closed ring -------------------------------------------------------- */

static void close_fake(tern_worker *w, uint64_t cid, tern_close_reason why, const char *name)
{
    tern_client c;
    memset(&c, 0, sizeof c);
    c.w = w;
    c.cid = cid;
    c.close_reason = why;
    c.start_ns = tern_docs_now_ns() - 5000000000LL;
    c.last_activity_ms = uv_now(&w->loop);
    c.in_msgs = cid * 10;
    c.rtt_ns = 586123;
    snprintf(c.ip, sizeof c.ip, "10.0.0.%llu", (unsigned long long)cid);
    c.port = 4000 + (int)cid;
    c.name = (char *)name;
    tern_docs_closed_add(&c);
}

static void test_closed_ring(void **state)
{
    (void)state;
    tern_worker w;
    memset(&w, 0, sizeof w);
    assert_int_equal(uv_loop_init(&w.loop), 0);
    tern_docs_closed_configure(3);
    for (uint64_t cid = 1; cid <= 5; cid++)
        close_fake(&w, cid, cid == 5 ? TERN_CLOSE_SLOW_PENDING : TERN_CLOSE_CLIENT,
                   cid == 5 ? "last" : NULL);
    tern_docs_conn *list;
    size_t n = tern_docs_closed_copy(&list);
    assert_int_equal(n, 3); /* bounded: the oldest went */
    assert_true(list[0].cid == 3 && list[1].cid == 4 && list[2].cid == 5);
    assert_string_equal(list[2].reason, "Slow Consumer (Pending Bytes)");
    assert_string_equal(list[2].name, "last");
    assert_null(list[0].name);
    assert_true(list[2].in_msgs == 50);
    assert_true(list[2].stop_ns >= list[2].start_ns + 5000000000LL);
    assert_string_equal(list[1].ip, "10.0.0.4");
    for (size_t i = 0; i < n; i++)
        tern_docs_conn_clear(&list[i]);
    free(list);

    /* Shrinking keeps the newest; 0 keeps nothing. */
    tern_docs_closed_configure(1);
    n = tern_docs_closed_copy(&list);
    assert_int_equal(n, 1);
    assert_true(list[0].cid == 5);
    tern_docs_conn_clear(&list[0]);
    free(list);
    tern_docs_closed_configure(0);
    close_fake(&w, 6, TERN_CLOSE_CLIENT, NULL);
    n = tern_docs_closed_copy(&list);
    assert_int_equal(n, 0);
    free(list);
    tern_docs_closed_configure(TERN_DOCS_MAX_CLOSED);
    uv_loop_close(&w.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_duration),
        cmocka_unit_test(test_uptime),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_number),
        cmocka_unit_test(test_str),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_connz_parse),
        cmocka_unit_test(test_connz_invalid_options),
        cmocka_unit_test(test_sublist_stats),
        cmocka_unit_test(test_closed_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
