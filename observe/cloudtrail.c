/* CloudTrail rules for cloud infrastructure attacks on serverless accounts: a static table, one
 * row per detection (ids follow posture-and-detections.md section 3(b)). Each rule looks at one
 * record; bursts (reconnaissance, access denials) are counted by correlation over the weak
 * signals these rules emit. Lambda event names carry API-version suffixes and are normalised
 * first. Pure: no I/O; the access key's address history comes in as key_seen. */
#include "observe/observe.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct ct_view {
    const json_t *rec;
    const json_t *req; /* requestParameters, may be NULL */
    const char *source;
    char name[96]; /* normalised eventName */
    const char *error;
    const char *account; /* recipientAccountId, or userIdentity.accountId */
    const char *region;
    enum obs_key_seen key_seen;
    const struct obs_ct_ctx *ctx; /* may be NULL */
};

/* Fills the parts of a signal the rule decides: class, technique, severity; evidence and
 * resource are optional refinements. Returns false when the rule does not match. */
typedef bool (*ct_match_fn)(const struct ct_view *v, struct obs_signal *s);

struct ct_rule {
    const char *id;
    const char *cls;
    const char *severity; /* the usual one; a rule may raise it */
    bool weak;
    bool on_error;        /* matches failed calls (errorCode set) instead of successful ones */
    ct_match_fn match;
};

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void obs_ct_event_name(const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name), end = n;

    /* ^([A-Za-z]+?)(\d{8})(v\d+)?$ -> $1 */
    if (end > 1 && isdigit((unsigned char)name[end - 1])) {
        size_t k = end;
        while (k > 0 && isdigit((unsigned char)name[k - 1]))
            k--;
        if (k > 0 && name[k - 1] == 'v' && k >= 9) {
            size_t d = k - 1, m = d;
            while (m > 0 && isdigit((unsigned char)name[m - 1]))
                m--;
            if (d - m == 8 && m > 0)
                end = m;
        }
        if (end == n && n - k == 8 && k > 0)
            end = k;
    }
    for (size_t i = 0; i < end; i++)
        if (!isalpha((unsigned char)name[i])) {
            end = n; /* not the versioned shape: keep the name as it is */
            break;
        }
    if (end >= outlen)
        end = outlen - 1;
    memcpy(out, name, end);
    out[end] = '\0';
}

static bool is(const struct ct_view *v, const char *source, const char *name)
{
    return strcmp(v->source, source) == 0 && strcmp(v->name, name) == 0;
}

static bool lambda(const struct ct_view *v, const char *name)
{
    return is(v, "lambda.amazonaws.com", name);
}

/* The 12-digit account of an ARN ("arn:aws:lambda:us-east-1:123456789012:layer:x:1"), or "". */
static void arn_account(const char *arn, char out[13])
{
    const char *p = arn;
    out[0] = '\0';
    for (int colons = 0; p != NULL && colons < 4; colons++) {
        p = strchr(p, ':');
        if (p != NULL)
            p++;
    }
    if (p != NULL && strspn(p, "0123456789") == 12 && p[12] == ':') {
        memcpy(out, p, 12);
        out[12] = '\0';
    }
}

/* The function acted on: requestParameters.functionName as an ARN. */
static void function_resource(const struct ct_view *v, struct obs_signal *s)
{
    const char *fn = jstr(v->req, "functionName");
    if (fn == NULL)
        return;
    if (strncmp(fn, "arn:", 4) == 0)
        snprintf(s->resource, sizeof s->resource, "%s", fn);
    else
        snprintf(s->resource, sizeof s->resource, "arn:aws:lambda:%s:%s:function:%s",
                 v->region ? v->region : "", v->account ? v->account : "", fn);
}

static bool is_admin_role(const char *role)
{
    static const char *const words[] = {"admin", "poweruser", "fullaccess", "root"};
    char low[256];
    size_t i;
    if (role == NULL)
        return false;
    for (i = 0; role[i] != '\0' && i < sizeof low - 1; i++)
        low[i] = (char)tolower((unsigned char)role[i]);
    low[i] = '\0';
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
        if (strstr(low, words[w]) != NULL)
            return true;
    return false;
}

/* CT-13: logging disabled. */
static bool m_logging_disabled(const struct ct_view *v, struct obs_signal *s)
{
    static const struct {
        const char *source, *name;
    } calls[] = {
        {"cloudtrail.amazonaws.com", "StopLogging"},
        {"cloudtrail.amazonaws.com", "DeleteTrail"},
        {"cloudtrail.amazonaws.com", "UpdateTrail"},
        {"cloudtrail.amazonaws.com", "PutEventSelectors"},
        {"guardduty.amazonaws.com", "DeleteDetector"},
        {"guardduty.amazonaws.com", "UpdateDetector"},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        if (is(v, calls[i].source, calls[i].name)) {
            const char *trail = jstr(v->req, "name");
            if (trail == NULL)
                trail = jstr(v->req, "trailName");
            if (trail != NULL)
                snprintf(s->resource, sizeof s->resource, "%s", trail);
            return true;
        }
    }
    if (is(v, "logs.amazonaws.com", "DeleteLogGroup") ||
        is(v, "logs.amazonaws.com", "PutRetentionPolicy")) {
        const char *g = jstr(v->req, "logGroupName");
        if (g == NULL || strncmp(g, "/aws/lambda/", 12) != 0)
            return false;
        snprintf(s->resource, sizeof s->resource, "%s", g);
        return true;
    }
    return false;
}

/* CT-06: function exposed to everyone or a foreign account through its resource policy. */
static bool m_add_permission_public(const struct ct_view *v, struct obs_signal *s)
{
    const char *p;
    char acct[13];
    if (!lambda(v, "AddPermission"))
        return false;
    p = jstr(v->req, "principal");
    if (p == NULL)
        return false;
    function_resource(v, s);
    if (strcmp(p, "*") == 0) {
        snprintf(s->technique, sizeof s->technique, "add-permission-public");
        return true;
    }
    if (strspn(p, "0123456789") == 12 && p[12] == '\0') {
        snprintf(acct, sizeof acct, "%s", p);
    } else {
        arn_account(p, acct);
        if (acct[0] == '\0')
            return false; /* a service principal such as s3.amazonaws.com */
    }
    if (v->account != NULL && strcmp(acct, v->account) == 0)
        return false;
    snprintf(s->technique, sizeof s->technique, "add-permission-foreign-account");
    s->severity = "high";
    return true;
}

/* CT-01: a function created with a role passed to it (iam:PassRole), the privilege escalation
 * of CloudGoat's lambda_privesc; critical when the role looks administrative. */
static bool m_passrole_create(const struct ct_view *v, struct obs_signal *s)
{
    const char *role;
    if (!lambda(v, "CreateFunction"))
        return false;
    role = jstr(v->req, "role");
    if (role == NULL)
        return false;
    function_resource(v, s);
    snprintf(s->technique, sizeof s->technique, "passrole-create-function");
    if (is_admin_role(role))
        s->severity = "critical";
    return true;
}

/* CT-04: a function's execution role swapped (PassRole with UpdateFunctionConfiguration). */
static bool m_role_swapped(const struct ct_view *v, struct obs_signal *s)
{
    const char *role;
    if (!lambda(v, "UpdateFunctionConfiguration"))
        return false;
    role = jstr(v->req, "role");
    if (role == NULL)
        return false;
    function_resource(v, s);
    snprintf(s->technique, sizeof s->technique, "passrole-update-configuration");
    if (is_admin_role(role))
        s->severity = "critical";
    return true;
}

/* CT-02: function code overwritten. */
static bool m_code_overwritten(const struct ct_view *v, struct obs_signal *s)
{
    if (!lambda(v, "UpdateFunctionCode"))
        return false;
    function_resource(v, s);
    snprintf(s->technique, sizeof s->technique, "update-function-code");
    return true;
}

/* CT-03: a layer from another account attached. */
static bool m_foreign_layer(const struct ct_view *v, struct obs_signal *s)
{
    const json_t *layers, *l;
    size_t i;
    if (!lambda(v, "CreateFunction") && !lambda(v, "UpdateFunctionConfiguration"))
        return false;
    layers = json_object_get(v->req, "layers");
    json_array_foreach(layers, i, l)
    {
        const char *arn = json_is_string(l) ? json_string_value(l) : jstr(l, "arn");
        char acct[13];
        if (arn == NULL)
            continue;
        arn_account(arn, acct);
        if (acct[0] != '\0' && v->account != NULL && strcmp(acct, v->account) != 0) {
            function_resource(v, s);
            snprintf(s->technique, sizeof s->technique, "foreign-layer");
            snprintf(s->evidence, sizeof s->evidence, "layer %.140s", arn);
            return true;
        }
    }
    return false;
}

/* CT-07: an unauthenticated function URL. */
static bool m_public_url(const struct ct_view *v, struct obs_signal *s)
{
    const char *auth;
    if (!lambda(v, "CreateFunctionUrlConfig") && !lambda(v, "UpdateFunctionUrlConfig"))
        return false;
    auth = jstr(v->req, "authType");
    if (auth == NULL || strcmp(auth, "NONE") != 0)
        return false;
    function_resource(v, s);
    snprintf(s->technique, sizeof s->technique, "function-url-auth-none");
    return true;
}

/* CT-08: a function's execution role (or a managed policy attached to one) changed: medium, and
 * critical when administrator access is granted. Other roles, once the inventory knows the
 * account's function roles, are a weak signal (part of a principal's story, never an incident
 * alone) unless administrator access is granted (high: escalation through any role). */
static bool m_role_permissions(const struct ct_view *v, struct obs_signal *s)
{
    static const char *const names[] = {"AttachRolePolicy", "PutRolePolicy", "CreatePolicyVersion",
                                        "SetDefaultPolicyVersion", "DeleteRolePermissionsBoundary",
                                        "UpdateAssumeRolePolicy"};
    const char *policy_arn, *doc, *role;
    enum obs_role_use use = OBS_ROLE_UNKNOWN;
    bool hit = false, admin;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !hit; i++)
        hit = is(v, "iam.amazonaws.com", names[i]);
    if (!hit)
        return false;
    role = jstr(v->req, "roleName");
    policy_arn = jstr(v->req, "policyArn");
    doc = jstr(v->req, "policyDocument");
    if (role != NULL)
        snprintf(s->resource, sizeof s->resource, "arn:aws:iam::%s:role/%s",
                 v->account ? v->account : "", role);
    else if (policy_arn != NULL)
        snprintf(s->resource, sizeof s->resource, "%s", policy_arn);
    if (v->ctx != NULL && v->ctx->role_use != NULL)
        use = v->ctx->role_use(v->ctx->arg, v->account ? v->account : "", role,
                               role == NULL ? policy_arn : NULL);
    /* AttachRolePolicy names both: the role decides. */
    admin = (policy_arn != NULL && strstr(policy_arn, "AdministratorAccess") != NULL) ||
            (doc != NULL && (strstr(doc, "\"Action\":\"*\"") != NULL ||
                             strstr(doc, "\"Action\": \"*\"") != NULL));
    if (use == OBS_ROLE_OTHER) {
        snprintf(s->technique, sizeof s->technique, admin ? "role-granted-admin"
                                                          : "role-permissions-changed");
        s->severity = admin ? "high" : "low";
        s->weak = !admin;
        return true;
    }
    snprintf(s->technique, sizeof s->technique,
             admin ? "function-role-granted-admin" : "function-role-permissions-changed");
    if (admin)
        s->severity = "critical";
    return true;
}

/* CT-15: a layer made public. */
static bool m_public_layer(const struct ct_view *v, struct obs_signal *s)
{
    const char *p;
    if (!lambda(v, "AddLayerVersionPermission"))
        return false;
    p = jstr(v->req, "principal");
    if (p == NULL || strcmp(p, "*") != 0)
        return false;
    snprintf(s->technique, sizeof s->technique, "layer-public");
    snprintf(s->resource, sizeof s->resource, "%.200s", jstr(v->req, "layerName") ?
                                                            jstr(v->req, "layerName") : "");
    return true;
}

/* CT-16: concurrency zeroed (denial of service). */
static bool m_concurrency_zero(const struct ct_view *v, struct obs_signal *s)
{
    const json_t *c;
    if (!lambda(v, "PutFunctionConcurrency"))
        return false;
    c = json_object_get(v->req, "reservedConcurrentExecutions");
    if (!json_is_integer(c) || json_integer_value(c) != 0)
        return false;
    function_resource(v, s);
    snprintf(s->technique, sizeof s->technique, "concurrency-zeroed");
    return true;
}

/* CT-12: an access key used from an address it has not been used from before. */
static bool m_key_new_address(const struct ct_view *v, struct obs_signal *s)
{
    if (v->key_seen != OBS_KEY_NEW_ADDR)
        return false;
    snprintf(s->technique, sizeof s->technique, "access-key-new-address");
    return true;
}

static bool contains_nocase(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s != '\0'; s++)
        if (strncasecmp(s, needle, n) == 0)
            return true;
    return false;
}

/* CT-10: reconnaissance calls (weak alone: correlation counts bursts and joins them to a
 * story); TruffleHog's user agent is a leaked key being verified. */
static bool m_recon(const struct ct_view *v, struct obs_signal *s)
{
    const char *ua = jstr(v->rec, "userAgent");
    bool read = strncmp(v->name, "List", 4) == 0 || strncmp(v->name, "Get", 3) == 0 ||
                strncmp(v->name, "Describe", 8) == 0;
    if (!is(v, "sts.amazonaws.com", "GetCallerIdentity") && !read)
        return false;
    if (strcmp(v->source, "s3.amazonaws.com") == 0 && strcmp(v->name, "ListBuckets") != 0)
        return false; /* object reads are data events, not reconnaissance */
    snprintf(s->technique, sizeof s->technique, "%.63s", v->name);
    if (ua != NULL && contains_nocase(ua, "trufflehog")) {
        s->weak = false;
        s->severity = "medium";
        snprintf(s->technique, sizeof s->technique, "leaked-key-verification");
    }
    return true;
}

/* CT-11: a denied call (weak alone: correlation counts bursts). */
static bool m_access_denied(const struct ct_view *v, struct obs_signal *s)
{
    static const char *const codes[] = {"AccessDenied", "AccessDeniedException",
                                        "UnauthorizedOperation", "Client.UnauthorizedOperation"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(v->error, codes[i]) == 0) {
            snprintf(s->technique, sizeof s->technique, "%.63s", v->name);
            return true;
        }
    return false;
}

static const struct ct_rule rules[] = {
    {"CT-06", "exposure", "critical", false, false, m_add_permission_public},
    {"CT-01", "privilege-escalation", "high", false, false, m_passrole_create},
    {"CT-04", "privilege-escalation", "high", false, false, m_role_swapped},
    {"CT-08", "privilege-escalation", "medium", false, false, m_role_permissions},
    {"CT-13", "defense-evasion", "high", false, false, m_logging_disabled},
    {"CT-03", "supply-chain", "high", false, false, m_foreign_layer},
    {"CT-02", "persistence", "high", false, false, m_code_overwritten},
    {"CT-07", "exposure", "high", false, false, m_public_url},
    {"CT-15", "exposure", "medium", false, false, m_public_layer},
    {"CT-16", "impact", "medium", false, false, m_concurrency_zero},
    {"CT-12", "credential-access", "medium", false, false, m_key_new_address},
    {"CT-10", "recon", "info", true, false, m_recon},
    {"CT-11", "access-denied", "low", true, true, m_access_denied},
};

int obs_severity_rank(const char *sev)
{
    static const char *const order[] = {"info", "low", "medium", "high", "critical"};
    for (int i = 0; i < 5; i++)
        if (sev != NULL && strcmp(sev, order[i]) == 0)
            return i;
    return 0;
}

const char *obs_severity_name(int rank)
{
    static const char *const order[] = {"info", "low", "medium", "high", "critical"};
    return order[rank < 0 ? 0 : rank > 4 ? 4 : rank];
}

bool obs_ct_evaluate(const json_t *record, const struct obs_ct_ctx *ctx, struct obs_signal *out)
{
    struct ct_view v = {0};
    const json_t *who = json_object_get(record, "userIdentity");
    const char *name = jstr(record, "eventName");
    const char *ip = jstr(record, "sourceIPAddress");
    bool found = false;

    v.rec = record;
    v.req = json_object_get(record, "requestParameters");
    if (!json_is_object(v.req))
        v.req = NULL;
    v.source = jstr(record, "eventSource");
    if (v.source == NULL || name == NULL)
        return false;
    obs_ct_event_name(name, v.name, sizeof v.name);
    v.error = jstr(record, "errorCode");
    v.account = jstr(record, "recipientAccountId");
    if (v.account == NULL)
        v.account = jstr(who, "accountId");
    v.region = jstr(record, "awsRegion");
    v.key_seen = ctx != NULL ? ctx->key_seen : OBS_KEY_UNSEEN;
    v.ctx = ctx;

    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct ct_rule *r = &rules[i];
        struct obs_signal s;
        if (r->on_error != (v.error != NULL))
            continue;
        memset(&s, 0, sizeof s);
        s.severity = r->severity;
        s.weak = r->weak;
        if (!r->match(&v, &s))
            continue;
        if (found && obs_severity_rank(s.severity) <= obs_severity_rank(out->severity))
            continue;
        s.source = "cloudtrail";
        s.rule_id = r->id;
        s.cls = r->cls;
        s.confidence = s.weak ? 0.3 : 0.9; /* a rule may have made its match weak */
        if (s.evidence[0] == '\0')
            snprintf(s.evidence, sizeof s.evidence, "%.60s %.40s from %.45s", v.name,
                     v.error ? v.error : "", ip ? ip : "?");
        *out = s;
        found = true;
    }
    if (!found)
        return false;
    snprintf(out->principal, sizeof out->principal, "%s",
             jstr(who, "arn") ? jstr(who, "arn") : jstr(who, "principalId") ?
                                                   jstr(who, "principalId") : "");
    snprintf(out->access_key_id, sizeof out->access_key_id, "%s",
             jstr(who, "accessKeyId") ? jstr(who, "accessKeyId") : "");
    snprintf(out->location, sizeof out->location, "%.60s:%.60s", v.source, v.name);
    return true;
}

bool obs_fsp_evaluate(const json_t *violation, struct obs_signal *out)
{
    const char *action = jstr(violation, "action");
    const char *target = jstr(violation, "target");
    const char *decision = jstr(violation, "decision");

    if (action == NULL || target == NULL || decision == NULL)
        return false;
    memset(out, 0, sizeof *out);
    out->source = "fsp";
    out->confidence = 0.95;
    if (strcmp(action, "connect") == 0) {
        out->rule_id = "fsp.egress";
        out->cls = "egress";
        out->severity = "high";
        snprintf(out->technique, sizeof out->technique, "unexpected-egress");
    } else if (strcmp(action, "exec") == 0) {
        out->rule_id = "fsp.exec";
        out->cls = "process-execution";
        out->severity = "high";
        snprintf(out->technique, sizeof out->technique, "process-execution");
    } else if (strcmp(action, "open") == 0) {
        if (strncmp(target, "/tmp/", 5) == 0 && strstr(target, "/..") == NULL)
            return false;
        out->rule_id = "fsp.write";
        out->cls = "file-write";
        out->severity = "medium";
        snprintf(out->technique, sizeof out->technique, "write-outside-tmp");
    } else {
        return false;
    }
    snprintf(out->resource, sizeof out->resource, "%.250s", target);
    snprintf(out->location, sizeof out->location, "violation.target");
    snprintf(out->evidence, sizeof out->evidence, "%.8s %.130s (%.8s)", action, target,
             decision);
    return true;
}
