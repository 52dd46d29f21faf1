/* Route INFO and CONNECT as JSON, with nats-server 2.9's field names and
 * omissions (false booleans and empty strings are left out, as Go's
 * omitempty does). */
#ifndef CL_RINFO_H
#define CL_RINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* What this server says about itself in its route INFO. */
typedef struct cl_self {
    const char *server_id;
    const char *server_name;
    const char *version;
    const char *host;            /* cluster listen host, or the advertise host */
    int port;
    const char *ip;              /* "nats-route://h:p/" with advertise, else NULL */
    bool auth_required;
    bool tls_required;
    int64_t max_payload;
    const char *cluster;
    bool dynamic;                /* the cluster name was generated */
    const char *const *connect_urls;   /* NULL when no_advertise */
    size_t n_connect_urls;
    bool ldm;                    /* entering lame duck mode */
    json_t *import_, *export_;   /* cluster.permissions (borrowed), NULL: none */
} cl_self;

/* A peer's route INFO. */
typedef struct cl_info {
    char *server_id;
    char *server_name;
    char *cluster;
    char *host;
    int port;
    char *ip;                    /* NULL: absent */
    char *gateway;               /* NULL: not a gateway gossip INFO */
    int proto;
    bool auth_required;
    bool tls_required;
    bool headers;
    bool dynamic;
    bool ldm;
    bool lnoc;
    char **connect_urls;
    size_t n_connect_urls;
    json_t *json;                /* the whole object (gossip forwards it) */
} cl_info;

/* INFO {...} CRLF of this server; nonce: NULL for none. malloc'd. */
char *cl_info_line(const cl_self *self, const char *nonce);

/* Parse a peer's INFO JSON; -1 with err set when it is not an object or
 * lacks server_id. */
int cl_info_parse(const char *text, size_t len, cl_info *out, char *err, size_t errlen);
void cl_info_free(cl_info *i);

/* The INFO line to forward to other routes about a new peer (gossip):
 * the peer's object without nonce, with ip set to
 * nats-route://<peer_ip>:<port>/ unless it already has one. malloc'd. */
char *cl_info_gossip_line(const cl_info *peer, const char *peer_ip);

/* The route CONNECT a solicitor sends. */
typedef struct cl_connect {
    const char *user, *pass;     /* NULL: none */
    bool tls_required;
    bool headers;
    const char *name;            /* own server id */
    const char *cluster;
    bool dynamic;
} cl_connect;

char *cl_connect_line(const cl_connect *c);

/* A CONNECT received on the route port. */
typedef struct cl_connect_in {
    char *user, *pass, *auth_token;
    char *name;                  /* the peer's server id */
    char *cluster;
    char *lang;                  /* set by clients that dialed the route port */
    char *gateway;               /* set by gateways that dialed the route port */
    bool dynamic;
    bool headers;
    bool verbose;
} cl_connect_in;

int cl_connect_parse(const char *text, size_t len, cl_connect_in *out, char *err, size_t errlen);
void cl_connect_free(cl_connect_in *c);

/* "host:port" of an INFO (IPv6 in brackets), lowercased: nats-server's
 * key for "this route is configured". */
void cl_hostport(char *out, size_t outlen, const char *host, int port);

#endif
