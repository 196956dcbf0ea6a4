/* observe/detect_rules.h - the payload signature table (observe/detect_rules.c), internal to
 * observe/detect*.c. Rows are immutable; their index is the Hyperscan pattern id. */
#ifndef PARAPET_OBSERVE_DETECT_RULES_H
#define PARAPET_OBSERVE_DETECT_RULES_H

#include "observe/detect.h"

#include <stddef.h>

enum obs_confirm {
    OBS_CONFIRM_PCRE = 0, /* PCRE2 runs the same expression; its match is the evidence */
    OBS_CONFIRM_SQL_RAW,  /* the SQL tokeniser decides, the value as is (observe/detect_sql.c) */
    OBS_CONFIRM_SQL_ANYWHERE, /* the same, over all of the value's tokens */
    OBS_CONFIRM_SQL_QUOTED, /* the same, after each quote of the value */
    OBS_CONFIRM_SSRF,     /* the address parser decides (observe/detect_ssrf.c) */
};

struct obs_rule {
    enum obs_class cls;
    const char *technique; /* for OBS_CONFIRM_PCRE; the confirmer names its own otherwise */
    double confidence;
    enum obs_confirm confirm;
    const char *re; /* PCRE syntax: the signature */
    const char *hs; /* Hyperscan: a necessary condition of re (NULL: re in prefilter mode) */
};

extern const struct obs_rule obs_rules[];
extern const size_t obs_rule_count;

#endif
