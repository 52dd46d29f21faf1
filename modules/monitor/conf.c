/* modules.monitor and the nats-server monitoring keys (conf.h). */
#include "conf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = { "listen", "https_listen", "tls", "base_path", NULL };
static const char *const tls_keys[] = { "cert", "key", "ca", "verify", "timeout", NULL };

/* A port as nats-server takes it: -1 (random) to 65535. */
static int parse_port(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < -1 || v > 65535)
        return -1;
    *out = v < 0 ? 0 : (int)v;
    return 0;
}

/* "port", "host:port", ":port" or "[v6]:port". */
static int parse_hostport(const char *text, mon_endpoint *e)
{
    memset(e, 0, sizeof *e);
    e->on = true;
    const char *colon = strrchr(text, ':');
    if (!colon)
        return parse_port(text, &e->port);
    const char *h = text;
    size_t hlen = (size_t)(colon - text);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
        h++, hlen -= 2;
    else if (memchr(h, ':', hlen))
        return -1;                 /* an IPv6 address needs brackets */
    if (hlen >= sizeof e->host)
        return -1;
    memcpy(e->host, h, hlen);
    e->host[hlen] = '\0';
    e->has_host = hlen > 0;
    return parse_port(colon + 1, &e->port);
}

static tern_rc read_endpoint(tern_module *m, const tern_host_api *api, const tern_config *n,
                             const char *key, mon_endpoint *e)
{
    const char *text;
    tern_rc rc = api->conf_str(m, n, &text);
    if (rc != TERN_OK)
        return rc;
    if (parse_hostport(text, e) < 0)
        return api->conf_error(m, n, "%s: expected host:port or a port (-1 for any), got '%s'",
                               key, text);
    return TERN_OK;
}

/* Go's path.Clean of "/" + p, as nats-server normalises http_base_path;
 * "/" becomes "". */
static int clean_base_path(const char *p, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    while (*p) {
        while (*p == '/')
            p++;
        const char *seg = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - seg);
        if (!len || (len == 1 && seg[0] == '.'))
            continue;
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
            out[n] = '\0';
            continue;
        }
        if (n + len + 2 > outlen)
            return -1;
        out[n++] = '/';
        memcpy(out + n, seg, len);
        n += len;
        out[n] = '\0';
    }
    return 0;
}

static tern_rc read_tls(tern_module *m, const tern_host_api *api, const tern_config *tls,
                        mon_conf *out)
{
    tern_rc rc = api->conf_check_keys(m, tls, tls_keys);
    if (rc != TERN_OK)
        return rc;
    char **paths[] = { &out->tls_cert, &out->tls_key, &out->tls_ca };
    for (size_t i = 0; i < 3; i++) {
        char *p = NULL;
        rc = api->conf_path(m, api->conf_get(tls, tls_keys[i]), &p);
        if (rc == TERN_EINVAL)
            return rc;
        if (p) {
            *paths[i] = strdup(p);
            api->free(p);
        }
    }
    rc = api->conf_bool(m, api->conf_get(tls, "verify"), &out->tls_verify);
    if (rc == TERN_EINVAL)
        return rc;
    rc = api->conf_duration_ms(m, api->conf_get(tls, "timeout"), &out->tls_timeout_ms);
    return rc == TERN_EINVAL ? rc : TERN_OK;
}

tern_rc mon_conf_read(tern_module *m, const tern_host_api *api, const tern_config *conf,
                      mon_conf *out)
{
    memset(out, 0, sizeof *out);
    tern_rc rc = api->conf_check_keys(m, conf, keys);
    if (rc != TERN_OK)
        return rc;
    const tern_config *n;
    if ((n = api->conf_get(conf, "listen")) &&
        (rc = read_endpoint(m, api, n, "listen", &out->http)) != TERN_OK)
        goto fail;
    if ((n = api->conf_get(conf, "https_listen")) &&
        (rc = read_endpoint(m, api, n, "https_listen", &out->https)) != TERN_OK)
        goto fail;
    if (!out->http.on && !out->https.on)
        out->http = (mon_endpoint){ .on = true, .port = MON_DEFAULT_PORT };
    if ((n = api->conf_get(conf, "base_path"))) {
        const char *bp;
        if ((rc = api->conf_str(m, n, &bp)) != TERN_OK)
            goto fail;
        if (clean_base_path(bp, out->base_path, sizeof out->base_path) < 0) {
            rc = api->conf_error(m, n, "base_path is too long");
            goto fail;
        }
    }
    const tern_config *tls = api->conf_get(conf, "tls");
    if (tls && (rc = read_tls(m, api, tls, out)) != TERN_OK)
        goto fail;
    if (out->https.on && (!out->tls_cert || !out->tls_key)) {
        rc = api->conf_error(m, api->conf_get(conf, "https_listen"),
                             "https_listen needs tls.cert and tls.key");
        goto fail;
    }
    return TERN_OK;
fail:
    mon_conf_free(out);
    return rc;
}

void mon_conf_free(mon_conf *c)
{
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tls_ca);
    c->tls_cert = c->tls_key = c->tls_ca = NULL;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_endpoint(const mon_endpoint *a, const mon_endpoint *b)
{
    return a->on == b->on && a->has_host == b->has_host && !strcmp(a->host, b->host) &&
           a->port == b->port;
}

bool mon_conf_same_listeners(const mon_conf *a, const mon_conf *b)
{
    return same_endpoint(&a->http, &b->http) && same_endpoint(&a->https, &b->https) &&
           same_str(a->tls_cert, b->tls_cert) && same_str(a->tls_key, b->tls_key) &&
           same_str(a->tls_ca, b->tls_ca) && a->tls_verify == b->tls_verify &&
           a->tls_timeout_ms == b->tls_timeout_ms;
}

/* ---- nats-server keys ---------------------------------------------------- */

const char *const mon_nats_keys[] = { "http", "https", "http_port", "monitor_port",
                                      "https_port", "http_base_path", NULL };

/* nats-server: http_port, monitor_port and https_port are integers; http
 * and https a port or "host:port"; http_base_path a string. */
tern_rc mon_nats_map(tern_module *m, const tern_host_api *api, const char *key,
                     const tern_config *value, char **json)
{
    const char *text;
    tern_rc rc = api->conf_str(m, value, &text);
    if (rc != TERN_OK)
        return rc == TERN_ENOENT ? api->conf_error(m, value, "%s: expected a value", key) : rc;
    const char *target;
    bool https = !strcmp(key, "https") || !strcmp(key, "https_port");
    if (!strcmp(key, "http_base_path")) {
        target = "base_path";
    } else {
        target = https ? "https_listen" : "listen";
        mon_endpoint e;
        bool port_only = strcmp(key, "http") && strcmp(key, "https");
        if ((port_only && strchr(text, ':')) || parse_hostport(text, &e) < 0)
            return api->conf_error(m, value, "%s: expected %s, got '%s'", key,
                                   port_only ? "a port" : "a port or host:port", text);
    }
    json_t *doc = json_pack("{ss}", target, text);
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!s)
        return TERN_ENOMEM;
    *json = api->strdup(s);
    free(s);
    return *json ? TERN_OK : TERN_ENOMEM;
}
