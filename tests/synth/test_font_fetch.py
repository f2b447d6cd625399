"""tools/fetch_fonts.py against a local stand-in for the npm registry (never the network): files,
integrity, licences, the manifest, resuming, retries and every reason a family is left out."""

import base64
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
import urllib.parse

import pytest
from fontTools import ttLib

from crnn_ctc.synth import background_fetch, font_fetch, fonts
from tests.synth.test_font_checks import _remap

OFL = "SIL Open Font License, 1.1"


def _tgz(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _woff(path: str) -> bytes:
    font = ttLib.TTFont(path)
    font.flavor = "woff"
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


class Registry:
    """Packuments and tarballs served from memory; counts requests; can fail on purpose."""

    def __init__(self):
        self.packages: dict[str, tuple[bytes, str]] = {}  # name -> (tarball, integrity)
        self.requests: list[str] = []
        self.fail_next: dict[str, int] = {}  # path -> how many 503s before it answers
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urllib.parse.unquote(self.path)
                registry.requests.append(path)
                if registry.fail_next.get(path, 0) > 0:
                    registry.fail_next[path] -= 1
                    self.send_error(503)
                    return
                body = registry.answer(path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, name: str, files: dict[str, bytes], integrity: str | None = None):
        data = _tgz(files)
        sri = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        self.packages[name] = (data, integrity or sri)

    def answer(self, path: str) -> bytes | None:
        name = path.lstrip("/")
        if name.endswith(".tgz"):
            package = name.rsplit("/-/", 1)[0]
            return self.packages.get(package, (None,))[0]
        if name not in self.packages:
            return None
        tarball = f"{self.url}/{name}/-/{name.rsplit('/', 1)[-1]}-1.0.0.tgz"
        return json.dumps({"dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {
            "dist": {"tarball": tarball, "integrity": self.packages[name][1]}}}}).encode()

    def tarball_requests(self) -> int:
        return sum(r.endswith(".tgz") for r in self.requests)


def _family(fid, family, category="sans-serif", subsets=("latin",), variants=None):
    variants = variants or {"400": ["normal", "italic"], "700": ["normal"]}
    return fid, {"family": family, "id": fid, "category": category, "subsets": list(subsets),
                 "variants": {w: {s: {} for s in styles} for w, styles in variants.items()}}


@pytest.fixture(scope="module")
def dejavu():
    return [f for f in fonts.discover()[0]
            if f.family in ("DejaVu Sans", "DejaVu Serif") and f.style == "Book"]


@pytest.fixture()
def registry(dejavu, tmp_path_factory):
    sans, serif = dejavu
    caps = _remap(sans.path, tmp_path_factory.mktemp("caps") / "caps.ttf",
                  {c: c.upper() for c in "abcdefghijklmnopqrstuvwxyz"})
    reg = Registry()
    meta = dict([
        _family("good-sans", "Good Sans"),
        _family("good-serif", "Good Serif", "serif", variants={"400": ["normal"]}),
        _family("closed", "Closed Font", "display"),
        _family("greek-only", "Greek Only", subsets=("greek",)),
        _family("tampered", "Tampered", "handwriting"),
        _family("missing", "Missing Package"),
        _family("caps-display", "Caps Display", "display", variants={"400": ["normal"]}),
    ])
    licences = {fid: {"license": {"type": OFL}} for fid in meta}
    licences["closed"] = {"license": {"type": "Proprietary EULA"}}
    reg.add("google-font-metadata", {
        "data/google-fonts-v2.json": json.dumps(meta).encode(),
        "data/licenses.json": json.dumps(licences).encode()})
    sans_woff, serif_woff = _woff(sans.path), _woff(serif.path)
    for fid, woff in (("good-sans", sans_woff), ("closed", sans_woff), ("tampered", sans_woff)):
        reg.add(f"@fontsource/{fid}", {
            "package.json": b'{"license": "OFL-1.1"}', "LICENSE": b"OFL text",
            f"files/{fid}-latin-400-normal.woff": woff,
            f"files/{fid}-latin-400-italic.woff": woff,
            f"files/{fid}-latin-700-normal.woff": woff})
    reg.add("@fontsource/good-serif", {"files/good-serif-latin-400-normal.woff": serif_woff})
    reg.add("@fontsource/caps-display", {"files/caps-display-latin-400-normal.woff": _woff(caps)})
    data, _ = reg.packages["@fontsource/tampered"]
    reg.packages["@fontsource/tampered"] = (data, "sha512-" + base64.b64encode(
        hashlib.sha512(b"another file").digest()).decode())
    yield reg
    reg.server.shutdown()


def _fetch(registry, dest, **kwargs):
    cfg = font_fetch.FetchConfig(dest=str(dest), registry=registry.url, workers=2, **kwargs)
    return font_fetch.fetch(cfg, progress=False)


def test_fetch_writes_verified_fonts_a_manifest_and_the_reasons(registry, tmp_path):
    summary = _fetch(registry, tmp_path)
    assert summary["families"] == 7 and summary["fetched"] == 3 and summary["files"] == 5
    assert summary["caps_only_files"] == 1 and summary["files_failing_checks"] == 0
    rows = font_fetch.read_manifest(str(tmp_path))
    caps = rows.pop(0)
    assert (caps["file"], caps["caps_only"], caps["check"]) == (
        "caps-display/caps-display-400-normal.ttf", "yes", "")
    assert {(r["caps_only"], r["check"]) for r in rows} == {("no", "")}
    assert [(r["file"], r["weight"], r["style"], r["licence"], r["source"]) for r in rows] == [
        ("good-sans/good-sans-400-italic.ttf", 400, "italic", "OFL-1.1",
         "@fontsource/good-sans@1.0.0"),
        ("good-sans/good-sans-400-normal.ttf", 400, "normal", "OFL-1.1",
         "@fontsource/good-sans@1.0.0"),
        ("good-sans/good-sans-700-normal.ttf", 700, "normal", "OFL-1.1",
         "@fontsource/good-sans@1.0.0"),
        ("good-serif/good-serif-400-normal.ttf", 400, "normal", "OFL-1.1",
         "@fontsource/good-serif@1.0.0"),
    ]
    assert {r["family"] for r in rows} == {"Good Sans", "Good Serif"}
    with open(tmp_path / "left_out.tsv", encoding="utf-8") as f:
        reasons = dict(line.rstrip("\n").split("\t") for line in list(f)[1:])
    assert reasons["closed"] == ("licence 'Proprietary EULA' is not one of OFL-1.1, Apache-2.0, "
                                 "UFL-1.0")
    assert reasons["greek-only"] == "no Latin subset"
    assert reasons["tampered"].endswith("sha512 does not match the registry's integrity")
    assert reasons["missing"].endswith("fontsource%2Fmissing: HTTP 404")
    assert set(reasons) == {"closed", "greek-only", "tampered", "missing"}
    assert not (tmp_path / "tampered").exists()  # an unverified tarball is never opened
    # The written files are plain TrueType that the generator's font loader reads.
    loaded = fonts.load_font(str(tmp_path / "good-sans/good-sans-400-normal.ttf"), "abcXYZ019")
    assert isinstance(loaded, fonts.Font) and loaded.chars == set("abcXYZ019")
    assert ttLib.TTFont(str(tmp_path / rows[0]["file"])).flavor is None
    assert (tmp_path / "good-sans/LICENSE").read_bytes() == b"OFL text"


def test_a_second_run_downloads_nothing_and_a_damaged_cache_is_replaced(registry, tmp_path):
    _fetch(registry, tmp_path, families=("Good Sans", "good-serif"))
    first = registry.tarball_requests()
    assert first == 3  # metadata + two families
    again = _fetch(registry, tmp_path, families=("Good Sans", "good-serif"))
    assert again["reused"] == 2 and registry.tarball_requests() == first  # all from the cache
    cached = [p for p in os.listdir(tmp_path / ".cache") if p.startswith("@fontsource__good-s")]
    assert len(cached) == 2
    # A killed run leaves no half-written font folder marked done and no partial tarball.
    (tmp_path / "good-sans/good-sans-700-normal.ttf").unlink()
    with open(tmp_path / ".cache" / "@fontsource__good-sans-1.0.0.tgz", "r+b") as f:
        f.write(b"damaged")
    third = _fetch(registry, tmp_path, families=("good-sans",))
    assert third["reused"] == 0 and third["files"] == 3
    assert registry.tarball_requests() == first + 1  # only the damaged one again
    assert (tmp_path / "good-sans/good-sans-700-normal.ttf").exists()


def test_server_errors_are_retried(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(font_fetch.time, "sleep", lambda s: None)
    registry.fail_next["/@fontsource/good-sans"] = 2
    assert _fetch(registry, tmp_path, families=("good-sans",))["fetched"] == 1
    registry.fail_next["/@fontsource/good-serif"] = font_fetch.RETRIES
    summary = _fetch(registry, tmp_path, families=("good-serif",))
    assert summary["fetched"] == 0 and summary["left_out"] == 1


def test_selection_by_category_style_and_limit(registry, tmp_path):
    summary = _fetch(registry, tmp_path, categories=("serif",), styles=("regular", "bold"))
    assert summary["families"] == 1 and summary["files"] == 1  # Good Serif has no bold
    summary = _fetch(registry, tmp_path / "b", styles=("bold",), limit=3)
    assert summary["families"] == 3  # caps-display (no bold), closed, good-sans: id order
    assert [r["file"] for r in font_fetch.read_manifest(str(tmp_path / "b"))] == [
        "good-sans/good-sans-700-normal.ttf"]
    with pytest.raises(ValueError, match="no Google Fonts family Nope"):
        _fetch(registry, tmp_path, families=("Nope",))


@pytest.mark.parametrize("variants,styles,want", [
    ({"400": ["normal", "italic"], "700": ["normal"]}, ("regular", "bold", "italic"),
     [(400, "normal"), (700, "normal"), (400, "italic")]),
    ({"300": ["normal"], "800": ["normal", "italic"]}, ("regular", "bold", "italic"),
     [(300, "normal"), (800, "normal"), (800, "italic")]),  # nearest; ties to the heavier
    ({"400": ["normal"]}, ("regular", "bold", "italic"), [(400, "normal")]),  # no bold, italic
    ({"100": ["normal"], "900": ["normal"]}, ("light", "black"), [(100, "normal"),
                                                                 (900, "normal")]),
])
def test_pick_variants(variants, styles, want):
    meta = _family("x", "X", variants=variants)[1]
    assert font_fetch.pick_variants(meta, styles) == want


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="--styles heavy: choose from regular"):
        font_fetch.FetchConfig(dest="x", styles=("heavy",))
    with pytest.raises(ValueError, match="--categories script: choose from sans-serif"):
        font_fetch.FetchConfig(dest="x", categories=("script",))


def test_debian_font_packages_join_the_manifest(dejavu, tmp_path):
    from tests.synth.test_background_fetch import _deb

    sans = dejavu[0]
    debs = tmp_path / "debs"
    debs.mkdir()
    with open(sans.path, "rb") as f:
        ttf = f.read()
    _deb(debs / "fonts-seg_0.4-1_all.deb", {
        "usr/share/fonts/truetype/seg/Seg.ttf": ttf,
        "usr/share/fonts/truetype/seg/broken.ttf": b"not a font",
        "usr/share/doc/fonts-seg/copyright": b"Files: *\nLicense: OFL-1.1\n"})
    _deb(debs / "fonts-docs_1.0_all.deb", {"usr/share/doc/fonts-docs/README": b"x"})

    def download(package, folder):
        found = [p for p in os.listdir(debs) if p.startswith(f"{package}_")]
        if not found:
            raise background_fetch.FetchError(f"apt-get download {package}: E: Unable to "
                                               "locate package")
        dst = os.path.join(folder, found[0])
        with open(debs / found[0], "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
        return dst

    cfg = font_fetch.FetchConfig(dest=str(tmp_path / "fonts"), google=False,
                                 debian=("fonts-seg", "fonts-docs", "fonts-gone"))
    summary = font_fetch.fetch(cfg, progress=False, apt_download=download)
    assert summary["files"] == 1 and summary["debian_packages"] == ["fonts-seg"]
    rows = font_fetch.read_manifest(cfg.dest)
    assert [(r["id"], r["family"], r["file"], r["weight"], r["style"], r["source"],
             r["licence"], r["check"]) for r in rows] == [
        ("fonts-seg", "DejaVu Sans", "debian/fonts-seg/Seg.ttf", 400, "Book",
         "debian:fonts-seg=0.4-1", "OFL-1.1", "")]
    with open(os.path.join(cfg.dest, "left_out.tsv"), encoding="utf-8") as f:
        reasons = dict(line.rstrip("\n").split("\t") for line in list(f)[1:])
    assert reasons["fonts-docs"] == "no TTF/OTF file under usr/share/fonts"
    assert reasons["fonts-gone"].startswith("apt-get download fonts-gone")
    assert reasons["fonts-seg:usr/share/fonts/truetype/seg/broken.ttf"].startswith("cannot read")
    assert not registry_requests_made(cfg.dest)


def registry_requests_made(dest):
    """--nogoogle touches no registry: no metadata tarball in the cache."""
    return os.listdir(os.path.join(dest, ".cache"))
