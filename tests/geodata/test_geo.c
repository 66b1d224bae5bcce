/* test_geo.c: geodata/geo.c — geodesic distance, bbox around a point,
 * lon/lat validity. */
#include "geo.h"
#include "hm_test.h"

#include <geodesic.h>
#include <math.h>

/* Reference distances from GeographicLib via PROJ's geod (proj-bin 9.1):
 *   echo "lat1 lon1 lat2 lon2" | geod +ellps=WGS84 -I +units=m -f %.4f
 * Note geod takes lat before lon; the table is lon first like our API. */
static void test_distance(void)
{
    static const struct {
        const char *name;
        double lon1, lat1, lon2, lat2, ref_m;
    } cases[] = {
        {"same point", 106.5, 11.0, 106.5, 11.0, 0.000},
        {"two ward centres in Cu Chi", 106.465135, 10.970339, 106.533547, 10.961544, 7540.459},
        {"HCMC to Hanoi", 106.7009, 10.7769, 105.8542, 21.0285, 1138049.892},
        {"0.0001 deg north", 106.5, 11.0, 106.5, 11.0001, 11.061},
        {"0.0001 deg east", 106.5, 11.0, 106.5001, 11.0, 10.929},
        {"Cu Chi bbox diagonal", 106.356484, 10.9144842, 106.6572159, 11.160309, 42653.439},
        {"Ca Mau to Ha Giang", 104.7, 8.6, 105.3, 23.4, 1639076.020},
        {"(106, 10) to central HCMC", 106.0, 10.0, 106.70, 10.77, 114585.744},
        {"Da Nang to Nha Trang", 108.2022, 16.0544, 109.1967, 12.2388, 435596.267},
        {"1 cm apart", 106.515522, 11.0156337, 106.515522, 11.0156338, 0.011},
        {"Phu Quoc to Con Dao", 103.9840, 10.2899, 106.6060, 8.6820, 338402.207},
        {"a pin and its neighbour", 106.4935, 10.9735, 106.4936, 10.9736, 15.550},
        {"Hanoi to Can Tho", 105.8542, 21.0285, 105.7469, 10.0452, 1215432.302},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double d = hm_geo_distance_m(cases[i].lon1, cases[i].lat1, cases[i].lon2, cases[i].lat2);
        double back = hm_geo_distance_m(cases[i].lon2, cases[i].lat2, cases[i].lon1, cases[i].lat1);
        if (!(fabs(d - cases[i].ref_m) < 0.5))
            fprintf(stderr, "  %s: got %.4f want %.4f\n", cases[i].name, d, cases[i].ref_m);
        CHECK(fabs(d - cases[i].ref_m) < 0.5);
        CHECK(fabs(d - cases[i].ref_m) < 0.002); /* geo.h promises 1 mm; geod prints mm */
        CHECK(fabs(d - back) < 1e-6);
    }
    /* Invalid input gives NAN, never a number that looks like a distance. */
    CHECK(isnan(hm_geo_distance_m(200.0, 11.0, 106.5, 11.0)));
    CHECK(isnan(hm_geo_distance_m(106.5, NAN, 106.5, 11.0)));
    CHECK(isnan(hm_geo_distance_m(106.5, 11.0, 106.5, 91.0)));
}

/* Points at exactly radius_m in 16 directions (geod_direct) lie in the box,
 * and the box is not much larger than needed. */
static void test_bbox_around(void)
{
    static const struct {
        double lon, lat, radius_m;
        int full_lon; /* box must span every longitude */
    } cases[] = {
        {106.5, 11.0, 5000.0, 0},   {106.5, 11.0, 100.0, 0},   {106.5, 11.0, 0.0, 0},
        {106.7, 10.77, 50000.0, 0}, {0.0, 0.0, 10000.0, 0},    {10.0, 60.0, 20000.0, 0},
        {-70.0, -45.0, 1000.0, 0},  {179.99, 11.0, 5000.0, 1}, /* crosses the antimeridian */
        {0.0, 89.99, 5000.0, 1},                               /* reaches the pole */
    };
    struct geod_geodesic g;
    geod_init(&g, 6378137.0, 1.0 / 298.257223563);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double bbox[4];
        double max_dlat = 0.0, max_dlon = 0.0;
        hm_geo_bbox_around(cases[i].lon, cases[i].lat, cases[i].radius_m, bbox);
        CHECK(bbox[0] <= cases[i].lon && cases[i].lon <= bbox[2]);
        CHECK(bbox[1] <= cases[i].lat && cases[i].lat <= bbox[3]);
        CHECK(bbox[0] >= -180.0 && bbox[2] <= 180.0 && bbox[1] >= -90.0 && bbox[3] <= 90.0);
        for (int k = 0; k < 16; k++) {
            double lat2, lon2;
            geod_direct(&g, cases[i].lat, cases[i].lon, k * 22.5, cases[i].radius_m, &lat2, &lon2,
                        NULL);
            if (lon2 > 180.0)
                lon2 -= 360.0;
            if (lon2 < -180.0)
                lon2 += 360.0;
            CHECK(bbox[0] <= lon2 && lon2 <= bbox[2]);
            CHECK(bbox[1] <= lat2 && lat2 <= bbox[3]);
            max_dlat = fmax(max_dlat, fabs(lat2 - cases[i].lat));
            max_dlon = fmax(max_dlon, fabs(lon2 - cases[i].lon));
        }
        if (cases[i].full_lon) {
            CHECK(bbox[0] == -180.0 && bbox[2] == 180.0);
        } else {
            /* generous, but within 2% + 1e-8 degree of the tightest box */
            CHECK(bbox[3] - cases[i].lat <= max_dlat * 1.02 + 1e-8);
            CHECK(bbox[2] - cases[i].lon <= max_dlon * 1.02 + 1e-8);
        }
    }
}

static void test_valid_lonlat(void)
{
    static const struct {
        double lon, lat;
        int want;
    } cases[] = {
        {106.5, 11.0, 1}, {-180.0, -90.0, 1}, {180.0, 90.0, 1},   {0.0, 0.0, 1},
        {200.0, 11.0, 0}, {106.5, 91.0, 0},   {-180.5, 0.0, 0},   {0.0, -90.01, 0},
        {NAN, 11.0, 0},   {106.5, NAN, 0},    {INFINITY, 0.0, 0}, {0.0, -INFINITY, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_INT_EQ(hm_geo_valid_lonlat(cases[i].lon, cases[i].lat), cases[i].want);
}

int main(void)
{
    test_distance();
    test_bbox_around();
    test_valid_lonlat();
    return hm_test_done("test_geo");
}
