/* relief.c: relief points and the parsing of pasted locations; see relief.h. */
#include "relief.h"

#include "core_int.h"
#include "locparse.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation ---------------------------------------------------------------------- */

/* Text field `key` of `o` into out[size] (trimmed; "" when null or empty): plain text of at
 * most `max_chars` characters without bidirectional controls. Returns HM_OK, 1 when absent. */
static int get_text(json_t *o, const char *key, size_t max_chars, char *out, size_t size,
                    hm_error *err)
{
    json_t *v = json_object_get(o, key);
    const char *s;
    size_t n;

    if (!v)
        return 1;
    out[0] = '\0';
    if (json_is_null(v))
        return HM_OK;
    if (!json_is_string(v))
        return hm_error_set(err, HM_E_INVALID_FIELD, key, "%s must be text", key);
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || !hm_text_ok(s, max_chars) || hm_text_has_bidi(s))
        return hm_error_set(err, HM_E_INVALID_FIELD, key,
                            "%s must be at most %zu characters of plain text", key, max_chars);
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n >= size) /* cannot happen: max_chars code points fit */
        return hm_error_set(err, HM_E_INVALID_FIELD, key, "%s is too long", key);
    memcpy(out, s, n);
    out[n] = '\0';
    return HM_OK;
}

static int get_coord(json_t *o, const char *key, double lo, double hi, double *out, hm_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < lo ||
        json_number_value(v) > hi)
        return hm_error_set(err, HM_E_INVALID_FIELD, key, "%s must be a number from %g to %g", key,
                            lo, hi);
    *out = json_number_value(v);
    return HM_OK;
}

/* The fields of `body` (a plain object or a GeoJSON Feature) into op->in and op->given. */
static int parse_body(json_t *body, hm_relief_op *op, hm_error *err)
{
    json_t *props = body, *v;
    hm_relief *p = &op->in;
    double lon = 0, lat = 0;
    int rc;

    if (!json_is_object(body))
        return hm_error_set(err, HM_E_BAD_JSON, NULL, "the body must be a JSON object");
    v = json_object_get(body, "type");
    if (json_is_string(v) && strcmp(json_string_value(v), "Feature") == 0) {
        json_t *g = json_object_get(body, "geometry"), *c = json_object_get(g, "coordinates");
        props = json_object_get(body, "properties");
        if (!json_is_object(props))
            return hm_error_set(err, HM_E_INVALID_FIELD, "properties",
                                "a Feature needs its properties");
        if (g && !json_is_null(g)) {
            if (!json_is_object(g) || !json_is_string(json_object_get(g, "type")) ||
                strcmp(json_string_value(json_object_get(g, "type")), "Point") != 0 ||
                !json_is_array(c) || json_array_size(c) != 2)
                return hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                                    "the geometry must be a Point [lon, lat]");
            json_t *pos =
                json_pack("{s:O,s:O}", "lon", json_array_get(c, 0), "lat", json_array_get(c, 1));
            rc = get_coord(pos, "lon", -180, 180, &lon, err);
            if (!rc)
                rc = get_coord(pos, "lat", -90, 90, &lat, err);
            json_decref(pos);
            if (rc)
                return rc;
            op->given |= HM_RF_POSITION;
        }
    }
    if (!(op->given & HM_RF_POSITION)) {
        json_t *jlat = json_object_get(props, "lat"), *jlon = json_object_get(props, "lon");
        if (jlat || jlon) {
            if ((rc = get_coord(props, "lat", -90, 90, &lat, err)) ||
                (rc = get_coord(props, "lon", -180, 180, &lon, err)))
                return rc;
            op->given |= HM_RF_POSITION;
        }
    }
    p->lon = lon;
    p->lat = lat;
    if ((v = json_object_get(props, "kind"))) {
        if ((p->kind = hm_relief_kind_parse(json_string_value(v))) < 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "kind",
                                "kind must be shelter, food, water, medical, charging, boat or "
                                "other");
        op->given |= HM_RF_KIND;
    }
    if ((v = json_object_get(props, "status"))) {
        if ((p->status = hm_relief_status_parse(json_string_value(v))) < 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "status",
                                "status must be open, full or closed");
        op->given |= HM_RF_STATUS;
    }
    rc = get_text(props, "name", HM_RELIEF_NAME_MAX, p->name, sizeof p->name, err);
    if (rc < 0 || rc > 1)
        return rc;
    if (rc == HM_OK) {
        if (!p->name[0])
            return hm_error_set(err, HM_E_INVALID_FIELD, "name", "a relief point needs a name");
        op->given |= HM_RF_NAME;
    }
    rc = get_text(props, "address", HM_RELIEF_ADDRESS_MAX, p->address, sizeof p->address, err);
    if (rc < 0 || rc > 1)
        return rc;
    if (rc == HM_OK)
        op->given |= HM_RF_ADDRESS;
    rc = get_text(props, "hours", HM_RELIEF_HOURS_MAX, p->hours, sizeof p->hours, err);
    if (rc < 0 || rc > 1)
        return rc;
    if (rc == HM_OK)
        op->given |= HM_RF_HOURS;
    if ((v = json_object_get(props, "capacity"))) {
        if (json_is_null(v))
            p->capacity = -1;
        else if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                 json_integer_value(v) > HM_RELIEF_CAPACITY_MAX)
            return hm_error_set(err, HM_E_INVALID_FIELD, "capacity",
                                "capacity must be a whole number from 0 to %d, or null",
                                HM_RELIEF_CAPACITY_MAX);
        else
            p->capacity = (int)json_integer_value(v);
        op->given |= HM_RF_CAPACITY;
    }
    return HM_OK;
}

static int parse_id(const char *s, int64_t *id, hm_error *err)
{
    char *end;
    long long v;
    if (!s || !*s || *s < '0' || *s > '9')
        goto bad;
    v = strtoll(s, &end, 10);
    if (*end || v <= 0)
        goto bad;
    *id = v;
    return HM_OK;
bad:
    return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no relief point has this id");
}

/* ---- writes -------------------------------------------------------------------------- */

static void merge(hm_relief *p, const hm_relief *in, unsigned given)
{
    if (given & HM_RF_KIND)
        p->kind = in->kind;
    if (given & HM_RF_STATUS)
        p->status = in->status;
    if (given & HM_RF_NAME)
        memcpy(p->name, in->name, sizeof p->name);
    if (given & HM_RF_ADDRESS)
        memcpy(p->address, in->address, sizeof p->address);
    if (given & HM_RF_HOURS)
        memcpy(p->hours, in->hours, sizeof p->hours);
    if (given & HM_RF_CAPACITY)
        p->capacity = in->capacity;
    if (given & HM_RF_POSITION) {
        p->lon = in->lon;
        p->lat = in->lat;
    }
}

static int relief_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_relief_op *op = (hm_relief_op *)job;
    int64_t now = hm_now_ms();
    int rc;

    if (op->what == HM_RELIEF_CREATED) {
        op->result = op->in;
        op->result.created_at = op->result.updated_at = now;
        if ((rc = hm_store_relief_insert(st, &op->result, err)))
            return rc;
    } else {
        /* A change merges into the stored point: two servers changing one point at once do
         * it one after the other, so that neither loses the other's fields. */
        if ((rc = hm_store_lock(st, HM_LOCK_RELIEF, op->id, err)) ||
            (rc = hm_store_relief_get(st, op->id, &op->result, err)))
            return rc;
        if (op->what == HM_RELIEF_DELETED) {
            if ((rc = hm_store_relief_delete(st, op->id, err)))
                return rc;
        } else {
            merge(&op->result, &op->in, op->given);
            op->result.updated_at = now;
            if ((rc = hm_store_relief_update(st, &op->result, err)))
                return rc;
        }
    }
    return hm_core__record_relief(st, op->what, op->result.id, &op->result, err);
}

static int op_init(hm_core *c, const hm_actor *a, int what, hm_relief_op *op, hm_error *err)
{
    memset(op, 0, sizeof *op);
    op->core = c;
    op->what = what;
    op->job.run = relief_run;
    op->in.capacity = -1;
    return hm_policy_require(a, HM_ROLE_COORDINATOR, err);
}

int hm_core_relief_create(hm_core *c, const hm_actor *a, json_t *body, hm_relief_op *op,
                          hm_error *err)
{
    int rc;
    if ((rc = op_init(c, a, HM_RELIEF_CREATED, op, err)) || (rc = parse_body(body, op, err)))
        return rc;
    if (!(op->given & HM_RF_KIND))
        return hm_error_set(err, HM_E_INVALID_FIELD, "kind",
                            "kind is required: shelter, food, water, medical, charging, boat or "
                            "other");
    if (!(op->given & HM_RF_NAME))
        return hm_error_set(err, HM_E_INVALID_FIELD, "name", "a relief point needs a name");
    if (!(op->given & HM_RF_POSITION))
        return hm_error_set(err, HM_E_INVALID_FIELD, "lat",
                            "give the position as lat and lon (or a Point geometry)");
    if (!(op->given & HM_RF_STATUS))
        op->in.status = HM_RELIEF_OPEN;
    return HM_OK;
}

int hm_core_relief_update(hm_core *c, const hm_actor *a, const char *id_text, json_t *body,
                          hm_relief_op *op, hm_error *err)
{
    int rc;
    if ((rc = op_init(c, a, HM_RELIEF_UPDATED, op, err)) || (rc = parse_id(id_text, &op->id, err)))
        return rc;
    return parse_body(body, op, err);
}

int hm_core_relief_delete(hm_core *c, const hm_actor *a, const char *id_text, hm_relief_op *op,
                          hm_error *err)
{
    int rc;
    if ((rc = op_init(c, a, HM_RELIEF_DELETED, op, err)))
        return rc;
    return parse_id(id_text, &op->id, err);
}

/* ---- reads --------------------------------------------------------------------------- */

/* A comma-separated list of names of `parse` into a bit mask. */
static int parse_list(const char *s, int (*parse)(const char *), const char *field,
                      const char *what, unsigned *mask, hm_error *err)
{
    char word[32];
    *mask = 0;
    if (!s || !*s)
        return HM_OK;
    for (const char *p = s;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int v;
        if (n == 0 || n >= sizeof word)
            goto bad;
        memcpy(word, p, n);
        word[n] = '\0';
        if ((v = parse(word)) < 0)
            goto bad;
        *mask |= 1u << v;
        if (!e)
            break;
        p = e + 1;
    }
    return HM_OK;
bad:
    return hm_error_set(err, HM_E_INVALID_FIELD, field,
                        "%s must be %s, or several of them "
                        "separated by commas",
                        field, what);
}

int hm_core_relief_kinds(const char *s, unsigned *mask, hm_error *err)
{
    return parse_list(s, hm_relief_kind_parse, "kind",
                      "shelter, food, water, medical, charging, boat or other", mask, err);
}

int hm_core_relief_statuses(const char *s, unsigned *mask, hm_error *err)
{
    return parse_list(s, hm_relief_status_parse, "status", "open, full or closed", mask, err);
}

void hm_core_relief_list(hm_core *c, unsigned kind_mask, unsigned status_mask, hm_relief **out,
                         size_t *n)
{
    hm_relief_index_list(c->reliefs, kind_mask, status_mask, out, n);
}

int hm_core_relief_get(hm_core *c, const char *id_text, hm_relief *out, hm_error *err)
{
    int64_t id = 0;
    int rc;
    if ((rc = parse_id(id_text, &id, err)))
        return rc;
    if (!hm_relief_index_get(c->reliefs, id, out))
        return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no relief point has this id");
    return HM_OK;
}

int hm_core_relief_nearest(hm_core *c, double lon, double lat, unsigned kind_mask, size_t limit,
                           hm_relief_hit *out, size_t *n, hm_error *err)
{
    if (!isfinite(lat) || lat < -90 || lat > 90)
        return hm_error_set(err, HM_E_INVALID_FIELD, "lat", "lat must be between -90 and 90");
    if (!isfinite(lon) || lon < -180 || lon > 180)
        return hm_error_set(err, HM_E_INVALID_FIELD, "lon", "lon must be between -180 and 180");
    if (limit < 1 || limit > HM_RELIEF_NEAREST_MAX)
        return hm_error_set(err, HM_E_INVALID_FIELD, "limit", "limit must be from 1 to %d",
                            HM_RELIEF_NEAREST_MAX);
    *n = hm_relief_index_nearest(c->reliefs, lon, lat, kind_mask, limit, out);
    return HM_OK;
}

/* ---- pasted locations ------------------------------------------------------------------ */

int hm_core_geo_parse(hm_core *c, const char *text, size_t len, const char *field,
                      hm_geo_parse *out, hm_error *err)
{
    hm_error e = {0};
    hm_request r;
    hm_loc_form form;

    memset(out, 0, sizeof *out);
    if (hm_loc_parse(text, len, &out->lon, &out->lat, &form, &e)) {
        if (err) {
            *err = e;
            err->field = field;
        }
        return e.code;
    }
    memset(&r, 0, sizeof r);
    r.lon = out->lon;
    r.lat = out->lat;
    hm_core__locate(c, &r);
    out->form = hm_loc_form_name(form);
    snprintf(out->ward_code, sizeof out->ward_code, "%s", r.ward_code);
    out->inside = r.ward_code[0] != '\0';
    return HM_OK;
}
