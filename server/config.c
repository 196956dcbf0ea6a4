#include "server/config.h"

#include "server/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

bool config_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool config_parse_cidr(const char *s, struct config_cidr *out)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    unsigned long prefix;

    if (alen == 0 || alen >= sizeof addr)
        return false;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, addr, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, addr, out->addr) == 1)
        out->family = AF_INET6;
    else
        return false;
    if (slash == NULL) {
        out->prefix = out->family == AF_INET ? 32 : 128;
        return true;
    }
    if (!config_parse_uint(slash + 1, 0, out->family == AF_INET ? 32 : 128, &prefix))
        return false;
    out->prefix = (unsigned)prefix;
    return true;
}

bool config_parse_cidr_list(const char *s, struct config_cidr *out, size_t max, size_t *count,
                            char *bad, size_t badlen)
{
    const char *p = s;

    *count = 0;
    while (*p != '\0') {
        char item[80];
        size_t n = strcspn(p, ", ");
        if (n == 0) {
            p++;
            continue;
        }
        if (n >= sizeof item || *count >= max) {
            snprintf(bad, badlen, "%.*s", (int)(n > 60 ? 60 : n), p);
            return false;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (!config_parse_cidr(item, &out[*count])) {
            snprintf(bad, badlen, "%s", item);
            return false;
        }
        (*count)++;
        p += n;
    }
    return true;
}

bool config_parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    unsigned long p;
    unsigned char tmp[16];

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return false;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return false;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostlen, "127.0.0.1");
    if (inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1)
        return false;
    if (!config_parse_uint(colon + 1, 0, 65535, &p))
        return false;
    *port = (uint16_t)p;
    return true;
}

static char *dup_env(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? strdup(v) : NULL;
}

struct uint_setting {
    const char *name;
    unsigned long min, max, def;
    size_t offset; /* of an unsigned field in struct config */
};

static const struct uint_setting uint_settings[] = {
    {"PARAPET_WORKERS", 0, 64, 2, offsetof(struct config, workers)},
    {"PARAPET_CONN_LIMIT", 16, 100000, 1024, offsetof(struct config, conn_limit)},
    {"PARAPET_PER_IP_LIMIT", 1, 100000, 256, offsetof(struct config, per_ip_limit)},
    {"PARAPET_CONN_TIMEOUT", 1, 3600, 30, offsetof(struct config, conn_timeout)},
    {"PARAPET_JOB_POLL_MS", 10, 60000, 500, offsetof(struct config, job_poll_ms)},
    {"PARAPET_JOB_LEASE_S", 1, 86400, 300, offsetof(struct config, job_lease_s)},
    {"PARAPET_HEARTBEAT_PERIOD_S", 1, 86400, 60, offsetof(struct config, heartbeat_period_s)},
    {"PARAPET_RETENTION_DAYS", 1, 3650, 7, offsetof(struct config, retention_days)},
    {"PARAPET_SCAN_PARALLEL", 1, 64, 32, offsetof(struct config, scan_parallel)},
    {"PARAPET_SCAN_SCHEDULE_S", 1, 3600, 60, offsetof(struct config, scan_schedule_s)},
    {"PARAPET_MAX_CODE_MB", 1, 250, 50, offsetof(struct config, max_code_mb)},
    {"PARAPET_NOTIFY_POLL_MS", 10, 60000, 200, offsetof(struct config, notify_poll_ms)},
    {"PARAPET_NOTIFY_CONCURRENCY", 1, 1024, 64, offsetof(struct config, notify_concurrency)},
    {"PARAPET_NOTIFY_RETRY_BASE_MS", 10, 600000, 2000,
     offsetof(struct config, notify_retry_base_ms)},
    {"PARAPET_NOTIFY_RETRY_CAP_S", 1, 86400, 900, offsetof(struct config, notify_retry_cap_s)},
    {"PARAPET_NOTIFY_MAX_ATTEMPTS", 1, 100, 12, offsetof(struct config, notify_max_attempts)},
    {"PARAPET_NOTIFY_TIMEOUT_MS", 100, 120000, 10000, offsetof(struct config, notify_timeout_ms)},
    {"PARAPET_EVENT_RETENTION_DAYS", 1, 3650, 30, offsetof(struct config, event_retention_days)},
};

static unsigned load_secret_key(const char *name, const char *v, unsigned char key[32],
                                bool *has, FILE *errors)
{
    unsigned char buf[64];
    size_t n = strlen(v);
    int out;

    /* 32 bytes are exactly 44 base64 characters with one '=' of padding. */
    if (n != 44) {
        fprintf(errors, "%s: expected base64 of 32 bytes (44 characters), got %zu characters\n",
                name, n);
        return 1;
    }
    /* EVP_DecodeBlock reads '=' anywhere as zero bits: accept the alphabet only, then one pad. */
    if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 43) {
        fprintf(errors, "%s: not valid base64 of 32 bytes\n", name);
        return 1;
    }
    out = EVP_DecodeBlock(buf, (const unsigned char *)v, (int)n);
    /* EVP_DecodeBlock counts padding as data: 44 chars -> 33 bytes, the last one a pad. */
    if (out != 33 || v[43] != '=' || v[42] == '=') {
        OPENSSL_cleanse(buf, sizeof buf);
        fprintf(errors, "%s: not valid base64 of 32 bytes\n", name);
        return 1;
    }
    memcpy(key, buf, 32);
    *has = true;
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

unsigned config_load(struct config *c, bool need_db, FILE *errors)
{
    unsigned bad = 0;
    const char *v;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long n;
    enum log_level level = LOG_INFO;

    memset(c, 0, sizeof *c);
    c->database_url = dup_env("DATABASE_URL");
    c->database_owner_url = dup_env("DATABASE_OWNER_URL");
    if (c->database_owner_url == NULL && c->database_url != NULL)
        c->database_owner_url = strdup(c->database_url);
    if (need_db && c->database_url == NULL) {
        fprintf(errors, "DATABASE_URL: required (a libpq URI such as "
                        "postgresql://parapet@127.0.0.1:5432/parapet)\n");
        bad++;
    }

    v = getenv("PARAPET_LISTEN");
    if (v == NULL || v[0] == '\0')
        v = "127.0.0.1:8080";
    if (!config_parse_listen(v, c->listen_host, sizeof c->listen_host, &c->listen_port)) {
        fprintf(errors, "PARAPET_LISTEN: expected host:port with a numeric host (e.g. "
                        "127.0.0.1:8080 or [::1]:8080), got '%.64s'\n",
                v);
        bad++;
    }

    v = getenv("PARAPET_SECRET_KEY");
    if (v != NULL && v[0] != '\0')
        bad += load_secret_key("PARAPET_SECRET_KEY", v, c->secret_key, &c->has_secret_key,
                               errors);
    v = getenv("PARAPET_SECRET_KEY_PREVIOUS");
    if (v != NULL && v[0] != '\0')
        bad += load_secret_key("PARAPET_SECRET_KEY_PREVIOUS", v, c->secret_key_previous,
                               &c->has_secret_key_previous, errors);

    c->jwt_key = dup_env("PARAPET_JWT_KEY");
    c->jwt_key_previous = dup_env("PARAPET_JWT_KEY_PREVIOUS");

    v = getenv("PARAPET_AWS_ACCOUNT_ID");
    if (v != NULL && v[0] != '\0') {
        if (strlen(v) == 12 && strspn(v, "0123456789") == 12) {
            memcpy(c->aws_account_id, v, 13);
        } else {
            fprintf(errors, "PARAPET_AWS_ACCOUNT_ID: expected a 12-digit AWS account id, got "
                            "'%.32s'\n",
                    v);
            bad++;
        }
    }
    c->dashboard_url = dup_env("PARAPET_DASHBOARD_URL");
    if (c->dashboard_url != NULL &&
        (strncmp(c->dashboard_url, "http", 4) != 0 || strlen(c->dashboard_url) > 512)) {
        fprintf(errors, "PARAPET_DASHBOARD_URL: expected an http(s) URL of at most 512 "
                        "characters\n");
        bad++;
    }
    c->metrics_token = dup_env("PARAPET_METRICS_TOKEN");
    if (c->metrics_token != NULL &&
        (strlen(c->metrics_token) < 16 || strlen(c->metrics_token) > 256 ||
         strspn(c->metrics_token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-._~+/=") != strlen(c->metrics_token))) {
        fprintf(errors, "PARAPET_METRICS_TOKEN: expected 16-256 characters of a bearer token "
                        "(letters, digits, -._~+/=)\n");
        bad++;
    }
    c->template_url = dup_env("PARAPET_TEMPLATE_URL");
    if (c->template_url != NULL &&
        (strncmp(c->template_url, "https://", 8) != 0 || strlen(c->template_url) > 1024)) {
        fprintf(errors, "PARAPET_TEMPLATE_URL: expected an https URL of at most 1024 characters\n");
        bad++;
    }

    c->advisory_dir = dup_env("PARAPET_ADVISORY_DIR");

    v = getenv("PARAPET_LOG_LEVEL");
    if (v != NULL && v[0] != '\0' && !log_level_parse(v, &level)) {
        fprintf(errors, "PARAPET_LOG_LEVEL: expected debug, info, warn or error, got '%.32s'\n",
                v);
        bad++;
    }
    c->log_level = (int)level;

    v = getenv("PARAPET_EGRESS_ALLOW");
    if (v != NULL && v[0] != '\0') {
        char which[80];
        if (!config_parse_cidr_list(v, c->egress_allow, CONFIG_MAX_CIDRS, &c->egress_allow_count,
                                    which, sizeof which)) {
            fprintf(errors, "PARAPET_EGRESS_ALLOW: '%s' is not a CIDR (e.g. 127.0.0.0/8), or "
                            "more than %d ranges\n",
                    which, CONFIG_MAX_CIDRS);
            bad++;
        }
    }

    c->http_threads = cores > 2 ? (unsigned)cores : 2;
    v = getenv("PARAPET_HTTP_THREADS");
    if (v != NULL && v[0] != '\0') {
        if (config_parse_uint(v, 1, 256, &n)) {
            c->http_threads = (unsigned)n;
        } else {
            fprintf(errors, "PARAPET_HTTP_THREADS: expected an integer 1-256, got '%.32s'\n", v);
            bad++;
        }
    }

    c->max_body = 1024 * 1024;
    v = getenv("PARAPET_MAX_BODY");
    if (v != NULL && v[0] != '\0') {
        if (config_parse_uint(v, 1024, 64UL * 1024 * 1024, &n)) {
            c->max_body = n;
        } else {
            fprintf(errors, "PARAPET_MAX_BODY: expected bytes between 1024 and 67108864, got "
                            "'%.32s'\n",
                    v);
            bad++;
        }
    }

    for (size_t i = 0; i < sizeof uint_settings / sizeof uint_settings[0]; i++) {
        const struct uint_setting *s = &uint_settings[i];
        unsigned *field = (unsigned *)((char *)c + s->offset);
        *field = (unsigned)s->def;
        v = getenv(s->name);
        if (v == NULL || v[0] == '\0')
            continue;
        if (config_parse_uint(v, s->min, s->max, &n)) {
            *field = (unsigned)n;
        } else {
            fprintf(errors, "%s: expected an integer %lu-%lu, got '%.32s'\n", s->name, s->min,
                    s->max, v);
            bad++;
        }
    }

    c->migrate_on_start = true;
    v = getenv("PARAPET_MIGRATE");
    if (v != NULL && v[0] != '\0') {
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) {
            c->migrate_on_start = true;
        } else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) {
            c->migrate_on_start = false;
        } else {
            fprintf(errors, "PARAPET_MIGRATE: expected true or false, got '%.32s'\n", v);
            bad++;
        }
    }
    c->db_pool_extra = 2;
    return bad;
}

void config_free(struct config *c)
{
    if (c == NULL)
        return;
    free(c->database_url);
    free(c->database_owner_url);
    if (c->jwt_key != NULL) {
        OPENSSL_cleanse(c->jwt_key, strlen(c->jwt_key));
        free(c->jwt_key);
    }
    free(c->template_url);
    free(c->advisory_dir);
    free(c->dashboard_url);
    if (c->metrics_token != NULL) {
        OPENSSL_cleanse(c->metrics_token, strlen(c->metrics_token));
        free(c->metrics_token);
    }
    OPENSSL_cleanse(c->secret_key_previous, sizeof c->secret_key_previous);
    if (c->jwt_key_previous != NULL) {
        OPENSSL_cleanse(c->jwt_key_previous, strlen(c->jwt_key_previous));
        free(c->jwt_key_previous);
    }
    OPENSSL_cleanse(c->secret_key, sizeof c->secret_key);
    memset(c, 0, sizeof *c);
}
