/* validate.h: the validation of a request body (JSON) into an hm_request —
 * every field rule of SPEC's "Data" section. Pure: no storage, no HTTP;
 * thread-safe. Shared by POST /api/v1/requests, the no-JavaScript form and
 * the fuzz target. */
#ifndef HM_VALIDATE_H
#define HM_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "entity.h"
#include "hm_error.h"

/* A hamlet as a request gives it (`hamlet_code`): its code or its name as typed (issue 15:
 * residents type hamlet names), at most HM_HAMLET_TEXT_MAX code points. */
#define HM_HAMLET_TEXT_MAX  100
#define HM_HAMLET_TEXT_SIZE (4 * HM_HAMLET_TEXT_MAX + 1)

/* Fill `r` (zeroed by the caller; its strings are then owned by `r`, free
 * with hm_request_clear() also on error) from `body`. Without lat/lon the
 * body must name `ward_code` (+ `hamlet_code`) and an `address`: then
 * *by_address is set and the ward's code is copied to want_ward, the hamlet
 * as given (a code or a name, trimmed; "" when absent or blank) to want_hamlet,
 * which the creation resolves against the stored hamlets.
 * Or, instead of both, a `location_text` (a pasted map link or coordinates,
 * geodata/locparse.h): its point becomes lat/lon with precision "link" and the
 * text is kept (contact data); unparseable text is HM_E_INVALID_FIELD naming
 * `location_text`, with the parser's message. An optional `reporter`
 * {name?, phone} is whoever reports for the person in need (field
 * "reporter.name" / "reporter.phone" on error); `phone` stays the person's.
 * `operator_plus` makes the source hotline (the only one it may give);
 * the public may give only web. Returns HM_OK or HM_E_INVALID_FIELD / HM_E_FORBIDDEN with the
 * field named. */
int hm_validate_request(json_t *body, bool operator_plus, hm_request *r, char want_ward[40],
                        char want_hamlet[HM_HAMLET_TEXT_SIZE], bool *by_address, hm_error *err);

/* Optional text field `key` of at most `max_chars` code points, trimmed;
 * *out is malloc'd or left NULL when absent or empty. */
int hm_validate_text(json_t *o, const char *key, size_t max_chars, char **out, hm_error *err);

#endif
