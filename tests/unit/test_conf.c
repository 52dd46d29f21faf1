/* The configuration loader (YAML → tree, directories, merge, typed reads)
 * and the `server:` section (tern_conf_apply onto tern_opts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_server.h"
#include "opts.h"
#include "test_data.h"

static char datadir[2048];

static int setup(void **state)
{
    (void)state;
    if (test_data_dir(datadir, sizeof datadir, "conf") != 0)
        return -1;
    return 0;
}

static const char *data(const char *rel)
{
    static char buf[8][4096];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", datadir, rel);
    return buf[i];
}

static tern_conf_node *parse(const char *text, char *err)
{
    return tern_conf_parse_yaml(text, strlen(text), "/etc/tern/t.yaml", err, TERN_CONF_ERR_MAX);
}

static void expect_parse_error(const char *text, const char *want)
{
    char err[TERN_CONF_ERR_MAX] = "";
    tern_conf_node *n = parse(text, err);
    if (n) {
        tern_conf_free(n);
        fail_msg("parsed, expected error: %s\n--- text:\n%s", want, text);
    }
    if (strcmp(err, want) != 0)
        fail_msg("error mismatch\n got: %s\nwant: %s", err, want);
}

/* Parse and apply text onto defaults; returns tern_conf_apply's result. */
static int apply_text(const char *text, tern_opts *o, char *err)
{
    tern_conf_node *n = parse(text, err);
    if (!n)
        fail_msg("parse failed: %s", err);
    tern_opts_init(o);
    int r = tern_conf_apply(n, o, err, TERN_CONF_ERR_MAX);
    tern_conf_free(n);
    return r;
}

static void expect_apply_error(const char *text, const char *want)
{
    char err[TERN_CONF_ERR_MAX] = "";
    tern_opts o;
    int r = apply_text(text, &o, err);
    tern_opts_free(&o);
    if (r == 0)
        fail_msg("applied, expected error: %s\n--- text:\n%s", want, text);
    if (strcmp(err, want) != 0)
        fail_msg("error mismatch\n got: %s\nwant: %s\n--- text:\n%s", err, want, text);
}

static void expect_apply_ok(const char *text, tern_opts *o)
{
    char err[TERN_CONF_ERR_MAX] = "";
    if (apply_text(text, o, err) != 0)
        fail_msg("apply failed: %s\n--- text:\n%s", err, text);
}

/* ---- the tree ---------------------------------------------------------- */

static void test_parse_tree_positions(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    const char *text =
        "server:\n"                 /* 1 */
        "  name: \"east\"\n"        /* 2 */
        "  port: 4222\n"            /* 3 */
        "  empty:\n"                /* 4 */
        "  tilde: ~\n"              /* 5 */
        "  qnull: 'null'\n"         /* 6 */
        "  str: !!str 12\n"         /* 7 */
        "  list: [a, 'b', ~]\n"     /* 8 */
        "  block: |\n"              /* 9 */
        "    text\n";               /* 10 */
    tern_conf_node *root = parse(text, err);
    assert_non_null(root);
    assert_int_equal(root->type, TERN_CONF_MAP);
    assert_string_equal(root->file, "/etc/tern/t.yaml");

    tern_conf_node *s = tern_conf_get(root, "server");
    assert_non_null(s);
    assert_int_equal(s->type, TERN_CONF_MAP);
    assert_int_equal(s->line, 2);
    assert_int_equal(s->col, 3);
    assert_int_equal(s->pairs[0].key->line, 2);
    assert_int_equal(s->pairs[0].key->col, 3);

    tern_conf_node *name = tern_conf_get(s, "name");
    assert_int_equal(name->type, TERN_CONF_SCALAR);
    assert_string_equal(name->value, "east");
    assert_true(name->quoted);
    assert_int_equal(name->line, 2);
    assert_int_equal(name->col, 9);

    tern_conf_node *port = tern_conf_get(s, "port");
    assert_string_equal(port->value, "4222");
    assert_false(port->quoted);
    assert_int_equal(port->line, 3);
    assert_int_equal(port->col, 9);

    assert_int_equal(tern_conf_get(s, "empty")->type, TERN_CONF_NULL);
    assert_int_equal(tern_conf_get(s, "tilde")->type, TERN_CONF_NULL);
    tern_conf_node *q = tern_conf_get(s, "qnull");
    assert_int_equal(q->type, TERN_CONF_SCALAR);
    assert_string_equal(q->value, "null");
    assert_true(q->quoted);
    tern_conf_node *st = tern_conf_get(s, "str");
    assert_string_equal(st->value, "12");
    assert_true(st->quoted);

    tern_conf_node *l = tern_conf_get(s, "list");
    assert_int_equal(l->type, TERN_CONF_LIST);
    assert_int_equal(l->n, 3);
    assert_string_equal(l->items[0]->value, "a");
    assert_int_equal(l->items[0]->col, 10);
    assert_true(l->items[1]->quoted);
    assert_int_equal(l->items[2]->type, TERN_CONF_NULL);
    assert_int_equal(l->items[2]->line, 8);
    assert_int_equal(l->items[2]->col, 18);

    tern_conf_node *b = tern_conf_get(s, "block");
    assert_string_equal(b->value, "text\n");
    assert_true(b->quoted);

    assert_null(tern_conf_get(s, "missing"));
    assert_null(tern_conf_get(name, "x"));   /* not a map */
    tern_conf_free(root);
}

static void test_parse_empty_documents(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    const char *texts[] = { "", "# only a comment\n", "---\n", "~\n" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        tern_conf_node *n = parse(texts[i], err);
        assert_non_null(n);
        assert_int_equal(n->type, TERN_CONF_MAP);
        assert_int_equal(n->n, 0);
        tern_conf_free(n);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("server:\n  port: 1\n  name: a\n  port: 2\n",
                       "/etc/tern/t.yaml:4:3: duplicate key 'port' (first at line 2, column 3)");
    expect_parse_error("a: {x: 1, x: 2}\n",
                       "/etc/tern/t.yaml:1:11: duplicate key 'x' (first at line 1, column 5)");
    expect_parse_error("base: &b {port: 1}\nserver: *b\n",
                       "/etc/tern/t.yaml:2:9: YAML aliases (*b) are not supported");
    expect_parse_error("server: {}\n---\nserver: {}\n",
                       "/etc/tern/t.yaml:2:1: only one YAML document per file is supported");
    expect_parse_error("- a\n- b\n",
                       "/etc/tern/t.yaml:1:1: the top level must be a mapping of keys");
    expect_parse_error("just text\n",
                       "/etc/tern/t.yaml:1:1: the top level must be a mapping of keys");
    expect_parse_error("server:\n  port: !custom 1\n",
                       "/etc/tern/t.yaml:2:9: unsupported YAML tag '!custom'");
    expect_parse_error("? [a, b]\n: 1\n",
                       "/etc/tern/t.yaml:1:3: a mapping key must be a scalar");
    expect_parse_error("server:\n  port: 4222\n   name: x\n",
                       "/etc/tern/t.yaml:3:8: mapping values are not allowed in this context");
    expect_parse_error("server: [1, 2\n",
                       "/etc/tern/t.yaml:2:1: did not find expected ',' or ']' while parsing a flow sequence");
    /* deep nesting is refused, not recursed into */
    char deep[600];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    deep[0] = 'a', deep[1] = ':', deep[2] = ' ';
    memcpy(deep + 597, "]\n", 3);
    char err[TERN_CONF_ERR_MAX];
    tern_conf_node *n = parse(deep, err);
    assert_null(n);
    assert_non_null(strstr(err, "nesting deeper than 128 levels"));
}

static void test_merge(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    tern_conf_node *a = parse("server:\n  name: a\n  log: {debug: true, time: false}\n"
                              "  list: [1, 2, 3]\n  keep: x\nother: {k: v}\n", err);
    tern_conf_node *b = parse("server:\n  name: b\n  log: {time: true}\n  list: [9]\n"
                              "other: ~\nnew: 1\n", err);
    assert_non_null(a);
    assert_non_null(b);
    tern_conf_merge(a, b);
    tern_conf_node *s = tern_conf_get(a, "server");
    assert_string_equal(tern_conf_get(s, "name")->value, "b");
    assert_int_equal(tern_conf_get(s, "name")->line, 2);
    assert_string_equal(tern_conf_get(s, "keep")->value, "x");
    tern_conf_node *log = tern_conf_get(s, "log");
    assert_string_equal(tern_conf_get(log, "debug")->value, "true");   /* kept from a */
    assert_string_equal(tern_conf_get(log, "time")->value, "true");    /* b wins */
    tern_conf_node *list = tern_conf_get(s, "list");
    assert_int_equal(list->n, 1);                                      /* replaced whole */
    assert_string_equal(list->items[0]->value, "9");
    assert_int_equal(tern_conf_get(a, "other")->type, TERN_CONF_NULL); /* null replaces a map */
    assert_string_equal(tern_conf_get(a, "new")->value, "1");
    /* the winning key keeps its own position */
    assert_int_equal(a->pairs[1].key->line, 5);
    tern_conf_free(a);
}

static void test_build_copy(void **state)
{
    (void)state;
    tern_conf_node *root = tern_conf_new(TERN_CONF_MAP, "<flags>", 1, 1);
    tern_conf_node *server = tern_conf_map_child(root, "server");
    assert_non_null(server);
    assert_ptr_equal(tern_conf_map_child(root, "server"), server);
    tern_conf_map_set(server, "port", tern_conf_new_scalar("5000", "<flags>", 3, 1));
    tern_conf_map_set(server, "port", tern_conf_new_scalar("6000", "<flags>", 4, 1));
    assert_int_equal(server->n, 1);
    assert_string_equal(tern_conf_get(server, "port")->value, "6000");
    tern_conf_node *log = tern_conf_map_child(server, "log");
    tern_conf_map_set(log, "debug", tern_conf_new_scalar("true", "<flags>", 5, 1));

    /* a scalar in the way of map_child is replaced by a map */
    tern_conf_map_set(root, "x", tern_conf_new_scalar("1", "f", 1, 1));
    assert_int_equal(tern_conf_map_child(root, "x")->type, TERN_CONF_MAP);

    tern_conf_node *c = tern_conf_copy(root);
    tern_conf_free(root);
    tern_conf_node *cs = tern_conf_get(c, "server");
    assert_string_equal(tern_conf_get(cs, "port")->value, "6000");
    assert_string_equal(tern_conf_get(cs, "port")->file, "<flags>");
    assert_int_equal(tern_conf_get(cs, "port")->line, 4);
    assert_string_equal(tern_conf_get(tern_conf_get(cs, "log"), "debug")->value, "true");
    tern_conf_free(c);
    assert_null(tern_conf_copy(NULL));
}

/* ---- typed reads ------------------------------------------------------- */

static void test_typed_reads(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    tern_conf_node *r = parse(
        "b1: true\nb2: Off\nb3: 'true'\nb4: maybe\n"          /* 1-4 */
        "i1: -42\ni2: 4x\ni3: '7'\ni4: 99999999999999999999\n" /* 5-8 */
        "s1: 64MB\ns2: '1k'\ns3: 1 MB\ns4: [1]\n"              /* 9-12 */
        "d1: 10\nd2: 1m30s\nd3: '10'\nd4: 2.5\nd5: 3y\n"       /* 13-17 */
        "p1: logs/x.log\np2: /abs\np3: {a: 1}\n", err);        /* 18-20 */
    assert_non_null(r);
    bool b;
    int64_t v;
    char *s;

    assert_int_equal(tern_conf_bool(tern_conf_get(r, "b1"), &b, err, sizeof err), 0);
    assert_true(b);
    assert_int_equal(tern_conf_bool(tern_conf_get(r, "b2"), &b, err, sizeof err), 0);
    assert_false(b);
    assert_int_equal(tern_conf_bool(tern_conf_get(r, "b3"), &b, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:3:5: expected a boolean (true or false), got 'true'");
    assert_int_equal(tern_conf_bool(tern_conf_get(r, "b4"), &b, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:4:5: expected a boolean (true or false), got 'maybe'");

    assert_int_equal(tern_conf_int(tern_conf_get(r, "i1"), &v, err, sizeof err), 0);
    assert_int_equal(v, -42);
    assert_int_equal(tern_conf_int(tern_conf_get(r, "i2"), &v, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:6:5: expected an integer, got '4x'");
    assert_int_equal(tern_conf_int(tern_conf_get(r, "i3"), &v, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:7:5: expected an integer, got the string '7'");
    assert_int_equal(tern_conf_int(tern_conf_get(r, "i4"), &v, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:8:5: integer '99999999999999999999' is out of range");

    assert_int_equal(tern_conf_size(tern_conf_get(r, "s1"), &v, err, sizeof err), 0);
    assert_int_equal(v, 64LL << 20);
    assert_int_equal(tern_conf_size(tern_conf_get(r, "s2"), &v, err, sizeof err), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(tern_conf_size(tern_conf_get(r, "s3"), &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "/etc/tern/t.yaml:11:5: invalid size '1 MB'"));
    assert_int_equal(tern_conf_size(tern_conf_get(r, "s4"), &v, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:12:5: expected a size, got a list");

    assert_int_equal(tern_conf_duration_ms(tern_conf_get(r, "d1"), &v, err, sizeof err), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(tern_conf_duration_ms(tern_conf_get(r, "d2"), &v, err, sizeof err), 0);
    assert_int_equal(v, 90000);
    assert_int_equal(tern_conf_duration_ms(tern_conf_get(r, "d3"), &v, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:15:5: time: missing unit in duration \"10\"");
    assert_int_equal(tern_conf_duration_ms(tern_conf_get(r, "d4"), &v, err, sizeof err), 0);
    assert_int_equal(v, 2500);
    assert_int_equal(tern_conf_duration_ms(tern_conf_get(r, "d5"), &v, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:17:5: time: unknown unit \"y\" in duration \"3y\"");

    assert_int_equal(tern_conf_path(tern_conf_get(r, "p1"), &s, err, sizeof err), 0);
    assert_string_equal(s, "/etc/tern/logs/x.log");
    free(s);
    assert_int_equal(tern_conf_path(tern_conf_get(r, "p2"), &s, err, sizeof err), 0);
    assert_string_equal(s, "/abs");
    free(s);
    assert_int_equal(tern_conf_string(tern_conf_get(r, "p3"), &s, err, sizeof err), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:20:5: expected a string, got a mapping");
    assert_int_equal(tern_conf_string(tern_conf_get(r, "i1"), &s, err, sizeof err), 0);
    assert_string_equal(s, "-42");
    free(s);

    assert_int_equal(tern_conf_error(tern_conf_get(r, "b1"), err, sizeof err, "x %d", 7), -1);
    assert_string_equal(err, "/etc/tern/t.yaml:1:5: x 7");
    tern_conf_free(r);
}

/* ---- loading files and directories ------------------------------------ */

static void test_load_full_file(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX] = "", want[4096];
    tern_conf_node *root = tern_conf_load(data("full.yaml"), err, sizeof err);
    if (!root)
        fail_msg("%s", err);
    tern_opts o;
    tern_opts_init(&o);
    if (tern_conf_apply(root, &o, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(tern_conf_get(root, "server")->file, data("full.yaml"));
    assert_string_equal(o.name, "east-1");
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 4333);
    assert_int_equal(o.workers, 3);
    assert_int_equal(o.max_payload, 2 << 20);
    assert_int_equal(o.max_control_line, 8192);
    assert_int_equal(o.max_connections, 1000);
    assert_int_equal(o.max_pending, 128LL << 20);
    assert_int_equal(o.ping_interval_ms, 90000);
    assert_int_equal(o.ping_max, 5);
    assert_int_equal(o.write_deadline_ms, 3000);
    assert_int_equal(o.auth_timeout_ms, 2500);
    assert_int_equal(o.lame_duck_duration_ms, 45000);
    assert_int_equal(o.lame_duck_grace_ms, 5000);
    assert_true(o.disable_short_first_ping);
    assert_true(o.no_header_support);
    snprintf(want, sizeof want, "%s/logs/ternd.log", datadir);
    assert_string_equal(o.log.file, want);
    assert_true(o.log.debug);
    assert_false(o.log.trace);
    assert_false(o.log.time);
    assert_false(o.log.syslog);
    snprintf(want, sizeof want, "%s/run/ternd.pid", datadir);
    assert_string_equal(o.pid_file, want);
    assert_string_equal(o.ports_file_dir, "/var/run/tern");
    /* "../modules" from the data/conf folder */
    snprintf(want, sizeof want, "%s", datadir);
    *strrchr(want, '/') = '\0';
    strcat(want, "/modules");
    assert_string_equal(o.modules_dir, want);
    tern_opts_free(&o);
    tern_conf_free(root);
}

static void test_load_relative_path_argument(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX], cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(datadir), 0);
    tern_conf_node *root = tern_conf_load("./nested/../full.yaml", err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    if (!root)
        fail_msg("%s", err);
    /* the stored path is absolute and clean, so relative values resolve
     * against the file's folder, not the working directory */
    assert_string_equal(tern_conf_get(root, "server")->file, data("full.yaml"));
    tern_conf_free(root);
}

static void test_load_dir_merge(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX] = "", want[4096];
    tern_conf_node *root = tern_conf_load(data("dir"), err, sizeof err);
    if (!root)
        fail_msg("%s", err);
    tern_opts o;
    tern_opts_init(&o);
    if (tern_conf_apply(root, &o, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(o.name, "base");              /* only in 00 */
    assert_int_equal(o.port, 5000);                   /* 10 wins over 00; sub.yaml/ not read */
    assert_true(o.log.debug);                         /* map merged key by key */
    assert_true(o.log.trace);
    assert_true(o.log.time);                          /* 10 wins */
    snprintf(want, sizeof want, "%s/dir/base.pid", datadir);
    assert_string_equal(o.pid_file, want);
    tern_conf_node *port = tern_conf_get(tern_conf_get(root, "server"), "port");
    assert_string_equal(port->file, data("dir/10-override.yml"));
    assert_int_equal(port->line, 2);
    assert_int_equal(port->col, 9);
    tern_opts_free(&o);
    tern_conf_free(root);

    /* the same directory named with a trailing slash */
    snprintf(want, sizeof want, "%s/", data("dir"));
    root = tern_conf_load(want, err, sizeof err);
    assert_non_null(root);
    port = tern_conf_get(tern_conf_get(root, "server"), "port");
    assert_string_equal(port->file, data("dir/10-override.yml"));
    tern_conf_free(root);
}

static void test_load_empty_dir(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    tern_conf_node *root = tern_conf_load(data("empty"), err, sizeof err);
    assert_non_null(root);
    assert_int_equal(root->type, TERN_CONF_MAP);
    assert_int_equal(root->n, 0);
    tern_opts o;
    tern_opts_init(&o);
    assert_int_equal(tern_conf_apply(root, &o, err, sizeof err), 0);
    assert_int_equal(o.port, 4222);
    tern_opts_free(&o);
    tern_conf_free(root);
}

static void test_relative_paths(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX], want[4096];
    tern_conf_node *root = tern_conf_load(data("nested/deeper/paths.yaml"), err, sizeof err);
    if (!root)
        fail_msg("%s", err);
    tern_opts o;
    tern_opts_init(&o);
    assert_int_equal(tern_conf_apply(root, &o, err, sizeof err), 0);
    snprintf(want, sizeof want, "%s/nested/deeper/ternd.pid", datadir);
    assert_string_equal(o.pid_file, want);
    snprintf(want, sizeof want, "%s/nested/up.log", datadir);
    assert_string_equal(o.log.file, want);
    assert_string_equal(o.modules_dir, "/abs/modules");
    tern_opts_free(&o);
    tern_conf_free(root);
}

static void expect_load_error(const char *path, const char *want)
{
    char err[TERN_CONF_ERR_MAX] = "";
    tern_conf_node *root = tern_conf_load(path, err, sizeof err);
    if (root) {
        tern_conf_free(root);
        fail_msg("loaded %s, expected: %s", path, want);
    }
    if (strcmp(err, want) != 0)
        fail_msg("error mismatch\n got: %s\nwant: %s", err, want);
}

static void expect_load_apply_error(const char *path, const char *want)
{
    char err[TERN_CONF_ERR_MAX] = "";
    tern_conf_node *root = tern_conf_load(path, err, sizeof err);
    if (!root)
        fail_msg("load %s failed: %s", path, err);
    tern_opts o;
    tern_opts_init(&o);
    int r = tern_conf_apply(root, &o, err, sizeof err);
    tern_opts_free(&o);
    tern_conf_free(root);
    if (r == 0)
        fail_msg("applied %s, expected: %s", path, want);
    if (strcmp(err, want) != 0)
        fail_msg("error mismatch\n got: %s\nwant: %s", err, want);
}

static void test_load_errors(void **state)
{
    (void)state;
    char want[4096];
    snprintf(want, sizeof want, "%s:4:3: duplicate key 'port' (first at line 2, column 3)",
             data("bad/dup.yaml"));
    expect_load_error(data("bad/dup.yaml"), want);
    snprintf(want, sizeof want, "%s:3:8: mapping values are not allowed in this context",
             data("bad/syntax.yaml"));
    expect_load_error(data("bad/syntax.yaml"), want);
    /* any other file is nats-server's format (test_conf_nats.c) */
    tern_conf_node *nats = tern_conf_load(data("bad/server.conf"), want, sizeof want);
    assert_non_null(nats);
    assert_string_equal(tern_conf_get(tern_conf_get(nats, "server"), "port")->value, "4222");
    tern_conf_free(nats);
    snprintf(want, sizeof want, "%s: No such file or directory", data("missing.yaml"));
    expect_load_error(data("missing.yaml"), want);

    snprintf(want, sizeof want, "%s:3:1: unknown key 'accountz'", data("bad/unknown.yaml"));
    expect_load_apply_error(data("bad/unknown.yaml"), want);
    /* in a directory, the error names the file that has the problem */
    snprintf(want, sizeof want, "%s:2:3: unknown key 'prot' in server", data("baddir/10-bad.yaml"));
    expect_load_apply_error(data("baddir"), want);
}

/* ---- the server section ----------------------------------------------- */

static void test_apply_defaults(void **state)
{
    (void)state;
    tern_opts o;
    expect_apply_ok("", &o);
    assert_null(o.name);
    assert_string_equal(o.host, "0.0.0.0");
    assert_int_equal(o.port, 4222);
    assert_int_equal(o.workers, 0);
    assert_int_equal(o.max_payload, 1048576);
    assert_int_equal(o.max_control_line, 4096);
    assert_int_equal(o.max_connections, 65536);
    assert_int_equal(o.max_pending, 64LL << 20);
    assert_int_equal(o.ping_interval_ms, 120000);
    assert_int_equal(o.ping_max, 2);
    assert_int_equal(o.write_deadline_ms, 10000);
    assert_int_equal(o.auth_timeout_ms, 2000);
    assert_int_equal(o.lame_duck_duration_ms, 120000);
    assert_int_equal(o.lame_duck_grace_ms, 10000);
    assert_false(o.disable_short_first_ping);
    assert_false(o.no_header_support);
    assert_null(o.log.file);
    assert_false(o.log.debug);
    assert_false(o.log.trace);
    assert_true(o.log.time);
    assert_null(o.pid_file);
    assert_null(o.ports_file_dir);
    assert_null(o.modules_dir);
    tern_opts_free(&o);

    /* null server section, null values and zeros mean the defaults, as nats-server */
    expect_apply_ok("server:\n", &o);
    assert_int_equal(o.port, 4222);
    tern_opts_free(&o);
    expect_apply_ok("server:\n  port: 0\n  max_payload: 0\n  max_pending: 0\n  max_control_line: 0\n"
                    "  max_connections: 0\n  ping_interval: 0\n  ping_max: 0\n  write_deadline: '0s'\n"
                    "  auth_timeout: 0\n  lame_duck_grace_period: 0\n  name: ~\n  host: ''\n"
                    "  log: {file: '', time: ~}\n  pid_file:\n  tls: ~\n", &o);
    assert_int_equal(o.port, 4222);
    assert_int_equal(o.max_payload, 1048576);
    assert_int_equal(o.max_pending, 64LL << 20);
    assert_int_equal(o.max_control_line, 4096);
    assert_int_equal(o.max_connections, 65536);
    assert_int_equal(o.ping_interval_ms, 120000);
    assert_int_equal(o.ping_max, 2);
    assert_int_equal(o.write_deadline_ms, 10000);
    assert_int_equal(o.auth_timeout_ms, 2000);
    assert_int_equal(o.lame_duck_grace_ms, 10000);
    assert_null(o.name);
    assert_string_equal(o.host, "0.0.0.0");
    assert_null(o.log.file);
    assert_true(o.log.time);
    assert_null(o.pid_file);
    tern_opts_free(&o);
}

static void listen_is(const char *text, const char *host, int port)
{
    tern_opts o;
    expect_apply_ok(text, &o);
    if (strcmp(o.host, host) != 0 || o.port != port)
        fail_msg("%s: got %s port %d, want %s port %d", text, o.host, o.port, host, port);
    tern_opts_free(&o);
}

static void test_apply_listen(void **state)
{
    (void)state;
    listen_is("server: {listen: 127.0.0.1:4333}", "127.0.0.1", 4333);
    listen_is("server: {listen: 'localhost'}", "localhost", 4222);
    listen_is("server: {listen: ':5222'}", "0.0.0.0", 5222);
    listen_is("server: {listen: '[::1]:6222'}", "::1", 6222);
    listen_is("server: {listen: '[::1]'}", "::1", 4222);
    listen_is("server: {listen: '::'}", "::", 4222);
    listen_is("server: {listen: 7222}", "0.0.0.0", 7222);
    listen_is("server: {listen: 'h:-1'}", "h", -1);
    listen_is("server: {listen: -1}", "0.0.0.0", -1);
    /* host and port override the parts of listen, whatever the order */
    listen_is("server: {port: 9000, listen: 'a:1', host: b}", "b", 9000);
    listen_is("server: {host: c, listen: ':2'}", "c", 2);

    expect_apply_error("server:\n  listen: 'a:b'\n",
                       "/etc/tern/t.yaml:2:11: could not parse port \"b\"");
    expect_apply_error("server:\n  listen: 'a:'\n",
                       "/etc/tern/t.yaml:2:11: could not parse port \"\"");
    expect_apply_error("server:\n  listen: '[::1'\n",
                       "/etc/tern/t.yaml:2:11: could not parse address string \"[::1\"");
    expect_apply_error("server:\n  listen: '[::1]x'\n",
                       "/etc/tern/t.yaml:2:11: could not parse address string \"[::1]x\"");
    expect_apply_error("server:\n  listen: 'h:70000'\n",
                       "/etc/tern/t.yaml:2:11: invalid port 70000: must be between 0 and 65535, or -1 for a random port");
    expect_apply_error("server:\n  listen: [1]\n",
                       "/etc/tern/t.yaml:2:11: expected port or host:port, got a list");
}

static void test_apply_errors(void **state)
{
    (void)state;
    expect_apply_error("server: {}\naccountz: {}\n", "/etc/tern/t.yaml:2:1: unknown key 'accountz'");
    /* modules: the loader's keys are checked here (module.c) */
    expect_apply_error("modules:\n  monitor: [1]\n",
                       "/etc/tern/t.yaml:2:12: module monitor: expected a mapping of options");
    expect_apply_error("server:\n  port: 1\n  max_paylod: 1MB\n",
                       "/etc/tern/t.yaml:3:3: unknown key 'max_paylod' in server");
    expect_apply_error("server:\n  Port: 1\n", "/etc/tern/t.yaml:2:3: unknown key 'Port' in server");
    expect_apply_error("server: 4222\n", "/etc/tern/t.yaml:1:9: server must be a mapping");
    expect_apply_error("server:\n  tls: { cert: c.pem, key: k.pem }\n",
                       "/etc/tern/t.yaml:2:8: error parsing X509 certificate/key pair: "
                       "open /etc/tern/c.pem: no such file or directory");
    expect_apply_error("server:\n  port: 70000\n",
                       "/etc/tern/t.yaml:2:9: invalid port 70000: must be between 0 and 65535, or -1 for a random port");
    expect_apply_error("server:\n  port: -2\n",
                       "/etc/tern/t.yaml:2:9: invalid port -2: must be between 0 and 65535, or -1 for a random port");
    expect_apply_error("server:\n  port: '4222'\n",
                       "/etc/tern/t.yaml:2:9: error parsing port: expected an integer, got the string '4222'");
    expect_apply_error("server:\n  workers: -1\n", "/etc/tern/t.yaml:2:12: workers value can not be negative");
    expect_apply_error("server:\n  workers: 5000\n", "/etc/tern/t.yaml:2:12: workers value is too big (at most 1024)");
    expect_apply_error("server:\n  max_payload: -1\n", "/etc/tern/t.yaml:2:16: max_payload value can not be negative");
    expect_apply_error("server:\n  max_payload: 3GB\n", "/etc/tern/t.yaml:2:16: max_payload value is too big");
    expect_apply_error("server:\n  max_control_line: 3G\n",
                       "/etc/tern/t.yaml:2:21: max_control_line value is too big");
    expect_apply_error("server:\n  max_pending: -5\n", "/etc/tern/t.yaml:2:16: max_pending value can not be negative");
    expect_apply_error("server:\n  max_connections: -1\n",
                       "/etc/tern/t.yaml:2:20: max_connections value can not be negative");
    expect_apply_error("server:\n  ping_max: -1\n", "/etc/tern/t.yaml:2:13: ping_max value can not be negative");
    expect_apply_error("server:\n  max_payload: 1 MB\n",
                       "/etc/tern/t.yaml:2:16: error parsing max_payload: invalid size '1 MB': expected an "
                       "integer with an optional suffix K, M, G, T (1000-based) or KB, MB, GB, TB (1024-based)");
    expect_apply_error("server:\n  ping_interval: 1x\n",
                       "/etc/tern/t.yaml:2:18: error parsing ping_interval: time: unknown unit \"x\" in duration \"1x\"");
    expect_apply_error("server:\n  write_deadline: -1s\n",
                       "/etc/tern/t.yaml:2:19: write_deadline value can not be negative");
    expect_apply_error("server:\n  auth_timeout: [1]\n",
                       "/etc/tern/t.yaml:2:17: error parsing auth_timeout: expected a duration, got a list");
    expect_apply_error("server:\n  lame_duck_duration: 10s\n",
                       "/etc/tern/t.yaml:2:23: invalid lame_duck_duration of 10s, minimum is 30 seconds");
    expect_apply_error("server:\n  lame_duck_duration: 0\n",
                       "/etc/tern/t.yaml:2:23: invalid lame_duck_duration of 0s, minimum is 30 seconds");
    expect_apply_error("server:\n  lame_duck_grace_period: -1s\n",
                       "/etc/tern/t.yaml:2:27: invalid lame_duck_grace_period, needs to be positive");
    expect_apply_error("server:\n  lame_duck_grace_period: 3m\n",
                       "/etc/tern/t.yaml:2:27: lame duck grace period (3m0s) should be strictly lower than "
                       "lame duck duration (2m0s)");
    expect_apply_error("server:\n  lame_duck_duration: 40s\n  lame_duck_grace_period: 40s\n",
                       "/etc/tern/t.yaml:3:27: lame duck grace period (40s) should be strictly lower than "
                       "lame duck duration (40s)");
    expect_apply_error("server:\n  lame_duck_duration: 30s\n  lame_duck_grace_period: 30500ms\n",
                       "/etc/tern/t.yaml:3:27: lame duck grace period (30.5s) should be strictly lower than "
                       "lame duck duration (30s)");
    /* nats-server's startup check, with the position of the key that set it */
    expect_apply_error("server:\n  max_payload: 100MB\n",
                       "/etc/tern/t.yaml:2:16: max_payload (104857600) cannot be higher than max_pending (67108864)");
    expect_apply_error("server:\n  max_pending: 100\n",
                       "/etc/tern/t.yaml:2:16: max_payload (1048576) cannot be higher than max_pending (100)");
    expect_apply_error("server:\n  disable_short_first_ping: 1\n",
                       "/etc/tern/t.yaml:2:29: error parsing disable_short_first_ping: expected a boolean "
                       "(true or false), got '1'");
    expect_apply_error("server:\n  no_header_support: 'yes'\n",
                       "/etc/tern/t.yaml:2:22: error parsing no_header_support: expected a boolean "
                       "(true or false), got 'yes'");
    expect_apply_error("server:\n  name: [a]\n",
                       "/etc/tern/t.yaml:2:9: error parsing name: expected a string, got a list");
    expect_apply_error("server:\n  pid_file: {a: 1}\n",
                       "/etc/tern/t.yaml:2:13: error parsing pid_file: expected a string, got a mapping");
    expect_apply_error("server:\n  log: true\n", "/etc/tern/t.yaml:2:8: server.log must be a mapping");
    expect_apply_error("server:\n  log:\n    level: debug\n",
                       "/etc/tern/t.yaml:3:5: unknown key 'level' in server.log");
    expect_apply_error("server:\n  log: {debug: 2}\n",
                       "/etc/tern/t.yaml:2:16: error parsing log.debug: expected a boolean (true or false), got '2'");
    expect_apply_error("server:\n  log: {syslog: true}\n",
                       "/etc/tern/t.yaml:2:17: syslog logging is not supported");
}

static void test_apply_values(void **state)
{
    (void)state;
    tern_opts o;
    expect_apply_ok("server:\n  port: -1\n  max_payload: 64MB\n  log: {syslog: false, trace: on}\n"
                    "  ping_interval: 30\n  write_deadline: 1500ms\n  auth_timeout: '1m'\n"
                    "  max_connections: 100\n  name: '123'\n", &o);
    assert_int_equal(o.port, -1);
    assert_int_equal(o.max_payload, 64 << 20);    /* equal to max_pending is fine */
    assert_true(o.log.trace);
    assert_false(o.log.syslog);
    assert_int_equal(o.ping_interval_ms, 30000);
    assert_int_equal(o.write_deadline_ms, 1500);
    assert_int_equal(o.auth_timeout_ms, 60000);
    assert_int_equal(o.max_connections, 100);
    assert_string_equal(o.name, "123");
    tern_opts_free(&o);

    /* applying onto opts that already hold values replaces them */
    char err[TERN_CONF_ERR_MAX];
    tern_conf_node *a = parse("server: {name: one, pid_file: /a, log: {file: /l1}}", err);
    tern_conf_node *b = parse("server: {name: two, pid_file: /b, log: {file: /l2}}", err);
    tern_opts_init(&o);
    assert_int_equal(tern_conf_apply(a, &o, err, sizeof err), 0);
    assert_int_equal(tern_conf_apply(b, &o, err, sizeof err), 0);
    assert_string_equal(o.name, "two");
    assert_string_equal(o.pid_file, "/b");
    assert_string_equal(o.log.file, "/l2");
    tern_opts_free(&o);
    tern_conf_free(a);
    tern_conf_free(b);

    /* a NULL tree is the defaults */
    tern_opts_init(&o);
    assert_int_equal(tern_conf_apply(NULL, &o, err, sizeof err), 0);
    tern_opts_free(&o);
}

static void test_opts_copy(void **state)
{
    (void)state;
    tern_opts a, b;
    tern_opts_init(&a);
    a.name = strdup("n");
    a.log.file = strdup("/l");
    a.pid_file = strdup("/p");
    a.ports_file_dir = strdup("/d");
    a.modules_dir = strdup("/m");
    a.port = 1234;
    tern_opts_copy(&b, &a);
    assert_ptr_not_equal(a.name, b.name);
    assert_ptr_not_equal(a.host, b.host);
    assert_string_equal(b.name, "n");
    assert_string_equal(b.host, "0.0.0.0");
    assert_string_equal(b.log.file, "/l");
    assert_string_equal(b.modules_dir, "/m");
    assert_int_equal(b.port, 1234);
    assert_true(b.log.time);
    tern_opts_free(&a);
    assert_null(a.name);
    assert_string_equal(b.pid_file, "/p");
    tern_opts_free(&b);
}

static void test_example_config(void **state)
{
    (void)state;
    /* the repository's example stays valid and says what the defaults are */
    char path[4096], err[TERN_CONF_ERR_MAX] = "";
    snprintf(path, sizeof path, "%s/../../../../conf.d/00-server.yaml", datadir);
    tern_conf_node *root = tern_conf_load(path, err, sizeof err);
    if (!root)
        fail_msg("%s", err);
    tern_opts o, d;
    tern_opts_init(&o);
    tern_opts_init(&d);
    if (tern_conf_apply(root, &o, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(o.host, d.host);
    assert_int_equal(o.port, d.port);
    assert_int_equal(o.max_payload, d.max_payload);
    assert_int_equal(o.max_control_line, d.max_control_line);
    assert_int_equal(o.max_connections, d.max_connections);
    assert_int_equal(o.max_pending, d.max_pending);
    assert_int_equal(o.ping_interval_ms, d.ping_interval_ms);
    assert_int_equal(o.ping_max, d.ping_max);
    assert_int_equal(o.write_deadline_ms, d.write_deadline_ms);
    assert_int_equal(o.auth_timeout_ms, d.auth_timeout_ms);
    assert_int_equal(o.lame_duck_duration_ms, d.lame_duck_duration_ms);
    assert_int_equal(o.lame_duck_grace_ms, d.lame_duck_grace_ms);
    assert_int_equal(o.log.time, d.log.time);
    tern_opts_free(&o);
    tern_opts_free(&d);
    tern_conf_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_tree_positions),
        cmocka_unit_test(test_parse_empty_documents),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_build_copy),
        cmocka_unit_test(test_typed_reads),
        cmocka_unit_test(test_load_full_file),
        cmocka_unit_test(test_load_relative_path_argument),
        cmocka_unit_test(test_load_dir_merge),
        cmocka_unit_test(test_load_empty_dir),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_apply_defaults),
        cmocka_unit_test(test_apply_listen),
        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_apply_values),
        cmocka_unit_test(test_opts_copy),
        cmocka_unit_test(test_example_config),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
