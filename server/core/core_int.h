/* core_int.h: what the core's modules share and nobody above the core sees — applying a
 * committed change to the indexes and publishing it (follow.c), locating a point in the areas,
 * the alert queue. Writer thread unless a function says otherwise. */
#ifndef HM_CORE_INT_H
#define HM_CORE_INT_H

#include "areacount.h"
#include "core.h"
#include "entity.h"
#include "store.h"

/* Record, in `st`'s transaction, that request `r` was created (`before` NULL) or changed from
 * `before`; `r` is borrowed until the writer applied the change (follow.c). */
int hm_core__record_request(hm_store *st, const hm_request *r, const hm_request *before,
                            hm_error *err);
/* The same with HM_CHF_* `flags` (a coordinator's assignment: HM_CHF_ASSIGNED). */
int hm_core__record_request_ex(hm_store *st, const hm_request *r, const hm_request *before,
                               unsigned flags, hm_error *err);
/* Record the resident's receipt on `r` (changed from `before`; `team`, the holding team, may be
 * NULL): followers count it and, when it raises a flag, tell coordinators ("request.flagged"
 * with the team's name). Both borrowed until the writer applied the change. */
int hm_core__record_receipt(hm_store *st, const hm_request *r, const hm_request *before,
                            const hm_team *team, hm_error *err);
/* The same without lending the row (the follower reads it back): for many rows at once. */
int hm_core__record_request_id(hm_store *st, int64_t id, const hm_request *before, hm_error *err);
/* Record that team `t` changed: `moved` when the team itself set its position or status
 * (coordinators get "team.moved"). */
int hm_core__record_team(hm_store *st, const hm_team *t, bool moved, hm_error *err);
/* Record that relief point `id` was created, updated or deleted (`what`: enum
 * hm_relief_change); `p` is the point after the change (borrowed like `r` above; NULL for a
 * deletion). */
int hm_core__record_relief(hm_store *st, int what, int64_t id, const hm_relief *p, hm_error *err);
/* Record that the area `code` of `level` changed; `code` NULL: many rows changed at once
 * (imports), every server reloads its indexes. */
int hm_core__record_area(hm_store *st, int level, const char *code, hm_error *err);

/* Record, in `st`'s transaction, that the places of `source` changed: every server rebuilds its
 * place index. */
int hm_core__record_places(hm_store *st, const char *source, hm_error *err);

/* The place index (gazetteer.c): build it from the committed areas and places and start the
 * thread that rebuilds it (and reads the basemap's names); stop; mark it out of date (any
 * thread; the rebuild runs on the index's own thread). */
int hm_core__places_start(hm_core *c, hm_error *err);
void hm_core__places_stop(hm_core *c);
void hm_core__places_changed(hm_core *c);
/* The point of the best place named in `text` (an address: every word of a place's whole name,
 * consecutive) inside ward `ward` and, when `hamlet` is not empty, that hamlet; areas of level
 * ward never count. True with *lon, *lat set; false when none. Any thread. */
bool hm_core__place_in_text(hm_core *c, const char *text, const char *ward, const char *hamlet,
                            double *lon, double *lat);

/* The payload of a request event (reqjson.c): the request without contact data, snapped for
 * the public; with the place hint, and for `public_view` false the holding team's name (the
 * team payload is also what the resident's own stream gets). Caller frees; NULL if jansson
 * fails. Any thread. */
char *hm_core__request_event_text(hm_core *c, const hm_request *r, bool public_view);
/* The name of team `team_id` into out[0, size) ("" when none): the team index, else `st`
 * (may be NULL). */
void hm_core__team_name(hm_core *c, hm_store *st, int64_t team_id, char *out, size_t size);

struct hm_create_op;
/* Run the creation `op` (filled by hm_core_create or an import) in `st`'s transaction. */
int hm_core__create_row(hm_store *st, struct hm_create_op *op, hm_error *err);

/* Writer: the `n` changes of a batch committed and durable; apply them (and those of others
 * before them) to the indexes and the event stream before the batch is answered. */
void hm_core__follow_changes(const hm_change *list, size_t n, void *core);
/* The same for the transaction just committed on `st` (hm_store_changes_done()). */
void hm_core__committed(hm_store *st, void *core);
/* Start following the change log after change `last` (the indexes hold everything up to it);
 * stop. */
int hm_core__follow_start(hm_core *c, int64_t last, hm_error *err);
void hm_core__follow_stop(hm_core *c);
/* Fill the indexes (areas, counts, open requests, teams) from `st`, replacing what they hold. */
int hm_core__load_indexes(hm_core *c, hm_store *st, hm_error *err);

/* The ward, former ward and hamlet codes of r's position under the committed areas into r
 * (takes the areas' lock); _in: under `idx` (NULL: none). */
void hm_core__locate(hm_core *c, hm_request *r);
void hm_core__locate_in(const hm_area_index *idx, hm_request *r);

/* The alert queue: new requests waiting for escalation (alerts.c). */
struct hm_alerts *hm_alerts__create(void);
void hm_alerts__destroy(struct hm_alerts *a);
/* The nearest available teams to new request `r` as the team index stands now (the follower
 * calls it when it applies the creation, so that a claim applied after it cannot change whom
 * the creation alerts): up to 8 ids into out; returns how many. */
size_t hm_alerts__targets(hm_core *c, const hm_request *r, int64_t *out);
/* Publisher thread: alert `teams` of new request `r` (event id `id`; `team_text` is the
 * request's team payload) and remember whom, for escalation. */
void hm_alerts__created(hm_core *c, const hm_request *r, const char *team_text, uint64_t id,
                        const int64_t *teams, size_t n);
/* Writer tick: alert the next teams of the requests still new after the escalation time. */
void hm_alerts__escalate(hm_core *c, hm_store *st, int64_t now);

/* Free the rendered /areas answers (areacache.c). Accepts NULL. */
void hm_areas__cache_destroy(struct hm_areas_cache *cache);

/* ---- Holds ----
 * A volunteer team that claims and then releases more than `limit` requests within
 * `window_s` is held from claiming for `window_s` after the release that crossed the line
 * (issue 11: claim, read the contact data, release, for any request anywhere). Counted in
 * memory, per server, like the rate limits. Thread-safe. */
struct hm_holds *hm_holds__create(int limit, int window_s); /* limit 0: never held */
void hm_holds__destroy(struct hm_holds *h);
/* Team `team_id` released a request it held at `now` (ms). True when this made it held. */
bool hm_holds__release(struct hm_holds *h, int64_t team_id, int64_t now);
/* Until when (ms) the team is held, or 0 when it is not at `now`. */
int64_t hm_holds__until(struct hm_holds *h, int64_t team_id, int64_t now);
/* Replace the counts in `t` with a scan of every request in `st`. */
int hm_core__load_tally(struct hm_tally *t, hm_store *st, hm_error *err);

/* Writer tick: claims not started within the claim time-out go back to new. */
void hm_core__claim_timeouts(hm_core *c, hm_store *st, int64_t now);

#endif
