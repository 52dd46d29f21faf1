/* The configuration tree and its YAML front end (libyaml's event API).
 *
 * Every node keeps the absolute path of its file and a 1-based line and
 * column, so that any consumer can report "file:line:column: reason". */
#include "errf.h"
#include "conf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "conf_nats_map.h"
#include "units.h"

/* Deeper nesting than this is refused: the tree is freed and merged
 * recursively, and no configuration needs it. */
#define CONF_MAX_DEPTH 128

/* ---- allocation ------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();   /* out of memory while reading configuration: nothing sane to do */
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

static char *xstrndup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* ---- nodes ------------------------------------------------------------ */

tern_conf_node *tern_conf_new(tern_conf_type type, const char *file, int line, int col)
{
    tern_conf_node *n = xmalloc(sizeof *n);
    memset(n, 0, sizeof *n);
    n->type = type;
    n->file = xstrdup(file ? file : "");
    n->line = line;
    n->col = col;
    return n;
}

tern_conf_node *tern_conf_new_scalar(const char *value, const char *file, int line, int col)
{
    tern_conf_node *n = tern_conf_new(TERN_CONF_SCALAR, file, line, col);
    n->value = xstrdup(value ? value : "");
    return n;
}

/* Release what n owns, leaving the struct itself. */
static void node_clear(tern_conf_node *n)
{
    for (size_t i = 0; i < n->n; i++) {
        if (n->type == TERN_CONF_MAP) {
            tern_conf_free(n->pairs[i].key);
            tern_conf_free(n->pairs[i].value);
        } else if (n->type == TERN_CONF_LIST) {
            tern_conf_free(n->items[i]);
        }
    }
    free(n->pairs);
    free(n->items);
    free(n->value);
    free(n->file);
}

void tern_conf_free(tern_conf_node *n)
{
    if (!n)
        return;
    node_clear(n);
    free(n);
}

tern_conf_node *tern_conf_copy(const tern_conf_node *n)
{
    if (!n)
        return NULL;
    tern_conf_node *c = tern_conf_new(n->type, n->file, n->line, n->col);
    c->quoted = n->quoted;
    if (n->value)
        c->value = xstrdup(n->value);
    if (n->type == TERN_CONF_MAP && n->n) {
        c->pairs = xmalloc(n->n * sizeof *c->pairs);
        for (size_t i = 0; i < n->n; i++) {
            c->pairs[i].key = tern_conf_copy(n->pairs[i].key);
            c->pairs[i].value = tern_conf_copy(n->pairs[i].value);
        }
        c->n = c->cap = n->n;
    } else if (n->type == TERN_CONF_LIST && n->n) {
        c->items = xmalloc(n->n * sizeof *c->items);
        for (size_t i = 0; i < n->n; i++)
            c->items[i] = tern_conf_copy(n->items[i]);
        c->n = c->cap = n->n;
    }
    return c;
}

static tern_conf_pair *map_find(const tern_conf_node *map, const char *key)
{
    if (!map || map->type != TERN_CONF_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->pairs[i].key->value, key) == 0)
            return &map->pairs[i];
    return NULL;
}

static void map_append(tern_conf_node *map, tern_conf_node *key, tern_conf_node *value)
{
    if (map->n == map->cap) {
        map->cap = map->cap ? map->cap * 2 : 8;
        map->pairs = xrealloc(map->pairs, map->cap * sizeof *map->pairs);
    }
    map->pairs[map->n].key = key;
    map->pairs[map->n].value = value;
    map->n++;
}

static void list_append(tern_conf_node *list, tern_conf_node *item)
{
    if (list->n == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 8;
        list->items = xrealloc(list->items, list->cap * sizeof *list->items);
    }
    list->items[list->n++] = item;
}

tern_conf_node *tern_conf_get(const tern_conf_node *map, const char *key)
{
    tern_conf_pair *p = map_find(map, key);
    return p ? p->value : NULL;
}

void tern_conf_map_set(tern_conf_node *map, const char *key, tern_conf_node *value)
{
    if (!map || map->type != TERN_CONF_MAP) {
        tern_conf_free(value);
        return;
    }
    tern_conf_pair *p = map_find(map, key);
    if (p) {
        tern_conf_free(p->value);
        p->value = value;
        return;
    }
    map_append(map, tern_conf_new_scalar(key, value->file, value->line, value->col), value);
}

tern_conf_node *tern_conf_map_child(tern_conf_node *map, const char *key)
{
    tern_conf_node *c = tern_conf_get(map, key);
    if (c && c->type == TERN_CONF_MAP)
        return c;
    if (!map || map->type != TERN_CONF_MAP)
        return NULL;
    c = tern_conf_new(TERN_CONF_MAP, map->file, map->line, map->col);
    tern_conf_map_set(map, key, c);
    return c;
}

/* Replace dst's contents with src's (src's shell is freed). */
static void node_replace(tern_conf_node *dst, tern_conf_node *src)
{
    node_clear(dst);
    *dst = *src;
    free(src);
}

void tern_conf_merge(tern_conf_node *dst, tern_conf_node *src)
{
    if (!src)
        return;
    if (!dst) {
        tern_conf_free(src);
        return;
    }
    if (dst->type != TERN_CONF_MAP || src->type != TERN_CONF_MAP) {
        node_replace(dst, src);
        return;
    }
    for (size_t i = 0; i < src->n; i++) {
        tern_conf_node *key = src->pairs[i].key, *val = src->pairs[i].value;
        tern_conf_pair *p = map_find(dst, key->value);
        if (!p) {
            map_append(dst, key, val);
            continue;
        }
        if (p->value->type == TERN_CONF_MAP && val->type == TERN_CONF_MAP) {
            tern_conf_merge(p->value, val);
            tern_conf_free(key);
        } else {
            /* the later file wins: its value and the position of its key */
            tern_conf_free(p->key);
            tern_conf_free(p->value);
            p->key = key;
            p->value = val;
        }
    }
    src->n = 0;   /* pairs moved out */
    tern_conf_free(src);
}

/* ---- errors ----------------------------------------------------------- */

static int verr(const tern_conf_node *n, char *err, size_t errlen, const char *fmt, va_list ap)
{
    if (!err || !errlen)
        return -1;
    int off = 0;
    if (n)
        off = snprintf(err, errlen, "%s:%d:%d: ", n->file, n->line, n->col);
    if (off < 0)
        off = 0;
    if ((size_t)off < errlen)
        vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
    return -1;
}

int tern_conf_error(const tern_conf_node *n, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(n, err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}


/* ---- YAML ------------------------------------------------------------- */

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct frame {
    tern_conf_node *node;
    tern_conf_node *key;     /* map: a key waiting for its value */
} frame;

typedef struct builder {
    const char *file;
    tern_conf_node *root;
    frame stack[CONF_MAX_DEPTH];
    int depth;
    char *err;
    size_t errlen;
} builder;

static int at(builder *b, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int at(builder *b, const yaml_mark_t *m, const char *fmt, ...)
{
    int off = snprintf(b->err, b->errlen, "%s:%zu:%zu: ", b->file, m->line + 1, m->column + 1);
    if (off >= 0 && (size_t)off < b->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err + off, b->errlen - (size_t)off, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool is_plain_null(const char *v)
{
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* Explicit tags: the core schema's are understood, others are refused
 * rather than silently read as something else. */
static int check_tag(builder *b, const yaml_mark_t *m, const yaml_char_t *tag,
                     const char *allowed1, const char *allowed2)
{
    if (!tag || !strcmp((const char *)tag, "!"))
        return 0;
    const char *t = (const char *)tag;
    if (!strncmp(t, TAG_PREFIX, strlen(TAG_PREFIX))) {
        const char *name = t + strlen(TAG_PREFIX);
        if (!strcmp(name, allowed1) || (allowed2 && !strcmp(name, allowed2)))
            return 0;
        if (!allowed2 && (!strcmp(name, "str") || !strcmp(name, "int") || !strcmp(name, "bool") ||
                          !strcmp(name, "float") || !strcmp(name, "null")))
            return 0;
    }
    return at(b, m, "unsupported YAML tag '%s'", t);
}

/* Attach a new node where the parser is: root, list item, map key or value. */
static int attach(builder *b, tern_conf_node *n, const yaml_mark_t *m)
{
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    frame *f = &b->stack[b->depth - 1];
    if (f->node->type == TERN_CONF_LIST) {
        list_append(f->node, n);
        return 0;
    }
    if (!f->key) {
        if (n->type == TERN_CONF_MAP || n->type == TERN_CONF_LIST) {
            tern_conf_free(n);
            return at(b, m, "a mapping key must be a scalar");
        }
        /* keys are always text, even "null" or "~" */
        if (n->type == TERN_CONF_NULL) {
            n->type = TERN_CONF_SCALAR;
            if (!n->value)
                n->value = xstrdup("");
        }
        tern_conf_pair *dup = map_find(f->node, n->value);
        if (dup) {
            int r = at(b, m, "duplicate key '%s' (first at line %d, column %d)",
                       n->value, dup->key->line, dup->key->col);
            tern_conf_free(n);
            return r;
        }
        f->key = n;
        return 0;
    }
    map_append(f->node, f->key, n);
    f->key = NULL;
    return 0;
}

static int on_event(builder *b, yaml_event_t *ev, int *docs)
{
    const yaml_mark_t *m = &ev->start_mark;
    int line = (int)m->line + 1, col = (int)m->column + 1;
    tern_conf_node *n;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return at(b, m, "only one YAML document per file is supported");
        return 0;
    case YAML_ALIAS_EVENT:
        return at(b, m, "YAML aliases (*%s) are not supported", (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT: {
        const char *v = (const char *)ev->data.scalar.value;
        const char *tag = (const char *)ev->data.scalar.tag;
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (check_tag(b, m, ev->data.scalar.tag, "str", NULL) < 0)
            return -1;
        bool str_tag = tag && !strcmp(tag, TAG_PREFIX "str");
        bool null_tag = tag && !strcmp(tag, TAG_PREFIX "null");
        if (null_tag || (plain && !str_tag && is_plain_null(v))) {
            n = tern_conf_new(TERN_CONF_NULL, b->file, line, col);
        } else {
            n = tern_conf_new(TERN_CONF_SCALAR, b->file, line, col);
            n->value = xstrndup(v, ev->data.scalar.length);
            n->quoted = !plain || str_tag;
        }
        return attach(b, n, m);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
        if (check_tag(b, m, tag, is_map ? "map" : "seq", is_map ? "map" : "seq") < 0)
            return -1;
        if (b->depth == CONF_MAX_DEPTH)
            return at(b, m, "nesting deeper than %d levels", CONF_MAX_DEPTH);
        n = tern_conf_new(is_map ? TERN_CONF_MAP : TERN_CONF_LIST, b->file, line, col);
        if (attach(b, n, m) < 0)
            return -1;
        b->stack[b->depth].node = n;
        b->stack[b->depth].key = NULL;
        b->depth++;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        b->depth--;
        return 0;
    default:
        return 0;
    }
}

tern_conf_node *tern_conf_parse_yaml(const char *text, size_t len, const char *file,
                                     char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    builder b;
    int docs = 0;
    bool done = false, failed = false;

    memset(&b, 0, sizeof b);
    b.file = file ? file : "";
    b.err = err;
    b.errlen = errlen;
    if (!yaml_parser_initialize(&parser)) {
        tern_errf(err, errlen, "%s: cannot initialise the YAML parser", b.file);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            const yaml_mark_t *m = &parser.problem_mark;
            if (parser.context)
                at(&b, m, "%s %s", parser.problem ? parser.problem : "YAML error", parser.context);
            else
                at(&b, m, "%s", parser.problem ? parser.problem : "YAML error");
            failed = true;
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        if (on_event(&b, &ev, &docs) < 0)
            failed = true, done = true;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);

    if (failed) {
        /* the pending key of each open map is not yet in the tree */
        for (int i = 0; i < b.depth; i++)
            tern_conf_free(b.stack[i].key);
        tern_conf_free(b.root);
        return NULL;
    }
    if (!b.root || b.root->type == TERN_CONF_NULL) {
        int line = b.root ? b.root->line : 1, col = b.root ? b.root->col : 1;
        tern_conf_free(b.root);
        return tern_conf_new(TERN_CONF_MAP, b.file, line, col);
    }
    if (b.root->type != TERN_CONF_MAP) {
        tern_conf_error(b.root, err, errlen, "the top level must be a mapping of keys");
        tern_conf_free(b.root);
        return NULL;
    }
    return b.root;
}

/* ---- files ------------------------------------------------------------ */

/* An absolute, lexically clean path: "." and ".." resolved, symlinks kept
 * (relative paths in a file are relative to the folder it was named in). */
static char *absolute_path(const char *path)
{
    char *joined;
    if (path[0] == '/') {
        joined = xstrdup(path);
    } else {
        char *cwd = getcwd(NULL, 0);
        if (!cwd)
            return xstrdup(path);
        joined = xmalloc(strlen(cwd) + strlen(path) + 2);
        sprintf(joined, "%s/%s", cwd, path);
        free(cwd);
    }
    /* rebuild component by component */
    char *out = xmalloc(strlen(joined) + 2);
    size_t o = 0;
    char *save = NULL;
    for (char *tok = strtok_r(joined, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (!strcmp(tok, "."))
            continue;
        if (!strcmp(tok, "..")) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;   /* drop the slash too */
            continue;
        }
        out[o++] = '/';
        size_t l = strlen(tok);
        memcpy(out + o, tok, l);
        o += l;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    free(joined);
    return out;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static bool is_yaml_name(const char *name)
{
    return has_suffix(name, ".yaml") || has_suffix(name, ".yml");
}

static tern_conf_node *load_file(const char *abs, char *err, size_t errlen)
{
    FILE *f = fopen(abs, "rb");
    if (!f) {
        tern_errf(err, errlen, "%s: %s", abs, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap);
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        tern_errf(err, errlen, "%s: read error: %s", abs, strerror(errno));
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    tern_conf_node *root = tern_conf_parse_yaml(buf, len, abs, err, errlen);
    free(buf);
    return root;
}

static int yaml_entry(const struct dirent *d)
{
    return d->d_name[0] != '.' && is_yaml_name(d->d_name);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static tern_conf_node *load_dir(const char *dir, char *err, size_t errlen)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, yaml_entry, by_name);
    if (n < 0) {
        tern_errf(err, errlen, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    tern_conf_node *root = tern_conf_new(TERN_CONF_MAP, dir, 1, 1);
    int i;
    for (i = 0; i < n; i++) {
        char *path = xmalloc(strlen(dir) + strlen(list[i]->d_name) + 2);
        sprintf(path, "%s%s%s", dir, has_suffix(dir, "/") ? "" : "/", list[i]->d_name);
        struct stat st;
        /* only regular files (or links to them): a directory named x.yaml is skipped */
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        tern_conf_node *one = load_file(path, err, errlen);
        free(path);
        if (!one) {
            tern_conf_free(root);
            root = NULL;
            break;
        }
        tern_conf_merge(root, one);
    }
    for (int j = 0; j < n; j++)
        free(list[j]);
    free(list);
    return root;
}

tern_conf_node *tern_conf_load(const char *path, char *err, size_t errlen)
{
    return tern_conf_load_ex(path, false, err, errlen);
}

tern_conf_node *tern_conf_load_ex(const char *path, bool ignore_unsupported, char *err, size_t errlen)
{
    char *abs = absolute_path(path);
    struct stat st;
    tern_conf_node *root = NULL;

    if (stat(abs, &st) != 0)
        tern_errf(err, errlen, "%s: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        root = load_dir(abs, err, errlen);
    else if (is_yaml_name(abs))
        root = load_file(abs, err, errlen);
    else {
        /* any other file is nats-server's format (conf_nats.c) */
        tern_nats_map_opts o = { .ignore_unsupported = ignore_unsupported };
        root = tern_conf_load_nats(abs, &o, err, errlen);
    }
    free(abs);
    return root;
}

/* ---- typed reads ------------------------------------------------------ */

static const char *type_name(const tern_conf_node *n)
{
    switch (n->type) {
    case TERN_CONF_NULL:   return "null";
    case TERN_CONF_MAP:    return "a mapping";
    case TERN_CONF_LIST:   return "a list";
    case TERN_CONF_SCALAR: return n->quoted ? "a string" : "a scalar";
    }
    return "?";
}

static int need_node(const tern_conf_node *n, char *err, size_t errlen)
{
    if (!n)
        return tern_errf(err, errlen, "missing value");
    return 0;
}

int tern_conf_string(const tern_conf_node *n, char **out, char *err, size_t errlen)
{
    if (need_node(n, err, errlen) < 0)
        return -1;
    if (n->type != TERN_CONF_SCALAR)
        return tern_conf_error(n, err, errlen, "expected a string, got %s", type_name(n));
    *out = xstrdup(n->value);
    return 0;
}

int tern_conf_bool(const tern_conf_node *n, bool *out, char *err, size_t errlen)
{
    if (need_node(n, err, errlen) < 0)
        return -1;
    if (n->type == TERN_CONF_SCALAR && !n->quoted) {
        /* the spellings nats-server's configuration accepts */
        static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
        for (size_t i = 0; i < 3; i++) {
            if (!strcasecmp(n->value, yes[i])) {
                *out = true;
                return 0;
            }
            if (!strcasecmp(n->value, no[i])) {
                *out = false;
                return 0;
            }
        }
    }
    if (n->type == TERN_CONF_SCALAR)
        return tern_conf_error(n, err, errlen, "expected a boolean (true or false), got '%s'", n->value);
    return tern_conf_error(n, err, errlen, "expected a boolean (true or false), got %s", type_name(n));
}

int tern_conf_int(const tern_conf_node *n, int64_t *out, char *err, size_t errlen)
{
    if (need_node(n, err, errlen) < 0)
        return -1;
    if (n->type != TERN_CONF_SCALAR || n->quoted) {
        if (n->type == TERN_CONF_SCALAR)
            return tern_conf_error(n, err, errlen, "expected an integer, got the string '%s'", n->value);
        return tern_conf_error(n, err, errlen, "expected an integer, got %s", type_name(n));
    }
    const char *p = n->value;
    char *end;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return tern_conf_error(n, err, errlen, "expected an integer, got '%s'", n->value);
    errno = 0;
    long long v = strtoll(n->value, &end, 10);
    if (*end)
        return tern_conf_error(n, err, errlen, "expected an integer, got '%s'", n->value);
    if (errno == ERANGE)
        return tern_conf_error(n, err, errlen, "integer '%s' is out of range", n->value);
    *out = v;
    return 0;
}

int tern_conf_size(const tern_conf_node *n, int64_t *out, char *err, size_t errlen)
{
    if (need_node(n, err, errlen) < 0)
        return -1;
    if (n->type != TERN_CONF_SCALAR)
        return tern_conf_error(n, err, errlen, "expected a size, got %s", type_name(n));
    char why[256];
    if (tern_units_size(n->value, out, why, sizeof why) < 0)
        return tern_conf_error(n, err, errlen, "%s", why);
    return 0;
}

int tern_conf_duration_ms(const tern_conf_node *n, int64_t *out, char *err, size_t errlen)
{
    if (need_node(n, err, errlen) < 0)
        return -1;
    if (n->type != TERN_CONF_SCALAR)
        return tern_conf_error(n, err, errlen, "expected a duration, got %s", type_name(n));
    char why[256];
    /* a bare number is seconds (nats-server's older form); text is a Go duration */
    if (!n->quoted && tern_units_seconds_ms(n->value, out, NULL, 0) == 0)
        return 0;
    if (tern_units_duration_ms(n->value, out, why, sizeof why) < 0)
        return tern_conf_error(n, err, errlen, "%s", why);
    return 0;
}

int tern_conf_path(const tern_conf_node *n, char **out, char *err, size_t errlen)
{
    char *s = NULL;
    if (tern_conf_string(n, &s, err, errlen) < 0)
        return -1;
    if (s[0] == '/' || s[0] == '\0') {
        *out = s;
        return 0;
    }
    char *base;
    if (n->file[0] == '/') {
        base = xstrdup(n->file);
        *strrchr(base, '/') = '\0';
    } else {
        /* "<flags>" and other unnamed sources: the working directory */
        base = getcwd(NULL, 0);
        if (!base) {
            free(s);
            return tern_conf_error(n, err, errlen, "cannot resolve '%s': %s", n->value, strerror(errno));
        }
    }
    char *joined = xmalloc(strlen(base) + strlen(s) + 2);
    sprintf(joined, "%s/%s", base, s);
    free(base);
    free(s);
    *out = absolute_path(joined);
    free(joined);
    return 0;
}
