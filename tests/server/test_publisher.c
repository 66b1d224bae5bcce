/* test_publisher.c: the publisher runs every posted job once, in the order of posting, also
 * when posts outrun it and wait for room; flush waits for what was posted; without a
 * publisher a post runs at once; stop runs what is still queued. */
#include "publisher.h"

#include "hm_buf.h"
#include "hm_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct seen {
    pthread_mutex_t mu;
    long next; /* the sequence number the next job must carry */
    long out_of_order;
    long ran;
    pthread_t last_thread;
    int slow_every; /* sleep in every n-th job, so that posts fill the queue */
} seen;

typedef struct job {
    hm_pub_job base;
    seen *s;
    long seq;
} job;

static void job_run(hm_pub_job *j)
{
    job *x = (job *)j;
    seen *s = x->s;
    if (s->slow_every && x->seq % s->slow_every == 0)
        usleep(200);
    pthread_mutex_lock(&s->mu);
    if (x->seq != s->next)
        s->out_of_order++;
    s->next = x->seq + 1;
    s->ran++;
    s->last_thread = pthread_self();
    pthread_mutex_unlock(&s->mu);
    free(x);
}

static void post(hm_publisher *p, seen *s, long seq)
{
    job *x = hm_xcalloc(1, sizeof *x);
    x->base.run = job_run;
    x->s = s;
    x->seq = seq;
    hm_publisher_post(p, &x->base);
}

static long ran(seen *s)
{
    long n;
    pthread_mutex_lock(&s->mu);
    n = s->ran;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int main(void)
{
    hm_error err = {0};
    hm_publisher *p;
    seen s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0};
    unsigned long long done = 0;
    size_t depth = 0;

    /* No publisher: the job runs on the caller before post returns. */
    post(NULL, &s, 0);
    CHECK(ran(&s) == 1);
    CHECK(pthread_equal(s.last_thread, pthread_self()));

    /* A queue of 4 and jobs that sometimes sleep: posts wait for room, order holds. */
    p = hm_publisher_start(4, &err);
    CHECK(p != NULL);
    if (!p)
        return hm_test_done("test_publisher");
    s.slow_every = 97;
    for (long i = 1; i <= 20000; i++)
        post(p, &s, i);
    hm_publisher_flush(p);
    CHECK(ran(&s) == 20001);
    CHECK(s.out_of_order == 0);
    CHECK(!pthread_equal(s.last_thread, pthread_self()));
    hm_publisher_stats(p, &done, &depth);
    CHECK(done == 20000);
    CHECK(depth >= 1 && depth <= 4);

    /* Stop runs what is still queued before it returns. */
    s.slow_every = 1;
    for (long i = 20001; i <= 20004; i++)
        post(p, &s, i);
    hm_publisher_stop(p);
    CHECK(ran(&s) == 20005);
    CHECK(s.out_of_order == 0);
    return hm_test_done("test_publisher");
}
