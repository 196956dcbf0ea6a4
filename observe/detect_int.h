/* observe/detect_int.h - internals of payload inspection shared by observe/detect*.c; not for
 * other modules (they use observe/detect.h). Every function here is pure: no allocation, no I/O,
 * no shared state; output goes to caller-owned buffers whose sizes are passed in. */
#ifndef PARAPET_OBSERVE_DETECT_INT_H
#define PARAPET_OBSERVE_DETECT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A leaf is inspected on at most its first OBS_LEAF_CAP bytes (after decoding). */
#define OBS_LEAF_CAP 65536

/* ---- decoding (observe/detect_decode.c) ---- */

/* Percent-decodes src into dst (cap bytes, not NUL-terminated); %uXXXX becomes UTF-8 and, when
 * plus_space, '+' becomes ' '. Returns the decoded length; *changed tells whether anything was
 * decoded. */
size_t obs_url_decode(const char *src, size_t len, char *dst, size_t cap, bool plus_space,
                      bool *changed);

/* Decodes HTML character references (&lt; &#60; &#x3c; and a few named ones) into dst. Returns
 * the decoded length; *changed as above. */
size_t obs_html_decode(const char *src, size_t len, char *dst, size_t cap, bool *changed);

/* True when s looks like base64 (standard or URL-safe alphabet, optional padding, at least 12
 * characters and no other characters but surrounding whitespace). */
bool obs_looks_base64(const char *s, size_t len);

/* Decodes base64 (either alphabet, padding optional, whitespace skipped) into dst. Returns false
 * on a bad character; *out_len is the decoded length (truncated to cap). */
bool obs_base64_decode(const char *s, size_t len, unsigned char *dst, size_t cap, size_t *out_len);

/* Length (2-4) of the valid, shortest-form UTF-8 sequence of a non-ASCII character at s (len
 * bytes available), or 0 when there is none. */
size_t obs_utf8_seq(const unsigned char *s, size_t len);

/* True when at least 90% of the bytes are printable ASCII, whitespace or valid UTF-8. */
bool obs_is_mostly_text(const unsigned char *s, size_t len);

/* Walks a JSON text without allocating: calls leaf() for every object key (is_key) and every
 * string value, with the dotted path of the value ("user.name", "items.2.id") and the unescaped
 * string (in unesc, of unesc_cap bytes; longer strings are truncated); a key's path ends with
 * the key itself. Numbers, true, false and null are skipped. Paths longer than 255 bytes are
 * cut. Returns false when the text is not valid JSON or nests deeper than 512 levels (leaf may
 * have been called for a prefix). Uses no heap and no recursion. */
typedef void (*obs_json_leaf_fn)(void *ctx, const char *path, const char *s, size_t len,
                                 bool is_key);
bool obs_json_walk(const char *text, size_t len, const char *prefix, char *unesc, size_t unesc_cap,
                   obs_json_leaf_fn leaf, void *ctx);

/* ---- SQL injection (observe/detect_sql.c) ---- */

struct obs_sql_hit {
    const char *technique; /* static */
    double confidence;
    size_t start, end; /* the attack's span in the text */
    uint64_t shape;    /* hash of the token sequence with literals removed */
};

#define OBS_SQL_RAW 1u      /* the value as is: a number or a condition at its start */
#define OBS_SQL_QUOTED 2u   /* after each quote of the value: string contexts */
#define OBS_SQL_ANYWHERE 4u /* every token: UNION SELECT, stacked queries, delays */
#define OBS_SQL_STACKED 8u  /* a ';' is in the value: every token if a verb follows one */

/* Tokenises text as SQL in the contexts an application may paste it into (as is, after an
 * opening single or double quote; contexts is a mask of OBS_SQL_*) and recognises injection
 * token sequences. */
bool obs_sql_check(const char *text, size_t len, unsigned contexts, struct obs_sql_hit *hit);

/* ---- SSRF (observe/detect_ssrf.c) ---- */

struct obs_ssrf_hit {
    const char *technique; /* "metadata-host", "runtime-api", "loopback", ... */
    double confidence;
    size_t start, end;
};

/* Finds URLs and bare addresses in text whose host is internal (loopback, private, link-local,
 * cloud metadata, the Lambda runtime API on port 9001) in any encoding (decimal, hex, octal,
 * short dotted, IPv6-mapped, full-width digits and dots, rebinding names), and dangerous URL
 * schemes (file, gopher, dict, ...). Metadata names and paths by themselves are rows of the rule
 * table (observe/detect_rules.c). */
bool obs_ssrf_check(const char *text, size_t len, struct obs_ssrf_hit *hit);

/* ---- evidence and shape (observe/detect_text.c) ---- */

/* Writes a printable, valid UTF-8 rendering of text[start, end) into out (cap bytes including
 * the NUL; at most cap - 1 bytes), with secrets masked (AWS access keys, bearer tokens, JWTs,
 * password/secret/token values); when mask_all, every long token-like run is masked too. */
void obs_evidence(const char *text, size_t len, size_t start, size_t end, bool mask_all, char *out,
                  size_t cap);

/* 64-bit FNV-1a shape of text[start, end): lower-cased, digits runs become 0, quoted literals
 * and whitespace/comment runs collapsed, repeated ../ folded; salted with the class. */
uint64_t obs_shape_text(const char *text, size_t start, size_t end, unsigned cls);

/* FNV-1a over bytes, continuing from h (start with OBS_FNV_BASIS). */
#define OBS_FNV_BASIS 0xcbf29ce484222325ULL
uint64_t obs_fnv(uint64_t h, const void *p, size_t n);

#endif
