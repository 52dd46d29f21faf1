/* Authentication configuration and decision (auth.h), following
 * nats-server 2.9.10's processClientOrLeafAuthentication for clients of a
 * single account: nkey users (when the CONNECT names an nkey), then users
 * with no_auth_user, then the token. */
#include "auth.h"

#include <crypt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "account.h"
#include "cidmap.h"
#include "nkeys.h"
#include "perms.h"
#include "xalloc.h"

#define NONCE_RAW_LEN 11

/* ---- configuration ---------------------------------------------------- */

tern_auth *tern_auth_new(void)
{
    tern_auth *a = tern_xcalloc(1, sizeof *a);
    a->refs = 1;
    return a;
}

tern_auth *tern_auth_ref(tern_auth *a)
{
    if (a)
        __atomic_fetch_add(&a->refs, 1, __ATOMIC_RELAXED);
    return a;
}

void tern_auth_unref(tern_auth *a)
{
    if (!a || __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (size_t i = 0; i < a->nusers; i++) {
        free(a->users[i].name);
        if (a->users[i].password)
            sodium_memzero(a->users[i].password, strlen(a->users[i].password));
        free(a->users[i].password);
        tern_perms_free(a->users[i].perms);
    }
    free(a->users);
    for (size_t i = 0; i < a->nnkeys; i++) {
        free(a->nkeys[i]);
        tern_perms_free(a->nkey_users[i].perms);
    }
    free(a->nkeys);
    free(a->nkey_users);
    tern_accounts_conf_unref(a->accounts);
    if (a->token)
        sodium_memzero(a->token, strlen(a->token));
    free(a->token);
    free(a->no_auth_user);
    free(a);
}

void tern_auth_add_account_user(tern_auth *a, const char *name, const char *password, int account,
                                struct tern_perms *perms)
{
    a->users = tern_xrealloc(a->users, (a->nusers + 1) * sizeof *a->users);
    a->users[a->nusers].name = tern_xstrdup(name);
    a->users[a->nusers].password = tern_xstrdup(password ? password : "");
    a->users[a->nusers].account = account;
    a->users[a->nusers].perms = perms;
    a->nusers++;
}

void tern_auth_add_user(tern_auth *a, const char *name, const char *password)
{
    tern_auth_add_account_user(a, name, password, 0, NULL);
}

void tern_auth_add_account_nkey(tern_auth *a, const char *nkey, int account,
                                struct tern_perms *perms)
{
    a->nkeys = tern_xrealloc(a->nkeys, (a->nnkeys + 1) * sizeof *a->nkeys);
    a->nkey_users = tern_xrealloc(a->nkey_users, (a->nnkeys + 1) * sizeof *a->nkey_users);
    a->nkeys[a->nnkeys] = tern_xstrdup(nkey);
    a->nkey_users[a->nnkeys] = (tern_auth_user){a->nkeys[a->nnkeys], NULL, account, perms};
    a->nnkeys++;
}

void tern_auth_add_nkey(tern_auth *a, const char *nkey)
{
    tern_auth_add_account_nkey(a, nkey, 0, NULL);
}

static const tern_auth_user *find_user(const tern_auth *a, const char *name)
{
    for (size_t i = 0; i < a->nusers; i++)
        if (!strcmp(a->users[i].name, name))
            return &a->users[i];
    return NULL;
}

bool tern_auth_has_user(const tern_auth *a, const char *name)
{
    return find_user(a, name) != NULL;
}

const tern_auth_user *tern_auth_find(const tern_auth *a, const char *name)
{
    if (!a)
        return NULL;
    for (size_t i = 0; i < a->nnkeys; i++)
        if (!strcmp(a->nkeys[i], name))
            return &a->nkey_users[i];
    return find_user(a, name);
}

bool tern_auth_has_name(const tern_auth *a, const char *name)
{
    return tern_auth_find(a, name) != NULL;
}

bool tern_auth_required(const tern_auth *a)
{
    return a && (a->nusers || a->nnkeys || a->token);
}

bool tern_auth_info_required(const tern_auth *a)
{
    return tern_auth_required(a) && !a->no_auth_user;
}

bool tern_auth_nonce_required(const tern_auth *a)
{
    return a && a->nnkeys > 0;
}

void tern_auth_new_nonce(char out[TERN_AUTH_NONCE_LEN + 1])
{
    unsigned char raw[NONCE_RAW_LEN];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, TERN_AUTH_NONCE_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* ---- credentials -------------------------------------------------------- */

static void set_secret(char **slot, const char *v)
{
    if (*slot)
        sodium_memzero(*slot, strlen(*slot));
    free(*slot);
    *slot = tern_xstrdup(v);
}

void tern_auth_creds_merge(tern_auth_creds *c, const json_t *connect)
{
    if (!json_is_object(connect))
        return;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)connect, key, v) {
        if (!json_is_string(v))
            continue;
        char **slot = !strcasecmp(key, "user") ? &c->user
                    : !strcasecmp(key, "pass") ? &c->pass
                    : !strcasecmp(key, "auth_token") ? &c->token
                    : !strcasecmp(key, "nkey") ? &c->nkey
                    : !strcasecmp(key, "sig") ? &c->sig
                    : !strcasecmp(key, "jwt") ? &c->jwt : NULL;
        if (slot)
            set_secret(slot, json_string_value(v));
    }
}

void tern_auth_creds_free(tern_auth_creds *c)
{
    set_secret(&c->user, NULL);
    set_secret(&c->pass, NULL);
    set_secret(&c->token, NULL);
    set_secret(&c->nkey, NULL);
    set_secret(&c->sig, NULL);
    set_secret(&c->jwt, NULL);
}

/* ---- comparisons ------------------------------------------------------- */

bool tern_auth_is_bcrypt(const char *s)
{
    return s && s[0] == '$' && s[1] == '2' && s[2] && strchr("abxy", s[2]) && s[3] == '$' &&
           s[4] >= '0' && s[4] <= '9' && s[5] >= '0' && s[5] <= '9' && s[6] == '$';
}

bool tern_auth_plain_equal(const char *a, const char *b)
{
    /* Comparing fixed-size digests hides where, and whether in length,
     * the texts differ. */
    unsigned char da[crypto_generichash_BYTES], db[crypto_generichash_BYTES];
    crypto_generichash(da, sizeof da, (const unsigned char *)a, strlen(a), NULL, 0);
    crypto_generichash(db, sizeof db, (const unsigned char *)b, strlen(b), NULL, 0);
    return sodium_memcmp(da, db, sizeof da) == 0;
}

bool tern_auth_bcrypt_matches(const char *hash, const char *secret)
{
    struct crypt_data *cd = tern_xcalloc(1, sizeof *cd);
    const char *out = crypt_r(secret, hash, cd);
    bool ok = out && out[0] != '*' && strlen(out) == strlen(hash) &&
              sodium_memcmp(out, hash, strlen(hash)) == 0;
    sodium_memzero(cd, sizeof *cd);
    free(cd);
    return ok;
}

static bool empty(const char *s)
{
    return !s || !*s;
}

/* nats-server's comparePasswords, with the bcrypt case deferred. */
static tern_auth_result compare(const char *server, const char *client, tern_auth_slow *slow)
{
    if (!client)
        client = "";
    if (tern_auth_is_bcrypt(server)) {
        slow->hash = tern_xstrdup(server);
        slow->secret = tern_xstrdup(client);
        return TERN_AUTH_SLOW;
    }
    return tern_auth_plain_equal(server, client) ? TERN_AUTH_OK : TERN_AUTH_DENIED;
}

/* base64url without padding, or standard base64 as a fallback. */
static bool decode_sig(const char *text, unsigned char *out, size_t cap, size_t *len)
{
    static const int variants[] = {sodium_base64_VARIANT_URLSAFE_NO_PADDING,
                                   sodium_base64_VARIANT_ORIGINAL};
    size_t n = strlen(text);
    for (size_t i = 0; i < 2; i++) {
        const char *end = NULL;
        if (sodium_base642bin(out, cap, text, n, NULL, len, &end, variants[i]) == 0 &&
            end == text + n)
            return true;
    }
    return false;
}

static tern_auth_result check_nkey(const tern_auth *a, const tern_auth_creds *c, const char *nonce,
                                   const tern_auth_user **user)
{
    bool known = false;
    for (size_t i = 0; i < a->nnkeys && !known; i++) {
        known = !strcmp(a->nkeys[i], c->nkey);
        if (known)
            *user = &a->nkey_users[i];
    }
    if (!known || empty(c->sig) || !nonce)
        return TERN_AUTH_DENIED;
    unsigned char sig[2 * TERN_NKEY_SIG_LEN];
    size_t len = 0;
    if (!decode_sig(c->sig, sig, sizeof sig, &len))
        return TERN_AUTH_DENIED;
    return tern_nkey_verify(c->nkey, nonce, strlen(nonce), sig, len) ? TERN_AUTH_OK
                                                                      : TERN_AUTH_DENIED;
}

tern_auth_result tern_auth_check(const tern_auth *a, tern_auth_creds *creds, const char *nonce,
                                 tern_auth_slow *slow)
{
    const tern_auth_user *user;
    return tern_auth_decide(a, creds, nonce, slow, &user);
}

tern_auth_result tern_auth_decide(const tern_auth *a, tern_auth_creds *creds, const char *nonce,
                                  tern_auth_slow *slow, const tern_auth_user **matched)
{
    slow->hash = slow->secret = NULL;
    *matched = NULL;
    if (!tern_auth_required(a))
        return TERN_AUTH_OK;
    const tern_auth_user *user = NULL;
    if (a->nnkeys && !empty(creds->nkey))
        return check_nkey(a, creds, nonce, matched);
    if (a->nusers) {
        if (a->no_auth_user && empty(creds->user) && empty(creds->pass) && empty(creds->token)) {
            /* As nats-server: the no-auth user's own password is then
             * compared with itself (so a bcrypt one never matches). */
            const tern_auth_user *u = find_user(a, a->no_auth_user);
            if (u) {
                set_secret(&creds->user, u->name);
                set_secret(&creds->pass, u->password);
            }
        }
        if (!empty(creds->user)) {
            user = find_user(a, creds->user);
            if (!user)
                return TERN_AUTH_DENIED;
        }
    }
    if (user) {
        *matched = user;
        return compare(user->password, creds->pass, slow);
    }
    if (a->token)
        return compare(a->token, creds->token, slow);
    return TERN_AUTH_DENIED;
}

/* ---- off-loop bcrypt ---------------------------------------------------- */

/* Decisions in flight: cid → owner. Completions and departures of a
 * connection both run on its worker, so the owner cannot vanish between
 * the lookup and the call; the lock only guards the map, which every
 * worker shares. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static tern_cidmap pending;

typedef struct slow_job {
    uv_work_t         req;
    uint64_t          cid;
    tern_auth_slow    slow;
    tern_auth_done_fn done;
    bool              ok;
} slow_job;

void tern_auth_slow_free(tern_auth_slow *slow)
{
    set_secret(&slow->hash, NULL);
    set_secret(&slow->secret, NULL);
}

/* Hashing yields to the message path: the pool thread drops to a lower
 * priority (Linux: per thread) before its first comparison. */
static void lower_thread_priority(void)
{
    static _Thread_local bool lowered;
    if (!lowered) {
        lowered = true;
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    }
}

static void slow_work(uv_work_t *req)
{
    slow_job *j = req->data;
    lower_thread_priority();
    j->ok = tern_auth_bcrypt_matches(j->slow.hash, j->slow.secret);
}

static void slow_after(uv_work_t *req, int status)
{
    slow_job *j = req->data;
    pthread_mutex_lock(&pending_lock);
    void *owner = tern_cidmap_take(&pending, j->cid);
    if (pending.n == 0)
        tern_cidmap_free(&pending);
    pthread_mutex_unlock(&pending_lock);
    if (owner)
        j->done(owner, status == 0 && j->ok);
    tern_auth_slow_free(&j->slow);
    free(j);
}

int tern_auth_slow_start(uv_loop_t *loop, uint64_t cid, void *owner, tern_auth_slow *slow,
                         tern_auth_done_fn done)
{
    slow_job *j = tern_xcalloc(1, sizeof *j);
    j->req.data = j;
    j->cid = cid;
    j->slow = *slow;
    j->done = done;
    slow->hash = slow->secret = NULL;
    pthread_mutex_lock(&pending_lock);
    tern_cidmap_put(&pending, cid, owner);
    pthread_mutex_unlock(&pending_lock);
    if (uv_queue_work(loop, &j->req, slow_work, slow_after) != 0) {
        tern_auth_forget(cid);
        tern_auth_slow_free(&j->slow);
        free(j);
        return -1;
    }
    return 0;
}

void tern_auth_forget(uint64_t cid)
{
    pthread_mutex_lock(&pending_lock);
    tern_cidmap_take(&pending, cid);
    if (pending.n == 0)
        tern_cidmap_free(&pending);
    pthread_mutex_unlock(&pending_lock);
}
