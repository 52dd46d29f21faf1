/* ternctl's keystore (keystore.h). */
#include "keystore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int mkdirs(const char *path)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int ks_open(keystore *ks, const char *dir)
{
    const char *home = getenv("HOME");
    if (!dir)
        dir = getenv("TERNCTL_HOME");
    if (dir && *dir)
        snprintf(ks->root, sizeof ks->root, "%s", dir);
    else
        snprintf(ks->root, sizeof ks->root, "%s/.ternctl", home ? home : ".");
    char keys[1100];
    snprintf(keys, sizeof keys, "%s/keys", ks->root);
    if (mkdirs(keys) < 0) {
        fprintf(stderr, "ternctl: cannot create %s: %s\n", keys, strerror(errno));
        return -1;
    }
    return 0;
}

char *ks_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

int ks_write_file(const char *path, const char *text, int mode)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        if (mkdirs(dir) < 0)
            return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        fprintf(stderr, "ternctl: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

static const char *key_path(const keystore *ks, const char *pub)
{
    static char p[PATH_MAX + 1024];
    snprintf(p, sizeof p, "%s/keys/%s.nk", ks->root, pub);
    return p;
}

int ks_new_key(const keystore *ks, uint8_t type, char pub[TERN_NKEY_PUBLIC_LEN + 1])
{
    tern_nkey_pair kp;
    char seed[TERN_NKEY_SEED_LEN + 2];
    if (tern_nkey_create(type, &kp) < 0 || tern_nkey_pair_public(&kp, pub) < 0 ||
        tern_nkey_pair_seed(&kp, seed) < 0)
        return -1;
    tern_nkey_pair_wipe(&kp);
    strcat(seed, "\n");
    return ks_write_file(key_path(ks, pub), seed, 0600);
}

char *ks_seed(const keystore *ks, const char *pub)
{
    char *s = ks_read_file(key_path(ks, pub), NULL);
    if (s)
        s[strcspn(s, "\r\n")] = 0;
    return s;
}

int ks_key(const keystore *ks, const char *pub, tern_nkey_pair *kp)
{
    char *s = ks_seed(ks, pub);
    if (!s) {
        fprintf(stderr, "ternctl: no seed for %s in %s/keys\n", pub, ks->root);
        return -1;
    }
    int rc = tern_nkey_from_seed(s, kp);
    memset(s, 0, strlen(s));
    free(s);
    return rc;
}

const char *ks_operator_path(const keystore *ks, const char *op)
{
    static char p[PATH_MAX + 1024];
    snprintf(p, sizeof p, "%s/operators/%s/%s.jwt", ks->root, op, op);
    return p;
}

const char *ks_accounts_dir(const keystore *ks, const char *op)
{
    static char p[PATH_MAX + 1024];
    snprintf(p, sizeof p, "%s/operators/%s/accounts", ks->root, op);
    return p;
}

const char *ks_account_path(const keystore *ks, const char *op, const char *acc)
{
    static char p[PATH_MAX + 1024];
    snprintf(p, sizeof p, "%s/operators/%s/accounts/%s/%s.jwt", ks->root, op, acc, acc);
    return p;
}

const char *ks_users_dir(const keystore *ks, const char *op, const char *acc)
{
    static char p[PATH_MAX + 1024];
    snprintf(p, sizeof p, "%s/operators/%s/accounts/%s/users", ks->root, op, acc);
    return p;
}

const char *ks_user_path(const keystore *ks, const char *op, const char *acc, const char *user)
{
    static char p[PATH_MAX + 1024];
    snprintf(p, sizeof p, "%s/operators/%s/accounts/%s/users/%s.jwt", ks->root, op, acc, user);
    return p;
}

const char *ks_the_operator(const keystore *ks)
{
    static char name[256];
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/operators", ks->root);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(name, sizeof name, "%s", e->d_name);
            n++;
        }
    if (d)
        closedir(d);
    if (n != 1) {
        fprintf(stderr, "ternctl: %s in %s (run `ternctl init <name>`)\n",
                n ? "several operators" : "no operator", ks->root);
        return NULL;
    }
    return name;
}

int ks_read_jwt(const char *path, char **token, tern_jwt *j)
{
    char *t = ks_read_file(path, NULL);
    if (!t) {
        fprintf(stderr, "ternctl: cannot read %s\n", path);
        return -1;
    }
    t[strcspn(t, "\r\n")] = 0;
    char err[256];
    if (tern_jwt_decode(t, strlen(t), j, err, sizeof err) < 0) {
        fprintf(stderr, "ternctl: %s: %s\n", path, err);
        free(t);
        return -1;
    }
    if (token)
        *token = t;
    else
        free(t);
    return 0;
}

int ks_sign_write(const keystore *ks, const json_t *claims, const char *signer_pub,
                  const char *path, char **token)
{
    tern_nkey_pair kp;
    if (ks_key(ks, signer_pub, &kp) < 0)
        return -1;
    char err[256];
    char *t = tern_jwt_encode(claims, &kp, (int64_t)time(NULL), err, sizeof err);
    tern_nkey_pair_wipe(&kp);
    if (!t) {
        fprintf(stderr, "ternctl: %s\n", err);
        return -1;
    }
    size_t n = strlen(t);
    char *line = malloc(n + 2);
    memcpy(line, t, n);
    memcpy(line + n, "\n", 2);
    int rc = ks_write_file(path, line, 0644);
    free(line);
    if (rc == 0 && token)
        *token = t;
    else
        free(t);
    return rc;
}

void ks_each_account(const keystore *ks, const char *op,
                     void (*fn)(const char *name, const char *token, const tern_jwt *j, void *ud),
                     void *ud)
{
    DIR *d = opendir(ks_accounts_dir(ks, op));
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *token;
        tern_jwt j;
        if (ks_read_jwt(ks_account_path(ks, op, e->d_name), &token, &j) == 0) {
            fn(e->d_name, token, &j, ud);
            free(token);
            tern_jwt_clear(&j);
        }
    }
    if (d)
        closedir(d);
}

typedef struct by_key {
    const char *key;
    char       *out;
    bool        found;
} by_key;

static void match_key(const char *name, const char *token, const tern_jwt *j, void *ud)
{
    (void)token;
    by_key *b = ud;
    if (!b->found && !strcmp(j->sub, b->key)) {
        snprintf(b->out, 256, "%s", name);
        b->found = true;
    }
}

int ks_account_name(const keystore *ks, const char *op, const char *name_or_key, char *out)
{
    struct stat st;
    if (!strchr(name_or_key, '/') && stat(ks_account_path(ks, op, name_or_key), &st) == 0) {
        snprintf(out, 256, "%s", name_or_key);
        return 0;
    }
    by_key b = { name_or_key, out, false };
    if (tern_nkey_is_valid_public(name_or_key, TERN_NKEY_PREFIX_ACCOUNT))
        ks_each_account(ks, op, match_key, &b);
    return b.found ? 0 : -1;
}
