/* Peer URLs of routes, gateways and leaf nodes (tern/wire.h). */
#include "tern/wire.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int hex_val(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Percent-decoding of userinfo (Go's url.Parse does it); a '%' not
 * followed by two hex digits stays as it is. */
static char *unescape(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            d[j++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
            i += 2;
        } else {
            d[j++] = s[i];
        }
    }
    d[j] = '\0';
    return d;
}

int tern_wire_url_hostport(const char *s, size_t n, int default_port, char **host, int *port)
{
    const char *h = s, *colon = NULL;
    size_t hl;
    if (n && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return -1;
        h = s + 1;
        hl = (size_t)(rb - s) - 1;
        if ((size_t)(rb - s) + 1 < n) {
            if (rb[1] != ':')
                return -1;
            colon = rb + 1;
        }
    } else {
        colon = memrchr(s, ':', n);
        hl = colon ? (size_t)(colon - s) : n;
    }
    int v = default_port;
    if (colon) {
        const char *p = colon + 1;
        size_t pl = n - (size_t)(p - s);
        if (!pl || pl > 5)
            return -1;
        v = 0;
        for (size_t i = 0; i < pl; i++) {
            if (!isdigit((unsigned char)p[i]))
                return -1;
            v = v * 10 + (p[i] - '0');
        }
        if (v > 65535)
            return -1;
    }
    if (hl == 0 || v < 0)
        return -1;
    *host = dup_n(h, hl);
    *port = v;
    return *host ? 0 : -1;
}

static bool scheme_known(const tern_wire_url_spec *spec, const char *s, size_t n)
{
    for (const char *const *k = spec->schemes; *k; k++)
        if (strlen(*k) == n && !strncasecmp(s, *k, n))
            return true;
    return false;
}

int tern_wire_url_parse(const char *text, const tern_wire_url_spec *spec, tern_wire_url *out,
                        char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *port_text = spec->default_port < 0 ? ":port" : "[:port]";
    const char *s = strstr(text, "://");
    if (s) {
        size_t sl = (size_t)(s - text);
        if (!scheme_known(spec, text, sl)) {
            snprintf(err, errlen, "%s URL %s: unsupported scheme (%s)", spec->what, text,
                     spec->schemes_text);
            return -1;
        }
        if (!(out->scheme = dup_n(text, sl)))
            goto oom;
        for (char *c = out->scheme; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        s += 3;
    } else if (spec->scheme_optional) {
        s = text;
    } else {
        snprintf(err, errlen, "%s URL %s: expected %s://host%s", spec->what, text,
                 spec->schemes[0], port_text);
        return -1;
    }
    size_t n = strcspn(s, "/?#");
    const char *at = memrchr(s, '@', n);
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (colon) {
            out->user = unescape(s, (size_t)(colon - s));
            out->pass = unescape(colon + 1, (size_t)(at - colon - 1));
            if (!out->pass)
                goto oom;
        } else {
            out->user = unescape(s, (size_t)(at - s));
        }
        if (!out->user)
            goto oom;
        n -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    if (tern_wire_url_hostport(s, n, spec->default_port, &out->host, &out->port) < 0) {
        snprintf(err, errlen, "%s URL %s: expected host%s", spec->what, text, port_text);
        tern_wire_url_free(out);
        return -1;
    }
    if (!(out->text = strdup(text)))
        goto oom;
    return 0;
oom:
    snprintf(err, errlen, "%s URL %s: out of memory", spec->what, text);
    tern_wire_url_free(out);
    return -1;
}

void tern_wire_url_free(tern_wire_url *u)
{
    free(u->text);
    free(u->scheme);
    free(u->user);
    free(u->pass);
    free(u->host);
    memset(u, 0, sizeof *u);
}
