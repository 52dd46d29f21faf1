/* ternctl: operators, accounts, users, signing keys, revocations and
 * credentials for NATS decentralized security — what operators use nsc
 * for — with the kernel's nkeys.c and jwt.c (docs/ternctl.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ternctl.h"

/* ---- arguments -------------------------------------------------------- */

/* Switches take no value; every other --option takes the next word. */
static bool is_switch(const char *name)
{
    static const char *const sw[] = { "bearer", "nats", "operator-key", "no-sys", "service",
                                      "stream", "private", "all", NULL };
    for (int i = 0; sw[i]; i++)
        if (!strcmp(name, sw[i]))
            return true;
    return false;
}

static int parse_args(int argc, char **argv, args *a)
{
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            if (a->nopt == 32)
                return -1;
            const char *name = argv[i] + 2;
            a->opt_name[a->nopt] = name;
            if (is_switch(name)) {
                a->opt_val[a->nopt++] = NULL;
            } else {
                if (i + 1 >= argc) {
                    fprintf(stderr, "ternctl: --%s needs a value\n", name);
                    return -1;
                }
                a->opt_val[a->nopt++] = argv[++i];
            }
        } else if (a->npos < 8) {
            a->pos[a->npos++] = argv[i];
        }
    }
    return 0;
}

const char *ctl_opt(const args *a, const char *name)
{
    for (int i = 0; i < a->nopt; i++)
        if (!strcmp(a->opt_name[i], name))
            return a->opt_val[i] ? a->opt_val[i] : "";
    return NULL;
}

void ctl_opt_list(const args *a, const char *name, json_t *arr)
{
    for (int i = 0; i < a->nopt; i++) {
        if (strcmp(a->opt_name[i], name) || !a->opt_val[i])
            continue;
        char *copy = strdup(a->opt_val[i]), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(arr, json_string(t));
        free(copy);
    }
}

/* ---- helpers ------------------------------------------------------------ */

static json_t *new_claims(const char *name, const char *sub, const char *type)
{
    return json_pack("{s:s, s:s, s:{s:s}}", "name", name, "sub", sub, "nats", "type", type);
}

static int load(const char *path, char **token, tern_jwt *j)
{
    return ks_read_jwt(path, token, j);
}

const char *ctl_account_signer(const tern_jwt *op)
{
    json_t *sk = json_object_get(op->nats, "signing_keys");
    json_t *first = json_array_get(sk, 0);
    return json_is_string(first) ? json_string_value(first) : op->sub;
}

const char *ctl_user_signer(const tern_jwt *acc)
{
    json_t *sk = json_object_get(acc->nats, "signing_keys");
    json_t *first = json_array_get(sk, 0);
    return json_is_string(first) ? json_string_value(first) : acc->sub;
}

int64_t ctl_parse_expiry(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s)
        return -1;
    int64_t mult = !*end ? 0 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                 : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : -1;
    if (mult < 0)
        return -1;
    return mult == 0 ? v : (int64_t)time(NULL) + v * mult;
}

/* ---- commands ------------------------------------------------------------ */

static int add_account_named(const keystore *ks, const char *op, const char *name,
                             const args *a, char *pub_out);
static int cmd_add_user(const keystore *ks, const args *a);

static int cmd_init(const keystore *ks, const args *a)
{
    if (a->npos < 1) {
        fprintf(stderr, "usage: ternctl init <operator> [--no-sys]\n");
        return 2;
    }
    const char *op = a->pos[0];
    char opub[TERN_NKEY_PUBLIC_LEN + 1];
    if (ks_new_key(ks, TERN_NKEY_PREFIX_OPERATOR, opub) < 0)
        return 1;
    json_t *c = new_claims(op, opub, "operator");
    if (ks_sign_write(ks, c, opub, ks_operator_path(ks, op), NULL) < 0)
        return 1;
    json_decref(c);
    printf("operator %s: %s\n", op, opub);
    if (ctl_opt(a, "no-sys"))
        return 0;
    /* The system account, named in the operator JWT as nsc does. */
    char spub[TERN_NKEY_PUBLIC_LEN + 1];
    args none = {0};
    if (add_account_named(ks, op, "SYS", &none, spub) < 0)
        return 1;
    tern_jwt j;
    if (load(ks_operator_path(ks, op), NULL, &j) < 0)
        return 1;
    json_object_set_new(j.nats, "system_account", json_string(spub));
    int rc = ks_sign_write(ks, j.claims, opub, ks_operator_path(ks, op), NULL);
    tern_jwt_clear(&j);
    if (rc < 0)
        return 1;
    /* Its user sys, as nsc makes it: `push` to a full resolver speaks
     * NATS as this user. */
    args sys = { .pos = { "sys" }, .npos = 1, .opt_name = { "account" }, .opt_val = { "SYS" },
                 .nopt = 1 };
    return cmd_add_user(ks, &sys);
}

static void limit(json_t *limits, const args *a, const char *name, const char *key)
{
    const char *v = ctl_opt(a, name);
    if (v)
        json_object_set_new(limits, key, json_integer(strtoll(v, NULL, 10)));
}

static int add_account_named(const keystore *ks, const char *op, const char *name,
                             const args *a, char *pub_out)
{
    tern_jwt oj;
    if (load(ks_operator_path(ks, op), NULL, &oj) < 0)
        return -1;
    char apub[TERN_NKEY_PUBLIC_LEN + 1];
    if (ks_new_key(ks, TERN_NKEY_PREFIX_ACCOUNT, apub) < 0) {
        tern_jwt_clear(&oj);
        return -1;
    }
    json_t *c = new_claims(name, apub, "account");
    json_t *limits = json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I}", "subs", (json_int_t)-1,
                               "data", (json_int_t)-1, "payload", (json_int_t)-1, "imports",
                               (json_int_t)-1, "exports", (json_int_t)-1, "wildcards", 1, "conn",
                               (json_int_t)-1, "leaf", (json_int_t)-1);
    limit(limits, a, "conn", "conn");
    limit(limits, a, "subs", "subs");
    limit(limits, a, "payload", "payload");
    limit(limits, a, "data", "data");
    json_object_set_new(json_object_get(c, "nats"), "limits", limits);
    int rc = ks_sign_write(ks, c, ctl_account_signer(&oj), ks_account_path(ks, op, name), NULL);
    json_decref(c);
    tern_jwt_clear(&oj);
    if (rc == 0) {
        printf("account %s: %s\n", name, apub);
        if (pub_out)
            strcpy(pub_out, apub);
    }
    return rc;
}

static int cmd_add_account(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    if (!op || a->npos < 1) {
        if (op)
            fprintf(stderr, "usage: ternctl add account <name> [--conn N] [--subs N] "
                            "[--payload N] [--data N]\n");
        return 2;
    }
    return add_account_named(ks, op, a->pos[0], a, NULL) < 0;
}

static void perm(json_t *nats, const args *a, const char *dir, const char *opt_allow,
                 const char *opt_deny)
{
    json_t *allow = json_array(), *deny = json_array();
    ctl_opt_list(a, opt_allow, allow);
    ctl_opt_list(a, opt_deny, deny);
    json_t *p = json_object();
    if (json_array_size(allow))
        json_object_set(p, "allow", allow);
    if (json_array_size(deny))
        json_object_set(p, "deny", deny);
    json_decref(allow);
    json_decref(deny);
    json_object_set_new(nats, dir, p);
}

static int cmd_add_user(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    const char *acc = ctl_opt(a, "account");
    if (!op || !acc || a->npos < 1) {
        fprintf(stderr, "usage: ternctl add user <name> --account A [--allow-pub S,..] "
                        "[--allow-sub S,..] [--deny-pub S,..] [--deny-sub S,..] [--bearer] "
                        "[--expiry 24h|unix] [--conn-type STANDARD,..]\n");
        return 2;
    }
    tern_jwt aj;
    if (load(ks_account_path(ks, op, acc), NULL, &aj) < 0)
        return 1;
    char upub[TERN_NKEY_PUBLIC_LEN + 1];
    if (ks_new_key(ks, TERN_NKEY_PREFIX_USER, upub) < 0)
        return 1;
    json_t *c = new_claims(a->pos[0], upub, "user");
    json_t *nats = json_object_get(c, "nats");
    perm(nats, a, "pub", "allow-pub", "deny-pub");
    perm(nats, a, "sub", "allow-sub", "deny-sub");
    json_object_set_new(nats, "subs", json_integer(-1));
    json_object_set_new(nats, "data", json_integer(-1));
    json_object_set_new(nats, "payload", json_integer(-1));
    if (ctl_opt(a, "bearer"))
        json_object_set_new(nats, "bearer_token", json_true());
    json_t *types = json_array();
    ctl_opt_list(a, "conn-type", types);
    if (json_array_size(types))
        json_object_set(nats, "allowed_connection_types", types);
    json_decref(types);
    const char *exp = ctl_opt(a, "expiry");
    if (exp) {
        int64_t e = ctl_parse_expiry(exp);
        if (e < 0) {
            fprintf(stderr, "ternctl: bad --expiry %s\n", exp);
            return 2;
        }
        json_object_set_new(c, "exp", json_integer(e));
    }
    const char *signer = ctl_user_signer(&aj);
    if (strcmp(signer, aj.sub) != 0)
        json_object_set_new(nats, "issuer_account", json_string(aj.sub));
    int rc = ks_sign_write(ks, c, signer, ks_user_path(ks, op, acc, a->pos[0]), NULL);
    json_decref(c);
    tern_jwt_clear(&aj);
    if (rc == 0)
        printf("user %s: %s\n", a->pos[0], upub);
    return rc < 0;
}

/* A new signing key for the operator (--operator-key) or an account. */
static int cmd_add_signing_key(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    const char *acc = ctl_opt(a, "account");
    if (!op || (!acc && !ctl_opt(a, "operator-key"))) {
        fprintf(stderr, "usage: ternctl add signing-key --operator-key | --account A\n");
        return 2;
    }
    char path[1600];
    snprintf(path, sizeof path, "%s", acc ? ks_account_path(ks, op, acc) : ks_operator_path(ks, op));
    tern_jwt j, oj;
    if (load(path, NULL, &j) < 0 || load(ks_operator_path(ks, op), NULL, &oj) < 0)
        return 1;
    char pub[TERN_NKEY_PUBLIC_LEN + 1];
    if (ks_new_key(ks, acc ? TERN_NKEY_PREFIX_ACCOUNT : TERN_NKEY_PREFIX_OPERATOR, pub) < 0)
        return 1;
    json_t *sk = json_object_get(j.nats, "signing_keys");
    if (!json_is_array(sk)) {
        sk = json_array();
        json_object_set_new(j.nats, "signing_keys", sk);
    }
    json_array_append_new(sk, json_string(pub));
    /* The operator is self-signed; an account keeps its operator signer. */
    int rc = ks_sign_write(ks, j.claims, acc ? ctl_account_signer(&oj) : oj.sub, path, NULL);
    tern_jwt_clear(&j);
    tern_jwt_clear(&oj);
    if (rc == 0)
        printf("signing key: %s\n", pub);
    return rc < 0;
}

static int cmd_revoke_user(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    const char *acc = ctl_opt(a, "account");
    if (!op || !acc || a->npos < 1) {
        fprintf(stderr, "usage: ternctl revoke user <name|U…> --account A\n");
        return 2;
    }
    const char *upub = a->pos[0];
    tern_jwt uj = {0};
    if (upub[0] != 'U' || strlen(upub) != TERN_NKEY_PUBLIC_LEN) {
        if (load(ks_user_path(ks, op, acc, a->pos[0]), NULL, &uj) < 0)
            return 1;
        upub = uj.sub;
    }
    tern_jwt aj, oj;
    if (load(ks_account_path(ks, op, acc), NULL, &aj) < 0 ||
        load(ks_operator_path(ks, op), NULL, &oj) < 0)
        return 1;
    json_t *rev = json_object_get(aj.nats, "revocations");
    if (!json_is_object(rev)) {
        rev = json_object();
        json_object_set_new(aj.nats, "revocations", rev);
    }
    /* JWTs issued up to now are revoked (iat <= this time). */
    json_object_set_new(rev, upub, json_integer((json_int_t)time(NULL)));
    int rc = ks_sign_write(ks, aj.claims, ctl_account_signer(&oj), ks_account_path(ks, op, acc), NULL);
    printf("revoked %s in account %s\n", upub, acc);
    tern_jwt_clear(&uj);
    tern_jwt_clear(&aj);
    tern_jwt_clear(&oj);
    return rc < 0;
}

static int cmd_describe(const args *a)
{
    if (a->npos < 1) {
        fprintf(stderr, "usage: ternctl describe <jwt|file>\n");
        return 2;
    }
    const char *in = a->pos[0];
    char *text = strchr(in, '.') && !strchr(in, '/') ? strdup(in) : ks_read_file(in, NULL);
    if (!text) {
        fprintf(stderr, "ternctl: cannot read %s\n", in);
        return 1;
    }
    /* A .creds file: its JWT. */
    char *jwt = NULL, *seed = NULL;
    if (tern_creds_parse(text, strlen(text), &jwt, &seed) == 0) {
        free(text);
        text = jwt;
        free(seed);
    }
    text[strcspn(text, "\r\n")] = 0;
    tern_jwt j;
    char err[256];
    if (tern_jwt_decode(text, strlen(text), &j, err, sizeof err) < 0) {
        fprintf(stderr, "ternctl: invalid JWT: %s\n", err);
        free(text);
        return 1;
    }
    char *pretty = json_dumps(j.claims, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", pretty);
    free(pretty);
    bool valid = tern_jwt_check_time(&j, (int64_t)time(NULL), err, sizeof err) == 0;
    printf("type: %s (v%d), signed by %s: signature valid; %s\n", j.type_name, j.version, j.iss,
           valid ? "valid now" : err);
    tern_jwt_clear(&j);
    free(text);
    return valid ? 0 : 1;
}

static int cmd_generate_creds(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    const char *acc = ctl_opt(a, "account");
    if (!op || !acc || a->npos < 1) {
        fprintf(stderr, "usage: ternctl generate creds <user> --account A [--output FILE]\n");
        return 2;
    }
    char *token;
    tern_jwt uj;
    if (load(ks_user_path(ks, op, acc, a->pos[0]), &token, &uj) < 0)
        return 1;
    char *seed = ks_seed(ks, uj.sub);
    if (!seed) {
        fprintf(stderr, "ternctl: no seed for user %s\n", uj.sub);
        return 1;
    }
    char *creds = tern_creds_format(token, seed);
    const char *out = ctl_opt(a, "output");
    int rc = out ? ks_write_file(out, creds, 0600) : (fputs(creds, stdout) < 0 ? -1 : 0);
    memset(seed, 0, strlen(seed));
    memset(creds, 0, strlen(creds));
    free(seed);
    free(creds);
    free(token);
    tern_jwt_clear(&uj);
    return rc < 0;
}

typedef struct preload_ctx {
    bool        nats;      /* nats-server's form, else YAML */
    const char *only;      /* just this account key (NULL: all) */
} preload_ctx;

static void print_preload(const char *name, const char *token, const tern_jwt *j, void *ud)
{
    const preload_ctx *p = ud;
    if (p->only && strcmp(p->only, j->sub) != 0)
        return;
    if (p->nats)
        printf("  # %s\n  %s: %s\n", name, j->sub, token);
    else
        printf("        # %s\n        %s: \"%s\"\n", name, j->sub, token);
}

/* The server configuration for the keystore's operator with a resolver:
 * memory (every account preloaded), full/cache (a directory, the system
 * account preloaded as nsc does: the rest gets pushed), or url (an
 * account server; the same base URL that `push --url` takes). */
static int cmd_generate_config(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    if (!op)
        return 1;
    const char *type = ctl_opt(a, "resolver") ? ctl_opt(a, "resolver") : "memory";
    const char *dir = ctl_opt(a, "dir"), *url = ctl_opt(a, "url");
    bool memory = !strcmp(type, "memory"), dirs = !strcmp(type, "full") || !strcmp(type, "cache");
    if ((!memory && !dirs && strcmp(type, "url") != 0) || (dirs && !dir) ||
        (!strcmp(type, "url") && !url)) {
        fprintf(stderr, "usage: ternctl generate config [--nats] [--resolver memory | "
                        "--resolver full|cache --dir DIR | --resolver url --url URL]\n");
        return 2;
    }
    char *token;
    tern_jwt oj;
    if (load(ks_operator_path(ks, op), &token, &oj) < 0)
        return 1;
    const char *sys = json_string_value(json_object_get(oj.nats, "system_account"));
    /* nats-server's url resolver and Tern's take the accounts folder. */
    char acc_url[1200] = "";
    if (url)
        snprintf(acc_url, sizeof acc_url, "%s%saccounts/", url,
                 *url && url[strlen(url) - 1] == '/' ? "" : "/");
    preload_ctx pc = { ctl_opt(a, "nats") != NULL, memory ? NULL : sys };
    bool preload = memory || (dirs && sys);
    if (pc.nats) {
        printf("# operator %s (nats-server)\noperator: %s\n", op, token);
        if (sys)
            printf("system_account: %s\n", sys);
        if (memory)
            printf("resolver: MEMORY\n");
        else if (dirs)
            printf("resolver: {\n  type: %s\n  dir: \"%s\"\n  allow_delete: false\n"
                   "  interval: \"2m\"\n  timeout: \"1.9s\"\n}\n", type, dir);
        else
            printf("resolver: URL(%s)\n", acc_url);
        if (preload) {
            printf("resolver_preload: {\n");
            ks_each_account(ks, op, print_preload, &pc);
            printf("}\n");
        }
    } else {
        printf("# operator %s\nmodules:\n  auth_jwt:\n    operator: \"%s\"\n", op, token);
        if (sys)
            printf("    system_account: %s\n", sys);
        printf("    resolver:\n      type: %s\n", type);
        if (dirs)
            printf("      dir: \"%s\"\n      allow_delete: false\n", dir);
        else if (!memory)
            printf("      url: \"%s\"\n", acc_url);
        if (preload) {
            printf("      preload:\n");
            ks_each_account(ks, op, print_preload, &pc);
        }
    }
    free(token);
    tern_jwt_clear(&oj);
    return 0;
}

static void usage(void)
{
    fputs("usage: ternctl [--keystore DIR] <command>\n"
          "  init <operator> [--no-sys]         operator + system account SYS\n"
          "  add account <name> [--conn N] [--subs N] [--payload N] [--data N]\n"
          "  add user <name> --account A [--allow-pub S,..] [--allow-sub S,..]\n"
          "      [--deny-pub S,..] [--deny-sub S,..] [--bearer] [--expiry 24h|unix]\n"
          "      [--conn-type STANDARD,WEBSOCKET,LEAFNODE,MQTT,..]\n"
          "  add signing-key --operator-key | --account A\n"
          "  revoke user <name|U…> --account A\n"
          "  describe <jwt|file>                print and verify\n"
          "  add export --account A --subject S [--name N] [--service] [--private]\n"
          "      [--response-type Singleton|Stream|Chunked]\n"
          "  add import --account B --src-account A --subject S [--service|--stream]\n"
          "      [--local-subject L] [--name N] [--token JWT|FILE]\n"
          "  generate activation --account A --target-account B --subject S\n"
          "      [--service|--stream] [--expiry 30d|unix] [--output FILE]\n"
          "  generate creds <user> --account A [--output FILE]\n"
          "  generate config [--nats] [--resolver memory|full|cache|url] [--dir D] [--url U]\n"
          "                                     modules.auth_jwt YAML, or nats-server's form\n"
          "  push --account A | --all           to a full resolver over NATS as a system user:\n"
          "      [--server nats://H:P] [--creds FILE] [--timeout 5s]\n"
          "      | --url http://H:P/jwt/v1      POST to an account server (url resolvers)\n"
          "The keystore is --keystore, $TERNCTL_HOME or ~/.ternctl.\n",
          stderr);
}

int main(int argc, char **argv)
{
    args a = {0};
    if (parse_args(argc - 1, argv + 1, &a) < 0 || a.npos < 1) {
        usage();
        return 2;
    }
    if (!strcmp(a.pos[0], "describe")) {
        args rest = a;
        memmove(rest.pos, rest.pos + 1, sizeof(char *) * 7);
        rest.npos--;
        return cmd_describe(&rest);
    }
    keystore ks;
    if (ks_open(&ks, ctl_opt(&a, "keystore")) < 0)
        return 1;
    const char *c1 = a.pos[0], *c2 = a.npos > 1 ? a.pos[1] : "";
    args rest = a;
    int skip = !strcmp(c1, "init") ? 1 : 2;
    memmove(rest.pos, rest.pos + skip, sizeof(char *) * (size_t)(8 - skip));
    rest.npos -= skip;
    if (rest.npos < 0)
        rest.npos = 0;
    if (!strcmp(c1, "init") || (!strcmp(c1, "add") && !strcmp(c2, "operator"))) {
        if (!strcmp(c1, "add")) {
            rest = a;
            memmove(rest.pos, rest.pos + 2, sizeof(char *) * 6);
            rest.npos -= 2;
        }
        return cmd_init(&ks, &rest);
    }
    if (!strcmp(c1, "add") && !strcmp(c2, "account"))
        return cmd_add_account(&ks, &rest);
    if (!strcmp(c1, "add") && !strcmp(c2, "user"))
        return cmd_add_user(&ks, &rest);
    if (!strcmp(c1, "add") && !strcmp(c2, "signing-key"))
        return cmd_add_signing_key(&ks, &rest);
    if (!strcmp(c1, "revoke") && !strcmp(c2, "user"))
        return cmd_revoke_user(&ks, &rest);
    if (!strcmp(c1, "generate") && !strcmp(c2, "creds"))
        return cmd_generate_creds(&ks, &rest);
    if (!strcmp(c1, "add") && !strcmp(c2, "export"))
        return cmd_add_export(&ks, &rest);
    if (!strcmp(c1, "add") && !strcmp(c2, "import"))
        return cmd_add_import(&ks, &rest);
    if (!strcmp(c1, "generate") && !strcmp(c2, "activation"))
        return cmd_generate_activation(&ks, &rest);
    if (!strcmp(c1, "generate") && !strcmp(c2, "config"))
        return cmd_generate_config(&ks, &rest);
    if (!strcmp(c1, "push"))
        return cmd_push(&ks, &a);
    usage();
    return 2;
}
