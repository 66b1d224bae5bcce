/* store.c: dispatch of hm_store_* to the backend table (store_int.h). */
#include "store_int.h"

#include "chain.h"
#include "fold.h"
#include "geo.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A libpq connection URI selects PostGIS; anything else is a SpatiaLite file. Keyword
 * strings ("host=... dbname=...") are not taken: they could be file names. */
bool hm_store__is_pg_uri(const char *path)
{
    return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

hm_store *hm_store_open(const char *uri, int flags, hm_error *err)
{
    hm_store *st = hm_store__is_pg_uri(uri) ? hm_store__pg_open(uri, flags, err)
                                            : hm_store__sqlite_open(uri, flags, err);
    int64_t chained = 0;

    /* A database of an earlier version gets its history chained by the first connection that
     * may write (issue 17). */
    if (st && !(flags & HM_STORE_READONLY) && hm_store_history_backfill(st, &chained, err)) {
        hm_store_close(st);
        return NULL;
    }
    return st;
}

bool hm_store_created(hm_store *st)
{
    return st->created;
}

void hm_store_close(hm_store *st)
{
    hm_change *pending;
    if (!st)
        return;
    pending = st->pending;
    st->ops->xClose(st);
    free(pending);
}

int hm_store_schema_version(hm_store *st)
{
    return st->ops->xSchemaVersion(st);
}
/* The changes of the transaction in progress (store_int.h) are kept here, the same for every
 * backend: a savepoint marks how many there were, a rollback forgets them. */
int hm_store_begin(hm_store *st, bool immediate, hm_error *err)
{
    st->n_pending = st->mark = 0;
    st->done = false;
    return st->ops->xBegin(st, immediate, err);
}
int hm_store_commit(hm_store *st, hm_error *err)
{
    int rc = st->ops->xCommit(st, st->pending, st->n_pending, err);
    if (rc == HM_OK)
        st->done = true;
    return rc;
}
int hm_store_commit_early(hm_store *st, hm_error *err)
{
    int rc = st->ops->xCommitEarly ? st->ops->xCommitEarly(st, st->pending, st->n_pending, err)
                                   : st->ops->xCommit(st, st->pending, st->n_pending, err);
    if (rc == HM_OK)
        st->done = true;
    return rc;
}
int hm_store_sync_committed(const char *uri, hm_error *err)
{
    return hm_store__is_pg_uri(uri) ? HM_OK : hm_store__sqlite_sync(uri, err);
}
void hm_store_rollback(hm_store *st)
{
    st->n_pending = st->mark = 0;
    st->ops->xRollback(st);
}
int hm_store_savepoint(hm_store *st, hm_error *err)
{
    st->mark = st->n_pending;
    return st->ops->xSavepoint(st, err);
}
int hm_store_release(hm_store *st, hm_error *err)
{
    return st->ops->xRelease(st, err);
}
void hm_store_rollback_to(hm_store *st)
{
    st->n_pending = st->mark;
    st->ops->xRollbackTo(st);
}

int hm_store_change_add(hm_store *st, const hm_change *c, hm_error *err)
{
    hm_change *p;
    int rc;
    if (st->n_pending == st->cap_pending) {
        st->cap_pending = st->cap_pending ? st->cap_pending * 2 : 16;
        st->pending = hm_xrealloc(st->pending, st->cap_pending * sizeof *st->pending);
    }
    p = &st->pending[st->n_pending];
    *p = *c;
    p->id = 0;
    if (!p->at)
        p->at = hm_now_ms();
    if ((rc = st->ops->xChangeAdd(st, p, err)) == HM_OK)
        st->n_pending++;
    return rc;
}

size_t hm_store_changes_done(hm_store *st, const hm_change **out)
{
    *out = st->pending;
    return st->done ? st->n_pending : 0;
}

int hm_store_changes_since(hm_store *st, int64_t after_id, size_t limit, hm_change_cb cb, void *ctx,
                           hm_error *err)
{
    return st->ops->xChangesSince(st, after_id, limit, cb, ctx, err);
}

int hm_store_change_last(hm_store *st, int64_t *id, hm_error *err)
{
    return st->ops->xChangeLast(st, id, err);
}

int hm_store_lock(hm_store *st, int what, int64_t key, hm_error *err)
{
    return st->ops->xLock ? st->ops->xLock(st, what, key, err) : HM_OK;
}

int hm_store_wait_changes(hm_store *st, int timeout_ms, hm_error *err)
{
    return st->ops->xWaitChanges(st, timeout_ms, err);
}
int hm_store_area_upsert(hm_store *st, hm_level level, const hm_area *a, hm_error *err)
{
    return st->ops->xAreaUpsert(st, level, a, err);
}
int hm_store_area_delete(hm_store *st, hm_level level, const char *code, hm_error *err)
{
    return st->ops->xAreaDelete(st, level, code, err);
}
int hm_store_area_delete_level(hm_store *st, hm_level level, hm_error *err)
{
    return st->ops->xAreaDeleteLevel(st, level, err);
}
int hm_store_area_list(hm_store *st, int level, hm_area_cb cb, void *ctx, hm_error *err)
{
    return st->ops->xAreaList(st, level, NULL, cb, ctx, err);
}
int hm_store_area_get(hm_store *st, hm_level level, const char *code, hm_area_cb cb, void *ctx,
                      hm_error *err)
{
    return st->ops->xAreaList(st, (int)level, code, cb, ctx, err);
}
int hm_store_area_request_count(hm_store *st, hm_level level, const char *code, int64_t *count,
                                hm_error *err)
{
    return st->ops->xAreaRequestCount(st, level, code, count, err);
}
int hm_store_area_counts(hm_store *st, hm_level level, hm_count_cb cb, void *ctx, hm_error *err)
{
    return st->ops->xAreaCounts(st, level, cb, ctx, err);
}
int hm_store_place_put(hm_store *st, const hm_place_row *p, hm_error *err)
{
    return st->ops->xPlacePut(st, p, err);
}
int hm_store_place_delete_source(hm_store *st, const char *source, hm_error *err)
{
    return st->ops->xPlaceDeleteSource(st, source, err);
}
int hm_store_place_list(hm_store *st, const char *source, hm_place_cb cb, void *ctx, hm_error *err)
{
    return st->ops->xPlaceList(st, source, cb, ctx, err);
}
int hm_store_request_insert(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                            hm_error *err)
{
    return st->ops->xRequestInsert(st, r, token_hash, err);
}
/* The salt of a contact entry with a text (chain.h): random, so that the texts' SHA-256 that
 * a purge leaves cannot be matched against every phone number; "" for other entries. */
static void entry_salt(const hm_history *h, char salt[33])
{
    uint8_t r[16];
    salt[0] = '\0';
    if (!h->contact || !((h->note && *h->note) || (h->old_value && *h->old_value) ||
                         (h->new_value && *h->new_value)))
        return;
    hm_random_bytes(r, sizeof r);
    hm_hex(r, sizeof r, salt);
}

/* `h` ready to store as the entry after `prev` (hex, "" for the first) of request `code`: the
 * texts as their salted SHA-256 (chain.h: a purge may erase the texts, the chain stays), an
 * empty detail as none, and its hash. */
static void chain_entry(hm_history *h, const char *code, const char *prev)
{
    h->id = 0;
    entry_salt(h, h->salt);
    hm_chain_text_sha256(h->salt, h->note, h->note_sha256);
    hm_chain_text_sha256(h->salt, h->old_value, h->old_sha256);
    hm_chain_text_sha256(h->salt, h->new_value, h->new_sha256);
    if (h->detail && !*h->detail)
        h->detail = NULL;
    hm_chain_hash(code, prev, h, h->hash);
}

/* The candidates of a repeat check among the rows of a phone's list (generic creation). */
typedef struct cand_walk {
    const hm_request *r;
    const hm_dup_query *dup;
    hm_request_cb cand;
    void *ctx;
    bool found;
} cand_walk;

static int cand_visit(void *ctx, const hm_request *c)
{
    cand_walk *w = ctx;
    if (c->category != w->r->category ||
        !(hm_geo_distance_m(c->lon, c->lat, w->r->lon, w->r->lat) <= w->dup->radius_m + 1.0))
        return 0;
    w->found = true;
    return w->cand ? (w->cand(w->ctx, c) != 0) : 1;
}

int hm_store_request_create(hm_store *st, hm_request *r, const uint8_t token_hash[32],
                            const hm_history *first, const hm_dup_query *dup, hm_request_cb cand,
                            void *ctx, hm_error *err)
{
    hm_history h = *first; /* shallow: the texts stay the caller's */
    int rc;
    /* The first entry of a new request: chained from nothing, under the code it is stored with
     * (no other append can come first: the request is not visible before the commit). */
    chain_entry(&h, r->code, "");
    if (st->ops->iVersion >= 8 && st->ops->xRequestCreate)
        return st->ops->xRequestCreate(st, r, token_hash, &h, dup, cand, ctx, err);
    if (dup && dup->phone) {
        hm_request_filter f;
        cand_walk w = {r, dup, cand, ctx, false};
        hm_request_filter_init(&f);
        f.phone = dup->phone;
        f.created_since_ms = dup->since_ms;
        f.status_mask = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
        rc = hm_store_request_list(st, &f, cand_visit, &w, err);
        if (rc != HM_OK && rc != 1)
            return rc;
        if (w.found)
            return 1;
    }
    if ((rc = st->ops->xRequestInsert(st, r, token_hash, err)))
        return rc;
    return st->ops->xHistoryAdd(st, r->id, &h, err);
}

int hm_store_request_get(hm_store *st, const char *code, hm_request *out, uint8_t token_hash[32],
                         hm_error *err)
{
    return st->ops->xRequestGet(st, code, 0, out, token_hash, err);
}
int hm_store_request_get_id(hm_store *st, int64_t id, hm_request *out, hm_error *err)
{
    return st->ops->xRequestGet(st, NULL, id, out, NULL, err);
}
int hm_store_request_list(hm_store *st, const hm_request_filter *f, hm_request_cb cb, void *ctx,
                          hm_error *err)
{
    return st->ops->xRequestList(st, f, cb, ctx, err);
}
int hm_store_request_set_status(hm_store *st, int64_t id, int from, int to, int64_t team_id,
                                const char *duplicate_of, int64_t now, hm_error *err)
{
    return st->ops->xRequestSetStatus(st, id, from, to, team_id, duplicate_of, now, err);
}
int hm_store_request_set_verified(hm_store *st, int64_t id, bool verified, int64_t now,
                                  hm_error *err)
{
    return st->ops->xRequestSetVerified(st, id, verified, now, err);
}
int hm_store_request_update(hm_store *st, const hm_request *r, hm_error *err)
{
    return st->ops->xRequestUpdate(st, r, err);
}
int hm_store_request_set_areas(hm_store *st, int64_t id, const char *ward, const char *former,
                               const char *hamlet, hm_error *err)
{
    return st->ops->xRequestSetAreas(st, id, ward, former, hamlet, err);
}
int hm_store_request_set_safe(hm_store *st, int64_t id, int64_t at, hm_error *err)
{
    return st->ops->xRequestSetSafe(st, id, at, err);
}
int hm_store_relief_insert(hm_store *st, hm_relief *p, hm_error *err)
{
    return st->ops->xReliefInsert(st, p, err);
}
int hm_store_relief_update(hm_store *st, const hm_relief *p, hm_error *err)
{
    return st->ops->xReliefUpdate(st, p, err);
}
int hm_store_relief_delete(hm_store *st, int64_t id, hm_error *err)
{
    return st->ops->xReliefDelete(st, id, err);
}
int hm_store_relief_get(hm_store *st, int64_t id, hm_relief *out, hm_error *err)
{
    return st->ops->xReliefGet(st, id, out, err);
}
int hm_store_relief_list(hm_store *st, hm_relief_cb cb, void *ctx, hm_error *err)
{
    return st->ops->xReliefList(st, cb, ctx, err);
}
int hm_store_request_purge(hm_store *st, int64_t before_ms, int64_t *count, hm_error *err)
{
    return st->ops->xRequestPurge(st, before_ms, count, err);
}
int hm_store_team_open_count(hm_store *st, int64_t team_id, int64_t *count, hm_error *err)
{
    return st->ops->xTeamOpenCount(st, team_id, count, err);
}
/* ---- the hash-chained history (chain.h): the same for every backend ---- */

int hm_store_history_append(hm_store *st, int64_t request_id, int64_t at, const char *actor,
                            int from, int to, const char *note, const char *kind, hm_error *err)
{
    return hm_store_history_append_detail(st, request_id, at, actor, from, to, note, kind, NULL,
                                          err);
}

int hm_store_history_append_detail(hm_store *st, int64_t request_id, int64_t at, const char *actor,
                                   int from, int to, const char *note, const char *kind,
                                   const char *detail, hm_error *err)
{
    hm_history h;
    memset(&h, 0, sizeof h);
    h.at = at;
    snprintf(h.actor, sizeof h.actor, "%s", actor ? actor : "");
    h.from = from;
    h.to = to;
    h.note = (char *)note;
    snprintf(h.kind, sizeof h.kind, "%s", kind ? kind : "");
    h.detail = (char *)detail;
    return hm_store_history_add(st, request_id, &h, err);
}

int hm_store_history_add(hm_store *st, int64_t request_id, const hm_history *in, hm_error *err)
{
    hm_history h = *in; /* shallow: the texts stay the caller's */
    char code[16], prev[65];
    int64_t last_id = 0;
    int rc;

    /* The request's last entry, in the caller's transaction under the request's lock: no
     * other append, on this server (one writer) or another, comes between this read and the
     * insert. */
    if ((rc = hm_store_lock(st, HM_LOCK_HISTORY, request_id, err)) ||
        (rc = st->ops->xHistoryHead(st, request_id, code, &last_id, prev, err)))
        return rc;
    /* An entry without a hash before this one (a chain the database had before chains and the
     * backfill has not reached, or one emptied behind helpmap's back) is chained on from
     * nothing: verification reports it. */
    chain_entry(&h, code, last_id > 0 ? prev : "");
    return st->ops->xHistoryAdd(st, request_id, &h, err);
}

int hm_store_history_walk(hm_store *st, int64_t after_id, int64_t upto_id, hm_history_walk_cb cb,
                          void *ctx, hm_error *err)
{
    return st->ops->xHistoryWalk(st, after_id, upto_id, cb, ctx, err);
}

int hm_store_history_count(hm_store *st, int64_t request_id, const char *kind, int64_t *n,
                           hm_error *err)
{
    return st->ops->xHistoryCount(st, request_id, kind, n, err);
}

/* Entries to chain, collected by a walk and written after it (no update while a statement
 * reads the table). */
typedef struct backfill {
    int64_t upto, request; /* entries with id <= upto; the request being walked */
    char prev[65];         /* the hash before the next entry of `request` */
    hm_history *set;       /* only the id, the texts' SHA-256, the salt and the hash */
    size_t n, cap;
} backfill;

static int backfill_entry(void *ctx, int64_t request_id, const char *code, const hm_history *h)
{
    backfill *b = ctx;
    hm_history e = *h;
    if (request_id != b->request) {
        b->request = request_id;
        b->prev[0] = '\0';
    }
    if (h->hash[0] || h->id > b->upto) {
        /* Chained already (or written after chains began and left without a hash behind
         * helpmap's back: verification reports it, nothing here repairs it). */
        snprintf(b->prev, sizeof b->prev, "%s", h->hash);
        return 0;
    }
    /* Written before chains: no SHA-256 of its texts yet. */
    if (!e.note_sha256[0] && !e.old_sha256[0] && !e.new_sha256[0]) {
        entry_salt(&e, e.salt);
        hm_chain_text_sha256(e.salt, e.note, e.note_sha256);
        hm_chain_text_sha256(e.salt, e.old_value, e.old_sha256);
        hm_chain_text_sha256(e.salt, e.new_value, e.new_sha256);
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->set = hm_xrealloc(b->set, b->cap * sizeof *b->set);
    }
    hm_chain_hash(code, b->prev, &e, e.hash);
    memcpy(b->prev, e.hash, sizeof b->prev);
    e.note = e.old_value = e.new_value = e.detail = NULL; /* the walk's */
    b->set[b->n++] = e;
    return 0;
}

int hm_store_history_backfill(hm_store *st, int64_t *chained, hm_error *err)
{
    const int64_t step = 20000; /* requests per walk */
    backfill b;
    int64_t upto = 0, last_request = 0;
    int rc;

    *chained = 0;
    if ((rc = st->ops->xHistoryUnchained(st, &upto, &last_request, err)) || upto == 0)
        return rc;
    memset(&b, 0, sizeof b);
    if ((rc = hm_store_begin(st, true, err)))
        return rc;
    /* Read again under the write lock: another connection may have done it meanwhile. */
    if ((rc = st->ops->xHistoryUnchained(st, &upto, &last_request, err)) || upto == 0)
        goto out;
    hm_log(HM_LOG_INFO, "event=history_backfill_start upto=%lld", (long long)upto);
    b.upto = upto;
    b.request = -1;
    /* Requests are walked in ranges of ids (a request's entries all fall in one range), up to
     * the last request that has an unchained entry. */
    for (int64_t after = 0; after < last_request; after += step) {
        b.n = 0;
        if ((rc = st->ops->xHistoryWalk(st, after, after + step, backfill_entry, &b, err)))
            goto out;
        for (size_t i = 0; i < b.n; i++)
            if ((rc = st->ops->xHistorySetHash(st, &b.set[i], err)))
                goto out;
        *chained += (int64_t)b.n;
    }
    rc = st->ops->xHistoryChained(st, err);
out:
    free(b.set);
    if (rc) {
        hm_store_rollback(st);
        return rc;
    }
    if ((rc = hm_store_commit(st, err)) == HM_OK)
        hm_log(HM_LOG_INFO, "event=history_backfill entries=%lld", (long long)*chained);
    return rc;
}
int hm_store_history_list(hm_store *st, int64_t request_id, hm_history_cb cb, void *ctx,
                          hm_error *err)
{
    return st->ops->xHistoryList(st, request_id, cb, ctx, err);
}
int hm_store_reveal_seen(hm_store *st, int64_t request_id, const char *actor, int64_t since_ms,
                         bool *seen, hm_error *err)
{
    return st->ops->xRevealSeen(st, request_id, actor, since_ms, seen, err);
}
int hm_store_request_set_delivery(hm_store *st, int64_t id, bool delivered, int64_t amount_vnd,
                                  hm_error *err)
{
    return st->ops->xRequestSetDelivery(st, id, delivered, amount_vnd, err);
}
int hm_store_request_set_receipt(hm_store *st, int64_t id, int receipt, int64_t amount_vnd,
                                 int64_t at, hm_error *err)
{
    return st->ops->xRequestSetReceipt(st, id, receipt, amount_vnd, at, err);
}
int hm_store_idem_get(hm_store *st, const uint8_t key_id[32], int64_t since_ms, hm_idem_record *out,
                      bool *found, hm_error *err)
{
    return st->ops->xIdemGet(st, key_id, since_ms, out, found, err);
}
int hm_store_idem_put(hm_store *st, const hm_idem_record *rec, int64_t replace_before_ms,
                      hm_error *err)
{
    return st->ops->xIdemPut(st, rec, replace_before_ms, err);
}
int hm_store_idem_purge(hm_store *st, int64_t before_ms, int64_t *n, hm_error *err)
{
    return st->ops->xIdemPurge(st, before_ms, n, err);
}
int hm_store_team_insert(hm_store *st, hm_team *t, const uint8_t token_hash[32], hm_error *err)
{
    return st->ops->xTeamInsert(st, t, token_hash, err);
}
int hm_store_team_by_token(hm_store *st, const uint8_t token_hash[32], hm_team *out, hm_error *err)
{
    return st->ops->xTeamByToken(st, token_hash, out, err);
}
int hm_store_team_get(hm_store *st, int64_t id, hm_team *out, hm_error *err)
{
    return st->ops->xTeamGet(st, id, out, err);
}
int hm_store_team_list(hm_store *st, bool include_disabled, hm_team_cb cb, void *ctx, hm_error *err)
{
    return st->ops->xTeamList(st, include_disabled, cb, ctx, err);
}
int hm_store_team_set_disabled(hm_store *st, int64_t id, bool disabled, hm_error *err)
{
    return st->ops->xTeamSetDisabled(st, id, disabled, err);
}
int hm_store_team_set_token(hm_store *st, int64_t id, const uint8_t token_hash[32], hm_error *err)
{
    return st->ops->xTeamSetToken(st, id, token_hash, err);
}
int hm_store_team_set_position(hm_store *st, int64_t id, double lon, double lat, int64_t at,
                               hm_error *err)
{
    return st->ops->xTeamSetPosition(st, id, lon, lat, at, err);
}
int hm_store_team_set_status(hm_store *st, int64_t id, int status, hm_error *err)
{
    return st->ops->xTeamSetStatus(st, id, status, err);
}
int hm_store_stats(hm_store *st, int64_t now, int64_t counts[6][7], int64_t hourly[24],
                   double *median_min, hm_error *err)
{
    return st->ops->xStats(st, now, counts, hourly, median_min, err);
}
int hm_store_backup(hm_store *st, const char *out_path, bool overwrite, hm_error *err)
{
    return st->ops->xBackup(st, out_path, overwrite, err);
}
int hm_store_audit_add(hm_store *st, hm_audit *a, hm_error *err)
{
    if (!a->at)
        a->at = hm_now_ms();
    return st->ops->xAuditAdd(st, a, err);
}
int hm_store_audit_list(hm_store *st, const hm_audit_filter *f, hm_audit_cb cb, void *ctx,
                        hm_error *err)
{
    return st->ops->xAuditList(st, f, cb, ctx, err);
}
int hm_store_check(hm_store *st, char *msg, size_t msg_size, hm_error *err)
{
    return st->ops->xCheck(st, msg, msg_size, err);
}
bool hm_store_quiesce(hm_store *st, char *what, size_t what_size)
{
    return st->ops->xQuiesce(st, what, what_size);
}

bool hm_store__fold_match(const char *text, size_t len, const char *words)
{
    char stack[1024], *key = stack;
    bool ok = true;

    if (!words || !*words)
        return true;
    if (len + 3 > sizeof stack)
        key = hm_xmalloc(len + 3);
    /* " key ": each word is found at a word start. */
    key[0] = ' ';
    hm_fold_into(text, len, key + 1);
    strcat(key, " ");
    for (const char *w = words; *w && ok;) {
        const char *e = strchr(w, ' ');
        size_t n = e ? (size_t)(e - w) : strlen(w);
        char pat[130];
        if (n > 0 && n < sizeof pat - 2) {
            pat[0] = ' ';
            memcpy(pat + 1, w, n);
            pat[n + 1] = '\0';
            ok = strstr(key, pat) != NULL;
        }
        w += n + (e ? 1 : 0);
    }
    if (key != stack)
        free(key);
    return ok;
}
