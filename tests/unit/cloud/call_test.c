/* cloud/call.c's pure helpers: the Query protocol's XML, percent-encoding and form bodies. */
#include "cloud/aws.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char role_xml[] =
    "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
    "<GetRoleResult><Role><Path>/</Path>"
    "<AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D</AssumeRolePolicyDocument>"
    "<RoleName>a&amp;b&lt;c&gt;</RoleName><Empty/>"
    "<Arn>arn:aws:iam::444455556666:role/payments</Arn></Role></GetRoleResult>"
    "<AttachedPolicies><member><PolicyName>one</PolicyName></member>"
    "<member><PolicyName>two</PolicyName></member></AttachedPolicies>"
    "</GetRoleResponse>";

static void test_xml_text_decodes_entities_and_finds_nested_elements(void **state)
{
    const char *end = role_xml + strlen(role_xml);
    char v[128];
    (void)state;

    assert_true(cloud_xml_text(role_xml, end, "RoleName", v, sizeof v));
    assert_string_equal(v, "a&b<c>");
    assert_true(cloud_xml_text(role_xml, end, "Arn", v, sizeof v));
    assert_string_equal(v, "arn:aws:iam::444455556666:role/payments");
    assert_true(cloud_xml_text(role_xml, end, "Empty", v, sizeof v));
    assert_string_equal(v, "");
    assert_false(cloud_xml_text(role_xml, end, "Missing", v, sizeof v));
    /* A prefix of another tag's name is not that tag. */
    assert_false(cloud_xml_text(role_xml, end, "Rol", v, sizeof v));
    /* Too long for the buffer: refused, not truncated. */
    assert_false(cloud_xml_text(role_xml, end, "Arn", v, 8));
}

static void test_xml_find_walks_members(void **state)
{
    const char *end = role_xml + strlen(role_xml), *cs, *ce, *ms, *me;
    char v[32];
    int n = 0;
    (void)state;

    assert_true(cloud_xml_find(role_xml, end, "AttachedPolicies", &cs, &ce));
    while (cloud_xml_find(cs, ce, "member", &ms, &me)) {
        assert_true(cloud_xml_text(ms, me, "PolicyName", v, sizeof v));
        assert_string_equal(v, n == 0 ? "one" : "two");
        cs = me + strlen("</member>");
        n++;
    }
    assert_int_equal(n, 2);
}

static void test_xml_is_safe_on_truncated_input(void **state)
{
    const char *cs, *ce;
    char v[64];
    (void)state;

    for (size_t cut = 0; cut < strlen(role_xml); cut++) {
        (void)cloud_xml_find(role_xml, role_xml + cut, "Arn", &cs, &ce);
        if (cloud_xml_text(role_xml, role_xml + cut, "Arn", v, sizeof v))
            assert_string_equal(v, "arn:aws:iam::444455556666:role/payments");
    }
}

static void test_percent_encoding_round_trips(void **state)
{
    char enc[256], *dec;
    (void)state;

    assert_true(cloud_pct_encode("arn:aws:lambda:us-east-1:1:function:f a+b/ü", enc, sizeof enc));
    assert_string_equal(enc, "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af%20a%2Bb%2F%C3%BC");
    dec = cloud_pct_decode(enc);
    assert_string_equal(dec, "arn:aws:lambda:us-east-1:1:function:f a+b/ü");
    free(dec);
    /* '+' is not a space in IAM's documents; broken escapes stay as they are. */
    dec = cloud_pct_decode("a+b%2%zz%41");
    assert_string_equal(dec, "a+b%2%zzA");
    free(dec);
    assert_false(cloud_pct_encode("::::", enc, 8));
}

static void test_form_bodies(void **state)
{
    char buf[64];
    size_t len = 0;
    (void)state;

    assert_true(cloud_form_add(buf, sizeof buf, &len, "Action", "GetRole"));
    assert_true(cloud_form_add(buf, sizeof buf, &len, "RoleName", "a b/c"));
    assert_string_equal(buf, "Action=GetRole&RoleName=a%20b%2Fc");
    assert_int_equal(len, strlen(buf));
    assert_false(cloud_form_add(buf, sizeof buf, &len, "Marker", "0123456789012345678901234567890123456789"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_text_decodes_entities_and_finds_nested_elements),
        cmocka_unit_test(test_xml_find_walks_members),
        cmocka_unit_test(test_xml_is_safe_on_truncated_input),
        cmocka_unit_test(test_percent_encoding_round_trips),
        cmocka_unit_test(test_form_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
