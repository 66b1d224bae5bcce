/* fuzz_parsers: the parsers of URL paths and query values — the tile path
 * after /tiles/ (hm_tile_path_parse, given exactly `size` bytes so that ASan
 * sees any over-read), the request code in /api/v1/requests/{code}
 * (hm_code_normalize), the phone of a body or of ?phone= (hm_phone_normalize),
 * ?since= (hm_time_parse) and the text check every contact field passes
 * (hm_text_ok). Checks: a parsed tile is in range and its bounds are finite
 * and ordered; a normalised code or phone has SPEC's form and normalises to
 * itself. */
#include "fuzz_input.h"
#include "model.h"
#include "mvt.h"
#include "tile.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tile_path(const uint8_t *data, size_t size)
{
    char *exact = malloc(size ? size : 1); /* not NUL-terminated, as the parser promises */
    hm_tile_path tp;
    hm_error err = {0};
    int rc;

    memcpy(exact, data, size);
    memset(&tp, 0xa5, sizeof tp);
    rc = hm_tile_path_parse(exact, size, &tp, &err);
    if (rc == HM_OK) {
        HM_FUZZ_CHECK(hm_tile_layer_name(tp.layer)[0] != '\0');
        if (!tp.tilejson) {
            double b[4];
            HM_FUZZ_CHECK(hm_tile_valid(&tp.tile));
            hm_tile_bounds(&tp.tile, b);
            HM_FUZZ_CHECK(isfinite(b[0]) && isfinite(b[1]) && isfinite(b[2]) && isfinite(b[3]));
            HM_FUZZ_CHECK(b[0] < b[2] && b[1] < b[3]);
            hm_mvt_points_bounds(&tp.tile, NULL, b);
            HM_FUZZ_CHECK(b[0] <= b[2] && b[1] <= b[3]);
        }
    } else {
        HM_FUZZ_CHECK(rc == HM_E_NOT_FOUND || rc == HM_E_INVALID_FIELD);
        HM_FUZZ_CHECK(rc == (int)err.code && memchr(err.msg, 0, sizeof err.msg));
    }
    {
        hm_tile_layer layer;
        (void)hm_tile_layer_parse(exact, size, &layer, NULL);
    }
    free(exact);
}

static void check_code(const char *s)
{
    static const char *const prefixes[] = {"CC", "X", "ABCD"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char out[32], again[32];
        size_t plen = strlen(prefixes[i]);
        if (hm_code_normalize(s, prefixes[i], out, sizeof out, NULL) != HM_OK)
            continue;
        HM_FUZZ_CHECK(strlen(out) == plen + 1 + HM_CODE_LEN);
        HM_FUZZ_CHECK(strncmp(out, prefixes[i], plen) == 0 && out[plen] == '-');
        for (size_t k = plen + 1; out[k]; k++)
            HM_FUZZ_CHECK(strchr(hm_code_alphabet, out[k]) != NULL);
        HM_FUZZ_CHECK(hm_code_normalize(out, prefixes[i], again, sizeof again, NULL) == HM_OK);
        HM_FUZZ_CHECK(strcmp(out, again) == 0);
    }
    {
        char tiny[4]; /* too small: must fail, never overflow */
        HM_FUZZ_CHECK(hm_code_normalize(s, "CC", tiny, sizeof tiny, NULL) != HM_OK);
    }
}

static void check_phone(const char *s)
{
    char out[24], again[24], tiny[8];
    hm_error err = {0};
    if (hm_phone_normalize(s, out, sizeof out, &err) == HM_OK) {
        size_t n = strlen(out);
        HM_FUZZ_CHECK(out[0] == '+' && n >= 9 && n <= 16);
        for (size_t k = 1; k < n; k++)
            HM_FUZZ_CHECK(out[k] >= '0' && out[k] <= '9');
        HM_FUZZ_CHECK(hm_phone_normalize(out, again, sizeof again, NULL) == HM_OK);
        HM_FUZZ_CHECK(strcmp(out, again) == 0);
    } else {
        HM_FUZZ_CHECK(err.code == HM_E_INVALID_FIELD && err.field && !strcmp(err.field, "phone"));
    }
    (void)hm_phone_normalize(s, tiny, sizeof tiny, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    int64_t ms;

    if (size > 4096)
        return 0;
    check_tile_path(data, size);
    s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    check_code(s);
    check_phone(s);
    if (hm_time_parse(s, &ms) == 0) {
        char t[32];
        hm_time_format(ms, t);
        HM_FUZZ_CHECK(memchr(t, 0, sizeof t) != NULL);
    }
    (void)hm_text_ok(s, 500);
    (void)hm_category_parse(s);
    (void)hm_status_parse(s);
    (void)hm_vulnerable_parse(s);
    free(s);
    return 0;
}
