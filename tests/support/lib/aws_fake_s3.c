/* aws_fake_s3 - the code package download: GetFunction's Code.Location is an S3-style presigned
 * GET on the fake's own address, signed (service s3, X-Amz-Expires) with credentials only the
 * fake knows; a plain GET of it returns the function's CodeZip. See aws_fake.h. */
#include "tests/support/lib/aws_fake.h"

#include "cloud/sigv4.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool awsf_code_signer_init(struct awsf_code_signer *s, const struct awsf_world *w,
                           unsigned expire_s)
{
    memset(s, 0, sizeof *s);
    s->w = w;
    s->expire_s = expire_s;
    memcpy(s->akid, "ASIA", 4);
    memcpy(s->token, "IQoJb3JpZ2luX2Vj", 16);
    return awsf_rand_chars(s->akid + 4, 16, awsf_upper_alnum, strlen(awsf_upper_alnum)) &&
           awsf_rand_chars(s->secret, 40, awsf_base64_chars, strlen(awsf_base64_chars)) &&
           awsf_rand_chars(s->token + 16, 100, awsf_base64_chars, strlen(awsf_base64_chars));
}

void awsf_code_signer_wipe(struct awsf_code_signer *s)
{
    OPENSSL_cleanse(s, sizeof *s);
}

/* Presigns GET http://<host>/snapshots/<account>/<name>-<id>?versionId=<v> at when. */
/* Presigns GET http://<host>/snapshots/<account>/<name>-<id>?versionId=<v> at when. */
static bool presign(const struct awsf_code_signer *f, const char *host, const struct awsf_fn *fn,
                    time_t when, unsigned expires, struct cloud_sigv4_result *res, char path[512])
{
    struct cloud_sigv4_header h = {"Host", host};
    struct cloud_sigv4_creds cr = {f->akid, f->secret, f->token};
    struct cloud_sigv4_request req;
    char id[40], version[40], query[64];
    const char *sha = json_string_value(json_object_get(fn->list_item, "CodeSha256"));
    struct err err;

    awsf_derived_id("", sha ? sha : fn->name, 32, id, sizeof id);
    awsf_derived_id("", id, 32, version, sizeof version);
    snprintf(path, 512, "/snapshots/%s/%s-%.8s-%.4s-%.4s-%.4s-%.12s", f->w->account, fn->name, id,
             id + 8, id + 12, id + 16, id + 20);
    snprintf(query, sizeof query, "versionId=%s", version);
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = path;
    req.query = query;
    req.headers = &h;
    req.header_count = 1;
    req.payload_hash = CLOUD_SIGV4_UNSIGNED_PAYLOAD;
    req.region = f->w->region;
    req.service = "s3";
    req.when = when;
    req.flags = CLOUD_SIGV4_S3;
    memset(res, 0, sizeof *res);
    return cloud_sigv4_presign(&req, &cr, expires, res, &err) == ERR_OK;
}

bool awsf_code_url(const struct awsf_code_signer *s, const char *host, const struct awsf_fn *fn,
                   struct sbuf *out)
{
    struct cloud_sigv4_result res;
    char path[512];

    if (host == NULL || s->w == NULL || !presign(s, host, fn, time(NULL), s->expire_s, &res, path))
        return false;
    sb_printf(out, "http://%s%s?", host, path);
    sb_lit(out, res.query);
    cloud_sigv4_result_free(&res);
    return true;
}

/* An empty zip: the end-of-central-directory record alone. */
static const unsigned char empty_zip[22] = {0x50, 0x4b, 0x05, 0x06};

/* GET /snapshots/...: the zip, when the query is exactly what code_url() signed and has not
 * expired (fake: S3 would accept an equivalent re-encoding; clients must not re-encode). */
void awsf_code_download(const struct awsf_code_signer *f, const char *method, const char *path,
                        const char *query, const char *host, char name[200], struct awsf_reply *rp)
{
    char prefix[64], *dash, want_path[512];
    struct awsf_params q = {0};
    const char *date, *expires, *sig;
    char why[160];
    const struct awsf_fn *fn = NULL;
    unsigned long exp;
    time_t when;
    struct cloud_sigv4_result res;
    const json_t *idx;

    if (f->w == NULL) {
        awsf_fail(rp, 404, "NoSuchKey", "The specified key does not exist.");
        return;
    }
    snprintf(prefix, sizeof prefix, "/snapshots/%s/", f->w->account);
    if (strcmp(method, "GET") != 0) {
        awsf_fail(rp, 405, "MethodNotAllowed",
                  "The specified method is not allowed against this resource.");
        return;
    }
    if (strncmp(path, prefix, strlen(prefix)) == 0 && strlen(path + strlen(prefix)) < 200) {
        snprintf(name, 200, "%s", path + strlen(prefix));
        dash = strlen(name) > 37 ? name + strlen(name) - 37 : NULL;
        if (dash != NULL && *dash == '-') {
            *dash = '\0';
            idx = json_object_get(f->w->fn_by_name, name);
            if (idx != NULL)
                fn = &f->w->fns[json_integer_value(idx)];
        }
    }
    if (fn == NULL) {
        awsf_fail(rp, 404, "NoSuchKey", "The specified key does not exist.");
        return;
    }
    if (!awsf_params_parse(query, strlen(query), &q, why, sizeof why) ||
        (date = awsf_param(&q, "X-Amz-Date")) == NULL ||
        (expires = awsf_param(&q, "X-Amz-Expires")) == NULL ||
        (sig = awsf_param(&q, "X-Amz-Signature")) == NULL ||
        awsf_param(&q, "X-Amz-Credential") == NULL || awsf_param(&q, "X-Amz-Algorithm") == NULL ||
        !awsf_parse_amz_date(date, &when) || !fake_parse_ulong(expires, 1, 604800, &exp)) {
        awsf_params_free(&q);
        awsf_fail(rp, 403, "AccessDenied",
                  "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                  "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                  "X-Amz-Expires parameters.");
        return;
    }
    awsf_params_free(&q);
    if (time(NULL) > when + (time_t)exp) {
        awsf_fail(rp, 403, "AccessDenied", "Request has expired");
        return;
    }
    if (host == NULL || !presign(f, host, fn, when, (unsigned)exp, &res, want_path)) {
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you "
                  "provided. Check your key and signing method.");
        return;
    }
    if (strcmp(res.query, query) != 0 || strcmp(want_path, path) != 0) {
        cloud_sigv4_result_free(&res);
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you "
                  "provided. Check your key and signing method.");
        return;
    }
    cloud_sigv4_result_free(&res);
    rp->body_len = fn->zip ? fn->zip_len : sizeof empty_zip;
    rp->body = malloc(rp->body_len + 1);
    if (rp->body == NULL) {
        awsf_fail(rp, 500, "InternalError", "We encountered an internal error. Please try again.");
        return;
    }
    memcpy(rp->body, fn->zip ? fn->zip : empty_zip, rp->body_len);
    rp->body[rp->body_len] = '\0';
    rp->status = 200;
    rp->content_type = "application/zip";
}
