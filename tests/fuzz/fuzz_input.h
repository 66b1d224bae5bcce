/* fuzz_input.h: a cursor over the fuzzer's bytes for the structured targets.
 * Reading past the end yields zeros, so every input is usable. Static
 * functions for the fuzz targets only. */
#ifndef HM_FUZZ_INPUT_H
#define HM_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define HM_FUZZ_CHECK(c)                                                                           \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);            \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

static inline uint8_t fz_u8(fz_in *in)
{
    uint8_t v = 0;
    if (in->n) {
        v = *in->p++;
        in->n--;
    }
    return v;
}

static inline uint16_t fz_u16(fz_in *in)
{
    uint16_t v = fz_u8(in);
    return (uint16_t)(v | fz_u8(in) << 8);
}

static inline uint32_t fz_u32(fz_in *in)
{
    uint32_t v = fz_u16(in);
    return v | (uint32_t)fz_u16(in) << 16;
}

/* Any double, NaN and infinities included. */
static inline double fz_double(fz_in *in)
{
    uint64_t bits = fz_u32(in);
    double d;
    bits |= (uint64_t)fz_u32(in) << 32;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* A NUL-terminated string of up to `max` bytes (any bytes but NUL) into buf. */
static inline const char *fz_str(fz_in *in, char *buf, size_t max)
{
    size_t len = fz_u8(in) % (max + 1), k = 0;
    for (size_t i = 0; i < len && in->n; i++) {
        char c = (char)fz_u8(in);
        if (c)
            buf[k++] = c;
    }
    buf[k] = '\0';
    return buf;
}

#endif
