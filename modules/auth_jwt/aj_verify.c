/* The checks of a user JWT on connect, as nats-server's auth.go makes
 * them: claim type, validity window, connection type, nonce signature
 * (or bearer), source network and time windows; then against its
 * account: trusted issuer, user issuer (account or signing key),
 * revocation, bearer policy, and the permissions that apply. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aj.h"

int64_t aj_now_s(void)
{
    return (int64_t)time(NULL);
}

int64_t aj_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* base64, URL-safe or standard alphabet, padding optional. */
size_t aj_b64_decode(const char *in, unsigned char *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        int v;
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-' || c == '+')
            v = 62;
        else if (c == '_' || c == '/')
            v = 63;
        else
            return 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return 0;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

/* NATS subject matching: pattern may hold * and >. */
bool aj_subject_matches(const char *pattern, const char *subject)
{
    const char *p = pattern, *s = subject;
    for (;;) {
        const char *pe = strchr(p, '.'), *se = strchr(s, '.');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl == 1 && *p == '>')
            return true;
        if (!(pl == 1 && *p == '*') && (pl != sl || strncmp(p, s, pl) != 0))
            return false;
        if (!pe || !se)
            return !pe && !se;
        p = pe + 1;
        s = se + 1;
    }
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool known_conn_type(const char *t)
{
    static const char *const known[] = { "STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS",
                                         "MQTT", "MQTT_WS", "IN_PROCESS", NULL };
    for (int i = 0; known[i]; i++)
        if (!strcmp(known[i], t))
            return true;
    return false;
}

/* Clients of Tern's client port are STANDARD connections. */
static bool conn_type_ok(json_t *types)
{
    if (!json_array_size(types))
        return true;
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t)
        if (json_is_string(t) && !strcmp(json_string_value(t), "STANDARD"))
            return true;
    return false;   /* none known, or STANDARD not among them */
}

static bool cidr_match(const char *cidr, const char *ip)
{
    char net[64];
    snprintf(net, sizeof net, "%s", cidr);
    char *slash = strchr(net, '/');
    int bitsn = -1;
    if (slash) {
        *slash = 0;
        bitsn = atoi(slash + 1);
    }
    unsigned char a[16], b[16];
    int len;
    if (inet_pton(AF_INET, net, a) == 1 && inet_pton(AF_INET, ip, b) == 1)
        len = 4;
    else if (inet_pton(AF_INET6, net, a) == 1 && inet_pton(AF_INET6, ip, b) == 1)
        len = 16;
    else
        return false;
    if (bitsn < 0 || bitsn > len * 8)
        bitsn = len * 8;
    for (int i = 0; i < len && bitsn > 0; i++, bitsn -= 8) {
        unsigned char mask = bitsn >= 8 ? 0xff : (unsigned char)(0xff << (8 - bitsn));
        if ((a[i] & mask) != (b[i] & mask))
            return false;
    }
    return true;
}

/* nats.src: a list of CIDRs (or one comma-separated string). */
static bool src_ok(json_t *src, const char *ip)
{
    char *list = NULL;
    if (json_is_string(src)) {
        list = strdup(json_string_value(src));
    } else if (json_array_size(src)) {
        size_t n = 1, i;
        json_t *v;
        json_array_foreach(src, i, v) n += strlen(json_string_value(v) ? json_string_value(v) : "") + 1;
        list = calloc(1, n);
        json_array_foreach(src, i, v) {
            if (json_string_value(v)) {
                strcat(list, json_string_value(v));
                strcat(list, ",");
            }
        }
    }
    if (!list || !*list) {
        free(list);
        return true;
    }
    bool ok = false;
    char *save = NULL;
    for (char *t = strtok_r(list, ", ", &save); t && !ok; t = strtok_r(NULL, ", ", &save))
        ok = ip && cidr_match(t, ip);
    free(list);
    return ok;
}

/* Go's time.Parse("15:04:05"): hour of 1 or 2 digits, minutes and
 * seconds of 2, an optional fraction; -1 if it does not parse. */
static int hms(const char *s)
{
    int h = 0, m, sec;
    if (!s || *s < '0' || *s > '9')
        return -1;
    h = *s++ - '0';
    if (*s >= '0' && *s <= '9')
        h = h * 10 + (*s++ - '0');
    if (*s++ != ':' || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    m = (s[0] - '0') * 10 + (s[1] - '0');
    s += 2;
    if (*s++ != ':' || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    sec = (s[0] - '0') * 10 + (s[1] - '0');
    s += 2;
    if ((*s == '.' || *s == ',') && s[1] >= '0' && s[1] <= '9')
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    if (*s || h > 23 || m > 59 || sec > 59)
        return -1;
    return h * 3600 + m * 60 + sec;
}

/* The location's time of day now, in ms: false when the zone does not load. */
static bool time_of_day(const char *loc, int64_t *ms, char *why, size_t whylen)
{
    int64_t now = aj_now_ms(), s = now / 1000;
    int32_t off;
    if (!aj_tz_offset(loc ? loc : "Local", s, &off, why, whylen))
        return false;
    int64_t local = s + off;
    *ms = ((local % 86400 + 86400) % 86400) * 1000 + now % 1000;
    return true;
}

/* times: [{start, end}] in times_location (the server's local time
 * without one); empty: always. As nats-server 2.9's validateTimes: a
 * window that does not parse refuses; now must be strictly after start
 * (today) and before end, an end before its start being tomorrow's, so
 * a window over midnight only admits from its start to midnight. */
static bool times_left(json_t *lim, int64_t *left_ms, char *why, size_t whylen)
{
    json_t *times = json_object_get(lim, "times");
    const char *loc = str(lim, "times_location");
    *left_ms = -1;
    if (!json_array_size(times))
        return true;
    int64_t t;
    if (!time_of_day(loc && *loc ? loc : NULL, &t, why, whylen))
        return false;
    size_t i;
    json_t *w;
    json_array_foreach(times, i, w) {
        int s = hms(str(w, "start")), e = hms(str(w, "end"));
        if (s < 0 || e < 0)
            return snprintf(why, whylen, "bad connect time window"), false;
        if ((int64_t)s * 1000 < t && (s > e || t < (int64_t)e * 1000)) {
            *left_ms = (int64_t)e * 1000 + (s > e ? 86400000 : 0) - t;
            return true;
        }
    }
    return snprintf(why, whylen, "outside the user's connect times"), false;
}

static bool times_ok(json_t *lim, char *why, size_t whylen)
{
    int64_t left;
    return times_left(lim, &left, why, whylen);
}

bool aj_user_precheck(aj *a, json_t *user, const tern_evt_auth *ev, bool *sig_ok, char *why,
                      size_t whylen)
{
    json_t *nats = json_object_get(user, "nats");
    const char *type = str(nats, "type"), *sub = str(user, "sub");
    int64_t now = aj_now_s();
    int64_t exp = json_integer_value(json_object_get(user, "exp"));
    int64_t nbf = json_integer_value(json_object_get(user, "nbf"));
    if (!type || strcmp(type, "user") != 0 || !sub || !a->api->nkey_valid_public(sub, 'U'))
        return snprintf(why, whylen, "not a user JWT"), false;
    if (exp > 0 && exp <= now)
        return snprintf(why, whylen, "user JWT expired"), false;
    if (nbf > 0 && nbf > now)
        return snprintf(why, whylen, "user JWT not valid yet"), false;
    json_t *types = json_object_get(nats, "allowed_connection_types");
    size_t i;
    json_t *t;
    bool any_known = !json_array_size(types);
    json_array_foreach(types, i, t)
        any_known |= json_is_string(t) && known_conn_type(json_string_value(t));
    if (!any_known || !conn_type_ok(types))
        return snprintf(why, whylen, "connection type not allowed"), false;
    unsigned char sig[80];
    size_t n = ev->sig ? aj_b64_decode(ev->sig, sig, sizeof sig) : 0;
    *sig_ok = ev->nonce && n == 64 &&
              a->api->nkey_verify(sub, ev->nonce, strlen(ev->nonce), sig, n);
    const char *iss = str(user, "iss"), *ia = str(nats, "issuer_account");
    bool by_signing_key = iss && ia && *ia && strcmp(iss, ia) != 0;
    if (!*sig_ok && !json_is_true(json_object_get(nats, "bearer_token")) && !by_signing_key)
        return snprintf(why, whylen, "signature verification failed (%s)",
                        !ev->nonce ? "no nonce" : !ev->sig ? "no signature"
                        : n != 64 ? "not a signature" : "bad signature"), false;
    /* an unknown times_location makes the JWT invalid, times or not (jwt's Validate) */
    const char *loc = str(nats, "times_location");
    int32_t off;
    if (loc && *loc && !aj_tz_offset(loc, aj_now_s(), &off, why, whylen))
        return false;
    if (!src_ok(json_object_get(nats, "src"), ev->ip))
        return snprintf(why, whylen, "client address not allowed"), false;
    return times_ok(nats, why, whylen);
}

bool aj_revoked(json_t *acc, const char *user, int64_t iat)
{
    json_t *rev = json_object_get(json_object_get(acc, "nats"), "revocations");
    json_t *v = json_object_get(rev, user);
    if (json_is_integer(v) && iat <= json_integer_value(v))
        return true;
    v = json_object_get(rev, "*");
    return json_is_integer(v) && iat <= json_integer_value(v);
}

/* The account's signing key entry for key: a string or a scope object;
 * NULL when key is not one. */
static json_t *signing_key(json_t *acc, const char *key)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(json_object_get(acc, "nats"), "signing_keys"), i, k) {
        const char *s = json_is_string(k) ? json_string_value(k) : str(k, "key");
        if (s && !strcmp(s, key))
            return k;
    }
    return NULL;
}

/* {allow, deny} of a JWT → the same shape under a conf.d name. */
static void direction(json_t *out, const char *name, json_t *in)
{
    json_t *d = json_object(), *v;
    if ((v = json_object_get(in, "allow")) && json_array_size(v))
        json_object_set(d, "allow", v);
    if ((v = json_object_get(in, "deny")) && json_array_size(v))
        json_object_set(d, "deny", v);
    if (json_object_size(d))
        json_object_set_new(out, name, d);
    else
        json_decref(d);
}

/* A JWT permission set ({pub, sub, resp}) as conf.d permissions (an
 * empty object when it sets nothing). */
static json_t *perms_of(json_t *p)
{
    json_t *out = json_object();
    direction(out, "publish", json_object_get(p, "pub"));
    direction(out, "subscribe", json_object_get(p, "sub"));
    json_t *resp = json_object_get(p, "resp");
    if (json_is_object(resp)) {
        json_t *r = json_object();
        json_int_t max = json_integer_value(json_object_get(resp, "max"));
        json_int_t ttl = json_integer_value(json_object_get(resp, "ttl"));   /* ns */
        if (max > 0)
            json_object_set_new(r, "max", json_integer(max));
        if (ttl > 0) {
            char d[32];
            snprintf(d, sizeof d, "%lldms", (long long)(ttl / 1000000 > 0 ? ttl / 1000000 : 1));
            json_object_set_new(r, "expires", json_string(d));
        }
        json_object_set_new(out, "allow_responses", json_object_size(r) ? r : json_true());
        if (json_object_size(r) == 0)
            json_decref(r);
    }
    return out;
}

/* A user's (or scope template's) subs / payload, as nats-server applies
 * them to the connection: a value < 0 or none is no limit. */
static void user_limits(json_t *out, json_t *u)
{
    json_t *l = json_object();
    static const char *const keys[] = { "subs", "payload" };
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(u, keys[i]);
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            json_object_set(l, keys[i], v);
    }
    if (json_object_size(l))
        json_object_set_new(out, "limits", l);
    else
        json_decref(l);
}

/* After the issuer: bearer policy, account connections, revocation, and
 * for a scoped user the template's src and times; then the permissions
 * that apply (lim: the user's nats claims or the expanded template). */
static bool finish_checks(json_t *user, json_t *acc, json_t *lim, bool scoped, const char *ip,
                          bool sig_ok, char **perms, int64_t *until, char *why, size_t whylen)
{
    json_t *an = json_object_get(acc, "nats");
    json_t *limits = json_object_get(an, "limits");
    bool bearer = json_is_true(json_object_get(lim, "bearer_token"));
    if (bearer && json_is_true(json_object_get(limits, "disallow_bearer")))
        return snprintf(why, whylen, "bearer tokens not allowed by the account"), false;
    if (!bearer && !sig_ok)
        return snprintf(why, whylen, "signature verification failed"), false;
    if (json_is_integer(json_object_get(limits, "conn")) &&
        json_integer_value(json_object_get(limits, "conn")) == 0)
        return snprintf(why, whylen, "the account allows no connections"), false;
    if (aj_revoked(acc, str(user, "sub"), json_integer_value(json_object_get(user, "iat"))))
        return snprintf(why, whylen, "user revoked"), false;
    if (scoped && !src_ok(json_object_get(lim, "src"), ip))
        return snprintf(why, whylen, "client address not allowed"), false;
    /* the connection ends with its time window, as nats-server's
     * expiration timer (the user's own times were checked before) */
    int64_t left;
    if (!times_left(lim, &left, why, whylen))
        return false;
    *until = left >= 0 ? aj_now_s() + (left + 999) / 1000 : 0;
    json_t *p = perms_of(lim);
    if (!json_object_size(p) && !scoped) {
        json_decref(p);
        p = perms_of(json_object_get(an, "default_permissions"));
    }
    user_limits(p, lim);   /* a scope's template sets them, as nats-server */
    *perms = json_object_size(p) ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    return true;
}

/* jwt's HasEmptyPermissions: a user issued by a scoped key may set none
 * of the permission and limit fields (a list present, even empty, is
 * set, as a non-nil Go slice). */
static bool sets_limits(json_t *un)
{
    static const char *const fields[] = { "resp", "src", "times", "allowed_connection_types" };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        json_t *v = json_object_get(un, fields[i]);
        if (v && !json_is_null(v))
            return true;
    }
    static const char *const dirs[] = { "pub", "sub" };
    for (int i = 0; i < 2; i++) {
        json_t *d = json_object_get(un, dirs[i]), *v;
        if (((v = json_object_get(d, "allow")) && !json_is_null(v)) ||
            ((v = json_object_get(d, "deny")) && !json_is_null(v)))
            return true;
    }
    static const char *const nums[] = { "subs", "data", "payload" };
    for (int i = 0; i < 3; i++)
        if (json_integer_value(json_object_get(un, nums[i])) != 0)
            return true;
    const char *loc = str(un, "times_location");
    return (loc && *loc) || json_is_true(json_object_get(un, "bearer_token"));
}

bool aj_user_finish(aj *a, json_t *user, json_t *acc, bool deleted, const char *ip, bool sig_ok,
                    char **perms, int64_t *until, char *why, size_t whylen)
{
    *perms = NULL;
    *until = 0;
    json_t *un = json_object_get(user, "nats");
    const char *acc_pub = str(acc, "sub"), *iss = str(user, "iss");
    const char *issuer_account = str(un, "issuer_account");
    int64_t exp = json_integer_value(json_object_get(acc, "exp"));
    if (deleted)
        return snprintf(why, whylen, "account deleted"), false;
    if (!aj_trusted(&a->conf, str(acc, "iss")))
        return snprintf(why, whylen, "account not signed by a trusted operator"), false;
    if (exp > 0 && exp <= aj_now_s())
        return snprintf(why, whylen, "account JWT expired"), false;
    bool scoped = false;
    json_t *tmpl = NULL;
    if (strcmp(iss, acc_pub) != 0) {
        json_t *sk = signing_key(acc, iss);
        if (!sk)
            return snprintf(why, whylen, "user issuer is not the account or its signing key"),
                   false;
        if (issuer_account && strcmp(issuer_account, acc_pub) != 0)
            return snprintf(why, whylen, "issuer_account does not match"), false;
        scoped = json_is_object(sk) && !strcmp(str(sk, "kind") ? str(sk, "kind") : "", "user_scope");
        tmpl = scoped ? json_object_get(sk, "template") : NULL;
    } else if (issuer_account && strcmp(issuer_account, acc_pub) != 0) {
        return snprintf(why, whylen, "issuer_account does not match"), false;
    }
    /* a scope's template, its functions expanded, stands for the user's
     * permissions and limits (src, times, bearer_token included) */
    json_t *lim = NULL;
    if (scoped) {
        if (sets_limits(un))
            return snprintf(why, whylen, "scoped users require no permissions or limits set"),
                   false;
        char terr[200];
        if (!(lim = aj_template_apply(tmpl, user, acc, terr, sizeof terr)))
            return snprintf(why, whylen, "User JWT generated invalid permissions: %s", terr),
                   false;
    }
    bool ok = finish_checks(user, acc, scoped ? lim : un, scoped, ip, sig_ok, perms, until, why,
                            whylen);
    json_decref(lim);
    return ok;
}
