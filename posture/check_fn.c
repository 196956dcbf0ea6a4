/* posture/check_fn.c: checks of one Lambda function: runtime, environment (secrets, encryption),
 * resource policy and URL exposure, dependencies, layers, denial of wallet, failure handling and
 * tracing. Each reads only the function's own members (see posture/inventory.md) and, for
 * reachability, the routes linked to it. */
#include "posture/posture.h"
#include "posture/posture_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The Sid of statement i, or "Statement[i]": the subject of policy findings. */
static void stmt_subject(const json_t *stmt, size_t i, char *out, size_t size)
{
    const char *sid = pj_str(stmt, "Sid");
    if (sid != NULL && sid[0] != '\0')
        snprintf(out, size, "%s", sid);
    else
        snprintf(out, size, "Statement[%zu]", i);
}

static json_t *stmt_evidence(const json_t *stmt, size_t i)
{
    char path[48];
    json_t *evd = json_object();
    snprintf(path, sizeof path, "Policy.Statement[%zu]", i);
    json_object_set_new(evd, path, json_deep_copy(stmt));
    return evd;
}

void posture_check_runtime(struct posture_eval *ev, const struct posture_rule *rule,
                           const json_t *fn)
{
    const enum posture_runtime_status *want = rule->arg;
    const char *rt = pj_str(fn, "Runtime");
    const struct posture_runtime *row = posture_runtime_get(rt);
    char date[16];

    if (row == NULL || want == NULL || posture_runtime_status(rt, ev->now) != *want)
        return;
    snprintf(date, sizeof date, "%04d-%02d-%02d", row->y, row->m, row->d);
    long long days = ((long long)posture_runtime_deprecation(row) - (long long)ev->now) / 86400;
    posture_report(ev, rule, ev->cur_fn->arn, rt,
                   json_pack("{s:s, s:s, s:I}", "Runtime", rt, "deprecation_date", date,
                             "days_until_deprecation", (json_int_t)days));
}

void posture_check_secret(struct posture_eval *ev, const struct posture_rule *rule,
                          const json_t *fn)
{
    const enum posture_secret_class *want = rule->arg;
    const json_t *vars = pj_path(fn, "Environment.Variables");
    const char *name;
    json_t *v;

    if (!json_is_object(vars) || want == NULL)
        return;
    json_object_foreach((json_t *)(uintptr_t)vars, name, v)
    {
        const char *value = json_string_value(v);
        struct posture_secret s = posture_secret_classify(name, value, vars);
        char masked[160], path[320];
        if (s.cls != *want)
            continue;
        posture_secret_mask(value, masked, sizeof masked);
        snprintf(path, sizeof path, "Environment.Variables.%s", name);
        posture_report(ev, rule, ev->cur_fn->arn, name,
                       json_pack("{s:s, s:s}", path, masked, "secret_type", s.type));
    }
}

void posture_check_env_cmk(struct posture_eval *ev, const struct posture_rule *rule,
                           const json_t *fn)
{
    const json_t *vars = pj_path(fn, "Environment.Variables");
    const char *key = pj_str(fn, "KMSKeyArn"), *name;
    json_t *v, *names;

    if (!json_is_object(vars) || (key != NULL && key[0] != '\0'))
        return;
    names = json_array();
    json_object_foreach((json_t *)(uintptr_t)vars, name, v)
    {
        const char *value = json_string_value(v);
        if (value != NULL && value[0] != '\0' && posture_secret_name_is_sensitive(name) &&
            !posture_secret_value_is_reference(value))
            json_array_append_new(names, json_string(name));
    }
    if (json_array_size(names) == 0) {
        json_decref(names);
        return;
    }
    posture_report(ev, rule, ev->cur_fn->arn, "",
                   json_pack("{s:o, s:n}", "sensitive_variables", names, "KMSKeyArn"));
}

void posture_check_env_foreign_key(struct posture_eval *ev, const struct posture_rule *rule,
                                   const json_t *fn)
{
    const char *key = pj_str(fn, "KMSKeyArn");
    char acct[13];

    if (key == NULL || !posture_arn_account(key, acct) || posture_account_is_trusted(ev, acct) ||
        strcmp(acct, ev->cur_fn->account) == 0)
        return;
    posture_report(ev, rule, ev->cur_fn->arn, "",
                   json_pack("{s:s, s:s}", "KMSKeyArn", key, "key_account", acct));
}

/* ---- resource policy and URL ---- */

void posture_check_policy_public(struct posture_eval *ev, const struct posture_rule *rule,
                                 const json_t *fn)
{
    const json_t *policy = json_object_get(fn, "Policy");
    json_t *sts;
    size_t i;
    json_t *s;

    if (posture_policy_public_index(policy, "lambda:InvokeFunction", NULL) < 0)
        return;
    sts = posture_iam_statements(policy);
    json_array_foreach(sts, i, s)
    {
        char subject[128];
        if (!posture_stmt_is_public(s, "lambda:InvokeFunction", NULL))
            continue;
        stmt_subject(s, i, subject, sizeof subject);
        posture_report(ev, rule, ev->cur_fn->arn, subject, stmt_evidence(s, i));
    }
    json_decref(sts);
}

void posture_check_url_public(struct posture_eval *ev, const struct posture_rule *rule,
                              const json_t *fn)
{
    const json_t *url = pj_obj(fn, "UrlConfig");
    int idx = -1;
    json_t *evd, *sts;

    if (!posture_url_is_public(fn, &idx))
        return;
    sts = posture_iam_statements(json_object_get(fn, "Policy"));
    evd = stmt_evidence(json_array_get(sts, (size_t)idx), (size_t)idx);
    json_decref(sts);
    json_object_set_new(evd, "UrlConfig.AuthType", json_string("NONE"));
    if (pj_str(url, "FunctionUrl") != NULL)
        json_object_set_new(evd, "UrlConfig.FunctionUrl", json_string(pj_str(url, "FunctionUrl")));
    posture_report(ev, rule, ev->cur_fn->arn, "", evd);
}

static bool stmt_allows_invoke(const json_t *s)
{
    const char *eff = pj_str(s, "Effect");
    return eff != NULL && strcmp(eff, "Allow") == 0 &&
           (posture_iam_stmt_matches(s, "lambda:InvokeFunction", NULL) ||
            posture_iam_stmt_matches(s, "lambda:InvokeFunctionUrl", NULL) ||
            posture_iam_stmt_matches(s, "lambda:InvokeAsync", NULL));
}

/* A fixed (non-wildcard) value for key in any operator of the condition block. */
static const char *cond_value(const json_t *cond, const char *key)
{
    const char *op, *k;
    json_t *entries, *v;

    if (!json_is_object(cond))
        return NULL;
    json_object_foreach((json_t *)(uintptr_t)cond, op, entries)
    {
        if (!json_is_object(entries) || strstr(op, "Not") != NULL || strstr(op, "IfExists"))
            continue;
        json_object_foreach(entries, k, v)
        {
            const char *s = json_string_value(json_is_array(v) ? json_array_get(v, 0) : v);
            if (strcasecmp(k, key) == 0 && s != NULL && !posture_cond_value_is_wildcard(s))
                return s;
        }
    }
    return NULL;
}

struct svc_scan {
    struct posture_eval *ev;
    const struct posture_rule *rule;
    const json_t *stmt;
    size_t index;
    bool foreign_mode; /* PAR-XAC-002: report foreign accounts instead of missing conditions */
};

/* Services that cannot name a source (Secrets Manager rotation) are exempt (Prowler PR 5300). */
static void service_principal(void *arg, enum posture_principal kind, const char *value,
                              const char *account)
{
    struct svc_scan *sc = arg;
    const json_t *cond = json_object_get(sc->stmt, "Condition");
    const char *src_acct = cond_value(cond, "aws:SourceAccount");
    const char *src_arn = cond_value(cond, "aws:SourceArn");
    char subject[160], arn_acct[13] = "";

    if (sc->foreign_mode) {
        const char *foreign = NULL;
        if (kind == POSTURE_PRINCIPAL_ACCOUNT && !posture_account_is_trusted(sc->ev, account))
            foreign = account;
        else if (kind == POSTURE_PRINCIPAL_SERVICE && src_acct != NULL &&
                 !posture_account_is_trusted(sc->ev, src_acct))
            foreign = src_acct;
        else if (kind == POSTURE_PRINCIPAL_SERVICE && src_acct == NULL && src_arn != NULL &&
                 posture_arn_account(src_arn, arn_acct) &&
                 !posture_account_is_trusted(sc->ev, arn_acct))
            foreign = arn_acct;
        if (foreign == NULL)
            return;
        if (kind == POSTURE_PRINCIPAL_ACCOUNT &&
            !posture_iam_condition_met(cond, NULL)) /* e.g. aws:PrincipalOrgID: inside the org */
            return;
        json_t *evd = stmt_evidence(sc->stmt, sc->index);
        json_object_set_new(evd, "foreign_account", json_string(foreign));
        posture_report(sc->ev, sc->rule, sc->ev->cur_fn->arn, foreign, evd);
        return;
    }
    if (kind != POSTURE_PRINCIPAL_SERVICE || strcmp(value, "secretsmanager.amazonaws.com") == 0)
        return;
    bool guarded =
        strcmp(value, "s3.amazonaws.com") == 0
            ? src_acct != NULL
            : (src_acct != NULL || src_arn != NULL || cond_value(cond, "aws:SourceOwner") != NULL);
    if (guarded)
        return;
    stmt_subject(sc->stmt, sc->index, subject, sizeof subject);
    json_t *evd = stmt_evidence(sc->stmt, sc->index);
    json_object_set_new(evd, "service", json_string(value));
    posture_report(sc->ev, sc->rule, sc->ev->cur_fn->arn, subject, evd);
}

static void scan_invoke_principals(struct posture_eval *ev, const struct posture_rule *rule,
                                   const json_t *fn, bool foreign_mode)
{
    json_t *sts = posture_iam_statements(json_object_get(fn, "Policy"));
    struct svc_scan sc = {ev, rule, NULL, 0, foreign_mode};
    size_t i;
    json_t *s;

    json_array_foreach(sts, i, s)
    {
        if (!stmt_allows_invoke(s))
            continue;
        sc.stmt = s;
        sc.index = i;
        posture_iam_principals(s, service_principal, &sc);
    }
    json_decref(sts);
}

void posture_check_policy_service(struct posture_eval *ev, const struct posture_rule *rule,
                                  const json_t *fn)
{
    scan_invoke_principals(ev, rule, fn, false);
}

void posture_check_policy_foreign(struct posture_eval *ev, const struct posture_rule *rule,
                                  const json_t *fn)
{
    scan_invoke_principals(ev, rule, fn, true);
}

static void note_outsider(void *arg, enum posture_principal kind, const char *value,
                          const char *account)
{
    struct svc_scan *sc = arg;
    (void)value;
    if (kind == POSTURE_PRINCIPAL_PUBLIC ||
        (kind == POSTURE_PRINCIPAL_ACCOUNT && !posture_account_is_trusted(sc->ev, account)))
        sc->foreign_mode = true; /* reused as "found" */
}

void posture_check_policy_manage(struct posture_eval *ev, const struct posture_rule *rule,
                                 const json_t *fn)
{
    static const char *const manage[] = {
        "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:AddPermission",
        "lambda:DeleteFunction",     "lambda:PutFunctionConcurrency",      NULL};
    json_t *sts = posture_iam_statements(json_object_get(fn, "Policy"));
    size_t i;
    json_t *s;

    json_array_foreach(sts, i, s)
    {
        const char *eff = pj_str(s, "Effect");
        struct svc_scan sc = {ev, rule, s, i, false};
        const char *hit = NULL;
        char subject[128];
        if (eff == NULL || strcmp(eff, "Allow") != 0)
            continue;
        for (size_t a = 0; manage[a] != NULL && hit == NULL; a++) {
            if (posture_iam_stmt_matches(s, manage[a], NULL))
                hit = manage[a];
        }
        if (hit == NULL)
            continue;
        posture_iam_principals(s, note_outsider, &sc);
        if (!sc.foreign_mode)
            continue;
        stmt_subject(s, i, subject, sizeof subject);
        json_t *evd = stmt_evidence(s, i);
        json_object_set_new(evd, "action", json_string(hit));
        posture_report(ev, rule, ev->cur_fn->arn, subject, evd);
    }
    json_decref(sts);
}

static void check_destination(struct posture_eval *ev, const struct posture_rule *rule,
                              const char *path, const char *arn)
{
    char acct[13];
    if (arn == NULL || !posture_arn_account(arn, acct) || posture_account_is_trusted(ev, acct) ||
        strcmp(acct, ev->cur_fn->account) == 0)
        return;
    posture_report(ev, rule, ev->cur_fn->arn, path,
                   json_pack("{s:s, s:s}", path, arn, "destination_account", acct));
}

void posture_check_foreign_destination(struct posture_eval *ev, const struct posture_rule *rule,
                                       const json_t *fn)
{
    const json_t *dc = pj_path(fn, "EventInvokeConfig.DestinationConfig");
    size_t i;
    json_t *m;

    check_destination(ev, rule, "DeadLetterConfig.TargetArn",
                      json_string_value(pj_path(fn, "DeadLetterConfig.TargetArn")));
    check_destination(ev, rule, "EventInvokeConfig.DestinationConfig.OnSuccess.Destination",
                      json_string_value(pj_path(dc, "OnSuccess.Destination")));
    check_destination(ev, rule, "EventInvokeConfig.DestinationConfig.OnFailure.Destination",
                      json_string_value(pj_path(dc, "OnFailure.Destination")));
    json_array_foreach(pj_arr(fn, "EventSourceMappings"), i, m)
    {
        char path[96];
        snprintf(path, sizeof path, "EventSourceMappings[%zu].DestinationConfig.OnFailure", i);
        check_destination(ev, rule, path,
                          json_string_value(pj_path(m, "DestinationConfig.OnFailure.Destination")));
    }
}

/* ---- CORS ---- */

static bool has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
            return true;
    }
    return false;
}

/* Shared by function URLs and HTTP APIs: origins/credentials members differ only in case. */
bool posture_cors_matches(const json_t *cors, const char *origins_key, const char *creds_key,
                          bool with_credentials)
{
    const json_t *origins = pj_arr(cors, origins_key);
    bool creds = json_is_true(json_object_get(cors, creds_key));
    bool wildcard = has_string(origins, "*");

    if (with_credentials)
        return creds && (wildcard || has_string(origins, "null"));
    return wildcard && !creds;
}

void posture_check_url_cors(struct posture_eval *ev, const struct posture_rule *rule,
                            const json_t *fn)
{
    const json_t *cors = pj_path(fn, "UrlConfig.Cors");
    const bool *creds = rule->arg;

    if (creds == NULL || !json_is_object(cors) ||
        !posture_cors_matches(cors, "AllowOrigins", "AllowCredentials", *creds))
        return;
    posture_report(ev, rule, ev->cur_fn->arn, "",
                   json_pack("{s:O, s:O?, s:s?}", "UrlConfig.Cors.AllowOrigins",
                             json_object_get(cors, "AllowOrigins"),
                             "UrlConfig.Cors.AllowCredentials",
                             json_object_get(cors, "AllowCredentials"), "UrlConfig.AuthType",
                             pj_str(pj_obj(fn, "UrlConfig"), "AuthType")));
}

/* ---- dependencies ---- */

static enum posture_severity advisory_severity(const char *s)
{
    if (s == NULL)
        return POSTURE_SEV_MEDIUM; /* unrated: neither hidden nor inflated */
    if (strcasecmp(s, "CRITICAL") == 0)
        return POSTURE_SEV_CRITICAL;
    if (strcasecmp(s, "HIGH") == 0)
        return POSTURE_SEV_HIGH;
    if (strcasecmp(s, "LOW") == 0)
        return POSTURE_SEV_LOW;
    return POSTURE_SEV_MEDIUM; /* MODERATE, MEDIUM, anything else */
}

void posture_check_vuln(struct posture_eval *ev, const struct posture_rule *rule, const json_t *fn)
{
    json_t *seen = json_object();
    size_t i;
    json_t *v;

    json_array_foreach(pj_arr(fn, "Vulnerabilities"), i, v)
    {
        const char *id = pj_str(v, "id"), *pkg = pj_str(v, "package");
        char subject[256];
        if (id == NULL || pkg == NULL || advisory_severity(pj_str(v, "severity")) != rule->severity)
            continue;
        snprintf(subject, sizeof subject, "%s %s", id, pkg);
        json_t *prev = json_object_get(seen, subject);
        if (prev != NULL) {
            json_t *files = json_object_get(prev, "files");
            if (pj_str(v, "file") != NULL && !has_string(files, pj_str(v, "file")))
                json_array_append_new(files, json_string(pj_str(v, "file")));
            continue;
        }
        json_t *evd = json_pack(
            "{s:s, s:O?, s:s?, s:s, s:s?, s:s?, s:s?, s:O?, s:[]}", "id", id, "aliases",
            json_object_get(v, "aliases"), "ecosystem", pj_str(v, "ecosystem"), "package", pkg,
            "version", pj_str(v, "version"), "severity", pj_str(v, "severity"), "summary",
            pj_str(v, "summary"), "fixed", json_object_get(v, "fixed"), "files");
        if (evd == NULL)
            continue;
        if (pj_str(v, "file") != NULL)
            json_array_append_new(json_object_get(evd, "files"), json_string(pj_str(v, "file")));
        json_object_set_new(seen, subject, evd);
    }
    const char *subject;
    json_object_foreach(seen, subject, v)
    {
        posture_report(ev, rule, ev->cur_fn->arn, subject, json_incref(v));
    }
    json_decref(seen);
}

struct bad_package {
    const char *ecosystem, *name;
    const char *versions[8]; /* empty: every version */
    const char *reason;
};

/* Packages that are malicious or unsafe by design, whatever the advisory database says. */
static const struct bad_package bad_packages[] = {
    {"npm", "node-serialize", {NULL}, "unserialize() evaluates functions: remote code execution"},
    {"npm", "serialize-to-js", {NULL}, "deserialisation evaluates code"},
    {"npm", "flatmap-stream", {NULL}, "malicious package (event-stream incident, 2018)"},
    {"npm", "event-stream", {"3.3.6", NULL}, "depends on the malicious flatmap-stream"},
    {"npm",
     "ua-parser-js",
     {"0.7.29", "0.8.0", "1.0.0", NULL},
     "hijacked release with a crypto-miner and password stealer (2021)"},
    {"npm",
     "coa",
     {"2.0.3", "2.0.4", "2.1.1", "2.1.3", "3.0.1", "3.1.3", NULL},
     "hijacked release with malware (2021)"},
    {"npm", "rc", {"1.2.9", "1.3.9", "2.3.9", NULL}, "hijacked release with malware (2021)"},
    {"npm", "node-ipc", {"10.1.1", "10.1.2", "10.1.3", NULL}, "protestware that overwrites files"},
    {"npm", "colors", {"1.4.1", "1.4.2", "1.4.44-liberty-2", NULL}, "sabotaged release (2022)"},
    {"npm", "faker", {"6.6.6", NULL}, "sabotaged release (2022)"},
    {"PyPI", "ctx", {"0.1.2", "0.2.2", "0.2.6", NULL}, "hijacked release exfiltrating env vars"},
    {"PyPI", "jeIlyfish", {NULL}, "typosquat of jellyfish stealing SSH and GPG keys"},
    {"PyPI", "python3-dateutil", {NULL}, "typosquat of python-dateutil with a backdoor"},
};

void posture_check_dangerous_dep(struct posture_eval *ev, const struct posture_rule *rule,
                                 const json_t *fn)
{
    json_t *seen = json_object();
    size_t i;
    json_t *d;

    json_array_foreach(pj_arr(fn, "Dependencies"), i, d)
    {
        const char *eco = pj_str(d, "ecosystem"), *name = pj_str(d, "name");
        const char *ver = pj_str(d, "version");
        if (eco == NULL || name == NULL)
            continue;
        for (size_t b = 0; b < sizeof bad_packages / sizeof bad_packages[0]; b++) {
            const struct bad_package *bp = &bad_packages[b];
            bool any = bp->versions[0] == NULL, vhit = any;
            if (strcmp(bp->ecosystem, eco) != 0 || strcmp(bp->name, name) != 0)
                continue;
            for (size_t k = 0; !any && k < 8 && bp->versions[k] != NULL; k++)
                vhit = vhit || (ver != NULL && strcmp(bp->versions[k], ver) == 0);
            if (!vhit)
                continue;
            char subject[192];
            snprintf(subject, sizeof subject, "%s:%s", eco, name);
            if (json_object_get(seen, subject) != NULL)
                continue;
            json_object_set_new(seen, subject, json_true());
            posture_report(ev, rule, ev->cur_fn->arn, subject,
                           json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "ecosystem", eco, "name", name,
                                     "version", ver, "file", pj_str(d, "file"), "reason",
                                     bp->reason));
        }
    }
    json_decref(seen);
}

/* ---- layers ---- */

/* Accounts that publish widely used public layers (AWS and monitoring vendors, from their
 * documentation; the account is the same in every commercial region unless noted):
 *   017000801446  AWS Lambda Powertools for Python
 *   094274105915  AWS Lambda Powertools for TypeScript
 *   580247275435  AWS CloudWatch Lambda Insights (us-east-1)
 *   177933569100  AWS Parameters and Secrets Lambda Extension (us-east-1)
 *   027255383542  AWS AppConfig Lambda extension (us-east-1)
 *   901920570463  AWS Distro for OpenTelemetry
 *   336392948345  AWS SDK for pandas
 *   464622532012  Datadog
 *   451483290750  New Relic
 *   943013980633  Sentry
 *   184161586896  OpenTelemetry Lambda (community)
 * A tenant adds its own publishers with the snapshot's trusted_accounts. */
static const char *const known_publishers[] = {
    "017000801446", "094274105915", "580247275435", "177933569100", "027255383542", "901920570463",
    "336392948345", "464622532012", "451483290750", "943013980633", "184161586896", NULL};

void posture_layer_unversioned(const char *arn, char *out, size_t size)
{
    const char *l = strstr(arn, ":layer:");
    const char *end = l != NULL ? strchr(l + 7, ':') : NULL;
    size_t n = end != NULL ? (size_t)(end - arn) : strlen(arn);
    snprintf(out, size, "%.*s", (int)(n < 1024 ? n : 1024), arn);
}

static bool layer_is_untrusted(struct posture_eval *ev, const char *arn, char acct[13])
{
    if (arn == NULL || !posture_arn_account(arn, acct) || strcmp(acct, ev->cur_fn->account) == 0 ||
        posture_account_is_trusted(ev, acct))
        return false;
    for (size_t i = 0; known_publishers[i] != NULL; i++) {
        if (strcmp(known_publishers[i], acct) == 0)
            return false;
    }
    return true;
}

void posture_check_layer(struct posture_eval *ev, const struct posture_rule *rule, const json_t *fn)
{
    size_t i;
    json_t *l;

    json_array_foreach(pj_arr(fn, "Layers"), i, l)
    {
        const char *arn = pj_str(l, "Arn");
        char acct[13], subject[1100], path[48];
        if (!layer_is_untrusted(ev, arn, acct))
            continue;
        posture_layer_unversioned(arn, subject, sizeof subject);
        snprintf(path, sizeof path, "Layers[%zu].Arn", i);
        posture_report(ev, rule, ev->cur_fn->arn, subject,
                       json_pack("{s:s, s:s}", path, arn, "layer_account", acct));
    }
}

/* Variables that make the runtime load code before the handler: how a layer takes over. */
static const char *startup_hook(const char *name, const char *value)
{
    if (strcmp(name, "AWS_LAMBDA_EXEC_WRAPPER") == 0 || strcmp(name, "LD_PRELOAD") == 0 ||
        strcmp(name, "DOTNET_STARTUP_HOOKS") == 0 || strcmp(name, "PERL5OPT") == 0)
        return name;
    if (strcmp(name, "NODE_OPTIONS") == 0 &&
        (strstr(value, "--require") != NULL || strstr(value, "-r ") != NULL ||
         strstr(value, "--import") != NULL || strstr(value, "--loader") != NULL ||
         strstr(value, "--experimental-loader") != NULL))
        return name;
    if ((strcmp(name, "JAVA_TOOL_OPTIONS") == 0 || strcmp(name, "_JAVA_OPTIONS") == 0) &&
        strstr(value, "-javaagent") != NULL)
        return name;
    if (strcmp(name, "RUBYOPT") == 0 && strstr(value, "-r") != NULL)
        return name;
    return NULL;
}

void posture_check_startup_hook(struct posture_eval *ev, const struct posture_rule *rule,
                                const json_t *fn)
{
    const json_t *vars = pj_path(fn, "Environment.Variables");
    json_t *untrusted = json_array(), *l, *v;
    const char *name;
    size_t i;

    json_array_foreach(pj_arr(fn, "Layers"), i, l)
    {
        char acct[13];
        if (layer_is_untrusted(ev, pj_str(l, "Arn"), acct))
            json_array_append_new(untrusted, json_string(pj_str(l, "Arn")));
    }
    if (json_array_size(untrusted) > 0 && json_is_object(vars)) {
        json_object_foreach((json_t *)(uintptr_t)vars, name, v)
        {
            char path[320];
            if (!json_is_string(v) || startup_hook(name, json_string_value(v)) == NULL)
                continue;
            snprintf(path, sizeof path, "Environment.Variables.%s", name);
            posture_report(
                ev, rule, ev->cur_fn->arn, name,
                json_pack("{s:s, s:O}", path, json_string_value(v), "untrusted_layers", untrusted));
        }
    }
    json_decref(untrusted);
}

/* ---- denial of wallet ---- */

static json_t *reach_evidence(struct posture_fn_info *fi)
{
    return json_pack("{s:O}", "reachable", fi->reach_evidence);
}

void posture_check_dow_concurrency(struct posture_eval *ev, const struct posture_rule *rule,
                                   const json_t *fn)
{
    if (json_object_get(fn, "ReservedConcurrentExecutions") != NULL &&
        !json_is_null(json_object_get(fn, "ReservedConcurrentExecutions")))
        return;
    if (!posture_fn_is_reachable(ev, ev->cur_fn))
        return;
    json_t *evd = reach_evidence(ev->cur_fn);
    json_object_set_new(evd, "ReservedConcurrentExecutions", json_null());
    posture_report(ev, rule, ev->cur_fn->arn, "", evd);
}

static void dow_threshold(struct posture_eval *ev, const struct posture_rule *rule,
                          const json_t *fn, const char *key, long long limit)
{
    long long v;
    if (!pj_int(fn, key, &v) || v < limit || !posture_fn_is_reachable(ev, ev->cur_fn))
        return;
    json_t *evd = reach_evidence(ev->cur_fn);
    json_object_set_new(evd, key, json_integer((json_int_t)v));
    posture_report(ev, rule, ev->cur_fn->arn, "", evd);
}

void posture_check_dow_timeout(struct posture_eval *ev, const struct posture_rule *rule,
                               const json_t *fn)
{
    dow_threshold(ev, rule, fn, "Timeout", 300);
}

void posture_check_dow_memory(struct posture_eval *ev, const struct posture_rule *rule,
                              const json_t *fn)
{
    dow_threshold(ev, rule, fn, "MemorySize", 3008);
}

static bool mapping_enabled(const json_t *m)
{
    const char *st = pj_str(m, "State");
    return st == NULL || strcmp(st, "Enabled") == 0 || strcmp(st, "Enabling") == 0 ||
           strcmp(st, "Creating") == 0 || strcmp(st, "Updating") == 0;
}

static bool mapping_has_on_failure(const json_t *m)
{
    const char *d = json_string_value(pj_path(m, "DestinationConfig.OnFailure.Destination"));
    return d != NULL && d[0] != '\0';
}

void posture_check_dow_retries(struct posture_eval *ev, const struct posture_rule *rule,
                               const json_t *fn)
{
    size_t i;
    json_t *m;

    json_array_foreach(pj_arr(fn, "EventSourceMappings"), i, m)
    {
        long long retries, age;
        const char *uuid = pj_str(m, "UUID");
        if (uuid == NULL || !mapping_enabled(m) || !pj_int(m, "MaximumRetryAttempts", &retries) ||
            retries != -1 || mapping_has_on_failure(m) ||
            (pj_int(m, "MaximumRecordAgeInSeconds", &age) && age != -1))
            continue;
        posture_report(ev, rule, ev->cur_fn->arn, uuid,
                       json_pack("{s:s?, s:i, s:n}", "EventSourceArn", pj_str(m, "EventSourceArn"),
                                 "MaximumRetryAttempts", -1, "DestinationConfig.OnFailure"));
    }
}

/* ---- failure destinations ---- */

/* Services that invoke Lambda asynchronously (event invocation): their failures are retried
 * twice and then dropped unless a DLQ or an on-failure destination is set. */
static const char *const async_services[] = {"s3.amazonaws.com",
                                             "sns.amazonaws.com",
                                             "events.amazonaws.com",
                                             "ses.amazonaws.com",
                                             "iot.amazonaws.com",
                                             "logs.amazonaws.com",
                                             "codecommit.amazonaws.com",
                                             "config.amazonaws.com",
                                             "cloudformation.amazonaws.com",
                                             "lambda.alarms.cloudwatch.amazonaws.com",
                                             NULL};

struct async_scan {
    json_t *found;
};

static void note_async(void *arg, enum posture_principal kind, const char *value,
                       const char *account)
{
    struct async_scan *a = arg;
    (void)account;
    if (kind != POSTURE_PRINCIPAL_SERVICE)
        return;
    for (size_t i = 0; async_services[i] != NULL; i++) {
        if (strcmp(value, async_services[i]) == 0 && !has_string(a->found, value))
            json_array_append_new(a->found, json_string(value));
    }
}

void posture_check_async_dlq(struct posture_eval *ev, const struct posture_rule *rule,
                             const json_t *fn)
{
    const char *dlq = json_string_value(pj_path(fn, "DeadLetterConfig.TargetArn"));
    const char *onf =
        json_string_value(pj_path(fn, "EventInvokeConfig.DestinationConfig.OnFailure.Destination"));
    struct async_scan a;
    json_t *sts;
    size_t i;
    json_t *s;

    if ((dlq != NULL && dlq[0] != '\0') || (onf != NULL && onf[0] != '\0'))
        return;
    a.found = json_array();
    sts = posture_iam_statements(json_object_get(fn, "Policy"));
    json_array_foreach(sts, i, s)
    {
        if (stmt_allows_invoke(s))
            posture_iam_principals(s, note_async, &a);
    }
    json_decref(sts);
    if (json_array_size(a.found) == 0) {
        json_decref(a.found);
        return;
    }
    posture_report(ev, rule, ev->cur_fn->arn, "",
                   json_pack("{s:o, s:n, s:n}", "async_triggers", a.found,
                             "DeadLetterConfig.TargetArn",
                             "EventInvokeConfig.DestinationConfig.OnFailure.Destination"));
}

void posture_check_stream_dlq(struct posture_eval *ev, const struct posture_rule *rule,
                              const json_t *fn)
{
    size_t i;
    json_t *m;

    json_array_foreach(pj_arr(fn, "EventSourceMappings"), i, m)
    {
        const char *src = pj_str(m, "EventSourceArn"), *uuid = pj_str(m, "UUID");
        if (src == NULL || uuid == NULL || !mapping_enabled(m) || mapping_has_on_failure(m))
            continue;
        /* streams block on a failing batch; SQS has its own redrive policy on the queue */
        if (strncmp(src, "arn:aws:kinesis:", 16) != 0 && strncmp(src, "arn:aws:kafka:", 14) != 0 &&
            (strncmp(src, "arn:aws:dynamodb:", 17) != 0 || strstr(src, "/stream/") == NULL))
            continue;
        posture_report(ev, rule, ev->cur_fn->arn, uuid,
                       json_pack("{s:s, s:n}", "EventSourceArn", src,
                                 "DestinationConfig.OnFailure.Destination"));
    }
}

void posture_check_tracing(struct posture_eval *ev, const struct posture_rule *rule,
                           const json_t *fn)
{
    const bool *want_public = rule->arg;
    const char *mode = pj_str(pj_obj(fn, "TracingConfig"), "Mode");

    if (want_public == NULL || (mode != NULL && strcmp(mode, "Active") == 0))
        return;
    if (posture_fn_is_reachable(ev, ev->cur_fn) != *want_public)
        return;
    json_t *evd = json_pack("{s:s}", "TracingConfig.Mode", mode != NULL ? mode : "PassThrough");
    if (*want_public)
        json_object_set_new(evd, "reachable", json_deep_copy(ev->cur_fn->reach_evidence));
    posture_report(ev, rule, ev->cur_fn->arn, "", evd);
}
