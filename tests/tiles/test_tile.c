/* test_tile.c: tile paths (a table of good and bad paths with the error
 * code and field each gets) and the Web Mercator tile math of tiles/tile.c. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hm_test.h"
#include "tile.h"

static const struct path_case {
    const char *path;
    int rc;
    const char *field; /* on error */
    hm_tile_layer layer;
    bool tilejson;
    int z;
    uint32_t x, y;
} path_cases[] = {
    /* good */
    {"requests/14/13107/7589.mvt", HM_OK, NULL, HM_TILE_REQUESTS, false, 14, 13107, 7589},
    {"wards/0/0/0.mvt", HM_OK, NULL, HM_TILE_WARDS, false, 0, 0, 0},
    {"former_wards/1/1/1.mvt", HM_OK, NULL, HM_TILE_FORMER_WARDS, false, 1, 1, 1},
    {"hamlets/22/4194303/4194303.mvt", HM_OK, NULL, HM_TILE_HAMLETS, false, 22, 4194303, 4194303},
    {"requests/010/5/6.mvt", HM_OK, NULL, HM_TILE_REQUESTS, false, 10, 5, 6},
    {"wards.json", HM_OK, NULL, HM_TILE_WARDS, true, 0, 0, 0},
    {"requests.json", HM_OK, NULL, HM_TILE_REQUESTS, true, 0, 0, 0},
    {"hamlets.json", HM_OK, NULL, HM_TILE_HAMLETS, true, 0, 0, 0},
    /* unknown layer: 404 */
    {"", HM_E_NOT_FOUND, "layer", 0, false, 0, 0, 0},
    {"roads/1/0/0.mvt", HM_E_NOT_FOUND, "layer", 0, false, 0, 0, 0},
    {"Requests/1/0/0.mvt", HM_E_NOT_FOUND, "layer", 0, false, 0, 0, 0},
    {"ward/1/0/0.mvt", HM_E_NOT_FOUND, "layer", 0, false, 0, 0, 0},
    {"roads.json", HM_E_NOT_FOUND, "layer", 0, false, 0, 0, 0},
    {"/requests/1/0/0.mvt", HM_E_NOT_FOUND, "layer", 0, false, 0, 0, 0},
    {"requests_x/1/0/0.mvt", HM_E_NOT_FOUND, "layer", 0, false, 0, 0, 0},
    /* malformed path of a known layer: 400 */
    {"requests", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0/0", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0/0.pbf", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0/0.json", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0/0.mvt/", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0/0.mvtx", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0/0.mvt?status=all", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0/0/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1//0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests//0/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/-1/0/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/+1/0/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/ 0/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0x1/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1.5/0/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/99999999999/0/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests/1/0/18446744073709551617.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests.JSON", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests.json/", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests.json.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"requests.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    {"wards/../requests/1/0/0.mvt", HM_E_INVALID_FIELD, "path", 0, false, 0, 0, 0},
    /* numbers out of range: 400 naming the number */
    {"requests/23/0/0.mvt", HM_E_INVALID_FIELD, "z", 0, false, 0, 0, 0},
    {"requests/4294967295/0/0.mvt", HM_E_INVALID_FIELD, "z", 0, false, 0, 0, 0},
    {"requests/0/1/0.mvt", HM_E_INVALID_FIELD, "x", 0, false, 0, 0, 0},
    {"requests/0/0/1.mvt", HM_E_INVALID_FIELD, "y", 0, false, 0, 0, 0},
    {"requests/1/2/0.mvt", HM_E_INVALID_FIELD, "x", 0, false, 0, 0, 0},
    {"requests/1/0/2.mvt", HM_E_INVALID_FIELD, "y", 0, false, 0, 0, 0},
    {"requests/14/16384/0.mvt", HM_E_INVALID_FIELD, "x", 0, false, 0, 0, 0},
    {"requests/22/4194304/0.mvt", HM_E_INVALID_FIELD, "x", 0, false, 0, 0, 0},
    {"requests/22/0/4194304.mvt", HM_E_INVALID_FIELD, "y", 0, false, 0, 0, 0},
    {"requests/22/9999999999/0.mvt", HM_E_INVALID_FIELD, "x", 0, false, 0, 0, 0},
};

static void test_path_table(void)
{
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *c = &path_cases[i];
        hm_tile_path got = {HM_TILE_HAMLETS, true, {7, 7, 7}}; /* sentinel: untouched on error */
        hm_error err = {0};
        int rc = hm_tile_path_parse(c->path, strlen(c->path), &got, &err);

        if (rc != c->rc)
            fprintf(stderr, "path case %zu: \"%s\"\n", i, c->path);
        CHECK_INT_EQ(rc, c->rc);
        if (c->rc == HM_OK) {
            CHECK_INT_EQ(got.layer, c->layer);
            CHECK_INT_EQ(got.tilejson, c->tilejson);
            CHECK_INT_EQ(got.tile.z, c->z);
            CHECK_INT_EQ(got.tile.x, c->x);
            CHECK_INT_EQ(got.tile.y, c->y);
        } else {
            CHECK_INT_EQ(err.code, c->rc);
            CHECK_STR_EQ(err.field, c->field);
            CHECK(err.msg[0] != '\0');
            CHECK_INT_EQ(got.layer, HM_TILE_HAMLETS);
            CHECK_INT_EQ(got.tile.z, 7);
        }
    }
}

/* The path is length-delimited: bytes after `len` (a NUL, a query) do not
 * count, and a NUL inside does. */
static void test_path_length(void)
{
    const char with_query[] = "wards/3/1/2.mvt?status=all";
    const char with_nul[] = "wards/3/1/2.mvt\0garbage";
    hm_tile_path got;
    hm_error err = {0};

    CHECK_INT_EQ(hm_tile_path_parse(with_query, 15, &got, &err), HM_OK);
    CHECK_INT_EQ(got.tile.z, 3);
    CHECK_INT_EQ(hm_tile_path_parse(with_nul, sizeof with_nul - 1, &got, &err), HM_E_INVALID_FIELD);
}

static void test_layer_names(void)
{
    for (int i = 0; i < HM_TILE_LAYER__COUNT; i++) {
        const char *name = hm_tile_layer_name((hm_tile_layer)i);
        hm_tile_layer back;
        CHECK_INT_EQ(hm_tile_layer_parse(name, strlen(name), &back, NULL), HM_OK);
        CHECK_INT_EQ(back, i);
    }
    CHECK_STR_EQ(hm_tile_layer_level(HM_TILE_REQUESTS), NULL);
    CHECK_STR_EQ(hm_tile_layer_level(HM_TILE_WARDS), "ward");
    CHECK_STR_EQ(hm_tile_layer_level(HM_TILE_FORMER_WARDS), "former_ward");
    CHECK_STR_EQ(hm_tile_layer_level(HM_TILE_HAMLETS), "hamlet");
    CHECK_STR_EQ(hm_tile_layer_name((hm_tile_layer)99), "");
}

static bool near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

static void test_bounds(void)
{
    /* Known values: z0 is the Mercator world; 14/13038/7688 holds Cu Chi's
     * centre (106.5, 11.0) - computed with the textbook formulas. */
    static const struct {
        hm_tile t;
        double bbox[4];
    } cases[] = {
        {{0, 0, 0}, {-180.0, -HM_TILE_MAX_LAT, 180.0, HM_TILE_MAX_LAT}},
        {{1, 1, 0}, {0.0, 0.0, 180.0, HM_TILE_MAX_LAT}},
        {{1, 0, 1}, {-180.0, -HM_TILE_MAX_LAT, 0.0, 0.0}},
        {{14, 13038, 7688}, {106.479492187500, 10.984335146102, 106.501464843750, 11.005904459659}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double b[4];
        hm_tile_bounds(&cases[i].t, b);
        for (int k = 0; k < 4; k++)
            CHECK(near(b[k], cases[i].bbox[k], 1e-9));
    }

    /* A buffered box grows by the margin in Mercator, so in longitude by
     * exactly margin * tile width. */
    hm_tile t = {14, 13038, 7688};
    double b[4], bb[4], w;
    hm_tile_bounds(&t, b);
    hm_tile_bounds_buffered(&t, 64.0 / 4096, bb);
    w = b[2] - b[0];
    CHECK(near(bb[0], b[0] - w / 64, 1e-12));
    CHECK(near(bb[2], b[2] + w / 64, 1e-12));
    CHECK(bb[1] < b[1] && bb[3] > b[3]);
    /* clamped at the world's edge */
    hm_tile z0 = {0, 0, 0};
    hm_tile_bounds_buffered(&z0, 0.25, bb);
    CHECK(near(bb[0], -180.0, 1e-12) && near(bb[3], HM_TILE_MAX_LAT, 1e-9));
}

static void test_tile_at(void)
{
    static const struct {
        double lon, lat;
        int z;
        int rc;
        uint32_t x, y;
    } cases[] = {
        {106.5, 11.0, 14, HM_OK, 13038, 7688},
        {106.5, 11.0, 0, HM_OK, 0, 0},
        {-180.0, HM_TILE_MAX_LAT, 3, HM_OK, 0, 0},
        {180.0, -90.0, 3, HM_OK, 7, 7}, /* world's east/south edges: last tile */
        {0.0, 0.0, 1, HM_OK, 1, 1},     /* on an edge: east/south tile */
        {106.5, 89.9, 5, HM_OK, 25, 0}, /* beyond Mercator: clamped */
        {NAN, 11.0, 5, HM_E_INVALID_FIELD, 0, 0},
        {106.5, INFINITY, 5, HM_E_INVALID_FIELD, 0, 0},
        {181.0, 11.0, 5, HM_E_INVALID_FIELD, 0, 0},
        {106.5, -91.0, 5, HM_E_INVALID_FIELD, 0, 0},
        {106.5, 11.0, 23, HM_E_INVALID_FIELD, 0, 0},
        {106.5, 11.0, -1, HM_E_INVALID_FIELD, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_tile t = {0, 0, 0};
        hm_error err = {0};
        int rc = hm_tile_at(cases[i].lon, cases[i].lat, cases[i].z, &t, &err);
        CHECK_INT_EQ(rc, cases[i].rc);
        if (rc == HM_OK) {
            CHECK_INT_EQ(t.z, cases[i].z);
            CHECK_INT_EQ(t.x, cases[i].x);
            CHECK_INT_EQ(t.y, cases[i].y);
            CHECK(hm_tile_valid(&t));
        }
    }

    /* Every zoom: the tile holds the point by its own bounds. */
    for (int z = 0; z <= HM_TILE_MAX_ZOOM; z++) {
        hm_tile t;
        double b[4];
        CHECK_INT_EQ(hm_tile_at(106.4123, 11.0567, z, &t, NULL), HM_OK);
        hm_tile_bounds(&t, b);
        CHECK(b[0] <= 106.4123 && 106.4123 < b[2] && b[1] < 11.0567 && 11.0567 <= b[3]);
    }
}

static void test_world_round_trip(void)
{
    static const double pts[][2] = {{106.356484, 10.914484}, {-73.9, 40.7}, {0, 0}, {179.9, -85}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        double wx, wy, lon, lat;
        hm_tile_lonlat_to_world(pts[i][0], pts[i][1], &wx, &wy);
        hm_tile_world_to_lonlat(wx, wy, &lon, &lat);
        CHECK(near(lon, pts[i][0], 1e-9));
        CHECK(near(lat, pts[i][1], 1e-9));
    }
}

static bool has_tile(const hm_tile *list, size_t n, uint32_t x, uint32_t y)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].x == x && list[i].y == y)
            return true;
    return false;
}

/* hm_tile_containing: the home tile, plus each neighbour whose buffered
 * extent holds the point - checked against the neighbours' own bounds. */
static void test_containing(void)
{
    const int z = 14;
    const double margin = 64.0 / 4096;
    hm_tile home = {z, 13038, 7688}, out[4];
    double b[4], w, h;
    size_t n;

    hm_tile_bounds(&home, b);
    w = b[2] - b[0];
    h = b[3] - b[1];

    /* middle: only home */
    n = hm_tile_containing((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, z, margin, out);
    CHECK_INT_EQ(n, 1);
    CHECK(has_tile(out, n, 13038, 7688));

    /* just inside the west edge, within the west neighbour's buffer */
    n = hm_tile_containing(b[0] + w * 0.005, (b[1] + b[3]) / 2, z, margin, out);
    CHECK_INT_EQ(n, 2);
    CHECK(has_tile(out, n, 13037, 7688));

    /* just outside the buffer: home only */
    n = hm_tile_containing(b[0] + w * 0.03, (b[1] + b[3]) / 2, z, margin, out);
    CHECK_INT_EQ(n, 1);

    /* north-east corner: four tiles */
    n = hm_tile_containing(b[2] - w * 0.001, b[3] - h * 0.001, z, margin, out);
    CHECK_INT_EQ(n, 4);
    CHECK(has_tile(out, n, 13038, 7687) && has_tile(out, n, 13039, 7687) &&
          has_tile(out, n, 13039, 7688));

    /* world corner: no neighbour outside the world */
    n = hm_tile_containing(-180.0, HM_TILE_MAX_LAT, 3, margin, out);
    CHECK_INT_EQ(n, 1);
    CHECK(has_tile(out, n, 0, 0));

    /* invalid point */
    CHECK_INT_EQ(hm_tile_containing(NAN, 0, 3, margin, out), 0);

    /* Exhaustive check on a grid of points around one tile, every zoom:
     * listed <=> the point lies in that tile's buffered bounds. */
    for (int zz = 3; zz <= HM_TILE_MAX_ZOOM; zz += 3) {
        hm_tile t;
        double tb[4];
        hm_tile_at(106.5, 11.0, zz, &t, NULL);
        hm_tile_bounds(&t, tb);
        for (int i = -3; i <= 23; i++) {
            for (int j = -3; j <= 23; j++) {
                double lon = tb[0] + (tb[2] - tb[0]) * (i / 20.0 + 0.0013);
                double lat = tb[1] + (tb[3] - tb[1]) * (j / 20.0 + 0.0017);
                n = hm_tile_containing(lon, lat, zz, margin, out);
                CHECK(n >= 1 && n <= 4);
                for (int dx = -1; dx <= 1; dx++) {
                    for (int dy = -1; dy <= 1; dy++) {
                        int64_t nx = (int64_t)t.x + dx, ny = (int64_t)t.y + dy;
                        if (nx < 0 || ny < 0 || nx >= (1 << zz) || ny >= (1 << zz))
                            continue;
                        hm_tile nt = {zz, (uint32_t)nx, (uint32_t)ny};
                        double nb[4];
                        hm_tile_bounds_buffered(&nt, margin, nb);
                        bool inside = lon >= nb[0] && lon <= nb[2] && lat >= nb[1] && lat <= nb[3];
                        bool listed = has_tile(out, n, nt.x, nt.y);
                        if (inside != listed)
                            fprintf(stderr, "z%d %d,%d tile %u/%u\n", zz, i, j, nt.x, nt.y);
                        CHECK(inside == listed);
                    }
                }
            }
        }
    }
}

int main(void)
{
    test_path_table();
    test_path_length();
    test_layer_names();
    test_bounds();
    test_tile_at();
    test_world_round_trip();
    test_containing();
    return hm_test_done("test_tile");
}
