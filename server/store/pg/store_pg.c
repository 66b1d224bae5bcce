/* store_pg.c: the PostGIS backend of store.h, over libpq. Same operations and the same
 * answers as store_sqlite.c (store.h says what each one promises); what differs is how:
 *
 * - One connection per hm_store (so per thread), opened from a libpq URI with
 *   application_name=helpmap, then synchronous_commit=on (a commit returns once it is
 *   durable on the server), lock_timeout 10 s (SQLite's busy timeout) and UTF-8.
 * - The fixed statements are in q_sql[], prepared on first use with PQprepare and run with
 *   PQexecPrepared; every value is bound (text parameters, bytea in binary), never written
 *   into SQL. Lists of requests build their SQL from which filters are set (as SQLite does)
 *   and keep the prepared shapes in a small cache per connection.
 * - Results come back whole (no single-row mode), so a callback may call the store again.
 *   Request lists are read in pages of PAGE_ROWS by id, so a list of every request never
 *   holds more than a page in memory; outside a transaction each page is its own snapshot.
 * - Transactions: begin(immediate) is BEGIN either way (PostgreSQL decides races with row
 *   locks and the guarded UPDATEs); savepoints are SQLite's. A statement that fails inside
 *   a transaction aborts it in PostgreSQL, so the failures callers expect and go on after
 *   (a request code or token hash already in use) are INSERT ... ON CONFLICT DO NOTHING,
 *   never an error.
 * - Round trips are few (see "round trips" below): BEGIN, savepoints and locks go out with
 *   the next statement, COMMIT with the change log's rows, and a creation is one statement
 *   (Q_REQ_CREATE): a batch of n creations costs n + 1 round trips.
 * - A lost connection is HM_E_UNAVAILABLE. Outside a transaction the next call reconnects
 *   (PQreset, at most once a second while the server stays away) and prepares again; a read
 *   that found the connection dead is retried once on the new one, and so is the first
 *   statement of a transaction (with its BEGIN), so readers and the writer recover by
 *   themselves when PostgreSQL comes back. Once a transaction reached the server every call
 *   fails until the caller rolls back: nothing is ever half-applied on a new connection.
 * - The schema lives in the connection's current schema (normally public), versioned in
 *   helpmap_meta. It is created on an empty database, or one where only extensions (PostGIS)
 *   were installed, after CREATE EXTENSION IF NOT EXISTS postgis; a schema that holds other
 *   tables is refused. Creation and migrations run in one transaction under an advisory lock,
 *   so servers starting together create it once.
 * - Times are integer milliseconds since 1970 (bigint) and enums their integer values, as in
 *   SQLite; request and team points and area polygons are also PostGIS geometries (SRID
 *   4326) with GiST indexes, for bounding-box queries and for GIS tools. */
#include "store_int.h"

#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    Q_AREA_UPSERT,
    Q_AREA_DELETE,
    Q_AREA_DELETE_LEVEL,
    Q_AREA_LIST,
    Q_AREA_REQ_COUNT_WARD, /* + level */
    Q_AREA_REQ_COUNT_FORMER,
    Q_AREA_REQ_COUNT_HAMLET,
    Q_AREA_COUNTS_WARD, /* + level */
    Q_AREA_COUNTS_FORMER,
    Q_AREA_COUNTS_HAMLET,
    Q_REQ_INSERT,
    Q_REQ_CREATE,
    Q_REQ_BY_CODE,
    Q_REQ_BY_ID,
    Q_REQ_SET_STATUS,
    Q_REQ_SET_VERIFIED,
    Q_REQ_SET_AREAS,
    Q_REQ_PURGEABLE,
    Q_REQ_SET_SAFE,
    Q_TEAM_OPEN_COUNT,
    Q_LOCK,
    Q_HIST_ADD,
    Q_REQ_UPDATE,
    Q_HIST_LIST,
    Q_REVEAL_SEEN,
    Q_TEAM_INSERT,
    Q_TEAM_BY_TOKEN,
    Q_TEAM_GET,
    Q_TEAM_LIST,
    Q_TEAM_SET_DISABLED,
    Q_TEAM_SET_TOKEN,
    Q_TEAM_SET_POS,
    Q_TEAM_SET_STATUS,
    Q_STATS_COUNTS,
    Q_STATS_HOURLY,
    Q_STATS_MEDIAN,
    Q_CHANGES_SINCE,
    Q_CHANGE_LAST,
    Q_PLACE_PUT,
    Q_PLACE_DELETE_SOURCE,
    Q_PLACE_LIST,
    Q_RELIEF_INSERT,
    Q_RELIEF_UPDATE,
    Q_RELIEF_DELETE,
    Q_RELIEF_GET,
    Q_RELIEF_LIST,
    Q_HIST_CODE,
    Q_HIST_HEAD,
    Q_HIST_SET_HASH,
    Q_HIST_WALK,
    Q_HIST_COUNT,
    Q_HIST_MAX_REQUEST,
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
    "id, code, lon, lat, \"precision\", category, people, vulnerable, priority, note, name, "      \
    "address, phone, status, ward_code, former_ward_code, hamlet_code, source, verified, "         \
    "team_id, duplicate_of, created_at, updated_at, status_at, token_hash, reporter_name, "        \
    "reporter_phone, location_text, safe_at, auto_duplicate, delivered, delivered_vnd, receipt, "  \
    "receipt_vnd, receipt_at"

#define RELIEF_COLS                                                                                \
    "id, kind, status, name, address, hours, capacity, lon, lat, created_at, updated_at"
/* History columns as read_history() reads them. */
#define HIST_COLS                                                                                  \
    "at, actor, from_status, to_status, note, kind, field, old_value, new_value, contact, id, "    \
    "note_sha256, old_sha256, new_sha256, detail, hash, salt"
#define HIST_COLS_H                                                                                \
    "h.at, h.actor, h.from_status, h.to_status, h.note, h.kind, h.field, h.old_value, "            \
    "h.new_value, h.contact, h.id, h.note_sha256, h.old_sha256, h.new_sha256, h.detail, h.hash, "  \
    "h.salt"

#define TEAM_COLS "id, name, role, status, capabilities, lon, lat, pos_at, disabled, created_at"

#define CHANGE_COLS "id, at, kind, ref, prev, level, code, flags"

/* The fixed statements. Read-only ones start with SELECT: those are retried once on a new
 * connection when the old one turns out to be dead (see run()). */
static const char *const q_sql[Q__COUNT] = {
    [Q_AREA_UPSERT] =
        "INSERT INTO area(level, code, name, parent_code, rep_lon, rep_lat, min_lon, min_lat, "
        "max_lon, max_lat, pop, geom) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "ST_Multi(ST_GeomFromWKB($12::bytea, 4326))) ON CONFLICT (level, code) DO UPDATE SET "
        "name = excluded.name, parent_code = excluded.parent_code, rep_lon = excluded.rep_lon, "
        "rep_lat = excluded.rep_lat, min_lon = excluded.min_lon, min_lat = excluded.min_lat, "
        "max_lon = excluded.max_lon, max_lat = excluded.max_lat, pop = excluded.pop, "
        "geom = excluded.geom",
    [Q_AREA_DELETE] = "DELETE FROM area WHERE level = $1 AND code = $2",
    [Q_AREA_DELETE_LEVEL] = "DELETE FROM area WHERE level = $1",
    /* Codes in byte order (COLLATE "C"), as SQLite compares text. */
    [Q_AREA_LIST] = "SELECT level, code, name, parent_code, rep_lon, rep_lat, min_lon, min_lat, "
                    "max_lon, max_lat, pop, ST_AsBinary(geom, 'NDR') FROM area WHERE "
                    "($1::integer < 0 OR level = $1) AND ($2::text IS NULL OR code = $2) "
                    "ORDER BY level, code COLLATE \"C\"",
    [Q_AREA_REQ_COUNT_WARD] = "SELECT count(*) FROM request WHERE ward_code = $1",
    [Q_AREA_REQ_COUNT_FORMER] = "SELECT count(*) FROM request WHERE former_ward_code = $1",
    [Q_AREA_REQ_COUNT_HAMLET] = "SELECT count(*) FROM request WHERE hamlet_code = $1",
    [Q_AREA_COUNTS_WARD] = "SELECT ward_code, status, category, count(*) FROM request WHERE "
                           "ward_code IS NOT NULL GROUP BY ward_code, status, category",
    [Q_AREA_COUNTS_FORMER] =
        "SELECT former_ward_code, status, category, count(*) FROM request WHERE "
        "former_ward_code IS NOT NULL GROUP BY former_ward_code, status, category",
    [Q_AREA_COUNTS_HAMLET] = "SELECT hamlet_code, status, category, count(*) FROM request WHERE "
                             "hamlet_code IS NOT NULL GROUP BY hamlet_code, status, category",
    /* ON CONFLICT DO NOTHING: a code in use returns no row instead of aborting the caller's
     * transaction (the creation job draws another code and tries again). */
    [Q_REQ_INSERT] =
        "INSERT INTO request(code, token_hash, lon, lat, \"precision\", category, people, "
        "vulnerable, priority, note, name, address, phone, status, ward_code, former_ward_code, "
        "hamlet_code, source, verified, team_id, duplicate_of, created_at, updated_at, "
        "status_at, geom, reporter_name, reporter_phone, location_text, auto_duplicate) VALUES "
        "($1, $2::bytea, $3::double precision, $4::double precision, $5, $6, $7, $8, $9, $10, "
        "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22::bigint, $22, $22, "
        "ST_SetSRID(ST_MakePoint($3, $4), 4326), $23, $24, $25, $26) "
        "ON CONFLICT (code) DO NOTHING RETURNING id",
    /* A creation in one statement (hm_store_request_create()): the repeat check's candidates,
     * the request unless there is one (and unless its code is in use), and its first history
     * entry. One row per candidate (new_id NULL), or one row with the new id or NULL (code in
     * use) and no candidate. The distance is on the spheroid, as hm_geo_distance_m's. */
    [Q_REQ_CREATE] =
        "WITH cand AS (SELECT " REQ_COLS " FROM request WHERE $43::bigint IS NOT NULL AND "
        "phone = $13::text AND created_at >= $43::bigint AND status IN (0, 1, 2) AND "
        "category = $6::integer AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint("
        "$3::double precision, $4::double precision), 4326)::geography, $44::double precision)), "
        "ins AS (INSERT INTO request(code, token_hash, lon, lat, \"precision\", category, people, "
        "vulnerable, priority, note, name, address, phone, status, ward_code, former_ward_code, "
        "hamlet_code, source, verified, team_id, duplicate_of, created_at, updated_at, "
        "status_at, geom, reporter_name, reporter_phone, location_text, auto_duplicate) "
        "SELECT $1::text, $2::bytea, $3::double precision, $4::double precision, $5::integer, "
        "$6::integer, $7::integer, $8::integer, $9::integer, $10::text, $11::text, $12::text, "
        "$13::text, $14::integer, $15::text, $16::text, $17::text, $18::integer, $19::boolean, "
        "$20::bigint, $21::text, $22::bigint, $22::bigint, $22::bigint, "
        "ST_SetSRID(ST_MakePoint($3, $4), 4326), $23::text, $24::text, $25::text, $26::boolean "
        "WHERE NOT EXISTS (SELECT 1 FROM cand) ON CONFLICT (code) DO NOTHING RETURNING id), "
        "hist AS (INSERT INTO history(request_id, at, actor, from_status, to_status, note, kind, "
        "field, old_value, new_value, contact, note_sha256, old_sha256, new_sha256, detail, "
        "hash, salt) SELECT id, $27::bigint, $28::text, $29::integer, $30::integer, $31::text, "
        "$32::text, $33::text, $34::text, $35::text, $36::boolean, $37::text, $38::text, "
        "$39::text, $40::text, $41::text, $42::text FROM ins) "
        "SELECT (SELECT id FROM ins) AS new_id, c.* FROM (VALUES (1)) AS one(x) LEFT JOIN cand c "
        "ON true ORDER BY c.id",
    [Q_REQ_BY_CODE] = "SELECT " REQ_COLS " FROM request WHERE code = $1",
    [Q_REQ_BY_ID] = "SELECT " REQ_COLS " FROM request WHERE id = $1",
    /* Any move ends an "I am safe now" closing (a reopened request is no longer one). */
    [Q_REQ_SET_STATUS] = "UPDATE request SET status = $3, team_id = $4, duplicate_of = $5, "
                         "updated_at = $6::bigint, status_at = $6, safe_at = NULL, "
                         "auto_duplicate = false WHERE id = $1 AND status = $2",
    [Q_REQ_SET_SAFE] = "UPDATE request SET safe_at = $2 WHERE id = $1",
    [Q_REQ_SET_VERIFIED] = "UPDATE request SET verified = $3, updated_at = $2 WHERE id = $1",
    [Q_REQ_UPDATE] = "UPDATE request SET lon = $2::double precision, lat = $3::double precision, "
                     "\"precision\" = $4, category = $5, people = $6, vulnerable = $7, "
                     "priority = $8, note = $9, name = $10, address = $11, phone = $12, "
                     "ward_code = $13, former_ward_code = $14, hamlet_code = $15, "
                     "updated_at = $16, geom = ST_SetSRID(ST_MakePoint($2, $3), 4326) "
                     "WHERE id = $1",
    [Q_REQ_SET_AREAS] = "UPDATE request SET ward_code = $2, former_ward_code = $3, "
                        "hamlet_code = $4 WHERE id = $1",
    /* Closed requests with something left to erase: a contact column, or in their history
     * (other than purge's own entries) a note or the values of a contact edit. */
    [Q_REQ_PURGEABLE] = "SELECT id FROM request WHERE status IN (3, 4, 5) AND updated_at < $1 "
                        "AND (name IS NOT NULL OR phone IS NOT NULL OR note IS NOT NULL OR "
                        "address IS NOT NULL OR reporter_name IS NOT NULL OR reporter_phone IS "
                        "NOT NULL OR location_text IS NOT NULL OR EXISTS (SELECT 1 FROM history h "
                        "WHERE h.request_id = request.id AND h.kind <> 'purge' AND (h.note IS "
                        "NOT NULL OR (h.contact AND (h.old_value IS NOT NULL OR h.new_value IS "
                        "NOT NULL))))) ORDER BY id",
    [Q_TEAM_OPEN_COUNT] = "SELECT count(*) FROM request WHERE team_id = $1 AND status IN (1, 2)",
    [Q_LOCK] = "SELECT pg_advisory_xact_lock($1::int, $2::int)",
    [Q_HIST_ADD] = "INSERT INTO history(request_id, at, actor, from_status, to_status, note, kind, "
                   "field, old_value, new_value, contact, note_sha256, old_sha256, new_sha256, "
                   "detail, hash, salt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
                   "$13, $14, $15, $16, $17)",
    [Q_HIST_LIST] = "SELECT " HIST_COLS " FROM history WHERE request_id = $1 ORDER BY id",
    /* The request's code, then its last entry, by a statement of its own that sees what an
     * append before it committed (store.c holds HM_LOCK_HISTORY of the request meanwhile, so
     * appends to one request from any server follow one another: a chain has one head). */
    [Q_HIST_CODE] = "SELECT code FROM request WHERE id = $1",
    [Q_HIST_HEAD] = "SELECT id, hash FROM history WHERE request_id = $1 ORDER BY id DESC LIMIT 1",
    [Q_HIST_SET_HASH] = "UPDATE history SET note_sha256 = $2, old_sha256 = $3, "
                        "new_sha256 = $4, hash = $5, salt = $6 WHERE id = $1",
    [Q_HIST_WALK] = "SELECT h.request_id, r.code, " HIST_COLS_H " FROM history h JOIN request r "
                    "ON r.id = h.request_id WHERE h.request_id > $1 AND h.request_id <= $2 "
                    "ORDER BY h.request_id, h.id",
    [Q_HIST_COUNT] = "SELECT count(*) FROM history WHERE request_id = $1 AND kind = $2",
    [Q_HIST_MAX_REQUEST] = "SELECT coalesce(max(request_id), 0) FROM history",
    [Q_CHAIN_UNCHAINED] = "SELECT unchained_upto, (SELECT max(request_id) FROM history WHERE id "
                          "<= unchained_upto) FROM history_chain",
    [Q_CHAIN_DONE] = "UPDATE history_chain SET unchained_upto = 0",
    [Q_REQ_SET_DELIVERY] = "UPDATE request SET delivered = $2, delivered_vnd = $3, receipt = 0, "
                           "receipt_vnd = NULL, receipt_at = NULL WHERE id = $1",
    [Q_REQ_SET_RECEIPT] = "UPDATE request SET receipt = $2, receipt_vnd = $3, "
                          "receipt_at = $4::bigint, updated_at = $4 WHERE id = $1",
    [Q_IDEM_GET] = "SELECT body_sha256, status, answer, created_at FROM idempotency WHERE "
                   "key_id = $1::bytea AND created_at >= $2",
    /* A record of the key kept only when the older one is past its time. */
    [Q_IDEM_PUT] = "INSERT INTO idempotency(key_id, body_sha256, status, answer, created_at) "
                   "VALUES ($1::bytea, $2::bytea, $3, $4::bytea, $5) ON CONFLICT (key_id) DO "
                   "UPDATE SET body_sha256 = excluded.body_sha256, status = excluded.status, "
                   "answer = excluded.answer, created_at = excluded.created_at WHERE "
                   "idempotency.created_at < $6",
    [Q_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_at < $1",
    [Q_REVEAL_SEEN] = "SELECT 1 FROM history WHERE request_id = $1 AND kind = 'reveal' AND "
                      "actor = $2 AND at >= $3 LIMIT 1",
    [Q_TEAM_INSERT] = "INSERT INTO team(name, role, token_hash, status, capabilities, disabled, "
                      "created_at) VALUES ($1, $2, $3::bytea, $4, $5, false, $6) "
                      "ON CONFLICT (token_hash) DO NOTHING RETURNING id",
    [Q_TEAM_BY_TOKEN] = "SELECT " TEAM_COLS " FROM team WHERE token_hash = $1::bytea AND "
                        "NOT disabled",
    [Q_TEAM_GET] = "SELECT " TEAM_COLS " FROM team WHERE id = $1",
    [Q_TEAM_LIST] = "SELECT " TEAM_COLS " FROM team WHERE $1::boolean OR NOT disabled "
                    "ORDER BY id",
    [Q_TEAM_SET_DISABLED] = "UPDATE team SET disabled = $2 WHERE id = $1",
    [Q_TEAM_SET_TOKEN] = "UPDATE team SET token_hash = $2::bytea WHERE id = $1",
    [Q_TEAM_SET_POS] = "UPDATE team SET lon = $2::double precision, lat = $3::double precision, "
                       "pos_at = $4, geom = ST_SetSRID(ST_MakePoint($2, $3), 4326) WHERE id = $1",
    [Q_TEAM_SET_STATUS] = "UPDATE team SET status = $2 WHERE id = $1",
    [Q_STATS_COUNTS] = "SELECT status, category, count(*) FROM request GROUP BY status, category",
    [Q_STATS_HOURLY] = "SELECT (created_at - $1::bigint) / 3600000, count(*) FROM request "
                       "WHERE created_at >= $1 AND created_at < $2 GROUP BY 1",
    [Q_STATS_MEDIAN] = "SELECT (status_at - created_at) / 60000.0::double precision FROM "
                       "request WHERE status = 3 ORDER BY 1 LIMIT 1 OFFSET $1",
    [Q_CHANGES_SINCE] = "SELECT " CHANGE_COLS " FROM change WHERE id > $1 ORDER BY id LIMIT $2",
    [Q_CHANGE_LAST] = "SELECT coalesce(max(id), 0) FROM change",
    [Q_PLACE_PUT] =
        "INSERT INTO place(source, name, alt_names, kind, code, lon, lat, min_lon, min_lat, "
        "max_lon, max_lat, ward_code, geom) VALUES ($1, $2, $3, $4, $5, $6::double precision, "
        "$7::double precision, $8, $9, $10, $11, $12, ST_SetSRID(ST_MakePoint($6, $7), 4326)) "
        "ON CONFLICT (source, code) DO UPDATE SET name = excluded.name, "
        "alt_names = excluded.alt_names, kind = excluded.kind, lon = excluded.lon, "
        "lat = excluded.lat, min_lon = excluded.min_lon, min_lat = excluded.min_lat, "
        "max_lon = excluded.max_lon, max_lat = excluded.max_lat, ward_code = excluded.ward_code, "
        "geom = excluded.geom",
    [Q_PLACE_DELETE_SOURCE] = "DELETE FROM place WHERE source = $1",
    [Q_PLACE_LIST] = "SELECT id, source, name, alt_names, kind, code, lon, lat, min_lon, min_lat, "
                     "max_lon, max_lat, ward_code FROM place WHERE $1::text IS NULL OR "
                     "source = $1 ORDER BY id",
    [Q_RELIEF_INSERT] = "INSERT INTO point(kind, status, name, address, hours, capacity, lon, lat, "
                        "created_at, updated_at, geom) VALUES ($1, $2, $3, $4, $5, $6, "
                        "$7::double precision, $8::double precision, $9, $10, "
                        "ST_SetSRID(ST_MakePoint($7, $8), 4326)) RETURNING id",
    [Q_RELIEF_UPDATE] = "UPDATE point SET kind = $1, status = $2, name = $3, address = $4, "
                        "hours = $5, capacity = $6, lon = $7::double precision, "
                        "lat = $8::double precision, updated_at = $9, "
                        "geom = ST_SetSRID(ST_MakePoint($7, $8), 4326) WHERE id = $10",
    [Q_RELIEF_DELETE] = "DELETE FROM point WHERE id = $1",
    [Q_RELIEF_GET] = "SELECT " RELIEF_COLS " FROM point WHERE id = $1",
    [Q_RELIEF_LIST] = "SELECT " RELIEF_COLS " FROM point ORDER BY id",
};

/* Schema migrations: migrations[v] takes the schema from version v to v + 1 (PostgreSQL's
 * own numbering; SQLite's versions are another history). Version 1 is SQLite's version 3
 * with real geometry columns: `geom` of requests and teams is kept by the statements that
 * write lon and lat, and bounding boxes are answered by its GiST index. Identity columns
 * are BY DEFAULT so that a copy from another database can keep its ids. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE helpmap_meta(key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE area(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "  level integer NOT NULL, code text NOT NULL, name text NOT NULL DEFAULT '', "
    "  parent_code text, rep_lon double precision, rep_lat double precision, "
    "  min_lon double precision, min_lat double precision, max_lon double precision, "
    "  max_lat double precision, pop bigint, geom geometry(MultiPolygon, 4326), "
    "  UNIQUE (level, code));"
    "CREATE INDEX area_geom ON area USING gist (geom);"
    "CREATE TABLE request(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "  code text NOT NULL UNIQUE, token_hash bytea NOT NULL, lon double precision NOT NULL, "
    "  lat double precision NOT NULL, \"precision\" integer NOT NULL, "
    "  category integer NOT NULL, people integer NOT NULL, vulnerable integer NOT NULL, "
    "  priority integer NOT NULL, note text, name text, address text, phone text, "
    "  status integer NOT NULL, ward_code text, former_ward_code text, hamlet_code text, "
    "  source integer NOT NULL, verified boolean NOT NULL DEFAULT false, team_id bigint, "
    "  duplicate_of text, created_at bigint NOT NULL, updated_at bigint NOT NULL, "
    "  status_at bigint NOT NULL, geom geometry(Point, 4326) NOT NULL);"
    "CREATE INDEX request_geom ON request USING gist (geom);"
    "CREATE INDEX request_status ON request(status, id);"
    "CREATE INDEX request_phone ON request(phone, created_at);"
    "CREATE INDEX request_ward ON request(ward_code, status, category);"
    "CREATE INDEX request_team ON request(team_id, status);"
    "CREATE TABLE history(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "  request_id bigint NOT NULL REFERENCES request(id), at bigint NOT NULL, "
    "  actor text NOT NULL, from_status integer, to_status integer, note text, "
    "  kind text NOT NULL);"
    "CREATE INDEX history_request ON history(request_id, id);"
    "CREATE TABLE team(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "  name text NOT NULL, role integer NOT NULL, token_hash bytea NOT NULL UNIQUE, "
    "  status integer NOT NULL DEFAULT 0, capabilities text NOT NULL DEFAULT '[]', "
    "  lon double precision, lat double precision, pos_at bigint, "
    "  disabled boolean NOT NULL DEFAULT false, created_at bigint NOT NULL, "
    "  geom geometry(Point, 4326));"
    "CREATE INDEX team_geom ON team USING gist (geom);"
    "CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "  $$BEGIN RAISE EXCEPTION 'history is append-only' USING ERRCODE = "
    "  'integrity_constraint_violation'; END$$;"
    "CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history "
    "  FOR EACH ROW EXECUTE FUNCTION history_append_only();"
    "CREATE TRIGGER history_append_only_truncate BEFORE TRUNCATE ON history "
    "  FOR EACH STATEMENT EXECUTE FUNCTION history_append_only();"
    /* The change log every server follows (store.h, "Changes"), as SQLite's: `prev` packs
     * what the counts knew of an updated request ("status|category|status_at|lon|lat|ward|
     * former|hamlet"). Ids are given at commit under CHANGE_LOCK (pg_commit()). */
    "CREATE TABLE change(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "  at bigint NOT NULL, kind integer NOT NULL, ref bigint NOT NULL DEFAULT 0, prev text, "
    "  level integer, code text);",
    /* 1 -> 2: place names for the place search (SQLite's version 5): the shipped GeoNames
     * places, a district's imported list, basemap names; `alt_names` holds the other names
     * separated by newlines. */
    "CREATE TABLE place(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "  source text NOT NULL CHECK (source IN ('geonames', 'import', 'basemap')), "
    "  name text NOT NULL, alt_names text, kind text NOT NULL, code text, "
    "  lon double precision NOT NULL, lat double precision NOT NULL, "
    "  min_lon double precision, min_lat double precision, max_lon double precision, "
    "  max_lat double precision, ward_code text, geom geometry(Point, 4326) NOT NULL, "
    "  UNIQUE (source, code));"
    "CREATE INDEX place_geom ON place USING gist (geom);",
    /* 2 -> 3: what the 2024-2025 floods taught (issue 19), as SQLite's version 6: a reporter
     * and a pasted location (contact data), "I am safe now" (safe_at), relief points with a
     * real geometry column. */
    "ALTER TABLE request ADD COLUMN reporter_name text, ADD COLUMN reporter_phone text, "
    "  ADD COLUMN location_text text, ADD COLUMN safe_at bigint;"
    "CREATE TABLE point(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "  kind integer NOT NULL, status integer NOT NULL, name text NOT NULL, address text, "
    "  hours text, capacity integer, lon double precision NOT NULL, "
    "  lat double precision NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL, "
    "  geom geometry(Point, 4326) NOT NULL);"
    "CREATE INDEX point_geom ON point USING gist (geom);",
    /* 3 -> 4: field readiness (issue 14), as SQLite's version 7: history entries that name
     * what they changed (field, old and new value, contact flag), change flags (a
     * coordinator's assignment), the duplicates of a request, and views with text statuses,
     * categories and ISO 8601 times for GIS tools (PostGIS lists views with a geometry). */
    "ALTER TABLE history ADD COLUMN field text, ADD COLUMN old_value text, "
    "  ADD COLUMN new_value text, ADD COLUMN contact boolean NOT NULL DEFAULT false;"
    "ALTER TABLE change ADD COLUMN flags integer NOT NULL DEFAULT 0;"
    "CREATE INDEX request_duplicate ON request(duplicate_of) WHERE duplicate_of IS NOT NULL;"
    "CREATE VIEW requests_view AS SELECT r.id, r.code, "
    "  (ARRAY['new','assigned','in_progress','resolved','cancelled','duplicate'])[r.status + 1] "
    "    AS status, "
    "  (ARRAY['food','water','medical','cash','shelter','rescue','other'])[r.category + 1] "
    "    AS category, "
    "  CASE r.priority WHEN 1 THEN 'urgent' ELSE 'normal' END AS priority, r.people, "
    "  concat_ws(',', CASE WHEN r.vulnerable & 1 <> 0 THEN 'elderly' END, "
    "    CASE WHEN r.vulnerable & 2 <> 0 THEN 'child' END, "
    "    CASE WHEN r.vulnerable & 4 <> 0 THEN 'pregnant' END, "
    "    CASE WHEN r.vulnerable & 8 <> 0 THEN 'disabled' END, "
    "    CASE WHEN r.vulnerable & 16 <> 0 THEN 'sick' END) AS vulnerable, "
    "  (ARRAY['gps','pin','address','place','link'])[r.\"precision\" + 1] AS location_precision, "
    "  (ARRAY['web','hotline','import'])[r.source + 1] AS source, r.verified, r.team_id, "
    "  r.duplicate_of, r.ward_code, r.former_ward_code, r.hamlet_code, r.name, r.phone, "
    "  r.address, r.note, r.lon, r.lat, "
    "  to_char(to_timestamp(r.created_at / 1000) AT TIME ZONE 'UTC', "
    "    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, "
    "  to_char(to_timestamp(r.updated_at / 1000) AT TIME ZONE 'UTC', "
    "    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at, r.geom FROM request r;"
    "CREATE VIEW teams_view AS SELECT t.id, t.name, "
    "  (ARRAY['public','volunteer','operator','coordinator','admin'])[t.role + 1] AS role, "
    "  (ARRAY['available','busy','off'])[t.status + 1] AS status, t.capabilities, t.disabled, "
    "  to_char(to_timestamp(t.pos_at / 1000) AT TIME ZONE 'UTC', "
    "    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS position_at, t.geom FROM team t;"
    "CREATE VIEW areas_view AS SELECT a.id, "
    "  (ARRAY['ward','former_ward','hamlet'])[a.level + 1] AS level, a.code, a.name, "
    "  a.parent_code, a.pop AS population, a.geom FROM area a;",
    /* 4 -> 5: privacy and abuse, second round (issue 11), as SQLite's 7 -> 8: automatic
     * duplicates, the audit log, and the one change of a history row that purge may make (its
     * note, and its old and new values, to NULL; nothing else). */
    "ALTER TABLE request ADD COLUMN auto_duplicate boolean NOT NULL DEFAULT false;"
    "CREATE TABLE audit(id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "  at bigint NOT NULL, kind text NOT NULL, actor text NOT NULL, actor_team_id bigint, "
    "  team_id bigint, row_count bigint NOT NULL DEFAULT 0, detail text);"
    "CREATE INDEX audit_at ON audit(at);"
    "CREATE INDEX audit_team ON audit(team_id, at);"
    "CREATE OR REPLACE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "  $$BEGIN IF TG_OP = 'UPDATE' AND NEW.note IS NULL AND NEW.id = OLD.id AND "
    "  NEW.request_id = OLD.request_id AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND "
    "  NEW.from_status IS NOT DISTINCT FROM OLD.from_status AND "
    "  NEW.to_status IS NOT DISTINCT FROM OLD.to_status AND NEW.kind = OLD.kind AND "
    "  NEW.field IS NOT DISTINCT FROM OLD.field AND NEW.contact = OLD.contact AND "
    "  (NEW.old_value IS NULL OR NEW.old_value IS NOT DISTINCT FROM OLD.old_value) AND "
    "  (NEW.new_value IS NULL OR NEW.new_value IS NOT DISTINCT FROM OLD.new_value) THEN "
    "  RETURN NEW; END IF; RAISE EXCEPTION 'history is append-only' USING ERRCODE = "
    "  'integrity_constraint_violation'; END$$;",
    /* 5 -> 6: the resident closes the loop (issue 17), as SQLite's version 9: the hash-chained
     * history (the SHA-256 of each entry's note, old and new value; entries before it chained
     * once by hm_store_history_backfill(); besides purge's erasing of texts, which keeps their
     * SHA-256 and the hash, the only update the trigger lets through), the team's delivery and
     * the resident's receipt, the partial index of flagged requests, first answers of
     * idempotent creations. */
    "ALTER TABLE history ADD COLUMN note_sha256 text, ADD COLUMN old_sha256 text, "
    "  ADD COLUMN new_sha256 text, ADD COLUMN detail text, ADD COLUMN hash text, "
    "  ADD COLUMN salt text;"
    "CREATE TABLE history_chain(unchained_upto bigint NOT NULL);"
    "INSERT INTO history_chain SELECT coalesce(max(id), 0) FROM history;"
    "CREATE OR REPLACE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    "BEGIN"
    "  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.request_id = OLD.request_id AND"
    "     NEW.at = OLD.at AND NEW.actor = OLD.actor AND"
    "     NEW.from_status IS NOT DISTINCT FROM OLD.from_status AND"
    "     NEW.to_status IS NOT DISTINCT FROM OLD.to_status AND NEW.kind = OLD.kind AND"
    "     NEW.field IS NOT DISTINCT FROM OLD.field AND NEW.contact = OLD.contact AND"
    "     NEW.detail IS NOT DISTINCT FROM OLD.detail AND ("
    /* A purge: a note, and the values of an entry, set to NULL, their SHA-256 kept (and a
     * contact entry's salt with them). */
    "       (NEW.note IS NULL AND"
    "        (NEW.old_value IS NULL OR NEW.old_value IS NOT DISTINCT FROM OLD.old_value) AND"
    "        (NEW.new_value IS NULL OR NEW.new_value IS NOT DISTINCT FROM OLD.new_value) AND"
    "        (NEW.salt IS NULL OR NEW.salt IS NOT DISTINCT FROM OLD.salt) AND"
    "        NEW.note_sha256 IS NOT DISTINCT FROM OLD.note_sha256 AND"
    "        NEW.old_sha256 IS NOT DISTINCT FROM OLD.old_sha256 AND"
    "        NEW.new_sha256 IS NOT DISTINCT FROM OLD.new_sha256 AND"
    "        NEW.hash IS NOT DISTINCT FROM OLD.hash) OR"
    /* The one-time chaining of the entries written before. */
    "       (OLD.hash IS NULL AND NEW.hash IS NOT NULL AND"
    "        OLD.id <= (SELECT unchained_upto FROM history_chain) AND"
    "        (OLD.note_sha256 IS NULL OR NEW.note_sha256 IS NOT DISTINCT FROM OLD.note_sha256) AND"
    "        (OLD.old_sha256 IS NULL OR NEW.old_sha256 IS NOT DISTINCT FROM OLD.old_sha256) AND"
    "        (OLD.new_sha256 IS NULL OR NEW.new_sha256 IS NOT DISTINCT FROM OLD.new_sha256) AND"
    "        (OLD.salt IS NULL OR NEW.salt IS NOT DISTINCT FROM OLD.salt) AND"
    "        NEW.note IS NOT DISTINCT FROM OLD.note AND"
    "        NEW.old_value IS NOT DISTINCT FROM OLD.old_value AND"
    "        NEW.new_value IS NOT DISTINCT FROM OLD.new_value)) THEN"
    "    RETURN NEW;"
    "  END IF;"
    "  RAISE EXCEPTION 'history is append-only' USING ERRCODE = 'integrity_constraint_violation';"
    "END$$;"
    "ALTER TABLE request ADD COLUMN delivered boolean NOT NULL DEFAULT false, "
    "  ADD COLUMN delivered_vnd bigint, ADD COLUMN receipt integer NOT NULL DEFAULT 0, "
    "  ADD COLUMN receipt_vnd bigint, ADD COLUMN receipt_at bigint;"
    "CREATE INDEX request_flag ON request(id) WHERE status = 3 AND receipt IN (2, 3);"
    "CREATE TABLE idempotency(key_id bytea PRIMARY KEY, body_sha256 bytea NOT NULL, "
    "  status integer NOT NULL, answer bytea NOT NULL, created_at bigint NOT NULL);"
    "CREATE INDEX idempotency_created ON idempotency(created_at);",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* Key of the advisory lock that creation and migrations hold ("hmap"). */
#define SCHEMA_LOCK "1752002928"
/* Key of the advisory lock under which a commit numbers its changes ("hmch"): one commit at a
 * time takes ids and commits, so ids are in commit order across every connection and server
 * ("a higher id never becomes visible before a lower one", which a follower relies on). */
#define CHANGE_LOCK "1752000360"
/* The channel of the notification each commit with changes sends (hm_store_wait_changes()). */
#define CHANGE_CHANNEL "helpmap_change"

#define LIST_CACHE  16   /* prepared shapes of request lists per connection */
#define PAGE_ROWS   4096 /* rows of a request list read at once */
#define RETRY_MS    1000 /* reconnection attempts at most this often */
#define MAX_PARAMS  48
#define MAX_PENDING 16

/* Commands a transaction owes the server, sent ahead of its next statement in the same round
 * trip (see "Round trips" below). */
typedef enum { PEND_BEGIN, PEND_SAVEPOINT, PEND_RELEASE, PEND_LOCK } pend_kind;

static const char *const pend_sql[] = {
    [PEND_BEGIN] = "BEGIN",
    [PEND_SAVEPOINT] = "SAVEPOINT job",
    [PEND_RELEASE] = "RELEASE SAVEPOINT job",
};

typedef struct pend {
    pend_kind kind;
    char sql[64]; /* the command: pend_sql[kind], or the lock with its keys */
} pend;

typedef struct pg_store {
    hm_store base;
    PGconn *conn;
    int flags;
    bool in_tx;   /* between the caller's begin and its commit or rollback */
    bool tx_sent; /* in_tx, and the server has seen the transaction (its BEGIN went out) */
    /* Commands owed to the server, sent ahead of the next statement in the same round trip. */
    pend pending[MAX_PENDING];
    int npending;
    bool broken; /* the connection was lost; reconnect before the next statement */
    int64_t retry_at_ms;
    bool prepared[Q__COUNT];
    bool audit_prepared[2]; /* audit_add, audit_list */
    /* hm_store_wait_changes()'s own connection, LISTENing on CHANGE_CHANNEL: opened on first
     * use, touched by nothing else, so that a thread may wait on it while another thread (under
     * the caller's lock) runs statements on `conn` (core/follow.c does). */
    PGconn *listen;
    char *uri;
    struct {
        char *sql;
        char name[16];
    } list_cache[LIST_CACHE]; /* most recently used first */
    unsigned list_seq;
} pg_store;

static const hm_store_ops pg_ops;

#define PG(st) ((pg_store *)(st))

/* ---- parameters ------------------------------------------------------------------------ */

/* Bound values of one statement: text for numbers and text, binary for bytea. */
typedef struct params {
    int n;
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS];
    int fmt[MAX_PARAMS];
    char num[MAX_PARAMS][32];
} params;

static void p_null(params *p)
{
    p->v[p->n] = NULL;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_i64(params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof p->num[0], "%lld", (long long)v);
    p->v[p->n] = p->num[p->n];
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

/* %.17g: the shortest text that gives back the same double. */
static void p_f64(params *p, double v)
{
    snprintf(p->num[p->n], sizeof p->num[0], "%.17g", v);
    p->v[p->n] = p->num[p->n];
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_bool(params *p, bool v)
{
    p->v[p->n] = v ? "t" : "f";
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

/* Text; NULL stays NULL. */
static void p_text(params *p, const char *s)
{
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

/* Text where "" means none, as store_sqlite.c's bind_text_or_null. */
static void p_text_or_null(params *p, const char *s)
{
    p_text(p, s && *s ? s : NULL);
}

static void p_bytes(params *p, const void *data, size_t len)
{
    p->v[p->n] = data;
    p->len[p->n] = (int)len;
    p->fmt[p->n] = 1;
    p->n++;
}

/* ---- connection and errors ------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* libpq's message of the connection, without its trailing newline. */
static void conn_message(PGconn *conn, char *out, size_t size)
{
    const char *m = conn ? PQerrorMessage(conn) : "";
    size_t n;
    snprintf(out, size, "%s", m && *m ? m : "connection lost");
    n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
}

/* Map a failed result (or NULL: the connection failed before one came) to an hm_err. Only
 * PostgreSQL's primary message is copied: its detail may quote values (contact data).
 * Lost connections, unavailable servers, full disks, lock time-outs, deadlocks and
 * read-only servers are HM_E_UNAVAILABLE (503: try again); the rest is HM_E_DB. */
static int pg_error(pg_store *s, const PGresult *res, hm_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char cmsg[160];

    if (PQstatus(s->conn) != CONNECTION_OK) {
        s->broken = true;
        conn_message(s->conn, cmsg, sizeof cmsg);
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "database unavailable: %s", cmsg);
    }
    if (!msg) {
        conn_message(s->conn, cmsg, sizeof cmsg);
        msg = cmsg;
    }
    if (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
                  strncmp(state, "57", 2) == 0 || strncmp(state, "58", 2) == 0 ||
                  strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                  strcmp(state, "55P03") == 0 || strcmp(state, "25006") == 0))
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "database unavailable: %s (%s)", msg,
                            state);
    return hm_error_set(err, HM_E_DB, NULL, "database error: %s (%s)", msg, state ? state : "?");
}

/* PostgreSQL's notices and warnings go to the log, not to stderr as libpq would print them. */
static void on_notice(void *arg, const PGresult *res)
{
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    (void)arg;
    hm_log(sev && strcmp(sev, "WARNING") == 0 ? HM_LOG_WARN : HM_LOG_DEBUG,
           "event=db_notice severity=%s msg=\"%s\"", sev ? sev : "?", msg ? msg : "?");
}

/* Settings of every session, after each (re)connection. */
static int session_setup(pg_store *s, hm_error *err)
{
    PGresult *res = PQexec(s->conn, (s->flags & HM_STORE_READONLY)
                                        ? "SET synchronous_commit = on; SET lock_timeout = '10s'; "
                                          "SET extra_float_digits = 3; SET bytea_output = hex; "
                                          "SET default_transaction_read_only = on"
                                        : "SET synchronous_commit = on; SET lock_timeout = '10s'; "
                                          "SET extra_float_digits = 3; SET bytea_output = hex");
    int rc = HM_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_error(s, res, err);
    PQclear(res);
    return rc;
}

/* Forget what the server knew of this session: prepared statements. */
static void forget_session(pg_store *s)
{
    memset(s->prepared, 0, sizeof s->prepared);
    memset(s->audit_prepared, 0, sizeof s->audit_prepared);
    for (int i = 0; i < LIST_CACHE; i++) {
        free(s->list_cache[i].sql);
        s->list_cache[i].sql = NULL;
    }
}

/* A working connection, reconnecting a lost one when no transaction of the caller's was
 * on it (a transaction whose BEGIN has not gone out yet is not on it: it moves to the new
 * connection). HM_E_UNAVAILABLE when the server stays away (tried at most once a RETRY_MS). */
static int ensure_conn(pg_store *s, hm_error *err)
{
    char msg[160];
    int64_t now;

    if (!s->broken && PQstatus(s->conn) == CONNECTION_OK)
        return HM_OK;
    s->broken = true;
    if (s->in_tx && s->tx_sent)
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL,
                            "database unavailable: the connection was lost during a transaction");
    now = mono_ms();
    if (now < s->retry_at_ms) {
        conn_message(s->conn, msg, sizeof msg);
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "database unavailable: %s", msg);
    }
    s->retry_at_ms = now + RETRY_MS;
    forget_session(s);
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        conn_message(s->conn, msg, sizeof msg);
        return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "database unavailable: %s", msg);
    }
    if (session_setup(s, err) != HM_OK)
        return err ? err->code : HM_E_UNAVAILABLE;
    hm_log(HM_LOG_INFO, "event=db_reconnected");
    s->broken = false;
    s->retry_at_ms = 0;
    return HM_OK;
}

/* True when `res` failed because the connection is gone. */
static bool conn_lost(pg_store *s, const PGresult *res)
{
    (void)res;
    return PQstatus(s->conn) != CONNECTION_OK;
}

/* ---- round trips -------------------------------------------------------------------------
 * A round trip to the server costs more than most of helpmap's statements (the writer's jobs
 * are a few indexed reads and writes each; issue 13 measured PostGIS creation at a quarter of
 * SQLite's). So what a transaction owes the server without needing an answer waits in
 * pending[] and goes out ahead of its next statement, in the same round trip (pipeline mode):
 * - BEGIN (a transaction that sends nothing sends nothing at all, not even its BEGIN),
 * - the writer's SAVEPOINT and RELEASE around each job (two commands a job; a job that ran no
 *   statement sends neither),
 * - advisory locks (hm_store_lock()): taken before the statement they guard.
 * Their failure is the failure of the statement they went out with, so it fails the caller's
 * job, as if they had been sent alone; none of them is a write the caller could be told
 * about too early. COMMIT goes out with the change log's lock, rows and NOTIFY in one round
 * trip too (pg_commit()).
 * Until its BEGIN went out (tx_sent), a transaction is not on the connection: if that is found
 * dead on the way, the commands owed are kept and everything is sent again on a new one. */

/* Send the commands owed ahead of the next statement, on the connection as it is. */
static void send_pending(pg_store *s, const pend *pd, int n)
{
    for (int i = 0; i < n; i++)
        PQsendQueryParams(s->conn, pd[i].sql, 0, NULL, NULL, NULL, NULL, 0);
}

/* Run a statement without parameters (transaction control, `sql` may be NULL: only what is
 * pending), simple protocol, after the commands owed, in one round trip. `retry`: outside a
 * transaction, a statement that met a dead connection is run again once on a new one; so is
 * everything owed by a transaction that had not reached the server yet. */
static int exec_simple(pg_store *s, const char *sql, bool retry, hm_error *err)
{
    PGresult *res = NULL;
    pend saved[MAX_PENDING];
    int rc = HM_OK, n;

    for (int attempt = 0;; attempt++) {
        bool fresh = s->in_tx && !s->tx_sent;
        hm_buf all;

        if ((rc = ensure_conn(s, err)) != HM_OK)
            return rc;
        if (s->npending == 0 && !sql)
            return HM_OK;
        n = s->npending;
        memcpy(saved, s->pending, (size_t)n * sizeof *saved);
        hm_buf_init(&all);
        for (int i = 0; i < n; i++)
            hm_buf_printf(&all, "%s; ", saved[i].sql);
        hm_buf_puts(&all, sql ? sql : "");
        s->npending = 0;
        if (s->in_tx)
            s->tx_sent = true;
        res = PQexec(s->conn, all.data);
        hm_buf_clear(&all);
        if (attempt == 0 && PQresultStatus(res) == PGRES_FATAL_ERROR && conn_lost(s, res) &&
            ((retry && !s->in_tx) || fresh)) {
            PQclear(res);
            s->broken = true;
            s->retry_at_ms = 0;
            if (fresh) {
                memcpy(s->pending, saved, (size_t)n * sizeof *saved);
                s->npending = n;
                s->tx_sent = false;
            }
            continue;
        }
        break;
    }
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_error(s, res, err);
    PQclear(res);
    return rc;
}

/* Prepare `sql` under `name` on this connection. */
static int prepare(pg_store *s, const char *name, const char *sql, hm_error *err)
{
    PGresult *res = PQprepare(s->conn, name, sql, 0, NULL);
    int rc = HM_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_error(s, res, err);
        hm_log(HM_LOG_DEBUG, "event=prepare_failed stmt=%s msg=\"%s\"", name, err ? err->msg : "?");
    }
    PQclear(res);
    return rc;
}

/* PQexecPrepared after the commands owed, in one round trip (pipeline mode): the statement's
 * result, or the first failure among them (NULL when none came). *fresh_lost is set when the
 * connection was lost under a transaction that had not reached the server before: the
 * commands owed are owed again, for a new connection. */
static PGresult *exec_prepared(pg_store *s, const char *name, const params *p, bool *fresh_lost)
{
    PGresult *res = NULL, *bad = NULL;
    pend saved[MAX_PENDING];
    int n = s->npending, q = 0, nulls = 0;
    bool synced = false, fresh = s->in_tx && !s->tx_sent;

    *fresh_lost = false;
    if (s->in_tx)
        s->tx_sent = true;
    if (n == 0)
        return PQexecPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                              p ? p->fmt : NULL, 0);
    memcpy(saved, s->pending, (size_t)n * sizeof *saved);
    s->npending = 0;
    if (PQenterPipelineMode(s->conn) != 1) {
        s->broken = true; /* the commands owed are lost: the transaction must fail */
        goto lost;
    }
    send_pending(s, saved, n);
    PQsendQueryPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                        p ? p->fmt : NULL, 0);
    PQpipelineSync(s->conn);
    /* Each query's results end with NULL; the sync point ends them all. */
    while (!synced) {
        PGresult *r = PQgetResult(s->conn);
        ExecStatusType t;
        if (!r) {
            if (PQstatus(s->conn) != CONNECTION_OK || ++nulls > n + 1)
                break;
            q++;
            continue;
        }
        t = PQresultStatus(r);
        if (t == PGRES_PIPELINE_SYNC) {
            synced = true;
            PQclear(r);
        } else if (q < n && t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK && !bad) {
            bad = r;
        } else if (q == n && !res) {
            res = r;
        } else {
            PQclear(r);
        }
    }
    if (!synced || PQexitPipelineMode(s->conn) != 1)
        s->broken = true; /* a new connection starts out of pipeline mode */
lost:
    if (fresh && (s->broken || PQstatus(s->conn) != CONNECTION_OK)) {
        memcpy(s->pending, saved, (size_t)n * sizeof *saved);
        s->npending = n;
        s->tx_sent = false;
        *fresh_lost = true;
    }
    if (bad) {
        PQclear(res);
        return bad;
    }
    return res;
}

/* Run prepared statement `name` (SQL `sql`, prepared now if `*prepared` is false) with `p`.
 * Returns the result (caller PQclear()s it) when it is a command or rows, else NULL with
 * `err` filled. A read-only statement (SELECT) that met a dead connection outside a
 * transaction is run again once on a new one, and so is any statement of a transaction that
 * had not reached the server (its BEGIN goes again with it). */
static PGresult *run_named(pg_store *s, const char *name, const char *sql, bool *prepared,
                           const params *p, hm_error *err)
{
    bool readonly = strncmp(sql, "SELECT", 6) == 0;
    PGresult *res = NULL;

    for (int attempt = 0;; attempt++) {
        bool fresh = s->in_tx && !s->tx_sent;
        bool retry = attempt == 0 && ((readonly && !s->in_tx) || fresh);
        bool fresh_lost = false;
        hm_error e = {0};
        ExecStatusType t;

        if (ensure_conn(s, err) != HM_OK)
            return NULL;
        if (!*prepared) {
            if (prepare(s, name, sql, &e) == HM_OK) {
                *prepared = true;
            } else if (retry && s->broken) {
                s->retry_at_ms = 0;
                continue;
            } else {
                hm_error_set(err, e.code, e.field, "%s", e.msg);
                return NULL;
            }
        }
        res = exec_prepared(s, name, p, &fresh_lost);
        t = PQresultStatus(res);
        if (res && (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK))
            return res;
        if (retry && (fresh_lost || (!s->in_tx && conn_lost(s, res)))) {
            /* The new session will know no statement: prepare this one again. */
            PQclear(res);
            s->broken = true;
            s->retry_at_ms = 0;
            *prepared = false;
            continue;
        }
        pg_error(s, res, err);
        PQclear(res);
        return NULL;
    }
}

static PGresult *run(pg_store *s, int q, const params *p, hm_error *err)
{
    char name[16];
    snprintf(name, sizeof name, "q%d", q);
    return run_named(s, name, q_sql[q], &s->prepared[q], p, err);
}

/* Run a statement that returns no rows; *changed (may be NULL) gets the rows it changed. */
static int run_cmd(pg_store *s, int q, const params *p, int64_t *changed, hm_error *err)
{
    PGresult *res = run(s, q, p, err);
    if (!res)
        return err ? err->code : HM_E_DB;
    if (changed)
        *changed = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return HM_OK;
}

/* ---- columns of text results ------------------------------------------------------------ */

static int64_t col_i64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int col_int(const PGresult *res, int row, int col)
{
    return (int)col_i64(res, row, col);
}

static double col_f64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtod(PQgetvalue(res, row, col), NULL);
}

static bool col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static void col_copy(const PGresult *res, int row, int col, char *out, size_t size)
{
    snprintf(out, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static char *col_dup(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : hm_xstrdup(PQgetvalue(res, row, col));
}

/* A bytea column (hex output, "\x0a1b...") into `out` (at most `max` bytes); returns the
 * length, or -1 when NULL, malformed or longer than `max`. */
static long col_bytes(const PGresult *res, int row, int col, unsigned char *out, size_t max)
{
    const char *v;
    size_t n;
    if (PQgetisnull(res, row, col))
        return -1;
    v = PQgetvalue(res, row, col);
    n = strlen(v);
    if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2 || (n - 2) / 2 > max)
        return -1;
    for (size_t i = 0; i < (n - 2) / 2; i++) {
        int hi = hm_hexval(v[2 + 2 * i]), lo = hm_hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return (long)((n - 2) / 2);
}

/* ---- schema ------------------------------------------------------------------------------- */

/* Version of the helpmap schema in the connection's current schema: 0 when there is none,
 * -1 on error (err filled). */
static int read_version(pg_store *s, hm_error *err)
{
    PGresult *res = PQexec(s->conn, "SELECT to_regclass(quote_ident(current_schema()) || "
                                    "'.helpmap_meta') IS NOT NULL");
    int v = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pg_error(s, res, err);
        goto out;
    }
    if (PQgetvalue(res, 0, 0)[0] != 't') {
        v = 0;
        goto out;
    }
    PQclear(res);
    res = PQexec(s->conn, "SELECT value FROM helpmap_meta WHERE key = 'schema_version'");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_error(s, res, err);
        goto out;
    }
    v = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
out:
    PQclear(res);
    return v;
}

/* One query's single text value into out; HM_OK or an error. */
static int query_value(pg_store *s, const char *sql, char *out, size_t size, bool *isnull,
                       hm_error *err)
{
    PGresult *res = PQexec(s->conn, sql);
    int rc = HM_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_error(s, res, err);
    else if (PQntuples(res) == 0) {
        *isnull = true;
        out[0] = '\0';
    } else {
        *isnull = PQgetisnull(res, 0, 0);
        snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return rc;
}

/* Before creating the schema: the current schema exists and holds no table, view or sequence
 * but those of extensions (PostGIS's spatial_ref_sys), and PostGIS is there or may be
 * installed now. Runs inside the creating transaction. */
static int prepare_empty(pg_store *s, hm_error *err)
{
    char v[160];
    bool isnull = false;
    PGresult *res;
    int rc;

    if ((rc = query_value(s, "SELECT current_schema()", v, sizeof v, &isnull, err)))
        return rc;
    if (isnull)
        return hm_error_set(err, HM_E_DB, "db",
                            "no schema to create helpmap's tables in: the search_path names "
                            "none that exists");
    if ((rc = query_value(s,
                          "SELECT c.relname FROM pg_class c WHERE c.relnamespace = "
                          "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND "
                          "c.relkind IN ('r', 'v', 'm', 'p', "
                          "'f', 'S') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = "
                          "'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') "
                          "ORDER BY 1 LIMIT 1",
                          v, sizeof v, &isnull, err)))
        return rc;
    if (!isnull)
        return hm_error_set(err, HM_E_DB, "db",
                            "the database holds tables that are not helpmap's (\"%s\"): give "
                            "helpmap an empty database or schema",
                            v);
    if ((rc = query_value(s, "SELECT 1 FROM pg_extension WHERE extname = 'postgis'", v, sizeof v,
                          &isnull, err)))
        return rc;
    if (!isnull)
        return HM_OK;
    hm_log(HM_LOG_INFO, "event=create_extension name=postgis");
    res = PQexec(s->conn, "CREATE EXTENSION IF NOT EXISTS postgis");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        rc = PQstatus(s->conn) != CONNECTION_OK
                 ? pg_error(s, res, err)
                 : hm_error_set(err, HM_E_DB, "db",
                                "PostGIS is not installed in this database and could not be: "
                                "%s; ask its administrator for CREATE EXTENSION postgis",
                                m ? m : "?");
    }
    PQclear(res);
    return rc;
}

static int run_sql(pg_store *s, const char *sql, hm_error *err)
{
    PGresult *res = PQexec(s->conn, sql);
    int rc = HM_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_error(s, res, err);
    PQclear(res);
    return rc;
}

static int migrate(pg_store *s, hm_error *err)
{
    int v = read_version(s, err), rc;
    char sql[256];

    if (v < 0)
        return err ? err->code : HM_E_DB;
    if (v > SCHEMA_VERSION)
        return hm_error_set(err, HM_E_DB, NULL,
                            "database schema version %d is newer than this program (%d)", v,
                            SCHEMA_VERSION);
    if (v == SCHEMA_VERSION)
        return HM_OK;
    if (v == 0 && !(s->flags & HM_STORE_CREATE))
        return hm_error_set(err, HM_E_NOT_FOUND, "db", "no helpmap tables in this database");
    if (s->flags & HM_STORE_READONLY)
        return hm_error_set(err, HM_E_DB, NULL, "database needs migration (version %d < %d)", v,
                            SCHEMA_VERSION);
    if ((rc = run_sql(s, "BEGIN; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", err)))
        goto fail;
    /* Again under the lock: another server may have created or migrated it meanwhile. */
    if ((v = read_version(s, err)) < 0) {
        rc = err ? err->code : HM_E_DB;
        goto fail;
    }
    if (v == 0 && (rc = prepare_empty(s, err)))
        goto fail;
    s->base.created = v == 0;
    for (; v < SCHEMA_VERSION; v++) {
        hm_log(HM_LOG_INFO, "event=migrate backend=postgis from=%d to=%d", v, v + 1);
        if ((rc = run_sql(s, migrations[v], err)))
            goto fail;
        snprintf(sql, sizeof sql,
                 "INSERT INTO helpmap_meta(key, value) VALUES ('schema_version', '%d') ON "
                 "CONFLICT (key) DO UPDATE SET value = excluded.value",
                 v + 1);
        if ((rc = run_sql(s, sql, err)))
            goto fail;
    }
    return run_sql(s, "COMMIT", err);
fail:
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

/* ---- open and close ---------------------------------------------------------------------- */

static void pg_close(hm_store *st)
{
    pg_store *s = PG(st);
    forget_session(s);
    if (s->conn)
        PQfinish(s->conn);
    if (s->listen)
        PQfinish(s->listen);
    free(s->uri);
    free(s);
}

/* A new connection to `uri` with helpmap's settings: ours first, then the URI's (it may
 * override them), then what must hold. NULL only when out of memory; check PQstatus(). */
static PGconn *connect_uri(const char *uri)
{
    const char *const keys[] = {
        "application_name", "connect_timeout", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "dbname",          "client_encoding", NULL};
    const char *const vals[] = {"helpmap", "5", "10", "5", "3", uri, "UTF8", NULL};
    return PQconnectdbParams(keys, vals, 1);
}

hm_store *hm_store__pg_open(const char *uri, int flags, hm_error *err)
{
    pg_store *s = hm_xcalloc(1, sizeof *s);
    char msg[160];

    s->base.ops = &pg_ops;
    s->flags = flags;
    s->uri = hm_xstrdup(uri);
    s->conn = connect_uri(uri);
    if (!s->conn) {
        hm_error_set(err, HM_E_NOMEM, NULL, "cannot connect to the database: out of memory");
        goto fail;
    }
    if (PQstatus(s->conn) != CONNECTION_OK) {
        conn_message(s->conn, msg, sizeof msg);
        hm_error_set(err, HM_E_UNAVAILABLE, NULL, "cannot connect to the database: %s", msg);
        goto fail;
    }
    PQsetNoticeReceiver(s->conn, on_notice, NULL); /* kept by PQreset */
    if (session_setup(s, err) || migrate(s, err))
        goto fail;
    return &s->base;
fail:
    pg_close(&s->base);
    return NULL;
}

static int pg_schema_version(hm_store *st)
{
    pg_store *s = PG(st);
    if (ensure_conn(s, NULL) != HM_OK)
        return -1;
    return read_version(s, NULL);
}

/* ---- transactions ---------------------------------------------------------------------- */

/* A lost connection is replaced now, while no transaction is on it; BEGIN itself goes out
 * with the transaction's first statement (see "round trips"). */
static int pg_begin(hm_store *st, bool immediate, hm_error *err)
{
    pg_store *s = PG(st);
    int rc;
    (void)immediate; /* races are decided by row locks and the guarded UPDATEs */
    if ((rc = ensure_conn(s, err)) != HM_OK)
        return rc;
    s->npending = 1;
    s->pending[0].kind = PEND_BEGIN;
    snprintf(s->pending[0].sql, sizeof s->pending[0].sql, "%s", pend_sql[PEND_BEGIN]);
    s->in_tx = true;
    s->tx_sent = false;
    return HM_OK;
}

static void pg_rollback(hm_store *st);

/* The INSERT of a transaction's changes into the log, "prev" packed as SQLite packs it, with
 * its values (owned here). Their ids come from the identity in row order (the VALUES list is
 * in `changes` order). */
typedef struct change_rows {
    hm_buf sql;
    const char **v;
    char (*num)[4][32];
    char (*prev)[256];
    int nparams;
} change_rows;

static void change_rows_init(change_rows *cr, const hm_change *changes, size_t n)
{
    hm_buf_init(&cr->sql);
    cr->v = hm_xcalloc(n * 7, sizeof *cr->v);
    cr->num = hm_xcalloc(n, sizeof *cr->num);
    cr->prev = hm_xcalloc(n, sizeof *cr->prev);
    cr->nparams = (int)(n * 7);
    hm_buf_puts(&cr->sql, "INSERT INTO change(at, kind, ref, prev, level, code, flags) VALUES ");
    for (size_t i = 0; i < n; i++) {
        const hm_change *c = &changes[i];
        size_t k = i * 7;
        hm_buf_printf(&cr->sql,
                      "%s($%zu::bigint, $%zu::integer, $%zu::bigint, $%zu, $%zu::integer, $%zu, "
                      "$%zu::integer)",
                      i ? ", " : "", k + 1, k + 2, k + 3, k + 4, k + 5, k + 6, k + 7);
        snprintf(cr->num[i][0], 32, "%lld", (long long)c->at);
        snprintf(cr->num[i][1], 32, "%d", c->kind);
        snprintf(cr->num[i][2], 32, "%lld", (long long)c->ref);
        snprintf(cr->num[i][3], 32, "%u", c->flags);
        cr->v[k] = cr->num[i][0];
        cr->v[k + 1] = cr->num[i][1];
        cr->v[k + 2] = cr->num[i][2];
        cr->v[k + 6] = cr->num[i][3];
        if ((c->kind == HM_CH_REQUEST_UPDATED || c->kind == HM_CH_RECEIPT) && c->prev.status >= 0) {
            snprintf(cr->prev[i], sizeof cr->prev[i], "%d|%d|%lld|%.9g|%.9g|%s|%s|%s|%d|%d",
                     c->prev.status, c->prev.category, (long long)c->prev.status_at, c->prev.lon,
                     c->prev.lat, c->prev.ward, c->prev.former_ward, c->prev.hamlet,
                     c->prev.safe ? 1 : 0, c->prev.receipt);
            cr->v[k + 3] = cr->prev[i];
        }
        if (c->kind == HM_CH_AREA || c->kind == HM_CH_PLACES || c->kind == HM_CH_RELIEF) {
            snprintf(cr->num[i][1] + 16, 16, "%d", c->level); /* second half of the kind's slot */
            cr->v[k + 4] = cr->num[i][1] + 16;
            if (c->kind != HM_CH_RELIEF)
                cr->v[k + 5] = c->code;
        }
    }
    hm_buf_puts(&cr->sql, " RETURNING id");
}

static void change_rows_clear(change_rows *cr)
{
    hm_buf_clear(&cr->sql);
    free(cr->v);
    free(cr->num);
    free(cr->prev);
}

/* The ids RETURNING gave, into `changes` in order: sorted, since the identity numbered the
 * rows in VALUES order. */
static void change_ids(const PGresult *res, hm_change *changes, size_t n)
{
    int64_t *ids = hm_xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = col_i64(res, (int)i, 0);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            int64_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        changes[i].id = ids[i];
    free(ids);
}

/* COMMIT. With changes: first the lock that orders commits (CHANGE_LOCK), then the changes
 * (numbered now, so in commit order) and a notification to every server that follows the log,
 * all in the transaction. One round trip: the commands owed, the lock, the rows, the NOTIFY
 * and the COMMIT go out together (pipeline mode); the first failure among them is the
 * commit's, and the transaction is then rolled back. A transaction that sent nothing and has
 * no changes ends here without a word to the server. */
static int pg_commit(hm_store *st, hm_change *changes, size_t n, hm_error *err)
{
    pg_store *s = PG(st);
    change_rows cr;
    PGresult *bad = NULL, *ins = NULL, *fin = NULL;
    int rc, np, nq, q = 0, nulls = 0;
    bool synced = false;

    if (!s->tx_sent && n == 0) {
        s->in_tx = false;
        s->npending = 0;
        return HM_OK;
    }
    if ((rc = ensure_conn(s, err)) != HM_OK) {
        pg_rollback(st);
        return rc;
    }
    np = s->npending;
    nq = np + (n > 0 ? 3 : 0) + 1;
    s->npending = 0;
    s->tx_sent = true;
    if (n > 0)
        change_rows_init(&cr, changes, n);
    if (PQenterPipelineMode(s->conn) != 1) {
        s->broken = true;
        goto done;
    }
    send_pending(s, s->pending, np);
    if (n > 0) {
        PQsendQueryParams(s->conn, "SELECT pg_advisory_xact_lock(" CHANGE_LOCK ")", 0, NULL, NULL,
                          NULL, NULL, 0);
        PQsendQueryParams(s->conn, cr.sql.data, cr.nparams, NULL, cr.v, NULL, NULL, 0);
        PQsendQueryParams(s->conn, "NOTIFY " CHANGE_CHANNEL, 0, NULL, NULL, NULL, NULL, 0);
    }
    PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    PQpipelineSync(s->conn);
    while (!synced) {
        PGresult *r = PQgetResult(s->conn);
        ExecStatusType t;
        if (!r) {
            if (PQstatus(s->conn) != CONNECTION_OK || ++nulls > nq + 1)
                break;
            q++;
            continue;
        }
        t = PQresultStatus(r);
        if (t == PGRES_PIPELINE_SYNC) {
            synced = true;
            PQclear(r);
        } else if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
            if (!bad)
                bad = r;
            else
                PQclear(r);
        } else if (n > 0 && q == np + 1 && !ins) {
            ins = r;
        } else if (q == nq - 1 && !fin) {
            fin = r;
        } else {
            PQclear(r);
        }
    }
    if (!synced || PQexitPipelineMode(s->conn) != 1)
        s->broken = true; /* a new connection starts out of pipeline mode */
done:
    if (bad || !fin) {
        rc = pg_error(s, bad, err);
        pg_rollback(st); /* a statement before COMMIT failed: still open, aborted */
    } else if (strcmp(PQcmdStatus(fin), "ROLLBACK") == 0) {
        /* COMMIT of a transaction a failed statement aborted: PostgreSQL rolls it back. */
        rc = hm_error_set(err, HM_E_DB, NULL,
                          "database error: the transaction failed earlier and was rolled back");
    } else if (n > 0 && (!ins || (size_t)PQntuples(ins) != n)) {
        rc = hm_error_set(err, HM_E_DB, NULL, "database error: the change log took %d of %zu",
                          ins ? PQntuples(ins) : -1, n);
    } else if (n > 0) {
        change_ids(ins, changes, n);
    }
    s->in_tx = false;
    s->tx_sent = false;
    PQclear(bad);
    PQclear(ins);
    PQclear(fin);
    if (n > 0)
        change_rows_clear(&cr);
    return rc;
}

static void pg_rollback(hm_store *st)
{
    pg_store *s = PG(st);
    bool was = s->in_tx && s->tx_sent;
    s->in_tx = false;
    s->tx_sent = false;
    s->npending = 0;
    if (s->broken || PQstatus(s->conn) != CONNECTION_OK)
        return;
    if (was || PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        exec_simple(s, "ROLLBACK", false, NULL);
}

/* Owe the server `kind` (text `sql`) until the transaction's next statement (see "round
 * trips"); outside a transaction it is sent at once, as SQLite would run it. */
static int pending_push(pg_store *s, pend_kind kind, const char *sql, hm_error *err)
{
    if (!s->in_tx)
        return exec_simple(s, sql, false, err);
    if (s->npending == MAX_PENDING) {
        int rc = exec_simple(s, NULL, false, err);
        if (rc != HM_OK)
            return rc;
    }
    s->pending[s->npending].kind = kind;
    snprintf(s->pending[s->npending].sql, sizeof s->pending[0].sql, "%s", sql);
    s->npending++;
    return HM_OK;
}

static int pg_savepoint(hm_store *st, hm_error *err)
{
    return pending_push(PG(st), PEND_SAVEPOINT, pend_sql[PEND_SAVEPOINT], err);
}

static int pg_release(hm_store *st, hm_error *err)
{
    pg_store *s = PG(st);
    if (s->npending > 0 && s->pending[s->npending - 1].kind == PEND_SAVEPOINT) {
        s->npending--; /* nothing ran in it */
        return HM_OK;
    }
    return pending_push(s, PEND_RELEASE, pend_sql[PEND_RELEASE], err);
}

/* Undo the job since its savepoint. When the SAVEPOINT is still owed, nothing of the job went
 * out: it and what the job owed after it are dropped. Otherwise what is owed is the job's own
 * (locks), dropped too, and the server rolls back. */
static void pg_rollback_to(hm_store *st)
{
    pg_store *s = PG(st);
    for (int i = s->npending - 1; i >= 0; i--)
        if (s->pending[i].kind == PEND_SAVEPOINT) {
            s->npending = i;
            return;
        }
    if (!s->tx_sent) {
        s->npending = 1; /* the BEGIN, still owed: nothing went out to undo */
        return;
    }
    s->npending = 0;
    exec_simple(s, "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job", false, NULL);
}

/* ---- areas ------------------------------------------------------------------------------- */

static int pg_area_upsert(hm_store *st, hm_level level, const hm_area *a, hm_error *err)
{
    params p = {0};
    p_i64(&p, (int)level);
    p_text(&p, a->code);
    p_text(&p, a->name ? a->name : "");
    p_text_or_null(&p, a->parent_code);
    p_f64(&p, a->rep_lon);
    p_f64(&p, a->rep_lat);
    for (int i = 0; i < 4; i++)
        p_f64(&p, a->bbox[i]);
    if (a->pop >= 0)
        p_i64(&p, a->pop);
    else
        p_null(&p);
    p_bytes(&p, a->wkb, a->wkb_len);
    return run_cmd(PG(st), Q_AREA_UPSERT, &p, NULL, err);
}

static int pg_area_delete(hm_store *st, hm_level level, const char *code, hm_error *err)
{
    params p = {0};
    int64_t n = 0;
    int rc;
    p_i64(&p, (int)level);
    p_text(&p, code);
    rc = run_cmd(PG(st), Q_AREA_DELETE, &p, &n, err);
    if (rc == HM_OK && n == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no %s area with code %s",
                          hm_level_name(level), code);
    return rc;
}

static int pg_area_delete_level(hm_store *st, hm_level level, hm_error *err)
{
    params p = {0};
    p_i64(&p, (int)level);
    return run_cmd(PG(st), Q_AREA_DELETE_LEVEL, &p, NULL, err);
}

static int pg_area_list(hm_store *st, int level, const char *code, hm_area_cb cb, void *ctx,
                        hm_error *err)
{
    pg_store *s = PG(st);
    params p = {0};
    PGresult *res;
    unsigned char *wkb = NULL;
    size_t wkb_cap = 0;
    int rc = HM_OK, n;

    p_i64(&p, level);
    p_text(&p, code);
    if (!(res = run(s, Q_AREA_LIST, &p, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        hm_area_row a;
        size_t need = (size_t)PQgetlength(res, i, 11) / 2 + 1;
        long len;
        memset(&a, 0, sizeof a);
        a.level = col_int(res, i, 0);
        col_copy(res, i, 1, a.code, sizeof a.code);
        col_copy(res, i, 2, a.name, sizeof a.name);
        col_copy(res, i, 3, a.parent_code, sizeof a.parent_code);
        a.rep_lon = col_f64(res, i, 4);
        a.rep_lat = col_f64(res, i, 5);
        for (int k = 0; k < 4; k++)
            a.bbox[k] = col_f64(res, i, 6 + k);
        a.pop = PQgetisnull(res, i, 10) ? -1 : col_i64(res, i, 10);
        if (need > wkb_cap) {
            free(wkb);
            wkb = hm_xmalloc(need);
            wkb_cap = need;
        }
        len = col_bytes(res, i, 11, wkb, wkb_cap);
        a.wkb = len > 0 ? wkb : NULL;
        a.wkb_len = len > 0 ? (size_t)len : 0;
        if ((rc = cb(ctx, &a)) != 0)
            goto out;
    }
    if (code && n == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no %s area with code %s",
                          hm_level_name((hm_level)level), code);
out:
    free(wkb);
    PQclear(res);
    return rc;
}

static int level_query(hm_level level, int ward_q)
{
    switch (level) {
        case HM_LEVEL_WARD:
            return ward_q;
        case HM_LEVEL_FORMER_WARD:
            return ward_q + 1;
        default:
            return ward_q + 2;
    }
}

static int pg_area_request_count(hm_store *st, hm_level level, const char *code, int64_t *count,
                                 hm_error *err)
{
    params p = {0};
    PGresult *res;
    p_text(&p, code);
    if (!(res = run(PG(st), level_query(level, Q_AREA_REQ_COUNT_WARD), &p, err)))
        return err ? err->code : HM_E_DB;
    *count = col_i64(res, 0, 0);
    PQclear(res);
    return HM_OK;
}

static int pg_area_counts(hm_store *st, hm_level level, hm_count_cb cb, void *ctx, hm_error *err)
{
    PGresult *res;
    int rc = HM_OK, n;
    if (!(res = run(PG(st), level_query(level, Q_AREA_COUNTS_WARD), NULL, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++)
        rc = cb(ctx, PQgetvalue(res, i, 0), col_int(res, i, 1), col_int(res, i, 2),
                col_i64(res, i, 3));
    PQclear(res);
    return rc;
}

/* ---- requests ---------------------------------------------------------------------------- */

static void read_request_at(const PGresult *res, int i, int o, hm_request *r,
                            uint8_t token_hash[32]);

/* The columns of `r` that an insert writes (Q_REQ_INSERT's $1..$26). */
static void request_insert_params(params *p, const hm_request *r, const uint8_t token_hash[32])
{
    p_text(p, r->code);
    p_bytes(p, token_hash, 32);
    p_f64(p, r->lon);
    p_f64(p, r->lat);
    p_i64(p, r->precision);
    p_i64(p, r->category);
    p_i64(p, r->people);
    p_i64(p, (int)r->vulnerable);
    p_i64(p, r->priority);
    p_text_or_null(p, r->note);
    p_text_or_null(p, r->name);
    p_text_or_null(p, r->address);
    p_text_or_null(p, r->phone);
    p_i64(p, r->status);
    p_text_or_null(p, r->ward_code);
    p_text_or_null(p, r->former_ward_code);
    p_text_or_null(p, r->hamlet_code);
    p_i64(p, r->source);
    p_bool(p, r->verified);
    if (r->team_id > 0)
        p_i64(p, r->team_id);
    else
        p_null(p);
    p_text_or_null(p, r->duplicate_of);
    p_i64(p, r->created_at);
    p_text_or_null(p, r->reporter_name);
    p_text_or_null(p, r->reporter_phone);
    p_text_or_null(p, r->location_text);
    p_bool(p, r->auto_duplicate);
}

/* History entry `h` with the chain fields store.c computed, as Q_HIST_ADD's $2..$17
 * (Q_REQ_CREATE's $27..$42). */
static void history_params(params *p, const hm_history *h)
{
    p_i64(p, h->at);
    p_text(p, h->actor);
    if (h->from >= 0)
        p_i64(p, h->from);
    else
        p_null(p);
    if (h->to >= 0)
        p_i64(p, h->to);
    else
        p_null(p);
    p_text_or_null(p, h->note);
    p_text(p, h->kind);
    p_text_or_null(p, h->field);
    p_text_or_null(p, h->old_value);
    p_text_or_null(p, h->new_value);
    p_bool(p, h->contact);
    p_text_or_null(p, h->note_sha256);
    p_text_or_null(p, h->old_sha256);
    p_text_or_null(p, h->new_sha256);
    p_text_or_null(p, h->detail);
    p_text_or_null(p, h->hash);
    p_text_or_null(p, h->salt);
}

/* hm_store_request_create() in one statement (Q_REQ_CREATE), sent with what the transaction
 * owes (its BEGIN, the job's savepoint, the phone's lock): one round trip a creation. */
static int pg_request_create(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                             const hm_history *first, const hm_dup_query *dup, hm_request_cb cand,
                             void *ctx, hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK, n;

    request_insert_params(&p, r, token_hash);
    history_params(&p, first);
    if (dup && dup->phone) {
        p_i64(&p, dup->since_ms);
        p_f64(&p, dup->radius_m + 1.0);
    } else {
        p_null(&p);
        p_null(&p);
    }
    if (!(res = run(PG(st), Q_REQ_CREATE, &p, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    if (n >= 1 && !PQgetisnull(res, 0, 0)) {
        r->id = col_i64(res, 0, 0);
        r->updated_at = r->status_at = r->created_at;
        r->safe_at = 0;
    } else if (n >= 1 && !PQgetisnull(res, 0, 1)) {
        rc = 1;
        for (int i = 0; i < n; i++) {
            hm_request c;
            int stop;
            read_request_at(res, i, 1, &c, NULL);
            stop = cand ? cand(ctx, &c) : 1;
            hm_request_clear(&c);
            if (stop)
                break;
        }
    } else {
        rc = hm_error_set(err, HM_E_IN_USE, "code", "request code already in use");
    }
    PQclear(res);
    return rc;
}

static int pg_request_insert(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                             hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK;

    request_insert_params(&p, r, token_hash);
    if (!(res = run(PG(st), Q_REQ_INSERT, &p, err)))
        return err ? err->code : HM_E_DB;
    if (PQntuples(res) == 0) {
        rc = hm_error_set(err, HM_E_IN_USE, "code", "request code already in use");
    } else {
        r->id = col_i64(res, 0, 0);
        r->updated_at = r->status_at = r->created_at;
        r->safe_at = 0;
    }
    PQclear(res);
    return rc;
}

/* Row i of `res` from column `o` on (REQ_COLS) into `r`. */
static void read_request_at(const PGresult *res, int i, int o, hm_request *r,
                            uint8_t token_hash[32])
{
    memset(r, 0, sizeof *r);
    r->id = col_i64(res, i, o + 0);
    col_copy(res, i, o + 1, r->code, sizeof r->code);
    r->lon = col_f64(res, i, o + 2);
    r->lat = col_f64(res, i, o + 3);
    r->precision = col_int(res, i, o + 4);
    r->category = col_int(res, i, o + 5);
    r->people = col_int(res, i, o + 6);
    r->vulnerable = (unsigned)col_int(res, i, o + 7);
    r->priority = col_int(res, i, o + 8);
    r->note = col_dup(res, i, o + 9);
    r->name = col_dup(res, i, o + 10);
    r->address = col_dup(res, i, o + 11);
    r->phone = col_dup(res, i, o + 12);
    r->status = col_int(res, i, o + 13);
    col_copy(res, i, o + 14, r->ward_code, sizeof r->ward_code);
    col_copy(res, i, o + 15, r->former_ward_code, sizeof r->former_ward_code);
    col_copy(res, i, o + 16, r->hamlet_code, sizeof r->hamlet_code);
    r->source = col_int(res, i, o + 17);
    r->verified = col_bool(res, i, o + 18);
    r->team_id = col_i64(res, i, o + 19);
    col_copy(res, i, o + 20, r->duplicate_of, sizeof r->duplicate_of);
    r->created_at = col_i64(res, i, o + 21);
    r->updated_at = col_i64(res, i, o + 22);
    r->status_at = col_i64(res, i, o + 23);
    if (token_hash && col_bytes(res, i, o + 24, token_hash, 32) != 32)
        memset(token_hash, 0, 32);
    r->reporter_name = col_dup(res, i, o + 25);
    r->reporter_phone = col_dup(res, i, o + 26);
    r->location_text = col_dup(res, i, o + 27);
    r->safe_at = col_i64(res, i, o + 28);
    r->auto_duplicate = col_bool(res, i, o + 29);
    r->delivered = col_bool(res, i, o + 30);
    r->delivered_vnd = PQgetisnull(res, i, o + 31) ? -1 : col_i64(res, i, o + 31);
    r->receipt = col_int(res, i, o + 32);
    if (r->receipt < HM_RCPT_NONE || r->receipt >= HM_RCPT__COUNT)
        r->receipt = HM_RCPT_NONE;
    r->receipt_vnd = PQgetisnull(res, i, o + 33) ? -1 : col_i64(res, i, o + 33);
    r->receipt_at = col_i64(res, i, o + 34);
}

static void read_request(const PGresult *res, int i, hm_request *r, uint8_t token_hash[32])
{
    read_request_at(res, i, 0, r, token_hash);
}

static int pg_request_get(hm_store *st, const char *code, int64_t id, hm_request *out,
                          uint8_t token_hash[32], hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK;

    if (code)
        p_text(&p, code);
    else
        p_i64(&p, id);
    if (!(res = run(PG(st), code ? Q_REQ_BY_CODE : Q_REQ_BY_ID, &p, err)))
        return err ? err->code : HM_E_DB;
    if (PQntuples(res) == 1)
        read_request(res, 0, out, token_hash);
    else
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code");
    PQclear(res);
    return rc;
}

/* The name of the prepared statement for list SQL `sql`, from the connection's cache
 * (moved to the front) or prepared now, evicting (DEALLOCATE) the least recently used.
 * HM_OK or an error. */
static int list_stmt(pg_store *s, const char *sql, char name[16], hm_error *err)
{
    int i;
    char *key;

    for (i = 0; i < LIST_CACHE; i++)
        if (s->list_cache[i].sql && strcmp(s->list_cache[i].sql, sql) == 0)
            break;
    if (i < LIST_CACHE) {
        key = s->list_cache[i].sql;
        memcpy(name, s->list_cache[i].name, 16);
    } else {
        char old[16];
        bool evict;
        int rc;
        snprintf(name, 16, "l%u", s->list_seq++);
        if ((rc = prepare(s, name, sql, err)) != HM_OK)
            return rc;
        i = LIST_CACHE - 1;
        evict = s->list_cache[i].sql != NULL;
        memcpy(old, s->list_cache[i].name, sizeof old);
        free(s->list_cache[i].sql);
        s->list_cache[i].sql = NULL;
        if (evict) {
            char dsql[40];
            snprintf(dsql, sizeof dsql, "DEALLOCATE %s", old);
            PQclear(PQexec(s->conn, dsql)); /* a leak on the server at worst */
        }
        key = hm_xstrdup(sql);
    }
    memmove(&s->list_cache[1], &s->list_cache[0], (size_t)i * sizeof s->list_cache[0]);
    s->list_cache[0].sql = key;
    memcpy(s->list_cache[0].name, name, 16);
    return HM_OK;
}

/* Append " AND <before>$N<after>", N the number of the next parameter. */
static void add_cond(hm_buf *sql, const params *p, const char *before, const char *after)
{
    hm_buf_printf(sql, " AND %s$%d%s", before, p->n + 1, after);
}

/* Where a page of a list starts: after this row in the list's order (set false: from the
 * start). */
typedef struct list_key {
    bool set;
    int64_t id, created_at;
    int priority;
} list_key;

/* " AND col = ANY(mask)" for the bits of `mask` below `n` (nothing for 0 or all). */
static void add_mask(hm_buf *sql, params *p, const char *col, unsigned mask, int n, char *buf,
                     size_t size)
{
    size_t m = 0;
    int k = 0;
    if (!mask || mask == (1u << n) - 1)
        return;
    hm_buf_printf(sql, " AND %s = ANY($%d::integer[])", col, p->n + 1);
    buf[m++] = '{';
    for (int i = 0; i < n; i++)
        if (mask & (1u << i))
            m += (size_t)snprintf(buf + m, size - m, "%s%d", k++ ? "," : "", i);
    if (!k)
        m += (size_t)snprintf(buf + m, size - m, "-1");
    snprintf(buf + m, size - m, "}");
    p_text(p, buf);
}

/* One page of the list: the rows of `f` after `after` in the list's order, at most `limit`;
 * cb for each. *rows gets the rows read and *last the last one's key. */
static int list_page(pg_store *s, const hm_request_filter *f, list_key after, size_t limit,
                     hm_request_cb cb, void *ctx, int *rows, list_key *last, hm_error *err)
{
    hm_buf sql;
    params p = {0};
    PGresult *res = NULL;
    char name[16], mask[64], pmask[32], smask[32];
    bool prepared = true;
    int rc = HM_OK, n, k = 0;

    hm_buf_init(&sql);
    hm_buf_puts(&sql, "SELECT " REQ_COLS " FROM request WHERE true");
    if (after.set && f->order == HM_ORDER_URGENT) {
        hm_buf_printf(&sql,
                      " AND (priority < $%d OR (priority = $%d AND (created_at > $%d OR "
                      "(created_at = $%d AND id > $%d))))",
                      p.n + 1, p.n + 1, p.n + 2, p.n + 2, p.n + 3);
        p_i64(&p, after.priority);
        p_i64(&p, after.created_at);
        p_i64(&p, after.id);
    } else if (after.set) {
        add_cond(&sql, &p, f->order == HM_ORDER_ID_DESC ? "id < " : "id > ", "");
        p_i64(&p, after.id);
    }
    if (f->has_bbox) {
        /* The GiST index finds the box (its float boxes err outward), the exact comparison
         * of lon and lat keeps SQLite's edges: both ends inclusive. */
        hm_buf_printf(&sql,
                      " AND geom && ST_MakeEnvelope($%d, $%d, $%d, $%d, 4326) AND lon BETWEEN "
                      "$%d AND $%d AND lat BETWEEN $%d AND $%d",
                      p.n + 1, p.n + 2, p.n + 3, p.n + 4, p.n + 1, p.n + 3, p.n + 2, p.n + 4);
        for (int i = 0; i < 4; i++)
            p_f64(&p, f->bbox[i]);
    }
    if (f->status_mask && f->status_mask != (1u << HM_ST__COUNT) - 1) {
        size_t m = 0;
        add_cond(&sql, &p, "status = ANY(", "::integer[])");
        mask[m++] = '{';
        for (int i = 0; i < HM_ST__COUNT; i++)
            if (f->status_mask & (1u << i))
                m += (size_t)snprintf(mask + m, sizeof mask - m, "%s%d", k++ ? "," : "", i);
        snprintf(mask + m, sizeof mask - m, "}");
        p_text(&p, mask);
    }
    if (f->category >= 0) {
        add_cond(&sql, &p, "category = ", "");
        p_i64(&p, f->category);
    }
    if (f->ward_code) {
        add_cond(&sql, &p, "ward_code = ", "");
        p_text(&p, f->ward_code);
    }
    if (f->former_ward_code) {
        add_cond(&sql, &p, "former_ward_code = ", "");
        p_text(&p, f->former_ward_code);
    }
    if (f->hamlet_code) {
        add_cond(&sql, &p, "hamlet_code = ", "");
        p_text(&p, f->hamlet_code);
    }
    if (f->duplicate_of) {
        add_cond(&sql, &p, "duplicate_of = ", "");
        p_text(&p, f->duplicate_of);
    }
    add_mask(&sql, &p, "priority", f->priority_mask, 2, pmask, sizeof pmask);
    add_mask(&sql, &p, "source", f->source_mask, HM_SRC__COUNT, smask, sizeof smask);
    if (f->phone) {
        add_cond(&sql, &p, "phone = ", "");
        p_text(&p, f->phone);
    }
    if (f->since_ms > 0) {
        add_cond(&sql, &p, "updated_at >= ", "");
        p_i64(&p, f->since_ms);
    }
    if (f->created_since_ms > 0) {
        add_cond(&sql, &p, "created_at >= ", "");
        p_i64(&p, f->created_since_ms);
    }
    if (f->team_id > 0) {
        add_cond(&sql, &p, "team_id = ", "");
        p_i64(&p, f->team_id);
    }
    if (f->verified >= 0) {
        add_cond(&sql, &p, "verified = ", "");
        p_bool(&p, f->verified != 0);
    }
    if (f->flagged) /* the terms of the partial index request_flag */
        hm_buf_puts(&sql, " AND status = 3 AND receipt IN (2, 3)");
    hm_buf_printf(&sql, " ORDER BY %s LIMIT $%d",
                  f->order == HM_ORDER_ID_DESC  ? "id DESC"
                  : f->order == HM_ORDER_URGENT ? "priority DESC, created_at, id"
                                                : "id",
                  p.n + 1);
    p_i64(&p, (int64_t)limit);

    for (int attempt = 0;; attempt++) {
        hm_error e = {0};
        if ((rc = ensure_conn(s, err)) != HM_OK)
            goto out;
        if ((rc = list_stmt(s, sql.data, name, &e)) == HM_OK)
            break;
        /* Preparing met a dead connection: once more on a new one, when nothing of a
         * transaction is on it (as run_named() retries). */
        if (attempt > 0 || !s->broken || (s->in_tx && s->tx_sent)) {
            hm_error_set(err, e.code, e.field, "%s", e.msg);
            goto out;
        }
        s->retry_at_ms = 0;
    }
    if (!(res = run_named(s, name, sql.data, &prepared, &p, err))) {
        rc = err ? err->code : HM_E_DB;
        goto out;
    }
    n = PQntuples(res);
    *rows = n;
    for (int i = 0; i < n; i++) {
        hm_request r;
        read_request(res, i, &r, NULL);
        *last = (list_key){true, r.id, r.created_at, r.priority};
        rc = cb(ctx, &r);
        hm_request_clear(&r);
        if (rc)
            goto out;
    }
out:
    PQclear(res);
    hm_buf_clear(&sql);
    return rc;
}

/* The `q` filter, applied to the rows as they come (PostgreSQL has no fold of its own). */
#define Q_ENOUGH (-0x7fff) /* q_visit: the list's limit is reached */

typedef struct q_filter {
    hm_request_cb cb;
    void *ctx;
    const char *q;
    size_t matched, limit;
} q_filter;

static int q_visit(void *ctx, const hm_request *r)
{
    q_filter *qf = ctx;
    hm_buf b;
    bool ok;
    int rc;
    hm_buf_init(&b);
    hm_buf_puts(&b, r->note ? r->note : "");
    hm_buf_putc(&b, ' ');
    hm_buf_puts(&b, r->address ? r->address : "");
    ok = hm_store__fold_match(b.data, b.len, qf->q);
    hm_buf_clear(&b);
    if (!ok)
        return 0;
    if ((rc = qf->cb(qf->ctx, r)))
        return rc;
    return qf->limit && ++qf->matched >= qf->limit ? Q_ENOUGH : 0;
}

static int pg_request_list(hm_store *st, const hm_request_filter *f, hm_request_cb cb, void *ctx,
                           hm_error *err)
{
    pg_store *s = PG(st);
    list_key key = {false, 0, 0, 0};
    size_t left = f->limit; /* 0: no limit */
    q_filter qf = {cb, ctx, f->q, 0, f->limit};

    if (f->order == HM_ORDER_URGENT && f->has_key)
        key = (list_key){true, f->after_key.id, f->after_key.created_at, f->after_key.priority};
    else if (f->order != HM_ORDER_URGENT && f->after_id > 0)
        key = (list_key){true, f->after_id, 0, 0};
    for (;;) {
        /* With q, pages are read whole and the limit counts the rows that match. */
        size_t want = !f->q && left > 0 && left < PAGE_ROWS ? left : PAGE_ROWS;
        int rows = 0, rc;
        rc = list_page(s, f, key, want, f->q ? q_visit : cb, f->q ? (void *)&qf : ctx, &rows, &key,
                       err);
        if (rc == Q_ENOUGH)
            return HM_OK;
        if (rc)
            return rc;
        if ((size_t)rows < want)
            return HM_OK;
        if (!f->q && left > 0 && (left -= want) == 0)
            return HM_OK;
    }
}

static int pg_request_set_status(hm_store *st, int64_t id, int from, int to, int64_t team_id,
                                 const char *duplicate_of, int64_t now, hm_error *err)
{
    params p = {0};
    int64_t n = 0;
    int rc;

    p_i64(&p, id);
    p_i64(&p, from);
    p_i64(&p, to);
    if (team_id > 0)
        p_i64(&p, team_id);
    else
        p_null(&p);
    p_text_or_null(&p, duplicate_of);
    p_i64(&p, now);
    rc = run_cmd(PG(st), Q_REQ_SET_STATUS, &p, &n, err);
    if (rc == HM_OK && n == 0)
        rc = hm_error_set(err, HM_E_ALREADY_CLAIMED, NULL,
                          "the request changed in the meantime; reload it");
    return rc;
}

static int pg_request_set_verified(hm_store *st, int64_t id, bool verified, int64_t now,
                                   hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    p_i64(&p, now);
    p_bool(&p, verified);
    return run_cmd(PG(st), Q_REQ_SET_VERIFIED, &p, NULL, err);
}

static int pg_request_update(hm_store *st, const hm_request *r, hm_error *err)
{
    params p = {0};
    int64_t n = 0;
    int rc;
    p_i64(&p, r->id);
    p_f64(&p, r->lon);
    p_f64(&p, r->lat);
    p_i64(&p, r->precision);
    p_i64(&p, r->category);
    p_i64(&p, r->people);
    p_i64(&p, (int64_t)r->vulnerable);
    p_i64(&p, r->priority);
    p_text_or_null(&p, r->note);
    p_text_or_null(&p, r->name);
    p_text_or_null(&p, r->address);
    p_text_or_null(&p, r->phone);
    p_text_or_null(&p, r->ward_code);
    p_text_or_null(&p, r->former_ward_code);
    p_text_or_null(&p, r->hamlet_code);
    p_i64(&p, r->updated_at);
    rc = run_cmd(PG(st), Q_REQ_UPDATE, &p, &n, err);
    if (rc == HM_OK && n == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code");
    return rc;
}

static int pg_request_set_areas(hm_store *st, int64_t id, const char *ward, const char *former,
                                const char *hamlet, hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    p_text_or_null(&p, ward);
    p_text_or_null(&p, former);
    p_text_or_null(&p, hamlet);
    return run_cmd(PG(st), Q_REQ_SET_AREAS, &p, NULL, err);
}

static int pg_request_set_safe(hm_store *st, int64_t id, int64_t at, hm_error *err)
{
    params p = {0};
    int64_t n = 0;
    int rc;
    p_i64(&p, id);
    p_i64(&p, at);
    rc = run_cmd(PG(st), Q_REQ_SET_SAFE, &p, &n, err);
    if (rc == HM_OK && n == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this code");
    return rc;
}

/* Run `sql` with the bigint parameter `a` (and `b` when b >= 0), unprepared. */
static int exec_ids(pg_store *s, const char *sql, int64_t a, int64_t b, hm_error *err)
{
    char va[32], vb[32];
    const char *v[2] = {va, vb};
    PGresult *res;
    int rc = HM_OK;
    snprintf(va, sizeof va, "%lld", (long long)a);
    snprintf(vb, sizeof vb, "%lld", (long long)b);
    res = PQexecParams(s->conn, sql, b >= 0 ? 2 : 1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_error(s, res, err);
    PQclear(res);
    return rc;
}

/* As SQLite's (store.h): the contact columns and the history notes of the purged requests go,
 * one "purge" entry each, in one transaction; then VACUUM reclaims the old row versions
 * PostgreSQL keeps. Its write-ahead log, archives and replicas are PostgreSQL's to expire
 * (SECURITY.md). */
static int pg_request_purge(hm_store *st, int64_t before_ms, int64_t *count, hm_error *err)
{
    pg_store *s = PG(st);
    params p = {0};
    PGresult *res = NULL;
    int64_t now = hm_now_ms();
    int rc, n;

    if ((rc = ensure_conn(s, err)) || (rc = run_sql(s, "BEGIN", err)))
        return rc;
    p_i64(&p, before_ms);
    if (!(res = run(s, Q_REQ_PURGEABLE, &p, err))) {
        rc = err ? err->code : HM_E_DB;
        goto fail;
    }
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        int64_t id = col_i64(res, i, 0);
        if ((rc = exec_ids(s,
                           "UPDATE request SET name = NULL, phone = NULL, note = NULL, "
                           "address = NULL, reporter_name = NULL, reporter_phone = NULL, "
                           "location_text = NULL WHERE id = $1",
                           id, -1, err)) ||
            (rc = exec_ids(s,
                           "UPDATE history SET note = NULL, old_value = CASE WHEN contact "
                           "THEN NULL ELSE old_value END, new_value = CASE WHEN contact THEN "
                           "NULL ELSE new_value END, salt = CASE WHEN contact THEN NULL ELSE "
                           "salt END WHERE request_id = $1 AND kind <> 'purge' "
                           "AND (note IS NOT NULL OR (contact AND (old_value IS NOT NULL OR "
                           "new_value IS NOT NULL)))",
                           id, -1, err)) ||
            /* Its own entry, chained like every other (store.c). */
            (rc = hm_store_history_append(st, id, now, "system", -1, -1, "contact data erased",
                                          "purge", err)))
            goto fail;
    }
    PQclear(res);
    res = NULL;
    if ((rc = run_sql(s, "COMMIT", err)))
        return rc;
    *count = n;
    if (n > 0 && (rc = run_sql(s, "VACUUM request, history", err)))
        return rc;
    return HM_OK;
fail:
    PQclear(res);
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

/* A transaction-level advisory lock: released by the commit or rollback. The key is folded to
 * 32 bits; two keys that fold alike only wait for each other. Inside a transaction it goes out
 * with the next statement (see "round trips"): that is the statement it guards. */
static int pg_lock(hm_store *st, int what, int64_t key, hm_error *err)
{
    pg_store *s = PG(st);
    params p = {0};
    PGresult *res;
    int32_t k = (int32_t)(key ^ (key >> 32));
    if (s->in_tx) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d, %d)", what, (int)k);
        return pending_push(s, PEND_LOCK, sql, err);
    }
    p_i64(&p, what);
    p_i64(&p, k);
    if (!(res = run(s, Q_LOCK, &p, err)))
        return err ? err->code : HM_E_DB;
    PQclear(res);
    return HM_OK;
}

static int pg_team_open_count(hm_store *st, int64_t team_id, int64_t *count, hm_error *err)
{
    params p = {0};
    PGresult *res;
    p_i64(&p, team_id);
    if (!(res = run(PG(st), Q_TEAM_OPEN_COUNT, &p, err)))
        return err ? err->code : HM_E_DB;
    *count = col_i64(res, 0, 0);
    PQclear(res);
    return HM_OK;
}

/* ---- history ----------------------------------------------------------------------------- */

static int pg_history_add(hm_store *st, int64_t request_id, const hm_history *h, hm_error *err)
{
    params p = {0};
    p_i64(&p, request_id);
    history_params(&p, h);
    return run_cmd(PG(st), Q_HIST_ADD, &p, NULL, err);
}

/* An entry from the columns HIST_COLS of row `i` starting at `col`. */
static void read_history(const PGresult *res, int i, int col, hm_history *h)
{
    memset(h, 0, sizeof *h);
    h->at = col_i64(res, i, col);
    col_copy(res, i, col + 1, h->actor, sizeof h->actor);
    h->from = PQgetisnull(res, i, col + 2) ? -1 : col_int(res, i, col + 2);
    h->to = PQgetisnull(res, i, col + 3) ? -1 : col_int(res, i, col + 3);
    h->note = col_dup(res, i, col + 4);
    col_copy(res, i, col + 5, h->kind, sizeof h->kind);
    col_copy(res, i, col + 6, h->field, sizeof h->field);
    h->old_value = col_dup(res, i, col + 7);
    h->new_value = col_dup(res, i, col + 8);
    h->contact = col_bool(res, i, col + 9);
    h->id = col_i64(res, i, col + 10);
    col_copy(res, i, col + 11, h->note_sha256, sizeof h->note_sha256);
    col_copy(res, i, col + 12, h->old_sha256, sizeof h->old_sha256);
    col_copy(res, i, col + 13, h->new_sha256, sizeof h->new_sha256);
    h->detail = col_dup(res, i, col + 14);
    col_copy(res, i, col + 15, h->hash, sizeof h->hash);
    col_copy(res, i, col + 16, h->salt, sizeof h->salt);
}

static int pg_history_list(hm_store *st, int64_t request_id, hm_history_cb cb, void *ctx,
                           hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK, n;

    p_i64(&p, request_id);
    if (!(res = run(PG(st), Q_HIST_LIST, &p, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++) {
        hm_history h;
        read_history(res, i, 0, &h);
        rc = cb(ctx, &h);
        hm_history_clear(&h);
    }
    PQclear(res);
    return rc;
}

static int pg_history_head(hm_store *st, int64_t request_id, char code[16], int64_t *last_id,
                           char hash[65], hm_error *err)
{
    params p = {0};
    PGresult *res;

    p_i64(&p, request_id);
    if (!(res = run(PG(st), Q_HIST_CODE, &p, err)))
        return err ? err->code : HM_E_DB;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return hm_error_set(err, HM_E_NOT_FOUND, NULL, "no request has this id");
    }
    col_copy(res, 0, 0, code, 16);
    PQclear(res);
    if (!(res = run(PG(st), Q_HIST_HEAD, &p, err)))
        return err ? err->code : HM_E_DB;
    *last_id = PQntuples(res) == 1 ? col_i64(res, 0, 0) : 0;
    if (PQntuples(res) == 1)
        col_copy(res, 0, 1, hash, 65);
    else
        hash[0] = '\0';
    PQclear(res);
    return HM_OK;
}

/* Results come back whole: the walk reads ranges of WALK_REQUESTS request ids at a time. */
#define WALK_REQUESTS 2000

static int pg_history_walk(hm_store *st, int64_t after_id, int64_t upto_id, hm_history_walk_cb cb,
                           void *ctx, hm_error *err)
{
    PGresult *res = run(PG(st), Q_HIST_MAX_REQUEST, NULL, err);
    int64_t last;
    int rc = HM_OK;

    if (!res)
        return err ? err->code : HM_E_DB;
    last = col_i64(res, 0, 0);
    PQclear(res);
    if (upto_id > last)
        upto_id = last;
    for (int64_t from = after_id; from < upto_id && rc == HM_OK; from += WALK_REQUESTS) {
        params p = {0};
        int n;
        p_i64(&p, from);
        p_i64(&p, from + WALK_REQUESTS < upto_id ? from + WALK_REQUESTS : upto_id);
        if (!(res = run(PG(st), Q_HIST_WALK, &p, err)))
            return err ? err->code : HM_E_DB;
        n = PQntuples(res);
        for (int i = 0; i < n && rc == HM_OK; i++) {
            hm_history h;
            char code[16];
            col_copy(res, i, 1, code, sizeof code);
            read_history(res, i, 2, &h);
            rc = cb(ctx, col_i64(res, i, 0), code, &h);
            hm_history_clear(&h);
        }
        PQclear(res);
    }
    return rc;
}

static int pg_history_set_hash(hm_store *st, const hm_history *h, hm_error *err)
{
    params p = {0};
    p_i64(&p, h->id);
    p_text_or_null(&p, h->note_sha256);
    p_text_or_null(&p, h->old_sha256);
    p_text_or_null(&p, h->new_sha256);
    p_text(&p, h->hash);
    p_text_or_null(&p, h->salt);
    return run_cmd(PG(st), Q_HIST_SET_HASH, &p, NULL, err);
}

static int pg_history_unchained(hm_store *st, int64_t *upto, int64_t *last_request, hm_error *err)
{
    PGresult *res = run(PG(st), Q_CHAIN_UNCHAINED, NULL, err);
    if (!res)
        return err ? err->code : HM_E_DB;
    *upto = PQntuples(res) == 1 ? col_i64(res, 0, 0) : 0;
    *last_request = PQntuples(res) == 1 ? col_i64(res, 0, 1) : 0;
    PQclear(res);
    return HM_OK;
}

static int pg_history_chained(hm_store *st, hm_error *err)
{
    return run_cmd(PG(st), Q_CHAIN_DONE, NULL, NULL, err);
}

static int pg_history_count(hm_store *st, int64_t request_id, const char *kind, int64_t *n,
                            hm_error *err)
{
    params p = {0};
    PGresult *res;
    p_i64(&p, request_id);
    p_text(&p, kind);
    if (!(res = run(PG(st), Q_HIST_COUNT, &p, err)))
        return err ? err->code : HM_E_DB;
    *n = col_i64(res, 0, 0);
    PQclear(res);
    return HM_OK;
}

static int pg_request_set_delivery(hm_store *st, int64_t id, bool delivered, int64_t amount_vnd,
                                   hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    p_bool(&p, delivered);
    if (delivered && amount_vnd >= 0)
        p_i64(&p, amount_vnd);
    else
        p_null(&p);
    return run_cmd(PG(st), Q_REQ_SET_DELIVERY, &p, NULL, err);
}

static int pg_request_set_receipt(hm_store *st, int64_t id, int receipt, int64_t amount_vnd,
                                  int64_t at, hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    p_i64(&p, receipt);
    if (receipt != HM_RCPT_NONE && amount_vnd >= 0)
        p_i64(&p, amount_vnd);
    else
        p_null(&p);
    p_i64(&p, at);
    return run_cmd(PG(st), Q_REQ_SET_RECEIPT, &p, NULL, err);
}

static int pg_idem_get(hm_store *st, const uint8_t key_id[32], int64_t since_ms,
                       hm_idem_record *out, bool *found, hm_error *err)
{
    params p = {0};
    PGresult *res;
    *found = false;
    p_bytes(&p, key_id, 32);
    p_i64(&p, since_ms);
    if (!(res = run(PG(st), Q_IDEM_GET, &p, err)))
        return err ? err->code : HM_E_DB;
    if (PQntuples(res) == 1) {
        size_t hexlen = (size_t)PQgetlength(res, 0, 2);
        long n;
        memset(out, 0, sizeof *out);
        memcpy(out->key_id, key_id, 32);
        if (col_bytes(res, 0, 0, out->body_sha256, 32) != 32)
            memset(out->body_sha256, 0, 32);
        out->status = col_int(res, 0, 1);
        out->answer = hm_xmalloc(hexlen / 2 + 1);
        n = col_bytes(res, 0, 2, out->answer, hexlen / 2 + 1);
        out->answer_len = n > 0 ? (size_t)n : 0;
        out->created_at = col_i64(res, 0, 3);
        *found = true;
    }
    PQclear(res);
    return HM_OK;
}

static int pg_idem_put(hm_store *st, const hm_idem_record *rec, int64_t replace_before_ms,
                       hm_error *err)
{
    params p = {0};
    int64_t n = 0;
    int rc;
    p_bytes(&p, rec->key_id, 32);
    p_bytes(&p, rec->body_sha256, 32);
    p_i64(&p, rec->status);
    p_bytes(&p, rec->answer, rec->answer_len);
    p_i64(&p, rec->created_at);
    p_i64(&p, replace_before_ms);
    if ((rc = run_cmd(PG(st), Q_IDEM_PUT, &p, &n, err)) == HM_OK && n == 0)
        rc = hm_error_set(err, HM_E_UNAVAILABLE, "Idempotency-Key",
                          "a request with this Idempotency-Key is being stored; send it again");
    return rc;
}

static int pg_idem_purge(hm_store *st, int64_t before_ms, int64_t *n, hm_error *err)
{
    params p = {0};
    p_i64(&p, before_ms);
    return run_cmd(PG(st), Q_IDEM_PURGE, &p, n, err);
}

static int pg_reveal_seen(hm_store *st, int64_t request_id, const char *actor, int64_t since_ms,
                          bool *seen, hm_error *err)
{
    params p = {0};
    PGresult *res;
    p_i64(&p, request_id);
    p_text(&p, actor);
    p_i64(&p, since_ms);
    if (!(res = run(PG(st), Q_REVEAL_SEEN, &p, err)))
        return err ? err->code : HM_E_DB;
    *seen = PQntuples(res) > 0;
    PQclear(res);
    return HM_OK;
}

/* ---- teams ------------------------------------------------------------------------------- */

static void read_team(const PGresult *res, int i, hm_team *t)
{
    memset(t, 0, sizeof *t);
    t->id = col_i64(res, i, 0);
    col_copy(res, i, 1, t->name, sizeof t->name);
    t->role = col_int(res, i, 2);
    t->status = col_int(res, i, 3);
    col_copy(res, i, 4, t->capabilities, sizeof t->capabilities);
    t->has_pos = !PQgetisnull(res, i, 5);
    t->lon = col_f64(res, i, 5);
    t->lat = col_f64(res, i, 6);
    t->pos_at = col_i64(res, i, 7);
    t->disabled = col_bool(res, i, 8);
    t->created_at = col_i64(res, i, 9);
}

static int pg_team_insert(hm_store *st, hm_team *t, const uint8_t token_hash[32], hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK;

    p_text(&p, t->name);
    p_i64(&p, t->role);
    p_bytes(&p, token_hash, 32);
    p_i64(&p, t->status);
    p_text(&p, t->capabilities[0] ? t->capabilities : "[]");
    p_i64(&p, t->created_at);
    if (!(res = run(PG(st), Q_TEAM_INSERT, &p, err)))
        return err ? err->code : HM_E_DB;
    if (PQntuples(res) == 0)
        rc = hm_error_set(err, HM_E_IN_USE, NULL, "this token belongs to another team");
    else
        t->id = col_i64(res, 0, 0);
    PQclear(res);
    return rc;
}

static int team_one(pg_store *s, int q, const params *p, hm_team *out, int missing, hm_error *err)
{
    PGresult *res = run(s, q, p, err);
    int rc = HM_OK;
    if (!res)
        return err ? err->code : HM_E_DB;
    if (PQntuples(res) == 1)
        read_team(res, 0, out);
    else
        rc = missing == HM_E_UNAUTHORIZED
                 ? hm_error_set(err, HM_E_UNAUTHORIZED, NULL, "unknown or disabled token")
                 : hm_error_set(err, HM_E_NOT_FOUND, "team_id", "no such team");
    PQclear(res);
    return rc;
}

static int pg_team_by_token(hm_store *st, const uint8_t token_hash[32], hm_team *out, hm_error *err)
{
    params p = {0};
    p_bytes(&p, token_hash, 32);
    return team_one(PG(st), Q_TEAM_BY_TOKEN, &p, out, HM_E_UNAUTHORIZED, err);
}

static int pg_team_get(hm_store *st, int64_t id, hm_team *out, hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    return team_one(PG(st), Q_TEAM_GET, &p, out, HM_E_NOT_FOUND, err);
}

static int pg_team_list(hm_store *st, bool include_disabled, hm_team_cb cb, void *ctx,
                        hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK, n;

    p_bool(&p, include_disabled);
    if (!(res = run(PG(st), Q_TEAM_LIST, &p, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++) {
        hm_team t;
        read_team(res, i, &t);
        rc = cb(ctx, &t);
    }
    PQclear(res);
    return rc;
}

static int team_update(pg_store *s, int q, const params *p, hm_error *err)
{
    int64_t n = 0;
    int rc = run_cmd(s, q, p, &n, err);
    if (rc == HM_OK && n == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, "team_id", "no such team");
    return rc;
}

static int pg_team_set_disabled(hm_store *st, int64_t id, bool disabled, hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    p_bool(&p, disabled);
    return team_update(PG(st), Q_TEAM_SET_DISABLED, &p, err);
}

static int pg_team_set_token(hm_store *st, int64_t id, const uint8_t token_hash[32], hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    p_bytes(&p, token_hash, 32);
    return team_update(PG(st), Q_TEAM_SET_TOKEN, &p, err);
}

static int pg_team_set_position(hm_store *st, int64_t id, double lon, double lat, int64_t at,
                                hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    p_f64(&p, lon);
    p_f64(&p, lat);
    p_i64(&p, at);
    return team_update(PG(st), Q_TEAM_SET_POS, &p, err);
}

static int pg_team_set_status(hm_store *st, int64_t id, int status, hm_error *err)
{
    params p = {0};
    p_i64(&p, id);
    p_i64(&p, status);
    return team_update(PG(st), Q_TEAM_SET_STATUS, &p, err);
}

/* ---- statistics, backup, checks ------------------------------------------------------------ */

static int pg_stats(hm_store *st, int64_t now, int64_t counts[6][7], int64_t hourly[24],
                    double *median_min, hm_error *err)
{
    pg_store *s = PG(st);
    params p = {0};
    PGresult *res;
    int64_t nres = 0;
    int n;

    memset(counts, 0, sizeof(int64_t) * 6 * 7);
    memset(hourly, 0, sizeof(int64_t) * 24);
    *median_min = -1;
    if (!(res = run(s, Q_STATS_COUNTS, NULL, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        int a = col_int(res, i, 0), b = col_int(res, i, 1);
        if (a >= 0 && a < 6 && b >= 0 && b < 7)
            counts[a][b] = col_i64(res, i, 2);
    }
    PQclear(res);
    p_i64(&p, now - 24 * 3600000LL);
    p_i64(&p, now);
    if (!(res = run(s, Q_STATS_HOURLY, &p, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        int h = col_int(res, i, 0);
        if (h >= 0 && h < 24)
            hourly[h] = col_i64(res, i, 1);
    }
    PQclear(res);
    for (int i = 0; i < 7; i++)
        nres += counts[HM_ST_RESOLVED][i];
    if (nres > 0) {
        memset(&p, 0, sizeof p);
        p_i64(&p, (nres - 1) / 2);
        if (!(res = run(s, Q_STATS_MEDIAN, &p, err)))
            return err ? err->code : HM_E_DB;
        if (PQntuples(res) == 1)
            *median_min = col_f64(res, 0, 0);
        PQclear(res);
    }
    return HM_OK;
}

/* A PostgreSQL database is backed up by PostgreSQL's tools, which copy it consistently
 * while servers keep writing and restore it into any server: refused, naming them. */
static int pg_backup(hm_store *st, const char *out_path, bool overwrite, hm_error *err)
{
    (void)st, (void)out_path, (void)overwrite;
    return hm_error_set(err, HM_E_INVALID_FIELD, "db",
                        "backup copies SpatiaLite files; back up a PostgreSQL database with "
                        "pg_dump --format=custom --file=FILE URI (restore with pg_restore)");
}

/* Sanity of the database: reachable, helpmap's schema version, PostGIS answering, the
 * append-only guard of history in place. "ok" or the first problem into `msg`. */
static int pg_check(hm_store *st, char *msg, size_t msg_size, hm_error *err)
{
    pg_store *s = PG(st);
    PGresult *res;
    int rc;

    if ((rc = ensure_conn(s, err)) != HM_OK)
        return rc;
    res = PQexec(s->conn,
                 "SELECT (SELECT value FROM helpmap_meta WHERE key = 'schema_version'), "
                 "postgis_lib_version(), (SELECT count(*) FROM pg_trigger WHERE tgrelid = "
                 "'history'::regclass AND tgname LIKE 'history_append_only%' AND tgenabled <> "
                 "'D'), (SELECT count(*) FROM request WHERE geom IS NULL OR ST_SRID(geom) <> "
                 "4326)");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = pg_error(s, res, err);
        PQclear(res);
        return rc;
    }
    if (PQgetisnull(res, 0, 0) || atoi(PQgetvalue(res, 0, 0)) != SCHEMA_VERSION)
        snprintf(msg, msg_size, "schema version %s, expected %d",
                 PQgetisnull(res, 0, 0) ? "missing" : PQgetvalue(res, 0, 0), SCHEMA_VERSION);
    else if (atoi(PQgetvalue(res, 0, 2)) != 2)
        snprintf(msg, msg_size, "the append-only triggers of history are missing or disabled");
    else if (atoi(PQgetvalue(res, 0, 3)) != 0)
        snprintf(msg, msg_size, "%s requests without a point in SRID 4326", PQgetvalue(res, 0, 3));
    else
        snprintf(msg, msg_size, "ok");
    PQclear(res);
    return HM_OK;
}

/* Statements never stay half-run here (results come back whole); what would hold a snapshot
 * or locks between requests is a transaction left open: rolled back and reported. */
static bool pg_quiesce(hm_store *st, char *sql, size_t sql_size)
{
    pg_store *s = PG(st);
    PGTransactionStatusType t;
    if (s->broken || PQstatus(s->conn) != CONNECTION_OK)
        return true;
    t = PQtransactionStatus(s->conn);
    if (t == PQTRANS_IDLE && !s->in_tx)
        return true;
    snprintf(sql, sql_size, "an open transaction");
    pg_rollback(st);
    return false;
}

/* ---- the change log ------------------------------------------------------------------------ */

/* Nothing to do before the commit: pg_commit() numbers and writes the transaction's changes
 * (store.c keeps them meanwhile, with savepoints and rollbacks). */
static int pg_change_add(hm_store *st, hm_change *c, hm_error *err)
{
    (void)st, (void)c, (void)err;
    return HM_OK;
}

/* `text` ("status|category|status_at|lon|lat|ward|former|hamlet|safe|receipt", empty codes
 * allowed) into c->prev, as store_sqlite.c reads it. */
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
            c->prev.safe = atoi(f) != 0; /* since schema 3 */
        else if (i == 9)
            c->prev.receipt = atoi(f); /* since schema 6 */
        else
            snprintf(codes[i - 5], 40, "%.39s", f);
        p = e ? e + 1 : NULL;
    }
}

static int pg_changes_since(hm_store *st, int64_t after_id, size_t limit, hm_change_cb cb,
                            void *ctx, hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK, n;

    p_i64(&p, after_id);
    if (limit > 0)
        p_i64(&p, (int64_t)limit);
    else
        p_null(&p); /* LIMIT NULL: all */
    if (!(res = run(PG(st), Q_CHANGES_SINCE, &p, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++) {
        hm_change c;
        memset(&c, 0, sizeof c);
        c.prev.status = -1;
        c.id = col_i64(res, i, 0);
        c.at = col_i64(res, i, 1);
        c.kind = col_int(res, i, 2);
        c.ref = col_i64(res, i, 3);
        if (!PQgetisnull(res, i, 4))
            unpack_prev(PQgetvalue(res, i, 4), &c);
        c.level = col_int(res, i, 5);
        col_copy(res, i, 6, c.code, sizeof c.code);
        c.flags = (unsigned)col_int(res, i, 7);
        rc = cb(ctx, &c);
    }
    PQclear(res);
    return rc;
}

static int pg_change_last(hm_store *st, int64_t *id, hm_error *err)
{
    PGresult *res = run(PG(st), Q_CHANGE_LAST, NULL, err);
    if (!res)
        return err ? err->code : HM_E_DB;
    *id = col_i64(res, 0, 0);
    PQclear(res);
    return HM_OK;
}

/* Wait up to `timeout_ms` for a notification of CHANGE_CHANNEL on the store's listening
 * connection (opened, and LISTENing, on first use; opened again after it was lost). HM_OK on a
 * notification or the time-out; HM_E_UNAVAILABLE when the server is gone (the next call tries
 * again). Uses nothing of the store but that connection. */
static int pg_wait_changes(hm_store *st, int timeout_ms, hm_error *err)
{
    pg_store *s = PG(st);
    PGnotify *note;
    char msg[160];

    if (s->listen && PQstatus(s->listen) != CONNECTION_OK) {
        PQfinish(s->listen);
        s->listen = NULL;
    }
    if (!s->listen) {
        PGresult *res;
        s->listen = connect_uri(s->uri);
        if (!s->listen || PQstatus(s->listen) != CONNECTION_OK)
            goto lost;
        PQsetNoticeReceiver(s->listen, on_notice, NULL);
        res = PQexec(s->listen, "LISTEN " CHANGE_CHANNEL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            PQclear(res);
            goto lost;
        }
        PQclear(res);
        /* Listening from now on: what was committed before is for the caller to read. */
        return HM_OK;
    }
    for (;;) {
        struct pollfd pfd = {PQsocket(s->listen), POLLIN, 0};
        bool seen = false;
        if (pfd.fd < 0 || !PQconsumeInput(s->listen))
            goto lost;
        while ((note = PQnotifies(s->listen)) != NULL) {
            seen = true;
            PQfreemem(note);
        }
        if (seen || timeout_ms <= 0)
            return HM_OK;
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return HM_OK; /* time-out (or a signal): the caller looks anyway */
        timeout_ms = 0;   /* read what came, then return */
    }
lost:
    conn_message(s->listen, msg, sizeof msg);
    if (s->listen) {
        PQfinish(s->listen);
        s->listen = NULL;
    }
    return hm_error_set(err, HM_E_UNAVAILABLE, NULL, "database unavailable: %s", msg);
}

/* ---- place names ---- */

static int pg_place_put(hm_store *st, const hm_place_row *pl, hm_error *err)
{
    params p = {0};
    hm_buf alt;
    int rc;

    /* Checked here: a CHECK violation would abort the caller's whole transaction. */
    if (!pl->source || (strcmp(pl->source, "geonames") != 0 && strcmp(pl->source, "import") != 0 &&
                        strcmp(pl->source, "basemap") != 0))
        return hm_error_set(err, HM_E_INVALID_FIELD, "source",
                            "a place's source is geonames, import or basemap");
    hm_buf_init(&alt);
    for (size_t i = 0; i < pl->n_alt; i++) {
        if (i)
            hm_buf_puts(&alt, "\n");
        hm_buf_puts(&alt, pl->alt_names[i]);
    }
    p_text(&p, pl->source);
    p_text(&p, pl->name);
    p_text(&p, alt.len ? alt.data : NULL);
    p_text(&p, pl->kind);
    p_text_or_null(&p, pl->code);
    p_f64(&p, pl->lon);
    p_f64(&p, pl->lat);
    for (int i = 0; i < 4; i++) {
        if (pl->has_bbox)
            p_f64(&p, pl->bbox[i]);
        else
            p_null(&p);
    }
    p_text_or_null(&p, pl->ward_code);
    rc = run_cmd(PG(st), Q_PLACE_PUT, &p, NULL, err);
    hm_buf_clear(&alt);
    return rc;
}

static int pg_place_delete_source(hm_store *st, const char *source, hm_error *err)
{
    params p = {0};
    p_text(&p, source);
    return run_cmd(PG(st), Q_PLACE_DELETE_SOURCE, &p, NULL, err);
}

static int pg_place_list(hm_store *st, const char *source, hm_place_cb cb, void *ctx, hm_error *err)
{
    params p = {0};
    PGresult *res;
    const char **alt = NULL;
    size_t cap = 0;
    int rc = HM_OK, n;

    p_text(&p, source);
    if (!(res = run(PG(st), Q_PLACE_LIST, &p, err)))
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++) {
        hm_place_row pl;
        char *alt_text = NULL;
        memset(&pl, 0, sizeof pl);
        pl.id = col_i64(res, i, 0);
        pl.source = PQgetvalue(res, i, 1);
        pl.name = PQgetvalue(res, i, 2);
        if (!PQgetisnull(res, i, 3)) {
            alt_text = hm_xstrdup(PQgetvalue(res, i, 3));
            for (char *a = alt_text; a;) {
                char *nl = strchr(a, '\n');
                if (nl)
                    *nl = '\0';
                if (pl.n_alt == cap) {
                    cap = cap ? cap * 2 : 8;
                    alt = hm_xrealloc(alt, cap * sizeof *alt);
                }
                alt[pl.n_alt++] = a;
                a = nl ? nl + 1 : NULL;
            }
            pl.alt_names = alt;
        }
        pl.kind = PQgetvalue(res, i, 4);
        pl.code = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
        pl.lon = col_f64(res, i, 6);
        pl.lat = col_f64(res, i, 7);
        pl.has_bbox = !PQgetisnull(res, i, 8);
        for (int k = 0; k < 4; k++)
            pl.bbox[k] = col_f64(res, i, 8 + k);
        pl.ward_code = PQgetisnull(res, i, 12) ? NULL : PQgetvalue(res, i, 12);
        rc = cb(ctx, &pl);
        free(alt_text);
    }
    free(alt);
    PQclear(res);
    return rc;
}

/* ---- relief points ---- */

/* The columns of `r` from kind to updated_at; created_at only for an insert. */
static void relief_params(params *p, const hm_relief *r, bool insert)
{
    p_i64(p, r->kind);
    p_i64(p, r->status);
    p_text(p, r->name);
    p_text_or_null(p, r->address);
    p_text_or_null(p, r->hours);
    if (r->capacity >= 0)
        p_i64(p, r->capacity);
    else
        p_null(p);
    p_f64(p, r->lon);
    p_f64(p, r->lat);
    if (insert)
        p_i64(p, r->created_at);
    p_i64(p, r->updated_at);
}

static void read_relief(const PGresult *res, int i, hm_relief *r)
{
    memset(r, 0, sizeof *r);
    r->id = col_i64(res, i, 0);
    r->kind = col_int(res, i, 1);
    r->status = col_int(res, i, 2);
    col_copy(res, i, 3, r->name, sizeof r->name);
    col_copy(res, i, 4, r->address, sizeof r->address);
    col_copy(res, i, 5, r->hours, sizeof r->hours);
    r->capacity = PQgetisnull(res, i, 6) ? -1 : col_int(res, i, 6);
    r->lon = col_f64(res, i, 7);
    r->lat = col_f64(res, i, 8);
    r->created_at = col_i64(res, i, 9);
    r->updated_at = col_i64(res, i, 10);
}

static int pg_relief_insert(hm_store *st, hm_relief *r, hm_error *err)
{
    params p = {0};
    PGresult *res;
    relief_params(&p, r, true);
    if (!(res = run(PG(st), Q_RELIEF_INSERT, &p, err)))
        return err ? err->code : HM_E_DB;
    r->id = col_i64(res, 0, 0);
    PQclear(res);
    return HM_OK;
}

static int pg_relief_update(hm_store *st, const hm_relief *r, hm_error *err)
{
    params p = {0};
    int64_t n = 0;
    int rc;
    relief_params(&p, r, false);
    p_i64(&p, r->id);
    rc = run_cmd(PG(st), Q_RELIEF_UPDATE, &p, &n, err);
    if (rc == HM_OK && n == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no relief point has this id");
    return rc;
}

static int pg_relief_delete(hm_store *st, int64_t id, hm_error *err)
{
    params p = {0};
    int64_t n = 0;
    int rc;
    p_i64(&p, id);
    rc = run_cmd(PG(st), Q_RELIEF_DELETE, &p, &n, err);
    if (rc == HM_OK && n == 0)
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no relief point has this id");
    return rc;
}

static int pg_relief_get(hm_store *st, int64_t id, hm_relief *out, hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK;
    p_i64(&p, id);
    if (!(res = run(PG(st), Q_RELIEF_GET, &p, err)))
        return err ? err->code : HM_E_DB;
    if (PQntuples(res) == 1)
        read_relief(res, 0, out);
    else
        rc = hm_error_set(err, HM_E_NOT_FOUND, NULL, "no relief point has this id");
    PQclear(res);
    return rc;
}

static int pg_relief_list(hm_store *st, hm_relief_cb cb, void *ctx, hm_error *err)
{
    params p = {0};
    PGresult *res;
    int rc = HM_OK;
    if (!(res = run(PG(st), Q_RELIEF_LIST, &p, err)))
        return err ? err->code : HM_E_DB;
    for (int i = 0; i < PQntuples(res) && rc == HM_OK; i++) {
        hm_relief r;
        read_relief(res, i, &r);
        rc = cb(ctx, &r);
    }
    PQclear(res);
    return rc;
}

/* ---- audit --------------------------------------------------------------------------------- */

static int pg_audit_add(hm_store *st, hm_audit *a, hm_error *err)
{
    pg_store *s = PG(st);
    params p = {0};
    PGresult *res;
    p_i64(&p, a->at);
    p_text(&p, a->kind);
    p_text(&p, a->actor);
    if (a->actor_team_id > 0)
        p_i64(&p, a->actor_team_id);
    else
        p_null(&p);
    if (a->team_id > 0)
        p_i64(&p, a->team_id);
    else
        p_null(&p);
    p_i64(&p, a->rows);
    p_text_or_null(&p, a->detail);
    res = run_named(s, "audit_add",
                    "INSERT INTO audit(at, kind, actor, actor_team_id, team_id, row_count, detail) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &s->audit_prepared[0], &p, err);
    if (!res)
        return err ? err->code : HM_E_DB;
    a->id = col_i64(res, 0, 0);
    PQclear(res);
    return HM_OK;
}

static int pg_audit_list(hm_store *st, const hm_audit_filter *f, hm_audit_cb cb, void *ctx,
                         hm_error *err)
{
    pg_store *s = PG(st);
    params p = {0};
    PGresult *res;
    int rc = HM_OK, n;

    p_i64(&p, f->since_ms);
    p_i64(&p, f->after_id);
    p_i64(&p, f->team_id);
    p_text(&p, f->kind);
    if (f->limit)
        p_i64(&p, (int64_t)f->limit);
    else
        p_null(&p);
    res = run_named(s, "audit_list",
                    "SELECT id, at, kind, actor, actor_team_id, team_id, row_count, detail FROM "
                    "audit WHERE at >= $1 AND id > $2 AND ($3::bigint <= 0 OR team_id = $3) AND "
                    "($4::text IS NULL OR kind = $4) ORDER BY id LIMIT $5",
                    &s->audit_prepared[1], &p, err);
    if (!res)
        return err ? err->code : HM_E_DB;
    n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++) {
        hm_audit a;
        memset(&a, 0, sizeof a);
        a.id = col_i64(res, i, 0);
        a.at = col_i64(res, i, 1);
        col_copy(res, i, 2, a.kind, sizeof a.kind);
        col_copy(res, i, 3, a.actor, sizeof a.actor);
        a.actor_team_id = col_i64(res, i, 4);
        a.team_id = col_i64(res, i, 5);
        a.rows = col_i64(res, i, 6);
        col_copy(res, i, 7, a.detail, sizeof a.detail);
        rc = cb(ctx, &a);
    }
    PQclear(res);
    return rc;
}

PGconn *hm_store__pg_conn(hm_store *st)
{
    pg_store *s = st && st->ops == &pg_ops ? PG(st) : NULL;
    if (!s || ensure_conn(s, NULL) != HM_OK)
        return NULL;
    return s->conn;
}

static const hm_store_ops pg_ops = {
    .iVersion = 8,
    .name = "postgis",
    .xClose = pg_close,
    .xSchemaVersion = pg_schema_version,
    .xBegin = pg_begin,
    .xCommit = pg_commit,
    .xRollback = pg_rollback,
    .xSavepoint = pg_savepoint,
    .xRelease = pg_release,
    .xRollbackTo = pg_rollback_to,
    .xAreaUpsert = pg_area_upsert,
    .xAreaDelete = pg_area_delete,
    .xAreaDeleteLevel = pg_area_delete_level,
    .xAreaList = pg_area_list,
    .xAreaRequestCount = pg_area_request_count,
    .xAreaCounts = pg_area_counts,
    .xRequestInsert = pg_request_insert,
    .xRequestGet = pg_request_get,
    .xRequestList = pg_request_list,
    .xRequestSetStatus = pg_request_set_status,
    .xRequestSetVerified = pg_request_set_verified,
    .xRequestSetAreas = pg_request_set_areas,
    .xRequestPurge = pg_request_purge,
    .xRequestSetSafe = pg_request_set_safe,
    .xTeamOpenCount = pg_team_open_count,
    .xHistoryList = pg_history_list,
    .xHistoryHead = pg_history_head,
    .xHistoryWalk = pg_history_walk,
    .xHistorySetHash = pg_history_set_hash,
    .xHistoryUnchained = pg_history_unchained,
    .xHistoryChained = pg_history_chained,
    .xHistoryCount = pg_history_count,
    .xRequestSetDelivery = pg_request_set_delivery,
    .xRequestSetReceipt = pg_request_set_receipt,
    .xIdemGet = pg_idem_get,
    .xIdemPut = pg_idem_put,
    .xIdemPurge = pg_idem_purge,
    .xRevealSeen = pg_reveal_seen,
    .xTeamInsert = pg_team_insert,
    .xTeamByToken = pg_team_by_token,
    .xTeamGet = pg_team_get,
    .xTeamList = pg_team_list,
    .xTeamSetDisabled = pg_team_set_disabled,
    .xTeamSetToken = pg_team_set_token,
    .xTeamSetPosition = pg_team_set_position,
    .xTeamSetStatus = pg_team_set_status,
    .xStats = pg_stats,
    .xBackup = pg_backup,
    .xCheck = pg_check,
    .xQuiesce = pg_quiesce,
    .xChangeAdd = pg_change_add,
    .xLock = pg_lock,
    .xChangesSince = pg_changes_since,
    .xChangeLast = pg_change_last,
    .xWaitChanges = pg_wait_changes,
    .xPlacePut = pg_place_put,
    .xPlaceDeleteSource = pg_place_delete_source,
    .xPlaceList = pg_place_list,
    .xReliefInsert = pg_relief_insert,
    .xReliefUpdate = pg_relief_update,
    .xReliefDelete = pg_relief_delete,
    .xReliefGet = pg_relief_get,
    .xReliefList = pg_relief_list,
    .xRequestUpdate = pg_request_update,
    .xHistoryAdd = pg_history_add,
    .xAuditAdd = pg_audit_add,
    .xAuditList = pg_audit_list,
    .xRequestCreate = pg_request_create,
};
