"""Which images each decode path refuses from the header, and why: the serving graph's
(image_tf) and the NumPy one (image_np: converter, portable recognizer, calibration) agree on
every fixture, and nothing refused is decoded first."""

import io
import struct

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from crnn_ctc.data import formats, image_header, image_np, image_tf
from tests.conftest import gif_frames, word_image

LIMIT = 200_000  # max_pixels for the fixtures, so that bombs stay small


def _with_screen(gif: bytes, width: int, height: int) -> bytes:
    """The same GIF announcing another logical screen (bytes 6-9)."""
    return gif[:6] + struct.pack("<HH", width, height) + gif[10:]


def _first_descriptor(gif: bytes) -> int:
    flags = gif[10]
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while gif[i] == 0x21:  # skip extensions before the first frame
        i += 2
        while gif[i]:
            i += 1 + gif[i]
        i += 1
    assert gif[i] == 0x2C
    return i


def _moved_frame(gif: bytes, left: int, top: int) -> bytes:
    i = _first_descriptor(gif)
    return gif[:i + 1] + struct.pack("<HH", left, top) + gif[i + 5:]


def _noise_gif(size) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0]), np.uint8)
    im = Image.fromarray(pixels, "L").convert("P")
    buf = io.BytesIO()
    im.save(buf, "GIF")
    return buf.getvalue()


def _one_byte_sub_blocks(gif: bytes) -> bytes:
    """The same GIF with its first frame's LZW data cut into one-byte sub-blocks: legal, and
    one walk step per byte."""
    i = _first_descriptor(gif)
    flags = gif[i + 9]
    start = i + 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
    lzw, j = b"", start
    while gif[j]:
        lzw += gif[j + 1:j + 1 + gif[j]]
        j += 1 + gif[j]
    return gif[:start] + b"".join(b"\x01" + lzw[k:k + 1] for k in range(len(lzw))) + gif[j:]


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(word_image("jpeg", (60, 20)))
    i = 2
    while data[i + 1] not in image_header.JPEG_SOF:
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    data[i + 5:i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _png_claiming(width: int, height: int) -> bytes:
    data = word_image("png", (60, 20), fmt="PNG")
    return data[:16] + struct.pack(">II", width, height) + data[24:]


def _bmp_claiming(width: int, height: int) -> bytes:
    data = word_image("bmp", (60, 20), fmt="BMP")
    return data[:18] + struct.pack("<ii", width, height) + data[26:]


OK, BIG, CORRUPT, NOT = None, formats.IMAGE_TOO_LARGE, formats.CORRUPT_IMAGE, formats.NOT_AN_IMAGE
# (name, bytes, expected reason code of both paths)
FIXTURES = [
    ("jpeg", word_image("fine", (120, 40)), OK),
    ("png", word_image("fine", (120, 40), fmt="PNG"), OK),
    ("bmp", word_image("fine", (120, 40), fmt="BMP"), OK),
    ("gif", gif_frames(), OK),
    ("gif_animated", gif_frames((100, 50), frames=3), OK),
    ("gif_frame_bomb", gif_frames((100, 50), frames=60), BIG),  # 60 x 5,000 px > 200,000
    ("gif_frame_larger_than_screen", _with_screen(gif_frames((600, 400)), 16, 16), CORRUPT),
    ("gif_frame_outside_screen", _moved_frame(gif_frames(), 30, 0), CORRUPT),
    ("gif_too_many_blocks", _one_byte_sub_blocks(_noise_gif((200, 200))), BIG),
    ("gif_many_small_blocks", _one_byte_sub_blocks(_noise_gif((30, 20))), OK),
    ("jpeg_8000x8000", _jpeg_claiming(8000, 8000), BIG),
    ("png_8000x8000", _png_claiming(8000, 8000), BIG),
    ("bmp_8000x8000", _bmp_claiming(8000, 8000), BIG),
    ("bmp_top_down_too_large", _bmp_claiming(1000, -1000), BIG),
    ("png_zero_size", _png_claiming(0, 20), CORRUPT),
    ("text", b"not an image at all", NOT),
    ("tiff", b"II*\x00" + b"\x00" * 100, NOT),
]
IDS = [f[0] for f in FIXTURES]
TF_REASONS = {"image too large": BIG, "corrupt image": CORRUPT, "not an image": NOT}


def _tf_reason(data: bytes, max_pixels: int = LIMIT):
    """The serving graph's verdict: the header check, then the decode."""
    problem = image_tf.image_problem_tf(tf.constant(data), max_pixels).numpy().decode()
    if problem:
        return next(code for prefix, code in TF_REASONS.items() if problem.startswith(prefix))
    try:
        image_tf.decode_image_tf(tf.constant(data))
    except tf.errors.InvalidArgumentError:
        return CORRUPT
    return OK


def _np_reason(data: bytes, max_pixels: int = LIMIT):
    try:
        image_np.load_rgb(data, max_pixels)
    except image_np.ImageError as err:
        # TIFF and the like: the NumPy side names the format; TF calls it not an image
        return NOT if err.reason == formats.UNSUPPORTED_FORMAT else err.reason
    return OK


@pytest.mark.parametrize("name, data, reason", FIXTURES, ids=IDS)
def test_both_paths_refuse_the_same_files_for_the_same_reason(name, data, reason):
    assert _np_reason(data) == reason, name
    assert _tf_reason(data) == reason, name


def test_the_reasons_read_the_same():
    gif = _with_screen(gif_frames((600, 400)), 16, 16)
    expected = "GIF frame 1 (600x400 at 0,0) does not fit its 16x16 screen"
    assert image_tf.image_problem_tf(tf.constant(gif)).numpy().decode() == (
        f"corrupt image: {expected}")
    assert image_header.header_problem(gif, LIMIT) == (CORRUPT, expected)
    bomb = gif_frames((100, 50), frames=60)
    detail = "100x50 pixels x at least 41 frames, the limit is 200000 pixels"  # stops at 41
    assert image_header.header_problem(bomb, LIMIT) == (BIG, detail)
    assert image_tf.image_problem_tf(tf.constant(bomb), LIMIT).numpy().decode() == (
        f"image too large: {detail}")


def test_pillow_alone_would_have_decoded_the_frame_that_outgrows_its_screen():
    """Why the frame walk exists: the screen says 16 x 16, the frame is 600 x 400."""
    gif = _with_screen(gif_frames((600, 400)), 16, 16)
    assert image_tf.decode_image_tf(tf.constant(gif)).shape == (400, 600, 3)
    with Image.open(io.BytesIO(gif)) as im:
        im.load()
        assert im.size == (600, 400)


@pytest.mark.parametrize("name", ["jpeg_8000x8000", "png_8000x8000", "bmp_8000x8000",
                                  "gif_frame_larger_than_screen", "gif_frame_bomb"])
def test_a_refused_image_is_never_decoded(name, monkeypatch):
    """The size comes from the header: neither OpenCV nor Pillow sees the bytes."""
    data = dict((f[0], f[1]) for f in FIXTURES)[name]

    def no_decode(*args, **kwargs):
        raise AssertionError("decoded before the size check")

    monkeypatch.setattr(cv2, "imdecode", no_decode)
    monkeypatch.setattr(image_np.Image, "open", no_decode)
    with pytest.raises(image_np.ImageError) as err:
        image_np.load_rgb(data, LIMIT)
    assert err.value.reason in (BIG, CORRUPT)


def test_the_default_limit_refuses_the_large_jpeg_from_its_header():
    with pytest.raises(image_np.ImageError, match="8000x8000 pixels, the limit is 16777216"):
        image_np.load(_jpeg_claiming(8000, 8000), formats.DEFAULT_MAX_PIXELS, bgr=True)
    assert image_np.load(word_image("fine"), formats.DEFAULT_MAX_PIXELS).shape == (40, 120, 3)


def test_walk_agrees_with_pillow_on_frame_counts():
    for frames in (1, 2, 7):
        data = gif_frames((40, 30), frames)
        header = image_header.read_header(data, 10**9)
        with Image.open(io.BytesIO(data)) as im:
            assert header.frames == im.n_frames == frames
        assert (header.width, header.height, header.misfit) == (40, 30, "")
    many = _one_byte_sub_blocks(_noise_gif((30, 20)))
    assert many.count(b"\x01") > 500  # it walks hundreds of sub-blocks, and reads the pixels
    assert np.array_equal(image_np.load_rgb(many), image_np.load_rgb(_noise_gif((30, 20))))
