/* The `document` slot: a module asks for a monitoring document by name
 * with a URL query. The query is decoded here as Go's url.ParseQuery
 * does (so nats-server's parameter rules apply unchanged), the kernel's
 * builders answer (tern_docs_get), and names they do not know go to the
 * modules' info providers. */
#include "module_docs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "docs.h"
#include "module.h"
#include "module_int.h"
#include "xalloc.h"

typedef struct qparam {
    char *name, *value;
} qparam;

typedef struct query {
    qparam *p;
    size_t  n;
} query;

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

/* Go's QueryUnescape: '+' is a space, %XX a byte; a bad escape → NULL. */
static char *unescape(const char *s, size_t len)
{
    char *out = tern_xmalloc(len + 1), *o = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* Pairs split on '&'; a pair with ';' in it or a bad escape is dropped,
 * as Go 1.17+ drops it (the rest of the query still counts). */
static void parse_query(const char *text, query *q)
{
    q->p = NULL;
    q->n = 0;
    if (!text)
        return;
    size_t cap = 0;
    while (*text) {
        const char *end = strchr(text, '&');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        const char *eq = memchr(text, '=', len);
        size_t klen = eq ? (size_t)(eq - text) : len;
        if (len && !memchr(text, ';', len)) {
            char *k = unescape(text, klen);
            char *v = eq ? unescape(eq + 1, len - klen - 1) : tern_xstrdup("");
            if (k && v) {
                if (q->n == cap) {
                    cap = cap ? cap * 2 : 8;
                    q->p = tern_xrealloc(q->p, cap * sizeof *q->p);
                }
                q->p[q->n++] = (qparam){ k, v };
            } else {
                free(k);
                free(v);
            }
        }
        text += len + (end ? 1 : 0);
    }
}

static void free_query(query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->p[i].name);
        free(q->p[i].value);
    }
    free(q->p);
}

/* The first value, as Go's Values.Get. */
static const char *query_get(void *ud, const char *name)
{
    const query *q = ud;
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->p[i].name, name))
            return q->p[i].value;
    return NULL;
}

tern_rc tern_mod_document(tern_module *m, const char *name, const char *text, int *status,
                          char **json)
{
    (void)m;
    if (!name || !status || !json)
        return TERN_EINVAL;
    *json = NULL;
    if (!tern_mod_srv)
        return TERN_ENOTSUP;
    query q;
    parse_query(text, &q);
    char err[512];
    json_t *doc = tern_docs_get(tern_mod_srv, name, query_get, &q, NULL, status, err, sizeof err);
    if (!doc && *status == 404 && (doc = tern_module_info(name)) != NULL)
        *status = 200;
    free_query(&q);
    if (doc) {
        *json = tern_docs_dumps(doc, false);
        json_decref(doc);
    } else if (*status == 400) {
        *json = tern_xstrdup(err);
    }
    return TERN_OK;
}
