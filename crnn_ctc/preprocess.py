"""Image preprocessing shared by the converter, the tf.data pipeline and the serving graph.

The rule, the same on both sides:
  1. decode any JPEG/PNG/BMP/GIF (first frame) to 8-bit RGB: grayscale is repeated to 3
     channels, 16-bit samples keep their high byte, palette images are expanded, CMYK is
     converted, and an alpha channel is composited over WHITE (dark text on a transparent
     background stays readable). EXIF orientation is ignored, as TensorFlow's decoders do.
  2. resize to HxW (aspect not kept), one axis at a time: area averaging along an axis that
     shrinks (a box filter, so thin strokes do not alias away), bilinear along an axis that
     grows (smooth, where area sampling would repeat pixels in blocks).
  3. the model sees float32 in [-1, 1] (``to_model_input``), applied after batching.

The converter runs the NumPy/OpenCV side (``load_rgb``, ``resize``) in TensorFlow-free worker
processes; serving runs the TensorFlow side (``decode_image_tf``, ``resize_tf``) in the graph.
OpenCV's INTER_AREA/INTER_LINEAR and tf.image.resize's "area"/"bilinear" compute the same
filters, so both sides agree to within one grey level (tests/test_preprocess.py holds them to it).

    rgb = resize(load_rgb(open("word.jpg", "rb").read()), 32, 100)   # (32, 100, 3) uint8
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

# Word crops are small; anything above this is a mistake or a decompression bomb.
DEFAULT_MAX_PIXELS = 4096 * 4096

NOT_AN_IMAGE = "not_an_image"
CORRUPT_IMAGE = "corrupt_image"
IMAGE_TOO_LARGE = "image_too_large"

Image.MAX_IMAGE_PIXELS = None  # load_rgb applies its own limit, before decoding


_MAGIC = {
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"RIFF": "WebP",
}


def sniff_format(data: bytes) -> str | None:
    """The image format the first bytes announce, or None."""
    return next((fmt for magic, fmt in _MAGIC.items() if data.startswith(magic)), None)


class ImageError(ValueError):
    """An image that cannot be used; ``reason`` is a short code for reports."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _composite_over_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """color (H, W, 3) uint8, alpha (H, W, 1) uint8 -> (H, W, 3) uint8."""
    a = alpha.astype(np.float32) / 255.0
    out = color.astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.floor(out + 0.5).astype(np.uint8)


def _to_rgb(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im)
    if mode == "L":
        return np.repeat(np.asarray(im)[:, :, None], 3, axis=2)
    if mode.startswith("I"):  # 16/32-bit grey: keep the high byte of 16-bit samples
        grey = (np.clip(np.asarray(im, dtype=np.int64), 0, 65535) >> 8).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        grey = np.floor(np.clip(np.asarray(im), 0, 255) + 0.5).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    has_alpha = "A" in mode or "a" in mode or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"))
        return _composite_over_white(rgba[:, :, :3], rgba[:, :, 3:])
    return np.asarray(im.convert("RGB"))  # 1, P, CMYK, YCbCr, LAB, HSV


def _complete_jpeg(data: bytes) -> bool:
    """A JPEG that ends with its EOI marker (padding aside) has all its scans."""
    return data.startswith(b"\xff\xd8\xff") and data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")


def _load_jpeg_cv2(data: bytes, max_pixels: int) -> np.ndarray | None:
    """Fast path for complete JPEGs (4x faster than Pillow, the same pixels), in BGR; None =
    let Pillow decide (it reports truncation, which libjpeg via OpenCV only warns about)."""
    buf = np.frombuffer(data, np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.shape[0] * bgr.shape[1] > max_pixels:
        return None
    return bgr


def load_rgb(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Encoded image bytes -> (H, W, 3) uint8 RGB. Raises ImageError with a reason code for
    anything that is not a complete, decodable image of at most ``max_pixels`` pixels."""
    return load(data, max_pixels, bgr=False)


def load(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, bgr: bool = False) -> np.ndarray:
    """``load_rgb``, or with ``bgr=True`` the same pixels in OpenCV's BGR order (the converter
    stays in BGR from decode to encode: two colour conversions fewer per image)."""
    if _complete_jpeg(data):
        image = _load_jpeg_cv2(data, max_pixels)
        if image is not None:
            return image if bgr else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    rgb = _load_pillow(data, max_pixels)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if bgr else rgb


def _load_pillow(data: bytes, max_pixels: int) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on odd metadata; we judge pixels
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageError(
                        IMAGE_TOO_LARGE, f"{width}x{height} exceeds {max_pixels} pixels"
                    )
                im.load()  # raises on truncated or corrupt data
                if width == 0 or height == 0:
                    raise ImageError(CORRUPT_IMAGE, f"image has size {width}x{height}")
                return np.ascontiguousarray(_to_rgb(im))
    except UnidentifiedImageError as err:
        fmt = sniff_format(data)
        if fmt:  # a known header with broken contents: corrupt, not "some other file"
            raise ImageError(CORRUPT_IMAGE, f"starts like a {fmt} but cannot be decoded") from err
        raise ImageError(NOT_AN_IMAGE, "not a recognised image format") from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        if isinstance(err, ImageError):
            raise
        raise ImageError(CORRUPT_IMAGE, f"{type(err).__name__}: {err}") from err


def _axis_method(n_in: int, n_out: int) -> str:
    return "area" if n_in > n_out else "bilinear"


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, 3) uint8 -> (height, width, 3) uint8: area along shrinking axes, bilinear along
    growing ones (see the module docstring)."""
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    cv2_flag = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR}
    along_h, along_w = _axis_method(h, height), _axis_method(w, width)
    if along_h == along_w or h == height or w == width:
        method = along_w if h == height else along_h
        return cv2.resize(image, (width, height), interpolation=cv2_flag[method])
    # One axis shrinks, the other grows: two separable passes, in float to round once.
    x = cv2.resize(image.astype(np.float32), (w, height), interpolation=cv2_flag[along_h])
    x = cv2.resize(x, (width, height), interpolation=cv2_flag[along_w])
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def encode(
    image: np.ndarray, image_format: str = "jpeg", jpeg_quality: int = 95, bgr: bool = False
) -> bytes:
    """(H, W, 3) uint8 RGB (or BGR with ``bgr=True``) -> PNG or JPEG bytes."""
    if not bgr:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # OpenCV encoders expect BGR
    if image_format == "png":
        ok, buf = cv2.imencode(".png", image)
    elif image_format == "jpeg":
        # 4:4:4: no chroma subsampling, so coloured strokes keep sharp edges.
        params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                  cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]  # fmt: skip
        ok, buf = cv2.imencode(".jpg", image, params)
    else:
        raise ValueError(f"image format must be 'png' or 'jpeg', not {image_format!r}")
    if not ok:
        raise RuntimeError(f"OpenCV failed to encode a {image.shape} image as {image_format}")
    return buf.tobytes()


# -- TensorFlow side (serving graph, tf.data) --------------------------------------------
def _le(b, i, n):  # little-endian unsigned integer of n bytes at offset i of int64 bytes b
    return sum(b[i + k] * (256**k) for k in range(n))


def _be(b, i, n):
    return sum(b[i + k] * (256 ** (n - 1 - k)) for k in range(n))


def check_image_tf(image_bytes, max_pixels: int = DEFAULT_MAX_PIXELS):
    """Scalar tf.string -> the same bytes, once they are known to be a JPEG, PNG, GIF or BMP of
    at most ``max_pixels`` pixels; else InvalidArgumentError with the reason. The size comes
    from the header, so an oversized image is refused before any pixel is decoded."""
    import tensorflow as tf  # noqa: PLC0415

    # The first 26 bytes, zero-padded so that short input reads as an unknown format.
    head = tf.strings.join([tf.strings.substr(image_bytes, 0, 26), b"\0" * 26])
    b = tf.cast(tf.io.decode_raw(tf.strings.substr(head, 0, 26), tf.uint8), tf.int64)  # (26,)
    is_jpeg = tf.io.is_jpeg(image_bytes)
    is_png = tf.equal(tf.strings.substr(head, 0, 4), b"\x89PNG")
    is_gif = tf.equal(tf.strings.substr(head, 0, 4), b"GIF8")
    is_bmp = tf.equal(tf.strings.substr(head, 0, 2), b"BM")
    known = tf.debugging.Assert(
        is_jpeg | is_png | is_gif | is_bmp, ["image_bytes is not a JPEG, PNG, GIF or BMP image"]
    )

    def jpeg_size():  # parses markers up to the frame header; no pixel is decoded
        shape = tf.cast(tf.io.extract_jpeg_shape(image_bytes), tf.int64)
        return shape[1], shape[0]

    def bmp_size():  # BITMAPCOREHEADER (12 bytes) has 16-bit sizes; later headers signed 32-bit
        core = tf.equal(_le(b, 14, 4), 12)
        w = tf.where(core, _le(b, 18, 2), _le(b, 18, 4))
        h = tf.where(core, _le(b, 20, 2), _le(b, 22, 4))
        h = tf.where(h >= 2**31, 2**32 - h, h)  # negative height: a top-down bitmap
        return w, h

    with tf.control_dependencies([known]):
        width, height = tf.case(
            [
                (is_jpeg, jpeg_size),
                (is_png, lambda: (_be(b, 16, 4), _be(b, 20, 4))),
                (is_gif, lambda: (_le(b, 6, 2), _le(b, 8, 2))),
                (is_bmp, bmp_size),
            ],
            default=lambda: (tf.constant(0, tf.int64), tf.constant(0, tf.int64)),
            exclusive=False,
        )
    message = tf.strings.format(
        "image too large: {}x{} pixels, the limit is {}", (width, height, max_pixels)
    )
    check = tf.debugging.Assert(width * height <= max_pixels, [message])
    with tf.control_dependencies([check]):
        return tf.identity(image_bytes)


def decode_image_tf(image_bytes):
    """Scalar tf.string of encoded bytes -> (H, W, 3) uint8, the same rule as ``load_rgb``."""
    import tensorflow as tf  # noqa: PLC0415 (converter workers never import TensorFlow)

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
    import tensorflow as tf  # noqa: PLC0415

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


def to_model_input(images):
    """uint8 images (..., H, W, 3) -> float32 in [-1, 1], the CRNN's input scaling."""
    import tensorflow as tf  # noqa: PLC0415

    return tf.cast(images, tf.float32) * (2.0 / 255.0) - 1.0
