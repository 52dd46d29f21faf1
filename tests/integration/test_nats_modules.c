/* nats-server keys that modules map (issue 7, module.h 1.1 nats_keys /
 * nats_map): `ternd -c file.conf` with a key of the kernel's key →
 * module table finds that module as the loader does (--modules_dir
 * first), has it map the value, and loads it with the result under
 * modules.<name>; -t checks the same; the value's errors carry its
 * file:line:column; a key the module does not claim, or whose module is
 * missing, is unsupported naming the module (an error, a warning with
 * --ignore-unsupported); a reload maps the file again. The test module
 * tests/modules/mod_natsmap.c is built as "leafnode". ternd only. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MAPDIR TERN_TEST_MODULES_DIR "/natsmap"

static char dir[64];
static const char *bin;

static void write_file(const char *path, const char *text)
{
    IT_CHECK(it_write_file(path, text), "write %s", path);
}

/* Run ternd with args (NULL-terminated) to completion; its output in
 * *out (caller frees). Returns the exit code, or -1. */
static int run(char **out, const char *const *args)
{
    char path[128];
    snprintf(path, sizeof path, "%s/out", dir);
    const char *argv[16] = { bin };
    for (int i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    int st = it_pid_wait(it_spawn((char *const *)argv, path), 60000);
    *out = it_read_file(path, NULL);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_run(const char *what, int want_code, const char *want_text,
                      const char *const *args)
{
    char *out = NULL;
    int code = run(&out, args);
    IT_CHECK(code == want_code && out && strstr(out, want_text),
             "%s: exit %d with '%s' (got %d: %s)", what, want_code, want_text, code,
             out ? out : "");
    free(out);
}

static void test_check_mode(void)
{
    char conf[128];
    snprintf(conf, sizeof conf, "%s/t.conf", dir);

    write_file(conf, "leafnodes {\n  port: 7422\n}\n");
    check_run("a claimed key, its module found", 0, "is valid",
              (const char *[]){ "-t", "-c", conf, "--modules_dir", MAPDIR, NULL });

    write_file(conf, "port: 4222\nleafnodes {\n  port: \"abc\"\n}\n");
    char want[1024];
    snprintf(want, sizeof want, "%s:3:9: leafnodes.port must be an integer", conf);
    check_run("a value the module refuses", 1, want,
              (const char *[]){ "-t", "-c", conf, "--modules_dir", MAPDIR, NULL });
    check_run("a value the module refuses, --ignore-unsupported", 1, want,
              (const char *[]){ "-t", "-c", conf, "--modules_dir", MAPDIR,
                                "--ignore-unsupported", NULL });

    write_file(conf, "leaf {\n  port: 7422\n}\n");
    snprintf(want, sizeof want,
             "%s:1:1: 'leaf' is not supported: module leafnode (" MAPDIR
             "/leafnode.so) does not map it", conf);
    check_run("a key the module does not claim", 1, want,
              (const char *[]){ "-t", "-c", conf, "--modules_dir", MAPDIR, NULL });

    /* No --modules_dir: the module is nowhere on the search path. The
     * build tree ships a real leafnode.so next to ternd, so these runs
     * use a copy of ternd in the temp dir (no modules/ beside it). */
    write_file(conf, "leafnodes {\n  port: 7422\n}\n");
    const char *real_bin = bin;
    char lone[160];
    snprintf(lone, sizeof lone, "%s/ternd", dir);
    IT_CHECK(it_install_file(real_bin, lone) && chmod(lone, 0755) == 0, "a lone copy of ternd");
    bin = lone;
    snprintf(want, sizeof want,
             "%s:1:1: 'leafnodes' is not supported: the leafnode module is needed: module "
             "leafnode: leafnode.so not found in", conf);
    check_run("the module missing", 1, want, (const char *[]){ "-t", "-c", conf, NULL });
    check_run("the module missing, --ignore-unsupported", 0, "is valid",
              (const char *[]){ "-t", "-c", conf, "--ignore-unsupported", NULL });
    check_run("the module missing, --ignore-unsupported warns", 0,
              "(ignored: --ignore-unsupported)",
              (const char *[]){ "-t", "-c", conf, "--ignore-unsupported", NULL });
    bin = real_bin;
    unlink(lone);
}

static bool answer_is(natsConnection *nc, const char *want)
{
    char *got = it_request(nc, "natsmap.conf", NULL, 3000);
    bool ok = got && !strcmp(got, want);
    IT_CHECK(ok, "natsmap.conf answers '%s' (got '%s')", want, got ? got : "(nothing)");
    free(got);
    return ok;
}

static void test_running(void)
{
    char conf[128], log[128], ports[160], text[512];
    snprintf(conf, sizeof conf, "%s/server.conf", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    const char *fmt = "port: -1\nports_file_dir: \"%s\"\nlog_file: \"%s\"\n"
                      "leafnodes {\n  port: %d\n  remotes: [ { url: \"nats://a:1\" }, "
                      "{ url: \"nats://b:2\" } ]\n}\n";
    snprintf(text, sizeof text, fmt, dir, log, 7422);
    write_file(conf, text);
    char out[128];
    snprintf(out, sizeof out, "%s/server.out", dir);
    char *argv[] = { (char *)bin, "-c", conf, "--modules_dir", MAPDIR, NULL };
    pid_t pid = it_spawn(argv, out);
    snprintf(ports, sizeof ports, "%s/ternd_%d.ports", dir, (int)pid);
    if (!IT_CHECK(it_wait_file_contains(ports, "nats://", 10000),
                  "ternd -c server.conf starts with the mapped module"))
        goto out;
    char *p = it_read_file(ports, NULL), *colon = p ? strrchr(p, ':') : NULL;
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", colon ? atoi(colon + 1) : 0);
    free(p);
    natsConnection *nc = NULL;
    natsConnection_ConnectTo(&nc, url);
    if (!IT_CHECK(nc != NULL, "a client connects"))
        goto out;
    IT_CHECK(it_await_file_count(log, "Module leafnode 1.0 loaded from " MAPDIR "/leafnode.so", 1, 10000),
             "the module is loaded from --modules_dir");
    answer_is(nc, "port=7422 remotes=2");

    /* A reload maps the file again: the module gets the new value. */
    snprintf(text, sizeof text, fmt, dir, log, 7423);
    write_file(conf, text);
    kill(pid, SIGHUP);
    IT_CHECK(it_await_file_count(log, "Reloaded server configuration", 1, 10000), "the server reloads");
    answer_is(nc, "port=7423 remotes=2");
    natsConnection_Destroy(nc);
out:
    int st = it_pid_stop(pid);
    /* 1 after SIGTERM, as nats-server; a sanitizer report is another. */
    char *output = it_read_file(out, NULL);
    IT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1 && output && !strstr(output, "Sanitizer"),
             "ternd exits cleanly after SIGTERM (status 0x%x)", st);
    free(output);
    unlink(conf);
    unlink(log);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    bin = getenv("TERN_TERND");
    snprintf(dir, sizeof dir, "/tmp/tern-natsmod-XXXXXX");
    if (!IT_CHECK(bin && mkdtemp(dir), "TERN_TERND is set, temp dir"))
        return it_summary();
    test_check_mode();
    test_running();
    IT_CHECK(it_remove_tree(dir), "clean up");
    return it_summary();
}
