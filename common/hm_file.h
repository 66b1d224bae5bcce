/* hm_file.h: files helpmap writes for its users — exports, backups, a new database. Owns how
 * they are created: readable and writable by their owner only (0600, whatever the umask),
 * never through a symbolic link, never over a file that is already there unless the caller
 * says so (issue 11: exports and backups of every phone number were created 0644 and `--out`
 * followed symbolic links). Thread-safe. */
#ifndef HM_FILE_H
#define HM_FILE_H

#include <stdbool.h>

#include "hm_error.h"

/* Create `path` and open it for writing with mode 0600. An existing file is refused
 * (HM_E_IN_USE) unless `overwrite`, which empties it (mode set to 0600); a symbolic link as the
 * last component is refused either way (HM_E_FORBIDDEN), as is anything but a regular file.
 * Returns the descriptor (close-on-exec), or -1 with `err` filled (HM_E_IO for other
 * failures, field "out"). */
int hm_file_create(const char *path, bool overwrite, hm_error *err);

#endif
