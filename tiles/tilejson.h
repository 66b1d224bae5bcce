/* tilejson.h: the TileJSON 3.0.0 document of one layer, served at
 * /tiles/{layer}.json. Owns the document's shape (tiles URL template, zoom
 * range, bounds, center, vector_layers with the fields of mvt.h's schema);
 * not where the bounds come from (the caller passes the loaded areas'
 * extent) and not HTTP. Thread-safe. */
#ifndef HM_TILEJSON_H
#define HM_TILEJSON_H

#include "hm_buf.h"
#include "hm_error.h"
#include "tile.h"

typedef struct hm_tilejson_params {
    /* Scheme, host and port clients use to reach the server, without a
     * trailing slash: "https://map.example.org"; or "/" for root-relative
     * URLs ("/tiles/..."), which a page resolves against its own origin (the
     * server's default: never an address taken from a Host header). Required. */
    const char *base_url;
    /* Query string appended to the tile URL template, without '?', e.g. the
     * canonical filter "status=all"; NULL or "" for none. Never pass a token. */
    const char *query;
    int minzoom; /* 0..maxzoom */
    int maxzoom; /* minzoom..HM_TILE_MAX_ZOOM */
    /* {minLon, minLat, maxLon, maxLat} of the loaded areas; NULL: the whole
     * Web Mercator world. `center` is its middle at the zoom where it fits
     * one tile, clamped to minzoom..maxzoom. */
    const double *bounds;
    const char *attribution; /* HTML, may be NULL */
} hm_tilejson_params;

/* Append the TileJSON document for `layer` to `out` (UTF-8 JSON, no trailing
 * newline). Returns HM_OK, or HM_E_INVALID_FIELD (field "base_url", "zoom"
 * or "bounds") for bad parameters, HM_E_NOMEM when jansson fails; `out` is
 * unchanged on error. */
int hm_tilejson_write(hm_tile_layer layer, const hm_tilejson_params *p, hm_buf *out, hm_error *err);

#endif
