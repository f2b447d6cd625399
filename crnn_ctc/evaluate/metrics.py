"""Word accuracy and character error rate (CER), with the scene-text evaluation protocol.

    m = RecognitionMetrics(case_sensitive=False, alnum_only=True)   # the standard protocol
    m.update(predictions, targets)       # lists of strings, any number of times
    m.result() -> {"word_accuracy": 0.9, "cer": 0.02, "count": 3000, ...}

The standard protocol for IIIT5K/SVT/IC13/IC15/SVTP/CUTE80 compares case-insensitively and
ignores every character that is not an ASCII letter or digit, on both sides. CER is the total
Levenshtein distance (tf.edit_distance) over the total length of the references.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import tensorflow as tf

_NOT_ALNUM = re.compile("[^0-9A-Za-z]")


def normalize(text: str, case_sensitive: bool = False, alnum_only: bool = False) -> str:
    """The protocol's view of a string: lower-cased unless case_sensitive; with alnum_only,
    ASCII letters and digits only, as the benchmarks' protocol does
    (``re.sub('[^0-9a-z]', '', s.lower())``). Use alnum_only=False for other scripts."""
    if not case_sensitive:
        text = text.lower()
    if alnum_only:
        text = _NOT_ALNUM.sub("", text)
    return text


def _chars(texts: Sequence[str]):
    """Strings -> SparseTensor (B, max_len) of Unicode code points, for tf.edit_distance."""
    ragged = tf.strings.unicode_decode(tf.constant(list(texts), tf.string), "UTF-8")
    return ragged.to_sparse()


def edit_distances(predictions: Sequence[str], targets: Sequence[str]) -> list[int]:
    """Levenshtein distance of each prediction to its target, in characters."""
    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
    if not targets:
        return []
    dist = tf.edit_distance(_chars(predictions), _chars(targets), normalize=False)
    return [int(round(d)) for d in dist.numpy().tolist()]


class RecognitionMetrics:
    """Accumulates word accuracy and CER over batches of (prediction, target) strings."""

    def __init__(self, case_sensitive: bool = True, alnum_only: bool = False):
        self.case_sensitive = case_sensitive
        self.alnum_only = alnum_only
        self.count = self.correct = self.edits = self.chars = 0

    def update(self, predictions: Sequence[str], targets: Sequence[str]) -> list[bool]:
        """Adds a batch; returns whether each prediction is right under the protocol."""
        preds = [normalize(p, self.case_sensitive, self.alnum_only) for p in predictions]
        refs = [normalize(t, self.case_sensitive, self.alnum_only) for t in targets]
        dists = edit_distances(preds, refs)
        right = [p == r for p, r in zip(preds, refs, strict=True)]
        self.count += len(refs)
        self.correct += sum(right)
        self.edits += sum(dists)
        self.chars += sum(len(r) for r in refs)
        return right

    def result(self) -> dict:
        return {
            "word_accuracy": self.correct / self.count if self.count else 0.0,
            "cer": self.edits / self.chars if self.chars else float(self.edits > 0),
            "count": self.count,
            "correct": self.correct,
            "edit_distance": self.edits,
            "reference_chars": self.chars,
        }
