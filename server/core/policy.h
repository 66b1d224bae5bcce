/* policy.h: who may do what — the caller as the core sees it (hm_actor), team tokens, and
 * SPEC's role table: who sees contact data, who moves a request as what kind of actor. Pure
 * functions but hm_core_authenticate(), which reads the store. Thread-safe. */
#ifndef HM_POLICY_H
#define HM_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "entity.h"

/* The caller, as the edge resolved it. */
typedef struct hm_actor {
    int role;        /* enum hm_role; HM_ROLE_PUBLIC: no team token */
    hm_team team;    /* the token's team when role > HM_ROLE_PUBLIC (id 0 otherwise) */
    char client[64]; /* the client's address (rate limits); never logged with a request */
} hm_actor;

/* Resolve `token` (a bearer token's text; NULL or "" for none) into `a`: a team's enabled
 * token sets role and team; anything else leaves role HM_ROLE_PUBLIC (a resident's tracking
 * token may come as a bearer: the request's own check compares it). Returns HM_OK, or
 * HM_E_UNAVAILABLE when the store cannot answer. Leaves a->client alone. */
int hm_core_authenticate(hm_core *c, const char *token, hm_actor *a, hm_error *err);

/* Require a team of at least `min_role` (enum hm_role). HM_OK; HM_E_UNAUTHORIZED for the
 * public; HM_E_FORBIDDEN for a lower role. */
int hm_policy_require(const hm_actor *a, int min_role, hm_error *err);

/* How `a` may see and move request `req`, whose tracking token hashes to `token_hash`:
 * *view receives HM_VIEW_* flags (present.h), *kind the HM_ACT_* bits of the transition table
 * (model.h). `tracking` holds up to two candidates for a resident's token as given (?token=,
 * and a bearer that is no team's), each NULL when absent. A matching tracking token makes the
 * caller the resident (contact data); otherwise the public gets HM_E_NOT_FOUND (a wrong token reads
 * like an unknown code), a volunteer sees contact data only while its team holds the request,
 * operators and coordinators always. */
int hm_policy_access(const hm_actor *a, const char *const tracking[2], const hm_request *req,
                     const uint8_t token_hash[32], unsigned *view, unsigned *kind, hm_error *err);

/* The HM_ACT_* bits a team's role acts with (the resident and the system are not roles). */
unsigned hm_policy_actor_kind(int role);

#endif
