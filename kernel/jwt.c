/* NATS JWT encoding, decoding and verification, and .creds files
 * (jwt.h). */
#include "jwt.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "xalloc.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- types ---------------------------------------------------------------- */

static const char *const type_names[] = {
    [TERN_JWT_GENERIC] = "generic",       [TERN_JWT_OPERATOR] = "operator",
    [TERN_JWT_ACCOUNT] = "account",       [TERN_JWT_USER] = "user",
    [TERN_JWT_ACTIVATION] = "activation", [TERN_JWT_AUTHORIZATION] = "authorization",
};

tern_jwt_type tern_jwt_type_from_name(const char *name)
{
    for (size_t i = 1; name && i < sizeof type_names / sizeof *type_names; i++)
        if (!strcmp(name, type_names[i]))
            return (tern_jwt_type)i;
    return TERN_JWT_GENERIC;
}

const char *tern_jwt_type_name(tern_jwt_type t)
{
    return (size_t)t < sizeof type_names / sizeof *type_names ? type_names[t] : "generic";
}

bool tern_jwt_issuer_allowed(tern_jwt_type t, uint8_t prefix)
{
    switch (t) {
    case TERN_JWT_OPERATOR:
    case TERN_JWT_ACCOUNT:
        return prefix == TERN_NKEY_PREFIX_OPERATOR;
    case TERN_JWT_USER:
        return prefix == TERN_NKEY_PREFIX_ACCOUNT;
    case TERN_JWT_ACTIVATION:
        return prefix == TERN_NKEY_PREFIX_ACCOUNT || prefix == TERN_NKEY_PREFIX_OPERATOR;
    case TERN_JWT_AUTHORIZATION:
        return prefix == TERN_NKEY_PREFIX_SERVER;
    case TERN_JWT_GENERIC:
        return true;
    }
    return false;
}

/* ---- base64url without padding --------------------------------------------- */

static char *b64url_encode(const void *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = tern_xmalloc(cap);
    sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* Decoded bytes (NUL-terminated for JSON text) or NULL. */
static uint8_t *b64url_decode(const char *s, size_t n, size_t *outlen)
{
    uint8_t *out = tern_xmalloc(n * 3 / 4 + 2);
    size_t len = 0;
    if (sodium_base642bin(out, n * 3 / 4 + 1, s, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(out);
        return NULL;
    }
    out[len] = 0;
    *outlen = len;
    return out;
}

/* ---- the jti ------------------------------------------------------------ */

/* A JSON string as Go's encoding/json writes it: besides the usual
 * escapes it writes <, >, & and U+2028/U+2029 as \u escapes. */
static void go_json_string(tern_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    tern_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        if (ch == '"' || ch == '\\') {
            char e[2] = { '\\', (char)ch };
            tern_buf_append(b, e, 2);
        } else if (ch == '\n') {
            tern_buf_append(b, "\\n", 2);
        } else if (ch == '\r') {
            tern_buf_append(b, "\\r", 2);
        } else if (ch == '\t') {
            tern_buf_append(b, "\\t", 2);
        } else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&') {
            char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
            tern_buf_append(b, e, 6);
        } else if (ch == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
            tern_buf_append_str(b, p[2] == 0xA8 ? "\\u2028" : "\\u2029");
            p += 2;
        } else {
            tern_buf_append(b, (const char *)p, 1);
        }
    }
    tern_buf_append(b, "\"", 1);
}

int tern_jwt_hash_id(const json_t *claims, char out[TERN_JWT_ID_LEN + 1])
{
    /* ClaimsData's field order; omitempty drops "" and 0. */
    static const struct { const char *key; bool num; } fields[] = {
        {"aud", false}, {"exp", true}, {"iat", true}, {"iss", false},
        {"name", false}, {"nbf", true}, {"sub", false},
    };
    tern_buf b = {0};
    tern_buf_append(&b, "{", 1);
    bool first = true;
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        json_t *v = json_object_get(claims, fields[i].key);
        if (fields[i].num ? !json_is_integer(v) || json_integer_value(v) == 0
                          : !json_is_string(v) || !*json_string_value(v))
            continue;
        if (!first)
            tern_buf_append(&b, ",", 1);
        first = false;
        go_json_string(&b, fields[i].key);
        tern_buf_append(&b, ":", 1);
        if (fields[i].num) {
            char num[32];
            int n = snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            tern_buf_append(&b, num, (size_t)n);
        } else {
            go_json_string(&b, json_string_value(v));
        }
    }
    tern_buf_append(&b, "}", 1);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int ok = EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha512_256(), NULL);
    tern_buf_free(&b);
    if (!ok || mdlen != 32)
        return -1;
    return tern_base32_encode(md, mdlen, out, TERN_JWT_ID_LEN + 1) == TERN_JWT_ID_LEN ? 0 : -1;
}

/* ---- decoding ----------------------------------------------------------- */

static const char *str_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* A standard field of the wrong JSON type fails the decode, as Go's
 * typed unmarshalling does. */
static int std_fields(tern_jwt *j, char *err, size_t errlen)
{
    static const char *const strs[] = { "aud", "jti", "iss", "name", "sub" };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        json_t *v = json_object_get(j->claims, strs[i]);
        if (v && !json_is_string(v) && !json_is_null(v))
            return fail(err, errlen, "claim \"%s\" is not a string", strs[i]);
    }
    static const char *const nums[] = { "exp", "iat", "nbf" };
    int64_t *dst[] = { &j->exp, &j->iat, &j->nbf };
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(j->claims, nums[i]);
        if (v && !json_is_integer(v) && !json_is_null(v))
            return fail(err, errlen, "claim \"%s\" is not an integer", nums[i]);
        *dst[i] = json_is_integer(v) ? json_integer_value(v) : 0;
    }
    j->aud = str_field(j->claims, "aud");
    j->jti = str_field(j->claims, "jti");
    j->iss = str_field(j->claims, "iss");
    j->name = str_field(j->claims, "name");
    j->sub = str_field(j->claims, "sub");
    return 0;
}

static json_t *decode_json(const char *seg, size_t n, const char *what, char *err, size_t errlen)
{
    size_t len;
    uint8_t *raw = b64url_decode(seg, n, &len);
    if (!raw) {
        fail(err, errlen, "%s is not base64url without padding", what);
        return NULL;
    }
    json_error_t jerr;
    json_t *o = json_loadb((const char *)raw, len, 0, &jerr);
    free(raw);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        fail(err, errlen, "%s is not a JSON object", what);
        return NULL;
    }
    return o;
}

static int check_header(const char *seg, size_t n, char *err, size_t errlen)
{
    json_t *h = decode_json(seg, n, "header", err, errlen);
    if (!h)
        return -1;
    const char *typ = str_field(h, "typ"), *alg = str_field(h, "alg");
    int rc = 0;
    if (strcasecmp(typ, "JWT") != 0)
        rc = fail(err, errlen, "not supported type \"%s\"", typ);
    else if (strcasecmp(alg, TERN_JWT_ALG) != 0 && strcasecmp(alg, TERN_JWT_ALG_V1) != 0)
        rc = fail(err, errlen, "unexpected \"%s\" algorithm", alg);
    json_decref(h);
    return rc;
}

/* The claim's kind and version as nats-io/jwt reads them: a top-level
 * "type" is v1, else nats.type and nats.version. */
static int kind_and_version(tern_jwt *j, char *err, size_t errlen)
{
    json_t *nats = json_object_get(j->claims, "nats");
    const char *top = str_field(j->claims, "type");
    if (*top) {
        j->version = 1;
        j->type_name = top;
        j->nats = json_is_object(nats) ? nats : j->claims;
    } else {
        if (nats && !json_is_object(nats))
            return fail(err, errlen, "claim \"nats\" is not an object");
        if (!nats) {
            nats = json_object();
            json_object_set_new(j->claims, "nats", nats);
        }
        j->nats = nats;
        j->type_name = str_field(nats, "type");
        json_t *v = json_object_get(nats, "version");
        j->version = json_is_integer(v) ? (int)json_integer_value(v) : 0;
        if (j->version > 2)
            return fail(err, errlen, "JWT was generated by a newer version");
    }
    j->type = tern_jwt_type_from_name(j->type_name);
    if (!strcmp(j->type_name, "cluster") || !strcmp(j->type_name, "server"))
        return fail(err, errlen, "%s claims are not supported", j->type_name);
    return 0;
}

int tern_jwt_decode(const char *token, size_t len, tern_jwt *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!token || len > TERN_JWT_MAX_LEN)
        return fail(err, errlen, "token is missing or too large");
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return fail(err, errlen, "expected 3 chunks");
    if (check_header(token, (size_t)(d1 - token), err, errlen) < 0)
        return -1;
    out->claims = decode_json(d1 + 1, (size_t)(d2 - d1 - 1), "claims", err, errlen);
    if (!out->claims)
        return -1;
    if (std_fields(out, err, errlen) < 0 || kind_and_version(out, err, errlen) < 0)
        goto bad;
    size_t siglen;
    uint8_t *sig = b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), &siglen);
    if (!sig) {
        fail(err, errlen, "signature is not base64url without padding");
        goto bad;
    }
    uint8_t prefix, key[32];
    if (tern_nkey_decode_public(out->iss, &prefix, key) < 0 ||
        !tern_nkey_is_public_prefix(prefix)) {
        free(sig);
        fail(err, errlen, "issuer \"%s\" is not a public nkey", out->iss);
        goto bad;
    }
    /* v1 signed the claims segment alone; v2 "header.claims". */
    bool ok = out->version <= 1
                  ? tern_nkey_verify(out->iss, d1 + 1, (size_t)(d2 - d1 - 1), sig, siglen)
                  : tern_nkey_verify(out->iss, token, (size_t)(d2 - token), sig, siglen);
    /* A generic claim's version is not part of its kind: accept either. */
    if (!ok && out->type == TERN_JWT_GENERIC)
        ok = tern_nkey_verify(out->iss, token, (size_t)(d2 - token), sig, siglen) ||
             tern_nkey_verify(out->iss, d1 + 1, (size_t)(d2 - d1 - 1), sig, siglen);
    free(sig);
    if (!ok) {
        fail(err, errlen, "claim failed V%d signature verification", out->version <= 1 ? 1 : 2);
        goto bad;
    }
    if (!tern_jwt_issuer_allowed(out->type, prefix)) {
        fail(err, errlen, "issuer %s may not sign %s claims", out->iss, out->type_name);
        goto bad;
    }
    return 0;
bad:
    tern_jwt_clear(out);
    return -1;
}

void tern_jwt_clear(tern_jwt *j)
{
    json_decref(j->claims);
    memset(j, 0, sizeof *j);
}

int tern_jwt_check_time(const tern_jwt *j, int64_t now, char *err, size_t errlen)
{
    if (j->exp > 0 && now > j->exp)
        return fail(err, errlen, "claim is expired");
    if (j->nbf > 0 && j->nbf > now)
        return fail(err, errlen, "claim is not yet valid");
    return 0;
}

/* ---- encoding ----------------------------------------------------------- */

char *tern_jwt_encode(const json_t *claims, const tern_nkey_pair *signer, int64_t iat, char *err,
                      size_t errlen)
{
    json_t *nats = json_object_get(claims, "nats");
    const char *sub = str_field((json_t *)claims, "sub");
    if (!json_is_object(nats) || !json_is_string(json_object_get(nats, "type"))) {
        fail(err, errlen, "claims need \"nats\":{\"type\":…}");
        return NULL;
    }
    if (!*sub) {
        fail(err, errlen, "subject is not set");
        return NULL;
    }
    tern_jwt_type t = tern_jwt_type_from_name(json_string_value(json_object_get(nats, "type")));
    if (!tern_jwt_issuer_allowed(t, signer->type)) {
        fail(err, errlen, "this kind of key may not sign %s claims", tern_jwt_type_name(t));
        return NULL;
    }
    char iss[TERN_NKEY_PUBLIC_LEN + 1];
    if (tern_nkey_pair_public(signer, iss) < 0) {
        fail(err, errlen, "bad signing key");
        return NULL;
    }
    /* Go's field order: aud exp jti iat iss name nbf sub, then nats and
     * anything else the caller put there. */
    json_t *o = json_object();
    static const char *const order[] = { "aud", "exp", "jti", "iat", "iss", "name", "nbf", "sub" };
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        json_t *v = json_object_get(claims, order[i]);
        if (!strcmp(order[i], "iat"))
            json_object_set_new(o, "iat", json_integer(iat));
        else if (!strcmp(order[i], "iss"))
            json_object_set_new(o, "iss", json_string(iss));
        else if (!strcmp(order[i], "jti"))
            json_object_set_new(o, "jti", json_string(""));
        else if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v)) &&
                 !(json_is_integer(v) && json_integer_value(v) == 0))
            json_object_set(o, order[i], v);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)claims, key, v) {
        if (!json_object_get(o, key) && strcmp(key, "jti") && strcmp(key, "iat") &&
            strcmp(key, "iss"))
            json_object_set_new(o, key, json_deep_copy(v));
    }
    json_object_set_new(json_object_get(o, "nats"), "version", json_integer(2));
    char jti[TERN_JWT_ID_LEN + 1];
    if (tern_jwt_hash_id(o, jti) < 0) {
        json_decref(o);
        fail(err, errlen, "hashing failed");
        return NULL;
    }
    json_object_set_new(o, "jti", json_string(jti));
    char *payload = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"" TERN_JWT_ALG "\"}";
    char *h64 = b64url_encode(header, sizeof header - 1);
    char *p64 = b64url_encode(payload, strlen(payload));
    free(payload);
    tern_buf b = {0};
    tern_buf_append_str(&b, h64);
    tern_buf_append(&b, ".", 1);
    tern_buf_append_str(&b, p64);
    free(h64);
    free(p64);
    uint8_t sig[TERN_NKEY_SIG_LEN];
    tern_nkey_sign(signer, b.data, b.len, sig);
    char *s64 = b64url_encode(sig, sizeof sig);
    tern_buf_append(&b, ".", 1);
    tern_buf_append_str(&b, s64);
    free(s64);
    tern_buf_append(&b, "", 1);   /* the NUL */
    return b.data;
}

/* ---- .creds ----------------------------------------------------------------- */

char *tern_creds_format(const char *jwt, const char *seed)
{
    tern_buf b = {0};
    tern_buf_append_str(&b, "-----BEGIN NATS USER JWT-----\n");
    tern_buf_append_str(&b, jwt);
    tern_buf_append_str(&b, "\n------END NATS USER JWT------\n\n"
                            "************************* IMPORTANT *************************\n"
                            "NKEY Seed printed below can be used to sign and prove identity.\n"
                            "NKEYs are sensitive and should be treated as secrets.\n\n"
                            "-----BEGIN USER NKEY SEED-----\n");
    tern_buf_append_str(&b, seed);
    tern_buf_append_str(&b, "\n------END USER NKEY SEED------\n\n"
                            "*************************************************************\n");
    tern_buf_append(&b, "", 1);
    return b.data;
}

/* A line of at least 3 dashes, some text, at least 3 dashes. */
static bool dash_line(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] == '-')
        i++;
    if (i < 3)
        return false;
    size_t j = n;
    while (j > i && (p[j - 1] == '\r' || isspace((unsigned char)p[j - 1])))
        j--;
    size_t k = j;
    while (k > i && p[k - 1] == '-')
        k--;
    return j - k >= 3;
}

static bool token_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.' || ch == '=';
}

int tern_creds_parse(const char *text, size_t len, char **jwt, char **seed)
{
    *jwt = *seed = NULL;
    char *found[2] = { NULL, NULL };
    int nfound = 0;
    const char *p = text, *end = text + len;
    bool after_dash = false;
    while (p < end && nfound < 2) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (dash_line(p, n)) {
            after_dash = true;
        } else if (after_dash) {
            const char *s = p, *e = le;
            while (s < e && isspace((unsigned char)*s))
                s++;
            while (e > s && isspace((unsigned char)e[-1]))
                e--;
            bool ok = e > s;
            for (const char *q = s; ok && q < e; q++)
                ok = token_char(*q);
            /* The token must be closed by a dash line. */
            const char *next = nl ? nl + 1 : end;
            const char *nl2 = next < end ? memchr(next, '\n', (size_t)(end - next)) : NULL;
            if (ok && next < end && dash_line(next, (size_t)((nl2 ? nl2 : end) - next)))
                found[nfound++] = tern_xstrndup(s, (size_t)(e - s));
            after_dash = false;
        }
        p = nl ? nl + 1 : end;
    }
    if (nfound < 2) {
        free(found[0]);
        return -1;
    }
    *jwt = found[0];
    *seed = found[1];
    return 0;
}
