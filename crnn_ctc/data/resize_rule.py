"""The resize rule as data: how a crop becomes the model's input, written in dataset.json and
config.json and read by every stage (the converter, tf.data, the serving graph, the portable
runtime), so no stage guesses it.

    rule = ResizeRule("keep_aspect", 32, 400)
    rule.target_width(64, 300)          # -> 150: a 300 x 64 crop becomes 150 x 32
    rule.target_width(20, 2000)         # -> 400: wider than 400 at height 32, squeezed to it
    ResizeRule("keep_aspect", 32, 400, min_width=64).target_width(32, 40)   # -> 64: stretched
    ResizeRule.from_json(info.get("resize"), (32, 100))   # files written before the rule: stretch

Rules:
  stretch      H x W, aspect not kept (the design card's 32 x 100 words; every model before
               the rule was written)
  keep_aspect  height H, width scaled by the same factor (rounded, at least 1 px), at most W:
               a crop wider than that at height H is squeezed to W (the converter counts them).
               Records are stored at their own width; batches are padded to their widest crop.
               ``min_width`` (0 = none): a crop narrower than that at height H is stretched
               to it, so a short word (a 40 x 32 "IN") still gets min_width / 4 CTC steps.
"""

from __future__ import annotations

import dataclasses

RULES = ("stretch", "keep_aspect")


@dataclasses.dataclass(frozen=True)
class ResizeRule:
    kind: str = "stretch"
    height: int = 32
    width: int = 100  # stretch: the width; keep_aspect: the widest a crop may become
    min_width: int = 0  # keep_aspect: the narrowest a crop may become (0 = its own width)

    def __post_init__(self):
        if self.kind not in RULES:
            raise ValueError(f"resize {self.kind!r}: choose one of {', '.join(RULES)}")
        if min(self.height, self.width) < 1:
            raise ValueError(f"resize {self.kind} to {self.height} x {self.width}: the height "
                             "and width must be >= 1")
        if self.min_width and not (self.keeps_aspect and 0 < self.min_width <= self.width):
            raise ValueError(f"resize {self.kind} with min_width {self.min_width}: a minimum "
                             f"width needs keep_aspect and 0 <= min_width <= width "
                             f"({self.width})")

    @property
    def keeps_aspect(self) -> bool:
        return self.kind == "keep_aspect"

    def natural_width(self, h: int, w: int) -> int:
        """A crop's width at the rule's height, aspect kept, before any cap (>= 1)."""
        return max(1, int(w * self.height / h + 0.5))

    def target_width(self, h: int, w: int) -> int:
        """The width an h x w crop gets."""
        if not self.keeps_aspect:
            return self.width
        return min(self.width, max(self.min_width, self.natural_width(h, w)))

    def squeezed(self, h: int, w: int) -> bool:
        """keep_aspect: the crop is wider than ``width`` at the rule's height (its aspect is
        then not kept)."""
        return self.keeps_aspect and self.natural_width(h, w) > self.width

    def to_json(self) -> dict:
        data = {"rule": self.kind, "height": self.height, "width": self.width}
        return {**data, "min_width": self.min_width} if self.min_width else data

    @classmethod
    def from_json(cls, data: dict | None, size: tuple[int, int]) -> ResizeRule:
        """dataset.json's / config.json's "resize" entry; ``size`` (H, W) and stretch where it
        is missing (files written before the rule was); min_width 0 where it is missing."""
        if not data:
            return cls("stretch", *size)
        try:
            return cls(data["rule"], int(data["height"]), int(data["width"]),
                       int(data.get("min_width", 0)))
        except (KeyError, TypeError) as err:
            raise ValueError(f"malformed resize entry {data!r}: expected rule, height and "
                             "width") from err
