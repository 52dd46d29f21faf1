/* ternctl against the reference: the real nats-server 2.9 in operator
 * mode, configured by `ternctl generate config --nats` (operator JWT,
 * system account, MEMORY resolver with preload), accepts users whose
 * .creds ternctl generated — signed by the account and by an account
 * signing key — through cnats, and refuses a revoked and an expired
 * user. This runs nats-server whatever TERN_TEST_SERVER says. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char ks[128];

static int ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ctl(const char *fmt, ...)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof cmd, "TERNCTL_HOME=%s %s ", ks, TERN_TERNCTL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    strncat(cmd, " >/dev/null", sizeof cmd - strlen(cmd) - 1);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *ctl_out(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "TERNCTL_HOME=%s %s %s", ks, TERN_TERNCTL, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0)
        if ((n += r) + 1 >= cap)
            buf = realloc(buf, cap *= 2);
    buf[n] = 0;
    return pclose(p) == 0 ? buf : (free(buf), NULL);
}

static natsStatus creds_connect(const it_server *s, const char *user, natsConnection **nc)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.creds", ks, user);
    /* cnats 3.4.1 now and then omits the nonce signature (test_auth_jwt.c):
     * a refusal is retried twice (a refused user stays refused) */
    natsStatus st = NATS_ERR;
    *nc = NULL;
    for (int i = 0; i < 3 && st != NATS_OK; i++) {
        natsConnection_Destroy(*nc);
        *nc = NULL;
        st = it_nats_dial(s->port, NULL, NULL, path, nc);
    }
    return st;
}

int main(void)
{
    snprintf(ks, sizeof ks, "/tmp/tern-ternctl-XXXXXX");
    if (!IT_CHECK(mkdtemp(ks) != NULL, "a keystore folder"))
        return it_summary();
    IT_CHECK(ctl("init op") == 0, "ternctl init");
    IT_CHECK(ctl("add account APP") == 0, "ternctl add account");
    IT_CHECK(ctl("add user alice --account APP --allow-pub 'ok.>,_INBOX.>' "
                 "--allow-sub 'ok.>,_INBOX.>'") == 0, "ternctl add user with permissions");
    IT_CHECK(ctl("add user bob --account APP") == 0, "ternctl add user bob");
    IT_CHECK(ctl("add user old --account APP --expiry 1000000000") == 0,
             "ternctl add user with an expiry in the past");
    sleep(1);   /* revocation covers JWTs issued up to its second */
    IT_CHECK(ctl("revoke user bob --account APP") == 0, "ternctl revoke user");
    IT_CHECK(ctl("add signing-key --account APP") == 0, "ternctl add signing-key");
    IT_CHECK(ctl("add user carol --account APP") == 0, "a user signed by the signing key");
    const char *users[] = { "alice", "bob", "old", "carol" };
    for (int i = 0; i < 4; i++)
        IT_CHECK(ctl("generate creds %s --account APP --output %s/%s.creds", users[i], ks,
                     users[i]) == 0, "ternctl generate creds %s", users[i]);
    char path[256];
    snprintf(path, sizeof path, "%s/alice.creds", ks);
    char args[300];
    snprintf(args, sizeof args, "describe %s", path);
    char *desc = ctl_out(args);
    IT_CHECK(desc && strstr(desc, "signature valid") && strstr(desc, "\"ok.>\""),
             "ternctl describe verifies and prints a .creds JWT");
    free(desc);
    snprintf(path, sizeof path, "%s/old.creds", ks);
    snprintf(args, sizeof args, "describe %s >/dev/null", path);
    IT_CHECK(ctl_out(args) == NULL, "ternctl describe fails for an expired JWT");

    char *conf = ctl_out("generate config --nats");
    if (!IT_CHECK(conf && strstr(conf, "resolver: MEMORY"), "ternctl generate config --nats"))
        return it_summary();
    setenv("TERN_TEST_SERVER", "nats-server", 1);
    it_server s;
    it_opts o = { .auth_conf = conf };
    if (IT_CHECK(it_server_start(&s, &o) == 0, "nats-server starts in operator mode")) {
        natsConnection *alice = NULL, *carol = NULL, *nc = NULL;
        IT_CHECK(creds_connect(&s, "alice", &alice) == NATS_OK,
                 "nats-server accepts ternctl's .creds (alice)");
        IT_CHECK(creds_connect(&s, "carol", &carol) == NATS_OK,
                 "nats-server accepts a user signed by the account signing key");
        if (alice) {
            natsSubscription *sub = NULL;
            natsMsg *m = NULL;
            natsConnection_SubscribeSync(&sub, alice, "ok.x");
            natsConnection_Flush(alice);
            natsConnection_PublishString(alice, "ok.x", "hi");
            IT_CHECK(natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK,
                     "alice's JWT permissions let ok.x through");
            natsMsg_Destroy(m);
            natsSubscription_Destroy(sub);
        }
        natsStatus st = creds_connect(&s, "bob", &nc);
        IT_CHECK(st != NATS_OK, "nats-server refuses the revoked user bob");
        natsConnection_Destroy(nc);
        st = creds_connect(&s, "old", &nc);
        IT_CHECK(st != NATS_OK, "nats-server refuses the expired user");
        natsConnection_Destroy(nc);
        natsConnection_Destroy(alice);
        natsConnection_Destroy(carol);
        it_server_stop(&s);
    }
    free(conf);
    if (!it_remove_tree(ks))
        fprintf(stderr, "could not remove %s\n", ks);
    return it_summary();
}
