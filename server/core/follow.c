/* follow.c: the follower — every committed change of the store's change log, in id order,
 * whoever wrote it (this server's writer, another server, a command on the same database),
 * goes to the in-memory indexes, the live counts and the tile cache, and its events are
 * rendered and sent by the publisher thread (publisher.h) in the same order.
 *
 * Two paths feed it: the writer hands over the changes of each batch it committed, with the
 * rows at hand, before it answers the batch's callers (so that a caller's next read on this
 * server sees its change); and a thread of its own waits for changes committed by others
 * (hm_store_wait_changes: a notification, or a cheap look every 50 ms on SQLite) and reads
 * them back. Whichever comes first applies a change; `last` keeps every change applied once,
 * and a gap (changes of others before the writer's) is read back first. */
#include "core_int.h"

#include "cache.h"
#include "events.h"
#include "hm_buf.h"
#include "model.h"
#include "openindex.h"
#include "present.h"
#include "publisher.h"
#include "reliefindex.h"
#include "requests.h"
#include "teamindex.h"

#include "areas.h"
#include "hm_log.h"
#include "worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

void hm_core__locate_in(const hm_area_index *idx, hm_request *r)
{
    const char *codes[HM_LEVEL__COUNT] = {NULL};
    if (idx)
        hm_area_index_locate(idx, r->lon, r->lat, codes);
    snprintf(r->ward_code, sizeof r->ward_code, "%s", codes[HM_LEVEL_WARD] ? codes[0] : "");
    snprintf(r->former_ward_code, sizeof r->former_ward_code, "%s",
             codes[HM_LEVEL_FORMER_WARD] ? codes[1] : "");
    snprintf(r->hamlet_code, sizeof r->hamlet_code, "%s", codes[HM_LEVEL_HAMLET] ? codes[2] : "");
}

/* ---- publishing ---- */

/* Events take their ids from the change log: change N publishes event N * HM_EVENT_STRIDE and
 * its alert the next id, so that every server gives an event the same id and a Last-Event-ID
 * works after the balancer switches server. Events of this server alone (escalated alerts)
 * take the next free id. */
#define HM_EVENT_STRIDE 64

enum { PUB_REQUEST, PUB_CREATED, PUB_TEAM, PUB_RELIEF, PUB_ASSIGNED, PUB_FLAGGED };

typedef struct pub_item {
    hm_pub_job job;
    hm_core *core;
    int kind;
    const char *type; /* the event type */
    uint64_t id;      /* the event's id */
    hm_request req;   /* without contact data: events never carry it */
    hm_team team;     /* PUB_TEAM */
    int64_t alert[8]; /* PUB_CREATED: the teams to alert */
    size_t n_alert;
    /* PUB_REQUEST: closed by "I am safe now" just now: request.safe follows request.updated, to
     * the holding team (if any) and coordinators. */
    bool safe;
    hm_relief relief; /* PUB_RELIEF (deleted: only its id) */
} pub_item;

static void pub_run(hm_pub_job *job)
{
    pub_item *it = (pub_item *)job;
    hm_core *c = it->core;
    char *pub = NULL, *team = NULL;

    if (it->kind == PUB_TEAM) {
        json_t *o = hm_team_json(&it->team);
        team = json_dumps(o, HM_JSON_FLAGS);
        json_decref(o);
        if (team)
            hm_events_publish_id(c->events, it->id, "team.moved", NULL, team, HM_EV_COORD, NULL, 0);
    } else if (it->kind == PUB_RELIEF) {
        /* Public places: one payload for everyone. */
        json_t *o = strcmp(it->type, "point.deleted") == 0
                        ? json_pack("{s:I}", "id", (json_int_t)it->relief.id)
                        : hm_relief_json(&it->relief);
        pub = json_dumps(o, HM_JSON_FLAGS);
        json_decref(o);
        if (pub)
            hm_events_publish_id(c->events, it->id, it->type, pub, NULL, HM_EV_PUBLIC, NULL, 0);
    } else if (it->kind == PUB_FLAGGED) {
        /* Coordinators only: the delivery and the receipt side by side, the team named. */
        json_t *o = hm_core_request_json(c, &it->req, HM_VIEW_RECEIPT, false);
        json_object_set_new(o, "team_name", it->team.id ? json_string(it->team.name) : json_null());
        team = json_dumps(o, HM_JSON_FLAGS);
        json_decref(o);
        if (team)
            hm_events_publish_id(c->events, it->id, "request.flagged", NULL, team, HM_EV_COORD,
                                 NULL, 0);
    } else if (it->kind == PUB_ASSIGNED) {
        /* The team's own stream: a coordinator gave it this request (issue 14). */
        team = hm_core__request_event_text(c, &it->req, false);
        if (team && it->req.team_id > 0)
            hm_events_publish_id(c->events, it->id, "request.assigned", NULL, team, HM_EV_TARGET,
                                 &it->req.team_id, 1);
    } else {
        pub = hm_core__request_event_text(c, &it->req, true);
        team = hm_core__request_event_text(c, &it->req, false);
        /* About this request: also its resident's own stream (issue 15), with the team payload
         * (no contact data; the exact position is the resident's own). */
        hm_events_publish_about(c->events, it->id, it->req.id, it->type, pub, team, HM_EV_PUBLIC,
                                NULL, 0);
        /* An automatic duplicate is created closed: nobody is alerted. */
        if (it->kind == PUB_CREATED && it->req.status == HM_ST_NEW)
            hm_alerts__created(c, &it->req, team, it->id + 1, it->alert, it->n_alert);
        if (it->safe)
            hm_events_publish_id(c->events, it->id + 1, "request.safe", NULL, team,
                                 HM_EV_COORD | (it->req.team_id > 0 ? HM_EV_TARGET : 0),
                                 &it->req.team_id, it->req.team_id > 0 ? 1 : 0);
    }
    free(pub);
    free(team);
    free(it);
}

/* Under the follower's lock: the order of posts is the order of changes. */
static pub_item *post(hm_core *c, int kind, const char *type, int64_t change_id,
                      const hm_request *r, const hm_team *t)
{
    /* Change N publishes event N * STRIDE, its alert + 1, a team's assignment + 2, a flag
     * (after the change's request.updated) + 3. */
    int64_t sub = kind == PUB_ASSIGNED ? 2 : kind == PUB_FLAGGED ? 3 : 0;
    pub_item *it;
    if (!c->events)
        return NULL;
    it = hm_xcalloc(1, sizeof *it);
    it->job.run = pub_run;
    it->core = c;
    it->kind = kind;
    it->type = type;
    it->id = (uint64_t)change_id * HM_EVENT_STRIDE + (uint64_t)sub;
    if (r) {
        it->req = *r;
        hm_request_drop_text(&it->req);
    }
    if (t)
        it->team = *t;
    if (kind == PUB_CREATED && r->status == HM_ST_NEW)
        it->n_alert = hm_alerts__targets(c, r, it->alert);
    return it;
}

static void post_now(hm_core *c, pub_item *it)
{
    if (it)
        hm_publisher_post(c->publisher, &it->job);
}

/* ---- recording changes (writer side) ---- */

static int record_request(hm_store *st, int kind, int64_t id, const hm_request *r,
                          const hm_request *before, const hm_team *team, unsigned flags,
                          hm_error *err)
{
    hm_change ch;
    memset(&ch, 0, sizeof ch);
    ch.flags = flags;
    ch.kind = kind ? kind : before ? HM_CH_REQUEST_UPDATED : HM_CH_REQUEST_CREATED;
    ch.ref = id;
    ch.request = r;
    ch.team = team;
    ch.prev.status = -1;
    if (before) {
        ch.prev.receipt = before->receipt;
        ch.prev.status = before->status;
        ch.prev.category = before->category;
        ch.prev.status_at = before->status_at;
        ch.prev.lon = before->lon;
        ch.prev.lat = before->lat;
        memcpy(ch.prev.ward, before->ward_code, sizeof ch.prev.ward);
        memcpy(ch.prev.former_ward, before->former_ward_code, sizeof ch.prev.former_ward);
        memcpy(ch.prev.hamlet, before->hamlet_code, sizeof ch.prev.hamlet);
        ch.prev.safe = before->status == HM_ST_CANCELLED && before->safe_at > 0;
    }
    return hm_store_change_add(st, &ch, err);
}

int hm_core__record_request(hm_store *st, const hm_request *r, const hm_request *before,
                            hm_error *err)
{
    return record_request(st, 0, r->id, r, before, NULL, 0, err);
}

int hm_core__record_request_ex(hm_store *st, const hm_request *r, const hm_request *before,
                               unsigned flags, hm_error *err)
{
    return record_request(st, 0, r->id, r, before, NULL, flags, err);
}

int hm_core__record_receipt(hm_store *st, const hm_request *r, const hm_request *before,
                            const hm_team *team, hm_error *err)
{
    return record_request(st, HM_CH_RECEIPT, r->id, r, before, team, 0, err);
}

int hm_core__record_request_id(hm_store *st, int64_t id, const hm_request *before, hm_error *err)
{
    return record_request(st, 0, id, NULL, before, NULL, 0, err);
}

int hm_core__record_team(hm_store *st, const hm_team *t, bool moved, hm_error *err)
{
    hm_change ch;
    memset(&ch, 0, sizeof ch);
    ch.kind = moved ? HM_CH_TEAM_MOVED : HM_CH_TEAM;
    ch.ref = t->id;
    ch.team = t;
    return hm_store_change_add(st, &ch, err);
}

int hm_core__record_relief(hm_store *st, int what, int64_t id, const hm_relief *p, hm_error *err)
{
    hm_change ch;
    memset(&ch, 0, sizeof ch);
    ch.kind = HM_CH_RELIEF;
    ch.ref = id;
    ch.level = what;
    ch.relief = what == HM_RELIEF_DELETED ? NULL : p;
    return hm_store_change_add(st, &ch, err);
}

int hm_core__record_area(hm_store *st, int level, const char *code, hm_error *err)
{
    hm_change ch;
    memset(&ch, 0, sizeof ch);
    ch.kind = code ? HM_CH_AREA : HM_CH_RELOAD;
    ch.level = level;
    if (code)
        snprintf(ch.code, sizeof ch.code, "%s", code);
    return hm_store_change_add(st, &ch, err);
}

/* ---- applying changes ---- */

struct hm_follower {
    pthread_mutex_t mu; /* one change at a time, in id order */
    int64_t last;       /* the last change applied */
    hm_store *st;       /* the follower's own connection, under mu: changes and rows not
                           handed over */
    hm_store *wait_st;  /* the follower thread's alone, outside mu: waits for others' changes
                           (a connection is never used by two threads at once) */
    pthread_t thread;
    bool running;
    pthread_mutex_t stop_mu;
    bool stop;
};

void hm_core__locate(hm_core *c, hm_request *r)
{
    pthread_rwlock_rdlock(&c->areas_lock);
    hm_core__locate_in(c->areas, r);
    pthread_rwlock_unlock(&c->areas_lock);
}

static void request_changed(hm_core *c, const hm_change *ch, const hm_request *after)
{
    hm_tally_row now, before;

    hm_open_index_apply(c->open, after);
    hm_tally_row_of(&now, after);
    if ((ch->kind == HM_CH_REQUEST_UPDATED || ch->kind == HM_CH_RECEIPT) && ch->prev.status >= 0) {
        before = now;
        before.receipt = ch->prev.receipt;
        before.status = ch->prev.status;
        before.category = ch->prev.category;
        before.status_at = ch->prev.status_at;
        before.codes[HM_LEVEL_WARD] = ch->prev.ward;
        before.codes[HM_LEVEL_FORMER_WARD] = ch->prev.former_ward;
        before.codes[HM_LEVEL_HAMLET] = ch->prev.hamlet;
        before.safe = ch->prev.safe;
        hm_tally_move(c->tally, &before, &now);
        if (c->tiles && (ch->prev.lon != after->lon || ch->prev.lat != after->lat))
            hm_tile_cache_invalidate_point(c->tiles, hm_snap(ch->prev.lon), hm_snap(ch->prev.lat));
    } else if (ch->kind == HM_CH_REQUEST_CREATED) {
        hm_tally_move(c->tally, NULL, &now);
    }
    if (c->tiles)
        hm_tile_cache_invalidate_point(c->tiles, hm_snap(after->lon), hm_snap(after->lat));
    if (ch->kind == HM_CH_REQUEST_CREATED) {
        post_now(c, post(c, PUB_CREATED, "request.created", ch->id, after, NULL));
    } else {
        pub_item *it = post(c, PUB_REQUEST, "request.updated", ch->id, after, NULL);
        /* The move that "I am safe now" made: from an open status to cancelled and safe. */
        if (it && after->status == HM_ST_CANCELLED && after->safe_at > 0 && ch->prev.status >= 0 &&
            hm_status_is_open(ch->prev.status))
            it->safe = true;
        post_now(c, it);
        /* A coordinator's assignment, on the team's own stream (issue 14). */
        if ((ch->flags & HM_CHF_ASSIGNED) && after->team_id > 0 && after->status == HM_ST_ASSIGNED)
            post_now(c, post(c, PUB_ASSIGNED, "request.assigned", ch->id, after, NULL));
    }
}

/* A relief point changed (created, updated or deleted): the index, the points tiles, the
 * event. `p` is the point after the change (NULL: gone). */
static void relief_changed(hm_core *c, const hm_change *ch, const hm_relief *p)
{
    static const char *const types[] = {NULL, "point.created", "point.updated", "point.deleted"};
    pub_item *it;
    int what = ch->level >= HM_RELIEF_CREATED && ch->level <= HM_RELIEF_DELETED ? ch->level
                                                                                : HM_RELIEF_UPDATED;
    if (p)
        hm_relief_index_apply(c->reliefs, p);
    else
        hm_relief_index_remove(c->reliefs, ch->ref);
    if (c->tiles)
        hm_tile_cache_invalidate_layer(c->tiles, HM_TILE_POINTS);
    /* Read back after a later deletion: that deletion tells the pages. */
    if (!p && what != HM_RELIEF_DELETED)
        return;
    if ((it = post(c, PUB_RELIEF, types[what], ch->id, NULL, NULL))) {
        if (p)
            it->relief = *p;
        it->relief.id = ch->ref;
        post_now(c, it);
    }
}

/* A receipt: counted like any change; a flag goes to coordinators with the team's name (from
 * the change, or read with `st` when the change came back from the log). */
static void receipt_changed(hm_core *c, hm_store *st, const hm_change *ch, const hm_request *after)
{
    hm_team t;
    request_changed(c, ch, after);
    if (!hm_request_flagged(after))
        return;
    memset(&t, 0, sizeof t);
    if (ch->team)
        t = *ch->team;
    else if (after->team_id > 0 && hm_store_team_get(st, after->team_id, &t, NULL) != HM_OK)
        memset(&t, 0, sizeof t);
    post_now(c, post(c, PUB_FLAGGED, "request.flagged", ch->id, after, &t));
    hm_log(HM_LOG_INFO, "event=receipt_flag code=%s team_id=%lld received=%s", after->code,
           (long long)after->team_id, hm_receipt_name(after->receipt));
}

static int load_open(void *ctx, const hm_request *r)
{
    hm_open_index_apply(ctx, r);
    return 0;
}

static int load_team(void *ctx, const hm_team *t)
{
    hm_team_index_apply(ctx, t);
    return 0;
}

static int load_relief(void *ctx, const hm_relief *p)
{
    hm_relief_index_apply(ctx, p);
    return 0;
}

/* Replace the point-to-area index with the committed areas of `st`. */
static int reload_areas(hm_core *c, hm_store *st, hm_error *err)
{
    hm_area_index *idx = hm_areas_index(st, err), *old;
    if (!idx)
        return err ? err->code : HM_E_INTERNAL;
    pthread_rwlock_wrlock(&c->areas_lock);
    old = c->areas;
    c->areas = idx;
    pthread_rwlock_unlock(&c->areas_lock);
    __atomic_add_fetch(&c->areas_gen, 1, __ATOMIC_RELEASE);
    hm_area_index_destroy(old);
    return HM_OK;
}

int hm_core__load_indexes(hm_core *c, hm_store *st, hm_error *err)
{
    hm_request_filter f;
    hm_tally *t = hm_tally_create();
    int rc;

    if ((rc = reload_areas(c, st, err)) || (rc = hm_core__load_tally(t, st, err))) {
        hm_tally_destroy(t);
        return rc;
    }
    hm_tally_adopt(c->tally, t);
    hm_tally_destroy(t);
    hm_open_index_clear(c->open);
    hm_request_filter_init(&f);
    f.status_mask = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    if ((rc = hm_store_request_list(st, &f, load_open, c->open, err)))
        return rc;
    hm_team_index_clear(c->teams);
    /* Disabled teams too: their names stay on the requests they held. */
    if ((rc = hm_store_team_list(st, true, load_team, c->teams, err)))
        return rc;
    hm_relief_index_clear(c->reliefs);
    return hm_store_relief_list(st, load_relief, c->reliefs, err);
}

/* Apply `ch`, reading what it was not handed with `st`. Caller holds the follower's lock. */
static int apply(hm_core *c, hm_store *st, const hm_change *ch, hm_error *err)
{
    static const hm_tile_layer layer_of[HM_LEVEL__COUNT] = {HM_TILE_WARDS, HM_TILE_FORMER_WARDS,
                                                            HM_TILE_HAMLETS};
    int rc = HM_OK;

    switch (ch->kind) {
        case HM_CH_REQUEST_CREATED:
        case HM_CH_REQUEST_UPDATED:
        case HM_CH_RECEIPT:
            if (ch->request) {
                if (ch->kind == HM_CH_RECEIPT)
                    receipt_changed(c, st, ch, ch->request);
                else
                    request_changed(c, ch, ch->request);
            } else {
                hm_request r;
                if ((rc = hm_store_request_get_id(st, ch->ref, &r, err)))
                    return rc;
                if (ch->kind == HM_CH_RECEIPT)
                    receipt_changed(c, st, ch, &r);
                else
                    request_changed(c, ch, &r);
                hm_request_clear(&r);
            }
            break;
        case HM_CH_TEAM:
        case HM_CH_TEAM_MOVED: {
            hm_team t;
            if (!ch->team && (rc = hm_store_team_get(st, ch->ref, &t, err)))
                return rc == HM_E_NOT_FOUND ? HM_OK : rc;
            if (ch->team)
                t = *ch->team;
            hm_team_index_apply(c->teams, &t);
            if (ch->kind == HM_CH_TEAM_MOVED)
                post_now(c, post(c, PUB_TEAM, "team.moved", ch->id, NULL, &t));
            break;
        }
        case HM_CH_RELIEF: {
            hm_relief p;
            if (ch->relief) {
                relief_changed(c, ch, ch->relief);
            } else if (ch->level == HM_RELIEF_DELETED) {
                relief_changed(c, ch, NULL);
            } else {
                rc = hm_store_relief_get(st, ch->ref, &p, err);
                if (rc && rc != HM_E_NOT_FOUND)
                    return rc;
                relief_changed(c, ch, rc ? NULL : &p);
                rc = HM_OK;
            }
            break;
        }
        case HM_CH_TEAM_REVOKED:
            /* A disabled team or a rotated token: its streams and tickets end at once. */
            hm_events_end_team(c->events, ch->ref);
            break;
        case HM_CH_AREA:
            if ((rc = reload_areas(c, st, err)))
                return rc;
            if (c->tiles && ch->level >= 0 && ch->level < HM_LEVEL__COUNT)
                hm_tile_cache_invalidate_layer(c->tiles, layer_of[ch->level]);
            hm_core__places_changed(c); /* area names are searchable */
            break;
        case HM_CH_PLACES:
            hm_core__places_changed(c);
            break;
        case HM_CH_RELOAD:
            if ((rc = hm_core__load_indexes(c, st, err)))
                return rc;
            if (c->tiles)
                for (int l = 0; l < HM_TILE_LAYER__COUNT; l++)
                    hm_tile_cache_invalidate_layer(c->tiles, (hm_tile_layer)l);
            hm_core__places_changed(c);
            hm_log(HM_LOG_INFO, "event=indexes_reloaded change=%lld", (long long)ch->id);
            break;
        default:
            break; /* a kind of a newer program: nothing this one keeps */
    }
    return HM_OK;
}

typedef struct catch_up {
    hm_core *core;
    hm_store *st;
    int64_t upto; /* apply changes with id <= upto */
    hm_change *buf;
    size_t n, cap;
} catch_up;

static int collect_change(void *ctx, const hm_change *ch)
{
    catch_up *cu = ctx;
    if (ch->id > cu->upto)
        return 1;
    if (cu->n == cu->cap) {
        cu->cap = cu->cap ? cu->cap * 2 : 64;
        cu->buf = hm_xrealloc(cu->buf, cu->cap * sizeof *cu->buf);
    }
    cu->buf[cu->n++] = *ch;
    return 0;
}

/* Apply the committed changes after f->last up to `upto`, read from the follower's connection.
 * Caller holds f->mu. */
static int catch_up_locked(hm_core *c, int64_t upto, hm_error *err)
{
    struct hm_follower *f = c->follower;
    catch_up cu = {c, f->st, upto, NULL, 0, 0};
    int rc = HM_OK;

    while (f->last < upto) {
        cu.n = 0;
        rc = hm_store_changes_since(f->st, f->last, 256, collect_change, &cu, err);
        if (rc < 0 || (rc != HM_OK && rc != 1))
            break;
        rc = HM_OK;
        if (cu.n == 0)
            break;
        for (size_t i = 0; i < cu.n && rc == HM_OK; i++) {
            rc = apply(c, f->st, &cu.buf[i], err);
            if (rc == HM_OK)
                f->last = cu.buf[i].id;
        }
        if (rc)
            break;
    }
    free(cu.buf);
    hm_store_quiesce(f->st, NULL, 0);
    return rc;
}

void hm_core__committed(hm_store *st, void *core)
{
    const hm_change *list;
    size_t n = hm_store_changes_done(st, &list);
    hm_core__follow_changes(list, n, core);
}

void hm_core__follow_changes(const hm_change *list, size_t n, void *core)
{
    hm_core *c = core;
    struct hm_follower *f = c->follower;

    if (n == 0 || !f)
        return;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < n; i++) {
        hm_error err = {0};
        if (list[i].id <= f->last)
            continue; /* the follower's thread read it back first */
        if (list[i].id > f->last + 1 && catch_up_locked(c, list[i].id - 1, &err))
            hm_log(HM_LOG_WARN, "event=follow_failed change=%lld msg=\"%s\"", (long long)list[i].id,
                   err.msg);
        if (apply(c, f->st, &list[i], &err))
            hm_log(HM_LOG_WARN, "event=follow_failed change=%lld msg=\"%s\"", (long long)list[i].id,
                   err.msg);
        f->last = list[i].id;
    }
    pthread_mutex_unlock(&f->mu);
}

static bool stopping(struct hm_follower *f)
{
    bool stop;
    pthread_mutex_lock(&f->stop_mu);
    stop = f->stop;
    pthread_mutex_unlock(&f->stop_mu);
    return stop;
}

static void *follow_main(void *arg)
{
    hm_core *c = arg;
    struct hm_follower *f = c->follower;
    unsigned failures = 0;

    prctl(PR_SET_NAME, "hm-follow", 0, 0, 0);
    while (!stopping(f)) {
        hm_error err = {0};
        int rc = hm_store_wait_changes(f->wait_st, 1000, &err);
        if (rc == HM_OK) {
            pthread_mutex_lock(&f->mu);
            rc = catch_up_locked(c, INT64_MAX, &err);
            pthread_mutex_unlock(&f->mu);
        }
        if (rc) {
            if (failures++ % 60 == 0)
                hm_log(HM_LOG_WARN, "event=follow_failed msg=\"%s\"", err.msg);
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        } else {
            failures = 0;
        }
    }
    return NULL;
}

int hm_core__follow_start(hm_core *c, int64_t last, hm_error *err)
{
    struct hm_follower *f = hm_xcalloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_mutex_init(&f->stop_mu, NULL);
    f->last = last;
    if (!(f->st = hm_store_open(c->cfg.db_path, 0, err)) ||
        !(f->wait_st = hm_store_open(c->cfg.db_path, 0, err))) {
        hm_store_close(f->st);
        free(f);
        return err ? err->code : HM_E_INTERNAL;
    }
    c->follower = f;
    if (pthread_create(&f->thread, NULL, follow_main, c) != 0) {
        hm_core__follow_stop(c);
        return hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the follower thread");
    }
    f->running = true;
    return HM_OK;
}

void hm_core__follow_stop(hm_core *c)
{
    struct hm_follower *f = c->follower;
    if (!f)
        return;
    if (f->running) {
        pthread_mutex_lock(&f->stop_mu);
        f->stop = true;
        pthread_mutex_unlock(&f->stop_mu);
        pthread_join(f->thread, NULL);
    }
    c->follower = NULL;
    hm_store_close(f->st);
    hm_store_close(f->wait_st);
    pthread_mutex_destroy(&f->mu);
    pthread_mutex_destroy(&f->stop_mu);
    free(f);
}
