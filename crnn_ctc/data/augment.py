"""Training-only image augmentation, vectorized over a batch (tensor -> tensor steps).

    images = augment_batch(images)     # uint8 (B, H, W, 3), after batching, training split only
    images = augment_batch(images, seed=[7, 0])   # the same pixels for the same seed and images

Each step fires per image with its own probability and keeps the text readable: a small rotation,
shear, scale, shift and perspective (one projective warp, edges replicated), Gaussian blur,
brightness/contrast/saturation/hue jitter, colour inversion, Gaussian noise, and (first, p =
0.25) re-encoding as JPEG at a random quality. Each step runs once per batch on the images it
picked (gather, transform, scatter back) instead of once per image, which saves the per-op
overhead that dominates on 32x100 images. The validation split is never augmented
(pipeline.build_dataset).

With ``seed`` (a shape-[2] integer tensor) every draw is a stateless random op on a seed folded
from it, so the result depends on the seed and the input only: in a tf.data map running calls in
parallel, stateful ops hand out their draws in whatever order the calls happen to run.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


class Draws:
    """Random draws, stateful (``seed`` None) or stateless: the k-th draw of a seeded Draws
    uses the seed folded with k."""

    def __init__(self, seed=None):
        self.seed = None if seed is None else tf.cast(seed, tf.int64)
        self.k = 0

    def next_seed(self):
        """The seed of the next draw (None when stateful), e.g. to hand to a sub-step."""
        if self.seed is None:
            return None
        self.k += 1
        return tf.random.experimental.stateless_fold_in(self.seed, self.k)

    def uniform(self, shape, lo=0.0, hi=1.0):
        if self.seed is None:
            return tf.random.uniform(shape, lo, hi)
        return tf.random.stateless_uniform(shape, self.next_seed(), lo, hi)

    def normal(self, shape):
        if self.seed is None:
            return tf.random.normal(shape)
        return tf.random.stateless_normal(shape, self.next_seed())

    def jpeg_quality(self, image_u8, lo: int, hi: int):
        if self.seed is None:
            return tf.image.random_jpeg_quality(image_u8, lo, hi)
        return tf.image.stateless_random_jpeg_quality(image_u8, lo, hi, self.next_seed())


def random_warp(images, max_rotate_deg=4.0, max_shear=0.25, max_scale=0.08, max_shift=0.04,
                max_perspective=0.0008, draws: Draws | None = None):
    """A random projective warp about each image's centre. float (B, H, W, 3) -> same shape."""
    draws = draws or Draws()
    b = tf.shape(images)[0]
    h = tf.cast(tf.shape(images)[1], tf.float32)
    w = tf.cast(tf.shape(images)[2], tf.float32)

    def u(limit):
        return draws.uniform([b], -limit, limit)

    angle = u(max_rotate_deg * math.pi / 180.0)
    shear, scale = u(max_shear), 1.0 + u(max_scale)
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Output -> input mapping (what ImageProjectiveTransform wants): rotate, shear x by y.
    a0, a1, b0, b1 = cos, -sin + shear, sin, cos
    cx, cy = w / 2.0, h / 2.0
    a2 = cx - a0 * cx - a1 * cy + u(max_shift) * w
    b2 = cy - b0 * cx - b1 * cy + u(max_shift) * h
    c0, c1 = u(max_perspective), u(max_perspective * 4.0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, c0, c1], axis=1)  # (B, 8)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="NEAREST",
    )


def gaussian_blur(images, max_sigma=1.2, draws: Draws | None = None):
    """Separable 5-tap Gaussian blur, sigma random per image. The batch is folded into the
    channels, so one depthwise conv blurs every image with its own kernel."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    sigma = (draws or Draws()).uniform([b, 1], 0.3, max_sigma)
    k = tf.exp(-0.5 * tf.square(tf.range(-2.0, 3.0)[None] / sigma))
    k = k / tf.reduce_sum(k, axis=1, keepdims=True)
    k = tf.reshape(tf.repeat(k, 3, axis=0), [-1, 5])  # (B*3, 5): one kernel per channel
    x = tf.reshape(tf.transpose(images, [1, 2, 0, 3]), [1, h, w, b * 3])
    kx = tf.transpose(k)[None, :, :, None]  # (1, 5, B*3, 1)
    ky = tf.transpose(k)[:, None, :, None]  # (5, 1, B*3, 1)
    x = tf.nn.depthwise_conv2d(x, kx, [1, 1, 1, 1], "SAME")
    x = tf.nn.depthwise_conv2d(x, ky, [1, 1, 1, 1], "SAME")
    return tf.transpose(tf.reshape(x, [h, w, b, 3]), [2, 0, 1, 3])


# RGB <-> YIQ: a hue shift is a rotation of the (I, Q) plane, one 3x3 matrix per image.
# NumPy, not tf.constant: a tensor made at import time would start TensorFlow's context before
# MultiWorkerMirroredStrategy can configure collective ops.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                        [0.211, -0.523, 0.312]], np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def color_jitter(images, max_hue=0.1, draws: Draws | None = None):
    """Brightness, contrast, saturation and hue jitter per image. float [0, 255] -> same."""
    draws = draws or Draws()
    b = tf.shape(images)[0]

    def u(lo, hi, shape=(1, 1, 1)):
        return draws.uniform([b, *shape], lo, hi)

    x = images + u(-0.25, 0.25) * 255.0
    mean = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    x = (x - mean) * u(0.5, 1.5) + mean
    grey = tf.reduce_sum(x * [0.299, 0.587, 0.114], axis=-1, keepdims=True)
    x = grey + (x - grey) * u(0.5, 1.5)
    theta = u(-max_hue, max_hue, ()) * (2.0 * math.pi)
    cos, sin, zero, one = tf.cos(theta), tf.sin(theta), tf.zeros([b]), tf.ones([b])
    rot = tf.reshape(tf.stack([one, zero, zero, zero, cos, -sin, zero, sin, cos], 1), [b, 3, 3])
    m = tf.matmul(tf.matmul(tf.tile(_YIQ_TO_RGB[None], [b, 1, 1]), rot), _RGB_TO_YIQ)
    x = tf.einsum("bhwc,bdc->bhwd", x, m)
    return tf.clip_by_value(x, 0.0, 255.0)


def gaussian_noise(images, max_std=12.0, draws: Draws | None = None):
    draws = draws or Draws()
    std = draws.uniform([tf.shape(images)[0], 1, 1, 1], 0.0, max_std)
    return images + draws.normal(tf.shape(images)) * std


def invert(images, draws: Draws | None = None):
    del draws  # nothing random
    return 255.0 - images


def apply_where(fn, images, mask):
    """``fn`` on the images where ``mask`` (B,) is True only; the others pass unchanged."""
    idx = tf.where(mask)
    return tf.cond(  # some ops (the folded blur) reject an empty batch
        tf.shape(idx)[0] > 0,
        lambda: tf.tensor_scatter_nd_update(images, idx, fn(tf.gather_nd(images, idx))),
        lambda: images,
    )


def jpeg_recompress(images_u8, draws: Draws | None = None, min_quality=30, max_quality=95):
    """uint8 (B, H, W, 3) images, each re-encoded as JPEG at a random quality (one image at a
    time: the JPEG ops take single images)."""
    draws = draws or Draws()
    n = tf.shape(images_u8)[0]
    if draws.seed is None:
        return tf.map_fn(lambda im: tf.image.random_jpeg_quality(im, min_quality, max_quality),
                         images_u8)
    base = draws.next_seed()
    return tf.map_fn(
        lambda pair: tf.image.stateless_random_jpeg_quality(
            pair[0], min_quality, max_quality,
            tf.random.experimental.stateless_fold_in(base, pair[1])),
        (images_u8, tf.range(n, dtype=tf.int64)), fn_output_signature=tf.uint8)


def augment_batch(images, seed=None):
    """uint8 (B, H, W, 3) -> uint8 (B, H, W, 3), each image randomly augmented; ``seed``
    (shape [2]) makes it a function of the seed and the images."""
    shape = images.shape
    b = tf.shape(images)[0]
    draws = Draws(seed)
    jpeg = draws.uniform([b]) < 0.25
    jpeg_draws = Draws(draws.next_seed())
    images = apply_where(lambda imgs: jpeg_recompress(imgs, jpeg_draws), images, jpeg)
    x = tf.cast(images, tf.float32)
    for fn, p in ((random_warp, 0.5), (gaussian_blur, 0.25), (color_jitter, 0.5),
                  (invert, 0.1), (gaussian_noise, 0.25)):
        mask = draws.uniform([b]) < p
        # each step's own seed, drawn here: a branch that does not run draws nothing
        step = Draws(draws.next_seed())
        x = apply_where(lambda imgs, fn=fn, step=step: fn(imgs, draws=step), x, mask)
    out = tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)
    return tf.ensure_shape(out, shape)
