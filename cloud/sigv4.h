/* sigv4 - AWS Signature Version 4 (AWS4-HMAC-SHA256) over OpenSSL, for the requests Parapet makes
 * to AWS (STS, IAM, Lambda, API Gateway) and for test fakes that check them. Checked against
 * AWS's public test suite (tests/data/sigv4, all cases, header and presigned forms). Pure: no
 * I/O, no clock (the caller passes the time), no global state, so thread-safe.
 *
 * What is signed. The caller describes the request as it will go on the wire; the signer
 * canonicalises it (docs/AWS "Create a signed request"):
 * - path: the wire path, already percent-encoded where the caller needed to (a Lambda ARN is
 *   "arn%3Aaws%3A..."). By default (every service except S3) "." and ".." segments and repeated
 *   slashes are removed and every byte other than A-Z a-z 0-9 - . _ ~ and '/' is encoded as %XX,
 *   so a '%' on the wire is signed as "%25": AWS's "double encoding". Send the path you passed.
 *   CLOUD_SIGV4_S3 signs the wire path verbatim instead (it must be encoded once already).
 * - query: the wire query without '?'. Pairs split on '&' and at the first '='; %XX escapes are
 *   decoded and every byte re-encoded as above, so "%e1%88%b4", "%E1%88%B4" and raw UTF-8 sign
 *   alike. '+' is a literal plus (send spaces as %20). "k" and "k=" both sign as "k="; pairs are
 *   sorted by key, then value; empty pairs ("a=1&&b=2") are skipped.
 * - headers: everything the HTTP client will send. Names are case-insensitive HTTP tokens;
 *   values are trimmed, runs of spaces/tabs become one space, and repeated names are joined with
 *   ',' in the order given. Hop-by-hop and proxy-mutated headers (Connection, Expect, Keep-Alive,
 *   Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade, User-Agent, X-Amzn-Trace-Id) may be passed
 *   and are left unsigned. Authorization must not be passed. A value may not contain CR, LF or
 *   other control bytes except tab (unfold obs-fold lines with a space before calling).
 *
 * What the caller must add. res->add[0..add_count) lists the headers to send in addition to
 * req->headers, in this order, each only when needed:
 *   Host                  req->host, when req->headers has no Host
 *   X-Amz-Date            when req->headers has none (one there must equal the signing time)
 *   X-Amz-Security-Token  with temporary credentials, unless req->headers carries it
 *   x-amz-content-sha256  with CLOUD_SIGV4_SIGN_CONTENT_SHA256 (S3), unless already there
 *   Authorization         always last (header form only)
 * All but Authorization are signed (the token not under CLOUD_SIGV4_TOKEN_UNSIGNED). Send
 * req->headers plus add[] and the request is exactly what was signed. A caller-supplied
 * X-Amz-Date, X-Amz-Security-Token or x-amz-content-sha256 that disagrees with the inputs is
 * ERR_INVALID.
 *
 * Ownership. A result owns one heap block holding every string it points to; free it with
 * cloud_sigv4_result_free() (wipes it). Copying the struct is fine; free one copy once. On any
 * error the result is left empty (freeing it is still safe). The secret never appears in a
 * result; the canonical request does contain the session token and header values, so log it
 * only at debug level, never the secret or the signing key.
 *
 * Errors: ERR_INVALID (with err->field) for missing, malformed or oversized input (see the
 * CLOUD_SIGV4_MAX_* limits), ERR_NOMEM, ERR_INTERNAL if OpenSSL fails. */
#ifndef PARAPET_CLOUD_SIGV4_H
#define PARAPET_CLOUD_SIGV4_H

#include "server/err.h"

#include <stddef.h>
#include <time.h>

#define CLOUD_SIGV4_KEY_LEN 32 /* bytes of a derived signing key (HMAC-SHA256) */
#define CLOUD_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define CLOUD_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define CLOUD_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Input limits; anything larger is ERR_INVALID. */
#define CLOUD_SIGV4_MAX_PATH 4096          /* bytes of path */
#define CLOUD_SIGV4_MAX_QUERY 8192         /* bytes of query */
#define CLOUD_SIGV4_MAX_PARAMS 128         /* query pairs */
#define CLOUD_SIGV4_MAX_HEADERS 64         /* entries in req->headers */
#define CLOUD_SIGV4_MAX_HEADER_NAME 128    /* bytes of one header name */
#define CLOUD_SIGV4_MAX_HEADER_BYTES 16384 /* sum of header name and value bytes */
#define CLOUD_SIGV4_MAX_TOKEN 8192         /* bytes of a session token */
#define CLOUD_SIGV4_MAX_EXPIRES 604800     /* seconds a presigned request may live (7 days) */

/* Bits for cloud_sigv4_request.flags. Zero is right for every service except S3. */
enum cloud_sigv4_flag {
    CLOUD_SIGV4_NO_NORMALIZE_PATH = 1 << 0,   /* keep "." / ".." segments and repeated '/' */
    CLOUD_SIGV4_PATH_VERBATIM = 1 << 1,       /* sign the wire path as is: no second encoding */
    CLOUD_SIGV4_SIGN_CONTENT_SHA256 = 1 << 2, /* add and sign x-amz-content-sha256 (header form) */
    CLOUD_SIGV4_TOKEN_UNSIGNED = 1 << 3,      /* send the session token but leave it unsigned */
    CLOUD_SIGV4_S3 = (1 << 0) | (1 << 1) | (1 << 2) /* S3's rules */
};

/* One header. Borrowed strings; in results they point into the result's block. */
struct cloud_sigv4_header {
    const char *name;
    const char *value;
};

/* Credentials; borrowed for the call. session_token NULL or "" for long-term keys. */
struct cloud_sigv4_creds {
    const char *access_key_id;     /* 1..128 of A-Z a-z 0-9 */
    const char *secret_access_key; /* 1..128 printable ASCII, no space */
    const char *session_token;     /* printable ASCII, at most CLOUD_SIGV4_MAX_TOKEN */
};

/* The request to sign; every pointer is borrowed for the call. */
struct cloud_sigv4_request {
    const char *method; /* an HTTP token as sent: "GET", "POST" */
    const char *path;   /* wire path starting with '/' (no '?', '#' or control bytes); NULL = "/" */
    const char *query;  /* wire query without '?'; NULL or "" = none */
    const struct cloud_sigv4_header *headers; /* NULL when header_count is 0 */
    size_t header_count;
    const char *host;    /* Host value when headers have none; NULL = headers must */
    const void *payload; /* body; NULL when payload_len is 0 */
    size_t payload_len;
    const char *payload_hash; /* NULL = hex SHA-256 of payload; else used as is: 64 lower-case
                               * hex digits or an upper-case marker such as UNSIGNED-PAYLOAD */
    const char *region;       /* "us-east-1": a-z 0-9 '-', at most 32 */
    const char *service;      /* signing name "sts", "iam", "lambda": A-Z a-z 0-9 . _ -, <= 64 */
    time_t when;              /* request time, seconds since the epoch (UTC), year <= 9999 */
    unsigned flags;           /* enum cloud_sigv4_flag bits */
};

#define CLOUD_SIGV4_MAX_ADD 5

/* A signature and how it was reached. Pointers point into mem (one block, freed as a whole). */
struct cloud_sigv4_result {
    const char *canonical_request; /* for tests and debug logs (contains the token) */
    const char *string_to_sign;
    const char *credential_scope; /* "20150830/us-east-1/iam/aws4_request" */
    const char *signed_headers;   /* "host;x-amz-date" */
    const char *authorization;    /* Authorization value (header form); NULL when presigned */
    const char *query;            /* presigned: the whole query to send, without '?'; else NULL */
    char signature[65];           /* lower-case hex */
    char amz_date[17];            /* "20150830T123600Z" */
    char payload_hash[65];        /* as signed (hex or marker) */
    struct cloud_sigv4_header add[CLOUD_SIGV4_MAX_ADD]; /* headers the caller must send too */
    size_t add_count;
    char *mem; /* private */
    size_t mem_len;
};

/* Signs req for the Authorization header. Fills *res (caller frees with cloud_sigv4_result_free,
 * on success). req, creds, res: not NULL. Returns ERR_OK, ERR_INVALID, ERR_NOMEM or
 * ERR_INTERNAL. */
enum err_code cloud_sigv4_sign(const struct cloud_sigv4_request *req,
                               const struct cloud_sigv4_creds *creds,
                               struct cloud_sigv4_result *res, struct err *err);

/* Presigns req (query-string form), valid for expires_s seconds (1..CLOUD_SIGV4_MAX_EXPIRES).
 * The X-Amz-Algorithm, -Credential, -Date, -Expires, -Security-Token and -SignedHeaders
 * parameters are signed in the query (req->query must not carry them); res->query is the full
 * query to send instead of req->query, ending with X-Amz-Signature (and then the token under
 * CLOUD_SIGV4_TOKEN_UNSIGNED). Headers are signed as for cloud_sigv4_sign() but X-Amz-Date and
 * the token are not headers here, and CLOUD_SIGV4_SIGN_CONTENT_SHA256 is ignored (S3 presigns
 * usually pass payload_hash = CLOUD_SIGV4_UNSIGNED_PAYLOAD). res->add holds at most Host. */
enum err_code cloud_sigv4_presign(const struct cloud_sigv4_request *req,
                                  const struct cloud_sigv4_creds *creds, unsigned expires_s,
                                  struct cloud_sigv4_result *res, struct err *err);

/* Wipes and frees what res holds and empties it. NULL-safe; safe on an empty result. */
void cloud_sigv4_result_free(struct cloud_sigv4_result *res);

/* Derives the signing key HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request") into key (CLOUD_SIGV4_KEY_LEN bytes), e.g. for a fake AWS endpoint that
 * recomputes signatures. date is "YYYYMMDD". The caller wipes key (OPENSSL_cleanse) when done.
 * Returns ERR_OK, ERR_INVALID (bad argument) or ERR_INTERNAL. */
enum err_code cloud_sigv4_signing_key(const char *secret_access_key, const char *date,
                                      const char *region, const char *service,
                                      unsigned char key[CLOUD_SIGV4_KEY_LEN], struct err *err);

#endif
