/* posture/secrets.c: secrets in environment variables. Well-known token formats are recognised
 * anywhere in a value (gitleaks' patterns, written out by hand: no regex engine on this path);
 * a literal under a secret-like name is reported when it has the length and Shannon entropy of a
 * real credential.
 *
 * False-positive policy (precision over recall):
 * - references are never secrets: ARNs (Secrets Manager, SSM, KMS), {{resolve:...}},
 *   /aws/reference/..., ${...} and {{...}} templates;
 * - values encrypted with the Lambda encryption helpers (KMS ciphertext, base64 "AQICAH"/"AQECAH")
 *   are the recommended practice, not a leak;
 * - booleans, numbers, paths, URLs without a password, and names that describe a secret rather
 *   than hold it (*_ARN, *_NAME, *_ID, *_URL, *_TTL, *_PARAM, ...) are ignored;
 * - placeholders ("changeme", "xxxx", "<your-token>", "REPLACE_ME", values containing "EXAMPLE"
 *   as in AWS's documentation keys) are not reported: they are not leaked credentials (a weak
 *   default password is a different problem);
 * - Stripe test keys (sk_test_) are ignored; UUIDs are reported only under a secret-like name
 *   (several vendors issue UUID API keys), never on their own. */
#include "posture/posture.h"
#include "posture/posture_int.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

double posture_secret_entropy(const char *s)
{
    size_t counts[256] = {0}, n = 0;
    double h = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, n++)
        counts[*p]++;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < 256; i++) {
        if (counts[i] > 0) {
            double f = (double)counts[i] / (double)n;
            h -= f * log2(f);
        }
    }
    return h;
}

/* ---- token formats ---- */

enum cs { CS_ALNUM, CS_ALNUM_UNDERSCORE, CS_ALNUM_DASH, CS_AWS_ID, CS_HEX_LOWER, CS_DIGIT };

static bool in_cs(enum cs cs, char c)
{
    unsigned char u = (unsigned char)c;
    switch (cs) {
    case CS_ALNUM:
        return isalnum(u) != 0;
    case CS_ALNUM_UNDERSCORE:
        return isalnum(u) || c == '_';
    case CS_ALNUM_DASH:
        return isalnum(u) || c == '_' || c == '-';
    case CS_AWS_ID:
        return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
    case CS_HEX_LOWER:
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    case CS_DIGIT:
        return isdigit(u) != 0;
    }
    return false;
}

static size_t span_cs(const char *s, enum cs cs)
{
    size_t n = 0;
    while (s[n] != '\0' && in_cs(cs, s[n]))
        n++;
    return n;
}

/* Some occurrence of prefix, at a word boundary, is followed by between min and max characters
 * of cs (exact: then a boundary). */
static bool has_token(const char *v, const char *prefix, enum cs cs, size_t min, size_t max,
                      bool case_sensitive_prefix)
{
    size_t plen = strlen(prefix);

    for (const char *p = v; *p != '\0'; p++) {
        if ((case_sensitive_prefix ? strncmp(p, prefix, plen) : strncasecmp(p, prefix, plen)) != 0)
            continue;
        if (p > v && isalnum((unsigned char)p[-1]))
            continue;
        size_t n = span_cs(p + plen, cs);
        if (n >= min && n <= max)
            return true;
    }
    return false;
}

static bool has_aws_key_id(const char *v)
{
    static const char *const prefixes[] = {"AKIA", "ASIA", "ABIA", "ACCA", NULL};
    for (size_t i = 0; prefixes[i] != NULL; i++) {
        for (const char *p = strstr(v, prefixes[i]); p != NULL; p = strstr(p + 1, prefixes[i])) {
            if ((p > v && isalnum((unsigned char)p[-1])) || span_cs(p + 4, CS_AWS_ID) != 16 ||
                isalnum((unsigned char)p[20]))
                continue;
            if (strstr(p, "EXAMPLE") == p + 13)
                continue; /* AKIAIOSFODNN7EXAMPLE: AWS's documentation key */
            return true;
        }
    }
    return false;
}

static bool has_slack(const char *v)
{
    static const char *const pfx[] = {"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", NULL};
    for (size_t i = 0; pfx[i] != NULL; i++) {
        const char *p = strstr(v, pfx[i]);
        if (p != NULL) {
            size_t d = span_cs(p + 5, CS_DIGIT);
            if (d >= 10 && d <= 13 && p[5 + d] == '-' && span_cs(p + 5, CS_ALNUM_DASH) >= 24)
                return true;
        }
    }
    if (has_token(v, "xapp-", CS_ALNUM_DASH, 24, 200, true))
        return true;
    const char *h = strstr(v, "hooks.slack.com/services/");
    return h != NULL && strspn(h + 25, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789/+") >= 40;
}

static bool has_jwt(const char *v)
{
    for (const char *p = strstr(v, "eyJ"); p != NULL; p = strstr(p + 1, "eyJ")) {
        size_t a = span_cs(p, CS_ALNUM_DASH);
        if (a < 12 || p[a] != '.' || strncmp(p + a + 1, "eyJ", 3) != 0)
            continue;
        const char *q = p + a + 1;
        size_t b = span_cs(q, CS_ALNUM_DASH);
        if (b < 12 || q[b] != '.')
            continue;
        if (span_cs(q + b + 1, CS_ALNUM_DASH) >= 16)
            return true;
    }
    return false;
}

static bool has_sendgrid(const char *v)
{
    const char *p = strstr(v, "SG.");
    if (p == NULL || span_cs(p + 3, CS_ALNUM_DASH) != 22 || p[25] != '.')
        return false;
    return span_cs(p + 26, CS_ALNUM_DASH) == 43;
}

static bool has_openai_anthropic(const char *v)
{
    if (has_token(v, "sk-ant-api03-", CS_ALNUM_DASH, 80, 200, true) ||
        has_token(v, "sk-proj-", CS_ALNUM_DASH, 40, 300, true) ||
        has_token(v, "sk-svcacct-", CS_ALNUM_DASH, 40, 300, true) ||
        has_token(v, "sk-admin-", CS_ALNUM_DASH, 40, 300, true))
        return true;
    const char *p = strstr(v, "sk-");
    return p != NULL && span_cs(p + 3, CS_ALNUM) == 48 && strstr(p, "T3BlbkFJ") != NULL;
}

static bool has_private_key(const char *v)
{
    const char *b = strstr(v, "-----BEGIN ");
    if (b == NULL)
        return false;
    const char *k = strstr(b, "PRIVATE KEY");
    return k != NULL && k - b < 100 && strlen(k) >= 32;
}

struct token_format {
    enum posture_secret_class cls;
    const char *type;
    bool (*match)(const char *v);
    const char *prefix; /* has_token arguments when match is NULL */
    enum cs cs;
    size_t min, max;
};

static const struct token_format formats[] = {
    {POSTURE_SECRET_CLOUD, "AWS access key ID", has_aws_key_id, NULL, CS_ALNUM, 0, 0},
    {POSTURE_SECRET_CLOUD, "Private key (PEM)", has_private_key, NULL, CS_ALNUM, 0, 0},
    {POSTURE_SECRET_TOKEN, "GitHub personal access token", NULL, "ghp_", CS_ALNUM, 36, 36},
    {POSTURE_SECRET_TOKEN, "GitHub OAuth token", NULL, "gho_", CS_ALNUM, 36, 36},
    {POSTURE_SECRET_TOKEN, "GitHub app token", NULL, "ghu_", CS_ALNUM, 36, 36},
    {POSTURE_SECRET_TOKEN, "GitHub app token", NULL, "ghs_", CS_ALNUM, 36, 36},
    {POSTURE_SECRET_TOKEN, "GitHub refresh token", NULL, "ghr_", CS_ALNUM, 36, 36},
    {POSTURE_SECRET_TOKEN, "GitHub fine-grained token", NULL, "github_pat_", CS_ALNUM_UNDERSCORE,
     82, 82},
    {POSTURE_SECRET_TOKEN, "GitLab personal access token", NULL, "glpat-", CS_ALNUM_DASH, 20, 20},
    {POSTURE_SECRET_TOKEN, "Slack token", has_slack, NULL, CS_ALNUM, 0, 0},
    {POSTURE_SECRET_TOKEN, "Stripe live secret key", NULL, "sk_live_", CS_ALNUM, 10, 99},
    {POSTURE_SECRET_TOKEN, "Stripe live restricted key", NULL, "rk_live_", CS_ALNUM, 10, 99},
    {POSTURE_SECRET_TOKEN, "Google API key", NULL, "AIza", CS_ALNUM_DASH, 35, 35},
    {POSTURE_SECRET_TOKEN, "SendGrid API key", has_sendgrid, NULL, CS_ALNUM, 0, 0},
    {POSTURE_SECRET_TOKEN, "Twilio API key", NULL, "SK", CS_HEX_LOWER, 32, 32},
    {POSTURE_SECRET_TOKEN, "npm access token", NULL, "npm_", CS_ALNUM, 36, 36},
    {POSTURE_SECRET_TOKEN, "OpenAI or Anthropic API key", has_openai_anthropic, NULL, CS_ALNUM, 0,
     0},
    {POSTURE_SECRET_TOKEN, "JSON Web Token", has_jwt, NULL, CS_ALNUM, 0, 0},
};

/* ---- names and values ---- */

/* Splits NAME into upper-case words at '_', '-', '.', and lower-to-upper case changes. */
static size_t name_words(const char *name, char words[][24], size_t max)
{
    size_t n = 0, len = 0;

    for (const char *p = name;; p++) {
        bool boundary = *p == '\0' || !isalnum((unsigned char)*p) ||
                        (p > name && islower((unsigned char)p[-1]) && isupper((unsigned char)*p));
        if (boundary && len > 0) {
            words[n][len] = '\0';
            if (++n == max)
                return n;
            len = 0;
        }
        if (*p == '\0')
            break;
        if (isalnum((unsigned char)*p) && len + 1 < 24)
            words[n][len++] = (char)toupper((unsigned char)*p);
    }
    return n;
}

static bool in_list(const char *w, const char *const *list, bool nocase)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if ((nocase ? strcasecmp(w, list[i]) : strcmp(w, list[i])) == 0)
            return true;
    }
    return false;
}

static bool name_is_secretlike(const char *name)
{
    static const char *const alone[] = {"PASSWORD",   "PASSWD",      "PASS",       "PWD",
                                        "SECRET",     "SECRETS",     "TOKEN",      "APIKEY",
                                        "CREDENTIAL", "CREDENTIALS", "PASSPHRASE", "HMAC",
                                        "PASSCODE",   "AUTHTOKEN",   NULL};
    static const char *const before_key[] = {
        "API",  "ACCESS", "PRIVATE", "SECRET",  "SIGNING", "ENCRYPTION", "MASTER",
        "AUTH", "APP",    "CLIENT",  "LICENSE", "WEBHOOK", "SERVICE",    NULL};
    static const char *const describes[] = {
        "ARN",        "NAME",     "ID",        "IDS",     "PATH",    "PARAM",    "PARAMETER",
        "URL",        "URI",      "ENDPOINT",  "HOST",    "TTL",     "EXPIRY",   "EXPIRES",
        "EXPIRATION", "LENGTH",   "LEN",       "HEADER",  "FILE",    "REF",      "REGION",
        "TYPE",       "FIELD",    "ALGORITHM", "ALG",     "ENABLED", "REQUIRED", "POLICY",
        "ROTATION",   "VERSION",  "PREFIX",    "SIZE",    "MIN",     "MAX",      "COUNT",
        "TIMEOUT",    "DAYS",     "HOURS",     "SECONDS", "FORMAT",  "ISSUER",   "AUDIENCE",
        "SCOPE",      "LOCATION", "MODE",      "KEYID",   "STORE",   "PROVIDER", "SOURCE",
        "TABLE",      "BUCKET",   "QUEUE",     "TOPIC",   "LIMIT",   "RESET",    "MANAGER",
        NULL};
    char words[16][24];
    size_t n = name_words(name, words, 16);

    if (n == 0 || in_list(words[n - 1], describes, false))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(words[i], "PUBLIC") == 0 || strcmp(words[i], "PUBLISHABLE") == 0)
            return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (in_list(words[i], alone, false))
            return true;
        if (strcmp(words[i], "KEY") == 0 && i > 0 && in_list(words[i - 1], before_key, false))
            return true;
        if (strcmp(words[i], "SECRETKEY") == 0 || strcmp(words[i], "ACCESSKEY") == 0 ||
            strcmp(words[i], "PRIVATEKEY") == 0)
            return true;
    }
    return false;
}

static bool icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    }
    return false;
}

static bool value_is_placeholder(const char *v)
{
    static const char *const words[] = {
        "changeme",    "change_me", "change-me",  "password",  "secret",      "token",
        "todo",        "tbd",       "replace_me", "replaceme", "example",     "dummy",
        "test",        "none",      "null",       "nil",       "undefined",   "default",
        "placeholder", "redacted",  "n/a",        "na",        "disabled",    "unset",
        "notset",      "not-set",   "empty",      "secret123", "password123", "fake",
        NULL};
    size_t n = strlen(v);

    if (in_list(v, words, true) || icontains(v, "EXAMPLE") || icontains(v, "REPLACE") ||
        strncasecmp(v, "your", 4) == 0 || icontains(v, "placeholder"))
        return true;
    if (n >= 2 && ((v[0] == '<' && v[n - 1] == '>') || (v[0] == '[' && v[n - 1] == ']')))
        return true;
    /* one repeated character: xxxxxxxx, ********, 00000000 */
    if (strspn(v, (char[]){v[0], '\0'}) == n)
        return true;
    return false;
}

static bool value_is_reference(const char *v)
{
    static const char *const prefixes[] = {
        "arn:", "{{resolve:", "/aws/reference/", "ssm:", "secretsmanager:", "resolve:", "vault:",
        "kms:", NULL};
    for (size_t i = 0; prefixes[i] != NULL; i++) {
        if (strncasecmp(v, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    }
    return strstr(v, "${") != NULL || strstr(v, "{{") != NULL;
}

/* KMS ciphertext (Lambda's encryption helpers): base64 of a blob starting 01 02 02 00 or
 * 01 01 02 00, at least 100 characters. */
static bool value_is_kms_ciphertext(const char *v)
{
    return strlen(v) >= 100 && (strncmp(v, "AQICAH", 6) == 0 || strncmp(v, "AQECAH", 6) == 0);
}

static bool value_is_trivial(const char *v)
{
    static const char *const flags[] = {"true", "false",   "yes",    "no",      "on",
                                        "off",  "enabled", "enable", "disable", NULL};
    if (in_list(v, flags, true))
        return true;
    if (strspn(v, "0123456789.-+eE") == strlen(v))
        return true;
    return v[0] == '/' || strncmp(v, "./", 2) == 0;
}

/* scheme://user:password@host with a real password; *pw and *pwlen locate the password. */
static bool url_password(const char *v, const char **pw, size_t *pwlen)
{
    const char *sep = strstr(v, "://"), *at, *colon, *end;

    if (sep == NULL)
        return false;
    for (const char *s = v; s < sep; s++) {
        if (!isalnum((unsigned char)*s) && *s != '+' && *s != '-' && *s != '.' && *s != ':')
            return false;
    }
    end = sep + 3 + strcspn(sep + 3, "/?#");
    at = NULL;
    for (const char *s = sep + 3; s < end; s++) {
        if (*s == '@')
            at = s; /* the last @ before the path ends the userinfo */
    }
    if (at == NULL)
        return false;
    colon = memchr(sep + 3, ':', (size_t)(at - (sep + 3)));
    if (colon == NULL || colon + 1 >= at)
        return false;
    *pw = colon + 1;
    *pwlen = (size_t)(at - *pw);
    char buf[128];
    size_t n = *pwlen < sizeof buf - 1 ? *pwlen : sizeof buf - 1;
    memcpy(buf, *pw, n);
    buf[n] = '\0';
    return !value_is_placeholder(buf) && !value_is_reference(buf) && buf[0] != '$' && buf[0] != '%';
}

static const char *url_type(const char *v)
{
    static const struct {
        const char *scheme, *type;
    } schemes[] = {
        {"postgres", "PostgreSQL connection string with password"},
        {"postgresql", "PostgreSQL connection string with password"},
        {"mysql", "MySQL connection string with password"},
        {"mariadb", "MySQL connection string with password"},
        {"mongodb", "MongoDB connection string with password"},
        {"mongodb+srv", "MongoDB connection string with password"},
        {"redis", "Redis connection string with password"},
        {"rediss", "Redis connection string with password"},
        {"amqp", "AMQP connection string with password"},
        {"amqps", "AMQP connection string with password"},
        {"mssql", "SQL Server connection string with password"},
        {"sqlserver", "SQL Server connection string with password"},
        {"jdbc:postgresql", "JDBC connection string with password"},
        {"jdbc:mysql", "JDBC connection string with password"},
    };
    size_t n = strcspn(v, "/");
    if (n > 0 && v[n - 1] == ':')
        n--;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (strlen(schemes[i].scheme) == n && strncasecmp(v, schemes[i].scheme, n) == 0)
            return schemes[i].type;
    }
    return "URL with embedded password";
}

static bool looks_like_aws_secret(const char *v)
{
    return strlen(v) == 40 &&
           strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+") == 40 &&
           posture_secret_entropy(v) >= 4.2 && strstr(v, "EXAMPLE") == NULL;
}

static bool name_is_aws_secret(const char *name)
{
    char words[16][24];
    size_t n = name_words(name, words, 16);
    bool aws = false, secret = false;

    for (size_t i = 0; i < n; i++) {
        aws = aws || strcmp(words[i], "AWS") == 0;
        secret = secret || strcmp(words[i], "SECRET") == 0 || strcmp(words[i], "SK") == 0 ||
                 strcmp(words[i], "SECRETKEY") == 0;
    }
    return aws && secret;
}

static bool env_has_aws_key_id(const json_t *env)
{
    const char *k;
    json_t *v;

    if (!json_is_object(env))
        return false;
    json_object_foreach((json_t *)(uintptr_t)env, k, v)
    {
        if (json_is_string(v) && has_aws_key_id(json_string_value(v)))
            return true;
    }
    return false;
}

bool posture_secret_name_is_sensitive(const char *name)
{
    return name != NULL && name_is_secretlike(name);
}

bool posture_secret_value_is_reference(const char *value)
{
    return value != NULL && (value_is_reference(value) || value_is_kms_ciphertext(value));
}

struct posture_secret posture_secret_classify(const char *name, const char *value,
                                              const json_t *env)
{
    struct posture_secret r = {POSTURE_SECRET_NONE, NULL};
    const char *pw;
    size_t pwlen;

    if (name == NULL || value == NULL || value[0] == '\0' || value_is_reference(value) ||
        value_is_kms_ciphertext(value))
        return r;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        const struct token_format *f = &formats[i];
        bool hit = f->match != NULL ? f->match(value)
                                    : has_token(value, f->prefix, f->cs, f->min, f->max, true);
        if (hit) {
            r.cls = f->cls;
            r.type = f->type;
            return r;
        }
    }
    if (looks_like_aws_secret(value) && (name_is_aws_secret(name) || env_has_aws_key_id(env))) {
        r.cls = POSTURE_SECRET_CLOUD;
        r.type = "AWS secret access key";
        return r;
    }
    if (url_password(value, &pw, &pwlen)) {
        r.cls = POSTURE_SECRET_URL;
        r.type = url_type(value);
        return r;
    }
    if (strstr(value, "://") != NULL || !name_is_secretlike(name))
        return r;
    size_t len = strlen(value), spaces = 0;
    for (const char *p = value; *p != '\0'; p++)
        spaces += *p == ' ';
    if (len < 8 || len > 4096 || spaces > 1 || value_is_trivial(value) ||
        value_is_placeholder(value) || posture_secret_entropy(value) < 3.0)
        return r;
    r.cls = POSTURE_SECRET_GENERIC;
    r.type = "High-entropy value under a secret-like name";
    return r;
}

void posture_secret_mask(const char *secret, char *out, size_t size)
{
    const char *pw;
    size_t pwlen, len, show;

    if (size == 0)
        return;
    out[0] = '\0';
    if (secret == NULL)
        return;
    len = strlen(secret);
    if (url_password(secret, &pw, &pwlen)) {
        size_t head = (size_t)(pw - secret);
        snprintf(out, size, "%.*s****%s", (int)(head < 512 ? head : 512), secret, pw + pwlen);
        return;
    }
    show = len / 4 < 4 ? len / 4 : 4;
    for (size_t i = 0; i < show; i++) {
        unsigned char c = (unsigned char)secret[i];
        if (c < 0x21 || c > 0x7e) {
            show = i; /* never split a UTF-8 sequence or show control characters */
            break;
        }
    }
    snprintf(out, size, "%.*s*** (%zu chars)", (int)show, secret, len);
}
