/* The AWS client (cloud/) against the strict fake (tests/support/fake_aws): every request signed
 * and checked; pagination of every list; each role read once however many functions share it;
 * credentials cached per role and renewed when AWS says they expired; throttling absorbed;
 * AccessDenied recorded on the resource while the rest carries on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "cloud/aws.h"
#include "net/net.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROLE "arn:aws:iam::444455556666:role/ParapetSecurityReadOnly"
#define EXT "cloud-test-external-id-0123456789abcdef"

static const char key[] = "AKIAPARAPETTEST00001";
static const char secret[] = "parapetTestSecret/0123456789abcdefghijklm";
static struct h_fake_aws fake;
static char cfg_path[96];

static void start(const char *extra)
{
    FILE *f;
    snprintf(cfg_path, sizeof cfg_path, "/tmp/parapet-cloud-%d.conf", (int)getpid());
    f = fopen(cfg_path, "w");
    assert_non_null(f);
    fprintf(f, "credentials %s %s\naccount 111122223333\nrole %s %s\n%s", key, secret, ROLE, EXT,
            extra);
    fclose(f);
    assert_int_equal(h_fake_aws_start(&fake, cfg_path, NULL), 0);
    setenv("AWS_ENDPOINT_URL", fake.base, 1);
    setenv("AWS_ACCESS_KEY_ID", key, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
}

static void stop(void)
{
    h_fake_aws_stop(&fake, 5000);
    cloud_role_forget(ROLE, EXT);
    unlink(cfg_path);
}

/* The fake's request count for "svc:Op". */
static long long requests(const char *op)
{
    char u[160];
    struct h_resp r;
    json_t *j;
    long long n;

    snprintf(u, sizeof u, "%s/_fake/counters", fake.base);
    assert_int_equal(h_http("GET", u, NULL, NULL, 0, &r), 200);
    j = json_loads(r.body, 0, NULL);
    h_resp_free(&r);
    n = json_integer_value(json_object_get(json_object_get(json_object_get(j, "operations"), op),
                                           "requests"));
    json_decref(j);
    return n;
}

static void test_a_synthetic_account_is_read_completely(void **state)
{
    struct cloud_principal p;
    json_t *fns = NULL, *roles = NULL, *arns, *http = NULL, *rest = NULL, *fn;
    char aws_error[64];
    struct err e = {0};
    size_t i;
    (void)state;

    start("synthetic 230\n");
    assert_int_equal(cloud_role_principal(ROLE, EXT, &p, aws_error, &e), ERR_OK);
    assert_int_equal(cloud_lambda_list(&p, "us-east-1", &fns, aws_error, &e), ERR_OK);
    assert_int_equal(json_array_size(fns), 230); /* five pages of at most 50 */
    assert_true(requests("lambda:ListFunctions") >= 5);
    assert_int_equal(cloud_lambda_details(&p, "us-east-1", fns, 8, NULL, &e), ERR_OK);
    arns = json_object();
    json_array_foreach(fns, i, fn) {
        assert_null(json_object_get(fn, "Errors"));
        json_object_set_new(arns, json_string_value(json_object_get(fn, "Role")), json_true());
    }
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(arns, k, v)
        json_array_append_new(list, json_string(k));
    long long get_role_before = requests("iam:GetRole");
    assert_int_equal(cloud_iam_roles(&p, list, 8, &roles, &e), ERR_OK);
    assert_int_equal(json_array_size(roles), json_array_size(list));
    /* Shared roles are read once each, not once per function. */
    assert_int_equal(requests("iam:GetRole") - get_role_before, (long long)json_array_size(list));
    json_array_foreach(roles, i, v) {
        assert_true(json_is_object(json_object_get(v, "AssumeRolePolicyDocument")));
        assert_null(json_object_get(v, "Errors"));
    }
    assert_int_equal(cloud_apigw_http_apis(&p, "us-east-1", &http, aws_error, &e), ERR_OK);
    assert_int_equal(cloud_apigw_rest_apis(&p, "us-east-1", &rest, aws_error, &e), ERR_OK);
    json_array_foreach(http, i, v)
        assert_true(json_is_array(json_object_get(v, "routes")));
    json_array_foreach(rest, i, v)
        assert_true(json_is_array(json_object_get(v, "resources")));
    json_decref(fns);
    json_decref(roles);
    json_decref(list);
    json_decref(arns);
    json_decref(http);
    json_decref(rest);
    cloud_principal_clear(&p);
    stop();
}

static void test_credentials_are_cached_and_renewed_when_expired(void **state)
{
    struct cloud_principal p, q;
    json_t *fns = NULL;
    char aws_error[64];
    struct err e = {0};
    (void)state;

    start("synthetic 20\nexpire_s 1\n");
    unsigned long before = cloud_role_assume_count();
    assert_int_equal(cloud_role_principal(ROLE, EXT, &p, aws_error, &e), ERR_OK);
    assert_int_equal(cloud_role_assume_count() - before, 1);
    h_sleep_ms(2100); /* the credentials have now expired at the fake */
    assert_int_equal(cloud_lambda_list(&p, "us-east-1", &fns, aws_error, &e), ERR_OK);
    assert_int_equal(json_array_size(fns), 20);
    assert_true(cloud_role_assume_count() - before >= 2); /* renewed */
    json_decref(fns);
    cloud_principal_clear(&p);
    stop();

    /* Long-lived credentials are shared from the cache. */
    start("synthetic 1\n");
    before = cloud_role_assume_count();
    assert_int_equal(cloud_role_principal(ROLE, EXT, &p, aws_error, &e), ERR_OK);
    assert_int_equal(cloud_role_principal(ROLE, EXT, &q, aws_error, &e), ERR_OK);
    assert_int_equal(cloud_role_assume_count() - before, 1);
    cloud_principal_clear(&p);
    cloud_principal_clear(&q);
    /* A wrong external ID is AWS's AccessDenied, not a crash or a cache hit. */
    assert_int_equal(cloud_role_principal(ROLE, "another-external-id-0123456789abcdef", &p,
                                          aws_error, &e),
                     ERR_UPSTREAM);
    assert_string_equal(aws_error, "AccessDenied");
    stop();
}

static void test_faults_are_recorded_per_resource_and_throttling_absorbed(void **state)
{
    struct cloud_principal p;
    json_t *fns = NULL, *fn, *er;
    char aws_error[64];
    struct err e = {0};
    size_t i, j;
    bool denied = false;
    (void)state;

    start("synthetic 30\nfail GetPolicy AccessDeniedException\nthrottle 4\n");
    if (cloud_role_principal(ROLE, EXT, &p, aws_error, &e) != ERR_OK)
        fail_msg("AssumeRole: %s (%s)", e.detail, aws_error);
    assert_int_equal(cloud_lambda_list(&p, "us-east-1", &fns, aws_error, &e), ERR_OK);
    assert_int_equal(json_array_size(fns), 30);
    assert_int_equal(cloud_lambda_details(&p, "us-east-1", fns, 8, NULL, &e), ERR_OK);
    json_array_foreach(fns, i, fn) {
        json_array_foreach(json_object_get(fn, "Errors"), j, er) {
            assert_string_equal(json_string_value(json_object_get(er, "call")), "GetPolicy");
            if (strcmp(json_string_value(json_object_get(er, "code")), "AccessDeniedException") ==
                0)
                denied = true;
        }
    }
    assert_true(denied);
    json_decref(fns);
    cloud_principal_clear(&p);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_synthetic_account_is_read_completely),
        cmocka_unit_test(test_credentials_are_cached_and_renewed_when_expired),
        cmocka_unit_test(test_faults_are_recorded_per_resource_and_throttling_absorbed),
    };
    net_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
