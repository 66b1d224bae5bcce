/* fuzz_geojson_area: GeoJSON area import as `helpmap import-areas` and
 * POST/PUT /api/v1/areas run it — hm_area_read_geojson with a GEOS context,
 * then what a successful import feeds: hm_area_fit (clip to a parent, the
 * sibling-overlap check) and the point-to-area index (hm_area_index_create,
 * hm_area_index_locate). Checks: every area read has a code of 1..32 bytes,
 * WKB, a finite bounding box in lon/lat range and a representative point
 * inside that box; the index finds an area of the level at each area's
 * representative point. */
#include "area.h"
#include "fuzz_input.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GEOSContextHandle_t geos;

static void on_geos_message(const char *msg, void *ctx)
{
    (void)msg;
    (void)ctx;
}

static void check_area(const hm_area *a)
{
    size_t n = a->code ? strlen(a->code) : 0;
    HM_FUZZ_CHECK(n >= 1 && n <= 32);
    HM_FUZZ_CHECK(a->name != NULL);
    HM_FUZZ_CHECK(a->wkb && a->wkb_len >= 9);
    for (int i = 0; i < 4; i++)
        HM_FUZZ_CHECK(isfinite(a->bbox[i]));
    HM_FUZZ_CHECK(a->bbox[0] >= -180 && a->bbox[2] <= 180 && a->bbox[1] >= -90 && a->bbox[3] <= 90);
    HM_FUZZ_CHECK(a->bbox[0] <= a->bbox[2] && a->bbox[1] <= a->bbox[3]);
    HM_FUZZ_CHECK(a->rep_lon >= a->bbox[0] && a->rep_lon <= a->bbox[2]);
    HM_FUZZ_CHECK(a->rep_lat >= a->bbox[1] && a->rep_lat <= a->bbox[3]);
    HM_FUZZ_CHECK(memchr(a->note, 0, sizeof a->note) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hm_area_list list = {NULL, 0};
    hm_error err = {0};
    static const hm_area_fields custom = {"id", "ten", "cha"};
    const hm_area_fields *fields = NULL;

    if (size > 64 * 1024)
        return 0;
    if (!geos) {
        geos = GEOS_init_r();
        GEOSContext_setErrorMessageHandler_r(geos, on_geos_message, NULL);
        GEOSContext_setNoticeMessageHandler_r(geos, on_geos_message, NULL);
    }
    /* An input that ends in a 0x01 byte uses other property names, as
     * --code-field/--name-field/--parent-field do. */
    if (size && data[size - 1] == 0x01) {
        fields = &custom;
        size--;
    }
    if (hm_area_read_geojson(geos, (const char *)data, size, fields, &list, &err) != HM_OK) {
        HM_FUZZ_CHECK(err.code == HM_E_BAD_JSON || err.code == HM_E_INVALID_FIELD ||
                      err.code == HM_E_GEOS);
        HM_FUZZ_CHECK(memchr(err.msg, 0, sizeof err.msg) != NULL);
        HM_FUZZ_CHECK(list.count == 0 && list.items == NULL);
        return 0;
    }
    for (size_t i = 0; i < list.count; i++)
        check_area(&list.items[i]);

    if (list.count >= 1 && list.count <= 8) {
        /* Fit the last area into the first (as its parent) among the others. */
        hm_area_ref parent = {list.items[0].code, list.items[0].wkb, list.items[0].wkb_len};
        hm_area_ref sib[8];
        size_t ns = 0;
        char overlaps[256];
        hm_error fe = {0};
        hm_area *a = &list.items[list.count - 1];
        for (size_t i = 1; i + 1 < list.count; i++)
            sib[ns++] = (hm_area_ref){list.items[i].code, list.items[i].wkb, list.items[i].wkb_len};
        overlaps[0] = '\0';
        if (hm_area_fit(geos, a, list.count > 1 ? &parent : NULL, sib, ns, overlaps,
                        sizeof overlaps, &fe) == HM_OK)
            check_area(a);
        else
            HM_FUZZ_CHECK(memchr(overlaps, 0, sizeof overlaps) != NULL);
    }

    {
        hm_area_src *src = calloc(list.count ? list.count : 1, sizeof *src);
        hm_area_index *idx;
        hm_error ie = {0};
        for (size_t i = 0; i < list.count; i++)
            src[i] = (hm_area_src){(hm_level)(i % HM_LEVEL__COUNT), list.items[i].code,
                                   list.items[i].wkb, list.items[i].wkb_len};
        idx = hm_area_index_create(src, list.count, &ie);
        if (!idx)
            fprintf(stderr, "index of the areas read: %s\n", ie.msg);
        HM_FUZZ_CHECK(idx != NULL);
        for (size_t i = 0; i < list.count; i++) {
            const char *got[HM_LEVEL__COUNT];
            hm_area_index_locate(idx, list.items[i].rep_lon, list.items[i].rep_lat, got);
            HM_FUZZ_CHECK(got[i % HM_LEVEL__COUNT] != NULL);
        }
        {
            const char *got[HM_LEVEL__COUNT];
            hm_area_index_locate(idx, NAN, 0, got);
            HM_FUZZ_CHECK(!got[0] && !got[1] && !got[2]);
            hm_area_index_locate(idx, 106.5, 11.0, got);
        }
        hm_area_index_destroy(idx);
        free(src);
    }
    hm_area_list_clear(&list);
    return 0;
}
