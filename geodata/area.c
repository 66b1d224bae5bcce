/* area.c: administrative areas. GeoJSON -> validated GEOS -> WKB, clipping to a
 * parent with the sibling-overlap check, and the point-to-area index. See area.h.
 *
 * The index answers "which area of each level covers (lon, lat)" without GEOS.
 * Per level it lays a uniform grid over the level's extent. A cell that no
 * ring edge touches lies wholly inside or wholly outside each area, so its
 * answer is known at build time. A cell that edges touch keeps, for each area
 * that could answer before the first area wholly covering the cell, copies of
 * the edges touching the cell and the inside/outside status of a reference
 * point R in the cell. A query q in that cell is covered when it lies on one
 * of those edges, or else when status(R) flips an odd number of times along
 * the segment R-q. All predicates are exact orientation tests (Shewchuk's
 * filter, then expansion arithmetic), so a point on an edge or a vertex is
 * "covered" exactly as GEOS's robust predicates (RayCrossingCounter,
 * CGAlgorithmsDD) decide it. */
#include "area.h"

#include "area_int.h"
#include "geo.h"
#include "hm_buf.h"
#include "hm_log.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_MAX 32 /* bytes, SPEC */

/* ---- levels ------------------------------------------------------------- */

static const char *const level_names[HM_LEVEL__COUNT] = {
    [HM_LEVEL_WARD] = "ward",
    [HM_LEVEL_FORMER_WARD] = "former_ward",
    [HM_LEVEL_HAMLET] = "hamlet",
};

const char *hm_level_name(hm_level level)
{
    if ((unsigned)level >= HM_LEVEL__COUNT)
        return "unknown";
    return level_names[level];
}

int hm_level_parse(const char *s, hm_level *out, hm_error *err)
{
    for (int i = 0; s && i < HM_LEVEL__COUNT; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (hm_level)i;
            return HM_OK;
        }
    }
    return hm_error_set(err, HM_E_INVALID_FIELD, "level",
                        "level must be one of ward, former_ward, hamlet");
}

/* ---- small helpers -------------------------------------------------------- */

/* Append "; text" (or "text" when empty) to a->note, truncating silently. */
static void note_add(hm_area *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_add(hm_area *a, const char *fmt, ...)
{
    size_t n = strlen(a->note);
    va_list ap;

    if (n && n + 2 < sizeof a->note) {
        memcpy(a->note + n, "; ", 3);
        n += 2;
    }
    if (n + 1 >= sizeof a->note)
        return;
    va_start(ap, fmt);
    vsnprintf(a->note + n, sizeof a->note - n, fmt, ap);
    va_end(ap);
}

void hm_area_clear(hm_area *a)
{
    if (!a)
        return;
    free(a->code);
    free(a->name);
    free(a->parent_code);
    free(a->wkb);
    memset(a, 0, sizeof *a);
    a->pop = -1;
}

void hm_area_list_clear(hm_area_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        hm_area_clear(&list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* ---- GEOS helpers --------------------------------------------------------- */

/* Metres per degree of longitude and latitude at `lat` on WGS84 (radii of
 * curvature N cos(phi) and M). */
static void metres_per_degree(double lat, double *kx, double *ky)
{
    const double a = 6378137.0, f = 1.0 / 298.257223563;
    const double e2 = f * (2.0 - f), d2r = 3.14159265358979323846 / 180.0;
    double s = sin(lat * d2r), w = 1.0 - e2 * s * s;

    *kx = a * cos(lat * d2r) / sqrt(w) * d2r;
    *ky = a * (1.0 - e2) / (w * sqrt(w)) * d2r;
}

/* Unsigned area in m^2 of one ring, in a local equirectangular frame at the
 * ring's mean latitude (error well under 0.1% for rings of a few km: enough
 * to tell a sub-m^2 sliver from a real overlap). Returns 0 on GEOS failure. */
static double ring_area_m2(GEOSContextHandle_t ctx, const GEOSGeometry *ring)
{
    const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx, ring);
    unsigned int n = 0;
    double *xy = NULL, lat0 = 0.0, kx, ky, sum = 0.0;

    if (!seq || !GEOSCoordSeq_getSize_r(ctx, seq, &n) || n < 4)
        return 0.0;
    xy = hm_xmalloc(2 * (size_t)n * sizeof *xy);
    if (!GEOSCoordSeq_copyToBuffer_r(ctx, seq, xy, 0, 0)) {
        free(xy);
        return 0.0;
    }
    for (unsigned int i = 0; i < n; i++)
        lat0 += xy[2 * i + 1];
    lat0 /= n;
    metres_per_degree(lat0, &kx, &ky);
    for (unsigned int i = 0; i + 1 < n; i++) {
        double x1 = (xy[2 * i] - xy[0]) * kx, y1 = (xy[2 * i + 1] - xy[1]) * ky;
        double x2 = (xy[2 * i + 2] - xy[0]) * kx, y2 = (xy[2 * i + 3] - xy[1]) * ky;
        sum += x1 * y2 - x2 * y1;
    }
    free(xy);
    return fabs(sum) / 2.0;
}

/* Area in m^2 of the polygonal parts of `g` (any type; lines and points count 0). */
static double area_m2(GEOSContextHandle_t ctx, const GEOSGeometry *g)
{
    int type = GEOSGeomTypeId_r(ctx, g);
    double sum = 0.0;

    if (type == GEOS_POLYGON) {
        const GEOSGeometry *shell = GEOSGetExteriorRing_r(ctx, g);
        int nholes = GEOSGetNumInteriorRings_r(ctx, g);
        if (!shell || GEOSisEmpty_r(ctx, g))
            return 0.0;
        sum = ring_area_m2(ctx, shell);
        for (int i = 0; i < nholes; i++)
            sum -= ring_area_m2(ctx, GEOSGetInteriorRingN_r(ctx, g, i));
        return sum > 0.0 ? sum : 0.0;
    }
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int n = GEOSGetNumGeometries_r(ctx, g);
        for (int i = 0; i < n; i++)
            sum += area_m2(ctx, GEOSGetGeometryN_r(ctx, g, i));
    }
    return sum;
}

/* Collect clones of the non-empty polygons in `g` into *parts. */
static int collect_polygons(GEOSContextHandle_t ctx, const GEOSGeometry *g, GEOSGeometry ***parts,
                            size_t *n, size_t *cap)
{
    int type = GEOSGeomTypeId_r(ctx, g);

    if (type == GEOS_POLYGON) {
        GEOSGeometry *c;
        if (GEOSisEmpty_r(ctx, g))
            return 0;
        if (!(c = GEOSGeom_clone_r(ctx, g)))
            return -1;
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 8;
            *parts = hm_xrealloc(*parts, *cap * sizeof **parts);
        }
        (*parts)[(*n)++] = c;
        return 0;
    }
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int k = GEOSGetNumGeometries_r(ctx, g);
        for (int i = 0; i < k; i++)
            if (collect_polygons(ctx, GEOSGetGeometryN_r(ctx, g, i), parts, n, cap) < 0)
                return -1;
    }
    return 0;
}

/* The polygonal part of `g` as a new Polygon (one part) or MultiPolygon.
 * Returns HM_OK with *out NULL when `g` has no area; HM_E_GEOS on failure. */
static int polygonal_part(GEOSContextHandle_t ctx, const GEOSGeometry *g, GEOSGeometry **out,
                          hm_error *err)
{
    GEOSGeometry **parts = NULL;
    size_t n = 0, cap = 0;
    int rc = HM_OK;

    *out = NULL;
    if (collect_polygons(ctx, g, &parts, &n, &cap) < 0) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS clone failed");
        goto out;
    }
    if (n == 1) {
        *out = parts[0];
        n = 0;
    } else if (n > 1) {
        *out = GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, parts, (unsigned)n);
        if (!*out) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS multipolygon creation failed");
            goto out;
        }
        n = 0; /* the collection owns the parts */
    }
out:
    for (size_t i = 0; i < n; i++)
        GEOSGeom_destroy_r(ctx, parts[i]);
    free(parts);
    return rc;
}

/* A point that `g` covers, from the longest inside piece of one of 63 horizontal lines
 * across its envelope (at dyadic fractions of its height); NULL when none has one. */
static GEOSGeometry *inside_point(GEOSContextHandle_t ctx, const GEOSGeometry *g)
{
    double x0, y0, x1, y1;

    if (!GEOSGeom_getXMin_r(ctx, g, &x0) || !GEOSGeom_getYMin_r(ctx, g, &y0) ||
        !GEOSGeom_getXMax_r(ctx, g, &x1) || !GEOSGeom_getYMax_r(ctx, g, &y1))
        return NULL;
    for (int k = 1; k < 64; k++) {
        /* 1/2, 1/4, 3/4, 1/8, 3/8, ...: the k-th dyadic fraction. */
        int level = 0;
        while ((2 << level) <= k)
            level++;
        double f = (2.0 * (k - (1 << level)) + 1.0) / (double)(2 << level);
        double y = y0 + f * (y1 - y0);
        GEOSCoordSequence *cs = GEOSCoordSeq_create_r(ctx, 2, 2);
        GEOSGeometry *line, *cut;
        GEOSGeometry *best_pt = NULL;
        double best = 0.0;
        if (!cs)
            return NULL;
        GEOSCoordSeq_setXY_r(ctx, cs, 0, x0 - 1.0, y);
        GEOSCoordSeq_setXY_r(ctx, cs, 1, x1 + 1.0, y);
        if (!(line = GEOSGeom_createLineString_r(ctx, cs)))
            return NULL;
        cut = GEOSIntersection_r(ctx, g, line);
        GEOSGeom_destroy_r(ctx, line);
        if (!cut)
            continue;
        for (int i = 0, n = GEOSGetNumGeometries_r(ctx, cut); i < n; i++) {
            const GEOSGeometry *piece = GEOSGetGeometryN_r(ctx, cut, i);
            double len = 0.0;
            GEOSGeometry *mid;
            if (GEOSGeomTypeId_r(ctx, piece) != GEOS_LINESTRING ||
                !GEOSLength_r(ctx, piece, &len) || !(len > best))
                continue;
            if (!(mid = GEOSInterpolate_r(ctx, piece, len / 2)))
                continue;
            if (GEOSCovers_r(ctx, g, mid) == 1) {
                if (best_pt)
                    GEOSGeom_destroy_r(ctx, best_pt);
                best_pt = mid;
                best = len;
            } else {
                GEOSGeom_destroy_r(ctx, mid);
            }
        }
        GEOSGeom_destroy_r(ctx, cut);
        if (best_pt)
            return best_pt;
    }
    return NULL;
}

/* Fill wkb, rep point and bbox of `a` from polygonal `g`. Replaces a->wkb only
 * on success. */
static int fill_geometry(GEOSContextHandle_t ctx, const GEOSGeometry *g, hm_area *a, hm_error *err)
{
    GEOSWKBWriter *w = NULL;
    unsigned char *buf = NULL;
    GEOSGeometry *pt = NULL;
    size_t len = 0;
    double x, y, bbox[4];
    int rc = HM_OK;

    if (!(w = GEOSWKBWriter_create_r(ctx))) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS WKB writer creation failed");
        goto out;
    }
    GEOSWKBWriter_setOutputDimension_r(ctx, w, 2);
    GEOSWKBWriter_setByteOrder_r(ctx, w, GEOS_WKB_NDR);
    GEOSWKBWriter_setFlavor_r(ctx, w, GEOS_WKB_ISO);
    if (!(buf = GEOSWKBWriter_write_r(ctx, w, g, &len))) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS WKB write failed");
        goto out;
    }
    if (!(pt = GEOSPointOnSurface_r(ctx, g))) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS point on surface failed");
        goto out;
    }
    /* GEOS may pick a point on a spike thinner than rounding (found by fuzz_geojson_area),
     * which then is in no area: try the middles of the longest inside pieces of other
     * horizontal lines through the area instead. */
    if (GEOSCovers_r(ctx, g, pt) != 1) {
        GEOSGeom_destroy_r(ctx, pt);
        pt = inside_point(ctx, g);
        if (!pt) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                              "area %s: no point found inside it", a->code ? a->code : "");
            goto out;
        }
    }
    if (!GEOSGeomGetX_r(ctx, pt, &x) || !GEOSGeomGetY_r(ctx, pt, &y)) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS point on surface failed");
        goto out;
    }
    if (!GEOSGeom_getXMin_r(ctx, g, &bbox[0]) || !GEOSGeom_getYMin_r(ctx, g, &bbox[1]) ||
        !GEOSGeom_getXMax_r(ctx, g, &bbox[2]) || !GEOSGeom_getYMax_r(ctx, g, &bbox[3])) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS envelope failed");
        goto out;
    }
    free(a->wkb);
    a->wkb = hm_xmalloc(len);
    memcpy(a->wkb, buf, len);
    a->wkb_len = len;
    a->rep_lon = x;
    a->rep_lat = y;
    memcpy(a->bbox, bbox, sizeof bbox);
out:
    if (pt)
        GEOSGeom_destroy_r(ctx, pt);
    if (buf)
        GEOSFree_r(ctx, buf);
    if (w)
        GEOSWKBWriter_destroy_r(ctx, w);
    return rc;
}

/* Read WKB into a new geometry; NULL on failure. */
static GEOSGeometry *from_wkb(GEOSContextHandle_t ctx, const unsigned char *wkb, size_t len)
{
    if (!wkb || !len)
        return NULL;
    return GEOSGeomFromWKB_buf_r(ctx, wkb, len);
}

/* If `*g` is invalid, replace it by its make-valid repair (polygonal part
 * only), set a->repaired and describe the repair in a->note. A repair that
 * leaves no area is HM_E_INVALID_FIELD. */
static int repair(GEOSContextHandle_t ctx, GEOSGeometry **g, hm_area *a, hm_error *err)
{
    GEOSMakeValidParams *params = NULL;
    GEOSGeometry *fixed = NULL, *poly = NULL;
    char *reason = NULL;
    char valid;
    int rc = HM_OK, parts;

    valid = GEOSisValid_r(ctx, *g);
    if (valid == 1)
        goto out;
    if (valid != 0) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS validity check failed");
        goto out;
    }
    reason = GEOSisValidReason_r(ctx, *g);
    /* The "structure" method keeps areas as areas (a bow-tie becomes two
     * triangles); fall back to the classic "linework" method. */
    params = GEOSMakeValidParams_create_r(ctx);
    if (params) {
        GEOSMakeValidParams_setMethod_r(ctx, params, GEOS_MAKE_VALID_STRUCTURE);
        GEOSMakeValidParams_setKeepCollapsed_r(ctx, params, 0);
        fixed = GEOSMakeValidWithParams_r(ctx, *g, params);
    }
    if (!fixed)
        fixed = GEOSMakeValid_r(ctx, *g);
    if (!fixed) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS make-valid failed");
        goto out;
    }
    if ((rc = polygonal_part(ctx, fixed, &poly, err)) != HM_OK)
        goto out;
    if (!poly || area_m2(ctx, poly) <= 0.0) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                          "invalid geometry (%s) and repair leaves no area",
                          reason ? reason : "unknown");
        goto out;
    }
    if (GEOSisValid_r(ctx, poly) != 1) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "make-valid result is still invalid");
        goto out;
    }
    parts =
        GEOSGeomTypeId_r(ctx, poly) == GEOS_MULTIPOLYGON ? GEOSGetNumGeometries_r(ctx, poly) : 1;
    a->repaired = true;
    note_add(a, "repaired invalid geometry (%s): now %d polygon%s", reason ? reason : "unknown",
             parts, parts == 1 ? "" : "s");
    GEOSGeom_destroy_r(ctx, *g);
    *g = poly;
    poly = NULL;
out:
    if (poly)
        GEOSGeom_destroy_r(ctx, poly);
    if (fixed)
        GEOSGeom_destroy_r(ctx, fixed);
    if (params)
        GEOSMakeValidParams_destroy_r(ctx, params);
    if (reason)
        GEOSFree_r(ctx, reason);
    return rc;
}

/* ---- GeoJSON reading ------------------------------------------------------ */

/* One GeoJSON linear ring -> GEOS LinearRing. An unclosed ring is closed and
 * noted as a repair. */
static int read_ring(GEOSContextHandle_t ctx, const json_t *ring, size_t poly_i, size_t ring_i,
                     hm_area *a, GEOSGeometry **out, hm_error *err)
{
    size_t n = json_is_array(ring) ? json_array_size(ring) : 0, count = 0;
    double *xy = NULL;
    GEOSCoordSequence *seq = NULL;
    int rc = HM_OK;

    if (!json_is_array(ring)) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                          "polygon %zu ring %zu is not an array of positions", poly_i, ring_i);
        goto out;
    }
    xy = hm_xmalloc(2 * (n + 1) * sizeof *xy);
    for (size_t i = 0; i < n; i++) {
        const json_t *pos = json_array_get(ring, i);
        const json_t *jx = json_array_get(pos, 0), *jy = json_array_get(pos, 1);
        double x, y;
        if (!json_is_array(pos) || !json_is_number(jx) || !json_is_number(jy)) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                              "polygon %zu ring %zu position %zu is not [lon, lat]", poly_i, ring_i,
                              i);
            goto out;
        }
        x = json_number_value(jx);
        y = json_number_value(jy);
        if (!hm_geo_valid_lonlat(x, y)) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                              "coordinate [%.7g, %.7g] outside lon/lat range "
                              "(polygon %zu ring %zu position %zu)",
                              x, y, poly_i, ring_i, i);
            goto out;
        }
        xy[2 * count] = x;
        xy[2 * count + 1] = y;
        count++;
    }
    if (count > 0 && (xy[0] != xy[2 * count - 2] || xy[1] != xy[2 * count - 1])) {
        xy[2 * count] = xy[0];
        xy[2 * count + 1] = xy[1];
        count++;
        a->repaired = true;
        note_add(a, "closed open ring %zu of polygon %zu", ring_i, poly_i);
    }
    if (count < 4) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                          "polygon %zu ring %zu has %zu positions, needs at least 4", poly_i,
                          ring_i, n);
        goto out;
    }
    seq = GEOSCoordSeq_copyFromBuffer_r(ctx, xy, (unsigned)count, 0, 0);
    /* createLinearRing takes the sequence even when it fails. */
    if (!seq || !(*out = GEOSGeom_createLinearRing_r(ctx, seq))) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS ring creation failed");
        goto out;
    }
out:
    free(xy);
    return rc;
}

/* GeoJSON Polygon coordinates -> GEOS Polygon. */
static int read_polygon(GEOSContextHandle_t ctx, const json_t *rings, size_t poly_i, hm_area *a,
                        GEOSGeometry **out, hm_error *err)
{
    size_t n = json_is_array(rings) ? json_array_size(rings) : 0, nholes = 0;
    GEOSGeometry *shell = NULL, **holes = NULL;
    int rc = HM_OK;

    if (n == 0) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry", "polygon %zu has no rings", poly_i);
        goto out;
    }
    if ((rc = read_ring(ctx, json_array_get(rings, 0), poly_i, 0, a, &shell, err)) != HM_OK)
        goto out;
    holes = hm_xcalloc(n, sizeof *holes);
    for (size_t i = 1; i < n; i++) {
        if ((rc = read_ring(ctx, json_array_get(rings, i), poly_i, i, a, &holes[nholes], err)) !=
            HM_OK)
            goto out;
        nholes++;
    }
    if (!(*out = GEOSGeom_createPolygon_r(ctx, shell, holes, (unsigned)nholes))) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS polygon creation failed");
        goto out;
    }
    shell = NULL; /* the polygon owns shell and holes, not the array */
    nholes = 0;
out:
    for (size_t i = 0; i < nholes; i++)
        GEOSGeom_destroy_r(ctx, holes[i]);
    free(holes);
    if (shell)
        GEOSGeom_destroy_r(ctx, shell);
    return rc;
}

/* GeoJSON geometry object -> GEOS (Multi)Polygon, coordinates checked. */
static int read_geometry(GEOSContextHandle_t ctx, const json_t *geom, hm_area *a,
                         GEOSGeometry **out, hm_error *err)
{
    const char *type = json_string_value(json_object_get(geom, "type"));
    const json_t *coords = json_object_get(geom, "coordinates");
    GEOSGeometry **polys = NULL;
    size_t n = 0, npolys = 0;
    int rc = HM_OK;

    if (!json_is_object(geom)) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry", "missing geometry");
        goto out;
    }
    if (!type || (strcmp(type, "Polygon") != 0 && strcmp(type, "MultiPolygon") != 0)) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                          "geometry type %s is not Polygon or MultiPolygon",
                          type ? type : "(missing)");
        goto out;
    }
    if (!json_is_array(coords) || json_array_size(coords) == 0) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry", "empty %s coordinates", type);
        goto out;
    }
    if (strcmp(type, "Polygon") == 0) {
        rc = read_polygon(ctx, coords, 0, a, out, err);
        goto out;
    }
    n = json_array_size(coords);
    polys = hm_xcalloc(n, sizeof *polys);
    for (size_t i = 0; i < n; i++) {
        if ((rc = read_polygon(ctx, json_array_get(coords, i), i, a, &polys[npolys], err)) != HM_OK)
            goto out;
        npolys++;
    }
    if (!(*out = GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, polys, (unsigned)npolys))) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS multipolygon creation failed");
        goto out;
    }
    npolys = 0; /* owned by the collection */
out:
    for (size_t i = 0; i < npolys; i++)
        GEOSGeom_destroy_r(ctx, polys[i]);
    free(polys);
    return rc;
}

/* Property `key` of `props` as new text: strings as they are, integers and
 * reals as decimal text. *out is NULL when the property is absent or null.
 * Objects, arrays and booleans are HM_E_INVALID_FIELD (`field`). */
/* True when UTF-8 `s` of `len` bytes holds a bidirectional control (U+202A-202E, U+2066-2069):
 * an override in an area's name reorders what every map label shows (issue 11). */
static bool has_bidi_control(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i + 2 < len; i++)
        if (p[i] == 0xe2 && ((p[i + 1] == 0x80 && p[i + 2] >= 0xaa && p[i + 2] <= 0xae) ||
                             (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)))
            return true;
    return false;
}

static int prop_text(const json_t *props, const char *key, const char *field, char **out,
                     hm_error *err)
{
    const json_t *v = json_is_object(props) ? json_object_get(props, key) : NULL;
    char num[64];

    *out = NULL;
    if (!v || json_is_null(v))
        return HM_OK;
    if (json_is_string(v)) {
        if (has_bidi_control(json_string_value(v), json_string_length(v)))
            return hm_error_set(err, HM_E_INVALID_FIELD, field,
                                "property \"%s\" must not hold text-direction characters", key);
        *out = hm_xstrndup(json_string_value(v), json_string_length(v));
        return HM_OK;
    }
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *out = hm_xstrdup(num);
        return HM_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 1e15)
            snprintf(num, sizeof num, "%.0f", d);
        else
            snprintf(num, sizeof num, "%.17g", d);
        *out = hm_xstrdup(num);
        return HM_OK;
    }
    return hm_error_set(err, HM_E_INVALID_FIELD, field,
                        "property \"%s\" must be a string or number", key);
}

int hm_area_from_feature(GEOSContextHandle_t ctx, const void *json_feature,
                         const hm_area_fields *fields, hm_area *out, hm_error *err)
{
    const json_t *f = json_feature, *props, *type;
    const char *code_key = fields && fields->code ? fields->code : "code";
    const char *name_key = fields && fields->name ? fields->name : "name";
    const char *parent_key = fields && fields->parent ? fields->parent : "parent_code";
    GEOSGeometry *g = NULL;
    hm_area a;
    int rc = HM_OK;

    memset(&a, 0, sizeof a);
    a.pop = -1;
    if (!json_is_object(f)) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "features", "feature is not a JSON object");
        goto out;
    }
    type = json_object_get(f, "type");
    if (type && !(json_is_string(type) && strcmp(json_string_value(type), "Feature") == 0)) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "type", "feature type must be \"Feature\"");
        goto out;
    }
    props = json_object_get(f, "properties");
    if (props && !json_is_object(props) && !json_is_null(props)) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "properties", "properties must be an object");
        goto out;
    }
    if ((rc = prop_text(props, code_key, "code", &a.code, err)) != HM_OK)
        goto out;
    if (!a.code || !a.code[0]) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "code", "missing property \"%s\"", code_key);
        goto out;
    }
    if (strlen(a.code) > CODE_MAX) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "code", "code longer than %d bytes", CODE_MAX);
        goto out;
    }
    for (const char *p = a.code; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "code", "code contains control characters");
            goto out;
        }
    }
    if ((rc = prop_text(props, name_key, "name", &a.name, err)) != HM_OK)
        goto out;
    if (!a.name)
        a.name = hm_xstrdup("");
    if ((rc = prop_text(props, parent_key, "parent_code", &a.parent_code, err)) != HM_OK)
        goto out;
    if (json_is_object(props)) {
        const json_t *pop = json_object_get(props, "pop_2019");
        if (!pop)
            pop = json_object_get(props, "population");
        if (json_is_integer(pop))
            a.pop = json_integer_value(pop);
        else if (json_is_real(pop) && isfinite(json_real_value(pop)) &&
                 fabs(json_real_value(pop)) < 9e18)
            a.pop = llround(json_real_value(pop));
    }
    if ((rc = read_geometry(ctx, json_object_get(f, "geometry"), &a, &g, err)) != HM_OK)
        goto out;
    if ((rc = repair(ctx, &g, &a, err)) != HM_OK)
        goto out;
    if ((rc = fill_geometry(ctx, g, &a, err)) != HM_OK)
        goto out;
    *out = a;
    memset(&a, 0, sizeof a);
out:
    if (g)
        GEOSGeom_destroy_r(ctx, g);
    hm_area_clear(&a);
    return rc;
}

typedef struct code_ref {
    const char *code;
    size_t index;
} code_ref;

static int code_ref_cmp(const void *pa, const void *pb)
{
    const code_ref *a = pa, *b = pb;
    int c = strcmp(a->code, b->code);
    if (c)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

int hm_area_read_geojson(GEOSContextHandle_t ctx, const char *text, size_t len,
                         const hm_area_fields *fields, hm_area_list *out, hm_error *err)
{
    json_t *root = NULL;
    json_error_t jerr;
    const json_t *features = NULL;
    const char *type;
    hm_area_list list = {NULL, 0};
    code_ref *refs = NULL;
    size_t n;
    int rc = HM_OK;

    if (!text || !(root = json_loadb(text, len, 0, &jerr))) {
        rc = hm_error_set(err, HM_E_BAD_JSON, NULL, "invalid JSON at line %d column %d: %s",
                          text ? jerr.line : 0, text ? jerr.column : 0,
                          text ? jerr.text : "no input");
        goto out;
    }
    type = json_string_value(json_object_get(root, "type"));
    if (type && strcmp(type, "FeatureCollection") == 0) {
        features = json_object_get(root, "features");
        if (!json_is_array(features)) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "features",
                              "FeatureCollection without a features array");
            goto out;
        }
        n = json_array_size(features);
    } else if (type && strcmp(type, "Feature") == 0) {
        n = 1;
    } else {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "type",
                          "expected a GeoJSON FeatureCollection or Feature");
        goto out;
    }
    list.items = hm_xcalloc(n, sizeof *list.items);
    for (size_t i = 0; i < n; i++) {
        const json_t *f = features ? json_array_get(features, i) : root;
        hm_error e = {0};
        if (hm_area_from_feature(ctx, f, fields, &list.items[i], &e) != HM_OK) {
            const char *code = json_string_value(json_object_get(
                json_object_get(f, "properties"), fields && fields->code ? fields->code : "code"));
            if (code && strlen(code) <= CODE_MAX)
                rc =
                    hm_error_set(err, e.code, e.field, "feature %zu (code %s): %s", i, code, e.msg);
            else
                rc = hm_error_set(err, e.code, e.field, "feature %zu: %s", i, e.msg);
            goto out;
        }
        list.count++;
    }
    refs = hm_xmalloc((n ? n : 1) * sizeof *refs);
    for (size_t i = 0; i < n; i++) {
        refs[i].code = list.items[i].code;
        refs[i].index = i;
    }
    qsort(refs, n, sizeof *refs, code_ref_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(refs[i - 1].code, refs[i].code) == 0) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "code",
                              "feature %zu: duplicate code %s (also feature %zu)", refs[i].index,
                              refs[i].code, refs[i - 1].index);
            goto out;
        }
    }
    *out = list;
    list.items = NULL;
    list.count = 0;
out:
    free(refs);
    hm_area_list_clear(&list);
    json_decref(root);
    return rc;
}

/* ---- fitting a hamlet into its ward --------------------------------------- */

int hm_area_fit(GEOSContextHandle_t ctx, hm_area *a, const hm_area_ref *parent,
                const hm_area_ref *siblings, size_t n_siblings, char *overlaps,
                size_t overlaps_size, hm_error *err)
{
    GEOSGeometry *g = NULL, *pg = NULL, *tmp = NULL, *poly = NULL, *sg = NULL;
    GEOSGeometry **slivers = NULL;
    const GEOSPreparedGeometry *prep = NULL;
    size_t n_slivers = 0;
    double removed_m2 = 0.0;
    hm_buf list;
    hm_area upd;
    int rc = HM_OK;
    char c;

    hm_buf_init(&list);
    memset(&upd, 0, sizeof upd);
    if (overlaps && overlaps_size)
        overlaps[0] = '\0';
    if (!(g = from_wkb(ctx, a->wkb, a->wkb_len))) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry", "area %s: unreadable WKB",
                          a->code ? a->code : "?");
        goto out;
    }
    if (parent) {
        if (!(pg = from_wkb(ctx, parent->wkb, parent->wkb_len))) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "parent %s: unreadable WKB",
                              parent->code ? parent->code : "?");
            goto out;
        }
        if ((c = GEOSCovers_r(ctx, pg, g)) == 2) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS covers failed");
            goto out;
        }
        if (!c) {
            double before = area_m2(ctx, g);
            if (!(tmp = GEOSIntersection_r(ctx, g, pg))) {
                rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS intersection with parent failed");
                goto out;
            }
            if ((rc = polygonal_part(ctx, tmp, &poly, err)) != HM_OK)
                goto out;
            if (!poly || area_m2(ctx, poly) <= 0.0) {
                rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                                  "area %s lies outside its parent %s", a->code ? a->code : "?",
                                  parent->code ? parent->code : "?");
                goto out;
            }
            removed_m2 = before - area_m2(ctx, poly);
            GEOSGeom_destroy_r(ctx, tmp);
            GEOSGeom_destroy_r(ctx, g);
            tmp = NULL;
            g = poly;
            poly = NULL;
        }
    }
    if (!(prep = GEOSPrepare_r(ctx, g))) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS prepare failed");
        goto out;
    }
    slivers = hm_xcalloc(n_siblings ? n_siblings : 1, sizeof *slivers);
    for (size_t i = 0; i < n_siblings; i++) {
        double m2;
        if (!(sg = from_wkb(ctx, siblings[i].wkb, siblings[i].wkb_len))) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "sibling %s: unreadable WKB",
                              siblings[i].code ? siblings[i].code : "?");
            goto out;
        }
        if ((c = GEOSPreparedIntersects_r(ctx, prep, sg)) == 2) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS intersects failed");
            goto out;
        }
        if (c) {
            if (!(tmp = GEOSIntersection_r(ctx, g, sg))) {
                rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS intersection with sibling failed");
                goto out;
            }
            m2 = area_m2(ctx, tmp);
            GEOSGeom_destroy_r(ctx, tmp);
            tmp = NULL;
            if (m2 >= 1.0) {
                if (list.len)
                    hm_buf_putc(&list, ',');
                hm_buf_puts(&list, siblings[i].code ? siblings[i].code : "?");
            } else if (m2 > 0.0) {
                slivers[n_slivers++] = sg; /* trimmed below */
                sg = NULL;
            }
        }
        if (sg)
            GEOSGeom_destroy_r(ctx, sg);
        sg = NULL;
    }
    if (list.len) {
        if (overlaps && overlaps_size)
            snprintf(overlaps, overlaps_size, "%s", list.data);
        rc = hm_error_set(err, HM_E_OVERLAP, "geometry", "area %s overlaps %s",
                          a->code ? a->code : "?", list.data);
        goto out;
    }
    GEOSPreparedGeom_destroy_r(ctx, prep);
    prep = NULL;
    for (size_t i = 0; i < n_slivers; i++) {
        double before = area_m2(ctx, g);
        if (!(tmp = GEOSDifference_r(ctx, g, slivers[i]))) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "GEOS difference failed");
            goto out;
        }
        if ((rc = polygonal_part(ctx, tmp, &poly, err)) != HM_OK)
            goto out;
        if (!poly) {
            rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry", "nothing left after trimming");
            goto out;
        }
        note_add(&upd, "trimmed %.3f m2 overlapping a sibling", before - area_m2(ctx, poly));
        GEOSGeom_destroy_r(ctx, tmp);
        GEOSGeom_destroy_r(ctx, g);
        tmp = NULL;
        g = poly;
        poly = NULL;
    }
    if ((rc = fill_geometry(ctx, g, &upd, err)) != HM_OK)
        goto out;
    /* Success: move the new geometry into `a` and append the notes. */
    free(a->wkb);
    a->wkb = upd.wkb;
    a->wkb_len = upd.wkb_len;
    upd.wkb = NULL;
    a->rep_lon = upd.rep_lon;
    a->rep_lat = upd.rep_lat;
    memcpy(a->bbox, upd.bbox, sizeof a->bbox);
    if (removed_m2 > 0.0)
        note_add(a, "clipped to parent %s (%.1f m2 removed)", parent->code ? parent->code : "?",
                 removed_m2);
    if (upd.note[0])
        note_add(a, "%s", upd.note);
out:
    free(upd.wkb);
    if (prep)
        GEOSPreparedGeom_destroy_r(ctx, prep);
    for (size_t i = 0; i < n_slivers; i++)
        GEOSGeom_destroy_r(ctx, slivers[i]);
    free(slivers);
    if (sg)
        GEOSGeom_destroy_r(ctx, sg);
    if (poly)
        GEOSGeom_destroy_r(ctx, poly);
    if (tmp)
        GEOSGeom_destroy_r(ctx, tmp);
    if (pg)
        GEOSGeom_destroy_r(ctx, pg);
    if (g)
        GEOSGeom_destroy_r(ctx, g);
    hm_buf_clear(&list);
    return rc;
}

/* ---- exact orientation ------------------------------------------------------
 * Sign of the determinant | ax-cx  ay-cy ; bx-cx  by-cy |: +1 when a, b, c turn
 * counter-clockwise, -1 clockwise, 0 collinear. A floating-point filter
 * (Shewchuk's ccwerrboundA) decides almost every call; the rest are computed
 * exactly with expansion arithmetic (Shewchuk, "Adaptive Precision
 * Floating-Point Arithmetic and Fast Robust Geometric Predicates", 1997).
 * Needs IEEE double without FMA contraction (built with -ffp-contract=off). */

static void two_sum(double a, double b, double *x, double *y)
{
    double s = a + b, bv = s - a, av = s - bv;
    *x = s;
    *y = (a - av) + (b - bv);
}

static void split(double a, double *hi, double *lo)
{
    double c = 134217729.0 * a; /* 2^27 + 1 */
    double abig = c - a;
    *hi = c - abig;
    *lo = a - *hi;
}

static void two_prod(double a, double b, double *x, double *y)
{
    double p = a * b, ahi, alo, bhi, blo, e1, e2, e3;
    split(a, &ahi, &alo);
    split(b, &bhi, &blo);
    e1 = p - ahi * bhi;
    e2 = e1 - alo * bhi;
    e3 = e2 - ahi * blo;
    *x = p;
    *y = alo * blo - e3;
}

/* h = e + b (e has n non-overlapping components, increasing magnitude, no
 * zeros); returns the length of h. */
static int grow_expansion(int n, const double *e, double b, double *h)
{
    double q = b, qn, hh;
    int k = 0;
    for (int i = 0; i < n; i++) {
        two_sum(q, e[i], &qn, &hh);
        q = qn;
        if (hh != 0.0)
            h[k++] = hh;
    }
    if (q != 0.0 || k == 0)
        h[k++] = q;
    return k;
}

static int orient_exact(double ax, double ay, double bx, double by, double cx, double cy)
{
    /* det = ax*by - ay*bx + bx*cy - by*cx + cx*ay - cy*ax */
    double terms[12], e[16], h[16];
    int n = 0;

    two_prod(ax, by, &terms[0], &terms[1]);
    two_prod(-ay, bx, &terms[2], &terms[3]);
    two_prod(bx, cy, &terms[4], &terms[5]);
    two_prod(-by, cx, &terms[6], &terms[7]);
    two_prod(cx, ay, &terms[8], &terms[9]);
    two_prod(-cy, ax, &terms[10], &terms[11]);
    for (int i = 0; i < 12; i++) {
        n = grow_expansion(n, e, terms[i], h);
        memcpy(e, h, (size_t)n * sizeof *e);
    }
    return (e[n - 1] > 0.0) - (e[n - 1] < 0.0);
}

static inline int orient(double ax, double ay, double bx, double by, double cx, double cy)
{
    const double errbound = (3.0 + 16.0 * 0x1p-53) * 0x1p-53;
    double detleft = (ax - cx) * (by - cy);
    double detright = (ay - cy) * (bx - cx);
    double det = detleft - detright, detsum;

    if (detleft > 0.0) {
        if (detright <= 0.0)
            return (det > 0.0) - (det < 0.0);
        detsum = detleft + detright;
    } else if (detleft < 0.0) {
        if (detright >= 0.0)
            return (det > 0.0) - (det < 0.0);
        detsum = -detleft - detright;
    } else {
        return (det > 0.0) - (det < 0.0);
    }
    if (det >= errbound * detsum || -det >= errbound * detsum)
        return (det > 0.0) - (det < 0.0);
    return orient_exact(ax, ay, bx, by, cx, cy);
}

/* ---- point-to-area index -------------------------------------------------- */

typedef struct edge {
    double ax, ay, bx, by;
} edge;

/* An area that may cover part of a cell: covered(q) = q on one of its edges,
 * or inside XOR (number of edges crossing R-q is odd). */
typedef struct cand {
    uint32_t area;   /* index into the level's codes (code order) */
    uint32_t inside; /* status of R, which is on no edge */
    double rx, ry;   /* R */
    uint32_t edge0, nedges;
} cand;

typedef struct cellrec {
    int32_t fallback; /* area covering the whole cell, tried after the candidates; -1 none */
    uint32_t cand0, ncand;
} cellrec;

/* cells[] value: >= 0 area index; CELL_NONE; <= CELL_REC0 record CELL_REC0 - v. */
#define CELL_NONE (-1)
#define CELL_REC0 (-2)

typedef struct grid {
    size_t n_areas;
    char **codes; /* code (strcmp) order; owned */
    double x0, y0, x1, y1;
    double w, h, inv_w, inv_h;
    int nx, ny;
    int32_t *cells;
    cellrec *recs;
    cand *cands;
    edge *edges;
    size_t n_recs, n_cands, n_edges;
} grid;

struct hm_area_index {
    grid lv[HM_LEVEL__COUNT];
};

static inline int cell_ix(const grid *g, double x)
{
    double t = (x - g->x0) * g->inv_w;
    if (!(t > 0.0))
        return 0;
    if (t >= g->nx)
        return g->nx - 1;
    return (int)t;
}

static inline int cell_iy(const grid *g, double y)
{
    double t = (y - g->y0) * g->inv_h;
    if (!(t > 0.0))
        return 0;
    if (t >= g->ny)
        return g->ny - 1;
    return (int)t;
}

/* min/max for the lookup path: coordinates there are never NaN, and unlike
 * fmin()/fmax() these compile to single instructions. */
static inline double dmin(double a, double b)
{
    return a < b ? a : b;
}

static inline double dmax(double a, double b)
{
    return a > b ? a : b;
}

/* Whether q is covered by an area, given `e`, every edge of the area that
 * touches a convex region holding both q and R, and the status of R (which
 * lies on no edge). */
static int edges_cover(const edge *e, size_t n, double rx, double ry, uint32_t inside, double qx,
                       double qy)
{
    const edge *end = e + n;
    const double lox = dmin(rx, qx), hix = dmax(rx, qx), loy = dmin(ry, qy), hiy = dmax(ry, qy);
    uint32_t flips = 0;

    for (; e < end; e++) {
        /* An edge whose box misses the box of R-q can neither hold q nor
         * cross R-q (exact comparisons; touching boxes are not skipped). */
        if (dmax(e->ax, e->bx) < lox || dmin(e->ax, e->bx) > hix || dmax(e->ay, e->by) < loy ||
            dmin(e->ay, e->by) > hiy)
            continue;
        int oq = orient(e->ax, e->ay, e->bx, e->by, qx, qy);
        if (oq == 0) {
            if (qx >= dmin(e->ax, e->bx) && qx <= dmax(e->ax, e->bx) && qy >= dmin(e->ay, e->by) &&
                qy <= dmax(e->ay, e->by))
                return 1; /* on the boundary */
            continue;     /* on the line, off the segment: cannot cross R-q */
        }
        /* Vertices on the line R-q count as being on its positive side (a
         * consistent perturbation), so a ring passing through a vertex on
         * the line is counted once or not at all, as it should. */
        int sa = orient(rx, ry, qx, qy, e->ax, e->ay) >= 0;
        int sb = orient(rx, ry, qx, qy, e->bx, e->by) >= 0;
        if (sa != sb && orient(e->ax, e->ay, e->bx, e->by, rx, ry) != oq)
            flips ^= 1;
    }
    return (int)(inside ^ flips);
}

static inline int cand_covers(const grid *g, const cand *c, double qx, double qy)
{
    return edges_cover(g->edges + c->edge0, c->nedges, c->rx, c->ry, c->inside, qx, qy);
}

int hm_area__orient(double ax, double ay, double bx, double by, double cx, double cy)
{
    return orient(ax, ay, bx, by, cx, cy);
}

int hm_area__edges_cover(const double *abxy, size_t n, double rx, double ry, int r_inside,
                         double qx, double qy)
{
    edge *e = hm_xmalloc((n ? n : 1) * sizeof *e);
    int rc;

    for (size_t i = 0; i < n; i++) {
        e[i].ax = abxy[4 * i];
        e[i].ay = abxy[4 * i + 1];
        e[i].bx = abxy[4 * i + 2];
        e[i].by = abxy[4 * i + 3];
    }
    rc = edges_cover(e, n, rx, ry, r_inside ? 1u : 0u, qx, qy);
    free(e);
    return rc;
}

static const char *grid_locate(const grid *g, double x, double y)
{
    const cellrec *r;
    int32_t v;

    if (!(x >= g->x0 && x <= g->x1 && y >= g->y0 && y <= g->y1))
        return NULL; /* also NaN and empty levels (x0 > x1) */
    v = g->cells[(size_t)cell_iy(g, y) * (size_t)g->nx + (size_t)cell_ix(g, x)];
    if (v >= 0)
        return g->codes[v];
    if (v == CELL_NONE)
        return NULL;
    r = &g->recs[CELL_REC0 - v];
    for (uint32_t k = 0; k < r->ncand; k++) {
        const cand *c = &g->cands[r->cand0 + k];
        if (cand_covers(g, c, x, y))
            return g->codes[c->area];
    }
    return r->fallback >= 0 ? g->codes[r->fallback] : NULL;
}

void hm_area_index_locate(const hm_area_index *idx, double lon, double lat,
                          const char *out[HM_LEVEL__COUNT])
{
    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        out[l] = idx ? grid_locate(&idx->lv[l], lon, lat) : NULL;
}

size_t hm_area_index_count(const hm_area_index *idx, hm_level level)
{
    if (!idx || (unsigned)level >= HM_LEVEL__COUNT)
        return 0;
    return idx->lv[level].n_areas;
}

static void grid_clear(grid *g)
{
    for (size_t i = 0; i < g->n_areas; i++)
        free(g->codes[i]);
    free(g->codes);
    free(g->cells);
    free(g->recs);
    free(g->cands);
    free(g->edges);
    memset(g, 0, sizeof *g);
}

void hm_area_index_destroy(hm_area_index *idx)
{
    if (!idx)
        return;
    for (int l = 0; l < HM_LEVEL__COUNT; l++)
        grid_clear(&idx->lv[l]);
    free(idx);
}

/* -- build -- */

/* One area while building: its ring edges (zero-length ones dropped). */
typedef struct barea {
    const char *code; /* borrowed from the source */
    size_t src;       /* index in the caller's array, for a stable order */
    edge *edges;
    size_t n_edges;
    double xmin, xmax; /* of the edges */
} barea;

static int barea_cmp(const void *pa, const void *pb)
{
    const barea *a = pa, *b = pb;
    int c = strcmp(a->code, b->code);
    if (c)
        return c;
    return a->src < b->src ? -1 : a->src > b->src;
}

/* Location of (x, y) for a whole ring set, as GEOS's RayCrossingCounter
 * decides it with exact orientation: 0 exterior, 1 interior, 2 boundary. Only
 * edges whose y-range contains y matter, so callers may pass just those. */
static int ray_locate(const edge *e, size_t n, double x, double y)
{
    size_t crossings = 0;

    for (size_t i = 0; i < n; i++) {
        double p1x = e[i].ax, p1y = e[i].ay, p2x = e[i].bx, p2y = e[i].by;
        if (p1x < x && p2x < x)
            continue;
        if (x == p2x && y == p2y)
            return 2;
        if (x == p1x && y == p1y)
            return 2;
        if (p1y == y && p2y == y) {
            if (x >= fmin(p1x, p2x) && x <= fmax(p1x, p2x))
                return 2;
            continue;
        }
        if ((p1y > y && p2y <= y) || (p2y > y && p1y <= y)) {
            int s = orient(p1x, p1y, p2x, p2y, x, y);
            if (s == 0)
                return 2;
            if (p2y < p1y)
                s = -s;
            if (s > 0)
                crossings++;
        }
    }
    return (int)(crossings & 1);
}

/* Append the edges of every ring of (Multi)Polygon `g` to `a`. */
static int add_rings(GEOSContextHandle_t ctx, const GEOSGeometry *g, barea *a, size_t *cap)
{
    int type = GEOSGeomTypeId_r(ctx, g);

    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int n = GEOSGetNumGeometries_r(ctx, g);
        for (int i = 0; i < n; i++)
            if (add_rings(ctx, GEOSGetGeometryN_r(ctx, g, i), a, cap) < 0)
                return -1;
        return 0;
    }
    if (type != GEOS_POLYGON)
        return 0;
    if (GEOSisEmpty_r(ctx, g))
        return 0;
    int nholes = GEOSGetNumInteriorRings_r(ctx, g);
    for (int r = -1; r < nholes; r++) {
        const GEOSGeometry *ring =
            r < 0 ? GEOSGetExteriorRing_r(ctx, g) : GEOSGetInteriorRingN_r(ctx, g, r);
        const GEOSCoordSequence *seq = ring ? GEOSGeom_getCoordSeq_r(ctx, ring) : NULL;
        unsigned int n = 0;
        double *xy;
        if (!seq || !GEOSCoordSeq_getSize_r(ctx, seq, &n))
            return -1;
        xy = hm_xmalloc(2 * (size_t)(n ? n : 1) * sizeof *xy);
        if (n && !GEOSCoordSeq_copyToBuffer_r(ctx, seq, xy, 0, 0)) {
            free(xy);
            return -1;
        }
        for (unsigned int i = 0; i + 1 < n; i++) {
            edge e = {xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3]};
            if (e.ax == e.bx && e.ay == e.by)
                continue;
            if (a->n_edges == *cap) {
                *cap = *cap ? 2 * *cap : 256;
                a->edges = hm_xrealloc(a->edges, *cap * sizeof *a->edges);
            }
            a->edges[a->n_edges++] = e;
            a->xmin = fmin(a->xmin, fmin(e.ax, e.bx));
            a->xmax = fmax(a->xmax, fmax(e.ax, e.bx));
        }
        free(xy);
    }
    return 0;
}

/* Edges of a source area, from its WKB. An invalid polygon is repaired
 * first, so that the answers stay those of GEOS covers on a valid area. */
static int load_area(GEOSContextHandle_t ctx, const hm_area_src *src, barea *a, hm_error *err)
{
    GEOSGeometry *g = NULL;
    hm_area tmp;
    size_t cap = 0;
    int rc = HM_OK, type;

    memset(&tmp, 0, sizeof tmp);
    a->xmin = INFINITY;
    a->xmax = -INFINITY;
    if (!(g = from_wkb(ctx, src->wkb, src->wkb_len))) {
        rc =
            hm_error_set(err, HM_E_INVALID_FIELD, "geometry", "area %s: unreadable WKB", src->code);
        goto out;
    }
    type = GEOSGeomTypeId_r(ctx, g);
    if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "geometry",
                          "area %s: WKB is not a Polygon or MultiPolygon", src->code);
        goto out;
    }
    if ((rc = repair(ctx, &g, &tmp, err)) != HM_OK)
        goto out;
    if (tmp.repaired)
        hm_log(HM_LOG_WARN, "event=area_index_repair level=%s code=%s note=\"%s\"",
               hm_level_name(src->level), src->code, tmp.note);
    if (add_rings(ctx, g, a, &cap) < 0) {
        rc =
            hm_error_set(err, HM_E_GEOS, NULL, "area %s: GEOS coordinate access failed", src->code);
        goto out;
    }
out:
    if (g)
        GEOSGeom_destroy_r(ctx, g);
    return rc;
}

/* A cell touched by an edge: (row, area, col, edge). */
typedef struct touch {
    uint32_t row, area, col, edge;
} touch;

static int touch_cmp(const void *pa, const void *pb)
{
    const touch *a = pa, *b = pb;
    if (a->row != b->row)
        return a->row < b->row ? -1 : 1;
    if (a->area != b->area)
        return a->area < b->area ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->edge < b->edge ? -1 : a->edge > b->edge;
}

typedef struct vec {
    void *data;
    size_t n, cap, size;
} vec;

static void *vec_push(vec *v)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 1024;
        v->data = hm_xrealloc(v->data, v->cap * v->size);
    }
    return (char *)v->data + v->size * v->n++;
}

static int dbl_cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Mark every cell whose box comes within `mx`/`my` of edge `e`. The margins
 * are far above the rounding of cell_ix()/cell_iy() at cell borders, so the
 * marked set contains every cell the edge really touches. */
static void rasterize(const grid *g, const edge *e, uint32_t area, uint32_t ei, double mx,
                      double my, vec *touches)
{
    double ylo = fmin(e->ay, e->by), yhi = fmax(e->ay, e->by);
    double xlo = fmin(e->ax, e->bx), xhi = fmax(e->ax, e->bx);
    int j0 = cell_iy(g, ylo - my), j1 = cell_iy(g, yhi + my);

    for (int j = j0; j <= j1; j++) {
        double by0 = fmax(ylo, g->y0 + j * g->h - my), by1 = fmin(yhi, g->y0 + (j + 1) * g->h + my);
        double x_lo = xlo, x_hi = xhi;
        if (e->ay != e->by) {
            double s = (e->bx - e->ax) / (e->by - e->ay);
            double xa = e->ax + (by0 - e->ay) * s, xb = e->ax + (by1 - e->ay) * s;
            x_lo = fmax(xlo, fmin(xa, xb));
            x_hi = fmin(xhi, fmax(xa, xb));
            if (x_lo > x_hi) { /* rounding on a nearly horizontal sliver */
                double t = x_lo;
                x_lo = x_hi;
                x_hi = t;
            }
        }
        int i0 = cell_ix(g, x_lo - mx), i1 = cell_ix(g, x_hi + mx);
        for (int i = i0; i <= i1; i++) {
            touch *t = vec_push(touches);
            t->row = (uint32_t)j;
            t->area = area;
            t->col = (uint32_t)i;
            t->edge = ei;
        }
    }
}

/* A reference point in cell (i, j) that lies on no edge of `a`, and its
 * status. Tries the centre first (with only the row's edges, `re`), then
 * other points of the cell against all edges. Returns -1 if none is found. */
static int pick_ref(const grid *g, const barea *a, const edge *re, size_t nre, int i, int j,
                    double *rx, double *ry)
{
    static const double f[][2] = {{0.5, 0.5},       {0.25, 0.75},     {0.75, 0.25},
                                  {0.375, 0.625},   {0.625, 0.375},   {0.3125, 0.4375},
                                  {0.5625, 0.6875}, {0.1875, 0.8125}, {0.8125, 0.1875}};
    const size_t nf = sizeof f / sizeof f[0];
    /* The fixed points first, then the Halton points (bases 2 and 3) of the cell: edges
     * through all of them would take a few hundred edges in one cell. */
    for (size_t k = 0; k < nf + 256; k++) {
        double fx, fy, x, y;
        int s;
        if (k < nf) {
            fx = f[k][0];
            fy = f[k][1];
        } else {
            fx = fy = 0.0;
            for (double b = 0.5, m = k - nf + 1; m >= 1; b /= 2, m = floor(m / 2))
                fx += b * fmod(m, 2);
            for (double b = 1.0 / 3, m = k - nf + 1; m >= 1; b /= 3, m = floor(m / 3))
                fy += b * fmod(m, 3);
        }
        x = g->x0 + (i + fx) * g->w;
        y = g->y0 + (j + fy) * g->h;
        if (cell_ix(g, x) != i || cell_iy(g, y) != j)
            continue;
        s = k == 0 ? ray_locate(re, nre, x, y) : ray_locate(a->edges, a->n_edges, x, y);
        if (s != 2) {
            *rx = x;
            *ry = y;
            return s;
        }
    }
    return -1;
}

typedef struct pcand { /* candidate while building one row */
    uint32_t col, area, inside;
    double rx, ry;
    size_t t0, nt; /* run in the touches array */
} pcand;

static int pcand_cmp(const void *pa, const void *pb)
{
    const pcand *a = pa, *b = pb;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->area < b->area ? -1 : a->area > b->area;
}

/* Build the grid of one level from its areas (sorted by code). */
static int grid_build(grid *g, barea *areas, size_t n, hm_error *err)
{
    vec touches = {NULL, 0, 0, sizeof(touch)}, rowedges = {NULL, 0, 0, sizeof(edge)};
    vec recs = {NULL, 0, 0, sizeof(cellrec)}, cands = {NULL, 0, 0, sizeof(cand)};
    vec edges = {NULL, 0, 0, sizeof(edge)}, pc = {NULL, 0, 0, sizeof(pcand)};
    double *xs = NULL;
    int32_t *first = NULL;
    size_t total = 0, xs_cap = 0, t = 0;
    double mx, my, mid_lat, kx, ky, aspect, target;
    int rc = HM_OK;

    g->n_areas = n;
    g->codes = hm_xcalloc(n ? n : 1, sizeof *g->codes);
    for (size_t k = 0; k < n; k++)
        g->codes[k] = hm_xstrdup(areas[k].code);
    g->x0 = g->y0 = INFINITY;
    g->x1 = g->y1 = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        for (size_t m = 0; m < areas[k].n_edges; m++) {
            const edge *e = &areas[k].edges[m];
            g->x0 = fmin(g->x0, fmin(e->ax, e->bx));
            g->x1 = fmax(g->x1, fmax(e->ax, e->bx));
            g->y0 = fmin(g->y0, fmin(e->ay, e->by));
            g->y1 = fmax(g->y1, fmax(e->ay, e->by));
        }
        total += areas[k].n_edges;
    }
    if (total == 0) { /* nothing to find: every lookup is outside */
        g->x0 = g->y0 = 1.0;
        g->x1 = g->y1 = 0.0;
        goto out;
    }
    /* About 8 cells per edge (at least 64x64, at most 2^21 cells), square in
     * metres: few edges per boundary cell, and most cells need no test. */
    mid_lat = (g->y0 + g->y1) / 2.0;
    metres_per_degree(mid_lat, &kx, &ky);
    aspect = ((g->x1 - g->x0) * kx + 1e-3) / ((g->y1 - g->y0) * ky + 1e-3);
    target = fmin(fmax(8.0 * (double)total, 4096.0), 2097152.0);
    g->nx = (int)fmin(fmax(round(sqrt(target * aspect)), 1.0), 4096.0);
    g->ny = (int)fmin(fmax(round(target / g->nx), 1.0), 4096.0);
    g->w = (g->x1 - g->x0) / g->nx;
    g->h = (g->y1 - g->y0) / g->ny;
    /* Cells of at least 1e-9 degree (0.1 mm; the grid then reaches past the areas, which is
     * harmless): a cell only a few units in the last place high or wide has no point that is
     * not on an edge through it, and pick_ref() needs one. A repaired sliver can be that flat
     * (found by fuzz_geojson_area). */
    if (!(g->w >= 1e-9))
        g->w = 1e-9;
    if (!(g->h >= 1e-9))
        g->h = 1e-9;
    g->inv_w = 1.0 / g->w;
    g->inv_h = 1.0 / g->h;
    mx = g->w * 1e-6 + 1e-12;
    my = g->h * 1e-6 + 1e-12;

    for (size_t k = 0; k < n; k++)
        for (size_t m = 0; m < areas[k].n_edges; m++)
            rasterize(g, &areas[k].edges[m], (uint32_t)k, (uint32_t)m, mx, my, &touches);
    qsort(touches.data, touches.n, sizeof(touch), touch_cmp);

    g->cells = hm_xmalloc((size_t)g->nx * (size_t)g->ny * sizeof *g->cells);
    first = hm_xmalloc((size_t)g->nx * sizeof *first);
    for (int j = 0; j < g->ny; j++) {
        const touch *T = touches.data;
        double yc = g->y0 + (j + 0.5) * g->h;
        pc.n = 0;
        for (int i = 0; i < g->nx; i++)
            first[i] = -1;
        for (size_t k = 0; k < n; k++) {
            const barea *a = &areas[k];
            size_t t0 = t, nx_cross = 0, p = 0;
            /* The run of touches of (row j, area k), sorted by column. */
            while (t < touches.n && T[t].row == (uint32_t)j && T[t].area == (uint32_t)k)
                t++;
            /* Edges whose y-range contains the row's centre line. */
            rowedges.n = 0;
            for (size_t m = 0; m < a->n_edges; m++) {
                const edge *e = &a->edges[m];
                if (yc >= fmin(e->ay, e->by) && yc <= fmax(e->ay, e->by)) {
                    *(edge *)vec_push(&rowedges) = *e;
                    if ((e->ay > yc) != (e->by > yc)) {
                        if (nx_cross == xs_cap) {
                            xs_cap = xs_cap ? 2 * xs_cap : 64;
                            xs = hm_xrealloc(xs, xs_cap * sizeof *xs);
                        }
                        xs[nx_cross++] = e->ax + (yc - e->ay) * (e->bx - e->ax) / (e->by - e->ay);
                    }
                }
            }
            if (rowedges.n == 0 && t == t0)
                continue; /* area misses this row */
            /* xs may still be NULL here, and qsort(NULL, 0) is UB (issue 6). */
            if (nx_cross > 1)
                qsort(xs, nx_cross, sizeof *xs, dbl_cmp);
            /* Cells beyond the area's x-range are outside it and untouched. */
            int i0 = cell_ix(g, a->xmin - mx), i1 = cell_ix(g, a->xmax + mx);
            size_t u = t0;
            for (int i = i0; i <= i1; i++) {
                double xc = g->x0 + (i + 0.5) * g->w;
                bool touched = u < t && T[u].col == (uint32_t)i;
                size_t u0 = u;
                while (u < t && T[u].col == (uint32_t)i)
                    u++;
                while (p < nx_cross && xs[p] <= xc)
                    p++;
                if (first[i] >= 0)
                    continue; /* a lower code covers the whole cell */
                if (touched) {
                    pcand *c = vec_push(&pc);
                    int s = pick_ref(g, a, rowedges.data, rowedges.n, i, j, &c->rx, &c->ry);
                    if (s < 0) {
                        rc = hm_error_set(err, HM_E_INTERNAL, NULL,
                                          "area %s: no reference point in cell %d,%d", a->code, i,
                                          j);
                        goto out;
                    }
                    c->col = (uint32_t)i;
                    c->area = (uint32_t)k;
                    c->inside = (uint32_t)s;
                    c->t0 = u0;
                    c->nt = u - u0;
                    continue;
                }
                /* Untouched: the whole cell has the status of its centre.
                 * Crossings near the centre would mean a touching edge; if
                 * rounding puts one close anyway, decide exactly. */
                int inside = (int)((nx_cross - p) & 1);
                if ((p > 0 && xc - xs[p - 1] < 0.25 * g->w) ||
                    (p < nx_cross && xs[p] - xc < 0.25 * g->w)) {
                    int s = ray_locate(rowedges.data, rowedges.n, xc, yc);
                    assert(s != 2);
                    inside = s == 1;
                }
                if (inside)
                    first[i] = (int32_t)k;
            }
        }
        /* Cells of this row: candidates in code order, then the fallback. */
        qsort(pc.data, pc.n, sizeof(pcand), pcand_cmp);
        const pcand *P = pc.data;
        size_t q = 0;
        for (int i = 0; i < g->nx; i++) {
            size_t q0 = q;
            int32_t *cell = &g->cells[(size_t)j * (size_t)g->nx + (size_t)i];
            while (q < pc.n && P[q].col == (uint32_t)i)
                q++;
            if (q == q0) {
                *cell = first[i] >= 0 ? first[i] : CELL_NONE;
                continue;
            }
            cellrec *r = vec_push(&recs);
            r->fallback = first[i];
            r->cand0 = (uint32_t)cands.n;
            r->ncand = 0;
            for (size_t m = q0; m < q; m++) {
                /* candidates were taken only before a lower container was found */
                assert(first[i] < 0 || P[m].area < (uint32_t)first[i]);
                cand *c = vec_push(&cands);
                c->area = P[m].area;
                c->inside = P[m].inside;
                c->rx = P[m].rx;
                c->ry = P[m].ry;
                c->edge0 = (uint32_t)edges.n;
                c->nedges = (uint32_t)P[m].nt;
                for (size_t z = 0; z < P[m].nt; z++)
                    *(edge *)vec_push(&edges) = areas[P[m].area].edges[T[P[m].t0 + z].edge];
                r->ncand++;
            }
            *cell = (int32_t)(CELL_REC0 - (int64_t)(recs.n - 1));
        }
    }
    g->recs = recs.data;
    g->n_recs = recs.n;
    g->cands = cands.data;
    g->n_cands = cands.n;
    g->edges = edges.data;
    g->n_edges = edges.n;
    recs.data = cands.data = edges.data = NULL;
out:
    free(recs.data);
    free(cands.data);
    free(edges.data);
    free(pc.data);
    free(rowedges.data);
    free(touches.data);
    free(first);
    free(xs);
    return rc;
}

static void on_geos_message(const char *message, void *userdata)
{
    (void)userdata;
    hm_log(HM_LOG_DEBUG, "event=geos_message msg=\"%s\"", message);
}

hm_area_index *hm_area_index_create(const hm_area_src *areas, size_t n, hm_error *err)
{
    GEOSContextHandle_t ctx = NULL;
    hm_area_index *idx = NULL;
    barea *b = NULL;
    size_t nb = 0;

    idx = hm_xcalloc(1, sizeof *idx);
    if (!(ctx = GEOS_init_r())) {
        hm_error_set(err, HM_E_GEOS, NULL, "GEOS_init_r failed");
        goto fail;
    }
    GEOSContext_setErrorMessageHandler_r(ctx, on_geos_message, NULL);
    GEOSContext_setNoticeMessageHandler_r(ctx, on_geos_message, NULL);
    b = hm_xcalloc(n ? n : 1, sizeof *b);
    for (int l = 0; l < HM_LEVEL__COUNT; l++) {
        for (size_t k = 0; k < nb; k++)
            free(b[k].edges);
        memset(b, 0, (n ? n : 1) * sizeof *b);
        nb = 0;
        for (size_t k = 0; k < n; k++) {
            if ((unsigned)areas[k].level >= HM_LEVEL__COUNT) {
                hm_error_set(err, HM_E_INVALID_FIELD, "level", "area %zu: unknown level %d", k,
                             (int)areas[k].level);
                goto fail;
            }
            if (areas[k].level != (hm_level)l)
                continue;
            if (!areas[k].code || !areas[k].code[0]) {
                hm_error_set(err, HM_E_INVALID_FIELD, "code", "area %zu: missing code", k);
                goto fail;
            }
            b[nb].code = areas[k].code;
            b[nb].src = k;
            nb++;
            if (load_area(ctx, &areas[k], &b[nb - 1], err) != HM_OK)
                goto fail;
        }
        qsort(b, nb, sizeof *b, barea_cmp);
        if (grid_build(&idx->lv[l], b, nb, err) != HM_OK)
            goto fail;
    }
    goto out;
fail:
    hm_area_index_destroy(idx);
    idx = NULL;
out:
    for (size_t k = 0; k < nb; k++)
        free(b[k].edges);
    free(b);
    if (ctx)
        GEOS_finish_r(ctx);
    return idx;
}
