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

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
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

/* Who calls: credentials, and for temporary ones a way to renew them. refresh (may be NULL)
 * replaces p->creds; it is called when they expire within a minute (expired=false), and once
 * when AWS answers that they expired (expired=true). */
struct cloud_principal {
    struct cloud_creds creds;
    enum err_code (*refresh)(struct cloud_principal *p, bool expired, struct err *err);
    void *ctx; /* for refresh */
};

/* One AWS API call. path and query are on the wire already percent-encoded. A body makes it a
 * Query-protocol POST (form encoded); otherwise it is a REST-JSON call sent with
 * Accept: application/json. IAM is signed for us-east-1 on its global endpoint. */
struct cloud_call {
    const char *service; /* signing name and endpoint: "lambda", "iam", "apigateway", "sts" */
    const char *region;
    const char *method;
    const char *path;
    const char *query;   /* may be NULL */
    const char *body;    /* may be NULL */
    size_t max_response; /* 0 = 4 MiB */
};

/* AWS's answer. For a status outside 2xx, aws_error holds AWS's error code ("AccessDenied",
 * "ResourceNotFoundException", from the x-amzn-ErrorType header, a JSON __type or code, or an
 * XML <Code>) and message its message. */
struct cloud_reply {
    long status;
    char *body; /* NUL-terminated, owned */
    size_t body_len;
    long retry_after_s;
    char aws_error[64];
    char message[256];
};

#define CLOUD_ATTEMPTS 6
#define CLOUD_BACKOFF_MS 200    /* first retry; doubles, with jitter */
#define CLOUD_RETRY_CAP_MS 5000 /* no single wait longer than this */
#define CLOUD_TIMEOUT_MS 15000

/* Performs calls[0..n) concurrently (at most parallel at a time), retrying throttling, 5xx and
 * transport failures with exponential backoff and jitter (the longest Retry-After of a round is
 * honoured, capped) up to CLOUD_ATTEMPTS, and renewing expired credentials once. For each i:
 * errs[i].code is ERR_OK when AWS answered (any status: see replies[i].status), else
 * ERR_UNAVAILABLE (unreachable or still throttled) or ERR_UPSTREAM (answer too large).
 * replies[i] is always initialised; free each with cloud_reply_free(). Returns ERR_OK unless the
 * batch itself failed (ERR_NOMEM; a signing or refresh failure). Blocks; thread-safe. */
enum err_code cloud_call_many(struct cloud_principal *p, const struct cloud_call *calls,
                              struct cloud_reply *replies, struct err *errs, size_t n,
                              unsigned parallel, struct err *err);

/* One call as above: ERR_OK when AWS answered (look at reply->status). */
enum err_code cloud_call(struct cloud_principal *p, const struct cloud_call *call,
                         struct cloud_reply *reply, struct err *err);

void cloud_reply_free(struct cloud_reply *r); /* wipes; NULL-safe */

/* True when the answer says the credentials expired. */
bool cloud_reply_expired(const struct cloud_reply *r);

/* RFC 3986 encoding of every byte but unreserved ones into out[n]; false when it does not fit. */
bool cloud_pct_encode(const char *in, char *out, size_t n);
/* Appends "&key=value" (form encoded; no '&' first) to buf[cap] at *len; false when full. */
bool cloud_form_add(char *buf, size_t cap, size_t *len, const char *key, const char *value);
/* Percent-decoding only ('+' stays '+'), malloc'd; NULL on ENOMEM. */
char *cloud_pct_decode(const char *s);

/* Minimal XML for the Query protocol's answers: the content of the first <tag> in [p, end)
 * (*cs..*ce), its entity-decoded text (malloc'd), or that text into out[n] (false when absent or
 * too long). */
bool cloud_xml_find(const char *p, const char *end, const char *tag, const char **cs,
                    const char **ce);
char *cloud_xml_decode(const char *s, const char *e);
bool cloud_xml_text(const char *p, const char *end, const char *tag, char *out, size_t n);

void cloud_sleep_ms(long ms);
long cloud_jitter_ms(long ms); /* ms scaled by a random factor in [0.5, 1.5) */

/* Credentials for a customer's role (AssumeRole with its external ID, as Parapet's own
 * identity), from a process-wide cache keyed by (role ARN, external ID); assumed again when they
 * expire within five minutes, or always when renew. A copy goes to *out (clear it). */
enum err_code cloud_role_creds(const char *role_arn, const char *external_id, bool renew,
                               struct cloud_creds *out, char aws_error[64], struct err *err);
/* Drops the cached credentials of a role (an account deleted or reconnected). */
void cloud_role_forget(const char *role_arn, const char *external_id);
/* AssumeRole calls the cache has made since start-up. */
unsigned long cloud_role_assume_count(void);

/* A principal for a customer's role whose credentials come from the cache and renew themselves
 * (see cloud_role_creds). Clear with cloud_principal_clear(). */
enum err_code cloud_role_principal(const char *role_arn, const char *external_id,
                                   struct cloud_principal *p, char aws_error[64],
                                   struct err *err);
void cloud_principal_clear(struct cloud_principal *p); /* NULL-safe */

/* ---- inventory reads (cloud/lambda.c, cloud/iam.c, cloud/apigw.c) ----
 * Shapes as in posture/inventory.md. A call that fails for one resource is recorded in that
 * resource's "Errors" array ({call, code, message}) and the others carry on; only a failure to
 * list at all is the function's error (ERR_UPSTREAM with aws_error, or ERR_UNAVAILABLE). */

/* A paginated REST-JSON list: GET path?query, items in member items_key, the next page's token
 * in member token_key, sent back as query parameter token_param. */
struct cloud_list {
    const char *service;
    const char *region;
    const char *path;
    const char *query; /* fixed parameters, encoded; may be NULL */
    const char *items_key;
    const char *token_key;
    const char *token_param;
};
/* Appends every page's items to items. */
enum err_code cloud_rest_list(struct cloud_principal *p, const struct cloud_list *l, json_t *items,
                              char aws_error[64], struct err *err);

/* The same into a new array *out (NULL on failure). */
enum err_code cloud_rest_list_new(struct cloud_principal *p, const struct cloud_list *l,
                                  json_t **out, char aws_error[64], struct err *err);

void cloud_record_error(json_t *obj, const char *call, const char *code, const char *message);
/* The JSON object of an answer, or NULL (recording "MalformedResponse" on obj when not NULL). */
json_t *cloud_reply_json(const struct cloud_reply *r, json_t *obj, const char *call);

/* ListFunctions, every page. *out: a new array of FunctionConfiguration objects. */
enum err_code cloud_lambda_list(struct cloud_principal *p, const char *region, json_t **out,
                                char aws_error[64], struct err *err);
/* Adds to each function of functions what GetFunction (Tags, State), GetPolicy (Policy, parsed),
 * GetFunctionUrlConfig, GetFunctionConcurrency, GetFunctionEventInvokeConfig and
 * ListEventSourceMappings say, at most parallel calls at a time. code (may be NULL) gets
 * FunctionArn -> presigned package URL: it carries a token, so it is never stored. */
enum err_code cloud_lambda_details(struct cloud_principal *p, const char *region,
                                   json_t *functions, unsigned parallel, json_t *code,
                                   struct err *err);

/* Each execution role in role_arns (strings, each read once): GetRole, its attached policies
 * (each managed policy's default version read once) and inline policies, documents parsed.
 * *out: a new array of role objects. */
enum err_code cloud_iam_roles(struct cloud_principal *p, const json_t *role_arns,
                              unsigned parallel, json_t **out, struct err *err);

/* API Gateway v2 (HTTP/WebSocket APIs with routes and integrations) and v1 (REST APIs with
 * resources and their methods). *out: new arrays. Per-API lists are read one after another
 * (accounts have few APIs; their pages are sequential anyway). */
enum err_code cloud_apigw_http_apis(struct cloud_principal *p, const char *region, json_t **out,
                                    char aws_error[64], struct err *err);
enum err_code cloud_apigw_rest_apis(struct cloud_principal *p, const char *region, json_t **out,
                                    char aws_error[64], struct err *err);

/* Downloads a function package from its presigned URL (an unsigned GET) into *out (malloc'd),
 * at most max bytes: larger is ERR_TOO_LARGE. */
enum err_code cloud_lambda_code(const char *url, size_t max, unsigned char **out, size_t *len,
                                struct err *err);

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
