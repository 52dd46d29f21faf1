/* libFuzzer target for the client-protocol parser (kernel/parser.h).
 *
 * The input is fed three ways: whole, split in two at a fuzzer-chosen
 * offset, and one byte per feed. Every chunk is copied into its own
 * exactly sized heap block so that ASan sees any read past a feed's end.
 * Invariants checked (a violation aborts, which libFuzzer reports):
 *   - the callback sequence (ops, arguments, payloads) and the final
 *     status are the same however the bytes were split;
 *   - the parser never holds more than max_control_line + 2 bytes of
 *     scratch and max_payload + 2 bytes of message buffer;
 *   - PUB/HPUB arguments are consistent (hdr_len <= size <= max_payload).
 *
 * The first bytes choose the parser's limits and switches:
 *   [0] flags: bit0 headers, bit1 require_connect, bit2 a CONNECT clears
 *       require_connect and turns headers on (what client.c does),
 *       bits 3-4 pause schedule (never, every callback, every 2nd, 3rd)
 *   [1] max_control_line: 255 unlimited, >= 128 4096, else 1 + value
 *   [2] max_payload: 255 unlimited, >= 128 1 MiB, else value (0 unlimited)
 *   [3..4] split offset (little-endian, modulo the length + 1) */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

#define CONFIG_LEN 5

typedef struct log {
    char *b;
    size_t n, cap;
} log_t;

typedef struct run {
    tern_parser p;
    log_t log;
    bool connect_unlocks;
    unsigned pause_every;   /* 0: never */
    unsigned calls;
} run_t;

static void log_bytes(log_t *l, const void *b, size_t n)
{
    if (l->n + n > l->cap) {
        size_t cap = l->cap ? l->cap : 256;
        while (cap < l->n + n)
            cap *= 2;
        l->b = realloc(l->b, cap);
        if (!l->b)
            abort();
        l->cap = cap;
    }
    if (n)
        memcpy(l->b + l->n, b, n);
    l->n += n;
}

static void log_str(log_t *l, const char *s, size_t n)
{
    /* NULL and empty differ (an absent reply or queue is NULL). */
    uint64_t len = s ? (uint64_t)n : UINT64_MAX;
    log_bytes(l, &len, sizeof len);
    if (s)
        log_bytes(l, s, n);
}

static void log_tag(log_t *l, char tag)
{
    log_bytes(l, &tag, 1);
}

static void check_held(const tern_parser *p)
{
    if (p->scratch_len > p->scratch_cap || p->msg_len > p->msg_cap) {
        fprintf(stderr, "parser buffer length beyond capacity\n");
        abort();
    }
    if (p->max_control_line > 0 && p->scratch_cap > (size_t)p->max_control_line + 2) {
        fprintf(stderr, "scratch %zu > max_control_line %lld + 2\n", p->scratch_cap,
                (long long)p->max_control_line);
        abort();
    }
    if (p->max_payload > 0 && p->msg_cap > (size_t)p->max_payload + 2) {
        fprintf(stderr, "message buffer %zu > max_payload %lld + 2\n", p->msg_cap,
                (long long)p->max_payload);
        abort();
    }
    if (tern_parser_held(p) != p->scratch_cap + p->msg_cap)
        abort();
}

static int next(run_t *r)
{
    check_held(&r->p);
    r->calls++;
    if (r->pause_every && r->calls % r->pause_every == 0)
        return TERN_PARSE_PAUSE;
    return TERN_PARSE_OK;
}

static int on_connect(void *ud, const char *json, size_t len)
{
    run_t *r = ud;
    log_tag(&r->log, 'C');
    log_str(&r->log, json, len);
    if (r->connect_unlocks) {
        r->p.require_connect = false;
        r->p.headers = true;
    }
    return next(r);
}

static int on_info(void *ud, const char *json, size_t len)
{
    run_t *r = ud;
    log_tag(&r->log, 'I');
    log_str(&r->log, json, len);
    return next(r);
}

static int on_pub(void *ud, const tern_pub_args *m)
{
    run_t *r = ud;
    const tern_parser *p = &r->p;
    if (m->hdr_len > m->size || (m->hpub ? !m->hdr_text : m->hdr_len != 0) ||
        (p->max_payload > 0 && m->size > (size_t)p->max_payload) || !m->subject ||
        !m->size_text || (m->size && !m->data)) {
        fprintf(stderr, "inconsistent PUB arguments\n");
        abort();
    }
    log_tag(&r->log, m->hpub ? 'H' : 'P');
    log_str(&r->log, m->subject, m->subject_len);
    log_str(&r->log, m->reply, m->reply_len);
    log_str(&r->log, m->size_text, m->size_text_len);
    log_str(&r->log, m->hdr_text, m->hdr_text_len);
    uint64_t sizes[2] = {m->size, m->hdr_len};
    log_bytes(&r->log, sizes, sizeof sizes);
    log_str(&r->log, m->size ? m->data : "", m->size);
    return next(r);
}

static int on_sub(void *ud, const char *subject, size_t subject_len, const char *queue,
                  size_t queue_len, const char *sid, size_t sid_len)
{
    run_t *r = ud;
    log_tag(&r->log, 'S');
    log_str(&r->log, subject, subject_len);
    log_str(&r->log, queue, queue_len);
    log_str(&r->log, sid, sid_len);
    return next(r);
}

static int on_unsub(void *ud, const char *sid, size_t sid_len, int64_t max)
{
    run_t *r = ud;
    log_tag(&r->log, 'U');
    log_str(&r->log, sid, sid_len);
    log_bytes(&r->log, &max, sizeof max);
    return next(r);
}

static int on_ping(void *ud)
{
    log_tag(&((run_t *)ud)->log, 'i');
    return next(ud);
}

static int on_pong(void *ud)
{
    log_tag(&((run_t *)ud)->log, 'o');
    return next(ud);
}

static int on_ok(void *ud)
{
    log_tag(&((run_t *)ud)->log, '+');
    return next(ud);
}

static int on_err(void *ud, const char *text, size_t len)
{
    run_t *r = ud;
    log_tag(&r->log, '-');
    log_str(&r->log, text, len);
    return next(r);
}

static const tern_parser_callbacks callbacks = {
    .on_connect = on_connect, .on_info = on_info, .on_pub = on_pub,
    .on_sub = on_sub,         .on_unsub = on_unsub, .on_ping = on_ping,
    .on_pong = on_pong,       .on_ok = on_ok,     .on_err = on_err,
};

static void run_init(run_t *r, const uint8_t *cfg)
{
    memset(r, 0, sizeof *r);
    tern_parser_init(&r->p);
    r->p.headers = cfg[0] & 1;
    r->p.require_connect = cfg[0] & 2;
    r->connect_unlocks = cfg[0] & 4;
    r->pause_every = (cfg[0] >> 3) & 3;
    r->p.max_control_line = cfg[1] == 255 ? 0 : cfg[1] >= 128 ? 4096 : cfg[1] + 1;
    r->p.max_payload = cfg[2] == 255 ? 0 : cfg[2] >= 128 ? 1024 * 1024 : cfg[2];
}

/* Feeds one chunk (copied to its own block); false once the parser
 * stopped with an error, whose status is logged. */
static bool feed(run_t *r, const uint8_t *data, size_t n)
{
    char *chunk = malloc(n ? n : 1);
    if (!chunk)
        abort();
    if (n)
        memcpy(chunk, data, n);
    size_t off = 0;
    bool go_on = true;
    while (off < n) {
        size_t consumed = 0;
        tern_parse_status st = tern_parser_feed(&r->p, chunk + off, n - off, &callbacks, r,
                                                &consumed);
        check_held(&r->p);
        if (st == TERN_PARSE_PAUSE) {
            if (consumed == 0 || consumed > n - off) {
                fprintf(stderr, "pause consumed %zu of %zu\n", consumed, n - off);
                abort();
            }
            off += consumed;
            continue;
        }
        if (st != TERN_PARSE_OK) {
            log_tag(&r->log, 'E');
            log_bytes(&r->log, &st, sizeof st);
            go_on = false;
            break;
        }
        if (consumed != n - off) {
            fprintf(stderr, "OK but consumed %zu of %zu\n", consumed, n - off);
            abort();
        }
        off = n;
    }
    free(chunk);
    return go_on;
}

static void run_free(run_t *r)
{
    tern_parser_free(&r->p);
    free(r->log.b);
}

static void compare(const run_t *a, const run_t *b, const char *how)
{
    if (a->log.n != b->log.n || (a->log.n && memcmp(a->log.b, b->log.b, a->log.n) != 0)) {
        fprintf(stderr, "callback sequence differs when fed %s (%zu vs %zu log bytes)\n", how,
                a->log.n, b->log.n);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < CONFIG_LEN)
        return 0;
    const uint8_t *cfg = data;
    data += CONFIG_LEN;
    size -= CONFIG_LEN;
    size_t cut = (size_t)(cfg[3] | cfg[4] << 8) % (size + 1);

    run_t whole, split, bytes;
    run_init(&whole, cfg);
    feed(&whole, data, size);

    run_init(&split, cfg);
    if (feed(&split, data, cut))
        feed(&split, data + cut, size - cut);
    compare(&whole, &split, "in two");

    run_init(&bytes, cfg);
    for (size_t k = 0; k < size; k++)
        if (!feed(&bytes, data + k, 1))
            break;
    compare(&whole, &bytes, "byte by byte");

    run_free(&whole);
    run_free(&split);
    run_free(&bytes);
    return 0;
}
