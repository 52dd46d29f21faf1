/* nats-server's configuration format (a superset of JSON), read into the
 * same tern_conf_node tree as the YAML front end, with file:line:column on
 * every node. The grammar follows nats-server 2.9's conf/lex.go and
 * conf/parse.go: `key: value`, `key = value`, `key value`, blocks {} and
 * arrays [], quoted and unquoted strings, numbers with size suffixes,
 * booleans true/false/yes/no/on/off, # and // comments, `include FILE`,
 * `$VAR` references (earlier keys of this or an enclosing block, then the
 * environment), `;` and `,` separators.
 *
 * Scalars in the resulting tree: strings (quoted or not in the file) are
 * `quoted` nodes; integers (suffix applied: `1KB` → "1024"), floats and
 * booleans ("true"/"false") are unquoted, so the kernel's typed readers see
 * the types nats-server sees. This tree is the raw nats-server layout;
 * conf_nats_map.h turns it into Tern's keys. */
#ifndef TERN_CONF_NATS_H
#define TERN_CONF_NATS_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/* The values that were referenced as $VARIABLE somewhere: nats-server does
 * not report such keys as unknown (they are variable definitions). */
typedef struct tern_nats_vars {
    const tern_conf_node **used;
    size_t n, cap;
} tern_nats_vars;

bool tern_nats_vars_used(const tern_nats_vars *v, const tern_conf_node *value);
void tern_nats_vars_free(tern_nats_vars *v);

/* Parse text held in memory; `file` names it in errors and anchors relative
 * includes (its folder; the working directory when it has no '/').
 * vars may be NULL. Returns the root map, or NULL with err filled as
 * "file:line:column: reason". */
tern_conf_node *tern_conf_parse_nats(const char *text, size_t len, const char *file,
                                     tern_nats_vars *vars, char *err, size_t errlen);

/* Read and parse the file at the absolute path `path`. */
tern_conf_node *tern_conf_load_nats_raw(const char *path, tern_nats_vars *vars,
                                        char *err, size_t errlen);

#endif
