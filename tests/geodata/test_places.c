/* test_places.c: geodata/places.c — the place search a resident or an operator uses to put
 * a request at a named place: the three spellings of "Tân Thạnh Đông" find the same place,
 * every word matches as a prefix, hits come best first (exact name, then level, then
 * nearness), duplicates collapse, bad places and bad queries are refused with the field
 * named, and the shipped GeoNames file loads every named feature.
 *
 * Data: the real Củ Chi areas (geodata/data/cu_chi_communes*.geojson) and GeoNames places
 * (geodata/data/cu_chi_places_geonames.geojson, CC BY 4.0, "GeoNames (www.geonames.org)");
 * the small indexes of the ordering tests hold invented places. */
#include "area.h"
#include "hm_buf.h"
#include "hm_test.h"
#include "places.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef HM_GEODATA_DIR
#error "HM_GEODATA_DIR must name geodata/data"
#endif

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    hm_buf b;
    char chunk[65536];
    size_t n;

    hm_buf_init(&b);
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_append(&b, chunk, n);
    fclose(f);
    return hm_buf_steal(&b, len);
}

/* ---- helpers ------------------------------------------------------------------------ */

static hm_place_src place(const char *name, const char *kind, double lon, double lat)
{
    hm_place_src s;

    memset(&s, 0, sizeof s);
    s.name = name;
    s.kind = kind;
    s.rank = hm_place_kind_rank(kind);
    s.lon = lon;
    s.lat = lat;
    return s;
}

static void add(hm_places *idx, hm_place_src s)
{
    hm_error err = {0};

    CHECK_INT_EQ(hm_places_add(idx, &s, &err), HM_OK);
    if (err.code)
        fprintf(stderr, "  add %s: %s\n", s.name, err.msg);
}

static size_t search(const hm_places *idx, const char *q, size_t limit, const double *lonlat,
                     hm_place_hit *hits)
{
    hm_places_query query = {q, strlen(q), limit, lonlat != NULL, 0, 0};
    hm_error err = {0};
    size_t n = 0;

    if (lonlat) {
        query.lon = lonlat[0];
        query.lat = lonlat[1];
    }
    CHECK_INT_EQ(hm_places_search(idx, &query, hits, &n, &err), HM_OK);
    if (err.code)
        fprintf(stderr, "  search \"%s\": %s\n", q, err.msg);
    return n;
}

/* The names of the hits, joined by " | ", into out[size]. */
static const char *join_names(const hm_place_hit *hits, size_t n, char *out, size_t size)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && o < size; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? " | " : "", hits[i].name);
    return out;
}

/* Same, into a static buffer (main thread only). */
static const char *names(const hm_place_hit *hits, size_t n)
{
    static char out[4096];
    return join_names(hits, n, out, sizeof out);
}

/* ---- the Củ Chi index: areas as the server adds them, and GeoNames ----------------- */

static hm_area_list wards, formers;
static hm_place_list geonames;
static hm_area_index *area_idx;
static hm_places *cuchi;

static void read_areas(const char *path, hm_area_list *out)
{
    GEOSContextHandle_t ctx = GEOS_init_r();
    hm_error err = {0};
    size_t len = 0;
    char *text = slurp(path, &len);

    CHECK(text != NULL);
    if (text)
        CHECK_INT_EQ(hm_area_read_geojson(ctx, text, len, NULL, out, &err), HM_OK);
    free(text);
    GEOS_finish_r(ctx);
}

/* An area as a place: its name, its level as kind and level, its code, its representative
 * point and bbox, and the code of the ward its point is in. */
static void add_area(hm_places *idx, const hm_area *a, hm_level level)
{
    const char *codes[HM_LEVEL__COUNT];
    hm_place_src s = place(a->name, hm_level_name(level), a->rep_lon, a->rep_lat);

    hm_area_index_locate(area_idx, a->rep_lon, a->rep_lat, codes);
    s.level = hm_level_name(level);
    s.code = a->code;
    s.bbox = a->bbox;
    s.ward_code = level == HM_LEVEL_WARD ? a->code : codes[HM_LEVEL_WARD];
    add(idx, s);
}

static void setup_cuchi(void)
{
    hm_area_src src[64];
    size_t n = 0, len = 0;
    hm_error err = {0};
    char *text;

    read_areas(HM_GEODATA_DIR "/cu_chi_communes_2025.geojson", &wards);
    read_areas(HM_GEODATA_DIR "/cu_chi_communes.geojson", &formers);
    for (size_t i = 0; i < wards.count; i++)
        src[n++] = (hm_area_src){HM_LEVEL_WARD, wards.items[i].code, wards.items[i].wkb,
                                 wards.items[i].wkb_len};
    for (size_t i = 0; i < formers.count; i++)
        src[n++] = (hm_area_src){HM_LEVEL_FORMER_WARD, formers.items[i].code, formers.items[i].wkb,
                                 formers.items[i].wkb_len};
    area_idx = hm_area_index_create(src, n, &err);
    CHECK(area_idx != NULL);

    text = slurp(HM_GEODATA_DIR "/cu_chi_places_geonames.geojson", &len);
    CHECK(text != NULL);
    if (text)
        CHECK_INT_EQ(hm_place_list_read_geojson(text, len, NULL, &geonames, &err), HM_OK);
    free(text);
    hm_place_list_locate(&geonames, area_idx);

    cuchi = hm_places_create();
    for (size_t i = 0; i < wards.count; i++)
        add_area(cuchi, &wards.items[i], HM_LEVEL_WARD);
    for (size_t i = 0; i < formers.count; i++)
        add_area(cuchi, &formers.items[i], HM_LEVEL_FORMER_WARD);
    for (size_t i = 0; i < geonames.count; i++) {
        hm_place_src s;
        hm_place_src_init(&s, &geonames.items[i]);
        add(cuchi, s);
    }
    CHECK_INT_EQ(hm_places_freeze(cuchi, &err), HM_OK);
}

/* Every feature of the shipped GeoNames file has a name and loads, with its kind. */
static void test_geonames_file(void)
{
    size_t villages = 0, sections = 0, admins = 0, canals = 0, located = 0;

    CHECK_INT_EQ(geonames.count, 155);
    CHECK_INT_EQ(geonames.n_refused, 0);
    for (size_t i = 0; i < geonames.n_refused; i++)
        fprintf(stderr, "  refused %zu (%s): %s\n", geonames.refused[i].index,
                geonames.refused[i].field, geonames.refused[i].reason);
    for (size_t i = 0; i < geonames.count; i++) {
        const hm_place *p = &geonames.items[i];
        villages += strcmp(p->kind, "village") == 0;
        sections += strcmp(p->kind, "section") == 0;
        admins += strcmp(p->kind, "admin") == 0;
        canals += strcmp(p->kind, "canal") == 0;
        located += p->ward_code != NULL;
        /* The one point outside every ward: a river on the district's edge. */
        if (strcmp(p->name, "Sông Cầu Xáng") == 0)
            CHECK(p->ward_code == NULL);
    }
    CHECK_INT_EQ(villages, 79 + 4); /* PPL, PPLW */
    CHECK_INT_EQ(sections, 26);     /* PPLX */
    CHECK_INT_EQ(admins, 15 + 1);   /* ADM3, ADM2 */
    CHECK_INT_EQ(canals, 17 + 1);   /* CNL, CNLX */
    CHECK_INT_EQ(located, 155 - 1);
    CHECK_STR_EQ(geonames.items[0].name, "Xóm Tháp");
    /* Every GeoNames place and every area is in the index: nothing is a duplicate. */
    CHECK_INT_EQ(hm_places_count(cuchi), 155 + wards.count + formers.count);
}

/* The example: three spellings (and the decomposed one) find the same place. */
static void test_three_spellings(void)
{
    static const char *const spellings[] = {
        "tan thanh dong",      "TÂN THẠNH ĐÔNG",
        "Tân Thạnh Đông",      "Ta\xcc\x82n Tha\xcc\xa3nh \xc4\x90o\xcc\x82ng", /* NFD */
        "  tân-thạnh   đông ",
    };
    hm_place_hit hits[HM_PLACES_LIMIT_MAX];

    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        size_t n = search(cuchi, spellings[i], 10, NULL, hits);
        CHECK_INT_EQ(n, 4);
        if (n < 3)
            continue;
        /* Exact names first: the former ward, then the GeoNames village; then the
         * GeoNames bridge and commune point, by name. */
        CHECK_STR_EQ(hits[0].name, "Tân Thạnh Đông");
        CHECK_STR_EQ(hits[0].kind, "former_ward");
        CHECK_STR_EQ(hits[0].level, "former_ward");
        CHECK_STR_EQ(hits[0].code, "27547");
        CHECK_STR_EQ(hits[0].ward_code, "27541"); /* merged into Phú Hòa Đông in 2025 */
        CHECK(hits[0].has_bbox);
        CHECK(hits[0].bbox[0] < hits[0].lon && hits[0].lon < hits[0].bbox[2]);
        CHECK_INT_EQ(hits[0].match, HM_PLACE_MATCH_EXACT);
        CHECK_STR_EQ(hits[1].name, "Tân Thạnh Đông");
        CHECK_STR_EQ(hits[1].kind, "village");
        CHECK(hits[1].level == NULL && hits[1].code == NULL && !hits[1].has_bbox);
        CHECK_INT_EQ(hits[1].match, HM_PLACE_MATCH_EXACT);
        CHECK_STR_EQ(names(hits + 2, n - 2), "Cầu Tân Thạnh Đông | Xã Tân Thạnh Đông");
        CHECK_INT_EQ(hits[2].match, HM_PLACE_MATCH_WORDS);
        CHECK(isnan(hits[0].distance_m));
    }
}

/* Each word is a prefix of a different word, in any order. */
static void test_prefix_words(void)
{
    hm_place_hit hits[HM_PLACES_LIMIT_MAX];
    size_t n;

    n = search(cuchi, "tan th d", 10, NULL, hits);
    CHECK(n >= 1);
    CHECK_STR_EQ(n ? hits[0].name : NULL, "Tân Thạnh Đông");
    CHECK_INT_EQ(n ? (int)hits[0].match : -1, HM_PLACE_MATCH_PREFIX);
    n = search(cuchi, "dong thanh tan", 10, NULL, hits);
    CHECK(n >= 1);
    CHECK_STR_EQ(n ? hits[0].name : NULL, "Tân Thạnh Đông");
    CHECK_INT_EQ(n ? (int)hits[0].match : -1, HM_PLACE_MATCH_WORDS);
    /* "tan tan" needs two words starting with "tan": Tân Thạnh Đông has one. */
    n = search(cuchi, "tan tan", 50, NULL, hits);
    CHECK(strstr(names(hits, n), "Thạnh Đông") == NULL);
    /* "t" must not take the word "tân" that "tan" needs. */
    n = search(cuchi, "t tan dong", 10, NULL, hits);
    CHECK(n >= 1);
    CHECK_STR_EQ(n ? hits[0].name : NULL, "Tân Thạnh Đông");
    /* Alternate names: GeoNames' "Ấp 4" is Ấp Bốn, asciiname "Xa Tan Thanh GJong" reads
     * as Đông, and the Cyrillic "Ку-Чи" is Củ Chi. */
    n = search(cuchi, "ap 4", 10, NULL, hits);
    CHECK(n >= 2);
    CHECK_STR_EQ(n ? hits[0].name : NULL, "Ấp Bốn");
    n = search(cuchi, "xa tan thanh dong", 10, NULL, hits);
    CHECK_STR_EQ(n ? hits[0].name : NULL, "Xã Tân Thạnh Đông");
    CHECK_INT_EQ(n, 1);
    n = search(cuchi, "gjong", 10, NULL, hits);
    CHECK_INT_EQ(n, 0);
    n = search(cuchi, "Ку-Чи", 10, NULL, hits);
    CHECK_STR_EQ(n ? hits[0].name : NULL, "Củ Chi");
    /* No match at all. */
    CHECK_INT_EQ(search(cuchi, "zzz", 10, NULL, hits), 0);
    CHECK_INT_EQ(search(cuchi, "tan thanh dongx", 10, NULL, hits), 0);
}

/* Best first: exact name, then prefix of the name, then other matches; within each, ward,
 * former ward, hamlet, other places, streets; then nearness; then name. */
static void test_ordering(void)
{
    hm_places *idx = hm_places_create();
    hm_place_hit hits[HM_PLACES_LIMIT_MAX];
    hm_error err = {0};
    const double near_second[2] = {106.60, 10.96};
    size_t n;

    add(idx, place("Đường An Dương Vương", "street", 106.50, 10.95));
    add(idx, place("An Bình", "village", 106.51, 10.95));
    add(idx, place("An Phú", "hamlet", 106.52, 10.95));
    add(idx, place("An Xuân", "ward", 106.53, 10.95));
    add(idx, place("Bình An", "ward", 106.54, 10.95));
    add(idx, place("An Nhơn", "former_ward", 106.55, 10.95));
    add(idx, place("Tân Thạnh Đông", "ward", 106.56, 10.95));
    add(idx, place("Tân Thạnh", "village", 106.57, 10.95));
    add(idx, place("Ấp Ba", "village", 106.40, 10.90));
    add(idx, place("Ấp Ba", "village", 106.60, 10.96));
    add(idx, place("Ấp Hai", "village", 106.45, 10.92));
    add(idx, place("Ấp Bốn", "village", 106.46, 10.92));
    add(idx, place("An", "street", 106.47, 10.92));
    CHECK_INT_EQ(hm_places_freeze(idx, &err), HM_OK);

    /* Prefix of the name before other matches, then by rank; the exact one first even
     * though it is a street. */
    n = search(idx, "an", 10, NULL, hits);
    CHECK_STR_EQ(names(hits, n),
                 "An | An Xuân | An Nhơn | An Phú | An Bình | Bình An | Đường An Dương Vương");
    CHECK_INT_EQ(hits[0].match, HM_PLACE_MATCH_EXACT);
    CHECK_INT_EQ(hits[1].match, HM_PLACE_MATCH_PREFIX);
    CHECK_INT_EQ(hits[5].match, HM_PLACE_MATCH_WORDS);
    /* limit keeps the best ones */
    n = search(idx, "an", 3, NULL, hits);
    CHECK_STR_EQ(names(hits, n), "An | An Xuân | An Nhơn");
    /* Exact name before prefix, whatever the level. */
    n = search(idx, "tan thanh", 10, NULL, hits);
    CHECK_STR_EQ(names(hits, n), "Tân Thạnh | Tân Thạnh Đông");
    /* Same name: the one added first without a point, the nearer one with a point. */
    n = search(idx, "ap ba", 10, NULL, hits);
    CHECK_INT_EQ(n, 2);
    CHECK(hits[0].lon == 106.40 && hits[1].lon == 106.60);
    n = search(idx, "ap ba", 10, near_second, hits);
    CHECK_INT_EQ(n, 2);
    CHECK(hits[0].lon == 106.60 && hits[1].lon == 106.40);
    CHECK(hits[0].distance_m < 1.0);
    CHECK(hits[1].distance_m > 20000 && hits[1].distance_m < 25000);
    /* Same match and level: by name (folded: "ap ba" < "ap bon" < "ap hai"), and nearness
     * comes before the name. */
    n = search(idx, "ap", 10, NULL, hits);
    CHECK_STR_EQ(names(hits, n), "Ấp Ba | Ấp Ba | Ấp Bốn | Ấp Hai");
    n = search(idx, "ap", 10, (const double[2]){106.45, 10.92}, hits);
    CHECK_STR_EQ(names(hits, n), "Ấp Hai | Ấp Bốn | Ấp Ba | Ấp Ba");
    hm_places_destroy(idx);
}

/* The nearest named place (the hint on a request): named places only, not areas, streets or a
 * commune's point; within the distance asked; equal distances to the best ranked; the real
 * Củ Chi names give the nearest of the file. */
static void test_nearest(void)
{
    hm_places *idx = hm_places_create();
    hm_place_hit hit;
    hm_error err = {0};

    add(idx, place("Xã Thử", "ward", 106.5000, 10.9500));
    add(idx, place("Ấp Thử", "hamlet", 106.5001, 10.9500));
    add(idx, place("Đường Thử", "street", 106.5002, 10.9500));
    add(idx, place("Xã Thử (điểm)", "admin", 106.5003, 10.9500));
    add(idx, place("Chợ Gần", "market", 106.5100, 10.9500));  /* ~1,094 m east */
    add(idx, place("Xóm Xa", "village", 106.5000, 10.9700));  /* ~2,212 m north */
    add(idx, place("Bến Đò", "village", 106.4900, 10.9500));  /* ~1,094 m west: a tie */
    add(idx, place("Cầu Bắc", "bridge", 106.5000, 11.2000));  /* far north */
    CHECK(!hm_places_nearest(idx, 106.5, 10.95, 1000, &hit)); /* before freezing: nothing */
    CHECK_INT_EQ(hm_places_freeze(idx, &err), HM_OK);

    CHECK(hm_places_nearest(idx, 106.5, 10.95, 3000, &hit));
    /* Equal distances: the ranking order (folded name: "ben do" before "cho gan"). */
    CHECK_STR_EQ(hit.name, "Bến Đò");
    CHECK_STR_EQ(hit.kind, "village");
    CHECK(hit.level == NULL);
    CHECK(fabs(hit.distance_m - 1094) < 5);
    CHECK(hm_places_nearest(idx, 106.5095, 10.9501, 3000, &hit));
    CHECK_STR_EQ(hit.name, "Chợ Gần");
    CHECK(hm_places_nearest(idx, 106.5, 10.968, 3000, &hit));
    CHECK_STR_EQ(hit.name, "Xóm Xa");
    /* Too far for the distance asked; bad arguments. */
    CHECK(!hm_places_nearest(idx, 106.5, 10.95, 1000, &hit));
    CHECK(!hm_places_nearest(idx, 106.5, 10.95, 0, &hit));
    CHECK(!hm_places_nearest(idx, 106.5, 10.95, HM_PLACES_NEAREST_MAX_M + 1, &hit));
    CHECK(!hm_places_nearest(idx, NAN, 10.95, 3000, &hit));
    CHECK(!hm_places_nearest(idx, 106.5, INFINITY, 3000, &hit));
    CHECK(hm_places_nearest(idx, 106.5, 11.19, 3000, &hit));
    CHECK_STR_EQ(hit.name, "Cầu Bắc");
    hm_places_destroy(idx);

    /* Without any named place: never. */
    idx = hm_places_create();
    add(idx, place("Xã Thử", "ward", 106.5, 10.95));
    CHECK_INT_EQ(hm_places_freeze(idx, &err), HM_OK);
    CHECK(!hm_places_nearest(idx, 106.5, 10.95, 3000, &hit));
    hm_places_destroy(idx);

    /* The shipped names: the answer is the nearest non-commune place of the file, found by
     * looking at every one. */
    for (double lon = 106.40; lon < 106.66; lon += 0.013) {
        for (double lat = 10.90; lat < 11.16; lat += 0.011) {
            double best = INFINITY;
            const char *want = NULL;
            for (size_t i = 0; i < geonames.count; i++) {
                const hm_place *p = &geonames.items[i];
                double k = cos(lat * M_PI / 180.0), dx = (p->lon - lon) * k * 111320.0,
                       dy = (p->lat - lat) * 110574.0, m = sqrt(dx * dx + dy * dy);
                if (strcmp(p->kind, "admin") != 0 && m < best) {
                    best = m;
                    want = p->name;
                }
            }
            if (best > 2900 || !want)
                CHECK(best > 3100 || !hm_places_nearest(cuchi, lon, lat, 3000, &hit) ||
                      hit.distance_m > 2800);
            else if (hm_places_nearest(cuchi, lon, lat, 3000, &hit)) {
                /* Two names at the same point may be either; the distance says it is one of
                 * the nearest. */
                CHECK(fabs(hit.distance_m - best) < 3);
            } else {
                CHECK(!"a place within 3 km was not found");
            }
        }
    }
}

/* Same folded name and kind within 50 m: one place, the first added. */
static void test_duplicates(void)
{
    hm_places *idx = hm_places_create();
    hm_place_hit hits[HM_PLACES_LIMIT_MAX];
    hm_error err = {0};
    hm_place_src s;
    size_t n;

    s = place("Chợ Cũ", "market", 106.5000, 11.0000);
    s.code = "first";
    add(idx, s);
    add(idx, place("CHỢ CŨ", "market", 106.5003, 11.0000));     /* ~33 m east */
    add(idx, place("Chợ Cũ", "market", 106.5000, 11.0004));     /* ~44 m north */
    add(idx, place("Chợ Cũ", "market", 106.5010, 11.0000));     /* ~109 m: another */
    add(idx, place("Chợ Cũ", "village", 106.5000, 11.0000));    /* another kind */
    add(idx, place("Chợ Cũ Mới", "market", 106.5000, 11.0000)); /* another name */
    CHECK_INT_EQ(hm_places_count(idx), 6);
    CHECK_INT_EQ(hm_places_freeze(idx, &err), HM_OK);
    CHECK_INT_EQ(hm_places_count(idx), 4);
    n = search(idx, "cho cu", 10, NULL, hits);
    CHECK_INT_EQ(n, 4);
    CHECK_STR_EQ(hits[0].name, "Chợ Cũ");
    CHECK_STR_EQ(hits[0].code, "first");
    CHECK(hits[0].lon == 106.5000 && hits[0].lat == 11.0000);
    CHECK_STR_EQ(hits[1].name, "Chợ Cũ");
    CHECK(hits[1].lon == 106.5010);
    hm_places_destroy(idx);
}

/* A place that breaks a rule is refused with the field named, and nothing is added. */
static void test_add_errors(void)
{
    static const double bad_bbox[4] = {106.6, 10.9, 106.5, 11.0};
    static const char *const bad_alt[] = {"ok", "bad\x01"};
    static const char *const empty_alt[] = {"", "!!!", "Tân An"};
    hm_places *idx = hm_places_create();
    hm_place_src s;
    hm_error err;
    char long_name[HM_PLACES_NAME_MAX + 2];
    typedef struct {
        hm_place_src src;
        const char *field;
    } add_case;
    add_case cases[12];
    size_t nc = 0;

    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    cases[nc++] = (add_case){place(NULL, "village", 106.5, 11.0), "name"};
    cases[nc++] = (add_case){place("", "village", 106.5, 11.0), "name"};
    cases[nc++] = (add_case){place("!!! ...", "village", 106.5, 11.0), "name"};
    cases[nc++] = (add_case){place("T\xff"
                                   "an",
                                   "village", 106.5, 11.0),
                             "name"};
    cases[nc++] = (add_case){place("Tân\nAn", "village", 106.5, 11.0), "name"};
    cases[nc++] = (add_case){place(long_name, "village", 106.5, 11.0), "name"};
    cases[nc++] = (add_case){place("Tân An", NULL, 106.5, 11.0), "kind"};
    cases[nc++] = (add_case){place("Tân An", "village", NAN, 11.0), "lon"};
    cases[nc++] = (add_case){place("Tân An", "village", 106.5, 91.0), "lat"};
    cases[nc++] = (add_case){place("Tân An", "village", 106.5, INFINITY), "lat"};
    s = place("Tân An", "village", 106.55, 10.95);
    s.bbox = bad_bbox;
    cases[nc++] = (add_case){s, "bbox"};
    s = place("Tân An", "village", 106.55, 10.95);
    s.alt_names = bad_alt;
    s.n_alt = 2;
    cases[nc++] = (add_case){s, "alt_names"};

    for (size_t i = 0; i < nc; i++) {
        hm_error_clear(&err);
        CHECK_INT_EQ(hm_places_add(idx, &cases[i].src, &err), HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, cases[i].field);
    }
    CHECK_INT_EQ(hm_places_count(idx), 0);
    /* Alternate names with nothing to search for are skipped, not refused. */
    s = place("An Phú", "village", 106.55, 10.95);
    s.alt_names = empty_alt;
    s.n_alt = 3;
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_places_add(idx, &s, &err), HM_OK);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_places_freeze(idx, &err), HM_OK);
    /* Frozen: no more places, no second freeze. */
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_places_add(idx, &s, &err), HM_E_INTERNAL);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_places_freeze(idx, &err), HM_E_INTERNAL);
    {
        hm_place_hit hits[2];
        CHECK_STR_EQ(search(idx, "tan an", 2, NULL, hits) ? hits[0].name : NULL, "An Phú");
    }
    hm_places_destroy(idx);
}

/* The edge's 400s: the field is named and nothing is searched. */
static void test_query_errors(void)
{
    char long_q[HM_PLACES_Q_MAX + 2];
    hm_place_hit hits[HM_PLACES_LIMIT_MAX];
    typedef struct {
        hm_places_query q;
        const char *field;
    } query_case;
    query_case cases[9];
    size_t nc = 0, n;
    hm_places *unfrozen = hm_places_create();
    hm_error err;

    memset(long_q, 'a', sizeof long_q - 1);
    long_q[sizeof long_q - 1] = '\0';
    cases[nc++] = (query_case){{"", 0, 10, false, 0, 0}, "q"};
    cases[nc++] = (query_case){{NULL, 0, 10, false, 0, 0}, "q"};
    cases[nc++] = (query_case){{long_q, strlen(long_q), 10, false, 0, 0}, "q"};
    cases[nc++] = (query_case){{"?! -", 4, 10, false, 0, 0}, "q"};
    cases[nc++] = (query_case){{"a b c d e f g h i j k", 21, 10, false, 0, 0}, "q"};
    cases[nc++] = (query_case){{"tan", 3, 0, false, 0, 0}, "limit"};
    cases[nc++] = (query_case){{"tan", 3, HM_PLACES_LIMIT_MAX + 1, false, 0, 0}, "limit"};
    cases[nc++] = (query_case){{"tan", 3, 10, true, 106.5, NAN}, "lat"};
    cases[nc++] = (query_case){{"tan", 3, 10, true, 181, 10}, "lon"};
    for (size_t i = 0; i < nc; i++) {
        n = 99;
        hm_error_clear(&err);
        CHECK_INT_EQ(hm_places_search(cuchi, &cases[i].q, hits, &n, &err), HM_E_INVALID_FIELD);
        CHECK_STR_EQ(err.field, cases[i].field);
        CHECK_INT_EQ(n, 99);
    }
    /* The longest query, the most words and the largest limit are fine. */
    long_q[HM_PLACES_Q_MAX] = '\0';
    n = search(cuchi, long_q, HM_PLACES_LIMIT_MAX, NULL, hits);
    CHECK_INT_EQ(n, 0);
    n = search(cuchi, "a b c d e f g h i j", HM_PLACES_LIMIT_MAX, NULL, hits);
    CHECK_INT_EQ(n, 0);
    n = search(cuchi, "a", HM_PLACES_LIMIT_MAX, NULL, hits);
    CHECK_INT_EQ(n, HM_PLACES_LIMIT_MAX);
    hm_error_clear(&err);
    {
        hm_places_query q = {"tan", 3, 10, false, 0, 0};
        CHECK_INT_EQ(hm_places_search(unfrozen, &q, hits, &n, &err), HM_E_INTERNAL);
    }
    /* An index without places answers nothing. */
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_places_freeze(unfrozen, &err), HM_OK);
    CHECK_INT_EQ(hm_places_count(unfrozen), 0);
    CHECK_INT_EQ(search(unfrozen, "tan", 10, NULL, hits), 0);
    hm_places_destroy(unfrozen);
}

/* A district's own list: every feature is read or refused with its index and reason. */
static void test_read_geojson(void)
{
    static const char text[] =
        "{\"type\": \"FeatureCollection\", \"features\": ["
        /* 0 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Chợ Phước Thạnh\","
        "\"loai\": \"market\", \"code\": 12, \"alt_names\": [\"Cho PT\", 7]},"
        "\"geometry\": {\"type\": \"Point\", \"coordinates\": [106.43, 11.01]}},"
        /* 1 */ "{\"type\": \"Feature\", \"properties\": {\"loai\": \"school\"},"
        "\"geometry\": {\"type\": \"Point\", \"coordinates\": [106.43, 11.01]}},"
        /* 2 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"   \"},"
        "\"geometry\": {\"type\": \"Point\", \"coordinates\": [106.43, 11.01]}},"
        /* 3 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Trường A\"},"
        "\"geometry\": {\"type\": \"Point\", \"coordinates\": [200, 11.01]}},"
        /* 4 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Trường B\"},"
        "\"geometry\": {\"type\": \"Point\", \"coordinates\": [\"106.4\", 11.01]}},"
        /* 5 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Trường C\"},"
        "\"geometry\": null},"
        /* 6 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Kênh Đông\","
        "\"loai\": \"canal\"}, \"geometry\": {\"type\": \"LineString\","
        "\"coordinates\": [[106.40, 11.00], [106.42, 11.00], [106.50, 11.00]]}},"
        /* 7 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Khu Chợ\"},"
        "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[106.40, 11.00],"
        "[106.41, 11.00], [106.41, 11.01], [106.40, 11.01], [106.40, 11.00]]]}},"
        /* 8 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Sai\"},"
        "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[106.40, 11.00],"
        "[106.41, 11.00]]]}},"
        /* 9 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Nhóm\"},"
        "\"geometry\": {\"type\": \"GeometryCollection\", \"geometries\": []}},"
        /* 10 */ "{\"type\": \"Feature\", \"properties\": [1],"
        "\"geometry\": {\"type\": \"Point\", \"coordinates\": [106.43, 11.01]}},"
        /* 11 */ "[1, 2],"
        /* 12 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Ấp Chợ\", \"loai\": \"\"},"
        "\"geometry\": {\"type\": \"MultiPolygon\", \"coordinates\": [[[[106.40, 11.00],"
        "[106.41, 11.00], [106.41, 11.01], [106.40, 11.00]]], [[[106.50, 11.00],"
        "[106.52, 11.00], [106.52, 11.02], [106.50, 11.02], [106.50, 11.00]]]]}},"
        /* 13 */ "{\"type\": \"Feature\", \"properties\": {\"ten\": \"Tân\\u0007\"},"
        "\"geometry\": {\"type\": \"Point\", \"coordinates\": [106.43, 11.01]}}"
        "]}";
    static const struct {
        size_t index;
        const char *field;
    } want_refused[] = {{1, "name"},     {2, "name"},     {3, "geometry"}, {4, "geometry"},
                        {5, "geometry"}, {8, "geometry"}, {9, "geometry"}, {10, "properties"},
                        {11, "type"},    {13, "name"}};
    const hm_place_fields fields = {"ten", "loai", NULL, NULL, "landmark"};
    hm_place_list list;
    hm_error err = {0};
    size_t nw = sizeof want_refused / sizeof want_refused[0];

    CHECK_INT_EQ(hm_place_list_read_geojson(text, strlen(text), &fields, &list, &err), HM_OK);
    CHECK_INT_EQ(list.count, 4);
    CHECK_INT_EQ(list.n_refused, nw);
    for (size_t i = 0; i < list.n_refused && i < nw; i++) {
        CHECK_INT_EQ(list.refused[i].index, want_refused[i].index);
        CHECK_STR_EQ(list.refused[i].field, want_refused[i].field);
        CHECK(list.refused[i].reason[0] != '\0');
    }
    if (list.count == 4) {
        const hm_place *p = &list.items[0];
        CHECK_STR_EQ(p->name, "Chợ Phước Thạnh");
        CHECK_STR_EQ(p->kind, "market");
        CHECK_STR_EQ(p->code, "12");
        CHECK_INT_EQ(p->n_alt, 1);
        CHECK_STR_EQ(p->n_alt ? p->alt_names[0] : NULL, "Cho PT");
        CHECK(p->lon == 106.43 && p->lat == 11.01 && !p->has_bbox);
        p = &list.items[1]; /* the line: its middle, with its bbox */
        CHECK_STR_EQ(p->kind, "canal");
        CHECK(fabs(p->lon - 106.45) < 1e-9 && p->lat == 11.00);
        CHECK(p->has_bbox && p->bbox[0] == 106.40 && p->bbox[2] == 106.50);
        p = &list.items[2]; /* the polygon: a point inside, with its bbox */
        CHECK_STR_EQ(p->kind, "landmark");
        CHECK(p->lon > 106.40 && p->lon < 106.41 && p->lat > 11.00 && p->lat < 11.01);
        CHECK(p->has_bbox && p->bbox[0] == 106.40 && p->bbox[3] == 11.01);
        p = &list.items[3]; /* the multipolygon: inside its larger part */
        CHECK_STR_EQ(p->kind, "landmark");
        CHECK(p->lon > 106.40 && p->lon < 106.52 && p->has_bbox && p->bbox[2] == 106.52);
    }
    hm_place_list_clear(&list);

    /* Documents that are not a place list fail whole, and `out` is untouched. */
    memset(&list, 0x5a, sizeof list);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_place_list_read_geojson("{\"type\":", 8, NULL, &list, &err), HM_E_BAD_JSON);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_place_list_read_geojson("{\"type\": \"Point\"}", 17, NULL, &list, &err),
                 HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "type");
    hm_error_clear(&err);
    {
        const char *t = "{\"type\": \"FeatureCollection\", \"features\": {}}";
        CHECK_INT_EQ(hm_place_list_read_geojson(t, strlen(t), NULL, &list, &err),
                     HM_E_INVALID_FIELD);
    }
    CHECK_STR_EQ(err.field, "features");
    CHECK(list.count == (size_t)0x5a5a5a5a5a5a5a5aULL);
}

/* Many threads search one index at once and get the answers one thread gets. */
#define N_THREADS 4
#define N_QUERIES 10
static const char *const thread_queries[N_QUERIES] = {
    "tan", "ap", "a", "tan thanh dong", "x", "cu chi", "ap ba", "rach", "kenh", "phu hoa"};
static char thread_want[N_QUERIES][4096];

static void *search_many(void *arg)
{
    hm_place_hit hits[HM_PLACES_LIMIT_MAX];
    size_t *bad = arg;
    char got[4096];

    for (int round = 0; round < 200; round++) {
        for (size_t q = 0; q < N_QUERIES; q++) {
            hm_places_query query = {
                thread_queries[q], strlen(thread_queries[q]), 50, true, 106.5, 11.0};
            size_t n = 0;
            if (hm_places_search(cuchi, &query, hits, &n, NULL) != HM_OK)
                (*bad)++;
            *bad += strcmp(join_names(hits, n, got, sizeof got), thread_want[q]) != 0;
        }
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[N_THREADS];
    size_t bad[N_THREADS] = {0};
    hm_place_hit hits[HM_PLACES_LIMIT_MAX];
    const double at[2] = {106.5, 11.0};

    for (size_t q = 0; q < N_QUERIES; q++) {
        size_t n = search(cuchi, thread_queries[q], 50, at, hits);
        join_names(hits, n, thread_want[q], sizeof thread_want[q]);
    }
    for (int i = 0; i < N_THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, search_many, &bad[i]) == 0);
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT_EQ(bad[i], 0);
    }
}

int main(void)
{
    setup_cuchi();
    test_geonames_file();
    test_three_spellings();
    test_prefix_words();
    test_ordering();
    test_duplicates();
    test_nearest();
    test_add_errors();
    test_query_errors();
    test_read_geojson();
    test_threads();

    hm_places_destroy(cuchi);
    hm_place_list_clear(&geonames);
    hm_area_index_destroy(area_idx);
    hm_area_list_clear(&wards);
    hm_area_list_clear(&formers);
    return hm_test_done("test_places");
}
