/* areacount.h: requests counted per area of one level, by status and (for
 * open requests) by category — what /areas, the area tiles and /stats show.
 * Owns the aggregation of hm_store_area_counts() rows; not JSON. */
#ifndef HM_AREACOUNT_H
#define HM_AREACOUNT_H

#include <stdint.h>

#include "model.h"
#include "store.h"

typedef struct hm_area_count {
    char code[40];
    int64_t by_status[HM_ST__COUNT];
    int64_t open_by_cat[HM_CAT__COUNT];
} hm_area_count;

typedef struct hm_area_counts {
    hm_area_count *items;
    size_t count, cap;
} hm_area_counts;

/* Load the counts of every area of `level` into `out` (zero-initialised by
 * the caller; free with hm_area_counts_clear(), also on error). */
int hm_area_counts_load(hm_store *st, hm_level level, hm_area_counts *out, hm_error *err);
/* The counts of `code`, or a zero record when it has no requests. */
const hm_area_count *hm_area_counts_find(const hm_area_counts *c, const char *code);
/* Open requests (new, assigned, in progress) of one record. */
int64_t hm_area_count_open(const hm_area_count *c);
void hm_area_counts_clear(hm_area_counts *c);

#endif
