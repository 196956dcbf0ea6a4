/* Decoding of string leaves before matching: percent encoding, HTML character references,
 * base64 and a non-allocating JSON walker. See observe/detect_int.h. */
#include "observe/detect_int.h"
#include "server/text.h"

#include <string.h>

/* Appends code point cp as UTF-8; returns the new length. */
static size_t put_utf8(char *dst, size_t n, size_t cap, unsigned long cp)
{
    unsigned char b[4];
    size_t k;

    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    if (n + k > cap)
        return n;
    memcpy(dst + n, b, k);
    return n + k;
}

size_t obs_url_decode(const char *src, size_t len, char *dst, size_t cap, bool plus_space,
                      bool *changed)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, n = 0;

    *changed = false;
    while (i < len && n < cap) {
        if (s[i] == '%' && i + 2 < len + 0 && text_hex_digit((unsigned char)s[i + 1]) >= 0 &&
            text_hex_digit((unsigned char)s[i + 2]) >= 0) {
            dst[n++] = (char)(text_hex_digit((unsigned char)s[i + 1]) * 16 +
                              text_hex_digit((unsigned char)s[i + 2]));
            i += 3;
            *changed = true;
        } else if (s[i] == '%' && i + 5 < len && (s[i + 1] == 'u' || s[i + 1] == 'U') &&
                   text_hex_digit((unsigned char)s[i + 2]) >= 0 &&
                   text_hex_digit((unsigned char)s[i + 3]) >= 0 &&
                   text_hex_digit((unsigned char)s[i + 4]) >= 0 &&
                   text_hex_digit((unsigned char)s[i + 5]) >= 0) {
            unsigned long cp = (unsigned long)(text_hex_digit((unsigned char)s[i + 2]) << 12 |
                                               text_hex_digit((unsigned char)s[i + 3]) << 8 |
                                               text_hex_digit((unsigned char)s[i + 4]) << 4 |
                                               text_hex_digit((unsigned char)s[i + 5]));
            n = put_utf8(dst, n, cap, cp);
            i += 6;
            *changed = true;
        } else if (s[i] == '+' && plus_space) {
            dst[n++] = ' ';
            i++;
            *changed = true;
        } else {
            dst[n++] = (char)s[i++];
        }
    }
    return n;
}

/* ASCII case-insensitive comparison of n bytes; b is lower case. */
static bool ci_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != b[i])
            return false;
    }
    return true;
}

struct named_ref {
    const char *name; /* without & and ; */
    char c;
};

static const struct named_ref named_refs[] = {
    {"lt", '<'},     {"gt", '>'},     {"quot", '"'},   {"apos", '\''},    {"amp", '&'},
    {"sol", '/'},    {"bsol", '\\'},  {"lpar", '('},   {"rpar", ')'},     {"colon", ':'},
    {"semi", ';'},   {"equals", '='}, {"tab", '\t'},   {"newline", '\n'}, {"grave", '`'},
    {"lbrace", '{'}, {"rbrace", '}'}, {"period", '.'}, {"comma", ','},
};

size_t obs_html_decode(const char *src, size_t len, char *dst, size_t cap, bool *changed)
{
    size_t i = 0, n = 0;

    *changed = false;
    while (i < len && n < cap) {
        if (src[i] != '&' || i + 2 >= len) {
            dst[n++] = src[i++];
            continue;
        }
        if (src[i + 1] == '#') {
            size_t j = i + 2;
            unsigned long cp = 0;
            bool hex = j < len && (src[j] == 'x' || src[j] == 'X');
            size_t digits = 0;

            if (hex)
                j++;
            while (j < len && digits < 8) {
                int v = hex ? text_hex_digit((unsigned char)src[j])
                            : (src[j] >= '0' && src[j] <= '9' ? src[j] - '0' : -1);
                if (v < 0)
                    break;
                cp = cp * (hex ? 16u : 10u) + (unsigned long)v;
                j++;
                digits++;
            }
            if (digits > 0) {
                while (j < len && text_hex_digit((unsigned char)src[j]) >= 0 && digits < 16) {
                    j++; /* an over-long reference: the value saturated above */
                    digits++;
                }
                if (j < len && src[j] == ';')
                    j++;
                n = put_utf8(dst, n, cap, cp);
                i = j;
                *changed = true;
                continue;
            }
        } else {
            bool done = false;
            for (size_t k = 0; k < sizeof named_refs / sizeof named_refs[0]; k++) {
                size_t nl = strlen(named_refs[k].name);
                if (i + 1 + nl <= len && ci_eq(src + i + 1, named_refs[k].name, nl)) {
                    size_t j = i + 1 + nl;
                    if (j < len && src[j] == ';')
                        j++;
                    dst[n++] = named_refs[k].c;
                    i = j;
                    *changed = true;
                    done = true;
                    break;
                }
            }
            if (done)
                continue;
        }
        dst[n++] = src[i++];
    }
    return n;
}

/* 1 + the value of a base64 digit (either alphabet), 0 for any other byte */
static const unsigned char b64tab[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['-'] = 63,
    ['/'] = 64, ['_'] = 64,
};

static int b64val(unsigned char c)
{
    return (int)b64tab[c] - 1;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool obs_looks_base64(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0, pad = 0;
    bool lower = false, upper = false, digit = false;

    while (len > 0 && is_space(u[len - 1]))
        len--;
    while (len > 0 && is_space(*u)) {
        u++;
        len--;
    }
    if (len < 12)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (u[i] == '=') {
            pad++;
            continue;
        }
        if (pad > 0 || b64val(u[i]) < 0)
            return false;
        lower |= u[i] >= 'a' && u[i] <= 'z';
        upper |= u[i] >= 'A' && u[i] <= 'Z';
        digit |= u[i] >= '0' && u[i] <= '9';
        n++;
    }
    /* Words and numbers are valid base64 too: ask for a mixed alphabet. */
    return pad <= 2 && n % 4 != 1 && ((lower && upper) || (digit && (lower || upper)));
}

bool obs_base64_decode(const char *s, size_t len, unsigned char *dst, size_t cap, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned long acc = 0;
    int bits = 0;
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        int v;
        if (u[i] == '=' || is_space(u[i]))
            continue;
        v = b64val(u[i]);
        if (v < 0) {
            *out_len = n;
            return false;
        }
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < cap)
                dst[n++] = (unsigned char)((acc >> bits) & 0xFF);
        }
        acc &= 0xFFFFu;
    }
    *out_len = n;
    return true;
}

size_t obs_utf8_seq(const unsigned char *s, size_t len)
{
    size_t k;
    unsigned long cp;

    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        k = 2, cp = s[0] & 0x1Fu;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        k = 3, cp = s[0] & 0x0Fu;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        k = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (k > len)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

bool obs_is_mostly_text(const unsigned char *s, size_t len)
{
    size_t good = 0, i = 0;

    if (len == 0)
        return false;
    while (i < len) {
        size_t k;
        if ((s[i] >= 0x20 && s[i] < 0x7F) || is_space(s[i])) {
            good++;
            i++;
        } else if (s[i] >= 0x80 && (k = obs_utf8_seq(s + i, len - i)) > 0) {
            good += k;
            i += k;
        } else {
            i++;
        }
    }
    return good * 10 >= len * 9;
}

/* ---- JSON walker ---- */

#define JW_MAX_DEPTH 512
#define JW_PATH_CAP 256

struct jw {
    const char *p, *end;
    char *unesc;
    size_t unesc_cap;
    obs_json_leaf_fn leaf;
    void *ctx;
    char path[JW_PATH_CAP];
    size_t plen;
};

static void jw_ws(struct jw *w)
{
    while (w->p < w->end && is_space((unsigned char)*w->p))
        w->p++;
}

/* Parses a string at w->p (at the opening quote) into w->unesc; returns its length or -1. */
static long jw_string(struct jw *w)
{
    size_t n = 0;

    w->p++; /* the quote */
    while (w->p < w->end) {
        unsigned char c = (unsigned char)*w->p++;
        if (c == '"')
            return (long)n;
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            if (n < w->unesc_cap)
                w->unesc[n++] = (char)c;
            continue;
        }
        if (w->p >= w->end)
            return -1;
        c = (unsigned char)*w->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u': {
            unsigned long cp = 0;
            if (w->end - w->p < 4)
                return -1;
            for (int i = 0; i < 4; i++) {
                int v = text_hex_digit((unsigned char)w->p[i]);
                if (v < 0)
                    return -1;
                cp = cp << 4 | (unsigned long)v;
            }
            w->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && w->end - w->p >= 6 && w->p[0] == '\\' &&
                w->p[1] == 'u') {
                unsigned long lo = 0;
                int ok = 1;
                for (int i = 0; i < 4; i++) {
                    int v = text_hex_digit((unsigned char)w->p[2 + i]);
                    if (v < 0)
                        ok = 0;
                    lo = lo << 4 | (unsigned long)(v < 0 ? 0 : v);
                }
                if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    w->p += 6;
                }
            }
            n = put_utf8(w->unesc, n, w->unesc_cap, cp);
            continue;
        }
        default:
            return -1;
        }
        if (n < w->unesc_cap)
            w->unesc[n++] = (char)c;
    }
    return -1;
}

/* Skips a number or literal (true/false/null); false on anything else. */
static bool jw_scalar(struct jw *w)
{
    const char *start = w->p;

    while (w->p < w->end && ((*w->p >= '0' && *w->p <= '9') || *w->p == '-' || *w->p == '+' ||
                             *w->p == '.' || *w->p == 'e' || *w->p == 'E'))
        w->p++;
    if (w->p > start)
        return true;
    if (w->end - w->p >= 4 && (memcmp(w->p, "true", 4) == 0 || memcmp(w->p, "null", 4) == 0)) {
        w->p += 4;
        return true;
    }
    if (w->end - w->p >= 5 && memcmp(w->p, "false", 5) == 0) {
        w->p += 5;
        return true;
    }
    return false;
}

/* Appends ".seg" (or "seg" at the root) to the path; returns the old length to restore. */
static size_t jw_push(struct jw *w, const char *seg, size_t n)
{
    size_t old = w->plen;
    size_t need = (w->plen > 0 ? 1 : 0) + n;

    if (w->plen + need >= JW_PATH_CAP)
        return old; /* cut: deeper segments are dropped */
    if (w->plen > 0)
        w->path[w->plen++] = '.';
    memcpy(w->path + w->plen, seg, n);
    w->plen += n;
    w->path[w->plen] = '\0';
    return old;
}

static void jw_pop(struct jw *w, size_t old)
{
    w->plen = old;
    w->path[old] = '\0';
}

/* Iterative walk: a stack of container kinds and element counters, never recursion, so deep
 * nesting costs no C stack (about 9 KiB of it at most). */
static bool jw_walk(struct jw *w)
{
    char kind[JW_MAX_DEPTH];    /* '{' or '[' */
    size_t saved[JW_MAX_DEPTH]; /* path length to restore after the member */
    unsigned long idx[JW_MAX_DEPTH];
    size_t depth = 0;
    bool expect_value = true;

    for (;;) {
        jw_ws(w);
        if (w->p >= w->end)
            return false;
        if (expect_value) {
            char c = *w->p;
            if (c == '{' || c == '[') {
                w->p++;
                if (depth >= JW_MAX_DEPTH)
                    return false; /* the caller inspects the text as a plain string */
                kind[depth] = c;
                idx[depth] = 0;
                saved[depth] = w->plen;
                depth++;
                jw_ws(w);
                if (w->p < w->end && (*w->p == (c == '{' ? '}' : ']'))) {
                    w->p++;
                    depth--;
                    expect_value = false;
                    goto after_value;
                }
                if (c == '{')
                    goto member_key;
                jw_push(w, "0", 1);
                continue;
            }
            if (c == '"') {
                long n = jw_string(w);
                if (n < 0)
                    return false;
                w->leaf(w->ctx, w->path, w->unesc, (size_t)n, false);
            } else if (!jw_scalar(w)) {
                return false;
            }
            expect_value = false;
        }
    after_value:
        if (depth == 0) {
            jw_ws(w);
            return w->p == w->end;
        }
        jw_ws(w);
        if (w->p >= w->end)
            return false;
        jw_pop(w, saved[depth - 1]);
        if (*w->p == ',') {
            w->p++;
            idx[depth - 1]++;
            if (kind[depth - 1] == '[') {
                char num[24];
                size_t k = 0;
                unsigned long v = idx[depth - 1];
                char rev[24];
                size_t r = 0;
                do {
                    rev[r++] = (char)('0' + v % 10);
                    v /= 10;
                } while (v > 0 && r < sizeof rev);
                while (r > 0)
                    num[k++] = rev[--r];
                jw_push(w, num, k);
                expect_value = true;
                continue;
            }
            goto member_key;
        }
        if (*w->p == (kind[depth - 1] == '{' ? '}' : ']')) {
            w->p++;
            depth--;
            goto after_value;
        }
        return false;
    member_key:
        jw_ws(w);
        if (w->p >= w->end || *w->p != '"')
            return false;
        {
            long n = jw_string(w);
            if (n < 0)
                return false;
            jw_push(w, w->unesc, (size_t)n);
            w->leaf(w->ctx, w->path, w->unesc, (size_t)n, true);
        }
        jw_ws(w);
        if (w->p >= w->end || *w->p != ':')
            return false;
        w->p++;
        expect_value = true;
    }
}

bool obs_json_walk(const char *text, size_t len, const char *prefix, char *unesc, size_t unesc_cap,
                   obs_json_leaf_fn leaf, void *ctx)
{
    struct jw w = {.p = text,
                   .end = text + len,
                   .unesc = unesc,
                   .unesc_cap = unesc_cap,
                   .leaf = leaf,
                   .ctx = ctx};
    size_t pl = strlen(prefix);

    if (pl >= JW_PATH_CAP)
        pl = JW_PATH_CAP - 1;
    memcpy(w.path, prefix, pl);
    w.path[pl] = '\0';
    w.plen = pl;
    return jw_walk(&w);
}
