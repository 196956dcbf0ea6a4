/* aws_fake_world - the account the fake AWS serves: a snapshot-shaped JSON file
 * (posture/inventory.md) and/or a deterministic synthetic account, indexed for the handlers. */
#include "aws_fake.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ZIP ((size_t)64 * 1024 * 1024)
#define MAX_WORLD_FILE ((size_t)256 * 1024 * 1024)

/* Keys of a world function that are not FunctionConfiguration members. */
static const char *const fn_extras[] = {
    "Policy",
    "UrlConfig",
    "ReservedConcurrentExecutions",
    "EventInvokeConfig",
    "EventSourceMappings",
    "Tags",
    "CodeZip",
    "Dependencies",
    "Vulnerabilities",
    "Errors",
    "ImageUri", /* GetFunction's Code.ImageUri */
};

/* Members GetFunction returns and ListFunctions omits. */
static const char *const get_only[] = {
    "State",
    "StateReason",
    "StateReasonCode",
    "LastUpdateStatus",
    "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode",
};

static bool failf(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool failf(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return false;
}

static void set_default(json_t *o, const char *key, json_t *v)
{
    if (json_object_get(o, key) == NULL)
        json_object_set_new(o, key, v);
    else
        json_decref(v);
}

static bool read_file(const char *path, size_t max, unsigned char **out, size_t *len)
{
    FILE *in = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;

    if (in == NULL)
        return false;
    for (;;) {
        size_t got;
        if (n == cap) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 65536;
            if (cap > max + 1)
                cap = max + 1;
            nb = realloc(buf, cap);
            if (nb == NULL || n == cap) {
                free(nb != NULL ? nb : buf);
                fclose(in);
                return false;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, in);
        n += got;
        if (got == 0)
            break;
        if (n > max) {
            free(buf);
            fclose(in);
            return false;
        }
    }
    fclose(in);
    *out = buf;
    *len = n;
    return true;
}

/* ---- synthetic accounts ------------------------------------------------------------------ */

static const char *const synth_runtimes[] = {
    "nodejs20.x", "python3.12", "nodejs18.x", "python3.11", "java21",     "nodejs22.x",
    "python3.13", "nodejs14.x", "python3.7",  "go1.x",      "nodejs16.x", "ruby3.3",
};

static json_t *policy_doc(const char *action, const char *resource)
{
    return json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "Version", "2012-10-17", "Statement", "Effect",
                     "Allow", "Action", action, "Resource", resource);
}

/* Appends n generated functions (and their roles and APIs) to the world document. A
 * deterministic mix: one role per 10 functions (some admin), a secret in every 17th function's
 * environment, a public function URL on every 23rd, old runtimes, reserved concurrency,
 * destinations, SQS mappings, and HTTP/REST APIs routing to every 3rd function. */
static bool synthesize(json_t *doc, const char *account, const char *region, unsigned long n)
{
    json_t *fns = json_object_get(doc, "functions");
    json_t *roles = json_object_get(doc, "roles");
    json_t *https = json_object_get(doc, "http_apis");
    json_t *rests = json_object_get(doc, "rest_apis");
    json_t *api = NULL, *rest = NULL;
    char name[48], arn[256], role[128], rarn[256], buf[512];

    for (unsigned long i = 0; i < n; i++) {
        json_t *fn, *env;
        const char *rt = synth_runtimes[i % (sizeof synth_runtimes / sizeof synth_runtimes[0])];

        snprintf(name, sizeof name, "synth-fn-%05lu", i);
        snprintf(arn, sizeof arn, "arn:aws:lambda:%s:%s:function:%s", region, account, name);
        snprintf(role, sizeof role, "synth-role-%03lu", i / 10);
        snprintf(rarn, sizeof rarn, "arn:aws:iam::%s:role/%s", account, role);
        env = json_pack("{s:s, s:s}", "STAGE", "prod", "TABLE", name);
        if (i % 17 == 0)
            json_object_set_new(env, "AWS_SECRET_ACCESS_KEY",
                                json_string("wJalrXUtnFEMI/K7MDENG/bPxRfiCYSYNTHKEY"));
        snprintf(buf, sizeof buf, "synth-%05lu", i);
        fn = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:{s:o}, s:{s:s}, s:[s]}",
                       "FunctionName", name, "FunctionArn", arn, "Runtime", rt, "Role", rarn,
                       "Handler", "index.handler", "CodeSize", (json_int_t)(1000 + i), "Timeout",
                       (json_int_t)(3 + i % 60), "MemorySize", (json_int_t)(128 << (i % 4)),
                       "Description", buf, "Environment", "Variables", env, "TracingConfig", "Mode",
                       i % 3 ? "PassThrough" : "Active", "Architectures",
                       i % 2 ? "arm64" : "x86_64");
        if (fn == NULL)
            return false;
        json_object_set_new(fn, "Tags", json_pack("{s:s}", "team", i % 2 ? "payments" : "core"));
        if (i % 23 == 0) {
            json_object_set_new(fn, "UrlConfig",
                                json_pack("{s:s, s:s, s:{s:[s], s:[s]}, s:s}", "FunctionUrl",
                                          "https://synthurl.lambda-url.us-east-1.on.aws/",
                                          "AuthType", "NONE", "Cors", "AllowOrigins", "*",
                                          "AllowMethods", "*", "InvokeMode", "BUFFERED"));
            json_object_set_new(fn, "Policy",
                                json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s}}}]}",
                                          "Version", "2012-10-17", "Id", "default", "Statement",
                                          "Sid", "FunctionURLAllowPublicAccess", "Effect", "Allow",
                                          "Principal", "*", "Action", "lambda:InvokeFunctionUrl",
                                          "Resource", arn, "Condition", "StringEquals",
                                          "lambda:FunctionUrlAuthType", "NONE"));
        }
        if (i % 5 == 0)
            json_object_set_new(fn, "ReservedConcurrentExecutions", json_integer(10));
        if (i % 7 == 0) {
            snprintf(buf, sizeof buf, "arn:aws:sqs:%s:%s:synth-dlq", region, account);
            json_object_set_new(fn, "EventInvokeConfig",
                                json_pack("{s:i, s:i, s:{s:{}, s:{s:s}}}", "MaximumRetryAttempts",
                                          2, "MaximumEventAgeInSeconds", 3600, "DestinationConfig",
                                          "OnSuccess", "OnFailure", "Destination", buf));
        }
        if (i % 11 == 0) {
            char uuid[96];
            snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012lu", i);
            snprintf(buf, sizeof buf, "arn:aws:sqs:%s:%s:synth-queue-%lu", region, account, i);
            json_object_set_new(fn, "EventSourceMappings",
                                json_pack("[{s:s, s:s, s:s, s:i}]", "UUID", uuid, "EventSourceArn",
                                          buf, "State", "Enabled", "BatchSize", 10));
        }
        json_array_append_new(fns, fn);

        if (i % 10 == 0) {
            bool admin = (i / 10) % 7 == 0;
            json_t *r = json_pack(
                "{s:s, s:s, s:s, s:{s:s, s:[{s:s, s:{s:s}, s:s}]}, s:[{s:s, s:s, s:s, s:o}], "
                "s:[{s:s, s:o}]}",
                "RoleName", role, "Arn", rarn, "Path", "/", "AssumeRolePolicyDocument", "Version",
                "2012-10-17", "Statement", "Effect", "Allow", "Principal", "Service",
                "lambda.amazonaws.com", "Action", "sts:AssumeRole", "AttachedPolicies",
                "PolicyName", admin ? "AdministratorAccess" : "AWSLambdaBasicExecutionRole",
                "PolicyArn",
                admin ? "arn:aws:iam::aws:policy/AdministratorAccess"
                      : "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "DefaultVersionId", "v1", "Document",
                admin ? policy_doc("*", "*") : policy_doc("logs:*", "*"), "InlinePolicies",
                "PolicyName", "data", "Document",
                policy_doc((i / 10) % 3 ? "dynamodb:GetItem" : "dynamodb:*", "*"));
            if (r == NULL)
                return false;
            json_array_append_new(roles, r);
        }

        if (i % 3 == 0) {
            char id[32], iid[32], key[96], uri[512];
            if (api == NULL || json_array_size(json_object_get(api, "routes")) >= 50) {
                snprintf(id, sizeof id, "h%09lu", i);
                snprintf(buf, sizeof buf, "https://%s.execute-api.%s.amazonaws.com", id, region);
                api = json_pack("{s:s, s:s, s:s, s:s, s:b, s:[], s:[]}", "apiId", id, "name",
                                "synth-http", "protocolType", "HTTP", "apiEndpoint", buf,
                                "disableExecuteApiEndpoint", 0, "routes", "integrations");
                json_array_append_new(https, api);
            }
            snprintf(iid, sizeof iid, "i%06lu", i);
            snprintf(key, sizeof key, "POST /%s", name);
            snprintf(buf, sizeof buf, "integrations/%s", iid);
            snprintf(id, sizeof id, "r%06lu", i);
            json_array_append_new(json_object_get(api, "routes"),
                                  json_pack("{s:s, s:s, s:s, s:b, s:s}", "routeId", id, "routeKey",
                                            key, "authorizationType", i % 2 ? "JWT" : "NONE",
                                            "apiKeyRequired", 0, "target", buf));
            json_array_append_new(json_object_get(api, "integrations"),
                                  json_pack("{s:s, s:s, s:s, s:s}", "integrationId", iid,
                                            "integrationType", "AWS_PROXY", "integrationUri", arn,
                                            "payloadFormatVersion", "2.0"));
            if (i % 6 == 0) {
                if (rest == NULL || json_array_size(json_object_get(rest, "resources")) >= 40) {
                    snprintf(id, sizeof id, "rest%06lu", i);
                    rest = json_pack("{s:s, s:s, s:{s:[s]}, s:[{s:s, s:s}]}", "id", id, "name",
                                     "synth-rest", "endpointConfiguration", "types", "REGIONAL",
                                     "resources", "id", "root", "path", "/");
                    json_array_append_new(rests, rest);
                }
                snprintf(id, sizeof id, "res%06lu", i);
                snprintf(key, sizeof key, "/%s", name);
                snprintf(uri, sizeof uri,
                         "arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations",
                         region, arn);
                json_array_append_new(
                    json_object_get(rest, "resources"),
                    json_pack("{s:s, s:s, s:s, s:s, s:{s:{s:s, s:s, s:b, s:{s:s, s:s}}}}", "id", id,
                              "parentId", "root", "pathPart", name, "path", key, "resourceMethods",
                              "GET", "httpMethod", "GET", "authorizationType",
                              i % 4 ? "AWS_IAM" : "NONE", "apiKeyRequired", 0, "methodIntegration",
                              "type", "AWS_PROXY", "uri", uri));
            }
        }
    }
    return true;
}

/* ---- indexing ---------------------------------------------------------------------------- */

static bool index_function(struct awsf_world *w, json_t *src, size_t i, const char *dir, char *why,
                           size_t whylen)
{
    struct awsf_fn *fn = &w->fns[i];
    const char *name = json_string_value(json_object_get(src, "FunctionName"));
    const char *zip = json_string_value(json_object_get(src, "CodeZip"));
    json_t *item;
    char buf[512];
    unsigned char md[SHA256_DIGEST_LENGTH];
    char *b64;

    if (name == NULL || name[0] == '\0' || strlen(name) > 64 ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
            strlen(name))
        return failf(why, whylen, "%s", "a function needs a FunctionName of [A-Za-z0-9-_]{1,64}");
    if (json_object_get(w->fn_by_name, name) != NULL)
        return failf(why, whylen, "duplicate function %s", name);
    if (zip != NULL) {
        char path[8200];
        if (zip[0] == '/' || dir == NULL)
            snprintf(path, sizeof path, "%s", zip);
        else
            snprintf(path, sizeof path, "%s/%s", dir, zip);
        if (!read_file(path, MAX_ZIP, &fn->zip, &fn->zip_len))
            return failf(why, whylen, "cannot read CodeZip %s", path);
    }
    item = json_deep_copy(src);
    if (item == NULL)
        return failf(why, whylen, "%s", "out of memory");
    for (size_t k = 0; k < sizeof fn_extras / sizeof fn_extras[0]; k++)
        json_object_del(item, fn_extras[k]);
    snprintf(buf, sizeof buf, "arn:aws:lambda:%s:%s:function:%s", w->region, w->account, name);
    set_default(item, "FunctionArn", json_string(buf));
    set_default(item, "Version", json_string("$LATEST"));
    set_default(item, "PackageType", json_string("Zip"));
    set_default(item, "LastModified", json_string("2026-01-01T00:00:00.000+0000"));
    set_default(item, "Timeout", json_integer(3));
    set_default(item, "MemorySize", json_integer(128));
    set_default(item, "Architectures", json_pack("[s]", "x86_64"));
    set_default(item, "EphemeralStorage", json_pack("{s:i}", "Size", 512));
    if (fn->zip != NULL) {
        SHA256(fn->zip, fn->zip_len, md);
        json_object_set_new(item, "CodeSize", json_integer((json_int_t)fn->zip_len));
        b64 = awsf_base64(md, sizeof md);
        json_object_set_new(item, "CodeSha256", json_string(b64 ? b64 : ""));
        free(b64);
    } else if (json_object_get(item, "CodeSha256") == NULL) {
        SHA256((const unsigned char *)name, strlen(name), md);
        b64 = awsf_base64(md, sizeof md);
        json_object_set_new(item, "CodeSha256", json_string(b64 ? b64 : ""));
        free(b64);
        set_default(item, "CodeSize", json_integer(22));
    }
    awsf_derived_id("", name, 8, buf, sizeof buf);
    set_default(item, "RevisionId", json_string(buf));
    fn->config = json_deep_copy(item);
    for (size_t k = 0; k < sizeof get_only / sizeof get_only[0]; k++)
        json_object_del(item, get_only[k]);
    set_default(fn->config, "State", json_string("Active"));
    set_default(fn->config, "LastUpdateStatus", json_string("Successful"));
    fn->list_item = item;
    fn->src = src;
    fn->name = json_string_value(json_object_get(item, "FunctionName"));
    json_object_set_new(w->fn_by_name, name, json_integer((json_int_t)i));

    /* Event source mappings, flattened with the members AWS adds. */
    {
        json_t *m;
        size_t k;
        json_array_foreach(json_object_get(src, "EventSourceMappings"), k, m)
        {
            json_t *e = json_deep_copy(m);
            const char *uuid = json_string_value(json_object_get(e, "UUID"));
            if (e == NULL || uuid == NULL) {
                json_decref(e);
                return failf(why, whylen, "an event source mapping of %s needs a UUID", name);
            }
            set_default(
                e, "FunctionArn",
                json_string(json_string_value(json_object_get(fn->list_item, "FunctionArn"))));
            set_default(e, "State", json_string("Enabled"));
            set_default(e, "StateTransitionReason", json_string("USER_INITIATED"));
            set_default(e, "LastModified", json_real(1709294400.0));
            set_default(e, "BatchSize", json_integer(10));
            snprintf(buf, sizeof buf, "arn:aws:lambda:%s:%s:event-source-mapping:%s", w->region,
                     w->account, uuid);
            set_default(e, "EventSourceMappingArn", json_string(buf));
            json_array_append_new(w->esms, e);
        }
    }
    return true;
}

static bool index_role(struct awsf_world *w, json_t *r, char *why, size_t whylen)
{
    const char *name = json_string_value(json_object_get(r, "RoleName"));
    const char *arn = json_string_value(json_object_get(r, "Arn"));
    json_t *p;
    size_t i;

    if (name == NULL && arn != NULL && strrchr(arn, '/') != NULL) {
        json_object_set_new(r, "RoleName", json_string(strrchr(arn, '/') + 1));
        name = json_string_value(json_object_get(r, "RoleName"));
    }
    if (name == NULL || name[0] == '\0')
        return failf(why, whylen, "%s", "a role needs a RoleName or Arn");
    if (json_object_get(w->roles, name) != NULL)
        return failf(why, whylen, "duplicate role %s", name);
    json_object_set(w->roles, name, r);
    json_array_foreach(json_object_get(r, "AttachedPolicies"), i, p)
    {
        const char *parn = json_string_value(json_object_get(p, "PolicyArn"));
        json_t *have;
        if (parn == NULL || json_string_value(json_object_get(p, "PolicyName")) == NULL)
            return failf(why, whylen, "an attached policy of %s needs PolicyName and PolicyArn",
                         name);
        have = json_object_get(w->policies, parn);
        if (have == NULL) {
            have = json_pack("{s:O, s:s, s:O?, s:i}", "PolicyName",
                             json_object_get(p, "PolicyName"), "DefaultVersionId",
                             json_string_value(json_object_get(p, "DefaultVersionId"))
                                 ? json_string_value(json_object_get(p, "DefaultVersionId"))
                                 : "v1",
                             "Document", json_object_get(p, "Document"), "Count", 0);
            if (have == NULL)
                return failf(why, whylen, "%s", "out of memory");
            json_object_set_new(w->policies, parn, have);
        }
        json_object_set_new(have, "Count",
                            json_integer(json_integer_value(json_object_get(have, "Count")) + 1));
    }
    return true;
}

static bool index_apis(struct awsf_world *w, char *why, size_t whylen)
{
    json_t *a;
    size_t i;

    json_array_foreach(json_object_get(w->doc, "http_apis"), i, a)
    {
        const char *id = json_string_value(json_object_get(a, "apiId"));
        json_t *item;
        char buf[256];
        if (id == NULL || json_object_get(w->http_by_id, id) != NULL)
            return failf(why, whylen, "%s", "every http_api needs a unique apiId");
        item = json_deep_copy(a);
        json_object_del(item, "routes");
        json_object_del(item, "integrations");
        snprintf(buf, sizeof buf, "https://%s.execute-api.%s.amazonaws.com", id, w->region);
        set_default(item, "apiEndpoint", json_string(buf));
        set_default(item, "protocolType", json_string("HTTP"));
        set_default(item, "name", json_string(id));
        set_default(item, "createdDate", json_string("2025-11-03T10:22:31Z"));
        set_default(item, "routeSelectionExpression",
                    json_string("${request.method} ${request.path}"));
        set_default(item, "apiKeySelectionExpression", json_string("$request.header.x-api-key"));
        set_default(item, "disableExecuteApiEndpoint", json_false());
        json_array_append_new(w->http_apis, item);
        json_object_set(w->http_by_id, id, a);
    }
    json_array_foreach(json_object_get(w->doc, "rest_apis"), i, a)
    {
        const char *id = json_string_value(json_object_get(a, "id"));
        json_t *item;
        if (id == NULL || json_object_get(w->rest_by_id, id) != NULL)
            return failf(why, whylen, "%s", "every rest_api needs a unique id");
        item = json_deep_copy(a);
        json_object_del(item, "resources");
        set_default(item, "name", json_string(id));
        set_default(item, "createdDate", json_integer(1709294400));
        set_default(item, "apiKeySource", json_string("HEADER"));
        set_default(item, "endpointConfiguration", json_pack("{s:[s]}", "types", "EDGE"));
        set_default(item, "disableExecuteApiEndpoint", json_false());
        json_array_append_new(w->rest_apis, item);
        json_object_set(w->rest_by_id, id, a);
    }
    return true;
}

bool awsf_world_load(struct awsf_world *w, const char *path, unsigned long synthetic, char *why,
                     size_t whylen)
{
    static const char *const arrays[] = {"functions", "roles", "http_apis", "rest_apis"};
    const char *account = "444455556666", *region = "us-east-1";
    char dir[4096] = "";
    json_t *f;
    size_t i;

    memset(w, 0, sizeof *w);
    why[0] = '\0';
    if (path != NULL) {
        json_error_t je;
        const char *slash = strrchr(path, '/');
        w->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        if (w->doc == NULL) {
            snprintf(why, whylen, "%s:%d: %s", path, je.line, je.text);
            return false;
        }
        if (!json_is_object(w->doc))
            return failf(why, whylen, "%s: the world must be a JSON object", path);
        if (slash != NULL)
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        else
            snprintf(dir, sizeof dir, ".");
    } else {
        w->doc = json_object();
    }
    if (json_string_value(json_object_get(w->doc, "account_id")) != NULL)
        account = json_string_value(json_object_get(w->doc, "account_id"));
    if (json_string_value(json_object_get(w->doc, "region")) != NULL)
        region = json_string_value(json_object_get(w->doc, "region"));
    if (strlen(account) != 12 || strspn(account, "0123456789") != 12)
        return failf(why, whylen, "%s", "account_id must be 12 digits");
    if (strlen(region) == 0 || strlen(region) > 32 ||
        strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
        return failf(why, whylen, "%s", "region must be like us-east-1");
    snprintf(w->account, sizeof w->account, "%s", account);
    snprintf(w->region, sizeof w->region, "%s", region);
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++) {
        json_t *a = json_object_get(w->doc, arrays[k]);
        if (a == NULL)
            json_object_set_new(w->doc, arrays[k], json_array());
        else if (!json_is_array(a))
            return failf(why, whylen, "%s must be an array", arrays[k]);
    }
    if (synthetic > 0 && !synthesize(w->doc, w->account, w->region, synthetic))
        return failf(why, whylen, "%s", "cannot generate the synthetic account");

    w->fn_by_name = json_object();
    w->esms = json_array();
    w->roles = json_object();
    w->policies = json_object();
    w->http_apis = json_array();
    w->http_by_id = json_object();
    w->rest_apis = json_array();
    w->rest_by_id = json_object();
    w->nfns = json_array_size(json_object_get(w->doc, "functions"));
    w->fns = calloc(w->nfns ? w->nfns : 1, sizeof *w->fns);
    if (w->fns == NULL || w->fn_by_name == NULL || w->esms == NULL || w->roles == NULL ||
        w->policies == NULL || w->http_apis == NULL || w->http_by_id == NULL ||
        w->rest_apis == NULL || w->rest_by_id == NULL)
        return failf(why, whylen, "%s", "out of memory");
    json_array_foreach(json_object_get(w->doc, "functions"), i, f)
    {
        if (!json_is_object(f))
            return failf(why, whylen, "%s", "functions[] must hold objects");
        if (!index_function(w, f, i, path != NULL ? dir : NULL, why, whylen))
            return false;
    }
    json_array_foreach(json_object_get(w->doc, "roles"), i, f)
    {
        if (!json_is_object(f) || !index_role(w, f, why, whylen))
            return why[0] ? false : failf(why, whylen, "%s", "roles[] must hold objects");
    }
    return index_apis(w, why, whylen);
}

void awsf_world_free(struct awsf_world *w)
{
    for (size_t i = 0; w->fns != NULL && i < w->nfns; i++) {
        json_decref(w->fns[i].list_item);
        json_decref(w->fns[i].config);
        free(w->fns[i].zip);
    }
    free(w->fns);
    json_decref(w->doc);
    json_decref(w->fn_by_name);
    json_decref(w->esms);
    json_decref(w->roles);
    json_decref(w->policies);
    json_decref(w->http_apis);
    json_decref(w->http_by_id);
    json_decref(w->rest_apis);
    json_decref(w->rest_by_id);
    memset(w, 0, sizeof *w);
}

const struct awsf_fn *awsf_world_fn(const struct awsf_world *w, const char *function_name,
                                    char scratch[256], const char **qualifier)
{
    char *parts[8];
    size_t n = 0;
    char *p;
    const char *name = NULL;
    json_t *idx;

    *qualifier = "";
    if (w == NULL || strlen(function_name) >= 256)
        return NULL;
    snprintf(scratch, 256, "%s", function_name);
    for (p = scratch; n < 8;) {
        parts[n++] = p;
        p = strchr(p, ':');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    if (p != NULL)
        return NULL;
    /* name[:qualifier] | account:function:name[:q] |
     * arn:aws:lambda:region:account:function:name[:q] */
    if (n <= 2) {
        name = parts[0];
        if (n == 2)
            *qualifier = parts[1];
    } else if ((n == 3 || n == 4) && strcmp(parts[1], "function") == 0) {
        if (strcmp(parts[0], w->account) != 0)
            return NULL;
        name = parts[2];
        if (n == 4)
            *qualifier = parts[3];
    } else if ((n == 7 || n == 8) && strcmp(parts[0], "arn") == 0 &&
               strcmp(parts[2], "lambda") == 0 && strcmp(parts[5], "function") == 0) {
        if (strcmp(parts[3], w->region) != 0 || strcmp(parts[4], w->account) != 0)
            return NULL;
        name = parts[6];
        if (n == 8)
            *qualifier = parts[7];
    } else {
        return NULL;
    }
    idx = json_object_get(w->fn_by_name, name);
    if (idx == NULL)
        return NULL;
    return &w->fns[json_integer_value(idx)];
}
