/* nats-server's configuration format: the lexer/parser (conf_nats.c), the
 * key mapping (conf_nats_map.c), every row of data/nats_keys.tsv (which
 * docs/nats-conf.md must list identically), and a corpus of files in
 * data/nats/ converted and compared with their expected YAML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_emit.h"
#include "conf_nats.h"
#include "conf_nats_map.h"
#include "conf_server.h"
#include "module_natsmap.h"
#include "opts.h"
#include "test_data.h"

static char datadir[2048];
static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    if (test_data_dir(datadir, sizeof datadir, NULL) != 0)
        return -1;
    /* the shipped modules of this build map their own keys */
    tern_nats_modules_dir_set(getenv("TERN_TEST_MODULES"));
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tern-conf-nats-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp(const char *rel)
{
    static char buf[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, rel);
    return buf[i];
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t r = fread(s, 1, (size_t)n, f);
    s[r] = '\0';
    fclose(f);
    return s;
}

/* ---- helpers ------------------------------------------------------------ */

static tern_conf_node *parse(const char *text, char *err)
{
    return tern_conf_parse_nats(text, strlen(text), "/etc/nats/t.conf", NULL, err, TERN_CONF_ERR_MAX);
}

static tern_conf_node *parse_ok(const char *text)
{
    char err[TERN_CONF_ERR_MAX] = "";
    tern_conf_node *n = parse(text, err);
    if (!n)
        fail_msg("parse failed: %s\n--- text:\n%s", err, text);
    return n;
}

static void expect_error(const char *text, const char *want)
{
    char err[TERN_CONF_ERR_MAX] = "";
    tern_conf_node *n = parse(text, err);
    if (n) {
        tern_conf_free(n);
        fail_msg("parsed, expected error: %s\n--- text:\n%s", want, text);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

/* Follow a dotted path; numeric segments index lists. */
static const tern_conf_node *at(const tern_conf_node *n, const char *path)
{
    char *p = strdup(path), *save = NULL;
    for (char *seg = strtok_r(p, ".", &save); seg && n; seg = strtok_r(NULL, ".", &save)) {
        if (n->type == TERN_CONF_LIST) {
            size_t i = (size_t)atoi(seg);
            n = i < n->n ? n->items[i] : NULL;
        } else {
            n = tern_conf_get(n, seg);
        }
    }
    free(p);
    return n;
}

static void expect_scalar(const tern_conf_node *root, const char *path, const char *value, bool quoted)
{
    const tern_conf_node *n = at(root, path);
    if (!n)
        fail_msg("%s: missing", path);
    if (n->type != TERN_CONF_SCALAR)
        fail_msg("%s: not a scalar", path);
    if (strcmp(n->value, value) || n->quoted != quoted)
        fail_msg("%s: got '%s' (%s), want '%s' (%s)", path, n->value, n->quoted ? "string" : "plain",
                 value, quoted ? "string" : "plain");
}

static void expect_pos(const tern_conf_node *root, const char *path, int line, int col)
{
    const tern_conf_node *n = at(root, path);
    assert_non_null(n);
    if (n->line != line || n->col != col)
        fail_msg("%s at %d:%d, want %d:%d", path, n->line, n->col, line, col);
}

/* ---- lexer / parser: syntax ------------------------------------------- */

static void test_separators(void **state)
{
    (void)state;
    tern_conf_node *r = parse_ok("a: 1\nb = 2\nc 3\nd:4\ne=5\n\tf\t6\ng: 7; h: 8, i: 9\n");
    const char *keys = "abcdefghi";
    for (int i = 0; keys[i]; i++) {
        char k[2] = { keys[i], 0 }, v[2] = { (char)('1' + i), 0 };
        expect_scalar(r, k, v, false);
    }
    expect_pos(r, "a", 1, 4);
    expect_pos(r, "f", 6, 4);
    tern_conf_free(r);
}

static void test_strings(void **state)
{
    (void)state;
    tern_conf_node *r = parse_ok("a: \"dq \\\"x\\\" \\t\\n\\\\ \\x41\"\n"
                                 "b: 'sq \\n raw'\n"
                                 "c: unquoted-string_1\n"
                                 "d: nats://host:4222\n"
                                 "e: 127.0.0.1:4222\n"
                                 "f: 1.2.3.4\n"
                                 "g: 10s\n"
                                 "h: \"\"\n"
                                 "i: a:b\n");
    expect_scalar(r, "a", "dq \"x\" \t\n\\ A", true);
    expect_scalar(r, "b", "sq \\n raw", true);
    expect_scalar(r, "c", "unquoted-string_1", true);
    expect_scalar(r, "d", "nats://host:4222", true);
    expect_scalar(r, "e", "127.0.0.1:4222", true);
    expect_scalar(r, "f", "1.2.3.4", true);
    expect_scalar(r, "g", "10s", true);
    expect_scalar(r, "h", "", true);
    expect_scalar(r, "i", "a:b", true);
    tern_conf_free(r);
}

static void test_numbers_and_bools(void **state)
{
    (void)state;
    tern_conf_node *r = parse_ok("a: 42\nb: -7\nc: 1.5\nd: 1k\ne: 1KB\nf: 2MB\ng: 3M\nh: 1GiB\ni: 1Ki\n"
                                 "j: true\nk: FALSE\nl: yes\nm: No\nn: on\no: OFF\np: 2024-01-02T03:04:05Z\n"
                                 "q: 1T\nr: 1e\n");
    expect_scalar(r, "a", "42", false);
    expect_scalar(r, "b", "-7", false);
    expect_scalar(r, "c", "1.5", false);
    expect_scalar(r, "d", "1000", false);
    expect_scalar(r, "e", "1024", false);
    expect_scalar(r, "f", "2097152", false);
    expect_scalar(r, "g", "3000000", false);
    expect_scalar(r, "h", "1073741824", false);
    expect_scalar(r, "i", "1024", false);
    expect_scalar(r, "j", "true", false);
    expect_scalar(r, "k", "false", false);
    expect_scalar(r, "l", "true", false);
    expect_scalar(r, "m", "false", false);
    expect_scalar(r, "n", "true", false);
    expect_scalar(r, "o", "false", false);
    expect_scalar(r, "p", "2024-01-02T03:04:05Z", true);
    expect_scalar(r, "q", "1000000000000", false);
    expect_scalar(r, "r", "1000000000000000000", false);
    tern_conf_free(r);
}

static void test_blocks_and_arrays(void **state)
{
    (void)state;
    tern_conf_node *r = parse_ok("m {\n  a: 1\n  n: { b: [1, 'x', {c: d}] }\n}\n"
                                 "arr: [\n  1\n  2, 3\n  # comment\n]\n"
                                 "empty {}\nnone []\n"
                                 "m2 = { k = v; k2 = v2 }\n"
                                 "blk (\nline one\n  line two\n)\n");
    expect_scalar(r, "m.a", "1", false);
    expect_scalar(r, "m.n.b.0", "1", false);
    expect_scalar(r, "m.n.b.1", "x", true);
    expect_scalar(r, "m.n.b.2.c", "d", true);
    const tern_conf_node *arr = at(r, "arr");
    assert_int_equal(arr->type, TERN_CONF_LIST);
    assert_int_equal(arr->n, 3);
    assert_int_equal(at(r, "empty")->type, TERN_CONF_MAP);
    assert_int_equal(at(r, "none")->type, TERN_CONF_LIST);
    expect_scalar(r, "m2.k2", "v2", true);
    expect_scalar(r, "blk", "\nline one\n  line two\n", true);   /* as nats-server: from after the ( */
    expect_pos(r, "m.n", 3, 6);
    tern_conf_free(r);
}

static void test_comments(void **state)
{
    (void)state;
    tern_conf_node *r = parse_ok("# a\n// b\na: 1 # c\nb: 2 // d\nm { # e\n  // f\n  c: 3 # g\n}\n"
                                 "l [ # h\n 1 // i\n]\nu: x#y\n");
    expect_scalar(r, "a", "1", false);
    expect_scalar(r, "b", "2", false);
    expect_scalar(r, "m.c", "3", false);
    assert_int_equal(at(r, "l")->n, 1);
    expect_scalar(r, "u", "x#y", true);     /* '#' inside an unquoted string is text */
    assert_int_equal(r->n, 5);
    tern_conf_free(r);
}

static void test_json(void **state)
{
    (void)state;
    tern_conf_node *r = parse_ok("{\"a\": 1, \"b\": {\"c\": [true, false, null_x]}, \"d\": \"s\"}");
    expect_scalar(r, "a", "1", false);
    expect_scalar(r, "b.c.0", "true", false);
    expect_scalar(r, "d", "s", true);
    tern_conf_free(r);
    r = parse_ok("{\n  \"port\": 4222,\n  \"tls\": {\"verify\": true}\n}\n");
    expect_scalar(r, "port", "4222", false);
    expect_scalar(r, "tls.verify", "true", false);
    assert_int_equal(r->n, 2);
    tern_conf_free(r);
}

static void test_duplicate_keys_last_wins(void **state)
{
    (void)state;
    tern_conf_node *r = parse_ok("a: 1\na: 2\n");
    expect_scalar(r, "a", "2", false);
    assert_int_equal(r->n, 1);
    expect_pos(r, "a", 2, 4);
    tern_conf_free(r);
}

/* ---- variables ---------------------------------------------------------- */

static void test_variables(void **state)
{
    (void)state;
    tern_nats_vars vars = { 0 };
    char err[TERN_CONF_ERR_MAX] = "";
    const char *text = "V = 4222\nport: $V\nm {\n  W: inner\n  x: $W\n  y: $V\n  z: [$V]\n}\n"
                       "pw: $2a$11$abc\nunused: 1\n";
    tern_conf_node *r = tern_conf_parse_nats(text, strlen(text), "/etc/nats/t.conf", &vars, err, sizeof err);
    assert_non_null(r);
    expect_scalar(r, "port", "4222", false);
    expect_pos(r, "port", 2, 7);
    expect_scalar(r, "m.x", "inner", true);
    expect_scalar(r, "m.y", "4222", false);
    expect_scalar(r, "m.z.0", "4222", false);
    expect_scalar(r, "pw", "$2a$11$abc", true);
    assert_true(tern_nats_vars_used(&vars, tern_conf_get(r, "V")));
    assert_true(tern_nats_vars_used(&vars, at(r, "m.W")));
    assert_false(tern_nats_vars_used(&vars, tern_conf_get(r, "unused")));
    tern_conf_free(r);
    tern_nats_vars_free(&vars);
}

static void test_variable_errors(void **state)
{
    (void)state;
    expect_error("a: $NOPE_NOT_DEFINED_X\n", "/etc/nats/t.conf:1:4: variable reference for "
                                             "'NOPE_NOT_DEFINED_X' can not be found");
    /* a later definition is not visible, nor an inner block's */
    expect_error("a: $B\nB: 1\n", ":1:4:");
    expect_error("m { B: 1 }\na: $B\n", ":2:4:");
}

static void test_env_variables(void **state)
{
    (void)state;
    setenv("TERN_T_PORT", "4333", 1);
    setenv("TERN_T_STR", "hello", 1);
    setenv("TERN_T_SIZE", "2MB", 1);
    setenv("TERN_T_BAD", "[1, 2", 1);
    setenv("TERN_T_LOOP", "$TERN_T_LOOP", 1);
    tern_conf_node *r = parse_ok("port: $TERN_T_PORT\ns: $TERN_T_STR\nz: $TERN_T_SIZE\n");
    expect_scalar(r, "port", "4333", false);
    expect_scalar(r, "s", "hello", true);
    expect_scalar(r, "z", "2097152", false);
    expect_pos(r, "s", 2, 4);
    assert_string_equal(at(r, "s")->file, "/etc/nats/t.conf");
    tern_conf_free(r);
    /* a file's own key shadows the environment */
    r = parse_ok("TERN_T_PORT: 1\np: $TERN_T_PORT\n");
    expect_scalar(r, "p", "1", false);
    tern_conf_free(r);
    expect_error("a: $TERN_T_BAD\n", "/etc/nats/t.conf:1:4: variable reference for 'TERN_T_BAD' could not be parsed");
    expect_error("a: $TERN_T_LOOP\n", "nested too deeply");
}

/* ---- includes ----------------------------------------------------------- */

static void test_include(void **state)
{
    (void)state;
    mkdir(tmp("inc"), 0700);
    mkdir(tmp("inc/sub"), 0700);
    write_file(tmp("inc/main.conf"), "port: 4333\ninclude sub/a.conf\nm {\n  include 'sub/b.conf'\n}\n"
                                     "INCLUDE \"sub/c.conf\"\n");
    write_file(tmp("inc/sub/a.conf"), "a: 1\ninclude nested.conf\n");  /* relative to sub/ */
    write_file(tmp("inc/sub/nested.conf"), "n: deep\n");
    write_file(tmp("inc/sub/b.conf"), "b: 2\n");
    write_file(tmp("inc/sub/c.conf"), "c: 3\nport: 4444\n");
    char err[TERN_CONF_ERR_MAX] = "";
    tern_conf_node *r = tern_conf_load_nats_raw(tmp("inc/main.conf"), NULL, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    expect_scalar(r, "a", "1", false);
    expect_scalar(r, "n", "deep", true);
    expect_scalar(r, "m.b", "2", false);
    expect_scalar(r, "c", "3", false);
    expect_scalar(r, "port", "4444", false);   /* later wins */
    const tern_conf_node *n = at(r, "n");
    assert_string_equal(n->file, tmp("inc/sub/nested.conf"));
    assert_int_equal(n->line, 1);
    tern_conf_free(r);
}

static void test_include_errors(void **state)
{
    (void)state;
    mkdir(tmp("cyc"), 0700);
    write_file(tmp("cyc/a.conf"), "x: 1\ninclude b.conf\n");
    write_file(tmp("cyc/b.conf"), "include a.conf\n");
    write_file(tmp("cyc/self.conf"), "include self.conf\n");
    write_file(tmp("cyc/missing.conf"), "a: 1\n  include nope.conf\n");
    write_file(tmp("cyc/bad.conf"), "include inner.conf\n");
    write_file(tmp("cyc/inner.conf"), "a: 1\nb: [\n");
    char err[TERN_CONF_ERR_MAX];
    assert_null(tern_conf_load_nats_raw(tmp("cyc/a.conf"), NULL, err, sizeof err));
    assert_non_null(strstr(err, "include cycle"));
    assert_non_null(strstr(err, tmp("cyc/a.conf")));
    assert_null(tern_conf_load_nats_raw(tmp("cyc/self.conf"), NULL, err, sizeof err));
    assert_non_null(strstr(err, "include cycle"));
    assert_null(tern_conf_load_nats_raw(tmp("cyc/missing.conf"), NULL, err, sizeof err));
    char want[600];
    snprintf(want, sizeof want, "%s:2:11: error parsing include file 'nope.conf'", tmp("cyc/missing.conf"));
    if (!strstr(err, want))
        fail_msg("%s", err);
    assert_non_null(strstr(err, "No such file"));
    assert_null(tern_conf_load_nats_raw(tmp("cyc/bad.conf"), NULL, err, sizeof err));
    snprintf(want, sizeof want, "%s:", tmp("cyc/inner.conf"));
    if (!strstr(err, want))
        fail_msg("%s", err);
    expect_error("include [a]\n", "Expected include value but found start of an array");
    expect_error("include 5\n", "Expected include value but found start of a number");
}

/* ---- errors with positions --------------------------------------------- */

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_error("a: \"unterminated\n", "/etc/nats/t.conf:");
    expect_error("a: \"x", "Unexpected EOF");
    expect_error("a: 'x", "Unexpected EOF");
    expect_error("a: '", "unterminated string");
    expect_error("m {\n  a: 1\n", "/etc/nats/t.conf:2:7: Unexpected EOF processing map.");
    expect_error("m {\n  a: 1", "/etc/nats/t.conf:2:6: Expected a map value terminator \",\" or a map terminator \"}\", but got 'EOF' instead.");
    expect_error("l [\n  1\n", "/etc/nats/t.conf:");
    expect_error("l [1,, 2]", "/etc/nats/t.conf:1:6: Unexpected array value terminator ','.");
    expect_error("a: 1 2\n", "/etc/nats/t.conf:1:6: Expected a top-level value to end with a new line");
    expect_error("a: \"\\q\"", "/etc/nats/t.conf:1:6: Invalid escape character 'q'");
    expect_error("a: \"\\xZZ\"", "Expected two hexadecimal digits after '\\x', but got 'ZZ'");
    expect_error(": 1\n", "/etc/nats/t.conf:1:1: Unexpected key separator ':'");
    expect_error("m { = 1 }", "Unexpected key separator '='");
    expect_error("a: .5\n", "Floats must start with a digit");
    expect_error("a: 1.x\n", "Floats must have a digit after the '.'");
    expect_error("a: 2024-01-02T03:04\n", "ISO8601");
    expect_error("a: 123-4\n", "All ISO8601 dates must be in full Zulu form.");
    expect_error("a: 99999999999999999999\n", "integer '99999999999999999999' is out of the range");
    expect_error("a: 9000000000E\n", "out of the range");
    expect_error("a: 1kbb\n", "/etc/nats/t.conf:1:4: invalid size suffix in '1kbb'");
    expect_error("a: (\nnever closed", "Unexpected EOF processing block.");
    expect_error("a:\n", "/etc/nats/t.conf:1:3: Expected value but found new line");
    expect_error("m { a: 1 ] }", "Expected a map value terminator");
    expect_error("m { ] }", "Unexpected array end");
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t depth = 5000;
    char *text = malloc(depth * 6 + 16);
    size_t o = 0;
    for (size_t i = 0; i < depth; i++)
        o += (size_t)sprintf(text + o, "a { ");
    text[o] = '\0';
    char err[TERN_CONF_ERR_MAX] = "";
    tern_conf_node *r = tern_conf_parse_nats(text, o, "/etc/nats/t.conf", NULL, err, sizeof err);
    assert_null(r);
    assert_non_null(strstr(err, "nesting deeper than"));
    /* arrays too */
    o = 0;
    for (size_t i = 0; i < depth; i++)
        text[o++] = '[';
    text[o] = '\0';
    char *doc = malloc(o + 8);
    sprintf(doc, "a: %s", text);
    r = tern_conf_parse_nats(doc, strlen(doc), "/etc/nats/t.conf", NULL, err, sizeof err);
    assert_null(r);
    assert_non_null(strstr(err, "nesting deeper than"));
    free(doc);
    free(text);
    /* 100 levels are fine */
    text = malloc(100 * 8 + 16);
    o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(text + o, "a { ");
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(text + o, "} ");
    r = tern_conf_parse_nats(text, o, "/etc/nats/t.conf", NULL, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    tern_conf_free(r);
    free(text);
}

/* Bytes that are not text must not crash the lexer. */
static void test_garbage(void **state)
{
    (void)state;
    unsigned int seed = 7;
    char buf[256];
    const char alphabet[] = "{}[]():=;,#/'\"\\ \t\n$-.0123456789abcxkKMB\xc3\xa9\x80";
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = alphabet[rand_r(&seed) % (int)(sizeof alphabet - 1)];
        char err[TERN_CONF_ERR_MAX];
        tern_nats_vars vars = { 0 };
        tern_conf_node *r = tern_conf_parse_nats(buf, n, "/g.conf", &vars, err, sizeof err);
        if (r) {
            tern_conf_node *m = tern_conf_nats_map(r, &vars, NULL, err, sizeof err);
            tern_conf_free(m);
        }
        tern_conf_free(r);
        tern_nats_vars_free(&vars);
    }
}

/* ---- mapping ------------------------------------------------------------ */

typedef struct warnings {
    char text[4096];
    int n;
} warnings;

static void collect(void *arg, const char *msg)
{
    warnings *w = arg;
    w->n++;
    size_t l = strlen(w->text);
    snprintf(w->text + l, sizeof w->text - l, "%s\n", msg);
}

static tern_conf_node *convert(const char *text, bool ignore, warnings *w, char *err)
{
    tern_nats_vars vars = { 0 };
    tern_conf_node *raw = tern_conf_parse_nats(text, strlen(text), "snippet.conf", &vars, err,
                                               TERN_CONF_ERR_MAX);
    if (!raw)
        return NULL;
    tern_nats_map_opts o = { .ignore_unsupported = ignore, .warn = collect, .warn_arg = w };
    tern_conf_node *out = tern_conf_nats_map(raw, &vars, &o, err, TERN_CONF_ERR_MAX);
    tern_conf_free(raw);
    tern_nats_vars_free(&vars);
    return out;
}

/* Convert and apply to tern_opts: the whole path a file takes. */
static int convert_apply(const char *text, bool ignore, warnings *w, char *err, bool apply)
{
    tern_conf_node *t = convert(text, ignore, w, err);
    if (!t)
        return -1;
    int rc = 0;
    if (apply) {
        tern_opts o;
        tern_opts_init(&o);
        rc = tern_conf_apply(t, &o, err, TERN_CONF_ERR_MAX);
        tern_opts_free(&o);
    }
    tern_conf_free(t);
    return rc;
}

static void test_map_unknown_and_types(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    warnings w = { .n = 0 };
    assert_null(convert("port: 4222\nprot: 4223\n", false, &w, err));
    assert_string_equal(err, "snippet.conf:2:1: unknown field \"prot\"");
    /* with --ignore-unsupported an unknown key is still an error */
    assert_null(convert("prot: 4223\n", true, &w, err));
    assert_non_null(strstr(err, "unknown field \"prot\""));
    /* a key used as a variable is a definition, not an unknown field */
    tern_conf_node *t = convert("P: 4333\nport: $P\n", false, &w, err);
    assert_non_null(t);
    expect_scalar(t, "server.port", "4333", false);
    assert_null(tern_conf_get(t, "P"));
    tern_conf_free(t);
    assert_null(convert("authorization { users: [{user: a, password: b, nme: x}] }", false, &w, err));
    assert_string_equal(err, "snippet.conf:1:48: unknown field \"nme\"");
    assert_null(convert("authorization { tokn: x }", false, &w, err));
    assert_string_equal(err, "snippet.conf:1:17: unknown field \"tokn\" in authorization");
    assert_null(convert("tls { cert: x }", false, &w, err));
    assert_string_equal(err, "snippet.conf:1:7: error parsing tls config, unknown field [\"cert\"]");
    /* nats-server's types */
    assert_null(convert("port: \"4222\"\n", false, &w, err));
    assert_string_equal(err, "snippet.conf:1:7: error parsing port: expected an integer, got a string");
    assert_null(convert("max_payload: \"1MB\"\n", false, &w, err));
    assert_null(convert("server_name: 5\n", false, &w, err));
    assert_string_equal(err, "snippet.conf:1:14: error parsing server_name: expected a string, got an integer");
    assert_null(convert("lame_duck_duration: 40\n", false, &w, err));
    assert_non_null(strstr(err, "expected a duration string"));
    assert_null(convert("debug: 1\n", false, &w, err));
    assert_null(convert("ping_interval: 1.5\n", false, &w, err));
    assert_null(convert("tls: 1\n", false, &w, err));
    assert_null(convert("authorization: [1]\n", false, &w, err));
    assert_null(convert("authorization { users: {user: a} }\n", false, &w, err));
    assert_non_null(strstr(err, "Expected users field to be an array"));
    assert_null(convert("authorization { users: [1 ] }\n", false, &w, err));
    assert_non_null(strstr(err, "Expected user entry to be a map/struct"));
    assert_int_equal(w.n, 0);
}

static void test_map_authorization(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    warnings w = { .n = 0 };
    assert_null(convert("authorization { user: a, password: b, token: t }", false, &w, err));
    assert_string_equal(err, "snippet.conf:1:15: Cannot have a user/pass and token");
    assert_null(convert("authorization { user: a, users: [{user: b}] }", false, &w, err));
    assert_string_equal(err, "snippet.conf:1:15: Can not have a single user/pass and a users array");
    /* the kernel's own check, with the position in the nats file */
    assert_int_equal(convert_apply("authorization { token: t, users: [{user: b, password: c}] }", false,
                                   &w, err, true), -1);
    assert_string_equal(err, "snippet.conf:1:24: Can not have a token and a users array");
    assert_int_equal(convert_apply("authorization { users: [{user: a, password: b}] }\nno_auth_user: c\n",
                                   false, &w, err, true), -1);
    assert_non_null(strstr(err, "snippet.conf:2:15: no_auth_user: \"c\" not present as user"));
    /* a string timeout is 1 s in nats-server: kept, with a warning */
    tern_conf_node *t = convert("authorization { token: t, timeout: \"5s\" }", false, &w, err);
    assert_non_null(t);
    expect_scalar(t, "authorization.timeout", "1", false);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.text, "snippet.conf:1:36: authorization.timeout \"5s\" is a string"));
    tern_conf_free(t);
    /* the value reaches the options */
    tern_opts o;
    tern_opts_init(&o);
    t = convert("authorization { token: t, timeout: 3 }", false, &w, err);
    assert_int_equal(tern_conf_apply(t, &o, err, sizeof err), 0);
    assert_int_equal(o.auth_timeout_ms, 3000);
    assert_non_null(o.auth);
    tern_opts_free(&o);
    tern_conf_free(t);
}

static void test_map_values_reach_opts(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    warnings w = { .n = 0 };
    tern_conf_node *t = convert("listen: 127.0.0.1:4333\nserver_name: n1\nmax_payload: 64KB\n"
                                "max_pending: 1MB\nping_interval: 30\nwrite_deadline: \"3s\"\n"
                                "ping_max: 5\nmax_conn: 7\nlame_duck_duration: \"40s\"\n"
                                "lame_duck_grace_period: \"2s\"\nlogtime: false\ndebug: true\n"
                                "trace_verbose: true\nno_header_support: true\n",
                                false, &w, err);
    if (!t)
        fail_msg("%s", err);
    tern_opts o;
    tern_opts_init(&o);
    if (tern_conf_apply(t, &o, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 4333);
    assert_string_equal(o.name, "n1");
    assert_int_equal(o.max_payload, 65536);
    assert_int_equal(o.max_pending, 1048576);
    assert_int_equal(o.ping_interval_ms, 30000);
    assert_int_equal(o.write_deadline_ms, 3000);
    assert_int_equal(o.ping_max, 5);
    assert_int_equal(o.max_connections, 7);
    assert_int_equal(o.lame_duck_duration_ms, 40000);
    assert_int_equal(o.lame_duck_grace_ms, 2000);
    assert_false(o.log.time);
    assert_true(o.log.debug);
    assert_true(o.log.trace);
    assert_true(o.no_header_support);
    tern_opts_free(&o);
    tern_conf_free(t);
    /* kernel checks name the nats file */
    assert_int_equal(convert_apply("port: 70000\n", false, &w, err, true), -1);
    assert_string_equal(err, "snippet.conf:1:7: invalid port 70000: must be between 0 and 65535, "
                             "or -1 for a random port");
    assert_int_equal(convert_apply("max_payload: 2MB\nmax_pending: 1MB\n", false, &w, err, true), -1);
    assert_non_null(strstr(err, "max_payload (2097152) cannot be higher than max_pending (1048576)"));
    /* a relative path is relative to the working directory, as nats-server */
    t = convert("pid_file: run/x.pid\n", false, &w, err);
    char cwd[1024], want[1100];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s/run/x.pid", cwd);
    expect_scalar(t, "server.pid_file", want, true);
    tern_conf_free(t);
}

/* test_map_unsupported maps with a modules dir holding no module: a
 * module key's module is then missing whichever modules this build
 * ships (the loader's other places: modules/ next to this test binary,
 * which has none, and the install dir). */
static int no_modules_setup(void **state)
{
    (void)state;
    const char *dir = tmp("no-modules");
    if (mkdir(dir, 0700) != 0)
        return -1;
    tern_nats_modules_dir_set(dir);
    return 0;
}

static int no_modules_teardown(void **state)
{
    (void)state;
    tern_nats_modules_dir_set(getenv("TERN_TEST_MODULES"));
    return rmdir(tmp("no-modules"));
}

static void test_map_unsupported(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    warnings w = { .n = 0 };
    /* an installed gateway module would be found: the key is then mapped */
    bool installed = access(TERN_TEST_INSTALL_MODULES "/gateway.so", F_OK) == 0;
    const char *text = "port: 4333\njetstream {\n  store_dir: /data\n}\ngateway { port: 7222 }\n";
    assert_null(convert(text, false, &w, err));
    assert_string_equal(err, "snippet.conf:2:1: 'jetstream' is not supported: JetStream is not supported by Tern");
    tern_conf_node *t = convert(text, true, &w, err);
    assert_non_null(t);
    expect_scalar(t, "server.port", "4333", false);
    assert_non_null(strstr(w.text, "snippet.conf:2:1: 'jetstream' is not supported: JetStream is not "
                                   "supported by Tern (ignored: --ignore-unsupported)\n"));
    if (!installed) {
        assert_int_equal(t->n, 1);
        assert_int_equal(w.n, 2);
        assert_non_null(strstr(w.text, "snippet.conf:5:1: 'gateway' is not supported: the gateway "
                                       "module is needed: module gateway: gateway.so not found in "));
        assert_non_null(strstr(w.text, tmp("no-modules")));
    }
    tern_conf_free(t);
    /* false turns off what Tern does not have anyway */
    w.n = 0;
    t = convert("jetstream: false\nno_sublist_cache: false\nallow_non_tls: false\n", false, &w, err);
    assert_non_null(t);
    assert_int_equal(t->n, 0);
    assert_int_equal(w.n, 0);
    tern_conf_free(t);
    /* a nested one inside a block Tern supports */
    assert_null(convert("tls {\n  pinned_certs: []\n}\n", false, &w, err));
    assert_string_equal(err, "snippet.conf:2:3: 'tls.pinned_certs' is not supported: pinned certificates "
                             "are not supported yet");
}

/* ---- the key table (data/nats_keys.tsv) and docs/nats-conf.md ------------ */

typedef struct row {
    char *key, *status, *tern, *snippet, *expect;
} row;

static size_t read_rows(row **out)
{
    char path[2300];
    snprintf(path, sizeof path, "%s/nats_keys.tsv", datadir);
    char *text = read_file(path);
    assert_non_null(text);
    size_t n = 0, cap = 0;
    row *rows = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !line[0])
            continue;
        char *f[5] = { 0 };
        char *p = line;
        for (int i = 0; i < 5; i++) {
            f[i] = p;
            p = strchr(p, '\t');
            if (i < 4) {
                if (!p)
                    fail_msg("nats_keys.tsv: row '%s' needs 5 tab-separated fields", line);
                *p++ = '\0';
            }
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            rows = realloc(rows, cap * sizeof *rows);
        }
        rows[n++] = (row){ strdup(f[0]), strdup(f[1]), strdup(f[2]), strdup(f[3]), strdup(f[4]) };
    }
    free(text);
    *out = rows;
    return n;
}

static void free_rows(row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].key);
        free(rows[i].status);
        free(rows[i].tern);
        free(rows[i].snippet);
        free(rows[i].expect);
    }
    free(rows);
}

static void check_row(const row *r)
{
    char err[TERN_CONF_ERR_MAX] = "";
    warnings w = { .n = 0 };
    /* TLS rows name certificate files that do not exist: tree only */
    bool apply = strncmp(r->key, "tls", 3) != 0;
    if (!strcmp(r->status, "honoured")) {
        tern_conf_node *t = convert(r->snippet, false, &w, err);
        if (!t)
            fail_msg("%s: '%s' failed: %s", r->key, r->snippet, err);
        char *eq = strchr(r->expect, '=');
        assert_non_null(eq);
        char *path = strndup(r->expect, (size_t)(eq - r->expect));
        const tern_conf_node *n = at(t, path);
        if (!n || n->type != TERN_CONF_SCALAR || strcmp(n->value, eq + 1))
            fail_msg("%s: %s is '%s', want '%s'", r->key, path, n && n->value ? n->value : "(none)", eq + 1);
        free(path);
        tern_conf_free(t);
        if (convert_apply(r->snippet, false, &w, err, apply) != 0)
            fail_msg("%s: the kernel refuses '%s': %s", r->key, r->snippet, err);
        if (w.n)
            fail_msg("%s: unexpected warning %s", r->key, w.text);
        return;
    }
    bool refused = !strcmp(r->status, "refused");
    if (!refused && strcmp(r->status, "module") && strcmp(r->status, "unsupported"))
        fail_msg("%s: unknown status '%s'", r->key, r->status);
    if (convert_apply(r->snippet, false, &w, err, apply) == 0)
        fail_msg("%s: '%s' was accepted", r->key, r->snippet);
    if (strncmp(err, "snippet.conf:1:", 15) || !strstr(err, r->expect))
        fail_msg("%s: error \"%s\" lacks \"%s\"", r->key, err, r->expect);
    if (!refused && !strstr(err, r->tern))
        fail_msg("%s: error \"%s\" lacks the reason \"%s\"", r->key, err, r->tern);
    w.n = 0;
    w.text[0] = '\0';
    int rc = convert_apply(r->snippet, true, &w, err, apply);
    if (refused) {
        if (rc == 0)
            fail_msg("%s: accepted with --ignore-unsupported", r->key);
        return;
    }
    if (rc != 0)
        fail_msg("%s: --ignore-unsupported still fails: %s", r->key, err);
    if (w.n != 1 || !strstr(w.text, r->expect))
        fail_msg("%s: warning \"%s\" lacks \"%s\"", r->key, w.text, r->expect);
}

static void test_every_key(void **state)
{
    (void)state;
    row *rows;
    size_t n = read_rows(&rows);
    assert_true(n > 300);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(rows[i].key, rows[j].key))
                fail_msg("nats_keys.tsv: '%s' twice", rows[i].key);
        check_row(&rows[i]);
    }
    free_rows(rows, n);
}

/* docs/nats-conf.md's table lists exactly the rows of the TSV. */
static void test_doc_matches_table(void **state)
{
    (void)state;
    char path[2300];
    snprintf(path, sizeof path, "%s/../../../docs/nats-conf.md", datadir);
    char *doc = read_file(path);
    assert_non_null(doc);
    row *rows;
    size_t n = read_rows(&rows), seen = 0;
    for (size_t i = 0; i < n; i++) {
        char needle[512];
        snprintf(needle, sizeof needle, "\n| `%s` | %s |", rows[i].key, rows[i].status);
        if (!strstr(doc, needle))
            fail_msg("docs/nats-conf.md lacks the row \"%s\" (regenerate with scripts/gen-nats-conf-doc.py)",
                     needle + 1);
    }
    for (const char *p = doc; (p = strstr(p, "\n| `")) != NULL; p++)
        seen++;
    if (seen != n)
        fail_msg("docs/nats-conf.md has %zu key rows, nats_keys.tsv %zu", seen, n);
    free_rows(rows, n);
    free(doc);
}

/* ---- corpus: data/nats/NAME.conf converted == NAME.expect.yaml ---------- */

static bool same_tree(const tern_conf_node *a, const tern_conf_node *b, char *where, size_t wl)
{
    if (a->type != b->type) {
        snprintf(where, wl, "%s:%d: type differs", a->file, a->line);
        return false;
    }
    if (a->type == TERN_CONF_SCALAR) {
        if (strcmp(a->value, b->value)) {
            snprintf(where, wl, "%s:%d: '%s' vs '%s'", a->file, a->line, a->value, b->value);
            return false;
        }
        return true;
    }
    if (a->n != b->n) {
        snprintf(where, wl, "%s:%d: %zu entries vs %zu", a->file, a->line, a->n, b->n);
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->type == TERN_CONF_LIST) {
            if (!same_tree(a->items[i], b->items[i], where, wl))
                return false;
            continue;
        }
        const tern_conf_node *other = tern_conf_get(b, a->pairs[i].key->value);
        if (!other) {
            snprintf(where, wl, "%s:%d: '%s' not expected", a->file, a->line, a->pairs[i].key->value);
            return false;
        }
        if (!same_tree(a->pairs[i].value, other, where, wl))
            return false;
    }
    return true;
}

/* Strings that look like numbers or booleans stay strings through YAML. */
static bool same_quoting(const tern_conf_node *a, const tern_conf_node *b, char *where, size_t wl)
{
    if (a->type == TERN_CONF_SCALAR) {
        char *end;
        bool numeric = *a->value && (strtod(a->value, &end), !*end);
        bool word = !strcasecmp(a->value, "true") || !strcasecmp(a->value, "false") ||
                    !strcasecmp(a->value, "yes") || !strcasecmp(a->value, "no") ||
                    !strcasecmp(a->value, "on") || !strcasecmp(a->value, "off");
        if ((numeric || word) && a->quoted != b->quoted) {
            snprintf(where, wl, "%s:%d: '%s' quoted %d vs %d", a->file, a->line, a->value,
                     a->quoted, b->quoted);
            return false;
        }
        return true;
    }
    for (size_t i = 0; i < a->n; i++) {
        const tern_conf_node *x = a->type == TERN_CONF_LIST ? a->items[i] : a->pairs[i].value;
        const tern_conf_node *y = a->type == TERN_CONF_LIST ? b->items[i] : b->pairs[i].value;
        if (!same_quoting(x, y, where, wl))
            return false;
    }
    return true;
}

static int conf_entry(const struct dirent *d)
{
    size_t l = strlen(d->d_name);
    return l > 5 && !strcmp(d->d_name + l - 5, ".conf");
}

static void test_corpus(void **state)
{
    (void)state;
    char dir[2300];
    snprintf(dir, sizeof dir, "%s/nats", datadir);
    struct dirent **list;
    int n = scandir(dir, &list, conf_entry, alphasort);
    assert_true(n >= 15);
    for (int i = 0; i < n; i++) {
        char conf[2600], yaml[2600], err[TERN_CONF_ERR_MAX], where[512];
        snprintf(conf, sizeof conf, "%s/%s", dir, list[i]->d_name);
        snprintf(yaml, sizeof yaml, "%s", conf);
        strcpy(yaml + strlen(yaml) - 5, ".expect.yaml");
        tern_conf_node *got = tern_conf_load(conf, err, sizeof err);
        if (!got)
            fail_msg("%s: %s", conf, err);
        tern_conf_node *want = tern_conf_load(yaml, err, sizeof err);
        if (!want)
            fail_msg("%s: %s", yaml, err);
        if (!same_tree(got, want, where, sizeof where))
            fail_msg("%s: %s", list[i]->d_name, where);
        /* ternd --convert: the tree out as YAML reads back the same */
        char *text = NULL;
        size_t tlen = 0;
        FILE *mem = open_memstream(&text, &tlen);
        assert_non_null(mem);
        assert_int_equal(tern_conf_emit_yaml(got, "converted\nfor the test", mem, err, sizeof err), 0);
        fclose(mem);
        tern_conf_node *back = tern_conf_parse_yaml(text, tlen, "converted.yaml", err, sizeof err);
        if (!back)
            fail_msg("%s: converted YAML does not parse: %s\n%s", list[i]->d_name, err, text);
        if (!same_tree(got, back, where, sizeof where) || !same_quoting(got, back, where, sizeof where))
            fail_msg("%s: converted YAML differs: %s\n%s", list[i]->d_name, where, text);
        tern_conf_free(back);
        free(text);
        /* and the kernel accepts it, TLS files aside */
        if (!at(got, "server.tls")) {
            tern_opts o;
            tern_opts_init(&o);
            if (tern_conf_apply(got, &o, err, sizeof err) != 0)
                fail_msg("%s: %s", list[i]->d_name, err);
            tern_opts_free(&o);
        }
        tern_conf_free(got);
        tern_conf_free(want);
        free(list[i]);
    }
    free(list);
}

/* tern_conf_load: a non-YAML file is this format; ignore_unsupported passes through. */
static void test_load(void **state)
{
    (void)state;
    write_file(tmp("js.conf"), "port: 4333\njetstream: enabled\n");
    char err[TERN_CONF_ERR_MAX];
    assert_null(tern_conf_load(tmp("js.conf"), err, sizeof err));
    char want[600];
    snprintf(want, sizeof want, "%s:2:1: 'jetstream' is not supported", tmp("js.conf"));
    if (!strstr(err, want))
        fail_msg("%s", err);
    tern_conf_node *r = tern_conf_load_ex(tmp("js.conf"), true, err, sizeof err);
    assert_non_null(r);
    expect_scalar(r, "server.port", "4333", false);
    tern_conf_free(r);
    assert_null(tern_conf_load(tmp("no-such.conf"), err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers_and_bools),
        cmocka_unit_test(test_blocks_and_arrays),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_duplicate_keys_last_wins),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_variable_errors),
        cmocka_unit_test(test_env_variables),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_include_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_map_unknown_and_types),
        cmocka_unit_test(test_map_authorization),
        cmocka_unit_test(test_map_values_reach_opts),
        cmocka_unit_test_setup_teardown(test_map_unsupported, no_modules_setup, no_modules_teardown),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_doc_matches_table),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
