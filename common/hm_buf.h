/* hm_buf.h: growable byte buffer (like Redis sds, without the header trick)
 * and the aborting allocators. Not thread-safe per buffer; owned by the caller. */
#ifndef HM_BUF_H
#define HM_BUF_H

#include <stddef.h>

typedef struct hm_buf {
    char *data; /* NUL-terminated after every append; NULL until first append */
    size_t len;
    size_t cap;
} hm_buf;

/* Allocators that log and abort on failure: an unacknowledged request is safe
 * to lose, a half-handled one is not. */
void *hm_xmalloc(size_t n);
void *hm_xcalloc(size_t n, size_t size);
void *hm_xrealloc(void *p, size_t n);
char *hm_xstrdup(const char *s);
char *hm_xstrndup(const char *s, size_t n);

void hm_buf_init(hm_buf *b);
/* Free the buffer's memory and reinitialise it. */
void hm_buf_clear(hm_buf *b);
/* Ensure room for `extra` more bytes plus the terminator. */
void hm_buf_reserve(hm_buf *b, size_t extra);
void hm_buf_append(hm_buf *b, const void *data, size_t n);
void hm_buf_puts(hm_buf *b, const char *s);
void hm_buf_putc(hm_buf *b, char c);
void hm_buf_printf(hm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append `s` escaped for HTML or XML text and attribute values (& < > " '). */
void hm_buf_put_escaped(hm_buf *b, const char *s);
/* Value of one hexadecimal digit, or -1. */
int hm_hexval(char c);
/* Hand the bytes to the caller (free() them); the buffer is reinitialised. */
char *hm_buf_steal(hm_buf *b, size_t *len);

#endif
