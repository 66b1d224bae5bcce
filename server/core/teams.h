/* teams.h: the teams' side of the core — a team's position and status, the nearest available
 * responders of a request, the coordinators' list of teams. Same conventions as requests.h. */
#ifndef HM_TEAMS_H
#define HM_TEAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "entity.h"
#include "policy.h"

typedef struct hm_team_op {
    hm_job job;
    hm_core *core;
    int64_t team_id;
    bool set_position;
    double lon, lat;
    int status;   /* when !set_position: enum hm_team_status */
    hm_team team; /* after the job: the team */
} hm_team_op;

/* The caller's team reports its position (volunteer+). */
int hm_core_team_location(hm_core *c, const hm_actor *a, double lon, double lat, hm_team_op *op,
                          hm_error *err);
/* The caller's team sets its status (volunteer+). */
int hm_core_team_status(hm_core *c, const hm_actor *a, int status, hm_team_op *op, hm_error *err);

/* One responder. */
typedef struct hm_responder {
    hm_team team;
    double distance_m;
    int64_t open_requests; /* what it holds now */
} hm_responder;

/* Up to `k` (at most 50) available volunteer teams below their claim cap with a fresh position,
 * nearest to request `code_text` first, with `capability` (NULL or "": any), into out[0, k)
 * (coordinator). *n receives how many. */
int hm_core_responders(hm_core *c, const hm_actor *a, const char *code_text, size_t k,
                       const char *capability, hm_responder *out, size_t *n, hm_error *err);

/* ---- team accounts (the command line; later the coordinators' API) ---- */

typedef struct hm_team_admin_op {
    hm_job job;
    enum { HM_TEAM_ADD, HM_TEAM_DISABLE, HM_TEAM_ENABLE, HM_TEAM_ROTATE } what;
    hm_team team;   /* add: the new team (id filled by the job); others: team.id names it */
    char token[64]; /* add, rotate: the new token in clear, shown once */
    /* Who does it, for the audit log: a team ("" and 0: the command line's user). */
    char actor[104];
    int64_t actor_team_id;
} hm_team_admin_op;

/* Fill `op` for one change of a team account; run it with hm_writer_run_here() (tools) or
 * submit it (server). A new or rotated token is 192 random bits, stored only as its hash;
 * running servers see every change within a second (the change log), and a disabled or
 * rotated team's event streams and unused tickets end on every server at once (issue 11).
 * Every change is in the audit log (audit.h). Errors of the job: HM_E_NOT_FOUND for an unknown
 * team id. */
void hm_team_admin_init(hm_team_admin_op *op, int what);

/* The coordinators' API (issue 14): POST /teams, POST /teams/{id}/rotate|disable|enable.
 * `body` (add only) is {name, role, capabilities?}: a coordinator adds volunteer, operator and
 * coordinator teams, only an admin adds an admin; `what` is HM_TEAM_*; `id_text` names the team
 * (others). A team may not disable itself. Fills `op`, ready to submit; the job answers
 * HM_E_NOT_FOUND for an unknown id. */
int hm_core_team_admin(hm_core *c, const hm_actor *a, int what, const char *id_text, json_t *body,
                       hm_team_admin_op *op, hm_error *err);

/* Every team (enabled only unless `include_disabled`) with the number of open requests it
 * holds and, when it is held from claiming (core_int.h, "Holds"), until when (ms; 0: not
 * held), to `cb` (coordinator). */
typedef int (*hm_team_count_cb)(void *ctx, const hm_team *t, int64_t open_requests,
                                int64_t held_until);
int hm_core_teams(hm_core *c, const hm_actor *a, bool include_disabled, hm_team_count_cb cb,
                  void *ctx, hm_error *err);

#endif
