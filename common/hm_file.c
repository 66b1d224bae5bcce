/* hm_file.c: creating files for users; see hm_file.h. */
#include "hm_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hm_file_create(const char *path, bool overwrite, hm_error *err)
{
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
    struct stat sb;
    int fd;

    /* O_NONBLOCK: a FIFO put where the file should go must not hang the command. */
    fd = open(path, flags | O_NONBLOCK, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            hm_error_set(err, HM_E_IN_USE, "out", "%s exists; give --force to overwrite it", path);
        else if (errno == ELOOP)
            hm_error_set(err, HM_E_FORBIDDEN, "out", "%s is a symbolic link; not followed", path);
        else
            hm_error_set(err, HM_E_IO, "out", "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        hm_error_set(err, HM_E_FORBIDDEN, "out", "%s is not a regular file", path);
        return -1;
    }
    /* The mode open() gave is masked by the umask; an overwritten file keeps its old one. */
    if (fchmod(fd, 0600) != 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        hm_error_set(err, HM_E_IO, "out", "cannot make %s private: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
