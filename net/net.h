/* net - the one outbound HTTP client (libcurl), shared by cloud/ and integrations/. It owns
 * timeouts, response size caps, Retry-After parsing and the refusal of redirects and of proxies
 * from the environment. One call, one request: net_do() blocks, so call it from workers or
 * request handlers that may wait; it is thread-safe (net_init() once at start-up).
 * Errors: ERR_UPSTREAM when the peer could not be reached or answered too much, with a detail
 * safe to show (no URL query, no credentials). */
#ifndef PARAPET_NET_H
#define PARAPET_NET_H

#include "server/config.h"
#include "server/err.h"

#include <stdbool.h>
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
    bool guard;                     /* egress guard (integrations/): connect only to public
                                     * addresses or PARAPET_EGRESS_ALLOW ranges, checked on the
                                     * resolved address at connect time (DNS rebinding); plain
                                     * http only to allowed ranges */
};

struct net_response {
    long status;          /* HTTP status */
    char *body;           /* NUL-terminated, owned; free with net_response_free() */
    size_t body_len;
    long retry_after_s;   /* from Retry-After (seconds or HTTP date), -1 when absent */
    bool refused;         /* the egress guard refused the destination's address */
    char captured[160];   /* the value of req->capture_header, "" when absent */
};

/* Performs req. A response of any status is ERR_OK (look at status); transport failures,
 * timeouts and bodies over the cap are ERR_UPSTREAM. *resp is always initialised. */
enum err_code net_do(const struct net_request *req, struct net_response *resp, struct err *err);

void net_response_free(struct net_response *resp); /* NULL-safe */

/* Performs n requests concurrently (a net_multi), at most parallel (>= 1) in flight at a time.
 * resps[i] and errs[i] get what net_do() would give for reqs[i]; every resps[i] is
 * initialised. Returns ERR_OK, or ERR_NOMEM when the batch could not start. Blocks. */
enum err_code net_do_many(const struct net_request *reqs, struct net_response *resps,
                          struct err *errs, size_t n, unsigned parallel, struct err *err);

/* ---- the egress guard ---- */

/* Sets the ranges that guarded requests may reach besides public addresses (PARAPET_EGRESS_ALLOW);
 * call once at start-up before threads start (the list is read without a lock afterwards). */
void net_egress_allow(const struct config_cidr *cidrs, size_t n);

/* True when the address (AF_INET: 4 bytes, AF_INET6: 16) is globally routable: not private,
 * loopback, link-local (metadata services), CGNAT, multicast, reserved or documentation space;
 * IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 addresses are judged by their IPv4 part. */
bool net_addr_is_public(int family, const unsigned char *addr);

/* True when the address is inside a PARAPET_EGRESS_ALLOW range (IPv4-mapped IPv6 addresses
 * compare as IPv4). */
bool net_addr_is_allowed(int family, const unsigned char *addr);

/* Checks a destination URL when it is configured: at most 2048 bytes, https (http only to a
 * literal address in an allowed range), no credentials, and a host that is neither a private,
 * loopback, link-local or metadata address in any spelling (decimal, octal, hex, short forms,
 * IPv6-mapped) nor a local name (localhost, *.local, *.internal, single labels). ERR_INVALID with
 * a detail that does not repeat the URL. Names are resolved only at connect time. */
enum err_code net_url_check(const char *url, struct err *err);

/* ---- many requests at once (libcurl multi), for the delivery worker ---- */

struct net_multi;

/* A multi handle; NULL on NOMEM. One thread drives it. */
struct net_multi *net_multi_new(void);

/* Aborts transfers in flight and frees m (their user pointers are not returned). NULL-safe. */
void net_multi_free(struct net_multi *m);

/* Starts req (url, headers and body are copied); user comes back with its outcome. */
enum err_code net_multi_add(struct net_multi *m, const struct net_request *req, void *user,
                            struct err *err);

/* Drives the transfers, waiting up to timeout_ms for network activity or net_multi_wakeup();
 * returns how many are still in flight. */
unsigned net_multi_run(struct net_multi *m, int timeout_ms);

/* Takes one finished transfer: true with *user, *resp (free with net_response_free) and its
 * outcome as net_do() would give it (*rc, err); false when none has finished. */
bool net_multi_done(struct net_multi *m, void **user, struct net_response *resp,
                    enum err_code *rc, struct err *err);

/* Transfers in flight. */
unsigned net_multi_active(const struct net_multi *m);

/* Wakes a net_multi_run() that is waiting (from any thread). */
void net_multi_wakeup(struct net_multi *m);

#endif
