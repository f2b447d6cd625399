"""Training-only image augmentation, vectorized over a batch (tensor -> tensor steps).

    images = augment_batch(images)     # uint8 (B, H, W, 3), after batching, training split only
    image = jpeg_recompress(image)      # uint8 (H, W, 3), per image before batching (p = 0.25)

Each step fires per image with its own probability and keeps the text readable: a small rotation,
shear, scale, shift and perspective (one projective warp, edges replicated), Gaussian blur,
brightness/contrast/saturation/hue jitter, colour inversion, Gaussian noise, and re-encoding as
JPEG at a random quality. Working on whole batches costs one op per step instead of one per
image (3x the images/s of a per-image map on 2 cores, BENCHMARKS.md). The validation split is
never augmented (dataset.build_dataset).
"""

from __future__ import annotations

import math

import tensorflow as tf

IDENTITY = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]


def _coins(batch, p: float):
    return tf.random.uniform([batch]) < p


def _per_image(mask):
    return mask[:, None, None, None]


def random_warp(images, mask, max_rotate_deg=4.0, max_shear=0.25, max_scale=0.08,
                max_shift=0.04, max_perspective=0.0008):
    """Random projective warps about each image's centre where ``mask`` (B,) is True.
    float (B, H, W, 3) -> same shape."""
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
    transforms = tf.where(mask[:, None], transforms, tf.constant([IDENTITY]))
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="NEAREST",
    )


def gaussian_blur(images, mask, max_sigma=1.2):
    """Separable 5-tap Gaussian blur, sigma random per image; a delta kernel where ``mask`` is
    False. The batch is folded into channels so one depthwise conv blurs every image."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    sigma = tf.random.uniform([b, 1], 0.3, max_sigma)
    k = tf.exp(-0.5 * tf.square(tf.range(-2.0, 3.0)[None] / sigma))
    k = k / tf.reduce_sum(k, axis=1, keepdims=True)
    k = tf.where(mask[:, None], k, tf.constant([[0.0, 0.0, 1.0, 0.0, 0.0]]))  # (B, 5)
    k = tf.reshape(tf.repeat(k, 3, axis=0), [-1, 5])  # (B*3, 5): one kernel per channel
    x = tf.reshape(tf.transpose(images, [1, 2, 0, 3]), [1, h, w, b * 3])
    kx = tf.transpose(k)[None, :, :, None]  # (1, 5, B*3, 1)
    ky = tf.transpose(k)[:, None, :, None]  # (5, 1, B*3, 1)
    x = tf.nn.depthwise_conv2d(x, kx, [1, 1, 1, 1], "SAME")
    x = tf.nn.depthwise_conv2d(x, ky, [1, 1, 1, 1], "SAME")
    return tf.transpose(tf.reshape(x, [h, w, b, 3]), [2, 0, 1, 3])


def color_jitter(images, mask):
    """Brightness, contrast, saturation and hue jitter per image. float [0, 255] -> same."""
    b = tf.shape(images)[0]

    def u(lo, hi):
        return tf.random.uniform([b, 1, 1, 1], lo, hi)

    x = images / 255.0 + u(-0.25, 0.25)
    mean = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    x = (x - mean) * u(0.5, 1.5) + mean
    grey = tf.reduce_sum(x * [0.299, 0.587, 0.114], axis=-1, keepdims=True)
    x = grey + (x - grey) * u(0.5, 1.5)
    hsv = tf.image.rgb_to_hsv(tf.clip_by_value(x, 0.0, 1.0))
    hue = tf.math.floormod(hsv[..., :1] + u(-0.1, 0.1), 1.0)
    x = tf.image.hsv_to_rgb(tf.concat([hue, hsv[..., 1:]], axis=-1)) * 255.0
    return tf.where(_per_image(mask), x, images)


def gaussian_noise(images, mask, max_std=12.0):
    std = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], 0.0, max_std)
    noise = tf.random.normal(tf.shape(images)) * std
    return tf.where(_per_image(mask), images + noise, images)


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
    x = random_warp(x, _coins(b, 0.5))
    x = gaussian_blur(x, _coins(b, 0.25))
    x = color_jitter(x, _coins(b, 0.5))
    x = tf.where(_per_image(_coins(b, 0.1)), 255.0 - x, x)
    x = gaussian_noise(x, _coins(b, 0.25))
    out = tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)
    return tf.ensure_shape(out, shape)
