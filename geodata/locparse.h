/* locparse.h: "paste a location" (SPEC, second release, "What Vietnam's
 * 2024-2025 flood maps taught"). Turns the `location_text` a resident or a
 * hotline operator pastes — a map link or coordinates — into lon/lat, or
 * refuses it with a message that says what to do. Owns the grammar of the
 * accepted forms below; not HTTP (the edge serves GET /api/v1/geo/parse and
 * maps the error to 400), not areas (the caller checks the point against the
 * service area and answers 422), and never the network: a link that needs a
 * lookup to resolve is refused. Pure C, no allocation, no global state, no
 * locale: every function is thread-safe.
 *
 * Accepted (surrounding whitespace ignored; http or https; with or without
 * "www."; any country domain such as google.com.vn; %XX escapes and '+' for
 * space in links, %XX also in plain text; a link inside other words is found
 * when the text itself is not coordinates):
 *
 *   Google Maps (HM_LOC_GOOGLE), host google.<tld> with a /maps path, or
 *   maps.google.<tld>. In order of preference:
 *     .../maps/place/Name/@10.99,106.49,17z/data=...!3d<lat>!4d<lon>
 *                          the place itself ("!3d!4d" of the data part);
 *     .../maps/place/<coordinates>/..., .../maps/search/10.99,+106.49
 *                          coordinates as the place or search text, in any
 *                          plain form below (Google writes DMS there);
 *     ?q=10.99,106.49, ?q=loc:10.99,106.49, ?q=Name@10.99,106.49,
 *     ?api=1&query=, &daddr=, &destination=, ?ll=, &center=, &viewpoint=,
 *     &sll=               the first of these that holds coordinates;
 *     .../maps/@10.9935,106.4921,15z   the view centre, last resort.
 *   Directions (.../maps/dir/A/B): the destination only — the last waypoint
 *   given as coordinates (.../maps/dir//10.99,106.49), else &destination= or
 *   &daddr=, else the last "!1d<lon>!2d<lat>" of the data part; never the
 *   view centre, which lies somewhere along the route.
 *
 *   OpenStreetMap (HM_LOC_OSM), openstreetmap.org or osm.org: ?mlat=&mlon=
 *   (the marker), then the last point of &route=a;b (directions), then
 *   ?query=<coordinates>, then ?lat=&lon=, then #map=zoom/lat/lon.
 *
 *   Apple Maps (HM_LOC_APPLE), maps.apple.com: &coordinate=, &ll=,
 *   ?q=<coordinates>, &query=<coordinates>, &daddr=, &destination=, &sll=,
 *   &center=, the first of these that holds coordinates.
 *
 *   geo: URIs (HM_LOC_GEO_URI, RFC 5870 and Android): geo:10.99,106.49,
 *   geo:10.99,106.49,12 (altitude ignored), geo:10.99,106.49?z=17,
 *   geo:10.99,106.49;u=35 (uncertainty ignored), geo:0,0?q=10.99,106.49(label)
 *   (a q holding coordinates wins over the path). geo:0,0 without such a q
 *   is Android's "no position" and is refused; ;crs= other than wgs84 too.
 *
 *   Plain coordinates, latitude first: "10.9935, 106.4921", "10.9935
 *   106.4921", "10.9935;106.4921", "10.9935 / 106.4921", optional sign on
 *   each number (HM_LOC_DECIMAL). A final '.', ',' or ';', a trailing
 *   "(label)" and a leading label without digits before a ':' ("Toạ độ:
 *   10.99, 106.49") are ignored.
 *   With hemisphere letters on both numbers, the letters decide the axes in
 *   either order: "10.99N 106.49E", "N10.99 E106.49", "106.49 E, 10.99 N",
 *   "10.9935° N, 106.4921° E". Labels work the same way: "lat 10.99 lon
 *   106.49", "Latitude: 10.99, Longitude: 106.49". Degrees, minutes and
 *   seconds or degrees and decimal minutes (HM_LOC_DMS), with ° ' " or ′ ″
 *   (also º ˚ ’ ” and '' for seconds) or spaces only: 10°59'36.7"N
 *   106°29'31.6"E, "10 59 36.7 N, 106 29 31.6 E", 10°59.612'N 106°29.527'E.
 *   Minutes and seconds are below 60, only the last number of a coordinate
 *   has decimals. One pair of parentheses around the whole is allowed.
 *
 *   Decimal comma: read only where it cannot be a separator — when the text
 *   has no '.' and exactly two numbers, each with one comma between digits,
 *   separated by spaces, ';' or ", " ("10,9935 106,4921", "10,9935; 106,4921",
 *   "10,9935°N 106,4921°E"), or when a degree, minute or second mark follows
 *   the number's digits (36,7"). Otherwise a comma separates: "10,106" is
 *   10 N 106 E, and "10,99,106,49" is refused as ambiguous.
 *
 * Refused (HM_E_INVALID_FIELD, field "location_text"): empty text; more than
 * HM_LOC_MAX_TEXT bytes; short links that need the internet to resolve
 * (goo.gl, maps.app.goo.gl, g.co, share.google, osm.org/go/, maps.apple/,
 * and common URL shorteners); links of other sites; links without
 * coordinates; |lat| > 90 or |lon| > 180 (with a hint when the first of two
 * plain numbers cannot be a latitude: longitude given first); NaN, inf and
 * exponents (not part of any form); minutes or seconds of 60 or more; two
 * latitudes or two longitudes; a minus sign together with S or W; text that
 * is none of the forms. */
#ifndef HM_LOCPARSE_H
#define HM_LOCPARSE_H

#include <stddef.h>

#include "hm_error.h"

/* The longest location_text accepted, in bytes (2 KiB). */
#define HM_LOC_MAX_TEXT 2048

/* Which form the text was understood as. */
typedef enum hm_loc_form {
    HM_LOC_DECIMAL = 0, /* plain decimal degrees, with or without N/S/E/W */
    HM_LOC_DMS,         /* plain degrees-minutes(-seconds) */
    HM_LOC_GEO_URI,     /* geo: URI */
    HM_LOC_GOOGLE,      /* Google Maps link */
    HM_LOC_OSM,         /* OpenStreetMap link */
    HM_LOC_APPLE,       /* Apple Maps link */
    HM_LOC__COUNT
} hm_loc_form;

/* Parse a pasted location.
 *   text  the bytes as received (URL-decoded by the HTTP layer once, as any
 *         query or JSON value); need not be NUL-terminated, may hold any
 *         bytes, NULs and invalid UTF-8 included; never read past `len`.
 *         NULL is read as empty.
 *   len   its length in bytes.
 *   lon, lat  out: the point, WGS84 degrees, finite, lon in [-180, 180],
 *         lat in [-90, 90], never -0.
 *   form  out, may be NULL: the form understood.
 *   err   may be NULL.
 * Returns HM_OK and sets *lon, *lat, *form; or HM_E_INVALID_FIELD with
 * err->field "location_text" and err->msg one English sentence under 160
 * bytes that tells the user what to do instead. The sentence comes from a
 * fixed list (locparse.c, why_msg[]) and never quotes the input, so the web
 * layer can translate it by exact match and no contact data ever lands in
 * it. Out-parameters are untouched on error. Thread-safe; uses at most
 * about 12 KiB of stack and no heap. */
int hm_loc_parse(const char *text, size_t len, double *lon, double *lat, hm_loc_form *form,
                 hm_error *err);

/* "decimal", "dms", "geo", "google", "osm", "apple"; "unknown" for a value
 * outside the enum. Static strings. */
const char *hm_loc_form_name(hm_loc_form f);

#endif
