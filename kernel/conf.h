/* The configuration tree: what every front end (conf.d YAML now, the
 * nats-server format later, command-line flags) produces and what every
 * consumer (the kernel's sections, modules' subtrees) reads.
 *
 * Every node remembers file:line:column so that any error can name where
 * it came from. Errors are written into a caller buffer as
 * "file:line:column: reason". */
#ifndef TERN_CONF_H
#define TERN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tern_conf_type {
    TERN_CONF_NULL,
    TERN_CONF_SCALAR,
    TERN_CONF_MAP,
    TERN_CONF_LIST,
} tern_conf_type;

typedef struct tern_conf_node tern_conf_node;

typedef struct tern_conf_pair {
    tern_conf_node *key;       /* a scalar */
    tern_conf_node *value;
} tern_conf_pair;

struct tern_conf_node {
    tern_conf_type type;
    char *file;                /* source file (absolute path) or "<flags>" */
    int   line, col;           /* 1-based */
    /* scalar */
    char *value;               /* NUL-terminated text */
    bool  quoted;              /* written quoted: never a bool/number/null */
    /* map: pairs; list: items */
    tern_conf_pair  *pairs;
    tern_conf_node **items;
    size_t n, cap;
};

#define TERN_CONF_ERR_MAX 512

/* Load `path`: a directory (every *.yaml / *.yml directly in it, name
 * order, dotfiles skipped, deep-merged), or a .yaml/.yml file. Any other
 * file is the nats-server format (conf_nats.h), converted to Tern's keys.
 * Returns the merged root map, or NULL with err filled. */
tern_conf_node *tern_conf_load(const char *path, char *err, size_t errlen);
/* The same; ignore_unsupported (--ignore-unsupported): a nats-server key
 * Tern does not support is a warning and dropped, not an error. */
tern_conf_node *tern_conf_load_ex(const char *path, bool ignore_unsupported, char *err, size_t errlen);

/* Parse one YAML document held in memory; `file` names it in errors. */
tern_conf_node *tern_conf_parse_yaml(const char *text, size_t len,
                                     const char *file, char *err, size_t errlen);

/* Deep merge src into dst (both maps): maps merge key by key, src wins;
 * lists and scalars are replaced whole. src is consumed (freed). */
void tern_conf_merge(tern_conf_node *dst, tern_conf_node *src);

tern_conf_node *tern_conf_new(tern_conf_type type, const char *file, int line, int col);
tern_conf_node *tern_conf_new_scalar(const char *value, const char *file, int line, int col);
/* Set key in a map (replacing an existing value); takes ownership of value. */
void tern_conf_map_set(tern_conf_node *map, const char *key, tern_conf_node *value);
/* Ensure map[key] is a map and return it. */
tern_conf_node *tern_conf_map_child(tern_conf_node *map, const char *key);
void tern_conf_free(tern_conf_node *n);
/* Deep copy (e.g. the flags overlay, merged over the files at every load). */
tern_conf_node *tern_conf_copy(const tern_conf_node *n);

/* Lookup in a map; NULL when absent or when map is not a map. */
tern_conf_node *tern_conf_get(const tern_conf_node *map, const char *key);

/* Typed reads. Each returns 0, or -1 with "file:line:column: reason" in err.
 * Sizes: integers, or strings with K/M/G (1000-based) and KB/MB/GB
 * (1024-based) suffixes, case-insensitive, as nats-server reads them.
 * Durations: strings with ms/s/m/h (Go durations such as "1m30s" too), a
 * bare number meaning seconds; result in milliseconds. */
int tern_conf_string(const tern_conf_node *n, char **out, char *err, size_t errlen);
int tern_conf_bool(const tern_conf_node *n, bool *out, char *err, size_t errlen);
int tern_conf_int(const tern_conf_node *n, int64_t *out, char *err, size_t errlen);
int tern_conf_size(const tern_conf_node *n, int64_t *out, char *err, size_t errlen);
int tern_conf_duration_ms(const tern_conf_node *n, int64_t *out, char *err, size_t errlen);
/* A path relative to the node's file's folder (absolute paths unchanged). */
int tern_conf_path(const tern_conf_node *n, char **out, char *err, size_t errlen);

/* Format "file:line:column: reason" for node n into err. Returns -1. */
int tern_conf_error(const tern_conf_node *n, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
