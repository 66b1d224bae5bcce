/* views.h: what the core shows of itself as a whole — statistics, health, its own metrics,
 * vector tiles (through the tile cache), the export. Reads only; thread-safe. */
#ifndef HM_VIEWS_H
#define HM_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

#include "areacount.h"
#include "areas.h"
#include "cache.h"
#include "core.h"
#include "hm_buf.h"
#include "mbtiles.h"
#include "model.h"
#include "policy.h"
#include "tile.h"

struct hm_audit_op;

/* GET /stats. */
typedef struct hm_stats {
    int64_t counts[HM_ST__COUNT][HM_CAT__COUNT]; /* by status and category */
    int64_t hourly[24];                          /* created per clock hour, oldest first */
    double median_min;                           /* new to resolved; -1 when none resolved */
    int64_t now;                                 /* the time the hours end with */
    int64_t safe;                                /* closed by "I am safe now" */
} hm_stats;
/* Fill `out`; each ward with its name and counts (safe check-ins in counts->safe) goes to
 * `ward_cb`. */
int hm_core_stats(hm_core *c, hm_stats *out, hm_area_counts_cb ward_cb, void *ctx, hm_error *err);

/* GET /healthz: HM_E_UNAVAILABLE (with why) when the database does not answer. */
typedef struct hm_health {
    int schema_version;
    size_t open_requests;
    int64_t uptime_s;
} hm_health;
int hm_core_health(hm_core *c, hm_health *out, hm_error *err);

/* Append the core's own Prometheus series (open requests by ward, writes, publishing, event
 * subscribers, indexed requests) to `out`. */
void hm_core_metrics(hm_core *c, hm_buf *out);

/* The filters of a requests tile (public). */
typedef struct hm_tile_query {
    hm_tile_layer layer;
    hm_tile tile;
    unsigned status_mask; /* see hm_core_parse_status_filter */
    const char *status;   /* as given, for the cache key (NULL: open) */
    int category;         /* -1: any */
    const char *category_text;
    int64_t since_ms;
} hm_tile_query;
/* The tile `q` names, from the cache or encoded now (and cached). Returns HM_OK with *out set
 * (release with hm_tile_blob_release(); a blob of length 0 is an empty tile). */
int hm_core_tile(hm_core *c, const hm_tile_query *q, hm_tile_blob **out, hm_error *err);
/* The bounds of the ward level into bbox (for TileJSON); *found false when there are no
 * wards. */
int hm_core_bounds(hm_core *c, double bbox[4], bool *found, hm_error *err);

/* ---- the street map (serve --basemap) and the map style ---- */

/* True when the server has a basemap. */
bool hm_core_has_basemap(hm_core *c);
/* Stored tile `t` of the basemap (public), as stored (see hm_mbtiles_tile_get). Returns HM_OK
 * with *out filled (caller clears it), HM_E_NOT_FOUND with field "basemap" when the server has
 * no basemap or field "tile" when the file has no such tile (an empty tile), or
 * HM_E_INVALID_FIELD for a tile out of range. */
int hm_core_basemap_tile(hm_core *c, const hm_tile *t, hm_mbtiles_blob *out, hm_error *err);
/* The basemap's TileJSON into `out`; `base_url` as in hm_mbtiles_tilejson (NULL: relative
 * tile URLs). HM_E_NOT_FOUND (field "basemap") without a basemap. */
int hm_core_basemap_tilejson(hm_core *c, const char *base_url, hm_buf *out, hm_error *err);
/* The MapLibre style of the pages (/style.json): the basemap under the helpmap layers when the
 * server has one; `dark` for the wall display. */
int hm_core_style(hm_core *c, const char *base_url, bool dark, hm_buf *out, hm_error *err);

/* Every request matching `f` (the filters of request lists; NULL: all) with every field into
 * `out` in `format` (export.h), for a coordinator, and `audit` filled with the log entry of it:
 * submit audit->job and send the export only once it succeeded (issue 11: every export of
 * contact data is logged). */
int hm_core_export(hm_core *c, const hm_actor *a, int format, const hm_request_filter *f,
                   hm_buf *out, struct hm_audit_op *audit, hm_error *err);

#endif
