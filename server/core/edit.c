/* edit.c: PATCH of a request; see edit.h. */
#include "edit.h"

#include "core_int.h"
#include "hm_buf.h"
#include "model.h"
#include "present.h"
#include "validate.h"
#include "worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_MAX_CHARS 2000 /* as requests.c: notes appended to a request */

static const char *const editable[] = {
    "lat",     "lon", "location_precision", "category", "people", "vulnerable", "name", "phone",
    "address", "note"};

static char *vulnerable_text(unsigned v)
{
    hm_buf b;
    size_t len;
    hm_buf_init(&b);
    for (int i = 0; i < HM_VULN__COUNT; i++)
        if (v & (1u << i))
            hm_buf_printf(&b, "%s%s", b.len ? "," : "", hm_vulnerable_name(i));
    hm_buf_putc(&b, '\0');
    return hm_buf_steal(&b, &len);
}

static char *position_text(double lon, double lat)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.6f,%.6f", lat, lon);
    return hm_xstrdup(buf);
}

static char *int_text(int v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%d", v);
    return hm_xstrdup(buf);
}

static char *dup_or_null(const char *s)
{
    return s ? hm_xstrdup(s) : NULL;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* One "edit" entry: `old_value` and `new_value` are taken over. */
static int record(hm_store *st, hm_edit_op *op, int64_t id, int64_t now, const char *field,
                  char *old_value, char *new_value, bool contact, hm_error *err)
{
    hm_history h;
    int rc;
    memset(&h, 0, sizeof h);
    h.at = now;
    snprintf(h.actor, sizeof h.actor, "%s", op->actor_name);
    h.from = h.to = -1;
    snprintf(h.kind, sizeof h.kind, "edit");
    snprintf(h.field, sizeof h.field, "%s", field);
    h.old_value = old_value;
    h.new_value = new_value;
    h.contact = contact;
    rc = hm_store_history_add(st, id, &h, err);
    hm_history_clear(&h);
    op->changed++;
    return rc;
}

/* Replace text field *slot with `v` (copied) when it differs, recording the edit. */
static int edit_text(hm_store *st, hm_edit_op *op, hm_request *r, int64_t now, const char *field,
                     char **slot, const char *v, hm_error *err)
{
    if (same_text(*slot, v))
        return HM_OK;
    {
        char *old = *slot;
        *slot = dup_or_null(v);
        return record(st, op, r->id, now, field, old, dup_or_null(v), true, err);
    }
}

static int edit_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_edit_op *op = (hm_edit_op *)job;
    hm_request *r = &op->result;
    int64_t now = hm_now_ms();
    int rc;

    op->changed = 0;
    hm_request_clear(r);
    if ((rc = hm_store_request_get(st, op->code, r, NULL, err)))
        return rc;
    if (op->holder_only && r->team_id != op->actor_team)
        return hm_error_set(err, HM_E_FORBIDDEN, NULL, "your team does not hold this request");
    op->before = *r;
    op->before.note = op->before.name = op->before.address = op->before.phone = NULL;

    if (op->set & HM_EDIT_POSITION) {
        hm_request t = *r;
        int precision = op->set & HM_EDIT_PRECISION ? op->precision : HM_PREC_PIN;
        t.lon = op->lon;
        t.lat = op->lat;
        hm_core__locate(op->core, &t);
        if (!t.ward_code[0])
            return hm_error_set(err, HM_E_OUTSIDE_AREA, "lat",
                                "this place is outside the service area");
        if (t.lon != r->lon || t.lat != r->lat) {
            if ((rc = record(st, op, r->id, now, "position", position_text(r->lon, r->lat),
                             position_text(t.lon, t.lat), false, err)))
                return rc;
            r->lon = t.lon;
            r->lat = t.lat;
            /* Areas follow the pin, as at creation (issue 14). */
            memcpy(r->ward_code, t.ward_code, sizeof r->ward_code);
            memcpy(r->former_ward_code, t.former_ward_code, sizeof r->former_ward_code);
            memcpy(r->hamlet_code, t.hamlet_code, sizeof r->hamlet_code);
        }
        if (precision != r->precision) {
            if ((rc = record(st, op, r->id, now, "location_precision",
                             hm_xstrdup(hm_precision_name(r->precision)),
                             hm_xstrdup(hm_precision_name(precision)), false, err)))
                return rc;
            r->precision = precision;
        }
    }
    if ((op->set & HM_EDIT_CATEGORY) && op->category != r->category) {
        if ((rc = record(st, op, r->id, now, "category", hm_xstrdup(hm_category_name(r->category)),
                         hm_xstrdup(hm_category_name(op->category)), false, err)))
            return rc;
        r->category = op->category;
    }
    if ((op->set & HM_EDIT_PEOPLE) && op->people != r->people) {
        if ((rc = record(st, op, r->id, now, "people", int_text(r->people), int_text(op->people),
                         false, err)))
            return rc;
        r->people = op->people;
    }
    if ((op->set & HM_EDIT_VULNERABLE) && op->vulnerable != r->vulnerable) {
        if ((rc = record(st, op, r->id, now, "vulnerable", vulnerable_text(r->vulnerable),
                         vulnerable_text(op->vulnerable), false, err)))
            return rc;
        r->vulnerable = op->vulnerable;
    }
    if ((op->set & HM_EDIT_NAME) &&
        (rc = edit_text(st, op, r, now, "name", &r->name, op->name, err)))
        return rc;
    if ((op->set & HM_EDIT_PHONE) &&
        (rc = edit_text(st, op, r, now, "phone", &r->phone, op->phone, err)))
        return rc;
    if ((op->set & HM_EDIT_ADDRESS) &&
        (rc = edit_text(st, op, r, now, "address", &r->address, op->address, err)))
        return rc;
    if (op->set & HM_EDIT_NOTE) {
        hm_buf b;
        size_t len;
        char *note;
        hm_buf_init(&b);
        if (r->note && *r->note) {
            hm_buf_puts(&b, r->note);
            hm_buf_putc(&b, '\n');
        }
        hm_buf_puts(&b, op->note);
        note = hm_buf_steal(&b, &len);
        if (!hm_text_ok(note, NOTE_MAX_CHARS)) {
            free(note);
            return hm_error_set(err, HM_E_INVALID_FIELD, "note",
                                "the request's notes would pass %d characters", NOTE_MAX_CHARS);
        }
        free(r->note);
        r->note = note;
        if ((rc = record(st, op, r->id, now, "note", NULL, hm_xstrdup(op->note), true, err)))
            return rc;
    }
    if (!op->changed)
        return HM_OK;
    r->priority = hm_priority_of(r->category, r->vulnerable);
    r->updated_at = now;
    if ((rc = hm_store_request_update(st, r, err)))
        return rc;
    /* Indexes, counts, tiles and events follow the change; the previous position and areas
     * travel in the change log (hm_change.prev). */
    return hm_core__record_request(st, r, &op->before, err);
}

/* The body's fields into `op`. */
static int parse(json_t *body, hm_edit_op *op, hm_error *err)
{
    const char *key;
    json_t *v;
    int rc;

    if (!json_is_object(body) || json_object_size(body) == 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, NULL,
                            "give at least one of lat and lon, category, people, vulnerable, "
                            "name, phone, address, note");
    json_object_foreach(body, key, v)
    {
        size_t i, n = sizeof editable / sizeof editable[0];
        for (i = 0; i < n; i++)
            if (strcmp(key, editable[i]) == 0)
                break;
        if (i == n) {
            /* err->field borrows the key from `body`: the caller renders before freeing it. */
            return hm_error_set(err, HM_E_INVALID_FIELD, key,
                                "%.40s cannot be changed; a request's lat, lon, category, people, "
                                "vulnerable, name, phone and address can, and note is added to",
                                key);
        }
    }
    {
        json_t *la = json_object_get(body, "lat"), *lo = json_object_get(body, "lon");
        if (la || lo) {
            if (!json_is_number(la) || !isfinite(json_number_value(la)) ||
                json_number_value(la) < -90 || json_number_value(la) > 90)
                return hm_error_set(err, HM_E_INVALID_FIELD, "lat",
                                    "lat must be a number from -90 to 90, given with lon");
            if (!json_is_number(lo) || !isfinite(json_number_value(lo)) ||
                json_number_value(lo) < -180 || json_number_value(lo) > 180)
                return hm_error_set(err, HM_E_INVALID_FIELD, "lon",
                                    "lon must be a number from -180 to 180, given with lat");
            op->lat = json_number_value(la);
            op->lon = json_number_value(lo);
            op->set |= HM_EDIT_POSITION;
        }
    }
    if ((v = json_object_get(body, "location_precision"))) {
        op->precision = hm_precision_parse(json_string_value(v));
        if (op->precision < 0 || !(op->set & HM_EDIT_POSITION))
            return hm_error_set(err, HM_E_INVALID_FIELD, "location_precision",
                                "location_precision is gps, pin or address, given with lat and "
                                "lon");
        op->set |= HM_EDIT_PRECISION;
    }
    if ((v = json_object_get(body, "category"))) {
        if ((op->category = hm_category_parse(json_string_value(v))) < 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "category",
                                "category must be one of food, water, medical, cash, shelter, "
                                "rescue, other");
        op->set |= HM_EDIT_CATEGORY;
    }
    if ((v = json_object_get(body, "people"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 500)
            return hm_error_set(err, HM_E_INVALID_FIELD, "people",
                                "people must be a whole number from 1 to 500");
        op->people = (int)json_integer_value(v);
        op->set |= HM_EDIT_PEOPLE;
    }
    if ((v = json_object_get(body, "vulnerable"))) {
        size_t i;
        json_t *e;
        if (!json_is_array(v))
            return hm_error_set(err, HM_E_INVALID_FIELD, "vulnerable", "vulnerable must be a list");
        json_array_foreach(v, i, e)
        {
            unsigned bit = hm_vulnerable_parse(json_string_value(e));
            if (!bit)
                return hm_error_set(err, HM_E_INVALID_FIELD, "vulnerable",
                                    "vulnerable may hold elderly, child, pregnant, disabled, sick");
            op->vulnerable |= bit;
        }
        op->set |= HM_EDIT_VULNERABLE;
    }
    if (json_object_get(body, "name")) {
        if ((rc = hm_validate_text(body, "name", 100, &op->name, err)))
            return rc;
        op->set |= HM_EDIT_NAME;
    }
    if (json_object_get(body, "address")) {
        if ((rc = hm_validate_text(body, "address", 200, &op->address, err)))
            return rc;
        op->set |= HM_EDIT_ADDRESS;
    }
    if (json_object_get(body, "phone")) {
        char *phone = NULL, norm[24];
        if ((rc = hm_validate_text(body, "phone", 40, &phone, err)))
            return rc;
        rc = hm_phone_normalize(phone, norm, sizeof norm, err);
        free(phone);
        if (rc)
            return rc;
        op->phone = hm_xstrdup(norm);
        op->set |= HM_EDIT_PHONE;
    }
    if (json_object_get(body, "note")) {
        if ((rc = hm_validate_text(body, "note", 500, &op->note, err)))
            return rc;
        if (!op->note)
            return hm_error_set(err, HM_E_INVALID_FIELD, "note",
                                "note is text to add to the request's notes");
        op->set |= HM_EDIT_NOTE;
    }
    return HM_OK;
}

int hm_core_edit(hm_core *c, const hm_actor *a, const char *code_text,
                 const char *const tracking[2], json_t *body, hm_edit_op *op, hm_error *err)
{
    hm_request req;
    uint8_t hash[32];
    unsigned kind = 0;
    hm_worker *w;
    int rc;

    memset(op, 0, sizeof *op);
    op->core = c;
    op->job.run = edit_run;
    if (hm_code_normalize(code_text, c->cfg.code_prefix, op->code, sizeof op->code, err))
        return HM_E_NOT_FOUND;
    /* Who is editing: a tracking token never changes, so it is checked on a read connection;
     * whether a volunteer's team holds the request is decided inside the job. */
    memset(&req, 0, sizeof req);
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    rc = hm_store_request_get(w->store, op->code, &req, hash, err);
    if (!rc)
        rc = hm_policy_access(a, tracking, &req, hash, &op->view, &kind, err);
    hm_request_clear(&req);
    if (rc)
        return rc;
    if (kind & HM_ACT_RESIDENT) {
        snprintf(op->actor_name, sizeof op->actor_name, "resident");
    } else {
        snprintf(op->actor_name, sizeof op->actor_name, "%s", a->team.name);
        if (a->role == HM_ROLE_VOLUNTEER) {
            op->holder_only = true;
            op->actor_team = a->team.id;
            op->view = HM_VIEW_CONTACT; /* it holds the request, or the job refuses */
        }
    }
    return parse(body, op, err);
}

void hm_edit_op_clear(hm_edit_op *op)
{
    hm_request_clear(&op->result);
    free(op->name);
    free(op->phone);
    free(op->address);
    free(op->note);
    op->name = op->phone = op->address = op->note = NULL;
}
