#define _DEFAULT_SOURCE 1 /* timegm */
/* Parapet's own AWS credentials from the AWS SDKs' default chain: environment, container
 * credentials endpoint (ECS / EKS Pod Identity), EC2 instance metadata (IMDSv2 only: IMDSv1 has no
 * session token and is what SSRF attacks on EC2 go after). */
#include "cloud/aws.h"

#include "net/net.h"
#include "server/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CREDS_TIMEOUT_MS 2000L    /* whole budget of one source: a non-EC2 machine fails fast */
#define CREDS_MAX_RESPONSE 16384  /* credential documents are ~1.5 KiB */
#define CREDS_MAX_AUTH_TOKEN 8192 /* container authorization token */
#define IMDS_TOKEN_TTL_S "21600"  /* the SDKs' default: 6 h */
#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, at least 1 so net_do() does not take 0 as its default. */
static long left_ms(long long deadline)
{
    long long l = deadline - now_ms();
    return l > 0 ? (long)l : 1;
}

static void wipe_response(struct net_response *r)
{
    if (r->body != NULL)
        OPENSSL_cleanse(r->body, r->body_len);
    net_response_free(r);
}

static const char *env_get(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Fixed-width decimal at s[0..n). */
static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* ISO 8601 UTC as AWS writes it: YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or +00:00. */
static bool parse_expiration(const char *s, time_t *out)
{
    struct tm tm;
    const char *p = s + 19;

    memset(&tm, 0, sizeof tm);
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || !digits(s, 4, &tm.tm_year) || !digits(s + 5, 2, &tm.tm_mon) ||
        !digits(s + 8, 2, &tm.tm_mday) || !digits(s + 11, 2, &tm.tm_hour) ||
        !digits(s + 14, 2, &tm.tm_min) || !digits(s + 17, 2, &tm.tm_sec))
        return false;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
        return false;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

/* Fills out from a credentials document ({AccessKeyId, SecretAccessKey, Token, Expiration}; the
 * IMDS one also has Code). ERR_UPSTREAM when it is not one. */
static enum err_code creds_from_json(const struct net_response *resp, bool imds,
                                     struct cloud_creds *out, struct err *err)
{
    json_t *doc = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *id, *secret, *token, *exp, *code;
    enum err_code rc = ERR_OK;

    memset(out, 0, sizeof *out);
    if (!json_is_object(doc)) {
        rc = err_set(err, ERR_UPSTREAM, "the credentials answer is not a JSON object");
        goto out;
    }
    code = json_string_value(json_object_get(doc, "Code"));
    if (imds && (code == NULL || strcmp(code, "Success") != 0)) {
        rc = err_set(err, ERR_UPSTREAM, "the instance metadata service did not answer Success");
        goto out;
    }
    id = json_string_value(json_object_get(doc, "AccessKeyId"));
    secret = json_string_value(json_object_get(doc, "SecretAccessKey"));
    token = json_string_value(json_object_get(doc, "Token"));
    exp = json_string_value(json_object_get(doc, "Expiration"));
    if (id == NULL || secret == NULL || id[0] == '\0' || secret[0] == '\0' ||
        strlen(id) >= sizeof out->access_key_id ||
        strlen(secret) >= sizeof out->secret_access_key) {
        rc = err_set(err, ERR_UPSTREAM,
                     "the credentials answer lacks AccessKeyId or SecretAccessKey");
        goto out;
    }
    if (exp != NULL && !parse_expiration(exp, &out->expires)) {
        rc = err_set(err, ERR_UPSTREAM, "the credentials answer has an unreadable Expiration");
        goto out;
    }
    snprintf(out->access_key_id, sizeof out->access_key_id, "%s", id);
    snprintf(out->secret_access_key, sizeof out->secret_access_key, "%s", secret);
    if (token != NULL && token[0] != '\0') {
        out->session_token = strdup(token);
        if (out->session_token == NULL)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
out:
    /* jansson's copies of the secrets cannot be wiped through its API; json_decref frees them. */
    json_decref(doc);
    if (rc != ERR_OK)
        cloud_creds_clear(out);
    return rc;
}

/* AWS allows a full container credentials URI only over https, or over http to loopback or the
 * ECS (169.254.170.2) and EKS Pod Identity (169.254.170.23, fd00:ec2::23) agents: anything else
 * could send the authorization token to a stranger. */
static bool container_uri_allowed(const char *uri)
{
    const char *host, *end;
    char name[64];
    size_t n;
    struct in_addr a4;

    if (strncasecmp(uri, "https://", 8) == 0)
        return strlen(uri) > 8;
    if (strncasecmp(uri, "http://", 7) != 0)
        return false;
    host = uri + 7;
    end = host + strcspn(host, "/?#");
    if (memchr(host, '@', (size_t)(end - host)) != NULL)
        return false; /* userinfo: the host is not what it seems */
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL)
            return false;
        n = (size_t)(close - host - 1);
        host++;
    } else {
        n = strcspn(host, ":/?#");
    }
    if (n == 0 || n >= sizeof name)
        return false;
    memcpy(name, host, n);
    name[n] = '\0';
    if (strcasecmp(name, "localhost") == 0 || strcmp(name, "::1") == 0 ||
        strcasecmp(name, "fd00:ec2::23") == 0 || strcmp(name, "169.254.170.2") == 0 ||
        strcmp(name, "169.254.170.23") == 0)
        return true;
    return inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* The Authorization header value: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read each time: EKS
 * rotates it) before AWS_CONTAINER_AUTHORIZATION_TOKEN. *out is NULL when neither is set. */
static enum err_code container_auth(char **out, struct err *err)
{
    const char *path = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *v = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char *tok = NULL;
    size_t len;

    *out = NULL;
    if (path != NULL) {
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return err_set(err, ERR_UNAVAILABLE,
                           "the container authorization token file is unreadable");
        tok = calloc(1, CREDS_MAX_AUTH_TOKEN + 1);
        if (tok == NULL) {
            fclose(f);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
        len = fread(tok, 1, CREDS_MAX_AUTH_TOKEN + 1, f);
        fclose(f);
        if (len > CREDS_MAX_AUTH_TOKEN) {
            OPENSSL_cleanse(tok, CREDS_MAX_AUTH_TOKEN + 1);
            free(tok);
            return err_set(err, ERR_UNAVAILABLE, "the container authorization token is too long");
        }
        tok[len] = '\0';
        while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' '))
            tok[--len] = '\0';
    } else if (v != NULL) {
        if (strlen(v) > CREDS_MAX_AUTH_TOKEN)
            return err_set(err, ERR_UNAVAILABLE, "the container authorization token is too long");
        tok = strdup(v);
        if (tok == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
    } else {
        return ERR_OK;
    }
    /* A header value: no control characters (no header injection), not empty. */
    for (const char *p = tok; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            OPENSSL_cleanse(tok, strlen(tok));
            free(tok);
            return err_set(err, ERR_UNAVAILABLE, "the container authorization token is malformed");
        }
    }
    if (tok[0] == '\0') {
        free(tok);
        return err_set(err, ERR_UNAVAILABLE, "the container authorization token is empty");
    }
    *out = tok;
    return ERR_OK;
}

static void free_secret(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

/* Container credentials endpoint. ERR_NOT_FOUND when it is not configured. */
static enum err_code from_container(struct cloud_creds *out, struct err *err)
{
    const char *rel = env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    char *url = NULL, *tok = NULL, *hdr = NULL;
    const char *hdrs[2] = {NULL, NULL};
    struct net_request req;
    struct net_response resp;
    enum err_code rc;
    size_t n;

    memset(&resp, 0, sizeof resp);
    if (rel != NULL) {
        if (rel[0] != '/')
            return err_set(err, ERR_UNAVAILABLE,
                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not start with '/'");
        n = strlen(CONTAINER_HOST) + strlen(rel) + 1;
        url = malloc(n);
        if (url == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
        snprintf(url, n, "%s%s", CONTAINER_HOST, rel);
    } else if (full != NULL) {
        if (!container_uri_allowed(full))
            return err_set(err, ERR_UNAVAILABLE,
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to loopback, "
                           "169.254.170.2 or 169.254.170.23");
        url = strdup(full);
        if (url == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
    } else {
        return err_set(err, ERR_NOT_FOUND, "not configured");
    }
    rc = container_auth(&tok, err);
    if (rc != ERR_OK)
        goto out;
    if (tok != NULL) {
        n = strlen(tok) + sizeof "Authorization: ";
        hdr = malloc(n);
        if (hdr == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(hdr, n, "Authorization: %s", tok);
        hdrs[0] = hdr;
    }
    req = (struct net_request){.method = "GET",
                               .url = url,
                               .headers = hdrs,
                               .timeout_ms = CREDS_TIMEOUT_MS,
                               .max_response = CREDS_MAX_RESPONSE};
    rc = net_do(&req, &resp, err);
    if (rc != ERR_OK)
        goto out;
    if (resp.status != 200) {
        rc = err_set(err, ERR_UPSTREAM, "the container credentials endpoint answered HTTP %ld",
                     resp.status);
        goto out;
    }
    rc = creds_from_json(&resp, false, out, err);
out:
    wipe_response(&resp);
    free_secret(hdr);
    free_secret(tok);
    free(url);
    return rc;
}

/* One IMDS request within the source's deadline; 200 or ERR_UPSTREAM. */
static enum err_code imds_call(const char *method, const char *base, const char *path,
                               const char *header, long long deadline, struct net_response *resp,
                               struct err *err)
{
    char url[512];
    const char *hdrs[2] = {header, NULL};
    struct net_request req;
    enum err_code rc;
    int n = snprintf(url, sizeof url, "%s%s", base, path);

    memset(resp, 0, sizeof *resp);
    if (n < 0 || (size_t)n >= sizeof url)
        return err_set(err, ERR_UNAVAILABLE, "the instance metadata URL is too long");
    req = (struct net_request){.method = method,
                               .url = url,
                               .headers = hdrs,
                               .timeout_ms = left_ms(deadline),
                               .max_response = CREDS_MAX_RESPONSE};
    rc = net_do(&req, resp, err);
    if (rc == ERR_OK && resp->status != 200) {
        rc = err_set(err, ERR_UPSTREAM, "the instance metadata service answered HTTP %ld to %s %s",
                     resp->status, method, path);
        wipe_response(resp);
    }
    return rc;
}

/* IAM role names: [\w+=,.@-]{1,64}; checked because the name goes into a URL path. */
static bool role_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && strchr("_+=,.@-", s[i]) == NULL)
            return false;
    }
    return true;
}

/* EC2 instance metadata, IMDSv2. ERR_NOT_FOUND when disabled. */
static enum err_code from_imds(struct cloud_creds *out, struct err *err)
{
    static const char creds_path[] = "/latest/meta-data/iam/security-credentials/";
    const char *disabled = env_get("AWS_EC2_METADATA_DISABLED");
    const char *ep = env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char base[256], path[sizeof creds_path + 64], *hdr = NULL;
    struct net_response resp;
    long long deadline = now_ms() + CREDS_TIMEOUT_MS;
    enum err_code rc;
    size_t n;

    memset(&resp, 0, sizeof resp);
    if (disabled != NULL && strcasecmp(disabled, "true") == 0)
        return err_set(err, ERR_NOT_FOUND, "disabled");
    if (ep == NULL)
        ep = IMDS_DEFAULT_ENDPOINT;
    if ((strncasecmp(ep, "http://", 7) != 0 && strncasecmp(ep, "https://", 8) != 0) ||
        strlen(ep) >= sizeof base)
        return err_set(err, ERR_UNAVAILABLE,
                       "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http URL");
    snprintf(base, sizeof base, "%s", ep);
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        base[--n] = '\0';

    rc = imds_call("PUT", base, "/latest/api/token",
                   "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL_S, deadline, &resp, err);
    if (rc != ERR_OK)
        goto out;
    n = resp.body_len;
    while (n > 0 && isspace((unsigned char)resp.body[n - 1]))
        n--;
    if (n == 0 || memchr(resp.body, '\n', n) != NULL || memchr(resp.body, '\r', n) != NULL) {
        rc = err_set(err, ERR_UPSTREAM, "the instance metadata service gave a malformed token");
        goto out;
    }
    hdr = malloc(n + sizeof "X-aws-ec2-metadata-token: ");
    if (hdr == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(hdr, n + sizeof "X-aws-ec2-metadata-token: ", "X-aws-ec2-metadata-token: %.*s", (int)n,
             resp.body);
    wipe_response(&resp);

    rc = imds_call("GET", base, creds_path, hdr, deadline, &resp, err);
    if (rc != ERR_OK)
        goto out;
    n = strcspn(resp.body, "\r\n");
    if (!role_name_ok(resp.body, n)) {
        rc = err_set(err, ERR_UPSTREAM, "the instance has no usable IAM role");
        goto out;
    }
    snprintf(path, sizeof path, "%s%.*s", creds_path, (int)n, resp.body);
    wipe_response(&resp);

    rc = imds_call("GET", base, path, hdr, deadline, &resp, err);
    if (rc != ERR_OK)
        goto out;
    rc = creds_from_json(&resp, true, out, err);
out:
    wipe_response(&resp);
    free_secret(hdr);
    return rc;
}

static enum err_code from_env(struct cloud_creds *out, struct err *err)
{
    if (env_get("AWS_ACCESS_KEY_ID") == NULL && env_get("AWS_SECRET_ACCESS_KEY") == NULL)
        return err_set(err, ERR_NOT_FOUND, "not configured");
    return cloud_creds_from_env(out, err);
}

/* The chain, in the AWS SDKs' order. A source answers ERR_NOT_FOUND when it is not configured. */
static const struct {
    const char *name;
    enum err_code (*fetch)(struct cloud_creds *out, struct err *err);
} sources[] = {
    {"env", from_env},
    {"container", from_container},
    {"imds", from_imds},
};

enum err_code cloud_creds_default(struct cloud_creds *out, char source[16], struct err *err)
{
    struct err e;

    memset(out, 0, sizeof *out);
    if (source != NULL)
        source[0] = '\0';
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        enum err_code rc;

        memset(&e, 0, sizeof e);
        rc = sources[i].fetch(out, &e);
        if (rc == ERR_OK) {
            if (source != NULL)
                snprintf(source, 16, "%s", sources[i].name);
            log_event(LOG_INFO, NULL, "aws.credentials", "{s:s}", "source", sources[i].name);
            return ERR_OK;
        }
        cloud_creds_clear(out);
        if (rc == ERR_NOMEM)
            return err_set(err, rc, "%s", e.detail);
        if (rc != ERR_NOT_FOUND)
            log_event(LOG_WARN, NULL, "aws.credentials.skipped", "{s:s, s:s}", "source",
                      sources[i].name, "reason", e.detail);
    }
    return err_set(err, ERR_UNAVAILABLE, "Parapet's AWS identity is not configured");
}
