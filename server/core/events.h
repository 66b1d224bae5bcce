/* events.h: the Server-Sent Events hub behind GET /api/v1/events (SPEC "SSE", issue 3).
 * Owns the bounded ring of recent events, the subscribers and what each has read, heartbeats,
 * the subscriber cap and the one-use tickets of POST /events/ticket. Not the transport: the
 * HTTP edge (server/http/sse.c) turns a subscriber into a streaming libmicrohttpd response
 * and gives the hub the two functions that suspend and resume its connection.
 * Not authentication (the caller resolves the Bearer token or ticket into an
 * hm_events_who), not JSON (callers pass the payload text already rendered and already
 * stripped of what each audience may not see), not HTTP statuses (HM_E_UNAVAILABLE means 503).
 *
 * Design
 * - Ring: the last `ring_size` events, each rendered once per audience into an immutable,
 *   reference-counted SSE frame "id: N\nevent: TYPE\ndata: JSON\n\n". Subscribers hold a
 *   cursor (the last id they consumed), never a copy of each event.
 * - Delivery: the transport calls hm_events_read() for a subscriber (from its content reader),
 *   which copies the frames after its cursor that its hm_events_who may see into the
 *   transport's buffer; when nothing is pending it suspends the connection through the
 *   transport and returns 0 (returning 0 without suspending would busy-loop the pool thread). A
 *   frame larger than the buffer is finished from a reference the subscriber keeps.
 * - Waking: hm_events_publish() only appends to the ring and signals the hub's thread (the
 *   "waker"), so the writer thread never pays for the subscribers. The waker looks, under the
 *   hub's lock, at the suspended subscribers: those with an event they may see are collected,
 *   the others just skip the events not for them and stay asleep; it then resumes the collected
 *   ones through their transport after unlocking. What is published while it
 *   is busy goes out in its next pass, so bursts coalesce into one write per subscriber;
 *   `batch_ms` > 0 also makes it wait that long for more events before a pass.
 * - Publishing never waits for a subscriber. A subscriber that falls more than `ring_size`
 *   events behind (it reads too slowly, or its Last-Event-ID is older than the ring) is not
 *   disconnected: it receives the SSE comment ": lagged; events A to B dropped" and resumes at
 *   the oldest event still in the ring. (The transport's connection timeout, if it has one,
 *   still closes a client that reads nothing at all.)
 * - Heartbeat: every `heartbeat_s` seconds the waker wakes every subscriber to send the comment
 *   ": heartbeat". This also finds clients that went away: a transport does not watch a
 *   suspended connection, so a closed client is noticed at the next heartbeat or event.
 * - A stream starts with the comment ": ok". When the transport is done with a connection
 *   (client gone, error, server stopped) it calls hm_events_unsubscribe().
 * - Safety of resuming from other threads: a subscriber moves ACTIVE -> SUSPENDING (under the
 *   hub lock, in its reader) -> SUSPENDED (after the transport's suspend returned). Only the
 *   one thread that moves it out of SUSPENDED under the lock resumes it, and the transport
 *   never closes a suspended connection, so the connection is alive for that call (no
 *   reference count needed). A wake-up that arrives while the subscriber is SUSPENDING is
 *   recorded and the reader resumes its own connection right after suspending it, so the
 *   transport never sees a resume for a connection that is not suspended (undefined behaviour
 *   in libmicrohttpd). hm_events_shutdown() waits for the waker's batch in flight, so that
 *   nothing is left suspended when the transport stops.
 *
 * Shutdown order: hm_events_shutdown() (ends every stream, refuses new ones), then stop the
 * transport (MHD_stop_daemon() aborts if a connection is still suspended), then
 * hm_events_destroy().
 *
 * Thread-safety: every function may be called from any thread at once, except
 * hm_events_destroy(), which must be the last call. */
#ifndef HM_EVENTS_H
#define HM_EVENTS_H

#include "hm_error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hm_events hm_events;

typedef struct hm_events_config {
    size_t ring_size;       /* events kept for Last-Event-ID replay; 0: 8192 */
    size_t max_subscribers; /* past it hm_events_subscribe() gives HM_E_UNAVAILABLE; 0: 10000 */
    /* Public (anonymous) streams at most, so that token holders keep the rest of
     * max_subscribers (issue 11: anonymous streams made the command center's stream 503);
     * 0: max_subscribers. */
    size_t max_public;
    /* Public streams per client address (hm_events_who.client) at most; past it
     * HM_E_RATE_LIMITED; 0: no cap. */
    size_t max_public_per_client;
    int heartbeat_s;    /* seconds between heartbeats; 0: 15 */
    int batch_ms;       /* extra wait for more events before waking subscribers; 0: none */
    int ticket_ttl_s;   /* lifetime of a ticket; 0: 60 */
    size_t max_tickets; /* unredeemed tickets kept at once; 0: 10000 */
    /* Id of the first event published without an id of its own; 0: 1. */
    uint64_t first_id;
    /* Clock for ticket expiry, in milliseconds; NULL: CLOCK_MONOTONIC. Tests inject one. */
    int64_t (*clock_ms)(void *arg);
    void *clock_arg;
} hm_events_config;

/* Who is listening, as resolved by the caller from the Bearer token or ticket.
 * `role`: HM_EV_ROLE_PUBLIC (no token), then volunteer, operator, coordinator, admin.
 * `team_id`: the token's team; 0 for the public. */
enum {
    HM_EV_ROLE_PUBLIC = 0,
    HM_EV_ROLE_VOLUNTEER = 1,
    HM_EV_ROLE_OPERATOR = 2,
    HM_EV_ROLE_COORDINATOR = 3,
    HM_EV_ROLE_ADMIN = 4
};
typedef struct hm_events_who {
    int role;
    int64_t team_id;
    /* The families of event types the stream wants (HM_EV_FAM_* bits); 0: every type. A page
     * that only shows relief points asks for HM_EV_FAM_POINT and is spared every request's
     * event (issue 19: the resident page on a phone). */
    unsigned families;
    /* The client's address (its rate-limit key) for the per-address cap of public streams;
     * "" is not counted. */
    char client[64];
    /* > 0: the stream of one request, the resident's tracking page (issue 15: a phone follows
     * its own request, not the district): only the events published about this request
     * (hm_events_publish_about), with their `data_team` payload, whatever `role` says; `role`
     * stays HM_EV_ROLE_PUBLIC so that the stream counts among the public ones (and `client`
     * against its address's cap). */
    int64_t request_id;
} hm_events_who;

/* Families of event types: the part of the type before its first '.'. */
enum {
    HM_EV_FAM_REQUEST = 1, /* request.* */
    HM_EV_FAM_TEAM = 2,    /* team.* */
    HM_EV_FAM_POINT = 4,   /* point.* (relief points) */
    HM_EV_FAM_OTHER = 8,   /* any other type */
};
/* The family of event type `type`. */
unsigned hm_events_family(const char *type);

/* Audience of an event. A subscriber gets the event (once) if any flag admits it:
 *   HM_EV_PUBLIC  every stream: the public gets `data_public` (not at all if it is NULL),
 *                 token holders get `data_team` (request.created, request.updated);
 *   HM_EV_TEAMS   every token holder's stream, `data_team`;
 *   HM_EV_COORD   coordinator and admin streams only, `data_team` (team.moved);
 *   HM_EV_TARGET  the streams of the teams listed in `targets`, `data_team` (request.alert). */
enum { HM_EV_PUBLIC = 1, HM_EV_TEAMS = 2, HM_EV_COORD = 4, HM_EV_TARGET = 8 };

/* Size of the buffer hm_events_ticket_issue() fills (the ticket is 48 hex digits + NUL). */
#define HM_EVENTS_TICKET_SIZE 64

/* Create a hub and start its thread (wake-ups and heartbeats). `cfg` may be NULL (all defaults).
 * Returns NULL with `err` set: HM_E_INVALID_FIELD for a nonsensical config, HM_E_INTERNAL if
 * the thread cannot start. Caller frees with hm_events_destroy(). */
hm_events *hm_events_create(const hm_events_config *cfg, hm_error *err);

/* End every stream and refuse new ones (hm_events_subscribe() then gives HM_E_UNAVAILABLE):
 * suspended subscribers are resumed and their readers end the stream. Call before stopping
 * the transport. Idempotent; thread-safe. */
void hm_events_shutdown(hm_events *ev);

/* Stop the hub's thread and free the hub. Call after the transport stopped and released
 * every subscriber. Accepts NULL. */
void hm_events_destroy(hm_events *ev);

/* Publish one event to every subscriber allowed to see it; also kept in the ring for replay.
 *   type         event name such as "request.created": 1-63 of [A-Za-z0-9._-];
 *   data_public  JSON text for public subscribers, or NULL: the public does not get it;
 *   data_team    JSON text for token holders, or NULL: they get `data_public`;
 *   audience     HM_EV_* flags, see above;
 *   targets      team ids for HM_EV_TARGET (n_targets of them), else ignored.
 * Payloads should be compact JSON; a line break in them is sent as several "data:" lines,
 * which EventSource joins back. Neither payload may carry contact fields (name, phone, note,
 * address): every token holder, volunteers included, may receive `data_team`, and SPEC wants
 * each reveal of contact data recorded in the history, which a broadcast cannot do; clients
 * GET the request for those. Returns the event's id (ids increase by one from `first_id`), or
 * 0 if the arguments are invalid (nothing published). Costs one rendering of each payload and
 * a short lock, whatever the number of subscribers; never waits for one. The payloads are
 * copied. Thread-safe; concurrent publishers are serialised. */
uint64_t hm_events_publish(hm_events *ev, const char *type, const char *data_public,
                           const char *data_team, unsigned audience, const int64_t *targets,
                           size_t n_targets);
/* The same with the event's id chosen by the caller (events that follow the store's change log
 * take their ids from it, so that every server gives an event the same id and Last-Event-ID
 * works across servers). An `id` not above the last one published (0 included) is replaced by
 * the last one plus one. Returns the id used. */
uint64_t hm_events_publish_id(hm_events *ev, uint64_t id, const char *type, const char *data_public,
                              const char *data_team, unsigned audience, const int64_t *targets,
                              size_t n_targets);

/* The same for an event about request `subject` (request.created, request.updated): besides
 * the audience, the streams of that one request (hm_events_who.request_id == subject) get
 * `data_team` (or `data_public` when it is NULL), so `data_team` must be fit for the
 * resident who holds the request's tracking token (it is: it has no contact data). Replays
 * after a Last-Event-ID filter the same way. `subject` <= 0 is hm_events_publish_id(). */
uint64_t hm_events_publish_about(hm_events *ev, uint64_t id, int64_t subject, const char *type,
                                 const char *data_public, const char *data_team, unsigned audience,
                                 const int64_t *targets, size_t n_targets);

/* How a transport suspends and resumes the connection of a stream; `conn` is the transport's
 * own handle, opaque to the hub. suspend() is called by hm_events_read() on the connection's
 * own thread; resume() from any thread, exactly once per suspend. */
typedef struct hm_events_transport {
    void (*suspend)(void *conn);
    void (*resume)(void *conn);
} hm_events_transport;

typedef struct hm_events_sub hm_events_sub;

/* The size of the buffer a transport should offer hm_events_read(): a frame is ~600 bytes and
 * a longer one goes out in pieces. It is resident once per stream (issue 7: 5,000 streams). */
#define HM_EVENTS_BLOCK_SIZE 2048
/* hm_events_read(): the stream is over (the hub is shutting down). */
#define HM_EVENTS_END ((ssize_t)-1)

/* Add a subscriber for `who` on connection `conn` of transport `tp` (static; borrowed for the
 * subscriber's life). Its stream first replays the ring's events with id > `last_event_id`
 * that `who` may see (with a lag notice when the ring no longer reaches back that far), then
 * follows new ones; `last_event_id` 0 means no replay, and one above the newest id (a client
 * coming from a server that is ahead) skips what is published up to it.
 * Returns HM_OK with *out set (release it with hm_events_unsubscribe()); HM_E_UNAVAILABLE past
 * `max_subscribers`, for the public past `max_public`, or after hm_events_shutdown();
 * HM_E_RATE_LIMITED (err->retry_after_s set) for a public stream past `max_public_per_client`
 * streams of its client (nothing added in either case). `who` is copied. Thread-safe. */
int hm_events_subscribe(hm_events *ev, const hm_events_transport *tp, void *conn,
                        const hm_events_who *who, uint64_t last_event_id, hm_events_sub **out,
                        hm_error *err);

/* The next bytes of `s`'s stream into buf[0, max): the greeting, heartbeats, lag notices and
 * the frames it may see. Returns the number of bytes (> 0); 0 after suspending the connection
 * through the transport when nothing is pending (the transport must not call again before its
 * resume() ran); HM_EVENTS_END when the stream is over. Call from one thread at a time per
 * subscriber. */
ssize_t hm_events_read(hm_events_sub *s, char *buf, size_t max);

/* The transport is done with `s` (client gone, error, stopped): release it. Never while its
 * connection is suspended. Accepts NULL. Thread-safe. */
void hm_events_unsubscribe(hm_events_sub *s);

/* Issue a one-use ticket for `who` (a token holder) valid `ticket_ttl_s` seconds, for browsers
 * whose EventSource cannot send an Authorization header. Fills `out` (NUL-terminated) and
 * `*expires_in_s` (may be NULL). Returns HM_OK; HM_E_UNAUTHORIZED if `who` is the public;
 * HM_E_UNAVAILABLE if `max_tickets` unexpired tickets exist; HM_E_INTERNAL if the OS has no
 * randomness. Tickets are random (192 bits, getrandom(2)). Thread-safe. */
int hm_events_ticket_issue(hm_events *ev, const hm_events_who *who, char out[HM_EVENTS_TICKET_SIZE],
                           int *expires_in_s, hm_error *err);

/* Redeem `ticket`: on HM_OK fills `*who` with the identity it was issued for and forgets the
 * ticket; HM_E_UNAUTHORIZED if it is unknown, already used or expired. Compares in constant
 * time. Thread-safe. */
int hm_events_ticket_redeem(hm_events *ev, const char *ticket, hm_events_who *who);

/* Team `team_id` was disabled or its token rotated: end every stream opened with its token or
 * a ticket of it (their readers return HM_EVENTS_END, as at shutdown) and forget its unused
 * tickets (issue 11). Thread-safe; resumes the streams it ends before returning. */
void hm_events_end_team(hm_events *ev, int64_t team_id);

/* Number of live subscribers (streams not yet released by their transport). Thread-safe. */
size_t hm_events_subscriber_count(hm_events *ev);

/* Counters for /metrics and benchmarks. */
typedef struct hm_events_stats {
    size_t subscribers;   /* live subscribers */
    uint64_t last_id;     /* newest event id (first_id - 1 before any) */
    uint64_t published;   /* events published since creation */
    uint64_t frames_sent; /* event frames handed to transports for subscribers since creation */
    uint64_t lag_notices; /* ": lagged" notices sent since creation (events lost to someone) */
    int64_t max_delay_us; /* longest wait from publish to a frame's hand-over to its transport,
                             since the previous hm_events_stats_get() call (which resets it) */
} hm_events_stats;

/* Fill `out`. Resets max_delay_us. Thread-safe. */
void hm_events_stats_get(hm_events *ev, hm_events_stats *out);

#endif
