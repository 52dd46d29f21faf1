/* ternctl: exports, imports and activation tokens in account JWTs, with
 * nats-io/jwt v2's field names:
 *   exports[]: name, subject, type ("stream"|"service"), token_req,
 *              response_type ("Singleton"|"Stream"|"Chunked", services)
 *   imports[]: name, subject (the exporter's), account, token,
 *              local_subject, type
 *   activation: sub = the importing account, nats.subject, nats.kind,
 *              signed by the exporter (or its signing key, then with
 *              issuer_account). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ternctl.h"

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Whether every subject that s matches is matched by pattern p (both may
 * hold wildcards): "a.b" and "a.*" lie within "a.>", "a.>" not in "a.*". */
static bool subject_within(const char *s, const char *p)
{
    for (;;) {
        size_t ls = strcspn(s, "."), lp = strcspn(p, ".");
        if (lp == 1 && *p == '>')
            return ls > 0;
        if (ls == 1 && *s == '>')
            return false;   /* s goes deeper than a non-'>' token of p */
        if (!(lp == 1 && *p == '*') && (ls != lp || strncmp(s, p, ls) != 0))
            return false;
        s += ls, p += lp;
        if (!*s || !*p)
            return !*s && !*p;
        s++, p++;
    }
}

/* The export of the account claims nats covering subject; want: "stream",
 * "service" or NULL for either. */
static json_t *find_export(json_t *nats, const char *subject, const char *want)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(nats, "exports"), i, e) {
        const char *t = str(e, "type"), *s = str(e, "subject");
        if (t && s && (!want || !strcmp(t, want)) && subject_within(subject, s))
            return e;
    }
    return NULL;
}

static const char *kind_switch(const args *a)
{
    if (ctl_opt(a, "service") && ctl_opt(a, "stream"))
        return "";
    return ctl_opt(a, "service") ? "service" : ctl_opt(a, "stream") ? "stream" : NULL;
}

/* Account name (or key) → its name in the keystore and its decoded JWT. */
static int load_account(const keystore *ks, const char *op, const char *which, char *name,
                        tern_jwt *j)
{
    if (ks_account_name(ks, op, which, name) < 0) {
        fprintf(stderr, "ternctl: no account %s in the keystore\n", which);
        return -1;
    }
    return ks_read_jwt(ks_account_path(ks, op, name), NULL, j);
}

/* Re-sign an edited account JWT with the operator's key for accounts. */
static int save_account(const keystore *ks, const char *op, const char *name, const tern_jwt *j)
{
    tern_jwt oj;
    if (ks_read_jwt(ks_operator_path(ks, op), NULL, &oj) < 0)
        return -1;
    int rc = ks_sign_write(ks, j->claims, ctl_account_signer(&oj), ks_account_path(ks, op, name),
                           NULL);
    tern_jwt_clear(&oj);
    return rc;
}

static json_t *array_in(json_t *o, const char *key)
{
    json_t *arr = json_object_get(o, key);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(o, key, arr);
    }
    return arr;
}

/* An activation token by the exporting account ej for the importing
 * account key importer (free), or NULL with a message. */
static char *make_activation(const keystore *ks, const tern_jwt *ej, const char *importer,
                             const char *subject, const char *kind, int64_t exp)
{
    json_t *c = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "name", subject, "sub", importer,
                          "nats", "type", "activation", "subject", subject, "kind", kind);
    const char *signer = ctl_user_signer(ej);
    if (strcmp(signer, ej->sub) != 0)
        json_object_set_new(json_object_get(c, "nats"), "issuer_account", json_string(ej->sub));
    if (exp > 0)
        json_object_set_new(c, "exp", json_integer(exp));
    tern_nkey_pair kp;
    char *token = NULL, err[256];
    if (ks_key(ks, signer, &kp) == 0) {
        token = tern_jwt_encode(c, &kp, (int64_t)time(NULL), err, sizeof err);
        tern_nkey_pair_wipe(&kp);
        if (!token)
            fprintf(stderr, "ternctl: activation: %s\n", err);
    } else {
        fprintf(stderr, "ternctl: the keystore lacks the key of account %s to sign an "
                        "activation (give --token)\n", ej->sub);
    }
    json_decref(c);
    return token;
}

int cmd_add_export(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    const char *acc = ctl_opt(a, "account"), *subject = ctl_opt(a, "subject");
    const char *rt = ctl_opt(a, "response-type");
    bool service = ctl_opt(a, "service") != NULL;
    if (!op || !acc || !subject || !*subject || (rt && !service)) {
        fprintf(stderr, "usage: ternctl add export --account A --subject S [--name N] "
                        "[--service [--response-type Singleton|Stream|Chunked]] [--private]\n");
        return 2;
    }
    static const char *const rts[] = { "Singleton", "Stream", "Chunked" };
    const char *response = service ? rts[0] : NULL;
    if (rt) {
        response = NULL;
        for (int i = 0; i < 3; i++)
            if (!strcasecmp(rt, rts[i]))
                response = rts[i];
        if (!response) {
            fprintf(stderr, "ternctl: --response-type is Singleton, Stream or Chunked\n");
            return 2;
        }
    }
    char name[256];
    tern_jwt j;
    if (load_account(ks, op, acc, name, &j) < 0)
        return 1;
    const char *type = service ? "service" : "stream";
    json_t *exports = array_in(j.nats, "exports");
    size_t i;
    json_t *e;
    json_array_foreach(exports, i, e) {
        const char *s = str(e, "subject"), *t = str(e, "type");
        if (s && t && !strcmp(t, type) && (subject_within(subject, s) || subject_within(s, subject))) {
            fprintf(stderr, "ternctl: account %s already exports %s %s\n", name, type, s);
            tern_jwt_clear(&j);
            return 1;
        }
    }
    const char *label = ctl_opt(a, "name");
    json_t *x = json_pack("{s:s, s:s, s:s}", "name", label && *label ? label : subject, "subject",
                          subject, "type", type);
    if (ctl_opt(a, "private"))
        json_object_set_new(x, "token_req", json_true());
    if (response)
        json_object_set_new(x, "response_type", json_string(response));
    json_array_append_new(exports, x);
    int rc = save_account(ks, op, name, &j);
    if (rc == 0)
        printf("account %s exports %s %s%s\n", name, type, subject,
               ctl_opt(a, "private") ? " (private: activation token required)" : "");
    tern_jwt_clear(&j);
    return rc < 0;
}

/* The importing account's key: an account of the keystore, or a key. */
static int target_key(const keystore *ks, const char *op, const char *which, char *key)
{
    char name[256];
    tern_jwt j;
    if (ks_account_name(ks, op, which, name) == 0 &&
        ks_read_jwt(ks_account_path(ks, op, name), NULL, &j) == 0) {
        snprintf(key, TERN_NKEY_PUBLIC_LEN + 1, "%s", j.sub);
        tern_jwt_clear(&j);
        return 0;
    }
    if (tern_nkey_is_valid_public(which, TERN_NKEY_PREFIX_ACCOUNT)) {
        snprintf(key, TERN_NKEY_PUBLIC_LEN + 1, "%s", which);
        return 0;
    }
    fprintf(stderr, "ternctl: %s is neither an account of the keystore nor an account key\n",
            which);
    return -1;
}

int cmd_generate_activation(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    const char *acc = ctl_opt(a, "account"), *target = ctl_opt(a, "target-account");
    const char *subject = ctl_opt(a, "subject"), *kind = kind_switch(a);
    if (!op || !acc || !target || !subject || (kind && !*kind)) {
        fprintf(stderr, "usage: ternctl generate activation --account A --target-account B "
                        "--subject S [--service|--stream] [--expiry 30d|unix] [--output FILE]\n");
        return 2;
    }
    int64_t exp = 0;
    if (ctl_opt(a, "expiry") && (exp = ctl_parse_expiry(ctl_opt(a, "expiry"))) < 0) {
        fprintf(stderr, "ternctl: bad --expiry %s\n", ctl_opt(a, "expiry"));
        return 2;
    }
    char name[256], importer[TERN_NKEY_PUBLIC_LEN + 1];
    tern_jwt j;
    if (target_key(ks, op, target, importer) < 0 || load_account(ks, op, acc, name, &j) < 0)
        return 1;
    json_t *e = find_export(j.nats, subject, kind);
    if (!e) {
        fprintf(stderr, "ternctl: account %s has no %s export covering %s\n", name,
                kind ? kind : "stream or service", subject);
        tern_jwt_clear(&j);
        return 1;
    }
    char *token = make_activation(ks, &j, importer, subject, str(e, "type"), exp);
    tern_jwt_clear(&j);
    if (!token)
        return 1;
    size_t n = strlen(token);
    char *line = malloc(n + 2);
    memcpy(line, token, n);
    memcpy(line + n, "\n", 2);
    const char *out = ctl_opt(a, "output");
    int rc = out ? ks_write_file(out, line, 0644) : (fputs(line, stdout) < 0 ? -1 : 0);
    free(line);
    free(token);
    return rc < 0;
}

/* A --token value: the JWT itself or a file holding it (free). */
static char *token_text(const char *v)
{
    char *t = !strncmp(v, "eyJ", 3) ? strdup(v) : ks_read_file(v, NULL);
    if (!t) {
        fprintf(stderr, "ternctl: cannot read the token %s\n", v);
        return NULL;
    }
    size_t skip = strspn(t, " \t\r\n");
    memmove(t, t + skip, strlen(t + skip) + 1);
    t[strcspn(t, " \t\r\n")] = 0;
    return t;
}

/* What nats-server checks of an import's activation token. */
static bool token_fits(const char *token, const char *importer, const char *exporter,
                       const char *subject, const char *kind)
{
    tern_jwt t;
    char err[256];
    if (tern_jwt_decode(token, strlen(token), &t, err, sizeof err) < 0) {
        fprintf(stderr, "ternctl: invalid activation token: %s\n", err);
        return false;
    }
    const char *why = NULL;
    const char *ia = str(t.nats, "issuer_account"), *ts = str(t.nats, "subject");
    const char *tk = str(t.nats, "kind");
    if (t.type != TERN_JWT_ACTIVATION)
        why = "not an activation token";
    else if (strcmp(t.sub, importer) != 0)
        why = "the token activates another account";
    else if (strcmp(t.iss, exporter) != 0 && !(ia && !strcmp(ia, exporter)))
        why = "the token is not issued by the exporting account";
    else if (!ts || !subject_within(subject, ts))
        why = "the token's subject does not cover the import";
    else if (tk && *tk && strcmp(tk, kind) != 0)
        why = "the token is for another kind of import";
    else if (tern_jwt_check_time(&t, (int64_t)time(NULL), err, sizeof err) < 0)
        why = err;
    if (why)
        fprintf(stderr, "ternctl: activation token refused: %s\n", why);
    tern_jwt_clear(&t);
    return why == NULL;
}

int cmd_add_import(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    const char *acc = ctl_opt(a, "account"), *src = ctl_opt(a, "src-account");
    const char *subject = ctl_opt(a, "subject"), *kind = kind_switch(a);
    const char *local = ctl_opt(a, "local-subject"), *tok = ctl_opt(a, "token");
    if (!op || !acc || !src || !subject || !*subject || (kind && !*kind)) {
        fprintf(stderr, "usage: ternctl add import --account B --src-account A --subject S "
                        "[--service|--stream] [--local-subject L] [--name N] "
                        "[--token JWT|FILE]\n");
        return 2;
    }
    char name[256], exporter[TERN_NKEY_PUBLIC_LEN + 1];
    tern_jwt ij, ej = {0};
    if (target_key(ks, op, src, exporter) < 0 || load_account(ks, op, acc, name, &ij) < 0)
        return 1;
    int rc = 1;
    char *token = NULL, ename[256];
    bool have_exporter = ks_account_name(ks, op, exporter, ename) == 0 &&
                         ks_read_jwt(ks_account_path(ks, op, ename), NULL, &ej) == 0;
    if (!strcmp(exporter, ij.sub)) {
        fprintf(stderr, "ternctl: an account cannot import from itself\n");
        goto out;
    }
    /* The exporter's JWT, when the keystore holds it, says the kind and
     * whether a token is needed; otherwise --service/--stream and --token. */
    json_t *e = have_exporter ? find_export(ej.nats, subject, kind) : NULL;
    if (have_exporter && !e) {
        fprintf(stderr, "ternctl: account %s has no %s export covering %s\n", ename,
                kind ? kind : "stream or service", subject);
        goto out;
    }
    if (e)
        kind = str(e, "type");
    if (!kind)
        kind = "stream";
    if (tok) {
        if (!(token = token_text(tok)) || !token_fits(token, ij.sub, exporter, subject, kind))
            goto out;
    } else if (e && json_is_true(json_object_get(e, "token_req"))) {
        if (!(token = make_activation(ks, &ej, ij.sub, subject, kind, 0)))
            goto out;
    }
    json_t *imports = array_in(ij.nats, "imports");
    size_t i;
    json_t *x;
    json_array_foreach(imports, i, x) {
        const char *s = str(x, "subject"), *t = str(x, "type"), *from = str(x, "account");
        if (s && t && from && !strcmp(s, subject) && !strcmp(t, kind) && !strcmp(from, exporter)) {
            fprintf(stderr, "ternctl: account %s already imports %s %s from %s\n", name, kind,
                    subject, exporter);
            goto out;
        }
    }
    const char *label = ctl_opt(a, "name");
    x = json_pack("{s:s, s:s, s:s, s:s}", "name", label && *label ? label : subject, "subject",
                  subject, "account", exporter, "type", kind);
    if (token)
        json_object_set_new(x, "token", json_string(token));
    if (local && *local)
        json_object_set_new(x, "local_subject", json_string(local));
    json_array_append_new(imports, x);
    if (save_account(ks, op, name, &ij) == 0) {
        printf("account %s imports %s %s from %s%s\n", name, kind, subject, exporter,
               token ? " (with an activation token)" : "");
        rc = 0;
    }
out:
    free(token);
    tern_jwt_clear(&ij);
    if (have_exporter)
        tern_jwt_clear(&ej);
    return rc;
}
