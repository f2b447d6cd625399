"""Renders the word images in test_data/ (run once; the images are committed).

    python test_data/render_test_data.py

Fonts: DejaVu (Bitstream Vera licence, free to use and redistribute), from Debian's
fonts-dejavu-core; only the rendered images are committed, not the fonts.
"""

import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
WORDS = [
    "Hello", "world", "CRNN", "tensor", "Serving", "receipt", "Total", "12.50", "invoice",
    "parking", "EXIT", "Station", "coffee", "open", "Street", "A18sk6897", "2024", "London",
    "future", "available", "Nevadans", "coley", "SALE", "pharmacy", "Hotel", "bakery",
    "Museum", "route66", "Platform", "delivery",
]  # fmt: skip
HERE = os.path.dirname(os.path.abspath(__file__))


def render(word: str, rng: random.Random) -> Image.Image:
    fonts = sorted(f for f in os.listdir(FONT_DIR) if f.endswith(".ttf"))
    font = ImageFont.truetype(os.path.join(FONT_DIR, rng.choice(fonts)), rng.randint(24, 56))
    left, top, right, bottom = font.getbbox(word)
    pad_x, pad_y = rng.randint(2, 14), rng.randint(2, 10)
    w, h = right - left + 2 * pad_x, bottom - top + 2 * pad_y
    bg = np.array([rng.randint(120, 255) for _ in range(3)], np.float32)
    grad = np.linspace(0, rng.uniform(-60, 60), w, dtype=np.float32)[None, :, None]
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 12), (h, w, 1))
    canvas = np.clip(bg + grad + noise, 0, 255).astype(np.uint8)
    im = Image.fromarray(canvas)
    fg = tuple(rng.randint(0, 90) for _ in range(3))
    ImageDraw.Draw(im).text((pad_x - left, pad_y - top), word, font=font, fill=fg)
    im = im.rotate(
        rng.uniform(-4, 4), resample=Image.BILINEAR, expand=False, fillcolor=tuple(bg.astype(int))
    )
    return im.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.2)))


def main():
    rng = random.Random(2026)
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    lines = []
    for i, word in enumerate(WORDS):
        name = f"images/{i:03d}_{word.replace('.', '_')}.jpg"
        render(word, rng).save(os.path.join(HERE, name), quality=rng.randint(70, 95))
        lines.append(f"{name} {word}\n")
    with open(os.path.join(HERE, "image_list.txt"), "w", encoding="utf-8") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
