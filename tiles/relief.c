/* relief.c: the points layer (relief points): one feature per point, exact positions; see
 * mvt.h. */
#include <math.h>
#include <stdlib.h>

#include "mvt.h"
#include "mvt_int.h"

/* Keys, in writer order; the same as relief_fields in mvt.c. */
enum { RK_KIND, RK_STATUS, RK_NAME, RK_HOURS, RK_CAPACITY, RK_UPDATED_AT, RK__COUNT };
static const char *const relief_keys[RK__COUNT] = {"kind",  "status",   "name",
                                                   "hours", "capacity", "updated_at"};

int hm_mvt_encode_reliefs(const hm_tile *t, const hm_mvt_relief *pts, size_t n,
                          const hm_mvt_options *opt, hm_buf *out, hm_error *err)
{
    hm_mvt_options defaults;
    hm_mvt__writer w;
    double scale, x0, y0, lo, hi;
    int rc;

    if (!opt) {
        hm_mvt_options_init(&defaults);
        opt = &defaults;
    }
    if ((rc = hm_mvt_options_check(opt, err)) != HM_OK)
        return rc;
    if (!hm_tile_valid(t))
        return hm_error_set(err, HM_E_INVALID_FIELD, "z", "tile out of range");
    scale = ldexp((double)opt->extent, t->z);
    x0 = (double)t->x * opt->extent;
    y0 = (double)t->y * opt->extent;
    lo = -(double)opt->buffer;
    hi = (double)opt->extent + opt->buffer;
    hm_mvt__writer_init(&w, hm_tile_layer_name(HM_TILE_POINTS), relief_keys, RK__COUNT,
                        opt->extent);
    for (size_t i = 0; i < n; i++) {
        const hm_mvt_relief *p = &pts[i];
        double wx, wy, x, y;

        if (!(p->lon >= -180.0 && p->lon <= 180.0 && p->lat >= -90.0 && p->lat <= 90.0))
            continue; /* also NaN */
        hm_tile_lonlat_to_world(p->lon, p->lat, &wx, &wy);
        x = wx * scale - x0;
        y = wy * scale - y0;
        if (!(x >= lo && x <= hi && y >= lo && y <= hi))
            continue;
        if (p->kind && *p->kind)
            hm_mvt__tag(&w, RK_KIND, hm_mvt__value_str(&w, p->kind));
        if (p->status && *p->status)
            hm_mvt__tag(&w, RK_STATUS, hm_mvt__value_str(&w, p->status));
        if (p->name && *p->name)
            hm_mvt__tag(&w, RK_NAME, hm_mvt__value_str(&w, p->name));
        if (p->hours && *p->hours)
            hm_mvt__tag(&w, RK_HOURS, hm_mvt__value_str(&w, p->hours));
        if (p->capacity >= 0)
            hm_mvt__tag(&w, RK_CAPACITY, hm_mvt__value_int(&w, p->capacity));
        hm_mvt__tag(&w, RK_UPDATED_AT, hm_mvt__value_int(&w, p->updated_at));
        hm_mvt__feature_point(&w, p->id >= 0 ? (uint64_t)p->id : 0, (int32_t)lrint(x),
                              (int32_t)lrint(y));
    }
    rc = hm_mvt__writer_pack(&w, out, err);
    hm_mvt__writer_clear(&w);
    return rc;
}
