/* Test module "slow": its init takes `delay` (a duration) and logs when
 * it starts and ends, so that a test can hold a reload open and send
 * another reload meanwhile. */
#include <stdlib.h>
#include <time.h>

#include <tern/module.h>

static const char *const keys[] = { "delay", NULL };

static tern_rc slow_validate(tern_module *m, const tern_host_api *api, const tern_config *conf)
{
    int64_t ms;
    tern_rc rc = api->conf_check_keys(m, conf, keys);
    if (rc == TERN_OK && api->conf_duration_ms(m, api->conf_get(conf, "delay"), &ms) == TERN_EINVAL)
        rc = TERN_EINVAL;
    return rc;
}

static tern_rc slow_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                         void **self)
{
    int64_t ms = 0;
    if (api->conf_duration_ms(m, api->conf_get(conf, "delay"), &ms) == TERN_EINVAL)
        return TERN_EINVAL;
    api->log(m, TERN_LOG_LEVEL_INFO, "slow init starts (%lld ms)", (long long)ms);
    /* Holding the main thread is the point: the reload cannot finish. */
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
    api->log(m, TERN_LOG_LEVEL_INFO, "slow init ends");
    *self = NULL;
    return TERN_OK;
}

static void slow_fini(void *self)
{
    (void)self;
}

TERN_MODULE_DEFINE(.name = "slow", .version = "1.0", .description = "test module: a slow init",
                   .init = slow_init, .fini = slow_fini, .validate = slow_validate);
