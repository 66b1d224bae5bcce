/* bench_area.c: micro-benchmark of point-to-area assignment (SPEC "Performance": at least
 * 1,000,000 points/s on one core, all three levels, answers identical to GEOS).
 *
 * Levels: ward = the 7 communes of 2025, former_ward = the 21 units of 2019 (both from
 * geodata/data), hamlet = SYNTHETIC: no public hamlet boundaries exist for Cu Chi, so each ward
 * is cut into --hamlets-per-ward Voronoi cells of deterministic seeds, clipped to the ward
 * (~170 hamlets, the order of Cu Chi's real ap count). The same hamlets are written with
 * --write-hamlets for `helpmap import-areas`, so the server benchmark runs on three levels too.
 *
 * What it measures, on the calling thread only (one core): hm_area_index_locate() over
 * --points deterministic uniform points in the Cu Chi bbox, all three levels per lookup,
 * --reps repetitions; prints the median and best rate. Then a border-heavy set (every point
 * within ~10 m of a former_ward vertex). Then it checks the answers against plain GEOS:
 * GEOSCovers on every area of the level in code order, lowest code wins, for --verify points
 * of each set, and counts mismatches (must be 0).
 *
 * Output: human lines, then one line "RESULT key=value ..." for bench/report.py.
 * --write-points FILE writes the first --peer-points uniform points ("lon,lat" lines) for the
 * PostGIS peer, which runs the same lookups with ST_Covers.
 *
 * Usage: bench_area [--points N] [--reps N] [--verify N] [--hamlets-per-ward N]
 *                   [--write-hamlets FILE] [--write-points FILE] [--peer-points N] */
#define GEOS_USE_ONLY_R_API
#include <geos_c.h>

#include "area.h"
#include "hm_buf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef HM_GEODATA_DIR
#error "HM_GEODATA_DIR must name geodata/data"
#endif

/* Cu Chi's bbox (the union of the ward polygons), as in tests/geodata/area_speed.c. */
#define BBOX_W 106.3564843
#define BBOX_S 10.9144842
#define BBOX_E 106.6572159
#define BBOX_N 11.1603092

typedef struct rng {
    uint64_t s;
} rng;

static double rng_unit(rng *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(r->s >> 11) * 0x1p-53;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    hm_buf b;
    char chunk[65536];
    size_t n;

    if (!f)
        return NULL;
    hm_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_append(&b, chunk, n);
    fclose(f);
    return hm_buf_steal(&b, len);
}

/* Read GeoJSON `text` into `list` the way `helpmap import-areas` does. Returns 0 or -1. */
static int read_areas(GEOSContextHandle_t ctx, const char *what, const char *text, size_t len,
                      hm_area_list *list)
{
    hm_error err = {0};
    if (hm_area_read_geojson(ctx, text, len, NULL, list, &err) != HM_OK) {
        fprintf(stderr, "bench_area: %s: %s\n", what, err.msg);
        return -1;
    }
    return 0;
}

static int load_file(GEOSContextHandle_t ctx, const char *path, hm_area_list *list)
{
    size_t len = 0;
    char *text = slurp(path, &len);
    int rc;

    if (!text) {
        fprintf(stderr, "bench_area: cannot read %s\n", path);
        return -1;
    }
    rc = read_areas(ctx, path, text, len, list);
    free(text);
    return rc;
}

/* Cut each ward into `per_ward` Voronoi cells of seeds drawn inside it, clipped to the ward;
 * append them as a GeoJSON FeatureCollection of hamlets (code "<ward>-Hnn", parent_code the
 * ward) to `out`. Returns the number of hamlets, or -1 on GEOS failure. */
static int make_hamlets(GEOSContextHandle_t ctx, const hm_area_list *wards, int per_ward,
                        hm_buf *out)
{
    GEOSGeoJSONWriter *gw = GEOSGeoJSONWriter_create_r(ctx);
    rng r = {2021};
    int count = 0;

    if (!gw)
        return -1;
    hm_buf_puts(out, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (size_t i = 0; i < wards->count; i++) {
        const hm_area *w = &wards->items[i];
        GEOSGeometry *g = GEOSGeomFromWKB_buf_r(ctx, w->wkb, w->wkb_len);
        const GEOSPreparedGeometry *pg = g ? GEOSPrepare_r(ctx, g) : NULL;
        GEOSGeometry **seeds = calloc((size_t)per_ward, sizeof *seeds);
        GEOSGeometry *mp = NULL, *cells = NULL;
        int ns = 0, tries = 0, ncells;

        if (!pg || !seeds)
            goto fail;
        while (ns < per_ward && tries++ < 100000) {
            double x = w->bbox[0] + rng_unit(&r) * (w->bbox[2] - w->bbox[0]);
            double y = w->bbox[1] + rng_unit(&r) * (w->bbox[3] - w->bbox[1]);
            GEOSGeometry *p = GEOSGeom_createPointFromXY_r(ctx, x, y);
            if (p && GEOSPreparedContains_r(ctx, pg, p) == 1)
                seeds[ns++] = p;
            else if (p)
                GEOSGeom_destroy_r(ctx, p);
        }
        mp = GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOINT, seeds, (unsigned)ns);
        if (!mp)
            goto fail;
        cells = GEOSVoronoiDiagram_r(ctx, mp, g, 0.0, 0);
        ncells = cells ? GEOSGetNumGeometries_r(ctx, cells) : 0;
        for (int k = 0; k < ncells; k++) {
            GEOSGeometry *clip = GEOSIntersection_r(ctx, GEOSGetGeometryN_r(ctx, cells, k), g);
            char *json;
            double area = 0;
            if (!clip)
                goto fail;
            if (GEOSArea_r(ctx, clip, &area) != 1 || area <= 0 ||
                (GEOSGeomTypeId_r(ctx, clip) != GEOS_POLYGON &&
                 GEOSGeomTypeId_r(ctx, clip) != GEOS_MULTIPOLYGON)) {
                GEOSGeom_destroy_r(ctx, clip);
                continue;
            }
            json = GEOSGeoJSONWriter_writeGeometry_r(ctx, gw, clip, -1);
            GEOSGeom_destroy_r(ctx, clip);
            if (!json)
                goto fail;
            hm_buf_printf(out,
                          "%s{\"type\":\"Feature\",\"properties\":{\"code\":\"%s-H%02d\","
                          "\"name\":\"Synthetic hamlet %s-H%02d\",\"parent_code\":\"%s\"},"
                          "\"geometry\":%s}\n",
                          count ? "," : "", w->code, k + 1, w->code, k + 1, w->code, json);
            GEOSFree_r(ctx, json);
            count++;
        }
        GEOSGeom_destroy_r(ctx, cells);
        GEOSGeom_destroy_r(ctx, mp); /* owns the seeds */
        GEOSPreparedGeom_destroy_r(ctx, pg);
        GEOSGeom_destroy_r(ctx, g);
        free(seeds);
        continue;
    fail:
        fprintf(stderr, "bench_area: GEOS failed while cutting ward %s\n", w->code);
        if (cells)
            GEOSGeom_destroy_r(ctx, cells);
        if (mp)
            GEOSGeom_destroy_r(ctx, mp);
        else if (seeds)
            for (int k = 0; k < ns; k++)
                GEOSGeom_destroy_r(ctx, seeds[k]);
        if (pg)
            GEOSPreparedGeom_destroy_r(ctx, pg);
        if (g)
            GEOSGeom_destroy_r(ctx, g);
        free(seeds);
        GEOSGeoJSONWriter_destroy_r(ctx, gw);
        return -1;
    }
    hm_buf_puts(out, "]}\n");
    GEOSGeoJSONWriter_destroy_r(ctx, gw);
    return count;
}

/* Points near the vertices of `list` (within ~1e-4 degree, ~10 m): nearly every lookup needs the
 * exact edge test. Returns 0, or -1 when the areas have no vertices. */
static int near_vertices(GEOSContextHandle_t ctx, const hm_area_list *list, double *xy, size_t n)
{
    double *v = NULL;
    size_t nv = 0, cap = 0;
    rng r = {7};

    for (size_t i = 0; i < list->count; i++) {
        GEOSGeometry *g = GEOSGeomFromWKB_buf_r(ctx, list->items[i].wkb, list->items[i].wkb_len);
        GEOSGeometry *pts = g ? GEOSGeom_extractUniquePoints_r(ctx, g) : NULL;
        int np = pts ? GEOSGetNumGeometries_r(ctx, pts) : 0;
        for (int k = 0; k < np; k++) {
            if (nv == cap) {
                cap = cap ? 2 * cap : 4096;
                v = hm_xrealloc(v, 2 * cap * sizeof *v);
            }
            GEOSGeomGetX_r(ctx, GEOSGetGeometryN_r(ctx, pts, k), &v[2 * nv]);
            GEOSGeomGetY_r(ctx, GEOSGetGeometryN_r(ctx, pts, k), &v[2 * nv + 1]);
            nv++;
        }
        if (pts)
            GEOSGeom_destroy_r(ctx, pts);
        if (g)
            GEOSGeom_destroy_r(ctx, g);
    }
    if (nv == 0) {
        free(v);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(rng_unit(&r) * (double)nv) % nv;
        xy[2 * i] = v[2 * j] + (rng_unit(&r) - 0.5) * 2e-4;
        xy[2 * i + 1] = v[2 * j + 1] + (rng_unit(&r) - 0.5) * 2e-4;
    }
    free(v);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Run `reps` timed passes of the lookup over n points; fill the median and best rate. */
static void time_locate(const hm_area_index *idx, const double *xy, size_t n, int reps,
                        double *median_pps, double *best_pps, size_t hits[HM_LEVEL__COUNT])
{
    double *t = hm_xcalloc((size_t)reps, sizeof *t);
    for (int rep = 0; rep < reps; rep++) {
        size_t h[HM_LEVEL__COUNT] = {0, 0, 0};
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            const char *out[HM_LEVEL__COUNT];
            hm_area_index_locate(idx, xy[2 * i], xy[2 * i + 1], out);
            for (int l = 0; l < HM_LEVEL__COUNT; l++)
                h[l] += out[l] != NULL;
        }
        t[rep] = now_s() - t0;
        memcpy(hits, h, sizeof h);
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    *median_pps = (double)n / t[reps / 2];
    *best_pps = (double)n / t[0];
    free(t);
}

typedef struct level_geoms {
    GEOSGeometry **g;
    const GEOSPreparedGeometry **pg;
    const char **code; /* sorted by strcmp */
    size_t n;
} level_geoms;

static int by_code(const void *a, const void *b)
{
    const hm_area *x = *(const hm_area *const *)a, *y = *(const hm_area *const *)b;
    return strcmp(x->code, y->code);
}

static int prepare_level(GEOSContextHandle_t ctx, const hm_area_list *list, level_geoms *lg)
{
    const hm_area **sorted = hm_xcalloc(list->count ? list->count : 1, sizeof *sorted);
    for (size_t i = 0; i < list->count; i++)
        sorted[i] = &list->items[i];
    qsort(sorted, list->count, sizeof *sorted, by_code);
    lg->n = list->count;
    lg->g = hm_xcalloc(lg->n ? lg->n : 1, sizeof *lg->g);
    lg->pg = hm_xcalloc(lg->n ? lg->n : 1, sizeof *lg->pg);
    lg->code = hm_xcalloc(lg->n ? lg->n : 1, sizeof *lg->code);
    for (size_t i = 0; i < lg->n; i++) {
        lg->code[i] = sorted[i]->code;
        lg->g[i] = GEOSGeomFromWKB_buf_r(ctx, sorted[i]->wkb, sorted[i]->wkb_len);
        lg->pg[i] = lg->g[i] ? GEOSPrepare_r(ctx, lg->g[i]) : NULL;
        if (!lg->pg[i]) {
            free(sorted);
            return -1;
        }
    }
    free(sorted);
    return 0;
}

static void free_level(GEOSContextHandle_t ctx, level_geoms *lg)
{
    for (size_t i = 0; i < lg->n; i++) {
        if (lg->pg[i])
            GEOSPreparedGeom_destroy_r(ctx, lg->pg[i]);
        if (lg->g[i])
            GEOSGeom_destroy_r(ctx, lg->g[i]);
    }
    free(lg->g);
    free(lg->pg);
    free(lg->code);
}

/* Compare the index with GEOSCovers in code order on n points; returns the mismatches. */
static size_t verify(GEOSContextHandle_t ctx, const hm_area_index *idx, level_geoms lg[3],
                     const double *xy, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const char *out[HM_LEVEL__COUNT];
        GEOSGeometry *p = GEOSGeom_createPointFromXY_r(ctx, xy[2 * i], xy[2 * i + 1]);
        hm_area_index_locate(idx, xy[2 * i], xy[2 * i + 1], out);
        for (int l = 0; l < HM_LEVEL__COUNT; l++) {
            const char *want = NULL;
            for (size_t k = 0; k < lg[l].n && !want; k++)
                if (GEOSPreparedCovers_r(ctx, lg[l].pg[k], p) == 1)
                    want = lg[l].code[k];
            if ((want == NULL) != (out[l] == NULL) || (want && strcmp(want, out[l]) != 0)) {
                if (bad < 5)
                    fprintf(stderr,
                            "bench_area: mismatch at %.9f %.9f level %d: index %s, GEOS %s\n",
                            xy[2 * i], xy[2 * i + 1], l, out[l] ? out[l] : "-", want ? want : "-");
                bad++;
            }
        }
        GEOSGeom_destroy_r(ctx, p);
    }
    return bad;
}

static long arg_long(int argc, char **argv, int *i)
{
    char *end;
    long v;
    if (*i + 1 >= argc) {
        fprintf(stderr, "bench_area: %s needs a value\n", argv[*i]);
        exit(2);
    }
    v = strtol(argv[++*i], &end, 10);
    if (*end || v < 0) {
        fprintf(stderr, "bench_area: bad value for %s\n", argv[*i - 1]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    size_t n = 1000000, n_verify = 20000, peer_points = 100000;
    int reps = 5, per_ward = 24;
    const char *hamlets_out = NULL, *points_out = NULL;
    GEOSContextHandle_t ctx = GEOS_init_r();
    hm_area_list lists[HM_LEVEL__COUNT] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
    level_geoms lg[HM_LEVEL__COUNT];
    hm_area_src *src = NULL;
    size_t nsrc = 0, hits[HM_LEVEL__COUNT], bad_uniform, bad_border;
    hm_error err = {0};
    hm_area_index *idx = NULL;
    double *xy = NULL, *bxy = NULL, t0, build_ms, med, best, bmed, bbest;
    hm_buf hamlets;
    rng r = {42};
    int nh, rc = 1;

    memset(lg, 0, sizeof lg);
    hm_buf_init(&hamlets);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--points") == 0)
            n = (size_t)arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = (int)arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--verify") == 0)
            n_verify = (size_t)arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--hamlets-per-ward") == 0)
            per_ward = (int)arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--peer-points") == 0)
            peer_points = (size_t)arg_long(argc, argv, &i);
        else if (strcmp(argv[i], "--write-hamlets") == 0 && i + 1 < argc)
            hamlets_out = argv[++i];
        else if (strcmp(argv[i], "--write-points") == 0 && i + 1 < argc)
            points_out = argv[++i];
        else {
            fprintf(stderr, "usage: bench_area [--points N] [--reps N] [--verify N] "
                            "[--hamlets-per-ward N] [--write-hamlets FILE] [--write-points FILE] "
                            "[--peer-points N]\n");
            return 2;
        }
    }
    if (n == 0 || reps < 1 || per_ward < 2 || per_ward > 99) {
        fprintf(stderr, "bench_area: --points, --reps >= 1 and 2 <= --hamlets-per-ward <= 99\n");
        return 2;
    }
    if (n_verify > n)
        n_verify = n;
    if (peer_points > n)
        peer_points = n;

    if (load_file(ctx, HM_GEODATA_DIR "/cu_chi_communes_2025.geojson", &lists[HM_LEVEL_WARD]) ||
        load_file(ctx, HM_GEODATA_DIR "/cu_chi_communes.geojson", &lists[HM_LEVEL_FORMER_WARD]))
        goto out;
    if ((nh = make_hamlets(ctx, &lists[HM_LEVEL_WARD], per_ward, &hamlets)) <= 0 ||
        read_areas(ctx, "synthetic hamlets", hamlets.data, hamlets.len, &lists[HM_LEVEL_HAMLET]))
        goto out;
    if (hamlets_out) {
        FILE *f = fopen(hamlets_out, "w");
        if (!f || fwrite(hamlets.data, 1, hamlets.len, f) != hamlets.len || fclose(f) != 0) {
            fprintf(stderr, "bench_area: cannot write %s\n", hamlets_out);
            goto out;
        }
    }

    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        nsrc += lists[l].count;
    src = hm_xcalloc(nsrc, sizeof *src);
    nsrc = 0;
    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        for (size_t i = 0; i < lists[l].count; i++)
            src[nsrc++] = (hm_area_src){(hm_level)l, lists[l].items[i].code, lists[l].items[i].wkb,
                                        lists[l].items[i].wkb_len};
    t0 = now_s();
    idx = hm_area_index_create(src, nsrc, &err);
    build_ms = (now_s() - t0) * 1e3;
    if (!idx) {
        fprintf(stderr, "bench_area: index: %s\n", err.msg);
        goto out;
    }
    printf("bench_area: %zu wards, %zu former wards, %zu synthetic hamlets; index built in "
           "%.1f ms\n",
           lists[0].count, lists[1].count, lists[2].count, build_ms);

    xy = hm_xmalloc(2 * n * sizeof *xy);
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] = BBOX_W + rng_unit(&r) * (BBOX_E - BBOX_W);
        xy[2 * i + 1] = BBOX_S + rng_unit(&r) * (BBOX_N - BBOX_S);
    }
    if (points_out) {
        FILE *f = fopen(points_out, "w");
        if (!f) {
            fprintf(stderr, "bench_area: cannot write %s\n", points_out);
            goto out;
        }
        for (size_t i = 0; i < peer_points; i++)
            fprintf(f, "%zu,%.9f,%.9f\n", i + 1, xy[2 * i], xy[2 * i + 1]);
        if (fclose(f) != 0)
            goto out;
    }
    time_locate(idx, xy, n, reps, &med, &best, hits);
    printf("bench_area: %zu uniform points x 3 levels, %d reps: median %.0f points/s, best %.0f "
           "(%.1f ns/point); hits ward %zu, former_ward %zu, hamlet %zu\n",
           n, reps, med, best, 1e9 / med, hits[0], hits[1], hits[2]);
    bxy = hm_xmalloc(2 * n * sizeof *bxy);
    if (near_vertices(ctx, &lists[HM_LEVEL_FORMER_WARD], bxy, n) < 0)
        goto out;
    time_locate(idx, bxy, n, reps, &bmed, &bbest, hits);
    printf("bench_area: %zu points within ~10 m of borders x 3 levels: median %.0f points/s, "
           "best %.0f (%.1f ns/point)\n",
           n, bmed, bbest, 1e9 / bmed);

    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        if (prepare_level(ctx, &lists[l], &lg[l]) < 0) {
            fprintf(stderr, "bench_area: GEOS cannot prepare level %d\n", l);
            goto out;
        }
    bad_uniform = verify(ctx, idx, lg, xy, n_verify);
    bad_border = verify(ctx, idx, lg, bxy, n_verify);
    printf("bench_area: answers checked against GEOSCovers (lowest code wins) on %zu uniform and "
           "%zu border points: %zu mismatches\n",
           n_verify, n_verify, bad_uniform + bad_border);
    printf("RESULT scenario=area points=%zu reps=%d wards=%zu former_wards=%zu hamlets=%zu "
           "pps_median=%.0f pps_best=%.0f border_pps_median=%.0f verified=%zu mismatches=%zu\n",
           n, reps, lists[0].count, lists[1].count, lists[2].count, med, best, bmed, 2 * n_verify,
           bad_uniform + bad_border);
    rc = bad_uniform + bad_border ? 1 : 0;
out:
    for (int l = 0; l < HM_LEVEL__COUNT; l++) {
        free_level(ctx, &lg[l]);
        hm_area_list_clear(&lists[l]);
    }
    free(xy);
    free(bxy);
    free(src);
    hm_buf_clear(&hamlets);
    hm_area_index_destroy(idx);
    GEOS_finish_r(ctx);
    return rc;
}
