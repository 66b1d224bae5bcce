/* history.h: the tamper-evident history as a whole (issue 17) — checking every request's chain
 * (`helpmap verify-history`) and the digest of all chains' heads that a district publishes
 * each day (`helpmap digest`) so that it can show later that nothing written before was
 * changed. The chain itself is chain.h; the server checks one request's chain each time it
 * reads it (requests.h). Runs on the caller's thread with the caller's store. */
#ifndef HM_HISTORY_H
#define HM_HISTORY_H

#include <stdint.h>

#include "hm_error.h"
#include "store.h"

typedef struct hm_history_report {
    int64_t chains, entries; /* walked */
    int64_t broken;          /* chains with an entry that does not match */
    /* The first entry that does not match (broken > 0): */
    char code[16];    /* its request */
    int64_t position; /* 1 for the request's first entry */
    int64_t entry_id;
    int64_t at;
    char kind[16];
    const char *why; /* static */
} hm_history_report;

/* Walk every chain of `st` in one read transaction into `rep`. HM_OK also when chains are
 * broken (rep->broken > 0); an error only when the store cannot be read. */
int hm_history_verify(hm_store *st, hm_history_report *rep, hm_error *err);

/* The digest of `st` (chain.h): SHA-256 of "CODE HEAD\n" per request in id order, HEAD the
 * hash of the request's last entry written before `before_ms` (0: every entry), as hex into
 * out[65]; *chains and *entries receive what it covers. */
int hm_history_digest(hm_store *st, int64_t before_ms, char out[65], int64_t *chains,
                      int64_t *entries, hm_error *err);

#endif
