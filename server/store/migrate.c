/* migrate.c: `helpmap migrate`, a SpatiaLite database copied into PostGIS (store.h,
 * "Migration"). The one module of the store that speaks to both backends at once: it opens an
 * ordinary store on each side (so each schema is what its backend makes it) and copies whole
 * tables through the connections under them (hm_store__sqlite_db, hm_store__pg_conn), reading
 * SQLite rows in id order and writing them with PostgreSQL's COPY.
 *
 * What is copied is driven by two things:
 * - tables[]: which tables, in which order (a table before the tables whose rows refer to it),
 *   and how (MIG_REPLACE for rows that PostgreSQL's schema itself creates);
 * - PostgreSQL's catalog: the columns of each table and their types. Each SQLite value is
 *   converted by the type of its PostgreSQL column (booleans from 0/1, bytea from blobs,
 *   geometries from SpatiaLite's through WKB with SRID 4326, numbers and text as they are).
 * So a column that both backends add under the same name needs nothing here, and a new table
 * needs one line in tables[]. Whatever does not match is refused before a row is copied: a
 * PostgreSQL table that tables[] does not name, a table or a column that one side has and the
 * other has not. Nothing is dropped silently.
 *
 * Ids are copied, so codes, token hashes, history order (by id), the change log (event ids)
 * and references between rows stay as they were; the identity sequences are then moved past
 * the highest id (and past SQLite's AUTOINCREMENT counter), so new rows continue after them.
 * Everything happens in one PostgreSQL transaction that first locks the tables and checks that
 * they are empty: a failure leaves them empty, ready for another run. */
#include "store_int.h"

#include "hm_buf.h"
#include "hm_log.h"

#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MIG_REPLACE = 1, /* PostgreSQL's schema creates rows of its own here: the source's replace
                        them (instead of refusing a table that is not empty) */
};

typedef struct mig_table {
    const char *name;
    unsigned flags;
    const char *order; /* the SQLite columns rows are read in order of; NULL: rowid (id order) */
} mig_table;

/* helpmap's tables in the order they are copied: a table before those whose rows refer to it
 * (history.request_id refers to request). */
static const mig_table tables[] = {
    {"area", 0, NULL},                    /* communes, former wards, hamlets, with polygons */
    {"team", 0, NULL},                    /* with their token hashes */
    {"request", 0, NULL},                 /* codes, tracking token hashes, exact positions */
    {"history", 0, NULL},                 /* refers to request; hash-chained (issue 17) */
    {"history_chain", MIG_REPLACE, NULL}, /* how far the history is chained: one row */
    {"change", 0, NULL},                  /* the change log: event ids go on from its last id */
    {"place", 0, NULL},                   /* place names */
    {"point", 0, NULL},                   /* relief points */
    {"audit", 0, NULL},                   /* exports, reveals and team changes (issue 11) */
    {"idempotency", 0, "key_id"},         /* creations' first answers (issue 17) */
};

/* Tables of PostgreSQL's schema that belong to the target itself and are never copied. */
static const char *const target_own[] = {"helpmap_meta"};

#define N_TABLES      (sizeof tables / sizeof tables[0])
#define MAX_COLS      64
#define FLUSH_BYTES   (1 << 20) /* COPY data sent in pieces of about this size */
#define PROGRESS_ROWS 100000

/* How a value is written for its PostgreSQL column. */
typedef enum { K_INT, K_FLOAT, K_BOOL, K_TEXT, K_BYTEA, K_GEOM } col_kind;

typedef struct mig_col {
    char name[64];
    col_kind kind;
    bool identity; /* GENERATED ... AS IDENTITY: its sequence follows the copied ids */
} mig_col;

typedef struct mig {
    sqlite3 *sq;
    PGconn *pg;
    hm_migrate_progress progress;
    void *ctx;
    hm_buf buf; /* COPY data not sent yet */
} mig;

/* ---- errors ----------------------------------------------------------------------------- */

/* A failed PostgreSQL result (or NULL) as an hm_err. Only the primary message: the detail
 * and context of a refused row may quote its values (contact data). */
static int pg_fail(mig *m, PGresult *res, const char *what, hm_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char cm[120];
    size_t n;

    snprintf(cm, sizeof cm, "%s", msg ? msg : PQerrorMessage(m->pg));
    n = strlen(cm);
    while (n > 0 && (cm[n - 1] == '\n' || cm[n - 1] == ' '))
        cm[--n] = '\0';
    if (PQstatus(m->pg) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0))
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "database unavailable: %s", cm);
    return hm_error_set(err, HM_E_DB, NULL, "%s: %s (%s)", what, cm, state ? state : "?");
}

static int sq_fail(mig *m, const char *what, hm_error *err)
{
    return hm_error_set(err, HM_E_DB, "db", "%s: %s", what, sqlite3_errmsg(m->sq));
}

/* Run `sql` (no parameters, no rows wanted) on PostgreSQL. */
static int pg_exec(mig *m, const char *sql, const char *what, hm_error *err)
{
    PGresult *res = PQexec(m->pg, sql);
    int rc = HM_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_fail(m, res, what, err);
    PQclear(res);
    return rc;
}

/* `name` as a double-quoted SQL identifier (both dialects). */
static void put_ident(hm_buf *b, const char *name)
{
    hm_buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            hm_buf_putc(b, '"');
        hm_buf_putc(b, *p);
    }
    hm_buf_putc(b, '"');
}

static const mig_table *known_table(const char *name)
{
    for (size_t i = 0; i < N_TABLES; i++)
        if (strcmp(tables[i].name, name) == 0)
            return &tables[i];
    return NULL;
}

static bool target_table(const char *name)
{
    for (size_t i = 0; i < sizeof target_own / sizeof target_own[0]; i++)
        if (strcmp(target_own[i], name) == 0)
            return true;
    return false;
}

/* ---- the two schemas ------------------------------------------------------------------- */

/* Every table of helpmap's PostgreSQL schema (the connection's current schema, without those
 * of extensions: PostGIS's spatial_ref_sys) is either one tables[] copies or one of the
 * target's own, and every table of tables[] is there. */
static int check_pg_tables(mig *m, hm_error *err)
{
    PGresult *res = PQexec(
        m->pg, "SELECT c.relname FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM "
               "pg_namespace WHERE nspname = current_schema()) AND c.relkind IN ('r', 'p') AND "
               "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND "
               "d.objid = c.oid AND d.deptype = 'e') ORDER BY 1");
    bool seen[N_TABLES] = {false};
    int rc = HM_OK;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(m, res, "cannot list the tables of the target", err);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 0);
        const mig_table *t = known_table(name);
        if (t)
            seen[t - tables] = true;
        else if (!target_table(name)) {
            rc = hm_error_set(err, HM_E_DB, "to",
                              "the target's table \"%.40s\" is not one that migrate knows how "
                              "to fill (a newer schema?): nothing copied",
                              name);
            goto out;
        }
    }
    for (size_t i = 0; i < N_TABLES; i++)
        if (!seen[i]) {
            rc = hm_error_set(err, HM_E_DB, "to", "the target has no table \"%s\": nothing copied",
                              tables[i].name);
            goto out;
        }
out:
    PQclear(res);
    return rc;
}

/* The columns of PostgreSQL table `t` into cols[] (in table order); *n their number. */
static int pg_columns(mig *m, const char *t, mig_col *cols, int *n, hm_error *err)
{
    const char *v[1] = {t};
    PGresult *res = PQexecParams(
        m->pg,
        "SELECT a.attname, ty.typname, a.attidentity <> '' FROM pg_attribute a JOIN pg_type ty "
        "ON ty.oid = a.atttypid WHERE a.attrelid = (quote_ident(current_schema()) || '.' || "
        "quote_ident($1))::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        1, NULL, v, NULL, NULL, 0);
    int rc = HM_OK;

    *n = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_fail(m, res, "cannot read the target's columns", err);
        goto out;
    }
    if (PQntuples(res) > MAX_COLS) {
        rc = hm_error_set(err, HM_E_DB, "to", "table %s has more than %d columns", t, MAX_COLS);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        mig_col *c = &cols[i];
        const char *ty = PQgetvalue(res, i, 1);
        snprintf(c->name, sizeof c->name, "%s", PQgetvalue(res, i, 0));
        c->identity = PQgetvalue(res, i, 2)[0] == 't';
        if (strcmp(ty, "bool") == 0)
            c->kind = K_BOOL;
        else if (strcmp(ty, "int2") == 0 || strcmp(ty, "int4") == 0 || strcmp(ty, "int8") == 0)
            c->kind = K_INT;
        else if (strcmp(ty, "float4") == 0 || strcmp(ty, "float8") == 0 ||
                 strcmp(ty, "numeric") == 0)
            c->kind = K_FLOAT;
        else if (strcmp(ty, "bytea") == 0)
            c->kind = K_BYTEA;
        else if (strcmp(ty, "geometry") == 0)
            c->kind = K_GEOM;
        else
            c->kind = K_TEXT;
    }
    *n = PQntuples(res);
out:
    PQclear(res);
    return rc;
}

/* The SQLite table `t` has exactly the columns cols[0..n) (in any order). */
static int match_sqlite_columns(mig *m, const char *t, const mig_col *cols, int n, hm_error *err)
{
    hm_buf sql;
    sqlite3_stmt *q = NULL;
    bool have[MAX_COLS] = {false};
    int rc = HM_OK, step, seen = 0;

    hm_buf_init(&sql);
    hm_buf_puts(&sql, "PRAGMA table_info(");
    put_ident(&sql, t);
    hm_buf_puts(&sql, ")");
    if (sqlite3_prepare_v2(m->sq, sql.data, -1, &q, NULL) != SQLITE_OK) {
        rc = sq_fail(m, "cannot read the source's columns", err);
        goto out;
    }
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 1);
        int k;
        seen++;
        for (k = 0; k < n; k++)
            if (name && strcmp(cols[k].name, name) == 0)
                break;
        if (k == n) {
            rc = hm_error_set(err, HM_E_DB, "to",
                              "column %s.%.40s of the SpatiaLite file has no place in the "
                              "target (a newer file?): nothing copied",
                              t, name ? name : "?");
            goto out;
        }
        have[k] = true;
    }
    if (step != SQLITE_DONE) {
        rc = sq_fail(m, "cannot read the source's columns", err);
        goto out;
    }
    if (seen == 0) {
        rc = hm_error_set(err, HM_E_DB, "db", "the SpatiaLite file has no table %s", t);
        goto out;
    }
    for (int k = 0; k < n; k++)
        if (!have[k]) {
            rc = hm_error_set(err, HM_E_DB, "db",
                              "column %s.%s of the target is missing from the SpatiaLite file: "
                              "nothing copied",
                              t, cols[k].name);
            goto out;
        }
out:
    sqlite3_finalize(q);
    hm_buf_clear(&sql);
    return rc;
}

/* ---- values in COPY's text format ------------------------------------------------------- */

static void put_hex(hm_buf *b, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    hm_buf_reserve(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        b->data[b->len++] = digits[p[i] >> 4];
        b->data[b->len++] = digits[p[i] & 15];
    }
    b->data[b->len] = '\0';
}

/* Text with COPY's escapes: backslash, newline, carriage return and tab. */
static void put_text(hm_buf *b, const unsigned char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '\\'   ? "\\\\"
                          : s[i] == '\n' ? "\\n"
                          : s[i] == '\r' ? "\\r"
                          : s[i] == '\t' ? "\\t"
                                         : NULL;
        if (!esc)
            continue;
        hm_buf_append(b, s + run, i - run);
        hm_buf_puts(b, esc);
        run = i + 1;
    }
    hm_buf_append(b, s + run, n - run);
}

static bool host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void put_u32(unsigned char *p, uint32_t v, bool le)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(le ? v >> (8 * i) : v >> (8 * (3 - i)));
}

/* WKB (as SpatiaLite's AsBinary() writes it) as hex EWKB with SRID 4326, which PostGIS reads
 * as a geometry value. -1 when it is not WKB. */
static int put_ewkb(hm_buf *b, const unsigned char *wkb, size_t n)
{
    unsigned char head[9];
    bool le;
    uint32_t type = 0;

    if (n < 5 || (wkb[0] != 0 && wkb[0] != 1))
        return -1;
    le = wkb[0] == 1;
    for (int i = 0; i < 4; i++)
        type |= (uint32_t)wkb[1 + i] << (le ? 8 * i : 8 * (3 - i));
    if (type & 0x20000000u) { /* EWKB already: SRID inside */
        put_hex(b, wkb, n);
        return 0;
    }
    head[0] = wkb[0];
    put_u32(head + 1, type | 0x20000000u, le);
    put_u32(head + 5, 4326, le);
    put_hex(b, head, sizeof head);
    put_hex(b, wkb + 5, n - 5);
    return 0;
}

/* The point (lon, lat) as hex EWKB with SRID 4326. */
static void put_point(hm_buf *b, double lon, double lat)
{
    unsigned char p[25];
    bool le = host_little_endian();
    p[0] = le ? 1 : 0;
    put_u32(p + 1, 0x20000001u, le);
    put_u32(p + 5, 4326, le);
    memcpy(p + 9, &lon, 8);
    memcpy(p + 17, &lat, 8);
    put_hex(b, p, sizeof p);
}

static int put_double(hm_buf *b, double v)
{
    if (!isfinite(v))
        return -1;
    hm_buf_printf(b, "%.17g", v);
    return 0;
}

/* Column `i` of the current row of `q` written for PostgreSQL column `c`; `ilon`/`ilat` are
 * the row's lon and lat columns (-1: none), from which a point geometry that SQLite left NULL
 * is made (PostGIS keeps it NOT NULL and equal to lon, lat). -1 when the value does not fit. */
static int put_value(hm_buf *b, sqlite3_stmt *q, int i, const mig_col *c, int ilon, int ilat)
{
    int t = sqlite3_column_type(q, i);

    if (t == SQLITE_NULL) {
        if (c->kind == K_GEOM && ilon >= 0 && ilat >= 0 &&
            sqlite3_column_type(q, ilon) != SQLITE_NULL &&
            sqlite3_column_type(q, ilat) != SQLITE_NULL)
            put_point(b, sqlite3_column_double(q, ilon), sqlite3_column_double(q, ilat));
        else
            hm_buf_puts(b, "\\N");
        return 0;
    }
    switch (c->kind) {
        case K_BOOL:
            if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
                hm_buf_putc(b, sqlite3_column_double(q, i) != 0 ? 't' : 'f');
                return 0;
            }
            break;
        case K_INT:
            if (t == SQLITE_INTEGER) {
                hm_buf_printf(b, "%lld", (long long)sqlite3_column_int64(q, i));
                return 0;
            }
            if (t == SQLITE_FLOAT) {
                double v = sqlite3_column_double(q, i);
                if (v != floor(v) || fabs(v) > 9.007199254740992e15)
                    return -1;
                hm_buf_printf(b, "%.0f", v);
                return 0;
            }
            break;
        case K_FLOAT:
            if (t == SQLITE_INTEGER) {
                hm_buf_printf(b, "%lld", (long long)sqlite3_column_int64(q, i));
                return 0;
            }
            if (t == SQLITE_FLOAT)
                return put_double(b, sqlite3_column_double(q, i));
            break;
        case K_BYTEA: {
            const unsigned char *p = sqlite3_column_blob(q, i);
            size_t n = (size_t)sqlite3_column_bytes(q, i);
            hm_buf_puts(b, "\\\\x"); /* bytea's \x, its backslash escaped for COPY */
            put_hex(b, p, n);
            return 0;
        }
        case K_GEOM:
            if (t != SQLITE_BLOB)
                return -1;
            return put_ewkb(b, sqlite3_column_blob(q, i), (size_t)sqlite3_column_bytes(q, i));
        case K_TEXT:
            if (t == SQLITE_FLOAT)
                return put_double(b, sqlite3_column_double(q, i));
            break;
    }
    /* Text as SQLite has it (PostgreSQL parses numbers and booleans given as text). */
    put_text(b, sqlite3_column_text(q, i), (size_t)sqlite3_column_bytes(q, i));
    return 0;
}

/* ---- one table ------------------------------------------------------------------------------ */

/* Send what is buffered of the COPY in progress. */
static int flush(mig *m, hm_error *err)
{
    if (m->buf.len > 0 && PQputCopyData(m->pg, m->buf.data, (int)m->buf.len) != 1)
        return pg_fail(m, NULL, "copy failed", err);
    m->buf.len = 0;
    return HM_OK;
}

/* End the COPY in progress: with `why` (non-NULL) it is abandoned. The rows PostgreSQL took
 * into *rows. */
static int copy_end(mig *m, const char *why, const char *table, int64_t *rows, hm_error *err)
{
    PGresult *res;
    int rc = HM_OK;
    char what[80];

    if (!why && flush(m, err) != HM_OK)
        why = "sending failed";
    if (PQputCopyEnd(m->pg, why) != 1)
        return pg_fail(m, NULL, "copy failed", err);
    snprintf(what, sizeof what, "the target refused the rows of %s", table);
    while ((res = PQgetResult(m->pg)) != NULL) {
        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            if (rows)
                *rows = strtoll(PQcmdTuples(res), NULL, 10);
        } else if (rc == HM_OK && !why) {
            rc = pg_fail(m, res, what, err);
        }
        PQclear(res);
    }
    return rc;
}

/* The highest value SQLite's AUTOINCREMENT ever gave in table `t` (0 when it keeps none): a
 * change id of a rolled-back transaction is never given again, in SQLite or after the copy. */
static int64_t sqlite_sequence(mig *m, const char *t)
{
    sqlite3_stmt *q = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(m->sq, "SELECT seq FROM sqlite_sequence WHERE name = ?1", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, t, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            v = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    return v;
}

/* Move the sequence of identity column `c` of `t` past the highest copied value. */
static int follow_identity(mig *m, const char *t, const mig_col *c, hm_error *err)
{
    hm_buf sql;
    char floor_v[32];
    const char *v[3];
    PGresult *res;
    int rc = HM_OK;

    snprintf(floor_v, sizeof floor_v, "%lld", (long long)sqlite_sequence(m, t));
    v[0] = t;
    v[1] = c->name;
    v[2] = floor_v;
    hm_buf_init(&sql);
    hm_buf_puts(&sql, "SELECT setval(pg_get_serial_sequence(quote_ident(current_schema()) || "
                      "'.' || quote_ident($1), $2), greatest(m, 1), m >= 1) FROM (SELECT "
                      "greatest(coalesce(max(");
    put_ident(&sql, c->name);
    hm_buf_puts(&sql, "), 0), $3::bigint) AS m FROM ");
    put_ident(&sql, t);
    hm_buf_puts(&sql, ") x");
    res = PQexecParams(m->pg, sql.data, 3, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_fail(m, res, "cannot move the target's id sequence", err);
    PQclear(res);
    hm_buf_clear(&sql);
    return rc;
}

/* Copy SQLite table `t` into PostgreSQL's, in id order (SQLite's rowid). */
static int copy_table(mig *m, const mig_table *t, hm_error *err)
{
    mig_col cols[MAX_COLS];
    hm_buf sel, cp;
    sqlite3_stmt *q = NULL;
    PGresult *res = NULL;
    int n = 0, ilon = -1, ilat = -1, step, rc;
    int64_t sent = 0, took = -1;
    char why[256];

    hm_buf_init(&sel);
    hm_buf_init(&cp);
    if ((rc = pg_columns(m, t->name, cols, &n, err)) ||
        (rc = match_sqlite_columns(m, t->name, cols, n, err)))
        goto out;
    hm_buf_puts(&sel, "SELECT ");
    hm_buf_puts(&cp, "COPY ");
    put_ident(&cp, t->name);
    hm_buf_puts(&cp, " (");
    for (int i = 0; i < n; i++) {
        if (i) {
            hm_buf_puts(&sel, ", ");
            hm_buf_puts(&cp, ", ");
        }
        if (cols[i].kind == K_GEOM) {
            hm_buf_puts(&sel, "AsBinary(");
            put_ident(&sel, cols[i].name);
            hm_buf_puts(&sel, ")");
        } else {
            put_ident(&sel, cols[i].name);
        }
        put_ident(&cp, cols[i].name);
        if (strcmp(cols[i].name, "lon") == 0)
            ilon = i;
        else if (strcmp(cols[i].name, "lat") == 0)
            ilat = i;
    }
    hm_buf_puts(&sel, " FROM ");
    put_ident(&sel, t->name);
    hm_buf_puts(&sel, " ORDER BY ");
    hm_buf_puts(&sel, t->order ? t->order : "rowid");
    hm_buf_puts(&cp, ") FROM STDIN");
    if (sqlite3_prepare_v2(m->sq, sel.data, -1, &q, NULL) != SQLITE_OK) {
        rc = sq_fail(m, "cannot read the source", err);
        goto out;
    }
    if (t->flags & MIG_REPLACE) {
        hm_buf del;
        hm_buf_init(&del);
        hm_buf_puts(&del, "DELETE FROM ");
        put_ident(&del, t->name);
        rc = pg_exec(m, del.data, "cannot empty a table of the target", err);
        hm_buf_clear(&del);
        if (rc)
            goto out;
    }
    res = PQexec(m->pg, cp.data);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = pg_fail(m, res, "the target refused the copy", err);
        goto out;
    }
    m->buf.len = 0;
    why[0] = '\0';
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++) {
            if (i)
                hm_buf_putc(&m->buf, '\t');
            if (put_value(&m->buf, q, i, &cols[i], ilon, ilat) != 0) {
                snprintf(why, sizeof why,
                         "row %lld of %.60s: %.60s holds a value of the wrong kind",
                         (long long)sent + 1, t->name, cols[i].name);
                break;
            }
        }
        if (why[0])
            break;
        hm_buf_putc(&m->buf, '\n');
        sent++;
        if (m->buf.len >= FLUSH_BYTES && (rc = flush(m, err)) != HM_OK) {
            copy_end(m, "sending failed", t->name, NULL, NULL);
            goto out;
        }
        if (m->progress && sent % PROGRESS_ROWS == 0)
            m->progress(m->ctx, t->name, sent, false);
    }
    if (why[0] || step != SQLITE_DONE) {
        if (!why[0])
            sq_fail(m, "cannot read the source", err);
        else
            hm_error_set(err, HM_E_DB, "db", "%s", why);
        copy_end(m, "the source could not be read", t->name, NULL, NULL);
        rc = err ? err->code : HM_E_DB;
        goto out;
    }
    if ((rc = copy_end(m, NULL, t->name, &took, err)))
        goto out;
    if (took != sent) {
        rc = hm_error_set(err, HM_E_DB, NULL, "%s: %lld rows read but %lld written", t->name,
                          (long long)sent, (long long)took);
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (cols[i].identity && (rc = follow_identity(m, t->name, &cols[i], err)))
            goto out;
    if (m->progress)
        m->progress(m->ctx, t->name, sent, true);
out:
    PQclear(res);
    sqlite3_finalize(q);
    hm_buf_clear(&sel);
    hm_buf_clear(&cp);
    return rc;
}

/* ---- the whole copy ------------------------------------------------------------------------- */

/* Inside the target's transaction: lock helpmap's tables (servers started on the target wait
 * until the copy is committed or rolled back) and refuse any that holds rows. */
static int lock_and_check_empty(mig *m, hm_error *err)
{
    hm_buf sql;
    int rc;

    hm_buf_init(&sql);
    hm_buf_puts(&sql, "LOCK TABLE ");
    for (size_t i = 0; i < N_TABLES; i++) {
        if (i)
            hm_buf_puts(&sql, ", ");
        put_ident(&sql, tables[i].name);
    }
    hm_buf_puts(&sql, " IN EXCLUSIVE MODE");
    rc = pg_exec(m, sql.data, "cannot lock the target's tables", err);
    for (size_t i = 0; i < N_TABLES && rc == HM_OK; i++) {
        PGresult *res;
        if (tables[i].flags & MIG_REPLACE)
            continue;
        sql.len = 0;
        hm_buf_puts(&sql, "SELECT EXISTS (SELECT 1 FROM ");
        put_ident(&sql, tables[i].name);
        hm_buf_puts(&sql, ")");
        res = PQexec(m->pg, sql.data);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
            rc = pg_fail(m, res, "cannot look into the target", err);
        else if (PQgetvalue(res, 0, 0)[0] == 't')
            rc = hm_error_set(err, HM_E_IN_USE, "to",
                              "the target already holds helpmap data (table %s has rows): "
                              "migrate copies into an empty database only",
                              tables[i].name);
        PQclear(res);
    }
    hm_buf_clear(&sql);
    return rc;
}

static int copy_all(mig *m, hm_error *err)
{
    int rc;

    if ((rc = pg_exec(m, "BEGIN", "cannot start the copy", err)))
        return rc;
    if ((rc = check_pg_tables(m, err)) || (rc = lock_and_check_empty(m, err)))
        goto fail;
    /* One snapshot of the file for every table (a server may be writing it). */
    if (sqlite3_exec(m->sq, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sq_fail(m, "cannot read the source", err);
        goto fail;
    }
    for (size_t i = 0; i < N_TABLES; i++)
        if ((rc = copy_table(m, &tables[i], err)))
            break;
    sqlite3_exec(m->sq, "ROLLBACK", NULL, NULL, NULL); /* a read: nothing to keep */
    if (rc)
        goto fail;
    if ((rc = pg_exec(m, "COMMIT", "the copy could not be committed", err)))
        return rc;
    /* Statistics for the planner at once, rather than at the first autovacuum. */
    for (size_t i = 0; i < N_TABLES; i++) {
        hm_buf sql;
        hm_error e = {0};
        hm_buf_init(&sql);
        hm_buf_puts(&sql, "ANALYZE ");
        put_ident(&sql, tables[i].name);
        if (pg_exec(m, sql.data, "analyze", &e) != HM_OK)
            hm_log(HM_LOG_WARN, "event=migrate_analyze_failed table=%s msg=\"%s\"", tables[i].name,
                   e.msg);
        hm_buf_clear(&sql);
    }
    return HM_OK;
fail:
    if (PQstatus(m->pg) == CONNECTION_OK)
        PQclear(PQexec(m->pg, "ROLLBACK"));
    return rc;
}

int hm_store_migrate(const char *from, const char *to, hm_migrate_progress progress, void *ctx,
                     hm_error *err)
{
    hm_store *src = NULL, *dst = NULL;
    mig m = {.progress = progress, .ctx = ctx};
    hm_error e = {0};
    int rc;

    if (hm_store__is_pg_uri(from))
        return hm_error_set(err, HM_E_INVALID_FIELD, "db",
                            "--db must be a SpatiaLite file: migrate copies one into PostgreSQL");
    if (!hm_store__is_pg_uri(to))
        return hm_error_set(err, HM_E_INVALID_FIELD, "to", "--to must be a postgresql:// URI");
    /* Read-only: the file is never changed, also not migrated to this program's schema. */
    if (!(src = hm_store_open(from, HM_STORE_READONLY, &e))) {
        if (e.code == HM_E_DB && strstr(e.msg, "needs migration"))
            return hm_error_set(err, HM_E_DB, "db",
                                "%s: open it once with this helpmap first (helpmap team list "
                                "--db FILE upgrades it)",
                                e.msg);
        return hm_error_set(err, e.code, e.field, "%s", e.msg);
    }
    if (!(dst = hm_store_open(to, HM_STORE_CREATE, err))) {
        hm_store_close(src);
        return err ? err->code : HM_E_UNAVAILABLE;
    }
    m.sq = hm_store__sqlite_db(src);
    m.pg = hm_store__pg_conn(dst);
    hm_buf_init(&m.buf);
    if (!m.sq || !m.pg)
        rc = hm_error_set(err, HM_E_UNAVAILABLE, NULL, "database unavailable");
    else
        rc = copy_all(&m, err);
    hm_buf_clear(&m.buf);
    hm_store_close(dst);
    hm_store_close(src);
    return rc;
}
