#include "service.h"

#include "areacount.h"
#include "cache.h"
#include "events.h"
#include "geo.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"
#include "openrec.h"
#include "present.h"
#include "publisher.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- area index ----------------------------------------------------------- */

typedef struct area_collect {
    hm_area_src *src;
    size_t n, cap;
} area_collect;

static int collect_area(void *ctx, const hm_area_row *a)
{
    area_collect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->src = hm_xrealloc(c->src, c->cap * sizeof *c->src);
    }
    unsigned char *wkb = hm_xmalloc(a->wkb_len);
    memcpy(wkb, a->wkb, a->wkb_len);
    c->src[c->n++] = (hm_area_src){(hm_level)a->level, hm_xstrdup(a->code), wkb, a->wkb_len};
    return 0;
}

hm_area_index *hm_svc_build_area_index(hm_store *st, hm_error *err)
{
    area_collect c = {0};
    hm_area_index *idx = NULL;

    if (hm_store_area_list(st, -1, collect_area, &c, err) == HM_OK)
        idx = hm_area_index_create(c.src, c.n, err);
    for (size_t i = 0; i < c.n; i++) {
        free((char *)c.src[i].code);
        free((unsigned char *)c.src[i].wkb);
    }
    free(c.src);
    return idx;
}

static void locate(const hm_area_index *idx, hm_request *r)
{
    const char *codes[HM_LEVEL__COUNT] = {NULL};
    if (idx)
        hm_area_index_locate(idx, r->lon, r->lat, codes);
    snprintf(r->ward_code, sizeof r->ward_code, "%s", codes[HM_LEVEL_WARD] ? codes[0] : "");
    snprintf(r->former_ward_code, sizeof r->former_ward_code, "%s",
             codes[HM_LEVEL_FORMER_WARD] ? codes[1] : "");
    snprintf(r->hamlet_code, sizeof r->hamlet_code, "%s", codes[HM_LEVEL_HAMLET] ? codes[2] : "");
}

/* ---- events and alerts ------------------------------------------------------------ */

/* The writer thread decides what to publish after each commit; the publisher thread
 * (publisher.h) renders it and hands it to the hub, in commit order. A new request also
 * alerts the nearest available teams from there, and is remembered for escalation. */

/* New requests waiting for escalation, oldest first: records of alert_stride int64 each —
 * request id, creation time (ms), how many teams were alerted, their ids (alert_teams of them
 * at most). Appended by the publisher thread, taken from the front by the writer's tick, under
 * alerts_mu. Compact because every new request has one for 10 minutes (issue 7: memory). */
static pthread_mutex_t alerts_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t *alerts;
static size_t alerts_head, alerts_tail, alerts_cap; /* records; [head, tail) are waiting */
static size_t alert_stride;                         /* fixed by the first record */

static void alerts_push(int64_t request_id, int64_t created_ms, const int64_t *teams, size_t n,
                        size_t want)
{
    int64_t *rec;
    pthread_mutex_lock(&alerts_mu);
    if (!alert_stride)
        alert_stride = 3 + want;
    if (n > alert_stride - 3)
        n = alert_stride - 3;
    if (alerts_tail == alerts_cap) {
        if (alerts_head > alerts_cap / 2) {
            memmove(alerts, alerts + alerts_head * alert_stride,
                    (alerts_tail - alerts_head) * alert_stride * sizeof *alerts);
        } else {
            alerts_cap = alerts_cap ? alerts_cap * 2 : 256;
            int64_t *grown = hm_xmalloc(alerts_cap * alert_stride * sizeof *alerts);
            if (alerts_tail > alerts_head)
                memcpy(grown, alerts + alerts_head * alert_stride,
                       (alerts_tail - alerts_head) * alert_stride * sizeof *alerts);
            free(alerts);
            alerts = grown;
        }
        alerts_tail -= alerts_head;
        alerts_head = 0;
    }
    rec = alerts + alerts_tail++ * alert_stride;
    rec[0] = request_id;
    rec[1] = created_ms;
    rec[2] = (int64_t)n;
    memcpy(rec + 3, teams, n * sizeof *teams);
    pthread_mutex_unlock(&alerts_mu);
}

typedef struct team_filter_ctx {
    int64_t now;
} team_filter_ctx;

static int available_fresh(void *ctx, const hm_point_hit *p)
{
    team_filter_ctx *f = ctx;
    return p->tag == HM_TEAM_AVAILABLE && f->now - p->aux <= 30 * 60 * 1000;
}

/* The nearest available teams to a point, skipping `skip`; ids into out. */
static size_t nearest_teams(hm_core *app, double lon, double lat, size_t want, const int64_t *skip,
                            size_t n_skip, int64_t *out)
{
    hm_point_hit hits[32];
    team_filter_ctx f = {hm_now_ms()};
    size_t n =
        hm_pointindex_nearest(app->team_positions, lon, lat, 0,
                              want + n_skip < 32 ? want + n_skip : 32, available_fresh, &f, hits);
    size_t k = 0;
    for (size_t i = 0; i < n && k < want; i++) {
        bool skipped = false;
        for (size_t j = 0; j < n_skip; j++)
            if (skip[j] == hits[i].id)
                skipped = true;
        if (!skipped)
            out[k++] = hits[i].id;
    }
    return k;
}

enum { PUB_REQUEST, PUB_CREATED, PUB_ALERT, PUB_TEAM };

typedef struct pub_item {
    hm_pub_job job;
    hm_core *app;
    int kind;
    const char *type; /* PUB_REQUEST: the event type */
    hm_request req;   /* without contact data: events never carry it */
    hm_team team;     /* PUB_TEAM */
    int64_t teams[8]; /* PUB_ALERT: who */
    size_t n_teams;
} pub_item;

static void pub_run(hm_pub_job *job)
{
    pub_item *it = (pub_item *)job;
    hm_core *app = it->app;
    char *pub = NULL, *team = NULL;

    switch (it->kind) {
        case PUB_REQUEST:
        case PUB_CREATED:
            pub = hm_request_event_text(&it->req, true);
            team = hm_request_event_text(&it->req, false);
            hm_events_publish(app->events, it->type, pub, team, HM_EV_PUBLIC, NULL, 0);
            if (it->kind == PUB_CREATED) {
                int64_t first[8];
                size_t want = app->cfg.alert_teams > 0 ? (size_t)app->cfg.alert_teams : 3;
                size_t n;
                if (want > 8)
                    want = 8;
                n = nearest_teams(app, it->req.lon, it->req.lat, want, NULL, 0, first);
                if (n > 0)
                    hm_events_publish(app->events, "request.alert", NULL, team, HM_EV_TARGET, first,
                                      n);
                alerts_push(it->req.id, it->req.created_at, first, n, want);
            }
            break;
        case PUB_ALERT:
            team = hm_request_event_text(&it->req, false);
            hm_events_publish(app->events, "request.alert", NULL, team, HM_EV_TARGET, it->teams,
                              it->n_teams);
            break;
        case PUB_TEAM: {
            json_t *o = hm_team_json(&it->team);
            team = json_dumps(o, HM_JSON_FLAGS);
            json_decref(o);
            if (team)
                hm_events_publish(app->events, "team.moved", NULL, team, HM_EV_COORD, NULL, 0);
            break;
        }
    }
    free(pub);
    free(team);
    free(it);
}

static pub_item *pub_item_new(hm_core *app, int kind, const hm_request *r)
{
    pub_item *it = hm_xcalloc(1, sizeof *it);
    it->job.run = pub_run;
    it->app = app;
    it->kind = kind;
    if (r) {
        it->req = *r;
        it->req.note = it->req.name = it->req.address = it->req.phone = NULL;
    }
    return it;
}

/* Writer thread (and start-up) only: the order of posts is the order of commits. */
static void publish_request(hm_core *app, const char *type, const hm_request *r)
{
    pub_item *it;
    if (!app->events)
        return;
    it = pub_item_new(app, PUB_REQUEST, r);
    it->type = type;
    hm_publisher_post(app->publisher, &it->job);
}

static void send_alert(hm_core *app, const hm_request *r, const int64_t *teams, size_t n)
{
    pub_item *it;
    if (!app->events || n == 0)
        return;
    it = pub_item_new(app, PUB_ALERT, r);
    memcpy(it->teams, teams, n * sizeof *teams);
    it->n_teams = n;
    hm_publisher_post(app->publisher, &it->job);
}

/* request.created, then request.alert to the nearest available teams. */
static void publish_created(hm_core *app, const hm_request *r)
{
    pub_item *it;
    if (!app->events)
        return;
    it = pub_item_new(app, PUB_CREATED, r);
    it->type = "request.created";
    hm_publisher_post(app->publisher, &it->job);
}

/* ---- open requests held per team ---------------------------------------------------- */

/* How many open requests each team holds (assigned or in progress), kept with the
 * open-request index: /responders reads it instead of counting rows for every candidate
 * (issue 7). Changed by the writer thread (and at start-up), read by any thread, under
 * held_mu. Open addressing on team ids; a team that holds none keeps a zero. */
typedef struct held_slot {
    int64_t team; /* 0: empty */
    int64_t n;
} held_slot;

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static held_slot *held;
static size_t held_cap, held_used;

static bool holds(const hm_request *r)
{
    return r->team_id > 0 && (r->status == HM_ST_ASSIGNED || r->status == HM_ST_IN_PROGRESS);
}

/* The slot of `team`, added when `add`; NULL when absent. Caller holds held_mu. */
static held_slot *held_find(int64_t team, bool add)
{
    size_t i;
    if (add && (held_used + 1) * 2 > held_cap) {
        held_slot *old = held;
        size_t old_cap = held_cap;
        held_cap = held_cap ? held_cap * 2 : 1024;
        held = hm_xcalloc(held_cap, sizeof *held);
        held_used = 0;
        for (size_t k = 0; k < old_cap; k++)
            if (old[k].team)
                *held_find(old[k].team, true) = old[k];
        free(old);
    }
    if (held_cap == 0)
        return NULL;
    for (i = (size_t)((uint64_t)team * 0x9E3779B97F4A7C15ULL >> 17) & (held_cap - 1);;
         i = (i + 1) & (held_cap - 1)) {
        if (held[i].team == team)
            return &held[i];
        if (held[i].team == 0) {
            if (!add)
                return NULL;
            held[i].team = team;
            held_used++;
            return &held[i];
        }
    }
}

static void held_add(int64_t team, int64_t delta)
{
    pthread_mutex_lock(&held_mu);
    held_find(team, true)->n += delta;
    pthread_mutex_unlock(&held_mu);
}

int64_t hm_svc_team_held(hm_core *app, int64_t team_id)
{
    held_slot *s;
    int64_t n;
    if (hm_pointindex_data_size(app->open_requests) != sizeof(hm_open_rec))
        return -1;
    pthread_mutex_lock(&held_mu);
    s = held_find(team_id, false);
    n = s ? s->n : 0;
    pthread_mutex_unlock(&held_mu);
    return n;
}

/* hm_request_source over every request of store `src`. */
static int every_request(void *src, hm_request_cb cb, void *cb_ctx, hm_error *err)
{
    hm_request_filter f;
    memset(&f, 0, sizeof f);
    f.category = -1;
    f.verified = -1;
    return hm_store_request_list(src, &f, cb, cb_ctx, err);
}

/* ---- index maintenance ------------------------------------------------------------ */

/* Put `r` in the open-request index with its data: every field but the contact data, which
 * stays in the database (issue 7: nearby, lists and tiles answer from memory). */
static void index_put(hm_core *app, const hm_request *r)
{
    hm_open_rec o;
    hm_open_rec_pack(&o, r);
    hm_pointindex_put_data(app->open_requests, r->id, r->lon, r->lat, r->category, r->team_id, &o);
}

static void index_request(hm_core *app, const hm_request *r)
{
    hm_open_rec old;
    if (hm_pointindex_get_data(app->open_requests, r->id, &old) && old.team_id > 0 &&
        (old.status == HM_ST_ASSIGNED || old.status == HM_ST_IN_PROGRESS))
        held_add(old.team_id, -1);
    if (hm_status_is_open(r->status)) {
        index_put(app, r);
        if (holds(r))
            held_add(r->team_id, 1);
    } else {
        hm_pointindex_remove(app->open_requests, r->id);
    }
    if (app->tiles)
        hm_tile_cache_invalidate_point(app->tiles, hm_snap(r->lon), hm_snap(r->lat));
}

/* Move the tally for a status change of `r` (now in its new status). */
static void tally_status_move(hm_core *app, const hm_request *r, int old_status,
                              int64_t old_status_at)
{
    hm_tally_row before, after;
    if (!app->tally)
        return;
    hm_tally_row_of(&after, r);
    before = after;
    before.status = old_status;
    before.status_at = old_status_at;
    hm_tally_move(app->tally, &before, &after);
}

static int load_open(void *ctx, const hm_request *r)
{
    index_put(ctx, r);
    if (holds(r))
        held_add(r->team_id, 1);
    return 0;
}

static int load_team(void *ctx, const hm_team *t)
{
    hm_core *app = ctx;
    if (t->has_pos && t->role == HM_ROLE_VOLUNTEER)
        hm_pointindex_put(app->team_positions, t->id, t->lon, t->lat, t->status, t->pos_at);
    return 0;
}

int hm_svc_load(hm_core *app, hm_store *st, hm_error *err)
{
    hm_request_filter f;
    int rc;

    app->areas = hm_svc_build_area_index(st, err);
    if (!app->areas)
        return err ? err->code : HM_E_INTERNAL;
    if (app->tally && (rc = hm_tally_load(app->tally, every_request, st, err)) != HM_OK)
        return rc;
    memset(&f, 0, sizeof f);
    f.category = -1;
    f.verified = -1;
    f.status_mask = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    if ((rc = hm_store_request_list(st, &f, load_open, app, err)) != HM_OK)
        return rc;
    return hm_store_team_list(st, false, load_team, app, err);
}

/* ---- create ---------------------------------------------------------------------- */

typedef struct dup_search {
    const hm_request *want;
    hm_request found;
    bool hit;
} dup_search;

static int dup_visit(void *ctx, const hm_request *r)
{
    dup_search *d = ctx;
    if (r->category != d->want->category)
        return 0;
    if (hm_geo_distance_m(r->lon, r->lat, d->want->lon, d->want->lat) > 200.0)
        return 0;
    d->found = *r;
    d->found.note = d->found.name = d->found.address = d->found.phone = NULL;
    d->hit = true;
    return 1;
}

static int area_rep(void *ctx, const hm_area_row *a)
{
    hm_request *r = ctx;
    r->lon = a->rep_lon;
    r->lat = a->rep_lat;
    return 0;
}

static int area_parent(void *ctx, const hm_area_row *a)
{
    char *parent = ctx;
    snprintf(parent, 40, "%s", a->parent_code);
    return 0;
}

static int create_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_svc_create *c = (hm_svc_create *)job;
    hm_request *r = &c->req;
    hm_request_filter f;
    dup_search d;
    int rc;

    if (c->by_address) {
        const bool hamlet = c->want_hamlet[0] != '\0';
        char parent[40] = "";
        if (hamlet) {
            if (hm_store_area_get(st, HM_LEVEL_HAMLET, c->want_hamlet, area_parent, parent, NULL))
                return hm_error_set(err, HM_E_INVALID_FIELD, "hamlet_code",
                                    "no hamlet has this code");
            if (strcmp(parent, c->want_ward) != 0)
                return hm_error_set(err, HM_E_INVALID_FIELD, "hamlet_code",
                                    "this hamlet is not in the commune given");
        }
        rc = hamlet ? hm_store_area_get(st, HM_LEVEL_HAMLET, c->want_hamlet, area_rep, r, NULL)
                    : hm_store_area_get(st, HM_LEVEL_WARD, c->want_ward, area_rep, r, NULL);
        if (rc)
            return hm_error_set(err, HM_E_INVALID_FIELD, "ward_code", "no commune has this code");
        locate(c->app->areas, r);
        snprintf(r->ward_code, sizeof r->ward_code, "%s", c->want_ward);
        if (hamlet)
            snprintf(r->hamlet_code, sizeof r->hamlet_code, "%s", c->want_hamlet);
    } else {
        locate(c->app->areas, r);
        if (!r->ward_code[0])
            return hm_error_set(err, HM_E_OUTSIDE_AREA, "lat",
                                "this place is outside the service area; call the 1022 hotline");
    }

    /* SPEC: same phone, same category, within 200 m of one of that phone's
     * open requests of the last 24 h is a duplicate. */
    if (r->phone) {
        memset(&f, 0, sizeof f);
        f.category = -1;
        f.verified = -1;
        f.phone = r->phone;
        f.created_since_ms = r->created_at - 24 * 3600 * 1000LL;
        f.status_mask = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
        memset(&d, 0, sizeof d);
        d.want = r;
        rc = hm_store_request_list(st, &f, dup_visit, &d, err);
        if (rc != HM_OK && rc != 1)
            return rc;
        if (d.hit) {
            rc = hm_store_history_append(st, d.found.id, r->created_at, "resident", -1, -1,
                                         r->note ? r->note : "repeated request", "note", err);
            if (rc)
                return rc;
            hm_request_clear(r);
            *r = d.found;
            c->duplicate = true;
            return HM_OK;
        }
    }

    for (int attempt = 0;; attempt++) {
        hm_error e2 = {0};
        hm_code_generate(c->app->cfg.code_prefix, r->code, sizeof r->code);
        rc = hm_store_request_insert(st, r, c->token_hash, &e2);
        if (rc == HM_E_IN_USE && attempt < 8)
            continue;
        if (rc) {
            *err = e2;
            return rc;
        }
        break;
    }
    return hm_store_history_append(st, r->id, r->created_at,
                                   r->source == HM_SRC_WEB ? "resident" : "hotline", -1, HM_ST_NEW,
                                   NULL, "status", err);
}

static void create_after(hm_job *job)
{
    hm_svc_create *c = (hm_svc_create *)job;
    if (c->duplicate)
        return;
    index_request(c->app, &c->req);
    if (c->app->tally) {
        hm_tally_row now;
        hm_tally_row_of(&now, &c->req);
        hm_tally_move(c->app->tally, NULL, &now);
    }
    publish_created(c->app, &c->req);
}

void hm_svc_create_init(hm_svc_create *c, hm_core *app)
{
    memset(c, 0, sizeof *c);
    c->app = app;
    c->job.run = create_run;
    c->job.after = create_after;
}

void hm_svc_create_clear(hm_svc_create *c)
{
    hm_request_clear(&c->req);
}

/* ---- status changes --------------------------------------------------------------- */

static void team_busy_update(hm_core *app, hm_store *st, int64_t team_id, bool took)
{
    hm_team t;
    int64_t open = 0;
    if (team_id <= 0 || hm_store_team_get(st, team_id, &t, NULL) != HM_OK)
        return;
    if (took && t.status == HM_TEAM_AVAILABLE) {
        hm_store_team_set_status(st, team_id, HM_TEAM_BUSY, NULL);
        t.status = HM_TEAM_BUSY;
    } else if (!took && t.status == HM_TEAM_BUSY &&
               hm_store_team_open_count(st, team_id, &open, NULL) == HM_OK && open == 0) {
        hm_store_team_set_status(st, team_id, HM_TEAM_AVAILABLE, NULL);
        t.status = HM_TEAM_AVAILABLE;
    } else {
        return;
    }
    if (t.has_pos && t.role == HM_ROLE_VOLUNTEER)
        hm_pointindex_put(app->team_positions, t.id, t.lon, t.lat, t.status, t.pos_at);
}

static int change_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_svc_change *c = (hm_svc_change *)job;
    hm_request *r = &c->result;
    unsigned actor = c->actor;
    int64_t team = 0, now = hm_now_ms();
    int rc, from;

    if ((rc = hm_store_request_get(st, c->code, r, NULL, err)) != HM_OK)
        return rc;
    from = r->status;
    c->before_status = from;
    c->before_status_at = r->status_at;
    if (c->claim) {
        if (from != HM_ST_NEW)
            return hm_error_set(
                err,
                from == HM_ST_ASSIGNED || from == HM_ST_IN_PROGRESS ? HM_E_ALREADY_CLAIMED
                                                                    : HM_E_INVALID_TRANSITION,
                "status", "this request is %s; it cannot be claimed", hm_status_name(from));
        actor = HM_ACT_HOLDER;
    } else if ((actor & HM_ACT_HOLDER) && r->team_id != c->actor_team) {
        /* A volunteer acts only on what its own team holds. */
        actor &= ~HM_ACT_HOLDER;
        if (!actor)
            return hm_error_set(err, HM_E_FORBIDDEN, NULL, "your team does not hold this request");
    }
    if ((rc = hm_transition_check(from, c->to, actor, err)) != HM_OK)
        return rc;
    /* The holding team stays on record through in_progress and resolved
     * (and a cancellation), and leaves when the request opens again. */
    if (c->to == HM_ST_ASSIGNED)
        team = c->assign_team;
    else if (c->to != HM_ST_NEW && c->to != HM_ST_DUPLICATE)
        team = r->team_id;
    if (c->to == HM_ST_DUPLICATE) {
        hm_request other;
        if (!c->duplicate_of[0])
            return hm_error_set(err, HM_E_INVALID_FIELD, "duplicate_of",
                                "duplicate_of must name the other request's code");
        if (strcmp(c->duplicate_of, r->code) == 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "duplicate_of",
                                "a request cannot duplicate itself");
        if (hm_store_request_get(st, c->duplicate_of, &other, NULL, NULL) != HM_OK)
            return hm_error_set(err, HM_E_INVALID_FIELD, "duplicate_of",
                                "no request has the code given in duplicate_of");
        hm_request_clear(&other);
    }
    if (c->to == HM_ST_ASSIGNED && team != r->team_id) {
        int64_t open = 0;
        if (team <= 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "team_id", "team_id is required");
        if ((rc = hm_store_team_open_count(st, team, &open, err)) != HM_OK)
            return rc;
        if (c->claim_cap > 0 && open >= c->claim_cap)
            return hm_error_set(err, HM_E_CLAIM_LIMIT, "team_id",
                                "the team already holds %lld open requests (the limit is %d)",
                                (long long)open, c->claim_cap);
    }
    rc = hm_store_request_set_status(st, r->id, from, c->to, team,
                                     c->to == HM_ST_DUPLICATE ? c->duplicate_of : NULL, now, err);
    if (rc)
        return rc;
    rc =
        hm_store_history_append(st, r->id, now, c->actor_name, from, c->to, c->note, "status", err);
    if (rc)
        return rc;
    {
        int64_t old_team = r->team_id;
        r->status = c->to;
        r->team_id = team;
        r->updated_at = r->status_at = now;
        if (c->to == HM_ST_DUPLICATE)
            snprintf(r->duplicate_of, sizeof r->duplicate_of, "%s", c->duplicate_of);
        else
            r->duplicate_of[0] = '\0';
        if (team != old_team) {
            team_busy_update(c->app, st, team, true);
            team_busy_update(c->app, st, old_team, false);
        } else if (!hm_status_is_open(c->to)) {
            team_busy_update(c->app, st, old_team, false);
        }
    }
    return HM_OK;
}

static void change_after(hm_job *job)
{
    hm_svc_change *c = (hm_svc_change *)job;
    index_request(c->app, &c->result);
    tally_status_move(c->app, &c->result, c->before_status, c->before_status_at);
    publish_request(c->app, "request.updated", &c->result);
}

void hm_svc_change_init(hm_svc_change *c, hm_core *app, const char *code, int to)
{
    memset(c, 0, sizeof *c);
    c->app = app;
    snprintf(c->code, sizeof c->code, "%s", code);
    c->to = to;
    c->claim_cap = app->cfg.claim_cap;
    c->job.run = change_run;
    c->job.after = change_after;
}

void hm_svc_change_clear(hm_svc_change *c)
{
    hm_request_clear(&c->result);
    free(c->note);
    c->note = NULL;
}

/* ---- simple jobs ------------------------------------------------------------------------ */

static int verify_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_svc_simple *s = (hm_svc_simple *)job;
    int64_t now = hm_now_ms();
    int rc = hm_store_request_set_verified(st, s->request_id, now, err);
    if (!rc)
        rc = hm_store_history_append(st, s->request_id, now, s->actor_name, -1, -1,
                                     "verified by call-back", "verify", err);
    if (!rc)
        rc = hm_store_request_get_id(st, s->request_id, &s->result, err);
    return rc;
}

static void verify_after(hm_job *job)
{
    hm_svc_simple *s = (hm_svc_simple *)job;
    index_request(s->app, &s->result); /* `verified` is in the index's copy and in tiles */
    publish_request(s->app, "request.updated", &s->result);
}

void hm_svc_verify_init(hm_svc_simple *s, hm_core *app, int64_t request_id, const char *actor)
{
    memset(s, 0, sizeof *s);
    s->app = app;
    s->request_id = request_id;
    snprintf(s->actor_name, sizeof s->actor_name, "%s", actor);
    s->job.run = verify_run;
    s->job.after = verify_after;
}

static int reveal_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_svc_simple *s = (hm_svc_simple *)job;
    int64_t now = hm_now_ms();
    for (size_t i = 0; i < s->n_ids; i++) {
        bool seen = false;
        int rc = hm_store_reveal_seen(st, s->ids[i], s->actor_name, now - 24 * 3600 * 1000LL, &seen,
                                      err);
        if (rc)
            return rc;
        if (!seen &&
            (rc = hm_store_history_append(st, s->ids[i], now, s->actor_name, -1, -1,
                                          "contact details viewed", "reveal", err)) != HM_OK)
            return rc;
    }
    return HM_OK;
}

void hm_svc_reveal_init(hm_svc_simple *s, hm_core *app, const int64_t *ids, size_t n,
                        const char *actor)
{
    memset(s, 0, sizeof *s);
    s->app = app;
    s->ids = hm_xmalloc((n ? n : 1) * sizeof *ids);
    memcpy(s->ids, ids, n * sizeof *ids);
    s->n_ids = n;
    snprintf(s->actor_name, sizeof s->actor_name, "%s", actor);
    s->job.run = reveal_run;
}

void hm_svc_publish_team(hm_core *app, const hm_team *t)
{
    pub_item *it;
    if (!app->events)
        return;
    it = pub_item_new(app, PUB_TEAM, NULL);
    it->team = *t;
    hm_publisher_post(app->publisher, &it->job);
}

static int team_location_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_svc_simple *s = (hm_svc_simple *)job;
    int rc = hm_store_team_set_position(st, s->team_id, s->lon, s->lat, hm_now_ms(), err);
    if (!rc)
        rc = hm_store_team_get(st, s->team_id, &s->team, err);
    return rc;
}

static int team_status_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_svc_simple *s = (hm_svc_simple *)job;
    int rc = hm_store_team_set_status(st, s->team_id, s->status, err);
    if (!rc)
        rc = hm_store_team_get(st, s->team_id, &s->team, err);
    return rc;
}

static void team_after(hm_job *job)
{
    hm_svc_simple *s = (hm_svc_simple *)job;
    /* Only volunteer teams answer requests: the responder index holds them alone. */
    if (s->team.has_pos && s->team.role == HM_ROLE_VOLUNTEER)
        hm_pointindex_put(s->app->team_positions, s->team.id, s->team.lon, s->team.lat,
                          s->team.status, s->team.pos_at);
    hm_svc_publish_team(s->app, &s->team);
}

void hm_svc_team_location_init(hm_svc_simple *s, hm_core *app, int64_t team_id, double lon,
                               double lat)
{
    memset(s, 0, sizeof *s);
    s->app = app;
    s->team_id = team_id;
    s->lon = lon;
    s->lat = lat;
    s->job.run = team_location_run;
    s->job.after = team_after;
}

void hm_svc_team_status_init(hm_svc_simple *s, hm_core *app, int64_t team_id, int status)
{
    memset(s, 0, sizeof *s);
    s->app = app;
    s->team_id = team_id;
    s->status = status;
    s->job.run = team_status_run;
    s->job.after = team_after;
}

void hm_svc_simple_clear(hm_svc_simple *s)
{
    hm_request_clear(&s->result);
    free(s->ids);
    s->ids = NULL;
}

/* ---- areas ----------------------------------------------------------------------------- */

typedef struct reassign_ctx {
    const hm_area_index *idx;
    hm_store *st;
    int64_t moved;
    int rc;
    hm_error *err;
    int64_t *ids;
    char (*codes)[3][40];
    size_t n, cap;
} reassign_ctx;

/* `r` with the area codes it gets from `idx` after a change of areas, into `t` (a shallow
 * copy: borrows r's strings): those of its position, except that an address request keeps
 * the commune and hamlet it was given. */
static void relocate(const hm_area_index *idx, const hm_request *r, hm_request *t)
{
    *t = *r;
    locate(idx, t);
    if (r->precision == HM_PREC_ADDRESS) {
        snprintf(t->ward_code, sizeof t->ward_code, "%s", r->ward_code);
        if (r->hamlet_code[0])
            snprintf(t->hamlet_code, sizeof t->hamlet_code, "%s", r->hamlet_code);
    }
}

/* The open-request index's copies follow the reassignment in the database. */
static void relocate_open(void *ctx, int64_t id, void *data)
{
    hm_open_rec *o = data;
    hm_request r, t;
    (void)id;
    hm_open_rec_unpack(o, &r);
    relocate(ctx, &r, &t);
    o->ward = hm_code_intern(t.ward_code);
    o->former_ward = hm_code_intern(t.former_ward_code);
    o->hamlet = hm_code_intern(t.hamlet_code);
}

static int reassign_visit(void *ctx, const hm_request *r)
{
    reassign_ctx *c = ctx;
    hm_request t;
    relocate(c->idx, r, &t);
    if (strcmp(t.ward_code, r->ward_code) == 0 &&
        strcmp(t.former_ward_code, r->former_ward_code) == 0 &&
        strcmp(t.hamlet_code, r->hamlet_code) == 0)
        return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->ids = hm_xrealloc(c->ids, c->cap * sizeof *c->ids);
        c->codes = hm_xrealloc(c->codes, c->cap * sizeof *c->codes);
    }
    c->ids[c->n] = r->id;
    snprintf(c->codes[c->n][0], 40, "%s", t.ward_code);
    snprintf(c->codes[c->n][1], 40, "%s", t.former_ward_code);
    snprintf(c->codes[c->n][2], 40, "%s", t.hamlet_code);
    c->n++;
    return 0;
}

static int reassign_bbox(hm_store *st, const hm_area_index *idx, const double *bbox, int64_t *moved,
                         hm_error *err)
{
    reassign_ctx c;
    hm_request_filter f;
    int rc;

    memset(&c, 0, sizeof c);
    c.idx = idx;
    memset(&f, 0, sizeof f);
    f.category = -1;
    f.verified = -1;
    if (bbox) {
        f.has_bbox = true;
        memcpy(f.bbox, bbox, sizeof f.bbox);
    }
    /* Collect first: updating rows while a statement walks them is unsafe. */
    rc = hm_store_request_list(st, &f, reassign_visit, &c, err);
    for (size_t i = 0; rc == HM_OK && i < c.n; i++)
        rc = hm_store_request_set_areas(st, c.ids[i], c.codes[i][0], c.codes[i][1], c.codes[i][2],
                                        err);
    if (rc == HM_OK)
        *moved += (int64_t)c.n;
    free(c.ids);
    free(c.codes);
    return rc;
}

int hm_svc_reassign_all(hm_store *st, const hm_area_index *idx, int64_t *moved, hm_error *err)
{
    *moved = 0;
    return reassign_bbox(st, idx, NULL, moved, err);
}

typedef struct area_bbox_ctx {
    double bbox[4];
    bool found;
} area_bbox_ctx;

static int area_bbox(void *ctx, const hm_area_row *a)
{
    area_bbox_ctx *b = ctx;
    memcpy(b->bbox, a->bbox, sizeof b->bbox);
    b->found = true;
    return 0;
}

static hm_area_index *pending_index; /* built in run, swapped in after (writer thread) */
static hm_tally *pending_tally;      /* likewise: counts under the new areas */

static int area_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_svc_area *a = (hm_svc_area *)job;
    area_bbox_ctx old = {{0}, false};
    double bbox[4];
    int rc;

    hm_store_area_get(st, a->level, a->area.code, area_bbox, &old, NULL);
    if (a->remove) {
        int64_t n = 0;
        if (!old.found)
            return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no %s area with code %s",
                                hm_level_name(a->level), a->area.code);
        if ((rc = hm_store_area_request_count(st, a->level, a->area.code, &n, err)) != HM_OK)
            return rc;
        if (n > 0 && !a->reassign)
            return hm_error_set(err, HM_E_IN_USE, NULL,
                                "%lld requests point to this area; add ?reassign=true to delete "
                                "it and reassign them",
                                (long long)n);
        if ((rc = hm_store_area_delete(st, a->level, a->area.code, err)) != HM_OK)
            return rc;
        memcpy(bbox, old.bbox, sizeof bbox);
    } else {
        if ((rc = hm_store_area_upsert(st, a->level, &a->area, err)) != HM_OK)
            return rc;
        memcpy(bbox, a->area.bbox, sizeof bbox);
        if (old.found) {
            bbox[0] = fmin(bbox[0], old.bbox[0]);
            bbox[1] = fmin(bbox[1], old.bbox[1]);
            bbox[2] = fmax(bbox[2], old.bbox[2]);
            bbox[3] = fmax(bbox[3], old.bbox[3]);
        }
    }
    hm_area_index_destroy(pending_index);
    pending_index = hm_svc_build_area_index(st, err);
    if (!pending_index)
        return err ? err->code : HM_E_INTERNAL;
    if ((rc = reassign_bbox(st, pending_index, bbox, &a->moved, err)) != HM_OK)
        return rc;
    if (a->app->tally) {
        if (!pending_tally)
            pending_tally = hm_tally_create();
        rc = hm_tally_load(pending_tally, every_request, st, err);
    }
    return rc;
}

static void area_after(hm_job *job)
{
    hm_svc_area *a = (hm_svc_area *)job;
    /* The index changes only with the committed areas: inserts are run by
     * this same thread, so none sees half an update. */
    hm_area_index_destroy(a->app->areas);
    a->app->areas = pending_index;
    pending_index = NULL;
    if (a->app->tally && pending_tally)
        hm_tally_adopt(a->app->tally, pending_tally);
    hm_pointindex_update_all(a->app->open_requests, relocate_open, a->app->areas);
    if (a->app->tiles) {
        static const hm_tile_layer layer_of[HM_LEVEL__COUNT] = {HM_TILE_WARDS, HM_TILE_FORMER_WARDS,
                                                                HM_TILE_HAMLETS};
        hm_tile_cache_invalidate_layer(a->app->tiles, layer_of[a->level]);
        hm_tile_cache_invalidate_layer(a->app->tiles, HM_TILE_REQUESTS);
    }
}

void hm_svc_area_init(hm_svc_area *a, hm_core *app, hm_level level)
{
    memset(a, 0, sizeof *a);
    a->app = app;
    a->level = level;
    a->area.pop = -1;
    a->job.run = area_run;
    a->job.after = area_after;
    a->job.exclusive = true;
}

void hm_svc_area_clear(hm_svc_area *a)
{
    hm_area_clear(&a->area);
    hm_area_index_destroy(pending_index);
    pending_index = NULL;
}

/* ---- open requests from memory -------------------------------------------------------------- */

typedef struct open_walk {
    const hm_request_filter *f;
    unsigned mask;
    hm_request_cb cb;
    void *ctx;
    int rc;
    int64_t *ids; /* ordered walks: the ids that pass */
    size_t n, cap;
} open_walk;

static int open_match(void *ctx, const hm_point_hit *p)
{
    const open_walk *w = ctx;
    const hm_request_filter *f = w->f;
    const hm_open_rec *r = p->data;
    return r && (w->mask & (1u << r->status)) && (f->category < 0 || r->category == f->category) &&
           (!f->ward_code || strcmp(hm_code_of(r->ward), f->ward_code) == 0) &&
           r->updated_at >= f->since_ms && r->id > f->after_id &&
           (f->team_id <= 0 || r->team_id == f->team_id) &&
           (f->verified < 0 || (int)r->verified == f->verified);
}

static int open_visit(void *ctx, const hm_point_hit *p)
{
    open_walk *w = ctx;
    hm_request r;
    if (w->ids) {
        if (w->n == w->cap) {
            w->cap *= 2;
            w->ids = hm_xrealloc(w->ids, w->cap * sizeof *w->ids);
        }
        w->ids[w->n++] = p->id;
        return 0;
    }
    hm_open_rec_unpack(p->data, &r);
    return w->rc = w->cb(w->ctx, &r);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int hm_svc_open_list(hm_core *app, const hm_request_filter *f, bool ordered, hm_request_cb cb,
                     void *ctx)
{
    const unsigned open = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    static const double world[4] = {-180, -90, 180, 90};
    open_walk w = {f, f->status_mask, cb, ctx, 0, NULL, 0, 0};
    size_t shown = 0;

    if (f->phone || w.mask == 0 || (w.mask & ~open) ||
        hm_pointindex_data_size(app->open_requests) != sizeof(hm_open_rec))
        return HM_E_NOT_FOUND;
    if (!ordered) {
        /* Tiles usually ask for every open request: then no point needs a test. */
        bool all = w.mask == open && f->category < 0 && !f->ward_code && f->since_ms <= 0 &&
                   f->after_id <= 0 && f->team_id <= 0 && f->verified < 0;
        hm_pointindex_within(app->open_requests, f->has_bbox ? f->bbox : world,
                             all ? NULL : open_match, open_visit, &w);
        return w.rc;
    }
    w.cap = 256;
    w.ids = hm_xmalloc(w.cap * sizeof *w.ids);
    hm_pointindex_within(app->open_requests, f->has_bbox ? f->bbox : world, open_match, open_visit,
                         &w);
    qsort(w.ids, w.n, sizeof *w.ids, cmp_id);
    for (size_t i = 0; i < w.n && w.rc == 0 && (f->limit == 0 || shown < f->limit); i++) {
        hm_open_rec o;
        hm_request r;
        /* Gone since the walk (closed a moment ago): skipped, as a later read would. */
        if (!hm_pointindex_get_data(app->open_requests, w.ids[i], &o) ||
            !hm_status_is_open(o.status))
            continue;
        shown++;
        hm_open_rec_unpack(&o, &r);
        w.rc = cb(ctx, &r);
    }
    free(w.ids);
    return w.rc;
}

/* ---- tick: claim time-outs and alert escalation ------------------------------------------- */

typedef struct expired {
    int64_t *ids;
    size_t n, cap;
    int64_t before;
} expired;

static int find_expired(void *ctx, const hm_request *r)
{
    expired *e = ctx;
    if (r->status_at >= e->before)
        return 0;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 32;
        e->ids = hm_xrealloc(e->ids, e->cap * sizeof *e->ids);
    }
    e->ids[e->n++] = r->id;
    return 0;
}

void hm_svc_tick(hm_store *st, void *arg)
{
    hm_core *app = arg;
    int64_t now = hm_now_ms();
    hm_request_filter f;
    expired e = {0};
    hm_error err = {0};

    /* Claims not started within the time-out go back to new. */
    memset(&f, 0, sizeof f);
    f.category = -1;
    f.verified = -1;
    f.status_mask = 1u << HM_ST_ASSIGNED;
    e.before = now - (int64_t)app->cfg.claim_timeout_s * 1000;
    if (hm_store_request_list(st, &f, find_expired, &e, &err) == HM_OK) {
        for (size_t i = 0; i < e.n; i++) {
            hm_request r;
            int rc;
            memset(&r, 0, sizeof r);
            if (hm_store_begin(st, true, &err))
                break;
            rc = hm_store_request_get_id(st, e.ids[i], &r, &err);
            if (rc == HM_OK && !(r.status == HM_ST_ASSIGNED && r.status_at < e.before)) {
                /* Started or released meanwhile: nothing to do, but end
                 * the transaction (a dangling BEGIN would fail every batch). */
                hm_store_rollback(st);
                hm_request_clear(&r);
                continue;
            }
            if (rc == HM_OK) {
                int64_t team = r.team_id;
                rc = hm_store_request_set_status(st, r.id, HM_ST_ASSIGNED, HM_ST_NEW, 0, NULL, now,
                                                 &err);
                if (!rc)
                    rc = hm_store_history_append(st, r.id, now, "system", HM_ST_ASSIGNED, HM_ST_NEW,
                                                 "claim not started in time; open again", "status",
                                                 &err);
                if (!rc)
                    team_busy_update(app, st, team, false);
                if (!rc)
                    rc = hm_store_commit(st, &err);
                if (!rc) {
                    int64_t old_at = r.status_at;
                    r.status = HM_ST_NEW;
                    r.team_id = 0;
                    r.updated_at = r.status_at = now;
                    index_request(app, &r);
                    tally_status_move(app, &r, HM_ST_ASSIGNED, old_at);
                    publish_request(app, "request.updated", &r);
                    hm_log(HM_LOG_INFO, "event=claim_timeout request_id=%lld", (long long)r.id);
                }
            }
            if (rc)
                hm_store_rollback(st);
            hm_request_clear(&r);
        }
    }
    free(e.ids);

    /* Nobody claimed within the escalation time: alert the next teams. The due ones are taken
     * from the front under the lock, then looked at without it. */
    {
        int64_t *due = NULL;
        size_t n_due = 0, stride;
        pthread_mutex_lock(&alerts_mu);
        stride = alert_stride;
        while (alerts_head < alerts_tail && now - alerts[alerts_head * stride + 1] >=
                                                (int64_t)app->cfg.alert_escalate_s * 1000) {
            due = hm_xrealloc(due, (n_due + 1) * stride * sizeof *due);
            memcpy(due + n_due * stride, alerts + alerts_head * stride, stride * sizeof *due);
            n_due++;
            alerts_head++;
        }
        pthread_mutex_unlock(&alerts_mu);
        for (size_t i = 0; i < n_due; i++) {
            const int64_t *a = due + i * stride;
            hm_request r;
            if (hm_store_request_get_id(st, a[0], &r, NULL) == HM_OK) {
                if (r.status == HM_ST_NEW) {
                    int64_t next[8];
                    size_t n_first = (size_t)a[2];
                    size_t want = n_first ? n_first : 3;
                    size_t n = nearest_teams(app, r.lon, r.lat, want, a + 3, n_first, next);
                    send_alert(app, &r, next, n);
                }
                hm_request_clear(&r);
            }
        }
        free(due);
    }
}
