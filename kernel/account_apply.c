/* Accounts made by modules (account_apply.h). A spec is JSON, which the
 * YAML reader takes as it is (flow style), so it goes through the very
 * code that reads `accounts.<name>` in conf.d. Specs are remembered by
 * name and applied again over the file's accounts at every reload:
 * a module's account outlives a SIGHUP. */
#include "account_apply.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "conf.h"
#include "conf_accounts.h"
#include "log.h"
#include "module_int.h"
#include "server.h"
#include "xalloc.h"

typedef struct tern_acc_spec {
    char *name;
    char *json;
} tern_acc_spec;

void tern_acc_specs_free(tern_accounts *r)
{
    for (size_t i = 0; i < r->nspecs; i++) {
        free(r->specs[i].name);
        free(r->specs[i].json);
    }
    free(r->specs);
    r->specs = NULL;
    r->nspecs = 0;
}

/* Account `name` of conf becomes what json says (created if new). */
static int apply_spec(tern_accounts_conf *conf, const char *name, const char *json, char *err,
                      size_t errlen)
{
    tern_conf_node *root = tern_conf_parse_yaml(json, strlen(json), "<account_apply>", err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    int idx = tern_accounts_conf_find(conf, name);
    if (idx == 0 || (idx >= 0 && idx == conf->system)) {
        snprintf(err, errlen, "account \"%s\" can not be changed by a module", name);
    } else {
        if (idx < 0) {
            idx = tern_accounts_conf_add(conf, name);
        } else {
            tern_account_conf_clear(&conf->accs[idx]);
            conf->accs[idx].name = tern_xstrdup(name);
            conf->accs[idx].max_connections = conf->accs[idx].max_subscriptions =
                conf->accs[idx].max_payload = -1;
        }
        rc = tern_conf_account_spec(root, conf, idx, err, errlen);
    }
    tern_conf_free(root);
    return rc;
}

static bool valid_name(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '.' || *p == '*' ||
            *p == '>')
            return false;
    return true;
}

/* Under a pause when the workers run; before they start nothing reads
 * the accounts but this thread. */
static void switch_to(tern_server *s, tern_accounts_conf *conf)
{
    /* A module's init may run inside a reload's pause already. */
    pthread_mutex_lock(&s->pause_mu);
    bool held = s->paused > 0;
    pthread_mutex_unlock(&s->pause_mu);
    bool pause = s->workers_started && !held;
    if (pause)
        tern_server_pause_workers(s);
    tern_accounts_switch(s, conf);
    if (pause)
        tern_server_resume_workers(s);
}

tern_rc tern_mod_account_apply(tern_module *m, const char *name, const char *json)
{
    tern_server *s = tern_mod_srv;
    if (!s)
        return TERN_ENOTSUP;
    if (!valid_name(name) || !json) {
        tern_mod_set_error(m, "account_apply: %s", !json ? "no spec" : "invalid account name");
        return TERN_EINVAL;
    }
    char err[TERN_CONF_ERR_MAX] = "";
    tern_accounts_conf *conf = tern_accounts_conf_clone(s->accounts.conf);
    if (apply_spec(conf, name, json, err, sizeof err) < 0) {
        tern_accounts_conf_unref(conf);
        tern_mod_set_error(m, "account_apply \"%s\": %s", name, err);
        return TERN_EINVAL;
    }
    tern_accounts *r = &s->accounts;
    size_t i = 0;
    while (i < r->nspecs && strcmp(r->specs[i].name, name) != 0)
        i++;
    if (i == r->nspecs) {
        r->specs = tern_xrealloc(r->specs, (r->nspecs + 1) * sizeof *r->specs);
        r->specs[r->nspecs++] = (tern_acc_spec){tern_xstrdup(name), NULL};
    }
    free(r->specs[i].json);
    r->specs[i].json = tern_xstrdup(json);
    switch_to(s, conf);
    return TERN_OK;
}

void tern_accounts_reload(tern_server *s, tern_accounts_conf *file)
{
    tern_accounts_conf *conf;
    if (file) {
        conf = tern_accounts_conf_clone(file);
    } else {
        conf = tern_accounts_conf_new();
        conf->system = tern_accounts_conf_add(conf, TERN_SYSTEM_ACCOUNT);
    }
    tern_accounts *r = &s->accounts;
    for (size_t i = 0; i < r->nspecs; i++) {
        char err[TERN_CONF_ERR_MAX] = "";
        tern_accounts_conf *next = tern_accounts_conf_clone(conf);
        if (apply_spec(next, r->specs[i].name, r->specs[i].json, err, sizeof err) < 0) {
            tern_errorf("Reload: the module account \"%s\" no longer applies: %s",
                        r->specs[i].name, err);
            tern_accounts_conf_unref(next);
            continue;
        }
        tern_accounts_conf_unref(conf);
        conf = next;
    }
    tern_accounts_switch(s, conf);
}
