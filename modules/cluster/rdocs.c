/* "routez" for the monitor module (TERN_EVT_INFO), shaped like
 * nats-server's /routez. */
#include "cluster.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

static json_t *now_rfc3339(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char b[64], out[80];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, sizeof out, "%s.%09ldZ", b, ts.tv_nsec);
    return json_string(out);
}

tern_verdict cl_on_info_doc(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    cl *c = ud;
    tern_evt_info *ev = (tern_evt_info *)hdr;
    if (!ev->name || strcmp(ev->name, "routez"))
        return TERN_VERDICT_IGNORE;
    json_t *o = json_object();
    json_t *routes = json_array();
    pthread_mutex_lock(&c->mu);
    json_object_set_new(o, "server_id", json_string(c->server_id));
    json_object_set_new(o, "server_name", json_string(c->server_name));
    json_object_set_new(o, "now", now_rfc3339());
    size_t n = 0;
    for (cl_route *r = c->routes; r; r = r->next) {
        if (r->state != CL_R_REGISTERED)
            continue;
        bool configured = false;
        for (cl_dial *d = c->dials; d; d = d->next)
            configured = configured || (d->conn == r->id && d->explicit_);
        json_t *x = json_object();
        json_object_set_new(x, "rid", json_integer((json_int_t)r->id));
        json_object_set_new(x, "remote_id", json_string(r->remote_id));
        json_object_set_new(x, "remote_name", json_string(r->remote_name ? r->remote_name : ""));
        json_object_set_new(x, "did_solicit", json_boolean(r->outbound));
        json_object_set_new(x, "is_configured", json_boolean(configured));
        json_object_set_new(x, "ip", json_string(r->ip));
        json_object_set_new(x, "port", json_integer(r->port));
        json_array_append_new(routes, x);
        n++;
    }
    pthread_mutex_unlock(&c->mu);
    json_object_set_new(o, "num_routes", json_integer((json_int_t)n));
    json_object_set_new(o, "routes", routes);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return TERN_VERDICT_IGNORE;
    ev->json = c->api->strdup(s);
    free(s);
    return ev->json ? TERN_VERDICT_ALLOW : TERN_VERDICT_IGNORE;
}
