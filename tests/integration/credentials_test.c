/* Parapet's own AWS credentials through the default chain (cloud_creds_default): environment,
 * container credentials endpoint, IMDSv2, against tests/support/fake_metadata, with the
 * environment set per test. Asserts on what the fake recorded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "cloud/aws.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AKID "ASIAFAKEMETADATA0001"
#define SECRET "fake/metadata+secret"
#define TOKEN "fake-session-token-value"
#define EXPIRATION "2030-01-02T03:04:05Z"
#define EXPIRES 1893553445L /* EXPIRATION as seconds since the epoch */
#define AUTH "Bearer fake-container-authorization"

static struct h_fake_metadata fake;
static char dir[64];
static char log_path[128];
static char url[128]; /* the fake's container endpoint */

static const char *const vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED", NULL};

static int group_setup(void **state)
{
    const char *const args[] = {"--akid", AKID, "--secret", SECRET, "--token", TOKEN,
                                "--expiration", EXPIRATION, "--auth-token", AUTH,
                                "--log", log_path, NULL};
    (void)state;
    net_init();
    snprintf(dir, sizeof dir, "/tmp/parapet-creds.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(log_path, sizeof log_path, "%s/metadata.log", dir);
    if (h_fake_metadata_start(&fake, args) != 0)
        return -1;
    snprintf(url, sizeof url, "%s/creds", fake.base);
    return 0;
}

static int group_teardown(void **state)
{
    char p[160];
    (void)state;
    for (const char *const *v = vars; *v != NULL; v++)
        unsetenv(*v);
    if (h_fake_metadata_stop(&fake, 5000) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/token", dir);
    unlink(p);
    unlink(log_path);
    rmdir(dir);
    return 0;
}

/* Every test starts with none of the sources configured and an empty fake log. */
static int setup(void **state)
{
    (void)state;
    for (const char *const *v = vars; *v != NULL; v++)
        unsetenv(*v);
    return truncate(log_path, 0) == 0 || access(log_path, F_OK) != 0 ? 0 : -1;
}

static char *fake_log(void)
{
    char *s = h_read_file(log_path);
    return s != NULL ? s : strdup("");
}

static void assert_fake_creds(const struct cloud_creds *c)
{
    assert_string_equal(c->access_key_id, AKID);
    assert_string_equal(c->secret_access_key, SECRET);
    assert_non_null(c->session_token);
    assert_string_equal(c->session_token, TOKEN);
    assert_int_equal((long)c->expires, EXPIRES);
}

static void test_environment_wins_over_the_other_sources(void **state)
{
    struct cloud_creds c;
    struct err err = {0};
    char source[16];
    char *log;
    (void)state;

    setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH, 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base, 1);
    assert_int_equal(cloud_creds_default(&c, source, &err), ERR_OK);
    assert_string_equal(source, "env");
    assert_string_equal(c.access_key_id, "AKIAENVIRONMENT00001");
    assert_null(c.session_token);
    assert_int_equal((long)c.expires, 0);
    cloud_creds_clear(&c);
    log = fake_log();
    assert_string_equal(log, ""); /* nothing asked */
    free(log);
}

static void test_container_endpoint_with_an_authorization_token(void **state)
{
    struct cloud_creds c;
    struct err err = {0};
    char source[16];
    char *log;
    (void)state;

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_int_equal(cloud_creds_default(&c, source, &err), ERR_OK);
    assert_string_equal(source, "container");
    assert_fake_creds(&c);
    cloud_creds_clear(&c);
    log = fake_log();
    assert_string_equal(
        log, "{\"method\":\"GET\",\"path\":\"/creds\",\"status\":200,\"auth\":\"ok\"}\n");
    free(log);
}

static void test_container_endpoint_with_an_authorization_token_file(void **state)
{
    struct cloud_creds c;
    struct err err = {0};
    char source[16], path[160];
    char *log;
    FILE *f;
    (void)state;

    snprintf(path, sizeof path, "%s/token", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(AUTH "\n", f); /* EKS writes it with a trailing newline */
    fclose(f);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "stale value: the file wins", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_int_equal(cloud_creds_default(&c, source, &err), ERR_OK);
    assert_string_equal(source, "container");
    assert_fake_creds(&c);
    cloud_creds_clear(&c);
    log = fake_log();
    assert_string_equal(
        log, "{\"method\":\"GET\",\"path\":\"/creds\",\"status\":200,\"auth\":\"ok\"}\n");
    free(log);
}

static void test_container_refusal_falls_through_to_imds(void **state)
{
    struct cloud_creds c;
    struct err err = {0};
    char source[16];
    char *log;
    (void)state;

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong", 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base, 1);
    assert_int_equal(cloud_creds_default(&c, source, &err), ERR_OK);
    assert_string_equal(source, "imds");
    assert_fake_creds(&c);
    cloud_creds_clear(&c);
    log = fake_log();
    assert_non_null(strstr(log, "{\"method\":\"GET\",\"path\":\"/creds\",\"status\":401,"
                                "\"auth\":\"wrong\"}\n{\"method\":\"PUT\""));
    free(log);

    /* No token at all: the same. */
    assert_int_equal(truncate(log_path, 0), 0);
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    assert_int_equal(cloud_creds_default(&c, source, &err), ERR_OK);
    assert_string_equal(source, "imds");
    cloud_creds_clear(&c);
    log = fake_log();
    assert_non_null(strstr(log, "\"path\":\"/creds\",\"status\":401,\"auth\":\"missing\""));
    free(log);
}

static void test_full_uri_to_a_host_aws_does_not_allow_is_refused_unasked(void **state)
{
    static const char *const refused[] = {
        "http://10.1.2.3/creds", "http://169.254.169.254/creds", "http://127.0.0.1@10.1.2.3/",
        "http://127.0.0.1.example.com/", "ftp://127.0.0.1/", "http://[::2]/", NULL};
    struct cloud_creds c;
    struct err err = {0};
    char bypass[128];
    long long t0;
    char *log;
    (void)state;

    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    for (const char *const *u = refused; *u != NULL; u++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", *u, 1);
        t0 = h_now_ms();
        assert_int_equal(cloud_creds_default(&c, NULL, &err), ERR_UNAVAILABLE);
        /* 10.1.2.3 does not answer: a connection attempt would take the whole timeout. */
        assert_true(h_now_ms() - t0 < 500);
    }
    /* 0.0.0.0 reaches the fake on Linux, but it is not loopback: the fake must see nothing. */
    snprintf(bypass, sizeof bypass, "http://0.0.0.0:%u/creds", fake.port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", bypass, 1);
    assert_int_equal(cloud_creds_default(&c, NULL, &err), ERR_UNAVAILABLE);
    assert_string_equal(err.detail, "Parapet's AWS identity is not configured");
    log = fake_log();
    assert_string_equal(log, "");
    free(log);
}

static void test_imds_v2_gets_a_token_then_the_role_then_its_credentials(void **state)
{
    struct cloud_creds c;
    struct err err = {0};
    char source[16];
    char *log;
    (void)state;

    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base, 1);
    assert_int_equal(cloud_creds_default(&c, source, &err), ERR_OK);
    assert_string_equal(source, "imds");
    assert_fake_creds(&c);
    cloud_creds_clear(&c);
    log = fake_log();
    assert_string_equal(
        log, "{\"method\":\"PUT\",\"path\":\"/latest/api/token\",\"status\":200,\"auth\":null}\n"
             "{\"method\":\"GET\",\"path\":\"/latest/meta-data/iam/security-credentials/\","
             "\"status\":200,\"auth\":\"ok\"}\n"
             "{\"method\":\"GET\",\"path\":\"/latest/meta-data/iam/security-credentials/"
             "parapet-instance\",\"status\":200,\"auth\":\"ok\"}\n");
    free(log);
}

static void test_imds_disabled_is_not_asked(void **state)
{
    struct cloud_creds c;
    struct err err = {0};
    char source[16] = "x";
    char *log;
    (void)state;

    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.base, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    assert_int_equal(cloud_creds_default(&c, source, &err), ERR_UNAVAILABLE);
    assert_string_equal(source, "");
    assert_string_equal(err.detail, "Parapet's AWS identity is not configured");
    log = fake_log();
    assert_string_equal(log, "");
    free(log);
}

static void test_nothing_configured_is_unavailable_quickly(void **state)
{
    struct cloud_creds c;
    struct err err = {0};
    char closed[64];
    long long t0;
    (void)state;

    snprintf(closed, sizeof closed, "http://127.0.0.1:%u", h_free_port());
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed, 1);
    t0 = h_now_ms();
    assert_int_equal(cloud_creds_default(&c, NULL, &err), ERR_UNAVAILABLE);
    assert_true(h_now_ms() - t0 < 3000);
    assert_string_equal(err.detail, "Parapet's AWS identity is not configured");
    assert_string_equal(c.access_key_id, "");
    assert_null(c.session_token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_environment_wins_over_the_other_sources, setup),
        cmocka_unit_test_setup(test_container_endpoint_with_an_authorization_token, setup),
        cmocka_unit_test_setup(test_container_endpoint_with_an_authorization_token_file, setup),
        cmocka_unit_test_setup(test_container_refusal_falls_through_to_imds, setup),
        cmocka_unit_test_setup(test_full_uri_to_a_host_aws_does_not_allow_is_refused_unasked,
                               setup),
        cmocka_unit_test_setup(test_imds_v2_gets_a_token_then_the_role_then_its_credentials,
                               setup),
        cmocka_unit_test_setup(test_imds_disabled_is_not_asked, setup),
        cmocka_unit_test_setup(test_nothing_configured_is_unavailable_quickly, setup),
    };
    return cmocka_run_group_tests_name("integration/credentials", tests, group_setup,
                                       group_teardown);
}
