/* Link protocols and module connections (ABI 1.1), through the test
 * module mod_fwd (tests/modules/mod_fwd.c): two real ternd processes,
 * one listening with the module's link protocol and one dialing it,
 * cnats clients on each.
 *   - plain subscriptions across the nodes get each message exactly once
 *     (also over TLS: handshake first, and STARTTLS after plain bytes);
 *   - a queue group with members on both nodes gets each message exactly
 *     once in total; one with members on one node only is served from
 *     the other node across the link;
 *   - removing the interest stops the forwarding (the link's frames are
 *     counted by the module);
 *   - closing the link removes the remote interest (the kernel's
 *     interest events for the link's protocol go back to none);
 *   - a MAIN_THREAD protocol (an echo) runs its callbacks on the main
 *     thread;
 *   - a key set with client_info_set sits in the clients' INFO where
 *     nats-server puts it (connect_urls after client_ip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define MODDIR TERN_TEST_MODULES_DIR
#define N_MSGS 50

static char dir[128];

/* ---- helpers ---------------------------------------------------------------- */

/* A CA and one node certificate (server and client use, for 127.0.0.1
 * and localhost) that both nodes present. */
static int make_certs(void)
{
    return it_make_cert(dir, "ca", "Tern Link CA", NULL, NULL) ||
           it_make_cert(dir, "node", "localhost",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                        "extendedKeyUsage=serverAuth,clientAuth",
                        "ca");
}

typedef struct stats {
    long links, sent, recv, rsubs, ksrc;
} stats;

static bool get_stats(natsConnection *nc, const char *tag, stats *st)
{
    char subj[64];
    snprintf(subj, sizeof subj, "fwd.%s.stats", tag);
    natsMsg *reply = NULL;
    if (natsConnection_RequestString(&reply, nc, subj, "", 5000) != NATS_OK)
        return false;
    memset(st, 0, sizeof *st);
    int n = sscanf(natsMsg_GetData(reply), "links=%ld sent=%ld recv=%ld rsubs=%ld ksrc=%ld",
                   &st->links, &st->sent, &st->recv, &st->rsubs, &st->ksrc);
    natsMsg_Destroy(reply);
    return n == 5;
}

/* Poll a node's stats until pred holds (bounded). */
static bool await_stats(natsConnection *nc, const char *tag, bool (*pred)(const stats *, long),
                        long arg, stats *out)
{
    int64_t deadline = it_now_ms() + 10000;
    stats st = {0};
    while (it_now_ms() < deadline) {
        if (get_stats(nc, tag, &st) && pred(&st, arg)) {
            if (out)
                *out = st;
            return true;
        }
        it_poll_pause();
    }
    if (out)
        *out = st;
    return false;
}

static bool links_are(const stats *s, long n) { return s->links == n; }
/* Poll until the node's module has (or no longer has) a link's interest
 * in "subject [queue]" of the global account. */
static bool await_has(natsConnection *nc, const char *tag, const char *what, bool want)
{
    char subj[64], q[300];
    snprintf(subj, sizeof subj, "fwd.%s.has", tag);
    snprintf(q, sizeof q, "$G %s", what);
    int64_t deadline = it_now_ms() + 10000;
    while (it_now_ms() < deadline) {
        natsMsg *reply = NULL;
        if (natsConnection_RequestString(&reply, nc, subj, q, 5000) == NATS_OK) {
            bool has = !strcmp(natsMsg_GetData(reply), "yes");
            natsMsg_Destroy(reply);
            if (has == want)
                return true;
        }
        it_poll_pause();
    }
    return false;
}
static bool ksrc_is(const stats *s, long n) { return s->ksrc == n; }

/* Receive from subs (round robin) until total messages arrived or the
 * deadline; per-sub counts in got. Then a PING round trip on each
 * connection: whatever the server queued for them has arrived and would
 * show as pending. Returns the total, pending included. */
static int collect(natsSubscription **subs, natsConnection **conns, size_t n, int total,
                   int *got)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++)
        got[i] = 0;
    int64_t deadline = it_now_ms() + 10000;
    while (sum < total && it_now_ms() < deadline) {
        for (size_t i = 0; i < n; i++) {
            natsMsg *m = NULL;
            if (natsSubscription_NextMsg(&m, subs[i], 5) == NATS_OK) {
                natsMsg_Destroy(m);
                got[i]++;
                sum++;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        natsConnection_Flush(conns[i]);
    for (size_t i = 0; i < n; i++) {
        int pending = 0, bytes = 0;
        natsSubscription_GetPending(subs[i], &pending, &bytes);
        sum += pending;
        got[i] += pending;
    }
    return sum;
}

static void publish_n(natsConnection *nc, const char *subject, int n)
{
    for (int i = 0; i < n; i++) {
        char text[32];
        snprintf(text, sizeof text, "m%d", i);
        natsConnection_PublishString(nc, subject, text);
    }
    natsConnection_Flush(nc);
}

/* ---- the pair of nodes -------------------------------------------------------- */

typedef struct pair {
    it_server a, b;
    natsConnection *ca, *cb;
    char echo_file[256];
} pair;

/* tls: NULL plain, else the module's tls map (first: true/false). */
static bool pair_start(pair *p, const char *tls, const char *name)
{
    memset(p, 0, sizeof *p);
    char port_file[256], yaml[2048], tls_yaml[1024] = "";
    snprintf(port_file, sizeof port_file, "%s/%s.port", dir, name);
    snprintf(p->echo_file, sizeof p->echo_file, "%s/%s.echo", dir, name);
    unlink(port_file);
    unlink(p->echo_file);
    if (tls)
        snprintf(tls_yaml, sizeof tls_yaml,
                 ", tls: { cert: %s/node.pem, key: %s/node.key, ca: %s/ca.pem, first: %s }", dir,
                 dir, dir, tls);
    snprintf(yaml, sizeof yaml,
             "modules:\n  fwd: { path: %s/mod_fwd.so, tag: A, listen: 0, port_file: %s, "
             "echo_port_file: %s%s }\n",
             MODDIR, port_file, p->echo_file, tls_yaml);
    it_opts oa = { .auth_yaml = yaml };
    if (!IT_CHECK(it_server_start(&p->a, &oa) == 0, "%s: node A starts", name))
        return false;
    int port = it_read_port_file(port_file, 10000);
    if (!IT_CHECK(port > 0, "%s: node A's module listens", name))
        return false;
    snprintf(yaml, sizeof yaml,
             "modules:\n  fwd: { path: %s/mod_fwd.so, tag: B, dial: %d%s,"
             " connect_urls: '[\"127.0.0.1:4222\",\"127.0.0.1:4223\"]' }\n",
             MODDIR, port, tls_yaml);
    it_opts ob = { .auth_yaml = yaml };
    if (!IT_CHECK(it_server_start(&p->b, &ob) == 0, "%s: node B starts", name))
        return false;
    p->ca = it_nats_connect(&p->a);
    p->cb = it_nats_connect(&p->b);
    if (!IT_CHECK(p->ca && p->cb, "%s: clients connect to both nodes", name))
        return false;
    return IT_CHECK(await_stats(p->ca, "A", links_are, 1, NULL) &&
                        await_stats(p->cb, "B", links_are, 1, NULL),
                    "%s: the link is up on both nodes", name);
}

static void pair_stop(pair *p)
{
    if (p->ca)
        natsConnection_Destroy(p->ca);
    if (p->cb)
        natsConnection_Destroy(p->cb);
    it_server_stop(&p->b);
    it_server_stop(&p->a);
}

/* Subscribe on nc and wait until the other node's module set the
 * interest. */
static natsSubscription *sub_across(natsConnection *nc, const char *subject, const char *queue,
                                    natsConnection *other, const char *other_tag, bool new_key)
{
    natsSubscription *s = NULL;
    natsStatus st = queue ? natsConnection_QueueSubscribeSync(&s, nc, subject, queue)
                          : natsConnection_SubscribeSync(&s, nc, subject);
    if (st != NATS_OK)
        return NULL;
    natsConnection_Flush(nc);
    char what[256];
    snprintf(what, sizeof what, "%s%s%s", subject, queue ? " " : "", queue ? queue : "");
    if (new_key && !await_has(other, other_tag, what, true)) {
        natsSubscription_Destroy(s);
        return NULL;
    }
    return s;
}

/* ---- scenarios --------------------------------------------------------------- */

static void check_plain(pair *p, const char *name)
{
    natsSubscription *sa = sub_across(p->ca, "x.plain", NULL, p->cb, "B", true);
    natsSubscription *sb = sub_across(p->cb, "x.plain", NULL, p->ca, "A", true);
    if (!IT_CHECK(sa && sb, "%s: plain interest reaches the other node", name))
        return;
    stats a0, b0, a1, b1;
    get_stats(p->ca, "A", &a0);
    get_stats(p->cb, "B", &b0);
    publish_n(p->ca, "x.plain", N_MSGS);
    publish_n(p->cb, "x.plain", N_MSGS);
    natsSubscription *subs[] = { sa, sb };
    natsConnection *conns[] = { p->ca, p->cb };
    int got[2];
    int total = collect(subs, conns, 2, 4 * N_MSGS, got);
    IT_CHECK(got[0] == 2 * N_MSGS && got[1] == 2 * N_MSGS,
             "%s: each plain subscriber gets every message of both nodes once (A %d, B %d of %d)",
             name, got[0], got[1], 2 * N_MSGS);
    IT_CHECK(total == 4 * N_MSGS, "%s: no duplicates (%d)", name, total);
    get_stats(p->ca, "A", &a1);
    get_stats(p->cb, "B", &b1);
    IT_CHECK(a1.sent - a0.sent == N_MSGS && b1.recv - b0.recv == N_MSGS,
             "%s: one link frame per message A->B (sent %ld, received %ld)", name,
             a1.sent - a0.sent, b1.recv - b0.recv);

    /* The kernel reports the link's interest as events of its protocol. */
    IT_CHECK(a1.ksrc >= 1 && b1.ksrc >= 1, "%s: link interest shows in the interest events",
             name);

    /* Interest removal stops the forwarding: B drops x.plain; a marker
     * published after it by the same publisher arrives through the link,
     * so any x.plain forwarded after the removal would have too. */
    natsSubscription *mark = sub_across(p->cb, "x.marker", NULL, p->ca, "A", true);
    IT_CHECK(mark != NULL, "%s: marker interest reaches A", name);
    natsSubscription_Unsubscribe(sb);
    natsConnection_Flush(p->cb);
    IT_CHECK(await_has(p->ca, "A", "x.plain", false), "%s: A forgets B's x.plain interest",
             name);
    get_stats(p->ca, "A", &a0);
    get_stats(p->cb, "B", &b0);
    publish_n(p->ca, "x.plain", N_MSGS);
    natsConnection_PublishString(p->ca, "x.marker", "end");
    natsConnection_Flush(p->ca);
    natsMsg *m = NULL;
    IT_CHECK(mark && natsSubscription_NextMsg(&m, mark, 5000) == NATS_OK,
             "%s: the marker crosses the link", name);
    natsMsg_Destroy(m);
    get_stats(p->ca, "A", &a1);
    get_stats(p->cb, "B", &b1);
    IT_CHECK(a1.sent - a0.sent == 1 && b1.recv - b0.recv == 1,
             "%s: after the removal only the marker crossed (sent %ld, received %ld)", name,
             a1.sent - a0.sent, b1.recv - b0.recv);
    int got_a[1];
    natsSubscription *only_a[] = { sa };
    natsConnection *conn_a[] = { p->ca };
    IT_CHECK(collect(only_a, conn_a, 1, N_MSGS, got_a) == N_MSGS,
             "%s: the local subscriber still gets them", name);
    natsSubscription_Destroy(sa);
    natsSubscription_Destroy(sb);
    natsSubscription_Destroy(mark);
}

static void check_queue(pair *p)
{
    /* Members on both nodes: every message once in total, from both sides. */
    natsSubscription *qa1 = sub_across(p->ca, "x.q", "g", p->cb, "B", true);
    natsSubscription *qa2 = sub_across(p->ca, "x.q", "g", p->cb, "B", false);
    natsSubscription *qb = sub_across(p->cb, "x.q", "g", p->ca, "A", true);
    if (!IT_CHECK(qa1 && qa2 && qb, "queue interest reaches the other node (%d%d%d)", !!qa1,
                  !!qa2, !!qb))
        return;
    publish_n(p->ca, "x.q", N_MSGS);
    publish_n(p->cb, "x.q", N_MSGS);
    natsSubscription *subs[] = { qa1, qa2, qb };
    natsConnection *conns[] = { p->ca, p->ca, p->cb };
    int got[3];
    int total = collect(subs, conns, 3, 2 * N_MSGS, got);
    IT_CHECK(total == 2 * N_MSGS, "a queue group on both nodes gets each message once (%d of %d)",
             total, 2 * N_MSGS);
    IT_CHECK(got[0] + got[1] == N_MSGS && got[2] == N_MSGS,
             "local members come first (A %d+%d, B %d)", got[0], got[1], got[2]);
    natsSubscription_Destroy(qa1);
    natsSubscription_Destroy(qa2);
    natsSubscription_Destroy(qb);

    /* Members on A only: B's messages go across, once each. */
    natsSubscription *ra1 = sub_across(p->ca, "x.r", "h", p->cb, "B", true);
    natsSubscription *ra2 = sub_across(p->ca, "x.r", "h", p->cb, "B", false);
    if (!IT_CHECK(ra1 && ra2, "remote queue interest reaches B"))
        return;
    stats b0, b1;
    get_stats(p->cb, "B", &b0);
    publish_n(p->cb, "x.r", N_MSGS);
    natsSubscription *rs[] = { ra1, ra2 };
    natsConnection *rc[] = { p->ca, p->ca };
    int rgot[2];
    total = collect(rs, rc, 2, N_MSGS, rgot);
    IT_CHECK(total == N_MSGS, "a remote queue group gets each message once (%d of %d)", total,
             N_MSGS);
    get_stats(p->cb, "B", &b1);
    IT_CHECK(b1.sent - b0.sent == N_MSGS, "one link frame per message (%ld)",
             b1.sent - b0.sent);
    natsSubscription_Destroy(ra1);
    natsSubscription_Destroy(ra2);
}

static void check_close(pair *p)
{
    natsSubscription *s = sub_across(p->cb, "x.gone", NULL, p->ca, "A", true);
    if (!IT_CHECK(s != NULL, "interest before the close"))
        return;
    stats a;
    IT_CHECK(get_stats(p->ca, "A", &a) && a.ksrc >= 1, "A's kernel holds B's interest");
    natsMsg *reply = NULL;
    IT_CHECK(natsConnection_RequestString(&reply, p->ca, "fwd.A.close", "", 5000) == NATS_OK &&
                 !strcmp(natsMsg_GetData(reply), "closing=1"),
             "conn_close from a worker closes the link");
    natsMsg_Destroy(reply);
    IT_CHECK(await_stats(p->ca, "A", links_are, 0, NULL) &&
                 await_stats(p->cb, "B", links_are, 0, NULL),
             "both ends see the link closed");
    IT_CHECK(await_stats(p->ca, "A", ksrc_is, 0, &a),
             "closing the link removed its interest from A's kernel (%ld left)", a.ksrc);
    IT_CHECK(await_stats(p->cb, "B", ksrc_is, 0, NULL), "and from B's");
    /* Nothing of it is routed any more: a request to it finds nobody. */
    reply = NULL;
    natsStatus st = natsConnection_RequestString(&reply, p->ca, "x.gone", "", 2000);
    IT_CHECK(st == NATS_NO_RESPONDERS, "no responders for the removed interest (%s)",
             natsStatus_GetText(st));
    natsMsg_Destroy(reply);
    natsSubscription_Destroy(s);
}

static void check_echo(pair *p)
{
    int port = it_read_port_file(p->echo_file, 10000);
    if (!IT_CHECK(port > 0, "the echo protocol listens"))
        return;
    int fd = it_raw_connect(port, 0);
    it_buf b = {0};
    IT_CHECK(fd >= 0 && it_raw_sends(fd, "hello\n") == 0 &&
                 it_raw_read_until(fd, &b, "hello\n", 5000) == IT_FOUND,
             "the echo answers");
    IT_CHECK(it_buf_contains(&b, "main=1 hello\n"),
             "a MAIN_THREAD protocol's callbacks run on the main thread (%.*s)", (int)b.len,
             b.data ? b.data : "");
    if (fd >= 0)
        close(fd);
    it_buf_free(&b);
}

static void check_info(pair *p)
{
    it_buf b = {0};
    int fd = it_raw_client(p->b.port, "{\"protocol\":1}", &b);
    IT_CHECK(fd >= 0 && it_buf_contains(&b, "\"client_ip\":\"127.0.0.1\",\"connect_urls\":"
                                            "[\"127.0.0.1:4222\",\"127.0.0.1:4223\"]} \r\n"),
             "client_info_set: connect_urls in INFO after client_ip (%.*s)", (int)b.len,
             b.data ? b.data : "");
    if (fd >= 0)
        close(fd);
    it_buf_free(&b);
}

int main(void)
{
    if (strcmp(it_server_kind(), "ternd") != 0) {
        printf("SKIP: link modules are ternd's\n");
        return 0;
    }
    snprintf(dir, sizeof dir, "/tmp/tern-links-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    pair p;
    if (pair_start(&p, NULL, "plain")) {
        check_echo(&p);
        check_info(&p);
        check_plain(&p, "plain");
        check_queue(&p);
        check_close(&p);
    }
    pair_stop(&p);

    if (IT_CHECK(make_certs() == 0, "test certificates")) {
        if (pair_start(&p, "true", "tls"))
            check_plain(&p, "tls");
        pair_stop(&p);
        if (pair_start(&p, "false", "starttls"))
            check_plain(&p, "starttls");
        pair_stop(&p);
    }
    it_remove_tree(dir);
    return it_summary();
}
