/* api_misc.c: statistics, health and metrics. */
#include "api.h"

#include "areacount.h"
#include "events.h"
#include "metrics.h"
#include "model.h"
#include "publisher.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

typedef struct name_ctx {
    json_t *wards;
    const hm_area_counts *counts;
} name_ctx;

static int ward_entry(void *ctx, const hm_area_row *a)
{
    name_ctx *c = ctx;
    const hm_area_count *n = hm_area_counts_find(c->counts, a->code);
    json_array_append_new(c->wards, json_pack("{s:s,s:s,s:I,s:I}", "code", a->code, "name", a->name,
                                              "open", (json_int_t)hm_area_count_open(n), "resolved",
                                              (json_int_t)n->by_status[HM_ST_RESOLVED]));
    return 0;
}

enum MHD_Result hm_api_stats(hm_req *r)
{
    hm_error err = {0};
    hm_worker *w;
    int64_t counts[HM_ST__COUNT][HM_CAT__COUNT], hourly[24], now = hm_now_ms();
    double median;
    json_t *by_status = json_object(), *by_cat = json_object(), *open_by_cat = json_object();
    json_t *hours = json_array();
    hm_area_counts wc = {0};
    name_ctx nc;
    int64_t total = 0, open = 0;

    hm_tally_stats(r->app->tally, now, counts, hourly, &median);
    hm_tally_areas(r->app->tally, HM_LEVEL_WARD, &wc);
    nc.wards = json_array();
    nc.counts = &wc;
    if (!(w = hm_worker_get(&err)) ||
        hm_store_area_list(w->store, HM_LEVEL_WARD, ward_entry, &nc, &err)) {
        json_decref(by_status);
        json_decref(by_cat);
        json_decref(open_by_cat);
        json_decref(hours);
        json_decref(nc.wards);
        hm_area_counts_clear(&wc);
        return hm_http_error(r, &err);
    }
    hm_area_counts_clear(&wc);
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
        hm_time_format((now / 3600000LL - 23 + h) * 3600000LL, at);
        json_array_append_new(hours,
                              json_pack("{s:s,s:I}", "from", at, "count", (json_int_t)hourly[h]));
    }
    return hm_http_json(r, 200,
                        json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "total", (json_int_t)total,
                                  "open", (json_int_t)open, "by_status", by_status, "by_category",
                                  by_cat, "open_by_category", open_by_cat, "wards", nc.wards,
                                  "median_minutes_to_resolve",
                                  median >= 0 ? json_real(median) : json_null(), "hourly", hours));
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
    hm_area_counts wc = {0};

    if (!(w = hm_worker_get(&err)))
        return hm_http_error(r, &err);
    hm_buf_init(&b);
    hm_metrics_render(&b, names, n);
    hm_buf_puts(&b, "# HELP helpmap_open_requests Open requests by ward and status.\n"
                    "# TYPE helpmap_open_requests gauge\n");
    hm_tally_areas(r->app->tally, HM_LEVEL_WARD, &wc);
    for (size_t i = 0; i < wc.count; i++) {
        const hm_area_count *c = &wc.items[i];
        /* Codes come from imported data: keep only label-safe ones. */
        if (strpbrk(c->code, "\"\\\n"))
            continue;
        for (int st = HM_ST_NEW; st <= HM_ST_IN_PROGRESS; st++)
            hm_buf_printf(&b, "helpmap_open_requests{ward=\"%s\",status=\"%s\"} %lld\n", c->code,
                          hm_status_name(st), (long long)c->by_status[st]);
    }
    hm_area_counts_clear(&wc);
    hm_writer_stats(r->app->writer, &jobs, &batches);
    hm_buf_printf(&b, "# TYPE helpmap_writes_total counter\nhelpmap_writes_total %llu\n", jobs);
    hm_buf_printf(&b,
                  "# TYPE helpmap_write_batches_total counter\nhelpmap_write_batches_total %llu\n",
                  batches);
    {
        unsigned long long done;
        size_t depth;
        hm_publisher_stats(r->app->publisher, &done, &depth);
        hm_buf_printf(&b,
                      "# TYPE helpmap_publish_jobs_total counter\n"
                      "helpmap_publish_jobs_total %llu\n",
                      done);
        hm_buf_printf(&b, "# TYPE helpmap_publish_queue_max gauge\nhelpmap_publish_queue_max %zu\n",
                      depth);
    }
    hm_buf_printf(&b, "# TYPE helpmap_event_subscribers gauge\nhelpmap_event_subscribers %zu\n",
                  r->app->events ? hm_events_subscriber_count(r->app->events) : (size_t)0);
    hm_buf_printf(&b,
                  "# TYPE helpmap_open_requests_indexed gauge\nhelpmap_open_requests_indexed %zu\n",
                  hm_pointindex_count(r->app->open_requests));
    text = hm_buf_steal(&b, &len);
    return hm_http_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, true, NULL);
}
