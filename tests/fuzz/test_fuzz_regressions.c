/* test_fuzz_regressions: one named test per defect the fuzz targets found,
 * written first and named after it (STYLE section 9). Each calls the public
 * API with the crashing input (also committed as
 * corpus/<target>/regress-*) and asserts the behaviour SPEC wants. Run under
 * ASan and UBSan by tests/fuzz/run.sh. */
#include "hm_test.h"

#include "area.h"
#include "hm_buf.h"
#include "model.h"
#include "mvt.h"
#include "tile.h"
#include "validate.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static GEOSContextHandle_t geos;

static void quiet(const char *msg, void *ctx)
{
    (void)msg;
    (void)ctx;
}

/* Little-endian WKB of one Polygon ring of `n` points. */
static size_t wkb_ring(unsigned char *out, const double *xy, uint32_t n)
{
    uint32_t type = 3, rings = 1;
    size_t len = 0;
    out[len++] = 1;
    memcpy(out + len, &type, 4), len += 4;
    memcpy(out + len, &rings, 4), len += 4;
    memcpy(out + len, &n, 4), len += 4;
    memcpy(out + len, xy, 16 * (size_t)n), len += 16 * (size_t)n;
    return len;
}

/* Issue 6, fuzz_mvt_areas: an area whose WKB holds a NaN vertex, or a
 * finite one far outside lon/lat range (-5.5e303), made hm_mvt_encode_areas
 * spin forever inside GEOSTopologyPreserveSimplify_r (GEOS quadtree on a
 * NaN or overflowing envelope): one such area hung a tile thread. A vertex
 * outside lon/lat range must be refused as bad WKB. */
static void test_issue_6_mvt_nan_vertex_hang(void)
{
    const double bad[][2] = {{NAN, 10.9},      {106.5, NAN},         {INFINITY, 10.9},
                             {1e308, 10.9},    {-5.5e303, 3e184},    {180.5, 10.9},
                             {106.5, -90.001}, {-1.9e185, -1.5e-154}};
    hm_tile t = {0, 0, 0};
    hm_mvt_options opt;

    hm_mvt_options_init(&opt);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        for (int simplify = 0; simplify < 2; simplify++) {
            double ring[5][2] = {
                {106.4, 10.9}, {106.6, 10.9}, {0, 0}, {106.4, 11.1}, {106.4, 10.9}};
            unsigned char wkb[256];
            hm_mvt_area a = {0};
            hm_buf out;
            hm_error err = {0};
            int rc;

            ring[2][0] = bad[k][0];
            ring[2][1] = bad[k][1];
            a.code = "27496";
            a.name = "Tân An Hội";
            a.level = "ward";
            a.wkb = wkb;
            a.wkb_len = wkb_ring(wkb, &ring[0][0], 5);
            opt.simplify = simplify ? 2.0 : 0.0;
            hm_buf_init(&out);
            rc = hm_mvt_encode_areas(geos, &t, HM_TILE_WARDS, &a, 1, &opt, &out, &err);
            CHECK_INT_EQ(rc, HM_E_INVALID_FIELD);
            CHECK_STR_EQ(err.field, "wkb");
            CHECK_INT_EQ(out.len, 0);
            hm_buf_clear(&out);
        }
    }
    /* The same polygon with finite vertices still encodes. */
    {
        const double ring[5][2] = {
            {106.4, 10.9}, {106.6, 10.9}, {106.6, 11.1}, {106.4, 11.1}, {106.4, 10.9}};
        unsigned char wkb[256];
        hm_mvt_area a = {0};
        hm_buf out;
        hm_error err = {0};
        a.code = "27496";
        a.wkb = wkb;
        a.wkb_len = wkb_ring(wkb, &ring[0][0], 5);
        hm_buf_init(&out);
        CHECK_INT_EQ(hm_mvt_encode_areas(geos, &t, HM_TILE_WARDS, &a, 1, &opt, &out, &err), HM_OK);
        CHECK(out.len > 0);
        hm_buf_clear(&out);
    }
}

/* Issue 6, fuzz_geojson_area: building the point-to-area index over a
 * MultiPolygon whose rows of grid cells are touched by edges none of which
 * crosses the row's centre line called qsort(NULL, 0, ...) — undefined
 * behaviour that UBSan builds abort on (geodata/area.c grid_build). */
static void test_issue_6_area_index_qsort_null(void)
{
    static const char text[] =
        "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": "
        "{\"code\": \"M1\", \"name\": \"Ap M1\"}, \"geometry\": {\"type\": \"MultiPolygon\", "
        "\"coordinates\": [[[[106.4, 10.9], [106.5, 10.9], [106.5, 11.0], [106.4, 11.0], "
        "[106.8, 10.9]], [[106.42, 10.92], [106.44, 10.90000000000001], [135.6, 10.9]]]]}}]}";
    hm_area_list list = {NULL, 0};
    hm_error err = {0};
    int rc = hm_area_read_geojson(geos, text, strlen(text), NULL, &list, &err);

    CHECK_INT_EQ(rc, HM_OK);
    if (rc == HM_OK) {
        hm_area_src src = {HM_LEVEL_WARD, list.items[0].code, list.items[0].wkb,
                           list.items[0].wkb_len};
        hm_area_index *idx = hm_area_index_create(&src, 1, &err);
        const char *got[HM_LEVEL__COUNT];
        CHECK(idx != NULL);
        hm_area_index_locate(idx, list.items[0].rep_lon, list.items[0].rep_lat, got);
        CHECK_STR_EQ(got[HM_LEVEL_WARD], "M1");
        hm_area_index_locate(idx, 100.0, 10.95, got);
        CHECK_STR_EQ(got[HM_LEVEL_WARD], NULL);
        hm_area_index_destroy(idx);
    }
    hm_area_list_clear(&list);
}

/* Issue 7 CI, fuzz_geojson_area: a MultiPolygon whose repair leaves a part two
 * units in the last place high (y from 10.9 to 10.900000000000002) made grid
 * cells so flat that every candidate reference point of a cell rounded onto a
 * horizontal edge: hm_area_index_create() failed with "no reference point in
 * cell 0,0" for an area that imports. Any area that imports must index, and
 * its representative point must be found in it. */
static void test_area_index_flat_cells(void)
{
    static const char text[] =
        "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": "
        "{\"code\": \"M1\", \"name\": \"Ap M1\"}, \"geometry\": {\"type\": \"MultiPolygon\", "
        "\"coordinates\": [[[[106.4, 10.9], [106.5, 10.9], [106.5, 11.0], [106.4, 11.0], "
        "[106.8, 10.9]], [[106.42, 15.92], [14.064, 10.90000000000001], [135.6, 10.9]]]]}}]}";
    hm_area_list list = {NULL, 0};
    hm_error err = {0};
    int rc = hm_area_read_geojson(geos, text, strlen(text), NULL, &list, &err);

    CHECK_INT_EQ(rc, HM_OK);
    if (rc == HM_OK) {
        /* At every level, as the fuzz target does (each level has its own grid). */
        for (int level = 0; level < HM_LEVEL__COUNT; level++) {
            hm_area_src src = {(hm_level)level, list.items[0].code, list.items[0].wkb,
                               list.items[0].wkb_len};
            hm_area_index *idx = hm_area_index_create(&src, 1, &err);
            const char *got[HM_LEVEL__COUNT];
            CHECK(idx != NULL);
            if (!idx) {
                fprintf(stderr, "  %s\n", err.msg);
                continue;
            }
            hm_area_index_locate(idx, list.items[0].rep_lon, list.items[0].rep_lat, got);
            CHECK_STR_EQ(got[level], "M1");
            hm_area_index_locate(idx, 100.0, 20.0, got);
            CHECK_STR_EQ(got[level], NULL);
            hm_area_index_destroy(idx);
        }
    }
    hm_area_list_clear(&list);
}

/* Issue 7 CI, fuzz_geojson_area: a ring that touches itself (made valid into
 * parts meeting at a point) got a representative point that the index did not
 * place in the area. The representative point of an area that imports must be
 * found in it. */
static void test_area_rep_point_found(void)
{
    static const char text[] =
        "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": "
        "{\"code\": 27499, \"name\": null}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": "
        "[[[107.045, 10.90], [106.46000000000001, 10.95], [106.46000000000001, "
        "10.959999999999999], "
        "[106.45, 10.9599999990], [106.460, 10.95]]]}}]}";
    hm_area_list list = {NULL, 0};
    hm_error err = {0};
    int rc = hm_area_read_geojson(geos, text, strlen(text), NULL, &list, &err);

    CHECK_INT_EQ(rc, HM_OK);
    if (rc == HM_OK) {
        hm_area_src src = {HM_LEVEL_WARD, list.items[0].code, list.items[0].wkb,
                           list.items[0].wkb_len};
        hm_area_index *idx = hm_area_index_create(&src, 1, &err);
        const char *got[HM_LEVEL__COUNT];
        CHECK(idx != NULL);
        if (idx) {
            hm_area_index_locate(idx, list.items[0].rep_lon, list.items[0].rep_lat, got);
            if (!got[HM_LEVEL_WARD])
                fprintf(stderr, "  rep point %.17g %.17g not found\n", list.items[0].rep_lon,
                        list.items[0].rep_lat);
            CHECK_STR_EQ(got[HM_LEVEL_WARD], "27499");
            hm_area_index_destroy(idx);
        }
    }
    hm_area_list_clear(&list);
}

/* Issue 6, fuzz_parsers: "+84 00909 123 456" normalised to "+840909123456",
 * which normalises again to "+84909123456": one phone had two stored forms
 * (duplicate detection and the per-phone rate limit keyed on either), and
 * the first is no Vietnamese number. Every accepted phone must be its own
 * normal form, and a number after +84 never starts with 0 twice. */
static void test_issue_6_phone_normal_form(void)
{
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        {"+8400909 123                      456", NULL},
        {"+84 00909 123 456", NULL},
        {"0084 00909 123 456", NULL},
        {"+84 0909 123 456", "+84909123456"},
        {"0909 123 456", "+84909123456"},
        {"+84909123456", "+84909123456"},
        {"0084 909 123 456", "+84909123456"},
        {"(028) 3812-3456", "+842838123456"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[24] = "", again[24] = "";
        int rc = hm_phone_normalize(cases[i].in, out, sizeof out, NULL);
        CHECK_STR_EQ(rc == HM_OK ? out : NULL, cases[i].want);
        if (rc == HM_OK) {
            CHECK_INT_EQ(hm_phone_normalize(out, again, sizeof again, NULL), HM_OK);
            CHECK_STR_EQ(again, out);
        }
    }
}

/* Issue 6, fuzz_mvt_points: options that hm_mvt_options_check() accepted
 * (extent 65536, cluster_cell 1, buffer 0) made hm_mvt_points_create()
 * allocate a (65536 + 2)^2-cell cluster grid, hundreds of GB: the
 * allocation failed and hm_xcalloc aborted the process. A cluster grid
 * finer than 256 x 256 cells per tile is now invalid options. */
static void test_issue_6_cluster_grid_oom(void)
{
    static const uint32_t cells[][2] = {{65536, 1}, {65536, 8}, {65536, 128}, {4096, 8}};
    hm_tile t = {3, 6, 3};
    hm_mvt_options opt;

    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        hm_error err = {0};
        hm_mvt_options_init(&opt);
        opt.extent = cells[i][0];
        opt.cluster_cell = cells[i][1];
        opt.buffer = 0;
        CHECK_INT_EQ(hm_mvt_options_check(&opt, NULL), HM_E_INVALID_FIELD);
        CHECK(hm_mvt_points_create(&t, &opt, &err) == NULL);
        CHECK_STR_EQ(err.field, "mvt_options");
    }
    /* The finest grid still allowed, and the defaults, encode. */
    hm_mvt_options_init(&opt);
    opt.extent = 65536;
    opt.cluster_cell = 256;
    CHECK_INT_EQ(hm_mvt_options_check(&opt, NULL), HM_OK);
    hm_mvt_points_destroy(hm_mvt_points_create(&t, &opt, NULL));
    hm_mvt_options_init(&opt);
    CHECK_INT_EQ(hm_mvt_options_check(&opt, NULL), HM_OK);
}

int main(void)
{
    geos = GEOS_init_r();
    GEOSContext_setErrorMessageHandler_r(geos, quiet, NULL);
    GEOSContext_setNoticeMessageHandler_r(geos, quiet, NULL);
    test_issue_6_mvt_nan_vertex_hang();
    test_issue_6_area_index_qsort_null();
    test_area_index_flat_cells();
    test_area_rep_point_found();
    test_issue_6_phone_normal_form();
    test_issue_6_cluster_grid_oom();
    GEOS_finish_r(geos);
    return hm_test_done("test_fuzz_regressions");
}
