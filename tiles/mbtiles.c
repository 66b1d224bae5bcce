/* mbtiles.c: read-only MBTiles; see mbtiles.h. */
#include "mbtiles.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "basemap_int.h"

/* One pooled connection and its statement; used by one thread at a time. */
typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *get; /* tile_data of one tile */
    struct conn *next;
} conn;

struct hm_mbtiles {
    char *path;
    pthread_mutex_t lock; /* guards `idle` only */
    conn *idle;
    hm_mbtiles_info info; /* its strings are the owned copies below */
    char *name, *description, *attribution, *format, *vector_layers;
};

static int db_error(sqlite3 *db, const char *what, hm_error *err)
{
    return hm_error_set(err, HM_E_DB, NULL, "basemap: %s: %s", what,
                        db ? sqlite3_errmsg(db) : "out of memory");
}

static void conn_close(conn *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->get);
    sqlite3_close(c->db);
    free(c);
}

static conn *conn_open(const char *path, hm_error *err)
{
    conn *c = hm_xcalloc(1, sizeof *c);
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK) {
        db_error(c->db, "open", err);
        goto fail;
    }
    sqlite3_busy_timeout(c->db, 2000);
    rc = sqlite3_prepare_v3(c->db,
                            "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND "
                            "tile_column = ?2 AND tile_row = ?3",
                            -1, SQLITE_PREPARE_PERSISTENT, &c->get, NULL);
    if (rc != SQLITE_OK) {
        if (rc == SQLITE_NOTADB || rc == SQLITE_ERROR)
            hm_error_set(err, HM_E_INVALID_FIELD, "basemap", "basemap: not an MBTiles file: %s",
                         sqlite3_errmsg(c->db));
        else
            db_error(c->db, "prepare", err);
        goto fail;
    }
    return c;
fail:
    conn_close(c);
    return NULL;
}

/* Take an idle connection, or open one when all are busy. */
static conn *conn_take(hm_mbtiles *mb, hm_error *err)
{
    conn *c;

    pthread_mutex_lock(&mb->lock);
    c = mb->idle;
    if (c)
        mb->idle = c->next;
    pthread_mutex_unlock(&mb->lock);
    if (c)
        return c;
    return conn_open(mb->path, err);
}

static void conn_give(hm_mbtiles *mb, conn *c)
{
    pthread_mutex_lock(&mb->lock);
    c->next = mb->idle;
    mb->idle = c;
    pthread_mutex_unlock(&mb->lock);
}

/* Parse "a,b,c[,d]" into n doubles; true when exactly n finite numbers. */
static bool parse_numbers(const char *s, double *v, int n)
{
    char *end;

    for (int i = 0; i < n; i++) {
        if (!s)
            return false;
        v[i] = strtod(s, &end);
        if (end == s || !isfinite(v[i]))
            return false;
        while (*end == ' ')
            end++;
        if (i + 1 < n) {
            if (*end != ',')
                return false;
            s = end + 1;
        } else if (*end != '\0') {
            return false;
        }
    }
    return true;
}

static char *dup_col(sqlite3_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    return t ? hm_xstrdup((const char *)t) : NULL;
}

static int read_metadata(hm_mbtiles *mb, sqlite3 *db, hm_error *err)
{
    sqlite3_stmt *q = NULL;
    hm_mbtiles_info *in = &mb->info;
    char *bounds = NULL, *center = NULL, *json = NULL;
    int minzoom = -1, maxzoom = -1, rc = HM_OK, s;

    if (sqlite3_prepare_v2(db, "SELECT name, value FROM metadata", -1, &q, NULL) != SQLITE_OK) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "basemap",
                          "basemap: not an MBTiles file (no metadata table)");
        goto out;
    }
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0);
        if (!k)
            continue;
        if (!strcmp(k, "name") && !mb->name)
            mb->name = dup_col(q, 1);
        else if (!strcmp(k, "description") && !mb->description)
            mb->description = dup_col(q, 1);
        else if (!strcmp(k, "attribution") && !mb->attribution)
            mb->attribution = dup_col(q, 1);
        else if (!strcmp(k, "format") && !mb->format)
            mb->format = dup_col(q, 1);
        else if (!strcmp(k, "bounds") && !bounds)
            bounds = dup_col(q, 1);
        else if (!strcmp(k, "center") && !center)
            center = dup_col(q, 1);
        else if (!strcmp(k, "json") && !json)
            json = dup_col(q, 1);
        else if (!strcmp(k, "minzoom"))
            minzoom = sqlite3_column_int(q, 1);
        else if (!strcmp(k, "maxzoom"))
            maxzoom = sqlite3_column_int(q, 1);
    }
    if (s != SQLITE_DONE) {
        rc = db_error(db, "metadata", err);
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;

    if (mb->format && strcmp(mb->format, "pbf") != 0) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "basemap",
                          "basemap: tiles of format \"%.20s\", not vector tiles (pbf)", mb->format);
        goto out;
    }
    if (minzoom < 0 || maxzoom < minzoom || maxzoom > HM_TILE_MAX_ZOOM) {
        /* Missing or odd zoom rows: take them from the tiles themselves. */
        if (sqlite3_prepare_v2(db, "SELECT min(zoom_level), max(zoom_level) FROM tiles", -1, &q,
                               NULL) != SQLITE_OK ||
            sqlite3_step(q) != SQLITE_ROW) {
            rc = db_error(db, "zoom range", err);
            goto out;
        }
        minzoom = sqlite3_column_type(q, 0) == SQLITE_NULL ? 0 : sqlite3_column_int(q, 0);
        maxzoom = sqlite3_column_type(q, 1) == SQLITE_NULL ? 0 : sqlite3_column_int(q, 1);
        if (minzoom < 0 || maxzoom > HM_TILE_MAX_ZOOM || minzoom > maxzoom)
            minzoom = maxzoom = 0;
    }
    in->minzoom = minzoom;
    in->maxzoom = maxzoom;

    in->has_bounds = parse_numbers(bounds, in->bounds, 4) && in->bounds[0] >= -180.0 &&
                     in->bounds[2] <= 180.0 && in->bounds[1] >= -90.0 && in->bounds[3] <= 90.0 &&
                     in->bounds[0] < in->bounds[2] && in->bounds[1] < in->bounds[3];
    in->has_center = parse_numbers(center, in->center, 3) && fabs(in->center[0]) <= 180.0 &&
                     fabs(in->center[1]) <= 90.0;
    if (!in->has_center && in->has_bounds) {
        in->center[0] = (in->bounds[0] + in->bounds[2]) / 2.0;
        in->center[1] = (in->bounds[1] + in->bounds[3]) / 2.0;
        in->center[2] = minzoom;
        in->has_center = true;
    }
    if (in->has_center)
        in->center[2] = fmin(fmax(round(in->center[2]), minzoom), maxzoom);

    if (json) {
        json_t *root = json_loads(json, 0, NULL), *vl = json_object_get(root, "vector_layers");
        if (json_is_array(vl))
            mb->vector_layers = json_dumps(vl, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(root);
    }
    in->name = mb->name;
    in->description = mb->description;
    in->attribution = mb->attribution;
    in->format = mb->format ? mb->format : "pbf";
    in->vector_layers = mb->vector_layers;
out:
    sqlite3_finalize(q);
    free(bounds);
    free(center);
    free(json);
    return rc;
}

hm_mbtiles *hm_mbtiles_open(const char *path, hm_error *err)
{
    hm_mbtiles *mb = NULL;
    conn *c = NULL;
    struct stat st;

    if (!path || stat(path, &st) != 0) {
        hm_error_set(err, HM_E_NOT_FOUND, "basemap", "basemap: %.100s: %s", path ? path : "(null)",
                     strerror(path ? errno : EINVAL));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        hm_error_set(err, HM_E_INVALID_FIELD, "basemap", "basemap: %.100s is not a file", path);
        return NULL;
    }
    mb = hm_xcalloc(1, sizeof *mb);
    mb->path = hm_xstrdup(path);
    pthread_mutex_init(&mb->lock, NULL);
    c = conn_open(path, err);
    if (!c || read_metadata(mb, c->db, err) != HM_OK)
        goto fail;
    conn_give(mb, c);
    return mb;
fail:
    conn_close(c);
    hm_mbtiles_close(mb);
    return NULL;
}

void hm_mbtiles_close(hm_mbtiles *mb)
{
    if (!mb)
        return;
    while (mb->idle) {
        conn *c = mb->idle;
        mb->idle = c->next;
        conn_close(c);
    }
    pthread_mutex_destroy(&mb->lock);
    free(mb->name);
    free(mb->description);
    free(mb->attribution);
    free(mb->format);
    free(mb->vector_layers);
    free(mb->path);
    free(mb);
}

const hm_mbtiles_info *hm_mbtiles_info_get(const hm_mbtiles *mb)
{
    return &mb->info;
}

static hm_mbtiles_encoding sniff(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return HM_MBTILES_GZIP;
    /* A tile's protobuf starts with field 3 (0x1a); a zlib header with 0x78. */
    if (n >= 2 && p[0] == 0x78 && ((p[0] << 8) | p[1]) % 31 == 0)
        return HM_MBTILES_ZLIB;
    return HM_MBTILES_RAW;
}

static void set_blob(hm_mbtiles_blob *b, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    b->data = hm_xmalloc(len ? len : 1);
    if (len)
        memcpy(b->data, data, len);
    b->len = len;
    b->encoding = sniff(p, len);
    snprintf(b->etag, sizeof b->etag, "\"b-%016llx\"", (unsigned long long)h);
}

int hm_mbtiles_tile_get(hm_mbtiles *mb, const hm_tile *t, hm_mbtiles_blob *out, hm_error *err)
{
    conn *c = NULL;
    sqlite3_stmt *q;
    int rc = HM_OK, s;

    if (!hm_tile_valid(t))
        return hm_error_set(err, HM_E_INVALID_FIELD,
                            t->z < 0 || t->z > HM_TILE_MAX_ZOOM ? "z"
                            : t->x >= (1u << t->z)              ? "x"
                                                                : "y",
                            "tile out of range");
    c = conn_take(mb, err);
    if (!c)
        return err ? err->code : HM_E_DB;
    q = c->get;
    if (sqlite3_bind_int(q, 1, t->z) != SQLITE_OK ||
        sqlite3_bind_int64(q, 2, (sqlite3_int64)t->x) != SQLITE_OK ||
        sqlite3_bind_int64(q, 3, ((sqlite3_int64)1 << t->z) - 1 - (sqlite3_int64)t->y) !=
            SQLITE_OK) {
        rc = db_error(c->db, "bind", err);
        goto out;
    }
    s = sqlite3_step(q);
    if (s == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(q, 0);
        int n = sqlite3_column_bytes(q, 0);
        if (n <= 0 || !p) /* stored as NULL or empty: nothing to draw */
            rc = hm_error_set(err, HM_E_NOT_FOUND, "tile", "empty tile");
        else
            set_blob(out, p, (size_t)n);
    } else if (s == SQLITE_DONE) {
        rc = hm_error_set(err, HM_E_NOT_FOUND, "tile", "no such tile");
    } else {
        rc = db_error(c->db, "read tile", err);
    }
out:
    sqlite3_reset(q);
    conn_give(mb, c);
    return rc;
}

void hm_mbtiles_blob_clear(hm_mbtiles_blob *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int hm_mbtiles_each(hm_mbtiles *mb, int z, hm_mbtiles_tile_fn fn, void *ctx, hm_error *err)
{
    conn *c = NULL;
    sqlite3_stmt *q = NULL;
    int rc = HM_OK, s;

    if (z < 0 || z > HM_TILE_MAX_ZOOM)
        return hm_error_set(err, HM_E_INVALID_FIELD, "z", "zoom out of range");
    c = conn_take(mb, err);
    if (!c)
        return err ? err->code : HM_E_DB;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT tile_column, tile_row, tile_data FROM tiles "
                           "WHERE zoom_level = ?1 ORDER BY tile_column, tile_row DESC",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_bind_int(q, 1, z) != SQLITE_OK) {
        rc = db_error(c->db, "tiles", err);
        goto out;
    }
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        sqlite3_int64 x = sqlite3_column_int64(q, 0), row = sqlite3_column_int64(q, 1);
        const void *p = sqlite3_column_blob(q, 2);
        int n = sqlite3_column_bytes(q, 2);
        hm_mbtiles_blob b = {0};
        hm_tile t;

        if (x < 0 || row < 0 || x >= ((sqlite3_int64)1 << z) || row >= ((sqlite3_int64)1 << z) ||
            n <= 0 || !p)
            continue;
        t.z = z;
        t.x = (uint32_t)x;
        t.y = (uint32_t)(((sqlite3_int64)1 << z) - 1 - row);
        b.data = (void *)p;
        b.len = (size_t)n;
        b.encoding = sniff(p, (size_t)n);
        rc = fn(&t, &b, ctx);
        if (rc != HM_OK)
            goto out;
    }
    if (s != SQLITE_DONE)
        rc = db_error(c->db, "tiles", err);
out:
    sqlite3_finalize(q);
    conn_give(mb, c);
    return rc;
}

int hm_basemap__base_url(const char *base_url, hm_buf *out, hm_error *err)
{
    const char *host;
    size_t n;

    if (!base_url || !*base_url)
        return HM_OK;
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "base_url",
                            "base URL must start with http:// or https://");
    n = strlen(base_url);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)base_url[i];
        if (ch <= ' ' || ch == 0x7f || ch == '?' || ch == '#' || ch == '"' || ch == '\'' ||
            ch == '<' || ch == '>' || ch == '\\' || ch == '{' || ch == '}')
            return hm_error_set(err, HM_E_INVALID_FIELD, "base_url",
                                "base URL must be scheme, host, port and path only");
    }
    host = base_url + (base_url[4] == 's' ? 8 : 7);
    if (*host == '\0' || *host == '/')
        return hm_error_set(err, HM_E_INVALID_FIELD, "base_url", "base URL without a host");
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    hm_buf_append(out, base_url, n);
    return HM_OK;
}

int hm_mbtiles_tilejson(const hm_mbtiles *mb, const char *base_url, hm_buf *out, hm_error *err)
{
    const hm_mbtiles_info *in = &mb->info;
    json_t *root = NULL, *vl = NULL, *a;
    hm_buf url;
    char *text = NULL;
    int rc;

    hm_buf_init(&url);
    rc = hm_basemap__base_url(base_url, &url, err);
    if (rc != HM_OK)
        goto out;
    hm_buf_puts(&url, "/tiles/basemap/{z}/{x}/{y}.mvt");

    root = json_object();
    if (!root) {
        rc = hm_error_set(err, HM_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    json_object_set_new(root, "tilejson", json_string("3.0.0"));
    json_object_set_new(root, "name", json_string(in->name ? in->name : "basemap"));
    if (in->description)
        json_object_set_new(root, "description", json_string(in->description));
    if (in->attribution)
        json_object_set_new(root, "attribution", json_string(in->attribution));
    json_object_set_new(root, "scheme", json_string("xyz"));
    a = json_array();
    json_array_append_new(a, json_string(url.data));
    json_object_set_new(root, "tiles", a);
    json_object_set_new(root, "minzoom", json_integer(in->minzoom));
    json_object_set_new(root, "maxzoom", json_integer(in->maxzoom));
    if (in->has_bounds) {
        a = json_array();
        for (int i = 0; i < 4; i++)
            json_array_append_new(a, json_real(in->bounds[i]));
        json_object_set_new(root, "bounds", a);
    }
    if (in->has_center) {
        a = json_array();
        json_array_append_new(a, json_real(in->center[0]));
        json_array_append_new(a, json_real(in->center[1]));
        json_array_append_new(a, json_integer((json_int_t)in->center[2]));
        json_object_set_new(root, "center", a);
    }
    vl = in->vector_layers ? json_loads(in->vector_layers, 0, NULL) : NULL;
    json_object_set_new(root, "vector_layers", vl ? vl : json_array());

    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (!text) {
        rc = hm_error_set(err, HM_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    hm_buf_puts(out, text);
out:
    free(text);
    json_decref(root);
    hm_buf_clear(&url);
    return rc;
}

int hm_mbtiles_inflate(const void *data, size_t len, size_t max_len, hm_buf *out, hm_error *err)
{
    z_stream zs;
    size_t start = out->len;
    int zrc;

    if (max_len == 0)
        max_len = (size_t)64 << 20;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* gzip or zlib header */
        return hm_error_set(err, HM_E_NOMEM, NULL, "inflateInit2 failed");
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    do {
        size_t room;
        if (out->len - start >= max_len) {
            zrc = Z_BUF_ERROR;
            break;
        }
        hm_buf_reserve(out, 65536);
        room = out->cap - out->len - 1;
        if (room > max_len - (out->len - start))
            room = max_len - (out->len - start);
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)room;
        zrc = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        out->data[out->len] = '\0';
    } while (zrc == Z_OK);
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return hm_error_set(err, HM_E_INVALID_FIELD, "tile",
                            "corrupt or oversized compressed tile");
    }
    return HM_OK;
}
