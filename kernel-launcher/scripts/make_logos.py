"""Draw the heapscope kernel logos (stdlib only): kernelspec/logo-svg.svg, logo-32x32.png, logo-64x64.png.

The outputs are committed; run this only to change the design:
    python kernel-launcher/scripts/make_logos.py
The design, in a 64x64 box: a rounded navy tile, three rising heap bars, and an amber peak line.
"""

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "kernelspec"
TILE = "#234e70"
BAR = "#f4f1de"
PEAK = "#f2a541"
# (x, y, width, height, radius, colour) in the 64x64 box, painted in order.
SHAPES = [
    (2, 2, 60, 60, 12, TILE),
    (12, 36, 11, 18, 1.5, BAR),
    (26.5, 26, 11, 28, 1.5, BAR),
    (41, 18, 11, 36, 1.5, BAR),
    (9, 10, 46, 3.5, 1.75, PEAK),
]


def svg() -> str:
    rects = "\n".join(
        f'  <rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{r}" fill="{c}"/>' for x, y, w, h, r, c in SHAPES
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">\n'
        "  <title>heapscope</title>\n" + rects + "\n</svg>\n"
    )


def _inside(px, py, x, y, w, h, r):
    if not (x <= px <= x + w and y <= py <= y + h):
        return False
    cx = min(max(px, x + r), x + w - r)
    cy = min(max(py, y + r), y + h - r)
    return (px - cx) ** 2 + (py - cy) ** 2 <= r * r


def _rgb(colour):
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def png(size: int, samples: int = 4) -> bytes:
    scale = 64 / size
    rows = []
    for j in range(size):
        row = bytearray(b"\0")  # filter type: none
        for i in range(size):
            total = [0, 0, 0]
            covered = 0
            for sj in range(samples):
                for si in range(samples):
                    px = (i + (si + 0.5) / samples) * scale
                    py = (j + (sj + 0.5) / samples) * scale
                    colour = None
                    for x, y, w, h, r, c in SHAPES:
                        if _inside(px, py, x, y, w, h, r):
                            colour = c
                    if colour:
                        covered += 1
                        for k, v in enumerate(_rgb(colour)):
                            total[k] += v
            n = samples * samples
            rgb = [round(t / covered) if covered else 0 for t in total]
            row += bytes([*rgb, round(255 * covered / n)])
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "logo-svg.svg").write_text(svg())
    for size in (32, 64):
        (OUT / f"logo-{size}x{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main()
