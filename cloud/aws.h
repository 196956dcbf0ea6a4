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
 * replaces p->creds; it is called when they expire within a minute, and once when AWS answers
 * that they expired. */
struct cloud_principal {
    struct cloud_creds creds;
    enum err_code (*refresh)(struct cloud_principal *p, struct err *err);
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
