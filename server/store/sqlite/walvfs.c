/* walvfs.c: the "hm-wal" VFS, see walvfs.h. A shim over the unix VFS: every method of the VFS
 * and of its files goes to the unix VFS, except that files opened as write-ahead logs
 * (SQLITE_OPEN_WAL) gather contiguous writes in a buffer until anything else happens to the
 * file, and grow by HM_WALVFS_EXTEND bytes of zeros at a time. */
#include "walvfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A commit larger than this goes out in several writes (each still one system call). */
#define BUF_MAX (1024 * 1024)
/* The unix VFS writes at most 0x1ffff bytes per call (it masks the length): larger pieces go
 * in parts of this size. */
#define WRITE_MAX 0x1f000

typedef struct wal_file {
    sqlite3_file base; /* pMethods: &wal_io (a log) or &pass_io (anything else) */
    sqlite3_file *real;
    bool log;
    /* A log's pending bytes: [off, off + len) of the file, not yet written. */
    unsigned char *buf;
    size_t len, cap;
    sqlite3_int64 off;
    sqlite3_int64 size; /* the file's size as written (zeros ahead included); -1: unknown */
} wal_file;

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs hm_vfs;
static sqlite3_io_methods wal_io, pass_io;
static bool registered;
static unsigned long long n_in, n_out, n_extended;
static __thread int defer_syncs; /* hm_walvfs_defer_syncs() */

#define REAL(f) (((wal_file *)(f))->real)

/* ---- files other than logs: every method passes through ---- */

static int pass_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int pass_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 ofs)
{
    return REAL(f)->pMethods->xRead(REAL(f), p, amt, ofs);
}

static int pass_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 ofs)
{
    return REAL(f)->pMethods->xWrite(REAL(f), p, amt, ofs);
}

static int pass_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int pass_sync(sqlite3_file *f, int flags)
{
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int pass_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int pass_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int pass_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int pass_check_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int pass_file_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int pass_sector_size(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int pass_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int pass_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int pass_shm_lock(sqlite3_file *f, int ofs, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), ofs, n, flags);
}

static void pass_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int pass_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int pass_fetch(sqlite3_file *f, sqlite3_int64 ofs, int amt, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), ofs, amt, pp);
}

static int pass_unfetch(sqlite3_file *f, sqlite3_int64 ofs, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), ofs, p);
}

/* ---- logs ---- */

/* Write `n` bytes at `ofs` with the unix VFS, in parts it takes whole. */
static int write_all(wal_file *w, const unsigned char *p, size_t n, sqlite3_int64 ofs)
{
    while (n > 0) {
        int part = n > WRITE_MAX ? WRITE_MAX : (int)n, rc;
        __atomic_add_fetch(&n_out, 1, __ATOMIC_RELAXED);
        if ((rc = w->real->pMethods->xWrite(w->real, p, part, ofs)) != SQLITE_OK)
            return rc;
        p += part;
        n -= (size_t)part;
        ofs += part;
    }
    return SQLITE_OK;
}

/* Make sure the file holds [0, end): zeros from its size up to `end` rounded up to
 * HM_WALVFS_EXTEND, so that the writes below it do not change its size. */
static int extend_to(wal_file *w, sqlite3_int64 end)
{
    static const unsigned char zeros[WRITE_MAX];
    sqlite3_int64 target, at;
    int rc;

    if (w->size < 0 && (rc = w->real->pMethods->xFileSize(w->real, &w->size)) != SQLITE_OK) {
        w->size = -1;
        return rc;
    }
    if (end <= w->size)
        return SQLITE_OK;
    target = (end + HM_WALVFS_EXTEND - 1) / HM_WALVFS_EXTEND * HM_WALVFS_EXTEND;
    for (at = w->size; at < target;) {
        int n = target - at < (sqlite3_int64)sizeof zeros ? (int)(target - at) : (int)sizeof zeros;
        if ((rc = w->real->pMethods->xWrite(w->real, zeros, n, at)) != SQLITE_OK) {
            w->size = -1;
            return rc;
        }
        at += n;
    }
    __atomic_add_fetch(&n_extended, (unsigned long long)(target - w->size), __ATOMIC_RELAXED);
    w->size = target;
    return SQLITE_OK;
}

/* Write the pending bytes. */
static int flush(wal_file *w)
{
    int rc;
    if (w->len == 0)
        return SQLITE_OK;
    if ((rc = extend_to(w, w->off + (sqlite3_int64)w->len)) == SQLITE_OK)
        rc = write_all(w, w->buf, w->len, w->off);
    w->len = 0;
    return rc;
}

static int wal_close(sqlite3_file *f)
{
    wal_file *w = (wal_file *)f;
    int rc = flush(w), rc2 = w->real->pMethods->xClose(w->real);
    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 ofs)
{
    wal_file *w = (wal_file *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, p, amt, ofs);
}

static int wal_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 ofs)
{
    wal_file *w = (wal_file *)f;
    const sqlite3_int64 end = w->off + (sqlite3_int64)w->len;
    int rc;

    __atomic_add_fetch(&n_in, 1, __ATOMIC_RELAXED);
    /* Within what is pending (SQLite rewriting a frame of the same transaction). */
    if (w->len > 0 && ofs >= w->off && ofs + amt <= end) {
        memcpy(w->buf + (ofs - w->off), p, (size_t)amt);
        return SQLITE_OK;
    }
    /* Anything but the continuation of what is pending: write that first. */
    if (w->len > 0 && (ofs != end || w->len + (size_t)amt > BUF_MAX) &&
        (rc = flush(w)) != SQLITE_OK)
        return rc;
    if ((size_t)amt > BUF_MAX) {
        if ((rc = extend_to(w, ofs + amt)) != SQLITE_OK)
            return rc;
        return write_all(w, p, (size_t)amt, ofs);
    }
    if (w->len == 0)
        w->off = ofs;
    if (w->len + (size_t)amt > w->cap) {
        size_t cap = w->cap ? w->cap : 64 * 1024;
        unsigned char *b;
        while (cap < w->len + (size_t)amt)
            cap *= 2;
        if (!(b = realloc(w->buf, cap))) {
            if ((rc = flush(w)) != SQLITE_OK || (rc = extend_to(w, ofs + amt)) != SQLITE_OK)
                return rc;
            return write_all(w, p, (size_t)amt, ofs);
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, (size_t)amt);
    w->len += (size_t)amt;
    return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    wal_file *w = (wal_file *)f;
    int rc = flush(w);
    if (rc != SQLITE_OK)
        return rc;
    w->size = -1;
    return w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
    wal_file *w = (wal_file *)f;
    int rc = flush(w);
    if (rc != SQLITE_OK || defer_syncs)
        return rc; /* deferred: hm_walvfs_sync_log() syncs it */
    return w->real->pMethods->xSync(w->real, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    wal_file *w = (wal_file *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
    wal_file *w = (wal_file *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

/* ---- the VFS ---- */

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    wal_file *w = (wal_file *)f;
    int rc;

    (void)vfs;
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)(w + 1);
    rc = unix_vfs->xOpen(unix_vfs, name, w->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (w->real->pMethods)
            w->real->pMethods->xClose(w->real);
        w->base.pMethods = NULL;
        return rc;
    }
    w->log = (flags & SQLITE_OPEN_WAL) != 0;
    w->size = -1;
    w->base.pMethods = w->log ? &wal_io : &pass_io;
    return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return unix_vfs->xDelete(unix_vfs, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return unix_vfs->xAccess(unix_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return unix_vfs->xFullPathname(unix_vfs, name, n, out);
}

static void *vfs_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return unix_vfs->xDlOpen(unix_vfs, name);
}

static void vfs_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    unix_vfs->xDlError(unix_vfs, n, msg);
}

static void (*vfs_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return unix_vfs->xDlSym(unix_vfs, h, sym);
}

static void vfs_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    unix_vfs->xDlClose(unix_vfs, h);
}

static int vfs_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return unix_vfs->xRandomness(unix_vfs, n, out);
}

static int vfs_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return unix_vfs->xSleep(unix_vfs, us);
}

static int vfs_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return unix_vfs->xCurrentTime(unix_vfs, out);
}

static int vfs_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return unix_vfs->xGetLastError(unix_vfs, n, out);
}

static int vfs_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return unix_vfs->xCurrentTimeInt64(unix_vfs, out);
}

static int vfs_set_syscall(sqlite3_vfs *v, const char *name, sqlite3_syscall_ptr p)
{
    (void)v;
    return unix_vfs->xSetSystemCall(unix_vfs, name, p);
}

static sqlite3_syscall_ptr vfs_get_syscall(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return unix_vfs->xGetSystemCall(unix_vfs, name);
}

static const char *vfs_next_syscall(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return unix_vfs->xNextSystemCall(unix_vfs, name);
}

static void do_register(void)
{
    unix_vfs = sqlite3_vfs_find("unix");
    /* The shim is written against version 3 of both tables (SQLite 3.7.6 and later). */
    if (!unix_vfs || unix_vfs->iVersion < 3)
        return;
    pass_io = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = pass_close,
        .xRead = pass_read,
        .xWrite = pass_write,
        .xTruncate = pass_truncate,
        .xSync = pass_sync,
        .xFileSize = pass_file_size,
        .xLock = pass_lock,
        .xUnlock = pass_unlock,
        .xCheckReservedLock = pass_check_reserved,
        .xFileControl = pass_file_control,
        .xSectorSize = pass_sector_size,
        .xDeviceCharacteristics = pass_device,
        .xShmMap = pass_shm_map,
        .xShmLock = pass_shm_lock,
        .xShmBarrier = pass_shm_barrier,
        .xShmUnmap = pass_shm_unmap,
        .xFetch = pass_fetch,
        .xUnfetch = pass_unfetch,
    };
    wal_io = pass_io;
    wal_io.xClose = wal_close;
    wal_io.xRead = wal_read;
    wal_io.xWrite = wal_write;
    wal_io.xTruncate = wal_truncate;
    wal_io.xSync = wal_sync;
    wal_io.xFileSize = wal_file_size;
    wal_io.xFileControl = wal_file_control;
    /* Logs are never memory-mapped by SQLite (only the database file is). */

    hm_vfs = (sqlite3_vfs){
        .iVersion = 3,
        .szOsFile = (int)sizeof(wal_file) + unix_vfs->szOsFile,
        .mxPathname = unix_vfs->mxPathname,
        .zName = "hm-wal",
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xDlOpen = vfs_dlopen,
        .xDlError = vfs_dlerror,
        .xDlSym = vfs_dlsym,
        .xDlClose = vfs_dlclose,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_current_time,
        .xGetLastError = vfs_last_error,
        .xCurrentTimeInt64 = vfs_current_time64,
        .xSetSystemCall = vfs_set_syscall,
        .xGetSystemCall = vfs_get_syscall,
        .xNextSystemCall = vfs_next_syscall,
    };
    registered = sqlite3_vfs_register(&hm_vfs, 0) == SQLITE_OK;
}

const char *hm_walvfs_name(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, do_register);
    return registered ? hm_vfs.zName : NULL;
}

void hm_walvfs_defer_syncs(int on)
{
    defer_syncs = on;
}

/* ---- syncing a log from any thread ---- */

/* fsync() the folder of `path`: a log SQLite just created must be found after a power cut.
 * (SQLite does so in the first sync of a connection that created it, and those syncs are the
 * ones deferred here.) */
static int sync_dir(const char *path)
{
    char dir[4096];
    char *slash;
    int fd, rc = SQLITE_OK;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    fd = open(dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (fd < 0)
        return SQLITE_CANTOPEN;
    if (fsync(fd) != 0)
        rc = SQLITE_IOERR_DIR_FSYNC;
    close(fd);
    return rc;
}

#define SYNC_SLOTS 8

static struct {
    char *path; /* "<db>-wal" */
    int fd;
    dev_t dev;
    ino_t ino;
} sync_slot[SYNC_SLOTS];
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;

int hm_walvfs_sync_log(const char *db_path)
{
    char path[4096];
    struct stat st;
    int i, rc = SQLITE_OK;

    if (snprintf(path, sizeof path, "%s-wal", db_path) >= (int)sizeof path)
        return SQLITE_CANTOPEN;
    pthread_mutex_lock(&sync_mu);
    for (i = 0; i < SYNC_SLOTS && sync_slot[i].path && strcmp(sync_slot[i].path, path) != 0; i++)
        ;
    if (i == SYNC_SLOTS) { /* full: the oldest slot goes */
        if (sync_slot[0].fd >= 0)
            close(sync_slot[0].fd);
        free(sync_slot[0].path);
        memmove(&sync_slot[0], &sync_slot[1], (SYNC_SLOTS - 1) * sizeof sync_slot[0]);
        i = SYNC_SLOTS - 1;
        sync_slot[i].path = NULL;
    }
    if (!sync_slot[i].path) {
        sync_slot[i].path = strdup(path);
        sync_slot[i].fd = -1;
        if (!sync_slot[i].path) {
            pthread_mutex_unlock(&sync_mu);
            return SQLITE_NOMEM;
        }
    }
    /* The log of the database now, not one SQLite deleted since (the last connection to close
     * deletes it; the next open makes a new file). */
    if (stat(path, &st) != 0) {
        rc = errno == ENOENT ? SQLITE_OK : SQLITE_IOERR_FSTAT;
        goto out;
    }
    if (sync_slot[i].fd >= 0 && (sync_slot[i].dev != st.st_dev || sync_slot[i].ino != st.st_ino)) {
        close(sync_slot[i].fd);
        sync_slot[i].fd = -1;
    }
    if (sync_slot[i].fd < 0) {
        /* A log not seen before: its folder entry made durable once (tried again at the next
         * sync when that fails). */
        if ((sync_slot[i].fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            rc = errno == ENOENT ? SQLITE_OK : SQLITE_CANTOPEN;
            goto out;
        }
        if ((rc = sync_dir(path)) != SQLITE_OK) {
            close(sync_slot[i].fd);
            sync_slot[i].fd = -1;
            goto out;
        }
        sync_slot[i].dev = st.st_dev;
        sync_slot[i].ino = st.st_ino;
    }
    if (fdatasync(sync_slot[i].fd) != 0)
        rc = SQLITE_IOERR_FSYNC;
out:
    pthread_mutex_unlock(&sync_mu);
    return rc;
}

void hm_walvfs_stats(unsigned long long *writes_in, unsigned long long *writes_out,
                     unsigned long long *extended)
{
    *writes_in = __atomic_load_n(&n_in, __ATOMIC_RELAXED);
    *writes_out = __atomic_load_n(&n_out, __ATOMIC_RELAXED);
    *extended = __atomic_load_n(&n_extended, __ATOMIC_RELAXED);
}
