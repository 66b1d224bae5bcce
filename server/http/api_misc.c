/* api_misc.c: statistics, health and metrics. */
#include "api.h"

#include "metrics.h"
#include "model.h"
#include "views.h"

#include <stdlib.h>
#include <string.h>

static int ward_entry(void *ctx, const hm_area_row *a, const hm_area_count *n)
{
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:I,s:I,s:I}", "code", a->code, "name", a->name,
                                         "open", (json_int_t)hm_area_count_open(n), "resolved",
                                         (json_int_t)n->by_status[HM_ST_RESOLVED], "safe",
                                         (json_int_t)n->safe));
    return 0;
}

enum MHD_Result hm_api_stats(hm_req *r)
{
    hm_error err = {0};
    hm_stats st;
    json_t *by_status, *by_cat, *open_by_cat, *hours, *wards = json_array();
    int64_t total = 0, open = 0;

    if (hm_core_stats(r->app, &st, ward_entry, wards, &err)) {
        json_decref(wards);
        return hm_http_error(r, &err);
    }
    by_status = json_object();
    by_cat = json_object();
    open_by_cat = json_object();
    hours = json_array();
    for (int s = 0; s < HM_ST__COUNT; s++) {
        int64_t n = 0;
        for (int c = 0; c < HM_CAT__COUNT; c++)
            n += st.counts[s][c];
        json_object_set_new(by_status, hm_status_name(s), json_integer(n));
        total += n;
        if (hm_status_is_open(s))
            open += n;
    }
    for (int c = 0; c < HM_CAT__COUNT; c++) {
        int64_t n = 0, o = 0;
        for (int s = 0; s < HM_ST__COUNT; s++) {
            n += st.counts[s][c];
            if (hm_status_is_open(s))
                o += st.counts[s][c];
        }
        json_object_set_new(by_cat, hm_category_name(c), json_integer(n));
        json_object_set_new(open_by_cat, hm_category_name(c), json_integer(o));
    }
    for (int h = 0; h < 24; h++) {
        char at[32];
        hm_time_format((st.now / 3600000LL - 23 + h) * 3600000LL, at);
        json_array_append_new(
            hours, json_pack("{s:s,s:I}", "from", at, "count", (json_int_t)st.hourly[h]));
    }
    return hm_http_json(
        r, 200,
        json_pack("{s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "total", (json_int_t)total, "open",
                  (json_int_t)open, "safe", (json_int_t)st.safe, "by_status", by_status,
                  "by_category", by_cat, "open_by_category", open_by_cat, "wards", wards,
                  "median_minutes_to_resolve",
                  st.median_min >= 0 ? json_real(st.median_min) : json_null(), "hourly", hours));
}

enum MHD_Result hm_api_healthz(hm_req *r)
{
    hm_error err = {0};
    hm_health h;
    if (hm_core_health(r->app, &h, &err))
        return hm_http_error(r, &err);
    return hm_http_json(r, 200,
                        json_pack("{s:s,s:i,s:I,s:I}", "status", "ok", "schema_version",
                                  h.schema_version, "open_requests", (json_int_t)h.open_requests,
                                  "uptime_s", (json_int_t)h.uptime_s));
}

enum MHD_Result hm_api_metrics(hm_req *r)
{
    hm_buf b;
    size_t len;
    char *text;
    const char *names[64], *methods[64];
    int n = hm_http_route_names(names, methods, 64);

    hm_buf_init(&b);
    hm_metrics_render(&b, names, methods, n);
    hm_core_metrics(r->app, &b);
    text = hm_buf_steal(&b, &len);
    return hm_http_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, true, NULL);
}
