/* Unit tests for the embedded OpenAPI document: it parses, is OpenAPI 3.1, and lists exactly the
 * routes of api/routes.c (both ways), with unique operationIds. */
#include "api/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *const http_methods[] = {"get",     "put",  "post",  "delete",
                                           "options", "head", "patch", "trace"};

/* Other members an OpenAPI 3.1 Path Item may have. */
static const char *const path_item_fields[] = {"$ref",    "summary",    "description",
                                               "servers", "parameters", NULL};

static bool is_http_method(const char *key)
{
    for (size_t i = 0; i < sizeof http_methods / sizeof http_methods[0]; i++)
        if (strcmp(key, http_methods[i]) == 0)
            return true;
    return false;
}

static bool is_path_item_field(const char *key)
{
    for (size_t i = 0; path_item_fields[i] != NULL; i++)
        if (strcmp(key, path_item_fields[i]) == 0)
            return true;
    return false;
}

static int setup(void **state)
{
    json_error_t jerr;
    json_t *doc = json_loadb(api_openapi_doc, api_openapi_doc_len, JSON_REJECT_DUPLICATES, &jerr);

    if (doc == NULL) {
        fprintf(stderr, "api/openapi.json: line %d: %s\n", jerr.line, jerr.text);
        return -1;
    }
    *state = doc;
    return 0;
}

static int teardown(void **state)
{
    json_decref(*state);
    return 0;
}

/* "/v1/things/{id:uuid}" -> "/v1/things/{id}" */
static void openapi_path(const char *pattern, char *out, size_t len)
{
    size_t o = 0;
    bool in_param = false;
    bool in_type = false;

    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p == '{')
            in_param = true;
        if (in_param && *p == ':') {
            in_type = true;
            continue;
        }
        if (*p == '}') {
            in_param = false;
            in_type = false;
        }
        if (in_type)
            continue;
        assert_true(o + 1 < len);
        out[o++] = *p;
    }
    out[o] = '\0';
}

static void lower(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static json_t *paths_of(void **state)
{
    json_t *paths = json_object_get(*state, "paths");
    assert_true(json_is_object(paths));
    return paths;
}

/* Follows a local "$ref" ("#/components/parameters/X") once. */
static json_t *deref(json_t *doc, json_t *v)
{
    const char *ref = json_string_value(json_object_get(v, "$ref"));
    char buf[256];
    json_t *cur = doc;

    if (ref == NULL)
        return v;
    assert_int_equal(strncmp(ref, "#/", 2), 0);
    snprintf(buf, sizeof buf, "%s", ref + 2);
    for (char *seg = buf, *slash; seg != NULL; seg = slash ? slash + 1 : NULL) {
        slash = strchr(seg, '/');
        if (slash != NULL)
            *slash = '\0';
        cur = json_object_get(cur, seg);
        if (cur == NULL)
            fail_msg("dangling $ref %s", ref);
    }
    return cur;
}

/* True when a path parameter called name is declared on the operation or its path item. */
static bool declares_path_param(json_t *doc, json_t *item, json_t *op, const char *name)
{
    json_t *lists[2] = {json_object_get(op, "parameters"), json_object_get(item, "parameters")};

    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *p;
        json_array_foreach(lists[l], i, p)
        {
            json_t *d = deref(doc, p);
            const char *in = json_string_value(json_object_get(d, "in"));
            const char *n = json_string_value(json_object_get(d, "name"));
            if (in != NULL && n != NULL && strcmp(in, "path") == 0 && strcmp(n, name) == 0 &&
                json_is_true(json_object_get(d, "required")))
                return true;
        }
    }
    return false;
}

static void test_document_is_openapi_3_1(void **state)
{
    const char *v = json_string_value(json_object_get(*state, "openapi"));

    assert_non_null(v);
    assert_int_equal(strncmp(v, "3.1", 3), 0);
    assert_true(json_is_object(json_object_get(*state, "info")));
    assert_non_null(json_string_value(json_object_get(json_object_get(*state, "info"), "title")));
    assert_non_null(json_string_value(json_object_get(json_object_get(*state, "info"), "version")));
}

static void test_embedded_length_matches_the_text(void **state)
{
    (void)state;

    assert_true(api_openapi_doc_len > 0);
    assert_int_equal(strlen(api_openapi_doc), api_openapi_doc_len);
}

static void test_every_route_is_documented(void **state)
{
    json_t *paths = paths_of(state);

    for (size_t i = 0; i < api_routes_count; i++) {
        const struct api_route *r = &api_routes[i];
        char path[256];
        char method[16];
        json_t *item;
        json_t *op;
        json_t *responses;
        const char *id;

        openapi_path(r->pattern, path, sizeof path);
        lower(r->method, method, sizeof method);
        item = json_object_get(paths, path);
        if (!json_is_object(item))
            fail_msg("%s %s: no path '%s' in the document", r->method, r->pattern, path);
        op = json_object_get(item, method);
        if (!json_is_object(op))
            fail_msg("%s %s: path '%s' has no '%s'", r->method, r->pattern, path, method);
        id = json_string_value(json_object_get(op, "operationId"));
        if (id == NULL || id[0] == '\0')
            fail_msg("%s %s: no operationId", r->method, r->pattern);
        responses = json_object_get(op, "responses");
        if (!json_is_object(responses) || json_object_size(responses) == 0)
            fail_msg("%s %s: no responses", r->method, r->pattern);
    }
}

static void test_documented_summaries_match_the_routes(void **state)
{
    json_t *paths = paths_of(state);

    for (size_t i = 0; i < api_routes_count; i++) {
        const struct api_route *r = &api_routes[i];
        char path[256];
        char method[16];
        const char *summary;

        openapi_path(r->pattern, path, sizeof path);
        lower(r->method, method, sizeof method);
        summary = json_string_value(
            json_object_get(json_object_get(json_object_get(paths, path), method), "summary"));
        if (summary == NULL || strcmp(summary, r->summary) != 0)
            fail_msg("%s %s: document summary '%s' differs from route summary '%s'", r->method,
                     r->pattern, summary ? summary : "(none)", r->summary);
    }
}

static void test_every_documented_operation_is_routed(void **state)
{
    json_t *paths = paths_of(state);
    const char *path;
    json_t *item;

    json_object_foreach(paths, path, item)
    {
        const char *key;
        json_t *op;

        assert_true(json_is_object(item));
        json_object_foreach(item, key, op)
        {
            bool found = false;

            if (!is_http_method(key)) {
                if (!is_path_item_field(key))
                    fail_msg("path '%s' has unexpected member '%s'", path, key);
                continue;
            }
            for (size_t i = 0; i < api_routes_count && !found; i++) {
                char rpath[256];
                char method[16];
                openapi_path(api_routes[i].pattern, rpath, sizeof rpath);
                lower(api_routes[i].method, method, sizeof method);
                found = strcmp(rpath, path) == 0 && strcmp(method, key) == 0;
            }
            if (!found)
                fail_msg("the document has %s %s but no route serves it", key, path);
        }
    }
}

static void test_path_parameters_are_declared(void **state)
{
    json_t *paths = paths_of(state);

    for (size_t i = 0; i < api_routes_count; i++) {
        const struct api_route *r = &api_routes[i];
        char path[256];
        char method[16];
        json_t *item;
        json_t *op;

        openapi_path(r->pattern, path, sizeof path);
        lower(r->method, method, sizeof method);
        item = json_object_get(paths, path);
        op = json_object_get(item, method);
        for (const char *p = strchr(r->pattern, '{'); p != NULL; p = strchr(p + 1, '{')) {
            char name[64];
            size_t n = strcspn(p + 1, ":}");
            assert_true(n < sizeof name);
            memcpy(name, p + 1, n);
            name[n] = '\0';
            if (!declares_path_param(*state, item, op, name))
                fail_msg("%s %s: path parameter '%s' is not declared", r->method, r->pattern, name);
        }
    }
}

static void test_operation_ids_are_unique(void **state)
{
    json_t *paths = paths_of(state);
    json_t *seen = json_object();
    const char *path;
    json_t *item;

    assert_non_null(seen);
    json_object_foreach(paths, path, item)
    {
        const char *key;
        json_t *op;
        json_object_foreach(item, key, op)
        {
            const char *id;
            if (!is_http_method(key))
                continue;
            id = json_string_value(json_object_get(op, "operationId"));
            if (id == NULL)
                fail_msg("%s %s: no operationId", key, path);
            if (json_object_get(seen, id) != NULL)
                fail_msg("operationId '%s' is used twice", id);
            json_object_set_new(seen, id, json_true());
        }
    }
    json_decref(seen);
}

static void test_path_rewrite_drops_parameter_types(void **state)
{
    char out[128];
    (void)state;

    openapi_path("/v1/a/{id:uuid}/b/{n:int}", out, sizeof out);
    assert_string_equal(out, "/v1/a/{id}/b/{n}");
    openapi_path("/healthz", out, sizeof out);
    assert_string_equal(out, "/healthz");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_length_matches_the_text),
        cmocka_unit_test(test_path_rewrite_drops_parameter_types),
        cmocka_unit_test_setup_teardown(test_document_is_openapi_3_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_route_is_documented, setup, teardown),
        cmocka_unit_test_setup_teardown(test_documented_summaries_match_the_routes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_documented_operation_is_routed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_parameters_are_declared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operation_ids_are_unique, setup, teardown),
    };

    return cmocka_run_group_tests_name("api/openapi", tests, NULL, NULL);
}
