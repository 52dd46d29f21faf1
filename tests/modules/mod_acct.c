/* Test module "acct": creates an account with api->account_apply and
 * binds a user's clients to it from its authentication hook.
 *
 * Configuration:
 *   account: the account to create (required)
 *   spec: its JSON spec (default "{}")
 *   bad_spec: a spec that must be refused; the module logs
 *             "bad spec refused: <reason>" (or "bad spec accepted")
 *   user: the user name bound to the account (others: ignored) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/module.h>

typedef struct acct {
    const tern_host_api *api;
    tern_module         *m;
    char                 account[64], user[64];
    char                 spec[1024], bad_spec[1024];
} acct;

static const char *const keys[] = { "account", "spec", "bad_spec", "user", NULL };

static tern_rc read_str(acct *a, const tern_config *conf, const char *key, char *out, size_t n)
{
    const char *s = NULL;
    tern_rc rc = a->api->conf_str(a->m, a->api->conf_get(conf, key), &s);
    if (rc == TERN_OK)
        snprintf(out, n, "%s", s);
    return rc == TERN_ENOENT ? TERN_OK : rc;
}

static tern_rc acct_read(acct *a, const tern_config *conf)
{
    if (a->api->conf_check_keys(a->m, conf, keys) != TERN_OK)
        return TERN_EINVAL;
    snprintf(a->spec, sizeof a->spec, "{}");
    tern_rc rc = read_str(a, conf, "account", a->account, sizeof a->account);
    if (rc == TERN_OK)
        rc = read_str(a, conf, "spec", a->spec, sizeof a->spec);
    if (rc == TERN_OK)
        rc = read_str(a, conf, "bad_spec", a->bad_spec, sizeof a->bad_spec);
    if (rc == TERN_OK)
        rc = read_str(a, conf, "user", a->user, sizeof a->user);
    if (rc == TERN_OK && !a->account[0])
        rc = a->api->conf_error(a->m, conf, "account is required");
    return rc;
}

static tern_verdict on_auth(tern_module *m, const tern_evt_hdr *hdr, void *ud)
{
    (void)m;
    acct *a = ud;
    tern_evt_auth *ev = (tern_evt_auth *)hdr;
    if (!a->user[0] || !ev->user || strcmp(ev->user, a->user) != 0)
        return TERN_VERDICT_IGNORE;
    ev->account = a->account;
    return TERN_VERDICT_ALLOW;
}

static tern_rc acct_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    acct a = { .api = api, .m = m };
    return acct_read(&a, conf);
}

static tern_rc acct_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                         void **self)
{
    acct *a = calloc(1, sizeof *a);
    if (!a)
        return TERN_ENOMEM;
    a->api = api;
    a->m = m;
    tern_rc rc = acct_read(a, conf);
    if (rc == TERN_OK && (rc = api->account_apply(m, a->account, a->spec)) != TERN_OK)
        api->log(m, TERN_LOG_LEVEL_ERROR, "account_apply failed: %s", api->error(m));
    if (rc == TERN_OK && a->bad_spec[0]) {
        if (api->account_apply(m, a->account, a->bad_spec) == TERN_EINVAL)
            api->log(m, TERN_LOG_LEVEL_INFO, "bad spec refused: %s", api->error(m));
        else
            api->log(m, TERN_LOG_LEVEL_INFO, "bad spec accepted");
    }
    if (rc == TERN_OK)
        rc = api->hook_register(m, TERN_EVT_AUTH, 0, on_auth, a);
    if (rc != TERN_OK) {
        free(a);
        return rc;
    }
    *self = a;
    return TERN_OK;
}

static void acct_fini(void *self)
{
    free(self);
}

TERN_MODULE_DEFINE(.name = "acct", .version = "1.0",
                   .description = "test module: accounts made by a module", .init = acct_init,
                   .fini = acct_fini, .validate = acct_validate)
