/* The host API's `document` slot (sdk/include/tern/module.h, 1.1): a
 * monitoring document for a module that serves it (the monitor module's
 * HTTP endpoints). */
#ifndef TERN_MODULE_DOCS_H
#define TERN_MODULE_DOCS_H

#include <tern/module.h>

/* name: a kernel document or an info provider's; query: URL query text
 * without '?' (percent-encoded, as received; NULL: none). Main thread.
 * TERN_OK with *status 200 or 503 and *json the compact document, 400
 * and *json the error text, or 404 and *json NULL (no such document).
 * TERN_EINVAL for missing arguments, TERN_ENOTSUP before the server
 * runs. */
tern_rc tern_mod_document(tern_module *m, const char *name, const char *query, int *status,
                          char **json);

#endif
