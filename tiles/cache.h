/* cache.h: the in-memory tile cache shared by all server threads. Owns
 * encoded tiles with their gzip'd copy and ETag (hm_tile_blob), the LRU
 * bound in bytes, per-layer maximum age, and precise invalidation: a point
 * drops only the requests tiles that show it, at every zoom. Not encoding
 * (mvt.h), not HTTP (the caller sends the bytes, headers and statuses).
 *
 * Thread-safe: one mutex, held only for hash lookups and list moves. No
 * GEOS, SQLite or zlib call runs under it (gzip happens in
 * hm_tile_blob_create(), before hm_tile_cache_put()).
 *
 * The generation protocol, which keeps a tile computed from data older than
 * an invalidation out of the cache:
 *
 *     hm_tile_blob *b = hm_tile_cache_get(cache, &key);   // new reference
 *     if (!b) {
 *         uint64_t gen = hm_tile_cache_generation(cache); // 1. BEFORE reading data
 *         ... read points/areas from the store, encode into buf ...
 *         b = hm_tile_blob_create(buf.data, buf.len, &err); // 2. gzip + ETag
 *         hm_tile_cache_put(cache, &key, b, gen);           // 3. stored only if no
 *     }                                                     //    invalidation since
 *     ... answer with b->data / b->gz; 204 when b->len == 0 ...  gen touched key
 *     hm_tile_blob_release(b);                              // 4. (e.g. in MHD's free
 *                                                           //    callback)
 *
 * and a writer calls hm_tile_cache_invalidate_point() AFTER its change is
 * committed. Any read that could have missed the change started before the
 * invalidation, so its `gen` is older and its put is refused when the
 * invalidation touches its tile. The cache keeps the last 4096
 * invalidations to decide this; a put whose `gen` is older than all of them
 * is refused as well (safe, merely uncached). */
#ifndef HM_TILE_CACHE_H
#define HM_TILE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_error.h"
#include "mvt.h"
#include "tile.h"

/* An immutable encoded tile, reference counted. The fields are read-only for
 * everyone; the memory belongs to the blob. */
typedef struct hm_tile_blob {
    const unsigned char *data; /* MVT bytes; NULL when len == 0 */
    size_t len;                /* 0: empty tile (answer 204) */
    const unsigned char *gz;   /* gzip (RFC 1952) of data; NULL when len == 0 */
    size_t gz_len;
    char etag[24];    /* strong ETag of `data`, quotes included: "\"1f2e...\"" */
    char etag_gz[27]; /* ETag of the gzip'd representation: "\"1f2e...-gz\"" */
} hm_tile_blob;

/* Copy data[0..len) (len may be 0, data then may be NULL), gzip it and
 * compute its ETags (a CRC-32 and an Adler-32 of the bytes: equal tiles get
 * equal ETags, even after invalidation and recomputation). Returns a blob
 * with one reference (caller releases with hm_tile_blob_release()), or NULL
 * with HM_E_INTERNAL when zlib fails. Thread-safe. */
hm_tile_blob *hm_tile_blob_create(const void *data, size_t len, hm_error *err);

/* Take one more reference; returns `b`. Thread-safe. */
hm_tile_blob *hm_tile_blob_ref(hm_tile_blob *b);

/* Drop one reference; the last frees the blob. Accepts NULL. Thread-safe. */
void hm_tile_blob_release(hm_tile_blob *b);

/* True when the If-None-Match header value `header` (NULL: false) lists
 * either ETag of `b` or is "*". Weak comparison (RFC 9110 13.1.2): a "W/"
 * prefix is ignored. */
bool hm_tile_blob_etag_match(const hm_tile_blob *b, const char *header);

/* Cache key. `filter` is the canonical form of the query's filters (same
 * filter => same bytes, e.g. "status=open&category=food", or NULL/"" for
 * none), built by the caller from parsed values in a fixed order, never the
 * raw query string (which may carry a token). Copied by put. */
typedef struct hm_tile_key {
    hm_tile_layer layer;
    hm_tile tile;
    const char *filter;
} hm_tile_key;

typedef struct hm_tile_cache_options {
    size_t max_bytes;   /* bound on entries' bytes (data + gzip + bookkeeping); 64 MiB */
    hm_mvt_options mvt; /* the encoder's options: decide which tiles show a point */
    /* Seconds after which an entry of the layer counts as missing; 0 = until
     * invalidated. Default 0 for requests (invalidated per point) and 60 for
     * the polygon layers, whose `open` counts change with every request
     * unless the caller invalidates them itself. */
    int max_age_s[HM_TILE_LAYER__COUNT];
} hm_tile_cache_options;

/* Fill `o` with the defaults above. Can't fail. */
void hm_tile_cache_options_init(hm_tile_cache_options *o);

typedef struct hm_tile_cache hm_tile_cache;

/* Returns a new, empty cache (caller frees with hm_tile_cache_destroy()), or
 * NULL with HM_E_INVALID_FIELD (field "mvt_options" or "max_bytes") for bad
 * options, HM_E_INTERNAL when the mutex cannot be created. NULL `o` means
 * the defaults. */
hm_tile_cache *hm_tile_cache_create(const hm_tile_cache_options *o, hm_error *err);

/* Free the cache and drop its references to blobs (blobs still referenced
 * by callers stay valid). Accepts NULL. No other thread may use the cache. */
void hm_tile_cache_destroy(hm_tile_cache *c);

/* The cached blob for `key` with a new reference (caller releases with
 * hm_tile_blob_release()), or NULL when absent or older than the layer's
 * max_age_s. A hit makes the entry the most recently used. Thread-safe. */
hm_tile_blob *hm_tile_cache_get(hm_tile_cache *c, const hm_tile_key *key);

/* The current generation: read it before reading the data a tile is made
 * from, and pass it to hm_tile_cache_put(). Thread-safe. */
uint64_t hm_tile_cache_generation(hm_tile_cache *c);

/* Store `b` under `key` (the cache takes its own reference; the caller keeps
 * its own), replacing an older entry, then evict least recently used entries
 * until the bound holds. Not stored, returning false, when an invalidation
 * since `gen` touched `key` (or is too old to tell), when `b` alone exceeds
 * max_bytes, or when `key` is not a valid tile. Thread-safe. */
bool hm_tile_cache_put(hm_tile_cache *c, const hm_tile_key *key, hm_tile_blob *b, uint64_t gen);

/* A request at (lon, lat) was created, changed status or was deleted: drop
 * every requests-layer tile, with any filter, that can show it - at every
 * zoom the tile that holds the point and the neighbours whose buffer (or, at
 * cluster zooms, cluster ring) holds it - and no other tile. Pass the
 * position as tiles show it (snapped to 0.001 degree); a request that moved
 * needs a call for the old and the new position. Returns the number of
 * entries dropped. Thread-safe. */
size_t hm_tile_cache_invalidate_point(hm_tile_cache *c, double lon, double lat);

/* Drop every tile of `layer` (e.g. after areas of that level changed).
 * Returns the number of entries dropped. Thread-safe. */
size_t hm_tile_cache_invalidate_layer(hm_tile_cache *c, hm_tile_layer layer);

/* Drop the tiles of `layer` whose buffered extent meets the lon/lat box
 * bbox = {minLon, minLat, maxLon, maxLat} (e.g. one ward's bounding box when
 * its counts changed). Scans that layer's entries. Returns the number
 * dropped. Thread-safe. */
size_t hm_tile_cache_invalidate_bbox(hm_tile_cache *c, hm_tile_layer layer, const double bbox[4]);

/* Counters for /metrics. */
typedef struct hm_tile_cache_stats {
    size_t entries;
    size_t bytes;
    size_t max_bytes;
    uint64_t hits;
    uint64_t misses;
    uint64_t puts;
    uint64_t puts_refused; /* stale generation or too large */
    uint64_t evictions;    /* dropped by the byte bound */
    uint64_t invalidated;  /* dropped by invalidation */
} hm_tile_cache_stats;

/* A consistent snapshot of the counters. Thread-safe. */
void hm_tile_cache_stats_get(hm_tile_cache *c, hm_tile_cache_stats *out);

#endif
