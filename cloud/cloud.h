/* cloud - what Parapet knows about the AWS cloud it serves: partitions and regions, account ids,
 * role ARNs, and the onboarding template (the cross-account read-only role). Pure functions, no
 * I/O, thread-safe. The AWS client itself (credentials, SigV4, STS, Lambda, IAM) lives beside
 * this in cloud/ too. Errors: bool results, or enum err_code with a client-safe detail. */
#ifndef PARAPET_CLOUD_H
#define PARAPET_CLOUD_H

#include "server/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* True for a region of the commercial "aws" partition that Parapet serves. */
bool cloud_region_is_known(const char *region);

/* True for a 12-digit AWS account id. */
bool cloud_account_id_is_valid(const char *id);

/* Parses an IAM role ARN "arn:aws:iam::123456789012:role/path/Name": partition, account and
 * name checked; writes the account id into account[13]. ERR_INVALID (malformed) or
 * ERR_UNPROCESSABLE (a partition Parapet does not serve), with field "role_arn". */
enum err_code cloud_role_arn_parse(const char *arn, char account[13], struct err *err);

/* A new external ID: "parapet-" and 48 random hex characters (192 bits). out[64]. */
void cloud_external_id_new(char out[64]);

/* The CloudFormation template (JSON) for the role: trusts vendor_account's root on condition of
 * external_id (both prefilled as parameter defaults), attaches SecurityAudit and an inline policy
 * for the Lambda and API Gateway reads it lacks, and outputs the role ARN. New reference. */
json_t *cloud_onboarding_template(const char *vendor_account, const char *external_id);

/* The console quick-create URL for template_url with the parameters prefilled, or NULL when
 * template_url is NULL. Caller frees. */
char *cloud_quick_create_url(const char *template_url, const char *region,
                             const char *vendor_account, const char *external_id);

#endif
