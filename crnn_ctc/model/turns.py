"""Tall crops read turned: a crop taller than ``Decoder.tall_ratio`` x its width is read as it
is and turned 90 degrees each way, and the read whose text is the most probable is kept.

A detector's crop of a word written top to bottom, or of a sign photographed on its side, is
taller than wide; resized to the model's 32 x 100 as it is, its letters are squashed beyond
reading. A rotated read replaces the read as it is only when it spells something and its score
is higher. The score is the log-probability of the text over the model's T steps, the same
measure for every view and every length (each view is resized to the same input, so each gives
T steps): a confident read of one upright letter ("I", "1") keeps its own read unless a turned
read is more probable, and an empty read as it is competes on its own probability too. (Scores
divided by the character count were not one measure: an empty read's total stood against
turned reads' per-character means, and the mean favoured reads with extra characters.)

    ids, scores = read_turned(read, images, turned, tall)   # in-graph (serving, eval)
    best = pick(candidates)                                  # the same rule in Python (portable)

``read(images)`` -> (ids (N, K, T) padded with -1, scores (N, K)); ``images`` (B, H, W, 3),
``turned`` (B, 2, H, W, 3) (the crop turned counter-clockwise, then clockwise, resized alike),
``tall`` (B,) bool. Only the tall crops' turned views are read: one call of ``read`` on B + 2 x
(tall crops) images.

A keep_aspect (line) model reads a crop at its own width, but the three views of a tall crop
at one width, the turned crop's (``tall_views_by_rule_tf``: the crop as it is is stretched to
it), so that they give the same steps and their scores stay one measure: read at its own few
steps, a word on its side scores as a confident one-letter read. ``read(images, widths)`` is
then handed every image's width (``read_turned(..., widths)``).
"""

from __future__ import annotations

import tensorflow as tf

from crnn_ctc.data import image_tf
from crnn_ctc.model.decoder import TURNS


def is_tall(height, width, ratio: float):
    """True where a crop of ``height`` x ``width`` is read turned too (ratio 0: never)."""
    return (ratio > 0) & (tf.cast(height, tf.float32) > ratio * tf.cast(width, tf.float32))


def turned_views_tf(image, height: int, width: int):
    """(h, w, 3) uint8 -> (2, height, width, 3) uint8: turned each way, resized by the serving
    rule. A batch (B, h, w, 3) gives (B, 2, height, width, 3)."""
    views = [image_tf.resize_tf(tf.image.rot90(image, k), height, width) for k in TURNS]
    return tf.stack(views, axis=-4)


def tall_views_by_rule_tf(image, rule, canvas: int):
    """keep_aspect: a tall (h, w, 3) uint8 crop (or a batch of one size) -> (the crop as it
    is, (H, canvas, 3); turned each way, (2, H, canvas, 3); their width): all three resized to
    the width ``rule`` gives the turned crop and padded right to ``canvas``."""
    shape = tf.shape(image)
    width = image_tf.rule_width_tf(shape[-2], shape[-3], rule)  # turned: w high, h wide

    def fit(x):
        x = image_tf.resize_tf(x, rule.height, width)
        pad = tf.concat([tf.zeros([tf.rank(x) - 2, 2], tf.int32), [[0, canvas - width], [0, 0]]], 0)
        return tf.pad(x, pad)

    turned = tf.stack([fit(tf.image.rot90(image, k)) for k in TURNS], axis=-4)
    return fit(image), turned, width


def candidate_scores(scores, lengths, turned: bool):
    """A view's read as a candidate: its score (log-probability of the text); a turned view
    that reads nothing is no candidate (-inf)."""
    if not turned:
        return scores
    return tf.where(lengths > 0, scores, tf.constant(float("-inf"), scores.dtype))


def read_turned(read, images, turned, tall, widths=None):
    """``read`` on the images and the tall ones' turned views -> each crop's best (ids, scores)
    (B, K, T), (B, K): all K paths come from the view whose best path wins. keep_aspect:
    ``widths`` (B,) (a tall crop's turned views have its width) and ``read(images, widths)``."""
    batch = tf.shape(images)[0]
    rows = tf.cast(tf.where(tall)[:, 0], tf.int32)  # (M,) the tall crops
    extra = tf.reshape(tf.gather(turned, rows), tf.concat([[-1], tf.shape(images)[1:]], 0))
    both = tf.concat([images, tf.cast(extra, images.dtype)], 0)
    if widths is None:
        ids, scores = read(both)
    else:
        extra_widths = tf.repeat(tf.gather(widths, rows), 2)
        ids, scores = read(both, tf.concat([widths, extra_widths], 0))
    lengths = tf.reduce_sum(tf.cast(ids[:, 0] >= 0, tf.int32), axis=1)  # (B + 2M,)
    # As it is: its own score (an empty read too); turned: -inf when empty.
    own = candidate_scores(scores[:batch, 0], lengths[:batch], turned=False)
    other = tf.reshape(candidate_scores(scores[batch:, 0], lengths[batch:], turned=True), [-1, 2])
    candidates = tf.concat([tf.gather(own, rows)[:, None], other], 1)  # (M, 3)
    choice = tf.argmax(candidates, axis=1, output_type=tf.int32)  # ties: as it is
    source = tf.where(choice == 0, rows, batch + 2 * tf.range(tf.size(rows)) + choice - 1)
    pick = tf.tensor_scatter_nd_update(tf.range(batch), rows[:, None], source)
    return tf.gather(ids, pick), tf.gather(scores, pick)
