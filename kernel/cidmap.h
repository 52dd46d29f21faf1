/* A map from connection id to a pointer: open addressing with linear
 * probing and backward-shift deletion. Not synchronised: the owner locks.
 * Used to resolve the opaque token (the cid) an asynchronous completion
 * carries back to its connection, if it is still there. */
#ifndef TERN_CIDMAP_H
#define TERN_CIDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tern_cidmap_slot {
    uint64_t cid;              /* 0: empty (cids start at 1) */
    void    *value;
} tern_cidmap_slot;

typedef struct tern_cidmap {
    tern_cidmap_slot *slots;
    size_t cap, n;             /* cap: 0 or a power of two */
} tern_cidmap;

/* cid must be non-zero; replaces an existing value. */
void  tern_cidmap_put(tern_cidmap *m, uint64_t cid, void *value);
void *tern_cidmap_get(const tern_cidmap *m, uint64_t cid);
/* Remove and return the value (NULL when absent). */
void *tern_cidmap_take(tern_cidmap *m, uint64_t cid);
void  tern_cidmap_free(tern_cidmap *m);

#endif
