#include "validate.h"

#include "hm_buf.h"
#include "locparse.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- input validation --------------------------------------------------------------- */

/* A JSON number as a finite double. */
static int get_number(json_t *o, const char *key, double *out, bool required, hm_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return hm_error_set(err, HM_E_INVALID_FIELD, key, "%s is required", key);
        return 1; /* absent */
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return hm_error_set(err, HM_E_INVALID_FIELD, key, "%s must be a number", key);
    *out = json_number_value(v);
    return HM_OK;
}

int hm_validate_text(json_t *o, const char *key, size_t max_chars, char **out, hm_error *err)
{
    json_t *v = json_object_get(o, key);
    const char *s;
    if (!v || json_is_null(v))
        return HM_OK;
    if (!json_is_string(v))
        return hm_error_set(err, HM_E_INVALID_FIELD, key, "%s must be text", key);
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || !hm_text_ok(s, max_chars))
        return hm_error_set(err, HM_E_INVALID_FIELD, key,
                            "%s must be at most %zu characters of plain text (no control or "
                            "text-direction characters)",
                            key, max_chars);
    /* Trim; an empty string is the same as absent. */
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    if (*s) {
        size_t n = strlen(s);
        while (n > 0 &&
               (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
            n--;
        *out = hm_xstrndup(s, n);
    }
    return HM_OK;
}

static int get_code_field(json_t *o, const char *key, char *out, size_t size, hm_error *err)
{
    json_t *v = json_object_get(o, key);
    const char *s;
    if (!v || json_is_null(v))
        return HM_OK;
    if (!json_is_string(v) || !*(s = json_string_value(v)) || strlen(s) >= size ||
        strlen(s) != json_string_length(v))
        return hm_error_set(err, HM_E_INVALID_FIELD, key, "%s must be an area code", key);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f)
            return hm_error_set(err, HM_E_INVALID_FIELD, key, "%s must be an area code", key);
    snprintf(out, size, "%s", s);
    return HM_OK;
}

/* The optional `reporter` {name?, phone} of someone who reports for the person in need. */
static int get_reporter(json_t *body, hm_request *r, hm_error *err)
{
    json_t *v = json_object_get(body, "reporter");
    char *phone = NULL, norm[24];
    int rc;

    if (!v || json_is_null(v))
        return HM_OK;
    if (!json_is_object(v))
        return hm_error_set(err, HM_E_INVALID_FIELD, "reporter",
                            "reporter must be an object with a phone and an optional name");
    if (hm_validate_text(v, "name", 100, &r->reporter_name, NULL))
        return hm_error_set(err, HM_E_INVALID_FIELD, "reporter.name",
                            "the reporter's name must be at most 100 characters of plain text");
    if (hm_validate_text(v, "phone", 40, &phone, NULL) || !phone) {
        free(phone);
        return hm_error_set(err, HM_E_INVALID_FIELD, "reporter.phone",
                            "the reporter's phone number is required, such as 0909 123 456");
    }
    rc = hm_phone_normalize(phone, norm, sizeof norm, NULL);
    free(phone);
    if (rc)
        return hm_error_set(err, HM_E_INVALID_FIELD, "reporter.phone",
                            "the reporter's phone must be a Vietnamese number such as 0909 123 456 "
                            "or an international number such as +84 909 123 456");
    r->reporter_phone = hm_xstrdup(norm);
    return HM_OK;
}

/* True when `v` is absent, null or a string of blanks only: like every optional text field,
 * an empty location_text is no location_text. */
static bool blank(json_t *v)
{
    const char *s = json_string_value(v);
    if (!v || json_is_null(v))
        return true;
    if (!s || strlen(s) != json_string_length(v))
        return false;
    return s[strspn(s, " \t\r\n")] == '\0';
}

/* A pasted `location_text` in place of lat/lon: parsed, and kept as given (trimmed).
 * Returns 1 when absent. */
static int get_location_text(json_t *body, hm_request *r, hm_error *err)
{
    json_t *v = json_object_get(body, "location_text");
    double lon, lat;
    int rc;

    if (blank(v))
        return 1;
    if (!json_is_string(v))
        return hm_error_set(err, HM_E_INVALID_FIELD, "location_text",
                            "location_text must be text: a map link or coordinates");
    if ((rc = hm_loc_parse(json_string_value(v), json_string_length(v), &lon, &lat, NULL, err)))
        return rc;
    if ((rc = hm_validate_text(body, "location_text", HM_LOC_MAX_TEXT, &r->location_text, err)))
        return rc;
    r->lon = lon;
    r->lat = lat;
    r->precision = HM_PREC_LINK;
    return HM_OK;
}

int hm_validate_request(json_t *body, bool operator_plus, hm_request *r, char want_ward[40],
                        char want_hamlet[HM_HAMLET_TEXT_SIZE], bool *by_address, hm_error *err)
{
    json_t *v;
    double lat = 0, lon = 0;
    int has_lat, has_lon, has_text, rc;
    char *phone = NULL;
    char norm[24];

    has_lat = get_number(body, "lat", &lat, false, err);
    if (has_lat < 0 || has_lat > 1)
        return has_lat;
    has_lon = get_number(body, "lon", &lon, false, err);
    if (has_lon < 0 || has_lon > 1)
        return has_lon;
    v = json_object_get(body, "location_text");
    if (!blank(v)) {
        /* One way to say where: a pasted location replaces lat/lon and the commune. */
        if (has_lat == HM_OK || has_lon == HM_OK)
            return hm_error_set(err, HM_E_INVALID_FIELD, "location_text",
                                "give lat and lon or location_text, not both");
        v = json_object_get(body, "ward_code");
        if (v && !json_is_null(v))
            return hm_error_set(err, HM_E_INVALID_FIELD, "location_text",
                                "give location_text or a ward_code, not both");
    }
    has_text = get_location_text(body, r, err);
    if (has_text < 0 || has_text > 1)
        return has_text;
    if (has_text == HM_OK) {
        /* placed by the pasted text */
    } else if (has_lat == HM_OK && has_lon == HM_OK) {
        if (lat < -90 || lat > 90)
            return hm_error_set(err, HM_E_INVALID_FIELD, "lat", "lat must be between -90 and 90");
        if (lon < -180 || lon > 180)
            return hm_error_set(err, HM_E_INVALID_FIELD, "lon", "lon must be between -180 and 180");
        r->lat = lat;
        r->lon = lon;
        r->precision = HM_PREC_GPS;
    } else if (has_lat == HM_OK || has_lon == HM_OK) {
        return hm_error_set(err, HM_E_INVALID_FIELD, has_lat == HM_OK ? "lon" : "lat",
                            "give both lat and lon, or a ward_code and an address");
    } else {
        if ((rc = get_code_field(body, "ward_code", want_ward, 40, err)))
            return rc;
        /* A code or a name as typed: the creation looks it up, and keeps a name that matches
         * no hamlet in the address (SPEC "The pages in a crisis"). */
        {
            char *hamlet = NULL;
            if ((rc = hm_validate_text(body, "hamlet_code", HM_HAMLET_TEXT_MAX, &hamlet, err)))
                return rc;
            snprintf(want_hamlet, HM_HAMLET_TEXT_SIZE, "%s", hamlet ? hamlet : "");
            free(hamlet);
        }
        if (!want_ward[0])
            return hm_error_set(err, HM_E_INVALID_FIELD, "lat",
                                "give lat and lon, or a ward_code and an address");
        *by_address = true;
        r->precision = HM_PREC_ADDRESS;
    }
    v = json_object_get(body, "location_precision");
    if (v && !json_is_null(v)) {
        int p = hm_precision_parse(json_string_value(v));
        if (p < 0 || (p == HM_PREC_LINK && has_text != HM_OK))
            return hm_error_set(err, HM_E_INVALID_FIELD, "location_precision",
                                "location_precision must be gps, pin, address or place (link "
                                "comes with location_text)");
        if (!*by_address && has_text != HM_OK)
            r->precision = p;
    }
    v = json_object_get(body, "category");
    if ((r->category = hm_category_parse(json_string_value(v))) < 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "category",
                            "category must be one of food, water, medical, cash, shelter, "
                            "rescue, other");
    v = json_object_get(body, "people");
    if (!v || json_is_null(v))
        r->people = 1;
    else if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 500)
        return hm_error_set(err, HM_E_INVALID_FIELD, "people",
                            "people must be a whole number from 1 to 500");
    else
        r->people = (int)json_integer_value(v);
    v = json_object_get(body, "vulnerable");
    if (v && !json_is_null(v)) {
        size_t i;
        json_t *e;
        if (!json_is_array(v))
            return hm_error_set(err, HM_E_INVALID_FIELD, "vulnerable", "vulnerable must be a list");
        json_array_foreach(v, i, e)
        {
            unsigned bit = hm_vulnerable_parse(json_string_value(e));
            if (!bit)
                return hm_error_set(err, HM_E_INVALID_FIELD, "vulnerable",
                                    "vulnerable may hold elderly, child, pregnant, disabled, "
                                    "sick");
            r->vulnerable |= bit;
        }
    }
    if ((rc = hm_validate_text(body, "note", 500, &r->note, err)) ||
        (rc = hm_validate_text(body, "name", 100, &r->name, err)) ||
        (rc = hm_validate_text(body, "address", 200, &r->address, err)))
        return rc;
    if (*by_address && !r->address)
        return hm_error_set(err, HM_E_INVALID_FIELD, "address",
                            "an address is needed when no position is given");
    if ((rc = hm_validate_text(body, "phone", 40, &phone, err)))
        return rc;
    if (!phone)
        return hm_error_set(err, HM_E_INVALID_FIELD, "phone", "a phone number is required");
    rc = hm_phone_normalize(phone, norm, sizeof norm, err);
    free(phone);
    if (rc)
        return rc;
    r->phone = hm_xstrdup(norm);
    if ((rc = get_reporter(body, r, err)))
        return rc;
    r->priority = hm_priority_of(r->category, r->vulnerable);
    r->status = HM_ST_NEW;
    r->source = operator_plus ? HM_SRC_HOTLINE : HM_SRC_WEB;
    v = json_object_get(body, "source");
    if (v && !json_is_null(v)) {
        int s = hm_source_parse(json_string_value(v));
        if (s < 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "source",
                                "source must be web, hotline or import");
        if (!operator_plus && s != HM_SRC_WEB)
            return hm_error_set(err, HM_E_FORBIDDEN, "source",
                                "only operators may record hotline or imported requests");
        /* What an operator types in came by phone; imports go through /requests/import, web
         * requests through the resident's page (issue 14). */
        if (operator_plus && s != HM_SRC_HOTLINE)
            return hm_error_set(err, HM_E_INVALID_FIELD, "source",
                                "requests an operator enters are hotline requests; lists are "
                                "imported with POST /api/v1/requests/import");
        r->source = s;
    }
    r->created_at = hm_now_ms();
    return HM_OK;
}
