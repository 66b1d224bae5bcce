/* test_writer.c: the single writer and its group commit (core/writer.h) on a real SpatiaLite
 * file: jobs queued by many threads commit in far fewer transactions than jobs; a failing job
 * changes nothing while its neighbours in the same batch commit; an exclusive job runs in a
 * batch of its own; the committed callback sees each batch's recorded changes before any job
 * is told; a job submitted after stop finishes at once with HM_E_UNAVAILABLE. (A database that
 * refuses writes, and the recovery, are test_hardening's read-only and full-disk cases.) */
#include "hm_test.h"

#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"
#include "store.h"
#include "writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char db_path[256];

typedef struct team_job {
    hm_job job;
    char name[64];
    bool fail_after_insert; /* insert, then fail: the insert must be rolled back */
    bool record;            /* record a change */
    int64_t id;
} team_job;

static int team_run(hm_store *st, hm_job *job, hm_error *err)
{
    team_job *t = (team_job *)job;
    hm_team team;
    uint8_t hash[32];
    int rc;

    memset(&team, 0, sizeof team);
    snprintf(team.name, sizeof team.name, "%s", t->name);
    team.role = HM_ROLE_VOLUNTEER;
    snprintf(team.capabilities, sizeof team.capabilities, "[]");
    hm_sha256(t->name, strlen(t->name), hash);
    if ((rc = hm_store_team_insert(st, &team, hash, err)))
        return rc;
    t->id = team.id;
    if (t->record) {
        hm_change c;
        memset(&c, 0, sizeof c);
        c.kind = HM_CH_TEAM;
        c.ref = team.id;
        if ((rc = hm_store_change_add(st, &c, err)))
            return rc;
    }
    if (t->fail_after_insert)
        return hm_error_set(err, HM_E_INVALID_FIELD, "name", "refused after the insert");
    return HM_OK;
}

static void team_init(team_job *t, const char *name)
{
    memset(t, 0, sizeof *t);
    t->job.run = team_run;
    snprintf(t->name, sizeof t->name, "%s", name);
}

static int count_team(void *ctx, const hm_team *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

static int teams_in_db(void)
{
    hm_error err = {0};
    hm_store *st = hm_store_open(db_path, 0, &err);
    int n = 0;
    if (!st)
        return -1;
    hm_store_team_list(st, true, count_team, &n, &err);
    hm_store_close(st);
    return n;
}

/* ---- committed callback ---- */

static atomic_int committed_batches, committed_changes;

static void on_committed(const hm_change *list, size_t n, void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&committed_batches, 1);
    for (size_t i = 0; i < n; i++)
        if (list[i].id > 0 && list[i].kind == HM_CH_TEAM)
            atomic_fetch_add(&committed_changes, 1);
}

/* ---- many threads ---- */

typedef struct feeder {
    hm_writer *w;
    int base, n;
    int failures;
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    for (int i = 0; i < f->n; i++) {
        team_job t;
        char name[64];
        snprintf(name, sizeof name, "Đội %d", f->base + i);
        team_init(&t, name);
        t.record = true;
        if (hm_writer_run(f->w, &t.job) != HM_OK || t.id <= 0)
            f->failures++;
    }
    return NULL;
}

static void test_group_commit(hm_writer *w)
{
    enum { THREADS = 8, EACH = 100 };
    pthread_t th[THREADS];
    feeder f[THREADS];
    unsigned long long jobs0, batches0, jobs1, batches1;
    int before = teams_in_db();

    hm_writer_stats(w, &jobs0, &batches0);
    for (int i = 0; i < THREADS; i++) {
        f[i] = (feeder){w, i * EACH, EACH, 0};
        pthread_create(&th[i], NULL, feed, &f[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(f[i].failures, 0);
    }
    hm_writer_stats(w, &jobs1, &batches1);
    CHECK_INT_EQ(jobs1 - jobs0, THREADS * EACH);
    /* Eight threads waiting on each other's commits share batches. */
    CHECK(batches1 - batches0 < THREADS * EACH);
    CHECK_INT_EQ(teams_in_db(), before + THREADS * EACH);
    CHECK(atomic_load(&committed_changes) >= THREADS * EACH);
}

/* ---- a failing job among others ---- */

static void done(hm_job *job)
{
    atomic_int *n = job->arg;
    atomic_fetch_add(n, 1);
}

static void test_failing_job_alone_rolls_back(hm_writer *w)
{
    team_job t[5];
    atomic_int finished = 0;
    int before = teams_in_db();
    int changes = atomic_load(&committed_changes);

    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "Lô %d", i);
        team_init(&t[i], name);
        t[i].record = true;
        t[i].fail_after_insert = i == 2;
        t[i].job.notify = done;
        t[i].job.arg = &finished;
    }
    for (int i = 0; i < 5; i++)
        hm_writer_submit(w, &t[i].job);
    while (atomic_load(&finished) < 5)
        usleep(1000);
    for (int i = 0; i < 5; i++)
        CHECK_INT_EQ(t[i].job.rc, i == 2 ? HM_E_INVALID_FIELD : HM_OK);
    CHECK_STR_EQ(t[2].job.err.field, "name");
    CHECK_INT_EQ(teams_in_db(), before + 4);
    /* The failed job's change was rolled back with it. */
    CHECK_INT_EQ(atomic_load(&committed_changes), changes + 4);
}

static void test_exclusive_job_runs_alone(hm_writer *w)
{
    team_job t;
    unsigned long long jobs0, batches0, jobs1, batches1;
    hm_writer_stats(w, &jobs0, &batches0);
    team_init(&t, "Độc lập");
    t.job.exclusive = true;
    CHECK_INT_EQ(hm_writer_run(w, &t.job), HM_OK);
    hm_writer_stats(w, &jobs1, &batches1);
    CHECK_INT_EQ(jobs1 - jobs0, 1);
    CHECK_INT_EQ(batches1 - batches0, 1);
}

int main(void)
{
    hm_error err = {0};
    hm_store *st;
    hm_writer *w;
    team_job t;
    char dir[] = "/tmp/hm-writer-XXXXXX";

    hm_log_level = HM_LOG_ERROR;
    if (!mkdtemp(dir))
        return 1;
    snprintf(db_path, sizeof db_path, "%s/w.db", dir);
    st = hm_store_open(db_path, HM_STORE_CREATE, &err);
    CHECK(st != NULL);
    hm_store_close(st);
    w = hm_writer_start(db_path, NULL, on_committed, NULL, 1000, &err);
    CHECK(w != NULL);
    if (!w)
        return hm_test_done("test_writer");

    test_group_commit(w);
    test_failing_job_alone_rolls_back(w);
    test_exclusive_job_runs_alone(w);
    CHECK(atomic_load(&committed_batches) > 0);

    hm_writer_stop(w);
    team_init(&t, "Sau khi dừng");
    CHECK_INT_EQ(hm_writer_run(w, &t.job), HM_E_UNAVAILABLE);
    hm_writer_destroy(w);
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return hm_test_done("test_writer");
}
