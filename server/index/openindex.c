/* openindex.c: the open requests in a point index with their compact records, and the held
 * counts per team beside it; see openindex.h. */
#include "openindex.h"

#include "hm_buf.h"
#include "model.h"
#include "openrec.h"
#include "pointindex.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* How many open requests each team holds, kept with the index so that /responders reads it
 * instead of counting rows for every candidate (issue 7). Open addressing on team ids; a team
 * that holds none keeps a zero. Under held_mu. */
typedef struct held_slot {
    int64_t team; /* 0: empty */
    int64_t n;
} held_slot;

struct hm_open_index {
    hm_pointindex *points; /* tag = category, aux = team id, data = hm_open_rec */
    /* Serialises hm_open_index_apply(): the record it reads back and the counts it moves
     * must be those of the previous apply of the same request. */
    pthread_mutex_t apply_mu;
    pthread_mutex_t held_mu;
    held_slot *held;
    size_t held_cap, held_used;
};

hm_open_index *hm_open_index_create(void)
{
    hm_open_index *ix = hm_xcalloc(1, sizeof *ix);
    ix->points = hm_pointindex_create_data(sizeof(hm_open_rec));
    pthread_mutex_init(&ix->apply_mu, NULL);
    pthread_mutex_init(&ix->held_mu, NULL);
    return ix;
}

void hm_open_index_destroy(hm_open_index *ix)
{
    if (!ix)
        return;
    hm_pointindex_destroy(ix->points);
    pthread_mutex_destroy(&ix->apply_mu);
    pthread_mutex_destroy(&ix->held_mu);
    free(ix->held);
    free(ix);
}

void hm_open_index_clear(hm_open_index *ix)
{
    pthread_mutex_lock(&ix->apply_mu);
    hm_pointindex_clear(ix->points);
    pthread_mutex_lock(&ix->held_mu);
    if (ix->held)
        memset(ix->held, 0, ix->held_cap * sizeof *ix->held);
    ix->held_used = 0;
    pthread_mutex_unlock(&ix->held_mu);
    pthread_mutex_unlock(&ix->apply_mu);
}

/* ---- held counts ---- */

/* The slot of `team`, added when `add`; NULL when absent. Caller holds held_mu. */
static held_slot *held_find(hm_open_index *ix, int64_t team, bool add)
{
    size_t i;
    if (add && (ix->held_used + 1) * 2 > ix->held_cap) {
        held_slot *old = ix->held;
        size_t old_cap = ix->held_cap;
        ix->held_cap = ix->held_cap ? ix->held_cap * 2 : 1024;
        ix->held = hm_xcalloc(ix->held_cap, sizeof *ix->held);
        ix->held_used = 0;
        for (size_t k = 0; k < old_cap; k++)
            if (old[k].team)
                *held_find(ix, old[k].team, true) = old[k];
        free(old);
    }
    if (ix->held_cap == 0)
        return NULL;
    for (i = (size_t)((uint64_t)team * 0x9E3779B97F4A7C15ULL >> 17) & (ix->held_cap - 1);;
         i = (i + 1) & (ix->held_cap - 1)) {
        if (ix->held[i].team == team)
            return &ix->held[i];
        if (ix->held[i].team == 0) {
            if (!add)
                return NULL;
            ix->held[i].team = team;
            ix->held_used++;
            return &ix->held[i];
        }
    }
}

static void held_add(hm_open_index *ix, int64_t team, int64_t delta)
{
    pthread_mutex_lock(&ix->held_mu);
    held_find(ix, team, true)->n += delta;
    pthread_mutex_unlock(&ix->held_mu);
}

int64_t hm_open_index_held(hm_open_index *ix, int64_t team_id)
{
    held_slot *s;
    int64_t n;
    pthread_mutex_lock(&ix->held_mu);
    s = held_find(ix, team_id, false);
    n = s ? s->n : 0;
    pthread_mutex_unlock(&ix->held_mu);
    return n;
}

static bool holds(int64_t team_id, int status)
{
    return team_id > 0 && (status == HM_ST_ASSIGNED || status == HM_ST_IN_PROGRESS);
}

/* ---- changes ---- */

void hm_open_index_apply(hm_open_index *ix, const hm_request *r)
{
    hm_open_rec old, o;

    pthread_mutex_lock(&ix->apply_mu);
    if (hm_pointindex_get_data(ix->points, r->id, &old) && holds(old.team_id, old.status))
        held_add(ix, old.team_id, -1);
    if (hm_status_is_open(r->status)) {
        hm_open_rec_pack(&o, r);
        hm_pointindex_put_data(ix->points, r->id, r->lon, r->lat, r->category, r->team_id, &o);
        if (holds(r->team_id, r->status))
            held_add(ix, r->team_id, 1);
    } else {
        hm_pointindex_remove(ix->points, r->id);
    }
    pthread_mutex_unlock(&ix->apply_mu);
}

size_t hm_open_index_count(hm_open_index *ix)
{
    return hm_pointindex_count(ix->points);
}

bool hm_open_index_get(hm_open_index *ix, int64_t id, hm_request *out)
{
    hm_open_rec o;
    if (!hm_pointindex_get_data(ix->points, id, &o))
        return false;
    hm_open_rec_unpack(&o, out);
    return true;
}

/* ---- queries ---- */

static int keep_category(void *ctx, const hm_point_hit *p)
{
    const int *category = ctx;
    return *category < 0 || p->tag == *category;
}

size_t hm_open_index_nearest(hm_open_index *ix, double lon, double lat, double radius_m,
                             size_t limit, int category, hm_open_hit *out)
{
    hm_point_hit *hits;
    hm_open_rec *rows;
    size_t n;

    if (limit == 0)
        return 0;
    hits = hm_xmalloc(limit * sizeof *hits);
    rows = hm_xmalloc(limit * sizeof *rows);
    n = hm_pointindex_nearest_data(ix->points, lon, lat, radius_m, limit, keep_category, &category,
                                   hits, rows);
    for (size_t i = 0; i < n; i++) {
        hm_open_rec_unpack(&rows[i], &out[i].req);
        out[i].distance_m = hits[i].distance_m;
    }
    free(rows);
    free(hits);
    return n;
}

/* What an ordered walk sorts by. */
typedef struct walk_key {
    int64_t id, created_at;
    int priority;
} walk_key;

typedef struct open_walk {
    const hm_request_filter *f;
    unsigned mask;
    hm_request_cb cb;
    void *ctx;
    int rc;
    walk_key *ids; /* ordered walks: the requests that pass */
    size_t n, cap;
} open_walk;

static int open_match(void *ctx, const hm_point_hit *p)
{
    const open_walk *w = ctx;
    const hm_request_filter *f = w->f;
    const hm_open_rec *r = p->data;
    return r && (w->mask & (1u << r->status)) && (f->category < 0 || r->category == f->category) &&
           (!f->ward_code || strcmp(hm_code_of(r->ward), f->ward_code) == 0) &&
           r->updated_at >= f->since_ms && (f->team_id <= 0 || r->team_id == f->team_id) &&
           (f->verified < 0 || (int)r->verified == f->verified) &&
           (!f->former_ward_code || strcmp(hm_code_of(r->former_ward), f->former_ward_code) == 0) &&
           (!f->hamlet_code || strcmp(hm_code_of(r->hamlet), f->hamlet_code) == 0) &&
           (!f->priority_mask || (f->priority_mask & (1u << r->priority))) &&
           (!f->source_mask || (f->source_mask & (1u << r->source)));
}

static int open_visit(void *ctx, const hm_point_hit *p)
{
    open_walk *w = ctx;
    const hm_open_rec *o = p->data;
    const hm_request_filter *f = w->f;
    hm_request r;
    if (w->ids) {
        /* The cursor: after it in the walk's order. */
        if (f->order == HM_ORDER_URGENT && f->has_key) {
            int pr = f->after_key.priority;
            if (!(o->priority < pr ||
                  (o->priority == pr &&
                   (o->created_at > f->after_key.created_at ||
                    (o->created_at == f->after_key.created_at && o->id > f->after_key.id)))))
                return 0;
        } else if (f->after_id > 0 &&
                   (f->order == HM_ORDER_ID_DESC ? o->id >= f->after_id : o->id <= f->after_id)) {
            return 0;
        }
        if (w->n == w->cap) {
            w->cap *= 2;
            w->ids = hm_xrealloc(w->ids, w->cap * sizeof *w->ids);
        }
        w->ids[w->n++] = (walk_key){p->id, o->created_at, o->priority};
        return 0;
    }
    if (f->after_id > 0 && o->id <= f->after_id)
        return 0;
    hm_open_rec_unpack(p->data, &r);
    return w->rc = w->cb(w->ctx, &r);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = ((const walk_key *)a)->id, y = ((const walk_key *)b)->id;
    return (x > y) - (x < y);
}

static int cmp_id_desc(const void *a, const void *b)
{
    return cmp_id(b, a);
}

/* Urgent first, then the oldest, then by id. */
static int cmp_urgent(const void *a, const void *b)
{
    const walk_key *x = a, *y = b;
    if (x->priority != y->priority)
        return y->priority - x->priority;
    if (x->created_at != y->created_at)
        return (x->created_at > y->created_at) - (x->created_at < y->created_at);
    return cmp_id(a, b);
}

int hm_open_index_walk(hm_open_index *ix, const hm_request_filter *f, bool ordered,
                       hm_request_cb cb, void *ctx)
{
    const unsigned open = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    static const double world[4] = {-180, -90, 180, 90};
    open_walk w = {f, f->status_mask ? f->status_mask & open : open, cb, ctx, 0, NULL, 0, 0};
    size_t shown = 0;

    if (!ordered) {
        /* Tiles usually ask for every open request: then no point needs a test. */
        bool all = w.mask == open && f->category < 0 && !f->ward_code && f->since_ms <= 0 &&
                   f->after_id <= 0 && f->team_id <= 0 && f->verified < 0 && !f->former_ward_code &&
                   !f->hamlet_code && !f->priority_mask && !f->source_mask;
        hm_pointindex_within(ix->points, f->has_bbox ? f->bbox : world, all ? NULL : open_match,
                             open_visit, &w);
        return w.rc;
    }
    w.cap = 256;
    w.ids = hm_xmalloc(w.cap * sizeof *w.ids);
    hm_pointindex_within(ix->points, f->has_bbox ? f->bbox : world, open_match, open_visit, &w);
    /* 30,000 open requests sort in a few milliseconds (issue 14: /command asks for the dozen
     * it shows, in any of these orders). */
    qsort(w.ids, w.n, sizeof *w.ids,
          f->order == HM_ORDER_ID_DESC  ? cmp_id_desc
          : f->order == HM_ORDER_URGENT ? cmp_urgent
                                        : cmp_id);
    for (size_t i = 0; i < w.n && w.rc == 0 && (f->limit == 0 || shown < f->limit); i++) {
        hm_open_rec o;
        hm_request r;
        /* Gone since the walk (closed a moment ago): skipped, as a later read would. */
        if (!hm_pointindex_get_data(ix->points, w.ids[i].id, &o) || !hm_status_is_open(o.status))
            continue;
        shown++;
        hm_open_rec_unpack(&o, &r);
        w.rc = cb(ctx, &r);
    }
    free(w.ids);
    return w.rc;
}

typedef struct relocate_ctx {
    void (*fn)(void *ctx, hm_request *r);
    void *ctx;
} relocate_ctx;

static void relocate_rec(void *ctx, int64_t id, void *data)
{
    relocate_ctx *c = ctx;
    hm_open_rec *o = data;
    hm_request r;
    (void)id;
    hm_open_rec_unpack(o, &r);
    c->fn(c->ctx, &r);
    o->ward = hm_code_intern(r.ward_code);
    o->former_ward = hm_code_intern(r.former_ward_code);
    o->hamlet = hm_code_intern(r.hamlet_code);
}

void hm_open_index_relocate(hm_open_index *ix, void (*relocate)(void *ctx, hm_request *r),
                            void *ctx)
{
    relocate_ctx c = {relocate, ctx};
    hm_pointindex_update_all(ix->points, relocate_rec, &c);
}
