"""Text / background colour pairs as real scene-text crops have them, for the word renderer.

    table = palette.measure(paths)                    # real TRAINING crops only
    palette.save(table, "crnn_ctc/synth/palette.json")
    bg, fg = palette.load().sample(rng)               # float32 RGB pair

Each crop is split into two colour clusters (k-means in RGB); the cluster that holds most of
the crop's border pixels is the background, the other the text. The (background, text) pairs
of all crops are then clustered (k-means, 6-D) into a table of centres, spreads and weights;
only that table ships (crnn_ctc/synth/palette.json, made by benchmarks/make_palette.py from
real_train/train_list_photo_disjoint.txt), never an image.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os

import cv2
import numpy as np

DEFAULT_TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "palette.json")


@dataclasses.dataclass(frozen=True)
class Palette:
    centres: np.ndarray  # (K, 6) float32: background RGB, text RGB
    spreads: np.ndarray  # (K, 6) float32: standard deviation within the cluster
    weights: np.ndarray  # (K,) float64, sums to 1

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A (background, text) RGB pair drawn from a cluster by weight, with its spread."""
        k = int(rng.choice(len(self.weights), p=self.weights))
        pair = np.clip(self.centres[k] + rng.normal(0, 1, 6) * self.spreads[k], 0, 255)
        return pair[:3].astype(np.float32), pair[3:].astype(np.float32)


def crop_pair(image: np.ndarray) -> np.ndarray | None:
    """(background RGB, text RGB) of one crop (H, W, 3) uint8 RGB, or None if flat."""
    small = cv2.resize(image, (64, 32), interpolation=cv2.INTER_AREA).reshape(-1, 3)
    pixels = small.astype(np.float32)
    if float(pixels.std(axis=0).max()) < 4.0:
        return None
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(pixels, 2, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    grid = labels.reshape(32, 64)
    border = np.concatenate([grid[0], grid[-1], grid[:, 0], grid[:, -1]])
    bg = int(np.bincount(border, minlength=2).argmax())
    return np.concatenate([centres[bg], centres[1 - bg]])


def measure(paths: list[str], clusters: int = 48, seed: int = 0) -> Palette:
    """The palette of the crops at ``paths`` (unreadable files are skipped)."""
    pairs = []
    for path in paths:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        pair = crop_pair(bgr[..., ::-1])
        if pair is not None:
            pairs.append(pair)
    if len(pairs) < clusters:
        raise ValueError(f"{len(pairs)} usable crops: need at least {clusters}")
    data = np.stack(pairs).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 0.1)
    cv2.setRNGSeed(seed)
    _, labels, centres = cv2.kmeans(data, clusters, None, criteria, 5, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    spreads = np.stack([data[labels == k].std(axis=0) if np.any(labels == k) else
                        np.zeros(6, np.float32) for k in range(clusters)])
    counts = np.bincount(labels, minlength=clusters).astype(np.float64)
    return Palette(centres.astype(np.float32), spreads.astype(np.float32),
                   counts / counts.sum())


def save(table: Palette, path: str, source: str = "") -> None:
    """Writes the table as JSON, a cluster per line."""
    rows = [json.dumps({"weight": round(float(w), 5),
                        "background": [round(float(v), 1) for v in c[:3]],
                        "text": [round(float(v), 1) for v in c[3:]],
                        "spread": [round(float(v), 1) for v in s]})
            for c, s, w in zip(table.centres, table.spreads, table.weights, strict=True)]
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'{{"source": {json.dumps(source)},\n"clusters": [\n' + ",\n".join(rows)
                + "\n]}\n")


@functools.lru_cache(maxsize=4)
def load(path: str = DEFAULT_TABLE) -> Palette:
    with open(path, encoding="utf-8") as f:
        clusters = json.load(f)["clusters"]
    if not clusters:
        raise ValueError(f"{path}: no colour clusters")
    centres = np.float32([c["background"] + c["text"] for c in clusters])
    spreads = np.float32([c["spread"] for c in clusters])
    weights = np.float64([c["weight"] for c in clusters])
    return Palette(centres, spreads, weights / weights.sum())
