/* test_locparse.c: geodata/locparse.c — pasted map links and coordinates.
 * A table of accepted texts with the point and form they give, a table of
 * refused texts with the message the user sees, and a round trip: random
 * points inside Vietnam and over the whole globe written in every supported
 * style parse back to within 1e-6 degree. */
#include "hm_test.h"
#include "locparse.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 10°59'36.7"N 106°29'31.6"E, the Google Maps way of writing 10.9935, 106.4921. */
#define DMS_LAT (10 + 59 / 60.0 + 36.7 / 3600)
#define DMS_LON (106 + 29 / 60.0 + 31.6 / 3600)

typedef struct accepted {
    const char *text;
    double lat, lon;
    hm_loc_form form;
} accepted;

static const accepted accept_cases[] = {
    /* plain decimal, latitude first */
    {"10.9935,106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"  10.9935, 106.4921\n", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935 106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935;106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935 ; 106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"\t10.99350000,\t106.49210000\r\n", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"-33.8688, 151.2093", -33.8688, 151.2093, HM_LOC_DECIMAL},
    {"+10.9935,+106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"-0.5, -0.25", -0.5, -0.25, HM_LOC_DECIMAL},
    {"-0, -0", 0.0, 0.0, HM_LOC_DECIMAL},
    {".5, .25", 0.5, 0.25, HM_LOC_DECIMAL},
    {"10, 106", 10.0, 106.0, HM_LOC_DECIMAL},
    {"90, 180", 90.0, 180.0, HM_LOC_DECIMAL},
    {"-90,-180", -90.0, -180.0, HM_LOC_DECIMAL},
    {"(10.9935, 106.4921)", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935 / 106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935, 106.4921.", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935,106.4921,", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935, 106.4921 (nh\xc3\xa0 b\xc3\xa0 Lan)", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"T\xe1\xbb\x8d"
     "a \xc4\x91\xe1\xbb\x99: 10.9935, 106.4921",
     10.9935, 106.4921, HM_LOC_DECIMAL}, /* "Toạ độ:" */
    {"Location: 10.9935 N, 106.4921 E", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935%2C106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935%2C+106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935+106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.12345678901234567890, 106.1", 10.123456789012346, 106.1, HM_LOC_DECIMAL},
    {"0000010.9935, 0106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"\xc2\xa0"
     "10.9935,\xe2\x80\x8b 106.4921\xef\xbb\xbf",
     10.9935, 106.4921, HM_LOC_DECIMAL}, /* no-break and zero-width spaces, BOM */
    {"\xe2\x88\x92"
     "33.8688, 151.2093",
     -33.8688, 151.2093, HM_LOC_DECIMAL}, /* U+2212 minus */
    /* hemisphere letters and labels decide the axes */
    {"10.9935N 106.4921E", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935n,106.4921e", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"N10.9935 E106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"N 10.9935, E 106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"106.4921E 10.9935N", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"E106.4921 N10.9935", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935\xc2\xb0 N, 106.4921\xc2\xb0 E", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"33.8688 S, 70.5 W", -33.8688, -70.5, HM_LOC_DECIMAL},
    {"S33.8688 W70.5", -33.8688, -70.5, HM_LOC_DECIMAL},
    {"33.8688 South 70.5 West", -33.8688, -70.5, HM_LOC_DECIMAL},
    {"+10.9935N +106.4921E", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10.9935\xc2\xb0, 106.4921\xc2\xb0", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"lat 10.9935 lon 106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"Latitude: 10.9935, Longitude: 106.4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"lng=106.4921 lat=10.9935", 10.9935, 106.4921, HM_LOC_DECIMAL},
    /* decimal comma, where it cannot be a separator */
    {"10,9935 106,4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10,9935; 106,4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"10,9935, 106,4921", 10.9935, 106.4921, HM_LOC_DECIMAL},
    {"-33,8688 151,2093", -33.8688, 151.2093, HM_LOC_DECIMAL},
    {"10,9935\xc2\xb0N 106,4921\xc2\xb0"
     "E",
     10.9935, 106.4921, HM_LOC_DECIMAL},
    /* degrees, minutes, seconds */
    {"10\xc2\xb0"
     "59'36.7\"N 106\xc2\xb0"
     "29'31.6\"E",
     DMS_LAT, DMS_LON, HM_LOC_DMS},
    {"10\xc2\xb0"
     "59\xe2\x80\xb2"
     "36.7\xe2\x80\xb3N 106\xc2\xb0"
     "29\xe2\x80\xb2"
     "31.6\xe2\x80\xb3"
     "E",
     DMS_LAT, DMS_LON, HM_LOC_DMS}, /* prime and double prime */
    {"10\xc2\xb0"
     "59\xe2\x80\x99"
     "36.7\xe2\x80\x9dN, 106\xc2\xb0"
     "29\xe2\x80\x99"
     "31.6\xe2\x80\x9d"
     "E",
     DMS_LAT, DMS_LON, HM_LOC_DMS}, /* typographic quotes from a phone keyboard */
    {"10\xc2\xba"
     "59'36.7''N 106\xc2\xba"
     "29'31.6''E",
     DMS_LAT, DMS_LON, HM_LOC_DMS}, /* º and two apostrophes */
    {"10 59 36.7 N, 106 29 31.6 E", DMS_LAT, DMS_LON, HM_LOC_DMS},
    {"10 59 36.7 106 29 31.6", DMS_LAT, DMS_LON, HM_LOC_DMS},
    {"N 10\xc2\xb0 59' 36.7\" E 106\xc2\xb0 29' 31.6\"", DMS_LAT, DMS_LON, HM_LOC_DMS},
    {"106\xc2\xb0"
     "29'31.6\"E 10\xc2\xb0"
     "59'36.7\"N",
     DMS_LAT, DMS_LON, HM_LOC_DMS},
    {"10\xc2\xb0"
     "59'36.7\" 106\xc2\xb0"
     "29'31.6\"",
     DMS_LAT, DMS_LON, HM_LOC_DMS},
    {"10\xc2\xb0"
     "59'36,7\"N 106\xc2\xb0"
     "29'31,6\"E",
     DMS_LAT, DMS_LON, HM_LOC_DMS}, /* decimal comma before a mark */
    {"10\xc2\xb0"
     "59.612'N 106\xc2\xb0"
     "29.527'E",
     10 + 59.612 / 60, 106 + 29.527 / 60, HM_LOC_DMS},
    {"10 59.612, 106 29.527", 10 + 59.612 / 60, 106 + 29.527 / 60, HM_LOC_DMS},
    {"33\xc2\xb0"
     "52'7.68\"S 151\xc2\xb0"
     "12'33.48\"E",
     -(33 + 52 / 60.0 + 7.68 / 3600), 151 + 12 / 60.0 + 33.48 / 3600, HM_LOC_DMS},
    {"-33 52 7.68, 151 12 33.48", -(33 + 52 / 60.0 + 7.68 / 3600), 151 + 12 / 60.0 + 33.48 / 3600,
     HM_LOC_DMS},
    {"0\xc2\xb0"
     "30'S 0\xc2\xb0"
     "15'W",
     -0.5, -0.25, HM_LOC_DMS},
    /* Google Maps */
    {"https://www.google.com/maps?q=10.9935,106.4921", 10.9935, 106.4921, HM_LOC_GOOGLE},
    {"http://google.com/maps?q=10.9935,106.4921", 10.9935, 106.4921, HM_LOC_GOOGLE},
    {"www.google.com.vn/maps?q=10.9935%2C106.4921", 10.9935, 106.4921, HM_LOC_GOOGLE},
    {"HTTPS://WWW.GOOGLE.COM/maps?q=10.9935,106.4921", 10.9935, 106.4921, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/search/?api=1&query=10.99,106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/search/?api=1&query=10.99%2C106.49&query_place_id=X", 10.99,
     106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/@10.9935,106.4921,15z", 10.9935, 106.4921, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/@10.9935,106.4921,3a,75y,90t/data=!3m6!1e1", 10.9935, 106.4921,
     HM_LOC_GOOGLE},
    {"https://www.google.com/maps/place/Ch%E1%BB%A3+C%E1%BB%A7+Chi/@10.9800,106.4800,17z/"
     "data=!3m1!4b1!4m6!3m5!1s0x310b:0x1!8m2!3d10.9935!4d106.4921!16s%2Fg%2F11",
     10.9935, 106.4921, HM_LOC_GOOGLE}, /* the place, not the view centre */
    {"https://www.google.com/maps/place/Some+Name/@10.99,106.49,17z", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/place/10%C2%B059'36.7%22N+106%C2%B029'31.6%22E/"
     "@10.9935,106.4899,17z",
     DMS_LAT, DMS_LON, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/search/10.99,+106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/search/10.99,+106.49?entry=ttu", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/dir//10.99,106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/dir/10.80,106.70/10.99,106.49/@10.9,106.6,12z", 10.99, 106.49,
     HM_LOC_GOOGLE},
    {"https://www.google.com/maps/dir/?api=1&destination=10.99%2C106.49", 10.99, 106.49,
     HM_LOC_GOOGLE},
    {"https://www.google.com/maps/dir/Home/Cho/@10.9,106.6,12z/"
     "data=!4m10!4m9!1m2!2m2!1d106.70!2d10.80!1m5!1m1!1s0x0:0x1!2m2!1d106.4921!2d10.9935",
     10.9935, 106.4921, HM_LOC_GOOGLE}, /* the destination's !1d<lon>!2d<lat> */
    {"https://maps.google.com/?ll=10.99,106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"maps.google.com/?ll=10.99,106.49&z=15", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://maps.google.com/maps?q=loc:10.99,106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps?q=loc:10.99+106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://maps.google.com/?q=10.99,106.49(Nh%C3%A0+t%C3%B4i)", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://maps.google.com/?q=Nha+toi@10.99,106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.co.uk/maps?q=51.5,-0.12", 51.5, -0.12, HM_LOC_GOOGLE},
    {"https://www.google.com/maps?q=Some+Place&ll=10.99,106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/search/pharmacy/@10.99,106.49,15z", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps?api=1&amp;query=10.99,106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps/@?api=1&map_action=map&center=10.99%2C106.49&zoom=12", 10.99,
     106.49, HM_LOC_GOOGLE},
    {"https%3A%2F%2Fwww.google.com%2Fmaps%3Fq%3D10.99%252C106.49", 10.99, 106.49,
     HM_LOC_GOOGLE}, /* copied out of another link */
    {"https://www.google.com/maps?q=10.99%25252C106.49", 10.99, 106.49, HM_LOC_GOOGLE},
    {"https://www.google.com/maps?q=10.99,106.49.", 10.99, 106.49, HM_LOC_GOOGLE},
    {"Nh\xc3\xa0 t\xc3\xb4i \xe1\xbb\x9f \xc4\x91\xc3\xa2y: https://www.google.com/maps?q=10.99,"
     "106.49 xin c\xe1\xbb\xa9u",
     10.99, 106.49, HM_LOC_GOOGLE}, /* a link inside a message */
    /* OpenStreetMap */
    {"https://www.openstreetmap.org/#map=17/10.99350/106.49210", 10.9935, 106.4921, HM_LOC_OSM},
    {"https://www.openstreetmap.org/#map=17/10.99350/106.49210&layers=H", 10.9935, 106.4921,
     HM_LOC_OSM},
    {"https://www.openstreetmap.org/?mlat=10.99&mlon=106.49#map=12/10.5/106.0", 10.99, 106.49,
     HM_LOC_OSM},
    {"openstreetmap.org/?mlat=10.99&mlon=106.49", 10.99, 106.49, HM_LOC_OSM},
    {"https://osm.org/#map=17/10.99/106.49", 10.99, 106.49, HM_LOC_OSM},
    {"https://www.openstreetmap.org/search?query=10.99%2C106.49#map=5/0/0", 10.99, 106.49,
     HM_LOC_OSM},
    {"https://www.openstreetmap.org/directions?engine=fossgis_osrm_car&route=10.80%2C106.70%3B10."
     "99%2C106.49#map=12/10.9/106.6",
     10.99, 106.49, HM_LOC_OSM},
    {"https://www.openstreetmap.org/?lat=10.99&lon=106.49&zoom=17", 10.99, 106.49, HM_LOC_OSM},
    /* Apple Maps */
    {"https://maps.apple.com/?ll=10.99,106.49", 10.99, 106.49, HM_LOC_APPLE},
    {"https://maps.apple.com/?q=Dropped%20Pin&sll=10.99,106.49", 10.99, 106.49, HM_LOC_APPLE},
    {"https://maps.apple.com/?q=Pin&ll=10.99,106.49&sll=1,2", 10.99, 106.49, HM_LOC_APPLE},
    {"https://maps.apple.com/?q=10.99,106.49", 10.99, 106.49, HM_LOC_APPLE},
    {"https://maps.apple.com/place?coordinate=10.99,106.49&name=X", 10.99, 106.49, HM_LOC_APPLE},
    {"https://maps.apple.com/search?query=Cafe&center=10.99,106.49", 10.99, 106.49, HM_LOC_APPLE},
    {"https://maps.apple.com/directions?destination=10.99%2C106.49&mode=walking", 10.99, 106.49,
     HM_LOC_APPLE},
    {"Dropped Pin\nhttps://maps.apple.com/?ll=10.99,106.49&q=Dropped%20Pin", 10.99, 106.49,
     HM_LOC_APPLE},
    /* geo: URIs */
    {"geo:10.99,106.49", 10.99, 106.49, HM_LOC_GEO_URI},
    {"geo:10.99,106.49?z=17", 10.99, 106.49, HM_LOC_GEO_URI},
    {"geo:0,0?q=10.99,106.49(label)", 10.99, 106.49, HM_LOC_GEO_URI},
    {"geo:0,0?q=10.99,106.49%20(Nh%C3%A0)", 10.99, 106.49, HM_LOC_GEO_URI},
    {"geo:10.99,106.49;u=35", 10.99, 106.49, HM_LOC_GEO_URI},
    {"GEO:10.99,106.49,12", 10.99, 106.49, HM_LOC_GEO_URI},
    {"geo:10.99,106.49;crs=wgs84;u=10", 10.99, 106.49, HM_LOC_GEO_URI},
    {"geo:10.99,106.49?q=10.98,106.48(x)", 10.98, 106.48, HM_LOC_GEO_URI},
    {"geo:-33.8688,151.2093", -33.8688, 151.2093, HM_LOC_GEO_URI},
    {"geo:10.99,106.49.", 10.99, 106.49, HM_LOC_GEO_URI},
    {"geo:10.99%2C106.49", 10.99, 106.49, HM_LOC_GEO_URI},
};

typedef struct refused {
    const char *text;
    const char *msg; /* a part of the message the user must see */
} refused;

#define SHORT "this is a short link; open it and copy the long link"

static const refused refuse_cases[] = {
    {"", "paste a map link or coordinates"},
    {"  \n\t ", "paste a map link or coordinates"},
    {"https://goo.gl/maps/abc123", SHORT},
    {"https://maps.app.goo.gl/xyzXYZ", SHORT},
    {"maps.app.goo.gl/xyzXYZ", SHORT},
    {"https://g.co/kgs/abc", SHORT},
    {"https://share.google/abc", SHORT},
    {"https://osm.org/go/0EEQjE--", SHORT},
    {"https://www.openstreetmap.org/go/0EEQjE--?m=", SHORT},
    {"https://maps.apple/p/abc.def", SHORT},
    {"https://bit.ly/3abc", SHORT},
    {"Nh\xc3\xa0 t\xc3\xb4i https://maps.app.goo.gl/abc", SHORT},
    {"91, 106", "latitude must be between -90 and 90"},
    {"-90.0000001, 106", "latitude must be between -90 and 90"},
    {"10, 181", "longitude must be between -180 and 180"},
    {"10N 180.5E", "longitude must be between -180 and 180"},
    {"106.49, 10.99", "send latitude first"},
    {"99999999999999999999999, 5", "send latitude first"},
    {"NaN, NaN", "no coordinates found"},
    {"nan nan", "no coordinates found"},
    {"inf, -inf", "no coordinates found"},
    {"1e5, 1e5", "no coordinates found"},
    {"hello", "no coordinates found"},
    {"nh\xc3\xa0 s\xe1\xbb\x91 12 h\xe1\xba\xbbm 34", "no coordinates found"},
    {"12 34 56", "no coordinates found"},
    {"10.99", "no coordinates found"},
    {"10-20", "no coordinates found"},
    {"10.99, 106.49 and more", "no coordinates found"},
    {"[106.49, 10.99]", "no coordinates found"}, /* GeoJSON order: not guessed */
    {"Km 12: 10.99, 106.49", "no coordinates found"},
    {"10.99: 106.49", "no coordinates found"},
    {"\xff\xfe"
     "10.99,106.49",
     "no coordinates found"},
    {"10\xc2\xb0"
     "60'0\"N 106\xc2\xb0"
     "0'0\"E",
     "minutes and seconds below 60"},
    {"10\xc2\xb0"
     "59'60\"N 106\xc2\xb0"
     "0'0\"E",
     "minutes and seconds below 60"},
    {"10.5\xc2\xb0"
     "30'N 106\xc2\xb0"
     "1'E",
     "decimals only on the last number"},
    {"10 -59 36, 106 29 31", "minutes and seconds below 60"},
    {"10\xc2\xb0"
     "59\"N 106\xc2\xb0"
     "29\"E",
     "minutes and seconds below 60"}, /* seconds without minutes */
    {"10N 20N", "one latitude (N or S) and one longitude (E or W)"},
    {"lat 10 lat 20", "one latitude (N or S) and one longitude (E or W)"},
    {"10.99N, 106.49", "one latitude (N or S) and one longitude (E or W)"},
    {"lat 10.99 E, lon 106.49 N", "one latitude (N or S) and one longitude (E or W)"},
    {"-10.99S 106.49E", "minus sign or a hemisphere letter"},
    {"10,99,106,49", "cannot tell the two numbers apart"},
    {"10,99 106", "cannot tell the two numbers apart"},
    {"10.99, 106.49, 15", "cannot tell the two numbers apart"},
    {"https://example.com/?q=10.99,106.49", "links from this site are not understood"},
    {"https://www.google.com/search?q=10.99,106.49", "links from this site are not understood"},
    {"https://www.google.evil.example/maps?q=10.99,106.49",
     "links from this site are not understood"},
    {"https://maps.google.com.evil.io/?q=10.99,106.49", "links from this site are not understood"},
    {"https://www.google.com/maps/place/Ch%E1%BB%A3+C%E1%BB%A7+Chi", "holds no coordinates"},
    {"https://www.google.com/maps?q=Ch%E1%BB%A3+C%E1%BB%A7+Chi", "holds no coordinates"},
    {"https://www.google.com/maps/dir/Home/Work/@10.9,106.6,12z", "holds no coordinates"},
    {"https://www.openstreetmap.org/node/123", "holds no coordinates"},
    {"https://maps.apple.com/?auid=123&q=Shop", "holds no coordinates"},
    {"https://www.openstreetmap.org/?mlat=100&mlon=106", "latitude must be between -90 and 90"},
    {"https://www.google.com/maps/@95,106,15z", "latitude must be between -90 and 90"},
    {"https://www.google.com/maps/place/X/data=!8m2!3d10.9!4d200", "longitude must be"},
    {"https://www.google.com/maps?q=200,10.9", "send latitude first"},
    {"geo:0,0?q=1600+Amphitheatre+Parkway", "holds no coordinates"},
    {"geo:0,0", "holds no coordinates"},
    {"geo:", "holds no coordinates"},
    {"geo:abc", "holds no coordinates"},
    {"geo:10.99,106.49;crs=EPSG:32648", "only geo: links in WGS84"},
    {"geo:91,0", "latitude must be between -90 and 90"},
    {"geo:0,0?q=91,100", "latitude must be between -90 and 90"},
    {"geo:0,0?q=91,0", "send latitude first"},
};

/* Parse `text` from an exact-size heap copy, so that ASan sees any read past
 * `len`. */
static int parse_exact(const char *text, size_t len, double *lon, double *lat, hm_loc_form *form,
                       hm_error *err)
{
    char *copy = malloc(len ? len : 1);
    int rc;
    if (len)
        memcpy(copy, text, len);
    rc = hm_loc_parse(copy, len, lon, lat, form, err);
    free(copy);
    return rc;
}

static void test_accepted(void)
{
    for (size_t i = 0; i < sizeof accept_cases / sizeof accept_cases[0]; i++) {
        const accepted *c = &accept_cases[i];
        double lon = -999, lat = -999;
        hm_loc_form form = HM_LOC__COUNT;
        hm_error err = {0};
        int rc = parse_exact(c->text, strlen(c->text), &lon, &lat, &form, &err);

        if (rc != HM_OK || fabs(lat - c->lat) > 1e-7 || fabs(lon - c->lon) > 1e-7 ||
            form != c->form)
            fprintf(stderr, "  case %zu [%s]: rc %d (%s) lat %.9f lon %.9f form %s\n", i, c->text,
                    rc, err.msg, lat, lon, hm_loc_form_name(form));
        CHECK_INT_EQ(rc, HM_OK);
        CHECK(fabs(lat - c->lat) <= 1e-7);
        CHECK(fabs(lon - c->lon) <= 1e-7);
        CHECK_STR_EQ(hm_loc_form_name(form), hm_loc_form_name(c->form));
        CHECK(!signbit(lat) || lat != 0.0); /* never -0 */
    }
}

static void test_refused(void)
{
    for (size_t i = 0; i < sizeof refuse_cases / sizeof refuse_cases[0]; i++) {
        const refused *c = &refuse_cases[i];
        size_t len = strlen(c->text);
        double lon = -999, lat = -999;
        hm_loc_form form = HM_LOC__COUNT;
        hm_error err = {0};
        int rc = parse_exact(c->text, len, &lon, &lat, &form, &err);

        if (rc != HM_E_INVALID_FIELD || !strstr(err.msg, c->msg))
            fprintf(stderr, "  case %zu [%s]: rc %d msg \"%s\" lat %.9f lon %.9f\n", i, c->text, rc,
                    err.msg, lat, lon);
        CHECK_INT_EQ(rc, HM_E_INVALID_FIELD);
        CHECK_INT_EQ(err.code, HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, "location_text");
        CHECK(strstr(err.msg, c->msg) != NULL);
        CHECK(strlen(err.msg) < 159); /* hm_error.msg never truncates a sentence */
        /* out-parameters untouched */
        CHECK(lon == -999 && lat == -999 && form == HM_LOC__COUNT);
    }
}

/* More than 2 KiB is refused even when it starts with good coordinates; 2 KiB
 * of blanks around coordinates is fine. */
static void test_length_limit(void)
{
    char *big = malloc(HM_LOC_MAX_TEXT + 1);
    double lon, lat;
    hm_error err = {0};
    const char *pt = "10.9935, 106.4921";

    memset(big, ' ', HM_LOC_MAX_TEXT + 1);
    memcpy(big + 100, pt, strlen(pt));
    CHECK_INT_EQ(parse_exact(big, HM_LOC_MAX_TEXT, &lon, &lat, NULL, &err), HM_OK);
    CHECK(fabs(lat - 10.9935) < 1e-9 && fabs(lon - 106.4921) < 1e-9);
    CHECK_INT_EQ(parse_exact(big, HM_LOC_MAX_TEXT + 1, &lon, &lat, NULL, &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "location_text");
    CHECK(strstr(err.msg, "longer than 2048 bytes") != NULL);
    free(big);

    /* NULL text reads as empty; err may be NULL. */
    CHECK_INT_EQ(hm_loc_parse(NULL, 5, &lon, &lat, NULL, NULL), HM_E_INVALID_FIELD);
}

/* Only `len` bytes count: what follows them in memory changes nothing. */
static void test_len_bounds(void)
{
    static const struct {
        const char *buf;
        size_t len;
        double lat, lon;
    } cases[] = {
        {"10.99, 106.4921999", 14, 10.99, 106.492},
        {"geo:10.99,106.49?q=1,2", 16, 10.99, 106.49},
        {"https://maps.google.com/?ll=10.99,106.49,junk", 40, 10.99, 106.49},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double lon = 0, lat = 0;
        CHECK_INT_EQ(parse_exact(cases[i].buf, cases[i].len, &lon, &lat, NULL, NULL), HM_OK);
        CHECK(fabs(lat - cases[i].lat) < 1e-9 && fabs(lon - cases[i].lon) < 1e-9);
    }
    /* An embedded NUL is a byte like any other, not the end of the text. */
    {
        double lon = -999, lat = -999;
        hm_error err = {0};
        CHECK_INT_EQ(parse_exact("10.99\0, 106.49", 14, &lon, &lat, NULL, &err),
                     HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, "location_text");
        CHECK(lon == -999 && lat == -999);
        CHECK_INT_EQ(parse_exact("geo:10.99,106.49\0", 17, &lon, &lat, NULL, &err),
                     HM_E_INVALID_FIELD);
    }
}

static void test_form_names(void)
{
    CHECK_STR_EQ(hm_loc_form_name(HM_LOC_DECIMAL), "decimal");
    CHECK_STR_EQ(hm_loc_form_name(HM_LOC_DMS), "dms");
    CHECK_STR_EQ(hm_loc_form_name(HM_LOC_GEO_URI), "geo");
    CHECK_STR_EQ(hm_loc_form_name(HM_LOC_GOOGLE), "google");
    CHECK_STR_EQ(hm_loc_form_name(HM_LOC_OSM), "osm");
    CHECK_STR_EQ(hm_loc_form_name(HM_LOC_APPLE), "apple");
    CHECK_STR_EQ(hm_loc_form_name(HM_LOC__COUNT), "unknown");
    CHECK_STR_EQ(hm_loc_form_name((hm_loc_form)-1), "unknown");
}

/* ---- round trip ------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_uniform(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next() >> 11) / 9007199254740992.0);
}

/* |v| as degrees, minutes and seconds to 1e-4 second ("10°59'36.7000\"" with
 * `deg`, `min`, `sec` as the marks), carrying 60 seconds into the minutes. */
static void fmt_dms(char *out, size_t cap, double v, const char *deg, const char *min,
                    const char *sec)
{
    long long u = llround(fabs(v) * 3600.0 * 1e4);
    snprintf(out, cap, "%lld%s%lld%s%lld.%04lld%s", u / 36000000, deg, u / 600000 % 60, min,
             u / 10000 % 60, u % 10000, sec);
}

/* |v| as degrees and decimal minutes to 1e-7 minute ("10°59.6120000'"). */
static void fmt_ddm(char *out, size_t cap, double v)
{
    long long u = llround(fabs(v) * 60.0 * 1e7);
    snprintf(out, cap, "%lld\xc2\xb0%lld.%07lld'", u / 600000000, u / 10000000 % 60, u % 10000000);
}

/* Percent-encode everything but unreserved characters; a space becomes '+'. */
static void url_encode(char *out, size_t cap, const char *s)
{
    size_t k = 0;
    for (; *s && k + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            strchr("-._~", c))
            out[k++] = (char)c;
        else if (c == ' ')
            out[k++] = '+';
        else
            k += (size_t)snprintf(out + k, cap - k, "%%%02X", c);
    }
    out[k] = '\0';
}

#define N_STYLES 34

/* Write (lat, lon) in style `k` into out; returns the form it must parse as. */
static hm_loc_form format_style(int k, double lat, double lon, char *out, size_t cap)
{
    char a[96], b[96], dms[256], enc[768];
    char ns = lat < 0 ? 'S' : 'N', ew = lon < 0 ? 'W' : 'E';

    switch (k) {
        case 0:
            snprintf(out, cap, "%.7f,%.7f", lat, lon);
            return HM_LOC_DECIMAL;
        case 1:
            snprintf(out, cap, "%.8f, %.8f", lat, lon);
            return HM_LOC_DECIMAL;
        case 2:
            snprintf(out, cap, " %.7f %.7f ", lat, lon);
            return HM_LOC_DECIMAL;
        case 3:
            snprintf(out, cap, "%.7f;%.7f", lat, lon);
            return HM_LOC_DECIMAL;
        case 4:
            snprintf(out, cap, "%.7f%c %.7f%c", fabs(lat), ns, fabs(lon), ew);
            return HM_LOC_DECIMAL;
        case 5:
            snprintf(out, cap, "%c%.7f %c%.7f", ns, fabs(lat), ew, fabs(lon));
            return HM_LOC_DECIMAL;
        case 6:
            snprintf(out, cap, "%.7f\xc2\xb0 %c, %.7f\xc2\xb0 %c", fabs(lat), ns, fabs(lon), ew);
            return HM_LOC_DECIMAL;
        case 7: /* letters decide: longitude first */
            snprintf(out, cap, "%.7f %c %.7f %c", fabs(lon), ew, fabs(lat), ns);
            return HM_LOC_DECIMAL;
        case 8: /* decimal comma */
            snprintf(out, cap, "%.7f %.7f", lat, lon);
            for (char *p = out; *p; p++)
                if (*p == '.')
                    *p = ',';
            return HM_LOC_DECIMAL;
        case 9:
            fmt_dms(a, sizeof a, lat, "\xc2\xb0", "'", "\"");
            fmt_dms(b, sizeof b, lon, "\xc2\xb0", "'", "\"");
            snprintf(out, cap, "%s%c %s%c", a, ns, b, ew);
            return HM_LOC_DMS;
        case 10:
            fmt_dms(a, sizeof a, lat, "\xc2\xb0", "\xe2\x80\xb2", "\xe2\x80\xb3");
            fmt_dms(b, sizeof b, lon, "\xc2\xb0", "\xe2\x80\xb2", "\xe2\x80\xb3");
            snprintf(out, cap, "%c %s, %c %s", ns, a, ew, b);
            return HM_LOC_DMS;
        case 11:
            fmt_dms(a, sizeof a, lat, " ", " ", "");
            fmt_dms(b, sizeof b, lon, " ", " ", "");
            snprintf(out, cap, "%s %c, %s %c", a, ns, b, ew);
            return HM_LOC_DMS;
        case 12: /* signed DMS, spaces only, no letters */
            fmt_dms(a, sizeof a, lat, " ", " ", "");
            fmt_dms(b, sizeof b, lon, " ", " ", "");
            snprintf(out, cap, "%s%s %s%s", lat < 0 ? "-" : "", a, lon < 0 ? "-" : "", b);
            return HM_LOC_DMS;
        case 13:
            fmt_ddm(a, sizeof a, lat);
            fmt_ddm(b, sizeof b, lon);
            snprintf(out, cap, "%s%c %s%c", a, ns, b, ew);
            return HM_LOC_DMS;
        case 14:
            snprintf(out, cap, "geo:%.7f,%.7f", lat, lon);
            return HM_LOC_GEO_URI;
        case 15:
            snprintf(out, cap, "geo:%.7f,%.7f?z=17", lat, lon);
            return HM_LOC_GEO_URI;
        case 16:
            snprintf(out, cap, "geo:0,0?q=%.7f,%.7f(Nh%%C3%%A0)", lat, lon);
            return HM_LOC_GEO_URI;
        case 17:
            snprintf(out, cap, "geo:%.7f,%.7f;u=35", lat, lon);
            return HM_LOC_GEO_URI;
        case 18:
            snprintf(out, cap, "https://www.google.com/maps?q=%.7f,%.7f", lat, lon);
            return HM_LOC_GOOGLE;
        case 19:
            snprintf(out, cap, "https://www.google.com/maps/search/?api=1&query=%.7f%%2C%.7f", lat,
                     lon);
            return HM_LOC_GOOGLE;
        case 20:
            snprintf(out, cap, "https://www.google.com.vn/maps/@%.7f,%.7f,15z", lat, lon);
            return HM_LOC_GOOGLE;
        case 21: /* the view centre is elsewhere; the place wins */
            snprintf(out, cap,
                     "https://www.google.com/maps/place/Some+Name/@%.7f,%.7f,17z/"
                     "data=!3m1!4b1!4m5!3m4!1s0x0:0x0!8m2!3d%.7f!4d%.7f",
                     lat / 2, lon / 2, lat, lon);
            return HM_LOC_GOOGLE;
        case 22:
            snprintf(out, cap, "https://www.google.com/maps/search/%.7f,+%.7f", lat, lon);
            return HM_LOC_GOOGLE;
        case 23:
            snprintf(out, cap, "https://www.google.com/maps/dir//%.7f,%.7f", lat, lon);
            return HM_LOC_GOOGLE;
        case 24:
            snprintf(out, cap, "http://maps.google.com/?ll=%.7f,%.7f", lat, lon);
            return HM_LOC_GOOGLE;
        case 25:
            snprintf(out, cap, "https://maps.google.com/maps?q=loc:%.7f,%.7f", lat, lon);
            return HM_LOC_GOOGLE;
        case 26: /* Google's own DMS place name, URL-encoded */
            fmt_dms(a, sizeof a, lat, "\xc2\xb0", "'", "\"");
            fmt_dms(b, sizeof b, lon, "\xc2\xb0", "'", "\"");
            snprintf(dms, sizeof dms, "%s%c %s%c", a, ns, b, ew);
            url_encode(enc, sizeof enc, dms);
            snprintf(out, cap, "https://www.google.com/maps/place/%s/@%.7f,%.7f,17z", enc, lat / 3,
                     lon / 3);
            return HM_LOC_GOOGLE;
        case 27:
            snprintf(out, cap, "https://www.openstreetmap.org/#map=17/%.7f/%.7f", lat, lon);
            return HM_LOC_OSM;
        case 28: /* the marker wins over the map view */
            snprintf(out, cap,
                     "https://www.openstreetmap.org/?mlat=%.7f&mlon=%.7f#map=12/%.5f/%.5f", lat,
                     lon, lat / 2, lon / 2);
            return HM_LOC_OSM;
        case 29:
            snprintf(out, cap, "https://maps.apple.com/?ll=%.7f,%.7f", lat, lon);
            return HM_LOC_APPLE;
        case 30:
            snprintf(out, cap, "https://maps.apple.com/?q=Dropped%%20Pin&sll=%.7f,%.7f", lat, lon);
            return HM_LOC_APPLE;
        case 31:
            snprintf(out, cap, "https://maps.apple.com/?q=Pin&ll=%.7f,%.7f&sll=%.7f,%.7f", lat, lon,
                     lat / 2, lon / 2);
            return HM_LOC_APPLE;
        case 32: /* the whole text URL-encoded once more */
            snprintf(dms, sizeof dms, "https://www.google.com/maps?q=%.7f,%.7f", lat, lon);
            url_encode(out, cap, dms);
            return HM_LOC_GOOGLE;
        case 33:
            snprintf(out, cap, "N\xc6\xa1i t\xc3\xb4i \xe1\xbb\x9f: geo:%.7f,%.7f", lat, lon);
            return HM_LOC_GEO_URI;
        default:
            out[0] = '\0';
            return HM_LOC__COUNT;
    }
}

static void round_trip(const char *what, double lat0, double lat1, double lon0, double lon1,
                       int points)
{
    int bad = 0;
    for (int i = 0; i < points; i++) {
        double lat = rng_uniform(lat0, lat1), lon = rng_uniform(lon0, lon1);
        for (int k = 0; k < N_STYLES; k++) {
            char text[1024];
            double plon = 0, plat = 0;
            hm_loc_form pform = HM_LOC__COUNT;
            hm_error err = {0};
            hm_loc_form want = format_style(k, lat, lon, text, sizeof text);
            int rc = parse_exact(text, strlen(text), &plon, &plat, &pform, &err);
            bool ok = rc == HM_OK && fabs(plat - lat) <= 1e-6 && fabs(plon - lon) <= 1e-6 &&
                      pform == want;
            CHECK(ok);
            if (!ok && bad++ < 10)
                fprintf(stderr, "  %s style %d [%s]: rc %d (%s) got %.9f %.9f want %.9f %.9f %s\n",
                        what, k, text, rc, err.msg, plat, plon, lat, lon, hm_loc_form_name(pform));
        }
    }
}

static void test_round_trip(void)
{
    rng_state = 20241110; /* deterministic */
    round_trip("vietnam", 8.18, 23.39, 102.14, 109.46, 1500);
    round_trip("globe", -90.0, 90.0, -180.0, 180.0, 1500);
    /* the edges of the ranges and the hemispheres' borders */
    {
        static const double edge[][2] = {{90, 180},
                                         {-90, -180},
                                         {0.0000001, 0.0000001},
                                         {-0.00001, 0.00001},
                                         {89.9999999, -179.9999999}};
        for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
            round_trip("edge", edge[i][0], edge[i][0], edge[i][1], edge[i][1], 1);
    }
}

/* ---- defects found by fuzz_locparse (inputs in tests/fuzz/corpus/fuzz_locparse) ---- */

/* Same answer for `text` and for " " + text + "\n": what the fuzz target checks. */
static void check_padding_neutral(const char *text, size_t len)
{
    char *padded = malloc(len + 2);
    double lon1 = -999, lat1 = -999, lon2 = -999, lat2 = -999;
    hm_error e1 = {0}, e2 = {0};
    int rc1, rc2;

    padded[0] = ' ';
    memcpy(padded + 1, text, len);
    padded[len + 1] = '\n';
    rc1 = parse_exact(text, len, &lon1, &lat1, NULL, &e1);
    rc2 = parse_exact(padded, len + 2, &lon2, &lat2, NULL, &e2);
    CHECK_INT_EQ(rc1, rc2);
    CHECK_STR_EQ(e1.msg, e2.msg);
    CHECK(lon1 == lon2 && lat1 == lat2);
    free(padded);
}

/* regress-ws-lead-byte: E2 80 followed by any byte was taken for a 3-byte
 * Unicode space, so "\xe2\x80'\xe2\x80" with blanks around it trimmed to
 * nothing ("paste a map link") while alone it was "no coordinates found". */
static void test_regress_ws_lead_byte(void)
{
    double lon = -999, lat = -999;
    check_padding_neutral("\xe2\x80'\xe2\x80", 5);
    CHECK_INT_EQ(parse_exact("\xe2\x80"
                             "10.99, 106.49",
                             15, &lon, &lat, NULL, NULL),
                 HM_E_INVALID_FIELD);
    CHECK_INT_EQ(parse_exact("10.99, 106.49\xe2\x80\x0a", 16, &lon, &lat, NULL, NULL),
                 HM_E_INVALID_FIELD);
}

int main(void)
{
    test_accepted();
    test_refused();
    test_length_limit();
    test_len_bounds();
    test_form_names();
    test_round_trip();
    test_regress_ws_lead_byte();
    return hm_test_done("test_locparse");
}
