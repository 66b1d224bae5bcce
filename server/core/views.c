/* views.c: statistics, health, metrics, tiles and the export; see views.h. */
#include "views.h"

#include "areas.h"
#include "audit.h"
#include "core_int.h"
#include "events.h"
#include "export.h"
#include "gazetteer.h"
#include "mvt.h"
#include "openindex.h"
#include "present.h"
#include "publisher.h"
#include "reliefindex.h"
#include "style.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

int hm_core_stats(hm_core *c, hm_stats *out, hm_area_counts_cb ward_cb, void *ctx, hm_error *err)
{
    out->now = hm_now_ms();
    hm_tally_stats(c->tally, out->now, out->counts, out->hourly, &out->median_min);
    out->safe = hm_tally_safe_total(c->tally);
    return hm_core_areas(c, HM_LEVEL_WARD, ward_cb, ctx, err);
}

int hm_core_health(hm_core *c, hm_health *out, hm_error *err)
{
    hm_worker *w = hm_worker_get(err);
    if (!w)
        return err ? err->code : HM_E_INTERNAL;
    out->schema_version = hm_store_schema_version(w->store);
    if (out->schema_version < 0)
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL,
                            "the database does not answer; requests cannot be stored now");
    out->open_requests = hm_open_index_count(c->open);
    out->uptime_s = (hm_now_ms() - c->started_ms) / 1000;
    return HM_OK;
}

void hm_core_metrics(hm_core *c, hm_buf *b)
{
    unsigned long long jobs = 0, batches = 0, done = 0;
    size_t depth = 0;
    hm_area_counts wc = {0};

    hm_buf_puts(b, "# HELP helpmap_open_requests Open requests by ward and status.\n"
                   "# TYPE helpmap_open_requests gauge\n");
    hm_tally_areas(c->tally, HM_LEVEL_WARD, &wc);
    for (size_t i = 0; i < wc.count; i++) {
        const hm_area_count *n = &wc.items[i];
        /* Codes come from imported data: keep only label-safe ones. */
        if (strpbrk(n->code, "\"\\\n"))
            continue;
        for (int st = HM_ST_NEW; st <= HM_ST_IN_PROGRESS; st++)
            hm_buf_printf(b, "helpmap_open_requests{ward=\"%s\",status=\"%s\"} %lld\n", n->code,
                          hm_status_name(st), (long long)n->by_status[st]);
    }
    hm_area_counts_clear(&wc);
    hm_writer_stats(c->writer, &jobs, &batches);
    hm_buf_printf(b,
                  "# HELP helpmap_writes_total Write jobs committed.\n"
                  "# TYPE helpmap_writes_total counter\nhelpmap_writes_total %llu\n",
                  jobs);
    hm_buf_printf(b,
                  "# HELP helpmap_write_batches_total Transactions the writer committed.\n"
                  "# TYPE helpmap_write_batches_total counter\nhelpmap_write_batches_total %llu\n",
                  batches);
    {
        static const char *const names[HM_WRITER_PHASES] = {"run",  "commit", "wait",
                                                            "sync", "follow", "answer"};
        unsigned long long ns[HM_WRITER_PHASES];
        hm_writer_phases(c->writer, ns);
        hm_buf_puts(b, "# HELP helpmap_writer_seconds_total Time of the writer's threads by "
                       "phase of its batches (writer.h).\n"
                       "# TYPE helpmap_writer_seconds_total counter\n");
        for (int i = 0; i < HM_WRITER_PHASES; i++)
            hm_buf_printf(b, "helpmap_writer_seconds_total{phase=\"%s\"} %.6f\n", names[i],
                          (double)ns[i] / 1e9);
        hm_buf_printf(
            b,
            "# HELP helpmap_writer_syncs_total Syncs of the write-ahead log that made batches "
            "durable.\n# TYPE helpmap_writer_syncs_total counter\nhelpmap_writer_syncs_total "
            "%llu\n",
            hm_writer_syncs(c->writer));
    }
    hm_publisher_stats(c->publisher, &done, &depth);
    hm_buf_printf(b,
                  "# HELP helpmap_publish_jobs_total Committed changes rendered as events.\n"
                  "# TYPE helpmap_publish_jobs_total counter\nhelpmap_publish_jobs_total %llu\n",
                  done);
    hm_buf_printf(b,
                  "# HELP helpmap_publish_queue_max Longest queue of events waiting to be "
                  "rendered.\n"
                  "# TYPE helpmap_publish_queue_max gauge\nhelpmap_publish_queue_max %zu\n",
                  depth);
    hm_buf_printf(b,
                  "# HELP helpmap_event_subscribers Open event streams.\n"
                  "# TYPE helpmap_event_subscribers gauge\nhelpmap_event_subscribers %zu\n",
                  c->events ? hm_events_subscriber_count(c->events) : (size_t)0);
    hm_buf_printf(b,
                  "# HELP helpmap_open_requests_indexed Open requests in the in-memory index.\n"
                  "# TYPE helpmap_open_requests_indexed gauge\n"
                  "helpmap_open_requests_indexed %zu\n",
                  hm_open_index_count(c->open));
    {
        size_t places = 0;
        bool basemap_loaded = false;
        hm_core_places_stats(c, &places, &basemap_loaded);
        hm_buf_printf(b,
                      "# HELP helpmap_places_indexed Places the place search holds (areas, place "
                      "names, the basemap's streets once read).\n"
                      "# TYPE helpmap_places_indexed gauge\nhelpmap_places_indexed %zu\n",
                      places);
    }
}

/* ---- tiles ---- */

static int add_point(void *ctx, const hm_request *r)
{
    hm_mvt_point p;
    p.id = r->id;
    p.lon = hm_snap(r->lon);
    p.lat = hm_snap(r->lat);
    p.code = r->code;
    p.category = hm_category_name(r->category);
    p.status = hm_status_name(r->status);
    p.priority = hm_priority_name(r->priority);
    p.ward_code = r->ward_code;
    p.people = r->people;
    p.verified = r->verified;
    p.created_at = r->created_at / 1000;
    hm_mvt_points_add(ctx, &p);
    return 0;
}

typedef struct tile_areas {
    hm_mvt_area *a;
    char **strings;
    unsigned char **blobs;
    size_t na, capa;
    double bbox[4];
    hm_level level;
} tile_areas;

static int tile_area(void *ctx, const hm_area_row *row, const hm_area_count *c)
{
    tile_areas *a = ctx;
    hm_mvt_area *m;
    if (row->bbox[2] < a->bbox[0] || row->bbox[0] > a->bbox[2] || row->bbox[3] < a->bbox[1] ||
        row->bbox[1] > a->bbox[3])
        return 0;
    if (a->na == a->capa) {
        a->capa = a->capa ? a->capa * 2 : 16;
        a->a = hm_xrealloc(a->a, a->capa * sizeof *a->a);
        a->strings = hm_xrealloc(a->strings, a->capa * 3 * sizeof *a->strings);
        a->blobs = hm_xrealloc(a->blobs, a->capa * sizeof *a->blobs);
    }
    m = &a->a[a->na];
    memset(m, 0, sizeof *m);
    a->strings[3 * a->na] = hm_xstrdup(row->code);
    a->strings[3 * a->na + 1] = hm_xstrdup(row->name);
    a->strings[3 * a->na + 2] = row->parent_code[0] ? hm_xstrdup(row->parent_code) : NULL;
    a->blobs[a->na] = hm_xmalloc(row->wkb_len);
    memcpy(a->blobs[a->na], row->wkb, row->wkb_len);
    m->code = a->strings[3 * a->na];
    m->name = a->strings[3 * a->na + 1];
    m->parent_code = a->strings[3 * a->na + 2];
    m->level = hm_level_name(a->level);
    m->wkb = a->blobs[a->na];
    m->wkb_len = row->wkb_len;
    m->open = (int)hm_area_count_open(c);
    m->resolved = (int)c->by_status[HM_ST_RESOLVED];
    for (int i = 0; i < HM_CAT__COUNT; i++)
        m->open_by_category[i] = (int)c->open_by_cat[i];
    a->na++;
    return 0;
}

static void tile_areas_clear(tile_areas *a)
{
    for (size_t i = 0; i < a->na; i++) {
        free(a->strings[3 * i]);
        free(a->strings[3 * i + 1]);
        free(a->strings[3 * i + 2]);
        free(a->blobs[i]);
    }
    free(a->a);
    free(a->strings);
    free(a->blobs);
}

static int encode_points(hm_core *c, hm_worker *w, const hm_tile_query *q,
                         const hm_mvt_options *opt, hm_buf *out, hm_error *err)
{
    const unsigned open = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    hm_request_filter f;
    hm_mvt_points *enc;
    int rc;

    hm_request_filter_init(&f);
    f.status_mask = q->status_mask;
    f.category = q->category;
    /* Public filters see what public answers show (issue 11): `since` in whole seconds, and
     * points are placed (and kept or clipped by the encoder) at their snapped position. */
    f.since_ms = q->since_ms > 0 ? (q->since_ms + 999) / 1000 * 1000 : 0;
    f.has_bbox = true;
    hm_mvt_points_bounds(&q->tile, opt, f.bbox);
    /* Snapping moves a point by up to half a grid step: widen the query by a full one. */
    f.bbox[0] -= 0.001, f.bbox[1] -= 0.001, f.bbox[2] += 0.001, f.bbox[3] += 0.001;
    if (!(enc = hm_mvt_points_create(&q->tile, opt, err)))
        return err ? err->code : HM_E_INTERNAL;
    /* Open requests come from the in-memory index (issue 7: a z10 tile covers the whole
     * district); other statuses from the database. */
    if (f.status_mask && !(f.status_mask & ~open))
        rc = hm_open_index_walk(c->open, &f, false, add_point, enc);
    else
        rc = hm_store_request_list(w->store, &f, add_point, enc, err);
    if (!rc)
        rc = hm_mvt_points_finish(enc, out, err);
    hm_mvt_points_destroy(enc);
    return rc;
}

/* The points layer: every relief point from memory (a few hundred at most). */
static int encode_reliefs(hm_core *c, const hm_tile_query *q, const hm_mvt_options *opt,
                          hm_buf *out, hm_error *err)
{
    hm_relief *list = NULL;
    hm_mvt_relief *pts;
    size_t n = 0;
    int rc;

    hm_relief_index_list(c->reliefs, 0, 0, &list, &n);
    pts = hm_xcalloc(n ? n : 1, sizeof *pts);
    for (size_t i = 0; i < n; i++) {
        pts[i].id = list[i].id;
        pts[i].lon = list[i].lon;
        pts[i].lat = list[i].lat;
        pts[i].kind = hm_relief_kind_name(list[i].kind);
        pts[i].status = hm_relief_status_name(list[i].status);
        pts[i].name = list[i].name;
        pts[i].hours = list[i].hours;
        pts[i].capacity = list[i].capacity;
        pts[i].updated_at = list[i].updated_at / 1000;
    }
    rc = hm_mvt_encode_reliefs(&q->tile, pts, n, opt, out, err);
    free(pts);
    free(list);
    return rc;
}

int hm_core_tile(hm_core *c, const hm_tile_query *q, hm_tile_blob **out, hm_error *err)
{
    char canon[160] = "";
    hm_tile_key key;
    hm_tile_blob *b;
    hm_worker *w;
    hm_buf buf;
    hm_mvt_options opt;
    uint64_t gen;
    int rc;

    /* The canonical filter of a requests tile is part of its cache key. */
    if (q->layer == HM_TILE_REQUESTS)
        snprintf(canon, sizeof canon, "status=%s&category=%s&since=%lld",
                 q->status ? q->status : "open", q->category_text ? q->category_text : "",
                 (long long)q->since_ms);
    key.layer = q->layer;
    key.tile = q->tile;
    key.filter = canon;
    if ((b = hm_tile_cache_get(c->tiles, &key))) {
        *out = b;
        return HM_OK;
    }
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    gen = hm_tile_cache_generation(c->tiles);
    hm_mvt_options_init(&opt);
    hm_buf_init(&buf);
    if (q->layer == HM_TILE_REQUESTS) {
        rc = encode_points(c, w, q, &opt, &buf, err);
    } else if (q->layer == HM_TILE_POINTS) {
        rc = encode_reliefs(c, q, &opt, &buf, err);
    } else {
        static const hm_level levels[] = {HM_LEVEL_WARD, HM_LEVEL_WARD, HM_LEVEL_FORMER_WARD,
                                          HM_LEVEL_HAMLET};
        tile_areas ta;
        memset(&ta, 0, sizeof ta);
        ta.level = levels[q->layer];
        hm_tile_bounds_buffered(&q->tile, 0.05, ta.bbox);
        rc = hm_core_areas(c, ta.level, tile_area, &ta, err);
        if (!rc)
            rc = hm_mvt_encode_areas(w->geos, &q->tile, q->layer, ta.a, ta.na, &opt, &buf, err);
        tile_areas_clear(&ta);
    }
    if (rc) {
        hm_buf_clear(&buf);
        return rc;
    }
    b = hm_tile_blob_create(buf.data, buf.len, err);
    hm_buf_clear(&buf);
    if (!b)
        return err ? err->code : HM_E_INTERNAL;
    hm_tile_cache_put(c->tiles, &key, b, gen);
    *out = b;
    return HM_OK;
}

typedef struct bounds_ctx {
    double *b;
    bool any;
} bounds_ctx;

static int bounds_cb(void *ctx, const hm_area_row *row)
{
    bounds_ctx *c = ctx;
    if (!c->any) {
        memcpy(c->b, row->bbox, 4 * sizeof *c->b);
        c->any = true;
        return 0;
    }
    if (row->bbox[0] < c->b[0])
        c->b[0] = row->bbox[0];
    if (row->bbox[1] < c->b[1])
        c->b[1] = row->bbox[1];
    if (row->bbox[2] > c->b[2])
        c->b[2] = row->bbox[2];
    if (row->bbox[3] > c->b[3])
        c->b[3] = row->bbox[3];
    return 0;
}

int hm_core_bounds(hm_core *c, double bbox[4], bool *found, hm_error *err)
{
    bounds_ctx bc = {bbox, false};
    hm_worker *w = hm_worker_get(err);
    int rc;
    (void)c;
    *found = false;
    if (!w)
        return err ? err->code : HM_E_INTERNAL;
    if ((rc = hm_store_area_list(w->store, HM_LEVEL_WARD, bounds_cb, &bc, err)))
        return rc;
    *found = bc.any;
    return HM_OK;
}

int hm_core_export(hm_core *c, const hm_actor *a, int format, const hm_request_filter *f,
                   hm_buf *out, struct hm_audit_op *audit, hm_error *err)
{
    hm_worker *w;
    size_t rows = 0;
    int rc;
    (void)c;
    if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    if ((rc = hm_export_write(w->store, format, f, out, &rows, err)))
        return rc;
    hm_audit_op_init(audit, "export", a, a->team.id, (int64_t)rows, hm_export_extension(format));
    return HM_OK;
}

/* ---- the street map and the style ---- */

bool hm_core_has_basemap(hm_core *c)
{
    return c->basemap != NULL;
}

int hm_core_basemap_tile(hm_core *c, const hm_tile *t, hm_mbtiles_blob *out, hm_error *err)
{
    if (!c->basemap)
        return hm_error_set(err, HM_E_NOT_FOUND, "basemap",
                            "this server has no street map (serve --basemap FILE.mbtiles)");
    return hm_mbtiles_tile_get(c->basemap, t, out, err);
}

int hm_core_basemap_tilejson(hm_core *c, const char *base_url, hm_buf *out, hm_error *err)
{
    if (!c->basemap)
        return hm_error_set(err, HM_E_NOT_FOUND, "basemap",
                            "this server has no street map (serve --basemap FILE.mbtiles)");
    return hm_mbtiles_tilejson(c->basemap, base_url, out, err);
}

int hm_core_style(hm_core *c, const char *base_url, bool dark, hm_buf *out, hm_error *err)
{
    hm_style_params p;
    memset(&p, 0, sizeof p);
    p.base_url = base_url;
    p.basemap = c->basemap != NULL;
    p.dark = dark;
    return hm_style_json(&p, out, err);
}
