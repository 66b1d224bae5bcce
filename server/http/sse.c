/* sse.c: the event hub over libmicrohttpd; see sse.h. */
#include "sse.h"

#include <stdbool.h>
#include <stddef.h>

static void conn_suspend(void *conn)
{
    MHD_suspend_connection(conn);
}

static void conn_resume(void *conn)
{
    MHD_resume_connection(conn);
}

static const hm_events_transport mhd_transport = {conn_suspend, conn_resume};

/* MHD content reader of one subscriber. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    ssize_t n = hm_events_read(cls, buf, max);
    (void)pos;
    return n == HM_EVENTS_END ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

/* MHD free callback of the response: the subscriber is gone. */
static void stream_free(void *cls)
{
    hm_events_unsubscribe(cls);
}

int hm_sse_serve(hm_events *ev, struct MHD_Connection *conn, const hm_events_who *who,
                 uint64_t last_event_id, hm_error *err)
{
    struct MHD_Response *resp = NULL;
    hm_events_sub *s = NULL;
    int rc;

    if ((rc = hm_events_subscribe(ev, &mhd_transport, conn, who, last_event_id, &s, err)))
        return rc;
    /* From here on the response owns `s`: destroying it runs stream_free(). */
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HM_EVENTS_BLOCK_SIZE, stream_read, s,
                                             stream_free);
    if (!resp) {
        hm_events_unsubscribe(s);
        return hm_error_set(err, HM_E_INTERNAL, NULL, "cannot create the event stream response");
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream") !=
            MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") != MHD_YES ||
        MHD_add_response_header(resp, "X-Accel-Buffering", "no") != MHD_YES)
        rc = hm_error_set(err, HM_E_INTERNAL, NULL, "cannot set the event stream headers");
    else if (MHD_queue_response(conn, MHD_HTTP_OK, resp) != MHD_YES)
        rc = hm_error_set(err, HM_E_INTERNAL, NULL, "cannot queue the event stream");
    MHD_destroy_response(resp);
    return rc;
}

/* Decimal digits only, no sign or space, at most UINT64_MAX; 0 otherwise. */
static uint64_t parse_id(const char *s)
{
    uint64_t v = 0;

    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    return v;
}

uint64_t hm_sse_last_event_id(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");

    if (h)
        return parse_id(h);
    return parse_id(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "last_event_id"));
}
