/* areas.c: area listings, changes and imports; see areas.h. */
#include "areas.h"

#include "cache.h"
#include "core_int.h"
#include "gazetteer.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"
#include "openindex.h"
#include "worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The default areas, linked into the program (default_areas.S). */
extern const char hm_default_wards_geojson[];
extern const char hm_default_former_wards_geojson[];

/* ---- the point-to-area index ---- */

typedef struct area_collect {
    hm_area_src *src;
    size_t n, cap;
} area_collect;

static int collect_area(void *ctx, const hm_area_row *a)
{
    area_collect *c = ctx;
    unsigned char *wkb;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->src = hm_xrealloc(c->src, c->cap * sizeof *c->src);
    }
    wkb = hm_xmalloc(a->wkb_len);
    memcpy(wkb, a->wkb, a->wkb_len);
    c->src[c->n++] = (hm_area_src){(hm_level)a->level, hm_xstrdup(a->code), wkb, a->wkb_len};
    return 0;
}

hm_area_index *hm_areas_index(hm_store *st, hm_error *err)
{
    area_collect c = {0};
    hm_area_index *idx = NULL;

    if (hm_store_area_list(st, -1, collect_area, &c, err) == HM_OK)
        idx = hm_area_index_create(c.src, c.n, err);
    for (size_t i = 0; i < c.n; i++) {
        free((char *)c.src[i].code);
        free((unsigned char *)c.src[i].wkb);
    }
    free(c.src);
    return idx;
}

/* ---- reassignment of requests after areas changed ---- */

typedef struct reassign_ctx {
    const hm_area_index *idx;
    hm_request *before; /* the requests whose codes change, as they were (no text) */
    char (*codes)[3][40];
    size_t n, cap;
} reassign_ctx;

/* `r`'s area codes under `idx` after a change of areas, into `t` (a shallow copy: borrows r's
 * strings): those of its position, except that an address request keeps the commune and
 * hamlet it was given. */
static void relocate(const hm_area_index *idx, const hm_request *r, hm_request *t)
{
    *t = *r;
    hm_core__locate_in(idx, t);
    if (r->precision == HM_PREC_ADDRESS) {
        snprintf(t->ward_code, sizeof t->ward_code, "%s", r->ward_code);
        if (r->hamlet_code[0])
            snprintf(t->hamlet_code, sizeof t->hamlet_code, "%s", r->hamlet_code);
    }
}

static int reassign_visit(void *ctx, const hm_request *r)
{
    reassign_ctx *c = ctx;
    hm_request t;
    relocate(c->idx, r, &t);
    if (strcmp(t.ward_code, r->ward_code) == 0 &&
        strcmp(t.former_ward_code, r->former_ward_code) == 0 &&
        strcmp(t.hamlet_code, r->hamlet_code) == 0)
        return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->before = hm_xrealloc(c->before, c->cap * sizeof *c->before);
        c->codes = hm_xrealloc(c->codes, c->cap * sizeof *c->codes);
    }
    c->before[c->n] = *r;
    hm_request_drop_text(&c->before[c->n]);
    snprintf(c->codes[c->n][0], 40, "%s", t.ward_code);
    snprintf(c->codes[c->n][1], 40, "%s", t.former_ward_code);
    snprintf(c->codes[c->n][2], 40, "%s", t.hamlet_code);
    c->n++;
    return 0;
}

/* Recompute the area codes of the requests in `bbox` (NULL: all) under `idx`; *moved grows by
 * how many changed. `record`: each is a change of the log (the counts follow them). */
static int reassign(hm_store *st, const hm_area_index *idx, const double *bbox, bool record,
                    int64_t *moved, hm_error *err)
{
    reassign_ctx c;
    hm_request_filter f;
    int rc;

    memset(&c, 0, sizeof c);
    c.idx = idx;
    hm_request_filter_init(&f);
    if (bbox) {
        f.has_bbox = true;
        memcpy(f.bbox, bbox, sizeof f.bbox);
    }
    /* Collect first: updating rows while a statement walks them is unsafe. */
    rc = hm_store_request_list(st, &f, reassign_visit, &c, err);
    for (size_t i = 0; rc == HM_OK && i < c.n; i++) {
        rc = hm_store_request_set_areas(st, c.before[i].id, c.codes[i][0], c.codes[i][1],
                                        c.codes[i][2], err);
        if (rc == HM_OK && record)
            rc = hm_core__record_request_id(st, c.before[i].id, &c.before[i], err);
    }
    if (rc == HM_OK)
        *moved += (int64_t)c.n;
    free(c.before);
    free(c.codes);
    return rc;
}

/* hm_request_source over every request of store `src`. */
static int every_request(void *src, hm_request_cb cb, void *cb_ctx, hm_error *err)
{
    hm_request_filter f;
    hm_request_filter_init(&f);
    return hm_store_request_list(src, &f, cb, cb_ctx, err);
}

int hm_core__load_tally(struct hm_tally *t, hm_store *st, hm_error *err)
{
    return hm_tally_load(t, every_request, st, err);
}

/* ---- fitting into the parent and among siblings ---- */

typedef struct sib_ctx {
    hm_area_ref *refs;
    unsigned char **blobs;
    char **codes;
    size_t n, cap;
    const char *parent; /* only siblings under this parent (NULL: all) */
    const char *skip;   /* the area being replaced */
} sib_ctx;

static int add_sibling(void *ctx, const hm_area_row *row)
{
    sib_ctx *s = ctx;
    if (s->skip && strcmp(row->code, s->skip) == 0)
        return 0;
    if (s->parent && strcmp(row->parent_code, s->parent) != 0)
        return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->refs = hm_xrealloc(s->refs, s->cap * sizeof *s->refs);
        s->blobs = hm_xrealloc(s->blobs, s->cap * sizeof *s->blobs);
        s->codes = hm_xrealloc(s->codes, s->cap * sizeof *s->codes);
    }
    s->blobs[s->n] = hm_xmalloc(row->wkb_len);
    memcpy(s->blobs[s->n], row->wkb, row->wkb_len);
    s->codes[s->n] = hm_xstrdup(row->code);
    s->refs[s->n] = (hm_area_ref){s->codes[s->n], s->blobs[s->n], row->wkb_len};
    s->n++;
    return 0;
}

static void sib_clear(sib_ctx *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->blobs[i]);
        free(s->codes[i]);
    }
    free(s->refs);
    free(s->blobs);
    free(s->codes);
}

typedef struct parent_ctx {
    unsigned char *wkb;
    size_t len;
} parent_ctx;

static int get_parent(void *ctx, const hm_area_row *row)
{
    parent_ctx *p = ctx;
    p->wkb = hm_xmalloc(row->wkb_len);
    memcpy(p->wkb, row->wkb, row->wkb_len);
    p->len = row->wkb_len;
    return 0;
}

/* Clip `a` (of `level`) to its parent ward and check it against its siblings in `st`. */
static int fit(hm_store *st, hm_level level, hm_area *a, hm_error *err)
{
    GEOSContextHandle_t geos = GEOS_init_r();
    parent_ctx parent = {NULL, 0};
    hm_area_ref pref;
    sib_ctx sib;
    int rc = HM_OK;

    memset(&sib, 0, sizeof sib);
    if (level == HM_LEVEL_HAMLET) {
        if (!a->parent_code || !*a->parent_code) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "parent_code",
                              "a hamlet needs parent_code: the code of its ward");
            goto out;
        }
        if (hm_store_area_get(st, HM_LEVEL_WARD, a->parent_code, get_parent, &parent, NULL)) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "parent_code", "no ward has code %s",
                              a->parent_code);
            goto out;
        }
    }
    sib.parent = level == HM_LEVEL_HAMLET ? a->parent_code : NULL;
    sib.skip = a->code;
    if ((rc = hm_store_area_list(st, (int)level, add_sibling, &sib, err)))
        goto out;
    pref = (hm_area_ref){a->parent_code, parent.wkb, parent.len};
    rc = hm_area_fit(geos, a, parent.wkb ? &pref : NULL, sib.refs, sib.n, NULL, 0, err);
out:
    sib_clear(&sib);
    free(parent.wkb);
    GEOS_finish_r(geos);
    return rc;
}

/* ---- changes ---- */

typedef struct area_bbox_ctx {
    double bbox[4];
    bool found;
} area_bbox_ctx;

static int area_bbox(void *ctx, const hm_area_row *a)
{
    area_bbox_ctx *b = ctx;
    memcpy(b->bbox, a->bbox, sizeof b->bbox);
    b->found = true;
    return 0;
}

static int area_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_area_op *a = (hm_area_op *)job;
    area_bbox_ctx old = {{0}, false};
    hm_area_index *idx;
    double bbox[4];
    int rc;

    hm_store_area_get(st, a->level, a->area.code, area_bbox, &old, NULL);
    if (a->remove) {
        int64_t n = 0;
        if (!old.found)
            return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no %s area with code %s",
                                hm_level_name(a->level), a->area.code);
        if ((rc = hm_store_area_request_count(st, a->level, a->area.code, &n, err)) != HM_OK)
            return rc;
        if (n > 0 && !a->reassign)
            return hm_error_set(err, HM_E_IN_USE, NULL,
                                "%lld requests point to this area; add ?reassign=true to delete "
                                "it and reassign them",
                                (long long)n);
        if ((rc = hm_store_area_delete(st, a->level, a->area.code, err)) != HM_OK)
            return rc;
        memcpy(bbox, old.bbox, sizeof bbox);
    } else {
        const char *lvl = hm_level_name(a->level);
        if (a->expect == 1 && old.found)
            return hm_error_set(err, HM_E_IN_USE, "code",
                                "a %s with code %s exists; PUT /api/v1/areas/%s/%s replaces it",
                                lvl, a->area.code, lvl, a->area.code);
        if (a->expect == 2 && !old.found)
            return hm_error_set(err, HM_E_NOT_FOUND, NULL,
                                "no %s area with code %s; POST creates one", lvl, a->area.code);
        if ((rc = fit(st, a->level, &a->area, err)))
            return rc;
        if (a->area.repaired)
            hm_log(HM_LOG_INFO, "event=area_repaired level=%s code=%s", lvl, a->area.code);
        if ((rc = hm_store_area_upsert(st, a->level, &a->area, err)) != HM_OK)
            return rc;
        memcpy(bbox, a->area.bbox, sizeof bbox);
        if (old.found) {
            bbox[0] = fmin(bbox[0], old.bbox[0]);
            bbox[1] = fmin(bbox[1], old.bbox[1]);
            bbox[2] = fmax(bbox[2], old.bbox[2]);
            bbox[3] = fmax(bbox[3], old.bbox[3]);
        }
    }
    /* Followers rebuild their area index from this change, then move each request that the
     * change moved to other areas, counts included. */
    if ((rc = hm_core__record_area(st, (int)a->level, a->area.code, err)))
        return rc;
    if (!(idx = hm_areas_index(st, err)))
        return err ? err->code : HM_E_INTERNAL;
    rc = reassign(st, idx, bbox, true, &a->moved, err);
    hm_area_index_destroy(idx);
    return rc;
}

static void area_init(hm_core *c, hm_level level, hm_area_op *op)
{
    memset(op, 0, sizeof *op);
    op->core = c;
    op->level = level;
    op->area.pop = -1;
    op->job.run = area_run;

    op->job.exclusive = true;
}

int hm_core_area_upsert(hm_core *c, const hm_actor *a, json_t *feature, const char *path_level,
                        const char *path_code, hm_area_op *op, hm_error *err)
{
    json_t *props = json_object_get(feature, "properties"), *v = json_object_get(props, "level");
    hm_level level = HM_LEVEL_WARD;
    hm_worker *w;
    int rc;

    area_init(c, level, op);
    if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    if (path_level) {
        if ((rc = hm_level_parse(path_level, &level, err)))
            return rc;
        /* The path names the area; the body may repeat it, never contradict it. */
        if (json_is_object(props)) {
            json_t *code = json_object_get(props, "code");
            if ((json_is_string(code) && strcmp(json_string_value(code), path_code) != 0) ||
                (json_is_string(v) && strcmp(json_string_value(v), path_level) != 0))
                return hm_error_set(err, HM_E_INVALID_FIELD, "code",
                                    "the body's code and level must match the path");
            json_object_set_new(props, "code", json_string(path_code));
        }
    } else if (!json_is_string(v) || hm_level_parse(json_string_value(v), &level, NULL)) {
        return hm_error_set(err, HM_E_INVALID_FIELD, "level",
                            "properties.level must be ward, former_ward or hamlet");
    }
    op->level = level;
    op->expect = path_level ? 2 : 1;
    return hm_area_from_feature(w->geos, feature, NULL, &op->area, err);
}

int hm_core_area_delete(hm_core *c, const hm_actor *a, const char *level_text, const char *code,
                        bool reassign_requests, hm_area_op *op, hm_error *err)
{
    hm_level level = HM_LEVEL_WARD;
    int rc;
    area_init(c, level, op);
    if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err)) ||
        (rc = hm_level_parse(level_text, &level, err)))
        return rc;
    op->level = level;
    op->remove = true;
    op->reassign = reassign_requests;
    op->area.code = hm_xstrdup(code);
    return HM_OK;
}

void hm_area_op_clear(hm_area_op *op)
{
    hm_area_clear(&op->area);
}

/* ---- listing ---- */

typedef struct areas_ctx {
    hm_area_counts counts;
    hm_area_counts_cb cb;
    void *ctx;
} areas_ctx;

static int area_visit(void *ctx, const hm_area_row *row)
{
    areas_ctx *a = ctx;
    return a->cb(a->ctx, row, hm_area_counts_find(&a->counts, row->code));
}

int hm_core_areas(hm_core *c, hm_level level, hm_area_counts_cb cb, void *ctx, hm_error *err)
{
    areas_ctx a;
    hm_worker *w;
    int rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    memset(&a, 0, sizeof a);
    a.cb = cb;
    a.ctx = ctx;
    hm_tally_areas(c->tally, level, &a.counts);
    rc = hm_store_area_list(w->store, (int)level, area_visit, &a, err);
    hm_area_counts_clear(&a.counts);
    return rc;
}

/* ---- imports ---- */

int hm_areas_import(hm_store *st, hm_level level, const char *text, size_t len,
                    const hm_area_fields *fields, bool replace, hm_import_report *rep,
                    hm_error *err)
{
    GEOSContextHandle_t geos = GEOS_init_r();
    hm_area_list list = {0};
    hm_area_index *idx = NULL;
    int rc;

    memset(rep, 0, sizeof *rep);
    if ((rc = hm_area_read_geojson(geos, text, len, fields, &list, err)))
        goto out;
    if (level == HM_LEVEL_HAMLET) {
        for (size_t i = 0; i < list.count; i++)
            if (!list.items[i].parent_code || !*list.items[i].parent_code) {
                rc = hm_error_set(err, HM_E_INVALID_FIELD, "parent_code",
                                  "hamlet %s has no parent ward code (use --parent-field)",
                                  list.items[i].code);
                goto out;
            }
    }
    if ((rc = hm_store_begin(st, true, err)))
        goto out;
    if (replace && (rc = hm_store_area_delete_level(st, level, err)))
        goto rollback;
    for (size_t i = 0; i < list.count; i++) {
        hm_error e = {0};
        /* The API's rules (issue 14): a hamlet's ward exists and clips it; no area overlaps a
         * sibling already stored or imported before it in the file. */
        if ((rc = fit(st, level, &list.items[i], &e))) {
            hm_error_set(err, e.code, e.field, "%s %s: %s", hm_level_name(level),
                         list.items[i].code, e.msg);
            goto rollback;
        }
        if ((rc = hm_store_area_upsert(st, level, &list.items[i], err)))
            goto rollback;
        if (list.items[i].repaired) {
            rep->repaired++;
            fprintf(stderr, "helpmap: repaired %s %s: %s\n", hm_level_name(level),
                    list.items[i].code, list.items[i].note);
        }
    }
    rep->count = list.count;
    if (!(idx = hm_areas_index(st, err))) {
        rc = err ? err->code : HM_E_INTERNAL;
        goto rollback;
    }
    /* Every request may have moved: followers reload their indexes once. */
    if ((rc = reassign(st, idx, NULL, false, &rep->moved, err)) ||
        (rc = hm_core__record_area(st, (int)level, NULL, err)))
        goto rollback;
    rc = hm_store_commit(st, err);
    goto out;
rollback:
    hm_store_rollback(st);
out:
    hm_area_index_destroy(idx);
    hm_area_list_clear(&list);
    GEOS_finish_r(geos);
    return rc;
}

int hm_areas_note_reload(hm_store *st, hm_error *err)
{
    return hm_core__record_area(st, 0, NULL, err);
}

int hm_areas_import_defaults(hm_store *st, hm_error *err)
{
    hm_import_report rep;
    int rc = hm_areas_import(st, HM_LEVEL_WARD, hm_default_wards_geojson,
                             strlen(hm_default_wards_geojson), NULL, false, &rep, err);
    if (rc)
        return rc;
    hm_log(HM_LOG_INFO, "event=default_areas level=ward count=%zu", rep.count);
    rc = hm_areas_import(st, HM_LEVEL_FORMER_WARD, hm_default_former_wards_geojson,
                         strlen(hm_default_former_wards_geojson), NULL, false, &rep, err);
    if (rc)
        return rc;
    hm_log(HM_LOG_INFO, "event=default_areas level=former_ward count=%zu", rep.count);
    /* The place names of the same district, placed in these areas. */
    return hm_places_import_defaults(st, err);
}
