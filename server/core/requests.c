/* requests.c: creation, reads and status moves of requests; see requests.h. */
#include "requests.h"

#include "chain.h"
#include "core_int.h"
#include "fold.h"
#include "geo.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"
#include "present.h"
#include "ratelimit.h"
#include "validate.h"
#include "worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24 * 3600 * 1000LL)

/* ---- creation ------------------------------------------------------------------------- */

static int rate_refused(hm_error *err, const char *field, const char *msg, int retry)
{
    hm_error_set(err, HM_E_RATE_LIMITED, field, "%s", msg);
    if (err)
        err->retry_after_s = retry;
    return HM_E_RATE_LIMITED;
}

static int phone_limited(int retry, hm_error *err)
{
    return rate_refused(err, "phone", "too many requests for this phone number; try again later",
                        retry);
}

/* Public creations (SPEC, and issue 14 for carrier NAT): per phone an hour; per device (the
 * client address with the phone) a minute; per client address a minute with a higher ceiling,
 * since hundreds of phones on one mobile network share one address. Every limit is checked
 * before any is taken, so that a refused creation uses up nothing. The device and the address
 * then pay for every valid attempt; the phone only pays when its request is stored (create_run,
 * issue 11: posts that fail validation or fall outside the area do not use a phone's quota). */
static int rate_check(hm_core *c, const hm_actor *a, const char *phone, hm_error *err)
{
    int retry = 0;
    int64_t now = hm_now_ms();
    char device[128];
    if (a->role >= HM_ROLE_OPERATOR)
        return HM_OK;
    snprintf(device, sizeof device, "%s|%s", a->client, phone ? phone : "");
    if (c->phone_limit && phone && !hm_ratelimit_check(c->phone_limit, phone, now, &retry))
        return phone_limited(retry, err);
    if (c->ratelimit && !hm_ratelimit_check(c->ratelimit, device, now, &retry))
        return rate_refused(err, NULL, "too many requests from this device; try again later",
                            retry);
    if (c->address_limit && !hm_ratelimit_check(c->address_limit, a->client, now, &retry))
        return rate_refused(err, NULL, "too many requests from this address; try again later",
                            retry);
    if (c->ratelimit)
        hm_ratelimit_take(c->ratelimit, device, now, NULL);
    if (c->address_limit)
        hm_ratelimit_take(c->address_limit, a->client, now, NULL);
    return HM_OK;
}

typedef struct dup_search {
    const hm_request *want;
    hm_request found;
    bool hit;
} dup_search;

static int dup_visit(void *ctx, const hm_request *r)
{
    dup_search *d = ctx;
    if (r->category != d->want->category)
        return 0;
    if (hm_geo_distance_m(r->lon, r->lat, d->want->lon, d->want->lat) > 200.0)
        return 0;
    d->found = *r;
    hm_request_drop_text(&d->found);
    d->hit = true;
    return 1;
}

static int area_rep(void *ctx, const hm_area_row *a)
{
    hm_request *r = ctx;
    r->lon = a->rep_lon;
    r->lat = a->rep_lat;
    return 0;
}

static int area_parent(void *ctx, const hm_area_row *a)
{
    char *parent = ctx;
    snprintf(parent, 40, "%s", a->parent_code);
    return 0;
}

/* The area codes of r's position: under the operation's own index (imports), else the core's. */
static void locate(hm_create_op *op, hm_request *r)
{
    if (op->idx)
        hm_core__locate_in(op->idx, r);
    else
        hm_core__locate(op->core, r);
}

/* The folded key of a hamlet's name without the word people may or may not say before it
 * ("Ấp Phú Lợi", "ap phu loi", "Phú Lợi" compare equal), into key[0, HM_HAMLET_TEXT_SIZE). */
static void hamlet_key(const char *name, char *key)
{
    static const char *const words[] = {"ap ", "khu pho ", "kp ", NULL};
    char folded[HM_HAMLET_TEXT_SIZE];
    size_t n = strlen(name);
    const char *k = folded;

    hm_fold_into(name, n < sizeof folded - 1 ? n : sizeof folded - 1, folded);
    for (size_t i = 0; words[i]; i++)
        if (strncmp(folded, words[i], strlen(words[i])) == 0 && folded[strlen(words[i])]) {
            k += strlen(words[i]);
            break;
        }
    snprintf(key, HM_HAMLET_TEXT_SIZE, "%s", k);
}

typedef struct hamlet_find {
    const char *ward;
    char key[HM_HAMLET_TEXT_SIZE];
    char code[40]; /* the hamlet found; "" none */
} hamlet_find;

static int hamlet_by_name(void *ctx, const hm_area_row *a)
{
    hamlet_find *f = ctx;
    char key[HM_HAMLET_TEXT_SIZE];
    if (f->code[0] || strcmp(a->parent_code, f->ward) != 0)
        return 0;
    hamlet_key(a->name, key);
    if (key[0] && strcmp(key, f->key) == 0)
        snprintf(f->code, sizeof f->code, "%s", a->code);
    return 0;
}

/* Append hamlet name `text` to r's address (", " between), unless the address names it
 * already (with or without "ấp"), keeping the address within its 200 characters (cut at a
 * character). */
static void address_add(hm_request *r, const char *text)
{
    size_t n = strlen(text), have = r->address ? strlen(r->address) : 0, chars = 0, cut;
    char key[HM_HAMLET_TEXT_SIZE], *fa;
    bool said;
    hm_buf b;

    fa = hm_xmalloc(have + 1);
    hm_fold_into(r->address ? r->address : "", have, fa);
    hamlet_key(text, key);
    said = !key[0] || strstr(fa, key);
    free(fa);
    if (said)
        return;
    hm_buf_init(&b);
    if (have) {
        hm_buf_append(&b, r->address, have);
        hm_buf_puts(&b, ", ");
    }
    hm_buf_append(&b, text, n);
    hm_buf_putc(&b, '\0');
    for (cut = 0; b.data[cut]; cut++) /* code points: bytes that do not continue one */
        if (((unsigned char)b.data[cut] & 0xC0) != 0x80 && ++chars > 200)
            break;
    b.data[cut] = '\0';
    free(r->address);
    r->address = hm_xstrdup(b.data);
    hm_buf_clear(&b);
}

/* The hamlet an address-only request gives (op->want_hamlet: a code or a name as typed),
 * resolved against the stored hamlets of its commune: a hamlet's code; a hamlet's name (case,
 * diacritics and a leading "ấp" ignored); else the text goes into the address and the request
 * has no hamlet: a hamlet name is never a reason to refuse a request (SPEC "The pages in a
 * crisis"). A hamlet code of another commune is HM_E_INVALID_FIELD (the two codes disagree). */
static int resolve_hamlet(hm_create_op *op, hm_store *st, hm_error *err)
{
    char parent[40] = "";
    hamlet_find f;
    int rc;

    if (!op->want_hamlet[0])
        return HM_OK;
    if (strlen(op->want_hamlet) < sizeof parent &&
        hm_store_area_get(st, HM_LEVEL_HAMLET, op->want_hamlet, area_parent, parent, NULL) ==
            HM_OK) {
        if (strcmp(parent, op->want_ward) != 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "hamlet_code",
                                "this hamlet is not in the commune given");
        return HM_OK;
    }
    memset(&f, 0, sizeof f);
    f.ward = op->want_ward;
    hamlet_key(op->want_hamlet, f.key);
    if (f.key[0] && (rc = hm_store_area_list(st, HM_LEVEL_HAMLET, hamlet_by_name, &f, err)))
        return rc;
    if (f.code[0]) {
        snprintf(op->want_hamlet, sizeof op->want_hamlet, "%s", f.code);
        return HM_OK;
    }
    address_add(&op->req, op->want_hamlet);
    op->want_hamlet[0] = '\0';
    return HM_OK;
}

/* The position and areas of an address-only request: the point of the place its address names
 * inside the commune (and hamlet) given, when the place search knows one (SPEC "Places": the
 * request then stands at the place, precision "place"); otherwise the representative point of
 * the smallest area given. */
static int place_by_address(hm_create_op *op, hm_store *st, hm_error *err)
{
    hm_request *r = &op->req;
    bool hamlet;
    int rc;

    if ((rc = resolve_hamlet(op, st, err)))
        return rc;
    hamlet = op->want_hamlet[0] != '\0';
    rc = hamlet ? hm_store_area_get(st, HM_LEVEL_HAMLET, op->want_hamlet, area_rep, r, NULL)
                : hm_store_area_get(st, HM_LEVEL_WARD, op->want_ward, area_rep, r, NULL);
    if (rc)
        return hm_error_set(err, HM_E_INVALID_FIELD, "ward_code", "no commune has this code");
    /* Imports run without a core (the command line): no place search there. */
    if (op->core && hm_core__place_in_text(op->core, r->address, op->want_ward, op->want_hamlet,
                                           &r->lon, &r->lat))
        r->precision = HM_PREC_PLACE;
    locate(op, r);
    snprintf(r->ward_code, sizeof r->ward_code, "%s", op->want_ward);
    if (hamlet) /* a stored hamlet's code by now (resolve_hamlet), shorter than 40 bytes */
        snprintf(r->hamlet_code, sizeof r->hamlet_code, "%.39s", op->want_hamlet);
    return HM_OK;
}

/* The key's first answer within 24 h from `st`: *found and the opened answer; the mismatch
 * error when the key came with another body. */
static int idem_lookup(hm_store *st, const hm_idem *k, bool *found, int *status, char **text,
                       size_t *len, hm_error *err)
{
    hm_idem_record rec;
    int rc;

    *found = false;
    if ((rc = hm_store_idem_get(st, k->id, hm_now_ms() - HM_IDEM_TTL_MS, &rec, found, err)) ||
        !*found)
        return rc;
    if (!hm_ct_equal(rec.body_sha256, k->body_sha256, 32)) {
        *found = false;
        rc = hm_error_set(err, HM_E_IDEMPOTENCY_MISMATCH, "Idempotency-Key",
                          "this Idempotency-Key was used with another body; use a new key for "
                          "a new request");
    } else if (!hm_idem_open(k, rec.answer, rec.answer_len, text, len)) {
        *found = false;
        rc = hm_error_set(err, HM_E_IDEMPOTENCY_MISMATCH, "Idempotency-Key",
                          "this Idempotency-Key cannot be used again; use a new key");
    } else {
        *status = rec.status;
    }
    free(rec.answer);
    return rc;
}

/* With a key: the answer of this creation, sealed and stored in its transaction. */
static int idem_store(hm_create_op *op, hm_store *st, hm_error *err)
{
    hm_idem_record rec;
    int rc;

    memset(&rec, 0, sizeof rec);
    op->answer = hm_core_create_answer(op, &op->answer_status, &op->answer_len);
    memcpy(rec.key_id, op->idem.id, 32);
    memcpy(rec.body_sha256, op->idem.body_sha256, 32);
    rec.status = op->answer_status;
    rec.created_at = hm_now_ms();
    hm_idem_seal(&op->idem, op->answer, op->answer_len, &rec.answer, &rec.answer_len);
    rc = hm_store_idem_put(st, &rec, rec.created_at - HM_IDEM_TTL_MS, err);
    free(rec.answer);
    return rc;
}

int hm_core__create_row(hm_store *st, hm_create_op *op, hm_error *err)
{
    return op->job.run(st, &op->job, err);
}

static int create_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_create_op *op = (hm_create_op *)job;
    hm_core *c = op->core;
    hm_request *r = &op->req;
    hm_history first;
    hm_dup_query dq;
    dup_search d;
    bool check = r->phone != NULL;
    int rc, retry = 0;

    if (op->idem.on) {
        bool found = false;
        int64_t key;
        free(op->answer);
        op->answer = NULL;
        /* Inside the writer's transaction, under the key's lock (several servers on one
         * database): of two creations with one key, the second finds the first's answer here,
         * whatever the order they were checked in before. */
        memcpy(&key, op->idem.id, sizeof key);
        if ((rc = hm_store_lock(st, HM_LOCK_IDEM, key, err)) ||
            (rc = idem_lookup(st, &op->idem, &found, &op->answer_status, &op->answer,
                              &op->answer_len, err)))
            return rc;
        if (found) {
            op->replayed = true;
            return HM_OK;
        }
    }
    if (op->by_address) {
        if ((rc = place_by_address(op, st, err)))
            return rc;
    } else {
        locate(op, r);
        if (!r->ward_code[0])
            return hm_error_set(err, HM_E_OUTSIDE_AREA,
                                r->precision == HM_PREC_LINK ? "location_text" : "lat",
                                "this place is outside the service area; call the 1022 hotline");
    }
    /* The phone's quota, checked again where the writer puts requests one after another. */
    if (op->limited && c->phone_limit && r->phone &&
        !hm_ratelimit_check(c->phone_limit, r->phone, hm_now_ms(), &retry))
        return phone_limited(retry, err);

    /* SPEC: same phone, same category, within 200 m of one of that phone's open requests of
     * the last 24 h is a duplicate. The phone is the person in need's, also when someone else
     * reports for them (issue 19). The store checks and creates in one step (one round trip on
     * PostGIS, issue 13) and hands back the candidates it found instead; the rule is applied
     * here, exactly. */
    memset(&d, 0, sizeof d);
    d.want = r;
    if (check) {
        uint8_t ph[32];
        int64_t key;
        /* Two servers taking the same phone's repeat at once: one checks after the other. */
        hm_sha256(r->phone, strlen(r->phone), ph);
        memcpy(&key, ph, sizeof key);
        if ((rc = hm_store_lock(st, HM_LOCK_PHONE, key, err)))
            return rc;
        dq = (hm_dup_query){r->phone, r->created_at - DAY_MS, 200.0};
    }
    memset(&first, 0, sizeof first);
    first.at = r->created_at;
    snprintf(first.actor, sizeof first.actor, "%s",
             r->source == HM_SRC_WEB      ? "resident"
             : r->source == HM_SRC_IMPORT ? "import"
                                          : "hotline");
    first.from = -1;
    snprintf(first.kind, sizeof first.kind, "status");

    for (int attempt = 0;; attempt++) {
        hm_error e2 = {0};
        hm_code_generate(op->prefix ? op->prefix : c->cfg.code_prefix, r->code, sizeof r->code);
        first.to = r->status;
        rc = hm_store_request_create(st, r, op->token_hash, &first, check ? &dq : NULL, dup_visit,
                                     &d, &e2);
        if (rc == 1 && d.hit && !op->limited) {
            /* An operator's caller repeats: the note goes to the earlier request. */
            rc = hm_store_history_append(st, d.found.id, r->created_at, "resident", -1, -1,
                                         r->note ? r->note : "repeated request", "note", err);
            if (rc)
                return rc;
            hm_request_clear(r);
            *r = d.found;
            op->duplicate = true;
            /* Nothing of the row changed, but its history did: the resident's own stream
             * (issue 15) hears of it, and every server with it. */
            if ((rc = hm_core__record_request(st, r, r, err)))
                return rc;
            return op->idem.on ? idem_store(op, st, err) : HM_OK;
        }
        if (rc == 1 && d.hit) {
            /* A public caller's repeat is stored as a request of its own, closed as the earlier
             * one's duplicate: whoever posts a phone number learns nothing of that phone's
             * requests from the answer, and their words reach the earlier request only as an
             * unverified caller's (issue 11: a stranger confirmed whose pin it was and wrote
             * into the victim's history as "resident"). No change of the earlier request is
             * recorded: no event or time stamp tells which request it was. */
            r->status = HM_ST_DUPLICATE;
            r->auto_duplicate = true;
            snprintf(r->duplicate_of, sizeof r->duplicate_of, "%s", d.found.code);
            rc = hm_store_history_append(st, d.found.id, r->created_at, "unverified caller", -1, -1,
                                         r->note ? r->note : "repeated request", "repeat", err);
            if (rc)
                return rc;
            rc = 1;
        }
        if (rc == 1) {
            /* Stored without the check: the public repeat above, or candidates near the limit
             * and none within it. */
            check = false;
            attempt--;
            continue;
        }
        if (rc == HM_E_IN_USE && attempt < 8)
            continue;
        if (rc) {
            *err = e2;
            return rc;
        }
        break;
    }
    if ((rc = hm_core__record_request(st, r, NULL, err)))
        return rc;
    /* Stored: now it counts against the phone's quota (issue 11). */
    if (op->limited && c->phone_limit && r->phone) {
        hm_ratelimit_take(c->phone_limit, r->phone, hm_now_ms(), NULL);
        op->phone_taken = true;
    }
    return op->idem.on ? idem_store(op, st, err) : HM_OK;
}

char *hm_core_create_answer(const hm_create_op *op, int *status, size_t *len)
{
    json_t *o;
    char *text;
    if (op->duplicate) {
        *status = 200;
        o = json_pack("{s:b,s:o}", "duplicate", 1, "request",
                      hm_core_request_json(op->core, &op->req, HM_VIEW_SNAP, false));
    } else {
        /* Nothing in it tells a public caller that the phone already had a request. */
        hm_request shown;
        hm_create_op_shown(op, &shown);
        *status = 201;
        o = json_pack(
            "{s:o,s:s}", "request",
            hm_core_request_json(op->core, &shown, HM_VIEW_CONTACT | HM_VIEW_RESIDENT, false),
            "token", op->token);
    }
    text = json_dumps(o, HM_JSON_FLAGS);
    json_decref(o);
    if (!text) /* out of memory in jansson */
        text = hm_xstrdup("{}");
    *len = strlen(text);
    return text;
}

int hm_core_idem_replay(hm_core *c, const hm_idem *idem, bool *found, int *status, char **text,
                        size_t *len, hm_error *err)
{
    hm_worker *w = hm_worker_get(err);
    (void)c;
    *found = false;
    if (!w)
        return err ? err->code : HM_E_INTERNAL;
    return idem_lookup(w->store, idem, found, status, text, len, err);
}

int hm_core_create(hm_core *c, const hm_actor *a, json_t *body, hm_create_op *op, hm_error *err)
{
    int rc;

    memset(op, 0, sizeof *op);
    op->core = c;
    op->job.run = create_run;
    if (a->role == HM_ROLE_VOLUNTEER)
        return hm_error_set(err, HM_E_FORBIDDEN, NULL,
                            "volunteer teams do not create requests; residents and operators do");
    op->limited = a->role < HM_ROLE_OPERATOR;
    if ((rc = hm_validate_request(body, a->role >= HM_ROLE_OPERATOR, &op->req, op->want_ward,
                                  op->want_hamlet, &op->by_address, err)) ||
        (rc = rate_check(c, a, op->req.phone, err)))
        return rc;
    hm_token_generate(16, op->token, sizeof op->token);
    hm_sha256(op->token, strlen(op->token), op->token_hash);
    return HM_OK;
}

void hm_create_op_shown(const hm_create_op *op, hm_request *out)
{
    *out = op->req;
    if (out->auto_duplicate) {
        out->status = HM_ST_NEW;
        out->duplicate_of[0] = '\0';
        out->auto_duplicate = false;
    }
}

void hm_create_op_clear(hm_create_op *op)
{
    /* Taken in the job, but its batch did not commit: nothing was stored. */
    if (op->phone_taken && op->job.rc != HM_OK && op->core->phone_limit && op->req.phone)
        hm_ratelimit_give(op->core->phone_limit, op->req.phone, hm_now_ms());
    op->phone_taken = false;
    hm_request_clear(&op->req);
    memset(op->token, 0, sizeof op->token);
    memset(&op->idem, 0, sizeof op->idem);
    free(op->answer);
    op->answer = NULL;
}

/* ---- status moves --------------------------------------------------------------------- */

static void team_busy_update(hm_change_op *c, hm_store *st, int64_t team_id, bool took)
{
    hm_team t;
    int64_t open = 0;
    if (team_id <= 0 || hm_store_team_get(st, team_id, &t, NULL) != HM_OK)
        return;
    if (took && t.status == HM_TEAM_AVAILABLE) {
        if (hm_store_team_set_status(st, team_id, HM_TEAM_BUSY, NULL) != HM_OK)
            return;
        t.status = HM_TEAM_BUSY;
    } else if (!took && t.status == HM_TEAM_BUSY &&
               hm_store_team_open_count(st, team_id, &open, NULL) == HM_OK && open == 0) {
        if (hm_store_team_set_status(st, team_id, HM_TEAM_AVAILABLE, NULL) != HM_OK)
            return;
        t.status = HM_TEAM_AVAILABLE;
    } else {
        return;
    }
    if (c->priv.n_teams < 2)
        c->priv.teams[c->priv.n_teams++] = t;
}

/* The team a coordinator assigns to, checked in the transaction that assigns. */
static int check_assignee(hm_store *st, int64_t team_id, hm_error *err)
{
    hm_team t;
    int rc;
    if (team_id <= 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "team_id", "team_id is required");
    rc = hm_store_team_get(st, team_id, &t, NULL);
    if (rc == HM_E_NOT_FOUND)
        return hm_error_set(err, HM_E_INVALID_FIELD, "team_id", "no team has this id");
    if (rc)
        return hm_error_set(err, rc, NULL, "cannot read the team");
    if (t.disabled || t.role != HM_ROLE_VOLUNTEER)
        return hm_error_set(err, HM_E_INVALID_FIELD, "team_id",
                            "requests are assigned to enabled volunteer teams");
    return HM_OK;
}

/* A team's name as the history shows it ("#ID" when it is gone); NULL for no team. malloc'd. */
static char *team_name(hm_store *st, int64_t id)
{
    hm_team t;
    char buf[120];
    if (id <= 0)
        return NULL;
    if (hm_store_team_get(st, id, &t, NULL) == HM_OK)
        return hm_xstrdup(t.name);
    snprintf(buf, sizeof buf, "#%lld", (long long)id);
    return hm_xstrdup(buf);
}

static int any_visit(void *ctx, const hm_request *r)
{
    snprintf(ctx, 16, "%s", r->code);
    return 1;
}

/* May `r` be marked duplicate of `keep_code`? The kept request exists, is not `r`, and is not a
 * duplicate itself; nothing is a duplicate of `r` (no chains, hence no cycles: issue 14). */
static int merge_check(hm_store *st, const hm_request *r, const char *keep_code, hm_error *err)
{
    hm_request keep;
    hm_request_filter f;
    char dup[16] = "";
    int rc;

    if (!keep_code[0])
        return hm_error_set(err, HM_E_INVALID_FIELD, "duplicate_of",
                            "duplicate_of must name the other request's code");
    if (strcmp(keep_code, r->code) == 0)
        return hm_error_set(err, HM_E_INVALID_FIELD, "duplicate_of",
                            "a request cannot duplicate itself");
    if (hm_store_request_get(st, keep_code, &keep, NULL, NULL) != HM_OK)
        return hm_error_set(err, HM_E_INVALID_FIELD, "duplicate_of",
                            "no request has the code given in duplicate_of");
    rc = keep.status == HM_ST_DUPLICATE
             ? hm_error_set(err, HM_E_INVALID_TRANSITION, "duplicate_of",
                            "%s is itself a duplicate of %s; mark this one a duplicate of %s",
                            keep.code, keep.duplicate_of, keep.duplicate_of)
             : HM_OK;
    hm_request_clear(&keep);
    if (rc)
        return rc;
    hm_request_filter_init(&f);
    f.duplicate_of = r->code;
    f.status_mask = 1u << HM_ST_DUPLICATE;
    f.limit = 1;
    rc = hm_store_request_list(st, &f, any_visit, dup, err);
    if (rc != HM_OK && rc != 1)
        return rc;
    if (dup[0])
        return hm_error_set(err, HM_E_INVALID_TRANSITION, "duplicate_of",
                            "%s is a duplicate of this request; reopen it first or mark it a "
                            "duplicate of %s",
                            dup, keep_code);
    return HM_OK;
}

/* Longest note a request keeps once others are appended to it (notes from merges and edits);
 * a resident's own note stays at most 500 characters. */
#define NOTE_MAX_CHARS 2000

/* `note` with `add` appended on a line of its own (malloc'd), or NULL when it would pass
 * NOTE_MAX_CHARS. */
static char *note_append(const char *note, const char *add)
{
    hm_buf b;
    size_t len;
    char *out;
    hm_buf_init(&b);
    if (note && *note) {
        hm_buf_puts(&b, note);
        hm_buf_puts(&b, "\n");
    }
    hm_buf_puts(&b, add);
    out = hm_buf_steal(&b, &len);
    if (!hm_text_ok(out, NOTE_MAX_CHARS)) {
        free(out);
        return NULL;
    }
    return out;
}

/* Request `dup` was just marked duplicate of c->duplicate_of: the kept request takes its note
 * and vulnerable people, and both histories record the merge. */
static int merge_into(hm_store *st, hm_change_op *c, const hm_request *dup, int64_t now,
                      hm_error *err)
{
    hm_request keep, before;
    hm_history h;
    char *dup_note = NULL;
    int rc;

    memset(&keep, 0, sizeof keep);
    if ((rc = hm_store_request_get(st, c->duplicate_of, &keep, NULL, err)))
        return rc;
    /* The duplicate's note, read back with its contact fields. */
    {
        hm_request d;
        if (hm_store_request_get_id(st, dup->id, &d, NULL) == HM_OK) {
            dup_note = d.note;
            d.note = NULL;
            hm_request_clear(&d);
        }
    }
    before = keep;
    before.note = before.name = before.address = before.phone = NULL;
    if (dup_note) {
        char line[600], *merged;
        snprintf(line, sizeof line, "[%s] %s", dup->code, dup_note);
        if ((merged = note_append(keep.note, line))) {
            free(keep.note);
            keep.note = merged;
        }
    }
    keep.vulnerable |= dup->vulnerable;
    keep.priority = hm_priority_of(keep.category, keep.vulnerable);
    keep.updated_at = now;
    rc = hm_store_request_update(st, &keep, err);
    memset(&h, 0, sizeof h);
    h.at = now;
    snprintf(h.actor, sizeof h.actor, "%s", c->actor_name);
    h.from = h.to = -1;
    snprintf(h.kind, sizeof h.kind, "merge");
    snprintf(h.field, sizeof h.field, "duplicate");
    h.new_value = (char *)dup->code;
    h.note = dup_note;
    h.contact = dup_note != NULL; /* the resident's words */
    if (!rc)
        rc = hm_store_history_add(st, keep.id, &h, err);
    if (!rc) {
        /* The kept request is recorded with its row read back (the change log lends it). */
        hm_request_clear(&c->merged);
        rc = hm_store_request_get_id(st, keep.id, &c->merged, err);
    }
    if (!rc)
        rc = hm_core__record_request(st, &c->merged, &before, err);
    free(dup_note);
    hm_request_clear(&keep);
    return rc;
}

static int change_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_change_op *c = (hm_change_op *)job;
    hm_request *r = &c->result;
    hm_request before;
    unsigned actor = c->actor;
    int64_t team = 0, now = hm_now_ms();
    int rc, from;

    c->priv.n_teams = 0;
    c->priv.released_by = 0;
    hm_request_clear(r);
    if ((rc = hm_store_request_get(st, c->code, r, NULL, err)) != HM_OK)
        return rc;
    from = r->status;
    c->priv.before_status = from;
    c->priv.before_status_at = r->status_at;
    if (c->priv.expire_before && !(from == HM_ST_ASSIGNED && r->status_at < c->priv.expire_before))
        return hm_error_set(err, HM_E_INVALID_TRANSITION, NULL, "started or released meanwhile");
    if (c->claim) {
        if (from != HM_ST_NEW)
            return hm_error_set(
                err,
                from == HM_ST_ASSIGNED || from == HM_ST_IN_PROGRESS ? HM_E_ALREADY_CLAIMED
                                                                    : HM_E_INVALID_TRANSITION,
                "status", "this request is %s; it cannot be claimed", hm_status_name(from));
        actor = HM_ACT_HOLDER;
    } else if ((actor & HM_ACT_HOLDER) && r->team_id != c->actor_team) {
        /* A volunteer acts only on what its own team holds. */
        actor &= ~HM_ACT_HOLDER;
        if (!actor)
            return hm_error_set(err, HM_E_FORBIDDEN, NULL, "your team does not hold this request");
    }
    if ((rc = hm_transition_check(from, c->to, actor, err)) != HM_OK)
        return rc;
    /* The holding team stays on record through in_progress and resolved (and a cancellation),
     * and leaves when the request opens again. */
    if (c->to == HM_ST_ASSIGNED)
        team = c->assign_team;
    else if (c->to != HM_ST_NEW && c->to != HM_ST_DUPLICATE)
        team = r->team_id;
    if (c->to == HM_ST_DUPLICATE && (rc = merge_check(st, r, c->duplicate_of, err)))
        return rc;
    if (c->to == HM_ST_ASSIGNED && !c->claim && (rc = check_assignee(st, team, err)))
        return rc;
    if (c->to == HM_ST_ASSIGNED && team != r->team_id) {
        int64_t open = 0;
        int cap = c->core->cfg.claim_cap;
        if (team <= 0)
            return hm_error_set(err, HM_E_INVALID_FIELD, "team_id", "team_id is required");
        /* Two servers assigning to one team at once: one counts after the other commits. */
        if ((rc = hm_store_lock(st, HM_LOCK_TEAM, team, err)) ||
            (rc = hm_store_team_open_count(st, team, &open, err)) != HM_OK)
            return rc;
        if (cap > 0 && open >= cap)
            return hm_error_set(err, HM_E_CLAIM_LIMIT, "team_id",
                                "the team already holds %lld open requests (the limit is %d)",
                                (long long)open, cap);
    }
    /* A volunteer team giving back what it held: counted for holds once committed. */
    if (c->to == HM_ST_NEW && (from == HM_ST_ASSIGNED || from == HM_ST_IN_PROGRESS) &&
        actor == HM_ACT_HOLDER && c->actor_team > 0 && r->team_id == c->actor_team)
        c->priv.released_by = c->actor_team;
    rc = hm_store_request_set_status(st, r->id, from, c->to, team,
                                     c->to == HM_ST_DUPLICATE ? c->duplicate_of : NULL, now, err);
    if (rc)
        return rc;
    {
        /* The status entry names what moved with it: the team a request came from and the
         * team it went to, or the request it duplicates (issue 14); a resolution, what the
         * team delivered (or that it said nothing), and the resident is asked again: an
         * earlier receipt spoke of an earlier delivery (issue 17). */
        hm_history h;
        hm_buf detail;
        hm_buf_init(&detail);
        memset(&h, 0, sizeof h);
        h.at = now;
        snprintf(h.actor, sizeof h.actor, "%s", c->actor_name);
        h.from = from;
        h.to = c->to;
        h.note = c->note;
        snprintf(h.kind, sizeof h.kind, "%s", c->safe ? "safe" : "status");
        if (c->to == HM_ST_ASSIGNED && team != r->team_id) {
            snprintf(h.field, sizeof h.field, "team");
            h.old_value = team_name(st, r->team_id);
            h.new_value = team_name(st, team);
        } else if (c->to == HM_ST_DUPLICATE) {
            snprintf(h.field, sizeof h.field, "duplicate_of");
            h.new_value = hm_xstrdup(c->duplicate_of);
        }
        rc = HM_OK;
        if (c->to == HM_ST_RESOLVED) {
            if (c->delivered)
                hm_chain_detail_delivery(c->delivered_vnd, c->delivered_items, &detail);
            h.detail = detail.data;
            rc = hm_store_request_set_delivery(st, r->id, c->delivered, c->delivered_vnd, err);
        }
        if (!rc)
            rc = hm_store_history_add(st, r->id, &h, err);
        h.note = NULL;
        h.detail = NULL;
        hm_history_clear(&h);
        hm_buf_clear(&detail);
        if (rc)
            return rc;
    }
    if (c->safe && (rc = hm_store_request_set_safe(st, r->id, now, err)))
        return rc;
    before = *r; /* shallow: only its counted fields are read */
    if (c->to == HM_ST_RESOLVED) {
        r->delivered = c->delivered;
        r->delivered_vnd = c->delivered ? c->delivered_vnd : -1;
        r->receipt = HM_RCPT_NONE;
        r->receipt_vnd = -1;
        r->receipt_at = 0;
    }
    {
        int64_t old_team = r->team_id;
        r->status = c->to;
        r->team_id = team;
        r->updated_at = r->status_at = now;
        r->safe_at = c->safe ? now : 0; /* any move ends an earlier "safe" closing */
        if (c->to == HM_ST_DUPLICATE)
            snprintf(r->duplicate_of, sizeof r->duplicate_of, "%s", c->duplicate_of);
        else
            r->duplicate_of[0] = '\0';
        if (team != old_team) {
            team_busy_update(c, st, team, true);
            team_busy_update(c, st, old_team, false);
        } else if (!hm_status_is_open(c->to)) {
            team_busy_update(c, st, old_team, false);
        }
    }
    /* A coordinator's assignment is announced on the team's own stream. */
    if ((rc = hm_core__record_request_ex(
             st, r, &before, c->to == HM_ST_ASSIGNED && !c->claim ? HM_CHF_ASSIGNED : 0, err)))
        return rc;
    if (c->to == HM_ST_DUPLICATE && (rc = merge_into(st, c, r, now, err)))
        return rc;
    for (size_t i = 0; i < c->priv.n_teams; i++)
        if ((rc = hm_core__record_team(st, &c->priv.teams[i], false, err)))
            return rc;
    return HM_OK;
}

/* After the commit of a move: a release by a volunteer team counts towards its hold. */
static void change_after(hm_job *job)
{
    hm_change_op *c = (hm_change_op *)job;
    if (c->priv.released_by > 0 &&
        hm_holds__release(c->core->holds, c->priv.released_by, hm_now_ms()))
        hm_log(HM_LOG_WARN, "event=team_held team_id=%lld", (long long)c->priv.released_by);
}

/* Start `op` for `code_text` moved to `to` by `a`. */
static int change_init(hm_core *c, const hm_actor *a, const char *code_text, int to, char *note,
                       hm_change_op *op, hm_error *err)
{
    memset(op, 0, sizeof *op);
    op->core = c;
    op->note = note;
    op->to = to;
    op->job.run = change_run;
    op->job.after = change_after;
    if (hm_code_normalize(code_text, c->cfg.code_prefix, op->code, sizeof op->code, err))
        return HM_E_NOT_FOUND;
    op->actor = hm_policy_actor_kind(a->role);
    op->actor_team = a->team.id;
    snprintf(op->actor_name, sizeof op->actor_name, "%s", a->team.name);
    return HM_OK;
}

int hm_core_claim(hm_core *c, const hm_actor *a, const char *code_text, hm_change_op *op,
                  hm_error *err)
{
    int rc;
    if ((rc = hm_policy_require(a, HM_ROLE_VOLUNTEER, err)))
        return rc;
    if (a->role == HM_ROLE_OPERATOR)
        return hm_error_set(err, HM_E_FORBIDDEN, NULL, "operators do not claim requests");
    if ((rc = change_init(c, a, code_text, HM_ST_ASSIGNED, NULL, op, err)))
        return rc;
    if (a->role == HM_ROLE_VOLUNTEER) {
        int64_t now = hm_now_ms(), until = hm_holds__until(c->holds, a->team.id, now);
        if (until > 0) {
            hm_error_set(err, HM_E_RATE_LIMITED, NULL,
                         "your team claimed and released too many requests within an hour; "
                         "claims are paused, ask the command center");
            if (err)
                err->retry_after_s = (int)((until - now + 999) / 1000);
            return HM_E_RATE_LIMITED;
        }
    }
    op->claim = true;
    op->assign_team = a->team.id;
    return HM_OK;
}

int hm_core_move(hm_core *c, const hm_actor *a, const char *code_text, int to,
                 const char *duplicate_of_text, char *note, hm_change_op *op, hm_error *err)
{
    int rc;
    if ((rc = hm_policy_require(a, HM_ROLE_VOLUNTEER, err))) {
        free(note);
        return rc;
    }
    if (a->role == HM_ROLE_OPERATOR) {
        free(note);
        return hm_error_set(err, HM_E_FORBIDDEN, NULL,
                            "operators cancel or verify; teams and coordinators move requests");
    }
    if (to == HM_ST_ASSIGNED) {
        free(note);
        return hm_error_set(err, HM_E_INVALID_FIELD, "status",
                            "use /claim or /assign to assign a request");
    }
    if ((rc = change_init(c, a, code_text, to, note, op, err)))
        return rc;
    if (duplicate_of_text && hm_code_normalize(duplicate_of_text, c->cfg.code_prefix,
                                               op->duplicate_of, sizeof op->duplicate_of, NULL))
        return hm_error_set(err, HM_E_INVALID_FIELD, "duplicate_of",
                            "duplicate_of must be a request code such as CC-4K7M2B");
    return HM_OK;
}

/* Cancel (`safe` false) or "I am safe now" (`safe` true) by the resident, an operator or a
 * coordinator. */
static int close_by(hm_core *c, const hm_actor *a, const char *code_text,
                    const char *const tracking[2], char *note, bool safe, hm_change_op *op,
                    hm_error *err)
{
    hm_request req;
    uint8_t hash[32];
    unsigned view, kind;
    hm_worker *w;
    int rc;

    if ((rc = change_init(c, a, code_text, HM_ST_CANCELLED, note, op, err)))
        return rc;
    /* Who is cancelling: the tracking token is checked on a read connection before the write
     * (a token never changes, so there is nothing to race with). */
    memset(&req, 0, sizeof req);
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    rc = hm_store_request_get(w->store, op->code, &req, hash, err);
    if (!rc)
        rc = hm_policy_access(a, tracking, &req, hash, &view, &kind, err);
    hm_request_clear(&req);
    if (rc)
        return rc;
    if (kind & HM_ACT_RESIDENT) {
        op->actor = HM_ACT_RESIDENT;
        op->actor_team = 0;
        snprintf(op->actor_name, sizeof op->actor_name, "resident");
    } else if (a->role == HM_ROLE_VOLUNTEER) {
        return hm_error_set(err, HM_E_FORBIDDEN, NULL,
                            safe ? "only the resident or an operator on a call marks a request safe"
                                 : "volunteer teams release a request instead of cancelling it");
    }
    op->safe = safe;
    return HM_OK;
}

int hm_core_cancel(hm_core *c, const hm_actor *a, const char *code_text,
                   const char *const tracking[2], char *note, hm_change_op *op, hm_error *err)
{
    return close_by(c, a, code_text, tracking, note, false, op, err);
}

int hm_core_safe(hm_core *c, const hm_actor *a, const char *code_text,
                 const char *const tracking[2], char *note, hm_change_op *op, hm_error *err)
{
    return close_by(c, a, code_text, tracking, note, true, op, err);
}

int hm_core_assign(hm_core *c, const hm_actor *a, const char *code_text, int64_t team_id,
                   char *note, hm_change_op *op, hm_error *err)
{
    int rc;
    if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err))) {
        free(note);
        return rc;
    }
    if ((rc = change_init(c, a, code_text, HM_ST_ASSIGNED, note, op, err)))
        return rc;
    op->assign_team = team_id;
    return HM_OK;
}

int hm_core_move_delivered(hm_change_op *op, json_t *delivered, hm_error *err)
{
    json_t *v;
    const char *items;
    if (!delivered || json_is_null(delivered))
        return HM_OK;
    if (!json_is_object(delivered))
        return hm_error_set(err, HM_E_INVALID_FIELD, "delivered",
                            "delivered must be an object {amount_vnd, items}");
    if (op->to != HM_ST_RESOLVED)
        return hm_error_set(err, HM_E_INVALID_FIELD, "delivered",
                            "delivered goes with status resolved");
    op->delivered = true;
    op->delivered_vnd = -1;
    v = json_object_get(delivered, "amount_vnd");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
            return hm_error_set(err, HM_E_INVALID_FIELD, "delivered",
                                "delivered.amount_vnd must be a whole number of đồng from 0 to "
                                "1,000,000,000");
        op->delivered_vnd = (int64_t)json_integer_value(v);
    }
    v = json_object_get(delivered, "items");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
            !hm_text_ok(items = json_string_value(v), 200) || hm_text_has_bidi(items))
            return hm_error_set(err, HM_E_INVALID_FIELD, "delivered",
                                "delivered.items must be at most 200 characters of plain text");
        while (*items == ' ' || *items == '\n' || *items == '\t' || *items == '\r')
            items++;
        if (*items)
            op->delivered_items = hm_xstrdup(items);
    }
    return HM_OK;
}

void hm_change_op_clear(hm_change_op *op)
{
    hm_request_clear(&op->result);
    hm_request_clear(&op->merged);
    free(op->note);
    free(op->delivered_items);
    op->note = op->delivered_items = NULL;
}

/* ---- claim time-outs (writer tick) ----------------------------------------------------- */

typedef struct expired {
    int64_t *ids;
    size_t n, cap;
    int64_t before;
} expired;

static int find_expired(void *ctx, const hm_request *r)
{
    expired *e = ctx;
    if (r->status_at >= e->before)
        return 0;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 32;
        e->ids = hm_xrealloc(e->ids, e->cap * sizeof *e->ids);
    }
    e->ids[e->n++] = r->id;
    return 0;
}

void hm_core__claim_timeouts(hm_core *c, hm_store *st, int64_t now)
{
    hm_request_filter f;
    expired e = {0};
    hm_error err = {0};

    hm_request_filter_init(&f);
    f.status_mask = 1u << HM_ST_ASSIGNED;
    e.before = now - (int64_t)c->cfg.claim_timeout_s * 1000;
    if (hm_store_request_list(st, &f, find_expired, &e, &err) == HM_OK) {
        for (size_t i = 0; i < e.n; i++) {
            hm_request r;
            hm_change_op op;
            memset(&op, 0, sizeof op);
            if (hm_store_request_get_id(st, e.ids[i], &r, NULL) != HM_OK)
                continue;
            op.core = c;
            op.job.run = change_run;
            snprintf(op.code, sizeof op.code, "%s", r.code);
            hm_request_clear(&r);
            op.to = HM_ST_NEW;
            op.actor = HM_ACT_SYSTEM;
            snprintf(op.actor_name, sizeof op.actor_name, "system");
            op.note = hm_xstrdup("claim not started in time; open again");
            op.priv.expire_before = e.before;
            /* Started or released meanwhile: the job refuses and nothing changes. */
            if (hm_writer_run_here(st, &op.job) == HM_OK) {
                hm_core__committed(st, c);
                hm_log(HM_LOG_INFO, "event=claim_timeout request_id=%lld", (long long)op.result.id);
            }
            hm_change_op_clear(&op);
        }
    }
    free(e.ids);
}

/* ---- verification and reveals ------------------------------------------------------------ */

/* The notes of verifications that the program writes when the operator wrote none. */
#define VERIFY_YES "verified by call-back"
#define VERIFY_NO  "marked not verified"

static int verify_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_mark_op *m = (hm_mark_op *)job;
    int64_t now = hm_now_ms();
    hm_request r;
    int rc;

    hm_history h;

    if ((rc = hm_store_request_get(st, m->code, &r, NULL, err)))
        return rc;
    rc = hm_store_request_set_verified(st, r.id, m->verified, now, err);
    memset(&h, 0, sizeof h);
    h.at = now;
    snprintf(h.actor, sizeof h.actor, "%s", m->actor_name);
    h.from = h.to = -1;
    snprintf(h.kind, sizeof h.kind, "verify");
    h.note = m->note ? m->note : (char *)(m->verified ? VERIFY_YES : VERIFY_NO);
    if (m->outcome[0]) {
        snprintf(h.field, sizeof h.field, "outcome");
        h.new_value = m->outcome;
    }
    if (!rc)
        rc = hm_store_history_add(st, r.id, &h, err);
    if (!rc) {
        hm_request_clear(&m->result);
        rc = hm_store_request_get_id(st, r.id, &m->result, err);
    }
    /* `verified` is in the index's copy and in tiles; the counts do not move. */
    if (!rc)
        rc = hm_core__record_request(st, &m->result, &r, err);
    hm_request_clear(&r);
    return rc;
}

int hm_core_verify(hm_core *c, const hm_actor *a, const char *code_text, json_t *body,
                   hm_mark_op *op, hm_error *err)
{
    static const char *const outcomes[] = {"reached", "unreachable", "no_longer_needed",
                                           "false_report"};
    json_t *v;
    int rc;
    memset(op, 0, sizeof *op);
    op->core = c;
    op->job.run = verify_run;
    op->verified = true;
    if ((rc = hm_policy_require(a, HM_ROLE_OPERATOR, err)))
        return rc;
    if (body) {
        const char *key;
        json_object_foreach(body, key, v)
        {
            if (strcmp(key, "verified") && strcmp(key, "outcome") && strcmp(key, "note"))
                /* err->field borrows the key from `body`: rendered before it is freed. */
                return hm_error_set(err, HM_E_INVALID_FIELD, key,
                                    "unknown field %.40s: verify takes verified, outcome and note",
                                    key);
        }
        v = json_object_get(body, "verified");
        if (v && !json_is_boolean(v))
            return hm_error_set(err, HM_E_INVALID_FIELD, "verified",
                                "verified must be true or false");
        if (v)
            op->verified = json_is_true(v);
        v = json_object_get(body, "outcome");
        if (v && !json_is_null(v)) {
            size_t i, n = sizeof outcomes / sizeof outcomes[0];
            for (i = 0; i < n; i++)
                if (json_is_string(v) && strcmp(json_string_value(v), outcomes[i]) == 0)
                    break;
            if (i == n)
                return hm_error_set(err, HM_E_INVALID_FIELD, "outcome",
                                    "outcome must be reached, unreachable, no_longer_needed or "
                                    "false_report");
            snprintf(op->outcome, sizeof op->outcome, "%s", outcomes[i]);
        }
        if ((rc = hm_validate_text(body, "note", 500, &op->note, err)))
            return rc;
    }
    if (hm_code_normalize(code_text, c->cfg.code_prefix, op->code, sizeof op->code, err))
        return HM_E_NOT_FOUND;
    snprintf(op->actor_name, sizeof op->actor_name, "%s", a->team.name);
    return HM_OK;
}

typedef struct hist_list {
    hm_history *items;
    size_t n, cap;
    unsigned view; /* HM_VIEW_* of the viewer */
    /* The chain, checked on the entries as stored, before anything is hidden (issue 17). */
    const char *code;
    char prev[65];
    hm_chain_state chain;
    char *items_text; /* the last delivery's items (contact view) */
} hist_list;

/* Whether a viewer with `view` is shown the note of history entry `h`. Notes are written by
 * people — the resident's own words, a team's "called +849..., house no. 12", a coordinator's
 * — and may hold contact data, so only viewers of contact data see them (issue 11: volunteers
 * that never held a request read its teams' notes). Texts the program writes itself (claim
 * time-outs, reveals, a verification without the operator's own note, purges) are shown to
 * anyone who may read the request. A "repeat" (an unverified caller's words, added to a
 * request by a public repeat of its phone) is for the request's handlers, never for its
 * resident: whoever knows a phone number must not be able to write on that resident's
 * tracking page. */
static bool note_visible(const hm_history *h, unsigned view)
{
    if (!h->note)
        return false;
    if (strcmp(h->kind, "repeat") == 0)
        return (view & HM_VIEW_CONTACT) && !(view & HM_VIEW_RESIDENT);
    if (view & HM_VIEW_CONTACT)
        return true;
    if (strcmp(h->kind, "verify") == 0) /* an operator's own words are like a team's */
        return strcmp(h->note, VERIFY_YES) == 0 || strcmp(h->note, VERIFY_NO) == 0;
    return strcmp(h->actor, "system") == 0 || strcmp(h->kind, "reveal") == 0 ||
           strcmp(h->kind, "purge") == 0;
}

static int add_hist(void *ctx, const hm_history *h)
{
    hist_list *l = ctx;
    hm_history *e;
    bool show, contact = (l->view & HM_VIEW_CONTACT) != 0;
    if (l->chain.verified) {
        const char *why = hm_chain_check(l->code, l->prev, h);
        if (why) {
            l->chain.verified = false;
            l->chain.broken_at = l->n;
            l->chain.why = why;
        }
    }
    snprintf(l->prev, sizeof l->prev, "%s", h->hash);
    if (contact && h->to == HM_ST_RESOLVED) {
        /* What the last delivery listed, for the request's `delivered`. */
        json_t *d = h->detail ? json_loads(h->detail, 0, NULL) : NULL;
        const char *items = json_string_value(json_object_get(d, "items"));
        free(l->items_text);
        l->items_text = items ? hm_xstrdup(items) : NULL;
        json_decref(d);
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = hm_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    e = &l->items[l->n++];
    *e = *h;
    /* Entries marked contact (edits of contact fields, merged notes) show their note and values
     * only to viewers of contact data; the values of other edits (a category, a number of
     * people) to anyone who may read the request, unless a resident wrote them. */
    show = contact || (strcmp(h->actor, "resident") != 0 && !h->contact);
    e->note = show && note_visible(h, l->view) ? hm_xstrdup(h->note) : NULL;
    e->old_value = h->old_value && show ? hm_xstrdup(h->old_value) : NULL;
    e->new_value = h->new_value && show ? hm_xstrdup(h->new_value) : NULL;
    /* The facts of receipts and deliveries are contact data too. */
    e->detail = h->detail && contact ? hm_xstrdup(h->detail) : NULL;
    /* A text's SHA-256 goes with the text: a phone number's would be found by trying them
     * all. (Viewers of contact data keep the hash of a note they are not shown, an unverified
     * caller's "repeat" hidden from the resident: without it they could not check the chain.) */
    if (!contact) {
        if (!e->note)
            e->note_sha256[0] = '\0';
        if (!e->old_value)
            e->old_sha256[0] = '\0';
        if (!e->new_value)
            e->new_sha256[0] = '\0';
        e->salt[0] = '\0';
    }
    return 0;
}

static void hist_free(hm_history *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hm_history_clear(&items[i]);
    free(items);
}

/* The history of request `id` (code `code`) as a viewer with `view` sees it (note_visible),
 * its chain checked into *chain (a broken chain is logged) and the last delivery's items into
 * *items (malloc'd or NULL; contact only). */
static int read_history(hm_store *st, int64_t id, const char *code, unsigned view, hm_history **out,
                        size_t *n, hm_chain_state *chain, char **items, hm_error *err)
{
    hist_list l;
    int rc;

    memset(&l, 0, sizeof l);
    l.view = view;
    l.code = code;
    l.chain.verified = true;
    if ((rc = hm_store_history_list(st, id, add_hist, &l, err))) {
        hist_free(l.items, l.n);
        free(l.items_text);
        return rc;
    }
    if (!l.chain.verified)
        hm_log(HM_LOG_WARN, "event=history_broken code=%s entry=%zu of=%zu why=\"%s\"", code,
               l.chain.broken_at + 1, l.n, l.chain.why);
    *out = l.items;
    *n = l.n;
    *chain = l.chain;
    free(*items);
    *items = l.items_text;
    return HM_OK;
}

static int reveal_run(hm_store *st, hm_job *job, hm_error *err)
{
    hm_mark_op *m = (hm_mark_op *)job;
    int64_t now = hm_now_ms(), shown = 0;
    int rc;
    for (size_t i = 0; i < m->n_ids; i++) {
        bool seen = false;
        if ((rc = hm_store_reveal_seen(st, m->ids[i], m->actor_name, now - DAY_MS, &seen, err)))
            return rc;
        if (!seen &&
            (rc = hm_store_history_append(st, m->ids[i], now, m->actor_name, -1, -1,
                                          "contact details viewed", "reveal", err)) != HM_OK)
            return rc;
        shown += !seen;
    }
    /* The audit log has each reveal the histories record, in the same transaction. */
    if (shown > 0) {
        hm_audit a;
        memset(&a, 0, sizeof a);
        a.at = now;
        snprintf(a.kind, sizeof a.kind, "reveal");
        snprintf(a.actor, sizeof a.actor, "%s", m->actor_name);
        a.actor_team_id = a.team_id = m->actor_team;
        a.rows = shown;
        snprintf(a.detail, sizeof a.detail, "%s", m->code[0] ? m->code : m->list);
        if ((rc = hm_store_audit_add(st, &a, err)))
            return rc;
    }
    /* A read that recorded its reveal answers with the history that holds it. */
    if (m->n_ids == 1 && m->history == NULL && m->contact)
        return read_history(st, m->ids[0], m->code, HM_VIEW_CONTACT, &m->history, &m->n_history,
                            &m->chain, &m->delivered_items, err);
    return HM_OK;
}

/* `code`: the one request read, or NULL for a list, which `list` names in the audit log. */
static void reveal_init(hm_mark_op *m, hm_core *c, const int64_t *ids, size_t n, const hm_actor *a,
                        const char *code, const char *list)
{
    memset(m, 0, sizeof *m);
    m->core = c;
    m->ids = hm_xmalloc((n ? n : 1) * sizeof *ids);
    memcpy(m->ids, ids, n * sizeof *ids);
    m->n_ids = n;
    snprintf(m->actor_name, sizeof m->actor_name, "%s", a->team.name);
    m->actor_team = a->team.id;
    snprintf(m->code, sizeof m->code, "%s", code ? code : "");
    m->list = list ? list : "";
    m->job.run = reveal_run;
}

void hm_mark_op_clear(hm_mark_op *op)
{
    hm_request_clear(&op->result);
    free(op->note);
    op->note = NULL;
    free(op->ids);
    op->ids = NULL;
    hist_free(op->history, op->n_history);
    op->history = NULL;
    op->n_history = 0;
    free(op->delivered_items);
    op->delivered_items = NULL;
}

/* ---- reads ----------------------------------------------------------------------------- */

int hm_core_request_read(hm_core *c, const hm_actor *a, const char *code_text,
                         const char *const tracking[2], hm_request_view *out, hm_error *err)
{
    char code[16];
    uint8_t hash[32];
    unsigned kind;
    hm_worker *w;
    bool seen = true;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = hm_code_normalize(code_text, c->cfg.code_prefix, code, sizeof code, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    if ((rc = hm_store_request_get(w->store, code, &out->req, hash, err)) ||
        (rc = hm_policy_access(a, tracking, &out->req, hash, &out->view, &kind, err)))
        return rc;
    hm_core__team_name(c, w->store, out->req.team_id, out->team_name, sizeof out->team_name);
    /* Contact shown to a team: recorded, at most once a day per viewer. */
    if ((out->view & HM_VIEW_CONTACT) && !(kind & HM_ACT_RESIDENT) &&
        (rc = hm_store_reveal_seen(w->store, out->req.id, a->team.name, hm_now_ms() - DAY_MS, &seen,
                                   err)))
        return rc;
    if (!seen) {
        reveal_init(&out->reveal, c, &out->req.id, 1, a, out->req.code, NULL);
        out->reveal.contact = true;
        snprintf(out->reveal.code, sizeof out->reveal.code, "%s", out->req.code);
        out->pending = &out->reveal.job;
        return HM_OK;
    }
    return read_history(w->store, out->req.id, out->req.code, out->view, &out->history,
                        &out->n_history, &out->chain, &out->delivered_items, err);
}

const hm_history *hm_request_view_history(const hm_request_view *v, size_t *n)
{
    if (v->pending) {
        *n = v->reveal.n_history;
        return v->reveal.history;
    }
    *n = v->n_history;
    return v->history;
}

const hm_chain_state *hm_request_view_chain(const hm_request_view *v)
{
    return v->pending ? &v->reveal.chain : &v->chain;
}

json_t *hm_request_view_json(hm_core *c, const hm_request_view *v)
{
    const hm_chain_state *chain = hm_request_view_chain(v);
    const char *items = v->pending ? v->reveal.delivered_items : v->delivered_items;
    const hm_history *h;
    size_t n;
    json_t *o = hm_core_request_json(c, &v->req, v->view, false), *list = json_array();

    h = hm_request_view_history(v, &n);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, hm_history_json(&h[i]));
    if (items && json_is_object(json_object_get(o, "delivered")))
        json_object_set_new(json_object_get(o, "delivered"), "items", json_string(items));
    /* Who has it (the resident's tracking page names the team, issue 15). */
    json_object_set_new(o, "team_name", v->team_name[0] ? json_string(v->team_name) : json_null());
    json_object_set_new(o, "history", list);
    json_object_set_new(o, "history_verified", json_boolean(chain->verified));
    if (!chain->verified) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "history entry %zu does not match its hash chain (%s): the history was changed "
                 "outside helpmap; do not rely on it",
                 chain->broken_at + 1, chain->why);
        json_object_set_new(o, "history_warning", json_string(msg));
        json_object_set_new(o, "history_broken_at", json_integer((json_int_t)chain->broken_at));
    }
    return o;
}

void hm_request_view_clear(hm_request_view *v)
{
    hm_request_clear(&v->req);
    hist_free(v->history, v->n_history);
    v->history = NULL;
    v->n_history = 0;
    free(v->delivered_items);
    v->delivered_items = NULL;
    hm_mark_op_clear(&v->reveal);
}

int hm_core_parse_status_filter(const char *s, unsigned *mask, hm_error *err)
{
    int st;
    if (!s || strcmp(s, "open") == 0)
        *mask = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    else if (strcmp(s, "all") == 0)
        *mask = 0;
    else if ((st = hm_status_parse(s)) >= 0)
        *mask = 1u << st;
    else
        return hm_error_set(err, HM_E_INVALID_FIELD, "status",
                            "status must be open, all or one status name");
    return HM_OK;
}

typedef struct list_ctx {
    hm_request_cb cb;
    void *ctx;
    hm_list *out;
    int64_t *ids; /* contact data listed: the requests to record */
    /* The public's box, on the snapped positions it is shown (issue 11): the query box is
     * wider and each row is kept when its snapped point lies in `box` (edges included), at
     * most `limit` (0: all). */
    bool snap_box;
    double box[4];
    size_t limit;
} list_ctx;

/* list_visit's "enough rows": ends the walk without an error. */
#define LIST_FULL 0x7fff0001

/* Whether the snapped coordinate of `v` (a whole number of grid steps) lies in [lo, hi]: in
 * grid steps, so that an edge written as the grid line itself ("106.493") includes the point
 * whatever the last bit of its double. */
static bool snapped_in(double v, double lo, double hi)
{
    double k = round(v * 1000.0);
    return k >= ceil(lo * 1000.0 - 1e-6) && k <= floor(hi * 1000.0 + 1e-6);
}

static int list_visit(void *ctx, const hm_request *q)
{
    list_ctx *l = ctx;
    int rc;
    if (l->snap_box &&
        (!snapped_in(q->lon, l->box[0], l->box[2]) || !snapped_in(q->lat, l->box[1], l->box[3])))
        return 0;
    if (l->ids)
        l->ids[l->out->n] = q->id;
    l->out->n++;
    l->out->last_id = q->id;
    rc = l->cb(l->ctx, q);
    if (rc == 0 && l->limit && l->out->n >= l->limit)
        return LIST_FULL;
    return rc;
}

/* The filters of a public list narrowed to what public answers show, so that no filter
 * reveals more than the answer does (issue 11): a box selects requests by their snapped
 * position, never by the exact one (moving an edge across a home changes nothing until it
 * crosses a 0.001 degree grid line), and `since` compares with the whole second that
 * updated_at shows. The other public filters (status, category, ward, former_ward, hamlet,
 * priority, source, verified, order, cursor, limit) are on fields every public answer
 * carries. */
static void public_filter(hm_request_filter *f, list_ctx *l)
{
    /* A snapped coordinate is within half a grid step of the exact one; a full step of
     * margin keeps rounding at the edges out of the question. */
    const double margin = 0.001;
    if (f->has_bbox) {
        l->snap_box = true;
        memcpy(l->box, f->bbox, sizeof l->box);
        l->limit = f->limit;
        f->limit = 0;
        f->bbox[0] = f->bbox[0] - margin < -180 ? -180 : f->bbox[0] - margin;
        f->bbox[1] = f->bbox[1] - margin < -90 ? -90 : f->bbox[1] - margin;
        f->bbox[2] = f->bbox[2] + margin > 180 ? 180 : f->bbox[2] + margin;
        f->bbox[3] = f->bbox[3] + margin > 90 ? 90 : f->bbox[3] + margin;
    }
    if (f->since_ms > 0)
        f->since_ms = (f->since_ms + 999) / 1000 * 1000;
}

int hm_core_list(hm_core *c, const hm_actor *a, hm_request_filter *filter, const char *phone_text,
                 hm_request_cb cb, void *ctx, hm_list *out, hm_error *err)
{
    const unsigned open = 1u << HM_ST_NEW | 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    char phone[24];
    list_ctx l = {cb, ctx, out, NULL, false, {0, 0, 0, 0}, 0};
    hm_request_filter fl = *filter, *f = &fl;
    hm_worker *w;
    int rc;

    memset(out, 0, sizeof *out);
    out->view = a->role == HM_ROLE_PUBLIC ? HM_VIEW_SNAP : 0;
    if (f->flagged) {
        /* Residents' reports of what did not arrive, with the team's delivery (issue 17). */
        if ((rc = hm_policy_require(a, HM_ROLE_COORDINATOR, err)))
            return rc;
        out->view |= HM_VIEW_RECEIPT;
    }
    if (f->q && a->role < HM_ROLE_OPERATOR)
        return hm_error_set(err, a->role == HM_ROLE_PUBLIC ? HM_E_UNAUTHORIZED : HM_E_FORBIDDEN,
                            "q", "searching notes and addresses needs an operator token");
    if (a->role == HM_ROLE_PUBLIC)
        public_filter(f, &l);
    if (phone_text) {
        if (a->role < HM_ROLE_OPERATOR)
            return hm_error_set(err, a->role == HM_ROLE_PUBLIC ? HM_E_UNAUTHORIZED : HM_E_FORBIDDEN,
                                "phone", "looking up a phone number needs an operator token");
        if ((rc = hm_phone_normalize(phone_text, phone, sizeof phone, err)))
            return rc;
        f->phone = phone;
        out->view |= HM_VIEW_CONTACT;
        l.ids = hm_xmalloc((f->limit ? f->limit : 1) * sizeof *l.ids);
    }
    /* Without contact data the open requests come from memory (issue 7); the rest from the
     * database. */
    if (!f->phone && !f->q && !f->duplicate_of && !f->flagged && f->status_mask &&
        !(f->status_mask & ~open)) {
        rc = hm_open_index_walk(c->open, f, true, list_visit, &l);
    } else if (!(w = hm_worker_get(err))) {
        rc = err ? err->code : HM_E_INTERNAL;
    } else {
        rc = hm_store_request_list(w->store, f, list_visit, &l, err);
    }
    if (rc == LIST_FULL)
        rc = HM_OK;
    if (rc == HM_OK && l.ids && out->n > 0) {
        /* An operator saw contact data: recorded before the answer goes out. */
        out->reveal = hm_xmalloc(sizeof *out->reveal);
        reveal_init(out->reveal, c, l.ids, out->n, a, NULL, "phone lookup");
    }
    free(l.ids);
    return rc;
}

static int held_visit(void *ctx, const hm_request *q)
{
    return list_visit(ctx, q);
}

int hm_core_team_requests(hm_core *c, const hm_actor *a, hm_request_cb cb, void *ctx, hm_list *out,
                          hm_error *err)
{
    hm_request_filter f;
    list_ctx l = {cb, ctx, out, NULL, false, {0, 0, 0, 0}, 0};
    hm_worker *w;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = hm_policy_require(a, HM_ROLE_VOLUNTEER, err)))
        return rc;
    if (!(w = hm_worker_get(err)))
        return err ? err->code : HM_E_INTERNAL;
    hm_request_filter_init(&f);
    f.team_id = a->team.id;
    f.status_mask = 1u << HM_ST_ASSIGNED | 1u << HM_ST_IN_PROGRESS;
    f.limit = 1000;
    out->view = HM_VIEW_CONTACT;
    l.ids = hm_xmalloc(f.limit * sizeof *l.ids);
    rc = hm_store_request_list(w->store, &f, held_visit, &l, err);
    (void)c;
    if (rc == HM_OK && out->n > 0) {
        /* The team sees the contact data of what it holds: each one recorded (SPEC). */
        out->reveal = hm_xmalloc(sizeof *out->reveal);
        reveal_init(out->reveal, c, l.ids, out->n, a, NULL, "held requests");
    }
    free(l.ids);
    return rc;
}

void hm_list_clear(hm_list *l)
{
    if (l->reveal) {
        hm_mark_op_clear(l->reveal);
        free(l->reveal);
        l->reveal = NULL;
    }
}

int hm_core_nearby(hm_core *c, const hm_actor *a, double lon, double lat, double radius_m,
                   size_t limit, int category, hm_open_hit *out, size_t *n, hm_error *err)
{
    int rc;
    if ((rc = hm_policy_require(a, HM_ROLE_VOLUNTEER, err)))
        return rc;
    if (a->role == HM_ROLE_OPERATOR)
        return hm_error_set(err, HM_E_FORBIDDEN, NULL, "nearby is for teams and coordinators");
    /* The index keeps each open request without its contact data, which nearby does not
     * show: no database read (issue 7). */
    *n = hm_open_index_nearest(c->open, lon, lat, radius_m, limit, category, out);
    return HM_OK;
}
