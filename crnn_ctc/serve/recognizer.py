"""Read words from Python: images in, text and score out, through the serving graph.

    import crnn_ctc
    rec = crnn_ctc.Recognizer.load()                     # the shipped English model
    rec = crnn_ctc.Recognizer.load("exported/crnn")      # export base: its highest version
    rec = crnn_ctc.Recognizer.load("exported/crnn/3")    # one SavedModel version
    rec = crnn_ctc.Recognizer.load("runs/small", decoder=Decoder("beam", 10, 3))  # checkpoint
    preds = rec.recognize(["a.jpg", open("b.png", "rb").read(), rgb_uint8_array])
    preds[0].text, preds[0].score, preds[0].top_k       # top_k: [(text, score), ...] with K > 1

Items are file paths, encoded bytes (JPEG, PNG, GIF, BMP) or NumPy arrays (H, W, 3) RGB uint8
(or (H, W) grey, (H, W, 4) RGBA), of any size. Every item goes through the serving graph:
arrays are encoded as PNG (lossless) first, so what this reads is what TF Serving answers for
the SavedModel. A checkpoint folder is wrapped in graph.CrnnServing in memory.

A bad item (missing file, not an image, corrupt, too large) does not stop the others: with
``on_error="raise"`` (default) every item is read and then a RecognitionError (a ValueError)
names each bad item, carrying all predictions in ``.predictions``; with ``on_error="keep"``
the bad items come back as Predictions with ``error`` set, text "" and score -inf.
"""

from __future__ import annotations

import os
import re
import tempfile

import cv2
import numpy as np
import tensorflow as tf

from crnn_ctc.model import trained
from crnn_ctc.portable.contract import model_format
from crnn_ctc.portable.predictions import (
    BaseRecognizer,
    Prediction,
    array_problem,
    failed,
    read_item,
)
from crnn_ctc.serve import payloads, pretrained, versions
from crnn_ctc.serve.export import read_metadata
from crnn_ctc.serve.graph import CrnnServing, Decoder


class Recognizer(BaseRecognizer):
    """``fn``: a serving_default function (image_bytes: string [B] -> text, score, ...)."""

    def __init__(self, fn, source: str, decoder: Decoder | None):
        self._fn = fn
        self.source = source  # what was loaded, for logs
        self.decoder = decoder  # None when a SavedModel carries no crnn_ctc.json

    @classmethod
    def load(cls, model_dir: str | None = None, checkpoint: str = "best",
             decoder: Decoder | None = None) -> Recognizer:  # fmt: skip
        """``model_dir``: a SavedModel, an export base, a training folder, or None for the
        shipped English model. ``decoder`` applies to checkpoints (default beam 10); a SavedModel
        decodes as it was exported, and asking it for another decoder is an error rather than a
        silent change."""
        # A .tflite / .onnx file: a crnn_ctc.portable.PortableRecognizer (the same methods;
        # ``checkpoint`` does not apply). Without TensorFlow, load it from crnn_ctc.portable.
        if model_dir and model_format(model_dir):
            from crnn_ctc.portable.recognizer import PortableRecognizer  # noqa: PLC0415

            return PortableRecognizer.load(model_dir, decoder)
        kind, path = versions.resolve(pretrained.model_dir(model_dir))
        if kind == "checkpoint":
            return cls.from_checkpoint(path, checkpoint, decoder or Decoder())
        rec = cls.from_saved_model(path)
        if decoder is not None:
            check_decoder(path, rec.decoder, decoder)
        return rec

    @classmethod
    def from_saved_model(cls, path: str) -> Recognizer:
        loaded = tf.saved_model.load(path)
        fn = loaded.signatures["serving_default"]
        meta = read_metadata(path)
        # Exports older than Decoder.tall_ratio read every crop as it is.
        decoder = Decoder(**{"tall_ratio": 0.0, **meta["decoder"]}) if "decoder" in meta else None
        rec = cls(lambda data: fn(**{payloads.INPUT_BYTES: data}), f"SavedModel {path}", decoder)
        rec._keep = loaded  # the functions need their module alive
        return rec

    @classmethod
    def from_checkpoint(cls, model_dir: str, checkpoint: str = "best",
                        decoder: Decoder | None = None) -> Recognizer:  # fmt: skip
        decoder = decoder or Decoder()
        model, cfg, charset, path = trained.load_model(model_dir, checkpoint)
        with tempfile.TemporaryDirectory() as tmp:  # the table reads it now, then it can go
            charset.save(os.path.join(tmp, "charset.txt"))
            module = CrnnServing(model, cfg, charset, decoder, os.path.join(tmp, "charset.txt"))
        rec = cls(module.serve_bytes, f"checkpoint {path}", module.decoder)
        rec._keep = module
        return rec

    def _recognize_chunk(self, items: list) -> list[Prediction]:
        return self._read([_encode(item) for item in items])

    def _read(self, encoded: list) -> list[Prediction]:
        """``encoded``: bytes, or a str saying why the item has none. The graph answers a bad
        image with its reason ("error"); a batch that an older export (without that output, or
        exported with hard_errors) refuses is read again image by image, so one bad image costs
        its own result only."""
        good = [data for data in encoded if isinstance(data, bytes)]
        try:
            rows = iter(self._rows(good)) if good else iter(())
        except tf.errors.InvalidArgumentError:
            rows = iter([self._one(data) for data in good])
        return [_prediction(next(rows)) if isinstance(data, bytes) else failed(data)
                for data in encoded]  # fmt: skip

    def _one(self, data: bytes):
        try:
            return self._rows([data])[0]
        except tf.errors.InvalidArgumentError as err:
            return _reason(err)

    def _rows(self, encoded: list[bytes]) -> list[dict]:
        out = self._fn(tf.constant(encoded, tf.string))
        return payloads.rows({key: value.numpy() for key, value in out.items()})


def _encode(item) -> bytes | str:
    """An item -> encoded image bytes, or the reason it has none (a str)."""
    if isinstance(item, np.ndarray):
        return _encode_array(item)
    return read_item(item)


def _encode_array(array: np.ndarray) -> bytes | str:
    problem = array_problem(array)
    if problem:
        return problem
    if array.ndim == 2:
        array = array[:, :, None]
    order = {1: None, 3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}[array.shape[2]]
    bgr = cv2.cvtColor(array, order) if order is not None else array
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(bgr))
    return buf.tobytes() if ok else f"OpenCV could not encode an array of shape {array.shape}"


def _prediction(row) -> Prediction:
    if isinstance(row, str):
        return failed(row)
    if row.get("error"):  # the serving graph's per-image reason
        return failed(row["error"])
    top_k = tuple(zip(row.get("texts", []), row.get("scores", []), strict=True))
    return Prediction(row["text"], float(row["score"]), top_k)


# What the serving graph bakes in at export (Decoder.width: the beam width, 0 for greedy).
BAKED = ("kind", "width", "top_paths", "tall_ratio", "max_pixels", "hard_errors")


def check_decoder(path: str, exported: Decoder | None, asked: Decoder) -> None:
    """A SavedModel decodes as it was exported: asking it for other settings is an error that
    names each one, and so is asking an export whose settings are unknown (no crnn_ctc.json)."""
    if exported is None:
        raise ValueError(f"{path} has no crnn_ctc.json, so its decoder settings cannot be checked "
                         f"against {asked}: load it without decoder=, or export it again")
    wrong = [f"{k} {getattr(exported, k)!r} (asked: {getattr(asked, k)!r})" for k in BAKED
             if getattr(exported, k) != getattr(asked, k)]  # fmt: skip
    if wrong:
        raise ValueError(f"{path} was exported with " + ", ".join(wrong) + ": export again with "
                         "those settings, or pass the training folder to decode its checkpoint")


_NOISE = ("Graph execution error", "Detected at node", "<stack traces unavailable>", "[[")


def _reason(err: tf.errors.InvalidArgumentError) -> str:
    """The failing op's own words, without TensorFlow's graph-location lines:
    'assertion failed: [image too large: ...]' -> 'image too large: ...'."""
    lines = [ln.strip() for ln in err.message.splitlines()]
    message = next((ln for ln in lines if ln and not ln.startswith(_NOISE)), err.message)
    message = message.removeprefix("assertion failed: ")
    return re.sub(r"\[([^\[\]]*)\]", r"\1", message)
