/* Unit tests for routing (kernel/route.c) through internal subscriptions,
 * the API the system account and modules use: callbacks run on the
 * publishing worker with the message, count as deliveries, share queue
 * groups, may publish into other accounts, and nesting is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account.h"
#include "route.h"
#include "worker.h"

typedef struct seen {
    int  calls;
    char subject[64];
    char reply[64];
    char data[64];
    tern_worker *w;
} seen;

static size_t record(tern_worker *w, tern_isub *sub, tern_client *from, const tern_pub_args *m)
{
    seen *s = sub->arg;
    assert_null(from);
    s->calls++;
    s->w = w;
    snprintf(s->subject, sizeof s->subject, "%.*s", (int)m->subject_len, m->subject);
    snprintf(s->reply, sizeof s->reply, "%.*s", (int)m->reply_len, m->reply ? m->reply : "");
    snprintf(s->data, sizeof s->data, "%.*s", (int)(m->size - m->hdr_len), m->data + m->hdr_len);
    return 1;
}

static size_t refuse(tern_worker *w, tern_isub *sub, tern_client *from, const tern_pub_args *m)
{
    (void)w;
    (void)from;
    (void)m;
    ((seen *)sub->arg)->calls++;
    return 0;
}

static void publish(tern_worker *w, tern_account *a, const char *subject, const char *reply,
                    const char *data, size_t *n)
{
    tern_pub_args m;
    char txt[48];
    tern_route_args(&m, txt, subject, reply, data, 0, strlen(data));
    *n = tern_route_publish(w, a, NULL, &m);
}

static void test_isub(void **state)
{
    (void)state;
    tern_worker w;
    memset(&w, 0, sizeof w);
    tern_account *a = tern_account_new("A", 1);
    seen s1 = {0}, s2 = {0};
    tern_isub *x = tern_isub_add(a, "foo.*", NULL, record, &s1);
    tern_isub *y = tern_isub_add(a, "foo.>", NULL, refuse, &s2);
    assert_non_null(x);
    assert_null(tern_isub_add(a, "foo..bar", NULL, record, &s1));
    size_t n = 0;
    publish(&w, a, "foo.bar", "_INBOX.1", "hello", &n);
    assert_int_equal(n, 1);                       /* refuse() counts nothing */
    assert_int_equal(s1.calls, 1);
    assert_int_equal(s2.calls, 1);
    assert_ptr_equal(s1.w, &w);                   /* on the publishing worker */
    assert_string_equal(s1.subject, "foo.bar");
    assert_string_equal(s1.reply, "_INBOX.1");
    assert_string_equal(s1.data, "hello");
    publish(&w, a, "bar", NULL, "x", &n);
    assert_int_equal(n, 0);
    /* removed from the sublist: no more calls */
    tern_sublist_remove(a->sl, &x->s);
    tern_sublist_remove(a->sl, &y->s);
    publish(&w, a, "foo.bar", NULL, "x", &n);
    assert_int_equal(n, 0);
    assert_int_equal(s1.calls, 1);
    tern_sublist_cache_quiesce(tern_account_cache(a, 0));
    tern_isub_free(x);
    tern_isub_free(y);
    tern_account_free(a);
}

static void test_queue(void **state)
{
    (void)state;
    tern_worker w;
    memset(&w, 0, sizeof w);
    tern_account *a = tern_account_new("A", 1);
    seen s1 = {0}, s2 = {0};
    tern_isub *x = tern_isub_add(a, "job", "q", record, &s1);
    tern_isub *y = tern_isub_add(a, "job", "q", record, &s2);
    size_t total = 0, n;
    for (int i = 0; i < 200; i++) {
        publish(&w, a, "job", NULL, "j", &n);
        total += n;
    }
    assert_int_equal(total, 200);                 /* one member per message */
    assert_int_equal(s1.calls + s2.calls, 200);
    assert_true(s1.calls > 0 && s2.calls > 0);
    tern_sublist_remove(a->sl, &x->s);
    tern_sublist_remove(a->sl, &y->s);
    tern_sublist_cache_quiesce(tern_account_cache(a, 0));
    tern_isub_free(x);
    tern_isub_free(y);
    tern_account_free(a);
}

/* A callback that publishes into another account (as a service import). */
static size_t forward(tern_worker *w, tern_isub *sub, tern_client *from, const tern_pub_args *m)
{
    (void)from;
    tern_account *to = sub->arg;
    tern_pub_args f = *m;
    f.subject = "forwarded";
    f.subject_len = 9;
    return tern_route_publish(w, to, NULL, &f);
}

static size_t again(tern_worker *w, tern_isub *sub, tern_client *from, const tern_pub_args *m)
{
    (void)from;
    (*(int *)sub->arg)++;
    return 1 + tern_route_publish(w, sub->acc, NULL, m);   /* a loop */
}

static void test_nesting(void **state)
{
    (void)state;
    tern_worker w;
    memset(&w, 0, sizeof w);
    tern_account *a = tern_account_new("A", 1), *b = tern_account_new("B", 1);
    seen sb = {0};
    tern_isub *fa = tern_isub_add(a, "req", NULL, forward, b);
    tern_isub *rb = tern_isub_add(b, "forwarded", NULL, record, &sb);
    size_t n;
    publish(&w, a, "req", NULL, "payload", &n);
    assert_int_equal(n, 1);
    assert_int_equal(sb.calls, 1);
    assert_string_equal(sb.data, "payload");
    publish(&w, b, "req", NULL, "payload", &n);  /* B has no "req" */
    assert_int_equal(n, 0);

    int loops = 0;
    tern_isub *lp = tern_isub_add(a, "loop", NULL, again, &loops);
    publish(&w, a, "loop", NULL, "x", &n);
    assert_int_equal(loops, 8);                   /* bounded nesting */
    assert_int_equal(n, 8);

    tern_sublist_remove(a->sl, &fa->s);
    tern_sublist_remove(b->sl, &rb->s);
    tern_sublist_remove(a->sl, &lp->s);
    tern_sublist_cache_quiesce(tern_account_cache(a, 0));
    tern_sublist_cache_quiesce(tern_account_cache(b, 0));
    tern_isub_free(fa);
    tern_isub_free(rb);
    tern_isub_free(lp);
    tern_account_free(a);
    tern_account_free(b);
}

static void test_args(void **state)
{
    (void)state;
    tern_pub_args m;
    char txt[48];
    const char data[] = "NATS/1.0\r\n\r\nbody";
    tern_route_args(&m, txt, "s", "", data, 12, 16);
    assert_null(m.reply);                         /* "" is no reply */
    assert_true(m.hpub);
    assert_int_equal(m.size_text_len, 2);
    assert_memory_equal(m.size_text, "16", 2);
    assert_memory_equal(m.hdr_text, "12", 2);
    tern_route_args(&m, txt, "s", "r", "abc", 0, 3);
    assert_false(m.hpub);
    assert_int_equal(m.reply_len, 1);
    assert_int_equal(m.hdr_text_len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isub),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
