/* INTEROP: /varz of servers with links has nats-server 2.9's "cluster",
 * "gateway" and "leaf" sections and its "routes", "remotes" and
 * "leafnodes" counts. Each scenario runs the same configuration twice,
 * on two ternd (modules cluster, gateway or leafnode, and monitor) and
 * on two nats-server, waits until the link is up, then compares the
 * sections of the ternd and nats-server in the same role: the same keys
 * (recursively) and the same values (ports are each server's own). */
#include "test_gateway.h"
#include "test_leafnode.h"

#include <jansson.h>

#define UP_MS 15000

/* ---- JSON ------------------------------------------------------------------ */

static json_t *http_json(int mport, const char *path)
{
    char *d = gw_http_get(mport, path);
    json_t *j = d ? json_loads(d, 0, NULL) : NULL;
    free(d);
    return j;
}

/* The value at a dotted path ("leaf.remotes.0.urls"; numbers index arrays). */
static json_t *at(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && j; t = strtok_r(NULL, ".", &save))
        j = json_is_array(j) ? json_array_get(j, strtoul(t, NULL, 10)) : json_object_get(j, t);
    return j;
}

static long int_at(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static const char *str_at(json_t *j, const char *path)
{
    const char *s = json_string_value(at(j, path));
    return s ? s : "(none)";
}

/* Whether a and b have the same keys at every level (arrays: the same
 * length, element by element) and the same kinds of values; the first
 * difference is printed with its path. */
static bool same_shape(json_t *a, json_t *b, const char *path)
{
    char sub[256];
    if (json_is_number(a) && json_is_number(b))
        return true;
    if (json_typeof(a) != json_typeof(b)) {
        printf("  %s: ternd %d, nats-server %d (JSON types)\n", path, json_typeof(a), json_typeof(b));
        return false;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v) {
            if (!json_object_get(b, k)) {
                printf("  %s.%s: only on ternd\n", path, k);
                return false;
            }
        }
        json_object_foreach(b, k, v) {
            snprintf(sub, sizeof sub, "%s.%s", path, k);
            if (!json_object_get(a, k)) {
                printf("  %s: only on nats-server\n", sub);
                return false;
            }
            if (!same_shape(json_object_get(a, k), v, sub))
                return false;
        }
    } else if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            printf("  %s: %zu entries on ternd, %zu on nats-server\n", path, json_array_size(a),
                   json_array_size(b));
            return false;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(sub, sizeof sub, "%s.%zu", path, i);
            if (!same_shape(json_array_get(a, i), json_array_get(b, i), sub))
                return false;
        }
    }
    return true;
}

/* The section of both documents: same keys, and path by path the same
 * values (paths: NULL-terminated, relative to the section). */
static void compare(json_t *t, json_t *n, const char *section, const char *const *same, const char *tag)
{
    json_t *st = json_object_get(t, section), *sn = json_object_get(n, section);
    char *dt = st ? json_dumps(st, JSON_COMPACT) : NULL, *dn = sn ? json_dumps(sn, JSON_COMPACT) : NULL;
    printf("%s %s\n  ternd:       %s\n  nats-server: %s\n", tag, section, dt ? dt : "(none)",
           dn ? dn : "(none)");
    IT_CHECK(st && sn && json_object_size(sn) && same_shape(st, sn, section),
             "%s: \"%s\" has nats-server's keys", tag, section);
    for (const char *const *p = same; p && *p; p++) {
        json_t *vt = at(st, *p), *vn = at(sn, *p);
        IT_CHECK(vt && vn && json_equal(vt, vn), "%s: %s.%s is nats-server's", tag, section, *p);
    }
    free(dt);
    free(dn);
}

/* Poll path on mport until the integer at key is want; the document
 * then (caller frees), or NULL. */
static json_t *await_int(int mport, const char *path, const char *key, long want)
{
    int64_t end = it_now_ms() + UP_MS;
    for (;;) {
        json_t *j = http_json(mport, path);
        if (j && int_at(j, key) == want)
            return j;
        if (it_now_ms() >= end) {
            printf("%s on port %d: %s is %ld, not %ld\n", path, mport, key, j ? int_at(j, key) : -1,
                   want);
            json_decref(j);
            return NULL;
        }
        json_decref(j);
        it_poll_pause();
    }
}

static void check_port(json_t *doc, const char *path, int want, const char *tag)
{
    IT_CHECK(int_at(doc, path) == want, "%s: %s is %d (%ld)", tag, path, want, int_at(doc, path));
}

/* ---- cluster ---------------------------------------------------------------- */

static void cluster_pair(bool nats, json_t **seed_doc, json_t **node_doc, int *seed_rport,
                         int *node_rport)
{
    const char *kind = nats ? "nats-server" : "ternd";
    cl_node a = { 0 }, b = { 0 };
    int ma = it_free_port(), mb = it_free_port();
    char ta[128], tb[128];
    if (nats) {
        snprintf(ta, sizeof ta, "http: \"127.0.0.1:%d\"\n", ma);
        snprintf(tb, sizeof tb, "http: \"127.0.0.1:%d\"\n", mb);
    } else {
        snprintf(ta, sizeof ta, "  monitor:\n    listen: \"127.0.0.1:%d\"\n", ma);
        snprintf(tb, sizeof tb, "  monitor:\n    listen: \"127.0.0.1:%d\"\n", mb);
    }
    if (!IT_CHECK(cl_start(&a, "vz", NULL, nats, NULL, ta), "%s seed starts", kind))
        goto out;
    int seeds[] = { a.rport, 0 };
    if (!IT_CHECK(cl_start(&b, "vz", seeds, nats, NULL, tb), "%s node starts", kind))
        goto out;
    *seed_doc = await_int(ma, "/varz", "routes", 1);
    *node_doc = await_int(mb, "/varz", "routes", 1);
    IT_CHECK(*seed_doc && *node_doc, "%s: /varz of both nodes counts one route", kind);
    *seed_rport = a.rport;
    *node_rport = b.rport;
out:
    cl_stop(&b);
    cl_stop(&a);
}

static void cluster_scenario(void)
{
    printf("-- cluster\n");
    json_t *ts = NULL, *tn = NULL, *ns = NULL, *nn = NULL;
    int tsp = 0, tnp = 0, nsp = 0, nnp = 0;
    cluster_pair(false, &ts, &tn, &tsp, &tnp);
    cluster_pair(true, &ns, &nn, &nsp, &nnp);
    if (ts && tn && ns && nn) {
        static const char *const same[] = { "name", "addr", "auth_timeout", "tls_timeout", NULL };
        compare(ts, ns, "cluster", same, "seed");
        compare(tn, nn, "cluster", same, "node");
        check_port(ts, "cluster.cluster_port", tsp, "ternd seed");
        check_port(ns, "cluster.cluster_port", nsp, "nats-server seed");
        check_port(tn, "cluster.cluster_port", tnp, "ternd node");
        check_port(nn, "cluster.cluster_port", nnp, "nats-server node");
        char want[64];
        snprintf(want, sizeof want, "127.0.0.1:%d", tsp);
        IT_CHECK(!strcmp(str_at(tn, "cluster.urls.0"), want), "ternd node: cluster.urls [%s] (%s)",
                 want, str_at(tn, "cluster.urls.0"));
        snprintf(want, sizeof want, "127.0.0.1:%d", nsp);
        IT_CHECK(!strcmp(str_at(nn, "cluster.urls.0"), want),
                 "nats-server node: cluster.urls [%s] (%s)", want, str_at(nn, "cluster.urls.0"));
        IT_CHECK(!strcmp(str_at(tn, "cluster.name"), "vz"), "cluster.name is vz");
        json_t *docs[] = { ts, tn, ns, nn };
        for (int i = 0; i < 4; i++)
            IT_CHECK(int_at(docs[i], "routes") == 1 && int_at(docs[i], "remotes") == 1 &&
                         int_at(docs[i], "leafnodes") == 0,
                     "%s %s: routes 1, remotes 1, leafnodes 0 (%ld, %ld, %ld)",
                     i < 2 ? "ternd" : "nats-server", i % 2 ? "node" : "seed", int_at(docs[i], "routes"),
                     int_at(docs[i], "remotes"), int_at(docs[i], "leafnodes"));
    }
    json_decref(ts);
    json_decref(tn);
    json_decref(ns);
    json_decref(nn);
}

/* ---- gateway ---------------------------------------------------------------- */

/* Gateway gA (dialing gB, with advertise and connect_retries) and gB:
 * their /varz once gA's outbound connection is up. */
static void gateway_pair(bool nats, json_t **da, json_t **db, int *pa, int *pb)
{
    const char *kind = nats ? "nats-server" : "ternd";
    gw_node a = { 0 }, b = { 0 };
    int ma = it_free_port(), mb = it_free_port();
    a.gport = it_free_port();
    b.gport = it_free_port();
    char ta[128], tb[128], ea[256], remote[160];
    if (nats) {
        snprintf(ta, sizeof ta, "http: \"127.0.0.1:%d\"\n", ma);
        snprintf(tb, sizeof tb, "http: \"127.0.0.1:%d\"\n", mb);
        snprintf(ea, sizeof ea, "  advertise: \"127.0.0.1:%d\"\n  connect_retries: 3\n", a.gport);
    } else {
        snprintf(ta, sizeof ta, "  monitor:\n    listen: \"127.0.0.1:%d\"\n", ma);
        snprintf(tb, sizeof tb, "  monitor:\n    listen: \"127.0.0.1:%d\"\n", mb);
        snprintf(ea, sizeof ea, "    advertise: \"127.0.0.1:%d\"\n    connect_retries: 3\n", a.gport);
    }
    gw_remote(remote, sizeof remote, "gB", NULL, b.gport);
    if (!IT_CHECK(gw_start(&b, "gB", NULL, nats, NULL, tb), "%s gB starts", kind) ||
        !IT_CHECK(gw_start(&a, "gA", remote, nats, ea, ta), "%s gA starts", kind))
        goto out;
    int64_t end = it_now_ms() + UP_MS;
    while (gw_out_stat(ma, "gB", "cid") < 0 && it_now_ms() < end)
        it_poll_pause();
    if (!IT_CHECK(gw_out_stat(ma, "gB", "cid") >= 0, "%s: gA's outbound connection to gB is up", kind))
        goto out;
    *da = http_json(ma, "/varz");
    *db = http_json(mb, "/varz");
    IT_CHECK(*da && *db, "%s: /varz of both", kind);
    *pa = a.gport;
    *pb = b.gport;
out:
    gw_stop(&a);
    gw_stop(&b);
}

static void gateway_scenario(void)
{
    printf("-- gateway\n");
    json_t *ta = NULL, *tb = NULL, *na = NULL, *nb = NULL;
    int tpa = 0, tpb = 0, npa = 0, npb = 0;
    gateway_pair(false, &ta, &tb, &tpa, &tpb);
    gateway_pair(true, &na, &nb, &npa, &npb);
    if (ta && tb && na && nb) {
        static const char *const same_a[] = { "name", "host", "auth_timeout", "tls_timeout",
                                              "connect_retries", "gateways.0.name", NULL };
        static const char *const same_b[] = { "name", "host", "auth_timeout", "tls_timeout", NULL };
        compare(ta, na, "gateway", same_a, "gA");
        compare(tb, nb, "gateway", same_b, "gB");
        check_port(ta, "gateway.port", tpa, "ternd gA");
        check_port(na, "gateway.port", npa, "nats-server gA");
        check_port(tb, "gateway.port", tpb, "ternd gB");
        check_port(nb, "gateway.port", npb, "nats-server gB");
        char want[64];
        snprintf(want, sizeof want, "127.0.0.1:%d", tpa);
        IT_CHECK(!strcmp(str_at(ta, "gateway.advertise"), want), "ternd gA: advertise %s", want);
        snprintf(want, sizeof want, "127.0.0.1:%d", tpb);
        IT_CHECK(!strcmp(str_at(ta, "gateway.gateways.0.urls.0"), want),
                 "ternd gA: gateways[0].urls [%s] (%s)", want, str_at(ta, "gateway.gateways.0.urls.0"));
        snprintf(want, sizeof want, "127.0.0.1:%d", npb);
        IT_CHECK(!strcmp(str_at(na, "gateway.gateways.0.urls.0"), want),
                 "nats-server gA: gateways[0].urls [%s] (%s)", want,
                 str_at(na, "gateway.gateways.0.urls.0"));
        json_t *docs[] = { ta, tb, na, nb };
        for (int i = 0; i < 4; i++)
            IT_CHECK(int_at(docs[i], "routes") == 0 && int_at(docs[i], "leafnodes") == 0,
                     "%s: routes 0, leafnodes 0", i < 2 ? "ternd" : "nats-server");
    }
    json_decref(ta);
    json_decref(tb);
    json_decref(na);
    json_decref(nb);
}

/* ---- leaf nodes ------------------------------------------------------------- */

/* A hub and a leaf soliciting it (deny rules on the remote): their /varz
 * once each has the leaf connection (nats-server's /varz keeps its
 * configuration part from the first request: /leafz is what is polled). */
static void leaf_pair(bool nats, json_t **dh, json_t **dl, int *hub_lport)
{
    const char *kind = nats ? "nats-server" : "ternd";
    ln_node hub = { 0 }, leaf = { 0 };
    char url[128];
    if (!IT_CHECK(ln_start_hub(&hub, nats, NULL, NULL), "%s hub starts", kind))
        goto out;
    snprintf(url, sizeof url, "nats-leaf://127.0.0.1:%d", hub.lport);
    const char *deny = nats ? "deny_imports: [\"x.>\"]\n deny_exports: [\"y\"]"
                            : "deny_imports: [\"x.>\"], deny_exports: [\"y\"]";
    if (!IT_CHECK(ln_start_leaf(&leaf, nats, url, deny, NULL), "%s leaf starts", kind))
        goto out;
    json_t *zh = await_int(hub.mport, "/leafz", "leafnodes", 1);
    json_t *zl = await_int(leaf.mport, "/leafz", "leafnodes", 1);
    bool up = zh && zl;
    json_decref(zh);
    json_decref(zl);
    if (!IT_CHECK(up, "%s: the leaf connection is up on both", kind))
        goto out;
    *dh = await_int(hub.mport, "/varz", "leafnodes", 1);
    *dl = await_int(leaf.mport, "/varz", "leafnodes", 1);
    IT_CHECK(*dh && *dl, "%s: /varz of both counts one leaf node", kind);
    *hub_lport = hub.lport;
out:
    ln_stop(&leaf);
    ln_stop(&hub);
}

static void leaf_scenario(void)
{
    printf("-- leaf nodes\n");
    json_t *th = NULL, *tl = NULL, *nh = NULL, *nl = NULL;
    int tp = 0, np = 0;
    leaf_pair(false, &th, &tl, &tp);
    leaf_pair(true, &nh, &nl, &np);
    if (th && tl && nh && nl) {
        static const char *const hub_same[] = { "host", "auth_timeout", "tls_timeout", NULL };
        static const char *const leaf_same[] = { "remotes.0.local_account", "remotes.0.deny", NULL };
        compare(th, nh, "leaf", hub_same, "hub");
        compare(tl, nl, "leaf", leaf_same, "leaf");
        check_port(th, "leaf.port", tp, "ternd hub");
        check_port(nh, "leaf.port", np, "nats-server hub");
        char want[64];
        snprintf(want, sizeof want, "127.0.0.1:%d", tp);
        IT_CHECK(!strcmp(str_at(tl, "leaf.remotes.0.urls.0"), want), "ternd leaf: remotes[0].urls [%s] (%s)",
                 want, str_at(tl, "leaf.remotes.0.urls.0"));
        snprintf(want, sizeof want, "127.0.0.1:%d", np);
        IT_CHECK(!strcmp(str_at(nl, "leaf.remotes.0.urls.0"), want),
                 "nats-server leaf: remotes[0].urls [%s] (%s)", want, str_at(nl, "leaf.remotes.0.urls.0"));
        json_t *docs[] = { th, tl, nh, nl };
        for (int i = 0; i < 4; i++)
            IT_CHECK(int_at(docs[i], "leafnodes") == 1 && int_at(docs[i], "routes") == 0,
                     "%s: leafnodes 1, routes 0", i < 2 ? "ternd" : "nats-server");
    }
    json_decref(th);
    json_decref(tl);
    json_decref(nh);
    json_decref(nl);
}

int main(void)
{
    if (it_ternd_only())
        return it_summary();
    cluster_scenario();
    gateway_scenario();
    leaf_scenario();
    return it_summary();
}
