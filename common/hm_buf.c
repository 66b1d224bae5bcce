#include "hm_buf.h"

#include "hm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    hm_log(HM_LOG_ERROR, "event=out_of_memory bytes=%zu", n);
    abort();
}

void *hm_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *hm_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *hm_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *hm_xstrdup(const char *s)
{
    return hm_xstrndup(s, strlen(s));
}

char *hm_xstrndup(const char *s, size_t n)
{
    char *p = hm_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void hm_buf_init(hm_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void hm_buf_clear(hm_buf *b)
{
    free(b->data);
    hm_buf_init(b);
}

void hm_buf_reserve(hm_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = hm_xrealloc(b->data, cap);
    b->cap = cap;
}

void hm_buf_append(hm_buf *b, const void *data, size_t n)
{
    hm_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void hm_buf_puts(hm_buf *b, const char *s)
{
    hm_buf_append(b, s, strlen(s));
}

void hm_buf_putc(hm_buf *b, char c)
{
    hm_buf_append(b, &c, 1);
}

void hm_buf_printf(hm_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    hm_buf_reserve(b, 64);
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        hm_buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

char *hm_buf_steal(hm_buf *b, size_t *len)
{
    char *p;
    if (!b->data)
        hm_buf_reserve(b, 0), b->data[0] = '\0';
    p = b->data;
    if (len)
        *len = b->len;
    hm_buf_init(b);
    return p;
}

void hm_buf_put_escaped(hm_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
            case '<':
                hm_buf_puts(b, "&lt;");
                break;
            case '>':
                hm_buf_puts(b, "&gt;");
                break;
            case '&':
                hm_buf_puts(b, "&amp;");
                break;
            case '"':
                hm_buf_puts(b, "&quot;");
                break;
            case '\'':
                hm_buf_puts(b, "&#39;");
                break;
            default:
                hm_buf_putc(b, *s);
        }
    }
}

int hm_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
