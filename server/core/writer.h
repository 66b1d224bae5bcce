/* writer.h: the single writer thread and its group commit. Owns the write
 * connection and the order of every change: jobs queued by any thread run
 * one after another inside one transaction per batch (each job in its own
 * savepoint, so a failing job changes nothing while its neighbours commit),
 * the batch is committed and fsynced once, then each job's `after` runs on
 * the writer thread (in-memory indexes, events) and its `notify` tells the
 * waiter. Thousands of durable inserts a second cost one fsync per batch. */
#ifndef HM_WRITER_H
#define HM_WRITER_H

#include <pthread.h>
#include <stdbool.h>

#include "hm_error.h"
#include "store.h"

typedef struct hm_writer hm_writer;
typedef struct hm_job hm_job;

struct hm_job {
    /* Runs inside the batch transaction on the writer thread. Returns HM_OK
     * or an hm_err with `err` filled; on error the job's changes are rolled
     * back. */
    int (*run)(hm_store *st, hm_job *job, hm_error *err);
    /* After a successful commit, on the writer thread; may be NULL. */
    void (*after)(hm_job *job);
    /* When the job is finished (rc and err final), on the writer thread;
     * NULL for hm_writer_run's synchronous waiting. The job must not be
     * touched by the writer after notify returns. */
    void (*notify)(hm_job *job);
    void *arg;
    bool exclusive; /* run in a batch of its own (area changes) */
    int rc;
    hm_error err;
    /* private */
    hm_job *next;
    bool finished;
};

/* Start the writer on database `path`. `tick` (may be NULL) is called on the writer thread
 * every `tick_ms` outside any transaction, for time-outs; `committed` (may be NULL) after each
 * batch committed, before the jobs' `after` and `notify` (the changes the batch recorded are
 * then in hm_store_changes_done()). Both get `ctx`. Returns NULL with `err` filled. */
hm_writer *hm_writer_start(const char *path, void (*tick)(hm_store *st, void *ctx),
                           void (*committed)(hm_store *st, void *ctx), void *ctx, int tick_ms,
                           hm_error *err);
/* Finish queued jobs, stop the thread, close the connection. Jobs submitted
 * afterwards finish at once with HM_E_UNAVAILABLE. Accepts NULL. */
void hm_writer_stop(hm_writer *w);
/* Free a stopped writer. Accepts NULL. */
void hm_writer_destroy(hm_writer *w);
/* Queue `job`; its notify is called when done. Thread-safe. */
void hm_writer_submit(hm_writer *w, hm_job *job);
/* Queue `job` and wait for it; returns job->rc. Thread-safe. */
int hm_writer_run(hm_writer *w, hm_job *job);
/* Run `job` at once in a transaction of its own on `st`, then its `after` if it committed; its
 * notify is not called. For the writer's own tick (on the writer thread, with the store it was
 * given) and for tools that write without a writer thread. Returns job->rc. */
int hm_writer_run_here(hm_store *st, hm_job *job);
/* Jobs committed so far and batches (for /metrics). */
void hm_writer_stats(hm_writer *w, unsigned long long *jobs, unsigned long long *batches);

#endif
