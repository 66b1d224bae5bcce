/* geo.c: geodesic distance (PROJ's port of GeographicLib, geodesic.h) and
 * lon/lat boxes on WGS84. See geo.h. */
#include "geo.h"

#include <geodesic.h>
#include <math.h>
#include <pthread.h>

#define WGS84_A 6378137.0
#define WGS84_F (1.0 / 298.257223563)
#define DEG2RAD (3.14159265358979323846 / 180.0)

/* The ellipsoid is initialised once; geod_inverse() only reads it, so the
 * struct is safe to share between threads after pthread_once. */
static struct geod_geodesic wgs84;
static pthread_once_t wgs84_once = PTHREAD_ONCE_INIT;

static void wgs84_init(void)
{
    geod_init(&wgs84, WGS84_A, WGS84_F);
}

/* Returns NAN when a coordinate is not a valid lon/lat. */
double hm_geo_distance_m(double lon1, double lat1, double lon2, double lat2)
{
    double s12 = 0.0;

    if (!hm_geo_valid_lonlat(lon1, lat1) || !hm_geo_valid_lonlat(lon2, lat2))
        return NAN;
    pthread_once(&wgs84_once, wgs84_init);
    geod_inverse(&wgs84, lat1, lon1, lat2, lon2, &s12, NULL, NULL);
    return s12;
}

/* Why these bounds hold: on an ellipsoid of revolution ds^2 = M^2 dphi^2 +
 * N^2 cos^2(phi) dlambda^2, so a path of length r changes latitude by at most
 * r / min(M) (min M = a(1 - e^2), at the equator) and longitude by at most
 * r / min(N cos(phi)) over the latitudes it can reach, with N >= a. */
void hm_geo_bbox_around(double lon, double lat, double radius_m, double bbox[4])
{
    const double e2 = WGS84_F * (2.0 - WGS84_F);
    const double m_per_deg_lat = WGS84_A * (1.0 - e2) * DEG2RAD; /* smallest */
    double r = radius_m > 0.0 ? radius_m : 0.0;
    double dlat = r / m_per_deg_lat * 1.0001 + 1e-9;
    double min_lat = lat - dlat, max_lat = lat + dlat;
    double phi_max = fmax(fabs(min_lat), fabs(max_lat));
    double dlon;

    if (min_lat < -90.0)
        min_lat = -90.0;
    if (max_lat > 90.0)
        max_lat = 90.0;
    bbox[1] = min_lat;
    bbox[3] = max_lat;
    if (phi_max >= 89.9) {
        bbox[0] = -180.0;
        bbox[2] = 180.0;
        return;
    }
    dlon = r / (WGS84_A * cos(phi_max * DEG2RAD) * DEG2RAD) * 1.0001 + 1e-9;
    if (lon - dlon < -180.0 || lon + dlon > 180.0) {
        /* Crosses the antimeridian: a box cannot say that, so take all
         * longitudes (generous, never too small). */
        bbox[0] = -180.0;
        bbox[2] = 180.0;
        return;
    }
    bbox[0] = lon - dlon;
    bbox[2] = lon + dlon;
}

int hm_geo_valid_lonlat(double lon, double lat)
{
    return isfinite(lon) && isfinite(lat) && lon >= -180.0 && lon <= 180.0 && lat >= -90.0 &&
           lat <= 90.0;
}
