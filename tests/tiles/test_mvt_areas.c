/* test_mvt_areas.c: the polygon layers decoded back by GDAL's MVT driver -
 * Cu Chi's 2025 communes at z8..z14: valid per GDAL's ST_IsValid and per
 * the MVT 2.1 rules (winding, no repeated points), the right areas with
 * their public attributes, the shape within a few tile units of the
 * original; holes and multipolygons survive; polygons that naive rounding
 * would break stay valid; bad input and empty tiles. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GEOS_USE_ONLY_R_API
#include <geos_c.h>

#include "hm_test.h"
#include "mvt.h"
#include "tile_decode.h"

#define PI 3.14159265358979323846

static GEOSContextHandle_t geos;

static void on_geos_message(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "GEOS: %s\n", msg);
}

/* One input area with the GEOS geometry the expectations come from. */
typedef struct area_in {
    hm_mvt_area a;
    GEOSGeometry *g;
    unsigned char *wkb;
    char code[32], name[128], parent[32];
} area_in;

typedef struct areas {
    area_in *items;
    size_t n;
    hm_mvt_area *flat; /* the hm_mvt_area of each, for the encoder */
} areas;

static GEOSGeometry *from_geojson(const char *text)
{
    GEOSGeoJSONReader *r = GEOSGeoJSONReader_create_r(geos);
    GEOSGeometry *g = GEOSGeoJSONReader_readGeometry_r(geos, r, text);
    GEOSGeoJSONReader_destroy_r(geos, r);
    return g;
}

static void area_set_geometry(area_in *ai, GEOSGeometry *g)
{
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(geos);
    size_t len = 0;

    ai->g = g;
    ai->wkb = GEOSWKBWriter_write_r(geos, w, g, &len);
    GEOSWKBWriter_destroy_r(geos, w);
    ai->a.wkb = ai->wkb;
    ai->a.wkb_len = len;
}

static void areas_finish(areas *as)
{
    as->flat = calloc(as->n, sizeof *as->flat);
    for (size_t i = 0; i < as->n; i++) {
        area_in *ai = &as->items[i];
        ai->a.code = ai->code;
        ai->a.name = ai->name;
        ai->a.parent_code = ai->parent[0] ? ai->parent : NULL;
        as->flat[i] = ai->a;
    }
}

static void areas_free(areas *as)
{
    for (size_t i = 0; i < as->n; i++) {
        GEOSGeom_destroy_r(geos, as->items[i].g);
        GEOSFree_r(geos, as->items[i].wkb);
    }
    free(as->items);
    free(as->flat);
}

/* The real data: geodata/data/cu_chi_communes_2025.geojson, read through
 * GEOS's GeoJSON reader and written as WKB, as the store keeps it. */
static void load_communes(areas *as)
{
    json_error_t jerr;
    json_t *root =
        json_load_file(HM_SOURCE_DIR "/geodata/data/cu_chi_communes_2025.geojson", 0, &jerr);
    json_t *features = json_object_get(root, "features"), *f;
    size_t i;

    CHECK(root != NULL);
    as->n = json_array_size(features);
    as->items = calloc(as->n, sizeof *as->items);
    json_array_foreach(features, i, f)
    {
        area_in *ai = &as->items[i];
        json_t *props = json_object_get(f, "properties");
        char *geom = json_dumps(json_object_get(f, "geometry"), 0);

        snprintf(ai->code, sizeof ai->code, "%s",
                 json_string_value(json_object_get(props, "code")));
        snprintf(ai->name, sizeof ai->name, "%s",
                 json_string_value(json_object_get(props, "name")));
        snprintf(ai->parent, sizeof ai->parent, "%s",
                 json_string_value(json_object_get(props, "parent_code")));
        ai->a.level = "ward";
        ai->a.open = (int)(i * 10 + 3);
        ai->a.resolved = (int)(i * 7);
        for (int c = 0; c < HM_MVT_CATEGORY_COUNT; c++)
            ai->a.open_by_category[c] = (int)i + c;
        area_set_geometry(ai, from_geojson(geom));
        CHECK(ai->g != NULL);
        free(geom);
    }
    json_decref(root);
    areas_finish(as);
}

/* Tile units of tile t -> lon/lat (textbook inverse Mercator). */
static void unit_to_lonlat(const hm_tile *t, double ux, double uy, double *lon, double *lat)
{
    double n = ldexp(1.0, t->z);
    *lon = (ux / 4096.0 + t->x) / n * 360.0 - 180.0;
    *lat = atan(sinh(PI * (1.0 - 2.0 * (uy / 4096.0 + t->y) / n))) * 180.0 / PI;
}

/* The tile grown by `units` on each side as a lon/lat rectangle. */
static GEOSGeometry *tile_rect(const hm_tile *t, double units)
{
    double x0, y0, x1, y1;
    unit_to_lonlat(t, -units, 4096.0 + units, &x0, &y0);
    unit_to_lonlat(t, 4096.0 + units, -units, &x1, &y1);
    return GEOSGeom_createRectangle_r(geos, x0, y0, x1, y1);
}

/* Degrees of longitude per tile unit. */
static double unit_deg(const hm_tile *t)
{
    return 360.0 / ldexp(4096.0, t->z);
}

static const char *const area_keys[] = {"mvt_id",      "code",         "name",      "level",
                                        "parent_code", "open",         "resolved",  "open_food",
                                        "open_water",  "open_medical", "open_cash", "open_shelter",
                                        "open_rescue", "open_other",   "valid"};

static const char *const area_sql = "SELECT *, ST_IsValid(GEOMETRY) AS valid FROM wards";

static area_in *find_area(areas *as, const char *code)
{
    for (size_t i = 0; i < as->n; i++)
        if (code && strcmp(as->items[i].code, code) == 0)
            return &as->items[i];
    return NULL;
}

/* Encode tile t over all areas, decode with GDAL and check everything;
 * returns the tile's size. */
static size_t check_area_tile(areas *as, const hm_tile *t, const hm_mvt_options *opt)
{
    hm_buf buf;
    hm_error err = {0};
    lint_result lint;
    json_t *fc, *f;
    size_t i, len;
    GEOSGeometry *inner = tile_rect(t, 0.0), *outer = tile_rect(t, 64.0 + 2.0);
    char *seen = calloc(as->n, 1);
    double ud = unit_deg(t);

    hm_buf_init(&buf);
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, t, HM_TILE_WARDS, as->flat, as->n, opt, &buf, &err),
                 HM_OK);
    len = buf.len;
    if (len == 0)
        goto expect;
    mvt_lint(buf.data, buf.len, &lint);
    CHECK_INT_EQ(lint.errors, 0);

    fc = gdal_geojson(buf.data, buf.len, t, area_sql);
    CHECK(fc != NULL);
    json_array_foreach(gj_features(fc), i, f)
    {
        const char *code = gj_str(f, "code");
        area_in *ai = find_area(as, code);
        char *gtext;
        GEOSGeometry *dec, *dec_in, *orig_in;
        double a_dec = 0, a_orig = 0, perim = 0;

        CHECK(ai != NULL);
        if (!ai)
            continue;
        seen[ai - as->items] = 1;
        /* GDAL/SpatiaLite: valid */
        CHECK_INT_EQ(gj_int(f, "valid"), 1);
        CHECK_INT_EQ(gj_int(f, "mvt_id"), strtoll(ai->code, NULL, 10));
        CHECK(json_object_size(json_object_get(f, "properties")) ==
              sizeof area_keys / sizeof area_keys[0]);
        for (size_t k = 0; k < sizeof area_keys / sizeof area_keys[0]; k++)
            CHECK(gj_prop(f, area_keys[k]) != NULL);
        CHECK_STR_EQ(gj_str(f, "name"), ai->name);
        CHECK_STR_EQ(gj_str(f, "level"), "ward");
        CHECK_STR_EQ(gj_str(f, "parent_code"), ai->a.parent_code);
        CHECK_INT_EQ(gj_int(f, "open"), ai->a.open);
        CHECK_INT_EQ(gj_int(f, "resolved"), ai->a.resolved);
        CHECK_INT_EQ(gj_int(f, "open_food"), ai->a.open_by_category[0]);
        CHECK_INT_EQ(gj_int(f, "open_other"), ai->a.open_by_category[6]);

        /* GEOS agrees it is valid, and inside the tile it covers what the
         * original covers, up to simplification and rounding: a band of a
         * few units along the boundary. */
        gtext = json_dumps(json_object_get(f, "geometry"), 0);
        dec = from_geojson(gtext);
        free(gtext);
        CHECK(dec != NULL && GEOSisValid_r(geos, dec) == 1);
        dec_in = GEOSIntersection_r(geos, dec, inner);
        orig_in = GEOSIntersection_r(geos, ai->g, inner);
        GEOSArea_r(geos, dec_in, &a_dec);
        GEOSArea_r(geos, orig_in, &a_orig);
        GEOSLength_r(geos, orig_in, &perim);
        double tol = perim * ud * (opt ? opt->simplify + 1.0 : 3.0);
        if (fabs(a_dec - a_orig) > tol)
            fprintf(stderr, "tile %d/%u/%u area %s: decoded %.3g, original %.3g, tol %.3g\n", t->z,
                    t->x, t->y, ai->code, a_dec, a_orig, tol);
        CHECK(fabs(a_dec - a_orig) <= tol);
        GEOSGeom_destroy_r(geos, dec);
        GEOSGeom_destroy_r(geos, dec_in);
        GEOSGeom_destroy_r(geos, orig_in);
    }
    json_decref(fc);

expect:
    /* Areas with more than a sliver inside the tile are there; areas that
     * miss tile + buffer are not. */
    for (size_t k = 0; k < as->n; k++) {
        GEOSGeometry *x = GEOSIntersection_r(geos, as->items[k].g, inner);
        double a = 0;
        GEOSArea_r(geos, x, &a);
        GEOSGeom_destroy_r(geos, x);
        if (a > 50.0 * ud * ud)
            CHECK(seen[k]);
        if (GEOSIntersects_r(geos, as->items[k].g, outer) == 0)
            CHECK(!seen[k]);
    }
    free(seen);
    GEOSGeom_destroy_r(geos, inner);
    GEOSGeom_destroy_r(geos, outer);
    hm_buf_clear(&buf);
    return len;
}

static void test_communes(void)
{
    areas as = {0};
    hm_mvt_options opt;

    hm_mvt_options_init(&opt);
    load_communes(&as);
    CHECK_INT_EQ(as.n, 7);

    /* every tile over the district at z8..z11 */
    for (int z = 8; z <= 11; z++) {
        hm_tile a, b;
        size_t total = 0, max = 0;
        hm_tile_at(106.356484, 11.160309, z, &a, NULL);
        hm_tile_at(106.657216, 10.914484, z, &b, NULL);
        for (uint32_t x = a.x; x <= b.x; x++) {
            for (uint32_t y = a.y; y <= b.y; y++) {
                hm_tile t = {z, x, y};
                size_t len = check_area_tile(&as, &t, &opt);
                total += len;
                if (len > max)
                    max = len;
            }
        }
        fprintf(stderr, "wards z%d: %u tiles, %zu bytes, largest %zu\n", z,
                (b.x - a.x + 1) * (b.y - a.y + 1), total, max);
        if (z == 8)
            CHECK(max < 32 * 1024); /* issue 4: a z8 district tile stays small */
    }
    /* samples at z12..z16: the centre (a border of three communes), an
     * edge of the district, and a tile deep inside one commune */
    static const double samples[][2] = {{106.5, 11.0}, {106.43, 11.1}, {106.6, 10.95}};
    for (int z = 12; z <= 16; z++)
        for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
            hm_tile t;
            hm_tile_at(samples[s][0], samples[s][1], z, &t, NULL);
            check_area_tile(&as, &t, &opt);
        }
    /* simplification off: still valid, closer to the original */
    opt.simplify = 0.0;
    hm_tile t;
    hm_tile_at(106.5, 11.0, 10, &t, NULL);
    check_area_tile(&as, &t, &opt);
    areas_free(&as);
}

/* A polygon given in tile units of t (rings as x,y pairs, each ring closed
 * by the helper), turned into lon/lat WKB. */
static GEOSGeometry *polygon_units(const hm_tile *t, const double *const *rings, const size_t *npts,
                                   size_t nrings)
{
    GEOSGeometry *shell = NULL, **holes = calloc(nrings, sizeof *holes);

    for (size_t r = 0; r < nrings; r++) {
        GEOSCoordSequence *seq = GEOSCoordSeq_create_r(geos, (unsigned)npts[r] + 1, 2);
        for (size_t k = 0; k <= npts[r]; k++) {
            size_t j = k == npts[r] ? 0 : k;
            double lon, lat;
            unit_to_lonlat(t, rings[r][2 * j], rings[r][2 * j + 1], &lon, &lat);
            GEOSCoordSeq_setXY_r(geos, seq, (unsigned)k, lon, lat);
        }
        GEOSGeometry *ring = GEOSGeom_createLinearRing_r(geos, seq);
        if (r == 0)
            shell = ring;
        else
            holes[r - 1] = ring;
    }
    GEOSGeometry *p = GEOSGeom_createPolygon_r(geos, shell, holes, (unsigned)nrings - 1);
    free(holes);
    return p;
}

static void add_area(areas *as, const char *code, GEOSGeometry *g)
{
    as->items = realloc(as->items, (as->n + 1) * sizeof *as->items);
    area_in *ai = &as->items[as->n++];
    memset(ai, 0, sizeof *ai);
    snprintf(ai->code, sizeof ai->code, "%s", code);
    snprintf(ai->name, sizeof ai->name, "Ấp %s", code);
    snprintf(ai->parent, sizeof ai->parent, "27496");
    ai->a.level = "hamlet";
    area_set_geometry(ai, g);
}

/* Holes stay holes (winding per MVT 2.1, whatever the input's), parts of a
 * multipolygon stay parts, and a feature id comes from a non-numeric code. */
static void test_holes_and_parts(void)
{
    hm_tile t;
    areas as = {0};
    hm_buf buf;
    hm_error err = {0};
    lint_result lint;
    json_t *fc, *f;
    size_t i;

    hm_tile_at(106.5, 11.0, 14, &t, NULL);
    /* square 1000 x 1000 with a 400 x 400 hole, exterior given clockwise in
     * lon/lat (the "wrong" way for GeoJSON) */
    static const double outer[] = {1000, 1000, 2000, 1000, 2000, 2000, 1000, 2000};
    static const double hole[] = {1300, 1300, 1300, 1700, 1700, 1700, 1700, 1300};
    const double *rings[] = {outer, hole};
    size_t npts[] = {4, 4};
    add_area(&as, "H-1", polygon_units(&t, rings, npts, 2));
    /* two squares as one multipolygon */
    static const double a[] = {2500, 2500, 2800, 2500, 2800, 2800, 2500, 2800};
    static const double b[] = {3000, 3000, 3300, 3000, 3300, 3300, 3000, 3300};
    const double *ra[] = {a}, *rb[] = {b};
    size_t four[] = {4};
    GEOSGeometry *parts[2] = {polygon_units(&t, ra, four, 1), polygon_units(&t, rb, four, 1)};
    add_area(&as, "H-2", GEOSGeom_createCollection_r(geos, GEOS_MULTIPOLYGON, parts, 2));
    areas_finish(&as);

    hm_buf_init(&buf);
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &t, HM_TILE_HAMLETS, as.flat, as.n, NULL, &buf, &err),
                 HM_OK);
    mvt_lint(buf.data, buf.len, &lint);
    CHECK_INT_EQ(lint.errors, 0);
    CHECK_INT_EQ(lint.features, 2);
    CHECK_INT_EQ(lint.polygons, 3);
    CHECK_INT_EQ(lint.holes, 1);

    fc = gdal_geojson(buf.data, buf.len, &t,
                      "SELECT *, ST_IsValid(GEOMETRY) AS valid, "
                      "ST_NumGeometries(GEOMETRY) AS parts FROM hamlets");
    CHECK_INT_EQ(json_array_size(gj_features(fc)), 2);
    json_array_foreach(gj_features(fc), i, f)
    {
        const char *code = gj_str(f, "code");
        char *gtext = json_dumps(json_object_get(f, "geometry"), 0);
        GEOSGeometry *g = from_geojson(gtext);
        area_in *ai = find_area(&as, code);
        double a_dec = 0, a_orig = 0;

        free(gtext);
        CHECK(ai != NULL && g != NULL);
        CHECK_INT_EQ(gj_int(f, "valid"), 1);
        CHECK_STR_EQ(gj_str(f, "level"), "hamlet");
        CHECK_STR_EQ(gj_str(f, "parent_code"), "27496");
        CHECK(gj_int(f, "mvt_id") > 0 && gj_int(f, "mvt_id") < (1LL << 53));
        GEOSArea_r(geos, g, &a_dec);
        GEOSArea_r(geos, ai->g, &a_orig);
        /* a hole read as an exterior would add its area instead */
        CHECK(fabs(a_dec - a_orig) < a_orig * 0.002);
        if (code && strcmp(code, "H-1") == 0) {
            /* GDAL may wrap it in a MultiPolygon: one part, one hole */
            CHECK_INT_EQ(GEOSGetNumGeometries_r(geos, g), 1);
            CHECK_INT_EQ(GEOSGetNumInteriorRings_r(geos, GEOSGetGeometryN_r(geos, g, 0)), 1);
        } else {
            CHECK_INT_EQ(gj_int(f, "parts"), 2);
        }
        GEOSGeom_destroy_r(geos, g);
    }
    json_decref(fc);

    /* the same areas, but in a tile that meets none of them */
    hm_tile far = {14, 0, 0};
    size_t before = buf.len;
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &far, HM_TILE_HAMLETS, as.flat, as.n, NULL, &buf, &err),
                 HM_OK);
    CHECK_INT_EQ(buf.len, before);
    /* at z0 they are far below a unit: collapsed, nothing left */
    hm_tile z0 = {0, 0, 0};
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &z0, HM_TILE_HAMLETS, as.flat, as.n, NULL, &buf, &err),
                 HM_OK);
    CHECK_INT_EQ(buf.len, before);

    hm_buf_clear(&buf);
    areas_free(&as);
}

static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static double rng_unit(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Shapes that naive rounding to the unit grid makes invalid: a notch
 * narrower than a unit, a spike, two lobes 0.3 units apart, and jagged
 * star polygons whose vertices are fractions of a unit apart. Snap-rounding
 * must keep every one valid (or drop what collapses). */
static void test_quantisation_stress(void)
{
    hm_tile t;
    areas as = {0};
    hm_buf buf;
    hm_error err = {0};
    lint_result lint;
    json_t *fc, *f;
    size_t i;
    char code[16];

    hm_tile_at(106.5, 11.0, 15, &t, NULL);
    static const double notch[] = {100,   100, 300,   100, 300,   300, 200.4, 300,
                                   200.4, 150, 200.1, 150, 200.1, 300, 100,   300};
    static const double spike[] = {400,   100, 600,   100, 600, 200, 900,
                                   200.3, 600, 200.6, 600, 300, 400, 300};
    static const double lobes[] = {100,   400,   300, 400,   300, 500.2, 200.3, 500.2,
                                   200.3, 500.5, 300, 500.5, 300, 600,   100,   600};
    const double *r1[] = {notch}, *r2[] = {spike}, *r3[] = {lobes};
    size_t n1[] = {8}, n2[] = {7}, n3[] = {8};
    add_area(&as, "S-notch", polygon_units(&t, r1, n1, 1));
    add_area(&as, "S-spike", polygon_units(&t, r2, n2, 1));
    add_area(&as, "S-lobes", polygon_units(&t, r3, n3, 1));
    for (int s = 0; s < 40; s++) {
        double cx = 700 + (s % 8) * 400, cy = 700 + (s / 8) * 600, ring[2 * 120];
        const double *rr[] = {ring};
        size_t nn[] = {120};
        for (int k = 0; k < 120; k++) {
            double ang = 2 * PI * k / 120, rad = 2.0 + 60.0 * rng_unit() * (k % 2 ? 1 : 0.05);
            ring[2 * k] = cx + rad * cos(ang);
            ring[2 * k + 1] = cy + rad * sin(ang);
        }
        snprintf(code, sizeof code, "S-star-%d", s);
        GEOSGeometry *g = polygon_units(&t, rr, nn, 1), *v = GEOSMakeValid_r(geos, g);
        GEOSGeom_destroy_r(geos, g);
        add_area(&as, code, v);
    }
    areas_finish(&as);

    hm_buf_init(&buf);
    hm_mvt_options opt;
    hm_mvt_options_init(&opt);
    opt.simplify = 0.0; /* rounding alone */
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &t, HM_TILE_HAMLETS, as.flat, as.n, &opt, &buf, &err),
                 HM_OK);
    mvt_lint(buf.data, buf.len, &lint);
    CHECK_INT_EQ(lint.errors, 0);
    CHECK(lint.features >= 40);
    fc = gdal_geojson(buf.data, buf.len, &t,
                      "SELECT code, ST_IsValid(GEOMETRY) AS valid, "
                      "GEOMETRY FROM hamlets");
    CHECK(json_array_size(gj_features(fc)) == lint.features);
    json_array_foreach(gj_features(fc), i, f)
    {
        if (gj_int(f, "valid") != 1)
            fprintf(stderr, "invalid after quantisation: %s\n", gj_str(f, "code"));
        CHECK_INT_EQ(gj_int(f, "valid"), 1);
    }
    json_decref(fc);
    hm_buf_clear(&buf);
    areas_free(&as);
}

static void test_errors(void)
{
    hm_tile t = {14, 13038, 7688}, bad = {2, 4, 0};
    hm_buf buf;
    hm_error err = {0};
    static const unsigned char junk[] = {1, 2, 3};
    /* WKB point (1 1), little endian */
    static const unsigned char point[] = {1,   1,  0, 0, 0, 0, 0, 0, 0,   0, 0,
                                          240, 63, 0, 0, 0, 0, 0, 0, 240, 63};
    hm_mvt_area a = {.code = "X1", .name = "x", .level = "hamlet", .wkb = junk, .wkb_len = 3};

    hm_buf_init(&buf);
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &t, HM_TILE_HAMLETS, &a, 1, NULL, &buf, &err),
                 HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "wkb");
    CHECK(strstr(err.msg, "X1") != NULL);
    hm_error_clear(&err);
    a.wkb = point;
    a.wkb_len = sizeof point;
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &t, HM_TILE_HAMLETS, &a, 1, NULL, &buf, &err),
                 HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "wkb");
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &t, HM_TILE_REQUESTS, &a, 1, NULL, &buf, &err),
                 HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "layer");
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &bad, HM_TILE_WARDS, &a, 1, NULL, &buf, &err),
                 HM_E_INVALID_FIELD);
    CHECK_INT_EQ(hm_mvt_encode_areas(geos, &t, HM_TILE_WARDS, NULL, 0, NULL, &buf, NULL), HM_OK);
    CHECK_INT_EQ(buf.len, 0);
    hm_buf_clear(&buf);
}

int main(void)
{
    if (!gdal_available()) {
        fprintf(stderr, "test_mvt_areas: GDAL with the MVT driver not found, skipped\n");
        return HM_TEST_SKIP;
    }
    geos = GEOS_init_r();
    GEOSContext_setErrorMessageHandler_r(geos, on_geos_message, NULL);
    test_communes();
    test_holes_and_parts();
    test_quantisation_stress();
    test_errors();
    GEOS_finish_r(geos);
    return hm_test_done("test_mvt_areas");
}
