/* publisher.h: one thread that runs posted jobs one at a time, in the order they were posted.
 * The writer thread posts the events of each committed change here, so that rendering them
 * and handing them to the /events hub (and finding the teams to alert) happens beside the
 * next group commit instead of before it (issue 7), and subscribers still see the events in
 * commit order. Not specific to events: a job is any function that must not run on the
 * writer thread and must keep the order of its siblings. */
#ifndef HM_PUBLISHER_H
#define HM_PUBLISHER_H

#include <stddef.h>

#include "hm_error.h"

typedef struct hm_pub_job hm_pub_job;
struct hm_pub_job {
    hm_pub_job *next;             /* the publisher's */
    void (*run)(hm_pub_job *job); /* does the work, then frees the job */
};

typedef struct hm_publisher hm_publisher;

/* Start the thread. At most `max_queued` jobs wait; hm_publisher_post() blocks beyond that,
 * so a slow subscriber hub holds the writer back instead of growing memory without bound.
 * NULL (err filled) when the thread cannot start. */
hm_publisher *hm_publisher_start(size_t max_queued, hm_error *err);

/* Queue `job` behind the ones already posted. With `p` NULL, runs it at once on the calling
 * thread (tools and tests without a server). */
void hm_publisher_post(hm_publisher *p, hm_pub_job *job);

/* Wait until every job posted before this call has run. */
void hm_publisher_flush(hm_publisher *p);

/* Run what is queued, end the thread and free `p`. Nothing may post to `p` any more: stop the
 * posting threads first, and post to NULL afterwards. */
void hm_publisher_stop(hm_publisher *p);

/* Jobs run so far and the longest queue seen (for /metrics). */
void hm_publisher_stats(hm_publisher *p, unsigned long long *done, size_t *max_depth);

#endif
