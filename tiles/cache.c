/* cache.c: the shared tile cache; see cache.h. One mutex guards a hash
 * table keyed by (layer, z, x, y) - all filters of a tile share a chain, so
 * invalidation finds them with one probe - a global LRU list, one list per
 * layer (for layer and bbox invalidation), and a ring of recent
 * invalidations for the generation protocol. */
#include "cache.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* ---- blobs ------------------------------------------------------------------ */

typedef struct blob {
    hm_tile_blob pub; /* first: hm_tile_blob * and blob * convert */
    atomic_size_t refs;
    unsigned char bytes[]; /* data, then gz */
} blob;

/* gzip level, once per cached tile. Measured on requests tiles: level 3 is
 * within 4 % of level 6's size at a third of its time (0.36 ms vs 1.05 ms
 * for a 33 KB z14 tile, 4.8 vs 12 ms for 330 KB), which matters for the
 * uncached z14 budget. Level 1 is 5 % larger than level 3 again at two thirds
 * of its time (bench/, 1M requests: 0.52 vs 0.78 ms for a 48 KB z14 tile,
 * 3.7 vs 5.9 ms for 292 KB), where gzip was half of an uncached tile's cost
 * (issue 7). */
#define GZIP_LEVEL 1

hm_tile_blob *hm_tile_blob_create(const void *data, size_t len, hm_error *err)
{
    z_stream zs;
    bool zs_live = false;
    unsigned char *gz = NULL;
    size_t gz_cap = 0, gz_len = 0;
    blob *b = NULL;
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0), adler = (uint32_t)adler32(0L, Z_NULL, 0);

    if (len > 0) {
        memset(&zs, 0, sizeof zs);
        if (deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            hm_error_set(err, HM_E_INTERNAL, NULL, "deflateInit2 failed");
            goto out;
        }
        zs_live = true;
        gz_cap = deflateBound(&zs, (uLong)len);
        gz = hm_xmalloc(gz_cap);
        zs.next_in = (Bytef *)data;
        zs.avail_in = (uInt)len;
        zs.next_out = gz;
        zs.avail_out = (uInt)gz_cap;
        if (len > UINT32_MAX || deflate(&zs, Z_FINISH) != Z_STREAM_END) {
            hm_error_set(err, HM_E_INTERNAL, NULL, "deflate failed");
            goto out;
        }
        gz_len = gz_cap - zs.avail_out;
        crc = (uint32_t)crc32(crc, data, (uInt)len);
        adler = (uint32_t)adler32(adler, data, (uInt)len);
    }

    b = hm_xmalloc(sizeof *b + len + gz_len);
    memset(&b->pub, 0, sizeof b->pub);
    atomic_init(&b->refs, 1);
    if (len > 0) {
        memcpy(b->bytes, data, len);
        memcpy(b->bytes + len, gz, gz_len);
        b->pub.data = b->bytes;
        b->pub.gz = b->bytes + len;
    }
    b->pub.len = len;
    b->pub.gz_len = gz_len;
    snprintf(b->pub.etag, sizeof b->pub.etag, "\"%08x%08x\"", crc, adler);
    snprintf(b->pub.etag_gz, sizeof b->pub.etag_gz, "\"%08x%08x-gz\"", crc, adler);
out:
    if (zs_live)
        deflateEnd(&zs);
    free(gz);
    return b ? &b->pub : NULL;
}

hm_tile_blob *hm_tile_blob_ref(hm_tile_blob *pub)
{
    blob *b = (blob *)pub;

    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return pub;
}

void hm_tile_blob_release(hm_tile_blob *pub)
{
    blob *b = (blob *)pub;

    if (!b)
        return;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

/* Does the quoted tag at [s, s + n) equal `etag` (quotes included)? */
static bool tag_equal(const char *s, size_t n, const char *etag)
{
    return strlen(etag) == n && memcmp(s, etag, n) == 0;
}

bool hm_tile_blob_etag_match(const hm_tile_blob *b, const char *h)
{
    if (!h)
        return false;
    while (*h) {
        const char *end;

        while (*h == ' ' || *h == '\t' || *h == ',')
            h++;
        if (*h == '*')
            return true;
        if (h[0] == 'W' && h[1] == '/')
            h += 2;
        if (*h != '"') {
            /* not an entity-tag: skip to the next list element */
            while (*h && *h != ',')
                h++;
            continue;
        }
        end = strchr(h + 1, '"');
        if (!end)
            return false;
        if (tag_equal(h, (size_t)(end - h + 1), b->etag) ||
            tag_equal(h, (size_t)(end - h + 1), b->etag_gz))
            return true;
        h = end + 1;
    }
    return false;
}

/* ---- cache ------------------------------------------------------------------ */

typedef struct entry {
    struct entry *hnext;         /* hash chain */
    struct entry *prev, *next;   /* LRU list, most recent first */
    struct entry *lprev, *lnext; /* this layer's list */
    uint32_t hash;
    hm_tile_layer layer;
    hm_tile tile;
    char *filter; /* "" for none */
    hm_tile_blob *blob;
    size_t bytes;
    double stored_s; /* CLOCK_MONOTONIC */
} entry;

enum { EV_POINT, EV_LAYER, EV_BBOX };

/* One invalidation, kept for puts that started before it. */
typedef struct event {
    uint64_t gen;
    int kind;
    hm_tile_layer layer;
    double w[4]; /* EV_POINT, EV_BBOX: the Mercator world box x0, y0, x1, y1 */
} event;

#define LOG_SIZE 4096

struct hm_tile_cache {
    pthread_mutex_t mu;
    hm_tile_cache_options opt;
    entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    entry *lru_head, *lru_tail;
    entry *layers[HM_TILE_LAYER__COUNT];
    uint64_t gen; /* invalidations so far; event `g` is log[g % LOG_SIZE] */
    event log[LOG_SIZE];
    hm_tile_cache_stats stats;
};

void hm_tile_cache_options_init(hm_tile_cache_options *o)
{
    o->max_bytes = (size_t)64 << 20;
    hm_mvt_options_init(&o->mvt);
    for (int i = 0; i < HM_TILE_LAYER__COUNT; i++)
        o->max_age_s[i] = i == HM_TILE_REQUESTS ? 0 : 60;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t tile_hash(hm_tile_layer layer, const hm_tile *t)
{
    uint64_t v = ((uint64_t)t->x << 32 | t->y) ^ ((uint64_t)(t->z * 8 + (int)layer) << 56);

    v ^= v >> 33;
    v *= UINT64_C(0xff51afd7ed558ccd);
    v ^= v >> 33;
    v *= UINT64_C(0xc4ceb9fe1a85ec53);
    v ^= v >> 33;
    return (uint32_t)v;
}

hm_tile_cache *hm_tile_cache_create(const hm_tile_cache_options *o, hm_error *err)
{
    hm_tile_cache_options defaults;
    hm_tile_cache *c;

    if (!o) {
        hm_tile_cache_options_init(&defaults);
        o = &defaults;
    }
    if (hm_mvt_options_check(&o->mvt, err) != HM_OK)
        return NULL;
    if (o->max_bytes == 0) {
        hm_error_set(err, HM_E_INVALID_FIELD, "max_bytes", "tile cache size must be positive");
        return NULL;
    }
    c = hm_xcalloc(1, sizeof *c);
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        hm_error_set(err, HM_E_INTERNAL, NULL, "pthread_mutex_init failed");
        return NULL;
    }
    c->opt = *o;
    c->nbuckets = 1024;
    c->buckets = hm_xcalloc(c->nbuckets, sizeof *c->buckets);
    c->stats.max_bytes = o->max_bytes;
    return c;
}

static void entry_free(entry *e)
{
    hm_tile_blob_release(e->blob);
    free(e->filter);
    free(e);
}

void hm_tile_cache_destroy(hm_tile_cache *c)
{
    entry *e;

    if (!c)
        return;
    e = c->lru_head;
    while (e) {
        entry *next = e->next;
        entry_free(e);
        e = next;
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static bool key_equal(const entry *e, uint32_t hash, const hm_tile_key *k, const char *filter)
{
    return e->hash == hash && e->layer == k->layer && e->tile.z == k->tile.z &&
           e->tile.x == k->tile.x && e->tile.y == k->tile.y && strcmp(e->filter, filter) == 0;
}

/* Find the entry for `k`. Caller holds the lock. */
static entry *find(hm_tile_cache *c, const hm_tile_key *k, uint32_t hash)
{
    const char *filter = k->filter ? k->filter : "";

    for (entry *e = c->buckets[hash & (c->nbuckets - 1)]; e; e = e->hnext)
        if (key_equal(e, hash, k, filter))
            return e;
    return NULL;
}

static void lru_unlink(hm_tile_cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(hm_tile_cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->lru_head;
    if (c->lru_head)
        c->lru_head->prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

/* Unlink `e` from every structure and free it. Caller holds the lock. */
static void remove_entry(hm_tile_cache *c, entry *e)
{
    entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(c, e);
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        c->layers[e->layer] = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    assert(c->stats.bytes >= e->bytes && c->count > 0);
    c->stats.bytes -= e->bytes;
    c->count--;
    entry_free(e);
}

static bool expired(const hm_tile_cache *c, const entry *e, double now)
{
    int max_age = c->opt.max_age_s[e->layer];

    return max_age > 0 && now - e->stored_s >= (double)max_age;
}

hm_tile_blob *hm_tile_cache_get(hm_tile_cache *c, const hm_tile_key *key)
{
    uint32_t hash = tile_hash(key->layer, &key->tile);
    hm_tile_blob *b = NULL;
    double now = now_s();
    entry *e;

    pthread_mutex_lock(&c->mu);
    e = find(c, key, hash);
    if (e && expired(c, e, now)) {
        remove_entry(c, e);
        e = NULL;
    }
    if (e) {
        lru_unlink(c, e);
        lru_push_front(c, e);
        b = hm_tile_blob_ref(e->blob);
        c->stats.hits++;
    } else {
        c->stats.misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return b;
}

uint64_t hm_tile_cache_generation(hm_tile_cache *c)
{
    uint64_t g;

    pthread_mutex_lock(&c->mu);
    g = c->gen;
    pthread_mutex_unlock(&c->mu);
    return g;
}

/* Margin (fraction of a tile) within which a point changes a requests tile
 * at zoom z, plus two units for rounding. */
static double point_margin(const hm_tile_cache *c, int z)
{
    return hm_mvt_points_margin(z, &c->opt.mvt) + 2.0 / c->opt.mvt.extent;
}

/* Margin for the polygon layers: the buffer plus two units. */
static double area_margin(const hm_tile_cache *c)
{
    return (c->opt.mvt.buffer + 2.0) / c->opt.mvt.extent;
}

/* Lon/lat box {minLon, minLat, maxLon, maxLat} -> world box {x0, y0, x1, y1}
 * (y grows southwards). Done before taking the lock, so that the checks
 * under it are plain arithmetic. */
static void world_box(const double bbox[4], double w[4])
{
    hm_tile_lonlat_to_world(bbox[0], bbox[3], &w[0], &w[1]);
    hm_tile_lonlat_to_world(bbox[2], bbox[1], &w[2], &w[3]);
}

/* Does the world box `w` meet tile `t` grown by `margin` (fraction of a
 * tile)? Edges count; NaN meets nothing. */
static bool tile_meets(const hm_tile *t, double margin, const double w[4])
{
    double n = ldexp(1.0, t->z);

    return w[2] * n >= t->x - margin && w[0] * n <= t->x + 1.0 + margin &&
           w[3] * n >= t->y - margin && w[1] * n <= t->y + 1.0 + margin;
}

static double layer_margin(const hm_tile_cache *c, hm_tile_layer layer, int z)
{
    return layer == HM_TILE_REQUESTS ? point_margin(c, z) : area_margin(c);
}

static bool event_touches(const hm_tile_cache *c, const event *ev, const hm_tile_key *k)
{
    if (ev->kind == EV_LAYER)
        return k->layer == ev->layer;
    return k->layer == ev->layer &&
           tile_meets(&k->tile, layer_margin(c, k->layer, k->tile.z), ev->w);
}

/* May a tile computed at generation `gen` be stored? Caller holds the lock. */
static bool still_fresh(const hm_tile_cache *c, const hm_tile_key *k, uint64_t gen)
{
    if (gen > c->gen || c->gen - gen > LOG_SIZE)
        return false;
    for (uint64_t g = gen + 1; g <= c->gen; g++) {
        const event *ev = &c->log[g % LOG_SIZE];
        assert(ev->gen == g);
        if (event_touches(c, ev, k))
            return false;
    }
    return true;
}

static void grow_buckets(hm_tile_cache *c)
{
    size_t n = c->nbuckets * 2;
    entry **nb = hm_xcalloc(n, sizeof *nb);

    for (size_t i = 0; i < c->nbuckets; i++) {
        entry *e = c->buckets[i];
        while (e) {
            entry *next = e->hnext;
            e->hnext = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = nb;
    c->nbuckets = n;
}

bool hm_tile_cache_put(hm_tile_cache *c, const hm_tile_key *key, hm_tile_blob *b, uint64_t gen)
{
    const char *filter = key->filter ? key->filter : "";
    uint32_t hash = tile_hash(key->layer, &key->tile);
    size_t bytes = sizeof(entry) + sizeof(blob) + strlen(filter) + 1 + b->len + b->gz_len;
    entry *e, *fresh = NULL;
    bool stored = false;

    if ((unsigned)key->layer >= HM_TILE_LAYER__COUNT || !hm_tile_valid(&key->tile))
        return false;
    /* Allocate outside the lock. */
    fresh = hm_xcalloc(1, sizeof *fresh);
    fresh->filter = hm_xstrdup(filter);

    pthread_mutex_lock(&c->mu);
    if (bytes > c->opt.max_bytes || !still_fresh(c, key, gen)) {
        c->stats.puts_refused++;
        goto unlock;
    }
    e = find(c, key, hash);
    if (e) {
        /* Replace the blob in place. */
        hm_tile_blob_release(e->blob);
        c->stats.bytes -= e->bytes;
        e->blob = hm_tile_blob_ref(b);
        e->bytes = bytes;
        e->stored_s = now_s();
        c->stats.bytes += bytes;
        lru_unlink(c, e);
        lru_push_front(c, e);
    } else {
        e = fresh;
        fresh = NULL;
        e->hash = hash;
        e->layer = key->layer;
        e->tile = key->tile;
        e->blob = hm_tile_blob_ref(b);
        e->bytes = bytes;
        e->stored_s = now_s();
        e->hnext = c->buckets[hash & (c->nbuckets - 1)];
        c->buckets[hash & (c->nbuckets - 1)] = e;
        lru_push_front(c, e);
        e->lnext = c->layers[e->layer];
        if (e->lnext)
            e->lnext->lprev = e;
        c->layers[e->layer] = e;
        c->count++;
        c->stats.bytes += bytes;
        if (c->count > c->nbuckets)
            grow_buckets(c);
    }
    while (c->stats.bytes > c->opt.max_bytes && c->lru_tail && c->lru_tail != e) {
        remove_entry(c, c->lru_tail);
        c->stats.evictions++;
    }
    c->stats.puts++;
    stored = true;
unlock:
    pthread_mutex_unlock(&c->mu);
    if (fresh) {
        free(fresh->filter);
        free(fresh);
    }
    return stored;
}

/* Record an invalidation for still_fresh(); `w` is its world box (NULL for
 * a whole layer). Caller holds the lock. */
static void log_event(hm_tile_cache *c, int kind, hm_tile_layer layer, const double *w)
{
    event *ev = &c->log[++c->gen % LOG_SIZE];

    ev->gen = c->gen;
    ev->kind = kind;
    ev->layer = layer;
    for (int i = 0; i < 4; i++)
        ev->w[i] = w ? w[i] : 0.0;
}

/* Remove every filter variant of (layer, tile). Caller holds the lock. */
static size_t drop_tile(hm_tile_cache *c, hm_tile_layer layer, const hm_tile *t)
{
    uint32_t hash = tile_hash(layer, t);
    entry *e = c->buckets[hash & (c->nbuckets - 1)];
    size_t n = 0;

    while (e) {
        entry *next = e->hnext;
        if (e->hash == hash && e->layer == layer && e->tile.z == t->z && e->tile.x == t->x &&
            e->tile.y == t->y) {
            remove_entry(c, e);
            n++;
        }
        e = next;
    }
    return n;
}

size_t hm_tile_cache_invalidate_point(hm_tile_cache *c, double lon, double lat)
{
    double box[4] = {lon, lat, lon, lat}, w[4];
    hm_tile tiles[HM_TILE_MAX_ZOOM + 1][4];
    size_t ntiles[HM_TILE_MAX_ZOOM + 1];
    size_t dropped = 0;

    /* Tile math outside the lock. */
    world_box(box, w);
    for (int z = 0; z <= HM_TILE_MAX_ZOOM; z++)
        ntiles[z] = hm_tile_containing(lon, lat, z, point_margin(c, z), tiles[z]);

    pthread_mutex_lock(&c->mu);
    log_event(c, EV_POINT, HM_TILE_REQUESTS, w);
    for (int z = 0; z <= HM_TILE_MAX_ZOOM; z++)
        for (size_t i = 0; i < ntiles[z]; i++)
            dropped += drop_tile(c, HM_TILE_REQUESTS, &tiles[z][i]);
    c->stats.invalidated += dropped;
    pthread_mutex_unlock(&c->mu);
    return dropped;
}

size_t hm_tile_cache_invalidate_layer(hm_tile_cache *c, hm_tile_layer layer)
{
    size_t dropped = 0;

    if ((unsigned)layer >= HM_TILE_LAYER__COUNT)
        return 0;
    pthread_mutex_lock(&c->mu);
    log_event(c, EV_LAYER, layer, NULL);
    while (c->layers[layer]) {
        remove_entry(c, c->layers[layer]);
        dropped++;
    }
    c->stats.invalidated += dropped;
    pthread_mutex_unlock(&c->mu);
    return dropped;
}

size_t hm_tile_cache_invalidate_bbox(hm_tile_cache *c, hm_tile_layer layer, const double bbox[4])
{
    size_t dropped = 0;
    double w[4];
    entry *e;

    if ((unsigned)layer >= HM_TILE_LAYER__COUNT)
        return 0;
    world_box(bbox, w);
    pthread_mutex_lock(&c->mu);
    log_event(c, EV_BBOX, layer, w);
    e = c->layers[layer];
    while (e) {
        entry *next = e->lnext;
        if (tile_meets(&e->tile, layer_margin(c, layer, e->tile.z), w)) {
            remove_entry(c, e);
            dropped++;
        }
        e = next;
    }
    c->stats.invalidated += dropped;
    pthread_mutex_unlock(&c->mu);
    return dropped;
}

void hm_tile_cache_stats_get(hm_tile_cache *c, hm_tile_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    out->entries = c->count;
    pthread_mutex_unlock(&c->mu);
}
