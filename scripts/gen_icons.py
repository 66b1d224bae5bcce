#!/usr/bin/python3
"""gen_icons.py: draw the resident app's icons (web/assets/icons/icon-{192,512}.png) — the white
map pin of /assets/icon.svg on the brand red, full bleed so that the same file serves as a
"maskable" icon (the pin stays inside the central 60 %). Deterministic; Python standard library
only. Run from the repository root: scripts/gen_icons.py"""
import os
import struct
import zlib

RED = (0xb9, 0x1c, 0x1c)
WHITE = (0xff, 0xff, 0xff)
SS = 4  # supersampling per axis


def inside_pin(x, y):
    """The pin in unit coordinates: a disc on top of a triangle down to the tip, a hole."""
    cx, cy, r, tip = 0.5, 0.42, 0.19, 0.80
    d2 = (x - cx) ** 2 + (y - cy) ** 2
    if d2 <= (r * 0.42) ** 2:
        return False  # the hole
    if d2 <= r * r:
        return True
    if cy <= y <= tip:
        half = r * 0.93 * (tip - y) / (tip - cy)
        return abs(x - cx) <= half
    return False


def draw(size):
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            n = 0
            for sy in range(SS):
                for sx in range(SS):
                    if inside_pin((px + (sx + 0.5) / SS) / size, (py + (sy + 0.5) / SS) / size):
                        n += 1
            a = n / (SS * SS)
            row += bytes(round(RED[i] * (1 - a) + WHITE[i] * a) for i in range(3))
        rows.append(bytes(row))
    return b''.join(rows)


def png(size, pixels):
    def chunk(kind, data):
        c = struct.pack('>I', len(data)) + kind + data
        return c + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    ihdr = struct.pack('>IIBBBBB', size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) +
            chunk(b'IDAT', zlib.compress(pixels, 9)) + chunk(b'IEND', b''))


def main():
    out = os.path.join('web', 'assets', 'icons')
    os.makedirs(out, exist_ok=True)
    for size in (192, 512):
        path = os.path.join(out, 'icon-%d.png' % size)
        with open(path, 'wb') as f:
            f.write(png(size, draw(size)))
        print(path)


if __name__ == '__main__':
    main()
