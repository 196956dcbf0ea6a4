/* posture/rules.c: the rule table. Ids are stable (findings are keyed on them): never renumber;
 * retire a rule by removing it. Texts are what GET /v1/rules and findings show: the risk says why
 * it matters, the short remediation fixes this resource now, the long one stops recurrence.
 * Several rules share one check with a different arg (severity band, variant). */
#include "posture/posture.h"
#include "posture/posture_int.h"

#include <string.h>

static const enum posture_runtime_status rt_deprecated = POSTURE_RUNTIME_DEPRECATED;
static const enum posture_runtime_status rt_deprecating = POSTURE_RUNTIME_DEPRECATING;
static const enum posture_secret_class sec_cloud = POSTURE_SECRET_CLOUD;
static const enum posture_secret_class sec_token = POSTURE_SECRET_TOKEN;
static const enum posture_secret_class sec_url = POSTURE_SECRET_URL;
static const enum posture_secret_class sec_generic = POSTURE_SECRET_GENERIC;
static const bool cors_plain = false, cors_creds = true;
static const bool trc_private = false, trc_public = true;
static const bool shared_private = false, shared_public = true;
static const bool rest_open = false, rest_apikey = true;
static const enum posture_esc_group esc_lambda = POSTURE_ESC_PASSROLE_LAMBDA;
static const enum posture_esc_group esc_policy = POSTURE_ESC_POLICY;
static const enum posture_esc_group esc_creds = POSTURE_ESC_CREDENTIALS;
static const enum posture_esc_group esc_functions = POSTURE_ESC_FUNCTIONS;
static const enum posture_esc_group esc_assume = POSTURE_ESC_ASSUME;
static const enum posture_esc_group esc_compute = POSTURE_ESC_PASSROLE_COMPUTE;

/* Data-reading actions whose Resource should never be "*" on a function role. */
static const char *const sensitive_actions[] = {"s3:GetObject",
                                                "dynamodb:Scan",
                                                "dynamodb:Query",
                                                "dynamodb:GetItem",
                                                "secretsmanager:GetSecretValue",
                                                "ssm:GetParameter",
                                                "ssm:GetParameters",
                                                "ssm:GetParametersByPath",
                                                "kms:Decrypt",
                                                NULL};
static const char *const invoke_actions[] = {"lambda:InvokeFunction", NULL};
static const char *const logging_actions[] = {
    "cloudtrail:StopLogging",   "cloudtrail:DeleteTrail",
    "cloudtrail:UpdateTrail",   "cloudtrail:PutEventSelectors",
    "logs:DeleteLogGroup",      "logs:DeleteLogStream",
    "logs:PutRetentionPolicy",  "guardduty:DeleteDetector",
    "guardduty:UpdateDetector", NULL};

const struct posture_rule posture_rules[] = {
    {.id = "PAR-RT-001",
     .title = "Function runs on a deprecated runtime",
     .category = "runtime-deprecated",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_runtime,
     .arg = &rt_deprecated,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",
                               "AWS Security Hub Lambda.2", "OWASP Serverless Top 10 S9", NULL},
     .remediation_short = "Upgrade the function to a supported runtime version and redeploy.",
     .remediation_long = "Track runtime deprecation dates in CI and fail builds that target a "
                         "runtime within 90 days of deprecation.",
     .risk =
         "AWS no longer applies security patches to a deprecated runtime, and will block updates "
         "to the function: known vulnerabilities in the language runtime stay exploitable."},
    {.id = "PAR-RT-002",
     .title = "Function runtime is deprecated within 90 days",
     .category = "runtime-deprecated",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_runtime,
     .arg = &rt_deprecating,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",
                               "AWS Security Hub Lambda.2", NULL},
     .remediation_short =
         "Plan and test the upgrade to a supported runtime before the deprecation date.",
     .remediation_long = "Keep runtimes current as part of regular dependency maintenance; gate "
                         "deployments on a date-driven runtime list.",
     .risk = "After the deprecation date the runtime receives no security patches and, shortly "
             "after, the function can no longer be updated."},
    {.id = "PAR-SEC-001",
     .title = "Cloud credential stored in an environment variable",
     .category = "secrets-in-env",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.lambda.function",
     .check = posture_check_secret,
     .arg = &sec_cloud,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/secretsmanager/latest/userguide/"
             "retrieving-secrets_lambda.html",
             "https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml",
             "OWASP Serverless Top 10 S3 (Sensitive Data Exposure)", NULL},
     .remediation_short = "Deactivate and rotate the key now, then remove the variable; give the "
                          "function the access it needs through its execution role.",
     .remediation_long = "Never hand long-lived cloud credentials to functions: use the execution "
                         "role, and scan deployments for secrets in CI.",
     .risk = "Anyone who can read the function configuration (lambda:GetFunctionConfiguration, "
             "consoles, CI logs) or exploit the code gets a credential that works from anywhere "
             "until rotated."},
    {.id = "PAR-SEC-002",
     .title = "Third-party API token stored in an environment variable",
     .category = "secrets-in-env",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_secret,
     .arg = &sec_token,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/secretsmanager/latest/userguide/"
             "retrieving-secrets_lambda.html",
             "https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml", NULL},
     .remediation_short = "Rotate the token at its provider and move it to AWS Secrets Manager or "
                          "SSM Parameter Store (SecureString), read at runtime.",
     .remediation_long = "Fetch secrets at runtime with a least-privilege role and cache them; add "
                         "secret scanning to CI and pre-commit hooks.",
     .risk = "Environment variables are visible in plain text to anyone with read access to the "
             "function configuration and to any code running in the function."},
    {.id = "PAR-SEC-003",
     .title = "Connection string with a password stored in an environment variable",
     .category = "secrets-in-env",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_secret,
     .arg = &sec_url,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/secretsmanager/latest/userguide/"
             "retrieving-secrets_lambda.html",
             "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html",
             NULL},
     .remediation_short = "Change the database password and move it to Secrets Manager; keep only "
                          "host and database name in the variable.",
     .remediation_long = "Use IAM database authentication or Secrets Manager rotation so no static "
                         "password exists.",
     .risk = "The password gives direct access to the data store, bypassing the function and its "
             "authorisation."},
    {.id = "PAR-SEC-004",
     .title = "Secret-like literal stored in an environment variable",
     .category = "secrets-in-env",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_secret,
     .arg = &sec_generic,
     .references = (const char *const[]){"https://docs.aws.amazon.com/secretsmanager/latest/"
                                         "userguide/retrieving-secrets_lambda.html",
                                         "https://cwe.mitre.org/data/definitions/798.html", NULL},
     .remediation_short = "Confirm whether the value is a live secret; if so rotate it and move it "
                          "to Secrets Manager or SSM Parameter Store.",
     .remediation_long = "Keep configuration and secrets apart: variables may name a secret (its "
                         "ARN), never hold it. Mark verified false positives as suppressed.",
     .risk = "A variable named like a password or key holds a high-entropy literal: most likely a "
             "credential readable by anyone who can read the configuration."},
    {.id = "PAR-ENC-001",
     .title = "Sensitive environment variables without a customer-managed key",
     .category = "env-encryption",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_env_cmk,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
             "Prowler awslambda_function_env_vars_not_encrypted_with_cmk", NULL},
     .remediation_short = "Set KMSKeyArn to a customer-managed KMS key whose key policy limits "
                          "decryption to the function role and administrators.",
     .remediation_long = "Move secrets out of environment variables; where variables stay, encrypt "
                         "them with a per-application customer-managed key.",
     .risk = "With the AWS managed key, anyone allowed lambda:GetFunctionConfiguration reads the "
             "values in plain text; a customer-managed key adds a separate, auditable kms:Decrypt "
             "permission."},
    {.id = "PAR-ENC-002",
     .title = "Environment encrypted with a key from another account",
     .category = "env-encryption",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_env_foreign_key,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html",
             "https://docs.aws.amazon.com/kms/latest/developerguide/"
             "key-policy-modifying-external-accounts.html",
             NULL},
     .remediation_short = "Re-encrypt the variables with a key owned by this account.",
     .remediation_long = "Keep keys in the account (or a trusted key account listed in "
                         "trusted_accounts) and review cross-account key grants.",
     .risk = "Another account controls the key: it can read the configuration it encrypts, or "
             "disable the key and break the function."},
    {.id = "PAR-PUB-001",
     .title = "Resource policy lets anyone invoke the function",
     .category = "public-invoke",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.lambda.function",
     .check = posture_check_policy_public,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
             "AWS Security Hub Lambda.1", "Prowler awslambda_function_not_publicly_accessible",
             NULL},
     .remediation_short = "Remove the statement (lambda remove-permission) or add "
                          "aws:SourceArn/aws:SourceAccount conditions.",
     .remediation_long =
         "Grant invoke permissions only through infrastructure as code, always with a source "
         "condition, and alert on AddPermission with a public principal.",
     .risk = "Any AWS account, and anyone with AWS credentials, can invoke the function directly, "
             "bypassing the API layer, its authorisation and throttling."},
    {.id = "PAR-PUB-002",
     .title = "Function URL without authentication",
     .category = "public-invoke",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_url_public,
     .arg = NULL,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
                               "Prowler awslambda_function_url_public", NULL},
     .remediation_short = "Set the URL AuthType to AWS_IAM, or delete the URL and front the "
                          "function with API Gateway and an authoriser.",
     .remediation_long =
         "Block unauthenticated function URLs with an SCP on lambda:FunctionUrlAuthType and "
         "authenticate in the function when a public webhook is required.",
     .risk = "The function is an internet endpoint anyone can call: every input is "
             "attacker-controlled and every call is billed to the account."},
    {.id = "PAR-XAC-001",
     .title = "Service may invoke the function without a source condition",
     .category = "cross-account-invoke",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_policy_service,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
             "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
             "AWS Security Hub Lambda.1", NULL},
     .remediation_short = "Add aws:SourceArn (and aws:SourceAccount for S3) to the permission.",
     .remediation_long = "Template every add-permission with source conditions.",
     .risk =
         "Without a source condition the service invokes the function on behalf of any account's "
         "resource (confused deputy): someone else's bucket or topic can trigger it."},
    {.id = "PAR-XAC-002",
     .title = "Function may be invoked from another account",
     .category = "cross-account-invoke",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_policy_foreign,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
             "Stratus Red Team aws.persistence.lambda-backdoor-function", NULL},
     .remediation_short = "Remove the permission unless the account is a known partner; add it to "
                          "trusted_accounts if so.",
     .remediation_long = "Keep a list of trusted accounts (or use aws:PrincipalOrgID) and review "
                         "cross-account grants.",
     .risk = "A principal outside the account can run the function with its role's permissions; an "
             "unknown grant is a common persistence backdoor."},
    {.id = "PAR-XAC-003",
     .title = "Resource policy lets another principal modify the function",
     .category = "cross-account-invoke",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.lambda.function",
     .check = posture_check_policy_manage,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
             "https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-cross-account.html",
             NULL},
     .remediation_short = "Remove the statement granting management actions.",
     .remediation_long = "Grant only lambda:InvokeFunction in resource policies; manage functions "
                         "from the owning account only.",
     .risk = "Another account or anyone can replace the code or configuration and act with the "
             "function's role."},
    {.id = "PAR-XAC-004",
     .title = "Invocation results sent to another account",
     .category = "cross-account-invoke",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_foreign_destination,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
             NULL},
     .remediation_short =
         "Point the dead-letter queue and destinations to resources in this account.",
     .remediation_long = "Allow-list destination accounts and review cross-account data flows.",
     .risk = "Events (and failed events with their payloads) leave the account: a "
             "data-exfiltration path that survives code review."},
    {.id = "PAR-CORS-001",
     .title = "Function URL CORS allows any origin",
     .category = "cors-permissive",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_url_cors,
     .arg = &cors_plain,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html#urls-cors",
             "Prowler awslambda_function_url_cors_policy", NULL},
     .remediation_short = "List the exact origins that need browser access in Cors.AllowOrigins.",
     .remediation_long = "Manage CORS origins per environment in infrastructure as code.",
     .risk = "Any web page can call the function from a visitor's browser and read the responses."},
    {.id = "PAR-CORS-002",
     .title = "Function URL CORS allows any origin with credentials",
     .category = "cors-permissive",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_url_cors,
     .arg = &cors_creds,
     .references = (const char *const[]){"https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS",
                                         "https://portswigger.net/web-security/cors", NULL},
     .remediation_short =
         "Remove \"*\" and \"null\" from AllowOrigins or set AllowCredentials to false.",
     .remediation_long = "Allow credentials only for an explicit list of first-party origins.",
     .risk = "Any site (or a sandboxed page with origin \"null\") can make credentialed requests "
             "as the visitor and read the answers."},
    {.id = "PAR-DEP-001",
     .title = "Dependency with a critical-severity vulnerability",
     .category = "vulnerable-dependency",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.lambda.function",
     .check = posture_check_vuln,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://osv.dev",
             "OWASP Serverless Top 10 S9 (Using Components with Known Vulnerabilities)", NULL},
     .remediation_short =
         "Upgrade the package to the fixed version given in the evidence and redeploy.",
     .remediation_long = "Run dependency scanning (SCA) in CI, keep lock files, and rebuild "
                         "functions when advisories are published.",
     .risk = "The deployed package contains a dependency with a published critical-severity "
             "advisory that attackers can look up and exploit."},
    {.id = "PAR-DEP-002",
     .title = "Dependency with a high-severity vulnerability",
     .category = "vulnerable-dependency",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_vuln,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://osv.dev",
             "OWASP Serverless Top 10 S9 (Using Components with Known Vulnerabilities)", NULL},
     .remediation_short =
         "Upgrade the package to the fixed version given in the evidence and redeploy.",
     .remediation_long = "Run dependency scanning (SCA) in CI, keep lock files, and rebuild "
                         "functions when advisories are published.",
     .risk = "The deployed package contains a dependency with a published high-severity advisory "
             "that attackers can look up and exploit."},
    {.id = "PAR-DEP-003",
     .title = "Dependency with a medium-severity vulnerability",
     .category = "vulnerable-dependency",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_vuln,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://osv.dev",
             "OWASP Serverless Top 10 S9 (Using Components with Known Vulnerabilities)", NULL},
     .remediation_short =
         "Upgrade the package to the fixed version given in the evidence and redeploy.",
     .remediation_long = "Run dependency scanning (SCA) in CI, keep lock files, and rebuild "
                         "functions when advisories are published.",
     .risk = "The deployed package contains a dependency with a published medium-severity advisory "
             "that attackers can look up and exploit."},
    {.id = "PAR-DEP-004",
     .title = "Dependency with a low-severity vulnerability",
     .category = "vulnerable-dependency",
     .severity = POSTURE_SEV_LOW,
     .resource_type = "aws.lambda.function",
     .check = posture_check_vuln,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://osv.dev",
             "OWASP Serverless Top 10 S9 (Using Components with Known Vulnerabilities)", NULL},
     .remediation_short =
         "Upgrade the package to the fixed version given in the evidence and redeploy.",
     .remediation_long = "Run dependency scanning (SCA) in CI, keep lock files, and rebuild "
                         "functions when advisories are published.",
     .risk = "The deployed package contains a dependency with a published low-severity advisory "
             "that attackers can look up and exploit."},
    {.id = "PAR-DEP-005",
     .title = "Known-malicious or unsafe-by-design package",
     .category = "vulnerable-dependency",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.lambda.function",
     .check = posture_check_dangerous_dep,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://github.com/advisories",
             "https://blog.npmjs.org/post/180565383195/details-about-the-event-stream-incident",
             NULL},
     .remediation_short = "Remove the package (or the compromised version) and rotate every "
                          "credential the function could read.",
     .remediation_long = "Pin dependencies with lock files, review new dependencies, and block "
                         "known-malicious packages in CI.",
     .risk = "The package runs attacker code on install or import, or turns input into code "
             "execution."},
    {.id = "PAR-LYR-001",
     .title = "Layer from an untrusted account",
     .category = "untrusted-layer",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_layer,
     .arg = NULL,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html",
                               "Prowler awslambda_function_using_cross_account_layers", NULL},
     .remediation_short = "Copy the layer into this account after review, or replace it with the "
                          "publisher's documented layer.",
     .remediation_long = "Keep an allow-list of layer publishers (trusted_accounts) and alert on "
                         "layers from other accounts.",
     .risk = "A layer is code that runs inside the function with its role and secrets; its "
             "publisher can change what new versions contain."},
    {.id = "PAR-LYR-002",
     .title = "Start-up hook loads code while an untrusted layer is attached",
     .category = "untrusted-layer",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.lambda.function",
     .check = posture_check_startup_hook,
     .arg = NULL,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html",
                               "Stratus Red Team aws.persistence.lambda-layer-extension", NULL},
     .remediation_short = "Remove the start-up variable unless the layer is verified; replace the "
                          "layer with a trusted copy.",
     .remediation_long = "Alert on changes to AWS_LAMBDA_EXEC_WRAPPER, NODE_OPTIONS, "
                         "JAVA_TOOL_OPTIONS and LD_PRELOAD.",
     .risk = "The variable makes the runtime run layer code before the handler: a known "
             "persistence and interception technique."},
    {.id = "PAR-DOW-001",
     .title = "Internet-reachable function without reserved concurrency",
     .category = "denial-of-wallet",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_dow_concurrency,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html",
             "OWASP Serverless Top 10 S8 (Denial of Service)", NULL},
     .remediation_short = "Set reserved concurrency to the peak the function needs.",
     .remediation_long =
         "Budget concurrency per function, add throttling at the API and billing alarms.",
     .risk = "Unauthenticated callers can scale the function to the account limit: a large bill "
             "and throttling of every other function."},
    {.id = "PAR-DOW-002",
     .title = "Internet-reachable function with a long timeout",
     .category = "denial-of-wallet",
     .severity = POSTURE_SEV_LOW,
     .resource_type = "aws.lambda.function",
     .check = posture_check_dow_timeout,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html", NULL},
     .remediation_short = "Lower the timeout to what the function needs (API Gateway stops waiting "
                          "after 29 s anyway).",
     .remediation_long = "Set timeouts from observed durations.",
     .risk = "Slow or hanging requests from anyone are billed for up to the full timeout."},
    {.id = "PAR-DOW-003",
     .title = "Internet-reachable function with maximum memory",
     .category = "denial-of-wallet",
     .severity = POSTURE_SEV_LOW,
     .resource_type = "aws.lambda.function",
     .check = posture_check_dow_memory,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html", NULL},
     .remediation_short =
         "Right-size the memory with measured usage (e.g. AWS Lambda Power Tuning).",
     .remediation_long = "Add cost anomaly alarms on public functions.",
     .risk = "Every unauthenticated call is billed at the highest memory price."},
    {.id = "PAR-DOW-004",
     .title = "Stream mapping retries failed batches forever",
     .category = "denial-of-wallet",
     .severity = POSTURE_SEV_LOW,
     .resource_type = "aws.lambda.function",
     .check = posture_check_dow_retries,
     .arg = NULL,
     .references = (const char *const[]){"https://docs.aws.amazon.com/lambda/latest/dg/"
                                         "with-kinesis.html#services-kinesis-errors",
                                         NULL},
     .remediation_short =
         "Set MaximumRetryAttempts and MaximumRecordAgeInSeconds, and an on-failure destination.",
     .remediation_long =
         "Use bisect-on-error and poison-record handling for every stream consumer.",
     .risk = "One bad record is retried until it expires, blocking the shard and billing every "
             "attempt."},
    {.id = "PAR-DLQ-001",
     .title = "Asynchronously invoked function drops failed events",
     .category = "no-failure-destination",
     .severity = POSTURE_SEV_LOW,
     .resource_type = "aws.lambda.function",
     .check = posture_check_async_dlq,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
             "Prowler awslambda_function_no_dead_letter_queue", NULL},
     .remediation_short = "Configure an on-failure destination (or a dead-letter queue).",
     .remediation_long = "Make failure destinations part of every event-driven function template, "
                         "with alarms on them.",
     .risk = "After two retries AWS discards the event: lost orders or uploads go unnoticed, and "
             "attacks that crash the function leave no trace."},
    {.id = "PAR-DLQ-002",
     .title = "Stream event source without an on-failure destination",
     .category = "no-failure-destination",
     .severity = POSTURE_SEV_LOW,
     .resource_type = "aws.lambda.function",
     .check = posture_check_stream_dlq,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html",
             NULL},
     .remediation_short = "Add DestinationConfig.OnFailure to the event source mapping.",
     .remediation_long =
         "Standardise stream consumers with failure destinations and bounded retries.",
     .risk = "Records that keep failing are lost without a copy for replay or investigation."},
    {.id = "PAR-TRC-001",
     .title = "X-Ray active tracing disabled",
     .category = "tracing-disabled",
     .severity = POSTURE_SEV_LOW,
     .resource_type = "aws.lambda.function",
     .check = posture_check_tracing,
     .arg = &trc_private,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
                               "AWS Security Hub Lambda.7", NULL},
     .remediation_short = "Set TracingConfig.Mode to Active.",
     .remediation_long = "Enable tracing by default in function templates.",
     .risk = "Without traces, following a request across services during an investigation is "
             "guesswork."},
    {.id = "PAR-TRC-002",
     .title = "X-Ray tracing disabled on an internet-reachable function",
     .category = "tracing-disabled",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.lambda.function",
     .check = posture_check_tracing,
     .arg = &trc_public,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
                               "AWS Security Hub Lambda.7",
                               "OWASP Serverless Top 10 S10 (Insufficient Logging and Monitoring)",
                               NULL},
     .remediation_short = "Set TracingConfig.Mode to Active.",
     .remediation_long = "Require tracing for every function behind a URL or an API.",
     .risk = "The function faces the internet, where attacks start; without traces, a malicious "
             "request cannot be followed downstream."},
    {.id = "PAR-IAM-010",
     .title = "Internet-reachable function with an administrator or escalating role",
     .category = "iam-overprivileged",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.lambda.function",
     .check = posture_check_fn_role_risky,
     .arg = NULL,
     .references = (const char *const[]){"https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                                         "best-practices.html#grant-least-privilege",
                                         "OWASP Serverless Top 10 S5", NULL},
     .remediation_short = "Give the function its own role with only the actions it uses, or put "
                          "authentication in front of it.",
     .remediation_long = "Generate least-privilege policies from observed calls and review every "
                         "role behind a public endpoint.",
     .risk = "One bug in a function anyone can call gives the attacker control of the whole AWS "
             "account."},
    {.id = "PAR-IAM-001",
     .title = "Execution role has administrator access",
     .category = "iam-overprivileged",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_admin,
     .arg = NULL,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                               "best-practices.html#grant-least-privilege",
                               "AWS Security Hub IAM.1", "CIS AWS Foundations 1.16", NULL},
     .remediation_short = "Detach AdministratorAccess or remove the Action \"*\" statement; grant "
                          "only what the function uses.",
     .remediation_long = "Derive policies from observed API calls (IAM Access Analyzer policy "
                         "generation) and enforce permission boundaries on function roles.",
     .risk = "Code running in the function, or anyone who exploits it, can do anything in the "
             "account."},
    {.id = "PAR-IAM-002",
     .title = "Execution role has a broad AWS managed policy",
     .category = "iam-overprivileged",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_managed,
     .arg = NULL,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
             "best-practices.html#grant-least-privilege",
             "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/policy-list.html",
             NULL},
     .remediation_short = "Replace the managed policy with a customer-managed policy scoped to the "
                          "resources the function uses.",
     .remediation_long =
         "Ban full-access managed policies on function roles with a permission boundary or SCP.",
     .risk = "Full-access managed policies grant every action of a service on every resource, far "
             "beyond what one function needs."},
    {.id = "PAR-IAM-003",
     .title = "Execution role grants every action of a service",
     .category = "iam-overprivileged",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_service_wildcard,
     .arg = NULL,
     .references = (const char *const[]){"https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                                         "best-practices.html#grant-least-privilege",
                                         "Prowler iam_policy_no_full_access_to_kms", NULL},
     .remediation_short = "Replace \"service:*\" with the specific actions the function calls.",
     .remediation_long = "Lint policies in CI for service-wide wildcards.",
     .risk = "A wildcard includes destructive and administrative actions (delete, put policy, "
             "disable) the function never needs."},
    {.id = "PAR-IAM-004",
     .title = "Execution role reads sensitive data on every resource",
     .category = "iam-overprivileged",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_actions,
     .arg = sensitive_actions,
     .references = (const char *const[]){"https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                                         "best-practices.html#grant-least-privilege",
                                         NULL},
     .remediation_short = "Scope the action's Resource to the specific buckets, tables, secrets, "
                          "parameters or keys the function uses.",
     .remediation_long = "Tag-based or path-based resource scoping in policy templates.",
     .risk = "A compromised function can read every object, table, secret or key in the account, "
             "not just its own."},
    {.id = "PAR-IAM-005",
     .title = "Execution role can invoke any function",
     .category = "iam-overprivileged",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_actions,
     .arg = invoke_actions,
     .references = (const char *const[]){"https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                                         "best-practices.html#grant-least-privilege",
                                         "https://github.com/OWASP/DVSA (lesson 5)", NULL},
     .remediation_short = "Scope lambda:InvokeFunction to the ARNs of the functions it calls "
                          "(replace AWSLambdaRole).",
     .remediation_long = "Model function-to-function calls explicitly in infrastructure as code.",
     .risk = "Calling internal or administrative functions directly bypasses their callers' "
             "authorisation and business rules."},
    {.id = "PAR-IAM-006",
     .title = "Execution role can disable logging or detection",
     .category = "iam-overprivileged",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_actions,
     .arg = logging_actions,
     .references = (const char *const[]){"https://docs.aws.amazon.com/awscloudtrail/latest/"
                                         "userguide/best-practices-security.html",
                                         "Prowler iam_policy_no_full_access_to_cloudtrail", NULL},
     .remediation_short = "Remove CloudTrail, CloudWatch Logs deletion and GuardDuty management "
                          "actions from the role.",
     .remediation_long = "Deny these actions to all workload roles with an SCP.",
     .risk = "An attacker in the function can erase the evidence of what they did."},
    {.id = "PAR-IAM-007",
     .title = "Execution role can be assumed from other accounts",
     .category = "iam-overprivileged",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_trust,
     .arg = NULL,
     .references = (const char *const[]){"https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                                         "id_roles_create_for-user_externalid.html",
                                         "ScoutSuite iam-assume-role-policy-allows-all", NULL},
     .remediation_short = "Limit the trust policy to lambda.amazonaws.com, or require "
                          "sts:ExternalId / aws:PrincipalOrgID for a known partner.",
     .remediation_long = "Keep execution roles trusted by the Lambda service only.",
     .risk = "Principals outside the account can take the function's permissions without going "
             "through the function."},
    {.id = "PAR-IAM-008",
     .title = "Execution role shared by several functions",
     .category = "iam-shared-role",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_shared,
     .arg = &shared_private,
     .references = (const char *const[]){"CloudSploit lambdaUniqueExecutionRole",
                                         "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                                         "best-practices.html#grant-least-privilege",
                                         NULL},
     .remediation_short = "Give each function its own role with only the permissions it needs.",
     .remediation_long = "Generate one role per function in the deployment framework.",
     .risk = "Every function holds the union of the permissions all of them need: compromising the "
             "least important one gives access to everything."},
    {.id = "PAR-IAM-009",
     .title = "Execution role shared with an internet-reachable function",
     .category = "iam-shared-role",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_shared,
     .arg = &shared_public,
     .references = (const char *const[]){"CloudSploit lambdaUniqueExecutionRole",
                                         "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                                         "best-practices.html#grant-least-privilege",
                                         NULL},
     .remediation_short = "Give the internet-reachable function a dedicated role first.",
     .remediation_long = "One role per function, with the public ones reviewed first.",
     .risk = "A function anyone can call holds the permissions of the internal functions sharing "
             "its role."},
    {.id = "PAR-ESC-001",
     .title = "Role can create a function with any role and run it",
     .category = "iam-privilege-escalation",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_escalation,
     .arg = &esc_lambda,
     .references =
         (const char *const[]){
             "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
             "Prowler iam_policy_allows_privilege_escalation", NULL},
     .remediation_short = "Remove iam:PassRole on \"*\" or scope it to specific role ARNs; remove "
                          "lambda:CreateFunction.",
     .remediation_long = "Apply permission boundaries to function roles and forbid PassRole "
                         "without a resource list.",
     .risk = "The role can pass a more powerful role to a new function and run code with it: an "
             "escalation to that role's permissions."},
    {.id = "PAR-ESC-002",
     .title = "Role can change IAM policies",
     .category = "iam-privilege-escalation",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_escalation,
     .arg = &esc_policy,
     .references =
         (const char *const[]){
             "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
             "Prowler iam_policy_allows_privilege_escalation", NULL},
     .remediation_short = "Remove the IAM policy-management actions from the role.",
     .remediation_long =
         "Deny IAM write actions to workload roles with an SCP or permission boundary.",
     .risk = "The role can grant itself (or another principal) any permission, including "
             "administrator."},
    {.id = "PAR-ESC-003",
     .title = "Role can create credentials or rewrite trust",
     .category = "iam-privilege-escalation",
     .severity = POSTURE_SEV_CRITICAL,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_escalation,
     .arg = &esc_creds,
     .references =
         (const char *const[]){
             "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
             "Prowler iam_policy_allows_privilege_escalation", NULL},
     .remediation_short = "Remove iam:CreateAccessKey, iam:CreateLoginProfile, "
                          "iam:UpdateLoginProfile and iam:UpdateAssumeRolePolicy.",
     .remediation_long = "Deny credential-management actions to workload roles.",
     .risk = "The role can mint long-lived credentials for other users or make any role assumable: "
             "durable access beyond the function."},
    {.id = "PAR-ESC-004",
     .title = "Role can replace other functions' code or configuration",
     .category = "iam-privilege-escalation",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_escalation,
     .arg = &esc_functions,
     .references =
         (const char *const[]){
             "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
             "Prowler iam_policy_allows_privilege_escalation", NULL},
     .remediation_short = "Scope lambda:UpdateFunctionCode and lambda:UpdateFunctionConfiguration "
                          "to the functions it manages, or remove them.",
     .remediation_long = "Deploy functions only from CI roles, never from function roles.",
     .risk = "The role can inject code into functions that run with more privileged roles."},
    {.id = "PAR-ESC-005",
     .title = "Role can assume any role",
     .category = "iam-privilege-escalation",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_escalation,
     .arg = &esc_assume,
     .references =
         (const char *const[]){
             "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
             "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
             "id_roles_use_permissions-to-switch.html",
             NULL},
     .remediation_short = "Scope sts:AssumeRole to the specific role ARNs needed.",
     .remediation_long = "List assumable roles explicitly in infrastructure as code.",
     .risk =
         "Every role whose trust policy trusts the account becomes reachable from the function."},
    {.id = "PAR-ESC-006",
     .title = "Role can pass any role to other compute services",
     .category = "iam-privilege-escalation",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.iam.role",
     .check = posture_check_role_escalation,
     .arg = &esc_compute,
     .references =
         (const char *const[]){
             "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
             "Prowler iam_policy_allows_privilege_escalation", NULL},
     .remediation_short = "Scope iam:PassRole to specific roles and iam:PassedToService.",
     .remediation_long = "Forbid PassRole on \"*\" in all workload policies.",
     .risk = "The role can start instances, stacks or jobs that run with a more privileged role."},
    {.id = "PAR-API-001",
     .title = "HTTP API route without authorization",
     .category = "unauthenticated-route",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.apigateway.http_api",
     .check = posture_check_http_route_auth,
     .arg = NULL,
     .references =
         (const char *const[]){"https://docs.aws.amazon.com/apigateway/latest/developerguide/"
                               "http-api-access-control.html",
                               "AWS Security Hub APIGateway.8",
                               "OWASP Serverless Top 10 S2 (Broken Authentication)", NULL},
     .remediation_short = "Attach a JWT, IAM or Lambda authoriser to the route.",
     .remediation_long = "Make an authoriser the default for every route in the API definition; "
                         "list deliberate public routes explicitly.",
     .risk = "Anyone on the internet can call the function behind the route."},
    {.id = "PAR-API-002",
     .title = "REST API method without authorization",
     .category = "unauthenticated-route",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.apigateway.rest_api",
     .check = posture_check_rest_method_auth,
     .arg = &rest_open,
     .references = (const char *const[]){"https://docs.aws.amazon.com/apigateway/latest/"
                                         "developerguide/apigateway-control-access-to-api.html",
                                         "Prowler apigateway_restapi_authorizers_enabled", NULL},
     .remediation_short = "Set an authoriser (Cognito, Lambda or IAM) on the method.",
     .remediation_long =
         "Require authorisation per method in the API definition; review public methods.",
     .risk = "Anyone on the internet can call the function behind the method."},
    {.id = "PAR-API-003",
     .title = "REST API method protected only by an API key",
     .category = "unauthenticated-route",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.apigateway.rest_api",
     .check = posture_check_rest_method_auth,
     .arg = &rest_apikey,
     .references = (const char *const[]){"https://docs.aws.amazon.com/apigateway/latest/"
                                         "developerguide/api-gateway-api-usage-plans.html",
                                         NULL},
     .remediation_short = "Add an authoriser; keep the API key for usage plans only.",
     .remediation_long = "Authenticate callers with identities, not shared keys.",
     .risk = "AWS warns that API keys are for metering, not authorisation: they are shared, "
             "long-lived and often embedded in clients."},
    {.id = "PAR-CORS-003",
     .title = "HTTP API CORS allows any origin",
     .category = "cors-permissive",
     .severity = POSTURE_SEV_MEDIUM,
     .resource_type = "aws.apigateway.http_api",
     .check = posture_check_http_cors,
     .arg = &cors_plain,
     .references =
         (const char *const[]){
             "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html",
             NULL},
     .remediation_short = "List the exact origins in corsConfiguration.allowOrigins.",
     .remediation_long = "Manage CORS origins per environment in infrastructure as code.",
     .risk = "Any web page can call the API from a visitor's browser and read the responses."},
    {.id = "PAR-CORS-004",
     .title = "HTTP API CORS allows any origin with credentials",
     .category = "cors-permissive",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.apigateway.http_api",
     .check = posture_check_http_cors,
     .arg = &cors_creds,
     .references = (const char *const[]){"https://portswigger.net/web-security/cors", NULL},
     .remediation_short =
         "Remove \"*\" and \"null\" from allowOrigins or set allowCredentials to false.",
     .remediation_long = "Allow credentials only for an explicit list of first-party origins.",
     .risk = "Any site can make credentialed requests as the visitor and read the answers."},
    {.id = "PAR-PUB-003",
     .title = "Private REST API open to every VPC endpoint",
     .category = "public-invoke",
     .severity = POSTURE_SEV_HIGH,
     .resource_type = "aws.apigateway.rest_api",
     .check = posture_check_rest_private_policy,
     .arg = NULL,
     .references = (const char *const[]){"https://docs.aws.amazon.com/apigateway/latest/"
                                         "developerguide/apigateway-private-api-create.html",
                                         NULL},
     .remediation_short =
         "Add an aws:SourceVpce (or aws:SourceVpc) condition to the resource policy.",
     .remediation_long = "Template private APIs with a VPC endpoint condition.",
     .risk = "A private API whose policy allows \"*\" can be called through any VPC endpoint, "
             "including endpoints in other accounts."},
};

const size_t posture_rules_count = sizeof posture_rules / sizeof posture_rules[0];

const struct posture_rule *posture_rule_get(const char *id)
{
    if (id == NULL)
        return NULL;
    for (size_t i = 0; i < posture_rules_count; i++) {
        if (strcmp(posture_rules[i].id, id) == 0)
            return &posture_rules[i];
    }
    return NULL;
}

json_t *posture_rules_json(void)
{
    json_t *out = json_array();

    for (size_t i = 0; out != NULL && i < posture_rules_count; i++) {
        const struct posture_rule *r = &posture_rules[i];
        json_t *refs = json_array();
        for (size_t k = 0; r->references != NULL && r->references[k] != NULL; k++)
            json_array_append_new(refs, json_string(r->references[k]));
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "id", r->id, "title",
                           r->title, "category", r->category, "severity",
                           posture_severity_name(r->severity), "resource_type", r->resource_type,
                           "references", refs, "remediation_short", r->remediation_short,
                           "remediation_long", r->remediation_long, "risk", r->risk));
    }
    return out;
}
