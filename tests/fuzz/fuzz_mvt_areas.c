/* fuzz_mvt_areas: the polygon layers of /tiles/{wards,former_wards,hamlets}
 * (hm_mvt_encode_areas) fed with arbitrary geometries. The first byte picks
 * how the WKB is made:
 *   0: the rest of the input is the WKB itself (any bytes);
 *   1: Polygon/MultiPolygon WKB whose coordinates are raw doubles (NaN,
 *      infinities, 1e308, -0 ...);
 *   2: rings of small integer steps around a point inside the tile, so that
 *      most inputs reach clipping, simplification and snap-rounding.
 * Then a tile, options (sometimes invalid on purpose) and up to 3 areas.
 * Checks: an error leaves `out` unchanged and names a 4xx/GEOS code; a tile
 * is a protobuf with one layer of the right name and, at the default extent,
 * passes the MVT 2.1 lint of the tile tests (ring order, winding, no repeated
 * or closing points, tag indices). */
#include "fuzz_input.h"
#include "hm_buf.h"
#include "mvt.h"
#include "tile.h"

#include "../tiles/tile_decode.h"

#include <math.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GEOSContextHandle_t geos;

static void on_geos_message(const char *msg, void *ctx)
{
    (void)msg;
    (void)ctx;
}

/* The growing WKB of one area. */
typedef struct wkb {
    unsigned char *p;
    size_t len, cap;
} wkb;

static void wkb_put(wkb *w, const void *src, size_t n)
{
    if (w->len + n > w->cap) {
        w->cap = (w->len + n) * 2 + 64;
        w->p = realloc(w->p, w->cap);
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void wkb_u8(wkb *w, uint8_t v)
{
    wkb_put(w, &v, 1);
}

static void wkb_u32(wkb *w, uint32_t v)
{
    wkb_put(w, &v, 4); /* little-endian host, byte order 1 */
}

static void wkb_xy(wkb *w, double x, double y)
{
    wkb_put(w, &x, 8);
    wkb_put(w, &y, 8);
}

/* One polygon: 1..3 rings of 0..40 points; closed unless the input says
 * otherwise (GEOS then refuses it, which must be a clean 400). */
static void make_polygon(fz_in *in, wkb *w, int mode, double base_lon, double base_lat, double step)
{
    unsigned rings = 1 + fz_u8(in) % 3;
    wkb_u8(w, 1);
    wkb_u32(w, 3);
    wkb_u32(w, rings);
    for (unsigned r = 0; r < rings; r++) {
        uint8_t spec = fz_u8(in);
        unsigned npts = spec % 41;
        bool closed = (spec & 0x80) == 0;
        double x0 = 0, y0 = 0, x = base_lon, y = base_lat;
        wkb_u32(w, npts);
        for (unsigned i = 0; i < npts; i++) {
            if (closed && npts >= 2 && i == npts - 1) {
                x = x0, y = y0;
            } else if (mode == 1) {
                x = fz_double(in);
                y = fz_double(in);
            } else {
                x += (int8_t)fz_u8(in) * step;
                y += (int8_t)fz_u8(in) * step;
            }
            if (i == 0)
                x0 = x, y0 = y;
            wkb_xy(w, x, y);
        }
    }
}

static void make_wkb(fz_in *in, wkb *w, int mode, double base_lon, double base_lat, double step)
{
    uint8_t parts = fz_u8(in) % 4; /* 0: a Polygon; else a MultiPolygon of that many */
    if (parts == 0) {
        make_polygon(in, w, mode, base_lon, base_lat, step);
        return;
    }
    wkb_u8(w, 1);
    wkb_u32(w, 6);
    wkb_u32(w, parts);
    for (unsigned i = 0; i < parts; i++)
        make_polygon(in, w, mode, base_lon, base_lat, step);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    hm_mvt_options opt;
    hm_tile t;
    hm_mvt_area areas[3];
    wkb w[3];
    char names[3][3][24];
    size_t n = 0;
    hm_buf out;
    hm_error err = {0};
    int mode, rc;
    hm_tile_layer layer;
    bool default_extent;

    if (size > 8192)
        return 0;
    if (!geos) {
        geos = GEOS_init_r();
        GEOSContext_setErrorMessageHandler_r(geos, on_geos_message, NULL);
        GEOSContext_setNoticeMessageHandler_r(geos, on_geos_message, NULL);
    }
    memset(areas, 0, sizeof areas);
    memset(w, 0, sizeof w);
    mode = fz_u8(&in) % 3;
    layer = (hm_tile_layer)(1 + fz_u8(&in) % 4); /* 4 = not a polygon layer: a clean error */
    if (layer == HM_TILE_LAYER__COUNT)
        layer = HM_TILE_REQUESTS;

    hm_mvt_options_init(&opt);
    {
        uint8_t o = fz_u8(&in);
        if (o & 1)
            opt.simplify = (o & 2) ? 0.0 : (o >> 2) * 0.5;
        if ((o & 0xc0) == 0xc0) { /* raw options: mostly invalid */
            opt.extent = fz_u32(&in);
            opt.buffer = fz_u32(&in);
            opt.cluster_cell = fz_u32(&in);
            opt.simplify = fz_double(&in);
        }
    }
    default_extent = opt.extent == 4096;

    t.z = fz_u8(&in) % 24; /* 23 is out of range on purpose */
    if (mode == 0) {
        uint32_t m = t.z <= 22 ? (1u << t.z) : 1;
        t.x = fz_u32(&in) % (m + 1); /* m is out of range on purpose */
        t.y = fz_u32(&in) % (m + 1);
        areas[0].wkb = in.p;
        areas[0].wkb_len = in.n;
        areas[0].code = "27496";
        areas[0].name = "Tân An Hội";
        areas[0].level = "ward";
        n = 1;
    } else {
        double base_lon = (fz_u16(&in) / 65535.0) * 360.0 - 180.0;
        double base_lat = (fz_u16(&in) / 65535.0) * 170.0 - 85.0;
        hm_tile at;
        double b[4], step;
        if (t.z > HM_TILE_MAX_ZOOM || hm_tile_at(base_lon, base_lat, t.z, &at, NULL) != HM_OK) {
            t.x = t.y = 0;
        } else {
            t = at;
        }
        if (t.z <= HM_TILE_MAX_ZOOM)
            hm_tile_bounds(&t, b);
        else
            b[0] = 0, b[2] = 1;
        step = (b[2] - b[0]) / (1 + fz_u8(&in) % 64); /* a step of 1/1..1/64 tile */
        n = 1 + fz_u8(&in) % 3;
        for (size_t i = 0; i < n; i++) {
            make_wkb(&in, &w[i], mode, base_lon, base_lat, step);
            areas[i].wkb = w[i].p;
            areas[i].wkb_len = w[i].len;
            areas[i].code = fz_str(&in, names[i][0], 20);
            areas[i].name = fz_str(&in, names[i][1], 20);
            areas[i].level = "hamlet";
            areas[i].parent_code = (fz_u8(&in) & 1) ? fz_str(&in, names[i][2], 20) : NULL;
            areas[i].open = (int)fz_u32(&in);
            areas[i].resolved = (int)fz_u32(&in);
            for (int k = 0; k < HM_MVT_CATEGORY_COUNT; k++)
                areas[i].open_by_category[k] = (int)fz_u8(&in) - 128;
        }
    }

    hm_buf_init(&out);
    hm_buf_puts(&out, "x"); /* must stay as it is on error */
    rc = hm_mvt_encode_areas(geos, &t, layer, areas, n, &opt, &out, &err);
    if (rc != HM_OK) {
        HM_FUZZ_CHECK(rc == (int)err.code);
        HM_FUZZ_CHECK(rc == HM_E_INVALID_FIELD || rc == HM_E_GEOS);
        HM_FUZZ_CHECK(out.len == 1 && out.data[0] == 'x');
    } else if (out.len > 1) {
        VectorTile__Tile *tile =
            vector_tile__tile__unpack(NULL, out.len - 1, (const uint8_t *)out.data + 1);
        HM_FUZZ_CHECK(tile != NULL);
        HM_FUZZ_CHECK(tile->n_layers == 1);
        HM_FUZZ_CHECK(strcmp(tile->layers[0]->name, hm_tile_layer_name(layer)) == 0);
        HM_FUZZ_CHECK(tile->layers[0]->n_features >= 1 && tile->layers[0]->n_features <= n);
        vector_tile__tile__free_unpacked(tile, NULL);
        if (default_extent) {
            lint_result lr;
            mvt_lint(out.data + 1, out.len - 1, &lr);
            HM_FUZZ_CHECK(lr.errors == 0);
        }
    }
    hm_buf_clear(&out);
    for (size_t i = 0; i < 3; i++)
        free(w[i].p);
    return 0;
}
