/* store.h: durable storage of areas, requests, teams and their history.
 * Owns the schema and its migrations, every SQL statement and transactions;
 * not HTTP, JSON or authorization (callers pass verified identities).
 * Backends: SpatiaLite (sqlite/store_sqlite.c) and PostGIS (pg/store_pg.c); callers use the
 * hm_store_* functions and only store.c dispatches through hm_store_ops.
 * One hm_store per thread, never shared. Every function returns HM_OK or an
 * hm_err with `err` filled; nothing changes on error unless the caller's
 * own transaction says otherwise. */
#ifndef HM_STORE_H
#define HM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "area.h"
#include "entity.h"
#include "hm_error.h"

typedef struct hm_store hm_store;

/* How a connection is opened.
 * HM_STORE_CREATE: create the database and its schema when missing (a file store also creates
 *   its folder, one level).
 * HM_STORE_READONLY: never write.
 * HM_STORE_WRITER: the connection of the server's one writer (writer.h). The backend tunes it
 *   for many small durable transactions and may run its own housekeeping beside it: SQLite
 *   copies the write-ahead log into the database file on a thread of its own, so that commits
 *   never do it while writes wait (issue 7).
 * Without WRITER a connection is a reader's: it may write, but the backend keeps it light. */
enum { HM_STORE_CREATE = 1, HM_STORE_READONLY = 2, HM_STORE_WRITER = 4 };

/* Open the database `uri`: a file path selects SpatiaLite, a libpq URI starting with
 * "postgresql://" or "postgres://" PostGIS (pg/store_pg.c: its tables are created in an empty
 * database; HM_E_UNAVAILABLE when the server cannot be reached). Creates the database and
 * schema with HM_STORE_CREATE and migrates an older schema. Every commit is durable when it
 * returns. Returns NULL with `err` filled: HM_E_NOT_FOUND (field "db") when the database does not
 * exist and HM_STORE_CREATE is not given. Caller closes with hm_store_close(). */
hm_store *hm_store_open(const char *uri, int flags, hm_error *err);
void hm_store_close(hm_store *st);

/* True when this open created the database (so that the caller loads its first data). */
bool hm_store_created(hm_store *st);

/* Schema version of the open database. */
int hm_store_schema_version(hm_store *st);

/* Transactions. begin(immediate=true) takes the write lock at once. */
int hm_store_begin(hm_store *st, bool immediate, hm_error *err);
int hm_store_commit(hm_store *st, hm_error *err);
/* Group commit with the wait for durability off the committing thread (the writer's pipeline,
 * writer.h). hm_store_commit_early() commits like hm_store_commit() -- the changes are visible
 * to every connection and hm_store_changes_done() lists them -- but may return before they
 * are durable: they are once hm_store_sync_committed(uri) of the same database, called after
 * it returned, returns HM_OK. That call may run on any thread, also while the committing
 * connection commits more, and makes durable everything committed on the database before it
 * was called. A backend whose commits are durable when they return (PostGIS) commits as
 * hm_store_commit() and syncs nothing. A connection opened without HM_STORE_WRITER commits
 * durably either way. */
int hm_store_commit_early(hm_store *st, hm_error *err);
int hm_store_sync_committed(const char *uri, hm_error *err);
void hm_store_rollback(hm_store *st);
int hm_store_savepoint(hm_store *st, hm_error *err);
int hm_store_release(hm_store *st, hm_error *err);
void hm_store_rollback_to(hm_store *st);

/* Areas. */
int hm_store_area_upsert(hm_store *st, hm_level level, const hm_area *a, hm_error *err);
/* HM_E_NOT_FOUND when absent. */
int hm_store_area_delete(hm_store *st, hm_level level, const char *code, hm_error *err);
/* Delete every area of `level`. */
int hm_store_area_delete_level(hm_store *st, hm_level level, hm_error *err);
/* Every area of `level` (or of all levels when level < 0), ordered by level, code. */
int hm_store_area_list(hm_store *st, int level, hm_area_cb cb, void *ctx, hm_error *err);
/* One area; HM_E_NOT_FOUND when absent. */
int hm_store_area_get(hm_store *st, hm_level level, const char *code, hm_area_cb cb, void *ctx,
                      hm_error *err);
/* Number of requests whose code at `level` is `code`. */
int hm_store_area_request_count(hm_store *st, hm_level level, const char *code, int64_t *count,
                                hm_error *err);

/* Per area counts: calls cb(ctx, code, status, category, count) for each
 * group of requests at `level`. */
typedef int (*hm_count_cb)(void *ctx, const char *code, int status, int category, int64_t count);
int hm_store_area_counts(hm_store *st, hm_level level, hm_count_cb cb, void *ctx, hm_error *err);

/* Place names (SPEC "Places"), grouped by source ("geonames", "import", "basemap"). */
/* Add `p` (p->source set); a place with a code replaces the place of the same source and code.
 * HM_E_INVALID_FIELD for an unknown source. */
int hm_store_place_put(hm_store *st, const hm_place_row *p, hm_error *err);
/* Delete every place of `source`. */
int hm_store_place_delete_source(hm_store *st, const char *source, hm_error *err);
/* Every place of `source` (NULL: of every source), ordered by id, to cb (rows borrowed for the
 * call); a non-zero cb return stops the walk and is returned. */
int hm_store_place_list(hm_store *st, const char *source, hm_place_cb cb, void *ctx, hm_error *err);

/* Requests. Insert fills r->id. `token_hash` is the SHA-256 of the tracking token. */
int hm_store_request_insert(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                            hm_error *err);
/* A creation's repeat check (SPEC: same phone, same category, within 200 m of one of that
 * phone's open requests of the last 24 h): the phone (E.164), the earliest creation time, the
 * distance. */
typedef struct hm_dup_query {
    const char *phone;
    int64_t since_ms;
    double radius_m;
} hm_dup_query;
/* Create request `r` with its first history entry `first` in one step (on PostGIS one round
 * trip: issue 13), unless it may repeat an earlier one. With `dup`, the requests of dup->phone
 * that are open (new, assigned, in progress), of r's category, created at or after
 * dup->since_ms and within dup->radius_m of r's position (give or take a metre: the caller
 * applies its exact rule) are the candidates; when there is one, nothing is stored, the
 * candidates are passed to `cand` in id order (rows borrowed for the call) until it returns
 * non-zero, and 1 is returned. Otherwise `r` is inserted as hm_store_request_insert() does
 * (r->code set by the caller; fills r->id), `first` appended to its history, and HM_OK
 * returned; HM_E_IN_USE (nothing stored) when the code is in use. */
int hm_store_request_create(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                            const hm_history *first, const hm_dup_query *dup, hm_request_cb cand,
                            void *ctx, hm_error *err);
/* Load by code / id into `out` (caller clears). `token_hash` (may be NULL)
 * receives the stored hash. HM_E_NOT_FOUND when absent. */
int hm_store_request_get(hm_store *st, const char *code, hm_request *out, uint8_t token_hash[32],
                         hm_error *err);
int hm_store_request_get_id(hm_store *st, int64_t id, hm_request *out, hm_error *err);
/* Requests matching `f`, ordered by id ascending, cb for each; a non-zero
 * cb return stops the walk (and is returned). */
int hm_store_request_list(hm_store *st, const hm_request_filter *f, hm_request_cb cb, void *ctx,
                          hm_error *err);
/* Move request `id` from status `from` to `to`, holding team `team_id`
 * (0 none), `duplicate_of` (NULL none), at `now`; a moved request is no
 * automatic duplicate any more. Guarded: when the row is no longer in `from`
 * (a concurrent change) returns HM_E_ALREADY_CLAIMED. */
int hm_store_request_set_status(hm_store *st, int64_t id, int from, int to, int64_t team_id,
                                const char *duplicate_of, int64_t now, hm_error *err);
int hm_store_request_set_verified(hm_store *st, int64_t id, bool verified, int64_t now,
                                  hm_error *err);
/* Write the editable fields of `r` (position and its geometry, precision, category, people,
 * vulnerable, priority, note, name, address, phone, area codes, updated_at) to request r->id.
 * HM_E_NOT_FOUND when there is no such request. */
int hm_store_request_update(hm_store *st, const hm_request *r, hm_error *err);
int hm_store_request_set_areas(hm_store *st, int64_t id, const char *ward, const char *former,
                               const char *hamlet, hm_error *err);
/* Record that request `id` was closed by "I am safe now" at `at` (after its move to
 * cancelled, in the same transaction; any later status move clears it). HM_E_NOT_FOUND when
 * absent. */
int hm_store_request_set_safe(hm_store *st, int64_t id, int64_t at, hm_error *err);
/* Erase the contact data of closed requests last changed before `before_ms`: name, phone,
 * note, address, the reporter's name and phone, the pasted location text, and the notes of
 * their history (the one change the append-only history allows), each purged request getting
 * one history entry of kind "purge" by "system"; then leave no copy of what was erased
 * anywhere in the store's storage (free space, logs), so that reading the raw files finds none
 * of it (issue 11). Runs its own transactions: call it outside one, ideally while no server
 * writes. `*count` receives the number of requests purged. */
int hm_store_request_purge(hm_store *st, int64_t before_ms, int64_t *count, hm_error *err);
/* Number of open requests held by `team_id`. */
int hm_store_team_open_count(hm_store *st, int64_t team_id, int64_t *count, hm_error *err);

/* Record the team's delivery of request `id` (`delivered` false: none; `amount_vnd` -1: no
 * amount) and clear its receipt, or set the resident's receipt (`receipt` enum hm_receipt,
 * HM_RCPT_NONE clears it; `amount_vnd` -1: none) at `at`, which also becomes its updated_at
 * (issue 17). */
int hm_store_request_set_delivery(hm_store *st, int64_t id, bool delivered, int64_t amount_vnd,
                                  hm_error *err);
int hm_store_request_set_receipt(hm_store *st, int64_t id, int receipt, int64_t amount_vnd,
                                 int64_t at, hm_error *err);

/* History: append-only and hash-chained (chain.h, issue 17). An append reads the request's
 * last entry and stores the new one with its note's SHA-256 and its chain hash, in the
 * caller's transaction; this is done in store.c, the same for every backend, so that no
 * caller can append an entry outside the chain. `from`/`to` may be -1 (note-only entry).
 * HM_E_NOT_FOUND when request `request_id` does not exist. */
int hm_store_history_append(hm_store *st, int64_t request_id, int64_t at, const char *actor,
                            int from, int to, const char *note, const char *kind, hm_error *err);
/* The same with the entry's structured facts `detail` (a canonical JSON object, chain.h; NULL
 * for none). */
int hm_store_history_append_detail(hm_store *st, int64_t request_id, int64_t at, const char *actor,
                                   int from, int to, const char *note, const char *kind,
                                   const char *detail, hm_error *err);
/* Append entry `h` with every fact it carries (field, old and new values, contact flag,
 * detail); its id and chain fields (id, note_sha256, old_sha256, new_sha256, hash) are ignored
 * and computed as for every append. */
int hm_store_history_add(hm_store *st, int64_t request_id, const hm_history *h, hm_error *err);
/* Entries of request `request_id` in order, each with its chain fields (id, note_sha256,
 * old_sha256, new_sha256, detail, hash) as stored: callers check the chain (hm_chain_check). */
int hm_store_history_list(hm_store *st, int64_t request_id, hm_history_cb cb, void *ctx,
                          hm_error *err);
/* Every entry of the requests whose id is in (after_id, upto_id], in chain order (by request
 * id, then entry), to cb with the request's id and code; a non-zero cb return stops the walk
 * (and is returned). For `helpmap verify-history` and `digest`. */
int hm_store_history_walk(hm_store *st, int64_t after_id, int64_t upto_id, hm_history_walk_cb cb,
                          void *ctx, hm_error *err);
/* Number of entries of `kind` of request `request_id` into *n. */
int hm_store_history_count(hm_store *st, int64_t request_id, const char *kind, int64_t *n,
                           hm_error *err);
/* Chain the entries written before the database had chains (SQLite schema 8, PostGIS 5): each gets
 * its note's SHA-256 and its hash, in one transaction of its own, once; *chained receives how many
 * (0 when there were none). hm_store_open() runs it for every connection that may write, so a
 * database of an earlier version is chained by the first command or server that opens it. */
int hm_store_history_backfill(hm_store *st, int64_t *chained, hm_error *err);

/* Idempotency of creations (issue 17, POST /requests with an Idempotency-Key): what the first
 * answer was, kept 24 h. `key_id` is derived from the client's key, never the key itself; the
 * answer is sealed with a key derived from it (core/idempotency.h), so the file alone never
 * yields a tracking token. */
typedef struct hm_idem_record {
    uint8_t key_id[32];
    uint8_t body_sha256[32]; /* SHA-256 of the request body as sent */
    int status;              /* HTTP status of the first answer */
    unsigned char *answer;   /* sealed answer; from get: malloc'd, caller frees */
    size_t answer_len;
    int64_t created_at;
} hm_idem_record;
/* The record of `key_id` created at or after `since_ms` into `out` (*found false when none;
 * out->answer then NULL). */
int hm_store_idem_get(hm_store *st, const uint8_t key_id[32], int64_t since_ms, hm_idem_record *out,
                      bool *found, hm_error *err);
/* Store `rec`, replacing a record of the same key only when it was created before
 * `replace_before_ms` (past its time). HM_E_UNAVAILABLE when a newer record of the key is
 * there (a creation with the same key committed meanwhile; callers take HM_LOCK_IDEM first,
 * so this does not happen). */
int hm_store_idem_put(hm_store *st, const hm_idem_record *rec, int64_t replace_before_ms,
                      hm_error *err);
/* Delete the records created before `before_ms`; *n receives how many. */
int hm_store_idem_purge(hm_store *st, int64_t before_ms, int64_t *n, hm_error *err);
/* True in *seen when `actor` has a "reveal" entry for the request since `since_ms`. */
int hm_store_reveal_seen(hm_store *st, int64_t request_id, const char *actor, int64_t since_ms,
                         bool *seen, hm_error *err);

/* Teams. */
int hm_store_team_insert(hm_store *st, hm_team *t, const uint8_t token_hash[32], hm_error *err);
/* Enabled team whose token hashes to `token_hash`; HM_E_UNAUTHORIZED otherwise. */
int hm_store_team_by_token(hm_store *st, const uint8_t token_hash[32], hm_team *out, hm_error *err);
int hm_store_team_get(hm_store *st, int64_t id, hm_team *out, hm_error *err);
int hm_store_team_list(hm_store *st, bool include_disabled, hm_team_cb cb, void *ctx,
                       hm_error *err);
int hm_store_team_set_disabled(hm_store *st, int64_t id, bool disabled, hm_error *err);
int hm_store_team_set_token(hm_store *st, int64_t id, const uint8_t token_hash[32], hm_error *err);
int hm_store_team_set_position(hm_store *st, int64_t id, double lon, double lat, int64_t at,
                               hm_error *err);
int hm_store_team_set_status(hm_store *st, int64_t id, int status, hm_error *err);

/* Relief points (public places: shelters, food, water, medical posts, charging points, boats).
 * Insert fills p->id; update replaces every field of point p->id; update and delete answer
 * HM_E_NOT_FOUND when there is no such point. List: every point in id order. */
int hm_store_relief_insert(hm_store *st, hm_relief *p, hm_error *err);
int hm_store_relief_update(hm_store *st, const hm_relief *p, hm_error *err);
int hm_store_relief_delete(hm_store *st, int64_t id, hm_error *err);
int hm_store_relief_get(hm_store *st, int64_t id, hm_relief *out, hm_error *err);
int hm_store_relief_list(hm_store *st, hm_relief_cb cb, void *ctx, hm_error *err);

/* Statistics: counts by status and category (cb with code NULL), and
 * hourly created counts of the 24 h before `now` into hourly[24] (oldest
 * first); median minutes from creation to resolution into *median_min
 * (-1 when none resolved). */
int hm_store_stats(hm_store *st, int64_t now, int64_t counts[6][7], int64_t hourly[24],
                   double *median_min, hm_error *err);

/* A consistent copy of the open database into the new file `out_path` (hm_file_create(): 0600,
 * no symbolic link, an existing file only when `overwrite`), safe while others write. */
int hm_store_backup(hm_store *st, const char *out_path, bool overwrite, hm_error *err);

/* ---- Audit ----
 * Who saw or took contact data (exports, reveals to teams) and who changed a team's access
 * (added, disabled, enabled, rotated), written in the transaction of what it records. */

/* Append entry `a` (its id and, when 0, its time are set here). */
int hm_store_audit_add(hm_store *st, hm_audit *a, hm_error *err);
/* Entries matching `f` in id order to cb; a non-zero cb return stops and is returned. */
int hm_store_audit_list(hm_store *st, const hm_audit_filter *f, hm_audit_cb cb, void *ctx,
                        hm_error *err);

/* End whatever this connection left half-done outside a transaction (a read that still holds
 * a snapshot, which would hide newer rows from later reads). Returns true when there was
 * nothing; false when there was something — a bug of the caller — and copies what it was into
 * `what`. For the end of every HTTP request. */
bool hm_store_quiesce(hm_store *st, char *what, size_t what_size);

/* Hold the lock named (`what`, `key`) until the end of the transaction: two transactions, on
 * any server, that take the same lock run that part one after the other (decisions that read
 * then write, such as a team's claim cap or a phone's duplicate check). A no-op where one
 * writer at a time is the rule already (SQLite). */
enum {
    HM_LOCK_TEAM = 1,
    HM_LOCK_PHONE = 2,
    HM_LOCK_RELIEF = 3,
    HM_LOCK_HISTORY = 4, /* key: request id (taken by every history append, store.c) */
    HM_LOCK_IDEM = 5,    /* key: the first 8 bytes of an idempotency key id */
};
int hm_store_lock(hm_store *st, int what, int64_t key, hm_error *err);

/* ---- Changes ----
 * Every transaction that changes what servers keep in memory records its changes in the
 * store's change log, in the same transaction: a request created or updated (with what the
 * counts knew before), a team changed, an area changed, or "reload" after bulk imports. Every
 * server follows the log in id order (whoever wrote it: its own writer, another server, a
 * command on the same database), so one server and ten run the same code path. Ids are in
 * commit order: a change never becomes visible before one with a lower id. */

/* Record change `c` (copied; its row pointers are borrowed until the transaction's writer is
 * done with them) in the transaction in progress. Rolled back with it (and with a savepoint). */
int hm_store_change_add(hm_store *st, const hm_change *c, hm_error *err);
/* After a successful hm_store_commit(): the changes it committed, ids set, in id order, with
 * the row pointers they were added with. Valid until the next hm_store_begin(). */
size_t hm_store_changes_done(hm_store *st, const hm_change **out);
/* Committed changes with id > after_id, in id order, at most `limit`, to cb (rows NULL); only
 * durable ones (the store syncs what hm_store_commit_early() left to sync before it returns
 * changes). */
int hm_store_changes_since(hm_store *st, int64_t after_id, size_t limit, hm_change_cb cb, void *ctx,
                           hm_error *err);
/* The id of the last committed change (0 when none). */
int hm_store_change_last(hm_store *st, int64_t *id, hm_error *err);
/* Wait up to `timeout_ms` for a sign that changes were committed by another connection;
 * returns HM_OK when there may be some (also after the time-out: callers then look).
 * HM_E_UNAVAILABLE when the database is gone. */
int hm_store_wait_changes(hm_store *st, int timeout_ms, hm_error *err);

/* Integrity check ("ok" or the first problem). */
int hm_store_check(hm_store *st, char *msg, size_t msg_size, hm_error *err);

/* ---- Migration (store/migrate.c) ----
 * Copy the SpatiaLite database `from` (a file) into the PostGIS database `to` (a libpq URI):
 * every row of every helpmap table with its id, so that request codes, tracking and team
 * token hashes, history (its order, times, actors and details), areas with their polygons,
 * place names, relief points and the change log (event ids) carry over, and a server on `to`
 * answers as one on `from` did. `from` is opened read-only and read as one snapshot (a
 * running server may keep writing, but what it writes after that moment is not copied).
 * `to` gets helpmap's tables when it has none (an empty database, or one with only PostGIS);
 * tables that hold any row refuse the copy. Everything is copied in one transaction: after a
 * failure `to` holds helpmap's empty tables and the command can simply run again.
 * `progress` (may be NULL) is called with the rows copied so far of each table (at least at
 * the end of each, with `table_done` true) before the commit.
 * Errors: HM_E_INVALID_FIELD ("db" or "to") when `from` is not a file path or `to` not a
 * PostgreSQL URI; HM_E_NOT_FOUND ("db") when `from` does not exist; HM_E_IN_USE ("to") when
 * `to` holds helpmap data already; HM_E_UNAVAILABLE when PostgreSQL cannot be reached;
 * HM_E_DB when the two schemas do not match (a table or column that this program does not
 * know how to copy: nothing is left behind silently) or a row is refused. */
typedef void (*hm_migrate_progress)(void *ctx, const char *table, int64_t rows, bool table_done);
int hm_store_migrate(const char *from, const char *to, hm_migrate_progress progress, void *ctx,
                     hm_error *err);

#endif
