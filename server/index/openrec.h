/* openrec.h: an open request as the in-memory index keeps it (app.h, open_requests) — every
 * field the public and team views show, in a third of an hm_request: area codes are numbers
 * of an append-only table of the codes seen, contact data is left out (it stays in the
 * database), and so is duplicate_of (empty while a request is open). Issue 7: the index
 * holds every open request, and the peak memory under load must stay below 300 MB. */
#ifndef HM_OPENREC_H
#define HM_OPENREC_H

#include <stdint.h>

#include "entity.h"

typedef struct hm_open_rec {
    int64_t id, team_id;
    int64_t created_at, updated_at, status_at;
    double lon, lat;
    char code[16];
    uint32_t ward, former_ward, hamlet; /* hm_code_intern() numbers; 0: none */
    uint16_t people;
    uint8_t precision, category, vulnerable, priority, status, source, verified;
} hm_open_rec;

/* The number of area code `code` in the table, adding it when new; "" is 0. Thread-safe. */
uint32_t hm_code_intern(const char *code);
/* The code of number `n` (from hm_code_intern); "" for 0 or an unknown number. The string
 * lives as long as the process. Thread-safe, without a lock. */
const char *hm_code_of(uint32_t n);

/* `r` (an open request) into `o`; contact data and duplicate_of are not kept. */
void hm_open_rec_pack(hm_open_rec *o, const hm_request *r);
/* `o` into `r`, overwriting it: contact data NULL, duplicate_of "". */
void hm_open_rec_unpack(const hm_open_rec *o, hm_request *r);

#endif
