/* The monitor module's state, shared by its files: monitor.c (the
 * module: configuration, listeners, connections), serve.c (the
 * endpoints), metrics.c (/metrics). Everything runs on the server's main
 * thread (the HTTP protocol is TERN_PROTO_MAIN_THREAD). */
#ifndef MON_MONITOR_H
#define MON_MONITOR_H

#include <jansson.h>
#include <stdint.h>

#include <tern/module.h>

#include "conf.h"
#include "http.h"

typedef struct monitor {
    const tern_host_api *api;
    tern_module         *m;
    uint32_t             proto;
    mon_conf             conf;
    bool                 http_on, https_on;  /* listening */
    uint64_t             http_id, https_id;
    char                 http_host[256];     /* bound addresses, for /varz */
    int                  http_port, https_port;
    json_t              *req_stats;          /* {"/varz": n, …} for /varz */
} monitor;

/* A document from the server (api->document): the parsed JSON with
 * *status 200 or 503; NULL with *status 400 (*err: the text, free()) or
 * 404. */
json_t *mon_document(monitor *mon, const char *name, const char *query, int *status, char **err);

/* Answer one request (serve.c). */
void mon_serve(monitor *mon, const mon_http_req *req, mon_http_resp *resp);

/* The Prometheus text exposition of the server's documents (metrics.c);
 * malloc'ed, NULL when out of memory. */
char *mon_metrics(monitor *mon, size_t *len);

#endif
