/* api_tiles.c: GET /tiles/{layer}/{z}/{x}/{y}.mvt and /tiles/{layer}.json —
 * the store's requests and areas through the tiles/ encoder and cache.
 * Public fields only; positions on the public grid. */
#include "api.h"

#include "areacount.h"
#include "cache.h"
#include "model.h"
#include "mvt.h"
#include "present.h"
#include "service.h"
#include "tile.h"
#include "tilejson.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

typedef struct pts_ctx {
    hm_mvt_points *enc;
} pts_ctx;

static int add_point(void *ctx, const hm_request *r)
{
    pts_ctx *c = ctx;
    hm_mvt_point p;
    p.id = r->id;
    p.lon = hm_snap(r->lon);
    p.lat = hm_snap(r->lat);
    p.code = r->code;
    p.category = hm_category_name(r->category);
    p.status = hm_status_name(r->status);
    p.priority = hm_priority_name(r->priority);
    p.ward_code = r->ward_code;
    p.people = r->people;
    p.verified = r->verified;
    p.created_at = r->created_at / 1000;
    hm_mvt_points_add(c->enc, &p);
    return 0;
}

typedef struct areas_ctx {
    hm_area_counts counts;
    hm_mvt_area *a;
    char **strings;
    unsigned char **blobs;
    size_t na, capa;
    double bbox[4];
    hm_level level;
} areas_ctx;

static int area_cb(void *ctx, const hm_area_row *row)
{
    areas_ctx *a = ctx;
    hm_mvt_area *m;
    if (row->bbox[2] < a->bbox[0] || row->bbox[0] > a->bbox[2] || row->bbox[3] < a->bbox[1] ||
        row->bbox[1] > a->bbox[3])
        return 0;
    if (a->na == a->capa) {
        a->capa = a->capa ? a->capa * 2 : 16;
        a->a = hm_xrealloc(a->a, a->capa * sizeof *a->a);
        a->strings = hm_xrealloc(a->strings, a->capa * 3 * sizeof *a->strings);
        a->blobs = hm_xrealloc(a->blobs, a->capa * sizeof *a->blobs);
    }
    m = &a->a[a->na];
    memset(m, 0, sizeof *m);
    a->strings[3 * a->na] = hm_xstrdup(row->code);
    a->strings[3 * a->na + 1] = hm_xstrdup(row->name);
    a->strings[3 * a->na + 2] = row->parent_code[0] ? hm_xstrdup(row->parent_code) : NULL;
    a->blobs[a->na] = hm_xmalloc(row->wkb_len);
    memcpy(a->blobs[a->na], row->wkb, row->wkb_len);
    m->code = a->strings[3 * a->na];
    m->name = a->strings[3 * a->na + 1];
    m->parent_code = a->strings[3 * a->na + 2];
    m->level = hm_level_name(a->level);
    m->wkb = a->blobs[a->na];
    m->wkb_len = row->wkb_len;
    {
        const hm_area_count *c = hm_area_counts_find(&a->counts, row->code);
        m->open = (int)hm_area_count_open(c);
        m->resolved = (int)c->by_status[HM_ST_RESOLVED];
        for (int i = 0; i < HM_CAT__COUNT; i++)
            m->open_by_category[i] = (int)c->open_by_cat[i];
    }
    a->na++;
    return 0;
}

static void areas_clear(areas_ctx *a)
{
    for (size_t i = 0; i < a->na; i++) {
        free(a->strings[3 * i]);
        free(a->strings[3 * i + 1]);
        free(a->strings[3 * i + 2]);
        free(a->blobs[i]);
    }
    free(a->a);
    free(a->strings);
    free(a->blobs);
    hm_area_counts_clear(&a->counts);
}

/* The canonical filter string of a requests tile: part of the cache key. */
static int tile_filter(hm_req *r, hm_request_filter *f, char *canon, size_t size, hm_error *err)
{
    const char *status = hm_http_arg(r, "status"), *cat = hm_http_arg(r, "category");
    const char *since = hm_http_arg(r, "since");
    int hm_api_parse_status_filter(const char *s, unsigned *mask, hm_error *err);

    memset(f, 0, sizeof *f);
    f->category = -1;
    f->verified = -1;
    if (hm_api_parse_status_filter(status, &f->status_mask, err))
        return err->code;
    if (cat && (f->category = hm_category_parse(cat)) < 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "category", "unknown category");
    if (since && hm_time_parse(since, &f->since_ms))
        return hm_error_set(err, HM_E_INVALID_FIELD, "since", "since must be an RFC 3339 time");
    snprintf(canon, size, "status=%s&category=%s&since=%lld", status ? status : "open",
             cat ? cat : "", (long long)f->since_ms);
    return HM_OK;
}

static void release_blob(void *cls)
{
    hm_tile_blob_release(cls);
}

static enum MHD_Result send_blob(hm_req *r, hm_tile_blob *b)
{
    const char *inm = hm_http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    const char *ae = hm_http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    bool gz = ae && strstr(ae, "gzip") && b->gz_len > 0;
    const char *hdrs[11];
    int n = 0;
    enum MHD_Result ret;

    hdrs[n++] = "Cache-Control";
    hdrs[n++] = "public, max-age=5, must-revalidate";
    hdrs[n++] = "Access-Control-Allow-Origin";
    hdrs[n++] = "*";
    hdrs[n++] = "Vary";
    hdrs[n++] = "Accept-Encoding";
    if (b->len == 0) {
        hdrs[n] = NULL;
        ret = hm_http_bytes(r, 204, NULL, (void *)"", 0, false, hdrs);
    } else if (hm_tile_blob_etag_match(b, inm)) {
        hdrs[n++] = "ETag";
        hdrs[n++] = gz ? b->etag_gz : b->etag;
        hdrs[n] = NULL;
        ret = hm_http_bytes(r, 304, NULL, (void *)"", 0, false, hdrs);
    } else {
        hdrs[n++] = "ETag";
        hdrs[n++] = gz ? b->etag_gz : b->etag;
        if (gz) {
            hdrs[n++] = "Content-Encoding";
            hdrs[n++] = "gzip";
        }
        hdrs[n] = NULL;
        /* The answer borrows the blob's bytes and holds a reference until MHD is done. */
        ret = hm_http_borrowed(r, 200, "application/vnd.mapbox-vector-tile", gz ? b->gz : b->data,
                               gz ? b->gz_len : b->len, release_blob, hm_tile_blob_ref(b), hdrs);
    }
    hm_tile_blob_release(b);
    return ret;
}

enum MHD_Result hm_api_tile(hm_req *r)
{
    hm_error err = {0};
    hm_tile_path tp;
    hm_worker *w;
    hm_request_filter f;
    char canon[160] = "";
    hm_tile_key key;
    hm_tile_blob *b;
    hm_buf out;
    hm_mvt_options opt;
    uint64_t gen;
    int rc;

    if (hm_tile_path_parse(r->url + 7, strlen(r->url + 7), &tp, &err))
        return hm_http_error(r, &err);
    if (tp.tilejson)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "no such tile");
    if (tp.layer == HM_TILE_REQUESTS && tile_filter(r, &f, canon, sizeof canon, &err))
        return hm_http_error(r, &err);
    key.layer = tp.layer;
    key.tile = tp.tile;
    key.filter = canon;
    if ((b = hm_tile_cache_get(r->app->tiles, &key)))
        return send_blob(r, b);
    if (!(w = hm_worker_get(&err)))
        return hm_http_error(r, &err);
    gen = hm_tile_cache_generation(r->app->tiles);
    hm_mvt_options_init(&opt);
    hm_buf_init(&out);
    if (tp.layer == HM_TILE_REQUESTS) {
        pts_ctx pc;
        f.has_bbox = true;
        hm_mvt_points_bounds(&tp.tile, &opt, f.bbox);
        /* Snapping moves a point by up to 0.0005 degrees: widen the query. */
        f.bbox[0] -= 0.0005, f.bbox[1] -= 0.0005, f.bbox[2] += 0.0005, f.bbox[3] += 0.0005;
        if (!(pc.enc = hm_mvt_points_create(&tp.tile, &opt, &err)))
            return hm_http_error(r, &err);
        /* Open requests come from the in-memory index (issue 7: a z10 tile covers the whole
         * district); other statuses from the database. */
        rc = hm_svc_open_list(r->app, &f, false, add_point, &pc);
        if (rc == HM_E_NOT_FOUND)
            rc = hm_store_request_list(w->store, &f, add_point, &pc, &err);
        if (!rc)
            rc = hm_mvt_points_finish(pc.enc, &out, &err);
        hm_mvt_points_destroy(pc.enc);
    } else {
        areas_ctx ac;
        static const hm_level levels[] = {HM_LEVEL_WARD, HM_LEVEL_WARD, HM_LEVEL_FORMER_WARD,
                                          HM_LEVEL_HAMLET};
        memset(&ac, 0, sizeof ac);
        ac.level = levels[tp.layer];
        hm_tile_bounds_buffered(&tp.tile, 0.05, ac.bbox);
        hm_tally_areas(r->app->tally, ac.level, &ac.counts);
        rc = hm_store_area_list(w->store, (int)ac.level, area_cb, &ac, &err);
        if (!rc)
            rc = hm_mvt_encode_areas(w->geos, &tp.tile, tp.layer, ac.a, ac.na, &opt, &out, &err);
        areas_clear(&ac);
    }
    if (rc) {
        hm_buf_clear(&out);
        return hm_http_error(r, &err);
    }
    b = hm_tile_blob_create(out.data, out.len, &err);
    hm_buf_clear(&out);
    if (!b)
        return hm_http_error(r, &err);
    hm_tile_cache_put(r->app->tiles, &key, b, gen);
    return send_blob(r, b);
}

typedef struct bounds_ctx {
    double b[4];
    bool any;
} bounds_ctx;

static int bounds_cb(void *ctx, const hm_area_row *row)
{
    bounds_ctx *c = ctx;
    if (!c->any) {
        memcpy(c->b, row->bbox, sizeof c->b);
        c->any = true;
        return 0;
    }
    if (row->bbox[0] < c->b[0])
        c->b[0] = row->bbox[0];
    if (row->bbox[1] < c->b[1])
        c->b[1] = row->bbox[1];
    if (row->bbox[2] > c->b[2])
        c->b[2] = row->bbox[2];
    if (row->bbox[3] > c->b[3])
        c->b[3] = row->bbox[3];
    return 0;
}

enum MHD_Result hm_api_tilejson(hm_req *r)
{
    hm_error err = {0};
    hm_tile_path tp;
    hm_worker *w;
    hm_tilejson_params p;
    bounds_ctx bc = {{0}, false};
    const char *host = hm_http_header(r, MHD_HTTP_HEADER_HOST);
    char base[300];
    hm_buf out;
    size_t len;
    char *text;
    static const char *const hdrs[] = {"Cache-Control", "public, max-age=60",
                                       "Access-Control-Allow-Origin", "*", NULL};

    if (hm_tile_path_parse(r->url + 7, strlen(r->url + 7), &tp, &err))
        return hm_http_error(r, &err);
    if (!tp.tilejson)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "no such path");
    if (!(w = hm_worker_get(&err)) ||
        hm_store_area_list(w->store, HM_LEVEL_WARD, bounds_cb, &bc, &err))
        return hm_http_error(r, &err);
    /* The Host header names how the client reached us; keep it only if it
     * is a plain host[:port]. */
    if (!host || !*host || strlen(host) > 255 ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
            strlen(host))
        host = "127.0.0.1";
    snprintf(base, sizeof base, "http://%s", host);
    memset(&p, 0, sizeof p);
    p.base_url = base;
    p.minzoom = 0;
    p.maxzoom = 18;
    p.bounds = bc.any ? bc.b : NULL;
    p.attribution = "Areas: CityScope HCMC / GSO codes (see SOURCES.md)";
    hm_buf_init(&out);
    if (hm_tilejson_write(tp.layer, &p, &out, &err)) {
        hm_buf_clear(&out);
        return hm_http_error(r, &err);
    }
    text = hm_buf_steal(&out, &len);
    return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, len, true, hdrs);
}
