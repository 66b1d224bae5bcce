#include "hm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int hm_log_level = HM_LOG_INFO;
static int log_fd = 2;

void hm_log_set_fd(int fd)
{
    log_fd = fd;
}

void hm_log__write(int lvl, const char *file, int line, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char buf[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;
    const char *base = strrchr(file, '/');
    int k;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    k = snprintf(buf, sizeof buf, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s src=%s:%d ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000L,
                 names[lvl < 0   ? 0
                       : lvl > 3 ? 3
                                 : lvl],
                 base ? base + 1 : file, line);
    n = k < 0 ? 0 : (size_t)k;
    if (n < sizeof buf - 2) {
        va_start(ap, fmt);
        k = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
        va_end(ap);
        if (k > 0)
            n += (size_t)k < sizeof buf - n - 1 ? (size_t)k : sizeof buf - n - 2;
    }
    if (n > sizeof buf - 2)
        n = sizeof buf - 2;
    /* One line, whatever the message held. */
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n' || buf[i] == '\r')
            buf[i] = ' ';
    buf[n++] = '\n';
    if (write(log_fd, buf, n) < 0) {
        /* Nowhere left to report it. */
    }
}
