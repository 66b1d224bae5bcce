/* test_openrec.c: an open request survives the trip into the index's compact record with
 * every field the views show; area codes keep their numbers, also when threads intern them
 * at once; the record stays a fraction of an hm_request (the point of it: memory). */
#include "openrec.h"

#include "hm_buf.h"
#include "hm_test.h"
#include "model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define CODES   3000

static uint32_t got[THREADS][CODES];

static void *intern_many(void *arg)
{
    int t = (int)(intptr_t)arg;
    char code[40];
    /* Each thread in its own order (multipliers prime to CODES), so that they race to add
     * the same codes. */
    static const int mult[THREADS] = {1, 7, 11, 13};
    for (int k = 0; k < CODES; k++) {
        int i = (k * mult[t] + t * 7) % CODES;
        snprintf(code, sizeof code, "%05d-%d", 27000 + i, i % 7);
        got[t][i] = hm_code_intern(code);
    }
    return NULL;
}

int main(void)
{
    hm_request r, back;
    hm_open_rec o;
    pthread_t th[THREADS];

    CHECK(sizeof(hm_open_rec) * 2 < sizeof(hm_request));
    CHECK(hm_code_intern("") == 0);
    CHECK(hm_code_intern(NULL) == 0);
    CHECK_STR_EQ(hm_code_of(0), "");
    CHECK_STR_EQ(hm_code_of(4000000), "");

    memset(&r, 0, sizeof r);
    r.id = 1234567;
    snprintf(r.code, sizeof r.code, "CC-4K7M2B");
    r.lon = 106.4937251;
    r.lat = 11.0021789;
    r.precision = HM_PREC_PIN;
    r.category = HM_CAT_MEDICAL;
    r.people = 500;
    r.vulnerable = HM_VULN_ELDERLY | HM_VULN_SICK;
    r.priority = HM_PRIO_URGENT;
    r.status = HM_ST_IN_PROGRESS;
    snprintf(r.ward_code, sizeof r.ward_code, "27496");
    snprintf(r.former_ward_code, sizeof r.former_ward_code, "27508");
    snprintf(r.hamlet_code, sizeof r.hamlet_code, "%s", "an-area-code-of-39-characters-long-xxxx");
    r.source = HM_SRC_HOTLINE;
    r.verified = true;
    r.team_id = 42;
    r.created_at = 1795000000000LL;
    r.updated_at = 1795000060000LL;
    r.status_at = 1795000030000LL;
    r.note = hm_xstrdup("contact data stays in the database");
    r.phone = hm_xstrdup("+84909123456");

    hm_open_rec_pack(&o, &r);
    hm_open_rec_unpack(&o, &back);
    CHECK(back.id == r.id);
    CHECK_STR_EQ(back.code, r.code);
    CHECK(back.lon == r.lon && back.lat == r.lat);
    CHECK(back.precision == r.precision && back.category == r.category);
    CHECK(back.people == 500 && back.vulnerable == r.vulnerable && back.priority == r.priority);
    CHECK(back.status == r.status && back.source == r.source && back.verified);
    CHECK_STR_EQ(back.ward_code, "27496");
    CHECK_STR_EQ(back.former_ward_code, "27508");
    CHECK_STR_EQ(back.hamlet_code, r.hamlet_code);
    CHECK(back.team_id == 42);
    CHECK(back.created_at == r.created_at && back.updated_at == r.updated_at &&
          back.status_at == r.status_at);
    CHECK(!back.note && !back.name && !back.address && !back.phone);
    CHECK_STR_EQ(back.duplicate_of, "");

    /* No area: "" again, not a code of another request. */
    r.ward_code[0] = r.former_ward_code[0] = r.hamlet_code[0] = '\0';
    hm_open_rec_pack(&o, &r);
    hm_open_rec_unpack(&o, &back);
    CHECK_STR_EQ(back.ward_code, "");
    CHECK_STR_EQ(back.hamlet_code, "");
    hm_request_clear(&r);

    /* Threads interning the same codes at once agree on every number. */
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, intern_many, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    {
        int disagree = 0, wrong = 0;
        char code[40];
        for (int i = 0; i < CODES; i++) {
            for (int t = 1; t < THREADS; t++)
                disagree += got[t][i] != got[0][i];
            snprintf(code, sizeof code, "%05d-%d", 27000 + i, i % 7);
            wrong += strcmp(hm_code_of(got[0][i]), code) != 0 || hm_code_intern(code) != got[0][i];
        }
        CHECK(disagree == 0);
        CHECK(wrong == 0);
    }
    return hm_test_done("test_openrec");
}
