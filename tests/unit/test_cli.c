/* Command-line flags (Go flag semantics, every nats-server 2.9 alias,
 * refused flags), the overlay merged over files, and --signal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "conf_server.h"
#include "opts.h"

#define MAXARGS 16

/* Parse a NULL-terminated list of arguments (argv[0] added). */
static int parse_list(tern_cli *cli, char *err, const char *const *args)
{
    char *argv[MAXARGS + 2];
    int argc = 0;
    argv[argc++] = "ternd";
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    return tern_cli_parse(argc, argv, cli, err, TERN_CONF_ERR_MAX);
}

#define PARSE(cli, err, ...) parse_list((cli), (err), (const char *const[]){ __VA_ARGS__, NULL })

/* overlay value at server.<key> or server.log.<key> ("log.debug") */
static const tern_conf_node *ov(const tern_cli *cli, const char *path)
{
    const tern_conf_node *n = tern_conf_get(cli->overlay, "server");
    char buf[64];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
        n = tern_conf_get(n, tok);
    return n;
}

static void check_overlay(const char *const *args, const char *path, const char *want)
{
    tern_cli cli;
    char err[TERN_CONF_ERR_MAX] = "";
    if (parse_list(&cli, err, args) != 0)
        fail_msg("%s: %s", args[0], err);
    const tern_conf_node *n = ov(&cli, path);
    if (!n)
        fail_msg("%s: no server.%s in the overlay", args[0], path);
    if (strcmp(n->value, want) != 0)
        fail_msg("%s: server.%s = %s, want %s", args[0], path, n->value, want);
    assert_string_equal(n->file, "<flags>");
    tern_cli_free(&cli);
}

#define EXPECT(path, want, ...) check_overlay((const char *const[]){ __VA_ARGS__, NULL }, (path), (want))

static void check_error(const char *const *args, const char *want)
{
    tern_cli cli;
    char err[TERN_CONF_ERR_MAX] = "";
    if (parse_list(&cli, err, args) == 0) {
        tern_cli_free(&cli);
        fail_msg("%s: accepted, expected: %s", args[0], want);
    }
    if (strcmp(err, want) != 0)
        fail_msg("%s: error mismatch\n got: %s\nwant: %s", args[0], err, want);
    /* after an error nothing is left to free */
    assert_null(cli.overlay);
    assert_null(cli.config);
}

#define EXPECT_ERR(want, ...) check_error((const char *const[]){ __VA_ARGS__, NULL }, (want))

static void test_no_args(void **state)
{
    (void)state;
    tern_cli cli;
    char err[TERN_CONF_ERR_MAX];
    char *argv[] = { "ternd", NULL };
    assert_int_equal(tern_cli_parse(1, argv, &cli, err, sizeof err), 0);
    assert_null(cli.config);
    assert_null(cli.signal);
    assert_false(cli.check || cli.help || cli.version);
    assert_non_null(cli.overlay);
    assert_int_equal(cli.overlay->type, TERN_CONF_MAP);
    assert_int_equal(cli.overlay->n, 0);
    tern_cli_free(&cli);
}

static void test_aliases(void **state)
{
    (void)state;
    const char *host[] = { "-a", "--a", "-addr", "--addr", "-net", "--net" };
    for (size_t i = 0; i < 6; i++)
        EXPECT("host", "127.0.0.2", host[i], "127.0.0.2");
    const char *port[] = { "-p", "--p", "-port", "--port" };
    for (size_t i = 0; i < 4; i++)
        EXPECT("port", "4333", port[i], "4333");
    const char *name[] = { "-n", "--n", "-name", "--name", "-server_name", "--server_name" };
    for (size_t i = 0; i < 6; i++)
        EXPECT("name", "east", name[i], "east");
    const char *pid[] = { "-P", "--P", "-pid", "--pid" };
    for (size_t i = 0; i < 4; i++)
        EXPECT("pid_file", "/run/t.pid", pid[i], "/run/t.pid");
    const char *log[] = { "-l", "--l", "-log", "--log", "--log_file" };
    for (size_t i = 0; i < 5; i++)
        EXPECT("log.file", "/var/log/t.log", log[i], "/var/log/t.log");
    const char *debug[] = { "-D", "--D", "-debug", "--debug" };
    for (size_t i = 0; i < 4; i++)
        EXPECT("log.debug", "true", debug[i]);
    const char *trace[] = { "-V", "--V", "-trace", "--trace", "-VV", "--VV" };
    for (size_t i = 0; i < 6; i++)
        EXPECT("log.trace", "true", trace[i]);
    const char *dv[] = { "-DV", "--DV", "-DVV", "--DVV" };
    for (size_t i = 0; i < 4; i++) {
        EXPECT("log.debug", "true", dv[i]);
        EXPECT("log.trace", "true", dv[i]);
    }
    const char *logtime[] = { "-T", "--T", "-logtime", "--logtime" };
    for (size_t i = 0; i < 4; i++) {
        EXPECT("log.time", "true", logtime[i]);
        char f[32];
        snprintf(f, sizeof f, "%s=false", logtime[i]);
        EXPECT("log.time", "false", f);
    }
    EXPECT("ports_file_dir", "/tmp/p", "--ports_file_dir", "/tmp/p");
    EXPECT("ports_file_dir", "/tmp/p", "-ports_file_dir=/tmp/p");
    EXPECT("workers", "4", "--workers", "4");
    EXPECT("workers", "4", "-workers=4");
    EXPECT("modules_dir", "/m", "--modules_dir", "/m");

    tern_cli cli;
    char err[TERN_CONF_ERR_MAX];
    const char *config[] = { "-c", "--c", "-config", "--config" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(PARSE(&cli, err, config[i], "conf.d"), 0);
        assert_string_equal(cli.config, "conf.d");
        tern_cli_free(&cli);
    }
    const char *sig[] = { "-sl", "--sl", "-signal", "--signal" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(PARSE(&cli, err, sig[i], "reload=12"), 0);
        assert_string_equal(cli.signal, "reload=12");
        tern_cli_free(&cli);
    }
    const char *ver[] = { "-v", "--v", "-version", "--version" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(PARSE(&cli, err, ver[i]), 0);
        assert_true(cli.version);
        tern_cli_free(&cli);
    }
    const char *help[] = { "-h", "--h", "-help", "--help" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(PARSE(&cli, err, help[i]), 0);
        assert_true(cli.help);
        tern_cli_free(&cli);
    }
    assert_int_equal(PARSE(&cli, err, "-t", "-c", "x.yaml"), 0);
    assert_true(cli.check);
    tern_cli_free(&cli);
    assert_int_equal(PARSE(&cli, err, "--t", "--config=x.yaml"), 0);
    assert_true(cli.check);
    assert_string_equal(cli.config, "x.yaml");
    tern_cli_free(&cli);
}

static void test_value_forms(void **state)
{
    (void)state;
    EXPECT("port", "5000", "-p=5000");
    EXPECT("port", "5000", "--port=5000");
    EXPECT("port", "5000", "--port", "5000");
    EXPECT("port", "-1", "-p", "-1");              /* random port */
    EXPECT("port", "16", "-p", "0x10");            /* Go's ParseInt base 0 */
    EXPECT("port", "8", "-p", "010");
    EXPECT("port", "5", "-p", "0b101");
    EXPECT("port", "1000", "-p", "0x3_e8");
    EXPECT("port", "1000", "-p", "1_000");         /* Go literal syntax */
    EXPECT("port", "1001", "-p", "0b1111101001");
    EXPECT("host", "a=b", "-a=a=b");              /* split at the first '=' only */
    EXPECT("host", "", "-a=");
    /* a string flag takes the next argument even when it looks like a flag */
    EXPECT("log.file", "-D", "-l", "-D");
    /* the last of repeated flags wins */
    EXPECT("port", "2", "-p", "1", "--port", "2");
    EXPECT("log.debug", "false", "-D", "-D=false");
    EXPECT("log.debug", "false", "-DV", "-D=0");
    EXPECT("log.trace", "true", "-DV", "-D=0");
    EXPECT("log.debug", "true", "-D=t");
    EXPECT("log.debug", "true", "-D=TRUE");
    EXPECT("log.debug", "false", "-DV=false");
    EXPECT("log.trace", "false", "-DV=F");
    /* a name that reads as a YAML boolean stays a string */
    tern_cli cli;
    char err[TERN_CONF_ERR_MAX];
    assert_int_equal(PARSE(&cli, err, "-n", "true"), 0);
    assert_true(ov(&cli, "name")->quoted);
    assert_false(ov(&cli, "port") != NULL);
    tern_cli_free(&cli);
    /* the overlay node remembers the flag's argv index */
    assert_int_equal(PARSE(&cli, err, "-D", "-p", "7"), 0);
    assert_int_equal(ov(&cli, "port")->line, 2);
    assert_int_equal(ov(&cli, "log.debug")->line, 1);
    tern_cli_free(&cli);
    /* "--" ends the flags */
    assert_int_equal(PARSE(&cli, err, "-p", "1", "--"), 0);
    tern_cli_free(&cli);
    /* nats-server's commands */
    assert_int_equal(PARSE(&cli, err, "version"), 0);
    assert_true(cli.version);
    tern_cli_free(&cli);
    assert_int_equal(PARSE(&cli, err, "-p", "1", "HELP"), 0);
    assert_true(cli.help);
    tern_cli_free(&cli);
}

static void test_go_flag_errors(void **state)
{
    (void)state;
    EXPECT_ERR("flag provided but not defined: -x", "-x");
    EXPECT_ERR("flag provided but not defined: -max_payload", "--max_payload", "1MB");
    EXPECT_ERR("flag provided but not defined: -por", "--por=1");      /* no abbreviations */
    EXPECT_ERR("flag provided but not defined: -d", "-d");             /* case matters */
    EXPECT_ERR("bad flag syntax: ---p", "---p", "1");
    EXPECT_ERR("bad flag syntax: -=x", "-=x");
    EXPECT_ERR("flag needs an argument: -p", "-p");
    EXPECT_ERR("flag needs an argument: -log", "--log");
    EXPECT_ERR("invalid value \"abc\" for flag -p: parse error", "-p", "abc");
    EXPECT_ERR("invalid value \"\" for flag -port: parse error", "--port=");
    EXPECT_ERR("invalid value \"1__000\" for flag -p: parse error", "-p", "1__000");
    EXPECT_ERR("invalid value \"_1\" for flag -p: parse error", "-p", "_1");
    EXPECT_ERR("invalid value \"1_\" for flag -p: parse error", "-p", "1_");
    EXPECT_ERR("invalid value \"09\" for flag -p: parse error", "-p", "09");
    EXPECT_ERR("invalid value \"99999999999999999999\" for flag -p: value out of range",
               "-p", "99999999999999999999");
    EXPECT_ERR("invalid value \"70000\" for flag -p: port must be between 0 and 65535, or -1 for a random port",
               "-p", "70000");
    EXPECT_ERR("invalid value \"-3\" for flag -workers: can not be negative", "--workers", "-3");
    EXPECT_ERR("invalid boolean value \"maybe\" for -D: parse error", "-D=maybe");
    EXPECT_ERR("invalid boolean value \"yes\" for -T: parse error", "-T=yes");
    /* a boolean flag never takes the next argument */
    EXPECT_ERR("unrecognized command: \"false\"", "-D", "false");
    EXPECT_ERR("unrecognized command: \"foo\"", "foo");
    EXPECT_ERR("unrecognized command: \"foo\"", "-p", "1", "foo", "-D");
    EXPECT_ERR("unrecognized command: \"foo\"", "--", "foo");
    EXPECT_ERR("unrecognized command: \"-\"", "-");
    EXPECT_ERR("must specify [-c, --config] option to check configuration file syntax", "-t");
}

/* -m/-ms set the monitor module's listeners (modules.monitor) */
static void check_monitor(const char *const *args, const char *path, const char *want)
{
    tern_cli cli;
    char err[TERN_CONF_ERR_MAX] = "";
    if (parse_list(&cli, err, args) != 0)
        fail_msg("%s: %s", args[0], err);
    const tern_conf_node *n = tern_conf_get(tern_conf_get(cli.overlay, "modules"), "monitor");
    char buf[64];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
        n = tern_conf_get(n, tok);
    if (!n || !n->value || strcmp(n->value, want) != 0)
        fail_msg("%s: modules.monitor.%s = %s, want %s", args[0], path, n && n->value ? n->value : "(none)", want);
    tern_cli_free(&cli);
}
#define EXPECT_MON(path, want, ...) check_monitor((const char *const[]){ __VA_ARGS__, NULL }, (path), (want))

static void test_monitor_flags(void **state)
{
    (void)state;
    EXPECT_MON("listen", "8222", "-m", "8222");
    EXPECT_MON("listen", "-1", "--http_port=-1");
    EXPECT_MON("https_listen", "8223", "-ms", "8223");
    EXPECT_MON("https_listen", "8223", "--https_port", "8223");
    EXPECT_MON("tls.cert", "c.pem", "-ms", "1", "--tlscert", "c.pem", "--tlskey", "k.pem");
    EXPECT_MON("tls.key", "k.pem", "--tlskey", "k.pem", "-ms", "1");
    EXPECT_ERR("invalid value \"70000\" for flag -m: port must be between 0 and 65535, or -1 for a random port",
               "-m", "70000");
}

static void test_refused_flags(void **state)
{
    (void)state;
    /* --user/--pass/--auth are accepted (test_auth.c); only these mixes fail */
    EXPECT_ERR("--pass: needs --user", "-pass", "p");
    EXPECT_ERR("--user/--pass and --auth cannot be used together", "--user", "u", "--auth=t");
    EXPECT_ERR("-js: JetStream is not supported by Tern", "-js");
    EXPECT_ERR("--jetstream: JetStream is not supported by Tern", "--jetstream=true");
    EXPECT_ERR("-sd: JetStream is not supported by Tern", "-sd", "/tmp");
    EXPECT_ERR("--store_dir: JetStream is not supported by Tern", "--store_dir");
    EXPECT_ERR("-s: syslog logging is not supported", "-s");
    EXPECT_ERR("--syslog: syslog logging is not supported", "--syslog");
    EXPECT_ERR("-r: remote syslog logging is not supported", "-r", "udp://localhost:514");
    EXPECT_ERR("--remote_syslog: remote syslog logging is not supported", "--remote_syslog", "x");
    EXPECT_ERR("--help_tls: the TLS cipher list help is not available; see docs/tls.md", "--help_tls");
    EXPECT_ERR("--profile: the Go profiling port does not exist in Tern", "--profile", "6060");
    EXPECT_ERR("--log_size_limit: log size limits are not supported; rotate with logrotate and --signal reopen",
               "--log_size_limit", "1000");
    EXPECT_ERR("--max_traced_msg_len: limiting traced message length is not supported yet",
               "--max_traced_msg_len", "10");
    /* turning off what Tern lacks anyway is accepted */
    tern_cli cli;
    char err[TERN_CONF_ERR_MAX];
    assert_int_equal(PARSE(&cli, err, "-js=false", "--tls=false", "-s=0", "--no_advertise=false"), 0);
    tern_cli_free(&cli);
}

/* modules.cluster.<path> in the overlay ("authorization.user", "routes.1") */
static const tern_conf_node *cluster_ov(const tern_cli *cli, const char *path)
{
    const tern_conf_node *n = tern_conf_get(tern_conf_get(cli->overlay, "modules"), "cluster");
    char buf[64];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
        n = n && n->type == TERN_CONF_LIST ? (size_t)atoi(tok) < n->n ? n->items[atoi(tok)] : NULL
                                           : tern_conf_get(n, tok);
    return n;
}

static void expect_cluster(const char *const *args, const char *path, const char *want)
{
    tern_cli cli;
    char err[TERN_CONF_ERR_MAX] = "";
    if (parse_list(&cli, err, args) != 0)
        fail_msg("%s: %s", args[0], err);
    const tern_conf_node *n = cluster_ov(&cli, path);
    if (!want) {
        if (n && n->type != TERN_CONF_NULL)
            fail_msg("%s: modules.cluster.%s is set", args[0], path);
    } else if (!n || n->type != TERN_CONF_SCALAR || strcmp(n->value, want)) {
        fail_msg("%s: modules.cluster.%s = %s, want %s", args[0], path, n && n->value ? n->value : "-",
                 want);
    }
    tern_cli_free(&cli);
}

#define EXPECT_CL(path, want, ...) expect_cluster((const char *const[]){ __VA_ARGS__, NULL }, (path), (want))

/* nats-server's cluster flags load the cluster module (modules.cluster). */
static void test_cluster_flags(void **state)
{
    (void)state;
    EXPECT_CL("listen", "127.0.0.1:6222", "--cluster", "nats://127.0.0.1:6222");
    EXPECT_CL("listen", "127.0.0.1:6222", "-cluster_listen=nats://127.0.0.1:6222");
    EXPECT_CL("listen", "0.0.0.0:0", "--cluster", "nats://0.0.0.0:-1");
    EXPECT_CL("authorization.user", "ru", "--cluster", "nats://ru:rp@127.0.0.1:6222");
    EXPECT_CL("authorization.password", "rp", "--cluster", "nats://ru:rp@127.0.0.1:6222");
    EXPECT_CL("authorization.user", NULL, "--cluster", "nats://127.0.0.1:6222");
    EXPECT_ERR("--cluster nats://ru@h:1: expected cluster password to be set", "--cluster", "nats://ru@h:1");
    EXPECT_ERR("--cluster nats://h: expected host:port", "--cluster", "nats://h");
    EXPECT_CL("routes.0", "nats://a:1", "--routes", "nats://a:1, nats://b:2");
    EXPECT_CL("routes.1", "nats://b:2", "--routes", "nats://a:1, nats://b:2");
    EXPECT_CL("routes.2", NULL, "--routes", "nats://a:1, nats://b:2");
    EXPECT_CL("name", "east", "--cluster_name", "east");
    EXPECT_CL("advertise", "h:7", "--cluster_advertise", "h:7");
    EXPECT_CL("client_advertise", "h:1", "--client_advertise", "h:1");
    EXPECT_CL("no_advertise", "true", "--no_advertise");
    EXPECT_CL("no_advertise", "false", "--no_advertise=false");
    EXPECT_CL("connect_retries", "3", "--connect_retries", "3");
}

static void test_overlay_over_file(void **state)
{
    (void)state;
    const char *d = getenv("TERN_TEST_DATA");
    assert_non_null(d);
    char path[2048], err[TERN_CONF_ERR_MAX], cwd[1024], want[2048];
    snprintf(path, sizeof path, "%s/conf/full.yaml", d);
    assert_non_null(getcwd(cwd, sizeof cwd));

    tern_cli cli;
    assert_int_equal(PARSE(&cli, err, "-c", path, "-p", "5000", "-a", "127.0.0.9", "-D=false",
                           "-V", "-T", "-l", "rel.log", "-n", "flagname", "--workers", "0"), 0);
    tern_conf_node *root = tern_conf_load(cli.config, err, sizeof err);
    if (!root)
        fail_msg("%s", err);
    /* merged twice, as on a reload: the overlay is copied, not consumed */
    for (int round = 0; round < 2; round++) {
        tern_conf_node *merged = tern_conf_copy(root);
        tern_conf_merge(merged, tern_conf_copy(cli.overlay));
        tern_opts o;
        tern_opts_init(&o);
        if (tern_conf_apply(merged, &o, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_int_equal(o.port, 5000);             /* over listen: 127.0.0.1:4333 */
        assert_string_equal(o.host, "127.0.0.9");
        assert_string_equal(o.name, "flagname");
        assert_false(o.log.debug);                  /* file says true */
        assert_true(o.log.trace);
        assert_true(o.log.time);                    /* file says false */
        assert_int_equal(o.workers, 0);
        assert_int_equal(o.max_payload, 2 << 20);   /* untouched file values stay */
        snprintf(want, sizeof want, "%s/rel.log", cwd);
        assert_string_equal(o.log.file, want);      /* flag paths: relative to the cwd */
        tern_opts_free(&o);
        tern_conf_free(merged);
    }
    tern_conf_free(root);
    tern_cli_free(&cli);

    /* flags alone, with no file */
    assert_int_equal(PARSE(&cli, err, "-p", "-1", "-a", "127.0.0.1"), 0);
    tern_opts o;
    tern_opts_init(&o);
    assert_int_equal(tern_conf_apply(cli.overlay, &o, err, sizeof err), 0);
    assert_int_equal(o.port, -1);
    assert_string_equal(o.host, "127.0.0.1");
    tern_opts_free(&o);
    tern_cli_free(&cli);
}

static void test_usage(void **state)
{
    (void)state;
    const char *u = tern_cli_usage();
    assert_non_null(strstr(u, "Usage: ternd [options]"));
    assert_non_null(strstr(u, "-a, --addr, --net <host>"));
    assert_non_null(strstr(u, "--workers <n>"));
    assert_non_null(strstr(u, "-sl,--signal"));
}

/* ---- --signal ---------------------------------------------------------- */

/* A child that waits for a signal (default action: terminate); it writes
 * one byte once ready, optionally after renaming itself. */
static pid_t spawn_waiter(const char *comm)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (comm)
            prctl(PR_SET_NAME, comm, 0, 0, 0);
        if (write(fds[1], "x", 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(fds[1]);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    return pid;
}

static int reap_signal(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    return WTERMSIG(status);
}

static void test_signal_by_pid(void **state)
{
    (void)state;
    static const struct {
        const char *cmd;
        int sig;
    } cases[] = {
        { "stop", SIGKILL }, { "quit", SIGINT }, { "term", SIGTERM },
        { "reopen", SIGUSR1 }, { "ldm", SIGUSR2 }, { "reload", SIGHUP },
    };
    char err[TERN_CONF_ERR_MAX], spec[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pid_t pid = spawn_waiter(NULL);
        snprintf(spec, sizeof spec, "%s=%d", cases[i].cmd, (int)pid);
        int r = tern_cli_signal(spec, NULL, err, sizeof err);
        if (r != 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("%s: %s", spec, err);
        }
        assert_int_equal(reap_signal(pid), cases[i].sig);
    }
}

static void test_signal_pid_files(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX], spec[256], file[] = "/tmp/tern-test-pid-XXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0);

    /* =PIDFILE (nats-server writes the pid without a newline; accept one) */
    pid_t pid = spawn_waiter(NULL);
    dprintf(fd, "%d\n", (int)pid);
    snprintf(spec, sizeof spec, "term=%s", file);
    assert_int_equal(tern_cli_signal(spec, NULL, err, sizeof err), 0);
    assert_int_equal(reap_signal(pid), SIGTERM);

    /* the configuration's pid_file when the spec names no process */
    pid = spawn_waiter(NULL);
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(pwrite(fd, spec, (size_t)snprintf(spec, sizeof spec, "%d", (int)pid), 0) > 0, 1);
    assert_int_equal(tern_cli_signal("quit", file, err, sizeof err), 0);
    assert_int_equal(reap_signal(pid), SIGINT);

    /* a pid file with garbage */
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(pwrite(fd, "abc", 3, 0), 3);
    assert_int_equal(tern_cli_signal("quit", file, err, sizeof err), -1);
    assert_string_equal(err, "invalid pid: abc");
    close(fd);
    unlink(file);

    assert_int_equal(tern_cli_signal("quit", "/nonexistent/t.pid", err, sizeof err), -1);
    assert_string_equal(err, "could not read pid file /nonexistent/t.pid: no such file or directory");
}

static void test_signal_errors(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX];
    assert_int_equal(tern_cli_signal("bogus=1", NULL, err, sizeof err), -1);
    assert_string_equal(err, "unknown signal \"bogus\"");
    assert_int_equal(tern_cli_signal("a=b=c", NULL, err, sizeof err), -1);
    assert_string_equal(err, "invalid signal parameters: [c]");
    assert_int_equal(tern_cli_signal("reload=1=2=3", NULL, err, sizeof err), -1);
    assert_string_equal(err, "invalid signal parameters: [2 3]");
    assert_int_equal(tern_cli_signal("reload=/nonexistent", NULL, err, sizeof err), -1);
    assert_string_equal(err, "invalid pid: /nonexistent");
    assert_int_equal(tern_cli_signal("reload=", NULL, err, sizeof err), -1);
    assert_string_equal(err, "invalid pid: ");
    /* above any pid_max: no such process */
    assert_int_equal(tern_cli_signal("reload=2147483647", NULL, err, sizeof err), -1);
    assert_string_equal(err, "no such process");
}

static void test_signal_finds_ternd(void **state)
{
    (void)state;
    char err[TERN_CONF_ERR_MAX], mine[32];
    pid_t pid = spawn_waiter("ternd");
    int r = tern_cli_signal("reopen", NULL, err, sizeof err);
    if (r == 0) {
        /* exactly one ternd was running: ours */
        assert_int_equal(reap_signal(pid), SIGUSR1);
        return;
    }
    /* other ternd processes run on this machine (other tests): nothing
     * was signalled, and ours is listed */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    snprintf(mine, sizeof mine, "\n%d", (int)pid);
    if (strncmp(err, "multiple ternd processes running:", 33) != 0)
        fail_msg("unexpected: %s", err);
    /* the list names 16 at most: on a busy machine ours may be past it */
    int listed = 0;
    for (const char *p = err; (p = strchr(p, '\n')) != NULL; p++)
        listed++;
    if (!strstr(err, mine) && listed < 16)
        fail_msg("unexpected: %s", err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_args),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_go_flag_errors),
        cmocka_unit_test(test_refused_flags),
        cmocka_unit_test(test_monitor_flags),
        cmocka_unit_test(test_cluster_flags),
        cmocka_unit_test(test_overlay_over_file),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_signal_by_pid),
        cmocka_unit_test(test_signal_pid_files),
        cmocka_unit_test(test_signal_errors),
        cmocka_unit_test(test_signal_finds_ternd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
