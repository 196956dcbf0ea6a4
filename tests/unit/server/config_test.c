/* Unit tests for server/config.h: the value parsers and config_load() over the environment, which
 * must report every bad variable by name, not just the first. */
#include "server/config.h"

#include "server/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A valid PARAPET_SECRET_KEY: base64 of the bytes 0..31. */
#define KEY_OK "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static const char *const env_vars[] = {
    "DATABASE_URL",           "DATABASE_OWNER_URL",
    "PARAPET_LISTEN",         "PARAPET_SECRET_KEY",
    "PARAPET_JWT_KEY",        "PARAPET_LOG_LEVEL",
    "PARAPET_EGRESS_ALLOW",   "PARAPET_HTTP_THREADS",
    "PARAPET_MAX_BODY",       "PARAPET_WORKERS",
    "PARAPET_CONN_LIMIT",     "PARAPET_PER_IP_LIMIT",
    "PARAPET_CONN_TIMEOUT",   "PARAPET_JOB_POLL_MS",
    "PARAPET_JOB_LEASE_S",    "PARAPET_HEARTBEAT_PERIOD_S",
    "PARAPET_RETENTION_DAYS", "PARAPET_MIGRATE",
    "PARAPET_SECRET_KEY_PREVIOUS", "PARAPET_NOTIFY_CONCURRENCY",
    "PARAPET_NOTIFY_POLL_MS", "PARAPET_NOTIFY_MAX_ATTEMPTS",
    "PARAPET_NOTIFY_TIMEOUT_MS", "PARAPET_DASHBOARD_URL",
    "PARAPET_METRICS_TOKEN",
};

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++)
        unsetenv(env_vars[i]);
    return 0;
}

/* Runs config_load into c, capturing the problem lines into *msgs (caller frees). */
static unsigned load(struct config *c, bool need_db, char **msgs)
{
    size_t len = 0;
    FILE *f = open_memstream(msgs, &len);
    unsigned bad;

    assert_non_null(f);
    bad = config_load(c, need_db, f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(*msgs);
    return bad;
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; *s != '\0'; s++)
        if (*s == '\n')
            n++;
    return n;
}

/* Loads with one variable set to value (and DATABASE_URL), expecting exactly one problem that
 * names the variable. */
static void expect_one_problem(const char *var, const char *value)
{
    struct config c;
    char *msgs = NULL;
    char shown[512];
    unsigned bad;
    unsigned lines;
    bool named;

    setenv("DATABASE_URL", "postgresql://u@127.0.0.1/db", 1);
    setenv(var, value, 1);
    bad = load(&c, true, &msgs);
    named = strstr(msgs, var) != NULL;
    lines = count_lines(msgs);
    snprintf(shown, sizeof shown, "%s", msgs);
    /* Release before asserting, so a failure does not also show up as a leak. */
    free(msgs);
    config_free(&c);
    unsetenv(var);
    if (bad != 1)
        fail_msg("%s='%s': %u problems: %s", var, value, bad, shown);
    if (!named)
        fail_msg("%s='%s': message does not name it: %s", var, value, shown);
    assert_int_equal(lines, 1);
}

/* Loads with one variable set to value, expecting no problem. */
static void expect_accepted(const char *var, const char *value, struct config *c)
{
    char *msgs = NULL;
    unsigned bad;

    setenv("DATABASE_URL", "postgresql://u@127.0.0.1/db", 1);
    setenv(var, value, 1);
    bad = load(c, true, &msgs);
    if (bad != 0)
        fail_msg("%s='%s' should be accepted: %s", var, value, msgs);
    assert_string_equal(msgs, "");
    free(msgs);
    unsetenv(var);
}

/* ---- config_parse_uint ---- */

static void test_uint_accepts_decimal_within_bounds(void **state)
{
    unsigned long v = 99;
    (void)state;

    assert_true(config_parse_uint("0", 0, 10, &v));
    assert_int_equal(v, 0);
    assert_true(config_parse_uint("10", 0, 10, &v));
    assert_int_equal(v, 10);
    assert_true(config_parse_uint("5", 5, 5, &v));
    assert_int_equal(v, 5);
    assert_true(config_parse_uint("007", 0, 10, &v));
    assert_int_equal(v, 7);
    assert_true(config_parse_uint("4294967295", 0, 4294967295UL, &v));
    assert_int_equal(v, 4294967295UL);
}

static void test_uint_rejects_out_of_bounds_and_junk(void **state)
{
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "1.0", "0x10", "1e3", "abc", "11", "99999999999999999999999",
    };
    unsigned long v = 1234;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_parse_uint(bad[i], 0, 10, &v))
            fail_msg("'%s' should be rejected", bad[i]);
    }
    assert_false(config_parse_uint("4", 5, 10, &v));
    assert_false(config_parse_uint(NULL, 0, 10, &v));
    assert_int_equal(v, 1234); /* untouched on failure */
}

/* ---- config_parse_cidr ---- */

static void test_cidr_parses_ipv4_with_prefix(void **state)
{
    struct config_cidr c;
    static const unsigned char want[4] = {10, 1, 2, 0};
    (void)state;

    assert_true(config_parse_cidr("10.1.2.0/24", &c));
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 24);
    assert_memory_equal(c.addr, want, 4);
    assert_true(config_parse_cidr("0.0.0.0/0", &c));
    assert_int_equal(c.prefix, 0);
    assert_true(config_parse_cidr("192.168.1.1/32", &c));
    assert_int_equal(c.prefix, 32);
}

static void test_cidr_without_prefix_is_a_single_host(void **state)
{
    struct config_cidr c;
    (void)state;

    assert_true(config_parse_cidr("192.168.1.1", &c));
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 32);
    assert_true(config_parse_cidr("::1", &c));
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 128);
}

static void test_cidr_parses_ipv6_with_prefix(void **state)
{
    struct config_cidr c;
    static const unsigned char want[16] = {0x20, 0x01, 0x0d, 0xb8};
    (void)state;

    assert_true(config_parse_cidr("2001:db8::/32", &c));
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 32);
    assert_memory_equal(c.addr, want, 16);
    assert_true(config_parse_cidr("::/0", &c));
    assert_int_equal(c.prefix, 0);
    assert_true(config_parse_cidr("fe80::1/128", &c));
    assert_int_equal(c.prefix, 128);
}

static void test_cidr_rejects_prefix_out_of_bounds(void **state)
{
    struct config_cidr c;
    (void)state;

    assert_false(config_parse_cidr("10.0.0.0/33", &c));
    assert_false(config_parse_cidr("::1/129", &c));
    assert_false(config_parse_cidr("10.0.0.0/-1", &c));
    assert_false(config_parse_cidr("10.0.0.0/4294967304", &c)); /* 2^32 + 8 */
}

static void test_cidr_rejects_junk(void **state)
{
    static const char *const bad[] = {
        "",
        "/8",
        "10.0.0.0/",
        "10.0.0.0/8x",
        "10.0.0.0/ 8",
        "10.0.0.0 /8",
        "10.0.0.0/8/8",
        "10.0.0/8",
        "256.0.0.0/8",
        "nope",
        "example.com/8",
        "::g/64",
        "10.0.0.0/0x8",
        "1111111111111111111111111111111111111111111111111111111111111111111111.0.0.0/8",
    };
    struct config_cidr c;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_parse_cidr(bad[i], &c))
            fail_msg("'%s' should be rejected", bad[i]);
    }
}

/* ---- config_parse_cidr_list ---- */

static void test_cidr_list_accepts_commas_and_spaces(void **state)
{
    struct config_cidr out[8];
    size_t n = 99;
    char bad[80] = "";
    (void)state;

    assert_true(config_parse_cidr_list("10.0.0.0/8,192.168.0.0/16", out, 8, &n, bad, sizeof bad));
    assert_int_equal(n, 2);
    assert_int_equal(out[1].prefix, 16);
    assert_true(config_parse_cidr_list(" 10.0.0.0/8 , 192.168.0.0/16  ::1/128,,127.0.0.1 ", out, 8,
                                       &n, bad, sizeof bad));
    assert_int_equal(n, 4);
    assert_int_equal(out[2].family, AF_INET6);
    assert_int_equal(out[3].prefix, 32);
}

static void test_cidr_list_empty_is_empty(void **state)
{
    struct config_cidr out[2];
    size_t n = 99;
    char bad[80] = "";
    (void)state;

    assert_true(config_parse_cidr_list("", out, 2, &n, bad, sizeof bad));
    assert_int_equal(n, 0);
}

static void test_cidr_list_names_the_bad_entry(void **state)
{
    struct config_cidr out[8];
    size_t n;
    char bad[80] = "";
    (void)state;

    assert_false(config_parse_cidr_list("10.0.0.0/8, bogus/8,::1", out, 8, &n, bad, sizeof bad));
    assert_string_equal(bad, "bogus/8");
    assert_false(config_parse_cidr_list("10.0.0.0/8,10.0.0.0/99", out, 8, &n, bad, sizeof bad));
    assert_string_equal(bad, "10.0.0.0/99");
}

static void test_cidr_list_rejects_more_than_max(void **state)
{
    struct config_cidr out[2];
    size_t n;
    char bad[80] = "";
    (void)state;

    assert_true(config_parse_cidr_list("10.0.0.1,10.0.0.2", out, 2, &n, bad, sizeof bad));
    assert_int_equal(n, 2);
    assert_false(config_parse_cidr_list("10.0.0.1,10.0.0.2,10.0.0.3", out, 2, &n, bad, sizeof bad));
    assert_string_equal(bad, "10.0.0.3");
}

static void test_cidr_list_bounds_a_long_bad_entry(void **state)
{
    struct config_cidr out[2];
    size_t n;
    char list[300];
    char bad[16];
    (void)state;

    memset(list, 'x', 200);
    list[200] = '\0';
    memset(bad, '#', sizeof bad);
    assert_false(config_parse_cidr_list(list, out, 2, &n, bad, 8));
    assert_int_equal(strlen(bad), 7);
    assert_string_equal(bad, "xxxxxxx");
    for (size_t i = 8; i < sizeof bad; i++)
        assert_int_equal(bad[i], '#');
}

/* ---- config_parse_listen ---- */

static void test_listen_parses_ipv4_ipv6_and_localhost(void **state)
{
    char host[64];
    uint16_t port = 0;
    (void)state;

    assert_true(config_parse_listen("127.0.0.1:8080", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_true(config_parse_listen("[::1]:9", host, sizeof host, &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9);
    assert_true(config_parse_listen("localhost:80", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 80);
    assert_true(config_parse_listen("0.0.0.0:0", host, sizeof host, &port));
    assert_int_equal(port, 0);
    assert_true(config_parse_listen("[2001:db8::1]:65535", host, sizeof host, &port));
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 65535);
}

static void test_listen_rejects_malformed_values(void **state)
{
    static const char *const bad[] = {
        "8080",
        "host:",
        "1.2.3.4:70000",
        "example.com:80",
        "127.0.0.1:",
        ":80",
        "[::1]",
        "[::1]80",
        "[::1:80",
        "127.0.0.1:80x",
        "127.0.0.1:-1",
        "127.0.0.1: 80",
        "127.0.0.1:65536",
        "",
        "[]:80",
        "1.2.3:80",
        "localhost:",
        "localhostx:80",
    };
    char host[64];
    uint16_t port = 0;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_parse_listen(bad[i], host, sizeof host, &port))
            fail_msg("'%s' should be rejected", bad[i]);
    }
}

static void test_listen_rejects_a_host_longer_than_the_buffer(void **state)
{
    char host[8];
    uint16_t port = 0;
    (void)state;

    assert_false(config_parse_listen("127.0.0.1:80", host, sizeof host, &port));
}

/* ---- config_load ---- */

static void test_defaults_are_valid_with_database_url(void **state)
{
    struct config c;
    char *msgs = NULL;
    (void)state;

    setenv("DATABASE_URL", "postgresql://u@127.0.0.1/db", 1);
    assert_int_equal(load(&c, true, &msgs), 0);
    assert_string_equal(msgs, "");
    assert_string_equal(c.database_url, "postgresql://u@127.0.0.1/db");
    assert_string_equal(c.database_owner_url, "postgresql://u@127.0.0.1/db");
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_false(c.has_secret_key);
    assert_null(c.jwt_key);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_int_equal(c.egress_allow_count, 0);
    assert_true(c.http_threads >= 2);
    assert_int_equal(c.workers, 2);
    assert_int_equal(c.max_body, 1024 * 1024);
    assert_int_equal(c.conn_limit, 1024);
    assert_int_equal(c.per_ip_limit, 256);
    assert_int_equal(c.conn_timeout, 30);
    assert_true(c.migrate_on_start);
    assert_int_equal(c.job_poll_ms, 500);
    assert_int_equal(c.job_lease_s, 300);
    assert_int_equal(c.heartbeat_period_s, 60);
    assert_int_equal(c.retention_days, 7);
    free(msgs);
    config_free(&c);
}

static void test_owner_url_overrides_the_default(void **state)
{
    struct config c;
    char *msgs = NULL;
    (void)state;

    setenv("DATABASE_URL", "postgresql://app@h/db", 1);
    setenv("DATABASE_OWNER_URL", "postgresql://owner@h/db", 1);
    assert_int_equal(load(&c, true, &msgs), 0);
    assert_string_equal(c.database_owner_url, "postgresql://owner@h/db");
    free(msgs);
    config_free(&c);
}

static void test_missing_database_url_is_reported_when_needed(void **state)
{
    struct config c;
    char *msgs = NULL;
    (void)state;

    assert_int_equal(load(&c, true, &msgs), 1);
    assert_non_null(strstr(msgs, "DATABASE_URL"));
    assert_int_equal(count_lines(msgs), 1);
    free(msgs);
    config_free(&c);

    setenv("DATABASE_URL", "", 1); /* empty counts as missing */
    assert_int_equal(load(&c, true, &msgs), 1);
    free(msgs);
    config_free(&c);
}

static void test_missing_database_url_is_fine_when_not_needed(void **state)
{
    struct config c;
    char *msgs = NULL;
    (void)state;

    assert_int_equal(load(&c, false, &msgs), 0);
    assert_string_equal(msgs, "");
    assert_null(c.database_url);
    assert_null(c.database_owner_url);
    free(msgs);
    config_free(&c);
}

static void test_listen_is_read_from_the_environment(void **state)
{
    struct config c;
    (void)state;

    expect_accepted("PARAPET_LISTEN", "[::1]:9090", &c);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 9090);
    config_free(&c);
}

static void test_bad_listen_is_reported(void **state)
{
    (void)state;

    expect_one_problem("PARAPET_LISTEN", "8080");
    expect_one_problem("PARAPET_LISTEN", "example.com:80");
    expect_one_problem("PARAPET_LISTEN", "1.2.3.4:70000");
}

static void test_log_level_is_read_from_the_environment(void **state)
{
    struct config c;
    (void)state;

    expect_accepted("PARAPET_LOG_LEVEL", "debug", &c);
    assert_int_equal(c.log_level, LOG_DEBUG);
    config_free(&c);
    expect_accepted("PARAPET_LOG_LEVEL", "error", &c);
    assert_int_equal(c.log_level, LOG_ERROR);
    config_free(&c);
}

static void test_bad_log_level_is_reported(void **state)
{
    (void)state;

    expect_one_problem("PARAPET_LOG_LEVEL", "loud");
    expect_one_problem("PARAPET_LOG_LEVEL", "warning");
}

static void test_valid_secret_key_is_decoded(void **state)
{
    struct config c;
    (void)state;

    expect_accepted("PARAPET_SECRET_KEY", KEY_OK, &c);
    assert_true(c.has_secret_key);
    for (unsigned i = 0; i < 32; i++)
        assert_int_equal(c.secret_key[i], i);
    config_free(&c);
    assert_false(c.has_secret_key);
    for (unsigned i = 0; i < 32; i++)
        assert_int_equal(c.secret_key[i], 0);
}

static void test_bad_secret_key_is_reported(void **state)
{
    (void)state;

    /* 43 characters. */
    expect_one_problem("PARAPET_SECRET_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
    /* 45 characters. */
    expect_one_problem("PARAPET_SECRET_KEY", KEY_OK "A");
    /* 44 characters, but 31 bytes. */
    expect_one_problem("PARAPET_SECRET_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==");
    /* 44 characters, but 33 bytes. */
    expect_one_problem("PARAPET_SECRET_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g");
    /* 44 characters, not base64. */
    expect_one_problem("PARAPET_SECRET_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd!h8=");
    expect_one_problem("PARAPET_SECRET_KEY", "short");
}

/* BUG (server/config.c:158-160): EVP_DecodeBlock decodes '=' as zero bits wherever it appears,
 * and load_secret_key only checks the last two characters, so a value with padding in the middle
 * (not base64) is accepted as a key. Fails until the key is checked to be canonical base64. */
static void test_secret_key_with_padding_inside_is_rejected(void **state)
{
    (void)state;

    expect_one_problem("PARAPET_SECRET_KEY", "AAECAwQF=gcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
}

static void test_bad_secret_key_leaves_no_key(void **state)
{
    struct config c;
    char *msgs = NULL;
    (void)state;

    setenv("PARAPET_SECRET_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", 1);
    assert_int_equal(load(&c, false, &msgs), 1);
    assert_false(c.has_secret_key);
    /* The message must not echo the key material. */
    assert_null(strstr(msgs, "AAECAwQF"));
    free(msgs);
    config_free(&c);
}

static void test_egress_allow_is_read_from_the_environment(void **state)
{
    struct config c;
    (void)state;

    expect_accepted("PARAPET_EGRESS_ALLOW", "10.0.0.0/8, ::1/128", &c);
    assert_int_equal(c.egress_allow_count, 2);
    assert_int_equal(c.egress_allow[0].family, AF_INET);
    assert_int_equal(c.egress_allow[1].family, AF_INET6);
    config_free(&c);
}

static void test_bad_egress_allow_is_reported_naming_the_entry(void **state)
{
    struct config c;
    char *msgs = NULL;
    (void)state;

    setenv("PARAPET_EGRESS_ALLOW", "10.0.0.0/8,nope", 1);
    assert_int_equal(load(&c, false, &msgs), 1);
    assert_non_null(strstr(msgs, "PARAPET_EGRESS_ALLOW"));
    assert_non_null(strstr(msgs, "nope"));
    free(msgs);
    config_free(&c);
}

static void test_too_many_egress_ranges_are_reported(void **state)
{
    char list[1024];
    size_t p = 0;
    (void)state;

    for (int i = 0; i <= CONFIG_MAX_CIDRS; i++)
        p += (size_t)snprintf(list + p, sizeof list - p, "10.0.%d.0/24,", i);
    expect_one_problem("PARAPET_EGRESS_ALLOW", list);
}

static void test_workers_bounds_are_enforced(void **state)
{
    struct config c;
    (void)state;

    expect_accepted("PARAPET_WORKERS", "0", &c);
    assert_int_equal(c.workers, 0);
    config_free(&c);
    expect_accepted("PARAPET_WORKERS", "64", &c);
    assert_int_equal(c.workers, 64);
    config_free(&c);
    expect_one_problem("PARAPET_WORKERS", "65");
    expect_one_problem("PARAPET_WORKERS", "-1");
    expect_one_problem("PARAPET_WORKERS", "2x");
    expect_one_problem("PARAPET_WORKERS", "99999999999999999999");
}

static void test_notification_settings_are_checked(void **state)
{
    struct config c;
    (void)state;

    expect_accepted("PARAPET_SECRET_KEY_PREVIOUS", KEY_OK, &c);
    assert_true(c.has_secret_key_previous);
    assert_int_equal(c.secret_key_previous[31], 31);
    assert_int_equal(c.notify_concurrency, 64);
    assert_int_equal(c.notify_max_attempts, 12);
    config_free(&c);
    expect_accepted("PARAPET_NOTIFY_CONCURRENCY", "8", &c);
    assert_int_equal(c.notify_concurrency, 8);
    config_free(&c);
    expect_accepted("PARAPET_DASHBOARD_URL", "https://app.example.org", &c);
    assert_string_equal(c.dashboard_url, "https://app.example.org");
    config_free(&c);
    expect_one_problem("PARAPET_SECRET_KEY_PREVIOUS", "short");
    expect_one_problem("PARAPET_NOTIFY_CONCURRENCY", "0");
    expect_one_problem("PARAPET_NOTIFY_POLL_MS", "5");
    expect_one_problem("PARAPET_NOTIFY_MAX_ATTEMPTS", "0");
    expect_one_problem("PARAPET_NOTIFY_TIMEOUT_MS", "99");
    expect_one_problem("PARAPET_DASHBOARD_URL", "ftp://x");
    expect_accepted("PARAPET_METRICS_TOKEN", "prometheus-scrape-7f3a9c", &c);
    assert_string_equal(c.metrics_token, "prometheus-scrape-7f3a9c");
    config_free(&c);
    expect_one_problem("PARAPET_METRICS_TOKEN", "short");
    expect_one_problem("PARAPET_METRICS_TOKEN", "has spaces in the token value");
}

static void test_other_numeric_settings_are_range_checked(void **state)
{
    (void)state;

    expect_one_problem("PARAPET_HTTP_THREADS", "0");
    expect_one_problem("PARAPET_HTTP_THREADS", "257");
    expect_one_problem("PARAPET_MAX_BODY", "1023");
    expect_one_problem("PARAPET_CONN_LIMIT", "15");
    expect_one_problem("PARAPET_CONN_TIMEOUT", "0");
    expect_one_problem("PARAPET_JOB_POLL_MS", "9");
    expect_one_problem("PARAPET_RETENTION_DAYS", "3651");
    expect_one_problem("PARAPET_MIGRATE", "maybe");
}

static void test_migrate_flag_is_read(void **state)
{
    struct config c;
    (void)state;

    expect_accepted("PARAPET_MIGRATE", "false", &c);
    assert_false(c.migrate_on_start);
    config_free(&c);
    expect_accepted("PARAPET_MIGRATE", "1", &c);
    assert_true(c.migrate_on_start);
    config_free(&c);
}

static void test_every_bad_value_is_reported(void **state)
{
    static const char *const vars[] = {
        "DATABASE_URL",       "PARAPET_LISTEN",       "PARAPET_LOG_LEVEL",
        "PARAPET_SECRET_KEY", "PARAPET_EGRESS_ALLOW", "PARAPET_WORKERS",
    };
    struct config c;
    char *msgs = NULL;
    unsigned bad;
    (void)state;

    /* DATABASE_URL is missing. */
    setenv("PARAPET_LISTEN", "8080", 1);
    setenv("PARAPET_LOG_LEVEL", "loud", 1);
    setenv("PARAPET_SECRET_KEY", "short", 1);
    setenv("PARAPET_EGRESS_ALLOW", "nope", 1);
    setenv("PARAPET_WORKERS", "65", 1);
    bad = load(&c, true, &msgs);
    if (bad != 6)
        fail_msg("%u problems reported, want 6: %s", bad, msgs);
    assert_int_equal(count_lines(msgs), 6);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strstr(msgs, vars[i]) == NULL)
            fail_msg("%s is not named in: %s", vars[i], msgs);
    free(msgs);
    config_free(&c);
}

static void test_config_free_accepts_null(void **state)
{
    (void)state;

    config_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, clean_env, clean_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_uint_accepts_decimal_within_bounds),
        T(test_uint_rejects_out_of_bounds_and_junk),
        T(test_cidr_parses_ipv4_with_prefix),
        T(test_cidr_without_prefix_is_a_single_host),
        T(test_cidr_parses_ipv6_with_prefix),
        T(test_cidr_rejects_prefix_out_of_bounds),
        T(test_cidr_rejects_junk),
        T(test_cidr_list_accepts_commas_and_spaces),
        T(test_cidr_list_empty_is_empty),
        T(test_cidr_list_names_the_bad_entry),
        T(test_cidr_list_rejects_more_than_max),
        T(test_cidr_list_bounds_a_long_bad_entry),
        T(test_listen_parses_ipv4_ipv6_and_localhost),
        T(test_listen_rejects_malformed_values),
        T(test_listen_rejects_a_host_longer_than_the_buffer),
        T(test_defaults_are_valid_with_database_url),
        T(test_owner_url_overrides_the_default),
        T(test_missing_database_url_is_reported_when_needed),
        T(test_missing_database_url_is_fine_when_not_needed),
        T(test_listen_is_read_from_the_environment),
        T(test_bad_listen_is_reported),
        T(test_log_level_is_read_from_the_environment),
        T(test_bad_log_level_is_reported),
        T(test_valid_secret_key_is_decoded),
        T(test_bad_secret_key_is_reported),
        T(test_secret_key_with_padding_inside_is_rejected),
        T(test_bad_secret_key_leaves_no_key),
        T(test_egress_allow_is_read_from_the_environment),
        T(test_bad_egress_allow_is_reported_naming_the_entry),
        T(test_too_many_egress_ranges_are_reported),
        T(test_workers_bounds_are_enforced),
        T(test_other_numeric_settings_are_range_checked),
        T(test_notification_settings_are_checked),
        T(test_migrate_flag_is_read),
        T(test_every_bad_value_is_reported),
        T(test_config_free_accepts_null),
    };

    return cmocka_run_group_tests_name("server/config", tests, NULL, NULL);
}
