/* Exports and imports between accounts (issue 5): stream imports with a
 * prefix and with a subject mapping, service imports with `to`, requests
 * across the account boundary with each response type (singleton, stream,
 * chunked: how many responses pass, an empty response ending a stream,
 * response_threshold expiry), no-responders through an import, and
 * configurations nats-server refuses (import without a matching export,
 * restricted export, cycle). The same checks run against nats-server with
 * TERN_TEST_SERVER=nats-server. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define THRESHOLD_MS 300
/* "s3cret", cost 4; and the user key pair of test_auth.c */
#define BCRYPT    "$2b$04$zY9U3scvoA0VB2XuNskCvupmZJmiRJfD5fUgCi4/M.VRCIX/koctW"
#define USER_SEED "SUAJ5DFIFHFL7KKS6NQBQRIZTF7I6WM6PWUBG3YNKSAPLUK24TREB7WUHY"
#define USER_PUB  "UBLEFVRS74IECMLNLVKR57BMDKF6KCF44PPF3LJKYAJQLLYBDCLNHW7I"

static const char yaml[] =
    "accounts:\n"
    "  A:\n"
    "    users: [ {user: a, password: a}, {user: bc, password: \"" BCRYPT "\"} ]\n"
    "    exports:\n"
    "      - { service: \"single.>\" }\n"
    "      - { service: strm, response: stream, response_threshold: 300ms }\n"
    "      - { service: chunk, response: chunked }\n"
    "      - { stream: \"ticks.>\" }\n"
    "      - { stream: \"map.*.*\" }\n"
    "      - { stream: done }\n"
    "  B:\n"
    "    users: [ {user: b, password: b}, {nkey: " USER_PUB "} ]\n"
    "    imports:\n"
    "      - { service: { account: A, subject: \"single.>\" }, to: \"a.single.>\" }\n"
    "      - { service: { account: A, subject: strm } }\n"
    "      - { service: { account: A, subject: chunk }, to: a.chunk }\n"
    "      - { stream: { account: A, subject: \"ticks.>\" }, prefix: fromA }\n"
    "      - { stream: { account: A, subject: \"map.*.*\" }, to: \"mapped.$2.$1\" }\n"
    "      - { stream: { account: A, subject: done } }\n";

static const char conf[] =
    "accounts {\n"
    "  A { users: [ {user: a, password: a}, {user: bc, password: \"" BCRYPT "\"} ]\n"
    "      exports: [ {service: \"single.>\"}, {service: strm, response: stream, threshold: \"300ms\"},\n"
    "                 {service: chunk, response: chunked}, {stream: \"ticks.>\"}, {stream: \"map.*.*\"},\n"
    "                 {stream: done} ] }\n"
    "  B { users: [ {user: b, password: b}, {nkey: " USER_PUB "} ]\n"
    "      imports: [ {service: {account: A, subject: \"single.>\"}, to: \"a.single.>\"},\n"
    "                 {service: {account: A, subject: strm}},\n"
    "                 {service: {account: A, subject: chunk}, to: a.chunk},\n"
    "                 {stream: {account: A, subject: \"ticks.>\"}, prefix: fromA},\n"
    "                 {stream: {account: A, subject: \"map.*.*\"}, to: \"mapped.$2.$1\"},\n"
    "                 {stream: {account: A, subject: done}} ] }\n"
    "}\n";

static natsConnection *connect_user(const it_server *s, const char *user)
{
    natsConnection *nc = it_nats_login(s, user, user);
    IT_CHECK(nc != NULL, "user %s connects", user);
    return nc;
}

static bool next_is(natsSubscription *sub, const char *subject, const char *data)
{
    natsMsg *m = NULL;
    if (natsSubscription_NextMsg(&m, sub, 5000) != NATS_OK)
        return IT_CHECK(false, "a message on %s ('%s') arrives", subject, data);
    bool ok = IT_CHECK(!strcmp(natsMsg_GetSubject(m), subject) && !strcmp(natsMsg_GetData(m), data),
                       "got %s '%s', want %s '%s'", natsMsg_GetSubject(m), natsMsg_GetData(m),
                       subject, data);
    natsMsg_Destroy(m);
    return ok;
}

static natsConnection *connect_opts(const it_server *s, const char *user, const char *pass,
                                    const char *seed_file)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, s->url);
    natsOptions_SetAllowReconnect(o, false);
    natsOptions_SetTimeout(o, 5000);
    if (user)
        natsOptions_SetUserInfo(o, user, pass);
    if (seed_file)
        natsOptions_SetNKeyFromSeed(o, USER_PUB, seed_file);
    natsStatus st = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    IT_CHECK(st == NATS_OK, "%s connects (%s)", user ? user : "the nkey user", natsStatus_GetText(st));
    return st == NATS_OK ? nc : NULL;
}

/* A bcrypt user lands in A, an nkey user in B. */
static void test_user_kinds(const it_server *s, natsConnection *a)
{
    char dir[] = "/tmp/tern-acc-XXXXXX", seed[64];
    if (!mkdtemp(dir))
        return;
    snprintf(seed, sizeof seed, "%s/user.nk", dir);
    FILE *f = fopen(seed, "w");
    if (f) {
        fputs(USER_SEED "\n", f);
        fclose(f);
    }
    natsConnection *bc = connect_opts(s, "bc", "s3cret", NULL);
    natsConnection *nk = connect_opts(s, NULL, NULL, seed);
    natsSubscription *in_a = NULL, *in_b = NULL;
    if (bc && nk) {
        natsConnection_SubscribeSync(&in_a, bc, "ticks.>");
        natsConnection_SubscribeSync(&in_b, nk, "fromA.ticks.>");
        natsConnection_Flush(bc);
        natsConnection_Flush(nk);
        natsConnection_PublishString(a, "ticks.kinds", "k");
        natsConnection_Flush(a);
        next_is(in_a, "ticks.kinds", "k");     /* the bcrypt user is in A */
        next_is(in_b, "fromA.ticks.kinds", "k"); /* the nkey user in B */
    }
    natsSubscription_Destroy(in_a);
    natsSubscription_Destroy(in_b);
    natsConnection_Destroy(bc);
    natsConnection_Destroy(nk);
    unlink(seed);
    rmdir(dir);
}

/* A publishes on `done` (imported by B): once B has it, everything A
 * published before has reached B (per-publisher order). */
static void barrier(natsConnection *a, natsSubscription *b_done)
{
    natsConnection_PublishString(a, "done", "barrier");
    natsConnection_Flush(a);
    next_is(b_done, "done", "barrier");
}

static int pending(natsSubscription *sub)
{
    int n = 0, bytes = 0;
    natsSubscription_GetPending(sub, &n, &bytes);
    return n;
}

static void test_streams(natsConnection *a, natsConnection *b, natsSubscription *done)
{
    natsSubscription *pre = NULL, *map = NULL, *all = NULL;
    natsConnection_SubscribeSync(&pre, b, "fromA.ticks.>");
    natsConnection_SubscribeSync(&map, b, "mapped.>");
    natsConnection_SubscribeSync(&all, b, "ticks.>");      /* not imported as such */
    natsConnection_Flush(b);
    natsConnection_PublishString(a, "ticks.eur", "1.1");
    natsConnection_PublishString(a, "map.x.y", "m");
    natsConnection_PublishString(a, "map.x", "not matching the export");
    barrier(a, done);
    next_is(pre, "fromA.ticks.eur", "1.1");
    next_is(map, "mapped.y.x", "m");
    IT_CHECK(pending(map) == 0 && pending(all) == 0 && pending(pre) == 0,
             "nothing else arrives (%d, %d, %d)", pending(map), pending(all), pending(pre));
    natsSubscription_Destroy(pre);
    natsSubscription_Destroy(map);
    natsSubscription_Destroy(all);
}

static void test_singleton(natsConnection *a, natsConnection *b)
{
    natsSubscription *svc = NULL;
    natsConnection_SubscribeSync(&svc, a, "single.>");
    natsConnection_Flush(a);
    /* a whole request/reply through cnats */
    natsMsg *req = NULL;
    natsStatus st = NATS_OK;
    natsSubscription *inbox = NULL;
    natsConnection_SubscribeSync(&inbox, b, "_INBOX.single.>");
    natsConnection_Flush(b);
    natsConnection_PublishRequestString(b, "a.single.add", "_INBOX.single.1", "1+2");
    natsConnection_Flush(b);
    st = natsSubscription_NextMsg(&req, svc, 5000);
    if (IT_CHECK(st == NATS_OK, "the request reaches A")) {
        IT_CHECK(!strcmp(natsMsg_GetSubject(req), "single.add"), "on A's subject: %s",
                 natsMsg_GetSubject(req));
        const char *reply = natsMsg_GetReply(req);
        IT_CHECK(reply && !strncmp(reply, "_R_.", 4) && strlen(reply) == 17,
                 "with a reply _R_.xxxxxx.yyyyyy: %s", reply ? reply : "(none)");
        natsConnection_PublishString(a, reply, "3");
        natsConnection_PublishString(a, reply, "second");   /* singleton: dropped */
        natsConnection_Flush(a);
    }
    natsMsg_Destroy(req);
    next_is(inbox, "_INBOX.single.1", "3");
    natsConnection_PublishRequestString(b, "a.single.sync", "_INBOX.single.2", "sync");
    natsConnection_Flush(b);
    req = NULL;
    if (natsSubscription_NextMsg(&req, svc, 5000) == NATS_OK) {
        natsConnection_PublishString(a, natsMsg_GetReply(req), "synced");
        natsConnection_Flush(a);
    }
    natsMsg_Destroy(req);
    /* "second" would have come before "synced" (per-publisher order) */
    next_is(inbox, "_INBOX.single.2", "synced");
    natsSubscription_Destroy(svc);
    natsSubscription_Destroy(inbox);
}

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub;
    (void)closure;
    char out[128];
    snprintf(out, sizeof out, "echo:%s:%s", natsMsg_GetSubject(m), natsMsg_GetData(m));
    natsConnection_PublishString(nc, natsMsg_GetReply(m), out);
    natsMsg_Destroy(m);
}

/* cnats' request API against a responder in another account. */
static void test_request_api(natsConnection *a, natsConnection *b)
{
    natsSubscription *svc = NULL;
    natsConnection_Subscribe(&svc, a, "single.>", on_request, NULL);
    natsConnection_Flush(a);
    for (int i = 0; i < 20; i++) {
        natsMsg *resp = NULL;
        char body[16];
        snprintf(body, sizeof body, "%d", i);
        natsStatus st = natsConnection_RequestString(&resp, b, "a.single.echo", body, 5000);
        char want[64];
        snprintf(want, sizeof want, "echo:single.echo:%d", i);
        IT_CHECK(st == NATS_OK && !strcmp(natsMsg_GetData(resp), want),
                 "request %d across accounts answered (%s)", i, natsStatus_GetText(st));
        natsMsg_Destroy(resp);
    }
    natsSubscription_Unsubscribe(svc);
    natsSubscription_Destroy(svc);
    natsConnection_Flush(a);
}

/* Several requesters at once (connections spread over the workers): every
 * request gets its own answer through the shared response map. */
typedef struct requester {
    const it_server *s;
    int id, ok;
} requester;

static void *request_loop(void *arg)
{
    requester *r = arg;
    natsConnection *b = connect_user(r->s, "b");
    for (int i = 0; b && i < 200; i++) {
        char body[32], want[64];
        snprintf(body, sizeof body, "%d-%d", r->id, i);
        snprintf(want, sizeof want, "echo:single.echo:%s", body);
        natsMsg *resp = NULL;
        if (natsConnection_RequestString(&resp, b, "a.single.echo", body, 5000) == NATS_OK &&
            !strcmp(natsMsg_GetData(resp), want))
            r->ok++;
        natsMsg_Destroy(resp);
    }
    natsConnection_Destroy(b);
    return NULL;
}

static void test_concurrent_requests(const it_server *s, natsConnection *a)
{
    natsSubscription *svc = NULL;
    natsConnection_QueueSubscribe(&svc, a, "single.>", "q", on_request, NULL);
    natsConnection *a2 = connect_user(s, "a");
    natsSubscription *svc2 = NULL;
    if (a2)
        natsConnection_QueueSubscribe(&svc2, a2, "single.>", "q", on_request, NULL);
    natsConnection_Flush(a);
    if (a2)
        natsConnection_Flush(a2);
    pthread_t t[4];
    requester r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (requester){s, i, 0};
        pthread_create(&t[i], NULL, request_loop, &r[i]);
    }
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ok += r[i].ok;
    }
    IT_CHECK(ok == 800, "800 concurrent requests across accounts answered: %d", ok);
    natsSubscription_Unsubscribe(svc);
    natsSubscription_Destroy(svc);
    natsSubscription_Destroy(svc2);
    natsConnection_Destroy(a2);
    natsConnection_Flush(a);
}

/* Responses of a stream / chunked export: several pass; an empty one ends
 * the mapping; so does the threshold (stream export, 300 ms). */
static void test_multi(natsConnection *a, natsConnection *b, natsSubscription *done,
                       const char *subject, const char *import, bool expiry)
{
    natsSubscription *svc = NULL, *inbox = NULL;
    natsConnection_SubscribeSync(&svc, a, subject);
    natsConnection_SubscribeSync(&inbox, b, "_INBOX.multi.>");
    natsConnection_Flush(a);
    natsConnection_Flush(b);

    natsConnection_PublishRequestString(b, import, "_INBOX.multi.1", "go");
    natsConnection_Flush(b);
    natsMsg *req = NULL;
    if (!IT_CHECK(natsSubscription_NextMsg(&req, svc, 5000) == NATS_OK, "%s: request arrives", subject))
        goto out;
    const char *reply = natsMsg_GetReply(req);
    natsConnection_PublishString(a, reply, "one");
    natsConnection_PublishString(a, reply, "two");
    natsConnection_Publish(a, reply, NULL, 0);          /* the end */
    natsConnection_PublishString(a, reply, "after the end");
    barrier(a, done);
    next_is(inbox, "_INBOX.multi.1", "one");
    next_is(inbox, "_INBOX.multi.1", "two");
    next_is(inbox, "_INBOX.multi.1", "");
    IT_CHECK(pending(inbox) == 0, "%s: nothing after the empty response (%d)", subject, pending(inbox));
    natsMsg_Destroy(req);
    req = NULL;

    if (expiry) {
        natsConnection_PublishRequestString(b, import, "_INBOX.multi.2", "go");
        natsConnection_Flush(b);
        if (!IT_CHECK(natsSubscription_NextMsg(&req, svc, 5000) == NATS_OK, "second request"))
            goto out;
        reply = natsMsg_GetReply(req);
        natsConnection_PublishString(a, reply, "in time");
        natsConnection_Flush(a);
        next_is(inbox, "_INBOX.multi.2", "in time");
        /* the threshold runs from the last response: wait it out */
        int64_t until = it_now_ms() + 2 * THRESHOLD_MS + 300; /* nats-server sweeps on a timer */
        while (it_now_ms() < until)
            it_poll_pause();
        natsConnection_PublishString(a, reply, "too late");
        barrier(a, done);
        IT_CHECK(pending(inbox) == 0, "%s: a response after response_threshold is dropped (%d)",
                 subject, pending(inbox));
    }
out:
    natsMsg_Destroy(req);
    natsSubscription_Destroy(svc);
    natsSubscription_Destroy(inbox);
}

/* No responder in A: nats-server 2.9.10 counts the service import as the
 * request's receiver, so the requester gets no no-responders status but
 * a timeout. */
static void test_no_responders(natsConnection *b)
{
    natsMsg *resp = NULL;
    natsStatus st = natsConnection_RequestString(&resp, b, "a.single.nobody", "x", 300);
    IT_CHECK(st == NATS_TIMEOUT, "a request nobody in A serves times out, as with nats-server (%s)",
             natsStatus_GetText(st));
    natsMsg_Destroy(resp);
}

static void test_config_errors(void)
{
    static const struct {
        const char *yaml, *conf, *tern_err, *what;
    } cases[] = {
        {"accounts:\n  A: { exports: [ {stream: \"x.>\"} ] }\n"
         "  B: { imports: [ {stream: {account: A, subject: \"y.>\"}} ] }\n",
         "accounts { A { exports: [ {stream: \"x.>\"} ] }\n"
         " B { imports: [ {stream: {account: A, subject: \"y.>\"}} ] } }\n",
         ":3:19: stream import of \"y.>\" from account \"A\": no matching stream export",
         "an import without a matching export"},
        {"accounts:\n  A: { exports: [ {service: svc, accounts: [C]} ] }\n"
         "  B: { imports: [ {service: {account: A, subject: svc}} ] }\n  C: {}\n",
         "accounts { A { exports: [ {service: svc, accounts: [C]} ] }\n"
         " B { imports: [ {service: {account: A, subject: svc}} ] }\n C {} }\n",
         "the export is restricted and does not allow account \"B\"", "a restricted export"},
        {"accounts:\n  A: { exports: [ {service: q}], imports: [ {service: {account: B, subject: q}} ] }\n"
         "  B: { exports: [ {service: q}], imports: [ {service: {account: A, subject: q}} ] }\n",
         "accounts { A { exports: [ {service: q}], imports: [ {service: {account: B, subject: q}} ] }\n"
         " B { exports: [ {service: q}], imports: [ {service: {account: A, subject: q}} ] } }\n",
         "forms a cycle", "an import cycle"},
        {"accounts:\n  B: { imports: [ {stream: {account: Z, subject: x}} ] }\n",
         "accounts { B { imports: [ {stream: {account: Z, subject: x}} ] } }\n",
         "unknown account \"Z\"", "an unknown account"},
        {"accounts:\n  A: { users: [ {user: u, password: p} ] }\n  B: { users: [ {user: u, password: q} ] }\n",
         "accounts { A { users: [ {user: u, password: p} ] }\n B { users: [ {user: u, password: q} ] } }\n",
         "Duplicate user \"u\" detected", "a user defined twice"},
    };
    bool nats = getenv("TERN_TEST_SERVER") && !strcmp(getenv("TERN_TEST_SERVER"), "nats-server");
    const char *bin = nats ? (getenv("TERN_NATS_SERVER") ? getenv("TERN_NATS_SERVER") : "nats-server")
                           : getenv("TERN_TERND");
    if (!IT_CHECK(bin != NULL, "TERN_TERND names ternd (set by ctest)"))
        return;
    char dir[] = "/tmp/tern-acc-XXXXXX";
    if (!IT_CHECK(mkdtemp(dir) != NULL, "temp dir"))
        return;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* the configuration check (-t) reads, validates and exits */
        char path[128], cmd[512];
        snprintf(path, sizeof path, "%s/accounts.%s", dir, nats ? "conf" : "yaml");
        FILE *f = fopen(path, "w");
        if (!f)
            continue;
        fputs(nats ? cases[i].conf : cases[i].yaml, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "%s -t -c %s 2>&1", bin, path);
        FILE *p = popen(cmd, "r");
        char out[4096] = "";
        size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = '\0';
        int status = p ? pclose(p) : -1;
        IT_CHECK(status != 0, "%s is refused: %s", cases[i].what, out);
        if (!nats) {
            char want[512];
            snprintf(want, sizeof want, "%s%s", cases[i].tern_err[0] == ':' ? path : "",
                     cases[i].tern_err);
            IT_CHECK(strstr(out, want) != NULL, "%s: the error says '%s': %s", cases[i].what, want,
                     out);
        }
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    it_server s;
    it_opts o = {.auth_yaml = yaml, .auth_conf = conf};
    if (!IT_CHECK(it_server_start(&s, &o) == 0, "server starts"))
        return it_summary();
    natsConnection *a = connect_user(&s, "a"), *b = connect_user(&s, "b");
    natsSubscription *done = NULL;
    if (a && b) {
        natsConnection_SubscribeSync(&done, b, "done");
        natsConnection_Flush(b);
        test_streams(a, b, done);
        test_user_kinds(&s, a);
        test_singleton(a, b);
        test_request_api(a, b);
        test_concurrent_requests(&s, a);
        test_multi(a, b, done, "strm", "strm", true);
        test_multi(a, b, done, "chunk", "a.chunk", false);
        test_no_responders(b);
    }
    natsSubscription_Destroy(done);
    natsConnection_Destroy(a);
    natsConnection_Destroy(b);
    it_server_stop(&s);
    test_config_errors();
    return it_summary();
}
