/* test_store.c: the conformance suite of server/store.h, run on one backend per process:
 *   test_store sqlite   SpatiaLite, in a temporary database file
 *   test_store pg       PostGIS, in a new database on the server of $HM_TEST_PG_URI (a URI
 *                       whose user may create databases; scripts/pg.sh run starts a
 *                       throwaway one), dropped at the end; exit 77 (skipped) without it
 * Both run the same cases: round trips of areas, requests, history and teams, every list
 * filter and the cursor, bounding boxes at grid-cell borders, the guarded status change,
 * the append-only history (checked through a second, plain connection), transactions and
 * savepoints, creation in one step with its repeat check, purge, stats, integrity check and
 * reopening. Then what only one backend has: SQLite's online backup and its migration from schema
 * 2; PostgreSQL's refusal of a database that holds other tables, its geometry columns for GIS
 * tools, and its recovery when the server drops the connection. */
#include "hm_buf.h"
#include "hm_log.h"
#include "hm_test.h"
#include "model.h"
#include "store.h"

#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char dir[64];
static char db_path[512];

/* ---- backends ------------------------------------------------------------------------------ */

/* What the suite needs of a backend besides store.h: new databases, and plain SQL on them
 * through a connection of their own (not helpmap's). */
typedef struct backend {
    const char *name;
    /* A new, empty database named after `tag`: its path or URI into `out`. False when none
     * can be made. */
    bool (*fresh)(const char *tag, char *out, size_t size);
    /* Run `sql` on `where`: 0 done, 1 refused by a constraint or trigger (message into
     * `msg`), -1 another failure. */
    int (*exec)(const char *where, const char *sql, char *msg, size_t size);
    /* The first column of the first row of `sql` on `where` as a number, -1 on failure. */
    long (*count)(const char *where, const char *sql);
    void (*drop)(const char *where);
} backend;

static const backend *be;

/* SQLite: files in `dir`. */
static bool sq_fresh(const char *tag, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.db", dir, tag);
    return true;
}

static int sq_exec(const char *where, const char *sql, char *msg, size_t size)
{
    sqlite3 *db = NULL;
    char *m = NULL;
    int rc;
    if (sqlite3_open_v2(where, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, sql, NULL, NULL, &m);
    snprintf(msg, size, "%s", m ? m : "");
    sqlite3_free(m);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : rc == SQLITE_CONSTRAINT ? 1 : -1;
}

static int count_rows_cb(void *ctx, int ncol, char **val, char **col)
{
    (void)ncol, (void)col;
    *(long *)ctx = val[0] ? atol(val[0]) : -1;
    return 0;
}

static long sq_count(const char *where, const char *sql)
{
    sqlite3 *db = NULL;
    long n = -1;
    if (sqlite3_open_v2(where, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        sqlite3_exec(db, sql, count_rows_cb, &n, NULL);
    sqlite3_close(db);
    return n;
}

static void sq_drop(const char *where)
{
    (void)where; /* the directory goes at the end */
}

static const backend sqlite_backend = {"sqlite", sq_fresh, sq_exec, sq_count, sq_drop};

/* PostgreSQL: databases on the server of $HM_TEST_PG_URI, made and dropped through it. */
static const char *pg_admin;

/* `uri` with its database name replaced by `db`. */
static void uri_with_db(const char *uri, const char *db, char *out, size_t size)
{
    const char *host = strstr(uri, "://");
    const char *path, *query;
    host = host ? host + 3 : uri;
    path = host + strcspn(host, "/?");
    query = strchr(path, '?');
    snprintf(out, size, "%.*s/%s%s", (int)(path - uri), uri, db, query ? query : "");
}

/* The database name of a URI made by uri_with_db. */
static void db_of_uri(const char *uri, char *out, size_t size)
{
    const char *host = strstr(uri, "://") + 3;
    const char *path = host + strcspn(host, "/?");
    if (*path == '/')
        path++;
    snprintf(out, size, "%.*s", (int)strcspn(path, "?"), path);
}

static void quiet(void *arg, const PGresult *res)
{
    (void)arg, (void)res;
}

static int pg_exec(const char *where, const char *sql, char *msg, size_t size)
{
    PGconn *c = PQconnectdb(where);
    PGresult *res = NULL;
    int rc = -1;
    msg[0] = '\0';
    PQsetNoticeReceiver(c, quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(msg, size, "%s", PQerrorMessage(c));
        goto out;
    }
    res = PQexec(c, sql);
    if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK) {
        rc = 0;
    } else {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(msg, size, "%s", PQresultErrorMessage(res));
        rc = state && strncmp(state, "23", 2) == 0 ? 1 : -1;
    }
out:
    PQclear(res);
    PQfinish(c);
    return rc;
}

static long pg_count(const char *where, const char *sql)
{
    PGconn *c = PQconnectdb(where);
    PGresult *res = NULL;
    long n = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        res = PQexec(c, sql);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
            n = atol(PQgetvalue(res, 0, 0));
        else if (PQresultStatus(res) != PGRES_TUPLES_OK)
            fprintf(stderr, "  %s: %s", sql, PQresultErrorMessage(res));
    }
    PQclear(res);
    PQfinish(c);
    return n;
}

static bool pg_fresh(const char *tag, char *out, size_t size)
{
    char db[64], sql[160], msg[256];
    snprintf(db, sizeof db, "hm_test_store_%ld_%s", (long)getpid(), tag);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
    pg_exec(pg_admin, sql, msg, sizeof msg);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    if (pg_exec(pg_admin, sql, msg, sizeof msg) != 0) {
        fprintf(stderr, "cannot create database %s: %s\n", db, msg);
        return false;
    }
    uri_with_db(pg_admin, db, out, size);
    return true;
}

static void pg_drop(const char *where)
{
    char db[64], sql[160], msg[256];
    db_of_uri(where, db, sizeof db);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    if (pg_exec(pg_admin, sql, msg, sizeof msg) != 0)
        fprintf(stderr, "could not drop database %s: %s\n", db, msg);
}

static const backend pg_backend = {"pg", pg_fresh, pg_exec, pg_count, pg_drop};

/* ---- WKB by hand: little-endian Polygon of one ring ------------------------------------ */

static size_t put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
    return 4;
}

static size_t put_f64(unsigned char *p, double v)
{
    memcpy(p, &v, 8);
    return 8;
}

/* Rectangle polygon (5 points) into buf (>= 93 bytes); returns the length. */
static size_t rect_wkb(unsigned char *buf, double x0, double y0, double x1, double y1)
{
    const double xy[5][2] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}};
    size_t n = 0;
    buf[n++] = 1;
    n += put_u32(buf + n, 3);
    n += put_u32(buf + n, 1);
    n += put_u32(buf + n, 5);
    for (int i = 0; i < 5; i++) {
        n += put_f64(buf + n, xy[i][0]);
        n += put_f64(buf + n, xy[i][1]);
    }
    return n;
}

/* The coordinates of the first ring of a WKB Polygon or one-polygon MultiPolygon, into
 * xy (pairs); returns the number of points, or -1 when it is neither. */
static int first_ring(const unsigned char *w, size_t len, double xy[][2], int max)
{
    uint32_t type, n;
    size_t off = 0;
    if (len < 9 || w[0] != 1)
        return -1;
    memcpy(&type, w + 1, 4);
    off = 5;
    if (type == 6) { /* MultiPolygon: count, then a Polygon */
        memcpy(&n, w + off, 4);
        if (n != 1)
            return -1;
        off += 4;
        if (w[off] != 1)
            return -1;
        memcpy(&type, w + off + 1, 4);
        off += 5;
    }
    if (type != 3)
        return -1;
    memcpy(&n, w + off, 4); /* rings */
    off += 4;
    if (n < 1)
        return -1;
    memcpy(&n, w + off, 4); /* points */
    off += 4;
    if ((int)n > max || off + n * 16 > len)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(&xy[i][0], w + off + 16 * i, 8);
        memcpy(&xy[i][1], w + off + 16 * i + 8, 8);
    }
    return (int)n;
}

/* ---- areas ----------------------------------------------------------------------------- */

typedef struct area_seen {
    int n;
    char codes[16][40];
    int levels[16];
    hm_area_row last; /* copy, wkb pointer cleared */
    double ring[8][2];
    int ring_n;
    char parent[40];
    char name[160];
} area_seen;

static int collect_area(void *ctx, const hm_area_row *a)
{
    area_seen *s = ctx;
    if (s->n < 16) {
        snprintf(s->codes[s->n], 40, "%s", a->code);
        s->levels[s->n] = a->level;
    }
    s->n++;
    s->last = *a;
    s->last.wkb = NULL;
    s->ring_n = first_ring(a->wkb, a->wkb_len, s->ring, 8);
    snprintf(s->parent, sizeof s->parent, "%s", a->parent_code);
    snprintf(s->name, sizeof s->name, "%s", a->name);
    return 0;
}

static void make_area(hm_area *a, unsigned char *wkb, const char *code, const char *name,
                      const char *parent, double x0, double y0, double x1, double y1, long pop)
{
    memset(a, 0, sizeof *a);
    a->code = (char *)code;
    a->name = (char *)name;
    a->parent_code = (char *)parent;
    a->wkb = wkb;
    a->wkb_len = rect_wkb(wkb, x0, y0, x1, y1);
    a->rep_lon = (x0 + x1) / 2;
    a->rep_lat = (y0 + y1) / 2;
    a->bbox[0] = x0, a->bbox[1] = y0, a->bbox[2] = x1, a->bbox[3] = y1;
    a->pop = pop;
}

static void test_areas(hm_store *st)
{
    hm_error err = {0};
    unsigned char w1[128], w2[128], w3[128];
    hm_area a1, a2, h1;
    area_seen s;

    make_area(&a1, w1, "W1", "Xã Tân An Hội", NULL, 106.40, 10.90, 106.50, 11.00, 68399);
    make_area(&a2, w2, "W2", "Xã Củ Chi", NULL, 106.50, 10.90, 106.60, 11.00, -1);
    make_area(&h1, w3, "W1-H1", "Ấp 1 (synthetic)", "W1", 106.41, 10.91, 106.42, 10.92, -1);
    CHECK_INT_EQ(hm_store_area_upsert(st, HM_LEVEL_WARD, &a2, &err), HM_OK);
    CHECK_INT_EQ(hm_store_area_upsert(st, HM_LEVEL_WARD, &a1, &err), HM_OK);
    CHECK_INT_EQ(hm_store_area_upsert(st, HM_LEVEL_HAMLET, &h1, &err), HM_OK);
    /* The same code at another level is another area (codes were reused by the reform). */
    CHECK_INT_EQ(hm_store_area_upsert(st, HM_LEVEL_FORMER_WARD, &a1, &err), HM_OK);

    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_area_list(st, HM_LEVEL_WARD, collect_area, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 2);
    CHECK_STR_EQ(s.codes[0], "W1"); /* ordered by code */
    CHECK_STR_EQ(s.codes[1], "W2");

    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_area_list(st, -1, collect_area, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 4);
    CHECK(s.levels[0] == HM_LEVEL_WARD && s.levels[1] == HM_LEVEL_WARD &&
          s.levels[2] == HM_LEVEL_FORMER_WARD && s.levels[3] == HM_LEVEL_HAMLET);

    /* Round trip of one area: every field and the ring's coordinates. */
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_area_get(st, HM_LEVEL_WARD, "W1", collect_area, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 1);
    CHECK_STR_EQ(s.name, "Xã Tân An Hội");
    CHECK_STR_EQ(s.parent, "");
    CHECK_INT_EQ(s.last.level, HM_LEVEL_WARD);
    CHECK(s.last.rep_lon == (106.40 + 106.50) / 2 && s.last.rep_lat == (10.90 + 11.00) / 2);
    CHECK(s.last.bbox[0] == 106.40 && s.last.bbox[1] == 10.90 && s.last.bbox[2] == 106.50 &&
          s.last.bbox[3] == 11.00);
    CHECK_INT_EQ(s.last.pop, 68399);
    CHECK_INT_EQ(s.ring_n, 5);
    if (s.ring_n == 5) {
        CHECK(s.ring[0][0] == 106.40 && s.ring[0][1] == 10.90);
        CHECK(s.ring[2][0] == 106.50 && s.ring[2][1] == 11.00);
    }
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_area_get(st, HM_LEVEL_WARD, "W2", collect_area, &s, &err), HM_OK);
    CHECK_INT_EQ(s.last.pop, -1);
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_area_get(st, HM_LEVEL_HAMLET, "W1-H1", collect_area, &s, &err), HM_OK);
    CHECK_STR_EQ(s.parent, "W1");
    CHECK_STR_EQ(s.name, "Ấp 1 (synthetic)");

    /* Upsert by code: the same code again replaces, never duplicates. */
    a1.name = (char *)"Tân An Hội (renamed)";
    a1.wkb_len = rect_wkb(w1, 106.40, 10.90, 106.49, 11.00);
    CHECK_INT_EQ(hm_store_area_upsert(st, HM_LEVEL_WARD, &a1, &err), HM_OK);
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_area_list(st, HM_LEVEL_WARD, collect_area, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 2);
    memset(&s, 0, sizeof s);
    hm_store_area_get(st, HM_LEVEL_WARD, "W1", collect_area, &s, &err);
    CHECK_STR_EQ(s.name, "Tân An Hội (renamed)");
    CHECK(s.ring_n == 5 && s.ring[1][0] == 106.49);

    /* Absent areas. */
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_area_get(st, HM_LEVEL_WARD, "NOPE", collect_area, &s, &err),
                 HM_E_NOT_FOUND);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_area_get(st, HM_LEVEL_HAMLET, "W1", collect_area, &s, &err),
                 HM_E_NOT_FOUND);

    /* Delete one; again is not found. */
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_area_delete(st, HM_LEVEL_FORMER_WARD, "W1", &err), HM_OK);
    CHECK_INT_EQ(hm_store_area_delete(st, HM_LEVEL_FORMER_WARD, "W1", &err), HM_E_NOT_FOUND);
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_area_list(st, HM_LEVEL_FORMER_WARD, collect_area, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 0);
    /* The ward W1 did not go with it. */
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_area_get(st, HM_LEVEL_WARD, "W1", collect_area, &s, &err), HM_OK);
}

/* ---- requests ----------------------------------------------------------------------------- */

#define NREQ 40

typedef struct req_spec {
    hm_request r;
    uint8_t hash[32];
} req_spec;

static req_spec reqs[NREQ];
static const int64_t T0 = 1796004900000LL; /* 2026-11-30T02:15:00Z */

static const char *const wards[] = {"W1", "W2", ""};
static const char *const phones[] = {"+84909123456", "+84909000001", "+12025550143"};

static void fill_request(int i, hm_request *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->code, sizeof r->code, "CC-%c%c%c%c%c%c", hm_code_alphabet[i % 28],
             hm_code_alphabet[(i / 28) % 28], 'A', 'B', 'C', hm_code_alphabet[(i * 7) % 28]);
    r->lon = 106.40 + (i % 10) * 0.02 + 0.0012345;
    r->lat = 10.90 + (i / 10) * 0.02 + 0.0006789;
    r->precision = i % HM_PREC__COUNT;
    r->category = i % HM_CAT__COUNT;
    r->people = 1 + i * 12;
    r->vulnerable = (unsigned)(i % 32);
    r->priority = hm_priority_of(r->category, r->vulnerable);
    r->note = i % 3 == 0 ? NULL : hm_xstrdup("Cần gạo, nước \"sạch\"\nlần 2");
    r->name = i % 4 == 0 ? NULL : hm_xstrdup("Nguyễn Thị Ánh");
    r->address = i % 5 == 0 ? NULL : hm_xstrdup("ấp 3; hẻm 12/4");
    r->phone = hm_xstrdup(phones[i % 3]);
    r->status = HM_ST_NEW;
    snprintf(r->ward_code, sizeof r->ward_code, "%s", wards[i % 3]);
    snprintf(r->former_ward_code, sizeof r->former_ward_code, "%s", i % 2 ? "F1" : "");
    snprintf(r->hamlet_code, sizeof r->hamlet_code, "%s", i % 6 == 0 ? "W1-H1" : "");
    r->source = i % HM_SRC__COUNT;
    r->verified = i % 7 == 0;
    r->created_at = T0 + i * 60000LL;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_request(const hm_request *a, const hm_request *b)
{
    return a->id == b->id && strcmp(a->code, b->code) == 0 && a->lon == b->lon &&
           a->lat == b->lat && a->precision == b->precision && a->category == b->category &&
           a->people == b->people && a->vulnerable == b->vulnerable && a->priority == b->priority &&
           str_eq(a->note, b->note) && str_eq(a->name, b->name) && str_eq(a->address, b->address) &&
           str_eq(a->phone, b->phone) && a->status == b->status &&
           strcmp(a->ward_code, b->ward_code) == 0 &&
           strcmp(a->former_ward_code, b->former_ward_code) == 0 &&
           strcmp(a->hamlet_code, b->hamlet_code) == 0 && a->source == b->source &&
           a->verified == b->verified && a->team_id == b->team_id &&
           strcmp(a->duplicate_of, b->duplicate_of) == 0 && a->created_at == b->created_at &&
           a->updated_at == b->updated_at && a->status_at == b->status_at;
}

typedef struct ids {
    int64_t v[NREQ * 2];
    size_t n;
    int stop_after;
} ids;

static int collect_id(void *ctx, const hm_request *r)
{
    ids *s = ctx;
    s->v[s->n++] = r->id;
    if (s->stop_after && (int)s->n == s->stop_after)
        return 7;
    return 0;
}

static hm_request_filter any(void)
{
    hm_request_filter f;
    hm_request_filter_init(&f);
    return f;
}

/* Ids of reqs[] that `keep` accepts, in id order. */
static ids expected(bool (*keep)(const hm_request *, const void *), const void *arg)
{
    ids e = {{0}, 0, 0};
    for (int i = 0; i < NREQ; i++)
        if (keep(&reqs[i].r, arg))
            e.v[e.n++] = reqs[i].r.id;
    return e;
}

static bool ids_equal(const ids *a, const ids *b)
{
    return a->n == b->n && memcmp(a->v, b->v, a->n * sizeof a->v[0]) == 0;
}

static bool k_bbox(const hm_request *r, const void *a)
{
    const double *b = a;
    return r->lon >= b[0] && r->lon <= b[2] && r->lat >= b[1] && r->lat <= b[3];
}
static bool k_status(const hm_request *r, const void *a)
{
    return (*(const unsigned *)a >> r->status) & 1;
}
static bool k_category(const hm_request *r, const void *a)
{
    return r->category == *(const int *)a;
}
static bool k_ward(const hm_request *r, const void *a)
{
    return strcmp(r->ward_code, a) == 0;
}
static bool k_phone(const hm_request *r, const void *a)
{
    return str_eq(r->phone, a);
}
static bool k_since(const hm_request *r, const void *a)
{
    return r->updated_at >= *(const int64_t *)a;
}
static bool k_verified(const hm_request *r, const void *a)
{
    return r->verified == *(const int *)a;
}
static bool k_team(const hm_request *r, const void *a)
{
    return r->team_id == *(const int64_t *)a;
}

static void check_list(hm_store *st, const hm_request_filter *f, const ids *want, const char *what)
{
    ids got = {{0}, 0, 0};
    hm_error err = {0};
    CHECK_INT_EQ(hm_store_request_list(st, f, collect_id, &got, &err), HM_OK);
    if (!ids_equal(&got, want))
        fprintf(stderr, "  list filter %s: got %zu ids, want %zu\n", what, got.n, want->n);
    CHECK(ids_equal(&got, want));
}

static void test_requests(hm_store *st)
{
    hm_error err = {0};
    hm_request got;
    uint8_t hash[32];

    for (int i = 0; i < NREQ; i++) {
        fill_request(i, &reqs[i].r);
        hm_sha256(&i, sizeof i, reqs[i].hash);
        CHECK_INT_EQ(hm_store_request_insert(st, &reqs[i].r, reqs[i].hash, &err), HM_OK);
        CHECK(reqs[i].r.id > (i ? reqs[i - 1].r.id : 0));
        CHECK(reqs[i].r.updated_at == reqs[i].r.created_at);
        CHECK(reqs[i].r.status_at == reqs[i].r.created_at);
    }

    /* Round trips by code and by id, with the token hash. */
    for (int i = 0; i < NREQ; i++) {
        memset(hash, 0, sizeof hash);
        CHECK_INT_EQ(hm_store_request_get(st, reqs[i].r.code, &got, hash, &err), HM_OK);
        CHECK(same_request(&got, &reqs[i].r));
        CHECK(memcmp(hash, reqs[i].hash, 32) == 0);
        hm_request_clear(&got);
        CHECK_INT_EQ(hm_store_request_get_id(st, reqs[i].r.id, &got, &err), HM_OK);
        CHECK(same_request(&got, &reqs[i].r));
        hm_request_clear(&got);
    }
    hm_request_clear(&got);

    /* A code is unique. */
    {
        hm_request dup;
        hm_error e = {0};
        fill_request(0, &dup);
        CHECK_INT_EQ(hm_store_request_insert(st, &dup, reqs[0].hash, &e), HM_E_IN_USE);
        CHECK_STR_EQ(e.field, "code");
        hm_request_clear(&dup);
    }
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-NOPE00", &got, NULL, &err), HM_E_NOT_FOUND);
    CHECK_INT_EQ(hm_store_request_get_id(st, 999999, &got, NULL), HM_E_NOT_FOUND);

    /* Every filter alone, against the same filter in C. */
    {
        hm_request_filter f = any();
        ids all = {{0}, 0, 0};
        for (int i = 0; i < NREQ; i++)
            all.v[all.n++] = reqs[i].r.id;
        check_list(st, &f, &all, "none");

        double bb[4] = {106.43, 10.92, 106.51, 10.97};
        f = any();
        f.has_bbox = true;
        memcpy(f.bbox, bb, sizeof bb);
        ids w = expected(k_bbox, bb);
        CHECK(w.n > 0 && w.n < NREQ);
        check_list(st, &f, &w, "bbox");

        for (int c = 0; c < HM_CAT__COUNT; c++) {
            f = any();
            f.category = c;
            w = expected(k_category, &c);
            check_list(st, &f, &w, "category");
        }
        for (size_t k = 0; k < 2; k++) {
            f = any();
            f.ward_code = wards[k];
            w = expected(k_ward, wards[k]);
            check_list(st, &f, &w, "ward");
        }
        for (size_t k = 0; k < N(phones); k++) {
            f = any();
            f.phone = phones[k];
            w = expected(k_phone, phones[k]);
            check_list(st, &f, &w, "phone");
        }
        int64_t since = T0 + 25 * 60000LL;
        f = any();
        f.since_ms = since;
        w = expected(k_since, &since);
        CHECK_INT_EQ(w.n, NREQ - 25);
        check_list(st, &f, &w, "since");
        for (int v = 0; v <= 1; v++) {
            f = any();
            f.verified = v;
            w = expected(k_verified, &v);
            check_list(st, &f, &w, "verified");
        }
        /* Combined: bbox and category and since. */
        f = any();
        f.has_bbox = true;
        memcpy(f.bbox, bb, sizeof bb);
        f.category = 2;
        f.since_ms = T0 + 5 * 60000LL;
        {
            ids c = {{0}, 0, 0};
            for (int i = 0; i < NREQ; i++)
                if (k_bbox(&reqs[i].r, bb) && reqs[i].r.category == 2 &&
                    reqs[i].r.updated_at >= f.since_ms)
                    c.v[c.n++] = reqs[i].r.id;
            check_list(st, &f, &c, "bbox+category+since");
        }

        /* Cursor: pages of 7 by after_id give every id once, in order. */
        ids pages = {{0}, 0, 0};
        int64_t after = 0;
        for (int page = 0; page < 20; page++) {
            ids one = {{0}, 0, 0};
            f = any();
            f.after_id = after;
            f.limit = 7;
            CHECK_INT_EQ(hm_store_request_list(st, &f, collect_id, &one, &err), HM_OK);
            CHECK(one.n <= 7);
            for (size_t k = 0; k < one.n; k++)
                pages.v[pages.n++] = one.v[k];
            if (one.n < 7)
                break;
            after = one.v[one.n - 1];
        }
        CHECK(ids_equal(&pages, &all));

        /* A callback's non-zero answer stops the walk and is returned. */
        ids stop = {{0}, 0, 3};
        f = any();
        CHECK_INT_EQ(hm_store_request_list(st, &f, collect_id, &stop, &err), 7);
        CHECK_INT_EQ(stop.n, 3);
    }

    /* The guarded status change. */
    {
        hm_request *r = &reqs[1].r;
        int64_t now = T0 + 3600000LL;
        int64_t open = -1;
        CHECK_INT_EQ(
            hm_store_request_set_status(st, r->id, HM_ST_NEW, HM_ST_ASSIGNED, 5, NULL, now, &err),
            HM_OK);
        hm_error e = {0};
        /* A second claimer still believes it is new: refused, nothing changes. */
        CHECK_INT_EQ(
            hm_store_request_set_status(st, r->id, HM_ST_NEW, HM_ST_ASSIGNED, 6, NULL, now + 1, &e),
            HM_E_ALREADY_CLAIMED);
        CHECK_INT_EQ(hm_store_request_get_id(st, r->id, &got, &err), HM_OK);
        CHECK_INT_EQ(got.status, HM_ST_ASSIGNED);
        CHECK_INT_EQ(got.team_id, 5);
        CHECK_INT_EQ(got.updated_at, now);
        CHECK_INT_EQ(got.status_at, now);
        CHECK_INT_EQ(got.created_at, r->created_at);
        hm_request_clear(&got);
        r->status = HM_ST_ASSIGNED, r->team_id = 5, r->updated_at = r->status_at = now;

        CHECK_INT_EQ(hm_store_team_open_count(st, 5, &open, &err), HM_OK);
        CHECK_INT_EQ(open, 1);
        CHECK_INT_EQ(hm_store_request_set_status(st, r->id, HM_ST_ASSIGNED, HM_ST_IN_PROGRESS, 5,
                                                 NULL, now + 10, &err),
                     HM_OK);
        CHECK_INT_EQ(hm_store_team_open_count(st, 5, &open, &err), HM_OK);
        CHECK_INT_EQ(open, 1);
        r->status = HM_ST_IN_PROGRESS, r->updated_at = r->status_at = now + 10;

        /* Duplicate, with duplicate_of. */
        hm_request *d = &reqs[2].r;
        CHECK_INT_EQ(hm_store_request_set_status(st, d->id, HM_ST_NEW, HM_ST_DUPLICATE, 0,
                                                 reqs[0].r.code, now, &err),
                     HM_OK);
        CHECK_INT_EQ(hm_store_request_get_id(st, d->id, &got, &err), HM_OK);
        CHECK_STR_EQ(got.duplicate_of, reqs[0].r.code);
        CHECK_INT_EQ(got.team_id, 0);
        hm_request_clear(&got);
        d->status = HM_ST_DUPLICATE, d->updated_at = d->status_at = now;
        snprintf(d->duplicate_of, sizeof d->duplicate_of, "%s", reqs[0].r.code);

        /* Resolved, for the stats and purge below. */
        hm_request *v = &reqs[3].r;
        CHECK_INT_EQ(hm_store_request_set_status(st, v->id, HM_ST_NEW, HM_ST_RESOLVED, 5, NULL,
                                                 v->created_at + 30 * 60000LL, &err),
                     HM_OK);
        v->status = HM_ST_RESOLVED, v->team_id = 5;
        v->updated_at = v->status_at = v->created_at + 30 * 60000LL;

        /* Status and team filters now. */
        hm_request_filter f = any();
        unsigned mask = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
        f.status_mask = mask;
        ids w = expected(k_status, &mask);
        CHECK_INT_EQ(w.n, NREQ - 2);
        check_list(st, &f, &w, "status open");
        mask = 1u << HM_ST_DUPLICATE;
        f.status_mask = mask;
        w = expected(k_status, &mask);
        CHECK_INT_EQ(w.n, 1);
        check_list(st, &f, &w, "status duplicate");
        int64_t team = 5;
        f = any();
        f.team_id = team;
        w = expected(k_team, &team);
        CHECK_INT_EQ(w.n, 2);
        check_list(st, &f, &w, "team");
    }

    /* Verified and areas. */
    {
        hm_request *r = &reqs[4].r;
        CHECK_INT_EQ(hm_store_request_set_verified(st, r->id, true, T0 + 99, &err), HM_OK);
        CHECK_INT_EQ(hm_store_request_set_areas(st, r->id, "W2", "", "W2-H9", &err), HM_OK);
        CHECK_INT_EQ(hm_store_request_get_id(st, r->id, &got, &err), HM_OK);
        CHECK(got.verified);
        CHECK_INT_EQ(got.updated_at, T0 + 99);
        CHECK_STR_EQ(got.ward_code, "W2");
        CHECK_STR_EQ(got.former_ward_code, "");
        CHECK_STR_EQ(got.hamlet_code, "W2-H9");
        hm_request_clear(&got);
        r->verified = true, r->updated_at = T0 + 99;
        snprintf(r->ward_code, sizeof r->ward_code, "W2");
        r->former_ward_code[0] = '\0';
        snprintf(r->hamlet_code, sizeof r->hamlet_code, "W2-H9");
    }

    /* Area request counts and per-area counts. */
    {
        int64_t n = -1, want = 0;
        for (int i = 0; i < NREQ; i++)
            want += strcmp(reqs[i].r.ward_code, "W1") == 0;
        CHECK_INT_EQ(hm_store_area_request_count(st, HM_LEVEL_WARD, "W1", &n, &err), HM_OK);
        CHECK_INT_EQ(n, want);
        CHECK_INT_EQ(hm_store_area_request_count(st, HM_LEVEL_HAMLET, "W2-H9", &n, &err), HM_OK);
        CHECK_INT_EQ(n, 1);
        CHECK_INT_EQ(hm_store_area_request_count(st, HM_LEVEL_WARD, "NONE", &n, &err), HM_OK);
        CHECK_INT_EQ(n, 0);
    }
}

typedef struct count_sum {
    int64_t by_code_w1, total;
} count_sum;

static int sum_counts(void *ctx, const char *code, int status, int category, int64_t n)
{
    count_sum *s = ctx;
    (void)status, (void)category;
    s->total += n;
    if (strcmp(code, "W1") == 0)
        s->by_code_w1 += n;
    return 0;
}

static void test_counts_stats(hm_store *st)
{
    hm_error err = {0};
    count_sum s = {0, 0};
    int64_t want_w1 = 0, want_total = 0;
    int64_t counts[6][7], hourly[24];
    double median = -2;

    for (int i = 0; i < NREQ; i++) {
        want_w1 += strcmp(reqs[i].r.ward_code, "W1") == 0;
        want_total += reqs[i].r.ward_code[0] != '\0';
    }
    CHECK_INT_EQ(hm_store_area_counts(st, HM_LEVEL_WARD, sum_counts, &s, &err), HM_OK);
    CHECK_INT_EQ(s.by_code_w1, want_w1);
    CHECK_INT_EQ(s.total, want_total); /* requests in no ward are in no group */

    /* `now` one hour after the last creation: all 40 are in the 24 hourly buckets. */
    CHECK_INT_EQ(hm_store_stats(st, T0 + NREQ * 60000LL + 3600000LL, counts, hourly, &median, &err),
                 HM_OK);
    {
        int64_t by[6][7] = {{0}}, total = 0, htotal = 0;
        for (int i = 0; i < NREQ; i++)
            by[reqs[i].r.status][reqs[i].r.category]++;
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 7; b++) {
                CHECK_INT_EQ(counts[a][b], by[a][b]);
                total += counts[a][b];
            }
        CHECK_INT_EQ(total, NREQ);
        for (int h = 0; h < 24; h++)
            htotal += hourly[h];
        CHECK_INT_EQ(htotal, NREQ);
        CHECK_INT_EQ(hourly[22], NREQ); /* 40 minutes, within one hour, an hour ago */
    }
    CHECK(fabs(median - 30.0) < 1e-9); /* the one resolved request took 30 minutes */
}

/* ---- history ------------------------------------------------------------------------------ */

typedef struct hist_seen {
    int n;
    hm_history h[16];
    char notes[16][64];
} hist_seen;

static int collect_hist(void *ctx, const hm_history *h)
{
    hist_seen *s = ctx;
    if (s->n < 16) {
        s->h[s->n] = *h;
        s->h[s->n].note = s->h[s->n].detail = NULL;
        snprintf(s->notes[s->n], 64, "%s", h->note ? h->note : "(null)");
    }
    s->n++;
    return 0;
}

/* Plain SQL on the suite's database, through a connection of its own. */
static int plain_exec(const char *sql, char *msg, size_t size)
{
    return be->exec(db_path, sql, msg, size);
}

static void test_history(hm_store *st)
{
    hm_error err = {0};
    hist_seen s;
    int64_t id = reqs[1].r.id, other = reqs[5].r.id;
    bool seen = true;
    char msg[256];

    CHECK_INT_EQ(
        hm_store_history_append(st, id, T0, "resident", -1, HM_ST_NEW, NULL, "status", &err),
        HM_OK);
    CHECK_INT_EQ(hm_store_history_append(st, id, T0 + 1000, "Đội Tân An Hội 1", HM_ST_NEW,
                                         HM_ST_ASSIGNED, "đang tới", "status", &err),
                 HM_OK);
    CHECK_INT_EQ(
        hm_store_history_append(st, id, T0 + 2000, "resident", -1, -1, "vẫn cần gạo", "note", &err),
        HM_OK);
    CHECK_INT_EQ(hm_store_history_append(st, other, T0 + 2500, "x", -1, -1, NULL, "note", &err),
                 HM_OK);
    CHECK_INT_EQ(hm_store_history_append(st, id, T0 + 3000, "Đội Tân An Hội 1", -1, -1,
                                         "contact details viewed", "reveal", &err),
                 HM_OK);

    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_history_list(st, id, collect_hist, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 4);
    CHECK_INT_EQ(s.h[0].at, T0);
    CHECK_STR_EQ(s.h[0].actor, "resident");
    CHECK_INT_EQ(s.h[0].from, -1);
    CHECK_INT_EQ(s.h[0].to, HM_ST_NEW);
    CHECK_STR_EQ(s.notes[0], "(null)");
    CHECK_STR_EQ(s.h[0].kind, "status");
    CHECK_STR_EQ(s.h[1].actor, "Đội Tân An Hội 1");
    CHECK_INT_EQ(s.h[1].from, HM_ST_NEW);
    CHECK_INT_EQ(s.h[1].to, HM_ST_ASSIGNED);
    CHECK_STR_EQ(s.notes[1], "đang tới");
    CHECK_INT_EQ(s.h[2].from, -1);
    CHECK_INT_EQ(s.h[2].to, -1);
    CHECK_STR_EQ(s.h[2].kind, "note");
    CHECK_STR_EQ(s.h[3].kind, "reveal");

    /* Reveals: once per viewer and window. */
    CHECK_INT_EQ(hm_store_reveal_seen(st, id, "Đội Tân An Hội 1", T0, &seen, &err), HM_OK);
    CHECK(seen);
    CHECK_INT_EQ(hm_store_reveal_seen(st, id, "Đội Tân An Hội 1", T0 + 3001, &seen, &err), HM_OK);
    CHECK(!seen);
    CHECK_INT_EQ(hm_store_reveal_seen(st, id, "Đội khác", T0, &seen, &err), HM_OK);
    CHECK(!seen);
    CHECK_INT_EQ(hm_store_reveal_seen(st, other, "Đội Tân An Hội 1", T0, &seen, &err), HM_OK);
    CHECK(!seen);
    /* A status entry by the same actor is no reveal. */
    CHECK_INT_EQ(hm_store_reveal_seen(st, id, "resident", 0, &seen, &err), HM_OK);
    CHECK(!seen);

    /* Append-only: UPDATE and DELETE are refused by the database itself. */
    CHECK(plain_exec("UPDATE history SET note = 'rewritten'", msg, sizeof msg) == 1);
    CHECK(strstr(msg, "append-only") != NULL);
    CHECK(plain_exec("DELETE FROM history", msg, sizeof msg) == 1);
    CHECK(strstr(msg, "append-only") != NULL);
    CHECK(plain_exec("DELETE FROM history WHERE id = 1", msg, sizeof msg) == 1);
    /* The one exception, for purge (issue 11): a note may become NULL, with nothing else. */
    CHECK(plain_exec("UPDATE history SET note = NULL, actor = 'x' WHERE note IS NOT NULL", msg,
                     sizeof msg) == 1);
    CHECK(plain_exec("UPDATE history SET note = '' WHERE note IS NOT NULL", msg, sizeof msg) == 1);
    CHECK(plain_exec("UPDATE history SET kind = 'purge'", msg, sizeof msg) == 1);
    /* Values may only become NULL too, and what an entry changed and whether it is contact
     * data stay. */
    CHECK(plain_exec("UPDATE history SET note = NULL, new_value = 'rewritten'", msg, sizeof msg) ==
          1);
    CHECK(plain_exec("UPDATE history SET note = NULL, field = 'name'", msg, sizeof msg) == 1);
    CHECK(plain_exec("UPDATE history SET note = NULL, contact = NOT contact", msg, sizeof msg) ==
          1);
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_history_list(st, id, collect_hist, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 4);
    CHECK_STR_EQ(s.notes[1], "đang tới");
}

/* ---- teams ----------------------------------------------------------------------------------- */

typedef struct team_seen {
    int n;
    int64_t ids[16];
} team_seen;

static int collect_team(void *ctx, const hm_team *t)
{
    team_seen *s = ctx;
    if (s->n < 16)
        s->ids[s->n] = t->id;
    s->n++;
    return 0;
}

static void test_teams(hm_store *st)
{
    hm_error err = {0};
    hm_team a, b, got;
    uint8_t ha[32], hb[32], hc[32];
    team_seen s;

    hm_sha256("token-a", 7, ha);
    hm_sha256("token-b", 7, hb);
    hm_sha256("token-c", 7, hc);
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "Đội xuồng Bình Mỹ");
    a.role = HM_ROLE_VOLUNTEER;
    a.status = HM_TEAM_AVAILABLE;
    snprintf(a.capabilities, sizeof a.capabilities, "[\"boat\",\"medical\"]");
    a.created_at = T0;
    CHECK_INT_EQ(hm_store_team_insert(st, &a, ha, &err), HM_OK);
    CHECK(a.id > 0);
    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "Command");
    b.role = HM_ROLE_COORDINATOR;
    b.created_at = T0 + 1;
    CHECK_INT_EQ(hm_store_team_insert(st, &b, hb, &err), HM_OK);
    CHECK(b.id > a.id);
    {
        /* A token hash belongs to one team. */
        hm_team c = b;
        hm_error e = {0};
        CHECK(hm_store_team_insert(st, &c, hb, &e) != HM_OK);
    }

    CHECK_INT_EQ(hm_store_team_by_token(st, ha, &got, &err), HM_OK);
    CHECK_INT_EQ(got.id, a.id);
    CHECK_STR_EQ(got.name, "Đội xuồng Bình Mỹ");
    CHECK_INT_EQ(got.role, HM_ROLE_VOLUNTEER);
    CHECK_INT_EQ(got.status, HM_TEAM_AVAILABLE);
    CHECK_STR_EQ(got.capabilities, "[\"boat\",\"medical\"]");
    CHECK(!got.has_pos);
    CHECK(!got.disabled);
    CHECK_INT_EQ(got.created_at, T0);
    CHECK_INT_EQ(hm_store_team_get(st, b.id, &got, &err), HM_OK);
    CHECK_STR_EQ(got.capabilities, "[]");
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_by_token(st, hc, &got, &err), HM_E_UNAUTHORIZED);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_get(st, 999, &got, &err), HM_E_NOT_FOUND);
    CHECK_STR_EQ(err.field, "team_id");

    /* Position and status. */
    CHECK_INT_EQ(hm_store_team_set_position(st, a.id, 106.61, 10.98, T0 + 5000, &err), HM_OK);
    CHECK_INT_EQ(hm_store_team_set_status(st, a.id, HM_TEAM_BUSY, &err), HM_OK);
    CHECK_INT_EQ(hm_store_team_get(st, a.id, &got, &err), HM_OK);
    CHECK(got.has_pos && got.lon == 106.61 && got.lat == 10.98);
    CHECK_INT_EQ(got.pos_at, T0 + 5000);
    CHECK_INT_EQ(got.status, HM_TEAM_BUSY);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_set_position(st, 999, 1, 1, 1, &err), HM_E_NOT_FOUND);
    CHECK_INT_EQ(hm_store_team_set_status(st, 999, HM_TEAM_OFF, &err), HM_E_NOT_FOUND);
    CHECK_INT_EQ(hm_store_team_set_disabled(st, 999, true, &err), HM_E_NOT_FOUND);
    CHECK_INT_EQ(hm_store_team_set_token(st, 999, hc, &err), HM_E_NOT_FOUND);

    /* Rotation: the old token stops working, the new one works. */
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_set_token(st, b.id, hc, &err), HM_OK);
    CHECK_INT_EQ(hm_store_team_by_token(st, hb, &got, &err), HM_E_UNAUTHORIZED);
    CHECK_INT_EQ(hm_store_team_by_token(st, hc, &got, &err), HM_OK);
    CHECK_INT_EQ(got.id, b.id);

    /* Disabling: the token stops working; listed only with include_disabled. */
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_team_list(st, false, collect_team, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 2);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_set_disabled(st, a.id, true, &err), HM_OK);
    CHECK_INT_EQ(hm_store_team_by_token(st, ha, &got, &err), HM_E_UNAUTHORIZED);
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_team_list(st, false, collect_team, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 1);
    CHECK_INT_EQ(s.ids[0], b.id);
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_team_list(st, true, collect_team, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 2);
    CHECK(s.ids[0] == a.id && s.ids[1] == b.id);
    CHECK_INT_EQ(hm_store_team_get(st, a.id, &got, &err), HM_OK);
    CHECK(got.disabled);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_set_disabled(st, a.id, false, &err), HM_OK);
    CHECK_INT_EQ(hm_store_team_by_token(st, ha, &got, &err), HM_OK);
}

/* ---- transactions, purge, backup, reopen
 * --------------------------------------------------------- */

static int count_requests(hm_store *st)
{
    ids all = {{0}, 0, 0};
    hm_request_filter f = any();
    hm_store_request_list(st, &f, collect_id, &all, NULL);
    return (int)all.n;
}

static int count_one(void *ctx, const hm_request *r)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

static int count_matching(hm_store *st, const hm_request_filter *f)
{
    int n = 0;
    if (hm_store_request_list(st, f, count_one, &n, NULL) != HM_OK)
        return -1;
    return n;
}

/* Box queries read the grid cells (1/1024 degree) that a box covers: points exactly on cell
 * borders, on the box's edges, in the cells just outside, at the ends of the grid, and boxes
 * too tall for cell ranges all give what the plain comparison of lon and lat gives. */
static void test_bbox_cells(void)
{
    enum { NPT = 15 * 15 };
    char path[512];
    hm_error err = {0};
    hm_store *st;
    static double lon[NPT + 4], lat[NPT + 4];
    int n = 0;
    const double c = 1.0 / 1024;
    const double base_lon = 106.5, base_lat = 11.0; /* both on cell borders */

    if (!be->fresh("cells", path, sizeof path)) {
        CHECK(!"a database for the cells");
        return;
    }
    st = hm_store_open(path, HM_STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    /* A lattice of half cells around a cell corner, then the corners of the grid. */
    for (int i = 0; i < 15; i++)
        for (int j = 0; j < 15; j++) {
            lon[n] = base_lon + (i - 7) * c / 2;
            lat[n] = base_lat + (j - 7) * c / 2;
            n++;
        }
    lon[n] = -180, lat[n++] = -90;
    lon[n] = 180, lat[n++] = 90;
    lon[n] = -180, lat[n++] = 90;
    lon[n] = 180, lat[n++] = -90;
    for (int i = 0; i < n; i++) {
        hm_request r;
        uint8_t h[32] = {0};
        memset(&r, 0, sizeof r);
        snprintf(r.code, sizeof r.code, "CC-%06d", i);
        r.lon = lon[i];
        r.lat = lat[i];
        r.people = 1;
        r.created_at = T0;
        memcpy(h, &i, sizeof i);
        CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &err), HM_OK);
    }
    CHECK_INT_EQ(hm_store_commit(st, &err), HM_OK);
    {
        /* Boxes with edges on the lattice (so on cell borders and half cells), degenerate
         * boxes (one point), and boxes taller than the cell ranges take. */
        double boxes[][4] = {
            {base_lon, base_lat, base_lon, base_lat},
            {base_lon - c, base_lat - c, base_lon, base_lat},
            {base_lon, base_lat, base_lon + c, base_lat + c},
            {base_lon - c / 2, base_lat - 1.5 * c, base_lon + c / 2, base_lat + c / 2},
            {base_lon - 3.5 * c, base_lat - 3.5 * c, base_lon + 3.5 * c, base_lat + 3.5 * c},
            {base_lon + 1e-12, base_lat + 1e-12, base_lon + c - 1e-12, base_lat + c - 1e-12},
            {base_lon - 0.5, base_lat - 0.5, base_lon + 0.5, base_lat + 0.5},
            {base_lon - 2, base_lat - 2, base_lon + 2, base_lat + 2},
            {-180, -90, 180, 90},
            {-180, -90, -180, -90},
            {180, 90, 180, 90},
            {-200, -100, -179.99, -89.99},
        };
        for (size_t b = 0; b < N(boxes); b++) {
            hm_request_filter f = any();
            int want = 0;
            f.has_bbox = true;
            memcpy(f.bbox, boxes[b], sizeof f.bbox);
            for (int i = 0; i < n; i++)
                want += lon[i] >= boxes[b][0] && lon[i] <= boxes[b][2] && lat[i] >= boxes[b][1] &&
                        lat[i] <= boxes[b][3];
            if (count_matching(st, &f) != want)
                fprintf(stderr, "  box %zu: got %d, want %d\n", b, count_matching(st, &f), want);
            CHECK_INT_EQ(count_matching(st, &f), want);
        }
    }
    hm_store_close(st);
    be->drop(path);
}

/* hm_store_request_create(): a creation in one step with its first history entry; or, when
 * the phone has an open request of the same category nearby, the candidates in id order and
 * nothing stored; nothing either when the code is in use. */
typedef struct cands {
    int n, stop_after;
    char codes[4][16];
} cands;

static int collect_cand(void *ctx, const hm_request *r)
{
    cands *c = ctx;
    if (c->n < 4)
        snprintf(c->codes[c->n], sizeof c->codes[0], "%s", r->code);
    c->n++;
    return c->n >= c->stop_after;
}

/* Create `r` (code `code`, `dlat` degrees north of `base`) in its own transaction. */
static int create_one(hm_store *st, hm_request *r, const hm_request *base, const char *code,
                      double dlat, int category, const hm_dup_query *dq, cands *c)
{
    hm_error err = {0};
    hm_history first;
    uint8_t h[32] = {7};
    int rc;

    memset(&first, 0, sizeof first);
    first.at = base->created_at;
    snprintf(first.actor, sizeof first.actor, "hotline");
    first.from = -1;
    first.to = HM_ST_NEW;
    snprintf(first.kind, sizeof first.kind, "status");
    snprintf(r->code, sizeof r->code, "%s", code);
    r->lat = base->lat + dlat;
    r->category = category;
    memset(c, 0, sizeof *c);
    c->stop_after = 10;
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    rc = hm_store_request_create(st, r, h, &first, dq, collect_cand, c, &err);
    if (rc == HM_OK)
        CHECK_INT_EQ(hm_store_commit(st, &err), HM_OK);
    else
        hm_store_rollback(st);
    return rc;
}

static void test_create_in_one_step(hm_store *st)
{
    hm_error err = {0};
    hm_request a, b, got;
    hm_dup_query dq;
    hist_seen s;
    cands c;
    uint8_t th[32];
    int before = count_requests(st);

    fill_request(300, &a);
    free(a.phone);
    a.phone = hm_xstrdup("+84911000300");
    a.status = HM_ST_NEW;
    dq = (hm_dup_query){a.phone, a.created_at - 24 * 3600000LL, 200.0};
    CHECK_INT_EQ(create_one(st, &a, &a, "CC-QQQQQ1", 0, a.category, &dq, &c), HM_OK);
    CHECK(a.id > 0);
    CHECK_INT_EQ(c.n, 0);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-QQQQQ1", &got, th, &err), HM_OK);
    CHECK(same_request(&a, &got));
    CHECK_INT_EQ(th[0], 7);
    hm_request_clear(&got);
    memset(&s, 0, sizeof s);
    CHECK_INT_EQ(hm_store_history_list(st, a.id, collect_hist, &s, &err), HM_OK);
    CHECK_INT_EQ(s.n, 1);
    CHECK_STR_EQ(s.h[0].actor, "hotline");
    CHECK_STR_EQ(s.h[0].kind, "status");
    CHECK_INT_EQ(s.h[0].from, -1);
    CHECK_INT_EQ(s.h[0].to, HM_ST_NEW);
    CHECK_INT_EQ(s.h[0].at, a.created_at);

    /* 150 m north, same phone and category: a candidate, nothing stored. */
    fill_request(300, &b);
    free(b.phone);
    b.phone = hm_xstrdup(a.phone);
    CHECK_INT_EQ(create_one(st, &b, &a, "CC-QQQQQ2", 0.00136, a.category, &dq, &c), 1);
    CHECK_INT_EQ(c.n, 1);
    CHECK_STR_EQ(c.codes[0], "CC-QQQQQ1");
    CHECK_INT_EQ(hm_store_request_get(st, "CC-QQQQQ2", &got, NULL, NULL), HM_E_NOT_FOUND);
    /* 250 m north, another category, or no check: created. */
    CHECK_INT_EQ(create_one(st, &b, &a, "CC-QQQQQ2", 0.00226, a.category, &dq, &c), HM_OK);
    CHECK_INT_EQ(c.n, 0);
    CHECK_INT_EQ(
        create_one(st, &b, &a, "CC-QQQQQ3", 0.00136, (a.category + 1) % HM_CAT__COUNT, &dq, &c),
        HM_OK);
    CHECK_INT_EQ(create_one(st, &b, &a, "CC-QQQQQ4", 0.0001, a.category, NULL, &c), HM_OK);
    /* Two candidates now (QQQQQ1 and QQQQQ4), in id order; the callback stops the walk. */
    CHECK_INT_EQ(create_one(st, &b, &a, "CC-QQQQQ5", -0.0005, a.category, &dq, &c), 1);
    CHECK_INT_EQ(c.n, 2);
    CHECK_STR_EQ(c.codes[0], "CC-QQQQQ1");
    CHECK_STR_EQ(c.codes[1], "CC-QQQQQ4");
    {
        hm_error e = {0};
        hm_history first;
        uint8_t h[32] = {7};
        memset(&first, 0, sizeof first);
        snprintf(first.actor, sizeof first.actor, "x");
        snprintf(first.kind, sizeof first.kind, "status");
        memset(&c, 0, sizeof c);
        c.stop_after = 1;
        CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
        CHECK_INT_EQ(hm_store_request_create(st, &b, h, &first, &dq, collect_cand, &c, &e), 1);
        hm_store_rollback(st);
        CHECK_INT_EQ(c.n, 1);
        /* A code in use: nothing stored. */
        CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
        snprintf(b.code, sizeof b.code, "CC-QQQQQ1");
        b.lat += 1.0;
        CHECK_INT_EQ(hm_store_request_create(st, &b, h, &first, NULL, NULL, NULL, &e), HM_E_IN_USE);
        hm_store_rollback(st);
    }
    /* A closed request is no candidate. */
    CHECK_INT_EQ(hm_store_request_set_status(st, a.id, HM_ST_NEW, HM_ST_RESOLVED, 0, NULL,
                                             a.created_at + 1000, &err),
                 HM_OK);
    memset(&c, 0, sizeof c);
    CHECK_INT_EQ(create_one(st, &b, &a, "CC-QQQQQ6", -0.0005, a.category, &dq, &c), 1);
    CHECK_INT_EQ(c.n, 1);
    CHECK_STR_EQ(c.codes[0], "CC-QQQQQ4");
    CHECK_INT_EQ(hm_store_request_set_status(st, a.id, HM_ST_RESOLVED, HM_ST_NEW, 0, NULL,
                                             a.created_at, &err),
                 HM_OK);
    CHECK_INT_EQ(count_requests(st), before + 4);
    hm_request_clear(&a);
    hm_request_clear(&b);
}

static void test_transactions(hm_store *st)
{
    hm_error err = {0};
    hm_request r, got;
    uint8_t h[32] = {1};
    int before = count_requests(st);

    fill_request(100, &r);
    snprintf(r.code, sizeof r.code, "CC-TTTTTT");
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &err), HM_OK);
    hm_store_rollback(st);
    CHECK_INT_EQ(count_requests(st), before);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-TTTTTT", &got, NULL, NULL), HM_E_NOT_FOUND);

    /* A savepoint undone inside a committed transaction. */
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &err), HM_OK);
    hm_store_rollback_to(st);
    snprintf(r.code, sizeof r.code, "CC-TTTTTV");
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &err), HM_OK);
    CHECK_INT_EQ(hm_store_release(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_commit(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-TTTTTT", &got, NULL, NULL), HM_E_NOT_FOUND);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-TTTTTV", &got, NULL, &err), HM_OK);
    hm_request_clear(&got);
    CHECK_INT_EQ(count_requests(st), before + 1);

    /* The writer's batch: jobs in savepoints, some with no statement at all, one that fails
     * half-way (its first write undone with it), the others kept. */
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK); /* empty job */
    CHECK_INT_EQ(hm_store_release(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK);
    snprintf(r.code, sizeof r.code, "CC-TTTTTX");
    CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &err), HM_OK);
    CHECK_INT_EQ(hm_store_release(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK); /* empty job, undone */
    hm_store_rollback_to(st);
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK); /* fails after a write */
    snprintf(r.code, sizeof r.code, "CC-TTTTTY");
    CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &err), HM_OK);
    {
        hm_error e = {0};
        CHECK(hm_store_history_append(st, 987654321, T0, "x", -1, -1, NULL, "note", &e) !=
              HM_OK); /* no such request */
    }
    hm_store_rollback_to(st);
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK);
    snprintf(r.code, sizeof r.code, "CC-TTTTTZ");
    CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &err), HM_OK);
    {
        /* A code in use is refused inside a job without failing the job. */
        hm_error e = {0};
        CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &e), HM_E_IN_USE);
    }
    CHECK_INT_EQ(hm_store_history_append(st, r.id, T0, "x", -1, -1, NULL, "note", &err), HM_OK);
    CHECK_INT_EQ(hm_store_release(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_commit(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-TTTTTX", &got, NULL, &err), HM_OK);
    hm_request_clear(&got);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-TTTTTY", &got, NULL, NULL), HM_E_NOT_FOUND);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-TTTTTZ", &got, NULL, &err), HM_OK);
    hm_request_clear(&got);
    CHECK_INT_EQ(count_requests(st), before + 3);
    hm_request_clear(&r);
}

/* The old and new values of each history entry, as "old>new" ("-" for NULL). */
typedef struct values_seen {
    int n;
    char v[16][80];
} values_seen;

static int collect_values(void *ctx, const hm_history *h)
{
    values_seen *s = ctx;
    if (s->n < 16)
        snprintf(s->v[s->n], sizeof s->v[0], "%s>%s", h->old_value ? h->old_value : "-",
                 h->new_value ? h->new_value : "-");
    s->n++;
    return 0;
}

static void test_purge(hm_store *st)
{
    hm_error err = {0};
    hm_request got;
    int64_t n = -1;
    /* reqs[2] (duplicate) and reqs[3] (resolved) are closed; reqs[1] is in progress. */
    CHECK_INT_EQ(hm_store_request_purge(st, T0 - 1, &n, &err), HM_OK);
    CHECK_INT_EQ(n, 0); /* nothing that old */
    CHECK_INT_EQ(hm_store_request_purge(st, T0 + 48 * 3600000LL, &n, &err), HM_OK);
    CHECK_INT_EQ(n, 2);
    for (int i = 1; i <= 3; i++) {
        CHECK_INT_EQ(hm_store_request_get_id(st, reqs[i].r.id, &got, &err), HM_OK);
        if (i == 1) {
            CHECK_STR_EQ(got.phone, reqs[1].r.phone);
            CHECK_STR_EQ(got.name, reqs[1].r.name);
        } else {
            CHECK(!got.phone && !got.name && !got.note && !got.address);
            CHECK_STR_EQ(got.code, reqs[i].r.code); /* the rest stays */
            CHECK_INT_EQ(got.status, reqs[i].r.status);
        }
        hm_request_clear(&got);
    }
    CHECK_INT_EQ(hm_store_request_purge(st, T0 + 48 * 3600000LL, &n, &err), HM_OK);
    CHECK_INT_EQ(n, 0);

    /* The notes of a purged request's history go too, recorded by one "purge" entry (issue 11):
     * a closed request whose columns were erased before but whose history still has notes. */
    {
        hist_seen s;
        int64_t id = reqs[3].r.id;
        hm_history e;
        values_seen v;
        CHECK_INT_EQ(hm_store_history_append(st, id, T0, "Đội 1", -1, -1,
                                             "đã gọi 0909 123 456, nhà số 12", "note", &err),
                     HM_OK);
        /* An edit of a contact field keeps the old and the new number (issue 14): both go; an
         * edit of the category is no contact data and stays. */
        memset(&e, 0, sizeof e);
        e.at = T0;
        e.from = e.to = -1;
        snprintf(e.actor, sizeof e.actor, "Tổng đài 1");
        snprintf(e.kind, sizeof e.kind, "edit");
        snprintf(e.field, sizeof e.field, "phone");
        e.old_value = "0909123456";
        e.new_value = "0918765432";
        e.contact = true;
        CHECK_INT_EQ(hm_store_history_add(st, id, &e, &err), HM_OK);
        snprintf(e.field, sizeof e.field, "category");
        e.old_value = "food";
        e.new_value = "water";
        e.contact = false;
        CHECK_INT_EQ(hm_store_history_add(st, id, &e, &err), HM_OK);
        CHECK_INT_EQ(hm_store_request_purge(st, T0 + 48 * 3600000LL, &n, &err), HM_OK);
        CHECK_INT_EQ(n, 1);
        memset(&v, 0, sizeof v);
        CHECK_INT_EQ(hm_store_history_list(st, id, collect_values, &v, &err), HM_OK);
        CHECK(v.n >= 4 && v.n <= 16);
        if (v.n >= 4 && v.n <= 16) {
            CHECK_STR_EQ(v.v[v.n - 3], "->-");        /* the phone edit */
            CHECK_STR_EQ(v.v[v.n - 2], "food>water"); /* the category edit */
        }
        memset(&s, 0, sizeof s);
        CHECK_INT_EQ(hm_store_history_list(st, id, collect_hist, &s, &err), HM_OK);
        CHECK(s.n >= 2);
        for (int i = 0; i < s.n && i < 16; i++)
            if (strcmp(s.h[i].kind, "purge") != 0)
                CHECK_STR_EQ(s.notes[i], "(null)");
        CHECK_STR_EQ(s.h[s.n - 1].kind, "purge");
        CHECK_STR_EQ(s.h[s.n - 1].actor, "system");
        CHECK_INT_EQ(hm_store_request_purge(st, T0 + 48 * 3600000LL, &n, &err), HM_OK);
        CHECK_INT_EQ(n, 0); /* its own entry is not a note to erase */
    }
}

/* The audit log (issue 11): entries in id order, filtered by time, team, kind and cursor. */
static int collect_audit(void *ctx, const hm_audit *a)
{
    hm_audit *out = ctx;
    int i = 0;
    while (out[i].id)
        i++;
    if (i < 7)
        out[i] = *a;
    return 0;
}

static void test_audit(hm_store *st)
{
    static const struct {
        const char *kind, *actor;
        int64_t actor_team, team, rows, at;
        const char *detail;
    } rows[] = {
        {"export", "command line (user root)", 0, 0, 1000, T0, "csv"},
        {"reveal", "Đội 1", 7, 7, 1, T0 + 1000, "CC-000001"},
        {"team", "Trung tâm", 2, 7, 1, T0 + 2000, "disable"},
    };
    hm_audit got[8];
    hm_audit_filter f;
    hm_error err = {0};

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hm_audit a;
        memset(&a, 0, sizeof a);
        snprintf(a.kind, sizeof a.kind, "%s", rows[i].kind);
        snprintf(a.actor, sizeof a.actor, "%s", rows[i].actor);
        a.actor_team_id = rows[i].actor_team;
        a.team_id = rows[i].team;
        a.rows = rows[i].rows;
        a.at = rows[i].at;
        snprintf(a.detail, sizeof a.detail, "%s", rows[i].detail);
        CHECK_INT_EQ(hm_store_audit_add(st, &a, &err), HM_OK);
        CHECK(a.id > 0);
    }
    memset(&f, 0, sizeof f);
    memset(got, 0, sizeof got);
    CHECK_INT_EQ(hm_store_audit_list(st, &f, collect_audit, got, &err), HM_OK);
    CHECK_STR_EQ(got[0].kind, "export");
    CHECK_INT_EQ(got[0].rows, 1000);
    CHECK_INT_EQ(got[0].team_id, 0);
    CHECK_STR_EQ(got[1].actor, "Đội 1");
    CHECK_STR_EQ(got[2].detail, "disable");
    CHECK_INT_EQ(got[2].actor_team_id, 2);
    CHECK_INT_EQ(got[3].id, 0);
    f.team_id = 7;
    memset(got, 0, sizeof got);
    CHECK_INT_EQ(hm_store_audit_list(st, &f, collect_audit, got, &err), HM_OK);
    CHECK_STR_EQ(got[0].kind, "reveal");
    CHECK_STR_EQ(got[1].kind, "team");
    CHECK_INT_EQ(got[2].id, 0);
    f.kind = "team";
    memset(got, 0, sizeof got);
    CHECK_INT_EQ(hm_store_audit_list(st, &f, collect_audit, got, &err), HM_OK);
    CHECK_STR_EQ(got[0].kind, "team");
    CHECK_INT_EQ(got[1].id, 0);
    memset(&f, 0, sizeof f);
    f.since_ms = T0 + 500;
    f.limit = 1;
    memset(got, 0, sizeof got);
    CHECK_INT_EQ(hm_store_audit_list(st, &f, collect_audit, got, &err), HM_OK);
    CHECK_STR_EQ(got[0].kind, "reveal");
    CHECK_INT_EQ(got[1].id, 0);
    f.after_id = got[0].id;
    memset(got, 0, sizeof got);
    CHECK_INT_EQ(hm_store_audit_list(st, &f, collect_audit, got, &err), HM_OK);
    CHECK_STR_EQ(got[0].kind, "team");
}

typedef struct last_change {
    hm_change last;
    int n;
} last_change;

static int keep_last_change(void *ctx, const hm_change *c)
{
    last_change *s = ctx;
    s->last = *c;
    s->n++;
    return 0;
}

static int count_relief(void *ctx, const hm_relief *p)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

/* Issue 19: the reporter and the pasted text round-trip as contact data and purge with it;
 * "safe" is kept until the next status move; relief points; the change log keeps what a relief
 * change was and whether an updated request was closed as safe. */
static void test_flood_fields(hm_store *st)
{
    hm_error err = {0};
    hm_request r, got;
    hm_relief p, q;
    last_change seen = {0};
    int64_t last = 0, n = 0;
    int count = 0;

    fill_request(90, &r);
    r.precision = HM_PREC_LINK;
    r.reporter_name = hm_xstrdup("Chị Lan");
    r.reporter_phone = hm_xstrdup("+84912000111");
    r.location_text = hm_xstrdup("https://www.google.com/maps?q=10.99,106.49 (nhà bà Tư)");
    CHECK_INT_EQ(hm_store_request_insert(st, &r, reqs[0].hash, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_get_id(st, r.id, &got, &err), HM_OK);
    CHECK_STR_EQ(got.reporter_name, "Chị Lan");
    CHECK_STR_EQ(got.reporter_phone, "+84912000111");
    CHECK_STR_EQ(got.location_text, r.location_text);
    CHECK_INT_EQ(got.precision, HM_PREC_LINK);
    CHECK(got.safe_at == 0);
    hm_request_clear(&got);

    /* Safe: set after the move to cancelled; the next move clears it. */
    CHECK_INT_EQ(
        hm_store_request_set_status(st, r.id, HM_ST_NEW, HM_ST_CANCELLED, 0, NULL, T0 + 1000, &err),
        HM_OK);
    CHECK_INT_EQ(hm_store_request_set_safe(st, r.id, T0 + 1000, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_get_id(st, r.id, &got, &err), HM_OK);
    CHECK(got.safe_at == T0 + 1000);
    hm_request_clear(&got);
    CHECK_INT_EQ(
        hm_store_request_set_status(st, r.id, HM_ST_CANCELLED, HM_ST_NEW, 0, NULL, T0 + 2000, &err),
        HM_OK);
    CHECK_INT_EQ(hm_store_request_get_id(st, r.id, &got, &err), HM_OK);
    CHECK(got.safe_at == 0);
    hm_request_clear(&got);
    CHECK_INT_EQ(hm_store_request_set_safe(st, 999999, T0, NULL), HM_E_NOT_FOUND);

    /* Purge erases the reporter and the pasted text with the other contact data. */
    CHECK_INT_EQ(
        hm_store_request_set_status(st, r.id, HM_ST_NEW, HM_ST_CANCELLED, 0, NULL, T0 + 3000, &err),
        HM_OK);
    CHECK_INT_EQ(hm_store_request_purge(st, T0 + 48 * 3600000LL, &n, &err), HM_OK);
    CHECK_INT_EQ(n, 1);
    CHECK_INT_EQ(hm_store_request_get_id(st, r.id, &got, &err), HM_OK);
    CHECK(!got.reporter_name && !got.reporter_phone && !got.location_text && !got.phone);
    CHECK_INT_EQ(got.precision, HM_PREC_LINK);
    hm_request_clear(&got);
    hm_request_clear(&r);

    /* Relief points. */
    memset(&p, 0, sizeof p);
    p.kind = HM_RELIEF_BOAT;
    p.status = HM_RELIEF_OPEN;
    snprintf(p.name, sizeof p.name, "Ghe ông Sáu");
    snprintf(p.hours, sizeof p.hours, "6:00-18:00");
    p.capacity = -1;
    p.lon = 106.5;
    p.lat = 11.0;
    p.created_at = p.updated_at = T0;
    CHECK_INT_EQ(hm_store_relief_insert(st, &p, &err), HM_OK);
    CHECK(p.id > 0);
    CHECK_INT_EQ(hm_store_relief_get(st, p.id, &q, &err), HM_OK);
    CHECK_STR_EQ(q.name, "Ghe ông Sáu");
    CHECK_STR_EQ(q.address, "");
    CHECK_STR_EQ(q.hours, "6:00-18:00");
    CHECK_INT_EQ(q.capacity, -1);
    CHECK_INT_EQ(q.kind, HM_RELIEF_BOAT);
    CHECK(q.lon == 106.5 && q.lat == 11.0 && q.created_at == T0);
    p.status = HM_RELIEF_FULL;
    p.capacity = 12;
    p.updated_at = T0 + 5;
    CHECK_INT_EQ(hm_store_relief_update(st, &p, &err), HM_OK);
    CHECK_INT_EQ(hm_store_relief_get(st, p.id, &q, &err), HM_OK);
    CHECK_INT_EQ(q.status, HM_RELIEF_FULL);
    CHECK_INT_EQ(q.capacity, 12);
    CHECK(q.updated_at == T0 + 5 && q.created_at == T0);
    CHECK_INT_EQ(hm_store_relief_list(st, count_relief, &count, &err), HM_OK);
    CHECK_INT_EQ(count, 1);
    CHECK_INT_EQ(hm_store_relief_delete(st, p.id, &err), HM_OK);
    CHECK_INT_EQ(hm_store_relief_delete(st, p.id, NULL), HM_E_NOT_FOUND);
    CHECK_INT_EQ(hm_store_relief_update(st, &p, NULL), HM_E_NOT_FOUND);
    CHECK_INT_EQ(hm_store_relief_get(st, p.id, &q, NULL), HM_E_NOT_FOUND);

    /* The change log keeps a relief change's kind and an update's "safe" before. */
    CHECK_INT_EQ(hm_store_change_last(st, &last, &err), HM_OK);
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    {
        hm_change c;
        memset(&c, 0, sizeof c);
        c.kind = HM_CH_REQUEST_UPDATED;
        c.ref = 42;
        c.prev.status = HM_ST_CANCELLED;
        c.prev.safe = true;
        snprintf(c.prev.ward, sizeof c.prev.ward, "W1");
        CHECK_INT_EQ(hm_store_change_add(st, &c, &err), HM_OK);
        memset(&c, 0, sizeof c);
        c.kind = HM_CH_RELIEF;
        c.ref = 7;
        c.level = HM_RELIEF_DELETED;
        CHECK_INT_EQ(hm_store_change_add(st, &c, &err), HM_OK);
    }
    CHECK_INT_EQ(hm_store_commit(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_changes_since(st, last, 1, keep_last_change, &seen, &err), HM_OK);
    CHECK_INT_EQ(seen.n, 1);
    CHECK_INT_EQ(seen.last.kind, HM_CH_REQUEST_UPDATED);
    CHECK(seen.last.prev.safe);
    CHECK_INT_EQ(seen.last.prev.status, HM_ST_CANCELLED);
    CHECK_STR_EQ(seen.last.prev.ward, "W1");
    CHECK_INT_EQ(hm_store_changes_since(st, seen.last.id, 0, keep_last_change, &seen, &err), HM_OK);
    CHECK_INT_EQ(seen.n, 2);
    CHECK_INT_EQ(seen.last.kind, HM_CH_RELIEF);
    CHECK_INT_EQ(seen.last.ref, 7);
    CHECK_INT_EQ(seen.last.level, HM_RELIEF_DELETED);
}

static long plain_count(const char *sql)
{
    return be->count(db_path, sql);
}

/* ---- place names ---- */

typedef struct place_seen {
    int n;
    char names[8][64];
    char alts[8][128]; /* alternate names joined by '|' */
    char sources[8][16];
    char wards[8][16];
    int has_bbox[8];
} place_seen;

static int collect_place(void *ctx, const hm_place_row *p)
{
    place_seen *s = ctx;
    if (s->n >= 8)
        return 0;
    snprintf(s->names[s->n], sizeof s->names[0], "%s", p->name);
    snprintf(s->sources[s->n], sizeof s->sources[0], "%s", p->source);
    snprintf(s->wards[s->n], sizeof s->wards[0], "%s", p->ward_code ? p->ward_code : "-");
    s->alts[s->n][0] = '\0';
    for (size_t i = 0; i < p->n_alt; i++) {
        size_t len = strlen(s->alts[s->n]);
        snprintf(s->alts[s->n] + len, sizeof s->alts[0] - len, "%s%s", i ? "|" : "",
                 p->alt_names[i]);
    }
    s->has_bbox[s->n] = p->has_bbox;
    s->n++;
    return 0;
}

/* Places keep their names, alternate names, bbox and ward per source; a place with a code
 * replaces the one of the same source and code; one source is replaced without touching the
 * others; an unknown source changes nothing. */
static void test_places(hm_store *st)
{
    hm_error err = {0};
    const char *alts[] = {"Cho Thu Nghiem", "Chợ TN"};
    double bbox[4] = {106.50, 10.98, 106.51, 10.99};
    hm_place_row a = {0,    "import", "Chợ Thử Nghiệm", alts, 2,   "market",
                      "M1", 106.505,  10.985,           true, {0}, "27553"};
    hm_place_row b = {0,    "geonames", "Ấp Bốn", NULL,  0,   "section",
                      NULL, 106.45,     11.0,     false, {0}, NULL};
    hm_place_row bad = b;
    place_seen seen;

    memcpy(a.bbox, bbox, sizeof bbox);
    bad.source = "elsewhere";
    CHECK_INT_EQ(hm_store_place_put(st, &a, &err), HM_OK);
    CHECK_INT_EQ(hm_store_place_put(st, &b, &err), HM_OK);
    CHECK_INT_EQ(hm_store_place_put(st, &bad, &err), HM_E_INVALID_FIELD);
    /* The same code again: replaced, not added. */
    a.name = "Chợ Thử Nghiệm Mới";
    CHECK_INT_EQ(hm_store_place_put(st, &a, &err), HM_OK);

    memset(&seen, 0, sizeof seen);
    CHECK_INT_EQ(hm_store_place_list(st, NULL, collect_place, &seen, &err), HM_OK);
    CHECK_INT_EQ(seen.n, 2);
    CHECK_STR_EQ(seen.names[0], "Chợ Thử Nghiệm Mới");
    CHECK_STR_EQ(seen.alts[0], "Cho Thu Nghiem|Chợ TN");
    CHECK_STR_EQ(seen.wards[0], "27553");
    CHECK_INT_EQ(seen.has_bbox[0], 1);
    CHECK_STR_EQ(seen.names[1], "Ấp Bốn");
    CHECK_STR_EQ(seen.alts[1], "");
    CHECK_STR_EQ(seen.wards[1], "-");
    CHECK_INT_EQ(seen.has_bbox[1], 0);

    memset(&seen, 0, sizeof seen);
    CHECK_INT_EQ(hm_store_place_list(st, "geonames", collect_place, &seen, &err), HM_OK);
    CHECK_INT_EQ(seen.n, 1);
    CHECK_STR_EQ(seen.sources[0], "geonames");

    CHECK_INT_EQ(hm_store_place_delete_source(st, "import", &err), HM_OK);
    memset(&seen, 0, sizeof seen);
    CHECK_INT_EQ(hm_store_place_list(st, NULL, collect_place, &seen, &err), HM_OK);
    CHECK_INT_EQ(seen.n, 1);
    CHECK_STR_EQ(seen.names[0], "Ấp Bốn");
    CHECK_INT_EQ(hm_store_place_delete_source(st, "geonames", &err), HM_OK);
}

/* A file of schema version 2 (the R*Tree of request points that SpatiaLite made, the three
 * request indexes of version 1 that no query needs) opens as the latest version: the R*Tree and
 * those indexes gone, the grid-cell index there, rows intact, and a box query answered as
 * before. */
static void test_migration_2_to_3(void)
{
    hm_error err = {0};
    hm_store *st;
    char msg[256];
    long before = plain_count("SELECT count(*) FROM request");
    hm_request_filter f;
    int n_before = -1, n_after = -2;

    CHECK(before > 0);
    st = hm_store_open(db_path, 0, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    hm_request_filter_init(&f);
    f.has_bbox = true;
    f.bbox[0] = 106.40, f.bbox[1] = 10.90, f.bbox[2] = 106.60, f.bbox[3] = 11.10;
    n_before = count_matching(st, &f);
    hm_store_close(st);
    /* Version 2 as SpatiaLite left it: its R*Tree, registered in geometry_columns, and without
     * what versions 3 to 9 added, the latest first: version 9's (issue 17: the chain,
     * receipts, idempotency), then 8's (issue 11: the audit log, automatic duplicates, the
     * history trigger's exceptions). */
    CHECK_INT_EQ(plain_exec("DROP TRIGGER history_append_only_u; DROP TABLE idempotency; DROP "
                            "TABLE history_chain; DROP INDEX request_flag; ALTER TABLE request "
                            "DROP COLUMN delivered; ALTER TABLE request DROP COLUMN "
                            "delivered_vnd; ALTER TABLE request DROP COLUMN receipt; ALTER TABLE "
                            "request DROP COLUMN receipt_vnd; ALTER TABLE request DROP COLUMN "
                            "receipt_at; ALTER TABLE history DROP COLUMN note_sha256; "
                            "ALTER TABLE history DROP COLUMN old_sha256; ALTER TABLE history DROP "
                            "COLUMN new_sha256; ALTER TABLE history DROP COLUMN detail; "
                            "ALTER TABLE history DROP COLUMN hash; ALTER TABLE history DROP "
                            "COLUMN salt; DROP TABLE audit; ALTER TABLE "
                            "request DROP COLUMN auto_duplicate; CREATE TRIGGER "
                            "history_append_only_u BEFORE UPDATE ON history BEGIN SELECT "
                            "RAISE(ABORT, 'history is append-only'); END;",
                            msg, sizeof msg),
                 SQLITE_OK);
    /* Then version 7's (issue 14): views, history details, the team geometry. */
    CHECK_INT_EQ(plain_exec("DROP VIEW requests_view; DROP VIEW teams_view; DROP VIEW areas_view; "
                            "DELETE FROM views_geometry_columns; DROP INDEX request_duplicate; "
                            "ALTER TABLE history DROP COLUMN field; ALTER TABLE history DROP "
                            "COLUMN old_value; ALTER TABLE history DROP COLUMN new_value; ALTER "
                            "TABLE history DROP COLUMN contact; DROP TRIGGER IF EXISTS "
                            "ggi_team_geom; DROP TRIGGER IF EXISTS ggu_team_geom; DROP TRIGGER "
                            "IF EXISTS tmi_team_geom; DROP TRIGGER IF EXISTS tmu_team_geom; DROP "
                            "TRIGGER IF EXISTS tmd_team_geom; DELETE FROM geometry_columns WHERE "
                            "f_table_name = 'team'; ALTER TABLE team DROP COLUMN geom;",
                            msg, sizeof msg),
                 SQLITE_OK);
    CHECK_INT_EQ(plain_exec("DROP TABLE point; DELETE FROM geometry_columns WHERE f_table_name = "
                            "'point'; ALTER TABLE request DROP COLUMN reporter_name; ALTER TABLE "
                            "request DROP COLUMN reporter_phone; ALTER TABLE request DROP COLUMN "
                            "location_text; ALTER TABLE request DROP COLUMN safe_at;",
                            msg, sizeof msg),
                 SQLITE_OK);
    CHECK_INT_EQ(plain_exec("DROP TABLE change; DROP TABLE place; DELETE FROM geometry_columns "
                            "WHERE f_table_name = 'place'; DROP INDEX request_cell; CREATE "
                            "VIRTUAL TABLE "
                            "idx_request_geom USING "
                            "rtree(pkid, xmin, xmax, ymin, ymax); INSERT INTO idx_request_geom "
                            "SELECT id, lon, lon, lat, lat FROM request; UPDATE geometry_columns "
                            "SET spatial_index_enabled = 1 WHERE f_table_name = 'request';"
                            "CREATE INDEX request_former ON request(former_ward_code, status, "
                            "category); CREATE INDEX request_hamlet ON request(hamlet_code, "
                            "status, category); CREATE INDEX request_created ON "
                            "request(created_at); PRAGMA user_version = 2;",
                            msg, sizeof msg),
                 SQLITE_OK);
    st = hm_store_open(db_path, HM_STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT_EQ(hm_store_schema_version(st), 9);
    n_after = count_matching(st, &f);
    hm_store_close(st);
    CHECK(n_before > 0);
    CHECK_INT_EQ(n_after, n_before);
    CHECK(plain_count("SELECT count(*) FROM sqlite_master WHERE name IN ('request_former', "
                      "'request_hamlet', 'request_created', 'idx_request_geom')") == 0);
    CHECK(plain_count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                      "('request_status', 'request_phone', 'request_ward', 'request_team', "
                      "'request_cell')") == 5);
    CHECK(plain_count("SELECT spatial_index_enabled FROM geometry_columns WHERE f_table_name = "
                      "'request'") == 0);
    /* No trigger runs on an insert (SpatiaLite's came back with DisableSpatialIndex()). */
    CHECK(plain_count("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = "
                      "'request'") == 0);
    CHECK(plain_count("SELECT count(*) FROM request") == before);
    CHECK(plain_count("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") ==
          1);
}

/* ---- the change log ---------------------------------------------------------------------- */

typedef struct change_seen {
    int n;
    hm_change c[8];
} change_seen;

static int collect_change(void *ctx, const hm_change *c)
{
    change_seen *s = ctx;
    if (s->n < 8)
        s->c[s->n] = *c;
    s->n++;
    return 0;
}

/* Changes are committed with their transaction (a savepoint rolled back takes its own), get
 * increasing ids, read back with every field, and reach another connection. */
static void test_changes(hm_store *st)
{
    hm_error err = {0};
    hm_change a, u, x;
    const hm_change *done = NULL;
    change_seen seen;
    int64_t last = -1, before = -1;
    hm_store *other = hm_store_open(db_path, 0, &err);

    CHECK(other != NULL);
    CHECK_INT_EQ(hm_store_change_last(st, &before, &err), HM_OK);
    memset(&a, 0, sizeof a);
    a.kind = HM_CH_AREA;
    a.at = T0;
    a.level = HM_LEVEL_HAMLET;
    snprintf(a.code, sizeof a.code, "W1-H1");
    memset(&u, 0, sizeof u);
    u.kind = HM_CH_REQUEST_UPDATED;
    u.at = T0 + 1;
    u.ref = reqs[1].r.id;
    u.prev.status = HM_ST_ASSIGNED;
    u.prev.category = 3;
    u.prev.status_at = T0 + 5;
    u.prev.lon = 106.5;
    u.prev.lat = 10.25;
    snprintf(u.prev.ward, sizeof u.prev.ward, "W1");
    snprintf(u.prev.hamlet, sizeof u.prev.hamlet, "W1-H1");
    x = u;
    x.ref = 424242;

    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    CHECK_INT_EQ(hm_store_change_add(st, &a, &err), HM_OK);
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_change_add(st, &x, &err), HM_OK); /* undone below */
    hm_store_rollback_to(st);
    CHECK_INT_EQ(hm_store_savepoint(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_change_add(st, &u, &err), HM_OK);
    CHECK_INT_EQ(hm_store_release(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_commit(st, &err), HM_OK);
    CHECK_INT_EQ(hm_store_changes_done(st, &done), 2);
    if (done) {
        CHECK(done[0].id > before && done[1].id > done[0].id);
        CHECK_INT_EQ(done[1].ref, reqs[1].r.id);
    }
    CHECK_INT_EQ(hm_store_change_last(st, &last, &err), HM_OK);
    CHECK(done && last == done[1].id);

    memset(&seen, 0, sizeof seen);
    CHECK_INT_EQ(hm_store_changes_since(other ? other : st, before, 0, collect_change, &seen, &err),
                 HM_OK);
    CHECK_INT_EQ(seen.n, 2);
    CHECK_INT_EQ(seen.c[0].kind, HM_CH_AREA);
    CHECK_INT_EQ(seen.c[0].level, HM_LEVEL_HAMLET);
    CHECK_STR_EQ(seen.c[0].code, "W1-H1");
    CHECK_INT_EQ(seen.c[0].at, T0);
    CHECK_INT_EQ(seen.c[1].kind, HM_CH_REQUEST_UPDATED);
    CHECK_INT_EQ(seen.c[1].ref, reqs[1].r.id);
    CHECK_INT_EQ(seen.c[1].prev.status, HM_ST_ASSIGNED);
    CHECK_INT_EQ(seen.c[1].prev.category, 3);
    CHECK_INT_EQ(seen.c[1].prev.status_at, T0 + 5);
    CHECK(seen.c[1].prev.lon == 106.5 && seen.c[1].prev.lat == 10.25);
    CHECK_STR_EQ(seen.c[1].prev.ward, "W1");
    CHECK_STR_EQ(seen.c[1].prev.former_ward, "");
    CHECK_STR_EQ(seen.c[1].prev.hamlet, "W1-H1");
    CHECK(seen.c[1].request == NULL && seen.c[1].team == NULL);
    memset(&seen, 0, sizeof seen);
    CHECK_INT_EQ(hm_store_changes_since(st, before, 1, collect_change, &seen, &err), HM_OK);
    CHECK_INT_EQ(seen.n, 1);

    /* A rolled-back transaction leaves no change. */
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    CHECK_INT_EQ(hm_store_change_add(st, &x, &err), HM_OK);
    hm_store_rollback(st);
    CHECK_INT_EQ(hm_store_change_last(st, &before, &err), HM_OK);
    CHECK_INT_EQ(before, last);

    /* Another connection is told (or looks after the time-out) and then sees the change. */
    if (other) {
        int64_t seen_last = -1;
        CHECK_INT_EQ(hm_store_wait_changes(other, 0, &err), HM_OK); /* starts following */
        CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
        CHECK_INT_EQ(hm_store_change_add(st, &a, &err), HM_OK);
        CHECK_INT_EQ(hm_store_commit(st, &err), HM_OK);
        CHECK_INT_EQ(hm_store_wait_changes(other, 2000, &err), HM_OK);
        CHECK_INT_EQ(hm_store_change_last(other, &seen_last, &err), HM_OK);
        CHECK(seen_last > last);
        hm_store_close(other);
    }
}

/* Integrity check, and a second connection (read-only) to the same database. */
static void test_check_and_reopen(hm_store *st)
{
    hm_error err = {0};
    char msg[64] = "";
    hm_store *b;
    int n = count_requests(st);

    CHECK_INT_EQ(hm_store_check(st, msg, sizeof msg, &err), HM_OK);
    CHECK_STR_EQ(msg, "ok");
    b = hm_store_open(db_path, HM_STORE_READONLY, &err);
    CHECK(b != NULL);
    if (b) {
        CHECK_INT_EQ(count_requests(b), n);
        CHECK_INT_EQ(hm_store_schema_version(b), hm_store_schema_version(st));
        hm_store_close(b);
    }
}

/* SQLite: the online backup opens as the same database; a missing file is not created by an
 * open without HM_STORE_CREATE. */
static void test_sqlite_backup(hm_store *st)
{
    hm_error err = {0};
    char copy[160];
    hm_store *b;
    int n = count_requests(st);

    snprintf(copy, sizeof copy, "%s/backup.db", dir);
    CHECK_INT_EQ(hm_store_backup(st, copy, false, &err), HM_OK);
    b = hm_store_open(copy, 0, &err);
    CHECK(b != NULL);
    if (b) {
        CHECK_INT_EQ(count_requests(b), n);
        CHECK_INT_EQ(hm_store_schema_version(b), hm_store_schema_version(st));
        hm_store_close(b);
    }
    {
        char missing[160];
        hm_error e = {0};
        snprintf(missing, sizeof missing, "%s/missing.db", dir);
        CHECK(hm_store_open(missing, 0, &e) == NULL);
        CHECK(e.code != HM_OK);
        CHECK(access(missing, F_OK) != 0);
    }
}

/* ---- PostgreSQL only ---------------------------------------------------------------------- */

/* Backup is pg_dump's: refused, naming it. An empty database opened without HM_STORE_CREATE
 * is HM_E_NOT_FOUND and stays empty; one that holds another program's tables is refused
 * even with it, and nothing is added; an unreachable server is HM_E_UNAVAILABLE. */
static void test_pg_open_and_refusals(hm_store *st)
{
    hm_error err = {0};
    char where[512], msg[256];

    CHECK(hm_store_backup(st, "/tmp/never-written.db", false, &err) != HM_OK);
    CHECK(strstr(err.msg, "pg_dump") != NULL);
    CHECK(access("/tmp/never-written.db", F_OK) != 0);

    if (be->fresh("empty", where, sizeof where)) {
        hm_error e = {0};
        CHECK(hm_store_open(where, 0, &e) == NULL);
        CHECK_INT_EQ(e.code, HM_E_NOT_FOUND);
        CHECK_INT_EQ(be->count(where, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                      "n.oid = c.relnamespace WHERE n.nspname = 'public'"),
                     0);
        /* With HM_STORE_CREATE: PostGIS installed by helpmap, then the tables. */
        hm_error_clear(&e);
        hm_store *s2 = hm_store_open(where, HM_STORE_CREATE, &e);
        CHECK(s2 != NULL);
        if (!s2)
            fprintf(stderr, "  create: %s\n", e.msg);
        hm_store_close(s2);
        CHECK_INT_EQ(be->count(where, "SELECT count(*) FROM pg_extension WHERE extname = "
                                      "'postgis'"),
                     1);
        be->drop(where);
    }
    if (be->fresh("foreign", where, sizeof where)) {
        hm_error e = {0};
        CHECK_INT_EQ(
            be->exec(where, "CREATE TABLE customer(id integer, phone text)", msg, sizeof msg), 0);
        CHECK(hm_store_open(where, HM_STORE_CREATE, &e) == NULL);
        CHECK(strstr(e.msg, "not helpmap's") != NULL && strstr(e.msg, "customer") != NULL);
        CHECK_INT_EQ(be->count(where, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                      "n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
                                      "c.relkind = 'r'"),
                     1);
        be->drop(where);
    }
    {
        hm_error e = {0};
        CHECK(hm_store_open("postgresql://postgres@127.0.0.1:1/helpmap", 0, &e) == NULL);
        CHECK_INT_EQ(e.code, HM_E_UNAVAILABLE);
    }
    /* A user who may not install PostGIS, in a database of its own without it: refused,
     * saying what to ask the administrator for. */
    if (be->fresh("plain", where, sizeof where)) {
        char db[64], sql[256], plain[512];
        const char *host = strstr(where, "://") + 3, *at = strchr(host, '@');
        hm_error e = {0};
        db_of_uri(where, db, sizeof db);
        snprintf(sql, sizeof sql,
                 "DROP ROLE IF EXISTS hm_test_plain; CREATE ROLE hm_test_plain LOGIN; ALTER "
                 "DATABASE %s OWNER TO hm_test_plain",
                 db);
        CHECK_INT_EQ(pg_exec(pg_admin, sql, msg, sizeof msg), 0);
        if (at && at < host + strcspn(host, "/?"))
            host = at + 1;
        snprintf(plain, sizeof plain, "postgresql://hm_test_plain@%s", host);
        CHECK(hm_store_open(plain, HM_STORE_CREATE, &e) == NULL);
        CHECK(strstr(e.msg, "CREATE EXTENSION postgis") != NULL);
        CHECK_INT_EQ(be->count(where, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                      "n.oid = c.relnamespace WHERE n.nspname = 'public'"),
                     0);
        be->drop(where);
        pg_exec(pg_admin, "DROP ROLE IF EXISTS hm_test_plain", msg, sizeof msg);
    }
}

/* The tables as GIS tools see them: PostGIS geometry columns in SRID 4326 with GiST
 * indexes, each point where its lon and lat say. */
static void test_pg_geometry(void)
{
    CHECK_INT_EQ(plain_count("SELECT count(*) FROM geometry_columns WHERE srid = 4326 AND "
                             "((f_table_name = 'request' AND type = 'POINT') OR (f_table_name = "
                             "'team' AND type = 'POINT') OR (f_table_name = 'area' AND type = "
                             "'MULTIPOLYGON'))"),
                 3);
    CHECK_INT_EQ(plain_count("SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist "
                             "(geom)%' AND tablename IN ('request', 'team', 'area')"),
                 3);
    CHECK(plain_count("SELECT count(*) FROM request") > 0);
    CHECK_INT_EQ(plain_count("SELECT count(*) FROM request WHERE ST_X(geom) <> lon OR "
                             "ST_Y(geom) <> lat"),
                 0);
    CHECK_INT_EQ(plain_count("SELECT count(*) FROM team WHERE (lon IS NULL) <> (geom IS NULL) "
                             "OR ST_X(geom) <> lon OR ST_Y(geom) <> lat"),
                 0);
    CHECK(plain_count("SELECT count(*) FROM team WHERE geom IS NOT NULL") > 0);
}

/* Drop every connection to the suite's database but the caller's own (as a restart of the
 * server or a network cut would), waiting until they are gone. */
static void kill_connections(void)
{
    char db[64], sql[256];
    db_of_uri(db_path, db, sizeof db);
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE "
             "datname = '%s' AND pid <> pg_backend_pid()",
             db);
    CHECK(pg_count(pg_admin, sql) >= 1);
}

/* A dropped connection: reads and BEGIN go on, on a new connection, without an error; a
 * write outside a transaction is HM_E_UNAVAILABLE and the next call works again; a
 * transaction the drop cut stays failed (HM_E_UNAVAILABLE, nothing half-applied) until the
 * caller rolls back, then the store works again. */
static void test_pg_reconnect(hm_store *st)
{
    hm_error err = {0};
    hm_request got, r;
    uint8_t h[32] = {9};
    int64_t team = 0, n = -1;

    kill_connections();
    CHECK_INT_EQ(hm_store_request_get(st, reqs[0].r.code, &got, NULL, &err), HM_OK);
    hm_request_clear(&got);

    kill_connections();
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_get(st, reqs[0].r.code, &got, NULL, &err), HM_OK);
    hm_request_clear(&got);
    CHECK_INT_EQ(hm_store_commit(st, &err), HM_OK);

    kill_connections();
    hm_error_clear(&err);
    team = 1;
    CHECK_INT_EQ(hm_store_team_set_status(st, team, HM_TEAM_AVAILABLE, &err), HM_E_UNAVAILABLE);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_set_status(st, team, HM_TEAM_AVAILABLE, &err), HM_OK);

    /* A transaction cut in the middle. */
    fill_request(200, &r);
    snprintf(r.code, sizeof r.code, "CC-RRRRRR");
    CHECK_INT_EQ(hm_store_begin(st, true, &err), HM_OK);
    CHECK_INT_EQ(hm_store_request_insert(st, &r, h, &err), HM_OK);
    kill_connections();
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_history_append(st, r.id, T0, "x", -1, -1, NULL, "note", &err),
                 HM_E_UNAVAILABLE);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_open_count(st, 5, &n, &err), HM_E_UNAVAILABLE);
    hm_error_clear(&err);
    CHECK(hm_store_commit(st, &err) != HM_OK);
    hm_store_rollback(st);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_request_get(st, "CC-RRRRRR", &got, NULL, &err), HM_E_NOT_FOUND);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_store_team_open_count(st, 5, &n, &err), HM_OK);
    {
        char msg[64] = "";
        CHECK_INT_EQ(hm_store_check(st, msg, sizeof msg, &err), HM_OK);
        CHECK_STR_EQ(msg, "ok");
    }
    hm_request_clear(&r);
}

int main(int argc, char **argv)
{
    hm_error err = {0};
    hm_store *st;
    const char *which = argc > 1 ? argv[1] : "sqlite";

    hm_log_level = HM_LOG_WARN;
    if (strcmp(which, "sqlite") == 0) {
        be = &sqlite_backend;
    } else if (strcmp(which, "pg") == 0) {
        be = &pg_backend;
        pg_admin = getenv("HM_TEST_PG_URI");
        if (!pg_admin || !*pg_admin) {
            fprintf(stderr, "test_store pg: skipped: HM_TEST_PG_URI is not set (run it under "
                            "scripts/pg.sh run)\n");
            return 77;
        }
    } else {
        fprintf(stderr, "usage: test_store sqlite|pg\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "/tmp/hm-test-store-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (!be->fresh("main", db_path, sizeof db_path)) {
        fprintf(stderr, "test_store %s: skipped: no database to test in\n", be->name);
        return 77;
    }
    st = hm_store_open(db_path, HM_STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st) {
        fprintf(stderr, "cannot open: %s\n", err.msg);
        be->drop(db_path);
        return hm_test_done("test_store");
    }
    CHECK(hm_store_schema_version(st) >= 1);
    test_areas(st);
    test_requests(st);
    test_counts_stats(st);
    test_history(st);
    test_teams(st);
    test_transactions(st);
    test_create_in_one_step(st);
    test_purge(st);
    test_changes(st);
    test_places(st);
    test_flood_fields(st);
    test_audit(st);
    test_check_and_reopen(st);
    if (be == &sqlite_backend)
        test_sqlite_backup(st);
    if (be == &pg_backend) {
        test_pg_open_and_refusals(st);
        test_pg_geometry();
        test_pg_reconnect(st);
    }
    hm_store_close(st);

    /* Reopening an existing database keeps its data and schema. */
    st = hm_store_open(db_path, HM_STORE_CREATE, &err);
    CHECK(st != NULL);
    if (st) {
        hm_request got;
        CHECK_INT_EQ(hm_store_request_get(st, reqs[0].r.code, &got, NULL, &err), HM_OK);
        hm_request_clear(&got);
        hm_store_close(st);
    }
    if (be == &sqlite_backend)
        test_migration_2_to_3();
    test_bbox_cells();
    for (int i = 0; i < NREQ; i++)
        hm_request_clear(&reqs[i].r);
    be->drop(db_path);
    {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return hm_test_done(be == &sqlite_backend ? "test_store sqlite" : "test_store pg");
}
