/* Sizes and durations, read the way nats-server reads them (see units.h). */
#include "errf.h"
#include "units.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>


/* The suffixes of nats-server's conf/parse.go, lower-cased. */
static const struct {
    const char *suffix;
    int64_t mult;
} size_suffixes[] = {
    { "",   1 },
    { "k",  1000LL },                      { "kb", 1LL << 10 }, { "ki", 1LL << 10 }, { "kib", 1LL << 10 },
    { "m",  1000LL * 1000 },               { "mb", 1LL << 20 }, { "mi", 1LL << 20 }, { "mib", 1LL << 20 },
    { "g",  1000LL * 1000 * 1000 },        { "gb", 1LL << 30 }, { "gi", 1LL << 30 }, { "gib", 1LL << 30 },
    { "t",  1000LL * 1000 * 1000 * 1000 }, { "tb", 1LL << 40 }, { "ti", 1LL << 40 }, { "tib", 1LL << 40 },
    { "p",  1000LL * 1000 * 1000 * 1000 * 1000 },
    { "pb", 1LL << 50 }, { "pi", 1LL << 50 }, { "pib", 1LL << 50 },
    { "e",  1000LL * 1000 * 1000 * 1000 * 1000 * 1000 },
    { "eb", 1LL << 60 }, { "ei", 1LL << 60 }, { "eib", 1LL << 60 },
};

int tern_units_size(const char *s, int64_t *out, char *why, size_t whylen)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (!isdigit((unsigned char)*p))
        goto bad;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return tern_errf(why, whylen, "size '%s' is out of range", s);
        v = v * 10 + d;
    }
    for (size_t i = 0; i < sizeof size_suffixes / sizeof size_suffixes[0]; i++) {
        if (strcasecmp(p, size_suffixes[i].suffix) != 0)
            continue;
        uint64_t mult = (uint64_t)size_suffixes[i].mult;
        if (v > (uint64_t)INT64_MAX / mult)
            return tern_errf(why, whylen, "size '%s' is out of range", s);
        int64_t r = (int64_t)(v * mult);
        *out = neg ? -r : r;
        return 0;
    }
bad:
    return tern_errf(why, whylen,
                "invalid size '%s': expected an integer with an optional suffix "
                "K, M, G, T (1000-based) or KB, MB, GB, TB (1024-based)", s);
}

/* Units of Go's time.ParseDuration, in nanoseconds. */
static const struct {
    const char *unit;
    uint64_t ns;
} duration_units[] = {
    { "ns", 1 },
    { "us", 1000 },
    { "\xc2\xb5s", 1000 },      /* U+00B5 micro sign */
    { "\xce\xbcs", 1000 },      /* U+03BC Greek mu */
    { "ms", 1000 * 1000 },
    { "s",  1000ULL * 1000 * 1000 },
    { "m",  60ULL * 1000 * 1000 * 1000 },
    { "h",  3600ULL * 1000 * 1000 * 1000 },
};

#define GO_DUR_LIMIT (1ULL << 63)

int tern_units_duration_ms(const char *orig, int64_t *out, char *why, size_t whylen)
{
    const char *s = orig;
    bool neg = false;
    uint64_t d = 0;

    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (*s == '\0')
        goto invalid;
    while (*s) {
        if (!(*s == '.' || isdigit((unsigned char)*s)))
            goto invalid;
        uint64_t v = 0, f = 0;
        double scale = 1;
        bool pre = false, post = false;
        for (; isdigit((unsigned char)*s); s++) {
            pre = true;
            if (v > (GO_DUR_LIMIT - 1) / 10)
                goto invalid;
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > GO_DUR_LIMIT - 1)
                goto invalid;
        }
        if (*s == '.') {
            s++;
            bool overflow = false;
            for (; isdigit((unsigned char)*s); s++) {
                post = true;
                if (overflow)
                    continue;
                if (f > (GO_DUR_LIMIT - 1) / 10) {
                    overflow = true;   /* keep consuming, drop precision */
                    continue;
                }
                f = f * 10 + (uint64_t)(*s - '0');
                scale *= 10;
            }
        }
        if (!pre && !post)
            goto invalid;
        size_t ulen = 0;
        while (s[ulen] && s[ulen] != '.' && !isdigit((unsigned char)s[ulen]))
            ulen++;
        if (ulen == 0)
            return tern_errf(why, whylen, "time: missing unit in duration \"%s\"", orig);
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
            if (strlen(duration_units[i].unit) == ulen &&
                memcmp(duration_units[i].unit, s, ulen) == 0) {
                unit = duration_units[i].ns;
                break;
            }
        }
        if (unit == 0)
            return tern_errf(why, whylen, "time: unknown unit \"%.*s\" in duration \"%s\"",
                        (int)ulen, s, orig);
        s += ulen;
        if (v > GO_DUR_LIMIT / unit)
            goto invalid;
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > GO_DUR_LIMIT)
                goto invalid;
        }
        d += v;
        if (d > GO_DUR_LIMIT)
            goto invalid;
    }
    if (neg) {
        /* d <= 2^63 here, so the negation fits */
        *out = -(int64_t)(d / 1000000);
        return 0;
    }
    if (d > GO_DUR_LIMIT - 1)
        goto invalid;
    *out = (int64_t)(d / 1000000);
    return 0;
invalid:
    return tern_errf(why, whylen, "time: invalid duration \"%s\"", orig);
}

int tern_units_seconds_ms(const char *s, int64_t *out, char *why, size_t whylen)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (!isdigit((unsigned char)*p))
        goto bad;
    int64_t secs = 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (secs > (INT64_MAX / 1000 - 9) / 10)
            return tern_errf(why, whylen, "duration '%s' is out of range", s);
        secs = secs * 10 + (*p - '0');
    }
    int64_t ms = secs * 1000;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            goto bad;
        int64_t scale = 100;
        for (; isdigit((unsigned char)*p); p++) {
            ms += (*p - '0') * scale;   /* digits past milliseconds are dropped */
            scale /= 10;
        }
    }
    if (*p)
        goto bad;
    *out = neg ? -ms : ms;
    return 0;
bad:
    return tern_errf(why, whylen, "invalid number of seconds '%s'", s);
}

void tern_units_format_duration(int64_t ms, char *buf, size_t len)
{
    if (len == 0)
        return;
    const char *sign = ms < 0 ? "-" : "";
    uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (u == 0) {
        snprintf(buf, len, "0s");
        return;
    }
    if (u < 1000) {
        snprintf(buf, len, "%s%" PRIu64 "ms", sign, u);
        return;
    }
    uint64_t secs = u / 1000, frac = u % 1000;
    uint64_t h = secs / 3600, m = secs / 60 % 60, s = secs % 60;
    char fr[8] = "";
    if (frac) {
        /* ".250" → ".25": Go prints no trailing zeros */
        int n = snprintf(fr, sizeof fr, ".%03u", (unsigned)frac);
        while (n > 1 && fr[n - 1] == '0')
            fr[--n] = '\0';
    }
    if (h)
        snprintf(buf, len, "%s%" PRIu64 "h%" PRIu64 "m%" PRIu64 "%ss", sign, h, m, s, fr);
    else if (m)
        snprintf(buf, len, "%s%" PRIu64 "m%" PRIu64 "%ss", sign, m, s, fr);
    else
        snprintf(buf, len, "%s%" PRIu64 "%ss", sign, s, fr);
}
