"""How a crop looks, in numbers: to compare synthetic words with real crops without training.

    stats = crop_stats.measure(bgr)          # one crop: contrast, sharpness, aspect
    table = crop_stats.summary(values)       # quantiles of many crops
    d = crop_stats.ks_distance(real, synth)  # 0 = same distribution, 1 = disjoint

Each crop is measured as the model sees it: grey, resized to 32 x 100 (INTER_AREA).
- contrast: Otsu's threshold splits the pixels in two; the gap between the two classes' mean
  grey levels (0-255). A washed-out word has a small gap.
- sharpness: the standard deviation of the Laplacian (blur and low resolution lower it).
- aspect: width / height of the crop before resizing.
- tilt: the angle (0-90 degrees) of the principal axis of the ink, on the crop scaled to 32 px
  high with its own aspect: the ink is the Otsu class that holds less of the border. About 0
  for a level word, larger for a turned one (and for short, tall words).
"""

from __future__ import annotations

import cv2
import numpy as np

MEASURES = ("contrast", "sharpness", "aspect", "tilt")
QUANTILES = (5, 10, 25, 50, 75, 90, 95)


def measure(bgr: np.ndarray, size: tuple[int, int] = (100, 32)) -> dict[str, float]:
    """The MEASURES of one crop, (H, W, 3) BGR or (H, W) grey uint8."""
    if bgr.ndim != 2 and (bgr.ndim != 3 or bgr.shape[2] not in (1, 3)):
        raise ValueError(f"a crop is (H, W) or (H, W, 1|3), not {bgr.shape}")
    h, w = bgr.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"an empty crop ({h} x {w})")
    grey = bgr if bgr.ndim == 2 else (bgr[..., 0] if bgr.shape[2] == 1 else
                                     cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    grey_full = grey
    grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    values = grey.astype(np.float32)
    bright, dark = values[values > threshold], values[values <= threshold]
    contrast = float(bright.mean() - dark.mean()) if bright.size and dark.size else 0.0
    sharpness = float(cv2.Laplacian(values, cv2.CV_32F).std())
    return {"contrast": contrast, "sharpness": sharpness, "aspect": w / h,
            "tilt": _tilt(cv2.resize(grey_full, (max(1, round(32 * w / h)), 32),
                                     interpolation=cv2.INTER_AREA))}


def _tilt(grey: np.ndarray) -> float:
    """Degrees (0-90) between the ink's principal axis and the horizontal."""
    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = binary > 0
    border = np.concatenate([bright[0], bright[-1], bright[:, 0], bright[:, -1]])
    ink = ~bright if border.mean() > 0.5 else bright
    ys, xs = np.nonzero(ink)
    if len(xs) < 3:
        return 0.0
    xs, ys = xs - xs.mean(), ys - ys.mean()
    angle = 0.5 * np.degrees(np.arctan2(2 * (xs * ys).mean(), (xs * xs).mean() - (ys * ys).mean()))
    return float(abs(angle))


def measure_files(paths: list[str]) -> tuple[dict[str, np.ndarray], list[tuple[str, str]]]:
    """MEASURES of every readable image at ``paths`` -> (name -> values, [(path, why skipped)])."""
    rows, skipped = [], []
    for path in paths:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            skipped.append((path, "not a readable image"))
            continue
        try:
            rows.append(measure(bgr))
        except ValueError as err:
            skipped.append((path, str(err)))
    return {k: np.array([r[k] for r in rows], np.float64) for k in MEASURES}, skipped


def summary(values: np.ndarray) -> dict[str, float]:
    """The QUANTILES of ``values`` (p5 ... p95), rounded to 0.01."""
    if len(values) == 0:
        raise ValueError("no values")
    points = np.percentile(values, QUANTILES)
    return {f"p{q}": round(float(v), 2) for q, v in zip(QUANTILES, points, strict=True)}


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError("both samples need values")
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / len(a)
    cdf_b = np.searchsorted(b, points, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())
