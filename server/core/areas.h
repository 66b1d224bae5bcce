/* areas.h: the areas' side of the core — the three levels with live counts, a coordinator's
 * area changes (validated, repaired, clipped to the ward, checked for overlap, requests
 * reassigned) and imports of whole GeoJSON files (the command line, the first start). Same
 * conventions as requests.h. */
#ifndef HM_AREAS_H
#define HM_AREAS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "area.h"
#include "areacount.h"
#include "core.h"
#include "policy.h"
#include "store.h"

struct hm_tile_blob;

typedef struct hm_area_op {
    hm_job job;
    hm_core *core;
    hm_level level;
    hm_area area;  /* upsert: the area as given, then as fitted (owned) */
    bool remove;   /* delete area.code */
    bool reassign; /* delete even when requests point to it */
    int expect;    /* upsert: 1 the area must be new (POST), 2 it must exist (PUT) */
    int64_t moved; /* after the job: requests whose area codes changed */
} hm_area_op;

/* A coordinator's new (`path_level` NULL: POST, level in the feature's properties) or
 * replaced (PUT /areas/{level}/{code}) area, from a GeoJSON Feature. The body's code and
 * level may repeat the path's, never contradict them. Fitting into the parent ward and the
 * overlap check with siblings run in the writer's transaction. */
int hm_core_area_upsert(hm_core *c, const hm_actor *a, json_t *feature, const char *path_level,
                        const char *path_code, hm_area_op *op, hm_error *err);
/* DELETE /areas/{level}/{code}: HM_E_IN_USE while requests point to it unless `reassign`. */
int hm_core_area_delete(hm_core *c, const hm_actor *a, const char *level_text, const char *code,
                        bool reassign, hm_area_op *op, hm_error *err);
void hm_area_op_clear(hm_area_op *op);

/* Every area of `level` with its counts, to cb (public). `row` and `counts` are borrowed for
 * the call. */
typedef int (*hm_area_counts_cb)(void *ctx, const hm_area_row *row, const hm_area_count *counts);
int hm_core_areas(hm_core *c, hm_level level, hm_area_counts_cb cb, void *ctx, hm_error *err);

/* GET /areas?level=&simplify= as ready bytes: a FeatureCollection of the areas of `level` with
 * their live counts, outlines simplified by `simplify_m` metres (0: as stored; else each outline
 * simplified alone, its topology kept, on a 0.1 m grid), with its gzip'd copy and ETags. Made
 * once per change of the areas and of the counts; a hit copies no bytes. *out: release with
 * hm_tile_blob_release(). Thread-safe. */
int hm_core_areas_doc(hm_core *c, hm_level level, int simplify_m, struct hm_tile_blob **out,
                      hm_error *err);

/* A number that grows each time the areas this server uses change (pages made from the areas
 * keep it to know when to make themselves again). Thread-safe. */
unsigned long hm_core_areas_generation(hm_core *c);

/* Build the point-to-area index from every area in `st`. NULL with `err` filled. */
hm_area_index *hm_areas_index(hm_store *st, hm_error *err);

/* What an import did. */
typedef struct hm_import_report {
    size_t count, repaired;
    int64_t moved; /* requests whose area codes changed */
} hm_import_report;

/* Import `text` (a GeoJSON FeatureCollection, `len` bytes, properties named by `fields`, may be
 * NULL) as areas of `level` into `st` in one transaction, then reassign the requests:
 * `replace` drops the level's other areas first. Hamlets need a parent ward. Repairs are
 * reported on stderr. Nothing changes on error. For `helpmap import-areas` and the first
 * start of a new database. */
int hm_areas_import(hm_store *st, hm_level level, const char *text, size_t len,
                    const hm_area_fields *fields, bool replace, hm_import_report *rep,
                    hm_error *err);
/* Record, in `st`'s transaction, that many rows changed at once (bulk loads such as `helpmap
 * demo`): running servers reload their indexes. */
int hm_areas_note_reload(hm_store *st, hm_error *err);
/* Fill `st` with a realistic load (`helpmap demo`, core/demo.c): `n_teams` volunteer teams with
 * positions, `n_req` requests over the areas (former wards, else wards) weighted by
 * population, a week of history, 10 % open; deterministic for a `seed`. Commits every 20,000
 * requests, calling progress(done, total) (may be NULL). Running servers reload their
 * indexes. */
int hm_demo_fill(hm_store *st, long n_req, long n_teams, long seed,
                 void (*progress)(long done, long total), hm_error *err);
/* Import the default areas linked into the program (Củ Chi: wards and former wards), then its
 * place names (hm_places_import_defaults). */
int hm_areas_import_defaults(hm_store *st, hm_error *err);

#endif
