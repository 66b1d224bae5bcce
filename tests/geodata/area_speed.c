/* area_speed.c: points per second of hm_area_index_locate() over 1,000,000
 * random points in the Cu Chi bbox, all three levels per lookup (ward: 7,
 * former_ward: 21, hamlet: the SYNTHETIC fixture of test_area). Prints one
 * line for the lead to quote; not a test (no timing asserts in tests/).
 * Usage: area_speed [points] */
#include "area.h"
#include "hm_buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef HM_GEODATA_DIR
#error "HM_GEODATA_DIR must name geodata/data"
#endif
#ifndef HM_TEST_GEODATA_DIR
#error "HM_TEST_GEODATA_DIR must name tests/geodata/data"
#endif

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    hm_buf b;
    char chunk[65536];
    size_t n;

    hm_buf_init(&b);
    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_append(&b, chunk, n);
    fclose(f);
    return hm_buf_steal(&b, len);
}

static int load(GEOSContextHandle_t ctx, const char *path, hm_area_list *list)
{
    hm_error err = {0};
    size_t len = 0;
    char *text = slurp(path, &len);
    int rc;

    if (!text) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    rc = hm_area_read_geojson(ctx, text, len, NULL, list, &err);
    free(text);
    if (rc != HM_OK)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    return rc == HM_OK ? 0 : -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fill xy with n points each within ~1e-4 degree of a random vertex of the
 * areas in `list`. Returns 0, or -1 on GEOS failure. */
static int near_vertices(GEOSContextHandle_t ctx, const hm_area_list *list, double *xy, size_t n)
{
    double *v = NULL;
    size_t nv = 0, cap = 0;
    uint64_t s = 7;

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
        double u[3];
        for (int k = 0; k < 3; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            u[k] = (double)(s >> 11) * 0x1p-53;
        }
        size_t j = (size_t)(u[0] * (double)nv) % nv;
        xy[2 * i] = v[2 * j] + (u[1] - 0.5) * 2e-4;
        xy[2 * i + 1] = v[2 * j + 1] + (u[2] - 0.5) * 2e-4;
    }
    free(v);
    return 0;
}

int main(int argc, char **argv)
{
    const char *paths[HM_LEVEL__COUNT] = {HM_GEODATA_DIR "/cu_chi_communes_2025.geojson",
                                          HM_GEODATA_DIR "/cu_chi_communes.geojson",
                                          HM_TEST_GEODATA_DIR "/hamlets_synthetic.geojson"};
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    GEOSContextHandle_t ctx = GEOS_init_r();
    hm_area_list lists[HM_LEVEL__COUNT] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
    hm_area_src src[128];
    size_t nsrc = 0, hits[HM_LEVEL__COUNT] = {0, 0, 0};
    hm_error err = {0};
    hm_area_index *idx = NULL;
    double *xy = NULL, t0, t1, best = 1e30;
    uint64_t s = 42;
    int rc = 1;

    for (int l = 0; l < HM_LEVEL__COUNT; l++) {
        if (load(ctx, paths[l], &lists[l]) < 0)
            goto out;
        for (size_t i = 0; i < lists[l].count && nsrc < 128; i++)
            src[nsrc++] = (hm_area_src){(hm_level)l, lists[l].items[i].code, lists[l].items[i].wkb,
                                        lists[l].items[i].wkb_len};
    }
    t0 = now_s();
    idx = hm_area_index_create(src, nsrc, &err);
    t1 = now_s();
    if (!idx) {
        fprintf(stderr, "index: %s\n", err.msg);
        goto out;
    }
    printf("area_speed: index of %zu areas built in %.1f ms\n", nsrc, (t1 - t0) * 1e3);
    xy = malloc(2 * n * sizeof *xy);
    for (size_t i = 0; i < 2 * n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) * 0x1p-53;
        xy[i] = i % 2 == 0 ? 106.3564843 + u * (106.6572159 - 106.3564843)
                           : 10.9144842 + u * (11.1603092 - 10.9144842);
    }
    for (int rep = 0; rep < 5; rep++) {
        size_t h[HM_LEVEL__COUNT] = {0, 0, 0};
        t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            const char *out[HM_LEVEL__COUNT];
            hm_area_index_locate(idx, xy[2 * i], xy[2 * i + 1], out);
            for (int l = 0; l < HM_LEVEL__COUNT; l++)
                h[l] += out[l] != NULL;
        }
        t1 = now_s();
        if (t1 - t0 < best)
            best = t1 - t0;
        memcpy(hits, h, sizeof hits);
    }
    printf("area_speed: %zu random points in the Cu Chi bbox x 3 levels, best of 5: %.0f "
           "points/s (%.1f ns/point); in ward %zu, former_ward %zu, hamlet %zu\n",
           n, (double)n / best, best * 1e9 / (double)n, hits[0], hits[1], hits[2]);
    /* Worst case: every point within ~10 m of a former_ward vertex, so nearly
     * every lookup needs the exact edge test. */
    if (near_vertices(ctx, &lists[HM_LEVEL_FORMER_WARD], xy, n) == 0) {
        best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            size_t h = 0;
            t0 = now_s();
            for (size_t i = 0; i < n; i++) {
                const char *out[HM_LEVEL__COUNT];
                hm_area_index_locate(idx, xy[2 * i], xy[2 * i + 1], out);
                h += out[HM_LEVEL_WARD] != NULL;
            }
            t1 = now_s();
            if (t1 - t0 < best)
                best = t1 - t0;
            hits[0] = h;
        }
        printf("area_speed: %zu points near borders x 3 levels, best of 5: %.0f points/s "
               "(%.1f ns/point)\n",
               n, (double)n / best, best * 1e9 / (double)n);
    }
    rc = 0;
out:
    free(xy);
    hm_area_index_destroy(idx);
    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        hm_area_list_clear(&lists[l]);
    GEOS_finish_r(ctx);
    return rc;
}
