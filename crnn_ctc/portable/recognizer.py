"""Read words with a LiteRT (.tflite) or ONNX (.onnx) export, without TensorFlow: the Python
Recognizer's interface and preprocessing, with the model run by ai-edge-litert or onnxruntime
and CTC decoded in NumPy (portable/ctc.py).

    rec = PortableRecognizer.load("exported/crnn_int8.tflite")        # beam 10, as exports
    rec = PortableRecognizer.load("exported/crnn_fp32.onnx", Decoder("greedy", 1))
    preds = rec.recognize(["a.jpg", png_bytes, rgb_uint8_array])
    preds[0].text, preds[0].score, preds[0].top_k

Items are decoded and resized by data/image_np.py, the rule the converter and the SavedModel
follow (the SavedModel's TensorFlow decode agrees with it to within one grey level), so the
texts match the SavedModel's (tests/portable). A bad item gets its reason, as with Recognizer.
A keep_aspect (line) file: each crop is resized by its rule (height H, aspect kept, at most W),
padded right to W, and read over its own steps; a tall crop's three views at the turned crop's
width, as the SavedModel reads them.

Thread-safe: an application may share one PortableRecognizer between threads (a web server's
workers, say); each LiteRT call runs on an interpreter of its own (runtime.PortableModel).
"""

from __future__ import annotations

import numpy as np

from crnn_ctc.data import image_np
from crnn_ctc.data.charset import Charset
from crnn_ctc.data.resize_rule import ResizeRule
from crnn_ctc.model.decoder import TURNS, Decoder, best_turn
from crnn_ctc.portable import ctc
from crnn_ctc.portable.predictions import (
    BaseRecognizer,
    Prediction,
    array_problem,
    failed,
    read_item,
)
from crnn_ctc.portable.runtime import PortableModel


class PortableRecognizer(BaseRecognizer):
    def __init__(self, model: PortableModel, decoder: Decoder | None = None):
        self.model = model
        c = model.contract
        self.decoder = decoder or Decoder()
        self.rule = ResizeRule(c.resize, *c.image_size, c.min_width)
        self.charset = Charset(c.symbols)
        self.source = f"{c.format} {c.variant} {model.path}"

    @classmethod
    def load(cls, path: str, decoder: Decoder | None = None, num_threads: int | None = None,
             sharing: str = "pool") -> PortableRecognizer:  # fmt: skip
        """``decoder``: beam 10 by default, the SavedModel export's default. ``sharing``: how
        threads share a LiteRT file ("pool" of interpreters, or one behind a "lock")."""
        return cls(PortableModel.load(path, num_threads, sharing), decoder)

    def _image(self, item) -> list[np.ndarray] | str:
        """An item -> its (H, W, 3) uint8 model input (and, for a tall crop, the input of the
        crop turned counter-clockwise and clockwise: model/turns.py), or why it has none."""
        if isinstance(item, np.ndarray):
            problem = array_problem(item)
            rgb = None if problem else image_np.rgb_from_array(item)
        else:
            data = read_item(item)
            if isinstance(data, str):
                return data
            try:
                rgb = image_np.load_rgb(data, self.decoder.max_pixels)
            except image_np.ImageError as err:
                return str(err)
        if rgb is None:
            return problem
        h, w = self.model.contract.image_size
        ratio = self.decoder.tall_ratio
        if not (ratio and rgb.shape[0] > ratio * rgb.shape[1]):
            return [image_np.resize_by_rule(rgb, self.rule)]
        if self.rule.keeps_aspect:  # all three views at the turned crop's width (model/turns.py)
            w = self.rule.target_width(rgb.shape[1], rgb.shape[0])
        views = [np.ascontiguousarray(np.rot90(rgb, k)) for k in (0, *TURNS)]
        return [image_np.resize(view, h, w) for view in views]

    def _recognize_chunk(self, items: list) -> list[Prediction]:
        images = [self._image(item) for item in items]
        good = [view for im in images if not isinstance(im, str) for view in im]
        paths = iter(self._decode(good) if good else [])
        out = []
        for im in images:
            if isinstance(im, str):
                out.append(failed(im))
                continue
            reads = [next(paths) for _ in im]  # as it is, then any turned views
            chosen = reads[best_turn([(len(r[0][0]), r[0][1]) for r in reads])]
            best = [(self.charset.decode(ids), score) for ids, score in chosen]
            out.append(Prediction(best[0][0], best[0][1],
                                  tuple(best) if self.decoder.top_paths > 1 else ()))
        return out

    def _decode(self, views: list[np.ndarray]) -> list[list[tuple]]:
        c = self.model.contract
        if not self.rule.keeps_aspect:
            return ctc.decode(self.model.log_probabilities(np.stack(views)), c.blank_id,
                              self.decoder)
        batch, widths = image_np.pad_right(views, self.rule.width)
        return ctc.decode(self.model.log_probabilities(batch, widths), c.blank_id, self.decoder,
                          c.valid_steps(widths))
