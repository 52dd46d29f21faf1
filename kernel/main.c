/* ternd: parse flags, build the configuration, run the server. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "conf_emit.h"
#include "log.h"
#include "module.h"
#include "module_natsmap.h"
#include "server.h"

/* --convert: the file through the configuration front ends, out as YAML. */
static int convert(const tern_cli *cli)
{
    char err[TERN_CONF_ERR_MAX];
    /* modules map their own keys: --modules_dir is searched first */
    const tern_conf_node *mdir = tern_conf_get(tern_conf_get(cli->overlay, "server"), "modules_dir");
    tern_nats_modules_dir_set(mdir && mdir->type == TERN_CONF_SCALAR ? mdir->value : NULL);
    tern_conf_node *root = tern_conf_load_ex(cli->convert, cli->ignore_unsupported, err, sizeof err);
    if (!root) {
        fprintf(stderr, "ternd: %s\n", err);
        return 1;
    }
    char header[1024];
    snprintf(header, sizeof header,
             "conf.d YAML converted by ternd %s from %s\n"
             "(comments, include files and variables are resolved; see docs/nats-conf.md)",
             TERN_VERSION, cli->convert);
    int rc = tern_conf_emit_yaml(root, header, stdout, err, sizeof err);
    tern_conf_free(root);
    if (rc != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "ternd: %s\n", rc != 0 ? err : "cannot write the output");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Outbound buffers and cross-worker batches of large messages come and
     * go by the megabyte: keep them in the heap instead of paying an mmap,
     * page faults and munmap for each (glibc's default threshold adapts
     * only up to 32 MiB and trims eagerly). */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    char err[TERN_CONF_ERR_MAX];
    tern_cli cli = {0};
    if (tern_cli_parse(argc, argv, &cli, err, sizeof err) != 0) {
        fprintf(stderr, "ternd: %s\n%s", err, tern_cli_usage());
        tern_cli_free(&cli);
        return 1;
    }
    if (cli.help) {
        fputs(tern_cli_usage(), stdout);
        tern_cli_free(&cli);
        return 0;
    }
    if (cli.version) {
        printf("ternd: v%s (nats-server %s protocol)\n", TERN_VERSION, TERN_NATS_VERSION);
        tern_cli_free(&cli);
        return 0;
    }

    if (cli.convert) {
        int crc = convert(&cli);
        tern_cli_free(&cli);
        return crc;
    }

    char *signal_spec = cli.signal ? strdup(cli.signal) : NULL;
    bool check = cli.check;
    char *config = cli.config ? strdup(cli.config) : NULL;
    tern_opts opts;
    int rc = tern_server_load_opts(&cli, &opts, err, sizeof err);
    tern_cli_free(&cli);
    if (rc != 0) {
        fprintf(stderr, "ternd: %s\n", err);
        free(signal_spec);
        free(config);
        return 1;
    }
    if (signal_spec) {
        rc = tern_cli_signal(signal_spec, opts.pid_file, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "ternd: %s\n", err);
        free(signal_spec);
        free(config);
        tern_opts_free(&opts);
        return rc == 0 ? 0 : 1;
    }
    if (check) {
        /* Each module checks its own section (its validate entry). */
        if (tern_modules_validate(opts.modules, opts.modules_dir, err, sizeof err) != 0) {
            fprintf(stderr, "ternd: %s\n", err);
            free(config);
            tern_opts_free(&opts);
            return 1;
        }
        printf("ternd: configuration %s is valid\n", config ? config : "(defaults)");
        free(config);
        tern_opts_free(&opts);
        return 0;
    }
    free(config);

    if (tern_log_configure(&opts.log) != 0) {
        fprintf(stderr, "ternd: cannot open log file %s\n", opts.log.file);
        tern_opts_free(&opts);
        return 1;
    }
    tern_server srv;
    rc = tern_server_init(&srv, &opts, argc, argv);
    tern_opts_free(&opts);
    if (rc == 0)
        rc = tern_server_run(&srv);
    else
        rc = 1;
    tern_server_free(&srv);
    tern_log_shutdown();
    return rc;
}
