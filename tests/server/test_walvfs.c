/* test_walvfs.c: the log of a SpatiaLite store written through the "hm-wal" VFS
 * (server/store/sqlite/walvfs.h) and the writer's early commits (store.h,
 * hm_store_commit_early):
 * - a commit's frames reach the file in far fewer writes than SQLite makes;
 * - the log grows ahead of its frames by whole steps of zeros, and SQLite reads past them;
 * - a process killed (no close, no checkpoint) after commits, early ones synced with
 *   hm_store_sync_committed(), leaves every committed row readable and the file intact;
 * - changes committed early are listed by hm_store_changes_since() (which makes them durable
 *   first) in commit order;
 * - hm_store_sync_committed() of a database without a log, and of a PostGIS URI, succeeds. */
#include "hm_test.h"

#include "hm_log.h"
#include "model.h"
#include "sqlite/walvfs.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/hm-walvfs-XXXXXX";

static int add_team(hm_store *st, const char *name, bool early, hm_error *err)
{
    hm_team t;
    hm_change c;
    uint8_t hash[32];
    int rc;

    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.role = HM_ROLE_VOLUNTEER;
    snprintf(t.capabilities, sizeof t.capabilities, "[]");
    hm_sha256(name, strlen(name), hash);
    if ((rc = hm_store_begin(st, true, err)))
        return rc;
    if ((rc = hm_store_team_insert(st, &t, hash, err)) == HM_OK) {
        memset(&c, 0, sizeof c);
        c.kind = HM_CH_TEAM;
        c.ref = t.id;
        rc = hm_store_change_add(st, &c, err);
    }
    if (rc == HM_OK)
        rc = early ? hm_store_commit_early(st, err) : hm_store_commit(st, err);
    if (rc)
        hm_store_rollback(st);
    return rc;
}

static int count_team(void *ctx, const hm_team *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

static int collect_change(void *ctx, const hm_change *c)
{
    int64_t *last = ctx;
    CHECK(c->id > *last);
    *last = c->id;
    return 0;
}

static void test_writes_gathered_and_log_extended(const char *db)
{
    hm_error err = {0};
    hm_store *st = hm_store_open(db, HM_STORE_CREATE | HM_STORE_WRITER, &err);
    unsigned long long in0, out0, ext0, in1, out1, ext1;
    struct stat sb;
    char wal[320];

    CHECK(st != NULL);
    if (!st)
        return;
    hm_walvfs_stats(&in0, &out0, &ext0);
    for (int i = 0; i < 50; i++) {
        char name[64];
        snprintf(name, sizeof name, "Đội %d", i);
        CHECK_INT_EQ(add_team(st, name, false, &err), HM_OK);
    }
    hm_walvfs_stats(&in1, &out1, &ext1);
    /* Two writes per frame from SQLite (header and page), several frames a commit: at most
     * one write per commit reaches the file (plus the zeros ahead). */
    CHECK(in1 - in0 >= 4 * 50);
    CHECK(out1 - out0 <= 50 + (ext1 - ext0) / 0x1f000 + 2);
    snprintf(wal, sizeof wal, "%s-wal", db);
    CHECK(stat(wal, &sb) == 0);
    CHECK(sb.st_size > 0 && sb.st_size % HM_WALVFS_EXTEND == 0);
    CHECK(ext1 >= HM_WALVFS_EXTEND); /* at the first commits, in the open or after */
    hm_store_close(st);
}

static void test_killed_after_commits(const char *db)
{
    hm_error err = {0};
    pid_t pid;
    int status = 0, n = 0;
    hm_store *st;
    char msg[200] = "";
    int64_t last = 0;

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        hm_store *w = hm_store_open(db, HM_STORE_WRITER, &err);
        if (!w)
            _exit(2);
        for (int i = 0; i < 40; i++) {
            char name[64];
            snprintf(name, sizeof name, "Trước %d", i);
            if (add_team(w, name, i % 2 == 0, &err) != HM_OK)
                _exit(3);
        }
        if (hm_store_sync_committed(db, &err) != HM_OK)
            _exit(4);
        _exit(0); /* no close: the log stays as the killed server left it */
    }
    CHECK(pid > 0);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    st = hm_store_open(db, 0, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT_EQ(hm_store_team_list(st, true, count_team, &n, &err), HM_OK);
    CHECK_INT_EQ(n, 50 + 40);
    CHECK_INT_EQ(hm_store_check(st, msg, sizeof msg, &err), HM_OK);
    CHECK_STR_EQ(msg, "ok");
    /* The change log lists every change, early ones included, in order. */
    CHECK_INT_EQ(hm_store_changes_since(st, 0, 0, collect_change, &last, &err), HM_OK);
    CHECK(last >= 90);
    hm_store_close(st);
}

static void test_sync_without_log(void)
{
    hm_error err = {0};
    char path[300];
    snprintf(path, sizeof path, "%s/none.db", dir);
    CHECK_INT_EQ(hm_store_sync_committed(path, &err), HM_OK);
    CHECK_INT_EQ(hm_store_sync_committed("postgresql://127.0.0.1:1/none", &err), HM_OK);
}

int main(void)
{
    char db[300];

    hm_log_level = HM_LOG_ERROR;
    if (!mkdtemp(dir))
        return 1;
    snprintf(db, sizeof db, "%s/w.db", dir);
    CHECK(hm_walvfs_name() != NULL);
    test_writes_gathered_and_log_extended(db);
    test_killed_after_commits(db);
    test_sync_without_log();
    {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return hm_test_done("test_walvfs");
}
