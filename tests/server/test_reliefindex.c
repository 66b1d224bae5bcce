/* test_reliefindex.c: the relief points in memory — add, replace and remove by id, filters by
 * kind and status, and the nearest: open points first, then full, then closed, each group by
 * geodesic distance, at most `limit`. */
#include "reliefindex.h"

#include "geo.h"
#include "hm_test.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>

static hm_relief point(int64_t id, int kind, int status, double lon, double lat)
{
    hm_relief p = {0};
    p.id = id;
    p.kind = kind;
    p.status = status;
    p.lon = lon;
    p.lat = lat;
    p.capacity = -1;
    snprintf(p.name, sizeof p.name, "point %lld", (long long)id);
    return p;
}

int main(void)
{
    hm_relief_index *x = hm_relief_index_create();
    hm_relief got, *list = NULL;
    hm_relief_hit hits[8];
    size_t n = 0;
    /* Around (106.5, 11.0): distances grow with |dlat|. */
    static const struct {
        int64_t id;
        int kind, status;
        double dlat;
    } pts[] = {
        {5, HM_RELIEF_SHELTER, HM_RELIEF_OPEN, 0.020},  {3, HM_RELIEF_FOOD, HM_RELIEF_FULL, 0.001},
        {9, HM_RELIEF_BOAT, HM_RELIEF_OPEN, 0.005},     {1, HM_RELIEF_WATER, HM_RELIEF_CLOSED, 0.0},
        {7, HM_RELIEF_MEDICAL, HM_RELIEF_OPEN, -0.010}, {2, HM_RELIEF_BOAT, HM_RELIEF_FULL, 0.003},
    };
    static const int64_t want_order[] = {9, 7, 5, 3, 2, 1};

    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        hm_relief p = point(pts[i].id, pts[i].kind, pts[i].status, 106.5, 11.0 + pts[i].dlat);
        hm_relief_index_apply(x, &p);
    }
    CHECK_INT_EQ(hm_relief_index_count(x), 6);

    /* Listed in id order, filtered. */
    hm_relief_index_list(x, 0, 0, &list, &n);
    CHECK_INT_EQ(n, 6);
    for (size_t i = 1; i < n; i++)
        CHECK(list[i - 1].id < list[i].id);
    free(list);
    hm_relief_index_list(x, 1u << HM_RELIEF_BOAT, 0, &list, &n);
    CHECK_INT_EQ(n, 2);
    CHECK(n == 2 && list[0].id == 2 && list[1].id == 9);
    free(list);
    hm_relief_index_list(x, 1u << HM_RELIEF_BOAT, 1u << HM_RELIEF_OPEN, &list, &n);
    CHECK(n == 1 && list[0].id == 9);
    free(list);
    hm_relief_index_list(x, 1u << HM_RELIEF_CHARGING, 0, &list, &n);
    CHECK(n == 0 && list == NULL);

    /* Nearest: open by distance, then full, then closed. */
    n = hm_relief_index_nearest(x, 106.5, 11.0, 0, 8, hits);
    CHECK_INT_EQ(n, 6);
    for (size_t i = 0; i < n && i < 6; i++) {
        CHECK_INT_EQ(hits[i].point.id, want_order[i]);
        CHECK(hits[i].distance_m ==
              hm_geo_distance_m(106.5, 11.0, hits[i].point.lon, hits[i].point.lat));
    }
    CHECK_INT_EQ(hm_relief_index_nearest(x, 106.5, 11.0, 0, 2, hits), 2);
    CHECK(hits[0].point.id == 9 && hits[1].point.id == 7);
    CHECK_INT_EQ(hm_relief_index_nearest(x, 106.5, 11.0, 1u << HM_RELIEF_BOAT, 8, hits), 2);
    CHECK(hits[0].point.id == 9 && hits[1].point.id == 2);
    CHECK_INT_EQ(hm_relief_index_nearest(x, 106.5, 11.0, 0, 0, hits), 0);

    /* Replaced by id (the shelter closes and moves), removed by id. */
    {
        hm_relief p = point(5, HM_RELIEF_SHELTER, HM_RELIEF_CLOSED, 106.6, 11.1);
        hm_relief_index_apply(x, &p);
    }
    CHECK_INT_EQ(hm_relief_index_count(x), 6);
    CHECK(hm_relief_index_get(x, 5, &got));
    CHECK(got.status == HM_RELIEF_CLOSED && got.lon == 106.6);
    hm_relief_index_remove(x, 9);
    hm_relief_index_remove(x, 42); /* absent: nothing */
    CHECK_INT_EQ(hm_relief_index_count(x), 5);
    CHECK(!hm_relief_index_get(x, 9, &got));
    n = hm_relief_index_nearest(x, 106.5, 11.0, 0, 1, hits);
    CHECK(n == 1 && hits[0].point.id == 7);

    hm_relief_index_clear(x);
    CHECK_INT_EQ(hm_relief_index_count(x), 0);
    CHECK_INT_EQ(hm_relief_index_nearest(x, 106.5, 11.0, 0, 8, hits), 0);
    hm_relief_index_destroy(x);
    hm_relief_index_destroy(NULL);
    return hm_test_done("test_reliefindex");
}
