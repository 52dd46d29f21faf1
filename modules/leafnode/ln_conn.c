/* Leaf connections: the handshake both ways (INFO, CONNECT, the
 * connect_info INFO), authorization and account binding on the hub,
 * remote interest (LS+/LS-) with loop detection, messages both ways
 * (LMSG/HMSG), pings. */
#include "ln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static char **strv_dup(char *const *v, size_t n)
{
    char **d = calloc(n + 1, sizeof *d);
    for (size_t i = 0; d && i < n; i++)
        d[i] = strdup(v[i]);
    return d;
}

static void conn_free(ln_conn *c)
{
    tern_wire_parse_free(&c->parser);
    tern_wire_buf_free(&c->out);
    free(c->account);
    free(c->remote_account);
    free(c->remote_id);
    free(c->remote_name);
    free(c->remote_cluster);
    free(c->user);
    free(c->pass);
    json_decref(c->smap);
    json_decref(c->rsubs);
    strv_free(c->deny_pub, c->ndeny_pub);
    strv_free(c->deny_sub, c->ndeny_sub);
    free(c);
}

static void write_str(ln *l, uint64_t conn, const char *s)
{
    l->api->conn_write(l->m, conn, s, strlen(s));
}

/* -ERR 'text' then close, as nats-server's sendErr + closeConnection. */
static void close_err(ln *l, ln_conn *c, const char *text, const char *reason)
{
    char line[600];
    snprintf(line, sizeof line, "-ERR '%s'\r\n", text);
    write_str(l, c->id, line);
    l->api->conn_close(l->m, c->id, reason);
}

/* ---- INFO / CONNECT lines ------------------------------------------------ */

static char *json_line(const char *op, json_t *o)
{
    char *j = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!j)
        return NULL;
    size_t n = strlen(op) + strlen(j) + 8;
    char *line = malloc(n);
    if (line)
        /* nats-server ends INFO with "} \r\n", CONNECT with "}\r\n" */
        snprintf(line, n, "%s %s%s\r\n", op, j, op[0] == 'I' ? " " : "");
    free(j);
    return line;
}

/* Under mu: the hub's INFO for c (first: with the nonce; else the
 * connect_info one naming the bound account). */
static char *hub_info_locked(ln *l, const ln_conn *c, bool first)
{
    const ln_conf *cf = &l->conf;
    char host[300], ip[320];
    const char *h = cf->host;
    int port = l->bound_port;
    if (cf->advertise) {
        const char *colon = strrchr(cf->advertise, ':');
        if (colon) {
            snprintf(host, sizeof host, "%.*s", (int)(colon - cf->advertise), cf->advertise);
            port = atoi(colon + 1);
        } else {
            snprintf(host, sizeof host, "%s", cf->advertise);
        }
        h = host;
    }
    snprintf(ip, sizeof ip, "%s:%d", h, port);
    json_t *o = json_object();
    json_object_set_new(o, "server_id", json_string(l->server_id));
    json_object_set_new(o, "server_name", json_string(l->server_name ? l->server_name : l->server_id));
    json_object_set_new(o, "version", json_string("2.9.10"));
    json_object_set_new(o, "proto", json_integer(1));
    json_object_set_new(o, "host", json_string(h));
    json_object_set_new(o, "port", json_integer(port));
    json_object_set_new(o, "headers", json_true());
    json_object_set_new(o, "auth_required", json_true());
    if (cf->tls.on) {
        json_object_set_new(o, "tls_required", json_true());
        if (cf->tls.verify)
            json_object_set_new(o, "tls_verify", json_true());
    }
    json_object_set_new(o, "max_payload", json_integer(l->max_payload));
    json_object_set_new(o, "ip", json_string(ip));
    json_object_set_new(o, "client_id", json_integer((json_int_t)c->id));
    if (first)
        json_object_set_new(o, "nonce", json_string(c->nonce));
    json_object_set_new(o, "info_on_connect", json_true());
    if (!first)
        json_object_set_new(o, "connect_info", json_true());
    json_t *urls = json_array();
    if (!cf->no_advertise)
        json_array_append_new(urls, json_string(ip));
    json_object_set_new(o, "leafnode_urls", urls);
    if (!first)
        json_object_set_new(o, "remote_account", json_string(c->account));
    return json_line("INFO", o);
}

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* Under mu: the spoke's CONNECT (the fields nats-server 2.9 sends). */
static char *spoke_connect_locked(ln *l, ln_conn *c, const char *nonce, bool tls)
{
    ln_dial *d = c->dial;
    const ln_url *u = d && d->conf.nurls ? &d->conf.urls[(d->next_url + d->conf.nurls - 1) % d->conf.nurls]
                                         : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string("2.9.10"));
    if (d && d->jwt) {
        json_object_set_new(o, "jwt", json_string(d->jwt));
        if (nonce && *nonce && d->has_seed) {
            char *sig = ln_sign_nonce(d->seed, nonce);
            if (sig)
                json_object_set_new(o, "sig", json_string(sig));
            free(sig);
        }
    }
    if (u && u->user)
        json_object_set_new(o, "user", json_string(u->user));
    if (u && u->pass)
        json_object_set_new(o, "pass", json_string(u->pass));
    json_object_set_new(o, "tls_required", json_boolean(tls));
    json_object_set_new(o, "server_id", json_string(l->server_id));
    json_object_set_new(o, "name", json_string(l->server_name ? l->server_name : l->server_id));
    if (l->cluster_name)
        json_object_set_new(o, "cluster", json_string(l->cluster_name));
    json_object_set_new(o, "headers", json_true());
    if (d && d->conf.ndeny_imports)
        json_object_set_new(o, "deny_pub", strv_json(d->conf.deny_imports, d->conf.ndeny_imports));
    return json_line("CONNECT", o);
}

/* ---- registration ------------------------------------------------------- */

static void register_locked(ln *l, ln_conn *c)
{
    c->state = LN_S_REGISTERED;
    c->last_ping_ms = ln_now_ms() - LN_PING_INTERVAL_MS + LN_FIRST_PING_MS;
    ln_interest_dump_locked(l, c);
}

/* ---- open / closed --------------------------------------------------------- */

static tern_rc on_open(tern_module *m, const tern_conn_info *ci, void *ud, void **conn_ud)
{
    (void)m;
    ln *l = ud;
    ln_conn *c = calloc(1, sizeof *c);
    if (!c)
        return TERN_ENOMEM;
    c->ln = l;
    c->id = ci->id;
    c->outbound = ci->outbound;
    snprintf(c->ip, sizeof c->ip, "%s", ci->ip ? ci->ip : "");
    c->port = ci->port;
    tern_wire_parse_init_dialect(&c->parser, TERN_WIRE_LEAF);
    c->created_ms = ln_now_ms();
    c->rtt_us = -1;
    c->smap = json_object();
    c->rsubs = json_object();
    c->account = strdup(LN_GLOBAL);
    if (!c->smap || !c->rsubs || !c->account) {
        conn_free(c);
        return TERN_ENOMEM;
    }
    char *info = NULL;
    bool tls = false;
    pthread_mutex_lock(&l->mu);
    if (c->outbound) {
        for (ln_dial *d = l->dials; d; d = d->next)
            if (d->conn == ci->id) {
                d->opened = true;
                c->dial = d;
            }
        if (c->dial) {
            const ln_remote *r = &c->dial->conf;
            if (r->account) {
                free(c->account);
                c->account = strdup(r->account);
            }
            c->deny_pub = strv_dup(r->deny_exports, r->ndeny_exports);
            c->ndeny_pub = r->ndeny_exports;
            c->deny_sub = strv_dup(r->deny_imports, r->ndeny_imports);
            c->ndeny_sub = r->ndeny_imports;
        }
    } else {
        ln_random_text(c->nonce, 16);
        info = hub_info_locked(l, c, true);
        tls = l->conf.tls.on;
    }
    c->next = l->conns;
    l->conns = c;
    pthread_mutex_unlock(&l->mu);
    *conn_ud = c;
    if (!c->outbound) {
        if (info)
            write_str(l, c->id, info);
        free(info);
        /* leaf nodes get INFO in plain, then TLS (as the client port) */
        if (tls && l->api->conn_starttls(l->m, c->id) != TERN_OK)
            return TERN_EINVAL;
    }
    l->api->log(l->m, TERN_LOG_LEVEL_DEBUG, "leafnode connection %llu %s %s:%d",
                (unsigned long long)c->id, c->outbound ? "to" : "from", c->ip, c->port);
    return TERN_OK;
}

static void on_closed(tern_module *m, uint64_t conn, void *conn_ud, const char *reason)
{
    ln_conn *c = conn_ud;
    if (!c) {
        ln *l = ln_instance(m);
        if (!l)
            return;
        pthread_mutex_lock(&l->mu);
        for (ln_dial *d = l->dials; d; d = d->next)
            if (d->conn == conn) {
                l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "Error trying to connect as leafnode to remote server %s: %s",
                            d->conf.urls[(d->next_url + d->conf.nurls - 1) % d->conf.nurls].host,
                            reason ? reason : "");
                ln_dial_closed_locked(l, d, false);
            }
        pthread_mutex_unlock(&l->mu);
        return;
    }
    ln *l = c->ln;
    pthread_mutex_lock(&l->mu);
    for (ln_conn **p = &l->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    bool was = c->state == LN_S_REGISTERED;
    if (was) {
        /* the peer's interest no longer reaches the other leafs */
        const char *k;
        json_t *v;
        json_object_foreach(c->rsubs, k, v) {
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "%s", k);
            char *sp = strchr(tmp, ' ');
            if (sp)
                *sp++ = '\0';
            ln_interest_changed_locked(l, c->account, tmp, sp);
        }
    }
    for (ln_dial *d = l->dials; d; d = d->next)
        if (c->outbound && d == c->dial && d->conn == conn)
            ln_dial_closed_locked(l, d, c->loop);
    pthread_mutex_unlock(&l->mu);
    if (was)
        l->api->log(l->m, TERN_LOG_LEVEL_INFO, "Leafnode connection %s %s:%d (%s) closed: %s",
                    c->outbound ? "to" : "from", c->ip, c->port,
                    c->remote_name ? c->remote_name : "?", reason ? reason : "");
    conn_free(c);
}

/* ---- CONNECT (hub side) ----------------------------------------------------- */

/* The link group of the leafs of one remote cluster bound to one
 * account (FNV-1a over both names): the kernel never passes a message
 * from one of them to another, nats-server's cluster-wide no-echo (each
 * server of that cluster has it over its routes already). */
static uint64_t ln_group_of(const char *account, const char *cluster)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[3] = { "leaf", account, cluster };
    for (int i = 0; i < 3; i++)
        for (const unsigned char *p = (const unsigned char *)parts[i];; p++) {
            h = (h ^ *p) * 1099511628211ull;
            if (!*p)
                break;
        }
    return h ? h : 1;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool pass_eq(const char *want, const char *got)
{
    return !strcmp(want ? want : "", got ? got : "");
}

static int on_connect(ln *l, ln_conn *c, const tern_wire_op *op)
{
    json_error_t je;
    json_t *cn = json_loadb(op->arg, op->arg_len, 0, &je);
    if (!cn || !json_is_object(cn)) {
        json_decref(cn);
        close_err(l, c, "Invalid Leafnode CONNECT", "Protocol Violation");
        return 1;
    }
    const char *lang = jstr(cn, "lang");
    if (lang && *lang) {
        json_decref(cn);
        close_err(l, c, "attempted to connect to leaf node port", "Incorrect Port");
        return 1;
    }
    const char *user = jstr(cn, "user"), *pass = jstr(cn, "pass");
    pthread_mutex_lock(&l->mu);
    const ln_conf *cf = &l->conf;
    bool ok = false;
    const char *acc = cf->account;
    if (cf->user) {
        ok = user && !strcmp(user, cf->user) && pass_eq(cf->pass, pass);
    } else if (cf->nusers) {
        for (size_t i = 0; i < cf->nusers && !ok; i++)
            if (user && !strcmp(user, cf->users[i].user) && pass_eq(cf->users[i].pass, pass)) {
                ok = true;
                acc = cf->users[i].account;
            }
    } else if (l->client_auth) {
        /* nats-server would check the leaf as a client; Tern cannot, so
         * a server whose clients authenticate needs leaf users */
        l->api->log(l->m, TERN_LOG_LEVEL_ERROR,
                    "leafnode %s:%d refused: clients must authenticate here, so leafnode "
                    "authorization (user/password or users) must be configured", c->ip, c->port);
    } else {
        ok = true;
    }
    if (!acc)
        acc = LN_GLOBAL;
    char *account = strdup(acc);
    pthread_mutex_unlock(&l->mu);
    const char *gw = jstr(cn, "gateway");
    if (gw && *gw) {
        char t[300];
        snprintf(t, sizeof t, "Rejecting connection from gateway \"%s\" on the leafnode port", gw);
        close_err(l, c, t, "Wrong Gateway");
        free(account);
        json_decref(cn);
        return 1;
    }
    if (!ok || !account || !l->api->account_exists(l->m, account)) {
        if (ok)
            l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode %s:%d: no account \"%s\"", c->ip, c->port,
                        account ? account : "");
        close_err(l, c, "Authorization Violation", "Authentication Failure");
        free(account);
        json_decref(cn);
        return 1;
    }
    if (json_is_true(json_object_get(cn, "is_hub"))) {
        /* the peer's remote says hub: true (this side would be the spoke) */
        l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode %s:%d: remotes with hub: true are not supported",
                    c->ip, c->port);
        close_err(l, c, "Authorization Violation", "Authentication Failure");
        free(account);
        json_decref(cn);
        return 1;
    }
    const char *cluster = jstr(cn, "cluster");
    if (cluster && *cluster && TERN_API_HAS(l->api, link_group))
        l->api->link_group(l->m, c->id, ln_group_of(account, cluster));
    pthread_mutex_lock(&l->mu);
    free(c->account);
    c->account = account;
    c->headers = json_is_true(json_object_get(cn, "headers"));
    free(c->user);
    free(c->pass);
    c->user = user ? strdup(user) : NULL;
    c->pass = pass ? strdup(pass) : NULL;
    const char *sid = jstr(cn, "server_id"), *name = jstr(cn, "name");
    c->remote_id = sid ? strdup(sid) : NULL;
    c->remote_name = name ? strdup(name) : sid ? strdup(sid) : NULL;
    c->remote_cluster = cluster && *cluster ? strdup(cluster) : NULL;
    /* deny_pub: the spoke's deny_imports, which the hub must not send */
    json_t *dp = json_object_get(cn, "deny_pub");
    if (json_is_array(dp) && json_array_size(dp)) {
        c->deny_pub = calloc(json_array_size(dp) + 1, sizeof *c->deny_pub);
        size_t i;
        json_t *v;
        json_array_foreach(dp, i, v)
            if (c->deny_pub && json_is_string(v))
                c->deny_pub[c->ndeny_pub++] = strdup(json_string_value(v));
    }
    char *info = hub_info_locked(l, c, false);
    if (info)
        write_str(l, c->id, info);
    free(info);
    register_locked(l, c);
    pthread_mutex_unlock(&l->mu);
    l->api->log(l->m, TERN_LOG_LEVEL_INFO, "Leafnode connection from %s:%d (%s) registered, account %s",
                c->ip, c->port, c->remote_name ? c->remote_name : "?", c->account);
    json_decref(cn);
    return 0;
}

/* ---- INFO (spoke side) ------------------------------------------------------ */

static int on_info(ln *l, ln_conn *c, const tern_wire_op *op)
{
    json_error_t je;
    json_t *in = json_loadb(op->arg, op->arg_len, 0, &je);
    if (!in || !json_is_object(in)) {
        json_decref(in);
        l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode %s:%d: bad INFO", c->ip, c->port);
        l->api->conn_close(l->m, c->id, "Parse Error");
        return 1;
    }
    pthread_mutex_lock(&l->mu);
    if (c->state == LN_S_NEW) {
        const char *sid = jstr(in, "server_id"), *name = jstr(in, "server_name");
        free(c->remote_id);
        free(c->remote_name);
        c->remote_id = sid ? strdup(sid) : NULL;
        c->remote_name = name ? strdup(name) : sid ? strdup(sid) : NULL;
        const char *cl = jstr(in, "cluster");
        c->remote_cluster = cl && *cl ? strdup(cl) : NULL;
        c->headers = json_is_true(json_object_get(in, "headers"));
        c->info_on_connect = json_is_true(json_object_get(in, "info_on_connect"));
        bool want_tls = json_is_true(json_object_get(in, "tls_required"));
        bool have_tls = c->dial && c->dial->conf.tls.on;
        if (want_tls != have_tls) {
            pthread_mutex_unlock(&l->mu);
            l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode %s:%d: %s", c->ip, c->port,
                        want_tls ? "the hub requires TLS: configure the remote's tls"
                                 : "the remote has tls configured but the hub does not offer TLS");
            l->api->conn_close(l->m, c->id, want_tls ? "TLS Required" : "TLS Handshake Failure");
            json_decref(in);
            return 1;
        }
        char *connect = spoke_connect_locked(l, c, jstr(in, "nonce"), want_tls);
        c->state = c->info_on_connect ? LN_S_WAIT_INFO : LN_S_NEW;
        c->created_ms = ln_now_ms();
        pthread_mutex_unlock(&l->mu);
        if (want_tls && l->api->conn_starttls(l->m, c->id) != TERN_OK) {
            free(connect);
            json_decref(in);
            l->api->conn_close(l->m, c->id, "TLS Handshake Failure");
            return 1;
        }
        if (connect)
            write_str(l, c->id, connect);
        free(connect);
        pthread_mutex_lock(&l->mu);
        if (!c->info_on_connect) {
            /* a hub before 2.2: registered right after CONNECT */
            register_locked(l, c);
        }
        pthread_mutex_unlock(&l->mu);
    } else if (c->state == LN_S_WAIT_INFO && json_is_true(json_object_get(in, "connect_info"))) {
        const char *ra = jstr(in, "remote_account");
        free(c->remote_account);
        c->remote_account = ra ? strdup(ra) : NULL;
        register_locked(l, c);
        pthread_mutex_unlock(&l->mu);
        l->api->log(l->m, TERN_LOG_LEVEL_INFO,
                    "Connected leafnode to %s:%d (%s), local account %s, remote account %s", c->ip,
                    c->port, c->remote_name ? c->remote_name : "?", c->account,
                    c->remote_account ? c->remote_account : "?");
    } else {
        /* async INFO (leafnode_urls updates): the configured URLs are kept */
        pthread_mutex_unlock(&l->mu);
    }
    json_decref(in);
    return 0;
}

/* ---- LS+ / LS- --------------------------------------------------------------- */

static int on_sub(ln *l, ln_conn *c, const tern_wire_op *op, bool add)
{
    pthread_mutex_lock(&l->mu);
    const char *lds = ln_lds_locked(l, c->account);
    bool loop = add && lds && !strcmp(op->subject, lds);
    char acc[256];
    snprintf(acc, sizeof acc, "%s", c->account);
    pthread_mutex_unlock(&l->mu);
    if (loop) {
        char t[400];
        snprintf(t, sizeof t, "Loop detected for leafnode account=\"%s\". Delaying attempt to reconnect for 30s",
                 acc);
        l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode %s:%d: %s", c->ip, c->port, t);
        pthread_mutex_lock(&l->mu);
        c->loop = true;
        pthread_mutex_unlock(&l->mu);
        close_err(l, c, t, "Leafnode Loop Detected");
        return 1;
    }
    tern_rc rc = l->api->link_interest(l->m, c->id, acc, op->subject, op->queue,
                                       add ? op->weight : 0);
    if (rc != TERN_OK) {
        l->api->log(l->m, TERN_LOG_LEVEL_DEBUG, "leafnode %s:%d: interest in \"%s\": %s", c->ip,
                    c->port, op->subject, l->api->error(l->m));
        return 0;
    }
    char key[1024];
    snprintf(key, sizeof key, "%s%s%s", op->subject, op->queue ? " " : "", op->queue ? op->queue : "");
    pthread_mutex_lock(&l->mu);
    if (add)
        json_object_set_new(c->rsubs, key, json_integer(op->weight));
    else
        json_object_del(c->rsubs, key);
    /* the other leafs of the account learn it (one hop further) */
    ln_interest_changed_locked(l, acc, op->subject, op->queue);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

/* ---- ops ----------------------------------------------------------------------- */

static int on_op(void *ud, const tern_wire_op *op)
{
    ln_conn *c = ud;
    ln *l = c->ln;
    pthread_mutex_lock(&l->mu);
    ln_state st = c->state;
    pthread_mutex_unlock(&l->mu);
    if (!c->outbound && st != LN_S_REGISTERED && op->kind != TERN_WIRE_OP_CONNECT &&
        op->kind != TERN_WIRE_OP_PING && op->kind != TERN_WIRE_OP_PONG) {
        close_err(l, c, "Authorization Violation", "Authentication Failure");
        return 1;
    }
    switch (op->kind) {
    case TERN_WIRE_OP_CONNECT:
        if (c->outbound || st == LN_S_REGISTERED)
            return 0;
        return on_connect(l, c, op);
    case TERN_WIRE_OP_INFO:
        return c->outbound ? on_info(l, c, op) : 0;
    case TERN_WIRE_OP_PING:
        write_str(l, c->id, "PONG\r\n");
        return 0;
    case TERN_WIRE_OP_PONG:
        pthread_mutex_lock(&l->mu);
        c->pings_out = 0;
        if (c->ping_sent_us) {
            c->rtt_us = (int64_t)(ln_now_us() - c->ping_sent_us);
            c->ping_sent_us = 0;
        }
        pthread_mutex_unlock(&l->mu);
        return 0;
    case TERN_WIRE_OP_OK:
    case TERN_WIRE_OP_ACCOUNT:   /* not in the leaf dialect */
        return 0;
    case TERN_WIRE_OP_ERR:
        /* nats-server keeps the link on -ERR; a loop report delays the redial */
        l->api->log(l->m, TERN_LOG_LEVEL_ERROR, "leafnode %s:%d: -ERR %.*s", c->ip, c->port,
                    (int)op->arg_len, op->arg);
        if (op->arg_len && strstr(op->arg, "Loop detected")) {
            pthread_mutex_lock(&l->mu);
            c->loop = true;
            pthread_mutex_unlock(&l->mu);
        }
        return 0;
    case TERN_WIRE_OP_SUB:
    case TERN_WIRE_OP_UNSUB:
        if (st != LN_S_REGISTERED)
            return 0;
        return on_sub(l, c, op, op->kind == TERN_WIRE_OP_SUB);
    case TERN_WIRE_OP_MSG: {
        if (st != LN_S_REGISTERED)
            return 0;
        atomic_fetch_add(&c->in_msgs, 1);
        atomic_fetch_add(&c->in_bytes, op->len);
        tern_rc rc = l->api->link_publish(l->m, c->id, c->account, op->subject, op->reply, op->data,
                                          op->hdr_len, op->len, op->queues, op->nqueues,
                                          TERN_LINK_PUB_QUEUES_LISTED);
        if (rc != TERN_OK)
            l->api->log(l->m, TERN_LOG_LEVEL_DEBUG, "leafnode message on \"%s\": %s", op->subject,
                        l->api->error(l->m));
        return 0;
    }
    }
    return 0;
}

static tern_rc on_data(tern_module *m, uint64_t conn, void *conn_ud, const void *bytes, size_t len)
{
    (void)m, (void)conn;
    ln_conn *c = conn_ud;
    int rc = tern_wire_parse_feed(&c->parser, bytes, len, on_op, c);
    if (rc < 0) {
        c->ln->api->log(c->ln->m, TERN_LOG_LEVEL_ERROR, "leafnode %s:%d: %s", c->ip, c->port,
                        c->parser.err);
        close_err(c->ln, c, "Unknown Protocol Operation", "Parse Error");
    }
    return TERN_OK;
}

/* ---- local messages → LMSG/HMSG ------------------------------------------------ */

static void on_msg(tern_module *m, uint64_t conn, void *conn_ud, const tern_link_msg *msg)
{
    ln_conn *c = conn_ud;
    /* deny_exports (spoke) and the spoke's deny_pub (hub): never sent */
    if (c->ndeny_pub && ln_denied(c->deny_pub, c->ndeny_pub, msg->subject))
        return;
    /* a peer without headers gets the payload only */
    size_t len = c->headers ? msg->len : msg->len - msg->hdr_len;
    tern_wire_buf *b = &c->out;
    tern_wire_buf_reset(b);
    tern_wire_frame_leaf_msg(b, msg->subject, msg->reply, msg->queues, msg->nqueues, msg->data,
                             msg->hdr_len, msg->len, c->headers);
    if (!b->oom) {
        atomic_fetch_add(&c->out_msgs, 1);
        atomic_fetch_add(&c->out_bytes, len);
        c->ln->api->conn_write(m, conn, b->b, b->len);
    }
    if (b->cap > 1024 * 1024)
        tern_wire_buf_free(b);
}

const tern_proto ln_leaf_proto = {
    .size = sizeof(tern_proto),
    .name = LN_PROTO_HUB_SIDE,
    .flags = TERN_PROTO_LINK,
    .open = on_open,
    .data = on_data,
    .closed = on_closed,
    .msg = on_msg,
};

/* A message that crossed a route never goes up to the hub: the server
 * it was published on sent it there over its own link (nats-server's
 * rule for spoke connections, service replies aside). */
static const char *const ln_spoke_no_msgs_from[] = { "route", NULL };

const tern_proto ln_spoke_proto = {
    .size = sizeof(tern_proto),
    .name = LN_PROTO_SPOKE_SIDE,
    .flags = TERN_PROTO_LINK,
    .open = on_open,
    .data = on_data,
    .closed = on_closed,
    .msg = on_msg,
    .no_msgs_from = ln_spoke_no_msgs_from,
};
