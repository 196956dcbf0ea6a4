/* posture/rules.c and posture/eval.c: the table is complete, every rule fires on the positive
 * fixture exactly as the golden file says (so a new false positive fails too), every rule stays
 * quiet on its near-miss resources, evidence never carries a whole secret, and malformed
 * snapshots never crash. Fixtures: tests/data/posture/ (snapshots in posture/inventory.md's
 * shapes). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "posture/posture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA "tests/data/posture/"
#define NOW ((time_t)1800057600) /* 2027-01-15T00:00:00Z */

static void collect(void *ctx, const struct posture_rule *rule, const char *arn,
                    const char *subject, json_t *evidence)
{
    json_t *out = ctx;
    assert_non_null(rule);
    assert_non_null(arn);
    assert_non_null(subject);
    assert_true(json_is_object(evidence));
    json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o}", "rule", rule->id, "arn", arn,
                                         "subject", subject, "evidence", evidence));
}

static json_t *load(const char *name)
{
    char path[256];
    json_error_t e;
    snprintf(path, sizeof path, DATA "%s", name);
    json_t *doc = json_load_file(path, 0, &e);
    if (doc == NULL)
        fail_msg("%s:%d: %s", path, e.line, e.text);
    return doc;
}

static json_t *evaluate(const json_t *snapshot)
{
    json_t *out = json_array();
    posture_evaluate(snapshot, NOW, collect, out);
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted "RULE<TAB>ARN<TAB>SUBJECT" lines, newline-terminated, in one malloc'd string. */
static char *fingerprints(const json_t *findings)
{
    size_t n = json_array_size(findings), total = 1;
    char **lines = calloc(n + 1, sizeof *lines);
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(findings, i);
        size_t len = strlen(json_string_value(json_object_get(f, "rule"))) +
                     strlen(json_string_value(json_object_get(f, "arn"))) +
                     strlen(json_string_value(json_object_get(f, "subject"))) + 4;
        lines[i] = malloc(len);
        snprintf(lines[i], len, "%s\t%s\t%s\n", json_string_value(json_object_get(f, "rule")),
                 json_string_value(json_object_get(f, "arn")),
                 json_string_value(json_object_get(f, "subject")));
        total += len;
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    char *out = malloc(total), *p = out;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(p, lines[i], l);
        p += l;
        free(lines[i]);
    }
    *p = '\0';
    free(lines);
    return out;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static void test_table_has_35_rules_unique_ids_every_category(void **state)
{
    static const char *const categories[] = {"iam-overprivileged",
                                             "iam-shared-role",
                                             "iam-privilege-escalation",
                                             "secrets-in-env",
                                             "env-encryption",
                                             "runtime-deprecated",
                                             "public-invoke",
                                             "cross-account-invoke",
                                             "unauthenticated-route",
                                             "cors-permissive",
                                             "vulnerable-dependency",
                                             "untrusted-layer",
                                             "denial-of-wallet",
                                             "no-failure-destination",
                                             "tracing-disabled",
                                             NULL};
    static const char *const types[] = {"aws.lambda.function", "aws.iam.role",
                                        "aws.apigateway.http_api", "aws.apigateway.rest_api", NULL};
    (void)state;

    assert_true(posture_rules_count >= 35);
    for (size_t i = 0; i < posture_rules_count; i++) {
        const struct posture_rule *r = &posture_rules[i];
        assert_true(strncmp(r->id, "PAR-", 4) == 0);
        assert_true(strlen(r->id) >= 10);
        for (size_t j = i + 1; j < posture_rules_count; j++)
            assert_string_not_equal(r->id, posture_rules[j].id);
        assert_ptr_equal(posture_rule_get(r->id), r);
        assert_true(r->title[0] != '\0' && r->risk[0] != '\0');
        assert_true(strlen(r->remediation_short) > 10 && strlen(r->remediation_long) > 10);
        assert_non_null(r->references);
        assert_non_null(r->references[0]);
        assert_non_null(r->check);
        assert_true(r->severity <= POSTURE_SEV_CRITICAL);
        bool known_cat = false, known_type = false;
        for (size_t c = 0; categories[c] != NULL; c++)
            known_cat = known_cat || strcmp(categories[c], r->category) == 0;
        for (size_t t = 0; types[t] != NULL; t++)
            known_type = known_type || strcmp(types[t], r->resource_type) == 0;
        assert_true(known_cat);
        assert_true(known_type);
    }
    for (size_t c = 0; categories[c] != NULL; c++) {
        bool present = false;
        for (size_t i = 0; i < posture_rules_count; i++)
            present = present || strcmp(posture_rules[i].category, categories[c]) == 0;
        if (!present)
            fail_msg("no rule in category %s", categories[c]);
    }
    assert_null(posture_rule_get("PAR-NOPE-001"));
    assert_null(posture_rule_get(NULL));
}

static void test_rules_json_lists_the_table(void **state)
{
    json_t *rules = posture_rules_json();
    (void)state;

    assert_int_equal(json_array_size(rules), posture_rules_count);
    for (size_t i = 0; i < posture_rules_count; i++) {
        json_t *r = json_array_get(rules, i);
        assert_string_equal(json_string_value(json_object_get(r, "id")), posture_rules[i].id);
        assert_string_equal(json_string_value(json_object_get(r, "severity")),
                            posture_severity_name(posture_rules[i].severity));
        assert_true(json_array_size(json_object_get(r, "references")) > 0);
        assert_non_null(json_string_value(json_object_get(r, "remediation_short")));
        assert_non_null(json_string_value(json_object_get(r, "remediation_long")));
        assert_non_null(json_string_value(json_object_get(r, "risk")));
        assert_non_null(json_string_value(json_object_get(r, "category")));
        assert_non_null(json_string_value(json_object_get(r, "resource_type")));
    }
    json_decref(rules);
}

/* Set PARAPET_REGEN=1 to rewrite the golden file after a deliberate change (then review it). */
static void test_positive_fixture_matches_golden(void **state)
{
    json_t *snap = load("positive.json");
    json_t *findings = evaluate(snap);
    char *got = fingerprints(findings);
    (void)state;

    if (getenv("PARAPET_REGEN") != NULL) {
        FILE *f = fopen(DATA "positive.expected", "wb");
        fputs(got, f);
        fclose(f);
    }
    char *want = read_file(DATA "positive.expected");
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "findings differ from " DATA "positive.expected; got:\n%s", got);
        fail();
    }
    for (size_t i = 0; i < posture_rules_count; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "%s\t", posture_rules[i].id);
        if (strncmp(want, needle, strlen(needle)) != 0 && strstr(want, needle) == NULL)
            fail_msg("rule %s never fires on the positive fixture", posture_rules[i].id);
    }
    free(want);
    free(got);
    json_decref(findings);
    json_decref(snap);
}

static void test_fingerprints_are_unique_and_deterministic(void **state)
{
    json_t *snap = load("positive.json");
    json_t *a = evaluate(snap), *b = evaluate(snap);
    char *fa = fingerprints(a), *fb = fingerprints(b);
    (void)state;

    assert_string_equal(fa, fb);
    for (char *line = fa; *line != '\0';) {
        char *end = strchr(line, '\n');
        *end = '\0';
        char *next = end + 1;
        if (*next != '\0') {
            char *nend = strchr(next, '\n');
            assert_false(strncmp(line, next, (size_t)(nend - next)) == 0 &&
                         strlen(line) == (size_t)(nend - next));
        }
        line = next;
    }
    free(fa);
    free(fb);
    json_decref(a);
    json_decref(b);
    json_decref(snap);
}

/* The near-miss resources: rules they name in Tags["near-miss"] / Description / description. */
static const char *near_miss_of(const json_t *snap, const char *arn)
{
    size_t i;
    json_t *v;
    char buf[256];

    json_array_foreach(json_object_get(snap, "functions"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "FunctionArn")), arn) == 0)
            return json_string_value(json_object_get(json_object_get(v, "Tags"), "near-miss"));
    }
    json_array_foreach(json_object_get(snap, "roles"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "Arn")), arn) == 0)
            return json_string_value(json_object_get(v, "Description"));
    }
    json_array_foreach(json_object_get(snap, "http_apis"), i, v)
    {
        snprintf(buf, sizeof buf, "arn:aws:apigateway:us-east-1::/apis/%s",
                 json_string_value(json_object_get(v, "apiId")));
        if (strcmp(buf, arn) == 0)
            return json_string_value(json_object_get(v, "description"));
    }
    json_array_foreach(json_object_get(snap, "rest_apis"), i, v)
    {
        snprintf(buf, sizeof buf, "arn:aws:apigateway:us-east-1::/restapis/%s",
                 json_string_value(json_object_get(v, "id")));
        if (strcmp(buf, arn) == 0)
            return json_string_value(json_object_get(v, "description"));
    }
    return NULL;
}

static void test_every_rule_stays_quiet_on_its_near_misses(void **state)
{
    json_t *snap = load("near_miss.json");
    json_t *findings = evaluate(snap);
    char *all = json_dumps(snap, 0);
    size_t i;
    json_t *f;
    (void)state;

    json_array_foreach(findings, i, f)
    {
        const char *rule = json_string_value(json_object_get(f, "rule"));
        const char *arn = json_string_value(json_object_get(f, "arn"));
        const char *nm = near_miss_of(snap, arn);
        if (nm != NULL && strstr(nm, rule) != NULL)
            fail_msg("%s fired on its near miss %s (subject %s)", rule, arn,
                     json_string_value(json_object_get(f, "subject")));
    }
    for (size_t r = 0; r < posture_rules_count; r++) {
        if (strstr(all, posture_rules[r].id) == NULL)
            fail_msg("rule %s has no near-miss resource", posture_rules[r].id);
    }
    free(all);
    json_decref(findings);
    json_decref(snap);
}

static void test_evidence_masks_secrets(void **state)
{
    json_t *snap = load("positive.json");
    json_t *findings = evaluate(snap);
    char *all = json_dumps(findings, 0);
    static const char *const secrets[] = {"AKIA2E3MPLQ7ZRT4XW5N",
                                          "q8Rk2vXz+7LmN4pT9wYb3Hc6Jd1Fg5Ks0Ae/UiOo",
                                          "sk_live_51HqX9kLmN2pQ7rS4tU8vW1xY3zA6bC9d",
                                          "ghp_R8sT2uV5wX9yZ3aB6cD1eF4gH7iJ0kL2mN5o",
                                          "Xq7!vR2pLm9s",
                                          "k3P9xQ2mZ7vR4tY8wL1nB6cF",
                                          NULL};
    (void)state;

    for (size_t i = 0; secrets[i] != NULL; i++) {
        if (strstr(all, secrets[i]) != NULL)
            fail_msg("evidence contains the secret %.4s...", secrets[i]);
    }
    assert_non_null(
        strstr(all, "\"Environment.Variables.AWS_ACCESS_KEY_ID\": \"AKIA*** (20 chars)\""));
    assert_non_null(strstr(all, "postgres://app:****@payments.cluster"));
    free(all);
    json_decref(findings);
    json_decref(snap);
}

/* Replaces every node of the positive snapshot, one at a time, with values of the wrong type:
 * evaluation must never crash or leak (run under ASan) whatever the shape. */
static void mutate_walk(json_t *root, json_t *node, size_t depth, size_t *runs)
{
    static const char *const replacements[] = {"null", "7",  "\"x\"",
                                               "[]",   "{}", "[1,{\"a\":null}]"};
    const char *key;
    json_t *child;
    size_t i;

    if (depth > 7)
        return;
    if (json_is_object(node)) {
        void *tmp;
        json_object_foreach_safe(node, tmp, key, child)
        {
            json_t *saved = json_incref(child);
            for (size_t r = 0; r < sizeof replacements / sizeof replacements[0]; r++) {
                json_object_set_new(node, key, json_loads(replacements[r], JSON_DECODE_ANY, NULL));
                json_t *out = evaluate(root);
                json_decref(out);
                (*runs)++;
            }
            json_object_set(node, key, saved);
            mutate_walk(root, saved, depth + 1, runs);
            json_decref(saved);
        }
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, child)
        {
            json_t *saved = json_incref(child);
            json_array_set_new(node, i, json_string("x"));
            json_decref(evaluate(root));
            json_array_set_new(node, i, json_integer(3));
            json_decref(evaluate(root));
            (*runs) += 2;
            json_array_set(node, i, saved);
            mutate_walk(root, saved, depth + 1, runs);
            json_decref(saved);
        }
    }
}

/* Findings of one rule for a one-function snapshot built from a Policy and UrlConfig. */
static size_t count_rule(const char *rule, const char *fn_extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"account_id\":\"444455556666\",\"region\":\"us-east-1\",\"functions\":[{"
             "\"FunctionArn\":\"arn:aws:lambda:us-east-1:444455556666:function:f\","
             "\"TracingConfig\":{\"Mode\":\"Active\"},\"ReservedConcurrentExecutions\":5%s}]}",
             fn_extra);
    json_error_t e;
    json_t *snap = json_loads(text, 0, &e);
    if (snap == NULL)
        fail_msg("bad snapshot: %s", e.text);
    json_t *f = evaluate(snap);
    size_t n = 0, i;
    json_t *x;
    json_array_foreach(f, i, x)
    {
        n += strcmp(json_string_value(json_object_get(x, "rule")), rule) == 0;
    }
    json_decref(f);
    json_decref(snap);
    return n;
}

#define URL_NONE ",\"UrlConfig\":{\"AuthType\":\"NONE\"}"
#define PUB_URL_STMT                                                                               \
    "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunctionUrl\","           \
    "\"Condition\":{\"StringEquals\":{\"lambda:FunctionUrlAuthType\":\"NONE\"}}}"

static void test_function_url_is_public_only_when_the_policy_opens_it(void **state)
{
    (void)state;
    /* AuthType NONE without a policy statement: AWS answers 403 to everyone */
    assert_int_equal(count_rule("PAR-PUB-002", URL_NONE), 0);
    assert_int_equal(
        count_rule("PAR-PUB-002", URL_NONE ",\"Policy\":{\"Statement\":[" PUB_URL_STMT "]}"), 1);
    /* an unconditional Deny to everyone closes it; a Deny to one role does not */
    assert_int_equal(count_rule("PAR-PUB-002",
                                URL_NONE ",\"Policy\":{\"Statement\":[" PUB_URL_STMT
                                         ",{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"*\"},"
                                         "\"Action\":\"lambda:*\"}]}"),
                     0);
    assert_int_equal(count_rule("PAR-PUB-002", URL_NONE
                                ",\"Policy\":{\"Statement\":[" PUB_URL_STMT
                                ",{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":"
                                "\"arn:aws:iam::444455556666:role/x\"},\"Action\":\"lambda:*\"}]}"),
                     1);
    /* the URL statement does not open the Invoke API itself */
    assert_int_equal(
        count_rule("PAR-PUB-001", URL_NONE ",\"Policy\":{\"Statement\":[" PUB_URL_STMT "]}"), 0);
    /* Statement as an object, Action as an array, Principal {"AWS": ["*"]} */
    assert_int_equal(
        count_rule("PAR-PUB-001",
                   ",\"Policy\":{\"Statement\":{\"Sid\":\"s\",\"Effect\":\"Allow\","
                   "\"Principal\":{\"AWS\":[\"*\"]},\"Action\":[\"lambda:Invoke*\"]}}"),
        1);
    /* NotAction that leaves invoke allowed is as open */
    assert_int_equal(count_rule("PAR-PUB-001",
                                ",\"Policy\":{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
                                "\"*\",\"NotAction\":\"lambda:DeleteFunction\"}}"),
                     1);
    /* a restricting condition closes it, a wildcard source account does not */
    assert_int_equal(count_rule("PAR-PUB-001",
                                ",\"Policy\":{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
                                "\"*\",\"Action\":\"lambda:InvokeFunction\",\"Condition\":{"
                                "\"StringEquals\":{\"AWS:SourceAccount\":\"444455556666\"}}}}"),
                     0);
    assert_int_equal(count_rule("PAR-PUB-001",
                                ",\"Policy\":{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
                                "\"*\",\"Action\":\"lambda:InvokeFunction\",\"Condition\":{"
                                "\"StringLike\":{\"AWS:SourceAccount\":\"*\"}}}}"),
                     1);
}

static void test_long_subjects_stay_valid_utf8(void **state)
{
    char sid[700], extra[1200];
    (void)state;
    /* a Sid of 300 two-byte characters (600 bytes) is cut at a character boundary */
    for (size_t i = 0; i < 300; i++)
        memcpy(sid + 2 * i, "\xc3\xa9", 2);
    sid[600] = '\0';
    snprintf(extra, sizeof extra,
             ",\"Policy\":{\"Statement\":{\"Sid\":\"%s\",\"Effect\":\"Allow\",\"Principal\":"
             "\"*\",\"Action\":\"lambda:InvokeFunction\"}}",
             sid);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"account_id\":\"444455556666\",\"functions\":[{\"FunctionArn\":"
             "\"arn:aws:lambda:us-east-1:444455556666:function:f\"%s}]}",
             extra);
    json_t *snap = json_loads(text, 0, NULL);
    assert_non_null(snap);
    json_t *f = evaluate(snap);
    size_t i;
    json_t *x;
    bool seen = false;
    json_array_foreach(f, i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "rule")), "PAR-PUB-001") == 0) {
            const char *subj = json_string_value(json_object_get(x, "subject"));
            assert_non_null(subj); /* json_pack refused it otherwise */
            assert_true(strlen(subj) <= 511 && strlen(subj) % 2 == 0);
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(f);
    json_decref(snap);
}

static void test_malformed_snapshots_never_crash(void **state)
{
    static const char *const docs[] = {
        "null",
        "[]",
        "\"snapshot\"",
        "{}",
        "{\"functions\": 5, \"roles\": \"x\"}",
        "{\"functions\": [null, 1, \"f\", [], {}], \"roles\": [null, {}, {\"Arn\": 5}]}",
        "{\"functions\": [{\"FunctionArn\": \"arn:aws:lambda:us-east-1:1:function:f\","
        " \"Policy\": \"{\\\"Statement\\\": []}\", \"Environment\": [], \"Layers\": {},"
        " \"UrlConfig\": \"NONE\", \"Timeout\": \"900\", \"Role\": 1}]}",
        "{\"functions\": [{\"FunctionArn\": \"arn\", \"Policy\": {\"Statement\": {\"Effect\":"
        " \"Allow\", \"Principal\": \"*\", \"Action\": 5, \"Condition\": []}}}]}",
        "{\"functions\": [{\"FunctionArn\": \"x\", \"Policy\": {\"Statement\": [\"s\", 1, null,"
        " {\"Effect\": \"Allow\", \"Principal\": {\"AWS\": [1, null, \"*\"]}, \"NotAction\":"
        " \"iam:*\", \"Condition\": {\"StringEquals\": \"x\"}}]}}]}",
        "{\"roles\": [{\"Arn\": \"arn:aws:iam::1:role/r\", \"AttachedPolicies\": [1, {\"Document\":"
        " \"x\"}, {\"PolicyArn\": 5}], \"InlinePolicies\": {}, \"AssumeRolePolicyDocument\": []}]}",
        "{\"http_apis\": [{\"apiId\": 1}, {\"apiId\": \"a\", \"routes\": {}, \"integrations\": 1},"
        " {\"apiId\": \"b\", \"routes\": [{\"routeKey\": \"GET /\", \"target\": "
        "\"integrations/\"}],"
        " \"integrations\": [{\"integrationId\": \"\", \"integrationUri\": \"arn:aws:lambda\"}]}],"
        " \"rest_apis\": [{\"id\": \"r\", \"policy\": \"{not json\", \"endpointConfiguration\":"
        " {\"types\": \"PRIVATE\"}, \"resources\": [{\"path\": \"/\", \"resourceMethods\": []}]}]}",
        NULL};
    size_t runs = 0;
    (void)state;

    for (size_t i = 0; docs[i] != NULL; i++) {
        json_t *d = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        assert_non_null(d);
        json_decref(evaluate(d));
        json_decref(d);
    }
    posture_evaluate(NULL, NOW, collect, NULL);

    /* one small snapshot per resource (a function with its role, or one API) keeps this fast */
    json_t *snap = load("positive.json");
    const char *keys[] = {"functions", "http_apis", "rest_apis"};
    for (size_t k = 0; k < 3; k++) {
        size_t i;
        json_t *res;
        json_array_foreach(json_object_get(snap, keys[k]), i, res)
        {
            json_t *mini = json_pack("{s:s, s:s, s:[O], s:[]}", "account_id", "444455556666",
                                     "region", "us-east-1", keys[k], res, "roles");
            const char *role = json_string_value(json_object_get(res, "Role"));
            size_t j;
            json_t *r;
            json_array_foreach(json_object_get(snap, "roles"), j, r)
            {
                if (role != NULL && strcmp(json_string_value(json_object_get(r, "Arn")), role) == 0)
                    json_array_append_new(json_object_get(mini, "roles"), json_deep_copy(r));
            }
            json_t *copy = json_deep_copy(mini);
            mutate_walk(copy, copy, 0, &runs);
            json_decref(copy);
            json_decref(mini);
        }
    }
    assert_true(runs > 1000);
    json_decref(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_has_35_rules_unique_ids_every_category),
        cmocka_unit_test(test_rules_json_lists_the_table),
        cmocka_unit_test(test_positive_fixture_matches_golden),
        cmocka_unit_test(test_fingerprints_are_unique_and_deterministic),
        cmocka_unit_test(test_every_rule_stays_quiet_on_its_near_misses),
        cmocka_unit_test(test_evidence_masks_secrets),
        cmocka_unit_test(test_function_url_is_public_only_when_the_policy_opens_it),
        cmocka_unit_test(test_long_subjects_stay_valid_utf8),
        cmocka_unit_test(test_malformed_snapshots_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
