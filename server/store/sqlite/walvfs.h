/* walvfs.h: the SQLite VFS of helpmap's connections ("hm-wal"): SQLite's own unix VFS, except
 * for write-ahead log files, which it writes the way a durable log should be written:
 *
 * - A commit's frames go to the file in one pwrite: SQLite writes each frame as two writes
 *   (its 24-byte header, then the page), so a batch that changed 40 pages cost 80 system calls
 *   and 80 partial page-cache updates before the fsync. The frames of a commit are contiguous;
 *   they wait in memory until SQLite syncs the log (or reads it, asks its size, truncates it,
 *   or writes elsewhere), and then go out at once. Nothing changes in what is on disk at each
 *   sync: a sync writes everything buffered first, so a commit SQLite reports as done has
 *   every byte of it written and fsynced, as before.
 * - The log file is extended ahead of its frames with real zeros, in steps of
 *   HM_WALVFS_EXTEND bytes, and synced once then: a commit that appends frames overwrites
 *   blocks the file already has, so its fdatasync writes data only, without the inode (the
 *   file size) that ext4 and others otherwise write and wait for on every commit. SQLite reads
 *   a log only up to its first invalid frame; zeros never form a valid frame.
 *
 * - Syncs of a log can be taken off the committing thread (hm_walvfs_defer_syncs()): the
 *   writer's pipeline (writer.h) commits a batch, starts the next, and answers the first
 *   once hm_walvfs_sync_log() returned on another thread.
 *
 * Owns no data of its own beyond each open log's buffer and the descriptors of
 * hm_walvfs_sync_log(); the main database file and every other file go straight to the unix
 * VFS. */
#ifndef HM_WALVFS_H
#define HM_WALVFS_H

/* Bytes by which a log file grows at a time (zeros written and synced). */
#define HM_WALVFS_EXTEND (1024 * 1024)

/* The name of the VFS to pass to sqlite3_open_v2(), registered on first call (thread-safe);
 * NULL if it could not be registered (then SQLite's default VFS serves). */
const char *hm_walvfs_name(void);

/* On the calling thread, until called again with false: a sync SQLite asks of a log writes
 * what is pending and returns without the fsync, which hm_walvfs_sync_log() must then do
 * before the commit is reported durable. Only for a connection that never checkpoints (a
 * checkpoint syncs the log before it copies frames into the database: that sync must be real;
 * the checkpointer's own connection runs on its own thread). */
void hm_walvfs_defer_syncs(int on);

/* fdatasync() the write-ahead log of database `db_path` ("<db_path>-wal"): everything written
 * to it before the call is durable when it returns SQLITE_OK. Any thread; keeps a descriptor
 * per path, reopened when the log file was replaced. SQLITE_OK also when there is no log. */
int hm_walvfs_sync_log(const char *db_path);

/* Counters of the open logs so far (for tests): frames' writes received, writes issued to the
 * file, bytes of zeros written ahead. */
void hm_walvfs_stats(unsigned long long *writes_in, unsigned long long *writes_out,
                     unsigned long long *extended);

#endif
