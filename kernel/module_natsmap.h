/* nats-server configuration keys that modules map (module.h 1.1: the
 * descriptor's nats_keys and nats_map). conf_nats_map.c knows which
 * module a key belongs to; this opens that module's .so for its pure
 * nats_map call, validate-only like ternd -t, and turns the JSON it
 * returns into the module's conf.d subtree. */
#ifndef TERN_MODULE_NATSMAP_H
#define TERN_MODULE_NATSMAP_H

#include <stddef.h>

#include "conf.h"

/* The --modules_dir flag's folder, searched first for the mapping
 * modules (a nats-server file cannot name one). NULL: none. Main thread. */
void tern_nats_modules_dir_set(const char *dir);

/* Map the nats-server key `key` (its canonical lower-case name; kpos is
 * the key's node, for positions) with value `value` through module
 * `module`. Returns 0 with *out the module's subtree (a map, every node
 * at kpos's position), 1 when the module is missing or does not claim
 * the key (err says which and why: the key is unsupported), or -1 when
 * the module refused the value (err: "file:line:column: reason"). */
int tern_nats_module_map(const char *module, const char *key, const tern_conf_node *kpos,
                         const tern_conf_node *value, tern_conf_node **out, char *err,
                         size_t errlen);

#endif
