/* obs_util - helpers shared by the observe integration suites (ingest, firehose, correlation):
 * a tenant with an AWS account and an ingest key, event posting, gzip and base64, SQL counts as
 * the superuser (past row-level security). Header-only: each suite is one translation unit. */
#ifndef PARAPET_OBS_UTIL_H
#define PARAPET_OBS_UTIL_H

#include "harness.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

struct obs_tenant {
    char token[1024];  /* the owner's access token */
    char ingest[128];  /* a pri_ ingest key */
    char tenant_id[40];
    char account[13];  /* its AWS account */
};

static inline const char *obs_str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* HTTP with a bearer credential (may be NULL) and extra headers (NULL-terminated, may be NULL);
 * *out (may be NULL) gets the parsed JSON body. */
static inline long obs_call(const struct h_server *s, const char *method, const char *path,
                            const char *cred, const char *const *extra, const char *body,
                            size_t len, json_t **out)
{
    char u[512], auth[1100];
    const char *hdrs[16];
    size_t n = 0;
    struct h_resp r;
    long st;

    snprintf(u, sizeof u, "%s%s", s->base, path);
    if (cred != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cred);
        hdrs[n++] = auth;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 14; i++)
        hdrs[n++] = extra[i];
    if (body != NULL && (extra == NULL || extra[0] == NULL ||
                         strncasecmp(extra[0], "Content-Type", 12) != 0))
        hdrs[n++] = "Content-Type: application/json";
    hdrs[n] = NULL;
    st = h_http(method, u, hdrs, body, len, &r);
    if (out != NULL)
        *out = r.len ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    h_resp_free(&r);
    return st;
}

/* Signs up an organisation, adds AWS account `account` and makes an ingest key. */
static inline int obs_tenant_new(const struct h_server *s, const char *org, const char *account,
                                 struct obs_tenant *t)
{
    char body[512];
    json_t *r = NULL;

    memset(t, 0, sizeof *t);
    snprintf(body, sizeof body,
             "{\"organization\":\"%s\",\"email\":\"owner@%s.example\","
             "\"password\":\"observe test passphrase\"}",
             org, org);
    if (obs_call(s, "POST", "/v1/signup", NULL, NULL, body, strlen(body), &r) != 201)
        return -1;
    snprintf(t->token, sizeof t->token, "%s", obs_str(r, "access_token"));
    json_decref(r);
    if (obs_call(s, "GET", "/v1/me", t->token, NULL, NULL, 0, &r) != 200)
        return -1;
    snprintf(t->tenant_id, sizeof t->tenant_id, "%s",
             obs_str(json_object_get(r, "tenant"), "id"));
    json_decref(r);
    snprintf(body, sizeof body,
             "{\"provider\":\"aws\",\"aws_account_id\":\"%s\",\"name\":\"prod\","
             "\"regions\":[\"us-east-1\"]}",
             account);
    if (obs_call(s, "POST", "/v1/accounts", t->token, NULL, body, strlen(body), NULL) != 201)
        return -1;
    snprintf(t->account, sizeof t->account, "%s", account);
    snprintf(body, sizeof body, "{\"name\":\"telemetry\",\"kind\":\"ingest\"}");
    if (obs_call(s, "POST", "/v1/api-keys", t->token, NULL, body, strlen(body), &r) != 201)
        return -1;
    snprintf(t->ingest, sizeof t->ingest, "%s", obs_str(r, "key"));
    json_decref(r);
    return t->ingest[0] ? 0 : -1;
}

/* RFC 3339 UTC time of now + offset seconds. */
static inline void obs_time(long long offset_s, char out[32])
{
    time_t t = time(NULL) + (time_t)offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* gzip of data (malloc'd). */
static inline unsigned char *obs_gzip(const void *data, size_t len, size_t *outlen)
{
    z_stream z;
    size_t cap = compressBound((uLong)len) + 64;
    unsigned char *out = malloc(cap);

    memset(&z, 0, sizeof z);
    if (out == NULL || deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* Standard base64 with padding (malloc'd, NUL-terminated). */
static inline char *obs_base64(const void *data, size_t len)
{
    char *out = malloc(len / 3 * 4 + 8);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* count(*) or any single value of sql, as the superuser. */
static inline long long obs_sql_num(const char *db, const char *sql)
{
    char admin[256];
    char *v;
    long long n;
    h_db_admin_url(db, admin, sizeof admin);
    v = h_sql(admin, sql);
    n = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* Waits up to timeout_ms for sql to yield at least want; returns the last value. */
static inline long long obs_wait_num(const char *db, const char *sql, long long want,
                                     int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms, v = -1;
    while (h_now_ms() < deadline) {
        v = obs_sql_num(db, sql);
        if (v >= want)
            return v;
        h_sleep_ms(50);
    }
    return v;
}

#endif
