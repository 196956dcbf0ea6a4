/* posture/posture_int.h - what the rule checks share inside posture/: the evaluation state with
 * its per-scan indexes (role by ARN, routes by function, functions by role, reachability and role
 * analysis computed once), typed JSON accessors that tolerate any shape, and posture_report().
 * Not for use outside posture/. */
#ifndef PARAPET_POSTURE_INT_H
#define PARAPET_POSTURE_INT_H

#include "posture/posture.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct posture_role_info {
    const json_t *role; /* the snapshot's role */
    const char *arn;
    json_t *docs;      /* permission documents (posture_iam_role_docs_new) */
    json_t *doc_names; /* their names, same order */
    json_t *boundary;  /* the permissions boundary's document when known, or NULL */
    json_t *context;   /* request context of the role's own sessions */
    json_t *functions; /* FunctionArn of every function using the role */
    int admin;         /* -1 not computed yet, else 0/1 */
    int escalates;     /* -1 not computed yet, else 0/1: some privilege-escalation path */
    bool has_public_fn;
};

struct posture_fn_info {
    const json_t *fn;
    const char *arn;
    char account[13];
    struct posture_role_info *role; /* NULL when the role is not in the snapshot */
    json_t *routes;                 /* posture_link_routes_new */
    int reach;                      /* -1 not computed yet, else 0/1 */
    json_t *reach_evidence;         /* why it is reachable (object), when reach == 1 */
};

struct posture_eval {
    const json_t *snapshot;
    time_t now;
    posture_emit_fn emit;
    void *ctx;
    const char *account; /* the snapshot's account_id ("" when absent) */
    const char *region;
    const json_t *trusted_accounts; /* the snapshot's trusted_accounts, may be NULL */
    struct posture_fn_info *fns;
    size_t nfns;
    struct posture_role_info *roles;
    size_t nroles;
    struct posture_fn_info *cur_fn;     /* set while checking a function */
    struct posture_role_info *cur_role; /* set while checking a role */
    json_t *seen;                       /* fingerprints reported so far */
};

/* Hands one finding to the caller's emit callback. evidence is stolen (NULL: {}). */
void posture_report(struct posture_eval *ev, const struct posture_rule *rule, const char *arn,
                    const char *subject, json_t *evidence);

/* Typed accessors: NULL / false when o is not an object or the member has another type. */
const char *pj_str(const json_t *o, const char *key);
const json_t *pj_obj(const json_t *o, const char *key);
const json_t *pj_arr(const json_t *o, const char *key);
bool pj_int(const json_t *o, const char *key, long long *out);
/* Follows a dotted path of object members ("Environment.Variables"); NULL when any step fails. */
const json_t *pj_path(const json_t *o, const char *path);

/* The account (5th field) of an ARN into acct[13]; false when absent or not 12 digits. */
bool posture_arn_account(const char *arn, char acct[13]);

/* The snapshot's own account, or one listed in trusted_accounts. */
bool posture_account_is_trusted(const struct posture_eval *ev, const char *acct);

/* Reachable from the internet without credentials: a public resource policy for
 * lambda:InvokeFunction, a function URL with AuthType NONE that the policy opens, or an
 * unauthenticated API route. Computed once per function. */
bool posture_fn_is_reachable(struct posture_eval *ev, struct posture_fn_info *fi);

/* A resource-policy statement that lets anyone perform action (Allow, Principal "*" or
 * {"AWS": "*"}, condition met under context). */
bool posture_stmt_is_public(const json_t *stmt, const char *action, const json_t *context);
/* Index of the first public statement of policy for action (after an unconditional Deny check),
 * or -1. */
int posture_policy_public_index(const json_t *policy, const char *action, const json_t *context);
/* A function URL with AuthType NONE whose resource policy lets anyone call it. */
bool posture_url_is_public(const json_t *fn, int *stmt_index);

/* The document of a role's permissions boundary: PermissionsBoundary.Document when the scanner
 * read it, else the built-in document of a known AWS managed policy; NULL when unknown (then the
 * policies alone are judged, and evidence names the boundary). New reference. */
json_t *posture_role_boundary_new(const json_t *role);

/* A REST API whose endpointConfiguration.types holds PRIVATE. */
bool posture_rest_is_private(const json_t *api);
/* A REST API's policy as API Gateway sends it (a JSON string, its quotes escaped once more:
 * {\"Version\":...}; both forms accepted), parsed: new reference, NULL when unreadable. */
json_t *posture_rest_policy_new(const char *text);
/* Anyone may call the REST API as far as its resource policy goes: no policy, or one that lets
 * "*" perform execute-api:Invoke with no restricting condition (aws:SourceIp, aws:SourceVpce). */
bool posture_rest_policy_is_open(const json_t *api);

/* Role analysis, computed once per role. */
bool posture_role_is_admin(struct posture_eval *ev, struct posture_role_info *ri);
bool posture_role_escalates(struct posture_eval *ev, struct posture_role_info *ri);

/* Whether the role may perform action on every resource of its kind (a probe ARN that only a
 * wildcard matches). extra (may be NULL) adds context keys (iam:PassedToService). *stmt borrows
 * the granting statement. */
bool posture_role_allows_any(const struct posture_role_info *ri, const char *action,
                             const json_t *extra, const json_t **stmt);

/* Whether the role holds every action of a service ("s3:*" or wider) on any resource. */
bool posture_role_allows_service(const struct posture_role_info *ri, const char *service);

/* A statement matches action (case-insensitive, wildcards) and resource (NULL: any). */
bool posture_iam_stmt_matches(const json_t *stmt, const char *action, const char *resource);

/* A condition value that restricts nothing: only wildcards, a policy variable, or an ARN whose
 * partition, service, region or account is a wildcard. */
bool posture_cond_value_is_wildcard(const char *s);

/* A name that holds a secret (PASSWORD, API_KEY, ...) rather than describes one (*_ARN, ...). */
bool posture_secret_name_is_sensitive(const char *name);
/* A value that points at a secret store or is KMS ciphertext: never a secret itself. */
bool posture_secret_value_is_reference(const char *value);

/* Unversioned form of a layer version ARN ("arn:aws:lambda:r:a:layer:name") into out. */
void posture_layer_unversioned(const char *arn, char *out, size_t size);

/* CORS wildcard test shared by function URLs (AllowOrigins) and HTTP APIs (allowOrigins):
 * without with_credentials, "*" without credentials; with it, credentials and "*" or "null". */
bool posture_cors_matches(const json_t *cors, const char *origins_key, const char *creds_key,
                          bool with_credentials);

/* Privilege-escalation families (the arg of the PAR-ESC rules). */
enum posture_esc_group {
    POSTURE_ESC_PASSROLE_LAMBDA = 0,
    POSTURE_ESC_POLICY,
    POSTURE_ESC_CREDENTIALS,
    POSTURE_ESC_FUNCTIONS,
    POSTURE_ESC_ASSUME,
    POSTURE_ESC_PASSROLE_COMPUTE
};

/* Checks, one per family (posture/check_*.c); rules.c names them in the table. */
void posture_check_runtime(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_secret(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_env_cmk(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_env_foreign_key(struct posture_eval *, const struct posture_rule *,
                                   const json_t *);
void posture_check_policy_public(struct posture_eval *, const struct posture_rule *,
                                 const json_t *);
void posture_check_url_public(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_policy_service(struct posture_eval *, const struct posture_rule *,
                                  const json_t *);
void posture_check_policy_foreign(struct posture_eval *, const struct posture_rule *,
                                  const json_t *);
void posture_check_policy_manage(struct posture_eval *, const struct posture_rule *,
                                 const json_t *);
void posture_check_foreign_destination(struct posture_eval *, const struct posture_rule *,
                                       const json_t *);
void posture_check_url_cors(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_vuln(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_dangerous_dep(struct posture_eval *, const struct posture_rule *,
                                 const json_t *);
void posture_check_layer(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_startup_hook(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_dow_concurrency(struct posture_eval *, const struct posture_rule *,
                                   const json_t *);
void posture_check_dow_timeout(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_dow_memory(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_dow_retries(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_async_dlq(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_stream_dlq(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_tracing(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_fn_role_risky(struct posture_eval *, const struct posture_rule *,
                                 const json_t *);

void posture_check_role_admin(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_role_managed(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_role_service_wildcard(struct posture_eval *, const struct posture_rule *,
                                         const json_t *);
void posture_check_role_actions(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_role_trust(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_role_shared(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_role_escalation(struct posture_eval *, const struct posture_rule *,
                                   const json_t *);

void posture_check_http_route_auth(struct posture_eval *, const struct posture_rule *,
                                   const json_t *);
void posture_check_http_cors(struct posture_eval *, const struct posture_rule *, const json_t *);
void posture_check_rest_method_auth(struct posture_eval *, const struct posture_rule *,
                                    const json_t *);
void posture_check_rest_private_policy(struct posture_eval *, const struct posture_rule *,
                                       const json_t *);

#endif
