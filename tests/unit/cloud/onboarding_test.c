/* cloud/onboarding.c: regions, account ids, role ARNs, external IDs, the template and the
 * quick-create link. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cloud/cloud.h"

#include <stdlib.h>
#include <string.h>

static void test_regions_of_the_commercial_partition_are_known(void **state)
{
    (void)state;
    assert_true(cloud_region_is_known("us-east-1"));
    assert_true(cloud_region_is_known("eu-central-2"));
    assert_false(cloud_region_is_known("us-gov-west-1"));
    assert_false(cloud_region_is_known("cn-north-1"));
    assert_false(cloud_region_is_known("US-EAST-1"));
    assert_false(cloud_region_is_known(""));
}

static void test_account_ids_are_twelve_digits(void **state)
{
    (void)state;
    assert_true(cloud_account_id_is_valid("123456789012"));
    assert_false(cloud_account_id_is_valid("12345678901"));
    assert_false(cloud_account_id_is_valid("1234567890123"));
    assert_false(cloud_account_id_is_valid("12345678901a"));
    assert_false(cloud_account_id_is_valid(""));
}

static void test_role_arns_are_parsed_strictly(void **state)
{
    char acct[13];
    struct err err;
    (void)state;

    assert_int_equal(cloud_role_arn_parse("arn:aws:iam::123456789012:role/Parapet", acct, &err),
                     ERR_OK);
    assert_string_equal(acct, "123456789012");
    assert_int_equal(
        cloud_role_arn_parse("arn:aws:iam::123456789012:role/team/sec/Parapet", acct, &err),
        ERR_OK);
    assert_int_equal(cloud_role_arn_parse("arn:aws-cn:iam::123456789012:role/P", acct, &err),
                     ERR_UNPROCESSABLE);
    assert_int_equal(cloud_role_arn_parse("arn:aws-us-gov:iam::123456789012:role/P", acct, &err),
                     ERR_UNPROCESSABLE);
    assert_string_equal(err.field, "role_arn");
    assert_int_equal(cloud_role_arn_parse("arn:aws:iam::12345678901:role/P", acct, &err),
                     ERR_INVALID);
    assert_int_equal(cloud_role_arn_parse("arn:aws:iam::123456789012:user/P", acct, &err),
                     ERR_INVALID);
    assert_int_equal(cloud_role_arn_parse("arn:aws:s3:::bucket", acct, &err), ERR_INVALID);
    assert_int_equal(cloud_role_arn_parse("arn:aws:iam::123456789012:role/", acct, &err),
                     ERR_INVALID);
    assert_int_equal(cloud_role_arn_parse("arn:aws:iam::123456789012:role/a b", acct, &err),
                     ERR_INVALID);
    assert_int_equal(cloud_role_arn_parse("arn:aws:iam::123456789012:role/x'; DROP", acct, &err),
                     ERR_INVALID);
    assert_int_equal(cloud_role_arn_parse("not an arn", acct, &err), ERR_INVALID);
    assert_int_equal(cloud_role_arn_parse("", acct, &err), ERR_INVALID);
}

static void test_external_ids_are_long_random_and_distinct(void **state)
{
    char a[64], b[64];
    (void)state;
    cloud_external_id_new(a);
    cloud_external_id_new(b);
    assert_int_equal(strlen(a), 8 + 48);
    assert_int_equal(strncmp(a, "parapet-", 8), 0);
    assert_int_equal(strspn(a + 8, "0123456789abcdef"), 48);
    assert_string_not_equal(a, b);
}

static void test_template_trusts_the_vendor_on_condition_of_the_external_id(void **state)
{
    json_t *t = cloud_onboarding_template("111122223333", "parapet-abc");
    json_t *role, *stmt, *actions;
    bool has_get_function = false;
    (void)state;

    assert_non_null(t);
    assert_string_equal(json_string_value(json_object_get(t, "AWSTemplateFormatVersion")),
                        "2010-09-09");
    role = json_object_get(json_object_get(json_object_get(t, "Resources"), "ParapetRole"),
                           "Properties");
    stmt = json_array_get(
        json_object_get(json_object_get(role, "AssumeRolePolicyDocument"), "Statement"), 0);
    assert_string_equal(json_string_value(json_object_get(stmt, "Effect")), "Allow");
    assert_non_null(json_object_get(json_object_get(json_object_get(stmt, "Condition"),
                                                    "StringEquals"),
                                    "sts:ExternalId"));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(role, "ManagedPolicyArns"), 0), "Fn::Sub")),
        "arn:${AWS::Partition}:iam::aws:policy/SecurityAudit");
    actions = json_object_get(
        json_array_get(
            json_object_get(
                json_object_get(json_array_get(json_object_get(role, "Policies"), 0),
                                "PolicyDocument"),
                "Statement"),
            0),
        "Action");
    for (size_t i = 0; i < json_array_size(actions); i++)
        if (strcmp(json_string_value(json_array_get(actions, i)), "lambda:GetFunction") == 0)
            has_get_function = true;
    assert_true(has_get_function);
    assert_non_null(json_object_get(json_object_get(t, "Outputs"), "RoleArn"));
    json_decref(t);
}

static void test_quick_create_url_prefills_parameters_in_the_fragment(void **state)
{
    char *u = cloud_quick_create_url("https://b.s3.amazonaws.com/t.json", "eu-west-1",
                                     "111122223333", "parapet-abc");
    (void)state;
    assert_non_null(u);
    assert_non_null(strstr(u, "region=eu-west-1#/stacks/quickcreate?"));
    assert_non_null(strstr(u, "templateURL=https%3A%2F%2Fb.s3.amazonaws.com%2Ft.json"));
    assert_non_null(strstr(u, "&param_ExternalId=parapet-abc"));
    assert_non_null(strstr(u, "&param_VendorAccountId=111122223333"));
    free(u);
    assert_null(cloud_quick_create_url(NULL, "eu-west-1", "111122223333", "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regions_of_the_commercial_partition_are_known),
        cmocka_unit_test(test_account_ids_are_twelve_digits),
        cmocka_unit_test(test_role_arns_are_parsed_strictly),
        cmocka_unit_test(test_external_ids_are_long_random_and_distinct),
        cmocka_unit_test(test_template_trusts_the_vendor_on_condition_of_the_external_id),
        cmocka_unit_test(test_quick_create_url_prefills_parameters_in_the_fragment),
    };
    return cmocka_run_group_tests_name("unit/cloud/onboarding", tests, NULL, NULL);
}
