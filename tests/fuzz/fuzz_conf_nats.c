/* libFuzzer target for the nats-server configuration front end:
 * tern_conf_parse_nats, the mapping to Tern's keys (tern_conf_nats_map,
 * with and without --ignore-unsupported, chosen by the first byte) and
 * tern_conf_apply on the result. Errors are expected; crashes, leaks and
 * undefined behaviour are not, and every failure must carry a message.
 *
 * The file is named inside a folder that does not exist, so relative
 * `include`s fail instead of reading whatever lies around. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "conf_nats.h"
#include "conf_nats_map.h"
#include "conf_server.h"
#include "opts.h"

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static void need_message(const char *what, const char *err)
{
    if (!err[0]) {
        fprintf(stderr, "%s failed without a message\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    tern_nats_map_opts mo = {.ignore_unsupported = data[0] & 1, .warn = quiet};
    data++;
    size--;

    char err[TERN_CONF_ERR_MAX] = "";
    tern_nats_vars vars = {0};
    tern_conf_node *nats = tern_conf_parse_nats((const char *)data, size,
                                                "/nonexistent-fuzz/fuzz.conf", &vars, err,
                                                sizeof err);
    if (!nats) {
        need_message("tern_conf_parse_nats", err);
        tern_nats_vars_free(&vars);
        return 0;
    }
    tern_conf_node *root = tern_conf_nats_map(nats, &vars, &mo, err, sizeof err);
    if (!root) {
        need_message("tern_conf_nats_map", err);
    } else {
        tern_opts o;
        tern_opts_init(&o);
        err[0] = '\0';
        if (tern_conf_apply(root, &o, err, sizeof err) < 0)
            need_message("tern_conf_apply", err);
        tern_opts_free(&o);
        tern_conf_free(root);
    }
    tern_conf_free(nats);
    tern_nats_vars_free(&vars);
    return 0;
}
