/* Sizes and durations as nats-server reads them.
 *
 * Sizes: an integer with an optional suffix, case-insensitive:
 *   K M G T P E            1000-based
 *   KB MB GB … / Ki Mi … / KiB MiB …   1024-based
 * No space between number and suffix ("1 MB" is a parse error in
 * nats-server too).
 *
 * Durations: Go's time.ParseDuration ("500ms", "1m30s", "1.5h", "0");
 * values are returned in milliseconds (sub-millisecond parts truncated).
 *
 * Each parser returns 0, or -1 with a reason in why (when why != NULL). */
#ifndef TERN_UNITS_H
#define TERN_UNITS_H

#include <stddef.h>
#include <stdint.h>

int tern_units_size(const char *s, int64_t *out, char *why, size_t whylen);

/* A Go duration string; errors worded as Go's ("time: unknown unit …"). */
int tern_units_duration_ms(const char *s, int64_t *out, char *why, size_t whylen);

/* A bare decimal number of seconds ("10", "2.5", "-1"), to milliseconds. */
int tern_units_seconds_ms(const char *s, int64_t *out, char *why, size_t whylen);

/* Format ms as Go's Duration.String() does: "500ms", "10s", "2m0s",
 * "1h0m0s", "1.5s". */
void tern_units_format_duration(int64_t ms, char *buf, size_t len);

#endif
