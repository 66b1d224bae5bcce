#include "areacount.h"

#include "hm_buf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS    1024
#define HOURS       48
#define RES_STEP_MS 6000LL          /* 0.1 minute */
#define RES_BUCKETS (30 * 24 * 600) /* 30 days; longer ones go in the last */
/* Per area (wards and former wards): 0.1 h steps for a week, then hours up to 90 days. */
#define AREA_FINE_STEP_MS 360000LL
#define AREA_FINE         (7 * 24 * 10)
#define AREA_BUCKETS      (AREA_FINE + (90 - 7) * 24)

static const hm_area_count zero_count = {.median_resolve_h = -1};

const hm_area_count *hm_area_counts_find(const hm_area_counts *c, const char *code)
{
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->items[i].code, code) == 0)
            return &c->items[i];
    return &zero_count;
}

int64_t hm_area_count_open(const hm_area_count *c)
{
    return c->by_status[HM_ST_NEW] + c->by_status[HM_ST_ASSIGNED] + c->by_status[HM_ST_IN_PROGRESS];
}

void hm_area_counts_clear(hm_area_counts *c)
{
    free(c->items);
    c->items = NULL;
    c->count = c->cap = 0;
}

void hm_tally_row_of(hm_tally_row *row, const hm_request *r)
{
    row->receipt = r->receipt;
    row->status = r->status;
    row->category = r->category;
    row->codes[HM_LEVEL_WARD] = r->ward_code;
    row->codes[HM_LEVEL_FORMER_WARD] = r->former_ward_code;
    row->codes[HM_LEVEL_HAMLET] = r->hamlet_code;
    row->created_at = r->created_at;
    row->status_at = r->status_at;
    row->safe = r->status == HM_ST_CANCELLED && r->safe_at > 0;
}

typedef struct node {
    hm_area_count c;
    int32_t *res_hist; /* AREA_BUCKETS counters (wards and former wards, once one resolved) */
    struct node *next;
} node;

typedef struct level_map {
    node *buckets[NBUCKETS];
    size_t count;
} level_map;

struct hm_tally {
    pthread_mutex_t mu;
    int64_t totals[HM_ST__COUNT][HM_CAT__COUNT];
    level_map levels[HM_LEVEL__COUNT];
    struct {
        int64_t hour; /* hours since 1970 */
        int64_t count;
    } hours[HOURS];
    int32_t *resolved_hist; /* RES_BUCKETS counters */
    int64_t resolved_n;
    int64_t safe; /* cancelled by "I am safe now" */
};

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static hm_area_count *area_of(level_map *m, const char *code)
{
    size_t b = hash_str(code) % NBUCKETS;
    node *n;
    for (n = m->buckets[b]; n; n = n->next)
        if (strcmp(n->c.code, code) == 0)
            return &n->c;
    n = hm_xcalloc(1, sizeof *n);
    snprintf(n->c.code, sizeof n->c.code, "%s", code);
    n->c.median_resolve_h = -1;
    n->next = m->buckets[b];
    m->buckets[b] = n;
    m->count++;
    return &n->c;
}

static void clear_locked(hm_tally *t)
{
    for (int l = 0; l < HM_LEVEL__COUNT; l++) {
        for (size_t b = 0; b < NBUCKETS; b++) {
            node *n = t->levels[l].buckets[b];
            while (n) {
                node *nx = n->next;
                free(n->res_hist);
                free(n);
                n = nx;
            }
            t->levels[l].buckets[b] = NULL;
        }
        t->levels[l].count = 0;
    }
    memset(t->totals, 0, sizeof t->totals);
    memset(t->hours, 0, sizeof t->hours);
    memset(t->resolved_hist, 0, RES_BUCKETS * sizeof *t->resolved_hist);
    t->resolved_n = 0;
    t->safe = 0;
}

hm_tally *hm_tally_create(void)
{
    hm_tally *t = hm_xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->resolved_hist = hm_xcalloc(RES_BUCKETS, sizeof *t->resolved_hist);
    return t;
}

void hm_tally_destroy(hm_tally *t)
{
    if (!t)
        return;
    clear_locked(t);
    free(t->resolved_hist);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static size_t res_bucket(const hm_tally_row *r)
{
    int64_t d = r->status_at - r->created_at;
    if (d < 0)
        d = 0;
    d /= RES_STEP_MS;
    return d >= RES_BUCKETS ? RES_BUCKETS - 1 : (size_t)d;
}

static size_t area_bucket(const hm_tally_row *r)
{
    int64_t d = r->status_at - r->created_at, b;
    if (d < 0)
        d = 0;
    b = d / AREA_FINE_STEP_MS;
    if (b >= AREA_FINE)
        b = AREA_FINE + (d / 3600000LL - AREA_FINE / 10);
    return b >= AREA_BUCKETS ? AREA_BUCKETS - 1 : (size_t)b;
}

static double area_bucket_hours(size_t b)
{
    return b < AREA_FINE ? b * 0.1 : (double)(AREA_FINE / 10 + (b - AREA_FINE));
}

/* Add (sign 1) or remove (sign -1) one row. */
static void apply_locked(hm_tally *t, const hm_tally_row *r, int sign)
{
    if (r->status < 0 || r->status >= HM_ST__COUNT || r->category < 0 ||
        r->category >= HM_CAT__COUNT)
        return;
    bool safe = r->safe && r->status == HM_ST_CANCELLED;
    t->totals[r->status][r->category] += sign;
    if (safe)
        t->safe += sign;
    for (int l = 0; l < HM_LEVEL__COUNT; l++) {
        node *n;
        hm_area_count *c;
        if (!r->codes[l] || !r->codes[l][0])
            continue;
        c = area_of(&t->levels[l], r->codes[l]);
        n = (node *)c; /* the count is the node's first member */
        c->by_status[r->status] += sign;
        if (hm_status_is_open(r->status))
            c->open_by_cat[r->category] += sign;
        if (safe)
            c->safe += sign;
        if (r->status != HM_ST_DUPLICATE)
            c->received_by_cat[r->category] += sign;
        if (r->status != HM_ST_RESOLVED)
            continue;
        c->resolved_by_cat[r->category] += sign;
        if (r->receipt == HM_RCPT_ALL)
            c->confirmed_by_cat[r->category] += sign;
        else if (r->receipt == HM_RCPT_PART || r->receipt == HM_RCPT_NOTHING)
            c->disputed_by_cat[r->category] += sign;
        if (l == HM_LEVEL_HAMLET)
            continue;
        if (!n->res_hist)
            n->res_hist = hm_xcalloc(AREA_BUCKETS, sizeof *n->res_hist);
        n->res_hist[area_bucket(r)] += sign;
    }
    if (r->status == HM_ST_RESOLVED) {
        t->resolved_hist[res_bucket(r)] += sign;
        t->resolved_n += sign;
    }
}

static void count_created_locked(hm_tally *t, int64_t created_at)
{
    int64_t hour = created_at / 3600000LL;
    size_t slot = (size_t)(hour % HOURS);
    if (t->hours[slot].hour != hour) {
        if (t->hours[slot].hour > hour)
            return; /* older than what the ring keeps */
        t->hours[slot].hour = hour;
        t->hours[slot].count = 0;
    }
    t->hours[slot].count++;
}

void hm_tally_adopt(hm_tally *t, hm_tally *from)
{
    hm_tally tmp;
    pthread_mutex_lock(&from->mu);
    pthread_mutex_lock(&t->mu);
    memcpy(tmp.totals, t->totals, sizeof tmp.totals);
    memcpy(tmp.levels, t->levels, sizeof tmp.levels);
    memcpy(tmp.hours, t->hours, sizeof tmp.hours);
    tmp.resolved_hist = t->resolved_hist;
    tmp.resolved_n = t->resolved_n;
    tmp.safe = t->safe;
    t->safe = from->safe;
    from->safe = tmp.safe;
    memcpy(t->totals, from->totals, sizeof t->totals);
    memcpy(t->levels, from->levels, sizeof t->levels);
    memcpy(t->hours, from->hours, sizeof t->hours);
    t->resolved_hist = from->resolved_hist;
    t->resolved_n = from->resolved_n;
    memcpy(from->totals, tmp.totals, sizeof tmp.totals);
    memcpy(from->levels, tmp.levels, sizeof tmp.levels);
    memcpy(from->hours, tmp.hours, sizeof tmp.hours);
    from->resolved_hist = tmp.resolved_hist;
    from->resolved_n = tmp.resolved_n;
    pthread_mutex_unlock(&t->mu);
    clear_locked(from);
    pthread_mutex_unlock(&from->mu);
}

void hm_tally_move(hm_tally *t, const hm_tally_row *before, const hm_tally_row *after)
{
    pthread_mutex_lock(&t->mu);
    if (before)
        apply_locked(t, before, -1);
    if (after) {
        apply_locked(t, after, 1);
        if (!before)
            count_created_locked(t, after->created_at);
    }
    pthread_mutex_unlock(&t->mu);
}

typedef struct load_ctx {
    hm_tally *t;
} load_ctx;

static int load_row(void *ctx, const hm_request *r)
{
    load_ctx *c = ctx;
    hm_tally_row row;
    hm_tally_row_of(&row, r);
    apply_locked(c->t, &row, 1);
    count_created_locked(c->t, r->created_at);
    return 0;
}

int hm_tally_load(hm_tally *t, hm_request_source each, void *src, hm_error *err)
{
    load_ctx c = {t};
    int rc;

    /* The lock is held through the scan so that no reader sees half of it;
     * only the writer thread (the caller) moves the tally. */
    pthread_mutex_lock(&t->mu);
    clear_locked(t);
    rc = each(src, load_row, &c, err);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* The median of an area's histogram in hours, -1 when it counts nothing. */
static double area_median(const node *n)
{
    int64_t total = 0, want, seen = 0;
    if (!n->res_hist)
        return -1;
    for (int c = 0; c < HM_CAT__COUNT; c++)
        total += n->c.resolved_by_cat[c];
    if (total <= 0)
        return -1;
    want = (total - 1) / 2;
    for (size_t b = 0; b < AREA_BUCKETS; b++) {
        seen += n->res_hist[b];
        if (seen > want)
            return area_bucket_hours(b);
    }
    return -1;
}

static void copy_areas(hm_tally *t, hm_level level, hm_area_counts *out, bool medians)
{
    level_map *m = &t->levels[level];
    pthread_mutex_lock(&t->mu);
    out->items = hm_xrealloc(out->items, (m->count ? m->count : 1) * sizeof *out->items);
    out->cap = m->count;
    out->count = 0;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (node *n = m->buckets[b]; n; n = n->next) {
            out->items[out->count] = n->c;
            out->items[out->count++].median_resolve_h = medians ? area_median(n) : -1;
        }
    pthread_mutex_unlock(&t->mu);
}

void hm_tally_areas(hm_tally *t, hm_level level, hm_area_counts *out)
{
    copy_areas(t, level, out, false);
}

void hm_tally_results(hm_tally *t, hm_level level, hm_area_counts *out)
{
    copy_areas(t, level, out, true);
}

void hm_tally_stats(hm_tally *t, int64_t now, int64_t counts[HM_ST__COUNT][HM_CAT__COUNT],
                    int64_t hourly[24], double *median_min)
{
    int64_t last = now / 3600000LL; /* the clock hour `now` is in */
    pthread_mutex_lock(&t->mu);
    memcpy(counts, t->totals, sizeof t->totals);
    memset(hourly, 0, 24 * sizeof *hourly);
    for (size_t i = 0; i < HOURS; i++) {
        int64_t h = t->hours[i].hour - (last - 23);
        if (h >= 0 && h < 24)
            hourly[h] = t->hours[i].count;
    }
    *median_min = -1;
    if (t->resolved_n > 0) {
        int64_t want = (t->resolved_n - 1) / 2, seen = 0;
        for (size_t b = 0; b < RES_BUCKETS; b++) {
            seen += t->resolved_hist[b];
            if (seen > want) {
                *median_min = b * (RES_STEP_MS / 60000.0);
                break;
            }
        }
    }
    pthread_mutex_unlock(&t->mu);
}

int64_t hm_tally_safe_total(hm_tally *t)
{
    int64_t n;
    pthread_mutex_lock(&t->mu);
    n = t->safe;
    pthread_mutex_unlock(&t->mu);
    return n;
}
