/* service.h: what helpmap does to requests and teams, as writer jobs —
 * creation with area assignment and the duplicate rule, status moves by the
 * transition table, verification, contact reveals, team positions, claim
 * time-outs and responder alerts. Owns the consistency between the database,
 * the in-memory indexes (app.h) and the events; not HTTP. Each hm_svc_*
 * job struct is filled by the caller, run by the writer (writer.h), and read
 * back after it finished. */
#ifndef HM_SERVICE_H
#define HM_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "store.h"
#include "writer.h"

/* Build the point-to-area index from the areas in `st`. NULL on error. */
hm_area_index *hm_svc_build_area_index(hm_store *st, hm_error *err);

/* Start-up: area index, open requests and team positions into `app`. */
int hm_svc_load(hm_core *app, hm_store *st, hm_error *err);

/* Writer tick: claim time-outs and alert escalation. */
void hm_svc_tick(hm_store *st, void *app);

/* The open requests that pass `f`, from the in-memory index instead of the database (issue 7:
 * lists and tiles without a read of a million rows): the rows hm_store_request_list() gives,
 * without contact data (note, name, address, phone are NULL). `f` may use bbox, category,
 * ward_code, since_ms, after_id, team_id, verified and limit; its status_mask must be
 * non-zero and lie within the open statuses.
 * `ordered`: cb sees the rows in id order, at most f->limit (0: all), outside any lock.
 * Otherwise cb sees them in no order and runs under the index's read lock: it must be quick
 * and must not call the index, the store or anything that waits for the writer.
 * A non-zero return of cb stops the walk and is returned. Returns HM_OK, or HM_E_NOT_FOUND,
 * doing nothing, when the index cannot answer `f` (phone filter, a closed status or any
 * status, or no data in the index): then ask the store. Thread-safe. */
int hm_svc_open_list(hm_core *app, const hm_request_filter *f, bool ordered, hm_request_cb cb,
                     void *ctx);

/* How many open requests team `team_id` holds (assigned or in progress), from memory: what
 * hm_store_team_open_count() counts, as of the last committed change. -1 when the
 * open-request index keeps no data (then ask the store). Thread-safe. */
int64_t hm_svc_team_held(hm_core *app, int64_t team_id);

/* Create a request. Input: req (position or area codes, fields; code, id,
 * status, areas and times are filled by the job), want_ward/want_hamlet for
 * address-only requests, token_hash. Output: duplicate (then `req` is the
 * existing request), or the stored request. */
typedef struct hm_svc_create {
    hm_job job;
    hm_core *app;
    hm_request req;
    bool by_address; /* position from the area codes below */
    char want_ward[40], want_hamlet[40];
    uint8_t token_hash[32];
    bool duplicate;
} hm_svc_create;
void hm_svc_create_init(hm_svc_create *c, hm_core *app);
void hm_svc_create_clear(hm_svc_create *c);

/* Move a request. */
typedef struct hm_svc_change {
    hm_job job;
    hm_core *app;
    char code[16];
    int to;               /* target status */
    unsigned actor;       /* HM_ACT_* of the caller (HOLDER computed by the job) */
    int64_t actor_team;   /* calling team, 0 for resident/system */
    char actor_name[104]; /* "resident" or team name */
    int64_t assign_team;  /* for assign: the team; for claim: the caller */
    bool claim;           /* a claim: already_claimed unless new */
    char duplicate_of[16];
    char *note; /* malloc'd or NULL */
    int claim_cap;
    int before_status; /* what the change moved away from, for the tally */
    int64_t before_status_at;
    hm_request result; /* the request after the change */
} hm_svc_change;
void hm_svc_change_init(hm_svc_change *c, hm_core *app, const char *code, int to);
void hm_svc_change_clear(hm_svc_change *c);

/* Mark verified (operator+). */
typedef struct hm_svc_simple {
    hm_job job;
    hm_core *app;
    int64_t request_id;
    char actor_name[104];
    int64_t team_id;
    double lon, lat;
    int status;
    size_t n_ids;
    int64_t *ids; /* reveals of several requests */
    hm_request result;
    hm_team team; /* team jobs: the team after the change */
} hm_svc_simple;
void hm_svc_verify_init(hm_svc_simple *s, hm_core *app, int64_t request_id, const char *actor);
void hm_svc_reveal_init(hm_svc_simple *s, hm_core *app, const int64_t *ids, size_t n,
                        const char *actor);
void hm_svc_team_location_init(hm_svc_simple *s, hm_core *app, int64_t team_id, double lon,
                               double lat);
void hm_svc_team_status_init(hm_svc_simple *s, hm_core *app, int64_t team_id, int status);
void hm_svc_simple_clear(hm_svc_simple *s);

/* Area changes (areas API and import): upsert or delete one area, then
 * reassign requests and swap the index after commit. */
typedef struct hm_svc_area {
    hm_job job;
    hm_core *app;
    hm_level level;
    hm_area area;  /* upsert: fitted area (owned) */
    bool remove;   /* delete area.code */
    bool reassign; /* delete even when requests point to it */
    int64_t moved; /* requests whose codes changed */
} hm_svc_area;
void hm_svc_area_init(hm_svc_area *a, hm_core *app, hm_level level);
void hm_svc_area_clear(hm_svc_area *a);

/* Recompute the area codes of every request under `idx`; *moved receives
 * how many changed. Used after imports. */
int hm_svc_reassign_all(hm_store *st, const hm_area_index *idx, int64_t *moved, hm_error *err);

/* Public event payloads for a team update (coordinators only). */
void hm_svc_publish_team(hm_core *app, const hm_team *t);

#endif
