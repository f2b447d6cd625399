"""What a recognizer returns, and how items become image bytes: shared by the LiteRT/ONNX
PortableRecognizer (recognizer.py) and the SavedModel Recognizer (serve/recognizer.py), without
TensorFlow.

    Prediction("hello", -0.12)          # text, score (log-probability), top_k, error
    read_item("a.jpg")                  # -> bytes, or the reason it has none (a str)
    class MyRecognizer(BaseRecognizer)  # recognize() / recognize_files() over _recognize_chunk
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from crnn_ctc.data.formats import SUPPORTED_FORMATS, sniff_format, unsupported_detail


@dataclasses.dataclass(frozen=True)
class Prediction:
    text: str
    score: float  # log-probability of the text (-inf for an item that could not be read)
    top_k: tuple[tuple[str, float], ...] = ()  # best paths, when decoded with top_paths > 1
    error: str | None = None  # why the item could not be read

    def as_row(self) -> dict:
        """The serving response's fields: text, score (+ texts, scores with top_k)."""
        row = {"text": self.text, "score": self.score}
        if self.top_k:
            row.update(texts=[t for t, _ in self.top_k], scores=[s for _, s in self.top_k])
        return row


class RecognitionError(ValueError):
    """Some items could not be read; ``predictions`` holds every item's result, in order."""

    def __init__(self, predictions: list[Prediction], labels: list[str]):
        bad = [f"{label}: {p.error}" for label, p in zip(labels, predictions, strict=True)
               if p.error]  # fmt: skip
        super().__init__(f"{len(bad)} of {len(predictions)} items could not be read: "
                         + "; ".join(bad))
        self.predictions = predictions


class BaseRecognizer:
    """recognize() and recognize_files() over a subclass's ``_recognize_chunk`` (a list of
    items -> one Prediction each)."""

    source = ""

    def recognize(self, items: Iterable, batch_size: int = 32,
                  on_error: str = "raise") -> list[Prediction]:  # fmt: skip
        """Paths, bytes or arrays (any iterable, read once) -> one Prediction each, in order.
        ``on_error="raise"``: a
        RecognitionError after every item was read, if some could not be; "keep": those come
        back with ``error`` set, text "" and score -inf."""
        if on_error not in ("raise", "keep"):
            raise ValueError(f"on_error must be 'raise' or 'keep', not {on_error!r}")
        if isinstance(items, (str, bytes, np.ndarray)):
            items = [items]  # one item, not a sequence of characters, bytes or rows
        items = list(items)  # a generator is read once: the labels below need the items again
        predictions = [p for chunk in chunks(items, batch_size)
                       for p in self._recognize_chunk(chunk)]  # fmt: skip
        if on_error == "raise" and any(p.error for p in predictions):
            raise RecognitionError(predictions, [label(i, x) for i, x in enumerate(items)])
        return predictions

    def recognize_files(self, paths: Sequence[str], batch_size: int = 32) -> Iterator[tuple]:
        """Yields (path, row, None) or (path, None, reason) in order, a batch at a time."""
        for chunk in chunks(list(paths), batch_size):
            for path, p in zip(chunk, self.recognize(chunk, batch_size, "keep"), strict=True):
                yield (path, None, p.error) if p.error else (path, p.as_row(), None)

    def _recognize_chunk(self, items: list) -> list[Prediction]:
        raise NotImplementedError


def chunks(items: list, size: int) -> Iterator[list]:
    if size < 1:
        raise ValueError(f"batch_size must be >= 1, not {size}")
    for start in range(0, len(items), size):
        yield items[start:start + size]


def array_problem(array: np.ndarray) -> str | None:
    """Why an array item cannot be read (None: it can): uint8 (H, W), (H, W, 1), (H, W, 3) RGB
    or (H, W, 4) RGBA only."""
    if array.dtype != np.uint8:
        return f"array dtype {array.dtype}: expected uint8 (0-255)"
    shape = array.shape + ((1,) if array.ndim == 2 else ())
    if len(shape) != 3 or shape[2] not in (1, 3, 4) or 0 in shape:
        return f"array shape {array.shape}: expected (H, W), (H, W, 3) RGB or (H, W, 4) RGBA"
    return None


def read_item(item) -> bytes | str:
    """A path or bytes -> encoded image bytes, or the reason it has none (a str)."""
    if isinstance(item, (str, os.PathLike)):
        try:
            with open(item, "rb") as f:
                item = f.read()
        except OSError as err:
            return f"cannot read {os.fspath(item)}: {err.strerror or err}"
    if not isinstance(item, (bytes, bytearray, memoryview)):
        return f"not a path, bytes or NumPy array but {type(item).__name__}"
    data = bytes(item)
    if not data:
        return "empty: 0 bytes"
    fmt = sniff_format(data)
    if fmt is None:
        return "not an image: not a JPEG, PNG, GIF or BMP file"
    if fmt not in SUPPORTED_FORMATS:
        return unsupported_detail(fmt)
    return data


def failed(reason: str) -> Prediction:
    return Prediction("", -math.inf, (), reason)


def label(index: int, item) -> str:
    if isinstance(item, (str, os.PathLike)):
        return f"item {index} ({os.fspath(item)})"
    kind = f"array {item.shape}" if isinstance(item, np.ndarray) else type(item).__name__
    return f"item {index} ({kind})"
