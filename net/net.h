/* net - the one outbound HTTP client (libcurl), shared by cloud/ and integrations/. It owns
 * timeouts, response size caps, Retry-After parsing and the refusal of redirects and of proxies
 * from the environment. One call, one request: net_do() blocks, so call it from workers or
 * request handlers that may wait; it is thread-safe (net_init() once at start-up).
 * Errors: ERR_UPSTREAM when the peer could not be reached or answered too much, with a detail
 * safe to show (no URL query, no credentials). */
#ifndef PARAPET_NET_H
#define PARAPET_NET_H

#include "server/err.h"

#include <stddef.h>

/* Global libcurl set-up; call once from the main thread before other threads start. */
void net_init(void);

struct net_request {
    const char *method;             /* "GET", "POST" */
    const char *url;                /* http(s) only */
    const char *const *headers;     /* "Name: value", NULL-terminated; may be NULL */
    const void *body;               /* may be NULL */
    size_t body_len;
    long timeout_ms;                /* whole transfer; 0 = 10 s */
    size_t max_response;            /* response body cap; 0 = 1 MiB */
    const char *capture_header;     /* a response header to keep (e.g. "x-amzn-ErrorType") */
};

struct net_response {
    long status;          /* HTTP status */
    char *body;           /* NUL-terminated, owned; free with net_response_free() */
    size_t body_len;
    long retry_after_s;   /* from Retry-After (seconds or HTTP date), -1 when absent */
    char captured[160];   /* the value of req->capture_header, "" when absent */
};

/* Performs req. A response of any status is ERR_OK (look at status); transport failures,
 * timeouts and bodies over the cap are ERR_UPSTREAM. *resp is always initialised. */
enum err_code net_do(const struct net_request *req, struct net_response *resp, struct err *err);

void net_response_free(struct net_response *resp); /* NULL-safe */

/* Performs n requests concurrently over one libcurl multi handle, at most parallel (>= 1) in
 * flight at a time. resps[i] and errs[i] get what net_do() would give for reqs[i]; every
 * resps[i] is initialised. Returns ERR_OK, or ERR_NOMEM when the batch could not start. */
enum err_code net_do_many(const struct net_request *reqs, struct net_response *resps,
                          struct err *errs, size_t n, unsigned parallel, struct err *err);

#endif
