/* http - the HTTP server: libmicrohttpd with an internal epoll thread pool, bounded resources
 * (connections, per-IP connections, idle timeout, memory per connection), request bodies capped
 * while they stream in, our own framing checks, routing, one JSON log line and metrics per
 * request, and a graceful stop. One http_server per process; start and stop from the main
 * thread. Errors from http_start come back in err. */
#ifndef PARAPET_HTTP_H
#define PARAPET_HTTP_H

#include "api/api.h"
#include "server/config.h"

#include <stdint.h>

struct http_server;

/* Starts serving cfg->listen_host:listen_port with app (both must outlive the server). */
enum err_code http_start(const struct config *cfg, const struct api_app *app,
                         struct http_server **out, struct err *err);

/* The port actually bound (useful with port 0). */
uint16_t http_port(const struct http_server *s);

/* Stops accepting (new connections are closed at once), waits up to drain_ms for requests in
 * flight to finish, then stops and frees. NULL-safe. Returns the number of requests still in
 * flight when it gave up (0 = clean). */
unsigned http_stop(struct http_server *s, unsigned drain_ms);

/* Checks a client-supplied X-Request-Id: 1-64 characters of [A-Za-z0-9._:-]. */
bool http_request_id_is_valid(const char *id);

/* Writes a new random request id (32 hex characters) into out[33]. */
void http_request_id_new(char out[33]);

/* Content-Type acceptable for a JSON body: application/json with an optional charset=utf-8. */
bool http_content_type_is_json(const char *ct);

#endif
