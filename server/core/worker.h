/* worker.h: library contexts of one pool thread (store connection, GEOS
 * context), created on first use by that thread and destroyed by the
 * thread-key destructor when it exits. */
#ifndef HM_WORKER_H
#define HM_WORKER_H

#define GEOS_USE_ONLY_R_API
#include <geos_c.h>

#include "hm_error.h"
#include "store.h"

typedef struct hm_worker {
    hm_store *store;          /* own read connection and statement cache */
    GEOSContextHandle_t geos; /* errors go to geos_msg */
    char geos_msg[160];
} hm_worker;

/* Database the workers open; set once before threads start. */
void hm_worker_configure(const char *db_path);
/* This thread's worker; NULL with `err` filled when the database cannot be
 * opened. Never shared between threads. */
hm_worker *hm_worker_get(hm_error *err);
/* This thread's worker if it has one, else NULL; never creates it. */
hm_worker *hm_worker_peek(void);
/* The end of an HTTP request on this thread: its store connection must hold no half-run read
 * (it would pin an old snapshot, and later reads would miss new requests). Returns true when
 * all was well; false after ending such a read, with what it was in `what` (a bug to log). */
bool hm_worker_quiesce(char *what, size_t what_size);
/* Destroy this thread's worker now (the main thread before exit). */
void hm_worker_release(void);

#endif
