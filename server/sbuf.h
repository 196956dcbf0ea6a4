/* sbuf - a growing NUL-terminated text buffer, shared by every module that writes text in pieces
 * (metrics, ingest rows, correlation's array literals, the test fakes' answers). A failure (out
 * of memory, or past max) is sticky: later writes do nothing and the text must not be used. Zero-initialised
 * is empty; free p when done. */
#ifndef PARAPET_SBUF_H
#define PARAPET_SBUF_H

#include <stdbool.h>
#include <stddef.h>

#define SBUF_MAX ((size_t)256 << 20) /* the rows of the largest Firehose delivery fit */

struct sbuf {
    char *p;
    size_t len, cap;
    size_t max; /* bytes it may hold, NUL included; 0 = SBUF_MAX */
    bool failed;
};

/* Room for n more bytes and the NUL; false once failed. */
bool sb_reserve(struct sbuf *b, size_t n);
void sb_put(struct sbuf *b, const char *s, size_t n);
void sb_lit(struct sbuf *b, const char *s);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
