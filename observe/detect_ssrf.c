/* SSRF: URLs and bare addresses whose host is internal, in every encoding an HTTP client or
 * resolver accepts (inet_aton forms: decimal, octal, hex and short dotted; IPv6 including
 * IPv4-mapped; names that resolve to internal addresses), the cloud metadata endpoints, the Lambda
 * runtime API and dangerous URL schemes. See observe/detect_int.h. */
#include "observe/detect_int.h"

#include <arpa/inet.h>
#include <string.h>

#define HOST_CAP 256

static char lc(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Case-insensitive search of the lower-case needle in s[from, len). Returns the offset or len. */
static size_t find_ci(const char *s, size_t len, size_t from, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = from; i + n <= len; i++) {
        if (lc(s[i]) != needle[0])
            continue;
        size_t k = 1;
        while (k < n && lc(s[i + k]) == needle[k])
            k++;
        if (k == n)
            return i;
    }
    return len;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* inet_aton's forms: 1-4 parts, each decimal, 0-octal or 0x-hex; the last fills the rest. Sets
 * *plain when the text is canonical dotted decimal. */
static bool parse_ipv4(const char *h, size_t n, uint32_t *out, bool *plain)
{
    unsigned long parts[4];
    size_t np = 0, i = 0;

    *plain = true;
    if (n == 0)
        return false;
    while (i < n) {
        unsigned long v = 0;
        unsigned base = 10;
        size_t digits = 0;
        if (np == 4)
            return false;
        if (h[i] == '0' && i + 1 < n && lc(h[i + 1]) == 'x') {
            base = 16;
            i += 2;
            *plain = false;
        } else if (h[i] == '0' && i + 1 < n && h[i + 1] != '.') {
            base = 8;
            *plain = false;
        }
        while (i < n && h[i] != '.') {
            int d;
            char c = lc(h[i]);
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else
                return false;
            if ((unsigned)d >= base)
                return false;
            v = v * base + (unsigned long)d;
            if (v > 0xFFFFFFFFul)
                return false;
            digits++;
            i++;
        }
        if (digits == 0 && base != 16)
            return false;
        parts[np++] = v;
        if (i < n) {
            i++; /* the dot */
            if (i == n)
                return false;
        }
    }
    if (np != 4)
        *plain = false;
    uint32_t a = 0;
    for (size_t k = 0; k + 1 < np; k++) {
        if (parts[k] > 255)
            return false;
        a |= (uint32_t)parts[k] << (24 - 8 * k);
    }
    unsigned long max = np == 1 ? 0xFFFFFFFFul : (1ul << (8 * (5 - np))) - 1;
    if (parts[np - 1] > max)
        return false;
    a |= (uint32_t)parts[np - 1];
    *out = a;
    return true;
}

struct cls {
    const char *technique;
    double confidence;
};

static bool classify_v4(uint32_t a, unsigned port, struct cls *c)
{
    if (a == 0xA9FEA9FEu || a == 0xA9FEAA02u) { /* 169.254.169.254, 169.254.170.2 (ECS) */
        *c = (struct cls){"metadata-host", 0.95};
    } else if (a == 0x646464C8u) {
        *c = (struct cls){"metadata-host", 0.9};
    } else if ((a >> 24) == 127) {
        *c = port == 9001 ? (struct cls){"runtime-api", 0.95} : (struct cls){"loopback", 0.85};
    } else if ((a >> 16) == 0xA9FE) {
        *c = (struct cls){"link-local", 0.9};
    } else if ((a >> 24) == 0) {
        *c = (struct cls){"unspecified-address", 0.85};
    } else if ((a >> 24) == 10 || (a >> 20) == 0xAC1 || (a >> 16) == 0xC0A8) {
        *c = (struct cls){"private-address", 0.8};
    } else if ((a >> 22) == (0x64400000u >> 22)) {
        *c = (struct cls){"private-address", 0.7}; /* 100.64.0.0/10 */
    } else if (a == 0xC00000C0u) {
        *c = (struct cls){"metadata-host", 0.85}; /* 192.0.0.192 (Oracle Cloud) */
    } else {
        return false;
    }
    return true;
}

static const char *const internal_names[] = {
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.goog",
    "kubernetes.default",
    "kubernetes.default.svc",
    "host.docker.internal",
    "localtest.me",
    "lvh.me",
};

/* Classifies a host (already lower-cased, no brackets, no port). */
static bool classify_host(const char *h, size_t n, unsigned port, bool *encoded, struct cls *c)
{
    uint32_t a;
    bool plain;
    unsigned char v6[16];
    char buf[HOST_CAP];

    *encoded = false;
    while (n > 0 && h[n - 1] == '.')
        n--;
    if (n == 0 || n >= HOST_CAP)
        return false;
    memcpy(buf, h, n);
    buf[n] = '\0';
    if (parse_ipv4(buf, n, &a, &plain)) {
        *encoded = !plain;
        return classify_v4(a, port, c);
    }
    {
        char *pct = strchr(buf, '%'); /* zone id */
        if (pct != NULL)
            *pct = '\0';
    }
    if (strchr(buf, ':') != NULL && inet_pton(AF_INET6, buf, v6) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char zero12[12] = {0};
        static const unsigned char ec2[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                              0,    0,    0,    0,    0, 0, 0x02, 0x54};
        if (memcmp(v6, ec2, 16) == 0) {
            *c = (struct cls){"metadata-host", 0.95};
            return true;
        }
        if (memcmp(v6, mapped, 12) == 0 || (memcmp(v6, zero12, 12) == 0 && v6[12] != 0)) {
            a = (uint32_t)v6[12] << 24 | (uint32_t)v6[13] << 16 | (uint32_t)v6[14] << 8 | v6[15];
            *encoded = true;
            return classify_v4(a, port, c);
        }
        if (memcmp(v6, zero12, 12) == 0 && v6[12] == 0 && v6[13] == 0 && v6[14] == 0 &&
            v6[15] <= 1) {
            *c = port == 9001 ? (struct cls){"runtime-api", 0.95} : (struct cls){"loopback", 0.85};
            return true;
        }
        if (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80) {
            *c = (struct cls){"link-local", 0.85};
            return true;
        }
        if ((v6[0] & 0xfe) == 0xfc) {
            *c = (struct cls){"private-address", 0.8};
            return true;
        }
        return false;
    }
    if (strcmp(buf, "metadata.google.internal") == 0 || strcmp(buf, "metadata.goog") == 0) {
        *c = (struct cls){"metadata-host", 0.95};
        return true;
    }
    for (size_t i = 0; i < sizeof internal_names / sizeof internal_names[0]; i++) {
        if (strcmp(buf, internal_names[i]) == 0) {
            *c = port == 9001 ? (struct cls){"runtime-api", 0.95} : (struct cls){"loopback", 0.85};
            return true;
        }
    }
    if (ends_with(buf, n, ".localhost") || ends_with(buf, n, ".localtest.me") ||
        ends_with(buf, n, ".internal") || ends_with(buf, n, ".rbndr.us") ||
        ends_with(buf, n, ".1u.ms")) {
        *c = (struct cls){"internal-name", 0.8};
        return true;
    }
    /* wildcard DNS that answers with the address in the name: 169.254.169.254.nip.io,
     * 10-0-0-1.sslip.io */
    static const char *const wild[] = {".nip.io", ".sslip.io", ".xip.io", ".traefik.me"};
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        if (!ends_with(buf, n, wild[i]))
            continue;
        size_t m = n - strlen(wild[i]);
        /* take the last 4 dot- or dash-separated numbers before the suffix */
        char ip[64];
        size_t k = 0, dots = 0, s = m;
        while (s > 0 && dots < 4) {
            char ch = buf[s - 1];
            if (ch == '.' || ch == '-') {
                dots++;
                if (dots == 4)
                    break;
            } else if (ch < '0' || ch > '9') {
                break;
            }
            s--;
        }
        for (size_t j = s; j < m && k + 1 < sizeof ip; j++)
            ip[k++] = buf[j] == '-' ? '.' : buf[j];
        ip[k] = '\0';
        if (k == 0 && m >= 8) {
            /* the hex form: a9fea9fe.nip.io */
            size_t hx = m;
            while (hx > 0 && buf[hx - 1] != '.')
                hx--;
            if (m - hx == 8) {
                ip[0] = '0';
                ip[1] = 'x';
                memcpy(ip + 2, buf + hx, 8);
                k = 10;
                ip[k] = '\0';
            }
        }
        if (parse_ipv4(ip, k, &a, &plain) && classify_v4(a, port, c)) {
            c->technique = "rebinding-name";
            return true;
        }
    }
    return false;
}

struct best {
    bool found;
    struct obs_ssrf_hit *hit;
};

static void offer(struct best *b, const char *technique, double conf, size_t start, size_t end)
{
    if (b->found && b->hit->confidence >= conf)
        return;
    b->found = true;
    b->hit->technique = technique;
    b->hit->confidence = conf;
    b->hit->start = start;
    b->hit->end = end;
}

static bool host_char(char c)
{
    return c != '/' && c != '?' && c != '#' && c != '\\' && c != ' ' && c != '"' && c != '\'' &&
           c != '<' && c != '>' && c != '\n' && c != '\r' && c != '\t' && c != '`' && c != ',' &&
           c != ';' && c != ')';
}

/* Copies the host text[from, to) lower-cased into host, folding the look-alikes that IDNA/NFKC
 * turn into ASCII: ideographic and full-width full stops, full-width and circled digits. */
static size_t copy_host(const char *text, size_t from, size_t to, char *host, size_t cap)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t n = 0;

    for (size_t k = from; k < to && n + 1 < cap; k++) {
        if (u[k] < 0x80 || k + 2 >= to) {
            host[n++] = lc(text[k]);
            continue;
        }
        unsigned cp = 0;
        if ((u[k] & 0xF0) == 0xE0 && (u[k + 1] & 0xC0) == 0x80 && (u[k + 2] & 0xC0) == 0x80)
            cp = (u[k] & 0x0Fu) << 12 | (u[k + 1] & 0x3Fu) << 6 | (u[k + 2] & 0x3Fu);
        if (cp == 0x3002 || cp == 0xFF0E || cp == 0xFF61) {
            host[n++] = '.';
        } else if (cp >= 0xFF10 && cp <= 0xFF19) {
            host[n++] = (char)('0' + (cp - 0xFF10));
        } else if (cp >= 0x2460 && cp <= 0x2468) {
            host[n++] = (char)('1' + (cp - 0x2460));
        } else if (cp == 0x24EA) {
            host[n++] = '0';
        } else {
            host[n++] = lc(text[k]);
            continue;
        }
        k += 2;
    }
    return n;
}

/* Parses the authority at text[i] (after "//"); classifies its host. */
static void check_authority(const char *text, size_t len, size_t i, size_t url_start, bool bare,
                            struct best *b)
{
    size_t e = i, at = (size_t)-1, first_at = (size_t)-1;
    char host[HOST_CAP];
    size_t hn = 0;
    unsigned port = 0;
    struct cls c;
    bool encoded;

    while (e < len && host_char(text[e]) && e - i < 512) {
        if (text[e] == '@') {
            if (first_at == (size_t)-1)
                first_at = e;
            at = e;
        }
        e++;
    }
    /* http://a@127.0.0.1:80@evil/: parsers disagree on which '@' ends the user part; the
     * host between the first and the last is checked too */
    if (first_at != at && !bare)
        check_authority(text, at, first_at + 1, url_start, false, b);
    size_t hs = at != (size_t)-1 ? at + 1 : i;
    size_t he = e;
    if (hs < he && text[hs] == '[') {
        size_t close = hs;
        while (close < he && text[close] != ']')
            close++;
        if (close == he)
            return;
        hn = copy_host(text, hs + 1, close, host, sizeof host);
        if (close + 1 < he && text[close + 1] == ':')
            for (size_t k = close + 2; k < he && text[k] >= '0' && text[k] <= '9' && port < 70000;
                 k++)
                port = port * 10 + (unsigned)(text[k] - '0');
    } else {
        size_t colon = he;
        for (size_t k = hs; k < he; k++)
            if (text[k] == ':') {
                colon = k;
                break;
            }
        hn = copy_host(text, hs, colon, host, sizeof host);
        for (size_t k = colon + 1; k < he && text[k] >= '0' && text[k] <= '9' && port < 70000; k++)
            port = port * 10 + (unsigned)(text[k] - '0');
    }
    host[hn] = '\0';
    if (!classify_host(host, hn, port, &encoded, &c))
        return;
    if (bare) {
        /* a bare value: only what no form field holds by accident */
        if (strcmp(c.technique, "metadata-host") != 0 && strcmp(c.technique, "runtime-api") != 0 &&
            strcmp(c.technique, "link-local") != 0 && strcmp(c.technique, "rebinding-name") != 0 &&
            !encoded)
            return;
        if (encoded && strcmp(c.technique, "metadata-host") != 0) {
            /* 2130706433 is also an order number: only hex, octal or mixed forms count */
            bool marker = false;
            for (size_t k = 0; k < hn; k++)
                if (host[k] == 'x' || host[k] == ':' ||
                    (host[k] == '0' && (k == 0 || host[k - 1] == '.') && k + 1 < hn &&
                     host[k + 1] != '.'))
                    marker = true;
            if (!marker)
                return;
        }
    }
    offer(b, encoded && strcmp(c.technique, "metadata-host") != 0 ? "encoded-address" : c.technique,
          encoded && c.confidence < 0.9 ? 0.9 : c.confidence, url_start, e);
}

struct scheme {
    const char *name; /* lower case */
    const char *technique;
    double confidence;
};

static const struct scheme schemes[] = {
    {"gopher", "dangerous-scheme", 0.95}, {"dict", "dangerous-scheme", 0.9},
    {"ldap", "dangerous-scheme", 0.85},   {"ldaps", "dangerous-scheme", 0.85},
    {"tftp", "dangerous-scheme", 0.9},    {"netdoc", "dangerous-scheme", 0.9},
    {"jar", "dangerous-scheme", 0.85},    {"file", "file-scheme", 0.85},
    {"sftp", "dangerous-scheme", 0.6},    {"rmi", "dangerous-scheme", 0.85},
};

bool obs_ssrf_check(const char *text, size_t len, struct obs_ssrf_hit *hit)
{
    struct best b = {false, hit};
    size_t i;

    /* every "://" */
    for (i = 0; i + 3 <= len; i++) {
        if (text[i] != ':' || text[i + 1] != '/' || text[i + 2] != '/')
            continue;
        size_t s = i;
        while (s > 0 &&
               ((lc(text[s - 1]) >= 'a' && lc(text[s - 1]) <= 'z') ||
                (text[s - 1] >= '0' && text[s - 1] <= '9') || text[s - 1] == '+' ||
                text[s - 1] == '-' || text[s - 1] == '.') &&
               i - s < 16)
            s--;
        char scheme[17];
        size_t sn = 0;
        for (size_t k = s; k < i && sn < 16; k++)
            scheme[sn++] = lc(text[k]);
        scheme[sn] = '\0';
        for (size_t k = 0; k < sizeof schemes / sizeof schemes[0]; k++) {
            if (strcmp(scheme, schemes[k].name) != 0)
                continue;
            size_t e = i + 3;
            while (e < len && e - i < 96 && text[e] != ' ' && text[e] != '"' && text[e] != '\'')
                e++;
            double conf = schemes[k].confidence;
            if (strcmp(schemes[k].name, "file") == 0 &&
                (find_ci(text, e, i, "/etc/") < e || find_ci(text, e, i, "/proc/") < e ||
                 find_ci(text, e, i, "/var/task") < e || find_ci(text, e, i, "c:") < e ||
                 find_ci(text, e, i, "/windows") < e || find_ci(text, e, i, "/root") < e))
                conf = 0.95;
            offer(&b, schemes[k].technique, conf, s, e);
        }
        check_authority(text, len, i + 3, s, false, &b);
    }
    /* a protocol-relative URL or a bare address as the whole value */
    i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (i + 2 < len && (text[i] == '/' || text[i] == '\\') &&
        (text[i + 1] == '/' || text[i + 1] == '\\'))
        check_authority(text, len, i + 2, i, false, &b);
    else if (i < len && len - i < 256)
        check_authority(text, len, i, i, true, &b);
    return b.found;
}
