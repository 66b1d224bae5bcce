/* test_mvt_points.c: the requests layer decoded back by GDAL's MVT driver -
 * one feature per request at z >= 13 with exactly the public attributes and
 * positions within a tile unit; clusters below z 13 whose counts match the
 * points of their grid cell and sum to the number of requests in the tile;
 * a z10 tile over a million requests under 100 KiB; empty tiles; bad
 * arguments. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hm_test.h"
#include "mvt.h"
#include "tile_decode.h"

#define PI     3.14159265358979323846
#define EXTENT 4096.0

/* Cu Chi district, lon/lat (SPEC's default data set). */
static const double cu_chi[4] = {106.356484, 10.914484, 106.657216, 11.160309};

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double rng_unit(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

static const char *const categories[] = {"food",    "water",  "medical", "cash",
                                         "shelter", "rescue", "other"};
static const char *const statuses[] = {"new",      "assigned",  "in_progress",
                                       "resolved", "cancelled", "duplicate"};

typedef struct gen_points {
    hm_mvt_point *pts;
    char (*codes)[12];
    size_t n;
} gen_points;

/* n requests uniformly in bbox, snapped to 0.001 degree as the public API
 * shows them, with ids first_id.. */
static void gen(gen_points *g, size_t n, const double bbox[4], int64_t first_id)
{
    static const char alphabet[] = "0123456789ABCDEGHKMNPQRSTVXY";

    g->pts = calloc(n, sizeof *g->pts);
    g->codes = calloc(n, sizeof *g->codes);
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        hm_mvt_point *p = &g->pts[i];
        double lon = bbox[0] + (bbox[2] - bbox[0]) * rng_unit();
        double lat = bbox[1] + (bbox[3] - bbox[1]) * rng_unit();
        uint64_t r = rng();
        int c = (int)(r % 7), s = (int)(r / 7 % 6);

        memcpy(g->codes[i], "CC-", 3);
        for (int k = 0; k < 6; k++)
            g->codes[i][3 + k] = alphabet[(r >> (8 + 5 * k)) % 28];
        g->codes[i][9] = '\0';
        p->id = first_id + (int64_t)i;
        p->lon = round(lon * 1000.0) / 1000.0;
        p->lat = round(lat * 1000.0) / 1000.0;
        p->code = g->codes[i];
        p->category = categories[c];
        p->status = statuses[s];
        p->priority = (c == 2 || c == 5 || r % 5 == 0) ? "urgent" : "normal";
        p->ward_code = (r >> 40) % 2 ? "27496" : "27553";
        p->people = 1 + (int)((r >> 20) % 12);
        p->verified = (r >> 30) % 3 == 0;
        p->created_at = 1700000000 + (int64_t)((r >> 24) % 5000000);
    }
}

static void gen_free(gen_points *g)
{
    free(g->pts);
    free(g->codes);
}

/* Tile units of (lon, lat) in tile t, by the textbook Mercator formula
 * (not tile.c's). */
static void to_units(const hm_tile *t, double lon, double lat, double *ux, double *uy)
{
    double n = ldexp(1.0, t->z), r = lat * PI / 180.0;

    *ux = ((lon + 180.0) / 360.0 * n - t->x) * EXTENT;
    *uy = ((1.0 - log(tan(r) + 1.0 / cos(r)) / PI) / 2.0 * n - t->y) * EXTENT;
}

static void geometry_lonlat(json_t *f, double *lon, double *lat)
{
    json_t *c = json_object_get(json_object_get(f, "geometry"), "coordinates");
    *lon = json_real_value(json_array_get(c, 0));
    *lat = json_real_value(json_array_get(c, 1));
}

/* The property names of `f` equal want[0..n) exactly (any order), except
 * that `absent` (may be NULL) must be missing or null. */
static bool keys_exactly_but(json_t *f, const char *const *want, size_t n, const char *absent)
{
    json_t *props = json_object_get(f, "properties");
    const char *key;
    json_t *v;
    size_t found = 0;

    json_object_foreach(props, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < n; i++)
            known = known || strcmp(key, want[i]) == 0;
        if (!known)
            return false; /* a field nobody asked for */
        if (absent && strcmp(key, absent) == 0 && !json_is_null(v))
            return false;
        found += !json_is_null(v);
    }
    return found == n - (absent != NULL);
}

static bool keys_exactly(json_t *f, const char *const *want, size_t n)
{
    return keys_exactly_but(f, want, n, NULL);
}

static const char *const point_keys[] = {"mvt_id",    "code",   "category", "status",    "priority",
                                         "ward_code", "people", "verified", "created_at"};
static const char *const cluster_keys[] = {
    "mvt_id", "cluster",  "point_count", "people",   "urgent",    "food",
    "water",  "medical",  "cash",        "shelter",  "rescue",    "other",
    "new",    "assigned", "in_progress", "resolved", "cancelled", "duplicate"};

static int64_t find_point(const gen_points *g, int64_t id)
{
    int64_t i = id - g->pts[0].id; /* ids are consecutive */
    return i >= 0 && (size_t)i < g->n ? i : -1;
}

/* z14: one feature per request within tile + 64-unit buffer, with every
 * public field and nothing else. */
static void test_points_z14(void)
{
    hm_tile t;
    double b[4], wide[4];
    gen_points g;
    hm_buf buf, streamed;
    hm_error err = {0};
    lint_result lint;
    json_t *fc;
    size_t want_in = 0, decoded = 0;

    hm_tile_at(106.5, 11.0, 14, &t, NULL);
    hm_tile_bounds(&t, b);
    /* the tile and a margin around it twice the buffer */
    wide[0] = b[0] - (b[2] - b[0]) * 0.03;
    wide[2] = b[2] + (b[2] - b[0]) * 0.03;
    wide[1] = b[1] - (b[3] - b[1]) * 0.03;
    wide[3] = b[3] + (b[3] - b[1]) * 0.03;
    gen(&g, 400, wide, 1000);
    g.pts[3].ward_code = NULL; /* a NULL string is omitted, not "" */

    hm_buf_init(&buf);
    CHECK_INT_EQ(hm_mvt_encode_points(&t, g.pts, g.n, NULL, &buf, &err), HM_OK);
    CHECK(buf.len > 0);

    /* the streaming encoder writes the same bytes */
    hm_mvt_points *enc = hm_mvt_points_create(&t, NULL, &err);
    CHECK(enc != NULL);
    hm_buf_init(&streamed);
    for (size_t i = 0; enc && i < g.n; i++)
        hm_mvt_points_add(enc, &g.pts[i]);
    CHECK_INT_EQ(hm_mvt_points_finish(enc, &streamed, &err), HM_OK);
    hm_mvt_points_destroy(enc);
    CHECK(streamed.len == buf.len && memcmp(streamed.data, buf.data, buf.len) == 0);
    hm_buf_clear(&streamed);

    mvt_lint(buf.data, buf.len, &lint);
    CHECK_INT_EQ(lint.errors, 0);
    CHECK_INT_EQ(lint.layers, 1);

    fc = gdal_geojson(buf.data, buf.len, &t, NULL);
    CHECK(fc != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(fc, "name")), "requests");

    char *seen = calloc(g.n, 1);
    size_t i;
    json_t *f;
    json_array_foreach(gj_features(fc), i, f)
    {
        int64_t id = gj_int(f, "mvt_id");
        int64_t k = find_point(&g, id);
        double lon, lat, ux, uy, gx, gy;

        decoded++;
        CHECK(k >= 0);
        if (k < 0)
            continue;
        const hm_mvt_point *p = &g.pts[k];
        CHECK(!seen[k]);
        seen[k] = 1;
        /* GDAL's schema is the union over the tile: every public field,
         * nothing else - no name, phone, note or address can appear. */
        CHECK(keys_exactly_but(f, point_keys, sizeof point_keys / sizeof point_keys[0],
                               p->ward_code ? NULL : "ward_code"));
        CHECK_STR_EQ(gj_str(f, "code"), p->code);
        CHECK_STR_EQ(gj_str(f, "category"), p->category);
        CHECK_STR_EQ(gj_str(f, "status"), p->status);
        CHECK_STR_EQ(gj_str(f, "priority"), p->priority);
        CHECK_STR_EQ(gj_str(f, "ward_code"), p->ward_code);
        CHECK_INT_EQ(gj_int(f, "people"), p->people);
        CHECK(json_is_boolean(gj_prop(f, "verified")));
        CHECK_INT_EQ(json_is_true(gj_prop(f, "verified")), p->verified);
        CHECK_INT_EQ(gj_int(f, "created_at"), p->created_at);
        /* position: within one tile unit of the request's */
        geometry_lonlat(f, &lon, &lat);
        to_units(&t, lon, lat, &gx, &gy);
        to_units(&t, p->lon, p->lat, &ux, &uy);
        if (fabs(gx - ux) > 1.0 || fabs(gy - uy) > 1.0)
            fprintf(stderr, "id %lld: decoded %.3f,%.3f want %.3f,%.3f\n", (long long)id, gx, gy,
                    ux, uy);
        CHECK(fabs(gx - ux) <= 1.0 && fabs(gy - uy) <= 1.0);
    }
    /* Every point well inside tile + buffer is there, every point well
     * outside is not. */
    for (size_t k = 0; k < g.n; k++) {
        double ux, uy;
        to_units(&t, g.pts[k].lon, g.pts[k].lat, &ux, &uy);
        bool inside = ux > -63 && ux < 4159 && uy > -63 && uy < 4159;
        bool outside = ux < -65 || ux > 4161 || uy < -65 || uy > 4161;
        if (inside) {
            want_in++;
            CHECK(seen[k]);
        }
        if (outside)
            CHECK(!seen[k]);
    }
    CHECK(want_in > 100);
    CHECK(decoded >= want_in);
    free(seen);
    json_decref(fc);
    hm_buf_clear(&buf);
    gen_free(&g);
}

/* Expected sums of one cluster cell, computed from the inputs. */
typedef struct want_cell {
    int64_t gx, gy;
    uint32_t count, urgent;
    uint64_t people;
    uint32_t cat[7], st[6];
    double sx, sy; /* world cell units */
} want_cell;

static int cmp_cell(const void *a, const void *b)
{
    const want_cell *x = a, *y = b;
    if (x->gy != y->gy)
        return x->gy < y->gy ? -1 : 1;
    if (x->gx != y->gx)
        return x->gx < y->gx ? -1 : 1;
    return 0;
}

/* Aggregate all points into world grid cells of 256 units at zoom z. */
static want_cell *aggregate(const gen_points *g, int z, size_t *ncells)
{
    want_cell *cells = calloc(g->n, sizeof *cells);
    size_t n = 0;
    double cells_per_axis = ldexp(16.0, z);

    for (size_t i = 0; i < g->n; i++) {
        const hm_mvt_point *p = &g->pts[i];
        double r = p->lat * PI / 180.0;
        double wx = (p->lon + 180.0) / 360.0 * cells_per_axis;
        double wy = (1.0 - log(tan(r) + 1.0 / cos(r)) / PI) / 2.0 * cells_per_axis;
        cells[n].gx = (int64_t)floor(wx);
        cells[n].gy = (int64_t)floor(wy);
        cells[n].count = 1;
        cells[n].people = (uint64_t)p->people;
        cells[n].urgent = strcmp(p->priority, "urgent") == 0;
        for (int c = 0; c < 7; c++)
            cells[n].cat[c] = strcmp(p->category, categories[c]) == 0;
        for (int s = 0; s < 6; s++)
            cells[n].st[s] = strcmp(p->status, statuses[s]) == 0;
        cells[n].sx = wx;
        cells[n].sy = wy;
        n++;
    }
    qsort(cells, n, sizeof *cells, cmp_cell);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && cmp_cell(&cells[out - 1], &cells[i]) == 0) {
            want_cell *c = &cells[out - 1];
            c->count += cells[i].count;
            c->people += cells[i].people;
            c->urgent += cells[i].urgent;
            for (int k = 0; k < 7; k++)
                c->cat[k] += cells[i].cat[k];
            for (int k = 0; k < 6; k++)
                c->st[k] += cells[i].st[k];
            c->sx += cells[i].sx;
            c->sy += cells[i].sy;
        } else {
            cells[out++] = cells[i];
        }
    }
    *ncells = out;
    return cells;
}

static want_cell *find_cell(want_cell *cells, size_t n, int64_t gx, int64_t gy)
{
    want_cell key = {.gx = gx, .gy = gy};
    return bsearch(&key, cells, n, sizeof *cells, cmp_cell);
}

/* Encode tile t over all points g (as the store would hand them: those in
 * hm_mvt_points_bounds), decode it with GDAL and check every cluster against
 * the independently aggregated cells. Returns the tile's size. */
static size_t check_cluster_tile(const gen_points *g, const hm_tile *t)
{
    hm_buf buf;
    hm_error err = {0};
    lint_result lint;
    json_t *fc, *f;
    size_t ncells, i, in_tile_points = 0, in_tile_sum = 0, in_tile_cells = 0, in_tile_seen = 0;
    want_cell *cells = aggregate(g, t->z, &ncells);
    int64_t world = (int64_t)16 << t->z;
    double qb[4];
    hm_mvt_point *query = malloc(g->n * sizeof *query);
    size_t nq = 0;

    /* the caller's query: points inside hm_mvt_points_bounds() */
    hm_mvt_points_bounds(t, NULL, qb);
    for (size_t k = 0; k < g->n; k++)
        if (g->pts[k].lon >= qb[0] && g->pts[k].lon <= qb[2] && g->pts[k].lat >= qb[1] &&
            g->pts[k].lat <= qb[3])
            query[nq++] = g->pts[k];

    hm_buf_init(&buf);
    CHECK_INT_EQ(hm_mvt_encode_points(t, query, nq, NULL, &buf, &err), HM_OK);
    mvt_lint(buf.data, buf.len, &lint);
    CHECK_INT_EQ(lint.errors, 0);

    for (size_t k = 0; k < g->n; k++) {
        double ux, uy;
        to_units(t, g->pts[k].lon, g->pts[k].lat, &ux, &uy);
        in_tile_points += ux >= 0 && ux < EXTENT && uy >= 0 && uy < EXTENT;
    }
    for (size_t c = 0; c < ncells; c++)
        in_tile_cells += cells[c].gx / 16 == (int64_t)t->x && cells[c].gy / 16 == (int64_t)t->y;

    fc = gdal_geojson(buf.data, buf.len, t, NULL);
    CHECK(fc != NULL);
    json_array_foreach(gj_features(fc), i, f)
    {
        int64_t id = gj_int(f, "mvt_id") - 1;
        int64_t gx = id % world, gy = id / world;
        want_cell *w = find_cell(cells, ncells, gx, gy);
        double lon, lat, ux, uy, wx, wy;
        long long cat_sum = 0;

        CHECK(keys_exactly(f, cluster_keys, sizeof cluster_keys / sizeof cluster_keys[0]));
        CHECK(json_is_true(gj_prop(f, "cluster")));
        CHECK(w != NULL);
        if (!w)
            continue;
        /* full counts, also for a neighbour's cell shown in the buffer */
        CHECK_INT_EQ(gj_int(f, "point_count"), w->count);
        CHECK_INT_EQ(gj_int(f, "people"), w->people);
        CHECK_INT_EQ(gj_int(f, "urgent"), w->urgent);
        for (int c = 0; c < 7; c++) {
            CHECK_INT_EQ(gj_int(f, categories[c]), w->cat[c]);
            cat_sum += gj_int(f, categories[c]);
        }
        for (int s = 0; s < 6; s++)
            CHECK_INT_EQ(gj_int(f, statuses[s]), w->st[s]);
        CHECK_INT_EQ(cat_sum, w->count);
        /* at the centroid of its points, within a unit */
        geometry_lonlat(f, &lon, &lat);
        to_units(t, lon, lat, &ux, &uy);
        wx = (w->sx / w->count - (double)t->x * 16) * 256.0;
        wy = (w->sy / w->count - (double)t->y * 16) * 256.0;
        CHECK(fabs(ux - wx) <= 1.0 && fabs(uy - wy) <= 1.0);
        if (gx / 16 == (int64_t)t->x && gy / 16 == (int64_t)t->y) {
            in_tile_sum += (size_t)w->count;
            in_tile_seen++;
        } else {
            CHECK(ux >= -65 && ux <= 4161 && uy >= -65 && uy <= 4161); /* within the buffer */
        }
    }
    /* every cell of the tile is there, and they hold exactly the tile's points */
    CHECK_INT_EQ(in_tile_seen, in_tile_cells);
    CHECK_INT_EQ(in_tile_sum, in_tile_points);
    CHECK(in_tile_points > 0);

    json_decref(fc);
    free(cells);
    free(query);
    size_t len = buf.len;
    hm_buf_clear(&buf);
    return len;
}

static void test_clusters(void)
{
    gen_points g;
    hm_tile t;

    gen(&g, 50000, cu_chi, 1);
    for (int z = 8; z <= 12; z++) {
        hm_tile_at(106.5, 11.03, z, &t, NULL);
        check_cluster_tile(&g, &t);
    }
    /* a tile on the district's edge, so that part of it is empty */
    hm_tile_at(cu_chi[0] + 0.001, cu_chi[1] + 0.001, 12, &t, NULL);
    check_cluster_tile(&g, &t);
    gen_free(&g);
}

/* Issue 4: "a z10 tile of one million requests stays under 100 KiB". */
static void test_million_z10(void)
{
    gen_points g;
    hm_tile t;
    size_t len;

    gen(&g, 1000000, cu_chi, 1);
    hm_tile_at(106.5, 11.03, 10, &t, NULL);
    len = check_cluster_tile(&g, &t);
    fprintf(stderr, "z10 tile over 1M requests: %zu bytes\n", len);
    CHECK(len > 0 && len < 100 * 1024);
    gen_free(&g);
}

static void test_empty_and_errors(void)
{
    gen_points g;
    hm_tile far = {14, 0, 0}, bad = {3, 8, 0};
    hm_buf buf;
    hm_error err = {0};
    hm_mvt_options opt;

    gen(&g, 1000, cu_chi, 1);
    hm_buf_init(&buf);
    hm_buf_puts(&buf, "prefix"); /* output is appended; an empty tile appends nothing */
    CHECK_INT_EQ(hm_mvt_encode_points(&far, g.pts, g.n, NULL, &buf, &err), HM_OK);
    CHECK_INT_EQ(buf.len, 6);
    CHECK_INT_EQ(hm_mvt_encode_points(&far, NULL, 0, NULL, &buf, &err), HM_OK);
    CHECK_INT_EQ(buf.len, 6);

    /* non-finite coordinates are skipped */
    hm_tile t;
    hm_tile_at(106.5, 11.0, 14, &t, NULL);
    hm_mvt_point nan_point = g.pts[0];
    nan_point.lon = NAN;
    CHECK_INT_EQ(hm_mvt_encode_points(&t, &nan_point, 1, NULL, &buf, &err), HM_OK);
    CHECK_INT_EQ(buf.len, 6);

    CHECK_INT_EQ(hm_mvt_encode_points(&bad, g.pts, g.n, NULL, &buf, &err), HM_E_INVALID_FIELD);
    CHECK_INT_EQ(buf.len, 6);
    hm_error_clear(&err);
    hm_mvt_options_init(&opt);
    opt.cluster_cell = 300; /* does not divide 4096 */
    CHECK_INT_EQ(hm_mvt_encode_points(&t, g.pts, g.n, &opt, &buf, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "mvt_options");
    CHECK(hm_mvt_points_create(&t, &opt, NULL) == NULL);
    CHECK_INT_EQ(buf.len, 6);

    /* a configurable cluster zoom: points at z10 when it is 10 */
    hm_mvt_options_init(&opt);
    opt.cluster_maxzoom = 10;
    hm_tile z10;
    hm_tile_at(106.5, 11.03, 10, &z10, NULL);
    hm_buf_clear(&buf);
    CHECK_INT_EQ(hm_mvt_encode_points(&z10, g.pts, g.n, &opt, &buf, &err), HM_OK);
    lint_result lint;
    mvt_lint(buf.data, buf.len, &lint);
    CHECK_INT_EQ(lint.errors, 0);
    CHECK(lint.points > 500); /* one per request, not clusters */

    /* finishing twice is a bug the encoder reports instead of duplicating clusters */
    hm_mvt_points *enc = hm_mvt_points_create(&z10, NULL, NULL);
    hm_mvt_points_add(enc, &g.pts[0]);
    hm_buf_clear(&buf);
    CHECK_INT_EQ(hm_mvt_points_finish(enc, &buf, NULL), HM_OK);
    size_t once = buf.len;
    CHECK(once > 0);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_mvt_points_finish(enc, &buf, &err), HM_E_INTERNAL);
    CHECK_INT_EQ(buf.len, once);
    hm_mvt_points_destroy(enc);

    hm_buf_clear(&buf);
    gen_free(&g);
}

/* The points layer (relief points, issue 19): one feature per point inside tile + buffer, at
 * its exact position, with its public attributes read back by GDAL; none elsewhere. */
static void test_reliefs(void)
{
    hm_tile t;
    hm_buf buf;
    hm_error err = {0};
    lint_result lint;
    json_t *fc, *f;
    size_t i;
    int seen = 0;
    hm_mvt_relief pts[] = {
        {11, 106.5001, 11.0002, "shelter", "open", "Trường THCS Tân An Hội", "24/7", 300,
         1796004900},
        {12, 106.5003, 11.0001, "boat", "full", "Ghe ông Sáu", NULL, -1, 1796004901},
        {13, 107.5, 11.0, "food", "open", "far away", NULL, 5, 1796004902},
        {14, NAN, 11.0, "food", "open", "no position", NULL, 5, 1796004903},
    };

    hm_tile_at(106.5, 11.0, 14, &t, NULL);
    hm_buf_init(&buf);
    CHECK_INT_EQ(hm_mvt_encode_reliefs(&t, pts, 4, NULL, &buf, &err), HM_OK);
    mvt_lint(buf.data, buf.len, &lint);
    CHECK_INT_EQ(lint.errors, 0);
    CHECK_INT_EQ(lint.layers, 1);
    fc = gdal_geojson(buf.data, buf.len, &t, NULL);
    CHECK(fc != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(fc, "name")), "points");
    json_array_foreach(gj_features(fc), i, f)
    {
        int64_t id = gj_int(f, "mvt_id");
        double lon, lat, ux, uy, gx, gy;
        const hm_mvt_relief *p = id == 11 ? &pts[0] : id == 12 ? &pts[1] : NULL;
        CHECK(p != NULL);
        if (!p)
            continue;
        seen++;
        CHECK_STR_EQ(gj_str(f, "kind"), p->kind);
        CHECK_STR_EQ(gj_str(f, "status"), p->status);
        CHECK_STR_EQ(gj_str(f, "name"), p->name);
        CHECK_STR_EQ(gj_str(f, "hours"), p->hours);
        if (p->capacity >= 0)
            CHECK_INT_EQ(gj_int(f, "capacity"), p->capacity);
        CHECK_INT_EQ(gj_int(f, "updated_at"), p->updated_at);
        geometry_lonlat(f, &lon, &lat);
        to_units(&t, lon, lat, &gx, &gy);
        to_units(&t, p->lon, p->lat, &ux, &uy);
        CHECK(fabs(gx - ux) <= 1.0 && fabs(gy - uy) <= 1.0);
    }
    CHECK_INT_EQ(seen, 2);
    json_decref(fc);
    /* Nothing in a tile without points; bad tiles are refused. */
    hm_buf_clear(&buf);
    hm_buf_init(&buf);
    hm_tile_at(100.0, 20.0, 14, &t, NULL);
    CHECK_INT_EQ(hm_mvt_encode_reliefs(&t, pts, 4, NULL, &buf, &err), HM_OK);
    CHECK(buf.len == 0);
    t.z = 30;
    CHECK_INT_EQ(hm_mvt_encode_reliefs(&t, pts, 4, NULL, &buf, NULL), HM_E_INVALID_FIELD);
    hm_buf_clear(&buf);
}

int main(void)
{
    if (!gdal_available()) {
        fprintf(stderr, "test_mvt_points: GDAL with the MVT driver not found, skipped\n");
        return HM_TEST_SKIP;
    }
    test_points_z14();
    test_clusters();
    test_million_z10();
    test_empty_and_errors();
    test_reliefs();
    return hm_test_done("test_mvt_points");
}
