/* The endpoints: nats-server's paths under the base path, answered with
 * the server's documents as nats-server writes them (pretty JSON,
 * JSONP with callback=, errors as text/plain 400), plus /metrics and
 * /dashboard. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard_html.h"
#include "monitor.h"

#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_JS   "application/javascript"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

/* nats-server's endpoints, in the order its root page lists them. */
static const struct {
    const char *name, *title;
} endpoints[] = {
    { "varz", "General" },          { "connz", "Connections" },
    { "accountz", "Accounts" },     { "accstatz", "Account Stats" },
    { "subsz", "Subscriptions" },   { "routez", "Routes" },
    { "leafz", "LeafNodes" },       { "gatewayz", "Gateways" },
    { "healthz", "Health Probe" },
};

static void set_body(mon_http_resp *r, int status, const char *ct, char *body, size_t len)
{
    r->status = status;
    r->content_type = ct;
    r->body = body;
    r->len = len;
}

static void set_text(mon_http_resp *r, int status, const char *ct, const char *text)
{
    char *b = strdup(text);
    set_body(r, status, ct, b, b ? strlen(b) : 0);
}

/* Go's http.NotFound. */
static void not_found(mon_http_resp *r)
{
    set_text(r, 404, CT_TEXT, "404 page not found\n");
    r->nosniff = true;
}

static void count_request(monitor *mon, const char *key)
{
    json_t *n = json_object_get(mon->req_stats, key);
    json_object_set_new(mon->req_stats, key, json_integer(n ? json_integer_value(n) + 1 : 1));
}

/* ---- the root page ------------------------------------------------------------ */

static void root_page(monitor *mon, mon_http_resp *r)
{
    const char *bp = mon->conf.base_path;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    if (!b)
        return;
    n += (size_t)snprintf(b + n, cap - n,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>Tern monitoring</title>\n<style>\n"
        "body { font-family: ui-sans-serif, system-ui, sans-serif; margin-left: 32px }\n"
        "a { display: block; margin-left: 7px; padding-bottom: 6px; color: rgb(72 72 92); "
        "text-decoration: none }\n"
        "a:hover { font-weight: 600; color: rgb(59 50 202) }\n"
        "h1 { font-weight: 500 } h2 { font-size: 1em; color: #667 }\n"
        "</style>\n</head>\n<body>\n<h1>Tern</h1>\n<h2>NATS %s compatible monitoring</h2>\n",
        "2.9");
    /* ".<path>" as nats-server writes its links: relative to the root,
     * which is the base path itself. */
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        n += (size_t)snprintf(b + n, cap - n, "<a href=\".%s/%s\">%s</a>\n", bp,
                              endpoints[i].name, endpoints[i].title);
    n += (size_t)snprintf(b + n, cap - n,
                          "<br>\n<a href=\".%s/metrics\">Prometheus metrics</a>\n"
                          "<a href=\".%s/dashboard\">Dashboard</a>\n</body>\n</html>\n",
                          bp, bp);
    set_body(r, 200, CT_HTML, b, n < cap ? n : cap - 1);
}

/* ---- documents ------------------------------------------------------------------ */

/* What only the HTTP side knows (nats-server's varz fields). */
static void patch_varz(monitor *mon, json_t *varz)
{
    json_object_set_new(varz, "http_host", json_string(mon->http_host));
    json_object_set_new(varz, "http_port", json_integer(mon->http_on ? mon->http_port : 0));
    json_object_set_new(varz, "http_base_path", json_string(mon->conf.base_path));
    json_object_set_new(varz, "https_port", json_integer(mon->https_on ? mon->https_port : 0));
    json_object_set(varz, "http_req_stats", mon->req_stats);
}

static bool is_doc_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static bool nats_endpoint(const char *name)
{
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (!strcmp(endpoints[i].name, name))
            return true;
    return !strcmp(name, "subscriptionsz");
}

static void document(monitor *mon, const char *name, const mon_http_req *req, mon_http_resp *r)
{
    char key[64];
    snprintf(key, sizeof key, "/%s", !strcmp(name, "subscriptionsz") ? "subsz" : name);
    /* nats-server counts a request before answering it (varz shows itself) */
    bool counted = nats_endpoint(name);
    if (counted)
        count_request(mon, key);
    int status;
    char *err;
    json_t *doc = mon_document(mon, name, req->query, &status, &err);
    if (!doc) {
        if (status == 404)
            not_found(r);
        else
            set_text(r, status, CT_TEXT, err ? err : "");
        free(err);
        return;
    }
    if (!counted)
        count_request(mon, key);
    if (!strcmp(name, "varz"))
        patch_varz(mon, doc);
    /* healthz is the one document nats-server writes compact */
    size_t flags = !strcmp(name, "healthz") ? JSON_COMPACT
                                            : JSON_INDENT(2) | JSON_REAL_PRECISION(15);
    char *text = json_dumps(doc, flags | JSON_ENCODE_ANY);
    json_decref(doc);
    if (!text) {
        set_text(r, 500, CT_TEXT, "out of memory");
        return;
    }
    char *cb = mon_http_query_get(req->query, "callback");
    if (cb && *cb) {
        size_t len = strlen(cb) + strlen(text) + 3;
        char *js = malloc(len);
        if (js)
            snprintf(js, len, "%s(%s)", cb, text);
        free(text);
        set_body(r, status, CT_JS, js, js ? len - 1 : 0);
    } else {
        set_body(r, status, CT_JSON, text, strlen(text));
    }
    free(cb);
}

/* ---- dispatch -------------------------------------------------------------------- */

void mon_serve(monitor *mon, const mon_http_req *req, mon_http_resp *r)
{
    const char *bp = mon->conf.base_path;
    size_t blen = strlen(bp);
    const char *path = req->path;
    if (!strcmp(path, blen ? bp : "/")) {
        count_request(mon, "/");
        root_page(mon, r);
        return;
    }
    if (strncmp(path, bp, blen) || path[blen] != '/' || !is_doc_name(path + blen + 1)) {
        not_found(r);
        return;
    }
    const char *name = path + blen + 1;
    if (!strcmp(name, "metrics")) {
        count_request(mon, "/metrics");
        size_t len = 0;
        char *text = mon_metrics(mon, &len);
        if (text)
            set_body(r, 200, CT_PROM, text, len);
        else
            set_text(r, 500, CT_TEXT, "out of memory");
    } else if (!strcmp(name, "dashboard")) {
        count_request(mon, "/dashboard");
        char *page = malloc(sizeof mon_dashboard_html);
        if (page)
            memcpy(page, mon_dashboard_html, sizeof mon_dashboard_html);
        set_body(r, 200, CT_HTML, page, page ? sizeof mon_dashboard_html - 1 : 0);
    } else {
        document(mon, name, req, r);
    }
}
