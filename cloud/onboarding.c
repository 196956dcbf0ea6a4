#include "cloud/cloud.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The commercial partition's regions (2026). A region missing here is refused at onboarding, not
 * silently skipped; adding one is a one-line change. */
static const char *const regions[] = {
    "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",      "af-south-1",
    "ap-east-1",      "ap-east-2",      "ap-south-1",     "ap-south-2",     "ap-southeast-1",
    "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ca-central-1",   "ca-west-1",
    "eu-central-1",   "eu-central-2",   "eu-west-1",      "eu-west-2",      "eu-west-3",
    "eu-south-1",     "eu-south-2",     "eu-north-1",     "il-central-1",   "me-south-1",
    "me-central-1",   "mx-central-1",   "sa-east-1",
};

bool cloud_region_is_known(const char *region)
{
    for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++)
        if (strcmp(regions[i], region) == 0)
            return true;
    return false;
}

bool cloud_account_id_is_valid(const char *id)
{
    size_t n = strspn(id, "0123456789");
    return n == 12 && id[12] == '\0';
}

enum err_code cloud_role_arn_parse(const char *arn, char account[13], struct err *err)
{
    static const char iam[] = ":iam::";
    const char *p, *name;
    size_t plen;

    if (strncmp(arn, "arn:", 4) != 0 || strlen(arn) > 2048)
        return err_set_field(err, ERR_INVALID, "role_arn", "role_arn is not an IAM role ARN");
    p = arn + 4;
    plen = strcspn(p, ":");
    if (plen == 0 || p[plen] != ':')
        return err_set_field(err, ERR_INVALID, "role_arn", "role_arn is not an IAM role ARN");
    if (strncmp(p + plen, iam, sizeof iam - 1) != 0)
        return err_set_field(err, ERR_INVALID, "role_arn", "role_arn is not an IAM role ARN");
    if (!(plen == 3 && strncmp(p, "aws", 3) == 0))
        return err_set_field(err, ERR_UNPROCESSABLE, "role_arn",
                             "only the commercial AWS partition (arn:aws:) is served");
    p += plen + sizeof iam - 1;
    if (strspn(p, "0123456789") != 12 || p[12] != ':')
        return err_set_field(err, ERR_INVALID, "role_arn", "role_arn has no 12-digit account");
    memcpy(account, p, 12);
    account[12] = '\0';
    p += 13;
    if (strncmp(p, "role/", 5) != 0)
        return err_set_field(err, ERR_INVALID, "role_arn", "role_arn must name a role (role/...)");
    name = strrchr(p, '/') + 1;
    /* IAM role names: 1-64 of [\w+=,.@-]; paths of the same plus '/'. */
    if (strlen(name) < 1 || strlen(name) > 64 ||
        strspn(p + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-/") !=
            strlen(p + 5))
        return err_set_field(err, ERR_INVALID, "role_arn", "role_arn has an invalid role name");
    return ERR_OK;
}

void cloud_external_id_new(char out[64])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[24];
    size_t p;

    if (RAND_bytes(b, sizeof b) != 1)
        abort(); /* no randomness: nothing here can be made safe */
    p = (size_t)snprintf(out, 64, "parapet-");
    for (size_t i = 0; i < sizeof b; i++) {
        out[p++] = hex[b[i] >> 4];
        out[p++] = hex[b[i] & 0xf];
    }
    out[p] = '\0';
}

/* Reads SecurityAudit lacks for a function scanner: code download (GetFunction), concurrency,
 * async invoke config, URL config, layers and API Gateway's control plane. */
static const char *const extra_actions[] = {
    "lambda:GetFunction",       "lambda:GetFunctionConcurrency",
    "lambda:GetFunctionEventInvokeConfig", "lambda:GetFunctionUrlConfig",
    "lambda:GetLayerVersion",   "lambda:GetPolicy",
    "lambda:ListEventSourceMappings",     "apigateway:GET",
};

json_t *cloud_onboarding_template(const char *vendor_account, const char *external_id)
{
    json_t *actions = json_array();
    json_t *t;

    for (size_t i = 0; i < sizeof extra_actions / sizeof extra_actions[0]; i++)
        json_array_append_new(actions, json_string(extra_actions[i]));
    t = json_pack(
        "{s:s, s:s,"
        " s:{s:{s:s, s:s, s:s, s:i, s:i, s:s}, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}},"
        " s:{s:{s:s, s:{s:{s:s}, s:s, s:i, s:{s:s, s:[{s:s, s:{s:{s:s}}, s:s, s:{s:{s:{s:s}}}}]},"
        "   s:[{s:s}], s:[{s:s, s:{s:s, s:[{s:s, s:o, s:s}]}}]}}},"
        " s:{s:{s:s, s:{s:[s, s]}}}}",
        "AWSTemplateFormatVersion", "2010-09-09", "Description",
        "Parapet read-only cross-account role for serverless security scanning",
        "Parameters",
        "ExternalId", "Type", "String", "Default", external_id, "Description",
        "External ID issued by Parapet for this account (do not change)", "MinLength", 2,
        "MaxLength", 1224, "AllowedPattern", "[\\w+=,.@:/-]*",
        "VendorAccountId", "Type", "String", "Default", vendor_account, "AllowedPattern",
        "[0-9]{12}", "Description", "Parapet's AWS account, allowed to assume the role (do not change)",
        "RoleName", "Type", "String", "Default", "ParapetSecurityReadOnly",
        "Resources", "ParapetRole", "Type", "AWS::IAM::Role", "Properties", "RoleName", "Ref",
        "RoleName", "Description", "Read-only access for Parapet security scanning",
        "MaxSessionDuration", 3600, "AssumeRolePolicyDocument", "Version", "2012-10-17",
        "Statement", "Effect", "Allow", "Principal", "AWS", "Fn::Sub",
        "arn:${AWS::Partition}:iam::${VendorAccountId}:root", "Action", "sts:AssumeRole",
        "Condition", "StringEquals", "sts:ExternalId", "Ref", "ExternalId",
        "ManagedPolicyArns", "Fn::Sub", "arn:${AWS::Partition}:iam::aws:policy/SecurityAudit",
        "Policies", "PolicyName", "ParapetServerlessDeepScan", "PolicyDocument", "Version",
        "2012-10-17", "Statement", "Effect", "Allow", "Action", actions, "Resource", "*",
        "Outputs", "RoleArn", "Description", "Give this ARN to Parapet", "Value", "Fn::GetAtt",
        "ParapetRole", "Arn");
    return t;
}

static void url_encode(const char *in, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t p = 0;
    for (const unsigned char *c = (const unsigned char *)in; *c && p + 4 < n; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            out[p++] = (char)*c;
        } else {
            out[p++] = '%';
            out[p++] = hex[*c >> 4];
            out[p++] = hex[*c & 0xf];
        }
    }
    out[p] = '\0';
}

char *cloud_quick_create_url(const char *template_url, const char *region,
                             const char *vendor_account, const char *external_id)
{
    char tmpl[3200], ext[200];
    char *out;
    size_t n;

    if (template_url == NULL)
        return NULL;
    url_encode(template_url, tmpl, sizeof tmpl);
    url_encode(external_id, ext, sizeof ext);
    n = strlen(tmpl) + strlen(ext) + 512;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n,
                 "https://console.aws.amazon.com/cloudformation/home?region=%s#/stacks/"
                 "quickcreate?templateURL=%s&stackName=ParapetSecurity&param_ExternalId=%s"
                 "&param_VendorAccountId=%s",
                 region, tmpl, ext, vendor_account);
    return out;
}
