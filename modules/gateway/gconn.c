/* Gateway connections: the handshake (INFO, CONNECT), interest the
 * remote announces on our outbound connections (RS+/RS-/A+/A-, the
 * interest-only switch commands), messages received on inbound ones,
 * messages sent on outbound ones (RMSG/HMSG with the _GR_. reply
 * mapping), and local interest going out on inbound ones. */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define GW_CMD_GOSSIP 1
#define GW_CMD_ALL_SUBS_START 2
#define GW_CMD_ALL_SUBS_COMPLETE 3
/* _GR_.<6>.<6>. and $GR.<4>. */
#define GW_PFX_LEN (5 + GW_HASH_LEN + 1 + GW_HASH_LEN + 1)
#define GW_OLD_PFX_LEN 9

static void conn_free(gw_conn *c)
{
    tern_wire_parse_free(&c->parser);
    tern_wire_buf_free(&c->out);
    json_decref(c->modes);
    json_decref(c->ni);
    json_decref(c->noacc);
    json_decref(c->switched);
    json_decref(c->rsubs);
    free(c->rname);
    free(c->remote_id);
    free(c->remote_sname);
    free(c->user);
    free(c->pass);
    free(c);
}

static void write_str(gw *g, uint64_t conn, const char *s)
{
    g->api->conn_write(g->m, conn, s, strlen(s));
}

/* -ERR 'text' then close (nats-server's sendErr + closeConnection). */
static void close_err(gw *g, gw_conn *c, const char *text, const char *reason)
{
    char line[640];
    snprintf(line, sizeof line, "-ERR '%s'\r\n", text);
    write_str(g, c->id, line);
    g->api->conn_close(g->m, c->id, reason);
}

/* ---- INFO lines ------------------------------------------------------------ */

static char *info_dump(json_t *o)
{
    char *js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!js)
        return NULL;
    size_t n = strlen(js);
    char *line = malloc(n + 8);
    if (line)
        snprintf(line, n + 8, "INFO %s\r\n", js);
    free(js);
    return line;
}

char *gw_info_line_locked(gw *g)
{
    json_t *o = json_object();
    json_object_set_new(o, "server_id", json_string(g->server_id));
    json_object_set_new(o, "server_name", json_string(g->server_name ? g->server_name : ""));
    json_object_set_new(o, "version", json_string("2.9.10"));
    json_object_set_new(o, "proto", json_integer(0));
    json_object_set_new(o, "go", json_string(""));
    json_object_set_new(o, "host", json_string(g->adv_host ? g->adv_host : ""));
    json_object_set_new(o, "port", json_integer(g->adv_port));
    json_object_set_new(o, "headers", json_boolean(g->headers));
    if (g->conf.user)
        json_object_set_new(o, "auth_required", json_true());
    json_object_set_new(o, "max_payload", json_integer(g->max_payload));
    json_object_set_new(o, "gateway", json_string(g->conf.name));
    json_t *urls = json_array();
    json_array_append_new(urls, json_string(g->self_url));
    json_object_set_new(o, "gateway_urls", urls);
    json_object_set_new(o, "gateway_url", json_string(g->self_url));
    json_object_set_new(o, "gateway_nrp", json_true());
    /* as 2.9: every account goes interest-only on every inbound connection */
    json_object_set_new(o, "gateway_iom", json_true());
    return info_dump(o);
}

/* A command INFO (the Go struct's zero fields included, as nats-server). */
static char *cmd_info_locked(gw *g, int cmd, const char *account, json_t *urls)
{
    json_t *o = json_object();
    json_object_set_new(o, "server_id", json_string(cmd == GW_CMD_GOSSIP ? g->server_id : ""));
    json_object_set_new(o, "server_name", json_string(""));
    json_object_set_new(o, "version", json_string(""));
    json_object_set_new(o, "proto", json_integer(0));
    json_object_set_new(o, "go", json_string(""));
    json_object_set_new(o, "host", json_string(""));
    json_object_set_new(o, "port", json_integer(0));
    json_object_set_new(o, "headers", json_false());
    json_object_set_new(o, "max_payload", json_integer(0));
    json_object_set_new(o, "gateway", json_string(cmd == GW_CMD_GOSSIP ? account : g->conf.name));
    if (urls)
        json_object_set(o, "gateway_urls", urls);
    json_object_set_new(o, "gateway_cmd", json_integer(cmd));
    if (cmd != GW_CMD_GOSSIP) {
        /* Go encodes the []byte payload as base64 */
        size_t n = strlen(account);
        size_t bl = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
        char *b = malloc(bl);
        if (b) {
            sodium_bin2base64(b, bl, (const unsigned char *)account, n,
                              sodium_base64_VARIANT_ORIGINAL);
            json_object_set_new(o, "gateway_cmd_payload", json_string(b));
        }
        free(b);
    }
    return info_dump(o);
}

/* ---- cluster-wide interest → inbound connections ------------------------ */

/* "acc subj [queue]" split in place. */
static void key_split(char *key, char **acc, char **subj, char **queue)
{
    *acc = key;
    *subj = strchr(key, ' ');
    **subj = '\0';
    (*subj)++;
    *queue = strchr(*subj, ' ');
    if (*queue)
        *(*queue)++ = '\0';
}

static void frame_key(tern_wire_buf *b, const char *key, bool add)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", key);
    char *acc, *subj, *q;
    key_split(tmp, &acc, &subj, &q);
    if (add)
        tern_wire_frame_sub(b, acc, subj, q, 1);   /* gateways always announce weight 1 */
    else
        tern_wire_frame_unsub(b, acc, subj, q);
}

/* Under mu: cmd 2, RS+ for every plain interest of account, cmd 3. */
static void switch_account_locked(gw *g, tern_wire_buf *b, const char *account)
{
    char *s = cmd_info_locked(g, GW_CMD_ALL_SUBS_START, account, NULL);
    if (s)
        tern_wire_buf_str(b, s);
    free(s);
    size_t al = strlen(account);
    const char *key;
    json_t *v;
    json_object_foreach(g->tally, key, v) {
        if (strncmp(key, account, al) || key[al] != ' ' || strchr(key + al + 1, ' '))
            continue;
        frame_key(b, key, true);
    }
    s = cmd_info_locked(g, GW_CMD_ALL_SUBS_COMPLETE, account, NULL);
    if (s)
        tern_wire_buf_str(b, s);
    free(s);
}

static void record_recent_locked(gw *g, const char *account, const char *subject)
{
    json_t *a = json_object_get(g->recent, account);
    if (!a) {
        a = json_object();
        json_object_set_new(g->recent, account, a);
    }
    json_object_set_new(a, subject, json_integer((json_int_t)gw_now_ms()));
}

tern_verdict gw_on_interest(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    gw *g = ud;
    const tern_evt_interest *ev = (const tern_evt_interest *)hdr;
    /* interest learned over gateways is never announced to gateways;
     * local, routed and leaf interest is (cluster-wide tallies) */
    if (ev->source == g->proto)
        return TERN_VERDICT_IGNORE;
    bool add = hdr->evt == TERN_EVT_INTEREST_ADDED;
    char key[1024], skey[1100];
    snprintf(key, sizeof key, "%s %s%s%s", ev->account, ev->subject, ev->queue ? " " : "",
             ev->queue ? ev->queue : "");
    snprintf(skey, sizeof skey, "%u %s", ev->source, key);
    pthread_mutex_lock(&g->mu);
    bool had = json_object_get(g->srcs, skey) != NULL;
    json_int_t n = json_integer_value(json_object_get(g->tally, key));
    bool edge = false;
    if (add && !had) {
        json_object_set_new(g->srcs, skey, json_true());
        json_object_set_new(g->tally, key, json_integer(n + 1));
        edge = n == 0;
    } else if (!add && had) {
        json_object_del(g->srcs, skey);
        if (n <= 1)
            json_object_del(g->tally, key);
        else
            json_object_set_new(g->tally, key, json_integer(n - 1));
        edge = n <= 1;
    }
    if (add && !ev->queue && ev->source == 0)
        record_recent_locked(g, ev->account, ev->subject);
    if (edge) {
        tern_wire_buf b = { .b = NULL };
        for (gw_conn *c = g->conns; c; c = c->next) {
            if (c->outbound || c->state != GW_C_REGISTERED)
                continue;
            tern_wire_buf_reset(&b);
            if (!ev->queue && !json_object_get(c->switched, ev->account)) {
                /* an account seen for the first time on this connection */
                json_object_set_new(c->switched, ev->account, json_true());
                switch_account_locked(g, &b, ev->account);
            } else {
                frame_key(&b, key, add);
            }
            if (!b.oom && b.len)
                g->api->conn_write(g->m, c->id, b.b, b.len);
        }
        tern_wire_buf_free(&b);
    }
    pthread_mutex_unlock(&g->mu);
    return TERN_VERDICT_IGNORE;
}

static void collect_account(const char *account, void *ud)
{
    json_object_set_new((json_t *)ud, account, json_true());
}

/* A new inbound connection: every queue interest, then every account
 * switched to interest-only with its plain interest (2.9's behaviour). */
static void send_all_interest(gw *g, gw_conn *c)
{
    json_t *accs = json_object();
    g->api->account_walk(g->m, collect_account, accs);
    tern_wire_buf b = { .b = NULL };
    pthread_mutex_lock(&g->mu);
    /* registered under the same lock as the dump: interest events see
     * the connection only once it has every account's state */
    c->state = GW_C_REGISTERED;
    const char *key;
    json_t *v;
    json_object_foreach(g->tally, key, v) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", key);
        char *acc, *subj, *q;
        key_split(tmp, &acc, &subj, &q);
        if (q)
            frame_key(&b, key, true);
        json_object_set_new(accs, acc, json_true());
    }
    json_object_foreach(accs, key, v) {
        json_object_set_new(c->switched, key, json_true());
        switch_account_locked(g, &b, key);
    }
    if (!b.oom && b.len)
        g->api->conn_write(g->m, c->id, b.b, b.len);
    pthread_mutex_unlock(&g->mu);
    tern_wire_buf_free(&b);
    json_decref(accs);
}

/* ---- open / closed ------------------------------------------------------- */

static tern_rc on_open(tern_module *m, const tern_conn_info *ci, void *ud, void **conn_ud)
{
    (void)m;
    gw *g = ud;
    gw_conn *c = calloc(1, sizeof *c);
    if (!c)
        return TERN_ENOMEM;
    c->g = g;
    c->id = ci->id;
    c->outbound = ci->outbound;
    snprintf(c->ip, sizeof c->ip, "%s", ci->ip ? ci->ip : "");
    c->port = ci->port;
    tern_wire_parse_init(&c->parser);
    c->created_ms = c->last_ping_ms = gw_now_ms();
    c->rtt_us = -1;
    c->start_ns = gw_wall_ns();
    atomic_store(&c->last_ns, c->start_ns);
    c->modes = json_object();
    c->ni = json_object();
    c->noacc = json_object();
    c->switched = json_object();
    c->rsubs = json_object();
    if (!c->modes || !c->ni || !c->noacc || !c->switched || !c->rsubs) {
        conn_free(c);
        return TERN_ENOMEM;
    }
    pthread_mutex_lock(&g->mu);
    char *info = NULL;
    if (c->outbound) {
        for (gw_remote *r = g->remotes; r; r = r->next)
            if (r->conn == ci->id) {
                r->opened = true;
                c->rname = strdup(r->name);
            }
    } else {
        info = gw_info_line_locked(g);
    }
    c->next = g->conns;
    g->conns = c;
    pthread_mutex_unlock(&g->mu);
    if (info)
        write_str(g, c->id, info);
    free(info);
    *conn_ud = c;
    g->api->log(g->m, TERN_LOG_LEVEL_DEBUG, "gateway connection %llu %s %s:%d",
                (unsigned long long)c->id, c->outbound ? "to" : "from", c->ip, c->port);
    return TERN_OK;
}

static void on_closed(tern_module *m, uint64_t conn, void *conn_ud, const char *reason)
{
    gw_conn *c = conn_ud;
    gw *g = c ? c->g : gw_instance(m);
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    if (c) {
        for (gw_conn **p = &g->conns; *p; p = &(*p)->next)
            if (*p == c) {
                *p = c->next;
                break;
            }
    }
    gw_remote_conn_closed_locked(g, conn, reason);
    pthread_mutex_unlock(&g->mu);
    if (c && c->state == GW_C_REGISTERED)
        g->api->log(g->m, TERN_LOG_LEVEL_INFO, "%s gateway connection %s \"%s\" (%s:%d) closed: %s",
                    c->outbound ? "Outbound" : "Inbound", c->outbound ? "to" : "from",
                    c->rname ? c->rname : "?", c->ip, c->port, reason ? reason : "");
    if (c)
        conn_free(c);
}

/* ---- CONNECT (inbound) ------------------------------------------------- */

static int on_connect(gw *g, gw_conn *c, const tern_wire_op *op)
{
    json_t *o = json_loadb(op->arg, op->arg_len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        close_err(g, c, "Invalid Gateway CONNECT", "Protocol Violation");
        return 1;
    }
    const char *gwname = json_string_value(json_object_get(o, "gateway"));
    const char *user = json_string_value(json_object_get(o, "user"));
    const char *pass = json_string_value(json_object_get(o, "pass"));
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    if (!gwname || !*gwname) {
        close_err(g, c, "attempted to connect to gateway port", "Incorrect Port");
        rc = 1;
    } else if (g->conf.user && (!user || strcmp(user, g->conf.user) ||
                                strcmp(pass ? pass : "", g->conf.pass ? g->conf.pass : ""))) {
        close_err(g, c, "Authorization Violation", "Authentication Failure");
        rc = 1;
    } else {
        c->got_connect = true;
        c->user = user ? strdup(user) : NULL;
        c->pass = pass ? strdup(pass) : NULL;
    }
    pthread_mutex_unlock(&g->mu);
    json_decref(o);
    return rc;
}

/* ---- INFO ---------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static char *payload_account(json_t *o)
{
    const char *b64 = json_string_value(json_object_get(o, "gateway_cmd_payload"));
    if (!b64 || !*b64)
        return NULL;
    size_t n = strlen(b64);
    char *out = calloc(1, n + 1);
    size_t len = 0;
    if (out && sodium_base642bin((unsigned char *)out, n, b64, n, NULL, &len, NULL,
                                 sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(out);
        return NULL;
    }
    if (out)
        out[len] = '\0';
    return out;
}

/* Optimistic mode towards a remote that does not announce gateway_iom
 * (pre-2.9): everything is sent until the remote says no (RS-/A-). */
static void optimistic_all(gw *g, gw_conn *c)
{
    json_t *accs = json_object();
    g->api->account_walk(g->m, collect_account, accs);
    const char *acc;
    json_t *v;
    json_object_foreach(accs, acc, v) {
        if (json_object_get(c->modes, acc))
            continue;
        if (g->api->link_interest(g->m, c->id, acc, ">", NULL, 1) == TERN_OK)
            json_object_set_new(c->modes, acc, json_integer(GW_MODE_OPTIMISTIC));
    }
    json_decref(accs);
}

static int mode_of(const gw_conn *c, const char *account)
{
    json_t *v = json_object_get(c->modes, account);
    if (!v)
        return c->iom ? GW_MODE_INTEREST_ONLY : -1;
    return (int)json_integer_value(v);
}

static void set_transitioning(gw *g, gw_conn *c, const char *account)
{
    if (mode_of(c, account) == GW_MODE_OPTIMISTIC)
        g->api->link_interest(g->m, c->id, account, ">", NULL, 0);
    json_object_del(c->ni, account);
    json_object_del(c->noacc, account);
    json_object_set_new(c->modes, account, json_integer(GW_MODE_TRANSITIONING));
}

static void gossip_to_inbound(gw *g, gw_conn *c)
{
    tern_wire_buf b = { .b = NULL };
    pthread_mutex_lock(&g->mu);
    for (gw_remote *r = g->remotes; r; r = r->next) {
        if (r->removed || !strcmp(r->name, c->rname) || !r->nurls)
            continue;
        json_t *urls = json_array();
        for (size_t i = 0; i < r->nurls; i++) {
            char hp[320];
            gw_hostport(hp, sizeof hp, r->urls[i].host, r->urls[i].port);
            json_array_append_new(urls, json_string(hp));
        }
        char *s = cmd_info_locked(g, GW_CMD_GOSSIP, r->name, urls);
        json_decref(urls);
        if (s)
            tern_wire_buf_str(&b, s);
        free(s);
    }
    if (b.len && !b.oom)
        g->api->conn_write(g->m, c->id, b.b, b.len);
    pthread_mutex_unlock(&g->mu);
    tern_wire_buf_free(&b);
}

static char *connect_line_locked(gw *g, const gw_conn *c)
{
    const gw_url *u = NULL;
    gw_remote *r = c->rname ? gw_remote_find_locked(g, c->rname) : NULL;
    if (r)
        for (size_t i = 0; i < r->nurls; i++)
            if (r->urls[i].port == c->port && r->urls[i].user)
                u = &r->urls[i];
    json_t *o = json_object();
    json_object_set_new(o, "echo", json_false());
    json_object_set_new(o, "verbose", json_false());
    json_object_set_new(o, "pedantic", json_false());
    const char *user = u ? u->user : g->conf.user, *pass = u ? u->pass : g->conf.pass;
    if (user)
        json_object_set_new(o, "user", json_string(user));
    if (pass)
        json_object_set_new(o, "pass", json_string(pass));
    json_object_set_new(o, "tls_required", json_false());
    json_object_set_new(o, "name", json_string(g->server_id));
    json_object_set_new(o, "gateway", json_string(g->conf.name));
    char *js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!js)
        return NULL;
    size_t n = strlen(js) + 12;
    char *line = malloc(n);
    if (line)
        snprintf(line, n, "CONNECT %s\r\n", js);
    free(js);
    return line;
}

static int on_info_outbound(gw *g, gw_conn *c, json_t *o, bool first)
{
    const char *name = json_string_value(json_object_get(o, "gateway"));
    int cmd = (int)json_integer_value(json_object_get(o, "gateway_cmd"));
    json_t *urls = json_object_get(o, "gateway_urls");
    if (!name || !*name) {
        char t[400];
        snprintf(t, sizeof t, "Attempt to connect to gateway \"%s\" using wrong port",
                 c->rname ? c->rname : "");
        close_err(g, c, t, "Incorrect Port");
        return 1;
    }
    if (!c->rname || strcmp(name, c->rname)) {
        if (!first && cmd == GW_CMD_GOSSIP) {
            pthread_mutex_lock(&g->mu);
            gw_remote_learn_locked(g, name, urls);
            pthread_mutex_unlock(&g->mu);
            return 0;
        }
        g->api->log(g->m, TERN_LOG_LEVEL_ERROR,
                    "Failing connection to gateway \"%s\", remote gateway name is \"%s\"",
                    c->rname ? c->rname : "", name);
        char t[600];
        snprintf(t, sizeof t, "Connection from \"%s\" rejected, wanted to connect to \"%s\", this is \"%s\"",
                 g->conf.name, c->rname ? c->rname : "", name);
        close_err(g, c, t, "Wrong Gateway");
        return 1;
    }
    if (json_is_array(urls) && json_array_size(urls)) {
        pthread_mutex_lock(&g->mu);
        gw_remote_learn_locked(g, name, urls);
        pthread_mutex_unlock(&g->mu);
    }
    if (first) {
        pthread_mutex_lock(&g->mu);
        c->iom = json_is_true(json_object_get(o, "gateway_iom"));
        c->nrp = json_is_true(json_object_get(o, "gateway_nrp"));
        c->headers = g->headers && json_is_true(json_object_get(o, "headers"));
        free(c->remote_id);
        c->remote_id = strdup(jstr(o, "server_id"));
        free(c->remote_sname);
        c->remote_sname = strdup(jstr(o, "server_name"));
        char *connect = connect_line_locked(g, c);
        char *info = gw_info_line_locked(g);
        bool dup = false;
        for (gw_conn *x = g->conns; x; x = x->next)
            dup = dup || (x != c && x->outbound && x->state == GW_C_REGISTERED && x->rname &&
                          !strcmp(x->rname, name));
        if (!dup) {
            c->state = GW_C_REGISTERED;
            c->last_ping_ms = gw_now_ms();
            for (gw_remote *r = g->remotes; r; r = r->next)
                if (r->conn == c->id) {
                    r->registered = true;
                    r->attempts = 0;
                }
        }
        pthread_mutex_unlock(&g->mu);
        if (connect)
            write_str(g, c->id, connect);
        if (info)
            write_str(g, c->id, info);
        free(connect);
        free(info);
        if (dup) {
            g->api->conn_close(g->m, c->id, "Wrong Gateway");
            return 1;
        }
        g->api->log(g->m, TERN_LOG_LEVEL_INFO, "Outbound gateway connection to \"%s\" (%s) registered",
                    name, c->remote_id);
        if (!c->iom)
            optimistic_all(g, c);
        return 0;
    }
    if (cmd == GW_CMD_ALL_SUBS_START || cmd == GW_CMD_ALL_SUBS_COMPLETE) {
        char *acc = payload_account(o);
        if (!acc) {
            close_err(g, c,
                      cmd == GW_CMD_ALL_SUBS_START
                          ? "Account absent from receive-all-subscriptions-start command"
                          : "Account absent from receive-all-subscriptions-complete command",
                      "Protocol Violation");
            return 1;
        }
        if (cmd == GW_CMD_ALL_SUBS_START)
            set_transitioning(g, c, acc);
        else
            json_object_set_new(c->modes, acc, json_integer(GW_MODE_INTEREST_ONLY));
        free(acc);
    }
    return 0;
}

static int on_info_inbound(gw *g, gw_conn *c, json_t *o)
{
    const char *name = json_string_value(json_object_get(o, "gateway"));
    pthread_mutex_lock(&g->mu);
    if (c->rname) {
        pthread_mutex_unlock(&g->mu);
        return 0;                    /* URL updates: our outbound keeps its own list */
    }
    c->last_ping_ms = gw_now_ms();
    c->rname = strdup(name ? name : "");
    c->remote_id = strdup(jstr(o, "server_id"));
    c->remote_sname = strdup(jstr(o, "server_name"));
    /* our own outbound to the remote's cluster, if there is none yet */
    json_t *urls = json_object_get(o, "gateway_urls");
    if (name && !json_array_size(urls)) {
        json_t *one = json_array();
        const char *u = json_string_value(json_object_get(o, "gateway_url"));
        if (u)
            json_array_append_new(one, json_string(u));
        gw_remote_learn_locked(g, name, one);
        json_decref(one);
    } else if (name) {
        gw_remote_learn_locked(g, name, urls);
    }
    pthread_mutex_unlock(&g->mu);
    g->api->log(g->m, TERN_LOG_LEVEL_INFO, "Inbound gateway connection from \"%s\" (%s) registered",
                c->rname, c->remote_id);
    send_all_interest(g, c);
    gossip_to_inbound(g, c);
    return 0;
}

static int on_info(gw *g, gw_conn *c, const tern_wire_op *op)
{
    json_t *o = json_loadb(op->arg, op->arg_len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        g->api->log(g->m, TERN_LOG_LEVEL_ERROR, "gateway %s:%d: malformed INFO", c->ip, c->port);
        g->api->conn_close(g->m, c->id, "Parse Error");
        return 1;
    }
    pthread_mutex_lock(&g->mu);
    bool first = !c->got_info;
    c->got_info = true;
    pthread_mutex_unlock(&g->mu);
    int rc = c->outbound ? on_info_outbound(g, c, o, first) : on_info_inbound(g, c, o);
    json_decref(o);
    return rc;
}

/* ---- remote interest on outbound connections ------------------------- */

static void set_flag(json_t *map, const char *account, const char *subject, bool on)
{
    json_t *a = json_object_get(map, account);
    if (on) {
        if (!a) {
            a = json_object();
            json_object_set_new(map, account, a);
        }
        json_object_set_new(a, subject, json_true());
    } else if (a) {
        json_object_del(a, subject);
    }
}

static void on_interest_op(gw *g, gw_conn *c, const tern_wire_op *op)
{
    bool add = op->kind == TERN_WIRE_OP_SUB;
    atomic_store(&c->last_ns, gw_wall_ns());
    if (!op->queue && mode_of(c, op->account) == GW_MODE_OPTIMISTIC) {
        /* optimistic: RS- records a no-interest, RS+ clears it */
        set_flag(c->ni, op->account, op->subject, !add);
        return;
    }
    if (!op->queue && mode_of(c, op->account) < 0)
        return;                      /* no state for the account: nothing is sent anyway */
    tern_rc rc = g->api->link_interest(g->m, c->id, op->account, op->subject, op->queue, add ? 1 : 0);
    if (rc == TERN_ENOENT) {
        g->api->log(g->m, TERN_LOG_LEVEL_DEBUG, "gateway: unknown account \"%s\" for \"%s\"",
                    op->account, op->subject);
        return;
    }
    char key[1024];
    snprintf(key, sizeof key, "%s %s%s%s", op->account, op->subject, op->queue ? " " : "",
             op->queue ? op->queue : "");
    pthread_mutex_lock(&g->mu);
    if (add)
        json_object_set_new(c->rsubs, key, json_true());
    else
        json_object_del(c->rsubs, key);
    pthread_mutex_unlock(&g->mu);
}

/* A+ / A-: the wire op carries no arguments; they are read from the
 * control line it kept ("A-\0<account>"). */
static void on_account_op(gw *g, gw_conn *c)
{
    const char *line = c->parser.line;
    while (*line == ' ' || *line == '\t')
        line++;
    bool minus = line[1] == '-';
    const char *acc = line + strlen(line) + 1;
    while (*acc == ' ' || *acc == '\t')
        acc++;
    char name[256];
    size_t n = strcspn(acc, " \t\r\n");
    if (!n || n >= sizeof name)
        return;
    memcpy(name, acc, n);
    name[n] = '\0';
    (void)g;
    if (minus)
        json_object_set_new(c->noacc, name, json_true());
    else
        json_object_del(c->noacc, name);
}

/* ---- messages received (inbound) --------------------------------------- */

static bool has_pfx(const char *s, const char *p)
{
    return s && !strncmp(s, p, strlen(p));
}

static void on_msg_in(gw *g, gw_conn *c, const tern_wire_op *op)
{
    atomic_fetch_add(&c->in_msgs, 1);
    atomic_fetch_add(&c->in_bytes, op->len);
    atomic_store(&c->last_ns, gw_wall_ns());
    const char *subject = op->subject, *reply = op->reply;
    if (has_pfx(subject, "_GR_.") && strlen(subject) > GW_PFX_LEN) {
        /* a reply routed back to this cluster (another cluster's is
         * dropped). One for another server of this cluster (the remote's
         * outbound reached this one) follows the interest, over the
         * route: what nats-server does when it has no route to that
         * server's hash. */
        if (strncmp(subject, g->reply_pfx, 5 + GW_HASH_LEN + 1)) {
            g->api->log(g->m, TERN_LOG_LEVEL_DEBUG, "gateway: dropping routed reply \"%s\"", subject);
            return;
        }
        subject += GW_PFX_LEN;
    } else if (has_pfx(subject, "$GR.") && strlen(subject) > GW_OLD_PFX_LEN) {
        if (strncmp(subject, g->old_pfx, GW_OLD_PFX_LEN))
            return;
        subject += GW_OLD_PFX_LEN;
    }
    /* clients get the reply without the routing prefix (they may not
     * publish to _GR_.); the answer then follows the requester's interest */
    if (has_pfx(reply, "_GR_.") && strlen(reply) > GW_PFX_LEN)
        reply += GW_PFX_LEN;
    else if (has_pfx(reply, "$GR.") && strlen(reply) > GW_OLD_PFX_LEN)
        reply += GW_OLD_PFX_LEN;
    tern_rc rc = g->api->link_publish(g->m, c->id, op->account, subject, reply, op->data,
                                      op->hdr_len, op->len, op->queues, op->nqueues,
                                      TERN_LINK_PUB_QUEUES_LISTED | TERN_LINK_PUB_NO_SAME_PROTO);
    if (rc == TERN_ENOENT)
        g->api->log(g->m, TERN_LOG_LEVEL_DEBUG, "gateway: unknown account \"%s\" for \"%s\"",
                    op->account, subject);
}

/* ---- ops ----------------------------------------------------------------- */

static int on_op(void *ud, const tern_wire_op *op)
{
    gw_conn *c = ud;
    gw *g = c->g;
    if (!c->outbound && !c->got_connect && op->kind != TERN_WIRE_OP_CONNECT) {
        /* nats-server: an inbound gateway must start with CONNECT */
        close_err(g, c, "Authorization Violation", "Authentication Failure");
        return 1;
    }
    switch (op->kind) {
    case TERN_WIRE_OP_CONNECT:
        return c->outbound ? 0 : on_connect(g, c, op);
    case TERN_WIRE_OP_INFO:
        return on_info(g, c, op);
    case TERN_WIRE_OP_PING:
        write_str(g, c->id, "PONG\r\n");
        return 0;
    case TERN_WIRE_OP_PONG:
        pthread_mutex_lock(&g->mu);
        c->pings_out = 0;
        if (c->ping_sent_us) {
            c->rtt_us = (int64_t)(gw_now_us() - c->ping_sent_us);
            c->ping_sent_us = 0;
        }
        pthread_mutex_unlock(&g->mu);
        return 0;
    case TERN_WIRE_OP_OK:
        return 0;
    case TERN_WIRE_OP_ERR:
        g->api->log(g->m, TERN_LOG_LEVEL_ERROR, "gateway %s:%d: -ERR %.*s", c->ip, c->port,
                    (int)op->arg_len, op->arg);
        g->api->conn_close(g->m, c->id, "Parse Error");
        return 1;
    case TERN_WIRE_OP_ACCOUNT:
        if (c->outbound)
            on_account_op(g, c);
        return 0;
    case TERN_WIRE_OP_SUB:
    case TERN_WIRE_OP_UNSUB:
        if (!c->outbound || op->leaf) {
            close_err(g, c, "Unknown Protocol Operation", "Protocol Violation");
            return 1;
        }
        on_interest_op(g, c, op);
        return 0;
    case TERN_WIRE_OP_MSG:
        if (c->outbound || op->leaf) {
            close_err(g, c, "Unknown Protocol Operation", "Protocol Violation");
            return 1;
        }
        on_msg_in(g, c, op);
        return 0;
    }
    return 0;
}

static tern_rc on_data(tern_module *m, uint64_t conn, void *conn_ud, const void *bytes, size_t len)
{
    (void)m, (void)conn;
    gw_conn *c = conn_ud;
    if (tern_wire_parse_feed(&c->parser, bytes, len, on_op, c) < 0) {
        c->g->api->log(c->g->m, TERN_LOG_LEVEL_ERROR, "gateway %s:%d: %s", c->ip, c->port,
                       c->parser.err);
        close_err(c->g, c, "Unknown Protocol Operation", "Parse Error");
    }
    return TERN_OK;
}

/* ---- local messages → RMSG/HMSG on outbound connections ------------ */

/* Whether a (literal) subject matches a subscription pattern. */
static bool subject_matches(const char *pat, const char *subj)
{
    for (;;) {
        const char *pe = strchr(pat, '.'), *se = strchr(subj, '.');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        size_t sl = se ? (size_t)(se - subj) : strlen(subj);
        if (pl == 1 && pat[0] == '>')
            return sl > 0;
        if (!(pl == 1 && pat[0] == '*') && (pl != sl || memcmp(pat, subj, pl)))
            return false;
        if (!pe || !se)
            return !pe && !se;
        pat = pe + 1;
        subj = se + 1;
    }
}

/* nats-server maps a reply when the account subscribed to it within the
 * last 2 s: the remote may not have that interest yet, and sends the
 * answer straight back to this server instead. */
static bool map_reply(gw *g, const char *account, const char *reply)
{
    bool map = false;
    pthread_mutex_lock(&g->mu);
    json_t *a = json_object_get(g->recent, account);
    uint64_t now = gw_now_ms();
    const char *s;
    json_t *t;
    json_object_foreach(a, s, t) {
        if (now - (uint64_t)json_integer_value(t) <= GW_RECENT_SUB_MS && subject_matches(s, reply)) {
            map = true;
            break;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return map;
}

static void on_msg(tern_module *m, uint64_t conn, void *conn_ud, const tern_link_msg *msg)
{
    gw_conn *c = conn_ud;
    gw *g = c->g;
    if (!c->outbound || c->state != GW_C_REGISTERED)
        return;
    const char *const *queues = msg->queues;
    size_t nq = msg->nqueues;
    int mode = mode_of(c, msg->account);
    if (mode == GW_MODE_OPTIMISTIC) {
        /* the remote said it has no interest (A-, RS-): queue groups it
         * announced still get the message */
        json_t *ni = json_object_get(c->ni, msg->account);
        bool no = json_object_get(c->noacc, msg->account) ||
                  (ni && json_object_get(ni, msg->subject));
        if (no && !nq)
            return;
    }
    char rbuf[1024];
    const char *reply = msg->reply;
    if (reply && c->nrp && !has_pfx(reply, "_GR_.") && strlen(reply) + GW_PFX_LEN < sizeof rbuf &&
        map_reply(g, msg->account, reply)) {
        snprintf(rbuf, sizeof rbuf, "%s%s", g->reply_pfx, reply);
        reply = rbuf;
    }
    atomic_fetch_add(&c->out_msgs, 1);
    atomic_fetch_add(&c->out_bytes, msg->len);
    tern_wire_buf_reset(&c->out);
    tern_wire_frame_msg(&c->out, msg->account, msg->subject, reply, queues, nq, msg->data,
                        msg->hdr_len, msg->len, c->headers);
    if (!c->out.oom)
        g->api->conn_write(m, conn, c->out.b, c->out.len);
    if (c->out.cap > 1024 * 1024)
        tern_wire_buf_free(&c->out);
}

/* nats-server sends only its clients' and leaf nodes' messages to other
 * clusters: one that crossed a route was already sent by the server it
 * was published on. */
static const char *const gw_no_msgs_from[] = { "route", NULL };

const tern_proto gw_proto = {
    .size = sizeof(tern_proto),
    .name = "gateway",
    .flags = TERN_PROTO_LINK,
    .open = on_open,
    .data = on_data,
    .closed = on_closed,
    .msg = on_msg,
    .no_msgs_from = gw_no_msgs_from,
    /* geo queue groups: another cluster's member only when this one has none */
    .queue_rank = 1,
};
