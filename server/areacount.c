#include "areacount.h"

#include "hm_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hm_area_count zero_count;

static int add(void *ctx, const char *code, int status, int category, int64_t n)
{
    hm_area_counts *a = ctx;
    hm_area_count *c = (hm_area_count *)hm_area_counts_find(a, code);
    if (c == &zero_count) {
        if (a->count == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 32;
            a->items = hm_xrealloc(a->items, a->cap * sizeof *a->items);
        }
        c = &a->items[a->count++];
        memset(c, 0, sizeof *c);
        snprintf(c->code, sizeof c->code, "%s", code);
    }
    if (status >= 0 && status < HM_ST__COUNT)
        c->by_status[status] += n;
    if (hm_status_is_open(status) && category >= 0 && category < HM_CAT__COUNT)
        c->open_by_cat[category] += n;
    return 0;
}

int hm_area_counts_load(hm_store *st, hm_level level, hm_area_counts *out, hm_error *err)
{
    return hm_store_area_counts(st, level, add, out, err);
}

const hm_area_count *hm_area_counts_find(const hm_area_counts *c, const char *code)
{
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->items[i].code, code) == 0)
            return &c->items[i];
    return &zero_count;
}

int64_t hm_area_count_open(const hm_area_count *c)
{
    return c->by_status[HM_ST_NEW] + c->by_status[HM_ST_ASSIGNED] +
           c->by_status[HM_ST_IN_PROGRESS];
}

void hm_area_counts_clear(hm_area_counts *c)
{
    free(c->items);
    c->items = NULL;
    c->count = c->cap = 0;
}
