/* demo.c: a realistic load for the wall display and the benchmarks (`helpmap demo`): teams
 * spread over the district, requests weighted by population, a week of history, 10 % open. */
#include "areas.h"
#include "hm_buf.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct demo_area {
    char code[40];
    double bbox[4];
    double weight;
} demo_area;

typedef struct demo_areas {
    demo_area *a;
    size_t n, cap;
    double total;
} demo_areas;

static int demo_collect(void *ctx, const hm_area_row *row)
{
    demo_areas *d = ctx;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 32;
        d->a = hm_xrealloc(d->a, d->cap * sizeof *d->a);
    }
    snprintf(d->a[d->n].code, sizeof d->a[d->n].code, "%s", row->code);
    memcpy(d->a[d->n].bbox, row->bbox, sizeof row->bbox);
    d->a[d->n].weight = row->pop > 0 ? (double)row->pop : 10000.0;
    d->total += d->a[d->n].weight;
    d->n++;
    return 0;
}

/* xorshift64*: a deterministic stream for a given seed. */
static uint64_t demo_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static double demo_unit(uint64_t *s)
{
    return (demo_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* One fill: the areas to spread over, the random stream, the teams made so far. */
typedef struct demo_fill {
    hm_store *st;
    demo_areas areas;
    hm_area_index *idx;
    uint64_t rs;
    int64_t now;
    long n_teams;
    int64_t *team_ids;
    int *team_open; /* open requests each demo team holds */
} demo_fill;

/* An area drawn with probability proportional to its population. */
static const demo_area *demo_pick(demo_fill *d)
{
    double pick = demo_unit(&d->rs) * d->areas.total;
    size_t k = 0;
    while (k + 1 < d->areas.n && pick > d->areas.a[k].weight) {
        pick -= d->areas.a[k].weight;
        k++;
    }
    return &d->areas.a[k];
}

static int demo_team(demo_fill *d, long i, hm_error *err)
{
    static const char *const caps[] = {"[]", "[\"vehicle\"]", "[\"medical\"]", "[\"boat\"]",
                                       "[\"vehicle\",\"medical\"]"};
    const demo_area *a = demo_pick(d);
    hm_team t;
    char token[64];
    uint8_t hash[32];
    double lon, lat;

    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "Đội %ld", i + 1);
    t.role = HM_ROLE_VOLUNTEER;
    t.status = demo_unit(&d->rs) < 0.7 ? HM_TEAM_AVAILABLE : HM_TEAM_BUSY;
    snprintf(t.capabilities, sizeof t.capabilities, "%s", caps[demo_rand(&d->rs) % 5]);
    t.created_at = d->now;
    hm_token_generate(24, token, sizeof token);
    hm_sha256(token, strlen(token), hash);
    if (hm_store_team_insert(d->st, &t, hash, err))
        return err->code;
    d->team_ids[i] = t.id;
    lon = a->bbox[0] + demo_unit(&d->rs) * (a->bbox[2] - a->bbox[0]);
    lat = a->bbox[1] + demo_unit(&d->rs) * (a->bbox[3] - a->bbox[1]);
    return hm_store_team_set_position(d->st, t.id, lon, lat,
                                      d->now - (int64_t)(demo_unit(&d->rs) * 600000), err);
}

/* The status of a demo request: 10 % open, as in SPEC's benchmark database; a team holds a
 * few open requests, below the claim cap (SPEC: 5); past 3 the request waits as new
 * (issue 7: the benchmark data). */
static void demo_status(demo_fill *d, hm_request *r)
{
    double s = demo_unit(&d->rs);
    r->status = s < 0.05   ? HM_ST_NEW
                : s < 0.08 ? HM_ST_ASSIGNED
                : s < 0.10 ? HM_ST_IN_PROGRESS
                : s < 0.93 ? HM_ST_RESOLVED
                : s < 0.98 ? HM_ST_CANCELLED
                           : HM_ST_DUPLICATE;
    if (r->status == HM_ST_RESOLVED && d->n_teams > 0)
        r->team_id = d->team_ids[demo_rand(&d->rs) % (uint64_t)d->n_teams];
    if (r->status == HM_ST_ASSIGNED || r->status == HM_ST_IN_PROGRESS) {
        uint64_t t = d->n_teams > 0 ? demo_rand(&d->rs) % (uint64_t)d->n_teams : 0;
        if (d->n_teams > 0 && d->team_open[t] < 3) {
            r->team_id = d->team_ids[t];
            d->team_open[t]++;
        } else {
            r->status = HM_ST_NEW;
        }
    }
}

/* A request somewhere in a drawn area, as residents and the hotline make them; false when
 * no point of the area fell inside a commune. */
static bool demo_make(demo_fill *d, hm_request *r, char *phone, size_t phone_size)
{
    /* SPEC and the 2021 reports: 60-70 % food and cash support. */
    static const double cat_w[HM_CAT__COUNT] = {0.42, 0.07, 0.10, 0.24, 0.05, 0.04, 0.08};
    const demo_area *a = demo_pick(d);
    const char *codes[HM_LEVEL__COUNT];
    double c = demo_unit(&d->rs);
    int tries = 0;

    memset(r, 0, sizeof *r);
    /* A point inside the chosen unit: rejection sampling in its bbox. */
    do {
        r->lon = a->bbox[0] + demo_unit(&d->rs) * (a->bbox[2] - a->bbox[0]);
        r->lat = a->bbox[1] + demo_unit(&d->rs) * (a->bbox[3] - a->bbox[1]);
        hm_area_index_locate(d->idx, r->lon, r->lat, codes);
    } while (tries++ < 100 && !codes[HM_LEVEL_WARD]);
    if (!codes[HM_LEVEL_WARD])
        return false;
    snprintf(r->ward_code, sizeof r->ward_code, "%s", codes[0]);
    snprintf(r->former_ward_code, sizeof r->former_ward_code, "%s", codes[1] ? codes[1] : "");
    snprintf(r->hamlet_code, sizeof r->hamlet_code, "%s", codes[2] ? codes[2] : "");
    r->category = HM_CAT__COUNT - 1;
    for (int j = 0; j < HM_CAT__COUNT; j++) {
        if (c < cat_w[j]) {
            r->category = j;
            break;
        }
        c -= cat_w[j];
    }
    r->people = 1 + (int)(demo_rand(&d->rs) % 6);
    if (demo_unit(&d->rs) < 0.25)
        r->vulnerable = 1u << (demo_rand(&d->rs) % HM_VULN__COUNT);
    r->priority = hm_priority_of(r->category, r->vulnerable);
    r->precision = demo_unit(&d->rs) < 0.8 ? HM_PREC_GPS : HM_PREC_PIN;
    r->source = demo_unit(&d->rs) < 0.7 ? HM_SRC_WEB : HM_SRC_HOTLINE;
    r->verified = demo_unit(&d->rs) < 0.5;
    snprintf(phone, phone_size, "+849%08llu",
             (unsigned long long)(demo_rand(&d->rs) % 100000000ULL));
    r->phone = phone;
    r->name = (char *)"Người dân (demo)";
    r->created_at = d->now - (int64_t)(demo_unit(&d->rs) * 7 * 24 * 3600 * 1000.0);
    demo_status(d, r);
    if (r->status == HM_ST_NEW || r->status == HM_ST_ASSIGNED)
        r->created_at = d->now - (int64_t)(demo_unit(&d->rs) * 3 * 3600 * 1000.0);
    hm_token_generate(16, phone + 0, 1); /* keeps the stream of codes independent */
    snprintf(phone, phone_size, "+849%08llu",
             (unsigned long long)(demo_rand(&d->rs) % 100000000ULL));
    return true;
}

/* Stores a made request under a fresh code, with the history of its final status. */
static int demo_store(demo_fill *d, hm_request *r, hm_error *err)
{
    uint8_t hash[32];

    hm_random_bytes(hash, sizeof hash);
    for (int attempt = 0;; attempt++) {
        hm_error e2 = {0};
        int irc;
        hm_code_generate("CC", r->code, sizeof r->code);
        irc = hm_store_request_insert(d->st, r, hash, &e2);
        if (irc == HM_E_IN_USE && attempt < 8)
            continue;
        if (irc) {
            *err = e2;
            return irc;
        }
        break;
    }
    if (r->status != HM_ST_NEW) {
        int64_t later = r->created_at + (int64_t)(demo_unit(&d->rs) * 90 * 60 * 1000.0);
        if (later > d->now)
            later = d->now;
        /* The row was inserted with its final status; this only dates the change. */
        if (hm_store_request_set_status(d->st, r->id, r->status, r->status, r->team_id, NULL, later,
                                        err) ||
            hm_store_history_append(d->st, r->id, later, "demo", HM_ST_NEW, r->status, NULL,
                                    "status", err))
            return err->code ? err->code : HM_E_INTERNAL;
    }
    return HM_OK;
}

int hm_demo_fill(hm_store *st, long n_req, long n_teams, long seed,
                 void (*progress)(long done, long total), hm_error *err)
{
    hm_error e0 = {0};
    demo_fill d = {.st = st, .now = hm_now_ms(), .n_teams = n_teams};
    bool began = false;
    int rc;

    if (!err)
        err = &e0;
    if (hm_store_area_list(st, HM_LEVEL_FORMER_WARD, demo_collect, &d.areas, err))
        goto fail;
    if (d.areas.n == 0 && hm_store_area_list(st, HM_LEVEL_WARD, demo_collect, &d.areas, err))
        goto fail;
    if (d.areas.n == 0) {
        hm_error_set(err, HM_E_NOT_FOUND, NULL, "the database has no areas to fill");
        goto fail;
    }
    if (!(d.idx = hm_areas_index(st, err)))
        goto fail;
    d.rs = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
    d.team_ids = hm_xcalloc((size_t)(n_teams > 0 ? n_teams : 1), sizeof *d.team_ids);
    d.team_open = hm_xcalloc((size_t)(n_teams > 0 ? n_teams : 1), sizeof *d.team_open);

    if (hm_store_begin(st, true, err))
        goto fail;
    began = true;
    for (long i = 0; i < n_teams; i++)
        if (demo_team(&d, i, err))
            goto fail;
    for (long i = 0; i < n_req; i++) {
        hm_request r;
        char phone[24];

        if (demo_make(&d, &r, phone, sizeof phone) && demo_store(&d, &r, err))
            goto fail;
        if ((i + 1) % 20000 == 0) {
            if (hm_areas_note_reload(st, err) || hm_store_commit(st, err) ||
                hm_store_begin(st, true, err))
                goto fail;
            if (progress)
                progress(i + 1, n_req);
        }
    }
    /* Running servers reload their indexes once. */
    if (hm_areas_note_reload(st, err) || hm_store_commit(st, err))
        goto fail;
    rc = HM_OK;
    goto out;
fail:
    rc = err && err->code ? err->code : HM_E_INTERNAL;
    if (began)
        hm_store_rollback(st);
out:
    free(d.team_ids);
    free(d.team_open);
    free(d.areas.a);
    hm_area_index_destroy(d.idx);
    return rc;
}
