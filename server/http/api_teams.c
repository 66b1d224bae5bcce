/* api_teams.c: what teams and the command center ask — nearby requests,
 * nearest responders, team positions and status, the live event stream and
 * the export. */
#include "api.h"

#include "events.h"
#include "export.h"
#include "geo.h"
#include "model.h"
#include "openrec.h"
#include "present.h"
#include "service.h"
#include "sse.h"
#include "worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int arg_double(hm_req *r, const char *name, double min, double max, bool required,
                      double *out, hm_error *err)
{
    const char *s = hm_http_arg(r, name);
    char *end;
    double v;
    if (!s) {
        if (required)
            return hm_error_set(err, HM_E_INVALID_FIELD, name, "%s is required", name);
        return HM_OK;
    }
    v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < min || v > max)
        return hm_error_set(err, HM_E_INVALID_FIELD, name, "%s must be a number from %g to %g",
                            name, min, max);
    *out = v;
    return HM_OK;
}

static int arg_int(hm_req *r, const char *name, long min, long max, long *out, hm_error *err)
{
    const char *s = hm_http_arg(r, name);
    char *end;
    long v;
    if (!s)
        return HM_OK;
    v = strtol(s, &end, 10);
    if (end == s || *end || v < min || v > max)
        return hm_error_set(err, HM_E_INVALID_FIELD, name,
                            "%s must be a whole number from %ld to %ld", name, min, max);
    *out = v;
    return HM_OK;
}

typedef struct cat_filter {
    int category;
} cat_filter;

static int keep_category(void *ctx, const hm_point_hit *p)
{
    cat_filter *f = ctx;
    return f->category < 0 || p->tag == f->category;
}

enum MHD_Result hm_api_nearby(hm_req *r)
{
    hm_error err = {0};
    double lat = 0, lon = 0, radius = 5000;
    long limit = 50;
    cat_filter cf = {-1};
    const char *s;
    hm_point_hit *hits;
    size_t n;
    hm_worker *w;
    json_t *features;

    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err))
        return hm_http_error(r, &err);
    if (r->role == HM_ROLE_OPERATOR)
        return hm_http_fail(r, HM_E_FORBIDDEN, NULL, "nearby is for teams and coordinators");
    if (arg_double(r, "lat", -90, 90, true, &lat, &err) ||
        arg_double(r, "lon", -180, 180, true, &lon, &err) ||
        arg_double(r, "radius_m", 1, 50000, false, &radius, &err) ||
        arg_int(r, "limit", 1, 500, &limit, &err))
        return hm_http_error(r, &err);
    if ((s = hm_http_arg(r, "category")) && (cf.category = hm_category_parse(s)) < 0)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "category", "unknown category");
    if (!(w = hm_worker_get(&err)))
        return hm_http_error(r, &err);
    hits = hm_xmalloc((size_t)limit * sizeof *hits);
    features = json_array();
    if (hm_pointindex_data_size(r->app->open_requests) == sizeof(hm_open_rec)) {
        /* The index keeps each open request without its contact data, which nearby does not
         * show: no database read (issue 7). */
        hm_open_rec *rows = hm_xmalloc((size_t)limit * sizeof *rows);
        n = hm_pointindex_nearest_data(r->app->open_requests, lon, lat, radius, (size_t)limit,
                                       keep_category, &cf, hits, rows);
        for (size_t i = 0; i < n; i++) {
            hm_request q;
            json_t *f;
            hm_open_rec_unpack(&rows[i], &q);
            f = hm_request_feature(&q, 0);
            json_object_set_new(json_object_get(f, "properties"), "distance_m",
                                json_real(round(hits[i].distance_m * 10) / 10));
            json_array_append_new(features, f);
        }
        free(rows);
        free(hits);
        return hm_http_json(
            r, 200,
            json_pack("{s:s,s:o,s:n}", "type", "FeatureCollection", "features", features, "next"));
    }
    n = hm_pointindex_nearest(r->app->open_requests, lon, lat, radius, (size_t)limit, keep_category,
                              &cf, hits);
    for (size_t i = 0; i < n; i++) {
        hm_request q;
        json_t *f;
        if (hm_store_request_get_id(w->store, hits[i].id, &q, NULL) != HM_OK)
            continue;
        /* The index may be a moment ahead of this connection's snapshot. */
        if (hm_status_is_open(q.status)) {
            f = hm_request_feature(&q, 0);
            json_object_set_new(json_object_get(f, "properties"), "distance_m",
                                json_real(round(hits[i].distance_m * 10) / 10));
            json_array_append_new(features, f);
        }
        hm_request_clear(&q);
    }
    free(hits);
    return hm_http_json(
        r, 200,
        json_pack("{s:s,s:o,s:n}", "type", "FeatureCollection", "features", features, "next"));
}

typedef struct fresh_ctx {
    int64_t now;
} fresh_ctx;

static int available_fresh(void *ctx, const hm_point_hit *p)
{
    fresh_ctx *f = ctx;
    return p->tag == HM_TEAM_AVAILABLE && f->now - p->aux <= 30 * 60 * 1000;
}

static bool has_capability(const hm_team *t, const char *cap)
{
    json_t *a = json_loads(t->capabilities, 0, NULL);
    size_t i;
    json_t *v;
    bool ok = false;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), cap) == 0)
            ok = true;
    }
    json_decref(a);
    return ok;
}

enum MHD_Result hm_api_responders(hm_req *r)
{
    hm_error err = {0};
    long k = 5;
    const char *cap = hm_http_arg(r, "capability");
    char code[16];
    hm_request q;
    hm_worker *w;
    hm_point_hit hits[256];
    fresh_ctx fc = {hm_now_ms()};
    size_t n, found = 0;
    int64_t shown[50]; /* k <= 50 */
    bool txn;
    json_t *features;

    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || arg_int(r, "k", 1, 50, &k, &err))
        return hm_http_error(r, &err);
    if (hm_code_normalize(r->params[0], r->app->cfg.code_prefix, code, sizeof code, &err) ||
        !(w = hm_worker_get(&err)) || hm_store_request_get(w->store, code, &q, NULL, &err))
        return hm_http_error(r, &err);
    features = json_array();
    /* Nearest first, a few more than k at a time (the claim cap, capability or a disabled
     * token may skip some), widening up to 256: each candidate costs a geodesic and a read
     * (issue 7). The reads share one read transaction, so SQLite takes its locks once. */
    txn = hm_store_begin(w->store, false, NULL) == HM_OK;
    for (size_t want = (size_t)k + 3, start = 0; found < (size_t)k && start < 256; want *= 4) {
        if (want > 256)
            want = 256;
        n = hm_pointindex_nearest(r->app->team_positions, q.lon, q.lat, 0, want, available_fresh,
                                  &fc, hits);
        for (size_t i = start; i < n && found < (size_t)k; i++) {
            hm_team t;
            int64_t open = 0;
            json_t *f;
            bool dup = false;
            for (size_t j = 0; j < found; j++) /* a team that moved between two lookups */
                dup = dup || shown[j] == hits[i].id;
            if (dup || hm_store_team_get(w->store, hits[i].id, &t, NULL) != HM_OK || t.disabled ||
                t.role != HM_ROLE_VOLUNTEER)
                continue;
            if (cap && *cap && !has_capability(&t, cap))
                continue;
            /* From memory when it can (issue 7); the claim itself counts rows again. */
            if ((open = hm_svc_team_held(r->app, t.id)) < 0 &&
                hm_store_team_open_count(w->store, t.id, &open, NULL) != HM_OK)
                continue;
            if (r->app->cfg.claim_cap > 0 && open >= r->app->cfg.claim_cap)
                continue;
            f = hm_team_feature(&t);
            json_object_set_new(json_object_get(f, "properties"), "distance_m",
                                json_real(round(hits[i].distance_m * 10) / 10));
            json_object_set_new(json_object_get(f, "properties"), "open_requests",
                                json_integer(open));
            json_array_append_new(features, f);
            shown[found++] = t.id;
        }
        start = n < want ? 256 : want; /* fewer than asked for: there are no more */
    }
    if (txn && hm_store_commit(w->store, NULL) != HM_OK)
        hm_store_rollback(w->store);
    hm_request_clear(&q);
    return hm_http_json(r, 200,
                        json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", features));
}

static void simple_free(void *p)
{
    hm_svc_simple_clear(p);
    free(p);
}

static enum MHD_Result team_done(hm_req *r)
{
    hm_svc_simple *s = r->state;
    if (s->job.rc)
        return hm_http_error(r, &s->job.err);
    return hm_http_json(r, 200, json_pack("{s:o}", "team", hm_team_json(&s->team)));
}

enum MHD_Result hm_api_team_location(hm_req *r)
{
    hm_error err = {0};
    json_t *body = NULL, *vlat, *vlon;
    hm_svc_simple *s;
    double lat, lon;

    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err) || hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    vlat = json_object_get(body, "lat");
    vlon = json_object_get(body, "lon");
    if (!json_is_number(vlat) || !isfinite(lat = json_number_value(vlat)) || lat < -90 ||
        lat > 90) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "lat", "lat must be a number from -90 to 90");
    }
    if (!json_is_number(vlon) || !isfinite(lon = json_number_value(vlon)) || lon < -180 ||
        lon > 180) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "lon", "lon must be a number from -180 to 180");
    }
    json_decref(body);
    s = hm_xcalloc(1, sizeof *s);
    hm_svc_team_location_init(s, r->app, r->team.id, lon, lat);
    r->state = s;
    r->state_free = simple_free;
    return hm_http_submit_job(r, &s->job, team_done);
}

enum MHD_Result hm_api_team_status(hm_req *r)
{
    hm_error err = {0};
    json_t *body = NULL;
    hm_svc_simple *s;
    int st;

    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err) || hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    st = hm_team_status_parse(json_string_value(json_object_get(body, "status")));
    json_decref(body);
    if (st < 0)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "status",
                            "status must be available, busy or off");
    s = hm_xcalloc(1, sizeof *s);
    hm_svc_team_status_init(s, r->app, r->team.id, st);
    r->state = s;
    r->state_free = simple_free;
    return hm_http_submit_job(r, &s->job, team_done);
}

typedef struct teams_ctx {
    json_t *features;
    hm_store *st;
} teams_ctx;

static int add_team(void *ctx, const hm_team *t)
{
    teams_ctx *c = ctx;
    int64_t open = 0;
    json_t *f = hm_team_feature(t);
    hm_store_team_open_count(c->st, t->id, &open, NULL);
    json_object_set_new(json_object_get(f, "properties"), "open_requests", json_integer(open));
    json_array_append_new(c->features, f);
    return 0;
}

enum MHD_Result hm_api_teams_list(hm_req *r)
{
    hm_error err = {0};
    hm_worker *w;
    teams_ctx c;
    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || !(w = hm_worker_get(&err)))
        return hm_http_error(r, &err);
    c.features = json_array();
    c.st = w->store;
    if (hm_store_team_list(w->store, false, add_team, &c, &err)) {
        json_decref(c.features);
        return hm_http_error(r, &err);
    }
    return hm_http_json(
        r, 200, json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", c.features));
}

enum MHD_Result hm_api_events_ticket(hm_req *r)
{
    hm_error err = {0};
    hm_events_who who;
    char ticket[HM_EVENTS_TICKET_SIZE];
    int expires = 60;
    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err))
        return hm_http_error(r, &err);
    who.role = r->role;
    who.team_id = r->team.id;
    if (hm_events_ticket_issue(r->app->events, &who, ticket, &expires, &err))
        return hm_http_error(r, &err);
    return hm_http_json(r, 200, json_pack("{s:s,s:i}", "ticket", ticket, "expires_in", expires));
}

enum MHD_Result hm_api_events(hm_req *r)
{
    hm_error err = {0};
    hm_events_who who = {HM_EV_ROLE_PUBLIC, 0};
    const char *ticket = hm_http_arg(r, "ticket");
    int rc;

    if (ticket) {
        if (hm_events_ticket_redeem(r->app->events, ticket, &who))
            return hm_http_fail(r, HM_E_UNAUTHORIZED, "ticket",
                                "the ticket is unknown, used or expired; ask for a new one");
    } else {
        if (hm_http_auth(r, &err))
            return hm_http_error(r, &err);
        if (r->role != HM_ROLE_PUBLIC) {
            who.role = r->role;
            who.team_id = r->team.id;
        }
    }
    rc = hm_sse_serve(r->app->events, r->conn, &who, hm_sse_last_event_id(r->conn), &err);
    if (rc == HM_OK) {
        r->status = 200;
        r->responded = true;
        return MHD_YES;
    }
    if (rc == HM_E_INTERNAL)
        return MHD_NO;
    return hm_http_error(r, &err);
}

enum MHD_Result hm_api_export(hm_req *r)
{
    hm_error err = {0};
    hm_worker *w;
    const char *fmt = hm_http_arg(r, "format");
    int format;
    hm_buf out;
    size_t len;
    char *text;
    const char *ctype;
    char disp[80];
    const char *hdrs[5];

    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err))
        return hm_http_error(r, &err);
    if ((format = hm_export_format_parse(fmt ? fmt : "csv")) < 0)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "format", "format must be csv, geojson or kml");
    if (!(w = hm_worker_get(&err)))
        return hm_http_error(r, &err);
    hm_buf_init(&out);
    if (hm_export_write(w->store, format, &out, &err)) {
        hm_buf_clear(&out);
        return hm_http_error(r, &err);
    }
    text = hm_buf_steal(&out, &len);
    ctype = hm_export_content_type(format);
    snprintf(disp, sizeof disp, "attachment; filename=\"helpmap-requests.%s\"",
             hm_export_extension(format));
    hdrs[0] = "Content-Disposition";
    hdrs[1] = disp;
    hdrs[2] = "Cache-Control";
    hdrs[3] = "no-store";
    hdrs[4] = NULL;
    return hm_http_bytes(r, 200, ctype, text, len, true, hdrs);
}
