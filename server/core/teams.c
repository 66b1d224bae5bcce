/* teams.c: team positions and status, responders, the list of teams; see teams.h. */
#include "teams.h"

#include "audit.h"
#include "core_int.h"
#include "hm_buf.h"
#include "model.h"
#include "openindex.h"
#include "teamindex.h"
#include "validate.h"
#include "worker.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int team_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_team_op *op = (hm_team_op *)job;
    int rc = op->set_position
                 ? hm_store_team_set_position(st, op->team_id, op->lon, op->lat, hm_now_ms(), err)
                 : hm_store_team_set_status(st, op->team_id, op->status, err);
    if (!rc)
        rc = hm_store_team_get(st, op->team_id, &op->team, err);
    if (!rc)
        rc = hm_core__record_team(st, &op->team, true, err);
    return rc;
}

static int team_init(hm_core *c, const hm_actor *a, hm_team_op *op, hm_error *err)
{
    memset(op, 0, sizeof *op);
    op->core = c;
    op->team_id = a->team.id;
    op->job.run = team_run;
    return hm_policy_require(a, HM_ROLE_VOLUNTEER, err);
}

int hm_core_team_location(hm_core *c, const hm_actor *a, double lon, double lat, hm_team_op *op,
                          hm_error *err)
{
    int rc = team_init(c, a, op, err);
    op->set_position = true;
    op->lon = lon;
    op->lat = lat;
    return rc;
}

int hm_core_team_status(hm_core *c, const hm_actor *a, int status, hm_team_op *op, hm_error *err)
{
    int rc = team_init(c, a, op, err);
    op->status = status;
    return rc;
}

static int admin_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_team_admin_op *op = (hm_team_admin_op *)job;
    uint8_t hash[32];
    int rc;

    if (op->what == HM_TEAM_ADD || op->what == HM_TEAM_ROTATE) {
        hm_token_generate(24, op->token, sizeof op->token);
        hm_sha256(op->token, strlen(op->token), hash);
    }
    switch (op->what) {
        case HM_TEAM_ADD:
            op->team.created_at = hm_now_ms();
            rc = hm_store_team_insert(st, &op->team, hash, err);
            break;
        case HM_TEAM_DISABLE:
        case HM_TEAM_ENABLE:
            rc = hm_store_team_set_disabled(st, op->team.id, op->what == HM_TEAM_DISABLE, err);
            break;
        default:
            rc = hm_store_team_set_token(st, op->team.id, hash, err);
            break;
    }
    if (!rc)
        rc = hm_store_team_get(st, op->team.id, &op->team, err);
    if (!rc)
        rc = hm_core__record_team(st, &op->team, false, err);
    /* Whoever held the old token or the disabled team's streams loses them on every server. */
    if (!rc && (op->what == HM_TEAM_DISABLE || op->what == HM_TEAM_ROTATE)) {
        hm_change ch;
        memset(&ch, 0, sizeof ch);
        ch.kind = HM_CH_TEAM_REVOKED;
        ch.ref = op->team.id;
        rc = hm_store_change_add(st, &ch, err);
    }
    if (!rc) {
        static const char *const names[] = {"add", "disable", "enable", "rotate"};
        hm_audit a;
        memset(&a, 0, sizeof a);
        snprintf(a.kind, sizeof a.kind, "team");
        if (op->actor[0])
            snprintf(a.actor, sizeof a.actor, "%s", op->actor);
        else
            hm_audit_cli_actor(a.actor, sizeof a.actor);
        a.actor_team_id = op->actor_team_id;
        a.team_id = op->team.id;
        a.rows = 1;
        snprintf(a.detail, sizeof a.detail, "%s", names[op->what]);
        rc = hm_store_audit_add(st, &a, err);
    }
    return rc;
}

void hm_team_admin_init(hm_team_admin_op *op, int what)
{
    memset(op, 0, sizeof *op);
    op->what = what;
    op->job.run = admin_run;
}

int hm_core_team_admin(hm_core *c, const hm_actor *a, int what, const char *id_text, json_t *body,
                       hm_team_admin_op *op, hm_error *err)
{
    int rc;
    (void)c;
    hm_team_admin_init(op, what);
    if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err)))
        return rc;
    /* The audit log names the coordinator's team (issue 11: team changes are audited). */
    snprintf(op->actor, sizeof op->actor, "%s", a->team.name);
    op->actor_team_id = a->team.id;
    if (what != HM_TEAM_ADD) {
        char *end;
        long long id = id_text ? strtoll(id_text, &end, 10) : 0;
        if (!id_text || end == id_text || *end || id <= 0)
            return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no team has this id");
        op->team.id = id;
        if (what == HM_TEAM_DISABLE && id == a->team.id)
            return hm_error_set(err, HM_E_INVALID_FIELD, "team_id",
                                "a team cannot disable itself; ask another coordinator");
        return HM_OK;
    }
    {
        json_t *v, *caps = json_object_get(body, "capabilities"), *list = json_array();
        const char *key;
        char *name = NULL, *text;
        int role;
        size_t i;
        json_object_foreach(body, key, v)
        {
            if (strcmp(key, "name") && strcmp(key, "role") && strcmp(key, "capabilities")) {
                json_decref(list);
                /* err->field borrows the key from `body`: rendered before it is freed. */
                return hm_error_set(err, HM_E_INVALID_FIELD, key,
                                    "a team has a name, a role and capabilities");
            }
        }
        if ((rc = hm_validate_text(body, "name", 100, &name, err)) || !name) {
            json_decref(list);
            free(name);
            return rc ? rc : hm_error_set(err, HM_E_INVALID_FIELD, "name", "a team needs a name");
        }
        snprintf(op->team.name, sizeof op->team.name, "%s", name);
        free(name);
        role = hm_role_parse(json_string_value(json_object_get(body, "role")));
        if (role < 0) {
            json_decref(list);
            return hm_error_set(err, HM_E_INVALID_FIELD, "role",
                                "role must be volunteer, operator, coordinator or admin");
        }
        if (role > a->role) {
            json_decref(list);
            return hm_error_set(err, HM_E_FORBIDDEN, "role", "only an admin may add an admin team");
        }
        op->team.role = role;
        op->team.status = HM_TEAM_AVAILABLE;
        if (caps && !json_is_null(caps) && !json_is_array(caps)) {
            json_decref(list);
            return hm_error_set(err, HM_E_INVALID_FIELD, "capabilities",
                                "capabilities must be a list of short tags such as boat");
        }
        json_array_foreach(caps, i, v)
        {
            const char *t = json_string_value(v);
            if (!t || !*t || strlen(t) > 32 || !hm_text_ok(t, 32) || i >= 8) {
                json_decref(list);
                return hm_error_set(err, HM_E_INVALID_FIELD, "capabilities",
                                    "capabilities must be at most 8 short tags such as boat");
            }
            json_array_append_new(list, json_string(t));
        }
        text = json_dumps(list, JSON_COMPACT);
        json_decref(list);
        if (!text || strlen(text) >= sizeof op->team.capabilities) {
            free(text);
            return hm_error_set(err, HM_E_INVALID_FIELD, "capabilities",
                                "capabilities must be at most 8 short tags such as boat");
        }
        snprintf(op->team.capabilities, sizeof op->team.capabilities, "%s", text);
        free(text);
    }
    return HM_OK;
}

static bool has_capability(const hm_team *t, const char *cap)
{
    json_t *a = json_loads(t->capabilities, 0, NULL);
    size_t i;
    json_t *v;
    bool ok = false;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), cap) == 0)
            ok = true;
    }
    json_decref(a);
    return ok;
}

#define MAX_CANDIDATES 256

int hm_core_responders(hm_core *c, const hm_actor *a, const char *code_text, size_t k,
                       const char *capability, hm_responder *out, size_t *n, hm_error *err)
{
    char code[16];
    hm_request q;
    hm_worker *w;
    int64_t ids[MAX_CANDIDATES];
    double dist[MAX_CANDIDATES];
    size_t found = 0, got;
    int64_t now = hm_now_ms();
    int rc;

    *n = 0;
    if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err)))
        return rc;
    if ((rc = hm_code_normalize(code_text, c->cfg.code_prefix, code, sizeof code, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    if ((rc = hm_store_request_get(w->store, code, &q, NULL, err)))
        return rc;
    /* Nearest first, a few more than k at a time (the claim cap, a capability or a disabled
     * token may skip some), widening up to MAX_CANDIDATES. Each candidate as the team index
     * holds it (every committed team row is applied to it before its change is answered); a
     * team it does not know yet (added a moment ago on another server) is read. */
    for (size_t want = k + 3, start = 0; found < k && start < MAX_CANDIDATES; want *= 4) {
        if (want > MAX_CANDIDATES)
            want = MAX_CANDIDATES;
        got = hm_team_index_nearest(c->teams, q.lon, q.lat, now, want, NULL, 0, ids, dist);
        for (size_t i = start; i < got && found < k; i++) {
            hm_responder *r = &out[found];
            bool dup = false;
            for (size_t j = 0; j < found; j++) /* a team that moved between two lookups */
                dup = dup || out[j].team.id == ids[i];
            if (dup ||
                (!hm_team_index_get(c->teams, ids[i], &r->team) &&
                 hm_store_team_get(w->store, ids[i], &r->team, NULL) != HM_OK) ||
                r->team.disabled || r->team.role != HM_ROLE_VOLUNTEER)
                continue;
            if (capability && *capability && !has_capability(&r->team, capability))
                continue;
            r->open_requests = hm_open_index_held(c->open, r->team.id);
            if (c->cfg.claim_cap > 0 && r->open_requests >= c->cfg.claim_cap)
                continue;
            r->distance_m = dist[i];
            found++;
        }
        start = got < want ? MAX_CANDIDATES : want; /* fewer than asked for: no more */
    }
    hm_request_clear(&q);
    *n = found;
    return HM_OK;
}

typedef struct teams_ctx {
    hm_core *core;
    hm_team_count_cb cb;
    void *ctx;
} teams_ctx;

static int team_visit(void *ctx, const hm_team *t)
{
    teams_ctx *tc = ctx;
    return tc->cb(tc->ctx, t, hm_open_index_held(tc->core->open, t->id),
                  hm_holds__until(tc->core->holds, t->id, hm_now_ms()));
}

int hm_core_teams(hm_core *c, const hm_actor *a, bool include_disabled, hm_team_count_cb cb,
                  void *ctx, hm_error *err)
{
    teams_ctx tc = {c, cb, ctx};
    hm_worker *w;
    int rc;
    if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    return hm_store_team_list(w->store, include_disabled, team_visit, &tc, err);
}
