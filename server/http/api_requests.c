/* api_requests.c: the HTTP side of requests — create, read with history, cancel, list,
 * verify, the status moves (claim, status, assign) and the no-JavaScript form. Each handler
 * parses, calls one core function (requests.h), and renders. */
#include "api.h"

#include "areas.h"
#include "cache.h"
#include "edit.h"
#include "fold.h"
#include "hm_log.h"
#include "import.h"
#include "model.h"
#include "present.h"
#include "requests.h"
#include "validate.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- create ---------------------------------------------------------------------------- */

static void create_free(void *p)
{
    hm_create_op_clear(p);
    free(p);
}

static const char *const no_store[] = {"Cache-Control", "no-store", NULL};

static enum MHD_Result create_done(hm_req *r)
{
    hm_create_op *c = r->state;
    char *text;
    size_t len;
    int status;

    if (c->job.rc)
        return hm_http_error(r, &c->job.err);
    if (!c->duplicate && !c->replayed)
        hm_log(HM_LOG_INFO, "event=request_created id=%lld ward=%s source=%s%s",
               (long long)c->req.id, c->req.ward_code, hm_source_name(c->req.source),
               c->idem.on ? " idempotency_key=1" : "");
    if (c->answer) {
        /* With an Idempotency-Key: the bytes stored with it (or the first creation's). */
        text = c->answer;
        len = c->answer_len;
        status = c->answer_status;
        c->answer = NULL;
    } else {
        text = hm_core_create_answer(c, &status, &len);
    }
    return hm_http_bytes(r, (unsigned)status, "application/json; charset=utf-8", text, len, true,
                         no_store);
}

/* Validate `body` and submit the creation (with the Idempotency-Key `idem`, may be NULL);
 * answers via `done`, errors before submission with `fail`. */
static enum MHD_Result create_from_json(hm_req *r, json_t *body, const hm_idem *idem,
                                        hm_handler done,
                                        enum MHD_Result (*fail)(hm_req *, const hm_error *))
{
    hm_error err = {0};
    hm_create_op *c = hm_xcalloc(1, sizeof *c);

    r->state = c;
    r->state_free = create_free;
    if (hm_core_create(r->app, &r->actor, body, c, &err))
        return fail(r, &err);
    if (idem)
        c->idem = *idem;
    return hm_http_submit_job(r, &c->job, done);
}

enum MHD_Result hm_api_request_create(hm_req *r)
{
    hm_error err = {0};
    json_t *body = NULL;
    enum MHD_Result ret;
    const char *key = hm_http_header(r, "Idempotency-Key");
    hm_idem idem;

    if (hm_http_auth(r, &err))
        return hm_http_error(r, &err);
    if (r->actor.role == HM_ROLE_VOLUNTEER)
        return hm_http_fail(r, HM_E_FORBIDDEN, NULL,
                            "volunteer teams do not create requests; residents and operators do");
    memset(&idem, 0, sizeof idem);
    if (key) {
        /* A request sent again (a phone that lost the answer): the first answer, before any
         * validation or rate limit (issue 17). */
        bool found = false;
        int status = 0;
        char *text = NULL;
        size_t len = 0;
        if (hm_idem_init(&r->actor, key, r->body.data, r->body.len, &idem, &err) ||
            hm_core_idem_replay(r->app, &idem, &found, &status, &text, &len, &err))
            return hm_http_error(r, &err);
        if (found) {
            hm_log(HM_LOG_INFO, "event=request_replayed status=%d", status);
            return hm_http_bytes(r, (unsigned)status, "application/json; charset=utf-8", text, len,
                                 true, no_store);
        }
    }
    if (hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    ret = create_from_json(r, body, key ? &idem : NULL, create_done, hm_http_error);
    json_decref(body);
    return ret;
}

/* ---- read ------------------------------------------------------------------------------ */

/* The resident's token candidates: ?token=, and a bearer that is no team's. */
static void tracking_of(hm_req *r, const char *tracking[2])
{
    tracking[0] = hm_http_arg(r, "token");
    tracking[1] = r->actor.role == HM_ROLE_PUBLIC ? hm_http_bearer(r) : NULL;
}

static void view_free(void *p)
{
    hm_request_view_clear(p);
    free(p);
}

static enum MHD_Result answer_view(hm_req *r)
{
    hm_request_view *v = r->state;
    if (v->pending && v->pending->rc)
        return hm_http_error(r, &v->pending->err);
    return hm_http_json(r, 200, json_pack("{s:o}", "request", hm_request_view_json(r->app, v)));
}

enum MHD_Result hm_api_request_get(hm_req *r)
{
    hm_error err = {0};
    hm_request_view *v = hm_xcalloc(1, sizeof *v);
    const char *tracking[2];

    r->state = v;
    r->state_free = view_free;
    if (hm_http_auth(r, &err))
        return hm_http_error(r, &err);
    tracking_of(r, tracking);
    if (hm_core_request_read(r->app, &r->actor, r->params[0], tracking, v, &err))
        return hm_http_error(r, &err);
    if (v->pending)
        return hm_http_submit_job(r, v->pending, answer_view);
    return answer_view(r);
}

/* ---- status moves ------------------------------------------------------------------------ */

static void change_free(void *p)
{
    hm_change_op_clear(p);
    free(p);
}

static enum MHD_Result change_done(hm_req *r)
{
    hm_change_op *c = r->state;
    if (c->job.rc)
        return hm_http_error(r, &c->job.err);
    return hm_http_json(
        r, 200, json_pack("{s:o}", "request", hm_core_request_json(r->app, &c->result, 0, true)));
}

static hm_change_op *new_change(hm_req *r)
{
    hm_change_op *c = hm_xcalloc(1, sizeof *c);
    r->state = c;
    r->state_free = change_free;
    return c;
}

/* The optional {"note": "..."} body of a move. */
static int optional_note(hm_req *r, char **note, hm_error *err)
{
    json_t *body = NULL;
    int rc;
    *note = NULL;
    if (!r->body.len)
        return HM_OK;
    if ((rc = hm_http_json_body(r, &body, err)))
        return rc;
    rc = hm_validate_text(body, "note", 500, note, err);
    json_decref(body);
    return rc;
}

enum MHD_Result hm_api_request_cancel(hm_req *r)
{
    hm_error err = {0};
    hm_change_op *c = new_change(r);
    const char *tracking[2];

    if (hm_http_auth(r, &err))
        return hm_http_error(r, &err);
    tracking_of(r, tracking);
    if (hm_core_cancel(r->app, &r->actor, r->params[0], tracking, NULL, c, &err) ||
        optional_note(r, &c->note, &err))
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &c->job, change_done);
}

enum MHD_Result hm_api_request_safe(hm_req *r)
{
    hm_error err = {0};
    hm_change_op *c = new_change(r);
    const char *tracking[2];

    if (hm_http_auth(r, &err))
        return hm_http_error(r, &err);
    tracking_of(r, tracking);
    if (hm_core_safe(r->app, &r->actor, r->params[0], tracking, NULL, c, &err) ||
        optional_note(r, &c->note, &err))
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &c->job, change_done);
}

enum MHD_Result hm_api_request_claim(hm_req *r)
{
    hm_error err = {0};
    hm_change_op *c = new_change(r);
    if (hm_http_auth(r, &err) || hm_core_claim(r->app, &r->actor, r->params[0], c, &err))
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &c->job, change_done);
}

enum MHD_Result hm_api_request_status(hm_req *r)
{
    hm_error err = {0};
    hm_change_op *c = new_change(r);
    json_t *body = NULL, *v;
    char *note = NULL;
    int to, rc;

    if (hm_http_require(r, HM_ROLE_VOLUNTEER, &err))
        return hm_http_error(r, &err);
    if (r->actor.role == HM_ROLE_OPERATOR)
        return hm_http_fail(r, HM_E_FORBIDDEN, NULL,
                            "operators cancel or verify; teams and coordinators move requests");
    if (hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    if ((to = hm_status_parse(json_string_value(json_object_get(body, "status")))) < 0) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "status",
                            "status must be one of new, assigned, in_progress, resolved, "
                            "cancelled, duplicate");
    }
    v = json_object_get(body, "duplicate_of");
    if (v && !json_is_null(v) && !json_is_string(v)) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "duplicate_of",
                            "duplicate_of must be a request code such as CC-4K7M2B");
    }
    rc = hm_validate_text(body, "note", 500, &note, &err);
    if (!rc)
        rc = hm_core_move(r->app, &r->actor, r->params[0], to, json_string_value(v), note, c, &err);
    if (!rc)
        rc = hm_core_move_delivered(c, json_object_get(body, "delivered"), &err);
    json_decref(body);
    if (rc)
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &c->job, change_done);
}

enum MHD_Result hm_api_request_assign(hm_req *r)
{
    hm_error err = {0};
    hm_change_op *c = new_change(r);
    json_t *body = NULL, *v;
    char *note = NULL;
    int rc;

    if (hm_http_require(r, HM_ROLE_COORDINATOR, &err) || hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    v = json_object_get(body, "team_id");
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        json_decref(body);
        return hm_http_fail(r, HM_E_INVALID_FIELD, "team_id", "team_id must be a team's id");
    }
    rc = hm_validate_text(body, "note", 500, &note, &err);
    if (!rc)
        rc = hm_core_assign(r->app, &r->actor, r->params[0], (int64_t)json_integer_value(v), note,
                            c, &err);
    json_decref(body);
    if (rc)
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &c->job, change_done);
}

static void mark_free(void *p)
{
    hm_mark_op_clear(p);
    free(p);
}

static enum MHD_Result verify_done(hm_req *r)
{
    hm_mark_op *m = r->state;
    if (m->job.rc)
        return hm_http_error(r, &m->job.err);
    return hm_http_json(
        r, 200, json_pack("{s:o}", "request", hm_core_request_json(r->app, &m->result, 0, true)));
}

enum MHD_Result hm_api_request_verify(hm_req *r)
{
    hm_error err = {0};
    hm_mark_op *m = hm_xcalloc(1, sizeof *m);
    json_t *body = NULL;
    enum MHD_Result ret;

    r->state = m;
    r->state_free = mark_free;
    if (hm_http_auth(r, &err) || (r->body.len && hm_http_json_body(r, &body, &err)))
        return hm_http_error(r, &err);
    if (hm_core_verify(r->app, &r->actor, r->params[0], body, m, &err)) {
        ret = hm_http_error(r, &err); /* before the body goes: err->field may borrow from it */
        json_decref(body);
        return ret;
    }
    json_decref(body);
    return hm_http_submit_job(r, &m->job, verify_done);
}

/* ---- edit ------------------------------------------------------------------------------ */

static void edit_free(void *p)
{
    hm_edit_op_clear(p);
    free(p);
}

static enum MHD_Result edit_done(hm_req *r)
{
    hm_edit_op *e = r->state;
    if (e->job.rc)
        return hm_http_error(r, &e->job.err);
    return hm_http_json(r, 200,
                        json_pack("{s:o,s:i}", "request",
                                  hm_core_request_json(r->app, &e->result, e->view, true),
                                  "changed", e->changed));
}

enum MHD_Result hm_api_request_edit(hm_req *r)
{
    hm_error err = {0};
    hm_edit_op *e = hm_xcalloc(1, sizeof *e);
    const char *tracking[2];
    json_t *body = NULL;
    enum MHD_Result ret;

    r->state = e;
    r->state_free = edit_free;
    if (hm_http_auth(r, &err))
        return hm_http_error(r, &err);
    tracking_of(r, tracking);
    if (hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    if (hm_core_edit(r->app, &r->actor, r->params[0], tracking, body, e, &err)) {
        ret = hm_http_error(r, &err); /* before the body goes: err->field may borrow from it */
        json_decref(body);
        return ret;
    }
    json_decref(body);
    return hm_http_submit_job(r, &e->job, edit_done);
}

/* ---- bulk import --------------------------------------------------------------------------- */

static void import_free(void *p)
{
    hm_requests_import_clear(p);
    free(p);
}

static enum MHD_Result import_done(hm_req *r)
{
    hm_requests_import *op = r->state;
    static const char *const nocache[] = {"Cache-Control", "no-store", NULL};
    json_t *rep;
    char *text;
    if (op->job.rc && !op->done)
        return hm_http_error(r, &op->job.err);
    rep = hm_requests_import_report(op);
    text = json_dumps(rep, HM_JSON_FLAGS);
    json_decref(rep);
    if (!text)
        return MHD_NO;
    hm_log(HM_LOG_INFO, "event=requests_imported rows=%zu accepted=%zu refused=%zu stored=%d",
           op->n_rows, op->accepted, op->refused, op->stored);
    return hm_http_bytes(r, op->stored ? 201 : 200, "application/json; charset=utf-8", text,
                         strlen(text), true, nocache);
}

enum MHD_Result hm_api_request_import(hm_req *r)
{
    static const char *const args[] = {"dry_run", NULL};
    hm_error err = {0};
    hm_requests_import *op = hm_xcalloc(1, sizeof *op);
    const char *ct = hm_http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *dry = hm_http_arg(r, "dry_run");

    r->state = op;
    r->state_free = import_free;
    if (hm_http_require(r, HM_ROLE_OPERATOR, &err) || hm_http_check_args(r, args, &err))
        return hm_http_error(r, &err);
    if (dry && strcmp(dry, "true") && strcmp(dry, "false"))
        return hm_http_fail(r, HM_E_INVALID_FIELD, "dry_run", "dry_run must be true or false");
    if (ct && strncasecmp(ct, "text/csv", 8) != 0 && strncasecmp(ct, "text/plain", 10) != 0)
        return hm_http_fail(r, HM_E_INVALID_FIELD, "Content-Type",
                            "send the file as text/csv (UTF-8), a header row first");
    if (hm_core_import_requests(r->app, &r->actor, r->body.data ? r->body.data : "", r->body.len,
                                dry && strcmp(dry, "true") == 0, op, &err))
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &op->job, import_done);
}

/* ---- list ------------------------------------------------------------------------------ */

typedef struct list_state {
    hm_core *core;
    hm_list list;
    json_t *features; /* with contact data: JSON objects */
    hm_buf fast;      /* without: the features as text (hm_core_request_feature_text) */
    size_t n_fast;
    char *text; /* the answer, kept while the reveals are recorded */
    struct {
        int priority;
        int64_t created_at, id;
    } last; /* the last request listed: the cursor of order=urgent */
} list_state;

static void list_free(void *p)
{
    list_state *l = p;
    hm_list_clear(&l->list);
    json_decref(l->features);
    hm_buf_clear(&l->fast);
    free(l->text);
    free(l);
}

static int list_visit(void *ctx, const hm_request *q)
{
    list_state *l = ctx;
    /* Without contact data the feature is rendered straight into text (the bytes json_dumps
     * would give): a bbox answer of 1,000 features built as JSON trees cost more than finding
     * them (issue 18). */
    if (!(l->list.view & (HM_VIEW_CONTACT | HM_VIEW_RECEIPT))) {
        if (l->n_fast++)
            hm_buf_putc(&l->fast, ',');
        hm_core_request_feature_text(l->core, &l->fast, q, l->list.view, false, NAN);
    } else {
        json_array_append_new(l->features,
                              hm_core_request_feature(l->core, q, l->list.view, false));
    }
    l->last.priority = q->priority;
    l->last.created_at = q->created_at;
    l->last.id = q->id;
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

/* A whole-number argument in [min, max] into *out, left alone when absent. */
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

static enum MHD_Result list_answer(hm_req *r)
{
    list_state *l = r->state;
    static const char *const nocache[] = {"Cache-Control", "no-store", NULL};
    char *text;
    if (l->list.reveal->job.rc)
        return hm_http_error(r, &l->list.reveal->job.err);
    text = l->text;
    l->text = NULL;
    return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, strlen(text), true,
                         nocache);
}

/* An area code argument (ward, former_ward, hamlet) into *out. */
static int code_arg(hm_req *r, const char *name, const char **out, hm_error *err)
{
    const char *s = hm_http_arg(r, name);
    if (!s)
        return HM_OK;
    if (!*s || strlen(s) > 39)
        return hm_error_set(err, HM_E_INVALID_FIELD, name, "%s must be an area code", name);
    *out = s;
    return HM_OK;
}

/* A comma-separated list of names of `parse` into a bit mask. */
static int mask_arg(hm_req *r, const char *name, int (*parse)(const char *), unsigned *mask,
                    hm_error *err)
{
    const char *s = hm_http_arg(r, name);
    char buf[128];
    if (!s)
        return HM_OK;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int v = parse(w);
        if (v < 0 || v > 30)
            return hm_error_set(err, HM_E_INVALID_FIELD, name, "%s has an unknown value", name);
        *mask |= 1u << v;
    }
    if (!*mask)
        return hm_error_set(err, HM_E_INVALID_FIELD, name, "%s has no value", name);
    return HM_OK;
}

static int priority_parse(const char *s)
{
    return strcmp(s, "urgent") == 0   ? HM_PRIO_URGENT
           : strcmp(s, "normal") == 0 ? HM_PRIO_NORMAL
                                      : -1;
}

/* The filters lists and exports share (issue 14), into `f` (zeroed here). `q` is folded into
 * `qbuf` (f->q points there). */
int hm_api_parse_filter(hm_req *r, hm_request_filter *f, char *qbuf, size_t qbuf_size,
                        hm_error *err)
{
    const char *s;
    long long team = 0;
    int rc;

    hm_request_filter_init(f);
    if ((s = hm_http_arg(r, "bbox"))) {
        if ((rc = parse_bbox(s, f->bbox, err)))
            return rc;
        f->has_bbox = true;
    }
    if ((rc = hm_core_parse_status_filter(hm_http_arg(r, "status"), &f->status_mask, err)))
        return rc;
    if ((s = hm_http_arg(r, "category")) && (f->category = hm_category_parse(s)) < 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "category", "unknown category");
    if ((rc = code_arg(r, "ward", &f->ward_code, err)) ||
        (rc = code_arg(r, "former_ward", &f->former_ward_code, err)) ||
        (rc = code_arg(r, "hamlet", &f->hamlet_code, err)) ||
        (rc = mask_arg(r, "priority", priority_parse, &f->priority_mask, err)) ||
        (rc = mask_arg(r, "source", hm_source_parse, &f->source_mask, err)))
        return rc;
    if ((s = hm_http_arg(r, "since")) && hm_time_parse(s, &f->since_ms))
        return hm_error_set(err, HM_E_INVALID_FIELD, "since",
                            "since must be an RFC 3339 time such as 2026-11-30T02:00:00Z");
    if ((s = hm_http_arg(r, "verified"))) {
        if (strcmp(s, "true") == 0)
            f->verified = 1;
        else if (strcmp(s, "false") == 0)
            f->verified = 0;
        else
            return hm_error_set(err, HM_E_INVALID_FIELD, "verified",
                                "verified must be true or false");
    }
    if ((rc = parse_int_arg(r, "team_id", 1, INT64_MAX / 2, &team, err)))
        return rc;
    if (team > 0) {
        /* Which requests a team holds is for token holders. */
        if ((rc = hm_policy_require(&r->actor, HM_ROLE_VOLUNTEER, err)))
            return rc;
        f->team_id = team;
    }
    if ((s = hm_http_arg(r, "q"))) {
        if (!hm_text_ok(s, 100) ||
            hm_fold_into(s, strlen(s) < qbuf_size ? strlen(s) : qbuf_size - 1, qbuf) == 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "q", "q must be words to look for");
        f->q = qbuf;
    }
    if ((s = hm_http_arg(r, "order"))) {
        if (strcmp(s, "id") == 0 || strcmp(s, "asc") == 0)
            f->order = HM_ORDER_ID;
        else if (strcmp(s, "-id") == 0 || strcmp(s, "desc") == 0)
            f->order = HM_ORDER_ID_DESC;
        else if (strcmp(s, "urgent") == 0)
            f->order = HM_ORDER_URGENT;
        else
            return hm_error_set(err, HM_E_INVALID_FIELD, "order",
                                "order must be id (or asc), -id (or desc: newest first) or urgent");
    }
    if ((s = hm_http_arg(r, "cursor"))) {
        long long p, t, id;
        char tail;
        if (f->order == HM_ORDER_URGENT) {
            if (sscanf(s, "%lld.%lld.%lld%c", &p, &t, &id, &tail) != 3 || p < 0 || p > 1 || id <= 0)
                return hm_error_set(err, HM_E_INVALID_FIELD, "cursor",
                                    "cursor must be the next value of the previous page");
            f->has_key = true;
            f->after_key.priority = (int)p;
            f->after_key.created_at = t;
            f->after_key.id = id;
        } else {
            long long cur = 0;
            if ((rc = parse_int_arg(r, "cursor", 0, INT64_MAX / 2, &cur, err)))
                return rc;
            f->after_id = cur;
        }
    }
    return HM_OK;
}

enum MHD_Result hm_api_request_list(hm_req *r)
{
    static const char *const args[] = {"bbox",   "status",   "category", "ward",     "former_ward",
                                       "hamlet", "priority", "team_id",  "verified", "source",
                                       "q",      "since",    "limit",    "cursor",   "order",
                                       "phone",  "flag",     NULL};
    hm_error err = {0};
    hm_request_filter f;
    const char *s;
    list_state *l = hm_xcalloc(1, sizeof *l);
    l->core = r->app;
    long long limit = 1000;
    char qbuf[256], next[64];
    json_t *fc;

    r->state = l;
    r->state_free = list_free;
    if (hm_http_auth(r, &err) || hm_http_check_args(r, args, &err) ||
        hm_api_parse_filter(r, &f, qbuf, sizeof qbuf, &err) ||
        parse_int_arg(r, "limit", 1, 10000, &limit, &err))
        return hm_http_error(r, &err);
    if ((s = hm_http_arg(r, "flag"))) {
        /* flag=receipt: what residents say did not arrive (issue 17); any status unless one
         * is asked for (flags are on resolved requests). */
        if (strcmp(s, "receipt") != 0)
            return hm_http_fail(r, HM_E_INVALID_FIELD, "flag", "flag must be receipt");
        f.flagged = true;
        if (!hm_http_arg(r, "status"))
            f.status_mask = 0;
    }
    f.limit = (size_t)limit;
    l->features = json_array();
    hm_buf_init(&l->fast);
    if (hm_core_list(r->app, &r->actor, &f, hm_http_arg(r, "phone"), list_visit, l, &l->list, &err))
        return hm_http_error(r, &err);
    if (l->list.n == (size_t)limit) {
        if (f.order == HM_ORDER_URGENT)
            snprintf(next, sizeof next, "%d.%lld.%lld", l->last.priority,
                     (long long)l->last.created_at, (long long)l->last.id);
        else
            snprintf(next, sizeof next, "%lld", (long long)l->list.last_id);
    }
    if (!(l->list.view & (HM_VIEW_CONTACT | HM_VIEW_RECEIPT))) {
        static const char *const nocache[] = {"Cache-Control", "no-store", NULL};
        hm_buf b;
        size_t len;
        char *text;
        hm_buf_init(&b);
        hm_buf_reserve(&b, l->fast.len + 96);
        hm_buf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
        if (l->fast.len)
            hm_buf_append(&b, l->fast.data, l->fast.len);
        if (l->list.n == (size_t)limit) {
            hm_buf_puts(&b, "],");
            hm_json_member_str(&b, "\"next\":", next); /* ASCII digits and dots */
            hm_buf_putc(&b, '}');
        } else {
            hm_buf_puts(&b, "],\"next\":null}");
        }
        text = hm_buf_steal(&b, &len);
        return hm_http_bytes(r, 200, "application/json; charset=utf-8", text, len, true, nocache);
    }
    fc = json_pack("{s:s,s:O}", "type", "FeatureCollection", "features", l->features);
    json_object_set_new(fc, "next", l->list.n == (size_t)limit ? json_string(next) : json_null());
    if (l->list.reveal) {
        /* An operator saw contact data: recorded before the answer goes out. */
        l->text = json_dumps(fc, HM_JSON_FLAGS);
        json_decref(fc);
        return hm_http_submit_job(r, &l->list.reveal->job, list_answer);
    }
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

/* Every answer of the form: its success page carries the tracking token, so no cache keeps
 * it (issue 11). */
static enum MHD_Result html_page(hm_req *r, unsigned status, hm_buf *b)
{
    static const char *const nocache[] = {"Cache-Control", "no-store", NULL};
    size_t len;
    char *text;
    hm_buf_puts(b, "</body></html>");
    text = hm_buf_steal(b, &len);
    return hm_http_bytes(r, status, "text/html; charset=utf-8", text, len, true, nocache);
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
        {"location_text", "Không đọc được vị trí đã dán. Hãy dán liên kết bản đồ đầy đủ (không "
                          "phải liên kết rút gọn) hoặc toạ độ, ví dụ 10.9935, 106.4921."},
        {"reporter.phone", "Số điện thoại của người báo giúp không hợp lệ. Ví dụ: 0909 123 456."},
        {"reporter.name", "Tên người báo giúp tối đa 100 ký tự."},
    };
    const char *vi = "Không gửi được yêu cầu. Vui lòng thử lại hoặc gọi 1022.";
    unsigned status = hm_http_status_of(err->code);

    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (err->field && strcmp(err->field, labels[i].field) == 0)
            vi = labels[i].vi;
    if (err->code == HM_E_RATE_LIMITED)
        vi = "Bạn đã gửi quá nhiều yêu cầu. Vui lòng chờ rồi thử lại, hoặc gọi 1022.";
    if (err->code == HM_E_OUTSIDE_AREA)
        vi = "Vị trí này nằm ngoài khu vực hỗ trợ. Vui lòng gọi Tổng đài 1022.";
    if (err->code == HM_E_FORBIDDEN)
        vi = "Hãy gửi yêu cầu từ trang của bản đồ hỗ trợ, hoặc gọi 1022.";
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
    hm_create_op *c = r->state;
    hm_buf b;

    if (c->job.rc)
        return report_error(r, &c->job.err);
    /* The form is the public's: a repeat of an open request of the same phone is stored as a
     * request of its own and answered like any other (issue 11). */
    hm_buf_init(&b);
    hm_buf_puts(&b, page_head);
    hm_buf_puts(&b, "<main><h1>Đã gửi yêu cầu / Request sent</h1><p>Mã yêu cầu / Your code:</p>"
                    "<p class=\"code\">");
    hm_buf_put_escaped(&b, c->req.code);
    hm_buf_puts(&b, "</p><p>Hãy ghi lại mã này. Đội hỗ trợ gần nhất sẽ liên hệ. / Keep this code; "
                    "the nearest team will contact you.</p><p><a href=\"/track/");
    hm_buf_put_escaped(&b, c->req.code);
    hm_buf_puts(&b, "?token=");
    hm_buf_put_escaped(&b, c->token);
    hm_buf_puts(&b, "\">Theo dõi yêu cầu / Track your request</a></p></main>");
    return html_page(r, 201, &b);
}

/* A page of its own for what the form cannot take: `vi` and `en` are plain text. */
static enum MHD_Result report_page(hm_req *r, unsigned status, const char *code, const char *vi,
                                   const char *en)
{
    hm_buf b;
    r->err_code = code;
    hm_buf_init(&b);
    hm_buf_puts(&b, page_head);
    hm_buf_puts(&b, "<main><h1>Chưa gửi được / Not sent</h1><p class=\"error\" role=\"alert\">");
    hm_buf_put_escaped(&b, vi);
    hm_buf_puts(&b, "</p><p lang=\"en\">");
    hm_buf_put_escaped(&b, en);
    hm_buf_puts(&b, "</p><p><a href=\"/\">Quay lại / Back</a></p></main>");
    return html_page(r, status, &b);
}

enum MHD_Result hm_api_report_too_large(hm_req *r)
{
    return report_page(r, 413, "too_large",
                       "Nội dung gửi quá dài. Hãy rút ngắn ghi chú và địa chỉ rồi gửi lại, hoặc "
                       "gọi 1022.",
                       "The form is too long: shorten the note and the address and send again.");
}

/* ---- the hamlets of the no-JavaScript form --------------------------------------------------- */

typedef struct form_areas {
    hm_buf wards;   /* ward code \t name \n */
    hm_buf hamlets; /* parent \t code \t name \n */
} form_areas;

static int form_ward(void *ctx, const hm_area_row *a, const hm_area_count *n)
{
    form_areas *f = ctx;
    (void)n;
    hm_buf_printf(&f->wards, "%s\t%s\n", a->code, a->name);
    return 0;
}

static int form_hamlet(void *ctx, const hm_area_row *a, const hm_area_count *n)
{
    form_areas *f = ctx;
    (void)n;
    hm_buf_printf(&f->hamlets, "%s\t%s\t%s\n", a->parent_code, a->code, a->name);
    return 0;
}

static struct {
    pthread_mutex_t mu;
    unsigned long gen;
    const char *page; /* the static file the blob was made from */
    hm_tile_blob *blob;
} form_cache = {PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL};

hm_tile_blob *hm_api_form_page(hm_req *r, const char *page, size_t len)
{
    static const char marker[] = "<!--hm:hamlets-->";
    unsigned long gen = hm_core_areas_generation(r->app);
    const char *at = NULL;
    hm_tile_blob *b = NULL;
    form_areas fa;
    hm_buf out;
    hm_error err = {0};

    for (size_t i = 0; i + sizeof marker - 1 <= len && !at; i++)
        if (page[i] == '<' && memcmp(page + i, marker, sizeof marker - 1) == 0)
            at = page + i;
    if (!at)
        return NULL;
    pthread_mutex_lock(&form_cache.mu);
    if (form_cache.blob && form_cache.gen == gen && form_cache.page == page)
        b = hm_tile_blob_ref(form_cache.blob);
    pthread_mutex_unlock(&form_cache.mu);
    if (b)
        return b;
    hm_buf_init(&fa.wards);
    hm_buf_init(&fa.hamlets);
    hm_buf_init(&out);
    hm_buf_putc(&fa.wards, '\0');
    hm_buf_putc(&fa.hamlets, '\0');
    fa.wards.len = fa.hamlets.len = 0;
    if (hm_core_areas(r->app, HM_LEVEL_WARD, form_ward, &fa, &err) ||
        hm_core_areas(r->app, HM_LEVEL_HAMLET, form_hamlet, &fa, &err))
        goto out;
    hm_buf_append(&out, page, (size_t)(at - page));
    /* One group per commune, in the order of the commune list; a hamlet's name is what a
     * resident knows, its code what the form sends. Lines split in place once. */
    {
        char *(*h)[3] = NULL;
        size_t nh = 0, cap = 0;
        for (char *p = fa.hamlets.data; p && *p;) {
            char *t1 = strchr(p, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            char *e = t2 ? strchr(t2, '\n') : NULL;
            if (!e)
                break;
            *t1 = *t2 = *e = '\0';
            if (nh == cap) {
                cap = cap ? cap * 2 : 64;
                h = hm_xrealloc(h, cap * sizeof *h);
            }
            h[nh][0] = p;
            h[nh][1] = t1 + 1;
            h[nh][2] = t2 + 1;
            nh++;
            p = e + 1;
        }
        /* A datalist: the resident types or picks a hamlet's name (value), its commune
         * beside it (label); the form's handler finds the code again. */
        for (char *w = fa.wards.data; w && *w;) {
            char *tab = strchr(w, '\t'), *nl = tab ? strchr(tab, '\n') : NULL;
            if (!nl)
                break;
            *tab = *nl = '\0';
            for (size_t i = 0; i < nh; i++) {
                if (strcmp(h[i][0], w) != 0)
                    continue;
                hm_buf_puts(&out, "<option value=\"");
                hm_buf_put_escaped(&out, h[i][2]);
                hm_buf_puts(&out, "\" label=\"");
                hm_buf_put_escaped(&out, tab + 1);
                hm_buf_puts(&out, "\"></option>");
            }
            w = nl + 1;
        }
        free(h);
    }
    hm_buf_append(&out, at + sizeof marker - 1, len - (size_t)(at - page) - (sizeof marker - 1));
    if (!(b = hm_tile_blob_create(out.data, out.len, &err)))
        goto out;
    pthread_mutex_lock(&form_cache.mu);
    hm_tile_blob_release(form_cache.blob);
    form_cache.blob = hm_tile_blob_ref(b);
    form_cache.gen = gen;
    form_cache.page = page;
    pthread_mutex_unlock(&form_cache.mu);
out:
    hm_buf_clear(&fa.wards);
    hm_buf_clear(&fa.hamlets);
    hm_buf_clear(&out);
    return b;
}

enum MHD_Result hm_api_report_form(hm_req *r)
{
    static const char *const fields[] = {
        "ward_code",     "hamlet_code",   "address",       "category", "people",
        "vulnerable",    "phone",         "name",          "note",     "location_precision",
        "location_text", "reporter_name", "reporter_phone"};
    const char *bad_field = NULL;
    json_t *body, *vul, *reporter;
    char *data;
    enum MHD_Result ret;
    hm_error err = {0};
    const char *ct = hm_http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

    /* A form sent as multipart (a file field, or a page that set enctype) is not what this
     * form posts: say so, rather than "choose a commune" (issue 14). */
    if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return report_page(
            r, 415, "unsupported_media_type",
            "Biểu mẫu phải được gửi dạng thường (application/x-www-form-urlencoded), "
            "không kèm tệp. Hãy mở lại trang và gửi lại, hoặc gọi 1022.",
            "This form must be sent URL-encoded (application/x-www-form-urlencoded), "
            "without files; open the page again and resend.");
    body = json_object();
    vul = json_array();
    reporter = json_object();
    data = r->body.data ? hm_xstrndup(r->body.data, r->body.len) : hm_xstrdup("");

    /* A form posted from another site (cross-site request forgery: a page that files requests
     * in its visitors' names, issue 11) is refused before anything is read from it. */
    if (!hm_http_same_origin(r)) {
        free(data);
        json_decref(body);
        json_decref(vul);
        json_decref(reporter);
        hm_error_set(&err, HM_E_FORBIDDEN, NULL,
                     "this form must be sent from the help map's own page");
        return report_error(r, &err);
    }
    /* The form is the resident's, whatever headers say. */
    memset(&r->actor, 0, sizeof r->actor);
    r->actor.role = HM_ROLE_PUBLIC;
    snprintf(r->actor.client, sizeof r->actor.client, "%s", hm_http_client(r));
    r->auth_done = true;
    for (char *save = NULL, *pair = strtok_r(data, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq)
            continue;
        *eq = '\0';
        form_decode(pair);
        form_decode(eq + 1);
        if (!hm_text_ok(eq + 1, 1000)) {
            /* Text a field may not hold (invalid UTF-8, control or text-direction characters)
             * is refused naming the field, as in the JSON API; unknown names are ignored. */
            for (size_t i = 0; i < sizeof fields / sizeof fields[0] && !bad_field; i++)
                if (strcmp(pair, fields[i]) == 0)
                    bad_field = fields[i];
            continue;
        }
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
        } else if (strcmp(pair, "reporter_name") == 0 || strcmp(pair, "reporter_phone") == 0) {
            /* "I am reporting for someone else": the reporter's own name and number. */
            if (eq[1])
                json_object_set_new(reporter, pair + 9, json_string(eq + 1));
        } else if (eq[1]) {
            json_object_set_new(body, pair, json_string(eq + 1));
        }
    }
    free(data);
    if (bad_field) {
        json_decref(body);
        json_decref(vul);
        json_decref(reporter);
        hm_error_set(&err, HM_E_INVALID_FIELD, bad_field,
                     "%s must be plain text (no control or text-direction characters)", bad_field);
        return report_error(r, &err);
    }
    /* The hamlet as typed (a code or a name) is resolved by the creation like any other. */
    json_object_set_new(body, "vulnerable", vul);
    if (json_object_size(reporter))
        json_object_set(body, "reporter", reporter);
    json_decref(reporter);
    {
        /* A pasted link or coordinates place the request better than the commune picked
         * beside them (the form asks for both when it cannot check the text). */
        const char *lt = json_string_value(json_object_get(body, "location_text"));
        bool pasted = lt && lt[strspn(lt, " \t\r\n")];
        if (pasted) {
            json_object_del(body, "ward_code");
            json_object_del(body, "hamlet_code");
        } else {
            json_object_del(body, "location_text");
            json_object_set_new(body, "location_precision", json_string("address"));
        }
    }
    if (!json_object_get(body, "ward_code") && !json_object_get(body, "location_text")) {
        json_decref(body);
        hm_error_set(&err, HM_E_INVALID_FIELD, "ward_code", "choose a commune");
        return report_error(r, &err);
    }
    ret = create_from_json(r, body, NULL, report_done, report_error);
    json_decref(body);
    return ret;
}
