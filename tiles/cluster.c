/* cluster.c: the requests layer: grid clusters below the cluster zoom, one
 * feature per request at and above it; see mvt.h. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mvt.h"
#include "mvt_int.h"

/* Keys of a point feature, in writer order. */
enum {
    PK_CODE,
    PK_CATEGORY,
    PK_STATUS,
    PK_PRIORITY,
    PK_WARD_CODE,
    PK_PEOPLE,
    PK_VERIFIED,
    PK_CREATED_AT,
    PK__COUNT
};
static const char *const point_keys[PK__COUNT] = {
    "code", "category", "status", "priority", "ward_code", "people", "verified", "created_at",
};

/* Keys of a cluster feature, in writer order. */
enum {
    CK_CLUSTER,
    CK_POINT_COUNT,
    CK_PEOPLE,
    CK_URGENT,
    CK_CATEGORY,                                     /* HM_MVT_CATEGORY_COUNT keys */
    CK_STATUS = CK_CATEGORY + HM_MVT_CATEGORY_COUNT, /* HM_MVT_STATUS_COUNT keys */
    CK__COUNT = CK_STATUS + HM_MVT_STATUS_COUNT
};
static const char *const cluster_keys[CK__COUNT] = {
    "cluster",  "point_count", "people",   "urgent",    "food",      "water",
    "medical",  "cash",        "shelter",  "rescue",    "other",     "new",
    "assigned", "in_progress", "resolved", "cancelled", "duplicate",
};

/* Sums of one grid cell. */
typedef struct cell {
    uint32_t count;
    uint32_t urgent;
    uint64_t people;
    double sx, sy; /* sums of tile coordinates, for the centroid */
    uint32_t category[HM_MVT_CATEGORY_COUNT];
    uint32_t status[HM_MVT_STATUS_COUNT];
} cell;

/* Web Mercator y of recently seen latitudes. Public positions sit on the
 * 0.001 degree grid, so a cluster tile holds a few hundred distinct
 * latitudes, and tan + asinh per point would be most of a z10 tile's time.
 * Slots are indexed by the latitude in thousandths of a degree, so the
 * latitudes of one tile (fewer than LAT_MEMO at z >= 6 over a district)
 * never evict each other. */
#define LAT_MEMO 2048 /* power of two */
typedef struct lat_memo {
    double lat; /* NaN: empty */
    double wy;
} lat_memo;

struct hm_mvt_points {
    lat_memo memo[LAT_MEMO];
    hm_mvt_options opt;
    hm_tile tile;
    bool cluster;
    double scale, x0, y0; /* lon/lat -> tile units: world * scale - origin */
    double lo, hi;        /* accepted tile coordinates, both axes */
    /* clusters: a (cells per tile + 2)^2 grid, one ring of neighbour cells */
    cell *cells;
    int side;
    /* points: features are written as they come */
    hm_mvt__writer w;
    bool finished;
};

double hm_mvt_points_margin(int z, const hm_mvt_options *opt)
{
    if (z < opt->cluster_maxzoom)
        return (double)opt->cluster_cell / opt->extent;
    return (double)opt->buffer / opt->extent;
}

void hm_mvt_points_bounds(const hm_tile *t, const hm_mvt_options *opt, double bbox[4])
{
    hm_mvt_options defaults;

    if (!opt) {
        hm_mvt_options_init(&defaults);
        opt = &defaults;
    }
    hm_tile_bounds_buffered(t, hm_mvt_points_margin(t->z, opt), bbox);
}

/* hm_mvt_points_create() returning its error code; sets *out on success. */
static int points_create(const hm_tile *t, const hm_mvt_options *opt, hm_mvt_points **out,
                         hm_error *err)
{
    hm_mvt_points *enc;
    hm_mvt_options defaults;
    int rc;

    if (!opt) {
        hm_mvt_options_init(&defaults);
        opt = &defaults;
    }
    if ((rc = hm_mvt_options_check(opt, err)) != HM_OK)
        return rc;
    if (!hm_tile_valid(t))
        return hm_error_set(err, HM_E_INVALID_FIELD, "z", "tile out of range");
    enc = hm_xcalloc(1, sizeof *enc);
    for (size_t i = 0; i < LAT_MEMO; i++)
        enc->memo[i].lat = NAN;
    enc->opt = *opt;
    enc->tile = *t;
    enc->cluster = t->z < opt->cluster_maxzoom;
    enc->scale = ldexp((double)opt->extent, t->z);
    enc->x0 = (double)t->x * opt->extent;
    enc->y0 = (double)t->y * opt->extent;
    if (enc->cluster) {
        enc->side = (int)(opt->extent / opt->cluster_cell) + 2;
        enc->cells = hm_xcalloc((size_t)enc->side * (size_t)enc->side, sizeof *enc->cells);
        enc->lo = -(double)opt->cluster_cell;
        enc->hi = (double)opt->extent + opt->cluster_cell;
        hm_mvt__writer_init(&enc->w, hm_tile_layer_name(HM_TILE_REQUESTS), cluster_keys, CK__COUNT,
                            opt->extent);
    } else {
        enc->lo = -(double)opt->buffer;
        enc->hi = (double)opt->extent + opt->buffer;
        hm_mvt__writer_init(&enc->w, hm_tile_layer_name(HM_TILE_REQUESTS), point_keys, PK__COUNT,
                            opt->extent);
    }
    *out = enc;
    return HM_OK;
}

hm_mvt_points *hm_mvt_points_create(const hm_tile *t, const hm_mvt_options *opt, hm_error *err)
{
    hm_mvt_points *enc = NULL;

    if (points_create(t, opt, &enc, err) != HM_OK)
        return NULL;
    return enc;
}

void hm_mvt_points_destroy(hm_mvt_points *enc)
{
    if (!enc)
        return;
    hm_mvt__writer_clear(&enc->w);
    free(enc->cells);
    free(enc);
}

static void add_cluster(hm_mvt_points *enc, const hm_mvt_point *p, double x, double y)
{
    double size = enc->opt.cluster_cell;
    int cx = (int)floor(x / size) + 1, cy = (int)floor(y / size) + 1;
    int ci, si;
    cell *c;

    /* x == hi lands one past the ring: it belongs to the cell beyond. */
    if (cx < 0 || cy < 0 || cx >= enc->side || cy >= enc->side)
        return;
    c = &enc->cells[cy * enc->side + cx];
    c->count++;
    c->sx += x;
    c->sy += y;
    if (p->people > 0)
        c->people += (uint64_t)p->people;
    if (p->priority && hm_mvt__streq(p->priority, "urgent"))
        c->urgent++;
    ci = hm_mvt_category_index(p->category);
    c->category[ci < 0 ? HM_MVT_CATEGORY_COUNT - 1 : ci]++;
    si = hm_mvt_status_index(p->status);
    if (si >= 0)
        c->status[si]++;
}

static void add_point(hm_mvt_points *enc, const hm_mvt_point *p, double x, double y)
{
    hm_mvt__writer *w = &enc->w;

    if (p->code)
        hm_mvt__tag(w, PK_CODE, hm_mvt__value_str(w, p->code));
    if (p->category)
        hm_mvt__tag(w, PK_CATEGORY, hm_mvt__value_str(w, p->category));
    if (p->status)
        hm_mvt__tag(w, PK_STATUS, hm_mvt__value_str(w, p->status));
    if (p->priority)
        hm_mvt__tag(w, PK_PRIORITY, hm_mvt__value_str(w, p->priority));
    if (p->ward_code)
        hm_mvt__tag(w, PK_WARD_CODE, hm_mvt__value_str(w, p->ward_code));
    hm_mvt__tag(w, PK_PEOPLE, hm_mvt__value_int(w, p->people));
    hm_mvt__tag(w, PK_VERIFIED, hm_mvt__value_bool(w, p->verified));
    hm_mvt__tag(w, PK_CREATED_AT, hm_mvt__value_int(w, p->created_at));
    hm_mvt__feature_point(w, p->id >= 0 ? (uint64_t)p->id : 0, (int32_t)lrint(x),
                          (int32_t)lrint(y));
}

/* World y of `lat` (-90..90), as hm_tile_lonlat_to_world() computes it,
 * memoised. */
static double world_y(hm_mvt_points *enc, double lat)
{
    lat_memo *m = &enc->memo[(uint64_t)(int64_t)(lat * 1000.0) & (LAT_MEMO - 1)];
    double wx;

    if (m->lat != lat) {
        m->lat = lat;
        hm_tile_lonlat_to_world(0.0, lat, &wx, &m->wy);
    }
    return m->wy;
}

void hm_mvt_points_add(hm_mvt_points *enc, const hm_mvt_point *p)
{
    double x, y;

    if (!(p->lon >= -180.0 && p->lon <= 180.0 && p->lat >= -90.0 && p->lat <= 90.0))
        return;                                          /* also NaN */
    x = (p->lon + 180.0) / 360.0 * enc->scale - enc->x0; /* hm_tile_lonlat_to_world's wx */
    y = world_y(enc, p->lat) * enc->scale - enc->y0;
    if (!(x >= enc->lo && x <= enc->hi && y >= enc->lo && y <= enc->hi))
        return; /* also NaN */
    if (enc->cluster)
        add_cluster(enc, p, x, y);
    else
        add_point(enc, p, x, y);
}

/* Write one feature per non-empty cell whose centroid lies in tile + buffer. */
static void write_clusters(hm_mvt_points *enc)
{
    hm_mvt__writer *w = &enc->w;
    int64_t per_tile = enc->side - 2;
    int64_t world = ((int64_t)1 << enc->tile.z) * per_tile;
    double lo = -(double)enc->opt.buffer, hi = (double)enc->opt.extent + enc->opt.buffer;

    for (int cy = 0; cy < enc->side; cy++) {
        for (int cx = 0; cx < enc->side; cx++) {
            const cell *c = &enc->cells[cy * enc->side + cx];
            int64_t gx = (int64_t)enc->tile.x * per_tile + cx - 1;
            int64_t gy = (int64_t)enc->tile.y * per_tile + cy - 1;
            double mx, my;

            if (c->count == 0 || gx < 0 || gy < 0 || gx >= world || gy >= world)
                continue;
            mx = nearbyint(c->sx / c->count);
            my = nearbyint(c->sy / c->count);
            if (mx < lo || mx > hi || my < lo || my > hi)
                continue;
            hm_mvt__tag(w, CK_CLUSTER, hm_mvt__value_bool(w, true));
            hm_mvt__tag(w, CK_POINT_COUNT, hm_mvt__value_int(w, c->count));
            hm_mvt__tag(w, CK_PEOPLE, hm_mvt__value_int(w, (int64_t)c->people));
            hm_mvt__tag(w, CK_URGENT, hm_mvt__value_int(w, c->urgent));
            for (int i = 0; i < HM_MVT_CATEGORY_COUNT; i++)
                hm_mvt__tag(w, (uint32_t)(CK_CATEGORY + i), hm_mvt__value_int(w, c->category[i]));
            for (int i = 0; i < HM_MVT_STATUS_COUNT; i++)
                hm_mvt__tag(w, (uint32_t)(CK_STATUS + i), hm_mvt__value_int(w, c->status[i]));
            hm_mvt__feature_point(w, (uint64_t)(1 + gy * world + gx), (int32_t)mx, (int32_t)my);
        }
    }
}

int hm_mvt_points_finish(hm_mvt_points *enc, hm_buf *out, hm_error *err)
{
    if (enc->finished)
        return hm_error_set(err, HM_E_INTERNAL, NULL, "tile encoder finished twice");
    enc->finished = true;
    if (enc->cluster)
        write_clusters(enc);
    return hm_mvt__writer_pack(&enc->w, out, err);
}

int hm_mvt_encode_points(const hm_tile *t, const hm_mvt_point *pts, size_t n,
                         const hm_mvt_options *opt, hm_buf *out, hm_error *err)
{
    hm_mvt_points *enc = NULL;
    int rc = HM_OK;

    if ((rc = points_create(t, opt, &enc, err)) != HM_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        hm_mvt_points_add(enc, &pts[i]);
    rc = hm_mvt_points_finish(enc, out, err);
out:
    hm_mvt_points_destroy(enc);
    return rc;
}
