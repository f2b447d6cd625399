"""Evaluation: run a CRNN over batches, decode, score word accuracy and CER.

    result = evaluate(model, batches, charset, beam_width=0)     # greedy
    result["metrics"] -> {"word_accuracy": ..., "cer": ..., "count": ...}
    result["predictions"] -> [{"path", "label", "prediction", "score", "correct"}, ...]

``batches`` yields dicts with "image" (B, H, W, 3) float32 in [-1, 1], "text" and "path"
(data.pipeline.build_dataset(training=False) or image_batches() for a folder of images).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np
import tensorflow as tf

from crnn_ctc.data import annotations, ctc_steps, formats, image_np, image_tf
from crnn_ctc.data.charset import Charset
from crnn_ctc.data.resize_rule import ResizeRule
from crnn_ctc.evaluate import metrics
from crnn_ctc.model import crnn, decoding, turns


def predict_fn(model, blank_id: int, beam_width: int = 0):
    """A tf.function: images (B, H, W, 3) -> (best ids (B, N) padded -1, scores (B,)); with
    ``turned`` (B, 2, H, W, 3) and ``tall`` (B,) tall crops are read turned too
    (model/turns.py)."""

    def read(images, widths=None):
        batch = {"image": images} if widths is None else {"image": images, "width": widths}
        logits, steps = crnn.call_crnn(model, batch)
        return decoding.decode(logits, blank_id, beam_width=beam_width, logit_length=steps)

    @tf.function(reduce_retracing=True)
    def predict(images, turned=None, tall=None, widths=None):
        if widths is not None and turned is not None:  # keep_aspect, tall crops turned too
            ids, scores = turns.read_turned(read, images, turned, tall, widths)
        elif widths is not None:  # keep_aspect batches: each image's own width
            ids, scores = read(images, widths)
        elif turned is None:
            ids, scores = read(images)
        else:
            ids, scores = turns.read_turned(read, images, turned, tall)
        return ids[:, 0], scores[:, 0]

    return predict


def evaluate(
    model,
    batches: Iterable[dict],
    charset: Charset,
    beam_width: int = 0,
    case_sensitive: bool = True,
    alnum_only: bool = False,
    max_batches: int = 0,
) -> dict:
    predict = predict_fn(model, charset.blank_id, beam_width)
    scorer = metrics.RecognitionMetrics(case_sensitive=case_sensitive, alnum_only=alnum_only)
    rows = []
    for i, batch in enumerate(batches):
        if max_batches and i >= max_batches:
            break
        ids, scores = predict(batch["image"], batch.get("turned"), batch.get("tall"),
                              batch.get("width"))
        texts = decoding.ids_to_text(ids, charset)
        labels = [t.decode("utf-8") for t in np.asarray(batch["text"]).tolist()]
        right = scorer.update(texts, labels)
        for path, label, text, score, ok in zip(
            np.asarray(batch["path"]).tolist(), labels, texts, scores.numpy().tolist(), right,
            strict=True,
        ):
            rows.append({"path": path.decode("utf-8"), "label": label, "prediction": text,
                         "score": round(float(score), 4), "correct": ok})
    return {"metrics": scorer.result(), "predictions": rows}


def read_image_list(image_dir: str, anno_file: str) -> tuple[list[tuple[str, str]], list[str]]:
    """``path label`` lines, read by the converter's parser (label = the rest of the line after
    the first whitespace run) -> ([(file path, label)], [problems]). Bad lines and missing files
    are reported, not fatal; blank lines are ignored."""
    parser = annotations.LineParser("list")
    entries, problems = [], []
    for number, raw in annotations.read_raw_lines(anno_file):
        item = parser.parse(number, raw)
        if isinstance(item, annotations.Skip):
            if item.reason != annotations.BLANK_LINE:
                problems.append(f"line {number} {item.path!r}: {item.reason} {item.detail}")
            continue
        path = os.path.join(image_dir, item.path)
        if not os.path.isfile(path):
            problems.append(f"line {number}: no such image: {path}")
            continue
        entries.append((path, item.label))
    return entries, problems


def image_batches(
    entries: list[tuple[str, str]], height: int, width: int, batch_size: int,
    problems: list[str] | None = None, tall_ratio: float = 0.0, rule: ResizeRule | None = None,
) -> Iterator[dict]:
    """Decodes and resizes image files with the serving rule (image_tf.decode_image_tf and
    resize_tf), one compiled call per image; a file that does not decode is appended to
    ``problems`` with the reason and skipped, and the rest go on. ``tall_ratio`` > 0 adds
    "turned" and "tall" (model/turns.py): crops taller than that x their width are read turned
    too, as the serving graph reads them. A keep_aspect ``rule`` resizes each crop to its own
    width (at most ``width``) and pads a batch right to its widest (rounded up to the stride)
    with "width" per image, as the serving graph does; a tall crop's three views at the turned
    crop's width (model/turns.py)."""
    lines = rule is not None and rule.keeps_aspect
    stride = ctc_steps.WIDTH_STRIDE
    canvas = -(-width // stride) * stride

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def load(data):
        image = image_tf.decode_image_tf(data)
        shape = tf.shape(image)
        tall = turns.is_tall(shape[0], shape[1], tall_ratio)
        if lines:  # a tall crop's views at the turned crop's width, cut back to it below
            upright, turned, view_width = tf.cond(
                tall, lambda: turns.tall_views_by_rule_tf(image, rule, canvas),
                lambda: (tf.zeros([height, canvas, 3], tf.uint8),
                         tf.zeros([2, height, canvas, 3], tf.uint8), 0))
            return tf.cond(tall, lambda: upright[:, :view_width],
                           lambda: image_tf.resize_by_rule_tf(image, rule)), turned, tall
        turned = tf.cond(tall, lambda: turns.turned_views_tf(image, height, width),
                         lambda: tf.zeros([2, height, width, 3], tf.uint8))
        return image_tf.resize_tf(image, height, width), turned, tall

    images, turned, tall, labels, paths = [], [], [], [], []
    for k, (path, label) in enumerate(entries):
        with open(path, "rb") as f:
            data = f.read()
        try:
            if formats.sniff_format(data) is None:
                raise ValueError("not a JPEG/PNG/BMP/GIF file")
            image, views, is_tall = load(tf.constant(data))
            images.append(image.numpy())
            turned.append(views.numpy())
            tall.append(bool(is_tall))
        except (ValueError, tf.errors.InvalidArgumentError) as err:
            if problems is None:
                raise
            problems.append(f"{path}: cannot decode: {getattr(err, 'message', err)}")
        else:
            labels.append(label)
            paths.append(path)
        if images and (len(images) == batch_size or k == len(entries) - 1):
            widths, views = None, np.stack(turned)
            if lines:  # padded right to the widest, rounded up to the stride
                widest = -(-max(im.shape[1] for im in images) // stride) * stride
                stacked, widths = image_np.pad_right(images, widest)
                views = views[:, :, :, :widest]
            else:
                stacked = np.stack(images)
            batch = {"image": image_tf.to_model_input(stacked),
                     "text": np.array([t.encode() for t in labels], object),
                     "path": np.array([p.encode() for p in paths], object)}
            if lines:
                batch["width"] = widths
            if tall_ratio:
                batch["turned"] = image_tf.to_model_input(views)
                batch["tall"] = np.array(tall)
            yield batch
            images, turned, tall, labels, paths = [], [], [], [], []
