/* Unit tests for the cluster module's route protocol pieces
 * (modules/cluster): route INFO/CONNECT JSON, route URLs, the client
 * connect_urls list and cluster.permissions matching. The route ops'
 * parser and framing (the SDK's wire library) are tested in
 * test_sdk_wire.c.
 *
 * Wire samples marked "2.9.10" were captured from the installed
 * nats-server over a raw route socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"
#include "rconf.h"
#include "rinfo.h"

/* ---- INFO / CONNECT -------------------------------------------------- */

static void test_info_line(void **state)
{
    (void)state;
    const char *urls[] = { "127.0.0.1:4222" };
    cl_self s = { .server_id = "NABC", .server_name = "n1", .version = "2.9.10", .host = "127.0.0.1",
                  .port = 6222, .max_payload = 1048576, .cluster = "c1", .connect_urls = urls,
                  .n_connect_urls = 1 };
    char *l = cl_info_line(&s, "nonce1");
    assert_string_equal(l, "INFO {\"server_id\":\"NABC\",\"server_name\":\"n1\",\"version\":\"2.9.10\","
                           "\"proto\":2,\"host\":\"127.0.0.1\",\"port\":6222,\"headers\":true,"
                           "\"max_payload\":1048576,\"nonce\":\"nonce1\",\"cluster\":\"c1\","
                           "\"connect_urls\":[\"127.0.0.1:4222\"],\"lnoc\":true} \r\n");
    free(l);
    s.auth_required = s.tls_required = s.dynamic = true;
    s.ip = "nats-route://10.0.0.1:7000/";
    s.n_connect_urls = 0;
    l = cl_info_line(&s, NULL);
    assert_non_null(strstr(l, "\"auth_required\":true,\"tls_required\":true,\"tls_verify\":true"));
    assert_non_null(strstr(l, "\"cluster_dynamic\":true,\"ip\":\"nats-route://10.0.0.1:7000/\""));
    assert_null(strstr(l, "nonce"));
    assert_null(strstr(l, "connect_urls"));
    assert_null(strstr(l, "ldm"));
    free(l);
    /* lame duck mode and cluster.permissions, where 2.9.10 puts them */
    json_t *imp = json_pack("{s[s]}", "allow", "foo.>");
    json_t *exp = json_pack("{s[s]}", "deny", "bar");
    s.ldm = true;
    s.import_ = imp;
    s.export_ = exp;
    l = cl_info_line(&s, NULL);
    assert_non_null(strstr(l, "\"ldm\":true,\"import\":{\"allow\":[\"foo.>\"]},"
                              "\"export\":{\"deny\":[\"bar\"]},\"lnoc\":true} \r\n"));
    free(l);
    json_decref(imp);
    json_decref(exp);
}

static void test_info_parse_and_gossip(void **state)
{
    (void)state;
    /* the INFO 2.9.10 sends on its route port */
    const char *in = "{\"server_id\":\"NDSC\",\"server_name\":\"NDSC\",\"version\":\"2.9.10\",\"proto\":2,"
                     "\"go\":\"go1.19.8\",\"host\":\"127.0.0.1\",\"port\":42661,\"headers\":true,"
                     "\"max_payload\":1048576,\"nonce\":\"6wcYHnY97WIkgkw\",\"cluster\":\"abc\","
                     "\"connect_urls\":[\"127.0.0.1:50947\"],\"lnoc\":true}";
    cl_info i;
    char err[200];
    assert_int_equal(cl_info_parse(in, strlen(in), &i, err, sizeof err), 0);
    assert_string_equal(i.server_id, "NDSC");
    assert_string_equal(i.cluster, "abc");
    assert_string_equal(i.host, "127.0.0.1");
    assert_int_equal(i.port, 42661);
    assert_int_equal(i.proto, 2);
    assert_true(i.headers);
    assert_true(i.lnoc);
    assert_false(i.auth_required);
    assert_null(i.ip);
    assert_int_equal(i.n_connect_urls, 1);
    assert_string_equal(i.connect_urls[0], "127.0.0.1:50947");
    char *g = cl_info_gossip_line(&i, "10.1.2.3");
    assert_null(strstr(g, "nonce"));
    assert_non_null(strstr(g, "\"ip\":\"nats-route://10.1.2.3:42661/\""));
    assert_int_equal(strncmp(g, "INFO {", 6), 0);
    assert_string_equal(g + strlen(g) - 4, "} \r\n");
    free(g);
    cl_info_free(&i);

    assert_int_equal(cl_info_parse("[1]", 3, &i, err, sizeof err), -1);
    assert_int_equal(cl_info_parse("{\"port\":1}", 10, &i, err, sizeof err), -1);
    assert_int_equal(cl_info_parse("{bad", 4, &i, err, sizeof err), -1);
}

static void test_connect(void **state)
{
    (void)state;
    cl_connect c = { .user = "ru", .pass = "rp", .headers = true, .name = "NME", .cluster = "c1" };
    char *l = cl_connect_line(&c);
    /* nats-server's connectInfo field order and omissions */
    assert_string_equal(l, "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"ru\","
                           "\"pass\":\"rp\",\"tls_required\":false,\"headers\":true,\"name\":\"NME\","
                           "\"cluster\":\"c1\",\"lnoc\":true}\r\n");
    free(l);
    cl_connect_in in;
    char err[100];
    const char *js = "{\"echo\":true,\"user\":\"u\",\"pass\":\"p\",\"name\":\"N9\",\"cluster\":\"c\","
                     "\"cluster_dynamic\":true,\"headers\":true,\"lang\":\"go\"}";
    assert_int_equal(cl_connect_parse(js, strlen(js), &in, err, sizeof err), 0);
    assert_string_equal(in.user, "u");
    assert_string_equal(in.pass, "p");
    assert_string_equal(in.name, "N9");
    assert_string_equal(in.cluster, "c");
    assert_string_equal(in.lang, "go");
    assert_true(in.dynamic);
    assert_true(in.headers);
    assert_null(in.gateway);
    cl_connect_free(&in);
    assert_int_equal(cl_connect_parse("nope", 4, &in, err, sizeof err), -1);
}

/* ---- URLs -------------------------------------------------------------- */

static void test_urls(void **state)
{
    (void)state;
    cl_url u;
    char err[200];
    assert_int_equal(cl_url_parse("nats-route://127.0.0.1:6222", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6222);
    assert_null(u.user);
    cl_url_free(&u);
    assert_int_equal(cl_url_parse("nats://r%40x:p%3Aw@Host.Example:7/", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "r@x");
    assert_string_equal(u.pass, "p:w");
    assert_string_equal(u.host, "Host.Example");
    assert_int_equal(u.port, 7);
    cl_url v;
    assert_int_equal(cl_url_parse("nats-route://host.example:7", &v, err, sizeof err), 0);
    assert_true(cl_url_same(&u, &v));
    cl_url_free(&u);
    cl_url_free(&v);
    assert_int_equal(cl_url_parse("nats-route://[::1]:4000", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 4000);
    cl_url_free(&u);
    assert_int_equal(cl_url_parse("127.0.0.1:6222", &u, err, sizeof err), -1);
    assert_int_equal(cl_url_parse("http://h:1", &u, err, sizeof err), -1);
    assert_int_equal(cl_url_parse("nats-route://h", &u, err, sizeof err), -1);
    assert_int_equal(cl_url_parse("nats-route://h:99999", &u, err, sizeof err), -1);

    char hp[64];
    cl_hostport(hp, sizeof hp, "Host", 5);
    assert_string_equal(hp, "host:5");
    cl_hostport(hp, sizeof hp, "::1", 5);
    assert_string_equal(hp, "[::1]:5");
}

static void test_connect_urls(void **state)
{
    (void)state;
    char *own[] = { "127.0.0.1:1" };
    const char *p1[] = { "127.0.0.1:2", "127.0.0.1:1" };
    const char *p2[] = { "127.0.0.1:3" };
    const char *const *lists[] = { p1, p2 };
    size_t lens[] = { 2, 1 };
    char *js = cl_urls_json(own, 1, lists, lens, 2);
    assert_string_equal(js, "[\"127.0.0.1:1\",\"127.0.0.1:2\",\"127.0.0.1:3\"]");
    free(js);
    js = cl_urls_json(own, 1, NULL, NULL, 0);
    assert_string_equal(js, "[\"127.0.0.1:1\"]");
    free(js);
}

/* cluster.permissions matching: nats-server's sublist match of a
 * (possibly wildcard) subject against allow/deny patterns. */
static void test_perms(void **state)
{
    (void)state;
    char *allow[] = { "foo.>", "bar.*", "baz" }, *deny[] = { "foo.secret", "bar.>" };
    cl_perm none = { 0 };
    assert_true(cl_perm_allows(&none, "anything.>"));
    assert_false(cl_perm_set(&none));
    cl_perm a = { .allow = allow, .nallow = 3 };
    assert_true(cl_perm_allows(&a, "foo.x"));
    assert_true(cl_perm_allows(&a, "foo.x.y"));
    assert_true(cl_perm_allows(&a, "foo.*"));
    assert_true(cl_perm_allows(&a, "foo.>"));
    assert_false(cl_perm_allows(&a, "foo"));
    assert_true(cl_perm_allows(&a, "bar.x"));
    assert_true(cl_perm_allows(&a, "bar.*"));
    assert_true(cl_perm_allows(&a, "bar.>"));       /* nats-server: '*' covers any one token */
    assert_false(cl_perm_allows(&a, "bar.x.y"));
    assert_true(cl_perm_allows(&a, "baz"));
    assert_false(cl_perm_allows(&a, "baz.x"));
    assert_false(cl_perm_allows(&a, ">"));
    cl_perm d = { .deny = deny, .ndeny = 2 };
    assert_true(cl_perm_set(&d));
    assert_false(cl_perm_allows(&d, "foo.secret"));
    assert_true(cl_perm_allows(&d, "foo.>"));        /* the message filter drops foo.secret */
    assert_false(cl_perm_allows(&d, "bar.x"));
    assert_true(cl_perm_allows(&d, "bar"));
    cl_perm ad = { .allow = allow, .nallow = 3, .deny = deny, .ndeny = 2 };
    assert_false(cl_perm_allows(&ad, "bar.x"));
    assert_true(cl_perm_allows(&ad, "foo.y"));
    assert_true(cl_perm_equal(&ad, &ad));
    assert_false(cl_perm_equal(&a, &ad));
    assert_false(cl_perm_equal(&none, &d));
    json_t *j = cl_perm_json(&ad);
    char *t = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(t, "{\"allow\":[\"foo.>\",\"bar.*\",\"baz\"],\"deny\":[\"foo.secret\",\"bar.>\"]}");
    free(t);
    json_decref(j);
    assert_null(cl_perm_json(&none));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_line),
        cmocka_unit_test(test_info_parse_and_gossip),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_connect_urls),
        cmocka_unit_test(test_perms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
