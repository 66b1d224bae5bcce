/* hm_log.h: one key=value line per event on stderr, written with a single
 * write(2) so pool threads never interleave. Owns the level and the format;
 * callers own what they pass: never name, phone, note, tokens or bodies. */
#ifndef HM_LOG_H
#define HM_LOG_H

enum { HM_LOG_DEBUG = 0, HM_LOG_INFO = 1, HM_LOG_WARN = 2, HM_LOG_ERROR = 3 };

extern int hm_log_level;

#define hm_log(lvl, ...)                                                                           \
    do {                                                                                           \
        if ((lvl) >= hm_log_level)                                                                 \
            hm_log__write((lvl), __FILE__, __LINE__, __VA_ARGS__);                                 \
    } while (0)

void hm_log__write(int lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Send log lines to file descriptor `fd` (default 2). Call before threads start. */
void hm_log_set_fd(int fd);

#endif
