/* Payload inspection throughput (observe/detect.h), one core, against baselines measured in the
 * same run on the same bytes. See bench/README.md ("Payload inspection").
 *
 * The labelled corpus (tests/data/detect: attack and benign strings) is replicated until it holds
 * BENCH_DETECT_MB (default 100) MB of payload bytes, then:
 *   memchr      one memchr() over every string (the floor: touching the bytes)
 *   pcre2-loop  PCRE2 (JIT) running every rule's expression over every string: the "loop of
 *               regexes per event" design (on a 1/10 sample: it is slow)
 *   inspect     obs_inspect_string() on every string (Hyperscan prefilter, PCRE2 confirmation, SQL
 *               tokeniser, SSRF parser, decoding)
 *   benign      the same on the benign strings only (what most traffic looks like)
 *   inspect-batch  the same strings as inspect, GROUP at a time through obs_inspect_strings():
 *               each group inspected as the leaves of one event are (one Hyperscan scan, at most
 *               one match per class per group); matched counts groups
 *   benign-batch   the same on the benign strings
 *   events      obs_inspect_event() on the API Gateway events of tests/data/detect/events,
 *               replicated; MB counts the events' JSON text
 * MB/s = 10^6 bytes of payload per second of thread CPU time (CLOCK_THREAD_CPUTIME_ID), so other
 * processes on a shared machine do not count against it; wall time is printed too. */
#include "observe/detect.h"
#include "observe/detect_int.h"
#include "observe/detect_rules.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CORPUS "tests/data/detect"
#define GROUP 16 /* strings per obs_inspect_strings() call: about the leaves of an event */

struct str {
    const char *p;
    size_t n;
};

struct strs {
    struct str *v;
    size_t n, cap;
    size_t bytes;
};

static void push(struct strs *s, const char *p, size_t n)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (s->v == NULL) {
            perror("realloc");
            exit(1);
        }
    }
    s->v[s->n].p = p;
    s->v[s->n].n = n;
    s->n++;
    s->bytes += n;
}

/* Appends every payload line of a corpus file (decoded "b64:" lines) to s. */
static void load_lines(const char *path, struct strs *s)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (f == NULL) {
        fprintf(stderr, "bench-detect: cannot open %s (run from the repository root)\n", path);
        exit(1);
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *copy = malloc((size_t)n + 1);
        size_t len;
        if (copy == NULL)
            exit(1);
        if (n > 4 && memcmp(line, "b64:", 4) == 0) {
            (void)obs_base64_decode(line + 4, (size_t)n - 4, (unsigned char *)copy, (size_t)n,
                                    &len);
        } else {
            memcpy(copy, line, (size_t)n);
            len = (size_t)n;
        }
        push(s, copy, len);
    }
    free(line);
    fclose(f);
}

static void load_dir(const char *dir, struct strs *s)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (d == NULL) {
        fprintf(stderr, "bench-detect: cannot open %s\n", dir);
        exit(1);
    }
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".txt") == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            load_lines(path, s);
        }
    }
    closedir(d);
}

/* Repeats the strings of src into dst until dst holds at least bytes. */
static void replicate(const struct strs *src, size_t bytes, struct strs *dst)
{
    while (dst->bytes < bytes)
        for (size_t i = 0; i < src->n && dst->bytes < bytes; i++)
            push(dst, src->v[i].p, src->v[i].n);
}

struct clock2 {
    struct timespec cpu, wall;
};

static void start(struct clock2 *c)
{
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c->cpu);
    clock_gettime(CLOCK_MONOTONIC, &c->wall);
}

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void stop(const struct clock2 *c, double *cpu, double *wall)
{
    struct timespec cpu2, wall2;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu2);
    clock_gettime(CLOCK_MONOTONIC, &wall2);
    *cpu = secs(&c->cpu, &cpu2);
    *wall = secs(&c->wall, &wall2);
}

static double pcre_mbs; /* the PCRE2 loop's MB/s, once measured */

static double row(const char *name, const char *what, size_t bytes, size_t items, double cpu,
                  double wall, double ref_mbs, unsigned long found)
{
    double mbs = (double)bytes / 1e6 / cpu;
    char vs_pcre[32] = "";

    if (pcre_mbs > 0)
        snprintf(vs_pcre, sizeof vs_pcre, "%.1fx", mbs / pcre_mbs);
    printf("| %s | %s | %.1f | %zu | %.2f | %.2f | **%.1f** | %.4fx | %s | %lu |\n", name, what,
           (double)bytes / 1e6, items, cpu, wall, mbs, ref_mbs > 0 ? mbs / ref_mbs : 1.0, vs_pcre,
           found);
    return mbs;
}

/* Inspects the strings GROUP at a time with obs_inspect_strings(); returns the groups with a
 * match. */
static unsigned long inspect_groups(const struct obs_detector *det, struct obs_scratch *scr,
                                    const struct strs *v)
{
    struct obs_leaf g[GROUP];
    struct obs_match m[OBS_CLASS_COUNT];
    unsigned long found = 0;

    for (size_t i = 0; i < v->n; i += GROUP) {
        size_t k = 0;
        for (; k < GROUP && i + k < v->n; k++)
            g[k] = (struct obs_leaf){v->v[i + k].p, v->v[i + k].n, "q"};
        found += obs_inspect_strings(det, scr, g, k, m, OBS_CLASS_COUNT) > 0;
    }
    return found;
}

/* One row: the strings of v inspected GROUP at a time. */
static void batch_row(const char *name, const char *strings, const struct obs_detector *det,
                      struct obs_scratch *scr, const struct strs *v, double memchr_mbs)
{
    struct clock2 c;
    double cpu, wall;
    char what[96];

    start(&c);
    unsigned long found = inspect_groups(det, scr, v);
    stop(&c, &cpu, &wall);
    snprintf(what, sizeof what, "obs_inspect_strings(), %s, %d strings per call", strings, GROUP);
    (void)row(name, what, v->bytes, v->n, cpu, wall, memchr_mbs, found);
}

/* Loads the events of tests/data/detect/events as parsed JSON (the ingest path parses once). */
static size_t load_events(json_t **out, size_t cap, size_t *bytes)
{
    DIR *d = opendir(CORPUS "/events");
    struct dirent *e;
    char path[512];
    size_t n = 0;

    *bytes = 0;
    if (d == NULL)
        exit(1);
    while ((e = readdir(d)) != NULL && n < cap) {
        size_t l = strlen(e->d_name);
        json_error_t je;
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof path, CORPUS "/events/%s", e->d_name);
        json_t *doc = json_load_file(path, 0, &je);
        if (doc == NULL)
            continue;
        out[n] = json_incref(json_object_get(doc, "event"));
        char *text = json_dumps(out[n], JSON_COMPACT);
        *bytes += text != NULL ? strlen(text) : 0;
        free(text);
        json_decref(doc);
        n++;
    }
    closedir(d);
    return n;
}

int main(void)
{
    struct strs attacks = {0}, benign = {0}, corpus = {0}, big = {0}, big_benign = {0};
    struct strs sample = {0};
    struct obs_detector *det = NULL;
    struct obs_scratch *scr = NULL;
    struct err err = {0};
    struct obs_match m[OBS_CLASS_COUNT];
    const char *mb_env = getenv("BENCH_DETECT_MB");
    unsigned long mb = mb_env != NULL ? strtoul(mb_env, NULL, 10) : 100;
    size_t target = (size_t)(mb > 0 ? mb : 100) * 1000000;
    struct clock2 c;
    double cpu, wall, memchr_mbs;
    unsigned long found;

    start(&c);
    if (obs_detector_new(&det, &err) != ERR_OK || obs_scratch_new(det, &scr, &err) != ERR_OK) {
        fprintf(stderr, "bench-detect: %s\n", err.detail);
        return 1;
    }
    stop(&c, &cpu, &wall);
    fprintf(stderr, "bench-detect: detector compiled in %.2f s CPU (%zu rules)\n", cpu,
            obs_rule_count);
    load_dir(CORPUS "/attacks", &attacks);
    load_dir(CORPUS "/benign", &benign);
    for (size_t i = 0; i < attacks.n; i++)
        push(&corpus, attacks.v[i].p, attacks.v[i].n);
    for (size_t i = 0; i < benign.n; i++)
        push(&corpus, benign.v[i].p, benign.v[i].n);
    replicate(&corpus, target, &big);
    replicate(&benign, target, &big_benign);
    /* every 10th string: the PCRE2 loop is measured on a tenth of the bytes */
    for (size_t i = 0; i < big.n; i += 10)
        push(&sample, big.v[i].p, big.v[i].n);
    fprintf(stderr,
            "bench-detect: corpus %zu attack + %zu benign strings (%zu bytes), "
            "replicated to %zu strings (%.1f MB)\n",
            attacks.n, benign.n, corpus.bytes, big.n, (double)big.bytes / 1e6);

    printf("| run | what | MB | strings/events | CPU s | wall s | MB/s (CPU) | vs memchr | "
           "vs pcre2-loop | matched |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");

    /* 1. memchr: the floor */
    found = 0;
    start(&c);
    for (size_t i = 0; i < big.n; i++)
        if (memchr(big.v[i].p, 0x01, big.v[i].n) != NULL)
            found++;
    stop(&c, &cpu, &wall);
    memchr_mbs = (double)big.bytes / 1e6 / cpu;
    (void)row("memchr", "one memchr() per string (baseline)", big.bytes, big.n, cpu, wall,
              memchr_mbs, found);

    /* 2. PCRE2 alone, every rule over every string */
    {
        pcre2_code *re[256];
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        size_t nre = 0;
        for (size_t r = 0; r < obs_rule_count && nre < 256; r++) {
            int ec;
            PCRE2_SIZE eo;
            re[nre] = pcre2_compile((PCRE2_SPTR)obs_rules[r].re, PCRE2_ZERO_TERMINATED,
                                    PCRE2_CASELESS | PCRE2_DOTALL, &ec, &eo, NULL);
            if (re[nre] != NULL) {
                pcre2_jit_compile(re[nre], PCRE2_JIT_COMPLETE);
                nre++;
            }
        }
        found = 0;
        start(&c);
        for (size_t i = 0; i < sample.n; i++) {
            bool any = false;
            for (size_t r = 0; r < nre; r++)
                if (pcre2_match(re[r], (PCRE2_SPTR)sample.v[i].p, sample.v[i].n, 0, 0, md, NULL) >=
                    0)
                    any = true;
            found += any;
        }
        stop(&c, &cpu, &wall);
        char what[96];
        snprintf(what, sizeof what, "PCRE2 JIT, all %zu rule expressions per string (1/10 sample)",
                 nre);
        pcre_mbs = row("pcre2-loop", what, sample.bytes, sample.n, cpu, wall, memchr_mbs, found);
        for (size_t r = 0; r < nre; r++)
            pcre2_code_free(re[r]);
        pcre2_match_data_free(md);
    }

    /* 3. the detector on the corpus mix */
    found = 0;
    start(&c);
    for (size_t i = 0; i < big.n; i++)
        found += obs_inspect_string(det, scr, big.v[i].p, big.v[i].n, "q", m, OBS_CLASS_COUNT) > 0;
    stop(&c, &cpu, &wall);
    (void)row("inspect", "obs_inspect_string(), corpus mix (attacks and benign)", big.bytes, big.n,
              cpu, wall, memchr_mbs, found);

    /* 4. benign only */
    found = 0;
    start(&c);
    for (size_t i = 0; i < big_benign.n; i++)
        found += obs_inspect_string(det, scr, big_benign.v[i].p, big_benign.v[i].n, "q", m,
                                    OBS_CLASS_COUNT) > 0;
    stop(&c, &cpu, &wall);
    (void)row("benign", "obs_inspect_string(), benign strings only", big_benign.bytes, big_benign.n,
              cpu, wall, memchr_mbs, found);

    /* 5. the same strings, GROUP per call */
    batch_row("inspect-batch", "corpus mix", det, scr, &big, memchr_mbs);
    batch_row("benign-batch", "benign strings", det, scr, &big_benign, memchr_mbs);

    /* 6. whole events */
    {
        json_t *ev[64];
        size_t ev_bytes, nev = load_events(ev, 64, &ev_bytes);
        size_t rounds = nev > 0 && ev_bytes > 0 ? target / 4 / ev_bytes + 1 : 0;
        found = 0;
        start(&c);
        for (size_t r = 0; r < rounds; r++)
            for (size_t i = 0; i < nev; i++)
                found += obs_inspect_event(det, scr, ev[i], m, OBS_CLASS_COUNT) > 0;
        stop(&c, &cpu, &wall);
        (void)row("events", "obs_inspect_event(), API Gateway v1/v2 events (JSON text bytes)",
                  rounds * ev_bytes, rounds * nev, cpu, wall, memchr_mbs, found);
        for (size_t i = 0; i < nev; i++)
            json_decref(ev[i]);
    }

    obs_scratch_free(scr);
    obs_detector_free(det);
    return 0;
}
