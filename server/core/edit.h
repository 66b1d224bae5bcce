/* edit.h: correcting a request after it was made (PATCH /api/v1/requests/{code}, issue 14) — a
 * misplaced pin, a wrong headcount or need, a changed phone number, an extra note. Owns which
 * fields may change, who may change them (operators and coordinators any request, the holding
 * team and the resident with the tracking token their own), and the history: one "edit" entry
 * per changed field with the old and the new value, contact values marked so that readers who
 * may not see contact data never do. Same conventions as requests.h. */
#ifndef HM_EDIT_H
#define HM_EDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "entity.h"
#include "policy.h"

/* Which fields an edit sets (hm_edit_op.set). */
enum {
    HM_EDIT_POSITION = 1 << 0, /* lat, lon (and location_precision) */
    HM_EDIT_CATEGORY = 1 << 1,
    HM_EDIT_PEOPLE = 1 << 2,
    HM_EDIT_VULNERABLE = 1 << 3,
    HM_EDIT_NAME = 1 << 4,
    HM_EDIT_PHONE = 1 << 5,
    HM_EDIT_ADDRESS = 1 << 6,
    HM_EDIT_NOTE = 1 << 7, /* appended, never replaced */
    HM_EDIT_PRECISION = 1 << 8,
};

typedef struct hm_edit_op {
    hm_job job;
    hm_core *core;
    char code[16];
    char actor_name[104];
    bool holder_only;   /* a volunteer: only while its team holds the request */
    int64_t actor_team; /* the volunteer's team */
    unsigned set;       /* HM_EDIT_* */
    double lon, lat;
    int precision, category, people;
    unsigned vulnerable;
    char *name, *phone, *address, *note; /* malloc'd; name/address NULL: cleared */
    /* After the job: the request as it is now, how the caller may see it, and how many fields
     * changed (0: the request already was so; nothing was written). */
    hm_request result;
    unsigned view;
    int changed;
    hm_request before; /* the job's own: what the counts knew (borrowed by the change log) */
} hm_edit_op;

/* Fill `op` from `body` (any of lat, lon, location_precision, category, people, vulnerable,
 * name, phone, address, note; note is appended) for request `code_text` edited by `a` or by the
 * resident whose tracking token is among `tracking` (see hm_policy_access). Errors:
 * HM_E_INVALID_FIELD naming an unknown or invalid field (an empty body too), HM_E_NOT_FOUND
 * (unknown code, wrong token), HM_E_UNAUTHORIZED / HM_E_FORBIDDEN. The job: HM_E_FORBIDDEN when
 * a volunteer's team does not hold the request, HM_E_OUTSIDE_AREA for a position in no ward,
 * HM_E_INVALID_FIELD (field "note") when the notes would pass 2,000 characters. */
int hm_core_edit(hm_core *c, const hm_actor *a, const char *code_text,
                 const char *const tracking[2], json_t *body, hm_edit_op *op, hm_error *err);
void hm_edit_op_clear(hm_edit_op *op);

#endif
