#define _DEFAULT_SOURCE 1 /* timegm */
#include "cloud/aws.h"

#include "cloud/sigv4.h"
#include "net/net.h"
#include "server/log.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STS_ATTEMPTS 4
#define STS_BACKOFF_MS 100   /* first retry; doubles, with jitter */
#define STS_RETRY_CAP_MS 2000 /* no single wait longer than this inside an API call */

enum err_code cloud_creds_from_env(struct cloud_creds *out, struct err *err)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");

    memset(out, 0, sizeof *out);
    if (id == NULL || secret == NULL || id[0] == '\0' || secret[0] == '\0' ||
        strlen(id) >= sizeof out->access_key_id || strlen(secret) >= sizeof out->secret_access_key)
        return err_set(err, ERR_UNAVAILABLE, "Parapet's AWS identity is not configured");
    snprintf(out->access_key_id, sizeof out->access_key_id, "%s", id);
    snprintf(out->secret_access_key, sizeof out->secret_access_key, "%s", secret);
    if (token != NULL && token[0] != '\0') {
        out->session_token = strdup(token);
        if (out->session_token == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

void cloud_creds_clear(struct cloud_creds *c)
{
    if (c == NULL)
        return;
    if (c->session_token != NULL) {
        OPENSSL_cleanse(c->session_token, strlen(c->session_token));
        free(c->session_token);
    }
    OPENSSL_cleanse(c, sizeof *c);
    memset(c, 0, sizeof *c);
}

char *cloud_endpoint(const char *service, const char *region)
{
    char name[64], *out;
    const char *v;
    size_t i, n;

    n = (size_t)snprintf(name, sizeof name, "AWS_ENDPOINT_URL_%s", service);
    for (i = 17; i < n && i < sizeof name; i++)
        name[i] = (char)toupper((unsigned char)name[i]);
    v = getenv(name);
    if (v == NULL || v[0] == '\0')
        v = getenv("AWS_ENDPOINT_URL");
    if (v != NULL && v[0] != '\0')
        return strdup(v);
    n = strlen(service) + strlen(region) + 32;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "https://%s.%s.amazonaws.com", service, region);
    return out;
}

/* Form encoding for the Query protocol: unreserved characters kept, the rest %XX. */
static bool form_add(char *buf, size_t cap, size_t *len, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t p = *len;
    int n = snprintf(buf + p, cap - p, "%s%s=", p ? "&" : "", key);

    if (n < 0 || (size_t)n >= cap - p)
        return false;
    p += (size_t)n;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (p + 4 >= cap)
            return false;
        if (isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            buf[p++] = (char)*c;
        } else {
            buf[p++] = '%';
            buf[p++] = hex[*c >> 4];
            buf[p++] = hex[*c & 0xf];
        }
    }
    buf[p] = '\0';
    *len = p;
    return true;
}

/* Text of the first <tag>...</tag> with the five XML entities decoded. */
static bool xml_text(const char *xml, const char *tag, char *out, size_t n)
{
    char open[64], close[64];
    const char *a, *b;
    size_t p = 0;

    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    a = strstr(xml, open);
    if (a == NULL)
        return false;
    a += strlen(open);
    b = strstr(a, close);
    if (b == NULL)
        return false;
    while (a < b && p + 1 < n) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool done = false;
        for (size_t i = 0; i < 5 && *a == '&'; i++) {
            size_t l = strlen(ents[i].ent);
            if ((size_t)(b - a) >= l && strncmp(a, ents[i].ent, l) == 0) {
                out[p++] = ents[i].c;
                a += l;
                done = true;
                break;
            }
        }
        if (!done)
            out[p++] = *a++;
    }
    out[p] = '\0';
    return a == b;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long jitter(long ms)
{
    unsigned char r;
    if (RAND_bytes(&r, 1) != 1)
        r = 128;
    return ms / 2 + (ms * (long)r) / 256; /* [0.5, 1.5) x ms */
}

/* One signed STS call with retries; on success *resp holds the 200 answer. */
static enum err_code sts_call(const struct cloud_creds *c, const char *region, const char *body,
                              struct net_response *resp, char aws_error[64], struct err *err)
{
    char *url = cloud_endpoint("sts", region);
    const char *host;
    char hostbuf[256];
    enum err_code rc = ERR_OK;
    long backoff = STS_BACKOFF_MS;

    aws_error[0] = '\0';
    memset(resp, 0, sizeof *resp);
    if (url == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    host = strstr(url, "://");
    host = host ? host + 3 : url;
    snprintf(hostbuf, sizeof hostbuf, "%.*s", (int)strcspn(host, "/"), host);

    for (int attempt = 1; attempt <= STS_ATTEMPTS; attempt++) {
        static const struct cloud_sigv4_header ct = {
            "Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
        struct cloud_sigv4_request sreq = {
            .method = "POST", .path = "/", .headers = &ct, .header_count = 1,
            .host = hostbuf, .payload = body, .payload_len = strlen(body), .region = region,
            .service = "sts", .when = time(NULL)};
        struct cloud_sigv4_creds sc = {c->access_key_id, c->secret_access_key, c->session_token};
        struct cloud_sigv4_result sig;
        char *hdrs[CLOUD_SIGV4_MAX_ADD + 2];
        const char *hp[CLOUD_SIGV4_MAX_ADD + 3];
        struct net_request nreq;
        size_t nh = 0;
        long wait;

        memset(&sig, 0, sizeof sig);
        rc = cloud_sigv4_sign(&sreq, &sc, &sig, err);
        if (rc != ERR_OK)
            break;
        hp[nh] = "Content-Type: application/x-www-form-urlencoded; charset=utf-8";
        hdrs[nh] = NULL;
        nh++;
        for (size_t i = 0; i < sig.add_count; i++) {
            size_t l = strlen(sig.add[i].name) + strlen(sig.add[i].value) + 3;
            hdrs[nh] = malloc(l);
            if (hdrs[nh] != NULL)
                snprintf(hdrs[nh], l, "%s: %s", sig.add[i].name, sig.add[i].value);
            hp[nh] = hdrs[nh];
            nh++;
        }
        hp[nh] = NULL;
        nreq = (struct net_request){.method = "POST", .url = url, .headers = hp, .body = body,
                                    .body_len = strlen(body), .timeout_ms = 10000,
                                    .max_response = 64 * 1024};
        net_response_free(resp);
        rc = net_do(&nreq, resp, err);
        for (size_t i = 1; i < nh; i++) {
            if (hdrs[i] != NULL)
                OPENSSL_cleanse(hdrs[i], strlen(hdrs[i]));
            free(hdrs[i]);
        }
        cloud_sigv4_result_free(&sig);

        if (rc == ERR_OK && resp->status == 200)
            break;
        if (rc == ERR_OK) {
            if (!xml_text(resp->body, "Code", aws_error, 64))
                snprintf(aws_error, 64, "HTTP%ld", resp->status);
        }
        /* Retry throttling, 5xx and transport failures; anything else is AWS's answer. */
        if (rc == ERR_OK && resp->status < 500 && strcmp(aws_error, "Throttling") != 0 &&
            strcmp(aws_error, "RequestLimitExceeded") != 0) {
            rc = err_set(err, ERR_UPSTREAM, "AWS refused: %s", aws_error);
            break;
        }
        if (attempt == STS_ATTEMPTS) {
            rc = err_set(err, ERR_UNAVAILABLE, "AWS STS is unavailable (%s)",
                         rc == ERR_OK ? aws_error : err->detail);
            break;
        }
        wait = jitter(backoff);
        if (rc == ERR_OK && resp->retry_after_s >= 0 && resp->retry_after_s * 1000 > wait)
            wait = resp->retry_after_s * 1000;
        if (wait > STS_RETRY_CAP_MS)
            wait = STS_RETRY_CAP_MS;
        log_event(LOG_INFO, NULL, "aws.retry", "{s:s, s:i, s:s, s:i}", "service", "sts",
                  "attempt", attempt, "reason", rc == ERR_OK ? aws_error : "unreachable",
                  "wait_ms", (int)wait);
        sleep_ms(wait);
        backoff *= 2;
    }
    free(url);
    if (rc != ERR_OK)
        net_response_free(resp);
    return rc;
}

enum err_code cloud_sts_assume_role(const struct cloud_creds *caller, const char *region,
                                    const char *role_arn, const char *external_id,
                                    const char *session_name, struct cloud_creds *out,
                                    char aws_error[64], struct err *err)
{
    char body[4096];
    size_t len = 0;
    struct net_response resp;
    char token[8192], expiration[40];
    struct tm tm;
    enum err_code rc;

    memset(out, 0, sizeof *out);
    aws_error[0] = '\0';
    if (!form_add(body, sizeof body, &len, "Action", "AssumeRole") ||
        !form_add(body, sizeof body, &len, "Version", "2011-06-15") ||
        !form_add(body, sizeof body, &len, "RoleArn", role_arn) ||
        !form_add(body, sizeof body, &len, "RoleSessionName", session_name) ||
        !form_add(body, sizeof body, &len, "DurationSeconds", "3600") ||
        (external_id != NULL && !form_add(body, sizeof body, &len, "ExternalId", external_id)))
        return err_set(err, ERR_INVALID, "request too large");
    rc = sts_call(caller, region, body, &resp, aws_error, err);
    if (rc != ERR_OK)
        return rc;
    if (!xml_text(resp.body, "AccessKeyId", out->access_key_id, sizeof out->access_key_id) ||
        !xml_text(resp.body, "SecretAccessKey", out->secret_access_key,
                  sizeof out->secret_access_key) ||
        !xml_text(resp.body, "SessionToken", token, sizeof token) ||
        !xml_text(resp.body, "Expiration", expiration, sizeof expiration)) {
        rc = err_set(err, ERR_UPSTREAM, "AWS answered AssumeRole without credentials");
        goto out;
    }
    memset(&tm, 0, sizeof tm);
    if (sscanf(expiration, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        out->expires = timegm(&tm);
    }
    out->session_token = strdup(token);
    if (out->session_token == NULL)
        rc = err_set(err, ERR_NOMEM, "out of memory");
out:
    OPENSSL_cleanse(token, sizeof token);
    if (resp.body != NULL)
        OPENSSL_cleanse(resp.body, resp.body_len);
    net_response_free(&resp);
    if (rc != ERR_OK)
        cloud_creds_clear(out);
    return rc;
}

enum err_code cloud_sts_caller_account(const struct cloud_creds *creds, const char *region,
                                       char account[13], char aws_error[64], struct err *err)
{
    struct net_response resp;
    enum err_code rc;

    account[0] = '\0';
    rc = sts_call(creds, region, "Action=GetCallerIdentity&Version=2011-06-15", &resp, aws_error,
                  err);
    if (rc != ERR_OK)
        return rc;
    if (!xml_text(resp.body, "Account", account, 13) || strlen(account) != 12)
        rc = err_set(err, ERR_UPSTREAM, "AWS answered GetCallerIdentity without an account");
    net_response_free(&resp);
    return rc;
}
