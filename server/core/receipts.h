/* receipts.h: the resident has the last word (issue 17). With the tracking token the resident
 * says what arrived — all, part or nothing, an amount in đồng, a note — once the team marked
 * the request resolved, or "nothing" at any time. A later receipt replaces an earlier one
 * (the landlord gave the 200,000 đ back: "part" becomes "all"); every receipt stays in the
 * chained history (kind "receipt"), at most HM_RECEIPTS_MAX per request. "part" or "nothing"
 * on a resolved request raises a flag: coordinators list them (GET /requests?flag=receipt)
 * and get the event "request.flagged" with the team's name. A new resolution clears the
 * receipt (it spoke of an earlier delivery) and the resident is asked again.
 * Same conventions as requests.h. */
#ifndef HM_RECEIPTS_H
#define HM_RECEIPTS_H

#include <jansson.h>
#include <stdint.h>

#include "core.h"
#include "entity.h"
#include "policy.h"

/* Receipts one request takes at most (past it: HM_E_RECEIPT_LIMIT, 409 receipt_limit). */
#define HM_RECEIPTS_MAX 10

typedef struct hm_receipt_op {
    hm_job job;
    hm_core *core;
    char code[16];
    int received;       /* enum hm_receipt */
    int64_t amount_vnd; /* -1: none given */
    char *note;         /* malloc'd or NULL */
    hm_request result;  /* after the job: the request with its receipt */
    hm_team team;       /* after the job: the holding team (id 0: none), borrowed by the log */
} hm_receipt_op;

/* Validate `body` {received: "all"|"part"|"nothing", amount_vnd?, note?} for request
 * `code_text` by `a` with the resident's token candidates `tracking` (hm_policy_access) into
 * `op`, ready to submit. HM_E_NOT_FOUND for an unknown code or a wrong token; HM_E_FORBIDDEN
 * for a team (only the resident answers for what arrived); HM_E_INVALID_FIELD with the field
 * for a bad value: amount_vnd a whole number from 0 to 1,000,000,000 (none or 0 with
 * "nothing"), note at most 500 characters of plain text without bidirectional controls. The
 * job refuses "all" and "part" before the request is resolved (HM_E_INVALID_TRANSITION). */
int hm_core_receipt(hm_core *c, const hm_actor *a, const char *code_text,
                    const char *const tracking[2], json_t *body, hm_receipt_op *op, hm_error *err);
void hm_receipt_op_clear(hm_receipt_op *op);

#endif
