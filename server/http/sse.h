/* sse.h: the event hub (core/events.h) over libmicrohttpd — GET /api/v1/events as a
 * streaming response whose connection is suspended while its subscriber has nothing to read.
 * Daemon requirements: MHD_USE_INTERNAL_POLLING_THREAD (epoll or poll, any thread pool size)
 * with MHD_ALLOW_SUSPEND_RESUME; not MHD_USE_THREAD_PER_CONNECTION; MHD_OPTION_CONNECTION_LIMIT
 * must leave room for the hub's `max_subscribers` plus ordinary requests. */
#ifndef HM_SSE_H
#define HM_SSE_H

#include <microhttpd.h>
#include <stdint.h>

#include "events.h"

/* Answer GET /api/v1/events on `conn` (call from the access handler, after authentication,
 * on the call where the handler queues its response): queues a 200 streaming response
 * (Content-Type: text/event-stream, Cache-Control: no-cache, X-Accel-Buffering: no) of a new
 * subscriber of `ev` for `who` (see hm_events_subscribe()).
 * Returns HM_OK when the response is queued (the access handler then returns MHD_YES);
 * HM_E_UNAVAILABLE past the hub's subscriber cap or after hm_events_shutdown(), nothing queued
 * (answer 503 unavailable); HM_E_INTERNAL if MHD refused the response (return MHD_NO).
 * Thread-safe. */
int hm_sse_serve(hm_events *ev, struct MHD_Connection *conn, const hm_events_who *who,
                 uint64_t last_event_id, hm_error *err);

/* The resume point a client asks for: the Last-Event-ID header, else the `last_event_id`
 * query argument; 0 if neither is a decimal number in range. Thread-safe (reads `conn`). */
uint64_t hm_sse_last_event_id(struct MHD_Connection *conn);

#endif
