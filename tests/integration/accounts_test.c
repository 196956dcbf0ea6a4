/* Cloud accounts: adding an AWS account, its external ID and onboarding template, bad input,
 * listing and removal. (Connecting through STS arrives with the AWS client.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct h_server srv;
static char db[64];
static char token[1024];

static long call(const char *method, const char *path, const char *body, json_t **out)
{
    return h_api(srv.base, token, method, path, body, out);
}

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static int setup(void **state)
{
    static const char *const env[] = {
        "PARAPET_AWS_ACCOUNT_ID=111122223333",
        "PARAPET_TEMPLATE_URL=https://parapet-onboarding.s3.us-east-1.amazonaws.com/v1/role.json",
        NULL};
    json_t *r = NULL;
    (void)state;
    h_db_new("accounts", db);
    if (h_server_start(&srv, db, NULL, env) != 0)
        return -1;
    if (call("POST", "/v1/signup",
             "{\"organization\":\"Acct Co\",\"email\":\"a@acct.example\","
             "\"password\":\"accounts test passphrase\"}",
             &r) != 201)
        return -1;
    snprintf(token, sizeof token, "%s", str(r, "access_token"));
    json_decref(r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return h_server_stop(&srv, 10000) == 0 ? 0 : -1;
}

static void test_adding_an_account_returns_external_id_and_template(void **state)
{
    json_t *a = NULL, *t = NULL, *stmt, *cond;
    char path[128];
    const char *ext, *url;
    (void)state;

    assert_int_equal(call("POST", "/v1/accounts",
                          "{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\","
                          "\"name\":\"prod\",\"regions\":[\"us-east-1\",\"eu-west-1\"],"
                          "\"external_id\":\"chosen-by-the-client-1234567890abcdef\"}",
                          &a),
                     201);
    assert_string_equal(str(a, "status"), "pending");
    ext = str(a, "external_id");
    assert_true(strlen(ext) >= 32);
    assert_null(strstr(ext, "chosen-by-the-client")); /* ours, not the client's */
    assert_true(json_is_null(json_object_get(a, "role_arn")));
    assert_int_equal(json_array_size(json_object_get(a, "regions")), 2);

    /* The template trusts Parapet's account on condition of exactly this external ID. */
    t = json_object_get(json_object_get(a, "onboarding"), "template");
    assert_non_null(t);
    assert_string_equal(str(json_object_get(json_object_get(t, "Parameters"), "ExternalId"),
                            "Default"),
                        ext);
    assert_string_equal(
        str(json_object_get(json_object_get(t, "Parameters"), "VendorAccountId"), "Default"),
        "111122223333");
    stmt = json_array_get(
        json_object_get(
            json_object_get(
                json_object_get(json_object_get(json_object_get(t, "Resources"), "ParapetRole"),
                                "Properties"),
                "AssumeRolePolicyDocument"),
            "Statement"),
        0);
    assert_string_equal(str(stmt, "Action"), "sts:AssumeRole");
    cond = json_object_get(json_object_get(stmt, "Condition"), "StringEquals");
    assert_string_equal(str(json_object_get(cond, "sts:ExternalId"), "Ref"), "ExternalId");
    url = str(json_object_get(a, "onboarding"), "quick_create_url");
    assert_non_null(strstr(url, "#/stacks/quickcreate?templateURL=https%3A%2F%2F"));
    assert_non_null(strstr(url, ext));

    snprintf(path, sizeof path, "/v1/accounts/%s/template", str(a, "id"));
    assert_int_equal(call("GET", path, NULL, &t), 200);
    assert_string_equal(str(json_object_get(json_object_get(t, "Parameters"), "ExternalId"),
                            "Default"),
                        ext);
    json_decref(t);
    json_decref(a);
}

static void test_external_ids_are_unique_and_immutable(void **state)
{
    json_t *a = NULL, *b = NULL;
    char admin[256], q[256];
    (void)state;

    assert_int_equal(call("POST", "/v1/accounts",
                          "{\"provider\":\"aws\",\"aws_account_id\":\"000000000001\","
                          "\"name\":\"a\",\"regions\":[\"us-east-1\"]}",
                          &a),
                     201);
    assert_int_equal(call("POST", "/v1/accounts",
                          "{\"provider\":\"aws\",\"aws_account_id\":\"000000000002\","
                          "\"name\":\"b\",\"regions\":[\"us-east-1\"]}",
                          &b),
                     201);
    assert_string_not_equal(str(a, "external_id"), str(b, "external_id"));
    h_db_admin_url(db, admin, sizeof admin);
    snprintf(q, sizeof q,
             "UPDATE cloud_accounts SET external_id = 'x234567890123456789012345678901234'"
             " WHERE account_id = '%s'",
             str(a, "id"));
    assert_int_equal(h_sql_exec(admin, q, true), -1);
    json_decref(a);
    json_decref(b);
}

static void expect_400(const char *body, const char *field)
{
    json_t *r = NULL;
    assert_int_equal(call("POST", "/v1/accounts", body, &r), 400);
    assert_string_equal(str(json_array_get(json_object_get(r, "errors"), 0), "field"), field);
    json_decref(r);
}

static void test_bad_accounts_are_refused_naming_the_field(void **state)
{
    (void)state;
    expect_400("{\"provider\":\"gcp\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\"]}",
               "provider");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"12345678901\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\"]}",
               "aws_account_id");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"12345678901a\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\"]}",
               "aws_account_id");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\",\"mars-north-1\"]}",
               "regions[1]");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\",\"us-east-1\"]}",
               "regions[1]");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[]}",
               "regions");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":[\"us-east-1\"],\"role_arn\":\"arn:aws:iam::1:role/x\"}",
               "role_arn");
    expect_400("{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\",\"name\":\"x\","
               "\"regions\":\"us-east-1\"}",
               "regions");
}

static void test_the_same_aws_account_twice_is_409(void **state)
{
    (void)state;
    assert_int_equal(call("POST", "/v1/accounts",
                          "{\"provider\":\"aws\",\"aws_account_id\":\"123456789012\","
                          "\"name\":\"again\",\"regions\":[\"us-west-2\"]}",
                          NULL),
                     409);
}

static void test_list_get_and_delete(void **state)
{
    json_t *page = NULL, *first;
    char path[128];
    size_t n;
    (void)state;

    assert_int_equal(call("GET", "/v1/accounts?limit=500", NULL, &page), 200);
    n = json_array_size(json_object_get(page, "items"));
    assert_int_equal(n, 3);
    first = json_array_get(json_object_get(page, "items"), 0);
    snprintf(path, sizeof path, "/v1/accounts/%s", str(first, "id"));
    assert_int_equal(call("GET", path, NULL, NULL), 200);
    assert_int_equal(call("DELETE", path, NULL, NULL), 204);
    assert_int_equal(call("GET", path, NULL, NULL), 404);
    assert_int_equal(call("DELETE", path, NULL, NULL), 404);
    json_decref(page);
}

/* Creates an account for aws_id and writes its id and external ID. */
static void add_account(const char *aws_id, char id[40], char ext[80])
{
    char body[256];
    json_t *a = NULL;
    snprintf(body, sizeof body,
             "{\"provider\":\"aws\",\"aws_account_id\":\"%s\",\"name\":\"c\","
             "\"regions\":[\"eu-west-1\"]}",
             aws_id);
    assert_int_equal(call("POST", "/v1/accounts", body, &a), 201);
    snprintf(id, 40, "%s", str(a, "id"));
    snprintf(ext, 80, "%s", str(a, "external_id"));
    json_decref(a);
}

static long connect_as(const struct h_server *s, const char *id, const char *arn, json_t **out)
{
    char body[256], path[128];
    struct h_server saved = srv;
    long st;
    snprintf(body, sizeof body, "{\"role_arn\":\"%s\"}", arn);
    snprintf(path, sizeof path, "/v1/accounts/%s/connect", id);
    srv = *s;
    st = call("POST", path, body, out);
    srv = saved;
    return st;
}

static const char parapet_key[] = "AKIAPARAPETTEST00001";
static const char parapet_secret[] = "parapetTestSecret/0123456789abcdefghijklm";

static void test_connect_verifies_the_role_with_and_without_the_external_id(void **state)
{
    char ok_id[40], ok_ext[80], wrong_id[40], wrong_ext[80], open_id[40], open_ext[80];
    char other_id[40], other_ext[80];
    char cfg_path[64], log_path[64], cfg[2048], endpoint[128], key_env[64], secret_env[96];
    const char *env[6];
    struct h_fake_aws fake;
    struct h_server api;
    json_t *r = NULL;
    char *log, *server_log;
    FILE *f;
    (void)state;

    add_account("210000000001", ok_id, ok_ext);
    add_account("210000000002", wrong_id, wrong_ext);
    add_account("210000000003", open_id, open_ext);
    add_account("210000000005", other_id, other_ext);
    snprintf(cfg, sizeof cfg,
             "credentials %s %s\naccount 111122223333\n"
             "role arn:aws:iam::210000000001:role/ParapetSecurityReadOnly %s\n"
             "role arn:aws:iam::210000000002:role/ParapetSecurityReadOnly not-the-right-one-12345\n"
             "role arn:aws:iam::210000000003:role/ParapetSecurityReadOnly -\n",
             parapet_key, parapet_secret, ok_ext);
    snprintf(cfg_path, sizeof cfg_path, "/tmp/parapet-fake-aws-%d.conf", (int)getpid());
    snprintf(log_path, sizeof log_path, "/tmp/parapet-fake-aws-%d.log", (int)getpid());
    f = fopen(cfg_path, "w");
    assert_non_null(f);
    fputs(cfg, f);
    fclose(f);
    unlink(log_path);
    assert_int_equal(h_fake_aws_start(&fake, cfg_path, log_path), 0);

    snprintf(endpoint, sizeof endpoint, "AWS_ENDPOINT_URL=%s", fake.base);
    snprintf(key_env, sizeof key_env, "AWS_ACCESS_KEY_ID=%s", parapet_key);
    snprintf(secret_env, sizeof secret_env, "AWS_SECRET_ACCESS_KEY=%s", parapet_secret);
    env[0] = endpoint;
    env[1] = key_env;
    env[2] = secret_env;
    env[3] = "PARAPET_AWS_ACCOUNT_ID=111122223333";
    env[4] = NULL;
    assert_int_equal(h_server_start(&api, db, "api", env), 0);

    /* The role trusts us with this account's external ID and refuses us without it. */
    assert_int_equal(
        connect_as(&api, ok_id, "arn:aws:iam::210000000001:role/ParapetSecurityReadOnly", &r),
        200);
    assert_string_equal(str(r, "status"), "active");
    assert_string_equal(str(r, "role_arn"), "arn:aws:iam::210000000001:role/ParapetSecurityReadOnly");
    json_decref(r);

    /* A trust policy with another external ID: AWS says AccessDenied; the account stays pending. */
    assert_int_equal(
        connect_as(&api, wrong_id, "arn:aws:iam::210000000002:role/ParapetSecurityReadOnly", &r),
        422);
    assert_non_null(strstr(str(r, "detail"), "AccessDenied"));
    assert_non_null(strstr(str(r, "detail"), wrong_ext)); /* says which ID to put there */
    json_decref(r);
    {
        char path[128];
        snprintf(path, sizeof path, "/v1/accounts/%s", wrong_id);
        assert_int_equal(call("GET", path, NULL, &r), 200);
        assert_string_equal(str(r, "status"), "pending");
        assert_non_null(strstr(str(r, "last_error"), "AccessDenied"));
        json_decref(r);
    }

    /* A role without the external-ID condition is refused: the confused deputy. */
    assert_int_equal(
        connect_as(&api, open_id, "arn:aws:iam::210000000003:role/ParapetSecurityReadOnly", &r),
        422);
    assert_non_null(strstr(str(r, "detail"), "without the external ID"));
    json_decref(r);

    /* Another account's role, another partition, garbage: refused before any AWS call. */
    assert_int_equal(
        connect_as(&api, other_id, "arn:aws:iam::999999999999:role/ParapetSecurityReadOnly", &r),
        422);
    assert_string_equal(str(json_array_get(json_object_get(r, "errors"), 0), "field"), "role_arn");
    json_decref(r);
    assert_int_equal(connect_as(&api, other_id, "arn:aws-cn:iam::210000000005:role/P", NULL), 422);
    assert_int_equal(connect_as(&api, other_id, "arn:aws:iam::210000000005:user/P", NULL), 400);
    assert_int_equal(connect_as(&api, other_id, "not an arn", NULL), 400);

    /* Repeated attempts on one account are throttled: no AWS storm. */
    assert_int_equal(
        connect_as(&api, wrong_id, "arn:aws:iam::210000000002:role/ParapetSecurityReadOnly", NULL),
        429);

    assert_int_equal(h_server_stop(&api, 10000), 0);
    assert_int_equal(h_fake_aws_stop(&fake, 5000), 0);

    /* What AWS saw: for the good account, AssumeRole with and without the ID, then
     * GetCallerIdentity; never the secret. */
    log = h_read_file(log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "\"external_id_present\":false"));
    assert_non_null(strstr(log, "GetCallerIdentity"));
    assert_null(strstr(log, parapet_secret));
    free(log);
    server_log = h_read_file(api.log_path);
    assert_non_null(server_log);
    assert_null(strstr(server_log, parapet_secret));
    assert_null(strstr(server_log, "Signature="));
    free(server_log);
    unlink(cfg_path);
    unlink(log_path);
}

static void test_throttled_sts_is_retried_and_unreachable_sts_is_503(void **state)
{
    char id[40], ext[80], id2[40], ext2[80];
    char cfg_path[64], cfg[1024], endpoint[128], key_env[64], secret_env[96];
    const char *env[5];
    struct h_fake_aws fake;
    struct h_server api;
    json_t *r = NULL;
    FILE *f;
    (void)state;

    add_account("220000000001", id, ext);
    add_account("220000000002", id2, ext2);
    snprintf(cfg, sizeof cfg,
             "credentials %s %s\naccount 111122223333\nthrottle 2\n"
             "role arn:aws:iam::220000000001:role/ParapetSecurityReadOnly %s\n",
             parapet_key, parapet_secret, ext);
    snprintf(cfg_path, sizeof cfg_path, "/tmp/parapet-fake-aws-t-%d.conf", (int)getpid());
    f = fopen(cfg_path, "w");
    assert_non_null(f);
    fputs(cfg, f);
    fclose(f);
    assert_int_equal(h_fake_aws_start(&fake, cfg_path, NULL), 0);
    snprintf(endpoint, sizeof endpoint, "AWS_ENDPOINT_URL=%s", fake.base);
    snprintf(key_env, sizeof key_env, "AWS_ACCESS_KEY_ID=%s", parapet_key);
    snprintf(secret_env, sizeof secret_env, "AWS_SECRET_ACCESS_KEY=%s", parapet_secret);
    env[0] = endpoint;
    env[1] = key_env;
    env[2] = secret_env;
    env[3] = "PARAPET_AWS_ACCOUNT_ID=111122223333";
    env[4] = NULL;
    assert_int_equal(h_server_start(&api, db, "api", env), 0);
    assert_int_equal(
        connect_as(&api, id, "arn:aws:iam::220000000001:role/ParapetSecurityReadOnly", &r), 200);
    assert_string_equal(str(r, "status"), "active");
    json_decref(r);
    assert_int_equal(h_fake_aws_stop(&fake, 5000), 0);

    /* AWS gone: 503, nothing activated, the reason recorded. */
    assert_int_equal(
        connect_as(&api, id2, "arn:aws:iam::220000000002:role/ParapetSecurityReadOnly", &r), 503);
    json_decref(r);
    {
        char path[128];
        snprintf(path, sizeof path, "/v1/accounts/%s", id2);
        assert_int_equal(call("GET", path, NULL, &r), 200);
        assert_string_equal(str(r, "status"), "pending");
        assert_non_null(strstr(str(r, "last_error"), "could not be reached"));
        json_decref(r);
    }
    assert_int_equal(h_server_stop(&api, 10000), 0);
    unlink(cfg_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adding_an_account_returns_external_id_and_template),
        cmocka_unit_test(test_external_ids_are_unique_and_immutable),
        cmocka_unit_test(test_bad_accounts_are_refused_naming_the_field),
        cmocka_unit_test(test_the_same_aws_account_twice_is_409),
        cmocka_unit_test(test_list_get_and_delete),
        cmocka_unit_test(test_connect_verifies_the_role_with_and_without_the_external_id),
        cmocka_unit_test(test_throttled_sts_is_retried_and_unreachable_sts_is_503),
    };
    return cmocka_run_group_tests_name("integration/accounts", tests, setup, teardown);
}
