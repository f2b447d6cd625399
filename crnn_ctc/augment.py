"""Training-only image augmentation: small tensor -> tensor steps on one uint8 (H, W, 3) image.

    image = augment(image)                 # inside tf.data.Dataset.map, training split only

Each step fires with its own probability and keeps the text readable: a small rotation, shear,
scale, shift and perspective (one projective warp, edges replicated), Gaussian blur, Gaussian
noise, brightness/contrast/saturation/hue jitter, colour inversion, and re-encoding as JPEG
at a random quality. The validation split is never augmented (dataset.build_dataset).
"""

from __future__ import annotations

import math

import tensorflow as tf


def _coin(p: float):
    return tf.random.uniform([]) < p


def _maybe(p: float, fn, image):
    return tf.cond(_coin(p), lambda: fn(image), lambda: image)


def random_warp(image, max_rotate_deg=4.0, max_shear=0.25, max_scale=0.08, max_shift=0.04,
                max_perspective=0.0008):
    """A random projective warp around the image centre. float (H, W, 3) -> same shape."""
    h = tf.cast(tf.shape(image)[0], tf.float32)
    w = tf.cast(tf.shape(image)[1], tf.float32)

    def u(limit):
        return tf.random.uniform([], -limit, limit)

    angle = u(max_rotate_deg * math.pi / 180.0)
    shear, scale = u(max_shear), 1.0 + u(max_scale)
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Output -> input mapping (what ImageProjectiveTransform wants): rotate, shear x by y.
    a0, a1 = cos, -sin + shear
    b0, b1 = sin, cos
    cx, cy = w / 2.0, h / 2.0
    a2 = cx - a0 * cx - a1 * cy + u(max_shift) * w
    b2 = cy - b0 * cx - b1 * cy + u(max_shift) * h
    c0, c1 = u(max_perspective), u(max_perspective * 4.0)
    transform = tf.stack([a0, a1, a2, b0, b1, b2, c0, c1])[None]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform,
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    return out[0]


def gaussian_blur(image, max_sigma=1.2):
    """Separable Gaussian blur with a random sigma. float (H, W, 3) -> same shape."""
    sigma = tf.random.uniform([], 0.3, max_sigma)
    x = tf.range(-2.0, 3.0)
    k = tf.exp(-0.5 * tf.square(x / sigma))
    k = k / tf.reduce_sum(k)
    kx = tf.tile(tf.reshape(k, [1, 5, 1, 1]), [1, 1, 3, 1])
    ky = tf.tile(tf.reshape(k, [5, 1, 1, 1]), [1, 1, 3, 1])
    out = tf.nn.depthwise_conv2d(image[None], kx, [1, 1, 1, 1], "SAME")
    return tf.nn.depthwise_conv2d(out, ky, [1, 1, 1, 1], "SAME")[0]


def gaussian_noise(image, max_std=12.0):
    return image + tf.random.normal(tf.shape(image), stddev=tf.random.uniform([], 0.0, max_std))


def color_jitter(image):
    """float (H, W, 3) in [0, 255] -> jittered, same range."""
    x = image / 255.0
    x = tf.image.random_brightness(x, 0.25)
    x = tf.image.random_contrast(x, 0.5, 1.5)
    x = tf.image.random_saturation(x, 0.5, 1.5)
    x = tf.image.random_hue(x, 0.1)
    return tf.clip_by_value(x, 0.0, 1.0) * 255.0


def jpeg_recompress(image_u8, min_quality=30, max_quality=95):
    return tf.image.random_jpeg_quality(image_u8, min_quality, max_quality)


def augment(image):
    """uint8 (H, W, 3) -> uint8 (H, W, 3), randomly augmented."""
    shape = image.shape
    x = tf.cast(image, tf.float32)
    x = _maybe(0.5, random_warp, x)
    x = _maybe(0.25, gaussian_blur, x)
    x = _maybe(0.5, color_jitter, x)
    x = _maybe(0.1, lambda im: 255.0 - im, x)
    x = _maybe(0.25, gaussian_noise, x)
    out = tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)
    out = _maybe(0.25, jpeg_recompress, out)
    return tf.ensure_shape(out, shape)
