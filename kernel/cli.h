/* Command-line flags, read with Go's flag package semantics as
 * nats-server's are: one or two dashes, exact names only, `-x v` or
 * `-x=v`, booleans by presence or `-x=false`, every nats-server 2.9 alias.
 *
 * Flags that configure the server become a configuration layer (`overlay`)
 * merged over the files, so they win over the files, also after a reload. */
#ifndef TERN_CLI_H
#define TERN_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

typedef struct tern_cli {
    char *config;              /* -c / --config: file or directory */
    bool  check;               /* -t: check configuration and exit */
    bool  version;             /* -v */
    bool  help;                /* -h */
    char *signal;              /* --signal CMD[=PID|PIDFILE] */
    bool  ignore_unsupported;  /* --ignore-unsupported: nats-server keys Tern
                                  lacks are warnings, not errors */
    char *convert;             /* --convert FILE: print FILE as conf.d YAML */
    tern_conf_node *overlay;   /* root map: { server: { … } } from flags */
} tern_cli;

/* Returns 0, or -1 with a message in err (unknown flag, bad value, or a
 * nats-server flag Tern refuses, naming the flag and why). */
int  tern_cli_parse(int argc, char **argv, tern_cli *cli, char *err, size_t errlen);
void tern_cli_free(tern_cli *cli);
const char *tern_cli_usage(void);

/* --signal: send the signal named by spec ("reload", "stop", "quit",
 * "term", "reopen", "ldm", optionally "=PID" or "=PIDFILE") as
 * nats-server does. pid_file: from the configuration, used when spec names
 * no process; otherwise the single running ternd is found. Returns 0, or
 * -1 with err filled. */
int tern_cli_signal(const char *spec, const char *pid_file, char *err, size_t errlen);

#endif
