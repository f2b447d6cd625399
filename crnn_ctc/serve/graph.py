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
through a table read from the charset file (the SavedModel asset assets/charset.txt). A crop
taller than Decoder.tall_ratio x its width is also read turned both ways (model/turns.py).

A keep_aspect (text-line) model resizes each crop to its height keeping the aspect (at most the
model's width: data/resize_rule.py), pads the batch right to its widest crop rounded up to the
CNN's stride, and reads each crop over its own steps; a tall crop is read as it is and turned,
all three views at the turned crop's width (model/turns.py).
"""

from __future__ import annotations

import tensorflow as tf

from crnn_ctc.data import ctc_steps, image_tf
from crnn_ctc.data.charset import Charset
from crnn_ctc.model import decoding, turns
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
        self._rule = cfg.rule
        stride = ctc_steps.WIDTH_STRIDE
        self._canvas = -(-cfg.image_width // stride) * stride  # keep_aspect: the widest batch
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

    @property
    def decoder(self) -> Decoder:
        """The decoder the graph runs."""
        return self._decoder

    def signatures(self) -> dict:
        return {
            "serving_default": self.serve_bytes.get_concrete_function(),
            "predict_images": self.predict_images.get_concrete_function(),
        }

    def _decode_one(self, data):
        """Scalar string -> (H, W, 3) uint8, its turned views (2, H, W, 3) (zeros unless the
        crop is tall), whether it is tall and its width; raises on corrupt data. keep_aspect:
        the crop at its own width (at most the model's; a tall one's views at the turned
        crop's), padded right to the widest canvas."""
        image = image_tf.decode_image_tf(data)
        if not self._rule.keeps_aspect:
            return (*self._views(image), tf.constant(self._width, tf.int32))
        return self._line_views(image)

    def _line_views(self, image):
        """keep_aspect: a decoded (h, w, 3) image (or a batch of one size) -> (resized to its
        width and padded to the canvas, turned views, tall, width) as _decode_one's."""
        shape = tf.shape(image)
        lead = shape[:-3]

        def plain():
            width = image_tf.rule_width_tf(shape[-3], shape[-2], self._rule)
            resized = image_tf.resize_tf(image, self._height, width)
            pad = tf.concat([tf.zeros([tf.size(lead) + 1, 2], tf.int32),
                             [[0, self._canvas - width], [0, 0]]], 0)
            none = tf.zeros(tf.concat([lead, [2, self._height, self._canvas, 3]], 0), tf.uint8)
            return tf.pad(resized, pad), none, width

        ratio = self._decoder.tall_ratio
        if not ratio:
            upright, _, width = plain()
            return upright, tf.zeros([0], tf.uint8), tf.constant(False), width
        tall = turns.is_tall(shape[-3], shape[-2], ratio)
        upright, turned, width = tf.cond(
            tall, lambda: turns.tall_views_by_rule_tf(image, self._rule, self._canvas), plain)
        return upright, turned, tall, width

    def _views(self, image):
        """A decoded (h, w, 3) image (or a batch of one size) -> resized, turned, tall (a
        stretch model's)."""
        size = (self._height, self._width)
        shape = tf.shape(image)
        tall = turns.is_tall(shape[-3], shape[-2], self._decoder.tall_ratio)
        if self._decoder.tall_ratio == 0:  # nothing to turn: no turned views in the graph
            turned = tf.zeros([0], tf.uint8)
        else:
            lead = shape[:-3]
            turned = tf.cond(tf.reduce_any(tall), lambda: turns.turned_views_tf(image, *size),
                             lambda: tf.zeros(tf.concat([lead, [2, *size, 3]], 0), tf.uint8))
        return image_tf.resize_tf(image, *size), turned, tall

    def _load(self, image_bytes):
        """(B,) encoded -> images (B, H, W, 3) uint8 and errors (B,) string ("" = read).

        Each image is checked (header) and decoded in a parallel tf.data pipeline whose failed
        elements are dropped (ignore_errors) and found missing by index, so a corrupt upload
        costs only its own row of a batch that TF Serving assembled from several clients."""
        lines = self._rule.keeps_aspect
        shape = [self._height, self._canvas if lines else self._width, 3]
        max_pixels = self._decoder.max_pixels

        turned_shape = [2, *shape] if self._decoder.tall_ratio else [0]
        # (a row that is not read gets one step, so it never widens the batch)
        blank = (tf.zeros(shape, tf.uint8), tf.zeros(turned_shape, tf.uint8), tf.constant(False),
                 tf.constant(ctc_steps.WIDTH_STRIDE if lines else self._width, tf.int32))

        def load(i, data):
            problem = image_tf.image_problem_tf(data, max_pixels, image_tf.jpeg_size_fast)
            views = tf.cond(tf.equal(problem, ""), lambda: self._decode_one(data), lambda: blank)
            return i, *views, problem

        n = tf.shape(image_bytes, out_type=tf.int64)[0]
        ds = tf.data.Dataset.from_tensor_slices((tf.range(n), image_bytes))
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        # One batch of every image that loaded (plus a marker row, so it is never empty).
        none = (tf.constant(-1, tf.int64), *blank, tf.constant(""))
        ds = ds.ignore_errors().concatenate(tf.data.Dataset.from_tensors(none))
        got, images, turned, tall, widths, problems = ds.batch(n + 1).get_single_element()
        # where[i]: the row of image i in the batch + 1; 0 = it raised while decoding.
        where = tf.scatter_nd(tf.maximum(got, 0)[:, None], tf.range(1, tf.size(got) + 1) *
                              tf.cast(got >= 0, tf.int32), [n])  # fmt: skip
        rows = tf.maximum(where - 1, 0)
        errors = tf.where(where > 0, tf.gather(problems, rows),
                          "corrupt image: the data cannot be decoded")
        tall = tf.gather(tall, rows) & (where > 0)
        widths = tf.where(where > 0, tf.gather(widths, rows), blank[3])
        return (tf.gather(images, rows), tf.gather(turned, rows), tall, widths), errors

    def _serve_bytes(self, image_bytes):
        image_bytes = _non_empty(image_bytes, "image_bytes")
        views, errors = self._load(image_bytes)
        if self._decoder.hard_errors:  # the whole request fails on the first bad image
            first = tf.boolean_mask(errors, tf.not_equal(errors, ""))
            check = tf.debugging.Assert(tf.equal(tf.size(first), 0), [first[:1]])
            with tf.control_dependencies([check]):
                views = (tf.identity(views[0]), *views[1:])
        out = self._recognize(*views)
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
        batch = tf.shape(images)[:1]
        if self._rule.keeps_aspect:
            resized, turned, tall, width = self._line_views(images)
            return self._recognize(resized, turned, tf.fill(batch, tall), tf.fill(batch, width))
        resized, turned, tall = self._views(images)
        return self._recognize(resized, turned, tf.fill(batch, tall),
                               tf.fill(batch, tf.shape(resized)[2]))

    def _recognize(self, images, turned, tall, widths):
        d = self._decoder

        def read(batch):
            logits = self.net(image_tf.to_model_input(batch))  # (N, T, C)
            return decoding.decode(logits, self._blank_id, d.width, d.top_paths)  # (N, K, T)

        def read_lines(batch, widths):  # as wide as its widest view, rounded to the stride
            stride = ctc_steps.WIDTH_STRIDE
            steps = (widths + stride - 1) // stride
            batch = batch[:, :, :tf.reduce_max(steps) * stride]
            logits = self.net(image_tf.to_model_input(batch), widths)
            return decoding.decode(logits, self._blank_id, d.width, d.top_paths, steps)

        if self._rule.keeps_aspect and d.tall_ratio:
            ids, scores = turns.read_turned(read_lines, images, turned, tall, widths)
        elif self._rule.keeps_aspect:
            ids, scores = read_lines(images, widths)
        elif d.tall_ratio:
            ids, scores = turns.read_turned(read, images, turned, tall)
        else:
            ids, scores = read(images)
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
