#include "present.h"

#include "hm_buf.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double hm_snap(double v)
{
    return round(v * 1000.0) / 1000.0;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *hm_request_json(const hm_request *r, unsigned view)
{
    char created[32], updated[32];
    json_t *o = json_object(), *vul = json_array();
    bool snap = view & HM_VIEW_SNAP;

    hm_time_format(r->created_at, created);
    hm_time_format(r->updated_at, updated);
    for (int i = 0; i < HM_VULN__COUNT; i++)
        if (r->vulnerable & (1u << i))
            json_array_append_new(vul, json_string(hm_vulnerable_name(i)));
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "code", json_string(r->code));
    json_object_set_new(o, "lat", json_real(snap ? hm_snap(r->lat) : r->lat));
    json_object_set_new(o, "lon", json_real(snap ? hm_snap(r->lon) : r->lon));
    json_object_set_new(o, "location_precision", json_string(hm_precision_name(r->precision)));
    json_object_set_new(o, "category", json_string(hm_category_name(r->category)));
    json_object_set_new(o, "people", json_integer(r->people));
    json_object_set_new(o, "vulnerable", vul);
    json_object_set_new(o, "priority", json_string(hm_priority_name(r->priority)));
    if (view & HM_VIEW_CONTACT) {
        json_object_set_new(o, "name", str_or_null(r->name));
        json_object_set_new(o, "phone", str_or_null(r->phone));
        json_object_set_new(o, "note", str_or_null(r->note));
        json_object_set_new(o, "address", str_or_null(r->address));
        /* Someone reported for the person in need: their number comes second. */
        json_object_set_new(o, "reporter",
                            r->reporter_phone || r->reporter_name
                                ? json_pack("{s:o,s:o}", "name", str_or_null(r->reporter_name),
                                            "phone", str_or_null(r->reporter_phone))
                                : json_null());
        json_object_set_new(o, "location_text", str_or_null(r->location_text));
    }
    json_object_set_new(o, "status", json_string(hm_status_name(r->status)));
    json_object_set_new(o, "ward_code", str_or_null(r->ward_code));
    json_object_set_new(o, "former_ward_code", str_or_null(r->former_ward_code));
    json_object_set_new(o, "hamlet_code", str_or_null(r->hamlet_code));
    json_object_set_new(o, "source", json_string(hm_source_name(r->source)));
    json_object_set_new(o, "verified", json_boolean(r->verified));
    json_object_set_new(o, "team_id", r->team_id > 0 ? json_integer(r->team_id) : json_null());
    json_object_set_new(o, "duplicate_of",
                        r->auto_duplicate && (view & (HM_VIEW_SNAP | HM_VIEW_RESIDENT))
                            ? json_null()
                            : str_or_null(r->duplicate_of));
    json_object_set_new(o, "created_at", json_string(created));
    json_object_set_new(o, "updated_at", json_string(updated));
    if (view & (HM_VIEW_CONTACT | HM_VIEW_RECEIPT)) {
        json_object_set_new(o, "delivered", hm_delivery_json(r));
        json_object_set_new(o, "receipt", hm_receipt_json(r));
        json_object_set_new(o, "flagged", json_boolean(hm_request_flagged(r)));
    }
    return o;
}

bool hm_request_flagged(const hm_request *r)
{
    return r->status == HM_ST_RESOLVED &&
           (r->receipt == HM_RCPT_PART || r->receipt == HM_RCPT_NOTHING);
}

json_t *hm_delivery_json(const hm_request *r)
{
    if (!r->delivered)
        return json_null();
    return json_pack("{s:o}", "amount_vnd",
                     r->delivered_vnd >= 0 ? json_integer(r->delivered_vnd) : json_null());
}

json_t *hm_receipt_json(const hm_request *r)
{
    char at[32];
    if (!hm_receipt_name(r->receipt))
        return json_null();
    hm_time_format(r->receipt_at, at);
    return json_pack("{s:s,s:o,s:s}", "received", hm_receipt_name(r->receipt), "amount_vnd",
                     r->receipt_vnd >= 0 ? json_integer(r->receipt_vnd) : json_null(), "at", at);
}

json_t *hm_request_feature(const hm_request *r, unsigned view)
{
    bool snap = view & HM_VIEW_SNAP;
    return json_pack("{s:s,s:I,s:{s:s,s:[f,f]},s:o}", "type", "Feature", "id", (json_int_t)r->id,
                     "geometry", "type", "Point", "coordinates", snap ? hm_snap(r->lon) : r->lon,
                     snap ? hm_snap(r->lat) : r->lat, "properties", hm_request_json(r, view));
}

json_t *hm_history_json(const hm_history *h)
{
    char at[32];
    json_t *o;
    hm_time_format(h->at, at);
    o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:o}", "at", at, "actor", h->actor, "from",
                  h->from >= 0 ? json_string(hm_status_name(h->from)) : json_null(), "to",
                  h->to >= 0 ? json_string(hm_status_name(h->to)) : json_null(), "note",
                  str_or_null(h->note), "kind", h->kind, "hash", str_or_null(h->hash));
    /* What the entry changed (issue 14): the field, its old and new value (null where the
     * reader may not see contact data). */
    if (h->field[0]) {
        json_object_set_new(o, "field", json_string(h->field));
        json_object_set_new(o, "old", h->old_value ? json_string(h->old_value) : json_null());
        json_object_set_new(o, "new", h->new_value ? json_string(h->new_value) : json_null());
    }
    /* The note or values are contact data (part of the entry's hash, chain.h). */
    if (h->contact)
        json_object_set_new(o, "contact", json_true());
    if (h->detail) {
        json_t *d = json_loads(h->detail, 0, NULL);
        json_object_set_new(o, "detail", json_is_object(d) ? d : json_null());
        if (d && !json_is_object(d))
            json_decref(d);
    }
    /* The texts' SHA-256 (chain.h), where the reader sees the text or the text was erased. */
    if (h->note_sha256[0])
        json_object_set_new(o, "note_sha256", json_string(h->note_sha256));
    if (h->old_sha256[0])
        json_object_set_new(o, "old_sha256", json_string(h->old_sha256));
    if (h->new_sha256[0])
        json_object_set_new(o, "new_sha256", json_string(h->new_sha256));
    if (h->salt[0]) /* a contact entry's texts are hashed after it */
        json_object_set_new(o, "salt", json_string(h->salt));
    return o;
}

json_t *hm_team_json(const hm_team *t)
{
    json_t *o = json_object();
    json_t *caps = json_loads(t->capabilities, 0, NULL);
    char at[32];

    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "role", json_string(hm_role_name(t->role)));
    json_object_set_new(o, "status", json_string(hm_team_status_name(t->status)));
    json_object_set_new(o, "capabilities", json_is_array(caps) ? caps : json_array());
    if (caps && !json_is_array(caps))
        json_decref(caps);
    if (t->has_pos) {
        hm_time_format(t->pos_at, at);
        json_object_set_new(o, "lon", json_real(t->lon));
        json_object_set_new(o, "lat", json_real(t->lat));
        json_object_set_new(o, "position_at", json_string(at));
    } else {
        json_object_set_new(o, "lon", json_null());
        json_object_set_new(o, "lat", json_null());
        json_object_set_new(o, "position_at", json_null());
    }
    json_object_set_new(o, "disabled", json_boolean(t->disabled));
    return o;
}

json_t *hm_team_feature(const hm_team *t)
{
    json_t *geom = t->has_pos
                       ? json_pack("{s:s,s:[f,f]}", "type", "Point", "coordinates", t->lon, t->lat)
                       : json_null();
    return json_pack("{s:s,s:I,s:o,s:o}", "type", "Feature", "id", (json_int_t)t->id, "geometry",
                     geom, "properties", hm_team_json(t));
}

json_t *hm_relief_json(const hm_relief *p)
{
    char created[32], updated[32];
    json_t *o = json_object();

    hm_time_format(p->created_at, created);
    hm_time_format(p->updated_at, updated);
    json_object_set_new(o, "id", json_integer(p->id));
    json_object_set_new(o, "kind", json_string(hm_relief_kind_name(p->kind)));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "address", str_or_null(p->address));
    json_object_set_new(o, "hours", str_or_null(p->hours));
    json_object_set_new(o, "capacity", p->capacity >= 0 ? json_integer(p->capacity) : json_null());
    json_object_set_new(o, "status", json_string(hm_relief_status_name(p->status)));
    json_object_set_new(o, "lat", json_real(p->lat));
    json_object_set_new(o, "lon", json_real(p->lon));
    json_object_set_new(o, "created_at", json_string(created));
    json_object_set_new(o, "updated_at", json_string(updated));
    return o;
}

json_t *hm_relief_feature(const hm_relief *p)
{
    return json_pack("{s:s,s:I,s:{s:s,s:[f,f]},s:o}", "type", "Feature", "id", (json_int_t)p->id,
                     "geometry", "type", "Point", "coordinates", p->lon, p->lat, "properties",
                     hm_relief_json(p));
}

/* ---- request objects without a JSON tree ----
 * Every created or updated request is rendered twice for the event stream (public and team),
 * whether anyone listens or not (the ring keeps it for Last-Event-ID): building a jansson
 * object of twenty members and dumping it was a tenth of the server's time under a creation
 * load (issue 18). hm_request_text() renders the very bytes of json_dumps(hm_request_json(),
 * HM_JSON_FLAGS) with members added at the end (test_core compares them). */

/* What json_string() accepts: valid UTF-8 (it refuses anything else, and the member is then
 * left out of the object). */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, need, cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07;
        else
            return false;
        for (unsigned i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        p += need + 1;
    }
    return true;
}

/* A string as jansson dumps it (no JSON_ENSURE_ASCII, no JSON_ESCAPE_SLASH). */
static void put_str(hm_buf *b, const char *s)
{
    hm_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *esc = NULL;
        char u[8];
        switch (*p) {
            case '"':
                esc = "\\\"";
                break;
            case '\\':
                esc = "\\\\";
                break;
            case '\b':
                esc = "\\b";
                break;
            case '\f':
                esc = "\\f";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            case '\t':
                esc = "\\t";
                break;
            default:
                if (*p < 0x20) {
                    snprintf(u, sizeof u, "\\u%04X", *p);
                    esc = u;
                }
        }
        if (esc)
            hm_buf_puts(b, esc);
        else
            hm_buf_putc(b, (char)*p);
    }
    hm_buf_putc(b, '"');
}

/* Member `key` (",\"key\":" already in `sep_key`) with string `s`, as json_object_set_new()
 * of json_string(s) leaves it: left out when `s` is not UTF-8. */
void hm_json_member_str(hm_buf *b, const char *sep_key, const char *s)
{
    if (!utf8_ok(s))
        return;
    hm_buf_puts(b, sep_key);
    put_str(b, s);
}

/* The same for str_or_null(s). */
void hm_json_member_str_or_null(hm_buf *b, const char *sep_key, const char *s)
{
    if (s && *s)
        hm_json_member_str(b, sep_key, s);
    else {
        hm_buf_puts(b, sep_key);
        hm_buf_puts(b, "null");
    }
}

/* A real as jansson dumps it with JSON_REAL_PRECISION(11): "%.11g", then ".0" when it reads
 * as an integer, and the exponent without '+' or leading zeros. json_real() refuses what is
 * not finite, and the member is left out. */
void hm_json_member_real(hm_buf *b, const char *sep_key, double v)
{
    char s[64], *e;
    int n;
    if (!isfinite(v))
        return;
    n = snprintf(s, sizeof s, "%.11g", v);
    if (n < 0 || n >= (int)sizeof s - 3)
        return;
    if (!strchr(s, '.') && !strchr(s, 'e')) {
        memcpy(s + n, ".0", 3);
        n += 2;
    }
    if ((e = strchr(s, 'e'))) {
        char *start = e + 1, *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start)
            memmove(start, end, strlen(end) + 1);
    }
    hm_buf_puts(b, sep_key);
    hm_buf_puts(b, s);
}

void hm_request_text_open(hm_buf *b, const hm_request *r, unsigned view)
{
    char created[32], updated[32];
    const bool snap = view & HM_VIEW_SNAP;
    bool first = true;
    hm_time_format(r->created_at, created);
    hm_time_format(r->updated_at, updated);
    hm_buf_printf(b, "{\"id\":%lld", (long long)r->id);
    hm_json_member_str(b, ",\"code\":", r->code);
    hm_json_member_real(b, ",\"lat\":", snap ? hm_snap(r->lat) : r->lat);
    hm_json_member_real(b, ",\"lon\":", snap ? hm_snap(r->lon) : r->lon);
    hm_json_member_str(b, ",\"location_precision\":", hm_precision_name(r->precision));
    hm_json_member_str(b, ",\"category\":", hm_category_name(r->category));
    hm_buf_printf(b, ",\"people\":%d,\"vulnerable\":[", r->people);
    for (int i = 0; i < HM_VULN__COUNT; i++)
        if (r->vulnerable & (1u << i)) {
            if (!first)
                hm_buf_putc(b, ',');
            first = false;
            put_str(b, hm_vulnerable_name(i));
        }
    hm_buf_putc(b, ']');
    hm_json_member_str(b, ",\"priority\":", hm_priority_name(r->priority));
    hm_json_member_str(b, ",\"status\":", hm_status_name(r->status));
    hm_json_member_str_or_null(b, ",\"ward_code\":", r->ward_code);
    hm_json_member_str_or_null(b, ",\"former_ward_code\":", r->former_ward_code);
    hm_json_member_str_or_null(b, ",\"hamlet_code\":", r->hamlet_code);
    hm_json_member_str(b, ",\"source\":", hm_source_name(r->source));
    hm_buf_printf(b, ",\"verified\":%s,\"team_id\":", r->verified ? "true" : "false");
    if (r->team_id > 0)
        hm_buf_printf(b, "%lld", (long long)r->team_id);
    else
        hm_buf_puts(b, "null");
    hm_json_member_str_or_null(
        b, ",\"duplicate_of\":",
        r->auto_duplicate && (view & (HM_VIEW_SNAP | HM_VIEW_RESIDENT)) ? NULL : r->duplicate_of);
    hm_json_member_str(b, ",\"created_at\":", created);
    hm_json_member_str(b, ",\"updated_at\":", updated);
}

char *hm_request_text(const hm_request *r, unsigned view, const char *const *keys,
                      const char *const *values, size_t n_extra)
{
    hm_buf b;

    /* Contact data and the delivery/receipt members go through the tree (rare views). */
    if (view & (HM_VIEW_CONTACT | HM_VIEW_RECEIPT)) {
        json_t *o = hm_request_json(r, view);
        char *s;
        for (size_t i = 0; i < n_extra; i++)
            json_object_set_new(o, keys[i], values[i] ? json_string(values[i]) : json_null());
        s = json_dumps(o, HM_JSON_FLAGS);
        json_decref(o);
        return s;
    }
    hm_buf_init(&b);
    hm_buf_reserve(&b, 512);
    hm_request_text_open(&b, r, view);
    for (size_t i = 0; i < n_extra; i++) {
        char sep_key[64];
        snprintf(sep_key, sizeof sep_key, ",\"%s\":", keys[i]);
        if (values[i])
            hm_json_member_str(&b, sep_key, values[i]);
        else
            hm_json_member_str_or_null(&b, sep_key, NULL);
    }
    hm_buf_putc(&b, '}');
    return hm_buf_steal(&b, NULL);
}

char *hm_request_event_text(const hm_request *r, bool public_view)
{
    return hm_request_text(r, public_view ? HM_VIEW_SNAP : 0, NULL, NULL, 0);
}
