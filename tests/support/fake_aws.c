/* fake_aws - a strict fake of AWS STS (Query protocol, API version 2011-06-15) for integration
 * tests: AssumeRole and GetCallerIdentity, with SigV4 checked by recomputing every signature.
 *
 *   fake_aws --port N [--config FILE] [--log FILE]
 *
 * Listens on 127.0.0.1:N (0 = a free port) and prints "port=N" (the bound port) as the first
 * line on stdout, flushed, once it accepts connections. SIGTERM or SIGINT stops it; exit 0.
 * Exit 2 on bad usage or configuration (message on stderr), 1 when it cannot listen.
 *
 * Config, one directive per line; blank lines and lines starting with '#' are ignored:
 *   account 111122223333      the caller's (Parapet's) account (default 111122223333)
 *   credentials AKID SECRET   long-term keys of arn:aws:iam::<account>:user/parapet (repeatable)
 *   role ARN EXTERNAL_ID|-    a role that trusts <account>, on condition of that external ID,
 *                             or unconditionally with '-' (the confused-deputy mistake)
 *   throttle N                answer the next N requests with 400 Throttling
 *   expire_s S                lifetime of issued temporary credentials (default: DurationSeconds,
 *                             else 3600)
 *
 * What is enforced (AWS behaviour where AWS is known; "fake:" marks stricter choices):
 * - fake: POST, request target exactly "/" (no query), Content-Type
 *   application/x-www-form-urlencoded with at most "; charset=utf-8", a well-formed form body of
 *   at most 64 KiB without repeated or empty names: else 400 MalformedRequest (413
 *   RequestEntityTooLarge for the size).
 * - Authorization "AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/sts/aws4_request,
 *   SignedHeaders=..., Signature=...", an X-Amz-Date header (fake: the Date header is not
 *   accepted instead), host and x-amz-date signed, and fake: X-Amz-Security-Token signed when sent.
 *   The signature is recomputed with cloud_sigv4_sign() over the received method, path, the
 *   headers named in SignedHeaders with their received values, and the body.
 * - X-Amz-Date more than 15 minutes from now: 403 SignatureDoesNotMatch "Signature expired" /
 *   "Signature not yet current", as STS answers (S3's RequestTimeTooSkewed is S3 only).
 * - Temporary credentials (ASIA...) need their own session token; they expire (400 ExpiredToken).
 *   Long-term keys must not carry a token. Unknown key or bad token: 403 InvalidClientTokenId.
 * - AssumeRole: only the long-term identity is trusted by roles (a role session calling AssumeRole
 *   is AccessDenied); unknown role, and an external ID missing or wrong where the role requires
 *   one, give the same 403 AccessDenied message.
 *
 * Log (--log): one JSON object per request, appended with one write():
 *   {"action":..,"role_arn":..,"external_id_present":bool,"access_key_prefix":"AKIA","status":N,
 *    "error":"Code"|null}
 * (strings null when absent). Never a secret, token, signature or external ID value.
 *
 * Threading: libmicrohttpd runs every handler on its one internal thread; the mutable state
 * (throttle count, issued credentials, log) is under one mutex all the same. */
#include "cloud/sigv4.h"
#include "server/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STS_VERSION "2011-06-15"
#define STS_NS "https://sts.amazonaws.com/doc/" STS_VERSION "/"
#define DEFAULT_ACCOUNT "111122223333"
#define MAX_BODY (64 * 1024)            /* bytes of request body */
#define MAX_XML (64 * 1024)             /* bytes of a response body */
#define MAX_PARAMS 64                   /* form parameters */
#define MAX_REQ_HEADERS 128             /* received header lines */
#define MAX_LONG_CREDS 64               /* credentials directives */
#define MAX_ROLES 256                   /* role directives */
#define MAX_TEMP 4096                   /* issued temporary credentials held at once */
#define MAX_SESSION_S 3600              /* every role's MaxSessionDuration */
#define SKEW_S (15 * 60)                /* X-Amz-Date tolerance */
#define TOKEN_LEN 512                   /* bytes of a session token */
#define TOKEN_PREFIX "IQoJb3JpZ2luX2Vj" /* what real tokens start with */
#define LOG_FIELD_MAX 2048              /* longest string copied into a log line */

#define MSG_SIGNATURE                                                                              \
    "The request signature we calculated does not match the signature you provided. Check your "   \
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
#define MSG_TOKEN_INVALID "The security token included in the request is invalid."
#define MSG_TOKEN_EXPIRED "The security token included in the request is expired"

static const char upper_alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

struct long_cred {
    char *akid;
    char *secret;
};

struct role {
    char *arn;
    char *name;        /* last path segment of the ARN, borrowed from arn */
    char *external_id; /* NULL: the trust policy has no sts:ExternalId condition */
    char account[13];
    char id[22]; /* "AROA" + 17, stable per ARN */
};

struct temp_cred {
    char akid[21];
    char secret[41];
    char token[TOKEN_LEN + 1];
    char session[65];
    time_t expires;
    size_t role; /* index into fake.roles */
};

struct fake {
    /* Read-only once serving. */
    char account[13];
    struct long_cred creds[MAX_LONG_CREDS];
    size_t ncreds;
    struct role roles[MAX_ROLES];
    size_t nroles;
    long expire_s; /* 0 = not configured */
    int log_fd;    /* -1 = no log */
    /* Under mu. */
    pthread_mutex_t mu;
    unsigned long throttle;
    struct temp_cred *temps;
    size_t ntemps, temps_cap;
};

/* One request, from the URI log callback to the completion callback. */
struct req {
    char *target; /* raw request target as received */
    bool seen;    /* the access handler has been called once */
    char *body;
    size_t len;
    bool too_large;
};

struct param {
    char *name;
    char *value;
};

struct form {
    struct param p[MAX_PARAMS];
    size_t n;
};

struct hdrs {
    struct cloud_sigv4_header h[MAX_REQ_HEADERS]; /* borrowed from libmicrohttpd */
    size_t n;
    bool overflow;
};

/* The answer: an error (code set) or a success body. */
struct reply {
    unsigned status;
    const char *code;
    char message[1024];
    char *xml;
};

/* Who signed the request. */
struct caller {
    const struct long_cred *lc; /* exactly one of lc, tc */
    const struct temp_cred *tc;
    char arn[2300];
    char user_id[128];
    char account[13];
};

/* The parsed Authorization header. */
struct auth {
    char akid[129];
    char date[9];
    char region[33];
    char service[65];
    char terminator[33];
    char signed_headers[1024];
    char signature[65];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void fail(struct reply *rp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct reply *rp, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;

    rp->status = status;
    rp->code = code;
    va_start(ap, fmt);
    vsnprintf(rp->message, sizeof rp->message, fmt, ap);
    va_end(ap);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* True when every byte of s is [A-Za-z0-9_] or in extra. */
static bool word_chars(const char *s, const char *extra)
{
    for (; *s != '\0'; s++) {
        if (!is_alnum(*s) && *s != '_' && strchr(extra, *s) == NULL)
            return false;
    }
    return true;
}

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
    }
    return true;
}

/* Fills out[0..n) with characters of alphabet (length alen <= 256), uniformly, and NULs
 * out[n]. Returns false when the random generator fails. */
static bool rand_chars(char *out, size_t n, const char *alphabet, size_t alen)
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

/* A stable id: prefix then n characters of [A-Z0-9] derived from SHA-256(seed). */
static void derived_id(const char *prefix, const char *seed, size_t n, char *out, size_t outlen)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t p;

    SHA256((const unsigned char *)seed, strlen(seed), md);
    p = (size_t)snprintf(out, outlen, "%s", prefix);
    for (size_t i = 0; i < n && p + 1 < outlen && i < sizeof md; i++)
        out[p++] = upper_alnum[md[i] % (sizeof upper_alnum - 1)];
    out[p] = '\0';
}

/* A random v4 UUID (AWS request ids look like this). out[37]. */
static void request_id(char out[37])
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

/* t as "YYYYMMDDTHHMMSSZ" (iso false, X-Amz-Date) or "YYYY-MM-DDTHH:MM:SSZ" (iso true). */
static void format_time(time_t t, bool iso, char *out, size_t n)
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

/* Parses "YYYYMMDDTHHMMSSZ" (ISO 8601 basic, UTC) strictly. */
static bool parse_amz_date(const char *s, time_t *out)
{
    char back[17];
    long long days;
    time_t t;

    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return false;
    for (size_t i = 0; i < 15; i++) {
        if (i != 8 && !is_digit(s[i]))
            return false;
    }
    days = days_from_civil(digits_value(s, 4), digits_value(s + 4, 2), digits_value(s + 6, 2));
    t = (time_t)(days * 86400 + digits_value(s + 9, 2) * 3600 + digits_value(s + 11, 2) * 60 +
                 digits_value(s + 13, 2));
    /* Round trip rejects month 13, 31 April, 25 o'clock and the like. */
    format_time(t, false, back, sizeof back);
    if (strcmp(back, s) != 0)
        return false;
    *out = t;
    return true;
}

/* ---- growable text with a cap ----------------------------------------------------------- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > MAX_XML) {
            b->failed = true;
            return;
        }
        np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Appends s as XML element text: '&', '<' and '>' escaped (quotes need none in text). */
static void sb_xml(struct sbuf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            sb_puts(b, "&amp;");
            break;
        case '<':
            sb_puts(b, "&lt;");
            break;
        case '>':
            sb_puts(b, "&gt;");
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

/* Appends "<tag>escaped text</tag>" after indent. */
static void sb_elem(struct sbuf *b, const char *indent, const char *tag, const char *text)
{
    sb_puts(b, indent);
    sb_puts(b, "<");
    sb_puts(b, tag);
    sb_puts(b, ">");
    sb_xml(b, text);
    sb_puts(b, "</");
    sb_puts(b, tag);
    sb_puts(b, ">\n");
}

/* Wipes a response body before freeing it: success bodies carry secrets and tokens. */
static void free_wiped(void *p)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, strlen(p));
    free(p);
}

/* ---- form bodies ------------------------------------------------------------------------ */

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte. NULL when an escape
 * is malformed, decodes to NUL, or memory runs out. */
static char *form_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t p = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[p++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
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

static void form_free(struct form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->p[i].name);
        free(f->p[i].value);
    }
    f->n = 0;
}

static const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->p[i].name, name) == 0)
            return f->p[i].value;
    }
    return NULL;
}

/* Parses body into f. On failure writes the reason to why and returns false (f keeps what was
 * parsed so far, for the log). */
static bool form_parse(const char *body, size_t len, struct form *f, char *why, size_t whylen)
{
    size_t i = 0;

    f->n = 0;
    if (len == 0)
        return true;
    if (memchr(body, '\0', len) != NULL) {
        snprintf(why, whylen, "%s", "the body contains a NUL byte");
        return false;
    }
    while (i <= len) {
        const char *pair = body + i;
        const char *amp = memchr(pair, '&', len - i);
        size_t plen = amp ? (size_t)(amp - pair) : len - i;
        const char *eq = memchr(pair, '=', plen);
        size_t nlen = eq ? (size_t)(eq - pair) : plen;
        char *name, *value;

        if (nlen == 0) {
            snprintf(why, whylen, "%s", "the body has an empty parameter name");
            return false;
        }
        if (f->n == MAX_PARAMS) {
            snprintf(why, whylen, "more than %d parameters", MAX_PARAMS);
            return false;
        }
        name = form_decode(pair, nlen);
        value = eq ? form_decode(eq + 1, plen - nlen - 1) : strdup("");
        if (name == NULL || value == NULL) {
            free(name);
            free(value);
            snprintf(why, whylen, "%s", "the body has a malformed percent-escape");
            return false;
        }
        if (form_get(f, name) != NULL) {
            snprintf(why, whylen, "parameter %.64s appears more than once", name);
            free(name);
            free(value);
            return false;
        }
        f->p[f->n].name = name;
        f->p[f->n].value = value;
        f->n++;
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

/* ---- received headers ------------------------------------------------------------------- */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct hdrs *hs = cls;
    (void)kind;

    if (hs->n == MAX_REQ_HEADERS) {
        hs->overflow = true;
        return MHD_NO;
    }
    hs->h[hs->n].name = key;
    hs->h[hs->n].value = value != NULL ? value : "";
    hs->n++;
    return MHD_YES;
}

/* Number of headers called name (case-insensitive); *first gets the first value. */
static size_t header_count(const struct hdrs *hs, const char *name, const char **first)
{
    size_t n = 0;

    *first = NULL;
    for (size_t i = 0; i < hs->n; i++) {
        if (strcasecmp(hs->h[i].name, name) == 0) {
            if (n == 0)
                *first = hs->h[i].value;
            n++;
        }
    }
    return n;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* "application/x-www-form-urlencoded", optionally "; charset=utf-8" (quoted or not). */
static bool content_type_ok(const char *v)
{
    static const char mt[] = "application/x-www-form-urlencoded";

    v = skip_ows(v);
    if (strncasecmp(v, mt, sizeof mt - 1) != 0)
        return false;
    v = skip_ows(v + sizeof mt - 1);
    if (*v == '\0')
        return true;
    if (*v != ';')
        return false;
    v = skip_ows(v + 1);
    if (strncasecmp(v, "charset=", 8) != 0)
        return false;
    v += 8;
    if (strncasecmp(v, "utf-8", 5) == 0)
        v += 5;
    else if (strncasecmp(v, "\"utf-8\"", 7) == 0)
        v += 7;
    else
        return false;
    return *skip_ows(v) == '\0';
}

/* Copies the first (up to) 4 alphanumeric characters of the Credential's access key, for the
 * log; "" when there is none. */
static void key_prefix(const char *authorization, char out[5])
{
    const char *c = authorization ? strstr(authorization, "Credential=") : NULL;
    size_t n = 0;

    if (c != NULL) {
        c += strlen("Credential=");
        while (n < 4 && is_alnum(c[n])) {
            out[n] = c[n];
            n++;
        }
    }
    out[n] = '\0';
}

/* Copies [s, s+n) into out[outlen]; false when it does not fit. */
static bool copy_part(char *out, size_t outlen, const char *s, size_t n)
{
    if (n >= outlen)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* Parses "AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..". */
static bool parse_authorization(const char *v, struct auth *a, struct reply *rp)
{
    static const char alg[] = CLOUD_SIGV4_ALGORITHM " ";
    bool have_cred = false, have_sh = false, have_sig = false;
    char cred[400] = "";
    const char *p, *parts[5];
    size_t lens[5], np = 0;

    memset(a, 0, sizeof *a);
    if (strncmp(v, alg, sizeof alg - 1) != 0) {
        fail(rp, 400, "IncompleteSignature",
             "Authorization header requires the '" CLOUD_SIGV4_ALGORITHM "' algorithm.");
        return false;
    }
    p = v + sizeof alg - 1;
    for (;;) {
        const char *e, *eq, *val;
        size_t len, klen, vlen;
        bool *seen;
        char *dst;
        size_t dstlen;

        p = skip_ows(p);
        e = strchr(p, ',');
        len = e ? (size_t)(e - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        eq = memchr(p, '=', len);
        if (eq == NULL) {
            fail(rp, 400, "IncompleteSignature",
                 "Authorization header parameters must be Key=Value pairs separated by ','.");
            return false;
        }
        klen = (size_t)(eq - p);
        val = eq + 1;
        vlen = len - klen - 1;
        if (klen == 10 && strncmp(p, "Credential", 10) == 0) {
            seen = &have_cred;
            dst = cred;
            dstlen = sizeof cred;
        } else if (klen == 13 && strncmp(p, "SignedHeaders", 13) == 0) {
            seen = &have_sh;
            dst = a->signed_headers;
            dstlen = sizeof a->signed_headers;
        } else if (klen == 9 && strncmp(p, "Signature", 9) == 0) {
            seen = &have_sig;
            dst = a->signature;
            dstlen = sizeof a->signature;
        } else {
            fail(rp, 400, "IncompleteSignature", "Authorization header has an unknown parameter.");
            return false;
        }
        if (*seen || vlen == 0 || !copy_part(dst, dstlen, val, vlen)) {
            fail(rp, 400, "IncompleteSignature",
                 "Authorization header has a repeated, empty or oversized parameter.");
            return false;
        }
        *seen = true;
        if (e == NULL)
            break;
        p = e + 1;
    }
    if (!have_cred || !have_sh || !have_sig) {
        fail(rp, 400, "IncompleteSignature", "%s%s%s",
             have_cred ? "" : "Authorization header requires 'Credential' parameter. ",
             have_sh ? "" : "Authorization header requires 'SignedHeaders' parameter. ",
             have_sig ? "" : "Authorization header requires 'Signature' parameter. ");
        return false;
    }
    for (p = cred; np < 5; np++) {
        const char *slash = strchr(p, '/');
        parts[np] = p;
        lens[np] = slash ? (size_t)(slash - p) : strlen(p);
        if (slash == NULL) {
            np++;
            break;
        }
        p = slash + 1;
    }
    if (np != 5 || strchr(parts[4], '/') != NULL || lens[0] == 0 ||
        !copy_part(a->akid, sizeof a->akid, parts[0], lens[0]) ||
        !copy_part(a->date, sizeof a->date, parts[1], lens[1]) ||
        !copy_part(a->region, sizeof a->region, parts[2], lens[2]) ||
        !copy_part(a->service, sizeof a->service, parts[3], lens[3]) ||
        !copy_part(a->terminator, sizeof a->terminator, parts[4], lens[4])) {
        fail(rp, 400, "IncompleteSignature",
             "Credential must have the form <key>/<date>/<region>/<service>/aws4_request.");
        return false;
    }
    return true;
}

/* ---- authentication --------------------------------------------------------------------- */

static const struct long_cred *find_long(const struct fake *f, const char *akid)
{
    for (size_t i = 0; i < f->ncreds; i++) {
        if (strcmp(f->creds[i].akid, akid) == 0)
            return &f->creds[i];
    }
    return NULL;
}

static const struct temp_cred *find_temp(const struct fake *f, const char *akid)
{
    for (size_t i = 0; i < f->ntemps; i++) {
        if (strcmp(f->temps[i].akid, akid) == 0)
            return &f->temps[i];
    }
    return NULL;
}

/* True when the ';'-separated list holds name. */
static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; p != NULL; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && (p[n] == ';' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* Recomputes the signature over the received request; fills rp when it does not match. */
static bool verify_signature(const struct req *r, const char *method, const struct hdrs *hs,
                             const struct auth *a, time_t when, const char *secret,
                             const char *token, struct reply *rp)
{
    struct cloud_sigv4_header signed_hdrs[CLOUD_SIGV4_MAX_HEADERS];
    struct cloud_sigv4_request sreq;
    struct cloud_sigv4_creds sc = {a->akid, secret, token};
    struct cloud_sigv4_result res;
    struct err err;
    size_t n = 0;
    const char *p = a->signed_headers;
    enum err_code rc;
    bool ok;

    /* Exactly the headers SignedHeaders names, every received occurrence, in received order. */
    while (*p != '\0') {
        size_t len = strcspn(p, ";");
        bool found = false;
        for (size_t i = 0; i < hs->n; i++) {
            if (strlen(hs->h[i].name) != len || strncasecmp(hs->h[i].name, p, len) != 0)
                continue;
            if (n == CLOUD_SIGV4_MAX_HEADERS) {
                fail(rp, 403, "SignatureDoesNotMatch", MSG_SIGNATURE);
                return false;
            }
            signed_hdrs[n++] = hs->h[i];
            found = true;
        }
        if (!found || len == 0) {
            fail(rp, 403, "SignatureDoesNotMatch", MSG_SIGNATURE);
            return false;
        }
        p += len;
        if (*p == ';')
            p++;
    }
    memset(&sreq, 0, sizeof sreq);
    sreq.method = method;
    sreq.path = "/";
    sreq.headers = signed_hdrs;
    sreq.header_count = n;
    sreq.payload = r->len > 0 ? r->body : NULL;
    sreq.payload_len = r->len;
    sreq.region = a->region;
    sreq.service = "sts";
    sreq.when = when;
    memset(&res, 0, sizeof res);
    err_clear(&err);
    rc = cloud_sigv4_sign(&sreq, &sc, &res, &err);
    if (rc == ERR_NOMEM || rc == ERR_INTERNAL) {
        fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return false;
    }
    /* The signer's own SignedHeaders must be the client's list verbatim (sorted, lower-case,
     * nothing it would not sign), and then the signatures must agree. */
    ok = rc == ERR_OK && strcmp(res.signed_headers, a->signed_headers) == 0 &&
         strlen(a->signature) == 64 && CRYPTO_memcmp(res.signature, a->signature, 64) == 0;
    cloud_sigv4_result_free(&res);
    if (!ok)
        fail(rp, 403, "SignatureDoesNotMatch", MSG_SIGNATURE);
    return ok;
}

/* Authenticates the request; fills c, or rp with the error. Called with f->mu held. */
static bool authenticate(const struct fake *f, const struct req *r, const char *method,
                         const struct hdrs *hs, struct caller *c, struct reply *rp)
{
    const char *authz, *date, *token;
    size_t n_authz, n_date, n_token;
    struct auth a;
    time_t when, now = time(NULL);
    const char *secret;
    char t1[17], t2[17], t3[17];

    memset(c, 0, sizeof *c);
    n_authz = header_count(hs, "Authorization", &authz);
    if (n_authz == 0) {
        fail(rp, 403, "MissingAuthenticationToken", "Request is missing Authentication Token");
        return false;
    }
    if (n_authz > 1) {
        fail(rp, 400, "IncompleteSignature", "More than one Authorization header.");
        return false;
    }
    if (!parse_authorization(authz, &a, rp))
        return false;
    n_date = header_count(hs, "X-Amz-Date", &date);
    if (n_date == 0) {
        fail(rp, 400, "IncompleteSignature",
             "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
             "header. (fake_aws accepts only X-Amz-Date.)");
        return false;
    }
    if (n_date > 1 || !parse_amz_date(date, &when)) {
        fail(rp, 400, "IncompleteSignature",
             "Date must be in ISO-8601 'basic format'. Got '%.32s'. See "
             "http://en.wikipedia.org/wiki/ISO_8601",
             date);
        return false;
    }
    if (strncmp(a.date, date, 8) != 0 || strlen(a.date) != 8) {
        fail(rp, 403, "SignatureDoesNotMatch",
             "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
             "from HTTP: '%s' != '%.8s', from '%s'.",
             a.date, date, date);
        return false;
    }
    if (strcmp(a.service, "sts") != 0) {
        fail(rp, 403, "SignatureDoesNotMatch",
             "Credential should be scoped to correct service: 'sts'. ");
        return false;
    }
    if (strcmp(a.terminator, "aws4_request") != 0) {
        fail(rp, 403, "SignatureDoesNotMatch",
             "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ",
             a.terminator);
        return false;
    }
    if (a.region[0] == '\0' ||
        strspn(a.region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(a.region)) {
        fail(rp, 403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region. ");
        return false;
    }
    if (!list_has(a.signed_headers, "host")) {
        fail(rp, 403, "SignatureDoesNotMatch",
             "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
        return false;
    }
    if (!list_has(a.signed_headers, "x-amz-date")) {
        fail(rp, 403, "SignatureDoesNotMatch",
             "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
        return false;
    }

    /* Who: long-term keys from the config, or temporary ones this fake issued. */
    n_token = header_count(hs, "X-Amz-Security-Token", &token);
    c->lc = find_long(f, a.akid);
    c->tc = c->lc ? NULL : find_temp(f, a.akid);
    if (c->lc == NULL && c->tc == NULL) {
        fail(rp, 403, "InvalidClientTokenId", MSG_TOKEN_INVALID);
        return false;
    }
    if (c->lc != NULL && n_token > 0) {
        fail(rp, 403, "InvalidClientTokenId", MSG_TOKEN_INVALID);
        return false;
    }
    if (c->tc != NULL) {
        if (n_token != 1 || strlen(token) != strlen(c->tc->token) ||
            CRYPTO_memcmp(token, c->tc->token, strlen(token)) != 0) {
            fail(rp, 403, "InvalidClientTokenId", MSG_TOKEN_INVALID);
            return false;
        }
        if (now >= c->tc->expires) {
            fail(rp, 400, "ExpiredToken", MSG_TOKEN_EXPIRED);
            return false;
        }
        if (!list_has(a.signed_headers, "x-amz-security-token")) {
            fail(rp, 403, "SignatureDoesNotMatch",
                 "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization. "
                 "(fake_aws requires the session token to be signed.)");
            return false;
        }
    }

    /* STS allows 15 minutes of clock skew and names it a signature failure. */
    if (when < now - SKEW_S) {
        format_time(when, false, t1, sizeof t1);
        format_time(now - SKEW_S, false, t2, sizeof t2);
        format_time(now, false, t3, sizeof t3);
        fail(rp, 403, "SignatureDoesNotMatch",
             "Signature expired: %s is now earlier than %s (%s - 15 min.)", t1, t2, t3);
        return false;
    }
    if (when > now + SKEW_S) {
        format_time(when, false, t1, sizeof t1);
        format_time(now + SKEW_S, false, t2, sizeof t2);
        format_time(now, false, t3, sizeof t3);
        fail(rp, 403, "SignatureDoesNotMatch",
             "Signature not yet current: %s is still later than %s (%s + 15 min.)", t1, t2, t3);
        return false;
    }

    secret = c->lc ? c->lc->secret : c->tc->secret;
    if (!verify_signature(r, method, hs, &a, when, secret, c->tc ? c->tc->token : NULL, rp))
        return false;

    if (c->lc != NULL) {
        snprintf(c->account, sizeof c->account, "%s", f->account);
        snprintf(c->arn, sizeof c->arn, "arn:aws:iam::%s:user/parapet", f->account);
        derived_id("AIDA", c->lc->akid, 17, c->user_id, sizeof c->user_id);
    } else {
        const struct role *ro = &f->roles[c->tc->role];
        snprintf(c->account, sizeof c->account, "%s", ro->account);
        snprintf(c->arn, sizeof c->arn, "arn:aws:sts::%s:assumed-role/%s/%s", ro->account, ro->name,
                 c->tc->session);
        snprintf(c->user_id, sizeof c->user_id, "%s:%s", ro->id, c->tc->session);
    }
    return true;
}

/* ---- actions ---------------------------------------------------------------------------- */

static void validation(struct reply *rp, const char *value, const char *member,
                       const char *constraint)
{
    if (value == NULL)
        fail(rp, 400, "ValidationError",
             "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
             "Member must not be null",
             member);
    else
        fail(rp, 400, "ValidationError",
             "1 validation error detected: Value '%.200s' at '%s' failed to satisfy "
             "constraint: Member %s",
             value, member, constraint);
}

/* Checks a string member: length lo..hi and characters [A-Za-z0-9_] plus extra. */
static bool check_member(struct reply *rp, const char *value, const char *member, size_t lo,
                         size_t hi, const char *extra, const char *pattern)
{
    char c[96];
    size_t n = strlen(value);

    if (n < lo) {
        snprintf(c, sizeof c, "must have length greater than or equal to %zu", lo);
        validation(rp, value, member, c);
        return false;
    }
    if (n > hi) {
        snprintf(c, sizeof c, "must have length less than or equal to %zu", hi);
        validation(rp, value, member, c);
        return false;
    }
    if (extra != NULL && !word_chars(value, extra)) {
        snprintf(c, sizeof c, "must satisfy regular expression pattern: %s", pattern);
        validation(rp, value, member, c);
        return false;
    }
    return true;
}

/* Makes room for one more temporary credential (dropping expired ones first). */
static struct temp_cred *temp_slot(struct fake *f, time_t now)
{
    if (f->ntemps == f->temps_cap) {
        size_t keep = 0;
        for (size_t i = 0; i < f->ntemps; i++) {
            if (f->temps[i].expires > now)
                f->temps[keep++] = f->temps[i];
        }
        OPENSSL_cleanse(f->temps + keep, (f->ntemps - keep) * sizeof *f->temps);
        f->ntemps = keep;
    }
    if (f->ntemps == f->temps_cap) {
        size_t cap = f->temps_cap ? f->temps_cap * 2 : 16;
        struct temp_cred *nt;
        if (cap > MAX_TEMP)
            return NULL;
        nt = realloc(f->temps, cap * sizeof *nt);
        if (nt == NULL)
            return NULL;
        f->temps = nt;
        f->temps_cap = cap;
    }
    return &f->temps[f->ntemps];
}

static void assume_role(struct fake *f, const struct form *form, const struct caller *c,
                        const char *rid, struct reply *rp)
{
    const char *arn = form_get(form, "RoleArn");
    const char *session = form_get(form, "RoleSessionName");
    const char *external_id = form_get(form, "ExternalId");
    const char *duration = form_get(form, "DurationSeconds");
    const struct role *ro = NULL;
    struct temp_cred *t;
    unsigned long seconds = 0;
    time_t now = time(NULL);
    long lifetime;
    char expiration[32], assumed_arn[2300], assumed_id[128];
    struct sbuf b = {0};

    if (arn == NULL) {
        validation(rp, NULL, "roleArn", NULL);
        return;
    }
    if (!check_member(rp, arn, "roleArn", 20, 2048, NULL, NULL))
        return;
    if (session == NULL) {
        validation(rp, NULL, "roleSessionName", NULL);
        return;
    }
    if (!check_member(rp, session, "roleSessionName", 2, 64, "+=,.@-", "[\\w+=,.@-]*"))
        return;
    if (external_id != NULL &&
        !check_member(rp, external_id, "externalId", 2, 1224, "+=,.@:/-", "[\\w+=,.@:/-]*"))
        return;
    if (duration != NULL) {
        size_t dl = strlen(duration);
        if (dl == 0 || dl > 9 || strspn(duration, "0123456789") != dl) {
            validation(rp, duration, "durationSeconds", "must be an integer");
            return;
        }
        seconds = strtoul(duration, NULL, 10);
        if (seconds < 900) {
            validation(rp, duration, "durationSeconds",
                       "must have value greater than or equal to 900");
            return;
        }
        if (seconds > 43200) {
            validation(rp, duration, "durationSeconds",
                       "must have value less than or equal to 43200");
            return;
        }
    }

    /* Trust: roles trust the caller account's long-term identity, on their external ID
     * condition. Every refusal reads the same, as AWS does not say which condition failed. */
    for (size_t i = 0; i < f->nroles; i++) {
        if (strcmp(f->roles[i].arn, arn) == 0)
            ro = &f->roles[i];
    }
    if (ro == NULL || c->lc == NULL ||
        (ro->external_id != NULL &&
         (external_id == NULL || strcmp(ro->external_id, external_id) != 0))) {
        fail(rp, 403, "AccessDenied",
             "User: %s is not authorized to perform: sts:AssumeRole on resource: %.2048s", c->arn,
             arn);
        return;
    }
    if (seconds > MAX_SESSION_S) {
        fail(rp, 400, "ValidationError",
             "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
        return;
    }

    t = temp_slot(f, now);
    if (t == NULL) {
        fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return;
    }
    memset(t, 0, sizeof *t);
    memcpy(t->akid, "ASIA", 4);
    lifetime = f->expire_s > 0 ? f->expire_s : seconds > 0 ? (long)seconds : 3600;
    if (!rand_chars(t->akid + 4, 16, upper_alnum, sizeof upper_alnum - 1) ||
        !rand_chars(t->secret, 40, base64_chars, sizeof base64_chars - 1) ||
        !rand_chars(t->token + strlen(TOKEN_PREFIX), TOKEN_LEN - strlen(TOKEN_PREFIX) - 2,
                    base64_chars, sizeof base64_chars - 1)) {
        OPENSSL_cleanse(t, sizeof *t);
        fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return;
    }
    memcpy(t->token, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
    memcpy(t->token + TOKEN_LEN - 2, "==", 3);
    snprintf(t->session, sizeof t->session, "%s", session);
    t->expires = now + lifetime;
    t->role = (size_t)(ro - f->roles);
    f->ntemps++;

    format_time(t->expires, true, expiration, sizeof expiration);
    snprintf(assumed_arn, sizeof assumed_arn, "arn:aws:sts::%s:assumed-role/%s/%s", ro->account,
             ro->name, session);
    snprintf(assumed_id, sizeof assumed_id, "%s:%s", ro->id, session);
    sb_puts(&b, "<AssumeRoleResponse xmlns=\"" STS_NS "\">\n  <AssumeRoleResult>\n"
                "    <AssumedRoleUser>\n");
    sb_elem(&b, "      ", "Arn", assumed_arn);
    sb_elem(&b, "      ", "AssumedRoleId", assumed_id);
    sb_puts(&b, "    </AssumedRoleUser>\n    <Credentials>\n");
    sb_elem(&b, "      ", "AccessKeyId", t->akid);
    sb_elem(&b, "      ", "SecretAccessKey", t->secret);
    sb_elem(&b, "      ", "SessionToken", t->token);
    sb_elem(&b, "      ", "Expiration", expiration);
    sb_puts(&b, "    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n");
    sb_elem(&b, "    ", "RequestId", rid);
    sb_puts(&b, "  </ResponseMetadata>\n</AssumeRoleResponse>\n");
    if (b.failed) {
        if (b.p != NULL)
            free_wiped(b.p);
        fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return;
    }
    rp->status = 200;
    rp->xml = b.p;
}

static void get_caller_identity(const struct caller *c, const char *rid, struct reply *rp)
{
    struct sbuf b = {0};

    sb_puts(&b, "<GetCallerIdentityResponse xmlns=\"" STS_NS "\">\n  <GetCallerIdentityResult>\n");
    sb_elem(&b, "    ", "Arn", c->arn);
    sb_elem(&b, "    ", "UserId", c->user_id);
    sb_elem(&b, "    ", "Account", c->account);
    sb_puts(&b, "  </GetCallerIdentityResult>\n  <ResponseMetadata>\n");
    sb_elem(&b, "    ", "RequestId", rid);
    sb_puts(&b, "  </ResponseMetadata>\n</GetCallerIdentityResponse>\n");
    if (b.failed) {
        free(b.p);
        fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return;
    }
    rp->status = 200;
    rp->xml = b.p;
}

/* Everything after throttling; fills rp. Called with f->mu held. */
static void process(struct fake *f, const struct req *r, const char *method, const struct hdrs *hs,
                    const struct form *form, bool form_ok, const char *why, const char *rid,
                    struct reply *rp)
{
    const char *ct, *action, *version;
    struct caller c;

    if (strcmp(method, "POST") != 0) {
        fail(rp, 400, "MalformedRequest", "fake_aws: STS calls must be POST, not %.16s.", method);
        return;
    }
    if (strcmp(r->target, "/") != 0) {
        fail(rp, 400, "MalformedRequest",
             "fake_aws: the request target must be \"/\" with the parameters in the body.");
        return;
    }
    if (hs->overflow) {
        fail(rp, 400, "MalformedRequest", "fake_aws: more than %d headers.", MAX_REQ_HEADERS);
        return;
    }
    if (header_count(hs, "Content-Type", &ct) != 1 || !content_type_ok(ct)) {
        fail(rp, 400, "MalformedRequest",
             "fake_aws: Content-Type must be application/x-www-form-urlencoded; "
             "charset=utf-8.");
        return;
    }
    if (r->too_large) {
        fail(rp, 413, "RequestEntityTooLarge", "fake_aws: the body exceeds %d bytes.", MAX_BODY);
        return;
    }
    if (!form_ok) {
        fail(rp, 400, "MalformedRequest", "fake_aws: malformed form body: %s.", why);
        return;
    }
    if (!authenticate(f, r, method, hs, &c, rp))
        return;

    action = form_get(form, "Action");
    version = form_get(form, "Version");
    if (action == NULL ||
        (strcmp(action, "AssumeRole") != 0 && strcmp(action, "GetCallerIdentity") != 0)) {
        fail(rp, 400, "InvalidAction", "Could not find operation %.64s for version %.32s",
             action ? action : "", version ? version : STS_VERSION);
        return;
    }
    if (version == NULL) {
        validation(rp, NULL, "version", NULL);
        return;
    }
    if (strcmp(version, STS_VERSION) != 0) {
        fail(rp, 400, "InvalidAction", "Could not find operation %s for version %.32s", action,
             version);
        return;
    }
    if (strcmp(action, "AssumeRole") == 0)
        assume_role(f, form, &c, rid, rp);
    else
        get_caller_identity(&c, rid, rp);
}

/* ---- log -------------------------------------------------------------------------------- */

/* A JSON string of s (at most LOG_FIELD_MAX bytes), or null when absent or not UTF-8. */
static json_t *log_string(const char *s)
{
    json_t *v;

    if (s == NULL)
        return json_null();
    v = json_stringn(s, strnlen(s, LOG_FIELD_MAX));
    return v != NULL ? v : json_null();
}

/* Appends one line; called with f->mu held. */
static void log_request(const struct fake *f, const struct form *form, const char *prefix,
                        const struct reply *rp)
{
    json_t *o;
    char *s, *line;
    size_t n;

    if (f->log_fd < 0)
        return;
    o = json_object();
    if (o == NULL)
        return;
    json_object_set_new(o, "action", log_string(form_get(form, "Action")));
    json_object_set_new(o, "role_arn", log_string(form_get(form, "RoleArn")));
    json_object_set_new(o, "external_id_present",
                        json_boolean(form_get(form, "ExternalId") != NULL));
    json_object_set_new(o, "access_key_prefix", log_string(prefix[0] ? prefix : NULL));
    json_object_set_new(o, "status", json_integer(rp->status));
    json_object_set_new(o, "error", rp->code ? json_string(rp->code) : json_null());
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s == NULL)
        return;
    n = strlen(s);
    line = malloc(n + 2);
    if (line != NULL) {
        memcpy(line, s, n);
        line[n] = '\n';
        if (write(f->log_fd, line, n + 1) != (ssize_t)(n + 1))
            fprintf(stderr, "fake_aws: log write failed: %s\n", strerror(errno));
        free(line);
    }
    free(s);
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct reply *rp, const char *rid)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char *body = rp->xml;

    rp->xml = NULL;
    if (rp->code != NULL) {
        struct sbuf b = {0};
        sb_puts(&b, "<ErrorResponse xmlns=\"" STS_NS "\">\n  <Error>\n");
        sb_elem(&b, "    ", "Type", rp->status >= 500 ? "Receiver" : "Sender");
        sb_elem(&b, "    ", "Code", rp->code);
        sb_elem(&b, "    ", "Message", rp->message);
        sb_puts(&b, "  </Error>\n");
        sb_elem(&b, "  ", "RequestId", rid);
        sb_puts(&b, "</ErrorResponse>\n");
        if (b.failed) {
            free(b.p);
            return MHD_NO;
        }
        body = b.p;
    }
    if (body == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer_with_free_callback(strlen(body), body, free_wiped);
    if (resp == NULL) {
        free_wiped(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "x-amzn-RequestId", rid);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml");
    ret = MHD_queue_response(conn, rp->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handle(struct fake *f, struct MHD_Connection *conn, struct req *r,
                              const char *method)
{
    struct reply rp;
    struct form form;
    struct hdrs hs;
    char why[160] = "";
    char rid[37];
    char prefix[5];
    const char *authz;
    bool form_ok = false;
    enum MHD_Result ret;

    memset(&rp, 0, sizeof rp);
    memset(&form, 0, sizeof form);
    memset(&hs, 0, sizeof hs);
    request_id(rid);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &hs);
    if (!r->too_large)
        form_ok = form_parse(r->body != NULL ? r->body : "", r->len, &form, why, sizeof why);
    header_count(&hs, "Authorization", &authz);
    key_prefix(authz, prefix);

    pthread_mutex_lock(&f->mu);
    if (f->throttle > 0) {
        f->throttle--;
        fail(&rp, 400, "Throttling", "Rate exceeded");
    } else {
        process(f, r, method, &hs, &form, form_ok, why, rid, &rp);
    }
    log_request(f, &form, prefix, &rp);
    pthread_mutex_unlock(&f->mu);

    ret = send_reply(conn, &rp, rid);
    form_free(&form);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct req *r = *con_cls;
    (void)url;
    (void)version;

    if (r == NULL)
        return MHD_NO;
    if (!r->seen) {
        r->seen = true;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large || r->len + n > MAX_BODY) {
            r->too_large = true;
            return MHD_YES;
        }
        char *nb = realloc(r->body, r->len + n + 1);
        if (nb == NULL)
            return MHD_NO;
        memcpy(nb + r->len, upload_data, n);
        r->len += n;
        nb[r->len] = '\0';
        r->body = nb;
        return MHD_YES;
    }
    return handle(cls, conn, r, method);
}

/* Called before headers are parsed, with the raw request target: keep it (the access handler
 * only sees the decoded path). The returned pointer becomes *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *r = calloc(1, sizeof *r);
    (void)cls;
    (void)conn;

    if (r == NULL)
        return NULL;
    r->target = strdup(uri != NULL ? uri : "");
    if (r->target == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;

    if (r == NULL)
        return;
    free(r->target);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* ---- configuration ---------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: fake_aws --port N [--config FILE] [--log FILE]\n");
}

/* Parses an unsigned decimal in [lo, hi]. */
static bool parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* "arn:aws:iam::<12 digits>:role/[path/]Name"; fills the role's account, name and id. */
static bool parse_role_arn(struct role *ro)
{
    static const char pre[] = "arn:aws:iam::";
    const char *p = ro->arn;
    char *slash;

    if (strncmp(p, pre, sizeof pre - 1) != 0)
        return false;
    p += sizeof pre - 1;
    if (strlen(p) < 13 || p[12] != ':')
        return false;
    memcpy(ro->account, p, 12);
    ro->account[12] = '\0';
    if (!all_digits(ro->account, 12))
        return false;
    p += 13;
    if (strncmp(p, "role/", 5) != 0)
        return false;
    slash = strrchr(ro->arn, '/');
    ro->name = slash + 1;
    if (strlen(ro->name) < 1 || strlen(ro->name) > 64 || !word_chars(ro->name, "+=,.@-"))
        return false;
    derived_id("AROA", ro->arn, 17, ro->id, sizeof ro->id);
    return true;
}

static bool config_line(struct fake *f, char *line, const char **why)
{
    char *tok[4];
    size_t n = 0;
    char *p = line;
    unsigned long v;

    while (n < 4) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        tok[n++] = p;
        p += strcspn(p, " \t");
        if (*p != '\0')
            *p++ = '\0';
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (n == 0 || tok[0][0] == '#')
        return true;
    if (*p != '\0') {
        *why = "too many fields";
        return false;
    }
    if (strcmp(tok[0], "account") == 0 && n == 2) {
        if (!all_digits(tok[1], 12)) {
            *why = "account must be 12 digits";
            return false;
        }
        snprintf(f->account, sizeof f->account, "%s", tok[1]);
    } else if (strcmp(tok[0], "credentials") == 0 && n == 3) {
        size_t kl = strlen(tok[1]), sl = strlen(tok[2]);
        if (f->ncreds == MAX_LONG_CREDS) {
            *why = "too many credentials";
            return false;
        }
        if (kl < 16 || kl > 128 || !word_chars(tok[1], "") || strchr(tok[1], '_') != NULL ||
            sl < 1 || sl > 128) {
            *why = "credentials need an access key of 16..128 of [A-Za-z0-9] and a secret of "
                   "1..128 printable characters";
            return false;
        }
        for (size_t i = 0; i < sl; i++) {
            if ((unsigned char)tok[2][i] < 0x21 || (unsigned char)tok[2][i] > 0x7e) {
                *why = "the secret must be printable ASCII";
                return false;
            }
        }
        if (find_long(f, tok[1]) != NULL) {
            *why = "duplicate access key";
            return false;
        }
        f->creds[f->ncreds].akid = strdup(tok[1]);
        f->creds[f->ncreds].secret = strdup(tok[2]);
        f->ncreds++;
        if (f->creds[f->ncreds - 1].akid == NULL || f->creds[f->ncreds - 1].secret == NULL) {
            *why = "out of memory";
            return false;
        }
    } else if (strcmp(tok[0], "role") == 0 && n == 3) {
        struct role *ro;
        if (f->nroles == MAX_ROLES) {
            *why = "too many roles";
            return false;
        }
        ro = &f->roles[f->nroles++];
        ro->arn = strdup(tok[1]);
        ro->external_id = strcmp(tok[2], "-") == 0 ? NULL : strdup(tok[2]);
        if (ro->arn == NULL || (strcmp(tok[2], "-") != 0 && ro->external_id == NULL)) {
            *why = "out of memory";
            return false;
        }
        if (strlen(ro->arn) < 20 || strlen(ro->arn) > 2048 || !parse_role_arn(ro)) {
            *why = "role ARN must be arn:aws:iam::<12 digits>:role/[path/]Name";
            return false;
        }
        if (ro->external_id != NULL &&
            (strlen(ro->external_id) < 2 || strlen(ro->external_id) > 1224 ||
             !word_chars(ro->external_id, "+=,.@:/-"))) {
            *why = "external ID must be 2..1224 of [\\w+=,.@:/-], or '-' for none";
            return false;
        }
        for (size_t i = 0; i + 1 < f->nroles; i++) {
            if (strcmp(f->roles[i].arn, ro->arn) == 0) {
                *why = "duplicate role";
                return false;
            }
        }
    } else if (strcmp(tok[0], "throttle") == 0 && n == 2) {
        if (!parse_ulong(tok[1], 0, 1000000, &v)) {
            *why = "throttle takes a count";
            return false;
        }
        f->throttle = v;
    } else if (strcmp(tok[0], "expire_s") == 0 && n == 2) {
        if (!parse_ulong(tok[1], 1, 43200, &v)) {
            *why = "expire_s takes 1..43200 seconds";
            return false;
        }
        f->expire_s = (long)v;
    } else {
        *why = "unknown directive or wrong number of fields";
        return false;
    }
    return true;
}

static bool load_config(struct fake *f, const char *path)
{
    FILE *in = fopen(path, "r");
    char line[4096];
    unsigned lineno = 0;
    bool ok = true;

    if (in == NULL) {
        fprintf(stderr, "fake_aws: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    while (ok && fgets(line, sizeof line, in) != NULL) {
        const char *why = NULL;
        size_t len = strlen(line);
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(in)) {
            fprintf(stderr, "fake_aws: %s:%u: line too long\n", path, lineno);
            ok = false;
            break;
        }
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (!config_line(f, line, &why)) {
            fprintf(stderr, "fake_aws: %s:%u: %s\n", path, lineno, why);
            ok = false;
        }
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(in);
    return ok;
}

static void fake_free(struct fake *f)
{
    for (size_t i = 0; i < f->ncreds; i++) {
        if (f->creds[i].secret != NULL)
            OPENSSL_cleanse(f->creds[i].secret, strlen(f->creds[i].secret));
        free(f->creds[i].akid);
        free(f->creds[i].secret);
    }
    for (size_t i = 0; i < f->nroles; i++) {
        free(f->roles[i].arn);
        free(f->roles[i].external_id);
    }
    if (f->temps != NULL)
        OPENSSL_cleanse(f->temps, f->temps_cap * sizeof *f->temps);
    free(f->temps);
    if (f->log_fd >= 0)
        close(f->log_fd);
    pthread_mutex_destroy(&f->mu);
}

int main(int argc, char **argv)
{
    static struct fake f; /* large: keep it off the stack */
    const char *config = NULL, *log_path = NULL;
    unsigned long port = 0;
    bool have_port = false;
    struct sockaddr_in addr;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    int sig = 0;

    f.log_fd = -1;
    snprintf(f.account, sizeof f.account, "%s", DEFAULT_ACCOUNT);
    pthread_mutex_init(&f.mu, NULL);
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--port") == 0) {
            if (!parse_ulong(argv[++i], 0, 65535, &port)) {
                usage();
                return 2;
            }
            have_port = true;
        } else if (i + 1 < argc && strcmp(argv[i], "--config") == 0) {
            config = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--log") == 0) {
            log_path = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (!have_port) {
        usage();
        return 2;
    }
    if (config != NULL && !load_config(&f, config)) {
        fake_free(&f);
        return 2;
    }
    if (log_path != NULL) {
        f.log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (f.log_fd < 0) {
            fprintf(stderr, "fake_aws: cannot open %s: %s\n", log_path, strerror(errno));
            fake_free(&f);
            return 2;
        }
    }

    /* Signals are taken with sigwait() below; block them before the server thread starts so
     * it inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG,
                         (uint16_t)port, NULL, NULL, on_request, &f, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT, 30U,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024,
                         MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                         on_completed, NULL, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "fake_aws: cannot listen on 127.0.0.1:%lu\n", port);
        fake_free(&f);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port=%u\n", info != NULL ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);

    while (sigwait(&set, &sig) != 0)
        ;
    MHD_stop_daemon(d);
    fake_free(&f);
    return 0;
}
