/* tilejson.c: TileJSON 3.0.0 documents; see tilejson.h. */
#include "tilejson.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mvt.h"

static const char *const layer_descriptions[HM_TILE_LAYER__COUNT] = {
    [HM_TILE_REQUESTS] = "Help requests (public fields only); clusters with point_count below "
                         "the cluster zoom",
    [HM_TILE_WARDS] = "Wards and communes in force, with open request counts",
    [HM_TILE_FORMER_WARDS] = "Wards and communes before the 2025 reform, with open request counts",
    [HM_TILE_HAMLETS] = "Hamlets (ap / khu pho), with open request counts",
    [HM_TILE_POINTS] = "Relief points: shelters, food and water, medical posts, phone charging, "
                       "boats; exact positions (public places)",
};

static bool bounds_ok(const double *b)
{
    for (int i = 0; i < 4; i++)
        if (!isfinite(b[i]))
            return false;
    return b[0] >= -180.0 && b[2] <= 180.0 && b[1] >= -90.0 && b[3] <= 90.0 && b[0] <= b[2] &&
           b[1] <= b[3];
}

/* The zoom at which the box spans about one tile. */
static int fit_zoom(const double b[4])
{
    double wx0, wy0, wx1, wy1, span;
    int z;

    hm_tile_lonlat_to_world(b[0], b[3], &wx0, &wy0);
    hm_tile_lonlat_to_world(b[2], b[1], &wx1, &wy1);
    span = fmax(wx1 - wx0, wy1 - wy0);
    if (!(span > 0.0))
        return HM_TILE_MAX_ZOOM;
    z = (int)floor(-log2(span));
    return z < 0 ? 0 : z;
}

int hm_tilejson_write(hm_tile_layer layer, const hm_tilejson_params *p, hm_buf *out, hm_error *err)
{
    static const double world[4] = {-180.0, -HM_TILE_MAX_LAT, 180.0, HM_TILE_MAX_LAT};
    json_t *root = NULL, *fields = NULL, *vl = NULL;
    const hm_mvt_field *f;
    const double *b = p->bounds ? p->bounds : world;
    hm_buf url;
    char *text = NULL;
    size_t nfields = 0;
    int zoom, rc = HM_OK;

    hm_buf_init(&url);
    if ((unsigned)layer >= HM_TILE_LAYER__COUNT) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "layer", "no such tile layer");
        goto out;
    }
    if (!p->base_url || !*p->base_url) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "base_url", "base URL required");
        goto out;
    }
    if (p->minzoom < 0 || p->maxzoom > HM_TILE_MAX_ZOOM || p->minzoom > p->maxzoom) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "zoom", "zoom range must lie in 0..%d",
                          HM_TILE_MAX_ZOOM);
        goto out;
    }
    if (!bounds_ok(b)) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "bounds", "bounds must be lon/lat min, max");
        goto out;
    }

    hm_buf_puts(&url, p->base_url);
    while (url.len > 0 && url.data[url.len - 1] == '/')
        url.data[--url.len] = '\0';
    hm_buf_printf(&url, "/tiles/%s/{z}/{x}/{y}.mvt", hm_tile_layer_name(layer));
    if (p->query && *p->query)
        hm_buf_printf(&url, "?%s", p->query);

    fields = json_object();
    f = hm_mvt_layer_fields(layer, &nfields);
    for (size_t i = 0; fields && i < nfields; i++)
        if (json_object_set_new(fields, f[i].name, json_string(f[i].type)) != 0) {
            rc = hm_error_set(err, HM_E_NOMEM, NULL, "jansson failed");
            goto out;
        }
    vl = json_pack("[{s:s, s:s, s:i, s:i, s:O}]", "id", hm_tile_layer_name(layer), "description",
                   layer_descriptions[layer], "minzoom", p->minzoom, "maxzoom", p->maxzoom,
                   "fields", fields);
    zoom = fit_zoom(b);
    if (zoom < p->minzoom)
        zoom = p->minzoom;
    if (zoom > p->maxzoom)
        zoom = p->maxzoom;
    root =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:i, s:i, s:[f,f,f,f], s:[f,f,i], s:O}",
                  "tilejson", "3.0.0", "name", hm_tile_layer_name(layer), "description",
                  layer_descriptions[layer], "version", "1.0.0", "scheme", "xyz", "tiles", url.data,
                  "minzoom", p->minzoom, "maxzoom", p->maxzoom, "bounds", b[0], b[1], b[2], b[3],
                  "center", (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, zoom, "vector_layers", vl);
    if (!fields || !vl) {
        rc = hm_error_set(err, HM_E_NOMEM, NULL, "jansson failed");
        goto out;
    }
    if (!root) { /* json_pack refuses strings that are not UTF-8 */
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "base_url", "base URL and query must be UTF-8");
        goto out;
    }
    if (p->attribution && json_object_set_new(root, "attribution", json_string(p->attribution))) {
        rc = hm_error_set(err, HM_E_INVALID_FIELD, "attribution", "attribution must be UTF-8");
        goto out;
    }
    text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!text) {
        rc = hm_error_set(err, HM_E_NOMEM, NULL, "jansson failed");
        goto out;
    }
    hm_buf_puts(out, text);
out:
    free(text);
    json_decref(root);
    json_decref(vl);
    json_decref(fields);
    hm_buf_clear(&url);
    return rc;
}
