/* File descriptors of modules watched on the main loop (ABI 1.2
 * fd_watch / fd_unwatch): what lets a module drive an event-driven
 * library (libcurl's multi socket interface, a database client) from
 * the server's loop instead of a thread of its own. Main thread only. */
#ifndef TERN_MODULE_FD_H
#define TERN_MODULE_FD_H

#include <stdint.h>

#include <tern/module.h>

tern_rc tern_mod_fd_watch(tern_module *m, int fd, uint32_t events, tern_fd_fn fn, void *ud,
                          uint64_t *id);
tern_rc tern_mod_fd_unwatch(tern_module *m, uint64_t id);
/* Remove every watch of m (unload, failed init): no callback after. */
void tern_mod_fd_release(tern_module *m);

#endif
