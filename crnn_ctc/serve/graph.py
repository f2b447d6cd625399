"""The serving graph: a ``tf.Module`` that turns image bytes into text with the trained CRNN.

    module = CrnnServing(model, cfg, charset, Decoder("beam", 10), "charset.txt")
    module.serve_bytes(tf.constant([jpeg_bytes]))   # {"text": [B], "score": [B]}

Signatures (no sparse outputs, names fit TF Serving's REST rules: the input is sent as
{"b64": ...}, no output name ends in "_bytes", so texts come back as JSON strings):
  serving_default  image_bytes: string [B] (JPEG/PNG/GIF/BMP, any size or channel count)
  predict_images   images: uint8 [B, h, w, 3] (any h, w; resized by the same rule)
  outputs          text: string [B], score: float32 [B] (log-probability of the text);
                   with top_paths K > 1 also texts: string [B, K], scores: float32 [B, K]
Images are checked (format, header size <= max_pixels), decoded and resized inside the graph
by data/image_tf.py, the code the converter's pixels are tested against; ids map to text
through a table read from the charset file (the SavedModel asset assets/charset.txt).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from crnn_ctc.data import image_tf
from crnn_ctc.data.charset import Charset
from crnn_ctc.data.formats import DEFAULT_MAX_PIXELS
from crnn_ctc.model import decoding
from crnn_ctc.model.config import ModelConfig
from crnn_ctc.model.inference import InferenceCrnn
from crnn_ctc.serve.payloads import INPUT_BYTES

INPUT_IMAGES = "images"


@dataclasses.dataclass(frozen=True)
class Decoder:
    """How the exported graph decodes: "beam" (CTC prefix beam search) or "greedy"."""

    kind: str = "beam"
    beam_width: int = 10
    top_paths: int = 1
    max_pixels: int = DEFAULT_MAX_PIXELS

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
    """The serving graph around a trained Keras CRNN (run as model.inference.InferenceCrnn).
    ``charset_file`` is read once into a lookup table (eagerly, here) and becomes the SavedModel
    asset assets/charset.txt."""

    def __init__(self, model, cfg: ModelConfig, charset: Charset, decoder: Decoder,
                 charset_file: str):
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
        data = image_tf.check_image_tf(data, self._decoder.max_pixels)
        image = image_tf.decode_image_tf(data)
        return image_tf.resize_tf(image, self._height, self._width)

    def _serve_bytes(self, image_bytes):
        image_bytes = _non_empty(image_bytes, "image_bytes")
        images = tf.map_fn(
            self._load_one, image_bytes,
            fn_output_signature=tf.TensorSpec([self._height, self._width, 3], tf.uint8),
        )  # (B, H, W, 3): each image decoded and resized on its own, so sizes may differ
        return self._recognize(images)

    def _predict_images(self, images):
        images = image_tf.check_pixels_tf(_non_empty(images, "images"), self._decoder.max_pixels)
        return self._recognize(image_tf.resize_tf(images, self._height, self._width))

    def _recognize(self, images):
        logits = self.net(image_tf.to_model_input(images))  # (B, T, C)
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
