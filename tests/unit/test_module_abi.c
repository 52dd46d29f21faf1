/* The module ABI: the host API table's slot order against the golden
 * file, the server's table, version negotiation, and the loader's checks
 * (ternd -t) on real test modules (tests/modules/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_server.h"
#include "docs.h"
#include "module.h"
#include "server.h"

#define TERN_STR_(x) #x
#define TERN_STR(x) TERN_STR_(x)

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

/* Slot names of tern_host_api in the header, in order. */
static size_t header_slots(char names[][64], size_t max)
{
    char *h = slurp(TERN_SDK_INCLUDE_DIR "/tern/module.h");
    assert_non_null(h);
    char *start = strstr(h, "typedef struct tern_host_api {");
    assert_non_null(start);
    char *end = strstr(start, "} tern_host_api;");
    assert_non_null(end);
    size_t n = 0;
    for (char *p = start; (p = strstr(p, "(*")) && p < end; p += 2) {
        const char *q = p + 2;
        size_t len = strcspn(q, ")");
        assert_true(len > 0 && len < 64 && n < max);
        memcpy(names[n], q, len);
        names[n][len] = 0;
        n++;
    }
    free(h);
    return n;
}

static size_t golden_slots(char names[][64], size_t max)
{
    char *g = slurp(TERN_MODULE_API_GOLDEN);
    assert_non_null(g);
    size_t n = 0;
    for (char *line = strtok(g, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0])
            continue;
        assert_true(strlen(line) < 64 && n < max);
        strcpy(names[n++], line);
    }
    free(g);
    return n;
}

/* Reordering, renaming or removing a slot fails here; an appended slot
 * must be appended to the golden file too. */
static void test_slot_order_matches_golden(void **state)
{
    (void)state;
    static char h[128][64], g[128][64];
    size_t nh = header_slots(h, 128), ng = golden_slots(g, 128);
    assert_true(ng > 0);
    for (size_t i = 0; i < ng && i < nh; i++) {
        if (strcmp(h[i], g[i]) != 0)
            fail_msg("slot %zu is '%s' in module.h but '%s' in the golden file: slots are "
                     "append-only", i, h[i], g[i]);
    }
    if (nh < ng)
        fail_msg("module.h lost slot '%s': slots are never removed", g[nh]);
    if (nh > ng)
        fail_msg("slot '%s' was appended: add it to tests/data/module_api.golden", h[ng]);
}

/* The server fills every slot and the table is exactly the slots. */
static void test_server_table_complete(void **state)
{
    (void)state;
    static char g[128][64];
    size_t ng = golden_slots(g, 128);
    const tern_host_api *api = tern_module_host_api();
    assert_int_equal(api->size, sizeof(tern_host_api));
    assert_int_equal(api->abi_major, TERN_ABI_MAJOR);
    assert_int_equal(api->abi_minor, TERN_ABI_MINOR);
    size_t first = offsetof(tern_host_api, log);
    assert_int_equal(first + ng * sizeof(void (*)(void)), sizeof(tern_host_api));
    for (size_t i = 0; i < ng; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)api + first + i * sizeof fn, sizeof fn);
        if (!fn)
            fail_msg("slot %s is empty", g[i]);
    }
}

/* A module built against an older SDK sees a table without the newer
 * slots: TERN_API_HAS tells. */
static void test_api_has(void **state)
{
    (void)state;
    tern_host_api t = *tern_module_host_api();
    assert_true(TERN_API_HAS(&t, server_id));
    t.size = (uint32_t)offsetof(tern_host_api, server_id);
    assert_false(TERN_API_HAS(&t, server_id));
    assert_true(TERN_API_HAS(&t, nkey_verify));
    /* a 1.2 server's table ends with fd_unwatch: no interest_walk_source */
    t = *tern_module_host_api();
    assert_true(TERN_API_HAS(&t, interest_walk_source));
    t.size = (uint32_t)(offsetof(tern_host_api, fd_unwatch) + sizeof t.fd_unwatch);
    assert_false(TERN_API_HAS(&t, interest_walk_source));
    assert_true(TERN_API_HAS(&t, fd_unwatch));
    /* a table that ends with interest_walk_source: no link_group */
    t = *tern_module_host_api();
    assert_true(TERN_API_HAS(&t, link_group));
    t.size = (uint32_t)(offsetof(tern_host_api, interest_walk_source) +
                        sizeof t.interest_walk_source);
    assert_false(TERN_API_HAS(&t, link_group));
    assert_true(TERN_API_HAS(&t, interest_walk_source));
}

static void test_abi_negotiation(void **state)
{
    (void)state;
    char err[256];
    assert_true(tern_module_abi_ok(1, 0, 1, 0, "m", err, sizeof err));
    assert_true(tern_module_abi_ok(1, 0, 1, 3, "m", err, sizeof err));   /* older minor */
    assert_false(tern_module_abi_ok(1, 4, 1, 3, "m", err, sizeof err));  /* newer minor */
    assert_non_null(strstr(err, "1.4"));
    assert_non_null(strstr(err, "1.3"));
    assert_false(tern_module_abi_ok(2, 0, 1, 3, "m", err, sizeof err));  /* newer major */
    assert_non_null(strstr(err, "2.0"));
    assert_non_null(strstr(err, "1.3"));
    assert_false(tern_module_abi_ok(0, 9, 1, 3, "m", err, sizeof err));  /* older major */
    assert_non_null(strstr(err, "0.9"));
    assert_non_null(strstr(err, "1.3"));
}

static int validate_yaml(const char *yaml, char *err, size_t errlen)
{
    char perr[TERN_CONF_ERR_MAX];
    tern_conf_node *root = tern_conf_parse_yaml(yaml, strlen(yaml), "/t/20-modules.yaml", perr,
                                                sizeof perr);
    assert_non_null(root);
    int rc = tern_modules_validate(tern_conf_get(root, "modules"), TERN_TEST_MODULES_DIR, err,
                                   errlen);
    tern_conf_free(root);
    return rc;
}

static void test_loader_refuses_other_majors(void **state)
{
    (void)state;
    char err[1024];
    assert_int_equal(validate_yaml("modules:\n  abi:\n    path: " TERN_TEST_MODULES_DIR
                                   "/mod_abi_new.so\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "mod_abi_new.so"));
    assert_non_null(strstr(err, "ABI 2.0"));
    assert_non_null(strstr(err, "ABI " TERN_STR(TERN_ABI_MAJOR) "." TERN_STR(TERN_ABI_MINOR)));
    assert_int_equal(validate_yaml("modules:\n  abi:\n    path: " TERN_TEST_MODULES_DIR
                                   "/mod_abi_old.so\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "ABI 0.9"));
    assert_non_null(strstr(err, "ABI " TERN_STR(TERN_ABI_MAJOR) "." TERN_STR(TERN_ABI_MINOR)));
}

static void test_loader_validates_module_config(void **state)
{
    (void)state;
    char err[1024];
    /* Found by name in modules_dir? Its file is mod_state_v1.so, so by path. */
    assert_int_equal(validate_yaml("modules:\n  state:\n    path: " TERN_TEST_MODULES_DIR
                                   "/mod_state_v1.so\n    greeting: hi\n", err, sizeof err), 0);
    /* A null value loads it too. */
    assert_int_equal(validate_yaml("modules:\n  x:\n    path: " TERN_TEST_MODULES_DIR
                                   "/mod_state_v1.so\n", err, sizeof err), 0);
    /* The module's own check: file:line:column of the unknown key. */
    assert_int_equal(validate_yaml("modules:\n  state:\n    path: " TERN_TEST_MODULES_DIR
                                   "/mod_state_v1.so\n    greting: hi\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "/t/20-modules.yaml:4:5"));
    assert_non_null(strstr(err, "unknown key 'greting'"));
    /* Loader keys: enabled must be a boolean. */
    assert_int_equal(validate_yaml("modules:\n  state:\n    enabled: maybe\n", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "/t/20-modules.yaml:3:"));
    /* enabled: false skips even a module that does not exist. */
    assert_int_equal(validate_yaml("modules:\n  nosuch:\n    enabled: false\n", err, sizeof err),
                     0);
}

static void test_loader_errors_name_the_file(void **state)
{
    (void)state;
    char err[1024];
    assert_int_equal(validate_yaml("modules:\n  nosuch:\n", err, sizeof err), -1);
    assert_non_null(strstr(err, "nosuch.so not found in " TERN_TEST_MODULES_DIR));
    /* Not a shared object. */
    char path[] = "/tmp/tern-notelf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello", 5), 5);
    close(fd);
    char yaml[256];
    snprintf(yaml, sizeof yaml, "modules:\n  junk:\n    path: %s\n", path);
    assert_int_equal(validate_yaml(yaml, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "not a shared object"));
    unlink(path);
    /* The descriptor's name must match the key when found by name. */
    snprintf(yaml, sizeof yaml, "server: {}\nmodules:\n  mod_vote:\n");
    assert_int_equal(validate_yaml(yaml, err, sizeof err), -1);
    assert_non_null(strstr(err, "calls itself 'vote'"));
}

/* An info provider answers routez through tern_docs_get; documents no
 * module provides keep the kernel's answer. In-process server. */
static tern_server srv;
static uv_thread_t srv_thread;

static void run_server(void *arg)
{
    (void)arg;
    tern_server_run(&srv);
}

static void test_info_provider(void **state)
{
    (void)state;
    const char yaml[] = "modules:\n  state:\n    path: " TERN_TEST_MODULES_DIR
                        "/mod_state_v1.so\n";
    char err[TERN_CONF_ERR_MAX];
    tern_conf_node *root = tern_conf_parse_yaml(yaml, strlen(yaml), "t.yaml", err, sizeof err);
    assert_non_null(root);
    tern_opts o;
    tern_opts_init(&o);
    free(o.host);
    o.host = strdup("127.0.0.1");
    o.port = -1;
    o.workers = 2;
    assert_int_equal(tern_conf_apply(root, &o, err, sizeof err), 0);
    tern_conf_free(root);
    assert_int_equal(tern_server_init(&srv, &o, 0, NULL), 0);
    tern_opts_free(&o);
    assert_int_equal(uv_thread_create(&srv_thread, run_server, NULL), 0);

    int status = 0;
    json_t *doc = tern_docs_get(&srv, "routez", NULL, NULL, NULL, &status, err, sizeof err);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "module")), "state");
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
    json_decref(doc);
    doc = tern_docs_get(&srv, "leafz", NULL, NULL, NULL, &status, err, sizeof err);
    assert_non_null(doc);
    assert_null(json_object_get(doc, "module"));
    json_decref(doc);

    kill(getpid(), SIGINT);   /* the server's own shutdown path: modules' fini */
    uv_thread_join(&srv_thread);
    tern_server_free(&srv);
    assert_null(tern_module_info("routez"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_order_matches_golden),
        cmocka_unit_test(test_server_table_complete),
        cmocka_unit_test(test_api_has),
        cmocka_unit_test(test_abi_negotiation),
        cmocka_unit_test(test_loader_refuses_other_majors),
        cmocka_unit_test(test_loader_validates_module_config),
        cmocka_unit_test(test_loader_errors_name_the_file),
        cmocka_unit_test(test_info_provider),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
