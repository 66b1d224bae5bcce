/* geo.h: distances and small geometric helpers on the WGS84 ellipsoid.
 * Owns geodesic computations (PROJ's geodesic routines, geodesic.h); not
 * areas, not storage. All functions are thread-safe and allocation-free. */
#ifndef HM_GEO_H
#define HM_GEO_H

/* Geodesic distance in metres between two lon/lat points on WGS84, within
 * 1 mm of GeographicLib. NAN when a point fails hm_geo_valid_lonlat(). */
double hm_geo_distance_m(double lon1, double lat1, double lon2, double lat2);

/* A lon/lat box that contains every point within `radius_m` of (lon, lat):
 * bbox = {minLon, minLat, maxLon, maxLat}, slightly generous, never too small.
 * Latitudes are clamped to [-90, 90]; a box that would cross the antimeridian
 * or reach a pole spans all longitudes [-180, 180]. */
void hm_geo_bbox_around(double lon, double lat, double radius_m, double bbox[4]);

/* True when lon/lat are finite and within [-180,180] x [-90,90]. */
int hm_geo_valid_lonlat(double lon, double lat);

#endif
