/* tile_decode.h: two decoders for the tile tests.
 *
 * gdal_geojson() is the independent one: GDAL's MVT driver (ogr2ogr from
 * Debian's gdal-bin) reads the tile and writes GeoJSON in EPSG:4326, which
 * jansson parses; an optional SQLite-dialect query (ST_IsValid, ST_Area)
 * runs inside GDAL. mvt_lint() reads the raw protobuf with the generated
 * protobuf-c code and checks the MVT 2.1 rules GDAL forgives (command
 * counts, winding, repeated points, tag indices).
 *
 * Static functions for the test executables only. */
#ifndef HM_TILE_DECODE_H
#define HM_TILE_DECODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tile.h"
#include "vector_tile.pb-c.h"

/* Exit code that CTest reports as "skipped" (SKIP_RETURN_CODE). */
#define HM_TEST_SKIP 77

static bool gdal_available(void)
{
    FILE *p = popen("ogrinfo --formats 2>/dev/null", "r");
    char line[256];
    bool mvt = false;

    if (!p)
        return false;
    while (fgets(line, sizeof line, p))
        if (strstr(line, "MVT -vector-"))
            mvt = true;
    pclose(p);
    return mvt;
}

/* Decode tile `t` (bytes data[0..len)) with GDAL, without clipping to the
 * tile so buffer features stay, reprojected to lon/lat. `sql` (SQLite
 * dialect, the table is the layer name) may be NULL. Returns a new
 * FeatureCollection or NULL (message on stderr). */
static json_t *gdal_geojson(const void *data, size_t len, const hm_tile *t, const char *sql)
{
    char dir[] = "/tmp/hm_tile_test_XXXXXX", path[64], cmd[1024];
    json_t *root = NULL;
    json_error_t jerr;
    FILE *f, *p;
    char *text = NULL;
    size_t n = 0, cap = 0;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return NULL;
    }
    snprintf(path, sizeof path, "%s/tile.mvt", dir);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        goto out;
    }
    snprintf(cmd, sizeof cmd,
             "ogr2ogr -f GeoJSON /vsistdout/ '%s' -oo X=%u -oo Y=%u -oo Z=%d -oo CLIP=NO "
             "-t_srs EPSG:4326 -lco COORDINATE_PRECISION=12 %s%s%s",
             path, t->x, t->y, t->z, sql ? "-dialect SQLite -sql \"" : "", sql ? sql : "",
             sql ? "\"" : "");
    p = popen(cmd, "r");
    if (!p) {
        perror("popen");
        goto out;
    }
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536 * 2;
            text = realloc(text, cap);
        }
        size_t got = fread(text + n, 1, cap - n - 1, p);
        if (got == 0)
            break;
        n += got;
    }
    text[n] = '\0';
    if (pclose(p) != 0)
        fprintf(stderr, "gdal_geojson: ogr2ogr failed: %s\n", cmd);
    root = json_loads(text, 0, &jerr);
    if (!root)
        fprintf(stderr, "gdal_geojson: bad JSON from ogr2ogr (%s): %.200s\n", jerr.text, text);
out:
    free(text);
    unlink(path);
    rmdir(dir);
    return root;
}

/* The "features" array of a FeatureCollection (borrowed), or an empty one. */
static json_t *gj_features(json_t *fc)
{
    static json_t *empty;
    json_t *a = fc ? json_object_get(fc, "features") : NULL;

    if (a)
        return a;
    if (!empty)
        empty = json_array();
    return empty;
}

static json_t *gj_prop(json_t *feature, const char *key)
{
    return json_object_get(json_object_get(feature, "properties"), key);
}

static long long gj_int(json_t *feature, const char *key)
{
    return json_integer_value(gj_prop(feature, key));
}

static const char *gj_str(json_t *feature, const char *key)
{
    return json_string_value(gj_prop(feature, key));
}

/* ---- MVT 2.1 conformance ------------------------------------------------ */

typedef struct lint_result {
    size_t layers, features, polygons, holes, points;
    int errors;
} lint_result;

#define LINT_FAIL(r, ...)                                                                          \
    do {                                                                                           \
        (r)->errors++;                                                                             \
        fprintf(stderr, "mvt_lint: " __VA_ARGS__);                                                 \
        fputc('\n', stderr);                                                                       \
    } while (0)

static int32_t unzigzag(uint32_t v)
{
    return (int32_t)((v >> 1) ^ (~(v & 1) + 1));
}

static void lint_polygon(const VectorTile__Tile__Feature *f, lint_result *r)
{
    size_t i = 0;
    int64_t cx = 0, cy = 0;
    bool first = true;

    if (f->n_geometry == 0)
        LINT_FAIL(r, "feature %llu: empty polygon", (unsigned long long)f->id);
    while (i < f->n_geometry) {
        uint32_t cmd = f->geometry[i], count;
        int64_t *px, *py;
        size_t n = 0;
        int64_t area2 = 0;

        if ((cmd & 7) != 1 || (cmd >> 3) != 1 || i + 3 > f->n_geometry) {
            LINT_FAIL(r, "feature %llu: ring must start with MoveTo(1)", (unsigned long long)f->id);
            return;
        }
        cx += unzigzag(f->geometry[i + 1]);
        cy += unzigzag(f->geometry[i + 2]);
        i += 3;
        cmd = i < f->n_geometry ? f->geometry[i] : 0;
        count = cmd >> 3;
        if ((cmd & 7) != 2 || count < 2 || i + 1 + 2 * (size_t)count > f->n_geometry) {
            LINT_FAIL(r, "feature %llu: ring needs LineTo with >= 2 points",
                      (unsigned long long)f->id);
            return;
        }
        px = malloc(((size_t)count + 1) * sizeof *px);
        py = malloc(((size_t)count + 1) * sizeof *py);
        px[n] = cx;
        py[n] = cy;
        n++;
        i++;
        for (uint32_t k = 0; k < count; k++, i += 2) {
            int32_t dx = unzigzag(f->geometry[i]), dy = unzigzag(f->geometry[i + 1]);
            if (dx == 0 && dy == 0)
                LINT_FAIL(r, "feature %llu: repeated point", (unsigned long long)f->id);
            cx += dx;
            cy += dy;
            px[n] = cx;
            py[n] = cy;
            n++;
        }
        if (i >= f->n_geometry || f->geometry[i] != ((1u << 3) | 7u)) {
            LINT_FAIL(r, "feature %llu: ring without ClosePath(1)", (unsigned long long)f->id);
            free(px);
            free(py);
            return;
        }
        i++;
        if (px[n - 1] == px[0] && py[n - 1] == py[0])
            LINT_FAIL(r, "feature %llu: closing point repeated", (unsigned long long)f->id);
        for (size_t k = 0; k < n; k++) {
            size_t j = k + 1 == n ? 0 : k + 1;
            area2 += px[k] * py[j] - px[j] * py[k];
        }
        free(px);
        free(py);
        if (area2 == 0)
            LINT_FAIL(r, "feature %llu: ring without area", (unsigned long long)f->id);
        if (first && area2 < 0)
            LINT_FAIL(r, "feature %llu: first ring is not exterior (clockwise)",
                      (unsigned long long)f->id);
        if (area2 > 0)
            r->polygons++;
        else
            r->holes++;
        first = false;
    }
}

/* Check data[0..len) against MVT 2.1; errors on stderr, counted in *r. */
static void mvt_lint(const void *data, size_t len, lint_result *r)
{
    VectorTile__Tile *tile = vector_tile__tile__unpack(NULL, len, data);

    memset(r, 0, sizeof *r);
    if (!tile) {
        LINT_FAIL(r, "protobuf does not parse");
        return;
    }
    for (size_t li = 0; li < tile->n_layers; li++) {
        const VectorTile__Tile__Layer *l = tile->layers[li];
        r->layers++;
        if (l->version != 2)
            LINT_FAIL(r, "layer %s: version %u", l->name, l->version);
        if (!l->has_extent || l->extent != 4096)
            LINT_FAIL(r, "layer %s: extent missing or not 4096", l->name);
        for (size_t v = 0; v < l->n_values; v++) {
            const VectorTile__Tile__Value *val = l->values[v];
            int set = (val->string_value != NULL) + val->has_float_value + val->has_double_value +
                      val->has_int_value + val->has_uint_value + val->has_sint_value +
                      val->has_bool_value;
            if (set != 1)
                LINT_FAIL(r, "layer %s: value %zu has %d members", l->name, v, set);
        }
        for (size_t fi = 0; fi < l->n_features; fi++) {
            const VectorTile__Tile__Feature *f = l->features[fi];
            r->features++;
            if (!f->has_id)
                LINT_FAIL(r, "feature without id");
            if (f->n_tags % 2 != 0)
                LINT_FAIL(r, "odd tag count");
            for (size_t t = 0; t + 1 < f->n_tags; t += 2) {
                if (f->tags[t] >= l->n_keys || f->tags[t + 1] >= l->n_values)
                    LINT_FAIL(r, "tag index out of range");
                for (size_t u = 0; u < t; u += 2)
                    if (f->tags[u] == f->tags[t])
                        LINT_FAIL(r, "key repeated in a feature");
            }
            if (f->type == VECTOR_TILE__TILE__GEOM_TYPE__POLYGON) {
                lint_polygon(f, r);
            } else if (f->type == VECTOR_TILE__TILE__GEOM_TYPE__POINT) {
                if (f->n_geometry != 3 || f->geometry[0] != ((1u << 3) | 1u))
                    LINT_FAIL(r, "point is not MoveTo(1) x y");
                r->points++;
            } else {
                LINT_FAIL(r, "unexpected geometry type %d", (int)f->type);
            }
        }
    }
    vector_tile__tile__free_unpacked(tile, NULL);
}

#endif
