/* mvt.h: Mapbox Vector Tile 2.1 encoding of the five /tiles/ layers. Owns the
 * layers' public attribute schemas, grid clustering of requests below the
 * cluster zoom, polygon clipping, simplification, quantisation and repair,
 * and the protobuf encoding (protobuf-c, tiles/vector_tile.proto). Not data
 * access (the caller fetches points and areas from the store), not filtering
 * (status/category/since belong in the caller's query), not caching
 * (cache.h) and not HTTP.
 *
 * Output conventions, for every encoder below:
 *   - the encoded tile is APPENDED to `out`; a tile with no feature appends
 *     nothing, so `out->len` unchanged means "empty tile": answer 204;
 *   - one layer per tile, named hm_tile_layer_name(layer), version 2,
 *     extent opt->extent, features with ids;
 *   - only the attributes listed by hm_mvt_layer_fields() are written: there
 *     is no contact field (name, phone, note, address) in any input struct,
 *     so none can reach a tile.
 * All functions are thread-safe given distinct arguments; none keeps state
 * between calls. */
#ifndef HM_MVT_H
#define HM_MVT_H

#ifndef GEOS_USE_ONLY_R_API
#define GEOS_USE_ONLY_R_API
#endif
#include <geos_c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_buf.h"
#include "hm_error.h"
#include "tile.h"

/* SPEC's categories and statuses, in the order of the count arrays below. */
#define HM_MVT_CATEGORY_COUNT 7
#define HM_MVT_STATUS_COUNT   6
extern const char *const hm_mvt_categories[HM_MVT_CATEGORY_COUNT]; /* food ... other */
extern const char *const hm_mvt_statuses[HM_MVT_STATUS_COUNT];     /* new ... duplicate */

/* Index of `s` in hm_mvt_categories / hm_mvt_statuses, or -1 (also for NULL). */
int hm_mvt_category_index(const char *s);
int hm_mvt_status_index(const char *s);

/* Encoder settings. Start from hm_mvt_options_init() and change what you
 * need; use the same options for encoding and for the cache (cache.h), since
 * they decide which tiles a point appears in. */
typedef struct hm_mvt_options {
    uint32_t extent;       /* tile units per side; 4096 */
    uint32_t buffer;       /* units drawn beyond each edge; 64 */
    int cluster_maxzoom;   /* z < this: clusters; z >= this: one feature per point; 13 */
    uint32_t cluster_cell; /* cluster grid cell side in tile units, divides extent,
                              >= buffer; 256 (a 16 x 16 grid per tile) */
    double simplify;       /* polygon simplification tolerance in tile units at
                              every zoom (so per zoom in degrees); 0 = off; 2.0 */
} hm_mvt_options;

/* Fill `opt` with the defaults above. Can't fail. */
void hm_mvt_options_init(hm_mvt_options *opt);

/* Returns HM_OK or HM_E_INVALID_FIELD (field "mvt_options") when extent is
 * not 256..65536, buffer > extent / 4, cluster_cell does not divide extent,
 * makes a grid finer than 256 x 256 cells per tile or is below buffer,
 * cluster_maxzoom is not 0..HM_TILE_MAX_ZOOM + 1, or simplify is negative or
 * not finite. Every encoder checks its options. */
int hm_mvt_options_check(const hm_mvt_options *opt, hm_error *err);

/* ---- requests layer ------------------------------------------------------ */

/* One request as the public may see it. Strings are borrowed for the call
 * (hm_mvt_points_add() copies what it keeps); NULL strings are omitted from
 * the feature. */
typedef struct hm_mvt_point {
    int64_t id;       /* request id; the feature id (must be >= 0) */
    double lon, lat;  /* already snapped to the public 0.001 degree grid */
    const char *code; /* "CC-4K7M2B" */
    const char *category;
    const char *status;
    const char *priority; /* "urgent" | "normal" */
    const char *ward_code;
    int people;
    bool verified;
    int64_t created_at; /* Unix seconds, UTC */
} hm_mvt_point;

/* The lon/lat box the caller should fetch points from for tile `t`: the tile
 * plus hm_mvt_points_margin() on each side. Points outside it are ignored
 * anyway, so a larger box is only slower. */
void hm_mvt_points_bounds(const hm_tile *t, const hm_mvt_options *opt, double bbox[4]);

/* Margin, as a fraction of a tile, within which a point can change tile
 * (z, *, *): the buffer at point zooms; one cluster cell at cluster zooms,
 * because a cluster of a neighbouring cell is drawn in the buffer with its
 * full counts. */
double hm_mvt_points_margin(int z, const hm_mvt_options *opt);

/* Streaming encoder of the requests layer for one tile, for callers that
 * step through database rows: create, add each row, finish, destroy. At
 * cluster zooms it keeps only per-cell sums, so a z10 tile over a million
 * rows needs no array of a million points.
 *
 * Clusters (z < cluster_maxzoom): the grid of cluster_cell units is aligned
 * to tile edges, so a cell and its cluster are the same in every tile that
 * shows it; the feature stands at the mean position of its points (rounded
 * to a tile unit) and carries `cluster` (true), `point_count`, `people`
 * (sum), `urgent` (count of priority "urgent"), one count per category
 * (`food` ... `other`; an unknown category counts as `other`) and one per
 * status (`new` ... `duplicate`; unknown statuses are in no status count).
 * All counts are written, zeros included. Feature id: 1 + the cell's index
 * in the world grid at that zoom (row-major), stable across tiles. A cell
 * whose centroid is outside tile + buffer is not written.
 * Points (z >= cluster_maxzoom): one feature per point within tile + buffer,
 * with id = request id and the attributes of hm_mvt_point (`created_at` as
 * an integer of Unix seconds, `verified` boolean). */
typedef struct hm_mvt_points hm_mvt_points;

/* Returns a new encoder (caller frees with hm_mvt_points_destroy()), or NULL
 * with HM_E_INVALID_FIELD when `t` or `opt` is invalid (field "z", "x", "y"
 * or "mvt_options"). `opt` is copied; NULL means the defaults. */
hm_mvt_points *hm_mvt_points_create(const hm_tile *t, const hm_mvt_options *opt, hm_error *err);

/* Add one point. Points outside the bounds of hm_mvt_points_bounds() or with
 * coordinates that are not finite lon/lat are ignored. Copies the strings it keeps. Can't
 * fail (aborts on out-of-memory like hm_xmalloc). */
void hm_mvt_points_add(hm_mvt_points *enc, const hm_mvt_point *p);

/* Encode what was added and append the tile to `out` (nothing when empty).
 * Returns HM_OK, or HM_E_INTERNAL when called a second time or when protobuf
 * packing disagrees with its own size (never expected). */
int hm_mvt_points_finish(hm_mvt_points *enc, hm_buf *out, hm_error *err);

/* Free the encoder. Accepts NULL. */
void hm_mvt_points_destroy(hm_mvt_points *enc);

/* One call for the requests layer: create, add pts[0..n), finish, destroy.
 * Returns HM_OK (tile appended to `out`, nothing when empty) or an error of
 * hm_mvt_points_create()/hm_mvt_points_finish(); `out` is unchanged on
 * error. `opt` may be NULL (defaults). */
int hm_mvt_encode_points(const hm_tile *t, const hm_mvt_point *pts, size_t n,
                         const hm_mvt_options *opt, hm_buf *out, hm_error *err);

/* ---- polygon layers (wards, former_wards, hamlets) ----------------------- */

/* One area with its public counts. Borrowed for the call. */
typedef struct hm_mvt_area {
    const char *code;
    const char *name;
    const char *level;        /* "ward" | "former_ward" | "hamlet" */
    const char *parent_code;  /* NULL: attribute omitted */
    const unsigned char *wkb; /* Polygon or MultiPolygon, EPSG:4326 (lon, lat) */
    size_t wkb_len;
    int open;                                    /* open requests inside */
    int resolved;                                /* resolved requests inside */
    int open_by_category[HM_MVT_CATEGORY_COUNT]; /* same order as hm_mvt_categories */
} hm_mvt_area;

/* Encode the areas that meet tile `t` as layer `layer` (HM_TILE_WARDS,
 * HM_TILE_FORMER_WARDS or HM_TILE_HAMLETS) and append the tile to `out`
 * (nothing when no area meets the tile + buffer).
 * Each area is projected to tile units, clipped to tile + buffer
 * (GEOSClipByRect_r), simplified with opt->simplify
 * (GEOSTopologyPreserveSimplify_r), snapped to the integer grid with
 * GEOSGeom_setPrecision_r (snap-rounding: the result is valid after
 * quantisation, collapsed rings are gone), then written with exterior rings
 * of positive area (clockwise in y-down tile coordinates) and holes of
 * negative area, without repeated or closing points, as MVT 2.1 section
 * 4.3.4.4 requires.
 * Attributes: `code`, `name`, `level`, `parent_code`, `open`, `resolved`,
 * `open_food` ... `open_other`. Feature id: the code's value when the code is
 * 1..15 decimal digits (the commune codes), else a 53-bit hash of the code
 * (stable across tiles, safe in JavaScript).
 * Callers may pass every area of the level: those whose bounding box misses
 * the tile are skipped before any GEOS work, so a store query by bbox is an
 * optimisation, not a requirement.
 * `geos` is the calling thread's context; no lock is taken.
 * Returns HM_OK, HM_E_INVALID_FIELD (field "layer", "mvt_options" or "wkb",
 * naming the area's code in msg for unreadable WKB, a non-polygon or a
 * vertex outside lon/lat range, NaN included), or
 * HM_E_GEOS when a GEOS operation fails. `out` is unchanged on error. */
int hm_mvt_encode_areas(GEOSContextHandle_t geos, const hm_tile *t, hm_tile_layer layer,
                        const hm_mvt_area *areas, size_t n, const hm_mvt_options *opt, hm_buf *out,
                        hm_error *err);

/* ---- points layer (relief points) ------------------------------------------ */

/* One relief point. Public data (a shelter is meant to be found): the position is exact.
 * Strings are borrowed for the call; NULL or "" strings are omitted from the feature. */
typedef struct hm_mvt_relief {
    int64_t id; /* the point's id; the feature id (must be >= 0) */
    double lon, lat;
    const char *kind; /* "shelter" | "food" | "water" | "medical" | "charging" | "boat" | "other" */
    const char *status; /* "open" | "full" | "closed" */
    const char *name;
    const char *hours;
    int capacity;       /* < 0: omitted */
    int64_t updated_at; /* Unix seconds, UTC */
} hm_mvt_relief;

/* Encode the points of pts[0..n) that lie within tile `t` + opt->buffer as layer "points"
 * (one feature each, no clustering: a district has a few hundred at most) and append the tile
 * to `out` (nothing when none is inside). Attributes: `kind`, `status`, `name`, `hours`,
 * `capacity`, `updated_at`. Points with coordinates that are not finite lon/lat are skipped.
 * Returns HM_OK, or HM_E_INVALID_FIELD (field "z" or "mvt_options") for a bad tile or
 * options; `out` is unchanged on error. `opt` may be NULL (defaults). */
int hm_mvt_encode_reliefs(const hm_tile *t, const hm_mvt_relief *pts, size_t n,
                          const hm_mvt_options *opt, hm_buf *out, hm_error *err);

/* ---- schemas --------------------------------------------------------------- */

/* One attribute a layer may carry, for TileJSON's vector_layers. */
typedef struct hm_mvt_field {
    const char *name;
    const char *type; /* "String", "Number" or "Boolean" */
} hm_mvt_field;

/* The attributes of `layer` (for requests: those of points and of clusters)
 * in a static array; sets *n. Returns NULL and *n = 0 for a bad layer. */
const hm_mvt_field *hm_mvt_layer_fields(hm_tile_layer layer, size_t *n);

#endif
