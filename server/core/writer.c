#include "writer.h"

#include "hm_buf.h"
#include "hm_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define MAX_BATCH 512

struct hm_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* work queued or stopping */
    pthread_cond_t done_cv; /* a synchronous job finished */
    hm_job *head, *tail;
    bool stopping;
    bool stopped; /* thread joined: submissions fail at once */
    hm_store *st;
    char *path;  /* to reopen st */
    bool reopen; /* the last batch was refused for want of a writable database */
    void (*tick)(hm_store *st, void *ctx);
    void *tick_ctx;
    int tick_ms;
    unsigned long long jobs, batches;
    /* The checkpointer: a thread with its own connection that copies the write-ahead log
     * into the database file, so that commits on `st` never do it while jobs wait (issue 7:
     * it was an eighth of the writer's time). ckpt_on false: `st` checkpoints as SQLite
     * does by default. ckpt_on is fixed before the threads start; ckpt_st belongs to the
     * checkpointer thread (and to hm_writer_stop() once it has ended). Under `mu`:
     * ckpt_stop, commits. */
    bool ckpt_on;
    hm_store *ckpt_st;
    pthread_t ckpt_thread;
    pthread_cond_t ckpt_cv; /* a batch committed, or stopping */
    bool ckpt_stop;
    unsigned long long commits;
};

#define CKPT_PERIOD_MS     100   /* at most this often; each checkpoint syncs the database */
#define CKPT_RESTART_PAGES 16384 /* a log this long (64 MiB of 4 KiB pages) is restarted */

/* Restart the write-ahead log of `log_pages` pages: passive checkpoints cannot while the
 * writer keeps appending to it, so the writer waits here for the few pages the last passive
 * checkpoint left. Checkpointer thread only. */
static void restart_log(hm_writer *w, int log_pages)
{
    hm_error err = {0};
    struct timespec t0, t1;
    long ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Busy (a long read): tried again after the next commits. Worth a warning only when the
     * log keeps growing. */
    if (hm_store_checkpoint(w->ckpt_st, true, NULL, NULL, &err) != HM_OK)
        hm_log(log_pages > 4 * CKPT_RESTART_PAGES ? HM_LOG_WARN : HM_LOG_DEBUG,
               "event=checkpoint_failed mode=restart pages=%d msg=\"%s\"", log_pages, err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    /* Writes wait for it: worth a line when it is long. */
    hm_log(ms >= 100 ? HM_LOG_INFO : HM_LOG_DEBUG, "event=checkpoint mode=restart pages=%d ms=%ld",
           log_pages, ms);
}

static void *ckpt_main(void *arg)
{
    hm_writer *w = arg;
    unsigned long long seen = 0;
    unsigned failures = 0;

    prctl(PR_SET_NAME, "hm-checkpoint", 0, 0, 0); /* for top -H and perf */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        hm_error err = {0};
        struct timespec t;
        int log_pages = 0;
        while (!w->ckpt_stop && w->commits == seen)
            pthread_cond_wait(&w->ckpt_cv, &w->mu);
        if (w->ckpt_stop)
            break;
        seen = w->commits;
        pthread_mutex_unlock(&w->mu);
        if (hm_store_checkpoint(w->ckpt_st, false, &log_pages, NULL, &err) != HM_OK) {
            hm_log(HM_LOG_DEBUG, "event=checkpoint_failed msg=\"%s\"", err.msg);
            /* A connection opened while the file was read-only stays so (issue 6): after a
             * run of failures take a new one, or the log would grow for ever. */
            if (++failures % 16 == 0) {
                hm_error oerr = {0};
                hm_store *st = hm_store_open(w->path, HM_STORE_SMALL_CACHE, &oerr);
                if (st) {
                    hm_store_close(w->ckpt_st);
                    w->ckpt_st = st;
                } else {
                    hm_log(HM_LOG_WARN, "event=checkpointer_reopen_failed msg=\"%s\"", oerr.msg);
                }
            }
        } else {
            failures = 0;
            if (log_pages > CKPT_RESTART_PAGES)
                restart_log(w, log_pages);
        }
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += CKPT_PERIOD_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&w->mu);
        while (!w->ckpt_stop && pthread_cond_timedwait(&w->ckpt_cv, &w->mu, &t) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Tell the checkpointer thread to end and wait for it. */
static void stop_checkpointer(hm_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->ckpt_stop = true;
    pthread_cond_signal(&w->ckpt_cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->ckpt_thread, NULL);
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
 * Keeps the old connection when no new one opens. Writer thread only. */
static void reopen_store(hm_writer *w)
{
    hm_error err = {0};
    hm_store *st = hm_store_open(w->path, w->ckpt_on ? HM_STORE_NO_CHECKPOINT : 0, &err);

    if (!st) {
        hm_log(HM_LOG_WARN, "event=writer_reopen_failed msg=\"%s\"", err.msg);
        return;
    }
    hm_store_close(w->st);
    w->st = st;
    w->reopen = false;
}

/* Run `batch` (n jobs) in one transaction. */
static void run_batch(hm_writer *w, hm_job **batch, size_t n)
{
    hm_error err = {0};
    int rc;

    if (w->reopen)
        reopen_store(w);
    rc = hm_store_begin(w->st, true, &err);
    for (size_t i = 0; i < n; i++) {
        hm_job *j = batch[i];
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
    if (rc == HM_OK) {
        rc = hm_store_commit(w->st, &err);
        if (rc != HM_OK) {
            hm_log(HM_LOG_ERROR, "event=commit_failed jobs=%zu msg=\"%s\"", n, err.msg);
            hm_store_rollback(w->st);
            for (size_t i = 0; i < n; i++)
                if (batch[i]->rc == HM_OK) {
                    hm_error_clear(&batch[i]->err);
                    batch[i]->rc = hm_error_set(&batch[i]->err, HM_E_UNAVAILABLE, NULL,
                                                "the database cannot take writes now");
                }
        }
    } else {
        hm_log(HM_LOG_ERROR, "event=begin_failed msg=\"%s\"", err.msg);
    }
    __atomic_add_fetch(&w->batches, 1, __ATOMIC_RELAXED);
    if (rc == HM_OK && w->ckpt_on) {
        pthread_mutex_lock(&w->mu);
        w->commits++;
        pthread_cond_signal(&w->ckpt_cv);
        pthread_mutex_unlock(&w->mu);
    }
    for (size_t i = 0; i < n; i++)
        if (batch[i]->rc == HM_E_UNAVAILABLE)
            w->reopen = true;
    for (size_t i = 0; i < n; i++) {
        hm_job *j = batch[i];
        if (j->rc == HM_OK) {
            __atomic_add_fetch(&w->jobs, 1, __ATOMIC_RELAXED);
            if (j->after)
                j->after(j);
        }
        finish(w, j);
    }
}

static void *writer_main(void *arg)
{
    hm_writer *w = arg;
    hm_job *batch[MAX_BATCH];
    struct timespec next_tick;

    prctl(PR_SET_NAME, "hm-writer", 0, 0, 0);
    clock_gettime(CLOCK_REALTIME, &next_tick);
    for (;;) {
        size_t n = 0;
        bool do_tick = false;

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
        /* Take up to MAX_BATCH jobs; an exclusive job goes alone. */
        while (w->head && n < MAX_BATCH) {
            hm_job *j = w->head;
            if (j->exclusive && n > 0)
                break;
            w->head = j->next;
            if (!w->head)
                w->tail = NULL;
            j->next = NULL;
            batch[n++] = j;
            if (j->exclusive)
                break;
        }
        pthread_mutex_unlock(&w->mu);

        if (n > 0)
            run_batch(w, batch, n);
        if (w->tick) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            if (do_tick || now.tv_sec > next_tick.tv_sec ||
                (now.tv_sec == next_tick.tv_sec && now.tv_nsec >= next_tick.tv_nsec)) {
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
    return NULL;
}

hm_writer *hm_writer_start(const char *path, void (*tick)(hm_store *st, void *ctx), void *tick_ctx,
                           int tick_ms, hm_error *err)
{
    hm_writer *w = hm_xcalloc(1, sizeof *w);
    hm_error cerr = {0};

    /* The checkpointer's connection first: without it the writer checkpoints itself. */
    w->ckpt_st = hm_store_open(path, HM_STORE_SMALL_CACHE, &cerr);
    w->ckpt_on = w->ckpt_st != NULL;
    if (!w->ckpt_st)
        hm_log(HM_LOG_WARN, "event=checkpointer_unavailable msg=\"%s\"", cerr.msg);
    w->st = hm_store_open(path, w->ckpt_st ? HM_STORE_NO_CHECKPOINT : 0, err);
    if (!w->st) {
        hm_store_close(w->ckpt_st);
        free(w);
        return NULL;
    }
    w->path = hm_xstrdup(path);
    w->tick = tick;
    w->tick_ctx = tick_ctx;
    w->tick_ms = tick_ms > 0 ? tick_ms : 1000;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    pthread_cond_init(&w->ckpt_cv, NULL);
    if (w->ckpt_st && pthread_create(&w->ckpt_thread, NULL, ckpt_main, w) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the checkpointer thread");
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the writer thread");
        if (w->ckpt_st)
            stop_checkpointer(w);
        goto fail;
    }
    return w;
fail:
    hm_store_close(w->st);
    hm_store_close(w->ckpt_st);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->ckpt_cv);
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
    pthread_join(w->thread, NULL);
    if (w->ckpt_on) {
        stop_checkpointer(w);
        hm_store_close(w->ckpt_st);
        w->ckpt_st = NULL;
    }
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
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->ckpt_cv);
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

void hm_writer_stats(hm_writer *w, unsigned long long *jobs, unsigned long long *batches)
{
    *jobs = __atomic_load_n(&w->jobs, __ATOMIC_RELAXED);
    *batches = __atomic_load_n(&w->batches, __ATOMIC_RELAXED);
}
