/* results.c: the public results; see results.h. */
#include "results.h"

#include "hm_buf.h"
#include "model.h"
#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_TTL_MS 60000

typedef struct names {
    hm_result_area *items; /* counts zero: names only */
    size_t n, cap;
    int64_t loaded_at;
} names;

struct hm_results_cache {
    pthread_mutex_t mu;
    names levels[2]; /* ward, former ward */
};

struct hm_results_cache *hm_results__create(void)
{
    struct hm_results_cache *rc = hm_xcalloc(1, sizeof *rc);
    pthread_mutex_init(&rc->mu, NULL);
    return rc;
}

void hm_results__destroy(struct hm_results_cache *rc)
{
    if (!rc)
        return;
    for (int i = 0; i < 2; i++)
        free(rc->levels[i].items);
    pthread_mutex_destroy(&rc->mu);
    free(rc);
}

static int add_name(void *ctx, const hm_area_row *a)
{
    names *n = ctx;
    hm_result_area *r;
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 32;
        n->items = hm_xrealloc(n->items, n->cap * sizeof *n->items);
    }
    r = &n->items[n->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->code, sizeof r->code, "%s", a->code);
    snprintf(r->name, sizeof r->name, "%s", a->name);
    snprintf(r->parent_code, sizeof r->parent_code, "%s",
             a->level == HM_LEVEL_HAMLET ? a->parent_code : "");
    return 0;
}

/* A copy of the names of `level` (index 0 ward, 1 former ward), read again once a minute. */
static int names_of(struct hm_results_cache *rc, hm_level level, hm_result_area **out, size_t *n,
                    hm_error *err)
{
    names *lv = &rc->levels[level == HM_LEVEL_WARD ? 0 : 1];
    int64_t now = hm_now_ms();
    int ret = HM_OK;

    pthread_mutex_lock(&rc->mu);
    if (!lv->loaded_at || now - lv->loaded_at > NAMES_TTL_MS) {
        names fresh = {0};
        hm_worker *w;
        pthread_mutex_unlock(&rc->mu);
        /* Read without the lock (no store call under a lock); the last reader wins. */
        if (!(w = hm_worker_get(err)))
            return err ? err->code : HM_E_INTERNAL;
        if ((ret = hm_store_area_list(w->store, (int)level, add_name, &fresh, err))) {
            free(fresh.items);
            return ret;
        }
        fresh.loaded_at = now;
        pthread_mutex_lock(&rc->mu);
        free(lv->items);
        *lv = fresh;
    }
    *n = lv->n;
    *out = hm_xmalloc((lv->n ? lv->n : 1) * sizeof **out);
    if (lv->n)
        memcpy(*out, lv->items, lv->n * sizeof **out);
    pthread_mutex_unlock(&rc->mu);
    return ret;
}

static void add_counts(hm_area_count *to, const hm_area_count *a)
{
    for (int s = 0; s < HM_ST__COUNT; s++)
        to->by_status[s] += a->by_status[s];
    to->safe += a->safe;
    for (int c = 0; c < HM_CAT__COUNT; c++) {
        to->open_by_cat[c] += a->open_by_cat[c];
        to->received_by_cat[c] += a->received_by_cat[c];
        to->resolved_by_cat[c] += a->resolved_by_cat[c];
        to->confirmed_by_cat[c] += a->confirmed_by_cat[c];
        to->disputed_by_cat[c] += a->disputed_by_cat[c];
    }
}

int hm_core_results(hm_core *c, hm_results *out, hm_error *err)
{
    static const hm_level levels[2] = {HM_LEVEL_WARD, HM_LEVEL_FORMER_WARD};
    hm_area_counts counts = {0};
    int64_t st_counts[HM_ST__COUNT][HM_CAT__COUNT], hourly[24];
    double median_min;
    int rc;

    memset(out, 0, sizeof *out);
    out->generated_at = hm_now_ms();
    out->district.median_resolve_h = -1;
    for (int l = 0; l < 2; l++) {
        hm_result_area **items = l == 0 ? &out->wards : &out->former_wards;
        size_t *n = l == 0 ? &out->n_wards : &out->n_former_wards;
        if ((rc = names_of(c->results, levels[l], items, n, err))) {
            hm_results_clear(out);
            return rc;
        }
        hm_tally_results(c->tally, levels[l], &counts);
        for (size_t i = 0; i < *n; i++) {
            (*items)[i].counts = *hm_area_counts_find(&counts, (*items)[i].code);
            snprintf((*items)[i].counts.code, sizeof(*items)[i].counts.code, "%s",
                     (*items)[i].code);
            if (l == 0)
                add_counts(&out->district, &(*items)[i].counts);
        }
    }
    hm_area_counts_clear(&counts);
    hm_tally_stats(c->tally, out->generated_at, st_counts, hourly, &median_min);
    if (median_min >= 0)
        out->district.median_resolve_h = median_min / 60.0;
    return HM_OK;
}

void hm_results_clear(hm_results *r)
{
    free(r->wards);
    free(r->former_wards);
    memset(r, 0, sizeof *r);
}

static int64_t sum(const int64_t v[HM_CAT__COUNT])
{
    int64_t n = 0;
    for (int c = 0; c < HM_CAT__COUNT; c++)
        n += v[c];
    return n;
}

int64_t hm_result_received(const hm_area_count *a)
{
    return sum(a->received_by_cat);
}
int64_t hm_result_resolved(const hm_area_count *a)
{
    return sum(a->resolved_by_cat);
}
int64_t hm_result_confirmed(const hm_area_count *a)
{
    return sum(a->confirmed_by_cat);
}
int64_t hm_result_disputed(const hm_area_count *a)
{
    return sum(a->disputed_by_cat);
}
