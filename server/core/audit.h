/* audit.h: the audit log of contact data and team access (SPEC "Privacy and abuse, second
 * round"; issue 11: a coordinator's export of every phone number left no trace). What is
 * recorded, each in the transaction of what it records:
 *   "export"  every export of requests with their contact data (API and command line):
 *             who, when, how many rows, the format;
 *   "reveal"  contact data shown to a team (a request read by its holding team, an operator's
 *             phone lookup): the viewer, how many requests, the request's code;
 *   "team"    a team added, disabled, enabled or its token rotated: by whom, which team.
 * Read by coordinators (GET /api/v1/audit). Entries never hold contact data. */
#ifndef HM_AUDIT_H
#define HM_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "entity.h"
#include "policy.h"

/* A job that appends one entry; submit it (server) or run it with hm_writer_run_here (tools). */
typedef struct hm_audit_op {
    hm_job job;
    hm_audit entry;
} hm_audit_op;

/* Fill `op` for an entry of `kind` by `a` (NULL: the command line, see hm_audit_cli_actor)
 * about team `team_id` (0: none), `rows` rows, `detail` (may be NULL; cut to fit). */
void hm_audit_op_init(hm_audit_op *op, const char *kind, const hm_actor *a, int64_t team_id,
                      int64_t rows, const char *detail);

/* "command line (user NAME)" for the user running the process, into out[0, size). */
void hm_audit_cli_actor(char *out, size_t size);

/* Entries matching `f` for `a` (coordinator or admin; others HM_E_UNAUTHORIZED or
 * HM_E_FORBIDDEN), in id order, to cb. */
int hm_core_audit_list(hm_core *c, const hm_actor *a, const hm_audit_filter *f, hm_audit_cb cb,
                       void *ctx, hm_error *err);

#endif
