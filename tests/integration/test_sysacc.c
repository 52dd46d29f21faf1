/* The system account (docs/system-account.md): a client of the system
 * account sees CONNECT/DISCONNECT events with nats-server 2.9's type
 * strings, PING and per-server VARZ are answered, an ordinary account
 * asks for its own STATZ through the automatic import, and an ordinary
 * account sees nothing of $SYS. The same scenario runs against the
 * reference nats-server (when installed) and the JSON key sets must be
 * the same. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char yaml[] =
    "system_account: SYS\n"
    "accounts:\n"
    "  A:\n"
    "    users: [ {user: a, password: a} ]\n"
    "  SYS:\n"
    "    users: [ {user: s, password: s} ]\n";

static const char conf[] =
    "system_account: SYS\n"
    "accounts {\n"
    "  A { users: [ {user: a, password: a} ] }\n"
    "  SYS { users: [ {user: s, password: s} ] }\n"
    "}\n";

#define CONNECT_TYPE    "io.nats.server.advisory.v1.client_connect"
#define DISCONNECT_TYPE "io.nats.server.advisory.v1.client_disconnect"

/* ---- JSON key sets -------------------------------------------------------- */

/* Key paths of a JSON document down to maxdepth levels ("client.acc"),
 * sorted and joined by spaces: enough to compare two servers' shapes
 * without a JSON library. */
typedef struct keyset {
    char  *keys[256];
    size_t n;
} keyset;

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

static const char *str_end(const char *p) /* p at the opening quote */
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p ? p + 1 : p;
}

static const char *value(const char *p, const char *prefix, int depth, int maxdepth, keyset *k);

static const char *object(const char *p, const char *prefix, int depth, int maxdepth, keyset *k)
{
    p = ws(p + 1);
    while (*p == '"') {
        const char *ks = p + 1, *ke = str_end(p);
        char path[256];
        snprintf(path, sizeof path, "%s%.*s", prefix, (int)(ke - 1 - ks), ks);
        if (k && depth < maxdepth && k->n < 256)
            k->keys[k->n++] = strdup(path);
        p = ws(ke);
        if (*p == ':')
            p = ws(p + 1);
        char sub[260];
        snprintf(sub, sizeof sub, "%s.", path);
        p = value(p, sub, depth + 1, maxdepth, k);
        p = ws(p);
        if (*p == ',')
            p = ws(p + 1);
    }
    return *p ? p + 1 : p;
}

static const char *value(const char *p, const char *prefix, int depth, int maxdepth, keyset *k)
{
    p = ws(p);
    if (*p == '{')
        return object(p, prefix, depth, maxdepth, k);
    if (*p == '[') {            /* arrays: not descended */
        p = ws(p + 1);
        while (*p && *p != ']') {
            p = value(p, "", 0, 0, NULL);
            p = ws(p);
            if (*p == ',')
                p = ws(p + 1);
        }
        return *p ? p + 1 : p;
    }
    if (*p == '"')
        return str_end(p);
    while (*p && *p != ',' && *p != '}' && *p != ']')
        p++;
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *key_set(const char *json, int maxdepth)
{
    if (!json)
        return strdup("(none)");
    keyset k = {.n = 0};
    value(json, "", 0, maxdepth, &k);
    qsort(k.keys, k.n, sizeof *k.keys, cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < k.n; i++)
        len += strlen(k.keys[i]) + 1;
    char *out = calloc(1, len);
    for (size_t i = 0; i < k.n; i++) {
        strcat(out, k.keys[i]);
        if (i + 1 < k.n)
            strcat(out, " ");
        free(k.keys[i]);
    }
    return out;
}

/* ---- one server's answers ---------------------------------------------------- */

enum { R_CONNECT, R_DISCONNECT, R_PING, R_VARZ, R_STATZ, R_CONNZ, R_BADJSON, R_AUTHERR,
       R_STATSZ, R_N };
static const char *const rnames[R_N] = {"CONNECT event", "DISCONNECT event", "PING reply",
                                        "VARZ reply", "account STATZ reply",
                                        "account CONNZ reply", "bad-JSON reply",
                                        "AUTH.ERR event", "STATSZ event"};
/* How deep the key sets are compared: the documents themselves are the
 * docs builders' (tested by their own tests); here the envelopes. */
static const int rdepth[R_N] = {2, 2, 2, 1, 2, 1, 2, 2, 2};

typedef struct result {
    char *json[R_N];
} result;

static natsConnection *connect_as(const it_server *s, const char *user, const char *name)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, s->url);
    natsOptions_SetUserInfo(o, user, user);
    natsOptions_SetName(o, name);
    natsOptions_SetAllowReconnect(o, false);
    natsOptions_SetTimeout(o, 5000);
    natsStatus st = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    if (st != NATS_OK) {
        fprintf(stderr, "connect %s: %s\n", user, natsStatus_GetText(st));
        return NULL;
    }
    return nc;
}

static char *msg_text(natsMsg *m)
{
    if (!m)
        return NULL;
    char *t = strndup(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
    return t;
}

static char *next_text(natsSubscription *sub, int timeout_ms)
{
    natsMsg *m = NULL;
    if (natsSubscription_NextMsg(&m, sub, timeout_ms) != NATS_OK)
        return NULL;
    return msg_text(m);
}

static char *request(natsConnection *nc, const char *subject, const char *body)
{
    natsMsg *m = NULL;
    if (natsConnection_RequestString(&m, nc, subject, body, 3000) != NATS_OK)
        return NULL;
    return msg_text(m);
}

static void run(const it_server *s, result *r)
{
    const char *kind = s->is_nats ? "nats-server" : "ternd";
    natsConnection *sys = connect_as(s, "s", "sys");
    if (!IT_CHECK(sys != NULL, "[%s] system account client connects", kind))
        return;
    natsSubscription *con = NULL, *dis = NULL;
    natsConnection_SubscribeSync(&con, sys, "$SYS.ACCOUNT.A.CONNECT");
    natsConnection_SubscribeSync(&dis, sys, "$SYS.ACCOUNT.A.DISCONNECT");
    natsConnection_Flush(sys);

    /* events of a client of A */
    natsConnection *a = connect_as(s, "a", "client-a");
    IT_CHECK(a != NULL, "[%s] client of A connects", kind);
    r->json[R_CONNECT] = next_text(con, 3000);
    IT_CHECK(r->json[R_CONNECT] && strstr(r->json[R_CONNECT], "\"type\":\"" CONNECT_TYPE "\""),
             "[%s] CONNECT event with type %s: %s", kind, CONNECT_TYPE,
             r->json[R_CONNECT] ? r->json[R_CONNECT] : "(none)");
    IT_CHECK(r->json[R_CONNECT] && strstr(r->json[R_CONNECT], "\"name\":\"client-a\"") &&
                 strstr(r->json[R_CONNECT], "\"acc\":\"A\""),
             "[%s] CONNECT event names the client and its account", kind);

    /* the automatic imports: A asks about itself, and only itself */
    if (a) {
        r->json[R_STATZ] = request(a, "$SYS.REQ.ACCOUNT.PING.STATZ", "");
        IT_CHECK(r->json[R_STATZ] && strstr(r->json[R_STATZ], "\"acc\":\"A\"") &&
                     !strstr(r->json[R_STATZ], "\"acc\":\"SYS\""),
                 "[%s] STATZ through the import reports account A only: %s", kind,
                 r->json[R_STATZ] ? r->json[R_STATZ] : "(none)");
        r->json[R_CONNZ] = request(a, "$SYS.REQ.ACCOUNT.PING.CONNZ", "");
        IT_CHECK(r->json[R_CONNZ] && strstr(r->json[R_CONNZ], "\"num_connections\":1,"),
                 "[%s] CONNZ through the import lists A's one connection", kind);

        /* isolation: nothing else of $SYS is reachable or visible */
        natsMsg *m = NULL;
        natsStatus st = natsConnection_RequestString(&m, a, "$SYS.REQ.SERVER.PING", "", 500);
        IT_CHECK(st != NATS_OK, "[%s] A gets no answer to $SYS.REQ.SERVER.PING", kind);
        natsMsg_Destroy(m);
        m = NULL;
        st = natsConnection_RequestString(&m, a, "$SYS.REQ.ACCOUNT.A.CONNZ", "", 500);
        IT_CHECK(st != NATS_OK, "[%s] A gets no answer to $SYS.REQ.ACCOUNT.A.CONNZ", kind);
        natsMsg_Destroy(m);
        /* nats-server's connz looks a cid up across accounts: ternd keeps
         * the imported CONNZ inside the account. */
        uint64_t sys_cid = 0;
        natsConnection_GetClientID(sys, &sys_cid);
        char opts[64];
        snprintf(opts, sizeof opts, "{\"cid\":%llu}", (unsigned long long)sys_cid);
        char *other = request(a, "$SYS.REQ.ACCOUNT.PING.CONNZ", opts);
        if (!s->is_nats)
            IT_CHECK(other && strstr(other, "\"num_connections\":0,"),
                     "[%s] A cannot see the system account's connection by cid: %s", kind,
                     other ? other : "(none)");
        free(other);
        natsSubscription *spy = NULL;
        natsConnection_SubscribeSync(&spy, a, "$SYS.>");
        natsConnection_Flush(a);
        natsConnection *a2 = connect_as(s, "a", "client-a2"); /* CONNECT event in SYS */
        char *ev = next_text(con, 3000);
        IT_CHECK(ev && strstr(ev, "client-a2"), "[%s] second CONNECT event published", kind);
        free(ev);
        natsConnection_Destroy(a2);
        ev = next_text(dis, 3000);
        free(ev);
        /* a sentinel through A's own space, after the events */
        natsConnection_PublishString(a, "$SYS.sentinel", "x");
        char *first = next_text(spy, 3000);
        IT_CHECK(first && !strcmp(first, "x"),
                 "[%s] A's $SYS.> subscription sees only its own sentinel, got %.80s", kind,
                 first ? first : "(none)");
        free(first);
        natsSubscription_Destroy(spy);
        natsConnection_Close(a);
        natsConnection_Destroy(a);
    }
    r->json[R_DISCONNECT] = next_text(dis, 3000);
    IT_CHECK(r->json[R_DISCONNECT] &&
                 strstr(r->json[R_DISCONNECT], "\"type\":\"" DISCONNECT_TYPE "\"") &&
                 strstr(r->json[R_DISCONNECT], "\"reason\":\"Client Closed\""),
             "[%s] DISCONNECT event with type %s and reason: %s", kind, DISCONNECT_TYPE,
             r->json[R_DISCONNECT] ? r->json[R_DISCONNECT] : "(none)");

    /* requests of the system account */
    r->json[R_PING] = request(sys, "$SYS.REQ.SERVER.PING", "");
    IT_CHECK(r->json[R_PING] && strstr(r->json[R_PING], "\"statsz\":{"),
             "[%s] PING answered with a ServerStatsMsg", kind);
    char id[128] = "", subject[200];
    natsConnection_GetConnectedServerId(sys, id, sizeof id);
    snprintf(subject, sizeof subject, "$SYS.REQ.SERVER.%s.VARZ", id);
    r->json[R_VARZ] = request(sys, subject, "");
    char want[200];
    snprintf(want, sizeof want, "\"server_id\":\"%s\"", id);
    IT_CHECK(r->json[R_VARZ] && strstr(r->json[R_VARZ], "\"data\":{") &&
                 strstr(r->json[R_VARZ], want),
             "[%s] %s answered with this server's varz", kind, subject);
    natsMsg *none = NULL;
    IT_CHECK(natsConnection_RequestString(&none, sys, "$SYS.REQ.SERVER.PING.BOGUS", "", 500) !=
                 NATS_OK,
             "[%s] an unknown endpoint is not answered", kind);
    natsMsg_Destroy(none);
    r->json[R_BADJSON] = request(sys, "$SYS.REQ.SERVER.PING.CONNZ", "{\"bad");
    IT_CHECK(r->json[R_BADJSON] && strstr(r->json[R_BADJSON], "\"code\":400"),
             "[%s] bad request options answered with error 400", kind);

    /* an authentication failure */
    natsSubscription *aerr = NULL, *statsz = NULL;
    snprintf(subject, sizeof subject, "$SYS.SERVER.%s.CLIENT.AUTH.ERR", id);
    natsConnection_SubscribeSync(&aerr, sys, subject);
    snprintf(subject, sizeof subject, "$SYS.SERVER.%s.STATSZ", id);
    natsConnection_SubscribeSync(&statsz, sys, subject);
    natsConnection_Flush(sys);
    it_buf b = {0};
    int fd = it_raw_connect(s->port, 0);
    it_raw_read_until(fd, &b, "\r\n", 3000);
    it_raw_sends(fd, "CONNECT {\"user\":\"a\",\"pass\":\"wrong\",\"verbose\":false}\r\n");
    it_raw_read_to_close(fd, &b, 3000);
    close(fd);
    it_buf_free(&b);
    r->json[R_AUTHERR] = next_text(aerr, 3000);
    IT_CHECK(r->json[R_AUTHERR] &&
                 strstr(r->json[R_AUTHERR], "\"reason\":\"Authentication Failure\"") &&
                 strstr(r->json[R_AUTHERR], "\"type\":\"" DISCONNECT_TYPE "\""),
             "[%s] AUTH.ERR event: %s", kind, r->json[R_AUTHERR] ? r->json[R_AUTHERR] : "(none)");
    /* the heartbeat: intervals double from 250 ms, so one comes soon */
    r->json[R_STATSZ] = next_text(statsz, 5000);
    IT_CHECK(r->json[R_STATSZ] && strstr(r->json[R_STATSZ], "\"statsz\":{"),
             "[%s] periodic STATSZ event", kind);
    natsSubscription_Destroy(aerr);
    natsSubscription_Destroy(statsz);

    natsSubscription_Destroy(con);
    natsSubscription_Destroy(dis);
    natsConnection_Destroy(sys);
}

static bool start(it_server *s, bool reference)
{
    const char *prev = getenv("TERN_TEST_SERVER");
    char *saved = prev ? strdup(prev) : NULL;
    if (reference)
        setenv("TERN_TEST_SERVER", "nats-server", 1);
    it_opts o = {.auth_yaml = yaml, .auth_conf = conf};
    int rc = it_server_start(s, &o);
    if (saved) {
        setenv("TERN_TEST_SERVER", saved, 1);
        free(saved);
    } else {
        unsetenv("TERN_TEST_SERVER");
    }
    return rc == 0;
}

static bool reference_available(void)
{
    const char *v = getenv("TERN_NATS_SERVER");
    if (v && *v)
        return access(v, X_OK) == 0;
    return access("/usr/bin/nats-server", X_OK) == 0 || access("/usr/sbin/nats-server", X_OK) == 0;
}

int main(void)
{
    it_server s = {0};
    result got = {{0}}, ref = {{0}};
    if (!IT_CHECK(start(&s, false), "%s starts", it_server_kind()))
        return it_summary();
    run(&s, &got);
    it_server_stop(&s);

    if (reference_available()) {
        it_server n = {0};
        if (IT_CHECK(start(&n, true), "reference nats-server starts")) {
            run(&n, &ref);
            it_server_stop(&n);
            for (int i = 0; i < R_N; i++) {
                char *k1 = key_set(got.json[i], rdepth[i]);
                char *k2 = key_set(ref.json[i], rdepth[i]);
                IT_CHECK(!strcmp(k1, k2), "%s: same JSON keys as nats-server\n  %s: %s\n  nats-server: %s",
                         rnames[i], it_server_kind(), k1, k2);
                free(k1);
                free(k2);
            }
        }
    } else {
        printf("nats-server not installed: key sets not compared\n");
    }
    for (int i = 0; i < R_N; i++) {
        free(got.json[i]);
        free(ref.json[i]);
    }
    nats_Close();
    return it_summary();
}
