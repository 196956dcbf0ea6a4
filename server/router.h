/* router - matches a method and path against the static route table (api/routes.c). Patterns
 * are literal segments and typed parameters ("{id:uuid}", "{n:int}", "{name:str}"); a value that
 * does not fit its type does not match (404). Pure functions: no allocation, thread-safe. */
#ifndef PARAPET_ROUTER_H
#define PARAPET_ROUTER_H

#include "api/api.h"

#include <stdbool.h>
#include <stddef.h>

enum router_result { ROUTER_FOUND = 0, ROUTER_NOT_FOUND, ROUTER_METHOD };

/* On ROUTER_FOUND sets *index and fills params (API_MAX_PARAMS) and *nparams. On ROUTER_METHOD
 * writes the allowed methods ("GET, POST") into allow[allowlen]. */
enum router_result router_match(const struct api_route *routes, size_t nroutes, const char *method,
                                const char *path, int *index, struct api_param *params,
                                unsigned *nparams, char *allow, size_t allowlen);

/* True when pattern is well formed: starts with '/', no empty segments, known parameter types,
 * at most API_MAX_PARAMS parameters. */
bool router_pattern_is_valid(const char *pattern);

/* True when value is acceptable as a parameter of type t (also used for query parameters). */
bool router_value_is_valid(enum api_ptype t, const char *value, size_t len);

#endif
