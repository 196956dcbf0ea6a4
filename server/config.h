/* config - the process configuration, read once from the environment (twelve-factor) and
 * validated as a whole: config_load() reports every bad value, one clear line each, not just the
 * first. The struct is filled at start-up and read-only afterwards (safe to share across
 * threads). config_free() wipes key material. */
#ifndef PARAPET_CONFIG_H
#define PARAPET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_CIDRS 32

struct config_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix;
};

struct config {
    char *database_url;       /* application role; required for serve */
    char *database_owner_url; /* migrations; defaults to database_url */
    char listen_host[64];     /* numeric address */
    uint16_t listen_port;
    bool has_secret_key;
    unsigned char secret_key[32]; /* PARAPET_SECRET_KEY, base64 of 32 bytes */
    bool has_secret_key_previous;
    unsigned char secret_key_previous[32]; /* PARAPET_SECRET_KEY_PREVIOUS: opens older secrets */
    char *jwt_key;                /* PARAPET_JWT_KEY: a PEM value or a path to one */
    char *jwt_key_previous;       /* PARAPET_JWT_KEY_PREVIOUS: verify-only, during rotation */
    char aws_account_id[13];      /* PARAPET_AWS_ACCOUNT_ID: the account customers' roles trust */
    char *template_url;           /* PARAPET_TEMPLATE_URL: the hosted onboarding template (https) */
    int log_level;                /* enum log_level */
    struct config_cidr egress_allow[CONFIG_MAX_CIDRS];
    size_t egress_allow_count;
    unsigned http_threads;      /* PARAPET_HTTP_THREADS, default max(2, cores) */
    unsigned workers;           /* PARAPET_WORKERS, default 2 */
    size_t max_body;            /* PARAPET_MAX_BODY bytes, default 1 MiB */
    unsigned conn_limit;        /* PARAPET_CONN_LIMIT, default 1024 */
    unsigned per_ip_limit;      /* PARAPET_PER_IP_LIMIT, default 256 */
    unsigned conn_timeout;      /* PARAPET_CONN_TIMEOUT seconds, default 30 */
    unsigned db_pool_extra;     /* spare connections beyond threads + workers */
    bool migrate_on_start;      /* PARAPET_MIGRATE, default true */
    unsigned job_poll_ms;       /* PARAPET_JOB_POLL_MS, default 500 */
    unsigned job_lease_s;       /* PARAPET_JOB_LEASE_S, default 300 */
    unsigned heartbeat_period_s; /* PARAPET_HEARTBEAT_PERIOD_S, default 60 */
    unsigned retention_days;     /* PARAPET_RETENTION_DAYS, default 7 */
    unsigned scan_parallel;      /* PARAPET_SCAN_PARALLEL: AWS calls in flight per scan, default 32 */
    unsigned scan_schedule_s;    /* PARAPET_SCAN_SCHEDULE_S: how often due scans are queued, 60 */
    unsigned max_code_mb;        /* PARAPET_MAX_CODE_MB: largest package read, default 50 */
    char *advisory_dir;          /* PARAPET_ADVISORY_DIR: OSV advisories; unset = no dep scan */
    unsigned notify_poll_ms;     /* PARAPET_NOTIFY_POLL_MS, default 200 */
    unsigned notify_concurrency; /* PARAPET_NOTIFY_CONCURRENCY, default 64 */
    unsigned notify_retry_base_ms; /* PARAPET_NOTIFY_RETRY_BASE_MS, default 2000 */
    unsigned notify_retry_cap_s;   /* PARAPET_NOTIFY_RETRY_CAP_S, default 900 */
    unsigned notify_max_attempts;  /* PARAPET_NOTIFY_MAX_ATTEMPTS, default 12 */
    unsigned notify_timeout_ms;    /* PARAPET_NOTIFY_TIMEOUT_MS, default 10000 */
    char *dashboard_url;           /* PARAPET_DASHBOARD_URL: links in notifications */
    char *metrics_token;           /* PARAPET_METRICS_TOKEN: /metrics needs it as a bearer token */
    unsigned event_retention_days; /* PARAPET_EVENT_RETENTION_DAYS, default 30 */
};

/* Reads the environment into c (zeroed first). Each problem is written as one line to errors;
 * returns the number of problems (0 = valid). need_db: whether DATABASE_URL is required. */
unsigned config_load(struct config *c, bool need_db, FILE *errors);

/* Frees owned strings and wipes the key material. NULL-safe. */
void config_free(struct config *c);

/* Parses "a.b.c.d/n" or "v6/n"; false when invalid. */
bool config_parse_cidr(const char *s, struct config_cidr *out);

/* Parses a list of CIDRs separated by commas or spaces into out[max]; false on any bad entry,
 * naming it in bad[badlen]. */
bool config_parse_cidr_list(const char *s, struct config_cidr *out, size_t max, size_t *count,
                            char *bad, size_t badlen);

/* Parses "host:port" or "[v6]:port" (host numeric or "localhost"); false when invalid. */
bool config_parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port);

/* Parses a decimal unsigned within [min, max]; false on anything else. */
bool config_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
