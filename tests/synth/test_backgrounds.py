"""--backgrounds_dir photos: listed from their headers, decoded once, scaled down, cached as
uint8 within a byte budget."""

import struct

import cv2
import numpy as np
import pytest
from PIL import Image

from crnn_ctc.data import image_np
from crnn_ctc.synth import backgrounds
from crnn_ctc.synth.backgrounds import Backgrounds


def _photo(path, h, w, seed=0):
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 256, (h, w, 3), np.uint8))


def _png_claiming(path, width, height):
    """A real PNG whose header announces another size (its pixels never matter)."""
    data = cv2.imencode(".png", np.zeros((20, 20, 3), np.uint8))[1].tobytes()
    path.write_bytes(data[:16] + struct.pack(">II", width, height) + data[24:])


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo(folder / "wide.jpg", 1500, 2000)
    _photo(folder / "small.png", 120, 300, seed=1)
    _photo(folder / "tiny.png", 10, 40)
    _png_claiming(folder / "huge.png", 20000, 20000)
    (folder / "notes.jpg").write_bytes(b"not a photo")
    return folder


def test_listing_reads_headers_only(photos, monkeypatch):
    def no_decode(*args, **kwargs):
        raise AssertionError("decoded while listing")

    for name in ("imread", "imdecode"):
        monkeypatch.setattr(cv2, name, no_decode)
    monkeypatch.setattr(Image, "open", no_decode)
    pool, skipped = Backgrounds.from_dir(str(photos))
    assert [p.rsplit("/", 1)[1] for p in pool.paths] == ["small.png", "wide.jpg"]
    reasons = {s.split(": ", 1)[0].rsplit("/", 1)[1]: s.split(": ", 1)[1] for s in skipped}
    assert reasons == {
        "huge.png": "image_too_large: 20000x20000 pixels, the limit is 16777216 pixels",
        "notes.jpg": "not_an_image: not a JPEG, PNG, GIF or BMP file",
        "tiny.png": "smaller than 16 px (40x10)",
    }


def test_photos_are_scaled_down_and_cached_as_uint8(photos):
    pool, _ = Backgrounds.from_dir(str(photos))
    rng = np.random.default_rng(0)
    for _ in range(20):
        patch = pool.crop(48, 200, rng)
        assert patch.shape == (48, 200, 3) and patch.dtype == np.float32
    cached = {p.rsplit("/", 1)[1]: im for p, im in pool._cache.items()}
    assert set(cached) == {"small.png", "wide.jpg"}
    assert cached["wide.jpg"].shape == (600, 800, 3)  # 2000 x 1500 -> at most 800 px
    assert cached["small.png"].shape == (120, 300, 3)  # small ones stay
    assert all(im.dtype == np.uint8 for im in cached.values())
    assert pool._cached_bytes == sum(im.nbytes for im in cached.values())


def test_the_cache_stays_within_its_byte_budget(tmp_path, monkeypatch):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(6):
        _photo(folder / f"p{i}.png", 200, 250, seed=i)  # 150,000 bytes each
    monkeypatch.setattr(backgrounds, "CACHE_BYTES", 400_000)
    pool, _ = Backgrounds.from_dir(str(folder))
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(60):
        pool.crop(32, 100, rng)
        seen |= set(pool._cache)
        assert pool._cached_bytes <= 400_000
        assert pool._cached_bytes == sum(im.nbytes for im in pool._cache.values())
    assert len(seen) == 6 and len(pool._cache) == 2  # every photo used, two kept at a time


def test_a_photo_with_corrupt_pixels_leaves_the_pool_when_first_cropped(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    _photo(folder / "good.png", 100, 200)
    good = (folder / "good.png").read_bytes()
    (folder / "cut.png").write_bytes(good[: len(good) // 2])  # header fine, pixels cut short
    pool, skipped = Backgrounds.from_dir(str(folder))
    assert len(pool.paths) == 2 and not skipped
    rng = np.random.default_rng(0)
    for _ in range(10):
        assert pool.crop(32, 100, rng).shape == (32, 100, 3)
    assert [p.rsplit("/", 1)[1] for p in pool.paths] == ["good.png"]
    with pytest.raises(image_np.ImageError):
        image_np.load_rgb((folder / "cut.png").read_bytes())
