/* test_basemap.c: `helpmap basemap build` end to end on a synthetic
 * OpenStreetMap extract (tests/data/basemap/cuchi_synthetic.osm: invented
 * streets, a canal, a pond, buildings, land use and two places inside Củ Chi,
 * every name marked "giả lập"), converted to .osm.pbf with osmium, built
 * with hm_basemap_build (tilemaker and the profile in tiles/basemap/), read
 * back with the MBTiles reader: layers and attributes of the decoded tiles
 * (and one tile through GDAL's MVT driver, an independent decoder), the
 * TileJSON, the street and place names for the place search, the bbox cut,
 * and the errors a user meets (existing output, missing or failing tool, bad
 * bbox) leaving nothing behind.
 *
 * Needs Debian's osmium-tool and tilemaker; exits 77 (skipped) without them. */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basemap.h"
#include "hm_test.h"
#include "mbtiles.h"
#include "tile_decode.h"

#define STREET_1 "Đường Thử Nghiệm Một (đường giả lập)"
#define STREET_2 "Đường Thử Nghiệm Hai (đường giả lập)"
#define STREET_3 "Đường Thử Nghiệm Ba (đường giả lập)"
#define PATH_1   "Lối Đi Thử Nghiệm (lối giả lập)"
#define HAMLET   "Ấp Thử Nghiệm (ấp giả lập)"
#define VILLAGE  "Làng Thử Nghiệm (làng giả lập)"
#define CANAL    "Kênh Thử Nghiệm (kênh giả lập)"

static char dir[] = "/tmp/hm_basemap_XXXXXX";
static char pbf[256], config_dir[512];

static bool on_path(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Files in `dir` other than the ones named. */
static int stray_files(const char *keep1, const char *keep2, const char *keep3)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            (keep1 && !strcmp(e->d_name, keep1)) || (keep2 && !strcmp(e->d_name, keep2)) ||
            (keep3 && !strcmp(e->d_name, keep3)))
            continue;
        fprintf(stderr, "stray file: %s\n", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* ---- decoding the built tiles --------------------------------------------------------- */

typedef struct layer_seen {
    const char *layer, *key, *value; /* a feature with key=value (value NULL: any) */
    int found;
} layer_seen;

typedef struct decode_ctx {
    layer_seen *want;
    size_t nwant;
    size_t tiles, bytes, max_bytes;
    int errors;
    hm_tile street1_tile; /* a tile holding STREET_1's name */
    bool have_street1;
} decode_ctx;

static const char *value_str(const VectorTile__Tile__Value *v, char *buf, size_t n)
{
    if (v->string_value)
        return v->string_value;
    if (v->has_int_value)
        snprintf(buf, n, "%lld", (long long)v->int_value);
    else if (v->has_sint_value)
        snprintf(buf, n, "%lld", (long long)v->sint_value);
    else if (v->has_uint_value)
        snprintf(buf, n, "%llu", (unsigned long long)v->uint_value);
    else if (v->has_double_value)
        snprintf(buf, n, "%g", v->double_value);
    else if (v->has_float_value)
        snprintf(buf, n, "%g", (double)v->float_value);
    else
        snprintf(buf, n, "?");
    return buf;
}

static int decode_tile(const hm_tile *t, const hm_mbtiles_blob *blob, void *arg)
{
    decode_ctx *c = arg;
    hm_buf raw;
    hm_error err = {0};
    VectorTile__Tile *tile;

    c->tiles++;
    c->bytes += blob->len;
    if (blob->len > c->max_bytes)
        c->max_bytes = blob->len;
    hm_buf_init(&raw);
    if (blob->encoding != HM_MBTILES_GZIP ||
        hm_mbtiles_inflate(blob->data, blob->len, 0, &raw, &err) != HM_OK) {
        fprintf(stderr, "tile %d/%u/%u: not gzip\n", t->z, t->x, t->y);
        c->errors++;
        hm_buf_clear(&raw);
        return HM_OK;
    }
    tile = vector_tile__tile__unpack(NULL, raw.len, (const uint8_t *)raw.data);
    if (!tile) {
        c->errors++;
        hm_buf_clear(&raw);
        return HM_OK;
    }
    for (size_t li = 0; li < tile->n_layers; li++) {
        const VectorTile__Tile__Layer *l = tile->layers[li];
        if (l->version != 2 || !l->has_extent || l->extent != 4096)
            c->errors++;
        for (size_t fi = 0; fi < l->n_features; fi++) {
            const VectorTile__Tile__Feature *f = l->features[fi];
            for (size_t k = 0; k + 1 < f->n_tags; k += 2) {
                char buf[64];
                const char *key = l->keys[f->tags[k]];
                const char *val = value_str(l->values[f->tags[k + 1]], buf, sizeof buf);
                for (size_t w = 0; w < c->nwant; w++)
                    if (!strcmp(c->want[w].layer, l->name) && !strcmp(c->want[w].key, key) &&
                        (!c->want[w].value || !strcmp(c->want[w].value, val)))
                        c->want[w].found++;
                if (!c->have_street1 && !strcmp(l->name, "transportation_name") &&
                    !strcmp(key, "name") && !strcmp(val, STREET_1)) {
                    c->street1_tile = *t;
                    c->have_street1 = true;
                }
            }
            if (f->n_tags == 0) { /* buildings carry no attributes */
                for (size_t w = 0; w < c->nwant; w++)
                    if (!strcmp(c->want[w].layer, l->name) && !c->want[w].key[0])
                        c->want[w].found++;
            }
        }
    }
    vector_tile__tile__free_unpacked(tile, NULL);
    hm_buf_clear(&raw);
    return HM_OK;
}

/* ---- names for the place search -------------------------------------------------------- */

typedef struct name_seen {
    char kind[16], name[128], class[32];
    double lon, lat, bbox[4];
} name_seen;

typedef struct names {
    name_seen n[64];
    int count;
} names;

static int collect(const hm_basemap_name *n, void *ctx)
{
    names *all = ctx;
    if (all->count < 64) {
        name_seen *s = &all->n[all->count];
        snprintf(s->kind, sizeof s->kind, "%s", n->kind);
        snprintf(s->name, sizeof s->name, "%s", n->name);
        snprintf(s->class, sizeof s->class, "%s", n->class);
        s->lon = n->lon;
        s->lat = n->lat;
        memcpy(s->bbox, n->bbox, sizeof s->bbox);
    }
    all->count++;
    return 0;
}

static int stop_now(const hm_basemap_name *n, void *ctx)
{
    (void)n;
    (*(int *)ctx)++;
    return 42;
}

static const name_seen *find_name(const names *all, const char *kind, const char *name, int *times)
{
    const name_seen *hit = NULL;
    *times = 0;
    for (int i = 0; i < all->count && i < 64; i++)
        if (!strcmp(all->n[i].kind, kind) && !strcmp(all->n[i].name, name)) {
            hit = &all->n[i];
            (*times)++;
        }
    return hit;
}

static void test_names(hm_mbtiles *mb)
{
    /* What the search must find: one entry per street, on the street. */
    static const struct {
        const char *kind, *name, *class;
        double lon_min, lat_min, lon_max, lat_max; /* where the point must lie */
    } want[] = {
        {"street", STREET_1, "minor", 106.495, 10.984, 106.525, 10.987},
        {"street", STREET_2, "tertiary", 106.509, 10.975, 106.511, 10.995},
        {"street", STREET_3, "secondary", 106.492, 10.972, 106.528, 10.998},
        {"street", PATH_1, "path", 106.515, 10.976, 106.520, 10.9855},
        {"place", HAMLET, "hamlet", 106.5064, 10.9834, 106.5066, 10.9836},
        {"place", VILLAGE, "village", 106.5199, 10.9899, 106.5201, 10.9901},
    };
    names all = {0};
    hm_error err = {0};
    int times, calls = 0;

    CHECK_INT_EQ(hm_basemap_names(mb, collect, &all, &err), HM_OK);
    CHECK_INT_EQ(all.count, (int)(sizeof want / sizeof *want));
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const name_seen *s = find_name(&all, want[i].kind, want[i].name, &times);
        CHECK_INT_EQ(times, 1);
        if (!s) {
            fprintf(stderr, "  missing %s %s\n", want[i].kind, want[i].name);
            continue;
        }
        CHECK_STR_EQ(s->class, want[i].class);
        CHECK(s->lon >= want[i].lon_min && s->lon <= want[i].lon_max);
        CHECK(s->lat >= want[i].lat_min && s->lat <= want[i].lat_max);
        CHECK(s->bbox[0] <= s->lon && s->lon <= s->bbox[2]);
        CHECK(s->bbox[1] <= s->lat && s->lat <= s->bbox[3]);
    }
    /* Street 1 runs east-west along 10.985: its extent spans it. */
    {
        const name_seen *s = find_name(&all, "street", STREET_1, &times);
        if (s) {
            CHECK(s->bbox[0] < 106.496 && s->bbox[2] > 106.524);
            CHECK(fabs(s->lat - 10.9853) < 0.0005);
        }
    }
    /* Sorted by kind, then name. */
    for (int i = 1; i < all.count; i++) {
        int c = strcmp(all.n[i - 1].kind, all.n[i].kind);
        CHECK(c < 0 || (c == 0 && strcmp(all.n[i - 1].name, all.n[i].name) <= 0));
    }
    /* The canal is not a street; the unnamed service road has no name. */
    CHECK(find_name(&all, "street", CANAL, &times) == NULL);
    /* The callback can stop the walk. */
    CHECK_INT_EQ(hm_basemap_names(mb, stop_now, &calls, &err), 42);
    CHECK_INT_EQ(calls, 1);
}

/* ---- the build -------------------------------------------------------------------------- */

static void test_build(const char *out, double *build_s)
{
    hm_basemap_build_opts o = {0};
    hm_error err = {0};
    hm_mbtiles *mb;
    const hm_mbtiles_info *in;
    double t0;
    layer_seen want[] = {
        {"transportation", "class", "minor", 0},
        {"transportation", "class", "tertiary", 0},
        {"transportation", "class", "secondary", 0},
        {"transportation", "class", "service", 0},
        {"transportation", "class", "path", 0},
        {"transportation_name", "name", STREET_1, 0},
        {"transportation_name", "name", STREET_2, 0},
        {"transportation_name", "name", STREET_3, 0},
        {"transportation_name", "name:vi", STREET_3, 0},
        {"transportation_name", "name_en", "Test Road Two (invented)", 0},
        {"transportation_name", "class", "secondary", 0},
        {"transportation_name", "ref", "ĐT 999", 0},
        {"waterway", "class", "canal", 0},
        {"waterway", "name", CANAL, 0},
        {"water", "class", "lake", 0},
        {"landuse", "class", "residential", 0},
        {"landcover", "class", "farmland", 0},
        {"building", "", NULL, 0},
        {"place", "class", "hamlet", 0},
        {"place", "name", HAMLET, 0},
        {"place", "class", "village", 0},
        {"place", "name_en", "Test Village (invented)", 0},
    };
    decode_ctx dc = {want, sizeof want / sizeof *want, 0, 0, 0, 0, {0, 0, 0}, false};
    hm_buf tj;
    json_t *doc;

    o.osm_pbf = pbf;
    o.out_mbtiles = out;
    o.config_dir = config_dir;
    t0 = now_s();
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_OK);
    *build_s = now_s() - t0;
    if (err.code) {
        fprintf(stderr, "build: %s\n", err.msg);
        return;
    }
    CHECK_INT_EQ(stray_files("cuchi.osm.pbf", "cuchi.mbtiles", NULL), 0);

    mb = hm_mbtiles_open(out, &err);
    CHECK(mb != NULL);
    if (!mb)
        return;
    in = hm_mbtiles_info_get(mb);
    CHECK_INT_EQ(in->minzoom, 6);
    CHECK_INT_EQ(in->maxzoom, 14);
    CHECK_STR_EQ(in->format, "pbf");
    CHECK(in->attribution && strstr(in->attribution, "OpenStreetMap contributors"));
    /* The extract's header bounds. */
    CHECK(in->has_bounds && fabs(in->bounds[0] - 106.49) < 1e-6 &&
          fabs(in->bounds[3] - 11.0) < 1e-6);
    CHECK(in->vector_layers != NULL);
    for (const char *const *l =
             (const char *const[]){"transportation", "transportation_name", "water", "waterway",
                                   "landuse", "landcover", "building", "place", NULL};
         *l; l++) {
        char id[64];
        snprintf(id, sizeof id, "\"id\":\"%s\"", *l);
        CHECK(in->vector_layers && strstr(in->vector_layers, id));
    }

    /* Every z14 tile decodes; the layers and attributes are there. */
    CHECK_INT_EQ(hm_mbtiles_each(mb, 14, decode_tile, &dc, &err), HM_OK);
    CHECK(dc.tiles > 0);
    CHECK_INT_EQ(dc.errors, 0);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!want[i].found)
            fprintf(stderr, "  no %s feature with %s=%s at z14\n", want[i].layer, want[i].key,
                    want[i].value ? want[i].value : "*");
        CHECK(want[i].found > 0);
    }
    fprintf(stderr, "synthetic extract: build %.2f s, z14: %zu tiles, %zu bytes (largest %zu)\n",
            *build_s, dc.tiles, dc.bytes, dc.max_bytes);
    for (int z = 6; z <= 13; z++) {
        decode_ctx dz = {NULL, 0, 0, 0, 0, 0, {0, 0, 0}, false};
        hm_mbtiles_each(mb, z, decode_tile, &dz, &err);
        CHECK_INT_EQ(dz.errors, 0);
        fprintf(stderr, "  z%d: %zu tiles, %zu bytes\n", z, dz.tiles, dz.bytes);
    }

    /* The same street read by GDAL, an independent decoder. */
    CHECK(dc.have_street1);
    if (dc.have_street1 && gdal_available()) {
        hm_mbtiles_blob b = {0};
        hm_buf raw;
        json_t *fc;
        bool seen = false;
        hm_buf_init(&raw);
        CHECK_INT_EQ(hm_mbtiles_tile_get(mb, &dc.street1_tile, &b, &err), HM_OK);
        hm_mbtiles_inflate(b.data, b.len, 0, &raw, &err);
        fc = gdal_geojson(raw.data, raw.len, &dc.street1_tile,
                          "SELECT name, class FROM transportation_name");
        for (size_t i = 0; i < json_array_size(gj_features(fc)); i++) {
            json_t *f = json_array_get(gj_features(fc), i);
            if (gj_str(f, "name") && !strcmp(gj_str(f, "name"), STREET_1)) {
                seen = true;
                CHECK_STR_EQ(gj_str(f, "class"), "minor");
            }
        }
        CHECK(seen);
        json_decref(fc);
        hm_buf_clear(&raw);
        hm_mbtiles_blob_clear(&b);
    }

    /* TileJSON of the built file. */
    hm_buf_init(&tj);
    CHECK_INT_EQ(hm_mbtiles_tilejson(mb, "http://127.0.0.1:8080", &tj, &err), HM_OK);
    doc = json_loads(tj.data, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(doc, "tiles"), 0)),
                 "http://127.0.0.1:8080/tiles/basemap/{z}/{x}/{y}.mvt");
    CHECK_INT_EQ(json_integer_value(json_object_get(doc, "maxzoom")), 14);
    CHECK_INT_EQ(json_array_size(json_object_get(doc, "vector_layers")), 8);
    json_decref(doc);
    hm_buf_clear(&tj);

    test_names(mb);
    hm_mbtiles_close(mb);
}

/* A bbox around the east half: whole streets crossing it stay (osmium's
 * "smart" strategy), the rice field in the west goes. */
static void test_bbox(void)
{
    static const double east[4] = {106.505, 10.97, 106.53, 11.0};
    char out[300];
    hm_basemap_build_opts o = {0};
    hm_error err = {0};
    hm_mbtiles *mb;
    layer_seen want[] = {
        {"transportation_name", "name", STREET_1, 0},
        {"landcover", "class", "farmland", 0},
    };
    decode_ctx dc = {want, 2, 0, 0, 0, 0, {0, 0, 0}, false};

    snprintf(out, sizeof out, "%s/east.mbtiles", dir);
    o.osm_pbf = pbf;
    o.out_mbtiles = out;
    o.config_dir = config_dir;
    o.bbox = east;
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_OK);
    if (err.code) {
        fprintf(stderr, "bbox build: %s\n", err.msg);
        return;
    }
    CHECK_INT_EQ(stray_files("cuchi.osm.pbf", "cuchi.mbtiles", "east.mbtiles"), 0);
    mb = hm_mbtiles_open(out, &err);
    CHECK(mb && hm_mbtiles_info_get(mb)->has_bounds &&
          fabs(hm_mbtiles_info_get(mb)->bounds[0] - 106.505) < 1e-6);
    if (mb)
        hm_mbtiles_each(mb, 14, decode_tile, &dc, &err);
    CHECK(want[0].found > 0);
    CHECK_INT_EQ(want[1].found, 0);
    hm_mbtiles_close(mb);
    unlink(out);
}

/* An extract without a header bounding box: bounds come from the tiles. */
static void test_no_header_bounds(void)
{
    char osm[300], nb[300], out[300], cmd[1200];
    hm_basemap_build_opts o = {0};
    hm_error err = {0};
    hm_mbtiles *mb;

    snprintf(osm, sizeof osm, "%s/tests/data/basemap/cuchi_synthetic.osm", HM_SOURCE_DIR);
    snprintf(nb, sizeof nb, "%s/nobounds.osm.pbf", dir);
    snprintf(out, sizeof out, "%s/nobounds.mbtiles", dir);
    snprintf(cmd, sizeof cmd, "grep -v '<bounds' '%s' | osmium cat -F osm -o '%s' -", osm, nb);
    CHECK(system(cmd) == 0);
    o.osm_pbf = nb;
    o.out_mbtiles = out;
    o.config_dir = config_dir;
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_OK);
    mb = hm_mbtiles_open(out, &err);
    CHECK(mb != NULL);
    if (mb) {
        const hm_mbtiles_info *in = hm_mbtiles_info_get(mb);
        /* The z14 tiles around the data: a little wider than the data. */
        CHECK(in->has_bounds);
        CHECK(in->bounds[0] <= 106.492 && in->bounds[0] > 106.47);
        CHECK(in->bounds[2] >= 106.53 && in->bounds[2] < 106.55);
        CHECK(in->bounds[1] <= 10.972 && in->bounds[3] >= 10.998);
        CHECK(in->has_center && in->center[2] >= 6 && in->center[2] <= 14);
    }
    hm_mbtiles_close(mb);
    unlink(out);
    unlink(nb);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_errors(const char *out)
{
    static const double bad_bboxes[][4] = {
        {106.53, 10.97, 106.49, 11.0}, /* min > max */
        {-181, 10, 106, 11},
        {106.49, 10.97, 106.49, 11.0}, /* empty */
        {NAN, 10.97, 106.53, 11.0},
    };
    hm_basemap_build_opts o = {0};
    hm_error err = {0};
    char other[300], broken[300], bad_cfg[300], cmd[1200];
    off_t before = file_size(out);

    o.osm_pbf = pbf;
    o.config_dir = config_dir;

    /* An existing output stays as it is without force. */
    o.out_mbtiles = out;
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "out");
    CHECK(strstr(err.msg, "--force") != NULL);
    CHECK(file_size(out) == before);

    /* With force it is replaced. */
    o.force = true;
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_OK);
    CHECK(file_size(out) > 0);
    o.force = false;

    /* A missing tool: unavailable, naming the package; nothing written. */
    snprintf(other, sizeof other, "%s/other.mbtiles", dir);
    o.out_mbtiles = other;
    o.tilemaker = "/nonexistent/tilemaker";
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_UNAVAILABLE);
    CHECK_STR_EQ(err.field, "tilemaker");
    CHECK(strstr(err.msg, "apt-get install tilemaker") != NULL);
    CHECK(access(other, F_OK) != 0);
    o.tilemaker = NULL;
    o.osmium = "/nonexistent/osmium";
    {
        static const double good[4] = {106.49, 10.97, 106.53, 11.0};
        o.bbox = good;
        hm_error_clear(&err);
        CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_UNAVAILABLE);
        CHECK_STR_EQ(err.field, "osmium");
        CHECK(strstr(err.msg, "osmium-tool") != NULL);
    }
    o.osmium = NULL;
    o.bbox = NULL;

    /* A failing tool: its exit status in the message; nothing left behind. */
    o.tilemaker = "false";
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_IO);
    CHECK(strstr(err.msg, "exited with status 1") != NULL);
    CHECK(access(other, F_OK) != 0);
    o.tilemaker = NULL;

    /* A file that is not an .osm.pbf (tilemaker would take it as empty). */
    snprintf(broken, sizeof broken, "%s/broken.osm.pbf", dir);
    {
        FILE *f = fopen(broken, "w");
        fputs("<osm version=\"0.6\"></osm>\n", f);
        fclose(f);
    }
    o.osm_pbf = broken;
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "osm");
    CHECK(strstr(err.msg, "osmium cat") != NULL);
    unlink(broken);
    o.osm_pbf = pbf;

    /* tilemaker failing on a broken profile: its own error comes up. */
    snprintf(bad_cfg, sizeof bad_cfg, "%s/badcfg", dir);
    mkdir(bad_cfg, 0700);
    snprintf(cmd, sizeof cmd,
             "cp '%s/config.json' '%s/' && echo 'function node_function(' > '%s/process.lua'",
             config_dir, bad_cfg, bad_cfg);
    CHECK(system(cmd) == 0);
    o.config_dir = bad_cfg;
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_IO);
    CHECK_STR_EQ(err.field, "tilemaker");
    CHECK(strstr(err.msg, "process.lua") != NULL);
    fprintf(stderr, "broken profile: %s\n", err.msg);
    CHECK(access(other, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", bad_cfg);
    CHECK(system(cmd) == 0);
    o.config_dir = config_dir;

    /* A bbox with no map data in it (the sea off Vũng Tàu). */
    {
        static const double sea[4] = {107.5, 10.0, 107.6, 10.1};
        o.bbox = sea;
        hm_error_clear(&err);
        CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, "osm");
        CHECK(strstr(err.msg, "inside the bbox") != NULL);
        CHECK(access(other, F_OK) != 0);
        o.bbox = NULL;
    }

    for (size_t i = 0; i < sizeof bad_bboxes / sizeof *bad_bboxes; i++) {
        o.bbox = bad_bboxes[i];
        hm_error_clear(&err);
        CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, "bbox");
    }
    o.bbox = NULL;

    /* Input, output name and configuration. */
    o.osm_pbf = "/nonexistent/x.osm.pbf";
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "osm");
    o.osm_pbf = pbf;
    o.out_mbtiles = "/tmp/x.pmtiles";
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "out");
    o.out_mbtiles = other;
    o.config_dir = dir; /* no config.json there */
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_basemap_build(&o, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "config");

    CHECK_INT_EQ(stray_files("cuchi.osm.pbf", "cuchi.mbtiles", NULL), 0);
}

int main(void)
{
    char osm[300], cmd[1200], out[300];
    double build_s = 0;

    (void)gj_int; /* tile_decode.h helpers this test does not need */
    (void)mvt_lint;
    if (!on_path("osmium") || !on_path("tilemaker")) {
        fprintf(stderr, "test_basemap: skipped: needs Debian's osmium-tool and tilemaker\n");
        return HM_TEST_SKIP;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(config_dir, sizeof config_dir, "%s/tiles/basemap", HM_SOURCE_DIR);
    snprintf(osm, sizeof osm, "%s/tests/data/basemap/cuchi_synthetic.osm", HM_SOURCE_DIR);
    snprintf(pbf, sizeof pbf, "%s/cuchi.osm.pbf", dir);
    snprintf(out, sizeof out, "%s/cuchi.mbtiles", dir);
    snprintf(cmd, sizeof cmd, "osmium cat --no-progress -o '%s' '%s'", pbf, osm);
    if (system(cmd) != 0) {
        fprintf(stderr, "osmium cat failed\n");
        return 1;
    }

    test_build(out, &build_s);
    test_bbox();
    test_no_header_bounds();
    test_errors(out);

    unlink(out);
    unlink(pbf);
    rmdir(dir);
    return hm_test_done("test_basemap");
}
