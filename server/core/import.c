/* import.c: CSV import of requests; see import.h. */
#include "import.h"

#include "areas.h"
#include "core_int.h"
#include "fold.h"
#include "hm_buf.h"
#include "model.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns a file may have: the fields of "Data" a row gives, then those helpmap computes
 * (its own export has them; ignored). */
static const char *const data_columns[] = {
    "lat",           "lon",           "location_precision",
    "category",      "people",        "vulnerable",
    "note",          "name",          "address",
    "phone",         "ward_code",     "hamlet_code",
    "location_text", "reporter_name", "reporter_phone",
};
static const char *const computed_columns[] = {
    "id",       "code",    "priority",     "status",     "former_ward_code", "source",
    "verified", "team_id", "duplicate_of", "created_at", "updated_at",
};
#define N_DATA     (sizeof data_columns / sizeof data_columns[0])
#define N_COMPUTED (sizeof computed_columns / sizeof computed_columns[0])

/* ---- CSV ---- */

typedef struct csv {
    const char *p, *end;
    char sep;
    size_t line; /* the line the reader is on */
} csv;

/* The next record's cells into `cells` (each malloc'd, `*n` of them, at most `max`). Returns
 * false at the end of the text. A quoted cell may hold separators, quotes ("") and line ends. */
static bool csv_record(csv *c, char **cells, size_t max, size_t *n)
{
    hm_buf cell;
    size_t len;
    *n = 0;
    if (c->p >= c->end)
        return false;
    for (;;) {
        bool quoted = false;
        hm_buf_init(&cell);
        if (c->p < c->end && *c->p == '"') {
            quoted = true;
            c->p++;
            while (c->p < c->end) {
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        hm_buf_putc(&cell, '"');
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                if (*c->p == '\n')
                    c->line++;
                hm_buf_putc(&cell, *c->p++);
            }
        }
        while (c->p < c->end && *c->p != c->sep && *c->p != '\n' && *c->p != '\r') {
            if (!quoted || *c->p != ' ')
                hm_buf_putc(&cell, *c->p);
            c->p++;
        }
        hm_buf_putc(&cell, '\0');
        if (*n < max)
            cells[(*n)++] = hm_buf_steal(&cell, &len);
        else
            hm_buf_clear(&cell);
        if (c->p < c->end && *c->p == c->sep) {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        c->line++;
        return true;
    }
}

static void cells_free(char **cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cells[i]);
}

/* Trimmed `s` in place; a spreadsheet's formula guard ("'=...") dropped. */
static char *cell_text(char *s)
{
    size_t n;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    if (s[0] == '\'' && (s[1] == '=' || s[1] == '+' || s[1] == '-' || s[1] == '@'))
        s++;
    return s;
}

static int import_run(hm_store *st, hm_job *job, hm_error *err);

/* ---- rows ---- */

static void refuse(hm_import_row *row, const char *field, const char *reason)
{
    row->refused = true;
    snprintf(row->field, sizeof row->field, "%s", field ? field : "");
    snprintf(row->reason, sizeof row->reason, "%s", reason);
}

/* One record as the JSON body of a POST, then validated into row->op. */
static void row_parse(hm_import_row *row, char **cells, size_t n, const int *col_of, size_t n_cols)
{
    json_t *body = json_object();
    hm_actor importer;
    hm_error err = {0};

    for (size_t i = 0; i < n_cols && i < n; i++) {
        const char *name;
        char *v = cell_text(cells[i]);
        if (col_of[i] < 0 || !*v)
            continue;
        name = data_columns[col_of[i]];
        if (strcmp(name, "lat") == 0 || strcmp(name, "lon") == 0) {
            char *end;
            double d = strtod(v, &end);
            if (end == v || *end) {
                refuse(row, name, "must be a number");
                goto out;
            }
            json_object_set_new(body, name, json_real(d));
        } else if (strcmp(name, "people") == 0) {
            char *end;
            long k = strtol(v, &end, 10);
            json_object_set_new(body, name, end != v && !*end ? json_integer(k) : json_string(v));
        } else if (strcmp(name, "vulnerable") == 0) {
            json_t *list = json_array();
            for (char *save = NULL, *w = strtok_r(v, ";, ", &save); w;
                 w = strtok_r(NULL, ";, ", &save))
                json_array_append_new(list, json_string(w));
            json_object_set_new(body, name, list);
        } else if (strncmp(name, "reporter_", 9) == 0) {
            /* reporter_name, reporter_phone: the JSON API's reporter {name, phone} */
            json_t *rep = json_object_get(body, "reporter");
            if (!rep)
                json_object_set_new(body, "reporter", rep = json_object());
            json_object_set_new(rep, name + 9, json_string(v));
        } else {
            json_object_set_new(body, name, json_string(v));
        }
    }
    memset(&importer, 0, sizeof importer);
    importer.role = HM_ROLE_ADMIN;
    /* As an operator's POST /requests: no rate limit; no core needed (rows get their areas
     * and codes from the job). */
    if (hm_core_create(NULL, &importer, body, &row->op, &err)) {
        refuse(row, err.field, err.msg);
        goto out;
    }
    row->op.req.source = HM_SRC_IMPORT;
out:
    json_decref(body);
}

int hm_requests_import_parse(const char *text, size_t len, const char *prefix, bool dry_run,
                             hm_requests_import *op, hm_error *err)
{
    csv c;
    char *cells[64];
    size_t n = 0, cap = 0;
    int col_of[64];
    size_t n_cols = 0;
    int rc = HM_OK;

    memset(op, 0, sizeof *op);
    op->job.run = import_run;
    op->prefix = prefix;
    op->dry_run = dry_run;
    snprintf(op->actor_name, sizeof op->actor_name, "import");
    if (len > HM_IMPORT_MAX_BYTES)
        return hm_error_set(err, HM_E_TOO_LARGE, NULL, "the file is larger than %d bytes",
                            HM_IMPORT_MAX_BYTES);
    if (!hm_utf8_valid(text, len) || memchr(text, '\0', len))
        return hm_error_set(err, HM_E_INVALID_FIELD, "file",
                            "the file must be UTF-8 text (save it as CSV UTF-8)");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3, len -= 3;
    c.p = text;
    c.end = text + len;
    c.line = 1;
    /* The separator: a comma, unless the header has none. */
    {
        const char *nl = memchr(text, '\n', len);
        size_t hl = nl ? (size_t)(nl - text) : len;
        c.sep = memchr(text, ',', hl)    ? ','
                : memchr(text, ';', hl)  ? ';'
                : memchr(text, '\t', hl) ? '\t'
                                         : ',';
    }
    if (!csv_record(&c, cells, 64, &n_cols) || n_cols == 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "file", "the file has no header row");
    for (size_t i = 0; i < n_cols; i++) {
        char key[64];
        const char *h = cell_text(cells[i]);
        size_t k;
        hm_fold_into(h, strlen(h) < 63 ? strlen(h) : 63, key);
        for (char *p = key; *p; p++)
            if (*p == ' ')
                *p = '_';
        col_of[i] = -1;
        for (k = 0; k < N_DATA; k++)
            if (strcmp(key, data_columns[k]) == 0)
                col_of[i] = (int)k;
        for (size_t j = 0; j < i && col_of[i] >= 0; j++)
            if (col_of[j] == col_of[i]) {
                rc = hm_error_set(err, HM_E_INVALID_FIELD, "file", "column %s is given twice",
                                  data_columns[col_of[i]]);
                goto out_header;
            }
        if (col_of[i] >= 0)
            continue;
        for (k = 0; k < N_COMPUTED; k++)
            if (strcmp(key, computed_columns[k]) == 0)
                break;
        if (k == N_COMPUTED && key[0]) {
            rc =
                hm_error_set(err, HM_E_INVALID_FIELD, "file",
                             "unknown column \"%.40s\"; columns are the request fields lat, lon, "
                             "category, people, vulnerable, note, name, address, phone, "
                             "ward_code, hamlet_code, location_text, reporter_name, reporter_phone",
                             h);
            goto out_header;
        }
    }
out_header:
    cells_free(cells, n_cols);
    if (rc)
        return rc;
    for (;;) {
        size_t line = c.line, blank = 0;
        hm_import_row *row;
        if (!csv_record(&c, cells, 64, &n))
            break;
        for (size_t i = 0; i < n; i++)
            blank += *cell_text(cells[i]) == '\0';
        if (blank == n) { /* empty lines and rows of empty cells */
            cells_free(cells, n);
            continue;
        }
        if (op->n_rows == HM_IMPORT_MAX_ROWS) {
            cells_free(cells, n);
            return hm_error_set(err, HM_E_INVALID_FIELD, "file",
                                "a file holds at most %d requests; split it", HM_IMPORT_MAX_ROWS);
        }
        if (op->n_rows == cap) {
            cap = cap ? cap * 2 : 64;
            op->rows = hm_xrealloc(op->rows, cap * sizeof *op->rows);
        }
        row = &op->rows[op->n_rows++];
        memset(row, 0, sizeof *row);
        row->line = line;
        row_parse(row, cells, n, col_of, n_cols);
        cells_free(cells, n);
    }
    if (op->n_rows == 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "file", "the file has no requests");
    return HM_OK;
}

/* ---- the job ---- */

static int import_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_requests_import *op = (hm_requests_import *)job;
    hm_area_index *idx = hm_areas_index(st, err);
    int rc = HM_OK;

    if (!idx)
        return err ? err->code : HM_E_INTERNAL;
    op->accepted = op->refused = 0;
    op->done = op->stored = false;
    for (size_t i = 0; i < op->n_rows; i++) {
        hm_import_row *row = &op->rows[i];
        hm_error e = {0};
        if (row->refused) {
            op->refused++;
            continue;
        }
        row->op.idx = idx;
        row->op.prefix = op->prefix;
        rc = hm_core__create_row(st, &row->op, &e);
        if (rc == HM_E_INVALID_FIELD || rc == HM_E_OUTSIDE_AREA) {
            /* Refused before anything of it was written. */
            refuse(row, e.field, e.msg);
            op->refused++;
            rc = HM_OK;
            continue;
        }
        if (rc) {
            *err = e;
            goto out;
        }
        op->accepted++;
    }
    op->done = true;
    if (op->refused || op->dry_run) {
        /* Nothing half-imported: the job fails, so its writes roll back. */
        rc = hm_error_set(err, HM_E_INVALID_FIELD, NULL, "%s; nothing was stored",
                          op->dry_run ? "dry run" : "some rows were refused");
        goto out;
    }
    op->stored = true;
out:
    for (size_t i = 0; i < op->n_rows; i++)
        op->rows[i].op.idx = NULL;
    hm_area_index_destroy(idx);
    return rc;
}

int hm_core_import_requests(hm_core *c, const hm_actor *a, const char *text, size_t len,
                            bool dry_run, hm_requests_import *op, hm_error *err)
{
    int rc;
    memset(op, 0, sizeof *op);
    if ((rc = hm_policy_require(a, HM_ROLE_OPERATOR, err)))
        return rc;
    if ((rc = hm_requests_import_parse(text, len, c->cfg.code_prefix, dry_run, op, err)))
        return rc;
    snprintf(op->actor_name, sizeof op->actor_name, "%s", a->team.name);
    return HM_OK;
}

json_t *hm_requests_import_report(const hm_requests_import *op)
{
    json_t *acc = json_array(), *ref = json_array();
    for (size_t i = 0; i < op->n_rows; i++) {
        const hm_import_row *row = &op->rows[i];
        if (row->refused) {
            json_array_append_new(ref, json_pack("{s:I,s:s?,s:s}", "line", (json_int_t)row->line,
                                                 "field", row->field[0] ? row->field : NULL,
                                                 "reason", row->reason));
            continue;
        }
        json_t *o = json_pack("{s:I}", "line", (json_int_t)row->line);
        if (op->stored && row->op.duplicate)
            json_object_set_new(o, "duplicate_of", json_string(row->op.req.code));
        else if (op->stored)
            json_object_set_new(o, "code", json_string(row->op.req.code));
        json_array_append_new(acc, o);
    }
    return json_pack("{s:b,s:b,s:I,s:o,s:o}", "dry_run", op->dry_run, "stored", op->stored, "rows",
                     (json_int_t)op->n_rows, "accepted", acc, "refused", ref);
}

void hm_requests_import_clear(hm_requests_import *op)
{
    for (size_t i = 0; i < op->n_rows; i++)
        hm_create_op_clear(&op->rows[i].op);
    free(op->rows);
    op->rows = NULL;
    op->n_rows = 0;
}
