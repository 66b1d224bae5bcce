/* api_teams.c: the HTTP side of what teams and the command center ask — nearby requests,
 * nearest responders, team positions and status, the live event stream and the export. */
#include "api.h"

#include "audit.h"
#include "events.h"
#include "export.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"
#include "present.h"
#include "requests.h"
#include "sse.h"
#include "teams.h"
#include "views.h"

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

static json_t *with_distance(json_t *feature, double distance_m)
{
    json_object_set_new(json_object_get(feature, "properties"), "distance_m",
                        json_real(round(distance_m * 10) / 10));
    return feature;
}

enum MHD_Result hm_api_nearby(hm_req *r)
{
    static const char *const args[] = {"lat",      "lon",    "radius_m", "limit",
                                       "category", "cursor", NULL};
    hm_error err = {0};
    double lat = 0, lon = 0, radius = 5000;
    long limit = 50, skip = 0;
    int category = -1;
    const char *s;
    hm_open_hit *hits;
    size_t n = 0;

    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err))
        return hm_http_error(r, &err);
    if (r->actor.role == HM_ROLE_OPERATOR)
        return hm_http_fail(r, HM_E_FORBIDDEN, NULL, "nearby is for teams and coordinators");
    if (arg_double(r, "lat", -90, 90, true, &lat, &err) ||
        arg_double(r, "lon", -180, 180, true, &lon, &err) ||
        arg_double(r, "radius_m", 1, 50000, false, &radius, &err) ||
        arg_int(r, "limit", 1, 500, &limit, &err) || arg_int(r, "cursor", 0, 10000, &skip, &err) ||
        hm_http_check_args(r, args, &err))
        return hm_http_error(r, &err);
    if ((s = hm_http_arg(r, "category")) && (category = hm_category_parse(s)) < 0)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "category", "unknown category");
    /* One more than shown tells whether the list is truncated; `cursor` skips the nearest
     * ones already shown (issue 14: `next` when truncated). */
    hits = hm_xmalloc((size_t)(skip + limit + 1) * sizeof *hits);
    if (hm_core_nearby(r->app, &r->actor, lon, lat, radius, (size_t)(skip + limit + 1), category,
                       hits, &n, &err)) {
        free(hits);
        return hm_http_error(r, &err);
    }
    /* Rendered straight into text (hm_core_request_feature_text: the bytes json_dumps would
     * give), without a JSON tree per request: a third of the answer's cost (issue 18). */
    {
        static const char *const nocache[] = {"Cache-Control", "no-store", NULL};
        hm_buf b;
        size_t len;
        char *text;
        hm_buf_init(&b);
        hm_buf_reserve(&b, 600 * (size_t)limit + 64);
        hm_buf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
        for (size_t i = (size_t)skip; i < n && i < (size_t)(skip + limit); i++) {
            if (i > (size_t)skip)
                hm_buf_putc(&b, ',');
            hm_core_request_feature_text(r->app, &b, &hits[i].req, 0, false, hits[i].distance_m);
        }
        if (n > (size_t)(skip + limit))
            hm_buf_printf(&b, "],\"next\":\"%ld\"}", skip + limit);
        else
            hm_buf_puts(&b, "],\"next\":null}");
        free(hits);
        text = hm_buf_steal(&b, &len);
        return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, len, true, nocache);
    }
}

enum MHD_Result hm_api_responders(hm_req *r)
{
    hm_error err = {0};
    long k = 5;
    hm_responder out[50]; /* k <= 50 */
    size_t n = 0;
    json_t *features;

    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || arg_int(r, "k", 1, 50, &k, &err) ||
        hm_core_responders(r->app, &r->actor, r->params[0], (size_t)k, hm_http_arg(r, "capability"),
                           out, &n, &err))
        return hm_http_error(r, &err);
    features = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *f = with_distance(hm_team_feature(&out[i].team), out[i].distance_m);
        json_object_set_new(json_object_get(f, "properties"), "open_requests",
                            json_integer(out[i].open_requests));
        json_array_append_new(features, f);
    }
    return hm_http_json(r, 200,
                        json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", features));
}

static enum MHD_Result team_done(hm_req *r)
{
    hm_team_op *op = r->state;
    if (op->job.rc)
        return hm_http_error(r, &op->job.err);
    return hm_http_json(r, 200, json_pack("{s:o}", "team", hm_team_json(&op->team)));
}

enum MHD_Result hm_api_team_location(hm_req *r)
{
    hm_error err = {0};
    json_t *body = NULL, *vlat, *vlon;
    hm_team_op *op;
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
    op = hm_xcalloc(1, sizeof *op);
    r->state = op;
    r->state_free = free;
    if (hm_core_team_location(r->app, &r->actor, lon, lat, op, &err))
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &op->job, team_done);
}

enum MHD_Result hm_api_team_status(hm_req *r)
{
    hm_error err = {0};
    json_t *body = NULL;
    hm_team_op *op;
    int st;

    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err) || hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    st = hm_team_status_parse(json_string_value(json_object_get(body, "status")));
    json_decref(body);
    if (st < 0)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "status",
                            "status must be available, busy or off");
    op = hm_xcalloc(1, sizeof *op);
    r->state = op;
    r->state_free = free;
    if (hm_core_team_status(r->app, &r->actor, st, op, &err))
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &op->job, team_done);
}

static int add_team(void *ctx, const hm_team *t, int64_t open_requests, int64_t held_until)
{
    json_t *f = hm_team_feature(t);
    char at[32];
    json_object_set_new(json_object_get(f, "properties"), "open_requests",
                        json_integer(open_requests));
    if (held_until > 0)
        hm_time_format(held_until, at);
    json_object_set_new(json_object_get(f, "properties"), "held_until",
                        held_until > 0 ? json_string(at) : json_null());
    json_array_append_new(ctx, f);
    return 0;
}

enum MHD_Result hm_api_teams_list(hm_req *r)
{
    static const char *const args[] = {"disabled", NULL};
    hm_error err = {0};
    json_t *features;
    const char *d = hm_http_arg(r, "disabled");
    if (hm_http_auth(r, &err) || hm_http_check_args(r, args, &err))
        return hm_http_error(r, &err);
    if (d && strcmp(d, "true") && strcmp(d, "false"))
        return hm_http_fail(r, HM_E_INVALID_FIELD, "disabled", "disabled must be true or false");
    features = json_array();
    if (hm_core_teams(r->app, &r->actor, d && strcmp(d, "true") == 0, add_team, features, &err)) {
        json_decref(features);
        return hm_http_error(r, &err);
    }
    return hm_http_json(r, 200,
                        json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", features));
}

/* ---- the team's own requests ---- */

typedef struct held_state {
    hm_core *core;
    hm_list list;
    json_t *features;
    char *text;
} held_state;

static void held_free(void *p)
{
    held_state *h = p;
    hm_list_clear(&h->list);
    json_decref(h->features);
    free(h->text);
    free(h);
}

static int held_visit(void *ctx, const hm_request *q)
{
    held_state *h = ctx;
    json_array_append_new(h->features, hm_core_request_feature(h->core, q, h->list.view, true));
    return 0;
}

static enum MHD_Result held_answer(hm_req *r)
{
    held_state *h = r->state;
    static const char *const nocache[] = {"Cache-Control", "no-store", NULL};
    char *text;
    if (h->list.reveal && h->list.reveal->job.rc)
        return hm_http_error(r, &h->list.reveal->job.err);
    text = h->text;
    h->text = NULL;
    return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, strlen(text), true,
                         nocache);
}

enum MHD_Result hm_api_team_requests(hm_req *r)
{
    static const char *const args[] = {NULL};
    hm_error err = {0};
    held_state *h = hm_xcalloc(1, sizeof *h);
    h->core = r->app;
    json_t *fc;

    r->state = h;
    r->state_free = held_free;
    h->features = json_array();
    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err) || hm_http_check_args(r, args, &err) ||
        hm_core_team_requests(r->app, &r->actor, held_visit, h, &h->list, &err))
        return hm_http_error(r, &err);
    fc = json_pack("{s:s,s:O,s:n}", "type", "FeatureCollection", "features", h->features, "next");
    h->text = json_dumps(fc, HM_JSON_FLAGS);
    json_decref(fc);
    if (!h->text)
        return MHD_NO;
    /* Each request shown with its contact data is recorded (SPEC) before the answer. */
    if (h->list.reveal)
        return hm_http_submit_job(r, &h->list.reveal->job, held_answer);
    return held_answer(r);
}

/* ---- team accounts ---- */

static enum MHD_Result admin_done(hm_req *r)
{
    hm_team_admin_op *op = r->state;
    json_t *o;
    if (op->job.rc)
        return hm_http_error(r, &op->job.err);
    o = json_pack("{s:o}", "team", hm_team_json(&op->team));
    if (op->what == HM_TEAM_ADD || op->what == HM_TEAM_ROTATE)
        json_object_set_new(o, "token", json_string(op->token));
    hm_log(HM_LOG_INFO, "event=team_changed what=%d team_id=%lld by=%lld", op->what,
           (long long)op->team.id, (long long)r->actor.team.id);
    return hm_http_json(r, op->what == HM_TEAM_ADD ? 201 : 200, o);
}

static void admin_free(void *p)
{
    hm_team_admin_op *op = p;
    memset(op->token, 0, sizeof op->token);
    free(op);
}

static enum MHD_Result team_admin(hm_req *r, int what)
{
    hm_error err = {0};
    hm_team_admin_op *op = hm_xcalloc(1, sizeof *op);
    json_t *body = NULL;
    enum MHD_Result ret;

    r->state = op;
    r->state_free = admin_free;
    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) ||
        (what == HM_TEAM_ADD && hm_http_json_body(r, &body, &err)))
        return hm_http_error(r, &err);
    if (hm_core_team_admin(r->app, &r->actor, what, what == HM_TEAM_ADD ? NULL : r->params[0], body,
                           op, &err)) {
        ret = hm_http_error(r, &err); /* before the body goes: err->field may borrow from it */
        json_decref(body);
        return ret;
    }
    json_decref(body);
    return hm_http_submit_job(r, &op->job, admin_done);
}

enum MHD_Result hm_api_team_add(hm_req *r)
{
    return team_admin(r, HM_TEAM_ADD);
}

enum MHD_Result hm_api_team_rotate(hm_req *r)
{
    return team_admin(r, HM_TEAM_ROTATE);
}

enum MHD_Result hm_api_team_disable(hm_req *r)
{
    return team_admin(r, HM_TEAM_DISABLE);
}

enum MHD_Result hm_api_team_enable(hm_req *r)
{
    return team_admin(r, HM_TEAM_ENABLE);
}

enum MHD_Result hm_api_events_ticket(hm_req *r)
{
    hm_error err = {0};
    hm_events_who who;
    char ticket[HM_EVENTS_TICKET_SIZE];
    int expires = 60;
    memset(&who, 0, sizeof who);
    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err))
        return hm_http_error(r, &err);
    who.role = r->actor.role;
    who.team_id = r->actor.team.id;
    if (hm_events_ticket_issue(hm_core_events(r->app), &who, ticket, &expires, &err))
        return hm_http_error(r, &err);
    return hm_http_json(r, 200, json_pack("{s:s,s:i}", "ticket", ticket, "expires_in", expires));
}

/* ?types=point,request: the families of event types a stream wants (0: every one). */
static int parse_types(const char *s, unsigned *out, hm_error *err)
{
    *out = 0;
    if (!s)
        return HM_OK;
    for (const char *p = s;;) {
        size_t n = strcspn(p, ",");
        if (n == 7 && strncmp(p, "request", 7) == 0)
            *out |= HM_EV_FAM_REQUEST;
        else if (n == 4 && strncmp(p, "team", 4) == 0)
            *out |= HM_EV_FAM_TEAM;
        else if (n == 5 && strncmp(p, "point", 5) == 0)
            *out |= HM_EV_FAM_POINT;
        else
            return hm_error_set(err, HM_E_INVALID_FIELD, "types",
                                "types must be request, team or point, or several of them "
                                "separated by commas");
        if (!p[n])
            return HM_OK;
        p += n + 1;
    }
}

enum MHD_Result hm_api_events(hm_req *r)
{
    hm_error err = {0};
    hm_events_who who;
    const char *ticket = hm_http_arg(r, "ticket");
    const char *code = hm_http_arg(r, "code");
    hm_events *ev = hm_core_events(r->app);
    unsigned families;
    int rc;

    memset(&who, 0, sizeof who);
    who.role = HM_EV_ROLE_PUBLIC;
    if (parse_types(hm_http_arg(r, "types"), &families, &err))
        return hm_http_error(r, &err);

    if (code) {
        /* One request's own stream, for its resident's tracking page (issue 15): the tracking
         * token as ?token= (or as a bearer); counted among the public streams. */
        const char *tracking[2];
        if (ticket)
            return hm_http_fail(r, HM_E_INVALID_FIELD, "ticket",
                                "a request's own stream takes its tracking token, not a ticket");
        if (hm_http_auth(r, &err))
            return hm_http_error(r, &err);
        tracking[0] = hm_http_arg(r, "token");
        tracking[1] = r->actor.role == HM_ROLE_PUBLIC ? hm_http_bearer(r) : NULL;
        if (hm_core_request_stream(r->app, &r->actor, code, tracking, &who.request_id, &err))
            return hm_http_error(r, &err);
    } else if (hm_http_arg(r, "token")) {
        /* A tracking token alone would stream the whole district to a phone. */
        return hm_http_fail(r, HM_E_INVALID_FIELD, "code",
                            "a tracking token follows one request: give its code as well");
    } else if (ticket) {
        if (hm_events_ticket_redeem(ev, ticket, &who))
            return hm_http_fail(r, HM_E_UNAUTHORIZED, "ticket",
                                "the ticket is unknown, used or expired; ask for a new one");
    } else {
        if (hm_http_auth(r, &err))
            return hm_http_error(r, &err);
        if (r->actor.role != HM_ROLE_PUBLIC) {
            who.role = r->actor.role;
            who.team_id = r->actor.team.id;
        }
    }
    who.families = families;
    /* The public's streams count against their address's cap (issue 11). */
    if (who.role == HM_EV_ROLE_PUBLIC)
        snprintf(who.client, sizeof who.client, "%s", hm_http_client(r));
    rc = hm_sse_serve(ev, r->conn, &who, hm_sse_last_event_id(r->conn), &err);
    if (rc == HM_OK) {
        r->status = 200;
        r->responded = true;
        return MHD_YES;
    }
    if (rc == HM_E_INTERNAL)
        return MHD_NO;
    return hm_http_error(r, &err);
}

typedef struct export_state {
    hm_audit_op audit;
    char *text;
    size_t len;
    int format;
} export_state;

static void export_free(void *p)
{
    export_state *e = p;
    free(e->text);
    free(e);
}

/* The export leaves only once its audit entry is committed. */
static enum MHD_Result export_answer(hm_req *r)
{
    export_state *e = r->state;
    char disp[80];
    const char *hdrs[5];
    char *text;
    if (e->audit.job.rc)
        return hm_http_error(r, &e->audit.job.err);
    snprintf(disp, sizeof disp, "attachment; filename=\"helpmap-requests.%s\"",
             hm_export_extension(e->format));
    hdrs[0] = "Content-Disposition";
    hdrs[1] = disp;
    hdrs[2] = "Cache-Control";
    hdrs[3] = "no-store";
    hdrs[4] = NULL;
    text = e->text;
    e->text = NULL;
    return hm_http_bytes(r, 200, hm_export_content_type(e->format), text, e->len, true, hdrs);
}

enum MHD_Result hm_api_export(hm_req *r)
{
    hm_error err = {0};
    const char *fmt = hm_http_arg(r, "format");
    export_state *e;
    hm_buf out;

    static const char *const args[] = {"format",      "bbox",   "status",   "category", "ward",
                                       "former_ward", "hamlet", "priority", "team_id",  "verified",
                                       "source",      "q",      "since",    NULL};
    hm_request_filter f;
    char qbuf[256];

    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || hm_http_check_args(r, args, &err))
        return hm_http_error(r, &err);
    e = hm_xcalloc(1, sizeof *e);
    r->state = e;
    r->state_free = export_free;
    if ((e->format = hm_export_format_parse(fmt ? fmt : "csv")) < 0)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "format", "format must be csv, geojson or kml");
    /* The filters of lists (a commune's daily list for its People's Committee); every status
     * unless one is asked for. */
    if (hm_api_parse_filter(r, &f, qbuf, sizeof qbuf, &err))
        return hm_http_error(r, &err);
    if (!hm_http_arg(r, "status"))
        f.status_mask = 0;
    hm_buf_init(&out);
    if (hm_core_export(r->app, &r->actor, e->format, &f, &out, &e->audit, &err)) {
        hm_buf_clear(&out);
        return hm_http_error(r, &err);
    }
    e->text = hm_buf_steal(&out, &e->len);
    return hm_http_submit_job(r, &e->audit.job, export_answer);
}

/* ---- the audit log ---- */

static int add_audit(void *ctx, const hm_audit *a)
{
    char at[32];
    hm_time_format(a->at, at);
    json_array_append_new(
        ctx, json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:I,s:s}", "id", (json_int_t)a->id, "at", at,
                       "kind", a->kind, "actor", a->actor, "actor_team_id",
                       a->actor_team_id > 0 ? json_integer(a->actor_team_id) : json_null(),
                       "team_id", a->team_id > 0 ? json_integer(a->team_id) : json_null(), "rows",
                       (json_int_t)a->rows, "detail", a->detail));
    return 0;
}

enum MHD_Result hm_api_audit(hm_req *r)
{
    hm_error err = {0};
    hm_audit_filter f;
    const char *s;
    long limit = 1000, team = 0;
    json_t *list, *o;
    char *end;

    memset(&f, 0, sizeof f);
    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err))
        return hm_http_error(r, &err);
    if ((s = hm_http_arg(r, "since")) && hm_time_parse(s, &f.since_ms))
        return hm_http_fail(r, HM_E_INVALID_FIELD, "since",
                            "since must be an RFC 3339 time such as 2026-11-30T02:00:00Z");
    if (arg_int(r, "team_id", 1, 1L << 52, &team, &err) ||
        arg_int(r, "limit", 1, 10000, &limit, &err))
        return hm_http_error(r, &err);
    if ((s = hm_http_arg(r, "kind"))) {
        if (strcmp(s, "export") && strcmp(s, "reveal") && strcmp(s, "team"))
            return hm_http_fail(r, HM_E_INVALID_FIELD, "kind",
                                "kind must be export, reveal or team");
        f.kind = s;
    }
    if ((s = hm_http_arg(r, "cursor"))) {
        long long c = strtoll(s, &end, 10);
        if (end == s || *end || c < 0)
            return hm_http_fail(r, HM_E_INVALID_FIELD, "cursor", "cursor must be a number");
        f.after_id = c;
    }
    f.team_id = team;
    f.limit = (size_t)limit;
    list = json_array();
    if (hm_core_audit_list(r->app, &r->actor, &f, add_audit, list, &err)) {
        json_decref(list);
        return hm_http_error(r, &err);
    }
    o = json_pack("{s:o}", "entries", list);
    if (json_array_size(list) == (size_t)limit) {
        char next[32];
        snprintf(next, sizeof next, "%lld",
                 (long long)json_integer_value(
                     json_object_get(json_array_get(list, json_array_size(list) - 1), "id")));
        json_object_set_new(o, "next", json_string(next));
    } else {
        json_object_set_new(o, "next", json_null());
    }
    return hm_http_json(r, 200, o);
}
