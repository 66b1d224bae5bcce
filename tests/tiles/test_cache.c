/* test_cache.c: the tile cache - blobs (gzip round trip, ETags and
 * If-None-Match), the LRU byte bound, precise invalidation (a point drops
 * exactly the requests tiles that show it, checked against the encoder
 * itself), layer and bbox invalidation, the generation protocol, and
 * threads hammering one cache. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cache.h"
#include "hm_test.h"

static hm_tile_key key_of(hm_tile_layer layer, int z, uint32_t x, uint32_t y, const char *filter)
{
    hm_tile_key k = {layer, {z, x, y}, filter};
    return k;
}

/* Put a small blob under k at the current generation; returns put's answer. */
static bool put_now(hm_tile_cache *c, hm_tile_key k, const char *content)
{
    hm_tile_blob *b = hm_tile_blob_create(content, strlen(content), NULL);
    bool ok = hm_tile_cache_put(c, &k, b, hm_tile_cache_generation(c));
    hm_tile_blob_release(b);
    return ok;
}

static bool cached(hm_tile_cache *c, hm_tile_key k)
{
    hm_tile_blob *b = hm_tile_cache_get(c, &k);
    hm_tile_blob_release(b);
    return b != NULL;
}

static void test_blob(void)
{
    unsigned char data[5000], back[6000];
    hm_tile_blob *a, *b, *e;
    z_stream zs;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 % 13);
    a = hm_tile_blob_create(data, sizeof data, NULL);
    CHECK(a != NULL && a->len == sizeof data && memcmp(a->data, data, sizeof data) == 0);
    CHECK(a->gz_len > 0 && a->gz_len < a->len);
    CHECK(a->gz[0] == 0x1f && a->gz[1] == 0x8b); /* gzip magic */

    /* gunzip gives the bytes back */
    memset(&zs, 0, sizeof zs);
    CHECK(inflateInit2(&zs, 15 + 16) == Z_OK);
    zs.next_in = (Bytef *)a->gz;
    zs.avail_in = (uInt)a->gz_len;
    zs.next_out = back;
    zs.avail_out = sizeof back;
    CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
    CHECK(zs.total_out == sizeof data && memcmp(back, data, sizeof data) == 0);
    inflateEnd(&zs);

    /* ETags: strong, quoted, equal for equal bytes, different otherwise,
     * and different between identity and gzip */
    b = hm_tile_blob_create(data, sizeof data, NULL);
    CHECK_STR_EQ(a->etag, b->etag);
    CHECK(a->etag[0] == '"' && a->etag[strlen(a->etag) - 1] == '"');
    CHECK(strcmp(a->etag, a->etag_gz) != 0);
    hm_tile_blob_release(b);
    data[100] ^= 1;
    b = hm_tile_blob_create(data, sizeof data, NULL);
    CHECK(strcmp(a->etag, b->etag) != 0);

    /* If-None-Match */
    static const struct {
        const char *header;
        bool match_a;
    } cases[] = {
        {NULL, false},
        {"", false},
        {"*", true},
        {"\"nope\"", false},
        {"\"nope\", *", true},
        {"garbage", false},
        {"\"unterminated", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_INT_EQ(hm_tile_blob_etag_match(a, cases[i].header), cases[i].match_a);
    char h[200];
    snprintf(h, sizeof h, "%s", a->etag);
    CHECK(hm_tile_blob_etag_match(a, h));
    CHECK(!hm_tile_blob_etag_match(b, h));
    snprintf(h, sizeof h, "W/%s", a->etag_gz);
    CHECK(hm_tile_blob_etag_match(a, h));
    snprintf(h, sizeof h, "\"x\", W/\"y\" ,%s", a->etag);
    CHECK(hm_tile_blob_etag_match(a, h));
    snprintf(h, sizeof h, "%.10s", a->etag); /* a prefix is not the tag */
    CHECK(!hm_tile_blob_etag_match(a, h));

    /* empty tile */
    e = hm_tile_blob_create(NULL, 0, NULL);
    CHECK(e != NULL && e->len == 0 && e->data == NULL && e->gz == NULL && e->gz_len == 0);
    CHECK(e->etag[0] == '"');

    /* references: the cache's and the caller's are independent */
    hm_tile_blob_ref(a);
    hm_tile_blob_release(a);
    CHECK(a->len == sizeof data);
    hm_tile_blob_release(a);
    hm_tile_blob_release(b);
    hm_tile_blob_release(e);
    hm_tile_blob_release(NULL);
}

static void test_get_put(void)
{
    hm_tile_cache *c = hm_tile_cache_create(NULL, NULL);
    hm_tile_key k = key_of(HM_TILE_REQUESTS, 14, 13038, 7688, "status=open");
    hm_tile_key other_filter = key_of(HM_TILE_REQUESTS, 14, 13038, 7688, "status=all");
    hm_tile_key no_filter = key_of(HM_TILE_REQUESTS, 14, 13038, 7688, NULL);
    hm_tile_key empty_filter = key_of(HM_TILE_REQUESTS, 14, 13038, 7688, "");
    hm_tile_key bad = key_of(HM_TILE_REQUESTS, 2, 4, 0, NULL);
    hm_tile_blob *b;
    hm_tile_cache_stats st;

    CHECK(c != NULL);
    CHECK(hm_tile_cache_get(c, &k) == NULL);
    CHECK(put_now(c, k, "open tile"));
    b = hm_tile_cache_get(c, &k);
    CHECK(b != NULL && b->len == 9 && memcmp(b->data, "open tile", 9) == 0);
    hm_tile_blob_release(b);
    CHECK(!cached(c, other_filter)); /* the filter is part of the key */
    CHECK(!cached(c, no_filter));
    CHECK(put_now(c, no_filter, "all"));
    CHECK(cached(c, empty_filter)); /* NULL and "" are the same filter */
    /* replacing keeps one entry */
    CHECK(put_now(c, k, "open tile v2"));
    b = hm_tile_cache_get(c, &k);
    CHECK(b != NULL && b->len == 12);
    hm_tile_blob_release(b);
    CHECK(!put_now(c, bad, "x")); /* not a tile */
    hm_tile_cache_stats_get(c, &st);
    CHECK_INT_EQ(st.entries, 2);
    CHECK(st.hits >= 3 && st.misses >= 3);
    hm_tile_cache_destroy(c);
    hm_tile_cache_destroy(NULL);

    hm_error err = {0};
    hm_tile_cache_options o;
    hm_tile_cache_options_init(&o);
    o.max_bytes = 0;
    CHECK(hm_tile_cache_create(&o, &err) == NULL);
    CHECK_STR_EQ(err.field, "max_bytes");
}

/* The byte bound holds, the least recently used entries go first, and a
 * blob larger than the whole cache is refused. */
static void test_lru_bound(void)
{
    hm_tile_cache_options o;
    hm_tile_cache *c;
    hm_tile_cache_stats st;
    static char content[4001];

    memset(content, 'a', 4000);
    hm_tile_cache_options_init(&o);
    o.max_bytes = 64 * 1024;
    c = hm_tile_cache_create(&o, NULL);
    for (uint32_t i = 0; i < 200; i++) {
        content[0] = (char)('a' + i % 26); /* vary the bytes a little */
        CHECK(put_now(c, key_of(HM_TILE_WARDS, 12, i, 0, NULL), content));
        /* keep tile 0 hot */
        CHECK(cached(c, key_of(HM_TILE_WARDS, 12, 0, 0, NULL)));
        hm_tile_cache_stats_get(c, &st);
        CHECK(st.bytes <= o.max_bytes);
    }
    hm_tile_cache_stats_get(c, &st);
    CHECK(st.entries > 5 && st.entries < 200);
    CHECK(st.evictions > 0);
    CHECK(cached(c, key_of(HM_TILE_WARDS, 12, 0, 0, NULL)));   /* recently used */
    CHECK(cached(c, key_of(HM_TILE_WARDS, 12, 199, 0, NULL))); /* newest */
    CHECK(!cached(c, key_of(HM_TILE_WARDS, 12, 1, 0, NULL)));  /* oldest */

    static char huge[70 * 1024 + 1];
    memset(huge, 'x', sizeof huge - 1);
    for (size_t i = 0; i < sizeof huge - 1; i += 7)
        huge[i] = (char)('a' + i * 31 % 26); /* resist compression */
    size_t before = st.entries;
    CHECK(!put_now(c, key_of(HM_TILE_WARDS, 12, 500, 0, NULL), huge));
    hm_tile_cache_stats_get(c, &st);
    CHECK_INT_EQ(st.entries, before); /* nothing evicted for it */
    hm_tile_cache_destroy(c);
}

/* Invalidating a point drops the tile that holds it at every zoom and the
 * neighbours whose buffer holds it, with every filter; tiles next to it,
 * tiles elsewhere and other layers stay. */
static void test_invalidate_point(void)
{
    hm_tile_cache *c = hm_tile_cache_create(NULL, NULL);
    hm_tile home14 = {14, 13038, 7688};
    double b[4], w, lon, lat;

    hm_tile_bounds(&home14, b);
    w = b[2] - b[0];
    /* 10 units inside the west edge of home14: in the buffer of 13037 */
    lon = b[0] + w * 10.0 / 4096;
    lat = (b[1] + b[3]) / 2;

    for (int z = 0; z <= HM_TILE_MAX_ZOOM; z++) {
        hm_tile t;
        hm_tile_at(lon, lat, z, &t, NULL);
        CHECK(put_now(c, key_of(HM_TILE_REQUESTS, z, t.x, t.y, NULL), "x"));
        CHECK(put_now(c, key_of(HM_TILE_REQUESTS, z, t.x, t.y, "status=all"), "x"));
        CHECK(put_now(c, key_of(HM_TILE_WARDS, z, t.x, t.y, NULL), "x"));
    }
    /* neighbours of home14 */
    for (int dx = -2; dx <= 2; dx++)
        for (int dy = -2; dy <= 2; dy++)
            if (dx || dy)
                put_now(c, key_of(HM_TILE_REQUESTS, 14, 13038 + dx, 7688 + dy, NULL), "n");

    size_t dropped = hm_tile_cache_invalidate_point(c, lon, lat);
    CHECK_INT_EQ(dropped, 2 * (HM_TILE_MAX_ZOOM + 1) + 1);
    for (int z = 0; z <= HM_TILE_MAX_ZOOM; z++) {
        hm_tile t;
        hm_tile_at(lon, lat, z, &t, NULL);
        CHECK(!cached(c, key_of(HM_TILE_REQUESTS, z, t.x, t.y, NULL)));
        CHECK(!cached(c, key_of(HM_TILE_REQUESTS, z, t.x, t.y, "status=all")));
        CHECK(cached(c, key_of(HM_TILE_WARDS, z, t.x, t.y, NULL)));
    }
    CHECK(!cached(c, key_of(HM_TILE_REQUESTS, 14, 13037, 7688, NULL))); /* its buffer */
    for (int dx = -2; dx <= 2; dx++)
        for (int dy = -2; dy <= 2; dy++)
            if ((dx || dy) && !(dx == -1 && dy == 0))
                CHECK(cached(c, key_of(HM_TILE_REQUESTS, 14, 13038 + dx, 7688 + dy, NULL)));

    /* a point in the middle of the tile leaves the neighbours alone */
    CHECK(put_now(c, key_of(HM_TILE_REQUESTS, 14, 13038, 7688, NULL), "x"));
    CHECK(put_now(c, key_of(HM_TILE_REQUESTS, 14, 13037, 7688, NULL), "x"));
    hm_tile_cache_invalidate_point(c, (b[0] + b[2]) / 2, lat);
    CHECK(!cached(c, key_of(HM_TILE_REQUESTS, 14, 13038, 7688, NULL)));
    CHECK(cached(c, key_of(HM_TILE_REQUESTS, 14, 13037, 7688, NULL)));
    hm_tile_cache_destroy(c);
}

static uint64_t rng_state = 88172645463325252u;

static double rng_unit(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* The cache and the encoder agree: whenever the encoder puts a point into a
 * tile (as a feature or in a cluster), invalidating that point drops the
 * tile. Points are taken near tile edges, where it matters. */
static void test_invalidation_covers_encoder(void)
{
    hm_tile_cache *c = hm_tile_cache_create(NULL, NULL);
    int shown = 0, dropped_ok = 0;

    for (int z = 0; z <= HM_TILE_MAX_ZOOM; z++) {
        for (int trial = 0; trial < 12; trial++) {
            hm_tile home;
            double b[4], lon, lat;
            hm_tile_at(106.5, 11.0, z, &home, NULL);
            hm_tile_bounds(&home, b);
            /* within 300 units of an edge or corner */
            double fx =
                trial % 3 == 0 ? rng_unit() : (rng_unit() < 0.5 ? 1 : -1) * rng_unit() * 0.07;
            double fy =
                trial % 3 == 1 ? rng_unit() : (rng_unit() < 0.5 ? 1 : -1) * rng_unit() * 0.07;
            lon = b[0] + (b[2] - b[0]) * (fx < 0 ? 1 + fx : fx);
            lat = b[1] + (b[3] - b[1]) * (fy < 0 ? 1 + fy : fy);
            hm_mvt_point p = {.id = 1,
                              .lon = lon,
                              .lat = lat,
                              .code = "CC-000000",
                              .category = "food",
                              .status = "new",
                              .priority = "normal"};
            for (int dx = -1; dx <= 1; dx++) {
                for (int dy = -1; dy <= 1; dy++) {
                    int64_t x = (int64_t)home.x + dx, y = (int64_t)home.y + dy;
                    if (x < 0 || y < 0 || x >= (1LL << z) || y >= (1LL << z))
                        continue;
                    hm_tile t = {z, (uint32_t)x, (uint32_t)y};
                    hm_buf buf;
                    hm_buf_init(&buf);
                    hm_mvt_encode_points(&t, &p, 1, NULL, &buf, NULL);
                    if (buf.len > 0) {
                        hm_tile_key k = key_of(HM_TILE_REQUESTS, z, t.x, t.y, NULL);
                        shown++;
                        put_now(c, k, "x");
                        hm_tile_cache_invalidate_point(c, lon, lat);
                        dropped_ok += !cached(c, k);
                        if (cached(c, k))
                            fprintf(stderr, "z%d %u/%u kept for %.9f,%.9f\n", z, t.x, t.y, lon,
                                    lat);
                    }
                    hm_buf_clear(&buf);
                }
            }
        }
    }
    CHECK(shown > 23 * 12);
    CHECK_INT_EQ(dropped_ok, shown);
    hm_tile_cache_destroy(c);
}

static void test_invalidate_layer_and_bbox(void)
{
    hm_tile_cache *c = hm_tile_cache_create(NULL, NULL);
    hm_tile t;
    double b[4];

    for (int z = 8; z <= 14; z++) {
        hm_tile_at(106.5, 11.0, z, &t, NULL);
        put_now(c, key_of(HM_TILE_WARDS, z, t.x, t.y, NULL), "w");
        put_now(c, key_of(HM_TILE_HAMLETS, z, t.x, t.y, NULL), "h");
    }
    put_now(c, key_of(HM_TILE_WARDS, 14, 0, 0, NULL), "w far");
    CHECK_INT_EQ(hm_tile_cache_invalidate_layer(c, HM_TILE_HAMLETS), 7);
    CHECK(cached(c, key_of(HM_TILE_WARDS, 14, 0, 0, NULL)));

    /* a ward's bbox: drops the wards tiles that meet it, keeps the far one */
    hm_tile_at(106.5, 11.0, 14, &t, NULL);
    hm_tile_bounds(&t, b);
    double ward[4] = {b[0] + 0.001, b[1] + 0.001, b[0] + 0.002, b[1] + 0.002};
    CHECK_INT_EQ(hm_tile_cache_invalidate_bbox(c, HM_TILE_WARDS, ward), 7);
    CHECK(cached(c, key_of(HM_TILE_WARDS, 14, 0, 0, NULL)));
    hm_tile_cache_destroy(c);
}

/* Generation protocol: a tile computed before an invalidation that touches
 * it is not stored after it; one that it does not touch is. */
static void test_generation(void)
{
    hm_tile_cache *c = hm_tile_cache_create(NULL, NULL);
    hm_tile near, far;
    hm_tile_blob *b = hm_tile_blob_create("tile", 4, NULL);
    uint64_t gen;

    hm_tile_at(106.5, 11.0, 14, &near, NULL);
    hm_tile_at(106.6, 11.1, 14, &far, NULL);
    hm_tile_key kn = key_of(HM_TILE_REQUESTS, 14, near.x, near.y, NULL);
    hm_tile_key kf = key_of(HM_TILE_REQUESTS, 14, far.x, far.y, NULL);
    hm_tile_key kw = key_of(HM_TILE_WARDS, 14, near.x, near.y, NULL);

    gen = hm_tile_cache_generation(c);              /* a reader starts ... */
    hm_tile_cache_invalidate_point(c, 106.5, 11.0); /* ... a writer commits ... */
    CHECK(!hm_tile_cache_put(c, &kn, b, gen));      /* ... the reader's tile may be stale */
    CHECK(!cached(c, kn));
    CHECK(hm_tile_cache_put(c, &kf, b, gen));                         /* untouched by that write */
    CHECK(hm_tile_cache_put(c, &kw, b, gen));                         /* other layer */
    CHECK(hm_tile_cache_put(c, &kn, b, hm_tile_cache_generation(c))); /* a fresh read */

    gen = hm_tile_cache_generation(c);
    hm_tile_cache_invalidate_layer(c, HM_TILE_WARDS);
    CHECK(!hm_tile_cache_put(c, &kw, b, gen));
    CHECK(hm_tile_cache_put(c, &kf, b, gen));

    gen = hm_tile_cache_generation(c);
    double box[4] = {106.49, 10.99, 106.51, 11.01};
    hm_tile_cache_invalidate_bbox(c, HM_TILE_WARDS, box);
    CHECK(!hm_tile_cache_put(c, &kw, b, gen));

    /* a generation from the future is refused */
    CHECK(!hm_tile_cache_put(c, &kf, b, hm_tile_cache_generation(c) + 1));

    /* more invalidations than the cache remembers: refused, to be safe,
     * even though none touched the tile */
    gen = hm_tile_cache_generation(c);
    for (int i = 0; i < 5000; i++)
        hm_tile_cache_invalidate_point(c, -70.0, 40.0);
    CHECK(!hm_tile_cache_put(c, &kf, b, gen));
    gen = hm_tile_cache_generation(c);
    for (int i = 0; i < 100; i++)
        hm_tile_cache_invalidate_point(c, -70.0, 40.0);
    CHECK(hm_tile_cache_put(c, &kf, b, gen)); /* within memory, untouched */

    hm_tile_cache_stats st;
    hm_tile_cache_stats_get(c, &st);
    CHECK(st.puts_refused >= 5);
    hm_tile_blob_release(b);
    hm_tile_cache_destroy(c);
}

/* Threads get, put and invalidate at once; the bound holds and nothing
 * crashes (run under TSan/ASan in CI). */
typedef struct worker_arg {
    hm_tile_cache *c;
    int seed;
    int bad; /* blobs with bytes nobody put */
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    uint64_t s = 0x9E3779B97F4A7C15u * (uint64_t)(a->seed + 1);
    char content[600];

    memset(content, 'z', sizeof content - 1);
    content[sizeof content - 1] = '\0';
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        int z = 10 + (int)(s % 5);
        double lon = 106.4 + (double)(s >> 20 & 1023) / 4000.0;
        double lat = 10.95 + (double)(s >> 30 & 1023) / 5000.0;
        hm_tile t;
        hm_tile_at(lon, lat, z, &t, NULL);
        hm_tile_key k =
            key_of((hm_tile_layer)(s >> 40 & 1), z, t.x, t.y, (s >> 41 & 1) ? "status=all" : NULL);
        switch (s >> 50 & 7) {
            case 0:
                hm_tile_cache_invalidate_point(a->c, lon, lat);
                break;
            case 1:
                if (i % 100 == 0)
                    hm_tile_cache_invalidate_layer(a->c, HM_TILE_WARDS);
                break;
            case 2:
            case 3: {
                uint64_t gen = hm_tile_cache_generation(a->c);
                hm_tile_blob *b = hm_tile_blob_create(content, sizeof content - 1 - (s & 63), NULL);
                hm_tile_cache_put(a->c, &k, b, gen);
                hm_tile_blob_release(b);
                break;
            }
            default: {
                hm_tile_blob *b = hm_tile_cache_get(a->c, &k);
                if (b && b->len > 0 && b->data[0] != 'z')
                    a->bad++;
                hm_tile_blob_release(b);
                break;
            }
        }
    }
    return NULL;
}

static void test_threads(void)
{
    hm_tile_cache_options o;
    hm_tile_cache *c;
    pthread_t th[4];
    worker_arg args[4];
    hm_tile_cache_stats st;

    hm_tile_cache_options_init(&o);
    o.max_bytes = 256 * 1024;
    c = hm_tile_cache_create(&o, NULL);
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){c, i, 0};
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(args[i].bad, 0);
    }
    hm_tile_cache_stats_get(c, &st);
    CHECK(st.bytes <= o.max_bytes);
    CHECK(st.puts > 0 && st.hits > 0);
    hm_tile_cache_destroy(c);
}

int main(void)
{
    test_blob();
    test_get_put();
    test_lru_bound();
    test_invalidate_point();
    test_invalidation_covers_encoder();
    test_invalidate_layer_and_bbox();
    test_generation();
    test_threads();
    return hm_test_done("test_cache");
}
