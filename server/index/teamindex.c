/* teamindex.c: team positions in a point index (tag = status, aux = position time). */
#include "teamindex.h"

#include "hm_buf.h"
#include "model.h"
#include "pointindex.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One team as last applied, in the open-addressing table (id 0: free). */
typedef struct name_slot {
    int64_t id;
    hm_team team;
} name_slot;

struct hm_team_index {
    hm_pointindex *points;
    pthread_rwlock_t names_lock; /* guards names, cap, n */
    name_slot *names;            /* cap slots, a power of two; at most half full */
    size_t cap, n;
};

static size_t slot_of(int64_t id, size_t cap)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

/* The slot of `id`, or the free slot where it would go. Caller holds names_lock. */
static name_slot *find_slot(name_slot *t, size_t cap, int64_t id)
{
    for (size_t i = slot_of(id, cap);; i = (i + 1) & (cap - 1))
        if (t[i].id == id || t[i].id == 0)
            return &t[i];
}

/* Remember t's name. Caller holds names_lock for writing. */
static void name_put(hm_team_index *ix, const hm_team *t)
{
    name_slot *s;
    if (t->id <= 0)
        return;
    if ((ix->n + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        name_slot *grown = hm_xcalloc(cap, sizeof *grown);
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->names[i].id)
                *find_slot(grown, cap, ix->names[i].id) = ix->names[i];
        free(ix->names);
        ix->names = grown;
        ix->cap = cap;
    }
    s = find_slot(ix->names, ix->cap, t->id);
    if (s->id == 0)
        ix->n++;
    s->id = t->id;
    s->team = *t;
}

hm_team_index *hm_team_index_create(void)
{
    hm_team_index *ix = hm_xcalloc(1, sizeof *ix);
    ix->points = hm_pointindex_create();
    pthread_rwlock_init(&ix->names_lock, NULL);
    return ix;
}

void hm_team_index_destroy(hm_team_index *ix)
{
    if (!ix)
        return;
    hm_pointindex_destroy(ix->points);
    pthread_rwlock_destroy(&ix->names_lock);
    free(ix->names);
    free(ix);
}

void hm_team_index_clear(hm_team_index *ix)
{
    hm_pointindex_clear(ix->points);
    pthread_rwlock_wrlock(&ix->names_lock);
    if (ix->names)
        memset(ix->names, 0, ix->cap * sizeof *ix->names);
    ix->n = 0;
    pthread_rwlock_unlock(&ix->names_lock);
}

void hm_team_index_apply(hm_team_index *ix, const hm_team *t)
{
    if (t->has_pos && t->role == HM_ROLE_VOLUNTEER && !t->disabled)
        hm_pointindex_put(ix->points, t->id, t->lon, t->lat, t->status, t->pos_at);
    else
        hm_pointindex_remove(ix->points, t->id);
    pthread_rwlock_wrlock(&ix->names_lock);
    name_put(ix, t);
    pthread_rwlock_unlock(&ix->names_lock);
}

bool hm_team_index_name(hm_team_index *ix, int64_t id, char *out, size_t size)
{
    bool found = false;
    if (size)
        out[0] = '\0';
    if (id <= 0)
        return false;
    pthread_rwlock_rdlock(&ix->names_lock);
    if (ix->cap) {
        const name_slot *s = find_slot(ix->names, ix->cap, id);
        if (s->id == id) {
            found = true;
            if (size)
                snprintf(out, size, "%s", s->team.name);
        }
    }
    pthread_rwlock_unlock(&ix->names_lock);
    return found;
}

bool hm_team_index_get(hm_team_index *ix, int64_t id, hm_team *out)
{
    bool found = false;
    if (id <= 0)
        return false;
    pthread_rwlock_rdlock(&ix->names_lock);
    if (ix->cap) {
        const name_slot *s = find_slot(ix->names, ix->cap, id);
        if (s->id == id) {
            found = true;
            *out = s->team;
        }
    }
    pthread_rwlock_unlock(&ix->names_lock);
    return found;
}

static int available_fresh(void *ctx, const hm_point_hit *p)
{
    const int64_t *now = ctx;
    return p->tag == HM_TEAM_AVAILABLE && *now - p->aux <= HM_TEAM_FRESH_MS;
}

size_t hm_team_index_nearest(hm_team_index *ix, double lon, double lat, int64_t now_ms,
                             size_t limit, const int64_t *skip, size_t n_skip, int64_t *out,
                             double *distance_m)
{
    size_t want = limit + n_skip, n, k = 0;
    hm_point_hit *hits;

    if (limit == 0)
        return 0;
    hits = hm_xmalloc(want * sizeof *hits);
    n = hm_pointindex_nearest(ix->points, lon, lat, 0, want, available_fresh, &now_ms, hits);
    for (size_t i = 0; i < n && k < limit; i++) {
        bool skipped = false;
        for (size_t j = 0; j < n_skip; j++)
            if (skip[j] == hits[i].id)
                skipped = true;
        if (skipped)
            continue;
        out[k] = hits[i].id;
        if (distance_m)
            distance_m[k] = hits[i].distance_m;
        k++;
    }
    free(hits);
    return k;
}
