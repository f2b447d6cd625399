"""How long a label the CTC head can emit for a given image width.

The CRNN backbone pools the width by 2, 2, 1, 1 (pools 2x2, 2x2, 2x1, 2x1), so a W-pixel wide
image gives T = W // 4 time steps (25 for the paper's 100). CTC can only emit a label of length L
when T >= L + R, where R counts adjacent repeated symbols ("ll" in "hello"): a blank must
separate a repeat. Labels that need more steps can never be learned, so the converter skips them.
"""

from __future__ import annotations

from collections.abc import Sequence

WIDTH_STRIDE = 4


def time_steps(image_width: int) -> int:
    """Number of CTC time steps for an image ``image_width`` pixels wide."""
    return image_width // WIDTH_STRIDE


def ctc_min_steps(label: Sequence) -> int:
    """Fewest CTC frames that can emit ``label``: its length plus its adjacent repeats."""
    repeats = sum(1 for a, b in zip(label, label[1:], strict=False) if a == b)
    return len(label) + repeats
