/* server.h: the HTTP edge as the command line sees it — start the libmicrohttpd daemon in
 * front of a running core, stop it. No libmicrohttpd types here; handlers and the routing
 * live behind http.h. */
#ifndef HM_HTTP_SERVER_H
#define HM_HTTP_SERVER_H

#include "core.h"
#include "hm_error.h"

typedef struct hm_http_config {
    const char *bind; /* IPv4 or IPv6 address */
    int port;         /* 0: any free port */
    const char *web_dir;
    /* Fonts (fonts/{fontstack}/{range}.pbf) and sprites (sprite*.json|png) made at build time
     * (tiles/tools/), for /fonts/ and /sprite*; NULL: none (those paths answer 404). */
    const char *assets_dir;
    int threads;               /* pool threads; 0: one per core */
    const char *trusted_proxy; /* peer whose X-Forwarded-For is believed; NULL: none */
    int max_connections;
    int connection_timeout_s; /* idle connections are closed after it; 0: 30 */
} hm_http_config;

typedef struct hm_http_server hm_http_server;

/* Listen per `cfg` (copied; its strings are borrowed and must outlive the server) and answer
 * with `core`. Returns NULL with `err` filled when the address is invalid or taken. */
hm_http_server *hm_http_start(hm_core *core, const hm_http_config *cfg, hm_error *err);
/* Stop the daemon (after hm_events_shutdown(): no stream may be suspended) and free `s`.
 * Accepts NULL. */
void hm_http_stop(hm_http_server *s);
/* Port actually bound (for --port 0). */
int hm_http_port(hm_http_server *s);

#endif
