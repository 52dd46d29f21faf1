/* The connect_urls list clients get (cluster.h). */
#include "cluster.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void add_unique(json_t *a, const char *u)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
        if (!strcmp(json_string_value(v), u))
            return;
    json_array_append_new(a, json_string(u));
}

char *cl_urls_json(char *const *own, size_t n_own, const char *const *const *peer_urls,
                   const size_t *peer_n, size_t npeers)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < n_own; i++)
        add_unique(a, own[i]);
    for (size_t p = 0; p < npeers; p++)
        for (size_t i = 0; i < peer_n[p]; i++)
            add_unique(a, peer_urls[p][i]);
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}
