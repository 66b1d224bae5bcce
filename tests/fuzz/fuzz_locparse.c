/* fuzz_locparse: the pasted location_text of SPEC's "Paste a location"
 * (hm_loc_parse), given exactly `size` bytes in a heap block of that size so
 * that ASan sees any over-read. Checks: a success is a finite lon/lat in
 * range, never -0, with a known form, and the point written back as "lat,
 * lon" with 9 decimals parses to itself as "decimal"; a refusal is
 * HM_E_INVALID_FIELD naming location_text with a non-empty message under 159
 * bytes and leaves the out-parameters alone; the same bytes give the same
 * answer twice, and blanks around them change nothing. */
#include "fuzz_input.h"
#include "locparse.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct answer {
    int rc;
    double lon, lat;
    hm_loc_form form;
    hm_error err;
} answer;

static void parse(const char *text, size_t len, answer *a)
{
    char *exact = malloc(len ? len : 1);
    memcpy(exact, text, len);
    a->lon = a->lat = -999.0;
    a->form = HM_LOC__COUNT;
    hm_error_clear(&a->err);
    a->rc = hm_loc_parse(exact, len, &a->lon, &a->lat, &a->form, &a->err);
    free(exact);
}

static bool same(const answer *a, const answer *b)
{
    return a->rc == b->rc && memcmp(&a->lon, &b->lon, sizeof a->lon) == 0 &&
           memcmp(&a->lat, &b->lat, sizeof a->lat) == 0 && a->form == b->form &&
           a->err.code == b->err.code && a->err.field == b->err.field &&
           strcmp(a->err.msg, b->err.msg) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    answer a, b;

    if (size > HM_LOC_MAX_TEXT + 64)
        return 0;
    parse((const char *)data, size, &a);
    if (a.rc == HM_OK) {
        char back[64];
        HM_FUZZ_CHECK(isfinite(a.lon) && isfinite(a.lat));
        HM_FUZZ_CHECK(fabs(a.lon) <= 180.0 && fabs(a.lat) <= 90.0);
        HM_FUZZ_CHECK(!(a.lon == 0.0 && signbit(a.lon)) && !(a.lat == 0.0 && signbit(a.lat)));
        HM_FUZZ_CHECK(a.form < HM_LOC__COUNT && strcmp(hm_loc_form_name(a.form), "unknown"));
        HM_FUZZ_CHECK(size <= HM_LOC_MAX_TEXT);
        snprintf(back, sizeof back, "%.9f, %.9f", a.lat, a.lon);
        parse(back, strlen(back), &b);
        HM_FUZZ_CHECK(b.rc == HM_OK && b.form == HM_LOC_DECIMAL);
        HM_FUZZ_CHECK(fabs(b.lat - a.lat) <= 1e-9 && fabs(b.lon - a.lon) <= 1e-9);
    } else {
        size_t n = strnlen(a.err.msg, sizeof a.err.msg);
        HM_FUZZ_CHECK(a.rc == HM_E_INVALID_FIELD && a.err.code == HM_E_INVALID_FIELD);
        HM_FUZZ_CHECK(a.err.field && strcmp(a.err.field, "location_text") == 0);
        HM_FUZZ_CHECK(n > 0 && n < 159);
        HM_FUZZ_CHECK(a.lon == -999.0 && a.lat == -999.0 && a.form == HM_LOC__COUNT);
    }

    parse((const char *)data, size, &b);
    HM_FUZZ_CHECK(same(&a, &b));

    if (size + 2 <= HM_LOC_MAX_TEXT) { /* " text\n": trimmed to the same answer */
        char *padded = malloc(size + 2);
        padded[0] = ' ';
        memcpy(padded + 1, data, size);
        padded[size + 1] = '\n';
        parse(padded, size + 2, &b);
        HM_FUZZ_CHECK(same(&a, &b));
        free(padded);
    }
    return 0;
}
