/* core_int.h: what the core's modules share and nobody above the core sees — applying a
 * committed change to the indexes and publishing it (follow.c), locating a point in the areas,
 * the alert queue. Writer thread unless a function says otherwise. */
#ifndef HM_CORE_INT_H
#define HM_CORE_INT_H

#include "areacount.h"
#include "core.h"
#include "entity.h"
#include "store.h"

/* Request `after` was committed, moving from `before` (NULL: it is new). Updates the
 * open-request index, the tally and the tile cache, then publishes `type`
 * ("request.created": also alerts the nearest teams; or "request.updated") in commit order.
 * Writer thread (and start-up). */
void hm_core__request_changed(hm_core *c, const hm_request *after, const hm_tally_row *before,
                              const char *type);
/* Team `t` was committed: the team index, and "team.moved" to coordinators when `publish`. */
void hm_core__team_changed(hm_core *c, const hm_team *t, bool publish);

/* The ward, former ward and hamlet codes of r's position under `idx` (NULL: none) into r. */
void hm_core__locate(const hm_area_index *idx, hm_request *r);

/* A filter that matches every request: zero everything, no category, either verified. */
void hm_core__filter_init(hm_request_filter *f);

/* The alert queue: new requests waiting for escalation (alerts.c). */
struct hm_alerts *hm_alerts__create(void);
void hm_alerts__destroy(struct hm_alerts *a);
/* Publisher thread: request `r` was just created; alert its nearest available teams now and
 * remember whom, for escalation. `team_text` is the request's team event payload. */
void hm_alerts__created(hm_core *c, const hm_request *r, const char *team_text);
/* Writer tick: alert the next teams of the requests still new after the escalation time. */
void hm_alerts__escalate(hm_core *c, hm_store *st, int64_t now);

/* Replace the counts in `t` with a scan of every request in `st`. */
int hm_core__load_tally(struct hm_tally *t, hm_store *st, hm_error *err);

/* Writer tick: claims not started within the claim time-out go back to new. */
void hm_core__claim_timeouts(hm_core *c, hm_store *st, int64_t now);

#endif
