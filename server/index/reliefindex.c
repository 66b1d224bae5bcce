/* reliefindex.c: the relief points in memory; see reliefindex.h. */
#include "reliefindex.h"

#include "geo.h"
#include "hm_buf.h"
#include "model.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct hm_relief_index {
    pthread_rwlock_t lock;
    hm_relief *items; /* sorted by id */
    size_t n, cap;
};

hm_relief_index *hm_relief_index_create(void)
{
    hm_relief_index *x = hm_xcalloc(1, sizeof *x);
    pthread_rwlock_init(&x->lock, NULL);
    return x;
}

void hm_relief_index_destroy(hm_relief_index *x)
{
    if (!x)
        return;
    free(x->items);
    pthread_rwlock_destroy(&x->lock);
    free(x);
}

void hm_relief_index_clear(hm_relief_index *x)
{
    pthread_rwlock_wrlock(&x->lock);
    x->n = 0;
    pthread_rwlock_unlock(&x->lock);
}

/* The position of `id` in x->items, or where it would go; caller holds the lock. */
static size_t find(const hm_relief_index *x, int64_t id, bool *found)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->items[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < x->n && x->items[lo].id == id;
    return lo;
}

void hm_relief_index_apply(hm_relief_index *x, const hm_relief *p)
{
    bool found;
    size_t i;

    pthread_rwlock_wrlock(&x->lock);
    i = find(x, p->id, &found);
    if (!found) {
        if (x->n == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 32;
            x->items = hm_xrealloc(x->items, x->cap * sizeof *x->items);
        }
        memmove(&x->items[i + 1], &x->items[i], (x->n - i) * sizeof *x->items);
        x->n++;
    }
    x->items[i] = *p;
    pthread_rwlock_unlock(&x->lock);
}

void hm_relief_index_remove(hm_relief_index *x, int64_t id)
{
    bool found;
    size_t i;

    pthread_rwlock_wrlock(&x->lock);
    i = find(x, id, &found);
    if (found) {
        memmove(&x->items[i], &x->items[i + 1], (x->n - i - 1) * sizeof *x->items);
        x->n--;
    }
    pthread_rwlock_unlock(&x->lock);
}

bool hm_relief_index_get(hm_relief_index *x, int64_t id, hm_relief *out)
{
    bool found;
    size_t i;

    pthread_rwlock_rdlock(&x->lock);
    i = find(x, id, &found);
    if (found)
        *out = x->items[i];
    pthread_rwlock_unlock(&x->lock);
    return found;
}

size_t hm_relief_index_count(hm_relief_index *x)
{
    size_t n;
    pthread_rwlock_rdlock(&x->lock);
    n = x->n;
    pthread_rwlock_unlock(&x->lock);
    return n;
}

static bool wanted(const hm_relief *p, unsigned kind_mask, unsigned status_mask)
{
    return (!kind_mask || (kind_mask & (1u << p->kind))) &&
           (!status_mask || (status_mask & (1u << p->status)));
}

void hm_relief_index_list(hm_relief_index *x, unsigned kind_mask, unsigned status_mask,
                          hm_relief **out, size_t *n)
{
    hm_relief *list = NULL;
    size_t k = 0;

    pthread_rwlock_rdlock(&x->lock);
    if (x->n)
        list = hm_xmalloc(x->n * sizeof *list);
    for (size_t i = 0; i < x->n; i++)
        if (wanted(&x->items[i], kind_mask, status_mask))
            list[k++] = x->items[i];
    pthread_rwlock_unlock(&x->lock);
    if (!k) {
        free(list);
        list = NULL;
    }
    *out = list;
    *n = k;
}

/* One candidate of hm_relief_index_nearest(): small, so that sorting moves little. */
typedef struct cand {
    size_t i; /* into x->items */
    int rank; /* open 0, full 1, closed 2 */
    double distance_m;
    int64_t id;
} cand;

/* Open first, then full, then closed; nearest first; lower id first. */
static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    if (x->distance_m != y->distance_m)
        return x->distance_m < y->distance_m ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

size_t hm_relief_index_nearest(hm_relief_index *x, double lon, double lat, unsigned kind_mask,
                               size_t limit, hm_relief_hit *out)
{
    cand *all;
    size_t k = 0;

    if (!limit)
        return 0;
    pthread_rwlock_rdlock(&x->lock);
    all = hm_xmalloc((x->n ? x->n : 1) * sizeof *all);
    for (size_t i = 0; i < x->n; i++) {
        const hm_relief *p = &x->items[i];
        if (!wanted(p, kind_mask, 0))
            continue;
        all[k].i = i;
        all[k].rank = p->status == HM_RELIEF_OPEN ? 0 : p->status == HM_RELIEF_FULL ? 1 : 2;
        all[k].distance_m = hm_geo_distance_m(lon, lat, p->lon, p->lat);
        all[k].id = p->id;
        k++;
    }
    qsort(all, k, sizeof *all, cand_cmp);
    if (k > limit)
        k = limit;
    for (size_t j = 0; j < k; j++) {
        out[j].point = x->items[all[j].i];
        out[j].distance_m = all[j].distance_m;
    }
    pthread_rwlock_unlock(&x->lock);
    free(all);
    return k;
}
