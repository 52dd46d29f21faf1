/* Test module built for another ABI major (MOD_ABI_MAJOR, e.g. 2 or 0):
 * the server must refuse it naming both versions. Its descriptor is
 * written out by hand since TERN_MODULE_DEFINE stamps the current ABI. */
#include <tern/module.h>

#ifndef MOD_ABI_MAJOR
#error "MOD_ABI_MAJOR must be set"
#endif
#ifndef MOD_ABI_MINOR
#define MOD_ABI_MINOR 9
#endif

static tern_rc abi_init(tern_module *m, const tern_host_api *api, const tern_config *conf,
                        void **self)
{
    (void)m, (void)api, (void)conf;
    *self = 0;
    return TERN_OK;
}

static void abi_fini(void *self)
{
    (void)self;
}

TERN_EXPORT const tern_module_desc *tern_module_entry(void);
TERN_EXPORT const tern_module_desc *tern_module_entry(void)
{
    static const tern_module_desc d = {
        .magic = TERN_MODULE_MAGIC, .abi_major = MOD_ABI_MAJOR, .abi_minor = MOD_ABI_MINOR,
        .size = sizeof(tern_module_desc), .name = "abi", .version = "1.0",
        .init = abi_init, .fini = abi_fini,
    };
    return &d;
}
