/* Evidence rendering (printable, valid UTF-8, secrets masked) and payload shapes. See
 * observe/detect_int.h. */
#include "observe/detect_int.h"

#include <string.h>

uint64_t obs_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_tokenish(char c)
{
    return is_alnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '.';
}

/* Case-insensitive: does s[i..] start with the lower-case word w of n bytes? */
static bool starts_ci(const char *s, size_t len, size_t i, const char *w, size_t n)
{
    if (i + n > len)
        return false;
    for (size_t k = 0; k < n; k++)
        if (lower(s[i + k]) != w[k])
            return false;
    return true;
}

/* Masks in place in buf[0, n): AWS access key ids, JWTs, bearer/basic credentials and the value
 * after password-like names; with all, any token-like run of 20+ characters. Only secrets that
 * start before limit are looked for (what follows is not shown). */
static void mask_secrets(char *buf, size_t n, size_t limit, bool all)
{
    static const struct {
        const char *w;
        size_t n; /* strlen(w) */
    } names[] = {{"password", 8}, {"passwd", 6}, {"pwd", 3},         {"secret", 6}, {"token", 5},
                 {"api_key", 7},  {"apikey", 6}, {"access_key", 10}, {"session", 7}};
    size_t i = 0;

    while (i < n && i < limit) {
        size_t run = 0;
        const char c0 = lower(buf[i]);
        /* every secret below starts with one of these letters, and all but "bearer"/"basic"
         * only where no letter or digit precedes: skip the rest fast */
        static const bool first[256] = {
            ['a'] = 1, ['b'] = 1, ['e'] = 1, ['p'] = 1, ['s'] = 1, ['t'] = 1,
            ['A'] = 1, ['B'] = 1, ['E'] = 1, ['P'] = 1, ['S'] = 1, ['T'] = 1};
        if (!all && !first[(unsigned char)buf[i]]) {
            i++;
            continue;
        }
        const bool word_start = i == 0 || !is_alnum(buf[i - 1]);
        if (!all && !word_start && c0 != 'b') {
            i++;
            continue;
        }
        /* AKIA/ASIA + 16 upper-case alphanumerics */
        if (word_start && buf[i] == 'A' && i + 20 <= n &&
            (memcmp(buf + i, "AKIA", 4) == 0 || memcmp(buf + i, "ASIA", 4) == 0)) {
            bool ok = true;
            for (size_t k = 4; k < 20; k++)
                if (!((buf[i + k] >= 'A' && buf[i + k] <= 'Z') ||
                      (buf[i + k] >= '0' && buf[i + k] <= '9')))
                    ok = false;
            if (ok) {
                memset(buf + i + 4, '*', 16);
                i += 20;
                continue;
            }
        }
        /* JWT: eyJ...  */
        if (i + 10 <= n && memcmp(buf + i, "eyJ", 3) == 0 && (i == 0 || !is_tokenish(buf[i - 1]))) {
            size_t k = i;
            while (k < n && is_tokenish(buf[k]))
                k++;
            if (k - i >= 16) {
                memset(buf + i + 3, '*', k - i - 3);
                i = k;
                continue;
            }
        }
        /* "Bearer x", "Basic x" */
        if (c0 == 'b' &&
            (starts_ci(buf, n, i, "bearer ", 7) || starts_ci(buf, n, i, "basic ", 6))) {
            size_t k = i + (lower(buf[i]) == 'b' && lower(buf[i + 1]) == 'e' ? 7 : 6);
            size_t s = k;
            while (k < n && is_tokenish(buf[k]))
                k++;
            if (k > s) {
                memset(buf + s, '*', k - s);
                i = k;
                continue;
            }
        }
        /* name=value, name: value, "name":"value" */
        for (size_t w = 0; word_start && w < sizeof names / sizeof names[0]; w++) {
            if (names[w].w[0] != c0 || !starts_ci(buf, n, i, names[w].w, names[w].n))
                continue;
            size_t k = i + names[w].n;
            while (k < n && (is_alnum(buf[k]) || buf[k] == '_'))
                k++; /* password_hash, secretKey */
            while (k < n && (buf[k] == '"' || buf[k] == '\'' || buf[k] == ' '))
                k++;
            if (k < n && (buf[k] == '=' || buf[k] == ':')) {
                k++;
                while (k < n && (buf[k] == '"' || buf[k] == '\'' || buf[k] == ' '))
                    k++;
                size_t s = k;
                while (k < n && buf[k] != '"' && buf[k] != '\'' && buf[k] != '&' && buf[k] != ';' &&
                       buf[k] != ',' && buf[k] != ' ' && buf[k] != '}')
                    k++;
                if (k > s)
                    memset(buf + s, '*', k - s);
                run = k - i;
            }
            break;
        }
        if (run > 0) {
            i += run;
            continue;
        }
        if (all && is_tokenish(buf[i]) && (i == 0 || !is_tokenish(buf[i - 1]))) {
            size_t k = i;
            while (k < n && is_tokenish(buf[k]))
                k++;
            if (k - i >= 20) {
                memset(buf + i + 4, '*', k - i - 4);
                i = k;
                continue;
            }
        }
        i++;
    }
}

#define EVIDENCE_WINDOW 512

void obs_evidence(const char *text, size_t len, size_t start, size_t end, bool mask_all, char *out,
                  size_t cap)
{
    char buf[EVIDENCE_WINDOW];
    size_t n = 0, o = 0;

    if (cap == 0)
        return;
    if (start > len)
        start = len;
    if (end > len)
        end = len;
    if (end < start)
        end = start;
    /* a little context before short matches, so the reader sees where the attack starts */
    if (end - start < 60 && !mask_all) {
        size_t back = 60 - (end - start);
        if (back > 24)
            back = 24;
        start = start > back ? start - back : 0;
    }
    /* and what follows a short match: the payload, not only its anchor */
    if (end < start + 120)
        end = start + 120 < len ? start + 120 : len;
    if (end - start > EVIDENCE_WINDOW)
        end = start + EVIDENCE_WINDOW;
    memcpy(buf, text + start, end - start);
    n = end - start;
    /* rendering never takes more input bytes than it writes */
    mask_secrets(buf, n, cap - 1, mask_all);
    /* render: valid UTF-8 kept, control bytes and invalid bytes become '?' or ' ' */
    for (size_t i = 0; i < n && o + 1 < cap;) {
        const unsigned char c = (unsigned char)buf[i];
        if (c >= 0x20 && c < 0x7F) {
            out[o++] = (char)c;
            i++;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out[o++] = ' ';
            i++;
        } else if (c >= 0x80) {
            size_t k = obs_utf8_seq((const unsigned char *)buf + i, n - i);
            if (k == 0) {
                out[o++] = '?';
                i++;
            } else if (o + k + 1 <= cap) {
                memcpy(out + o, buf + i, k);
                o += k;
                i += k;
            } else {
                break; /* never cut a character */
            }
        } else {
            out[o++] = '?';
            i++;
        }
    }
    out[o] = '\0';
}

uint64_t obs_shape_text(const char *text, size_t start, size_t end, unsigned cls)
{
    uint64_t h = obs_fnv(OBS_FNV_BASIS, &cls, sizeof cls);
    char prev = 0;
    size_t i = start;

    while (i < end) {
        char c = lower(text[i]);
        char emit;

        if (c >= '0' && c <= '9') {
            /* numbers, including 0x.. hex and dotted or decimal forms, are one literal */
            while (i < end && (is_alnum(text[i]) || text[i] == '.') &&
                   ((text[i] >= '0' && text[i] <= '9') || lower(text[i]) == 'x' ||
                    (lower(text[i]) >= 'a' && lower(text[i]) <= 'f') || text[i] == '.'))
                i++;
            emit = '0';
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '+') {
            while (i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
                               text[i] == '\r' || text[i] == '+'))
                i++;
            emit = ' ';
        } else if (c == '/' && i + 1 < end && text[i + 1] == '*') {
            size_t k = i + 2;
            while (k + 1 < end && !(text[k] == '*' && text[k + 1] == '/'))
                k++;
            i = k + 2 <= end ? k + 2 : end;
            emit = ' ';
        } else if ((c == '\'' || c == '"') && i + 1 < end) {
            /* a short quoted literal with no quote, bracket or SQL-breaking content in it */
            size_t k = i + 1;
            while (k < end && k - i < 64 && text[k] != c && text[k] != '<' && text[k] != '>' &&
                   text[k] != '(' && text[k] != ')' && text[k] != ' ' && text[k] != '=')
                k++;
            if (k < end && text[k] == c && k > i + 1) {
                h = obs_fnv(h, &c, 1);
                h = obs_fnv(h, "s", 1);
                h = obs_fnv(h, &c, 1);
                prev = c;
                i = k + 1;
                continue;
            }
            emit = c;
            i++;
        } else if (c == '.' && i + 2 < end && text[i + 1] == '.' &&
                   (text[i + 2] == '/' || text[i + 2] == '\\')) {
            /* ../../../ -> ../ */
            while (i + 2 < end && text[i] == '.' && text[i + 1] == '.' &&
                   (text[i + 2] == '/' || text[i + 2] == '\\'))
                i += 3;
            h = obs_fnv(h, "../", 3);
            prev = '/';
            continue;
        } else {
            emit = c;
            i++;
        }
        if (emit == ' ' && prev == ' ')
            continue;
        h = obs_fnv(h, &emit, 1);
        prev = emit;
    }
    return h;
}
