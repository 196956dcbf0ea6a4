/* posture/runtime.c: AWS Lambda runtime deprecation dates. Rules compare these dates with the
 * scan's `now`, so a runtime becomes "deprecating" 90 days before its date and "deprecated" on it
 * without a code change. Runtimes not in the table (new ones, custom values) are never flagged.
 *
 * Dates: the "Deprecation date" column of AWS's Lambda runtimes page
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html), as encoded in
 * terraform-linters/tflint-ruleset-aws (aws_lambda_function_deprecated_runtime.go) and
 * https://endoflife.date/aws-lambda for later runtimes. Refresh when AWS updates its schedule. */
#include "posture/posture.h"

#include <string.h>

static const struct posture_runtime runtimes[] = {
    {"nodejs", 2016, 10, 31},       {"nodejs4.3", 2020, 3, 5},     {"nodejs4.3-edge", 2020, 3, 5},
    {"nodejs6.10", 2019, 8, 12},    {"nodejs8.10", 2020, 3, 6},    {"nodejs10.x", 2021, 7, 30},
    {"nodejs12.x", 2023, 3, 31},    {"nodejs14.x", 2023, 12, 4},   {"nodejs16.x", 2024, 6, 12},
    {"nodejs18.x", 2025, 9, 1},     {"nodejs20.x", 2026, 4, 30},   {"nodejs22.x", 2027, 4, 30},
    {"nodejs24.x", 2028, 4, 30},    {"python2.7", 2021, 7, 15},    {"python3.6", 2022, 7, 18},
    {"python3.7", 2023, 12, 4},     {"python3.8", 2024, 10, 14},   {"python3.9", 2025, 12, 15},
    {"python3.10", 2026, 6, 30},    {"python3.11", 2026, 6, 30},   {"python3.12", 2028, 10, 31},
    {"python3.13", 2029, 6, 30},    {"python3.14", 2029, 6, 30},   {"java8", 2024, 1, 8},
    {"java8.al2", 2026, 6, 30},     {"java11", 2026, 6, 30},       {"java17", 2026, 6, 30},
    {"java21", 2029, 6, 30},        {"java25", 2029, 6, 30},       {"dotnetcore1.0", 2019, 7, 27},
    {"dotnetcore2.0", 2019, 5, 30}, {"dotnetcore2.1", 2022, 1, 5}, {"dotnetcore3.1", 2023, 4, 3},
    {"dotnet5.0", 2022, 5, 10},     {"dotnet6", 2024, 11, 12},     {"dotnet7", 2024, 5, 14},
    {"dotnet8", 2026, 11, 10},      {"dotnet9", 2026, 11, 10},     {"dotnet10", 2028, 11, 14},
    {"ruby2.5", 2021, 7, 30},       {"ruby2.7", 2023, 11, 27},     {"ruby3.2", 2026, 3, 31},
    {"ruby3.3", 2027, 3, 31},       {"ruby3.4", 2028, 3, 31},      {"go1.x", 2024, 1, 8},
    {"provided", 2024, 1, 8},       {"provided.al2", 2026, 6, 30}, {"provided.al2023", 2029, 6, 30},
};

#define WARN_DAYS 90

const struct posture_runtime *posture_runtime_get(const char *id)
{
    if (id == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++) {
        if (strcmp(runtimes[i].id, id) == 0)
            return &runtimes[i];
    }
    return NULL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long days_from_civil(int y, int m, int d)
{
    long long yy = y - (m <= 2);
    long long era = (yy >= 0 ? yy : yy - 399) / 400;
    long long yoe = yy - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

time_t posture_runtime_deprecation(const struct posture_runtime *rt)
{
    return (time_t)(days_from_civil(rt->y, rt->m, rt->d) * 86400);
}

enum posture_runtime_status posture_runtime_status(const char *id, time_t now)
{
    const struct posture_runtime *rt = posture_runtime_get(id);
    time_t dep;

    if (rt == NULL)
        return POSTURE_RUNTIME_UNKNOWN;
    dep = posture_runtime_deprecation(rt);
    if (now >= dep)
        return POSTURE_RUNTIME_DEPRECATED;
    if (dep - now <= (time_t)WARN_DAYS * 86400)
        return POSTURE_RUNTIME_DEPRECATING;
    return POSTURE_RUNTIME_SUPPORTED;
}
