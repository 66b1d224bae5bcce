/* policy.c: actors, tokens and the access rules of SPEC's role table. */
#include "policy.h"

#include "model.h"
#include "present.h"
#include "worker.h"

#include <string.h>

int hm_core_authenticate(hm_core *c, const char *token, hm_actor *a, hm_error *err)
{
    uint8_t hash[32];
    hm_worker *w;
    int rc;

    (void)c;
    a->role = HM_ROLE_PUBLIC;
    memset(&a->team, 0, sizeof a->team);
    if (!token || !*token)
        return HM_OK;
    hm_sha256(token, strlen(token), hash);
    if (!(w = hm_worker_get(err)))
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "cannot check the token now");
    rc = hm_store_team_by_token(w->store, hash, &a->team, NULL);
    if (rc == HM_OK) {
        a->role = a->team.role;
        return HM_OK;
    }
    memset(&a->team, 0, sizeof a->team);
    if (rc != HM_E_UNAUTHORIZED)
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "cannot check the token now");
    return HM_OK;
}

int hm_policy_require(const hm_actor *a, int min_role, hm_error *err)
{
    if (a->role == HM_ROLE_PUBLIC)
        return hm_error_set(err, HM_E_UNAUTHORIZED, NULL,
                            "this needs a team token: Authorization: Bearer TOKEN");
    if (a->role < min_role)
        return hm_error_set(err, HM_E_FORBIDDEN, NULL, "your role (%s) may not do this",
                            hm_role_name(a->role));
    return HM_OK;
}

unsigned hm_policy_actor_kind(int role)
{
    switch (role) {
        case HM_ROLE_VOLUNTEER:
            return HM_ACT_HOLDER;
        case HM_ROLE_OPERATOR:
            return HM_ACT_OPERATOR;
        case HM_ROLE_COORDINATOR:
        case HM_ROLE_ADMIN:
            return HM_ACT_COORD | HM_ACT_OPERATOR;
        default:
            return 0;
    }
}

int hm_policy_access(const hm_actor *a, const char *const tracking[2], const hm_request *req,
                     const uint8_t token_hash[32], unsigned *view, unsigned *kind, hm_error *err)
{
    *view = 0;
    *kind = 0;
    for (int i = 0; i < 2; i++) {
        uint8_t h[32];
        if (!tracking[i] || !*tracking[i])
            continue;
        hm_sha256(tracking[i], strlen(tracking[i]), h);
        if (hm_ct_equal(h, token_hash, 32)) {
            *view = HM_VIEW_CONTACT | HM_VIEW_RESIDENT;
            *kind = HM_ACT_RESIDENT;
            return HM_OK;
        }
    }
    if (a->role == HM_ROLE_PUBLIC)
        return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code and token");
    *kind = hm_policy_actor_kind(a->role);
    if (a->role != HM_ROLE_VOLUNTEER || req->team_id == a->team.id)
        *view = HM_VIEW_CONTACT;
    return HM_OK;
}
