/* Helpers of the gateway tests (test_gateway*.c): ternd nodes with the
 * gateway module (optionally the cluster and monitor modules) and the
 * reference nats-server as a gateway peer, on free loopback ports. The
 * counters and probes of test_cluster.h serve here too: a probe message
 * arriving means interest made earlier on the same connection crossed. */
#ifndef TERN_IT_GATEWAY_H
#define TERN_IT_GATEWAY_H

#include "test_cluster.h"

typedef struct gw_node {
    it_server s;
    int gport;                    /* gateway listen port */
    bool up;
    bool nats;
} gw_node;

/* "{name: N, urls: [\"nats://[cred@]127.0.0.1:P\"]}" into out. */
static inline const char *gw_remote(char *out, size_t n, const char *name, const char *cred, int port)
{
    snprintf(out, n, "{name: %s, urls: [\"nats://%s%s127.0.0.1:%d\"]}", name, cred ? cred : "",
             cred ? "@" : "", port);
    return out;
}

/* Start n (ternd, or nats-server when nats) as gateway `name` on n->gport
 * (picked when 0) with remotes (the inside of the gateways list, may be
 * NULL). extra: more lines inside the gateway block (YAML under
 * modules.gateway indented 4, or nats-server text); top: more text after
 * it (ternd: under modules:, indented 2; nats-server: top level). */
static inline bool gw_start(gw_node *n, const char *name, const char *remotes, bool nats,
                            const char *extra, const char *top)
{
    if (!n->gport)
        n->gport = it_free_port();
    char conf[8192];
    it_opts o = { 0 };
    if (nats) {
        snprintf(conf, sizeof conf,
                 "gateway {\n  name: %s\n  listen: \"127.0.0.1:%d\"\n  gateways: [%s]\n%s}\n%s", name,
                 n->gport, remotes ? remotes : "", extra ? extra : "", top ? top : "");
        o.auth_conf = conf;
        setenv("TERN_TEST_SERVER", "nats-server", 1);
    } else {
        snprintf(conf, sizeof conf,
                 "modules:\n  gateway:\n    name: %s\n    listen: \"127.0.0.1:%d\"\n    gateways: [%s]\n%s%s",
                 name, n->gport, remotes ? remotes : "", extra ? extra : "", top ? top : "");
        o.auth_yaml = conf;
    }
    int rc = it_server_start(&n->s, &o);
    if (nats)
        unsetenv("TERN_TEST_SERVER");
    n->nats = nats;
    n->up = rc == 0;
    if (!n->up)
        printf("gateway node %s did not start\n", name);
    return n->up;
}

static inline void gw_stop(gw_node *n)
{
    cl_node c = { .s = n->s, .up = n->up, .nats = n->nats };
    cl_stop(&c);
    n->up = false;
}

/* Publish count messages on subj then one on fence from pub; wait until
 * the fence counter f reaches want_fences (messages on one connection
 * keep their order across the gateway). */
static inline bool gw_fenced(natsConnection *pub, const char *subj, int count, const char *fence,
                             cl_count *f, int want_fences)
{
    for (int i = 0; i < count; i++)
        natsConnection_PublishString(pub, subj, "x");
    natsConnection_PublishString(pub, fence, "f");
    natsConnection_Flush(pub);
    return cl_wait_count(f, want_fences, 10000);
}

/* A request from nc answered within timeout_ms with want. */
static inline bool gw_request_ok(natsConnection *nc, const char *subj, const char *want, int timeout_ms)
{
    char *r = it_request(nc, subj, "ping", timeout_ms);
    bool ok = r && !strcmp(r, want);
    if (!ok)
        printf("request %s: got %s\n", subj, r ? r : "(nothing)");
    free(r);
    return ok;
}

/* Requests until one is answered (within 10 s): between two Tern
 * clusters the first request of a connection can race the interest in
 * its new reply inbox to the other cluster (docs/gateway.md, "Not
 * supported"); after this the inbox interest has crossed. */
static inline bool gw_inbox_ready(natsConnection *nc, const char *subj, const char *want)
{
    int64_t end = it_now_ms() + 10000;
    while (it_now_ms() < end) {
        char *r = it_request(nc, subj, "ping", 1000);
        bool ok = r && !strcmp(r, want);
        free(r);
        if (ok)
            return true;
    }
    return false;
}

/* GET /<path> from an HTTP monitor on port: the body (malloc'd) or NULL. */
static inline char *gw_http_get(int port, const char *path)
{
    int fd = it_raw_connect(port, 0);
    if (fd < 0)
        return NULL;
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    it_raw_sends(fd, req);
    it_buf b = { 0 };
    it_raw_read_to_close(fd, &b, 5000);
    close(fd);
    char *body = NULL;
    char *all = b.data ? strndup(b.data, b.len) : NULL;
    char *p = all ? strstr(all, "\r\n\r\n") : NULL;
    if (p)
        body = strdup(p + 4);
    free(all);
    it_buf_free(&b);
    return body;
}

/* The number after "key": in the object of remote gateway `name` of the
 * outbound_gateways map of gatewayz on the monitor port (-1: absent). */
static inline long gw_out_stat(int mport, const char *name, const char *key)
{
    char *doc = gw_http_get(mport, "/gatewayz");
    long v = -1;
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = doc ? strstr(doc, "\"outbound_gateways\"") : NULL;
    p = p ? strstr(p, pat) : NULL;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = p ? strstr(p, pat) : NULL;
    if (p)
        v = strtol(p + strlen(pat), NULL, 10);
    free(doc);
    return v;
}

#endif
