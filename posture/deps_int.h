/* posture/deps_int - shared between posture/version.c and posture/advisory.c, not for callers:
 * OSV range events already checked and sorted, so an index can prepare them once at load time
 * and evaluate them for each dependency without parsing JSON or allocating. */
#ifndef PARAPET_POSTURE_DEPS_INT_H
#define PARAPET_POSTURE_DEPS_INT_H

#include "posture/deps.h"

#define POSTURE_OSV_MAX_EVENTS 256 /* events per range; longer ranges are ignored */

enum posture_osv_kind {
    POSTURE_OSV_INTRODUCED = 0,
    POSTURE_OSV_LAST_AFFECTED,
    POSTURE_OSV_FIXED,
    POSTURE_OSV_LIMIT
};

struct posture_osv_event {
    enum posture_osv_kind kind;
    const char *version; /* "0" for introduced means before every version; borrowed */
};

/* Compares two versions; false when either does not parse. */
typedef bool (*posture_version_cmp_fn)(const char *a, const char *b, int *cmp);

/* The comparison of an OSV range type ("SEMVER", "ECOSYSTEM") for an ecosystem ("npm", "PyPI"),
 * or NULL when it cannot be evaluated (GIT, other ecosystems). */
posture_version_cmp_fn posture_osv_cmp_for(const char *ecosystem, const char *range_type);

/* Copies a range's events (borrowing their strings) into ev[0..POSTURE_OSV_MAX_EVENTS), checks
 * that every version parses with cmp and sorts them. Returns the count, or 0 when the range
 * cannot be evaluated (no events, an event that is not a version, too many events). */
size_t posture_osv_events_prepare(posture_version_cmp_fn cmp, const json_t *events,
                                  struct posture_osv_event *ev);

/* The OSV schema's evaluation of prepared events for version v; when affected and fixed is not
 * NULL, *fixed is the first "fixed" version above v (NULL if none). */
bool posture_osv_events_affect(posture_version_cmp_fn cmp, const char *v,
                               const struct posture_osv_event *ev, size_t n, const char **fixed);

#endif
