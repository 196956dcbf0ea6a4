/* aws_fake_reply - error bodies in each protocol's shape: Query XML ErrorResponse (STS, IAM),
 * rest-json with x-amzn-ErrorType (Lambda: Type and Message/message; API Gateway: message) and
 * S3's XML Error (the code download). See aws_fake.h. */
#include "tests/support/lib/aws_fake.h"

#include <stdlib.h>
#include <string.h>

/* The signature and credential codes as the JSON services name them (Query services use the
 * left column), and their status there. */
static const struct {
    const char *xml;
    const char *json;
    unsigned status;
} json_codes[] = {
    {"SignatureDoesNotMatch", "InvalidSignatureException", 403},
    {"InvalidClientTokenId", "UnrecognizedClientException", 403},
    {"ExpiredToken", "ExpiredTokenException", 403},
    {"IncompleteSignature", "IncompleteSignatureException", 400},
    {"MissingAuthenticationToken", "MissingAuthenticationTokenException", 403},
};

/* Lambda exceptions whose body says "message" rather than "Message". */
static const char *const lower_message[] = {
    "InvalidParameterValueException",
    "TooManyRequestsException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "UnknownOperationException",
};

/* The Query protocol's XML error (STS, IAM). */
static char *xml_error(const char *ns, const struct awsf_reply *rp, const char *rid)
{
    struct sbuf b = {.max = 64 * 1024};

    sb_lit(&b, "<ErrorResponse xmlns=\"");
    sb_lit(&b, ns);
    sb_lit(&b, "\">\n  <Error>\n");
    awsf_sb_elem(&b, "    ", "Type", rp->status >= 500 ? "Receiver" : "Sender");
    awsf_sb_elem(&b, "    ", "Code", rp->code);
    awsf_sb_elem(&b, "    ", "Message", rp->message);
    sb_lit(&b, "  </Error>\n");
    awsf_sb_elem(&b, "  ", "RequestId", rid);
    sb_lit(&b, "</ErrorResponse>\n");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* An S3 error, as the code download answers. */
static char *s3_error(const struct awsf_reply *rp, const char *rid)
{
    struct sbuf b = {.max = 64 * 1024};

    sb_lit(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    awsf_sb_elem(&b, "", "Code", rp->code);
    awsf_sb_elem(&b, "", "Message", rp->message);
    awsf_sb_elem(&b, "", "RequestId", rid);
    awsf_sb_elem(&b, "", "HostId", "ZmFrZV9hd3MgaG9zdCBpZA==");
    sb_lit(&b, "</Error>\n");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

char *awsf_error_body(enum awsf_service svc, const struct awsf_reply *rp, const char *rid,
                      unsigned *status, const char **code, const char **ct)
{
    char *body = NULL;

    *ct = "text/xml";
    if (svc == AWSF_STS) {
        body = xml_error("https://sts.amazonaws.com/doc/2011-06-15/", rp, rid);
    } else if (svc == AWSF_IAM) {
        /* IAM answers an expired session with 403, STS with 400. */
        if (strcmp(*code, "ExpiredToken") == 0)
            *status = 403;
        body = xml_error("https://iam.amazonaws.com/doc/2010-05-08/", rp, rid);
    } else if (svc == AWSF_S3) {
        body = s3_error(rp, rid);
        *ct = "application/xml";
    } else {
        json_t *o;
        const char *key = "message";
        for (size_t i = 0; i < sizeof json_codes / sizeof json_codes[0]; i++) {
            if (strcmp(*code, json_codes[i].xml) == 0) {
                *code = json_codes[i].json;
                *status = json_codes[i].status;
            }
        }
        if (strcmp(*code, "InternalFailure") == 0)
            *code = svc == AWSF_LAMBDA ? "ServiceException" : "InternalServerErrorException";
        if (svc == AWSF_LAMBDA) {
            key = "Message";
            for (size_t i = 0; i < sizeof lower_message / sizeof lower_message[0]; i++) {
                if (strcmp(*code, lower_message[i]) == 0)
                    key = "message";
            }
            o = json_pack("{s:s, s:s}", "Type", *status >= 500 ? "Service" : "User", key,
                          rp->message);
            if (o != NULL && strcmp(*code, "TooManyRequestsException") == 0)
                json_object_set_new(o, "Reason", json_string("CallerRateLimitExceeded"));
        } else {
            o = json_pack("{s:s}", key, rp->message);
        }
        body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        *ct = "application/json";
    }
    return body;
}
