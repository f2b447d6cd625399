"""CTC loss with an explicit blank id, label lengths and logit lengths, safe against labels the
model cannot emit.

    per_example, feasible = ctc_loss(labels, label_length, logits, blank_id=charset.blank_id)

A label needs len + adjacent repeats time steps (sequence.ctc_min_steps). When it needs more
than the logits have, CTC's probability is 0 and its loss +inf, which would put inf/NaN into
every gradient of the batch. Such examples get loss 0 (no gradient) and ``feasible`` False, so
the caller can count and log them.

Two implementations of the same loss: TensorFlow's CTCLoss kernel (labels as a SparseTensor)
and its dense-label implementation (tf ops, which run on any device). ``SPARSE`` picks: None
(the default) = the kernel when no GPU is visible, where it is the faster of the two on CPU
(BENCHMARKS.md); tests/model/test_ctc_loss_decoding.py holds both to the same loss and gradients.
"""

from __future__ import annotations

import tensorflow as tf

SPARSE: bool | None = None  # None: sparse labels (the CTCLoss kernel) unless a GPU is visible


def use_sparse() -> bool:
    if SPARSE is not None:
        return SPARSE
    return not tf.config.list_logical_devices("GPU")


def dense_to_sparse(labels, label_length) -> tf.SparseTensor:
    """(B, L) labels padded with anything beyond ``label_length`` -> SparseTensor of the labels."""
    mask = tf.sequence_mask(label_length, tf.shape(labels)[1])
    indices = tf.where(mask)
    return tf.SparseTensor(indices, tf.gather_nd(labels, indices),
                           tf.shape(labels, out_type=tf.int64))


def ctc_min_steps(labels, label_length):
    """(B, L) int labels padded anything, (B,) lengths -> (B,) fewest CTC steps (len + repeats)."""
    labels = tf.convert_to_tensor(labels)
    label_length = tf.cast(label_length, tf.int32)
    mask = tf.sequence_mask(label_length - 1, tf.shape(labels)[1] - 1)  # pairs inside the label
    repeats = tf.logical_and(tf.equal(labels[:, 1:], labels[:, :-1]), mask)
    return label_length + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)


def ctc_loss(labels, label_length, logits, blank_id: int, logit_length=None,
             sparse: bool | None = None):
    """Per-example CTC negative log-likelihood.

    labels: (B, L) int32 dense, padded beyond ``label_length``; label_length: (B,);
    logits: (B, T, C) batch-major, float; logit_length: (B,), default T for every example.
    sparse: the CTCLoss kernel (True) or the dense implementation (False); None = use_sparse().
    The kernel has no XLA lowering: an XLA-compiled caller passes False.
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
    if use_sparse() if sparse is None else sparse:
        loss = _kernel_loss(labels, label_length, logits, logit_length, blank_id, feasible)
    else:
        loss = _dense_loss(labels, label_length, logits, logit_length, blank_id, feasible)
    return tf.where(feasible, loss, tf.zeros_like(loss)), feasible


def _dense_loss(labels, label_length, logits, logit_length, blank_id, feasible):
    # Infeasible labels are replaced by the empty label (always feasible) so the op itself never
    # produces inf; the caller zeroes their loss, which also zeroes their gradient.
    safe_length = tf.where(feasible, label_length, tf.zeros_like(label_length))
    safe_labels = tf.where(
        tf.sequence_mask(safe_length, tf.shape(labels)[1]), labels, tf.zeros_like(labels)
    )
    return tf.nn.ctc_loss(labels=safe_labels, logits=logits, label_length=safe_length,
                          logit_length=logit_length, logits_time_major=False,
                          blank_index=blank_id)


def _kernel_loss(labels, label_length, logits, logit_length, blank_id, feasible):
    """The CTCLoss kernel refuses empty labels: infeasible and empty rows get a one-symbol
    stand-in label (the caller zeroes the infeasible ones), and an empty label's loss is its
    closed form, -sum_t log p_t(blank)."""
    empty = tf.equal(label_length, 0)
    real = tf.logical_and(feasible, tf.logical_not(empty))
    stand_in = (blank_id + 1) % tf.shape(logits)[2]  # any symbol but the blank
    safe_length = tf.where(real, label_length, tf.ones_like(label_length))
    first = tf.where(real, labels[:, 0], tf.fill(tf.shape(label_length), stand_in))
    safe_labels = tf.concat([first[:, None], labels[:, 1:]], axis=1)
    loss = tf.nn.ctc_loss(labels=dense_to_sparse(safe_labels, safe_length), logits=logits,
                          label_length=None, logit_length=logit_length,
                          logits_time_major=False, blank_index=blank_id)
    blank_log_p = tf.nn.log_softmax(logits)[:, :, blank_id]  # (B, T)
    valid = tf.sequence_mask(logit_length, tf.shape(logits)[1], dtype=tf.float32)
    return tf.where(empty, -tf.reduce_sum(blank_log_p * valid, axis=1), loss)
