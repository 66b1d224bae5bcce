/* results.h: the public results (issue 17) — what Bình Chánh published in 2021 so that people
 * could see what was done: per ward and former ward, requests received, resolved, the median
 * hours to resolve, and receipts confirmed and disputed by the residents, by category. No
 * contact data, nothing finer than a ward. Counts come from the live tally (areacount.h: no
 * scan of the requests on a hit); area names from the store, kept a minute. Thread-safe. */
#ifndef HM_RESULTS_H
#define HM_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "areacount.h"
#include "core.h"
#include "hm_error.h"

typedef struct hm_result_area {
    char code[40];
    char name[160];
    char parent_code[40]; /* a former ward's: "" (codes were reused by the reform) */
    hm_area_count counts; /* received, resolved, receipts by category; median hours */
} hm_result_area;

typedef struct hm_results {
    int64_t generated_at; /* ms */
    hm_result_area *wards, *former_wards;
    size_t n_wards, n_former_wards;
    hm_area_count district; /* the sum of the wards; its median over every resolved request */
} hm_results;

/* Fill `out` (clear it with hm_results_clear()). Areas are in code order. */
int hm_core_results(hm_core *c, hm_results *out, hm_error *err);
void hm_results_clear(hm_results *r);

/* Totals of one area's counts over the categories. */
int64_t hm_result_received(const hm_area_count *a);
int64_t hm_result_resolved(const hm_area_count *a);
int64_t hm_result_confirmed(const hm_area_count *a);
int64_t hm_result_disputed(const hm_area_count *a);

/* The core's cache of area names (results.c). */
struct hm_results_cache *hm_results__create(void);
void hm_results__destroy(struct hm_results_cache *rc);

#endif
