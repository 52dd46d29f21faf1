/* Where the unit tests' data files are: $TERN_TEST_DATA (set by
 * tests/unit/CMakeLists.txt), made absolute, plus an optional sub-folder. */
#ifndef TERN_TEST_DATA_H
#define TERN_TEST_DATA_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int test_data_dir(char *out, size_t n, const char *sub)
{
    const char *d = getenv("TERN_TEST_DATA");
    if (!d) {
        fprintf(stderr, "TERN_TEST_DATA is not set\n");
        return -1;
    }
    char cwd[1024] = "";
    if (d[0] != '/' && !getcwd(cwd, sizeof cwd))
        return -1;
    snprintf(out, n, "%s%s%s%s%s", cwd, cwd[0] ? "/" : "", d, sub ? "/" : "", sub ? sub : "");
    return 0;
}

#endif
