/* store.h: durable storage of areas, requests, teams and their history.
 * Owns the schema and its migrations, every SQL statement and transactions;
 * not HTTP, JSON or authorization (callers pass verified identities).
 * Backends: SpatiaLite (store_sqlite.c), later PostGIS; callers use the
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

/* HM_STORE_NO_CHECKPOINT: commits on this connection never checkpoint the WAL; some other
 * connection must call hm_store_checkpoint() (the writer's own thread does, so that the
 * writer does not copy pages while jobs wait; issue 7).
 * HM_STORE_SMALL_CACHE: 8 MiB of page cache instead of 32 (connections that read rows here
 * and there, or only checkpoint: the operating system caches the file anyway, and each
 * connection's cache counts in the server's memory; issue 7). */
enum {
    HM_STORE_CREATE = 1,
    HM_STORE_READONLY = 2,
    HM_STORE_NO_DEFAULT_AREAS = 4,
    HM_STORE_NO_CHECKPOINT = 8,
    HM_STORE_SMALL_CACHE = 16
};

/* Open the database at `path` (creating file and schema with HM_STORE_CREATE,
 * migrating an older schema). WAL mode, synchronous=FULL, busy timeout.
 * Returns NULL with `err` filled. Caller closes with hm_store_close(). */
hm_store *hm_store_open(const char *path, int flags, hm_error *err);
void hm_store_close(hm_store *st);

/* Schema version of the open database. */
int hm_store_schema_version(hm_store *st);

/* Transactions. begin(immediate=true) takes the write lock at once. */
int hm_store_begin(hm_store *st, bool immediate, hm_error *err);
int hm_store_commit(hm_store *st, hm_error *err);
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

/* Requests. Insert fills r->id. `token_hash` is the SHA-256 of the tracking token. */
int hm_store_request_insert(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                            hm_error *err);
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
 * (0 none), `duplicate_of` (NULL none), at `now`. Guarded: when the row is
 * no longer in `from` (a concurrent change) returns HM_E_ALREADY_CLAIMED. */
int hm_store_request_set_status(hm_store *st, int64_t id, int from, int to, int64_t team_id,
                                const char *duplicate_of, int64_t now, hm_error *err);
int hm_store_request_set_verified(hm_store *st, int64_t id, int64_t now, hm_error *err);
int hm_store_request_set_areas(hm_store *st, int64_t id, const char *ward, const char *former,
                               const char *hamlet, hm_error *err);
/* Erase name, phone, note and address of closed requests last changed
 * before `before_ms`; `*count` receives the number of requests purged. */
int hm_store_request_purge(hm_store *st, int64_t before_ms, int64_t *count, hm_error *err);
/* Number of open requests held by `team_id`. */
int hm_store_team_open_count(hm_store *st, int64_t team_id, int64_t *count, hm_error *err);

/* History. `from`/`to` may be -1 (note-only entry). */
int hm_store_history_append(hm_store *st, int64_t request_id, int64_t at, const char *actor,
                            int from, int to, const char *note, const char *kind, hm_error *err);
int hm_store_history_list(hm_store *st, int64_t request_id, hm_history_cb cb, void *ctx,
                          hm_error *err);
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

/* Statistics: counts by status and category (cb with code NULL), and
 * hourly created counts of the 24 h before `now` into hourly[24] (oldest
 * first); median minutes from creation to resolution into *median_min
 * (-1 when none resolved). */
int hm_store_stats(hm_store *st, int64_t now, int64_t counts[6][7], int64_t hourly[24],
                   double *median_min, hm_error *err);

/* SQLite online backup of the open database into `out_path`. */
int hm_store_backup(hm_store *st, const char *out_path, hm_error *err);

/* Copy what the write-ahead log holds into the database file (durable: the database file is
 * synced). `restart` false: as far as readers allow, without waiting for anyone (passive).
 * `restart` true: wait (up to 100 ms, then HM_E_UNAVAILABLE) for the writer and the readers,
 * copy everything and make the next write start the log from its beginning, so that it
 * stops growing; writers wait meanwhile. Sets *log_pages and *done_pages (may be NULL) to the log's
 * size and the pages now in the database file. Returns HM_OK or HM_E_DB / HM_E_UNAVAILABLE. */
int hm_store_checkpoint(hm_store *st, bool restart, int *log_pages, int *done_pages, hm_error *err);

/* True when no statement of this connection is half-run (so it holds no
 * read snapshot); otherwise resets them, copies the first one's SQL into
 * `sql` and returns false. For the pool threads' end-of-request check. */
bool hm_store_idle(hm_store *st, char *sql, size_t sql_size);

/* Integrity check ("ok" or the first problem). */
int hm_store_check(hm_store *st, char *msg, size_t msg_size, hm_error *err);

#endif
