#include "api/api.h"

#include "server/log.h"

#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *api_path_param(const struct api_req *req, const char *name)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < req->nparams; i++)
        if (req->params[i].name_len == n && memcmp(req->params[i].name, name, n) == 0)
            return req->params[i].value;
    return NULL;
}

const char *api_query_param(const struct api_req *req, const char *name)
{
    if (req->route == NULL || req->route->query == NULL)
        return NULL;
    for (const struct api_qparam *q = req->route->query; q->name != NULL; q++)
        if (strcmp(q->name, name) == 0)
            return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    return NULL;
}

/* Depth of nesting outside strings, without parsing: rejects a 10,000-deep document in one pass
 * before jansson recurses into it. */
static bool depth_ok(const char *s, size_t len, size_t *where)
{
    unsigned depth = 0;
    bool in_str = false;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > API_JSON_MAX_DEPTH) {
                *where = i;
                return false;
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return true;
}

enum err_code api_json_parse(const char *text, size_t len, json_t **out, struct err *err)
{
    json_error_t jerr;
    json_t *v;
    size_t where = 0;

    *out = NULL;
    if (text == NULL || len == 0)
        return err_set(err, ERR_INVALID, "a JSON object body is required");
    if (!depth_ok(text, len, &where))
        return err_set(err, ERR_INVALID, "JSON nesting deeper than %d at byte %zu",
                       API_JSON_MAX_DEPTH, where);
    /* jansson validates UTF-8 and rejects \u0000 unless JSON_ALLOW_NUL is given. */
    v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL)
        return err_set(err, ERR_INVALID, "malformed JSON at line %d column %d: %s", jerr.line,
                       jerr.column, jerr.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return err_set(err, ERR_INVALID, "the body must be a JSON object");
    }
    *out = v;
    return ERR_OK;
}

enum err_code api_body_json(struct api_req *req, json_t **out, struct err *err)
{
    return api_json_parse(req->body, req->body_len, out, err);
}

enum err_code api_body_checked(struct api_req *req, const struct api_field *fields, json_t **out,
                               struct err *err)
{
    enum err_code rc = api_body_json(req, out, err);
    if (rc == ERR_OK)
        rc = api_json_check(*out, fields, err);
    return rc;
}

static const char *ftype_name(enum api_ftype t)
{
    switch (t) {
    case API_F_STRING: return "a string";
    case API_F_INT: return "an integer";
    case API_F_BOOL: return "a boolean";
    case API_F_OBJECT: return "an object";
    case API_F_ARRAY: return "an array";
    case API_F_NUMBER: return "a number";
    }
    return "valid";
}

static bool ftype_ok(enum api_ftype t, const json_t *v)
{
    switch (t) {
    case API_F_STRING: return json_is_string(v);
    case API_F_INT: return json_is_integer(v);
    case API_F_BOOL: return json_is_boolean(v);
    case API_F_OBJECT: return json_is_object(v);
    case API_F_ARRAY: return json_is_array(v);
    case API_F_NUMBER: return json_is_number(v);
    }
    return false;
}

enum err_code api_json_check(json_t *obj, const struct api_field *fields, struct err *err)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        const struct api_field *f = fields;
        while (f->name != NULL && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL) {
            char shown[64];
            /* Echo at most 60 bytes of an unknown name, cut at a character boundary. */
            size_t n = strlen(key);
            if (n > 60) {
                n = 60;
                while (n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80)
                    n--;
            }
            snprintf(shown, sizeof shown, "%.*s", (int)n, key);
            return err_set_field(err, ERR_INVALID, shown, "unknown field '%s'", shown);
        }
        if (!ftype_ok(f->type, v))
            return err_set_field(err, ERR_INVALID, f->name, "'%s' must be %s", f->name,
                                 ftype_name(f->type));
        if (f->max_len > 0 && f->type == API_F_STRING && json_string_length(v) > f->max_len)
            return err_set_field(err, ERR_INVALID, f->name, "'%s' is longer than %zu bytes",
                                 f->name, f->max_len);
        if (f->max_len > 0 && f->type == API_F_ARRAY && json_array_size(v) > f->max_len)
            return err_set_field(err, ERR_INVALID, f->name, "'%s' has more than %zu elements",
                                 f->name, f->max_len);
    }
    for (const struct api_field *f = fields; f->name != NULL; f++)
        if (f->required && json_object_get(obj, f->name) == NULL)
            return err_set_field(err, ERR_INVALID, f->name, "'%s' is required", f->name);
    return ERR_OK;
}

static enum err_code queue(struct api_req *req, unsigned status, const char *content_type,
                           struct MHD_Response *resp)
{
    enum err_code rc = ERR_OK;

    if (resp == NULL)
        return ERR_NOMEM;
    if (content_type != NULL)
        MHD_add_response_header(resp, "Content-Type", content_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (MHD_queue_response(req->conn, status, resp) == MHD_YES) {
        req->status = (int)status;
        req->replied = true;
    } else {
        rc = ERR_INTERNAL;
    }
    MHD_destroy_response(resp);
    return rc;
}

enum err_code api_reply_buf(struct api_req *req, unsigned status, const char *content_type,
                            char *buf, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, buf, free);
    if (resp == NULL)
        free(buf);
    return queue(req, status, content_type, resp);
}

enum err_code api_reply_static(struct api_req *req, unsigned status, const char *content_type,
                               const char *buf, size_t len)
{
    return queue(req, status, content_type,
                 MHD_create_response_from_buffer(len, (void *)(uintptr_t)buf,
                                                 MHD_RESPMEM_PERSISTENT));
}

enum err_code api_reply_json(struct api_req *req, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return ERR_NOMEM;
    return api_reply_buf(req, status, "application/json", text, strlen(text));
}

enum err_code api_reply_empty(struct api_req *req, unsigned status)
{
    return queue(req, status, NULL,
                 MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}
