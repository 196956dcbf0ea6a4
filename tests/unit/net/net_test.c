/* Unit tests for net/'s egress guard: which addresses are public, the configuration-time URL
 * check in every spelling of a private address, and the connect-time check on the resolved
 * address (a request the guard refuses never opens a connection). */
#include "net/net.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static bool is_public(const char *ip)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, ip, a) == 1)
        return net_addr_is_public(AF_INET, a);
    assert_int_equal(inet_pton(AF_INET6, ip, a), 1);
    return net_addr_is_public(AF_INET6, a);
}

static void test_private_and_reserved_addresses_are_not_public(void **state)
{
    static const char *const private_ips[] = {
        "0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254",
        "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.168.0.1", "198.18.0.1",
        "198.51.100.7", "203.0.113.9", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::",
        "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "2001:db8::1",
        "100::1"};
    static const char *const public_ips[] = {"1.1.1.1",    "8.8.8.8",       "52.94.236.248",
                                             "172.32.0.1", "192.169.0.1",   "100.128.0.1",
                                             "2606:4700::1111", "::ffff:8.8.8.8",
                                             "2a00:1450:4001::200e"};
    (void)state;
    for (size_t i = 0; i < sizeof private_ips / sizeof private_ips[0]; i++)
        if (is_public(private_ips[i]))
            fail_msg("%s judged public", private_ips[i]);
    for (size_t i = 0; i < sizeof public_ips / sizeof public_ips[0]; i++)
        if (!is_public(public_ips[i]))
            fail_msg("%s judged private", public_ips[i]);
}

static enum err_code check(const char *url)
{
    struct err err;
    return net_url_check(url, &err);
}

static void test_urls_to_private_hosts_are_refused_in_every_spelling(void **state)
{
    static const char *const bad[] = {
        "https://127.0.0.1/",       "https://2130706433/",         "https://017700000001/",
        "https://0x7f000001/",      "https://0x7f.0.0.1/",         "https://127.1/",
        "https://0177.0.0.01/",     "https://[::1]/",              "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/", "https://[0:0:0:0:0:ffff:7f00:1]/",
        "https://169.254.169.254/latest/meta-data/", "https://2852039166/",
        "https://0xa9.0xfe.0xa9.0xfe/",  "https://[fe80::1%25eth0]/", "https://10.0.0.1:8443/x",
        "https://localhost/",       "https://foo.localhost/",      "https://LocalHost./",
        "https://metadata.google.internal/computeMetadata/v1/", "https://box.local/",
        "https://nas/",             "http://hooks.slack.com/x",    "ftp://hooks.slack.com/x",
        "file:///etc/passwd",       "https://u:p@hooks.slack.com/", "https://hooks.slack.com/a b",
        "https://999.1.1.1/",       "https://1.2.3.4.5/",          "not a url",
        "",                         "https://hooks.slack.com/\x01"};
    static const char *const good[] = {"https://hooks.slack.com/services/T0/B0/xyz",
                                       "https://events.eu.pagerduty.com/v2/enqueue",
                                       "https://acme.atlassian.net",
                                       "https://splunk.acme.example:8088/services/collector/event",
                                       "https://8.8.8.8/x", "https://[2606:4700::1111]/"};
    char longurl[3000];
    (void)state;

    net_egress_allow(NULL, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (check(bad[i]) != ERR_INVALID)
            fail_msg("%s accepted", bad[i]);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (check(good[i]) != ERR_OK)
            fail_msg("%s refused", good[i]);
    snprintf(longurl, sizeof longurl, "https://hooks.slack.com/");
    memset(longurl + strlen(longurl), 'a', 2100);
    longurl[2100 + 24] = '\0';
    assert_int_equal(check(longurl), ERR_INVALID);
}

static void test_allowed_ranges_may_be_reached_even_over_http(void **state)
{
    struct config_cidr allow[1];
    (void)state;

    assert_true(config_parse_cidr("127.0.0.0/8", &allow[0]));
    net_egress_allow(allow, 1);
    assert_int_equal(check("http://127.0.0.1:8080/services/T/B/x"), ERR_OK);
    assert_int_equal(check("https://2130706433/"), ERR_OK);
    assert_int_equal(check("http://[::ffff:127.0.0.1]:9/"), ERR_OK);
    assert_int_equal(check("http://10.0.0.1/"), ERR_INVALID);
    assert_int_equal(check("http://localhost/"), ERR_INVALID); /* names are never allowed here */
    net_egress_allow(NULL, 0);
}

/* The connect-time check: whatever the URL said, the resolved address decides. */
static void test_the_guard_refuses_the_resolved_address_at_connect_time(void **state)
{
    struct net_request req = {.method = "POST", .url = "http://127.0.0.1:9/hook", .body = "{}",
                              .body_len = 2, .timeout_ms = 2000, .guard = true};
    struct net_response resp;
    struct config_cidr allow[1];
    struct err err;
    (void)state;

    net_egress_allow(NULL, 0);
    assert_int_equal(net_do(&req, &resp, &err), ERR_UPSTREAM);
    assert_true(resp.refused);
    assert_non_null(strstr(err.detail, "PARAPET_EGRESS_ALLOW"));
    net_response_free(&resp);
    req.url = "https://localhost:9/hook"; /* a name: resolved, then refused */
    assert_int_equal(net_do(&req, &resp, &err), ERR_UPSTREAM);
    assert_true(resp.refused);
    assert_non_null(strstr(err.detail, "private"));
    net_response_free(&resp);
    /* Allowed: the guard lets it through and the connection itself fails. */
    assert_true(config_parse_cidr("127.0.0.0/8", &allow[0]));
    net_egress_allow(allow, 1);
    req.url = "http://127.0.0.1:9/hook";
    assert_int_equal(net_do(&req, &resp, &err), ERR_UPSTREAM);
    assert_false(resp.refused);
    net_response_free(&resp);
    /* Unguarded requests (cloud/) are not affected. */
    net_egress_allow(NULL, 0);
    req.guard = false;
    assert_int_equal(net_do(&req, &resp, &err), ERR_UPSTREAM);
    assert_false(resp.refused);
    net_response_free(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_and_reserved_addresses_are_not_public),
        cmocka_unit_test(test_urls_to_private_hosts_are_refused_in_every_spelling),
        cmocka_unit_test(test_allowed_ranges_may_be_reached_even_over_http),
        cmocka_unit_test(test_the_guard_refuses_the_resolved_address_at_connect_time),
    };
    net_init();
    return cmocka_run_group_tests_name("unit/net/net", tests, NULL, NULL);
}
