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
    /* The point's data (see hm_pointindex_create_data), borrowed: valid only inside a filter or
     * visit callback, NULL everywhere else and in indexes without data. */
    const void *data;
} hm_point_hit;

/* Filter for queries; return non-zero to keep the point. May be NULL. It sees every field
 * of the hit but distance_m (0 at that point: the distance is computed only for points that
 * pass it). */
typedef int (*hm_point_filter)(void *ctx, const hm_point_hit *p);

hm_pointindex *hm_pointindex_create(void);
/* An index whose points also carry `data_size` bytes of the caller's data each (e.g. the
 * public fields of an open request, so that lists and tiles need no database read; issue 7).
 * The index keeps its own copy; `data_size` > 0. */
hm_pointindex *hm_pointindex_create_data(size_t data_size);
void hm_pointindex_destroy(hm_pointindex *ix);
/* Remove every point. */
void hm_pointindex_clear(hm_pointindex *ix);
/* Bytes of data per point; 0 for an index made by hm_pointindex_create(). */
size_t hm_pointindex_data_size(const hm_pointindex *ix);
/* Insert or move point `id` (> 0: ids 0 and below are never points, and removing one does
 * nothing). In an index with data, its data becomes zeros. */
void hm_pointindex_put(hm_pointindex *ix, int64_t id, double lon, double lat, int tag, int64_t aux);
/* Insert or move point `id` with a copy of data_size bytes at `data` (an index without data
 * ignores it). */
void hm_pointindex_put_data(hm_pointindex *ix, int64_t id, double lon, double lat, int tag,
                            int64_t aux, const void *data);
/* Copy the data of point `id` into `data_out` (data_size bytes); returns 1, or 0 (nothing
 * copied) when the point is absent or the index has no data. */
int hm_pointindex_get_data(hm_pointindex *ix, int64_t id, void *data_out);
/* Call `fn` on the data of every point, under the write lock, to change it in place (not its
 * position, tag or aux). `fn` must be quick and must not call the index. */
void hm_pointindex_update_all(hm_pointindex *ix, void (*fn)(void *ctx, int64_t id, void *data),
                              void *ctx);
/* Remove point `id` if present. */
void hm_pointindex_remove(hm_pointindex *ix, int64_t id);
size_t hm_pointindex_count(hm_pointindex *ix);
/* Up to `limit` points within `radius_m` of (lon, lat) that pass `filter`,
 * nearest first (ties by id) into `out`; returns how many. `radius_m` <= 0
 * means no radius. */
size_t hm_pointindex_nearest(hm_pointindex *ix, double lon, double lat, double radius_m,
                             size_t limit, hm_point_filter filter, void *ctx, hm_point_hit *out);
/* The same, also copying each hit's data into data_out[i * data_size] (an array of `limit`
 * elements). An index without data copies nothing. */
size_t hm_pointindex_nearest_data(hm_pointindex *ix, double lon, double lat, double radius_m,
                                  size_t limit, hm_point_filter filter, void *ctx,
                                  hm_point_hit *out, void *data_out);
/* Call `visit` on each point in bbox = {minLon, minLat, maxLon, maxLat} (edges included) that
 * passes `filter`, in no particular order, under the read lock: the callbacks must be quick,
 * must not call the index, and may read p->data only during the call. A non-zero return of
 * `visit` stops the walk. Returns the number of points visited. */
size_t hm_pointindex_within(hm_pointindex *ix, const double bbox[4], hm_point_filter filter,
                            int (*visit)(void *ctx, const hm_point_hit *p), void *ctx);

#endif
