/* mbtiles.h: read-only access to an MBTiles 1.3 file of vector tiles (the
 * street map served at /tiles/basemap/, made by basemap.h's build). Owns the
 * SQLite connections to the file, the TMS row flip, the ETag of a stored tile
 * and the TileJSON 3.0.0 document of the file; not HTTP (the caller maps the
 * codes to statuses and sets the headers) and not writing (tilemaker writes).
 *
 * Threads: one hm_mbtiles is shared by every HTTP thread after
 * hm_mbtiles_open(). Its metadata is immutable. Tile reads take a connection
 * from a small pool (opened SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, one
 * thread at a time each, with its prepared statement): the pool's mutex
 * guards only the free list, no SQLite call runs under it, and a new
 * connection is opened when every pooled one is busy, so N threads reading at
 * once hold N connections and never wait for each other. SQLite itself lets
 * any number of read-only connections read the same file concurrently.
 *
 * PMTiles is not read: Debian 12 has no tool that writes it (tilemaker 2.2
 * writes MBTiles), so there would be nothing to test it against. */
#ifndef HM_MBTILES_H
#define HM_MBTILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_buf.h"
#include "hm_error.h"
#include "tile.h"

typedef struct hm_mbtiles hm_mbtiles;

/* What the file's `metadata` table says. Strings are NULL when absent. */
typedef struct hm_mbtiles_info {
    const char *name;
    const char *description;
    const char *attribution; /* HTML, e.g. the OpenStreetMap notice */
    const char *format;      /* "pbf" (checked by hm_mbtiles_open) */
    int minzoom;             /* from metadata, else from the tiles table */
    int maxzoom;
    bool has_bounds;
    double bounds[4]; /* minLon, minLat, maxLon, maxLat */
    bool has_center;
    double center[3]; /* lon, lat, zoom */
    /* The "vector_layers" array of the `json` row, as JSON text ("[...]"), or
     * NULL when the row is missing or unreadable. */
    const char *vector_layers;
} hm_mbtiles_info;

/* How a stored tile is compressed; the edge sends gzip as
 * "Content-Encoding: gzip" (or inflates it for a client that does not
 * accept gzip, and then sends another ETag). */
typedef enum hm_mbtiles_encoding {
    HM_MBTILES_RAW = 0,  /* plain protobuf */
    HM_MBTILES_GZIP = 1, /* gzip member (tilemaker's "compress": "gzip") */
    HM_MBTILES_ZLIB = 2, /* zlib stream (some older tools) */
} hm_mbtiles_encoding;

/* One stored tile. Caller owns `data` and frees it with hm_mbtiles_blob_clear(). */
typedef struct hm_mbtiles_blob {
    void *data;
    size_t len;
    hm_mbtiles_encoding encoding;
    /* Strong ETag of the stored bytes, quotes included: "\"b-0123456789abcdef\""
     * (64-bit FNV-1a of the bytes), ready for the ETag header. */
    char etag[24];
} hm_mbtiles_blob;

/* Open `path` read-only and read its metadata. Checks that it is an MBTiles
 * file of vector tiles: tables `tiles` and `metadata`, format "pbf" (a
 * missing format is taken as "pbf").
 * Returns a new handle, or NULL with `err` set:
 *   HM_E_NOT_FOUND (field "basemap")     - no such file;
 *   HM_E_INVALID_FIELD (field "basemap") - not SQLite, no tiles table, or
 *                                          raster tiles (format png/jpg/webp);
 *   HM_E_DB                              - any other SQLite failure.
 * Caller frees with hm_mbtiles_close(). Not thread-safe itself: open before
 * the threads start. */
hm_mbtiles *hm_mbtiles_open(const char *path, hm_error *err);

/* Close every pooled connection and free the handle. No call on `mb` may be
 * in progress. Accepts NULL. */
void hm_mbtiles_close(hm_mbtiles *mb);

/* The file's metadata; borrowed, valid until hm_mbtiles_close(). Thread-safe. */
const hm_mbtiles_info *hm_mbtiles_info_get(const hm_mbtiles *mb);

/* Read tile `t` (XYZ: y from the north; the TMS row flip is done here).
 * Returns HM_OK and fills *out (caller clears it), or:
 *   HM_E_INVALID_FIELD (field "z", "x" or "y") - tile out of range;
 *   HM_E_NOT_FOUND (field "tile")   - the file has no such tile: answer 204;
 *   HM_E_DB                         - SQLite failed (message in err).
 * *out is untouched on error. Thread-safe: any number of threads at once. */
int hm_mbtiles_tile_get(hm_mbtiles *mb, const hm_tile *t, hm_mbtiles_blob *out, hm_error *err);

/* Free the bytes of `b` and reset it. Accepts a zeroed blob. */
void hm_mbtiles_blob_clear(hm_mbtiles_blob *b);

/* Called by hm_mbtiles_each() with each stored tile at the zoom asked for:
 * the tile and its stored bytes (borrowed, valid during the call). Return
 * HM_OK to go on; anything else stops the walk and is returned by
 * hm_mbtiles_each(). */
typedef int (*hm_mbtiles_tile_fn)(const hm_tile *t, const hm_mbtiles_blob *blob, void *ctx);

/* Call `fn` for every tile stored at zoom `z`, in (x, y) order.
 * Returns HM_OK, what `fn` returned when it stopped the walk, or HM_E_DB.
 * Thread-safe (uses its own pooled connection). */
int hm_mbtiles_each(hm_mbtiles *mb, int z, hm_mbtiles_tile_fn fn, void *ctx, hm_error *err);

/* Append the TileJSON 3.0.0 document of the file to `out`: tiles URL
 * "<base_url>/tiles/basemap/{z}/{x}/{y}.mvt", scheme xyz, zoom range,
 * bounds, center, name, description, attribution and vector_layers from the
 * metadata.
 * `base_url`: scheme, host and port the clients use, e.g.
 * "https://map.example.org" (a trailing '/' is dropped), from the server's
 * configuration and never from a Host header; NULL or "" gives a relative
 * URL "/tiles/basemap/{z}/{x}/{y}.mvt" (a page must make it absolute before
 * MapLibre's worker fetches it, as web/assets/js/mapkit.js tileJSON() does).
 * Returns HM_OK, HM_E_INVALID_FIELD (field "base_url") for a base that is
 * not http:// or https:// or holds a query, fragment or quote, or
 * HM_E_NOMEM; `out` is unchanged on error. Thread-safe. */
int hm_mbtiles_tilejson(const hm_mbtiles *mb, const char *base_url, hm_buf *out, hm_error *err);

/* Inflate a gzip or zlib stream (`data`, `len`) and append the result to
 * `out`; at most `max_len` bytes of output (0: 64 MiB). Returns HM_OK, or
 * HM_E_INVALID_FIELD (field "tile") for corrupt or oversized data; `out` is
 * unchanged on error. Thread-safe. */
int hm_mbtiles_inflate(const void *data, size_t len, size_t max_len, hm_buf *out, hm_error *err);

#endif
