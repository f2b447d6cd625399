"""crnn.FusedBatchNorm (one FusedBatchNormV3 op) computes what keras.layers.BatchNormalization
computes: outputs, moving statistics and gradients, in training and inference, in float32 and
under the mixed policies; its checkpoints are Keras BN's."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from crnn_ctc.model import crnn


def pair(shape, policy="float32"):
    """A Keras BN and a FusedBatchNorm with the same (non-trivial) variables."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        ref = keras.layers.BatchNormalization(momentum=0.9)
        fused = crnn.FusedBatchNorm(momentum=0.9)
        for layer in (ref, fused):
            layer.build(shape)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    rng = np.random.default_rng(1)
    channels = shape[-1]
    values = [rng.uniform(0.5, 2, channels), rng.normal(0, 1, channels),
              rng.normal(0, 1, channels), rng.uniform(0.5, 3, channels)]
    for layer in (ref, fused):
        for var, v in zip((layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance),
                          values, strict=True):
            var.assign(v.astype(np.float32))
    return ref, fused


def run(layer, x, training):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        # Weights that vary per element: a per-channel constant would have zero x-gradient.
        w = tf.constant(np.random.default_rng(2).normal(0, 1, y.shape), tf.float32)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * w)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return y, grads


@pytest.mark.parametrize("training", [True, False])
def test_same_outputs_statistics_and_gradients_in_float32(training):
    x = tf.constant(np.random.default_rng(0).normal(3, 2, (4, 8, 25, 16)), tf.float32)
    ref, fused = pair(x.shape)
    y_ref, g_ref = run(ref, x, training)
    y, g = run(fused, x, training)
    np.testing.assert_allclose(y.numpy(), y_ref.numpy(), rtol=1e-4, atol=1e-4)
    for a, b in zip(g, g_ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-3)
    for name in ("moving_mean", "moving_variance"):  # updated (training) or not (inference)
        np.testing.assert_allclose(getattr(fused, name).numpy(), getattr(ref, name).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    assert training != np.allclose(ref.moving_mean.numpy(), pair(x.shape)[0].moving_mean)


@pytest.mark.parametrize("policy,dtype,tol", [("mixed_bfloat16", "bfloat16", 5e-2),
                                              ("mixed_float16", "float16", 5e-3)])
def test_mixed_precision_computes_in_the_compute_dtype(policy, dtype, tol):
    x32 = np.random.default_rng(0).normal(0, 1, (4, 8, 25, 16)).astype(np.float32)
    ref, fused = pair(x32.shape, policy)
    x = tf.cast(x32, dtype)  # what the conv before it hands over
    y_ref, _ = run(ref, x, True)
    y, grads = run(fused, x, True)
    assert y.dtype == dtype and fused.moving_mean.dtype == "float32"
    assert all(g.dtype == w for g, w in zip(grads, (dtype, "float32", "float32"), strict=True))
    np.testing.assert_allclose(tf.cast(y, tf.float32), tf.cast(y_ref, tf.float32), atol=tol * 4)
    np.testing.assert_allclose(fused.moving_variance.numpy(), ref.moving_variance.numpy(),
                               rtol=tol)


def test_other_ranks_and_masks_run_the_keras_layer():
    x = tf.constant(np.random.default_rng(0).normal(1, 2, (4, 25, 16)), tf.float32)
    ref, fused = pair((4, 25, 16))
    np.testing.assert_allclose(fused(x, training=True), ref(x, training=True), atol=1e-5)


def test_checkpoints_are_interchangeable_with_keras_batch_norm(tmp_path):
    shape = (2, 4, 6, 8)
    ref, fused = pair(shape)
    tf.train.Checkpoint(bn=ref).write(str(tmp_path / "ref"))
    fresh = crnn.FusedBatchNorm(momentum=0.9)
    fresh.build(shape)
    tf.train.Checkpoint(bn=fresh).read(str(tmp_path / "ref")).assert_consumed()
    np.testing.assert_array_equal(fresh.moving_variance.numpy(), fused.moving_variance.numpy())
