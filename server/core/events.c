/* events.c: the Server-Sent Events hub; see events.h for the design. */
#include "events.h"

#include "hm_buf.h"
#include "hm_log.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>

#define TICKET_BYTES 24 /* 192 random bits, 48 hex digits */
#define TICKET_HEX   (2 * TICKET_BYTES)
/* An immutable SSE frame, shared by the ring and by subscribers that sent part of it. */
typedef struct frame {
    atomic_size_t refs;
    size_t len;
    char data[];
} frame;

/* One event of the ring. `pub` goes to the public, `team` (or `pub` if NULL) to token holders. */
/* Slot `seq % ring_size` of the ring holds the event of sequence number `seq` (1, 2, 3 ... in
 * publishing order). Its id is the publisher's (ids increase, with gaps: events take their
 * ids from the store's change log, so that every server gives an event the same id). */
typedef struct slot {
    uint64_t seq; /* 0: empty */
    uint64_t id;
    unsigned audience;
    unsigned family; /* HM_EV_FAM_* of its type */
    int64_t subject; /* the request it is about, for that request's own streams; 0: none */
    frame *pub;
    frame *team;
    int64_t *targets;
    size_t n_targets;
    int64_t published_us; /* CLOCK_MONOTONIC */
} slot;

/* ACTIVE: the transport may call the reader. SUSPENDING: the reader found nothing and is about
 * to suspend the connection. WAKE: woken while SUSPENDING; the reader resumes its own
 * connection. SUSPENDED: suspended by the transport; whoever moves it out of this state
 * resumes it. */
enum sub_state { SUB_ACTIVE, SUB_SUSPENDING, SUB_WAKE, SUB_SUSPENDED };

typedef struct hm_events_sub sub;
struct hm_events_sub {
    hm_events *ev;
    const hm_events_transport *tp;
    void *conn;
    hm_events_who who;
    /* Under ev->mtx. */
    uint64_t cursor;  /* seq of the last event consumed (sent or skipped as not for `who`) */
    uint64_t seen_id; /* id of that event, or the Last-Event-ID it resumed from */
    uint64_t min_id;  /* events with an id at most this are skipped (a resume from ahead) */
    uint64_t hb_gen;  /* ev->hb_gen when it last got a heartbeat */
    enum sub_state state;
    bool ended;   /* its team's access was revoked: the stream ends */
    bool counted; /* a public stream counted in ev->n_public and its client's count */
    struct hm_events_sub *prev, *next;   /* ev->subs */
    struct hm_events_sub *iprev, *inext; /* ev->idle, while SUSPENDING or SUSPENDED */
    /* Only the connection's own thread touches these: the transport calls the reader of one
     * connection from one thread at a time, and the free callback after the last read. */
    frame *spill; /* the rest of a frame that did not fit in the transport's buffer */
    size_t spill_off;
    bool greeted;
};

typedef struct ticket {
    char hex[TICKET_HEX + 1];
    hm_events_who who;
    int64_t expires_ms;
} ticket;

/* Public streams of one client address (the per-client cap). */
#define CLIENT_BUCKETS 1024
typedef struct client_count {
    char key[64];
    size_t n;
    struct client_count *next;
} client_count;

struct hm_events {
    hm_events_config cfg; /* defaults filled in; immutable */
    frame *greeting;      /* ": ok\n\n" */
    frame *heartbeat;     /* ": heartbeat\n\n" */

    pthread_mutex_t pub_mtx; /* serialises publishers so that id order is ring order */

    pthread_mutex_t mtx;       /* guards everything below down to the tickets */
    pthread_cond_t wake_cond;  /* to the waker: an event was published, or stop */
    pthread_cond_t batch_cond; /* from the waker: a batch of resumes is done */
    slot *ring;                /* cfg.ring_size slots; event `id` lives in ring[id % ring_size] */
    uint64_t last_seq;         /* newest sequence number; 0 before the first event */
    uint64_t last_id;          /* newest id; cfg.first_id - 1 before the first event */
    uint64_t scanned_seq;      /* last_seq when the waker last looked at the idle subscribers */
    uint64_t evicted_id;       /* id of the newest event the ring no longer holds; 0: none */
    uint64_t hb_gen;           /* incremented at each heartbeat */
    bool closing;              /* hm_events_shutdown() was called */
    bool stop;                 /* the waker must exit */
    int in_flight;             /* batches of connections collected but not yet resumed */
    sub *subs;                 /* every live subscriber */
    size_t n_subs;
    size_t n_public;                       /* of which public (anonymous) */
    client_count *clients[CLIENT_BUCKETS]; /* public streams per client address */
    sub *idle; /* SUSPENDING or SUSPENDED subscribers; all events up to their cursor consumed */
    size_t n_idle;
    sub **wk_subs; /* the waker's batch buffer, wk_cap long */
    size_t wk_cap;
    uint64_t frames_sent, lag_notices; /* hm_events_stats */
    int64_t max_delay_us;

    pthread_t waker;
    bool waker_started;

    pthread_mutex_t tk_mtx;
    ticket *tickets; /* cfg.max_tickets slots, the first n_tickets used */
    size_t n_tickets;
};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- frames ---- */

static frame *frame_new(const char *data, size_t len)
{
    frame *f = hm_xmalloc(sizeof *f + len);
    atomic_init(&f->refs, 1);
    f->len = len;
    memcpy(f->data, data, len);
    return f;
}

static frame *frame_ref(frame *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

static void frame_unref(frame *f)
{
    if (f && atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
        free(f);
}

/* "id: N\nevent: TYPE\ndata: LINE\n...\n": one data line per line of `data`. */
static frame *frame_render(uint64_t id, const char *type, const char *data)
{
    hm_buf b;
    const char *p = data;
    frame *f;

    hm_buf_init(&b);
    hm_buf_printf(&b, "id: %" PRIu64 "\nevent: %s\n", id, type);
    for (;;) {
        size_t k = strcspn(p, "\r\n");
        hm_buf_puts(&b, "data: ");
        hm_buf_append(&b, p, k);
        hm_buf_putc(&b, '\n');
        p += k;
        if (*p == '\0')
            break;
        p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
    }
    hm_buf_putc(&b, '\n');
    f = frame_new(b.data, b.len);
    hm_buf_clear(&b);
    return f;
}

/* The frame of `sl` that `who` may see, or NULL. Caller holds ev->mtx. */
static frame *frame_for(const slot *sl, const hm_events_who *who)
{
    frame *team = sl->team ? sl->team : sl->pub;

    if (who->families && !(who->families & sl->family))
        return NULL;
    if (who->request_id > 0) /* one request's stream: its events only, nothing else */
        return sl->subject == who->request_id ? team : NULL;
    if (who->role <= HM_EV_ROLE_PUBLIC)
        return (sl->audience & HM_EV_PUBLIC) ? sl->pub : NULL;
    if (sl->audience & (HM_EV_PUBLIC | HM_EV_TEAMS))
        return team;
    if ((sl->audience & HM_EV_COORD) && who->role >= HM_EV_ROLE_COORDINATOR)
        return team;
    if (sl->audience & HM_EV_TARGET) {
        for (size_t i = 0; i < sl->n_targets; i++)
            if (sl->targets[i] == who->team_id)
                return team;
    }
    return NULL;
}

/* Copy `f` from `off` into buf[*n, max). What does not fit is kept in s->spill (with a new
 * reference) for the next call. */
static void emit(sub *s, frame *f, size_t off, char *buf, size_t max, size_t *n)
{
    size_t room = max - *n, left = f->len - off;

    assert(s->spill == NULL && off <= f->len && *n <= max);
    if (left <= room) {
        memcpy(buf + *n, f->data + off, left);
        *n += left;
        return;
    }
    memcpy(buf + *n, f->data + off, room);
    *n = max;
    s->spill = frame_ref(f);
    s->spill_off = off + room;
}

/* ---- public streams per client (caller holds ev->mtx) ---- */

static client_count **client_slot(hm_events *ev, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    client_count **pp;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (pp = &ev->clients[h % CLIENT_BUCKETS]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0)
            break;
    return pp;
}

static size_t client_streams(hm_events *ev, const char *key)
{
    client_count **pp = client_slot(ev, key);
    return *pp ? (*pp)->n : 0;
}

static void client_add(hm_events *ev, const char *key, int delta)
{
    client_count **pp = client_slot(ev, key), *c = *pp;
    if (!c) {
        if (delta < 0)
            return;
        c = *pp = hm_xcalloc(1, sizeof *c);
        snprintf(c->key, sizeof c->key, "%s", key);
    }
    if (delta < 0 && c->n > 0)
        c->n--;
    else if (delta > 0)
        c->n++;
    if (c->n == 0) {
        *pp = c->next;
        free(c);
    }
}

/* ---- subscriber lists (caller holds ev->mtx) ---- */

static void idle_insert(hm_events *ev, sub *s)
{
    s->iprev = NULL;
    s->inext = ev->idle;
    if (ev->idle)
        ev->idle->iprev = s;
    ev->idle = s;
    ev->n_idle++;
}

static void idle_remove(hm_events *ev, sub *s)
{
    if (s->iprev)
        s->iprev->inext = s->inext;
    else
        ev->idle = s->inext;
    if (s->inext)
        s->inext->iprev = s->iprev;
    s->iprev = s->inext = NULL;
    assert(ev->n_idle > 0);
    ev->n_idle--;
}

/* Take idle `s` out of the idle list for a wake-up. Returns true when the caller must resume
 * its connection after unlocking, false when the subscriber's reader will resume it itself. */
static bool wake_locked(hm_events *ev, sub *s)
{
    idle_remove(ev, s);
    if (s->state == SUB_SUSPENDED) {
        s->state = SUB_ACTIVE;
        return true;
    }
    assert(s->state == SUB_SUSPENDING);
    s->state = SUB_WAKE;
    return false;
}

/* Resume the subscribers collected by wake_locked(); call without holding any lock. Each one
 * is still suspended by its transport, so it cannot have been closed and freed meanwhile; it
 * is not touched after its resume. */
static void resume_all(sub **subs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        subs[i]->tp->resume(subs[i]->conn);
}

/* Whether idle `s` has something to send: an event after its cursor that it may see, or a gap
 * past the ring (its reader then sends the lag notice). Caller holds ev->mtx. */
static bool has_pending(const hm_events *ev, const sub *s)
{
    if (ev->last_seq - s->cursor > ev->cfg.ring_size)
        return true;
    for (uint64_t seq = s->cursor + 1; seq <= ev->last_seq; seq++) {
        const slot *sl = &ev->ring[seq % ev->cfg.ring_size];
        if (sl->id > s->min_id && frame_for(sl, &s->who))
            return true;
    }
    return false;
}

/* Wake the idle subscribers that have something pending, or all of them (`all`: heartbeat,
 * shutdown); the others skip the events not for them and stay asleep. Stores the connections
 * to resume in `*subs` (grown as needed, `*cap` long) and returns how many. Caller holds
 * ev->mtx. */
static size_t collect_locked(hm_events *ev, bool all, sub ***subs, size_t *cap)
{
    size_t n = 0;

    if (*cap < ev->n_idle) {
        *cap = ev->n_idle + ev->n_idle / 2 + 16;
        free(*subs);
        *subs = hm_xmalloc(*cap * sizeof **subs);
    }
    for (sub *s = ev->idle, *next; s; s = next) {
        next = s->inext;
        if (all || has_pending(ev, s)) {
            if (wake_locked(ev, s))
                (*subs)[n++] = s;
        } else {
            s->cursor = ev->last_seq;
            s->seen_id = ev->last_id;
        }
    }
    return n;
}

/* ---- the stream ---- */

ssize_t hm_events_read(hm_events_sub *s, char *buf, size_t max)
{
    hm_events *ev = s->ev;
    frame *lag = NULL;
    size_t n = 0;
    bool end = false, resume_self = false;

    if (max == 0)
        return 0; /* no room; the transport calls again once it has sent something */
    if (s->spill) {
        frame *f = s->spill;
        s->spill = NULL;
        emit(s, f, s->spill_off, buf, max, &n);
        frame_unref(f);
        if (s->spill)
            return (ssize_t)n;
    }
    if (!s->greeted) {
        s->greeted = true;
        emit(s, ev->greeting, 0, buf, max, &n);
        if (s->spill)
            return (ssize_t)n;
    }

    pthread_mutex_lock(&ev->mtx);
    if (ev->closing || s->ended) {
        end = true;
        goto unlock;
    }
    assert(s->state == SUB_ACTIVE);
    if (s->hb_gen != ev->hb_gen && n < max) {
        s->hb_gen = ev->hb_gen;
        emit(s, ev->heartbeat, 0, buf, max, &n);
    }
    if (!s->spill && n < max) {
        uint64_t oldest =
            ev->last_seq > ev->cfg.ring_size ? ev->last_seq - ev->cfg.ring_size + 1 : 1;
        if (s->cursor + 1 < oldest) {
            uint64_t oldest_id = ev->ring[oldest % ev->cfg.ring_size].id;
            char text[96];
            int k = snprintf(text, sizeof text,
                             ": lagged; events %" PRIu64 " to %" PRIu64 " dropped\n\n",
                             s->seen_id + 1, oldest_id - 1);
            lag = frame_new(text, (size_t)k);
            s->cursor = oldest - 1;
            ev->lag_notices++;
            emit(s, lag, 0, buf, max, &n);
        }
    }
    if (s->cursor < ev->last_seq) {
        int64_t now = mono_us();

        while (n < max && !s->spill && s->cursor < ev->last_seq) {
            const slot *sl = &ev->ring[(s->cursor + 1) % ev->cfg.ring_size];
            frame *f;

            assert(sl->seq == s->cursor + 1);
            s->cursor++;
            s->seen_id = sl->id;
            f = sl->id > s->min_id ? frame_for(sl, &s->who) : NULL;
            if (f) {
                emit(s, f, 0, buf, max, &n);
                ev->frames_sent++;
                if (now - sl->published_us > ev->max_delay_us)
                    ev->max_delay_us = now - sl->published_us;
            }
        }
    }
    if (n == 0) {
        /* Caught up (cursor == last_seq): sleep until the waker finds something for us. */
        s->state = SUB_SUSPENDING;
        idle_insert(ev, s);
    }
unlock:
    pthread_mutex_unlock(&ev->mtx);
    frame_unref(lag);
    if (end)
        return n ? (ssize_t)n : HM_EVENTS_END;
    if (n)
        return (ssize_t)n;

    s->tp->suspend(s->conn);
    pthread_mutex_lock(&ev->mtx);
    if (s->state == SUB_WAKE) {
        s->state = SUB_ACTIVE; /* an event or heartbeat came while it was suspending */
        resume_self = true;
    } else {
        assert(s->state == SUB_SUSPENDING);
        s->state = SUB_SUSPENDED;
    }
    pthread_mutex_unlock(&ev->mtx);
    if (resume_self)
        s->tp->resume(s->conn);
    return 0;
}

void hm_events_unsubscribe(hm_events_sub *s)
{
    hm_events *ev;

    if (!s)
        return;
    ev = s->ev;
    pthread_mutex_lock(&ev->mtx);
    /* NEVER: a transport does not release a suspended connection (MHD: unless
     * MHD_stop_daemon() is called before hm_events_shutdown(), which aborts in MHD anyway). */
    if (s->state == SUB_SUSPENDING || s->state == SUB_SUSPENDED)
        idle_remove(ev, s);
    if (s->counted) {
        assert(ev->n_public > 0);
        ev->n_public--;
        if (s->who.client[0])
            client_add(ev, s->who.client, -1);
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        ev->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    assert(ev->n_subs > 0);
    ev->n_subs--;
    pthread_mutex_unlock(&ev->mtx);
    frame_unref(s->spill);
    free(s);
}

int hm_events_subscribe(hm_events *ev, const hm_events_transport *tp, void *conn,
                        const hm_events_who *who, uint64_t last_event_id, hm_events_sub **out,
                        hm_error *err)
{
    sub *s = hm_xcalloc(1, sizeof *s);

    s->ev = ev;
    s->tp = tp;
    s->conn = conn;
    s->who = *who;
    s->state = SUB_ACTIVE;

    s->who.client[sizeof s->who.client - 1] = '\0';
    pthread_mutex_lock(&ev->mtx);
    if (ev->closing || ev->n_subs >= ev->cfg.max_subscribers ||
        (who->role <= HM_EV_ROLE_PUBLIC && ev->n_public >= ev->cfg.max_public)) {
        bool closing = ev->closing;
        pthread_mutex_unlock(&ev->mtx);
        free(s);
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "%s",
                            closing ? "the server is shutting down" : "too many event subscribers");
    }
    if (who->role <= HM_EV_ROLE_PUBLIC && s->who.client[0] && ev->cfg.max_public_per_client &&
        client_streams(ev, s->who.client) >= ev->cfg.max_public_per_client) {
        pthread_mutex_unlock(&ev->mtx);
        free(s);
        hm_error_set(err, HM_E_RATE_LIMITED, NULL,
                     "too many event streams from your address; close one first");
        if (err)
            err->retry_after_s = 15;
        return HM_E_RATE_LIMITED;
    }
    if (who->role <= HM_EV_ROLE_PUBLIC) {
        s->counted = true;
        ev->n_public++;
        if (s->who.client[0])
            client_add(ev, s->who.client, +1);
    }
    s->cursor = ev->last_seq; /* only new events */
    s->seen_id = ev->last_id;
    if (last_event_id > ev->last_id) {
        /* Resumed from another server that is ahead of this one: what this one publishes up to
         * that id, the client has. */
        s->min_id = last_event_id;
    } else if (last_event_id > 0) {
        /* The first event after last_event_id in the ring, or the oldest (the reader then says
         * what was lost): binary search over the ids, which increase with the sequence. */
        uint64_t lo = ev->last_seq > ev->cfg.ring_size ? ev->last_seq - ev->cfg.ring_size + 1 : 1;
        uint64_t hi = ev->last_seq + 1;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (ev->ring[mid % ev->cfg.ring_size].id <= last_event_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        s->cursor = lo - 1;
        s->seen_id = last_event_id;
        /* Events between last_event_id and the oldest left the ring: one step back makes the
         * reader send the lag notice. */
        if (last_event_id < ev->evicted_id && s->cursor > 0 &&
            s->cursor + 1 ==
                (ev->last_seq > ev->cfg.ring_size ? ev->last_seq - ev->cfg.ring_size + 1 : 1))
            s->cursor--;
    }
    s->hb_gen = ev->hb_gen;
    s->next = ev->subs;
    if (ev->subs)
        ev->subs->prev = s;
    ev->subs = s;
    ev->n_subs++;
    pthread_mutex_unlock(&ev->mtx);
    *out = s;
    return HM_OK;
}

/* ---- publishing ---- */

static bool valid_type(const char *type)
{
    size_t n = 0;

    if (!type)
        return false;
    for (const char *p = type; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n >= 1 && n <= 63;
}

uint64_t hm_events_publish(hm_events *ev, const char *type, const char *data_public,
                           const char *data_team, unsigned audience, const int64_t *targets,
                           size_t n_targets)
{
    return hm_events_publish_id(ev, 0, type, data_public, data_team, audience, targets, n_targets);
}

unsigned hm_events_family(const char *type)
{
    static const struct {
        const char *prefix;
        unsigned family;
    } fams[] = {
        {"request.", HM_EV_FAM_REQUEST}, {"team.", HM_EV_FAM_TEAM}, {"point.", HM_EV_FAM_POINT}};
    for (size_t i = 0; type && i < sizeof fams / sizeof fams[0]; i++)
        if (strncmp(type, fams[i].prefix, strlen(fams[i].prefix)) == 0)
            return fams[i].family;
    return HM_EV_FAM_OTHER;
}

uint64_t hm_events_publish_id(hm_events *ev, uint64_t id, const char *type, const char *data_public,
                              const char *data_team, unsigned audience, const int64_t *targets,
                              size_t n_targets)
{
    return hm_events_publish_about(ev, id, 0, type, data_public, data_team, audience, targets,
                                   n_targets);
}

uint64_t hm_events_publish_about(hm_events *ev, uint64_t id, int64_t subject, const char *type,
                                 const char *data_public, const char *data_team, unsigned audience,
                                 const int64_t *targets, size_t n_targets)
{
    const unsigned all = HM_EV_PUBLIC | HM_EV_TEAMS | HM_EV_COORD | HM_EV_TARGET;
    frame *pub = NULL, *team = NULL;
    int64_t *tg = NULL;
    slot old, *sl;
    int64_t now_us;
    uint64_t seq;
    bool wake;

    if (!ev || !valid_type(type) || audience == 0 || (audience & ~all) ||
        (!data_public && !data_team) || ((audience & HM_EV_TARGET) && (!targets || n_targets == 0)))
        return 0;

    pthread_mutex_lock(&ev->pub_mtx);
    /* last_id and last_seq change only under pub_mtx. */
    if (id <= ev->last_id)
        id = ev->last_id + 1;
    seq = ev->last_seq + 1;
    if (data_public)
        pub = frame_render(id, type, data_public);
    if (data_team)
        team = frame_render(id, type, data_team);
    if (audience & HM_EV_TARGET) {
        tg = hm_xmalloc(n_targets * sizeof *tg);
        memcpy(tg, targets, n_targets * sizeof *tg);
    } else {
        n_targets = 0;
    }

    now_us = mono_us();
    pthread_mutex_lock(&ev->mtx);
    sl = &ev->ring[seq % ev->cfg.ring_size];
    old = *sl;
    *sl = (slot){.seq = seq,
                 .id = id,
                 .audience = audience,
                 .family = hm_events_family(type),
                 .subject = subject > 0 ? subject : 0,
                 .pub = pub,
                 .team = team,
                 .targets = tg,
                 .n_targets = n_targets,
                 .published_us = now_us};
    ev->last_id = id;
    ev->last_seq = seq;
    if (old.seq)
        ev->evicted_id = old.id;
    /* Nobody to resume: the waker sleeps on (a subscriber that comes later reads the ring
     * from where it starts). Waking it for each event of a creation load was a tenth of the
     * server's time with nobody listening (issue 18). */
    wake = ev->n_subs > 0;
    pthread_mutex_unlock(&ev->mtx);
    pthread_mutex_unlock(&ev->pub_mtx);
    /* The waker resumes the subscribers: the writer thread does not pay for them. */
    if (wake)
        pthread_cond_signal(&ev->wake_cond);

    frame_unref(old.pub);
    frame_unref(old.team);
    free(old.targets);
    return id;
}

void hm_events_end_team(hm_events *ev, int64_t team_id)
{
    sub **subs = NULL;
    size_t n = 0, cap = 0;

    if (!ev || team_id <= 0)
        return;
    pthread_mutex_lock(&ev->tk_mtx);
    for (size_t i = 0; i < ev->n_tickets;) {
        if (ev->tickets[i].who.role > HM_EV_ROLE_PUBLIC && ev->tickets[i].who.team_id == team_id)
            ev->tickets[i] = ev->tickets[--ev->n_tickets];
        else
            i++;
    }
    pthread_mutex_unlock(&ev->tk_mtx);

    pthread_mutex_lock(&ev->mtx);
    for (sub *s = ev->subs; s; s = s->next) {
        if (s->who.role <= HM_EV_ROLE_PUBLIC || s->who.team_id != team_id || s->ended)
            continue;
        s->ended = true;
        /* Asleep: woken so that its reader ends the stream; awake: its next read ends it. */
        if (s->state == SUB_SUSPENDING || s->state == SUB_SUSPENDED) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                subs = hm_xrealloc(subs, cap * sizeof *subs);
            }
            if (wake_locked(ev, s))
                subs[n++] = s;
        }
    }
    /* Counted like the waker's batches: hm_events_shutdown() waits for these resumes. */
    ev->in_flight++;
    pthread_mutex_unlock(&ev->mtx);
    resume_all(subs, n);
    free(subs);
    pthread_mutex_lock(&ev->mtx);
    if (--ev->in_flight == 0)
        pthread_cond_broadcast(&ev->batch_cond);
    pthread_mutex_unlock(&ev->mtx);
}

size_t hm_events_subscriber_count(hm_events *ev)
{
    size_t n;

    pthread_mutex_lock(&ev->mtx);
    n = ev->n_subs;
    pthread_mutex_unlock(&ev->mtx);
    return n;
}

void hm_events_stats_get(hm_events *ev, hm_events_stats *out)
{
    pthread_mutex_lock(&ev->mtx);
    out->subscribers = ev->n_subs;
    out->last_id = ev->last_id;
    out->published = ev->last_seq;
    out->frames_sent = ev->frames_sent;
    out->lag_notices = ev->lag_notices;
    out->max_delay_us = ev->max_delay_us;
    ev->max_delay_us = 0;
    pthread_mutex_unlock(&ev->mtx);
}

/* ---- tickets ---- */

static int64_t now_ms(const hm_events *ev)
{
    struct timespec ts;

    if (ev->cfg.clock_ms)
        return ev->cfg.clock_ms(ev->cfg.clock_arg);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drop expired tickets. Caller holds tk_mtx. */
static void prune_tickets(hm_events *ev, int64_t now)
{
    for (size_t i = 0; i < ev->n_tickets;) {
        if (ev->tickets[i].expires_ms <= now)
            ev->tickets[i] = ev->tickets[--ev->n_tickets];
        else
            i++;
    }
}

int hm_events_ticket_issue(hm_events *ev, const hm_events_who *who, char out[HM_EVENTS_TICKET_SIZE],
                           int *expires_in_s, hm_error *err)
{
    static const char hexd[] = "0123456789abcdef";
    unsigned char rnd[TICKET_BYTES];
    ticket t;
    size_t got = 0;
    int64_t now;
    int rc = HM_OK;

    if (who->role <= HM_EV_ROLE_PUBLIC)
        return hm_error_set(err, HM_E_UNAUTHORIZED, NULL, "a ticket needs a team token");
    while (got < sizeof rnd) {
        ssize_t k = getrandom(rnd + got, sizeof rnd - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return hm_error_set(err, HM_E_INTERNAL, NULL, "getrandom failed: %s", strerror(errno));
        got += (size_t)k;
    }
    for (size_t i = 0; i < sizeof rnd; i++) {
        t.hex[2 * i] = hexd[rnd[i] >> 4];
        t.hex[2 * i + 1] = hexd[rnd[i] & 15];
    }
    t.hex[TICKET_HEX] = '\0';
    t.who = *who;

    pthread_mutex_lock(&ev->tk_mtx);
    now = now_ms(ev);
    t.expires_ms = now + (int64_t)ev->cfg.ticket_ttl_s * 1000;
    prune_tickets(ev, now);
    if (ev->n_tickets >= ev->cfg.max_tickets) {
        rc = hm_error_set(err, HM_E_UNAVAILABLE, NULL, "too many unredeemed tickets");
        goto out;
    }
    ev->tickets[ev->n_tickets++] = t;
    memcpy(out, t.hex, TICKET_HEX + 1);
    if (expires_in_s)
        *expires_in_s = ev->cfg.ticket_ttl_s;
out:
    pthread_mutex_unlock(&ev->tk_mtx);
    memset(&t, 0, sizeof t);
    return rc;
}

int hm_events_ticket_redeem(hm_events *ev, const char *ticket_text, hm_events_who *who)
{
    size_t found = SIZE_MAX;
    int64_t now;
    int rc = HM_E_UNAUTHORIZED;

    /* The length is no secret; the digits are compared without early exit. */
    if (!ticket_text || strnlen(ticket_text, TICKET_HEX + 1) != TICKET_HEX)
        return HM_E_UNAUTHORIZED;
    pthread_mutex_lock(&ev->tk_mtx);
    now = now_ms(ev);
    for (size_t i = 0; i < ev->n_tickets; i++) {
        unsigned char diff = 0;
        for (size_t k = 0; k < TICKET_HEX; k++)
            diff |= (unsigned char)(ev->tickets[i].hex[k] ^ ticket_text[k]);
        if (diff == 0)
            found = i;
    }
    if (found != SIZE_MAX) {
        if (ev->tickets[found].expires_ms > now) {
            *who = ev->tickets[found].who;
            rc = HM_OK;
        }
        ev->tickets[found] = ev->tickets[--ev->n_tickets]; /* used or expired: gone */
    }
    pthread_mutex_unlock(&ev->tk_mtx);
    return rc;
}

/* ---- the waker thread ---- */

static struct timespec ts_after(struct timespec t, int64_t ms)
{
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

static bool ts_before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* Resumes the subscribers that new events are for (so that publishers never pay for it),
 * in batches: whatever was published while it was busy goes out in the next pass, optionally
 * after waiting cfg.batch_ms for more. Every heartbeat_s it wakes everyone for a heartbeat
 * and drops expired tickets. */
static void *waker_main(void *arg)
{
    hm_events *ev = arg;
    struct timespec now, next_hb;

    prctl(PR_SET_NAME, "hm-events", 0, 0, 0); /* for top -H and perf */
    clock_gettime(CLOCK_MONOTONIC, &now);
    next_hb = ts_after(now, (int64_t)ev->cfg.heartbeat_s * 1000);
    pthread_mutex_lock(&ev->mtx);
    while (!ev->stop) {
        bool beat;
        size_t n;

        if (ev->scanned_seq == ev->last_seq &&
            pthread_cond_timedwait(&ev->wake_cond, &ev->mtx, &next_hb) != ETIMEDOUT)
            continue; /* woken: look again at stop and last_id */
        if (ev->stop)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ev->cfg.batch_ms > 0 && ev->scanned_seq != ev->last_seq && ts_before(now, next_hb)) {
            struct timespec until = ts_after(now, ev->cfg.batch_ms);
            while (!ev->stop &&
                   pthread_cond_timedwait(&ev->wake_cond, &ev->mtx, &until) != ETIMEDOUT)
                ;
            clock_gettime(CLOCK_MONOTONIC, &now);
        }
        beat = !ts_before(now, next_hb);
        if (beat) {
            ev->hb_gen++;
            next_hb = ts_after(next_hb, (int64_t)ev->cfg.heartbeat_s * 1000);
            if (ts_before(next_hb, now))
                next_hb = ts_after(now, (int64_t)ev->cfg.heartbeat_s * 1000); /* no burst */
        }
        n = collect_locked(ev, beat, &ev->wk_subs, &ev->wk_cap);
        ev->scanned_seq = ev->last_seq;
        ev->in_flight++;
        pthread_mutex_unlock(&ev->mtx);

        resume_all(ev->wk_subs, n);
        if (beat) {
            pthread_mutex_lock(&ev->tk_mtx);
            prune_tickets(ev, now_ms(ev));
            pthread_mutex_unlock(&ev->tk_mtx);
        }

        pthread_mutex_lock(&ev->mtx);
        if (--ev->in_flight == 0)
            pthread_cond_broadcast(&ev->batch_cond);
    }
    pthread_mutex_unlock(&ev->mtx);
    return NULL;
}

/* ---- life cycle ---- */

hm_events *hm_events_create(const hm_events_config *cfg, hm_error *err)
{
    static const char greeting[] = ": ok\n\n", heartbeat[] = ": heartbeat\n\n";
    hm_events_config c = {0};
    pthread_condattr_t ca;
    hm_events *ev = NULL;

    if (cfg)
        c = *cfg;
    if (c.ring_size == 0)
        c.ring_size = 8192;
    if (c.max_subscribers == 0)
        c.max_subscribers = 10000;
    if (c.max_public == 0 || c.max_public > c.max_subscribers)
        c.max_public = c.max_subscribers;
    if (c.heartbeat_s == 0)
        c.heartbeat_s = 15;
    if (c.ticket_ttl_s == 0)
        c.ticket_ttl_s = 60;
    if (c.max_tickets == 0)
        c.max_tickets = 10000;
    if (c.first_id == 0)
        c.first_id = 1;
    if (c.ring_size > ((size_t)1 << 24) || c.heartbeat_s < 0 || c.heartbeat_s > 86400 ||
        c.ticket_ttl_s < 0 || c.ticket_ttl_s > 86400 || c.max_tickets > ((size_t)1 << 24) ||
        c.first_id > UINT64_MAX / 2 || c.batch_ms < 0 || c.batch_ms > 1000) {
        hm_error_set(err, HM_E_INVALID_FIELD, NULL, "invalid event hub configuration");
        return NULL;
    }

    ev = hm_xcalloc(1, sizeof *ev);
    ev->cfg = c;
    ev->ring = hm_xcalloc(c.ring_size, sizeof *ev->ring);
    ev->tickets = hm_xcalloc(c.max_tickets, sizeof *ev->tickets);
    ev->last_id = c.first_id - 1;
    ev->greeting = frame_new(greeting, sizeof greeting - 1);
    ev->heartbeat = frame_new(heartbeat, sizeof heartbeat - 1);
    pthread_mutex_init(&ev->pub_mtx, NULL);
    pthread_mutex_init(&ev->mtx, NULL);
    pthread_mutex_init(&ev->tk_mtx, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ev->wake_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&ev->batch_cond, NULL);
    ev->scanned_seq = ev->last_seq;

    if (pthread_create(&ev->waker, NULL, waker_main, ev) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the event hub thread");
        hm_events_destroy(ev);
        return NULL;
    }
    ev->waker_started = true;
    return ev;
}

void hm_events_shutdown(hm_events *ev)
{
    sub **subs = NULL;
    size_t cap = 0, n;

    if (!ev)
        return;
    pthread_mutex_lock(&ev->mtx);
    ev->closing = true; /* readers end their streams; nobody goes idle any more */
    n = collect_locked(ev, true, &subs, &cap);
    /* A batch the waker collected before `closing` must be resumed before we return: the
     * caller stops its transport next (MHD aborts on a connection still suspended). */
    while (ev->in_flight > 0)
        pthread_cond_wait(&ev->batch_cond, &ev->mtx);
    pthread_mutex_unlock(&ev->mtx);
    resume_all(subs, n);
    free(subs);
}

void hm_events_destroy(hm_events *ev)
{
    if (!ev)
        return;
    if (ev->waker_started) {
        pthread_mutex_lock(&ev->mtx);
        ev->stop = true;
        pthread_mutex_unlock(&ev->mtx);
        pthread_cond_signal(&ev->wake_cond);
        pthread_join(ev->waker, NULL);
    }
    pthread_mutex_lock(&ev->mtx);
    if (ev->n_subs) {
        /* NEVER: the transport still holds streams that point here; leaking beats a use after
         * free. */
        size_t n = ev->n_subs;
        pthread_mutex_unlock(&ev->mtx);
        hm_log(HM_LOG_ERROR, "event=events_destroy_with_subscribers subscribers=%zu", n);
        assert(!"hm_events_destroy() before MHD_stop_daemon()");
        return;
    }
    pthread_mutex_unlock(&ev->mtx);
    for (size_t i = 0; i < ev->cfg.ring_size; i++) {
        frame_unref(ev->ring[i].pub);
        frame_unref(ev->ring[i].team);
        free(ev->ring[i].targets);
    }
    free(ev->ring);
    for (size_t i = 0; i < CLIENT_BUCKETS; i++)
        for (client_count *c = ev->clients[i], *next; c; c = next) {
            next = c->next;
            free(c);
        }
    memset(ev->tickets, 0, ev->cfg.max_tickets * sizeof *ev->tickets);
    free(ev->tickets);
    frame_unref(ev->greeting);
    frame_unref(ev->heartbeat);
    free(ev->wk_subs);
    pthread_cond_destroy(&ev->wake_cond);
    pthread_cond_destroy(&ev->batch_cond);
    pthread_mutex_destroy(&ev->tk_mtx);
    pthread_mutex_destroy(&ev->mtx);
    pthread_mutex_destroy(&ev->pub_mtx);
    free(ev);
}
