/* api_areas.c: the three levels of areas as GeoJSON with live counts, and
 * the coordinator's area changes (validated, repaired, clipped to the ward,
 * checked for overlap, requests reassigned). */
#include "api.h"

#include "areacount.h"
#include "hm_log.h"
#include "model.h"
#include "service.h"
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

typedef struct areas_ctx {
    GEOSContextHandle_t geos;
    json_t *features;
    hm_area_counts counts;
} areas_ctx;

static int add_area(void *ctx, const hm_area_row *row)
{
    areas_ctx *a = ctx;
    char *geom = wkb_to_geojson(a->geos, row->wkb, row->wkb_len);
    json_t *g = geom ? json_loads(geom, 0, NULL) : NULL;
    json_t *props, *bycat;
    const hm_area_count *c = hm_area_counts_find(&a->counts, row->code);

    free(geom);
    if (!g)
        return 0;
    bycat = json_object();
    for (int i = 0; i < HM_CAT__COUNT; i++)
        json_object_set_new(bycat, hm_category_name(i), json_integer(c->open_by_cat[i]));
    props = json_pack(
        "{s:s,s:s,s:o,s:s,s:I,s:I,s:o}", "code", row->code, "name", row->name, "parent_code",
        row->parent_code[0] ? json_string(row->parent_code) : json_null(), "level",
        hm_level_name((hm_level)row->level), "open", (json_int_t)hm_area_count_open(c), "resolved",
        (json_int_t)c->by_status[HM_ST_RESOLVED], "open_by_category", bycat);
    if (row->pop >= 0)
        json_object_set_new(props, "population", json_integer(row->pop));
    json_object_set_new(props, "label_lon", json_real(row->rep_lon));
    json_object_set_new(props, "label_lat", json_real(row->rep_lat));
    json_array_append_new(a->features, json_pack("{s:s,s:s,s:o,s:o}", "type", "Feature", "id",
                                                 row->code, "geometry", g, "properties", props));
    return 0;
}

enum MHD_Result hm_api_areas_list(hm_req *r)
{
    hm_error err = {0};
    hm_level level = HM_LEVEL_WARD;
    const char *s = hm_http_arg(r, "level");
    hm_worker *w;
    areas_ctx a;
    int rc;

    if (s && hm_level_parse(s, &level, &err))
        return hm_http_error(r, &err);
    if (!(w = hm_worker_get(&err)))
        return hm_http_error(r, &err);
    memset(&a, 0, sizeof a);
    a.geos = w->geos;
    a.features = json_array();
    hm_tally_areas(r->app->tally, level, &a.counts);
    rc = hm_store_area_list(w->store, (int)level, add_area, &a, &err);
    hm_area_counts_clear(&a.counts);
    if (rc) {
        json_decref(a.features);
        return hm_http_error(r, &err);
    }
    return hm_http_json(r, 200,
                        json_pack("{s:s,s:s,s:o}", "type", "FeatureCollection", "level",
                                  hm_level_name(level), "features", a.features));
}

/* ---- changes ---------------------------------------------------------------------- */

typedef struct sib_ctx {
    hm_area_ref *refs;
    unsigned char **blobs;
    char **codes;
    size_t n, cap;
    const char *parent; /* only siblings under this parent (NULL: all) */
    const char *skip;   /* the area being replaced */
} sib_ctx;

static int add_sibling(void *ctx, const hm_area_row *row)
{
    sib_ctx *s = ctx;
    if (s->skip && strcmp(row->code, s->skip) == 0)
        return 0;
    if (s->parent && strcmp(row->parent_code, s->parent) != 0)
        return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->refs = hm_xrealloc(s->refs, s->cap * sizeof *s->refs);
        s->blobs = hm_xrealloc(s->blobs, s->cap * sizeof *s->blobs);
        s->codes = hm_xrealloc(s->codes, s->cap * sizeof *s->codes);
    }
    s->blobs[s->n] = hm_xmalloc(row->wkb_len);
    memcpy(s->blobs[s->n], row->wkb, row->wkb_len);
    s->codes[s->n] = hm_xstrdup(row->code);
    s->refs[s->n] = (hm_area_ref){s->codes[s->n], s->blobs[s->n], row->wkb_len};
    s->n++;
    return 0;
}

static void sib_clear(sib_ctx *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->blobs[i]);
        free(s->codes[i]);
    }
    free(s->refs);
    free(s->blobs);
    free(s->codes);
}

typedef struct area_state {
    hm_svc_area job;
    GEOSContextHandle_t geos;
    unsigned created_status;
} area_state;

static void area_free(void *p)
{
    area_state *a = p;
    hm_svc_area_clear(&a->job);
    free(a);
}

static enum MHD_Result area_done(hm_req *r)
{
    area_state *a = r->state;
    json_t *props, *geom = NULL;
    char *g;
    if (a->job.job.rc)
        return hm_http_error(r, &a->job.job.err);
    if (a->job.remove)
        return hm_http_json(r, 200,
                            json_pack("{s:b,s:s,s:s,s:I}", "deleted", 1, "level",
                                      hm_level_name(a->job.level), "code", a->job.area.code,
                                      "reassigned", (json_int_t)a->job.moved));
    {
        hm_error err = {0};
        hm_worker *w = hm_worker_get(&err);
        if (w && (g = wkb_to_geojson(w->geos, a->job.area.wkb, a->job.area.wkb_len))) {
            geom = json_loads(g, 0, NULL);
            free(g);
        }
    }
    props = json_pack("{s:s,s:s,s:s,s:o,s:b,s:s}", "code", a->job.area.code, "name",
                      a->job.area.name ? a->job.area.name : "", "level",
                      hm_level_name(a->job.level), "parent_code",
                      a->job.area.parent_code ? json_string(a->job.area.parent_code) : json_null(),
                      "repaired", a->job.area.repaired, "note", a->job.area.note);
    return hm_http_json(r, a->created_status,
                        json_pack("{s:{s:s,s:o,s:o},s:I}", "area", "type", "Feature", "geometry",
                                  geom ? geom : json_null(), "properties", props, "reassigned",
                                  (json_int_t)a->job.moved));
}

typedef struct parent_ctx {
    unsigned char *wkb;
    size_t len;
} parent_ctx;

static int get_parent(void *ctx, const hm_area_row *row)
{
    parent_ctx *p = ctx;
    p->wkb = hm_xmalloc(row->wkb_len);
    memcpy(p->wkb, row->wkb, row->wkb_len);
    p->len = row->wkb_len;
    return 0;
}

static int exists_cb(void *ctx, const hm_area_row *row)
{
    (void)row;
    *(bool *)ctx = true;
    return 0;
}

/* POST (path_level NULL) or PUT (level and code from the path). */
static enum MHD_Result area_upsert(hm_req *r, const char *path_level, const char *path_code)
{
    hm_error err = {0};
    json_t *body = NULL, *props, *v;
    hm_worker *w;
    area_state *a;
    hm_level level;
    sib_ctx sib;
    parent_ctx parent = {NULL, 0};
    hm_area_ref pref;
    char overlaps[256] = "";
    bool exists = false;
    int rc;

    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    if (!(w = hm_worker_get(&err))) {
        json_decref(body);
        return hm_http_error(r, &err);
    }
    props = json_object_get(body, "properties");
    v = json_object_get(props, "level");
    if (path_level) {
        if (hm_level_parse(path_level, &level, &err)) {
            json_decref(body);
            return hm_http_error(r, &err);
        }
        /* The path names the area; the body may repeat it, never contradict it. */
        if (json_is_object(props)) {
            json_t *c = json_object_get(props, "code");
            if ((json_is_string(c) && strcmp(json_string_value(c), path_code) != 0) ||
                (json_is_string(v) && strcmp(json_string_value(v), path_level) != 0)) {
                json_decref(body);
                return hm_http_fail(r, HM_E_INVALID_FIELD, "code",
                                    "the body's code and level must match the path");
            }
            json_object_set_new(props, "code", json_string(path_code));
        }
    } else if (!json_is_string(v) || hm_level_parse(json_string_value(v), &level, &err)) {
        json_decref(body);
        hm_error_clear(&err);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "level",
                            "properties.level must be ward, former_ward or hamlet");
    }
    a = hm_xcalloc(1, sizeof *a);
    hm_svc_area_init(&a->job, r->app, level);
    r->state = a;
    r->state_free = area_free;
    rc = hm_area_from_feature(w->geos, body, NULL, &a->job.area, &err);
    json_decref(body);
    if (rc)
        return hm_http_error(r, &err);
    hm_store_area_get(w->store, level, a->job.area.code, exists_cb, &exists, NULL);
    if (!path_level && exists)
        return hm_http_fail(
            r, HM_E_IN_USE, "code", "a %s with code %s exists; PUT /api/v1/areas/%s/%s replaces it",
            hm_level_name(level), a->job.area.code, hm_level_name(level), a->job.area.code);
    if (path_level && !exists)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "no %s area with code %s; POST creates one",
                            hm_level_name(level), path_code);
    a->created_status = path_level ? 200 : 201;
    if (level == HM_LEVEL_HAMLET) {
        if (!a->job.area.parent_code || !*a->job.area.parent_code)
            return hm_http_fail(r, HM_E_INVALID_FIELD, "parent_code",
                                "a hamlet needs parent_code: the code of its ward");
        if (hm_store_area_get(w->store, HM_LEVEL_WARD, a->job.area.parent_code, get_parent, &parent,
                              NULL))
            return hm_http_fail(r, HM_E_INVALID_FIELD, "parent_code", "no ward has code %s",
                                a->job.area.parent_code);
    }
    memset(&sib, 0, sizeof sib);
    sib.parent = level == HM_LEVEL_HAMLET ? a->job.area.parent_code : NULL;
    sib.skip = a->job.area.code;
    rc = hm_store_area_list(w->store, (int)level, add_sibling, &sib, &err);
    if (!rc) {
        pref = (hm_area_ref){a->job.area.parent_code, parent.wkb, parent.len};
        rc = hm_area_fit(w->geos, &a->job.area, parent.wkb ? &pref : NULL, sib.refs, sib.n,
                         overlaps, sizeof overlaps, &err);
    }
    sib_clear(&sib);
    free(parent.wkb);
    if (rc)
        return hm_http_error(r, &err);
    if (a->job.area.repaired)
        hm_log(HM_LOG_INFO, "event=area_repaired level=%s code=%s", hm_level_name(level),
               a->job.area.code);
    return hm_http_submit_job(r, &a->job.job, area_done);
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
    hm_level level;
    area_state *a;
    const char *re = hm_http_arg(r, "reassign");

    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || hm_level_parse(r->params[0], &level, &err))
        return hm_http_error(r, &err);
    a = hm_xcalloc(1, sizeof *a);
    hm_svc_area_init(&a->job, r->app, level);
    r->state = a;
    r->state_free = area_free;
    a->job.remove = true;
    a->job.reassign = re && strcmp(re, "true") == 0;
    a->job.area.code = hm_xstrdup(r->params[1]);
    return hm_http_submit_job(r, &a->job.job, area_done);
}
