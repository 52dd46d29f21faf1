/* The host API table handed to modules (sdk/include/tern/module.h): the
 * one place where module calls turn into kernel calls. Slots are only
 * ever appended (tests/data/module_api.golden). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "client_info.h"
#include "conf.h"
#include "interest.h"
#include "link.h"
#include "modconn.h"
#include "jwt.h"
#include "log.h"
#include "module_docs.h"
#include "module_fd.h"
#include "account_apply.h"
#include "module_int.h"
#include "nkeys.h"
#include "route.h"
#include "sublist.h"
#include "server.h"
#include "worker.h"
#include "xalloc.h"

/* ---- logging and errors ------------------------------------------------ */

static void api_log(tern_module *m, int level, const char *fmt, ...)
{
    static const tern_log_level map[] = { TERN_LOG_ERROR, TERN_LOG_WARN, TERN_LOG_INFO,
                                          TERN_LOG_DEBUG };
    tern_log_level lvl = level >= 0 && level <= 3 ? map[level] : TERN_LOG_INFO;
    if (!tern_log_enabled(lvl))
        return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    tern_log(lvl, "[%s] %s", m ? m->name : "module", text);
}

static void set_error_v(tern_module *m, const char *fmt, va_list ap)
{
    if (!m)
        return;
    /* Formatted aside first: an argument may be the current text
     * (set_error(m, "listen %s: %s", addr, api->error(m))). */
    char text[sizeof m->err];
    vsnprintf(text, sizeof text, fmt, ap);
    pthread_mutex_lock(&m->err_mu);
    memcpy(m->err, text, sizeof text);
    pthread_mutex_unlock(&m->err_mu);
}

void tern_mod_clear_error(tern_module *m)
{
    pthread_mutex_lock(&m->err_mu);
    m->err[0] = 0;
    pthread_mutex_unlock(&m->err_mu);
}

const char *tern_mod_error_text(tern_module *m, char *buf, size_t n)
{
    pthread_mutex_lock(&m->err_mu);
    snprintf(buf, n, "%s", m->err[0] ? m->err : "(no reason given)");
    pthread_mutex_unlock(&m->err_mu);
    return buf;
}

void tern_mod_set_error(tern_module *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error_v(m, fmt, ap);
    va_end(ap);
}

static void api_set_error(tern_module *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error_v(m, fmt, ap);
    va_end(ap);
}

static const char *api_error(tern_module *m)
{
    return m ? m->err : "";
}

/* ---- memory --------------------------------------------------------------- */

static void *api_alloc(size_t n)
{
    return malloc(n ? n : 1);
}

static void api_free(void *p)
{
    free(p);
}

static char *api_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- configuration --------------------------------------------------------- */

static const tern_conf_node *node(const tern_config *c)
{
    return (const tern_conf_node *)c;
}

static const tern_config *api_conf_get(const tern_config *map, const char *key)
{
    return (const tern_config *)tern_conf_get(node(map), key);
}

static int api_conf_type(const tern_config *c)
{
    return c ? (int)node(c)->type : 0;
}

static size_t api_conf_len(const tern_config *c)
{
    const tern_conf_node *n = node(c);
    return n && (n->type == TERN_CONF_MAP || n->type == TERN_CONF_LIST) ? n->n : 0;
}

static const tern_config *api_conf_at(const tern_config *c, size_t i)
{
    const tern_conf_node *n = node(c);
    if (!n || i >= api_conf_len(c))
        return NULL;
    return (const tern_config *)(n->type == TERN_CONF_MAP ? n->pairs[i].value : n->items[i]);
}

static const char *api_conf_key_at(const tern_config *c, size_t i)
{
    const tern_conf_node *n = node(c);
    return n && n->type == TERN_CONF_MAP && i < n->n ? n->pairs[i].key->value : NULL;
}

/* Run a kernel typed read; its "file:line:column: reason" becomes the
 * module's error. */
#define CONF_READ(m, c, call)                                                  \
    do {                                                                       \
        if (!(c))                                                              \
            return TERN_ENOENT;                                                \
        char err_[TERN_CONF_ERR_MAX];                                          \
        if ((call) != 0) {                                                     \
            tern_mod_set_error((m), "%s", err_);                               \
            return TERN_EINVAL;                                                \
        }                                                                      \
        return TERN_OK;                                                        \
    } while (0)

static tern_rc api_conf_str(tern_module *m, const tern_config *c, const char **out)
{
    if (!c)
        return TERN_ENOENT;
    const tern_conf_node *n = node(c);
    if (n->type != TERN_CONF_SCALAR) {
        pthread_mutex_lock(&m->err_mu);
        tern_conf_error(n, m->err, sizeof m->err, "expected a string");
        pthread_mutex_unlock(&m->err_mu);
        return TERN_EINVAL;
    }
    *out = n->value;
    return TERN_OK;
}

static tern_rc api_conf_bool(tern_module *m, const tern_config *c, bool *out)
{
    CONF_READ(m, c, tern_conf_bool(node(c), out, err_, sizeof err_));
}

static tern_rc api_conf_int(tern_module *m, const tern_config *c, int64_t *out)
{
    CONF_READ(m, c, tern_conf_int(node(c), out, err_, sizeof err_));
}

static tern_rc api_conf_size(tern_module *m, const tern_config *c, int64_t *out)
{
    CONF_READ(m, c, tern_conf_size(node(c), out, err_, sizeof err_));
}

static tern_rc api_conf_duration_ms(tern_module *m, const tern_config *c, int64_t *out)
{
    CONF_READ(m, c, tern_conf_duration_ms(node(c), out, err_, sizeof err_));
}

static tern_rc api_conf_path(tern_module *m, const tern_config *c, char **out)
{
    CONF_READ(m, c, tern_conf_path(node(c), out, err_, sizeof err_));
}

static tern_rc api_conf_check_keys(tern_module *m, const tern_config *c,
                                   const char *const *allowed)
{
    const tern_conf_node *n = node(c);
    if (!n || n->type == TERN_CONF_NULL)
        return TERN_OK;
    if (n->type != TERN_CONF_MAP) {
        pthread_mutex_lock(&m->err_mu);
        tern_conf_error(n, m->err, sizeof m->err, "expected a mapping");
        pthread_mutex_unlock(&m->err_mu);
        return TERN_EINVAL;
    }
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->pairs[i].key->value;
        bool ok = tern_mod_is_loader_key(k);
        for (size_t j = 0; allowed && allowed[j] && !ok; j++)
            ok = !strcmp(allowed[j], k);
        if (!ok) {
            pthread_mutex_lock(&m->err_mu);
            tern_conf_error(n->pairs[i].key, m->err, sizeof m->err, "unknown key '%s'", k);
            pthread_mutex_unlock(&m->err_mu);
            return TERN_EINVAL;
        }
    }
    return TERN_OK;
}

static tern_rc api_conf_error(tern_module *m, const tern_config *c, const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&m->err_mu);
    if (c)
        tern_conf_error(node(c), m->err, sizeof m->err, "%s", text);
    else
        snprintf(m->err, sizeof m->err, "%s", text);
    pthread_mutex_unlock(&m->err_mu);
    return TERN_EINVAL;
}

/* ---- timers ------------------------------------------------------------------ */

struct tern_mod_timer {
    uv_timer_t      h;
    tern_mod_timer *next;
    tern_module    *m;
    uint64_t        id;
    tern_timer_fn   fn;
    void           *ud;
    bool            once;
};

static uint64_t next_timer_id;

static void timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void timer_unlink(tern_mod_timer *t)
{
    for (tern_mod_timer **pp = &t->m->timers; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    uv_close((uv_handle_t *)&t->h, timer_closed);
}

static void on_timer(uv_timer_t *h)
{
    tern_mod_timer *t = h->data;
    t->fn(t->m, t->id, t->ud);
    /* fn may have stopped it; a one-shot timer is done either way. */
    if (t->once && !uv_is_closing((uv_handle_t *)h))
        timer_unlink(t);
}

static tern_rc api_timer_start(tern_module *m, uint64_t first_ms, uint64_t repeat_ms,
                               tern_timer_fn fn, void *ud, uint64_t *id)
{
    if (!m || !fn || !tern_mod_srv)
        return TERN_EINVAL;
    tern_mod_timer *t = tern_xcalloc(1, sizeof *t);
    *t = (tern_mod_timer){ .m = m, .id = ++next_timer_id, .fn = fn, .ud = ud,
                           .once = repeat_ms == 0, .next = m->timers };
    uv_timer_init(&tern_mod_srv->loop, &t->h);
    t->h.data = t;
    uv_unref((uv_handle_t *)&t->h);   /* a module's timer never keeps the server up */
    uv_timer_start(&t->h, on_timer, first_ms, repeat_ms);
    m->timers = t;
    if (id)
        *id = t->id;
    return TERN_OK;
}

static tern_rc api_timer_stop(tern_module *m, uint64_t id)
{
    for (tern_mod_timer *t = m ? m->timers : NULL; t; t = t->next)
        if (t->id == id) {
            timer_unlink(t);
            return TERN_OK;
        }
    return TERN_ENOENT;
}

/* ---- routing ------------------------------------------------------------------ */

struct tern_mod_sub {
    tern_mod_sub *next;
    tern_module  *m;
    uint64_t      id;
    tern_isub    *isub;      /* NULL while the generation is staged */
    tern_msg_fn   fn;
    void         *ud;
    tern_account *acc;       /* staged: what to subscribe at commit */
    char         *subject, *queue;
};

static uint64_t next_sub_id;

static tern_account *find_account(const char *name)
{
    if (!tern_mod_srv)
        return NULL;
    if (!name || !*name)
        return tern_mod_srv->gacc;
    return tern_accounts_find(&tern_mod_srv->accounts, name);
}

static bool api_account_exists(tern_module *m, const char *name)
{
    (void)m;
    return name && find_account(name) != NULL;
}

typedef struct pub_task {
    tern_account *acc;
    size_t        slen, rlen, len;
    char          mem[];   /* subject\0 reply\0 data */
} pub_task;

static void publish_now(tern_worker *w, tern_account *acc, const char *subject, const char *reply,
                        const void *data, size_t len)
{
    tern_pub_args a;
    char txt[48];
    tern_route_args(&a, txt, subject, reply, data, 0, len);
    tern_route_publish(w, acc, NULL, &a);
}

static void publish_task(tern_worker *w, void *arg)
{
    pub_task *t = arg;
    const char *subject = t->mem, *reply = t->mem + t->slen + 1;
    publish_now(w, t->acc, subject, t->rlen ? reply : NULL, reply + t->rlen + 1, t->len);
    free(t);
}

static tern_rc api_publish(tern_module *m, const char *account, const char *subject,
                           const char *reply, const void *data, size_t len)
{
    (void)m;
    tern_account *acc = find_account(account);
    if (!acc)
        return TERN_ENOENT;
    if (!subject || !*subject || (len && !data))
        return TERN_EINVAL;
    tern_worker *w = tern_worker_current();
    if (w && w->srv == tern_mod_srv) {
        publish_now(w, acc, subject, reply, data, len);
        return TERN_OK;
    }
    /* Off the workers: one worker routes it, so a module's messages keep
     * their order. */
    size_t slen = strlen(subject), rlen = reply ? strlen(reply) : 0;
    pub_task *t = tern_xmalloc(sizeof *t + slen + rlen + len + 2);
    t->acc = acc;
    t->slen = slen, t->rlen = rlen, t->len = len;
    memcpy(t->mem, subject, slen + 1);
    memcpy(t->mem + slen + 1, reply ? reply : "", rlen + 1);
    if (len)
        memcpy(t->mem + slen + rlen + 2, data, len);
    tern_worker_post(&tern_mod_srv->workers[0], publish_task, t);
    return TERN_OK;
}

static size_t on_isub_msg(tern_worker *w, tern_isub *sub, tern_client *from,
                          const tern_pub_args *a)
{
    (void)w, (void)from;
    tern_mod_sub *s = sub->arg;
    char small[256];
    const char *reply;
    char *buf = tern_route_cstrs(a, small, sizeof small, &reply);
    s->fn(s->m, buf, reply, a->data + a->hdr_len, a->size - a->hdr_len, s->ud);
    if (buf != small)
        free(buf);
    return 1;
}

static tern_rc api_sub_add(tern_module *m, const char *account, const char *subject,
                           const char *queue, tern_msg_fn fn, void *ud, uint64_t *id)
{
    tern_account *acc = find_account(account);
    if (!acc)
        return TERN_ENOENT;
    if (!m || !fn || !subject)
        return TERN_EINVAL;
    if (!tern_subject_valid(subject, strlen(subject), true) ||
        (queue && !tern_subject_valid(queue, strlen(queue), false))) {
        tern_mod_set_error(m, "invalid subject '%s'", subject);
        return TERN_EINVAL;
    }
    tern_mod_sub *s = tern_xcalloc(1, sizeof *s);
    *s = (tern_mod_sub){ .m = m, .id = ++next_sub_id, .fn = fn, .ud = ud, .acc = acc };
    if (m->staged) {
        /* A swap's new generation hears nothing before it takes over. */
        s->subject = tern_xstrdup(subject);
        s->queue = queue ? tern_xstrdup(queue) : NULL;
    } else if (!(s->isub = tern_isub_add(acc, subject, queue, on_isub_msg, s))) {
        free(s);
        tern_mod_set_error(m, "invalid subject '%s'", subject);
        return TERN_EINVAL;
    }
    s->next = m->subs;
    m->subs = s;
    if (id)
        *id = s->id;
    return TERN_OK;
}

/* The tern_mod_sub is the isub's argument: it must outlive any callback
 * still running, so it is freed with the generation, after the barrier. */
static tern_mod_sub *g_dead_subs;

static tern_rc api_sub_remove(tern_module *m, uint64_t id)
{
    for (tern_mod_sub **pp = m ? &m->subs : NULL; pp && *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            tern_mod_sub *s = *pp;
            *pp = s->next;
            if (s->isub)
                tern_isub_remove(tern_mod_srv, s->isub);
            s->next = g_dead_subs;   /* callbacks may still hold it */
            g_dead_subs = s;
            return TERN_OK;
        }
    return TERN_ENOENT;
}

void tern_mod_activate_subs(tern_module *m)
{
    for (tern_mod_sub *s = m->subs; s; s = s->next) {
        if (s->isub)
            continue;
        /* Checked when asked for: cannot fail now. */
        s->isub = tern_isub_add(s->acc, s->subject, s->queue, on_isub_msg, s);
        free(s->subject);
        free(s->queue);
        s->subject = s->queue = NULL;
    }
}

void tern_mod_unsubscribe_all(tern_module *m)
{
    while (m->subs)
        api_sub_remove(m, m->subs->id);
}

void tern_mod_release_resources(tern_module *m)
{
    tern_mod_unsubscribe_all(m);
    while (m->timers)
        timer_unlink(m->timers);
    tern_mod_fd_release(m);
}

void tern_mod_free_dead_subs(void)
{
    while (g_dead_subs) {
        tern_mod_sub *s = g_dead_subs;
        g_dead_subs = s->next;
        free(s->subject);
        free(s->queue);
        free(s);
    }
}

/* ---- nkeys and facts ----------------------------------------------------- */

static bool api_nkey_valid_public(const char *text, char kind)
{
    if (!text)
        return false;
    if (kind == 0) {
        uint8_t prefix, key[32];
        return tern_nkey_decode_public(text, &prefix, key) == 0 &&
               tern_nkey_is_public_prefix(prefix);
    }
    if (kind < 'A' || kind > 'Z')
        return false;
    return tern_nkey_is_valid_public(text, (uint8_t)((kind - 'A') << 3));
}

static bool api_nkey_verify(const char *pub, const void *msg, size_t len, const void *sig,
                            size_t sig_len)
{
    return pub && sig && tern_nkey_verify(pub, msg, len, sig, sig_len);
}

/* ---- JWT and closing clients (1.1) ----------------------------------------- */

static tern_rc api_jwt_decode(tern_module *m, const char *jwt, char **claims)
{
    if (!jwt || !claims)
        return TERN_EINVAL;
    *claims = NULL;
    tern_jwt j;
    char err[256];
    if (tern_jwt_decode(jwt, strlen(jwt), &j, err, sizeof err) < 0) {
        tern_mod_set_error(m, "%s", err);
        return TERN_EINVAL;
    }
    *claims = json_dumps(j.claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    tern_jwt_clear(&j);
    return *claims ? TERN_OK : TERN_ENOMEM;
}

typedef struct close_req {
    uint64_t cid;
    char    *reason;
} close_req;

/* Each worker looks for the connection among its own: only the owner
 * may touch it. */
static void close_task(tern_worker *w, void *arg)
{
    close_req *r = arg;
    for (tern_client *c = w->clients; c; c = c->next)
        if (c->cid == r->cid && !tern_client_has(c, TERN_CF_CLOSING)) {
            tern_noticef("%s:%d - cid:%llu - closed by a module: %s", c->ip, c->port,
                         (unsigned long long)c->cid, r->reason);
            tern_client_send_err(c, r->reason);
            tern_client_close(c, TERN_CLOSE_AUTH_VIOLATION);
            break;
        }
    free(r->reason);
    free(r);
}

static tern_rc api_client_close(tern_module *m, uint64_t cid, const char *reason)
{
    (void)m;
    tern_server *s = tern_mod_srv;
    if (!s || cid == 0 || cid > atomic_load(&s->next_cid))
        return TERN_ESTALE;
    for (int i = 0; i < s->nworkers; i++) {
        close_req *r = tern_xcalloc(1, sizeof *r);
        r->cid = cid;
        r->reason = tern_xstrdup(reason && *reason ? reason : "Authorization Violation");
        tern_worker_post(&s->workers[i], close_task, r);
    }
    return TERN_OK;
}

static const char *api_server_id(tern_module *m)
{
    (void)m;
    return tern_mod_srv ? tern_mod_srv->server_id : "";
}

/* ---- the table -------------------------------------------------------------- */

static const tern_host_api api = {
    .size = sizeof(tern_host_api),
    .abi_major = TERN_ABI_MAJOR,
    .abi_minor = TERN_ABI_MINOR,
    .log = api_log,
    .set_error = api_set_error,
    .error = api_error,
    .alloc = api_alloc,
    .free = api_free,
    .strdup = api_strdup,
    .hook_register = tern_mod_hook_add,
    .auth_complete = tern_mod_auth_complete,
    .conf_get = api_conf_get,
    .conf_type = api_conf_type,
    .conf_len = api_conf_len,
    .conf_at = api_conf_at,
    .conf_key_at = api_conf_key_at,
    .conf_str = api_conf_str,
    .conf_bool = api_conf_bool,
    .conf_int = api_conf_int,
    .conf_size = api_conf_size,
    .conf_duration_ms = api_conf_duration_ms,
    .conf_path = api_conf_path,
    .conf_check_keys = api_conf_check_keys,
    .conf_error = api_conf_error,
    .timer_start = api_timer_start,
    .timer_stop = api_timer_stop,
    .publish = api_publish,
    .sub_add = api_sub_add,
    .sub_remove = api_sub_remove,
    .account_exists = api_account_exists,
    .nkey_valid_public = api_nkey_valid_public,
    .nkey_verify = api_nkey_verify,
    .server_id = api_server_id,
    .client_close = api_client_close,
    .auth_complete_ex = tern_mod_auth_complete_ex,
    .jwt_decode = api_jwt_decode,
    .document = tern_mod_document,
    .account_apply = tern_mod_account_apply,
    .proto_register = tern_modconn_proto_register,
    .listen = tern_modconn_listen,
    .unlisten = tern_modconn_unlisten,
    .dial = tern_modconn_dial,
    .conn_write = tern_modconn_write,
    .conn_starttls = tern_modconn_starttls,
    .conn_close = tern_modconn_close,
    .link_interest = tern_link_interest,
    .link_publish = tern_link_publish,
    .interest_walk = tern_interest_walk,
    .account_walk = tern_account_walk,
    .client_info_set = tern_client_info_set,
    .fd_watch = tern_mod_fd_watch,
    .fd_unwatch = tern_mod_fd_unwatch,
    .interest_walk_source = tern_interest_walk_source,
    .link_group = tern_modconn_link_group,
};

const tern_host_api *tern_module_host_api(void)
{
    return &api;
}
