"""Recognize encoded images with an exported SavedModel or a training folder's checkpoint.

    rec = Recognizer.load("exported/crnn")        # export base: its highest version
    rec = Recognizer.load("exported/crnn/3")      # one SavedModel version
    rec = Recognizer.load("runs/small", decoder=export.Decoder("beam", 10, 3))  # checkpoint
    rows = rec.recognize([open("a.jpg", "rb").read(), ...])   # [{"text", "score"}, ...]

Both paths run the same graph: a checkpoint is wrapped in export.CrnnServing in memory, so what
this reads is what TF Serving would answer for the SavedModel exported from it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence

import tensorflow as tf

from crnn_ctc import export, restore, serving_api

SAVED_MODEL = "saved_model.pb"


def resolve(model_dir: str) -> tuple[str, str]:
    """-> ("saved_model" | "checkpoint", path): a SavedModel folder, an export base folder (its
    highest numeric version) or a training folder (config.json + checkpoints)."""
    if os.path.isfile(os.path.join(model_dir, SAVED_MODEL)):
        return "saved_model", model_dir
    if os.path.isdir(model_dir):
        versions = [int(n) for n in os.listdir(model_dir) if re.fullmatch(r"\d+", n)
                    and os.path.isfile(os.path.join(model_dir, n, SAVED_MODEL))]  # fmt: skip
        if versions:
            return "saved_model", os.path.join(model_dir, str(max(versions)))
        if os.path.isfile(os.path.join(model_dir, "config.json")):
            return "checkpoint", model_dir
    raise FileNotFoundError(
        f"--model_dir {model_dir} is not a SavedModel (saved_model.pb), an export folder "
        "(<version>/saved_model.pb) or a training folder (config.json and checkpoints)"
    )


class Recognizer:
    """``fn``: a serving_default function (image_bytes: string [B] -> text, score, ...)."""

    def __init__(self, fn, source: str, decoder: export.Decoder | None):
        self._fn = fn
        self.source = source  # what was loaded, for logs
        self.decoder = decoder  # None when a SavedModel carries no crnn_ctc.json

    @classmethod
    def load(cls, model_dir: str, checkpoint: str = "best",
             decoder: export.Decoder | None = None) -> Recognizer:  # fmt: skip
        """``decoder`` applies to checkpoints (default beam 10); a SavedModel decodes as it was
        exported, and asking it for another decoder is an error rather than a silent change."""
        kind, path = resolve(model_dir)
        if kind == "checkpoint":
            return cls.from_checkpoint(path, checkpoint, decoder or export.Decoder())
        rec = cls.from_saved_model(path)
        if decoder is not None and rec.decoder is not None and _decoding(decoder) != _decoding(
            rec.decoder
        ):
            raise ValueError(
                f"{path} was exported with {rec.decoder}; asked for {decoder}. Export again with "
                "those settings, or pass the training folder to decode its checkpoint"
            )
        return rec

    @classmethod
    def from_saved_model(cls, path: str) -> Recognizer:
        loaded = tf.saved_model.load(path)
        fn = loaded.signatures["serving_default"]
        meta = export.read_metadata(path)
        decoder = export.Decoder(**meta["decoder"]) if "decoder" in meta else None
        rec = cls(lambda data: fn(**{export.INPUT_BYTES: data}), f"SavedModel {path}", decoder)
        rec._keep = loaded  # the functions need their module alive
        return rec

    @classmethod
    def from_checkpoint(cls, model_dir: str, checkpoint: str = "best",
                        decoder: export.Decoder | None = None) -> Recognizer:  # fmt: skip
        decoder = decoder or export.Decoder()
        model, cfg, charset, path = restore.load_model(model_dir, checkpoint)
        with tempfile.TemporaryDirectory() as tmp:  # the table reads it now, then it can go
            charset.save(os.path.join(tmp, "charset.txt"))
            module = export.CrnnServing(model, cfg, charset, decoder,
                                        os.path.join(tmp, "charset.txt"))  # fmt: skip
        rec = cls(module.serve_bytes, f"checkpoint {path}", decoder)
        rec._keep = module
        return rec

    def recognize(self, images: Sequence[bytes]) -> list[dict]:
        """Encoded images -> one dict each (text, score; texts, scores with top_paths > 1).
        Raises tf.errors.InvalidArgumentError if any image is not usable."""
        out = self._fn(tf.constant(list(images), tf.string))
        return serving_api.rows({key: value.numpy() for key, value in out.items()})

    def recognize_files(self, paths: Sequence[str], batch_size: int = 32) -> Iterator[tuple]:
        """Yields (path, row, None) or (path, None, reason) in order. A batch that fails is
        retried image by image, so one bad file costs its own result only."""
        for start in range(0, len(paths), batch_size):
            chunk, data = paths[start:start + batch_size], []
            for path in chunk:
                with open(path, "rb") as f:
                    data.append(f.read())
            try:
                rows = self.recognize(data)
            except tf.errors.InvalidArgumentError:
                for path, item in zip(chunk, data, strict=True):
                    try:
                        yield path, self.recognize([item])[0], None
                    except tf.errors.InvalidArgumentError as err:
                        yield path, None, _reason(err)
            else:
                yield from ((path, row, None) for path, row in zip(chunk, rows, strict=True))


def _decoding(d: export.Decoder) -> tuple:
    return d.kind, d.width, d.top_paths


_NOISE = ("Graph execution error", "Detected at node", "<stack traces unavailable>", "[[")


def _reason(err: tf.errors.InvalidArgumentError) -> str:
    """The failing op's own words, without TensorFlow's graph-location lines:
    'assertion failed: [image too large: ...]' -> 'image too large: ...'."""
    lines = [ln.strip() for ln in err.message.splitlines()]
    message = next((ln for ln in lines if ln and not ln.startswith(_NOISE)), err.message)
    message = message.removeprefix("assertion failed: ")
    return re.sub(r"\[([^\[\]]*)\]", r"\1", message)
