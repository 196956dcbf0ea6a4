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
static const char *const sensitive_actions[] = {
    "s3:GetObject",          "dynamodb:Scan",   "dynamodb:Query",
    "dynamodb:GetItem",      "secretsmanager:GetSecretValue", "ssm:GetParameter",
    "ssm:GetParameters",     "ssm:GetParametersByPath", "kms:Decrypt", NULL};
static const char *const invoke_actions[] = {"lambda:InvokeFunction", NULL};
static const char *const logging_actions[] = {
    "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors", "logs:DeleteLogGroup", "logs:DeleteLogStream",
    "logs:PutRetentionPolicy", "guardduty:DeleteDetector", "guardduty:UpdateDetector", NULL};

static const char *const refs_0[] = {"https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html", "AWS Security Hub Lambda.2", "OWASP Serverless Top 10 S9", NULL};
static const char *const refs_1[] = {"https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html", "AWS Security Hub Lambda.2", NULL};
static const char *const refs_2[] = {"https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html", "https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml", "OWASP Serverless Top 10 S3 (Sensitive Data Exposure)", NULL};
static const char *const refs_3[] = {"https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html", "https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml", NULL};
static const char *const refs_4[] = {"https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html", "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html", NULL};
static const char *const refs_5[] = {"https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html", "https://cwe.mitre.org/data/definitions/798.html", NULL};
static const char *const refs_6[] = {"https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html", "Prowler awslambda_function_env_vars_not_encrypted_with_cmk", NULL};
static const char *const refs_7[] = {"https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html", "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html", NULL};
static const char *const refs_8[] = {"https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html", "AWS Security Hub Lambda.1", "Prowler awslambda_function_not_publicly_accessible", NULL};
static const char *const refs_9[] = {"https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html", "Prowler awslambda_function_url_public", NULL};
static const char *const refs_10[] = {"https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html", "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html", "AWS Security Hub Lambda.1", NULL};
static const char *const refs_11[] = {"https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html", "Stratus Red Team aws.persistence.lambda-backdoor-function", NULL};
static const char *const refs_12[] = {"https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html", "https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-cross-account.html", NULL};
static const char *const refs_13[] = {"https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html", NULL};
static const char *const refs_14[] = {"https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html#urls-cors", "Prowler awslambda_function_url_cors_policy", NULL};
static const char *const refs_15[] = {"https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS", "https://portswigger.net/web-security/cors", NULL};
static const char *const refs_16[] = {"https://osv.dev", "OWASP Serverless Top 10 S9 (Using Components with Known Vulnerabilities)", NULL};
static const char *const refs_17[] = {"https://osv.dev", "OWASP Serverless Top 10 S9 (Using Components with Known Vulnerabilities)", NULL};
static const char *const refs_18[] = {"https://osv.dev", "OWASP Serverless Top 10 S9 (Using Components with Known Vulnerabilities)", NULL};
static const char *const refs_19[] = {"https://osv.dev", "OWASP Serverless Top 10 S9 (Using Components with Known Vulnerabilities)", NULL};
static const char *const refs_20[] = {"https://github.com/advisories", "https://blog.npmjs.org/post/180565383195/details-about-the-event-stream-incident", NULL};
static const char *const refs_21[] = {"https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html", "Prowler awslambda_function_using_cross_account_layers", NULL};
static const char *const refs_22[] = {"https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html", "Stratus Red Team aws.persistence.lambda-layer-extension", NULL};
static const char *const refs_23[] = {"https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html", "OWASP Serverless Top 10 S8 (Denial of Service)", NULL};
static const char *const refs_24[] = {"https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html", NULL};
static const char *const refs_25[] = {"https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html", NULL};
static const char *const refs_26[] = {"https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html#services-kinesis-errors", NULL};
static const char *const refs_27[] = {"https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html", "Prowler awslambda_function_no_dead_letter_queue", NULL};
static const char *const refs_28[] = {"https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html", NULL};
static const char *const refs_29[] = {"https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html", "AWS Security Hub Lambda.7", NULL};
static const char *const refs_30[] = {"https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html", "AWS Security Hub Lambda.7", "OWASP Serverless Top 10 S10 (Insufficient Logging and Monitoring)", NULL};
static const char *const refs_31[] = {"https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", "OWASP Serverless Top 10 S5", NULL};
static const char *const refs_32[] = {"https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", "AWS Security Hub IAM.1", "CIS AWS Foundations 1.16", NULL};
static const char *const refs_33[] = {"https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/policy-list.html", NULL};
static const char *const refs_34[] = {"https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", "Prowler iam_policy_no_full_access_to_kms", NULL};
static const char *const refs_35[] = {"https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", NULL};
static const char *const refs_36[] = {"https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", "https://github.com/OWASP/DVSA (lesson 5)", NULL};
static const char *const refs_37[] = {"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/best-practices-security.html", "Prowler iam_policy_no_full_access_to_cloudtrail", NULL};
static const char *const refs_38[] = {"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html", "ScoutSuite iam-assume-role-policy-allows-all", NULL};
static const char *const refs_39[] = {"CloudSploit lambdaUniqueExecutionRole", "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", NULL};
static const char *const refs_40[] = {"CloudSploit lambdaUniqueExecutionRole", "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", NULL};
static const char *const refs_41[] = {"https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/", "Prowler iam_policy_allows_privilege_escalation", NULL};
static const char *const refs_42[] = {"https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/", "Prowler iam_policy_allows_privilege_escalation", NULL};
static const char *const refs_43[] = {"https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/", "Prowler iam_policy_allows_privilege_escalation", NULL};
static const char *const refs_44[] = {"https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/", "Prowler iam_policy_allows_privilege_escalation", NULL};
static const char *const refs_45[] = {"https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html", NULL};
static const char *const refs_46[] = {"https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/", "Prowler iam_policy_allows_privilege_escalation", NULL};
static const char *const refs_47[] = {"https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control.html", "AWS Security Hub APIGateway.8", "OWASP Serverless Top 10 S2 (Broken Authentication)", NULL};
static const char *const refs_48[] = {"https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-to-api.html", "Prowler apigateway_restapi_authorizers_enabled", NULL};
static const char *const refs_49[] = {"https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html", NULL};
static const char *const refs_50[] = {"https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html", NULL};
static const char *const refs_51[] = {"https://portswigger.net/web-security/cors", NULL};
static const char *const refs_52[] = {"https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-create.html", NULL};

const struct posture_rule posture_rules[] = {
    {"PAR-RT-001",
     "Function runs on a deprecated runtime",
     "runtime-deprecated", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_runtime, &rt_deprecated, refs_0,
     "Upgrade the function to a supported runtime version and redeploy.",
     "Track runtime deprecation dates in CI and fail builds that target a runtime within 90 days of deprecation.",
     "AWS no longer applies security patches to a deprecated runtime, and will block updates to the function: known vulnerabilities in the language runtime stay exploitable."},
    {"PAR-RT-002",
     "Function runtime is deprecated within 90 days",
     "runtime-deprecated", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_runtime, &rt_deprecating, refs_1,
     "Plan and test the upgrade to a supported runtime before the deprecation date.",
     "Keep runtimes current as part of regular dependency maintenance; gate deployments on a date-driven runtime list.",
     "After the deprecation date the runtime receives no security patches and, shortly after, the function can no longer be updated."},
    {"PAR-SEC-001",
     "Cloud credential stored in an environment variable",
     "secrets-in-env", POSTURE_SEV_CRITICAL, "aws.lambda.function",
     posture_check_secret, &sec_cloud, refs_2,
     "Deactivate and rotate the key now, then remove the variable; give the function the access it needs through its execution role.",
     "Never hand long-lived cloud credentials to functions: use the execution role, and scan deployments for secrets in CI.",
     "Anyone who can read the function configuration (lambda:GetFunctionConfiguration, consoles, CI logs) or exploit the code gets a credential that works from anywhere until rotated."},
    {"PAR-SEC-002",
     "Third-party API token stored in an environment variable",
     "secrets-in-env", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_secret, &sec_token, refs_3,
     "Rotate the token at its provider and move it to AWS Secrets Manager or SSM Parameter Store (SecureString), read at runtime.",
     "Fetch secrets at runtime with a least-privilege role and cache them; add secret scanning to CI and pre-commit hooks.",
     "Environment variables are visible in plain text to anyone with read access to the function configuration and to any code running in the function."},
    {"PAR-SEC-003",
     "Connection string with a password stored in an environment variable",
     "secrets-in-env", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_secret, &sec_url, refs_4,
     "Change the database password and move it to Secrets Manager; keep only host and database name in the variable.",
     "Use IAM database authentication or Secrets Manager rotation so no static password exists.",
     "The password gives direct access to the data store, bypassing the function and its authorisation."},
    {"PAR-SEC-004",
     "Secret-like literal stored in an environment variable",
     "secrets-in-env", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_secret, &sec_generic, refs_5,
     "Confirm whether the value is a live secret; if so rotate it and move it to Secrets Manager or SSM Parameter Store.",
     "Keep configuration and secrets apart: variables may name a secret (its ARN), never hold it. Mark verified false positives as suppressed.",
     "A variable named like a password or key holds a high-entropy literal: most likely a credential readable by anyone who can read the configuration."},
    {"PAR-ENC-001",
     "Sensitive environment variables without a customer-managed key",
     "env-encryption", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_env_cmk, NULL, refs_6,
     "Set KMSKeyArn to a customer-managed KMS key whose key policy limits decryption to the function role and administrators.",
     "Move secrets out of environment variables; where variables stay, encrypt them with a per-application customer-managed key.",
     "With the AWS managed key, anyone allowed lambda:GetFunctionConfiguration reads the values in plain text; a customer-managed key adds a separate, auditable kms:Decrypt permission."},
    {"PAR-ENC-002",
     "Environment encrypted with a key from another account",
     "env-encryption", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_env_foreign_key, NULL, refs_7,
     "Re-encrypt the variables with a key owned by this account.",
     "Keep keys in the account (or a trusted key account listed in trusted_accounts) and review cross-account key grants.",
     "Another account controls the key: it can read the configuration it encrypts, or disable the key and break the function."},
    {"PAR-PUB-001",
     "Resource policy lets anyone invoke the function",
     "public-invoke", POSTURE_SEV_CRITICAL, "aws.lambda.function",
     posture_check_policy_public, NULL, refs_8,
     "Remove the statement (lambda remove-permission) or add aws:SourceArn/aws:SourceAccount conditions.",
     "Grant invoke permissions only through infrastructure as code, always with a source condition, and alert on AddPermission with a public principal.",
     "Any AWS account, and anyone with AWS credentials, can invoke the function directly, bypassing the API layer, its authorisation and throttling."},
    {"PAR-PUB-002",
     "Function URL without authentication",
     "public-invoke", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_url_public, NULL, refs_9,
     "Set the URL AuthType to AWS_IAM, or delete the URL and front the function with API Gateway and an authoriser.",
     "Block unauthenticated function URLs with an SCP on lambda:FunctionUrlAuthType and authenticate in the function when a public webhook is required.",
     "The function is an internet endpoint anyone can call: every input is attacker-controlled and every call is billed to the account."},
    {"PAR-XAC-001",
     "Service may invoke the function without a source condition",
     "cross-account-invoke", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_policy_service, NULL, refs_10,
     "Add aws:SourceArn (and aws:SourceAccount for S3) to the permission.",
     "Template every add-permission with source conditions.",
     "Without a source condition the service invokes the function on behalf of any account's resource (confused deputy): someone else's bucket or topic can trigger it."},
    {"PAR-XAC-002",
     "Function may be invoked from another account",
     "cross-account-invoke", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_policy_foreign, NULL, refs_11,
     "Remove the permission unless the account is a known partner; add it to trusted_accounts if so.",
     "Keep a list of trusted accounts (or use aws:PrincipalOrgID) and review cross-account grants.",
     "A principal outside the account can run the function with its role's permissions; an unknown grant is a common persistence backdoor."},
    {"PAR-XAC-003",
     "Resource policy lets another principal modify the function",
     "cross-account-invoke", POSTURE_SEV_CRITICAL, "aws.lambda.function",
     posture_check_policy_manage, NULL, refs_12,
     "Remove the statement granting management actions.",
     "Grant only lambda:InvokeFunction in resource policies; manage functions from the owning account only.",
     "Another account or anyone can replace the code or configuration and act with the function's role."},
    {"PAR-XAC-004",
     "Invocation results sent to another account",
     "cross-account-invoke", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_foreign_destination, NULL, refs_13,
     "Point the dead-letter queue and destinations to resources in this account.",
     "Allow-list destination accounts and review cross-account data flows.",
     "Events (and failed events with their payloads) leave the account: a data-exfiltration path that survives code review."},
    {"PAR-CORS-001",
     "Function URL CORS allows any origin",
     "cors-permissive", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_url_cors, &cors_plain, refs_14,
     "List the exact origins that need browser access in Cors.AllowOrigins.",
     "Manage CORS origins per environment in infrastructure as code.",
     "Any web page can call the function from a visitor's browser and read the responses."},
    {"PAR-CORS-002",
     "Function URL CORS allows any origin with credentials",
     "cors-permissive", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_url_cors, &cors_creds, refs_15,
     "Remove \"*\" and \"null\" from AllowOrigins or set AllowCredentials to false.",
     "Allow credentials only for an explicit list of first-party origins.",
     "Any site (or a sandboxed page with origin \"null\") can make credentialed requests as the visitor and read the answers."},
    {"PAR-DEP-001",
     "Dependency with a critical-severity vulnerability",
     "vulnerable-dependency", POSTURE_SEV_CRITICAL, "aws.lambda.function",
     posture_check_vuln, NULL, refs_16,
     "Upgrade the package to the fixed version given in the evidence and redeploy.",
     "Run dependency scanning (SCA) in CI, keep lock files, and rebuild functions when advisories are published.",
     "The deployed package contains a dependency with a published critical-severity advisory that attackers can look up and exploit."},
    {"PAR-DEP-002",
     "Dependency with a high-severity vulnerability",
     "vulnerable-dependency", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_vuln, NULL, refs_17,
     "Upgrade the package to the fixed version given in the evidence and redeploy.",
     "Run dependency scanning (SCA) in CI, keep lock files, and rebuild functions when advisories are published.",
     "The deployed package contains a dependency with a published high-severity advisory that attackers can look up and exploit."},
    {"PAR-DEP-003",
     "Dependency with a medium-severity vulnerability",
     "vulnerable-dependency", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_vuln, NULL, refs_18,
     "Upgrade the package to the fixed version given in the evidence and redeploy.",
     "Run dependency scanning (SCA) in CI, keep lock files, and rebuild functions when advisories are published.",
     "The deployed package contains a dependency with a published medium-severity advisory that attackers can look up and exploit."},
    {"PAR-DEP-004",
     "Dependency with a low-severity vulnerability",
     "vulnerable-dependency", POSTURE_SEV_LOW, "aws.lambda.function",
     posture_check_vuln, NULL, refs_19,
     "Upgrade the package to the fixed version given in the evidence and redeploy.",
     "Run dependency scanning (SCA) in CI, keep lock files, and rebuild functions when advisories are published.",
     "The deployed package contains a dependency with a published low-severity advisory that attackers can look up and exploit."},
    {"PAR-DEP-005",
     "Known-malicious or unsafe-by-design package",
     "vulnerable-dependency", POSTURE_SEV_CRITICAL, "aws.lambda.function",
     posture_check_dangerous_dep, NULL, refs_20,
     "Remove the package (or the compromised version) and rotate every credential the function could read.",
     "Pin dependencies with lock files, review new dependencies, and block known-malicious packages in CI.",
     "The package runs attacker code on install or import, or turns input into code execution."},
    {"PAR-LYR-001",
     "Layer from an untrusted account",
     "untrusted-layer", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_layer, NULL, refs_21,
     "Copy the layer into this account after review, or replace it with the publisher's documented layer.",
     "Keep an allow-list of layer publishers (trusted_accounts) and alert on layers from other accounts.",
     "A layer is code that runs inside the function with its role and secrets; its publisher can change what new versions contain."},
    {"PAR-LYR-002",
     "Start-up hook loads code while an untrusted layer is attached",
     "untrusted-layer", POSTURE_SEV_HIGH, "aws.lambda.function",
     posture_check_startup_hook, NULL, refs_22,
     "Remove the start-up variable unless the layer is verified; replace the layer with a trusted copy.",
     "Alert on changes to AWS_LAMBDA_EXEC_WRAPPER, NODE_OPTIONS, JAVA_TOOL_OPTIONS and LD_PRELOAD.",
     "The variable makes the runtime run layer code before the handler: a known persistence and interception technique."},
    {"PAR-DOW-001",
     "Internet-reachable function without reserved concurrency",
     "denial-of-wallet", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_dow_concurrency, NULL, refs_23,
     "Set reserved concurrency to the peak the function needs.",
     "Budget concurrency per function, add throttling at the API and billing alarms.",
     "Unauthenticated callers can scale the function to the account limit: a large bill and throttling of every other function."},
    {"PAR-DOW-002",
     "Internet-reachable function with a long timeout",
     "denial-of-wallet", POSTURE_SEV_LOW, "aws.lambda.function",
     posture_check_dow_timeout, NULL, refs_24,
     "Lower the timeout to what the function needs (API Gateway stops waiting after 29 s anyway).",
     "Set timeouts from observed durations.",
     "Slow or hanging requests from anyone are billed for up to the full timeout."},
    {"PAR-DOW-003",
     "Internet-reachable function with maximum memory",
     "denial-of-wallet", POSTURE_SEV_LOW, "aws.lambda.function",
     posture_check_dow_memory, NULL, refs_25,
     "Right-size the memory with measured usage (e.g. AWS Lambda Power Tuning).",
     "Add cost anomaly alarms on public functions.",
     "Every unauthenticated call is billed at the highest memory price."},
    {"PAR-DOW-004",
     "Stream mapping retries failed batches forever",
     "denial-of-wallet", POSTURE_SEV_LOW, "aws.lambda.function",
     posture_check_dow_retries, NULL, refs_26,
     "Set MaximumRetryAttempts and MaximumRecordAgeInSeconds, and an on-failure destination.",
     "Use bisect-on-error and poison-record handling for every stream consumer.",
     "One bad record is retried until it expires, blocking the shard and billing every attempt."},
    {"PAR-DLQ-001",
     "Asynchronously invoked function drops failed events",
     "no-failure-destination", POSTURE_SEV_LOW, "aws.lambda.function",
     posture_check_async_dlq, NULL, refs_27,
     "Configure an on-failure destination (or a dead-letter queue).",
     "Make failure destinations part of every event-driven function template, with alarms on them.",
     "After two retries AWS discards the event: lost orders or uploads go unnoticed, and attacks that crash the function leave no trace."},
    {"PAR-DLQ-002",
     "Stream event source without an on-failure destination",
     "no-failure-destination", POSTURE_SEV_LOW, "aws.lambda.function",
     posture_check_stream_dlq, NULL, refs_28,
     "Add DestinationConfig.OnFailure to the event source mapping.",
     "Standardise stream consumers with failure destinations and bounded retries.",
     "Records that keep failing are lost without a copy for replay or investigation."},
    {"PAR-TRC-001",
     "X-Ray active tracing disabled",
     "tracing-disabled", POSTURE_SEV_LOW, "aws.lambda.function",
     posture_check_tracing, &trc_private, refs_29,
     "Set TracingConfig.Mode to Active.",
     "Enable tracing by default in function templates.",
     "Without traces, following a request across services during an investigation is guesswork."},
    {"PAR-TRC-002",
     "X-Ray tracing disabled on an internet-reachable function",
     "tracing-disabled", POSTURE_SEV_MEDIUM, "aws.lambda.function",
     posture_check_tracing, &trc_public, refs_30,
     "Set TracingConfig.Mode to Active.",
     "Require tracing for every function behind a URL or an API.",
     "The function faces the internet, where attacks start; without traces, a malicious request cannot be followed downstream."},
    {"PAR-IAM-010",
     "Internet-reachable function with an administrator or escalating role",
     "iam-overprivileged", POSTURE_SEV_CRITICAL, "aws.lambda.function",
     posture_check_fn_role_risky, NULL, refs_31,
     "Give the function its own role with only the actions it uses, or put authentication in front of it.",
     "Generate least-privilege policies from observed calls and review every role behind a public endpoint.",
     "One bug in a function anyone can call gives the attacker control of the whole AWS account."},
    {"PAR-IAM-001",
     "Execution role has administrator access",
     "iam-overprivileged", POSTURE_SEV_CRITICAL, "aws.iam.role",
     posture_check_role_admin, NULL, refs_32,
     "Detach AdministratorAccess or remove the Action \"*\" statement; grant only what the function uses.",
     "Derive policies from observed API calls (IAM Access Analyzer policy generation) and enforce permission boundaries on function roles.",
     "Code running in the function, or anyone who exploits it, can do anything in the account."},
    {"PAR-IAM-002",
     "Execution role has a broad AWS managed policy",
     "iam-overprivileged", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_managed, NULL, refs_33,
     "Replace the managed policy with a customer-managed policy scoped to the resources the function uses.",
     "Ban full-access managed policies on function roles with a permission boundary or SCP.",
     "Full-access managed policies grant every action of a service on every resource, far beyond what one function needs."},
    {"PAR-IAM-003",
     "Execution role grants every action of a service",
     "iam-overprivileged", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_service_wildcard, NULL, refs_34,
     "Replace \"service:*\" with the specific actions the function calls.",
     "Lint policies in CI for service-wide wildcards.",
     "A wildcard includes destructive and administrative actions (delete, put policy, disable) the function never needs."},
    {"PAR-IAM-004",
     "Execution role reads sensitive data on every resource",
     "iam-overprivileged", POSTURE_SEV_MEDIUM, "aws.iam.role",
     posture_check_role_actions, sensitive_actions, refs_35,
     "Scope the action's Resource to the specific buckets, tables, secrets, parameters or keys the function uses.",
     "Tag-based or path-based resource scoping in policy templates.",
     "A compromised function can read every object, table, secret or key in the account, not just its own."},
    {"PAR-IAM-005",
     "Execution role can invoke any function",
     "iam-overprivileged", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_actions, invoke_actions, refs_36,
     "Scope lambda:InvokeFunction to the ARNs of the functions it calls (replace AWSLambdaRole).",
     "Model function-to-function calls explicitly in infrastructure as code.",
     "Calling internal or administrative functions directly bypasses their callers' authorisation and business rules."},
    {"PAR-IAM-006",
     "Execution role can disable logging or detection",
     "iam-overprivileged", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_actions, logging_actions, refs_37,
     "Remove CloudTrail, CloudWatch Logs deletion and GuardDuty management actions from the role.",
     "Deny these actions to all workload roles with an SCP.",
     "An attacker in the function can erase the evidence of what they did."},
    {"PAR-IAM-007",
     "Execution role can be assumed from other accounts",
     "iam-overprivileged", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_trust, NULL, refs_38,
     "Limit the trust policy to lambda.amazonaws.com, or require sts:ExternalId / aws:PrincipalOrgID for a known partner.",
     "Keep execution roles trusted by the Lambda service only.",
     "Principals outside the account can take the function's permissions without going through the function."},
    {"PAR-IAM-008",
     "Execution role shared by several functions",
     "iam-shared-role", POSTURE_SEV_MEDIUM, "aws.iam.role",
     posture_check_role_shared, &shared_private, refs_39,
     "Give each function its own role with only the permissions it needs.",
     "Generate one role per function in the deployment framework.",
     "Every function holds the union of the permissions all of them need: compromising the least important one gives access to everything."},
    {"PAR-IAM-009",
     "Execution role shared with an internet-reachable function",
     "iam-shared-role", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_shared, &shared_public, refs_40,
     "Give the internet-reachable function a dedicated role first.",
     "One role per function, with the public ones reviewed first.",
     "A function anyone can call holds the permissions of the internal functions sharing its role."},
    {"PAR-ESC-001",
     "Role can create a function with any role and run it",
     "iam-privilege-escalation", POSTURE_SEV_CRITICAL, "aws.iam.role",
     posture_check_role_escalation, &esc_lambda, refs_41,
     "Remove iam:PassRole on \"*\" or scope it to specific role ARNs; remove lambda:CreateFunction.",
     "Apply permission boundaries to function roles and forbid PassRole without a resource list.",
     "The role can pass a more powerful role to a new function and run code with it: an escalation to that role's permissions."},
    {"PAR-ESC-002",
     "Role can change IAM policies",
     "iam-privilege-escalation", POSTURE_SEV_CRITICAL, "aws.iam.role",
     posture_check_role_escalation, &esc_policy, refs_42,
     "Remove the IAM policy-management actions from the role.",
     "Deny IAM write actions to workload roles with an SCP or permission boundary.",
     "The role can grant itself (or another principal) any permission, including administrator."},
    {"PAR-ESC-003",
     "Role can create credentials or rewrite trust",
     "iam-privilege-escalation", POSTURE_SEV_CRITICAL, "aws.iam.role",
     posture_check_role_escalation, &esc_creds, refs_43,
     "Remove iam:CreateAccessKey, iam:CreateLoginProfile, iam:UpdateLoginProfile and iam:UpdateAssumeRolePolicy.",
     "Deny credential-management actions to workload roles.",
     "The role can mint long-lived credentials for other users or make any role assumable: durable access beyond the function."},
    {"PAR-ESC-004",
     "Role can replace other functions' code or configuration",
     "iam-privilege-escalation", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_escalation, &esc_functions, refs_44,
     "Scope lambda:UpdateFunctionCode and lambda:UpdateFunctionConfiguration to the functions it manages, or remove them.",
     "Deploy functions only from CI roles, never from function roles.",
     "The role can inject code into functions that run with more privileged roles."},
    {"PAR-ESC-005",
     "Role can assume any role",
     "iam-privilege-escalation", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_escalation, &esc_assume, refs_45,
     "Scope sts:AssumeRole to the specific role ARNs needed.",
     "List assumable roles explicitly in infrastructure as code.",
     "Every role whose trust policy trusts the account becomes reachable from the function."},
    {"PAR-ESC-006",
     "Role can pass any role to other compute services",
     "iam-privilege-escalation", POSTURE_SEV_HIGH, "aws.iam.role",
     posture_check_role_escalation, &esc_compute, refs_46,
     "Scope iam:PassRole to specific roles and iam:PassedToService.",
     "Forbid PassRole on \"*\" in all workload policies.",
     "The role can start instances, stacks or jobs that run with a more privileged role."},
    {"PAR-API-001",
     "HTTP API route without authorization",
     "unauthenticated-route", POSTURE_SEV_HIGH, "aws.apigateway.http_api",
     posture_check_http_route_auth, NULL, refs_47,
     "Attach a JWT, IAM or Lambda authoriser to the route.",
     "Make an authoriser the default for every route in the API definition; list deliberate public routes explicitly.",
     "Anyone on the internet can call the function behind the route."},
    {"PAR-API-002",
     "REST API method without authorization",
     "unauthenticated-route", POSTURE_SEV_HIGH, "aws.apigateway.rest_api",
     posture_check_rest_method_auth, &rest_open, refs_48,
     "Set an authoriser (Cognito, Lambda or IAM) on the method.",
     "Require authorisation per method in the API definition; review public methods.",
     "Anyone on the internet can call the function behind the method."},
    {"PAR-API-003",
     "REST API method protected only by an API key",
     "unauthenticated-route", POSTURE_SEV_MEDIUM, "aws.apigateway.rest_api",
     posture_check_rest_method_auth, &rest_apikey, refs_49,
     "Add an authoriser; keep the API key for usage plans only.",
     "Authenticate callers with identities, not shared keys.",
     "AWS warns that API keys are for metering, not authorisation: they are shared, long-lived and often embedded in clients."},
    {"PAR-CORS-003",
     "HTTP API CORS allows any origin",
     "cors-permissive", POSTURE_SEV_MEDIUM, "aws.apigateway.http_api",
     posture_check_http_cors, &cors_plain, refs_50,
     "List the exact origins in corsConfiguration.allowOrigins.",
     "Manage CORS origins per environment in infrastructure as code.",
     "Any web page can call the API from a visitor's browser and read the responses."},
    {"PAR-CORS-004",
     "HTTP API CORS allows any origin with credentials",
     "cors-permissive", POSTURE_SEV_HIGH, "aws.apigateway.http_api",
     posture_check_http_cors, &cors_creds, refs_51,
     "Remove \"*\" and \"null\" from allowOrigins or set allowCredentials to false.",
     "Allow credentials only for an explicit list of first-party origins.",
     "Any site can make credentialed requests as the visitor and read the answers."},
    {"PAR-PUB-003",
     "Private REST API open to every VPC endpoint",
     "public-invoke", POSTURE_SEV_HIGH, "aws.apigateway.rest_api",
     posture_check_rest_private_policy, NULL, refs_52,
     "Add an aws:SourceVpce (or aws:SourceVpc) condition to the resource policy.",
     "Template private APIs with a VPC endpoint condition.",
     "A private API whose policy allows \"*\" can be called through any VPC endpoint, including endpoints in other accounts."},
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
