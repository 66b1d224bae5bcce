/* api_misc.c: statistics, health and metrics. */
#include "api.h"

#include "events.h"
#include "metrics.h"
#include "model.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

typedef struct ward_ctx {
    json_t *wards; /* object code -> {open, resolved} */
} ward_ctx;

static int ward_count(void *ctx, const char *code, int status, int category, int64_t n)
{
    ward_ctx *w = ctx;
    json_t *o = json_object_get(w->wards, code);
    (void)category;
    if (!o) {
        o = json_pack("{s:s,s:I,s:I}", "code", code, "open", (json_int_t)0, "resolved",
                      (json_int_t)0);
        json_object_set_new(w->wards, code, o);
    }
    if (hm_status_is_open(status))
        json_object_set_new(o, "open",
                            json_integer(json_integer_value(json_object_get(o, "open")) + n));
    else if (status == HM_ST_RESOLVED)
        json_object_set_new(o, "resolved",
                            json_integer(json_integer_value(json_object_get(o, "resolved")) + n));
    return 0;
}

typedef struct name_ctx {
    json_t *wards;
} name_ctx;

static int ward_name(void *ctx, const hm_area_row *a)
{
    name_ctx *c = ctx;
    json_t *o = json_object_get(c->wards, a->code);
    if (!o) {
        o = json_pack("{s:s,s:I,s:I}", "code", a->code, "open", (json_int_t)0, "resolved",
                      (json_int_t)0);
        json_object_set_new(c->wards, a->code, o);
    }
    json_object_set_new(o, "name", json_string(a->name));
    return 0;
}

enum MHD_Result hm_api_stats(hm_req *r)
{
    hm_error err = {0};
    hm_worker *w;
    int64_t counts[6][7], hourly[24], now = hm_now_ms();
    double median;
    json_t *by_status = json_object(), *by_cat = json_object(), *open_by_cat = json_object();
    json_t *hours = json_array(), *wards_arr = json_array();
    ward_ctx wc = {json_object()};
    name_ctx nc;
    const char *k;
    json_t *v;
    int64_t total = 0, open = 0;

    if (!(w = hm_worker_get(&err)) ||
        hm_store_stats(w->store, now, counts, hourly, &median, &err) ||
        hm_store_area_counts(w->store, HM_LEVEL_WARD, ward_count, &wc, &err)) {
        json_decref(by_status);
        json_decref(by_cat);
        json_decref(open_by_cat);
        json_decref(hours);
        json_decref(wards_arr);
        json_decref(wc.wards);
        return hm_http_error(r, &err);
    }
    nc.wards = wc.wards;
    hm_store_area_list(w->store, HM_LEVEL_WARD, ward_name, &nc, NULL);
    for (int s = 0; s < HM_ST__COUNT; s++) {
        int64_t n = 0;
        for (int c = 0; c < HM_CAT__COUNT; c++)
            n += counts[s][c];
        json_object_set_new(by_status, hm_status_name(s), json_integer(n));
        total += n;
        if (hm_status_is_open(s))
            open += n;
    }
    for (int c = 0; c < HM_CAT__COUNT; c++) {
        int64_t n = 0, o = 0;
        for (int s = 0; s < HM_ST__COUNT; s++) {
            n += counts[s][c];
            if (hm_status_is_open(s))
                o += counts[s][c];
        }
        json_object_set_new(by_cat, hm_category_name(c), json_integer(n));
        json_object_set_new(open_by_cat, hm_category_name(c), json_integer(o));
    }
    for (int h = 0; h < 24; h++) {
        char at[32];
        hm_time_format(now - (24 - h) * 3600000LL, at);
        json_array_append_new(hours, json_pack("{s:s,s:I}", "from", at, "count",
                                               (json_int_t)hourly[h]));
    }
    json_object_foreach(wc.wards, k, v)
    {
        json_array_append(wards_arr, v);
    }
    json_decref(wc.wards);
    return hm_http_json(
        r, 200,
        json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "total", (json_int_t)total, "open",
                  (json_int_t)open, "by_status", by_status, "by_category", by_cat,
                  "open_by_category", open_by_cat, "wards", wards_arr,
                  "median_minutes_to_resolve", median >= 0 ? json_real(median) : json_null(),
                  "hourly", hours));
}

enum MHD_Result hm_api_healthz(hm_req *r)
{
    hm_error err = {0};
    hm_worker *w = hm_worker_get(&err);
    if (!w)
        return hm_http_error(r, &err);
    return hm_http_json(r, 200,
                        json_pack("{s:s,s:i,s:I,s:I}", "status", "ok", "schema_version",
                                  hm_store_schema_version(w->store), "open_requests",
                                  (json_int_t)hm_pointindex_count(r->app->open_requests),
                                  "uptime_s",
                                  (json_int_t)((hm_now_ms() - r->app->started_ms) / 1000)));
}

typedef struct open_ctx {
    hm_buf *b;
} open_ctx;

static int open_metric(void *ctx, const char *code, int status, int category, int64_t n)
{
    open_ctx *o = ctx;
    if (!hm_status_is_open(status))
        return 0;
    /* Codes come from imported data: keep only label-safe characters. */
    for (const char *p = code; *p; p++)
        if (*p == '"' || *p == '\\' || *p == '\n')
            return 0;
    hm_buf_printf(o->b, "helpmap_open_requests{ward=\"%s\",status=\"%s\",category=\"%s\"} %lld\n",
                  code, hm_status_name(status), hm_category_name(category), (long long)n);
    return 0;
}

enum MHD_Result hm_api_metrics(hm_req *r)
{
    hm_error err = {0};
    hm_worker *w;
    hm_buf b;
    size_t len;
    char *text;
    const char *names[64];
    int n = hm_http_route_names(names, 64);
    unsigned long long jobs = 0, batches = 0;
    open_ctx oc;

    if (!(w = hm_worker_get(&err)))
        return hm_http_error(r, &err);
    hm_buf_init(&b);
    hm_metrics_render(&b, names, n);
    hm_buf_puts(&b, "# HELP helpmap_open_requests Open requests by ward, status and category.\n"
                    "# TYPE helpmap_open_requests gauge\n");
    oc.b = &b;
    hm_store_area_counts(w->store, HM_LEVEL_WARD, open_metric, &oc, NULL);
    hm_writer_stats(r->app->writer, &jobs, &batches);
    hm_buf_printf(&b, "# TYPE helpmap_writes_total counter\nhelpmap_writes_total %llu\n", jobs);
    hm_buf_printf(&b, "# TYPE helpmap_write_batches_total counter\nhelpmap_write_batches_total %llu\n",
                  batches);
    hm_buf_printf(&b, "# TYPE helpmap_event_subscribers gauge\nhelpmap_event_subscribers %zu\n",
                  r->app->events ? hm_events_subscriber_count(r->app->events) : (size_t)0);
    hm_buf_printf(&b, "# TYPE helpmap_open_requests_indexed gauge\nhelpmap_open_requests_indexed %zu\n",
                  hm_pointindex_count(r->app->open_requests));
    text = hm_buf_steal(&b, &len);
    return hm_http_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, true,
                         NULL);
}
