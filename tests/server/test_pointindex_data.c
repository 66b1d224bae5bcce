/* test_pointindex_data.c: the data-carrying side of server/pointindex.c (issue 7: open
 * requests answer nearby, lists and tiles from memory): each point keeps its own copy of the
 * caller's bytes through puts, moves and removals; within() visits exactly the points of a
 * box that pass the filter; nearest_data() copies the data of exactly the hits it returns;
 * update_all() changes data in place. Checked against brute force over random points. */
#include "geo.h"
#include "hm_test.h"
#include "pointindex.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct payload {
    int64_t id;
    char name[24];
    int version;
} payload;

typedef struct pt {
    int64_t id;
    double lon, lat;
    int tag;
    bool live;
    int version;
} pt;

#define N 3000

static uint64_t rng = 0x243f6a8885a308d3ULL;

static double unit(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static payload make(int64_t id, int version)
{
    payload p;
    memset(&p, 0, sizeof p);
    p.id = id;
    p.version = version;
    snprintf(p.name, sizeof p.name, "point-%lld", (long long)id);
    return p;
}

typedef struct visit_ctx {
    const pt *pts;
    int *seen; /* by index id - 1 */
    int bad_data;
    int stop_after; /* 0: never */
    int visited;
} visit_ctx;

static int even_tag(void *ctx, const hm_point_hit *h)
{
    (void)ctx;
    return h->tag % 2 == 0;
}

static int on_visit(void *ctx, const hm_point_hit *h)
{
    visit_ctx *v = ctx;
    const payload *d = h->data;
    const pt *p = &v->pts[h->id - 1];
    payload want = make(h->id, p->version);
    v->seen[h->id - 1]++;
    if (!d || memcmp(d, &want, sizeof want) != 0 || h->lon != p->lon || h->lat != p->lat)
        v->bad_data++;
    v->visited++;
    return v->stop_after && v->visited >= v->stop_after;
}

static void bump(void *ctx, int64_t id, void *data)
{
    payload *d = data;
    (void)ctx;
    if (id % 3 == 0)
        d->version += 10;
}

int main(void)
{
    static pt pts[N];
    static int seen[N];
    hm_pointindex *ix = hm_pointindex_create_data(sizeof(payload));
    hm_pointindex *plain = hm_pointindex_create();
    payload got;

    CHECK_INT_EQ(hm_pointindex_data_size(ix), sizeof(payload));
    CHECK_INT_EQ(hm_pointindex_data_size(plain), 0);

    /* Points around Cu Chi; every fifth moves once and every seventh is removed. */
    for (int i = 0; i < N; i++) {
        payload d;
        pts[i] =
            (pt){i + 1, 106.35 + unit() * 0.3, 10.9 + unit() * 0.26, (int)(unit() * 7), true, 1};
        d = make(i + 1, 1);
        hm_pointindex_put_data(ix, pts[i].id, pts[i].lon, pts[i].lat, pts[i].tag, 0, &d);
    }
    for (int i = 0; i < N; i += 5) {
        payload d;
        pts[i].lon = 106.35 + unit() * 0.3;
        pts[i].lat = 10.9 + unit() * 0.26;
        pts[i].version = 2;
        d = make(pts[i].id, 2);
        hm_pointindex_put_data(ix, pts[i].id, pts[i].lon, pts[i].lat, pts[i].tag, 0, &d);
    }
    for (int i = 0; i < N; i += 7) {
        pts[i].live = false;
        hm_pointindex_remove(ix, pts[i].id);
    }
    CHECK_INT_EQ(hm_pointindex_count(ix), N - (N + 6) / 7);

    /* get_data: the latest copy, nothing for removed points or an index without data. */
    for (int i = 0; i < N; i++) {
        int found = hm_pointindex_get_data(ix, pts[i].id, &got);
        payload want = make(pts[i].id, pts[i].version);
        CHECK_INT_EQ(found, pts[i].live);
        if (found)
            CHECK(memcmp(&got, &want, sizeof want) == 0);
    }
    hm_pointindex_put(plain, 1, 106.5, 11.0, 0, 0);
    CHECK_INT_EQ(hm_pointindex_get_data(plain, 1, &got), 0);

    /* within: exactly the live points in the box that pass the filter, each once. */
    for (int round = 0; round < 40; round++) {
        double x0 = 106.3 + unit() * 0.4, y0 = 10.85 + unit() * 0.35;
        double bbox[4] = {x0, y0, x0 + unit() * 0.15, y0 + unit() * 0.15};
        bool filtered = round % 2 == 1;
        visit_ctx v = {pts, seen, 0, 0, 0};
        size_t n;
        int want = 0, wrong = 0;
        memset(seen, 0, sizeof seen);
        n = hm_pointindex_within(ix, bbox, filtered ? even_tag : NULL, on_visit, &v);
        for (int i = 0; i < N; i++) {
            bool in = pts[i].live && pts[i].lon >= bbox[0] && pts[i].lon <= bbox[2] &&
                      pts[i].lat >= bbox[1] && pts[i].lat <= bbox[3] &&
                      (!filtered || pts[i].tag % 2 == 0);
            want += in;
            wrong += seen[i] != (in ? 1 : 0);
        }
        CHECK_INT_EQ(n, want);
        CHECK_INT_EQ(wrong, 0);
        CHECK_INT_EQ(v.bad_data, 0);
    }
    {
        /* A whole-world box, stopped after 10 visits. */
        double world[4] = {-180, -90, 180, 90};
        visit_ctx v = {pts, seen, 0, 10, 0};
        memset(seen, 0, sizeof seen);
        CHECK_INT_EQ(hm_pointindex_within(ix, world, NULL, on_visit, &v), 10);
        CHECK_INT_EQ(v.visited, 10);
        /* An inverted or NaN box visits nothing. */
        double inverted[4] = {107, 11, 106, 10};
        CHECK_INT_EQ(hm_pointindex_within(ix, inverted, NULL, on_visit, &v), 0);
    }

    /* nearest_data: each hit's data is the copy of that hit's point. */
    for (int round = 0; round < 100; round++) {
        double lon = 106.35 + unit() * 0.3, lat = 10.9 + unit() * 0.26;
        hm_point_hit hits[8];
        payload data[8];
        size_t n = hm_pointindex_nearest_data(ix, lon, lat, round % 2 ? 3000 : 0, 8, NULL, NULL,
                                              hits, data);
        for (size_t k = 0; k < n; k++) {
            payload want = make(hits[k].id, pts[hits[k].id - 1].version);
            CHECK(hits[k].data == NULL);
            CHECK(memcmp(&data[k], &want, sizeof want) == 0);
            CHECK(fabs(hits[k].distance_m - hm_geo_distance_m(lon, lat, hits[k].lon, hits[k].lat)) <
                  1e-9);
        }
        CHECK(round % 2 == 1 || n == 8);
    }

    /* update_all: in place, positions untouched. */
    hm_pointindex_update_all(ix, bump, NULL);
    for (int i = 0; i < N; i++)
        if (pts[i].live && pts[i].id % 3 == 0)
            pts[i].version += 10;
    for (int i = 0; i < N; i++) {
        payload want = make(pts[i].id, pts[i].version);
        if (!pts[i].live)
            continue;
        CHECK_INT_EQ(hm_pointindex_get_data(ix, pts[i].id, &got), 1);
        CHECK(memcmp(&got, &want, sizeof want) == 0);
    }

    /* put without data in an index with data: zeros. */
    hm_pointindex_put(ix, pts[1].id, pts[1].lon, pts[1].lat, pts[1].tag, 0);
    CHECK_INT_EQ(hm_pointindex_get_data(ix, pts[1].id, &got), 1);
    CHECK(got.id == 0 && got.version == 0 && got.name[0] == '\0');

    hm_pointindex_destroy(ix);
    hm_pointindex_destroy(plain);
    return hm_test_done("test_pointindex_data");
}
