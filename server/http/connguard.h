/* connguard.h: what one client may hold of the server's connections, and how long it may take
 * to say what it wants (issue 11: 260 anonymous connections from one address starved the
 * command center; 120 connections sending one header byte every 10 s kept a resident's POST
 * waiting past 40 s, because libmicrohttpd 0.9.75 has only an idle timer, which every byte
 * restarts).
 *
 * - Connections per client address (clientaddr.h's key: IPv6 per /64) at most
 *   `max_per_client`: past it a new connection is refused at accept. Trusted proxies are not
 *   counted (behind one, the proxy limits its clients).
 * - Deadlines: a request's whole header must arrive within `header_timeout_s` of the
 *   connection's start (or of the end of its previous request), and its body within
 *   `body_timeout_s` of the header's end; a connection past its deadline is cut. Once a request
 *   is handled (a response queued, a write waiting, an event stream) no deadline applies. A
 *   trusted proxy's connections have no header deadline: the proxy reads its clients' headers
 *   under its own (HAProxy's `timeout http-request`) and keeps idle connections for reuse,
 *   which a cut at 10 s would race with.
 *
 * Cutting is shutdown(2) of the socket from the guard's own thread, under the lock that
 * libmicrohttpd's connection-closed notification takes before the socket is closed, so the
 * descriptor is always the connection's own; libmicrohttpd then reads the end of the stream
 * and closes the connection itself. Thread-safe. */
#ifndef HM_CONNGUARD_H
#define HM_CONNGUARD_H

#include <microhttpd.h>
#include <stdbool.h>

#include "clientaddr.h"
#include "hm_error.h"

typedef struct hm_conn_guard hm_conn_guard;

typedef struct hm_conn_guard_config {
    unsigned max_per_client;    /* 0: no cap */
    int header_timeout_s;       /* 0: none */
    int body_timeout_s;         /* 0: none */
    const hm_addr_list *exempt; /* trusted proxies (borrowed; may be NULL) */
} hm_conn_guard_config;

/* Start a guard (and its thread). `cfg` is copied. NULL with `err` filled. */
hm_conn_guard *hm_conn_guard_create(const hm_conn_guard_config *cfg, hm_error *err);
/* Stop the thread and free the guard, after libmicrohttpd stopped. Accepts NULL. */
void hm_conn_guard_destroy(hm_conn_guard *g);

/* For MHD_OPTION_APC (cls: the guard): refuse a connection from a client at its cap. */
enum MHD_Result hm_conn_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* For MHD_OPTION_NOTIFY_CONNECTION (cls: the guard). */
void hm_conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe);
/* The header of the connection's request arrived: its body deadline starts. */
void hm_conn_guard_header_done(hm_conn_guard *g, struct MHD_Connection *conn);
/* The request is being handled: no deadline until it is done. */
void hm_conn_guard_handled(hm_conn_guard *g, struct MHD_Connection *conn);
/* The request is done: the header deadline of the next one on the connection starts. */
void hm_conn_guard_request_done(hm_conn_guard *g, struct MHD_Connection *conn);

#endif
