"""The per-image half of the converter: file -> framed TFRecord bytes, or a reason it is skipped.

Runs in worker processes that never import TensorFlow (see record_writer.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2

from crnn_ctc.data import annotations, ctc_steps, image_np, record_writer
from crnn_ctc.data.resize_rule import ResizeRule

MISSING_FILE = "missing_file"
NOT_A_FILE = "not_a_file"
UNREADABLE = "unreadable"
EMPTY_FILE = "empty_file"
UNEXPECTED_ERROR = "unexpected_error"
SQUEEZED = "squeezed"  # a note on a written record: wider than the widest width, squeezed to it


@dataclass(frozen=True)
class WorkerConfig:
    image_dir: str
    height: int
    width: int
    image_format: str
    jpeg_quality: int
    max_pixels: int
    symbols: tuple[str, ...]
    resize: str = "stretch"  # resize_rule.RULES; keep_aspect: width = the widest a crop may be
    min_width: int = 0  # keep_aspect: the narrowest (resize_rule.py)


# (line, path, label) in; (line, path, framed record or None, reason, detail) out. A written
# record's reason is "" or a note (SQUEEZED).
Item = tuple[int, str, str]
Result = tuple[int, str, bytes | None, str, str]


class Processor:
    def __init__(self, config: WorkerConfig):
        # One OpenCV thread: parallelism comes from the worker processes, and OpenCV's own
        # thread pool costs more than it gives on 32x100 images.
        cv2.setNumThreads(1)
        self.config = config
        self.ids = {sym: i for i, sym in enumerate(config.symbols)}
        self.rule = ResizeRule(config.resize, config.height, config.width, config.min_width)

    def record(self, path: str, label: str) -> tuple[bytes, str]:
        """-> (framed record, note); raises image_np.ImageError (with a reason code) for an
        unusable image, or a label longer than a keep_aspect crop's own time steps allow."""
        cfg = self.config
        full = os.path.join(cfg.image_dir, path)
        try:
            with open(full, "rb") as f:
                data = f.read()
        except FileNotFoundError as err:
            raise image_np.ImageError(MISSING_FILE, f"no such file: {full}") from err
        except IsADirectoryError as err:
            raise image_np.ImageError(NOT_A_FILE, f"{full} is a directory") from err
        except OSError as err:
            raise image_np.ImageError(UNREADABLE, f"{type(err).__name__}: {err}") from err
        if not data:
            raise image_np.ImageError(EMPTY_FILE, "file has 0 bytes")
        image = image_np.load(data, cfg.max_pixels, bgr=True)
        h, w = image.shape[:2]
        width = self.rule.target_width(h, w)
        if self.rule.keeps_aspect:  # the label must fit this crop's own steps
            steps, need = ctc_steps.time_steps(width), ctc_steps.ctc_min_steps(label)
            if need > steps:
                raise image_np.ImageError(annotations.LABEL_TOO_LONG, (
                    f"needs {need} CTC steps (length {len(label)} + {need - len(label)} "
                    f"repeats) > the {steps} steps of its {width} x {cfg.height} crop "
                    f"({w} x {h} scaled to height {cfg.height})"))
        image = image_np.resize(image, cfg.height, width)
        encoded = image_np.encode(image, cfg.image_format, cfg.jpeg_quality, bgr=True)
        ids = [self.ids[ch] for ch in label]
        framed = record_writer.frame_record(record_writer.encode_example(
            encoded, cfg.image_format, label, ids, path,
            width if self.rule.keeps_aspect else None))  # fmt: skip
        return framed, SQUEEZED if self.rule.squeezed(h, w) else ""

    def process(self, items: list[Item]) -> list[Result]:
        out: list[Result] = []
        for line, path, label in items:
            try:
                framed, note = self.record(path, label)
                out.append((line, path, framed, note, ""))
            except image_np.ImageError as err:
                out.append((line, path, None, err.reason, err.detail))
            except Exception as err:  # noqa: BLE001 (one odd file must not end a 9M-image run)
                out.append((line, path, None, UNEXPECTED_ERROR, f"{type(err).__name__}: {err}"))
        return out


_PROCESSOR: Processor | None = None


def init_worker(config: WorkerConfig) -> None:
    global _PROCESSOR  # noqa: PLW0603 (one Processor per worker process)
    _PROCESSOR = Processor(config)


def process_in_worker(items: list[Item]) -> list[Result]:
    assert _PROCESSOR is not None, "init_worker was not called in this process"
    return _PROCESSOR.process(items)
