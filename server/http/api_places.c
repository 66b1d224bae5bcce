/* api_places.c: GET /api/v1/places (the place search, public) and GET /api/v1/places/all (the
 * stored place names as GeoJSON, for the labels of a map without basemap). */
#include "api.h"

#include "gazetteer.h"
#include "present.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Coordinates to 1e-6 degree (about 11 cm), as the pages send positions, so that a request
 * placed at a place stands exactly at the point the search gave. */
static json_t *coord(double v)
{
    return json_real(round(v * 1e6) / 1e6);
}

static json_t *text_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *place_json(const hm_place_hit *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(h->name));
    json_object_set_new(o, "kind", json_string(h->kind));
    if (h->level)
        json_object_set_new(o, "level", json_string(h->level));
    if (h->code)
        json_object_set_new(o, "code", json_string(h->code));
    json_object_set_new(o, "lon", coord(h->lon));
    json_object_set_new(o, "lat", coord(h->lat));
    if (h->has_bbox)
        json_object_set_new(o, "bbox",
                            json_pack("[o,o,o,o]", coord(h->bbox[0]), coord(h->bbox[1]),
                                      coord(h->bbox[2]), coord(h->bbox[3])));
    json_object_set_new(o, "ward_code", text_or_null(h->ward_code));
    if (isfinite(h->distance_m))
        json_object_set_new(o, "distance_m", json_real(round(h->distance_m)));
    return o;
}

/* A query-string number, or absent. */
static int arg_number(hm_req *r, const char *name, bool *given, double *out, hm_error *err)
{
    const char *s = hm_http_arg(r, name);
    char *end;
    *given = s != NULL;
    if (!s)
        return HM_OK;
    *out = strtod(s, &end);
    if (end == s || *end || !isfinite(*out))
        return hm_error_set(err, HM_E_INVALID_FIELD, name, "%s must be a number", name);
    return HM_OK;
}

enum MHD_Result hm_api_places(hm_req *r)
{
    hm_error err = {0};
    hm_places_query q;
    hm_places_result res;
    const char *qs = hm_http_arg(r, "q"), *ls = hm_http_arg(r, "limit");
    bool has_lat, has_lon;
    json_t *places;

    memset(&q, 0, sizeof q);
    q.q = qs ? qs : "";
    q.q_len = strlen(q.q);
    q.limit = HM_PLACES_LIMIT_DEFAULT;
    if (ls) {
        char *end;
        long v = strtol(ls, &end, 10);
        if (end == ls || *end || v < 1 || v > HM_PLACES_LIMIT_MAX)
            return hm_http_fail(r, HM_E_INVALID_FIELD, "limit",
                                "limit must be a whole number from 1 to %d", HM_PLACES_LIMIT_MAX);
        q.limit = (size_t)v;
    }
    if (arg_number(r, "lat", &has_lat, &q.lat, &err) ||
        arg_number(r, "lon", &has_lon, &q.lon, &err))
        return hm_http_error(r, &err);
    if (has_lat != has_lon)
        return hm_http_fail(r, HM_E_INVALID_FIELD, has_lat ? "lon" : "lat",
                            "give both lat and lon, or neither");
    q.near = has_lat;
    if (hm_core_places_search(r->app, &q, &res, &err))
        return hm_http_error(r, &err);
    places = json_array();
    for (size_t i = 0; i < res.n; i++)
        json_array_append_new(places, place_json(&res.hits[i]));
    hm_places_result_clear(&res);
    return hm_http_json(r, 200,
                        json_pack("{s:o,s:s}", "places", places, "attribution",
                                  hm_core_places_attribution(r->app)));
}

static int place_feature(void *ctx, const hm_place_row *p)
{
    json_t *props = json_pack("{s:s,s:s,s:o,s:o,s:s}", "name", p->name, "kind", p->kind, "code",
                              text_or_null(p->code), "ward_code", text_or_null(p->ward_code),
                              "source", p->source);
    json_array_append_new(ctx, json_pack("{s:s,s:{s:s,s:[o,o]},s:o}", "type", "Feature", "geometry",
                                         "type", "Point", "coordinates", coord(p->lon),
                                         coord(p->lat), "properties", props));
    return 0;
}

enum MHD_Result hm_api_places_all(hm_req *r)
{
    hm_error err = {0};
    json_t *features = json_array();
    json_t *fc;
    char *text;
    static const char *const hdrs[] = {"Cache-Control", "public, max-age=60", NULL};

    if (hm_core_place_list(r->app, place_feature, features, &err)) {
        json_decref(features);
        return hm_http_error(r, &err);
    }
    fc = json_pack("{s:s,s:o,s:s}", "type", "FeatureCollection", "features", features,
                   "attribution", hm_core_places_attribution(r->app));
    text = json_dumps(fc, HM_JSON_FLAGS);
    json_decref(fc);
    if (!text)
        return MHD_NO;
    return hm_http_bytes(r, 200, "application/geo+json; charset=utf-8", text, strlen(text), true,
                         hdrs);
}
