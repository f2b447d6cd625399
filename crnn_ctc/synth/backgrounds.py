"""Photo backgrounds for the synthetic word generator: MJSynth blended its text with crops of
natural images; ``--backgrounds_dir`` gives the generator a folder of your own photos to crop.

    pool, skipped = Backgrounds.from_dir("photos/")   # skipped: ["path: reason", ...]
    patch = pool.crop(48, 200, rng)                    # (48, 200, 3) float32 RGB

Never point it at an evaluation set's images: the crops would put test pixels into training.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from crnn_ctc.data.formats import IMAGE_EXTENSIONS

MIN_SIDE = 16  # smaller images are left out
CACHE = 64  # decoded images kept per process


class Backgrounds:
    def __init__(self, paths: list[str]):
        if not paths:
            raise ValueError("no background images")
        self.paths = list(paths)
        self._cache: dict[str, np.ndarray] = {}

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
                image = cv2.imread(path, cv2.IMREAD_COLOR)
                if image is None:
                    skipped.append(f"{path}: cannot decode")
                elif min(image.shape[:2]) < MIN_SIDE:
                    skipped.append(f"{path}: smaller than {MIN_SIDE} px")
                else:
                    paths.append(path)
        if not paths:
            raise ValueError(f"--backgrounds_dir {folder}: no usable image "
                             f"({len(skipped)} left out)")
        return cls(sorted(paths)), skipped

    def _image(self, path: str) -> np.ndarray:
        if path not in self._cache:
            if len(self._cache) >= CACHE:
                self._cache.pop(next(iter(self._cache)))
            bgr = cv2.imread(path, cv2.IMREAD_COLOR)
            self._cache[path] = bgr[..., ::-1].astype(np.float32)
        return self._cache[path]

    def crop(self, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """A random region of a random image, resized to (h, w): (h, w, 3) float32 RGB."""
        image = self._image(self.paths[int(rng.integers(len(self.paths)))])
        ih, iw = image.shape[:2]
        # the region has the crop's aspect ratio and 1-4x its size, as far as the image allows
        scale = min(rng.uniform(1.0, 4.0), ih / h, iw / w)
        rh, rw = max(1, int(h * scale)), max(1, int(w * scale))
        y = int(rng.integers(0, ih - rh + 1))
        x = int(rng.integers(0, iw - rw + 1))
        return cv2.resize(image[y:y + rh, x:x + rw], (w, h), interpolation=cv2.INTER_AREA)
