/* Route INFO / CONNECT JSON (rinfo.h). */
#include "rinfo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static void set_true(json_t *o, const char *k, bool v)
{
    if (v)
        json_object_set_new(o, k, json_true());
}

/* "<op> <json> CRLF" (INFO ends "} \r\n" like nats-server's). */
static char *line(const char *op, json_t *o, const char *tail)
{
    char *js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!js)
        return NULL;
    size_t n = strlen(op) + strlen(js) + strlen(tail) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s %s%s", op, js, tail);
    free(js);
    return s;
}

char *cl_info_line(const cl_self *self, const char *nonce)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_str(o, "server_id", self->server_id);
    set_str(o, "server_name", self->server_name);
    set_str(o, "version", self->version);
    json_object_set_new(o, "proto", json_integer(2));
    set_str(o, "host", self->host);
    json_object_set_new(o, "port", json_integer(self->port));
    set_true(o, "auth_required", self->auth_required);
    set_true(o, "tls_required", self->tls_required);
    set_true(o, "tls_verify", self->tls_required);
    json_object_set_new(o, "headers", json_true());
    if (self->max_payload > 0)
        json_object_set_new(o, "max_payload", json_integer(self->max_payload));
    set_str(o, "nonce", nonce);
    set_str(o, "cluster", self->cluster);
    set_true(o, "cluster_dynamic", self->dynamic);
    set_str(o, "ip", self->ip);
    if (self->n_connect_urls) {
        json_t *a = json_array();
        for (size_t i = 0; i < self->n_connect_urls; i++)
            json_array_append_new(a, json_string(self->connect_urls[i]));
        json_object_set_new(o, "connect_urls", a);
    }
    set_true(o, "ldm", self->ldm);
    if (self->import_)
        json_object_set(o, "import", self->import_);
    if (self->export_)
        json_object_set(o, "export", self->export_);
    /* leaf-origin interest and messages (LS+/LMSG) are understood */
    json_object_set_new(o, "lnoc", json_true());
    return line("INFO", o, " \r\n");
}

static char *dup_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? strdup(s) : NULL;
}

static bool get_bool(json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

int cl_info_parse(const char *text, size_t len, cl_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je);
    if (!json_is_object(o)) {
        snprintf(err, errlen, "bad INFO: %s", o ? "not an object" : je.text);
        json_decref(o);
        return -1;
    }
    out->json = o;
    out->server_id = dup_str(o, "server_id");
    if (!out->server_id || !*out->server_id) {
        snprintf(err, errlen, "bad INFO: no server_id");
        cl_info_free(out);
        return -1;
    }
    out->server_name = dup_str(o, "server_name");
    out->cluster = dup_str(o, "cluster");
    out->host = dup_str(o, "host");
    out->ip = dup_str(o, "ip");
    out->gateway = dup_str(o, "gateway");
    out->port = (int)json_integer_value(json_object_get(o, "port"));
    out->proto = (int)json_integer_value(json_object_get(o, "proto"));
    out->auth_required = get_bool(o, "auth_required");
    out->tls_required = get_bool(o, "tls_required");
    out->headers = get_bool(o, "headers");
    out->dynamic = get_bool(o, "cluster_dynamic");
    out->ldm = get_bool(o, "ldm");
    out->lnoc = get_bool(o, "lnoc");
    json_t *urls = json_object_get(o, "connect_urls");
    size_t n = json_is_array(urls) ? json_array_size(urls) : 0;
    if (n) {
        out->connect_urls = calloc(n, sizeof *out->connect_urls);
        for (size_t i = 0; out->connect_urls && i < n; i++) {
            const char *u = json_string_value(json_array_get(urls, i));
            if (u)
                out->connect_urls[out->n_connect_urls++] = strdup(u);
        }
    }
    return 0;
}

void cl_info_free(cl_info *i)
{
    free(i->server_id);
    free(i->server_name);
    free(i->cluster);
    free(i->host);
    free(i->ip);
    free(i->gateway);
    for (size_t k = 0; k < i->n_connect_urls; k++)
        free(i->connect_urls[k]);
    free(i->connect_urls);
    json_decref(i->json);
    memset(i, 0, sizeof *i);
}

void cl_hostport(char *out, size_t outlen, const char *host, int port)
{
    const char *h = host ? host : "";
    if (strchr(h, ':'))
        snprintf(out, outlen, "[%s]:%d", h, port);
    else
        snprintf(out, outlen, "%s:%d", h, port);
    for (char *s = out; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

char *cl_info_gossip_line(const cl_info *peer, const char *peer_ip)
{
    json_t *o = json_deep_copy(peer->json);
    if (!o)
        return NULL;
    json_object_del(o, "nonce");
    if (!peer->ip || !*peer->ip) {
        char hp[300], url[320];
        cl_hostport(hp, sizeof hp, peer_ip, peer->port);
        snprintf(url, sizeof url, "nats-route://%s/", hp);
        json_object_set_new(o, "ip", json_string(url));
    }
    return line("INFO", o, " \r\n");
}

char *cl_connect_line(const cl_connect *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    /* nats-server's connectInfo: echo, verbose and pedantic always there */
    json_object_set_new(o, "echo", json_true());
    json_object_set_new(o, "verbose", json_false());
    json_object_set_new(o, "pedantic", json_false());
    set_str(o, "user", c->user);
    set_str(o, "pass", c->pass);
    json_object_set_new(o, "tls_required", json_boolean(c->tls_required));
    json_object_set_new(o, "headers", json_boolean(c->headers));
    set_str(o, "name", c->name);
    json_object_set_new(o, "cluster", json_string(c->cluster ? c->cluster : ""));
    set_true(o, "cluster_dynamic", c->dynamic);
    json_object_set_new(o, "lnoc", json_true());
    return line("CONNECT", o, "\r\n");
}

int cl_connect_parse(const char *text, size_t len, cl_connect_in *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je);
    if (!json_is_object(o)) {
        snprintf(err, errlen, "bad CONNECT: %s", o ? "not an object" : je.text);
        json_decref(o);
        return -1;
    }
    out->user = dup_str(o, "user");
    out->pass = dup_str(o, "pass");
    out->auth_token = dup_str(o, "auth_token");
    out->name = dup_str(o, "name");
    out->cluster = dup_str(o, "cluster");
    out->lang = dup_str(o, "lang");
    out->gateway = dup_str(o, "gateway");
    out->dynamic = get_bool(o, "cluster_dynamic");
    out->headers = get_bool(o, "headers");
    out->verbose = get_bool(o, "verbose");
    json_decref(o);
    return 0;
}

void cl_connect_free(cl_connect_in *c)
{
    free(c->user);
    free(c->pass);
    free(c->auth_token);
    free(c->name);
    free(c->cluster);
    free(c->lang);
    free(c->gateway);
    memset(c, 0, sizeof *c);
}
