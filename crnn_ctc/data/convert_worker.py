"""The per-image half of the converter: file -> framed TFRecord bytes, or a reason it is skipped.

Runs in worker processes that never import TensorFlow (see record_writer.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2

from crnn_ctc.data import image_np, record_writer

MISSING_FILE = "missing_file"
NOT_A_FILE = "not_a_file"
UNREADABLE = "unreadable"
EMPTY_FILE = "empty_file"
UNEXPECTED_ERROR = "unexpected_error"


@dataclass(frozen=True)
class WorkerConfig:
    image_dir: str
    height: int
    width: int
    image_format: str
    jpeg_quality: int
    max_pixels: int
    symbols: tuple[str, ...]


# (line, path, label) in; (line, path, framed record or None, reason, detail) out.
Item = tuple[int, str, str]
Result = tuple[int, str, bytes | None, str, str]


class Processor:
    def __init__(self, config: WorkerConfig):
        # One OpenCV thread: parallelism comes from the worker processes, and OpenCV's own
        # thread pool costs more than it gives on 32x100 images.
        cv2.setNumThreads(1)
        self.config = config
        self.ids = {sym: i for i, sym in enumerate(config.symbols)}

    def record(self, path: str, label: str) -> bytes:
        """Raises image_np.ImageError (with a reason code) for an unusable image."""
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
        image = image_np.resize(image, cfg.height, cfg.width)
        encoded = image_np.encode(image, cfg.image_format, cfg.jpeg_quality, bgr=True)
        ids = [self.ids[ch] for ch in label]
        return record_writer.frame_record(
            record_writer.encode_example(encoded, cfg.image_format, label, ids, path)
        )

    def process(self, items: list[Item]) -> list[Result]:
        out: list[Result] = []
        for line, path, label in items:
            try:
                out.append((line, path, self.record(path, label), "", ""))
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
