/* Unit tests for the pure parts of server/log.h: JSON string escaping into a bounded buffer, level
 * names, and the timestamp format. Nothing is written to stdout. */
#include "server/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#define CANARY 0xA5

/* Escapes s into a large buffer starting at pos 0; returns the NUL-terminated result. */
static const char *esc(const char *s, char *out, size_t cap)
{
    size_t pos = 0;

    assert_true(log_json_escape(out, cap, &pos, s));
    assert_true(pos < cap);
    out[pos] = '\0';
    return out;
}

static void test_quotes_and_backslashes_are_escaped(void **state)
{
    char out[64];
    (void)state;

    assert_string_equal(esc("a\"b", out, sizeof out), "a\\\"b");
    assert_string_equal(esc("a\\b", out, sizeof out), "a\\\\b");
    assert_string_equal(esc("\"\\", out, sizeof out), "\\\"\\\\");
}

static void test_newline_return_and_tab_use_short_escapes(void **state)
{
    char out[64];
    (void)state;

    assert_string_equal(esc("a\nb\rc\td", out, sizeof out), "a\\nb\\rc\\td");
}

static void test_control_bytes_become_unicode_escapes(void **state)
{
    char out[64];
    char in[2] = {0, 0};
    char want[8];
    (void)state;

    assert_string_equal(esc("\x01", out, sizeof out), "\\u0001");
    assert_string_equal(esc("\x1f", out, sizeof out), "\\u001f");
    assert_string_equal(esc("\x08\x0c", out, sizeof out), "\\u0008\\u000c");
    for (int c = 1; c < 0x20; c++) {
        if (c == '\n' || c == '\r' || c == '\t')
            continue;
        in[0] = (char)c;
        snprintf(want, sizeof want, "\\u%04x", (unsigned)c);
        assert_string_equal(esc(in, out, sizeof out), want);
    }
}

static void test_delete_is_escaped(void **state)
{
    char out[64];
    (void)state;

    assert_string_equal(esc("a\x7f", out, sizeof out), "a\\u007f");
}

static void test_utf8_passes_through_unchanged(void **state)
{
    static const char s[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ok";
    char out[64];
    (void)state;

    assert_string_equal(esc(s, out, sizeof out), s);
}

static void test_plain_ascii_is_copied(void **state)
{
    char out[128];
    char in[128];
    size_t n = 0;
    (void)state;

    for (int c = 0x20; c < 0x7f; c++)
        if (c != '"' && c != '\\')
            in[n++] = (char)c;
    in[n] = '\0';
    assert_string_equal(esc(in, out, sizeof out), in);
}

static void test_escape_appends_at_pos(void **state)
{
    char out[32] = "ab:";
    size_t pos = 3;
    (void)state;

    assert_true(log_json_escape(out, sizeof out, &pos, "x\ny"));
    assert_int_equal(pos, 7);
    out[pos] = '\0';
    assert_string_equal(out, "ab:x\\ny");
    pos = 7;
    assert_true(log_json_escape(out, sizeof out, &pos, ""));
    assert_int_equal(pos, 7);
}

/* What escaping s produces in full, and the offsets at which each escaped character ends. */
static size_t full_escape(const char *s, char *out, size_t cap, size_t *ends, size_t *nends)
{
    size_t pos = 0;

    assert_true(log_json_escape(out, cap, &pos, s));
    *nends = 0;
    ends[(*nends)++] = 0;
    for (const char *c = s; *c != '\0'; c++) {
        char one[2] = {*c, '\0'};
        char tmp[16];
        size_t p = 0;
        assert_true(log_json_escape(tmp, sizeof tmp, &p, one));
        ends[*nends] = ends[*nends - 1] + p;
        (*nends)++;
    }
    assert_int_equal(ends[*nends - 1], pos);
    return pos;
}

static void test_truncation_returns_false_and_never_writes_past_cap(void **state)
{
    static const char s[] = "ab\"c\\d\ne\x01"
                            "f\x7fg\xc3\xa9h";
    char full[128];
    size_t ends[64];
    size_t nends;
    size_t len = full_escape(s, full, sizeof full, ends, &nends);
    (void)state;

    for (size_t cap = 0; cap <= len + 2; cap++) {
        unsigned char buf[160];
        size_t pos = 0;
        bool ok;
        bool at_boundary = false;

        memset(buf, CANARY, sizeof buf);
        ok = log_json_escape((char *)buf, cap, &pos, s);
        for (size_t i = cap; i < sizeof buf; i++)
            if (buf[i] != CANARY)
                fail_msg("cap %zu: byte %zu was written", cap, i);
        assert_true(pos <= cap);
        if (cap < len)
            assert_false(ok); /* it cannot fit */
        if (cap > len) {
            assert_true(ok); /* it fits with room to spare */
            assert_int_equal(pos, len);
        }
        /* What was written is a prefix of the full output that never splits an escape. */
        assert_memory_equal(buf, full, pos);
        for (size_t i = 0; i < nends; i++)
            at_boundary = at_boundary || ends[i] == pos;
        if (!at_boundary)
            fail_msg("cap %zu: stopped at %zu, inside an escape", cap, pos);
    }
}

static void test_truncation_with_pos_past_cap_writes_nothing(void **state)
{
    unsigned char buf[16];
    size_t pos = 12;
    (void)state;

    memset(buf, CANARY, sizeof buf);
    assert_false(log_json_escape((char *)buf, 8, &pos, "abc"));
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], CANARY);
}

static void test_level_names_parse(void **state)
{
    static const struct {
        const char *name;
        enum log_level level;
    } want[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"error", LOG_ERROR}};
    (void)state;

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        enum log_level l = (enum log_level)99;
        assert_true(log_level_parse(want[i].name, &l));
        assert_int_equal(l, want[i].level);
        assert_string_equal(log_level_name(want[i].level), want[i].name);
    }
}

static void test_unknown_level_is_rejected_and_out_untouched(void **state)
{
    static const char *const bad[] = {"", "trace", "warning", "fatal", "info ", " info", "inf"};
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum log_level l = LOG_WARN;
        if (log_level_parse(bad[i], &l))
            fail_msg("'%s' should be rejected", bad[i]);
        assert_int_equal(l, LOG_WARN);
    }
}

static void test_level_name_of_out_of_range_is_not_null(void **state)
{
    (void)state;

    assert_non_null(log_level_name((enum log_level)42));
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void test_timestamp_is_iso8601_utc_with_milliseconds(void **state)
{
    char ts[32];
    char before[32];
    char after[32];
    struct tm tm;
    time_t t0;
    time_t t1;
    (void)state;

    memset(ts, '#', sizeof ts);
    t0 = time(NULL);
    log_timestamp(ts);
    t1 = time(NULL);
    assert_int_equal(strlen(ts), 24);
    for (size_t i = 0; i < 24; i++) {
        switch (i) {
        case 4:
        case 7:
            assert_int_equal(ts[i], '-');
            break;
        case 10:
            assert_int_equal(ts[i], 'T');
            break;
        case 13:
        case 16:
            assert_int_equal(ts[i], ':');
            break;
        case 19:
            assert_int_equal(ts[i], '.');
            break;
        case 23:
            assert_int_equal(ts[i], 'Z');
            break;
        default:
            if (!is_digit(ts[i]))
                fail_msg("'%s': position %zu is not a digit", ts, i);
        }
    }
    /* The seconds are the current UTC time. */
    gmtime_r(&t0, &tm);
    strftime(before, sizeof before, "%Y-%m-%dT%H:%M:%S", &tm);
    gmtime_r(&t1, &tm);
    strftime(after, sizeof after, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strncmp(ts, before, 19) != 0 && strncmp(ts, after, 19) != 0)
        fail_msg("'%s' is not between %s and %s", ts, before, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_and_backslashes_are_escaped),
        cmocka_unit_test(test_newline_return_and_tab_use_short_escapes),
        cmocka_unit_test(test_control_bytes_become_unicode_escapes),
        cmocka_unit_test(test_delete_is_escaped),
        cmocka_unit_test(test_utf8_passes_through_unchanged),
        cmocka_unit_test(test_plain_ascii_is_copied),
        cmocka_unit_test(test_escape_appends_at_pos),
        cmocka_unit_test(test_truncation_returns_false_and_never_writes_past_cap),
        cmocka_unit_test(test_truncation_with_pos_past_cap_writes_nothing),
        cmocka_unit_test(test_level_names_parse),
        cmocka_unit_test(test_unknown_level_is_rejected_and_out_untouched),
        cmocka_unit_test(test_level_name_of_out_of_range_is_not_null),
        cmocka_unit_test(test_timestamp_is_iso8601_utc_with_milliseconds),
    };

    return cmocka_run_group_tests_name("server/log", tests, NULL, NULL);
}
