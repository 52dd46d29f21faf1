/* nats-server configuration keys → Tern's configuration tree (design.md
 * §4), so that one loader serves both front ends.
 *
 * Every nats-server 2.9 key is known here (docs/nats-conf.md lists them,
 * from tests/unit/data/nats_keys.tsv): a key Tern honours is moved to its
 * Tern name; a key of a feature Tern lacks is reported with its
 * file:line:column — an error, or a warning when ignore_unsupported is set
 * (`--ignore-unsupported`), the key then being dropped; a key nats-server
 * does not know is an error ("unknown field"), unless the file uses it as
 * a $VARIABLE, as in nats-server. */
#ifndef TERN_CONF_NATS_MAP_H
#define TERN_CONF_NATS_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "conf_nats.h"

typedef void (*tern_nats_warn_fn)(void *arg, const char *msg);

typedef struct tern_nats_map_opts {
    bool ignore_unsupported;    /* unsupported keys: warn and drop */
    tern_nats_warn_fn warn;     /* NULL: the log (stderr before it starts) */
    void *warn_arg;
} tern_nats_map_opts;

/* Convert a tree read by tern_conf_parse_nats. o may be NULL (defaults).
 * Returns a new Tern root map, or NULL with err filled. */
tern_conf_node *tern_conf_nats_map(const tern_conf_node *nats, const tern_nats_vars *vars,
                                   const tern_nats_map_opts *o, char *err, size_t errlen);

/* Read the nats-server configuration file at the absolute path `path` and
 * convert it. */
tern_conf_node *tern_conf_load_nats(const char *path, const tern_nats_map_opts *o,
                                    char *err, size_t errlen);

#endif
