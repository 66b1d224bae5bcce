/* fold.h: the search key of a text, so that "tan thanh dong", "TÂN THẠNH ĐÔNG" and
 * "Tân Thạnh Đông" (precomposed or decomposed) compare equal. Owns UTF-8 decoding with
 * recovery and the letter tables (Latin-1 Supplement, Latin Extended-A/B, Latin Extended
 * Additional: every Vietnamese letter); not matching or ranking (places.h) and not Unicode
 * normalisation beyond what search needs. Every function is thread-safe (no state) and
 * never fails. */
#ifndef HM_FOLD_H
#define HM_FOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "hm_buf.h"

/* Fold `len` bytes of UTF-8 text at `s` into its search key and append it to `out`:
 * - ASCII letters lower-cased; digits kept;
 * - every Latin letter with diacritics to its base letter (à á ả ã ạ ă ằ ắ ẳ ẵ ặ â ầ ấ ẩ ẫ ậ
 *   to "a", ơ ờ ớ ở ỡ ợ to "o", ư to "u", ...), đ/Đ (and ð) to "d", ligatures to two
 *   letters (æ "ae", ß "ss"); Greek and Cyrillic capitals lower-cased; fullwidth ASCII
 *   as ASCII;
 * - combining marks (U+0300..U+036F and the other combining blocks), soft hyphens,
 *   zero-width joiners and variation selectors dropped, so decomposed (NFD) input folds
 *   like precomposed input;
 * - everything else that is not a letter or digit (spaces, ASCII and Unicode punctuation,
 *   symbols, controls, and each byte of invalid UTF-8) separates words;
 * - other code points (CJK, Thai, ...) kept as they are.
 * Words are joined by exactly one ASCII space, with none leading or trailing:
 * "  Tân-Thạnh  Đông!" gives "tan thanh dong". The key is never longer than its input.
 * Returns the number of bytes appended (0 when the text has no word). */
size_t hm_fold(const char *s, size_t len, hm_buf *out);

/* Same as hm_fold() into `dst`, which must have room for `len` + 1 bytes; `dst` is
 * NUL-terminated. Returns the length of the key. Allocation-free. */
size_t hm_fold_into(const char *s, size_t len, char *dst);

/* True when `len` bytes at `s` are valid UTF-8: no overlong forms, no surrogates, nothing
 * past U+10FFFF, no truncated sequence. */
bool hm_utf8_valid(const char *s, size_t len);

#endif
