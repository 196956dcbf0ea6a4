/* Decoding of ingest bodies: bounded gzip inflation, strict base64, and the split of a native
 * batch ({"events": [...]} or NDJSON) into candidate events, parsed into a per-thread arena. */
#include "observe/observe.h"

#include "server/log.h"

#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define INFLATE_CHUNK ((size_t)64 << 10)

enum err_code obs_inflate(const void *in, size_t len, size_t max, char **out, size_t *outlen,
                          struct err *err)
{
    z_stream z;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int zr = Z_OK;
    enum err_code rc = ERR_OK;

    *out = NULL;
    *outlen = 0;
    memset(&z, 0, sizeof z);
    /* 32 + 15: detect gzip or zlib headers, largest window. */
    if (inflateInit2(&z, 32 + 15) != Z_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
    if (len > UINT32_MAX) {
        rc = err_set(err, ERR_TOO_LARGE, "compressed body too large");
        goto out;
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap == 0 ? (len * 4 < INFLATE_CHUNK ? INFLATE_CHUNK : len * 4) : cap * 2;
            char *nb;
            if (ncap > max + 1)
                ncap = max + 1; /* one byte past max tells a bomb from an exact fit */
            if (ncap <= cap) {
                rc = err_set(err, ERR_TOO_LARGE, "inflated body exceeds %zu bytes", max);
                goto out;
            }
            nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                rc = err_set(err, ERR_NOMEM, "out of memory");
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        z.next_out = (Bytef *)buf + n;
        z.avail_out = (uInt)(cap - n);
        zr = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
        if (n > max) {
            rc = err_set(err, ERR_TOO_LARGE, "inflated body exceeds %zu bytes", max);
            goto out;
        }
        if (zr == Z_STREAM_END) {
            /* Concatenated gzip members are legal (RFC 1952): continue with the next one. */
            if (z.avail_in > 0 && inflateReset(&z) == Z_OK)
                continue;
            break;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            rc = err_set(err, ERR_INVALID, "truncated gzip data");
            goto out;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = err_set(err, ERR_INVALID, "corrupt gzip data");
            goto out;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    buf = NULL;
out:
    inflateEnd(&z);
    free(buf);
    return rc;
}

/* Random bytes for ids, drawn from OpenSSL a page at a time: one RAND_bytes call per UUID
 * (it checks for a fork each time) was a visible share of ingesting a batch. */
static _Thread_local unsigned char uuid_pool[4096];
static _Thread_local size_t uuid_left;

void obs_uuid_new(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    size_t p = 0;
    if (uuid_left < sizeof r) {
        if (RAND_bytes(uuid_pool, sizeof uuid_pool) != 1)
            abort(); /* no randomness: nothing here can be made safe */
        uuid_left = sizeof uuid_pool;
    }
    memcpy(r, uuid_pool + sizeof uuid_pool - uuid_left, sizeof r);
    OPENSSL_cleanse(uuid_pool + sizeof uuid_pool - uuid_left, sizeof r);
    uuid_left -= sizeof r;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[p++] = '-';
        out[p++] = hex[r[i] >> 4];
        out[p++] = hex[r[i] & 0xf];
    }
    out[p] = '\0';
}

void obs_time_format(long long ms, char out[32])
{
    long long z = (ms >= 0 ? ms : ms - 86399999) / 86400000;
    long long rem = ms - z * 86400000;
    long long era;
    unsigned doe, yoe, doy, mp, d, m;
    long long y;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (long long)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    snprintf(out, 32, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, m % 100, d % 100,
             (int)(rem / 3600000 % 24), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

enum err_code obs_base64_strict(const char *in, size_t len, size_t max, unsigned char **out,
                                size_t *outlen, struct err *err)
{
    unsigned char *buf;
    size_t n = 0, pad = 0;

    *out = NULL;
    *outlen = 0;
    if (len % 4 != 0)
        return err_set(err, ERR_INVALID, "base64 length is not a multiple of 4");
    if (len > 0 && in[len - 1] == '=')
        pad++;
    if (pad == 1 && len > 1 && in[len - 2] == '=')
        pad++;
    if (len / 4 * 3 - pad > max)
        return err_set(err, ERR_TOO_LARGE, "decoded data exceeds %zu bytes", max);
    buf = malloc(len / 4 * 3 + 1);
    if (buf == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        bool last = i + 4 == len;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)in[i + (size_t)j];
            v[j] = b64_value(c);
            if (v[j] < 0 && !(c == '=' && last && j >= 4 - (int)pad)) {
                free(buf);
                return err_set(err, ERR_INVALID, "invalid base64");
            }
        }
        buf[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (v[2] >= 0)
            buf[n++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
        if (v[3] >= 0)
            buf[n++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return ERR_OK;
}

/* ---- a JSON parser that builds jansson values ----
 *
 * jansson's own parser reads a byte at a time through a stream abstraction and copies every
 * string twice; on a batch of events it took five times as long as this one, which scans strings
 * in runs and builds the same values with jansson's constructors. It accepts exactly what
 * json_loadb(JSON_REJECT_DUPLICATES) accepts (an object or array at the top, strict numbers,
 * valid UTF-8, no control characters in strings, no \u0000, paired surrogates, no duplicate
 * keys, integers that fit json_int_t, reals that do not overflow) and yields equal values;
 * tests/unit/observe/decode_test.c compares the two on a corpus and on mutated events. */

#define FP_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

struct fp {
    const unsigned char *s, *end;
    char *scratch; /* decoded strings that held escapes */
    size_t scap;
    bool odd_number; /* a number PostgreSQL's numeric may refuse (see fp_number) */
};

static json_t *fp_value(struct fp *p, unsigned depth);

static void fp_ws(struct fp *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t'))
        p->s++;
}

size_t obs_utf8_char(const unsigned char *s, size_t avail)
{
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return avail >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if (avail < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if (avail < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
            (s[3] & 0xc0) != 0x80 || (s[0] == 0xf0 && s[1] < 0x90) ||
            (s[0] == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

static long fp_hex4(const unsigned char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t fp_put_utf8(char *o, long c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* Decodes the escapes of the checked string body [b, e) into p->scratch. */
static bool fp_unescape(struct fp *p, const unsigned char *b, const unsigned char *e, size_t *len)
{
    size_t n = 0;

    if ((size_t)(e - b) + 1 > p->scap) { /* decoding never lengthens */
        size_t cap = (size_t)(e - b) + 1;
        char *nb = realloc(p->scratch, cap);
        if (nb == NULL)
            return false;
        p->scratch = nb;
        p->scap = cap;
    }
    while (b < e) {
        long c;
        if (*b != '\\') {
            p->scratch[n++] = (char)*b++;
            continue;
        }
        b++;
        switch (*b++) {
        case 'b':
            p->scratch[n++] = '\b';
            continue;
        case 'f':
            p->scratch[n++] = '\f';
            continue;
        case 'n':
            p->scratch[n++] = '\n';
            continue;
        case 'r':
            p->scratch[n++] = '\r';
            continue;
        case 't':
            p->scratch[n++] = '\t';
            continue;
        case 'u':
            break;
        default: /* " \ / */
            p->scratch[n++] = (char)b[-1];
            continue;
        }
        c = fp_hex4(b);
        b += 4;
        if (c >= 0xd800 && c <= 0xdbff) {
            long lo;
            if (e - b < 6 || b[0] != '\\' || b[1] != 'u' || (lo = fp_hex4(b + 2)) < 0xdc00 ||
                lo > 0xdfff)
                return false;
            b += 6;
            c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        } else if ((c >= 0xdc00 && c <= 0xdfff) || c == 0) {
            return false;
        }
        n += fp_put_utf8(p->scratch + n, c);
    }
    *len = n;
    return true;
}

/* p->s is at a string's opening quote. *out and *len get its value: in the input when it holds
 * no escapes, else in p->scratch (valid until the next string). */
static bool fp_string(struct fp *p, const char **out, size_t *len)
{
    const unsigned char *s = p->s + 1, *start = s;
    bool esc = false;

    for (;;) {
        while (s < p->end && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        if (s >= p->end || *s < 0x20)
            return false;
        if (*s == '"')
            break;
        if (*s >= 0x80) {
            size_t q = obs_utf8_char(s, (size_t)(p->end - s));
            if (q == 0)
                return false;
            s += q;
            continue;
        }
        esc = true; /* a backslash */
        if (p->end - s < 2)
            return false;
        s += 2;
        if (s[-1] == 'u') {
            if (p->end - s < 4 || fp_hex4(s) < 0)
                return false;
            s += 4;
        } else if (strchr("\"\\/bfnrt", s[-1]) == NULL || s[-1] == '\0') {
            return false;
        }
    }
    p->s = s + 1;
    if (!esc) {
        *out = (const char *)start;
        *len = (size_t)(s - start);
        return true;
    }
    if (!fp_unescape(p, start, s, len))
        return false;
    *out = p->scratch; /* after: unescaping may have moved it */
    return true;
}

static json_t *fp_number(struct fp *p)
{
    const unsigned char *s = p->s, *b = s;
    bool real = false;
    char tmp[64], *num = tmp;
    size_t n;
    json_t *v = NULL;

    if (s < p->end && *s == '-')
        s++;
    if (s < p->end && *s == '0')
        s++;
    else if (s < p->end && *s >= '1' && *s <= '9')
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    else
        return NULL;
    if (s < p->end && *s == '.') {
        real = true;
        if (++s >= p->end || *s < '0' || *s > '9')
            return NULL;
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    if (s < p->end && (*s == 'e' || *s == 'E')) {
        real = true;
        if (++s < p->end && (*s == '+' || *s == '-'))
            s++;
        if (s >= p->end || *s < '0' || *s > '9')
            return NULL;
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    n = (size_t)(s - b);
    if (n >= sizeof tmp && (num = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(num, b, n);
    num[n] = '\0';
    /* jsonb stores numbers as numeric, which refuses more than 16383 digits after the point
     * ("1e-16384"): text with such a number is not stored verbatim. Long or far-exponent
     * numbers are flagged, which is conservative. */
    if (n >= sizeof tmp)
        p->odd_number = true;
    else if (real && strpbrk(num, "eE") != NULL) {
        long x = strtol(strpbrk(num, "eE") + 1, NULL, 10);
        if (x > 300 || x < -300)
            p->odd_number = true;
    }
    errno = 0;
    if (!real) {
        long long x = strtoll(num, NULL, 10);
        if (errno != ERANGE)
            v = json_integer((json_int_t)x);
    } else {
        double d = strtod(num, NULL);
        if (!(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)))
            v = json_real(d);
    }
    if (num != tmp)
        free(num);
    p->s = s;
    return v;
}

static json_t *fp_object(struct fp *p, unsigned depth)
{
    json_t *v = json_object();

    p->s++;
    fp_ws(p);
    if (v != NULL && p->s < p->end && *p->s == '}') {
        p->s++;
        return v;
    }
    while (v != NULL) {
        char kbuf[64], *k = NULL;
        const char *key;
        size_t klen, before = json_object_size(v);
        json_t *x;
        bool ok;

        fp_ws(p);
        if (p->s >= p->end || *p->s != '"' || !fp_string(p, &key, &klen))
            break;
        if (key == p->scratch) { /* the value's strings reuse scratch */
            k = klen < sizeof kbuf ? kbuf : malloc(klen + 1);
            if (k == NULL)
                break;
            memcpy(k, key, klen);
            key = k;
        }
        fp_ws(p);
        x = p->s < p->end && *p->s == ':' ? (p->s++, fp_value(p, depth + 1)) : NULL;
        ok = x != NULL && json_object_setn_new_nocheck(v, key, klen, x) == 0 &&
             json_object_size(v) > before; /* not a duplicate key */
        if (k != kbuf)
            free(k);
        if (!ok)
            break;
        fp_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == '}') {
            p->s++;
            return v;
        }
        break;
    }
    json_decref(v);
    return NULL;
}

static json_t *fp_array(struct fp *p, unsigned depth)
{
    json_t *v = json_array();

    p->s++;
    fp_ws(p);
    if (v != NULL && p->s < p->end && *p->s == ']') {
        p->s++;
        return v;
    }
    while (v != NULL) {
        json_t *x = fp_value(p, depth + 1);
        if (x == NULL || json_array_append_new(v, x) != 0)
            break;
        fp_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == ']') {
            p->s++;
            return v;
        }
        break;
    }
    json_decref(v);
    return NULL;
}

static json_t *fp_value(struct fp *p, unsigned depth)
{
    const char *str;
    size_t len;

    fp_ws(p);
    if (p->s >= p->end)
        return NULL;
    switch (*p->s) {
    case '{':
        return depth < FP_MAX_DEPTH ? fp_object(p, depth) : NULL;
    case '[':
        return depth < FP_MAX_DEPTH ? fp_array(p, depth) : NULL;
    case '"':
        return fp_string(p, &str, &len) ? json_stringn_nocheck(str, len) : NULL;
    case 't':
        if (p->end - p->s < 4 || memcmp(p->s, "true", 4) != 0)
            return NULL;
        p->s += 4;
        return json_true();
    case 'f':
        if (p->end - p->s < 5 || memcmp(p->s, "false", 5) != 0)
            return NULL;
        p->s += 5;
        return json_false();
    case 'n':
        if (p->end - p->s < 4 || memcmp(p->s, "null", 4) != 0)
            return NULL;
        p->s += 4;
        return json_null();
    default:
        return fp_number(p);
    }
}

/* obs_json_loadb; *verbatim tells whether the text may be stored in a jsonb column as it is. */
static json_t *fp_load(const char *text, size_t len, bool *verbatim)
{
    struct fp p = {(const unsigned char *)text, (const unsigned char *)text + len, NULL, 0, false};
    json_t *v = NULL;

    fp_ws(&p);
    if (p.s < p.end && (*p.s == '{' || *p.s == '['))
        v = fp_value(&p, 0);
    fp_ws(&p);
    if (v != NULL && p.s != p.end) { /* anything after the value */
        json_decref(v);
        v = NULL;
    }
    free(p.scratch);
    *verbatim = !p.odd_number;
    return v;
}

json_t *obs_json_loadb(const char *text, size_t len)
{
    bool verbatim;
    return fp_load(text, len, &verbatim);
}

/* ---- the parse arena ----
 *
 * A batch's events are thousands of small jansson nodes that all die together when the request
 * ends; taking each from malloc and giving it back one by one was a third of ingest's CPU. While
 * obs_batch_parse() runs json_loadb, jansson allocates from the calling thread's bump arena;
 * freeing a node inside an arena does nothing, and the arena is reset once every node of it is
 * gone (live == 0). jansson's allocator is process-global, so the hooks are installed before
 * main (no thread exists yet) and fall back to malloc/free for every other allocation: outside
 * the parse nothing changes, and json_dumps buffers stay free()-able. A node must be freed on the
 * thread that parsed it (obs_batch_free), which is the request's. */

#define ARENA_CHUNK ((size_t)4 << 20)  /* kept between requests */
#define ARENA_MAX ((size_t)64 << 20)   /* past this, the parse allocates from malloc */
#define ARENA_CHUNKS 16

struct arena {
    char *chunk[ARENA_CHUNKS];
    size_t size[ARENA_CHUNKS];
    unsigned n;       /* chunks held */
    unsigned cur;     /* chunk being filled */
    size_t used;      /* bytes of chunk[cur] handed out */
    size_t total;     /* bytes of all chunks */
    size_t live;      /* nodes handed out and not yet freed */
    bool active;      /* inside json_loadb of obs_batch_parse */
    bool leaked;      /* live nodes at release: a bug; logged once */
};

static _Thread_local struct arena arena;
static pthread_key_t arena_key;

static bool arena_owns(const struct arena *a, const void *p)
{
    const char *c = p;
    for (unsigned i = 0; i < a->n; i++)
        if (c >= a->chunk[i] && c < a->chunk[i] + a->size[i])
            return true;
    return false;
}

static void *arena_malloc(size_t n)
{
    struct arena *a = &arena;

    if (!a->active)
        return malloc(n);
    n = (n + 15) & ~(size_t)15;
    while (a->cur < a->n && a->used + n > a->size[a->cur]) {
        a->cur++;
        a->used = 0;
    }
    if (a->cur == a->n) {
        size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        char *c;
        if (a->n == ARENA_CHUNKS || a->total + sz > ARENA_MAX || (c = malloc(sz)) == NULL)
            return malloc(n);
        if (a->n == 0)
            pthread_setspecific(arena_key, a); /* the thread's exit frees the chunks */
        a->chunk[a->n] = c;
        a->size[a->n++] = sz;
        a->total += sz;
        a->used = 0;
    }
    a->live++;
    a->used += n;
    return a->chunk[a->cur] + a->used - n;
}

static void arena_free(void *p)
{
    struct arena *a = &arena;

    if (p == NULL)
        return;
    if (a->n > 0 && arena_owns(a, p)) {
        a->live--;
        return;
    }
    free(p);
}

/* Frees the chunks of a thread that ends. */
static void arena_destroy(void *p)
{
    struct arena *a = p;
    if (a->live > 0)
        return; /* nodes still reachable: keep their memory */
    for (unsigned i = 0; i < a->n; i++)
        free(a->chunk[i]);
    memset(a, 0, sizeof *a);
}

__attribute__((constructor)) static void arena_install(void)
{
    if (pthread_key_create(&arena_key, arena_destroy) == 0)
        json_set_alloc_funcs(arena_malloc, arena_free);
}

/* Makes the arena empty for the next parse, keeping one chunk, when nothing of it lives. */
static void arena_reset(void)
{
    struct arena *a = &arena;

    if (a->live > 0) {
        if (!a->leaked) /* a node kept past the request: a bug, but its memory stays valid */
            log_event(LOG_ERROR, NULL, "ingest.arena_live", "{s:I}", "nodes",
                      (json_int_t)a->live);
        a->leaked = true;
        return;
    }
    for (unsigned i = 1; i < a->n; i++)
        free(a->chunk[i]);
    a->n = a->n > 0 ? 1 : 0;
    a->total = a->n > 0 ? a->size[0] : 0;
    a->cur = 0;
    a->used = 0;
}

static json_t *arena_loadb(const char *text, size_t len, bool *verbatim)
{
    json_t *v;
    arena.active = true;
    v = fp_load(text, len, verbatim);
    arena.active = false;
    return v;
}

void obs_batch_free(json_t *events, struct obs_span *spans)
{
    json_decref(events);
    free(spans);
    arena_reset();
}

/* ---- raw JSON text: where values lie (for text that jansson has accepted) ---- */

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* s[i] is '"': the index past the closing quote, or len. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

/* The index past the value that starts at s[i], or len. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    size_t depth = 0;

    if (i < len && s[i] == '"')
        return skip_string(s, len, i);
    if (i < len && s[i] != '{' && s[i] != '[') { /* number, true, false, null */
        while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
               s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            i++;
        return i;
    }
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, len, i);
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return len;
}

bool obs_json_member(const char *text, size_t len, const char *name, struct obs_span *out)
{
    size_t n = strlen(name), i = skip_ws(text, len, 0);

    if (i >= len || text[i] != '{')
        return false;
    i = skip_ws(text, len, i + 1);
    while (i < len && text[i] == '"') {
        size_t k = i + 1, kend = skip_string(text, len, i), v;
        /* Compared as written: a key spelt with escapes is not found (the caller serialises
         * the parsed value instead), never confused with another. */
        bool match = kend - k - 1 == n && memcmp(text + k, name, n) == 0;
        i = skip_ws(text, len, kend);
        if (i >= len || text[i] != ':')
            return false;
        v = skip_ws(text, len, i + 1);
        i = skip_value(text, len, v);
        if (match) {
            out->off = v;
            out->len = i - v;
            return i > v;
        }
        i = skip_ws(text, len, i);
        if (i < len && text[i] == ',')
            i = skip_ws(text, len, i + 1);
        else
            return false;
    }
    return false;
}

/* The spans of the elements of the array "events" of a {"events": [...]} body, relative to
 * body; false when they cannot be told (the key spelt with escapes). */
static bool element_spans(const char *body, size_t len, struct obs_span *spans, size_t count)
{
    struct obs_span arr;
    size_t i, k = 0;

    if (!obs_json_member(body, len, "events", &arr) || body[arr.off] != '[')
        return false;
    i = skip_ws(body, len, arr.off + 1);
    while (i < len && body[i] != ']' && k < count) {
        size_t end = skip_value(body, len, i);
        spans[k].off = i;
        spans[k++].len = end - i;
        i = skip_ws(body, len, end);
        if (i < len && body[i] == ',')
            i = skip_ws(body, len, i + 1);
    }
    return k == count;
}

static void reject(json_t *rejected, size_t index, const char *why)
{
    json_array_append_new(rejected, json_pack("{s:I, s:s}", "index", (json_int_t)index, "error",
                                              why));
}

/* JSON nesting depth outside strings, without parsing (as api/request.c: jansson recurses). */
static bool depth_ok(const char *s, size_t len, unsigned max)
{
    unsigned depth = 0;
    bool in_str = false;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return false;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return true;
}

#define OBS_JSON_MAX_DEPTH 64 /* events carry the function's input: deeper than API bodies */

static enum err_code parse_ndjson(const char *body, size_t len, json_t *events,
                                  struct obs_span *spans, json_t *rejected, struct err *err)
{
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - body) : len;
        size_t n = end - pos;
        const char *line = body + pos;
        json_t *v = NULL;
        bool verbatim = false;

        pos = end + 1;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        while (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
            line++;
            n--;
        }
        if (n == 0)
            continue;
        if (json_array_size(events) >= OBS_MAX_EVENTS)
            return err_set(err, ERR_TOO_LARGE, "more than %d events in one request",
                           OBS_MAX_EVENTS);
        if (n > OBS_EVENT_MAX_BYTES) {
            reject(rejected, json_array_size(events), "event larger than 1 MiB");
        } else if (!depth_ok(line, n, OBS_JSON_MAX_DEPTH)) {
            reject(rejected, json_array_size(events), "JSON nested too deeply");
        } else {
            v = arena_loadb(line, n, &verbatim);
            if (v == NULL)
                reject(rejected, json_array_size(events), "malformed JSON line");
            else if (!json_is_object(v)) {
                reject(rejected, json_array_size(events), "an event must be a JSON object");
                json_decref(v);
                v = NULL;
            }
        }
        spans[json_array_size(events)].off = (size_t)(line - body);
        spans[json_array_size(events)].len = v && verbatim ? n : 0;
        if (json_array_append_new(events, v ? v : json_null()) != 0)
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

enum err_code obs_batch_parse(const char *body, size_t len, bool ndjson, json_t **events,
                              struct obs_span **spans, json_t *rejected, struct err *err)
{
    json_t *doc = NULL, *arr;
    json_error_t jerr;
    struct obs_span *sp = NULL;
    enum err_code rc = ERR_OK;
    bool verbatim = false;

    arena_reset(); /* for callers that only decref'd the last batch */
    *events = json_array();
    if (spans != NULL)
        *spans = NULL;
    if (*events == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (body == NULL || len == 0) {
        rc = err_set(err, ERR_INVALID, "the body holds no events");
        goto out;
    }
    if (ndjson) {
        size_t lines = 1;
        for (const char *q = body; (q = memchr(q, '\n', len - (size_t)(q - body))) != NULL &&
                                   lines <= OBS_MAX_EVENTS;
             q++)
            lines++;
        sp = calloc(lines < OBS_MAX_EVENTS ? lines : OBS_MAX_EVENTS, sizeof *sp);
        if (sp == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
        rc = parse_ndjson(body, len, *events, sp, rejected, err);
        if (rc == ERR_OK && json_array_size(*events) == 0)
            rc = err_set(err, ERR_INVALID, "the body holds no events");
        goto out;
    }
    if (!depth_ok(body, len, OBS_JSON_MAX_DEPTH + 2)) {
        rc = err_set(err, ERR_INVALID, "JSON nested too deeply");
        goto out;
    }
    doc = arena_loadb(body, len, &verbatim);
    if (doc == NULL) {
        /* Parsed again outside the arena only to say where it broke. */
        json_decref(json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr));
        rc = err_set(err, ERR_INVALID, "malformed JSON at line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        goto out;
    }
    arr = json_object_get(doc, "events");
    if (!json_is_object(doc) || !json_is_array(arr) || json_object_size(doc) != 1) {
        rc = err_set_field(err, ERR_INVALID, "events",
                           "the body must be {\"events\": [...]} or NDJSON");
        goto out;
    }
    if (json_array_size(arr) == 0) {
        rc = err_set_field(err, ERR_INVALID, "events", "'events' is empty");
        goto out;
    }
    if (json_array_size(arr) > OBS_MAX_EVENTS) {
        rc = err_set_field(err, ERR_TOO_LARGE, "events", "more than %d events in one request",
                           OBS_MAX_EVENTS);
        goto out;
    }
    sp = calloc(json_array_size(arr), sizeof *sp);
    if (sp == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!verbatim || !element_spans(body, len, sp, json_array_size(arr)))
        memset(sp, 0, json_array_size(arr) * sizeof *sp); /* unknown: serialised instead */
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_object(v)) {
            reject(rejected, i, "an event must be a JSON object");
            v = json_null();
            sp[i].len = 0;
        } else {
            json_incref(v);
        }
        json_array_append_new(*events, v);
    }
out:
    json_decref(doc);
    if (rc != ERR_OK) {
        obs_batch_free(*events, sp);
        *events = NULL;
        sp = NULL;
    }
    if (spans != NULL)
        *spans = sp;
    else
        free(sp);
    return rc;
}
