/* The UTC offset of an IANA time zone at one instant, for a user's
 * times_location, as Go's time.LoadLocation + Time.In find it: the
 * zone's TZif file under /usr/share/zoneinfo (Debian's tzdata), its
 * 64-bit transitions, and past the last one the POSIX TZ rule of its
 * footer. Read per call, without TZ/tzset: those are process-wide and
 * workers call this. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aj.h"

#define AJ_ZONEINFO "/usr/share/zoneinfo/"
#define AJ_TZIF_MAX (1 << 20)    /* real files are a few KB */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of(int64_t t)
{
    int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* --- the POSIX TZ string of a TZif footer ("CET-1CEST,M3.5.0,M10.5.0/3") --- */

static bool tz_name(const char **s)
{
    const char *p = *s;
    if (*p == '<') {
        const char *e = strchr(p, '>');
        if (!e || e - p < 4)
            return false;
        *s = e + 1;
        return true;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    if (p - *s < 3)
        return false;
    *s = p;
    return true;
}

/* [+-]hh[:mm[:ss]] → seconds; max_h bounds the hours. */
static bool tz_hms(const char **s, int max_h, int *out)
{
    const char *p = *s;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int part[3] = { 0, 0, 0 }, i = 0;
    for (; i < 3; i++) {
        if (*p < '0' || *p > '9')
            return false;
        int v = 0;
        for (int digits = 0; *p >= '0' && *p <= '9' && digits < 3; digits++)
            v = v * 10 + (*p++ - '0');
        part[i] = v;
        if (*p != ':')
            break;
        p++;
    }
    if (part[0] > max_h || part[1] > 59 || part[2] > 59)
        return false;
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    *s = p;
    return true;
}

static bool tz_num(const char **s, int lo, int hi, int *out)
{
    const char *p = *s;
    int v = 0;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9' && v <= hi)
        v = v * 10 + (*p++ - '0');
    if (v < lo || v > hi)
        return false;
    *out = v;
    *s = p;
    return true;
}

/* A rule "Jn", "n" or "Mm.w.d" with its optional "/time": its moment in
 * seconds from the start of year y, in the local time of that moment. */
static bool tz_rule(const char **s, int64_t y, int64_t *out)
{
    const char *p = *s;
    int64_t day;
    int n, m, w, d;
    if (*p == 'J') {
        p++;
        if (!tz_num(&p, 1, 365, &n))
            return false;
        day = n - 1 + (leap(y) && n >= 60);   /* Jn never counts Feb 29 */
    } else if (*p == 'M') {
        p++;
        if (!tz_num(&p, 1, 12, &m) || *p++ != '.' || !tz_num(&p, 1, 5, &w) || *p++ != '.' ||
            !tz_num(&p, 0, 6, &d))
            return false;
        static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        int64_t first = days_from_civil(y, m, 1);
        int wday_first = (int)(((first % 7) + 11) % 7);   /* 1970-01-01 was a Thursday */
        int dim = mdays[m - 1] + (m == 2 && leap(y));
        int mday = 1 + (d - wday_first + 7) % 7 + (w - 1) * 7;
        while (mday > dim)
            mday -= 7;
        day = first + mday - 1 - days_from_civil(y, 1, 1);
    } else {
        if (!tz_num(&p, 0, 365, &n))
            return false;
        day = n;
    }
    int at = 2 * 3600;
    if (*p == '/') {
        p++;
        if (!tz_hms(&p, 167, &at))
            return false;
    }
    *out = day * 86400 + at;
    *s = p;
    return true;
}

static bool posix_tz_offset(const char *s, int64_t t, int32_t *off)
{
    int std, dst;
    if (!tz_name(&s) || !tz_hms(&s, 24, &std))
        return false;
    std = -std;                  /* POSIX offsets count west */
    if (!*s) {
        *off = std;
        return true;
    }
    if (!tz_name(&s))
        return false;
    dst = std + 3600;
    if (*s && *s != ',') {
        if (!tz_hms(&s, 24, &dst))
            return false;
        dst = -dst;
    }
    const char *rules = *s == ',' ? s + 1 : "M3.2.0,M11.1.0";   /* Go's default: US rules */
    int64_t y = year_of(t), ys = days_from_civil(y, 1, 1) * 86400, a, b;
    if (!tz_rule(&rules, y, &a) || *rules++ != ',' || !tz_rule(&rules, y, &b) || *rules)
        return false;
    int64_t start = ys + a - std, end = ys + b - dst;   /* as UTC instants */
    bool in_dst = start <= end ? (t >= start && t < end) : !(t >= end && t < start);
    *off = in_dst ? dst : std;
    return true;
}

/* --- TZif --- */

typedef struct tzif {
    const unsigned char *tt, *idx, *types;
    uint32_t timecnt, typecnt;
    int      tsize;              /* 4 (v1 block) or 8 */
    const char *footer;          /* NUL-terminated copy, or NULL */
} tzif;

static int64_t tx_time(const tzif *z, uint32_t i)
{
    return z->tsize == 8 ? be64(z->tt + 8 * (size_t)i) : (int32_t)be32(z->tt + 4 * (size_t)i);
}

static int32_t type_off(const tzif *z, uint32_t i)
{
    return (int32_t)be32(z->types + 6 * (size_t)i);
}

static bool type_dst(const tzif *z, uint32_t i)
{
    return z->types[6 * (size_t)i + 4] != 0;
}

/* The type before the first transition, by Go's lookupFirstZone. */
static uint32_t first_type(const tzif *z)
{
    bool used = false;
    for (uint32_t i = 0; i < z->timecnt && !used; i++)
        used = z->idx[i] == 0;
    if (!used)
        return 0;
    if (z->timecnt && type_dst(z, z->idx[0]))
        for (uint32_t i = z->idx[0]; i-- > 0;)
            if (!type_dst(z, i))
                return i;
    for (uint32_t i = 0; i < z->typecnt; i++)
        if (!type_dst(z, i))
            return i;
    return 0;
}

/* One data block from p (header included): fills z, returns the end. */
static const unsigned char *tzif_block(const unsigned char *p, const unsigned char *end,
                                       int tsize, tzif *z)
{
    if (end - p < 44 || memcmp(p, "TZif", 4) != 0)
        return NULL;
    uint32_t isut = be32(p + 20), isstd = be32(p + 24), leapc = be32(p + 28);
    uint32_t timec = be32(p + 32), typec = be32(p + 36), charc = be32(p + 40);
    size_t need = (size_t)timec * (size_t)(tsize + 1) + (size_t)typec * 6 + charc +
                  (size_t)leapc * (size_t)(tsize + 4) + isstd + isut;
    p += 44;
    if (typec == 0 || (size_t)(end - p) < need)
        return NULL;
    z->tt = p;
    z->idx = p + (size_t)timec * (size_t)tsize;
    z->types = z->idx + timec;
    z->timecnt = timec;
    z->typecnt = typec;
    z->tsize = tsize;
    for (uint32_t i = 0; i < timec; i++)
        if (z->idx[i] >= typec)
            return NULL;
    return p + need;
}

static bool tzif_offset(const unsigned char *buf, size_t len, int64_t t, int32_t *off)
{
    const unsigned char *end = buf + len, *p;
    tzif z;
    if (!(p = tzif_block(buf, end, 4, &z)))
        return false;
    char footer[128] = "";
    if (buf[4] >= '2') {         /* v2+: the 64-bit block and the footer follow */
        if (!(p = tzif_block(p, end, 8, &z)))
            return false;
        if (p < end && *p == '\n') {
            const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
            size_t n = nl ? (size_t)(nl - p - 1) : 0;
            if (nl && n < sizeof footer) {
                memcpy(footer, p + 1, n);
                footer[n] = 0;
            }
        }
    }
    if (z.timecnt == 0 || t < tx_time(&z, 0)) {   /* Go: the footer is not used here */
        *off = type_off(&z, first_type(&z));
        return true;
    }
    uint32_t lo = 0, hi = z.timecnt;   /* the last transition at or before t */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tx_time(&z, mid) <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == z.timecnt - 1 && *footer && posix_tz_offset(footer, t, off))
        return true;
    *off = type_off(&z, z.idx[lo]);
    return true;
}

/* Go's LoadLocation refuses names with "..", or starting with a slash. */
static bool name_ok(const char *name)
{
    return name[0] != '/' && name[0] != '\\' && !strstr(name, "..");
}

bool aj_tz_offset(const char *name, int64_t t, int32_t *off, char *why, size_t whylen)
{
    if (!*name || !strcmp(name, "UTC")) {
        *off = 0;
        return true;
    }
    if (!strcmp(name, "Local")) {
        time_t tt = (time_t)t;
        struct tm tm;
        if (!localtime_r(&tt, &tm))
            return snprintf(why, whylen, "no local time"), false;
        *off = (int32_t)tm.tm_gmtoff;
        return true;
    }
    if (!name_ok(name))
        return snprintf(why, whylen, "invalid time zone name \"%s\"", name), false;
    char path[512];
    if ((size_t)snprintf(path, sizeof path, "%s%s", AJ_ZONEINFO, name) >= sizeof path)
        return snprintf(why, whylen, "unknown time zone \"%s\"", name), false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > AJ_TZIF_MAX) {
        if (fd >= 0)
            close(fd);
        return snprintf(why, whylen, "unknown time zone \"%s\"", name), false;
    }
    size_t len = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(len ? len : 1);
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    bool ok = got == len && tzif_offset(buf, len, t, off);
    free(buf);
    if (!ok)
        snprintf(why, whylen, "time zone \"%s\" is not a TZif file", name);
    return ok;
}
