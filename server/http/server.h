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
    int threads; /* pool threads; 0: one per core */
    /* Peers whose X-Forwarded-For is believed: comma-separated addresses or CIDR prefixes, up
     * to 16 of these texts (--trusted-proxy may be given more than once); none: nobody. */
    const char *trusted_proxy[16];
    int n_trusted_proxy;
    int max_connections;
    int connection_timeout_s;   /* idle connections are closed after it; 0: 30 */
    int max_connections_per_ip; /* per client address (IPv6: per /64); 0: no cap */
    int header_timeout_s;       /* a request's whole header within it; 0: no deadline */
    int body_timeout_s;         /* its body within it after the header; 0: no deadline */
    /* The address clients use, "https://map.example.org": absolute URLs (TileJSON) and the
     * same-origin check of the no-JavaScript form; NULL: relative URLs, the request's Host. */
    const char *public_url;
} hm_http_config;

typedef struct hm_http_server hm_http_server;

/* Listen per `cfg` (copied; its strings are borrowed and must outlive the server) and answer
 * with `core`. Returns NULL with `err` filled when the address is invalid or taken, or a
 * trusted proxy or the public URL is not valid (HM_E_INVALID_FIELD). */
hm_http_server *hm_http_start(hm_core *core, const hm_http_config *cfg, hm_error *err);
/* Stop the daemon (after hm_events_shutdown(): no stream may be suspended) and free `s`.
 * Accepts NULL. */
void hm_http_stop(hm_http_server *s);
/* Port actually bound (for --port 0). */
int hm_http_port(hm_http_server *s);

#endif
