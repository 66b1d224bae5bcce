/* area.h: administrative areas (ward, former_ward, hamlet) as polygons.
 * Owns GeoJSON reading (jansson -> GEOS), validation and repair (make-valid),
 * clipping to a parent and the sibling-overlap check, and the in-memory
 * point-to-area index used at insert time. Not storage (server/store.h keeps
 * the WKB) and not HTTP. Geometry crosses module boundaries as ISO WKB in
 * EPSG:4326 (lon, lat). */
#ifndef HM_AREA_H
#define HM_AREA_H

#define GEOS_USE_ONLY_R_API
#include <geos_c.h>
#include <stdbool.h>
#include <stddef.h>

#include "hm_error.h"

typedef enum hm_level {
    HM_LEVEL_WARD = 0,        /* commune/ward in force (2025 reform) */
    HM_LEVEL_FORMER_WARD = 1, /* unit before the reform (2019) */
    HM_LEVEL_HAMLET = 2,      /* ap / khu pho inside a ward */
    HM_LEVEL__COUNT
} hm_level;

/* "ward", "former_ward", "hamlet". */
const char *hm_level_name(hm_level level);
/* Parse a level name. Returns HM_OK or HM_E_INVALID_FIELD (field "level"). */
int hm_level_parse(const char *s, hm_level *out, hm_error *err);

/* One area as read from GeoJSON, after validation and repair. */
typedef struct hm_area {
    char *code;         /* required, non-empty, <= 32 bytes */
    char *name;         /* may be "" */
    char *parent_code;  /* NULL when absent */
    unsigned char *wkb; /* (Multi)Polygon, valid, EPSG:4326; malloc'd */
    size_t wkb_len;
    double rep_lon; /* a point inside the area (GEOSPointOnSurface) */
    double rep_lat;
    double bbox[4]; /* minLon, minLat, maxLon, maxLat */
    bool repaired;  /* make-valid changed the geometry */
    char note[160]; /* what the repair did, for the import report */
    long long pop;  /* "pop_2019" or "population" property, -1 if absent */
} hm_area;

typedef struct hm_area_list {
    hm_area *items;
    size_t count;
} hm_area_list;

/* Which GeoJSON properties hold code, name and parent code. NULL members
 * take the defaults "code", "name", "parent_code". A numeric property is
 * converted to its decimal text. */
typedef struct hm_area_fields {
    const char *code;
    const char *name;
    const char *parent;
} hm_area_fields;

/* Read a GeoJSON FeatureCollection (or a single Feature) of Polygon /
 * MultiPolygon features from `text` (`len` bytes). Invalid geometries are
 * repaired with GEOSMakeValid_r and flagged `repaired` with a note; a feature
 * whose repair leaves no area, or without a code, or with a duplicate code,
 * or a non-polygon geometry, or coordinates outside lon/lat range fails the
 * whole read with HM_E_INVALID_FIELD naming the feature index in `msg`.
 * On success fills `out` (caller frees with hm_area_list_clear()).
 * `ctx` is the calling thread's GEOS context. */
int hm_area_read_geojson(GEOSContextHandle_t ctx, const char *text, size_t len,
                         const hm_area_fields *fields, hm_area_list *out, hm_error *err);

/* Same as above for one already-parsed jansson Feature object (json_t *). */
int hm_area_from_feature(GEOSContextHandle_t ctx, const void *json_feature,
                         const hm_area_fields *fields, hm_area *out, hm_error *err);

void hm_area_clear(hm_area *a);
void hm_area_list_clear(hm_area_list *list);

/* An existing sibling, for hm_area_fit(). */
typedef struct hm_area_ref {
    const char *code;
    const unsigned char *wkb;
    size_t wkb_len;
} hm_area_ref;

/* Fit a new or changed area `a` into its place: clip it to `parent`
 * (may be NULL: no clipping) and check it against `siblings` (the other areas
 * of its level with the same parent, excluding the one being replaced).
 * An overlap of less than 1 m^2 with a sibling is trimmed off `a`; a larger
 * one fails with HM_E_OVERLAP and `msg` listing the overlapping codes
 * (comma-separated) into `overlaps` too (caller-provided, NUL-terminated,
 * may be NULL). A clip that leaves nothing is HM_E_INVALID_FIELD
 * ("geometry" outside its parent). On success `a`'s wkb, rep point and bbox
 * are updated and what changed (clipping, trimmed slivers) is appended to
 * `a->note`; on error `a` is unchanged. HM_E_GEOS when GEOS fails or a
 * parent/sibling WKB is unreadable. */
int hm_area_fit(GEOSContextHandle_t ctx, hm_area *a, const hm_area_ref *parent,
                const hm_area_ref *siblings, size_t n_siblings, char *overlaps,
                size_t overlaps_size, hm_error *err);

/* ---- point-to-area index ------------------------------------------------ */

typedef struct hm_area_index hm_area_index;

/* One area handed to the index builder; strings and WKB are copied. */
typedef struct hm_area_src {
    hm_level level;
    const char *code;
    const unsigned char *wkb;
    size_t wkb_len;
} hm_area_src;

/* Build an immutable index over `n` areas of any levels (n may be 0). Returns
 * NULL with `err` filled on a bad WKB (HM_E_INVALID_FIELD naming the code) or
 * an unknown level. An invalid polygon is repaired (make-valid) and logged at
 * warn level; its answers are then those of GEOS covers on the repaired area.
 * The result is safe to query from any number of threads at once without a
 * GEOS context (lookup does not call GEOS). Builds with its own GEOS context,
 * so it may run on any thread. Caller frees with hm_area_index_destroy()
 * (accepts NULL). */
hm_area_index *hm_area_index_create(const hm_area_src *areas, size_t n, hm_error *err);
void hm_area_index_destroy(hm_area_index *idx);

/* For each level, the code of the area that covers (lon, lat) — interior or
 * boundary — choosing the lowest code (strcmp order) when several do; NULL
 * when none, and for NaN or infinite input. The answer is identical to
 * testing GEOSCovers on every area in code order. `out[level]` borrows from
 * the index. Thread-safe, allocation-free, never fails. At least 1,000,000
 * lookups per second on one core for all three levels together
 * (tests/geodata/area_speed measures it). */
void hm_area_index_locate(const hm_area_index *idx, double lon, double lat,
                          const char *out[HM_LEVEL__COUNT]);

/* Number of areas of `level` in the index. */
size_t hm_area_index_count(const hm_area_index *idx, hm_level level);

#endif
