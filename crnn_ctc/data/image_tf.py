"""Image checking, decoding and resizing in TensorFlow: the serving graph's and tf.data's side
of the preprocessing rule in image_np.py (same decode, same filters, to within one grey level).

    data = check_image_tf(image_bytes)                      # scalar tf.string, header checked
    image = resize_tf(decode_image_tf(data), 32, 100)       # (32, 100, 3) uint8
    x = to_model_input(images)                              # float32 in [-1, 1]
"""

from __future__ import annotations

import tensorflow as tf

from crnn_ctc.data.formats import DEFAULT_MAX_PIXELS, MAX_GIF_BLOCKS
from crnn_ctc.data.image_header import JPEG_SOF


def _le(b, i, n):  # little-endian unsigned integer of n bytes at offset i of int64 bytes b
    return sum(b[i + k] * (256**k) for k in range(n))


def _be(b, i, n):
    return sum(b[i + k] * (256 ** (n - 1 - k)) for k in range(n))


def _jpeg_size(image_bytes):
    """(width, height) from a JPEG's frame header, found by walking the marker segments; (0, 0)
    when there is none. Never raises (extract_jpeg_shape raises on a broken header)."""
    n = tf.cast(tf.strings.length(image_bytes), tf.int64)

    def byte(i):
        return tf.cast(tf.io.decode_raw(tf.strings.substr(image_bytes, i, 1), tf.uint8)[0],
                       tf.int64)

    def be16(i):
        return byte(i) * 256 + byte(i + 1)

    def searching(i, w, h, done):
        return tf.logical_and(tf.logical_not(done), i + 9 <= n)

    def step(i, w, h, done):
        marker = byte(i + 1)
        sof = tf.logical_and(tf.equal(byte(i), 0xFF),
                             tf.reduce_any(tf.equal(marker, tf.constant(JPEG_SOF, tf.int64))))
        w = tf.where(sof, be16(i + 7), w)
        h = tf.where(sof, be16(i + 5), h)
        bad = tf.not_equal(byte(i), 0xFF)  # not on a marker: the walk is lost, stop
        return i + 2 + be16(i + 2), w, h, sof | bad

    zero = tf.constant(0, tf.int64)
    _, w, h, _ = tf.while_loop(searching, step, (tf.constant(2, tf.int64), zero, zero,
                                                 tf.constant(False)))  # fmt: skip
    return w, h


def jpeg_size_fast(image_bytes):
    """(width, height) of a JPEG by TensorFlow's header parser: faster than the marker walk of
    ``_jpeg_size``, but raises on a broken header (for callers that catch it, like serve.graph's
    tf.data pipeline with ignore_errors)."""
    shape = tf.cast(tf.io.extract_jpeg_shape(image_bytes), tf.int64)
    return shape[1], shape[0]


def image_problem_tf(image_bytes, max_pixels: int = DEFAULT_MAX_PIXELS, jpeg_size=None):
    """Scalar tf.string -> why it cannot be used ("" when it is a JPEG, PNG, GIF or BMP of at
    most ``max_pixels`` pixels), from the header alone: nothing is decoded and nothing raises,
    so one bad image in a batch costs only its own result. Corrupt pixel data is found when
    decoding (serve.graph)."""
    # The first 26 bytes, zero-padded so that short input reads as an unknown format.
    head = tf.strings.join([tf.strings.substr(image_bytes, 0, 26), b"\0" * 26])
    b = tf.cast(tf.io.decode_raw(tf.strings.substr(head, 0, 26), tf.uint8), tf.int64)  # (26,)
    is_jpeg = tf.io.is_jpeg(image_bytes)
    is_png = tf.equal(tf.strings.substr(head, 0, 4), b"\x89PNG")
    is_gif = tf.equal(tf.strings.substr(head, 0, 4), b"GIF8")
    is_bmp = tf.equal(tf.strings.substr(head, 0, 2), b"BM")

    def bmp_size():  # BITMAPCOREHEADER (12 bytes) has 16-bit sizes; later headers signed 32-bit
        core = tf.equal(_le(b, 14, 4), 12)
        w = tf.where(core, _le(b, 18, 2), _le(b, 18, 4))
        h = tf.where(core, _le(b, 20, 2), _le(b, 22, 4))
        h = tf.where(h >= 2**31, 2**32 - h, h)  # negative height: a top-down bitmap
        return w, h

    width, height = tf.case(
        [
            (is_jpeg, lambda: (jpeg_size or _jpeg_size)(image_bytes)),
            (is_png, lambda: (_be(b, 16, 4), _be(b, 20, 4))),
            (is_gif, lambda: (_le(b, 6, 2), _le(b, 8, 2))),
            (is_bmp, bmp_size),
        ],
        default=lambda: (tf.constant(0, tf.int64), tf.constant(0, tf.int64)),
        exclusive=False,
    )
    # A GIF decodes every frame (TensorFlow has no first-frame decoder), each at its own size,
    # into frames x screen pixels: the walk over its blocks counts the frames and finds any
    # that does not fit the screen (image_header.py has the rule), before anything is decoded.
    frames, misfit, too_long = tf.cond(
        is_gif, lambda: _gif_walk(image_bytes, width, height, max_pixels),
        lambda: (tf.constant(1, tf.int64), tf.constant(""), tf.constant(False)))
    gif_frames = tf.where(is_gif & (frames > 1), _join(" x at least ", frames, " frames"), "")
    too_large = _join("image too large: ", width, "x", height, " pixels", gif_frames,
                      f", the limit is {max_pixels} pixels")
    known = is_jpeg | is_png | is_gif | is_bmp
    return tf.case(
        [
            (tf.equal(tf.strings.length(image_bytes), 0), lambda: tf.constant("empty: 0 bytes")),
            (tf.logical_not(known),
             lambda: tf.constant("not an image: not a JPEG, PNG, GIF or BMP file")),
            (too_long, lambda: tf.constant(
                f"image too large: GIF of more than {MAX_GIF_BLOCKS} blocks")),
            (tf.equal(width * height, 0),
             lambda: tf.constant("corrupt image: no image size in the header")),
            (tf.not_equal(misfit, ""), lambda: tf.strings.join(["corrupt image: ", misfit])),
            (width * height * frames > max_pixels, lambda: too_large),
        ],
        default=lambda: tf.constant(""),
        exclusive=False,
    )


def _gif_walk(image_bytes, screen_w, screen_h, max_pixels):
    """A GIF's blocks walked (image_header.gif_frames, in-graph) -> (frames, the first frame
    that does not fit the screen described or "", whether the walk was cut at MAX_GIF_BLOCKS).
    The walk stops early once the frames exceed ``max_pixels`` or one does not fit."""
    data = tf.cast(tf.io.decode_raw(tf.strings.join([image_bytes, b"\0" * 16]), tf.uint8),
                   tf.int64)  # zero-padded: a descriptor cut short reads zeros
    n = tf.cast(tf.strings.length(image_bytes), tf.int64)
    screen = screen_w * screen_h

    def le16(i):
        return data[i] + 256 * data[i + 1]

    def table(flags):  # the size of a colour table announced by a flags byte, 0 if none
        return tf.where(flags >= 128, 3 * tf.bitwise.left_shift(
            tf.constant(2, tf.int64), tf.bitwise.bitwise_and(flags, 7)), 0)

    def skip_sub_blocks(i, steps):  # each: its size byte, then that many bytes; 0 ends them
        def more(i, steps):
            return (i < n) & (steps < MAX_GIF_BLOCKS) & (data[tf.minimum(i, n)] > 0)

        i, steps = tf.while_loop(more, lambda i, steps: (i + 1 + data[i], steps + 1),
                                 (i, steps))  # fmt: skip
        return i + 1, steps + 1

    def going(i, frames, misfit, steps, done):
        return (~done) & (i < n) & (steps < MAX_GIF_BLOCKS)

    def block(i, frames, misfit, steps, done):
        # misfit: (frame number, width, height, left, top) of the first misfit, frame 0 = none
        c = data[i]
        descriptor = tf.equal(c, 0x2C)
        left, top, w, h = (le16(i + k) for k in (1, 3, 5, 7))
        frames = frames + tf.cast(descriptor, tf.int64)
        bad = descriptor & ((left + w > screen_w) | (top + h > screen_h) | tf.equal(w * h, 0))
        misfit = tf.where(bad, tf.stack([frames, w, h, left, top]), misfit)
        # extension: introducer, label; image: descriptor, colour table, LZW code size byte
        i = tf.where(descriptor, i + 11 + table(data[i + 9]), i + 2)
        i, steps = skip_sub_blocks(i, steps + 1)
        done = ~(descriptor | tf.equal(c, 0x21)) | bad | (frames * screen > max_pixels)
        return i, frames, misfit, steps, done  # done: the trailer, lost, or the verdict is in

    zero = tf.constant(0, tf.int64)
    i, frames, misfit, steps, done = tf.while_loop(
        going, block, (13 + table(data[10]), zero, tf.zeros([5], tf.int64), zero,
                       tf.constant(False)))  # fmt: skip
    described = _join("GIF frame ", misfit[0], " (", misfit[1], "x", misfit[2], " at ", misfit[3],
                      ",", misfit[4], ") does not fit its ", screen_w, "x", screen_h, " screen")
    too_long = (~done) & (steps >= MAX_GIF_BLOCKS) & (i < n)
    return tf.maximum(frames, 1), tf.where(misfit[0] > 0, described, ""), too_long


def _join(*parts):
    """Strings and integer tensors -> one scalar string (tf.strings.format quotes strings)."""
    return tf.strings.join([p if isinstance(p, str) else tf.strings.as_string(p) for p in parts])


def check_image_tf(image_bytes, max_pixels: int = DEFAULT_MAX_PIXELS):
    """Scalar tf.string -> the same bytes, or InvalidArgumentError with image_problem_tf's
    reason (the hard-error form, for callers that want one)."""
    problem = image_problem_tf(image_bytes, max_pixels)
    check = tf.debugging.Assert(tf.equal(problem, ""), [problem])
    with tf.control_dependencies([check]):
        return tf.identity(image_bytes)


def check_pixels_tf(images, max_pixels: int = DEFAULT_MAX_PIXELS):
    """A decoded batch (B, h, w, 3) -> the same, once h x w is at most ``max_pixels``."""
    shape = tf.cast(tf.shape(images), tf.int64)
    message = tf.strings.format("image too large: {}x{} pixels, the limit is {}",
                                (shape[2], shape[1], max_pixels))
    check = tf.debugging.Assert(shape[1] * shape[2] <= max_pixels, [message])
    with tf.control_dependencies([check]):
        return tf.identity(images)


def decode_image_tf(image_bytes):
    """Scalar tf.string of encoded bytes -> (H, W, 3) uint8, the same rule as ``load_rgb``."""
    # JPEG through decode_jpeg for its accurate IDCT: Pillow's, so both sides see the same pixels.
    image = tf.cond(
        tf.io.is_jpeg(image_bytes),
        lambda: tf.io.decode_jpeg(image_bytes, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(
            image_bytes, channels=0, dtype=tf.uint8, expand_animations=False
        ),
    )
    channels = tf.shape(image)[-1]
    # (H, W, C) with C in {1, 2, 3, 4}: C < 3 is grey; C in {2, 4} carries alpha last.
    color = tf.cond(
        channels >= 3, lambda: image[:, :, :3], lambda: tf.tile(image[:, :, :1], [1, 1, 3])
    )
    has_alpha = tf.logical_or(tf.equal(channels, 2), tf.equal(channels, 4))

    def composite():
        a = tf.cast(image[:, :, -1:], tf.float32) / 255.0
        out = tf.cast(color, tf.float32) * a + 255.0 * (1.0 - a)
        return tf.cast(tf.floor(out + 0.5), tf.uint8)

    return tf.cond(has_alpha, composite, lambda: color)


def resize_tf(image, height: int, width: int):
    """(h, w, 3) uint8 -> (height, width, 3) uint8, the same filters as ``resize``; a batch
    (B, h, w, 3) works too."""
    x = tf.cast(image, tf.float32)
    h, w = tf.shape(x)[-3], tf.shape(x)[-2]  # one image (h, w, 3) or a batch (B, h, w, 3)

    def along(x, size, shrinks):  # resize to `size`, area if this axis shrinks, else bilinear
        return tf.cond(
            shrinks,
            lambda: tf.image.resize(x, size, method="area"),
            lambda: tf.image.resize(x, size, method="bilinear"),
        )

    x = along(x, (height, w), h > height)  # height axis first, as ``resize`` does
    x = along(x, (height, width), w > width)
    return tf.cast(tf.clip_by_value(tf.floor(x + 0.5), 0.0, 255.0), tf.uint8)


def rule_width_tf(height, width, rule):
    """In-graph ResizeRule.target_width (data/resize_rule.py) of a crop of ``height`` x
    ``width`` -> int32 scalar; the same float64 arithmetic, so both sides give the same
    width."""
    if not rule.keeps_aspect:
        return tf.constant(rule.width, tf.int32)
    scaled = tf.cast(width, tf.float64) * rule.height / tf.cast(height, tf.float64)
    natural = tf.maximum(max(1, rule.min_width), tf.cast(tf.floor(scaled + 0.5), tf.int32))
    return tf.minimum(rule.width, natural)


def resize_by_rule_tf(image, rule):
    """(h, w, 3) uint8 -> (the rule's height, its width for this crop, 3) uint8, as the
    converter resizes (image_np.resize to ResizeRule.target_width)."""
    shape = tf.shape(image)
    return resize_tf(image, rule.height, rule_width_tf(shape[0], shape[1], rule))


def to_model_input(images):
    """uint8 images (..., H, W, 3) -> float32 in [-1, 1], the CRNN's input scaling."""
    return tf.cast(images, tf.float32) * (2.0 / 255.0) - 1.0
