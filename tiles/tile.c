/* tile.c: tile paths and Web Mercator tile math; see tile.h. */
#include "tile.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846

static const char *const layer_names[HM_TILE_LAYER__COUNT] = {
    [HM_TILE_REQUESTS] = "requests",
    [HM_TILE_WARDS] = "wards",
    [HM_TILE_FORMER_WARDS] = "former_wards",
    [HM_TILE_HAMLETS] = "hamlets",
    [HM_TILE_POINTS] = "points",
};

static const char *const layer_levels[HM_TILE_LAYER__COUNT] = {
    [HM_TILE_REQUESTS] = NULL,    [HM_TILE_WARDS] = "ward", [HM_TILE_FORMER_WARDS] = "former_ward",
    [HM_TILE_HAMLETS] = "hamlet", [HM_TILE_POINTS] = NULL,
};

const char *hm_tile_layer_name(hm_tile_layer layer)
{
    if ((unsigned)layer >= HM_TILE_LAYER__COUNT)
        return "";
    return layer_names[layer];
}

const char *hm_tile_layer_level(hm_tile_layer layer)
{
    if ((unsigned)layer >= HM_TILE_LAYER__COUNT)
        return NULL;
    return layer_levels[layer];
}

int hm_tile_layer_parse(const char *s, size_t len, hm_tile_layer *out, hm_error *err)
{
    for (int i = 0; i < HM_TILE_LAYER__COUNT; i++) {
        if (strlen(layer_names[i]) == len && memcmp(layer_names[i], s, len) == 0) {
            *out = (hm_tile_layer)i;
            return HM_OK;
        }
    }
    return hm_error_set(err, HM_E_NOT_FOUND, "layer", "no such tile layer");
}

/* Read a plain decimal number of 1..10 digits from [*p, end), stopping at
 * the first non-digit. Returns false when there is no digit or too many. */
static bool read_number(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int digits = 0;

    while (s < end && *s >= '0' && *s <= '9') {
        if (++digits > 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
    }
    if (digits == 0)
        return false;
    *p = s;
    *out = v;
    return true;
}

int hm_tile_path_parse(const char *path, size_t len, hm_tile_path *out, hm_error *err)
{
    const char *end = path + len;
    const char *p = path;
    hm_tile_layer layer = HM_TILE_REQUESTS;
    uint64_t z, x, y;
    int rc;

    while (p < end && *p != '/' && *p != '.')
        p++;
    rc = hm_tile_layer_parse(path, (size_t)(p - path), &layer, err);
    if (rc != HM_OK)
        return rc;

    if (end - p == 5 && memcmp(p, ".json", 5) == 0) {
        out->layer = layer;
        out->tilejson = true;
        out->tile = (hm_tile){0, 0, 0};
        return HM_OK;
    }
    if (p == end || *p++ != '/' || !read_number(&p, end, &z) || p == end || *p++ != '/' ||
        !read_number(&p, end, &x) || p == end || *p++ != '/' || !read_number(&p, end, &y) ||
        end - p != 4 || memcmp(p, ".mvt", 4) != 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "path",
                            "tile path must be {layer}/{z}/{x}/{y}.mvt or {layer}.json");
    if (z > HM_TILE_MAX_ZOOM)
        return hm_error_set(err, HM_E_INVALID_FIELD, "z", "zoom must be 0..%d", HM_TILE_MAX_ZOOM);
    if (x >= (UINT64_C(1) << z))
        return hm_error_set(err, HM_E_INVALID_FIELD, "x", "x must be below 2^z");
    if (y >= (UINT64_C(1) << z))
        return hm_error_set(err, HM_E_INVALID_FIELD, "y", "y must be below 2^z");

    out->layer = layer;
    out->tilejson = false;
    out->tile = (hm_tile){(int)z, (uint32_t)x, (uint32_t)y};
    return HM_OK;
}

bool hm_tile_valid(const hm_tile *t)
{
    return t->z >= 0 && t->z <= HM_TILE_MAX_ZOOM && (uint64_t)t->x < (UINT64_C(1) << t->z) &&
           (uint64_t)t->y < (UINT64_C(1) << t->z);
}

void hm_tile_lonlat_to_world(double lon, double lat, double *wx, double *wy)
{
    if (lat > HM_TILE_MAX_LAT)
        lat = HM_TILE_MAX_LAT;
    else if (lat < -HM_TILE_MAX_LAT)
        lat = -HM_TILE_MAX_LAT;
    *wx = (lon + 180.0) / 360.0;
    *wy = 0.5 - asinh(tan(lat * (PI / 180.0))) / (2.0 * PI);
}

void hm_tile_world_to_lonlat(double wx, double wy, double *lon, double *lat)
{
    *lon = wx * 360.0 - 180.0;
    *lat = atan(sinh(PI * (1.0 - 2.0 * wy))) * (180.0 / PI);
}

void hm_tile_bounds(const hm_tile *t, double bbox[4])
{
    hm_tile_bounds_buffered(t, 0.0, bbox);
}

void hm_tile_bounds_buffered(const hm_tile *t, double margin, double bbox[4])
{
    double n = ldexp(1.0, t->z);
    double x0 = ((double)t->x - margin) / n, x1 = ((double)t->x + 1.0 + margin) / n;
    double y0 = ((double)t->y - margin) / n, y1 = ((double)t->y + 1.0 + margin) / n;

    assert(hm_tile_valid(t));
    if (x0 < 0.0)
        x0 = 0.0;
    if (y0 < 0.0)
        y0 = 0.0;
    if (x1 > 1.0)
        x1 = 1.0;
    if (y1 > 1.0)
        y1 = 1.0;
    /* y grows southwards: the tile's top edge is its max latitude. */
    hm_tile_world_to_lonlat(x0, y1, &bbox[0], &bbox[1]);
    hm_tile_world_to_lonlat(x1, y0, &bbox[2], &bbox[3]);
}

int hm_tile_at(double lon, double lat, int z, hm_tile *out, hm_error *err)
{
    double wx, wy, n, fx, fy, last;

    if (!isfinite(lon) || lon < -180.0 || lon > 180.0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "lon", "lon must be -180..180");
    if (!isfinite(lat) || lat < -90.0 || lat > 90.0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "lat", "lat must be -90..90");
    if (z < 0 || z > HM_TILE_MAX_ZOOM)
        return hm_error_set(err, HM_E_INVALID_FIELD, "z", "zoom must be 0..%d", HM_TILE_MAX_ZOOM);
    hm_tile_lonlat_to_world(lon, lat, &wx, &wy);
    n = ldexp(1.0, z);
    last = (double)((UINT64_C(1) << z) - 1);
    /* floor, clamped: rounding can put the world's edges a hair outside */
    fx = fmin(fmax(floor(wx * n), 0.0), last);
    fy = fmin(fmax(floor(wy * n), 0.0), last);
    out->z = z;
    out->x = (uint32_t)fx;
    out->y = (uint32_t)fy;
    return HM_OK;
}

size_t hm_tile_containing(double lon, double lat, int z, double margin, hm_tile out[4])
{
    hm_tile home;
    double wx, wy, n, fx, fy;
    int64_t last;
    int64_t xs[2], ys[2];
    size_t nx = 0, ny = 0, count = 0;

    assert(margin >= 0.0 && margin < 0.5);
    if (hm_tile_at(lon, lat, z, &home, NULL) != HM_OK)
        return 0;
    hm_tile_lonlat_to_world(lon, lat, &wx, &wy);
    n = ldexp(1.0, z);
    last = ((int64_t)1 << z) - 1;
    fx = wx * n - (double)home.x; /* in [0, 1] */
    fy = wy * n - (double)home.y;

    xs[nx++] = home.x;
    if (fx <= margin && (int64_t)home.x > 0)
        xs[nx++] = (int64_t)home.x - 1;
    else if (fx >= 1.0 - margin && (int64_t)home.x < last)
        xs[nx++] = (int64_t)home.x + 1;
    ys[ny++] = home.y;
    if (fy <= margin && (int64_t)home.y > 0)
        ys[ny++] = (int64_t)home.y - 1;
    else if (fy >= 1.0 - margin && (int64_t)home.y < last)
        ys[ny++] = (int64_t)home.y + 1;

    for (size_t i = 0; i < nx; i++)
        for (size_t j = 0; j < ny; j++)
            out[count++] = (hm_tile){z, (uint32_t)xs[i], (uint32_t)ys[j]};
    return count;
}
