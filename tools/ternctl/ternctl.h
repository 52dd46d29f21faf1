/* ternctl's command line and the commands its files share. */
#ifndef TERNCTL_H
#define TERNCTL_H

#include "keystore.h"

typedef struct args {
    const char *pos[8];
    int         npos;
    const char *opt_name[32];
    const char *opt_val[32];   /* NULL for a switch */
    int         nopt;
} args;

/* The value of --name ("" for a switch), or NULL when absent. */
const char *ctl_opt(const args *a, const char *name);
/* Every value of a repeatable option, each split at commas, appended to
 * the JSON array arr. */
void ctl_opt_list(const args *a, const char *name, json_t *arr);
/* A duration from now ("24h", "30m", "90s", "7d") or unix seconds; -1. */
int64_t ctl_parse_expiry(const char *s);

/* Who signs an account: the operator's first signing key when there is
 * one (as nsc does), else the operator's identity key. */
const char *ctl_account_signer(const tern_jwt *op);
/* Who signs a user or an activation: the account's first signing key,
 * else the account's identity key. */
const char *ctl_user_signer(const tern_jwt *acc);

/* exports.c */
int cmd_add_export(const keystore *ks, const args *a);
int cmd_add_import(const keystore *ks, const args *a);
int cmd_generate_activation(const keystore *ks, const args *a);

/* push.c */
int cmd_push(const keystore *ks, const args *a);

#endif
