/* store_sqlite.c: the SpatiaLite backend of store.h. All SQL of helpmap
 * lives here, with bound parameters only. One connection per hm_store; the
 * fixed statements are prepared once (SQLITE_PREPARE_PERSISTENT) into q[]
 * and finalised in close. Times are integer milliseconds since 1970; enums
 * are stored as their integer values. */
#include "store_int.h"
#include "walvfs.h"

#include "fold.h"
#include "hm_buf.h"
#include "hm_file.h"
#include "hm_log.h"
#include "model.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
/* spatialite.h uses sqlite3's types: after sqlite3.h. */
#include <spatialite.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    Q_BEGIN,
    Q_BEGIN_IMMEDIATE,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q_AREA_UPSERT,
    Q_AREA_DELETE,
    Q_AREA_DELETE_LEVEL,
    Q_REQ_INSERT,
    Q_REQ_BY_CODE,
    Q_REQ_BY_ID,
    Q_REQ_SET_STATUS,
    Q_REQ_SET_VERIFIED,
    Q_REQ_SET_AREAS,
    Q_REQ_SET_SAFE,
    Q_TEAM_OPEN_COUNT,
    Q_HIST_ADD,
    Q_REQ_UPDATE,
    Q_HIST_LIST,
    Q_REVEAL_SEEN,
    Q_TEAM_INSERT,
    Q_TEAM_BY_TOKEN,
    Q_TEAM_GET,
    Q_TEAM_SET_DISABLED,
    Q_TEAM_SET_TOKEN,
    Q_TEAM_SET_POS,
    Q_TEAM_SET_STATUS,
    Q_CHANGE_ADD,
    Q_CHANGES_SINCE,
    Q_CHANGE_LAST,
    Q_DATA_VERSION,
    Q_PLACE_PUT,
    Q_PLACE_DELETE_SOURCE,
    Q_PLACE_LIST,
    Q_RELIEF_INSERT,
    Q_RELIEF_UPDATE,
    Q_RELIEF_DELETE,
    Q_RELIEF_GET,
    Q_RELIEF_LIST,
    Q_HIST_HEAD,
    Q_HIST_SET_HASH,
    Q_HIST_WALK,
    Q_HIST_COUNT,
    Q_CHAIN_UNCHAINED,
    Q_CHAIN_DONE,
    Q_REQ_SET_DELIVERY,
    Q_REQ_SET_RECEIPT,
    Q_IDEM_GET,
    Q_IDEM_PUT,
    Q_IDEM_PURGE,
    Q__COUNT
};

#define REQ_COLS                                                                                   \
    "id, code, lon, lat, precision, category, people, vulnerable, priority, note, name, "          \
    "address, phone, status, ward_code, former_ward_code, hamlet_code, source, verified, "         \
    "team_id, duplicate_of, created_at, updated_at, status_at, token_hash, reporter_name, "        \
    "reporter_phone, location_text, safe_at, auto_duplicate, delivered, delivered_vnd, receipt, "  \
    "receipt_vnd, receipt_at"

#define TEAM_COLS "id, name, role, status, capabilities, lon, lat, pos_at, disabled, created_at"

/* History columns as read_history() reads them. */
#define HIST_COLS                                                                                  \
    "at, actor, from_status, to_status, note, kind, field, old_value, new_value, contact, id, "    \
    "note_sha256, old_sha256, new_sha256, detail, hash, salt"
#define HIST_COLS_H                                                                                \
    "h.at, h.actor, h.from_status, h.to_status, h.note, h.kind, h.field, h.old_value, "            \
    "h.new_value, h.contact, h.id, h.note_sha256, h.old_sha256, h.new_sha256, h.detail, h.hash, "  \
    "h.salt"

#define CHANGE_COLS "id, at, kind, ref, prev, level, code, flags"

#define RELIEF_COLS                                                                                \
    "id, kind, status, name, address, hours, capacity, lon, lat, created_at, updated_at"

static const char *const q_sql[Q__COUNT] = {
    [Q_CHANGE_ADD] = "INSERT INTO change(at, kind, ref, prev, level, code, flags) VALUES (?1, ?2, "
                     "?3, ?4, ?5, ?6, ?7)",
    [Q_CHANGES_SINCE] = "SELECT " CHANGE_COLS " FROM change WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_CHANGE_LAST] = "SELECT coalesce(max(id), 0) FROM change",
    [Q_DATA_VERSION] = "PRAGMA data_version",
    [Q_PLACE_PUT] =
        "INSERT INTO place(source, name, alt_names, kind, code, lon, lat, min_lon, min_lat, "
        "max_lon, max_lat, ward_code, geom) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, MakePoint(?6, ?7, 4326)) ON CONFLICT(source, code) DO UPDATE SET "
        "name = excluded.name, alt_names = excluded.alt_names, kind = excluded.kind, "
        "lon = excluded.lon, lat = excluded.lat, min_lon = excluded.min_lon, "
        "min_lat = excluded.min_lat, max_lon = excluded.max_lon, max_lat = excluded.max_lat, "
        "ward_code = excluded.ward_code, geom = excluded.geom",
    [Q_PLACE_DELETE_SOURCE] = "DELETE FROM place WHERE source = ?1",
    [Q_PLACE_LIST] = "SELECT id, source, name, alt_names, kind, code, lon, lat, min_lon, min_lat, "
                     "max_lon, max_lat, ward_code FROM place WHERE ?1 IS NULL OR source = ?1 "
                     "ORDER BY id",
    [Q_BEGIN] = "BEGIN",
    [Q_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT job",
    [Q_RELEASE] = "RELEASE job",
    [Q_ROLLBACK_TO] = "ROLLBACK TO job",
    [Q_AREA_UPSERT] =
        "INSERT INTO area(level, code, name, parent_code, rep_lon, rep_lat, min_lon, min_lat, "
        "max_lon, max_lat, pop, geom) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "CastToMultiPolygon(GeomFromWKB(?12, 4326))) ON CONFLICT(level, code) DO UPDATE SET "
        "name = excluded.name, parent_code = excluded.parent_code, rep_lon = excluded.rep_lon, "
        "rep_lat = excluded.rep_lat, min_lon = excluded.min_lon, min_lat = excluded.min_lat, "
        "max_lon = excluded.max_lon, max_lat = excluded.max_lat, pop = excluded.pop, "
        "geom = excluded.geom",
    [Q_AREA_DELETE] = "DELETE FROM area WHERE level = ?1 AND code = ?2",
    [Q_AREA_DELETE_LEVEL] = "DELETE FROM area WHERE level = ?1",
    [Q_REQ_INSERT] =
        "INSERT INTO request(code, token_hash, lon, lat, precision, category, people, "
        "vulnerable, priority, note, name, address, phone, status, ward_code, former_ward_code, "
        "hamlet_code, source, verified, team_id, duplicate_of, created_at, updated_at, "
        "status_at, geom, reporter_name, reporter_phone, location_text, auto_duplicate) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
        "?20, ?21, ?22, ?22, ?22, MakePoint(?3, ?4, 4326), ?23, ?24, ?25, ?26)",
    [Q_REQ_BY_CODE] = "SELECT " REQ_COLS " FROM request WHERE code = ?1",
    [Q_REQ_BY_ID] = "SELECT " REQ_COLS " FROM request WHERE id = ?1",
    /* Any move ends an "I am safe now" closing (a reopened request is no longer one). */
    [Q_REQ_SET_STATUS] = "UPDATE request SET status = ?3, team_id = ?4, duplicate_of = ?5, "
                         "updated_at = ?6, status_at = ?6, safe_at = NULL, auto_duplicate = 0 "
                         "WHERE id = ?1 AND status = ?2",
    [Q_REQ_SET_SAFE] = "UPDATE request SET safe_at = ?2 WHERE id = ?1",
    [Q_REQ_SET_VERIFIED] = "UPDATE request SET verified = ?3, updated_at = ?2 WHERE id = ?1",
    [Q_REQ_UPDATE] =
        "UPDATE request SET lon = ?2, lat = ?3, precision = ?4, category = ?5, people = ?6, "
        "vulnerable = ?7, priority = ?8, note = ?9, name = ?10, address = ?11, phone = ?12, "
        "ward_code = ?13, former_ward_code = ?14, hamlet_code = ?15, updated_at = ?16, "
        "geom = MakePoint(?2, ?3, 4326) WHERE id = ?1",
    [Q_REQ_SET_AREAS] = "UPDATE request SET ward_code = ?2, former_ward_code = ?3, "
                        "hamlet_code = ?4 WHERE id = ?1",
    [Q_TEAM_OPEN_COUNT] = "SELECT count(*) FROM request WHERE team_id = ?1 AND status IN (1, 2)",
    [Q_HIST_ADD] = "INSERT INTO history(request_id, at, actor, from_status, to_status, note, kind, "
                   "field, old_value, new_value, contact, note_sha256, old_sha256, new_sha256, "
                   "detail, hash, salt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                   "?13, ?14, ?15, ?16, ?17)",
    [Q_HIST_LIST] = "SELECT " HIST_COLS " FROM history WHERE request_id = ?1 ORDER BY id",
    [Q_HIST_HEAD] = "SELECT r.code, h.id, h.hash FROM request r LEFT JOIN history h ON h.id = "
                    "(SELECT max(id) FROM history WHERE request_id = r.id) WHERE r.id = ?1",
    [Q_HIST_SET_HASH] = "UPDATE history SET note_sha256 = ?2, old_sha256 = ?3, new_sha256 = ?4, "
                        "hash = ?5, salt = ?6 WHERE id = ?1",
    [Q_HIST_WALK] = "SELECT h.request_id, r.code, " HIST_COLS_H " FROM history h JOIN request r "
                    "ON r.id = h.request_id WHERE h.request_id > ?1 AND h.request_id <= ?2 "
                    "ORDER BY h.request_id, h.id",
    [Q_HIST_COUNT] = "SELECT count(*) FROM history WHERE request_id = ?1 AND kind = ?2",
    [Q_CHAIN_UNCHAINED] = "SELECT unchained_upto, (SELECT max(request_id) FROM history WHERE id "
                          "<= unchained_upto) FROM history_chain",
    [Q_CHAIN_DONE] = "UPDATE history_chain SET unchained_upto = 0",
    [Q_REQ_SET_DELIVERY] = "UPDATE request SET delivered = ?2, delivered_vnd = ?3, receipt = 0, "
                           "receipt_vnd = NULL, receipt_at = NULL WHERE id = ?1",
    [Q_REQ_SET_RECEIPT] = "UPDATE request SET receipt = ?2, receipt_vnd = ?3, receipt_at = ?4, "
                          "updated_at = ?4 WHERE id = ?1",
    [Q_IDEM_GET] = "SELECT body_sha256, status, answer, created_at FROM idempotency WHERE "
                   "key_id = ?1 AND created_at >= ?2",
    /* A record of the key replaced only when the older one is past its time. */
    [Q_IDEM_PUT] = "INSERT INTO idempotency(key_id, body_sha256, status, answer, created_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key_id) DO UPDATE SET "
                   "body_sha256 = excluded.body_sha256, status = excluded.status, "
                   "answer = excluded.answer, created_at = excluded.created_at WHERE "
                   "idempotency.created_at < ?6",
    [Q_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_at < ?1",
    [Q_REVEAL_SEEN] = "SELECT 1 FROM history WHERE request_id = ?1 AND kind = 'reveal' AND "
                      "actor = ?2 AND at >= ?3 LIMIT 1",
    [Q_TEAM_INSERT] = "INSERT INTO team(name, role, token_hash, status, capabilities, disabled, "
                      "created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
    [Q_TEAM_BY_TOKEN] = "SELECT " TEAM_COLS " FROM team WHERE token_hash = ?1 AND disabled = 0",
    [Q_TEAM_GET] = "SELECT " TEAM_COLS " FROM team WHERE id = ?1",
    [Q_TEAM_SET_DISABLED] = "UPDATE team SET disabled = ?2 WHERE id = ?1",
    [Q_TEAM_SET_TOKEN] = "UPDATE team SET token_hash = ?2 WHERE id = ?1",
    [Q_TEAM_SET_POS] = "UPDATE team SET lon = ?2, lat = ?3, pos_at = ?4, geom = MakePoint(?2, ?3, "
                       "4326) WHERE id = ?1",
    [Q_TEAM_SET_STATUS] = "UPDATE team SET status = ?2 WHERE id = ?1",
    [Q_RELIEF_INSERT] = "INSERT INTO point(kind, status, name, address, hours, capacity, lon, lat, "
                        "created_at, updated_at, geom) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                        "?10, MakePoint(?7, ?8, 4326))",
    [Q_RELIEF_UPDATE] = "UPDATE point SET kind = ?1, status = ?2, name = ?3, address = ?4, "
                        "hours = ?5, capacity = ?6, lon = ?7, lat = ?8, updated_at = ?10, "
                        "geom = MakePoint(?7, ?8, 4326) WHERE id = ?11",
    [Q_RELIEF_DELETE] = "DELETE FROM point WHERE id = ?1",
    [Q_RELIEF_GET] = "SELECT " RELIEF_COLS " FROM point WHERE id = ?1",
    [Q_RELIEF_LIST] = "SELECT " RELIEF_COLS " FROM point ORDER BY id",
};

/* The grid cell of a request's point, as SQL over its columns: cells of 1/1024 degree (about
 * 110 m), numbered row by row from (-180, -90); the expression of the index request_cell.
 * cell_of() is the same in C. Queries must write it exactly so for SQLite to use the index. */
#define CELL_PER_DEG 1024
#define CELL_COLS    368640LL /* 360 * CELL_PER_DEG */
#define CELL_EXPR                                                                                  \
    "CAST((lat + 90.0) * 1024.0 AS INTEGER) * 368640 + CAST((lon + 180.0) * 1024.0 AS INTEGER)"

/* Schema migrations: migrations[v] takes the database from version v to v+1. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE area(id INTEGER PRIMARY KEY, level INTEGER NOT NULL, code TEXT NOT NULL, "
    "  name TEXT NOT NULL DEFAULT '', parent_code TEXT, rep_lon REAL, rep_lat REAL, "
    "  min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL, pop INTEGER, "
    "  UNIQUE(level, code));"
    "SELECT AddGeometryColumn('area', 'geom', 4326, 'MULTIPOLYGON', 'XY');"
    "CREATE TABLE request(id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, "
    "  token_hash BLOB NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL, precision INTEGER NOT NULL, "
    "  category INTEGER NOT NULL, people INTEGER NOT NULL, vulnerable INTEGER NOT NULL, "
    "  priority INTEGER NOT NULL, note TEXT, name TEXT, address TEXT, phone TEXT, "
    "  status INTEGER NOT NULL, ward_code TEXT, former_ward_code TEXT, hamlet_code TEXT, "
    "  source INTEGER NOT NULL, verified INTEGER NOT NULL DEFAULT 0, team_id INTEGER, "
    "  duplicate_of TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, "
    "  status_at INTEGER NOT NULL);"
    "SELECT AddGeometryColumn('request', 'geom', 4326, 'POINT', 'XY');"
    "SELECT CreateSpatialIndex('request', 'geom');"
    "CREATE INDEX request_status ON request(status, id);"
    "CREATE INDEX request_phone ON request(phone, created_at);"
    "CREATE INDEX request_ward ON request(ward_code, status, category);"
    "CREATE INDEX request_former ON request(former_ward_code, status, category);"
    "CREATE INDEX request_hamlet ON request(hamlet_code, status, category);"
    "CREATE INDEX request_team ON request(team_id, status);"
    "CREATE INDEX request_created ON request(created_at);"
    "CREATE TABLE history(id INTEGER PRIMARY KEY, request_id INTEGER NOT NULL "
    "  REFERENCES request(id), at INTEGER NOT NULL, actor TEXT NOT NULL, from_status INTEGER, "
    "  to_status INTEGER, note TEXT, kind TEXT NOT NULL);"
    "CREATE INDEX history_request ON history(request_id, id);"
    "CREATE TABLE team(id INTEGER PRIMARY KEY, name TEXT NOT NULL, role INTEGER NOT NULL, "
    "  token_hash BLOB NOT NULL UNIQUE, status INTEGER NOT NULL DEFAULT 0, "
    "  capabilities TEXT NOT NULL DEFAULT '[]', lon REAL, lat REAL, pos_at INTEGER, "
    "  disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE TRIGGER history_append_only_u BEFORE UPDATE ON history "
    "  BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;"
    "CREATE TRIGGER history_append_only_d BEFORE DELETE ON history "
    "  BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;",
    /* 1 -> 2: the spatial index of requests was kept by an insert in sq_request_insert()
     * (until version 3) instead of SpatiaLite's triggers, which ran four trigger programs per
     * insert (one of them preparing a statement each time) and a metadata update per status change:
     * a fifth of the writer's time (issue 7). Positions never change and requests are never
     * deleted, so the insert is the only place the index changes. */
    "DROP TRIGGER IF EXISTS ggi_request_geom; DROP TRIGGER IF EXISTS ggu_request_geom;"
    "DROP TRIGGER IF EXISTS tmi_request_geom; DROP TRIGGER IF EXISTS tmu_request_geom;"
    "DROP TRIGGER IF EXISTS tmd_request_geom; DROP TRIGGER IF EXISTS gii_request_geom;"
    "DROP TRIGGER IF EXISTS giu_request_geom; DROP TRIGGER IF EXISTS gid_request_geom;",
    /* 2 -> 3: cheaper inserts (issue 7: the writer's group commits were bound by them).
     * - The R*Tree of request points gives way to a B-tree on the grid cell of each point
     *   (CELL_EXPR, an index on an expression of lon and lat: nothing to keep by hand). The
     *   R*Tree insert was more than half of an insert's work and wrote two or three pages of
     *   every commit's log; bounding-box queries now scan the cell ranges of the box (see
     *   sq_request_list). `geom` stays for GIS tools that open the file.
     * - Indexes no query needs any more, dropped because every insert wrote them. Counts by
     *   former ward and hamlet come from the live tally (areacount.h); the only SQL left on
     *   those columns, the count before an area is deleted, is a rare scan. Hourly counts
     *   come from the tally too. */
    "UPDATE geometry_columns SET spatial_index_enabled = 0 WHERE f_table_name = 'request' AND "
    "  f_geometry_column = 'geom';" /* not DisableSpatialIndex(): it brings back the triggers */
    "DROP TABLE IF EXISTS idx_request_geom;"
    "CREATE INDEX request_cell ON request(" CELL_EXPR ");"
    "DROP INDEX IF EXISTS request_former; DROP INDEX IF EXISTS request_hamlet;"
    "DROP INDEX IF EXISTS request_created;",
    /* 3 -> 4: the change log that every server follows (store.h, "Changes"). AUTOINCREMENT:
     * ids are never reused, even after the newest rows are deleted. `prev` packs what the counts
     * knew of an updated request before ("status|category|status_at|lon|lat|ward|former|
     * hamlet"). */
    "CREATE TABLE change(id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, "
    "  kind INTEGER NOT NULL, ref INTEGER NOT NULL DEFAULT 0, prev TEXT, level INTEGER, "
    "  code TEXT);",
    /* 4 -> 5: place names for the place search (SPEC "Places and a street map, offline"):
     * the shipped GeoNames places, a district's imported list, basemap names. `alt_names` holds
     * the other names separated by newlines (names never contain control characters); `geom`
     * is for GIS tools. A place with a code is unique per source (imports upsert by it). */
    "CREATE TABLE place(id INTEGER PRIMARY KEY, source TEXT NOT NULL "
    "  CHECK (source IN ('geonames', 'import', 'basemap')), name TEXT NOT NULL, "
    "  alt_names TEXT, kind TEXT NOT NULL, code TEXT, lon REAL NOT NULL, lat REAL NOT NULL, "
    "  min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL, ward_code TEXT, "
    "  UNIQUE(source, code));"
    "SELECT AddGeometryColumn('place', 'geom', 4326, 'POINT', 'XY');",
    /* 5 -> 6: what the 2024-2025 floods taught (issue 19). A request may be reported by someone
     * else (reporter_*: contact data, like name and phone), placed by a pasted link
     * (location_text: contact data too, it may hold a label), and closed by "I am safe now"
     * (safe_at). Relief points: public places with an exact position; `geom` for GIS tools. */
    "ALTER TABLE request ADD COLUMN reporter_name TEXT;"
    "ALTER TABLE request ADD COLUMN reporter_phone TEXT;"
    "ALTER TABLE request ADD COLUMN location_text TEXT;"
    "ALTER TABLE request ADD COLUMN safe_at INTEGER;"
    "CREATE TABLE point(id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, status INTEGER NOT NULL, "
    "  name TEXT NOT NULL, address TEXT, hours TEXT, capacity INTEGER, lon REAL NOT NULL, "
    "  lat REAL NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "SELECT AddGeometryColumn('point', 'geom', 4326, 'POINT', 'XY');",
    /* 6 -> 7: field readiness (issue 14).
     * - History entries that name what they changed (edits, merges, reassignments, the outcome
     *   of a verification) with the old and new value, and whether the entry holds contact
     *   data (hidden from readers who may not see it).
     * - Change flags (a coordinator's assignment: the team's own "request.assigned" event).
     * - The duplicates of a request, for the merge rules (a partial index: most rows have none).
     * - Readable layers for GIS tools (QGIS, GDAL): views with text statuses, categories and
     *   ISO 8601 times, registered as spatial views; teams get a point geometry. */
    "ALTER TABLE history ADD COLUMN field TEXT;"
    "ALTER TABLE history ADD COLUMN old_value TEXT;"
    "ALTER TABLE history ADD COLUMN new_value TEXT;"
    "ALTER TABLE history ADD COLUMN contact INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE change ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX request_duplicate ON request(duplicate_of) WHERE duplicate_of IS NOT NULL;"
    "SELECT AddGeometryColumn('team', 'geom', 4326, 'POINT', 'XY');"
    "UPDATE team SET geom = MakePoint(lon, lat, 4326) WHERE lon IS NOT NULL AND lat IS NOT NULL;"
    "CREATE VIEW requests_view AS SELECT r.id AS id, r.code AS code, "
    "  CASE r.status WHEN 0 THEN 'new' WHEN 1 THEN 'assigned' WHEN 2 THEN 'in_progress' "
    "    WHEN 3 THEN 'resolved' WHEN 4 THEN 'cancelled' WHEN 5 THEN 'duplicate' END AS status, "
    "  CASE r.category WHEN 0 THEN 'food' WHEN 1 THEN 'water' WHEN 2 THEN 'medical' "
    "    WHEN 3 THEN 'cash' WHEN 4 THEN 'shelter' WHEN 5 THEN 'rescue' ELSE 'other' END "
    "    AS category, "
    "  CASE r.priority WHEN 1 THEN 'urgent' ELSE 'normal' END AS priority, r.people AS people, "
    "  rtrim((CASE WHEN r.vulnerable & 1 THEN 'elderly,' ELSE '' END) || "
    "    (CASE WHEN r.vulnerable & 2 THEN 'child,' ELSE '' END) || "
    "    (CASE WHEN r.vulnerable & 4 THEN 'pregnant,' ELSE '' END) || "
    "    (CASE WHEN r.vulnerable & 8 THEN 'disabled,' ELSE '' END) || "
    "    (CASE WHEN r.vulnerable & 16 THEN 'sick,' ELSE '' END), ',') AS vulnerable, "
    "  CASE r.precision WHEN 0 THEN 'gps' WHEN 1 THEN 'pin' WHEN 2 THEN 'address' "
    "    WHEN 3 THEN 'place' ELSE 'link' END AS location_precision, "
    "  CASE r.source WHEN 0 THEN 'web' WHEN 1 THEN 'hotline' ELSE 'import' END AS source, "
    "  r.verified AS verified, r.team_id AS team_id, r.duplicate_of AS duplicate_of, "
    "  r.ward_code AS ward_code, r.former_ward_code AS former_ward_code, "
    "  r.hamlet_code AS hamlet_code, r.name AS name, r.phone AS phone, r.address AS address, "
    "  r.note AS note, r.lon AS lon, r.lat AS lat, "
    "  strftime('%Y-%m-%dT%H:%M:%SZ', r.created_at / 1000, 'unixepoch') AS created_at, "
    "  strftime('%Y-%m-%dT%H:%M:%SZ', r.updated_at / 1000, 'unixepoch') AS updated_at, "
    "  r.geom AS geom FROM request r;"
    "CREATE VIEW teams_view AS SELECT t.id AS id, t.name AS name, "
    "  CASE t.role WHEN 1 THEN 'volunteer' WHEN 2 THEN 'operator' WHEN 3 THEN 'coordinator' "
    "    ELSE 'admin' END AS role, "
    "  CASE t.status WHEN 0 THEN 'available' WHEN 1 THEN 'busy' ELSE 'off' END AS status, "
    "  t.capabilities AS capabilities, t.disabled AS disabled, "
    "  strftime('%Y-%m-%dT%H:%M:%SZ', t.pos_at / 1000, 'unixepoch') AS position_at, "
    "  t.geom AS geom FROM team t;"
    "CREATE VIEW areas_view AS SELECT a.id AS id, "
    "  CASE a.level WHEN 0 THEN 'ward' WHEN 1 THEN 'former_ward' ELSE 'hamlet' END AS level, "
    "  a.code AS code, a.name AS name, a.parent_code AS parent_code, a.pop AS population, "
    "  a.geom AS geom FROM area a;"
    "INSERT INTO views_geometry_columns(view_name, view_geometry, view_rowid, f_table_name, "
    "  f_geometry_column, read_only) VALUES ('requests_view', 'geom', 'id', 'request', 'geom', 1), "
    "  ('teams_view', 'geom', 'id', 'team', 'geom', 1), "
    "  ('areas_view', 'geom', 'id', 'area', 'geom', 1);",
    /* 7 -> 8: privacy and abuse, second round (issue 11).
     * - request.auto_duplicate: a public caller's repeat of an open request, stored as its
     *   duplicate; its public and resident views do not name the earlier request.
     * - audit: who saw or took contact data and who changed teams (store.h, "Audit").
     * - The history stays append-only with one exception: purge may set a note to NULL, and
     *   the old and new values of an entry to NULL (those of contact entries: an edited phone,
     *   name or address), and nothing else (the trigger refuses every other change of a row). */
    "ALTER TABLE request ADD COLUMN auto_duplicate INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, "
    "  actor TEXT NOT NULL, actor_team_id INTEGER, team_id INTEGER, row_count INTEGER NOT NULL "
    "  DEFAULT 0, detail TEXT);"
    "CREATE INDEX audit_at ON audit(at);"
    "CREATE INDEX audit_team ON audit(team_id, at);"
    "DROP TRIGGER history_append_only_u;"
    "CREATE TRIGGER history_append_only_u BEFORE UPDATE ON history WHEN NEW.note IS NOT NULL "
    "  OR (NEW.old_value IS NOT NULL AND NEW.old_value IS NOT OLD.old_value) "
    "  OR (NEW.new_value IS NOT NULL AND NEW.new_value IS NOT OLD.new_value) "
    "  OR NEW.id IS NOT OLD.id OR NEW.request_id IS NOT OLD.request_id OR NEW.at IS NOT OLD.at "
    "  OR NEW.actor IS NOT OLD.actor OR NEW.from_status IS NOT OLD.from_status "
    "  OR NEW.to_status IS NOT OLD.to_status OR NEW.kind IS NOT OLD.kind "
    "  OR NEW.field IS NOT OLD.field OR NEW.contact IS NOT OLD.contact "
    "  BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;",
    /* 8 -> 9: the resident closes the loop (issue 17).
     * - The history is hash-chained (chain.h): every entry keeps the SHA-256 of its note and of
     *   its old and new values (which stay when a purge erases the texts), its structured facts
     *   (`detail`) and its hash. Entries of an older file are chained once, by the first
     *   connection that may write (hm_store_history_backfill): history_chain keeps the id of
     *   the last of them until then, and the append-only trigger lets exactly that happen
     *   (hash and the texts' SHA-256 set where they were NULL, on those entries, nothing else
     *   changed) besides purge's erasing of texts (version 8), which now keeps their SHA-256
     *   and the hash.
     * - The team's delivery and the resident's receipt on the request; the partial index
     *   request_flag finds the flagged ones (resolved, receipt part or nothing).
     * - The first answers to creations with an Idempotency-Key, kept 24 h (sealed: a key
     *   derived from the client's key is needed to read them). */
    "ALTER TABLE history ADD COLUMN note_sha256 TEXT;"
    "ALTER TABLE history ADD COLUMN old_sha256 TEXT;"
    "ALTER TABLE history ADD COLUMN new_sha256 TEXT;"
    "ALTER TABLE history ADD COLUMN detail TEXT;"
    "ALTER TABLE history ADD COLUMN hash TEXT;"
    "ALTER TABLE history ADD COLUMN salt TEXT;"
    "CREATE TABLE history_chain(unchained_upto INTEGER NOT NULL);"
    "INSERT INTO history_chain SELECT coalesce(max(id), 0) FROM history;"
    "DROP TRIGGER history_append_only_u;"
    "CREATE TRIGGER history_append_only_u BEFORE UPDATE ON history WHEN NOT (("
    /* A purge: a note, and the values of an entry, set to NULL, their SHA-256 kept (issue 11,
     * version 8), and a contact entry's salt with them; nothing else changed. */
    "  NEW.note IS NULL AND (NEW.old_value IS NULL OR NEW.old_value IS OLD.old_value) AND "
    "  (NEW.new_value IS NULL OR NEW.new_value IS OLD.new_value) AND "
    "  (NEW.salt IS NULL OR NEW.salt IS OLD.salt) AND "
    "  NEW.note_sha256 IS OLD.note_sha256 AND NEW.old_sha256 IS OLD.old_sha256 AND "
    "  NEW.new_sha256 IS OLD.new_sha256 AND NEW.hash IS OLD.hash"
    ") OR ("
    /* The one-time chaining of the entries written before: the hash and the texts' SHA-256
     * set where they were NULL, the texts unchanged. */
    "  OLD.hash IS NULL AND NEW.hash IS NOT NULL AND "
    "  OLD.id <= (SELECT unchained_upto FROM history_chain) AND "
    "  (OLD.note_sha256 IS NULL OR NEW.note_sha256 IS OLD.note_sha256) AND "
    "  (OLD.old_sha256 IS NULL OR NEW.old_sha256 IS OLD.old_sha256) AND "
    "  (OLD.new_sha256 IS NULL OR NEW.new_sha256 IS OLD.new_sha256) AND "
    "  (OLD.salt IS NULL OR NEW.salt IS OLD.salt) AND "
    "  NEW.note IS OLD.note AND NEW.old_value IS OLD.old_value AND "
    "  NEW.new_value IS OLD.new_value"
    /* Either way: the entry itself unchanged. */
    ")) OR NEW.id IS NOT OLD.id OR NEW.request_id IS NOT OLD.request_id OR NEW.at IS NOT OLD.at "
    "  OR NEW.actor IS NOT OLD.actor OR NEW.from_status IS NOT OLD.from_status "
    "  OR NEW.to_status IS NOT OLD.to_status OR NEW.kind IS NOT OLD.kind "
    "  OR NEW.field IS NOT OLD.field OR NEW.contact IS NOT OLD.contact "
    "  OR NEW.detail IS NOT OLD.detail "
    "  BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;"
    "ALTER TABLE request ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE request ADD COLUMN delivered_vnd INTEGER;"
    "ALTER TABLE request ADD COLUMN receipt INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE request ADD COLUMN receipt_vnd INTEGER;"
    "ALTER TABLE request ADD COLUMN receipt_at INTEGER;"
    "CREATE INDEX request_flag ON request(id) WHERE status = 3 AND receipt IN (2, 3);"
    "CREATE TABLE idempotency(key_id BLOB PRIMARY KEY, body_sha256 BLOB NOT NULL, "
    "  status INTEGER NOT NULL, answer BLOB NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX idempotency_created ON idempotency(created_at);",
};

/* Statements of hm_store_request_list() kept per connection, keyed by their text: the text
 * depends only on which filters are set, so a few shapes recur (the duplicate check of every
 * creation, tiles, lists), and preparing one cost the writer as much as the insert (issue 7). */
#define LIST_CACHE 8

typedef struct sq_store sq_store;

/* The checkpointer of a writer connection: a thread with its own connection that copies the
 * write-ahead log into the database file after commits, so that commits on the writer's
 * connection never do it while jobs wait (issue 7: it was an eighth of the writer's time).
 * Under `mu`: commits, stop. */
typedef struct sq_ckpt {
    sq_store *conn; /* the thread's own connection (and hm_store_close()'s once it ended) */
    char *path;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a commit, or stopping */
    unsigned long long commits;
    bool stop;
    /* Restarting the log (restart_log): the writer begins no transaction meanwhile, so that
     * the restart takes the write lock at its next commit instead of at a busy handler's
     * next try. restart_cv: the restart is over. */
    bool restarting;
    pthread_cond_t restart_cv;
    int restart_pages; /* a log this long is restarted: 64 MiB of the database's pages */
} sq_ckpt;

struct sq_store {
    hm_store base;
    sqlite3 *db;
    void *splite; /* spatialite connection cache */
    sqlite3_stmt *q[Q__COUNT];
    struct {
        char *sql;
        sqlite3_stmt *q;
    } list_cache[LIST_CACHE];   /* most recently used first */
    sq_ckpt *ckpt;              /* HM_STORE_WRITER: its checkpointer; NULL otherwise */
    char *path;                 /* the database file (hm_walvfs_sync_log()) */
    bool walvfs;                /* opened with the "hm-wal" VFS (walvfs.h) */
    bool ckpt_busy;             /* the checkpointer's restart_log() runs its own busy handler */
    struct timespec busy_since; /* since when (CLOCK_MONOTONIC) */
    int64_t data_version;       /* hm_store_wait_changes(): PRAGMA data_version last seen */
};

static const hm_store_ops sq_ops;

#define SQ(st) ((sq_store *)(st))

/* Map the connection's last error to an hm_err, copying the message at once. */
static int db_error(sq_store *s, hm_error *err)
{
    int ec = sqlite3_extended_errcode(s->db);
    int pc = ec & 0xff;
    if (pc == SQLITE_READONLY || pc == SQLITE_FULL || pc == SQLITE_BUSY || pc == SQLITE_LOCKED ||
        pc == SQLITE_IOERR || pc == SQLITE_CANTOPEN)
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "database unavailable: %s (%d)",
                            sqlite3_errmsg(s->db), ec);
    return hm_error_set(err, HM_E_DB, NULL, "database error: %s (%d)", sqlite3_errmsg(s->db), ec);
}

static void done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

static int bind_text_or_null(sqlite3_stmt *q, int i, const char *s)
{
    if (!s || !*s)
        return sqlite3_bind_null(q, i);
    return sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
}

/* Run a step-once statement without results. */
static int exec_q(sq_store *s, sqlite3_stmt *q, hm_error *err)
{
    int rc = sqlite3_step(q);
    int ret = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? HM_OK : db_error(s, err);
    done(q);
    return ret;
}

static int exec_sql(sq_store *s, const char *sql, hm_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = db_error(s, err);
        hm_log(HM_LOG_ERROR, "event=sql_failed msg=\"%s\"", msg ? msg : "?");
        sqlite3_free(msg);
        return rc;
    }
    return HM_OK;
}

static int user_version(sq_store *s)
{
    sqlite3_stmt *q = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* The database's page size in bytes (4096 when it cannot be read). */
static int page_size(sq_store *s)
{
    sqlite3_stmt *q = NULL;
    int v = 4096;
    if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) >= 512)
        v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return v;
}

static int migrate(sq_store *s, int flags, hm_error *err)
{
    int v = user_version(s);
    int n = (int)(sizeof migrations / sizeof migrations[0]);
    char sql[64];

    if (v < 0)
        return db_error(s, err);
    if (v > n)
        return hm_error_set(err, HM_E_DB, NULL,
                            "database schema version %d is newer than this program (%d)", v, n);
    if (v == n)
        return HM_OK;
    if (flags & HM_STORE_READONLY)
        return hm_error_set(err, HM_E_DB, NULL, "database needs migration (version %d < %d)", v, n);
    if (exec_sql(s, "BEGIN IMMEDIATE", err))
        return err ? err->code : HM_E_DB;
    /* Re-read under the write lock: another process may have migrated. */
    v = user_version(s);
    if (v == 0 && exec_sql(s, "SELECT InitSpatialMetadata(0, 'WGS84_ONLY')", err))
        goto fail;
    for (; v < n; v++) {
        hm_log(HM_LOG_INFO, "event=migrate from=%d to=%d", v, v + 1);
        if (exec_sql(s, migrations[v], err))
            goto fail;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (exec_sql(s, sql, err))
            goto fail;
    }
    return exec_sql(s, "COMMIT", err);
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return err ? err->code : HM_E_DB;
}

static void ckpt_stop(sq_ckpt *k);

/* SQL function hm_fold_has(text, words): 1 when every word of `words` (a search key of
 * hm_fold(), words separated by one space) occurs in the search key of `text`, so that "het
 * gao" finds "Hết gạo" (the `q` filter of request lists). */
static void fold_has(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    const char *words = (const char *)sqlite3_value_text(argv[1]);
    (void)argc;
    if (!text)
        text = "";
    sqlite3_result_int(ctx,
                       hm_store__fold_match(text, (size_t)sqlite3_value_bytes(argv[0]), words));
}

static void sq_close(hm_store *st)
{
    sq_store *s = SQ(st);
    if (s->ckpt)
        ckpt_stop(s->ckpt);
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(s->q[i]);
    for (int i = 0; i < LIST_CACHE; i++) {
        sqlite3_finalize(s->list_cache[i].q);
        free(s->list_cache[i].sql);
    }
    if (s->db)
        sqlite3_close_v2(s->db);
    if (s->splite)
        spatialite_cleanup_ex(s->splite);
    free(s->path);
    free(s);
}

/* Create the folder of `path` when missing (one level). */
static void make_parent_dir(const char *path)
{
    char dir[1024];
    char *slash;
    struct stat sb;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    if (stat(dir, &sb) != 0 && mkdir(dir, 0750) != 0)
        hm_log(HM_LOG_WARN, "event=mkdir_failed errno=%d", errno);
}

static int ckpt_start(sq_store *s, const char *path);

hm_store *hm_store__sqlite_open(const char *path, int flags, hm_error *err)
{
    sq_store *s = hm_xcalloc(1, sizeof *s);
    int oflags =
        SQLITE_OPEN_NOMUTEX |
        ((flags & HM_STORE_READONLY)
             ? SQLITE_OPEN_READONLY
             : SQLITE_OPEN_READWRITE | ((flags & HM_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0));
    struct stat sb;
    bool new_file;
    int version;

    s->base.ops = &sq_ops;
    new_file = stat(path, &sb) != 0;
    if (new_file) {
        int fd;
        if (!(flags & HM_STORE_CREATE)) {
            hm_error_set(err, HM_E_NOT_FOUND, "db", "no database at %s", path);
            goto fail;
        }
        make_parent_dir(path);
        /* The file of every phone number is its owner's alone (issue 11: 0644 under umask
         * 022), and so are its -wal and -shm, which SQLite creates with the database's mode.
         * An empty file is a new database to SQLite. */
        if ((fd = hm_file_create(path, false, err)) < 0)
            goto fail;
        close(fd);
    } else {
        if (sb.st_mode & 077)
            hm_log(HM_LOG_WARN,
                   "event=database_not_private mode=%03o msg=\"others may read the "
                   "database; chmod 600 it and its -wal and -shm\"",
                   (unsigned)(sb.st_mode & 0777));
        new_file = sb.st_size == 0;
    }
    /* hm_walvfs_name(): the unix VFS, with logs written in one piece per commit (walvfs.h). */
    s->path = hm_xstrdup(path);
    s->walvfs = hm_walvfs_name() != NULL;
    if (sqlite3_open_v2(path, &s->db, oflags, hm_walvfs_name()) != SQLITE_OK) {
        if (s->db)
            hm_error_set(err, HM_E_IO, NULL, "cannot open database %s: %s", path,
                         sqlite3_errmsg(s->db));
        else
            hm_error_set(err, HM_E_NOMEM, NULL, "cannot open database %s", path);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 10000);
    s->splite = spatialite_alloc_connection();
    spatialite_init_ex(s->db, s->splite, 0);
    sqlite3_create_function_v2(s->db, "hm_fold_has", 2,
                               SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                               fold_has, NULL, NULL, NULL);
    /* A new database takes pages of 2 KiB instead of SQLite's 4: a new request changes a leaf of
     * each index with random keys (code, phone, grid cell, ward), and each such page is written
     * whole to the log at every commit and again by the checkpoint, then fsynced; half the
     * page, half the bytes the disk waits for (issue 18). Rows of requests (a few hundred
     * bytes) still fit a page. An existing database keeps its page size. */
    if (new_file && (flags & HM_STORE_CREATE) && exec_sql(s, "PRAGMA page_size = 2048", err))
        goto fail;
    if (!(flags & HM_STORE_READONLY)) {
        if (exec_sql(s, "PRAGMA journal_mode = WAL", err))
            goto fail;
    }
    /* FULL: every COMMIT is fsynced before it returns, so a 201 survives a
     * power cut (SPEC "What it must withstand"); the writer's pipeline takes that sync off its
     * thread (hm_store_commit_early) and answers after it. Readers get 4 MiB of page cache: they
     * read rows here and there, the operating system caches the file anyway, SQLite empties a
     * reader's cache whenever another connection committed (under a writing load, before
     * nearly every read), and each connection's cache counts in the server's memory (issue 7;
     * issue 18: peak RSS under 250 MiB at 1,000,000 requests). The writer gets 4 MiB: its
     * inserts touch index leaves all over the file, which no cache of a few MiB holds, and
     * SQLite walks the writer's whole page cache at the end of every commit that split a page
     * of a database under 1 GiB (the split renumbers pages through the page of the locking
     * byte at 1 GiB): at 32 MiB that walk cost the writer more than the inserts (issue 18). */
    if (exec_sql(s,
                 "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                 "PRAGMA temp_store = MEMORY",
                 err) ||
        exec_sql(s, "PRAGMA cache_size = -4096", err))
        goto fail;
    version = user_version(s);
    if (migrate(s, flags, err))
        goto fail;
    s->base.created = version == 0;
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, q_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) !=
            SQLITE_OK) {
            db_error(s, err);
            hm_log(HM_LOG_ERROR, "event=prepare_failed stmt=%d msg=\"%s\"", i,
                   sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    /* The writer's commits never checkpoint: its checkpointer does, when it can start one
     * (otherwise SQLite checkpoints in the commits, as by default). */
    if ((flags & HM_STORE_WRITER) && ckpt_start(s, path) == HM_OK)
        sqlite3_wal_autocheckpoint(s->db, 0);
    return &s->base;
fail:
    sq_close(&s->base);
    return NULL;
}

static int sq_schema_version(hm_store *st)
{
    return user_version(SQ(st));
}

static int sq_begin(hm_store *st, bool immediate, hm_error *err)
{
    sq_store *s = SQ(st);
    if (s->ckpt) {
        /* The checkpointer restarts the log: it needs the write lock for the few pages its
         * last pass left; wait for it (a second at most) rather than race it for the lock. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_mutex_lock(&s->ckpt->mu);
        while (s->ckpt->restarting &&
               pthread_cond_timedwait(&s->ckpt->restart_cv, &s->ckpt->mu, &until) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&s->ckpt->mu);
    }
    return exec_q(s, s->q[immediate ? Q_BEGIN_IMMEDIATE : Q_BEGIN], err);
}

static int sq_commit(hm_store *st, hm_change *changes, size_t n, hm_error *err)
{
    sq_store *s = SQ(st);
    (void)changes; /* inserted by sq_change_add with their ids: one writer at a time */
    (void)n;
    int rc = exec_q(s, s->q[Q_COMMIT], err);
    if (rc == HM_OK && s->ckpt) {
        pthread_mutex_lock(&s->ckpt->mu);
        s->ckpt->commits++;
        pthread_cond_signal(&s->ckpt->cv);
        pthread_mutex_unlock(&s->ckpt->mu);
    }
    return rc;
}

/* The writer's group commit, durable later (store.h): the log's sync is deferred to
 * hm_store__sqlite_sync() on the writer's completion thread. Only with a checkpointer: the
 * commits of this connection then never checkpoint, and every checkpoint (on the
 * checkpointer's thread, where syncs stay real) syncs the log before it copies frames into
 * the database file, so nothing reaches the database file before it is durable in the log. */
static int sq_commit_early(hm_store *st, hm_change *changes, size_t n, hm_error *err)
{
    sq_store *s = SQ(st);
    int rc;
    if (!s->ckpt || !s->walvfs)
        return sq_commit(st, changes, n, err);
    hm_walvfs_defer_syncs(1);
    rc = exec_q(s, s->q[Q_COMMIT], err);
    hm_walvfs_defer_syncs(0);
    if (rc == HM_OK) {
        pthread_mutex_lock(&s->ckpt->mu);
        s->ckpt->commits++;
        pthread_cond_signal(&s->ckpt->cv);
        pthread_mutex_unlock(&s->ckpt->mu);
    }
    return rc;
}

int hm_store__sqlite_sync(const char *path, hm_error *err)
{
    int rc = hm_walvfs_sync_log(path);
    if (rc != SQLITE_OK)
        return hm_error_set(err, HM_E_IO, NULL, "cannot sync the write-ahead log of %s (%d)", path,
                            rc);
    return HM_OK;
}

static void sq_rollback(hm_store *st)
{
    sq_store *s = SQ(st);
    if (!sqlite3_get_autocommit(s->db))
        exec_q(s, s->q[Q_ROLLBACK], NULL);
}

static int sq_savepoint(hm_store *st, hm_error *err)
{
    return exec_q(SQ(st), SQ(st)->q[Q_SAVEPOINT], err);
}

static int sq_release(hm_store *st, hm_error *err)
{
    return exec_q(SQ(st), SQ(st)->q[Q_RELEASE], err);
}

static void sq_rollback_to(hm_store *st)
{
    sq_store *s = SQ(st);
    exec_q(s, s->q[Q_ROLLBACK_TO], NULL);
    exec_q(s, s->q[Q_RELEASE], NULL);
}

static int sq_area_upsert(hm_store *st, hm_level level, const hm_area *a, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_AREA_UPSERT];

    sqlite3_bind_int(q, 1, (int)level);
    sqlite3_bind_text(q, 2, a->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, a->name ? a->name : "", -1, SQLITE_STATIC);
    bind_text_or_null(q, 4, a->parent_code);
    sqlite3_bind_double(q, 5, a->rep_lon);
    sqlite3_bind_double(q, 6, a->rep_lat);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(q, 7 + i, a->bbox[i]);
    if (a->pop >= 0)
        sqlite3_bind_int64(q, 11, a->pop);
    sqlite3_bind_blob(q, 12, a->wkb, (int)a->wkb_len, SQLITE_STATIC);
    return exec_q(s, q, err);
}

static int sq_area_delete(hm_store *st, hm_level level, const char *code, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_AREA_DELETE];
    int rc;
    sqlite3_bind_int(q, 1, (int)level);
    sqlite3_bind_text(q, 2, code, -1, SQLITE_STATIC);
    rc = exec_q(s, q, err);
    if (rc == HM_OK && sqlite3_changes(s->db) == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no %s area with code %s",
                          hm_level_name(level), code);
    return rc;
}

static int sq_area_delete_level(hm_store *st, hm_level level, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_AREA_DELETE_LEVEL];
    sqlite3_bind_int(q, 1, (int)level);
    return exec_q(s, q, err);
}

static void copy_col(sqlite3_stmt *q, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(out, size, "%s", t ? (const char *)t : "");
}

static char *dup_col(sqlite3_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    return t ? hm_xstrdup((const char *)t) : NULL;
}

static int sq_area_list(hm_store *st, int level, const char *code, hm_area_cb cb, void *ctx,
                        hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int rc = HM_OK, step, found = 0;
    const char *sql =
        "SELECT level, code, name, parent_code, rep_lon, rep_lat, min_lon, min_lat, max_lon, "
        "max_lat, pop, AsBinary(geom) FROM area WHERE (?1 < 0 OR level = ?1) AND "
        "(?2 IS NULL OR code = ?2) ORDER BY level, code";

    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        rc = db_error(s, err);
        goto out;
    }
    sqlite3_bind_int(q, 1, level);
    bind_text_or_null(q, 2, code);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_area_row a;
        memset(&a, 0, sizeof a);
        a.level = sqlite3_column_int(q, 0);
        copy_col(q, 1, a.code, sizeof a.code);
        copy_col(q, 2, a.name, sizeof a.name);
        copy_col(q, 3, a.parent_code, sizeof a.parent_code);
        a.rep_lon = sqlite3_column_double(q, 4);
        a.rep_lat = sqlite3_column_double(q, 5);
        for (int i = 0; i < 4; i++)
            a.bbox[i] = sqlite3_column_double(q, 6 + i);
        a.pop = sqlite3_column_type(q, 10) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 10);
        a.wkb = sqlite3_column_blob(q, 11);
        a.wkb_len = (size_t)sqlite3_column_bytes(q, 11);
        found++;
        if ((rc = cb(ctx, &a)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(s, err);
    else if (code && !found)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no %s area with code %s",
                          hm_level_name((hm_level)level), code);
out:
    sqlite3_finalize(q);
    return rc;
}

static const char *level_column(hm_level level)
{
    switch (level) {
        case HM_LEVEL_WARD:
            return "ward_code";
        case HM_LEVEL_FORMER_WARD:
            return "former_ward_code";
        default:
            return "hamlet_code";
    }
}

static int sq_area_request_count(hm_store *st, hm_level level, const char *code, int64_t *count,
                                 hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    char sql[128];
    int rc = HM_OK;

    snprintf(sql, sizeof sql, "SELECT count(*) FROM request WHERE %s = ?1", level_column(level));
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        rc = db_error(s, err);
        goto out;
    }
    sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = db_error(s, err);
        goto out;
    }
    *count = sqlite3_column_int64(q, 0);
out:
    sqlite3_finalize(q);
    return rc;
}

static int sq_area_counts(hm_store *st, hm_level level, hm_count_cb cb, void *ctx, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    char sql[192];
    int rc = HM_OK, step;
    const char *col = level_column(level);

    snprintf(sql, sizeof sql,
             "SELECT %s, status, category, count(*) FROM request WHERE %s IS NOT NULL "
             "GROUP BY %s, status, category",
             col, col, col);
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        rc = db_error(s, err);
        goto out;
    }
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if ((rc = cb(ctx, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int(q, 1),
                     sqlite3_column_int(q, 2), sqlite3_column_int64(q, 3))) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(s, err);
out:
    sqlite3_finalize(q);
    return rc;
}

static int sq_request_insert(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                             hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REQ_INSERT];
    int rc;

    sqlite3_bind_text(q, 1, r->code, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, token_hash, 32, SQLITE_STATIC);
    sqlite3_bind_double(q, 3, r->lon);
    sqlite3_bind_double(q, 4, r->lat);
    sqlite3_bind_int(q, 5, r->precision);
    sqlite3_bind_int(q, 6, r->category);
    sqlite3_bind_int(q, 7, r->people);
    sqlite3_bind_int(q, 8, (int)r->vulnerable);
    sqlite3_bind_int(q, 9, r->priority);
    bind_text_or_null(q, 10, r->note);
    bind_text_or_null(q, 11, r->name);
    bind_text_or_null(q, 12, r->address);
    bind_text_or_null(q, 13, r->phone);
    sqlite3_bind_int(q, 14, r->status);
    bind_text_or_null(q, 15, r->ward_code);
    bind_text_or_null(q, 16, r->former_ward_code);
    bind_text_or_null(q, 17, r->hamlet_code);
    sqlite3_bind_int(q, 18, r->source);
    sqlite3_bind_int(q, 19, r->verified);
    if (r->team_id > 0)
        sqlite3_bind_int64(q, 20, r->team_id);
    bind_text_or_null(q, 21, r->duplicate_of);
    sqlite3_bind_int64(q, 22, r->created_at);
    bind_text_or_null(q, 23, r->reporter_name);
    bind_text_or_null(q, 24, r->reporter_phone);
    bind_text_or_null(q, 25, r->location_text);
    sqlite3_bind_int(q, 26, r->auto_duplicate);
    if (sqlite3_step(q) != SQLITE_DONE) {
        if ((sqlite3_extended_errcode(s->db)) == SQLITE_CONSTRAINT_UNIQUE)
            rc = hm_error_set(err, HM_E_IN_USE, "code", "request code already in use");
        else
            rc = db_error(s, err);
        done(q);
        return rc;
    }
    done(q);
    r->id = sqlite3_last_insert_rowid(s->db);
    r->updated_at = r->status_at = r->created_at;
    r->safe_at = 0;
    return HM_OK;
}

static void read_request(sqlite3_stmt *q, hm_request *r, uint8_t token_hash[32])
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(q, 0);
    copy_col(q, 1, r->code, sizeof r->code);
    r->lon = sqlite3_column_double(q, 2);
    r->lat = sqlite3_column_double(q, 3);
    r->precision = sqlite3_column_int(q, 4);
    r->category = sqlite3_column_int(q, 5);
    r->people = sqlite3_column_int(q, 6);
    r->vulnerable = (unsigned)sqlite3_column_int(q, 7);
    r->priority = sqlite3_column_int(q, 8);
    r->note = dup_col(q, 9);
    r->name = dup_col(q, 10);
    r->address = dup_col(q, 11);
    r->phone = dup_col(q, 12);
    r->status = sqlite3_column_int(q, 13);
    copy_col(q, 14, r->ward_code, sizeof r->ward_code);
    copy_col(q, 15, r->former_ward_code, sizeof r->former_ward_code);
    copy_col(q, 16, r->hamlet_code, sizeof r->hamlet_code);
    r->source = sqlite3_column_int(q, 17);
    r->verified = sqlite3_column_int(q, 18) != 0;
    r->team_id = sqlite3_column_int64(q, 19);
    copy_col(q, 20, r->duplicate_of, sizeof r->duplicate_of);
    r->created_at = sqlite3_column_int64(q, 21);
    r->updated_at = sqlite3_column_int64(q, 22);
    r->status_at = sqlite3_column_int64(q, 23);
    if (token_hash) {
        if (sqlite3_column_bytes(q, 24) == 32)
            memcpy(token_hash, sqlite3_column_blob(q, 24), 32);
        else
            memset(token_hash, 0, 32);
    }
    r->reporter_name = dup_col(q, 25);
    r->reporter_phone = dup_col(q, 26);
    r->location_text = dup_col(q, 27);
    r->safe_at = sqlite3_column_int64(q, 28);
    r->auto_duplicate = sqlite3_column_int(q, 29) != 0;
    r->delivered = sqlite3_column_int(q, 30) != 0;
    r->delivered_vnd = sqlite3_column_type(q, 31) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 31);
    r->receipt = sqlite3_column_int(q, 32);
    if (r->receipt < HM_RCPT_NONE || r->receipt >= HM_RCPT__COUNT)
        r->receipt = HM_RCPT_NONE;
    r->receipt_vnd = sqlite3_column_type(q, 33) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 33);
    r->receipt_at = sqlite3_column_int64(q, 34);
}

static int sq_request_get(hm_store *st, const char *code, int64_t id, hm_request *out,
                          uint8_t token_hash[32], hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[code ? Q_REQ_BY_CODE : Q_REQ_BY_ID];
    int rc = HM_OK, step;

    if (code)
        sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(q, 1, id);
    step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        read_request(q, out, token_hash);
    else if (step == SQLITE_DONE)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code");
    else
        rc = db_error(s, err);
    done(q);
    return rc;
}

/* The prepared statement for `sql` from the connection's list cache, moved to the front, or
 * prepared now and cached, evicting the least recently used. A cached statement that is
 * still running (a callback listing again with the same filters) is not shared: then a
 * statement of its own is prepared and *owned is set, and the caller finalizes it. Cached
 * statements are reset, never finalized, by the caller. NULL when SQLite cannot prepare. */
static sqlite3_stmt *list_stmt(sq_store *s, const char *sql, bool *owned)
{
    sqlite3_stmt *q = NULL;
    char *key;
    int i;

    *owned = false;
    for (i = 0; i < LIST_CACHE; i++)
        if (s->list_cache[i].sql && strcmp(s->list_cache[i].sql, sql) == 0)
            break;
    if (i < LIST_CACHE) {
        q = s->list_cache[i].q;
        key = s->list_cache[i].sql;
        if (sqlite3_stmt_busy(q)) {
            *owned = true;
            return sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) == SQLITE_OK ? q : NULL;
        }
    } else {
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK)
            return NULL;
        i = LIST_CACHE - 1;
        if (s->list_cache[i].q && sqlite3_stmt_busy(s->list_cache[i].q)) {
            *owned = true; /* the victim is running: leave the cache as it is */
            return q;
        }
        sqlite3_finalize(s->list_cache[i].q);
        free(s->list_cache[i].sql);
        key = hm_xstrdup(sql);
    }
    memmove(&s->list_cache[1], &s->list_cache[0], (size_t)i * sizeof s->list_cache[0]);
    s->list_cache[0].sql = key;
    s->list_cache[0].q = q;
    return q;
}

#define CELL_MAX_ROWS 1024

/* Row or column of the cell of a coordinate `v` (degrees from -90 or -180), clamped to the
 * grid of `n` cells. */
static int64_t cell_index(double v, int64_t n)
{
    double c = floor(v * CELL_PER_DEG);
    if (!(c >= 0)) /* also NaN */
        return 0;
    return c >= (double)(n - 1) ? n - 1 : (int64_t)c;
}

/* The index keys of the cells of `bbox` (minLon, minLat, maxLon, maxLat) plus a margin of one
 * cell: rows from *key0 to *key_last step CELL_COLS, each `ncols` + 1 cells wide. False when
 * the box is too tall to be worth it. */
static bool cell_range(const double *bbox, int64_t *key0, int64_t *key_last, int64_t *ncols)
{
    const int64_t rows = 180 * CELL_PER_DEG;
    int64_t r0 = cell_index(bbox[1] + 90.0, rows) - 1, r1 = cell_index(bbox[3] + 90.0, rows) + 1;
    int64_t c0 = cell_index(bbox[0] + 180.0, CELL_COLS) - 1;
    int64_t c1 = cell_index(bbox[2] + 180.0, CELL_COLS) + 1;

    if (r0 < 0)
        r0 = 0;
    if (c0 < 0)
        c0 = 0;
    if (r1 < r0 || c1 < c0 || r1 - r0 + 1 > CELL_MAX_ROWS)
        return false;
    *key0 = r0 * CELL_COLS + c0;
    *key_last = r1 * CELL_COLS + c0;
    *ncols = c1 - c0;
    return true;
}

/* " AND col IN (...)" for the bits of `mask` below `n` (nothing when mask is 0 or all). */
static void add_mask(hm_buf *sql, const char *col, unsigned mask, int n)
{
    char tmp[32];
    int k = 0;
    if (!mask || mask == (1u << n) - 1)
        return;
    hm_buf_printf(sql, " AND %s IN (", col);
    for (int i = 0; i < n; i++)
        if (mask & (1u << i)) {
            snprintf(tmp, sizeof tmp, "%s%d", k++ ? "," : "", i);
            hm_buf_puts(sql, tmp);
        }
    if (!k)
        hm_buf_puts(sql, "-1");
    hm_buf_puts(sql, ")");
}

static int sq_request_list(hm_store *st, const hm_request_filter *f, hm_request_cb cb, void *ctx,
                           hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    hm_buf sql;
    int rc = HM_OK, step, n = 0;
    char tmp[64];
    bool owned = false, has_cells = false;
    int64_t key0 = 0, key_last = 0, ncols = 0;

    hm_buf_init(&sql);
    /* Flagged requests are few among the resolved: read them through their partial index
     * (without statistics SQLite would walk every resolved request by status). */
    hm_buf_puts(&sql, f->flagged ? "SELECT " REQ_COLS
                                   " FROM request INDEXED BY request_flag WHERE 1"
                                 : "SELECT " REQ_COLS " FROM request WHERE 1");
    if (f->has_bbox) {
        /* The cells of the box, one range of index keys per row of cells, one cell wider on
         * each side than the box (floating point at cell borders); the exact test on lon and
         * lat follows. A box of more than CELL_MAX_ROWS rows (over a degree high) reads the
         * table in id order instead: it holds most requests anyway. */
        has_cells = cell_range(f->bbox, &key0, &key_last, &ncols);
        if (has_cells)
            hm_buf_puts(&sql, " AND id IN (SELECT request.id FROM (WITH RECURSIVE r(k) AS "
                              "(SELECT ?14 UNION ALL SELECT k + 368640 FROM r WHERE k + 368640 <= "
                              "?15) SELECT k FROM r) AS r, request WHERE " CELL_EXPR
                              " BETWEEN r.k AND r.k + ?16)");
        hm_buf_puts(&sql, " AND lon BETWEEN ?1 AND ?3 AND lat BETWEEN ?2 AND ?4");
    }
    if (f->status_mask && f->status_mask != (1u << HM_ST__COUNT) - 1) {
        hm_buf_puts(&sql, " AND status IN (");
        for (int i = 0; i < HM_ST__COUNT; i++)
            if (f->status_mask & (1u << i)) {
                snprintf(tmp, sizeof tmp, "%s%d", n++ ? "," : "", i);
                hm_buf_puts(&sql, tmp);
            }
        hm_buf_puts(&sql, ")");
    }
    if (f->category >= 0)
        hm_buf_puts(&sql, " AND category = ?5");
    if (f->ward_code)
        hm_buf_puts(&sql, " AND ward_code = ?6");
    if (f->phone)
        hm_buf_puts(&sql, " AND phone = ?7");
    if (f->since_ms > 0)
        hm_buf_puts(&sql, " AND updated_at >= ?8");
    if (f->after_id > 0)
        hm_buf_puts(&sql, f->order == HM_ORDER_ID_DESC ? " AND id < ?9" : " AND id > ?9");
    if (f->created_since_ms > 0)
        hm_buf_puts(&sql, " AND created_at >= ?13");
    if (f->team_id > 0)
        hm_buf_puts(&sql, " AND team_id = ?10");
    if (f->verified >= 0)
        hm_buf_puts(&sql, " AND verified = ?11");
    if (f->former_ward_code)
        hm_buf_puts(&sql, " AND former_ward_code = ?21");
    if (f->hamlet_code)
        hm_buf_puts(&sql, " AND hamlet_code = ?22");
    if (f->duplicate_of)
        hm_buf_puts(&sql, " AND duplicate_of = ?23");
    if (f->q)
        hm_buf_puts(&sql,
                    " AND hm_fold_has(coalesce(note, '') || ' ' || coalesce(address, ''), ?17)");
    add_mask(&sql, "priority", f->priority_mask, 2);
    add_mask(&sql, "source", f->source_mask, HM_SRC__COUNT);
    if (f->flagged) /* exactly the terms of the partial index request_flag */
        hm_buf_puts(&sql, " AND status = 3 AND receipt IN (2, 3)");
    if (f->order == HM_ORDER_URGENT && f->has_key)
        hm_buf_puts(&sql, " AND (priority < ?18 OR (priority = ?18 AND (created_at > ?19 OR "
                          "(created_at = ?19 AND id > ?20))))");
    hm_buf_puts(&sql, f->order == HM_ORDER_ID_DESC  ? " ORDER BY id DESC"
                      : f->order == HM_ORDER_URGENT ? " ORDER BY priority DESC, created_at, id"
                                                    : " ORDER BY id");
    if (f->limit > 0)
        hm_buf_puts(&sql, " LIMIT ?12");

    if (!(q = list_stmt(s, sql.data, &owned))) {
        rc = db_error(s, err);
        goto out;
    }
    if (f->has_bbox)
        for (int i = 0; i < 4; i++)
            sqlite3_bind_double(q, i + 1, f->bbox[i]);
    if (f->category >= 0)
        sqlite3_bind_int(q, 5, f->category);
    if (f->ward_code)
        sqlite3_bind_text(q, 6, f->ward_code, -1, SQLITE_STATIC);
    if (f->phone)
        sqlite3_bind_text(q, 7, f->phone, -1, SQLITE_STATIC);
    if (f->since_ms > 0)
        sqlite3_bind_int64(q, 8, f->since_ms);
    if (f->after_id > 0)
        sqlite3_bind_int64(q, 9, f->after_id);
    if (f->team_id > 0)
        sqlite3_bind_int64(q, 10, f->team_id);
    if (f->verified >= 0)
        sqlite3_bind_int(q, 11, f->verified);
    if (f->limit > 0)
        sqlite3_bind_int64(q, 12, (sqlite3_int64)f->limit);
    if (f->created_since_ms > 0)
        sqlite3_bind_int64(q, 13, f->created_since_ms);
    if (f->former_ward_code)
        sqlite3_bind_text(q, 21, f->former_ward_code, -1, SQLITE_STATIC);
    if (f->hamlet_code)
        sqlite3_bind_text(q, 22, f->hamlet_code, -1, SQLITE_STATIC);
    if (f->duplicate_of)
        sqlite3_bind_text(q, 23, f->duplicate_of, -1, SQLITE_STATIC);
    if (f->q)
        sqlite3_bind_text(q, 17, f->q, -1, SQLITE_STATIC);
    if (f->order == HM_ORDER_URGENT && f->has_key) {
        sqlite3_bind_int(q, 18, f->after_key.priority);
        sqlite3_bind_int64(q, 19, f->after_key.created_at);
        sqlite3_bind_int64(q, 20, f->after_key.id);
    }
    if (has_cells) {
        sqlite3_bind_int64(q, 14, key0);
        sqlite3_bind_int64(q, 15, key_last);
        sqlite3_bind_int64(q, 16, ncols);
    }
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_request r;
        read_request(q, &r, NULL);
        rc = cb(ctx, &r);
        hm_request_clear(&r);
        if (rc)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(s, err);
out:
    if (owned) {
        sqlite3_finalize(q);
    } else if (q) {
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
    }
    hm_buf_clear(&sql);
    return rc;
}

static int sq_request_set_status(hm_store *st, int64_t id, int from, int to, int64_t team_id,
                                 const char *duplicate_of, int64_t now, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REQ_SET_STATUS];
    int rc;

    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, from);
    sqlite3_bind_int(q, 3, to);
    if (team_id > 0)
        sqlite3_bind_int64(q, 4, team_id);
    bind_text_or_null(q, 5, duplicate_of);
    sqlite3_bind_int64(q, 6, now);
    rc = exec_q(s, q, err);
    if (rc == HM_OK && sqlite3_changes(s->db) == 0)
        rc = hm_error_set(err, HM_E_ALREADY_CLAIMED, NULL,
                          "the request changed in the meantime; reload it");
    return rc;
}

static int sq_request_set_verified(hm_store *st, int64_t id, bool verified, int64_t now,
                                   hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REQ_SET_VERIFIED];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int(q, 3, verified);
    return exec_q(s, q, err);
}

static int sq_request_set_safe(hm_store *st, int64_t id, int64_t at, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REQ_SET_SAFE];
    int rc;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, at);
    rc = exec_q(s, q, err);
    if (rc == HM_OK && sqlite3_changes(s->db) == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code");
    return rc;
}

static int sq_request_update(hm_store *st, const hm_request *r, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REQ_UPDATE];
    int rc;
    sqlite3_bind_int64(q, 1, r->id);
    sqlite3_bind_double(q, 2, r->lon);
    sqlite3_bind_double(q, 3, r->lat);
    sqlite3_bind_int(q, 4, r->precision);
    sqlite3_bind_int(q, 5, r->category);
    sqlite3_bind_int(q, 6, r->people);
    sqlite3_bind_int(q, 7, (int)r->vulnerable);
    sqlite3_bind_int(q, 8, r->priority);
    bind_text_or_null(q, 9, r->note);
    bind_text_or_null(q, 10, r->name);
    bind_text_or_null(q, 11, r->address);
    bind_text_or_null(q, 12, r->phone);
    bind_text_or_null(q, 13, r->ward_code);
    bind_text_or_null(q, 14, r->former_ward_code);
    bind_text_or_null(q, 15, r->hamlet_code);
    sqlite3_bind_int64(q, 16, r->updated_at);
    rc = exec_q(s, q, err);
    if (rc == HM_OK && sqlite3_changes(s->db) == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code");
    return rc;
}

static int sq_request_set_areas(hm_store *st, int64_t id, const char *ward, const char *former,
                                const char *hamlet, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REQ_SET_AREAS];
    sqlite3_bind_int64(q, 1, id);
    bind_text_or_null(q, 2, ward);
    bind_text_or_null(q, 3, former);
    bind_text_or_null(q, 4, hamlet);
    return exec_q(s, q, err);
}

/* Run `sql` (no results) with one bound integer `a` (and `b` when b >= 0). */
static int exec_bound(sq_store *s, const char *sql, int64_t a, int64_t b, hm_error *err)
{
    sqlite3_stmt *q = NULL;
    int rc = HM_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        rc = db_error(s, err);
        goto out;
    }
    sqlite3_bind_int64(q, 1, a);
    if (b >= 0)
        sqlite3_bind_int64(q, 2, b);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_error(s, err);
out:
    sqlite3_finalize(q);
    return rc;
}

static int sq_request_purge(hm_store *st, int64_t before_ms, int64_t *count, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int64_t *ids = NULL, now = hm_now_ms();
    size_t n = 0, cap = 0;
    int rc = HM_OK, step, log = 0, done = 0;
    /* Closed requests with something left to erase: a contact column, or in their history
     * (other than purge's own entries) a note or the values of a contact edit. */
    const char *select =
        "SELECT id FROM request WHERE status IN (3, 4, 5) AND updated_at < ?1 AND (name IS NOT "
        "NULL OR phone IS NOT NULL OR note IS NOT NULL OR address IS NOT NULL OR reporter_name "
        "IS NOT NULL OR reporter_phone IS NOT NULL OR location_text IS NOT NULL OR EXISTS "
        "(SELECT 1 FROM history h WHERE h.request_id = request.id AND h.kind <> 'purge' AND "
        "(h.note IS NOT NULL OR (h.contact <> 0 AND (h.old_value IS NOT NULL OR h.new_value IS "
        "NOT NULL))))) ORDER BY id";

    /* Erased cells and freed pages are overwritten with zeros rather than left in the file. */
    if ((rc = exec_sql(s, "PRAGMA secure_delete = ON", err)) ||
        (rc = exec_sql(s, "BEGIN IMMEDIATE", err)))
        return rc;
    if (sqlite3_prepare_v2(s->db, select, -1, &q, NULL) != SQLITE_OK) {
        rc = db_error(s, err);
        goto fail;
    }
    sqlite3_bind_int64(q, 1, before_ms);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            ids = hm_xrealloc(ids, cap * sizeof *ids);
        }
        ids[n++] = sqlite3_column_int64(q, 0);
    }
    if (step != SQLITE_DONE) {
        rc = db_error(s, err);
        goto fail;
    }
    sqlite3_finalize(q);
    q = NULL;
    for (size_t i = 0; i < n; i++) {
        /* The history trigger lets a note, and the values of an entry, become NULL and refuses
         * every other change. */
        if ((rc = exec_bound(s,
                             "UPDATE request SET name = NULL, phone = NULL, note = NULL, "
                             "address = NULL, reporter_name = NULL, reporter_phone = NULL, "
                             "location_text = NULL WHERE id = ?1",
                             ids[i], -1, err)) ||
            (rc = exec_bound(s,
                             "UPDATE history SET note = NULL, old_value = CASE WHEN contact "
                             "<> 0 THEN NULL ELSE old_value END, new_value = CASE WHEN contact "
                             "<> 0 THEN NULL ELSE new_value END, salt = CASE WHEN contact <> 0 "
                             "THEN NULL ELSE salt END WHERE request_id = ?1 AND kind "
                             "<> 'purge' AND (note IS NOT NULL OR (contact <> 0 AND (old_value "
                             "IS NOT NULL OR new_value IS NOT NULL)))",
                             ids[i], -1, err)) ||
            /* Its own entry, chained like every other (store.c). */
            (rc = hm_store_history_append(st, ids[i], now, "system", -1, -1, "contact data erased",
                                          "purge", err)))
            goto fail;
    }
    if ((rc = exec_sql(s, "COMMIT", err)))
        goto fail;
    *count = (int64_t)n;
    free(ids);
    ids = NULL;
    if (n == 0)
        return HM_OK;
    /* What was erased may still be in free pages of the file (from before secure_delete) and in
     * the write-ahead log: rebuild the file, then copy the log into it and empty the log. */
    if ((rc = exec_sql(s, "VACUUM", err)))
        return rc;
    sqlite3_busy_timeout(s->db, 30000);
    step = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    sqlite3_busy_timeout(s->db, 10000);
    if (step != SQLITE_OK)
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL,
                            "contact data erased, but the database is in use and its log still "
                            "holds old copies; run purge again while no server uses it (%s)",
                            sqlite3_errstr(step));
    return HM_OK;
fail:
    sqlite3_finalize(q);
    free(ids);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sq_team_open_count(hm_store *st, int64_t team_id, int64_t *count, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_TEAM_OPEN_COUNT];
    int rc = HM_OK;
    sqlite3_bind_int64(q, 1, team_id);
    if (sqlite3_step(q) == SQLITE_ROW)
        *count = sqlite3_column_int64(q, 0);
    else
        rc = db_error(s, err);
    done(q);
    return rc;
}

static int sq_history_add(hm_store *st, int64_t request_id, const hm_history *h, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_HIST_ADD];
    sqlite3_bind_int64(q, 1, request_id);
    sqlite3_bind_int64(q, 2, h->at);
    sqlite3_bind_text(q, 3, h->actor, -1, SQLITE_STATIC);
    if (h->from >= 0)
        sqlite3_bind_int(q, 4, h->from);
    if (h->to >= 0)
        sqlite3_bind_int(q, 5, h->to);
    bind_text_or_null(q, 6, h->note);
    sqlite3_bind_text(q, 7, h->kind, -1, SQLITE_STATIC);
    bind_text_or_null(q, 8, h->field);
    bind_text_or_null(q, 9, h->old_value);
    bind_text_or_null(q, 10, h->new_value);
    sqlite3_bind_int(q, 11, h->contact);
    bind_text_or_null(q, 12, h->note_sha256);
    bind_text_or_null(q, 13, h->old_sha256);
    bind_text_or_null(q, 14, h->new_sha256);
    bind_text_or_null(q, 15, h->detail);
    bind_text_or_null(q, 16, h->hash);
    bind_text_or_null(q, 17, h->salt);
    return exec_q(s, q, err);
}

/* An entry from the columns HIST_COLS starting at `col`. */
static void read_history(sqlite3_stmt *q, int col, hm_history *h)
{
    memset(h, 0, sizeof *h);
    h->at = sqlite3_column_int64(q, col);
    copy_col(q, col + 1, h->actor, sizeof h->actor);
    h->from = sqlite3_column_type(q, col + 2) == SQLITE_NULL ? -1 : sqlite3_column_int(q, col + 2);
    h->to = sqlite3_column_type(q, col + 3) == SQLITE_NULL ? -1 : sqlite3_column_int(q, col + 3);
    h->note = dup_col(q, col + 4);
    copy_col(q, col + 5, h->kind, sizeof h->kind);
    copy_col(q, col + 6, h->field, sizeof h->field);
    h->old_value = dup_col(q, col + 7);
    h->new_value = dup_col(q, col + 8);
    h->contact = sqlite3_column_int(q, col + 9) != 0;
    h->id = sqlite3_column_int64(q, col + 10);
    copy_col(q, col + 11, h->note_sha256, sizeof h->note_sha256);
    copy_col(q, col + 12, h->old_sha256, sizeof h->old_sha256);
    copy_col(q, col + 13, h->new_sha256, sizeof h->new_sha256);
    h->detail = dup_col(q, col + 14);
    copy_col(q, col + 15, h->hash, sizeof h->hash);
    copy_col(q, col + 16, h->salt, sizeof h->salt);
}

static int sq_history_list(hm_store *st, int64_t request_id, hm_history_cb cb, void *ctx,
                           hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_HIST_LIST];
    int rc = HM_OK, step;

    sqlite3_bind_int64(q, 1, request_id);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_history h;
        read_history(q, 0, &h);
        rc = cb(ctx, &h);
        hm_history_clear(&h);
        if (rc)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(s, err);
out:
    done(q);
    return rc;
}

static int sq_history_head(hm_store *st, int64_t request_id, char code[16], int64_t *last_id,
                           char hash[65], hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_HIST_HEAD];
    int rc = HM_OK, step;

    sqlite3_bind_int64(q, 1, request_id);
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        copy_col(q, 0, code, 16);
        *last_id = sqlite3_column_int64(q, 1);
        copy_col(q, 2, hash, 65);
    } else if (step == SQLITE_DONE) {
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this id");
    } else {
        rc = db_error(s, err);
    }
    done(q);
    return rc;
}

static int sq_history_walk(hm_store *st, int64_t after_id, int64_t upto_id, hm_history_walk_cb cb,
                           void *ctx, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_HIST_WALK];
    int rc = HM_OK, step;
    bool owned = false;

    /* A walk inside a walk's callback (never today) gets a statement of its own. */
    if (sqlite3_stmt_busy(q)) {
        if (sqlite3_prepare_v2(s->db, q_sql[Q_HIST_WALK], -1, &q, NULL) != SQLITE_OK)
            return db_error(s, err);
        owned = true;
    }
    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, upto_id);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_history h;
        char code[16];
        copy_col(q, 1, code, sizeof code);
        read_history(q, 2, &h);
        rc = cb(ctx, sqlite3_column_int64(q, 0), code, &h);
        hm_history_clear(&h);
        if (rc)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(s, err);
out:
    if (owned)
        sqlite3_finalize(q);
    else
        done(q);
    return rc;
}

static int sq_history_set_hash(hm_store *st, const hm_history *h, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_HIST_SET_HASH];
    sqlite3_bind_int64(q, 1, h->id);
    bind_text_or_null(q, 2, h->note_sha256);
    bind_text_or_null(q, 3, h->old_sha256);
    bind_text_or_null(q, 4, h->new_sha256);
    sqlite3_bind_text(q, 5, h->hash, -1, SQLITE_STATIC);
    bind_text_or_null(q, 6, h->salt);
    return exec_q(s, q, err);
}

static int sq_history_unchained(hm_store *st, int64_t *upto, int64_t *last_request, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_CHAIN_UNCHAINED];
    int rc = HM_OK, step = sqlite3_step(q);
    *upto = *last_request = 0;
    if (step == SQLITE_ROW) {
        *upto = sqlite3_column_int64(q, 0);
        *last_request = sqlite3_column_int64(q, 1);
    } else if (step != SQLITE_DONE) {
        rc = db_error(s, err);
    }
    done(q);
    return rc;
}

static int sq_history_chained(hm_store *st, hm_error *err)
{
    sq_store *s = SQ(st);
    return exec_q(s, s->q[Q_CHAIN_DONE], err);
}

static int sq_history_count(hm_store *st, int64_t request_id, const char *kind, int64_t *n,
                            hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_HIST_COUNT];
    int rc = HM_OK;
    sqlite3_bind_int64(q, 1, request_id);
    sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        *n = sqlite3_column_int64(q, 0);
    else
        rc = db_error(s, err);
    done(q);
    return rc;
}

static int sq_request_set_delivery(hm_store *st, int64_t id, bool delivered, int64_t amount_vnd,
                                   hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REQ_SET_DELIVERY];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, delivered);
    if (delivered && amount_vnd >= 0)
        sqlite3_bind_int64(q, 3, amount_vnd);
    return exec_q(s, q, err);
}

static int sq_request_set_receipt(hm_store *st, int64_t id, int receipt, int64_t amount_vnd,
                                  int64_t at, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REQ_SET_RECEIPT];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, receipt);
    if (receipt != HM_RCPT_NONE && amount_vnd >= 0)
        sqlite3_bind_int64(q, 3, amount_vnd);
    sqlite3_bind_int64(q, 4, at);
    return exec_q(s, q, err);
}

static int sq_idem_get(hm_store *st, const uint8_t key_id[32], int64_t since_ms,
                       hm_idem_record *out, bool *found, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_IDEM_GET];
    int rc = HM_OK, step;

    *found = false;
    sqlite3_bind_blob(q, 1, key_id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, since_ms);
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(q, 2);
        memset(out, 0, sizeof *out);
        memcpy(out->key_id, key_id, 32);
        if (sqlite3_column_bytes(q, 0) == 32)
            memcpy(out->body_sha256, sqlite3_column_blob(q, 0), 32);
        out->status = sqlite3_column_int(q, 1);
        out->answer = hm_xmalloc(n ? n : 1);
        if (n)
            memcpy(out->answer, sqlite3_column_blob(q, 2), n);
        out->answer_len = n;
        out->created_at = sqlite3_column_int64(q, 3);
        *found = true;
    } else if (step != SQLITE_DONE) {
        rc = db_error(s, err);
    }
    done(q);
    return rc;
}

static int sq_idem_put(hm_store *st, const hm_idem_record *rec, int64_t replace_before_ms,
                       hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_IDEM_PUT];
    int rc;
    sqlite3_bind_blob(q, 1, rec->key_id, 32, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, rec->body_sha256, 32, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, rec->status);
    sqlite3_bind_blob(q, 4, rec->answer, (int)rec->answer_len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, rec->created_at);
    sqlite3_bind_int64(q, 6, replace_before_ms);
    rc = exec_q(s, q, err);
    if (rc == HM_OK && sqlite3_changes(s->db) == 0)
        rc = hm_error_set(err, HM_E_UNAVAILABLE, "Idempotency-Key",
                          "a request with this Idempotency-Key is being stored; send it again");
    return rc;
}

static int sq_idem_purge(hm_store *st, int64_t before_ms, int64_t *n, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_IDEM_PURGE];
    int rc;
    sqlite3_bind_int64(q, 1, before_ms);
    rc = exec_q(s, q, err);
    if (rc == HM_OK)
        *n = sqlite3_changes(s->db);
    return rc;
}

static int sq_reveal_seen(hm_store *st, int64_t request_id, const char *actor, int64_t since_ms,
                          bool *seen, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_REVEAL_SEEN];
    int rc = HM_OK, step;
    sqlite3_bind_int64(q, 1, request_id);
    sqlite3_bind_text(q, 2, actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, since_ms);
    step = sqlite3_step(q);
    if (step == SQLITE_ROW || step == SQLITE_DONE)
        *seen = step == SQLITE_ROW;
    else
        rc = db_error(s, err);
    done(q);
    return rc;
}

static void read_team(sqlite3_stmt *q, hm_team *t)
{
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(q, 0);
    copy_col(q, 1, t->name, sizeof t->name);
    t->role = sqlite3_column_int(q, 2);
    t->status = sqlite3_column_int(q, 3);
    copy_col(q, 4, t->capabilities, sizeof t->capabilities);
    t->has_pos = sqlite3_column_type(q, 5) != SQLITE_NULL;
    t->lon = sqlite3_column_double(q, 5);
    t->lat = sqlite3_column_double(q, 6);
    t->pos_at = sqlite3_column_int64(q, 7);
    t->disabled = sqlite3_column_int(q, 8) != 0;
    t->created_at = sqlite3_column_int64(q, 9);
}

static int sq_team_insert(hm_store *st, hm_team *t, const uint8_t token_hash[32], hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_TEAM_INSERT];
    int rc;
    sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, t->role);
    sqlite3_bind_blob(q, 3, token_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, t->status);
    sqlite3_bind_text(q, 5, t->capabilities[0] ? t->capabilities : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, t->created_at);
    rc = exec_q(s, q, err);
    if (rc == HM_OK)
        t->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int team_one(sq_store *s, sqlite3_stmt *q, hm_team *out, int missing, hm_error *err)
{
    int rc = HM_OK, step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        read_team(q, out);
    else if (step == SQLITE_DONE)
        rc = missing == HM_E_UNAUTHORIZED
                 ? hm_error_set(err, HM_E_UNAUTHORIZED, NULL, "unknown or disabled token")
                 : hm_error_set(err, HM_E_NOT_FOUND, "team_id", "no such team");
    else
        rc = db_error(s, err);
    done(q);
    return rc;
}

static int sq_team_by_token(hm_store *st, const uint8_t token_hash[32], hm_team *out, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_TEAM_BY_TOKEN];
    sqlite3_bind_blob(q, 1, token_hash, 32, SQLITE_STATIC);
    return team_one(s, q, out, HM_E_UNAUTHORIZED, err);
}

static int sq_team_get(hm_store *st, int64_t id, hm_team *out, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_TEAM_GET];
    sqlite3_bind_int64(q, 1, id);
    return team_one(s, q, out, HM_E_NOT_FOUND, err);
}

static int sq_team_list(hm_store *st, bool include_disabled, hm_team_cb cb, void *ctx,
                        hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int rc = HM_OK, step;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " TEAM_COLS " FROM team WHERE ?1 OR disabled = 0 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        rc = db_error(s, err);
        goto out;
    }
    sqlite3_bind_int(q, 1, include_disabled);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_team t;
        read_team(q, &t);
        if ((rc = cb(ctx, &t)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(s, err);
out:
    sqlite3_finalize(q);
    return rc;
}

static int team_update(sq_store *s, sqlite3_stmt *q, hm_error *err)
{
    int rc = exec_q(s, q, err);
    if (rc == HM_OK && sqlite3_changes(s->db) == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, "team_id", "no such team");
    return rc;
}

static int sq_team_set_disabled(hm_store *st, int64_t id, bool disabled, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_TEAM_SET_DISABLED];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, disabled);
    return team_update(s, q, err);
}

static int sq_team_set_token(hm_store *st, int64_t id, const uint8_t token_hash[32], hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_TEAM_SET_TOKEN];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_blob(q, 2, token_hash, 32, SQLITE_STATIC);
    return team_update(s, q, err);
}

static int sq_team_set_position(hm_store *st, int64_t id, double lon, double lat, int64_t at,
                                hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_TEAM_SET_POS];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_double(q, 2, lon);
    sqlite3_bind_double(q, 3, lat);
    sqlite3_bind_int64(q, 4, at);
    return team_update(s, q, err);
}

static int sq_team_set_status(hm_store *st, int64_t id, int status, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_TEAM_SET_STATUS];
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, status);
    return team_update(s, q, err);
}

static int sq_stats(hm_store *st, int64_t now, int64_t counts[6][7], int64_t hourly[24],
                    double *median_min, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int rc = HM_OK, step;
    int64_t nres = 0;

    memset(counts, 0, sizeof(int64_t) * 6 * 7);
    memset(hourly, 0, sizeof(int64_t) * 24);
    *median_min = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT status, category, count(*) FROM request GROUP BY status, "
                           "category",
                           -1, &q, NULL) != SQLITE_OK)
        goto dberr;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int a = sqlite3_column_int(q, 0), b = sqlite3_column_int(q, 1);
        if (a >= 0 && a < 6 && b >= 0 && b < 7)
            counts[a][b] = sqlite3_column_int64(q, 2);
    }
    if (step != SQLITE_DONE)
        goto dberr;
    sqlite3_finalize(q);
    q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (created_at - ?1) / 3600000, count(*) FROM request "
                           "WHERE created_at >= ?1 AND created_at < ?2 GROUP BY 1",
                           -1, &q, NULL) != SQLITE_OK)
        goto dberr;
    sqlite3_bind_int64(q, 1, now - 24 * 3600000LL);
    sqlite3_bind_int64(q, 2, now);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int h = sqlite3_column_int(q, 0);
        if (h >= 0 && h < 24)
            hourly[h] = sqlite3_column_int64(q, 1);
    }
    if (step != SQLITE_DONE)
        goto dberr;
    sqlite3_finalize(q);
    q = NULL;
    for (int i = 0; i < 7; i++)
        nres += counts[HM_ST_RESOLVED][i];
    if (nres > 0) {
        if (sqlite3_prepare_v2(s->db,
                               "SELECT (status_at - created_at) / 60000.0 FROM request WHERE "
                               "status = 3 ORDER BY 1 LIMIT 1 OFFSET ?1",
                               -1, &q, NULL) != SQLITE_OK)
            goto dberr;
        sqlite3_bind_int64(q, 1, (nres - 1) / 2);
        if (sqlite3_step(q) == SQLITE_ROW)
            *median_min = sqlite3_column_double(q, 0);
    }
    goto out;
dberr:
    rc = db_error(s, err);
out:
    sqlite3_finalize(q);
    return rc;
}

static int sq_backup(hm_store *st, const char *out_path, bool overwrite, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3 *dst = NULL;
    sqlite3_backup *b;
    int rc = HM_OK, step, fd;

    /* Created private, never through a symbolic link (hm_file.h); SQLite then writes into the
     * empty file and gives its journal the same mode. */
    if ((fd = hm_file_create(out_path, overwrite, err)) < 0)
        return err ? err->code : HM_E_IO;
    close(fd);
    if (sqlite3_open_v2(out_path, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = hm_error_set(err, HM_E_IO, NULL, "cannot open %s: %s", out_path,
                          dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    b = sqlite3_backup_init(dst, "main", s->db, "main");
    if (!b) {
        rc = hm_error_set(err, HM_E_IO, NULL, "backup failed: %s", sqlite3_errmsg(dst));
        goto out;
    }
    /* Copy in steps so a serving process keeps writing in between. */
    do {
        step = sqlite3_backup_step(b, 256);
        if (step == SQLITE_BUSY || step == SQLITE_LOCKED)
            sqlite3_sleep(20);
    } while (step == SQLITE_OK || step == SQLITE_BUSY || step == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (step != SQLITE_DONE)
        rc = hm_error_set(err, HM_E_IO, NULL, "backup failed: %s", sqlite3_errstr(step));
out:
    sqlite3_close_v2(dst);
    return rc;
}

static int sq_check(hm_store *st, char *msg, size_t msg_size, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int rc = HM_OK;
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = db_error(s, err);
        goto out;
    }
    copy_col(q, 0, msg, msg_size);
out:
    sqlite3_finalize(q);
    return rc;
}

/* Copy what the write-ahead log holds into the database file (durable: the database file is
 * synced). `restart` false: as far as readers allow, without waiting for anyone (passive).
 * `restart` true: wait (up to 100 ms, then HM_E_UNAVAILABLE) for the writer and the readers,
 * copy everything and make the next write start the log from its beginning, so that it
 * stops growing; writers wait meanwhile. Sets *log_pages and *done_pages (may be NULL) to the
 * log's size and the pages now in the database file. */
static int checkpoint(sq_store *s, bool restart, int *log_pages, int *done_pages, hm_error *err)
{
    int log = 0, done = 0, rc;
    /* A restart holds writers off while it waits for readers: let it wait briefly and give up
     * (SQLITE_BUSY, try again later) rather than stall writes behind a long read. (The
     * checkpointer's restart sets a handler of its own, ckpt_busy.) */
    if (restart && !s->ckpt_busy)
        sqlite3_busy_timeout(s->db, 100);
    /* synchronous = FULL on this connection: the database file is synced before the log can
     * be reused, so what the log held stays durable. */
    rc = sqlite3_wal_checkpoint_v2(
        s->db, NULL, restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (restart && !s->ckpt_busy)
        sqlite3_busy_timeout(s->db, 10000);
    if (rc != SQLITE_OK)
        return db_error(s, err);
    if (log_pages)
        *log_pages = log;
    if (done_pages)
        *done_pages = done;
    return HM_OK;
}

#define CKPT_PERIOD_MS     100        /* at most this often; each checkpoint syncs the database */
#define CKPT_RESTART_BYTES (64 << 20) /* a log this long is restarted */
#define CKPT_RESTART_MS    500        /* a restart waits this long for the lock and readers */

/* The restart's busy handler: the writer begins no transaction while the restart runs
 * (sq_begin), so the lock comes with the writer's next commit, which signals k->cv; readers
 * finish within milliseconds. Gives up after CKPT_RESTART_MS. */
static int ckpt_busy(void *arg, int tries)
{
    sq_ckpt *k = arg;
    struct timespec until;
    unsigned long long seen;
    (void)tries;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 1000000L; /* a commit, or a millisecond */
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&k->mu);
    seen = k->commits;
    while (k->commits == seen && !k->stop &&
           pthread_cond_timedwait(&k->cv, &k->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&k->mu);
    clock_gettime(CLOCK_MONOTONIC, &until);
    return !k->stop && (until.tv_sec - k->conn->busy_since.tv_sec) * 1000 +
                               (until.tv_nsec - k->conn->busy_since.tv_nsec) / 1000000 <
                           CKPT_RESTART_MS;
}

/* Restart the write-ahead log of `log_pages` pages: passive checkpoints cannot while the
 * writer keeps appending to it, so the writer waits here for the few pages the last passive
 * checkpoint left (issue 18: the writer starts no transaction meanwhile, and the restart
 * takes the lock at its next commit; racing it through a busy handler's sleeps took 100-200
 * ms). Checkpointer thread only. */
static void restart_log(sq_ckpt *k, int log_pages)
{
    hm_error err = {0};
    struct timespec t0, t1;
    long ms;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&k->mu);
    k->restarting = true;
    pthread_mutex_unlock(&k->mu);
    k->conn->busy_since = t0;
    k->conn->ckpt_busy = true;
    sqlite3_busy_handler(k->conn->db, ckpt_busy, k);
    rc = checkpoint(k->conn, true, NULL, NULL, &err);
    sqlite3_busy_timeout(k->conn->db, 10000);
    k->conn->ckpt_busy = false;
    pthread_mutex_lock(&k->mu);
    k->restarting = false;
    pthread_cond_broadcast(&k->restart_cv);
    pthread_mutex_unlock(&k->mu);
    /* Busy (a long read): tried again after the next commits. Worth a warning only when the
     * log keeps growing. */
    if (rc != HM_OK)
        hm_log(log_pages > 4 * k->restart_pages ? HM_LOG_WARN : HM_LOG_DEBUG,
               "event=checkpoint_failed mode=restart pages=%d msg=\"%s\"", log_pages, err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    /* Writes wait for it: worth a line when it is long. */
    hm_log(ms >= 100 ? HM_LOG_INFO : HM_LOG_DEBUG, "event=checkpoint mode=restart pages=%d ms=%ld",
           log_pages, ms);
}

static void *ckpt_main(void *arg)
{
    sq_ckpt *k = arg;
    unsigned long long seen = 0;
    unsigned failures = 0;

    prctl(PR_SET_NAME, "hm-checkpoint", 0, 0, 0); /* for top -H and perf */
    pthread_mutex_lock(&k->mu);
    for (;;) {
        hm_error err = {0};
        struct timespec t;
        int log_pages = 0;
        while (!k->stop && k->commits == seen)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->stop)
            break;
        seen = k->commits;
        pthread_mutex_unlock(&k->mu);
        if (checkpoint(k->conn, false, &log_pages, NULL, &err) != HM_OK) {
            hm_log(HM_LOG_DEBUG, "event=checkpoint_failed msg=\"%s\"", err.msg);
            /* A connection opened while the file was read-only stays so (issue 6): after a
             * run of failures take a new one, or the log would grow for ever. */
            if (++failures % 16 == 0) {
                hm_error oerr = {0};
                hm_store *st = hm_store__sqlite_open(k->path, 0, &oerr);
                if (st) {
                    sq_close(&k->conn->base);
                    k->conn = SQ(st);
                } else {
                    hm_log(HM_LOG_WARN, "event=checkpointer_reopen_failed msg=\"%s\"", oerr.msg);
                }
            }
        } else {
            failures = 0;
            /* Another pass first while the writer goes on: the restart, which holds the writer
             * off, then copies only what was committed during that pass. */
            if (log_pages > k->restart_pages &&
                checkpoint(k->conn, false, &log_pages, NULL, &err) == HM_OK)
                restart_log(k, log_pages);
        }
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += CKPT_PERIOD_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&k->mu);
        while (!k->stop && pthread_cond_timedwait(&k->cv, &k->mu, &t) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* Start the checkpointer of writer connection `s` on database `path`. HM_OK, or an error
 * (logged) when it has no connection or thread: then the writer checkpoints itself. */
static int ckpt_start(sq_store *s, const char *path)
{
    hm_error err = {0};
    hm_store *conn = hm_store__sqlite_open(path, 0, &err);
    sq_ckpt *k;

    if (!conn) {
        hm_log(HM_LOG_WARN, "event=checkpointer_unavailable msg=\"%s\"", err.msg);
        return err.code;
    }
    k = hm_xcalloc(1, sizeof *k);
    k->conn = SQ(conn);
    k->path = hm_xstrdup(path);
    k->restart_pages = CKPT_RESTART_BYTES / page_size(k->conn);
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    pthread_cond_init(&k->restart_cv, NULL);
    if (pthread_create(&k->thread, NULL, ckpt_main, k) != 0) {
        hm_log(HM_LOG_WARN, "event=checkpointer_unavailable msg=\"no thread\"");
        sq_close(conn);
        free(k->path);
        free(k);
        return HM_E_INTERNAL;
    }
    s->ckpt = k;
    return HM_OK;
}

/* End the checkpointer thread, close its connection, free it. */
static void ckpt_stop(sq_ckpt *k)
{
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    sq_close(&k->conn->base);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    pthread_cond_destroy(&k->restart_cv);
    free(k->path);
    free(k);
}

static bool sq_quiesce(hm_store *st, char *what, size_t what_size)
{
    sq_store *s = SQ(st);
    bool idle = true;
    for (sqlite3_stmt *q = sqlite3_next_stmt(s->db, NULL); q; q = sqlite3_next_stmt(s->db, q)) {
        if (!sqlite3_stmt_busy(q))
            continue;
        if (idle)
            snprintf(what, what_size, "%s", sqlite3_sql(q));
        idle = false;
        sqlite3_reset(q);
    }
    return idle;
}

/* ---- the change log ---- */

static int sq_change_add(hm_store *st, hm_change *c, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_CHANGE_ADD];
    char prev[256];
    int rc = HM_OK;

    sqlite3_bind_int64(q, 1, c->at);
    sqlite3_bind_int(q, 2, c->kind);
    sqlite3_bind_int64(q, 3, c->ref);
    if ((c->kind == HM_CH_REQUEST_UPDATED || c->kind == HM_CH_RECEIPT) && c->prev.status >= 0) {
        snprintf(prev, sizeof prev, "%d|%d|%lld|%.9g|%.9g|%s|%s|%s|%d|%d", c->prev.status,
                 c->prev.category, (long long)c->prev.status_at, c->prev.lon, c->prev.lat,
                 c->prev.ward, c->prev.former_ward, c->prev.hamlet, c->prev.safe ? 1 : 0,
                 c->prev.receipt);
        sqlite3_bind_text(q, 4, prev, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(q, 4);
    }
    sqlite3_bind_int(q, 7, (int)c->flags);
    if (c->kind == HM_CH_AREA || c->kind == HM_CH_PLACES) {
        sqlite3_bind_int(q, 5, c->level);
        sqlite3_bind_text(q, 6, c->code, -1, SQLITE_TRANSIENT);
    } else if (c->kind == HM_CH_RELIEF) {
        sqlite3_bind_int(q, 5, c->level);
        sqlite3_bind_null(q, 6);
    } else {
        sqlite3_bind_null(q, 5);
        sqlite3_bind_null(q, 6);
    }
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_error(s, err);
    else
        c->id = sqlite3_last_insert_rowid(s->db);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc;
}

/* `text` ("status|category|status_at|lon|lat|ward|former|hamlet|safe|receipt", empty codes
 * allowed; "safe" since version 6, "receipt" since version 9) into c->prev; fields missing stay
 * as they are. */
static void unpack_prev(const char *text, hm_change *c)
{
    char *codes[3] = {c->prev.ward, c->prev.former_ward, c->prev.hamlet};
    const char *p = text;
    for (int i = 0; p && i < 10; i++) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char f[64];
        if (len >= sizeof f)
            len = sizeof f - 1;
        memcpy(f, p, len);
        f[len] = '\0';
        if (i == 0)
            c->prev.status = atoi(f);
        else if (i == 1)
            c->prev.category = atoi(f);
        else if (i == 2)
            c->prev.status_at = strtoll(f, NULL, 10);
        else if (i == 3)
            c->prev.lon = strtod(f, NULL);
        else if (i == 4)
            c->prev.lat = strtod(f, NULL);
        else if (i == 8)
            c->prev.safe = atoi(f) != 0;
        else if (i == 9)
            c->prev.receipt = atoi(f);
        else
            snprintf(codes[i - 5], 40, "%.39s", f);
        p = e ? e + 1 : NULL;
    }
}

static int sq_changes_since(hm_store *st, int64_t after_id, size_t limit, hm_change_cb cb,
                            void *ctx, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_CHANGES_SINCE];
    int rc = HM_OK, step;
    bool delivered = false;

    sqlite3_bind_int64(q, 1, after_id);
    sqlite3_bind_int64(q, 2, limit ? (sqlite3_int64)limit : -1);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_change c;
        memset(&c, 0, sizeof c);
        c.prev.status = -1;
        c.id = sqlite3_column_int64(q, 0);
        c.at = sqlite3_column_int64(q, 1);
        c.kind = sqlite3_column_int(q, 2);
        c.ref = sqlite3_column_int64(q, 3);
        if (sqlite3_column_type(q, 4) == SQLITE_TEXT)
            unpack_prev((const char *)sqlite3_column_text(q, 4), &c);
        c.level = sqlite3_column_int(q, 5);
        if (sqlite3_column_type(q, 6) == SQLITE_TEXT)
            snprintf(c.code, sizeof c.code, "%s", (const char *)sqlite3_column_text(q, 6));
        c.flags = (unsigned)sqlite3_column_int(q, 7);
        delivered = true;
        if ((rc = cb(ctx, &c)) != 0)
            break;
    }
    if (rc == HM_OK && step != SQLITE_DONE)
        rc = db_error(s, err);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    /* Only durable changes (store.h): the writer may have committed these without a sync yet
     * (hm_store_commit_early). */
    if (delivered && (rc == HM_OK || rc == 1) && hm_store__sqlite_sync(s->path, err) != HM_OK)
        return HM_E_IO;
    return rc;
}

static int sq_change_last(hm_store *st, int64_t *id, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_CHANGE_LAST];
    int rc = HM_OK;
    if (sqlite3_step(q) == SQLITE_ROW)
        *id = sqlite3_column_int64(q, 0);
    else
        rc = db_error(s, err);
    sqlite3_reset(q);
    return rc;
}

/* PRAGMA data_version of this connection: it changes when another connection commits. */
static int data_version(sq_store *s, int64_t *v, hm_error *err)
{
    sqlite3_stmt *q = s->q[Q_DATA_VERSION];
    int rc = HM_OK;
    if (sqlite3_step(q) == SQLITE_ROW)
        *v = sqlite3_column_int64(q, 0);
    else
        rc = db_error(s, err);
    sqlite3_reset(q);
    return rc;
}

/* SQLite has no notifications: look at data_version every 50 ms until it changes. */
static int sq_wait_changes(hm_store *st, int timeout_ms, hm_error *err)
{
    sq_store *s = SQ(st);
    int64_t v = 0;
    int rc;
    for (int waited = 0;; waited += 50) {
        if ((rc = data_version(s, &v, err)))
            return rc;
        if (v != s->data_version || waited >= timeout_ms) {
            s->data_version = v;
            return HM_OK;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- place names ---- */

static bool place_source_ok(const char *s)
{
    return s &&
           (strcmp(s, "geonames") == 0 || strcmp(s, "import") == 0 || strcmp(s, "basemap") == 0);
}

static int sq_place_put(hm_store *st, const hm_place_row *p, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_PLACE_PUT];
    hm_buf alt;
    int rc;

    if (!place_source_ok(p->source))
        return hm_error_set(err, HM_E_INVALID_FIELD, "source",
                            "a place's source is geonames, import or basemap");
    hm_buf_init(&alt);
    for (size_t i = 0; i < p->n_alt; i++) {
        if (i)
            hm_buf_puts(&alt, "\n");
        hm_buf_puts(&alt, p->alt_names[i]);
    }
    sqlite3_bind_text(q, 1, p->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, p->name, -1, SQLITE_STATIC);
    if (alt.len)
        sqlite3_bind_text(q, 3, alt.data, (int)alt.len, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 3);
    sqlite3_bind_text(q, 4, p->kind, -1, SQLITE_STATIC);
    bind_text_or_null(q, 5, p->code);
    sqlite3_bind_double(q, 6, p->lon);
    sqlite3_bind_double(q, 7, p->lat);
    for (int i = 0; i < 4; i++) {
        if (p->has_bbox)
            sqlite3_bind_double(q, 8 + i, p->bbox[i]);
        else
            sqlite3_bind_null(q, 8 + i);
    }
    bind_text_or_null(q, 12, p->ward_code);
    rc = exec_q(s, q, err);
    hm_buf_clear(&alt);
    return rc;
}

static int sq_place_delete_source(hm_store *st, const char *source, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_PLACE_DELETE_SOURCE];
    sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
    return exec_q(s, q, err);
}

static int sq_place_list(hm_store *st, const char *source, hm_place_cb cb, void *ctx, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_PLACE_LIST];
    const char **alt = NULL;
    size_t cap = 0;
    int rc = HM_OK, step;

    bind_text_or_null(q, 1, source);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_place_row p;
        char *alt_text = NULL;
        memset(&p, 0, sizeof p);
        p.id = sqlite3_column_int64(q, 0);
        p.source = (const char *)sqlite3_column_text(q, 1);
        p.name = (const char *)sqlite3_column_text(q, 2);
        if (sqlite3_column_type(q, 3) == SQLITE_TEXT) {
            /* Split a copy at the newlines: the column's text stays valid only until the
             * next step. */
            alt_text = hm_xstrdup((const char *)sqlite3_column_text(q, 3));
            for (char *a = alt_text; a;) {
                char *nl = strchr(a, '\n');
                if (nl)
                    *nl = '\0';
                if (p.n_alt == cap) {
                    cap = cap ? cap * 2 : 8;
                    alt = hm_xrealloc(alt, cap * sizeof *alt);
                }
                alt[p.n_alt++] = a;
                a = nl ? nl + 1 : NULL;
            }
            p.alt_names = alt;
        }
        p.kind = (const char *)sqlite3_column_text(q, 4);
        p.code = (const char *)sqlite3_column_text(q, 5);
        p.lon = sqlite3_column_double(q, 6);
        p.lat = sqlite3_column_double(q, 7);
        p.has_bbox = sqlite3_column_type(q, 8) != SQLITE_NULL;
        for (int i = 0; i < 4; i++)
            p.bbox[i] = sqlite3_column_double(q, 8 + i);
        p.ward_code = (const char *)sqlite3_column_text(q, 12);
        rc = cb(ctx, &p);
        free(alt_text);
        if (rc != 0)
            break;
    }
    if (rc == HM_OK && step != SQLITE_DONE)
        rc = db_error(s, err);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(alt);
    return rc;
}

/* ---- relief points ---- */

static void bind_relief(sqlite3_stmt *q, const hm_relief *p)
{
    sqlite3_bind_int(q, 1, p->kind);
    sqlite3_bind_int(q, 2, p->status);
    sqlite3_bind_text(q, 3, p->name, -1, SQLITE_STATIC);
    bind_text_or_null(q, 4, p->address);
    bind_text_or_null(q, 5, p->hours);
    if (p->capacity >= 0)
        sqlite3_bind_int(q, 6, p->capacity);
    sqlite3_bind_double(q, 7, p->lon);
    sqlite3_bind_double(q, 8, p->lat);
    sqlite3_bind_int64(q, 9, p->created_at);
    sqlite3_bind_int64(q, 10, p->updated_at);
}

static void read_relief(sqlite3_stmt *q, hm_relief *p)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(q, 0);
    p->kind = sqlite3_column_int(q, 1);
    p->status = sqlite3_column_int(q, 2);
    copy_col(q, 3, p->name, sizeof p->name);
    copy_col(q, 4, p->address, sizeof p->address);
    copy_col(q, 5, p->hours, sizeof p->hours);
    p->capacity = sqlite3_column_type(q, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 6);
    p->lon = sqlite3_column_double(q, 7);
    p->lat = sqlite3_column_double(q, 8);
    p->created_at = sqlite3_column_int64(q, 9);
    p->updated_at = sqlite3_column_int64(q, 10);
}

static int sq_relief_insert(hm_store *st, hm_relief *p, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_RELIEF_INSERT];
    int rc;
    bind_relief(q, p);
    rc = exec_q(s, q, err);
    if (rc == HM_OK)
        p->id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_relief_update(hm_store *st, const hm_relief *p, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_RELIEF_UPDATE];
    int rc;
    bind_relief(q, p);
    sqlite3_bind_int64(q, 11, p->id);
    rc = exec_q(s, q, err);
    if (rc == HM_OK && sqlite3_changes(s->db) == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no relief point has this id");
    return rc;
}

static int sq_relief_delete(hm_store *st, int64_t id, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_RELIEF_DELETE];
    int rc;
    sqlite3_bind_int64(q, 1, id);
    rc = exec_q(s, q, err);
    if (rc == HM_OK && sqlite3_changes(s->db) == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no relief point has this id");
    return rc;
}

static int sq_relief_get(hm_store *st, int64_t id, hm_relief *out, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_RELIEF_GET];
    int rc = HM_OK, step;
    sqlite3_bind_int64(q, 1, id);
    step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        read_relief(q, out);
    else if (step == SQLITE_DONE)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no relief point has this id");
    else
        rc = db_error(s, err);
    done(q);
    return rc;
}

static int sq_relief_list(hm_store *st, hm_relief_cb cb, void *ctx, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = s->q[Q_RELIEF_LIST];
    int rc = HM_OK, step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_relief p;
        read_relief(q, &p);
        if ((rc = cb(ctx, &p)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(s, err);
out:
    done(q);
    return rc;
}

/* ---- audit ---- */

static int sq_audit_add(hm_store *st, hm_audit *a, hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int rc = HM_OK;
    if (sqlite3_prepare_v2(
            s->db,
            "INSERT INTO audit(at, kind, actor, actor_team_id, team_id, row_count, detail) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            -1, &q, NULL) != SQLITE_OK) {
        rc = db_error(s, err);
        goto out;
    }
    sqlite3_bind_int64(q, 1, a->at);
    sqlite3_bind_text(q, 2, a->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, a->actor, -1, SQLITE_STATIC);
    if (a->actor_team_id > 0)
        sqlite3_bind_int64(q, 4, a->actor_team_id);
    if (a->team_id > 0)
        sqlite3_bind_int64(q, 5, a->team_id);
    sqlite3_bind_int64(q, 6, a->rows);
    bind_text_or_null(q, 7, a->detail);
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = db_error(s, err);
    else
        a->id = sqlite3_last_insert_rowid(s->db);
out:
    sqlite3_finalize(q);
    return rc;
}

static int sq_audit_list(hm_store *st, const hm_audit_filter *f, hm_audit_cb cb, void *ctx,
                         hm_error *err)
{
    sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int rc = HM_OK, step;
    const char *sql =
        "SELECT id, at, kind, actor, actor_team_id, team_id, row_count, detail FROM audit WHERE "
        "at >= ?1 AND id > ?2 AND (?3 <= 0 OR team_id = ?3) AND (?4 IS NULL OR kind = ?4) "
        "ORDER BY id LIMIT ?5";

    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        rc = db_error(s, err);
        goto out;
    }
    sqlite3_bind_int64(q, 1, f->since_ms);
    sqlite3_bind_int64(q, 2, f->after_id);
    sqlite3_bind_int64(q, 3, f->team_id);
    bind_text_or_null(q, 4, f->kind);
    sqlite3_bind_int64(q, 5, f->limit ? (sqlite3_int64)f->limit : -1);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        hm_audit a;
        memset(&a, 0, sizeof a);
        a.id = sqlite3_column_int64(q, 0);
        a.at = sqlite3_column_int64(q, 1);
        copy_col(q, 2, a.kind, sizeof a.kind);
        copy_col(q, 3, a.actor, sizeof a.actor);
        a.actor_team_id = sqlite3_column_int64(q, 4);
        a.team_id = sqlite3_column_int64(q, 5);
        a.rows = sqlite3_column_int64(q, 6);
        copy_col(q, 7, a.detail, sizeof a.detail);
        if ((rc = cb(ctx, &a)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(s, err);
out:
    sqlite3_finalize(q);
    return rc;
}

sqlite3 *hm_store__sqlite_db(hm_store *st)
{
    return st && st->ops == &sq_ops ? SQ(st)->db : NULL;
}

static const hm_store_ops sq_ops = {
    .iVersion = 7,
    .name = "spatialite",
    .xClose = sq_close,
    .xSchemaVersion = sq_schema_version,
    .xBegin = sq_begin,
    .xCommit = sq_commit,
    .xCommitEarly = sq_commit_early,
    .xRollback = sq_rollback,
    .xSavepoint = sq_savepoint,
    .xRelease = sq_release,
    .xRollbackTo = sq_rollback_to,
    .xAreaUpsert = sq_area_upsert,
    .xAreaDelete = sq_area_delete,
    .xAreaDeleteLevel = sq_area_delete_level,
    .xAreaList = sq_area_list,
    .xAreaRequestCount = sq_area_request_count,
    .xAreaCounts = sq_area_counts,
    .xRequestInsert = sq_request_insert,
    .xRequestGet = sq_request_get,
    .xRequestList = sq_request_list,
    .xRequestSetStatus = sq_request_set_status,
    .xRequestSetVerified = sq_request_set_verified,
    .xRequestUpdate = sq_request_update,
    .xHistoryAdd = sq_history_add,
    .xRequestSetAreas = sq_request_set_areas,
    .xRequestSetSafe = sq_request_set_safe,
    .xRequestPurge = sq_request_purge,
    .xTeamOpenCount = sq_team_open_count,
    .xHistoryList = sq_history_list,
    .xHistoryHead = sq_history_head,
    .xHistoryWalk = sq_history_walk,
    .xHistorySetHash = sq_history_set_hash,
    .xHistoryUnchained = sq_history_unchained,
    .xHistoryChained = sq_history_chained,
    .xHistoryCount = sq_history_count,
    .xRequestSetDelivery = sq_request_set_delivery,
    .xRequestSetReceipt = sq_request_set_receipt,
    .xIdemGet = sq_idem_get,
    .xIdemPut = sq_idem_put,
    .xIdemPurge = sq_idem_purge,
    .xRevealSeen = sq_reveal_seen,
    .xTeamInsert = sq_team_insert,
    .xTeamByToken = sq_team_by_token,
    .xTeamGet = sq_team_get,
    .xTeamList = sq_team_list,
    .xTeamSetDisabled = sq_team_set_disabled,
    .xTeamSetToken = sq_team_set_token,
    .xTeamSetPosition = sq_team_set_position,
    .xTeamSetStatus = sq_team_set_status,
    .xStats = sq_stats,
    .xBackup = sq_backup,
    .xCheck = sq_check,
    .xQuiesce = sq_quiesce,
    .xChangeAdd = sq_change_add,
    .xChangesSince = sq_changes_since,
    .xChangeLast = sq_change_last,
    .xWaitChanges = sq_wait_changes,
    .xPlacePut = sq_place_put,
    .xPlaceDeleteSource = sq_place_delete_source,
    .xPlaceList = sq_place_list,
    .xReliefInsert = sq_relief_insert,
    .xReliefUpdate = sq_relief_update,
    .xReliefDelete = sq_relief_delete,
    .xReliefGet = sq_relief_get,
    .xReliefList = sq_relief_list,
    .xAuditAdd = sq_audit_add,
    .xAuditList = sq_audit_list,
};
