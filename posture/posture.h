/* posture - the pure rule engine: a static table of posture rules and their checks, IAM policy
 * evaluation, secret detection and runtime deprecation, all reading one scan snapshot (the JSON
 * document described in posture/inventory.md). No I/O, no clock (the caller passes `now`), no
 * database: the same snapshot and `now` always give the same findings.
 *
 * Ownership: every function borrows its json_t arguments; functions named *_json or *_new return
 * a new reference the caller json_decref()s. Threading: no shared mutable state, so any number of
 * threads may evaluate snapshots at once. Bad input (wrong types, missing members, policies that
 * are not objects) is skipped, never a crash: a rule that cannot read a field stays quiet. */
#ifndef PARAPET_POSTURE_H
#define PARAPET_POSTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum posture_severity {
    POSTURE_SEV_INFO = 0,
    POSTURE_SEV_LOW,
    POSTURE_SEV_MEDIUM,
    POSTURE_SEV_HIGH,
    POSTURE_SEV_CRITICAL
};

/* "info", "low", "medium", "high", "critical" (static). */
const char *posture_severity_name(enum posture_severity s);

struct posture_eval; /* one evaluation in progress (opaque; lives inside posture_evaluate) */
struct posture_rule;

/* A check looks at one resource (a function, role or API of the snapshot) and reports each
 * finding with posture_report() (posture/posture_int.h). */
typedef void (*posture_check_fn)(struct posture_eval *ev, const struct posture_rule *rule,
                                 const json_t *resource);

struct posture_rule {
    const char *id; /* "PAR-IAM-001": stable, findings are keyed on it */
    const char *title;
    const char *category; /* "iam-overprivileged", "secrets-in-env", ... */
    enum posture_severity severity;
    const char *resource_type; /* "aws.lambda.function", "aws.iam.role",
                                * "aws.apigateway.http_api", "aws.apigateway.rest_api" */
    posture_check_fn check;
    const void *arg;               /* rule-specific parameter of a check shared by several rules */
    const char *const *references; /* NULL-terminated: URLs and document names */
    const char *remediation_short;
    const char *remediation_long;
    const char *risk; /* why it matters */
};

extern const struct posture_rule posture_rules[];
extern const size_t posture_rules_count;

/* Looks a rule up by id; NULL when unknown. */
const struct posture_rule *posture_rule_get(const char *id);

/* Receives one finding. resource_arn and subject are borrowed for the call (subject is "" when a
 * rule finds at most one thing per resource; at most 511 bytes of valid UTF-8); (rule->id,
 * resource_arn, subject) is the stable fingerprint, reported once per evaluation. evidence is a new
 * reference the callee owns (json_decref it): an object whose keys are the snapshot paths that
 * triggered the finding ("Environment.Variables.DB_PASSWORD", "Policy.Statement[1]") with their
 * values, secrets masked. */
typedef void (*posture_emit_fn)(void *ctx, const struct posture_rule *rule,
                                const char *resource_arn, const char *subject, json_t *evidence);

/* Runs every rule over the snapshot. `now` drives date-based rules (runtime deprecation). The
 * snapshot may carry an optional "trusted_accounts": ["111122223333", ...] (the tenant's other
 * accounts and partners): principals, layers and destinations in those accounts are not foreign.
 * A snapshot that is not an object emits nothing. */
void posture_evaluate(const json_t *snapshot, time_t now, posture_emit_fn emit, void *ctx);

/* The rule table for GET /v1/rules: [{id, title, category, severity, resource_type, references,
 * remediation_short, remediation_long, risk}], in table order. New reference. */
json_t *posture_rules_json(void);

/* ---- IAM policy evaluation (posture/iam.c) ----
 * Documents are parsed policies ({"Version", "Statement": object or array}). Actions match
 * case-insensitively with * and ? wildcards; resources case-sensitively with * and ?. NotAction
 * and NotResource invert the match. An explicit Deny overrides any Allow, but only a Deny without
 * a Condition counts (a conditional Deny does not remove the permission in general).
 *
 * Conditions: `context` (may be NULL) holds the request context keys whose values are known, for
 * example {"aws:PrincipalAccount": "444455556666", "iam:PassedToService": "lambda.amazonaws.com"}.
 * A key present in the context is evaluated with its operator (String*, Arn*, Bool, Null, with
 * IfExists and ForAnyValue/ForAllValues qualifiers). A key absent from the context is judged:
 * negated operators, IfExists and Null:"true" are met; values that are only wildcards or policy
 * variables do not restrict; attacker-controlled keys (aws:SecureTransport, aws:UserAgent,
 * aws:Referer, aws:RequestedRegion, aws:CurrentTime, aws:EpochTime) are met; any other key
 * (aws:SourceAccount, aws:SourceArn, aws:SourceOwner, aws:PrincipalOrgID, aws:PrincipalAccount,
 * aws:PrincipalArn, aws:SourceVpc(e), lambda:FunctionUrlAuthType, sts:ExternalId, ...) restricts:
 * the statement is not applied. */
enum posture_iam_decision {
    POSTURE_IAM_IMPLICIT_DENY = 0,
    POSTURE_IAM_ALLOW,
    POSTURE_IAM_EXPLICIT_DENY
};

/* Evaluates `action` on `resource` against ndocs documents. When the answer is ALLOW and
 * allow_stmt is not NULL, *allow_stmt borrows the first statement that allowed it (and
 * *allow_doc the index of its document). */
enum posture_iam_decision posture_iam_evaluate(const json_t *const *docs, size_t ndocs,
                                               const char *action, const char *resource,
                                               const json_t *context, const json_t **allow_stmt,
                                               size_t *allow_doc);

/* Glob match with * and ?; case-insensitive when nocase. */
bool posture_iam_glob(const char *pattern, const char *text, bool nocase);

/* True when one statement's Condition block (NULL or absent: true) is met under `context`. */
bool posture_iam_condition_met(const json_t *condition, const json_t *context);

/* True when a Deny statement with this Condition (NULL: none) applies to any outside caller:
 * every entry is a negated operator on a key the caller does not control (the allow-list
 * pattern Deny + NotIpAddress aws:SourceIp, StringNotEquals aws:SourceVpce, ...). */
bool posture_iam_condition_binds_outsider(const json_t *condition);

/* The built-in document of an AWS managed policy that grants broad access, by ARN
 * ("arn:aws:iam::aws:policy/AdministratorAccess", ...), as a new reference; NULL for others.
 * Used when the snapshot lacks a managed policy's Document. */
json_t *posture_iam_managed_doc(const char *policy_arn);

/* True for AWS managed policies that grant full access to a service or more (AdministratorAccess,
 * PowerUserAccess, IAMFullAccess, AmazonS3FullAccess, ...). */
bool posture_iam_managed_is_broad(const char *policy_arn);

/* The role's permission documents (inline, then attached; a managed policy without a Document
 * uses posture_iam_managed_doc) as a new array. When names is not NULL, *names receives a new
 * array of the same length naming each document ("inline:NAME" or the policy ARN). */
json_t *posture_iam_role_docs_new(const json_t *role, json_t **names);

/* Principal classification of one resource-policy statement's Principal member. */
enum posture_principal {
    POSTURE_PRINCIPAL_NONE = 0, /* missing or malformed */
    POSTURE_PRINCIPAL_PUBLIC,   /* "*" or {"AWS": "*"} */
    POSTURE_PRINCIPAL_ACCOUNT,  /* an AWS account or a principal in one ("123456789012",
                                 * "arn:aws:iam::123456789012:root", a role ARN) */
    POSTURE_PRINCIPAL_SERVICE   /* {"Service": "s3.amazonaws.com"} */
};

/* Calls fn once per principal value of statement `stmt` (a string or every element of AWS,
 * Service, Federated and CanonicalUser). account is the 12-digit account for ACCOUNT principals,
 * else "". */
void posture_iam_principals(const json_t *stmt,
                            void (*fn)(void *arg, enum posture_principal kind, const char *value,
                                       const char *account),
                            void *arg);

/* The statements of a policy document as a new array (Statement as object or array; an absent or
 * malformed Statement gives an empty array). Elements are borrowed references kept alive by the
 * array. */
json_t *posture_iam_statements(const json_t *doc);

/* ---- Secrets (posture/secrets.c) ---- */
enum posture_secret_class {
    POSTURE_SECRET_NONE = 0,
    POSTURE_SECRET_CLOUD,  /* AWS access keys and secret keys, private keys: critical */
    POSTURE_SECRET_TOKEN,  /* a well-known vendor token format (GitHub, Slack, Stripe, ...) */
    POSTURE_SECRET_URL,    /* a connection string or URL carrying a password */
    POSTURE_SECRET_GENERIC /* a high-entropy literal under a secret-like name */
};

struct posture_secret {
    enum posture_secret_class cls;
    const char *type; /* static description: "AWS access key ID", "GitHub personal access token" */
};

/* Classifies one environment variable. env (may be NULL) is the whole Variables object, used for
 * context (an AWS secret key is recognised next to an access key id). */
struct posture_secret posture_secret_classify(const char *name, const char *value,
                                              const json_t *env);

/* Shannon entropy of s in bits per character (0 for ""). */
double posture_secret_entropy(const char *s);

/* Writes a masked form of secret into out (size >= 32 recommended): at most the first 4
 * characters (fewer for short values: never more than a quarter), then "*** (N chars)". For a URL
 * with a password only the password is replaced by "****". Always NUL-terminates. */
void posture_secret_mask(const char *secret, char *out, size_t size);

/* ---- Runtimes (posture/runtime.c) ---- */
struct posture_runtime {
    const char *id; /* "nodejs18.x" */
    int y, m, d;    /* deprecation date (UTC) on AWS's schedule */
};

/* The runtime's row, or NULL for an unknown runtime (which is never flagged). */
const struct posture_runtime *posture_runtime_get(const char *id);

/* The deprecation instant (00:00 UTC of the date) of a row. */
time_t posture_runtime_deprecation(const struct posture_runtime *rt);

enum posture_runtime_status {
    POSTURE_RUNTIME_SUPPORTED = 0,
    POSTURE_RUNTIME_DEPRECATING, /* deprecated within the next 90 days */
    POSTURE_RUNTIME_DEPRECATED,  /* deprecation date reached */
    POSTURE_RUNTIME_UNKNOWN
};

enum posture_runtime_status posture_runtime_status(const char *id, time_t now);

/* ---- Links: route -> function -> role (posture/links.c) ---- */

/* Extracts the unqualified function ARN (alias or version stripped) from a Lambda ARN or an API
 * Gateway integration URI (short form or arn:aws:apigateway:<region>:lambda:path/2015-03-31/
 * functions/<arn>/invocations). Returns false (out = "") when uri names no function, or names it
 * through a stage variable. */
bool posture_link_function_arn(const char *uri, char *out, size_t size);

/* The snapshot's role whose Arn is the function's Role; borrowed; NULL when not in the snapshot. */
const json_t *posture_link_role(const json_t *snapshot, const json_t *function);

/* The routes and methods that target the function (unqualified ARN): a new array of
 * {api_type: "http"|"rest", api_id, api_name, route ("POST /webhook"), authorization_type,
 * api_key_required, public: bool}. public is true when anyone on the internet can call it without
 * credentials: authorization NONE (and, on REST, no API key), not on a PRIVATE REST API, not a
 * CORS preflight (OPTIONS) route; on a WebSocket API every route takes the authorization of its
 * $connect route. */
json_t *posture_link_routes_new(const json_t *snapshot, const char *function_arn);

/* The same for every function at once: a new object {function ARN: [routes as above]}. */
json_t *posture_link_routes_index_new(const json_t *snapshot);

/* The FunctionArn of every function whose Role is role_arn: a new array of strings. */
json_t *posture_link_role_functions_new(const json_t *snapshot, const char *role_arn);

#endif
