/* Sizes and durations as nats-server reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "units.h"

static void size_ok(const char *s, int64_t want)
{
    int64_t v = -12345;
    char why[256] = "";
    if (tern_units_size(s, &v, why, sizeof why) != 0)
        fail_msg("size '%s' rejected: %s", s, why);
    if (v != want)
        fail_msg("size '%s' = %lld, want %lld", s, (long long)v, (long long)want);
}

static void size_bad(const char *s, const char *want_why)
{
    int64_t v = 0;
    char why[256] = "";
    if (tern_units_size(s, &v, why, sizeof why) == 0)
        fail_msg("size '%s' accepted as %lld", s, (long long)v);
    if (want_why && strcmp(why, want_why) != 0)
        fail_msg("size '%s': got \"%s\", want \"%s\"", s, why, want_why);
}

static void test_sizes(void **state)
{
    (void)state;
    size_ok("0", 0);
    size_ok("1024", 1024);
    size_ok("-1", -1);
    size_ok("1k", 1000);
    size_ok("1K", 1000);
    size_ok("1KB", 1024);
    size_ok("1kb", 1024);
    size_ok("1Kb", 1024);
    size_ok("1Ki", 1024);
    size_ok("1KiB", 1024);
    size_ok("4KB", 4096);
    size_ok("1M", 1000000);
    size_ok("1m", 1000000);
    size_ok("1MB", 1048576);
    size_ok("1mb", 1048576);
    size_ok("1MiB", 1048576);
    size_ok("64MB", 64LL << 20);
    size_ok("2G", 2000000000LL);
    size_ok("1GB", 1LL << 30);
    size_ok("1T", 1000000000000LL);
    size_ok("1TB", 1LL << 40);
    size_ok("1P", 1000000000000000LL);
    size_ok("1PB", 1LL << 50);
    size_ok("8E", 8000000000000000000LL);
    size_ok("7EB", 7LL << 60);
    size_ok("9223372036854775807", INT64_MAX);

    /* nats-server's parser rejects a space before the suffix */
    size_bad("1 MB", "invalid size '1 MB': expected an integer with an optional suffix "
                     "K, M, G, T (1000-based) or KB, MB, GB, TB (1024-based)");
    size_bad("", NULL);
    size_bad("MB", NULL);
    size_bad("1x", NULL);
    size_bad("1.5MB", NULL);
    size_bad("1MBB", NULL);
    size_bad(" 1", NULL);
    size_bad("1 ", NULL);
    size_bad("9223372036854775808", "size '9223372036854775808' is out of range");
    size_bad("99999999999999999999", "size '99999999999999999999' is out of range");
    size_bad("8EB", "size '8EB' is out of range");
    size_bad("10E", "size '10E' is out of range");
}

static void dur_ok(const char *s, int64_t want)
{
    int64_t v = -12345;
    char why[256] = "";
    if (tern_units_duration_ms(s, &v, why, sizeof why) != 0)
        fail_msg("duration '%s' rejected: %s", s, why);
    if (v != want)
        fail_msg("duration '%s' = %lld ms, want %lld", s, (long long)v, (long long)want);
}

static void dur_bad(const char *s, const char *want_why)
{
    int64_t v = 0;
    char why[256] = "";
    if (tern_units_duration_ms(s, &v, why, sizeof why) == 0)
        fail_msg("duration '%s' accepted as %lld", s, (long long)v);
    if (strcmp(why, want_why) != 0)
        fail_msg("duration '%s': got \"%s\", want \"%s\"", s, why, want_why);
}

static void test_durations(void **state)
{
    (void)state;
    dur_ok("0", 0);
    dur_ok("-0", 0);
    dur_ok("2m", 120000);
    dur_ok("1m30s", 90000);
    dur_ok("500ms", 500);
    dur_ok("10s", 10000);
    dur_ok("1h", 3600000);
    dur_ok("1.5h", 5400000);
    dur_ok("2h45m5s", (2 * 3600 + 45 * 60 + 5) * 1000LL);
    dur_ok(".5s", 500);
    dur_ok("1.s", 1000);
    dur_ok("+5s", 5000);
    dur_ok("-1s", -1000);
    dur_ok("1500us", 1);
    dur_ok("1500\xc2\xb5s", 1);
    dur_ok("999999ns", 0);
    dur_ok("1000000ns", 1);
    dur_ok("2562047h", 2562047LL * 3600000);

    dur_bad("10", "time: missing unit in duration \"10\"");
    dur_bad("1x", "time: unknown unit \"x\" in duration \"1x\"");
    dur_bad("1m30", "time: missing unit in duration \"1m30\"");
    dur_bad("1 s", "time: unknown unit \" s\" in duration \"1 s\"");
    dur_bad("", "time: invalid duration \"\"");
    dur_bad("-", "time: invalid duration \"-\"");
    dur_bad("abc", "time: invalid duration \"abc\"");
    dur_bad(".s", "time: invalid duration \".s\"");
    dur_bad("3000000h", "time: invalid duration \"3000000h\"");
}

static void sec_ok(const char *s, int64_t want)
{
    int64_t v = -12345;
    char why[128] = "";
    if (tern_units_seconds_ms(s, &v, why, sizeof why) != 0)
        fail_msg("seconds '%s' rejected: %s", s, why);
    if (v != want)
        fail_msg("seconds '%s' = %lld ms, want %lld", s, (long long)v, (long long)want);
}

static void test_seconds(void **state)
{
    (void)state;
    int64_t v;
    char why[128];
    sec_ok("10", 10000);
    sec_ok("0", 0);
    sec_ok("2.5", 2500);
    sec_ok("0.001", 1);
    sec_ok("0.0019", 1);
    sec_ok("-1", -1000);
    assert_int_equal(tern_units_seconds_ms("1e3", &v, why, sizeof why), -1);
    assert_string_equal(why, "invalid number of seconds '1e3'");
    assert_int_equal(tern_units_seconds_ms("1.", &v, NULL, 0), -1);
    assert_int_equal(tern_units_seconds_ms("2s", &v, NULL, 0), -1);
    assert_int_equal(tern_units_seconds_ms("", &v, NULL, 0), -1);
    assert_int_equal(tern_units_seconds_ms("99999999999999999999", &v, NULL, 0), -1);
}

static void fmt_is(int64_t ms, const char *want)
{
    char buf[64];
    tern_units_format_duration(ms, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fail_msg("format %lld: got %s, want %s", (long long)ms, buf, want);
}

static void test_format(void **state)
{
    (void)state;
    /* Go's Duration.String() */
    fmt_is(0, "0s");
    fmt_is(1, "1ms");
    fmt_is(500, "500ms");
    fmt_is(1000, "1s");
    fmt_is(1500, "1.5s");
    fmt_is(1001, "1.001s");
    fmt_is(10000, "10s");
    fmt_is(90000, "1m30s");
    fmt_is(120000, "2m0s");
    fmt_is(3600000, "1h0m0s");
    fmt_is(3723500, "1h2m3.5s");
    fmt_is(-1000, "-1s");
    fmt_is(-250, "-250ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
