/* gazetteer.c: the place index as a follower of the store, place imports, the place of an
 * address; see gazetteer.h. */
#include "gazetteer.h"

#include "areas.h"
#include "basemap.h"
#include "core_int.h"
#include "fold.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"
#include "present.h"
#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

/* The shipped place names (default_areas.S). */
extern const char hm_default_places_geojson[];

/* One index and the readers holding it: freed by the last release. */
typedef struct snap {
    hm_places *idx;
    unsigned refs;          /* under g->mu */
    struct hm_gazetteer *g; /* whose lock counts the references */
} snap;

/* A name read from the basemap's tiles (owned strings). */
typedef struct bm_name {
    char *kind, *name;
    double lon, lat, bbox[4];
} bm_name;

struct hm_gazetteer {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* dirty or stop */
    snap *cur;         /* under mu */
    bool dirty, stop;  /* under mu */
    bool basemap_loaded;
    pthread_t thread;
    bool running;
    hm_store *st; /* the rebuilding thread's connection */
    bm_name *names;
    size_t n_names, cap_names;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- references ---- */

static snap *acquire(struct hm_gazetteer *g)
{
    snap *s;
    pthread_mutex_lock(&g->mu);
    s = g->cur;
    if (s)
        s->refs++;
    pthread_mutex_unlock(&g->mu);
    return s;
}

static void release(snap *s)
{
    struct hm_gazetteer *g;
    bool last;
    if (!s)
        return;
    g = s->g;
    pthread_mutex_lock(&g->mu);
    last = --s->refs == 0;
    pthread_mutex_unlock(&g->mu);
    if (last) {
        hm_places_destroy(s->idx);
        free(s);
    }
}

/* Make `idx` the index searches use; the old one goes when its last reader is done. */
static void swap_in(struct hm_gazetteer *g, hm_places *idx)
{
    snap *s = hm_xcalloc(1, sizeof *s), *old;
    s->idx = idx;
    s->g = g;
    s->refs = 1; /* the gazetteer's own */
    pthread_mutex_lock(&g->mu);
    old = g->cur;
    g->cur = s;
    pthread_mutex_unlock(&g->mu);
    release(old);
}

/* ---- building ---- */

typedef struct build_ctx {
    hm_core *core;
    hm_places *idx;
    size_t skipped;
} build_ctx;

/* The code of the ward covering (lon, lat) into `out` ("" when none). */
static void ward_of(hm_core *c, double lon, double lat, char out[40])
{
    hm_request r;
    memset(&r, 0, sizeof r);
    r.lon = lon;
    r.lat = lat;
    hm_core__locate(c, &r);
    memcpy(out, r.ward_code, 40);
}

static void add_src(build_ctx *b, const hm_place_src *src)
{
    hm_error e = {0};
    if (hm_places_add(b->idx, src, &e)) {
        b->skipped++;
        hm_log(HM_LOG_DEBUG, "event=place_skipped field=%s msg=\"%s\"", e.field ? e.field : "-",
               e.msg);
    }
}

/* Does `name` start with one of the administrative words people may leave out? */
static bool has_prefix(const char *name, const char *const *prefixes)
{
    for (size_t i = 0; prefixes[i]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], n) == 0 && (name[n] == ' ' || name[n] == '\0'))
            return true;
    }
    return false;
}

static int add_area(void *ctx, const hm_area_row *a)
{
    static const char *const ward_words[] = {"Xã", "Phường", "Thị trấn", "Đặc khu", NULL};
    static const char *const hamlet_words[] = {"Ấp", "Khu phố", "Tổ", "Thôn", "Xóm", NULL};
    build_ctx *b = ctx;
    hm_place_src src;
    char ward[40], alt[200];
    const char *alts[1];
    const char *level = hm_level_name((hm_level)a->level);

    if (!a->name[0])
        return 0;
    memset(&src, 0, sizeof src);
    src.name = a->name;
    src.kind = level;
    src.level = level;
    src.rank = hm_place_kind_rank(level);
    src.code = a->code;
    src.lon = a->rep_lon;
    src.lat = a->rep_lat;
    src.bbox = a->bbox;
    /* The name with the word residents say before it: "Xã Tân An Hội", "Ấp Bàu Tre". */
    if (a->level == HM_LEVEL_HAMLET ? !has_prefix(a->name, hamlet_words)
                                    : !has_prefix(a->name, ward_words)) {
        snprintf(alt, sizeof alt, "%s %s", a->level == HM_LEVEL_HAMLET ? "Ấp" : "Xã", a->name);
        alts[0] = alt;
        src.alt_names = alts;
        src.n_alt = 1;
    }
    if (a->level == HM_LEVEL_WARD)
        snprintf(ward, sizeof ward, "%s", a->code);
    else if (a->level == HM_LEVEL_HAMLET && a->parent_code[0])
        snprintf(ward, sizeof ward, "%s", a->parent_code);
    else
        ward_of(b->core, a->rep_lon, a->rep_lat, ward);
    src.ward_code = ward[0] ? ward : NULL;
    add_src(b, &src);
    return 0;
}

static int add_place(void *ctx, const hm_place_row *p)
{
    build_ctx *b = ctx;
    hm_place_src src;
    char ward[40];

    if (strcmp(p->source, "basemap") == 0)
        return 0; /* this server's own basemap names are added from its tiles */
    memset(&src, 0, sizeof src);
    src.name = p->name;
    src.alt_names = p->alt_names;
    src.n_alt = p->n_alt;
    src.kind = p->kind;
    src.rank = hm_place_kind_rank(p->kind);
    src.code = p->code;
    src.lon = p->lon;
    src.lat = p->lat;
    src.bbox = p->has_bbox ? p->bbox : NULL;
    /* Areas may have changed since the import: the ward of the point as they are now. */
    ward_of(b->core, p->lon, p->lat, ward);
    src.ward_code = ward[0] ? ward : NULL;
    add_src(b, &src);
    return 0;
}

/* A new frozen index of the areas and places in `st` and the basemap names loaded so far;
 * NULL with `err` filled when the store cannot be read. */
static hm_places *build(hm_core *c, hm_store *st, hm_error *err)
{
    struct hm_gazetteer *g = c->places;
    build_ctx b = {c, hm_places_create(), 0};
    int rc;

    if ((rc = hm_store_area_list(st, -1, add_area, &b, err)) ||
        (rc = hm_store_place_list(st, NULL, add_place, &b, err))) {
        hm_places_destroy(b.idx);
        hm_store_quiesce(st, NULL, 0);
        return NULL;
    }
    hm_store_quiesce(st, NULL, 0);
    for (size_t i = 0; i < g->n_names; i++) {
        const bm_name *n = &g->names[i];
        hm_place_src src;
        char ward[40];
        memset(&src, 0, sizeof src);
        src.name = n->name;
        src.kind = n->kind;
        src.rank = hm_place_kind_rank(n->kind);
        src.lon = n->lon;
        src.lat = n->lat;
        if (n->bbox[0] < n->bbox[2] || n->bbox[1] < n->bbox[3])
            src.bbox = n->bbox;
        ward_of(c, n->lon, n->lat, ward);
        src.ward_code = ward[0] ? ward : NULL;
        add_src(&b, &src);
    }
    if (hm_places_freeze(b.idx, err)) {
        hm_places_destroy(b.idx);
        return NULL;
    }
    if (b.skipped)
        hm_log(HM_LOG_INFO, "event=places_skipped count=%zu", b.skipped);
    return b.idx;
}

static int collect_name(const hm_basemap_name *n, void *ctx)
{
    struct hm_gazetteer *g = ctx;
    bm_name *m;
    if (g->n_names == g->cap_names) {
        g->cap_names = g->cap_names ? g->cap_names * 2 : 256;
        g->names = hm_xrealloc(g->names, g->cap_names * sizeof *g->names);
    }
    m = &g->names[g->n_names++];
    /* Streets are "street"; places keep their OpenMapTiles class (village, hamlet ...). */
    m->kind = hm_xstrdup(strcmp(n->kind, "street") == 0 || !n->class || !n->class[0] ? n->kind
                                                                                     : n->class);
    m->name = hm_xstrdup(n->name);
    m->lon = n->lon;
    m->lat = n->lat;
    memcpy(m->bbox, n->bbox, sizeof m->bbox);
    return 0;
}

/* Read the basemap's street and place names once (they never change while serving). */
static void load_basemap_names(hm_core *c)
{
    struct hm_gazetteer *g = c->places;
    hm_error err = {0};
    double t0 = now_s();

    if (hm_basemap_names(c->basemap, collect_name, g, &err))
        hm_log(HM_LOG_WARN, "event=basemap_names_failed msg=\"%s\"", err.msg);
    else
        hm_log(HM_LOG_INFO, "event=basemap_names count=%zu s=%.2f", g->n_names, now_s() - t0);
}

static void *rebuild_main(void *arg)
{
    hm_core *c = arg;
    struct hm_gazetteer *g = c->places;

    prctl(PR_SET_NAME, "hm-places", 0, 0, 0);
    for (;;) {
        hm_error err = {0};
        hm_places *idx;
        double t0;

        pthread_mutex_lock(&g->mu);
        while (!g->dirty && !g->stop)
            pthread_cond_wait(&g->cv, &g->mu);
        if (g->stop) {
            pthread_mutex_unlock(&g->mu);
            break;
        }
        g->dirty = false;
        pthread_mutex_unlock(&g->mu);

        if (c->basemap && !g->basemap_loaded)
            load_basemap_names(c);
        t0 = now_s();
        if ((idx = build(c, g->st, &err))) {
            swap_in(g, idx);
            hm_log(HM_LOG_INFO, "event=places_rebuilt count=%zu s=%.3f", hm_places_count(idx),
                   now_s() - t0);
            pthread_mutex_lock(&g->mu);
            if (c->basemap)
                g->basemap_loaded = true;
            pthread_mutex_unlock(&g->mu);
        } else {
            /* The store is gone for now: try again in a second. */
            hm_log(HM_LOG_WARN, "event=places_rebuild_failed msg=\"%s\"", err.msg);
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&g->mu);
            g->dirty = true;
            pthread_mutex_unlock(&g->mu);
        }
    }
    return NULL;
}

int hm_core__places_start(hm_core *c, hm_error *err)
{
    struct hm_gazetteer *g = hm_xcalloc(1, sizeof *g);
    hm_places *idx;

    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    c->places = g;
    if (!(g->st = hm_store_open(c->cfg.db_path, 0, err)))
        goto fail;
    /* The areas and stored places now, so that the first search finds them; a basemap's names
     * (seconds for a country) follow from the thread. */
    if (!(idx = build(c, g->st, err)))
        goto fail;
    swap_in(g, idx);
    hm_log(HM_LOG_INFO, "event=places_loaded count=%zu", hm_places_count(idx));
    g->dirty = c->basemap != NULL;
    if (pthread_create(&g->thread, NULL, rebuild_main, c) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the place index thread");
        goto fail;
    }
    g->running = true;
    return HM_OK;
fail:
    hm_core__places_stop(c);
    return err && err->code ? err->code : HM_E_INTERNAL;
}

void hm_core__places_stop(hm_core *c)
{
    struct hm_gazetteer *g = c->places;
    if (!g)
        return;
    if (g->running) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    c->places = NULL;
    release(g->cur);
    hm_store_close(g->st);
    for (size_t i = 0; i < g->n_names; i++) {
        free(g->names[i].kind);
        free(g->names[i].name);
    }
    free(g->names);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void hm_core__places_changed(hm_core *c)
{
    struct hm_gazetteer *g = c->places;
    if (!g)
        return; /* still loading: the first build reads what this change wrote */
    pthread_mutex_lock(&g->mu);
    g->dirty = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

int hm_core__record_places(hm_store *st, const char *source, hm_error *err)
{
    hm_change ch;
    memset(&ch, 0, sizeof ch);
    ch.kind = HM_CH_PLACES;
    snprintf(ch.code, sizeof ch.code, "%s", source);
    return hm_store_change_add(st, &ch, err);
}

/* ---- search ---- */

int hm_core_places_search(hm_core *c, const hm_places_query *q, hm_places_result *out,
                          hm_error *err)
{
    struct hm_gazetteer *g = c->places;
    snap *s;
    int rc;

    out->n = 0;
    out->hold = NULL;
    if (!g || !(s = acquire(g)))
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "the place index is loading");
    rc = hm_places_search(s->idx, q, out->hits, &out->n, err);
    if (rc) {
        release(s);
        out->n = 0;
        return rc;
    }
    out->hold = s;
    return HM_OK;
}

void hm_places_result_clear(hm_places_result *r)
{
    release(r->hold);
    r->hold = NULL;
    r->n = 0;
}

bool hm_core_place_hint(hm_core *c, double lon, double lat, char *out, size_t size)
{
    struct hm_gazetteer *g = c ? c->places : NULL;
    hm_place_hit hit;
    bool found = false;
    snap *s;

    if (size)
        out[0] = '\0';
    if (!g || size == 0 || !(s = acquire(g)))
        return false;
    if (hm_places_nearest(s->idx, hm_snap(lon), hm_snap(lat), HM_PLACE_HINT_M, &hit)) {
        size_t n = strlen(hit.name);
        if (n >= size) { /* cut before a continuation byte, never inside a character */
            n = size - 1;
            while (n > 0 && ((unsigned char)hit.name[n] & 0xC0) == 0x80)
                n--;
        }
        memcpy(out, hit.name, n);
        out[n] = '\0';
        found = n > 0;
    }
    release(s);
    return found;
}

const char *hm_core_places_attribution(hm_core *c)
{
    return c->basemap ? HM_GEONAMES_ATTRIBUTION "; " HM_OSM_ATTRIBUTION : HM_GEONAMES_ATTRIBUTION;
}

typedef struct list_ctx {
    hm_place_cb cb;
    void *ctx;
} list_ctx;

static int list_visit(void *ctx, const hm_place_row *p)
{
    list_ctx *l = ctx;
    if (strcmp(p->source, "basemap") == 0)
        return 0;
    return l->cb(l->ctx, p);
}

int hm_core_place_list(hm_core *c, hm_place_cb cb, void *ctx, hm_error *err)
{
    hm_worker *w = hm_worker_get(err);
    list_ctx l = {cb, ctx};
    (void)c;
    if (!w)
        return err ? err->code : HM_E_INTERNAL;
    return hm_store_place_list(w->store, NULL, list_visit, &l, err);
}

void hm_core_places_stats(hm_core *c, size_t *count, bool *basemap_loaded)
{
    struct hm_gazetteer *g = c->places;
    snap *s = g ? acquire(g) : NULL;
    *count = s ? hm_places_count(s->idx) : 0;
    if (g) {
        pthread_mutex_lock(&g->mu);
        *basemap_loaded = g->basemap_loaded;
        pthread_mutex_unlock(&g->mu);
    } else {
        *basemap_loaded = false;
    }
    release(s);
}

/* ---- the place of an address ---- */

/* How much a match tells of where the request is: a named place (market, school, village)
 * most, then a street, a hamlet, a former commune (or a GeoNames commune point: the communes
 * before the reform). The ward itself tells nothing more than the fallback. */
static int specificity(const hm_place_hit *h)
{
    if (h->level)
        return strcmp(h->level, "hamlet") == 0 ? 2 : strcmp(h->level, "former_ward") == 0 ? 1 : 0;
    if (strcmp(h->kind, "admin") == 0)
        return 1;
    return strcmp(h->kind, "street") == 0 ? 3 : 4;
}

/* Does an exact match of a run name the ward given itself ("xã An Nhơn Tây" for An Nhơn
 * Tây)? Then every place of that name (its former commune of the same name, the GeoNames
 * commune point) says no more than the ward. */
static bool names_the_ward(const hm_place_hit *hits, size_t n, const char *ward)
{
    for (size_t k = 0; k < n && hits[k].match == HM_PLACE_MATCH_EXACT; k++)
        if (hits[k].level && strcmp(hits[k].level, "ward") == 0 && hits[k].code &&
            strcmp(hits[k].code, ward) == 0)
            return true;
    return false;
}

bool hm_core__place_in_text(hm_core *c, const char *text, const char *ward, const char *hamlet,
                            double *lon, double *lat)
{
    struct hm_gazetteer *g = c->places;
    size_t len = text ? strlen(text) : 0, n_words = 0, best_words = 0;
    size_t starts[64], ends[64];
    int best_spec = 0;
    char *key = NULL;
    snap *s;

    if (!g || !len || !ward || !ward[0] || !(s = acquire(g)))
        return false;
    key = hm_xmalloc(len + 1);
    len = hm_fold_into(text, len, key);
    /* The words of the folded text: one space between two words. */
    for (size_t i = 0; i < len && n_words < 64;) {
        size_t e = i;
        while (e < len && key[e] != ' ')
            e++;
        starts[n_words] = i;
        ends[n_words++] = e;
        i = e + 1;
    }
    /* Every run of 2 to 6 consecutive words that is a whole name of a place in the ward (and
     * the hamlet, when one is given): the longest, then the most telling, wins. */
    for (size_t i = 0; i < n_words; i++) {
        for (size_t w = n_words - i < 6 ? n_words - i : 6; w >= 2 && w >= best_words; w--) {
            hm_place_hit hits[HM_PLACES_LIMIT_MAX];
            hm_places_query q = {
                key + starts[i], ends[i + w - 1] - starts[i], HM_PLACES_LIMIT_MAX, false, 0, 0};
            size_t n = 0;
            if (q.q_len > HM_PLACES_Q_MAX || hm_places_search(s->idx, &q, hits, &n, NULL) ||
                names_the_ward(hits, n, ward))
                continue;
            for (size_t k = 0; k < n && hits[k].match == HM_PLACE_MATCH_EXACT; k++) {
                const hm_place_hit *h = &hits[k];
                int spec = specificity(h);
                if (spec == 0 || !h->ward_code || strcmp(h->ward_code, ward) != 0)
                    continue;
                if (hamlet && hamlet[0]) {
                    hm_request r;
                    memset(&r, 0, sizeof r);
                    r.lon = h->lon;
                    r.lat = h->lat;
                    hm_core__locate(c, &r);
                    if (strcmp(r.hamlet_code, hamlet) != 0)
                        continue;
                }
                if (w > best_words || spec > best_spec) {
                    best_words = w;
                    best_spec = spec;
                    *lon = h->lon;
                    *lat = h->lat;
                }
                break; /* the best of this name; others of the same name rank lower */
            }
        }
    }
    free(key);
    release(s);
    return best_words > 0;
}

/* ---- importing ---- */

static void refuse(hm_places_import_report *rep, size_t index, const char *field,
                   const char *reason)
{
    hm_place_refusal *r = &rep->refused[rep->n_refused++];
    r->index = index;
    r->field = field;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
}

int hm_places_import(hm_store *st, const char *source, const char *text, size_t len,
                     const hm_place_fields *fields, bool replace, bool strict,
                     hm_places_import_report *rep, hm_error *err)
{
    hm_place_list list = {0};
    hm_area_index *areas = NULL;
    bool *keep = NULL;
    size_t total, ri = 0, ii = 0;
    int rc;

    memset(rep, 0, sizeof *rep);
    if ((rc = hm_place_list_read_geojson(text, len, fields, &list, err)))
        return rc;
    if (!(areas = hm_areas_index(st, err))) {
        rc = err && err->code ? err->code : HM_E_INTERNAL;
        goto out;
    }
    hm_place_list_locate(&list, areas);
    total = list.count + list.n_refused;
    rep->refused = hm_xcalloc(total ? total : 1, sizeof *rep->refused);
    keep = hm_xcalloc(list.count ? list.count : 1, sizeof *keep);
    /* Items and refusals are both in feature order: merge them to give every feature its
     * index. */
    for (size_t idx = 0; idx < total; idx++) {
        if (ri < list.n_refused && list.refused[ri].index == idx) {
            rep->refused[rep->n_refused++] = list.refused[ri++];
            continue;
        }
        if (ii >= list.count)
            break;
        if (list.items[ii].ward_code)
            keep[ii] = true;
        else
            refuse(rep, idx, "geometry", "outside the service area: no ward contains this place");
        ii++;
    }
    if (strict && rep->n_refused) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, rep->refused[0].field,
                          "%zu of %zu places refused (the first: feature %zu, %s); nothing "
                          "imported",
                          rep->n_refused, total, rep->refused[0].index, rep->refused[0].reason);
        goto out;
    }
    if ((rc = hm_store_begin(st, true, err)))
        goto out;
    if (replace && (rc = hm_store_place_delete_source(st, source, err)))
        goto rollback;
    for (size_t i = 0; i < list.count; i++) {
        const hm_place *p = &list.items[i];
        hm_place_row row;
        if (!keep[i])
            continue;
        memset(&row, 0, sizeof row);
        row.source = source;
        row.name = p->name;
        row.alt_names = (const char *const *)p->alt_names;
        row.n_alt = p->n_alt;
        row.kind = p->kind;
        row.code = p->code;
        row.lon = p->lon;
        row.lat = p->lat;
        row.has_bbox = p->has_bbox;
        memcpy(row.bbox, p->bbox, sizeof row.bbox);
        row.ward_code = p->ward_code;
        if ((rc = hm_store_place_put(st, &row, err)))
            goto rollback;
        rep->count++;
    }
    if ((rc = hm_core__record_places(st, source, err)) || (rc = hm_store_commit(st, err)))
        goto rollback;
    goto out;
rollback:
    hm_store_rollback(st);
    rep->count = 0;
out:
    free(keep);
    hm_area_index_destroy(areas);
    hm_place_list_clear(&list);
    return rc;
}

void hm_places_import_report_clear(hm_places_import_report *rep)
{
    free(rep->refused);
    memset(rep, 0, sizeof *rep);
}

int hm_places_import_defaults(hm_store *st, hm_error *err)
{
    hm_places_import_report rep;
    hm_place_fields fields = {NULL, NULL, "geonameid", NULL, NULL}; /* GeoNames' own ids */
    int rc = hm_places_import(st, "geonames", hm_default_places_geojson,
                              strlen(hm_default_places_geojson), &fields, true, false, &rep, err);
    if (rc == HM_OK)
        hm_log(HM_LOG_INFO, "event=default_places count=%zu outside=%zu", rep.count, rep.n_refused);
    hm_places_import_report_clear(&rep);
    return rc;
}
