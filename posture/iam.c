/* posture/iam.c: IAM policy evaluation for posture rules: statement matching (Action/NotAction,
 * Resource/NotResource, wildcards), Deny overriding Allow, conditions judged restricting or not,
 * principals of resource policies and the AWS managed policies that grant broad access. */
#include "posture/posture.h"
#include "posture/posture_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool posture_iam_glob(const char *p, const char *t, bool nocase)
{
    const char *star_p = NULL, *star_t = NULL;

    while (*t != '\0') {
        char pc = *p, tc = *t;
        if (nocase) {
            pc = (char)tolower((unsigned char)pc);
            tc = (char)tolower((unsigned char)tc);
        }
        if (*p == '*') {
            star_p = p++;
            star_t = t;
        } else if (*p != '\0' && (*p == '?' || pc == tc)) {
            p++;
            t++;
        } else if (star_p != NULL) {
            p = star_p + 1;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

json_t *posture_iam_statements(const json_t *doc)
{
    json_t *out = json_array();
    const json_t *st = json_is_object(doc) ? json_object_get(doc, "Statement") : NULL;
    size_t i;
    json_t *s;

    if (out == NULL)
        return NULL;
    if (json_is_object(st)) {
        json_array_append(out, (json_t *)(uintptr_t)st);
    } else if (json_is_array(st)) {
        json_array_foreach(st, i, s)
        {
            if (json_is_object(s))
                json_array_append(out, s);
        }
    }
    return out;
}

/* Any string of v (a string or an array of strings) matches text. */
static bool any_matches(const json_t *v, const char *text, bool nocase)
{
    size_t i;
    json_t *e;

    if (json_is_string(v))
        return posture_iam_glob(json_string_value(v), text, nocase);
    if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            if (json_is_string(e) && posture_iam_glob(json_string_value(e), text, nocase))
                return true;
        }
    }
    return false;
}

/* Matches a statement's X / NotX member pair; a statement with neither matches (lenient: trust
 * policies have no Resource). */
static bool member_matches(const json_t *stmt, const char *pos, const char *neg, const char *text,
                           bool nocase)
{
    const json_t *v = json_object_get(stmt, pos);
    if (v != NULL)
        return any_matches(v, text, nocase);
    v = json_object_get(stmt, neg);
    if (v != NULL)
        return !any_matches(v, text, nocase);
    return true;
}

bool posture_iam_stmt_matches(const json_t *stmt, const char *action, const char *resource)
{
    if (json_object_get(stmt, "Action") == NULL && json_object_get(stmt, "NotAction") == NULL)
        return false;
    return member_matches(stmt, "Action", "NotAction", action, true) &&
           (resource == NULL || member_matches(stmt, "Resource", "NotResource", resource, false));
}

static bool has_condition(const json_t *stmt)
{
    const json_t *c = json_object_get(stmt, "Condition");
    return c != NULL && !json_is_null(c) && !(json_is_object(c) && json_object_size(c) == 0);
}

enum posture_iam_decision posture_iam_evaluate(const json_t *const *docs, size_t ndocs,
                                               const char *action, const char *resource,
                                               const json_t *context, const json_t **allow_stmt,
                                               size_t *allow_doc)
{
    const json_t *allowed = NULL;
    size_t allowed_doc = 0;

    for (size_t d = 0; d < ndocs; d++) {
        json_t *sts = posture_iam_statements(docs[d]);
        size_t i;
        json_t *s;
        json_array_foreach(sts, i, s)
        {
            const char *effect = json_string_value(json_object_get(s, "Effect"));
            if (effect == NULL || !posture_iam_stmt_matches(s, action, resource))
                continue;
            if (strcmp(effect, "Deny") == 0 && !has_condition(s)) {
                json_decref(sts);
                return POSTURE_IAM_EXPLICIT_DENY;
            }
            if (strcmp(effect, "Allow") == 0 && allowed == NULL &&
                posture_iam_condition_met(json_object_get(s, "Condition"), context)) {
                allowed = s; /* kept alive by docs[d] */
                allowed_doc = d;
            }
        }
        json_decref(sts);
    }
    if (allowed == NULL)
        return POSTURE_IAM_IMPLICIT_DENY;
    if (allow_stmt != NULL)
        *allow_stmt = allowed;
    if (allow_doc != NULL)
        *allow_doc = allowed_doc;
    return POSTURE_IAM_ALLOW;
}

/* ---- conditions ---- */

static const char *const attacker_keys[] = {
    "aws:SecureTransport", "aws:UserAgent", "aws:Referer",        "aws:RequestedRegion",
    "aws:CurrentTime",     "aws:EpochTime", "aws:TokenIssueTime", NULL};

static const json_t *context_get(const json_t *context, const char *key)
{
    const char *k;
    json_t *v;

    if (!json_is_object(context))
        return NULL;
    json_object_foreach((json_t *)(uintptr_t)context, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return v;
    }
    return NULL;
}

/* Condition values as strings: "true" for booleans, decimal for numbers. */
static bool value_text(const json_t *v, char *buf, size_t size, const char **out)
{
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return true;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? "true" : "false";
        return true;
    }
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        *out = buf;
        return true;
    }
    return false;
}

static bool op_match(const char *op, const char *cond, const char *actual)
{
    if (strncmp(op, "StringEqualsIgnoreCase", 22) == 0 ||
        strncmp(op, "StringNotEqualsIgnoreCase", 25) == 0)
        return strcasecmp(cond, actual) == 0;
    if (strncmp(op, "StringLike", 10) == 0 || strncmp(op, "StringNotLike", 13) == 0 ||
        strncmp(op, "ArnLike", 7) == 0 || strncmp(op, "ArnNotLike", 10) == 0 ||
        strncmp(op, "ArnEquals", 9) == 0 || strncmp(op, "ArnNotEquals", 12) == 0)
        return posture_iam_glob(cond, actual, false);
    if (strncmp(op, "Bool", 4) == 0)
        return strcasecmp(cond, actual) == 0;
    return strcmp(cond, actual) == 0;
}

/* Every value of one condition entry: does any context value match any condition value? */
static bool key_matches(const char *op, const json_t *cond_vals, const json_t *ctx_val)
{
    char b1[32];
    const char *actual;
    size_t n = json_is_array(ctx_val) ? json_array_size(ctx_val) : 1;

    for (size_t a = 0; a < n; a++) {
        const json_t *av = json_is_array(ctx_val) ? json_array_get(ctx_val, a) : ctx_val;
        if (!value_text(av, b1, sizeof b1, &actual))
            continue;
        size_t m = json_is_array(cond_vals) ? json_array_size(cond_vals) : 1;
        for (size_t c = 0; c < m; c++) {
            char b2[32];
            const char *cv;
            const json_t *cj = json_is_array(cond_vals) ? json_array_get(cond_vals, c) : cond_vals;
            if (value_text(cj, b2, sizeof b2, &cv) && op_match(op, cv, actual))
                return true;
        }
    }
    return false;
}

bool posture_cond_value_is_wildcard(const char *s)
{
    if (s == NULL || strstr(s, "${") != NULL || strspn(s, "*?") == strlen(s))
        return true;
    if (strncmp(s, "arn:", 4) == 0) {
        /* an ARN whose partition, service, region or account is a wildcard matches other
         * accounts' resources: arn:aws:s3:::* or arn:aws:sns:*:*:topic */
        const char *p = s;
        for (int field = 0; field < 5 && p != NULL; field++) {
            const char *end = strchr(p, ':');
            size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
            if (memchr(p, '*', n) != NULL || memchr(p, '?', n) != NULL)
                return true;
            p = end != NULL ? end + 1 : NULL;
        }
        return p == NULL || strspn(p, "*?") == strlen(p);
    }
    return false;
}

/* True when every condition value is a wildcard or a policy variable: no restriction. */
static bool values_unrestricted(const char *op, const json_t *vals)
{
    size_t m = json_is_array(vals) ? json_array_size(vals) : 1;
    if (m == 0)
        return true;
    for (size_t c = 0; c < m; c++) {
        const json_t *cj = json_is_array(vals) ? json_array_get(vals, c) : vals;
        const char *s = json_string_value(cj);
        if (s == NULL)
            return false;
        bool wild = posture_cond_value_is_wildcard(s);
        if (strstr(op, "IpAddress") != NULL &&
            (strcmp(s, "0.0.0.0/0") == 0 || strcmp(s, "::/0") == 0))
            wild = true;
        if (!wild)
            return false;
    }
    return true;
}

static bool entry_met(const char *full_op, const char *key, const json_t *vals,
                      const json_t *context)
{
    const char *op = full_op;
    bool if_exists, negated, for_all = false;
    const json_t *actual;
    size_t oplen;

    if (strncmp(op, "ForAnyValue:", 12) == 0) {
        op += 12;
    } else if (strncmp(op, "ForAllValues:", 13) == 0) {
        op += 13;
        for_all = true;
    }
    oplen = strlen(op);
    if_exists = oplen > 8 && strcmp(op + oplen - 8, "IfExists") == 0;
    negated = strstr(op, "Not") != NULL;
    actual = context_get(context, key);

    if (strncmp(op, "Null", 4) == 0) {
        const char *v = NULL;
        char b[32];
        bool want_absent =
            value_text(json_is_array(vals) ? json_array_get(vals, 0) : vals, b, sizeof b, &v) &&
            strcasecmp(v, "true") == 0;
        return want_absent == (actual == NULL);
    }
    if (actual == NULL) {
        if (if_exists || negated || for_all)
            return true;
        if (values_unrestricted(op, vals))
            return true;
        for (size_t i = 0; attacker_keys[i] != NULL; i++) {
            if (strcasecmp(key, attacker_keys[i]) == 0)
                return true;
        }
        return false;
    }
    if (strncmp(op, "Numeric", 7) == 0 || strncmp(op, "Date", 4) == 0 ||
        strstr(op, "IpAddress") != NULL)
        return true; /* not modelled: assume the caller can meet it */
    return key_matches(op, vals, actual) != negated;
}

bool posture_iam_condition_binds_outsider(const json_t *condition)
{
    const char *op, *key;
    json_t *entries, *vals;

    if (condition == NULL || json_is_null(condition) ||
        (json_is_object(condition) && json_object_size(condition) == 0))
        return true;
    if (!json_is_object(condition))
        return false;
    json_object_foreach((json_t *)(uintptr_t)condition, op, entries)
    {
        const char *base = strncmp(op, "ForAnyValue:", 12) == 0    ? op + 12
                           : strncmp(op, "ForAllValues:", 13) == 0 ? op + 13
                                                                   : op;
        if (!json_is_object(entries) || strstr(base, "Not") == NULL ||
            strstr(base, "IfExists") != NULL)
            return false;
        json_object_foreach(entries, key, vals)
        {
            for (size_t i = 0; attacker_keys[i] != NULL; i++) {
                if (strcasecmp(key, attacker_keys[i]) == 0)
                    return false;
            }
            if (values_unrestricted(base, vals))
                return false;
        }
    }
    return true;
}

bool posture_iam_condition_met(const json_t *condition, const json_t *context)
{
    const char *op, *key;
    json_t *entries, *vals;

    if (condition == NULL || json_is_null(condition))
        return true;
    if (!json_is_object(condition))
        return false; /* malformed: AWS would reject the policy; do not apply it */
    json_object_foreach((json_t *)(uintptr_t)condition, op, entries)
    {
        if (!json_is_object(entries))
            return false;
        json_object_foreach(entries, key, vals)
        {
            if (!entry_met(op, key, vals, context))
                return false;
        }
    }
    return true;
}

/* ---- principals ---- */

static bool account_of_principal(const char *v, char acct[13])
{
    size_t n = strlen(v);
    acct[0] = '\0';
    if (n == 12 && strspn(v, "0123456789") == 12) {
        memcpy(acct, v, 13);
        return true;
    }
    if (strncmp(v, "arn:", 4) == 0)
        return posture_arn_account(v, acct);
    return false;
}

static void principal_values(const json_t *v, enum posture_principal kind,
                             void (*fn)(void *, enum posture_principal, const char *, const char *),
                             void *arg)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
        char acct[13] = "";
        if (s == NULL)
            continue;
        if (kind == POSTURE_PRINCIPAL_ACCOUNT) {
            if (strcmp(s, "*") == 0)
                fn(arg, POSTURE_PRINCIPAL_PUBLIC, s, "");
            else if (account_of_principal(s, acct))
                fn(arg, POSTURE_PRINCIPAL_ACCOUNT, s, acct);
            else
                fn(arg, POSTURE_PRINCIPAL_NONE, s, "");
        } else {
            fn(arg, kind, s, "");
        }
    }
}

void posture_iam_principals(const json_t *stmt,
                            void (*fn)(void *arg, enum posture_principal kind, const char *value,
                                       const char *account),
                            void *arg)
{
    const json_t *p = json_object_get(stmt, "Principal");
    const char *k;
    json_t *v;

    if (json_is_string(p)) {
        fn(arg,
           strcmp(json_string_value(p), "*") == 0 ? POSTURE_PRINCIPAL_PUBLIC
                                                  : POSTURE_PRINCIPAL_NONE,
           json_string_value(p), "");
        return;
    }
    if (!json_is_object(p))
        return;
    json_object_foreach((json_t *)(uintptr_t)p, k, v)
    {
        if (strcmp(k, "AWS") == 0)
            principal_values(v, POSTURE_PRINCIPAL_ACCOUNT, fn, arg);
        else if (strcmp(k, "Service") == 0)
            principal_values(v, POSTURE_PRINCIPAL_SERVICE, fn, arg);
        else
            principal_values(v, POSTURE_PRINCIPAL_NONE, fn, arg);
    }
}

/* ---- AWS managed policies ---- */

struct managed {
    const char *name; /* after arn:aws:iam::aws:policy/ */
    bool broad;       /* full access to a service or more */
    const char *doc;
};

/* Minimal documents that grant what matters for the rules (from the policies' published
 * default versions), used when the snapshot has no Document for them. */
static const struct managed managed[] = {
    {"AdministratorAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
     "\"Resource\":\"*\"}}"},
    {"PowerUserAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":[\"iam:*\",\"organizations:*\","
     "\"account:*\"],\"Resource\":\"*\"}}"},
    {"IAMFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:*\",\"Resource\":\"*\"}}"},
    {"AmazonS3FullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"s3:*\",\"s3-object-lambda:*\"],"
     "\"Resource\":\"*\"}}"},
    {"AmazonDynamoDBFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\"}}"},
    {"AWSLambda_FullAccess", true,
     "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"lambda:*\",\"Resource\":\"*\"},"
     "{\"Effect\":\"Allow\",\"Action\":\"iam:PassRole\",\"Resource\":\"*\",\"Condition\":"
     "{\"StringEquals\":{\"iam:PassedToService\":\"lambda.amazonaws.com\"}}}]}"},
    {"AWSLambdaFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"lambda:*\",\"Resource\":\"*\"}}"},
    {"AmazonSQSFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:*\",\"Resource\":\"*\"}}"},
    {"AmazonSNSFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sns:*\",\"Resource\":\"*\"}}"},
    {"SecretsManagerReadWrite", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"secretsmanager:*\",\"Resource\":\"*\"}}"},
    {"AmazonEC2FullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"ec2:*\",\"Resource\":\"*\"}}"},
    {"AmazonSSMFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"ssm:*\",\"Resource\":\"*\"}}"},
    {"AmazonKinesisFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kinesis:*\",\"Resource\":\"*\"}}"},
    {"CloudWatchLogsFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"logs:*\",\"Resource\":\"*\"}}"},
    {"AWSCloudTrail_FullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"cloudtrail:*\",\"Resource\":\"*\"}}"},
    {"AmazonRDSFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"rds:*\",\"Resource\":\"*\"}}"},
    {"AWSStepFunctionsFullAccess", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"states:*\",\"Resource\":\"*\"}}"},
    {"AmazonAPIGatewayAdministrator", true,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"apigateway:*\",\"Resource\":\"*\"}}"},
    {"AWSLambdaRole", false,
     "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"lambda:InvokeFunction\","
     "\"Resource\":\"*\"}}"},
};

static const struct managed *managed_get(const char *arn)
{
    static const char prefix[] = "arn:aws:iam::aws:policy/";
    const char *name;

    if (arn == NULL || strncmp(arn, prefix, sizeof prefix - 1) != 0)
        return NULL;
    name = strrchr(arn, '/') + 1; /* managed policies may have a path (service-role/) */
    for (size_t i = 0; i < sizeof managed / sizeof managed[0]; i++) {
        if (strcmp(managed[i].name, name) == 0)
            return &managed[i];
    }
    return NULL;
}

json_t *posture_iam_managed_doc(const char *policy_arn)
{
    const struct managed *m = managed_get(policy_arn);
    return m == NULL ? NULL : json_loads(m->doc, 0, NULL);
}

bool posture_iam_managed_is_broad(const char *policy_arn)
{
    const struct managed *m = managed_get(policy_arn);
    return m != NULL && m->broad;
}

json_t *posture_iam_role_docs_new(const json_t *role, json_t **names)
{
    json_t *docs = json_array(), *nm = json_array();
    const json_t *list;
    size_t i;
    json_t *p;

    if (names != NULL)
        *names = nm;
    else
        json_decref(nm);
    if (docs == NULL || !json_is_object(role))
        return docs;
    list = json_object_get(role, "InlinePolicies");
    if (json_is_array(list)) {
        json_array_foreach(list, i, p)
        {
            json_t *d = json_object_get(p, "Document");
            const char *name = json_string_value(json_object_get(p, "PolicyName"));
            if (json_is_object(d)) {
                json_array_append(docs, d);
                if (names != NULL)
                    json_array_append_new(*names, json_sprintf("inline:%s", name ? name : "?"));
            }
        }
    }
    list = json_object_get(role, "AttachedPolicies");
    if (json_is_array(list)) {
        json_array_foreach(list, i, p)
        {
            json_t *d = json_object_get(p, "Document");
            const char *arn = json_string_value(json_object_get(p, "PolicyArn"));
            if (json_is_object(d))
                json_array_append(docs, d);
            else if ((d = posture_iam_managed_doc(arn)) != NULL)
                json_array_append_new(docs, d);
            else
                continue;
            if (names != NULL)
                json_array_append_new(*names, json_string(arn ? arn : "?"));
        }
    }
    return docs;
}
