/* api_points.c: relief points (GET /points, /points/nearest, /points/{id}; a coordinator's
 * POST, PUT, DELETE) and GET /geo/parse, what a pasted location means. Each handler parses,
 * calls one core function (relief.h), and renders. Public data: exact positions. */
#include "api.h"

#include "locparse.h"
#include "model.h"
#include "present.h"
#include "relief.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *collection(json_t *features)
{
    return json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", features);
}

enum MHD_Result hm_api_points_list(hm_req *r)
{
    hm_error err = {0};
    unsigned kinds, statuses;
    hm_relief *list = NULL;
    size_t n = 0;
    json_t *features;

    if (hm_core_relief_kinds(hm_http_arg(r, "kind"), &kinds, &err) ||
        hm_core_relief_statuses(hm_http_arg(r, "status"), &statuses, &err))
        return hm_http_error(r, &err);
    hm_core_relief_list(r->app, kinds, statuses, &list, &n);
    features = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(features, hm_relief_feature(&list[i]));
    free(list);
    return hm_http_json(r, 200, collection(features));
}

static int arg_number(hm_req *r, const char *name, double *out, hm_error *err)
{
    const char *s = hm_http_arg(r, name);
    char *end;
    if (!s)
        return hm_error_set(err, HM_E_INVALID_FIELD, name, "%s is required", name);
    *out = strtod(s, &end);
    if (end == s || *end || !isfinite(*out))
        return hm_error_set(err, HM_E_INVALID_FIELD, name, "%s must be a number", name);
    return HM_OK;
}

enum MHD_Result hm_api_points_nearest(hm_req *r)
{
    hm_error err = {0};
    hm_relief_hit hits[HM_RELIEF_NEAREST_MAX];
    double lat = 0, lon = 0;
    unsigned kinds;
    long limit = 5;
    size_t n = 0;
    const char *s;
    json_t *features;

    if (arg_number(r, "lat", &lat, &err) || arg_number(r, "lon", &lon, &err) ||
        hm_core_relief_kinds(hm_http_arg(r, "kind"), &kinds, &err))
        return hm_http_error(r, &err);
    if ((s = hm_http_arg(r, "limit"))) {
        char *end;
        limit = strtol(s, &end, 10);
        if (end == s || *end)
            limit = -1;
    }
    if (hm_core_relief_nearest(r->app, lon, lat, kinds, limit > 0 ? (size_t)limit : 0, hits, &n,
                               &err))
        return hm_http_error(r, &err);
    features = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *f = hm_relief_feature(&hits[i].point);
        json_object_set_new(json_object_get(f, "properties"), "distance_m",
                            json_real(round(hits[i].distance_m * 10) / 10));
        json_array_append_new(features, f);
    }
    return hm_http_json(r, 200, collection(features));
}

enum MHD_Result hm_api_point_get(hm_req *r)
{
    hm_error err = {0};
    hm_relief p;
    if (hm_core_relief_get(r->app, r->params[0], &p, &err))
        return hm_http_error(r, &err);
    return hm_http_json(r, 200, hm_relief_feature(&p));
}

/* ---- a coordinator's changes ---- */

static void op_free(void *p)
{
    free(p);
}

static enum MHD_Result point_done(hm_req *r)
{
    hm_relief_op *op = r->state;
    if (op->job.rc)
        return hm_http_error(r, &op->job.err);
    if (op->what == HM_RELIEF_DELETED)
        return hm_http_json(r, 200,
                            json_pack("{s:b,s:I}", "deleted", 1, "id", (json_int_t)op->result.id));
    return hm_http_json(r, op->what == HM_RELIEF_CREATED ? 201 : 200,
                        hm_relief_feature(&op->result));
}

/* Create (`id_text` NULL), change or delete (`remove`) a point. */
static enum MHD_Result point_write(hm_req *r, const char *id_text, bool remove)
{
    hm_error err = {0};
    hm_relief_op *op = hm_xcalloc(1, sizeof *op);
    json_t *body = NULL;
    int rc;

    r->state = op;
    r->state_free = op_free;
    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err))
        return hm_http_error(r, &err);
    if (remove) {
        rc = hm_core_relief_delete(r->app, &r->actor, id_text, op, &err);
    } else {
        if (hm_http_json_body(r, &body, &err))
            return hm_http_error(r, &err);
        rc = id_text ? hm_core_relief_update(r->app, &r->actor, id_text, body, op, &err)
                     : hm_core_relief_create(r->app, &r->actor, body, op, &err);
        json_decref(body);
    }
    if (rc)
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &op->job, point_done);
}

enum MHD_Result hm_api_point_create(hm_req *r)
{
    return point_write(r, NULL, false);
}

enum MHD_Result hm_api_point_put(hm_req *r)
{
    return point_write(r, r->params[0], false);
}

enum MHD_Result hm_api_point_delete(hm_req *r)
{
    return point_write(r, r->params[0], true);
}

/* ---- GET /geo/parse?text= ---- */

enum MHD_Result hm_api_geo_parse(hm_req *r)
{
    hm_error err = {0};
    hm_geo_parse g;
    const char *text = hm_http_arg(r, "text");

    if (!text)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "text",
                            "text is required: a map link or coordinates");
    /* Arguments are NUL-terminated by the edge: a %00 stays as typed (http.c, unescape). */
    if (hm_core_geo_parse(r->app, text, strlen(text), "text", &g, &err))
        return hm_http_error(r, &err);
    return hm_http_json(
        r, 200,
        json_pack("{s:f,s:f,s:s,s:o,s:b}", "lat", g.lat, "lon", g.lon, "form", g.form, "ward_code",
                  g.inside ? json_string(g.ward_code) : json_null(), "inside", g.inside));
}
