"""Glyph checks that a font's character map cannot tell: are its letters letters, and which case?

    verdict = font_checks.check(ImageFont.truetype(path, font_checks.SIZE), sorted(chars))
    verdict.caps_only   # lower case drawn as capitals or small capitals: labels get upper-cased
    verdict.blank       # characters whose glyph is a speck beside the font's others
    verdict.reason      # why the font should be left out, or "" when it is usable

Large pools (Google Fonts has ~1,900 families) hold faces that map every letter but draw no
letter: barcodes, redaction bars, block, line and keycap "fonts". And ~10% of display faces are
capitals only, which would teach a case-sensitive model that "A" is read "a". Every measure
compares a glyph with the same font's other glyphs, each cropped to its ink box, resized to
16 x 16 and mean-centred (so size and weight drop out); thresholds were set on the Google Fonts
pool (BENCHMARKS.md, font pool).
"""

from __future__ import annotations

import dataclasses
import string

import cv2
import numpy as np
from PIL import ImageFont

SIZE = 48  # pixels per em when drawing
GRID = 16
# lower-case letters whose shape differs from their capital in ordinary faces ...
DISTINCT_LOWER = "abdefghnqrty"
# ... and those without ascender or descender (x-height tall in ordinary faces)
SHORT_LOWER = "aemnru"
CAPS_SHAPE = 0.85  # median shape similarity lower vs capital at least this -> caps-only
CAPS_HEIGHT = 0.93  # median height lower / capital at least this -> caps-only
ALIKE = 0.68  # mean similarity between different glyphs at least this -> not letters
BARS = 0.9  # median share of a glyph's upper half explained by its column means -> barcode
BLANK_SHARE = 0.08  # ink below this share of the median glyph's -> a blank character


@dataclasses.dataclass(frozen=True)
class Verdict:
    caps_only: bool
    blank: frozenset[str]
    reason: str


def _ink(font: ImageFont.FreeTypeFont, char: str) -> np.ndarray | None:
    """The glyph's coverage (h, w) float32 in [0, 1], cropped to its ink; None if empty."""
    mask = font.getmask(char)
    w, h = mask.size
    if w == 0 or h == 0:
        return None
    a = np.asarray(mask, np.float32).reshape(h, w) / 255.0
    ys, xs = np.nonzero(a > 0.1)
    if len(ys) == 0:
        return None
    return a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _shape(ink: np.ndarray) -> np.ndarray:
    """Size-free shape vector: GRID x GRID, mean-centred, unit length (zeros if flat)."""
    v = cv2.resize(ink, (GRID, GRID), interpolation=cv2.INTER_AREA).ravel()
    v = v - v.mean()
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _bar_share(ink: np.ndarray) -> float:
    """Share of the upper half's variance that its column means explain (1.0 for a bar)."""
    top = ink[:max(1, ink.shape[0] // 2)]
    total = float(((top - top.mean()) ** 2).sum())
    if total == 0:
        return 1.0
    return 1.0 - float(((top - top.mean(axis=0, keepdims=True)) ** 2).sum()) / total


def check(font: ImageFont.FreeTypeFont, chars, space_mapped: bool | None = None) -> Verdict:
    """The checks on ``chars`` (the characters the character map says the font has);
    ``space_mapped``: whether the map has a space (default: whether ``chars`` has one)."""
    if space_mapped is None:
        space_mapped = " " in chars
    inks = {c: i for c in chars if not c.isspace() and (i := _ink(font, c)) is not None}
    if not inks:
        return Verdict(False, frozenset(), "")
    amount = {c: float(i.sum()) for c, i in inks.items()}
    median = float(np.median(list(amount.values())))
    blank = frozenset(c for c, n in amount.items() if n < BLANK_SHARE * median)
    alnum = [c for c in inks if c in string.ascii_letters + string.digits and c not in blank]
    shapes = {c: _shape(inks[c]) for c in alnum}
    reason = ""
    # One glyph per case-folded letter: capitals and lower case may rightly be alike.
    distinct = sorted({c.lower(): c for c in alnum}.values())
    if len(distinct) >= 8:
        v = np.stack([shapes[c] for c in distinct])
        sims = v @ v.T
        alike = float((sims.sum() - np.trace(sims)) / (len(v) * (len(v) - 1)))
        bars = float(np.median([_bar_share(inks[c]) for c in distinct]))
        if space_mapped and _ink(font, " ") is not None:  # (unmapped: the .notdef box)
            reason = ("its space draws ink: guide lines, a grid or a highlight box come with "
                      "every letter")
        elif alike >= ALIKE:
            reason = (f"its glyphs look alike (mean similarity {alike:.2f}): a block, line, "
                      "redaction or keycap font")
        elif bars >= BARS:
            reason = f"its glyphs are vertical bars ({bars:.2f}): a barcode font"
    pairs = [c for c in DISTINCT_LOWER if c in shapes and c.upper() in shapes]
    short = [c for c in SHORT_LOWER if c in inks and c.upper() in inks]
    caps_only = False
    if len(pairs) >= 4:
        shape = float(np.median([shapes[c] @ shapes[c.upper()] for c in pairs]))
        height = float(np.median([inks[c].shape[0] / inks[c.upper()].shape[0] for c in short])) \
            if short else 0.0
        caps_only = shape >= CAPS_SHAPE or height >= CAPS_HEIGHT
    return Verdict(caps_only=caps_only, blank=blank, reason=reason)
