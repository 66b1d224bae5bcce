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
    void (*committed)(hm_store *st, void *ctx);
    void *tick_ctx;
    int tick_ms;
    unsigned long long jobs, batches;
};

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
    hm_store *st = hm_store_open(w->path, HM_STORE_WRITER, &err);

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
    if (rc == HM_OK && w->committed)
        w->committed(w->st, w->tick_ctx);
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

hm_writer *hm_writer_start(const char *path, void (*tick)(hm_store *st, void *ctx),
                           void (*committed)(hm_store *st, void *ctx), void *tick_ctx, int tick_ms,
                           hm_error *err)
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
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the writer thread");
        hm_store_close(w->st);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        pthread_cond_destroy(&w->done_cv);
        free(w->path);
        free(w);
        return NULL;
    }
    return w;
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

void hm_writer_stats(hm_writer *w, unsigned long long *jobs, unsigned long long *batches)
{
    *jobs = __atomic_load_n(&w->jobs, __ATOMIC_RELAXED);
    *batches = __atomic_load_n(&w->batches, __ATOMIC_RELAXED);
}
