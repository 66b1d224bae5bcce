/* requests.h: the requests' side of the core — creation (validation, areas, the duplicate
 * rule, rate limits), reading one request with its history, lists, nearby, and every status
 * move (claim, start, resolve, release, cancel, duplicate, reopen, assign) and verification.
 *
 * Reads run on the calling thread. A change is an operation struct: the caller zeroes it,
 * fills it with one hm_core_* function (which checks what can be checked before the write),
 * submits its `job` (hm_core_submit), and reads the result once the job's notify ran; then it
 * frees what the operation owns with the matching *_clear(). Every decision that depends on
 * stored state is taken inside the writer's transaction (no check-then-act). */
#ifndef HM_REQUESTS_H
#define HM_REQUESTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "areacount.h"
#include "core.h"
#include "entity.h"
#include "idempotency.h"
#include "openindex.h"
#include "policy.h"
#include "validate.h"

/* ---- creation ---- */

typedef struct hm_create_op {
    hm_job job;
    hm_core *core;
    hm_request req; /* after the job: the stored request (or, duplicate: the earlier one) */
    bool by_address;
    char want_ward[40];
    char want_hamlet[HM_HAMLET_TEXT_SIZE]; /* a hamlet's code or name, as given */
    uint8_t token_hash[32];
    char token[33];   /* the tracking token in clear, for the one answer that shows it */
    bool duplicate;   /* after the job: an operator's repeat of an open request */
    bool limited;     /* a public caller: the phone's quota applies */
    bool phone_taken; /* the job took one of the phone's quota (given back if it failed) */
    /* Idempotency (issue 17): set `idem` (hm_idem_init) after hm_core_create(). The job then
     * stores the answer sealed with the key, in the creation's transaction, or, when a
     * concurrent creation with the same key committed first, answers that one's answer:
     * `replayed`, nothing stored. With a key, `answer` is what the edge sends, byte for
     * byte, with `answer_status`. */
    hm_idem idem;
    bool replayed;
    int answer_status;
    char *answer; /* malloc'd */
    size_t answer_len;
    /* Imports (import.h): areas and code prefix of their own, so that the command line runs
     * the same job without a core; NULL: the core's. */
    const hm_area_index *idx;
    const char *prefix;
} hm_create_op;

/* Validate `body` (SPEC's POST /requests fields) from `a` into `op`, ready to submit:
 * volunteers may not create (HM_E_FORBIDDEN); the public is rate-limited per address and per
 * phone (HM_E_RATE_LIMITED with err->retry_after_s). The phone's quota counts only requests
 * that are stored (issue 11): a post that fails (invalid, outside the area) does not use it.
 * Returns HM_OK or the first error.
 *
 * The job, for a repeat of an open request of the same phone (SPEC's duplicate rule): an
 * operator's gets `duplicate` and the earlier request in `req` (its note added to the earlier
 * one's history); a public caller's is stored as a request of its own with status duplicate
 * (auto_duplicate, duplicate_of the earlier code) and its note reaches the earlier request's
 * history only as kind "repeat" by "unverified caller" — its answer is an ordinary one (see
 * hm_create_op_shown). */
int hm_core_create(hm_core *c, const hm_actor *a, json_t *body, hm_create_op *op, hm_error *err);
/* After a successful job that is not an operator's duplicate: the request as its 201 shows it,
 * into `out` (a shallow copy: its strings are borrowed from op->req). Nothing in it tells a
 * public caller that the phone already had a request: an automatic duplicate shows as new. */
void hm_create_op_shown(const hm_create_op *op, hm_request *out);
/* Free what `op` owns; give back the phone's quota when the job took it but did not commit. */
void hm_create_op_clear(hm_create_op *op);

/* The answer to a finished creation: 201 {"request", "token"} or an operator's 200
 * {"duplicate": true, "request"}; compact text (malloc'd) and its status. With a key, the job
 * made it already (op->answer); this renders the same bytes. */
char *hm_core_create_answer(const hm_create_op *op, int *status, size_t *len);

/* Before creating, on the calling thread: was key `idem` used within 24 h? *found true with
 * the first answer (text malloc'd into *text, *len, *status) when it was, with the same body;
 * HM_E_IDEMPOTENCY_MISMATCH when it came with another body; *found false when it is new (then
 * create with op->idem set: the job looks again inside its transaction). */
int hm_core_idem_replay(hm_core *c, const hm_idem *idem, bool *found, int *status, char **text,
                        size_t *len, hm_error *err);

/* ---- status moves ---- */

typedef struct hm_change_op {
    hm_job job;
    hm_core *core;
    char code[16];
    int to;               /* target status */
    unsigned actor;       /* HM_ACT_* of the caller (HOLDER is decided by the job) */
    int64_t actor_team;   /* calling team, 0 for resident/system */
    char actor_name[104]; /* "resident" or the team's name */
    int64_t assign_team;  /* assign: the team; claim: the caller's */
    bool claim;           /* a claim: already_claimed unless new */
    char duplicate_of[16];
    bool safe;  /* "I am safe now": history kind "safe", safe_at set */
    char *note; /* malloc'd or NULL */
    /* Resolving with what the team delivered (issue 17): hm_core_move_delivered(). */
    bool delivered;
    int64_t delivered_vnd; /* -1: no amount */
    char *delivered_items; /* malloc'd or NULL */
    hm_request result;     /* after the job: the request after the change */
    hm_request merged;     /* duplicate: the kept request after the merge (borrowed by the log) */
    /* The job's own, for what follows the commit. */
    struct {
        int before_status;
        int64_t before_status_at;
        hm_team teams[2]; /* holding teams whose status the change moved (borrowed by the
                             change log until the change is applied) */
        size_t n_teams;
        int64_t expire_before; /* claim time-outs: only a claim older than this moves */
        int64_t released_by;   /* a volunteer team released what it held (holds) */
    } priv;
} hm_change_op;

/* Fill `op` for one move of request `code_text` (as typed: case and dashes ignored) by `a`;
 * `note` (may be NULL) is taken over by `op` even on error. HM_E_NOT_FOUND for a malformed
 * code; the others as SPEC's role table says. A volunteer team held for claiming and
 * releasing too many requests (core_int.h, "Holds") gets HM_E_RATE_LIMITED with
 * err->retry_after_s. */
int hm_core_claim(hm_core *c, const hm_actor *a, const char *code_text, hm_change_op *op,
                  hm_error *err);
/* POST /requests/{code}/status: `to` any status but assigned; `duplicate_of_text` (may be
 * NULL) names the kept request when `to` is duplicate. */
int hm_core_move(hm_core *c, const hm_actor *a, const char *code_text, int to,
                 const char *duplicate_of_text, char *note, hm_change_op *op, hm_error *err);
/* Cancel by the resident (a tracking token among `tracking`, see hm_policy_access), an
 * operator or a coordinator. */
int hm_core_cancel(hm_core *c, const hm_actor *a, const char *code_text,
                   const char *const tracking[2], char *note, hm_change_op *op, hm_error *err);
/* "I am safe now" (SPEC, issue 19): the resident (a tracking token among `tracking`) or an
 * operator or coordinator on a call closes an open request as cancelled, with a history entry
 * of kind "safe"; teams holding it are told (request.safe on their stream) and it leaves their
 * queue. A request that is not open (resolved, cancelled, duplicate) is
 * HM_E_INVALID_TRANSITION; a volunteer team HM_E_FORBIDDEN; an unknown code or a wrong token
 * HM_E_NOT_FOUND. `note` (may be NULL) is taken over. */
int hm_core_safe(hm_core *c, const hm_actor *a, const char *code_text,
                 const char *const tracking[2], char *note, hm_change_op *op, hm_error *err);
/* Assign or reassign to team `team_id` (coordinator); the team must exist, be enabled and be a
 * volunteer team — checked inside the writer's transaction. */
int hm_core_assign(hm_core *c, const hm_actor *a, const char *code_text, int64_t team_id,
                   char *note, hm_change_op *op, hm_error *err);
/* After hm_core_move(): the `delivered` object {amount_vnd?, items?} of POST /status (NULL or
 * JSON null: none) into `op`. Only with status resolved; amount_vnd a whole number of đồng
 * from 0 to 1,000,000,000; items at most 200 characters of plain text without bidirectional
 * controls. HM_E_INVALID_FIELD (field "delivered") otherwise. The delivery goes into the
 * request and, as a detail, into the chained history entry of the move; it clears an earlier
 * receipt (the resident is asked again). */
int hm_core_move_delivered(hm_change_op *op, json_t *delivered, hm_error *err);
void hm_change_op_clear(hm_change_op *op);

/* ---- verification and contact reveals ---- */

/* The result of checking a request's history chain as it was read (issue 17). */
typedef struct hm_chain_state {
    bool verified;    /* every entry follows its predecessor (chain.h) */
    size_t broken_at; /* !verified: the index of the first entry that does not */
    const char *why;  /* !verified: static English reason */
} hm_chain_state;

typedef struct hm_mark_op {
    hm_job job;
    hm_core *core;
    char code[16];
    char actor_name[104];
    int64_t actor_team; /* reveals: the viewer's team, for the audit log */
    const char *list;   /* reveals of a list: what the audit log names instead of a code */
    size_t n_ids;
    int64_t *ids;        /* reveals: the requests shown */
    hm_request result;   /* verify: the request after the change */
    hm_history *history; /* read: the history after recording the reveal */
    size_t n_history;
    bool contact;          /* read: the history is shown with contact data */
    hm_chain_state chain;  /* read: its chain */
    char *delivered_items; /* read: what the last delivery listed (contact view) */
    /* verify: the body's verified (default true), outcome ("" none) and note (malloc'd) */
    bool verified;
    char outcome[24];
    char *note;
} hm_mark_op;

/* Record a call-back (operator+): `body` (may be NULL: verified) is {verified?: bool, outcome?:
 * "reached" | "unreachable" | "no_longer_needed" | "false_report", note?}; any other key is
 * HM_E_INVALID_FIELD. The history gets a "verify" entry with the outcome. */
int hm_core_verify(hm_core *c, const hm_actor *a, const char *code_text, json_t *body,
                   hm_mark_op *op, hm_error *err);
void hm_mark_op_clear(hm_mark_op *op);

/* ---- reads ---- */

/* One request as a caller may see it. */
typedef struct hm_request_view {
    hm_request req;
    unsigned view;       /* HM_VIEW_* (present.h) */
    hm_history *history; /* notes hidden where the caller may not see them */
    size_t n_history;
    hm_chain_state chain;  /* the history's chain as read (issue 17) */
    char *delivered_items; /* what the last delivery listed (contact view), or NULL */
    /* Non-NULL: contact data is shown to a team for the first time today; submit this job
     * (it records the reveal, then reads the history, which then is in `reveal.history`). */
    hm_job *pending;
    hm_mark_op reveal;
    /* The name of the team holding it ("" when none): readers of one request see who has it
     * (the resident's tracking page, issue 15); a team's name, never its members' contacts. */
    char team_name[104];
} hm_request_view;

/* Request `code_text` with its history, for `a` with the resident's token candidates
 * `tracking` (see hm_policy_access). HM_E_NOT_FOUND for an unknown code or a wrong token. */
int hm_core_request_read(hm_core *c, const hm_actor *a, const char *code_text,
                         const char *const tracking[2], hm_request_view *out, hm_error *err);
/* The history to show: out->history, or the reveal job's after it ran. */
const hm_history *hm_request_view_history(const hm_request_view *v, size_t *n);
/* Its chain: out->chain, or the reveal job's. */
const hm_chain_state *hm_request_view_chain(const hm_request_view *v);
/* The request object of GET /requests/{code}: the request as the caller may see it (with
 * `place`, hm_core_request_json) and `team_name`, with `history` (each entry with its hash),
 * `history_verified` and, when the chain is broken, `history_warning` (new reference). */
json_t *hm_request_view_json(hm_core *c, const hm_request_view *v);
void hm_request_view_clear(hm_request_view *v);

/* A list of requests (GET /requests). */
typedef struct hm_list {
    unsigned view;   /* what the visitor is given: HM_VIEW_* */
    size_t n;        /* requests visited */
    int64_t last_id; /* the last one's id (the cursor of the next page) */
    /* Non-NULL when contact data was listed (an operator's phone lookup): submit it before
     * answering; it records the reveals. Owned by the list. */
    hm_mark_op *reveal;
} hm_list;

/* Requests matching `f` for `a`, in id order, at most f->limit, each given to `cb` (which
 * sees out->view set before the first call). For the public, filters work on what public
 * answers show (issue 11): a box on snapped positions (edges included), `since` on whole
 * seconds. `phone_text` (may be NULL) finds one caller's
 * requests (operator+; contact data shown and recorded). Open requests without contact data
 * come from memory, the rest from the store. Returns HM_OK, a cb's non-zero return, or an
 * error. */
int hm_core_list(hm_core *c, const hm_actor *a, hm_request_filter *f, const char *phone_text,
                 hm_request_cb cb, void *ctx, hm_list *out, hm_error *err);
void hm_list_clear(hm_list *l);

/* The open requests the caller's team holds (GET /teams/me/requests, volunteer+), with contact
 * data: out->reveal records each one shown (submit it before answering). */
int hm_core_team_requests(hm_core *c, const hm_actor *a, hm_request_cb cb, void *ctx, hm_list *out,
                          hm_error *err);

/* Open requests within `radius_m` of (lon, lat), nearest first, `limit` at most, of `category`
 * (-1: any), into out[0, limit) (volunteers and coordinators). *n receives how many. */
int hm_core_nearby(hm_core *c, const hm_actor *a, double lon, double lat, double radius_m,
                   size_t limit, int category, hm_open_hit *out, size_t *n, hm_error *err);

/* ---- rendering ---- */

/* The request object (present.h's hm_request_json for HM_VIEW_* `view`) with what the core
 * adds (issue 15): `place`, the public place hint (hm_core_place_hint: the named place nearest
 * to the snapped position, or null), on every request object; with `team_name` true also
 * `team_name`, the name of the holding team (null when none) from the team index. New
 * reference; thread-safe. */
json_t *hm_core_request_json(hm_core *c, const hm_request *r, unsigned view, bool team_name);
/* The same as a GeoJSON Feature (present.h's hm_request_feature). */
json_t *hm_core_request_feature(hm_core *c, const hm_request *r, unsigned view, bool team_name);
/* The compact JSON text of hm_core_request_feature() (view without HM_VIEW_CONTACT or RECEIPT),
 * with "distance_m" (rounded to 0.1 m) after the other properties unless `distance_m` is NaN,
 * appended to `b` without building the object (issue 18: answers of nearby). */
struct hm_buf;
void hm_core_request_feature_text(hm_core *c, struct hm_buf *b, const hm_request *r, unsigned view,
                                  bool team_name, double distance_m);

/* ---- a request's own event stream ---- */

/* May this caller follow request `code_text` alone (GET /events?code=C&token=T, the
 * resident's tracking page, issue 15)? Only the resident: a tracking token among `tracking`
 * (hm_policy_access) that matches. HM_OK with *request_id set; HM_E_NOT_FOUND for a malformed
 * or unknown code or a wrong or missing token (a wrong token reads like an unknown code, as
 * GET /requests/{code} says); HM_E_FORBIDDEN for a team token without the resident's (teams
 * follow their own streams). Reads the store on the calling thread. */
int hm_core_request_stream(hm_core *c, const hm_actor *a, const char *code_text,
                           const char *const tracking[2], int64_t *request_id, hm_error *err);

/* Parse a status filter: a status name, "open" (default when NULL) or "all" (mask 0). */
int hm_core_parse_status_filter(const char *s, unsigned *mask, hm_error *err);

#endif
