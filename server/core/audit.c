/* audit.c: the audit log; see audit.h. */
#include "audit.h"

#include "model.h"
#include "worker.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int audit_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_audit_op *op = (hm_audit_op *)job;
    return hm_store_audit_add(st, &op->entry, err);
}

void hm_audit_cli_actor(char *out, size_t size)
{
    char buf[1024];
    struct passwd pw, *res = NULL;
    const char *name = NULL;
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res)
        name = res->pw_name;
    if (name)
        snprintf(out, size, "command line (user %.60s)", name);
    else
        snprintf(out, size, "command line (uid %u)", (unsigned)geteuid());
}

void hm_audit_op_init(hm_audit_op *op, const char *kind, const hm_actor *a, int64_t team_id,
                      int64_t rows, const char *detail)
{
    memset(op, 0, sizeof *op);
    op->job.run = audit_run;
    snprintf(op->entry.kind, sizeof op->entry.kind, "%s", kind);
    if (a) {
        snprintf(op->entry.actor, sizeof op->entry.actor, "%s", a->team.name);
        op->entry.actor_team_id = a->team.id;
    } else {
        hm_audit_cli_actor(op->entry.actor, sizeof op->entry.actor);
    }
    op->entry.team_id = team_id;
    op->entry.rows = rows;
    snprintf(op->entry.detail, sizeof op->entry.detail, "%s", detail ? detail : "");
}

int hm_core_audit_list(hm_core *c, const hm_actor *a, const hm_audit_filter *f, hm_audit_cb cb,
                       void *ctx, hm_error *err)
{
    hm_worker *w;
    int rc;
    (void)c;
    if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    return hm_store_audit_list(w->store, f, cb, ctx, err);
}
