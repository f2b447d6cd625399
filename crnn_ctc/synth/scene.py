"""Scene-text effects of the word renderer's "scene" style (render.STYLES), each a small function
of a float32 image or alpha layer and the random generator:

    neighbours    slivers of the characters and lines around the word, as a detector's crop
                  cuts them (drawn with the word, so they share its font, colour and warp)
    edges         a sign's border or a stroke of the next object near the crop's sides
    distractor    faint midground text and strokes behind the word
    relief        embossed, engraved or extruded letters (shading, not colour, carries them)
    elastic       smooth random displacement (worn paint, uneven surfaces)
    motion_blur   a linear blur at a random angle
    exposure      gamma, over/under exposure and vignetting

    image = scene.motion_blur(image, rng)      # (H, W, 3) float32 in, same shape out

What each costs and gains on real validation crops is in BENCHMARKS.md (synthetic data ablation).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from crnn_ctc.synth import fonts

# Narrow glyphs are left out of neighbours: a sliver of an "l" is a whole "l".
NARROW = set("iIjlft1r|!.,:;'")


def random_chars(symbols: str, rng: np.random.Generator, lo: int, hi: int) -> str:
    letters = [c for c in symbols if c.isalpha() and c not in NARROW] or list(symbols)
    n = int(rng.integers(lo, hi + 1))
    return "".join(letters[int(i)] for i in rng.integers(0, len(letters), n))


def neighbours(shape: tuple[int, int], font: ImageFont.FreeTypeFont, box, symbols: str,
               rng: np.random.Generator, lines: bool, tracking: float = 0.0) -> np.ndarray:
    """neighbour_image as a float32 (H, W) alpha layer in [0, 1]."""
    return np.asarray(neighbour_image(shape, font, box, symbols, rng, lines, tracking),
                      np.float32) / 255.0


def neighbour_image(shape: tuple[int, int], font: ImageFont.FreeTypeFont, box, symbols: str,
                    rng: np.random.Generator, lines: bool, tracking: float = 0.0,
                    beside: float = 0.8) -> Image.Image:
    """An alpha layer (same canvas as the word, ``box`` its text box) holding 1-3 characters
    at least a space (plus the word's own ``tracking``) left and right of the word (each with
    probability ``beside``) and, if
    ``lines``, parts of a text line above or below, as an "L" image; zeros where nothing was
    drawn. The crop (render.render) shows at most a sliver of them: see sliver_pad."""
    h, w = shape
    x0, y0, x1, y1 = box
    image = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(image)
    space = max(font.getlength(" "), 0.2 * font.size) + max(tracking, 0.0)
    if rng.random() < beside:
        left = random_chars(symbols, rng, 1, 3)
        gap = space * rng.uniform(0.8, 1.5)
        draw.text((x0 - gap - font.getlength(left), y0), left, font=font, fill=255)
    if rng.random() < beside:
        right = random_chars(symbols, rng, 1, 3)
        draw.text((x1 + space * rng.uniform(0.8, 1.5), y0), right, font=font, fill=255)
    if lines:
        line_h = y1 - y0
        for sign in (-1, 1):
            if rng.random() < 0.5:
                text = random_chars(symbols, rng, 6, 14)
                y = y0 + sign * line_h * rng.uniform(0.9, 1.3)
                x = x0 - font.getlength(text) * rng.uniform(0.0, 0.5)
                draw.text((x, y), text, font=font, fill=255)
    return image


def sliver_pad(outside: np.ndarray, start: int, step: int, most: float) -> int | None:
    """How far a crop side may reach out from ink column ``start`` (moving by ``step`` = -1
    left or +1 right) over ``outside``'s ink (H, W bool) before taking in more than ``most``
    pixels of it: None when nothing lies that way."""
    cols = np.flatnonzero(outside.any(axis=0))
    cols = cols[cols < start] if step < 0 else cols[cols >= start]
    if len(cols) == 0:
        return None
    nearest = cols.max() if step < 0 else cols.min()
    return int(abs(start - nearest) + most)


def edges(image: np.ndarray, rng: np.random.Generator, colour,
          ink_box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """1-2 straight strokes close to and nearly parallel with the crop's sides, inside the
    margin around ``ink_box`` (x0, y0, x1, y1 of the word's ink), so that a stroke never
    crosses a letter or passes for one (a vertical edge beside an "o" reads "ol")."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = ink_box or (w // 2, h // 2, w // 2, h // 2)
    out = image.copy()
    for _ in range(int(rng.integers(1, 3))):
        side = int(rng.integers(4))
        t = max(1, int(round(min(h, w) * rng.uniform(0.02, 0.08))))
        room = [y0, h - y1, x0, w - x1][side] - t - 1  # margin between the side and the ink
        if room < 1:
            continue
        d = rng.uniform(0.0, min(room, 0.12 * (h if side < 2 else w)))
        tilt = rng.normal(0, 0.01)
        if side < 2:  # top / bottom
            y = d if side == 0 else h - 1 - d
            p, q = (0, y), (w, y + np.clip(tilt * w, -room + d, room - d))
        else:  # left / right
            x = d if side == 2 else w - 1 - d
            p, q = (x, 0), (x + np.clip(tilt * h, -room + d, room - d), h)
        shade = tuple(float(v) for v in colour)
        cv2.line(out, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), shade, t, cv2.LINE_AA)
    return out


def distractor(image: np.ndarray, font: ImageFont.FreeTypeFont, symbols: str,
               rng: np.random.Generator) -> np.ndarray:
    """Faint text of another size and colour (and sometimes a stroke) behind the word."""
    h, w = image.shape[:2]
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    size = max(6, int(font.size * rng.uniform(0.4, 1.6)))
    small = fonts.sized(font.path, size)
    text = random_chars(symbols, rng, 3, 12)
    draw.text((rng.uniform(-0.5, 0.5) * w, rng.uniform(-0.6, 0.6) * h), text, font=small,
              fill=255)
    if rng.random() < 0.5:
        y = int(rng.uniform(0, h))
        draw.line((0, y, w, y + int(rng.normal(0, 0.1 * h))), fill=255,
                  width=max(1, int(h * rng.uniform(0.02, 0.1))))
    alpha = np.asarray(layer, np.float32)[..., None] / 255.0 * rng.uniform(0.15, 0.5)
    colour = rng.uniform(0, 255, 3).astype(np.float32)
    return image * (1 - alpha) + colour * alpha


def relief(image: np.ndarray, alpha: np.ndarray, ground: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """The word as relief on ``image``: embossed (lit from above-left), engraved (the
    opposite), or extruded (stacked darker copies behind the face, then the face in the ground
    colour lightened or darkened a little); ``alpha`` (H, W) is the word's coverage."""
    mode = rng.choice(["emboss", "engrave", "extrude"])
    size = max(1.0, alpha.shape[0] * rng.uniform(0.02, 0.05))
    if mode == "extrude":
        dx, dy = rng.normal(0, 1, 2)
        steps = int(rng.integers(2, 6))
        dark = ground * rng.uniform(0.2, 0.6)
        out = image
        for k in range(steps, 0, -1):
            shift = np.float32([[1, 0, dx * size * k / steps], [0, 1, dy * size * k / steps]])
            moved = cv2.warpAffine(alpha, shift, alpha.shape[::-1])[..., None]
            out = out * (1 - moved) + dark * moved
        face = np.clip(ground * rng.uniform(0.8, 1.3) + rng.uniform(-30, 30), 0, 255)
        return out * (1 - alpha[..., None]) + face * alpha[..., None]
    soft = cv2.GaussianBlur(alpha, (0, 0), size)
    gy, gx = np.gradient(soft)
    light = -(gx + gy) if mode == "emboss" else gx + gy
    light = light / (np.abs(light).max() + 1e-6)
    strength = rng.uniform(60, 140)
    tint = alpha[..., None] * rng.uniform(-25, 25)  # the face barely differs from the ground
    return image + light[..., None] * strength + tint


def elastic(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth random displacement of up to ~4% of the height."""
    h, w = image.shape[:2]
    amount = h * rng.uniform(0.01, 0.04)
    scale = max(2.0, h * rng.uniform(0.1, 0.3))
    fields = []
    for _ in range(2):
        noise = rng.normal(0, 1, (h, w)).astype(np.float32)
        field = cv2.GaussianBlur(noise, (0, 0), scale)
        field /= np.abs(field).max() + 1e-6
        fields.append(field * amount)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + fields[0], ys + fields[1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


def motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A line kernel 3-9% of the height long (at least 3 px) at a random angle."""
    length = max(3, int(round(image.shape[0] * rng.uniform(0.03, 0.09))) | 1)
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    kernel /= max(float(kernel.sum()), 1e-6)
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def exposure(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gamma 0.6-1.6, a gain of 0.7-1.3 and, half the time, a vignette."""
    x = np.clip(image, 0, 255) / 255.0
    x = x ** rng.uniform(0.6, 1.6) * rng.uniform(0.7, 1.3)
    if rng.random() < 0.5:
        h, w = image.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
        x = x * (1 - rng.uniform(0.2, 0.8) * r[..., None])
    return x * 255.0
