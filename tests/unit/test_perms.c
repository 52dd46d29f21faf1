/* Unit tests for permissions (kernel/perms.c) and the accounts
 * configuration (kernel/conf_accounts.c, account.c) with the subject
 * transforms of imports (kernel/imports.c): nats-server's matching rules
 * for permission lists, queue entries, deny filters, response
 * permissions with max and expiry, and configuration errors with their
 * positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "account.h"
#include "auth.h"
#include "conf.h"
#include "conf_server.h"
#include "imports.h"
#include "opts.h"
#include "perms.h"

static bool m(const char *pattern, const char *subject)
{
    return tern_perm_match(pattern, subject, strlen(subject));
}

static void test_match(void **state)
{
    (void)state;
    assert_true(m("foo", "foo"));
    assert_false(m("foo", "foo.bar"));
    assert_false(m("foo.bar", "foo"));
    assert_true(m("foo.*", "foo.bar"));
    assert_false(m("foo.*", "foo.bar.baz"));
    assert_true(m("foo.>", "foo.bar.baz"));
    assert_false(m("foo.>", "foo"));
    assert_true(m(">", "a"));
    assert_true(m("*.b", "a.b"));
    /* the tested subject's wildcards are literal tokens, as in
     * nats-server's sublist match of permission lists */
    assert_true(m("foo.*", "foo.*"));
    assert_true(m("foo.*", "foo.>"));
    assert_false(m("foo.bar", "foo.*"));
    assert_true(m("foo.>", "foo.*"));
}

static tern_perms *perms(const char *const *pa, const char *const *pd, const char *const *sa,
                         const char *const *sd)
{
    tern_perms *p = tern_perms_new();
    for (; pa && *pa; pa++)
        assert_int_equal(tern_perms_add(&p->pub_allow, *pa), 0);
    for (; pd && *pd; pd++)
        assert_int_equal(tern_perms_add(&p->pub_deny, *pd), 0);
    for (; sa && *sa; sa++)
        assert_int_equal(tern_perms_add(&p->sub_allow, *sa), 0);
    for (; sd && *sd; sd++)
        assert_int_equal(tern_perms_add(&p->sub_deny, *sd), 0);
    tern_perms_finish(p);
    return p;
}

static bool pub(const tern_perms *p, const char *s)
{
    return tern_perms_pub_allowed(p, s, strlen(s));
}

static bool sub(const tern_perms *p, const char *s, const char *q)
{
    return tern_perms_sub_allowed(p, s, strlen(s), q, q ? strlen(q) : 0);
}

static void test_lists(void **state)
{
    (void)state;
    const char *pa[] = {"a.>", NULL}, *pd[] = {"a.secret", NULL};
    const char *sa[] = {"a.>", "q.> grp", "r.* g.*", NULL}, *sd[] = {"a.hidden", "r.x bad", NULL};
    tern_perms *p = perms(pa, pd, sa, sd);
    assert_true(pub(p, "a.b"));
    assert_false(pub(p, "b"));
    assert_false(pub(p, "a.secret"));        /* deny wins */
    assert_true(sub(p, "a.b", NULL));
    assert_false(sub(p, "a.hidden", NULL));
    assert_true(sub(p, "a.>", NULL));        /* overlaps a deny: allowed, filtered */
    assert_true(tern_perms_sub_needs_filter(p, "a.>", 3));
    assert_false(tern_perms_sub_needs_filter(p, "a.b", 3));
    assert_true(tern_perms_delivery_denied(p, "a.hidden", 8));
    assert_false(tern_perms_delivery_denied(p, "a.shown", 7));
    /* queue entries */
    assert_false(sub(p, "q.x", NULL));
    assert_true(sub(p, "q.x", "grp"));
    assert_false(sub(p, "q.x", "other"));
    assert_true(sub(p, "r.x", "g.1"));
    assert_false(sub(p, "r.x", "bad"));      /* a queue deny entry */
    assert_false(sub(p, "b", NULL));
    tern_perms_free(p);

    /* no allow list: all but the denied; an empty allow list: nothing */
    const char *only_deny[] = {"x.*", NULL};
    p = perms(NULL, only_deny, NULL, only_deny);
    assert_true(pub(p, "y"));
    assert_false(pub(p, "x.y"));
    assert_false(sub(p, "x.>", NULL));       /* `*` takes the literal `>`, as nats-server */
    tern_perms_free(p);
    p = tern_perms_new();
    p->pub_allow.set = true;
    assert_false(pub(p, "anything"));
    tern_perms_free(p);
    assert_int_equal(tern_perms_add(&(tern_perm_list){0}, "a..b"), -1);
}

static void test_responses(void **state)
{
    (void)state;
    tern_perms *p = tern_perms_new();
    p->resp = true;
    p->resp_max = 2;
    p->resp_expires_ms = 1000;
    tern_perms_finish(p);                    /* no allow list: nothing else */
    tern_client_perms *cp = tern_client_perms_new(p);
    assert_true(tern_client_perms_wants_replies(cp));
    assert_false(tern_client_perms_pub(cp, "_INBOX.1", 8, 0));
    tern_client_perms_note_reply(cp, "_INBOX.1", 8, 0);
    assert_true(tern_client_perms_pub(cp, "_INBOX.1", 8, 10));
    assert_true(tern_client_perms_pub(cp, "_INBOX.1", 8, 20));
    assert_false(tern_client_perms_pub(cp, "_INBOX.1", 8, 30));   /* max 2 */
    tern_client_perms_note_reply(cp, "_INBOX.2", 8, 100);
    assert_false(tern_client_perms_pub(cp, "_INBOX.2", 8, 1200)); /* expired */
    assert_false(tern_client_perms_pub(cp, "other", 5, 0));
    /* many replies stay bounded */
    char r[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(r, sizeof r, "_INBOX.x%d", i);
        tern_client_perms_note_reply(cp, r, strlen(r), 5000);
    }
    assert_true(tern_client_perms_pub(cp, r, strlen(r), 5000));
    tern_client_perms_free(cp);
    tern_perms_free(p);
}

static void test_transform(void **state)
{
    (void)state;
    char buf[64];
    size_t n = 0;
    char *x = tern_subject_transform("ticks.>", "fromA.ticks.>", "ticks.eur.usd", 13, buf, sizeof buf, &n);
    assert_string_equal(x, "fromA.ticks.eur.usd");
    x = tern_subject_transform("map.*.*", "mapped.$2.$1", "map.x.y", 7, buf, sizeof buf, &n);
    assert_string_equal(x, "mapped.y.x");
    x = tern_subject_transform("a.*.c", "b.*", "a.q.c", 5, buf, sizeof buf, &n);
    assert_string_equal(x, "b.q");
    assert_null(tern_subject_transform("a.*.c", "b.*", "a.q.d", 5, buf, sizeof buf, &n));
    assert_null(tern_subject_transform("a.*", "b.*", "a.q.d", 5, buf, sizeof buf, &n));
    /* longer than the buffer: allocated */
    x = tern_subject_transform("s.>", "prefix.s.>", "s.0123456789", 12, buf, 4, &n);
    assert_ptr_not_equal(x, buf);
    assert_string_equal(x, "prefix.s.0123456789");
    free(x);
    assert_true(tern_subjects_overlap("a.>", "a.b.c"));
    assert_true(tern_subjects_overlap("*.b", "a.*"));
    assert_false(tern_subjects_overlap("a.b", "a.c"));
    assert_false(tern_subjects_overlap("a.b", "a.b.c"));
    assert_true(tern_subjects_overlap(">", "x"));
}

static int apply(const char *yaml, tern_opts *o, char *err)
{
    tern_conf_node *root = tern_conf_parse_yaml(yaml, strlen(yaml), "t.yaml", err, TERN_CONF_ERR_MAX);
    assert_non_null(root);
    tern_opts_init(o);
    int rc = tern_conf_apply(root, o, err, TERN_CONF_ERR_MAX);
    tern_conf_free(root);
    return rc;
}

#define EXPECT_CONF_ERR(yaml, msg)                                                          \
    do {                                                                                    \
        tern_opts o_;                                                                       \
        char e_[TERN_CONF_ERR_MAX] = "";                                                    \
        assert_int_equal(apply(yaml, &o_, e_), -1);                                         \
        assert_string_equal(e_, msg);                                                       \
        tern_opts_free(&o_);                                                                \
    } while (0)

static void test_conf(void **state)
{
    (void)state;
    tern_opts o;
    char err[TERN_CONF_ERR_MAX] = "";
    int rc = apply("authorization: { users: [ {user: g, password: g} ] }\n"
                   "no_auth_user: b\n"
                   "system_account: SYS\n"
                   "accounts:\n"
                   "  A:\n"
                   "    users:\n"
                   "      - user: a\n"
                   "        password: a\n"
                   "        permissions: { publish: { allow: [\"a.>\"], deny: a.x }, subscribe: [\">\"],\n"
                   "                       allow_responses: { max: 3, expires: 5s } }\n"
                   "    exports: [ { service: \"svc.>\", response: stream, response_threshold: 1m },\n"
                   "               { stream: \"t.>\", accounts: [B] } ]\n"
                   "    limits: { max_connections: 5, max_subscriptions: 0, max_payload: 1KB }\n"
                   "  B:\n"
                   "    users: [ {user: b, password: b} ]\n"
                   "    imports:\n"
                   "      - { service: { account: A, subject: svc.x }, to: b.svc }\n"
                   "      - { stream: { account: A, subject: \"t.>\" }, prefix: \"fromA.\" }\n"
                   "  SYS: { users: [ {user: sys, password: s} ] }\n",
                   &o, err);
    assert_int_equal(rc, 0);
    const tern_accounts_conf *c = o.auth->accounts;
    assert_int_equal(c->n, 4);                   /* $G A B SYS */
    assert_string_equal(c->accs[0].name, "$G");
    assert_int_equal(c->system, 3);
    const tern_account_conf *a = &c->accs[1];
    assert_int_equal(a->max_connections, 5);
    assert_int_equal(a->max_subscriptions, -1);  /* 0: no limit */
    assert_int_equal(a->max_payload, 1024);
    assert_int_equal(a->exports[0].resp, TERN_RESP_STREAM);
    assert_int_equal(a->exports[0].threshold_ms, 60000);
    const tern_account_conf *b = &c->accs[2];
    assert_string_equal(b->imports[0].local, "b.svc");
    assert_string_equal(b->imports[0].subject, "svc.x");
    assert_ptr_equal(b->imports[0].export, &a->exports[0]);
    assert_string_equal(b->imports[1].local, "fromA.t.>");
    assert_string_equal(o.auth->no_auth_user, "b");
    /* users: the account index and permissions */
    bool seen_a = false;
    for (size_t i = 0; i < o.auth->nusers; i++) {
        const tern_auth_user *u = &o.auth->users[i];
        if (!strcmp(u->name, "a")) {
            seen_a = true;
            assert_int_equal(u->account, 1);
            assert_non_null(u->perms);
            assert_true(u->perms->resp);
            assert_int_equal(u->perms->resp_max, 3);
            assert_int_equal(u->perms->resp_expires_ms, 5000);
            assert_true(tern_perms_pub_allowed(u->perms, "a.b", 3));
            assert_false(tern_perms_pub_allowed(u->perms, "a.x", 3));
        } else if (!strcmp(u->name, "g")) {
            assert_int_equal(u->account, 0);
        }
    }
    assert_true(seen_a);
    /* the server's registry follows the configuration */
    tern_accounts r;
    tern_accounts_build(&r, o.auth->accounts, 2);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.system->name, "SYS");
    assert_ptr_equal(tern_accounts_find(&r, "B"), r.accs[2]);
    assert_int_equal(r.accs[1]->max_connections, 5);
    assert_non_null(r.accs[1]->resp);             /* A exports a service */
    assert_null(r.accs[2]->resp);
    tern_accounts_free(&r);
    tern_opts_free(&o);

    /* no accounts: "$G" and "$SYS" */
    assert_int_equal(apply("accounts: { A: {} }\n", &o, err), 0);
    assert_string_equal(o.auth->accounts->accs[o.auth->accounts->system].name, "$SYS");
    tern_opts_free(&o);
    tern_accounts_build(&r, NULL, 1);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.system->name, "$SYS");
    tern_accounts_free(&r);

    EXPECT_CONF_ERR("accounts:\n  A: { users: [ {user: u} ] }\n  B: { users: [ {user: u} ] }\n",
                    "t.yaml:3:17: Duplicate user \"u\" detected");
    EXPECT_CONF_ERR("accounts:\n  A: { users: [ {user: u} ] }\nauthorization: { users: [ {user: u} ] }\n",
                    "t.yaml:3:27: Duplicate user \"u\" detected");
    EXPECT_CONF_ERR("accounts:\n  B: { imports: [ {stream: {account: Z, subject: x}} ] }\n",
                    "t.yaml:2:19: stream import of \"x\": unknown account \"Z\"");
    EXPECT_CONF_ERR("accounts:\n  A: { exports: [ {stream: \"x.>\"} ] }\n"
                    "  B: { imports: [ {service: {account: A, subject: x.y}} ] }\n",
                    "t.yaml:3:19: service import of \"x.y\" from account \"A\": no matching service export");
    EXPECT_CONF_ERR("accounts:\n  A: { exports: [ {stream: \"x.>\", accounts: [C]} ] }\n"
                    "  B: { imports: [ {stream: {account: A, subject: x.y}} ] }\n  C: {}\n",
                    "t.yaml:3:19: stream import of \"x.y\" from account \"A\": the export is restricted "
                    "and does not allow account \"B\"");
    EXPECT_CONF_ERR("accounts:\n  A: { exports: [ {stream: q}], imports: [ {stream: {account: B, subject: q}} ] }\n"
                    "  B: { exports: [ {stream: q}], imports: [ {stream: {account: A, subject: q}} ] }\n",
                    "t.yaml:2:44: stream import of \"q\" from account \"B\" forms a cycle");
    EXPECT_CONF_ERR("system_account: NOPE\n", "t.yaml:1:17: system account \"NOPE\" is not defined in accounts");
    EXPECT_CONF_ERR("accounts:\n  A: { exports: [ {stream: x, response: stream} ] }\n",
                    "t.yaml:2:31: response types are only valid for service exports");
    EXPECT_CONF_ERR("accounts:\n  A: { users: [ {user: u, permissions: {publish: {allow: [\"a..b\"]}}} ] }\n",
                    "t.yaml:2:59: invalid permission subject \"a..b\"");
    EXPECT_CONF_ERR("accounts:\n  A: { limits: { max_streams: 1 } }\n",
                    "t.yaml:2:18: unknown key 'max_streams' in limits");
    EXPECT_CONF_ERR("accounts:\n  A: { exports: [ {stream: \"x.*\"} ] }\n"
                    "  B: { imports: [ {stream: {account: A, subject: \"x.*\"}, to: y} ] }\n",
                    "t.yaml:3:62: to \"y\" must have the wildcards of \"x.*\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_transform),
        cmocka_unit_test(test_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
