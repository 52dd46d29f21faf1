/* libFuzzer target for the monitoring endpoints' query parameters (the
 * HTTP side of kernel/docs.h): /connz and /subsz option parsing and the
 * typed readers behind them, with error texts written into a buffer of a
 * fuzzer-chosen size (ASan catches a write past it).
 *
 * Input: [0] the error buffer size - 1, then a query string
 * "name=value&name=value…" (values as the HTTP layer hands them, already
 * decoded). Invariants: the typed readers accept exactly what Go's
 * strconv.ParseBool / Atoi / ParseUint accept (checked against an
 * independent reading with strtoll/strtoull), and every error comes with
 * a NUL-terminated message. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs.h"
#include "docs_int.h"

#define MAX_PARAMS 16

typedef struct query {
    char *name[MAX_PARAMS];
    char *value[MAX_PARAMS];
    int n;
} query;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* First value of name, as Go's url.Values.Get. */
static const char *get(void *ud, const char *name)
{
    const query *q = ud;
    for (int k = 0; k < q->n; k++)
        if (!strcmp(q->name[k], name))
            return q->value[k];
    return NULL;
}

static void split_query(char *s, query *q)
{
    q->n = 0;
    while (s && q->n < MAX_PARAMS) {
        char *amp = strchr(s, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(s, '=');
        if (eq)
            *eq = '\0';
        q->name[q->n] = s;
        q->value[q->n] = eq ? eq + 1 : s + strlen(s);
        q->n++;
        s = amp ? amp + 1 : NULL;
    }
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static void check_err(int rc, const char *err, size_t errlen)
{
    if (rc != 0)
        CHECK(memchr(err, '\0', errlen) != NULL && (errlen == 1 || err[0] != '\0'));
}

/* The typed readers against an independent reading of the same value. */
static void check_readers(query *q, const char *name, char *err, size_t errlen)
{
    const char *v = get(q, name);
    bool absent = !v || !*v;

    bool b = false;
    memset(err, 'x', errlen);
    int rc = tern_docs_param_bool(get, q, name, &b, err, errlen);
    check_err(rc, err, errlen);
    if (!absent) {
        static const char *const ok[] = {"1", "t", "T", "TRUE", "true", "True",
                                         "0", "f", "F", "FALSE", "false", "False"};
        int want = -1;
        for (int k = 0; k < 12; k++)
            if (!strcmp(v, ok[k]))
                want = k < 6;
        CHECK((rc == 0) == (want >= 0));
        CHECK(want < 0 || b == (bool)want);
    } else {
        CHECK(rc == 0);
    }

    int i = 12345;
    memset(err, 'x', errlen);
    rc = tern_docs_param_int(get, q, name, &i, err, errlen);
    check_err(rc, err, errlen);
    if (absent) {
        CHECK(rc == 0 && i == 12345);
    } else {
        const char *d = v + (v[0] == '+' || v[0] == '-');
        bool syntax = all_digits(d);
        errno = 0;
        long long ref = syntax ? strtoll(v, NULL, 10) : 0;
        bool range = syntax && errno != ERANGE;
        CHECK((rc == 0) == range);
        if (range) {
            long long clamped = ref > INT32_MAX ? INT32_MAX : ref < INT32_MIN ? INT32_MIN : ref;
            CHECK(i == clamped);
        }
    }

    uint64_t u = 777;
    memset(err, 'x', errlen);
    rc = tern_docs_param_u64(get, q, name, &u, err, errlen);
    check_err(rc, err, errlen);
    if (absent) {
        CHECK(rc == 0 && u == 777);
    } else {
        bool syntax = all_digits(v);
        errno = 0;
        unsigned long long ref = syntax ? strtoull(v, NULL, 10) : 0;
        bool range = syntax && errno != ERANGE;
        CHECK((rc == 0) == range);
        CHECK(!range || u == ref);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t errlen = (size_t)data[0] + 1;
    char *text = malloc(size);
    char *err = malloc(errlen);
    CHECK(text && err);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    query q;
    split_query(text, &q);

    tern_docs_connz_opts co;
    memset(&co, 0, sizeof co);
    memset(err, 'x', errlen);
    check_err(tern_docs_connz_parse(get, &q, &co, err, errlen), err, errlen);

    tern_docs_subsz_opts so;
    memset(&so, 0, sizeof so);
    memset(err, 'x', errlen);
    check_err(tern_docs_subsz_parse(get, &q, &so, err, errlen), err, errlen);

    static const char *const names[] = {"auth", "subs", "offset", "limit", "cid", "x"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
        check_readers(&q, names[k], err, errlen);

    free(err);
    free(text);
    return 0;
}
