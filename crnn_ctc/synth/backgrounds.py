"""Photo backgrounds for the synthetic word generator: MJSynth blended its text with crops of
natural images; ``--backgrounds_dir`` gives the generator a folder of your own photos to crop.

    pool, skipped = Backgrounds.from_dir("photos/")   # skipped: ["path: reason", ...]
    patch = pool.crop(48, 200, rng)                    # (48, 200, 3) float32 RGB

Listing the folder reads each file's header only (data/image_header.py: its size, no pixel
decoded); a photo is decoded when first cropped, scaled down to MAX_SIDE on its longer side (a
word crop's region is at most 4x the crop) and kept as uint8 in a cache of CACHE_BYTES per
process, so a folder of 12 MP photos costs ~1.4 MB per cached photo, not 144 MB.

Never point it at an evaluation set's images: the crops would put test pixels into training.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import cv2
import numpy as np
from absl import logging

from crnn_ctc.data import image_np
from crnn_ctc.data.formats import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS
from crnn_ctc.data.image_header import header_problem, read_header
from crnn_ctc.synth.background_fetch import MAX_SIDE

MIN_SIDE = 16  # smaller images are left out
CACHE_BYTES = 64 * 2**20  # decoded (scaled, uint8) photos kept per process


class Backgrounds:
    def __init__(self, paths: list[str]):
        if not paths:
            raise ValueError("no background images")
        self.paths = list(paths)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()  # least recently used first
        self._cached_bytes = 0

    @classmethod
    def from_dir(cls, folder: str) -> tuple[Backgrounds, list[str]]:
        """Every decodable image under ``folder`` (recursively) -> (pool, skipped with reasons).
        Raises ValueError when none is usable."""
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"--backgrounds_dir {folder}: no such folder")
        paths, skipped = [], []
        for root, _, names in os.walk(folder):
            for name in sorted(names):
                if not name.lower().endswith(IMAGE_EXTENSIONS):
                    continue
                path = os.path.join(root, name)
                problem = _problem(path)
                if problem:
                    skipped.append(f"{path}: {problem}")
                else:
                    paths.append(path)
        if not paths:
            raise ValueError(f"--backgrounds_dir {folder}: no usable image "
                             f"({len(skipped)} left out)")
        return cls(sorted(paths)), skipped

    def _image(self, path: str) -> np.ndarray:
        """(h, w, 3) uint8 RGB, at most MAX_SIDE on its longer side."""
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        with open(path, "rb") as f:
            image = image_np.load_rgb(f.read())  # the header is checked before decoding
        h, w = image.shape[:2]
        scale = MAX_SIDE / max(h, w)
        if scale < 1.0:
            image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        while self._cache and self._cached_bytes + image.nbytes > CACHE_BYTES:
            self._cached_bytes -= self._cache.popitem(last=False)[1].nbytes
        self._cache[path] = image
        self._cached_bytes += image.nbytes
        return image

    def crop(self, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """A random region of a random image, resized to (h, w): (h, w, 3) float32 RGB. A photo
        whose pixels turn out corrupt (its header was fine) leaves the pool with a warning."""
        while True:
            path = self.paths[int(rng.integers(len(self.paths)))]
            try:
                image = self._image(path)
                break
            except image_np.ImageError as err:
                if len(self.paths) == 1:
                    raise ValueError(f"no usable background photo left: {path}: {err}") from err
                logging.warning("background photo left out: %s: %s", path, err)
                self.paths.remove(path)
        ih, iw = image.shape[:2]
        # the region has the crop's aspect ratio and 1-4x its size, as far as the image allows
        scale = min(rng.uniform(1.0, 4.0), ih / h, iw / w)
        rh, rw = max(1, int(h * scale)), max(1, int(w * scale))
        y = int(rng.integers(0, ih - rh + 1))
        x = int(rng.integers(0, iw - rw + 1))
        region = image[y:y + rh, x:x + rw].astype(np.float32)
        return cv2.resize(region, (w, h), interpolation=cv2.INTER_AREA)


def _problem(path: str) -> str | None:
    """Why a file cannot be a background, from its header alone (None: it can)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    problem = header_problem(data, DEFAULT_MAX_PIXELS)
    if problem:
        return ": ".join(problem)
    header = read_header(data, DEFAULT_MAX_PIXELS)
    if min(header.width, header.height) < MIN_SIDE:
        return f"smaller than {MIN_SIDE} px ({header.width}x{header.height})"
    return None
