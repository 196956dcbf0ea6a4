/* aws_fake - the pieces of the fake AWS endpoint (tests/support/fake_aws.c) that are not STS:
 * a world of Lambda functions, IAM roles and API Gateway APIs loaded from a snapshot-shaped JSON
 * file (posture/inventory.md) or generated, and the read-only Lambda, IAM and API Gateway
 * operations over it in AWS's wire shapes (reference: wire-formats.md sections 7, 8 and 9).
 * Linked into every tests/support binary; everything here carries the awsf_ prefix.
 *
 * Ownership: awsf_world_load() builds a world (from a file and/or generated) freed by
 * awsf_world_free(); after loading it is read-only, so handlers may run on any thread. A handler
 * fills a caller-owned struct awsf_reply: either an error (code set, message, status) or a
 * success body (malloc'd, freed by the caller; fake_aws wipes bodies when freeing them, as they
 * may hold environment secrets). Errors never carry secrets. Threading: no global state. */
#ifndef PARAPET_AWS_FAKE_H
#define PARAPET_AWS_FAKE_H

#include "server/sbuf.h"
#include "tests/support/lib/fake_server.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AWSF_MAX_PARAMS 64

struct awsf_call;  /* a routed request (below) */
struct awsf_reply; /* its answer (below) */

/* ---- text buffers ------------------------------------------------------------------------ */

/* Text is written into server/sbuf.h buffers (max bytes, 0 = SBUF_MAX); these add AWS's
 * escapings. */
/* s as XML element text ('&', '<', '>' escaped, control bytes replaced by '?'). */
void awsf_sb_xml(struct sbuf *b, const char *s);
/* indent "<tag>escaped text</tag>\n". */
void awsf_sb_elem(struct sbuf *b, const char *indent, const char *tag, const char *text);
/* s percent-encoded as RFC 3986 (every byte but A-Z a-z 0-9 - _ . ~ as %XX, upper-case hex). */
void awsf_sb_pct(struct sbuf *b, const char *s);

/* ---- parameters (form bodies and query strings) ------------------------------------------ */

struct awsf_params {
    char *name[AWSF_MAX_PARAMS];
    char *value[AWSF_MAX_PARAMS];
    size_t n;
};

/* Parses "a=1&b=2" with form decoding ('+' is a space, %XX a byte). Refuses empty names,
 * repeated names, a trailing '&', malformed escapes and NUL bytes: false with the reason in why.
 * p keeps what was parsed so far either way; free with awsf_params_free(). */
bool awsf_params_parse(const char *s, size_t len, struct awsf_params *p, char *why, size_t whylen);
void awsf_params_free(struct awsf_params *p);
/* Borrowed value of name, or NULL. */
const char *awsf_param(const struct awsf_params *p, const char *name);
/* Decodes %XX escapes only ('+' stays), into a new string; NULL when malformed or NUL. */
char *awsf_pct_decode(const char *s, size_t n);

/* ---- small helpers ----------------------------------------------------------------------- */

/* A random v4 UUID. */
void awsf_request_id(char out[37]);
/* prefix then n characters of [A-Z0-9] derived from SHA-256(seed). */
void awsf_derived_id(const char *prefix, const char *seed, size_t n, char *out, size_t outlen);
/* t as "YYYYMMDDTHHMMSSZ" (iso false) or "YYYY-MM-DDTHH:MM:SSZ" (iso true). */
void awsf_format_time(time_t t, bool iso, char *out, size_t n);
/* Parses "YYYYMMDDTHHMMSSZ" strictly. */
bool awsf_parse_amz_date(const char *s, time_t *out);
/* Standard base64 (with '+', '/' and '=') of data; malloc'd. */
char *awsf_base64(const unsigned char *data, size_t n);
/* A page token "<base64>" naming kind and the index of the next item: it contains '+', '/' and
 * '=' on purpose, so clients must encode it. awsf_token_parse() is false for anything else. */
char *awsf_token_new(const char *kind, size_t index);
bool awsf_token_parse(const char *token, const char *kind, size_t *index);
/* The page size to answer for a request of max items (c->short_pages halves it). */
unsigned long awsf_page_size(const struct awsf_call *c, unsigned long max);

/* Fills out[0..n) with characters of alphabet (length alen <= 256), uniformly, and NULs out[n].
 * false when the random generator fails. */
bool awsf_rand_chars(char *out, size_t n, const char *alphabet, size_t alen);
extern const char awsf_upper_alnum[];  /* A-Z 0-9: access key ids */
extern const char awsf_base64_chars[]; /* A-Z a-z 0-9 + /: secrets and tokens */

/* ---- the world --------------------------------------------------------------------------- */

struct awsf_fn {
    const char *name;   /* borrowed from list_item */
    json_t *list_item;  /* FunctionConfiguration as ListFunctions returns it */
    json_t *config;     /* ... and as GetFunction returns it (State, LastUpdateStatus) */
    json_t *src;        /* the world's function object (Policy, UrlConfig, ...) */
    unsigned char *zip; /* the code package; NULL = an empty zip */
    size_t zip_len;
};

struct awsf_world {
    char account[13];
    char region[33];
    json_t *doc;         /* the world as loaded (and generated) */
    struct awsf_fn *fns; /* in world order */
    size_t nfns;
    json_t *fn_by_name; /* name -> index */
    json_t *esms;       /* every event source mapping, FunctionArn filled */
    json_t *roles;      /* RoleName -> role object */
    json_t *policies;   /* PolicyArn -> {PolicyName, DefaultVersionId, Document, Count} */
    json_t *http_apis;  /* GetApis items */
    json_t *http_by_id; /* apiId -> world http_api */
    json_t *rest_apis;  /* GetRestApis items */
    json_t *rest_by_id; /* id -> world rest_api */
};

/* Loads a world file (NULL: none) then appends `synthetic` generated functions (0: none);
 * CodeZip paths are relative to the file's directory. false with a message in why. */
bool awsf_world_load(struct awsf_world *w, const char *path, unsigned long synthetic, char *why,
                     size_t whylen);
void awsf_world_free(struct awsf_world *w);
/* The function named by a Lambda FunctionName (name, partial or full ARN, optional qualifier in
 * *qualifier: borrowed into a static "" or part of a copy in scratch[256]); NULL when unknown. */
const struct awsf_fn *awsf_world_fn(const struct awsf_world *w, const char *function_name,
                                    char scratch[256], const char **qualifier);

/* ---- the code download (aws_fake_s3.c) ---------------------------------------------------- */

/* Signs Code.Location URLs: temporary-looking credentials only this process knows. */
struct awsf_code_signer {
    char akid[21], secret[41], token[129];
    unsigned expire_s;          /* X-Amz-Expires */
    const struct awsf_world *w; /* NULL: no world, nothing to download */
};

/* Random credentials; false when the random generator fails. Wipe with awsf_code_signer_wipe. */
bool awsf_code_signer_init(struct awsf_code_signer *s, const struct awsf_world *w,
                           unsigned expire_s);
void awsf_code_signer_wipe(struct awsf_code_signer *s);
/* Appends fn's presigned package URL on http://<host> (the request's Host) to out. */
bool awsf_code_url(const struct awsf_code_signer *s, const char *host, const struct awsf_fn *fn,
                   struct sbuf *out);
/* Answers GET /snapshots/...: the zip when the query is exactly what awsf_code_url() signed for
 * host (NULL: no single Host header) and has not expired (fake: S3 would accept an equivalent
 * re-encoding; clients must not re-encode); S3 error codes otherwise. name[200] gets the
 * function name, for counters. */
void awsf_code_download(const struct awsf_code_signer *s, const char *method, const char *path,
                        const char *query, const char *host, char name[200], struct awsf_reply *rp);

/* ---- operations -------------------------------------------------------------------------- */

enum awsf_service { AWSF_STS, AWSF_IAM, AWSF_LAMBDA, AWSF_APIGW, AWSF_S3 };

/* One routed request, everything borrowed. */
struct awsf_call {
    enum awsf_service service;
    const char *op; /* "GetPolicy" */
    const char *method;
    const char *path;                    /* raw wire path */
    const struct awsf_params *q;         /* query (Lambda, API Gateway) or form (IAM) */
    char label[3][256];                  /* decoded path labels: function name, api id, ... */
    const char *resource;                /* what the call is about, for counters and faults */
    const char *accept;                  /* Accept header or NULL */
    const char *host;                    /* Host header */
    const struct awsf_world *w;          /* NULL: nothing visible (other account or region) */
    const char *account;                 /* the caller's account */
    const char *region;                  /* the signing region */
    const char *rid;                     /* request id */
    bool short_pages;                    /* answer half pages (still truncated), as AWS may */
    const struct awsf_code_signer *code; /* signs GetFunction's Code.Location */
};

struct awsf_reply {
    unsigned status;
    const char *code; /* error code; NULL on success */
    char message[1024];
    char *body;               /* success body, malloc'd */
    const char *content_type; /* of body */
    size_t body_len;          /* bytes of a binary body; 0: strlen(body) */
    unsigned retry_after;     /* 0: no Retry-After */
};

/* The body of the error rp in svc's protocol (malloc'd; NULL when out of memory). JSON services
 * rename the signature codes (SignatureDoesNotMatch -> InvalidSignatureException, ...) and their
 * status: *status, *code and *content_type are what to send (*code goes in x-amzn-ErrorType for
 * Lambda and API Gateway). Call with *status = rp->status and *code = rp->code. */
char *awsf_error_body(enum awsf_service svc, const struct awsf_reply *rp, const char *rid,
                      unsigned *status, const char **code, const char **content_type);
void awsf_fail(struct awsf_reply *rp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets a 200 JSON body from o (stolen). */
void awsf_reply_json(struct awsf_reply *rp, json_t *o);

/* Routers: fill c->op and the labels from method and path (Lambda, API Gateway) or from the
 * form's Action (IAM); false when nothing matches (the caller answers UnknownOperation). */
bool awsf_lambda_route(struct awsf_call *c);
bool awsf_apigw_route(struct awsf_call *c);
bool awsf_iam_route(struct awsf_call *c);
/* True when Action names an IAM operation this fake serves. */
bool awsf_iam_is_action(const char *action);

/* Handlers (c routed); GetFunction signs its Code.Location with c->code. */
void awsf_lambda_handle(const struct awsf_call *c, struct awsf_reply *rp);
void awsf_iam_handle(const struct awsf_call *c, struct awsf_reply *rp);
void awsf_apigw_handle(const struct awsf_call *c, struct awsf_reply *rp);

#endif
