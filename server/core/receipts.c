/* receipts.c: the resident's receipts; see receipts.h. */
#include "receipts.h"

#include "chain.h"
#include "core_int.h"
#include "hm_buf.h"
#include "model.h"
#include "present.h"
#include "validate.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

static int receipt_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_receipt_op *op = (hm_receipt_op *)job;
    hm_request *r = &op->result, before;
    int64_t now = hm_now_ms(), n = 0;
    hm_buf detail;
    int rc;

    hm_request_clear(r);
    memset(&op->team, 0, sizeof op->team);
    if ((rc = hm_store_request_get(st, op->code, r, NULL, err)))
        return rc;
    /* Decided on the row as it is now, in the writer's transaction. */
    if (op->received != HM_RCPT_NOTHING && r->status != HM_ST_RESOLVED)
        return hm_error_set(err, HM_E_INVALID_TRANSITION, "received",
                            "the team has not marked this request resolved; until then only "
                            "\"nothing\" can be reported");
    if ((rc = hm_store_history_count(st, r->id, "receipt", &n, err)))
        return rc;
    if (n >= HM_RECEIPTS_MAX)
        return hm_error_set(err, HM_E_RECEIPT_LIMIT, NULL,
                            "this request has %d receipts already; call the 1022 hotline",
                            HM_RECEIPTS_MAX);
    before = *r; /* shallow: only its counted fields are read */
    if ((rc = hm_store_request_set_receipt(st, r->id, op->received, op->amount_vnd, now, err)))
        return rc;
    hm_buf_init(&detail);
    hm_chain_detail_receipt(op->received, op->amount_vnd, &detail);
    rc = hm_store_history_append_detail(st, r->id, now, "resident", -1, -1, op->note, "receipt",
                                        detail.data, err);
    hm_buf_clear(&detail);
    if (rc)
        return rc;
    r->receipt = op->received;
    r->receipt_vnd = op->amount_vnd;
    r->receipt_at = r->updated_at = now;
    if (r->team_id > 0 && hm_store_team_get(st, r->team_id, &op->team, NULL) != HM_OK)
        memset(&op->team, 0, sizeof op->team);
    return hm_core__record_receipt(st, r, &before, op->team.id ? &op->team : NULL, err);
}

int hm_core_receipt(hm_core *c, const hm_actor *a, const char *code_text,
                    const char *const tracking[2], json_t *body, hm_receipt_op *op, hm_error *err)
{
    hm_request req;
    uint8_t hash[32];
    unsigned view, kind;
    hm_worker *w;
    json_t *v;
    int rc;

    memset(op, 0, sizeof *op);
    op->core = c;
    op->job.run = receipt_run;
    op->amount_vnd = -1;
    if (hm_code_normalize(code_text, c->cfg.code_prefix, op->code, sizeof op->code, err))
        return HM_E_NOT_FOUND;
    /* Who answers: the tracking token is checked on a read connection before the write (a
     * token never changes). */
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    memset(&req, 0, sizeof req);
    rc = hm_store_request_get(w->store, op->code, &req, hash, err);
    if (!rc)
        rc = hm_policy_access(a, tracking, &req, hash, &view, &kind, err);
    hm_request_clear(&req);
    if (rc)
        return rc;
    if (!(kind & HM_ACT_RESIDENT))
        return hm_error_set(err, HM_E_FORBIDDEN, NULL,
                            "only the resident, with the tracking link, says what arrived");
    if (!body || !json_is_object(body))
        return hm_error_set(err, HM_E_BAD_JSON, NULL, "the body must be a JSON object");
    if ((op->received = hm_receipt_parse(json_string_value(json_object_get(body, "received")))) < 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "received",
                            "received must be all, part or nothing");
    v = json_object_get(body, "amount_vnd");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
            return hm_error_set(err, HM_E_INVALID_FIELD, "amount_vnd",
                                "amount_vnd must be a whole number of đồng from 0 to "
                                "1,000,000,000");
        op->amount_vnd = (int64_t)json_integer_value(v);
        if (op->received == HM_RCPT_NOTHING && op->amount_vnd > 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "amount_vnd",
                                "nothing arrived, so there is no amount; choose part");
    }
    if ((rc = hm_validate_text(body, "note", 500, &op->note, err)))
        return rc;
    if (op->note && hm_text_has_bidi(op->note))
        return hm_error_set(err, HM_E_INVALID_FIELD, "note",
                            "note must be plain text without direction controls");
    return HM_OK;
}

void hm_receipt_op_clear(hm_receipt_op *op)
{
    hm_request_clear(&op->result);
    free(op->note);
    op->note = NULL;
}
