/* Decoding of ingest bodies: bounded gzip inflation, strict base64, and the split of a native
 * batch ({"events": [...]} or NDJSON) into candidate events. */
#include "observe/observe.h"

#include <openssl/rand.h>
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

void obs_uuid_new(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    size_t p = 0;
    if (RAND_bytes(r, sizeof r) != 1)
        abort(); /* no randomness: nothing here can be made safe */
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

static enum err_code parse_ndjson(const char *body, size_t len, json_t *events, json_t *rejected,
                                  struct err *err)
{
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - body) : len;
        size_t n = end - pos;
        const char *line = body + pos;
        json_error_t jerr;
        json_t *v = NULL;

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
            v = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr);
            if (v == NULL)
                reject(rejected, json_array_size(events), "malformed JSON line");
            else if (!json_is_object(v)) {
                reject(rejected, json_array_size(events), "an event must be a JSON object");
                json_decref(v);
                v = NULL;
            }
        }
        if (json_array_append_new(events, v ? v : json_null()) != 0)
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

enum err_code obs_batch_parse(const char *body, size_t len, bool ndjson, json_t **events,
                              json_t *rejected, struct err *err)
{
    json_t *doc = NULL, *arr;
    json_error_t jerr;
    enum err_code rc = ERR_OK;

    *events = json_array();
    if (*events == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (body == NULL || len == 0) {
        rc = err_set(err, ERR_INVALID, "the body holds no events");
        goto out;
    }
    if (ndjson) {
        rc = parse_ndjson(body, len, *events, rejected, err);
        if (rc == ERR_OK && json_array_size(*events) == 0)
            rc = err_set(err, ERR_INVALID, "the body holds no events");
        goto out;
    }
    if (!depth_ok(body, len, OBS_JSON_MAX_DEPTH + 2)) {
        rc = err_set(err, ERR_INVALID, "JSON nested too deeply");
        goto out;
    }
    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
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
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_object(v)) {
            reject(rejected, i, "an event must be a JSON object");
            v = json_null();
        } else {
            json_incref(v);
        }
        json_array_append_new(*events, v);
    }
out:
    json_decref(doc);
    if (rc != ERR_OK) {
        json_decref(*events);
        *events = NULL;
    }
    return rc;
}
