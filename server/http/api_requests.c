/* api_requests.c: the resident's and the hotline's side of requests —
 * create, read with history, cancel, list, verify — and the status moves
 * (claim, status, assign) shared with teams. */
#include "api.h"

#include "geo.h"
#include "hm_log.h"
#include "model.h"
#include "present.h"
#include "ratelimit.h"
#include "service.h"
#include "validate.h"
#include "worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Public creations: per address and per phone limits (SPEC). */
static int rate_check(hm_req *r, const char *phone, hm_error *err)
{
    int retry = 0;
    int64_t now = hm_now_ms();
    if (r->role >= HM_ROLE_OPERATOR)
        return HM_OK;
    if (r->app->ratelimit && !hm_ratelimit_take(r->app->ratelimit, hm_http_client(r), now, &retry))
        return hm_error_set(err, HM_E_RATE_LIMITED, NULL,
                            "too many requests from this address; try again later "
                            "(retry_after=%d)",
                            retry);
    if (r->app->phone_limit && phone && !hm_ratelimit_take(r->app->phone_limit, phone, now, &retry))
        return hm_error_set(err, HM_E_RATE_LIMITED, "phone",
                            "too many requests for this phone number; try again later "
                            "(retry_after=%d)",
                            retry);
    return HM_OK;
}

static void create_free(void *p)
{
    hm_svc_create *c = p;
    hm_svc_create_clear(c);
    free(c);
}

static enum MHD_Result create_done(hm_req *r)
{
    hm_svc_create *c = r->state;
    if (c->job.rc)
        return hm_http_error(r, &c->job.err);
    if (c->duplicate)
        return hm_http_json(r, 200,
                            json_pack("{s:b,s:o}", "duplicate", 1, "request",
                                      hm_request_json(&c->req, HM_VIEW_SNAP)));
    {
        char token_hex[33];
        /* The token lives in the job only as its hash; the clear text was
         * kept in the request state for this one answer. */
        memcpy(token_hex, (char *)(c + 1), sizeof token_hex);
        hm_log(HM_LOG_INFO, "event=request_created id=%lld ward=%s source=%s", (long long)c->req.id,
               c->req.ward_code, hm_source_name(c->req.source));
        return hm_http_json(r, 201,
                            json_pack("{s:o,s:s}", "request",
                                      hm_request_json(&c->req, HM_VIEW_CONTACT), "token",
                                      token_hex));
    }
}

static enum MHD_Result report_error(hm_req *r, const hm_error *err);

/* Validate `body` and submit the creation; answers via `done`, errors
 * before submission with `fail`. */
static enum MHD_Result create_from_json(hm_req *r, json_t *body, hm_handler done,
                                        enum MHD_Result (*fail)(hm_req *, const hm_error *))
{
    hm_error err = {0};
    /* The clear-text token follows the job struct in one allocation. */
    hm_svc_create *c = hm_xcalloc(1, sizeof *c + 33);
    char *token = (char *)(c + 1);

    hm_svc_create_init(c, r->app);
    r->state = c;
    r->state_free = create_free;
    if (hm_validate_request(body, r->role >= HM_ROLE_OPERATOR, &c->req, c->want_ward,
                            c->want_hamlet, &c->by_address, &err) ||
        rate_check(r, c->req.phone, &err))
        return fail(r, &err);
    hm_token_generate(16, token, 33);
    hm_sha256(token, strlen(token), c->token_hash);
    return hm_http_submit_job(r, &c->job, done);
}

enum MHD_Result hm_api_request_create(hm_req *r)
{
    hm_error err = {0};
    json_t *body = NULL;
    enum MHD_Result ret;

    if (hm_http_auth(r, &err))
        return hm_http_error(r, &err);
    if (r->role == HM_ROLE_VOLUNTEER)
        return hm_http_fail(r, HM_E_FORBIDDEN, NULL,
                            "volunteer teams do not create requests; residents and operators do");
    if (hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    ret = create_from_json(r, body, create_done, hm_http_error);
    json_decref(body);
    return ret;
}

/* ---- read ------------------------------------------------------------------------------ */

typedef struct hist_ctx {
    json_t *list;
    bool contact; /* the viewer may see contact data */
} hist_ctx;

static int add_hist(void *ctx, const hm_history *h)
{
    hist_ctx *c = ctx;
    json_t *e = hm_history_json(h);
    /* A resident's own words (a repeated request's note, a cancellation
     * note) are contact data like `note`. */
    if (!c->contact && strcmp(h->actor, "resident") == 0)
        json_object_set_new(e, "note", json_null());
    json_array_append_new(c->list, e);
    return 0;
}

/* Who is asking about request `req` (with stored token hash): sets *view
 * and *actor. HM_E_NOT_FOUND for a wrong or missing tracking token. */
static int access_of(hm_req *r, const hm_request *req, const uint8_t hash[32], unsigned *view,
                     unsigned *actor, hm_error *err)
{
    const char *tok = hm_http_arg(r, "token");
    int rc = hm_http_auth(r, err);
    if (rc)
        return rc;
    *view = 0;
    *actor = 0;
    if (tok && *tok) {
        uint8_t h[32];
        hm_sha256(tok, strlen(tok), h);
        if (hm_ct_equal(h, hash, 32)) {
            *view = HM_VIEW_CONTACT;
            *actor = HM_ACT_RESIDENT;
            return HM_OK;
        }
    }
    if (r->role == HM_ROLE_PUBLIC) {
        /* A resident's tracking token may also come as a Bearer header. */
        const char *h = hm_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
        if (h && strncasecmp(h, "Bearer ", 7) == 0) {
            uint8_t hh[32];
            hm_sha256(h + 7, strlen(h + 7), hh);
            if (hm_ct_equal(hh, hash, 32)) {
                *view = HM_VIEW_CONTACT;
                *actor = HM_ACT_RESIDENT;
                return HM_OK;
            }
        }
        return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code and token");
    }
    if (r->role == HM_ROLE_VOLUNTEER) {
        *actor = HM_ACT_HOLDER;
        if (req->team_id == r->team.id)
            *view = HM_VIEW_CONTACT;
    } else if (r->role == HM_ROLE_OPERATOR) {
        *actor = HM_ACT_OPERATOR;
        *view = HM_VIEW_CONTACT;
    } else {
        *actor = HM_ACT_COORD | HM_ACT_OPERATOR;
        *view = HM_VIEW_CONTACT;
    }
    return HM_OK;
}

typedef struct get_state {
    hm_svc_simple reveal;
    hm_request req;
    unsigned view;
} get_state;

static void get_free(void *p)
{
    get_state *g = p;
    hm_svc_simple_clear(&g->reveal);
    hm_request_clear(&g->req);
    free(g);
}

static enum MHD_Result answer_request(hm_req *r, const hm_request *req, unsigned view)
{
    hm_error err = {0};
    hm_worker *w = hm_worker_get(&err);
    hist_ctx hc;
    json_t *o;

    if (!w)
        return hm_http_error(r, &err);
    hc.list = json_array();
    hc.contact = (view & HM_VIEW_CONTACT) != 0;
    if (hm_store_history_list(w->store, req->id, add_hist, &hc, &err)) {
        json_decref(hc.list);
        return hm_http_error(r, &err);
    }
    o = hm_request_json(req, view);
    json_object_set_new(o, "history", hc.list);
    return hm_http_json(r, 200, json_pack("{s:o}", "request", o));
}

static enum MHD_Result get_done(hm_req *r)
{
    get_state *g = r->state;
    if (g->reveal.job.rc)
        return hm_http_error(r, &g->reveal.job.err);
    return answer_request(r, &g->req, g->view);
}

/* Load the request named by the path; NULL answer on success. */
static int load_request(hm_req *r, hm_request *req, uint8_t hash[32], hm_error *err)
{
    char code[16];
    hm_worker *w;
    int rc;
    if ((rc = hm_code_normalize(r->params[0], r->app->cfg.code_prefix, code, sizeof code, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    return hm_store_request_get(w->store, code, req, hash, err);
}

enum MHD_Result hm_api_request_get(hm_req *r)
{
    hm_error err = {0};
    get_state *g = hm_xcalloc(1, sizeof *g);
    uint8_t hash[32];
    unsigned actor;
    hm_worker *w;
    bool seen = true;

    r->state = g;
    r->state_free = get_free;
    if (load_request(r, &g->req, hash, &err) || access_of(r, &g->req, hash, &g->view, &actor, &err))
        return hm_http_error(r, &err);
    if (!(g->view & HM_VIEW_CONTACT) || (actor & HM_ACT_RESIDENT))
        return answer_request(r, &g->req, g->view);
    /* Contact shown to a team: record it, at most once a day per viewer. */
    if (!(w = hm_worker_get(&err)) ||
        hm_store_reveal_seen(w->store, g->req.id, r->team.name, hm_now_ms() - 24 * 3600 * 1000LL,
                             &seen, &err))
        return hm_http_error(r, &err);
    if (seen)
        return answer_request(r, &g->req, g->view);
    hm_svc_reveal_init(&g->reveal, r->app, &g->req.id, 1, r->team.name);
    return hm_http_submit_job(r, &g->reveal.job, get_done);
}

/* ---- status moves ------------------------------------------------------------------------ */

static void change_free(void *p)
{
    hm_svc_change *c = p;
    hm_svc_change_clear(c);
    free(c);
}

static enum MHD_Result change_done(hm_req *r)
{
    hm_svc_change *c = r->state;
    unsigned view = 0;
    if (c->job.rc)
        return hm_http_error(r, &c->job.err);
    /* The holder and the desk see contact; record it like a GET would. */
    (void)view;
    return hm_http_json(r, 200, json_pack("{s:o}", "request", hm_request_json(&c->result, 0)));
}

/* Set up a change job for the request in the path, from the caller's role. */
static hm_svc_change *new_change(hm_req *r, int to, hm_error *err)
{
    char code[16];
    hm_svc_change *c;
    if (hm_code_normalize(r->params[0], r->app->cfg.code_prefix, code, sizeof code, err))
        return NULL;
    c = hm_xcalloc(1, sizeof *c);
    hm_svc_change_init(c, r->app, code, to);
    r->state = c;
    r->state_free = change_free;
    c->actor_team = r->team.id;
    snprintf(c->actor_name, sizeof c->actor_name, "%s", r->team.name);
    switch (r->role) {
        case HM_ROLE_VOLUNTEER:
            c->actor = HM_ACT_HOLDER;
            break;
        case HM_ROLE_OPERATOR:
            c->actor = HM_ACT_OPERATOR;
            break;
        case HM_ROLE_COORDINATOR:
        case HM_ROLE_ADMIN:
            c->actor = HM_ACT_COORD | HM_ACT_OPERATOR;
            break;
        default:
            c->actor = 0;
    }
    return c;
}

static int optional_note(hm_req *r, json_t **body, char **note, hm_error *err)
{
    int rc;
    *body = NULL;
    if (!r->body.len)
        return HM_OK;
    if ((rc = hm_http_json_body(r, body, err)))
        return rc;
    return hm_validate_text(*body, "note", 500, note, err);
}

enum MHD_Result hm_api_request_cancel(hm_req *r)
{
    hm_error err = {0};
    hm_request req;
    uint8_t hash[32];
    unsigned view, actor;
    hm_svc_change *c;
    json_t *body = NULL;
    int rc;

    memset(&req, 0, sizeof req);
    rc = load_request(r, &req, hash, &err);
    if (!rc)
        rc = access_of(r, &req, hash, &view, &actor, &err);
    if (!rc && r->role == HM_ROLE_VOLUNTEER)
        rc = hm_error_set(&err, HM_E_FORBIDDEN, NULL,
                          "volunteer teams release a request instead of cancelling it");
    hm_request_clear(&req);
    if (rc || !(c = new_change(r, HM_ST_CANCELLED, &err)))
        return hm_http_error(r, &err);
    if (actor & HM_ACT_RESIDENT) {
        c->actor = HM_ACT_RESIDENT;
        snprintf(c->actor_name, sizeof c->actor_name, "resident");
        c->actor_team = 0;
    }
    rc = optional_note(r, &body, &c->note, &err);
    json_decref(body);
    if (rc)
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &c->job, change_done);
}

enum MHD_Result hm_api_request_claim(hm_req *r)
{
    hm_error err = {0};
    hm_svc_change *c;
    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err))
        return hm_http_error(r, &err);
    if (r->role == HM_ROLE_OPERATOR)
        return hm_http_fail(r, HM_E_FORBIDDEN, NULL, "operators do not claim requests");
    if (!(c = new_change(r, HM_ST_ASSIGNED, &err)))
        return hm_http_error(r, &err);
    c->claim = true;
    c->assign_team = r->team.id;
    return hm_http_submit_job(r, &c->job, change_done);
}

enum MHD_Result hm_api_request_status(hm_req *r)
{
    hm_error err = {0};
    hm_svc_change *c;
    json_t *body = NULL, *v;
    int to;
    enum MHD_Result ret;

    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err))
        return hm_http_error(r, &err);
    if (r->role == HM_ROLE_OPERATOR)
        return hm_http_fail(r, HM_E_FORBIDDEN, NULL,
                            "operators cancel or verify; teams and coordinators move requests");
    if (hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    v = json_object_get(body, "status");
    if ((to = hm_status_parse(json_string_value(v))) < 0) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "status",
                            "status must be one of new, assigned, in_progress, resolved, "
                            "cancelled, duplicate");
    }
    if (to == HM_ST_ASSIGNED) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "status",
                            "use /claim or /assign to assign a request");
    }
    if (!(c = new_change(r, to, &err))) {
        json_decref(body);
        return hm_http_error(r, &err);
    }
    if (hm_validate_text(body, "note", 500, &c->note, &err)) {
        json_decref(body);
        return hm_http_error(r, &err);
    }
    v = json_object_get(body, "duplicate_of");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) ||
            hm_code_normalize(json_string_value(v), r->app->cfg.code_prefix, c->duplicate_of,
                              sizeof c->duplicate_of, NULL)) {
            json_decref(body);
            return hm_http_fail(r, HM_E_INVALID_FIELD, "duplicate_of",
                                "duplicate_of must be a request code such as CC-4K7M2B");
        }
    }
    json_decref(body);
    ret = hm_http_submit_job(r, &c->job, change_done);
    return ret;
}

enum MHD_Result hm_api_request_assign(hm_req *r)
{
    hm_error err = {0};
    hm_svc_change *c;
    json_t *body = NULL, *v;
    hm_team t;
    hm_worker *w;

    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    v = json_object_get(body, "team_id");
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "team_id", "team_id must be a team's id");
    }
    if (!(w = hm_worker_get(&err)) ||
        hm_store_team_get(w->store, (int64_t)json_integer_value(v), &t, &err)) {
        json_decref(body);
        if (err.code == HM_E_NOT_FOUND) {
            hm_error e2 = {0};
            hm_error_set(&e2, HM_E_INVALID_FIELD, "team_id", "no team has this id");
            return hm_http_error(r, &e2);
        }
        return hm_http_error(r, &err);
    }
    if (t.disabled || t.role != HM_ROLE_VOLUNTEER) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "team_id",
                            "requests are assigned to enabled volunteer teams");
    }
    if (!(c = new_change(r, HM_ST_ASSIGNED, &err))) {
        json_decref(body);
        return hm_http_error(r, &err);
    }
    c->assign_team = t.id;
    if (hm_validate_text(body, "note", 500, &c->note, &err)) {
        json_decref(body);
        return hm_http_error(r, &err);
    }
    json_decref(body);
    return hm_http_submit_job(r, &c->job, change_done);
}

static void simple_free(void *p)
{
    hm_svc_simple_clear(p);
    free(p);
}

static enum MHD_Result verify_done(hm_req *r)
{
    hm_svc_simple *s = r->state;
    if (s->job.rc)
        return hm_http_error(r, &s->job.err);
    return hm_http_json(r, 200, json_pack("{s:o}", "request", hm_request_json(&s->result, 0)));
}

enum MHD_Result hm_api_request_verify(hm_req *r)
{
    hm_error err = {0};
    hm_request req;
    uint8_t hash[32];
    hm_svc_simple *s;

    if (hm_http_require(r, HM_ROLE_OPERATOR, &err))
        return hm_http_error(r, &err);
    memset(&req, 0, sizeof req);
    if (load_request(r, &req, hash, &err))
        return hm_http_error(r, &err);
    s = hm_xcalloc(1, sizeof *s);
    hm_svc_verify_init(s, r->app, req.id, r->team.name);
    hm_request_clear(&req);
    r->state = s;
    r->state_free = simple_free;
    return hm_http_submit_job(r, &s->job, verify_done);
}

/* ---- list ------------------------------------------------------------------------------ */

typedef struct list_ctx {
    json_t *features;
    unsigned view;
    size_t n;
    int64_t last_id;
    int64_t *ids;
    size_t n_ids;
} list_ctx;

static int list_visit(void *ctx, const hm_request *q)
{
    list_ctx *c = ctx;
    json_array_append_new(c->features, hm_request_feature(q, c->view));
    c->n++;
    c->last_id = q->id;
    if (c->ids)
        c->ids[c->n_ids++] = q->id;
    return 0;
}

static int parse_bbox(const char *s, double bbox[4], hm_error *err)
{
    char *end;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        bbox[i] = strtod(p, &end);
        if (end == p || !isfinite(bbox[i]) || (i < 3 && *end != ',') || (i == 3 && *end))
            return hm_error_set(err, HM_E_INVALID_FIELD, "bbox",
                                "bbox must be minLon,minLat,maxLon,maxLat");
        p = end + 1;
    }
    if (bbox[0] < -180 || bbox[2] > 180 || bbox[1] < -90 || bbox[3] > 90 || bbox[0] > bbox[2] ||
        bbox[1] > bbox[3])
        return hm_error_set(err, HM_E_INVALID_FIELD, "bbox",
                            "bbox must be minLon,minLat,maxLon,maxLat within lon/lat range");
    return HM_OK;
}

/* Parse a non-negative integer argument in [min, max]. */
static int parse_int_arg(hm_req *r, const char *name, long long min, long long max, long long *out,
                         hm_error *err)
{
    const char *s = hm_http_arg(r, name);
    char *end;
    long long v;
    if (!s)
        return HM_OK;
    v = strtoll(s, &end, 10);
    if (end == s || *end || v < min || v > max)
        return hm_error_set(err, HM_E_INVALID_FIELD, name,
                            "%s must be a whole number from %lld to %lld", name, min, max);
    *out = v;
    return HM_OK;
}

int hm_api_parse_status_filter(const char *s, unsigned *mask, hm_error *err);
int hm_api_parse_status_filter(const char *s, unsigned *mask, hm_error *err)
{
    int st;
    if (!s || strcmp(s, "open") == 0)
        *mask = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    else if (strcmp(s, "all") == 0)
        *mask = 0;
    else if ((st = hm_status_parse(s)) >= 0)
        *mask = 1u << st;
    else
        return hm_error_set(err, HM_E_INVALID_FIELD, "status",
                            "status must be open, all or one status name");
    return HM_OK;
}

static enum MHD_Result list_reveal_done(hm_req *r)
{
    hm_svc_simple *s = r->state;
    char *text = s->result.note;
    static const char *const nocache[] = {"Cache-Control", "no-store", NULL};
    if (s->job.rc)
        return hm_http_error(r, &s->job.err);
    s->result.note = NULL;
    return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, strlen(text), true,
                         nocache);
}

enum MHD_Result hm_api_request_list(hm_req *r)
{
    hm_error err = {0};
    hm_request_filter f;
    list_ctx c;
    hm_worker *w;
    const char *s;
    long long limit = 1000, cursor = 0;
    char phone[24];
    json_t *fc;
    int rc;

    memset(&f, 0, sizeof f);
    memset(&c, 0, sizeof c);
    f.category = -1;
    f.verified = -1;
    if (hm_http_auth(r, &err))
        return hm_http_error(r, &err);
    c.view = r->role == HM_ROLE_PUBLIC ? HM_VIEW_SNAP : 0;
    if ((s = hm_http_arg(r, "bbox"))) {
        if (parse_bbox(s, f.bbox, &err))
            return hm_http_error(r, &err);
        f.has_bbox = true;
    }
    if (hm_api_parse_status_filter(hm_http_arg(r, "status"), &f.status_mask, &err))
        return hm_http_error(r, &err);
    if ((s = hm_http_arg(r, "category")) && (f.category = hm_category_parse(s)) < 0)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "category", "unknown category");
    if ((s = hm_http_arg(r, "ward"))) {
        if (!*s || strlen(s) > 39)
            return hm_http_fail(r, HM_E_INVALID_FIELD, "ward", "ward must be a ward code");
        f.ward_code = s;
    }
    if ((s = hm_http_arg(r, "since")) && hm_time_parse(s, &f.since_ms))
        return hm_http_fail(r, HM_E_INVALID_FIELD, "since",
                            "since must be an RFC 3339 time such as 2026-11-30T02:00:00Z");
    if ((s = hm_http_arg(r, "verified"))) {
        if (strcmp(s, "true") == 0)
            f.verified = 1;
        else if (strcmp(s, "false") == 0)
            f.verified = 0;
        else
            return hm_http_fail(r, HM_E_INVALID_FIELD, "verified",
                                "verified must be true or false");
    }
    if (parse_int_arg(r, "limit", 1, 10000, &limit, &err) ||
        parse_int_arg(r, "cursor", 0, INT64_MAX / 2, &cursor, &err))
        return hm_http_error(r, &err);
    if ((s = hm_http_arg(r, "phone"))) {
        if (r->role < HM_ROLE_OPERATOR)
            return hm_http_fail(r, r->role == HM_ROLE_PUBLIC ? HM_E_UNAUTHORIZED : HM_E_FORBIDDEN,
                                "phone", "looking up a phone number needs an operator token");
        if (hm_phone_normalize(s, phone, sizeof phone, &err))
            return hm_http_error(r, &err);
        f.phone = phone;
        c.view |= HM_VIEW_CONTACT;
        c.ids = hm_xmalloc((size_t)limit * sizeof *c.ids);
    }
    f.after_id = cursor;
    if (!(w = hm_worker_get(&err))) {
        free(c.ids);
        return hm_http_error(r, &err);
    }
    c.features = json_array();
    f.limit = (size_t)limit;
    /* Without contact data the open requests come from memory (issue 7); the rest from the
     * database. */
    rc = c.ids ? HM_E_NOT_FOUND : hm_svc_open_list(r->app, &f, true, list_visit, &c);
    if (rc == HM_E_NOT_FOUND)
        rc = hm_store_request_list(w->store, &f, list_visit, &c, &err);
    if (rc) {
        json_decref(c.features);
        free(c.ids);
        return hm_http_error(r, &err);
    }
    fc = json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", c.features);
    if (c.n == (size_t)limit) {
        char next[32];
        snprintf(next, sizeof next, "%lld", (long long)c.last_id);
        json_object_set_new(fc, "next", json_string(next));
    } else {
        json_object_set_new(fc, "next", json_null());
    }
    if (c.ids && c.n_ids > 0) {
        /* An operator saw contact data: record it before answering. */
        hm_svc_simple *sj = hm_xcalloc(1, sizeof *sj);
        hm_svc_reveal_init(sj, r->app, c.ids, c.n_ids, r->team.name);
        free(c.ids);
        r->state = sj;
        r->state_free = simple_free;
        sj->result.note = json_dumps(fc, HM_JSON_FLAGS); /* the answer, kept until done */
        json_decref(fc);
        return hm_http_submit_job(r, &sj->job, list_reveal_done);
    }
    free(c.ids);
    return hm_http_json(r, 200, fc);
}

/* ---- the no-JavaScript form ------------------------------------------------------------- */

/* Decode one application/x-www-form-urlencoded component in place. */
static void form_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%' && hm_hexval(p[1]) >= 0 && hm_hexval(p[2]) >= 0) {
            *o++ = (char)(hm_hexval(p[1]) * 16 + hm_hexval(p[2]));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

static const char page_head[] =
    "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    "<title>helpmap</title><link rel=\"stylesheet\" href=\"/assets/report.css\"></head><body>";

static enum MHD_Result html_page(hm_req *r, unsigned status, hm_buf *b)
{
    size_t len;
    char *text;
    hm_buf_puts(b, "</body></html>");
    text = hm_buf_steal(b, &len);
    return hm_http_bytes(r, status, "text/html; charset=utf-8", text, len, true, NULL);
}

static enum MHD_Result report_error(hm_req *r, const hm_error *err)
{
    hm_buf b;
    static const struct {
        const char *field, *vi;
    } labels[] = {
        {"phone", "Số điện thoại không hợp lệ. Ví dụ: 0909 123 456."},
        {"category", "Hãy chọn loại hỗ trợ cần."},
        {"people", "Số người phải từ 1 đến 500."},
        {"ward_code", "Hãy chọn xã/phường."},
        {"hamlet_code", "Ấp/khu phố không thuộc xã đã chọn."},
        {"address", "Hãy ghi địa chỉ (số nhà, đường, ấp)."},
        {"note", "Ghi chú tối đa 500 ký tự."},
        {"name", "Họ tên tối đa 100 ký tự."},
    };
    const char *vi = "Không gửi được yêu cầu. Vui lòng thử lại hoặc gọi 1022.";
    unsigned status = hm_http_status_of(err->code);

    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (err->field && strcmp(err->field, labels[i].field) == 0)
            vi = labels[i].vi;
    if (err->code == HM_E_RATE_LIMITED)
        vi = "Bạn đã gửi quá nhiều yêu cầu. Vui lòng chờ rồi thử lại, hoặc gọi 1022.";
    if (status >= 500)
        vi = "Hệ thống đang bận. Vui lòng thử lại sau ít phút hoặc gọi 1022.";
    r->err_code = hm_err_name(err->code);
    hm_buf_init(&b);
    hm_buf_puts(&b, page_head);
    hm_buf_puts(&b, "<main><h1>Chưa gửi được / Not sent</h1><p class=\"error\" role=\"alert\">");
    hm_buf_put_escaped(&b, vi);
    hm_buf_puts(&b, "</p><p lang=\"en\">");
    hm_buf_put_escaped(&b, status >= 500 ? "The service is busy; please try again." : err->msg);
    hm_buf_puts(&b, "</p><p><a href=\"/\">Quay lại / Back</a></p></main>");
    return html_page(r, status, &b);
}

static enum MHD_Result report_done(hm_req *r)
{
    hm_svc_create *c = r->state;
    hm_buf b;
    const char *token = (const char *)(c + 1);

    if (c->job.rc)
        return report_error(r, &c->job.err);
    hm_buf_init(&b);
    hm_buf_puts(&b, page_head);
    if (c->duplicate) {
        hm_buf_puts(&b, "<main><h1>Đã nhận / Received</h1><p>Yêu cầu này đã có. Mã của bạn / "
                        "Your code:</p><p class=\"code\">");
        hm_buf_put_escaped(&b, c->req.code);
        hm_buf_puts(&b, "</p><p>Ghi chú mới đã được thêm vào yêu cầu. / Your new note was added "
                        "to the existing request.</p></main>");
        return html_page(r, 200, &b);
    }
    hm_buf_puts(&b, "<main><h1>Đã gửi yêu cầu / Request sent</h1><p>Mã yêu cầu / Your code:</p>"
                    "<p class=\"code\">");
    hm_buf_put_escaped(&b, c->req.code);
    hm_buf_puts(&b, "</p><p>Hãy ghi lại mã này. Đội hỗ trợ gần nhất sẽ liên hệ. / Keep this code; "
                    "the nearest team will contact you.</p><p><a href=\"/track/");
    hm_buf_put_escaped(&b, c->req.code);
    hm_buf_puts(&b, "?token=");
    hm_buf_put_escaped(&b, token);
    hm_buf_puts(&b, "\">Theo dõi yêu cầu / Track your request</a></p></main>");
    return html_page(r, 201, &b);
}

enum MHD_Result hm_api_report_form(hm_req *r)
{
    json_t *body = json_object(), *vul = json_array();
    char *data = r->body.data ? hm_xstrndup(r->body.data, r->body.len) : hm_xstrdup("");
    enum MHD_Result ret;
    hm_error err = {0};

    r->role = HM_ROLE_PUBLIC; /* the form is the resident's, whatever headers say */
    r->auth_done = true;
    for (char *save = NULL, *pair = strtok_r(data, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq)
            continue;
        *eq = '\0';
        form_decode(pair);
        form_decode(eq + 1);
        if (!hm_text_ok(eq + 1, 1000))
            continue;
        if (strcmp(pair, "vulnerable") == 0)
            json_array_append_new(vul, json_string(eq + 1));
        else if (strcmp(pair, "people") == 0) {
            char *end;
            long v = strtol(eq + 1, &end, 10);
            if (end != eq + 1 && !*end)
                json_object_set_new(body, "people", json_integer(v));
            else if (eq[1])
                json_object_set_new(body, "people", json_string(eq + 1));
        } else if (strcmp(pair, "lat") == 0 || strcmp(pair, "lon") == 0) {
            /* The plain form sends no position. */
        } else if (eq[1]) {
            json_object_set_new(body, pair, json_string(eq + 1));
        }
    }
    free(data);
    json_object_set_new(body, "vulnerable", vul);
    json_object_set_new(body, "location_precision", json_string("address"));
    if (!json_object_get(body, "ward_code")) {
        json_decref(body);
        hm_error_set(&err, HM_E_INVALID_FIELD, "ward_code", "choose a commune");
        return report_error(r, &err);
    }
    ret = create_from_json(r, body, report_done, report_error);
    json_decref(body);
    return ret;
}
