/* openindex.h: the open requests (new, assigned, in progress) in memory, without their contact
 * data — what nearby, lists, tiles and responders read instead of a million database rows
 * (issue 7) — and how many each team holds. A follower of the store: the core applies every
 * committed request to it (hm_open_index_apply) and it keeps the request when open, drops it
 * when closed. Owns the grid of points, the compact records (openrec.h) and the per-team
 * counts, each under its own lock; every function is thread-safe. Not the store, not HTTP. */
#ifndef HM_OPENINDEX_H
#define HM_OPENINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entity.h"

typedef struct hm_open_index hm_open_index;

hm_open_index *hm_open_index_create(void);
/* Accepts NULL. */
void hm_open_index_destroy(hm_open_index *ix);
/* Forget every request (before a reload). */
void hm_open_index_clear(hm_open_index *ix);

/* Request `r` as committed: kept (or moved) when its status is open, removed otherwise; the
 * counts of held requests follow its team. Contact data in `r` is ignored. */
void hm_open_index_apply(hm_open_index *ix, const hm_request *r);
/* Open requests kept. */
size_t hm_open_index_count(hm_open_index *ix);
/* Open requests team `team_id` holds (assigned or in progress). */
int64_t hm_open_index_held(hm_open_index *ix, int64_t team_id);
/* Request `id` into `out` (contact data NULL, duplicate_of ""); false when it is not open. */
bool hm_open_index_get(hm_open_index *ix, int64_t id, hm_request *out);

/* One answer of hm_open_index_nearest. */
typedef struct hm_open_hit {
    hm_request req; /* without contact data; owns nothing */
    double distance_m;
} hm_open_hit;

/* Up to `limit` open requests within `radius_m` of (lon, lat) (geodesic, WGS84), of
 * `category` (-1: any), nearest first (ties by id), into out[0, limit). Returns how many. */
size_t hm_open_index_nearest(hm_open_index *ix, double lon, double lat, double radius_m,
                             size_t limit, int category, hm_open_hit *out);

/* Call cb on every open request that passes `f` (its bbox, status_mask within the open
 * statuses, category, ward_code, since_ms, after_id, team_id, verified; not phone),
 * `ordered`: in id order, at most f->limit (0: all), outside any lock — a request closed during
 * the walk is skipped. Otherwise in no order under the index's read lock: cb must be quick and
 * must not call the index or wait for anything. A non-zero cb return stops the walk and is
 * returned; otherwise HM_OK. */
int hm_open_index_walk(hm_open_index *ix, const hm_request_filter *f, bool ordered,
                       hm_request_cb cb, void *ctx);

/* Rewrite the area codes of every open request with `relocate(ctx, r)` (which changes r's
 * ward_code, former_ward_code and hamlet_code in place), under the write lock: after the
 * areas changed. `relocate` must be quick and must not call the index. */
void hm_open_index_relocate(hm_open_index *ix, void (*relocate)(void *ctx, hm_request *r),
                            void *ctx);

#endif
