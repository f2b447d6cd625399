"""Export a trained CRNN as a versioned SavedModel for TF Serving.

    path = export.export(ExportConfig(model_dir="runs/small", export_dir="exported/crnn"))
    # exported/crnn/1/saved_model.pb, variables/, assets/charset.txt,
    # assets.extra/tf_serving_warmup_requests, assets.extra/crnn_ctc.json

Signatures (a ``tf.Module`` with ``tf.function``s; no sparse outputs, names fit TF Serving's
REST rules: the input is sent as {"b64": ...}, no output name ends in "_bytes", so texts come
back as JSON strings):
  serving_default  image_bytes: string [B] (JPEG/PNG/GIF/BMP, any size or channel count)
  predict_images   images: uint8 [B, h, w, 3] (any h, w; resized by the same rule)
  outputs          text: string [B], score: float32 [B] (log-probability of the text);
                   with top_paths K > 1 also texts: string [B, K], scores: float32 [B, K]
Images are checked (format, header size <= max_pixels), decoded and resized inside the graph
by preprocess.py, the code the converter's pixels are tested against; ids map to text through a
table read from assets/charset.txt.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile

import tensorflow as tf

from crnn_ctc import config as config_lib
from crnn_ctc import decoding, preprocess, restore, serving_api
from crnn_ctc.charset import Charset
from crnn_ctc.config import Config
from crnn_ctc.inference_graph import InferenceCrnn

INPUT_BYTES = serving_api.INPUT_BYTES
INPUT_IMAGES = "images"
METADATA = "crnn_ctc.json"  # in assets.extra/
WARMUP = "tf_serving_warmup_requests"  # in assets.extra/, the name TF Serving looks for


@dataclasses.dataclass(frozen=True)
class Decoder:
    """How the exported graph decodes: "beam" (CTC prefix beam search) or "greedy"."""

    kind: str = "beam"
    beam_width: int = 10
    top_paths: int = 1
    max_pixels: int = preprocess.DEFAULT_MAX_PIXELS

    def __post_init__(self):
        if self.kind not in ("beam", "greedy"):
            raise ValueError(f"decoder must be 'beam' or 'greedy', not {self.kind!r}")
        if self.kind == "greedy" and self.top_paths != 1:
            raise ValueError("greedy decoding gives one path: use --decoder beam for top_paths > 1")
        if self.kind == "beam" and not 1 <= self.top_paths <= self.beam_width:
            raise ValueError(
                f"top_paths={self.top_paths} must be between 1 and beam_width={self.beam_width}"
            )
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, not {self.max_pixels}")

    @property
    def width(self) -> int:  # decoding.decode's convention: 0 = greedy
        return self.beam_width if self.kind == "beam" else 0


class CrnnServing(tf.Module):
    """The serving graph around a trained Keras CRNN (run as inference_graph.InferenceCrnn).
    ``charset_file`` is read once into a lookup table (eagerly, here) and becomes the SavedModel
    asset assets/charset.txt."""

    def __init__(self, model, cfg: Config, charset: Charset, decoder: Decoder, charset_file: str):
        super().__init__(name="crnn_ctc")
        self.net = InferenceCrnn(model, cfg)
        self._height, self._width = cfg.image_height, cfg.image_width
        self._blank_id = charset.blank_id
        self._decoder = decoder
        self.charset_asset = tf.saved_model.Asset(charset_file)
        self.symbols = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                self.charset_asset, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, vocab_size=len(charset),
            ),
            default_value="",
        )
        self.serve_bytes = tf.function(
            self._serve_bytes, input_signature=[tf.TensorSpec([None], tf.string, INPUT_BYTES)]
        )
        self.predict_images = tf.function(
            self._predict_images,
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, INPUT_IMAGES)],
        )

    def signatures(self) -> dict:
        return {
            "serving_default": self.serve_bytes.get_concrete_function(),
            "predict_images": self.predict_images.get_concrete_function(),
        }

    def _load_one(self, data):  # scalar string -> (H, W, 3) uint8
        data = preprocess.check_image_tf(data, self._decoder.max_pixels)
        image = preprocess.decode_image_tf(data)
        return preprocess.resize_tf(image, self._height, self._width)

    def _serve_bytes(self, image_bytes):
        image_bytes = _non_empty(image_bytes, "image_bytes")
        images = tf.map_fn(
            self._load_one, image_bytes,
            fn_output_signature=tf.TensorSpec([self._height, self._width, 3], tf.uint8),
        )  # (B, H, W, 3): each image decoded and resized on its own, so sizes may differ
        return self._recognize(images)

    def _predict_images(self, images):
        images = _non_empty(images, "images")
        return self._recognize(preprocess.resize_tf(images, self._height, self._width))

    def _recognize(self, images):
        logits = self.net(preprocess.to_model_input(images))  # (B, T, C)
        d = self._decoder
        ids, scores = decoding.decode(logits, self._blank_id, d.width, d.top_paths)  # (B, K, T)
        flat = tf.reshape(ids, [-1, tf.shape(ids)[2]])  # (B * K, T): one path per row
        texts = tf.reshape(decoding.ids_to_text_tf(flat, self.symbols), [-1, d.top_paths])
        out = {"text": texts[:, 0], "score": scores[:, 0]}
        if d.top_paths > 1:
            out.update(texts=texts, scores=scores)
        return out


def _non_empty(batch, name: str):
    """An empty batch would reach the convolutions and fail there with a message about filter
    depths; say what is wrong instead."""
    check = tf.debugging.Assert(tf.shape(batch)[0] > 0, [f"{name} is empty: send an image"])
    with tf.control_dependencies([check]):
        return tf.identity(batch)


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    model_dir: str
    export_dir: str
    checkpoint: str = "best"  # best | latest | a checkpoint path
    version: int = 0  # 0: one more than the highest version present
    decoder: Decoder = Decoder()
    warmup_batch_sizes: tuple[int, ...] = (1, 8)


def next_version(export_dir: str) -> int:
    """One more than the highest numeric subfolder of ``export_dir`` (1 when there is none)."""
    if not os.path.isdir(export_dir):
        return 1
    versions = [int(n) for n in os.listdir(export_dir) if re.fullmatch(r"\d+", n)]
    return max(versions, default=0) + 1


def export(cfg: ExportConfig) -> str:
    """Writes ``export_dir/<version>/`` and returns its path. The SavedModel is written into a
    hidden staging folder and renamed into place, so TF Serving, which polls ``export_dir``,
    never loads a half-written version."""
    version = cfg.version or next_version(cfg.export_dir)
    final = os.path.join(cfg.export_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(f"{final} exists: choose another --version or remove it")
    model, train_cfg, charset, checkpoint = restore.load_model(cfg.model_dir, cfg.checkpoint)
    os.makedirs(cfg.export_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{version}-", dir=cfg.export_dir)
    try:
        charset_file = os.path.join(staging, "charset.txt")
        charset.save(charset_file)
        module = CrnnServing(model, train_cfg, charset, cfg.decoder, charset_file)
        saved = os.path.join(staging, "model")
        tf.saved_model.save(module, saved, signatures=module.signatures())
        extra = os.path.join(saved, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        metadata = {
            "checkpoint": checkpoint, "version": version,
            "image_size": [train_cfg.image_height, train_cfg.image_width],
            "decoder": dataclasses.asdict(cfg.decoder),
            **config_lib.to_dict(train_cfg, charset),  # "config" and "charset"
        }  # fmt: skip
        with open(os.path.join(extra, METADATA), "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=1, ensure_ascii=False)
        if cfg.warmup_batch_sizes:
            serving_api.write_warmup(os.path.join(extra, WARMUP), cfg.warmup_batch_sizes)
        os.rename(saved, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def read_metadata(saved_model_dir: str) -> dict:
    """The export's assets.extra/crnn_ctc.json ({} for a SavedModel written elsewhere)."""
    path = os.path.join(saved_model_dir, "assets.extra", METADATA)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)
