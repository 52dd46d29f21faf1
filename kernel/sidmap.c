#include "sidmap.h"

#include <string.h>

#include "xalloc.h"

static uint32_t sid_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a: sids are short */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

void tern_sidmap_free(tern_sidmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

static size_t find(const tern_sidmap *m, const char *sid, size_t len, uint32_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const tern_sidmap_entry *e = &m->slots[i];
        if (!e->value)
            return i;
        if (e->hash == h && e->sid_len == len && memcmp(e->sid, sid, len) == 0)
            return i;
    }
}

void *tern_sidmap_get(const tern_sidmap *m, const char *sid, size_t len)
{
    if (!m->n)
        return NULL;
    return m->slots[find(m, sid, len, sid_hash(sid, len))].value;
}

static void grow(tern_sidmap *m)
{
    tern_sidmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 8;
    m->slots = tern_xcalloc(m->cap, sizeof *m->slots);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++) {
        tern_sidmap_entry *e = &old.slots[i];
        if (e->value) {
            m->slots[find(m, e->sid, e->sid_len, e->hash)] = *e;
            m->n++;
        }
    }
    free(old.slots);
}

void tern_sidmap_put(tern_sidmap *m, const char *sid, size_t len, void *value)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    uint32_t h = sid_hash(sid, len);
    tern_sidmap_entry *e = &m->slots[find(m, sid, len, h)];
    if (!e->value)
        m->n++;
    *e = (tern_sidmap_entry){sid, (uint32_t)len, h, value};
}

void *tern_sidmap_del(tern_sidmap *m, const char *sid, size_t len)
{
    if (!m->n)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = find(m, sid, len, sid_hash(sid, len));
    void *v = m->slots[i].value;
    if (!v)
        return NULL;
    m->slots[i].value = NULL;
    m->n--;
    /* Backward shift: pull later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; m->slots[j].value; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            m->slots[j].value = NULL;
            i = j;
        }
    }
    if (m->n == 0)
        tern_sidmap_free(m);
    return v;
}
