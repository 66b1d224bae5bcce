/* places.h: the place-name search of SPEC "Places and a street map, offline"
 * (GET /api/v1/places?q=&limit=&lat=&lon=). Owns the in-memory index of place names
 * (areas of every level, the shipped GeoNames places, a district's imported places, the
 * streets of a basemap), how a query matches a name and how hits are ranked, and the
 * reading of place lists from GeoJSON. Not storage (the store keeps the place rows and
 * each server builds an index from them, so every backend answers alike), not HTTP (the
 * edge parses the parameters and renders hm_place_hit as JSON), not point-to-area
 * (hm_place_list_locate() asks an hm_area_index). Text folding is fold.h.
 *
 * Matching: the query and every name are folded (hm_fold: case, Vietnamese diacritics,
 * đ/d, punctuation); every word of the query must be a prefix of a different word of one
 * name of the place (its name or one alternate name), in any order: "tan th d" finds
 * "Tân Thạnh Đông", "dong tan" too.
 *
 * Ranking, best first: (1) the folded query equals a folded name (HM_PLACE_MATCH_EXACT),
 * then a name starts with the query's words in order, each a prefix of the name's word in
 * the same place ("tan th d" for "Tân Thạnh Đông": HM_PLACE_MATCH_PREFIX), then any other
 * match (HM_PLACE_MATCH_WORDS); (2) rank (ward, former ward, hamlet, other places,
 * streets); (3) when the query gives a point, nearness to it (equirectangular, at about
 * 1 m resolution); (4) folded name, then name bytes; (5) the order of hm_places_add().
 *
 * Lifecycle: hm_places_create(), hm_places_add() any number of times, hm_places_freeze(),
 * then hm_places_search() from any number of threads at once, hm_places_destroy(). A
 * frozen index never changes; to change the places, build a new index and swap it in
 * (readers of the old one must be done before it is destroyed). Memory: about 260 bytes
 * per place with a four-word name, so 200,000 streets take about 50 MB; adding and
 * freezing them takes about 1 s on one core. */
#ifndef HM_PLACES_H
#define HM_PLACES_H

#include <stdbool.h>
#include <stddef.h>

#include "area.h"
#include "hm_error.h"

#define HM_PLACES_Q_MAX         200  /* bytes of query text; longer is invalid_field */
#define HM_PLACES_WORDS_MAX     10   /* words in a folded query; more is invalid_field */
#define HM_PLACES_LIMIT_DEFAULT 10   /* for the edge: `limit` when absent */
#define HM_PLACES_LIMIT_MAX     50   /* largest `limit` */
#define HM_PLACES_NAME_MAX      200  /* bytes of a name or an alternate name */
#define HM_PLACES_ALT_MAX       64   /* alternate names kept per place; more are ignored */
#define HM_PLACES_KIND_MAX      32   /* bytes of a kind or level */
#define HM_PLACES_CODE_MAX      64   /* bytes of a code or ward code */
#define HM_PLACES_DEDUP_M       50.0 /* same folded name and kind this close: one place */

/* Order of places among equally good matches: smaller first. */
enum hm_place_rank {
    HM_PLACE_RANK_WARD = 0,
    HM_PLACE_RANK_FORMER_WARD = 1,
    HM_PLACE_RANK_HAMLET = 2,
    HM_PLACE_RANK_PLACE = 3, /* shipped and imported places: villages, markets, schools ... */
    HM_PLACE_RANK_STREET = 4,
    HM_PLACE_RANK__MAX = 255
};

/* The rank of a kind: "ward", "former_ward", "hamlet" have their own, "street" and "road"
 * are HM_PLACE_RANK_STREET, any other kind (or NULL) HM_PLACE_RANK_PLACE. */
int hm_place_kind_rank(const char *kind);

/* One place handed to hm_places_add(). Every string is copied; NULL means absent. */
typedef struct hm_place_src {
    const char *name;             /* required: valid UTF-8 without control characters,
                                     <= HM_PLACES_NAME_MAX bytes, with a letter or digit */
    const char *const *alt_names; /* n_alt other names it is known by (the same rules;
                                     empty or repeated ones are skipped), or NULL */
    size_t n_alt;
    const char *kind;      /* required: "ward", "hamlet", "village", "street", "market" ... */
    const char *level;     /* an area's level ("ward", "former_ward", "hamlet"), else NULL */
    int rank;              /* 0..HM_PLACE_RANK__MAX; usually hm_place_kind_rank(kind) */
    const char *code;      /* an area's code, a GeoNames id ..., or NULL */
    double lon, lat;       /* the point the place stands for (an area's representative point) */
    const double *bbox;    /* minLon, minLat, maxLon, maxLat, or NULL */
    const char *ward_code; /* code of the ward the point is in, or NULL */
} hm_place_src;

typedef struct hm_places hm_places;

/* A new, empty index in its building phase. Caller frees with hm_places_destroy().
 * Never fails (allocation failure aborts). */
hm_places *hm_places_create(void);

/* Add one place. Returns HM_OK, or HM_E_INVALID_FIELD with `field` naming the bad member
 * ("name", "alt_names", "kind", "level", "rank", "code", "lon", "lat", "bbox",
 * "ward_code") and nothing added; HM_E_TOO_LARGE when the index is full (4 GB of text or
 * 2^32 - 1 places); HM_E_INTERNAL after hm_places_freeze(). Not thread-safe: one thread
 * builds. */
int hm_places_add(hm_places *idx, const hm_place_src *src, hm_error *err);

/* End the building phase: collapse places with the same folded name and kind within
 * HM_PLACES_DEDUP_M of each other (the one added first stays, with its own alternate
 * names), then build the search structures. Returns HM_OK, or HM_E_INTERNAL when called
 * twice. */
int hm_places_freeze(hm_places *idx, hm_error *err);

/* Number of places: added so far, or kept after freezing. */
size_t hm_places_count(const hm_places *idx);

/* Free the index and everything it owns. Accepts NULL. No search may be running on it. */
void hm_places_destroy(hm_places *idx);

enum hm_place_match {
    HM_PLACE_MATCH_EXACT = 0,  /* the folded query is a whole folded name */
    HM_PLACE_MATCH_PREFIX = 1, /* the query's words start the name's first words, in order */
    HM_PLACE_MATCH_WORDS = 2   /* every query word starts a word of a name */
};

typedef struct hm_places_query {
    const char *q; /* query text (UTF-8; invalid bytes separate words), q_len bytes */
    size_t q_len;
    size_t limit; /* 1..HM_PLACES_LIMIT_MAX */
    bool near;    /* order equally good matches by distance to (lon, lat) */
    double lon, lat;
} hm_places_query;

/* One result. Strings are borrowed from the index: valid until hm_places_destroy(). */
typedef struct hm_place_hit {
    const char *name;
    const char *kind;
    const char *level;     /* NULL unless an area */
    const char *code;      /* may be NULL */
    const char *ward_code; /* may be NULL */
    double lon, lat;
    bool has_bbox;
    double bbox[4];
    double distance_m;         /* geodesic (WGS84) from the query's point; NAN without one */
    enum hm_place_match match; /* how the best of its names matched */
} hm_place_hit;

/* Find the best places for `query`, at most query->limit, best first, each place once.
 * `hits` has room for query->limit entries; *n_hits is set to the number filled (0 when
 * nothing matches). Returns HM_OK, or HM_E_INVALID_FIELD when q is empty, longer than
 * HM_PLACES_Q_MAX bytes, has no letter or digit, or more than HM_PLACES_WORDS_MAX words
 * (field "q"), when limit is 0 or above HM_PLACES_LIMIT_MAX ("limit"), or when near is
 * set with a point outside lon/lat range or not finite ("lon" or "lat"); HM_E_INTERNAL
 * before hm_places_freeze(). Thread-safe on a frozen index, allocation-free; well under
 * 5 ms for 200,000 places (bench/bench_places measures it). */
int hm_places_search(const hm_places *idx, const hm_places_query *query, hm_place_hit *hits,
                     size_t *n_hits, hm_error *err);

/* ---- the nearest named place ------------------------------------------------------- */

/* Largest `max_m` of hm_places_nearest(). */
#define HM_PLACES_NEAREST_MAX_M 20000.0

/* The place nearest to (lon, lat) within `max_m` metres (1 m resolution; equal distances: the
 * best ranked), among the named places of rank HM_PLACE_RANK_PLACE (villages, hamlets' and
 * sections' names, markets, schools, bridges, canals ... shipped, imported or from a basemap)
 * except kind "admin" (a commune's point, which the commune's own name says better): a hint of
 * where a request is ("Ấp Chợ", "Chợ Phước Thạnh") for the pages (issue 15), never an area
 * and never a street. True with *out filled (strings borrowed from the index, distance_m
 * geodesic, match HM_PLACE_MATCH_EXACT); false when none is that near, `max_m` is not in
 * (0, HM_PLACES_NEAREST_MAX_M] or the point is not finite. Thread-safe on a frozen index,
 * allocation-free: a binary search in the places sorted by latitude, then the places within
 * `max_m` of that latitude. */
bool hm_places_nearest(const hm_places *idx, double lon, double lat, double max_m,
                       hm_place_hit *out);

/* ---- place lists from GeoJSON ------------------------------------------------------ */

/* One place read from GeoJSON; owned by its hm_place_list. */
typedef struct hm_place {
    char *name;
    char **alt_names; /* n_alt strings */
    size_t n_alt;
    char *kind;
    char *code;      /* NULL when absent */
    char *ward_code; /* NULL until hm_place_list_locate() */
    double lon, lat;
    bool has_bbox;
    double bbox[4];
} hm_place;

/* A feature that was not read, and why. */
typedef struct hm_place_refusal {
    size_t index;      /* position of the feature in "features" (0-based) */
    const char *field; /* static: "name", "geometry", "kind", "code", "alt_names" ... */
    char reason[160];
} hm_place_refusal;

typedef struct hm_place_list {
    hm_place *items; /* the places read, in feature order */
    size_t count;
    hm_place_refusal *refused; /* the features refused, in feature order */
    size_t n_refused;
} hm_place_list;

/* Which properties to read; NULL members take the defaults. */
typedef struct hm_place_fields {
    const char *name;         /* "name" */
    const char *kind;         /* "kind" */
    const char *code;         /* "code" */
    const char *alt_names;    /* "alt_names": an array of strings or a comma-separated string */
    const char *default_kind; /* kind of a feature without one: "place" */
} hm_place_fields;

/* Read a GeoJSON FeatureCollection (or one Feature) of places from `text` (`len` bytes),
 * for `helpmap import-places` and the shipped GeoNames file. Geometry: Point; Polygon and
 * MultiPolygon (repaired like an area; the place stands at a point inside it and keeps its
 * bbox); LineString and MultiLineString (the middle of the longest line, with its bbox).
 * Properties: the name (required), the kind (else the GeoNames `feature_code` mapped to a
 * kind: PPL "village", PPLX "section", ADM3 "admin", CNL "canal", STM "stream", MKT
 * "market", SCH "school" ...; else default_kind), the code (optional), alternate names
 * (and, for a GeoNames record, its `asciiname` and comma-separated `alternatenames`;
 * at most HM_PLACES_ALT_MAX; one that is empty, too long, has control characters or
 * repeats the name is left out, not the feature). Each place must pass hm_places_add()'s
 * rules.
 *
 * Returns HM_OK when the document is readable, with every feature either in out->items or
 * in out->refused (index, field and reason: no name, bad or missing geometry, coordinates
 * not finite or out of range, ...): nothing is dropped silently; the caller decides
 * whether refusals fail its import. Returns HM_E_BAD_JSON when the text is not JSON and
 * HM_E_INVALID_FIELD ("type" or "features") when it is not a Feature or FeatureCollection;
 * `out` is then untouched. Caller frees with hm_place_list_clear(). Thread-safe (uses its
 * own GEOS context). */
int hm_place_list_read_geojson(const char *text, size_t len, const hm_place_fields *fields,
                               hm_place_list *out, hm_error *err);

void hm_place_list_clear(hm_place_list *list);

/* Set each place's ward_code to the code of the HM_LEVEL_WARD area covering its point
 * (NULL when none), replacing what it had. Thread-safe on distinct lists. */
void hm_place_list_locate(hm_place_list *list, const hm_area_index *areas);

/* Fill `src` to add `p` with hm_places_add(): its rank from its kind, no level. `src`
 * borrows from `p`. */
void hm_place_src_init(hm_place_src *src, const hm_place *p);

#endif
