/* Account isolation (issue 5): five accounts ($G, A, B, C and the system
 * account) each publish on every kind of subject (plain, wildcard-looking
 * tokens, _INBOX, $SYS, exported and imported subjects) with reply
 * subjects, while each account subscribes with `>` at the root, `*`,
 * `*.>`, `_INBOX.>`, `$SYS.>` and narrower patterns. Every delivery is
 * checked against a model where messages cross accounts only through the
 * configured export/import pairs: A's stream `pub.>` imported by B under
 * the prefix `fromA`, and A's service `svc.>` imported by B as `asvc.>`.
 * Then every receiver answers every reply subject it saw, and each
 * publisher must get answers only from its own account, or from A for
 * its requests through B's service import.
 *
 * Ordering makes the absence of leaks observable without waiting: each
 * connection finishes with a sentinel message that reaches every other
 * account through a public stream export (`sentinel.X`); per-publisher
 * order means anything that leaked would arrive before it. The same
 * checks run against nats-server with TERN_TEST_SERVER=nats-server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NACC 5
static const char *const acc_names[NACC] = {"G", "A", "B", "C", "S"};
static const char *const users[NACC] = {"g", "a", "b", "c", "s"};

static const char *const patterns[] = {
    ">", "*", "*.>", "_INBOX.>", "$SYS.>", "x.*.z", "pub.>", "fromA.>", "svc.*", "asvc.>", "foo",
};
#define NPAT (sizeof patterns / sizeof *patterns)

static const char *const subjects[] = {
    "foo", "x.y.z", "pub.a", "pub.b.c", "fromA.pub.a", "_INBOX.abc.def", "$SYS.foo.bar",
    "svc.q", "asvc.q", "sentinelx", "$G.foo", "_R_.abcdef.ghijkl",
};
#define NSUBJ (sizeof subjects / sizeof *subjects)

static const char yaml[] =
    "authorization:\n"
    "  users: [ {user: g, password: g} ]\n"
    "system_account: S\n"
    "accounts:\n"
    "  A:\n"
    "    users: [ {user: a, password: a} ]\n"
    "    exports:\n"
    "      - { stream: \"pub.>\", accounts: [B] }\n"
    "      - { service: \"svc.>\", accounts: [B] }\n"
    "      - { stream: sentinel.A }\n"
    "    imports:\n"
    "      - { stream: { account: B, subject: sentinel.B } }\n"
    "      - { stream: { account: C, subject: sentinel.C } }\n"
    "      - { stream: { account: S, subject: sentinel.S } }\n"
    "  B:\n"
    "    users: [ {user: b, password: b} ]\n"
    "    exports: [ { stream: sentinel.B } ]\n"
    "    imports:\n"
    "      - { stream: { account: A, subject: \"pub.>\" }, prefix: fromA }\n"
    "      - { service: { account: A, subject: \"svc.>\" }, to: \"asvc.>\" }\n"
    "      - { stream: { account: A, subject: sentinel.A } }\n"
    "      - { stream: { account: C, subject: sentinel.C } }\n"
    "      - { stream: { account: S, subject: sentinel.S } }\n"
    "  C:\n"
    "    users: [ {user: c, password: c} ]\n"
    "    exports: [ { stream: sentinel.C } ]\n"
    "    imports:\n"
    "      - { stream: { account: A, subject: sentinel.A } }\n"
    "      - { stream: { account: B, subject: sentinel.B } }\n"
    "      - { stream: { account: S, subject: sentinel.S } }\n"
    "  S:\n"
    "    users: [ {user: s, password: s} ]\n"
    "    exports: [ { stream: sentinel.S } ]\n"
    "    imports:\n"
    "      - { stream: { account: A, subject: sentinel.A } }\n"
    "      - { stream: { account: B, subject: sentinel.B } }\n"
    "      - { stream: { account: C, subject: sentinel.C } }\n";

/* The same in nats-server's format. $G imports nothing, so it waits for
 * its own sentinel only (it publishes first, and flushes). */
static const char conf[] =
    "authorization { users: [ {user: g, password: g} ] }\n"
    "system_account: S\n"
    "accounts {\n"
    "  A { users: [ {user: a, password: a} ]\n"
    "      exports: [ {stream: \"pub.>\", accounts: [B]}, {service: \"svc.>\", accounts: [B]}, {stream: sentinel.A} ]\n"
    "      imports: [ {stream: {account: B, subject: sentinel.B}}, {stream: {account: C, subject: sentinel.C}},\n"
    "                 {stream: {account: S, subject: sentinel.S}} ] }\n"
    "  B { users: [ {user: b, password: b} ]\n"
    "      exports: [ {stream: sentinel.B} ]\n"
    "      imports: [ {stream: {account: A, subject: \"pub.>\"}, prefix: fromA},\n"
    "                 {service: {account: A, subject: \"svc.>\"}, to: \"asvc.>\"},\n"
    "                 {stream: {account: A, subject: sentinel.A}}, {stream: {account: C, subject: sentinel.C}},\n"
    "                 {stream: {account: S, subject: sentinel.S}} ] }\n"
    "  C { users: [ {user: c, password: c} ]\n"
    "      exports: [ {stream: sentinel.C} ]\n"
    "      imports: [ {stream: {account: A, subject: sentinel.A}}, {stream: {account: B, subject: sentinel.B}},\n"
    "                 {stream: {account: S, subject: sentinel.S}} ] }\n"
    "  S { users: [ {user: s, password: s} ]\n"
    "      exports: [ {stream: sentinel.S} ]\n"
    "      imports: [ {stream: {account: A, subject: sentinel.A}}, {stream: {account: B, subject: sentinel.B}},\n"
    "                 {stream: {account: C, subject: sentinel.C}} ] }\n"
    "}\n";

/* NATS wildcard match of a literal subject against a pattern. */
static bool match(const char *pat, const char *subj)
{
    for (;;) {
        size_t pl = strcspn(pat, "."), sl = strcspn(subj, ".");
        if (pl == 1 && pat[0] == '>')
            return sl > 0;
        if (!(pl == 1 && pat[0] == '*') && (pl != sl || strncmp(pat, subj, pl)))
            return false;
        if (!pat[pl] || !subj[sl])
            return !pat[pl] && !subj[sl];
        pat += pl + 1;
        subj += sl + 1;
    }
}

/* Where a message published by account p on subject s shows up in
 * account q, under the configuration above: the subject q sees, or NULL. */
static const char *seen_as(int p, const char *s, int q, char *buf, size_t n)
{
    if (p == q)
        return s;
    if (p == 1 && q == 2 && match("pub.>", s)) {    /* A → B, prefix fromA */
        snprintf(buf, n, "fromA.%s", s);
        return buf;
    }
    if (p == 2 && q == 1 && match("asvc.>", s)) {   /* B's request → A */
        const char *rest = strchr(s, '.'); /* after "asvc." */
        snprintf(buf, n, "svc.%s", rest ? rest + 1 : "");
        return buf;
    }
    return NULL;
}

typedef struct party {
    natsConnection   *pub, *sub;
    natsSubscription *subs[NPAT];
    natsSubscription *sentinels;      /* on sub: sentinel.> */
    natsSubscription *inbox;          /* on pub: _INBOX.<acc>.> */
    natsSubscription *pub_sentinels;  /* on pub: sentinel.> */
} party;

static natsConnection *connect_user(const it_server *s, const char *user)
{
    natsConnection *nc = it_nats_login(s, user, user);
    IT_CHECK(nc != NULL, "user %s connects", user);
    return nc;
}

/* Wait until sub holds `want` messages with payload tag (others count
 * too but are not waited for). */
static bool await_tagged(natsSubscription *sub, const char *tag, int want, natsMsg **keep, int *nkeep)
{
    int got = 0;
    int64_t deadline = it_now_ms() + 5000;
    while (got < want && it_now_ms() < deadline) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 100) != NATS_OK)
            continue;
        if (!strcmp(natsMsg_GetData(m), tag))
            got++;
        if (keep && *nkeep < 64)
            keep[(*nkeep)++] = m;
        else
            natsMsg_Destroy(m);
    }
    return got == want;
}

int main(void)
{
    it_server s;
    it_opts o = {.auth_yaml = yaml, .auth_conf = conf};
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts"))
        return it_summary();
    party pa[NACC];
    memset(pa, 0, sizeof pa);
    for (int i = 0; i < NACC; i++) {
        pa[i].pub = connect_user(&s, users[i]);
        pa[i].sub = connect_user(&s, users[i]);
        if (!pa[i].pub || !pa[i].sub)
            goto out;
        for (size_t k = 0; k < NPAT; k++)
            natsConnection_SubscribeSync(&pa[i].subs[k], pa[i].sub, patterns[k]);
        natsConnection_SubscribeSync(&pa[i].sentinels, pa[i].sub, "sentinel.>");
        char inbox[32];
        snprintf(inbox, sizeof inbox, "_INBOX.%s.>", acc_names[i]);
        natsConnection_SubscribeSync(&pa[i].inbox, pa[i].pub, inbox);
        natsConnection_SubscribeSync(&pa[i].pub_sentinels, pa[i].pub, "sentinel.>");
        natsConnection_Flush(pa[i].sub);
        natsConnection_Flush(pa[i].pub);
    }

    /* Round 1: every account publishes every subject with a reply. */
    for (int p = 0; p < NACC; p++) {
        for (size_t k = 0; k < NSUBJ; k++) {
            char reply[64], body[96];
            snprintf(reply, sizeof reply, "_INBOX.%s.%zu", acc_names[p], k);
            snprintf(body, sizeof body, "iso:%d:%s", p, subjects[k]);
            natsConnection_PublishRequestString(pa[p].pub, subjects[k], reply, body);
        }
        char sentinel[32];
        snprintf(sentinel, sizeof sentinel, "sentinel.%s", acc_names[p]);
        natsConnection_PublishString(pa[p].pub, sentinel, "s1");
        natsConnection_Flush(pa[p].pub);
    }

    /* Each receiver: wait for the sentinels, then compare what arrived
     * with the model, and answer every reply. */
    for (int q = 0; q < NACC; q++) {
        int want = q == 0 ? 1 : NACC - 1;   /* $G imports nothing */
        IT_CHECK(await_tagged(pa[q].sentinels, "s1", want, NULL, NULL),
                 "account %s gets the round-1 sentinels", acc_names[q]);
        for (size_t k = 0; k < NPAT; k++) {
            int expected = 0, got = 0;
            for (int p = 0; p < NACC; p++)
                for (size_t j = 0; j < NSUBJ; j++) {
                    char buf[96];
                    const char *as = seen_as(p, subjects[j], q, buf, sizeof buf);
                    expected += as && match(patterns[k], as);
                }
            int pending = 0, bytes = 0;
            natsSubscription_GetPending(pa[q].subs[k], &pending, &bytes);
            for (int i = 0; i < pending; i++) {
                natsMsg *m = NULL;
                if (natsSubscription_NextMsg(&m, pa[q].subs[k], 1000) != NATS_OK)
                    break;
                const char *d = natsMsg_GetData(m);
                int p = -1;
                char subj[96] = "";
                if (strncmp(d, "iso:", 4) == 0 && sscanf(d, "iso:%d:%95s", &p, subj) == 2) {
                    char buf[96];
                    const char *as = seen_as(p, subj, q, buf, sizeof buf);
                    got++;
                    IT_CHECK(as && !strcmp(as, natsMsg_GetSubject(m)) && match(patterns[k], as),
                             "%s's '%s' got %s from %s (published on %s): allowed by the model",
                             acc_names[q], patterns[k], natsMsg_GetSubject(m), acc_names[p], subj);
                    const char *reply = natsMsg_GetReply(m);
                    IT_CHECK(reply != NULL, "the reply subject is kept");
                    if (reply) {
                        char resp[32];
                        snprintf(resp, sizeof resp, "resp:%s", acc_names[q]);
                        natsConnection_PublishString(pa[q].sub, reply, resp);
                    }
                }
                natsMsg_Destroy(m);
            }
            IT_CHECK(got == expected, "%s's '%s' got %d messages, the model says %d",
                     acc_names[q], patterns[k], got, expected);
        }
        char sentinel[32];
        snprintf(sentinel, sizeof sentinel, "sentinel.%s", acc_names[q]);
        natsConnection_PublishString(pa[q].sub, sentinel, "s2");
        natsConnection_Flush(pa[q].sub);
    }

    /* Answers reach only the publisher's own account (and B's requests
     * through the service import get A's answers). */
    for (int p = 0; p < NACC; p++) {
        int want = p == 0 ? 1 : NACC - 1;
        IT_CHECK(await_tagged(pa[p].pub_sentinels, "s2", want, NULL, NULL),
                 "account %s gets the round-2 sentinels", acc_names[p]);
        int pending = 0, bytes = 0, own = 0, from_a = 0;
        natsSubscription_GetPending(pa[p].inbox, &pending, &bytes);
        for (int i = 0; i < pending; i++) {
            natsMsg *m = NULL;
            if (natsSubscription_NextMsg(&m, pa[p].inbox, 1000) != NATS_OK)
                break;
            char want_own[32];
            snprintf(want_own, sizeof want_own, "resp:%s", acc_names[p]);
            const char *d = natsMsg_GetData(m);
            if (!strcmp(d, want_own)) {
                own++;
            } else {
                bool svc = p == 2 && !strcmp(d, "resp:A") &&
                           !strcmp(natsMsg_GetSubject(m), "_INBOX.B.8"); /* asvc.q */
                from_a += svc;
                IT_CHECK(svc, "%s's inbox got '%s' on %s: only its own account answers",
                         acc_names[p], d, natsMsg_GetSubject(m));
            }
            natsMsg_Destroy(m);
        }
        IT_CHECK(own > 0, "%s gets answers from its own account (%d)", acc_names[p], own);
        if (p == 2)
            IT_CHECK(from_a == 1, "B's request through the service import is answered once "
                     "by A (singleton): %d", from_a);
    }

out:
    for (int i = 0; i < NACC; i++) {
        for (size_t k = 0; k < NPAT; k++)
            natsSubscription_Destroy(pa[i].subs[k]);
        natsSubscription_Destroy(pa[i].sentinels);
        natsSubscription_Destroy(pa[i].inbox);
        natsSubscription_Destroy(pa[i].pub_sentinels);
        natsConnection_Destroy(pa[i].pub);
        natsConnection_Destroy(pa[i].sub);
    }
    it_server_stop(&s);
    return it_summary();
}
