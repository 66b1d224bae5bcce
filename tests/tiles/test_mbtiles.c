/* test_mbtiles.c: the MBTiles reader on files written here with SQLite -
 * metadata, the TMS row flip, stored bytes and their encoding, ETags, 204
 * for a missing tile and 400 for one out of range, the walk over a zoom,
 * TileJSON with a relative and an absolute base URL, files that are not
 * vector MBTiles, and many threads reading at once. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "hm_test.h"
#include "mbtiles.h"

static char dir[] = "/tmp/hm_mbtiles_XXXXXX";

static size_t gzip(const void *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    return cap - zs.avail_out;
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sql: %s: %s\n", sql, msg);
        exit(1);
    }
}

static void put_tile(sqlite3 *db, int z, int x, int row, const void *data, size_t n)
{
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)", -1, &q, NULL);
    sqlite3_bind_int(q, 1, z);
    sqlite3_bind_int(q, 2, x);
    sqlite3_bind_int(q, 3, row);
    sqlite3_bind_blob(q, 4, data, (int)n, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        exit(1);
    sqlite3_finalize(q);
}

/* Tile payloads: a "protobuf" that starts like a tile's (field 3). */
static const char raw_a[] = "\x1a\x05layer-a";
static const char raw_b[] = "\x1a\x05layer-b";

/* A vector MBTiles: z14 tile (13107, 7589) gzip, its neighbour raw. */
static void make_file(const char *path, const char *format, bool with_meta)
{
    sqlite3 *db;
    unsigned char gz[256];
    size_t n = gzip(raw_a, sizeof raw_a - 1, gz, sizeof gz);
    char sql[512];

    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    exec_sql(db, "CREATE TABLE metadata (name text, value text);"
                 "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
                 "tile_data blob);");
    if (with_meta) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO metadata VALUES ('name', 'Test map'), ('format', '%s'), "
                 "('minzoom', '6'), ('maxzoom', '14'), "
                 "('bounds', '106.49,10.97,106.53,11.0'), ('center', '106.51,10.985,10'), "
                 "('attribution', '&copy; OpenStreetMap contributors'), "
                 "('json', '{\"vector_layers\":[{\"id\":\"transportation\",\"fields\":"
                 "{\"class\":\"String\"},\"minzoom\":6,\"maxzoom\":14}]}')",
                 format);
        exec_sql(db, sql);
    }
    /* XYZ y 7589 at z14 is TMS row 16383 - 7589 = 8794. */
    put_tile(db, 14, 13107, 8794, gz, n);
    put_tile(db, 14, 13108, 8794, raw_b, sizeof raw_b - 1);
    put_tile(db, 13, 6553, 4397, raw_b, sizeof raw_b - 1);
    put_tile(db, 14, 13107, 8793, "", 0); /* empty blob: nothing to draw */
    sqlite3_close(db);
}

static void test_read(const char *path)
{
    hm_error err = {0};
    hm_mbtiles *mb = hm_mbtiles_open(path, &err);
    const hm_mbtiles_info *in;
    hm_mbtiles_blob a = {0}, b = {0}, a2 = {0}, none = {0};
    hm_tile ta = {14, 13107, 7589}, tb = {14, 13108, 7589}, tmiss = {14, 1, 1};
    hm_tile tempty = {14, 13107, 7590}, bad = {14, 16384, 0}, badz = {23, 0, 0};
    hm_buf raw;

    CHECK(mb != NULL);
    if (!mb) {
        fprintf(stderr, "open: %s\n", err.msg);
        return;
    }
    in = hm_mbtiles_info_get(mb);
    CHECK_STR_EQ(in->name, "Test map");
    CHECK_STR_EQ(in->format, "pbf");
    CHECK_STR_EQ(in->attribution, "&copy; OpenStreetMap contributors");
    CHECK_INT_EQ(in->minzoom, 6);
    CHECK_INT_EQ(in->maxzoom, 14);
    CHECK(in->has_bounds && in->bounds[0] == 106.49 && in->bounds[3] == 11.0);
    CHECK(in->has_center && in->center[2] == 10.0);
    CHECK(in->vector_layers && strstr(in->vector_layers, "\"transportation\""));

    /* XYZ in, TMS row flipped inside: the stored gzip bytes come back. */
    CHECK_INT_EQ(hm_mbtiles_tile_get(mb, &ta, &a, &err), HM_OK);
    CHECK_INT_EQ(a.encoding, HM_MBTILES_GZIP);
    hm_buf_init(&raw);
    CHECK_INT_EQ(hm_mbtiles_inflate(a.data, a.len, 0, &raw, &err), HM_OK);
    CHECK(raw.len == sizeof raw_a - 1 && memcmp(raw.data, raw_a, raw.len) == 0);
    hm_buf_clear(&raw);
    CHECK_INT_EQ(hm_mbtiles_tile_get(mb, &tb, &b, &err), HM_OK);
    CHECK_INT_EQ(b.encoding, HM_MBTILES_RAW);
    CHECK(b.len == sizeof raw_b - 1 && memcmp(b.data, raw_b, b.len) == 0);
    /* ETags: quoted, the same for the same bytes, different for others. */
    CHECK_INT_EQ(hm_mbtiles_tile_get(mb, &ta, &a2, &err), HM_OK);
    CHECK_STR_EQ(a.etag, a2.etag);
    CHECK(strcmp(a.etag, b.etag) != 0);
    CHECK(a.etag[0] == '"' && a.etag[strlen(a.etag) - 1] == '"');

    /* Missing and empty tiles: not found (the edge answers 204). */
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_mbtiles_tile_get(mb, &tmiss, &none, &err), HM_E_NOT_FOUND);
    CHECK_STR_EQ(err.field, "tile");
    CHECK(none.data == NULL);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_mbtiles_tile_get(mb, &tempty, &none, &err), HM_E_NOT_FOUND);
    /* Out of range: invalid field (400). */
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_mbtiles_tile_get(mb, &bad, &none, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "x");
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_mbtiles_tile_get(mb, &badz, &none, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "z");

    hm_mbtiles_blob_clear(&a);
    hm_mbtiles_blob_clear(&a2);
    hm_mbtiles_blob_clear(&b);
    hm_mbtiles_close(mb);
}

typedef struct walk {
    int n;
    hm_tile seen[8];
} walk;

static int on_tile(const hm_tile *t, const hm_mbtiles_blob *b, void *ctx)
{
    walk *w = ctx;
    (void)b;
    if (w->n < 8)
        w->seen[w->n] = *t;
    w->n++;
    return HM_OK;
}

static int stop_at_first(const hm_tile *t, const hm_mbtiles_blob *b, void *ctx)
{
    (void)t;
    (void)b;
    (void)ctx;
    return HM_E_INTERNAL;
}

static void test_each(const char *path)
{
    hm_error err = {0};
    hm_mbtiles *mb = hm_mbtiles_open(path, &err);
    walk w = {0};

    CHECK_INT_EQ(hm_mbtiles_each(mb, 14, on_tile, &w, &err), HM_OK);
    CHECK_INT_EQ(w.n, 2); /* the empty blob is skipped */
    CHECK(w.seen[0].x == 13107 && w.seen[0].y == 7589 && w.seen[0].z == 14);
    CHECK(w.seen[1].x == 13108 && w.seen[1].y == 7589);
    CHECK_INT_EQ(hm_mbtiles_each(mb, 14, stop_at_first, NULL, &err), HM_E_INTERNAL);
    hm_mbtiles_close(mb);
}

static json_t *tilejson(const char *path, const char *base, int *rc, hm_error *err)
{
    hm_mbtiles *mb = hm_mbtiles_open(path, err);
    hm_buf out;
    json_t *doc = NULL;

    hm_buf_init(&out);
    *rc = hm_mbtiles_tilejson(mb, base, &out, err);
    if (*rc == HM_OK)
        doc = json_loads(out.data, 0, NULL);
    else
        CHECK(out.len == 0);
    hm_buf_clear(&out);
    hm_mbtiles_close(mb);
    return doc;
}

static void test_tilejson(const char *path)
{
    static const struct {
        const char *base, *want_tiles;
    } ok[] = {
        {NULL, "/tiles/basemap/{z}/{x}/{y}.mvt"},
        {"", "/tiles/basemap/{z}/{x}/{y}.mvt"},
        {"http://127.0.0.1:8080", "http://127.0.0.1:8080/tiles/basemap/{z}/{x}/{y}.mvt"},
        {"https://map.example.org/helpmap/",
         "https://map.example.org/helpmap/tiles/basemap/{z}/{x}/{y}.mvt"},
    };
    static const char *const bad[] = {"ftp://x",     "http://",       "https:///x",
                                      "http://a b",  "http://x/?q=1", "http://x/#f",
                                      "http://x\"y", "//host.example"};
    hm_error err = {0};
    json_t *doc, *vl;
    int rc;

    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        doc = tilejson(path, ok[i].base, &rc, &err);
        CHECK_INT_EQ(rc, HM_OK);
        CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(doc, "tiles"), 0)),
                     ok[i].want_tiles);
        json_decref(doc);
    }
    doc = tilejson(path, "http://127.0.0.1:8080", &rc, &err);
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "tilejson")), "3.0.0");
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "scheme")), "xyz");
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "name")), "Test map");
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "attribution")),
                 "&copy; OpenStreetMap contributors");
    CHECK_INT_EQ(json_integer_value(json_object_get(doc, "minzoom")), 6);
    CHECK_INT_EQ(json_integer_value(json_object_get(doc, "maxzoom")), 14);
    CHECK(fabs(json_number_value(json_array_get(json_object_get(doc, "bounds"), 2)) - 106.53) <
          1e-9);
    CHECK_INT_EQ(json_integer_value(json_array_get(json_object_get(doc, "center"), 2)), 10);
    vl = json_object_get(doc, "vector_layers");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(vl, 0), "id")), "transportation");
    json_decref(doc);

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hm_error_clear(&err);
        doc = tilejson(path, bad[i], &rc, &err);
        CHECK_INT_EQ(rc, HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, "base_url");
        CHECK(doc == NULL);
    }
}

/* No metadata rows: zooms from the tiles, format taken as pbf, no bounds. */
static void test_no_metadata(const char *path)
{
    hm_error err = {0};
    hm_mbtiles *mb;
    const hm_mbtiles_info *in;

    make_file(path, "pbf", false);
    mb = hm_mbtiles_open(path, &err);
    CHECK(mb != NULL);
    if (!mb)
        return;
    in = hm_mbtiles_info_get(mb);
    CHECK_INT_EQ(in->minzoom, 13);
    CHECK_INT_EQ(in->maxzoom, 14);
    CHECK(!in->has_bounds && !in->has_center);
    CHECK(in->name == NULL && in->vector_layers == NULL);
    hm_mbtiles_close(mb);
}

static void test_not_vector_mbtiles(void)
{
    char path[128];
    hm_error err = {0};
    FILE *f;

    snprintf(path, sizeof path, "%s/missing.mbtiles", dir);
    CHECK(hm_mbtiles_open(path, &err) == NULL);
    CHECK_INT_EQ(err.code, HM_E_NOT_FOUND);
    CHECK_STR_EQ(err.field, "basemap");

    snprintf(path, sizeof path, "%s/text.mbtiles", dir);
    f = fopen(path, "w");
    fputs("this is not a database, just text long enough to be read as a header......\n", f);
    fclose(f);
    hm_error_clear(&err);
    CHECK(hm_mbtiles_open(path, &err) == NULL);
    CHECK_INT_EQ(err.code, HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "basemap");

    snprintf(path, sizeof path, "%s/raster.mbtiles", dir);
    make_file(path, "png", true);
    hm_error_clear(&err);
    CHECK(hm_mbtiles_open(path, &err) == NULL);
    CHECK_INT_EQ(err.code, HM_E_INVALID_FIELD);
    CHECK(strstr(err.msg, "png") != NULL);

    hm_error_clear(&err);
    CHECK(hm_mbtiles_open(dir, &err) == NULL); /* a folder */
    CHECK_INT_EQ(err.code, HM_E_INVALID_FIELD);
}

/* Many threads read at once, each tile checked against its bytes. */
typedef struct reader {
    hm_mbtiles *mb;
    int failures;
} reader;

static void *read_many(void *arg)
{
    reader *r = arg;
    hm_tile ta = {14, 13107, 7589}, tb = {14, 13108, 7589}, tm = {14, 5, 5};
    for (int i = 0; i < 2000; i++) {
        hm_mbtiles_blob b = {0};
        hm_error err = {0};
        const hm_tile *t = i % 3 == 0 ? &ta : i % 3 == 1 ? &tb : &tm;
        int rc = hm_mbtiles_tile_get(r->mb, t, &b, &err);
        if (t == &tm ? rc != HM_E_NOT_FOUND
                     : rc != HM_OK || (t == &tb && (b.len != sizeof raw_b - 1 ||
                                                    memcmp(b.data, raw_b, b.len) != 0)))
            r->failures++;
        hm_mbtiles_blob_clear(&b);
    }
    return NULL;
}

static void test_threads(const char *path)
{
    hm_error err = {0};
    hm_mbtiles *mb = hm_mbtiles_open(path, &err);
    pthread_t th[8];
    reader r[8];

    for (int i = 0; i < 8; i++) {
        r[i].mb = mb;
        r[i].failures = 0;
        pthread_create(&th[i], NULL, read_many, &r[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(r[i].failures, 0);
    }
    hm_mbtiles_close(mb);
}

static void test_inflate_errors(void)
{
    hm_buf out;
    hm_error err = {0};
    unsigned char gz[256], big[4096];
    size_t n;

    hm_buf_init(&out);
    CHECK_INT_EQ(hm_mbtiles_inflate("\x1f\x8b\x08garbage", 10, 0, &out, &err), HM_E_INVALID_FIELD);
    CHECK(out.len == 0);
    memset(big, 'x', sizeof big);
    n = gzip(big, sizeof big, gz, sizeof gz);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_mbtiles_inflate(gz, n, 1000, &out, &err), HM_E_INVALID_FIELD); /* too big */
    CHECK(out.len == 0);
    CHECK_INT_EQ(hm_mbtiles_inflate(gz, n, 0, &out, &err), HM_OK);
    CHECK_INT_EQ(out.len, sizeof big);
    hm_buf_clear(&out);
}

int main(void)
{
    char path[128];

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/t.mbtiles", dir);
    make_file(path, "pbf", true);
    test_read(path);
    test_each(path);
    test_tilejson(path);
    test_threads(path);
    test_not_vector_mbtiles();
    test_inflate_errors();
    test_no_metadata(path);

    unlink(path);
    snprintf(path, sizeof path, "%s/text.mbtiles", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/raster.mbtiles", dir);
    unlink(path);
    rmdir(dir);
    return hm_test_done("test_mbtiles");
}
