/* The kernel's sections of the configuration tree: checks the top-level
 * keys and maps `server:` onto tern_opts. Unknown keys are errors with
 * file:line:column (a typo must not silently disable anything). */
#ifndef TERN_CONF_SERVER_H
#define TERN_CONF_SERVER_H

#include <stddef.h>

#include "conf.h"
#include "opts.h"

/* Apply root (the merged tree, flags included) to o, which holds defaults.
 * Returns 0, or -1 with err filled. o may be partially written on error;
 * callers apply to a scratch copy and swap on success. */
int tern_conf_apply(const tern_conf_node *root, tern_opts *o, char *err, size_t errlen);

#endif
