#include "tests/support/lib/fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

bool fake_parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 12)
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int fake_open_log(const char *name, const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        fprintf(stderr, "%s: cannot open %s: %s\n", name, path, strerror(errno));
    return fd;
}

int fake_run(const struct fake_server *s, void (*on_stop)(void))
{
    struct sockaddr_in addr;
    struct MHD_OptionItem opts[8];
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    size_t n = 0;
    sigset_t set;
    int sig = 0;

    /* Signals are taken with sigwait() below; block them before the daemon's threads start so
     * that they inherit the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)s->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s->thread_per_connection)
        flags |= MHD_USE_THREAD_PER_CONNECTION;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->timeout_s,
                                        NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                        (intptr_t)s->memory_limit, NULL};
    if (s->backlog > 0)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE,
                                            (intptr_t)s->backlog, NULL};
    if (s->uri_log != NULL)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK,
                                            (intptr_t)s->uri_log, NULL};
    if (s->completed != NULL)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                            (intptr_t)s->completed, NULL};
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    d = MHD_start_daemon(flags, (uint16_t)s->port, NULL, NULL, s->handler, s->cls,
                         MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%lu\n", s->name, s->port);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port=%u\n", info != NULL ? (unsigned)info->port : (unsigned)s->port);
    fflush(stdout);

    while (sigwait(&set, &sig) != 0)
        ;
    if (on_stop != NULL)
        on_stop();
    MHD_stop_daemon(d);
    return 0;
}
