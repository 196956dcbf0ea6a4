/* aws_fake_util - text escapings, form/query parameters, ids, times and page tokens shared by the
 * fake AWS services (see aws_fake.h). */
#include "aws_fake.h"
#include "server/text.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char awsf_upper_alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const char awsf_base64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- text escapings ---------------------------------------------------------------------- */

void awsf_sb_xml(struct sbuf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            sb_lit(b, "&amp;");
            break;
        case '<':
            sb_lit(b, "&lt;");
            break;
        case '>':
            sb_lit(b, "&gt;");
            break;
        default:
            /* Control bytes are not allowed in XML 1.0 text; echoed input may hold them. */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
                sb_put(b, "?", 1);
            else
                sb_put(b, s, 1);
        }
    }
}

void awsf_sb_elem(struct sbuf *b, const char *indent, const char *tag, const char *text)
{
    sb_lit(b, indent);
    sb_lit(b, "<");
    sb_lit(b, tag);
    sb_lit(b, ">");
    awsf_sb_xml(b, text);
    sb_lit(b, "</");
    sb_lit(b, tag);
    sb_lit(b, ">\n");
}

void awsf_sb_pct(struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            sb_put(b, (const char *)c, 1);
        } else {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 0xf]};
            sb_put(b, e, 3);
        }
    }
}

/* ---- parameters -------------------------------------------------------------------------- */

/* Decodes %XX (and '+' as a space when plus_space); NULL when an escape is malformed, decodes to
 * NUL, or memory runs out. */
static char *decode(const char *s, size_t n, bool plus_space)
{
    char *out = malloc(n + 1);
    size_t p = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+' && plus_space) {
            out[p++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? text_hex_digit((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? text_hex_digit((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[p++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[p++] = s[i];
        }
    }
    out[p] = '\0';
    return out;
}

char *awsf_pct_decode(const char *s, size_t n)
{
    if (memchr(s, '\0', n) != NULL)
        return NULL;
    return decode(s, n, false);
}

void awsf_params_free(struct awsf_params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->name[i]);
        free(p->value[i]);
    }
    p->n = 0;
}

const char *awsf_param(const struct awsf_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    }
    return NULL;
}

bool awsf_params_parse(const char *s, size_t len, struct awsf_params *p, char *why, size_t whylen)
{
    size_t i = 0;

    p->n = 0;
    if (len == 0)
        return true;
    if (memchr(s, '\0', len) != NULL) {
        snprintf(why, whylen, "%s", "the body contains a NUL byte");
        return false;
    }
    while (i <= len) {
        const char *pair = s + i;
        const char *amp = memchr(pair, '&', len - i);
        size_t plen = amp ? (size_t)(amp - pair) : len - i;
        const char *eq = memchr(pair, '=', plen);
        size_t nlen = eq ? (size_t)(eq - pair) : plen;
        char *name, *value;

        if (nlen == 0) {
            snprintf(why, whylen, "%s", "the body has an empty parameter name");
            return false;
        }
        if (p->n == AWSF_MAX_PARAMS) {
            snprintf(why, whylen, "more than %d parameters", AWSF_MAX_PARAMS);
            return false;
        }
        name = decode(pair, nlen, true);
        value = eq ? decode(eq + 1, plen - nlen - 1, true) : strdup("");
        if (name == NULL || value == NULL) {
            free(name);
            free(value);
            snprintf(why, whylen, "%s", "the body has a malformed percent-escape");
            return false;
        }
        if (awsf_param(p, name) != NULL) {
            snprintf(why, whylen, "parameter %.64s appears more than once", name);
            free(name);
            free(value);
            return false;
        }
        p->name[p->n] = name;
        p->value[p->n] = value;
        p->n++;
        if (amp == NULL)
            break;
        i += plen + 1;
        if (i == len) {
            snprintf(why, whylen, "%s", "the body ends with '&'");
            return false;
        }
    }
    return true;
}

bool awsf_rand_chars(char *out, size_t n, const char *alphabet, size_t alen)
{
    unsigned char buf[64];
    size_t limit = 256 - 256 % alen;
    size_t got = 0;

    while (got < n) {
        if (RAND_bytes(buf, (int)sizeof buf) != 1)
            return false;
        for (size_t i = 0; i < sizeof buf && got < n; i++) {
            if (buf[i] < limit)
                out[got++] = alphabet[buf[i] % alen];
        }
    }
    out[n] = '\0';
    return true;
}

/* ---- ids and times ----------------------------------------------------------------------- */

void awsf_request_id(char out[37])
{
    unsigned char b[16];
    static const char hex[] = "0123456789abcdef";
    size_t p = 0;

    if (RAND_bytes(b, sizeof b) != 1)
        memset(b, 0, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[p++] = '-';
        out[p++] = hex[b[i] >> 4];
        out[p++] = hex[b[i] & 0x0f];
    }
    out[p] = '\0';
}

void awsf_derived_id(const char *prefix, const char *seed, size_t n, char *out, size_t outlen)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t p;

    SHA256((const unsigned char *)seed, strlen(seed), md);
    p = (size_t)snprintf(out, outlen, "%s", prefix);
    for (size_t i = 0; i < n && p + 1 < outlen && i < sizeof md; i++)
        out[p++] = awsf_upper_alnum[md[i] % (sizeof awsf_upper_alnum - 1)];
    out[p] = '\0';
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static unsigned digits_value(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

void awsf_format_time(time_t t, bool iso, char *out, size_t n)
{
    struct tm tm;
    size_t w;

    if (gmtime_r(&t, &tm) == NULL)
        w = 0;
    else if (iso)
        w = strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        w = strftime(out, n, "%Y%m%dT%H%M%SZ", &tm);
    if (w == 0)
        snprintf(out, n, "%s", "?");
}

bool awsf_parse_amz_date(const char *s, time_t *out)
{
    char back[17];
    long long days;
    time_t t;

    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return false;
    for (size_t i = 0; i < 15; i++) {
        if (i != 8 && !(s[i] >= '0' && s[i] <= '9'))
            return false;
    }
    days = days_from_civil(digits_value(s, 4), digits_value(s + 4, 2), digits_value(s + 6, 2));
    t = (time_t)(days * 86400 + digits_value(s + 9, 2) * 3600 + digits_value(s + 11, 2) * 60 +
                 digits_value(s + 13, 2));
    /* Round trip rejects month 13, 31 April, 25 o'clock and the like. */
    awsf_format_time(t, false, back, sizeof back);
    if (strcmp(back, s) != 0)
        return false;
    *out = t;
    return true;
}


unsigned long awsf_page_size(const struct awsf_call *c, unsigned long max)
{
    return c->short_pages && max > 1 ? (max + 1) / 2 : max;
}

/* ---- base64 and page tokens -------------------------------------------------------------- */

char *awsf_base64(const unsigned char *data, size_t n)
{
    size_t len = 4 * ((n + 2) / 3);
    char *out = malloc(len + 1);

    if (out == NULL)
        return NULL;
    if (EVP_EncodeBlock((unsigned char *)out, data, (int)n) != (int)len) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

/* The three bytes every token starts with: they encode as "+/+/". */
static const unsigned char token_magic[3] = {0xfb, 0xff, 0xbf};

char *awsf_token_new(const char *kind, size_t index)
{
    unsigned char raw[96];
    int n;

    memcpy(raw, token_magic, 3);
    n = snprintf((char *)raw + 3, sizeof raw - 3, "%s:%zu", kind, index);
    if (n < 0 || (size_t)n >= sizeof raw - 4)
        return NULL;
    /* A length that is not a multiple of 3, so the token ends with '='. */
    if ((3 + (size_t)n) % 3 == 0)
        raw[3 + n++] = ' ';
    return awsf_base64(raw, 3 + (size_t)n);
}

bool awsf_token_parse(const char *token, const char *kind, size_t *index)
{
    unsigned char raw[96];
    size_t len = strlen(token), klen = strlen(kind);
    int n;
    unsigned long v;
    char digits[32];
    size_t dl;

    if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof raw)
        return false;
    n = EVP_DecodeBlock(raw, (const unsigned char *)token, (int)len);
    if (n < 0)
        return false;
    /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
    if (len >= 1 && token[len - 1] == '=')
        n--;
    if (len >= 2 && token[len - 2] == '=')
        n--;
    if (n < 5 || memcmp(raw, token_magic, 3) != 0 || (size_t)n < 3 + klen + 2 ||
        memcmp(raw + 3, kind, klen) != 0 || raw[3 + klen] != ':')
        return false;
    dl = (size_t)n - 4 - klen;
    if (dl > 0 && raw[3 + klen + 1 + dl - 1] == ' ')
        dl--;
    if (dl == 0 || dl >= sizeof digits)
        return false;
    memcpy(digits, raw + 4 + klen, dl);
    digits[dl] = '\0';
    if (!fake_parse_ulong(digits, 0, 100000000, &v))
        return false;
    *index = (size_t)v;
    return true;
}

/* ---- replies ----------------------------------------------------------------------------- */

void awsf_fail(struct awsf_reply *rp, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;

    rp->status = status;
    rp->code = code;
    va_start(ap, fmt);
    vsnprintf(rp->message, sizeof rp->message, fmt, ap);
    va_end(ap);
}

void awsf_reply_json(struct awsf_reply *rp, json_t *o)
{
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    if (s == NULL) {
        awsf_fail(rp, 500, "ServiceException", "fake_aws: out of memory");
        return;
    }
    rp->status = 200;
    rp->code = NULL;
    rp->body = s;
    rp->content_type = "application/json";
}
