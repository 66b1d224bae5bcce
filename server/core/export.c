#include "export.h"

#include "model.h"
#include "present.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hm_export_format_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "csv") == 0)
        return HM_EXPORT_CSV;
    if (strcmp(s, "geojson") == 0)
        return HM_EXPORT_GEOJSON;
    if (strcmp(s, "kml") == 0)
        return HM_EXPORT_KML;
    return -1;
}

const char *hm_export_content_type(int format)
{
    switch (format) {
        case HM_EXPORT_CSV:
            return "text/csv; charset=utf-8";
        case HM_EXPORT_GEOJSON:
            return "application/geo+json; charset=utf-8";
        default:
            return "application/vnd.google-earth.kml+xml; charset=utf-8";
    }
}

const char *hm_export_extension(int format)
{
    return format == HM_EXPORT_CSV ? "csv" : format == HM_EXPORT_GEOJSON ? "geojson" : "kml";
}

static const char *const csv_fields[] = {
    "id",
    "code",
    "lat",
    "lon",
    "location_precision",
    "category",
    "people",
    "vulnerable",
    "priority",
    "note",
    "name",
    "address",
    "phone",
    "status",
    "ward_code",
    "former_ward_code",
    "hamlet_code",
    "source",
    "verified",
    "team_id",
    "duplicate_of",
    "created_at",
    "updated_at",
    "reporter_name",
    "reporter_phone",
    "location_text",
};

/* Characters that make a spreadsheet read a cell as a formula (or hide one behind them). */
static bool formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* A CSV field. Generated fields (codes, numbers, times, enums) are quoted per RFC 4180 when
 * they hold a comma, quote or line break. Free text (a resident's note, name, address) is
 * always quoted, and made safe for every separator LibreOffice offers by default (issue 11:
 * "giúp;=1+1" imported with ';' became a live =1+1): wherever a cell could begin — at the
 * start, and after a comma, semicolon, tab or line break, past spaces and quotes — a
 * character that starts a formula (= + - @ TAB CR) gets a ' in front, so whatever separator
 * splits the line, no piece of it starts a formula. */
static void csv_field(hm_buf *b, const char *s, bool free_text)
{
    bool quote = free_text || strpbrk(s, ",\"\r\n") != NULL;
    bool at_start = free_text;

    if (quote)
        hm_buf_putc(b, '"');
    for (; *s; s++) {
        char c = *s;
        if (at_start && formula_start(c))
            hm_buf_putc(b, '\'');
        if (c == '"')
            hm_buf_putc(b, '"');
        hm_buf_putc(b, c);
        if (free_text)
            at_start = c == ',' || c == ';' || c == '\t' || c == '\r' || c == '\n' ||
                       (at_start && (c == ' ' || c == '"'));
    }
    if (quote)
        hm_buf_putc(b, '"');
}

typedef struct export_ctx {
    hm_buf *out;
    int format;
    size_t n;
} export_ctx;

static void value_text(json_t *v, char *tmp, size_t size, const char **out)
{
    if (json_is_string(v)) {
        *out = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(tmp, size, "%lld", (long long)json_integer_value(v));
        *out = tmp;
    } else if (json_is_real(v)) {
        snprintf(tmp, size, "%.7f", json_real_value(v));
        *out = tmp;
    } else if (json_is_true(v)) {
        *out = "true";
    } else if (json_is_false(v)) {
        *out = "false";
    } else if (json_is_array(v)) {
        size_t i, used = 0;
        json_t *e;
        tmp[0] = '\0';
        json_array_foreach(v, i, e)
        {
            int k = snprintf(tmp + used, size - used, "%s%s", i ? ";" : "",
                             json_string_value(e) ? json_string_value(e) : "");
            if (k > 0 && (size_t)k < size - used)
                used += (size_t)k;
        }
        *out = tmp;
    } else {
        *out = "";
    }
}

static int export_visit(void *ctx, const hm_request *r)
{
    export_ctx *c = ctx;
    json_t *o = hm_request_json(r, HM_VIEW_CONTACT);
    char tmp[128];
    const char *s;

    /* The reporter flattened for the table formats. */
    json_object_set_new(o, "reporter_name",
                        r->reporter_name ? json_string(r->reporter_name) : json_null());
    json_object_set_new(o, "reporter_phone",
                        r->reporter_phone ? json_string(r->reporter_phone) : json_null());

    if (c->format == HM_EXPORT_CSV) {
        for (size_t i = 0; i < sizeof csv_fields / sizeof csv_fields[0]; i++) {
            if (i)
                hm_buf_putc(c->out, ',');
            value_text(json_object_get(o, csv_fields[i]), tmp, sizeof tmp, &s);
            csv_field(c->out, s,
                      strcmp(csv_fields[i], "note") == 0 || strcmp(csv_fields[i], "name") == 0 ||
                          strcmp(csv_fields[i], "address") == 0 ||
                          strcmp(csv_fields[i], "reporter_name") == 0 ||
                          strcmp(csv_fields[i], "location_text") == 0);
        }
        hm_buf_puts(c->out, "\r\n");
    } else if (c->format == HM_EXPORT_GEOJSON) {
        json_t *f = hm_request_feature(r, HM_VIEW_CONTACT);
        char *text = json_dumps(f, HM_JSON_FLAGS);
        if (c->n)
            hm_buf_puts(c->out, ",\n");
        hm_buf_puts(c->out, text);
        free(text);
        json_decref(f);
    } else {
        hm_buf_puts(c->out, "<Placemark><name>");
        hm_buf_put_escaped(c->out, r->code);
        hm_buf_puts(c->out, "</name><ExtendedData>");
        for (size_t i = 0; i < sizeof csv_fields / sizeof csv_fields[0]; i++) {
            value_text(json_object_get(o, csv_fields[i]), tmp, sizeof tmp, &s);
            hm_buf_printf(c->out, "<Data name=\"%s\"><value>", csv_fields[i]);
            hm_buf_put_escaped(c->out, s);
            hm_buf_puts(c->out, "</value></Data>");
        }
        hm_buf_printf(c->out,
                      "</ExtendedData><Point><coordinates>%.7f,%.7f</coordinates></Point>"
                      "</Placemark>\n",
                      r->lon, r->lat);
    }
    json_decref(o);
    c->n++;
    return 0;
}

int hm_export_write(hm_store *st, int format, const hm_request_filter *filter, hm_buf *out,
                    size_t *rows, hm_error *err)
{
    hm_request_filter f;
    export_ctx c = {out, format, 0};
    int rc;

    if (filter) {
        f = *filter;
    } else {
        hm_request_filter_init(&f);
    }
    if (format == HM_EXPORT_CSV) {
        hm_buf_puts(out, "\xEF\xBB\xBF");
        for (size_t i = 0; i < sizeof csv_fields / sizeof csv_fields[0]; i++) {
            if (i)
                hm_buf_putc(out, ',');
            hm_buf_puts(out, csv_fields[i]);
        }
        hm_buf_puts(out, "\r\n");
    } else if (format == HM_EXPORT_GEOJSON) {
        hm_buf_puts(out, "{\"type\":\"FeatureCollection\",\"features\":[\n");
    } else {
        hm_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml "
                         "xmlns=\"http://www.opengis.net/kml/2.2\"><Document><name>helpmap "
                         "requests</name>\n");
    }
    rc = hm_store_request_list(st, &f, export_visit, &c, err);
    if (rc)
        return rc;
    if (rows)
        *rows = c.n;
    if (format == HM_EXPORT_GEOJSON)
        hm_buf_puts(out, "\n]}\n");
    else if (format == HM_EXPORT_KML)
        hm_buf_puts(out, "</Document></kml>\n");
    return HM_OK;
}
