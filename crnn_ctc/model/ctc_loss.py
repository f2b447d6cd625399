"""CTC loss with an explicit blank id, label lengths and logit lengths, safe against labels the
model cannot emit.

    per_example, feasible = ctc_loss(labels, label_length, logits, blank_id=charset.blank_id)

A label needs len + adjacent repeats time steps (sequence.ctc_min_steps). When it needs more
than the logits have, CTC's probability is 0 and its loss +inf, which would put inf/NaN into
every gradient of the batch. Such examples get loss 0 (no gradient) and ``feasible`` False, so
the caller can count and log them.
"""

from __future__ import annotations

import tensorflow as tf


def ctc_min_steps(labels, label_length):
    """(B, L) int labels padded anything, (B,) lengths -> (B,) fewest CTC steps (len + repeats)."""
    labels = tf.convert_to_tensor(labels)
    label_length = tf.cast(label_length, tf.int32)
    mask = tf.sequence_mask(label_length - 1, tf.shape(labels)[1] - 1)  # pairs inside the label
    repeats = tf.logical_and(tf.equal(labels[:, 1:], labels[:, :-1]), mask)
    return label_length + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)


def ctc_loss(labels, label_length, logits, blank_id: int, logit_length=None):
    """Per-example CTC negative log-likelihood.

    labels: (B, L) int32 dense, padded beyond ``label_length``; label_length: (B,);
    logits: (B, T, C) batch-major, float; logit_length: (B,), default T for every example.
    Returns (loss (B,) float32 with 0 where infeasible, feasible (B,) bool).
    """
    logits = tf.cast(logits, tf.float32)
    labels = tf.cast(labels, tf.int32)
    label_length = tf.cast(label_length, tf.int32)
    batch, steps = tf.shape(logits)[0], tf.shape(logits)[1]
    if logit_length is None:
        logit_length = tf.fill([batch], steps)
    logit_length = tf.cast(logit_length, tf.int32)
    feasible = ctc_min_steps(labels, label_length) <= logit_length
    # Infeasible labels are replaced by the empty label (always feasible) so the op itself never
    # produces inf; their loss is then zeroed, which also zeroes their gradient.
    safe_length = tf.where(feasible, label_length, tf.zeros_like(label_length))
    safe_labels = tf.where(
        tf.sequence_mask(safe_length, tf.shape(labels)[1]), labels, tf.zeros_like(labels)
    )
    loss = tf.nn.ctc_loss(
        labels=safe_labels,
        logits=logits,
        label_length=safe_length,
        logit_length=logit_length,
        logits_time_major=False,
        blank_index=blank_id,
    )
    return tf.where(feasible, loss, tf.zeros_like(loss)), feasible
