/* test_pointindex.c: server/pointindex.c against brute force — nearest-first
 * answers (ids, order, distances) for random points and queries, with and
 * without a radius and a filter, after moves and removals, and under
 * concurrent writers. Distances are hm_geo_distance_m's; the brute force
 * sorts every point by (distance, id), as the index promises. */
#include "geo.h"
#include "hm_test.h"
#include "pointindex.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pt {
    int64_t id;
    double lon, lat;
    int tag;
    int64_t aux;
    bool live;
} pt;

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static double unit(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

typedef struct ref_hit {
    int64_t id;
    double d;
} ref_hit;

static int ref_cmp(const void *a, const void *b)
{
    const ref_hit *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int keep_even_tag(void *ctx, const hm_point_hit *p)
{
    (void)ctx;
    return p->tag % 2 == 0;
}

/* Brute force: up to `limit` live points within radius (<= 0: any) passing
 * the filter, nearest first. */
static size_t brute(const pt *pts, size_t n, double lon, double lat, double radius, size_t limit,
                    bool even_only, ref_hit *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double d;
        if (!pts[i].live || (even_only && pts[i].tag % 2))
            continue;
        d = hm_geo_distance_m(lon, lat, pts[i].lon, pts[i].lat);
        if (radius > 0 && d > radius)
            continue;
        out[k++] = (ref_hit){pts[i].id, d};
    }
    qsort(out, k, sizeof *out, ref_cmp);
    return k < limit ? k : limit;
}

static int mismatches;

static void compare(hm_pointindex *ix, const pt *pts, size_t n, double lon, double lat,
                    double radius, size_t limit, bool even_only)
{
    hm_point_hit *got = calloc(limit ? limit : 1, sizeof *got);
    ref_hit *want = calloc(n ? n : 1, sizeof *want);
    size_t ng = hm_pointindex_nearest(ix, lon, lat, radius, limit, even_only ? keep_even_tag : NULL,
                                      NULL, got);
    size_t nw = brute(pts, n, lon, lat, radius, limit, even_only, want);
    bool ok = ng == nw;
    for (size_t i = 0; ok && i < ng; i++) {
        const pt *p = NULL;
        ok = got[i].id == want[i].id && fabs(got[i].distance_m - want[i].d) < 1e-6;
        for (size_t j = 0; ok && j < n; j++)
            if (pts[j].id == got[i].id)
                p = &pts[j];
        ok = ok && p && got[i].lon == p->lon && got[i].lat == p->lat && got[i].tag == p->tag &&
             got[i].aux == p->aux;
        if (i > 0)
            ok = ok && (got[i - 1].distance_m < got[i].distance_m ||
                        (got[i - 1].distance_m == got[i].distance_m && got[i - 1].id < got[i].id));
    }
    if (!ok && mismatches++ < 5) {
        fprintf(stderr, "  query (%.6f, %.6f) radius %.0f limit %zu even %d: got %zu want %zu\n",
                lon, lat, radius, limit, even_only, ng, nw);
        for (size_t i = 0; i < ng || i < nw; i++)
            fprintf(stderr, "    %zu: got %lld %.3f  want %lld %.3f\n", i,
                    i < ng ? (long long)got[i].id : -1LL, i < ng ? got[i].distance_m : -1.0,
                    i < nw ? (long long)want[i].id : -1LL, i < nw ? want[i].d : -1.0);
    }
    CHECK(ok);
    free(got);
    free(want);
}

/* Random points in a box; ids 1..n. */
static pt *random_points(size_t n, double lon0, double lat0, double lon1, double lat1)
{
    pt *p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i].id = (int64_t)i + 1;
        p[i].lon = lon0 + unit() * (lon1 - lon0);
        p[i].lat = lat0 + unit() * (lat1 - lat0);
        p[i].tag = (int)(unit() * 7);
        p[i].aux = (int64_t)(unit() * 1e6);
        p[i].live = true;
    }
    return p;
}

static void put_all(hm_pointindex *ix, const pt *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].live)
            hm_pointindex_put(ix, p[i].id, p[i].lon, p[i].lat, p[i].tag, p[i].aux);
}

static void queries(hm_pointindex *ix, const pt *p, size_t n, double lon0, double lat0, double lon1,
                    double lat1, int count)
{
    static const double radii[] = {0, 50, 500, 3000, 20000, 50000};
    static const size_t limits[] = {1, 5, 50, 500};
    for (int q = 0; q < count; q++) {
        /* Queries inside the box and a little beyond it. */
        double lon = lon0 - 0.05 + unit() * (lon1 - lon0 + 0.1);
        double lat = lat0 - 0.05 + unit() * (lat1 - lat0 + 0.1);
        double radius = radii[q % 6];
        size_t limit = limits[(q / 6) % 4];
        compare(ix, p, n, lon, lat, radius, limit, q % 5 == 0);
    }
}

static void test_empty(void)
{
    hm_pointindex *ix = hm_pointindex_create();
    hm_point_hit h[4];
    CHECK_INT_EQ(hm_pointindex_count(ix), 0);
    CHECK_INT_EQ(hm_pointindex_nearest(ix, 106.5, 11.0, 0, 4, NULL, NULL, h), 0);
    hm_pointindex_remove(ix, 42); /* absent: nothing happens */
    hm_pointindex_put(ix, 7, 106.5, 11.0, 3, 99);
    CHECK_INT_EQ(hm_pointindex_nearest(ix, 106.5, 11.0, 0, 0, NULL, NULL, h), 0);
    CHECK_INT_EQ(hm_pointindex_nearest(ix, 106.5, 11.0, 0, 4, NULL, NULL, h), 1);
    CHECK_INT_EQ(h[0].id, 7);
    CHECK(h[0].distance_m == 0);
    CHECK_INT_EQ(h[0].tag, 3);
    CHECK_INT_EQ(h[0].aux, 99);
    hm_pointindex_destroy(ix);
    hm_pointindex_destroy(NULL);
}

static void test_district(void)
{
    /* Củ Chi and around: 0.4 x 0.35 degrees, 2,500 points. */
    const double b[4] = {106.35, 10.90, 106.75, 11.25};
    size_t n = 2500;
    pt *p = random_points(n, b[0], b[1], b[2], b[3]);
    hm_pointindex *ix = hm_pointindex_create();
    put_all(ix, p, n);
    CHECK_INT_EQ(hm_pointindex_count(ix), n);
    queries(ix, p, n, b[0], b[1], b[2], b[3], 480);

    /* Moves: a third of the points jump somewhere else (same id). */
    for (size_t i = 0; i < n; i += 3) {
        p[i].lon = b[0] + unit() * (b[2] - b[0]);
        p[i].lat = b[1] + unit() * (b[3] - b[1]);
        p[i].tag = (int)(unit() * 7);
        hm_pointindex_put(ix, p[i].id, p[i].lon, p[i].lat, p[i].tag, p[i].aux);
    }
    CHECK_INT_EQ(hm_pointindex_count(ix), n);
    queries(ix, p, n, b[0], b[1], b[2], b[3], 240);

    /* Removals, twice for some (the second does nothing), and re-insertions. */
    size_t live = n;
    for (size_t i = 1; i < n; i += 4) {
        hm_pointindex_remove(ix, p[i].id);
        hm_pointindex_remove(ix, p[i].id);
        p[i].live = false;
        live--;
    }
    CHECK_INT_EQ(hm_pointindex_count(ix), live);
    queries(ix, p, n, b[0], b[1], b[2], b[3], 240);
    for (size_t i = 1; i < n; i += 8) {
        p[i].live = true;
        hm_pointindex_put(ix, p[i].id, p[i].lon, p[i].lat, p[i].tag, p[i].aux);
        live++;
    }
    CHECK_INT_EQ(hm_pointindex_count(ix), live);
    queries(ix, p, n, b[0], b[1], b[2], b[3], 240);

    /* Remove everything: nothing is found. */
    for (size_t i = 0; i < n; i++)
        hm_pointindex_remove(ix, p[i].id);
    CHECK_INT_EQ(hm_pointindex_count(ix), 0);
    {
        hm_point_hit h[2];
        CHECK_INT_EQ(hm_pointindex_nearest(ix, 106.5, 11.0, 0, 2, NULL, NULL, h), 0);
    }
    hm_pointindex_destroy(ix);
    free(p);
}

static void test_radius(void)
{
    /* Points on a line due north every 100 m (about 0.000904 degrees). */
    hm_pointindex *ix = hm_pointindex_create();
    hm_point_hit h[64];
    const double lon = 106.5, lat = 11.0;
    for (int i = 0; i < 50; i++)
        hm_pointindex_put(ix, i + 1, lon, lat + i * 0.000904, 0, 0);
    size_t n = hm_pointindex_nearest(ix, lon, lat, 1000, 64, NULL, NULL, h);
    CHECK(n >= 10 && n <= 12);
    for (size_t i = 0; i < n; i++) {
        CHECK(h[i].distance_m <= 1000);
        CHECK_INT_EQ(h[i].id, (int64_t)i + 1);
    }
    /* A radius that excludes all but the point itself. */
    CHECK_INT_EQ(hm_pointindex_nearest(ix, lon, lat, 1, 64, NULL, NULL, h), 1);
    /* Every point, with no radius. */
    CHECK_INT_EQ(hm_pointindex_nearest(ix, lon, lat, 0, 64, NULL, NULL, h), 50);
    /* Far away, a small radius: none. */
    CHECK_INT_EQ(hm_pointindex_nearest(ix, 105.0, 21.0, 50000, 64, NULL, NULL, h), 0);
    /* Far away, no radius: still the nearest, in order. */
    CHECK_INT_EQ(hm_pointindex_nearest(ix, 105.0, 21.0, 0, 3, NULL, NULL, h), 3);
    CHECK_INT_EQ(h[0].id, 50);
    CHECK_INT_EQ(h[1].id, 49);
    hm_pointindex_destroy(ix);
}

static void test_ties(void)
{
    /* Equal distances: ids ascending, whatever the insertion order. */
    hm_pointindex *ix = hm_pointindex_create();
    hm_point_hit h[8];
    int64_t ids[] = {40, 10, 30, 20};
    for (int i = 0; i < 4; i++)
        hm_pointindex_put(ix, ids[i], 106.6, 10.95, 0, 0);
    hm_pointindex_put(ix, 5, 106.61, 10.95, 0, 0);
    CHECK_INT_EQ(hm_pointindex_nearest(ix, 106.6, 10.95, 0, 8, NULL, NULL, h), 5);
    CHECK_INT_EQ(h[0].id, 10);
    CHECK_INT_EQ(h[1].id, 20);
    CHECK_INT_EQ(h[2].id, 30);
    CHECK_INT_EQ(h[3].id, 40);
    CHECK_INT_EQ(h[4].id, 5);
    CHECK_INT_EQ(hm_pointindex_nearest(ix, 106.6, 10.95, 0, 2, NULL, NULL, h), 2);
    CHECK_INT_EQ(h[1].id, 20);
    hm_pointindex_destroy(ix);
}

static void test_country(void)
{
    /* Vietnam's extent, sparse: the ring search must go far and stay exact. */
    const double b[4] = {102.1, 8.4, 109.5, 23.4};
    size_t n = 600;
    pt *p = random_points(n, b[0], b[1], b[2], b[3]);
    hm_pointindex *ix = hm_pointindex_create();
    put_all(ix, p, n);
    for (int q = 0; q < 150; q++) {
        double lon = b[0] + unit() * (b[2] - b[0]), lat = b[1] + unit() * (b[3] - b[1]);
        compare(ix, p, n, lon, lat, 0, q % 2 ? 1 : 10, false);
        compare(ix, p, n, lon, lat, 50000, 500, false);
    }
    hm_pointindex_destroy(ix);
    free(p);
}

/* Concurrent writers and readers: every answer is sorted, within its radius,
 * and names only points whose position is one a writer gave them. */
typedef struct conc {
    hm_pointindex *ix;
    int stop;
    int bad;
} conc;

static void *writer_main(void *arg)
{
    conc *c = arg;
    uint64_t s = 12345;
    for (int i = 0; i < 40000; i++) {
        int64_t id = 1 + (int64_t)(i % 500);
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double k = (double)(s % 1000);
        /* Each point moves along its own meridian: lon encodes the id. */
        if (s % 7 == 0)
            hm_pointindex_remove(c->ix, id);
        else
            hm_pointindex_put(c->ix, id, 106.4 + id * 0.0005, 10.95 + k * 0.0002, 0, id);
    }
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *reader_main(void *arg)
{
    conc *c = arg;
    hm_point_hit h[20];
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        size_t n = hm_pointindex_nearest(c->ix, 106.52, 11.0, 8000, 20, NULL, NULL, h);
        for (size_t i = 0; i < n; i++) {
            bool ok =
                h[i].distance_m <= 8000 && h[i].aux == h[i].id &&
                fabs(h[i].lon - (106.4 + h[i].id * 0.0005)) < 1e-9 &&
                fabs(h[i].distance_m - hm_geo_distance_m(106.52, 11.0, h[i].lon, h[i].lat)) < 1e-6;
            if (i > 0 && h[i - 1].distance_m > h[i].distance_m)
                ok = false;
            if (!ok)
                __atomic_add_fetch(&c->bad, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

static void test_concurrent(void)
{
    conc c = {hm_pointindex_create(), 0, 0};
    pthread_t w, r[3];
    pthread_create(&w, NULL, writer_main, &c);
    for (int i = 0; i < 3; i++)
        pthread_create(&r[i], NULL, reader_main, &c);
    pthread_join(w, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i], NULL);
    CHECK_INT_EQ(c.bad, 0);
    CHECK(hm_pointindex_count(c.ix) <= 500);
    hm_pointindex_destroy(c.ix);
}

int main(void)
{
    test_empty();
    test_radius();
    test_ties();
    test_district();
    test_country();
    test_concurrent();
    return hm_test_done("test_pointindex");
}
