/* api - request handling shared by every resource: the request struct handlers receive, the
 * route table type, JSON body parsing with strict validation, and replies. Handlers return an
 * enum err_code; on failure the server sends the problem+json for it (api_problem_send), so no
 * handler builds an error body. A request belongs to one thread; replies are queued once.
 * Memory: api_body_json() returns a new jansson reference the caller decrefs; api_reply_json()
 * steals its body. Strings from api_path_param()/api_query_param() are borrowed for the
 * request's lifetime. */
#ifndef PARAPET_API_H
#define PARAPET_API_H

#include "server/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct db_pool;
struct db_tx;
struct config;
struct api_req;

typedef enum err_code (*api_handler_fn)(struct api_req *req, struct err *err);

/* Least to most privileged; a route names the least role that may call it. */
enum api_role {
    API_ROLE_PUBLIC = 0, /* no credentials */
    API_ROLE_INGEST,     /* an ingest key (pri_...) */
    API_ROLE_VIEWER,
    API_ROLE_DEVOPS,
    API_ROLE_SECOPS,
    API_ROLE_ADMIN,
    API_ROLE_OWNER,
};

enum api_body { API_BODY_NONE = 0, API_BODY_JSON };

/* Types of path and query parameters; a value that does not parse is a 404 (path) or 400
 * (query), before any handler runs. */
enum api_ptype { API_P_UUID = 1, API_P_INT, API_P_STR };

struct api_qparam {
    const char *name;
    enum api_ptype type;
};

struct api_route {
    const char *method;
    const char *pattern; /* "/v1/accounts/{id:uuid}" */
    api_handler_fn handler;
    enum api_role role;
    enum api_body body;
    size_t max_body;                 /* 0 = the server default (PARAPET_MAX_BODY) */
    const struct api_qparam *query;  /* NULL-terminated by name; NULL = none accepted */
    const char *summary;             /* one line, also in the OpenAPI document */
};

/* A route that speaks a foreign protocol's conventions (Amazon Data Firehose): the header that
 * carries its API key instead of Authorization: Bearer, and its error body instead of
 * problem+json. */
struct api_foreign {
    api_handler_fn handler; /* the route's handler identifies it */
    const char *key_header;
    json_t *(*error_body)(const struct api_req *req, const struct err *err); /* new reference */
};

/* The foreign conventions of route (may be NULL), or NULL for a route of ours. */
const struct api_foreign *api_foreign_of(const struct api_route *route);

extern const struct api_route api_routes[];
extern const size_t api_routes_count;

#define API_MAX_PARAMS 4
#define API_MAX_QUERY 8

struct api_param {
    const char *name; /* borrowed from the pattern */
    size_t name_len;
    char value[256];
};

struct jwt_keyring;

/* Shared, read-only after start-up (set by server/). */
struct api_app {
    struct db_pool *db;
    const struct config *cfg;
    const char *version;
    struct jwt_keyring *jwt; /* signs and verifies access tokens */
};

enum api_actor { API_ACTOR_NONE = 0, API_ACTOR_USER, API_ACTOR_KEY };

/* Who is calling, once authenticated (api/auth.c). */
struct api_principal {
    enum api_actor actor;
    enum api_role role;
    char tenant_id[40];
    char user_id[40];    /* users */
    char session_id[40]; /* users: the sign-in session */
    char key_id[40];     /* API keys */
};

struct api_req {
    struct MHD_Connection *conn;
    const struct api_app *app;
    struct db_pool *db;
    const struct api_route *route;
    int route_index;
    const char *method;
    const char *path;
    char request_id[72];
    char tenant_id[40]; /* "" until authenticated */
    char source_ip[48]; /* the peer address */
    struct api_principal who;
    struct api_param params[API_MAX_PARAMS];
    unsigned nparams;
    const char *body; /* NUL-terminated copy of the body, or NULL */
    size_t body_len;
    int status;       /* the status queued, 0 until then */
    bool close_after; /* the body was not (fully) read: close the connection after replying */
    unsigned retry_after; /* seconds for a Retry-After header on 429/503, 0 = default */
    bool replied;
};

/* Path parameter by name, or NULL when the route declares none. */
const char *api_path_param(const struct api_req *req, const char *name);

/* Query parameter by name (a declared one), or NULL when absent. */
const char *api_query_param(const struct api_req *req, const char *name);

/* Maximum nesting of arrays and objects in a request body. */
#define API_JSON_MAX_DEPTH 32

/* Parses the body as one JSON object: duplicate keys, invalid UTF-8, NUL, trailing garbage,
 * nesting deeper than API_JSON_MAX_DEPTH and non-objects are ERR_INVALID naming the position. */
enum err_code api_body_json(struct api_req *req, json_t **out, struct err *err);

/* Parses text[len] as above (no request needed: unit-testable). */
enum err_code api_json_parse(const char *text, size_t len, json_t **out, struct err *err);

/* Declared fields of a JSON object, for api_json_check(). */
enum api_ftype { API_F_STRING = 1, API_F_INT, API_F_BOOL, API_F_OBJECT, API_F_ARRAY, API_F_NUMBER };
struct api_field {
    const char *name;
    enum api_ftype type;
    bool required;
    size_t max_len; /* strings: bytes; arrays: elements; 0 = no limit beyond the body cap */
};

/* Checks obj against fields (terminated by a NULL name): unknown fields, missing required ones,
 * wrong types and over-long values are ERR_INVALID naming the field. */
enum err_code api_json_check(json_t *obj, const struct api_field *fields, struct err *err);

/* api_body_json() then api_json_check(): the body as an object of exactly these fields. *out is
 * set whenever the body parsed (decref it on every path). */
enum err_code api_body_checked(struct api_req *req, const struct api_field *fields, json_t **out,
                               struct err *err);

/* Replies; each returns ERR_OK once queued (or ERR_INTERNAL when MHD refused). */
enum err_code api_reply_json(struct api_req *req, unsigned status, json_t *body /* stolen */);
enum err_code api_reply_buf(struct api_req *req, unsigned status, const char *content_type,
                            char *buf /* stolen, freed with free() */, size_t len);
enum err_code api_reply_static(struct api_req *req, unsigned status, const char *content_type,
                               const char *buf /* static */, size_t len);
enum err_code api_reply_empty(struct api_req *req, unsigned status);

/* Sends the RFC 9457 problem+json for err (api/problem.c, the only producer). allow: the Allow
 * header for 405, else NULL. */
void api_problem_send(struct api_req *req, const struct err *err, const char *allow);

/* HTTP status for an error code (the table in api/problem.c). */
unsigned api_problem_status(enum err_code code);

/* Builds the problem document for err (new reference); NULL on NOMEM. */
json_t *api_problem_json(const struct err *err, const char *instance, const char *request_id);

/* ---- authentication and authorisation (api/auth.c) ---- */

/* Name of a role ("viewer"), and back; false for an unknown name. */
const char *api_role_name(enum api_role r);
bool api_role_parse(const char *s, enum api_role *out);

/* Authenticates the Authorization header value (may be NULL) into req->who and checks the
 * route's role: ERR_UNAUTHENTICATED (401) or ERR_FORBIDDEN (403). Verified API keys and session
 * states are cached for a few seconds, so most requests cost no database round trip. */
enum err_code api_authenticate(struct api_req *req, const char *authorization, struct err *err);

/* As api_authenticate, for a route whose API key (pri_/prk_, not a JWT) arrives verbatim in
 * its own header (route->key_header); key may be NULL. */
enum err_code api_authenticate_key(struct api_req *req, const char *key, struct err *err);

/* Forgets the cached state of a session (after sign-out) or of an API key (after revocation),
 * so this instance refuses it at once; other instances within the cache lifetime. */
void api_auth_forget_session(const char *session_id);
void api_auth_forget_key(const char *key_id);
void api_auth_forget_user(const char *user_id); /* every session of the user */
void api_me_forget_user(const char *user_id);   /* the cached GET /v1/me answer */

/* Issues an access token and a new refresh token for a user session, inside tx (which must be
 * scoped to the tenant); adds access_token, refresh_token, token_type, expires_in to resp. */
enum err_code api_issue_tokens(struct api_req *req, struct db_tx *tx, const char *tenant_id,
                               const char *user_id, const char *role, long long epoch,
                               const char *session_id, json_t *resp, struct err *err);

/* Appends an audit record for the calling principal inside tx. */
enum err_code api_audit(struct api_req *req, struct db_tx *tx, const char *action,
                        const char *target_type, const char *target_id, struct err *err);

/* Opaque tokens "<kind>_<secret>_<tenant hex>" (80 characters): a new one, and the tenant of
 * one (false when malformed). */
void api_opaque_new(const char *kind, const char *tenant_id, char out[81]);
bool api_opaque_parse(const char *tok, const char *kind, char tenant[37]);

/* Lower-cases and checks an email address (printable ASCII, one '@', a dotted domain, at most
 * 254 bytes); ERR_INVALID naming the field "email". */
enum err_code api_email_normalise(const char *in, char out[256], struct err *err);

/* A new random (v4) UUID string. */
void api_uuid_new(char out[37]);

/* SHA-256 of s. */
void api_sha256(const char *s, size_t len, unsigned char out[32]);

/* Reads ?limit= (default 50, 1..500) and ?cursor= (may be NULL). */
enum err_code api_page(struct api_req *req, int *limit, const char **cursor, struct err *err);

/* api_page(), and the cursor checked as a uuid or a number (kind): 400 naming "cursor". */
enum api_cursor { API_CURSOR_UUID, API_CURSOR_INT };
enum err_code api_page_cursor(struct api_req *req, enum api_cursor kind, int *limit,
                              const char **cursor, struct err *err);

/* Replies {"items": items, "next_cursor": next or null}; steals items. */
enum err_code api_reply_page(struct api_req *req, json_t *items, const char *next);

/* A db/ list function: a page of limit items after cursor, and the next cursor ("" at the end). */
typedef enum err_code (*api_list_fn)(struct db_tx *tx, int limit, const char *cursor,
                                     json_t **items, char *next, size_t nextlen, struct err *err);

/* A whole list route: reads ?limit= and ?cursor= (checked as kind), runs list in the caller's
 * tenant and replies with the page. */
enum err_code api_reply_list(struct api_req *req, api_list_fn list, enum api_cursor kind,
                             struct err *err);

/* The same for a list with filters (filter is passed through to list). */
typedef enum err_code (*api_list_filtered_fn)(struct db_tx *tx, const void *filter, int limit,
                                              const char *cursor, json_t **items, char *next,
                                              size_t nextlen, struct err *err);
enum err_code api_reply_list_filtered(struct api_req *req, api_list_filtered_fn list,
                                      const void *filter, enum api_cursor kind, struct err *err);

/* The same for lists that db/ renders as JSON text (struct db_text_page): the rows are passed
 * through without being parsed again. */
struct db_text_page;
typedef enum err_code (*api_text_list_fn)(struct db_tx *tx, const void *filter, int limit,
                                          const char *cursor, struct db_text_page *page,
                                          struct err *err);
enum err_code api_reply_text_list(struct api_req *req, api_text_list_fn list, const void *filter,
                                  enum api_cursor kind, struct err *err);

/* A delete by the path's {id} in the caller's tenant: del(tx, id, &found); 404 "no such <what>"
 * when nothing was found; audited as action (its target type is the part before the '.');
 * committed. The caller replies. */
enum err_code api_delete_audited(struct api_req *req,
                                 enum err_code (*del)(struct db_tx *tx, const char *id, bool *found,
                                                      struct err *err),
                                 const char *what, const char *action, struct err *err);

/* Makes the request act as a signed-in user (after sign-up, sign-in, refresh or an accepted
 * invitation) for the audit trail and the request log. */
void api_act_as_user(struct api_req *req, const char *tenant_id, const char *user_id,
                     const char *role, const char *session_id);

/* Handlers (one file per resource). */
enum err_code api_healthz(struct api_req *req, struct err *err);
enum err_code api_readyz(struct api_req *req, struct err *err);
enum err_code api_metrics(struct api_req *req, struct err *err);
enum err_code api_openapi(struct api_req *req, struct err *err);
enum err_code api_signup(struct api_req *req, struct err *err);
enum err_code api_login(struct api_req *req, struct err *err);
enum err_code api_refresh(struct api_req *req, struct err *err);
enum err_code api_logout(struct api_req *req, struct err *err);
enum err_code api_password_change(struct api_req *req, struct err *err);
enum err_code api_me(struct api_req *req, struct err *err);
enum err_code api_keys_list(struct api_req *req, struct err *err);
enum err_code api_keys_create(struct api_req *req, struct err *err);
enum err_code api_keys_delete(struct api_req *req, struct err *err);
enum err_code api_audit_list(struct api_req *req, struct err *err);
enum err_code api_users_list(struct api_req *req, struct err *err);
enum err_code api_users_create(struct api_req *req, struct err *err);
enum err_code api_users_update(struct api_req *req, struct err *err);
enum err_code api_users_delete(struct api_req *req, struct err *err);
enum err_code api_accept_invite(struct api_req *req, struct err *err);
enum err_code api_accounts_create(struct api_req *req, struct err *err);
enum err_code api_accounts_list(struct api_req *req, struct err *err);
enum err_code api_accounts_get(struct api_req *req, struct err *err);
enum err_code api_accounts_template(struct api_req *req, struct err *err);
enum err_code api_scans_create(struct api_req *req, struct err *err);
enum err_code api_scans_list(struct api_req *req, struct err *err);
enum err_code api_scans_get(struct api_req *req, struct err *err);
enum err_code api_resources_list(struct api_req *req, struct err *err);
enum err_code api_resources_get(struct api_req *req, struct err *err);
enum err_code api_findings_list(struct api_req *req, struct err *err);
enum err_code api_findings_get(struct api_req *req, struct err *err);
enum err_code api_findings_update(struct api_req *req, struct err *err);
enum err_code api_rules_list(struct api_req *req, struct err *err);
enum err_code api_posture_summary(struct api_req *req, struct err *err);
enum err_code api_accounts_delete(struct api_req *req, struct err *err);
enum err_code api_accounts_connect(struct api_req *req, struct err *err);
enum err_code api_integrations_create(struct api_req *req, struct err *err);
enum err_code api_integrations_list(struct api_req *req, struct err *err);
enum err_code api_integrations_get(struct api_req *req, struct err *err);
enum err_code api_integrations_update(struct api_req *req, struct err *err);
enum err_code api_integrations_delete(struct api_req *req, struct err *err);
enum err_code api_integrations_deliveries(struct api_req *req, struct err *err);
enum err_code api_integrations_retry(struct api_req *req, struct err *err);
enum err_code api_integrations_test(struct api_req *req, struct err *err);
enum err_code api_events_ingest(struct api_req *req, struct err *err);
enum err_code api_firehose_ingest(struct api_req *req, struct err *err);
/* Firehose's error body {requestId, timestamp, errorMessage} (new reference). */
json_t *api_firehose_error(const struct api_req *req, const struct err *err);
enum err_code api_incidents_list(struct api_req *req, struct err *err);
enum err_code api_incidents_get(struct api_req *req, struct err *err);
enum err_code api_incidents_update(struct api_req *req, struct err *err);
enum err_code api_incidents_events(struct api_req *req, struct err *err);
enum err_code api_ingest_rejections(struct api_req *req, struct err *err);

/* The embedded OpenAPI document (build/gen/openapi.c). */
extern const char api_openapi_doc[];
extern const size_t api_openapi_doc_len;

#endif
