/* observe/detect - payload inspection of function input events: every string leaf of an event
 * (query, path, headers, cookies, body; decoded from base64, URL encoding and nested JSON) is
 * matched for attacks with a multi-pattern prefilter (Hyperscan) and confirmation (PCRE2 and a
 * SQL tokeniser). All the leaves of one call and their decoded forms are prefiltered in one
 * Hyperscan scan (a batch of up to 256 KiB, then another), and each candidate is confirmed on its
 * own leaf only. The detector is compiled once and shared read-only by every thread; each thread
 * inspects with its own scratch (about 2 MiB). No I/O, no allocation per event beyond the
 * scratch. */
#ifndef PARAPET_OBSERVE_DETECT_H
#define PARAPET_OBSERVE_DETECT_H

#include "server/err.h"

#include <jansson.h>
#include <stddef.h>

enum obs_class {
    OBS_SQLI = 0,
    OBS_NOSQLI,
    OBS_CMDI,
    OBS_PATH_TRAVERSAL,
    OBS_SSRF,
    OBS_XXE,
    OBS_SSTI,
    OBS_DESERIALIZATION,
    OBS_XSS,
    OBS_CLASS_COUNT
};

/* "sqli", "nosqli", "cmdi", "path-traversal", "ssrf", "xxe", "ssti", "deserialization", "xss". */
const char *obs_class_name(enum obs_class c);

struct obs_match {
    enum obs_class cls;
    const char *technique; /* static text: "union-select", "tautology", "metadata-host", ... */
    double confidence;     /* 0..1 */
    char location[128];    /* where in the event: "queryStringParameters.id", "body.user.name" */
    char evidence[160];    /* the matched text, truncated, secrets masked; valid UTF-8 */
    char shape[17];        /* hex of a 64-bit hash of the payload's normalised shape: the same
                            * attack with other literals (ids, row counts) has the same shape */
};

struct obs_detector;
struct obs_scratch;

enum err_code obs_detector_new(struct obs_detector **out, struct err *err);
void obs_detector_free(struct obs_detector *d); /* NULL-safe */
enum err_code obs_scratch_new(const struct obs_detector *d, struct obs_scratch **out,
                              struct err *err);
void obs_scratch_free(struct obs_scratch *s); /* NULL-safe */

/* Inspects one function input event (an API Gateway v1 or v2 proxy event, a function URL event,
 * or any JSON value) and writes at most max matches, at most one per class (the most confident),
 * into out; returns how many. */
/* What is walked in an HTTP event (one with requestContext): multiValueQueryStringParameters (or
 * else queryStringParameters, or else rawQueryString split on '&'), keys and values; path and
 * rawPath; pathParameters; headers except the few that browsers and AWS set with fixed formats
 * (Accept*, Content-Length, Connection, Via, Cache-Control, Sec-Fetch-*, Sec-CH-UA*,
 * CloudFront-*, X-Amzn-Trace-Id, X-Forwarded-Port/Proto, ...): User-Agent, Referer,
 * X-Forwarded-For and custom headers are inspected; Cookie and the v2 cookies array per cookie
 * ("cookies.<name>"); body, base64-decoded when isBase64Encoded, walked as JSON (keys too) when it
 * parses, split as a form when Content-Type says x-www-form-urlencoded, else one leaf.
 * requestContext and stageVariables are not user input and are skipped. Any other event: every
 * string and key at any depth. Locations look like "queryStringParameters.id", "body.user.name",
 * "headers.User-Agent", "cookies.session". Evidence from Authorization-like headers and cookies
 * has every long token masked. Each leaf is inspected as is and decoded (percent-decoding twice,
 * HTML character references, base64 when it decodes to text or a serialised object, JSON inside
 * a string), on at most its first 64 KiB; an event is inspected on at most 2 MiB of leaves, all
 * decoded forms counted. Thread-safety: d is shared read-only; s belongs to the calling thread. */
size_t obs_inspect_event(const struct obs_detector *d, struct obs_scratch *s, const json_t *input,
                         struct obs_match *out, size_t max);

/* Inspects one string value (decoding as for a leaf); location is copied into the matches. */
size_t obs_inspect_string(const struct obs_detector *d, struct obs_scratch *s, const char *text,
                          size_t len, const char *location, struct obs_match *out, size_t max);

/* One string for obs_inspect_strings(): text (len bytes, need not be NUL-terminated) and where
 * it was found (copied into matches; NULL for none). */
struct obs_leaf {
    const char *text;
    size_t len;
    const char *location;
};

/* Inspects n strings together as the leaves of one event (each decoded as for a leaf, as
 * obs_inspect_string() does) and writes at most max matches, at most one per class over all of
 * them (the most confident; on a tie the earliest), into out; returns how many. Costs less than
 * n calls of obs_inspect_string(): the strings share one Hyperscan scan. Each match lies within
 * one string (its location and evidence are that string's): a signature is never matched across
 * two of them. The event budget (2 MiB of inspected bytes, decoded forms counted) covers the n
 * strings together. Thread-safety as for obs_inspect_event(). */
size_t obs_inspect_strings(const struct obs_detector *d, struct obs_scratch *s,
                           const struct obs_leaf *leaves, size_t n, struct obs_match *out,
                           size_t max);

#endif
