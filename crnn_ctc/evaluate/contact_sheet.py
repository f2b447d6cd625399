"""A contact sheet: word images in a grid with the predicted text under each, green when right,
red when wrong (with the true label beside it in grey); text lines one per row.

    contact_sheet.write(report["sets"]["test"]["predictions"], "sheet.png",
                        title="held-out fonts: 95.1% word accuracy")

``rows`` are evaluate.evaluate() predictions: {"path", "label", "prediction", "correct"}.
"""

from __future__ import annotations

import os

from PIL import Image, ImageDraw, ImageFont

GREEN, RED, GREY, INK = (0, 140, 40), (210, 20, 20), (110, 110, 110), (20, 20, 20)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1: a scalable TrueType font
    except TypeError:
        return ImageFont.load_default()


def _thumbnail(path: str, width: int, height: int) -> Image.Image:
    """The image scaled to ``height`` (at most ``width`` wide); a grey box if unreadable."""
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            scale = min(height / im.height, width / im.width)
            size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
            return im.resize(size, Image.BILINEAR)
    except (OSError, ValueError):
        return Image.new("RGB", (height * 2, height), (200, 200, 200))


LINE_CELL_WIDTH = 1000


def write(rows: list[dict], out_path: str, title: str = "", columns: int = 0,
          limit: int = 60, cell_width: int = 0, image_height: int = 40,
          lines: bool = False) -> int:
    """Draws the first ``limit`` rows into ``out_path`` (PNG) -> the number drawn.
    ``columns`` / ``cell_width`` 0: 6 columns of 180 px for words; ``lines`` (a keep_aspect
    model's text lines): one per row, LINE_CELL_WIDTH px wide, so a long line stays legible."""
    rows = [r for r in rows if r.get("path")][:limit]
    if not rows:
        raise ValueError("no predictions with an image path to draw")
    columns = columns or (1 if lines else 6)
    cell_width = cell_width or (LINE_CELL_WIDTH if lines else 180)
    font, small = _font(15), _font(12)
    line = 18
    cell_h = image_height + 2 * line + 10
    header = 30 if title else 0
    n_rows = (len(rows) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell_width, header + n_rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((8, 6), title, fill=INK, font=font)
    for k, row in enumerate(rows):
        x = (k % columns) * cell_width
        y = header + (k // columns) * cell_h
        thumb = _thumbnail(row["path"], cell_width - 10, image_height)
        sheet.paste(thumb, (x + (cell_width - thumb.width) // 2, y + 4))
        ty = y + image_height + 8
        text = row["prediction"] or "(empty)"
        draw.text((x + 6, ty), text, fill=GREEN if row["correct"] else RED, font=font)
        if not row["correct"]:
            draw.text((x + 6, ty + line), f"true: {row['label']}", fill=GREY, font=small)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    sheet.save(out_path)
    return len(rows)

