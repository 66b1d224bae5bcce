#include "writer.h"

#include "hm_buf.h"
#include "hm_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define MAX_BATCH 512

/* A committed batch on its way to the disk: its jobs and a copy of the changes it recorded
 * (the writer's connection forgets them at its next begin). */
typedef struct batch {
    hm_job *jobs[MAX_BATCH];
    size_t n;
    hm_change *changes;
    size_t n_changes, cap_changes;
    unsigned long long seq; /* commit order, from 1 */
    int sync_rc;            /* HM_OK, or the failed sync that was to cover it */
    hm_error sync_err;
    struct batch *next;
} batch;

struct hm_writer {
    pthread_t thread, completer, syncer;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* work queued or stopping */
    pthread_cond_t done_cv; /* a synchronous job finished, or a batch completed */
    hm_job *head, *tail;
    bool stopping;
    bool stopped; /* thread joined: submissions fail at once */
    hm_store *st;
    char *path;  /* to reopen st, and hm_store_sync_committed() */
    bool reopen; /* the last batch was refused for want of a writable database */
    void (*tick)(hm_store *st, void *ctx);
    void (*committed)(const hm_change *changes, size_t n, void *ctx);
    void *tick_ctx;
    int tick_ms;
    unsigned long long jobs, batches, syncs;
    unsigned long long phase_ns[HM_WRITER_PHASES]; /* hm_writer_phases() */
    /* The pipeline, under mu: committed batches waiting for the completion thread, oldest
     * first; sequence numbers of the last committed and the last completed batch; spare
     * batches for reuse. */
    batch *pend_head, *pend_tail;
    unsigned long long committed_seq, synced_seq, completed_seq;
    batch *spare;
    pthread_cond_t sync_cv; /* a batch to sync, or stopping */
    pthread_cond_t pend_cv; /* a batch synced, or stopping */
    bool completer_stop;
};

static unsigned long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void phase_add(hm_writer *w, int phase, unsigned long long *t)
{
    unsigned long long now = mono_ns();
    __atomic_add_fetch(&w->phase_ns[phase], now - *t, __ATOMIC_RELAXED);
    *t = now;
}

static void finish(hm_writer *w, hm_job *j)
{
    if (j->notify) {
        j->notify(j);
        return;
    }
    pthread_mutex_lock(&w->mu);
    j->finished = true;
    pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
}

/* Replace the connection after a batch the database refused: one opened
 * while the file was read-only stays read-only after the file becomes
 * writable again, so only a new one recovers without a restart (issue 6).
 * Keeps the old connection when no new one opens. Writer thread only, with no batch
 * waiting for the completion thread. */
static void reopen_store(hm_writer *w)
{
    hm_error err = {0};
    hm_store *st = hm_store_open(w->path, HM_STORE_WRITER, &err);

    if (!st) {
        hm_log(HM_LOG_WARN, "event=writer_reopen_failed msg=\"%s\"", err.msg);
        return;
    }
    hm_store_close(w->st);
    w->st = st;
    __atomic_store_n(&w->reopen, false, __ATOMIC_RELEASE);
}

/* ---- the completion thread ---- */

/* Complete `b` (durable): follow its changes, then tell its jobs. */
static void complete(hm_writer *w, batch *b, int sync_rc, const hm_error *sync_err,
                     unsigned long long *t)
{
    if (w->committed)
        w->committed(b->changes, b->n_changes, w->tick_ctx);
    phase_add(w, HM_WRITER_PHASE_FOLLOW, t);
    for (size_t i = 0; i < b->n; i++) {
        hm_job *j = b->jobs[i];
        if (j->rc == HM_OK && sync_rc != HM_OK) {
            /* Committed, but the disk did not confirm it: the caller is not told it is
             * stored. (The change is in the database and followed; the writer reopens.) */
            hm_error_clear(&j->err);
            j->rc = hm_error_set(&j->err, HM_E_UNAVAILABLE, NULL, "%s", sync_err->msg);
        }
        if (j->rc == HM_OK) {
            __atomic_add_fetch(&w->jobs, 1, __ATOMIC_RELAXED);
            if (j->after)
                j->after(j);
        }
        finish(w, j);
    }
    phase_add(w, HM_WRITER_PHASE_ANSWER, t);
}

/* The syncer: one sync of the log for every batch committed since the last one, while the
 * completion thread follows and answers the batches the previous sync covered. A failed sync
 * fails every batch it was to cover (the disk may have dropped their pages). */
static void *syncer_main(void *arg)
{
    hm_writer *w = arg;
    hm_error err = {0};

    prctl(PR_SET_NAME, "hm-sync", 0, 0, 0);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        unsigned long long t, upto, from;
        int rc;
        while (w->synced_seq == w->committed_seq && !w->completer_stop)
            pthread_cond_wait(&w->sync_cv, &w->mu);
        if (w->synced_seq == w->committed_seq)
            break; /* stopping, nothing left to sync */
        from = w->synced_seq;
        upto = w->committed_seq;
        pthread_mutex_unlock(&w->mu);

        t = mono_ns();
        hm_error_clear(&err);
        rc = hm_store_sync_committed(w->path, &err);
        __atomic_add_fetch(&w->syncs, 1, __ATOMIC_RELAXED);
        phase_add(w, HM_WRITER_PHASE_SYNC, &t);
        if (rc != HM_OK) {
            hm_log(HM_LOG_ERROR, "event=sync_failed msg=\"%s\"", err.msg);
            __atomic_store_n(&w->reopen, true, __ATOMIC_RELEASE);
        }

        pthread_mutex_lock(&w->mu);
        if (rc != HM_OK)
            for (batch *b = w->pend_head; b; b = b->next)
                if (b->seq > from && b->seq <= upto) {
                    b->sync_rc = rc;
                    b->sync_err = err;
                }
        w->synced_seq = upto;
        pthread_cond_signal(&w->pend_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The completion thread: the durable batches, in commit order. */
static void *completer_main(void *arg)
{
    hm_writer *w = arg;

    prctl(PR_SET_NAME, "hm-durable", 0, 0, 0);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        batch *b;
        unsigned long long t;
        while (!(w->pend_head && w->pend_head->seq <= w->synced_seq) &&
               !(w->completer_stop && !w->pend_head))
            pthread_cond_wait(&w->pend_cv, &w->mu);
        if (!w->pend_head)
            break;
        b = w->pend_head;
        pthread_mutex_unlock(&w->mu);

        t = mono_ns();
        complete(w, b, b->sync_rc, &b->sync_err, &t);

        pthread_mutex_lock(&w->mu);
        w->pend_head = b->next;
        if (!w->pend_head)
            w->pend_tail = NULL;
        w->completed_seq = b->seq;
        b->next = w->spare;
        w->spare = b;
        pthread_cond_broadcast(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Wait until at most `depth` committed batches are not complete. Writer thread. */
static void wait_pipeline(hm_writer *w, unsigned long long depth)
{
    pthread_mutex_lock(&w->mu);
    while (w->committed_seq - w->completed_seq > depth)
        pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* ---- the writer thread ---- */

static batch *batch_take(hm_writer *w)
{
    batch *b;
    pthread_mutex_lock(&w->mu);
    b = w->spare;
    if (b)
        w->spare = b->next;
    pthread_mutex_unlock(&w->mu);
    if (!b)
        b = hm_xcalloc(1, sizeof *b);
    b->n = b->n_changes = 0;
    b->sync_rc = HM_OK;
    b->next = NULL;
    return b;
}

/* Run `b`'s jobs in one transaction and commit it; a committed batch goes to the completion
 * thread, a failed one is finished here. */
static void run_batch(hm_writer *w, batch *b)
{
    hm_error err = {0};
    unsigned long long t;
    const hm_change *list;
    size_t nch;
    int rc;

    t = mono_ns();
    if (__atomic_load_n(&w->reopen, __ATOMIC_ACQUIRE)) {
        wait_pipeline(w, 0);
        reopen_store(w);
    }
    rc = hm_store_begin(w->st, true, &err);
    for (size_t i = 0; i < b->n; i++) {
        hm_job *j = b->jobs[i];
        hm_error_clear(&j->err);
        if (rc != HM_OK) {
            j->rc = hm_error_set(&j->err, HM_E_UNAVAILABLE, NULL, "%s", err.msg);
            continue;
        }
        if (hm_store_savepoint(w->st, &j->err) != HM_OK) {
            j->rc = j->err.code;
            continue;
        }
        j->rc = j->run(w->st, j, &j->err);
        if (j->rc == HM_OK)
            j->rc = hm_store_release(w->st, &j->err);
        if (j->rc != HM_OK)
            hm_store_rollback_to(w->st);
    }
    phase_add(w, HM_WRITER_PHASE_RUN, &t);
    if (rc == HM_OK) {
        rc = hm_store_commit_early(w->st, &err);
        if (rc != HM_OK) {
            hm_log(HM_LOG_ERROR, "event=commit_failed jobs=%zu msg=\"%s\"", b->n, err.msg);
            hm_store_rollback(w->st);
            for (size_t i = 0; i < b->n; i++)
                if (b->jobs[i]->rc == HM_OK) {
                    hm_error_clear(&b->jobs[i]->err);
                    b->jobs[i]->rc = hm_error_set(&b->jobs[i]->err, HM_E_UNAVAILABLE, NULL,
                                                  "the database cannot take writes now");
                }
        }
    } else {
        hm_log(HM_LOG_ERROR, "event=begin_failed msg=\"%s\"", err.msg);
    }
    __atomic_add_fetch(&w->batches, 1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < b->n; i++)
        if (b->jobs[i]->rc == HM_E_UNAVAILABLE)
            __atomic_store_n(&w->reopen, true, __ATOMIC_RELEASE);
    phase_add(w, HM_WRITER_PHASE_COMMIT, &t);
    if (rc != HM_OK) {
        /* Nothing of it is in the database: the callers learn it at once. */
        for (size_t i = 0; i < b->n; i++)
            finish(w, b->jobs[i]);
        pthread_mutex_lock(&w->mu);
        b->next = w->spare;
        w->spare = b;
        pthread_mutex_unlock(&w->mu);
        phase_add(w, HM_WRITER_PHASE_ANSWER, &t);
        return;
    }
    nch = hm_store_changes_done(w->st, &list);
    if (nch > b->cap_changes) {
        b->cap_changes = nch;
        b->changes = hm_xrealloc(b->changes, nch * sizeof *b->changes);
    }
    if (nch)
        memcpy(b->changes, list, nch * sizeof *list);
    b->n_changes = nch;
    pthread_mutex_lock(&w->mu);
    b->seq = ++w->committed_seq;
    if (w->pend_tail)
        w->pend_tail->next = b;
    else
        w->pend_head = b;
    w->pend_tail = b;
    pthread_cond_signal(&w->sync_cv);
    pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg)
{
    hm_writer *w = arg;
    struct timespec next_tick;

    prctl(PR_SET_NAME, "hm-writer", 0, 0, 0);
    clock_gettime(CLOCK_REALTIME, &next_tick);
    for (;;) {
        batch *b = NULL;
        bool do_tick = false, exclusive = false;

        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->stopping) {
            if (w->tick) {
                if (pthread_cond_timedwait(&w->cv, &w->mu, &next_tick) == ETIMEDOUT) {
                    do_tick = true;
                    break;
                }
            } else {
                pthread_cond_wait(&w->cv, &w->mu);
            }
        }
        if (!w->head && w->stopping) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        pthread_mutex_unlock(&w->mu);

        if (!do_tick) {
            /* Room in the pipeline before the jobs are taken: those queued meanwhile join. */
            unsigned long long t = mono_ns();
            wait_pipeline(w, HM_WRITER_DEPTH - 1);
            phase_add(w, HM_WRITER_PHASE_WAIT, &t);
            b = batch_take(w);
            /* Take up to MAX_BATCH jobs; an exclusive job goes alone. */
            pthread_mutex_lock(&w->mu);
            while (w->head && b->n < MAX_BATCH) {
                hm_job *j = w->head;
                if (j->exclusive && b->n > 0)
                    break;
                w->head = j->next;
                if (!w->head)
                    w->tail = NULL;
                j->next = NULL;
                b->jobs[b->n++] = j;
                if (j->exclusive) {
                    exclusive = true;
                    break;
                }
            }
            pthread_mutex_unlock(&w->mu);
        }

        if (b && b->n > 0) {
            run_batch(w, b);
            if (exclusive) {
                /* The next jobs see what it changed in memory (areas). */
                unsigned long long t = mono_ns();
                wait_pipeline(w, 0);
                phase_add(w, HM_WRITER_PHASE_WAIT, &t);
            }
        } else if (b) {
            pthread_mutex_lock(&w->mu);
            b->next = w->spare;
            w->spare = b;
            pthread_mutex_unlock(&w->mu);
        }
        if (w->tick) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            if (do_tick || now.tv_sec > next_tick.tv_sec ||
                (now.tv_sec == next_tick.tv_sec && now.tv_nsec >= next_tick.tv_nsec)) {
                /* The tick follows its own changes at once: everything before first. */
                wait_pipeline(w, 0);
                w->tick(w->st, w->tick_ctx);
                clock_gettime(CLOCK_REALTIME, &next_tick);
                next_tick.tv_sec += w->tick_ms / 1000;
                next_tick.tv_nsec += (long)(w->tick_ms % 1000) * 1000000L;
                if (next_tick.tv_nsec >= 1000000000L) {
                    next_tick.tv_sec++;
                    next_tick.tv_nsec -= 1000000000L;
                }
            }
        }
    }
    wait_pipeline(w, 0);
    return NULL;
}

/* Stop the completion thread (and the syncer when `syncer`), once nothing is pending. */
static void stop_helpers(hm_writer *w, bool syncer)
{
    pthread_mutex_lock(&w->mu);
    w->completer_stop = true;
    pthread_cond_broadcast(&w->sync_cv);
    pthread_cond_broadcast(&w->pend_cv);
    pthread_mutex_unlock(&w->mu);
    if (syncer)
        pthread_join(w->syncer, NULL);
    pthread_join(w->completer, NULL);
}

hm_writer *hm_writer_start(const char *path, void (*tick)(hm_store *st, void *ctx),
                           void (*committed)(const hm_change *changes, size_t n, void *ctx),
                           void *tick_ctx, int tick_ms, hm_error *err)
{
    hm_writer *w = hm_xcalloc(1, sizeof *w);

    w->st = hm_store_open(path, HM_STORE_WRITER, err);
    if (!w->st) {
        free(w);
        return NULL;
    }
    w->path = hm_xstrdup(path);
    w->tick = tick;
    w->committed = committed;
    w->tick_ctx = tick_ctx;
    w->tick_ms = tick_ms > 0 ? tick_ms : 1000;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    pthread_cond_init(&w->sync_cv, NULL);
    pthread_cond_init(&w->pend_cv, NULL);
    if (pthread_create(&w->completer, NULL, completer_main, w) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the writer's completion thread");
        goto fail;
    }
    if (pthread_create(&w->syncer, NULL, syncer_main, w) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the writer's sync thread");
        stop_helpers(w, false);
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the writer thread");
        stop_helpers(w, true);
        goto fail;
    }
    return w;
fail:
    hm_store_close(w->st);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->sync_cv);
    pthread_cond_destroy(&w->pend_cv);
    free(w->path);
    free(w);
    return NULL;
}

void hm_writer_stop(hm_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL); /* it waits for its last batches to complete */
    stop_helpers(w, true);
    hm_store_close(w->st);
    w->st = NULL;
    pthread_mutex_lock(&w->mu);
    w->stopped = true;
    pthread_mutex_unlock(&w->mu);
}

void hm_writer_destroy(hm_writer *w)
{
    if (!w)
        return;
    if (!w->stopped)
        hm_writer_stop(w);
    while (w->spare) {
        batch *b = w->spare;
        w->spare = b->next;
        free(b->changes);
        free(b);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->sync_cv);
    pthread_cond_destroy(&w->pend_cv);
    free(w->path);
    free(w);
}

void hm_writer_submit(hm_writer *w, hm_job *job)
{
    job->next = NULL;
    job->finished = false;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        hm_error_clear(&job->err);
        job->rc = hm_error_set(&job->err, HM_E_UNAVAILABLE, NULL, "the server is shutting down");
        finish(w, job);
        return;
    }
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int hm_writer_run(hm_writer *w, hm_job *job)
{
    job->notify = NULL;
    hm_writer_submit(w, job);
    pthread_mutex_lock(&w->mu);
    while (!job->finished)
        pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    return job->rc;
}

int hm_writer_run_here(hm_store *st, hm_job *job)
{
    hm_error_clear(&job->err);
    job->rc = hm_store_begin(st, true, &job->err);
    if (job->rc == HM_OK) {
        job->rc = job->run(st, job, &job->err);
        if (job->rc == HM_OK)
            job->rc = hm_store_commit(st, &job->err);
        if (job->rc != HM_OK)
            hm_store_rollback(st);
    }
    if (job->rc == HM_OK && job->after)
        job->after(job);
    return job->rc;
}

void hm_writer_phases(hm_writer *w, unsigned long long ns[HM_WRITER_PHASES])
{
    for (int i = 0; i < HM_WRITER_PHASES; i++)
        ns[i] = __atomic_load_n(&w->phase_ns[i], __ATOMIC_RELAXED);
}

unsigned long long hm_writer_syncs(hm_writer *w)
{
    return __atomic_load_n(&w->syncs, __ATOMIC_RELAXED);
}

void hm_writer_stats(hm_writer *w, unsigned long long *jobs, unsigned long long *batches)
{
    *jobs = __atomic_load_n(&w->jobs, __ATOMIC_RELAXED);
    *batches = __atomic_load_n(&w->batches, __ATOMIC_RELAXED);
}
