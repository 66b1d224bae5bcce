/* reliefindex.h: the relief points (shelters, food and water, medical posts, charging points,
 * boats) kept in memory so that GET /points, /points/nearest and the points tiles never read
 * the database: a follower of the store like the other indexes (the core applies every
 * committed change of a point, on every server). A district has tens to a few hundred points:
 * a sorted array, scanned whole. Thread-safe: a reader-writer lock, readers get copies. */
#ifndef HM_RELIEFINDEX_H
#define HM_RELIEFINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entity.h"

typedef struct hm_relief_index hm_relief_index;

hm_relief_index *hm_relief_index_create(void);
/* Accepts NULL. */
void hm_relief_index_destroy(hm_relief_index *x);
/* Forget every point. */
void hm_relief_index_clear(hm_relief_index *x);
/* Add point `p` or replace the one with its id (copied). */
void hm_relief_index_apply(hm_relief_index *x, const hm_relief *p);
/* Forget point `id` (nothing when absent). */
void hm_relief_index_remove(hm_relief_index *x, int64_t id);
/* The point `id` into *out; false when absent. */
bool hm_relief_index_get(hm_relief_index *x, int64_t id, hm_relief *out);
size_t hm_relief_index_count(hm_relief_index *x);

/* A copy of every point in id order, whose kind is in `kind_mask` (bits 1 << enum
 * hm_relief_kind; 0: any) and status in `status_mask` (the same with enum hm_relief_status).
 * *out is malloc'd (caller frees; NULL when none), *n receives the count. */
void hm_relief_index_list(hm_relief_index *x, unsigned kind_mask, unsigned status_mask,
                          hm_relief **out, size_t *n);

/* One answer of hm_relief_index_nearest(). */
typedef struct hm_relief_hit {
    hm_relief point;
    double distance_m; /* geodesic (WGS84) */
} hm_relief_hit;

/* The points of `kind_mask` (0: any) nearest to (lon, lat): open points first, then full, then
 * closed, each group nearest first (ties by id), at most `limit` into out[0, limit). Returns
 * how many. */
size_t hm_relief_index_nearest(hm_relief_index *x, double lon, double lat, unsigned kind_mask,
                               size_t limit, hm_relief_hit *out);

#endif
