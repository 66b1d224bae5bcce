/* writer.h: the single writer thread and its group commit. Owns the write
 * connection and the order of every change: jobs queued by any thread run
 * one after another inside one transaction per batch (each job in its own
 * savepoint, so a failing job changes nothing while its neighbours commit),
 * and the batch is committed.
 *
 * Durability is a pipeline of three threads: the writer commits a batch without waiting for
 * the disk (hm_store_commit_early) and goes on with the next one; the sync thread ("hm-sync")
 * syncs the log once for every batch committed since its last sync (hm_store_sync_committed);
 * the completion thread ("hm-durable") takes the batches that sync covered, in commit order,
 * hands their changes to `committed` (in-memory indexes, events) and runs each job's `after`
 * and `notify`. No job is told before its batch is durable, and nothing follows a change
 * before it is: a 201 still means written and fsynced. What the pipeline buys is that the
 * fsync of one batch overlaps the work of the next and the answers of the one before, and
 * that one fsync covers every batch committed while the previous one ran. A failed sync
 * fails the batches it was to cover (HM_E_UNAVAILABLE; the writer reopens its connection). At most
 * HM_WRITER_DEPTH batches wait for the disk; beyond that the writer waits, and the jobs queued
 * meanwhile form a larger batch. An exclusive batch (area changes: the next jobs locate requests
 * with the areas it changed) is waited for before the next batch, and so is everything before the
 * tick. */
#ifndef HM_WRITER_H
#define HM_WRITER_H

#include <pthread.h>
#include <stdbool.h>

#include "hm_error.h"
#include "store.h"

typedef struct hm_writer hm_writer;
typedef struct hm_job hm_job;

/* Batches that may wait for the disk at once (see above). */
#define HM_WRITER_DEPTH 2

struct hm_job {
    /* Runs inside the batch transaction on the writer thread. Returns HM_OK
     * or an hm_err with `err` filled; on error the job's changes are rolled
     * back. */
    int (*run)(hm_store *st, hm_job *job, hm_error *err);
    /* After the commit is durable, on the completion thread; may be NULL. */
    void (*after)(hm_job *job);
    /* When the job is finished (rc and err final), on the writer's completion thread (or the
     * writer thread when the batch failed); NULL for hm_writer_run's synchronous waiting. The
     * job must not be touched by the writer after notify returns. */
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
 * every `tick_ms` outside any transaction, once every batch before is complete, for
 * time-outs; `committed` (may be NULL) on the completion thread after each batch is durable,
 * before the jobs' `after` and `notify`, with the `n` changes the batch recorded (ids set, in
 * id order; valid during the call). Both get `ctx`. Returns NULL with `err` filled. */
hm_writer *hm_writer_start(const char *path, void (*tick)(hm_store *st, void *ctx),
                           void (*committed)(const hm_change *changes, size_t n, void *ctx),
                           void *ctx, int tick_ms, hm_error *err);
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

/* Where the time of the writer's two threads went, in nanoseconds since start (for /metrics
 * and the benchmark's profile of creation). Writer thread: running the jobs of its batches
 * (begin included), the commit (the log's page writes), waiting for the completion thread
 * (HM_WRITER_DEPTH batches waiting, an exclusive batch, the tick). Sync thread: the fsync.
 * Completion thread: handing the changes to the follower, the jobs' `after` and answers. */
enum {
    HM_WRITER_PHASE_RUN,
    HM_WRITER_PHASE_COMMIT,
    HM_WRITER_PHASE_WAIT,
    HM_WRITER_PHASE_SYNC,
    HM_WRITER_PHASE_FOLLOW,
    HM_WRITER_PHASE_ANSWER,
    HM_WRITER_PHASES
};
void hm_writer_phases(hm_writer *w, unsigned long long ns[HM_WRITER_PHASES]);
/* Syncs of the log the sync thread made so far (each covers every batch committed
 * before it). */
unsigned long long hm_writer_syncs(hm_writer *w);

#endif
