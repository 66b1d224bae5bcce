/* fuzz_request_body: the body of POST /api/v1/requests as the server reads it
 * (json_loadb with JSON_REJECT_DUPLICATES, as hm_http_json_body does) and
 * validates it (hm_validate_request), for a public caller and for an
 * operator. Besides ASan/UBSan, it checks what the handler relies on: a
 * success yields a request that SPEC's "Data" allows (finite coordinates in
 * range or an address request, people 1..500, an E.164 phone, known
 * category), and a failure names a 4xx code with a NUL-terminated message. */
#include "fuzz_input.h"
#include "locparse.h"
#include "model.h"
#include "validate.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t max_chars)
{
    if (s)
        HM_FUZZ_CHECK(hm_text_ok(s, max_chars) && *s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *body;

    if (size > 16 * 1024) /* HM_MAX_BODY: larger bodies never reach the parser */
        return 0;
    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        return 0;
    for (int operator_plus = 0; operator_plus < 2; operator_plus++) {
        hm_request r;
        char ward[40], hamlet[HM_HAMLET_TEXT_SIZE];
        bool by_address = false;
        hm_error err = {0};
        int rc;

        memset(&r, 0, sizeof r);
        memset(ward, 0, sizeof ward);
        memset(hamlet, 0, sizeof hamlet);
        rc = hm_validate_request(body, operator_plus, &r, ward, hamlet, &by_address, &err);
        if (rc == HM_OK) {
            if (by_address) {
                HM_FUZZ_CHECK(ward[0] && memchr(ward, 0, sizeof ward));
                HM_FUZZ_CHECK(memchr(hamlet, 0, sizeof hamlet));
                HM_FUZZ_CHECK(r.address != NULL);
            } else {
                HM_FUZZ_CHECK(isfinite(r.lat) && isfinite(r.lon));
                HM_FUZZ_CHECK(r.lat >= -90 && r.lat <= 90 && r.lon >= -180 && r.lon <= 180);
            }
            HM_FUZZ_CHECK(r.people >= 1 && r.people <= 500);
            HM_FUZZ_CHECK(hm_category_name(r.category) != NULL);
            HM_FUZZ_CHECK(r.phone && r.phone[0] == '+' && strlen(r.phone) <= 16);
            for (const char *p = r.phone + 1; *p; p++)
                HM_FUZZ_CHECK(*p >= '0' && *p <= '9');
            check_text(r.note, 500);
            check_text(r.name, 100);
            check_text(r.address, 200);
            /* issue 19: a pasted location placed it, and someone else may have reported. */
            check_text(r.location_text, HM_LOC_MAX_TEXT);
            HM_FUZZ_CHECK((r.precision == HM_PREC_LINK) == (r.location_text != NULL));
            check_text(r.reporter_name, 100);
            HM_FUZZ_CHECK(!r.reporter_name || r.reporter_phone);
            if (r.reporter_phone) {
                HM_FUZZ_CHECK(r.reporter_phone[0] == '+' && strlen(r.reporter_phone) <= 16);
                for (const char *p = r.reporter_phone + 1; *p; p++)
                    HM_FUZZ_CHECK(*p >= '0' && *p <= '9');
            }
            HM_FUZZ_CHECK(operator_plus || r.source == HM_SRC_WEB);
        } else {
            HM_FUZZ_CHECK(rc == (int)err.code);
            HM_FUZZ_CHECK(rc == HM_E_INVALID_FIELD || rc == HM_E_FORBIDDEN);
            HM_FUZZ_CHECK(memchr(err.msg, 0, sizeof err.msg) != NULL);
        }
        hm_request_clear(&r);
    }
    json_decref(body);
    return 0;
}
