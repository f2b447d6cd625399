"""How a model's outputs are decoded: CTC beam search or greedy, with the serving limits. No
TensorFlow here: the SavedModel's graph (serve/graph.py) and the LiteRT/ONNX runtime
(crnn_ctc.portable) read the same settings.

    Decoder("beam", beam_width=10, top_paths=3)
"""

from __future__ import annotations

import dataclasses

from crnn_ctc.data.formats import DEFAULT_MAX_PIXELS


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

    def __post_init__(self):
        if self.kind not in ("beam", "greedy"):
            raise ValueError(f"decoder must be 'beam' or 'greedy', not {self.kind!r}")
        if self.kind == "greedy" and self.top_paths != 1:
            raise ValueError("greedy decoding gives one path: use --decoder beam for top_paths > 1")
        if self.kind == "beam" and not 1 <= self.top_paths <= self.beam_width:
            raise ValueError(
                f"top_paths={self.top_paths} must be between 1 and beam_width={self.beam_width}"
            )
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, not {self.max_pixels}")

    @property
    def width(self) -> int:  # decoding.decode's convention: 0 = greedy
        return self.beam_width if self.kind == "beam" else 0
