/* pointindex.c: points bucketed in cells of CELL degrees, searched ring by
 * ring outwards from the query cell until the ring's nearest possible
 * distance exceeds both the radius and the current k-th best. */
#include "pointindex.h"

#include "geo.h"
#include "hm_buf.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CELL 0.005 /* degrees, about 550 m */

typedef struct entry {
    int64_t id;
    double lon, lat;
    int tag;
    int64_t aux;
    void *data; /* data_size bytes, or NULL in an index without data */
} entry;

typedef struct cell {
    int64_t key;
    entry *items;
    size_t n, cap;
    struct cell *next;
} cell;

typedef struct idslot {
    int64_t id; /* 0 = empty, -1 = tombstone */
    int64_t key;
} idslot;

struct hm_pointindex {
    pthread_rwlock_t lock;
    cell **buckets;
    size_t nbuckets;
    idslot *ids;
    size_t ids_cap, ids_used, count;
    long min_cx, max_cx, min_cy, max_cy; /* occupied cell range */
    size_t data_size;                    /* 0: points carry no data */
};

static long cell_x(double lon)
{
    return (long)floor(lon / CELL);
}
static long cell_y(double lat)
{
    return (long)floor(lat / CELL);
}
static int64_t cell_key(long cx, long cy)
{
    return ((int64_t)cx << 32) ^ (int64_t)(uint32_t)cy;
}
static size_t hash64(int64_t k)
{
    uint64_t x = (uint64_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

hm_pointindex *hm_pointindex_create(void)
{
    hm_pointindex *ix = hm_xcalloc(1, sizeof *ix);
    pthread_rwlock_init(&ix->lock, NULL);
    ix->nbuckets = 1 << 14;
    ix->buckets = hm_xcalloc(ix->nbuckets, sizeof *ix->buckets);
    ix->ids_cap = 1 << 10;
    ix->ids = hm_xcalloc(ix->ids_cap, sizeof *ix->ids);
    ix->min_cx = ix->min_cy = 1L << 30;
    ix->max_cx = ix->max_cy = -(1L << 30);
    return ix;
}

hm_pointindex *hm_pointindex_create_data(size_t data_size)
{
    hm_pointindex *ix = hm_pointindex_create();
    ix->data_size = data_size;
    return ix;
}

size_t hm_pointindex_data_size(const hm_pointindex *ix)
{
    return ix->data_size;
}

/* Free every cell and forget every point. Caller holds the write lock (or owns `ix`). */
static void clear_locked(hm_pointindex *ix)
{
    for (size_t i = 0; i < ix->nbuckets; i++) {
        cell *c = ix->buckets[i];
        while (c) {
            cell *nx = c->next;
            for (size_t k = 0; k < c->n; k++)
                free(c->items[k].data);
            free(c->items);
            free(c);
            c = nx;
        }
        ix->buckets[i] = NULL;
    }
    memset(ix->ids, 0, ix->ids_cap * sizeof *ix->ids);
    ix->ids_used = ix->count = 0;
    ix->min_cx = ix->min_cy = 1L << 30;
    ix->max_cx = ix->max_cy = -(1L << 30);
}

void hm_pointindex_clear(hm_pointindex *ix)
{
    pthread_rwlock_wrlock(&ix->lock);
    clear_locked(ix);
    pthread_rwlock_unlock(&ix->lock);
}

void hm_pointindex_destroy(hm_pointindex *ix)
{
    if (!ix)
        return;
    clear_locked(ix);
    free(ix->buckets);
    free(ix->ids);
    pthread_rwlock_destroy(&ix->lock);
    free(ix);
}

static cell *find_cell(hm_pointindex *ix, int64_t key, int create)
{
    size_t b = hash64(key) & (ix->nbuckets - 1);
    for (cell *c = ix->buckets[b]; c; c = c->next)
        if (c->key == key)
            return c;
    if (!create)
        return NULL;
    cell *c = hm_xcalloc(1, sizeof *c);
    c->key = key;
    c->next = ix->buckets[b];
    ix->buckets[b] = c;
    return c;
}

/* Slot of `id` in the id table, or of the empty slot where it would go. */
static idslot *id_slot(hm_pointindex *ix, int64_t id, int for_insert)
{
    size_t mask = ix->ids_cap - 1, i = hash64(id) & mask;
    idslot *tomb = NULL;
    for (;;) {
        idslot *s = &ix->ids[i];
        if (s->id == id)
            return s;
        if (s->id == 0)
            return for_insert && tomb ? tomb : (for_insert ? s : NULL);
        if (s->id == -1 && !tomb)
            tomb = s;
        i = (i + 1) & mask;
    }
}

static void ids_grow(hm_pointindex *ix)
{
    idslot *old = ix->ids;
    size_t oldcap = ix->ids_cap;
    ix->ids_cap *= 2;
    ix->ids = hm_xcalloc(ix->ids_cap, sizeof *ix->ids);
    ix->ids_used = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].id > 0) {
            *id_slot(ix, old[i].id, 1) = old[i];
            ix->ids_used++;
        }
    free(old);
}

static void remove_locked(hm_pointindex *ix, int64_t id)
{
    /* 0 and -1 mark free and deleted slots: no point has them (removing one would count a
     * point that never was, and nearest queries would then find nothing). */
    idslot *s = id > 0 ? id_slot(ix, id, 0) : NULL;
    if (!s)
        return;
    cell *c = find_cell(ix, s->key, 0);
    if (c) {
        for (size_t i = 0; i < c->n; i++)
            if (c->items[i].id == id) {
                free(c->items[i].data);
                c->items[i] = c->items[--c->n];
                break;
            }
    }
    s->id = -1;
    ix->count--;
}

void hm_pointindex_put(hm_pointindex *ix, int64_t id, double lon, double lat, int tag, int64_t aux)
{
    hm_pointindex_put_data(ix, id, lon, lat, tag, aux, NULL);
}

void hm_pointindex_put_data(hm_pointindex *ix, int64_t id, double lon, double lat, int tag,
                            int64_t aux, const void *data)
{
    long cx = cell_x(lon), cy = cell_y(lat);
    int64_t key = cell_key(cx, cy);
    cell *c;
    idslot *s;
    void *copy = NULL;

    if (id <= 0)
        return; /* 0 and -1 mark free and deleted slots */
    /* Copied before the lock: readers wait only for the list update. */
    if (ix->data_size > 0) {
        copy = hm_xcalloc(1, ix->data_size);
        if (data)
            memcpy(copy, data, ix->data_size);
    }
    pthread_rwlock_wrlock(&ix->lock);
    remove_locked(ix, id);
    if ((ix->ids_used + 1) * 2 > ix->ids_cap)
        ids_grow(ix);
    s = id_slot(ix, id, 1);
    if (s->id == 0)
        ix->ids_used++;
    s->id = id;
    s->key = key;
    c = find_cell(ix, key, 1);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->items = hm_xrealloc(c->items, c->cap * sizeof *c->items);
    }
    c->items[c->n++] = (entry){id, lon, lat, tag, aux, copy};
    ix->count++;
    if (cx < ix->min_cx)
        ix->min_cx = cx;
    if (cx > ix->max_cx)
        ix->max_cx = cx;
    if (cy < ix->min_cy)
        ix->min_cy = cy;
    if (cy > ix->max_cy)
        ix->max_cy = cy;
    pthread_rwlock_unlock(&ix->lock);
}

void hm_pointindex_remove(hm_pointindex *ix, int64_t id)
{
    pthread_rwlock_wrlock(&ix->lock);
    remove_locked(ix, id);
    pthread_rwlock_unlock(&ix->lock);
}

/* The entry of `id`, or NULL. Caller holds the lock. */
static entry *find_entry(hm_pointindex *ix, int64_t id)
{
    idslot *s = id_slot(ix, id, 0);
    cell *c = s ? find_cell(ix, s->key, 0) : NULL;
    if (c)
        for (size_t i = 0; i < c->n; i++)
            if (c->items[i].id == id)
                return &c->items[i];
    return NULL;
}

int hm_pointindex_get_data(hm_pointindex *ix, int64_t id, void *data_out)
{
    entry *e;
    int found = 0;
    pthread_rwlock_rdlock(&ix->lock);
    if (ix->data_size > 0 && (e = find_entry(ix, id)) && e->data) {
        memcpy(data_out, e->data, ix->data_size);
        found = 1;
    }
    pthread_rwlock_unlock(&ix->lock);
    return found;
}

void hm_pointindex_update_all(hm_pointindex *ix, void (*fn)(void *ctx, int64_t id, void *data),
                              void *ctx)
{
    pthread_rwlock_wrlock(&ix->lock);
    for (size_t b = 0; ix->data_size > 0 && b < ix->nbuckets; b++)
        for (cell *c = ix->buckets[b]; c; c = c->next)
            for (size_t i = 0; i < c->n; i++)
                if (c->items[i].data)
                    fn(ctx, c->items[i].id, c->items[i].data);
    pthread_rwlock_unlock(&ix->lock);
}

size_t hm_pointindex_within(hm_pointindex *ix, const double bbox[4], hm_point_filter filter,
                            int (*visit)(void *ctx, const hm_point_hit *p), void *ctx)
{
    size_t n = 0;
    long x0, x1, y0, y1;

    if (!(bbox[0] <= bbox[2] && bbox[1] <= bbox[3])) /* also false for NaN */
        return 0;
    pthread_rwlock_rdlock(&ix->lock);
    /* Clamp to the occupied cells first: a world-sized box stays cheap. */
    x0 = bbox[0] < (double)ix->min_cx * CELL ? ix->min_cx : cell_x(bbox[0]);
    x1 = bbox[2] > (double)(ix->max_cx + 1) * CELL ? ix->max_cx : cell_x(bbox[2]);
    y0 = bbox[1] < (double)ix->min_cy * CELL ? ix->min_cy : cell_y(bbox[1]);
    y1 = bbox[3] > (double)(ix->max_cy + 1) * CELL ? ix->max_cy : cell_y(bbox[3]);
    for (long cy = y0; ix->count > 0 && cy <= y1; cy++)
        for (long cx = x0; cx <= x1; cx++) {
            cell *c = find_cell(ix, cell_key(cx, cy), 0);
            for (size_t i = 0; c && i < c->n; i++) {
                const entry *e = &c->items[i];
                hm_point_hit h = {e->id, e->lon, e->lat, e->tag, e->aux, 0, e->data};
                if (e->lon < bbox[0] || e->lon > bbox[2] || e->lat < bbox[1] || e->lat > bbox[3])
                    continue;
                if (filter && !filter(ctx, &h))
                    continue;
                n++;
                if (visit(ctx, &h))
                    goto out;
            }
        }
out:
    pthread_rwlock_unlock(&ix->lock);
    return n;
}

size_t hm_pointindex_count(hm_pointindex *ix)
{
    size_t n;
    pthread_rwlock_rdlock(&ix->lock);
    n = ix->count;
    pthread_rwlock_unlock(&ix->lock);
    return n;
}

static int hit_less(const hm_point_hit *a, const hm_point_hit *b)
{
    return a->distance_m < b->distance_m || (a->distance_m == b->distance_m && a->id < b->id);
}

/* Keep out[0..*n) sorted, at most `limit`. */
static void consider(hm_point_hit *out, size_t *n, size_t limit, const hm_point_hit *h)
{
    size_t i;
    if (*n == limit && !hit_less(h, &out[limit - 1]))
        return;
    i = *n < limit ? (*n)++ : limit - 1;
    while (i > 0 && hit_less(h, &out[i - 1])) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = *h;
}

#define SCAN_BEST 32 /* a cell's points with the smallest bounds, taken in order */

/* Offer point `e` (lower bound `lb`) to out[0..*n). */
static void offer(const entry *e, double lon, double lat, double radius_m, size_t limit,
                  hm_point_filter filter, void *ctx, hm_point_hit *out, size_t *n)
{
    hm_point_hit h = {e->id, e->lon, e->lat, e->tag, e->aux, 0, e->data};
    if (filter && !filter(ctx, &h))
        return;
    h.distance_m = hm_geo_distance_m(lon, lat, e->lon, e->lat);
    if (!(radius_m > 0 && h.distance_m > radius_m))
        consider(out, n, limit, &h);
}

/* Offer the points of cell `c` to out[0..*n), nearest first, at most `limit`. Each point's
 * lower bound of the geodesic distance comes from a flat metric with the smallest metres per
 * degree (110,574 per degree of latitude, lb_lon per degree of longitude), shrunk by 0.5 %
 * for the geodesic's bulge: a point whose bound exceeds the radius or the current k-th best
 * is skipped without its geodesic, which costs more than the rest of the query (issue 7).
 * The SCAN_BEST smallest bounds go first, in order, so the geodesic is computed for little
 * more than the points kept; the rest only if those did not settle the answer. Caller
 * holds the lock. */
static void scan_cell(const cell *c, double lon, double lat, double lb_lon, double radius_m,
                      size_t limit, hm_point_filter filter, void *ctx, hm_point_hit *out, size_t *n)
{
    double lbs[SCAN_BEST];
    size_t order[SCAN_BEST], m = 0;
    bool overflow = false; /* a point with a bound >= lbs[m - 1] is not in the list */

    for (size_t i = 0; i < c->n; i++) {
        const entry *e = &c->items[i];
        double dy = (e->lat - lat) * 110574.0, dx = (e->lon - lon) * lb_lon;
        double lb = 0.995 * sqrt(dx * dx + dy * dy);
        size_t k;
        if ((radius_m > 0 && lb > radius_m) || (*n == limit && lb > out[*n - 1].distance_m))
            continue;
        if (m == SCAN_BEST) {
            overflow = true;
            if (lb >= lbs[m - 1])
                continue;
            m--; /* the largest makes room */
        }
        for (k = m; k > 0 && lbs[k - 1] > lb; k--) {
            lbs[k] = lbs[k - 1];
            order[k] = order[k - 1];
        }
        lbs[k] = lb;
        order[k] = i;
        m++;
    }
    for (size_t k = 0; k < m; k++) {
        if (*n == limit && lbs[k] > out[*n - 1].distance_m)
            return; /* every later point is farther still, in the list or not */
        offer(&c->items[order[k]], lon, lat, radius_m, limit, filter, ctx, out, n);
    }
    if (!overflow)
        return;
    /* The points left out, all with bounds >= lbs[m - 1]. */
    for (size_t i = 0; i < c->n; i++) {
        const entry *e = &c->items[i];
        double dy = (e->lat - lat) * 110574.0, dx = (e->lon - lon) * lb_lon;
        double lb = 0.995 * sqrt(dx * dx + dy * dy);
        bool listed = false;
        if (lb < lbs[m - 1] || (radius_m > 0 && lb > radius_m) ||
            (*n == limit && lb > out[*n - 1].distance_m))
            continue;
        for (size_t k = m; k > 0 && lbs[k - 1] == lb && !listed; k--)
            listed = order[k - 1] == i; /* a tie with the last listed bound */
        if (!listed)
            offer(e, lon, lat, radius_m, limit, filter, ctx, out, n);
    }
}

size_t hm_pointindex_nearest(hm_pointindex *ix, double lon, double lat, double radius_m,
                             size_t limit, hm_point_filter filter, void *ctx, hm_point_hit *out)
{
    return hm_pointindex_nearest_data(ix, lon, lat, radius_m, limit, filter, ctx, out, NULL);
}

size_t hm_pointindex_nearest_data(hm_pointindex *ix, double lon, double lat, double radius_m,
                                  size_t limit, hm_point_filter filter, void *ctx,
                                  hm_point_hit *out, void *data_out)
{
    size_t n = 0;
    long qx = cell_x(lon), qy = cell_y(lat);
    /* Lower bounds of metres per degree near the query, slightly shrunk so a
     * ring is never skipped too early. */
    double m_lat = 110500.0;
    double m_lon = 111000.0 * cos((fabs(lat) + CELL * 2) * M_PI / 180.0) * 0.995;

    if (limit == 0)
        return 0;
    if (m_lon < 1000)
        m_lon = 1000;
    pthread_rwlock_rdlock(&ix->lock);
    if (ix->count == 0)
        goto out;
    for (long r = 0;; r++) {
        /* Nearest possible distance of any point in ring r. */
        double ring_min = (r - 1) * CELL * (m_lat < m_lon ? m_lat : m_lon);
        /* Metres per degree of longitude, at least, anywhere up to this ring: N cos(phi) >=
         * a cos(phi), taken at the ring's farthest latitude (issue 7: the geodesic is costly;
         * this bound skips it for points that cannot be among the nearest). */
        double lat_far = fabs(lat) + (double)(r + 1) * CELL;
        double lb_lon = 111319.0 * cos((lat_far < 90 ? lat_far : 90) * M_PI / 180.0);
        if (r > 0 && radius_m > 0 && ring_min > radius_m)
            break;
        if (r > 0 && n == limit && ring_min > out[n - 1].distance_m)
            break;
        if (qx - r < ix->min_cx && qx + r > ix->max_cx && qy - r < ix->min_cy &&
            qy + r > ix->max_cy)
            break;
        for (long cy = qy - r; cy <= qy + r; cy++) {
            long step = (cy == qy - r || cy == qy + r) ? 1 : 2 * r;
            for (long cx = qx - r; cx <= qx + r; cx += step ? step : 1) {
                cell *c;
                double cdx, cdy, clb;
                if (cy < ix->min_cy || cy > ix->max_cy || cx < ix->min_cx || cx > ix->max_cx)
                    continue;
                /* The same lower bound for the whole cell: skip it when none of its points
                 * can be within the radius or among the nearest found so far. */
                cdx = fmax(0.0, fmax((double)cx * CELL - lon, lon - (double)(cx + 1) * CELL));
                cdy = fmax(0.0, fmax((double)cy * CELL - lat, lat - (double)(cy + 1) * CELL));
                clb = 0.995 * sqrt(cdx * lb_lon * cdx * lb_lon + cdy * 110574.0 * cdy * 110574.0);
                if (r > 0 && ((radius_m > 0 && clb > radius_m) ||
                              (n == limit && clb > out[n - 1].distance_m)))
                    continue;
                c = find_cell(ix, cell_key(cx, cy), 0);
                if (!c)
                    continue;
                scan_cell(c, lon, lat, lb_lon, radius_m, limit, filter, ctx, out, &n);
                if (r == 0)
                    break;
            }
        }
    }
out:
    /* Data are copied out before the lock goes: the points may change right after. */
    for (size_t i = 0; i < n; i++) {
        if (data_out && ix->data_size > 0 && out[i].data)
            memcpy((char *)data_out + i * ix->data_size, out[i].data, ix->data_size);
        out[i].data = NULL;
    }
    pthread_rwlock_unlock(&ix->lock);
    return n;
}
