/* fake_server - the start-up every fake in tests/support shares: its log file, its signals, a
 * libmicrohttpd daemon on 127.0.0.1 whose bound port is announced as "port=N" (the first line on
 * stdout, which the harness waits for), and a clean stop on SIGTERM or SIGINT. */
#ifndef PARAPET_FAKE_SERVER_H
#define PARAPET_FAKE_SERVER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct fake_server {
    const char *name;           /* for messages: "fake_aws" */
    unsigned long port;         /* 0 = a free port */
    bool thread_per_connection; /* else one internal polling thread */
    unsigned timeout_s;         /* idle connection timeout */
    size_t memory_limit;        /* per connection */
    unsigned backlog;           /* listen backlog; 0 = libmicrohttpd's default */
    MHD_AccessHandlerCallback handler;
    void *cls;
    MHD_RequestCompletedCallback completed; /* may be NULL */
    void *(*uri_log)(void *cls, const char *uri, struct MHD_Connection *con); /* may be NULL */
};

/* Unsigned decimal in [lo, hi] (command-line and query values of the fakes). */
bool fake_parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

/* Opens path for appending (created 0600); -1 with a message on stderr when it cannot. */
int fake_open_log(const char *name, const char *path);

/* Blocks SIGTERM and SIGINT (so that the daemon's threads inherit the mask), ignores SIGPIPE,
 * starts the daemon, prints "port=N", waits for SIGTERM or SIGINT, calls on_stop (may be NULL)
 * and stops the daemon. Returns 0, or 1 (message on stderr) when it cannot listen. */
int fake_run(const struct fake_server *s, void (*on_stop)(void));

#endif
