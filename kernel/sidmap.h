/* A connection's subscriptions by sid: open addressing with linear
 * probing and backward-shift deletion (no tombstones), so a connection
 * that subscribes and unsubscribes forever keeps a bounded table. */
#ifndef TERN_SIDMAP_H
#define TERN_SIDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tern_sidmap_entry {
    const char *sid;     /* owned by the value */
    uint32_t    sid_len;
    uint32_t    hash;
    void       *value;
} tern_sidmap_entry;

typedef struct tern_sidmap {
    tern_sidmap_entry *slots;
    size_t             cap;   /* power of two, or 0 */
    size_t             n;
} tern_sidmap;

void  tern_sidmap_free(tern_sidmap *m);
void *tern_sidmap_get(const tern_sidmap *m, const char *sid, size_t len);
/* Insert; the key bytes must live as long as the entry. */
void  tern_sidmap_put(tern_sidmap *m, const char *sid, size_t len, void *value);
void *tern_sidmap_del(tern_sidmap *m, const char *sid, size_t len);

/* Iterate: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].value) … */

#endif
