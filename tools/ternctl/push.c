/* ternctl push: account JWTs to the server's resolver.
 *  - full/cache resolvers (nats-server's and Tern's) take
 *    $SYS.REQ.CLAIMS.UPDATE with the JWT from a system-account user, over
 *    NATS (cnats); the answer is {"data":{…,"message":"jwt updated"}} or
 *    {"error":{…,"description":…}};
 *  - account servers (url resolvers) take POST <url>/accounts/<pubkey>
 *    (libcurl). */
#include <curl/curl.h>
#include <dirent.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ternctl.h"

typedef struct push_ctx {
    const char     *url;       /* account server, or NULL: NATS */
    const char     *only;      /* the account's name or key, NULL: all */
    natsConnection *nc;
    int64_t         timeout_ms;
    int             pushed, failed;
} push_ctx;

static bool selected(const push_ctx *p, const char *name, const tern_jwt *j)
{
    return !p->only || !strcmp(p->only, name) || !strcmp(p->only, j->sub);
}

static void http_push(push_ctx *p, const char *name, const char *token, const tern_jwt *j)
{
    char url[2048];
    size_t n = strlen(p->url);
    snprintf(url, sizeof url, "%s%saccounts/%s", p->url, n && p->url[n - 1] == '/' ? "" : "/",
             j->sub);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/plain");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, token);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status < 200 || status > 299) {
        fprintf(stderr, "ternctl: push %s to %s: %s (HTTP %ld)\n", name, url,
                rc != CURLE_OK ? curl_easy_strerror(rc) : "refused", status);
        p->failed++;
    } else {
        printf("pushed %s (%s) to %s\n", name, j->sub, url);
        p->pushed++;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* One account over NATS: the server's answer printed, and counted. */
static void nats_push(push_ctx *p, const char *name, const char *token, const tern_jwt *j)
{
    natsMsg *m = NULL;
    natsStatus st = natsConnection_RequestString(&m, p->nc, "$SYS.REQ.CLAIMS.UPDATE", token,
                                                 p->timeout_ms);
    if (st != NATS_OK) {
        fprintf(stderr, "ternctl: push %s (%s): %s%s\n", name, j->sub, natsStatus_GetText(st),
                st == NATS_NO_RESPONDERS || st == NATS_TIMEOUT
                    ? " (is the server's resolver full or cache? for an account server, "
                      "use --url)"
                    : "");
        p->failed++;
        return;
    }
    json_t *r = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    json_t *data = json_object_get(r, "data"), *err = json_object_get(r, "error");
    const char *server = json_string_value(json_object_get(json_object_get(r, "server"), "name"));
    if (!server)
        server = json_string_value(json_object_get(json_object_get(r, "server"), "id"));
    if (json_is_object(data) && !err) {
        const char *msg = json_string_value(json_object_get(data, "message"));
        printf("pushed %s (%s)%s%s: %s\n", name, j->sub, server ? " to " : "",
               server ? server : "", msg ? msg : "ok");
        p->pushed++;
    } else {
        const char *why = json_string_value(json_object_get(err, "description"));
        fprintf(stderr, "ternctl: push %s (%s) refused: %.*s\n", name, j->sub,
                why ? (int)strlen(why) : natsMsg_GetDataLength(m),
                why ? why : natsMsg_GetData(m));
        p->failed++;
    }
    json_decref(r);
    natsMsg_Destroy(m);
}

static void push_one(const char *name, const char *token, const tern_jwt *j, void *ud)
{
    push_ctx *p = ud;
    if (!selected(p, name, j))
        return;
    if (p->url)
        http_push(p, name, token, j);
    else
        nats_push(p, name, token, j);
}

/* ---- the system-account user ------------------------------------------- */

typedef struct sys_user {
    char *jwt;
    char *seed;
} sys_user;

static natsStatus on_jwt(char **jwt, char **err, void *ud)
{
    (void)err;
    *jwt = strdup(((sys_user *)ud)->jwt);
    return *jwt ? NATS_OK : NATS_NO_MEMORY;
}

static natsStatus on_sign(char **err, unsigned char **sig, int *len, const char *nonce, void *ud)
{
    (void)err;
    tern_nkey_pair kp;
    if (tern_nkey_from_seed(((sys_user *)ud)->seed, &kp) < 0)
        return NATS_ERR;
    *sig = malloc(TERN_NKEY_SIG_LEN);
    if (!*sig) {
        tern_nkey_pair_wipe(&kp);
        return NATS_NO_MEMORY;
    }
    tern_nkey_sign(&kp, nonce, strlen(nonce), *sig);
    tern_nkey_pair_wipe(&kp);
    *len = TERN_NKEY_SIG_LEN;
    return NATS_OK;
}

/* The keystore's user of the operator's system account: "sys" (made by
 * init), else the first one. 0 or -1 (message printed). */
static int keystore_sys_user(const keystore *ks, const char *op, sys_user *u)
{
    tern_jwt oj;
    if (ks_read_jwt(ks_operator_path(ks, op), NULL, &oj) < 0)
        return -1;
    const char *sys = json_string_value(json_object_get(oj.nats, "system_account"));
    char acc[256];
    int rc = -1;
    if (!sys || ks_account_name(ks, op, sys, acc) < 0) {
        fprintf(stderr, "ternctl: the keystore holds no system account: give --creds\n");
        goto out;
    }
    char path[1700];
    snprintf(path, sizeof path, "%s", ks_user_path(ks, op, acc, "sys"));
    u->jwt = ks_read_file(path, NULL);
    if (!u->jwt) {
        DIR *d = opendir(ks_users_dir(ks, op, acc));
        struct dirent *e;
        while (d && !u->jwt && (e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n > 4 && !strcmp(e->d_name + n - 4, ".jwt")) {
                snprintf(path, sizeof path, "%s/%s", ks_users_dir(ks, op, acc), e->d_name);
                u->jwt = ks_read_file(path, NULL);
            }
        }
        if (d)
            closedir(d);
    }
    if (!u->jwt) {
        fprintf(stderr, "ternctl: account %s has no user (ternctl add user sys --account %s) "
                        "or give --creds\n", acc, acc);
        goto out;
    }
    u->jwt[strcspn(u->jwt, "\r\n")] = 0;
    tern_jwt uj;
    char err[256];
    if (tern_jwt_decode(u->jwt, strlen(u->jwt), &uj, err, sizeof err) < 0) {
        fprintf(stderr, "ternctl: %s: %s\n", path, err);
        goto out;
    }
    u->seed = ks_seed(ks, uj.sub);
    if (!u->seed)
        fprintf(stderr, "ternctl: no seed for the system user %s\n", uj.sub);
    tern_jwt_clear(&uj);
    rc = u->seed ? 0 : -1;
out:
    tern_jwt_clear(&oj);
    return rc;
}

/* The server: --server, else the operator's operator_service_urls, else
 * the local default. */
static const char *server_url(const keystore *ks, const char *op, const args *a, char *buf,
                              size_t len)
{
    const char *s = ctl_opt(a, "server");
    if (s)
        return s;
    tern_jwt oj;
    snprintf(buf, len, "nats://127.0.0.1:4222");
    if (ks_read_jwt(ks_operator_path(ks, op), NULL, &oj) == 0) {
        const char *u = json_string_value(
            json_array_get(json_object_get(oj.nats, "operator_service_urls"), 0));
        if (u)
            snprintf(buf, len, "%s", u);
        tern_jwt_clear(&oj);
    }
    return buf;
}

/* Connect as the system user. cnats now and then sends a CONNECT without
 * the nonce signature; a refused connect is tried again. */
static natsConnection *sys_connect(const char *url, const char *creds, sys_user *u,
                                   int64_t timeout_ms)
{
    natsConnection *nc = NULL;
    natsStatus st = NATS_ERR;
    for (int i = 0; i < 3 && st != NATS_OK; i++) {
        natsOptions *o = NULL;
        natsOptions_Create(&o);
        natsOptions_SetURL(o, url);
        natsOptions_SetAllowReconnect(o, false);
        natsOptions_SetTimeout(o, timeout_ms);
        natsOptions_SetName(o, "ternctl");
        if (creds)
            natsOptions_SetUserCredentialsFromFiles(o, creds, NULL);
        else
            natsOptions_SetUserCredentialsCallbacks(o, on_jwt, u, on_sign, u);
        natsConnection_Destroy(nc);
        nc = NULL;
        st = natsConnection_Connect(&nc, o);
        natsOptions_Destroy(o);
        if (st != NATS_OK && st != NATS_CONNECTION_AUTH_FAILED && st != NATS_NOT_PERMITTED)
            break;
    }
    if (st != NATS_OK) {
        const char *last = nats_GetLastError(NULL);
        fprintf(stderr, "ternctl: cannot connect to %s as a system user: %s\n", url,
                last && *last ? last : natsStatus_GetText(st));
        natsConnection_Destroy(nc);
        return NULL;
    }
    return nc;
}

int cmd_push(const keystore *ks, const args *a)
{
    const char *op = ks_the_operator(ks);
    const char *only = ctl_opt(a, "account"), *url = ctl_opt(a, "url");
    bool all = ctl_opt(a, "all") != NULL;
    if (!op || (!only == !all) || (only && !*only)) {
        fprintf(stderr, "usage: ternctl push --account A | --all [--server nats://host:port] "
                        "[--creds FILE] [--timeout 5s]\n"
                        "       ternctl push --account A | --all --url http://host:port/jwt/v1\n");
        return 2;
    }
    int64_t timeout_ms = 5000;
    const char *t = ctl_opt(a, "timeout");
    if (t) {
        char *end;
        double v = strtod(t, &end);
        timeout_ms = !strcmp(end, "ms") ? (int64_t)v : (int64_t)(v * 1000);
        if (end == t || timeout_ms <= 0 || (*end && strcmp(end, "s") && strcmp(end, "ms"))) {
            fprintf(stderr, "ternctl: bad --timeout %s (5s, 500ms)\n", t);
            return 2;
        }
    }
    char account[256];
    if (only && ks_account_name(ks, op, only, account) < 0) {
        fprintf(stderr, "ternctl: no account %s in the keystore\n", only);
        return 1;
    }
    push_ctx p = { url, only ? account : NULL, NULL, timeout_ms, 0, 0 };
    if (url) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        ks_each_account(ks, op, push_one, &p);
        curl_global_cleanup();
        return p.failed != 0 || p.pushed == 0;
    }
    sys_user u = { NULL, NULL };
    const char *creds = ctl_opt(a, "creds");
    if (!creds && keystore_sys_user(ks, op, &u) < 0) {
        free(u.jwt);
        free(u.seed);
        return 1;
    }
    char buf[512];
    const char *server = server_url(ks, op, a, buf, sizeof buf);
    p.nc = sys_connect(server, creds, &u, timeout_ms);
    if (p.nc) {
        ks_each_account(ks, op, push_one, &p);
        natsConnection_Destroy(p.nc);
    }
    if (u.seed)
        memset(u.seed, 0, strlen(u.seed));
    free(u.jwt);
    free(u.seed);
    nats_Close();
    return !p.nc || p.failed != 0 || p.pushed == 0;
}
