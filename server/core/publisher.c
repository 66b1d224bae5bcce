#include "publisher.h"

#include "hm_buf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>

struct hm_publisher {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* a job queued, or stopping */
    pthread_cond_t space_cv; /* a job taken off the queue */
    pthread_cond_t idle_cv;  /* the thread finished a job */
    hm_pub_job *head, *tail;
    size_t depth, max_queued, max_depth;
    bool busy; /* the thread is running a job it took */
    bool stopping;
    unsigned long long posted, done;
};

static void *pub_main(void *arg)
{
    hm_publisher *p = arg;

    prctl(PR_SET_NAME, "hm-publish", 0, 0, 0); /* for top -H and perf */
    pthread_mutex_lock(&p->mu);
    for (;;) {
        hm_pub_job *j;
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (!p->head)
            break; /* stopping, and nothing is left */
        j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->depth--;
        p->busy = true;
        pthread_cond_signal(&p->space_cv);
        pthread_mutex_unlock(&p->mu);
        j->next = NULL;
        j->run(j);
        pthread_mutex_lock(&p->mu);
        p->busy = false;
        p->done++;
        pthread_cond_broadcast(&p->idle_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

hm_publisher *hm_publisher_start(size_t max_queued, hm_error *err)
{
    hm_publisher *p = hm_xcalloc(1, sizeof *p);

    p->max_queued = max_queued > 0 ? max_queued : 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->space_cv, NULL);
    pthread_cond_init(&p->idle_cv, NULL);
    if (pthread_create(&p->thread, NULL, pub_main, p) != 0) {
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the event publisher thread");
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->work_cv);
        pthread_cond_destroy(&p->space_cv);
        pthread_cond_destroy(&p->idle_cv);
        free(p);
        return NULL;
    }
    return p;
}

void hm_publisher_post(hm_publisher *p, hm_pub_job *job)
{
    job->next = NULL;
    if (!p) {
        job->run(job);
        return;
    }
    pthread_mutex_lock(&p->mu);
    while (p->depth >= p->max_queued)
        pthread_cond_wait(&p->space_cv, &p->mu);
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    if (++p->depth > p->max_depth)
        p->max_depth = p->depth;
    p->posted++;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

void hm_publisher_flush(hm_publisher *p)
{
    unsigned long long want;

    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    want = p->posted;
    while (p->done < want)
        pthread_cond_wait(&p->idle_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void hm_publisher_stop(hm_publisher *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->space_cv);
    pthread_cond_destroy(&p->idle_cv);
    free(p);
}

void hm_publisher_stats(hm_publisher *p, unsigned long long *done, size_t *max_depth)
{
    *done = 0;
    *max_depth = 0;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    *done = p->done;
    *max_depth = p->max_depth;
    pthread_mutex_unlock(&p->mu);
}
