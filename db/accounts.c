#include "db/db_int.h"

#include <stdio.h>

#define ACCOUNT_JSON                                                                            \
    "json_build_object('id', account_id, 'provider', provider, 'aws_account_id',"              \
    "  aws_account_id, 'name', name, 'regions', to_json(regions), 'status', status,"           \
    "  'external_id', external_id, 'role_arn', role_arn, 'last_error', last_error,"            \
    "  'scan_interval_s', scan_interval_s, 'created_at', " TS("created_at") ","                \
    "  'connected_at', " TS("connected_at") ")"

static const struct db_stmt create_stmt = {
    "account_create",
    "INSERT INTO cloud_accounts (tenant_id, account_id, provider, aws_account_id, name, regions,"
    "                            external_id)"
    " VALUES ($1, $2, 'aws', $3, $4, ARRAY(SELECT json_array_elements_text($5::json)), $6)"
    " RETURNING " ACCOUNT_JSON,
    6};

enum err_code db_account_create(struct db_tx *tx, const char *tenant_id, const char *account_id,
                                const char *aws_account_id, const char *name,
                                const char *regions_json, const char *external_id, json_t **out,
                                struct err *err)
{
    const char *p[6] = {tenant_id, account_id, aws_account_id, name, regions_json, external_id};
    enum err_code rc = db_exec_json(tx, &create_stmt, p, out, err);
    if (rc == ERR_CONFLICT)
        return err_set_field(err, ERR_CONFLICT, "aws_account_id",
                             "this AWS account is already connected");
    return rc;
}

static const struct db_stmt get_stmt = {
    "account_get", "SELECT " ACCOUNT_JSON " FROM cloud_accounts WHERE account_id = $1", 1};

enum err_code db_account_get(struct db_tx *tx, const char *account_id, json_t **out,
                             struct err *err)
{
    const char *p[1] = {account_id};
    return db_exec_json(tx, &get_stmt, p, out, err);
}

static const struct db_stmt list_stmt = {
    "account_list",
    "SELECT " ACCOUNT_JSON ", account_id FROM cloud_accounts"
    " WHERE ($2::uuid IS NULL OR account_id > $2::uuid) ORDER BY account_id LIMIT $1::int",
    2};

enum err_code db_account_list(struct db_tx *tx, int limit, const char *after, json_t **items,
                              char *next, size_t nextlen, struct err *err)
{
    return db_list_json(tx, &list_stmt, limit, after, items, next, nextlen, err);
}

static const struct db_stmt delete_stmt = {
    "account_delete", "DELETE FROM cloud_accounts WHERE account_id = $1", 1};

enum err_code db_account_delete(struct db_tx *tx, const char *account_id, bool *found,
                                struct err *err)
{
    const char *p[1] = {account_id};
    return db_exec_found(tx, &delete_stmt, p, found, err);
}

static const struct db_stmt connect_begin_stmt = {
    "account_connect_begin",
    "UPDATE cloud_accounts SET connect_attempted_at = now()"
    " WHERE account_id = $1 AND (connect_attempted_at IS NULL"
    "       OR connect_attempted_at < now() - make_interval(secs => $2::int))",
    2};

enum err_code db_account_connect_begin(struct db_tx *tx, const char *account_id,
                                       unsigned min_gap_s, bool *allowed, struct err *err)
{
    char gap[16];
    const char *p[2] = {account_id, gap};
    long long n = 0;
    enum err_code rc;

    snprintf(gap, sizeof gap, "%u", min_gap_s);
    rc = db_exec_count(tx, &connect_begin_stmt, p, &n, err);
    *allowed = n == 1;
    return rc;
}

static const struct db_stmt set_status_stmt = {
    "account_set_status",
    "UPDATE cloud_accounts SET status = $2, last_error = $4, updated_at = now(),"
    "       role_arn = CASE WHEN $2 = 'active' THEN $3 ELSE role_arn END,"
    "       connected_at = CASE WHEN $2 = 'active' THEN now() ELSE connected_at END"
    " WHERE account_id = $1 RETURNING " ACCOUNT_JSON,
    4};

enum err_code db_account_set_status(struct db_tx *tx, const char *account_id, const char *status,
                                    const char *role_arn, const char *last_error, json_t **out,
                                    struct err *err)
{
    const char *p[4] = {account_id, status, role_arn, last_error};
    return db_exec_json(tx, &set_status_stmt, p, out, err);
}
