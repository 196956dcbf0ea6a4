/* The audit log: who did what, when and from where, newest first. */
#include "api/api.h"

#include "db/db.h"


enum err_code api_audit_list(struct api_req *req, struct err *err)
{
    return api_reply_list(req, db_audit_list, API_CURSOR_INT, err);
}
