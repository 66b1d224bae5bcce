/* test_area.c: geodata/area.c — GeoJSON import and repair, hm_area_fit, and
 * the point-to-area index against brute-force GEOS covers.
 *
 * Data: the real Cu Chi files in geodata/data (SOURCES.md) and the SYNTHETIC
 * hamlet fixture tests/geodata/data/hamlets_synthetic.geojson (invented
 * rectangles inside ward 27496; not real hamlets). */
#include "area.h"
#include "area_int.h"
#include "hm_buf.h"
#include "hm_test.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef HM_GEODATA_DIR
#error "HM_GEODATA_DIR must name geodata/data"
#endif
#ifndef HM_TEST_GEODATA_DIR
#error "HM_TEST_GEODATA_DIR must name tests/geodata/data"
#endif

static GEOSContextHandle_t ctx;

static void on_geos(const char *msg, void *ud)
{
    (void)ud;
    (void)msg; /* expected for the invalid inputs below */
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    hm_buf b;
    char chunk[65536];
    size_t n;

    hm_buf_init(&b);
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_append(&b, chunk, n);
    fclose(f);
    return hm_buf_steal(&b, len);
}

/* Read a GeoJSON file; CHECKs success. */
static hm_area_list read_file(const char *path)
{
    hm_area_list list = {NULL, 0};
    hm_error err = {0};
    size_t len = 0;
    char *text = slurp(path, &len);

    CHECK(text != NULL);
    if (!text)
        return list;
    CHECK_INT_EQ(hm_area_read_geojson(ctx, text, len, NULL, &list, &err), HM_OK);
    if (err.code)
        fprintf(stderr, "  %s: %s\n", path, err.msg);
    free(text);
    return list;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* splitmix64: deterministic on every platform. */
static double rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

/* ---- levels --------------------------------------------------------------- */

static void test_levels(void)
{
    static const struct {
        const char *name;
        int rc;
        hm_level level;
    } cases[] = {
        {"ward", HM_OK, HM_LEVEL_WARD},          {"former_ward", HM_OK, HM_LEVEL_FORMER_WARD},
        {"hamlet", HM_OK, HM_LEVEL_HAMLET},      {"Ward", HM_E_INVALID_FIELD, HM_LEVEL_WARD},
        {"", HM_E_INVALID_FIELD, HM_LEVEL_WARD}, {NULL, HM_E_INVALID_FIELD, HM_LEVEL_WARD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_error err = {0};
        hm_level got = HM_LEVEL__COUNT;
        CHECK_INT_EQ(hm_level_parse(cases[i].name, &got, &err), cases[i].rc);
        if (cases[i].rc == HM_OK) {
            CHECK_INT_EQ(got, cases[i].level);
            CHECK_STR_EQ(hm_level_name(got), cases[i].name);
        } else {
            CHECK_INT_EQ(got, HM_LEVEL__COUNT); /* untouched */
            CHECK_STR_EQ(err.field, "level");
        }
    }
}

/* ---- reading the real files --------------------------------------------- */

static const char *const ward_codes[] = {"27496", "27508", "27511", "27526",
                                         "27541", "27544", "27553"};
static const char *const former_codes[] = {"27496", "27499", "27502", "27505", "27508", "27511",
                                           "27514", "27517", "27520", "27523", "27526", "27529",
                                           "27532", "27535", "27538", "27541", "27544", "27547",
                                           "27550", "27553", "27556"};

static hm_area_list wards, formers, hamlets_raw, hamlets; /* hamlets: after hm_area_fit */

static void check_area_geometry(const hm_area *a)
{
    GEOSGeometry *g = GEOSGeomFromWKB_buf_r(ctx, a->wkb, a->wkb_len);
    CHECK(g != NULL);
    if (!g)
        return;
    CHECK(GEOSGeomTypeId_r(ctx, g) == GEOS_POLYGON ||
          GEOSGeomTypeId_r(ctx, g) == GEOS_MULTIPOLYGON);
    CHECK(GEOSisValid_r(ctx, g) == 1);
    CHECK(a->bbox[0] <= a->rep_lon && a->rep_lon <= a->bbox[2]);
    CHECK(a->bbox[1] <= a->rep_lat && a->rep_lat <= a->bbox[3]);
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ctx, a->rep_lon, a->rep_lat);
    CHECK(GEOSContains_r(ctx, g, pt) == 1);
    GEOSGeom_destroy_r(ctx, pt);
    GEOSGeom_destroy_r(ctx, g);
}

static void test_read_real(void)
{
    wards = read_file(HM_GEODATA_DIR "/cu_chi_communes_2025.geojson");
    formers = read_file(HM_GEODATA_DIR "/cu_chi_communes.geojson");
    CHECK_INT_EQ(wards.count, 7);
    CHECK_INT_EQ(formers.count, 21);
    for (size_t i = 0; i < wards.count && i < 7; i++) {
        CHECK_STR_EQ(wards.items[i].code, ward_codes[i]);
        CHECK_STR_EQ(wards.items[i].parent_code, "79");
        CHECK(!wards.items[i].repaired);
        CHECK_STR_EQ(wards.items[i].note, "");
        check_area_geometry(&wards.items[i]);
    }
    for (size_t i = 0; i < formers.count && i < 21; i++) {
        CHECK_STR_EQ(formers.items[i].code, former_codes[i]);
        CHECK_STR_EQ(formers.items[i].parent_code, "783");
        CHECK(!formers.items[i].repaired);
        check_area_geometry(&formers.items[i]);
    }
    if (wards.count == 7 && formers.count == 21) {
        /* Values from SOURCES.md. */
        CHECK_STR_EQ(wards.items[0].name, "Tân An Hội");
        CHECK_INT_EQ(wards.items[0].pop, 68399);
        CHECK_STR_EQ(formers.items[13].name, "Phước Vĩnh An");
        CHECK_INT_EQ(formers.items[13].pop, 21060);
        CHECK(fabs(wards.items[3].bbox[0] - 106.3564843) < 1e-9); /* 27526 minLon */
        CHECK(fabs(wards.items[1].bbox[3] - 11.1603092) < 1e-9);  /* 27508 maxLat */
    }
}

/* ---- the index ------------------------------------------------------------ */

static void add_srcs(hm_area_src *src, size_t *n, const hm_area_list *list, hm_level level)
{
    for (size_t i = 0; i < list->count; i++) {
        src[*n].level = level;
        src[*n].code = list->items[i].code;
        src[*n].wkb = list->items[i].wkb;
        src[*n].wkb_len = list->items[i].wkb_len;
        (*n)++;
    }
}

static hm_area_index *build_index(bool with_hamlets)
{
    hm_area_src src[64];
    size_t n = 0;
    hm_error err = {0};
    hm_area_index *idx;

    add_srcs(src, &n, &wards, HM_LEVEL_WARD);
    add_srcs(src, &n, &formers, HM_LEVEL_FORMER_WARD);
    if (with_hamlets)
        add_srcs(src, &n, &hamlets, HM_LEVEL_HAMLET);
    idx = hm_area_index_create(src, n, &err);
    CHECK(idx != NULL);
    if (!idx)
        fprintf(stderr, "  index: %s\n", err.msg);
    return idx;
}

static void test_index_real(void)
{
    /* Coordinates checked independently with GDAL/SpatiaLite, e.g.
     * ogrinfo -dialect SQLite -sql "SELECT code FROM cu_chi_communes_2025
     *   WHERE ST_Intersects(geometry, MakePoint(106.62, 10.95, 4326))" ... */
    static const struct {
        double lon, lat;
        const char *ward, *former;
    } cases[] = {
        {106.4935, 10.9730, "27496", "27496"}, /* former Thi tran Cu Chi */
        {106.4600, 11.0800, "27508", "27508"},
        {106.6200, 10.9500, "27541", "27547"}, /* Tan Thanh Dong, now Phu Hoa Dong */
        {106.5500, 11.0300, "27511", "27514"}, /* Pham Van Coi, now Nhuan Duc */
        {106.5300, 10.9400, "27553", "27553"},
        {106.5800, 10.9900, "27544", "27523"}, /* Trung An, now Binh My */
        {106.43465, 11.036521, "27526", "27505"},
        {106.5100, 11.1200, "27508", "27502"},
        /* Shared with 27553 (ward) / 27556 (former): the lower code wins. */
        {106.5001379, 10.9706297, "27496", "27496"},  /* a shared vertex */
        {106.5026896, 10.97183825, "27496", "27496"}, /* exactly on a shared edge */
        /* Outside the district. */
        {106.4000, 11.0500, NULL, NULL}, /* inside the bbox, west of the border */
        {106.4200, 11.0600, NULL, NULL},
        {106.4400, 10.9500, NULL, NULL},
        {106.70, 10.77, NULL, NULL}, /* central Ho Chi Minh City */
        {106.0, 10.0, NULL, NULL},
        {0.0, 0.0, NULL, NULL},
        {NAN, 10.97, NULL, NULL},
        {106.49, INFINITY, NULL, NULL},
    };
    hm_area_index *idx = build_index(false);
    const char *out[HM_LEVEL__COUNT];

    if (!idx)
        return;
    CHECK_INT_EQ(hm_area_index_count(idx, HM_LEVEL_WARD), 7);
    CHECK_INT_EQ(hm_area_index_count(idx, HM_LEVEL_FORMER_WARD), 21);
    CHECK_INT_EQ(hm_area_index_count(idx, HM_LEVEL_HAMLET), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_area_index_locate(idx, cases[i].lon, cases[i].lat, out);
        CHECK_STR_EQ(out[HM_LEVEL_WARD], cases[i].ward);
        CHECK_STR_EQ(out[HM_LEVEL_FORMER_WARD], cases[i].former);
        CHECK_STR_EQ(out[HM_LEVEL_HAMLET], NULL);
    }
    /* A point inside every unit (GEOSPointOnSurface) lands in that unit. */
    for (size_t i = 0; i < wards.count; i++) {
        hm_area_index_locate(idx, wards.items[i].rep_lon, wards.items[i].rep_lat, out);
        CHECK_STR_EQ(out[HM_LEVEL_WARD], wards.items[i].code);
    }
    for (size_t i = 0; i < formers.count; i++) {
        hm_area_index_locate(idx, formers.items[i].rep_lon, formers.items[i].rep_lat, out);
        CHECK_STR_EQ(out[HM_LEVEL_FORMER_WARD], formers.items[i].code);
    }
    hm_area_index_destroy(idx);
}

/* Every vertex shared by two units of a level lands in the lower code. */
static void test_shared_vertices(const hm_area_list *list, hm_level level)
{
    hm_area_index *idx = build_index(false);
    GEOSGeometry **g = calloc(list->count, sizeof *g);
    GEOSGeometry **pts = calloc(list->count, sizeof *pts);
    size_t shared = 0;
    const char *out[HM_LEVEL__COUNT];

    if (!idx || !g || !pts)
        goto out;
    for (size_t i = 0; i < list->count; i++) {
        g[i] = GEOSGeomFromWKB_buf_r(ctx, list->items[i].wkb, list->items[i].wkb_len);
        pts[i] = GEOSGeom_extractUniquePoints_r(ctx, g[i]);
    }
    for (size_t i = 0; i < list->count; i++) {
        for (size_t j = i + 1; j < list->count; j++) {
            GEOSGeometry *common = GEOSIntersection_r(ctx, pts[i], pts[j]);
            int n = common ? GEOSGetNumGeometries_r(ctx, common) : 0;
            for (int k = 0; k < n; k++) {
                double x, y;
                const GEOSGeometry *p = GEOSGetGeometryN_r(ctx, common, k);
                if (GEOSisEmpty_r(ctx, p) || !GEOSGeomGetX_r(ctx, p, &x) ||
                    !GEOSGeomGetY_r(ctx, p, &y))
                    continue;
                hm_area_index_locate(idx, x, y, out);
                /* codes are sorted in the files, so i < j means the lower code
                 * unless a third, still lower unit meets here too */
                CHECK(out[level] != NULL && strcmp(out[level], list->items[i].code) <= 0);
                shared++;
            }
            if (common)
                GEOSGeom_destroy_r(ctx, common);
        }
    }
    CHECK(shared > 100);
out:
    for (size_t i = 0; g && pts && i < list->count; i++) {
        if (g[i])
            GEOSGeom_destroy_r(ctx, g[i]);
        if (pts[i])
            GEOSGeom_destroy_r(ctx, pts[i]);
    }
    free(g);
    free(pts);
    hm_area_index_destroy(idx);
}

/* Brute force: GEOS covers on every area of the level, in code order. */
typedef struct bf_area {
    const char *code;
    GEOSGeometry *g;
    const GEOSPreparedGeometry *prep;
    double bbox[4];
} bf_area;

typedef struct bf_level {
    bf_area *a;
    size_t n;
} bf_level;

static int bf_cmp(const void *pa, const void *pb)
{
    return strcmp(((const bf_area *)pa)->code, ((const bf_area *)pb)->code);
}

static void bf_init(bf_level *bl, const hm_area_list *list)
{
    bl->n = list->count;
    bl->a = calloc(list->count ? list->count : 1, sizeof *bl->a);
    for (size_t i = 0; i < list->count; i++) {
        bl->a[i].code = list->items[i].code;
        bl->a[i].g = GEOSGeomFromWKB_buf_r(ctx, list->items[i].wkb, list->items[i].wkb_len);
        bl->a[i].prep = GEOSPrepare_r(ctx, bl->a[i].g);
        memcpy(bl->a[i].bbox, list->items[i].bbox, sizeof bl->a[i].bbox);
    }
    qsort(bl->a, bl->n, sizeof *bl->a, bf_cmp);
}

static void bf_clear(bf_level *bl)
{
    for (size_t i = 0; i < bl->n; i++) {
        GEOSPreparedGeom_destroy_r(ctx, bl->a[i].prep);
        GEOSGeom_destroy_r(ctx, bl->a[i].g);
    }
    free(bl->a);
}

/* `prepared`: GEOSPreparedCovers_r, else plain GEOSCovers_r. */
static const char *bf_locate(const bf_level *bl, const GEOSGeometry *pt, double x, double y,
                             bool prepared)
{
    for (size_t i = 0; i < bl->n; i++) {
        const bf_area *a = &bl->a[i];
        char c;
        if (x < a->bbox[0] || x > a->bbox[2] || y < a->bbox[1] || y > a->bbox[3])
            continue; /* GEOS covers starts with this envelope test too */
        c = prepared ? GEOSPreparedCovers_r(ctx, a->prep, pt) : GEOSCovers_r(ctx, a->g, pt);
        CHECK(c != 2);
        if (c == 1)
            return a->code;
    }
    return NULL;
}

typedef struct pt2 {
    double x, y;
} pt2;

static void add_points_of(pt2 **pts, size_t *n, size_t *cap, const hm_area_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        GEOSGeometry *g = GEOSGeomFromWKB_buf_r(ctx, list->items[i].wkb, list->items[i].wkb_len);
        int np = GEOSGetNumGeometries_r(ctx, g);
        for (int p = 0; p < np; p++) {
            const GEOSGeometry *poly = GEOSGetGeometryN_r(ctx, g, p);
            int nh = GEOSGetNumInteriorRings_r(ctx, poly);
            for (int r = -1; r < nh; r++) {
                const GEOSGeometry *ring =
                    r < 0 ? GEOSGetExteriorRing_r(ctx, poly) : GEOSGetInteriorRingN_r(ctx, poly, r);
                const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx, ring);
                unsigned int m = 0;
                GEOSCoordSeq_getSize_r(ctx, seq, &m);
                double *xy = malloc(2 * (size_t)m * sizeof *xy);
                GEOSCoordSeq_copyToBuffer_r(ctx, seq, xy, 0, 0);
                for (unsigned int k = 0; k + 1 < m; k++) {
                    double ax = xy[2 * k], ay = xy[2 * k + 1];
                    double bx = xy[2 * k + 2], by = xy[2 * k + 3];
                    pt2 cand[] = {
                        {ax, ay},                       /* vertex */
                        {(ax + bx) / 2, (ay + by) / 2}, /* edge midpoint */
                        {nextafter(ax, 200), ay},       /* one ulp off the vertex */
                        {ax, nextafter(ay, -100)},
                        {ax + (bx - ax) / 3, ay + (by - ay) / 3}, /* near the edge */
                    };
                    for (size_t c = 0; c < sizeof cand / sizeof cand[0]; c++) {
                        if (*n == *cap) {
                            *cap = *cap ? 2 * *cap : 65536;
                            *pts = realloc(*pts, *cap * sizeof **pts);
                        }
                        (*pts)[(*n)++] = cand[c];
                    }
                }
                free(xy);
            }
        }
        GEOSGeom_destroy_r(ctx, g);
    }
}

static void test_against_geos(void)
{
    const hm_area_list *lists[HM_LEVEL__COUNT] = {&wards, &formers, &hamlets};
    bf_level bl[HM_LEVEL__COUNT];
    hm_area_index *idx = build_index(true);
    pt2 *pts = NULL;
    size_t n = 0, cap = 0, n_random = 200000, n_grid = 50000, mismatches = 0, plain_checked = 0;
    size_t found[HM_LEVEL__COUNT] = {0, 0, 0};
    const double bbox[4] = {106.3564843, 10.9144842, 106.6572159, 11.1603092};

    if (!idx)
        return;
    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        bf_init(&bl[l], lists[l]);
    cap = n_random + n_grid + 8;
    pts = malloc(cap * sizeof *pts);
    for (size_t i = 0; i < n_random; i++) {
        /* the district's bbox, 2% larger */
        pts[n].x = bbox[0] - 0.006 + rnd() * (bbox[2] - bbox[0] + 0.012);
        pts[n].y = bbox[1] - 0.005 + rnd() * (bbox[3] - bbox[1] + 0.010);
        n++;
    }
    for (size_t i = 0; i < n_grid; i++) {
        /* on a 0.001 degree grid: lands exactly on the synthetic hamlets' edges */
        pts[n].x = (double)(106440 + (long)(rnd() * 70)) / 1000.0;
        pts[n].y = (double)(10950 + (long)(rnd() * 45)) / 1000.0;
        n++;
    }
    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        add_points_of(&pts, &n, &cap, lists[l]);
    for (size_t i = 0; i < n; i++) {
        const char *out[HM_LEVEL__COUNT];
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ctx, pts[i].x, pts[i].y);
        /* the plain (unprepared) predicate on a sample: it is slow */
        bool plain = i % 97 == 0;
        hm_area_index_locate(idx, pts[i].x, pts[i].y, out);
        for (int l = 0; l < HM_LEVEL__COUNT; l++) {
            const char *want = bf_locate(&bl[l], pt, pts[i].x, pts[i].y, true);
            if (plain) {
                CHECK_STR_EQ(bf_locate(&bl[l], pt, pts[i].x, pts[i].y, false), want);
                plain_checked++;
            }
            if ((out[l] == NULL) != (want == NULL) || (want && strcmp(out[l], want) != 0)) {
                if (mismatches++ < 10)
                    fprintf(stderr, "  mismatch level %s at (%.17g, %.17g): got %s want %s\n",
                            hm_level_name((hm_level)l), pts[i].x, pts[i].y,
                            out[l] ? out[l] : "(null)", want ? want : "(null)");
            }
            found[l] += want != NULL;
        }
        GEOSGeom_destroy_r(ctx, pt);
    }
    fprintf(stderr,
            "  index vs GEOS covers: %zu points x 3 levels, %zu mismatches "
            "(found: ward %zu, former_ward %zu, hamlet %zu; %zu plain covers)\n",
            n, mismatches, found[0], found[1], found[2], plain_checked);
    CHECK_INT_EQ(mismatches, 0);
    CHECK(n >= 250000);
    CHECK(found[HM_LEVEL_HAMLET] > 5000); /* the hamlet level really was exercised */
    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        bf_clear(&bl[l]);
    free(pts);
    hm_area_index_destroy(idx);
}

/* Lookups from several threads at once give the single-threaded answers. */
typedef struct thread_job {
    const hm_area_index *idx;
    const pt2 *pts;
    const char *(*want)[HM_LEVEL__COUNT];
    size_t n;
    size_t bad;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    for (int rep = 0; rep < 4; rep++) {
        for (size_t i = 0; i < job->n; i++) {
            const char *out[HM_LEVEL__COUNT];
            hm_area_index_locate(job->idx, job->pts[i].x, job->pts[i].y, out);
            for (int l = 0; l < HM_LEVEL__COUNT; l++)
                job->bad += out[l] != job->want[i][l];
        }
    }
    return NULL;
}

static void test_threads(void)
{
    enum { N = 50000, T = 4 };
    hm_area_index *idx = build_index(true);
    pt2 *pts = malloc(N * sizeof *pts);
    const char *(*want)[HM_LEVEL__COUNT] = malloc(N * sizeof *want);
    pthread_t th[T];
    thread_job jobs[T];

    if (!idx || !pts || !want)
        goto out;
    for (size_t i = 0; i < N; i++) {
        pts[i].x = 106.35 + rnd() * 0.31;
        pts[i].y = 10.91 + rnd() * 0.26;
        hm_area_index_locate(idx, pts[i].x, pts[i].y, want[i]);
    }
    for (int t = 0; t < T; t++) {
        jobs[t] = (thread_job){idx, pts, want, N, 0};
        CHECK(pthread_create(&th[t], NULL, thread_main, &jobs[t]) == 0);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECK_INT_EQ(jobs[t].bad, 0);
    }
out:
    free(pts);
    free(want);
    hm_area_index_destroy(idx);
}

static void test_index_edge_cases(void)
{
    hm_error err = {0};
    const unsigned char junk[] = {1, 2, 3};
    hm_area_src bad = {HM_LEVEL_WARD, "X", junk, sizeof junk};
    const char *out[HM_LEVEL__COUNT] = {"x", "x", "x"};
    hm_area_index *idx;

    /* No areas: every point is outside. */
    idx = hm_area_index_create(NULL, 0, &err);
    CHECK(idx != NULL);
    hm_area_index_locate(idx, 106.5, 11.0, out);
    for (int l = 0; l < HM_LEVEL__COUNT; l++) {
        CHECK_STR_EQ(out[l], NULL);
        CHECK_INT_EQ(hm_area_index_count(idx, (hm_level)l), 0);
    }
    hm_area_index_destroy(idx);
    hm_area_index_destroy(NULL);

    /* Unreadable WKB. */
    idx = hm_area_index_create(&bad, 1, &err);
    CHECK(idx == NULL);
    CHECK_INT_EQ(err.code, HM_E_INVALID_FIELD);
    CHECK(strstr(err.msg, "X") != NULL);

    /* An invalid bow-tie handed straight to the index is repaired there, so
     * its answers stay those of GEOS covers on a valid area. */
    GEOSGeometry *bow = GEOSGeomFromWKT_r(
        ctx, "POLYGON((106.50 11.00, 106.51 11.01, 106.51 11.00, 106.50 11.01, 106.50 11.00))");
    size_t len = 0;
    unsigned char *wkb = GEOSGeomToWKB_buf_r(ctx, bow, &len);
    hm_area_src src = {HM_LEVEL_HAMLET, "BOW", wkb, len};
    hm_error_clear(&err);
    idx = hm_area_index_create(&src, 1, &err);
    CHECK(idx != NULL);
    hm_area_index_locate(idx, 106.5010, 11.0050, out); /* left triangle */
    CHECK_STR_EQ(out[HM_LEVEL_HAMLET], "BOW");
    hm_area_index_locate(idx, 106.5050, 11.0010, out); /* between the triangles */
    CHECK_STR_EQ(out[HM_LEVEL_HAMLET], NULL);
    hm_area_index_locate(idx, 106.5050, 11.0050, out); /* the crossing point */
    CHECK_STR_EQ(out[HM_LEVEL_HAMLET], "BOW");
    hm_area_index_destroy(idx);
    GEOSFree_r(ctx, wkb);
    GEOSGeom_destroy_r(ctx, bow);
}

/* ---- exact predicates on degenerate input --------------------------------- */

/* Points within a few ulps of the line y = x (Kettner et al., "Classroom
 * examples of robustness problems in geometric computations"): the exact
 * sign is sign(j - i); GEOS's DD predicate agrees. */
static void test_orient_near_degenerate(void)
{
    size_t wrong = 0, geos_differs = 0;
    for (int i = 0; i < 256; i++) {
        for (int j = 0; j < 256; j++) {
            double px = 0.5 + i * 0x1p-53, py = 0.5 + j * 0x1p-53;
            int want = (j > i) - (j < i);
            wrong += hm_area__orient(px, py, 12, 12, 24, 24) != want;
            wrong += hm_area__orient(12, 12, 24, 24, px, py) != want;
            geos_differs += GEOSOrientationIndex_r(ctx, px, py, 12, 12, 24, 24) != want;
        }
    }
    CHECK_INT_EQ(wrong, 0);
    CHECK_INT_EQ(geos_differs, 0);
    /* Large and tiny magnitudes, collinear by construction. */
    CHECK_INT_EQ(hm_area__orient(1e15, 1e15, 1e15 + 2, 1e15 + 2, 1e15 + 4, 1e15 + 4), 0);
    CHECK_INT_EQ(hm_area__orient(106.1, 10.1, 106.2, 10.2, 106.1, 10.1), 0);
    CHECK_INT_EQ(hm_area__orient(0, 0, 1, 0, 0.5, 1e-300), 1);
    CHECK_INT_EQ(hm_area__orient(0, 0, 1, 0, 0.5, -1e-300), -1);
}

/* All edges of a (Multi)Polygon as ax, ay, bx, by quadruples (malloc'd). */
static double *edges_of(const GEOSGeometry *g, size_t *n)
{
    double *out = NULL;
    size_t cap = 0;
    int np = GEOSGetNumGeometries_r(ctx, g);

    *n = 0;
    for (int p = 0; p < np; p++) {
        const GEOSGeometry *poly = GEOSGetGeometryN_r(ctx, g, p);
        int nh = GEOSGetNumInteriorRings_r(ctx, poly);
        for (int r = -1; r < nh; r++) {
            const GEOSGeometry *ring =
                r < 0 ? GEOSGetExteriorRing_r(ctx, poly) : GEOSGetInteriorRingN_r(ctx, poly, r);
            const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx, ring);
            unsigned int m = 0;
            GEOSCoordSeq_getSize_r(ctx, seq, &m);
            double *xy = malloc(2 * (size_t)m * sizeof *xy);
            GEOSCoordSeq_copyToBuffer_r(ctx, seq, xy, 0, 0);
            for (unsigned int k = 0; k + 1 < m; k++) {
                if (*n == cap) {
                    cap = cap ? 2 * cap : 64;
                    out = realloc(out, 4 * cap * sizeof *out);
                }
                memcpy(out + 4 * *n, xy + 2 * k, 4 * sizeof *out);
                (*n)++;
            }
            free(xy);
        }
    }
    return out;
}

/* The cell test against GEOS covers with every reference point R and query q
 * on a lattice that the shapes' vertices share: the segment R-q runs through
 * vertices and along edges all the time, which random points never do. */
static void test_cover_lattice(void)
{
    static const char *const shapes[] = {
        /* comb: many collinear vertices */
        "POLYGON((0 0,12 0,12 12,10 12,10 4,8 4,8 12,6 12,6 4,4 4,4 12,2 12,2 4,0 4,0 0))",
        /* diamond with a diamond hole */
        "POLYGON((6 0,12 6,6 12,0 6,6 0),(6 3,3 6,6 9,9 6,6 3))",
        /* two triangles touching at one vertex */
        "MULTIPOLYGON(((0 0,6 6,0 12,0 0)),((12 0,12 12,6 6,12 0)))",
        /* extra vertices along edges, a reflex vertex, a spike-like notch */
        "POLYGON((0 0,3 0,6 0,9 0,12 0,12 3,12 12,6 6,5 10,4 6,0 12,0 6,0 0))",
    };
    static const struct {
        double scale, dx, dy;
    } frames[] = {{1.0, 0.0, 0.0}, {0.25, 106.0, 10.0}}; /* exact in binary */
    size_t wrong = 0, calls = 0;

    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
            GEOSGeometry *g0 = GEOSGeomFromWKT_r(ctx, shapes[s]);
            double *e;
            size_t ne;
            bool cov[27][27]; /* GEOS covers of the query points, in lattice units */

            CHECK(g0 != NULL && GEOSisValid_r(ctx, g0) == 1);
            /* The predicate sees the lattice mapped into the frame (exact:
             * power-of-two scale, small integers); GEOS sees lattice units. */
            e = edges_of(g0, &ne);
            for (size_t k = 0; k < 2 * ne; k++) {
                e[2 * k] = e[2 * k] * frames[f].scale + frames[f].dx;
                e[2 * k + 1] = e[2 * k + 1] * frames[f].scale + frames[f].dy;
            }
            for (int a = 0; a < 27; a++) {
                for (int b = 0; b < 27; b++) {
                    GEOSGeometry *pt =
                        GEOSGeom_createPointFromXY_r(ctx, (a - 1) * 0.5, (b - 1) * 0.5);
                    cov[a][b] = GEOSCovers_r(ctx, g0, pt) == 1;
                    GEOSGeom_destroy_r(ctx, pt);
                }
            }
            for (int ri = 0; ri <= 12; ri++) {
                for (int rj = 0; rj <= 12; rj++) {
                    GEOSGeometry *rp = GEOSGeom_createPointFromXY_r(ctx, ri, rj);
                    int covers = GEOSCovers_r(ctx, g0, rp) == 1;
                    int inside = GEOSContains_r(ctx, g0, rp) == 1;
                    GEOSGeom_destroy_r(ctx, rp);
                    if (covers && !inside)
                        continue; /* R must not be on the boundary */
                    double rx = ri * frames[f].scale + frames[f].dx;
                    double ry = rj * frames[f].scale + frames[f].dy;
                    for (int a = 0; a < 27; a++) {
                        for (int b = 0; b < 27; b++) {
                            double qx = (a - 1) * 0.5 * frames[f].scale + frames[f].dx;
                            double qy = (b - 1) * 0.5 * frames[f].scale + frames[f].dy;
                            int got = hm_area__edges_cover(e, ne, rx, ry, inside, qx, qy);
                            calls++;
                            if (got != cov[a][b] && wrong++ < 5)
                                fprintf(stderr,
                                        "  lattice shape %zu frame %zu R=(%d,%d) q=(%g,%g): "
                                        "got %d want %d\n",
                                        s, f, ri, rj, (a - 1) * 0.5, (b - 1) * 0.5, got, cov[a][b]);
                        }
                    }
                }
            }
            free(e);
            GEOSGeom_destroy_r(ctx, g0);
        }
    }
    CHECK_INT_EQ(wrong, 0);
    CHECK(calls > 200000);
}

/* ---- hamlets: SYNTHETIC fixture ------------------------------------------- */

static hm_area_ref ref_of(const hm_area *a)
{
    hm_area_ref r = {a->code, a->wkb, a->wkb_len};
    return r;
}

/* Area in m^2: square degrees scaled by the metres per degree of latitude
 * and longitude at 11 N (good to ~0.1% this close to 11 N). */
static double approx_m2(const unsigned char *wkb, size_t len)
{
    GEOSGeometry *g = GEOSGeomFromWKB_buf_r(ctx, wkb, len);
    double a = 0.0;
    GEOSArea_r(ctx, g, &a);
    GEOSGeom_destroy_r(ctx, g);
    return a * 110605.0 * 109290.0;
}

static const hm_area *find_code(const hm_area_list *list, const char *code)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].code, code) == 0)
            return &list->items[i];
    return NULL;
}

/* Make a one-feature area from a rectangle. */
static hm_area rect_area(const char *code, double x0, double y0, double x1, double y1)
{
    char text[512];
    hm_area_list list = {NULL, 0};
    hm_area a;
    hm_error err = {0};

    snprintf(text, sizeof text,
             "{\"type\":\"Feature\",\"properties\":{\"code\":\"%s\",\"parent_code\":\"27496\"},"
             "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[%.10f,%.10f],[%.10f,%.10f],"
             "[%.10f,%.10f],[%.10f,%.10f],[%.10f,%.10f]]]}}",
             code, x0, y0, x1, y0, x1, y1, x0, y1, x0, y0);
    CHECK_INT_EQ(hm_area_read_geojson(ctx, text, strlen(text), NULL, &list, &err), HM_OK);
    CHECK_INT_EQ(list.count, 1);
    a = list.items[0];
    free(list.items);
    return a;
}

static void test_hamlets(void)
{
    const hm_area *ward = find_code(&wards, "27496");
    hm_area_ref parent;
    hm_area_ref sib[32];
    char overlaps[128];
    hm_error err = {0};

    hamlets_raw = read_file(HM_TEST_GEODATA_DIR "/hamlets_synthetic.geojson");
    CHECK_INT_EQ(hamlets_raw.count, 8);
    CHECK(ward != NULL);
    if (!ward || hamlets_raw.count != 8)
        return;
    parent = ref_of(ward);

    /* Fit every hamlet into ward 27496 against those fitted before it. */
    hamlets.items = calloc(hamlets_raw.count, sizeof *hamlets.items);
    for (size_t i = 0; i < hamlets_raw.count; i++) {
        hm_area *a = &hamlets.items[i];
        const hm_area *raw = &hamlets_raw.items[i];
        *a = *raw;
        a->code = strdup(raw->code);
        a->name = strdup(raw->name);
        a->parent_code = strdup(raw->parent_code);
        a->wkb = malloc(raw->wkb_len);
        memcpy(a->wkb, raw->wkb, raw->wkb_len);
        hamlets.count++;
        for (size_t k = 0; k < i; k++)
            sib[k] = ref_of(&hamlets.items[k]);
        hm_error_clear(&err);
        CHECK_INT_EQ(hm_area_fit(ctx, a, &parent, sib, i, overlaps, sizeof overlaps, &err), HM_OK);
        if (err.code)
            fprintf(stderr, "  fit %s: %s\n", a->code, err.msg);
        CHECK_STR_EQ(overlaps, "");
        CHECK_STR_EQ(a->parent_code, "27496");
    }
    /* S01..S07 lie inside the ward and are unchanged. */
    for (size_t i = 0; i < 7; i++) {
        CHECK_INT_EQ(hamlets.items[i].wkb_len, hamlets_raw.items[i].wkb_len);
        CHECK(memcmp(hamlets.items[i].wkb, hamlets_raw.items[i].wkb,
                     hamlets_raw.items[i].wkb_len) == 0);
        CHECK_STR_EQ(hamlets.items[i].note, "");
    }
    /* S08 crossed into ward 27553 and was clipped to 27496. */
    {
        const hm_area *s8 = &hamlets.items[7];
        GEOSGeometry *g = GEOSGeomFromWKB_buf_r(ctx, s8->wkb, s8->wkb_len);
        GEOSGeometry *w = GEOSGeomFromWKB_buf_r(ctx, ward->wkb, ward->wkb_len);
        GEOSGeometry *outside = GEOSDifference_r(ctx, g, w);
        double out_area = 1.0;
        GEOSArea_r(ctx, outside, &out_area);
        CHECK(out_area < 1e-12); /* square degrees: < 0.01 m^2 */
        CHECK(s8->bbox[2] <= 106.505 && s8->bbox[0] >= 106.495);
        CHECK(approx_m2(s8->wkb, s8->wkb_len) <
              0.9 * approx_m2(hamlets_raw.items[7].wkb, hamlets_raw.items[7].wkb_len));
        CHECK(strstr(s8->note, "clipped to parent 27496") != NULL);
        CHECK(!s8->repaired);
        GEOSGeom_destroy_r(ctx, outside);
        GEOSGeom_destroy_r(ctx, w);
        GEOSGeom_destroy_r(ctx, g);
    }
    for (size_t k = 0; k < hamlets.count; k++)
        sib[k] = ref_of(&hamlets.items[k]);

    /* A table of new hamlets against the eight. */
    static const struct {
        const char *name;
        double x0, y0, x1, y1;
        int rc;
        const char *overlaps;
        const char *note; /* substring, or NULL: unchanged */
    } cases[] = {
        {"overlaps S01 and S02", 106.463, 10.968, 106.469, 10.969, HM_E_OVERLAP,
         "27496-S01,27496-S02", NULL},
        {"overlaps S04 by about 2.4 m^2", 106.4719996, 10.9715, 106.476, 10.972, HM_E_OVERLAP,
         "27496-S04", NULL},
        {"covers S06 and part of S05", 106.452, 10.957, 106.456, 10.961, HM_E_OVERLAP,
         "27496-S05,27496-S06", NULL},
        {"sliver of about 0.6 m^2 over S02 is trimmed", 106.4719999, 10.9665, 106.476, 10.967,
         HM_OK, "", "trimmed"},
        {"touches S02 along its edge only", 106.472, 10.9665, 106.476, 10.967, HM_OK, "", NULL},
        {"outside the ward", 106.60, 10.95, 106.61, 10.96, HM_E_INVALID_FIELD, "", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_area a = rect_area("27496-S99", cases[i].x0, cases[i].y0, cases[i].x1, cases[i].y1);
        unsigned char *before = malloc(a.wkb_len);
        size_t before_len = a.wkb_len;
        int rc;
        memcpy(before, a.wkb, a.wkb_len);
        hm_error_clear(&err);
        strcpy(overlaps, "junk");
        rc = hm_area_fit(ctx, &a, &parent, sib, hamlets.count, overlaps, sizeof overlaps, &err);
        if (rc != cases[i].rc)
            fprintf(stderr, "  case \"%s\": %s\n", cases[i].name, err.msg);
        CHECK_INT_EQ(rc, cases[i].rc);
        CHECK_STR_EQ(overlaps, cases[i].overlaps);
        if (rc == HM_E_OVERLAP) {
            CHECK_STR_EQ(err.field, "geometry");
            CHECK(strstr(err.msg, cases[i].overlaps) != NULL);
        }
        if (rc == HM_E_INVALID_FIELD) {
            CHECK_STR_EQ(err.field, "geometry");
            CHECK(strstr(err.msg, "outside its parent") != NULL);
        }
        if (rc != HM_OK || !cases[i].note) {
            /* nothing changed */
            CHECK_INT_EQ(a.wkb_len, before_len);
            CHECK(memcmp(a.wkb, before, before_len) == 0);
            CHECK_STR_EQ(a.note, "");
        } else {
            /* trimmed: no overlap with S02 left, and about 0.6 m^2 less */
            const hm_area *s2 = find_code(&hamlets, "27496-S02");
            GEOSGeometry *g = GEOSGeomFromWKB_buf_r(ctx, a.wkb, a.wkb_len);
            GEOSGeometry *s = GEOSGeomFromWKB_buf_r(ctx, s2->wkb, s2->wkb_len);
            GEOSGeometry *x = GEOSIntersection_r(ctx, g, s);
            double xa = 1.0, d;
            GEOSArea_r(ctx, x, &xa);
            CHECK(xa < 1e-15); /* square degrees: ~1e-5 m^2 */
            CHECK(strstr(a.note, cases[i].note) != NULL);
            d = approx_m2(before, before_len) - approx_m2(a.wkb, a.wkb_len);
            CHECK(d > 0.4 && d < 0.8);
            GEOSGeom_destroy_r(ctx, x);
            GEOSGeom_destroy_r(ctx, s);
            GEOSGeom_destroy_r(ctx, g);
        }
        free(before);
        hm_area_clear(&a);
    }

    /* Fit without a parent: no clipping. */
    {
        hm_area a = rect_area("27496-S98", 106.60, 10.95, 106.61, 10.96);
        hm_error_clear(&err);
        CHECK_INT_EQ(hm_area_fit(ctx, &a, NULL, NULL, 0, NULL, 0, &err), HM_OK);
        hm_area_clear(&a);
    }

    /* The hamlet level works in the index. */
    static const struct {
        double lon, lat;
        const char *ward, *hamlet;
    } loc[] = {
        {106.463, 10.968, "27496", "27496-S01"},
        {106.469, 10.974, "27496", "27496-S04"},
        {106.466, 10.968, "27496", "27496-S01"}, /* S01 | S02 shared edge */
        {106.469, 10.971, "27496", "27496-S02"}, /* S02 | S04 shared edge */
        {106.466, 10.971, "27496", "27496-S01"}, /* corner of S01..S04 */
        {106.472, 10.976, "27496", "27496-S04"}, /* outer corner of S04 */
        {106.4720001, 10.976, "27496", NULL},    /* just east of it */
        {106.451, 10.956, "27496", "27496-S05"},
        {106.454, 10.959, "27496", "27496-S06"}, /* in the hole of S05 */
        {106.453, 10.959, "27496", "27496-S05"}, /* on the hole's edge: S05 < S06 */
        {106.474, 10.984, "27496", "27496-S07"}, /* first part */
        {106.457, 10.987, "27496", "27496-S07"}, /* second part */
        {106.465, 10.987, "27496", NULL},        /* between the parts */
        {106.496, 10.974, "27496", "27496-S08"}, /* clipped S08, inside 27496 */
        {106.504, 10.974, "27553", NULL},        /* the part of S08 clipped away */
        {106.4935, 10.9730, "27496", NULL},      /* ward without hamlet */
        {106.70, 10.77, NULL, NULL},
    };
    hm_area_index *idx = build_index(true);
    if (!idx)
        return;
    CHECK_INT_EQ(hm_area_index_count(idx, HM_LEVEL_HAMLET), 8);
    for (size_t i = 0; i < sizeof loc / sizeof loc[0]; i++) {
        const char *out[HM_LEVEL__COUNT];
        hm_area_index_locate(idx, loc[i].lon, loc[i].lat, out);
        CHECK_STR_EQ(out[HM_LEVEL_WARD], loc[i].ward);
        CHECK_STR_EQ(out[HM_LEVEL_HAMLET], loc[i].hamlet);
    }
    for (size_t i = 0; i < hamlets.count; i++) {
        const char *out[HM_LEVEL__COUNT];
        hm_area_index_locate(idx, hamlets.items[i].rep_lon, hamlets.items[i].rep_lat, out);
        CHECK_STR_EQ(out[HM_LEVEL_HAMLET], hamlets.items[i].code);
        CHECK_STR_EQ(out[HM_LEVEL_WARD], "27496");
    }
    hm_area_index_destroy(idx);
}

/* ---- repair and errors ---------------------------------------------------- */

#define FEATURE(props, geom) "{\"type\":\"Feature\",\"properties\":" props ",\"geometry\":" geom "}"
#define SQUARE               "[[106.5,11.0],[106.51,11.0],[106.51,11.01],[106.5,11.01],[106.5,11.0]]"
#define POLY(ring)           "{\"type\":\"Polygon\",\"coordinates\":[" ring "]}"

static void test_repair(void)
{
    static const struct {
        const char *name, *json;
        int parts;        /* polygons after repair */
        const char *note; /* substring */
    } cases[] = {
        {"bow-tie",
         FEATURE(
             "{\"code\":\"B1\"}",
             POLY("[[106.50,11.00],[106.51,11.01],[106.51,11.00],[106.50,11.01],[106.50,11.00]]")),
         2, "Self-intersection"},
        {"unclosed ring",
         FEATURE("{\"code\":\"B2\"}",
                 POLY("[[106.5,11.0],[106.51,11.0],[106.51,11.01],[106.5,11.01]]")),
         1, "closed open ring"},
        {"hole sticking out of its shell",
         FEATURE("{\"code\":\"B3\"}",
                 POLY(SQUARE ",[[106.505,11.005],[106.505,11.02],[106.506,11.02],[106.506,11.005],"
                             "[106.505,11.005]]")),
         1, "repaired invalid geometry"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_area_list list = {NULL, 0};
        hm_error err = {0};
        int rc = hm_area_read_geojson(ctx, cases[i].json, strlen(cases[i].json), NULL, &list, &err);
        if (rc)
            fprintf(stderr, "  repair case \"%s\": %s\n", cases[i].name, err.msg);
        CHECK_INT_EQ(rc, HM_OK);
        CHECK_INT_EQ(list.count, 1);
        if (list.count != 1)
            continue;
        const hm_area *a = &list.items[0];
        GEOSGeometry *g = GEOSGeomFromWKB_buf_r(ctx, a->wkb, a->wkb_len);
        CHECK(a->repaired);
        CHECK(strstr(a->note, cases[i].note) != NULL);
        CHECK(GEOSisValid_r(ctx, g) == 1);
        CHECK_INT_EQ(GEOSGetNumGeometries_r(ctx, g), cases[i].parts);
        check_area_geometry(a);
        GEOSGeom_destroy_r(ctx, g);
        hm_area_list_clear(&list);
    }
}

static void test_parse(void)
{
    static const hm_area_fields custom = {"ma", "ten", "cha"};
    static const struct {
        const char *name, *json;
        const hm_area_fields *fields;
        const char *code, *area_name, *parent;
        long long pop;
    } cases[] = {
        {"numeric code", FEATURE("{\"code\":27496,\"name\":\"X\"}", POLY(SQUARE)), NULL, "27496",
         "X", NULL, -1},
        {"real code", FEATURE("{\"code\":27496.0}", POLY(SQUARE)), NULL, "27496", "", NULL, -1},
        {"population",
         FEATURE("{\"code\":\"A\",\"parent_code\":\"27496\",\"population\":1200}", POLY(SQUARE)),
         NULL, "A", "", "27496", 1200},
        {"null properties",
         "{\"type\":\"Feature\",\"id\":\"q\",\"properties\":{\"code\":\"Q\","
         "\"name\":null,\"parent_code\":null},\"geometry\":" POLY(SQUARE) "}",
         NULL, "Q", "", NULL, -1},
        {"custom fields",
         FEATURE("{\"ma\":\"H1\",\"ten\":\"Ap 1\",\"cha\":27496,\"code\":\"no\"}", POLY(SQUARE)),
         &custom, "H1", "Ap 1", "27496", -1},
        {"multipolygon",
         FEATURE("{\"code\":\"M\"}",
                 "{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQUARE
                 "],[[[106.6,11.0],[106.61,11.0],[106.61,11.01],[106.6,11.0]]]]}"),
         NULL, "M", "", NULL, -1},
        {"3D positions",
         FEATURE("{\"code\":\"Z\"}",
                 POLY("[[106.5,11.0,5],[106.51,11.0,5],[106.51,11.01,5],[106.5,11."
                      "0,5]]")),
         NULL, "Z", "", NULL, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_area_list list = {NULL, 0};
        hm_error err = {0};
        int rc = hm_area_read_geojson(ctx, cases[i].json, strlen(cases[i].json), cases[i].fields,
                                      &list, &err);
        if (rc)
            fprintf(stderr, "  parse case \"%s\": %s\n", cases[i].name, err.msg);
        CHECK_INT_EQ(rc, HM_OK);
        CHECK_INT_EQ(list.count, 1);
        if (list.count != 1)
            continue;
        CHECK_STR_EQ(list.items[0].code, cases[i].code);
        CHECK_STR_EQ(list.items[0].name, cases[i].area_name);
        CHECK_STR_EQ(list.items[0].parent_code, cases[i].parent);
        CHECK_INT_EQ(list.items[0].pop, cases[i].pop);
        CHECK(!list.items[0].repaired);
        check_area_geometry(&list.items[0]);
        hm_area_list_clear(&list);
    }
}

static void test_errors(void)
{
    static const struct {
        const char *name, *json;
        int code;
        const char *field, *msg; /* msg: substring */
    } cases[] = {
        {"bad JSON", "{\"type\":", HM_E_BAD_JSON, NULL, "invalid JSON"},
        {"empty input", "", HM_E_BAD_JSON, NULL, "invalid JSON"},
        {"not GeoJSON", "[1,2]", HM_E_INVALID_FIELD, "type", "FeatureCollection"},
        {"geometry alone", POLY(SQUARE), HM_E_INVALID_FIELD, "type", "FeatureCollection"},
        {"features not an array", "{\"type\":\"FeatureCollection\",\"features\":{}}",
         HM_E_INVALID_FIELD, "features", "features array"},
        {"point", FEATURE("{\"code\":\"P\"}", "{\"type\":\"Point\",\"coordinates\":[106.5,11]}"),
         HM_E_INVALID_FIELD, "geometry", "Point is not Polygon"},
        {"linestring",
         FEATURE("{\"code\":\"L\"}",
                 "{\"type\":\"LineString\",\"coordinates\":[[106.5,11],[106.6,11]]}"),
         HM_E_INVALID_FIELD, "geometry", "LineString"},
        {"null geometry", FEATURE("{\"code\":\"N\"}", "null"), HM_E_INVALID_FIELD, "geometry",
         "missing geometry"},
        {"empty polygon", FEATURE("{\"code\":\"E\"}", "{\"type\":\"Polygon\",\"coordinates\":[]}"),
         HM_E_INVALID_FIELD, "geometry", "empty"},
        {"missing code", FEATURE("{\"name\":\"no code\"}", POLY(SQUARE)), HM_E_INVALID_FIELD,
         "code", "missing property \"code\""},
        {"null properties", FEATURE("null", POLY(SQUARE)), HM_E_INVALID_FIELD, "code", "missing"},
        {"empty code", FEATURE("{\"code\":\"\"}", POLY(SQUARE)), HM_E_INVALID_FIELD, "code",
         "missing"},
        {"boolean code", FEATURE("{\"code\":true}", POLY(SQUARE)), HM_E_INVALID_FIELD, "code",
         "string or number"},
        {"code too long", FEATURE("{\"code\":\"123456789012345678901234567890123\"}", POLY(SQUARE)),
         HM_E_INVALID_FIELD, "code", "longer than 32"},
        {"duplicate code",
         "{\"type\":\"FeatureCollection\",\"features\":[" FEATURE(
             "{\"code\":\"D\"}",
             POLY(SQUARE)) "," FEATURE("{\"code\":\"C\"}",
                                       POLY(SQUARE)) "," FEATURE("{\"code\":\"D\"}",
                                                                 POLY(SQUARE)) "]}",
         HM_E_INVALID_FIELD, "code", "feature 2: duplicate code D (also feature 0)"},
        {"lon 200",
         "{\"type\":\"FeatureCollection\",\"features\":[" FEATURE(
             "{\"code\":\"A\"}", POLY(SQUARE)) "," FEATURE("{\"code\":\"B\"}",
                                                           POLY("[[106.5,11.0],[200,11.0],[106.51,"
                                                                "11.01],[106.5,11.0]]")) "]}",
         HM_E_INVALID_FIELD, "geometry", "feature 1 (code B): coordinate [200, 11] outside"},
        {"lat 91",
         FEATURE("{\"code\":\"A\"}", POLY("[[106.5,11.0],[106.6,91],[106.51,11.01],[106.5,11.0]]")),
         HM_E_INVALID_FIELD, "geometry", "outside lon/lat range"},
        {"position not numbers",
         FEATURE("{\"code\":\"A\"}",
                 POLY("[[106.5,11.0],[\"106.6\",11],[106.51,11.01],[106.5,11.0]]")),
         HM_E_INVALID_FIELD, "geometry", "is not [lon, lat]"},
        {"too few positions",
         FEATURE("{\"code\":\"A\"}", POLY("[[106.5,11.0],[106.6,11],[106.5,11.0]]")),
         HM_E_INVALID_FIELD, "geometry", "needs at least 4"},
        {"repair leaves no area",
         FEATURE("{\"code\":\"A\"}", POLY("[[106.5,11.0],[106.5,11.1],[106.5,11.2],[106.5,11.0]]")),
         HM_E_INVALID_FIELD, "geometry", "repair leaves no area"},
        {"feature type", "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Polygon\"}]}",
         HM_E_INVALID_FIELD, "type", "feature 0: feature type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_area sentinel_item;
        hm_area_list list = {&sentinel_item, 12345};
        hm_error err = {0};
        int rc = hm_area_read_geojson(ctx, cases[i].json, strlen(cases[i].json), NULL, &list, &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].msg))
            fprintf(stderr, "  error case \"%s\": rc %d msg \"%s\"\n", cases[i].name, rc, err.msg);
        CHECK_INT_EQ(rc, cases[i].code);
        CHECK_INT_EQ(err.code, cases[i].code);
        CHECK_STR_EQ(err.field, cases[i].field);
        CHECK(strstr(err.msg, cases[i].msg) != NULL);
        /* nothing changed */
        CHECK(list.items == &sentinel_item);
        CHECK_INT_EQ(list.count, 12345);
    }
    /* hm_area_from_feature on an already-parsed object. */
    {
        json_t *f = json_loads(FEATURE("{\"code\":\"J\"}", POLY(SQUARE)), 0, NULL);
        hm_area a;
        hm_error err = {0};
        CHECK_INT_EQ(hm_area_from_feature(ctx, f, NULL, &a, &err), HM_OK);
        CHECK_STR_EQ(a.code, "J");
        hm_area_clear(&a);
        json_decref(f);
        f = json_string("not a feature");
        CHECK_INT_EQ(hm_area_from_feature(ctx, f, NULL, &a, &err), HM_E_INVALID_FIELD);
        json_decref(f);
    }
}

int main(void)
{
    ctx = GEOS_init_r();
    GEOSContext_setErrorMessageHandler_r(ctx, on_geos, NULL);
    GEOSContext_setNoticeMessageHandler_r(ctx, on_geos, NULL);

    test_levels();
    test_orient_near_degenerate();
    test_cover_lattice();
    test_read_real();
    test_index_real();
    test_shared_vertices(&wards, HM_LEVEL_WARD);
    test_shared_vertices(&formers, HM_LEVEL_FORMER_WARD);
    test_hamlets();
    test_against_geos();
    test_threads();
    test_index_edge_cases();
    test_repair();
    test_parse();
    test_errors();

    hm_area_list_clear(&wards);
    hm_area_list_clear(&formers);
    hm_area_list_clear(&hamlets_raw);
    hm_area_list_clear(&hamlets);
    GEOS_finish_r(ctx);
    return hm_test_done("test_area");
}
