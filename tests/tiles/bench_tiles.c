/* bench_tiles.c: encoder timings on synthetic data (not a test; run by hand:
 * bench_tiles [geojson-of-areas]). One million requests uniformly over Cu
 * Chi snapped to 0.001 degree; prints the median of repeated runs for a z10
 * cluster tile, z14 point tiles (open requests only, and all), gzip+ETag,
 * cache hits, and the wards layer at z8..z14 when a GeoJSON file is given. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "mvt.h"

static const double cu_chi[4] = {106.356484, 10.914484, 106.657216, 11.160309};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char *const categories[] = {"food",    "water",  "medical", "cash",
                                         "shelter", "rescue", "other"};
static const char *const statuses[] = {"new",      "assigned",  "in_progress",
                                       "resolved", "cancelled", "duplicate"};

/* Points inside bbox, as the store's bbox query would return them. */
static size_t select_bbox(const hm_mvt_point *all, size_t n, const double b[4], bool open_only,
                          hm_mvt_point *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const hm_mvt_point *p = &all[i];
        if (p->lon < b[0] || p->lon > b[2] || p->lat < b[1] || p->lat > b[3])
            continue;
        if (open_only && strcmp(p->status, "new") != 0 && strcmp(p->status, "assigned") != 0 &&
            strcmp(p->status, "in_progress") != 0)
            continue;
        out[k++] = *p;
    }
    return k;
}

static void bench_points(const char *label, const hm_tile *t, const hm_mvt_point *pts, size_t n,
                         int reps)
{
    double *ms = malloc(reps * sizeof *ms), gz_ms = 0;
    size_t len = 0;
    hm_tile_blob *blob = NULL;

    for (int r = 0; r < reps; r++) {
        hm_buf buf;
        hm_buf_init(&buf);
        double t0 = now_ms();
        hm_mvt_encode_points(t, pts, n, NULL, &buf, NULL);
        ms[r] = now_ms() - t0;
        len = buf.len;
        if (r == reps - 1) {
            t0 = now_ms();
            blob = hm_tile_blob_create(buf.data, buf.len, NULL);
            gz_ms = now_ms() - t0;
        }
        hm_buf_clear(&buf);
    }
    qsort(ms, reps, sizeof *ms, cmp_double);
    printf("%-44s %8zu points  median %8.3f ms  min %8.3f ms  %7zu bytes  gzip %6zu bytes "
           "in %.3f ms\n",
           label, n, ms[reps / 2], ms[0], len, blob->gz_len, gz_ms);
    hm_tile_blob_release(blob);
    free(ms);
}

static void bench_areas(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr), *f;
    GEOSContextHandle_t ctx = GEOS_init_r();
    GEOSGeoJSONReader *reader = GEOSGeoJSONReader_create_r(ctx);
    GEOSWKBWriter *writer = GEOSWKBWriter_create_r(ctx);
    size_t n = json_array_size(json_object_get(root, "features")), i;
    hm_mvt_area *areas = calloc(n, sizeof *areas);

    if (!root) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return;
    }
    json_array_foreach(json_object_get(root, "features"), i, f)
    {
        char *text = json_dumps(json_object_get(f, "geometry"), 0);
        GEOSGeometry *g = GEOSGeoJSONReader_readGeometry_r(ctx, reader, text);
        json_t *props = json_object_get(f, "properties");
        areas[i].code = json_string_value(json_object_get(props, "code"));
        areas[i].name = json_string_value(json_object_get(props, "name"));
        areas[i].level = "ward";
        areas[i].wkb = GEOSWKBWriter_write_r(ctx, writer, g, &areas[i].wkb_len);
        GEOSGeom_destroy_r(ctx, g);
        free(text);
    }
    for (int z = 8; z <= 14; z += 2) {
        hm_tile t;
        double ms[15];
        size_t len = 0;
        hm_tile_at(106.5, 11.0, z, &t, NULL);
        for (int r = 0; r < 15; r++) {
            hm_buf buf;
            hm_buf_init(&buf);
            double t0 = now_ms();
            hm_mvt_encode_areas(ctx, &t, HM_TILE_WARDS, areas, n, NULL, &buf, NULL);
            ms[r] = now_ms() - t0;
            len = buf.len;
            hm_buf_clear(&buf);
        }
        qsort(ms, 15, sizeof *ms, cmp_double);
        printf("wards z%-2d %d/%u/%u (all %zu areas passed)          median %8.3f ms  %7zu "
               "bytes\n",
               z, z, t.x, t.y, n, ms[7], len);
    }
    for (i = 0; i < n; i++)
        GEOSFree_r(ctx, (void *)areas[i].wkb);
    free(areas);
    GEOSWKBWriter_destroy_r(ctx, writer);
    GEOSGeoJSONReader_destroy_r(ctx, reader);
    GEOS_finish_r(ctx);
    json_decref(root);
}

int main(int argc, char **argv)
{
    const size_t N = 1000000;
    hm_mvt_point *all = calloc(N, sizeof *all), *sel = calloc(N, sizeof *sel);
    static char codes[1000000][10];
    double b[4];
    hm_tile t;
    size_t n;

    for (size_t i = 0; i < N; i++) {
        uint64_t r = rng();
        hm_mvt_point *p = &all[i];
        p->id = (int64_t)i + 1;
        p->lon =
            round((cu_chi[0] + (cu_chi[2] - cu_chi[0]) * (double)(r >> 11) / 9007199254740992.0) *
                  1000) /
            1000;
        r = rng();
        p->lat =
            round((cu_chi[1] + (cu_chi[3] - cu_chi[1]) * (double)(r >> 11) / 9007199254740992.0) *
                  1000) /
            1000;
        snprintf(codes[i], sizeof codes[i], "CC-%06zu", i % 1000000);
        p->code = codes[i];
        p->category = categories[r % 7];
        /* 10 % open, as in SPEC's benchmark database */
        p->status = r % 10 == 0 ? statuses[r / 10 % 3] : statuses[3 + r / 10 % 3];
        p->priority = r % 3 ? "normal" : "urgent";
        p->ward_code = "27496";
        p->people = 1 + (int)(r % 9);
        p->verified = r & 1;
        p->created_at = 1700000000 + (int64_t)(r % 1000000);
    }

    hm_tile_at(106.5, 11.03, 10, &t, NULL);
    hm_mvt_points_bounds(&t, NULL, b);
    n = select_bbox(all, N, b, false, sel);
    bench_points("requests z10 cluster tile, status=all", &t, sel, n, 21);
    n = select_bbox(all, N, b, true, sel);
    bench_points("requests z10 cluster tile, open", &t, sel, n, 21);
    hm_tile_at(106.5, 11.03, 12, &t, NULL);
    hm_mvt_points_bounds(&t, NULL, b);
    n = select_bbox(all, N, b, false, sel);
    bench_points("requests z12 cluster tile, status=all", &t, sel, n, 51);

    hm_tile_at(106.5, 11.03, 14, &t, NULL);
    hm_mvt_points_bounds(&t, NULL, b);
    n = select_bbox(all, N, b, true, sel);
    bench_points("requests z14 point tile, open (SPEC's case)", &t, sel, n, 501);
    n = select_bbox(all, N, b, false, sel);
    bench_points("requests z14 point tile, status=all", &t, sel, n, 201);
    hm_tile_at(106.5, 11.03, 13, &t, NULL);
    hm_mvt_points_bounds(&t, NULL, b);
    n = select_bbox(all, N, b, false, sel);
    bench_points("requests z13 point tile, status=all", &t, sel, n, 51);

    /* cache hits, one thread */
    {
        hm_tile_cache *c = hm_tile_cache_create(NULL, NULL);
        hm_tile_blob *blob = hm_tile_blob_create("x", 1, NULL);
        hm_tile_key k = {HM_TILE_REQUESTS, {14, t.x, t.y}, "status=open"};
        hm_tile_cache_put(c, &k, blob, hm_tile_cache_generation(c));
        double t0 = now_ms();
        for (int i = 0; i < 1000000; i++)
            hm_tile_blob_release(hm_tile_cache_get(c, &k));
        printf("cache hit (get + release), one thread          %8.3f us\n",
               (now_ms() - t0) / 1000.0);
        t0 = now_ms();
        for (int i = 0; i < 100000; i++)
            hm_tile_cache_invalidate_point(c, 106.5, 11.0);
        printf("cache invalidate_point (23 zooms)               %8.3f us\n",
               (now_ms() - t0) / 100.0);
        hm_tile_blob_release(blob);
        hm_tile_cache_destroy(c);
    }

    if (argc > 1)
        bench_areas(argv[1]);
    free(all);
    free(sel);
    return 0;
}
