/* history.c: verifying every chain and the digest; see history.h. */
#include "history.h"

#include "chain.h"
#include "model.h"

#include <stdio.h>
#include <string.h>

typedef struct verify_ctx {
    hm_history_report *rep;
    int64_t request, position;
    bool request_broken;
    char prev[65];
} verify_ctx;

static int verify_entry(void *ctx, int64_t request_id, const char *code, const hm_history *h)
{
    verify_ctx *v = ctx;
    const char *why;
    if (request_id != v->request) {
        v->request = request_id;
        v->position = 0;
        v->prev[0] = '\0';
        v->request_broken = false;
        v->rep->chains++;
    }
    v->position++;
    v->rep->entries++;
    why = hm_chain_check(code, v->prev, h);
    snprintf(v->prev, sizeof v->prev, "%s", h->hash);
    if (!why || v->request_broken)
        return 0;
    v->request_broken = true;
    if (v->rep->broken++ == 0) {
        snprintf(v->rep->code, sizeof v->rep->code, "%s", code);
        v->rep->position = v->position;
        v->rep->entry_id = h->id;
        v->rep->at = h->at;
        snprintf(v->rep->kind, sizeof v->rep->kind, "%s", h->kind);
        v->rep->why = why;
    }
    return 0;
}

int hm_history_verify(hm_store *st, hm_history_report *rep, hm_error *err)
{
    verify_ctx v;
    int rc;

    memset(rep, 0, sizeof *rep);
    memset(&v, 0, sizeof v);
    v.rep = rep;
    v.request = -1;
    if ((rc = hm_store_begin(st, false, err)))
        return rc;
    rc = hm_store_history_walk(st, 0, INT64_MAX, verify_entry, &v, err);
    hm_store_rollback(st); /* a read: nothing to keep */
    return rc;
}

typedef struct digest_ctx {
    hm_sha256_ctx sha;
    int64_t before, request, chains, entries;
    char code[16], head[65];
} digest_ctx;

static void digest_flush(digest_ctx *d)
{
    if (d->request < 0 || !d->code[0])
        return;
    hm_sha256_update(&d->sha, d->code, strlen(d->code));
    hm_sha256_update(&d->sha, " ", 1);
    hm_sha256_update(&d->sha, d->head, strlen(d->head));
    hm_sha256_update(&d->sha, "\n", 1);
    d->chains++;
}

static int digest_entry(void *ctx, int64_t request_id, const char *code, const hm_history *h)
{
    digest_ctx *d = ctx;
    if (d->before > 0 && h->at >= d->before)
        return 0;
    if (request_id != d->request) {
        digest_flush(d);
        d->request = request_id;
        snprintf(d->code, sizeof d->code, "%s", code);
    }
    snprintf(d->head, sizeof d->head, "%s", h->hash);
    d->entries++;
    return 0;
}

int hm_history_digest(hm_store *st, int64_t before_ms, char out[65], int64_t *chains,
                      int64_t *entries, hm_error *err)
{
    digest_ctx d;
    uint8_t h[32];
    int rc;

    memset(&d, 0, sizeof d);
    hm_sha256_init(&d.sha);
    d.before = before_ms;
    d.request = -1;
    if ((rc = hm_store_begin(st, false, err)))
        return rc;
    rc = hm_store_history_walk(st, 0, INT64_MAX, digest_entry, &d, err);
    hm_store_rollback(st);
    if (rc)
        return rc;
    digest_flush(&d);
    hm_sha256_final(&d.sha, h);
    hm_hex(h, 32, out);
    *chains = d.chains;
    *entries = d.entries;
    return HM_OK;
}
