"""The optional spatial transformer in front of the CNN (``--stn``), and its bilinear sampler.

    x = SpatialTransformer(name="stn")(images)     # (B, H, W, 3) -> (B, H, W, 3), same size
"""

from __future__ import annotations

import keras
import tensorflow as tf


class SpatialTransformer(keras.layers.Layer):
    """Affine spatial transformer (Jaderberg et al., arXiv 1506.02025): a small localization
    net predicts a 2x3 affine matrix per image and the image is resampled bilinearly at the same
    size. It starts as the identity (zero kernel, identity bias), so it first does no harm."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")  # sampling coordinates need float32
        super().__init__(**kwargs)
        self.loc = [
            keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(64, activation="relu"),
            # float32 like the logits layer: under mixed precision a bfloat16 theta near 1.0
            # would move in steps of 2^-7 (0.8%), too coarse for an affine transform
            keras.layers.Dense(
                6,
                kernel_initializer="zeros",
                bias_initializer=keras.initializers.Constant([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
                dtype="float32",
            ),
        ]

    def call(self, images):
        theta = images
        for layer in self.loc:
            theta = layer(theta)
        # The localization convolutions follow the global policy (bfloat16 / float16 under
        # mixed precision); the last Dense and the sampling coordinates are float32.
        return affine_sample(images, tf.reshape(tf.cast(theta, images.dtype), (-1, 2, 3)))

    def compute_output_shape(self, input_shape):
        return input_shape


def affine_sample(images, theta):
    """Bilinear resampling of ``images`` (B, H, W, C) at ``theta`` (B, 2, 3) applied to the
    normalized output grid ([-1, 1] on both axes); samples outside the image clamp to its border."""
    shape = tf.shape(images)
    b, h, w, c = shape[0], shape[1], shape[2], shape[3]
    ys, xs = tf.meshgrid(tf.linspace(-1.0, 1.0, h), tf.linspace(-1.0, 1.0, w), indexing="ij")
    grid = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([h * w])])  # (3, HW)
    coords = tf.matmul(theta, tf.tile(grid[None], [b, 1, 1]))  # (B, 2, HW)
    wf, hf = tf.cast(w - 1, tf.float32), tf.cast(h - 1, tf.float32)
    x = tf.clip_by_value((coords[:, 0] + 1.0) * 0.5 * wf, 0.0, wf)
    y = tf.clip_by_value((coords[:, 1] + 1.0) * 0.5 * hf, 0.0, hf)
    x0, y0 = tf.floor(x), tf.floor(y)
    x1, y1 = tf.minimum(x0 + 1.0, wf), tf.minimum(y0 + 1.0, hf)
    flat = tf.reshape(images, (b, h * w, c))

    def gather(yy, xx):  # (B, HW) pixel coordinates -> (B, HW, C)
        idx = tf.cast(yy, tf.int32) * w + tf.cast(xx, tf.int32)
        return tf.gather(flat, idx, batch_dims=1)

    wx, wy = (x - x0)[..., None], (y - y0)[..., None]  # gradients reach theta through these
    top = gather(y0, x0) * (1.0 - wx) + gather(y0, x1) * wx
    bottom = gather(y1, x0) * (1.0 - wx) + gather(y1, x1) * wx
    return tf.reshape(top * (1.0 - wy) + bottom * wy, shape)
