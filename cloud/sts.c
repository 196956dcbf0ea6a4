#define _DEFAULT_SOURCE 1 /* timegm */
#include "cloud/aws.h"

#include "cloud/sigv4.h"
#include "net/net.h"
#include "server/log.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


enum err_code cloud_creds_from_env(struct cloud_creds *out, struct err *err)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");

    memset(out, 0, sizeof *out);
    if (id == NULL || secret == NULL || id[0] == '\0' || secret[0] == '\0' ||
        strlen(id) >= sizeof out->access_key_id || strlen(secret) >= sizeof out->secret_access_key)
        return err_set(err, ERR_UNAVAILABLE, "Parapet's AWS identity is not configured");
    snprintf(out->access_key_id, sizeof out->access_key_id, "%s", id);
    snprintf(out->secret_access_key, sizeof out->secret_access_key, "%s", secret);
    if (token != NULL && token[0] != '\0') {
        out->session_token = strdup(token);
        if (out->session_token == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
    }
    return ERR_OK;
}

void cloud_creds_clear(struct cloud_creds *c)
{
    if (c == NULL)
        return;
    if (c->session_token != NULL) {
        OPENSSL_cleanse(c->session_token, strlen(c->session_token));
        free(c->session_token);
    }
    OPENSSL_cleanse(c, sizeof *c);
    memset(c, 0, sizeof *c);
}

char *cloud_endpoint(const char *service, const char *region)
{
    char name[64], *out;
    const char *v;
    size_t i, n;

    n = (size_t)snprintf(name, sizeof name, "AWS_ENDPOINT_URL_%s", service);
    for (i = 17; i < n && i < sizeof name; i++)
        name[i] = (char)toupper((unsigned char)name[i]);
    v = getenv(name);
    if (v == NULL || v[0] == '\0')
        v = getenv("AWS_ENDPOINT_URL");
    if (v != NULL && v[0] != '\0')
        return strdup(v);
    n = strlen(service) + strlen(region) + 32;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "https://%s.%s.amazonaws.com", service, region);
    return out;
}

static bool xml_text(const char *xml, const char *tag, char *out, size_t n)
{
    return cloud_xml_text(xml, xml + strlen(xml), tag, out, n);
}

/* One signed STS call (Query protocol); on success *resp holds the 200 answer. AWS's refusals
 * are ERR_UPSTREAM with aws_error set. */
static enum err_code sts_call(const struct cloud_creds *c, const char *region, const char *body,
                              struct cloud_reply *resp, char aws_error[64], struct err *err)
{
    struct cloud_principal p = {.creds = *c}; /* borrowed: never cleared here */
    struct cloud_call call = {.service = "sts", .region = region, .method = "POST", .path = "/",
                              .body = body, .max_response = 64 * 1024};
    enum err_code rc = cloud_call(&p, &call, resp, err);

    aws_error[0] = '\0';
    if (rc == ERR_UNAVAILABLE)
        return err_set(err, ERR_UNAVAILABLE, "AWS STS is unavailable (%s)", err->detail);
    if (rc != ERR_OK)
        return rc;
    if (resp->status == 200)
        return ERR_OK;
    snprintf(aws_error, 64, "%s", resp->aws_error);
    cloud_reply_free(resp);
    return err_set(err, ERR_UPSTREAM, "AWS refused: %s", aws_error);
}

enum err_code cloud_sts_assume_role(const struct cloud_creds *caller, const char *region,
                                    const char *role_arn, const char *external_id,
                                    const char *session_name, struct cloud_creds *out,
                                    char aws_error[64], struct err *err)
{
    char body[4096];
    size_t len = 0;
    struct cloud_reply resp;
    char token[8192], expiration[40];
    struct tm tm;
    enum err_code rc;

    memset(out, 0, sizeof *out);
    aws_error[0] = '\0';
    if (!cloud_form_add(body, sizeof body, &len, "Action", "AssumeRole") ||
        !cloud_form_add(body, sizeof body, &len, "Version", "2011-06-15") ||
        !cloud_form_add(body, sizeof body, &len, "RoleArn", role_arn) ||
        !cloud_form_add(body, sizeof body, &len, "RoleSessionName", session_name) ||
        !cloud_form_add(body, sizeof body, &len, "DurationSeconds", "3600") ||
        (external_id != NULL && !cloud_form_add(body, sizeof body, &len, "ExternalId", external_id)))
        return err_set(err, ERR_INVALID, "request too large");
    rc = sts_call(caller, region, body, &resp, aws_error, err);
    if (rc != ERR_OK)
        return rc;
    if (!xml_text(resp.body, "AccessKeyId", out->access_key_id, sizeof out->access_key_id) ||
        !xml_text(resp.body, "SecretAccessKey", out->secret_access_key,
                  sizeof out->secret_access_key) ||
        !xml_text(resp.body, "SessionToken", token, sizeof token) ||
        !xml_text(resp.body, "Expiration", expiration, sizeof expiration)) {
        rc = err_set(err, ERR_UPSTREAM, "AWS answered AssumeRole without credentials");
        goto out;
    }
    memset(&tm, 0, sizeof tm);
    if (sscanf(expiration, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        out->expires = timegm(&tm);
    }
    out->session_token = strdup(token);
    if (out->session_token == NULL)
        rc = err_set(err, ERR_NOMEM, "out of memory");
out:
    OPENSSL_cleanse(token, sizeof token);
    cloud_reply_free(&resp);
    if (rc != ERR_OK)
        cloud_creds_clear(out);
    return rc;
}

enum err_code cloud_sts_caller_account(const struct cloud_creds *creds, const char *region,
                                       char account[13], char aws_error[64], struct err *err)
{
    struct cloud_reply resp;
    enum err_code rc;

    account[0] = '\0';
    rc = sts_call(creds, region, "Action=GetCallerIdentity&Version=2011-06-15", &resp, aws_error,
                  err);
    if (rc != ERR_OK)
        return rc;
    if (!xml_text(resp.body, "Account", account, 13) || strlen(account) != 12)
        rc = err_set(err, ERR_UPSTREAM, "AWS answered GetCallerIdentity without an account");
    cloud_reply_free(&resp);
    return rc;
}
