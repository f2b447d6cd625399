"""How a model's outputs are decoded: CTC beam search or greedy, with the serving limits. No
TensorFlow here: the SavedModel's graph (serve/graph.py) and the LiteRT/ONNX runtime
(crnn_ctc.portable) read the same settings.

    Decoder("beam", beam_width=10, top_paths=3)
    Decoder("greedy", tall_ratio=0)      # tall crops read only as they are

``tall_ratio``: a crop taller than tall_ratio x its width is also read turned 90 degrees each
way, and the read whose text is the most probable is kept (model/turns.py; ``best_turn`` is
the rule). 0 turns nothing.
"""

from __future__ import annotations

import dataclasses

from crnn_ctc.data.formats import DEFAULT_MAX_PIXELS

# Chosen on real_train/val_list_photo_disjoint.txt (70 of its 968 crops are taller than wide):
# 1.0 and 1.25 read the same there; the higher one turns fewer crops.
TALL_RATIO = 1.25
TURNS = (1, 3)  # np.rot90 / tf.image.rot90 k of the turned views: counter-clockwise, clockwise


@dataclasses.dataclass(frozen=True)
class Decoder:
    """How the exported graph decodes: "beam" (CTC prefix beam search) or "greedy"."""

    kind: str = "beam"
    beam_width: int = 10
    top_paths: int = 1
    max_pixels: int = DEFAULT_MAX_PIXELS
    # False: a bad image gets text "", score -inf and its reason in the "error" output, and the
    # rest of the batch is read. True: the request fails with INVALID_ARGUMENT instead.
    hard_errors: bool = False
    tall_ratio: float = TALL_RATIO

    def __post_init__(self):
        if self.kind not in ("beam", "greedy"):
            raise ValueError(f"decoder must be 'beam' or 'greedy', not {self.kind!r}")
        if self.kind == "greedy" and self.top_paths != 1:
            raise ValueError("greedy decoding gives one path: use --decoder beam for top_paths > 1")
        if self.kind == "beam" and not 1 <= self.top_paths <= self.beam_width:
            raise ValueError(
                f"top_paths={self.top_paths} must be between 1 and beam_width={self.beam_width}"
            )
        if not self.tall_ratio >= 0:
            raise ValueError(f"tall_ratio must be >= 0 (0 = read crops as they are), not "
                             f"{self.tall_ratio}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, not {self.max_pixels}")

    @property
    def width(self) -> int:  # decoding.decode's convention: 0 = greedy
        return self.beam_width if self.kind == "beam" else 0


def best_turn(reads) -> int:
    """Which read of a tall crop to keep: ``reads`` = [(length, score)] as it is, turned
    counter-clockwise, turned clockwise (score = log-probability of the text over the model's
    steps, one measure for every view and length: model/turns.py). The best score wins; a
    turned read that is empty never does; ties keep the earlier one."""

    def candidate(k: int) -> float:
        length, score = reads[k]
        return score if length or k == 0 else float("-inf")

    return max(range(len(reads)), key=lambda k: (candidate(k), -k))
