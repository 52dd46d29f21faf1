#include "keymap.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static uint64_t hash_key(const void *key, size_t len)
{
    /* FNV-1a, then a final mix so that the low bits spread */
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static size_t find(const tern_keymap *m, const void *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const tern_keymap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->len == len && !memcmp(s->key, key, len)))
            return i;
    }
}

static void grow(tern_keymap *m)
{
    tern_keymap old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = tern_xcalloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            m->slots[find(m, old.slots[i].key, old.slots[i].len, old.slots[i].hash)] = old.slots[i];
    free(old.slots);
}

void *tern_keymap_get(const tern_keymap *m, const void *key, size_t len)
{
    if (!m->n)
        return NULL;
    const tern_keymap_slot *s = &m->slots[find(m, key, len, hash_key(key, len))];
    return s->key ? s->value : NULL;
}

void tern_keymap_put(tern_keymap *m, const void *key, size_t len, void *value)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    uint64_t h = hash_key(key, len);
    tern_keymap_slot *s = &m->slots[find(m, key, len, h)];
    if (!s->key) {
        s->key = tern_xmalloc(len ? len : 1);
        memcpy(s->key, key, len);
        s->len = len;
        s->hash = h;
        m->n++;
    }
    s->value = value;
}

void *tern_keymap_take(tern_keymap *m, const void *key, size_t len)
{
    if (!m->n)
        return NULL;
    size_t mask = m->cap - 1, i = find(m, key, len, hash_key(key, len));
    if (!m->slots[i].key)
        return NULL;
    void *v = m->slots[i].value;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->n--;
    /* Backward shift: pull later entries of the run into the hole. */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            i = j;
        }
    }
    return v;
}

void tern_keymap_free(tern_keymap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
