/* teamindex.h: the last known positions of volunteer teams, for "nearest available team"
 * (alerts and /responders), and every team as last applied: its name (the name a resident sees
 * of the team that holds the request, issue 15) and the rest of its row (/responders). A follower
 * of the store: the core applies every committed team row (hm_team_index_apply). Only enabled
 * volunteer teams with a position are kept for "nearest": other roles never answer requests; names
 * are kept for every team applied. Thread-safe. */
#ifndef HM_TEAMINDEX_H
#define HM_TEAMINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entity.h"

typedef struct hm_team_index hm_team_index;

/* A position older than this does not count as "available now" (SPEC: fresher than 30 min). */
#define HM_TEAM_FRESH_MS (30 * 60 * 1000LL)

hm_team_index *hm_team_index_create(void);
/* Accepts NULL. */
void hm_team_index_destroy(hm_team_index *ix);
/* Forget every team (before a reload). */
void hm_team_index_clear(hm_team_index *ix);
/* Team `t` as committed. */
void hm_team_index_apply(hm_team_index *ix, const hm_team *t);
/* The name of team `id` as last applied into out[0, size) (NUL-terminated, cut at `size`);
 * true when the team is known, false (out set to "") otherwise. */
bool hm_team_index_name(hm_team_index *ix, int64_t id, char *out, size_t size);
/* Team `id` as last applied into *out (issue 18: /responders without a read per team); false
 * when the team is not known. */
bool hm_team_index_get(hm_team_index *ix, int64_t id, hm_team *out);
/* Up to `limit` team ids, nearest to (lon, lat) first (ties by id), of teams that are
 * `available` with a position at most HM_TEAM_FRESH_MS old at `now_ms`, skipping the
 * `n_skip` ids in `skip`; ids into out[], distances (metres, geodesic) into distance_m[] (may
 * be NULL). Returns how many. */
size_t hm_team_index_nearest(hm_team_index *ix, double lon, double lat, int64_t now_ms,
                             size_t limit, const int64_t *skip, size_t n_skip, int64_t *out,
                             double *distance_m);

#endif
