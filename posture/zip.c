/* In-memory zip reader over zlib (APPNOTE.TXT 6.3.10): end of central directory (with comment,
 * ZIP64), central directory, local header cross-checks, stored and deflate entries, CRC-32.
 * Never writes to disk; every size it trusts is checked against the buffer and the caps. */
#include "posture/deps.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define EOCD_LEN 22u
#define EOCD64_LEN 56u
#define LOC64_LEN 20u
#define CENTRAL_LEN 46u
#define LOCAL_LEN 30u
#define MAX_COMMENT 65535u
#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DESCRIPTOR 0x0008u
#define FLAG_STRONG 0x0040u
#define METHOD_STORED 0
#define METHOD_DEFLATE 8
#define METHOD_AES 99
#define RATIO_MIN_SIZE (1u << 20) /* below 1 MiB a file cannot be a bomb: ratio not checked */

struct zent {
    const unsigned char *name;
    size_t name_len;
    uint16_t flags, method;
    uint32_t crc;
    uint64_t csize, usize, local_off;
    const char *problem; /* static text, or NULL */
};

struct posture_zip {
    const unsigned char *buf;
    size_t len;
    struct posture_zip_limits lim;
    struct zent *ents;
    size_t n;
    uint64_t data_end; /* entries' data lies before the central directory */
    uint64_t total;    /* uncompressed bytes read so far */
    size_t selected;   /* entries read so far */
};

void posture_zip_limits_default(struct posture_zip_limits *lim)
{
    lim->max_entries = 200000;
    lim->max_name = 1024;
    lim->max_file = 16u << 20;
    lim->max_total = 64u << 20;
    lim->max_ratio = 200;
    lim->max_selected = 20000;
}

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* Why a name may not be extracted, or NULL. Names are relative, "/"-separated, without "..". */
static const char *name_problem(const unsigned char *name, size_t n, size_t max)
{
    size_t seg = 0;

    if (n == 0)
        return "empty name";
    if (n > max)
        return "name too long";
    if (memchr(name, '\0', n))
        return "NUL in name";
    if (memchr(name, '\\', n))
        return "backslash in name";
    if (name[0] == '/' || (n >= 2 && name[1] == ':'))
        return "absolute path in name";
    for (size_t i = 0; i <= n; i++) {
        if (i < n && name[i] != '/')
            continue;
        if (i - seg == 2 && name[seg] == '.' && name[seg + 1] == '.')
            return "path traversal in name";
        seg = i + 1;
    }
    return NULL;
}

/* Finds the ZIP64 extended information extra field (0x0001) and replaces the 0xFFFFFFFF sizes
 * and offset by its values, in the order APPNOTE 4.5.3 gives. */
static bool apply_zip64(struct zent *e, const unsigned char *extra, size_t n, bool u, bool c,
                        bool o)
{
    size_t i = 0;

    while (i + 4 <= n) {
        uint16_t id = rd16(extra + i), sz = rd16(extra + i + 2);
        if (i + 4 + sz > n)
            return false;
        if (id == 0x0001) {
            const unsigned char *p = extra + i + 4;
            size_t need = (u ? 8u : 0u) + (c ? 8u : 0u) + (o ? 8u : 0u);
            if (sz < need)
                return false;
            if (u) {
                e->usize = rd64(p);
                p += 8;
            }
            if (c) {
                e->csize = rd64(p);
                p += 8;
            }
            if (o)
                e->local_off = rd64(p);
            return true;
        }
        i += 4u + sz;
    }
    return false;
}

/* Locates the end of central directory: the last signature in the final 64 KiB + 22 bytes whose
 * comment fits in the file. Returns its offset or SIZE_MAX. */
static size_t find_eocd(const unsigned char *buf, size_t len)
{
    if (len < EOCD_LEN)
        return SIZE_MAX;
    size_t lo = len - EOCD_LEN > MAX_COMMENT ? len - EOCD_LEN - MAX_COMMENT : 0;
    for (size_t i = len - EOCD_LEN + 1; i-- > lo;) {
        if (rd32(buf + i) == SIG_EOCD && i + EOCD_LEN + rd16(buf + i + 20) <= len)
            return i;
    }
    return SIZE_MAX;
}

#define CORRUPT(...) err_set(err, ERR_INVALID, "corrupt zip: " __VA_ARGS__)

enum err_code posture_zip_open(const unsigned char *zip, size_t len,
                               const struct posture_zip_limits *lim, struct posture_zip **out,
                               struct err *err)
{
    struct posture_zip *z = NULL;
    enum err_code rc;
    size_t eocd;
    uint64_t n_total, cd_size, cd_off, cd_end;
    const unsigned char *p;

    *out = NULL;
    if (!zip || len == 0)
        return CORRUPT("empty");
    eocd = find_eocd(zip, len);
    if (eocd == SIZE_MAX)
        return CORRUPT("no end of central directory record");
    p = zip + eocd;
    if (rd16(p + 4) != 0 || rd16(p + 6) != 0 || rd16(p + 8) != rd16(p + 10))
        return CORRUPT("multi-disk archives are not supported");
    n_total = rd16(p + 10);
    cd_size = rd32(p + 12);
    cd_off = rd32(p + 16);
    cd_end = eocd;
    if (eocd >= LOC64_LEN && rd32(zip + eocd - LOC64_LEN) == SIG_LOC64) {
        const unsigned char *loc = zip + eocd - LOC64_LEN;
        uint64_t off64 = rd64(loc + 8);
        if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1)
            return CORRUPT("multi-disk archives are not supported");
        if (off64 > eocd - LOC64_LEN || eocd - LOC64_LEN - off64 < EOCD64_LEN ||
            rd32(zip + off64) != SIG_EOCD64)
            return CORRUPT("bad ZIP64 end of central directory");
        p = zip + off64;
        if (rd32(p + 16) != 0 || rd32(p + 20) != 0 || rd64(p + 24) != rd64(p + 32))
            return CORRUPT("multi-disk archives are not supported");
        n_total = rd64(p + 32);
        cd_size = rd64(p + 40);
        cd_off = rd64(p + 48);
        cd_end = off64;
    } else if (n_total == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        return CORRUPT("ZIP64 record missing");
    }
    if (cd_off > cd_end || cd_size > cd_end - cd_off)
        return CORRUPT("central directory outside the file");
    if (n_total > cd_size / CENTRAL_LEN)
        return CORRUPT("entry count does not fit the central directory");

    z = calloc(1, sizeof(*z));
    if (!z)
        return err_set(err, ERR_NOMEM, "out of memory");
    z->buf = zip;
    z->len = len;
    posture_zip_limits_default(&z->lim);
    if (lim) {
        z->lim.max_entries = lim->max_entries ? lim->max_entries : z->lim.max_entries;
        z->lim.max_name = lim->max_name ? lim->max_name : z->lim.max_name;
        z->lim.max_file = lim->max_file ? lim->max_file : z->lim.max_file;
        z->lim.max_total = lim->max_total ? lim->max_total : z->lim.max_total;
        z->lim.max_ratio = lim->max_ratio ? lim->max_ratio : z->lim.max_ratio;
        z->lim.max_selected = lim->max_selected ? lim->max_selected : z->lim.max_selected;
    }
    if (n_total > z->lim.max_entries) {
        rc = err_set(err, ERR_TOO_LARGE, "zip has %llu entries, over the limit of %zu",
                     (unsigned long long)n_total, z->lim.max_entries);
        goto out;
    }
    z->data_end = cd_off;
    z->ents = calloc(n_total ? (size_t)n_total : 1, sizeof(*z->ents));
    if (!z->ents) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    p = zip + cd_off;
    const unsigned char *end = zip + cd_off + cd_size;
    for (uint64_t i = 0; i < n_total; i++) {
        struct zent *e = &z->ents[i];
        if ((size_t)(end - p) < CENTRAL_LEN || rd32(p) != SIG_CENTRAL) {
            rc = CORRUPT("bad central directory entry %llu", (unsigned long long)i);
            goto out;
        }
        size_t nl = rd16(p + 28), xl = rd16(p + 30), cl = rd16(p + 32);
        if ((size_t)(end - p) - CENTRAL_LEN < nl + xl + cl) {
            rc = CORRUPT("central directory entry %llu overruns", (unsigned long long)i);
            goto out;
        }
        e->flags = rd16(p + 8);
        e->method = rd16(p + 10);
        e->crc = rd32(p + 16);
        e->csize = rd32(p + 20);
        e->usize = rd32(p + 24);
        e->local_off = rd32(p + 42);
        e->name = p + CENTRAL_LEN;
        e->name_len = nl;
        bool u = e->usize == 0xFFFFFFFFu, c = e->csize == 0xFFFFFFFFu,
             o = e->local_off == 0xFFFFFFFFu;
        if ((u || c || o) && !apply_zip64(e, p + CENTRAL_LEN + nl, xl, u, c, o))
            e->problem = "bad ZIP64 extra field";
        if (!e->problem)
            e->problem = name_problem(e->name, nl, z->lim.max_name);
        if (!e->problem && ((e->flags & (FLAG_ENCRYPTED | FLAG_STRONG)) || e->method == METHOD_AES))
            e->problem = "encrypted entry";
        if (rd16(p + 34) != 0 && !e->problem)
            e->problem = "entry on another disk";
        p += CENTRAL_LEN + nl + xl + cl;
        z->n++;
    }
    *out = z;
    z = NULL;
    rc = ERR_OK;
out:
    posture_zip_free(z);
    return rc;
}

void posture_zip_free(struct posture_zip *z)
{
    if (!z)
        return;
    free(z->ents);
    free(z);
}

size_t posture_zip_count(const struct posture_zip *z)
{
    return z ? z->n : 0;
}

bool posture_zip_name(const struct posture_zip *z, size_t i, const char **name, size_t *name_len)
{
    if (!z || i >= z->n)
        return false;
    *name = (const char *)z->ents[i].name;
    *name_len = z->ents[i].name_len;
    return true;
}

const char *posture_zip_name_problem(const struct posture_zip *z, size_t i)
{
    if (!z || i >= z->n)
        return "no such entry";
    return z->ents[i].problem;
}

/* Inflates raw deflate data[0..clen) into exactly ulen bytes at out. */
static enum err_code inflate_exact(const unsigned char *data, uint64_t clen, unsigned char *out,
                                   uint64_t ulen, struct err *err)
{
    z_stream s;
    int zr;

    memset(&s, 0, sizeof(s));
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
        return err_set(err, ERR_NOMEM, "out of memory");
    s.next_out = out;
    s.avail_out = (uInt)ulen; /* ulen <= max_file, checked to fit by the caller */
    s.avail_out++;            /* one byte of room detects data longer than declared */
    do {
        uint64_t chunk = clen > UINT_MAX / 2 ? UINT_MAX / 2 : clen;
        s.next_in = (Bytef *)(uintptr_t)data; /* zlib does not write its input */
        s.avail_in = (uInt)chunk;
        zr = inflate(&s, Z_NO_FLUSH);
        data += chunk - s.avail_in;
        clen -= chunk - s.avail_in;
    } while (zr == Z_OK && clen > 0 && s.avail_out > 0);
    uint64_t got = s.total_out;
    inflateEnd(&s);
    if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR)
        return err_set(err, ERR_INVALID, "corrupt deflate data");
    if (zr == Z_MEM_ERROR)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (got > ulen)
        return err_set(err, ERR_INVALID, "entry inflates beyond its declared size");
    if (zr != Z_STREAM_END || got != ulen)
        return err_set(err, ERR_INVALID, "truncated deflate data");
    return ERR_OK;
}

enum err_code posture_zip_read(struct posture_zip *z, size_t i, unsigned char **data,
                               size_t *data_len, struct err *err)
{
    struct zent *e;
    const unsigned char *l;
    unsigned char *buf = NULL;
    enum err_code rc;

    *data = NULL;
    *data_len = 0;
    if (!z || i >= z->n)
        return err_set(err, ERR_INVALID, "no such entry");
    e = &z->ents[i];
    if (e->problem)
        return err_set(err, ERR_INVALID, "%s", e->problem);
    if (e->method != METHOD_STORED && e->method != METHOD_DEFLATE)
        return err_set(err, ERR_INVALID, "unsupported compression method %u", e->method);
    if (z->selected >= z->lim.max_selected)
        return err_set(err, ERR_TOO_LARGE, "more than %zu files to read", z->lim.max_selected);
    if (e->usize > z->lim.max_file || e->usize >= UINT_MAX)
        return err_set(err, ERR_TOO_LARGE, "entry of %llu bytes, over the limit of %llu",
                       (unsigned long long)e->usize, (unsigned long long)z->lim.max_file);
    if (e->usize > z->lim.max_total - z->total)
        return err_set(err, ERR_TOO_LARGE, "over the limit of %llu bytes read from the archive",
                       (unsigned long long)z->lim.max_total);
    if (e->method == METHOD_DEFLATE && e->usize >= RATIO_MIN_SIZE &&
        e->usize / z->lim.max_ratio > e->csize)
        return err_set(err, ERR_TOO_LARGE, "compression ratio over %u (zip bomb)",
                       z->lim.max_ratio);
    if (e->method == METHOD_STORED && e->csize != e->usize)
        return err_set(err, ERR_INVALID, "stored entry with different sizes");
    z->selected++;
    z->total += e->usize;

    /* local header: inside the data area, and agreeing with the central directory */
    if (e->local_off > z->data_end || z->data_end - e->local_off < LOCAL_LEN)
        return err_set(err, ERR_INVALID, "local header outside the archive");
    l = z->buf + e->local_off;
    size_t nl = rd16(l + 26), xl = rd16(l + 28);
    uint64_t data_off = e->local_off + LOCAL_LEN + nl + xl;
    if (rd32(l) != SIG_LOCAL)
        return err_set(err, ERR_INVALID, "bad local header signature");
    if (data_off > z->data_end || z->data_end - data_off < e->csize)
        return err_set(err, ERR_INVALID, "entry data outside the archive");
    if (nl != e->name_len || memcmp(l + LOCAL_LEN, e->name, nl) != 0)
        return err_set(err, ERR_INVALID, "local name differs from the central directory");
    if (rd16(l + 8) != e->method || (rd16(l + 6) & FLAG_ENCRYPTED))
        return err_set(err, ERR_INVALID, "local header differs from the central directory");
    if (!(rd16(l + 6) & FLAG_DESCRIPTOR)) {
        uint32_t lc = rd32(l + 18), lu = rd32(l + 22);
        if (rd32(l + 14) != e->crc || (lc != 0xFFFFFFFFu && lc != e->csize) ||
            (lu != 0xFFFFFFFFu && lu != e->usize))
            return err_set(err, ERR_INVALID, "local header differs from the central directory");
    }

    buf = malloc((size_t)e->usize + 1);
    if (!buf)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (e->method == METHOD_STORED) {
        memcpy(buf, z->buf + data_off, (size_t)e->usize);
    } else {
        rc = inflate_exact(z->buf + data_off, e->csize, buf, e->usize, err);
        if (rc != ERR_OK)
            goto out;
    }
    if (crc32(0L, buf, (uInt)e->usize) != e->crc) {
        rc = err_set(err, ERR_INVALID, "CRC-32 mismatch");
        goto out;
    }
    buf[e->usize] = '\0';
    *data = buf;
    *data_len = (size_t)e->usize;
    buf = NULL;
    rc = ERR_OK;
out:
    free(buf);
    return rc;
}
