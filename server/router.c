#include "server/router.h"

#include <stdio.h>
#include <string.h>

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool router_value_is_valid(enum api_ptype t, const char *v, size_t len)
{
    switch (t) {
    case API_P_UUID:
        if (len != 36)
            return false;
        for (size_t i = 0; i < 36; i++) {
            bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? v[i] != '-' : !is_hex(v[i]))
                return false;
        }
        return true;
    case API_P_INT:
        if (len == 0 || len > 18)
            return false;
        for (size_t i = 0; i < len; i++)
            if (v[i] < '0' || v[i] > '9')
                return false;
        return true;
    case API_P_STR:
        if (len == 0 || len > 255)
            return false;
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
                return false;
        return true;
    }
    return false;
}

static bool parse_type(const char *s, size_t n, enum api_ptype *t)
{
    if (n == 4 && memcmp(s, "uuid", 4) == 0)
        *t = API_P_UUID;
    else if (n == 3 && memcmp(s, "int", 3) == 0)
        *t = API_P_INT;
    else if (n == 3 && memcmp(s, "str", 3) == 0)
        *t = API_P_STR;
    else
        return false;
    return true;
}

/* A parameter segment "{name:type}" of length n: name and type. */
static bool parse_param(const char *seg, size_t n, const char **name, size_t *name_len,
                        enum api_ptype *t)
{
    const char *colon;

    if (n < 5 || seg[0] != '{' || seg[n - 1] != '}')
        return false;
    colon = memchr(seg, ':', n);
    if (colon == NULL || colon == seg + 1)
        return false;
    *name = seg + 1;
    *name_len = (size_t)(colon - seg - 1);
    return parse_type(colon + 1, (size_t)(seg + n - 1 - colon - 1), t);
}

bool router_pattern_is_valid(const char *p)
{
    unsigned nparams = 0;

    if (p[0] != '/')
        return false;
    if (p[1] == '\0')
        return true;
    p++;
    for (;;) {
        size_t n = strcspn(p, "/");
        if (n == 0)
            return false;
        if (p[0] == '{') {
            const char *name;
            size_t nl;
            enum api_ptype t;
            if (!parse_param(p, n, &name, &nl, &t) || ++nparams > API_MAX_PARAMS)
                return false;
        } else if (memchr(p, '{', n) != NULL || memchr(p, '}', n) != NULL) {
            return false;
        }
        if (p[n] == '\0')
            return true;
        p += n + 1;
    }
}

static bool match_path(const char *pat, const char *path, struct api_param *params,
                       unsigned *nparams)
{
    unsigned np = 0;

    if (pat[0] != '/' || path[0] != '/')
        return false;
    if (pat[1] == '\0' || path[1] == '\0')
        return pat[1] == path[1];
    pat++;
    path++;
    for (;;) {
        size_t pn = strcspn(pat, "/");
        size_t vn = strcspn(path, "/");
        if (pat[0] == '{') {
            const char *name;
            size_t nl;
            enum api_ptype t;
            if (!parse_param(pat, pn, &name, &nl, &t) || np >= API_MAX_PARAMS ||
                !router_value_is_valid(t, path, vn) || vn >= sizeof params[np].value)
                return false;
            params[np].name = name;
            params[np].name_len = nl;
            memcpy(params[np].value, path, vn);
            params[np].value[vn] = '\0';
            np++;
        } else if (pn != vn || memcmp(pat, path, pn) != 0) {
            return false;
        }
        if (pat[pn] == '\0' || path[vn] == '\0') {
            if (pat[pn] != path[vn])
                return false;
            *nparams = np;
            return true;
        }
        pat += pn + 1;
        path += vn + 1;
    }
}

enum router_result router_match(const struct api_route *routes, size_t nroutes, const char *method,
                                const char *path, int *index, struct api_param *params,
                                unsigned *nparams, char *allow, size_t allowlen)
{
    bool path_seen = false;
    size_t alen = 0;

    *nparams = 0;
    if (allowlen > 0)
        allow[0] = '\0';
    for (size_t i = 0; i < nroutes; i++) {
        unsigned np = 0;
        if (!match_path(routes[i].pattern, path, params, &np))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            *index = (int)i;
            *nparams = np;
            return ROUTER_FOUND;
        }
        path_seen = true;
        if (alen < allowlen) {
            int n = snprintf(allow + alen, allowlen - alen, "%s%s", alen ? ", " : "",
                             routes[i].method);
            if (n > 0)
                alen += (size_t)n;
        }
    }
    return path_seen ? ROUTER_METHOD : ROUTER_NOT_FOUND;
}
