#!/usr/bin/env python3
"""Print the letter tables of geodata/fold.c from Unicode character names.

A Latin letter named "LATIN SMALL|CAPITAL LETTER|LIGATURE X [WITH ...]" folds to
"x" (one or two letters: AE, OE, IJ, DZ, ...); a few letters whose base is
obvious but not in the name (sharp s, eth, thorn, dotless i, kra, eng, long s)
are listed by hand. Each code point is one character of the table: a-z is the
letter, an upper-case letter is an index into MULTI (two-letter folds), '.'
means "no fold: keep the code point". Usage: scripts/gen_fold_table.py
"""
import re
import unicodedata

NAMED = re.compile(r'^LATIN (SMALL|CAPITAL) (LETTER|LIGATURE) ([A-Z]{1,2})( WITH .*)?$')
ANY = re.compile(r'^LATIN (SMALL|CAPITAL) (LETTER|LIGATURE) (.*?)( WITH .*)?$')
BY_NAME = {'SHARP S': 'ss', 'ETH': 'd', 'THORN': 'th', 'DOTLESS I': 'i', 'KRA': 'k',
           'ENG': 'n', 'LONG S': 's'}
# Digraph letters whose name reads "D WITH SMALL LETTER Z", and two more.
BY_CODE = {0x1C5: 'dz', 0x1C8: 'lj', 0x1CB: 'nj', 0x1F2: 'dz', 0x149: 'n', 0x237: 'j'}
BLOCKS = [(0x00C0, 0x0250), (0x1E00, 0x1F00)]


def fold(cp):
    if cp in BY_CODE:
        return BY_CODE[cp]
    name = unicodedata.name(chr(cp), '')
    m = NAMED.match(name)
    if m:
        return m.group(3).lower()
    m = ANY.match(name)
    if m and m.group(3) in BY_NAME:
        return BY_NAME[m.group(3)]
    return None


def main():
    multi = []
    for lo, hi in BLOCKS:
        print('/* U+%04X..U+%04X: static const char table[][17] = { */' % (lo, hi - 1))
        for row in range(lo, hi, 16):
            cells = []
            for cp in range(row, row + 16):
                f = fold(cp)
                if f is None:
                    cells.append('.')
                elif len(f) == 1:
                    cells.append(f)
                else:
                    if f not in multi:
                        multi.append(f)
                    cells.append(chr(ord('A') + multi.index(f)))
            print('    "%s", /* U+%04X */' % (''.join(cells), row))
    print('MULTI = %s' % ', '.join('"%s"' % m for m in multi))


if __name__ == '__main__':
    main()
