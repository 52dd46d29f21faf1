/* A user_scope signing key's template applied to one user, as
 * nats-server 2.9's processUserPermissionsTemplate: the subjects of
 * pub/sub allow/deny may hold tokens {{fn()}} that become the user's or
 * the account's name, public key or tag values. Only whole tokens
 * (between dots) are functions; the function name is case-insensitive. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj.h"

/* Later nats-server versions cap the subjects one list may give; 2.9.10
 * has no cap (a large tag product exhausts its memory): refusing beyond
 * the same cap is the safe reading. */
#define AJ_TEMPLATE_MAX 4096

/* nats-server's IsValidSubject: non-empty tokens, no white space, '>'
 * only last. */
static bool valid_subject(const char *s)
{
    if (!*s)
        return false;
    bool fwc = false;
    for (const char *t = s;;) {
        const char *e = strchr(t, '.');
        size_t n = e ? (size_t)(e - t) : strlen(t);
        if (n == 0 || fwc)
            return false;
        for (size_t i = 0; i < n; i++)
            if (strchr(" \t\n\r\f", t[i]))
                return false;
        if (n == 1 && *t == '>')
            fwc = true;
        if (!e)
            return true;
        t = e + 1;
    }
}

static bool is_function(const char *t, size_t n)
{
    return n >= 4 && !strncmp(t, "{{", 2) && !strncmp(t + n - 2, "}}", 2);
}

static bool has_function(const char *s)
{
    for (const char *t = s;;) {
        const char *e = strchr(t, '.');
        size_t n = e ? (size_t)(e - t) : strlen(t);
        if (is_function(t, n))
            return true;
        if (!e)
            return false;
        t = e + 1;
    }
}

/* One token of a subject once its function is evaluated: text, or the
 * values of a tag (one subject per value). */
typedef struct tok {
    const char *text;
    size_t      len;
    json_t     *values;          /* a tag's values, NULL: text */
} tok;

typedef struct ctx {
    json_t *user, *acc;
    json_t *out;                 /* the list being emitted */
    bool    fail_bad;            /* deny lists: a bad subject refuses the user */
} ctx;

static const char *sval(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The values of the tags "<name>:<value>" of a claims' nats.tags. The
 * tags are compared as stored (jwt tools store them lower-case). */
static json_t *tag_values(json_t *claims, const char *name, size_t nlen)
{
    json_t *vals = json_array(), *t;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(claims, "nats"), "tags"), i, t) {
        const char *s = json_string_value(t);
        if (s && strlen(s) > nlen && !strncmp(s, name, nlen) && s[nlen] == ':')
            json_array_append_new(vals, json_string(s + nlen + 1));
    }
    return vals;
}

/* Evaluate the function token t[0..n) (with its braces) into *k. A value
 * that cannot make a valid subject (unknown function, no such tag) is
 * " ", which the subject check then rejects, as nats-server does. */
static void evaluate(ctx *c, const char *t, size_t n, tok *k)
{
    size_t ol = n - 4;
    char *op = malloc(ol + 1);
    for (size_t i = 0; i < ol; i++)
        op[i] = (char)tolower((unsigned char)t[2 + i]);
    op[ol] = 0;
    const char *v = " ";
    json_t *claims = NULL;
    const char *arg = NULL;
    if (!strcmp(op, "name()"))
        v = sval(c->user, "name");
    else if (!strcmp(op, "subject()"))
        v = sval(c->user, "sub");
    else if (!strcmp(op, "account-name()"))
        v = sval(c->acc, "name");
    else if (!strcmp(op, "account-subject()"))
        v = sval(json_object_get(c->user, "nats"), "issuer_account");
    else if (ol > 0 && op[ol - 1] == ')' && !strncmp(op, "tag(", 4))
        claims = c->user, arg = op + 4;
    else if (ol > 0 && op[ol - 1] == ')' && !strncmp(op, "account-tag(", 12))
        claims = c->acc, arg = op + 12;
    if (claims) {
        json_t *vals = tag_values(claims, arg, (size_t)(op + ol - 1 - arg));
        if (json_array_size(vals)) {
            k->values = vals;
            free(op);
            return;
        }
        json_decref(vals);
    }
    free(op);
    k->text = v;
    k->len = strlen(v);
}

/* Emit s, or refuse it: false when the user must be refused. */
static bool emit(ctx *c, const char *s, char *why, size_t whylen)
{
    if (!valid_subject(s)) {
        if (c->fail_bad)
            return snprintf(why, whylen, "scope template generated invalid subject \"%s\"", s),
                   false;
        return true;             /* allow lists: left out */
    }
    if (json_array_size(c->out) >= AJ_TEMPLATE_MAX)
        return snprintf(why, whylen, "scope template generates more than %d subjects",
                        AJ_TEMPLATE_MAX), false;
    json_array_append_new(c->out, json_string(s));
    return true;
}

/* One subject of the list: every combination of its tags' values (the
 * last tag varies fastest, as nats-server's cartesian product). */
static bool expand(ctx *c, const char *subject, char *why, size_t whylen)
{
    size_t ntok = 1;
    for (const char *p = subject; *p; p++)
        ntok += *p == '.';
    tok *k = calloc(ntok, sizeof *k);
    size_t *idx = calloc(ntok, sizeof *idx);
    size_t i = 0, combos = 1, cap = 1;
    for (const char *t = subject;; i++) {
        const char *e = strchr(t, '.');
        size_t n = e ? (size_t)(e - t) : strlen(t);
        if (is_function(t, n)) {
            evaluate(c, t, n, &k[i]);
        } else {
            k[i].text = t;
            k[i].len = n;
        }
        if (k[i].values) {
            size_t nv = json_array_size(k[i].values);
            combos = combos > AJ_TEMPLATE_MAX / nv ? AJ_TEMPLATE_MAX + 1 : combos * nv;
            for (size_t j = 0; j < json_array_size(k[i].values); j++)
                cap += strlen(json_string_value(json_array_get(k[i].values, j))) + 1;
        } else {
            cap += k[i].len + 1;
        }
        if (!e)
            break;
        t = e + 1;
    }
    bool ok = true;
    if (combos > AJ_TEMPLATE_MAX) {
        ok = false;
        snprintf(why, whylen, "scope template generates more than %d subjects", AJ_TEMPLATE_MAX);
    }
    char *buf = malloc(cap);
    for (size_t m = 0; ok && m < combos; m++) {
        size_t len = 0;
        for (size_t j = 0; j < ntok; j++) {
            const char *s = k[j].values ? json_string_value(json_array_get(k[j].values, idx[j]))
                                        : k[j].text;
            size_t sl = k[j].values ? strlen(s) : k[j].len;
            memcpy(buf + len, s, sl);
            len += sl;
            if (j + 1 < ntok)
                buf[len++] = '.';
        }
        buf[len] = 0;
        ok = emit(c, buf, why, whylen);
        for (size_t j = ntok; j-- > 0;) {   /* next combination */
            if (!k[j].values)
                continue;
            if (++idx[j] < json_array_size(k[j].values))
                break;
            idx[j] = 0;
        }
    }
    free(buf);
    for (size_t j = 0; j < ntok; j++)
        json_decref(k[j].values);
    free(k);
    free(idx);
    return ok;
}

/* One list (allow or deny) of perm[dir]: replaced by its expansion when
 * one of its subjects uses a function; a list without any is kept as it
 * is, invalid subjects included, as nats-server. */
static bool apply_list(ctx *c, json_t *perm, const char *key, char *why, size_t whylen)
{
    json_t *list = json_object_get(perm, key), *v;
    size_t i;
    bool found = false;
    json_array_foreach(list, i, v)
        found |= json_is_string(v) && has_function(json_string_value(v));
    if (!found)
        return true;
    c->out = json_array();
    c->fail_bad = !strcmp(key, "deny");
    json_array_foreach(list, i, v) {
        bool ok = json_is_string(v) ? expand(c, json_string_value(v), why, whylen)
                                    : emit(c, "", why, whylen);
        if (!ok) {
            json_decref(c->out);
            return false;
        }
    }
    json_object_set_new(perm, key, c->out);
    return true;
}

/* An allow list that named subjects and lost them all: nothing is
 * allowed then, hence a "deny >" (an empty allow list allows all). */
static void deny_all_if_emptied(json_t *perm, size_t before)
{
    if (!before || json_array_size(json_object_get(perm, "allow")))
        return;
    json_t *deny = json_object_get(perm, "deny"), *v;
    if (!json_is_array(deny)) {
        deny = json_array();
        json_object_set_new(perm, "deny", deny);
    }
    size_t i;
    json_array_foreach(deny, i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), ">"))
            return;
    json_array_append_new(deny, json_string(">"));
}

json_t *aj_template_apply(json_t *tmpl, json_t *user, json_t *acc, char *why, size_t whylen)
{
    json_t *lim = json_is_object(tmpl) ? json_deep_copy(tmpl) : json_object();
    ctx c = { .user = user, .acc = acc };
    /* nats-server's order: sub allow, sub deny, pub allow, pub deny */
    static const char *const dirs[] = { "sub", "pub" };
    for (int d = 0; d < 2; d++) {
        json_t *perm = json_object_get(lim, dirs[d]);
        if (!json_is_object(perm))
            continue;
        size_t before = json_array_size(json_object_get(perm, "allow"));
        if (!apply_list(&c, perm, "allow", why, whylen) ||
            !apply_list(&c, perm, "deny", why, whylen)) {
            json_decref(lim);
            return NULL;
        }
        deny_all_if_emptied(perm, before);
    }
    return lim;
}
