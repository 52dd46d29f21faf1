/* nats-server's configuration format: a lexer that mirrors the state
 * machine of nats-server 2.9's conf/lex.go (its quirks are the format:
 * which characters end an unquoted string, when a number becomes a
 * string, `include` as a keyword …) and a parser that mirrors
 * conf/parse.go (a stack of open blocks and of pending keys; variables
 * looked up in the enclosing blocks, then the environment).
 *
 * Where nats-server would crash or silently drop input (an include cycle,
 * a block left open at the end of the file, an integer overflowing), Tern
 * reports an error instead. */
#include "conf_nats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

/* Nesting of blocks and arrays; the tree is freed recursively. */
#define NATS_MAX_DEPTH 128
/* Nested includes and environment-variable expansions. */
#define NATS_MAX_INCLUDES 32

#define R_EOF (-1)

/* ---- used variables ---------------------------------------------------- */

bool tern_nats_vars_used(const tern_nats_vars *v, const tern_conf_node *value)
{
    for (size_t i = 0; v && i < v->n; i++)
        if (v->used[i] == value)
            return true;
    return false;
}

void tern_nats_vars_free(tern_nats_vars *v)
{
    if (!v)
        return;
    free(v->used);
    memset(v, 0, sizeof *v);
}

static void vars_add(tern_nats_vars *v, const tern_conf_node *value)
{
    if (!v || tern_nats_vars_used(v, value))
        return;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->used = tern_xrealloc(v->used, v->cap * sizeof *v->used);
    }
    v->used[v->n++] = value;
}

/* A subtree is about to be freed: forget its nodes, so that a later
 * allocation at the same address is not taken for a used variable. */
static void vars_scrub(tern_nats_vars *v, const tern_conf_node *n)
{
    if (!v || !n)
        return;
    for (size_t i = 0; i < v->n;) {
        if (v->used[i] == n)
            v->used[i] = v->used[--v->n];
        else
            i++;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->type == TERN_CONF_MAP)
            vars_scrub(v, n->pairs[i].value);
        else if (n->type == TERN_CONF_LIST)
            vars_scrub(v, n->items[i]);
    }
}

/* ---- lexer -------------------------------------------------------------- */

typedef enum item_type {
    IT_ERROR, IT_EOF, IT_KEY, IT_STRING, IT_BOOL, IT_INTEGER, IT_FLOAT, IT_DATETIME,
    IT_ARRAY_START, IT_ARRAY_END, IT_MAP_START, IT_MAP_END, IT_VARIABLE, IT_INCLUDE,
} item_type;

typedef struct item {
    item_type type;
    char *val;
    int line, col;
} item;

typedef enum lstate {
    S_DONE, S_TOP, S_TOP_VALUE_END, S_KEY_START, S_DQ_KEY, S_SQ_KEY, S_KEY, S_KEY_END,
    S_INCLUDE_START, S_INCLUDE, S_INCLUDE_SQ, S_INCLUDE_DQ, S_INCLUDE_STR,
    S_VALUE, S_ARRAY_VALUE, S_ARRAY_VALUE_END, S_ARRAY_END,
    S_MAP_KEY_START, S_MAP_SQ_KEY, S_MAP_DQ_KEY, S_MAP_KEY, S_MAP_KEY_END, S_MAP_VALUE,
    S_MAP_VALUE_END, S_MAP_END,
    S_SQ_STRING, S_DQ_STRING, S_STRING, S_BLOCK, S_ESCAPE, S_BINARY,
    S_NUM_START, S_NUM, S_CONVENIENT, S_DATE, S_NEG_START, S_NEG, S_FLOAT_START, S_FLOAT,
    S_IP, S_COMMENT_START, S_COMMENT,
} lstate;

typedef struct lexer {
    const char *in;
    size_t len, start, pos, width;
    lstate stack[NATS_MAX_DEPTH + 8];
    int depth;
    tern_buf parts;            /* escaped pieces of the current string */
    bool has_parts;
    size_t parts_start;
    lstate string_state;       /* where an escape returns to */
    size_t value_start;        /* first character of the current value */
    bool has_value_start;      /* (its opening quote, '$', '{' or '[') */
    size_t *lines;             /* offset of each line's first byte */
    size_t nlines;
    item *items;
    size_t nitems, capitems;
} lexer;

static void pos_of(const lexer *lx, size_t off, int *line, int *col)
{
    size_t lo = 0, hi = lx->nlines;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (lx->lines[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    *line = (int)lo + 1;
    *col = (int)(off - lx->lines[lo]) + 1;
}

static int next(lexer *lx)
{
    if (lx->pos >= lx->len) {
        lx->width = 0;
        return R_EOF;
    }
    unsigned char c = (unsigned char)lx->in[lx->pos];
    size_t w = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (w > lx->len - lx->pos)
        w = lx->len - lx->pos;
    lx->width = w;
    lx->pos += w;
    return c < 0x80 ? c : 0x100;   /* no non-ASCII character is special */
}

static void backup(lexer *lx)
{
    lx->pos -= lx->width;
}

static int peek(lexer *lx)
{
    int r = next(lx);
    backup(lx);
    return r;
}

static void ignore(lexer *lx)
{
    lx->start = lx->pos;
}

static bool is_ws(int r) { return r == ' ' || r == '\t'; }
static bool is_nl(int r) { return r == '\n' || r == '\r'; }
static bool is_space(int r) { return is_ws(r) || is_nl(r) || r == '\v' || r == '\f'; }
static bool is_digit(int r) { return r >= '0' && r <= '9'; }
static bool is_keysep(int r) { return r == '=' || r == ':'; }

static bool is_suffix(int r)
{
    return r && strchr("kKmMgGtTpPeE", r) != NULL;
}

static void add_item(lexer *lx, item_type t, char *val, size_t off)
{
    if (lx->nitems == lx->capitems) {
        lx->capitems = lx->capitems ? lx->capitems * 2 : 64;
        lx->items = tern_xrealloc(lx->items, lx->capitems * sizeof *lx->items);
    }
    item *it = &lx->items[lx->nitems++];
    it->type = t;
    it->val = val;
    pos_of(lx, off, &it->line, &it->col);
}

/* Emit the text since start (after any escaped parts). */
static void emit(lexer *lx, item_type t)
{
    size_t off = lx->has_parts ? lx->parts_start : lx->start;
    if (lx->has_value_start && t != IT_KEY && t != IT_INCLUDE && t != IT_EOF) {
        off = lx->value_start;
        lx->has_value_start = false;
    }
    if (lx->pos > lx->start)
        tern_buf_append(&lx->parts, lx->in + lx->start, lx->pos - lx->start);
    char *val = tern_xstrndup(lx->parts.data ? lx->parts.data : "", lx->parts.len);
    lx->parts.len = 0;
    lx->has_parts = false;
    add_item(lx, t, val, off);
    lx->start = lx->pos;
}

static void add_current_part(lexer *lx, size_t offset)
{
    if (!lx->has_parts)
        lx->parts_start = lx->start;
    lx->has_parts = true;
    if (lx->pos - offset > lx->start)
        tern_buf_append(&lx->parts, lx->in + lx->start, lx->pos - offset - lx->start);
    lx->start = lx->pos;
}

static lstate add_part(lexer *lx, const char *s, size_t n)
{
    tern_buf_append(&lx->parts, s, n);
    lx->start = lx->pos;
    return lx->string_state;
}

static lstate lex_error(lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The error is placed at the last character read, as nats-server does. */
static lstate lex_error(lexer *lx, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t off = lx->pos > lx->width ? lx->pos - lx->width : 0;
    if (off >= lx->len && lx->len)
        off = lx->len - 1;
    add_item(lx, IT_ERROR, tern_xstrdup(msg), off);
    return S_DONE;
}

/* A character as nats-server prints it in a message. */
static const char *show(int r, char buf[8])
{
    if (r == R_EOF)
        return "EOF";
    if (r == '\n')
        return "\\n";
    if (r == 0x100)
        return "?";
    buf[0] = (char)r;
    buf[1] = '\0';
    return buf;
}

static lstate push(lexer *lx, lstate s, lstate then)
{
    if (lx->depth == (int)(sizeof lx->stack / sizeof lx->stack[0]))
        return lex_error(lx, "nesting deeper than %d levels", NATS_MAX_DEPTH);
    lx->stack[lx->depth++] = s;
    return then;
}

static lstate pop(lexer *lx)
{
    if (lx->depth == 0)
        return lex_error(lx, "BUG in lexer: no states to pop.");
    return lx->stack[--lx->depth];
}

static lstate key_check_keyword(lexer *lx, lstate fall, lstate push_state)
{
    if (lx->pos - lx->start == 7 && !strncasecmp(lx->in + lx->start, "include", 7)) {
        ignore(lx);
        if (push_state != S_DONE)
            return push(lx, push_state, S_INCLUDE_START);
        return S_INCLUDE_START;
    }
    emit(lx, IT_KEY);
    return fall;
}

static bool text_is_bool(const lexer *lx)
{
    static const char *const words[] = { "true", "false", "on", "off", "yes", "no" };
    size_t n = lx->pos - lx->start;
    for (size_t i = 0; i < 6; i++)
        if (strlen(words[i]) == n && !strncasecmp(lx->in + lx->start, words[i], n))
            return true;
    return false;
}

/* `//` opens a comment; a lone '/' is handed back. */
static bool slash_comment(lexer *lx)
{
    if (next(lx) == '/')
        return true;
    backup(lx);
    return false;
}

static lstate step(lexer *lx, lstate s)
{
    int r;
    char cb[8], cb2[8];

    switch (s) {
    case S_DONE:
        return S_DONE;

    case S_TOP:
        r = next(lx);
        if (is_space(r) || r == '{') {
            ignore(lx);
            return S_TOP;
        }
        if (r == '#')
            return push(lx, S_TOP, S_COMMENT_START);
        if (r == '/' && slash_comment(lx))
            return push(lx, S_TOP, S_COMMENT_START);
        if (r == '/' || r == R_EOF) {
            if (lx->pos > lx->start)
                return lex_error(lx, "Unexpected EOF.");
            emit(lx, IT_EOF);
            return S_DONE;
        }
        backup(lx);
        return push(lx, S_TOP_VALUE_END, S_KEY_START);

    case S_TOP_VALUE_END:
        r = next(lx);
        if (r == '#')
            return push(lx, S_TOP, S_COMMENT_START);
        if (r == '/' && slash_comment(lx))
            return push(lx, S_TOP, S_COMMENT_START);
        if (r == '/' || is_ws(r))
            return S_TOP_VALUE_END;
        if (is_nl(r) || r == R_EOF || r == ';' || r == ',' || r == '}') {
            ignore(lx);
            return S_TOP;
        }
        return lex_error(lx, "Expected a top-level value to end with a new line, comment or EOF, "
                             "but got '%s' instead.", show(r, cb));

    case S_KEY_START:
        r = peek(lx);
        if (is_keysep(r))
            return lex_error(lx, "Unexpected key separator '%s'", show(r, cb));
        if (is_space(r)) {
            next(lx);
            ignore(lx);
            return S_KEY_START;
        }
        if (r == '"' || r == '\'') {
            next(lx);
            ignore(lx);
            return r == '"' ? S_DQ_KEY : S_SQ_KEY;
        }
        ignore(lx);
        next(lx);
        return S_KEY;

    case S_DQ_KEY:
    case S_SQ_KEY:
        r = peek(lx);
        if (r == (s == S_DQ_KEY ? '"' : '\'')) {
            emit(lx, IT_KEY);
            next(lx);
            ignore(lx);
            return S_KEY_END;
        }
        if (r == R_EOF) {
            if (lx->pos > lx->start)
                return lex_error(lx, "Unexpected EOF.");
            emit(lx, IT_EOF);
            return S_DONE;
        }
        next(lx);
        return s;

    case S_KEY:
        r = peek(lx);
        if (is_space(r))
            return key_check_keyword(lx, S_KEY_END, S_DONE);
        if (is_keysep(r) || r == R_EOF) {
            emit(lx, IT_KEY);
            return S_KEY_END;
        }
        next(lx);
        return S_KEY;

    case S_KEY_END:
        r = next(lx);
        if (is_space(r)) {
            ignore(lx);
            return S_KEY_END;
        }
        if (is_keysep(r)) {
            ignore(lx);
            return S_VALUE;
        }
        if (r == R_EOF) {
            emit(lx, IT_EOF);
            return S_DONE;
        }
        backup(lx);
        return S_VALUE;

    case S_INCLUDE_START:
        r = next(lx);
        if (is_ws(r)) {
            ignore(lx);
            return S_INCLUDE_START;
        }
        backup(lx);
        return S_INCLUDE;

    case S_INCLUDE:
        r = next(lx);
        if (r == '\'' || r == '"') {
            ignore(lx);
            return r == '"' ? S_INCLUDE_DQ : S_INCLUDE_SQ;
        }
        if (r == '[')
            return lex_error(lx, "Expected include value but found start of an array");
        if (r == '{')
            return lex_error(lx, "Expected include value but found start of a map");
        if (r == '(')
            return lex_error(lx, "Expected include value but found start of a block");
        if (is_digit(r) || r == '-')
            return lex_error(lx, "Expected include value but found start of a number");
        if (r == '\\')
            return lex_error(lx, "Expected include value but found escape sequence");
        if (is_nl(r))
            return lex_error(lx, "Expected include value but found new line");
        backup(lx);
        return S_INCLUDE_STR;

    case S_INCLUDE_SQ:
    case S_INCLUDE_DQ:
        r = next(lx);
        if (r == (s == S_INCLUDE_DQ ? '"' : '\'')) {
            backup(lx);
            emit(lx, IT_INCLUDE);
            next(lx);
            ignore(lx);
            return pop(lx);
        }
        if (r == R_EOF)
            return lex_error(lx, s == S_INCLUDE_DQ ? "Unexpected EOF in double quoted include"
                                                   : "Unexpected EOF in quoted include");
        return s;

    case S_INCLUDE_STR:
        r = next(lx);
        if (is_nl(r) || r == R_EOF || r == ';' || r == '}' || is_ws(r)) {
            backup(lx);
            emit(lx, IT_INCLUDE);
            return pop(lx);
        }
        if (r == '\'') {
            backup(lx);
            emit(lx, IT_INCLUDE);
            next(lx);
            ignore(lx);
            return pop(lx);
        }
        return S_INCLUDE_STR;

    case S_VALUE:
        r = next(lx);
        if (is_ws(r)) {
            ignore(lx);
            return S_VALUE;
        }
        lx->value_start = lx->pos - lx->width;
        lx->has_value_start = true;
        switch (r) {
        case '[':
            ignore(lx);
            emit(lx, IT_ARRAY_START);
            return S_ARRAY_VALUE;
        case '{':
            ignore(lx);
            emit(lx, IT_MAP_START);
            return S_MAP_KEY_START;
        case '\'':
            ignore(lx);
            return S_SQ_STRING;
        case '"':
            ignore(lx);
            lx->string_state = S_DQ_STRING;
            return S_DQ_STRING;
        case '-':
            return S_NEG_START;
        case '(':
            ignore(lx);
            return S_BLOCK;
        case '.':
            return lex_error(lx, "Floats must start with a digit");
        default:
            break;
        }
        if (is_digit(r)) {
            backup(lx);
            return S_NUM_START;
        }
        if (is_nl(r))
            return lex_error(lx, "Expected value but found new line");
        backup(lx);
        lx->string_state = S_STRING;
        return S_STRING;

    case S_ARRAY_VALUE:
        r = next(lx);
        if (is_space(r)) {
            ignore(lx);
            return S_ARRAY_VALUE;
        }
        if (r == '#')
            return push(lx, S_ARRAY_VALUE, S_COMMENT_START);
        if (r == '/' && slash_comment(lx))
            return push(lx, S_ARRAY_VALUE, S_COMMENT_START);
        if (r == '/' || r == ',')
            return lex_error(lx, "Unexpected array value terminator ','.");
        if (r == ']')
            return S_ARRAY_END;
        backup(lx);
        return push(lx, S_ARRAY_VALUE_END, S_VALUE);

    case S_ARRAY_VALUE_END:
        r = next(lx);
        if (is_ws(r)) {
            ignore(lx);
            return S_ARRAY_VALUE_END;
        }
        if (r == '#')
            return push(lx, S_ARRAY_VALUE_END, S_COMMENT_START);
        if (r == '/' && slash_comment(lx))
            return push(lx, S_ARRAY_VALUE_END, S_COMMENT_START);
        if (r == '/' || r == ',' || is_nl(r)) {
            ignore(lx);
            return S_ARRAY_VALUE;
        }
        if (r == ']')
            return S_ARRAY_END;
        return lex_error(lx, "Expected an array value terminator \",\" or an array terminator \"]\", "
                             "but got '%s' instead.", show(r, cb));

    case S_ARRAY_END:
        ignore(lx);
        emit(lx, IT_ARRAY_END);
        return pop(lx);

    case S_MAP_KEY_START:
        r = peek(lx);
        if (is_keysep(r))
            return lex_error(lx, "Unexpected key separator '%s'.", show(r, cb));
        if (r == ']')
            return lex_error(lx, "Unexpected array end '%s' processing map.", show(r, cb));
        if (is_space(r)) {
            next(lx);
            ignore(lx);
            return S_MAP_KEY_START;
        }
        if (r == '}') {
            next(lx);
            ignore(lx);
            return S_MAP_END;
        }
        if (r == '#') {
            next(lx);
            return push(lx, S_MAP_KEY_START, S_COMMENT_START);
        }
        if (r == '/') {
            next(lx);
            if (slash_comment(lx))
                return push(lx, S_MAP_KEY_START, S_COMMENT_START);
            /* nats-server drops the lone '/' and starts the key after it */
        } else if (r == '"' || r == '\'') {
            next(lx);
            ignore(lx);
            return r == '"' ? S_MAP_DQ_KEY : S_MAP_SQ_KEY;
        } else if (r == R_EOF) {
            return lex_error(lx, "Unexpected EOF processing map.");
        }
        ignore(lx);
        next(lx);
        return S_MAP_KEY;

    case S_MAP_SQ_KEY:
    case S_MAP_DQ_KEY:
        r = peek(lx);
        if (r == R_EOF)
            return lex_error(lx, s == S_MAP_DQ_KEY ? "Unexpected EOF processing double quoted map key."
                                                   : "Unexpected EOF processing quoted map key.");
        if (r == (s == S_MAP_DQ_KEY ? '"' : '\'')) {
            emit(lx, IT_KEY);
            next(lx);
            ignore(lx);
            return S_MAP_KEY_END;
        }
        next(lx);
        return s;

    case S_MAP_KEY:
        r = peek(lx);
        if (r == R_EOF)
            return lex_error(lx, "Unexpected EOF processing map key.");
        if (is_space(r))
            return key_check_keyword(lx, S_MAP_KEY_END, S_MAP_VALUE_END);
        if (is_keysep(r)) {
            emit(lx, IT_KEY);
            return S_MAP_KEY_END;
        }
        next(lx);
        return S_MAP_KEY;

    case S_MAP_KEY_END:
        r = next(lx);
        if (is_space(r)) {
            ignore(lx);
            return S_MAP_KEY_END;
        }
        if (is_keysep(r)) {
            ignore(lx);
            return S_MAP_VALUE;
        }
        backup(lx);
        return S_MAP_VALUE;

    case S_MAP_VALUE:
        r = next(lx);
        if (is_space(r)) {
            ignore(lx);
            return S_MAP_VALUE;
        }
        if (r == ',')
            return lex_error(lx, "Unexpected map value terminator \",\".");
        if (r == '}') {
            ignore(lx);
            return S_MAP_END;
        }
        backup(lx);
        return push(lx, S_MAP_VALUE_END, S_VALUE);

    case S_MAP_VALUE_END:
        r = next(lx);
        if (is_ws(r)) {
            ignore(lx);
            return S_MAP_VALUE_END;
        }
        if (r == '#')
            return push(lx, S_MAP_VALUE_END, S_COMMENT_START);
        if (r == '/' && slash_comment(lx))
            return push(lx, S_MAP_VALUE_END, S_COMMENT_START);
        if (r == '/' || r == ';' || r == ',' || is_nl(r)) {
            ignore(lx);
            return S_MAP_KEY_START;
        }
        if (r == '}') {
            ignore(lx);
            return S_MAP_END;
        }
        return lex_error(lx, "Expected a map value terminator \",\" or a map terminator \"}\", "
                             "but got '%s' instead.", show(r, cb));

    case S_MAP_END:
        ignore(lx);
        emit(lx, IT_MAP_END);
        return pop(lx);

    case S_SQ_STRING:
    case S_DQ_STRING:
        r = next(lx);
        if (s == S_DQ_STRING && r == '\\') {
            add_current_part(lx, 1);
            return S_ESCAPE;
        }
        if (r == (s == S_DQ_STRING ? '"' : '\'')) {
            backup(lx);
            emit(lx, IT_STRING);
            next(lx);
            ignore(lx);
            return pop(lx);
        }
        if (r == R_EOF) {
            if (lx->pos > lx->start || lx->has_parts)
                return lex_error(lx, "Unexpected EOF.");
            /* nats-server ends quietly here; an open string is an error in Tern */
            return lex_error(lx, "Unexpected EOF: unterminated string.");
        }
        return s;

    case S_STRING:
        r = next(lx);
        if (r == '\\') {
            add_current_part(lx, 1);
            return S_ESCAPE;
        }
        if (is_nl(r) || r == R_EOF || r == ';' || r == ',' || r == ']' || r == '}' || is_ws(r)) {
            backup(lx);
            if (lx->has_parts) {
                emit(lx, IT_STRING);
            } else if (text_is_bool(lx)) {
                emit(lx, IT_BOOL);
            } else if (lx->start < lx->len && lx->in[lx->start] == '$') {
                lx->start++;
                emit(lx, IT_VARIABLE);
            } else {
                emit(lx, IT_STRING);
            }
            return pop(lx);
        }
        if (r == '\'') {
            backup(lx);
            emit(lx, IT_STRING);
            next(lx);
            ignore(lx);
            return pop(lx);
        }
        return S_STRING;

    case S_BLOCK:
        /* text up to a ')' alone on its line */
        r = next(lx);
        if (r == ')') {
            backup(lx);
            backup(lx);
            if (next(lx) != '\n') {
                next(lx);
                return S_BLOCK;
            }
            next(lx);
            r = next(lx);
            if (r == '\n' || r == R_EOF) {
                backup(lx);
                backup(lx);
                emit(lx, IT_STRING);
                next(lx);
                ignore(lx);
                return pop(lx);
            }
            backup(lx);
            return S_BLOCK;
        }
        if (r == R_EOF)
            return lex_error(lx, "Unexpected EOF processing block.");
        return S_BLOCK;

    case S_ESCAPE:
        r = next(lx);
        switch (r) {
        case 'x': return S_BINARY;
        case 't': return add_part(lx, "\t", 1);
        case 'n': return add_part(lx, "\n", 1);
        case 'r': return add_part(lx, "\r", 1);
        case '"': return add_part(lx, "\"", 1);
        case '\\': return add_part(lx, "\\", 1);
        default: break;
        }
        return lex_error(lx, "Invalid escape character '%s'. Only the following escape characters "
                             "are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.", show(r, cb));

    case S_BINARY: {
        for (int i = 0; i < 2; i++) {
            r = next(lx);
            if (is_nl(r))
                return lex_error(lx, "Expected two hexadecimal digits after '\\x', but hit end of line");
        }
        const char *h = lx->in + (lx->pos >= 2 ? lx->pos - 2 : 0);
        char hex[3] = { h[0], h[1], 0 }, *end;
        unsigned long b = strtoul(hex, &end, 16);
        if (lx->pos < 2 || *end || !((h[0] >= '0' && h[0] <= '9') || strchr("abcdefABCDEF", h[0])))
            return lex_error(lx, "Expected two hexadecimal digits after '\\x', but got '%s'", hex);
        char c = (char)b;
        return add_part(lx, &c, 1);
    }

    case S_NUM_START:
    case S_NEG_START:
        r = next(lx);
        if (!is_digit(r)) {
            if (r == '.')
                return lex_error(lx, "Floats must start with a digit, not '.'.");
            return lex_error(lx, "Expected a digit but got '%s'.", show(r, cb));
        }
        return s == S_NUM_START ? S_NUM : S_NEG;

    case S_NUM:
        r = next(lx);
        if (r == '-') {
            if (lx->pos - lx->start != 5)
                return lex_error(lx, "All ISO8601 dates must be in full Zulu form.");
            return S_DATE;
        }
        if (is_digit(r))
            return S_NUM;
        if (r == '.')
            return S_FLOAT_START;
        if (is_suffix(r))
            return S_CONVENIENT;
        if (!(is_nl(r) || r == R_EOF || r == '}' || r == ';' || r == ',' || is_ws(r))) {
            /* not a number after all: an unquoted string starting with digits */
            lx->string_state = S_STRING;
            return S_STRING;
        }
        backup(lx);
        emit(lx, IT_INTEGER);
        return pop(lx);

    case S_CONVENIENT:
        r = next(lx);
        if (r == 'b' || r == 'B' || r == 'i' || r == 'I')
            return S_CONVENIENT;
        backup(lx);
        if (is_nl(r) || r == R_EOF || r == '}' || r == ';' || r == ',' || is_ws(r) || is_digit(r)) {
            emit(lx, IT_INTEGER);
            return pop(lx);
        }
        lx->string_state = S_STRING;
        return S_STRING;

    case S_DATE: {
        static const char fmt[] = "00-00T00:00:00Z";
        for (const char *f = fmt; *f; f++) {
            r = next(lx);
            if (*f == '0' && !is_digit(r))
                return lex_error(lx, "Expected digit in ISO8601 datetime, but found '%s' instead.",
                                 show(r, cb));
            if (*f != '0' && r != *f)
                return lex_error(lx, "Expected '%s' in ISO8601 datetime, but found '%s' instead.",
                                 show(*f, cb2), show(r, cb));
        }
        emit(lx, IT_DATETIME);
        return pop(lx);
    }

    case S_NEG:
        r = next(lx);
        if (is_digit(r))
            return S_NEG;
        if (r == '.')
            return S_FLOAT_START;
        if (is_suffix(r))
            return S_CONVENIENT;
        backup(lx);
        emit(lx, IT_INTEGER);
        return pop(lx);

    case S_FLOAT_START:
        r = next(lx);
        if (!is_digit(r))
            return lex_error(lx, "Floats must have a digit after the '.', but got '%s' instead.",
                             show(r, cb));
        return S_FLOAT;

    case S_FLOAT:
        r = next(lx);
        if (is_digit(r))
            return S_FLOAT;
        if (r == '.')
            return S_IP;    /* 127.0.0.1 … */
        backup(lx);
        emit(lx, IT_FLOAT);
        return pop(lx);

    case S_IP:
        r = next(lx);
        if (is_digit(r) || r == '.' || r == ':' || r == '-')
            return S_IP;
        backup(lx);
        emit(lx, IT_STRING);
        return pop(lx);

    case S_COMMENT_START:
        ignore(lx);
        return S_COMMENT;

    case S_COMMENT:
        r = peek(lx);
        if (is_nl(r) || r == R_EOF) {
            ignore(lx);
            return pop(lx);
        }
        next(lx);
        return S_COMMENT;
    }
    return S_DONE;
}

static void lexer_free(lexer *lx)
{
    for (size_t i = 0; i < lx->nitems; i++)
        free(lx->items[i].val);
    free(lx->items);
    free(lx->lines);
    tern_buf_free(&lx->parts);
}

/* Lex the whole input: items up to EOF or the first error. */
static void lex_all(lexer *lx, const char *text, size_t len)
{
    memset(lx, 0, sizeof *lx);
    lx->in = text;
    lx->len = len;
    size_t cap = 64;
    lx->lines = tern_xmalloc(cap * sizeof *lx->lines);
    lx->lines[lx->nlines++] = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\n')
            continue;
        if (lx->nlines == cap) {
            cap *= 2;
            lx->lines = tern_xrealloc(lx->lines, cap * sizeof *lx->lines);
        }
        lx->lines[lx->nlines++] = i + 1;
    }
    lstate s = S_TOP;
    while (s != S_DONE)
        s = step(lx, s);
    if (!lx->nitems || (lx->items[lx->nitems - 1].type != IT_EOF &&
                        lx->items[lx->nitems - 1].type != IT_ERROR))
        add_item(lx, IT_EOF, NULL, len);
}

/* ---- parser ------------------------------------------------------------- */

typedef struct include_frame {
    dev_t dev;
    ino_t ino;
} include_frame;

/* State shared by a file and everything it includes. */
typedef struct parse_env {
    tern_nats_vars *vars;
    include_frame chain[NATS_MAX_INCLUDES];
    int depth;                  /* includes and environment expansions */
    char *err;
    size_t errlen;
} parse_env;

typedef struct parser {
    parse_env *env;
    const char *file;
    tern_conf_node *ctx[NATS_MAX_DEPTH + 1];
    int nctx;
    tern_conf_node **keys;
    size_t nkeys, capkeys;
} parser;

static int perr(parser *p, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int perr(parser *p, int line, int col, const char *fmt, ...)
{
    char *err = p->env->err;
    size_t errlen = p->env->errlen;
    if (!err || !errlen)
        return -1;
    int off = snprintf(err, errlen, "%s:%d:%d: ", p->file, line, col);
    if (off >= 0 && (size_t)off < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static tern_conf_pair *find(const tern_conf_node *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->pairs[i].key->value, key))
            return &map->pairs[i];
    return NULL;
}

static void map_put(parse_env *env, tern_conf_node *map, tern_conf_node *key, tern_conf_node *value)
{
    tern_conf_pair *p = find(map, key->value);
    if (p) {
        /* as nats-server: a later definition replaces the earlier one */
        vars_scrub(env->vars, p->value);
        tern_conf_free(p->key);
        tern_conf_free(p->value);
        p->key = key;
        p->value = value;
        return;
    }
    if (map->n == map->cap) {
        map->cap = map->cap ? map->cap * 2 : 8;
        map->pairs = tern_xrealloc(map->pairs, map->cap * sizeof *map->pairs);
    }
    map->pairs[map->n].key = key;
    map->pairs[map->n].value = value;
    map->n++;
}

static void list_put(tern_conf_node *list, tern_conf_node *item)
{
    if (list->n == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 8;
        list->items = tern_xrealloc(list->items, list->cap * sizeof *list->items);
    }
    list->items[list->n++] = item;
}

static void push_key(parser *p, tern_conf_node *key)
{
    if (p->nkeys == p->capkeys) {
        p->capkeys = p->capkeys ? p->capkeys * 2 : 8;
        p->keys = tern_xrealloc(p->keys, p->capkeys * sizeof *p->keys);
    }
    p->keys[p->nkeys++] = key;
}

/* Place a finished value in the open block or array (takes ownership). */
static int set_value(parser *p, tern_conf_node *v)
{
    tern_conf_node *ctx = p->ctx[p->nctx - 1];
    if (ctx->type == TERN_CONF_LIST) {
        list_put(ctx, v);
        return 0;
    }
    if (!p->nkeys) {
        int r = perr(p, v->line, v->col, "a value without a key");
        tern_conf_free(v);
        return r;
    }
    map_put(p->env, ctx, p->keys[--p->nkeys], v);
    return 0;
}

static tern_conf_node *scalar(parser *p, const item *it, const char *text, bool quoted)
{
    tern_conf_node *n = tern_conf_new_scalar(text, p->file, it->line, it->col);
    n->quoted = quoted;
    return n;
}

/* An integer with nats-server's optional size suffix, as decimal text. */
static int integer(parser *p, const item *it, tern_conf_node **out)
{
    const char *s = it->val;
    size_t d = 0;
    while (s[d] && ((s[d] >= '0' && s[d] <= '9') || s[d] == '-'))
        d++;
    char *digits = tern_xstrndup(s, d), *end;
    errno = 0;
    long long v = strtoll(digits, &end, 10);
    bool bad = !d || *end, range = errno == ERANGE;
    free(digits);
    if (range)
        return perr(p, it->line, it->col, "integer '%s' is out of the range", s);
    if (bad)
        return perr(p, it->line, it->col, "expected integer, but got '%s'", s);
    static const struct {
        const char *suffix[4];
        int power;
        int base;
    } units[] = {
        { { "", NULL }, 0, 1000 },
        { { "k", NULL }, 1, 1000 }, { { "kb", "ki", "kib" }, 1, 1024 },
        { { "m", NULL }, 2, 1000 }, { { "mb", "mi", "mib" }, 2, 1024 },
        { { "g", NULL }, 3, 1000 }, { { "gb", "gi", "gib" }, 3, 1024 },
        { { "t", NULL }, 4, 1000 }, { { "tb", "ti", "tib" }, 4, 1024 },
        { { "p", NULL }, 5, 1000 }, { { "pb", "pi", "pib" }, 5, 1024 },
        { { "e", NULL }, 6, 1000 }, { { "eb", "ei", "eib" }, 6, 1024 },
    };
    const char *suffix = s + d;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        for (size_t k = 0; k < 3 && units[u].suffix[k]; k++) {
            if (strcasecmp(suffix, units[u].suffix[k]))
                continue;
            for (int i = 0; i < units[u].power; i++) {
                if (__builtin_mul_overflow(v, (long long)units[u].base, &v))
                    return perr(p, it->line, it->col, "integer '%s' is out of the range", s);
            }
            char buf[32];
            snprintf(buf, sizeof buf, "%lld", v);
            *out = scalar(p, it, buf, false);
            return 0;
        }
    }
    /* nats-server silently drops such a value (e.g. "1kbb"); a typo must not vanish */
    return perr(p, it->line, it->col, "invalid size suffix in '%s'", s);
}

static void set_position(tern_conf_node *n, const char *file, int line, int col)
{
    free(n->file);
    n->file = tern_xstrdup(file);
    n->line = line;
    n->col = col;
    for (size_t i = 0; i < n->n; i++) {
        if (n->type == TERN_CONF_MAP) {
            set_position(n->pairs[i].key, file, line, col);
            set_position(n->pairs[i].value, file, line, col);
        } else if (n->type == TERN_CONF_LIST) {
            set_position(n->items[i], file, line, col);
        }
    }
}

static tern_conf_node *parse_text(parse_env *env, const char *text, size_t len, const char *file);

/* $NAME: the nearest enclosing block that defines NAME, then the
 * environment (whose text is parsed as a value), as nats-server. */
static int variable(parser *p, const item *it, tern_conf_node **out)
{
    const char *name = it->val;
    if (!strncmp(name, "2a$", 3)) {
        /* an unquoted bcrypt hash ($2a$…) is not a reference */
        char *s = tern_xmalloc(strlen(name) + 2);
        sprintf(s, "$%s", name);
        *out = scalar(p, it, s, true);
        free(s);
        return 0;
    }
    for (int i = p->nctx - 1; i >= 0; i--) {
        if (p->ctx[i]->type != TERN_CONF_MAP)
            continue;
        tern_conf_pair *pair = find(p->ctx[i], name);
        if (pair) {
            vars_add(p->env->vars, pair->value);
            *out = tern_conf_copy(pair->value);
            free((*out)->file);
            (*out)->file = tern_xstrdup(p->file);
            (*out)->line = it->line;
            (*out)->col = it->col;
            return 0;
        }
    }
    const char *env = getenv(name);
    if (!env)
        return perr(p, it->line, it->col, "variable reference for '%s' can not be found", name);
    if (p->env->depth >= NATS_MAX_INCLUDES)
        return perr(p, it->line, it->col, "variable reference for '%s': environment variables "
                                          "nested too deeply", name);
    size_t n = strlen(env);
    char *text = tern_xmalloc(n + 4);
    memcpy(text, "pk=", 3);
    memcpy(text + 3, env, n + 1);
    char label[160], inner[TERN_CONF_ERR_MAX];
    snprintf(label, sizeof label, "environment variable %s", name);
    parse_env sub = *p->env;
    sub.err = inner;
    sub.errlen = sizeof inner;
    sub.depth++;
    sub.vars = NULL;
    tern_conf_node *root = parse_text(&sub, text, n + 3, label);
    free(text);
    if (!root) {
        /* variables expanding variables: report the innermost reason once */
        const char *why = inner, *q;
        while ((q = strstr(why, "could not be parsed: ")) != NULL)
            why = q + strlen("could not be parsed: ");
        return perr(p, it->line, it->col, "variable reference for '%s' could not be parsed: %s",
                    name, why);
    }
    tern_conf_pair *pk = find(root, "pk");
    if (!pk) {
        tern_conf_free(root);
        return perr(p, it->line, it->col, "variable reference for '%s' can not be found", name);
    }
    *out = pk->value;
    pk->value = tern_conf_new(TERN_CONF_NULL, "", 0, 0);
    tern_conf_free(root);
    set_position(*out, p->file, it->line, it->col);
    return 0;
}

static char *dirname_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    if (!slash) {
        char *cwd = getcwd(NULL, 0);
        return cwd ? cwd : tern_xstrdup(".");
    }
    if (slash == file)
        return tern_xstrdup("/");
    return tern_xstrndup(file, (size_t)(slash - file));
}

static tern_conf_node *load(parse_env *env, const char *path);

/* include FILE: its keys are set in the open block, as if written here. */
static int include(parser *p, const item *it)
{
    char *path;
    if (it->val[0] == '/') {
        path = tern_xstrdup(it->val);
    } else {
        char *dir = dirname_of(p->file);
        path = tern_xmalloc(strlen(dir) + strlen(it->val) + 2);
        sprintf(path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", it->val);
        free(dir);
    }
    char inner[TERN_CONF_ERR_MAX];
    char *outer = p->env->err;
    size_t outerlen = p->env->errlen;
    p->env->err = inner;
    p->env->errlen = sizeof inner;
    inner[0] = '\0';
    tern_conf_node *m = load(p->env, path);
    p->env->err = outer;
    p->env->errlen = outerlen;
    free(path);
    if (!m)
        return perr(p, it->line, it->col, "error parsing include file '%s': %s", it->val, inner);
    for (size_t i = 0; i < m->n; i++) {
        push_key(p, m->pairs[i].key);
        if (set_value(p, m->pairs[i].value) < 0) {
            for (size_t j = i + 1; j < m->n; j++) {
                tern_conf_free(m->pairs[j].key);
                tern_conf_free(m->pairs[j].value);
            }
            m->n = 0;
            tern_conf_free(m);
            return -1;
        }
    }
    m->n = 0;
    tern_conf_free(m);
    return 0;
}

static int process(parser *p, const item *it)
{
    tern_conf_node *v = NULL;
    switch (it->type) {
    case IT_ERROR:
        return perr(p, it->line, it->col, "%s", it->val);
    case IT_EOF:
        return 0;
    case IT_KEY:
        push_key(p, tern_conf_new_scalar(it->val, p->file, it->line, it->col));
        return 0;
    case IT_MAP_START:
    case IT_ARRAY_START:
        if (p->nctx > NATS_MAX_DEPTH)
            return perr(p, it->line, it->col, "nesting deeper than %d levels", NATS_MAX_DEPTH);
        p->ctx[p->nctx++] = tern_conf_new(it->type == IT_MAP_START ? TERN_CONF_MAP : TERN_CONF_LIST,
                                          p->file, it->line, it->col);
        return 0;
    case IT_MAP_END:
    case IT_ARRAY_END:
        if (p->nctx <= 1)
            return perr(p, it->line, it->col, "unbalanced '%c'", it->type == IT_MAP_END ? '}' : ']');
        return set_value(p, p->ctx[--p->nctx]);
    case IT_STRING:
        v = scalar(p, it, it->val, true);
        break;
    case IT_DATETIME:
        v = scalar(p, it, it->val, true);
        break;
    case IT_INTEGER:
        if (integer(p, it, &v) < 0)
            return -1;
        break;
    case IT_FLOAT: {
        char *end;
        errno = 0;
        (void)strtod(it->val, &end);
        if (*end)
            return perr(p, it->line, it->col, "expected float, but got '%s'", it->val);
        if (errno == ERANGE)
            return perr(p, it->line, it->col, "float '%s' is out of the range", it->val);
        v = scalar(p, it, it->val, false);
        break;
    }
    case IT_BOOL: {
        const char *w = it->val;
        bool yes = !strcasecmp(w, "true") || !strcasecmp(w, "yes") || !strcasecmp(w, "on");
        v = scalar(p, it, yes ? "true" : "false", false);
        break;
    }
    case IT_VARIABLE:
        if (variable(p, it, &v) < 0)
            return -1;
        break;
    case IT_INCLUDE:
        return include(p, it);
    }
    return set_value(p, v);
}

static tern_conf_node *parse_text(parse_env *env, const char *text, size_t len, const char *file)
{
    lexer lx;
    lex_all(&lx, text, len);
    parser p = { .env = env, .file = file };
    p.ctx[p.nctx++] = tern_conf_new(TERN_CONF_MAP, file, 1, 1);
    int rc = 0;
    for (size_t i = 0; i < lx.nitems && rc == 0; i++) {
        rc = process(&p, &lx.items[i]);
        if (lx.items[i].type == IT_EOF)
            break;
    }
    if (rc == 0 && p.nctx > 1) {
        /* nats-server ignores a block left open at the end; Tern refuses it */
        tern_conf_node *open = p.ctx[p.nctx - 1];
        rc = perr(&p, open->line, open->col, "unexpected end of file: this %s is not closed",
                  open->type == TERN_CONF_MAP ? "block '{'" : "array '['");
    }
    lexer_free(&lx);
    for (size_t i = 0; i < p.nkeys; i++)
        tern_conf_free(p.keys[i]);   /* keys left without a value, as nats-server drops them */
    free(p.keys);
    for (int i = p.nctx - 1; i >= 1; i--)
        tern_conf_free(p.ctx[i]);
    if (rc != 0) {
        vars_scrub(env->vars, p.ctx[0]);
        tern_conf_free(p.ctx[0]);
        return NULL;
    }
    return p.ctx[0];
}

static tern_conf_node *load(parse_env *env, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(env->err, env->errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(env->err, env->errlen, "%s: is a directory", path);
        return NULL;
    }
    for (int i = 0; i < env->depth; i++) {
        if (env->chain[i].dev == st.st_dev && env->chain[i].ino == st.st_ino) {
            snprintf(env->err, env->errlen, "%s: include cycle: the file includes itself", path);
            return NULL;
        }
    }
    if (env->depth >= NATS_MAX_INCLUDES) {
        snprintf(env->err, env->errlen, "%s: includes nested deeper than %d levels", path,
                 NATS_MAX_INCLUDES);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(env->err, env->errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    tern_buf b = { 0 };
    char chunk[8192];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        tern_buf_append(&b, chunk, r);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(env->err, env->errlen, "%s: read error", path);
        tern_buf_free(&b);
        return NULL;
    }
    env->chain[env->depth].dev = st.st_dev;
    env->chain[env->depth].ino = st.st_ino;
    env->depth++;
    tern_conf_node *root = parse_text(env, b.data ? b.data : "", b.len, path);
    env->depth--;
    tern_buf_free(&b);
    return root;
}

tern_conf_node *tern_conf_parse_nats(const char *text, size_t len, const char *file,
                                     tern_nats_vars *vars, char *err, size_t errlen)
{
    char scratch[TERN_CONF_ERR_MAX];
    parse_env env = { .vars = vars, .err = err ? err : scratch, .errlen = err ? errlen : sizeof scratch };
    return parse_text(&env, text, len, file ? file : "");
}

tern_conf_node *tern_conf_load_nats_raw(const char *path, tern_nats_vars *vars, char *err, size_t errlen)
{
    char scratch[TERN_CONF_ERR_MAX];
    parse_env env = { .vars = vars, .err = err ? err : scratch, .errlen = err ? errlen : sizeof scratch };
    return load(&env, path);
}
