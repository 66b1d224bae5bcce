/* import.h: bulk import of requests from CSV (issue 14) — the lists that arrive from Zalo groups
 * and paper, typed into a spreadsheet. `helpmap import-requests` and POST
 * /api/v1/requests/import (operator+) run the same job.
 *
 * The file: UTF-8 with or without a byte-order mark, RFC 4180 quoting, a header row naming the
 * fields of SPEC's "Data" (lat, lon, location_precision, category, people, vulnerable, note,
 * name, address, phone, ward_code, hamlet_code; the columns of helpmap's own export that are
 * computed — id, code, priority, status, former_ward_code, source, verified, team_id,
 * duplicate_of, created_at, updated_at — are ignored), separated by commas (or by semicolons
 * or tabs when the header has no comma). Rows without lat/lon give ward_code (+ hamlet_code)
 * and an address, as POST /requests does. `vulnerable` lists names separated by ';', ',' or
 * spaces. A leading "'" that an export put before =, +, - or @ is dropped.
 *
 * Every row is validated like an operator's POST /requests and placed in the areas; imported
 * requests get source "import". All or nothing: the accepted rows are stored in one
 * transaction only when no row is refused; otherwise (and with a dry run) nothing is stored
 * and the report says what would have happened. */
#ifndef HM_IMPORT_H
#define HM_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core.h"
#include "policy.h"
#include "requests.h"

/* Bodies of POST /api/v1/requests/import may be this large (the other routes: 16 KiB). */
#define HM_IMPORT_MAX_BYTES (2 * 1024 * 1024)
#define HM_IMPORT_MAX_ROWS  10000

typedef struct hm_import_row {
    size_t line;      /* the file's line where the row starts (the header is line 1) */
    bool refused;     /* after parsing or the job */
    char field[24];   /* refused: the field at fault ("" for the row) */
    char reason[160]; /* refused: why */
    hm_create_op op;  /* accepted: the creation (after a stored job: the request) */
} hm_import_row;

typedef struct hm_requests_import {
    hm_job job;
    const char *prefix;   /* code prefix ("CC") */
    char actor_name[104]; /* recorded in the history: "import" */
    bool dry_run;
    hm_import_row *rows;
    size_t n_rows;
    /* After the job. */
    bool done;   /* the report is complete (job.rc then only says that nothing was stored) */
    bool stored; /* the accepted rows were stored */
    size_t accepted, refused;
} hm_requests_import;

/* Parse CSV `text` (`len` bytes) into `op` for `dry_run`, with the request codes' `prefix`:
 * each row validated (refused rows keep their line and reason). Errors for the whole file:
 * HM_E_INVALID_FIELD for invalid UTF-8, no header, an unknown column (named in the message),
 * a repeated column, or more than HM_IMPORT_MAX_ROWS rows; HM_E_TOO_LARGE past
 * HM_IMPORT_MAX_BYTES. Then run op->job (hm_core_submit or hm_writer_run_here). Free with
 * hm_requests_import_clear() also on error. */
int hm_requests_import_parse(const char *text, size_t len, const char *prefix, bool dry_run,
                             hm_requests_import *op, hm_error *err);
/* The same for the API: operator+ only (HM_E_UNAUTHORIZED / HM_E_FORBIDDEN). */
int hm_core_import_requests(hm_core *c, const hm_actor *a, const char *text, size_t len,
                            bool dry_run, hm_requests_import *op, hm_error *err);
/* The report: {"dry_run", "stored", "rows", "accepted": [{line, code?, duplicate_of?}],
 * "refused": [{line, field, reason}]} (new reference). */
json_t *hm_requests_import_report(const hm_requests_import *op);
void hm_requests_import_clear(hm_requests_import *op);

#endif
