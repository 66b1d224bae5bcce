/* relief.h: relief points in the core (SPEC, "What Vietnam's 2024-2025 flood maps taught") —
 * shelters, food and water distribution, medical posts, phone-charging points, boats. Public
 * reads from the in-memory index (reliefindex.h) that follows the store on every server; a
 * coordinator's creations, changes and deletions as writer jobs that record a change of kind
 * HM_CH_RELIEF, so that indexes, the points tiles and the point.* events follow. Same
 * conventions as requests.h. Also the parsing of a pasted location (GET /geo/parse). */
#ifndef HM_RELIEF_H
#define HM_RELIEF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "entity.h"
#include "policy.h"
#include "reliefindex.h"

/* Which fields a body gave (hm_relief_op.given). */
enum {
    HM_RF_KIND = 1 << 0,
    HM_RF_NAME = 1 << 1,
    HM_RF_ADDRESS = 1 << 2,
    HM_RF_HOURS = 1 << 3,
    HM_RF_CAPACITY = 1 << 4,
    HM_RF_STATUS = 1 << 5,
    HM_RF_POSITION = 1 << 6,
};

typedef struct hm_relief_op {
    hm_job job;
    hm_core *core;
    int what;         /* HM_RELIEF_CREATED, _UPDATED or _DELETED */
    int64_t id;       /* update, delete: the point */
    unsigned given;   /* update: the fields to change (HM_RF_*) */
    hm_relief in;     /* the fields given */
    hm_relief result; /* after the job: the point as stored (deleted: as it was) */
} hm_relief_op;

/* POST /points (coordinator): `body` is {kind, name, lat, lon, address?, hours?, capacity?,
 * status?} or a GeoJSON Feature with a Point geometry and those properties. kind, name and the
 * position are required; status defaults to open. Text fields are plain text without
 * bidirectional controls (name <= 100, address <= 200, hours <= 100 characters), capacity a
 * whole number from 0 to 1,000,000 or null. HM_E_INVALID_FIELD names the first bad field. */
int hm_core_relief_create(hm_core *c, const hm_actor *a, json_t *body, hm_relief_op *op,
                          hm_error *err);
/* PUT /points/{id} (coordinator): the fields given replace the stored ones, the others stay
 * (so that "open / full / closed in one tap" sends {"status": "full"}); null clears address,
 * hours and capacity. HM_E_NOT_FOUND for a malformed or unknown id (decided in the job). */
int hm_core_relief_update(hm_core *c, const hm_actor *a, const char *id_text, json_t *body,
                          hm_relief_op *op, hm_error *err);
/* DELETE /points/{id} (coordinator). HM_E_NOT_FOUND as above. */
int hm_core_relief_delete(hm_core *c, const hm_actor *a, const char *id_text, hm_relief_op *op,
                          hm_error *err);

/* Parse a kind filter: one kind or a comma-separated list ("food,water"); NULL or "": every
 * kind (mask 0). HM_E_INVALID_FIELD (field "kind") otherwise. */
int hm_core_relief_kinds(const char *s, unsigned *mask, hm_error *err);
/* The same for statuses ("open,full"), field "status". */
int hm_core_relief_statuses(const char *s, unsigned *mask, hm_error *err);

/* Every point of `kind_mask` and `status_mask` (0: any), in id order, copied into *out
 * (caller frees; NULL when none). Public. */
void hm_core_relief_list(hm_core *c, unsigned kind_mask, unsigned status_mask, hm_relief **out,
                         size_t *n);
/* One point; HM_E_NOT_FOUND for a malformed or unknown id. Public. */
int hm_core_relief_get(hm_core *c, const char *id_text, hm_relief *out, hm_error *err);
/* The points of `kind_mask` nearest to (lon, lat), open ones first, then full, then closed,
 * each by geodesic distance, at most `limit` (1..50) into out. Public. HM_E_INVALID_FIELD
 * (field "lat", "lon" or "limit") for values out of range. */
int hm_core_relief_nearest(hm_core *c, double lon, double lat, unsigned kind_mask, size_t limit,
                           hm_relief_hit *out, size_t *n, hm_error *err);
#define HM_RELIEF_NEAREST_MAX 50

/* What a pasted location means (GET /geo/parse, public): the point, the form understood, and
 * the ward it falls in ("" outside the service area). Pure computation, no store: cheap
 * enough for a public endpoint. HM_E_INVALID_FIELD (field `field`, the parser's message) when
 * the text is none of the forms of locparse.h. */
typedef struct hm_geo_parse {
    double lon, lat;
    const char *form; /* hm_loc_form_name() */
    char ward_code[40];
    bool inside;
} hm_geo_parse;
int hm_core_geo_parse(hm_core *c, const char *text, size_t len, const char *field,
                      hm_geo_parse *out, hm_error *err);

#endif
