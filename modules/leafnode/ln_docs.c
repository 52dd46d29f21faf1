/* "leafz" for the monitor module (TERN_EVT_INFO), with nats-server
 * 2.9.10's keys: server_id, now, leafnodes, leafs[] of account, ip,
 * port, rtt, in/out msgs and bytes, subscriptions (and
 * subscriptions_list with subs=1); and /varz's "leaf" section with the
 * "leafnodes" count. */
#include "ln.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 3339 in UTC with Go's RFC3339Nano trimming of the fraction. */
static json_t *time_json(int64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char b[64], f[16] = "", out[96];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        snprintf(f, sizeof f, ".%09ld", frac);
        for (size_t n = strlen(f); n > 1 && f[n - 1] == '0'; n--)
            f[n - 1] = '\0';
    }
    snprintf(out, sizeof out, "%s%sZ", b, f);
    return json_string(out);
}

/* Go's time.Duration.String() for a round trip below a minute. */
static json_t *rtt_json(int64_t us)
{
    char b[64];
    if (us <= 0) {
        snprintf(b, sizeof b, "0s");
    } else if (us < 1000) {
        snprintf(b, sizeof b, "%lld\xc2\xb5s", (long long)us);
    } else {
        long long unit = us < 1000000 ? 1000 : 1000000;
        char f[16] = "";
        if (us % unit) {
            snprintf(f, sizeof f, ".%0*lld", unit == 1000 ? 3 : 6, (long long)(us % unit));
            for (size_t n = strlen(f); n > 1 && f[n - 1] == '0'; n--)
                f[n - 1] = '\0';
        }
        snprintf(b, sizeof b, "%lld%s%s", (long long)(us / unit), f, unit == 1000 ? "ms" : "s");
    }
    return json_string(b);
}

static bool want_subs(const char *query)
{
    for (const char *p = query; p && *p;) {
        if (!strncasecmp(p, "subs=", 5)) {
            const char *v = p + 5;
            size_t n = strcspn(v, "&");
            return (n == 1 && (*v == '1' || *v == 't' || *v == 'T')) ||
                   (n == 4 && !strncasecmp(v, "true", 4));
        }
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return false;
}

static json_t *leaf_json(const ln_conn *c, bool subs)
{
    json_t *x = json_object();
    json_object_set_new(x, "account", json_string(c->account));
    json_object_set_new(x, "ip", json_string(c->ip));
    json_object_set_new(x, "port", json_integer(c->port));
    json_object_set_new(x, "rtt", rtt_json(c->rtt_us));
    json_object_set_new(x, "in_msgs", json_integer((json_int_t)atomic_load(&c->in_msgs)));
    json_object_set_new(x, "out_msgs", json_integer((json_int_t)atomic_load(&c->out_msgs)));
    json_object_set_new(x, "in_bytes", json_integer((json_int_t)atomic_load(&c->in_bytes)));
    json_object_set_new(x, "out_bytes", json_integer((json_int_t)atomic_load(&c->out_bytes)));
    json_object_set_new(x, "subscriptions", json_integer((json_int_t)json_object_size(c->rsubs)));
    if (subs && json_object_size(c->rsubs)) {
        json_t *list = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(c->rsubs, k, v) {
            /* the subject of "subject[ queue]" */
            json_array_append_new(list, json_stringn(k, strcspn(k, " ")));
        }
        json_object_set_new(x, "subscriptions_list", list);
    }
    return x;
}

/* Seconds as Go marshals a float64: whole ones without a fraction. */
static json_t *secs_json(int64_t ms)
{
    return ms % 1000 ? json_real((double)ms / 1000.0) : json_integer((json_int_t)(ms / 1000));
}

/* host:port as Go's url.URL.Host: IPv6 in brackets, no credentials. */
static json_t *hostport_json(const ln_url *u)
{
    char b[320];
    if (strchr(u->host, ':'))
        snprintf(b, sizeof b, "[%s]:%d", u->host, u->port);
    else
        snprintf(b, sizeof b, "%s:%d", u->host, u->port);
    return json_string(b);
}

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* nats-server's RemoteLeafOptsVarz of a remote. */
static json_t *remote_json(const ln_remote *r)
{
    json_t *x = json_object();
    /* nats-server binds an unnamed remote to $G (and shows it) once it
     * has dialed it */
    json_object_set_new(x, "local_account", json_string(r->account ? r->account : LN_GLOBAL));
    /* tls_timeout comes with a tls block only, not with tls:// URLs */
    bool url_tls = false;
    for (size_t i = 0; i < r->nurls; i++)
        url_tls = url_tls || r->urls[i].tls;
    const ln_tls_conf *t = &r->tls;
    bool block = t->cert || t->key || t->ca || t->verify || t->insecure || t->timeout_ms != 2000;
    if (t->on && t->timeout_ms > 0 && (block || !url_tls))
        json_object_set_new(x, "tls_timeout", secs_json(t->timeout_ms));
    json_t *urls = json_array();
    for (size_t i = 0; i < r->nurls; i++)
        json_array_append_new(urls, hostport_json(&r->urls[i]));
    json_object_set_new(x, "urls", urls);
    if (r->ndeny_imports || r->ndeny_exports) {
        json_t *d = json_object();
        if (r->ndeny_exports)
            json_object_set_new(d, "exports", strv_json(r->deny_exports, r->ndeny_exports));
        if (r->ndeny_imports)
            json_object_set_new(d, "imports", strv_json(r->deny_imports, r->ndeny_imports));
        json_object_set_new(x, "deny", d);
    }
    return x;
}

/* /varz's "leaf" section (nats-server's LeafNodeOptsVarz, omitempty
 * throughout: the listener's part only when there is one) and the
 * "leafnodes" count (leaf connections either way). Under mu. */
static json_t *varz_json_locked(const ln *l)
{
    const ln_conf *cf = &l->conf;
    json_t *s = json_object();
    if (l->listener && l->bound_port > 0) {
        if (cf->host && *cf->host)
            json_object_set_new(s, "host", json_string(cf->host));
        json_object_set_new(s, "port", json_integer(l->bound_port));
        if (cf->auth_timeout_ms > 0)
            json_object_set_new(s, "auth_timeout", secs_json(cf->auth_timeout_ms));
        /* nats-server's default when there is no TLS: 2 s */
        json_object_set_new(s, "tls_timeout", secs_json(cf->tls.on ? cf->tls.timeout_ms : 2000));
        if (cf->tls.on)
            json_object_set_new(s, "tls_required", json_true());
        if (cf->tls.on && cf->tls.verify)
            json_object_set_new(s, "tls_verify", json_true());
    }
    if (cf->nremotes) {
        json_t *list = json_array();
        for (size_t i = 0; i < cf->nremotes; i++)
            json_array_append_new(list, remote_json(&cf->remotes[i]));
        json_object_set_new(s, "remotes", list);
    }
    size_t n = 0;
    for (const ln_conn *c = l->conns; c; c = c->next)
        n += c->state == LN_S_REGISTERED;
    json_t *o = json_object();
    json_object_set_new(o, "leaf", s);
    json_object_set_new(o, "leafnodes", json_integer((json_int_t)n));
    return o;
}

static tern_verdict answer(ln *l, tern_evt_info *ev, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return TERN_VERDICT_IGNORE;
    ev->json = l->api->strdup(s);
    free(s);
    return ev->json ? TERN_VERDICT_ALLOW : TERN_VERDICT_IGNORE;
}

tern_verdict ln_on_info_doc(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    ln *l = ud;
    tern_evt_info *ev = (tern_evt_info *)hdr;
    if (ev->name && !strcmp(ev->name, "varz")) {
        pthread_mutex_lock(&l->mu);
        json_t *o = varz_json_locked(l);
        pthread_mutex_unlock(&l->mu);
        return answer(l, ev, o);
    }
    if (!ev->name || strcmp(ev->name, "leafz"))
        return TERN_VERDICT_IGNORE;
    const char *query = hdr->size >= offsetof(tern_evt_info, query) + sizeof ev->query ? ev->query
                                                                                       : NULL;
    bool subs = want_subs(query);
    json_t *o = json_object();
    json_t *leafs = json_array();
    pthread_mutex_lock(&l->mu);
    json_object_set_new(o, "server_id", json_string(l->server_id));
    json_object_set_new(o, "now", time_json(ln_wall_ns()));
    size_t n = 0;
    for (const ln_conn *c = l->conns; c; c = c->next) {
        if (c->state != LN_S_REGISTERED)
            continue;
        json_array_append_new(leafs, leaf_json(c, subs));
        n++;
    }
    pthread_mutex_unlock(&l->mu);
    json_object_set_new(o, "leafnodes", json_integer((json_int_t)n));
    if (n) {
        json_object_set_new(o, "leafs", leafs);
    } else {
        json_decref(leafs);
        json_object_set_new(o, "leafs", json_null());   /* Go's nil slice */
    }
    return answer(l, ev, o);
}
