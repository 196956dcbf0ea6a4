#include "posture/scan.h"

#include "cloud/aws.h"
#include "net/net.h"
#include "posture/deps.h"
#include "posture/posture.h"
#include "server/log.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one scan gathers before it is stored. */
struct scan {
    struct db_pool *db;
    const struct posture_scan_opts *opts;
    int done, total; /* progress: regions' steps, functions and roles read */
    const char *tenant_id;
    const char *scan_id;
    char account_id[40];
    char aws_account_id[13];
    json_t *snapshots; /* one per region */
    json_t *roles;     /* Arn -> role, read once per scan (IAM is global) */
    json_t *errors;    /* [{region, resource, call, code, message}] */
    json_t *findings;  /* fingerprint -> finding */
    json_t *previous;  /* FunctionArn -> what the last scan stored (db_resources_previous) */
    long long calls_failed;
    long long reused;     /* functions unchanged since the last scan: details not re-read */
    long long packages;   /* packages downloaded and read */
    bool complete;
};

/* Records an error of the scan. blocking: the scan could not see something, so it must not
 * resolve findings. */
static void scan_note(struct scan *s, bool blocking, const char *region, const char *resource,
                      const char *call, const char *code, const char *message)
{
    if (blocking)
        s->complete = false;
    if (json_array_size(s->errors) < 200) /* enough to act on; the count is in the stats */
        json_array_append_new(s->errors,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "region", region ? region : "",
                                        "resource", resource ? resource : "", "call", call,
                                        "code", code ? code : "", "message",
                                        message ? message : ""));
    s->calls_failed++;
}

static void scan_error(struct scan *s, const char *region, const char *resource, const char *call,
                       const char *code, const char *message)
{
    scan_note(s, true, region, resource, call, code, message);
}

/* Records progress (best effort: a failure here surfaces when the results are stored). */
static void progress(struct scan *s, int add_done, int add_total)
{
    struct db_tx *tx;
    struct err e = {0};

    s->done += add_done;
    s->total += add_total;
    if (db_tx_tenant(s->db, s->tenant_id, &tx, &e) != ERR_OK)
        return;
    bool owned = true;
    if (db_scan_progress(tx, s->scan_id, s->done, s->total, &e) != ERR_OK ||
        (s->opts->worker != NULL &&
         db_job_extend(tx, s->opts->job_id, s->opts->worker, s->opts->lease_s, &owned, &e) !=
             ERR_OK)) {
        db_tx_rollback(tx);
        return;
    }
    if (!owned) /* another worker took the job over: its run will store the results too */
        log_event(LOG_WARN, NULL, "scan.lease_lost", "{s:s}", "scan_id", s->scan_id);
    db_tx_commit(tx, &e);
}

/* ---- incremental reads ---- */

/* What GetFunction, GetPolicy and friends added to a function; reused while its RevisionId (which
 * changes with its code, configuration and resource policy) stays the same. */
static const char *const detail_keys[] = {"Policy", "UrlConfig", "ReservedConcurrentExecutions",
                                          "EventInvokeConfig", "EventSourceMappings", "Tags",
                                          "State", "StateReason", "LastUpdateStatus"};

static bool reuse_details(struct scan *s, json_t *fn)
{
    json_t *prev = json_object_get(json_object_get(s->previous,
                                                   json_string_value(json_object_get(fn, "FunctionArn")) ?
                                                   json_string_value(json_object_get(fn, "FunctionArn")) : ""),
                                   "data");
    const char *rev = json_string_value(json_object_get(fn, "RevisionId"));
    const char *old = json_string_value(json_object_get(prev, "RevisionId"));

    if (rev == NULL || old == NULL || rev[0] == '\0' || strcmp(rev, old) != 0)
        return false;
    for (size_t i = 0; i < sizeof detail_keys / sizeof detail_keys[0]; i++) {
        json_t *v = json_object_get(prev, detail_keys[i]);
        if (v != NULL)
            json_object_set(fn, detail_keys[i], v);
    }
    return true;
}

/* ---- dependencies ---- */

static pthread_mutex_t adv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct posture_advisories *adv;
static char adv_dir[1024];

/* The advisory index of dir, loaded once per process (NULL when it cannot be read). */
static const struct posture_advisories *advisories(const char *dir)
{
    const struct posture_advisories *out;

    pthread_mutex_lock(&adv_mu);
    if (adv == NULL || strcmp(adv_dir, dir) != 0) {
        struct err e = {0};
        posture_advisories_free(adv);
        adv = NULL;
        if (posture_advisories_load(dir, &adv, &e) != ERR_OK) {
            log_event(LOG_WARN, NULL, "advisories.unreadable", "{s:s, s:s}", "dir", dir,
                      "error", e.detail);
            adv = NULL;
        } else {
            snprintf(adv_dir, sizeof adv_dir, "%s", dir);
            log_event(LOG_INFO, NULL, "advisories.loaded", "{s:I}", "records",
                      (json_int_t)posture_advisories_count(adv));
        }
    }
    out = adv;
    pthread_mutex_unlock(&adv_mu);
    return out;
}

/* Reads each function's package (unless its CodeSha256 is the one already read) into
 * Dependencies, and matches them against the advisories into Vulnerabilities. */
static void read_packages(struct scan *s, const char *region, json_t *functions, json_t *code,
                          const struct posture_scan_opts *opts)
{
    const struct posture_advisories *db;
    size_t i, n = 0;
    json_t *fn, **todo;
    struct net_request *reqs;
    struct net_response *resps;
    struct err *errs, e = {0};

    if (opts->advisory_dir == NULL || (db = advisories(opts->advisory_dir)) == NULL)
        return;
    todo = calloc(json_array_size(functions) + 1, sizeof *todo);
    reqs = calloc(json_array_size(functions) + 1, sizeof *reqs);
    resps = calloc(json_array_size(functions) + 1, sizeof *resps);
    errs = calloc(json_array_size(functions) + 1, sizeof *errs);
    if (todo == NULL || reqs == NULL || resps == NULL || errs == NULL)
        goto out;
    json_array_foreach(functions, i, fn) {
        const char *arn = json_string_value(json_object_get(fn, "FunctionArn"));
        json_t *prev = json_object_get(s->previous, arn ? arn : "");
        const char *sha = json_string_value(json_object_get(fn, "CodeSha256"));
        const char *old = json_string_value(json_object_get(prev, "code_sha256"));
        const char *url = json_string_value(json_object_get(code, arn ? arn : ""));

        if (json_is_string(json_object_get(fn, "PackageType")) &&
            strcmp(json_string_value(json_object_get(fn, "PackageType")), "Zip") != 0)
            continue; /* container images: not read here */
        if (sha != NULL && old != NULL && strcmp(sha, old) == 0 &&
            json_is_array(json_object_get(prev, "dependencies"))) {
            json_object_set(fn, "Dependencies", json_object_get(prev, "dependencies"));
            continue;
        }
        if (url == NULL) {
            /* Not re-read (unchanged revision) or no package URL: keep what was known. */
            if (json_is_array(json_object_get(prev, "dependencies")))
                json_object_set(fn, "Dependencies", json_object_get(prev, "dependencies"));
            continue;
        }
        todo[n] = fn;
        reqs[n] = (struct net_request){.method = "GET", .url = url, .timeout_ms = 60000,
                                       .max_response = opts->max_code_bytes};
        n++;
    }
    if (n > 0 && net_do_many(reqs, resps, errs, n, opts->parallel, &e) != ERR_OK)
        n = 0;
    for (i = 0; i < n; i++) {
        const char *arn = json_string_value(json_object_get(todo[i], "FunctionArn"));
        json_t *deps = NULL, *ferrs = NULL;
        if (errs[i].code != ERR_OK || resps[i].status != 200) {
            char why[160];
            snprintf(why, sizeof why, "%s", errs[i].code != ERR_OK ? errs[i].detail
                                                                   : "the download was refused");
            scan_note(s, false, region, arn, "ReadPackage", "Unreadable", why);
        } else if (posture_deps_from_zip((const unsigned char *)resps[i].body, resps[i].body_len,
                                         NULL, &deps, &ferrs, &e) != ERR_OK) {
            scan_note(s, false, region, arn, "ReadPackage", "InvalidPackage", e.detail);
        } else {
            size_t j;
            json_t *fe;
            s->packages++;
            json_object_set_new(todo[i], "Dependencies", deps);
            json_array_foreach(ferrs, j, fe)
                scan_note(s, false, region, arn, "ReadPackage", "InvalidFile",
                          json_string_value(json_object_get(fe, "error")));
            json_decref(ferrs);
        }
        net_response_free(&resps[i]);
        /* A package that could not be read keeps what was known of it. */
        if (json_object_get(todo[i], "Dependencies") == NULL) {
            json_t *prev = json_object_get(s->previous, arn ? arn : "");
            if (json_is_array(json_object_get(prev, "dependencies")))
                json_object_set(todo[i], "Dependencies", json_object_get(prev, "dependencies"));
        }
    }
    json_array_foreach(functions, i, fn) {
        json_t *deps = json_object_get(fn, "Dependencies");
        if (json_is_array(deps)) {
            json_t *v = posture_advisories_match(db, deps);
            if (v != NULL)
                json_object_set_new(fn, "Vulnerabilities", v);
        }
    }
out:
    free(todo);
    free(reqs);
    free(resps);
    free(errs);
}

/* Moves resource-level "Errors" (calls that failed for one function or role) into the scan's. */
static void collect_errors(struct scan *s, const char *region, json_t *objs, const char *arn_key)
{
    size_t i, j;
    json_t *o, *e;

    json_array_foreach(objs, i, o) {
        json_array_foreach(json_object_get(o, "Errors"), j, e)
            scan_error(s, region, json_string_value(json_object_get(o, arn_key)),
                       json_string_value(json_object_get(e, "call")),
                       json_string_value(json_object_get(e, "code")),
                       json_string_value(json_object_get(e, "message")));
    }
}

static void fingerprint(const char *rule, const char *arn, const char *subject, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t a = strlen(rule) + 1, b = strlen(arn) + 1, c = strlen(subject) + 1;
    unsigned char *buf = malloc(a + b + c);

    out[0] = '\0';
    if (buf == NULL)
        return;
    memcpy(buf, rule, a);
    memcpy(buf + a, arn, b);
    memcpy(buf + a + b, subject, c);
    SHA256(buf, a + b + c, md);
    free(buf);
    for (size_t i = 0; i < sizeof md; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void on_finding(void *ctx, const struct posture_rule *rule, const char *resource_arn,
                       const char *subject, json_t *evidence)
{
    struct scan *s = ctx;
    char fp[65];

    fingerprint(rule->id, resource_arn, subject, fp);
    if (fp[0] == '\0' || json_object_get(s->findings, fp) != NULL) {
        json_decref(evidence); /* a role seen from two regions reports once */
        return;
    }
    json_object_set_new(s->findings, fp,
                        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "fingerprint", fp,
                                  "rule_id", rule->id, "subject", subject, "resource_arn",
                                  resource_arn, "category", rule->category, "severity",
                                  posture_severity_name(rule->severity), "title", rule->title,
                                  "evidence", evidence ? evidence : json_object()));
}

/* Environment values are customers' secrets: the stored inventory keeps names and lengths. */
static json_t *stored_function(const json_t *fn)
{
    json_t *copy = json_deep_copy(fn);
    json_t *vars = json_object_get(json_object_get(copy, "Environment"), "Variables");
    const char *k;
    json_t *v;

    json_object_foreach(vars, k, v) {
        char masked[48];
        snprintf(masked, sizeof masked, "**** (%zu characters)",
                 json_is_string(v) ? json_string_length(v) : (size_t)0);
        json_object_set_new(vars, k, json_string(masked));
    }
    json_object_del(copy, "Errors");
    return copy;
}

/* An API Gateway API as a resource (its ARN as AWS names it: arn:aws:apigateway:REGION::/KIND/ID). */
static void api_resource(json_t *out, const char *region, const json_t *api, const char *id_key,
                         const char *type, const char *kind)
{
    char arn[256];
    const char *id = json_string_value(json_object_get(api, id_key));
    json_t *d;

    if (id == NULL)
        return;
    snprintf(arn, sizeof arn, "arn:aws:apigateway:%s::/%s/%s", region, kind, id);
    d = json_deep_copy(api);
    json_object_del(d, "Errors");
    json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:O?, s:o, s:{}}", "type", type, "arn",
                                         arn, "region", region, "name",
                                         json_object_get(api, "name"), "data", d, "links"));
}

/* The resources of one region's snapshot, as db_resources_upsert() takes them. */
static void region_resources(const json_t *snap, json_t *out)
{
    const char *region = json_string_value(json_object_get(snap, "region"));
    size_t i;
    json_t *o;

    json_t *routes = posture_link_routes_index_new(snap); /* route -> function */

    json_array_foreach(json_object_get(snap, "functions"), i, o) {
        const char *arn = json_string_value(json_object_get(o, "FunctionArn"));
        json_t *r;
        if (arn == NULL)
            continue;
        r = json_object_get(routes, arn);
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:O?, s:o, s:{s:O?, s:o}, s:O?, s:O?, s:O?}", "type",
                           "aws.lambda.function", "arn", arn, "region", region, "name",
                           json_object_get(o, "FunctionName"), "data", stored_function(o),
                           "links", "role", json_object_get(o, "Role"), "routes",
                           r ? json_incref(r) : json_array(), "code_sha256",
                           json_object_get(o, "CodeSha256"), "dependencies",
                           json_object_get(o, "Dependencies"), "vulnerabilities",
                           json_object_get(o, "Vulnerabilities")));
    }
    json_decref(routes);
    json_array_foreach(json_object_get(snap, "http_apis"), i, o)
        api_resource(out, region, o, "apiId", "aws.apigateway.http_api", "apis");
    json_array_foreach(json_object_get(snap, "rest_apis"), i, o)
        api_resource(out, region, o, "id", "aws.apigateway.rest_api", "restapis");
}

static void role_resources(struct scan *s, json_t *out)
{
    const char *arn;
    json_t *role;

    json_object_foreach(s->roles, arn, role) {
        json_t *fns = json_array(), *snap, *fn;
        size_t i, j;
        json_array_foreach(s->snapshots, i, snap)
            json_array_foreach(json_object_get(snap, "functions"), j, fn)
                if (json_is_string(json_object_get(fn, "Role")) &&
                    strcmp(json_string_value(json_object_get(fn, "Role")), arn) == 0)
                    json_array_append(fns, json_object_get(fn, "FunctionArn"));
        json_t *d = json_deep_copy(role);
        json_object_del(d, "Errors");
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:O?, s:o, s:{s:o}}", "type",
                                             "aws.iam.role", "arn", arn, "region", "global",
                                             "name", json_object_get(role, "RoleName"), "data", d,
                                             "links", "functions", fns));
    }
}

/* Reads one region into a snapshot. */
static void read_region(struct scan *s, struct cloud_principal *p, const char *region,
                        const struct posture_scan_opts *opts)
{
    json_t *functions = NULL, *http = NULL, *rest = NULL, *arns = json_array();
    char aws_error[64];
    struct err e = {0};
    size_t i;
    json_t *fn;

    if (cloud_lambda_list(p, region, &functions, aws_error, &e) != ERR_OK) {
        scan_error(s, region, "", "ListFunctions", aws_error[0] ? aws_error : "Unavailable",
                   e.detail);
        functions = json_array();
    } else {
        json_t *changed = json_array(), *code = json_object();
        progress(s, 1, (int)json_array_size(functions));
        json_array_foreach(functions, i, fn) {
            if (reuse_details(s, fn))
                s->reused++;
            else
                json_array_append(changed, fn); /* the same object: details land in functions */
        }
        if (cloud_lambda_details(p, region, changed, opts->parallel, code, &e) != ERR_OK)
            scan_error(s, region, "", "GetFunction", "Internal", e.detail);
        collect_errors(s, region, functions, "FunctionArn");
        read_packages(s, region, functions, code, opts);
        progress(s, (int)json_array_size(functions), 0);
        json_decref(changed);
        json_decref(code); /* presigned URLs: never kept */
    }
    json_array_foreach(functions, i, fn) {
        const char *role = json_string_value(json_object_get(fn, "Role"));
        if (role != NULL && json_object_get(s->roles, role) == NULL) {
            json_object_set_new(s->roles, role, json_null()); /* claimed: read once */
            json_array_append_new(arns, json_string(role));
        }
    }
    if (json_array_size(arns) > 0) {
        json_t *roles = NULL;
        progress(s, 0, (int)json_array_size(arns));
        if (cloud_iam_roles(p, arns, opts->parallel, &roles, &e) != ERR_OK) {
            scan_error(s, region, "", "GetRole", "Internal", e.detail);
        } else {
            json_t *r;
            collect_errors(s, region, roles, "Arn");
            json_array_foreach(roles, i, r)
                json_object_set(s->roles, json_string_value(json_object_get(r, "Arn")), r);
            json_decref(roles);
        }
        progress(s, (int)json_array_size(arns), 0);
    }
    json_decref(arns);
    if (cloud_apigw_http_apis(p, region, &http, aws_error, &e) != ERR_OK) {
        scan_error(s, region, "", "GetApis", aws_error[0] ? aws_error : "Unavailable", e.detail);
        http = json_array();
    }
    collect_errors(s, region, http, "apiId");
    if (cloud_apigw_rest_apis(p, region, &rest, aws_error, &e) != ERR_OK) {
        scan_error(s, region, "", "GetRestApis", aws_error[0] ? aws_error : "Unavailable",
                   e.detail);
        rest = json_array();
    }
    collect_errors(s, region, rest, "id");
    progress(s, 1, 0);
    json_array_append_new(s->snapshots,
                          json_pack("{s:s, s:s, s:o, s:[], s:o, s:o}", "account_id",
                                    s->aws_account_id, "region", region, "functions", functions,
                                    "roles", "http_apis", http, "rest_apis", rest));
}

/* Records the scan's end (and the account's last scan) in its own transaction. */
static enum err_code finish(struct db_pool *db, struct scan *s, const char *status,
                            json_t *stats, struct err *err)
{
    struct db_tx *tx;
    enum err_code rc = db_tx_tenant(db, s->tenant_id, &tx, err);

    if (rc == ERR_OK)
        rc = db_scan_finish(tx, s->scan_id, status, s->complete, stats, s->errors, err);
    if (rc == ERR_OK)
        return db_tx_commit(tx, err);
    db_tx_rollback(tx);
    return rc;
}


/* Stores resources and findings, resolves what a complete scan no longer sees, records events
 * for new high and critical findings, and ends the scan: one transaction. */
static enum err_code store(struct db_pool *db, struct scan *s, json_t *stats, struct err *err)
{
    json_t *resources = json_array(), *findings = json_array(), *opened = NULL, *snap, *f;
    struct db_tx *tx = NULL;
    long long resolved = 0;
    const char *key;
    size_t i;
    enum err_code rc;

    json_array_foreach(s->snapshots, i, snap)
        region_resources(snap, resources);
    role_resources(s, resources);
    json_object_foreach(s->findings, key, f)
        json_array_append(findings, f);

    rc = db_tx_tenant(db, s->tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_resources_upsert(tx, s->account_id, s->scan_id, resources, err);
    if (rc == ERR_OK)
        rc = db_findings_upsert(tx, s->account_id, s->scan_id, findings, &opened, err);
    json_array_foreach(opened, i, f) {
        const char *sev = json_string_value(json_object_get(f, "severity"));
        if (rc != ERR_OK)
            break;
        if (sev == NULL || (strcmp(sev, "high") != 0 && strcmp(sev, "critical") != 0))
            continue;
        json_t *payload = json_pack("{s:O, s:O, s:O, s:O, s:s}", "title",
                                    json_object_get(f, "title"), "rule_id",
                                    json_object_get(f, "rule_id"), "resource_arn",
                                    json_object_get(f, "resource_arn"), "category",
                                    json_object_get(f, "category"), "account_id",
                                    s->aws_account_id);
        rc = db_event_record(tx, "finding.opened",
                             json_string_value(json_object_get(f, "finding_id")), sev, payload,
                             err);
        json_decref(payload);
    }
    /* A partial scan never resolves: what it did not see may still be there. */
    if (rc == ERR_OK && s->complete)
        rc = db_findings_resolve(tx, s->account_id, s->scan_id, &resolved, err);
    if (rc == ERR_OK) {
        json_object_set_new(stats, "resources", json_integer((json_int_t)json_array_size(resources)));
        json_object_set_new(stats, "findings", json_integer((json_int_t)json_array_size(findings)));
        json_object_set_new(stats, "opened", json_integer((json_int_t)json_array_size(opened)));
        json_object_set_new(stats, "resolved", json_integer(resolved));
        rc = db_scan_finish(tx, s->scan_id, "succeeded", s->complete, stats, s->errors, err);
    }
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    json_decref(resources);
    json_decref(findings);
    json_decref(opened);
    return rc;
}

enum err_code posture_scan_run(struct db_pool *db, const struct posture_scan_opts *opts,
                               const char *tenant_id, const char *scan_id, struct err *err)
{
    struct scan s = {db, opts, 0, 0, tenant_id, scan_id, "", "", json_array(), json_object(), json_array(),
                     json_object(), NULL, 0, 0, 0, true};
    struct cloud_principal p;
    json_t *account = NULL, *stats = json_object(), *region;
    struct db_tx *tx = NULL;
    char aws_error[64];
    struct err e = {0};
    enum err_code rc;
    size_t i;
    long long t0 = (long long)time(NULL);

    rc = db_tx_tenant(db, tenant_id, &tx, err);
    if (rc == ERR_OK)
        rc = db_scan_start(tx, scan_id, &account, err);
    if (rc == ERR_OK && account != NULL)
        rc = db_resources_previous(tx, json_string_value(json_object_get(account, "id")),
                                   &s.previous, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    if (rc != ERR_OK || account == NULL) /* finished already, or the account is gone */
        goto out;
    snprintf(s.account_id, sizeof s.account_id, "%s",
             json_string_value(json_object_get(account, "id")));
    snprintf(s.aws_account_id, sizeof s.aws_account_id, "%s",
             json_string_value(json_object_get(account, "aws_account_id")));
    const char *role_arn = json_string_value(json_object_get(account, "role_arn"));
    const char *ext = json_string_value(json_object_get(account, "external_id"));
    if (role_arn == NULL || ext == NULL ||
        strcmp(json_string_value(json_object_get(account, "status")), "active") != 0) {
        scan_error(&s, "", "", "AssumeRole", "NotConnected",
                   "the account is not connected: connect its role first");
        rc = finish(db, &s, "failed", stats, err);
        goto out;
    }
    if (cloud_role_principal(role_arn, ext, &p, aws_error, &e) != ERR_OK) {
        scan_error(&s, "", role_arn, "AssumeRole", aws_error[0] ? aws_error : "Unavailable",
                   e.detail);
        rc = finish(db, &s, "failed", stats, err);
        goto out;
    }
    size_t nregions = json_array_size(json_object_get(account, "regions"));
    progress(&s, 0, 2 * (int)nregions + 1); /* list and APIs per region, then the store */
    json_array_foreach(json_object_get(account, "regions"), i, region) {
        read_region(&s, &p, json_string_value(region), opts);
    }
    cloud_principal_clear(&p);

    /* Every region's snapshot sees every role the scan read. */
    json_t *snap;
    json_array_foreach(s.snapshots, i, snap) {
        json_t *roles = json_object_get(snap, "roles"), *r;
        /* The tenant's other accounts are not foreign to this one. */
        json_object_set(snap, "trusted_accounts", json_object_get(account, "trusted_accounts"));
        const char *arn;
        json_object_foreach(s.roles, arn, r)
            if (json_is_object(r))
                json_array_append(roles, r);
    }
    time_t now = time(NULL);
    json_array_foreach(s.snapshots, i, snap)
        posture_evaluate(snap, now, on_finding, &s);

    long long functions = 0;
    json_array_foreach(s.snapshots, i, snap)
        functions += (long long)json_array_size(json_object_get(snap, "functions"));
    json_object_set_new(stats, "regions", json_integer((json_int_t)nregions));
    json_object_set_new(stats, "functions", json_integer(functions));
    json_object_set_new(stats, "roles", json_integer((json_int_t)json_object_size(s.roles)));
    json_object_set_new(stats, "calls_failed", json_integer(s.calls_failed));
    json_object_set_new(stats, "functions_unchanged", json_integer(s.reused));
    json_object_set_new(stats, "packages_read", json_integer(s.packages));
    json_object_set_new(stats, "duration_s", json_integer((long long)time(NULL) - t0));
    rc = store(db, &s, stats, err);
    log_event(LOG_INFO, NULL, "scan.finished", "{s:s, s:s, s:I, s:I, s:b}", "scan_id", scan_id,
              "account_id", s.account_id, "functions", (json_int_t)functions, "findings",
              (json_int_t)json_object_size(s.findings), "complete", s.complete);
out:
    json_decref(account);
    json_decref(stats);
    json_decref(s.snapshots);
    json_decref(s.roles);
    json_decref(s.errors);
    json_decref(s.findings);
    json_decref(s.previous);
    return rc;
}

enum err_code posture_schedule(struct db_tx *tx, unsigned *queued, struct err *err)
{
    return db_scan_schedule_due(tx, 100, queued, err);
}
