/* tile.h: tile addressing for /tiles/. Owns the layer names, the parsing of a
 * tile path, and the Web Mercator (EPSG:3857) tile math: tile <-> lon/lat
 * bounds, the tile that holds a point, and the tiles whose buffered extent
 * holds a point (for cache invalidation). Not encoding (mvt.h), not caching
 * (cache.h) and not HTTP: callers map the hm_err codes to statuses.
 *
 * Scheme: XYZ ("Google"), x from the antimeridian eastwards, y from the north
 * downwards, zoom 0..HM_TILE_MAX_ZOOM. All functions are pure and
 * thread-safe. */
#ifndef HM_TILE_H
#define HM_TILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_error.h"

#define HM_TILE_MAX_ZOOM 22
/* Latitude where Web Mercator's square world ends: atan(sinh(pi)). Points
 * beyond are clamped to it. */
#define HM_TILE_MAX_LAT 85.0511287798066

/* The layers served under /tiles/. The order is the cache's and TileJSON's. */
typedef enum hm_tile_layer {
    HM_TILE_REQUESTS = 0,     /* "requests": points or clusters */
    HM_TILE_WARDS = 1,        /* "wards": area level "ward" */
    HM_TILE_FORMER_WARDS = 2, /* "former_wards": area level "former_ward" */
    HM_TILE_HAMLETS = 3,      /* "hamlets": area level "hamlet" */
    HM_TILE_POINTS = 4,       /* "points": relief points (shelters, food, water, ...) */
    HM_TILE_LAYER__COUNT
} hm_tile_layer;

/* One tile. Valid when z <= HM_TILE_MAX_ZOOM and x, y < 2^z. */
typedef struct hm_tile {
    int z;
    uint32_t x;
    uint32_t y;
} hm_tile;

/* What a path below /tiles/ names. */
typedef struct hm_tile_path {
    hm_tile_layer layer;
    bool tilejson; /* "{layer}.json"; `tile` is then {0, 0, 0} */
    hm_tile tile;  /* "{layer}/{z}/{x}/{y}.mvt" */
} hm_tile_path;

/* The layer's name in paths, in the MVT and in TileJSON ("former_wards").
 * Returns "" for a value out of range. */
const char *hm_tile_layer_name(hm_tile_layer layer);

/* The area level a polygon layer shows ("ward", "former_ward", "hamlet"),
 * NULL for HM_TILE_REQUESTS and HM_TILE_POINTS. Same strings as geodata's hm_level_name(). */
const char *hm_tile_layer_level(hm_tile_layer layer);

/* Parse a layer name of `len` bytes (not NUL-terminated). Returns HM_OK and
 * sets *out, or HM_E_NOT_FOUND (field "layer") for an unknown name. */
int hm_tile_layer_parse(const char *s, size_t len, hm_tile_layer *out, hm_error *err);

/* Parse the part of a tile URL after "/tiles/", without the query string:
 * "requests/14/13107/7589.mvt" or "wards.json".
 * Returns HM_OK and fills *out, or:
 *   HM_E_NOT_FOUND (field "layer")  - empty path or an unknown layer name
 *                                     ("/tiles/", "/tiles/roads/1/0/0.mvt");
 *   HM_E_INVALID_FIELD (field "path") - a known layer followed by anything but
 *                                     ".json" or "/z/x/y.mvt" with plain
 *                                     decimal numbers (no sign, no spaces, at
 *                                     most 10 digits, no extra segments, no
 *                                     '?', other extensions such as ".pbf");
 *   HM_E_INVALID_FIELD (field "z", "x" or "y") - a number out of range:
 *                                     z > HM_TILE_MAX_ZOOM, x or y >= 2^z.
 * So the edge answers 404 for an unknown layer and 400 for every malformed
 * or out-of-range tile of a known layer. *out is untouched on error. */
int hm_tile_path_parse(const char *path, size_t len, hm_tile_path *out, hm_error *err);

/* True when z, x and y are in range. */
bool hm_tile_valid(const hm_tile *t);

/* Lon/lat bounds of tile `t`: bbox = {minLon, minLat, maxLon, maxLat}. */
void hm_tile_bounds(const hm_tile *t, double bbox[4]);

/* Bounds of `t` grown on each side by `margin` times the tile's width in
 * Mercator (e.g. 64.0 / 4096 for a 64-unit buffer at extent 4096), clamped to
 * the world. The margin is measured in projected space, so the lon/lat box is
 * exact for what the encoder includes. */
void hm_tile_bounds_buffered(const hm_tile *t, double margin, double bbox[4]);

/* Web Mercator in "world" units: wx, wy in [0, 1], (0, 0) the north-west
 * corner. Latitude is clamped to +-HM_TILE_MAX_LAT; lon is not wrapped. */
void hm_tile_lonlat_to_world(double lon, double lat, double *wx, double *wy);
void hm_tile_world_to_lonlat(double wx, double wy, double *lon, double *lat);

/* The tile at zoom `z` that holds (lon, lat); a point on an edge belongs to
 * the tile east/south of it, the world's east and south edges to the last
 * tile. Returns HM_OK, or HM_E_INVALID_FIELD (field "lon", "lat" or "z") for
 * a non-finite or out-of-range value. */
int hm_tile_at(double lon, double lat, int z, hm_tile *out, hm_error *err);

/* The tiles at zoom `z` whose extent grown by `margin` (fraction of a tile,
 * 0 <= margin < 0.5) holds (lon, lat): the tile itself and up to three
 * neighbours. Writes them to out[0..n) and returns n (0 for a non-finite or
 * out-of-range point). Edges count as inside, so the answer is a superset of
 * what an encoder with the same margin puts in each tile. */
size_t hm_tile_containing(double lon, double lat, int z, double margin, hm_tile out[4]);

#endif
