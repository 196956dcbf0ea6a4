/* aws - the AWS client: Parapet's own credentials, endpoints (with the AWS SDKs'
 * AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> overrides), and STS: AssumeRole and
 * GetCallerIdentity over the Query protocol, signed with SigV4, retried with exponential backoff
 * and jitter on throttling and 5xx (Retry-After honoured, capped). Blocking calls through net/;
 * thread-safe. Credentials are wiped when freed; nothing here logs a secret, a token or a
 * signature.
 * Errors: ERR_OK; ERR_UPSTREAM when AWS refused (aws_error names AWS's code, e.g.
 * "AccessDenied"); ERR_UNAVAILABLE when AWS could not be reached or kept throttling;
 * ERR_UNAVAILABLE when Parapet has no AWS identity configured. */
#ifndef PARAPET_CLOUD_AWS_H
#define PARAPET_CLOUD_AWS_H

#include "server/err.h"

#include <stdbool.h>
#include <time.h>

struct cloud_creds {
    char access_key_id[129];
    char secret_access_key[129];
    char *session_token; /* owned; NULL for long-term keys */
    time_t expires;      /* 0 = does not expire */
};

/* Parapet's own identity from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN). ERR_UNAVAILABLE when absent. Free with cloud_creds_clear(). */
enum err_code cloud_creds_from_env(struct cloud_creds *out, struct err *err);
void cloud_creds_clear(struct cloud_creds *c); /* wipes; NULL-safe */

/* Parapet's own identity from the AWS SDKs' default chain, first that works: the environment
 * (as cloud_creds_from_env), the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_
 * RELATIVE_URI, else _FULL_URI: https, or http to loopback, 169.254.170.2 or 169.254.170.23 only;
 * Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else _TOKEN), then EC2 instance
 * metadata IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT, default http://169.254.169.254; skipped
 * when AWS_EC2_METADATA_DISABLED=true). A configured source that fails is logged (no secrets)
 * and the next one tried; each network source has 2 s in all. source[16] (may be NULL) gets
 * "env", "container" or "imds"; out->expires comes from the answer's Expiration. Blocks;
 * thread-safe while nobody changes the environment. ERR_UNAVAILABLE when no source works,
 * ERR_NOMEM. Free with cloud_creds_clear(). */
enum err_code cloud_creds_default(struct cloud_creds *out, char source[16], struct err *err);

/* The endpoint URL for service ("sts") in region: AWS_ENDPOINT_URL_<SERVICE>, else
 * AWS_ENDPOINT_URL, else https://<service>.<region>.amazonaws.com. Caller frees. */
char *cloud_endpoint(const char *service, const char *region);

/* AssumeRole as caller: external_id may be NULL (to check that the role refuses that). On
 * success *out holds temporary credentials. aws_error[64] gets AWS's error code on refusal. */
enum err_code cloud_sts_assume_role(const struct cloud_creds *caller, const char *region,
                                    const char *role_arn, const char *external_id,
                                    const char *session_name, struct cloud_creds *out,
                                    char aws_error[64], struct err *err);

/* GetCallerIdentity: the account of creds. */
enum err_code cloud_sts_caller_account(const struct cloud_creds *creds, const char *region,
                                       char account[13], char aws_error[64], struct err *err);

#endif
