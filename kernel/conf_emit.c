/* conf.d YAML out of a configuration tree, through libyaml's emitter. */
#include "conf_emit.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "errf.h"

/* Whether a plain scalar with this text would be read back as something
 * other than a string (YAML 1.1 as libyaml-based readers and conf.c
 * resolve it), so a string with it must be quoted. */
static bool reads_as_non_string(const char *v)
{
    static const char *const words[] = {
        "", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcasecmp(v, words[i]))
            return true;
    const char *p = v;
    if (*p == '+' || *p == '-')
        p++;
    bool digit = false, other = false;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p))
            digit = true;
        else if (!strchr(".eE_xXoO+-", *p) && !isxdigit((unsigned char)*p))
            other = true;
    }
    return digit && !other;
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev, char *err, size_t errlen)
{
    if (yaml_emitter_emit(e, ev))
        return 0;
    return tern_errf(err, errlen, "cannot write YAML: %s",
                     e->problem ? e->problem : "emitter error");
}

static int emit_scalar(yaml_emitter_t *e, const char *v, bool quoted, char *err, size_t errlen)
{
    yaml_event_t ev;
    yaml_scalar_style_t style = quoted && reads_as_non_string(v) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                                  : YAML_ANY_SCALAR_STYLE;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), 1, 1, style);
    return emit(e, &ev, err, errlen);
}

static int emit_node(yaml_emitter_t *e, const tern_conf_node *n, char *err, size_t errlen)
{
    yaml_event_t ev;
    switch (n->type) {
    case TERN_CONF_NULL:
        return emit_scalar(e, "null", false, err, errlen);
    case TERN_CONF_SCALAR:
        return emit_scalar(e, n->value, n->quoted, err, errlen);
    case TERN_CONF_MAP:
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (emit(e, &ev, err, errlen) < 0)
            return -1;
        for (size_t i = 0; i < n->n; i++)
            if (emit_scalar(e, n->pairs[i].key->value, true, err, errlen) < 0 ||
                emit_node(e, n->pairs[i].value, err, errlen) < 0)
                return -1;
        yaml_mapping_end_event_initialize(&ev);
        return emit(e, &ev, err, errlen);
    case TERN_CONF_LIST:
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (emit(e, &ev, err, errlen) < 0)
            return -1;
        for (size_t i = 0; i < n->n; i++)
            if (emit_node(e, n->items[i], err, errlen) < 0)
                return -1;
        yaml_sequence_end_event_initialize(&ev);
        return emit(e, &ev, err, errlen);
    }
    return tern_errf(err, errlen, "cannot write YAML: unknown node type");
}

int tern_conf_emit_yaml(const tern_conf_node *root, const char *header, FILE *out, char *err,
                        size_t errlen)
{
    if (header) {
        /* libyaml writes no comments: print them before the document. */
        for (const char *p = header; *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(out, "# %.*s\n", (int)len, p);
            p += len + (nl ? 1 : 0);
        }
    }
    yaml_emitter_t e;
    if (!yaml_emitter_initialize(&e))
        return tern_errf(err, errlen, "cannot write YAML: out of memory");
    yaml_emitter_set_output_file(&e, out);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_indent(&e, 2);
    yaml_emitter_set_width(&e, 100);
    yaml_event_t ev;
    int rc = 0;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    rc = emit(&e, &ev, err, errlen);
    if (rc == 0) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        rc = emit(&e, &ev, err, errlen);
    }
    if (rc == 0)
        rc = emit_node(&e, root, err, errlen);
    if (rc == 0) {
        yaml_document_end_event_initialize(&ev, 1);
        rc = emit(&e, &ev, err, errlen);
    }
    if (rc == 0) {
        yaml_stream_end_event_initialize(&ev);
        rc = emit(&e, &ev, err, errlen);
    }
    if (rc == 0 && !yaml_emitter_flush(&e))
        rc = tern_errf(err, errlen, "cannot write YAML: %s", e.problem ? e.problem : "write error");
    yaml_emitter_delete(&e);
    return rc;
}
