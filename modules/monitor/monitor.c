/* The monitor module: HTTP(S) listeners on the server's main loop that
 * serve nats-server's monitoring endpoints, /metrics and /dashboard.
 * The kernel owns the sockets and TLS (api->listen); this file keeps the
 * listeners matching the configuration and hands each connection's
 * bytes to its HTTP parser (http.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"

#define MON_VERSION "1.0.0"

typedef struct mon_conn {
    monitor       *mon;
    uint64_t       id;
    mon_http_conn *http;
} mon_conn;

/* ---- documents ------------------------------------------------------------ */

json_t *mon_document(monitor *mon, const char *name, const char *query, int *status, char **err)
{
    char *text = NULL;
    *err = NULL;
    *status = 500;
    if (!TERN_API_HAS(mon->api, document) ||
        mon->api->document(mon->m, name, query, status, &text) != TERN_OK) {
        *status = 500;
        *err = strdup("monitoring documents are not available");
        return NULL;
    }
    json_t *doc = NULL;
    if (text && (*status == 200 || *status == 503)) {
        json_error_t jerr;
        doc = json_loads(text, JSON_DECODE_ANY, &jerr);
        if (!doc) {
            *status = 500;
            *err = strdup(jerr.text);
        }
    } else if (*status == 400) {
        *err = strdup(text ? text : "bad request");
    } else if (*status != 404) {
        *status = 500;
        *err = strdup("no document");
    }
    mon->api->free(text);
    return doc;
}

/* ---- connections ------------------------------------------------------------- */

static void on_request(void *ud, const mon_http_req *req, mon_http_resp *resp)
{
    mon_conn *c = ud;
    mon_serve(c->mon, req, resp);
}

static int on_write(void *ud, const void *bytes, size_t len)
{
    mon_conn *c = ud;
    return c->mon->api->conn_write(c->mon->m, c->id, bytes, len) == TERN_OK ? 0 : -1;
}

static tern_rc conn_open(tern_module *m, const tern_conn_info *ci, void *ud, void **conn_ud)
{
    (void)m;
    mon_conn *c = calloc(1, sizeof *c);
    if (!c)
        return TERN_ENOMEM;
    c->mon = ud;
    c->id = ci->id;
    if (!(c->http = mon_http_conn_new(on_request, on_write, c))) {
        free(c);
        return TERN_ENOMEM;
    }
    *conn_ud = c;
    return TERN_OK;
}

static tern_rc conn_data(tern_module *m, uint64_t conn, void *conn_ud, const void *bytes,
                         size_t len)
{
    mon_conn *c = conn_ud;
    if (mon_http_feed(c->http, bytes, len) == MON_HTTP_CLOSE)
        c->mon->api->conn_close(m, conn, "HTTP connection done");
    return TERN_OK;
}

static void conn_closed(tern_module *m, uint64_t conn, void *conn_ud, const char *reason)
{
    (void)m, (void)conn, (void)reason;
    mon_conn *c = conn_ud;
    if (!c)
        return;
    mon_http_conn_free(c->http);
    free(c);
}

static const tern_proto http_proto = {
    .size = sizeof(tern_proto),
    .name = "http",
    .flags = TERN_PROTO_MAIN_THREAD,
    .open = conn_open,
    .data = conn_data,
    .closed = conn_closed,
};

/* ---- listeners ------------------------------------------------------------------ */

/* A listen address without a host uses the server's client host, as
 * nats-server's http_host defaults to its host. */
static void endpoint_host(monitor *mon, const mon_endpoint *e, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", e->has_host ? e->host : "0.0.0.0");
    if (e->has_host)
        return;
    int status;
    char *err;
    json_t *varz = mon_document(mon, "varz", NULL, &status, &err);
    const char *h = json_string_value(json_object_get(varz, "host"));
    if (h && *h)
        snprintf(out, outlen, "%s", h);
    json_decref(varz);
    free(err);
}

static void stop_listeners(monitor *mon)
{
    if (mon->http_on)
        mon->api->unlisten(mon->m, mon->http_id);
    if (mon->https_on)
        mon->api->unlisten(mon->m, mon->https_id);
    mon->http_on = mon->https_on = false;
    mon->http_port = mon->https_port = 0;
}

static tern_rc start_listeners(monitor *mon, const mon_conf *conf)
{
    char host[256];
    int bound = 0;
    tern_rc rc;
    if (conf->http.on) {
        endpoint_host(mon, &conf->http, host, sizeof host);
        rc = mon->api->listen(mon->m, mon->proto, host, conf->http.port, NULL, &mon->http_id,
                              &bound);
        if (rc != TERN_OK) {
            mon->api->set_error(mon->m, "http monitor on %s:%d: %s", host, conf->http.port,
                                mon->api->error(mon->m));
            return rc;
        }
        mon->http_on = true;
        mon->http_port = bound;
        snprintf(mon->http_host, sizeof mon->http_host, "%s", host);
        mon->api->log(mon->m, TERN_LOG_LEVEL_INFO, "Starting http monitor on %s:%d", host, bound);
    }
    if (conf->https.on) {
        endpoint_host(mon, &conf->https, host, sizeof host);
        tern_tls_spec tls = { .size = sizeof tls, .cert = conf->tls_cert, .key = conf->tls_key,
                              .ca = conf->tls_ca, .verify = conf->tls_verify, .first = true,
                              .timeout_ms = conf->tls_timeout_ms };
        rc = mon->api->listen(mon->m, mon->proto, host, conf->https.port, &tls, &mon->https_id,
                              &bound);
        if (rc != TERN_OK) {
            mon->api->set_error(mon->m, "https monitor on %s:%d: %s", host, conf->https.port,
                                mon->api->error(mon->m));
            stop_listeners(mon);
            return rc;
        }
        mon->https_on = true;
        mon->https_port = bound;
        if (!conf->http.on)
            snprintf(mon->http_host, sizeof mon->http_host, "%s", host);
        mon->api->log(mon->m, TERN_LOG_LEVEL_INFO, "Starting https monitor on %s:%d", host,
                      bound);
    }
    return TERN_OK;
}

/* ---- the module -------------------------------------------------------------------- */

static tern_rc mon_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    mon_conf c;
    tern_rc rc = mon_conf_read(m, api, conf, &c);
    if (rc == TERN_OK)
        mon_conf_free(&c);
    return rc;
}

static void mon_fini(void *self)
{
    monitor *mon = self;
    stop_listeners(mon);
    mon_conf_free(&mon->conf);
    json_decref(mon->req_stats);
    mon->api->free(mon);
}

static tern_rc mon_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                        void **self)
{
    if (!TERN_API_HAS(api, listen) || !TERN_API_HAS(api, document)) {
        api->set_error(m, "this server does not offer listeners and documents to modules");
        return TERN_ENOTSUP;
    }
    monitor *mon = api->alloc(sizeof *mon);
    if (!mon)
        return TERN_ENOMEM;
    memset(mon, 0, sizeof *mon);
    mon->api = api;
    mon->m = m;
    mon->req_stats = json_object();
    tern_rc rc = mon_conf_read(m, api, conf, &mon->conf);
    if (rc == TERN_OK)
        rc = api->proto_register(m, &http_proto, mon, &mon->proto);
    if (rc == TERN_OK)
        rc = start_listeners(mon, &mon->conf);
    if (rc != TERN_OK) {
        mon_fini(mon);
        return rc;
    }
    *self = mon;
    return TERN_OK;
}

/* Listeners change only when their addresses or TLS did; a failure puts
 * the old ones back and keeps the old configuration. Open connections
 * stay either way. */
static tern_rc mon_reload(void *self, const tern_config *conf)
{
    monitor *mon = self;
    mon_conf next;
    tern_rc rc = mon_conf_read(mon->m, mon->api, conf, &next);
    if (rc != TERN_OK)
        return rc;
    if (!mon_conf_same_listeners(&mon->conf, &next)) {
        stop_listeners(mon);
        rc = start_listeners(mon, &next);
        if (rc != TERN_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", mon->api->error(mon->m));
            if (start_listeners(mon, &mon->conf) != TERN_OK)
                mon->api->log(mon->m, TERN_LOG_LEVEL_ERROR, "could not restore the monitor "
                              "listeners: %s", mon->api->error(mon->m));
            mon->api->set_error(mon->m, "%s", why);
            mon_conf_free(&next);
            return rc;
        }
    }
    mon_conf_free(&mon->conf);
    mon->conf = next;
    return TERN_OK;
}

TERN_MODULE_DEFINE(.name = "monitor", .version = MON_VERSION,
                   .description = "HTTP monitoring: nats-server's endpoints, Prometheus "
                                  "/metrics and a live /dashboard",
                   .init = mon_init, .reload = mon_reload, .fini = mon_fini,
                   .validate = mon_validate, .nats_keys = mon_nats_keys,
                   .nats_map = mon_nats_map)
