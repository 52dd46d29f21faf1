#include "cidmap.h"

#include <stdlib.h>

#include "xalloc.h"

static size_t slot_of(const tern_cidmap *m, uint64_t cid)
{
    /* Fibonacci hashing spreads sequential cids */
    return (size_t)((cid * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

static void grow(tern_cidmap *m)
{
    tern_cidmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = tern_xcalloc(m->cap, sizeof *m->slots);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].cid)
            tern_cidmap_put(m, old.slots[i].cid, old.slots[i].value);
    free(old.slots);
}

void tern_cidmap_put(tern_cidmap *m, uint64_t cid, void *value)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    size_t i = slot_of(m, cid);
    while (m->slots[i].cid && m->slots[i].cid != cid)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].cid)
        m->n++;
    m->slots[i].cid = cid;
    m->slots[i].value = value;
}

static tern_cidmap_slot *find(const tern_cidmap *m, uint64_t cid)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(m, cid); m->slots[i].cid; i = (i + 1) & (m->cap - 1))
        if (m->slots[i].cid == cid)
            return &m->slots[i];
    return NULL;
}

void *tern_cidmap_get(const tern_cidmap *m, uint64_t cid)
{
    tern_cidmap_slot *s = find(m, cid);
    return s ? s->value : NULL;
}

void *tern_cidmap_take(tern_cidmap *m, uint64_t cid)
{
    tern_cidmap_slot *s = find(m, cid);
    if (!s)
        return NULL;
    void *value = s->value;
    size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
    /* Backward-shift: pull later entries of the probe run into the hole
     * when the hole lies between their home slot and where they are. */
    for (size_t j = (hole + 1) & mask; m->slots[j].cid; j = (j + 1) & mask) {
        size_t home = slot_of(m, m->slots[j].cid);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].cid = 0;
    m->slots[hole].value = NULL;
    m->n--;
    return value;
}

void tern_cidmap_free(tern_cidmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
