/* IAM (Query protocol, XML): execution roles with their attached and inline policies, each
 * document percent-decoded and parsed. Three batched rounds: roles and their policy lists; the
 * inline documents and the managed policies (each once, however many roles attach it); the
 * managed policies' default versions. */
#include "cloud/aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAM_BODY 2048

/* A Query-protocol IAM call's form body. */
static bool iam_body(char *buf, const char *action, const char *k1, const char *v1,
                     const char *k2, const char *v2)
{
    size_t len = 0;
    return cloud_form_add(buf, IAM_BODY, &len, "Action", action) &&
           cloud_form_add(buf, IAM_BODY, &len, "Version", "2010-05-08") &&
           (k1 == NULL || cloud_form_add(buf, IAM_BODY, &len, k1, v1)) &&
           (k2 == NULL || cloud_form_add(buf, IAM_BODY, &len, k2, v2));
}

/* A policy document as IAM sends it (percent-encoded JSON), parsed; NULL when it is not an
 * object. */
static json_t *policy_doc(const char *xml, const char *end, const char *tag)
{
    const char *cs, *ce;
    char *text, *plain;
    json_t *doc = NULL;

    if (!cloud_xml_find(xml, end, tag, &cs, &ce))
        return NULL;
    text = cloud_xml_decode(cs, ce);
    plain = text ? cloud_pct_decode(text) : NULL;
    if (plain != NULL)
        doc = json_loads(plain, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    free(plain);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Calls f(member_start, member_end, ctx) for each <member> of the first <container>. */
static void each_member(const char *xml, const char *end, const char *container,
                        void (*f)(const char *s, const char *e, void *ctx), void *ctx)
{
    const char *cs, *ce, *ms, *me;

    if (!cloud_xml_find(xml, end, container, &cs, &ce))
        return;
    while (cloud_xml_find(cs, ce, "member", &ms, &me)) {
        f(ms, me, ctx);
        cs = me + strlen("</member>");
    }
}

struct role_work {
    json_t *role; /* the role object being built */
    char name[129];
    json_t *inline_names; /* strings */
};

static void add_attached(const char *s, const char *e, void *ctx)
{
    json_t *list = ctx;
    char name[256], arn[2048];
    if (cloud_xml_text(s, e, "PolicyName", name, sizeof name) &&
        cloud_xml_text(s, e, "PolicyArn", arn, sizeof arn))
        json_array_append_new(list, json_pack("{s:s, s:s}", "PolicyName", name, "PolicyArn", arn));
}

static void add_name(const char *s, const char *e, void *ctx)
{
    char *v = cloud_xml_decode(s, e);
    if (v != NULL)
        json_array_append_new(ctx, json_string(v));
    free(v);
}

/* Reads a whole role answer into w->role. */
static void apply_role(struct role_work *w, const char *xml, const char *end)
{
    static const char *const texts[] = {"RoleName", "RoleId", "Arn", "Path", "CreateDate",
                                        "Description"};
    const char *rs, *re, *bs, *be;
    char v[2048];

    if (!cloud_xml_find(xml, end, "Role", &rs, &re)) {
        cloud_record_error(w->role, "GetRole", "MalformedResponse", "no Role in IAM's answer");
        return;
    }
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (cloud_xml_text(rs, re, texts[i], v, sizeof v))
            json_object_set_new(w->role, texts[i], json_string(v));
    json_t *trust = policy_doc(rs, re, "AssumeRolePolicyDocument");
    if (trust != NULL)
        json_object_set_new(w->role, "AssumeRolePolicyDocument", trust);
    else
        cloud_record_error(w->role, "GetRole", "MalformedPolicy",
                           "the trust policy is not a JSON object");
    if (cloud_xml_find(rs, re, "PermissionsBoundary", &bs, &be) &&
        cloud_xml_text(bs, be, "PermissionsBoundaryArn", v, sizeof v))
        json_object_set_new(w->role, "PermissionsBoundary",
                            json_pack("{s:s}", "PermissionsBoundaryArn", v));
}

/* Follows IsTruncated/Marker of a list call beyond its first page (rare: 1,000 items a page). */
static void list_rest(struct cloud_principal *p, struct role_work *w, const char *action,
                      const char *xml, const char *end, const char *container,
                      void (*f)(const char *, const char *, void *), void *ctx)
{
    char trunc[8], marker[1024], body[IAM_BODY];
    struct cloud_reply r = {0};

    for (int page = 0; page < 100; page++) {
        struct err e = {0};
        if (!cloud_xml_text(xml, end, "IsTruncated", trunc, sizeof trunc) ||
            strcmp(trunc, "true") != 0 || !cloud_xml_text(xml, end, "Marker", marker, sizeof marker))
            break;
        if (!iam_body(body, action, "RoleName", w->name, "Marker", marker))
            break;
        struct cloud_call call = {.service = "iam", .region = "us-east-1", .method = "POST",
                                  .path = "/", .body = body};
        cloud_reply_free(&r);
        if (cloud_call(p, &call, &r, &e) != ERR_OK || r.status != 200) {
            cloud_record_error(w->role, action, r.aws_error[0] ? r.aws_error : "Unavailable",
                               r.message[0] ? r.message : e.detail);
            break;
        }
        xml = r.body;
        end = r.body + r.body_len;
        each_member(xml, end, container, f, ctx);
    }
    cloud_reply_free(&r);
}

/* A batch of IAM calls: bodies[i] are form bodies. */
static enum err_code iam_batch(struct cloud_principal *p, char (*bodies)[IAM_BODY], size_t n,
                               unsigned parallel, struct cloud_reply *replies, struct err *errs,
                               struct err *err)
{
    struct cloud_call *calls = calloc(n ? n : 1, sizeof *calls);
    enum err_code rc;

    if (calls == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        calls[i] = (struct cloud_call){.service = "iam", .region = "us-east-1", .method = "POST",
                                       .path = "/", .body = bodies[i]};
    rc = cloud_call_many(p, calls, replies, errs, n, parallel, err);
    free(calls);
    return rc;
}

/* A round's buffers: n form bodies, replies and errors (replacing the previous round's). */
static bool round_alloc(size_t n, char (**b)[IAM_BODY], struct cloud_reply **rp, struct err **es)
{
    free(*b);
    free(*rp);
    free(*es);
    *b = calloc(n ? n : 1, sizeof **b);
    *rp = calloc(n ? n : 1, sizeof **rp);
    *es = calloc(n ? n : 1, sizeof **es);
    return *b != NULL && *rp != NULL && *es != NULL;
}

/* Whether a batched answer succeeded; records why not on obj. */
static bool answered(json_t *obj, const char *call, const struct cloud_reply *r,
                     const struct err *e)
{
    if (e->code != ERR_OK) {
        cloud_record_error(obj, call, "Unavailable", e->detail);
        return false;
    }
    if (r->status != 200) {
        cloud_record_error(obj, call, r->aws_error, r->message);
        return false;
    }
    return true;
}

enum err_code cloud_iam_roles(struct cloud_principal *p, const json_t *role_arns,
                              unsigned parallel, json_t **out, struct err *err)
{
    size_t nr = json_array_size(role_arns), n1 = nr * 3, n2 = 0, n3 = 0, i;
    struct role_work *w = calloc(nr ? nr : 1, sizeof *w);
    char (*b)[IAM_BODY] = NULL;
    struct cloud_reply *rp = NULL;
    struct err *es = NULL;
    json_t *managed = json_object(); /* PolicyArn -> {Document, DefaultVersionId} */
    json_t *marns = json_array();    /* managed policy ARNs in batch order */
    enum err_code rc = ERR_OK;

    *out = json_array();
    if (w == NULL || *out == NULL || managed == NULL || marns == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Round 1: GetRole, ListAttachedRolePolicies, ListRolePolicies. */
    if (!round_alloc(n1, &b, &rp, &es)) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nr; i++) {
        const char *arn = json_string_value(json_array_get(role_arns, i));
        const char *slash = arn ? strrchr(arn, '/') : NULL;
        w[i].role = json_pack("{s:s, s:[], s:[]}", "Arn", arn ? arn : "", "AttachedPolicies",
                              "InlinePolicies");
        w[i].inline_names = json_array();
        snprintf(w[i].name, sizeof w[i].name, "%s", slash ? slash + 1 : "");
        json_array_append_new(*out, w[i].role);
        iam_body(b[i * 3], "GetRole", "RoleName", w[i].name, NULL, NULL);
        iam_body(b[i * 3 + 1], "ListAttachedRolePolicies", "RoleName", w[i].name, "MaxItems",
                 "1000");
        iam_body(b[i * 3 + 2], "ListRolePolicies", "RoleName", w[i].name, "MaxItems", "1000");
    }
    rc = iam_batch(p, b, n1, parallel, rp, es, err);
    if (rc != ERR_OK)
        goto out;
    for (i = 0; i < nr; i++) {
        struct cloud_reply *r = &rp[i * 3];
        json_t *attached = json_object_get(w[i].role, "AttachedPolicies");
        if (answered(w[i].role, "GetRole", &r[0], &es[i * 3]))
            apply_role(&w[i], r[0].body, r[0].body + r[0].body_len);
        if (answered(w[i].role, "ListAttachedRolePolicies", &r[1], &es[i * 3 + 1])) {
            const char *x = r[1].body, *e = x + r[1].body_len;
            each_member(x, e, "AttachedPolicies", add_attached, attached);
            list_rest(p, &w[i], "ListAttachedRolePolicies", x, e, "AttachedPolicies",
                      add_attached, attached);
        }
        if (answered(w[i].role, "ListRolePolicies", &r[2], &es[i * 3 + 2])) {
            const char *x = r[2].body, *e = x + r[2].body_len;
            each_member(x, e, "PolicyNames", add_name, w[i].inline_names);
            list_rest(p, &w[i], "ListRolePolicies", x, e, "PolicyNames", add_name,
                      w[i].inline_names);
        }
        size_t k;
        json_t *a;
        json_array_foreach(attached, k, a) {
            const char *parn = json_string_value(json_object_get(a, "PolicyArn"));
            if (parn != NULL && json_object_get(managed, parn) == NULL) {
                json_object_set_new(managed, parn, json_object());
                json_array_append_new(marns, json_string(parn));
            }
        }
        n2 += json_array_size(w[i].inline_names);
    }
    for (i = 0; i < n1; i++)
        cloud_reply_free(&rp[i]);

    /* Round 2: inline documents, then each managed policy once (GetPolicy). */
    size_t nm = json_array_size(marns);
    n2 += nm;
    if (!round_alloc(n2, &b, &rp, &es)) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (i = 0; i < nr; i++) {
        size_t j;
        json_t *nm_;
        json_array_foreach(w[i].inline_names, j, nm_)
            iam_body(b[k++], "GetRolePolicy", "RoleName", w[i].name, "PolicyName",
                     json_string_value(nm_));
    }
    for (i = 0; i < nm; i++)
        iam_body(b[k++], "GetPolicy", "PolicyArn", json_string_value(json_array_get(marns, i)),
                 NULL, NULL);
    rc = iam_batch(p, b, n2, parallel, rp, es, err);
    if (rc != ERR_OK)
        goto out;
    k = 0;
    for (i = 0; i < nr; i++) {
        size_t j;
        json_t *nm_;
        json_t *inl = json_object_get(w[i].role, "InlinePolicies");
        json_array_foreach(w[i].inline_names, j, nm_) {
            struct cloud_reply *r = &rp[k];
            if (answered(w[i].role, "GetRolePolicy", r, &es[k])) {
                json_t *doc = policy_doc(r->body, r->body + r->body_len, "PolicyDocument");
                if (doc == NULL)
                    cloud_record_error(w[i].role, "GetRolePolicy", "MalformedPolicy",
                                       json_string_value(nm_));
                json_array_append_new(inl, json_pack("{s:O, s:o*}", "PolicyName", nm_,
                                                     "Document", doc));
            }
            k++;
        }
    }
    char (*versions)[16] = calloc(nm ? nm : 1, sizeof *versions);
    if (versions == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nm; i++, k++) {
        json_t *m = json_object_get(managed, json_string_value(json_array_get(marns, i)));
        if (answered(m, "GetPolicy", &rp[k], &es[k]) &&
            cloud_xml_text(rp[k].body, rp[k].body + rp[k].body_len, "DefaultVersionId",
                           versions[i], sizeof versions[i]))
            json_object_set_new(m, "DefaultVersionId", json_string(versions[i]));
    }
    for (i = 0; i < n2; i++)
        cloud_reply_free(&rp[i]);

    /* Round 3: each managed policy's default version. */
    n3 = nm;
    if (!round_alloc(n3, &b, &rp, &es)) {
        free(versions);
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t nb = 0;
    size_t *which = calloc(n3 ? n3 : 1, sizeof *which);
    for (i = 0; which != NULL && i < nm; i++)
        if (versions[i][0] != '\0') {
            iam_body(b[nb], "GetPolicyVersion", "PolicyArn",
                     json_string_value(json_array_get(marns, i)), "VersionId", versions[i]);
            which[nb++] = i;
        }
    free(versions);
    if (which == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = iam_batch(p, b, nb, parallel, rp, es, err);
    for (i = 0; rc == ERR_OK && i < nb; i++) {
        json_t *m = json_object_get(managed, json_string_value(json_array_get(marns, which[i])));
        if (answered(m, "GetPolicyVersion", &rp[i], &es[i])) {
            json_t *doc = policy_doc(rp[i].body, rp[i].body + rp[i].body_len, "Document");
            if (doc != NULL)
                json_object_set_new(m, "Document", doc);
            else
                cloud_record_error(m, "GetPolicyVersion", "MalformedPolicy",
                                   "the policy document is not a JSON object");
        }
    }
    free(which);
    for (i = 0; i < nb; i++)
        cloud_reply_free(&rp[i]);
    /* Fold the managed policies into every role that attaches them. */
    for (i = 0; rc == ERR_OK && i < nr; i++) {
        size_t j;
        json_t *a;
        json_array_foreach(json_object_get(w[i].role, "AttachedPolicies"), j, a) {
            json_t *m = json_object_get(managed,
                                        json_string_value(json_object_get(a, "PolicyArn")));
            const char *key;
            json_t *v;
            json_object_foreach(m, key, v) {
                if (strcmp(key, "Errors") == 0) {
                    size_t q;
                    json_t *e;
                    json_array_foreach(v, q, e)
                        cloud_record_error(w[i].role, json_string_value(json_object_get(e, "call")),
                                           json_string_value(json_object_get(e, "code")),
                                           json_string_value(json_object_get(e, "message")));
                } else {
                    json_object_set(a, key, v);
                }
            }
        }
    }
out:
    for (i = 0; w != NULL && i < nr; i++)
        json_decref(w[i].inline_names);
    free(w);
    free(b);
    free(rp);
    free(es);
    json_decref(managed);
    json_decref(marns);
    if (rc != ERR_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
