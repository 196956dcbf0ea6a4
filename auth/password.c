#include "auth/password.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define ENCODED_MAX 256         /* longest encoded hash password_verify() will parse */
#define SANE_M_COST_MAX 262144u /* KiB (256 MiB): room to raise the cost, not to exhaust memory */
#define SANE_T_COST_MAX 16u
#define SANE_P_MAX 16u

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- policy ---- */

/* Counts the code points of s[0..n); false unless s is valid UTF-8 per RFC 3629: no overlong
 * forms, no UTF-16 surrogates (U+D800-DFFF), nothing above U+10FFFF, nothing truncated.
 * *repeated is true when every code point equals the first. */
static bool utf8_scan(const unsigned char *s, size_t n, size_t *count, bool *repeated)
{
    uint32_t first = 0;
    size_t cps = 0;
    size_t i = 0;

    *repeated = true;
    while (i < n) {
        unsigned char b = s[i];
        uint32_t cp;
        size_t need;

        if (b < 0x80u) {
            cp = b;
            need = 0;
        } else if (b >= 0xC2u && b <= 0xDFu) { /* 0xC0 and 0xC1 only start overlong forms */
            cp = b & 0x1Fu;
            need = 1;
        } else if (b >= 0xE0u && b <= 0xEFu) {
            cp = b & 0x0Fu;
            need = 2;
        } else if (b >= 0xF0u && b <= 0xF4u) {
            cp = b & 0x07u;
            need = 3;
        } else {
            return false; /* a stray continuation byte, or 0xF5-0xFF */
        }
        if (n - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            unsigned char c = s[i + k];
            if ((c & 0xC0u) != 0x80u)
                return false;
            cp = (cp << 6) | (c & 0x3Fu);
        }
        if (need == 2 && (cp < 0x800u || (cp >= 0xD800u && cp <= 0xDFFFu)))
            return false;
        if (need == 3 && (cp < 0x10000u || cp > 0x10FFFFu))
            return false;
        if (cps == 0)
            first = cp;
        else if (cp != first)
            *repeated = false;
        cps++;
        i += need + 1;
    }
    *count = cps;
    return true;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* a[0..an) == b[0..bn), ignoring ASCII case. */
static bool equal_fold(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

/* Bytewise order of two strings, a shorter prefix first: the order of `LC_ALL=C sort`. */
static int line_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* Binary search of the sorted, newline-separated list for key, in place. [lo, hi) always spans
 * whole lines: lo is a line start, hi a line start or the end. */
static bool list_contains(const char *list, size_t len, const char *key, size_t klen)
{
    size_t lo = 0;
    size_t hi = len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t start = mid;
        size_t end = mid;
        int c;

        while (start > lo && list[start - 1] != '\n')
            start--;
        while (end < hi && list[end] != '\n')
            end++;
        c = line_cmp(list + start, end - start, key, klen);
        if (c == 0)
            return end > start;
        if (c < 0)
            lo = end + 1;
        else
            hi = start;
    }
    return false;
}

bool password_is_common(const char *pw, size_t len)
{
    char low[PASSWORD_MAX_BYTES];
    bool found;

    if (pw == NULL || len == 0 || len > sizeof low)
        return false;
    for (size_t i = 0; i < len; i++)
        low[i] = ascii_lower(pw[i]);
    found = list_contains(password_common_list, password_common_list_len, low, len);
    OPENSSL_cleanse(low, len);
    return found;
}

enum err_code password_check_policy(const char *pw, size_t len, const char *email, struct err *err)
{
    static const char field[] = "password";
    size_t chars = 0;
    bool repeated = false;

    if (pw == NULL && len > 0)
        return err_set_field(err, ERR_INVALID, field, "is required");
    if (pw == NULL)
        pw = "";
    /* More bytes than 256 four-byte characters is certainly too long: refuse before scanning. */
    if (len > PASSWORD_MAX_BYTES)
        return err_set_field(err, ERR_INVALID, field, "must be at most %d characters long",
                             PASSWORD_MAX_CHARS);
    if (memchr(pw, '\0', len) != NULL)
        return err_set_field(err, ERR_INVALID, field, "must not contain NUL characters");
    if (!utf8_scan((const unsigned char *)pw, len, &chars, &repeated))
        return err_set_field(err, ERR_INVALID, field, "must be valid UTF-8 text");
    if (chars < PASSWORD_MIN_CHARS)
        return err_set_field(err, ERR_INVALID, field, "must be at least %d characters long",
                             PASSWORD_MIN_CHARS);
    if (chars > PASSWORD_MAX_CHARS)
        return err_set_field(err, ERR_INVALID, field, "must be at most %d characters long",
                             PASSWORD_MAX_CHARS);
    if (repeated)
        return err_set_field(err, ERR_INVALID, field,
                             "must not be one character repeated; try a few unrelated words");
    if (password_is_common(pw, len))
        return err_set_field(err, ERR_INVALID, field,
                             "is a commonly used password that attackers try first; choose "
                             "another, such as a few unrelated words");
    if (email != NULL && email[0] != '\0') {
        const char *at = strrchr(email, '@');
        size_t local = at != NULL ? (size_t)(at - email) : strlen(email);
        if (equal_fold(pw, len, email, strlen(email)) || equal_fold(pw, len, email, local))
            return err_set_field(err, ERR_INVALID, field,
                                 "must not be your email address or the part before the @");
    }
    return ERR_OK;
}

/* ---- hashing ---- */

enum err_code password_hash(const char *pw, size_t len, char *out, size_t outlen, struct err *err)
{
    unsigned char salt[PASSWORD_SALT_LEN];
    int r;

    if (out == NULL || outlen < PASSWORD_HASH_LEN ||
        outlen < argon2_encodedlen(PASSWORD_T_COST, PASSWORD_M_COST, PASSWORD_PARALLELISM,
                                   PASSWORD_SALT_LEN, PASSWORD_TAG_LEN, Argon2_id))
        return err_set(err, ERR_INTERNAL, "password hash buffer too small");
    out[0] = '\0';
    if (pw == NULL && len > 0)
        return err_set_field(err, ERR_INVALID, "password", "is required");
    if (len > PASSWORD_MAX_BYTES)
        return err_set_field(err, ERR_INVALID, "password", "must be at most %d characters long",
                             PASSWORD_MAX_CHARS);
    if (RAND_bytes(salt, sizeof salt) != 1)
        return err_set(err, ERR_INTERNAL, "no randomness for the password salt");
    r = argon2id_hash_encoded(PASSWORD_T_COST, PASSWORD_M_COST, PASSWORD_PARALLELISM,
                              pw != NULL ? pw : "", len, salt, sizeof salt, PASSWORD_TAG_LEN, out,
                              outlen);
    if (r != ARGON2_OK) {
        out[0] = '\0';
        return err_set(err, r == ARGON2_MEMORY_ALLOCATION_ERROR ? ERR_NOMEM : ERR_INTERNAL,
                       "cannot hash the password (%s)", argon2_error_message(r));
    }
    return ERR_OK;
}

/* Reads a decimal number without sign or leading zeros, at most max, advancing *p. */
static bool parse_uint(const char **p, uint32_t max, uint32_t *out)
{
    const char *s = *p;
    uint32_t v = 0;

    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (uint32_t)(*s - '0');
        if (v > max)
            return false;
    }
    *p = s;
    *out = v;
    return true;
}

static bool skip(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

struct encoded_params {
    uint32_t m, t, p;
    size_t salt_chars, tag_chars;
};

/* Parses "$argon2id$v=19$m=M,t=T,p=P$SALT$TAG" strictly, with the costs bounded so a corrupt or
 * hostile stored hash cannot make a verify allocate gigabytes or spin for minutes. libargon2
 * re-parses it; this is the gate in front. */
static bool parse_encoded(const char *e, struct encoded_params *ep)
{
    const char *p = e;

    if (strnlen(e, ENCODED_MAX + 1) > ENCODED_MAX)
        return false;
    if (!skip(&p, "$argon2id$v=19$m=") || !parse_uint(&p, SANE_M_COST_MAX, &ep->m) ||
        !skip(&p, ",t=") || !parse_uint(&p, SANE_T_COST_MAX, &ep->t) || !skip(&p, ",p=") ||
        !parse_uint(&p, SANE_P_MAX, &ep->p) || !skip(&p, "$"))
        return false;
    if (ep->t < 1 || ep->p < 1 || ep->m < 8 * ep->p)
        return false;
    ep->salt_chars = strspn(p, b64_alphabet);
    p += ep->salt_chars;
    if (!skip(&p, "$"))
        return false;
    ep->tag_chars = strspn(p, b64_alphabet);
    p += ep->tag_chars;
    /* 8..64-byte salt and 16..64-byte tag, as unpadded base64. */
    return *p == '\0' && ep->salt_chars >= 11 && ep->salt_chars <= 86 && ep->tag_chars >= 22 &&
           ep->tag_chars <= 86;
}

bool password_verify(const char *encoded, const char *pw, size_t len)
{
    struct encoded_params ep;

    if (encoded == NULL || (pw == NULL && len > 0) || len > PASSWORD_MAX_BYTES)
        return false;
    if (!parse_encoded(encoded, &ep))
        return false;
    return argon2id_verify(encoded, pw != NULL ? pw : "", len) == ARGON2_OK;
}

bool password_needs_rehash(const char *encoded)
{
    struct encoded_params ep;

    if (encoded == NULL || !parse_encoded(encoded, &ep))
        return true;
    return ep.m != PASSWORD_M_COST || ep.t != PASSWORD_T_COST || ep.p != PASSWORD_PARALLELISM ||
           ep.salt_chars != 22 || ep.tag_chars != 43;
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PASSWORD_HASH_LEN]; /* written once under dummy_once, then read-only */
static bool dummy_ok;

/* The dummy hash is of 32 random bytes, which no password matches in practice; its only job is
 * to cost what a real hash at the current parameters costs. */
static void dummy_init(void)
{
    unsigned char pw[32];

    if (RAND_bytes(pw, sizeof pw) != 1)
        return;
    dummy_ok =
        password_hash((const char *)pw, sizeof pw, dummy_hash, sizeof dummy_hash, NULL) == ERR_OK;
    OPENSSL_cleanse(pw, sizeof pw);
}

void password_verify_dummy(const char *pw, size_t len)
{
    static const unsigned char salt[PASSWORD_SALT_LEN] = "parapet-dummy-s"; /* 15 + NUL */
    unsigned char tag[PASSWORD_TAG_LEN];

    /* Same early exits as password_verify(), so the two cost the same on every path. */
    if ((pw == NULL && len > 0) || len > PASSWORD_MAX_BYTES)
        return;
    if (pw == NULL)
        pw = "";
    pthread_once(&dummy_once, dummy_init);
    if (dummy_ok) {
        (void)argon2id_verify(dummy_hash, pw, len);
        return;
    }
    /* No dummy hash (no randomness or memory at the time): burn the same work directly. */
    (void)argon2id_hash_raw(PASSWORD_T_COST, PASSWORD_M_COST, PASSWORD_PARALLELISM, pw, len, salt,
                            sizeof salt, tag, sizeof tag);
    OPENSSL_cleanse(tag, sizeof tag);
}
