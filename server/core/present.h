/* present.h: JSON representations of requests, history, teams and relief points — which
 * fields each viewer gets. Owns the rule that contact data (name, phone,
 * note, address, reporter, location_text) appears only with HM_VIEW_CONTACT and that public
 * views snap positions to the 0.001 degree grid. Thread-safe. */
#ifndef HM_PRESENT_H
#define HM_PRESENT_H

#include <jansson.h>

#include "entity.h"

/* json_dumps flags of every answer: compact, and reals with 11 significant
 * digits (7 decimals of a longitude, no binary noise such as 11.029999). */
#define HM_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(11))

enum {
    HM_VIEW_CONTACT = 1,  /* name, phone, note, address (and the delivery and the receipt) */
    HM_VIEW_SNAP = 2,     /* position on the public 0.001 degree grid */
    HM_VIEW_RESIDENT = 4, /* the resident with the tracking token (with HM_VIEW_CONTACT) */
    HM_VIEW_RECEIPT = 8,  /* the team's delivery and the resident's receipt without contact data
                             (coordinators' lists and events, issue 17) */
};

/* Snap a coordinate to the public 0.001 degree grid. */
double hm_snap(double v);
/* The request object (new reference). The public (HM_VIEW_SNAP) and the resident
 * (HM_VIEW_RESIDENT) never see which earlier request an automatic duplicate repeats
 * (duplicate_of null): that would tell a stranger whose pin a phone number is (issue 11). */
json_t *hm_request_json(const hm_request *r, unsigned view);
/* A GeoJSON Feature whose properties are the request object. */
json_t *hm_request_feature(const hm_request *r, unsigned view);
/* A history entry: {at, actor, from, to, note, kind, hash}, with `field`, `old` and `new`
 * (what an edit, merge or reassignment changed), `contact` (true only: the note or values are
 * contact data), `detail` (the structured facts of a receipt
 * or delivery) and `note_sha256`, `old_sha256`, `new_sha256`, `salt` when the entry has them
 * (callers clear them for viewers who may not see them). */
json_t *hm_history_json(const hm_history *h);
/* The delivery and receipt objects of a request, or JSON null (new references). */
json_t *hm_delivery_json(const hm_request *r);
json_t *hm_receipt_json(const hm_request *r);
/* Resolved, and the resident reported that part or nothing arrived (issue 17). */
bool hm_request_flagged(const hm_request *r);
json_t *hm_team_json(const hm_team *t);
json_t *hm_team_feature(const hm_team *t);
/* A relief point: {id, kind, name, address, hours, capacity, status, lat, lon, created_at,
 * updated_at} (address, hours and capacity null when not given). Public: exact position. */
json_t *hm_relief_json(const hm_relief *p);
/* A GeoJSON Feature (id, Point geometry) whose properties are hm_relief_json(). */
json_t *hm_relief_feature(const hm_relief *p);
/* Compact JSON text of a request as public (snapped) or team (exact) event
 * payload, never with contact data; caller frees. */
char *hm_request_event_text(const hm_request *r, bool public_view);
/* Compact JSON text of hm_request_json(r, view) with `n_extra` string members added at the end
 * (keys[i]: values[i], NULL for null): the bytes json_dumps(, HM_JSON_FLAGS) gives, without
 * building the object (unless `view` has HM_VIEW_CONTACT). Caller frees. */
char *hm_request_text(const hm_request *r, unsigned view, const char *const *keys,
                      const char *const *values, size_t n_extra);

/* Pieces of such texts, appended to `b` (hm_buf.h): the request object of hm_request_text()
 * without its closing brace (never with HM_VIEW_CONTACT or HM_VIEW_RECEIPT), and members as
 * jansson dumps them, each with its separator and key in `sep_key` (",\"key\":"): a string
 * (left out when it is not UTF-8, as json_string() refuses it), a string or null (NULL or ""),
 * a real (left out when not finite). */
struct hm_buf;
void hm_request_text_open(struct hm_buf *b, const hm_request *r, unsigned view);
void hm_json_member_str(struct hm_buf *b, const char *sep_key, const char *s);
void hm_json_member_str_or_null(struct hm_buf *b, const char *sep_key, const char *s);
void hm_json_member_real(struct hm_buf *b, const char *sep_key, double v);

#endif
