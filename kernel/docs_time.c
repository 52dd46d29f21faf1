/* Times, durations and numbers in the forms Go's encoding/json and
 * nats-server print them, and the process figures of /varz (memory, CPU,
 * cores) read from /proc as nats-server's pse_linux does. */
#include "docs_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t tern_docs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

json_t *tern_docs_time(int64_t ns)
{
    time_t sec = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        char f[16];
        snprintf(f, sizeof f, ".%09ld", frac);
        size_t k = strlen(f);
        while (k > 1 && f[k - 1] == '0')
            f[--k] = '\0';
        memcpy(buf + n, f, k + 1);
        n += k;
    }
    buf[n++] = 'Z';
    buf[n] = '\0';
    return json_string(buf);
}

/* Go's fmtFrac: v's last prec digits as a fraction, trailing zeros (and
 * the point, if nothing is left) dropped. Writes backwards from *w. */
static uint64_t fmt_frac(char *buf, int *w, uint64_t v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        int digit = (int)(v % 10);
        print = print || digit != 0;
        if (print)
            buf[--*w] = (char)('0' + digit);
        v /= 10;
    }
    if (print)
        buf[--*w] = '.';
    return v;
}

static void fmt_int(char *buf, int *w, uint64_t v)
{
    if (v == 0) {
        buf[--*w] = '0';
        return;
    }
    while (v > 0) {
        buf[--*w] = (char)('0' + v % 10);
        v /= 10;
    }
}

void tern_docs_go_duration(int64_t d, char *out, size_t outlen)
{
    char buf[40];
    int w = (int)sizeof buf;
    buf[--w] = '\0';
    uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    if (u < 1000000000ULL) {
        int prec = 0;
        if (u == 0) {
            snprintf(out, outlen, "0s");
            return;
        }
        if (u < 1000ULL) {
            buf[--w] = 's';
            buf[--w] = 'n';
        } else if (u < 1000000ULL) {
            prec = 3;
            buf[--w] = 's';
            w -= 2; /* U+00B5, as Go writes it */
            memcpy(buf + w, "\xc2\xb5", 2);
        } else {
            prec = 6;
            buf[--w] = 's';
            buf[--w] = 'm';
        }
        u = fmt_frac(buf, &w, u, prec);
        fmt_int(buf, &w, u);
    } else {
        buf[--w] = 's';
        u = fmt_frac(buf, &w, u, 9);
        fmt_int(buf, &w, u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            fmt_int(buf, &w, u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                fmt_int(buf, &w, u);
            }
        }
    }
    if (d < 0)
        buf[--w] = '-';
    snprintf(out, outlen, "%s", buf + w);
}

void tern_docs_uptime(int64_t ns, char *out, size_t outlen)
{
    int64_t secs = ns / 1000000000;
    if (secs < 0)
        secs = 0;
    int64_t mins = secs / 60, hrs = mins / 60, days = hrs / 24, yrs = days / 365;
    if (yrs > 0)
        snprintf(out, outlen, "%lldy%lldd%lldh%lldm%llds", (long long)yrs, (long long)(days % 365),
                 (long long)(hrs % 24), (long long)(mins % 60), (long long)(secs % 60));
    else if (days > 0)
        snprintf(out, outlen, "%lldd%lldh%lldm%llds", (long long)days, (long long)(hrs % 24),
                 (long long)(mins % 60), (long long)(secs % 60));
    else if (hrs > 0)
        snprintf(out, outlen, "%lldh%lldm%llds", (long long)hrs, (long long)(mins % 60),
                 (long long)(secs % 60));
    else if (mins > 0)
        snprintf(out, outlen, "%lldm%llds", (long long)mins, (long long)(secs % 60));
    else
        snprintf(out, outlen, "%llds", (long long)secs);
}

json_t *tern_docs_str(const char *s)
{
    json_t *v = json_string(s ? s : "");
    if (v)
        return v;
    /* Not UTF-8 (subjects are bytes): as Go's encoder, each bad byte
     * becomes U+FFFD. */
    size_t len = strlen(s), o = 0;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return json_string("");
    for (size_t i = 0; i < len;) {
        unsigned char ch = (unsigned char)s[i];
        size_t n = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
        bool ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++)
            ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
        if (ok && n > 1) {
            json_t *probe = json_stringn(s + i, n); /* overlong, surrogates … */
            ok = probe != NULL;
            json_decref(probe);
        }
        if (ok) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    v = json_string(out);
    free(out);
    return v ? v : json_string("");
}

json_t *tern_docs_number(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* ---- process figures ------------------------------------------------------ */

/* Fields 14 (utime), 15 (stime) and 22 (starttime) of /proc/self/stat,
 * in clock ticks. */
static int read_stat(uint64_t *cpu_ticks, uint64_t *start_ticks)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char line[1024];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0, start = 0;
    /* After ") ": state(3) ppid … utime(14) stime(15) … starttime(22). */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
               &utime, &stime, &start) != 3)
        return -1;
    *cpu_ticks = utime + stime;
    *start_ticks = start;
    return 0;
}

static int64_t process_start;

static void init_process_start(void)
{
    uint64_t cpu, start;
    struct timespec boot;
    long hz = sysconf(_SC_CLK_TCK);
    process_start = tern_docs_now_ns();
    if (hz <= 0 || read_stat(&cpu, &start) != 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0)
        return;
    int64_t since_boot = (int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec;
    int64_t started = (int64_t)(start * (1000000000ULL / (uint64_t)hz));
    if (started <= since_boot)
        process_start -= since_boot - started;
}

int64_t tern_docs_process_start_ns(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_process_start);
    return process_start;
}

int64_t tern_docs_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    return n == 2 ? (int64_t)resident * sysconf(_SC_PAGESIZE) : 0;
}

/* CPU use since the previous sample at least a second old (first call:
 * since the process started), as a percentage of one core with one
 * decimal, like nats-server's periodic pse sample. */
static pthread_mutex_t cpu_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cpu_last_ticks;
static int64_t  cpu_last_ns;
static double   cpu_last_pct;

double tern_docs_cpu_percent(void)
{
    uint64_t ticks, start;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0 || read_stat(&ticks, &start) != 0)
        return 0;
    int64_t now = tern_docs_now_ns();
    pthread_mutex_lock(&cpu_mu);
    if (cpu_last_ns == 0) {
        cpu_last_ns = tern_docs_process_start_ns();
        cpu_last_ticks = 0;
    }
    int64_t elapsed = now - cpu_last_ns;
    if (elapsed >= 1000000000 || cpu_last_pct == 0) {
        double secs = elapsed > 0 ? (double)elapsed / 1e9 : 0;
        double used = (double)(ticks - cpu_last_ticks) / (double)hz;
        double pct = secs > 0 ? used / secs * 100.0 : 0;
        cpu_last_pct = round(pct * 10.0) / 10.0;
        if (elapsed >= 1000000000) {
            cpu_last_ns = now;
            cpu_last_ticks = ticks;
        }
    }
    double pct = cpu_last_pct;
    pthread_mutex_unlock(&cpu_mu);
    return pct;
}

int tern_docs_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
