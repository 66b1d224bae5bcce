/* gazetteer.h: the core's place names (SPEC "Places and a street map, offline") — the place
 * search every server answers from memory, importing place lists into the store (the shipped
 * GeoNames names of a new database, `helpmap import-places`), and the place an address-only
 * request stands at. The index itself (matching, folding, ranking) is geodata/places.h; the
 * rows are the store's (hm_store_place_*); this module keeps an index of them current.
 *
 * The index holds the areas of every level (wards, former wards, hamlets, with their names),
 * the stored places (sources "geonames" and "import") and the street and place names of the
 * basemap the server serves (read from its tiles at start, in the background; kept in memory,
 * never stored: another server may serve another map). Like the other in-memory followers it
 * follows the change log: a change of areas or places (HM_CH_AREA, HM_CH_RELOAD,
 * HM_CH_PLACES, whoever wrote it) makes a thread of its own rebuild the index and swap it in;
 * searches hold a reference to the index their hits borrow from, so a swap never frees what a
 * reader still uses. */
#ifndef HM_GAZETTEER_H
#define HM_GAZETTEER_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"
#include "entity.h"
#include "places.h"
#include "store.h"

/* Attribution of the shipped names (CC BY 4.0): shown wherever they are shown. */
#define HM_GEONAMES_ATTRIBUTION "GeoNames (www.geonames.org)"
/* Attribution of a basemap's data (ODbL). */
#define HM_OSM_ATTRIBUTION "© OpenStreetMap contributors"

/* ---- search (GET /api/v1/places) ---- */

typedef struct hm_places_result {
    hm_place_hit hits[HM_PLACES_LIMIT_MAX]; /* best first; strings borrowed from `hold` */
    size_t n;
    void *hold; /* the index the hits borrow from; released by hm_places_result_clear() */
} hm_places_result;

/* The best places for `q` (see hm_places_search: every query word a prefix of a word of a
 * name, ignoring case and diacritics; exact names first, then level, then nearness). Public.
 * Returns HM_OK with `out` filled (clear it after rendering, also when n is 0), or
 * HM_E_INVALID_FIELD naming "q", "limit", "lat" or "lon" (out cleared). Thread-safe,
 * allocation-free apart from a reference count. */
int hm_core_places_search(hm_core *c, const hm_places_query *q, hm_places_result *out,
                          hm_error *err);
void hm_places_result_clear(hm_places_result *r);

/* The attribution of the names the search and the maps show: GeoNames, and OpenStreetMap when
 * a basemap is served. Static string. */
const char *hm_core_places_attribution(hm_core *c);

/* Every stored place of the sources "geonames" and "import" (not a basemap's: the map draws
 * those), ordered by id, to cb with rows borrowed for the call (public: the place labels of a
 * map without basemap). */
int hm_core_place_list(hm_core *c, hm_place_cb cb, void *ctx, hm_error *err);

/* How far from a request a named place may be to serve as its hint. */
#define HM_PLACE_HINT_M 3000.0

/* The public place hint of a request standing at (lon, lat) (issue 15: team cards and alerts
 * say where a request is before anyone sees its address): the name of the named place
 * (hm_places_nearest: villages, hamlets' names, markets ..., not areas or streets) nearest
 * to the point snapped to the public 0.001 degree grid, within HM_PLACE_HINT_M, into
 * out[0, size) (cut at a character boundary). Public: it depends only on the snapped point, so
 * it tells nobody more than the public position does. True when there is one; false with
 * out "" otherwise (also while the index is loading). Thread-safe. */
bool hm_core_place_hint(hm_core *c, double lon, double lat, char *out, size_t size);

/* Number of places in the current index and whether the basemap's names are in it yet. */
void hm_core_places_stats(hm_core *c, size_t *count, bool *basemap_loaded);

/* ---- importing ---- */

typedef struct hm_places_import_report {
    size_t count;              /* places stored */
    hm_place_refusal *refused; /* features refused, in feature order (owned) */
    size_t n_refused;
} hm_places_import_report;

/* Import `text` (GeoJSON FeatureCollection of places, `len` bytes; see
 * hm_place_list_read_geojson for geometries and properties; `fields` may be NULL) into `st`
 * as places of `source` ("import" for a district's list, "geonames" for the shipped one), in
 * one transaction, recording the change so that running servers rebuild their index (within a
 * second or two). Each place gets the code of the ward its point is in; a place in no ward is
 * refused ("outside the service area"). `replace`: the source's other places go first;
 * otherwise places with a code replace the source's place of that code and the others are
 * added.
 * `strict`: any refused feature fails the import (HM_E_INVALID_FIELD, nothing stored, every
 * refusal in rep->refused with its index and reason); otherwise the readable places are
 * stored and the refusals reported. Returns HM_OK, HM_E_BAD_JSON, HM_E_INVALID_FIELD or a
 * store error; nothing changes on error. Caller clears `rep` with
 * hm_places_import_report_clear() in every case. */
int hm_places_import(hm_store *st, const char *source, const char *text, size_t len,
                     const hm_place_fields *fields, bool replace, bool strict,
                     hm_places_import_report *rep, hm_error *err);
void hm_places_import_report_clear(hm_places_import_report *rep);

/* Import the place names linked into the program (Củ Chi's GeoNames places) as source
 * "geonames", replacing that source; places outside the areas are left out (logged). For a new
 * database, after its default areas (hm_areas_import_defaults calls it). */
int hm_places_import_defaults(hm_store *st, hm_error *err);

#endif
