/* Subject mappings (mappings.h). */
#include "mappings.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imports.h"
#include "perms.h"
#include "sublist.h"
#include "xalloc.h"

#define WEIGHT_ALL 100

static int count_tokens(const char *s, char wc)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        if (*p == wc && (p == s || p[-1] == '.') && (!p[1] || p[1] == '.'))
            n++;
    return n;
}

/* Rewrite {{wildcard(N)}} as $N; other functions are refused. */
static int dest_subject(const tern_conf_node *at, const char *in, char **out, char *err,
                        size_t errlen)
{
    size_t n = strlen(in);
    char *o = tern_xmalloc(n + 1);
    size_t k = 0;
    for (const char *p = in; *p;) {
        if (p[0] != '{' || p[1] != '{') {
            o[k++] = *p++;
            continue;
        }
        const char *end = strstr(p, "}}");
        const char *f = p + 2;
        while (*f == ' ')
            f++;
        if (!end || strncasecmp(f, "wildcard(", 9) != 0) {
            free(o);
            return tern_conf_error(at, err, errlen,
                                   "mapping destination \"%s\": only the wildcard() function "
                                   "is supported", in);
        }
        char *e;
        long idx = strtol(f + 9, &e, 10);
        while (*e == ' ')
            e++;
        if (idx < 1 || *e != ')') {
            free(o);
            return tern_conf_error(at, err, errlen, "mapping destination \"%s\": bad wildcard()", in);
        }
        k += (size_t)snprintf(o + k, n + 1 - k, "$%ld", idx);
        p = end + 2;
    }
    o[k] = '\0';
    *out = o;
    return 0;
}

static int check_dest(const tern_conf_node *at, const char *src, const char *dest, char *err,
                      size_t errlen)
{
    if (!tern_subject_valid(dest, strlen(dest), true))
        return tern_conf_error(at, err, errlen, "invalid mapping destination \"%s\"", dest);
    int pwc = count_tokens(src, '*');
    for (const char *p = dest; (p = strchr(p, '$')); p++) {
        long idx = strtol(p + 1, NULL, 10);
        if ((p == dest || p[-1] == '.') && (idx < 1 || idx > pwc))
            return tern_conf_error(at, err, errlen,
                                   "mapping destination \"%s\": wildcard $%ld does not exist in "
                                   "\"%s\"", dest, idx, src);
    }
    if (count_tokens(src, '>') != count_tokens(dest, '>'))
        return tern_conf_error(at, err, errlen,
                               "mapping destination \"%s\" must keep the full wildcard of \"%s\"",
                               dest, src);
    return 0;
}

/* A weight: 50, "50" or "50%". */
static int weight(const tern_conf_node *v, int *out, char *err, size_t errlen)
{
    char *t = NULL, e[TERN_CONF_ERR_MAX];
    if (tern_conf_string(v, &t, e, sizeof e) < 0)
        return tern_conf_error(v, err, errlen, "a mapping weight must be a percentage");
    char *end;
    long w = strtol(t, &end, 10);
    bool ok = end != t && (!*end || (end[0] == '%' && !end[1]));
    free(t);
    if (!ok || w < 0 || w > WEIGHT_ALL)
        return tern_conf_error(v, err, errlen, "invalid mapping weight (0 to 100%%)");
    *out = (int)w;
    return 0;
}

static int dest_entry(const tern_conf_node *v, const char *src, tern_mapping *m, char *err,
                      size_t errlen)
{
    char e[TERN_CONF_ERR_MAX];
    char *raw = NULL;
    int w = WEIGHT_ALL, rc = 0;
    if (v->type == TERN_CONF_SCALAR) {
        rc = tern_conf_string(v, &raw, e, sizeof e);
    } else if (v->type == TERN_CONF_MAP) {
        for (size_t i = 0; i < v->n && rc == 0; i++) {
            const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
            if (!strcasecmp(k->value, "destination") || !strcasecmp(k->value, "dest") ||
                !strcasecmp(k->value, "dst")) {
                free(raw);
                raw = NULL;
                if (tern_conf_string(x, &raw, e, sizeof e) < 0)
                    rc = tern_conf_error(x, err, errlen, "a mapping destination must be a subject");
            } else if (!strcasecmp(k->value, "weight")) {
                rc = weight(x, &w, err, errlen);
            } else if (!strcasecmp(k->value, "cluster")) {
                rc = tern_conf_error(k, err, errlen,
                                     "cluster-scoped mapping destinations are not supported");
            } else {
                rc = tern_conf_error(k, err, errlen, "unknown key '%s' in a mapping destination",
                                     k->value);
            }
        }
    } else {
        rc = -1;
    }
    if (rc == 0 && !raw)
        rc = tern_conf_error(v, err, errlen, "a mapping needs a destination subject");
    char *dest = NULL;
    if (rc == 0 && (rc = dest_subject(v, raw, &dest, err, errlen)) == 0 &&
        (rc = check_dest(v, src, dest, err, errlen)) == 0 && m->total + w > WEIGHT_ALL)
        rc = tern_conf_error(v, err, errlen, "the weights of mapping \"%s\" add up to more than 100%%",
                             src);
    free(raw);
    if (rc < 0) {
        free(dest);
        return -1;
    }
    m->dests = tern_xrealloc(m->dests, (m->ndests + 1) * sizeof *m->dests);
    m->dests[m->ndests++] = (tern_map_dest){dest, w};
    m->total += w;
    return 0;
}

int tern_conf_mappings(const tern_conf_node *v, tern_account_conf *ac, char *err, size_t errlen)
{
    if (v->type == TERN_CONF_NULL)
        return 0;
    if (v->type != TERN_CONF_MAP)
        return tern_conf_error(v, err, errlen, "mappings must be a mapping of subjects");
    for (size_t i = 0; i < v->n; i++) {
        const tern_conf_node *k = v->pairs[i].key, *x = v->pairs[i].value;
        const char *src = k->value;
        if (!tern_subject_valid(src, strlen(src), true))
            return tern_conf_error(k, err, errlen, "invalid mapping source \"%s\"", src);
        tern_mapping m = {.src = tern_xstrdup(src)};
        int rc = 0;
        if (x->type == TERN_CONF_LIST) {
            for (size_t j = 0; j < x->n && rc == 0; j++)
                rc = dest_entry(x->items[j], src, &m, err, errlen);
            if (rc == 0 && !x->n)
                rc = tern_conf_error(x, err, errlen, "mapping \"%s\" has no destination", src);
        } else if (x->type == TERN_CONF_SCALAR || x->type == TERN_CONF_MAP) {
            rc = dest_entry(x, src, &m, err, errlen);
        } else {
            rc = tern_conf_error(x, err, errlen, "mapping \"%s\": expected a subject, a destination "
                                 "or a list of destinations", src);
        }
        if (rc == 0 && m.total == 0)
            rc = tern_conf_error(x, err, errlen, "mapping \"%s\" has no weight", src);
        if (rc < 0 && !err[0])
            rc = tern_conf_error(x, err, errlen, "mapping \"%s\": bad destination", src);
        ac->mappings = tern_xrealloc(ac->mappings, (ac->nmappings + 1) * sizeof *ac->mappings);
        ac->mappings[ac->nmappings++] = m;    /* freed with ac, also on error */
        if (rc < 0)
            return -1;
    }
    return 0;
}

static bool is_literal(const char *s)
{
    return !count_tokens(s, '*') && !count_tokens(s, '>');
}

char *tern_mappings_apply(const tern_account_conf *ac, const char *subject, size_t len, char *buf,
                          size_t cap, size_t *outlen)
{
    const tern_mapping *m = NULL;
    for (size_t i = 0; i < ac->nmappings && !m; i++) {
        const tern_mapping *x = &ac->mappings[i];
        if (is_literal(x->src) ? strlen(x->src) == len && !memcmp(x->src, subject, len)
                               : tern_perm_match(x->src, subject, len))
            m = x;
    }
    if (!m)
        return NULL;
    const tern_map_dest *d = &m->dests[0];
    if (m->ndests > 1 || m->total < WEIGHT_ALL) {
        int r = (int)tern_sublist_rand(WEIGHT_ALL), acc = 0;
        d = NULL;
        for (size_t i = 0; i < m->ndests && !d; i++)
            if (r < (acc += m->dests[i].weight))
                d = &m->dests[i];
        if (!d)
            return NULL;    /* the remainder: the original subject */
    }
    return tern_subject_transform(m->src, d->subject, subject, len, buf, cap, outlen);
}
