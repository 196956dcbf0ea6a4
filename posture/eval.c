/* posture/eval.c: one evaluation of the rule table over a snapshot. Indexes are built once
 * (roles by ARN, routes by function, functions by role) so a scan of thousands of functions sharing
 * a few roles analyses each role once; each rule then sees each resource of its type. */
#include "posture/posture.h"
#include "posture/posture_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pj_str(const json_t *o, const char *key)
{
    return json_string_value(json_is_object(o) ? json_object_get(o, key) : NULL);
}

const json_t *pj_obj(const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

const json_t *pj_arr(const json_t *o, const char *key)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

bool pj_int(const json_t *o, const char *key, long long *out)
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (!json_is_integer(v))
        return false;
    *out = (long long)json_integer_value(v);
    return true;
}

const json_t *pj_path(const json_t *o, const char *path)
{
    char name[64];

    while (o != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");
        if (n >= sizeof name || !json_is_object(o))
            return NULL;
        memcpy(name, path, n);
        name[n] = '\0';
        o = json_object_get(o, name);
        path += n;
        if (*path == '.')
            path++;
    }
    return o;
}

bool posture_arn_account(const char *arn, char acct[13])
{
    const char *p = arn;

    acct[0] = '\0';
    if (arn == NULL || strncmp(arn, "arn:", 4) != 0)
        return false;
    for (int i = 0; i < 4; i++) {
        p = strchr(p, ':');
        if (p == NULL)
            return false;
        p++;
    }
    if (strspn(p, "0123456789") != 12 || (p[12] != ':' && p[12] != '\0'))
        return false;
    memcpy(acct, p, 12);
    acct[12] = '\0';
    return true;
}

bool posture_account_is_trusted(const struct posture_eval *ev, const char *acct)
{
    size_t i;
    json_t *t;

    if (acct == NULL || acct[0] == '\0')
        return false;
    if (strcmp(acct, ev->account) == 0)
        return true;
    json_array_foreach(ev->trusted_accounts, i, t)
    {
        if (json_is_string(t) && strcmp(json_string_value(t), acct) == 0)
            return true;
    }
    return false;
}

/* Copies s into out (size > 0) when it must change: cut to size - 1 bytes and without a trailing
 * incomplete UTF-8 sequence (checks build subjects in fixed buffers), so a subject from a long
 * Sid or route stays valid UTF-8 for JSON and PostgreSQL text. */
static const char *utf8_bounded(const char *s, char *out, size_t size)
{
    size_t n = strlen(s), end;
    if (n >= size)
        n = size - 1;
    end = n;
    size_t lead = n;
    while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead > 0) {
        unsigned char c = (unsigned char)s[lead - 1];
        size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (n - (lead - 1) < want)
            end = lead - 1; /* the last character is cut: drop it */
    }
    if (end == strlen(s))
        return s;
    memcpy(out, s, end);
    out[end] = '\0';
    return out;
}

void posture_report(struct posture_eval *ev, const struct posture_rule *rule, const char *arn,
                    const char *subject, json_t *evidence)
{
    json_t *key;
    char bounded[512];

    subject = utf8_bounded(subject != NULL ? subject : "", bounded, sizeof bounded);
    /* one finding per fingerprint: two statements naming the same account are one finding */
    key = json_sprintf("%s\x1f%s\x1f%s", rule->id, arn, subject);
    if (key == NULL || json_object_get(ev->seen, json_string_value(key)) != NULL) {
        json_decref(key);
        json_decref(evidence);
        return;
    }
    json_object_set_new(ev->seen, json_string_value(key), json_true());
    json_decref(key);
    if (evidence == NULL)
        evidence = json_object();
    ev->emit(ev->ctx, rule, arn, subject, evidence);
}

/* ---- reachability ---- */

static void note_public(void *arg, enum posture_principal kind, const char *value,
                        const char *account)
{
    (void)value;
    (void)account;
    if (kind == POSTURE_PRINCIPAL_PUBLIC)
        *(bool *)arg = true;
}

/* A Deny of action to everyone ("*"), unconditional or binding every outside caller (Deny unless
 * from these addresses or this VPC endpoint), closes the policy to the public. */
static bool policy_denies_public(const json_t *policy, const char *action)
{
    json_t *sts = posture_iam_statements(policy);
    size_t i;
    json_t *s;
    bool denied = false;

    json_array_foreach(sts, i, s)
    {
        const char *eff = pj_str(s, "Effect");
        bool everyone = false;
        if (eff == NULL || strcmp(eff, "Deny") != 0 ||
            !posture_iam_condition_binds_outsider(json_object_get(s, "Condition")) ||
            !posture_iam_stmt_matches(s, action, NULL))
            continue;
        posture_iam_principals(s, note_public, &everyone);
        if (everyone) {
            denied = true;
            break;
        }
    }
    json_decref(sts);
    return denied;
}

bool posture_stmt_is_public(const json_t *stmt, const char *action, const json_t *context)
{
    const char *eff = pj_str(stmt, "Effect");
    bool pub = false;

    if (eff == NULL || strcmp(eff, "Allow") != 0 || !posture_iam_stmt_matches(stmt, action, NULL))
        return false;
    posture_iam_principals(stmt, note_public, &pub);
    return pub && posture_iam_condition_met(json_object_get(stmt, "Condition"), context);
}

int posture_policy_public_index(const json_t *policy, const char *action, const json_t *context)
{
    json_t *sts;
    size_t i;
    json_t *s;
    int found = -1;

    if (!json_is_object(policy) || policy_denies_public(policy, action))
        return -1;
    sts = posture_iam_statements(policy);
    json_array_foreach(sts, i, s)
    {
        if (posture_stmt_is_public(s, action, context)) {
            found = (int)i;
            break;
        }
    }
    json_decref(sts);
    return found;
}

bool posture_url_is_public(const json_t *fn, int *stmt_index)
{
    const char *auth = pj_str(pj_obj(fn, "UrlConfig"), "AuthType");
    json_t *ctx;
    int idx;

    if (auth == NULL || strcmp(auth, "NONE") != 0)
        return false;
    ctx = json_pack("{s:s}", "lambda:FunctionUrlAuthType", "NONE");
    idx =
        posture_policy_public_index(json_object_get(fn, "Policy"), "lambda:InvokeFunctionUrl", ctx);
    json_decref(ctx);
    if (stmt_index != NULL)
        *stmt_index = idx;
    return idx >= 0;
}

bool posture_fn_is_reachable(struct posture_eval *ev, struct posture_fn_info *fi)
{
    json_t *why;
    int idx;
    size_t i;
    json_t *r;
    char path[64];
    (void)ev;

    if (fi->reach >= 0)
        return fi->reach == 1;
    why = json_object();
    idx = posture_policy_public_index(json_object_get(fi->fn, "Policy"), "lambda:InvokeFunction",
                                      NULL);
    if (idx >= 0) {
        snprintf(path, sizeof path, "Policy.Statement[%d]", idx);
        json_object_set_new(why, "policy_statement", json_string(path));
    }
    if (posture_url_is_public(fi->fn, NULL))
        json_object_set_new(why, "function_url",
                            json_string(pj_str(pj_obj(fi->fn, "UrlConfig"), "FunctionUrl")));
    json_array_foreach(fi->routes, i, r)
    {
        if (json_is_true(json_object_get(r, "public"))) {
            json_t *routes = json_object_get(why, "routes");
            if (routes == NULL)
                json_object_set_new(why, "routes", routes = json_array());
            if (json_array_size(routes) < 10)
                json_array_append(routes, r);
        }
    }
    fi->reach = json_object_size(why) > 0;
    if (fi->reach)
        fi->reach_evidence = why;
    else
        json_decref(why);
    return fi->reach == 1;
}

/* ---- dispatch ---- */

static void run_rules(struct posture_eval *ev, const char *type, const json_t *resource)
{
    for (size_t r = 0; r < posture_rules_count; r++) {
        if (strcmp(posture_rules[r].resource_type, type) == 0)
            posture_rules[r].check(ev, &posture_rules[r], resource);
    }
}

static struct posture_role_info *role_find(struct posture_eval *ev, const json_t *index,
                                           const char *arn)
{
    const json_t *i = arn != NULL ? json_object_get(index, arn) : NULL;
    return json_is_integer(i) ? &ev->roles[json_integer_value(i)] : NULL;
}

void posture_evaluate(const json_t *snapshot, time_t now, posture_emit_fn emit, void *ctx)
{
    struct posture_eval ev = {0};
    const json_t *fns = pj_arr(snapshot, "functions"), *roles = pj_arr(snapshot, "roles");
    json_t *role_index = json_object(), *routes = NULL;
    size_t i;
    json_t *v;

    if (!json_is_object(snapshot) || emit == NULL || role_index == NULL)
        goto out;
    ev.snapshot = snapshot;
    ev.now = now;
    ev.emit = emit;
    ev.ctx = ctx;
    ev.account = pj_str(snapshot, "account_id") != NULL ? pj_str(snapshot, "account_id") : "";
    ev.region = pj_str(snapshot, "region") != NULL ? pj_str(snapshot, "region") : "us-east-1";
    ev.trusted_accounts = pj_arr(snapshot, "trusted_accounts");
    ev.seen = json_object();
    ev.roles = calloc(json_array_size(roles) + 1, sizeof *ev.roles);
    ev.fns = calloc(json_array_size(fns) + 1, sizeof *ev.fns);
    routes = posture_link_routes_index_new(snapshot);
    if (ev.roles == NULL || ev.fns == NULL || routes == NULL || ev.seen == NULL)
        goto out;

    json_array_foreach(roles, i, v)
    {
        const char *arn = pj_str(v, "Arn");
        if (arn == NULL || json_object_get(role_index, arn) != NULL)
            continue;
        struct posture_role_info *ri = &ev.roles[ev.nroles];
        ri->role = v;
        ri->arn = arn;
        ri->admin = -1;
        ri->escalates = -1;
        ri->docs = posture_iam_role_docs_new(v, &ri->doc_names);
        ri->boundary = posture_role_boundary_new(v);
        ri->functions = json_array();
        ri->context = json_pack("{s:s, s:s, s:s}", "aws:PrincipalAccount", ev.account,
                                "aws:ResourceAccount", ev.account, "aws:PrincipalArn", arn);
        json_object_set_new(role_index, arn, json_integer((json_int_t)ev.nroles));
        ev.nroles++;
    }
    json_array_foreach(fns, i, v)
    {
        const char *arn = pj_str(v, "FunctionArn");
        char unq[512];
        if (arn == NULL)
            continue;
        struct posture_fn_info *fi = &ev.fns[ev.nfns++];
        fi->fn = v;
        fi->arn = arn;
        fi->reach = -1;
        posture_arn_account(arn, fi->account);
        fi->role = role_find(&ev, role_index, pj_str(v, "Role"));
        if (fi->role != NULL)
            json_array_append_new(fi->role->functions, json_string(arn));
        if (posture_link_function_arn(arn, unq, sizeof unq))
            fi->routes = json_incref(json_object_get(routes, unq));
    }

    for (i = 0; i < ev.nfns; i++) {
        ev.cur_fn = &ev.fns[i];
        run_rules(&ev, "aws.lambda.function", ev.fns[i].fn);
        if (ev.fns[i].role != NULL && posture_fn_is_reachable(&ev, &ev.fns[i]))
            ev.fns[i].role->has_public_fn = true;
    }
    ev.cur_fn = NULL;
    for (i = 0; i < ev.nroles; i++) {
        ev.cur_role = &ev.roles[i];
        run_rules(&ev, "aws.iam.role", ev.roles[i].role);
    }
    ev.cur_role = NULL;
    json_array_foreach(pj_arr(snapshot, "http_apis"), i, v)
    {
        run_rules(&ev, "aws.apigateway.http_api", v);
    }
    json_array_foreach(pj_arr(snapshot, "rest_apis"), i, v)
    {
        run_rules(&ev, "aws.apigateway.rest_api", v);
    }
out:
    for (i = 0; i < ev.nfns; i++) {
        json_decref(ev.fns[i].routes);
        json_decref(ev.fns[i].reach_evidence);
    }
    for (i = 0; i < ev.nroles; i++) {
        json_decref(ev.roles[i].docs);
        json_decref(ev.roles[i].doc_names);
        json_decref(ev.roles[i].boundary);
        json_decref(ev.roles[i].functions);
        json_decref(ev.roles[i].context);
    }
    free(ev.fns);
    free(ev.roles);
    json_decref(routes);
    json_decref(role_index);
    json_decref(ev.seen);
}

const char *posture_severity_name(enum posture_severity s)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "info";
}
