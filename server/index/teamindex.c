/* teamindex.c: team positions in a point index (tag = status, aux = position time). */
#include "teamindex.h"

#include "hm_buf.h"
#include "model.h"
#include "pointindex.h"

#include <stdbool.h>
#include <stdlib.h>

struct hm_team_index {
    hm_pointindex *points;
};

hm_team_index *hm_team_index_create(void)
{
    hm_team_index *ix = hm_xcalloc(1, sizeof *ix);
    ix->points = hm_pointindex_create();
    return ix;
}

void hm_team_index_destroy(hm_team_index *ix)
{
    if (!ix)
        return;
    hm_pointindex_destroy(ix->points);
    free(ix);
}

void hm_team_index_clear(hm_team_index *ix)
{
    hm_pointindex_clear(ix->points);
}

void hm_team_index_apply(hm_team_index *ix, const hm_team *t)
{
    if (t->has_pos && t->role == HM_ROLE_VOLUNTEER && !t->disabled)
        hm_pointindex_put(ix->points, t->id, t->lon, t->lat, t->status, t->pos_at);
    else
        hm_pointindex_remove(ix->points, t->id);
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
