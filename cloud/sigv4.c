/* AWS Signature Version 4. One heap block per signature holds every string the result points to;
 * its size is bounded up front from the (bounded) inputs, so nothing grows or reallocates.
 * References: AWS IAM user guide "Create a signed request"; botocore auth.py (path
 * normalisation, header exclusions); aws-c-auth's signing test suite (tests/data/sigv4). */
#include "cloud/sigv4.h"

#include "server/text.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCOPE_TERMINATOR "aws4_request"
#define MAX_METHOD 20
#define MAX_HOST 255
#define MAX_KEY_ID 128
#define MAX_SECRET 128
#define MAX_REGION 32
#define MAX_SERVICE 64
#define MAX_HEADER_VALUE 8192
/* An upper-case payload marker such as STREAMING-UNSIGNED-PAYLOAD-TRAILER. */
#define MAX_MARKER 64
/* Signer-added headers (host, date, token, content hash) and presign parameters. */
#define EXTRA_HEADERS 4
#define EXTRA_PARAMS 6

/* Headers a proxy or the HTTP stack may add, drop or rewrite (botocore's exclusion list). */
static const char *const unsigned_headers[] = {
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
};

/* Query parameters cloud_sigv4_presign() adds itself. */
static const char *const presign_params[] = {
    "X-Amz-Algorithm", "X-Amz-Credential",     "X-Amz-Date",          "X-Amz-Expires",
    "X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-SignedHeaders",
};

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* Append-only writer over the result block; overflow is sticky and means a bound was wrong. */
struct wbuf {
    char *p;
    size_t len;
    size_t cap;
    bool overflow;
};

struct hdr {
    const char *name; /* as given; compared and written lower-cased */
    size_t name_len;
    const char *value; /* as given; trimmed and collapsed when written */
    size_t value_len;
    size_t order; /* position given, so repeated names keep their order */
};

struct param {
    const char *key; /* encoded, in the result block */
    size_t key_len;
    const char *value;
    size_t value_len;
};

/* What a request needs beyond its fields, gathered while checking it. */
struct plan {
    bool presign;
    unsigned expires;
    size_t token_len; /* 0 = long-term credentials */
    bool add_host, add_date, add_token, add_content;
    char date8[9];
    char amz_date[17];
    char payload_hash[MAX_MARKER + 1];
    struct hdr hdrs[CLOUD_SIGV4_MAX_HEADERS + EXTRA_HEADERS];
    size_t nhdrs;
    size_t header_bytes; /* name and value bytes, for the bound */
};

static void wb_put(struct wbuf *b, const void *s, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void wb_putc(struct wbuf *b, char c)
{
    wb_put(b, &c, 1);
}

static void wb_puts(struct wbuf *b, const char *s)
{
    wb_put(b, s, strlen(s));
}

/* Terminates the string begun at start and returns it (NULL after an overflow). */
static const char *wb_string(struct wbuf *b, size_t start)
{
    wb_putc(b, '\0');
    return b->overflow ? NULL : b->p + start;
}

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}


static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* UriEncode of one byte: unreserved as is, anything else %XX upper-case. */
static void wb_put_encoded(struct wbuf *b, unsigned char c)
{
    char esc[3];

    if (is_unreserved(c)) {
        wb_putc(b, (char)c);
        return;
    }
    esc[0] = '%';
    esc[1] = hex_upper[c >> 4];
    esc[2] = hex_upper[c & 0x0f];
    wb_put(b, esc, sizeof esc);
}

static void wb_put_encoded_str(struct wbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wb_put_encoded(b, (unsigned char)s[i]);
}

/* Writes s with %XX escapes decoded and every byte re-encoded. False on a malformed escape. */
static bool wb_put_reencoded(struct wbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = n - i >= 3 ? text_hex_digit((unsigned char)s[i + 1]) : -1;
            int lo = n - i >= 3 ? text_hex_digit((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        wb_put_encoded(b, c);
    }
    return true;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_lower[in[i] >> 4];
        out[2 * i + 1] = hex_lower[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* Length of s if it is at most max bytes, else max + 1 (never reads further). */
static size_t bounded_len(const char *s, size_t max)
{
    const char *end = memchr(s, '\0', max + 1);
    return end ? (size_t)(end - s) : max + 1;
}

/* Lower-case ASCII name equality against a lower-case literal. */
static bool name_is(const char *name, size_t len, const char *lower)
{
    size_t n = strlen(lower);

    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower((unsigned char)name[i]) != (unsigned char)lower[i])
            return false;
    }
    return true;
}

static bool is_header_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The value with leading and trailing spaces and tabs removed. */
static void trim(const char **v, size_t *len)
{
    while (*len > 0 && is_header_space(**v)) {
        (*v)++;
        (*len)--;
    }
    while (*len > 0 && is_header_space((*v)[*len - 1]))
        (*len)--;
}

static bool trimmed_equals(const char *v, size_t len, const char *want)
{
    trim(&v, &len);
    return len == strlen(want) && memcmp(v, want, len) == 0;
}

/* Writes a header value trimmed, with each run of spaces and tabs as one space. */
static void wb_put_header_value(struct wbuf *b, const char *v, size_t len)
{
    bool space = false;

    trim(&v, &len);
    for (size_t i = 0; i < len; i++) {
        if (is_header_space(v[i])) {
            space = true;
            continue;
        }
        if (space)
            wb_putc(b, ' ');
        space = false;
        wb_putc(b, v[i]);
    }
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++) {
        unsigned char x = ascii_lower((unsigned char)a[i]);
        unsigned char y = ascii_lower((unsigned char)b[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return alen < blen ? -1 : alen > blen;
}

static int hdr_cmp(const void *pa, const void *pb)
{
    const struct hdr *a = pa;
    const struct hdr *b = pb;
    int c = name_cmp(a->name, a->name_len, b->name, b->name_len);

    if (c != 0)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int param_cmp(const void *pa, const void *pb)
{
    const struct param *a = pa;
    const struct param *b = pb;
    int c = bytes_cmp(a->key, a->key_len, b->key, b->key_len);

    return c != 0 ? c : bytes_cmp(a->value, a->value_len, b->value, b->value_len);
}

static bool sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        return false;
    hex_encode(md, 32, out);
    return true;
}

/* out = HMAC-SHA256(key, data); key_len is small (at most 4 + MAX_SECRET). */
static bool hmac(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[CLOUD_SIGV4_KEY_LEN])
{
    unsigned int out_len = 0;

    if (key_len > 4 + MAX_SECRET)
        return false;
    if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) == NULL ||
        out_len != CLOUD_SIGV4_KEY_LEN)
        return false;
    return true;
}

/* A string of 1..max bytes, each accepted by ok(). */
static bool is_word(const char *s, size_t max, bool (*ok)(unsigned char))
{
    size_t n;

    if (s == NULL)
        return false;
    n = bounded_len(s, max);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!ok((unsigned char)s[i]))
            return false;
    }
    return true;
}

static bool ok_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool ok_visible(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static bool ok_region(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool ok_service(unsigned char c)
{
    return ok_alnum(c) || c == '-' || c == '.' || c == '_';
}

static bool ok_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 9110 tchar. */
static bool ok_tchar(unsigned char c)
{
    return ok_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool ok_lower_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool ok_marker(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static bool ok_hex(unsigned char c)
{
    return text_hex_digit(c) >= 0;
}

/* 64 lower-case hex digits, or an upper-case marker that is not upper-case hex. */
static bool is_payload_hash(const char *s)
{
    if (is_word(s, 64, ok_hex) && strlen(s) == 64)
        return is_word(s, 64, ok_lower_hex);
    return is_word(s, MAX_MARKER, ok_marker);
}

/* Header value bytes: visible ASCII, space, tab and obs-text; no CR, LF or other controls. */
static bool is_header_value(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static void put_digits(char *out, unsigned v, unsigned width)
{
    while (width-- > 0) {
        out[width] = (char)('0' + v % 10);
        v /= 10;
    }
}

static enum err_code format_time(time_t when, struct plan *p, struct err *err)
{
    struct tm tm;

    if (when < 0 || gmtime_r(&when, &tm) == NULL || tm.tm_year > 9999 - 1900)
        return err_set_field(err, ERR_INVALID, "when", "request time is out of range");
    put_digits(p->amz_date, (unsigned)tm.tm_year + 1900, 4);
    put_digits(p->amz_date + 4, (unsigned)tm.tm_mon + 1, 2);
    put_digits(p->amz_date + 6, (unsigned)tm.tm_mday, 2);
    p->amz_date[8] = 'T';
    put_digits(p->amz_date + 9, (unsigned)tm.tm_hour, 2);
    put_digits(p->amz_date + 11, (unsigned)tm.tm_min, 2);
    put_digits(p->amz_date + 13, (unsigned)tm.tm_sec, 2);
    p->amz_date[15] = 'Z';
    p->amz_date[16] = '\0';
    memcpy(p->date8, p->amz_date, 8);
    p->date8[8] = '\0';
    return ERR_OK;
}

static enum err_code check_scalars(const struct cloud_sigv4_request *req,
                                   const struct cloud_sigv4_creds *creds, struct plan *p,
                                   struct err *err)
{
    if (!is_word(req->method, MAX_METHOD, ok_tchar))
        return err_set_field(err, ERR_INVALID, "method", "method must be an HTTP token");
    if (!is_word(req->region, MAX_REGION, ok_region))
        return err_set_field(err, ERR_INVALID, "region", "region is missing or malformed");
    if (!is_word(req->service, MAX_SERVICE, ok_service))
        return err_set_field(err, ERR_INVALID, "service", "service is missing or malformed");
    if (req->host != NULL && !is_word(req->host, MAX_HOST, ok_visible))
        return err_set_field(err, ERR_INVALID, "host", "host is empty, too long or malformed");
    if (!is_word(creds->access_key_id, MAX_KEY_ID, ok_alnum))
        return err_set_field(err, ERR_INVALID, "access_key_id",
                             "access key id is missing or malformed");
    if (!is_word(creds->secret_access_key, MAX_SECRET, ok_visible))
        return err_set_field(err, ERR_INVALID, "secret_access_key",
                             "secret access key is missing or malformed");
    p->token_len = 0;
    if (creds->session_token != NULL && creds->session_token[0] != '\0') {
        if (!is_word(creds->session_token, CLOUD_SIGV4_MAX_TOKEN, ok_visible))
            return err_set_field(err, ERR_INVALID, "session_token",
                                 "session token is too long or malformed");
        p->token_len = strlen(creds->session_token);
    }
    if (req->payload == NULL && req->payload_len > 0)
        return err_set_field(err, ERR_INVALID, "payload", "payload is NULL but has a length");
    if (req->headers == NULL && req->header_count > 0)
        return err_set_field(err, ERR_INVALID, "headers", "headers is NULL but has a count");
    if (req->header_count > CLOUD_SIGV4_MAX_HEADERS)
        return err_set_field(err, ERR_INVALID, "headers", "more than %d headers",
                             CLOUD_SIGV4_MAX_HEADERS);
    if (p->presign && (p->expires < 1 || p->expires > CLOUD_SIGV4_MAX_EXPIRES))
        return err_set_field(err, ERR_INVALID, "expires", "expiry must be 1..%d seconds",
                             CLOUD_SIGV4_MAX_EXPIRES);
    if (req->payload_hash != NULL) {
        if (!is_payload_hash(req->payload_hash))
            return err_set_field(err, ERR_INVALID, "payload_hash",
                                 "payload hash must be 64 lower-case hex digits or a marker");
        memcpy(p->payload_hash, req->payload_hash, strlen(req->payload_hash) + 1);
    } else if (!sha256_hex(req->payload_len > 0 ? req->payload : "", req->payload_len,
                           p->payload_hash)) {
        return err_set(err, ERR_INTERNAL, "hashing the payload failed");
    }
    return format_time(req->when, p, err);
}

static void plan_add(struct plan *p, const char *name, const char *value)
{
    struct hdr *h = &p->hdrs[p->nhdrs];

    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->value_len = strlen(value);
    h->order = p->nhdrs++;
    p->header_bytes += h->name_len + h->value_len;
}

static bool is_unsigned_header(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof unsigned_headers / sizeof unsigned_headers[0]; i++) {
        if (name_is(name, len, unsigned_headers[i]))
            return true;
    }
    return false;
}

static enum err_code bad_header(struct err *err, size_t i, const char *why)
{
    char field[32];

    snprintf(field, sizeof field, "headers[%zu]", i);
    return err_set_field(err, ERR_INVALID, field, "%s", why);
}

/* Checks the caller's headers, keeps those to sign and adds the signer's own. */
static enum err_code plan_headers(const struct cloud_sigv4_request *req,
                                  const struct cloud_sigv4_creds *creds, struct plan *p,
                                  struct err *err)
{
    bool have_host = false, have_date = false, have_token = false, have_content = false;
    size_t total = 0;

    p->nhdrs = 0;
    p->header_bytes = 0;
    for (size_t i = 0; i < req->header_count; i++) {
        const struct cloud_sigv4_header *h = &req->headers[i];
        size_t nlen, vlen;

        if (h->name == NULL || h->value == NULL)
            return bad_header(err, i, "header name or value is NULL");
        nlen = bounded_len(h->name, CLOUD_SIGV4_MAX_HEADER_NAME);
        if (!is_word(h->name, CLOUD_SIGV4_MAX_HEADER_NAME, ok_tchar))
            return bad_header(err, i, "header name must be a short HTTP token");
        vlen = bounded_len(h->value, MAX_HEADER_VALUE);
        if (vlen > MAX_HEADER_VALUE || !is_header_value(h->value, vlen))
            return bad_header(err, i, "header value is too long or has control characters");
        total += nlen + vlen;
        if (total > CLOUD_SIGV4_MAX_HEADER_BYTES)
            return err_set_field(err, ERR_INVALID, "headers", "headers exceed %d bytes",
                                 CLOUD_SIGV4_MAX_HEADER_BYTES);
        if (name_is(h->name, nlen, "authorization"))
            return bad_header(err, i, "Authorization is the signer's");
        if (is_unsigned_header(h->name, nlen))
            continue;
        if (name_is(h->name, nlen, "host")) {
            if (have_host)
                return bad_header(err, i, "more than one Host header");
            if (req->host != NULL && !trimmed_equals(h->value, vlen, req->host))
                return bad_header(err, i, "Host header differs from host");
            have_host = true;
        } else if (name_is(h->name, nlen, "x-amz-date")) {
            if (p->presign || have_date || !trimmed_equals(h->value, vlen, p->amz_date))
                return bad_header(err, i, "X-Amz-Date must be absent or the signing time");
            have_date = true;
        } else if (name_is(h->name, nlen, "x-amz-security-token")) {
            if (p->presign || have_token || p->token_len == 0 ||
                (req->flags & CLOUD_SIGV4_TOKEN_UNSIGNED) != 0 ||
                !trimmed_equals(h->value, vlen, creds->session_token))
                return bad_header(err, i, "X-Amz-Security-Token must be absent or the token");
            have_token = true;
        } else if (name_is(h->name, nlen, "x-amz-content-sha256")) {
            if (have_content || !trimmed_equals(h->value, vlen, p->payload_hash))
                return bad_header(err, i, "x-amz-content-sha256 differs from the payload hash");
            have_content = true;
        }
        p->hdrs[p->nhdrs].name = h->name;
        p->hdrs[p->nhdrs].name_len = nlen;
        p->hdrs[p->nhdrs].value = h->value;
        p->hdrs[p->nhdrs].value_len = vlen;
        p->hdrs[p->nhdrs].order = p->nhdrs;
        p->nhdrs++;
        p->header_bytes += nlen + vlen;
    }

    if (!have_host) {
        if (req->host == NULL)
            return err_set_field(err, ERR_INVALID, "host", "a Host header or host is required");
        plan_add(p, "host", req->host);
        p->add_host = true;
    }
    if (!p->presign) {
        if (!have_date) {
            plan_add(p, "x-amz-date", p->amz_date);
            p->add_date = true;
        }
        if (p->token_len > 0 && !have_token) {
            if ((req->flags & CLOUD_SIGV4_TOKEN_UNSIGNED) == 0)
                plan_add(p, "x-amz-security-token", creds->session_token);
            p->add_token = true;
        }
        if ((req->flags & CLOUD_SIGV4_SIGN_CONTENT_SHA256) != 0 && !have_content) {
            plan_add(p, "x-amz-content-sha256", p->payload_hash);
            p->add_content = true;
        }
    }
    qsort(p->hdrs, p->nhdrs, sizeof p->hdrs[0], hdr_cmp);
    return ERR_OK;
}

/* Path bytes: no '?', '#' or controls; verbatim paths must already be percent-encoded. */
static enum err_code check_path(const char *path, size_t len, unsigned flags, struct err *err)
{
    if (len > CLOUD_SIGV4_MAX_PATH)
        return err_set_field(err, ERR_INVALID, "path", "path exceeds %d bytes",
                             CLOUD_SIGV4_MAX_PATH);
    if (len > 0 && path[0] != '/')
        return err_set_field(err, ERR_INVALID, "path", "path must start with '/'");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f || c == '?' || c == '#')
            return err_set_field(err, ERR_INVALID, "path", "path has a forbidden character");
        if ((flags & CLOUD_SIGV4_PATH_VERBATIM) != 0 && (c == ' ' || c >= 0x80))
            return err_set_field(err, ERR_INVALID, "path", "a verbatim path must be encoded");
    }
    return ERR_OK;
}

/* Writes the path with "." and ".." segments and empty segments removed, keeping a trailing
 * '/' when anything is left (botocore's rule; RFC 3986 5.2.4 plus collapsed slashes). */
static void wb_put_normalized_path(struct wbuf *b, const char *path, size_t len)
{
    size_t start = b->len;
    size_t i = 0;

    wb_putc(b, '/');
    while (i < len && !b->overflow) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
            size_t k = b->len;
            while (k > start + 1 && b->p[k - 1] != '/')
                k--;
            b->len = k > start + 1 ? k - 1 : start + 1; /* drop the segment and its '/' */
        } else if (j > i && !(j - i == 1 && path[i] == '.')) {
            if (b->len > start + 1)
                wb_putc(b, '/');
            wb_put(b, path + i, j - i);
        }
        i = j + 1;
    }
    if (len > 0 && path[len - 1] == '/' && b->len > start + 1)
        wb_putc(b, '/');
}

/* The canonical URI, written at the end of b and returned (a NUL-terminated scratch copy of the
 * normalised path precedes it). */
static const char *wb_put_canonical_uri(struct wbuf *b, const char *path, size_t len,
                                        unsigned flags)
{
    const char *src = path;
    size_t src_len = len, start;

    if (len == 0) {
        src = "/";
        src_len = 1;
    }
    if ((flags & CLOUD_SIGV4_NO_NORMALIZE_PATH) == 0) {
        start = b->len;
        wb_put_normalized_path(b, src, src_len);
        src_len = b->len - start;
        src = wb_string(b, start);
        if (src == NULL)
            return NULL;
    }
    start = b->len;
    if ((flags & CLOUD_SIGV4_PATH_VERBATIM) != 0) {
        wb_put(b, src, src_len);
    } else {
        for (size_t i = 0; i < src_len; i++) {
            if (src[i] == '/')
                wb_putc(b, '/');
            else
                wb_put_encoded(b, (unsigned char)src[i]);
        }
    }
    return wb_string(b, start);
}

static bool is_presign_param(const char *key, size_t len)
{
    for (size_t i = 0; i < sizeof presign_params / sizeof presign_params[0]; i++) {
        if (len == strlen(presign_params[i]) && memcmp(key, presign_params[i], len) == 0)
            return true;
    }
    return false;
}

/* Parses the caller's query into encoded pairs stored in b. */
static enum err_code parse_query(struct wbuf *b, const char *query, size_t len, bool presign,
                                 struct param *params, size_t *count, struct err *err)
{
    size_t i = 0;

    *count = 0;
    while (i < len) {
        size_t j = i, eq;
        struct param *pr;

        while (j < len && query[j] != '&')
            j++;
        if (j == i) {
            i = j + 1;
            continue;
        }
        if (*count == CLOUD_SIGV4_MAX_PARAMS)
            return err_set_field(err, ERR_INVALID, "query", "more than %d query parameters",
                                 CLOUD_SIGV4_MAX_PARAMS);
        eq = i;
        while (eq < j && query[eq] != '=')
            eq++;
        pr = &params[(*count)++];
        pr->key = b->p + b->len;
        if (!wb_put_reencoded(b, query + i, eq - i))
            return err_set_field(err, ERR_INVALID, "query", "query has a malformed %% escape");
        pr->key_len = (size_t)(b->p + b->len - pr->key);
        pr->value = b->p + b->len;
        if (eq < j && !wb_put_reencoded(b, query + eq + 1, j - eq - 1))
            return err_set_field(err, ERR_INVALID, "query", "query has a malformed %% escape");
        pr->value_len = (size_t)(b->p + b->len - pr->value);
        if (presign && is_presign_param(pr->key, pr->key_len))
            return err_set_field(err, ERR_INVALID, "query",
                                 "query already has a presigning parameter");
        i = j + 1;
    }
    return ERR_OK;
}

static bool check_query(const char *query, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)query[i];
        if (c < 0x20 || c == 0x7f || c == '#')
            return false;
    }
    return true;
}

/* Adds a presign parameter whose raw value is encoded into b. */
static void add_param(struct wbuf *b, struct param *params, size_t *count, const char *key,
                      const char *value)
{
    struct param *pr = &params[(*count)++];

    pr->key = key;
    pr->key_len = strlen(key);
    pr->value = b->p + b->len;
    wb_put_encoded_str(b, value, strlen(value));
    pr->value_len = (size_t)(b->p + b->len - pr->value);
}

/* Adds X-Amz-Algorithm, -Credential, -Date, -Expires, -Security-Token (when signed) and
 * -SignedHeaders. False if b overflowed. */
static bool add_presign_params(struct wbuf *b, struct param *params, size_t *count,
                               const struct cloud_sigv4_request *req,
                               const struct cloud_sigv4_creds *creds, const struct plan *p,
                               const struct cloud_sigv4_result *res)
{
    char expires[16];
    size_t start = b->len;
    const char *credential;

    snprintf(expires, sizeof expires, "%u", p->expires);
    wb_puts(b, creds->access_key_id);
    wb_putc(b, '/');
    wb_puts(b, res->credential_scope);
    credential = wb_string(b, start);
    if (credential == NULL)
        return false;
    add_param(b, params, count, "X-Amz-Algorithm", CLOUD_SIGV4_ALGORITHM);
    add_param(b, params, count, "X-Amz-Credential", credential);
    add_param(b, params, count, "X-Amz-Date", p->amz_date);
    add_param(b, params, count, "X-Amz-Expires", expires);
    if (p->token_len > 0 && (req->flags & CLOUD_SIGV4_TOKEN_UNSIGNED) == 0)
        add_param(b, params, count, "X-Amz-Security-Token", creds->session_token);
    add_param(b, params, count, "X-Amz-SignedHeaders", res->signed_headers);
    return !b->overflow;
}

static void wb_put_query(struct wbuf *b, const struct param *params, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            wb_putc(b, '&');
        wb_put(b, params[i].key, params[i].key_len);
        wb_putc(b, '=');
        wb_put(b, params[i].value, params[i].value_len);
    }
}

static void wb_put_lower(struct wbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wb_putc(b, (char)ascii_lower((unsigned char)s[i]));
}

/* Writes the signed header names, ';'-separated, each name once. */
static void wb_put_signed_headers(struct wbuf *b, const struct plan *p)
{
    for (size_t i = 0; i < p->nhdrs; i++) {
        const struct hdr *h = &p->hdrs[i];
        if (i > 0 &&
            name_cmp(h->name, h->name_len, p->hdrs[i - 1].name, p->hdrs[i - 1].name_len) == 0)
            continue;
        if (i > 0)
            wb_putc(b, ';');
        wb_put_lower(b, h->name, h->name_len);
    }
}

/* Writes "name:value[,value...]\n" per name, in sorted order. */
static void wb_put_canonical_headers(struct wbuf *b, const struct plan *p)
{
    for (size_t i = 0; i < p->nhdrs; i++) {
        const struct hdr *h = &p->hdrs[i];
        bool same = i > 0 && name_cmp(h->name, h->name_len, p->hdrs[i - 1].name,
                                      p->hdrs[i - 1].name_len) == 0;
        if (same) {
            wb_putc(b, ',');
        } else {
            if (i > 0)
                wb_putc(b, '\n');
            wb_put_lower(b, h->name, h->name_len);
            wb_putc(b, ':');
        }
        wb_put_header_value(b, h->value, h->value_len);
    }
    if (p->nhdrs > 0)
        wb_putc(b, '\n');
}

enum err_code cloud_sigv4_signing_key(const char *secret_access_key, const char *date,
                                      const char *region, const char *service,
                                      unsigned char key[CLOUD_SIGV4_KEY_LEN], struct err *err)
{
    enum err_code rc = ERR_OK;
    char secret[4 + MAX_SECRET];
    unsigned char k1[CLOUD_SIGV4_KEY_LEN], k2[CLOUD_SIGV4_KEY_LEN];
    size_t n;

    if (key == NULL)
        return err_set_field(err, ERR_INVALID, "key", "key is NULL");
    if (!is_word(secret_access_key, MAX_SECRET, ok_visible))
        return err_set_field(err, ERR_INVALID, "secret_access_key",
                             "secret access key is missing or malformed");
    if (!is_word(date, 8, ok_digit) || strlen(date) != 8)
        return err_set_field(err, ERR_INVALID, "date", "date must be YYYYMMDD");
    if (!is_word(region, MAX_REGION, ok_region))
        return err_set_field(err, ERR_INVALID, "region", "region is missing or malformed");
    if (!is_word(service, MAX_SERVICE, ok_service))
        return err_set_field(err, ERR_INVALID, "service", "service is missing or malformed");

    n = strlen(secret_access_key);
    memcpy(secret, "AWS4", 4);
    memcpy(secret + 4, secret_access_key, n);
    if (!hmac(secret, 4 + n, date, 8, k1) || !hmac(k1, sizeof k1, region, strlen(region), k2) ||
        !hmac(k2, sizeof k2, service, strlen(service), k1) ||
        !hmac(k1, sizeof k1, SCOPE_TERMINATOR, strlen(SCOPE_TERMINATOR), key)) {
        rc = err_set(err, ERR_INTERNAL, "deriving the signing key failed");
        OPENSSL_cleanse(key, CLOUD_SIGV4_KEY_LEN);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    return rc;
}

void cloud_sigv4_result_free(struct cloud_sigv4_result *res)
{
    if (res == NULL)
        return;
    if (res->mem != NULL) {
        OPENSSL_cleanse(res->mem, res->mem_len);
        free(res->mem);
    }
    memset(res, 0, sizeof *res);
}

static void result_add(struct cloud_sigv4_result *res, const char *name, const char *value)
{
    res->add[res->add_count].name = name;
    res->add[res->add_count].value = value;
    res->add_count++;
}

/* A NUL-terminated copy of s in b. */
static const char *wb_copy(struct wbuf *b, const char *s)
{
    size_t start = b->len;

    wb_puts(b, s);
    return wb_string(b, start);
}

/* Signs for either form; req, creds and res are not NULL. */
static enum err_code sign(const struct cloud_sigv4_request *req,
                          const struct cloud_sigv4_creds *creds, struct plan *p,
                          struct cloud_sigv4_result *res, struct err *err)
{
    enum err_code rc;
    struct param params[CLOUD_SIGV4_MAX_PARAMS + EXTRA_PARAMS];
    size_t nparams = 0, path_len, query_len, base, start;
    const char *path = req->path != NULL ? req->path : "";
    const char *query = req->query != NULL ? req->query : "";
    const char *uri, *cquery;
    unsigned char key[CLOUD_SIGV4_KEY_LEN], mac[CLOUD_SIGV4_KEY_LEN];
    char cr_hash[65];
    struct wbuf b = {0};

    rc = check_scalars(req, creds, p, err);
    if (rc != ERR_OK)
        goto out;
    path_len = bounded_len(path, CLOUD_SIGV4_MAX_PATH);
    rc = check_path(path, path_len, req->flags, err);
    if (rc != ERR_OK)
        goto out;
    query_len = bounded_len(query, CLOUD_SIGV4_MAX_QUERY);
    if (query_len > CLOUD_SIGV4_MAX_QUERY || !check_query(query, query_len)) {
        rc = err_set_field(err, ERR_INVALID, "query", "query is too long or malformed");
        goto out;
    }
    rc = plan_headers(req, creds, p, err);
    if (rc != ERR_OK)
        goto out;

    /* An input byte lands in the block at most 16 bytes' worth: e.g. a region byte in the
     * scope, string to sign, Authorization or credential, and percent-encoded (3 bytes) in the
     * encoded credential, canonical query, canonical request and presigned query; query and
     * token bytes in fewer places. The constant covers fixed text (names, hashes, separators). */
    base = strlen(req->method) + path_len + query_len + p->header_bytes + 2 * p->nhdrs +
           strlen(creds->access_key_id) + p->token_len + strlen(req->region) +
           strlen(req->service) + (req->host != NULL ? strlen(req->host) : 0);
    b.cap = 16 * base + 4096;
    b.p = malloc(b.cap);
    if (b.p == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory signing a request");
        goto out;
    }
    res->mem = b.p;
    res->mem_len = b.cap;
    memcpy(res->amz_date, p->amz_date, sizeof res->amz_date);
    memcpy(res->payload_hash, p->payload_hash, sizeof res->payload_hash);

    start = b.len;
    wb_put_signed_headers(&b, p);
    res->signed_headers = wb_string(&b, start);
    start = b.len;
    wb_puts(&b, p->date8);
    wb_putc(&b, '/');
    wb_puts(&b, req->region);
    wb_putc(&b, '/');
    wb_puts(&b, req->service);
    wb_putc(&b, '/');
    wb_puts(&b, SCOPE_TERMINATOR);
    res->credential_scope = wb_string(&b, start);
    if (res->signed_headers == NULL || res->credential_scope == NULL)
        goto overflow;

    rc = parse_query(&b, query, query_len, p->presign, params, &nparams, err);
    if (rc != ERR_OK)
        goto out;
    if (p->presign && !add_presign_params(&b, params, &nparams, req, creds, p, res))
        goto overflow;
    qsort(params, nparams, sizeof params[0], param_cmp);
    start = b.len;
    wb_put_query(&b, params, nparams);
    cquery = wb_string(&b, start);

    uri = wb_put_canonical_uri(&b, path, path_len, req->flags);
    if (cquery == NULL || uri == NULL)
        goto overflow;

    start = b.len;
    wb_puts(&b, req->method);
    wb_putc(&b, '\n');
    wb_puts(&b, uri);
    wb_putc(&b, '\n');
    wb_puts(&b, cquery);
    wb_putc(&b, '\n');
    wb_put_canonical_headers(&b, p);
    wb_putc(&b, '\n');
    wb_puts(&b, res->signed_headers);
    wb_putc(&b, '\n');
    wb_puts(&b, p->payload_hash);
    res->canonical_request = wb_string(&b, start);
    if (res->canonical_request == NULL)
        goto overflow;
    if (!sha256_hex(res->canonical_request, strlen(res->canonical_request), cr_hash)) {
        rc = err_set(err, ERR_INTERNAL, "hashing the canonical request failed");
        goto out;
    }

    start = b.len;
    wb_puts(&b, CLOUD_SIGV4_ALGORITHM "\n");
    wb_puts(&b, p->amz_date);
    wb_putc(&b, '\n');
    wb_puts(&b, res->credential_scope);
    wb_putc(&b, '\n');
    wb_puts(&b, cr_hash);
    res->string_to_sign = wb_string(&b, start);
    if (res->string_to_sign == NULL)
        goto overflow;

    rc = cloud_sigv4_signing_key(creds->secret_access_key, p->date8, req->region, req->service, key,
                                 err);
    if (rc != ERR_OK)
        goto out;
    if (!hmac(key, sizeof key, res->string_to_sign, strlen(res->string_to_sign), mac)) {
        rc = err_set(err, ERR_INTERNAL, "computing the signature failed");
        goto out;
    }
    hex_encode(mac, sizeof mac, res->signature);

    start = b.len;
    if (p->presign) {
        wb_puts(&b, cquery);
        wb_puts(&b, "&X-Amz-Signature=");
        wb_puts(&b, res->signature);
        if (p->token_len > 0 && (req->flags & CLOUD_SIGV4_TOKEN_UNSIGNED) != 0) {
            wb_puts(&b, "&X-Amz-Security-Token=");
            wb_put_encoded_str(&b, creds->session_token, p->token_len);
        }
        res->query = wb_string(&b, start);
    } else {
        wb_puts(&b, CLOUD_SIGV4_ALGORITHM " Credential=");
        wb_puts(&b, creds->access_key_id);
        wb_putc(&b, '/');
        wb_puts(&b, res->credential_scope);
        wb_puts(&b, ", SignedHeaders=");
        wb_puts(&b, res->signed_headers);
        wb_puts(&b, ", Signature=");
        wb_puts(&b, res->signature);
        res->authorization = wb_string(&b, start);
    }

    if (p->add_host)
        result_add(res, "Host", wb_copy(&b, req->host));
    if (p->add_date)
        result_add(res, "X-Amz-Date", wb_copy(&b, p->amz_date));
    if (p->add_token)
        result_add(res, "X-Amz-Security-Token", wb_copy(&b, creds->session_token));
    if (p->add_content)
        result_add(res, "x-amz-content-sha256", wb_copy(&b, p->payload_hash));
    if (!p->presign)
        result_add(res, "Authorization", res->authorization);
    if (b.overflow)
        goto overflow;
    rc = ERR_OK;
    goto out;

overflow:
    rc = err_set(err, ERR_INTERNAL, "signing buffer bound exceeded");
out:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(mac, sizeof mac);
    if (rc != ERR_OK)
        cloud_sigv4_result_free(res);
    return rc;
}

enum err_code cloud_sigv4_sign(const struct cloud_sigv4_request *req,
                               const struct cloud_sigv4_creds *creds,
                               struct cloud_sigv4_result *res, struct err *err)
{
    struct plan p;

    if (res == NULL)
        return err_set(err, ERR_INVALID, "result is required");
    memset(res, 0, sizeof *res);
    if (req == NULL || creds == NULL)
        return err_set(err, ERR_INVALID, "request and credentials are required");
    memset(&p, 0, sizeof p);
    return sign(req, creds, &p, res, err);
}

enum err_code cloud_sigv4_presign(const struct cloud_sigv4_request *req,
                                  const struct cloud_sigv4_creds *creds, unsigned expires_s,
                                  struct cloud_sigv4_result *res, struct err *err)
{
    struct plan p;

    if (res == NULL)
        return err_set(err, ERR_INVALID, "result is required");
    memset(res, 0, sizeof *res);
    if (req == NULL || creds == NULL)
        return err_set(err, ERR_INVALID, "request and credentials are required");
    memset(&p, 0, sizeof p);
    p.presign = true;
    p.expires = expires_s;
    return sign(req, creds, &p, res, err);
}
