/* posture/deps - dependency vulnerabilities of a Lambda deployment package ("upstream attacks").
 *
 * Pure library code: no I/O but reading the advisory directory, no database, no HTTP. The
 * scanner downloads the package (a zip, in memory) and calls, in this order:
 *
 *   posture_deps_from_zip()    zip bytes -> the function's "Dependencies" array and an array of
 *                              per-file errors (corrupt entries, traversal names, bad lock files)
 *   posture_advisories_match() Dependencies -> the function's "Vulnerabilities" array
 *
 * (shapes in posture/inventory.md). The pieces are public for tests and for the layer scanner:
 * an in-memory zip reader (posture_zip_*), lock/manifest parsers (posture_lock_*), npm semver and
 * PEP 440 versions with OSV "affected" semantics (posture_semver_*, posture_pep440_*,
 * posture_osv_*), and the OSV advisory index (posture_advisories_*).
 *
 * The zip reader never unpacks to disk and touches only the central directory and the few files
 * that matter; every size it reads is capped (struct posture_zip_limits). ZIP64 is supported
 * (node_modules trees pass 65,535 entries); multi-disk archives, encryption and compression
 * methods other than stored (0) and deflate (8) are refused.
 *
 * A dependency is {ecosystem: "npm"|"PyPI", name, version, file}: name normalised per ecosystem
 * (npm: as published; PyPI: PEP 503, lower case with runs of "-_." as one "-"); version the exact
 * installed or pinned version as written (a package.json pin loses a leading "=" or "v", a
 * requirements pin its "=="), or null when the file only declares a range (root
 * package.json, unpinned requirements.txt lines), in which case "range" holds the declaration and
 * the dependency never matches an advisory. "file" is the path inside the zip. Development
 * dependencies (npm lock entries marked dev, Pipfile.lock's develop section) add "dev": true:
 * they are usually not deployed, so rules may rank them lower.
 *
 * Ownership: functions returning json_t * or filling json_t ** hand over a new reference.
 * Threading: everything is reentrant (no global state). The advisory index is immutable once
 * loaded, plain memory without reference counts: any number of threads may call
 * posture_advisories_match() on one index concurrently. Errors come back as enum err_code with
 * struct err (server/err.h). */
#ifndef PARAPET_POSTURE_DEPS_H
#define PARAPET_POSTURE_DEPS_H

#include "server/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- zip ---- */

/* Hard caps of the zip reader. Zero fields take the default shown. */
struct posture_zip_limits {
    size_t max_entries;     /* 200000 entries in the central directory, else the archive is
                             * refused (ERR_TOO_LARGE) */
    size_t max_name;        /* 1024 bytes: longer names are skipped with an error */
    uint64_t max_file;      /* 16 MiB uncompressed per inflated file */
    uint64_t max_total;     /* 64 MiB uncompressed over all inflated files */
    uint32_t max_ratio;     /* 200: uncompressed/compressed beyond this is a zip bomb (checked
                             * for entries of 1 MiB and more: smaller ones cannot hurt) */
    size_t max_selected;    /* 20000 files read at most (lock files, manifests) */
};

/* Defaults of every limit. */
void posture_zip_limits_default(struct posture_zip_limits *lim);

struct posture_zip; /* an opened archive: borrows the caller's bytes */

/* Parses the end of central directory (with comment, ZIP64 when present) and the central
 * directory of zip[0..len). zip must outlive *out. Returns ERR_OK, ERR_INVALID ("corrupt zip:
 * ...": not a zip, truncated, inconsistent offsets), ERR_TOO_LARGE (too many entries) or
 * ERR_NOMEM. lim may be NULL (defaults); it is copied. Free *out with posture_zip_free(). */
enum err_code posture_zip_open(const unsigned char *zip, size_t len,
                               const struct posture_zip_limits *lim, struct posture_zip **out,
                               struct err *err);
void posture_zip_free(struct posture_zip *z); /* NULL-safe */

/* Number of central directory entries. */
size_t posture_zip_count(const struct posture_zip *z);

/* Entry i's name (not NUL-terminated: *name_len bytes, borrowed from the archive). Returns
 * false when i is out of range. */
bool posture_zip_name(const struct posture_zip *z, size_t i, const char **name, size_t *name_len);

/* Why entry i may not be read ("path traversal in name", "name too long", "encrypted entry",
 * ...), or NULL when its name and flags are acceptable. Borrowed static text. */
const char *posture_zip_name_problem(const struct posture_zip *z, size_t i);

/* Reads entry i into a new NUL-terminated buffer (*data, *data_len bytes before the NUL; free
 * with free()). Cross-checks the local header against the central directory, refuses encrypted
 * entries and unknown methods, applies the size, ratio and total caps before inflating, inflates
 * raw deflate and checks the length and CRC-32. Errors: ERR_INVALID (corrupt or refused entry),
 * ERR_TOO_LARGE (a cap), ERR_NOMEM. Counts against max_total even when it fails. */
enum err_code posture_zip_read(struct posture_zip *z, size_t i, unsigned char **data,
                               size_t *data_len, struct err *err);

/* ---- lock files and manifests ---- */

/* Which parser a path inside a package calls for. */
enum posture_lock_kind {
    POSTURE_LOCK_NONE = 0,
    POSTURE_LOCK_NPM,          /* package-lock.json, npm-shrinkwrap.json, node_modules/.package-lock.json */
    POSTURE_LOCK_PACKAGE_JSON, /* a project's package.json: declared ranges */
    POSTURE_LOCK_NPM_INSTALLED, /* node_modules/[@scope/]name/package.json: an installed version */
    POSTURE_LOCK_REQUIREMENTS, /* requirements.txt */
    POSTURE_LOCK_PIPFILE,      /* Pipfile.lock */
    POSTURE_LOCK_POETRY,       /* poetry.lock */
    POSTURE_LOCK_DIST_INFO     /* *.dist-info/METADATA, *.egg-info/PKG-INFO: an installed
                                * Python package */
};

/* Classifies a path (len bytes, no NUL needed). Lock files inside node_modules belong to the
 * packages themselves and are NONE, except npm's hidden node_modules/.package-lock.json. */
enum posture_lock_kind posture_lock_kind_of(const char *path, size_t len);

/* Parses one file's text (len bytes; need not be NUL-terminated) of the given kind and appends
 * its dependencies to deps (an array the caller owns), each with "file" = file. Returns ERR_OK
 * or ERR_INVALID with the first problem ("line 3: not a requirement"); deps then still holds
 * what could be read (requirements.txt goes on after a bad line, the others stop). */
enum err_code posture_lock_parse(enum posture_lock_kind kind, const char *text, size_t len,
                                 const char *file, json_t *deps, struct err *err);

/* PEP 503 normalisation of a PyPI name into out (outsz bytes with the NUL); false when it does
 * not fit or the name is empty or holds characters a distribution name cannot. */
bool posture_pypi_normalize(const char *name, size_t len, char *out, size_t outsz);

/* Reads the dependencies of a deployment package: opens the zip, picks the files that matter by
 * name (posture_lock_kind_of), reads them and parses them. npm lock files are read first; a
 * project's installed node_modules/x/package.json files are read only when none of its lock
 * files could be read, and its package.json only when neither a lock file nor installed
 * packages could stand in (npm's hidden node_modules/.package-lock.json likewise yields to
 * package-lock.json). Problems of single entries or files go into *errors as {file, error} (at
 * most 100, then one {"file": "", "error": "N more errors"}); only an unreadable archive fails
 * the call (ERR_INVALID, ERR_TOO_LARGE, ERR_NOMEM). On ERR_OK *deps and *errors are new arrays
 * (deps without duplicates: lock files' first, then in archive order); on failure both are
 * NULL. lim may be NULL (defaults). */
enum err_code posture_deps_from_zip(const unsigned char *zip, size_t len,
                                    const struct posture_zip_limits *lim, json_t **deps,
                                    json_t **errors, struct err *err);

/* ---- versions ---- */

/* npm semver 2.0.0: MAJOR.MINOR.PATCH[-prerelease][+build], an optional leading "v" or "=".
 * Compares with semver's precedence (build ignored; a prerelease sorts before its release;
 * numeric identifiers numerically and below alphanumeric ones). Returns false when a or b does
 * not parse; else *cmp is <0, 0 or >0. */
bool posture_semver_valid(const char *v);
bool posture_semver_cmp(const char *a, const char *b, int *cmp);

/* PEP 440 with the normalisation of packaging's Version (case, "v" prefix, alpha/beta/c/pre/
 * preview/rev/r spellings, "-"/"_"/"." separators, implicit numbers, implicit post "1.0-1"),
 * epochs, pre/post/dev releases and local versions. Returns false when a or b does not parse. */
bool posture_pep440_valid(const char *v);
bool posture_pep440_cmp(const char *a, const char *b, int *cmp);

/* Writes the canonical form of a PEP 440 version ("1.0RC1" -> "1.0rc1", "v1.0-post2" ->
 * "1.0.post2") into out; false when it does not parse or does not fit. */
bool posture_pep440_normalize(const char *v, char *out, size_t outsz);

/* Whether version v of a package in ecosystem ("npm" or "PyPI") is affected according to one
 * OSV "affected" object: its "versions" list, and each SEMVER or ECOSYSTEM range's events
 * (introduced, fixed, last_affected, limit) evaluated in version order as the OSV schema
 * describes; GIT ranges are ignored. When affected and fixed is not NULL, *fixed is set to the
 * borrowed text of the first "fixed" event above v in the range that matched (NULL if none). */
bool posture_osv_affects(const char *ecosystem, const char *v, const json_t *affected,
                         const char **fixed);

/* ---- advisories ---- */

struct posture_advisories;

/* Loads every *.json file under dir (recursively, symlinks not followed, 16 levels), each one
 * OSV record, into an index by (ecosystem, normalised package name) for npm and PyPI. dir NULL
 * means the environment variable PARAPET_ADVISORY_DIR (ERR_INVALID when unset). Withdrawn
 * records are left out; files that are not valid OSV records (or over 4 MiB) are skipped and
 * counted (posture_advisories_skipped). Only what matching needs is kept, compactly (ids,
 * aliases, the summary's first line, severity, pre-sorted range events, explicit versions):
 * about 1 KB per record with 40 listed versions. Loading parses every file: seconds for an
 * ecosystem's full OSV export, so load once per process. Returns ERR_OK, ERR_NOT_FOUND (dir
 * unreadable) or ERR_NOMEM. Free with posture_advisories_free(). */
enum err_code posture_advisories_load(const char *dir, struct posture_advisories **out,
                                      struct err *err);
void posture_advisories_free(struct posture_advisories *db); /* NULL-safe */

/* Records loaded, and files skipped (with the first reason, borrowed; "" when none). */
size_t posture_advisories_count(const struct posture_advisories *db);
size_t posture_advisories_skipped(const struct posture_advisories *db, const char **first_reason);

/* Matches dependencies (an array as posture_deps_from_zip builds; entries without an exact
 * version are ignored) against the index. Returns a new array of {id, aliases[], ecosystem,
 * package, version, file, severity, summary, fixed} (fixed null when no fixed version is
 * known; "cvss", the highest CVSS v3 base score, when the record has a v3 vector; "dev": true
 * when the dependency is a development one), one per (advisory,
 * dependency), an advisory reported once even when its aliases are loaded as separate records.
 * severity is "critical" for malicious packages (OSV's MAL- ids, GitHub's malware advisories
 * with CWE-506, summaries starting "Malicious" or saying "malicious package/code/version" or
 * "malware"; a bare "malicious input" is not enough), else
 * database_specific.severity (GHSA: LOW, MODERATE, HIGH, CRITICAL -> low, medium, high,
 * critical), else the CVSS v3.x base score of severity[] in CVSS's bands (>= 9.0 critical,
 * >= 7.0 high, >= 4.0 medium, > 0 low), else "unknown". NULL only on allocation failure. */
json_t *posture_advisories_match(const struct posture_advisories *db, const json_t *deps);

/* CVSS v3.0/v3.1 base score of a vector ("CVSS:3.1/AV:N/AC:L/..."), per the specification's
 * formulas and round-up; false when the vector is not a complete valid v3 base vector. */
bool posture_cvss3_score(const char *vector, double *score);

#endif
