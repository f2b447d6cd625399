"""CTC decoding in NumPy for the LiteRT/ONNX files (no TensorFlow): per-step class
log-probabilities -> label ids and the log-probability of the text.

    logp = log_softmax(logits)          # a file's output: logits (B, T, C); an older file's
    logp = log_probs(probs)             # probabilities
    paths = decode(logp, blank_id, Decoder("beam", 10, 3))
    paths[0] -> [([7, 4, 11, 11, 14], -0.21), ...]            # top_paths (ids, score) per image
    paths = decode(logp, blank_id, decoder, steps)             # a line model: own steps each

The same rules as model/decoding.py (TensorFlow's decoders in the SavedModel):
  greedy  best class per step, repeats merged, blanks removed; score = the sum of the best
          steps' log-probabilities;
  beam    CTC prefix beam search; a labelling's score sums every frame path that spells it
          (blank / non-blank endings kept apart, so "aa" needs a blank between the a's).
          Classes more than PRUNE (natural log) below a step's best are not tried: a path through
          one is at least e^-20 less likely than the beam's best extension.
"""

from __future__ import annotations

import functools

import numpy as np

from crnn_ctc.model.decoder import Decoder

PRUNE = 20.0
TINY = 1e-30  # log(0) guard: an older int8 file's probabilities are often exactly 0


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """(..., C) logits -> log-probabilities over the last axis, float64."""
    x = np.asarray(logits, np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def log_probs(probs: np.ndarray) -> np.ndarray:
    """(..., C) probabilities (files written before the output kind was) -> their logs."""
    return np.log(np.maximum(np.asarray(probs, np.float64), TINY))


def greedy(logp: np.ndarray, blank_id: int) -> tuple[list[int], float]:
    """One image's (T, C) log-probabilities -> (ids, score)."""
    best = logp.argmax(axis=-1)
    score = float(logp[np.arange(len(best)), best].sum())
    ids, previous = [], -1
    for k in best.tolist():
        if k != previous and k != blank_id:
            ids.append(k)
        previous = k
    return ids, score


def beam_search(logp: np.ndarray, blank_id: int, beam_width: int = 10, top_paths: int = 1
                ) -> list[tuple[list[int], float]]:  # fmt: skip
    """One image's (T, C) log-probabilities -> the ``top_paths`` best (ids, score), best
    first."""
    beams = {(): (0.0, -np.inf)}  # prefix -> (log P(ends in blank), log P(ends in a label))
    for step in logp:
        blank = step[blank_id]
        tried = np.flatnonzero(step >= step.max() - PRUNE)
        tried = tried[tried != blank_id].tolist()
        grown: dict[tuple, list[float]] = {}
        add = functools.partial(_add, grown)
        for prefix, (p_blank, p_label) in beams.items():
            total = np.logaddexp(p_blank, p_label)
            add(prefix, 0, total + blank)
            last = prefix[-1] if prefix else None
            if last is not None:  # the last label again, no blank between: the same text
                add(prefix, 1, p_label + step[last])
            for c in tried:
                # after the same label only a blank-ending path starts a new one ("aa")
                add(prefix + (c,), 1, (p_blank if c == last else total) + step[c])
        ranked = sorted(grown.items(), key=lambda kv: -np.logaddexp(*kv[1]))
        beams = dict((prefix, tuple(p)) for prefix, p in ranked[:beam_width])
    ranked = sorted(beams.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:top_paths]
    return [(list(prefix), float(np.logaddexp(*p))) for prefix, p in ranked]


def _add(grown: dict, prefix: tuple, k: int, value: float) -> None:
    entry = grown.setdefault(prefix, [-np.inf, -np.inf])
    entry[k] = np.logaddexp(entry[k], value)


def decode(logp: np.ndarray, blank_id: int, decoder: Decoder,
           steps: list[int] | None = None) -> list[list[tuple]]:  # fmt: skip
    """(B, T, C) log-probabilities -> per image, decoder.top_paths (ids, score) best first.
    ``steps`` (B,): each image's own steps (a keep_aspect model's); the rest are padding."""
    if logp.ndim != 3:
        raise ValueError(f"log-probabilities of shape {logp.shape}: expected (batch, steps, "
                         "classes)")
    rows = list(logp) if steps is None else [row[:n] for row, n in zip(logp, steps, strict=True)]
    if decoder.width <= 1 and decoder.top_paths == 1:  # as model/decoding.decode
        return [[greedy(row, blank_id)] for row in rows]
    return [beam_search(row, blank_id, decoder.beam_width, decoder.top_paths) for row in rows]
