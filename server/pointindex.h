/* pointindex.h: an in-memory grid of points (open requests, team
 * positions) for nearest-first queries by geodesic distance. Owns the grid
 * and its lock; callers own what a point means (`id`, `tag`, `aux`).
 * Writers (the writer thread) and readers (pool threads) may call at once:
 * a rwlock keeps every query exact against a whole number of updates. */
#ifndef HM_POINTINDEX_H
#define HM_POINTINDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct hm_pointindex hm_pointindex;

typedef struct hm_point_hit {
    int64_t id;
    double lon, lat;
    int tag;     /* caller's small value, e.g. category */
    int64_t aux; /* caller's value, e.g. position time */
    double distance_m;
} hm_point_hit;

/* Filter for queries; return non-zero to keep the point. May be NULL. */
typedef int (*hm_point_filter)(void *ctx, const hm_point_hit *p);

hm_pointindex *hm_pointindex_create(void);
void hm_pointindex_destroy(hm_pointindex *ix);
/* Insert or move point `id`. */
void hm_pointindex_put(hm_pointindex *ix, int64_t id, double lon, double lat, int tag,
                       int64_t aux);
/* Remove point `id` if present. */
void hm_pointindex_remove(hm_pointindex *ix, int64_t id);
size_t hm_pointindex_count(hm_pointindex *ix);
/* Up to `limit` points within `radius_m` of (lon, lat) that pass `filter`,
 * nearest first (ties by id) into `out`; returns how many. `radius_m` <= 0
 * means no radius. */
size_t hm_pointindex_nearest(hm_pointindex *ix, double lon, double lat, double radius_m,
                             size_t limit, hm_point_filter filter, void *ctx, hm_point_hit *out);

#endif
