/* libFuzzer target for the conf.d YAML front end: tern_conf_parse_yaml,
 * then tern_conf_apply (server section, authorization, accounts) on a
 * tree that parsed, as a reload would. Errors are expected; crashes,
 * leaks and undefined behaviour are not. An error must say something. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "conf_server.h"
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[TERN_CONF_ERR_MAX] = "";
    /* A file in a folder that does not exist: relative paths in the
     * configuration resolve to nothing on this machine. */
    tern_conf_node *root = tern_conf_parse_yaml((const char *)data, size,
                                                "/nonexistent-fuzz/fuzz.yaml", err, sizeof err);
    if (!root) {
        if (!err[0])
            abort();
        return 0;
    }
    tern_opts o;
    tern_opts_init(&o);
    err[0] = '\0';
    if (tern_conf_apply(root, &o, err, sizeof err) < 0 && !err[0]) {
        fprintf(stderr, "tern_conf_apply failed without a message\n");
        abort();
    }
    tern_opts_free(&o);
    tern_conf_free(root);
    return 0;
}
