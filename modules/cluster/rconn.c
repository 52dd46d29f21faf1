/* Route connections: the handshake (CONNECT, INFO), registration in the
 * mesh with duplicate resolution and gossip, remote interest (RS+/RS-),
 * messages both ways, pings; and the initial interest dump (rinterest.c). */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void route_free(cl_route *r)
{
    tern_wire_parse_free(&r->parser);
    tern_wire_buf_free(&r->out);
    tern_wire_buf_free(&r->pend);
    cl_info_free(&r->info);
    free(r->remote_id);
    free(r->remote_name);
    free(r->user);
    free(r->pass);
    json_decref(r->rsubs);
    free(r);
}

static void write_str(cl *c, uint64_t conn, const char *s)
{
    c->api->conn_write(c->m, conn, s, strlen(s));
}

/* -ERR 'text' then close (nats-server's sendErr + closeConnection). */
static void close_err(cl *c, cl_route *r, const char *text, const char *reason)
{
    char line[512];
    snprintf(line, sizeof line, "-ERR '%s'\r\n", text);
    write_str(c, r->id, line);
    c->api->conn_close(c->m, r->id, reason);
}

static void route_close(cl *c, cl_route *r, const char *reason)
{
    c->api->conn_close(c->m, r->id, reason);
}

void cl_broadcast_locked(cl *c, const char *bytes, size_t len, const cl_route *except)
{
    for (cl_route *r = c->routes; r; r = r->next) {
        if (r == except || r->state != CL_R_REGISTERED)
            continue;
        if (r->dumping)
            tern_wire_buf_add(&r->pend, bytes, len);
        else
            c->api->conn_write(c->m, r->id, bytes, len);
    }
}

/* ---- interest → RS+/RS- (rinterest.c) ---------------------------------- */

/* The initial dump: every interest routes carry, from the sums, then
 * what was queued for the route meanwhile (gossip). Interest changes
 * skip a dumping route: the sums it is dumped from include them. */
static void send_all_interest(cl *c, cl_route *r)
{
    cl_interest_refresh(c);
    tern_wire_buf dump = { .b = NULL };
    pthread_mutex_lock(&c->mu);
    cl_interest_dump_locked(c, &dump);
    if (dump.len && !dump.oom)
        c->api->conn_write(c->m, r->id, dump.b, dump.len);
    if (r->pend.len)
        c->api->conn_write(c->m, r->id, r->pend.b, r->pend.len);
    tern_wire_buf_free(&r->pend);
    r->dumping = false;
    pthread_mutex_unlock(&c->mu);
    tern_wire_buf_free(&dump);
}

/* ---- open / closed ------------------------------------------------------- */

static tern_rc on_open(tern_module *m, const tern_conn_info *ci, void *ud, void **conn_ud)
{
    (void)m;
    cl *c = ud;
    cl_route *r = calloc(1, sizeof *r);
    if (!r)
        return TERN_ENOMEM;
    r->cl = c;
    r->id = ci->id;
    r->outbound = ci->outbound;
    snprintf(r->ip, sizeof r->ip, "%s", ci->ip ? ci->ip : "");
    r->port = ci->port;
    tern_wire_parse_init(&r->parser);
    r->created_ms = r->last_ping_ms = cl_now_ms();
    r->rtt_us = -1;
    r->start_ns = cl_wall_ns();
    atomic_store(&r->last_ns, r->start_ns);
    r->rsubs = json_object();
    if (!r->rsubs) {
        free(r);
        return TERN_ENOMEM;
    }

    char nonce[24] = "";
    pthread_mutex_lock(&c->mu);
    const cl_dial *d = NULL;
    for (cl_dial *x = c->dials; x; x = x->next)
        if (x->conn == ci->id) {
            x->opened = x->ever_opened = true;
            d = x;
        }
    if (!r->outbound)   /* a nonce on the initial INFO, as nats-server (never signed) */
        cl_random_text(nonce, 16);
    char *connect = NULL;
    if (r->outbound) {
        cl_connect cn = {
            .user = d ? d->url.user : NULL,
            .pass = d ? d->url.pass : NULL,
            .tls_required = c->conf.tls,
            .headers = true,
            .name = c->server_id,
            .cluster = c->cluster_name,
            .dynamic = c->dynamic,
        };
        connect = cl_connect_line(&cn);
    }
    char *info = cl_self_info_locked(c, r->outbound ? NULL : nonce);
    r->next = c->routes;
    c->routes = r;
    pthread_mutex_unlock(&c->mu);

    if (connect)
        write_str(c, r->id, connect);
    if (info)
        write_str(c, r->id, info);
    free(connect);
    free(info);
    *conn_ud = r;
    c->api->log(c->m, TERN_LOG_LEVEL_DEBUG, "route connection %llu %s %s:%d",
                (unsigned long long)r->id, r->outbound ? "to" : "from", r->ip, r->port);
    return (connect || !r->outbound) && info ? TERN_OK : TERN_ENOMEM;
}

static void unlink_route_locked(cl *c, cl_route *r)
{
    for (cl_route **p = &c->routes; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            return;
        }
}

static void on_closed(tern_module *m, uint64_t conn, void *conn_ud, const char *reason)
{
    cl_route *r = conn_ud;
    if (!r) {
        /* a dial that never opened: its target is retried or dropped */
        cl *c = cl_instance(m);
        if (c) {
            pthread_mutex_lock(&c->mu);
            cl_dials_conn_closed_locked(c, conn, NULL, reason);
            pthread_mutex_unlock(&c->mu);
        }
        return;
    }
    cl *c = r->cl;
    pthread_mutex_lock(&c->mu);
    unlink_route_locked(c, r);
    bool was_registered = r->state == CL_R_REGISTERED;
    if (r->urls_counted)
        c->urls_dirty = true;
    cl_dials_conn_closed_locked(c, conn, r->remote_id, reason);
    pthread_mutex_unlock(&c->mu);
    if (was_registered)
        c->api->log(c->m, TERN_LOG_LEVEL_INFO, "route to %s (%s:%d) closed: %s",
                    r->remote_id ? r->remote_id : "?", r->ip, r->port, reason ? reason : "");
    route_free(r);
}

/* ---- CONNECT ------------------------------------------------------------- */

static int on_connect(cl *c, cl_route *r, const tern_wire_op *op)
{
    cl_connect_in cn;
    char err[200];
    if (cl_connect_parse(op->arg, op->arg_len, &cn, err, sizeof err) < 0) {
        close_err(c, r, "Invalid Route CONNECT", "Protocol Violation");
        return 1;
    }
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    if (cn.lang && *cn.lang) {
        close_err(c, r, "attempted to connect to route port", "Incorrect Port");
        rc = 1;
    } else if (cn.gateway && *cn.gateway) {
        char t[300];
        snprintf(t, sizeof t, "Rejecting connection from gateway \"%s\" on the Route port", cn.gateway);
        close_err(c, r, t, "Wrong Gateway");
        rc = 1;
    } else if (c->conf.user &&
               (!cn.user || strcmp(cn.user, c->conf.user) ||
                strcmp(cn.pass ? cn.pass : "", c->conf.pass ? c->conf.pass : ""))) {
        close_err(c, r, "Authorization Violation", "Authentication Failure");
        rc = 1;
    } else if (strcmp(cn.cluster ? cn.cluster : "", c->cluster_name)) {
        const char *theirs = cn.cluster ? cn.cluster : "";
        if (c->dynamic && (!cn.dynamic || strcmp(c->cluster_name, theirs) < 0) && *theirs) {
            cl_adopt_name_locked(c, theirs, r);
        } else {
            char t[400];
            snprintf(t, sizeof t, "Rejecting connection, cluster name \"%s\" does not match \"%s\"",
                     theirs, c->cluster_name);
            close_err(c, r, t, "Cluster Name Conflict");
            rc = 1;
        }
    }
    if (!rc) {
        r->got_connect = true;
        r->headers = cn.headers;
        free(r->user);
        free(r->pass);
        r->user = cn.user ? strdup(cn.user) : NULL;
        r->pass = cn.pass ? strdup(cn.pass) : NULL;
    }
    pthread_mutex_unlock(&c->mu);
    cl_connect_free(&cn);
    return rc;
}

/* ---- INFO ---------------------------------------------------------------- */

static cl_route *registered_locked(cl *c, const char *id, const cl_route *except)
{
    for (cl_route *x = c->routes; x; x = x->next)
        if (x != except && x->state == CL_R_REGISTERED && x->remote_id && !strcmp(x->remote_id, id))
            return x;
    return NULL;
}

/* An INFO on an established route: gossip about another server, the
 * peer entering lame duck mode, or a configuration update. */
static void on_async_info(cl *c, cl_route *r, cl_info *in)
{
    pthread_mutex_lock(&c->mu);
    if (in->gateway) {
        /* gateway gossip: this server has no gateway here */
    } else if (r->remote_id && strcmp(in->server_id, r->remote_id)) {
        cl_dial_implicit_locked(c, in);
    } else if (in->ldm && r->urls_counted) {
        r->urls_counted = false;
        c->urls_dirty = true;
    }
    pthread_mutex_unlock(&c->mu);
}

static int on_info(cl *c, cl_route *r, const tern_wire_op *op)
{
    cl_info in;
    char err[200];
    if (cl_info_parse(op->arg, op->arg_len, &in, err, sizeof err) < 0) {
        c->api->log(c->m, TERN_LOG_LEVEL_ERROR, "route %s:%d: %s", r->ip, r->port, err);
        route_close(c, r, "Parse Error");
        return 1;
    }
    pthread_mutex_lock(&c->mu);
    bool first = !r->got_info;
    pthread_mutex_unlock(&c->mu);
    if (!first) {
        on_async_info(c, r, &in);
        cl_info_free(&in);
        return 0;
    }

    pthread_mutex_lock(&c->mu);
    const char *reason = NULL;
    if (!strcmp(in.server_id, c->server_id)) {
        /* a route to ourselves (a seed list naming this server) */
        for (cl_dial *d = c->dials; d; d = d->next)
            if (d->conn == r->id)
                d->self = true;
        reason = "Duplicate Route";
    } else if (in.cluster && *in.cluster && strcmp(in.cluster, c->cluster_name)) {
        if (c->dynamic && (!in.dynamic || strcmp(c->cluster_name, in.cluster) < 0))
            cl_adopt_name_locked(c, in.cluster, r);
        else
            reason = "Cluster Name Conflict";
    } else if (!r->outbound && in.server_name && c->server_name &&
               !strcmp(in.server_name, c->server_name)) {
        c->api->log(c->m, TERN_LOG_LEVEL_ERROR, "Remote server has a duplicate name: \"%s\"",
                    in.server_name);
        reason = "Duplicate Server Name";
    }
    if (reason) {
        pthread_mutex_unlock(&c->mu);
        cl_info_free(&in);
        route_close(c, r, reason);
        return 1;
    }
    r->got_info = true;
    r->headers = in.headers;
    free(r->remote_id);
    r->remote_id = strdup(in.server_id);
    free(r->remote_name);
    r->remote_name = in.server_name ? strdup(in.server_name) : NULL;

    cl_route *dup = registered_locked(c, in.server_id, r);
    if (dup) {
        /* both servers dialed each other: the route registered first wins;
         * a target this connection served is retried when the winner closes */
        for (cl_dial *d = c->dials; d; d = d->next)
            if (d->conn == r->id) {
                d->conn = dup->id;
                free(d->remote_id);
                d->remote_id = strdup(in.server_id);
            }
        pthread_mutex_unlock(&c->mu);
        c->api->log(c->m, TERN_LOG_LEVEL_DEBUG, "duplicate route to %s closed", in.server_id);
        cl_info_free(&in);
        route_close(c, r, "Duplicate Route");
        return 1;
    }

    r->state = CL_R_REGISTERED;
    r->dumping = true;
    r->info = in;
    r->urls_counted = !c->conf.no_advertise && in.n_connect_urls > 0;
    if (r->urls_counted)
        c->urls_dirty = true;
    cl_dials_route_up_locked(c, r->id, in.server_id);
    /* tell the other routes about the newcomer, so they connect to it */
    bool others = false;
    for (cl_route *x = c->routes; x; x = x->next)
        others = others || (x != r && x->state == CL_R_REGISTERED);
    if (others) {
        char *g = cl_info_gossip_line(&r->info, r->ip);
        if (g)
            cl_broadcast_locked(c, g, strlen(g), r);
        free(g);
    }
    pthread_mutex_unlock(&c->mu);
    c->api->log(c->m, TERN_LOG_LEVEL_INFO, "route to %s (%s:%d) registered",
                r->info.server_name ? r->info.server_name : r->info.server_id, r->ip, r->port);
    send_all_interest(c, r);
    return 0;
}

/* ---- ops ----------------------------------------------------------------- */

static int on_op(void *ud, const tern_wire_op *op)
{
    cl_route *r = ud;
    cl *c = r->cl;
    const tern_host_api *api = c->api;

    if (!r->outbound && !r->got_connect && op->kind != TERN_WIRE_OP_CONNECT) {
        pthread_mutex_lock(&c->mu);
        bool auth = c->conf.user != NULL;
        pthread_mutex_unlock(&c->mu);
        if (auth) {
            close_err(c, r, "Authorization Violation", "Authentication Failure");
            return 1;
        }
    }
    switch (op->kind) {
    case TERN_WIRE_OP_CONNECT:
        return r->outbound ? 0 : on_connect(c, r, op);
    case TERN_WIRE_OP_INFO:
        return on_info(c, r, op);
    case TERN_WIRE_OP_PING:
        write_str(c, r->id, "PONG\r\n");
        return 0;
    case TERN_WIRE_OP_PONG:
        pthread_mutex_lock(&c->mu);
        r->pings_out = 0;
        if (r->ping_sent_us) {
            r->rtt_us = (int64_t)(cl_now_us() - r->ping_sent_us);
            r->ping_sent_us = 0;
        }
        pthread_mutex_unlock(&c->mu);
        return 0;
    case TERN_WIRE_OP_OK:
    case TERN_WIRE_OP_ACCOUNT:
        return 0;
    case TERN_WIRE_OP_ERR:
        api->log(c->m, TERN_LOG_LEVEL_ERROR, "route %s:%d: -ERR %.*s", r->ip, r->port,
                 (int)op->arg_len, op->arg);
        route_close(c, r, "Parse Error");
        return 1;
    case TERN_WIRE_OP_SUB:
    case TERN_WIRE_OP_UNSUB: {
        /* LS+/LS- (leaf-origin interest of a peer with leaf nodes) count
         * like RS+/RS-: their key leaves the origin out, as nats-server's */
        atomic_store(&r->last_ns, cl_wall_ns());
        /* cluster.permissions export: interest in what this server may not
         * send is ignored (nats-server: debug log only) */
        if (!cl_perm_allows(&c->conf.export_, op->subject)) {
            api->log(c->m, TERN_LOG_LEVEL_DEBUG, "route %s:%d: interest in \"%s\" not exported",
                     r->ip, r->port, op->subject);
            return 0;
        }
        tern_rc rc = api->link_interest(c->m, r->id, op->account, op->subject, op->queue,
                                        op->kind == TERN_WIRE_OP_SUB ? op->weight : 0);
        if (rc == TERN_OK) {
            char key[1024];
            snprintf(key, sizeof key, "%s %s%s%s", op->account, op->subject, op->queue ? " " : "",
                     op->queue ? op->queue : "");
            pthread_mutex_lock(&c->mu);
            if (op->kind == TERN_WIRE_OP_SUB)
                json_object_set_new(r->rsubs, key, json_string(op->subject));
            else
                json_object_del(r->rsubs, key);
            pthread_mutex_unlock(&c->mu);
        }
        if (rc == TERN_ENOENT)
            api->log(c->m, TERN_LOG_LEVEL_DEBUG, "unknown account \"%s\" for remote subject \"%s\"",
                     op->account, op->subject);
        return 0;
    }
    case TERN_WIRE_OP_MSG: {
        /* LMSG (a message that entered the peer's cluster from a leaf
         * node) is delivered like RMSG: this server has no leaf nodes the
         * origin would exclude */
        atomic_fetch_add(&r->in_msgs, 1);
        atomic_fetch_add(&r->in_bytes, op->len);
        atomic_store(&r->last_ns, cl_wall_ns());
        tern_rc rc = api->link_publish(c->m, r->id, op->account, op->subject, op->reply, op->data,
                                       op->hdr_len, op->len, op->queues, op->nqueues,
                                       TERN_LINK_PUB_QUEUES_LISTED | TERN_LINK_PUB_NO_SAME_PROTO);
        if (rc == TERN_ENOENT)
            api->log(c->m, TERN_LOG_LEVEL_DEBUG, "unknown account \"%s\" for routed message on \"%s\"",
                     op->account, op->subject);
        return 0;
    }
    }
    return 0;
}

static tern_rc on_data(tern_module *m, uint64_t conn, void *conn_ud, const void *bytes, size_t len)
{
    (void)m, (void)conn;
    cl_route *r = conn_ud;
    int rc = tern_wire_parse_feed(&r->parser, bytes, len, on_op, r);
    if (rc < 0) {
        r->cl->api->log(r->cl->m, TERN_LOG_LEVEL_ERROR, "route %s:%d: %s", r->ip, r->port,
                        r->parser.err);
        close_err(r->cl, r, "Unknown Protocol Operation", "Parse Error");
    }
    return TERN_OK;
}

/* ---- local messages → RMSG/HMSG --------------------------------------- */

static void on_msg(tern_module *m, uint64_t conn, void *conn_ud, const tern_link_msg *msg)
{
    cl_route *r = conn_ud;
    /* cluster.permissions export also holds for messages a wildcard
     * interest would carry (nats-server's deny filter on routes) */
    if (!cl_perm_allows(&r->cl->conf.export_, msg->subject))
        return;
    atomic_fetch_add(&r->out_msgs, 1);
    atomic_fetch_add(&r->out_bytes, msg->len);
    tern_wire_buf_reset(&r->out);
    tern_wire_frame_msg(&r->out, msg->account, msg->subject, msg->reply, msg->queues,
                        msg->nqueues, msg->data, msg->hdr_len, msg->len, r->headers);
    if (!r->out.oom)
        r->cl->api->conn_write(m, conn, r->out.b, r->out.len);
    /* a big message must not pin its size in every route forever */
    if (r->out.cap > 1024 * 1024)
        tern_wire_buf_free(&r->out);
}

/* A message this server got from its hub over a leaf node connection
 * it solicited never crosses a route: every server of the cluster with
 * interest has its own connection to the hub (nats-server's rule). */
static const char *const cl_no_msgs_from[] = { "leaf-spoke", NULL };

const tern_proto cl_route_proto = {
    .size = sizeof(tern_proto),
    .name = "route",
    .flags = TERN_PROTO_LINK,
    .open = on_open,
    .data = on_data,
    .closed = on_closed,
    .msg = on_msg,
    .no_msgs_from = cl_no_msgs_from,
};
