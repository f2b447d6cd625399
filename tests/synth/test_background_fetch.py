"""tools/fetch_backgrounds.py on a .deb the test builds (never apt or the network): which images
are taken, scaled and recorded, and why the others are left out."""

import io
import lzma
import os
import tarfile

import cv2
import numpy as np
import pytest

from crnn_ctc.synth import background_fetch
from crnn_ctc.synth.backgrounds import Backgrounds

COPYRIGHT = b"""Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Files: *
License: GPL-2+
Files: nature/*
License: CC0-1.0
Files: more/*
License: GPL-2+
"""


def _png(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return cv2.imencode(".png", rng.integers(0, 255, (h, w, 3), dtype=np.uint8))[1].tobytes()


def _deb(path, files: dict[str, bytes]):
    """A minimal .deb: ar archive with debian-binary, control.tar.xz, data.tar.xz."""
    def tar_xz(members):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(f"./{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return lzma.compress(buf.getvalue())

    def ar_member(name, data):
        header = (f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n").encode()
        return header + data + (b"\n" if len(data) % 2 else b"")

    body = b"!<arch>\n" + ar_member("debian-binary", b"2.0\n") + ar_member(
        "control.tar.xz", tar_xz({"control": b"Package: x\n"})) + ar_member(
        "data.tar.xz", tar_xz(files))
    with open(path, "wb") as f:
        f.write(body)


@pytest.fixture()
def fake_apt(tmp_path):
    built = tmp_path / "debs"
    built.mkdir()
    _deb(built / "nature-pics_1.2-3_all.deb", {
        "usr/share/backgrounds/nature/Lake.jpg": _png(1200, 1600, 1),
        "usr/share/backgrounds/nature/Moss.png": _png(300, 400, 2),
        "usr/share/backgrounds/nature/tiny.png": _png(40, 60, 3),
        "usr/share/backgrounds/nature/broken.png": b"not a png",
        "usr/share/backgrounds/nature/vast.png": _png(20, 20)[:16] + (30000).to_bytes(4, "big") * 2
        + _png(20, 20)[24:],  # a header announcing 30000 x 30000: never decoded
        "usr/share/backgrounds/nature/Shop-sign.png": _png(300, 300, 4),
        "usr/share/backgrounds/nature/Warm-no-logo.png": _png(300, 300, 5),
        "usr/share/icons/hicolor/app.png": _png(256, 256, 6),
        "usr/share/doc/nature-pics/copyright": COPYRIGHT,
        "usr/share/doc/nature-pics/README": b"readme",
    })

    def download(package, folder):
        src = built / f"{package}_1.2-3_all.deb"
        if not src.exists():
            raise background_fetch.FetchError(f"apt-get download {package}: E: Unable to "
                                              f"locate package {package}")
        dst = os.path.join(folder, src.name)
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
        return dst

    return download


def test_images_are_taken_scaled_and_recorded(tmp_path, fake_apt):
    dest = tmp_path / "bg"
    summary = background_fetch.fetch(str(dest), ("nature-pics", "nowhere"), download=fake_apt)
    assert summary == {"images": 3, "packages": ["nature-pics"], "left_out": 5}
    with open(dest / "manifest.tsv", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    assert rows[0] == list(background_fetch.MANIFEST_COLUMNS)
    assert [r[0] for r in rows[1:]] == ["nature-pics/nature_Lake.jpg",
                                        "nature-pics/nature_Moss.jpg",
                                        "nature-pics/nature_Warm-no-logo.jpg"]
    assert {tuple(r[1:3]) for r in rows[1:]} == {("nature-pics", "1.2-3")}
    assert rows[1][3] == "usr/share/backgrounds/nature/Lake.jpg"
    assert rows[1][4] == "GPL-2+; CC0-1.0"
    lake = cv2.imread(str(dest / rows[1][0]))
    assert lake.shape == (600, 800, 3)  # at most 800 px, aspect kept
    assert cv2.imread(str(dest / rows[2][0])).shape == (300, 400, 3)  # small ones stay
    with open(dest / "left_out.tsv", encoding="utf-8") as f:
        reasons = dict(line.rstrip("\n").split("\t") for line in list(f)[1:])
    assert reasons == {
        "nature-pics:usr/share/backgrounds/nature/Shop-sign.png": "its name says it may hold "
                                                                  "text",
        "nature-pics:usr/share/backgrounds/nature/broken.png": "cannot decode",
        "nature-pics:usr/share/backgrounds/nature/tiny.png": "smaller than 128 px (60x40)",
        "nature-pics:usr/share/backgrounds/nature/vast.png": "30000x30000 pixels, the limit is "
                                                             "16777216 pixels",
        "nowhere": "apt-get download nowhere: E: Unable to locate package nowhere",
    }
    # The folder is what --backgrounds_dir reads.
    pool, skipped = Backgrounds.from_dir(str(dest))
    assert len(pool.paths) == 3 and not skipped


def test_no_usable_image_is_an_error(tmp_path, fake_apt):
    with pytest.raises(background_fetch.FetchError, match="no usable image in nowhere"):
        background_fetch.fetch(str(tmp_path / "bg"), ("nowhere",), download=fake_apt)


def test_a_file_that_is_not_a_deb_is_refused(tmp_path):
    path = tmp_path / "x.deb"
    path.write_bytes(b"PK\x03\x04 zip")
    with pytest.raises(background_fetch.FetchError, match="not a .deb"):
        background_fetch.deb_members(str(path))
