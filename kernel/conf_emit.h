/* Write a configuration tree back out as conf.d YAML (`ternd --convert`):
 * the nats-server format's front end produces the tree, this prints it in
 * the native format so a migration can move to conf.d. */
#ifndef TERN_CONF_EMIT_H
#define TERN_CONF_EMIT_H

#include <stdio.h>

#include "conf.h"

/* Emit root (a map) as one YAML document to out, after the comment
 * lines of header (NULL: none). A scalar that was written as a string
 * keeps being read as one (quoted when YAML would take it for a bool,
 * a number or null). Returns 0, or -1 with err filled. */
int tern_conf_emit_yaml(const tern_conf_node *root, const char *header, FILE *out, char *err,
                        size_t errlen);

#endif
