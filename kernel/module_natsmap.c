/* nats-server keys mapped by their modules (module_natsmap.h). */
#include "module_natsmap.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "module_int.h"
#include "xalloc.h"

static char *g_dir;

void tern_nats_modules_dir_set(const char *dir)
{
    free(g_dir);
    g_dir = dir ? tern_xstrdup(dir) : NULL;
}

static bool claims(const tern_module_desc *d, const char *key)
{
    if (d->size < offsetof(tern_module_desc, nats_map) + sizeof d->nats_map || !d->nats_map ||
        !d->nats_keys)
        return false;
    for (const char *const *k = d->nats_keys; *k; k++)
        if (!strcasecmp(*k, key))
            return true;
    return false;
}

/* JSON → configuration nodes, all placed at the nats-server key, so that
 * a later error about them points into the file. */
static tern_conf_node *from_json(const json_t *j, const tern_conf_node *at)
{
    tern_conf_node *n;
    char num[64];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        n = tern_conf_new(TERN_CONF_MAP, at->file, at->line, at->col);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
            tern_conf_map_set(n, k, from_json(v, at));
        return n;
    }
    case JSON_ARRAY:
        n = tern_conf_new(TERN_CONF_LIST, at->file, at->line, at->col);
        n->cap = json_array_size(j);
        n->items = tern_xcalloc(n->cap ? n->cap : 1, sizeof *n->items);
        for (size_t i = 0; i < n->cap; i++)
            n->items[n->n++] = from_json(json_array_get(j, i), at);
        return n;
    case JSON_STRING:
        n = tern_conf_new_scalar(json_string_value(j), at->file, at->line, at->col);
        n->quoted = true;
        return n;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(j));
        return tern_conf_new_scalar(num, at->file, at->line, at->col);
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(j));
        return tern_conf_new_scalar(num, at->file, at->line, at->col);
    case JSON_TRUE:
        return tern_conf_new_scalar("true", at->file, at->line, at->col);
    case JSON_FALSE:
        return tern_conf_new_scalar("false", at->file, at->line, at->col);
    case JSON_NULL:
        break;
    }
    return tern_conf_new(TERN_CONF_NULL, at->file, at->line, at->col);
}

int tern_nats_module_map(const char *module, const char *key, const tern_conf_node *kpos,
                         const tern_conf_node *value, tern_conf_node **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    char why[TERN_CONF_ERR_MAX];
    tern_module *m = tern_mod_open_only(module, g_dir, why, sizeof why);
    if (!m) {
        snprintf(err, errlen, "the %s module is needed: %s", module, why);
        return 1;
    }
    int rc = 1;
    if (!claims(m->desc, key)) {
        snprintf(err, errlen, "module %s (%s) does not map it", module, m->path);
        goto out;
    }
    char *json = NULL;
    m->err[0] = 0;
    tern_rc mrc = m->desc->nats_map(m, tern_module_host_api(), key, (const tern_config *)value,
                                    &json);
    if (mrc != TERN_OK) {
        if (m->err[0])
            snprintf(err, errlen, "%s", m->err);
        else
            snprintf(err, errlen, "%s:%d:%d: module %s cannot map '%s' (error %d)", kpos->file,
                     kpos->line, kpos->col, module, key, (int)mrc);
        free(json);
        rc = -1;
        goto out;
    }
    json_error_t je;
    json_t *j = json ? json_loads(json, JSON_DECODE_ANY, &je) : NULL;
    free(json);
    if (!json_is_object(j)) {
        snprintf(err, errlen, "%s:%d:%d: module %s mapped '%s' to %s", kpos->file, kpos->line,
                 kpos->col, module, key, j ? "JSON that is not an object" : "no valid JSON");
        json_decref(j);
        rc = -1;
        goto out;
    }
    *out = from_json(j, kpos);
    json_decref(j);
    rc = 0;
out:
    tern_mod_close_only(m);
    return rc;
}
