/* HTTP/1.x requests of one connection, parsed with http-parser (see
 * http.h). The answers to malformed requests copy Go's net/http, so a
 * client sees the same bytes from Tern as from nats-server. */
#include "http.h"

#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct mon_http_conn {
    http_parser         p;
    mon_http_handler_fn handler;
    mon_http_write_fn   write;
    void               *ud;
    char               *url;
    size_t              url_len, url_cap;
    char                field[8];      /* enough to recognise "Host" */
    size_t              field_len;
    bool                in_value;
    bool                host_seen;
    size_t              header_bytes;
    size_t              body_bytes;
    bool                closing;       /* no more requests are read */
    int                 fail_status;   /* a limit or rule broken: answer this */
    const char         *fail_reason;   /* Go's text after the status, or NULL */
};

const char *mon_http_status_text(int status)
{
    switch (status) {
    case 200: return "200 OK";
    case 400: return "400 Bad Request";
    case 404: return "404 Not Found";
    case 405: return "405 Method Not Allowed";
    case 413: return "413 Request Entity Too Large";
    case 431: return "431 Request Header Fields Too Large";
    case 500: return "500 Internal Server Error";
    case 503: return "503 Service Unavailable";
    case 505: return "505 HTTP Version Not Supported";
    default:  return "500 Internal Server Error";
    }
}

/* ---- decoding ------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *unescape(const char *s, size_t len, bool plus_is_space)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = plus_is_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    *o = '\0';
    return out;
}

char *mon_http_path_decode(const char *s, size_t len)
{
    return unescape(s, len, false);
}

char *mon_http_query_get(const char *query, const char *name)
{
    while (query && *query) {
        const char *end = strchr(query, '&');
        size_t len = end ? (size_t)(end - query) : strlen(query);
        const char *eq = memchr(query, '=', len);
        size_t klen = eq ? (size_t)(eq - query) : len;
        if (len && !memchr(query, ';', len)) {
            char *k = unescape(query, klen, true);
            char *v = eq ? unescape(eq + 1, len - klen - 1, true) : strdup("");
            if (k && v && !strcmp(k, name)) {
                free(k);
                return v;
            }
            free(k);
            free(v);
        }
        query += len + (end ? 1 : 0);
    }
    return NULL;
}

/* ---- answers --------------------------------------------------------------- */

/* Go's answer to a request it cannot read: no Date, no length, close. */
static void send_failure(mon_http_conn *c, int status, const char *reason)
{
    char buf[512];
    char line[160];
    snprintf(line, sizeof line, "%s%s%s", mon_http_status_text(status), reason ? ": " : "",
             reason ? reason : "");
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Connection: close\r\n\r\n%s",
                     line, line);
    c->write(c->ud, buf, (size_t)n);
}

static void send_response(mon_http_conn *c, const mon_http_req *req, const mon_http_resp *r,
                          bool keep)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    bool v10 = c->p.http_minor == 0;
    const char *conn_hdr = !keep && !v10 ? "Connection: close\r\n"
                           : keep && v10 ? "Connection: keep-alive\r\n"
                                         : "";
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.%d %s\r\n%s%s%s%sDate: %s\r\nContent-Length: %zu\r\n%s\r\n",
                     v10 ? 0 : 1, mon_http_status_text(r->status),
                     r->content_type ? "Content-Type: " : "",
                     r->content_type ? r->content_type : "", r->content_type ? "\r\n" : "",
                     r->nosniff ? "X-Content-Type-Options: nosniff\r\n" : "", date, r->len,
                     conn_hdr);
    size_t blen = req->head ? 0 : r->len;
    char *out = malloc((size_t)n + blen);
    if (!out)
        return;
    memcpy(out, head, (size_t)n);
    if (blen)
        memcpy(out + n, r->body, blen);
    c->write(c->ud, out, (size_t)n + blen);
    free(out);
}

/* ---- parser callbacks ---------------------------------------------------------- */

static mon_http_conn *conn_of(http_parser *p)
{
    return p->data;
}

static int fail(mon_http_conn *c, int status, const char *reason)
{
    c->fail_status = status;
    c->fail_reason = reason;
    return -1;
}

static int count_header(mon_http_conn *c, size_t len)
{
    c->header_bytes += len;
    return c->header_bytes > MON_HTTP_MAX_HEADER ? fail(c, 431, NULL) : 0;
}

static int on_message_begin(http_parser *p)
{
    mon_http_conn *c = conn_of(p);
    c->url_len = c->field_len = c->header_bytes = c->body_bytes = 0;
    c->in_value = c->host_seen = false;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    mon_http_conn *c = conn_of(p);
    if (count_header(c, len))
        return -1;
    if (c->url_len + len + 1 > c->url_cap) {
        size_t cap = (c->url_len + len + 1) * 2;
        char *u = realloc(c->url, cap);
        if (!u)
            return fail(c, 500, NULL);
        c->url = u;
        c->url_cap = cap;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    c->url[c->url_len] = '\0';
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    mon_http_conn *c = conn_of(p);
    if (count_header(c, len))
        return -1;
    if (c->in_value) {
        c->in_value = false;
        c->field_len = 0;
    }
    for (size_t i = 0; i < len; i++, c->field_len++)
        if (c->field_len < sizeof c->field)
            c->field[c->field_len] = at[i];
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    (void)at;
    mon_http_conn *c = conn_of(p);
    if (count_header(c, len))
        return -1;
    if (!c->in_value) {
        c->in_value = true;
        if (c->field_len == 4 && !strncasecmp(c->field, "host", 4))
            c->host_seen = true;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    mon_http_conn *c = conn_of(p);
    if (p->http_major != 1)
        return fail(c, 505, "unsupported protocol version");
    if (p->http_minor >= 1 && !c->host_seen)
        return fail(c, 400, "missing required Host header");
    if (!c->url_len)
        return fail(c, 400, NULL);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    (void)at;
    mon_http_conn *c = conn_of(p);
    c->body_bytes += len;
    return c->body_bytes > MON_HTTP_MAX_BODY ? fail(c, 413, NULL) : 0;
}

/* Answer one request. A request that ends the connection stops the
 * parser (a non-zero return), so pipelined bytes after it are dropped. */
static int on_message_complete(http_parser *p)
{
    mon_http_conn *c = conn_of(p);
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(c->url, c->url_len, 0, &u) != 0)
        return fail(c, 400, NULL);
    char *path = u.field_set & (1 << UF_PATH)
                     ? mon_http_path_decode(c->url + u.field_data[UF_PATH].off,
                                            u.field_data[UF_PATH].len)
                     : strdup("/");
    if (!path)
        return fail(c, 400, NULL);
    char *query = u.field_set & (1 << UF_QUERY)
                      ? strndup(c->url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
                      : strdup("");
    const char *method = http_method_str((enum http_method)p->method);
    mon_http_req req = { .method = method, .path = path, .query = query ? query : "",
                         .head = p->method == HTTP_HEAD };
    mon_http_resp resp = { .status = 500 };
    c->handler(c->ud, &req, &resp);
    bool keep = http_should_keep_alive(p) && !p->upgrade;
    send_response(c, &req, &resp, keep);
    free(resp.body);
    free(path);
    free(query);
    if (!keep) {
        c->closing = true;
        return -1;
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- the connection ------------------------------------------------------------- */

mon_http_conn *mon_http_conn_new(mon_http_handler_fn handler, mon_http_write_fn write, void *ud)
{
    mon_http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    http_parser_init(&c->p, HTTP_REQUEST);
    c->p.data = c;
    c->handler = handler;
    c->write = write;
    c->ud = ud;
    return c;
}

void mon_http_conn_free(mon_http_conn *c)
{
    if (!c)
        return;
    free(c->url);
    free(c);
}

int mon_http_feed(mon_http_conn *c, const void *bytes, size_t len)
{
    if (c->closing)
        return MON_HTTP_CLOSE;
    size_t n = http_parser_execute(&c->p, &settings, bytes, len);
    if (c->closing)
        return MON_HTTP_CLOSE;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->p);
    if (e != HPE_OK || c->fail_status) {
        if (c->fail_status)
            send_failure(c, c->fail_status, c->fail_reason);
        else
            send_failure(c, e == HPE_HEADER_OVERFLOW ? 431 : 400, NULL);
        c->closing = true;
        return MON_HTTP_CLOSE;
    }
    /* An Upgrade or CONNECT request: the parser stops reading HTTP. */
    if (c->p.upgrade || n != len) {
        c->closing = true;
        return MON_HTTP_CLOSE;
    }
    return MON_HTTP_OPEN;
}
