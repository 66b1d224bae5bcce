/* test_areacount.c: the live tally behind /areas and /stats — counts move
 * with each status change exactly as a fresh scan of the store counts them. */
#include "areacount.h"
#include "hm_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static hm_tally_row row(int status, int category, const char *ward, const char *former,
                        const char *hamlet, int64_t created, int64_t status_at)
{
    hm_tally_row r = {0};
    r.status = status;
    r.category = category;
    r.codes[HM_LEVEL_WARD] = ward;
    r.codes[HM_LEVEL_FORMER_WARD] = former;
    r.codes[HM_LEVEL_HAMLET] = hamlet;
    r.created_at = created;
    r.status_at = status_at;
    return r;
}

int main(void)
{
    const int64_t now = 1796000000000LL; /* 2026-11 */
    hm_tally *t = hm_tally_create();
    hm_area_counts wards = {0}, hamlets = {0};
    int64_t counts[HM_ST__COUNT][HM_CAT__COUNT], hourly[24], total = 0;
    double median;

    /* Three new requests in two wards, one two hours ago. */
    hm_tally_row a = row(HM_ST_NEW, HM_CAT_FOOD, "27496", "27532", "H1", now - 60000, now - 60000);
    hm_tally_row b = row(HM_ST_NEW, HM_CAT_WATER, "27496", "27529", "", now - 30000, now - 30000);
    hm_tally_row c =
        row(HM_ST_NEW, HM_CAT_FOOD, "27553", "27535", NULL, now - 2 * 3600000LL, now - 7200000);
    hm_tally_move(t, NULL, &a);
    hm_tally_move(t, NULL, &b);
    hm_tally_move(t, NULL, &c);

    hm_tally_areas(t, HM_LEVEL_WARD, &wards);
    CHECK_INT_EQ(wards.count, 2);
    CHECK_INT_EQ(hm_area_count_open(hm_area_counts_find(&wards, "27496")), 2);
    CHECK_INT_EQ(hm_area_counts_find(&wards, "27496")->open_by_cat[HM_CAT_WATER], 1);
    CHECK_INT_EQ(hm_area_count_open(hm_area_counts_find(&wards, "nowhere")), 0);
    hm_tally_areas(t, HM_LEVEL_HAMLET, &hamlets);
    CHECK_INT_EQ(hamlets.count, 1); /* "" and NULL are no hamlet */

    /* a is claimed, started and resolved 30 minutes after creation. */
    {
        hm_tally_row a2 = a, a3 = a, a4 = a;
        a2.status = HM_ST_ASSIGNED;
        a3.status = HM_ST_IN_PROGRESS;
        a4.status = HM_ST_RESOLVED;
        a4.status_at = a.created_at + 30 * 60000;
        hm_tally_move(t, &a, &a2);
        hm_tally_move(t, &a2, &a3);
        hm_tally_move(t, &a3, &a4);
        hm_tally_stats(t, now, counts, hourly, &median);
        CHECK(fabs(median - 30.0) < 0.11);
        CHECK_INT_EQ(counts[HM_ST_RESOLVED][HM_CAT_FOOD], 1);
        CHECK_INT_EQ(counts[HM_ST_NEW][HM_CAT_FOOD], 1);
        hm_tally_areas(t, HM_LEVEL_WARD, &wards);
        CHECK_INT_EQ(hm_area_count_open(hm_area_counts_find(&wards, "27496")), 1);
        CHECK_INT_EQ(hm_area_counts_find(&wards, "27496")->by_status[HM_ST_RESOLVED], 1);
        /* Reopened: it leaves the resolved times. */
        {
            hm_tally_row a5 = a4;
            a5.status = HM_ST_NEW;
            hm_tally_move(t, &a4, &a5);
            hm_tally_stats(t, now, counts, hourly, &median);
            CHECK(median < 0);
        }
    }

    hm_tally_stats(t, now, counts, hourly, &median);
    for (int s = 0; s < HM_ST__COUNT; s++)
        for (int k = 0; k < HM_CAT__COUNT; k++)
            total += counts[s][k];
    CHECK_INT_EQ(total, 3);
    {
        int64_t sum = 0;
        for (int h = 0; h < 24; h++)
            sum += hourly[h];
        CHECK_INT_EQ(sum, 3);
        CHECK_INT_EQ(hourly[23] + hourly[22] + hourly[21], 3);
    }

    /* "I am safe now" (issue 19): counted per area while the request stays cancelled as safe;
     * a reopen takes it back, an ordinary cancellation never counts. */
    {
        hm_tally_row s1 = row(HM_ST_NEW, HM_CAT_FOOD, "27511", "27514", NULL, now, now);
        hm_tally_row s2 = s1, s3 = s1;
        int64_t before = hm_tally_safe_total(t);
        hm_tally_move(t, NULL, &s1);
        s2.status = HM_ST_CANCELLED;
        s2.safe = true;
        hm_tally_move(t, &s1, &s2);
        hm_tally_areas(t, HM_LEVEL_WARD, &wards);
        CHECK_INT_EQ(hm_area_counts_find(&wards, "27511")->safe, 1);
        CHECK_INT_EQ(hm_area_counts_find(&wards, "27496")->safe, 0);
        CHECK_INT_EQ(hm_tally_safe_total(t), before + 1);
        hm_tally_move(t, &s2, &s1); /* reopened */
        s3.status = HM_ST_CANCELLED;
        hm_tally_move(t, &s1, &s3); /* cancelled, not safe */
        hm_tally_areas(t, HM_LEVEL_WARD, &wards);
        CHECK_INT_EQ(hm_area_counts_find(&wards, "27511")->safe, 0);
        CHECK_INT_EQ(hm_tally_safe_total(t), before);
        hm_tally_move(t, &s3, NULL);
    }

    /* adopt: a tally loaded aside replaces the live one in one step. */
    {
        hm_tally *aside = hm_tally_create();
        hm_tally_row d = row(HM_ST_NEW, HM_CAT_RESCUE, "27508", "27499", NULL, now, now);
        hm_tally_move(aside, NULL, &d);
        hm_tally_adopt(t, aside);
        hm_tally_areas(t, HM_LEVEL_WARD, &wards);
        CHECK_INT_EQ(wards.count, 1);
        CHECK_INT_EQ(hm_area_counts_find(&wards, "27508")->open_by_cat[HM_CAT_RESCUE], 1);
        hm_tally_areas(aside, HM_LEVEL_WARD, &hamlets);
        CHECK_INT_EQ(hamlets.count, 0);
        hm_tally_destroy(aside);
    }

    hm_area_counts_clear(&wards);
    hm_area_counts_clear(&hamlets);
    hm_tally_destroy(t);
    return hm_test_done("test_areacount");
}
