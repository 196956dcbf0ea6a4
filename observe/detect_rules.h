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
    OBS_CONFIRM_SQL_STACKED,  /* the same when a ';' is followed by a statement verb */
    OBS_CONFIRM_SQL_QUOTED,   /* the same, after each quote of the value */
    OBS_CONFIRM_SSRF,         /* the address parser decides (observe/detect_ssrf.c) */
};

/* Conditions on how a value starts, checked in C instead of by Hyperscan (anchored patterns
 * cost Hyperscan a start-up on every scan). */
enum obs_start {
    OBS_START_NONE = 0,
    OBS_START_SQL,     /* a number, "-1", "(1", "or ", "and ", "||", "&&", or "word=1" */
    OBS_START_DOLLAR,  /* '$' */
    OBS_START_PATH,    /* '/', '\\', "x:" (a drive) or "file:" */
    OBS_START_PICKLE,  /* "gA" + S, W, N or J (base64 of a pickle header), or byte 0x80 */
    OBS_START_ADDRESS, /* a digit, '[', '/', '\\' or "localhost" */
};

struct obs_rule {
    enum obs_class cls;
    const char *technique; /* for OBS_CONFIRM_PCRE; the confirmer names its own otherwise */
    double confidence;
    enum obs_confirm confirm;
    const char *re;       /* PCRE syntax: the signature */
    const char *hs;       /* Hyperscan: a necessary condition of re (NULL: re in prefilter mode, or
                           * no Hyperscan pattern when start is set) */
    enum obs_start start; /* also a candidate when the value starts so (after spaces) */
};

extern const struct obs_rule obs_rules[];
extern const size_t obs_rule_count;

#endif
