/* posture/iam.c: statement matching, Deny overriding Allow, conditions that restrict and those
 * that do not, principals, AWS managed policies, and malformed documents. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "posture/posture.h"

#include <string.h>

static enum posture_iam_decision eval1(const char *doc_text, const char *action,
                                       const char *resource, const char *context_text)
{
    json_error_t e;
    json_t *doc = json_loads(doc_text, JSON_DECODE_ANY, &e);
    json_t *ctx = context_text != NULL ? json_loads(context_text, 0, NULL) : NULL;
    const json_t *docs[1] = {doc};
    if (doc == NULL)
        fail_msg("bad test document: %s", e.text);
    enum posture_iam_decision d = posture_iam_evaluate(docs, 1, action, resource, ctx, NULL, NULL);
    json_decref(ctx);
    json_decref(doc);
    return d;
}

#define ALLOW POSTURE_IAM_ALLOW
#define DENY POSTURE_IAM_EXPLICIT_DENY
#define NONE POSTURE_IAM_IMPLICIT_DENY

static void test_glob_wildcards(void **state)
{
    (void)state;
    assert_true(posture_iam_glob("s3:Get*", "s3:GetObject", false));
    assert_true(posture_iam_glob("s3:get*", "S3:GetObject", true));
    assert_false(posture_iam_glob("s3:get*", "S3:GetObject", false));
    assert_true(posture_iam_glob("iam:?etRole", "iam:GetRole", true));
    assert_false(posture_iam_glob("iam:?etRole", "iam:GGetRole", true));
    assert_true(posture_iam_glob("*", "", false));
    assert_true(posture_iam_glob("arn:aws:s3:::b/*/x*", "arn:aws:s3:::b/a/b/xyz", false));
    assert_false(posture_iam_glob("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/a/b/xyz", false));
    assert_true(posture_iam_glob("a*b*c", "aXbYbZc", false));
    assert_false(posture_iam_glob("", "a", false));
}

static void test_action_and_resource_matching(void **state)
{
    (void)state;
    const char *doc = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"S3:get*\","
                      "\"dynamodb:Query\"],\"Resource\":\"arn:aws:s3:::data/*\"}]}";
    assert_int_equal(eval1(doc, "s3:GetObject", "arn:aws:s3:::data/k", NULL), ALLOW);
    assert_int_equal(eval1(doc, "s3:PutObject", "arn:aws:s3:::data/k", NULL), NONE);
    assert_int_equal(eval1(doc, "s3:GetObject", "arn:aws:s3:::other/k", NULL), NONE);
    /* resources are case-sensitive */
    assert_int_equal(eval1(doc, "s3:GetObject", "arn:aws:s3:::DATA/k", NULL), NONE);
    /* Action as a string, Statement as an object */
    assert_int_equal(eval1("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
                           "\"Resource\":\"*\"}}",
                           "iam:CreateUser", "arn:aws:iam::1:user/x", NULL),
                     ALLOW);
}

static void test_not_action_and_not_resource(void **state)
{
    (void)state;
    const char *power = "{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":[\"iam:*\","
                        "\"organizations:*\"],\"Resource\":\"*\"}}";
    assert_int_equal(eval1(power, "s3:DeleteBucket", "arn:aws:s3:::b", NULL), ALLOW);
    assert_int_equal(eval1(power, "iam:PassRole", "arn:aws:iam::1:role/r", NULL), NONE);
    assert_int_equal(eval1(power, "IAM:PassRole", "arn:aws:iam::1:role/r", NULL), NONE);
    const char *notres = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                         "\"NotResource\":\"arn:aws:s3:::secret/*\"}}";
    assert_int_equal(eval1(notres, "s3:GetObject", "arn:aws:s3:::public/x", NULL), ALLOW);
    assert_int_equal(eval1(notres, "s3:GetObject", "arn:aws:s3:::secret/x", NULL), NONE);
}

static void test_deny_overrides_allow_but_conditional_deny_does_not(void **state)
{
    (void)state;
    const char *doc = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"},"
                      "{\"Effect\":\"Deny\",\"Action\":\"iam:*\",\"Resource\":\"*\"}]}";
    assert_int_equal(eval1(doc, "iam:AttachRolePolicy", "arn:aws:iam::1:role/r", NULL), DENY);
    assert_int_equal(eval1(doc, "s3:GetObject", "arn:aws:s3:::b/k", NULL), ALLOW);
    /* a Deny that applies only outside one region does not remove the permission */
    const char *cond = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:*\",\"Resource\":"
                       "\"*\"},{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\","
                       "\"Condition\":{\"StringNotEquals\":{\"aws:RequestedRegion\":"
                       "\"eu-west-1\"}}}]}";
    assert_int_equal(eval1(cond, "iam:PutRolePolicy", "arn:aws:iam::1:role/r", NULL), ALLOW);
    /* Deny in another document of the set overrides too */
    json_t *a = json_loads("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                           "\"Resource\":\"*\"}}",
                           0, NULL);
    json_t *d = json_loads("{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"s3:Delete*\","
                           "\"Resource\":\"*\"}}",
                           0, NULL);
    const json_t *docs[2] = {a, d};
    const json_t *stmt = NULL;
    size_t which = 9;
    assert_int_equal(
        posture_iam_evaluate(docs, 2, "s3:DeleteObject", "arn:aws:s3:::b/k", NULL, NULL, NULL),
        DENY);
    assert_int_equal(
        posture_iam_evaluate(docs, 2, "s3:GetObject", "arn:aws:s3:::b/k", NULL, &stmt, &which),
        ALLOW);
    assert_ptr_equal(stmt, json_object_get(a, "Statement"));
    assert_int_equal(which, 0);
    json_decref(a);
    json_decref(d);
}

static bool cond_met(const char *cond, const char *ctx_text)
{
    json_t *c = json_loads(cond, JSON_DECODE_ANY, NULL);
    json_t *ctx = ctx_text != NULL ? json_loads(ctx_text, 0, NULL) : NULL;
    bool met = posture_iam_condition_met(c, ctx);
    json_decref(c);
    json_decref(ctx);
    return met;
}

static void test_restricting_conditions(void **state)
{
    (void)state;
    /* source and principal keys an outside caller does not control restrict */
    assert_false(cond_met("{\"StringEquals\":{\"aws:SourceAccount\":\"444455556666\"}}", NULL));
    assert_false(cond_met("{\"ArnLike\":{\"AWS:SourceArn\":\"arn:aws:s3:::bucket\"}}", NULL));
    assert_false(cond_met("{\"StringEquals\":{\"aws:PrincipalOrgID\":\"o-abc\"}}", NULL));
    assert_false(cond_met("{\"StringEquals\":{\"aws:SourceOwner\":\"444455556666\"}}", NULL));
    assert_false(cond_met("{\"StringEquals\":{\"aws:PrincipalAccount\":\"444455556666\"}}", "{}"));
    assert_false(cond_met("{\"StringEquals\":{\"sts:ExternalId\":\"x\"}}", NULL));
    assert_false(cond_met("{\"StringEquals\":{\"lambda:FunctionUrlAuthType\":\"NONE\"}}", NULL));
    /* known context values are compared */
    assert_true(cond_met("{\"StringEquals\":{\"lambda:FunctionUrlAuthType\":\"NONE\"}}",
                         "{\"lambda:FunctionUrlAuthType\":\"NONE\"}"));
    assert_false(cond_met("{\"StringEquals\":{\"lambda:FunctionUrlAuthType\":\"AWS_IAM\"}}",
                          "{\"lambda:FunctionUrlAuthType\":\"NONE\"}"));
    assert_true(cond_met("{\"StringEquals\":{\"iam:PassedToService\":[\"ec2.amazonaws.com\","
                         "\"lambda.amazonaws.com\"]}}",
                         "{\"iam:passedtoservice\":\"lambda.amazonaws.com\"}"));
    assert_true(cond_met("{\"StringLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::1:role/app-*\"}}",
                         "{\"aws:PrincipalArn\":\"arn:aws:iam::1:role/app-x\"}"));
    assert_false(cond_met("{\"StringNotEquals\":{\"aws:PrincipalAccount\":\"444455556666\"}}",
                          "{\"aws:PrincipalAccount\":\"444455556666\"}"));
    /* every key of every operator must hold */
    assert_false(cond_met("{\"Bool\":{\"aws:SecureTransport\":\"true\"},\"StringEquals\":"
                          "{\"aws:SourceAccount\":\"1\"}}",
                          NULL));
}

static void test_conditions_that_do_not_restrict(void **state)
{
    (void)state;
    /* attacker-controlled keys */
    assert_true(cond_met("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}", NULL));
    assert_true(cond_met("{\"StringEquals\":{\"aws:RequestedRegion\":\"us-east-1\"}}", NULL));
    /* wildcard-only values, wildcard accounts and policy variables */
    assert_true(cond_met("{\"StringLike\":{\"aws:SourceAccount\":\"*\"}}", NULL));
    assert_true(cond_met("{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:sns:*:*:topic\"}}", NULL));
    assert_true(cond_met("{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:s3:::*\"}}", NULL));
    assert_false(cond_met("{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:execute-api:us-east-1:"
                          "444455556666:api/*/GET/x\"}}",
                          NULL));
    assert_true(
        cond_met("{\"StringEquals\":{\"aws:PrincipalTag/team\":\"${aws:username}\"}}", NULL));
    /* negated operators, IfExists and Null on a key the request does not carry */
    assert_true(cond_met("{\"StringNotEquals\":{\"aws:SourceAccount\":\"1\"}}", NULL));
    assert_true(cond_met("{\"StringEqualsIfExists\":{\"aws:SourceAccount\":\"1\"}}", NULL));
    assert_true(cond_met("{\"Null\":{\"aws:SourceArn\":\"true\"}}", NULL));
    assert_false(cond_met("{\"Null\":{\"aws:SourceArn\":\"false\"}}", NULL));
    assert_true(cond_met("{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/0\"}}", NULL));
    assert_false(cond_met("{\"IpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"}}", NULL));
    assert_true(cond_met("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"a\"]}}", NULL));
    assert_true(cond_met(NULL, NULL));
    assert_true(cond_met("null", NULL));
    /* malformed blocks are not applied */
    assert_false(cond_met("[]", NULL));
    assert_false(cond_met("{\"StringEquals\":\"aws:SourceAccount\"}", NULL));
}

static void test_conditions_in_statements(void **state)
{
    (void)state;
    const char *passrole = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\","
                           "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":"
                           "{\"iam:PassedToService\":\"lambda.amazonaws.com\"}}}}";
    assert_int_equal(eval1(passrole, "iam:PassRole", "arn:aws:iam::1:role/admin",
                           "{\"iam:PassedToService\":\"lambda.amazonaws.com\"}"),
                     ALLOW);
    assert_int_equal(eval1(passrole, "iam:PassRole", "arn:aws:iam::1:role/admin",
                           "{\"iam:PassedToService\":\"ec2.amazonaws.com\"}"),
                     NONE);
    assert_int_equal(eval1(passrole, "iam:PassRole", "arn:aws:iam::1:role/admin", NULL), NONE);
}

static void test_malformed_documents(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "null",
        "7",
        "\"policy\"",
        "[]",
        "{}",
        "{\"Statement\":\"x\"}",
        "{\"Statement\":[1,null,\"s\"]}",
        "{\"Statement\":{\"Effect\":\"Allow\"}}",
        "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":5,\"Resource\":\"*\"}}",
        "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[1,{}],\"Resource\":\"*\"}}",
        "{\"Statement\":{\"Effect\":5,\"Action\":\"*\",\"Resource\":\"*\"}}",
        "{\"Statement\":{\"Effect\":\"allow\",\"Action\":\"*\",\"Resource\":\"*\"}}",
        "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":[]}"
        "}",
        "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":7}}",
        NULL};
    for (size_t i = 0; docs[i] != NULL; i++)
        assert_int_equal(eval1(docs[i], "s3:GetObject", "arn:aws:s3:::b/k", NULL), NONE);
    json_t *st = posture_iam_statements(NULL);
    assert_int_equal(json_array_size(st), 0);
    json_decref(st);
    assert_int_equal(posture_iam_evaluate(NULL, 0, "s3:GetObject", "x", NULL, NULL, NULL), NONE);
}

struct seen {
    int pub, acct, svc, none;
    char acct_id[13];
};

static void count_principal(void *arg, enum posture_principal kind, const char *value,
                            const char *account)
{
    struct seen *s = arg;
    (void)value;
    switch (kind) {
    case POSTURE_PRINCIPAL_PUBLIC:
        s->pub++;
        break;
    case POSTURE_PRINCIPAL_ACCOUNT:
        s->acct++;
        memcpy(s->acct_id, account, 13);
        break;
    case POSTURE_PRINCIPAL_SERVICE:
        s->svc++;
        break;
    default:
        s->none++;
    }
}

static struct seen principals(const char *stmt_text)
{
    struct seen s = {0};
    json_t *st = json_loads(stmt_text, 0, NULL);
    assert_non_null(st);
    posture_iam_principals(st, count_principal, &s);
    json_decref(st);
    return s;
}

static void test_principals_are_classified(void **state)
{
    (void)state;
    struct seen s = principals("{\"Principal\":\"*\"}");
    assert_int_equal(s.pub, 1);
    s = principals("{\"Principal\":{\"AWS\":\"*\"}}");
    assert_int_equal(s.pub, 1);
    s = principals("{\"Principal\":{\"AWS\":[\"123456789012\",\"arn:aws:iam::210987654321:role/x\","
                   "7,\"bogus\"],\"Service\":\"s3.amazonaws.com\",\"Federated\":\"cognito\"}}");
    assert_int_equal(s.acct, 2);
    assert_string_equal(s.acct_id, "210987654321");
    assert_int_equal(s.svc, 1);
    assert_int_equal(s.none, 2);
    s = principals("{\"Principal\":5}");
    assert_int_equal(s.pub + s.acct + s.svc + s.none, 0);
    s = principals("{\"NotPrincipal\":\"*\"}");
    assert_int_equal(s.pub, 0);
}

static void test_managed_policies(void **state)
{
    (void)state;
    json_t *admin = posture_iam_managed_doc("arn:aws:iam::aws:policy/AdministratorAccess");
    json_t *power = posture_iam_managed_doc("arn:aws:iam::aws:policy/PowerUserAccess");
    json_t *invoke = posture_iam_managed_doc("arn:aws:iam::aws:policy/service-role/AWSLambdaRole");
    const json_t *d1[1] = {admin}, *d2[1] = {power}, *d3[1] = {invoke};

    assert_non_null(admin);
    assert_int_equal(posture_iam_evaluate(d1, 1, "iam:CreateUser", "*", NULL, NULL, NULL), ALLOW);
    assert_int_equal(posture_iam_evaluate(d2, 1, "iam:CreateUser", "*", NULL, NULL, NULL), NONE);
    assert_int_equal(
        posture_iam_evaluate(d2, 1, "lambda:UpdateFunctionCode", "*", NULL, NULL, NULL), ALLOW);
    assert_int_equal(posture_iam_evaluate(d3, 1, "lambda:InvokeFunction", "*", NULL, NULL, NULL),
                     ALLOW);
    assert_true(posture_iam_managed_is_broad("arn:aws:iam::aws:policy/IAMFullAccess"));
    assert_true(posture_iam_managed_is_broad("arn:aws:iam::aws:policy/AmazonS3FullAccess"));
    assert_false(
        posture_iam_managed_is_broad("arn:aws:iam::aws:policy/service-role/AWSLambdaRole"));
    assert_false(
        posture_iam_managed_is_broad("arn:aws:iam::444455556666:policy/AdministratorAccess"));
    assert_null(posture_iam_managed_doc("arn:aws:iam::444455556666:policy/AdministratorAccess"));
    assert_null(posture_iam_managed_doc(NULL));
    json_decref(admin);
    json_decref(power);
    json_decref(invoke);
}

static void test_role_documents_and_names(void **state)
{
    (void)state;
    json_t *role = json_loads(
        "{\"Arn\":\"arn:aws:iam::1:role/r\",\"InlinePolicies\":[{\"PolicyName\":\"a\","
        "\"Document\":{\"Statement\":[]}},{\"PolicyName\":\"bad\",\"Document\":\"x\"}],"
        "\"AttachedPolicies\":[{\"PolicyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"},"
        "{\"PolicyArn\":\"arn:aws:iam::1:policy/custom\"},{\"PolicyArn\":\"arn:aws:iam::1:policy/"
        "p2\",\"Document\":{\"Statement\":{}}}]}",
        0, NULL);
    json_t *names = NULL;
    json_t *docs = posture_iam_role_docs_new(role, &names);
    assert_int_equal(json_array_size(docs), 3);
    assert_int_equal(json_array_size(names), 3);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "inline:a");
    assert_string_equal(json_string_value(json_array_get(names, 1)),
                        "arn:aws:iam::aws:policy/AdministratorAccess");
    assert_string_equal(json_string_value(json_array_get(names, 2)), "arn:aws:iam::1:policy/p2");
    json_decref(docs);
    json_decref(names);
    docs = posture_iam_role_docs_new(NULL, NULL);
    assert_int_equal(json_array_size(docs), 0);
    json_decref(docs);
    json_decref(role);
}

static bool binds(const char *cond)
{
    json_t *c = cond != NULL ? json_loads(cond, JSON_DECODE_ANY, NULL) : NULL;
    bool b = posture_iam_condition_binds_outsider(c);
    json_decref(c);
    return b;
}

static void test_deny_conditions_that_bind_outsiders(void **state)
{
    (void)state;
    assert_true(binds(NULL));
    assert_true(binds("{}"));
    /* allow-lists: deny unless from these networks, this endpoint, this organisation */
    assert_true(binds("{\"NotIpAddress\":{\"aws:SourceIp\":[\"203.0.113.0/24\"]}}"));
    assert_true(binds("{\"StringNotEquals\":{\"aws:SourceVpce\":\"vpce-1a2b3c4d\"}}"));
    assert_true(binds("{\"StringNotEquals\":{\"aws:PrincipalOrgID\":\"o-abc\"}}"));
    /* the caller can avoid these denies */
    assert_false(binds("{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"));
    assert_false(binds("{\"StringNotEquals\":{\"aws:RequestedRegion\":\"eu-west-1\"}}"));
    assert_false(binds("{\"StringEquals\":{\"aws:SourceAccount\":\"1\"}}"));
    assert_false(binds("{\"StringNotEqualsIfExists\":{\"aws:SourceVpce\":\"vpce-1\"}}"));
    assert_false(binds("{\"NotIpAddress\":{\"aws:SourceIp\":\"0.0.0.0/0\"}}"));
    assert_false(binds("[]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_wildcards),
        cmocka_unit_test(test_action_and_resource_matching),
        cmocka_unit_test(test_not_action_and_not_resource),
        cmocka_unit_test(test_deny_overrides_allow_but_conditional_deny_does_not),
        cmocka_unit_test(test_restricting_conditions),
        cmocka_unit_test(test_conditions_that_do_not_restrict),
        cmocka_unit_test(test_conditions_in_statements),
        cmocka_unit_test(test_deny_conditions_that_bind_outsiders),
        cmocka_unit_test(test_malformed_documents),
        cmocka_unit_test(test_principals_are_classified),
        cmocka_unit_test(test_managed_policies),
        cmocka_unit_test(test_role_documents_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
