"""Image decoding and resizing in NumPy/OpenCV: the converter's side of the preprocessing rule.

The rule, the same here and in image_tf.py (the serving graph and tf.data):
  1. decode a JPEG/PNG/BMP/GIF (first frame; formats.py) to 8-bit RGB: grayscale is repeated
     to 3 channels, 16-bit samples keep their high byte, palette images are expanded, CMYK is
     converted, and an alpha channel is composited over WHITE (dark text on a transparent
     background stays readable). EXIF orientation is ignored, as TensorFlow's decoders do.
  2. resize to HxW (aspect not kept), one axis at a time: area averaging along an axis that
     shrinks (a box filter, so thin strokes do not alias away), bilinear along an axis that
     grows (smooth, where area sampling would repeat pixels in blocks).
  3. the model sees float32 in [-1, 1] (image_tf.to_model_input), applied after batching.

This module runs in the converter's TensorFlow-free worker processes. OpenCV's
INTER_AREA/INTER_LINEAR and tf.image.resize's "area"/"bilinear" compute the same filters, so
both sides agree to within one grey level (tests/data/test_images.py holds them to it).

    rgb = resize(load_rgb(open("word.jpg", "rb").read()), 32, 100)   # (32, 100, 3) uint8
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from crnn_ctc.data.formats import (
    CORRUPT_IMAGE,
    DEFAULT_MAX_PIXELS,
    IMAGE_TOO_LARGE,
    NOT_AN_IMAGE,
    sniff_format,
)
from crnn_ctc.data.image_header import header_problem


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


def rgb_from_array(array: np.ndarray) -> np.ndarray:
    """A uint8 (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA array -> (H, W, 3) RGB by the
    decode rule: grey repeated, alpha composited over white."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        return _composite_over_white(array[:, :, :3], array[:, :, 3:])
    return array


def _complete_jpeg(data: bytes) -> bool:
    """A JPEG that ends with its EOI marker (padding aside) has all its scans."""
    return data.startswith(b"\xff\xd8\xff") and data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")


def _load_jpeg_cv2(data: bytes) -> np.ndarray | None:
    """Fast path for complete JPEGs (4x faster than Pillow, the same pixels), in BGR; None =
    let Pillow decide (it reports truncation, which libjpeg via OpenCV only warns about)."""
    buf = np.frombuffer(data, np.uint8)
    return cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)


def load_rgb(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Encoded image bytes -> (H, W, 3) uint8 RGB. Raises ImageError with a reason code for
    anything that is not a complete, decodable image of at most ``max_pixels`` pixels."""
    return load(data, max_pixels, bgr=False)


def load(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, bgr: bool = False) -> np.ndarray:
    """``load_rgb``, or with ``bgr=True`` the same pixels in OpenCV's BGR order (the converter
    stays in BGR from decode to encode: two colour conversions fewer per image). The size is
    read from the header (image_header.py, the serving graph's rule) before anything is
    decoded, so a refused image costs no pixel memory."""
    problem = header_problem(data, max_pixels)
    if problem:
        raise ImageError(*problem)
    if _complete_jpeg(data):
        image = _load_jpeg_cv2(data)
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
    except Image.DecompressionBombError as err:  # Pillow's own limit, when max_pixels is above it
        raise ImageError(IMAGE_TOO_LARGE, str(err)) from err
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


def resize_by_rule(image: np.ndarray, rule) -> np.ndarray:
    """(h, w, 3) uint8 -> the crop a ResizeRule (data/resize_rule.py) gives: (H, W, 3) for
    stretch, (H, its own width <= W, 3) for keep_aspect, as the converter writes it."""
    return resize(image, rule.height, rule.target_width(*image.shape[:2]))


def pad_right(images: list[np.ndarray], width: int) -> tuple[np.ndarray, np.ndarray]:
    """keep_aspect crops (H, w_i, 3), each w_i <= ``width`` -> (a batch (B, H, width, 3) padded
    right with 0, their widths (B,) int32). keep_aspect models mask the padding before every
    convolution, so its value does not matter."""
    h = images[0].shape[0]
    batch = np.zeros((len(images), h, width, 3), np.uint8)
    for k, im in enumerate(images):
        batch[k, :, :im.shape[1]] = im
    return batch, np.array([im.shape[1] for im in images], np.int32)


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
