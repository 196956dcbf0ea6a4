/* aws_fake_iam - the IAM reads a scanner makes (Query protocol, XML, policy documents
 * URL-encoded), wire-formats.md section 8: GetRole, ListAttachedRolePolicies, ListRolePolicies,
 * GetRolePolicy, GetPolicy, GetPolicyVersion. */
#include "aws_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAM_VERSION "2010-05-08"
#define IAM_NS "https://iam.amazonaws.com/doc/" IAM_VERSION "/"
#define DEFAULT_MAX_ITEMS 100

static const char *const actions[] = {
    "GetRole",   "ListAttachedRolePolicies", "ListRolePolicies", "GetRolePolicy",
    "GetPolicy", "GetPolicyVersion",
};

bool awsf_iam_is_action(const char *action)
{
    for (size_t i = 0; action != NULL && i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(actions[i], action) == 0)
            return true;
    }
    return false;
}

bool awsf_iam_route(struct awsf_call *c)
{
    const char *action = awsf_param(c->q, "Action");
    const char *res = awsf_param(c->q, "RoleName");

    if (!awsf_iam_is_action(action))
        return false;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(actions[i], action) == 0)
            c->op = actions[i];
    }
    if (res == NULL)
        res = awsf_param(c->q, "PolicyArn");
    if (res != NULL) {
        snprintf(c->label[0], sizeof c->label[0], "%s", res);
        c->resource = c->label[0];
    }
    return true;
}

static void missing(struct awsf_reply *rp, const char *member)
{
    awsf_fail(rp, 400, "ValidationError",
              "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
              "Member must not be null",
              member);
}

/* A parsed JSON document as IAM sends it: serialised, then percent-encoded. */
static void put_doc(struct sbuf *b, const char *indent, const char *tag, const json_t *doc)
{
    char *s = json_is_string(doc) ? strdup(json_string_value(doc))
                                  : json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (s == NULL) {
        b->failed = true;
        return;
    }
    sb_printf(b, "%s<%s>", indent, tag);
    awsf_sb_pct(b, s);
    sb_printf(b, "</%s>\n", tag);
    free(s);
}

static void put_str(struct sbuf *b, const char *indent, const char *tag, const json_t *o,
                    const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, key));

    if (v == NULL)
        v = dflt;
    if (v != NULL)
        awsf_sb_elem(b, indent, tag, v);
}

/* The IAM path of an ARN ("arn:aws:iam::aws:policy/service-role/X" -> "/service-role/"), from
 * after kind (":policy", ":role") to the last '/', into out[256]; "/" when there is none. */
static const char *arn_path(const char *arn, const char *kind, char out[256])
{
    const char *p = arn ? strstr(arn, kind) : NULL;
    const char *last = arn ? strrchr(arn, '/') : NULL;

    if (p == NULL || last == NULL || p[strlen(kind)] != '/' || last < p + strlen(kind) ||
        (size_t)(last - p) > 250) {
        snprintf(out, 256, "/");
        return out;
    }
    p += strlen(kind);
    snprintf(out, 256, "%.*s", (int)(last - p + 1), p);
    return out;
}

static void open_result(struct sbuf *b, const char *op)
{
    sb_printf(b, "<%sResponse xmlns=\"" IAM_NS "\">\n  <%sResult>\n", op, op);
}

static void close_result(struct sbuf *b, const struct awsf_call *c, struct awsf_reply *rp)
{
    sb_printf(b, "  </%sResult>\n  <ResponseMetadata>\n", c->op);
    awsf_sb_elem(b, "    ", "RequestId", c->rid);
    sb_printf(b, "  </ResponseMetadata>\n</%sResponse>\n", c->op);
    if (b->failed) {
        free(b->p);
        awsf_fail(rp, 500, "ServiceFailure", "fake_aws: response too large");
        return;
    }
    rp->status = 200;
    rp->body = b->p;
    rp->content_type = "text/xml";
}

static const json_t *role_of(const struct awsf_call *c, struct awsf_reply *rp)
{
    const char *name = awsf_param(c->q, "RoleName");
    const json_t *r;

    if (name == NULL) {
        missing(rp, "roleName");
        return NULL;
    }
    r = c->w ? json_object_get(c->w->roles, name) : NULL;
    if (r == NULL)
        awsf_fail(rp, 404, "NoSuchEntity", "The role with name %.128s cannot be found.", name);
    return r;
}

static const json_t *policy_of(const struct awsf_call *c, struct awsf_reply *rp)
{
    const char *arn = awsf_param(c->q, "PolicyArn");
    const json_t *p;

    if (arn == NULL) {
        missing(rp, "policyArn");
        return NULL;
    }
    p = c->w ? json_object_get(c->w->policies, arn) : NULL;
    if (p == NULL)
        awsf_fail(rp, 404, "NoSuchEntity", "Policy %.512s does not exist or is not attachable.",
                  arn);
    return p;
}

/* MaxItems/Marker over n items: [*start, *end). */
static bool page(const struct awsf_call *c, size_t n, size_t *start, size_t *end,
                 struct awsf_reply *rp)
{
    const char *mi = awsf_param(c->q, "MaxItems");
    const char *marker = awsf_param(c->q, "Marker");
    unsigned long max = DEFAULT_MAX_ITEMS;

    *start = 0;
    if (mi != NULL && !fake_parse_ulong(mi, 1, 1000, &max)) {
        awsf_fail(rp, 400, "ValidationError",
                  "1 validation error detected: Value '%.32s' at 'maxItems' failed to satisfy "
                  "constraint: Member must have value between 1 and 1000",
                  mi);
        return false;
    }
    if (marker != NULL && (!awsf_token_parse(marker, c->op, start) || *start > n)) {
        awsf_fail(rp, 400, "InvalidInput", "Invalid Marker.");
        return false;
    }
    max = awsf_page_size(c, max);
    *end = *start + max < n ? *start + max : n;
    return true;
}

static void truncation(struct sbuf *b, const struct awsf_call *c, size_t end, size_t n)
{
    char *t;

    if (end >= n) {
        sb_lit(b, "    <IsTruncated>false</IsTruncated>\n");
        return;
    }
    sb_lit(b, "    <IsTruncated>true</IsTruncated>\n");
    t = awsf_token_new(c->op, end);
    if (t == NULL) {
        b->failed = true;
        return;
    }
    awsf_sb_elem(b, "    ", "Marker", t);
    free(t);
}

static void get_role(const struct awsf_call *c, const json_t *r, struct awsf_reply *rp)
{
    struct sbuf b = {0};
    const char *name = json_string_value(json_object_get(r, "RoleName"));
    const json_t *trust = json_object_get(r, "AssumeRolePolicyDocument");
    const json_t *pb = json_object_get(r, "PermissionsBoundary"),
                 *tags = json_object_get(r, "Tags");
    char arn[512], id[32], path[256];
    json_t *dflt = NULL;

    snprintf(arn, sizeof arn, "arn:aws:iam::%s:role/%s", c->account, name);
    awsf_derived_id("AROA", name, 17, id, sizeof id);
    if (trust == NULL)
        trust = dflt = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}]}", "Version", "2012-10-17",
                                 "Statement", "Effect", "Allow", "Principal", "Service",
                                 "lambda.amazonaws.com", "Action", "sts:AssumeRole");
    open_result(&b, c->op);
    sb_lit(&b, "    <Role>\n");
    put_str(&b, "      ", "Path", r, "Path",
            arn_path(json_string_value(json_object_get(r, "Arn")), ":role", path));
    put_doc(&b, "      ", "AssumeRolePolicyDocument", trust);
    sb_printf(&b, "      <MaxSessionDuration>%lld</MaxSessionDuration>\n",
                   json_is_integer(json_object_get(r, "MaxSessionDuration"))
                       ? (long long)json_integer_value(json_object_get(r, "MaxSessionDuration"))
                       : 3600LL);
    put_str(&b, "      ", "RoleId", r, "RoleId", id);
    put_str(&b, "      ", "RoleName", r, "RoleName", NULL);
    put_str(&b, "      ", "Description", r, "Description", NULL);
    put_str(&b, "      ", "Arn", r, "Arn", arn);
    put_str(&b, "      ", "CreateDate", r, "CreateDate", "2025-11-03T10:20:02Z");
    if (json_is_object(pb)) {
        sb_lit(&b, "      <PermissionsBoundary>\n");
        put_str(&b, "        ", "PermissionsBoundaryType", pb, "PermissionsBoundaryType", "Policy");
        put_str(&b, "        ", "PermissionsBoundaryArn", pb, "PermissionsBoundaryArn", "");
        sb_lit(&b, "      </PermissionsBoundary>\n");
    }
    if (json_is_array(tags) && json_array_size(tags) > 0) {
        size_t i;
        json_t *t;
        sb_lit(&b, "      <Tags>\n");
        json_array_foreach(tags, i, t)
        {
            sb_lit(&b, "        <member>\n");
            put_str(&b, "          ", "Key", t, "Key", "");
            put_str(&b, "          ", "Value", t, "Value", "");
            sb_lit(&b, "        </member>\n");
        }
        sb_lit(&b, "      </Tags>\n");
    }
    sb_lit(&b, "      <RoleLastUsed/>\n    </Role>\n");
    json_decref(dflt);
    close_result(&b, c, rp);
}

static void list_attached(const struct awsf_call *c, const json_t *r, struct awsf_reply *rp)
{
    const json_t *all = json_object_get(r, "AttachedPolicies");
    const char *prefix = awsf_param(c->q, "PathPrefix");
    json_t *sel = json_array(), *p;
    struct sbuf b = {0};
    size_t i, start, end;

    json_array_foreach(all, i, p)
    {
        const char *arn = json_string_value(json_object_get(p, "PolicyArn"));
        /* The policy's path is what lies between "policy" and its name. */
        const char *path = arn ? strstr(arn, ":policy") : NULL;
        if (prefix != NULL && (path == NULL || strncmp(path + 7, prefix, strlen(prefix)) != 0))
            continue;
        json_array_append(sel, p);
    }
    if (!page(c, json_array_size(sel), &start, &end, rp)) {
        json_decref(sel);
        return;
    }
    open_result(&b, c->op);
    sb_lit(&b, "    <AttachedPolicies>\n");
    for (i = start; i < end; i++) {
        p = json_array_get(sel, i);
        sb_lit(&b, "      <member>\n");
        put_str(&b, "        ", "PolicyName", p, "PolicyName", "");
        put_str(&b, "        ", "PolicyArn", p, "PolicyArn", "");
        sb_lit(&b, "      </member>\n");
    }
    sb_lit(&b, "    </AttachedPolicies>\n");
    truncation(&b, c, end, json_array_size(sel));
    json_decref(sel);
    close_result(&b, c, rp);
}

static void list_inline(const struct awsf_call *c, const json_t *r, struct awsf_reply *rp)
{
    const json_t *all = json_object_get(r, "InlinePolicies");
    struct sbuf b = {0};
    size_t start, end;

    if (!page(c, json_array_size(all), &start, &end, rp))
        return;
    open_result(&b, c->op);
    sb_lit(&b, "    <PolicyNames>\n");
    for (size_t i = start; i < end; i++)
        put_str(&b, "      ", "member", json_array_get(all, i), "PolicyName", "");
    sb_lit(&b, "    </PolicyNames>\n");
    truncation(&b, c, end, json_array_size(all));
    close_result(&b, c, rp);
}

static void get_role_policy(const struct awsf_call *c, const json_t *r, struct awsf_reply *rp)
{
    const char *name = awsf_param(c->q, "PolicyName");
    const json_t *p, *found = NULL;
    struct sbuf b = {0};
    size_t i;

    if (name == NULL) {
        missing(rp, "policyName");
        return;
    }
    json_array_foreach(json_object_get(r, "InlinePolicies"), i, p)
    {
        const char *n = json_string_value(json_object_get(p, "PolicyName"));
        if (n != NULL && strcmp(n, name) == 0)
            found = p;
    }
    if (found == NULL) {
        awsf_fail(rp, 404, "NoSuchEntity", "The role policy with name %.128s cannot be found.",
                  name);
        return;
    }
    open_result(&b, c->op);
    put_str(&b, "    ", "RoleName", r, "RoleName", "");
    awsf_sb_elem(&b, "    ", "PolicyName", name);
    put_doc(&b, "    ", "PolicyDocument", json_object_get(found, "Document"));
    close_result(&b, c, rp);
}

static void get_policy(const struct awsf_call *c, const json_t *p, struct awsf_reply *rp)
{
    const char *arn = awsf_param(c->q, "PolicyArn");
    struct sbuf b = {0};
    char id[32], path[256];

    awsf_derived_id("ANPA", arn, 17, id, sizeof id);
    open_result(&b, c->op);
    sb_lit(&b, "    <Policy>\n");
    put_str(&b, "      ", "PolicyName", p, "PolicyName", "");
    put_str(&b, "      ", "DefaultVersionId", p, "DefaultVersionId", "v1");
    awsf_sb_elem(&b, "      ", "PolicyId", id);
    awsf_sb_elem(&b, "      ", "Path", arn_path(arn, ":policy", path));
    awsf_sb_elem(&b, "      ", "Arn", arn);
    sb_printf(&b, "      <AttachmentCount>%lld</AttachmentCount>\n",
                   (long long)json_integer_value(json_object_get(p, "Count")));
    sb_lit(&b, "      <PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount>\n"
                     "      <IsAttachable>true</IsAttachable>\n"
                     "      <CreateDate>2025-01-01T00:00:00Z</CreateDate>\n"
                     "      <UpdateDate>2025-06-01T00:00:00Z</UpdateDate>\n    </Policy>\n");
    close_result(&b, c, rp);
}

static void get_policy_version(const struct awsf_call *c, const json_t *p, struct awsf_reply *rp)
{
    const char *v = awsf_param(c->q, "VersionId");
    const char *dflt = json_string_value(json_object_get(p, "DefaultVersionId"));
    const json_t *doc = json_object_get(p, "Document");
    struct sbuf b = {0};

    if (v == NULL) {
        missing(rp, "versionId");
        return;
    }
    /* Only the default version is in the world. */
    if (dflt == NULL || strcmp(v, dflt) != 0 || doc == NULL || json_is_null(doc)) {
        awsf_fail(rp, 404, "NoSuchEntity", "Policy %.512s version %.32s does not exist.",
                  awsf_param(c->q, "PolicyArn"), v);
        return;
    }
    open_result(&b, c->op);
    sb_lit(&b, "    <PolicyVersion>\n");
    put_doc(&b, "      ", "Document", doc);
    awsf_sb_elem(&b, "      ", "VersionId", v);
    sb_lit(&b, "      <IsDefaultVersion>true</IsDefaultVersion>\n"
                     "      <CreateDate>2025-06-01T00:00:00Z</CreateDate>\n"
                     "    </PolicyVersion>\n");
    close_result(&b, c, rp);
}

void awsf_iam_handle(const struct awsf_call *c, struct awsf_reply *rp)
{
    const char *version = awsf_param(c->q, "Version");
    const json_t *r, *p;

    if (version == NULL) {
        missing(rp, "version");
        return;
    }
    if (strcmp(version, IAM_VERSION) != 0) {
        awsf_fail(rp, 400, "InvalidAction", "Could not find operation %s for version %.32s", c->op,
                  version);
        return;
    }
    if (strncmp(c->op, "GetPolicy", 9) == 0) {
        p = policy_of(c, rp);
        if (p == NULL)
            return;
        if (strcmp(c->op, "GetPolicy") == 0)
            get_policy(c, p, rp);
        else
            get_policy_version(c, p, rp);
        return;
    }
    r = role_of(c, rp);
    if (r == NULL)
        return;
    if (strcmp(c->op, "GetRole") == 0)
        get_role(c, r, rp);
    else if (strcmp(c->op, "ListAttachedRolePolicies") == 0)
        list_attached(c, r, rp);
    else if (strcmp(c->op, "ListRolePolicies") == 0)
        list_inline(c, r, rp);
    else
        get_role_policy(c, r, rp);
}
