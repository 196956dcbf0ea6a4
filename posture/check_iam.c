/* posture/check_iam.c: execution-role checks. Questions are asked of the role's documents with
 * probe resources (an ARN that only a wildcard matches) and a probe action (one no policy names),
 * so "may do X to anything" and "holds every action of a service" follow NotAction, NotResource,
 * wildcards, Deny and conditions exactly as posture_iam_evaluate does. An administrator role is
 * reported once (PAR-IAM-001); the narrower role rules stay quiet on it. */
#include "posture/posture.h"
#include "posture/posture_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PROBE "zz9-parapet-probe"

static const struct {
    const char *service;
    const char *tmpl; /* {R} region, {A} account */
} probes[] = {
    {"s3", "arn:aws:s3:::" PROBE "/" PROBE},
    {"lambda", "arn:aws:lambda:{R}:{A}:function:" PROBE},
    {"iam", "arn:aws:iam::{A}:role/" PROBE},
    {"sts", "arn:aws:iam::{A}:role/" PROBE},
    {"secretsmanager", "arn:aws:secretsmanager:{R}:{A}:secret:" PROBE},
    {"ssm", "arn:aws:ssm:{R}:{A}:parameter/" PROBE},
    {"dynamodb", "arn:aws:dynamodb:{R}:{A}:table/" PROBE},
    {"kms", "arn:aws:kms:{R}:{A}:key/" PROBE},
    {"logs", "arn:aws:logs:{R}:{A}:log-group:/aws/lambda/" PROBE},
    {"cloudtrail", "arn:aws:cloudtrail:{R}:{A}:trail/" PROBE},
    {"guardduty", "arn:aws:guardduty:{R}:{A}:detector/" PROBE},
    {"ec2", "arn:aws:ec2:{R}:{A}:instance/" PROBE},
};

static void probe_resource(const struct posture_role_info *ri, const char *action, char *out,
                           size_t size)
{
    char svc[64];
    size_t n = strcspn(action, ":"), o = 0;
    const char *tmpl = "arn:aws:{S}:{R}:{A}:" PROBE;
    char acct[13];

    if (!posture_arn_account(ri->arn, acct))
        memcpy(acct, "000000000000", 13);
    if (n >= sizeof svc)
        n = sizeof svc - 1;
    memcpy(svc, action, n);
    svc[n] = '\0';
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (strcasecmp(probes[i].service, svc) == 0)
            tmpl = probes[i].tmpl;
    }
    for (const char *p = tmpl; *p != '\0' && o + 1 < size; p++) {
        const char *ins = NULL;
        if (p[0] == '{' && p[2] == '}') {
            ins = p[1] == 'R' ? "us-east-1" : p[1] == 'A' ? acct : svc;
            p += 2;
        }
        if (ins == NULL) {
            out[o++] = *p;
            continue;
        }
        for (; *ins != '\0' && o + 1 < size; ins++)
            out[o++] = *ins;
    }
    out[o] = '\0';
}

bool posture_role_allows_any(const struct posture_role_info *ri, const char *action,
                             const json_t *extra, const json_t **stmt)
{
    char res[256];
    json_t *ctx = json_deep_copy(ri->context);
    enum posture_iam_decision d;

    if (ctx == NULL)
        return false;
    if (json_is_object(extra))
        json_object_update(ctx, (json_t *)(uintptr_t)extra);
    probe_resource(ri, action, res, sizeof res);
    {
        /* the docs array's elements as a C array */
        size_t n = json_array_size(ri->docs);
        const json_t *docs[64];
        if (n > 64)
            n = 64;
        for (size_t i = 0; i < n; i++)
            docs[i] = json_array_get(ri->docs, i);
        d = posture_iam_evaluate(docs, n, action, res, ctx, stmt, NULL);
    }
    /* a permissions boundary caps what the policies grant, when its document is known */
    if (d == POSTURE_IAM_ALLOW && ri->boundary != NULL) {
        const json_t *b[1] = {ri->boundary};
        if (posture_iam_evaluate(b, 1, action, res, ctx, NULL, NULL) != POSTURE_IAM_ALLOW)
            d = POSTURE_IAM_IMPLICIT_DENY;
    }
    json_decref(ctx);
    return d == POSTURE_IAM_ALLOW;
}

bool posture_role_allows_service(const struct posture_role_info *ri, const char *service)
{
    char action[96];
    snprintf(action, sizeof action, "%s:Zz9ParapetProbe", service);
    return posture_role_allows_any(ri, action, NULL, NULL);
}

static bool has_managed(const struct posture_role_info *ri, const char *name)
{
    size_t i;
    json_t *p;
    char arn[128];

    snprintf(arn, sizeof arn, "arn:aws:iam::aws:policy/%s", name);
    json_array_foreach(pj_arr(ri->role, "AttachedPolicies"), i, p)
    {
        const char *a = pj_str(p, "PolicyArn");
        if (a != NULL && strcmp(a, arn) == 0)
            return true;
    }
    return false;
}

bool posture_role_is_admin(struct posture_eval *ev, struct posture_role_info *ri)
{
    (void)ev;
    if (ri->admin < 0)
        ri->admin = (has_managed(ri, "AdministratorAccess") && ri->boundary == NULL) ||
                    (posture_role_allows_any(ri, "zz9parapetprobe:Zz9ParapetProbe", NULL, NULL) &&
                     posture_role_allows_service(ri, "iam"));
    return ri->admin == 1;
}

json_t *posture_role_boundary_new(const json_t *role)
{
    const json_t *pb = pj_obj(role, "PermissionsBoundary");
    const json_t *doc = pj_obj(pb, "Document");
    if (doc != NULL)
        return json_incref((json_t *)(uintptr_t)doc);
    return posture_iam_managed_doc(pj_str(pb, "PermissionsBoundaryArn"));
}

/* The statement that granted, with the name of its policy, for evidence. */
static json_t *grant_evidence(const struct posture_role_info *ri, const json_t *stmt)
{
    size_t i;
    json_t *d;

    json_array_foreach(ri->docs, i, d)
    {
        json_t *sts = posture_iam_statements(d);
        size_t j;
        json_t *s;
        json_array_foreach(sts, j, s)
        {
            if (s == stmt) {
                json_t *out =
                    json_pack("{s:O?, s:i, s:O}", "policy", json_array_get(ri->doc_names, i),
                              "statement_index", (json_int_t)j, "statement", s);
                json_decref(sts);
                return out;
            }
        }
        json_decref(sts);
    }
    return json_pack("{s:O}", "statement", stmt);
}

/* The role and (the first 20 of) the functions using it: evidence stays small when a role is
 * shared by thousands of functions. */
static json_t *role_evidence(const struct posture_role_info *ri)
{
    size_t n = json_array_size(ri->functions);
    json_t *fns = json_array();
    for (size_t i = 0; i < n && i < 20; i++)
        json_array_append(fns, json_array_get(ri->functions, i));
    json_t *ev = json_pack("{s:s, s:o, s:I}", "Arn", ri->arn, "functions", fns, "function_count",
                           (json_int_t)n);
    const char *pb = pj_str(pj_obj(ri->role, "PermissionsBoundary"), "PermissionsBoundaryArn");
    if (pb != NULL)
        json_object_set_new(ev, "PermissionsBoundary.PermissionsBoundaryArn", json_string(pb));
    return ev;
}

void posture_check_role_admin(struct posture_eval *ev, const struct posture_rule *rule,
                              const json_t *role)
{
    struct posture_role_info *ri = ev->cur_role;
    const json_t *stmt = NULL;
    json_t *evd;
    (void)role;

    if (!posture_role_is_admin(ev, ri))
        return;
    evd = role_evidence(ri);
    if (has_managed(ri, "AdministratorAccess") && ri->boundary == NULL)
        json_object_set_new(evd, "AttachedPolicies.PolicyArn",
                            json_string("arn:aws:iam::aws:policy/AdministratorAccess"));
    if (posture_role_allows_any(ri, "zz9parapetprobe:Zz9ParapetProbe", NULL, &stmt) && stmt != NULL)
        json_object_set_new(evd, "grant", grant_evidence(ri, stmt));
    posture_report(ev, rule, ri->arn, "", evd);
}

/* Whether a broad managed policy still grants a whole service (or everything) once the role's
 * Deny statements and permissions boundary are applied. */
static bool managed_still_broad(const struct posture_role_info *ri, const char *arn)
{
    json_t *doc = posture_iam_managed_doc(arn), *sts = posture_iam_statements(doc);
    bool broad = false;
    size_t i;
    json_t *s;

    json_array_foreach(sts, i, s)
    {
        const json_t *acts = json_object_get(s, "Action");
        if (acts == NULL) { /* NotAction: everything but a few services */
            broad =
                broad || posture_role_allows_any(ri, "zz9parapetprobe:Zz9ParapetProbe", NULL, NULL);
            continue;
        }
        size_t n = json_is_array(acts) ? json_array_size(acts) : 1;
        for (size_t k = 0; k < n && !broad; k++) {
            const char *a = json_string_value(json_is_array(acts) ? json_array_get(acts, k) : acts);
            const char *colon = a != NULL ? strchr(a, ':') : NULL;
            char svc[64];
            if (a != NULL && strcmp(a, "*") == 0) {
                broad = posture_role_allows_any(ri, "zz9parapetprobe:Zz9ParapetProbe", NULL, NULL);
            } else if (colon != NULL && strcmp(colon, ":*") == 0 &&
                       (size_t)(colon - a) < sizeof svc) {
                memcpy(svc, a, (size_t)(colon - a));
                svc[colon - a] = '\0';
                broad = posture_role_allows_service(ri, svc);
            }
        }
    }
    json_decref(sts);
    json_decref(doc);
    return broad;
}

void posture_check_role_managed(struct posture_eval *ev, const struct posture_rule *rule,
                                const json_t *role)
{
    struct posture_role_info *ri = ev->cur_role;
    size_t i;
    json_t *p;
    (void)role;

    if (posture_role_is_admin(ev, ri))
        return;
    json_array_foreach(pj_arr(ri->role, "AttachedPolicies"), i, p)
    {
        const char *arn = pj_str(p, "PolicyArn");
        if (arn == NULL || !posture_iam_managed_is_broad(arn) || !managed_still_broad(ri, arn))
            continue;
        json_t *evd = role_evidence(ri);
        json_object_set_new(evd, "AttachedPolicies.PolicyArn", json_string(arn));
        posture_report(ev, rule, ri->arn, arn, evd);
    }
}

void posture_check_role_service_wildcard(struct posture_eval *ev, const struct posture_rule *rule,
                                         const json_t *role)
{
    struct posture_role_info *ri = ev->cur_role;
    json_t *seen;
    size_t i;
    json_t *d;
    (void)role;

    if (posture_role_is_admin(ev, ri))
        return;
    seen = json_object();
    json_array_foreach(ri->docs, i, d)
    {
        const char *name = json_string_value(json_array_get(ri->doc_names, i));
        if (name == NULL || strncmp(name, "arn:aws:iam::aws:policy/", 24) == 0)
            continue; /* AWS managed: PAR-IAM-002 names the policy */
        json_t *sts = posture_iam_statements(d);
        size_t j, k;
        json_t *s, *a;
        json_array_foreach(sts, j, s)
        {
            const json_t *acts = json_object_get(s, "Action");
            const char *eff = pj_str(s, "Effect");
            if (eff == NULL || strcmp(eff, "Allow") != 0 || acts == NULL)
                continue;
            size_t n = json_is_array(acts) ? json_array_size(acts) : 1;
            for (k = 0; k < n; k++) {
                a = json_is_array(acts) ? json_array_get(acts, k) : (json_t *)(uintptr_t)acts;
                const char *act = json_string_value(a), *colon;
                char svc[64], subject[80];
                if (act == NULL || (colon = strchr(act, ':')) == NULL ||
                    strspn(colon + 1, "*") != strlen(colon + 1) || colon[1] == '\0' ||
                    (size_t)(colon - act) >= sizeof svc)
                    continue;
                memcpy(svc, act, (size_t)(colon - act));
                svc[colon - act] = '\0';
                for (char *c = svc; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
                snprintf(subject, sizeof subject, "%s:*", svc);
                if (json_object_get(seen, subject) != NULL || !posture_role_allows_service(ri, svc))
                    continue;
                json_object_set_new(seen, subject, json_true());
                json_t *evd = role_evidence(ri);
                json_object_set_new(evd, "policy", json_string(name));
                json_object_set_new(evd, "statement", json_deep_copy(s));
                posture_report(ev, rule, ri->arn, subject, evd);
            }
        }
        json_decref(sts);
    }
    json_decref(seen);
}

/* PAR-IAM-004/005/006: named actions allowed on any resource, unless the whole service is
 * (then the service-wide rules report it). */
void posture_check_role_actions(struct posture_eval *ev, const struct posture_rule *rule,
                                const json_t *role)
{
    struct posture_role_info *ri = ev->cur_role;
    const char *const *actions = rule->arg;
    (void)role;

    if (actions == NULL || posture_role_is_admin(ev, ri))
        return;
    for (size_t i = 0; actions[i] != NULL; i++) {
        const json_t *stmt = NULL;
        char svc[64];
        size_t n = strcspn(actions[i], ":");
        if (n >= sizeof svc)
            continue;
        memcpy(svc, actions[i], n);
        svc[n] = '\0';
        if (!posture_role_allows_any(ri, actions[i], NULL, &stmt) ||
            posture_role_allows_service(ri, svc))
            continue;
        json_t *evd = role_evidence(ri);
        json_object_set_new(evd, "grant", grant_evidence(ri, stmt));
        posture_report(ev, rule, ri->arn, actions[i], evd);
    }
}

/* ---- privilege escalation ---- */

struct esc_path {
    enum posture_esc_group group;
    const char *subject;
    const char *passed_to; /* iam:PassedToService for iam:PassRole, or NULL */
    const char *actions[4];
};

/* Rhino Security Labs' AWS privilege-escalation methods as Prowler encodes them
 * (providers/aws/services/iam/lib/privilege_escalation.py). */
static const struct esc_path esc_paths[] = {
    {POSTURE_ESC_PASSROLE_LAMBDA,
     "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction",
     "lambda.amazonaws.com",
     {"iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"}},
    {POSTURE_ESC_PASSROLE_LAMBDA,
     "iam:PassRole+lambda:CreateFunction+lambda:CreateEventSourceMapping",
     "lambda.amazonaws.com",
     {"iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"}},
    {POSTURE_ESC_PASSROLE_LAMBDA,
     "iam:PassRole+lambda:CreateFunction+lambda:AddPermission",
     "lambda.amazonaws.com",
     {"iam:PassRole", "lambda:CreateFunction", "lambda:AddPermission"}},
    {POSTURE_ESC_PASSROLE_LAMBDA,
     "iam:PassRole+lambda:CreateFunction+lambda:CreateFunctionUrlConfig",
     "lambda.amazonaws.com",
     {"iam:PassRole", "lambda:CreateFunction", "lambda:CreateFunctionUrlConfig"}},
    {POSTURE_ESC_POLICY, "iam:PutRolePolicy", NULL, {"iam:PutRolePolicy"}},
    {POSTURE_ESC_POLICY, "iam:AttachRolePolicy", NULL, {"iam:AttachRolePolicy"}},
    {POSTURE_ESC_POLICY, "iam:CreatePolicyVersion", NULL, {"iam:CreatePolicyVersion"}},
    {POSTURE_ESC_POLICY, "iam:SetDefaultPolicyVersion", NULL, {"iam:SetDefaultPolicyVersion"}},
    {POSTURE_ESC_POLICY, "iam:PutUserPolicy", NULL, {"iam:PutUserPolicy"}},
    {POSTURE_ESC_POLICY, "iam:AttachUserPolicy", NULL, {"iam:AttachUserPolicy"}},
    {POSTURE_ESC_POLICY, "iam:PutGroupPolicy", NULL, {"iam:PutGroupPolicy"}},
    {POSTURE_ESC_POLICY, "iam:AttachGroupPolicy", NULL, {"iam:AttachGroupPolicy"}},
    {POSTURE_ESC_POLICY, "iam:AddUserToGroup", NULL, {"iam:AddUserToGroup"}},
    {POSTURE_ESC_POLICY,
     "iam:DeleteRolePermissionsBoundary",
     NULL,
     {"iam:DeleteRolePermissionsBoundary"}},
    {POSTURE_ESC_CREDENTIALS, "iam:UpdateAssumeRolePolicy", NULL, {"iam:UpdateAssumeRolePolicy"}},
    {POSTURE_ESC_CREDENTIALS, "iam:CreateAccessKey", NULL, {"iam:CreateAccessKey"}},
    {POSTURE_ESC_CREDENTIALS, "iam:CreateLoginProfile", NULL, {"iam:CreateLoginProfile"}},
    {POSTURE_ESC_CREDENTIALS, "iam:UpdateLoginProfile", NULL, {"iam:UpdateLoginProfile"}},
    {POSTURE_ESC_FUNCTIONS, "lambda:UpdateFunctionCode", NULL, {"lambda:UpdateFunctionCode"}},
    {POSTURE_ESC_FUNCTIONS,
     "lambda:UpdateFunctionConfiguration",
     NULL,
     {"lambda:UpdateFunctionConfiguration"}},
    {POSTURE_ESC_ASSUME, "sts:AssumeRole", NULL, {"sts:AssumeRole"}},
    {POSTURE_ESC_PASSROLE_COMPUTE,
     "iam:PassRole+ec2:RunInstances",
     "ec2.amazonaws.com",
     {"iam:PassRole", "ec2:RunInstances"}},
    {POSTURE_ESC_PASSROLE_COMPUTE,
     "iam:PassRole+cloudformation:CreateStack",
     "cloudformation.amazonaws.com",
     {"iam:PassRole", "cloudformation:CreateStack"}},
    {POSTURE_ESC_PASSROLE_COMPUTE,
     "iam:PassRole+glue:CreateDevEndpoint",
     "glue.amazonaws.com",
     {"iam:PassRole", "glue:CreateDevEndpoint"}},
    {POSTURE_ESC_PASSROLE_COMPUTE,
     "iam:PassRole+codebuild:CreateProject",
     "codebuild.amazonaws.com",
     {"iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuild"}},
};

/* Whether every action of the path is allowed; when evd is not NULL, fills it with the grants. */
static bool esc_holds(const struct posture_role_info *ri, const struct esc_path *p, json_t *evd)
{
    json_t *extra =
        p->passed_to != NULL ? json_pack("{s:s}", "iam:PassedToService", p->passed_to) : NULL;
    bool ok = true;

    for (size_t a = 0; a < 4 && p->actions[a] != NULL && ok; a++) {
        const json_t *stmt = NULL;
        ok = posture_role_allows_any(ri, p->actions[a], extra, &stmt);
        if (ok && evd != NULL)
            json_object_set_new(evd, p->actions[a], grant_evidence(ri, stmt));
    }
    json_decref(extra);
    return ok;
}

bool posture_role_escalates(struct posture_eval *ev, struct posture_role_info *ri)
{
    (void)ev;
    if (ri->escalates < 0) {
        ri->escalates = 0;
        for (size_t i = 0; i < sizeof esc_paths / sizeof esc_paths[0] && !ri->escalates; i++)
            ri->escalates = esc_holds(ri, &esc_paths[i], NULL);
    }
    return ri->escalates == 1;
}

void posture_check_role_escalation(struct posture_eval *ev, const struct posture_rule *rule,
                                   const json_t *role)
{
    struct posture_role_info *ri = ev->cur_role;
    const enum posture_esc_group *group = rule->arg;
    (void)role;

    if (group == NULL || posture_role_is_admin(ev, ri))
        return;
    for (size_t i = 0; i < sizeof esc_paths / sizeof esc_paths[0]; i++) {
        if (esc_paths[i].group != *group)
            continue;
        json_t *grants = json_object();
        if (!esc_holds(ri, &esc_paths[i], grants)) {
            json_decref(grants);
            continue;
        }
        json_t *evd = role_evidence(ri);
        json_object_set_new(evd, "grants", grants);
        posture_report(ev, rule, ri->arn, esc_paths[i].subject, evd);
    }
}

/* ---- trust policy and sharing ---- */

struct trust_scan {
    struct posture_eval *ev;
    const struct posture_rule *rule;
    const struct posture_role_info *ri;
    const json_t *stmt;
    size_t index;
};

static void trust_principal(void *arg, enum posture_principal kind, const char *value,
                            const char *account)
{
    struct trust_scan *t = arg;
    char path[64];

    if (kind == POSTURE_PRINCIPAL_PUBLIC ||
        (kind == POSTURE_PRINCIPAL_ACCOUNT && !posture_account_is_trusted(t->ev, account))) {
        json_t *evd = role_evidence(t->ri);
        snprintf(path, sizeof path, "AssumeRolePolicyDocument.Statement[%zu]", t->index);
        json_object_set_new(evd, path, json_deep_copy(t->stmt));
        posture_report(t->ev, t->rule, t->ri->arn, value, evd);
    }
}

void posture_check_role_trust(struct posture_eval *ev, const struct posture_rule *rule,
                              const json_t *role)
{
    json_t *sts = posture_iam_statements(pj_obj(role, "AssumeRolePolicyDocument"));
    struct trust_scan t = {ev, rule, ev->cur_role, NULL, 0};
    size_t i;
    json_t *s;

    json_array_foreach(sts, i, s)
    {
        const char *eff = pj_str(s, "Effect");
        if (eff == NULL || strcmp(eff, "Allow") != 0 ||
            !posture_iam_stmt_matches(s, "sts:AssumeRole", NULL) ||
            !posture_iam_condition_met(json_object_get(s, "Condition"), NULL))
            continue;
        t.stmt = s;
        t.index = i;
        posture_iam_principals(s, trust_principal, &t);
    }
    json_decref(sts);
}

void posture_check_role_shared(struct posture_eval *ev, const struct posture_rule *rule,
                               const json_t *role)
{
    struct posture_role_info *ri = ev->cur_role;
    const bool *with_public = rule->arg;
    (void)role;

    if (with_public == NULL || json_array_size(ri->functions) < 2 ||
        ri->has_public_fn != *with_public)
        return;
    json_t *evd = role_evidence(ri);
    if (*with_public) {
        json_t *pub = json_array();
        for (size_t i = 0; i < ev->nfns; i++) {
            if (ev->fns[i].role == ri && posture_fn_is_reachable(ev, &ev->fns[i]))
                if (json_array_size(pub) < 20)
                    json_array_append_new(pub, json_string(ev->fns[i].arn));
        }
        json_object_set_new(evd, "public_functions", pub);
    }
    posture_report(ev, rule, ri->arn, "", evd);
}

/* PAR-IAM-011: a function anyone can call runs with an administrator or escalating role. */
void posture_check_fn_role_risky(struct posture_eval *ev, const struct posture_rule *rule,
                                 const json_t *fn)
{
    struct posture_fn_info *fi = ev->cur_fn;
    struct posture_role_info *ri = fi->role;
    (void)fn;

    if (ri == NULL || !posture_fn_is_reachable(ev, fi))
        return;
    bool admin = posture_role_is_admin(ev, ri);
    if (!admin && !posture_role_escalates(ev, ri))
        return;
    json_t *evd = json_pack("{s:s, s:s, s:O}", "Role", ri->arn, "role_power",
                            admin ? "administrator" : "privilege-escalation", "reachable",
                            fi->reach_evidence);
    posture_report(ev, rule, fi->arn, "", evd);
}
