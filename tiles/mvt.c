/* mvt.c: the MVT layer writer (mvt_int.h), options, schemas, and the
 * polygon layers (wards, former_wards, hamlets); see mvt.h. The requests
 * layer lives in cluster.c. */
#include "mvt.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mvt_int.h"

const char *const hm_mvt_categories[HM_MVT_CATEGORY_COUNT] = {
    "food", "water", "medical", "cash", "shelter", "rescue", "other",
};

const char *const hm_mvt_statuses[HM_MVT_STATUS_COUNT] = {
    "new", "assigned", "in_progress", "resolved", "cancelled", "duplicate",
};

/* Index of `s` in names[0..n), whose first letters all differ: the first
 * letter finds the candidate, one comparison confirms. This runs for every
 * point at cluster zooms, a million times for a z10 tile. */
static int index_of(const char *s, const char *const *names, int n)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (names[i][0] == s[0])
            return hm_mvt__streq(s, names[i]) ? i : -1;
    return -1;
}

int hm_mvt_category_index(const char *s)
{
    return index_of(s, hm_mvt_categories, HM_MVT_CATEGORY_COUNT);
}

int hm_mvt_status_index(const char *s)
{
    return index_of(s, hm_mvt_statuses, HM_MVT_STATUS_COUNT);
}

void hm_mvt_options_init(hm_mvt_options *opt)
{
    opt->extent = 4096;
    opt->buffer = 64;
    opt->cluster_maxzoom = 13;
    opt->cluster_cell = 256;
    opt->simplify = 2.0;
}

int hm_mvt_options_check(const hm_mvt_options *opt, hm_error *err)
{
    if (opt->extent < 256 || opt->extent > 65536 || opt->buffer > opt->extent / 4 ||
        opt->cluster_cell == 0 || opt->extent % opt->cluster_cell != 0 ||
        opt->extent / opt->cluster_cell > 256 || /* grid memory; issue 6 */
        opt->cluster_cell < opt->buffer || opt->cluster_maxzoom < 0 ||
        opt->cluster_maxzoom > HM_TILE_MAX_ZOOM + 1 || !isfinite(opt->simplify) ||
        opt->simplify < 0.0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "mvt_options", "invalid tile encoder options");
    return HM_OK;
}

/* ---- schemas ------------------------------------------------------------- */

static const hm_mvt_field request_fields[] = {
    /* one feature per request, z >= cluster_maxzoom */
    {"code", "String"},
    {"category", "String"},
    {"status", "String"},
    {"priority", "String"},
    {"ward_code", "String"},
    {"people", "Number"},
    {"verified", "Boolean"},
    {"created_at", "Number"},
    /* clusters, z < cluster_maxzoom */
    {"cluster", "Boolean"},
    {"point_count", "Number"},
    {"urgent", "Number"},
    {"food", "Number"},
    {"water", "Number"},
    {"medical", "Number"},
    {"cash", "Number"},
    {"shelter", "Number"},
    {"rescue", "Number"},
    {"other", "Number"},
    {"new", "Number"},
    {"assigned", "Number"},
    {"in_progress", "Number"},
    {"resolved", "Number"},
    {"cancelled", "Number"},
    {"duplicate", "Number"},
};

/* Keys of the polygon layers, in the writer's key order (AK_*). */
enum {
    AK_CODE,
    AK_NAME,
    AK_LEVEL,
    AK_PARENT_CODE,
    AK_OPEN,
    AK_RESOLVED,
    AK_OPEN_CATEGORY, /* HM_MVT_CATEGORY_COUNT keys */
    AK__COUNT = AK_OPEN_CATEGORY + HM_MVT_CATEGORY_COUNT
};

static const char *const area_keys[AK__COUNT] = {
    "code",         "name",        "level",      "parent_code",  "open",
    "resolved",     "open_food",   "open_water", "open_medical", "open_cash",
    "open_shelter", "open_rescue", "open_other",
};

static const hm_mvt_field area_fields[AK__COUNT] = {
    {"code", "String"},        {"name", "String"},         {"level", "String"},
    {"parent_code", "String"}, {"open", "Number"},         {"resolved", "Number"},
    {"open_food", "Number"},   {"open_water", "Number"},   {"open_medical", "Number"},
    {"open_cash", "Number"},   {"open_shelter", "Number"}, {"open_rescue", "Number"},
    {"open_other", "Number"},
};

static const hm_mvt_field relief_fields[] = {
    {"kind", "String"},  {"status", "String"},   {"name", "String"},
    {"hours", "String"}, {"capacity", "Number"}, {"updated_at", "Number"},
};

const hm_mvt_field *hm_mvt_layer_fields(hm_tile_layer layer, size_t *n)
{
    switch (layer) {
        case HM_TILE_POINTS:
            *n = sizeof relief_fields / sizeof relief_fields[0];
            return relief_fields;
        case HM_TILE_REQUESTS:
            *n = sizeof request_fields / sizeof request_fields[0];
            return request_fields;
        case HM_TILE_WARDS:
        case HM_TILE_FORMER_WARDS:
        case HM_TILE_HAMLETS:
            *n = AK__COUNT;
            return area_fields;
        default:
            *n = 0;
            return NULL;
    }
}

/* ---- arena ----------------------------------------------------------------- */

struct hm_mvt__chunk {
    hm_mvt__chunk *next;
    size_t size;
    _Alignas(16) unsigned char data[];
};

void hm_mvt__arena_init(hm_mvt__arena *a)
{
    a->head = NULL;
    a->used = 0;
    a->size = 0;
}

void hm_mvt__arena_clear(hm_mvt__arena *a)
{
    hm_mvt__chunk *c = a->head;

    while (c) {
        hm_mvt__chunk *next = c->next;
        free(c);
        c = next;
    }
    hm_mvt__arena_init(a);
}

void *hm_mvt__arena_alloc(hm_mvt__arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;

    if (!a->head || a->size - a->used < need) {
        size_t size = a->size ? a->size * 2 : 16384;
        hm_mvt__chunk *c;

        if (size > (size_t)4 << 20)
            size = (size_t)4 << 20;
        if (size < need)
            size = need;
        c = hm_xmalloc(sizeof *c + size);
        c->next = a->head;
        c->size = size;
        a->head = c;
        a->size = size;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += need;
    return p;
}

char *hm_mvt__arena_strdup(hm_mvt__arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = hm_mvt__arena_alloc(a, n);

    memcpy(p, s, n);
    return p;
}

/* ---- layer writer ---------------------------------------------------------- */

enum { VT_STRING = 1, VT_UINT, VT_SINT, VT_BOOL };

void hm_mvt__writer_init(hm_mvt__writer *w, const char *name, const char *const *keys, size_t nkeys,
                         uint32_t extent)
{
    static const VectorTile__Tile__Layer layer_init = VECTOR_TILE__TILE__LAYER__INIT;

    memset(w, 0, sizeof *w);
    hm_mvt__arena_init(&w->arena);
    w->layer = layer_init;
    w->layer.version = 2;
    w->layer.name = (char *)name;
    w->layer.keys = (char **)keys;
    w->layer.n_keys = nkeys;
    w->layer.has_extent = 1;
    w->layer.extent = extent;
    w->nkeys = nkeys;
    w->slots_mask = 255;
    w->slots = hm_xmalloc((w->slots_mask + 1) * sizeof *w->slots);
    for (size_t i = 0; i <= w->slots_mask; i++)
        w->slots[i].index = UINT32_MAX;
}

void hm_mvt__writer_clear(hm_mvt__writer *w)
{
    free(w->layer.features);
    free(w->layer.values);
    free(w->slots);
    hm_mvt__arena_clear(&w->arena);
    memset(w, 0, sizeof *w);
}

static uint32_t mix64(uint64_t v)
{
    v ^= v >> 33;
    v *= UINT64_C(0xff51afd7ed558ccd);
    v ^= v >> 33;
    v *= UINT64_C(0xc4ceb9fe1a85ec53);
    v ^= v >> 33;
    return (uint32_t)v;
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static bool value_equal(const VectorTile__Tile__Value *v, int type, uint64_t num, const char *s)
{
    switch (type) {
        case VT_STRING:
            return v->string_value && strcmp(v->string_value, s) == 0;
        case VT_UINT:
            return v->has_uint_value && v->uint_value == num;
        case VT_SINT:
            return v->has_sint_value && (uint64_t)v->sint_value == num;
        case VT_BOOL:
            return v->has_bool_value && (uint64_t)v->bool_value == num;
        default:
            return false;
    }
}

static void grow_slots(hm_mvt__writer *w)
{
    size_t old_n = w->slots_mask + 1, n = old_n * 2;
    hm_mvt__slot *old = w->slots;

    w->slots = hm_xmalloc(n * sizeof *w->slots);
    w->slots_mask = n - 1;
    for (size_t i = 0; i < n; i++)
        w->slots[i].index = UINT32_MAX;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].index == UINT32_MAX)
            continue;
        size_t j = old[i].hash & w->slots_mask;
        while (w->slots[j].index != UINT32_MAX)
            j = (j + 1) & w->slots_mask;
        w->slots[j] = old[i];
    }
    free(old);
}

/* Find or add a value; `s` for VT_STRING, `num` otherwise. */
static uint32_t intern(hm_mvt__writer *w, int type, uint64_t num, const char *s)
{
    static const VectorTile__Tile__Value value_init = VECTOR_TILE__TILE__VALUE__INIT;
    uint32_t h = type == VT_STRING ? hash_str(s) : mix64(num * 4 + (uint64_t)type);
    size_t j = h & w->slots_mask;
    VectorTile__Tile__Value *v;

    while (w->slots[j].index != UINT32_MAX) {
        if (w->slots[j].hash == h && value_equal(w->layer.values[w->slots[j].index], type, num, s))
            return w->slots[j].index;
        j = (j + 1) & w->slots_mask;
    }

    if (w->layer.n_values == w->values_cap) {
        w->values_cap = w->values_cap ? w->values_cap * 2 : 64;
        w->layer.values = hm_xrealloc(w->layer.values, w->values_cap * sizeof *w->layer.values);
    }
    v = hm_mvt__arena_alloc(&w->arena, sizeof *v);
    *v = value_init;
    switch (type) {
        case VT_STRING:
            v->string_value = hm_mvt__arena_strdup(&w->arena, s);
            break;
        case VT_UINT:
            v->has_uint_value = 1;
            v->uint_value = num;
            break;
        case VT_SINT:
            v->has_sint_value = 1;
            v->sint_value = (int64_t)num;
            break;
        default:
            v->has_bool_value = 1;
            v->bool_value = num != 0;
            break;
    }
    uint32_t index = (uint32_t)w->layer.n_values;
    w->layer.values[w->layer.n_values++] = v;
    w->slots[j].hash = h;
    w->slots[j].index = index;
    if (w->layer.n_values * 2 > w->slots_mask + 1)
        grow_slots(w);
    return index;
}

uint32_t hm_mvt__value_str(hm_mvt__writer *w, const char *s)
{
    return intern(w, VT_STRING, 0, s);
}

uint32_t hm_mvt__value_int(hm_mvt__writer *w, int64_t v)
{
    /* MVT 2.1 4.1: uint_value for non-negative, sint_value (zig-zag) for
     * negative numbers keeps both small. */
    if (v >= 0)
        return intern(w, VT_UINT, (uint64_t)v, NULL);
    return intern(w, VT_SINT, (uint64_t)v, NULL);
}

uint32_t hm_mvt__value_bool(hm_mvt__writer *w, bool v)
{
    return intern(w, VT_BOOL, v ? 1 : 0, NULL);
}

void hm_mvt__feature_end(hm_mvt__writer *w, uint64_t id, VectorTile__Tile__GeomType type,
                         const uint32_t *geom, size_t ngeom)
{
    static const VectorTile__Tile__Feature feature_init = VECTOR_TILE__TILE__FEATURE__INIT;
    VectorTile__Tile__Feature *f = hm_mvt__arena_alloc(&w->arena, sizeof *f);

    *f = feature_init;
    f->has_id = 1;
    f->id = id;
    f->has_type = 1;
    f->type = type;
    f->n_tags = w->ntags;
    f->tags = hm_mvt__arena_alloc(&w->arena, w->ntags * sizeof *f->tags);
    memcpy(f->tags, w->tags, w->ntags * sizeof *f->tags);
    f->n_geometry = ngeom;
    f->geometry = hm_mvt__arena_alloc(&w->arena, ngeom * sizeof *f->geometry);
    memcpy(f->geometry, geom, ngeom * sizeof *f->geometry);
    w->ntags = 0;

    if (w->layer.n_features == w->features_cap) {
        w->features_cap = w->features_cap ? w->features_cap * 2 : 64;
        w->layer.features =
            hm_xrealloc(w->layer.features, w->features_cap * sizeof *w->layer.features);
    }
    w->layer.features[w->layer.n_features++] = f;
}

void hm_mvt__feature_point(hm_mvt__writer *w, uint64_t id, int32_t x, int32_t y)
{
    uint32_t geom[3] = {hm_mvt__command(HM_MVT__MOVE_TO, 1), hm_mvt__zigzag(x), hm_mvt__zigzag(y)};

    hm_mvt__feature_end(w, id, VECTOR_TILE__TILE__GEOM_TYPE__POINT, geom, 3);
}

int hm_mvt__writer_pack(hm_mvt__writer *w, hm_buf *out, hm_error *err)
{
    VectorTile__Tile tile = VECTOR_TILE__TILE__INIT;
    VectorTile__Tile__Layer *layers[1] = {&w->layer};
    size_t size, packed;

    if (w->layer.n_features == 0)
        return HM_OK;
    tile.n_layers = 1;
    tile.layers = layers;
    size = vector_tile__tile__get_packed_size(&tile);
    hm_buf_reserve(out, size);
    packed = vector_tile__tile__pack(&tile, (uint8_t *)out->data + out->len);
    if (packed != size) {
        out->data[out->len] = '\0';
        return hm_error_set(err, HM_E_INTERNAL, NULL, "protobuf packed %zu of %zu bytes", packed,
                            size);
    }
    out->len += size;
    out->data[out->len] = '\0'; /* hm_buf's invariant */
    return HM_OK;
}

/* ---- polygon layers ---------------------------------------------------------- */

/* Growable arrays for one encode call. */
typedef struct scratch {
    uint32_t *geom; /* command stream of the feature being built */
    size_t ngeom, geom_cap;
    double *coords; /* a ring from GEOS */
    size_t coords_cap;
    int32_t *ring; /* the same ring in tile units, cleaned */
    size_t ring_cap;
    int32_t cx, cy; /* the command cursor */
} scratch;

static void scratch_clear(scratch *s)
{
    free(s->geom);
    free(s->coords);
    free(s->ring);
    memset(s, 0, sizeof *s);
}

static void geom_push(scratch *s, uint32_t v)
{
    if (s->ngeom == s->geom_cap) {
        s->geom_cap = s->geom_cap ? s->geom_cap * 2 : 256;
        s->geom = hm_xrealloc(s->geom, s->geom_cap * sizeof *s->geom);
    }
    s->geom[s->ngeom++] = v;
}

/* Projection of lon/lat into the units of one tile, y down. */
typedef struct to_tile {
    double scale;  /* 2^z * extent */
    double x0, y0; /* the tile's corner in the same units */
    double lonlat_bbox[4];
} to_tile;

static int project_xy(double *x, double *y, void *ud)
{
    const to_tile *p = ud;
    double wx, wy;

    /* NaN, infinite or far out-of-range input made GEOS simplification spin
     * forever (issue 6): fail the transform instead. */
    if (!(fabs(*x) <= 180.0 && fabs(*y) <= 90.0))
        return 0;
    hm_tile_lonlat_to_world(*x, *y, &wx, &wy);
    *x = wx * p->scale - p->x0;
    *y = wy * p->scale - p->y0;
    return 1;
}

/* Twice the signed area of ring[0..n) by the surveyor's formula, in tile
 * coordinates (positive = clockwise on screen, y down). */
static int64_t ring_area2(const int32_t *ring, size_t n)
{
    int64_t a = 0;

    for (size_t i = 0; i < n; i++) {
        size_t j = i + 1 == n ? 0 : i + 1;
        a += (int64_t)ring[2 * i] * ring[2 * j + 1] - (int64_t)ring[2 * j] * ring[2 * i + 1];
    }
    return a;
}

/* Append one ring of `g` (a LinearRing) to the command stream, oriented as
 * MVT 2.1 4.3.4.4 wants (exterior: positive area; hole: negative). Drops the
 * closing point and repeated points; writes nothing for a ring left with
 * fewer than three points or no area. Returns 1 when a ring was written, 0
 * when not, -1 on a GEOS error. */
static int put_ring(GEOSContextHandle_t ctx, const GEOSGeometry *g, bool exterior, scratch *s)
{
    const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx, g);
    unsigned int size = 0;
    size_t n = 0;
    int64_t area2;

    if (!seq || !GEOSCoordSeq_getSize_r(ctx, seq, &size))
        return -1;
    if (size < 4)
        return 0;
    if (s->coords_cap < 2 * (size_t)size) {
        s->coords_cap = 2 * (size_t)size;
        s->coords = hm_xrealloc(s->coords, s->coords_cap * sizeof *s->coords);
    }
    if (s->ring_cap < 2 * (size_t)size) {
        s->ring_cap = 2 * (size_t)size;
        s->ring = hm_xrealloc(s->ring, s->ring_cap * sizeof *s->ring);
    }
    if (!GEOSCoordSeq_copyToBuffer_r(ctx, seq, s->coords, 0, 0))
        return -1;

    for (size_t i = 0; i < size; i++) {
        int32_t x = (int32_t)lrint(s->coords[2 * i]), y = (int32_t)lrint(s->coords[2 * i + 1]);
        if (n > 0 && s->ring[2 * n - 2] == x && s->ring[2 * n - 1] == y)
            continue;
        s->ring[2 * n] = x;
        s->ring[2 * n + 1] = y;
        n++;
    }
    while (n > 1 && s->ring[0] == s->ring[2 * n - 2] && s->ring[1] == s->ring[2 * n - 1])
        n--; /* the closing point: ClosePath repeats it implicitly */
    if (n < 3)
        return 0;
    area2 = ring_area2(s->ring, n);
    if (area2 == 0)
        return 0;
    if ((area2 > 0) != exterior) {
        for (size_t i = 0, j = n - 1; i < j; i++, j--) {
            int32_t tx = s->ring[2 * i], ty = s->ring[2 * i + 1];
            s->ring[2 * i] = s->ring[2 * j];
            s->ring[2 * i + 1] = s->ring[2 * j + 1];
            s->ring[2 * j] = tx;
            s->ring[2 * j + 1] = ty;
        }
    }

    geom_push(s, hm_mvt__command(HM_MVT__MOVE_TO, 1));
    geom_push(s, hm_mvt__zigzag(s->ring[0] - s->cx));
    geom_push(s, hm_mvt__zigzag(s->ring[1] - s->cy));
    geom_push(s, hm_mvt__command(HM_MVT__LINE_TO, (uint32_t)(n - 1)));
    for (size_t i = 1; i < n; i++) {
        geom_push(s, hm_mvt__zigzag(s->ring[2 * i] - s->ring[2 * i - 2]));
        geom_push(s, hm_mvt__zigzag(s->ring[2 * i + 1] - s->ring[2 * i - 1]));
    }
    geom_push(s, hm_mvt__command(HM_MVT__CLOSE_PATH, 1));
    s->cx = s->ring[2 * n - 2];
    s->cy = s->ring[2 * n - 1];
    return 1;
}

/* Append the rings of every polygon in `g` (Polygon, MultiPolygon or a
 * collection of them; other members are skipped). Returns 0 or -1 (GEOS). */
static int put_polygons(GEOSContextHandle_t ctx, const GEOSGeometry *g, scratch *s)
{
    int type = GEOSGeomTypeId_r(ctx, g);

    if (type == GEOS_POLYGON) {
        const GEOSGeometry *shell = GEOSGetExteriorRing_r(ctx, g);
        int nholes = GEOSGetNumInteriorRings_r(ctx, g);
        int rc;

        if (!shell || nholes < 0)
            return -1;
        rc = put_ring(ctx, shell, true, s);
        if (rc <= 0)
            return rc; /* a collapsed shell takes its holes with it */
        for (int i = 0; i < nholes; i++) {
            const GEOSGeometry *hole = GEOSGetInteriorRingN_r(ctx, g, i);
            if (!hole || put_ring(ctx, hole, false, s) < 0)
                return -1;
        }
        return 0;
    }
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int n = GEOSGetNumGeometries_r(ctx, g);
        for (int i = 0; i < n; i++) {
            const GEOSGeometry *part = GEOSGetGeometryN_r(ctx, g, i);
            if (!part || put_polygons(ctx, part, s) < 0)
                return -1;
        }
    }
    return 0;
}

static bool envelope(GEOSContextHandle_t ctx, const GEOSGeometry *g, double env[4])
{
    return GEOSGeom_getXMin_r(ctx, g, &env[0]) && GEOSGeom_getYMin_r(ctx, g, &env[1]) &&
           GEOSGeom_getXMax_r(ctx, g, &env[2]) && GEOSGeom_getYMax_r(ctx, g, &env[3]);
}

/* Feature id of an area: its decimal code, else a 53-bit FNV-1a hash. */
static uint64_t area_id(const char *code)
{
    size_t n = strlen(code);
    uint64_t h = UINT64_C(14695981039346656037);

    if (n > 0 && n <= 15 && strspn(code, "0123456789") == n)
        return strtoull(code, NULL, 10);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)code[i]) * UINT64_C(1099511628211);
    return h & ((UINT64_C(1) << 53) - 1);
}

/* Project, clip, simplify and snap one area, then add it to `w` when
 * anything of it is left. Returns HM_OK, HM_E_INVALID_FIELD or HM_E_GEOS. */
static int put_area(GEOSContextHandle_t ctx, GEOSWKBReader *reader, const to_tile *proj,
                    const hm_mvt_options *opt, const hm_mvt_area *a, hm_mvt__writer *w, scratch *s,
                    hm_error *err)
{
    GEOSGeometry *g = NULL, *projected = NULL, *clipped = NULL, *simple = NULL, *fixed = NULL;
    GEOSGeometry *snapped = NULL;
    const GEOSGeometry *cur;
    const char *code = a->code ? a->code : "";
    double env[4], lo = -(double)opt->buffer, hi = (double)opt->extent + opt->buffer;
    int type, rc = HM_OK;

    g = GEOSWKBReader_read_r(ctx, reader, a->wkb, a->wkb_len);
    if (!g) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "wkb", "area %.40s: unreadable WKB", code);
        goto out;
    }
    type = GEOSGeomTypeId_r(ctx, g);
    if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "wkb", "area %.40s: not a polygon", code);
        goto out;
    }
    if (GEOSisEmpty_r(ctx, g) == 1)
        goto out;
    if (!envelope(ctx, g, env)) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "area %.40s: envelope failed", code);
        goto out;
    }
    if (env[2] < proj->lonlat_bbox[0] || env[0] > proj->lonlat_bbox[2] ||
        env[3] < proj->lonlat_bbox[1] || env[1] > proj->lonlat_bbox[3])
        goto out; /* misses tile + buffer: no GEOS work */

    projected = GEOSGeom_transformXY_r(ctx, g, project_xy, (void *)proj);
    if (!projected) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "wkb",
                          "area %.40s: coordinates outside lon/lat range", code);
        goto out;
    }
    if (!envelope(ctx, projected, env)) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "area %.40s: projection failed", code);
        goto out;
    }
    cur = projected;
    if (env[0] < lo || env[1] < lo || env[2] > hi || env[3] > hi) {
        clipped = GEOSClipByRect_r(ctx, projected, lo, lo, hi, hi);
        if (!clipped) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "area %.40s: clipping failed", code);
            goto out;
        }
        cur = clipped;
        if (GEOSisEmpty_r(ctx, cur) == 1)
            goto out;
    }
    if (opt->simplify > 0.0) {
        simple = GEOSTopologyPreserveSimplify_r(ctx, cur, opt->simplify);
        if (!simple) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "area %.40s: simplification failed", code);
            goto out;
        }
        cur = simple;
    }
    /* Snap-rounding to the unit grid: valid output with integer vertices.
     * GEOS may refuse input that clipping left invalid; repair it first. */
    snapped = GEOSGeom_setPrecision_r(ctx, cur, 1.0, 0);
    if (!snapped) {
        fixed = GEOSMakeValid_r(ctx, cur);
        if (fixed)
            snapped = GEOSGeom_setPrecision_r(ctx, fixed, 1.0, 0);
        if (!snapped) {
            rc = hm_error_set(err, HM_E_GEOS, NULL, "area %.40s: quantisation failed", code);
            goto out;
        }
    }

    s->ngeom = 0;
    s->cx = s->cy = 0;
    if (put_polygons(ctx, snapped, s) < 0) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "area %.40s: reading rings failed", code);
        goto out;
    }
    if (s->ngeom == 0)
        goto out; /* collapsed below one tile unit */

    hm_mvt__tag(w, AK_CODE, hm_mvt__value_str(w, code));
    if (a->name)
        hm_mvt__tag(w, AK_NAME, hm_mvt__value_str(w, a->name));
    if (a->level)
        hm_mvt__tag(w, AK_LEVEL, hm_mvt__value_str(w, a->level));
    if (a->parent_code)
        hm_mvt__tag(w, AK_PARENT_CODE, hm_mvt__value_str(w, a->parent_code));
    hm_mvt__tag(w, AK_OPEN, hm_mvt__value_int(w, a->open));
    hm_mvt__tag(w, AK_RESOLVED, hm_mvt__value_int(w, a->resolved));
    for (int i = 0; i < HM_MVT_CATEGORY_COUNT; i++)
        hm_mvt__tag(w, (uint32_t)(AK_OPEN_CATEGORY + i),
                    hm_mvt__value_int(w, a->open_by_category[i]));
    hm_mvt__feature_end(w, area_id(code), VECTOR_TILE__TILE__GEOM_TYPE__POLYGON, s->geom, s->ngeom);
out:
    GEOSGeom_destroy_r(ctx, snapped);
    GEOSGeom_destroy_r(ctx, fixed);
    GEOSGeom_destroy_r(ctx, simple);
    GEOSGeom_destroy_r(ctx, clipped);
    GEOSGeom_destroy_r(ctx, projected);
    GEOSGeom_destroy_r(ctx, g);
    return rc;
}

int hm_mvt_encode_areas(GEOSContextHandle_t geos, const hm_tile *t, hm_tile_layer layer,
                        const hm_mvt_area *areas, size_t n, const hm_mvt_options *opt, hm_buf *out,
                        hm_error *err)
{
    hm_mvt_options defaults;
    hm_mvt__writer w;
    bool have_writer = false;
    GEOSWKBReader *reader = NULL;
    scratch s = {0};
    to_tile proj;
    int rc = HM_OK;

    if (!opt) {
        hm_mvt_options_init(&defaults);
        opt = &defaults;
    }
    if ((rc = hm_mvt_options_check(opt, err)) != HM_OK)
        goto out;
    if (!hm_tile_valid(t)) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "z", "tile out of range");
        goto out;
    }
    if (layer != HM_TILE_WARDS && layer != HM_TILE_FORMER_WARDS && layer != HM_TILE_HAMLETS) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "layer", "not a polygon layer");
        goto out;
    }
    reader = GEOSWKBReader_create_r(geos);
    if (!reader) {
        rc = hm_error_set(err, HM_E_GEOS, NULL, "cannot create a WKB reader");
        goto out;
    }
    proj.scale = ldexp((double)opt->extent, t->z);
    proj.x0 = (double)t->x * opt->extent;
    proj.y0 = (double)t->y * opt->extent;
    /* A little more than the buffer, so that rounding never drops an area
     * that the clip would have kept. */
    hm_tile_bounds_buffered(t, (opt->buffer + 1.0) / opt->extent, proj.lonlat_bbox);

    hm_mvt__writer_init(&w, hm_tile_layer_name(layer), area_keys, AK__COUNT, opt->extent);
    have_writer = true;
    for (size_t i = 0; i < n; i++) {
        if ((rc = put_area(geos, reader, &proj, opt, &areas[i], &w, &s, err)) != HM_OK)
            goto out;
    }
    rc = hm_mvt__writer_pack(&w, out, err);
out:
    scratch_clear(&s);
    if (have_writer)
        hm_mvt__writer_clear(&w);
    if (reader)
        GEOSWKBReader_destroy_r(geos, reader);
    return rc;
}
