/* A map from byte-string keys to pointers: open addressing with linear
 * probing and backward-shift deletion; keys are copied. Not
 * synchronised: the owner locks. Used for the per-link interest table
 * (link.c) and the aggregated interest counts (interest.c). */
#ifndef TERN_KEYMAP_H
#define TERN_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tern_keymap_slot {
    char    *key;              /* NULL: empty */
    size_t   len;
    uint64_t hash;
    void    *value;
} tern_keymap_slot;

typedef struct tern_keymap {
    tern_keymap_slot *slots;
    size_t cap, n;             /* cap: 0 or a power of two */
} tern_keymap;

void *tern_keymap_get(const tern_keymap *m, const void *key, size_t len);
/* Insert or replace. */
void  tern_keymap_put(tern_keymap *m, const void *key, size_t len, void *value);
/* Remove and return the value (NULL when absent). */
void *tern_keymap_take(tern_keymap *m, const void *key, size_t len);
void  tern_keymap_free(tern_keymap *m);

/* Iterate: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].key) … */

#endif
