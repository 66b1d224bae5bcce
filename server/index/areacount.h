/* areacount.h: live counts of requests — by status and category, per area
 * of each level, created per hour, and the time from new to resolved — kept
 * in memory so that /areas, /stats, the area tiles and /metrics never scan
 * a million rows. The tally is built from the store at start-up (and after
 * area changes) and moved by the writer thread after each commit; readers
 * on any thread take a consistent copy. Owns that bookkeeping; not JSON. */
#ifndef HM_AREACOUNT_H
#define HM_AREACOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "area.h"
#include "entity.h"
#include "hm_error.h"
#include "model.h"

typedef struct hm_area_count {
    char code[40];
    int64_t by_status[HM_ST__COUNT];
    int64_t open_by_cat[HM_CAT__COUNT];
    int64_t safe; /* requests closed by "I am safe now" (cancelled, safe_at set) */
    /* For the public results (issue 17), by category: requests received (every status but
     * duplicate), resolved, and among the resolved those whose resident confirmed that all
     * arrived or reported that part or nothing did. */
    int64_t received_by_cat[HM_CAT__COUNT];
    int64_t resolved_by_cat[HM_CAT__COUNT];
    int64_t confirmed_by_cat[HM_CAT__COUNT];
    int64_t disputed_by_cat[HM_CAT__COUNT];
    /* Median hours from creation to resolution of the resolved requests, -1 when none; only
     * hm_tally_results() fills it (wards and former wards), elsewhere -1. */
    double median_resolve_h;
} hm_area_count;

/* A copy of one level's counts; free with hm_area_counts_clear(). */
typedef struct hm_area_counts {
    hm_area_count *items;
    size_t count, cap;
} hm_area_counts;

/* The counts of `code`, or a zero record when it has no requests. */
const hm_area_count *hm_area_counts_find(const hm_area_counts *c, const char *code);
/* Open requests (new, assigned, in progress) of one record. */
int64_t hm_area_count_open(const hm_area_count *c);
void hm_area_counts_clear(hm_area_counts *c);

/* What the tally needs to know of a request. */
typedef struct hm_tally_row {
    int status, category;
    const char *codes[HM_LEVEL__COUNT]; /* "" or NULL: none */
    int64_t created_at, status_at;      /* ms */
    bool safe;                          /* closed by "I am safe now" */
    int receipt;                        /* enum hm_receipt (HM_RCPT_NONE: none) */
} hm_tally_row;

/* Fill a tally row from a request (borrowing its codes). */
void hm_tally_row_of(hm_tally_row *row, const hm_request *r);

typedef struct hm_tally hm_tally;

hm_tally *hm_tally_create(void);
void hm_tally_destroy(hm_tally *t);
/* Replace the tally's contents with every request `each` gives: each(src, cb, cb_ctx, err)
 * must call cb for every request (e.g. a scan of the store) and return HM_OK or an error,
 * which hm_tally_load returns. */
int hm_tally_load(hm_tally *t, hm_request_source each, void *src, hm_error *err);
/* Take over the contents of `from` (left empty), e.g. a tally loaded aside
 * after areas changed, in one step for readers. */
void hm_tally_adopt(hm_tally *t, hm_tally *from);
/* A request moved from `before` (NULL: it is new) to `after` (NULL: gone). */
void hm_tally_move(hm_tally *t, const hm_tally_row *before, const hm_tally_row *after);
/* Copy the counts of every area of `level` into `out` (zeroed by caller). */
void hm_tally_areas(hm_tally *t, hm_level level, hm_area_counts *out);
/* The same with each area's median hours to resolve (wards and former wards: a histogram of
 * resolution times per area, 0.1 h steps for the first week, then hours up to 90 days; the
 * median is the lower edge of its step). For /results; costs a pass over each histogram. */
void hm_tally_results(hm_tally *t, hm_level level, hm_area_counts *out);
/* Totals by status and category; requests created in each of the 24 clock
 * hours that end with the one `now` is in (oldest first); median minutes from creation to
 * resolution of the resolved requests (-1 when none), to 0.1 minute. */
void hm_tally_stats(hm_tally *t, int64_t now, int64_t counts[HM_ST__COUNT][HM_CAT__COUNT],
                    int64_t hourly[24], double *median_min);
/* Requests closed by "I am safe now", in all. */
int64_t hm_tally_safe_total(hm_tally *t);

#endif
