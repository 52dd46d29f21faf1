/* The SDK as a third party uses it (issue 6): install this build's SDK
 * into a temporary prefix (`cmake --install --prefix --component sdk`),
 * copy the example module
 * sdk/examples/dir_resolver alone elsewhere, build it out of tree
 * against the installed SDK with CMake (find_package(Tern) through
 * CMAKE_PREFIX_PATH) and with pkg-config (its Makefile, PKG_CONFIG_PATH),
 * then hot-load it into a running ternd by dropping the example's
 * test.yaml into conf.d and sending SIGHUP, and authenticate clients
 * through it: users land in their accounts (a subject is shared within
 * an account only), a wrong password and unknown users get
 * -ERR 'Authorization Violation', a user file added (or removed) then
 * SIGHUP lets the user in (or out), users whose account does not exist
 * are refused, a configuration change reaches the module's reload, and
 * the pkg-config build authenticates the same way. (ternd only.) */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char work[64];             /* the temp dir of everything below */
static char prefix[128];          /* the installed SDK */
static char users[128];           /* the resolver's directory of user files */

/* ---- running tools ------------------------------------------------------- */

static void dump(const char *path)
{
    char *text = it_read_file(path, NULL);
    printf("---- %s ----\n%s\n----\n", path, text ? text : "(unreadable)");
    free(text);
}

/* Run argv with env additions ("K=V", NULL-terminated) in dir, output in
 * log; true on exit status 0 within two minutes. */
static bool run(const char *dir, const char *log, char *const env[], char *const argv[])
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (out < 0 || (dir && chdir(dir) != 0))
            _exit(126);
        dup2(out, 1);
        dup2(out, 2);
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st = it_pid_wait(pid, 120000);
    if (st == -1) {
        printf("%s: killed after 120 s\n", argv[0]);
        return false;
    }
    bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok)
        dump(log);
    return ok;
}

static bool write_file(const char *path, const char *text)
{
    return IT_CHECK(it_write_file(path, text), "write %s", path);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* tern.pc's folder: lib/pkgconfig, or lib64/…, lib/<multiarch>/… */
static char pc_dir[200];
static int find_pc(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st, (void)f;
    size_t n = strlen(path);
    if (type == FTW_F && n > 8 && !strcmp(path + n - 8, "/tern.pc")) {
        snprintf(pc_dir, sizeof pc_dir, "%.*s", (int)(n - 8), path);
        return 1;
    }
    return 0;
}

/* ---- building the example ----------------------------------------------- */

static bool install_sdk(void)
{
    char log[160];
    snprintf(log, sizeof log, "%s/install.log", work);
    /* The SDK's install component: the rest of the build (ternd, shipped
     * modules, tools) need not be built for this test. */
    char *argv[] = { TERN_CMAKE, "--install", TERN_BUILD_DIR, "--prefix", prefix,
                     "--component", "sdk", NULL };
    if (!IT_CHECK(run(NULL, log, NULL, argv), "cmake --install %s --prefix %s --component sdk",
                  TERN_BUILD_DIR, prefix))
        return false;
    char path[256];
    snprintf(path, sizeof path, "%s/include/tern/module.h", prefix);
    bool ok = IT_CHECK(file_exists(path), "the headers are installed");
    nftw(prefix, find_pc, 16, FTW_PHYS);
    ok = IT_CHECK(pc_dir[0] != 0, "tern.pc is installed") && ok;
    snprintf(path, sizeof path, "%s/../cmake/Tern/TernConfig.cmake", pc_dir);
    ok = IT_CHECK(file_exists(path), "TernConfig.cmake is installed next to it") && ok;
    snprintf(path, sizeof path, "%s/../cmake/Tern/TernConfigVersion.cmake", pc_dir);
    return IT_CHECK(file_exists(path), "TernConfigVersion.cmake is installed") && ok;
}

/* Copy the example's folder, and nothing else of the tree, to dst. */
static bool copy_example(const char *dst)
{
    char log[160];
    snprintf(log, sizeof log, "%s/copy.log", work);
    char *argv[] = { "cp", "-R", TERN_SDK_EXAMPLE_DIR, (char *)dst, NULL };
    if (!IT_CHECK(run(NULL, log, NULL, argv), "copy the example to %s", dst))
        return false;
    /* A build folder someone left in the source tree is not the example. */
    char build[256];
    snprintf(build, sizeof build, "%s/build", dst);
    it_remove_tree(build);
    return true;
}

/* The example's README: cmake -S . -B build -DCMAKE_PREFIX_PATH=<prefix>. */
static bool build_with_cmake(const char *src, char *so, size_t n)
{
    char log[160], pp[160];
    snprintf(log, sizeof log, "%s/cmake.log", work);
    snprintf(pp, sizeof pp, "-DCMAKE_PREFIX_PATH=%s", prefix);
    /* Nothing but the prefix may provide Tern: no package registry. */
    char *conf[] = { TERN_CMAKE, "-S", ".", "-B", "build", pp, "-DCMAKE_BUILD_TYPE=Release",
                     "-DCMAKE_C_FLAGS=-Werror " TERN_EXAMPLE_CFLAGS,
                     "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF", NULL };
    char *build[] = { TERN_CMAKE, "--build", "build", NULL };
    if (!IT_CHECK(run(src, log, NULL, conf), "configure the example with CMake") ||
        !IT_CHECK(run(src, log, NULL, build), "build the example with CMake"))
        return false;
    char path[256], want[300];
    snprintf(path, sizeof path, "%s/build/CMakeCache.txt", src);
    snprintf(want, sizeof want, "Tern_DIR:PATH=%s/", prefix);
    char *cache = it_read_file(path, NULL);
    IT_CHECK(cache && strstr(cache, want), "find_package(Tern) found the installed SDK (%s)",
             want);
    free(cache);
    snprintf(so, n, "%s/build/dir_resolver.so", src);
    return IT_CHECK(file_exists(so), "CMake built %s (no lib prefix)", so);
}

/* The example's Makefile: pkg-config --cflags tern. */
static bool build_with_pkg_config(const char *src, char *so, size_t n)
{
    char log[160], env[300];
    snprintf(log, sizeof log, "%s/make.log", work);
    snprintf(env, sizeof env, "PKG_CONFIG_PATH=%s", pc_dir);
    char *envs[] = { env, NULL };
    char *argv[] = { "make", "CFLAGS=-O2 -g -Werror " TERN_EXAMPLE_CFLAGS, NULL };
    if (!IT_CHECK(run(src, log, envs, argv), "build the example with make and pkg-config"))
        return false;
    char want[300];
    snprintf(want, sizeof want, "-I%s/", pc_dir);
    char *out = it_read_file(log, NULL);
    IT_CHECK(out && strstr(out, want), "pkg-config gave the installed SDK's include dir");
    free(out);
    snprintf(so, n, "%s/dir_resolver.so", src);
    return IT_CHECK(file_exists(so), "make built %s", so);
}

/* ---- users ------------------------------------------------------------------- */

static void bcrypt(const char *pass, char *out, size_t n)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    char salt[64];
    const char *h = NULL;
    if (cd && crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof salt))
        h = crypt_r(pass, salt, cd);
    snprintf(out, n, "%s", h ? h : "");
    free(cd);
}

static void user_file(const char *name, const char *json)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.json", users, name);
    write_file(path, json);
}

/* ---- clients ------------------------------------------------------------------ */

enum { LOGIN_OK = 1, LOGIN_REFUSED = 0, LOGIN_OTHER = -1 };

/* CONNECT with credentials on a raw socket: the server's exact answer. */
static int raw_login(const it_server *s, const char *user, const char *pass)
{
    int fd = it_raw_connect(s->port, 0);
    if (fd < 0)
        return LOGIN_OTHER;
    it_buf b = { 0 };
    char line[256];
    snprintf(line, sizeof line,
             "CONNECT {\"verbose\":false,\"user\":\"%s\",\"pass\":\"%s\"}\r\nPING\r\n", user, pass);
    int r = LOGIN_OTHER;
    if (it_raw_read_until(fd, &b, "\r\n", 3000) == IT_FOUND && it_raw_sends(fd, line) == 0) {
        int64_t deadline = it_now_ms() + 5000;
        while (r == LOGIN_OTHER && it_now_ms() < deadline) {
            if (it_buf_contains(&b, "PONG\r\n"))
                r = LOGIN_OK;
            else if (it_buf_contains(&b, "-ERR 'Authorization Violation'\r\n"))
                r = LOGIN_REFUSED;
            else if (it_raw_read_until(fd, &b, "\r\n-", 100) == IT_CLOSED &&
                     !it_buf_contains(&b, "-ERR 'Authorization Violation'\r\n"))
                break;
        }
    }
    if (r == LOGIN_OTHER)
        printf("login %s: unexpected answer '%.*s'\n", user, (int)b.len, b.data ? b.data : "");
    it_buf_free(&b);
    close(fd);
    return r;
}

static bool login_is(const it_server *s, const char *user, const char *pass, int want,
                     const char *what)
{
    int got = raw_login(s, user, pass);
    return IT_CHECK(got == want, "%s (user %s: %s)", what, user,
                    got == LOGIN_OK ? "logged in" : got == LOGIN_REFUSED ? "refused" : "error");
}

/* After a reload the module re-reads its folder on its own thread: poll
 * (bounded) until the answer changes to want. */
static bool await_login(const it_server *s, const char *user, const char *pass, int want,
                        const char *what)
{
    int64_t deadline = it_now_ms() + 10000;
    while (raw_login(s, user, pass) != want && it_now_ms() < deadline)
        it_poll_pause();
    return login_is(s, user, pass, want, what);
}

/* SIGHUP; true once the server logged a successful reload. */
static bool reload(it_server *s)
{
    if (IT_RELOAD(s, true))
        return true;
    char *log = it_server_log(s);
    printf("---- server log ----\n%s\n----\n", log ? log : "");
    free(log);
    return false;
}

/* A message published by `from` on subject reaches `to`'s subscription,
 * and `other`'s subscription (another account) sees only what its own
 * account published after it. */
static void account_isolation(natsConnection *from, natsConnection *to, natsConnection *other)
{
    natsSubscription *st = NULL, *so = NULL;
    natsMsg *m = NULL;
    bool ok = natsConnection_SubscribeSync(&st, to, "shared.news") == NATS_OK &&
              natsConnection_SubscribeSync(&so, other, "shared.news") == NATS_OK &&
              natsConnection_Flush(to) == NATS_OK && natsConnection_Flush(other) == NATS_OK;
    IT_CHECK(ok, "subscribe in both accounts");
    ok = ok && natsConnection_PublishString(from, "shared.news", "for A") == NATS_OK &&
         natsConnection_Flush(from) == NATS_OK;
    ok = ok && natsSubscription_NextMsg(&m, st, 3000) == NATS_OK;
    IT_CHECK(ok && m && !strcmp(natsMsg_GetData(m), "for A"),
             "a user of account A receives what another user of A published");
    natsMsg_Destroy(m);
    m = NULL;
    /* A marker from the other account: the first thing its subscriber
     * sees must be the marker, not A's message. */
    ok = natsConnection_PublishString(other, "shared.news", "for B") == NATS_OK &&
         natsConnection_Flush(other) == NATS_OK &&
         natsSubscription_NextMsg(&m, so, 3000) == NATS_OK;
    IT_CHECK(ok && m && !strcmp(natsMsg_GetData(m), "for B"),
             "a user of account B does not see account A's message (got '%s')",
             m ? natsMsg_GetData(m) : "nothing");
    natsMsg_Destroy(m);
    m = NULL;
    IT_CHECK(natsSubscription_NextMsg(&m, st, 200) == NATS_TIMEOUT,
             "account A does not see account B's message");
    natsMsg_Destroy(m);
    natsSubscription_Destroy(st);
    natsSubscription_Destroy(so);
}

/* ---- the scenario ---------------------------------------------------------------- */

/* Link name in conf.d to target (the example's relative paths). */
static bool link_into(const it_server *s, const char *name, const char *target)
{
    char path[256];
    snprintf(path, sizeof path, "%s/conf.d/%s", s->dir, name);
    return IT_CHECK(symlink(target, path) == 0, "link %s -> %s", path, target);
}

static void test_hot_load(const char *example, const char *so)
{
    it_server s;
    it_opts o = { .log_file = true };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "ternd starts without the module"))
        return;
    login_is(&s, "carol", "wrong", LOGIN_OK, "without the module nobody is checked");

    /* The example's conf.d fragment as shipped: its relative paths
     * (build/dir_resolver.so, users) resolve next to it. */
    char path[256], build[256];
    snprintf(build, sizeof build, "%.*s", (int)(strlen(so) - strlen("/dir_resolver.so")), so);
    link_into(&s, "build", build);
    link_into(&s, "users", users);
    char from[256], to[256];
    snprintf(from, sizeof from, "%s/test.yaml", example);
    snprintf(to, sizeof to, "%s/conf.d/10-test.yaml", s.dir);
    char *fragment = it_read_file(from, NULL);
    if (!IT_CHECK(fragment && write_file(to, fragment), "test.yaml into conf.d")) {
        free(fragment);
        it_server_stop(&s);
        return;
    }
    free(fragment);
    if (!reload(&s)) {
        it_server_stop(&s);
        return;
    }
    IT_CHECK(it_log_count(&s, "Module dir_resolver 1.0 loaded from") == 1,
             "SIGHUP loaded the module");
    IT_CHECK(it_log_count(&s, "[dir_resolver] 5 users from") >= 1,
             "the module read the user folder (5 usable files, 1 broken)");
    IT_CHECK(it_log_count(&s, "broken.json") >= 1, "a broken file is named in the log");

    /* Valid users land in their accounts. */
    natsConnection *alice = it_nats_login(&s, "alice", "alice-secret");
    natsConnection *carol = it_nats_login(&s, "carol", "carol-secret");
    natsConnection *bob = it_nats_login(&s, "bob", "bob-secret");
    IT_CHECK(alice != NULL, "alice (bcrypt) logs in");
    IT_CHECK(carol != NULL, "carol (plain password) logs in");
    IT_CHECK(bob != NULL, "bob logs in");
    if (alice && carol && bob)
        account_isolation(alice, carol, bob);
    natsConnection_Destroy(alice);
    natsConnection_Destroy(carol);
    natsConnection_Destroy(bob);

    login_is(&s, "alice", "wrong", LOGIN_REFUSED, "a wrong password gets Authorization Violation");
    login_is(&s, "carol", "", LOGIN_REFUSED, "an empty password is refused");
    login_is(&s, "mallory", "x", LOGIN_REFUSED, "an unknown user is refused (unknown: deny)");
    login_is(&s, "dave", "dave-secret", LOGIN_REFUSED, "a user whose account does not exist");
    natsConnection *bad = it_nats_login(&s, "alice", "wrong");
    IT_CHECK(bad == NULL, "cnats fails to log in with it too");
    natsConnection_Destroy(bad);

    /* erin has permissions: applied when the server has auth_complete_ex,
     * otherwise refused (never let in with more rights than written). */
    if (it_log_count(&s, "no auth_complete_ex") > 0) {
        login_is(&s, "erin", "erin-secret", LOGIN_REFUSED,
                 "a user with permissions is refused without auth_complete_ex");
    } else {
        it_buf b = { 0 };
        int fd = it_raw_client(s.port, "{\"verbose\":false,\"user\":\"erin\","
                                       "\"pass\":\"erin-secret\"}", &b);
        IT_CHECK(fd >= 0, "erin (with permissions) logs in");
        it_buf_reset(&b);
        IT_CHECK(fd >= 0 && it_raw_sends(fd, "SUB admin.x 1\r\nSUB ok.x 2\r\nPING\r\n") == 0 &&
                     it_raw_read_until(fd, &b, "PONG\r\n", 3000) == IT_FOUND &&
                     it_buf_count(&b, "Permissions Violation") == 1 &&
                     it_buf_contains(&b, "\"admin.x\""),
                 "erin's permissions from her file deny admin.x only");
        if (fd >= 0)
            close(fd);
        it_buf_free(&b);
    }

    /* A file added, then SIGHUP: the user gets in. */
    login_is(&s, "zoe", "zoe-secret", LOGIN_REFUSED, "zoe has no file yet");
    user_file("zoe", "{\"user\":\"zoe\",\"password\":\"zoe-secret\",\"account\":\"B\"}");
    if (reload(&s))
        await_login(&s, "zoe", "zoe-secret", LOGIN_OK, "a user file added, then SIGHUP: in");

    /* A file removed, then SIGHUP: the user is refused. */
    snprintf(path, sizeof path, "%s/bob.json", users);
    IT_CHECK(unlink(path) == 0, "remove bob.json");
    if (reload(&s))
        await_login(&s, "bob", "bob-secret", LOGIN_REFUSED,
                    "a user file removed, then SIGHUP: Authorization Violation");
    login_is(&s, "zoe", "zoe-secret", LOGIN_OK, "the other users stay");

    /* The module's own configuration changes: its reload applies it
     * (unknown users now fall through to conf.d, which has no users). */
    snprintf(path, sizeof path, "%s/conf.d/30-override.yaml", s.dir);
    write_file(path, "modules:\n  dir_resolver:\n    unknown: ignore\n");
    if (reload(&s))
        await_login(&s, "mallory", "x", LOGIN_OK, "unknown: ignore lets conf.d decide");
    login_is(&s, "alice", "wrong", LOGIN_REFUSED, "known users are still checked");
    IT_CHECK(it_log_count(&s, "Module dir_resolver 1.0 loaded from") == 1,
             "the module was reloaded in place, not swapped");

    /* Unloading it leaves the server up. */
    IT_CHECK(unlink(to) == 0 && unlink(path) == 0, "remove the fragment");
    if (reload(&s))
        IT_CHECK(it_log_count(&s, "Module dir_resolver (") == 1 &&
                     it_log_count(&s, ") unloaded") == 1,
                 "SIGHUP unloaded the module");
    login_is(&s, "alice", "wrong", LOGIN_OK, "without the module nobody is checked again");
    it_server_stop(&s);
}

/* The pkg-config build authenticates the same way. */
static void test_pkg_config_build(const char *so)
{
    char yaml[768];
    snprintf(yaml, sizeof yaml,
             "accounts: { A: {}, B: {} }\n"
             "modules:\n"
             "  dir_resolver: { path: \"%s\", dir: \"%s\" }\n", so, users);
    it_server s;
    it_opts o = { .log_file = true, .auth_yaml = yaml };
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "ternd starts with the pkg-config build"))
        return;
    login_is(&s, "carol", "carol-secret", LOGIN_OK, "pkg-config build: a valid user logs in");
    login_is(&s, "alice", "nope", LOGIN_REFUSED, "pkg-config build: a wrong password is refused");
    it_server_stop(&s);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    snprintf(work, sizeof work, "/tmp/tern-sdk-XXXXXX");
    if (!IT_CHECK(mkdtemp(work) != NULL, "temp dir"))
        return it_summary();
    snprintf(prefix, sizeof prefix, "%s/prefix", work);
    snprintf(users, sizeof users, "%s/users", work);
    char cm_src[128], pc_src[128], cm_so[256], pc_so[256];
    snprintf(cm_src, sizeof cm_src, "%s/cmake-src", work);
    snprintf(pc_src, sizeof pc_src, "%s/make-src", work);

    bool built = install_sdk() && copy_example(cm_src) && copy_example(pc_src);
    built = built && build_with_cmake(cm_src, cm_so, sizeof cm_so);
    bool pc_built = built && build_with_pkg_config(pc_src, pc_so, sizeof pc_so);

    if (built && IT_CHECK(mkdir(users, 0700) == 0, "users dir")) {
        char hash[128], json[256];
        bcrypt("alice-secret", hash, sizeof hash);
        snprintf(json, sizeof json,
                 "{\"user\":\"alice\",\"password\":\"%s\",\"account\":\"A\"}", hash);
        IT_CHECK(!strncmp(hash, "$2b$", 4), "a bcrypt hash for alice");
        user_file("alice", json);
        user_file("carol", "{\"user\":\"carol\",\"password\":\"carol-secret\",\"account\":\"A\"}");
        user_file("bob", "{\"user\":\"bob\",\"password\":\"bob-secret\",\"account\":\"B\"}");
        user_file("dave",
                  "{\"user\":\"dave\",\"password\":\"dave-secret\",\"account\":\"NOPE\"}");
        user_file("erin", "{\"user\":\"erin\",\"password\":\"erin-secret\",\"account\":\"A\","
                          "\"permissions\":{\"subscribe\":{\"deny\":[\"admin.>\"]}}}");
        user_file("broken", "{\"user\": \"frank\", \"password\": ");
        test_hot_load(cm_src, cm_so);
        if (pc_built)
            test_pkg_config_build(pc_so);
    }
    it_remove_tree(work);
    return it_summary();
}
