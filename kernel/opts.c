/* Server options: nats-server 2.9.10's defaults and deep copies. */
#include "opts.h"

#include "auth.h"
#include "conf.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

void tern_opts_init(tern_opts *o)
{
    memset(o, 0, sizeof *o);
    o->host = dup_or_null(TERN_DEFAULT_HOST);
    o->port = TERN_DEFAULT_PORT;
    o->workers = 0;
    o->max_payload = TERN_DEFAULT_MAX_PAYLOAD;
    o->max_control_line = TERN_DEFAULT_MAX_CONTROL_LINE;
    o->max_connections = TERN_DEFAULT_MAX_CONNECTIONS;
    o->max_pending = TERN_DEFAULT_MAX_PENDING;
    o->ping_interval_ms = TERN_DEFAULT_PING_INTERVAL_MS;
    o->ping_max = TERN_DEFAULT_PING_MAX;
    o->write_deadline_ms = TERN_DEFAULT_WRITE_DEADLINE_MS;
    o->auth_timeout_ms = TERN_DEFAULT_AUTH_TIMEOUT_MS;
    o->lame_duck_duration_ms = TERN_DEFAULT_LDM_DURATION_MS;
    o->lame_duck_grace_ms = TERN_DEFAULT_LDM_GRACE_MS;
    o->log.time = true;
    o->tls.timeout_ms = TERN_DEFAULT_TLS_TIMEOUT_MS;
    o->tls.min_version = 12;
}

void tern_opts_free(tern_opts *o)
{
    free(o->name);
    free(o->host);
    free(o->log.file);
    free(o->pid_file);
    free(o->ports_file_dir);
    free(o->modules_dir);
    free(o->tls.cert);
    free(o->tls.key);
    free(o->tls.ca);
    free(o->tls.ciphers);
    free(o->tls.ciphersuites);
    tern_auth_unref(o->auth);
    tern_conf_free(o->modules);
    memset(o, 0, sizeof *o);
}

void tern_opts_copy(tern_opts *dst, const tern_opts *src)
{
    *dst = *src;
    dst->name = dup_or_null(src->name);
    dst->host = dup_or_null(src->host);
    dst->log.file = dup_or_null(src->log.file);
    dst->pid_file = dup_or_null(src->pid_file);
    dst->ports_file_dir = dup_or_null(src->ports_file_dir);
    dst->modules_dir = dup_or_null(src->modules_dir);
    dst->tls.cert = dup_or_null(src->tls.cert);
    dst->tls.key = dup_or_null(src->tls.key);
    dst->tls.ca = dup_or_null(src->tls.ca);
    dst->tls.ciphers = dup_or_null(src->tls.ciphers);
    dst->tls.ciphersuites = dup_or_null(src->tls.ciphersuites);
    dst->auth = tern_auth_ref(src->auth);
    dst->modules = src->modules ? tern_conf_copy(src->modules) : NULL;
}

int64_t tern_opts_default_auth_timeout_ms(const tern_opts *o)
{
    return o->tls.enabled ? o->tls.timeout_ms + 1000 : TERN_DEFAULT_AUTH_TIMEOUT_MS;
}
