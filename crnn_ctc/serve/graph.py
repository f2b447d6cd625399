"""The serving graph: a ``tf.Module`` that turns image bytes into text with the trained CRNN.

    module = CrnnServing(model, cfg, charset, Decoder("beam", 10), "charset.txt")
    module.serve_bytes(tf.constant([jpeg_bytes]))   # {"text": [B], "score": [B]}

Signatures (no sparse outputs, names fit TF Serving's REST rules: the input is sent as
{"b64": ...}, no output name ends in "_bytes", so texts come back as JSON strings):
  serving_default  image_bytes: string [B] (JPEG/PNG/GIF/BMP, any size or channel count)
  predict_images   images: uint8 [B, h, w, 3] (any h, w; resized by the same rule)
  outputs          text: string [B], score: float32 [B] (log-probability of the text);
                   with top_paths K > 1 also texts: string [B, K], scores: float32 [B, K];
                   serving_default also error: string [B], "" for an image that was read, else
                   the reason (empty, not an image, too large, corrupt) with text "" and score
                   -inf (Decoder(hard_errors=True): INVALID_ARGUMENT for the whole request)
Images are checked (format, header size <= max_pixels), decoded and resized inside the graph
by data/image_tf.py, the code the converter's pixels are tested against; ids map to text
through a table read from the charset file (the SavedModel asset assets/charset.txt).
"""

from __future__ import annotations

import tensorflow as tf

from crnn_ctc.data import image_tf
from crnn_ctc.data.charset import Charset
from crnn_ctc.model import decoding
from crnn_ctc.model.config import ModelConfig
from crnn_ctc.model.decoder import Decoder
from crnn_ctc.model.inference import InferenceCrnn
from crnn_ctc.serve.payloads import INPUT_BYTES

INPUT_IMAGES = "images"


class CrnnServing(tf.Module):
    """The serving graph around a trained Keras CRNN (run as model.inference.InferenceCrnn).
    ``charset_file`` is read once into a lookup table (eagerly, here) and becomes the SavedModel
    asset assets/charset.txt."""

    def __init__(self, model, cfg: ModelConfig, charset: Charset, decoder: Decoder,
                 charset_file: str, cnn_dtype: str = "float32"):
        super().__init__(name="crnn_ctc")
        self.net = InferenceCrnn(model, cfg, cnn_dtype)
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

    def _decode_one(self, data):  # scalar string -> (H, W, 3) uint8; raises on corrupt data
        return image_tf.resize_tf(image_tf.decode_image_tf(data), self._height, self._width)

    def _load(self, image_bytes):
        """(B,) encoded -> images (B, H, W, 3) uint8 and errors (B,) string ("" = read).

        Each image is checked (header) and decoded in a parallel tf.data pipeline whose failed
        elements are dropped (ignore_errors) and found missing by index, so a corrupt upload
        costs only its own row of a batch that TF Serving assembled from several clients."""
        shape = [self._height, self._width, 3]
        max_pixels = self._decoder.max_pixels

        def load(i, data):
            problem = image_tf.image_problem_tf(data, max_pixels, image_tf.jpeg_size_fast)
            image = tf.cond(tf.equal(problem, ""), lambda: self._decode_one(data),
                            lambda: tf.zeros(shape, tf.uint8))  # fmt: skip
            return i, image, problem

        n = tf.shape(image_bytes, out_type=tf.int64)[0]
        ds = tf.data.Dataset.from_tensor_slices((tf.range(n), image_bytes))
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        # One batch of every image that loaded (plus a marker row, so it is never empty).
        none = (tf.constant(-1, tf.int64), tf.zeros(shape, tf.uint8), tf.constant(""))
        ds = ds.ignore_errors().concatenate(tf.data.Dataset.from_tensors(none))
        got, images, problems = ds.batch(n + 1).get_single_element()
        # where[i]: the row of image i in the batch + 1; 0 = it raised while decoding.
        where = tf.scatter_nd(tf.maximum(got, 0)[:, None], tf.range(1, tf.size(got) + 1) *
                              tf.cast(got >= 0, tf.int32), [n])  # fmt: skip
        rows = tf.maximum(where - 1, 0)
        errors = tf.where(where > 0, tf.gather(problems, rows),
                          "corrupt image: the data cannot be decoded")
        return tf.gather(images, rows), errors

    def _serve_bytes(self, image_bytes):
        image_bytes = _non_empty(image_bytes, "image_bytes")
        images, errors = self._load(image_bytes)
        if self._decoder.hard_errors:  # the whole request fails on the first bad image
            first = tf.boolean_mask(errors, tf.not_equal(errors, ""))
            check = tf.debugging.Assert(tf.equal(tf.size(first), 0), [first[:1]])
            with tf.control_dependencies([check]):
                images = tf.identity(images)
        out = self._recognize(images)
        ok = tf.equal(errors, "")
        out["text"] = tf.where(ok, out["text"], "")
        out["score"] = tf.where(ok, out["score"], float("-inf"))
        if "texts" in out:
            out["texts"] = tf.where(ok[:, None], out["texts"], "")
            out["scores"] = tf.where(ok[:, None], out["scores"], float("-inf"))
        out["error"] = errors
        return out

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
