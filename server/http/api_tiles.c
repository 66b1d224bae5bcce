/* api_tiles.c: GET /tiles/{layer}/{z}/{x}/{y}.mvt and /tiles/{layer}.json — the core's tiles
 * (views.h) with their caching headers. Public fields only; positions on the public grid. */
#include "api.h"

#include "model.h"
#include "requests.h"
#include "tilejson.h"
#include "views.h"

#include <stdlib.h>
#include <string.h>

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
    hm_tile_query q;
    hm_tile_blob *b;

    if (hm_tile_path_parse(r->url + 7, strlen(r->url + 7), &tp, &err))
        return hm_http_error(r, &err);
    if (tp.tilejson)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "no such tile");
    memset(&q, 0, sizeof q);
    q.layer = tp.layer;
    q.tile = tp.tile;
    q.category = -1;
    if (tp.layer == HM_TILE_REQUESTS) {
        const char *since;
        q.status = hm_http_arg(r, "status");
        q.category_text = hm_http_arg(r, "category");
        since = hm_http_arg(r, "since");
        if (hm_core_parse_status_filter(q.status, &q.status_mask, &err))
            return hm_http_error(r, &err);
        if (q.category_text && (q.category = hm_category_parse(q.category_text)) < 0)
            return hm_http_fail(r, HM_E_INVALID_FIELD, "category", "unknown category");
        if (since && hm_time_parse(since, &q.since_ms))
            return hm_http_fail(r, HM_E_INVALID_FIELD, "since", "since must be an RFC 3339 time");
    }
    if (hm_core_tile(r->app, &q, &b, &err))
        return hm_http_error(r, &err);
    return send_blob(r, b);
}

enum MHD_Result hm_api_tilejson(hm_req *r)
{
    hm_error err = {0};
    hm_tile_path tp;
    hm_tilejson_params p;
    double bounds[4];
    bool found = false;
    hm_buf out;
    size_t len;
    char *text;
    static const char *const hdrs[] = {"Cache-Control", "public, max-age=60",
                                       "Access-Control-Allow-Origin", "*", NULL};

    if (hm_tile_path_parse(r->url + 7, strlen(r->url + 7), &tp, &err))
        return hm_http_error(r, &err);
    if (!tp.tilejson)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "no such path");
    if (hm_core_bounds(r->app, bounds, &found, &err))
        return hm_http_error(r, &err);
    /* Absolute URLs only from the configured public URL, never from the Host header (issue 11: a
     * cache keyed without Host would hand every client an attacker's tile server); without one
     * the tiles are root-relative ("/" gives "/tiles/..."), which the pages resolve against
     * their own origin. */
    memset(&p, 0, sizeof p);
    p.base_url = r->srv->public_url[0] ? r->srv->public_url : "/";
    p.minzoom = 0;
    p.maxzoom = 18;
    p.bounds = found ? bounds : NULL;
    p.attribution = "Areas: CityScope HCMC / GSO codes (see SOURCES.md)";
    hm_buf_init(&out);
    if (hm_tilejson_write(tp.layer, &p, &out, &err)) {
        hm_buf_clear(&out);
        return hm_http_error(r, &err);
    }
    text = hm_buf_steal(&out, &len);
    return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, len, true, hdrs);
}
