/* areacache.c: GET /api/v1/areas as ready bytes (issue 14: >= 2,000 answers a second for the
 * 21 former wards, gzip'd, and a hundred times a database's GeoJSON). Per level and
 * simplification the features are rendered once, without their counts, each time the areas
 * change (c->areas_gen); the live counts are rendered per answer (a few hundred bytes from the
 * tally) and compared with those of the answer in hand: the same counts, the same bytes. Only
 * when a count moved is the document put together again and gzip'd. No GEOS and no JSON
 * rendering of geometry per hit. */
#include "areas.h"

#include "cache.h"
#include "core_int.h"
#include "hm_buf.h"
#include "model.h"
#include "worker.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_ENTRIES 16

typedef struct feature {
    char *code;
    char *prefix; /* the feature up to its counts: {"type":"Feature",...,"properties":{...,  */
} feature;

typedef struct entry {
    bool used;
    hm_level level;
    int simplify_m;
    unsigned long gen; /* c->areas_gen the features were rendered under */
    feature *features;
    size_t n;
    char *sig; /* the counts the document holds */
    size_t sig_len;
    hm_tile_blob *doc; /* the document; NULL until the first answer */
    unsigned long long last_use;
} entry;

struct hm_areas_cache {
    pthread_mutex_t mu;
    entry e[CACHE_ENTRIES];
    unsigned long long clock;
};

static void features_free(feature *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].code);
        free(f[i].prefix);
    }
    free(f);
}

static void entry_clear(entry *e)
{
    features_free(e->features, e->n);
    free(e->sig);
    hm_tile_blob_release(e->doc);
    memset(e, 0, sizeof *e);
}

void hm_areas__cache_destroy(struct hm_areas_cache *ac)
{
    if (!ac)
        return;
    for (int i = 0; i < CACHE_ENTRIES; i++)
        entry_clear(&ac->e[i]);
    pthread_mutex_destroy(&ac->mu);
    free(ac);
}

/* The cache of `c`, made on first use. */
static struct hm_areas_cache *cache_of(hm_core *c)
{
    static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
    struct hm_areas_cache *ac = __atomic_load_n(&c->areas_cache, __ATOMIC_ACQUIRE);
    if (ac)
        return ac;
    pthread_mutex_lock(&init_mu);
    if (!(ac = c->areas_cache)) {
        ac = hm_xcalloc(1, sizeof *ac);
        pthread_mutex_init(&ac->mu, NULL);
        __atomic_store_n(&c->areas_cache, ac, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_mu);
    return ac;
}

unsigned long hm_core_areas_generation(hm_core *c)
{
    return __atomic_load_n(&c->areas_gen, __ATOMIC_ACQUIRE);
}

/* ---- rendering the features ---- */

typedef struct render_ctx {
    GEOSContextHandle_t geos;
    GEOSWKBReader *rd;
    GEOSGeoJSONWriter *wr;
    hm_level level;
    double tolerance_deg; /* 0: the geometry as stored */
    feature *f;
    size_t n, cap;
    int rc;
} render_ctx;

static void put_json_string(hm_buf *b, const char *s)
{
    json_t *j = json_string(s ? s : "");
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    hm_buf_puts(b, t ? t : "\"\"");
    free(t);
    json_decref(j);
}

static int render_area(void *ctx, const hm_area_row *row)
{
    render_ctx *rc = ctx;
    GEOSGeometry *g = GEOSWKBReader_read_r(rc->geos, rc->rd, row->wkb, row->wkb_len), *s = NULL;
    char *geom = NULL;
    hm_buf b;
    size_t len;

    if (!g)
        return 0; /* unreadable: left out, as before */
    if (rc->tolerance_deg > 0) {
        /* Each outline alone, its rings kept valid; then coordinates on a 1e-6 degree grid
         * (0.1 m), which shortens every number. */
        GEOSGeometry *t = GEOSTopologyPreserveSimplify_r(rc->geos, g, rc->tolerance_deg);
        if (t) {
            s = GEOSGeom_setPrecision_r(rc->geos, t, 1e-6, 0);
            GEOSGeom_destroy_r(rc->geos, t);
        }
    }
    geom = GEOSGeoJSONWriter_writeGeometry_r(rc->geos, rc->wr, s ? s : g, -1);
    if (s)
        GEOSGeom_destroy_r(rc->geos, s);
    GEOSGeom_destroy_r(rc->geos, g);
    if (!geom)
        return 0;
    if (rc->n == rc->cap) {
        rc->cap = rc->cap ? rc->cap * 2 : 32;
        rc->f = hm_xrealloc(rc->f, rc->cap * sizeof *rc->f);
    }
    hm_buf_init(&b);
    hm_buf_puts(&b, "{\"type\":\"Feature\",\"id\":");
    put_json_string(&b, row->code);
    hm_buf_puts(&b, ",\"geometry\":");
    hm_buf_puts(&b, geom);
    hm_buf_puts(&b, ",\"properties\":{\"code\":");
    put_json_string(&b, row->code);
    hm_buf_puts(&b, ",\"name\":");
    put_json_string(&b, row->name);
    hm_buf_puts(&b, ",\"parent_code\":");
    if (row->parent_code[0])
        put_json_string(&b, row->parent_code);
    else
        hm_buf_puts(&b, "null");
    hm_buf_printf(&b, ",\"level\":\"%s\"", hm_level_name(rc->level));
    if (row->pop >= 0)
        hm_buf_printf(&b, ",\"population\":%lld", row->pop);
    hm_buf_printf(&b, ",\"label_lon\":%.10g,\"label_lat\":%.10g,", row->rep_lon, row->rep_lat);
    GEOSFree_r(rc->geos, geom);
    rc->f[rc->n].code = hm_xstrdup(row->code);
    rc->f[rc->n].prefix = hm_buf_steal(&b, &len);
    rc->n++;
    return 0;
}

/* Every area of `level` as feature prefixes, read from this thread's store. */
static int render_features(hm_level level, int simplify_m, feature **out, size_t *n, hm_error *err)
{
    hm_worker *w = hm_worker_get(err);
    render_ctx rc;
    int r;

    memset(&rc, 0, sizeof rc);
    if (!w)
        return err ? err->code : HM_E_INTERNAL;
    rc.geos = w->geos;
    rc.level = level;
    /* Metres to degrees of latitude; longitude degrees are a little shorter at these
     * latitudes, so the outline is a little more faithful east-west than asked. */
    rc.tolerance_deg = simplify_m / 111320.0;
    rc.rd = GEOSWKBReader_create_r(rc.geos);
    rc.wr = GEOSGeoJSONWriter_create_r(rc.geos);
    if (!rc.rd || !rc.wr) {
        r = hm_error_set(err, HM_E_GEOS, NULL, "cannot render areas");
        goto out;
    }
    r = hm_store_area_list(w->store, (int)level, render_area, &rc, err);
out:
    if (rc.rd)
        GEOSWKBReader_destroy_r(rc.geos, rc.rd);
    if (rc.wr)
        GEOSGeoJSONWriter_destroy_r(rc.geos, rc.wr);
    if (r) {
        features_free(rc.f, rc.n);
        return r;
    }
    *out = rc.f;
    *n = rc.n;
    return HM_OK;
}

/* The counts of the features in `f`, one "open":...} tail each, separated by NUL bytes. */
static char *render_counts(hm_core *c, hm_level level, const feature *f, size_t n, size_t *len)
{
    hm_area_counts counts;
    hm_buf b;

    memset(&counts, 0, sizeof counts);
    hm_tally_areas(c->tally, level, &counts);
    hm_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        const hm_area_count *k = hm_area_counts_find(&counts, f[i].code);
        hm_buf_printf(&b, "\"open\":%lld,\"resolved\":%lld,\"open_by_category\":{",
                      (long long)hm_area_count_open(k), (long long)k->by_status[HM_ST_RESOLVED]);
        for (int cat = 0; cat < HM_CAT__COUNT; cat++)
            hm_buf_printf(&b, "%s\"%s\":%lld", cat ? "," : "", hm_category_name(cat),
                          (long long)k->open_by_cat[cat]);
        hm_buf_puts(&b, "}}}");
        hm_buf_putc(&b, '\0');
    }
    hm_area_counts_clear(&counts);
    hm_buf_putc(&b, '\0');
    return hm_buf_steal(&b, len);
}

static hm_tile_blob *assemble(hm_level level, const feature *f, size_t n, const char *sig,
                              hm_error *err)
{
    hm_buf b;
    hm_tile_blob *doc;
    const char *tail = sig;

    hm_buf_init(&b);
    hm_buf_printf(&b, "{\"type\":\"FeatureCollection\",\"level\":\"%s\",\"features\":[",
                  hm_level_name(level));
    for (size_t i = 0; i < n; i++) {
        if (i)
            hm_buf_putc(&b, ',');
        hm_buf_puts(&b, f[i].prefix);
        hm_buf_puts(&b, tail);
        tail += strlen(tail) + 1;
    }
    hm_buf_puts(&b, "]}");
    doc = hm_tile_blob_create(b.data, b.len, err);
    hm_buf_clear(&b);
    return doc;
}

static bool same_sig(const char *a, size_t alen, const char *b, size_t blen)
{
    return a && b && alen == blen && memcmp(a, b, alen) == 0;
}

int hm_core_areas_doc(hm_core *c, hm_level level, int simplify_m, hm_tile_blob **out, hm_error *err)
{
    struct hm_areas_cache *ac = cache_of(c);
    unsigned long gen = __atomic_load_n(&c->areas_gen, __ATOMIC_ACQUIRE);
    entry *e = NULL;
    feature *f = NULL;
    size_t n = 0, sig_len = 0;
    char *sig = NULL;
    hm_tile_blob *doc = NULL;
    int rc;

    /* The hit: under the cache's lock, the counts of the entry's features (a copy from the
     * tally, a few hundred bytes), compared with those of its document. Microseconds. */
    pthread_mutex_lock(&ac->mu);
    for (int i = 0; i < CACHE_ENTRIES; i++)
        if (ac->e[i].used && ac->e[i].level == level && ac->e[i].simplify_m == simplify_m)
            e = &ac->e[i];
    if (e && e->gen == gen) {
        e->last_use = ++ac->clock;
        sig = render_counts(c, level, e->features, e->n, &sig_len);
        if (!e->doc || !same_sig(e->sig, e->sig_len, sig, sig_len)) {
            /* A count moved: the same features with the new counts. */
            if (!(doc = assemble(level, e->features, e->n, sig, err))) {
                pthread_mutex_unlock(&ac->mu);
                free(sig);
                return err ? err->code : HM_E_INTERNAL;
            }
            hm_tile_blob_release(e->doc);
            free(e->sig);
            e->doc = doc;
            e->sig = sig;
            e->sig_len = sig_len;
            sig = NULL;
        }
        *out = hm_tile_blob_ref(e->doc);
        pthread_mutex_unlock(&ac->mu);
        free(sig);
        return HM_OK;
    }
    pthread_mutex_unlock(&ac->mu);

    /* The areas changed (or were never rendered): features anew, outside the lock. */
    if ((rc = render_features(level, simplify_m, &f, &n, err)))
        return rc;
    sig = render_counts(c, level, f, n, &sig_len);
    if (!(doc = assemble(level, f, n, sig, err))) {
        features_free(f, n);
        free(sig);
        return err ? err->code : HM_E_INTERNAL;
    }
    pthread_mutex_lock(&ac->mu);
    e = NULL;
    for (int i = 0; i < CACHE_ENTRIES; i++)
        if (ac->e[i].used && ac->e[i].level == level && ac->e[i].simplify_m == simplify_m)
            e = &ac->e[i];
    for (int i = 0; !e && i < CACHE_ENTRIES; i++)
        if (!ac->e[i].used)
            e = &ac->e[i];
    if (!e) { /* full: the least recently used goes */
        e = &ac->e[0];
        for (int i = 1; i < CACHE_ENTRIES; i++)
            if (ac->e[i].last_use < e->last_use)
                e = &ac->e[i];
    }
    if (!e->used || e->level != level || e->simplify_m != simplify_m || e->gen <= gen) {
        entry_clear(e);
        e->used = true;
        e->level = level;
        e->simplify_m = simplify_m;
        e->gen = gen;
        e->features = f;
        e->n = n;
        e->sig = sig;
        e->sig_len = sig_len;
        e->doc = hm_tile_blob_ref(doc);
        e->last_use = ++ac->clock;
        f = NULL;
        sig = NULL;
    }
    pthread_mutex_unlock(&ac->mu);
    features_free(f, f ? n : 0);
    free(sig);
    *out = doc;
    return HM_OK;
}
