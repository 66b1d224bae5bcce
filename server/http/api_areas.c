/* api_areas.c: the three levels of areas as GeoJSON with live counts, and
 * the coordinator's area changes (validated, repaired, clipped to the ward,
 * checked for overlap, requests reassigned). */
#include "api.h"

#include "areas.h"
#include "cache.h"
#include "model.h"
#include "worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* GeoJSON geometry text of a WKB, through GEOS. NULL on failure. */
static char *wkb_to_geojson(GEOSContextHandle_t ctx, const unsigned char *wkb, size_t len)
{
    GEOSWKBReader *rd = GEOSWKBReader_create_r(ctx);
    GEOSGeoJSONWriter *wr = GEOSGeoJSONWriter_create_r(ctx);
    GEOSGeometry *g = NULL;
    char *text = NULL, *out = NULL;

    if (!rd || !wr)
        goto out;
    g = GEOSWKBReader_read_r(ctx, rd, wkb, len);
    if (!g)
        goto out;
    text = GEOSGeoJSONWriter_writeGeometry_r(ctx, wr, g, -1);
    if (text)
        out = hm_xstrdup(text);
out:
    if (text)
        GEOSFree_r(ctx, text);
    if (g)
        GEOSGeom_destroy_r(ctx, g);
    if (wr)
        GEOSGeoJSONWriter_destroy_r(ctx, wr);
    if (rd)
        GEOSWKBReader_destroy_r(ctx, rd);
    return out;
}

static void release_doc(void *cls)
{
    hm_tile_blob_release(cls);
}

/* GET /areas?level=&simplify=: the core's ready bytes (areacache.c), gzip'd when accepted,
 * 304 for a matching If-None-Match. */
enum MHD_Result hm_api_areas_list(hm_req *r)
{
    static const char *const args[] = {"level", "simplify", NULL};
    hm_error err = {0};
    hm_level level = HM_LEVEL_WARD;
    const char *s = hm_http_arg(r, "level"), *simp = hm_http_arg(r, "simplify");
    const char *inm = hm_http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    long simplify = 0;
    hm_tile_blob *b;
    bool gz;
    enum MHD_Result ret;

    if (hm_http_check_args(r, args, &err) || (s && hm_level_parse(s, &level, &err)))
        return hm_http_error(r, &err);
    if (simp) {
        char *end;
        simplify = strtol(simp, &end, 10);
        if (end == simp || *end || simplify < 0 || simplify > 5000)
            return hm_http_fail(r, HM_E_INVALID_FIELD, "simplify",
                                "simplify must be a whole number of metres from 0 to 5000");
    }
    if (hm_core_areas_doc(r->app, level, (int)simplify, &b, &err))
        return hm_http_error(r, &err);
    gz = hm_http_accepts_gzip(r) && b->gz_len > 0;
    {
        const char *hdrs[] = {"ETag",
                              gz ? b->etag_gz : b->etag,
                              "Cache-Control",
                              "no-cache",
                              "Vary",
                              "Accept-Encoding",
                              gz ? "Content-Encoding" : NULL,
                              "gzip",
                              NULL};
        if (hm_tile_blob_etag_match(b, inm)) {
            hdrs[6] = NULL;
            ret = hm_http_bytes(r, 304, NULL, (void *)"", 0, false, hdrs);
        } else {
            ret = hm_http_borrowed(r, 200, "application/json; charset=utf-8", gz ? b->gz : b->data,
                                   gz ? b->gz_len : b->len, release_doc, hm_tile_blob_ref(b), hdrs);
        }
    }
    hm_tile_blob_release(b);
    return ret;
}

/* ---- changes ---------------------------------------------------------------------- */

static void area_free(void *p)
{
    hm_area_op_clear(p);
    free(p);
}

static enum MHD_Result area_done(hm_req *r)
{
    hm_area_op *a = r->state;
    json_t *props, *geom = NULL;
    hm_error err = {0};
    hm_worker *w;
    char *g;

    if (a->job.rc)
        return hm_http_error(r, &a->job.err);
    if (a->remove)
        return hm_http_json(r, 200,
                            json_pack("{s:b,s:s,s:s,s:I}", "deleted", 1, "level",
                                      hm_level_name(a->level), "code", a->area.code, "reassigned",
                                      (json_int_t)a->moved));
    if ((w = hm_worker_get(&err)) && (g = wkb_to_geojson(w->geos, a->area.wkb, a->area.wkb_len))) {
        geom = json_loads(g, 0, NULL);
        free(g);
    }
    props =
        json_pack("{s:s,s:s,s:s,s:o,s:b,s:s}", "code", a->area.code, "name",
                  a->area.name ? a->area.name : "", "level", hm_level_name(a->level), "parent_code",
                  a->area.parent_code ? json_string(a->area.parent_code) : json_null(), "repaired",
                  a->area.repaired, "note", a->area.note);
    return hm_http_json(r, a->expect == 2 ? 200 : 201,
                        json_pack("{s:{s:s,s:o,s:o},s:I}", "area", "type", "Feature", "geometry",
                                  geom ? geom : json_null(), "properties", props, "reassigned",
                                  (json_int_t)a->moved));
}

/* POST (path_level NULL) or PUT (level and code from the path). */
static enum MHD_Result area_upsert(hm_req *r, const char *path_level, const char *path_code)
{
    hm_error err = {0};
    json_t *body = NULL;
    hm_area_op *a = hm_xcalloc(1, sizeof *a);
    int rc;

    r->state = a;
    r->state_free = area_free;
    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    rc = hm_core_area_upsert(r->app, &r->actor, body, path_level, path_code, a, &err);
    json_decref(body);
    if (rc)
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &a->job, area_done);
}

enum MHD_Result hm_api_area_create(hm_req *r)
{
    return area_upsert(r, NULL, NULL);
}

enum MHD_Result hm_api_area_put(hm_req *r)
{
    return area_upsert(r, r->params[0], r->params[1]);
}

enum MHD_Result hm_api_area_delete(hm_req *r)
{
    hm_error err = {0};
    hm_area_op *a = hm_xcalloc(1, sizeof *a);
    const char *re = hm_http_arg(r, "reassign");

    r->state = a;
    r->state_free = area_free;
    if (hm_http_auth(r, &err) || hm_core_area_delete(r->app, &r->actor, r->params[0], r->params[1],
                                                     re && strcmp(re, "true") == 0, a, &err))
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &a->job, area_done);
}
