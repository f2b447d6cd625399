import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageDraw

from crnn_ctc.data import formats, image_np, image_tf
from tests.conftest import gif_frames, word_image


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _rgba_word() -> Image.Image:
    im = Image.new("RGBA", (90, 30), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((5, 8), "Alpha", fill=(0, 0, 0, 255))
    return im


SOLID = Image.new("RGB", (16, 8), (200, 100, 50))

# (name, encoded bytes, exact expected pixel of a solid image or None for "any")
FORMATS = [
    ("png_rgb", _save(SOLID, "PNG"), (200, 100, 50)),
    ("bmp", _save(SOLID, "BMP"), (200, 100, 50)),
    ("gif", _save(SOLID, "GIF"), None),
    ("png_grey", _save(Image.new("L", (16, 8), 77), "PNG"), (77, 77, 77)),
    ("png_1bit", _save(Image.new("1", (16, 8), 1), "PNG"), (255, 255, 255)),
    ("png_palette", _save(SOLID.convert("P"), "PNG"), None),
    ("png_rgba_half", _save(Image.new("RGBA", (16, 8), (0, 0, 0, 128)), "PNG"), (127, 127, 127)),
    ("png_rgba_clear", _save(Image.new("RGBA", (16, 8), (0, 0, 0, 0)), "PNG"), (255, 255, 255)),
    ("png_la", _save(Image.new("LA", (16, 8), (0, 255)), "PNG"), (0, 0, 0)),
    ("png_16bit", _save(Image.fromarray(np.full((8, 16), 0x8180, np.uint16)), "PNG"), (0x81,) * 3),
    ("jpeg_grey", _save(Image.new("L", (16, 8), 90), "JPEG", quality=100), (90, 90, 90)),
    ("jpeg_cmyk", _save(Image.new("CMYK", (16, 8), (0, 0, 0, 0)), "JPEG", quality=100), None),
]


@pytest.mark.parametrize("name, data, pixel", FORMATS, ids=[f[0] for f in FORMATS])
def test_every_format_becomes_8bit_rgb(name, data, pixel):
    rgb = image_np.load_rgb(data)
    assert rgb.dtype == np.uint8 and rgb.shape == (8, 16, 3)
    if pixel is not None:
        assert np.all(np.abs(rgb.astype(int) - pixel) <= 1), (name, rgb[0, 0])
    if name == "jpeg_cmyk":  # CMYK 0,0,0,0 is white paper
        assert rgb.min() >= 250


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"this is a text file\n", formats.NOT_AN_IMAGE),
        (word_image("cut")[:300], formats.CORRUPT_IMAGE),
        (word_image("cut", fmt="PNG")[:400], formats.CORRUPT_IMAGE),  # stops inside IDAT
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, formats.CORRUPT_IMAGE),
    ],
)
def test_bad_bytes_raise_with_reason(data, reason):
    with pytest.raises(image_np.ImageError) as err:
        image_np.load_rgb(data)
    assert err.value.reason == reason


def test_pixel_limit_checked_before_decoding():
    with pytest.raises(image_np.ImageError) as err:
        image_np.load_rgb(_save(Image.new("L", (300, 200)), "PNG"), max_pixels=50_000)
    assert err.value.reason == formats.IMAGE_TOO_LARGE
    assert "300x200 pixels, the limit is 50000 pixels" in err.value.detail


@pytest.mark.parametrize("size", [(300, 64), (60, 20), (100, 32), (41, 77)])
def test_resize_shape(size):
    img = np.zeros((size[1], size[0], 3), np.uint8)
    assert image_np.resize(img, 32, 100).shape == (32, 100, 3)


PARITY = [
    ("jpeg", word_image("Parity", (220, 50))),
    ("jpeg_small", word_image("up", (40, 12))),
    ("png", word_image("Parity", (220, 50), fmt="PNG")),
    ("png_grey", word_image("grey", (150, 40), mode="L", fmt="PNG")),
    ("png_rgba", _save(_rgba_word(), "PNG")),
    ("png_palette_transparent", _save(_rgba_word().convert("P"), "PNG")),
    ("bmp", word_image("bmp", (130, 45), fmt="BMP")),
    ("gif", word_image("gif", (130, 45), fmt="GIF")),
]


@pytest.mark.parametrize("name, data", PARITY, ids=[p[0] for p in PARITY])
def test_converter_and_tensorflow_agree(name, data):
    """The converter's pixels and the serving graph's pixels differ by at most one level."""
    ours = image_np.resize(image_np.load_rgb(data), 32, 100)
    theirs = image_tf.resize_tf(image_tf.decode_image_tf(tf.constant(data)), 32, 100).numpy()
    diff = np.abs(ours.astype(int) - theirs.astype(int))
    assert diff.max() <= 1, (name, diff.max())
    assert diff.mean() < 0.2, (name, diff.mean())


def test_tensorflow_side_runs_in_a_dataset_map():
    data = [PARITY[0][1], PARITY[4][1]]
    ds = tf.data.Dataset.from_tensor_slices(data).map(
        lambda b: image_tf.resize_tf(image_tf.decode_image_tf(b), 32, 100)
    )
    out = [x.numpy() for x in ds]
    assert [o.shape for o in out] == [(32, 100, 3)] * 2
    expected = image_np.resize(image_np.load_rgb(data[1]), 32, 100)
    assert np.abs(out[1].astype(int) - expected).max() <= 1


@pytest.mark.parametrize("fmt, lossless", [("png", True), ("jpeg", False)])
def test_encode_round_trip(fmt, lossless):
    img = image_np.resize(image_np.load_rgb(word_image("round trip")), 32, 100)
    back = image_np.load_rgb(image_np.encode(img, fmt))
    err = np.abs(back.astype(int) - img.astype(int)).mean()
    assert (err == 0) if lossless else (err < 3)


@pytest.mark.parametrize(
    "size",
    [(300, 64), (173, 32), (60, 32), (100, 20), (40, 12), (37, 90), (400, 20), (100, 32), (7, 3)],
)
def test_resize_matches_tensorflow_for_every_axis_combination(size):
    """Shrink, grow, keep, and mixed (one axis shrinks while the other grows)."""
    img = np.random.default_rng(sum(size)).integers(0, 256, (size[1], size[0], 3), np.uint8)
    ours = image_np.resize(img, 32, 100)
    theirs = image_tf.resize_tf(tf.constant(img), 32, 100).numpy()
    assert ours.shape == theirs.shape == (32, 100, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1


def test_truncated_jpeg_is_caught_despite_the_fast_decoder():
    data = word_image("truncated", (300, 80))
    assert image_np._complete_jpeg(data) and not image_np._complete_jpeg(data[:-200])
    with pytest.raises(image_np.ImageError):
        image_np.load_rgb(data[: len(data) // 2])


def test_fast_jpeg_path_equals_pillow():
    data = word_image("same pixels", (200, 50))
    fast = image_np.load_rgb(data)
    slow = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(fast, slow)


def test_a_gif_frame_bomb_is_refused_before_decoding():
    import re

    bomb = gif_frames((300, 300), 3000)
    assert len(bomb) < 400_000  # 3000 x 300 x 300 x 3 = 810 MB if every frame were decoded
    read = tf.function(lambda b: image_tf.decode_image_tf(image_tf.check_image_tf(b)))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"300x300 pixels x at least \d+ frames") as err:
        read(tf.constant(bomb))
    # the walk stops at the first frame over the limit, not after all 3000
    frames = int(re.search(r"at least (\d+) frames", str(err.value)).group(1))
    limit = image_tf.DEFAULT_MAX_PIXELS
    assert (frames - 1) * 300 * 300 <= limit < frames * 300 * 300
    few = gif_frames((300, 300), 3)  # an ordinary animated GIF still reads (its first frame)
    image = image_tf.decode_image_tf(image_tf.check_image_tf(tf.constant(few)))
    assert image.shape == (300, 300, 3)
    assert image_np.load_rgb(few).shape == (300, 300, 3)


def test_decoded_batches_get_the_pixel_limit():
    images = tf.zeros((2, 50, 60, 3), tf.uint8)
    assert image_tf.check_pixels_tf(images, 3000).shape == (2, 50, 60, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="image too large: 60x50 pixels"):
        image_tf.check_pixels_tf(images, 2999)


def test_pillow_keeps_its_decompression_bomb_guard():
    """Importing the toolkit does not switch Pillow's guard off for the whole process."""
    import subprocess
    import sys

    code = ("from PIL import Image; default = Image.MAX_IMAGE_PIXELS; "
            "import crnn_ctc.data.image_np, crnn_ctc.data.convert; "
            "print(default is not None and Image.MAX_IMAGE_PIXELS == default)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr[-2000:]
