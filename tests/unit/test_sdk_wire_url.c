/* Unit tests for the SDK wire library's peer URLs (tern_wire_url_* in
 * sdk/include/tern/wire.h): schemes, percent-decoded userinfo, IPv6
 * hosts, default and invalid ports, and the exact error texts, with the
 * specs the route, gateway and leafnode modules use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <tern/wire.h>

static const char *const route_schemes[] = { "nats-route", "nats", "tls", NULL };
static const tern_wire_url_spec route = {
    .what = "route", .schemes = route_schemes, .schemes_text = "nats-route, nats or tls",
    .default_port = -1,
};
static const char *const gw_schemes[] = { "nats", "tls", NULL };
static const tern_wire_url_spec gateway = {
    .what = "gateway", .schemes = gw_schemes, .schemes_text = "nats", .scheme_optional = true,
    .default_port = -1,
};
static const char *const leaf_schemes[] = { "nats-leaf", "nats", "tls", NULL };
static const tern_wire_url_spec leaf = {
    .what = "leafnode", .schemes = leaf_schemes, .schemes_text = "nats-leaf, nats or tls",
    .default_port = 7422,
};

/* Parses text, which must succeed, and checks every field. */
static void ok(const tern_wire_url_spec *spec, const char *text, const char *scheme,
               const char *user, const char *pass, const char *host, int port)
{
    tern_wire_url u;
    char err[256] = "";
    int rc = tern_wire_url_parse(text, spec, &u, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", text, err);
    assert_string_equal(u.text, text);
    if (scheme)
        assert_string_equal(u.scheme, scheme);
    else
        assert_null(u.scheme);
    if (user)
        assert_string_equal(u.user, user);
    else
        assert_null(u.user);
    if (pass)
        assert_string_equal(u.pass, pass);
    else
        assert_null(u.pass);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    tern_wire_url_free(&u);
    assert_null(u.host);
}

/* Parses text, which must fail with exactly want, leaving *out empty. */
static void bad(const tern_wire_url_spec *spec, const char *text, const char *want)
{
    tern_wire_url u;
    char err[256] = "";
    assert_int_equal(tern_wire_url_parse(text, spec, &u, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_null(u.text);
    assert_null(u.scheme);
    assert_null(u.user);
    assert_null(u.pass);
    assert_null(u.host);
}

static void test_schemes(void **state)
{
    (void)state;
    ok(&route, "nats-route://a:6222", "nats-route", NULL, NULL, "a", 6222);
    ok(&route, "NATS-Route://a:6222/", "nats-route", NULL, NULL, "a", 6222);
    ok(&route, "nats://a:6222", "nats", NULL, NULL, "a", 6222);
    ok(&route, "tls://a:6222", "tls", NULL, NULL, "a", 6222);
    ok(&leaf, "nats-leaf://a:1", "nats-leaf", NULL, NULL, "a", 1);
    ok(&leaf, "TLS://a", "tls", NULL, NULL, "a", 7422);
    ok(&gateway, "nats://a:7222", "nats", NULL, NULL, "a", 7222);
    ok(&gateway, "a:7222", NULL, NULL, NULL, "a", 7222);
    ok(&gateway, "u:p@a:7222", NULL, "u", "p", "a", 7222);

    bad(&route, "a:6222", "route URL a:6222: expected nats-route://host:port");
    bad(&leaf, "a:1", "leafnode URL a:1: expected nats-leaf://host[:port]");
    bad(&route, "nats-leaf://a:6222",
        "route URL nats-leaf://a:6222: unsupported scheme (nats-route, nats or tls)");
    bad(&route, "://a:6222", "route URL ://a:6222: unsupported scheme (nats-route, nats or tls)");
    bad(&leaf, "http://a", "leafnode URL http://a: unsupported scheme (nats-leaf, nats or tls)");
    bad(&gateway, "tcp://a:1", "gateway URL tcp://a:1: unsupported scheme (nats)");
    /* the scheme is matched whole, not as a prefix */
    bad(&gateway, "nat://a:1", "gateway URL nat://a:1: unsupported scheme (nats)");
    bad(&gateway, "natss://a:1", "gateway URL natss://a:1: unsupported scheme (nats)");
}

static void test_userinfo(void **state)
{
    (void)state;
    ok(&route, "nats-route://ruser:T0pS3cr3t@a:6222", "nats-route", "ruser", "T0pS3cr3t", "a", 6222);
    ok(&route, "nats://u@a:1", "nats", "u", NULL, "a", 1);
    ok(&route, "nats://u:@a:1", "nats", "u", "", "a", 1);
    ok(&route, "nats://:p@a:1", "nats", "", "p", "a", 1);
    /* %XX decoded in either case; the password keeps later ':' */
    ok(&route, "nats://us%65r:p%3a%2Fw:d@a:1", "nats", "user", "p:/w:d", "a", 1);
    /* the last '@' ends the userinfo */
    ok(&leaf, "nats://u:p@ss@a", "nats", "u", "p@ss", "a", 7422);
    ok(&leaf, "nats://u:p%40ss@a", "nats", "u", "p@ss", "a", 7422);
    /* a '%' without two hex digits stays */
    ok(&route, "nats://a%:b%4@h:1", "nats", "a%", "b%4", "h", 1);
    ok(&route, "nats://%zz:%4g@h:1", "nats", "%zz", "%4g", "h", 1);
    /* an '@' after the host (a path) is not userinfo */
    ok(&route, "nats://h:1/x@y", "nats", NULL, NULL, "h", 1);
    bad(&route, "nats://u:p@", "route URL nats://u:p@: expected host:port");
}

static void test_ipv6(void **state)
{
    (void)state;
    ok(&route, "nats-route://[::1]:6222", "nats-route", NULL, NULL, "::1", 6222);
    ok(&route, "nats-route://u:p@[fe80::1%25eth0]:6222", "nats-route", "u", "p", "fe80::1%25eth0",
       6222);
    ok(&leaf, "nats-leaf://[::1]", "nats-leaf", NULL, NULL, "::1", 7422);
    ok(&leaf, "nats-leaf://[::1]:4", "nats-leaf", NULL, NULL, "::1", 4);
    ok(&gateway, "[2001:db8::2]:7222", NULL, NULL, NULL, "2001:db8::2", 7222);
    /* unbracketed: the last ':' starts the port, as the modules always did */
    ok(&route, "nats://::1:6222", "nats", NULL, NULL, "::1", 6222);
    bad(&route, "nats://[::1]", "route URL nats://[::1]: expected host:port");
    bad(&route, "nats://[::1:6222", "route URL nats://[::1:6222: expected host:port");
    bad(&leaf, "nats://[::1]x", "leafnode URL nats://[::1]x: expected host[:port]");
    bad(&leaf, "nats://[]:1", "leafnode URL nats://[]:1: expected host[:port]");
}

static void test_ports(void **state)
{
    (void)state;
    ok(&route, "nats://a:0", "nats", NULL, NULL, "a", 0);
    ok(&route, "nats://a:65535", "nats", NULL, NULL, "a", 65535);
    ok(&route, "nats://a:00080", "nats", NULL, NULL, "a", 80);
    ok(&leaf, "nats://a", "nats", NULL, NULL, "a", 7422);
    ok(&leaf, "nats://a/?x#y", "nats", NULL, NULL, "a", 7422);
    ok(&route, "nats://a:1?x", "nats", NULL, NULL, "a", 1);
    ok(&route, "nats://a:1#x", "nats", NULL, NULL, "a", 1);
    bad(&route, "nats://a", "route URL nats://a: expected host:port");
    bad(&gateway, "a", "gateway URL a: expected host:port");
    bad(&route, "nats://a:", "route URL nats://a:: expected host:port");
    bad(&leaf, "nats://a:", "leafnode URL nats://a:: expected host[:port]");
    bad(&route, "nats://a:65536", "route URL nats://a:65536: expected host:port");
    bad(&route, "nats://a:000080", "route URL nats://a:000080: expected host:port");
    bad(&route, "nats://a:-1", "route URL nats://a:-1: expected host:port");
    bad(&route, "nats://a:12x", "route URL nats://a:12x: expected host:port");
    bad(&route, "nats://a: 1", "route URL nats://a: 1: expected host:port");
    bad(&route, "nats://:1", "route URL nats://:1: expected host:port");
    bad(&leaf, "nats://", "leafnode URL nats://: expected host[:port]");
}

static void test_error_truncated(void **state)
{
    (void)state;
    tern_wire_url u;
    char err[12];
    assert_int_equal(tern_wire_url_parse("nats://a", &route, &u, err, sizeof err), -1);
    assert_string_equal(err, "route URL n");
}

static void test_hostport(void **state)
{
    (void)state;
    char *h = NULL;
    int p = -5;
    assert_int_equal(tern_wire_url_hostport("0.0.0.0:6222", 12, -1, &h, &p), 0);
    assert_string_equal(h, "0.0.0.0");
    assert_int_equal(p, 6222);
    free(h);
    /* only n bytes count */
    assert_int_equal(tern_wire_url_hostport("[::]:42xyz", 7, -1, &h, &p), 0);
    assert_string_equal(h, "::");
    assert_int_equal(p, 42);
    free(h);
    assert_int_equal(tern_wire_url_hostport("h", 1, 9, &h, &p), 0);
    assert_string_equal(h, "h");
    assert_int_equal(p, 9);
    free(h);
    h = NULL;
    assert_int_equal(tern_wire_url_hostport("h", 1, -1, &h, &p), -1);
    assert_int_equal(tern_wire_url_hostport("", 0, 9, &h, &p), -1);
    assert_int_equal(tern_wire_url_hostport("[::1]", 5, -1, &h, &p), -1);
    assert_int_equal(tern_wire_url_hostport("h:99999", 7, -1, &h, &p), -1);
    assert_null(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schemes),
        cmocka_unit_test(test_userinfo),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_error_truncated),
        cmocka_unit_test(test_hostport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
