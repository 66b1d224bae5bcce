/* store_int.h: the backend table behind store.h. Only store.c and the
 * backends include it. A backend's hm_store begins with `ops`. */
#ifndef HM_STORE_INT_H
#define HM_STORE_INT_H

#include "store.h"

typedef struct hm_store_ops {
    int iVersion; /* 2: change log; 3: place names; 4: relief points, "I am safe now"; 5: edits
                   and history details; 6: audit; 7: hash-chained history, receipts,
                   idempotency; 8: creation in one step */
    const char *name;
    void (*xClose)(hm_store *st);
    int (*xSchemaVersion)(hm_store *st);
    int (*xBegin)(hm_store *st, bool immediate, hm_error *err);
    /* Commit, writing the transaction's `n` changes (xChangeAdd saw each) by the time it
     * returns, and setting their ids in commit order if xChangeAdd did not. */
    int (*xCommit)(hm_store *st, hm_change *changes, size_t n, hm_error *err);
    void (*xRollback)(hm_store *st);
    int (*xSavepoint)(hm_store *st, hm_error *err);
    int (*xRelease)(hm_store *st, hm_error *err);
    void (*xRollbackTo)(hm_store *st);
    int (*xAreaUpsert)(hm_store *st, hm_level level, const hm_area *a, hm_error *err);
    int (*xAreaDelete)(hm_store *st, hm_level level, const char *code, hm_error *err);
    int (*xAreaDeleteLevel)(hm_store *st, hm_level level, hm_error *err);
    int (*xAreaList)(hm_store *st, int level, const char *code, hm_area_cb cb, void *ctx,
                     hm_error *err);
    int (*xAreaRequestCount)(hm_store *st, hm_level level, const char *code, int64_t *count,
                             hm_error *err);
    int (*xAreaCounts)(hm_store *st, hm_level level, hm_count_cb cb, void *ctx, hm_error *err);
    int (*xRequestInsert)(hm_store *st, hm_request *r, const uint8_t token_hash[32], hm_error *err);
    int (*xRequestGet)(hm_store *st, const char *code, int64_t id, hm_request *out,
                       uint8_t token_hash[32], hm_error *err);
    int (*xRequestList)(hm_store *st, const hm_request_filter *f, hm_request_cb cb, void *ctx,
                        hm_error *err);
    int (*xRequestSetStatus)(hm_store *st, int64_t id, int from, int to, int64_t team_id,
                             const char *duplicate_of, int64_t now, hm_error *err);
    int (*xRequestSetVerified)(hm_store *st, int64_t id, bool verified, int64_t now, hm_error *err);
    int (*xRequestSetAreas)(hm_store *st, int64_t id, const char *ward, const char *former,
                            const char *hamlet, hm_error *err);
    int (*xRequestSetSafe)(hm_store *st, int64_t id, int64_t at, hm_error *err);
    int (*xRequestPurge)(hm_store *st, int64_t before_ms, int64_t *count, hm_error *err);
    int (*xTeamOpenCount)(hm_store *st, int64_t team_id, int64_t *count, hm_error *err);
    /* The code of request `request_id` and its last entry's id (0: no entry) and hash ("":
     * none); HM_E_NOT_FOUND when the request does not exist. */
    int (*xHistoryHead)(hm_store *st, int64_t request_id, char code[16], int64_t *last_id,
                        char hash[65], hm_error *err);
    int (*xHistoryWalk)(hm_store *st, int64_t after_id, int64_t upto_id, hm_history_walk_cb cb,
                        void *ctx, hm_error *err);
    /* Set the texts' SHA-256 and salt (hex, "": none) and the hash of entry h->id, written
     * before chains (id <= the unchained mark). */
    int (*xHistorySetHash)(hm_store *st, const hm_history *h, hm_error *err);
    /* The id of the last entry written before chains if some are not chained yet (0: none),
     * and the highest request id among those entries; xHistoryChained: all are now. */
    int (*xHistoryUnchained)(hm_store *st, int64_t *upto, int64_t *last_request, hm_error *err);
    int (*xHistoryChained)(hm_store *st, hm_error *err);
    int (*xHistoryCount)(hm_store *st, int64_t request_id, const char *kind, int64_t *n,
                         hm_error *err);
    int (*xRequestSetDelivery)(hm_store *st, int64_t id, bool delivered, int64_t amount_vnd,
                               hm_error *err);
    int (*xRequestSetReceipt)(hm_store *st, int64_t id, int receipt, int64_t amount_vnd, int64_t at,
                              hm_error *err);
    int (*xIdemGet)(hm_store *st, const uint8_t key_id[32], int64_t since_ms, hm_idem_record *out,
                    bool *found, hm_error *err);
    int (*xIdemPut)(hm_store *st, const hm_idem_record *rec, int64_t replace_before_ms,
                    hm_error *err);
    int (*xIdemPurge)(hm_store *st, int64_t before_ms, int64_t *n, hm_error *err);
    int (*xHistoryList)(hm_store *st, int64_t request_id, hm_history_cb cb, void *ctx,
                        hm_error *err);
    int (*xRevealSeen)(hm_store *st, int64_t request_id, const char *actor, int64_t since_ms,
                       bool *seen, hm_error *err);
    int (*xTeamInsert)(hm_store *st, hm_team *t, const uint8_t token_hash[32], hm_error *err);
    int (*xTeamByToken)(hm_store *st, const uint8_t token_hash[32], hm_team *out, hm_error *err);
    int (*xTeamGet)(hm_store *st, int64_t id, hm_team *out, hm_error *err);
    int (*xTeamList)(hm_store *st, bool include_disabled, hm_team_cb cb, void *ctx, hm_error *err);
    int (*xTeamSetDisabled)(hm_store *st, int64_t id, bool disabled, hm_error *err);
    int (*xTeamSetToken)(hm_store *st, int64_t id, const uint8_t token_hash[32], hm_error *err);
    int (*xTeamSetPosition)(hm_store *st, int64_t id, double lon, double lat, int64_t at,
                            hm_error *err);
    int (*xTeamSetStatus)(hm_store *st, int64_t id, int status, hm_error *err);
    int (*xStats)(hm_store *st, int64_t now, int64_t counts[6][7], int64_t hourly[24],
                  double *median_min, hm_error *err);
    int (*xBackup)(hm_store *st, const char *out_path, bool overwrite, hm_error *err);
    int (*xCheck)(hm_store *st, char *msg, size_t msg_size, hm_error *err);
    bool (*xQuiesce)(hm_store *st, char *what, size_t what_size);
    /* Record change `c` of the transaction in progress; may set c->id now (or leave it to
     * xCommit). */
    int (*xChangeAdd)(hm_store *st, hm_change *c, hm_error *err);
    int (*xChangesSince)(hm_store *st, int64_t after_id, size_t limit, hm_change_cb cb, void *ctx,
                         hm_error *err);
    int (*xChangeLast)(hm_store *st, int64_t *id, hm_error *err);
    int (*xWaitChanges)(hm_store *st, int timeout_ms, hm_error *err);
    int (*xLock)(hm_store *st, int what, int64_t key, hm_error *err); /* NULL: a no-op */
    /* Like xCommit, but may return before the commit is durable (store.h,
     * hm_store_commit_early); NULL: xCommit. */
    int (*xCommitEarly)(hm_store *st, hm_change *changes, size_t n, hm_error *err);
    /* iVersion 3: place names. */
    int (*xPlacePut)(hm_store *st, const hm_place_row *p, hm_error *err);
    int (*xPlaceDeleteSource)(hm_store *st, const char *source, hm_error *err);
    int (*xPlaceList)(hm_store *st, const char *source, hm_place_cb cb, void *ctx, hm_error *err);
    /* iVersion 4: relief points. */
    int (*xReliefInsert)(hm_store *st, hm_relief *p, hm_error *err);
    int (*xReliefUpdate)(hm_store *st, const hm_relief *p, hm_error *err);
    int (*xReliefDelete)(hm_store *st, int64_t id, hm_error *err);
    int (*xReliefGet)(hm_store *st, int64_t id, hm_relief *out, hm_error *err);
    int (*xReliefList)(hm_store *st, hm_relief_cb cb, void *ctx, hm_error *err);
    /* iVersion 5: field readiness (issue 14). */
    int (*xRequestUpdate)(hm_store *st, const hm_request *r, hm_error *err);
    /* Append entry `h` with its texts, field, contact flag, detail and the chain fields store.c
     * computed (note_sha256, old_sha256, new_sha256, salt: hex, "" without; hash). */
    int (*xHistoryAdd)(hm_store *st, int64_t request_id, const hm_history *h, hm_error *err);
    /* iVersion 6: the audit log. */
    int (*xAuditAdd)(hm_store *st, hm_audit *a, hm_error *err);
    int (*xAuditList)(hm_store *st, const hm_audit_filter *f, hm_audit_cb cb, void *ctx,
                      hm_error *err);
    /* iVersion 8: a creation in one step (hm_store_request_create()); NULL: store.c runs it as
     * the list, insert and history append it stands for. */
    int (*xRequestCreate)(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                          const hm_history *first, const hm_dup_query *dup, hm_request_cb cand,
                          void *ctx, hm_error *err);
} hm_store_ops;

struct hm_store {
    const hm_store_ops *ops;
    bool created; /* this open created the database */
    /* store.c's: the changes of the transaction in progress (or just committed: done). */
    hm_change *pending;
    size_t n_pending, cap_pending, mark;
    bool done;
};

/* True when every word of `words` (an hm_fold() key: words separated by one space) starts a
 * word of the search key of text[0, len): the `q` filter of request lists, the same in every
 * backend. */
bool hm_store__fold_match(const char *text, size_t len, const char *words);

/* True when `path` is a libpq URI ("postgresql://" or "postgres://"): PostGIS; anything else
 * is a SpatiaLite file. */
bool hm_store__is_pg_uri(const char *path);

/* The SpatiaLite backend's constructor. */
hm_store *hm_store__sqlite_open(const char *path, int flags, hm_error *err);
/* hm_store_sync_committed() of a SpatiaLite database. */
int hm_store__sqlite_sync(const char *path, hm_error *err);
/* The PostGIS backend's constructor: `uri` is a libpq connection URI (store_pg.c). */
hm_store *hm_store__pg_open(const char *uri, int flags, hm_error *err);

/* The connection under a store, for migrate.c (which copies whole tables from one backend to
 * the other and so needs each one's own bulk interface): SQLite's handle when `st` is a
 * SpatiaLite store, libpq's when it is a PostGIS one, NULL otherwise. Borrowed: valid until
 * hm_store_close(); the caller leaves no transaction open on it. */
struct sqlite3;
struct pg_conn;
struct sqlite3 *hm_store__sqlite_db(hm_store *st);
struct pg_conn *hm_store__pg_conn(hm_store *st);

#endif
