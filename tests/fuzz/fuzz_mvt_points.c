/* fuzz_mvt_points: the requests layer of /tiles/requests/{z}/{x}/{y}.mvt
 * (the streaming encoder hm_mvt_points_* and hm_mvt_encode_points) with
 * arbitrary coordinates — raw doubles (NaN, infinities, out of range) or
 * points near the tile — arbitrary strings, ids and counts, at every zoom
 * (clusters and single points), plus the tile math the cache uses for a point
 * (hm_tile_at, hm_tile_containing). Checks: the one-call and streaming
 * encoders give the same bytes; a tile parses, has one "requests" layer and,
 * at the default extent, passes the MVT lint of the tile tests; every tile
 * hm_tile_containing names is valid. */
#include "fuzz_input.h"
#include "hm_buf.h"
#include "mvt.h"
#include "tile.h"

#include "../tiles/tile_decode.h"

#include <math.h>
#include <stdlib.h>

#define MAX_POINTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    hm_mvt_options opt;
    hm_tile t;
    hm_mvt_point pts[MAX_POINTS];
    char strs[MAX_POINTS][5][16];
    size_t n;
    hm_buf one, streamed;
    hm_error err = {0};
    hm_mvt_points *enc;
    int rc;
    double b[4];

    if (size > 8192)
        return 0;
    hm_mvt_options_init(&opt);
    {
        uint8_t o = fz_u8(&in);
        if (o & 1)
            opt.cluster_maxzoom = o >> 3; /* 0..31: past HM_TILE_MAX_ZOOM + 1 is invalid */
        if ((o & 6) == 6) {
            opt.extent = fz_u32(&in);
            opt.buffer = fz_u32(&in);
            opt.cluster_cell = fz_u32(&in);
        }
    }
    t.z = fz_u8(&in) % 24;
    {
        uint32_t m = t.z <= 22 ? (1u << t.z) : 1;
        t.x = fz_u32(&in) % (m + 1);
        t.y = fz_u32(&in) % (m + 1);
    }
    if (hm_tile_valid(&t))
        hm_mvt_points_bounds(&t, hm_mvt_options_check(&opt, NULL) == HM_OK ? &opt : NULL, b);
    else
        b[0] = b[1] = 0, b[2] = b[3] = 1;

    n = fz_u8(&in) % (MAX_POINTS + 1);
    for (size_t i = 0; i < n; i++) {
        hm_mvt_point *p = &pts[i];
        uint8_t how = fz_u8(&in);
        memset(p, 0, sizeof *p);
        if (how & 1) {
            p->lon = fz_double(&in);
            p->lat = fz_double(&in);
        } else { /* inside the fetch box, on a 1/65535 grid */
            p->lon = b[0] + (b[2] - b[0]) * (fz_u16(&in) / 65535.0);
            p->lat = b[1] + (b[3] - b[1]) * (fz_u16(&in) / 65535.0);
        }
        p->id = (int64_t)(fz_u32(&in) & 0x7fffffff);
        p->code = (how & 2) ? fz_str(&in, strs[i][0], 15) : "CC-4K7M2B";
        p->category = (how & 4) ? fz_str(&in, strs[i][1], 15) : hm_mvt_categories[how % 7];
        p->status = (how & 8) ? fz_str(&in, strs[i][2], 15) : hm_mvt_statuses[how % 6];
        p->priority = (how & 16) ? NULL : "urgent";
        p->ward_code = (how & 32) ? fz_str(&in, strs[i][3], 15) : NULL;
        p->people = (int)fz_u32(&in);
        p->verified = how & 64;
        p->created_at = (int64_t)fz_u32(&in) * 1000 - 5;

        /* The cache's view of the same point. */
        {
            hm_tile around[4];
            size_t k = hm_tile_containing(p->lon, p->lat, t.z, 64.0 / 4096, around);
            HM_FUZZ_CHECK(k <= 4);
            for (size_t j = 0; j < k; j++)
                HM_FUZZ_CHECK(hm_tile_valid(&around[j]) && around[j].z == t.z);
            if (hm_tile_at(p->lon, p->lat, t.z, &around[0], NULL) == HM_OK)
                HM_FUZZ_CHECK(hm_tile_valid(&around[0]));
        }
    }

    hm_buf_init(&one);
    hm_buf_init(&streamed);
    rc = hm_mvt_encode_points(&t, pts, n, &opt, &one, &err);
    enc = hm_mvt_points_create(&t, &opt, NULL);
    HM_FUZZ_CHECK((rc == HM_OK) == (enc != NULL));
    if (rc != HM_OK) {
        HM_FUZZ_CHECK(rc == HM_E_INVALID_FIELD && err.code == HM_E_INVALID_FIELD);
        HM_FUZZ_CHECK(one.len == 0);
    } else {
        for (size_t i = 0; i < n; i++)
            hm_mvt_points_add(enc, &pts[i]);
        HM_FUZZ_CHECK(hm_mvt_points_finish(enc, &streamed, NULL) == HM_OK);
        HM_FUZZ_CHECK(hm_mvt_points_finish(enc, &streamed, NULL) != HM_OK); /* twice: refused */
        HM_FUZZ_CHECK(one.len == streamed.len);
        HM_FUZZ_CHECK(one.len == 0 || memcmp(one.data, streamed.data, one.len) == 0);
        if (one.len) {
            VectorTile__Tile *tile =
                vector_tile__tile__unpack(NULL, one.len, (const uint8_t *)one.data);
            HM_FUZZ_CHECK(tile != NULL && tile->n_layers == 1);
            HM_FUZZ_CHECK(strcmp(tile->layers[0]->name, "requests") == 0);
            HM_FUZZ_CHECK(tile->layers[0]->n_features >= 1);
            vector_tile__tile__free_unpacked(tile, NULL);
            if (opt.extent == 4096) {
                lint_result lr;
                mvt_lint(one.data, one.len, &lr);
                HM_FUZZ_CHECK(lr.errors == 0);
            }
        }
    }
    hm_mvt_points_destroy(enc);
    hm_buf_clear(&one);
    hm_buf_clear(&streamed);
    return 0;
}
