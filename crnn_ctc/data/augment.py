"""Training-only image augmentation, vectorized over a batch (tensor -> tensor steps).

    images = augment_batch(images)     # uint8 (B, H, W, 3), after batching, training split only
    image = jpeg_recompress(image)      # uint8 (H, W, 3), per image before batching (p = 0.25)

Each step fires per image with its own probability and keeps the text readable: a small rotation,
shear, scale, shift and perspective (one projective warp, edges replicated), Gaussian blur,
brightness/contrast/saturation/hue jitter, colour inversion, Gaussian noise, and re-encoding as
JPEG at a random quality. Each step runs once per batch on the images it picked (gather,
transform, scatter back) instead of once per image, which saves the per-op overhead that
dominates on 32x100 images. The validation split is never augmented (dataset.build_dataset).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def random_warp(images, max_rotate_deg=4.0, max_shear=0.25, max_scale=0.08, max_shift=0.04,
                max_perspective=0.0008):
    """A random projective warp about each image's centre. float (B, H, W, 3) -> same shape."""
    b = tf.shape(images)[0]
    h = tf.cast(tf.shape(images)[1], tf.float32)
    w = tf.cast(tf.shape(images)[2], tf.float32)

    def u(limit):
        return tf.random.uniform([b], -limit, limit)

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


def gaussian_blur(images, max_sigma=1.2):
    """Separable 5-tap Gaussian blur, sigma random per image. The batch is folded into the
    channels, so one depthwise conv blurs every image with its own kernel."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    sigma = tf.random.uniform([b, 1], 0.3, max_sigma)
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


def color_jitter(images, max_hue=0.1):
    """Brightness, contrast, saturation and hue jitter per image. float [0, 255] -> same."""
    b = tf.shape(images)[0]

    def u(lo, hi, shape=(1, 1, 1)):
        return tf.random.uniform([b, *shape], lo, hi)

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


def gaussian_noise(images, max_std=12.0):
    std = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], 0.0, max_std)
    return images + tf.random.normal(tf.shape(images)) * std


def invert(images):
    return 255.0 - images


def apply_where(fn, images, mask):
    """``fn`` on the images where ``mask`` (B,) is True only; the others pass unchanged."""
    idx = tf.where(mask)
    return tf.cond(  # some ops (the folded blur) reject an empty batch
        tf.shape(idx)[0] > 0,
        lambda: tf.tensor_scatter_nd_update(images, idx, fn(tf.gather_nd(images, idx))),
        lambda: images,
    )


def jpeg_recompress(image_u8, p=0.25, min_quality=30, max_quality=95):
    """One uint8 (H, W, 3) image re-encoded at a random JPEG quality with probability p."""
    return tf.cond(
        tf.random.uniform([]) < p,
        lambda: tf.image.random_jpeg_quality(image_u8, min_quality, max_quality),
        lambda: image_u8,
    )


def augment_batch(images):
    """uint8 (B, H, W, 3) -> uint8 (B, H, W, 3), each image randomly augmented."""
    shape = images.shape
    b = tf.shape(images)[0]
    x = tf.cast(images, tf.float32)
    for fn, p in ((random_warp, 0.5), (gaussian_blur, 0.25), (color_jitter, 0.5),
                  (invert, 0.1), (gaussian_noise, 0.25)):
        x = apply_where(fn, x, tf.random.uniform([b]) < p)
    out = tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)
    return tf.ensure_shape(out, shape)
